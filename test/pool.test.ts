/** The coordinator (sabre/pool): real piscina pools whose workers share a cache and primitives. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from './support/threads.js';
// The pool starts compiled workers, so these tests load the compiled package too: one copy of
// every class, so instanceof holds for errors thrown on either side. (Loaded by a computed URL so
// that the compiler takes the types from src/ and never reads dist/.)
const compiled = (path: string): Promise<unknown> => import(new URL(path, import.meta.url).href);
const { InvalidArgumentError, MemoryLimitError, TimeoutError } = (await compiled('../dist/src/index.js')) as typeof import('../src/index.js');
const { createPool } = (await compiled('../dist/src/pool/index.js')) as typeof import('../src/pool/index.js');
type SabrePool = import('../src/pool/index.js').SabrePool;
const { FAULT_POINTS } = (await compiled('../dist/src/shared/fault-points.js')) as typeof import('../src/shared/fault-points.js');
const cacheModule = (await compiled('../dist/src/cache/shared-cache.js')) as typeof import('../src/cache/shared-cache.js');

const TASKS = new URL('../dist/test/workers/pool-task.js', import.meta.url);
const pools: SabrePool[] = [];
function pool(options: Partial<Parameters<typeof createPool>[0]> = {}): SabrePool {
  const p = createPool({ filename: TASKS, threads: 2, signals: false, ...options });
  pools.push(p);
  return p;
}
/** Samples the pool's memory now and returns its guard's state. */
function memoryStateNow(p: SabrePool): SabrePool['memoryState'] {
  p.checkMemory();
  return p.memoryState;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close({ deadlineMs: 1_000 })));
});

describe('a pool whose workers share one cache', () => {
  it('writes made in one worker are read in the others, and on the main thread', async () => {
    const p = pool({ cache: { maxEntries: 100, maxBytes: 10_000 }, primitives: { start: { kind: 'barrier', parties: 2 } } });
    const results = await Promise.all([0, 1].map(() => p.run<{ threadId: number; keys: string[] }>({ op: 'writeThenReadAll' })));
    const threadIds = results.map((r) => r.threadId).sort();
    expect(new Set(threadIds).size).toBe(2);
    const expected = threadIds.map((id) => `from:${id}`).sort();
    for (const r of results) expect(r.keys).toEqual(expected);
    for (const id of threadIds) expect(p.cache!.get(`from:${id}`)).toBe(id);
    p.cache!.set('from:main', 0);
    await expect(p.run({ op: 'get', key: 'from:main' })).resolves.toBe(0);
  });

  it('passes workerData through, and the main thread sees the same named primitives', async () => {
    const p = pool({ workerData: { region: 'eu' }, primitives: { jobs: { kind: 'semaphore', permits: 3 }, lock: 'mutex' } });
    await expect(p.run({ op: 'workerData' })).resolves.toEqual({ region: 'eu' });
    expect(Object.keys(p.primitives).sort()).toEqual(['jobs', 'lock']);
  });
});

describe('the control plane', () => {
  it('broadcast reaches every worker, and call reaches one', async () => {
    const p = pool({ threads: 3 });
    const ids = await p.broadcast('ping');
    expect(ids.sort()).toEqual(p.workerIds.sort());
    expect(ids).toHaveLength(3);
    await expect(p.call(ids[0]!, 'ping')).resolves.toBe(ids[0]);
    const stats = await p.broadcast('stats');
    expect(stats.every((s) => s.running === 0 && s.paused === false && s.heapUsedBytes > 0)).toBe(true);
  });

  it('pause holds new tasks back without losing them; resume lets them run', async () => {
    const p = pool({ threads: 1 });
    await p.broadcast('pause');
    let done = false;
    const task = p.run({ op: 'threadId' }).then((id) => {
      done = true;
      return id;
    });
    const [stats] = await p.broadcast('stats');
    expect(stats!.paused).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(done).toBe(false);
    await p.broadcast('resume');
    await expect(task).resolves.toBe(stats!.threadId);
  });
});

