/**
 * The wait/notify core shared by every primitive.
 *
 * Each primitive writes its contended path once, as a generator of {@link Park} requests: "sleep
 * until word `index` no longer holds `value`". Two drivers run that same generator:
 *
 * - {@link parkBlocking} sleeps with `Atomics.wait` (worker threads), and
 * - {@link parkAsync} sleeps with `Atomics.waitAsync` (the main thread, or any event loop).
 *
 * So the blocking and async forms of a primitive cannot drift apart: they are one algorithm.
 *
 * The generator is told why it woke ({@link WakeReason}). On `timed-out` or `aborted` it must give
 * up without acquiring, after leaving the primitive in a state where no other waiter can be
 * stranded (each primitive says how next to its algorithm).
 *
 * Liveness: no park sleeps longer than {@link PARK_SLICE_MS}. A wake-up can be lost whoever sends
 * it right: `notify(…, 1)` may pick a waiter that is terminated before it runs another
 * instruction, or an abandoned async waiter whose thread is now blocked in `Atomics.wait` and can
 * never pass the wake-up on. A terminated thread changes nothing in shared memory, so nothing
 * else would ever tell the other waiters. Every park is therefore a slice: when it ends the
 * generator is resumed with `recheck` and looks at the words again, exactly as after a wake-up.
 * A lost wake-up costs at most one slice; a waiter that nobody owes a wake-up re-parks at once.
 * (A slice costs a parked thread ~50 wake-ups a second, each a few microseconds.) Besides, the
 * coordinator wakes every waiter of every word it knows when a thread dies ({@link wakeAll}).
 *
 * Two facts about `Atomics.waitAsync` shape {@link parkAsync}:
 * 1. A pending async wait does not keep the event loop alive, so it holds a ref'ed timer
 *    (keep-alive.ts) while it waits.
 * 2. An async wait cannot be cancelled. After an abort its waiter stays queued on the word, and a
 *    later `Atomics.notify(…, 1)` may pick it instead of a live waiter. To never swallow that
 *    wake-up, an abandoned waiter that is woken passes it on ({@link Park.passOn}); and since its
 *    own slice is bounded, it leaves the queue within one slice whatever happens.
 */
import { faultPoint } from './fault-points.js';
import { holdEventLoop, releaseEventLoop } from './keep-alive.js';

/** Why a parked waiter resumed. */
export type WakeReason =
  /** `Atomics.notify` woke it. */
  | 'woken'
  /** The word no longer held the expected value when it tried to sleep. */
  | 'changed'
  /** The deadline passed (the generator must give up). */
  | 'timed-out'
  /** The AbortSignal fired (the generator must give up; the driver then rejects). */
  | 'aborted'
  /** The park's slice ended with the word unchanged and nothing heard: look again (see the module note). */
  | 'recheck';

/** A request to sleep while `view[index] === value`. */
export interface Park {
  readonly index: number;
  readonly value: number;
  /**
   * Called if an abandoned async wait on this word is later woken by `notify(…, 1)`: it must pass
   * the wake-up on to a live waiter. Default: notify one more waiter on the same word.
   */
  readonly passOn?: () => void;
}

/** A primitive's contended path: yields parks, returns its result (a failure value after giving up). */
export type ParkSteps<T> = Generator<Park, T, WakeReason>;

/** Whether the driver told the steps to give up. */
export function isGiveUp(reason: WakeReason): boolean {
  return reason === 'timed-out' || reason === 'aborted';
}

/**
 * The {@link Park.passOn} of primitives whose wake-ups are broadcasts (notify all): a wake-up taken
 * by an abandoned waiter was also delivered to every live one, so there is nothing to pass on.
 */
export function broadcastNeedsNoPassOn(): void {}

/**
 * The longest one park sleeps before its waiter looks again (see the module note). Short enough
 * that a lost wake-up is a hiccup, long enough that a parked thread costs nothing measurable.
 */
export const PARK_SLICE_MS = 20;

/**
 * This thread's slice: {@link PARK_SLICE_MS} except in a test that needs one waiter to keep its
 * place at the head of the futex queue (a re-park goes to the tail), so that a wake-one is sure to
 * pick it. Package-internal; see {@link setParkSliceForTesting}.
 */
let parkSliceMs = PARK_SLICE_MS;

/**
 * Test seam: sets this thread's park slice (`undefined` restores the default). Only the
 * dead-waiter tests use it, on the one waiter they arm to die when woken. Not exported from the
 * package.
 */
export function setParkSliceForTesting(ms: number | undefined): void {
  parkSliceMs = ms ?? PARK_SLICE_MS;
}

/**
 * Told about every park of this thread: a stress harness uses it to say what a stuck thread waits
 * on (which primitive, held by whom). Package-internal; see {@link observeParks}.
 */
export interface ParkObserver {
  /** A park on `view[index]` begins (`view` starts at the primitive's header); returns a token for {@link ParkObserver.resumed}. */
  parked(view: Int32Array, index: number, mode: 'blocking' | 'async'): number;
  resumed(token: number): void;
}

