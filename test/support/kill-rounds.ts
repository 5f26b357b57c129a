/**
 * The kill rounds: workers are killed at random moments while the other workers and the main
 * thread keep running mixed cache and lock operations, and after every round the shared state
 * must be whole. Used by test/kill.test.ts (a short form) and bench/kill-rounds.ts (2,000 rounds).
 *
 * A round is one of three kinds of death:
 * - `abort`: a sabre pool (3 threads, a 64-entry / 4 KiB cache, a named mutex and rwlock) runs 6
 *   tasks (test/workers/kill-task.ts); one is aborted through its AbortSignal at a random moment
 *   after it started; the pool terminates its worker and recovers what it held.
 * - `timeout`: the same, but the victim gets a random `timeoutMs` (up to its running time,
 *   counted from `run()`, so it may die queued, running, or not at all).
 * - `terminate`: plain worker_threads: 3 `new Worker`s (test/workers/kill-thread.ts) on a new
 *   cache, mutex and rwlock, each under `recoverOnExit(worker, [cache, mutex, rwlock])`; one is
 *   `terminate()`d at a random moment.
 *
 * Meanwhile the main thread runs two loops: synchronous cache operations with a turn of the event
 * loop after each, and async lock sections and getOrCompute calls. A watchdog thread
 * (test/workers/kill-watchdog.ts) watches the main thread's heartbeat.
 *
 * Accepted outcomes: an operation succeeds, or throws a typed error of EXPECTED_CODES
 * (kill-ops.ts), or (the victim only) the task rejects with AbortError / TimeoutError. After
 * every round: no task or thread still running past the round's deadline (else a hung round),
 * `cache[checkIntegrity]()` is empty, `size === inserts - deletes - evictions - abandonedFlights`,
 * every entry is a value some writer wrote (kill-ops.ts `checkEntry`), and no lock is left held.
 *
 * Every random choice comes from `mixSeed(seed, round)`: `runKillRounds({ seed, firstRound: R,
 * rounds: 1, mode })` replays round R's choices (the operating system's interleaving still varies).
 */
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { mixSeed, seededRandom } from '../../src/stress/random.js';
import { HEARTBEAT, OPS, type OpsReport, STATE, WORD, WORDS_PER_WRITER, checkEntry, runOps } from '../workers/kill-ops.js';

type Sabre = typeof import('../../src/index.js');
type PoolModule = typeof import('../../src/pool/index.js');
type SabrePool = import('../../src/pool/index.js').SabrePool;
type RecoveryEvent = import('../../src/pool/index.js').RecoveryEvent;
type SharedCache = import('../../src/index.js').SharedCache;
type Mutex = import('../../src/index.js').Mutex;
type RwLock = import('../../src/index.js').RwLock;
type CacheRecovery = import('../../src/index.js').CacheRecovery;

/**
 * The compiled package. Workers load it from dist/, so the main thread does too (one copy of every
 * class, and a pool whose worker entry exists): from test/support/ under vitest, or from
 * dist/test/support/ once compiled (the bench script).
 */
const DIST = import.meta.url.endsWith('.ts') ? new URL('../../dist/', import.meta.url) : new URL('../../', import.meta.url);
type CheckIntegrity = typeof import('../../src/cache/shared-cache.js').checkIntegrity;
const load = async (): Promise<{ sabre: Sabre; pools: PoolModule; checkIntegrity: CheckIntegrity }> => ({
  sabre: (await import(new URL('src/index.js', DIST).href)) as Sabre,
  pools: (await import(new URL('src/pool/index.js', DIST).href)) as PoolModule,
  checkIntegrity: ((await import(new URL('src/cache/shared-cache.js', DIST).href)) as typeof import('../../src/cache/shared-cache.js')).checkIntegrity,
});
const KILL_TASK = new URL('test/workers/kill-task.js', DIST);
const KILL_THREAD = new URL('test/workers/kill-thread.js', DIST);
const WATCHDOG = new URL('test/workers/kill-watchdog.js', DIST);

export type KillKind = 'abort' | 'timeout' | 'terminate';
export type KillMode = 'pool' | 'plain' | 'mixed';

export const CACHE_OPTIONS = { maxEntries: 64, maxBytes: 4_096 } as const;
const POOL_THREADS = 3;
const POOL_TASKS = 6;
const PLAIN_THREADS = 3;
/** Writer ids per round: the tasks or threads, then the main thread's two loops. */
const WRITERS_PER_ROUND = 8;
const MAIN_CACHE_WRITER = 6;
const MAIN_LOCKS_WRITER = 7;
/** How long a hung round is given beyond its deadline, to tell a late end from none. */
const LATE_WAIT_MS = 35_000;