describe('timeouts, aborts and bad configuration', () => {
  it('a task that runs past its timeout rejects with TimeoutError; the pool replaces the worker and goes on', async () => {
    const p = pool({ threads: 1 });
    await expect(p.run({ op: 'spin' }, { timeoutMs: 100 })).rejects.toBeInstanceOf(TimeoutError);
    await expect(p.run({ op: 'threadId' })).resolves.toEqual(expect.any(Number));
  });

  it('an aborted task rejects with an AbortError', async () => {
    const p = pool({ threads: 1 });
    const controller = new AbortController();
    const task = p.run({ op: 'sleep', ms: 10_000 }, { signal: controller.signal });
    controller.abort();
    await expect(task).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('bad configurations fail at construction with a typed error, before any thread starts', () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ threads: 0 }, /threads must be an integer from 1/],
      [{ threads: 1.5 }, /threads/],
      [{ filename: '/nowhere/task.js' }, /no task module at \/nowhere\/task.js/],
      [{ filename: 42 }, /filename must be a path or a file: URL/],
      [{ taskTimeoutMs: 0 }, /taskTimeoutMs must be a number > 0/],
      [{ signals: 'yes' }, /signals must be a boolean/],
      [{ primitives: { lock: 'spinlock' } }, /primitives.lock: kind must be/],
      [{ primitives: { gate: { kind: 'barrier', parties: 0 } } }, /primitives.gate: parties must be/],
      [{ cache: { maxEntries: -1, maxBytes: 10 } }, /maxEntries/],
    ];
    for (const [options, message] of bad) {
      expect(() => createPool({ filename: TASKS, signals: false, ...options } as never)).toThrow(InvalidArgumentError);
      expect(() => createPool({ filename: TASKS, signals: false, ...options } as never)).toThrow(message);
    }
    expect(() => createPool(undefined as never)).toThrow(InvalidArgumentError);
  });

  it('a control call that gets no answer rejects with TimeoutError instead of waiting forever', async () => {
    const p = pool({ threads: 1, primitives: { spinning: { kind: 'latch', count: 1 } } });
    await p.broadcast('ping');
    await expect(p.call(-5, 'ping')).rejects.toThrow(/no worker with threadId -5/);
    const controller = new AbortController();
    const spinning = p.run({ op: 'spin' }, { signal: controller.signal }).catch((error: Error) => error.name);
    await (p.primitives.spinning as import('../src/index.js').Latch).waitAsync();
    // The worker's event loop is now stuck in the task, so nothing can answer the control plane.
    await expect(p.broadcast('ping', { timeoutMs: 200 })).rejects.toBeInstanceOf(TimeoutError);
    controller.abort();
    await expect(spinning).resolves.toBe('AbortError');
  });

  it('a closed pool takes no more tasks, and close() leaves no worker', async () => {
    const p = pool({ threads: 2 });
    await p.broadcast('ping');
    await p.close();
    expect(p.threads).toBe(0);
    await expect(p.run({ op: 'threadId' })).rejects.toThrow(/closing/);
  });
});

describe('a worker that dies holding a lock', () => {
  it.each(['mutex', 'rwlock'] as const)('a %s held by a terminated worker is released, the others go on, and the death is counted', async (kind) => {
    const p = pool({ threads: 2, primitives: { lock: kind, held: { kind: 'latch', count: 1 } } });
    type Lock = import('../src/index.js').Mutex & import('../src/index.js').RwLock;
    const lock = p.primitives.lock as Lock;
    await p.broadcast('ping'); // every worker has announced itself
    const controller = new AbortController();
    const dying = p.run({ op: 'lockAndHang', key: 'lock', latch: 'held' }, { signal: controller.signal }).catch((e: Error) => e.name);
    await (p.primitives.held as import('../src/index.js').Latch).waitAsync();
    const holder = lock.holder()!;
    expect(p.workerIds).toContain(holder.threadId);
    const recovered = new Promise((resolve) => p.once('recovered', resolve));
    controller.abort(); // the worker is terminated inside its critical section
    await expect(dying).resolves.toBe('AbortError');
    await expect(recovered).resolves.toEqual({ threadId: holder.threadId, name: 'lock', kind });
    const acquired = kind === 'mutex' ? await lock.lockAsync({ timeoutMs: 10_000 }) : await lock.writeLockAsync({ timeoutMs: 10_000 });
    expect(acquired).toBe(true);
    expect(lock.holderDeaths).toBe(1);
    if (kind === 'mutex') lock.unlock();
    else lock.writeUnlock();
    await expect(p.run({ op: 'threadId' })).resolves.toEqual(expect.any(Number)); // the pool goes on
  });
});

