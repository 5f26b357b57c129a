/**
 * Whether the CLI colours its output, decided here and only here: picocolors and commander each
 * have their own detection, so the CLI hands them this decision instead (the verdict table takes
 * it as an argument, commander through configureOutput). Colour only ever adds emphasis: every
 * label it highlights (PASS, FAIL, ERROR, [FORBIDDEN]…) is printed as text too.
 *
 * - `NO_COLOR` set to any non-empty value: no colour (https://no-color.org), whatever else is set.
 * - `FORCE_COLOR` set and non-empty: colour, even into a pipe or a file; `0` or `false` turn it off.
 * - otherwise: colour when the stream is a terminal and `TERM` is not `dumb`.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export function colorEnabled(stream: { readonly isTTY?: boolean }, env: Env = process.env): boolean {
  if (env.NO_COLOR) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force.toLowerCase() !== 'false';
  return stream.isTTY === true && env.TERM !== 'dumb';
}
