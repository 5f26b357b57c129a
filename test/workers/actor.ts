/**
 * The test actor: one worker-thread script that plays the role named in workerData. Each role is
 * a small, deterministic program against sabre's primitives; it posts one result and returns.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  Barrier,
  type BarrierHandle,
  CondVar,
  type CondVarHandle,
  Latch,
  type LatchHandle,
  Mutex,
  type MutexHandle,
  RwLock,
  type RwLockHandle,
  SabreError,
  Semaphore,
  type SemaphoreHandle,
} from '../../src/index.js';
import { delayPoint, seededRandom, spin } from '../support/delay.js';

type Data = Record<string, any>;

/** Runs `fn` and reports a SabreError as data (errors lose their class crossing threads). */
function caught(fn: () => unknown): { code: string; message: string } | { code: 'none' } {
  try {
    fn();
    return { code: 'none' };
  } catch (error) {
    if (error instanceof SabreError) return { code: error.code, message: error.message };
    throw error;
  }
}

/** Occupancy word: readers add 1, writers add WRITER; a reader seeing >= WRITER or a writer seeing != 0 is a violation. */
const WRITER = 1 << 16;

const roles: Record<string, (d: Data) => unknown> = {
  /** counter[0] += 1, `iterations` times, as a plain (non-atomic) read-modify-write, under the mutex or not. */
  increment(d) {
    const mutex = d.mutex ? Mutex.attach(d.mutex as MutexHandle) : undefined;
    const counter = new Int32Array(d.counter as SharedArrayBuffer);
    const random = seededRandom(d.seed + d.index);
    // `overlap` (the unlocked control): every worker reads once before any writes, so at least one
    // update is lost however the OS schedules the threads (bounded: a worker that never comes
    // only makes the loss likely rather than certain).
    const overlap = d.overlap ? new Int32Array(d.overlap as SharedArrayBuffer) : undefined;
    Barrier.attach(d.start as BarrierHandle).arriveAndWait();
    for (let i = 0; i < d.iterations; i++) {
      mutex?.lock();
      const value = counter[0]!;
      if (overlap !== undefined && i === 0) {
        Atomics.add(overlap, 0, 1);
        Atomics.notify(overlap, 0);
        const deadline = Date.now() + 5_000;
        for (let seen = Atomics.load(overlap, 0); seen < (d.parties as number) && Date.now() < deadline; seen = Atomics.load(overlap, 0)) {
          Atomics.wait(overlap, 0, seen, 50);
        }
      }
      delayPoint(random, d.delayRate, d.delaySpin);
      counter[0] = value + 1;
      mutex?.unlock();
    }
    return d.iterations;
  },

  /** Readers and writers on an rwlock (or none, as a control), checking the occupancy word inside every critical section. */
  occupancy(d) {
    const lock = d.lock ? RwLock.attach(d.lock as RwLockHandle) : undefined;
    const occupancy = new Int32Array(d.occupancy as SharedArrayBuffer);
    const random = seededRandom(d.seed + d.index);
    let violations = 0;
    Barrier.attach(d.start as BarrierHandle).arriveAndWait();
    for (let i = 0; i < d.iterations; i++) {
      if (d.writer) {
        lock?.writeLock();
        if (Atomics.add(occupancy, 0, WRITER) !== 0) violations++;
        delayPoint(random, 0.5, 200);
        Atomics.sub(occupancy, 0, WRITER);
        lock?.writeUnlock();
      } else {
        lock?.readLock();
        if (Atomics.add(occupancy, 0, 1) + 1 >= WRITER) violations++;
        delayPoint(random, 0.5, 200);
        Atomics.sub(occupancy, 0, 1);
        lock?.readUnlock();
      }
    }
    return violations;
  },

  /**
   * A reader in a relay: it holds the read lock until another reader has entered (or a bounded
   * wait passes), so without writer preference the lock would never be free of readers.
   */
  relayReader(d) {
    const lock = RwLock.attach(d.lock as RwLockHandle);
    const shared = new Int32Array(d.shared as SharedArrayBuffer); // [entries, writerDone]
    let entries = 0;
    while (Atomics.load(shared, 1) === 0 && entries < d.maxEntries) {
      lock.readLock();
      const seen = Atomics.add(shared, 0, 1) + 1;
      entries++;
      for (let k = 0; k < 20_000 && Atomics.load(shared, 0) === seen; k++) spin(10);
      lock.readUnlock();
    }
    return { entries, writerGotIn: Atomics.load(shared, 1) === 1 };
  },

  /** Waits until the relay of readers is running, then takes the write lock once. */
  relayWriter(d) {
    const lock = RwLock.attach(d.lock as RwLockHandle);
    const shared = new Int32Array(d.shared as SharedArrayBuffer);
    while (Atomics.load(shared, 0) < 100) spin(100);
    const entriesBefore = Atomics.load(shared, 0);
    lock.writeLock();
    const readers = lock.readerCount();
    Atomics.store(shared, 1, 1);
    lock.writeUnlock();
    return { entriesBefore, readersInside: readers };
  },

  /** A barrier party: each round, publish the round, arrive, then check that nobody is behind. */
  rounds(d) {
    const barrier = Barrier.attach(d.barrier as BarrierHandle);
    const slots = new Int32Array(d.slots as SharedArrayBuffer);
    const random = seededRandom(d.seed + d.index);
    let slips = 0;
    let wrongGeneration = 0;
    let leaders = 0;
    for (let round = 0; round < d.rounds; round++) {
      Atomics.store(slots, d.index, round);
      delayPoint(random, 0.3, 500);
      const arrival = barrier.arriveAndWait();
      if (arrival.leader) leaders++;
      if (arrival.generation !== round) wrongGeneration++;
      for (let p = 0; p < d.parties; p++) {
        const seen = Atomics.load(slots, p);
        if (seen !== round && seen !== round + 1) slips++;
      }
    }
    return { slips, wrongGeneration, leaders };
  },

  /** Bounded queue in shared memory: producers push `perProducer` items each, consumers pop until all are taken. */
  queue(d) {
    const mutex = Mutex.attach(d.mutex as MutexHandle);
    const notEmpty = CondVar.attach(d.notEmpty as CondVarHandle);
    const notFull = CondVar.attach(d.notFull as CondVarHandle);
    // [head, tail, count, consumed, lostWakeups, ...slots]
    const q = new Int32Array(d.queue as SharedArrayBuffer);
    const capacity = q.length - 5;
    const total = d.producers * d.perProducer;
    const waitMs = 20_000; // only a lost wake-up could make a wait last this long
    if (d.producer) {
      for (let k = 0; k < d.perProducer; k++) {
        mutex.lock();
        while (q[2] === capacity) if (!notFull.wait(mutex, waitMs)) q[4]!++;
        q[q[1]! + 5] = d.index * d.perProducer + k + 1;
        q[1] = (q[1]! + 1) % capacity;
        q[2]!++;
        notEmpty.notifyOne();
        mutex.unlock();
      }
      return { sum: 0, taken: 0 };
    }
    let sum = 0;
    let taken = 0;
    for (;;) {
      mutex.lock();
      while (q[2] === 0 && q[3]! < total) if (!notEmpty.wait(mutex, waitMs)) q[4]!++;
      if (q[3]! >= total) {
        mutex.unlock();
        return { sum, taken };
      }
      sum += q[q[0]! + 5]!;
      q[0] = (q[0]! + 1) % capacity;
      q[2]!--;
      taken++;
      if (++q[3]! === total) notEmpty.notifyAll(); // let the other consumers see the end
      notFull.notifyOne();
      mutex.unlock();
    }
  },

  /** Holds a semaphore's permits while checking that the permits in use never pass the limit. */
  permits(d) {
    const semaphore = Semaphore.attach(d.semaphore as SemaphoreHandle);
    const inUse = new Int32Array(d.inUse as SharedArrayBuffer); // [inUse, violations]
    const random = seededRandom(d.seed + d.index);
    Barrier.attach(d.start as BarrierHandle).arriveAndWait();
    for (let i = 0; i < d.iterations; i++) {
      const n = 1 + Math.floor(random() * d.maxTake);
      semaphore.acquire(n);
      if (Atomics.add(inUse, 0, n) + n > d.permits) Atomics.add(inUse, 1, 1);
      delayPoint(random, 0.5, 300);
      Atomics.sub(inUse, 0, n);
      semaphore.release(n);
    }
    return d.iterations;
  },

  /** Takes a lock (mutex, rwlock write/read, or semaphore permit), signals `held`, and keeps it until `release` opens. */
  hold(d) {
    const held = Latch.attach(d.held as LatchHandle);
    const release = Latch.attach(d.release as LatchHandle);
    if (d.mutex) {
      const m = Mutex.attach(d.mutex as MutexHandle);
      m.lock();
      held.countDown();
      release.wait();
      m.unlock();
    } else if (d.rwlock) {
      const rw = RwLock.attach(d.rwlock as RwLockHandle);
      if (d.read) rw.readLock();
      else rw.writeLock();
      held.countDown();
      release.wait();
      if (d.read) rw.readUnlock();
      else rw.writeUnlock();
    } else {
      const s = Semaphore.attach(d.semaphore as SemaphoreHandle);
      s.acquire(d.n ?? 1);
      held.countDown();
      release.wait();
      s.release(d.n ?? 1);
    }
    return 'released';
  },

  /** Blocking acquisition with a timeout: reports whether it got the lock (then releases it). Counts `ready` down just before trying. */
  tryFor(d) {
    if (d.ready) Latch.attach(d.ready as LatchHandle).countDown();
    if (d.mutex) {
      const m = Mutex.attach(d.mutex as MutexHandle);
      const got = m.lock(d.timeoutMs);
      if (got) m.unlock();
      return got;
    }
    if (d.rwlock) {
      const rw = RwLock.attach(d.rwlock as RwLockHandle);
      const got = d.read ? rw.readLock(d.timeoutMs) : rw.writeLock(d.timeoutMs);
      if (got) d.read ? rw.readUnlock() : rw.writeUnlock();
      return got;
    }
    if (d.latch) return Latch.attach(d.latch as LatchHandle).wait(d.timeoutMs);
    const s = Semaphore.attach(d.semaphore as SemaphoreHandle);
    const got = s.acquire(d.n ?? 1, d.timeoutMs);
    if (got) s.release(d.n ?? 1);
    return got;
  },

  /** Blocking barrier arrival with a timeout: reports what happened. */
  arrive(d) {
    const barrier = Barrier.attach(d.barrier as BarrierHandle);
    try {
      return { ok: true, ...barrier.arriveAndWait(d.timeoutMs) };
    } catch (error) {
      if (error instanceof SabreError) return { ok: false, code: error.code };
      throw error;
    }
  },

  /** Misuse from a worker (othersMutex/othersRwLock are held by another thread): each entry names an error code or 'none'. */
  misuse(d) {
    const mutex = Mutex.attach(d.mutex as MutexHandle);
    const rw = RwLock.attach(d.rwlock as RwLockHandle);
    const othersMutex = Mutex.attach(d.othersMutex as MutexHandle);
    const othersRwLock = RwLock.attach(d.othersRwLock as RwLockHandle);
    return {
      unlockOthersMutex: caught(() => othersMutex.unlock()),
      selfDeadlock: caught(() => {
        mutex.lock();
        try {
          mutex.lock();
        } finally {
          mutex.unlock();
        }
      }),
      writeUnlockOthers: caught(() => othersRwLock.writeUnlock()),
      readThenWrite: caught(() => {
        rw.readLock();
        try {
          rw.writeLock();
        } finally {
          rw.readUnlock();
        }
      }),
    };
  },
};

const data = workerData as Data;
const role = roles[data.role as string];
if (role === undefined) throw new Error(`unknown actor role ${String(data.role)}`);
parentPort!.postMessage(role(data));