describe('the memory guard', () => {
  const MiB = 1024 * 1024;

  it('warns at the warning ratio, refuses new work at the limit, and resumes when memory falls; events on transitions only', async () => {
    const baseline = process.memoryUsage().rss;
    // Limit 300 MiB above the current footprint, warning 75 MiB above it.
    const guarded = pool({
      threads: 2,
      cache: { maxEntries: 100, maxBytes: 10_000 },
      primitives: { firstHeld: { kind: 'latch', count: 1 }, secondHeld: { kind: 'latch', count: 1 } },
      memory: { limitMb: (baseline + 300 * MiB) / MiB, warnRatio: (baseline + 75 * MiB) / (baseline + 300 * MiB), intervalMs: 10_000 },
    });
    await guarded.broadcast('ping');
    const events: Array<{ state: string; previous: string }> = [];
    guarded.on('memory', ({ state, previous }) => events.push({ state, previous }));
    guarded.cache!.set('existing', 1);
    type Latch = import('../src/index.js').Latch;

    const first = new AbortController();
    const holdingFirst = guarded.run({ op: 'hold', mb: 150, latch: 'firstHeld' }, { signal: first.signal }).catch((e: Error) => e.name);
    await (guarded.primitives.firstHeld as Latch).waitAsync();
    guarded.checkMemory();
    guarded.checkMemory(); // same level: no second event
    expect(events).toEqual([{ state: 'warning', previous: 'normal' }]);
    await expect(guarded.run({ op: 'threadId' })).resolves.toEqual(expect.any(Number)); // a warning refuses nothing

    const second = new AbortController();
    const holdingSecond = guarded.run({ op: 'hold', mb: 300, latch: 'secondHeld' }, { signal: second.signal }).catch((e: Error) => e.name);
    await (guarded.primitives.secondHeld as Latch).waitAsync();
    guarded.checkMemory();
    expect(guarded.memoryState).toBe('limit');
    expect(events.at(-1)).toEqual({ state: 'limit', previous: 'warning' });
    await expect(guarded.run({ op: 'threadId' })).rejects.toBeInstanceOf(MemoryLimitError);
    expect(() => guarded.cache!.set('new key', 1)).toThrow(MemoryLimitError);
    guarded.cache!.set('existing', 2); // updates go on
    expect(guarded.cache!.stats().admissionsRefused).toBe(1);

    second.abort(); // its worker is terminated: 300 MiB go back to the system
    await expect(holdingSecond).resolves.toBe('AbortError');
    await expect.poll(() => memoryStateNow(guarded), { timeout: 30_000, interval: 50 }).not.toBe('limit');
    guarded.cache!.set('new key', 1); // admissions are open again
    await expect(guarded.run({ op: 'threadId' })).resolves.toEqual(expect.any(Number));

    first.abort();
    await expect(holdingFirst).resolves.toBe('AbortError');
    await expect.poll(() => memoryStateNow(guarded), { timeout: 30_000, interval: 50 }).toBe('normal');
    expect(events.map((e) => e.state)).toEqual(['warning', 'limit', 'warning', 'normal']);
  });

  it("'evict' sheds cache entries while at the limit, counted as memory evictions, and refuses nothing", async () => {
    const p = pool({ threads: 1, cache: { maxEntries: 1_000, maxBytes: 100_000 }, memory: { limitMb: 1, onLimit: 'evict', intervalMs: 10_000 } });
    for (let i = 0; i < 1_000; i++) p.cache!.set(`k${i}`, i);
    p.checkMemory(); // any process is above 1 MiB
    expect(p.memoryState).toBe('limit');
    p.checkMemory();
    expect(p.cache!.size).toBeLessThan(1_000);
    expect(p.cache!.stats().evictions.memory).toBe(1_000 - p.cache!.size);
    p.cache!.set('new key', 1);
    await expect(p.run({ op: 'threadId' })).resolves.toEqual(expect.any(Number));
  });

  it('bad memory options fail at construction', () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ limitMb: 0 }, /limitMb must be a number > 0/],
      [{ limitMb: NaN }, /limitMb/],
      [{ limitMb: 100, warnRatio: 1 }, /warnRatio must be a number between 0 and 1/],
      [{ limitMb: 100, onLimit: 'panic' }, /onLimit must be 'reject' or 'evict'/],
      [{ limitMb: 100, intervalMs: -1 }, /intervalMs/],
    ];
    for (const [memory, message] of bad) expect(() => createPool({ filename: TASKS, signals: false, memory } as never)).toThrow(message);
  });
});

