/**
 * A bench worker: plays one side of a two-thread handoff (or one thread alone), a batch of rounds
 * at a time, on command (bench/support/crew.ts).
 */
import { workerData } from 'node:worker_threads';
import { serveBatches } from './serve.js';
import { CondVar, type CondVarHandle, Mutex, type MutexHandle, Semaphore, type SemaphoreHandle } from '../../src/index.js';

interface Data {
  mode: 'bare' | 'condvar' | 'semaphore' | 'mutex-contended' | 'mutex-uncontended';
  index: 0 | 1;
  control: SharedArrayBuffer;
  flag: SharedArrayBuffer;
  mutex: MutexHandle;
  condvar: CondVarHandle;
  semaphores: [SemaphoreHandle, SemaphoreHandle];
}

const data = workerData as Data;
const flag = new Int32Array(data.flag);
const mutex = Mutex.attach(data.mutex);
const condvar = CondVar.attach(data.condvar);
const [mine, theirs] =
  data.index === 0
    ? [Semaphore.attach(data.semaphores[0]), Semaphore.attach(data.semaphores[1])]
    : [Semaphore.attach(data.semaphores[1]), Semaphore.attach(data.semaphores[0])];

/** Bare futex ping-pong: side 0 sets the flag to 1 and waits for 0; side 1 waits for 1 and sets 0. */
function bare(rounds: number): void {
  const [give, wait] = data.index === 0 ? [1, 0] : [0, 1];
  for (let r = 0; r < rounds; r++) {
    if (data.index === 0) {
      Atomics.store(flag, 0, give);
      Atomics.notify(flag, 0, 1);
      while (Atomics.load(flag, 0) !== wait) Atomics.wait(flag, 0, give);
    } else {
      while (Atomics.load(flag, 0) !== wait) Atomics.wait(flag, 0, 1 - wait);
      Atomics.store(flag, 0, give);
      Atomics.notify(flag, 0, 1);
    }
  }
}

/** Turn-taking under a Mutex with a CondVar: the textbook way one thread hands work to another. */
function viaCondVar(rounds: number): void {
  const me = data.index;
  for (let r = 0; r < rounds; r++) {
    mutex.lock();
    while (flag[1] !== me) condvar.wait(mutex);
    flag[1] = 1 - me;
    condvar.notifyOne();
    mutex.unlock();
  }
}

/** A pair of semaphores: each side releases the other's and acquires its own. */
function viaSemaphores(rounds: number): void {
  for (let r = 0; r < rounds; r++) {
    if (data.index === 0) {
      theirs.release();
      mine.acquire();
    } else {
      mine.acquire();
      theirs.release();
    }
  }
}

/** Both sides hammer one mutex around a tiny critical section. */
function contended(rounds: number): void {
  for (let r = 0; r < rounds; r++) {
    mutex.lock();
    flag[2] = flag[2]! + 1;
    mutex.unlock();
  }
}

/** One thread alone: the blocking lock() + unlock() fast path as a worker sees it. */
function uncontended(rounds: number): void {
  for (let r = 0; r < rounds; r++) {
    mutex.lock();
    mutex.unlock();
  }
}

const run = { bare, condvar: viaCondVar, semaphore: viaSemaphores, 'mutex-contended': contended, 'mutex-uncontended': uncontended }[data.mode];
serveBatches(data.control, run);