export interface KillRoundsOptions {
  rounds: number;
  seed: number;
  /** 'pool': abort and timeout rounds; 'plain': terminate rounds; 'mixed' (default): all three. */
  mode?: KillMode;
  /** The first round's number (to replay round R: `firstRound: R, rounds: 1`). */
  firstRound?: number;
  /** A round that has not settled by then is a hung round (default 10 s). */
  roundDeadlineMs?: number;
  /** A main-thread heartbeat gap over this counts as frozen (default 5 s). */
  frozenMs?: number;
  /** Over this the watchdog kills the process (default 30 s). */
  killMs?: number;
  /**
   * Plain rounds only: call `recoverOnExit(worker, [cache, mutex, rwlock])` for every thread
   * (default true). False is the negative control: what a thread dies holding stays held, and
   * the checks must say so.
   */
  recoverOnExit?: boolean;
  /** Stop once this many findings were made (default: run every round). */
  stopAfterFindings?: number;
  /** Called after every round. */
  onRound?: (round: RoundResult, summary: KillSummary) => void;
}

/** A finding, with what replays it. */
export interface Finding {
  round: number;
  seed: number;
  kind: KillKind;
  what: string;
}

export interface RoundResult {
  round: number;
  seed: number;
  kind: KillKind;
  /** The victim was running its operations when the kill came (and did not finish). */
  landed: boolean;
  hung: boolean;
  maxMainThreadGapMs: number;
  durationMs: number;
  findings: number;
}

export interface KillSummary {
  seed: number;
  mode: KillMode;
  firstRound: number;
  rounds: number;
  /** Rounds of each kind. */
  kills: Record<KillKind, number>;
  /** Kills that landed while the victim was running its operations. */
  killsLanded: Record<KillKind, number>;
  /** Kills that came before the victim started (queued task, booting thread). */
  killsBeforeStart: Record<KillKind, number>;
  /** Victims that finished before their kill came. */
  killsMissed: Record<KillKind, number>;
  /** What recovery found held by a dead worker: pool 'recovered' events, plus recoverOnExit results. */
  recoveries: { mutex: number; rwlock: number; cache: number; cacheStripes: number; cacheStructure: number; droppedEntries: number; abandonedFlights: number };
  hungRounds: Finding[];
  /** Main-thread heartbeat gaps over the frozen threshold. */
  frozenMainThread: number;
  maxMainThreadGapMs: number;
  /** Rounds' max gaps: median and 99th percentile. */
  mainThreadGapP50Ms: number;
  mainThreadGapP99Ms: number;
  integrityProblems: Finding[];
  foreignValues: Finding[];
  accountingMismatches: Finding[];
  leakedLocks: Finding[];
  /** Anything else no accepted outcome covers: untyped errors, a survivor that failed, a failed recovery. */
  unexpected: Finding[];
  /** Typed errors operations ended with, by code. */
  typedErrors: Record<string, number>;
  /** How the killed tasks ended, by error name or code. */
  killOutcomes: Record<string, number>;
  lockTimeouts: number;
  lockSections: number;
  plannedComputeFailures: number;
  /** Operations completed, in every thread (killed ones included, up to their death). */
  operations: number;
  /** Integrity checks, accounting checks and entry scans done after rounds. */
  checksAfterRounds: number;
  durationMs: number;
  node: string;
}

const kinds = (): Record<KillKind, number> => ({ abort: 0, timeout: 0, terminate: 0 });

function emptySummary(seed: number, mode: KillMode, firstRound: number): KillSummary {
  return {
    seed,
    mode,
    firstRound,
    rounds: 0,
    kills: kinds(),
    killsLanded: kinds(),
    killsBeforeStart: kinds(),
    killsMissed: kinds(),
    recoveries: { mutex: 0, rwlock: 0, cache: 0, cacheStripes: 0, cacheStructure: 0, droppedEntries: 0, abandonedFlights: 0 },
    hungRounds: [],
    frozenMainThread: 0,
    maxMainThreadGapMs: 0,
    mainThreadGapP50Ms: 0,
    mainThreadGapP99Ms: 0,
    integrityProblems: [],
    foreignValues: [],
    accountingMismatches: [],
    leakedLocks: [],
    unexpected: [],
    typedErrors: {},
    killOutcomes: {},
    lockTimeouts: 0,
    lockSections: 0,
    plannedComputeFailures: 0,
    operations: 0,
    checksAfterRounds: 0,
    durationMs: 0,
    node: process.version,
  };
}

