/**
 * The operations of the kill rounds (test/support/kill-rounds.ts): mixed cache and lock
 * operations that pool tasks, plain worker threads and the main thread all run at once while
 * one worker is killed at a random moment.
 *
 * Every value written names its writer and a sequence number the writer published *before*
 * writing it, on the shared board, so anyone can tell whether a value read back is one some
 * writer wrote: `checkEntry(key, value, board)`. The board, one Int32Array shared by every
 * thread, holds per writer id:
 *
 *   [PROGRESS] the last sequence number the writer issued (values carry 1..PROGRESS)
 *   [STATE]    QUEUED, RUNNING (its operations started), DONE
 *   [THREAD]   the threadId it runs on
 *   [OP]       the operation it is in (an OPS index + 1; 0 = none), to say where a round hung
 *   [COUNT]    operations completed
 *
 * Nothing here imports sabre's classes, only their types: the same module runs in workers
 * (compiled) and in the driver (source, under vitest).
 */
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import type { CacheKey, Mutex, RwLock, SharedCache } from '../../src/index.js';

export const VALUE_KEYS = 80; // more than the cache's 64 entries: capacity evictions
export const COUNTER_KEYS = 8;
export const COMPUTE_KEYS = 6;

export const WORDS_PER_WRITER = 5;
export const WORD = { PROGRESS: 0, STATE: 1, THREAD: 2, OP: 3, COUNT: 4 } as const;
export const STATE = { QUEUED: 0, RUNNING: 1, DONE: 2 } as const;

/** The message of a getOrCompute failure the operations cause on purpose. */
export const PLANNED_FAILURE = 'kill-rounds: planned compute failure';
/** Typed errors an operation may end with while threads die around it. Any other error is a finding. */
export const EXPECTED_CODES: readonly string[] = ['ERR_SABRE_LOCK_UNAVAILABLE', 'ERR_SABRE_TIMEOUT', 'ERR_SABRE_MEMORY_LIMIT'];

export const OPS = [
  'get',
  'set',
  'setWithTtl',
  'expire',
  'setIfAbsent',
  'compareAndSet',
  'compareAndDelete',
  'delete',
  'increment',
  'deleteCounter',
  'peekHas',
  'getOrCompute',
  'clear',
  'mutexSection',
  'rwWriteSection',
  'rwReadSection',
  'entries',
  'stats',
] as const;
export type Op = (typeof OPS)[number];

/**
 * Operation weights. Workers do everything but take an RwLock's read side: read holds name no
 * thread, so a reader that dies is never recovered (README, "What cannot be recovered") and
 * would leave the lock read-held for good; the main thread, which never dies here, takes both
 * sides. The main thread runs a cache loop and a lock loop side by side.
 */
export const MIXES: Record<'worker' | 'mainCache' | 'mainLocks', Partial<Record<Op, number>>> = {
  worker: {
    get: 20,
    set: 13,
    setWithTtl: 3,
    expire: 1,
    setIfAbsent: 5,
    compareAndSet: 8,
    compareAndDelete: 2,
    delete: 4,
    increment: 14,
    deleteCounter: 2,
    peekHas: 5,
    getOrCompute: 5,
    clear: 0.2,
    mutexSection: 9,
    rwWriteSection: 6,
    entries: 2,
  },
  mainCache: {
    get: 20,
    set: 13,
    setWithTtl: 3,
    expire: 1,
    setIfAbsent: 5,
    compareAndSet: 8,
    compareAndDelete: 2,
    delete: 4,
    increment: 14,
    deleteCounter: 2,
    peekHas: 5,
    entries: 2,
    stats: 2,
  },
  mainLocks: { mutexSection: 35, rwWriteSection: 20, rwReadSection: 20, getOrCompute: 25 },
};

/** How long a lock section waits for its lock (blocking form in workers, async on the main thread). */
const WORKER_LOCK_TIMEOUT_MS = 100;
const MAIN_LOCK_TIMEOUT_MS = 200;
/** Longest extra time a worker spends holding a lock, in ms (busy: the thread stays on its CPU). */
const SECTION_SPIN_MS = 0.2;

const spin = (ms: number): void => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

