/**
 * Bug: a lost wake-up on a CondVar. A client sends requests to a worker and sleeps on a condvar
 * until each reply is there, but it checks "no reply yet" before taking the mutex, then waits.
 * The reply and its notify can come between that check and the wait: the notify wakes nobody and
 * the client sleeps forever (`hang`), though the server does everything right (it replies and
 * notifies under the mutex).
 * Fix: check the condition while holding the mutex, in a loop around `wait` (the only safe shape:
 * a notifier holding the mutex cannot slip between that check and the wait).
 */
import { type ActorContext, defineScenario } from 'sabre/stress';
import { CondVar, Mutex } from 'sabre';

const REQUEST = 0;
const REPLY = 1;
const ANSWER = 2;
const ROUNDS = 200;

const state = () => ({ words: new Int32Array(new SharedArrayBuffer(12)), mutex: Mutex.create(), replied: CondVar.create() });
type Ctx = ActorContext<Record<never, number>, undefined, ReturnType<typeof state>, Record<string, never>>;

/** Sends requests one by one and sleeps on the condvar until each is answered. */
function client({ state, point }: Ctx): void {
  const { words, mutex, replied } = state;
  for (let request = 1; request <= ROUNDS; request++) {
    Atomics.store(words, REQUEST, request);
    Atomics.notify(words, REQUEST);
    if (Atomics.load(words, REPLY) < request) {
      point(); // the reply may come right now
      mutex.lock();
      replied.wait(mutex);
      mutex.unlock();
    }
  }
}

function clientFixed({ state, point }: Ctx): void {
  const { words, mutex, replied } = state;
  for (let request = 1; request <= ROUNDS; request++) {
    Atomics.store(words, REQUEST, request);
    Atomics.notify(words, REQUEST);
    point();
    mutex.lock();
    while (Atomics.load(words, REPLY) < request) replied.wait(mutex);
    mutex.unlock();
  }
}

/** Sleeps until each request comes and answers it: writes the answer, marks it replied and notifies, all holding the mutex. */
function server({ state, point }: Ctx): void {
  const { words, mutex, replied } = state;
  for (let request = 1; request <= ROUNDS; request++) {
    while (Atomics.load(words, REQUEST) < request) Atomics.wait(words, REQUEST, request - 1); // sleep until the next request
    mutex.lock();
    Atomics.store(words, ANSWER, request * 2);
    point();
    Atomics.store(words, REPLY, request);
    replied.notifyAll();
    mutex.unlock();
  }
}

const arbiter = ({ state }: Ctx) => (Atomics.load(state.words, REPLY) === ROUNDS ? 'all-answered' : 'unanswered');
const outcomes = { 'all-answered': 'ACCEPTABLE', unanswered: 'FORBIDDEN' } as const;

export const lostWakeup = defineScenario({
  id: 'lost-wakeup',
  title: 'a condvar waited on after checking the condition outside the mutex',
  state,
  actors: [client, server],
  arbiter,
  outcomes,
});

export const lostWakeupFixed = defineScenario({
  id: 'lost-wakeup-fixed',
  title: 'a condvar waited on in a loop that checks the condition under the mutex',
  trialTimeoutMs: 5_000, // 200 round trips a trial: on a busy machine one may take seconds without being stuck
  state,
  actors: [clientFixed, server],
  arbiter,
  outcomes,
});