describe('shutdown on signals', () => {
  const fixture = fileURLToPath(new URL('./fixtures/pool-signals.mjs', import.meta.url));

  async function started(mode: 'idle' | 'busy') {
    const child = spawn(process.execPath, [fixture, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    expect(line.toString().trim()).toBe('ready');
    return { child, stderr: () => stderr, exited: once(child, 'exit') as Promise<[number | null, string | null]> };
  }

  it('SIGTERM closes the pool and the process exits with code 0', async () => {
    const { child, exited, stderr } = await started('idle');
    child.kill('SIGTERM');
    const [code, signal] = await exited;
    expect(stderr()).toBe('');
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });

  it('a second signal forces the exit while a task is still running', async () => {
    const { child, exited } = await started('busy');
    child.kill('SIGINT'); // starts closing: the running task may take up to the deadline
    await new Promise((resolve) => setTimeout(resolve, 100));
    child.kill('SIGINT');
    const [code] = await exited;
    expect(code).toBe(130);
  });
});

describe('a worker that dies inside a cache mutation', () => {
  it('a getOrCompute flight of a terminated worker ends at once: a waiter computes instead of waiting out the lease', async () => {
    const p = pool({ threads: 2, cache: { maxEntries: 16, maxBytes: 4096 }, primitives: { computing: { kind: 'latch', count: 1 } } });
    const controller = new AbortController();
    const dying = p.run({ op: 'computeAndHang', key: 'report', latch: 'computing' }, { signal: controller.signal }).catch((e: Error) => e.name);
    await (p.primitives.computing as import('../src/index.js').Latch).waitAsync();
    const recovered = new Promise<import('../src/pool/index.js').RecoveryEvent>((resolve) => p.on('recovered', resolve));
    // The lease is an hour: only the coordinator ending the flight lets this waiter in.
    const waiter = p.cache!.getOrCompute('report', () => 'computed by the waiter', { leaseMs: 3_600_000 });
    controller.abort();
    await expect(dying).resolves.toBe('AbortError');
    await expect(recovered).resolves.toMatchObject({ name: 'cache', cache: { abandonedFlights: 1, droppedEntries: 0 } });
    await expect(waiter).resolves.toBe('computed by the waiter');
    expect(p.cache!.get('report')).toBe('computed by the waiter');
    expect(p.cache![cacheModule.checkIntegrity]()).toEqual([]);
  });

  type Point = (typeof FAULT_POINTS)[number];
  /** What the dying worker does to reach each point, and what must then be stored under 'crash:key'. */
  const cases: Record<Point, { action: 'set' | 'setNew' | 'delete' | 'clear'; after: 'old' | 'absent' | 'any' }> = {
    'write:locked': { action: 'set', after: 'old' }, // nothing changed yet: the old value stays
    'put:in-place': { action: 'set', after: 'absent' }, // a half rewrite is rolled back to absent
    'put:structure': { action: 'set', after: 'old' }, // (the new value is longer: not in place)
    'evict:claimed': { action: 'setNew', after: 'any' },
    'remove:unlinked': { action: 'setNew', after: 'any' },
    'put:allocated': { action: 'setNew', after: 'old' },
    'put:filled': { action: 'setNew', after: 'old' },
    'put:linked': { action: 'setNew', after: 'old' },
    'delete:unlinked': { action: 'delete', after: 'absent' }, // an interrupted removal is completed
    'clear:halfway': { action: 'clear', after: 'any' },
  };

  it('covers every fault point of the mutation path', () => {
    expect(Object.keys(cases).sort()).toEqual([...FAULT_POINTS].sort());
  });

  /**
   * A worker dies at `point` (the `nth` time it reaches it) doing `action`: its locks are taken
   * over, the cache is repaired, the other worker never stops, and 'crash:key' then holds what
   * `after` says ('new': the first of its sets, which survived).
   */
  async function dieAt(
    point: Point,
    nth: number,
    { action, after }: { action: (typeof cases)[Point]['action']; after: (typeof cases)[Point]['after'] | 'new' },
  ): Promise<void> {
    // Room for the other worker's 40 keys: only the dying worker's new keys fill the cache and
    // make it evict (evict:claimed, remove:unlinked).
    const p = pool({ threads: 2, cache: { maxEntries: 128, maxBytes: 128 * 200 }, primitives: { churning: { kind: 'latch', count: 1 } } });
    const cache = p.cache!;
    // 'crash:key' holds a 9-byte value; 'set' writes 'new-value' (9 bytes: in place) except at
    // put:structure, where the old value is shorter so the rewrite takes the structure path.
    const old = point === 'put:structure' ? 'old' : 'old-value';
    cache.set('crash:key', old);
    await p.broadcast('ping');
    const churn = p.run<number>({ op: 'churn' }, { timeoutMs: 60_000 });
    await (p.primitives.churning as import('../src/index.js').Latch).waitAsync();
    const recovered = new Promise<import('../src/pool/index.js').RecoveryEvent>((resolve) => p.on('recovered', resolve));
    const crash = await p.run({ op: 'crashAt', point, action, nth }).then(
      (value) => value,
      (error: Error) => error.message,
    );
    expect(crash).not.toBe('survived');
    const event = await recovered;
    expect(event).toMatchObject({ name: 'cache', kind: 'cache', cache: { structure: expect.any(Boolean), stripes: expect.any(Number) } });
    expect(event.cache!.structure || event.cache!.stripes > 0).toBe(true);
    // The other worker goes on: it keeps writing through the repaired cache.
    const before = cache.stats().sets;
    await until(() => cache.stats().sets > before + 100, 'the other worker wrote on');
    cache.set('stop', true);
    await expect(churn).resolves.toBeGreaterThan(0);
    expect(cache[cacheModule.checkIntegrity]()).toEqual([]);
    expect(cache.stats().evictions.recovery).toBe(event.cache!.droppedEntries);
    const stored = cache.get('crash:key');
    if (after === 'old') expect(stored).toBe(old);
    else if (after === 'new') expect(stored).toBe('new-value');
    else if (after === 'absent') expect(stored).toBeUndefined();
    else expect([old, undefined]).toContain(stored);
    if (point.startsWith('put:') && action === 'setNew') expect(cache.has('crash:new:0')).toBe(false); // rolled back
    expect(cache.size).toBeLessThanOrEqual(128);
    for (const [key, value] of cache.entries()) {
      if (typeof key === 'string' && key.startsWith('churn:')) expect((value as { key: string }).key).toBe(key);
    }
    await expect(p.run({ op: 'get', key: 'crash:key' })).resolves.toBe(stored); // the replacement worker sees the same cache
  }

  it.each(FAULT_POINTS)('dying at %s: the locks are taken over, the cache is repaired, the other worker never stops', (point) => dieAt(point, 1, cases[point]));

  // A worker's first set of 'crash:key' takes the general write (it has not found the key yet) and
  // survives; its second is the in-place set (store.rewriteIfHeld, the stripe mutex taken by its
  // CAS fast path), which dies at the point's second hit.
  it.each([
    ['write:locked', 'new'],
    ['put:in-place', 'absent'],
  ] as const)('dying at %s inside the in-place set: the same repair', (point, after) => dieAt(point, 2, { action: 'set', after }));
});
