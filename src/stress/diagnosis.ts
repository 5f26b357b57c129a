/**
 * What a stuck trial was doing, in words: from the watch board (watch-board.ts) to the outcome
 * `hang` or `deadlock` and the sentence that explains it.
 *
 * A deadlock is a cycle in the wait-for graph: actor A is parked on a sabre lock whose lock word
 * names actor B as its holder, B on one that names A (Coffman's circular wait, seen directly in
 * the lock words). Anything else that stopped moving is a hang: an actor parked on a primitive
 * nobody will signal (a lost wake-up), an actor spinning or blocked outside sabre's primitives, or
 * an async actor whose promise never settled (a lock never released on an exception path, say).
 */
import { HARNESS_OUTCOMES } from './scenario.js';
import { type ActorSnapshot, type BoardWait, Phase } from './watch-board.js';

export interface Diagnosis {
  readonly outcome: typeof HARNESS_OUTCOMES.hang | typeof HARNESS_OUTCOMES.deadlock;
  /** One or more sentences: who is stuck, on what, held by whom; for a deadlock, the cycle. */
  readonly detail: string;
  /** The actors that had not finished their part of the trial. */
  readonly stuck: readonly number[];
}

const KIND_NAMES: Readonly<Record<string, string>> = {
  'sabre/mutex': 'Mutex',
  'sabre/rwlock': 'RwLock',
  'sabre/semaphore': 'Semaphore',
  'sabre/barrier': 'Barrier',
  'sabre/condvar': 'CondVar',
  'sabre/latch': 'Latch',
};

/** Diagnoses a trial that made no progress for `stalledMs`; `refs` names the primitives of the trial's state. */
export function diagnose(actors: readonly ActorSnapshot[], refs: readonly string[], stalledMs: number): Diagnosis {
  const actorOfThread = new Map(actors.filter((a) => a.threadId !== null).map((a) => [a.threadId!, a.actor]));
  const who = (threadId: number | null, self: number): string => {
    if (threadId === null) return 'nobody';
    const actor = actorOfThread.get(threadId);
    if (actor === undefined) return `thread ${threadId} (not an actor)`;
    return actor === self ? `actor ${actor} (itself)` : `actor ${actor}`;
  };
  const nameOf = (wait: BoardWait): string => {
    const kind = KIND_NAMES[wait.kind] ?? wait.kind;
    if (wait.ref === null) return `a ${kind} (its words at byte ${wait.byteOffset} of a ${wait.bufferBytes}-byte SharedArrayBuffer)`;
    const path = refs[wait.ref] ?? `primitive #${wait.ref}`;
    return wait.inside ? `a ${kind} inside ${path}` : `${kind} ${path}`;
  };
  const describeWait = (a: ActorSnapshot, wait: BoardWait): string =>
    `${wait.async ? 'awaits' : 'waits for'} ${nameOf(wait)}${wait.holderThreadId !== null || isLock(wait.kind) ? `, held by ${who(wait.holderThreadId, a.actor)}` : ''}`;

  const cycle = findCycle(actors, actorOfThread);
  if (cycle !== undefined) {
    const links = cycle.map(({ actor, wait }) => `actor ${actor} ${describeWait(actors[actor]!, wait)}`);
    return { outcome: HARNESS_OUTCOMES.deadlock, detail: `deadlock: ${links.join('; ')}`, stuck: cycle.map((c) => c.actor) };
  }
  const stuck = actors.filter((a) => a.phase !== Phase.done && a.phase !== Phase.between);
  const sentences = stuck.map((a) => {
    const trial = a.trial === null ? 'before its first trial' : `in trial ${a.trial}`;
    const state =
      a.phase === Phase.awaiting
        ? 'its async function never settled'
        : a.phase === Phase.judging
          ? 'the arbiter did not return'
          : a.phase === Phase.starting
            ? 'it did not start (loading the module, or prepare())'
            : a.phase === Phase.finishing
              ? 'finish() did not return'
              : 'it did not return';
    const waits = a.waits.map((w) => describeWait(a, w));
    return `actor ${a.actor} ${trial}: ${state}${waits.length > 0 ? `; it ${waits.join('; it ')}` : a.phase === Phase.running ? ' (not parked in a sabre primitive: spinning, or blocked elsewhere)' : ''}`;
  });
  const waiting = actors.filter((a) => a.phase === Phase.done).map((a) => a.actor);
  if (waiting.length > 0) sentences.push(`actor${waiting.length > 1 ? 's' : ''} ${waiting.join(', ')} finished and waited for the others`);
  return {
    outcome: HARNESS_OUTCOMES.hang,
    detail: `no progress for ${Math.round(stalledMs)} ms: ${sentences.length > 0 ? sentences.join('; ') : 'no actor reported where it was'}`,
    stuck: stuck.map((a) => a.actor),
  };
}

function isLock(kind: string): boolean {
  return kind === 'sabre/mutex' || kind === 'sabre/rwlock';
}

/** A cycle of blocking waits actor → holder → … → actor (two actors or more), if there is one. */
function findCycle(actors: readonly ActorSnapshot[], actorOfThread: ReadonlyMap<number, number>): Array<{ actor: number; wait: BoardWait }> | undefined {
  const edge = new Map<number, { to: number; wait: BoardWait }>();
  for (const a of actors) {
    if (a.phase !== Phase.running && a.phase !== Phase.awaiting) continue;
    for (const wait of a.waits) {
      const to = wait.holderThreadId === null ? undefined : actorOfThread.get(wait.holderThreadId);
      if (to !== undefined && to !== a.actor) edge.set(a.actor, { to, wait });
    }
  }
  for (const start of edge.keys()) {
    const path: Array<{ actor: number; wait: BoardWait }> = [];
    const seen = new Set<number>();
    for (let at: number | undefined = start; at !== undefined && !seen.has(at); at = edge.get(at)?.to) {
      seen.add(at);
      const e = edge.get(at);
      if (e === undefined) break;
      path.push({ actor: at, wait: e.wait });
      if (e.to === start) return path;
    }
  }
  return undefined;
}
