/**
 * Replay tokens: everything needed to run one trial again with the same random choices (seed,
 * trial number, parameters), as one copy-pasteable string for `--replay`. A trial's random
 * numbers and delay points depend only on the run's seed, the actor and the trial number, so the
 * replay draws them again; the operating system's interleaving is not replayed, so `--replay`
 * runs that same trial again and again until it shows its outcome (or the budget ends).
 * A token without a trial (version 1, or a run with no forbidden outcome) runs the whole variant
 * again with the same seed and trial count.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';

const TokenSchema = z.object({
  v: z.union([z.literal(1), z.literal(2)]),
  scenario: z.string().regex(/^[A-Za-z0-9-]+$/),
  variant: z.enum(['unsafe', 'safe', 'single']),
  seed: z.number().int().nonnegative(),
  /** The trial to replay (version 2). */
  trial: z.number().int().nonnegative().optional(),
  trials: z.number().int().positive(),
  params: z.record(z.string(), z.number().finite()),
  module: z.string().optional(),
});

export type ReplayToken = z.infer<typeof TokenSchema>;

export function encodeToken(token: ReplayToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

/** Decodes and checks a token; a malformed one is an InvalidArgumentError that says what is wrong. */
export function decodeToken(text: string): ReplayToken {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidArgumentError('--replay: the token is not a sabre replay token (not base64url JSON)');
  }
  const parsed = TokenSchema.safeParse(json);
  if (!parsed.success)
    throw new InvalidArgumentError(`--replay: bad token: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'token'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** How the scenario id of a `--store` run's token starts (process actors on Redis, not threads). */
export const STORE_SCENARIO_PREFIX = 'store-';

/**
 * The command that replays `token`: a `--store` run's token replays with `--store redis` (a
 * server sabre starts, which every process scenario can run against).
 */
export function replayCommand(token: string): string {
  let store = false;
  try {
    const scenario: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))?.scenario;
    store = typeof scenario === 'string' && scenario.startsWith(STORE_SCENARIO_PREFIX);
  } catch {
    // not a token of ours: printed as it is
  }
  return `npx sabre stress --replay ${token}${store ? ' --store redis' : ''}`;
}