/**
 * Where the observer lives: a global symbol rather than a module variable, so that a harness and
 * the code under test see the same observer even when they loaded two copies of sabre (a user's
 * module outside the project that runs the harness).
 */
const OBSERVER = Symbol.for('sabre.parkObserver');
type ObserverSlot = { [OBSERVER]?: ParkObserver };

/** Installs (or with undefined removes) this thread's park observer. */
export function observeParks(observer: ParkObserver | undefined): void {
  if (observer === undefined) delete (globalThis as ObserverSlot)[OBSERVER];
  else (globalThis as ObserverSlot)[OBSERVER] = observer;
}

/** Runs `steps` to completion with `Atomics.wait`, giving up at `deadline` (performance.now() clock). */
export function parkBlocking<T>(view: Int32Array, steps: ParkSteps<T>, deadline: number): T {
  let step = steps.next();
  while (!step.done) {
    const { index, value } = step.value;
    const remaining = deadline - performance.now();
    const reason: WakeReason = remaining <= 0 ? 'timed-out' : reasonOf(observedWait(view, index, value, Math.min(remaining, parkSliceMs)), remaining);
    if (reason === 'woken') faultPoint('park:woken');
    step = steps.next(reason);
  }
  return step.value;
}

/**
 * Runs `steps` to completion with `Atomics.waitAsync`, giving up at `deadline`; if `signal`
 * aborts, the steps give up and the returned promise rejects with `signal.reason`.
 */
export async function parkAsync<T>(view: Int32Array, steps: ParkSteps<T>, deadline: number, signal?: AbortSignal): Promise<T> {
  holdEventLoop();
  let aborted = false;
  try {
    let step = steps.next();
    while (!step.done) {
      const park = step.value;
      const remaining = deadline - performance.now();
      let reason: WakeReason;
      if (signal?.aborted) reason = 'aborted';
      else if (remaining <= 0) reason = 'timed-out';
      else reason = await observedSleep(view, park, remaining, signal);
      aborted ||= reason === 'aborted';
      step = steps.next(reason);
    }
    if (aborted) throw signal?.reason;
    return step.value;
  } finally {
    releaseEventLoop();
  }
}

function observedWait(view: Int32Array, index: number, value: number, timeoutMs: number): 'ok' | 'not-equal' | 'timed-out' {
  const observer = (globalThis as ObserverSlot)[OBSERVER];
  if (observer === undefined) return Atomics.wait(view, index, value, timeoutMs);
  const token = observer.parked(view, index, 'blocking');
  try {
    return Atomics.wait(view, index, value, timeoutMs);
  } finally {
    observer.resumed(token);
  }
}

/** A wait's outcome as a reason: a timed-out wait that slept only a slice of what was left is a `recheck`. */
function reasonOf(outcome: 'ok' | 'not-equal' | 'timed-out', remainingMs: number): WakeReason {
  if (outcome === 'ok') return 'woken';
  if (outcome === 'not-equal') return 'changed';
  return remainingMs > parkSliceMs ? 'recheck' : 'timed-out';
}

async function observedSleep(view: Int32Array, park: Park, remainingMs: number, signal: AbortSignal | undefined): Promise<WakeReason> {
  const observer = (globalThis as ObserverSlot)[OBSERVER];
  if (observer === undefined) return sleepAsync(view, park, remainingMs, signal);
  const token = observer.parked(view, park.index, 'async');
  try {
    return await sleepAsync(view, park, remainingMs, signal);
  } finally {
    observer.resumed(token);
  }
}

function sleepAsync(view: Int32Array, park: Park, remainingMs: number, signal: AbortSignal | undefined): Promise<WakeReason> {
  const wait = Atomics.waitAsync(view, park.index, park.value, Math.min(remainingMs, parkSliceMs));
  const reason = (outcome: 'ok' | 'not-equal' | 'timed-out'): WakeReason => reasonOf(outcome, remainingMs);
  if (!wait.async) return Promise.resolve(reason(wait.value));
  if (signal === undefined) return wait.value.then(reason);
  return new Promise<WakeReason>((resolve) => {
    let settled = false;
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      resolve('aborted');
      // The waiter is still queued on the word. If a notify lands on it, that wake-up was meant
      // for someone: hand it on instead of letting it vanish.
      void wait.value.then((outcome) => {
        if (outcome === 'ok') (park.passOn ?? (() => Atomics.notify(view, park.index, 1)))();
      });
    };
    signal.addEventListener('abort', onAbort, { once: true });
    void wait.value.then((outcome) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      resolve(reason(outcome));
    });
  });
}

/**
 * Wakes every thread parked on each of `indexes` (the coordinator calls it, through each
 * primitive, when a thread died: whatever wake-up the dead thread took with it is re-sent to all,
 * and each waiter re-checks). Waking a waiter that has nothing to gain only makes it park again.
 */
export function wakeAll(view: Int32Array, indexes: readonly number[]): void {
  for (const index of indexes) Atomics.notify(view, index);
}

/** How many times a contended path re-reads a word before parking: parking costs microseconds, a short spin costs less. */
export const SPIN_LIMIT = 64;
