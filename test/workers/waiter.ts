/**
 * A waiter for the dead-waiter tests: parks on one primitive (the form named in workerData),
 * reports whether it got through, releases what it took and ends. Every wait has a timeout, so a
 * stranded waiter ends too: as `{ through: false }`, which is what the tests look for.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Barrier, CondVar, Latch, Mutex, RwLock, Semaphore } from '../../src/index.js';
import { setParkSliceForTesting } from '../../src/shared/wait.js';

type Data = Record<string, any>;

const forms: Record<string, (d: Data) => boolean | Promise<boolean>> = {
  mutex(d) {
    const mutex = Mutex.attach(d.handle);
    if (!mutex.lock(d.timeoutMs)) return false;
    mutex.unlock();
    return true;
  },
  write(d) {
    const lock = RwLock.attach(d.handle);
    if (!lock.writeLock(d.timeoutMs)) return false;
    lock.writeUnlock();
    return true;
  },
  read(d) {
    const lock = RwLock.attach(d.handle);
    if (!lock.readLock(d.timeoutMs)) return false;
    lock.readUnlock();
    return true;
  },
  semaphore(d) {
    const semaphore = Semaphore.attach(d.handle);
    if (!semaphore.acquire(1, d.timeoutMs)) return false;
    semaphore.release(1);
    return true;
  },
  condvar(d) {
    const mutex = Mutex.attach(d.mutex);
    const cv = CondVar.attach(d.handle);
    const flag = new Int32Array(d.flag as SharedArrayBuffer);
    mutex.lock();
    try {
      // The predicate loop every condvar user writes; a stranded waiter runs out of time here.
      const deadline = performance.now() + d.timeoutMs;
      while (Atomics.load(flag, 0) === 0) {
        const left = deadline - performance.now();
        if (left <= 0 || !cv.wait(mutex, left)) return false; // never woken: stranded
      }
      return true;
    } finally {
      mutex.unlock();
    }
  },
  latch(d) {
    return Latch.attach(d.handle).wait(d.timeoutMs);
  },
  barrier(d) {
    try {
      Barrier.attach(d.handle).arriveAndWait(d.timeoutMs);
      return true;
    } catch {
      return false;
    }
  },
  /** Issue: abort lockAsync, then block on the same mutex in this thread (its abandoned async waiter may take the wake-up). */
  async abortThenBlock(d) {
    const mutex = Mutex.attach(d.handle);
    const controller = new AbortController();
    const pending = mutex.lockAsync({ signal: controller.signal }).catch(() => 'aborted');
    controller.abort();
    await pending;
    if (!mutex.lock(d.timeoutMs)) return false;
    mutex.unlock();
    return true;
  },
};

const d = workerData as Data;
// The waiter armed to die when woken parks in one long slice: it never re-parks, so it stays at
// the head of the futex queue and a wake-one is sure to pick it (dead-waiters.test.ts).
if (typeof d.parkSliceMs === 'number') setParkSliceForTesting(d.parkSliceMs);
const form = forms[d.form];
if (form === undefined) throw new Error(`no waiter form ${String(d.form)}`);
parentPort!.postMessage('parking'); // the test lets it reach its park before it releases
const through = await form(d);
parentPort!.postMessage({ through });