export interface WrittenValue {
  key: string;
  w: number;
  n: number;
  pad: string;
}

/** Mostly 0 to 96 bytes; every 16th value 300 to 900 (a chain of many chunks, and byte evictions). */
const padFor = (w: number, n: number): string =>
  String.fromCharCode(97 + ((w + n) % 26)).repeat(n % 16 === 0 ? 300 + ((w * 31 + n) % 600) : (w * 7 + n * 13) % 97);

/** The value writer `w` writes as its `n`-th: a string or an object (the structured-clone path), with padding. */
export function valueFor(key: string, w: number, n: number): string | WrittenValue {
  const pad = padFor(w, n);
  return n % 2 === 0 ? `${key}|${w}|${n}|${pad}` : { key, w, n, pad };
}

/** Null if `value` under `key` is one some writer wrote (or, for a counter, any safe integer); else what is wrong. */
export function checkEntry(key: CacheKey, value: unknown, board: Int32Array): string | null {
  if (typeof key !== 'string') return `unexpected key ${String(key)}`;
  if (key.startsWith('c')) return Number.isSafeInteger(value) ? null : `counter ${key} holds ${describe(value)}`;
  if (!key.startsWith('v') && !key.startsWith('g')) return `unexpected key ${key}`;
  let parsed: WrittenValue | undefined;
  if (typeof value === 'string') {
    const [k, w, n, pad, ...rest] = value.split('|');
    if (rest.length === 0 && pad !== undefined) parsed = { key: k!, w: Number(w), n: Number(n), pad };
  } else if (typeof value === 'object' && value !== null && Object.keys(value).join() === 'key,w,n,pad') {
    parsed = value as WrittenValue;
  }
  if (parsed === undefined) return `${key} holds ${describe(value)}: not a written value`;
  const { w, n } = parsed;
  if (parsed.key !== key) return `${key} holds a value written for ${parsed.key}: ${describe(value)}`;
  if (!Number.isInteger(w) || w < 0 || (w + 1) * WORDS_PER_WRITER > board.length) return `${key} holds a value of unknown writer ${w}`;
  if (!Number.isInteger(n) || n < 1 || n > Atomics.load(board, w * WORDS_PER_WRITER + WORD.PROGRESS)) {
    return `${key} holds writer ${w}'s value #${n}, which it never issued (it issued ${Atomics.load(board, w * WORDS_PER_WRITER + WORD.PROGRESS)})`;
  }
  if (parsed.pad !== padFor(w, n)) return `${key} holds a torn value: ${describe(value)}`;
  return null;
}

function describe(value: unknown): string {
  try {
    const text = typeof value === 'bigint' ? `${value}n` : JSON.stringify(value);
    return text === undefined ? String(value) : text.length > 120 ? `${text.slice(0, 120)}…` : text;
  } catch {
    return String(value);
  }
}

/** What one writer's operations came to. */
export interface OpsReport {
  writer: number;
  ops: number;
  /** Typed errors by code (expected ones; unexpected ones are also listed in `unexpected`). */
  typed: Record<string, number>;
  /** Lock waits that ran out (a blocking lock's `false`, an async lock's `false`). */
  lockTimeouts: number;
  /** Lock sections entered. */
  lockSections: number;
  /** getOrCompute calls that ended with the planned failure (on purpose). */
  plannedFailures: number;
  /** Values read that no writer wrote (at most 10 listed), and how many. */
  foreign: string[];
  foreignCount: number;
  /** Live stats() reads whose accounting did not add up. */
  accounting: string[];
  /** Anything else: untyped errors, typed errors no operation here should meet. */
  unexpected: string[];
}

export interface OpsTarget {
  cache: SharedCache;
  mutex: Mutex;
  rwlock: RwLock;
  board: Int32Array;
  writer: number;
  random: () => number;
  mix: keyof typeof MIXES;
  /** The main thread: async lock forms, and a turn of the event loop after every operation. */
  main: boolean;
  /** Runs while this returns true. */
  going: () => boolean;
  /** Called with the operation about to start (the main thread tells the watchdog). */
  onOp?: (op: number) => void;
}

const LIST_LIMIT = 10;

