/** A thrown value as an outcome string, on a worker thread (stride.ts) or in an actor process (process/child.ts). */

/** A thrown value as an outcome: `threw TypeError: message` (its own class name: it does not cross threads as an object). */
export function thrownOutcome(error: unknown): string {
  if (error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error)) {
    const e = error as Error;
    const name = e.constructor?.name && e.constructor.name !== 'Object' ? e.constructor.name : (e.name ?? 'Error');
    return `threw ${name}: ${firstLine(String(e.message))}`;
  }
  return `threw ${typeof error}: ${firstLine(String(error))}`;
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0]!;
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