const HUNG = Symbol('hung');
/** `promise`, or HUNG if it has not settled by `deadline` (performance.now() time). */
async function by<T>(promise: Promise<T>, deadline: number): Promise<T | typeof HUNG> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof HUNG>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - performance.now()), HUNG)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
const settle = <T>(promise: Promise<T>): Promise<Settled<T>> =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
const describeError = (error: unknown): string => {
  const { name, code, message } = (error ?? {}) as { name?: unknown; code?: unknown; message?: unknown };
  return `${String(name)}${typeof code === 'string' ? ` (${code})` : ''}: ${String(message)}`;
};
const errorLabel = (error: unknown): string => {
  const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown };
  return typeof code === 'string' && code.startsWith('ERR_SABRE_') ? code : String(name);
};

export async function runKillRounds(options: KillRoundsOptions): Promise<KillSummary> {
  const {
    rounds,
    seed,
    mode = 'mixed',
    firstRound = 0,
    roundDeadlineMs = 10_000,
    frozenMs = 5_000,
    killMs = 30_000,
    recoverOnExit = true,
    stopAfterFindings = Infinity,
    onRound,
  } = options;
  const modules = await load();
  const { sabre, pools } = modules;
  const summary = emptySummary(seed, mode, firstRound);
  const started = performance.now();
  const board = new Int32Array(new SharedArrayBuffer((firstRound + rounds) * WRITERS_PER_ROUND * WORDS_PER_WRITER * 4));
  const roundGaps: number[] = [];

  // The heartbeat and its watchdog.
  const hb = new Int32Array(new SharedArrayBuffer(HEARTBEAT.WORDS * 4));
  const watchdog = new Worker(WATCHDOG, { workerData: { heartbeat: hb.buffer, frozenMs, killMs } });
  const watchdogError = settle(new Promise((_, reject) => watchdog.once('error', reject)));
  const beat = setInterval(() => {
    Atomics.add(hb, HEARTBEAT.BEAT, 1);
    Atomics.notify(hb, HEARTBEAT.BEAT);
  }, 5);

  // Findings name the round they were made in; a failed recovery is one wherever it is reported.
  let current: Finding = { round: -1, seed: 0, kind: 'abort', what: '' };
  const finding = (list: Finding[], what: string): void => {
    list.push({ ...current, what });
  };
  const onWarning = (warning: Error & { code?: string }): void => {
    if (warning.code === 'SABRE_RECOVERY_FAILED') finding(summary.unexpected, `process warning: ${warning.message}`);
  };
  process.on('warning', onWarning);

  const countRecovery = (cache: CacheRecovery | null): void => {
    if (cache === null) return;
    summary.recoveries.cache++;
    summary.recoveries.cacheStripes += cache.stripes;
    if (cache.structure) summary.recoveries.cacheStructure++;
    summary.recoveries.droppedEntries += cache.droppedEntries;
    summary.recoveries.abandonedFlights += cache.abandonedFlights;
  };
  const merge = (report: OpsReport, where: string): void => {
    summary.lockTimeouts += report.lockTimeouts;
    summary.lockSections += report.lockSections;
    summary.plannedComputeFailures += report.plannedFailures;
    for (const [code, n] of Object.entries(report.typed)) summary.typedErrors[code] = (summary.typedErrors[code] ?? 0) + n;
    for (const what of report.foreign) finding(summary.foreignValues, `${where}: ${what}`);
    if (report.foreignCount > report.foreign.length) finding(summary.foreignValues, `${where}: ${report.foreignCount - report.foreign.length} more`);
    for (const what of report.accounting) finding(summary.accountingMismatches, `${where}: ${what}`);
    for (const what of report.unexpected) finding(summary.unexpected, `${where}: ${what}`);
  };
  const writerWord = (writer: number, word: number): number => Atomics.load(board, writer * WORDS_PER_WRITER + word);
  const opName = (writer: number): string => {
    const op = writerWord(writer, WORD.OP);
    return op === 0 ? 'between operations' : `in ${OPS[op - 1]}`;
  };
  /** Who had not finished when a round hung: the tasks or threads, and the main thread's loops. */
  const whoIsPending = (writers: number, count: number, victim: number, label: string): string => {
    const states = ['queued', 'running', 'done'];
    const pending = Array.from({ length: count }, (_, i) => i)
      .filter((i) => writerWord(writers + i, WORD.STATE) !== STATE.DONE)
      .map(
        (i) =>
          `${label} ${i}${i === victim ? ' (victim)' : ''}: writer ${writers + i}, thread ${writerWord(writers + i, WORD.THREAD)}, ${states[writerWord(writers + i, WORD.STATE)]}, ${opName(writers + i)}`,
      );
    pending.push(`main cache loop ${opName(writers + MAIN_CACHE_WRITER)}`, `main lock loop ${opName(writers + MAIN_LOCKS_WRITER)}`);
    return pending.join('; ');
  };
  /** Records a hung round, after waiting a while longer to tell a slow end (a 30 s lease?) from none. */
  const reportHung = async (what: string, pending: string, stillPending: Promise<unknown>): Promise<void> => {
    const hungAt = performance.now();
    const late = await by(stillPending, hungAt + LATE_WAIT_MS);
    const after = late === HUNG ? `still pending ${LATE_WAIT_MS / 1000} s after it` : `settled ${Math.round(performance.now() - hungAt)} ms after it`;
    finding(summary.hungRounds, `${what} did not settle within the round's deadline (${after}); ${pending}`);
  };

  /** The main thread's two loops against `cache`, `mutex`, `rwlock`, until `stop()`. */
  const mainLoops = (roundSeed: number, writers: number, cache: SharedCache, mutex: Mutex, rwlock: RwLock) => {
    let going = true;
    const loop = (writer: number, mix: 'mainCache' | 'mainLocks') =>
      runOps({
        cache,
        mutex,
        rwlock,
        board,
        writer,
        random: seededRandom(mixSeed(roundSeed, writer)),
        mix,
        main: true,
        going: () => going,
        onOp: (op) => Atomics.store(hb, HEARTBEAT.MAIN_OP, op),
      });
    const finished = Promise.all([loop(writers + MAIN_CACHE_WRITER, 'mainCache'), loop(writers + MAIN_LOCKS_WRITER, 'mainLocks')]);
    return {
      finished,
      async stop(deadline: number): Promise<boolean> {
        going = false;
        const reports = await by(finished, deadline);
        Atomics.store(hb, HEARTBEAT.MAIN_OP, 0);
        if (reports === HUNG) return false;
        for (const report of reports) merge(report, 'main thread');
        return true;
      },
    };
  };

  /** Everything that must hold once a round has settled. */
  const checkAfterRound = (cache: SharedCache, mutex: Mutex, rwlock: RwLock): boolean => {
    summary.checksAfterRounds++;
    let clean = true;
    try {
      const problems = cache[modules.checkIntegrity]();
      for (const problem of problems) finding(summary.integrityProblems, problem);
      clean &&= problems.length === 0;
    } catch (error) {
      finding(summary.integrityProblems, `checkIntegrity threw ${describeError(error)}`);
      return false;
    }
    const s = cache.stats();
    const evicted = Object.values(s.evictions).reduce((sum, n) => sum + n, 0);
    if (s.size !== s.inserts - s.deletes - evicted - s.abandonedFlights) {
      finding(
        summary.accountingMismatches,
        `size ${s.size} but inserts ${s.inserts} - deletes ${s.deletes} - evictions ${evicted} - abandonedFlights ${s.abandonedFlights} = ${s.inserts - s.deletes - evicted - s.abandonedFlights}`,
      );
      clean = false;
    }
    if (s.size > CACHE_OPTIONS.maxEntries || s.bytes > CACHE_OPTIONS.maxBytes) {
      finding(summary.integrityProblems, `bounds: size ${s.size}, bytes ${s.bytes}`);
      clean = false;
    }
    for (const [key, value] of cache.entries()) {
      const bad = checkEntry(key, value, board);
      if (bad !== null) {
        finding(summary.foreignValues, `after the round: ${bad}`);
        clean = false;
      }
    }
    const held = [
      mutex.isLocked() && `mutex held by ${JSON.stringify(mutex.holder())}`,
      rwlock.isWriteLocked() && `rwlock write-held by ${JSON.stringify(rwlock.holder())}`,
      rwlock.readerCount() !== 0 && `rwlock has ${rwlock.readerCount()} readers`,
    ].filter(Boolean);
    for (const what of held) finding(summary.leakedLocks, what as string);
    return clean && held.length === 0;
  };

  // ---- pool rounds ------------------------------------------------------------------------------

  let pool: SabrePool | undefined;
  const poolReady = async (): Promise<SabrePool> => {
    if (pool) return pool;
    const created = pools.createPool({
      filename: KILL_TASK,
      threads: POOL_THREADS,
      signals: false,
      cache: CACHE_OPTIONS,
      primitives: { mutex: 'mutex', rwlock: 'rwlock' },
    });
    created.on('recovered', (event: RecoveryEvent) => {
      if (event.kind === 'mutex') summary.recoveries.mutex++;
      else if (event.kind === 'rwlock') summary.recoveries.rwlock++;
      else countRecovery(event.cache ?? null);
    });
    created.on('error', (error: unknown) => finding(summary.unexpected, `pool 'error' event: ${describeError(error)}`));
    await created.broadcast('ping', { timeoutMs: 30_000 });
    pool = created;
    return created;
  };
  const discardPool = async (): Promise<void> => {
    const old = pool;
    pool = undefined;
    await old?.close({ deadlineMs: 0 });
  };

  /** Resolves once the pool has handled thread `threadId`'s exit (its recovery runs in that handler). */
  const exitHandled = async (p: SabrePool, threadId: number, deadline: number): Promise<boolean> => {
    while (performance.now() < deadline) {
      try {
        await p.call(threadId, 'ping', { timeoutMs: 50 });
        finding(summary.unexpected, `killed thread ${threadId} still answers the control plane`);
        return true;
      } catch (error) {
        // 'no worker with threadId …': the pool has forgotten it, which it does in the exit handler.
        if (error instanceof sabre.InvalidArgumentError) return true;
      }
    }
    return false;
  };

  const poolRound = async (
    round: number,
    roundSeed: number,
    random: () => number,
    kind: 'abort' | 'timeout',
    deadline: number,
  ): Promise<{ landed: boolean; hung: boolean }> => {
    const p = await poolReady();
    const writers = round * WRITERS_PER_ROUND;
    const victim = Math.floor(random() * POOL_TASKS);
    const durations = Array.from({ length: POOL_TASKS }, () => 20 + Math.floor(random() * 40));
    const killDelayMs = random() * durations[victim]! * 1.1;
    // Counted from run(): a victim queued behind another task may die before it starts.
    const timeoutMs = 1 + Math.floor(random() * (durations[victim]! + (victim >= POOL_THREADS ? 40 : 0)));
    const controller = new AbortController();
    const loops = mainLoops(roundSeed, writers, p.cache!, p.primitives.mutex as Mutex, p.primitives.rwlock as RwLock);
    const tasks = durations.map((durationMs, i) => {
      const options = i !== victim ? {} : kind === 'abort' ? { signal: controller.signal } : { timeoutMs };
      return settle(p.run<OpsReport>({ board: board.buffer, writer: writers + i, seed: roundSeed, durationMs }, options));
    });
    const victimState = (): number => writerWord(writers + victim, WORD.STATE);
    if (kind === 'abort') {
      // Abort at a random moment after the victim started (or at once, if it already finished).
      let victimSettled = false;
      void tasks[victim]!.then(() => (victimSettled = true));
      while (victimState() === STATE.QUEUED && !victimSettled && performance.now() < deadline) await sleep(1);
      await sleep(killDelayMs);
      controller.abort();
    }
    const outcomes = await by(Promise.all(tasks), deadline);
    const loopsDone = await loops.stop(deadline);
    if (outcomes === HUNG || !loopsDone) {
      await reportHung(
        outcomes === HUNG ? 'tasks' : 'main-thread loops',
        whoIsPending(writers, POOL_TASKS, victim, 'task'),
        Promise.all([...tasks, loops.finished]),
      );
      await discardPool();
      return { landed: false, hung: true };
    }
    let landed = false;
    outcomes.forEach((outcome, i) => {
      if (outcome.ok) {
        merge(outcome.value, `task ${i}`);
        if (i === victim) summary.killsMissed[kind]++;
      } else if (i === victim) {
        const label = errorLabel(outcome.error);
        summary.killOutcomes[label] = (summary.killOutcomes[label] ?? 0) + 1;
        const expected = kind === 'abort' ? label === 'AbortError' : label === 'ERR_SABRE_TIMEOUT';
        if (!expected) finding(summary.unexpected, `the ${kind} victim rejected with ${describeError(outcome.error)}`);
        if (victimState() === STATE.RUNNING) landed = true;
        else summary.killsBeforeStart[kind]++;
      } else {
        finding(summary.unexpected, `task ${i} (not the victim) rejected with ${describeError(outcome.error)}`);
      }
    });
    if (landed) {
      summary.killsLanded[kind]++;
      if (!(await exitHandled(p, writerWord(writers + victim, WORD.THREAD), deadline))) {
        finding(
          summary.hungRounds,
          `the pool did not handle the killed worker's exit (thread ${writerWord(writers + victim, WORD.THREAD)}) within the round's deadline`,
        );
        await discardPool();
        return { landed, hung: true };
      }
    }
    if (!checkAfterRound(p.cache!, p.primitives.mutex as Mutex, p.primitives.rwlock as RwLock)) await discardPool(); // later rounds start clean
    return { landed, hung: false };
  };

  // ---- plain worker_threads rounds --------------------------------------------------------------

  const plainRound = async (round: number, roundSeed: number, random: () => number, deadline: number): Promise<{ landed: boolean; hung: boolean }> => {
    const cache = sabre.SharedCache.create(CACHE_OPTIONS);
    const mutex = sabre.Mutex.create();
    const rwlock = sabre.RwLock.create();
    const writers = round * WRITERS_PER_ROUND;
    const victim = Math.floor(random() * PLAIN_THREADS);
    const durations = Array.from({ length: PLAIN_THREADS }, () => 20 + Math.floor(random() * 40));
    const killDelayMs = random() * durations[victim]! * 1.1;
    const early = random() < 0.1; // sometimes kill it while it boots
    const threads = durations.map((durationMs, i) => {
      const worker = new Worker(KILL_THREAD, {
        workerData: { cache: cache.handle, mutex: mutex.handle, rwlock: rwlock.handle, board: board.buffer, writer: writers + i, seed: roundSeed, durationMs },
      });
      const recovered = settle(
        recoverOnExit
          ? sabre.recoverOnExit(worker, [cache, mutex, rwlock] as const)
          : new Promise<[CacheRecovery | null, boolean, boolean]>((resolve) => worker.once('exit', () => resolve([null, false, false]))),
      );
      const thread = { worker, recovered, report: undefined as unknown as Promise<Settled<OpsReport | null>>, exited: false };
      thread.report = new Promise<Settled<OpsReport | null>>((resolve) => {
        let answer: OpsReport | null = null;
        worker.once('message', (value: OpsReport) => (answer = value));
        worker.once('error', (error) => resolve({ ok: false, error }));
        worker.once('exit', () => {
          thread.exited = true;
          resolve({ ok: true, value: answer });
        });
      });
      return thread;
    });
    const loops = mainLoops(roundSeed, writers, cache, mutex, rwlock);
    const victimState = (): number => writerWord(writers + victim, WORD.STATE);
    if (!early) while (victimState() === STATE.QUEUED && !threads[victim]!.exited && performance.now() < deadline) await sleep(1);
    await sleep(early ? killDelayMs / 4 : killDelayMs);
    const stateAtKill = victimState();
    await by(threads[victim]!.worker.terminate(), deadline);
    const reports = await by(Promise.all(threads.map((t) => t.report)), deadline);
    const loopsDone = await loops.stop(deadline);
    const recoveries = await by(Promise.all(threads.map((t) => t.recovered)), deadline);
    if (reports === HUNG || !loopsDone || recoveries === HUNG) {
      const what = reports === HUNG ? 'threads' : !loopsDone ? 'main-thread loops' : 'recoverOnExit';
      await reportHung(
        what,
        whoIsPending(writers, PLAIN_THREADS, victim, 'thread'),
        Promise.all([...threads.flatMap((t) => [t.report, t.recovered]), loops.finished]),
      );
      await Promise.all(threads.map((t) => t.worker.terminate()));
      return { landed: false, hung: true };
    }
    let landed = false;
    reports.forEach((outcome, i) => {
      if (!outcome.ok) finding(summary.unexpected, `thread ${i}${i === victim ? ' (victim)' : ''} failed: ${describeError(outcome.error)}`);
      else if (outcome.value !== null) {
        merge(outcome.value, `thread ${i}`);
        if (i === victim) summary.killsMissed.terminate++;
      } else if (i === victim) {
        summary.killOutcomes.terminated = (summary.killOutcomes.terminated ?? 0) + 1;
        if (stateAtKill === STATE.RUNNING && victimState() === STATE.RUNNING) landed = true;
        else summary.killsBeforeStart.terminate++;
      } else finding(summary.unexpected, `thread ${i} (not the victim) exited without its report`);
    });
    if (landed) summary.killsLanded.terminate++;
    recoveries.forEach((outcome, i) => {
      if (!outcome.ok) {
        finding(summary.unexpected, `recoverOnExit of thread ${i} rejected: ${describeError(outcome.error)}`);
        return;
      }
      const [cacheRecovery, mutexReleased, rwlockReleased] = outcome.value;
      if (i !== victim && (cacheRecovery !== null || mutexReleased || rwlockReleased)) {
        finding(summary.unexpected, `thread ${i} finished normally but recovery found something held: ${JSON.stringify(outcome.value)}`);
      }
      countRecovery(cacheRecovery);
      if (mutexReleased === true) summary.recoveries.mutex++;
      if (rwlockReleased === true) summary.recoveries.rwlock++;
    });
    checkAfterRound(cache, mutex, rwlock);
    return { landed, hung: false };
  };

  // ---- the rounds -------------------------------------------------------------------------------

  try {
    for (let round = firstRound; round < firstRound + rounds; round++) {
      const roundSeed = mixSeed(seed, round);
      const random = seededRandom(roundSeed);
      const pick = random();
      const kind: KillKind =
        mode === 'plain' ? 'terminate' : mode === 'pool' ? (pick < 0.5 ? 'abort' : 'timeout') : pick < 1 / 3 ? 'abort' : pick < 2 / 3 ? 'timeout' : 'terminate';
      current = { round, seed, kind, what: '' };
      summary.kills[kind]++;
      Atomics.store(hb, HEARTBEAT.ROUND, round);
      Atomics.store(hb, HEARTBEAT.ROUND_MAX_GAP_MS, 0);
      const findingsBefore = countFindings(summary);
      const roundStart = performance.now();
      const deadline = roundStart + roundDeadlineMs;
      const { landed, hung } =
        kind === 'terminate' ? await plainRound(round, roundSeed, random, deadline) : await poolRound(round, roundSeed, random, kind, deadline);
      await yieldToLoop();
      const gap = Atomics.load(hb, HEARTBEAT.ROUND_MAX_GAP_MS);
      roundGaps.push(gap);
      summary.rounds++;
      onRound?.(
        {
          round,
          seed: roundSeed,
          kind,
          landed,
          hung,
          maxMainThreadGapMs: gap,
          durationMs: performance.now() - roundStart,
          findings: countFindings(summary) - findingsBefore,
        },
        summary,
      );
      if (countFindings(summary) >= stopAfterFindings) break;
    }
  } finally {
    clearInterval(beat);
    await discardPool();
    Atomics.store(hb, HEARTBEAT.STOP, 1);
    await new Promise((resolve) => watchdog.once('exit', resolve));
    process.off('warning', onWarning);
    const watchdogFailed = await Promise.race([watchdogError, Promise.resolve(undefined)]);
    if (watchdogFailed && !watchdogFailed.ok) finding(summary.unexpected, `the watchdog failed: ${describeError(watchdogFailed.error)}`);
  }
  summary.operations = Array.from({ length: (firstRound + rounds) * WRITERS_PER_ROUND }, (_, w) => writerWord(w, WORD.COUNT)).reduce((sum, n) => sum + n, 0);
  summary.frozenMainThread = Atomics.load(hb, HEARTBEAT.FROZEN);
  summary.maxMainThreadGapMs = Atomics.load(hb, HEARTBEAT.MAX_GAP_MS);
  const sorted = [...roundGaps].sort((a, b) => a - b);
  summary.mainThreadGapP50Ms = sorted[Math.floor(sorted.length / 2)] ?? 0;
  summary.mainThreadGapP99Ms = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
  summary.durationMs = performance.now() - started;
  return summary;
}

/** Every finding of a summary (hung rounds, problems, foreign values, mismatches, leaks, anything unexpected). */
export function countFindings(s: KillSummary): number {
  return s.hungRounds.length + s.integrityProblems.length + s.foreignValues.length + s.accountingMismatches.length + s.leakedLocks.length + s.unexpected.length;
}