/** Runs `target.mix` until `target.going()` turns false; every error is classified, none escapes. */
export async function runOps(target: OpsTarget): Promise<OpsReport> {
  const { cache, mutex, rwlock, board, writer, random, main } = target;
  const report: OpsReport = {
    writer,
    ops: 0,
    typed: {},
    lockTimeouts: 0,
    lockSections: 0,
    plannedFailures: 0,
    foreign: [],
    foreignCount: 0,
    accounting: [],
    unexpected: [],
  };
  const base = writer * WORDS_PER_WRITER;
  const weights = Object.entries(MIXES[target.mix]) as Array<[Op, number]>;
  const total = weights.reduce((sum, [, w]) => sum + w, 0);
  const pickOp = (): Op => {
    let r = random() * total;
    for (const [op, w] of weights) if ((r -= w) < 0) return op;
    return weights[0]![0];
  };
  const next = (): number => {
    const n = board[base + WORD.PROGRESS]! + 1;
    Atomics.store(board, base + WORD.PROGRESS, n); // published before the value is written anywhere
    return n;
  };
  const valueKey = (): string => `v${Math.floor(random() * VALUE_KEYS)}`;
  const counterKey = (): string => `c${Math.floor(random() * COUNTER_KEYS)}`;
  const check = (key: string, value: unknown, op: string): void => {
    if (value === undefined) return;
    const bad = checkEntry(key, value, board);
    if (bad === null) return;
    report.foreignCount++;
    if (report.foreign.length < LIST_LIMIT) report.foreign.push(`${op}: ${bad}`);
  };
  const note = (list: string[], text: string): void => {
    if (list.length < LIST_LIMIT) list.push(text);
  };

  /** One cache operation (also what a lock section does while it holds its lock). */
  const cacheOp = async (op: Op): Promise<void> => {
    switch (op) {
      case 'get': {
        const key = valueKey();
        check(key, cache.get(key), op);
        return;
      }
      case 'set': {
        const key = valueKey();
        cache.set(key, valueFor(key, writer, next()));
        return;
      }
      case 'setWithTtl': {
        const key = valueKey();
        cache.set(key, valueFor(key, writer, next()), { ttlMs: 1 + Math.floor(random() * 30) });
        return;
      }
      case 'expire':
        cache.expire(valueKey(), 1 + Math.floor(random() * 30));
        return;
      case 'clear':
        cache.clear();
        return;
      case 'setIfAbsent': {
        const key = valueKey();
        cache.setIfAbsent(key, valueFor(key, writer, next()));
        return;
      }
      case 'compareAndSet': {
        const key = valueKey();
        const seen = cache.get(key);
        check(key, seen, op);
        if (seen !== undefined) cache.compareAndSet(key, seen, valueFor(key, writer, next()));
        return;
      }
      case 'compareAndDelete': {
        const key = valueKey();
        const seen = cache.peek(key);
        check(key, seen, op);
        if (seen !== undefined) cache.compareAndDelete(key, seen);
        return;
      }
      case 'delete':
        cache.delete(valueKey());
        return;
      case 'increment': {
        const key = counterKey();
        const value = cache.increment(key, 1 + Math.floor(random() * 5));
        if (!Number.isSafeInteger(value)) check(key, value, op);
        return;
      }
      case 'deleteCounter':
        cache.delete(counterKey());
        return;
      case 'peekHas': {
        const key = valueKey();
        check(key, cache.peek(key), op);
        cache.has(counterKey());
        return;
      }
      case 'getOrCompute': {
        const key = `g${Math.floor(random() * COMPUTE_KEYS)}`;
        const fail = random() < 0.2; // compute runs only on a miss, rarely
        const delayMs = Math.floor(random() * 4);
        const value = await cache.getOrCompute(key, async () => {
          const n = next();
          await sleep(delayMs);
          if (fail) throw new Error(PLANNED_FAILURE);
          return valueFor(key, writer, n);
        });
        check(key, value, op);
        return;
      }
      case 'entries':
        for (const [key, value] of cache.entries()) {
          const bad = checkEntry(key, value, board);
          if (bad !== null) {
            report.foreignCount++;
            note(report.foreign, `entries: ${bad}`);
          }
        }
        return;
      case 'stats': {
        const s = cache.stats();
        const evicted = Object.values(s.evictions).reduce((sum, n) => sum + n, 0);
        if (s.size !== s.inserts - s.deletes - evicted - s.abandonedFlights) {
          note(
            report.accounting,
            `live stats(): size ${s.size} but inserts ${s.inserts} - deletes ${s.deletes} - evictions ${evicted} - abandonedFlights ${s.abandonedFlights} = ${s.inserts - s.deletes - evicted - s.abandonedFlights}`,
          );
        }
        return;
      }
      default:
        throw new Error(`not a cache operation: ${op}`);
    }
  };
  const SECTION_OPS: Op[] = ['get', 'set', 'increment', 'compareAndSet'];

  /** Takes a lock (blocking in a worker, async on the main thread), runs 1 to 3 cache operations, releases it. */
  const section = async (op: Op): Promise<void> => {
    const acquire = (): boolean | Promise<boolean> => {
      if (op === 'mutexSection') return main ? mutex.lockAsync({ timeoutMs: MAIN_LOCK_TIMEOUT_MS }) : mutex.lock(WORKER_LOCK_TIMEOUT_MS);
      if (op === 'rwWriteSection') return main ? rwlock.writeLockAsync({ timeoutMs: MAIN_LOCK_TIMEOUT_MS }) : rwlock.writeLock(WORKER_LOCK_TIMEOUT_MS);
      return main ? rwlock.readLockAsync({ timeoutMs: MAIN_LOCK_TIMEOUT_MS }) : rwlock.readLock(WORKER_LOCK_TIMEOUT_MS);
    };
    if (!(await acquire())) {
      report.lockTimeouts++;
      return;
    }
    report.lockSections++;
    try {
      const count = 1 + Math.floor(random() * 3);
      for (let i = 0; i < count; i++) {
        try {
          await cacheOp(SECTION_OPS[Math.floor(random() * SECTION_OPS.length)]!);
        } catch (error) {
          classify(error, op);
        }
        if (main) await yieldToLoop();
      }
      if (!main) spin(random() * SECTION_SPIN_MS); // a critical section takes a while: kills land in it
    } finally {
      if (op === 'mutexSection') mutex.unlock();
      else if (op === 'rwWriteSection') rwlock.writeUnlock();
      else rwlock.readUnlock();
    }
  };

  const classify = (error: unknown, op: string): void => {
    const { code, name, message } = (error ?? {}) as { code?: unknown; name?: unknown; message?: unknown };
    if (message === PLANNED_FAILURE) {
      report.plannedFailures++;
      return;
    }
    if (typeof code === 'string' && code.startsWith('ERR_SABRE_')) {
      report.typed[code] = (report.typed[code] ?? 0) + 1;
      if (EXPECTED_CODES.includes(code)) return;
    }
    note(report.unexpected, `${op}: ${String(name)} ${typeof code === 'string' ? `(${code}) ` : ''}${String(message)}`);
  };

  while (target.going()) {
    const op = pickOp();
    const index = OPS.indexOf(op) + 1;
    board[base + WORD.OP] = index;
    target.onOp?.(index);
    try {
      if (op === 'mutexSection' || op === 'rwWriteSection' || op === 'rwReadSection') await section(op);
      else await cacheOp(op);
    } catch (error) {
      classify(error, op);
    }
    board[base + WORD.OP] = 0;
    report.ops++;
    board[base + WORD.COUNT] = report.ops;
    if (main) await yieldToLoop();
  }
  return report;
}

/** The heartbeat words the main thread and its watchdog (kill-watchdog.ts) share. */
export const HEARTBEAT = {
  /** Bumped by the main thread every 5 ms. */
  BEAT: 0,
  /** Set to 1 to stop the watchdog. */
  STOP: 1,
  /** Longest gap between beats seen, ms. */
  MAX_GAP_MS: 2,
  /** Longest gap since the main thread last reset it (each round), ms. */
  ROUND_MAX_GAP_MS: 3,
  /** Gaps over the frozen threshold. */
  FROZEN: 4,
  /** What the main thread is doing: an OPS index + 1 (0: none). */
  MAIN_OP: 5,
  /** The round under way. */
  ROUND: 6,
  WORDS: 8,
} as const;
