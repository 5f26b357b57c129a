/**
 * What a process scenario is (`sabre stress --store …`): the thread scenarios' model (actors, an
 * arbiter, graded outcomes, an unsafe and a safe variant) with actors that are separate
 * **processes** sharing a Redis server instead of threads sharing memory. A scenario has two
 * sides:
 *
 * - `child(ctx)`, in each actor process: connects to Redis and returns the handlers the parent
 *   calls by name (`arm`, `go`…);
 * - `trial(ctx)`, in the parent: drives one trial through the actors (ctx.actors), and judges it,
 *   with its own connection to the same Redis (ctx.cache), returning the outcome id.
 *
 * Races are forced by construction: a trial first `arm`s every actor (each prepares and answers),
 * then releases them all at once (`go` to every actor in one loop, nobody answering before all
 * were sent it). A wait on an actor is bounded by the trial deadline: an actor that does not
 * answer is a `hang`, one that dies or throws is `threw …` (see actors.ts).
 */
import type { RedisCache } from '../../redis/index.js';
import type { OutcomeSpec, Params, Variant } from '../scenario.js';
import type { ProcessActors } from './actors.js';
import type { RedisServer } from './redis-server.js';

/** What each actor process knows about itself and the run. */
export interface ChildContext<P extends Params = Params> {
  readonly actor: number;
  readonly actors: number;
  readonly variant: Variant;
  readonly params: P;
  /** The Redis URL, and the key prefix of this variant's run (every key of the run lives under it). */
  readonly url: string;
  readonly prefix: string;
  /** A seeded random number in [0, 1) (seeded by the run's seed and the actor). */
  random(): number;
  /** Tells the parent something while a handler runs (the latest value is kept per actor: ProcessActors.latest). */
  emit(value: unknown): void;
}

/** What an actor process offers the parent: handlers by name (their results travel by IPC), and how to close. */
export interface ChildSide {
  readonly handlers: Readonly<Record<string, (payload: never) => unknown>>;
  close(): Promise<void>;
}

/** What the parent's side of one trial gets. */
export interface TrialRun<P extends Params = Params> {
  readonly params: P;
  readonly variant: Variant;
  /** The trial number, counted over the variant's run. */
  readonly trial: number;
  readonly actors: ProcessActors;
  /** The parent's own connection to the run's Redis (same prefix as the actors'): what the arbiter reads with. */
  readonly cache: RedisCache;
  /** The server, when sabre owns it (`--store redis`): scenarios that kill and restart it need it. */
  readonly server: RedisServer | undefined;
  /** How long any one wait of the trial may take before it is a `hang`. */
  readonly deadlineMs: number;
  /** Records one sample of a named measurement (reported as percentiles). */
  sample(name: string, value: number): void;
}

/** A scenario whose actors are processes sharing a Redis server (see the module comment). */
export interface ProcessScenario<P extends Params = Params> {
  /** Short id, as the CLI names it (`G`, `A`, `H`, `tiered`). */
  readonly id: string;
  readonly name: string;
  readonly title: string;
  /** The audit it comes from. */
  readonly audit: string;
  readonly variants: Readonly<Record<'unsafe' | 'safe', string>>;
  readonly params: P;
  actors(params: P): number;
  /** Trials per variant (each also bounded by the time budget). */
  readonly trials: { readonly full: number; readonly quick: number };
  /** The least trial deadline: how long one wait may take before it is a hang. */
  readonly trialTimeoutMs: number;
  /** Why the scenario needs a server that sabre owns (it kills and restarts it), if it does. */
  readonly needsOwnedServer?: string;
  readonly outcomes: readonly OutcomeSpec[];
  /** The actor process's side: connect, return the handlers. */
  child(ctx: ChildContext<P>): Promise<ChildSide>;
  /** The parent's side of one trial: drive the actors, judge, return the outcome id. */
  trial(ctx: TrialRun<P>): Promise<string>;
}

/** The shared monotonic clock, in µs: CLOCK_MONOTONIC is one clock for every process of the host, so stamps order events across processes. */
export function now(): number {
  return Number(process.hrtime.bigint() / 1_000n);
}

/** One operation of a history as an actor process records it (an Operation without its client). */
export interface StampedOp {
  readonly op: number;
  readonly key: number;
  readonly arg: number;
  readonly arg2: number;
  readonly result: number;
  readonly call: number;
  readonly ret: number;
}

/** Runs `call`, stamped with the shared clock, as one operation of a history. */
export async function stamped<T>(
  op: number,
  key: number,
  arg: number,
  call: () => Promise<T>,
  resultOf: (value: T) => number,
): Promise<{ value: T; op: StampedOp }> {
  const begin = now();
  const value = await call();
  return { value, op: { op, key, arg, arg2: 0, result: resultOf(value), call: begin, ret: now() } };
}

/** A seeded pause of a few event-loop turns: the race window an unsafe variant leaves open, widened. */
export async function yieldPoint(random: () => number): Promise<void> {
  for (let i = Math.floor(random() * 3); i > 0; i--) await new Promise((resolve) => setImmediate(resolve));
}
