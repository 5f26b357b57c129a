/**
 * Bug: a request/reply mailbox with a CondVar, where the worker that replies sets the reply and
 * notifies without holding the mutex. The client checks "no reply yet" under the mutex, and the
 * reply and its notify can land before the client is parked in `wait`: the notify wakes nobody
 * and the client sleeps forever (a lost wake-up: `hang`).
 * Fix: set the reply and notify while holding the mutex, so it cannot fall between the client's
 * check and its wait.
 */
import { type ActorContext, defineScenario } from 'sabre/stress';
import { CondVar, Mutex } from 'sabre';

const REQUEST = 0;
const REPLY = 1;
const ROUNDS = 50;

const state = () => ({ words: new Int32Array(new SharedArrayBuffer(8)), mutex: Mutex.create(), replied: CondVar.create() });
type Ctx = ActorContext<Record<never, number>, undefined, ReturnType<typeof state>, Record<string, never>>;

/** Sends requests one by one and sleeps on the condvar until each is answered. */
function client({ state, point }: Ctx): void {
  const { words, mutex, replied } = state;
  for (let request = 1; request <= ROUNDS; request++) {
    Atomics.store(words, REQUEST, request);
    mutex.lock();
    while (Atomics.load(words, REPLY) < request) {
      point(); // the reply may come right now
      replied.wait(mutex);
    }
    mutex.unlock();
  }
}

/** Polls for each request and answers it: sets the reply, then notifies, without the mutex. */
function server({ state, point }: Ctx): void {
  const { words, replied } = state;
  for (let request = 1; request <= ROUNDS; request++) {
    while (Atomics.load(words, REQUEST) < request) {
      // poll for the next request
    }
    point();
    Atomics.store(words, REPLY, request);
    replied.notifyAll();
  }
}

function serverFixed({ state, point }: Ctx): void {
  const { words, mutex, replied } = state;
  for (let request = 1; request <= ROUNDS; request++) {
    while (Atomics.load(words, REQUEST) < request) {
      // poll for the next request
    }
    point();
    mutex.lock();
    Atomics.store(words, REPLY, request);
    replied.notifyAll();
    mutex.unlock();
  }
}

const arbiter = ({ state }: Ctx) => (Atomics.load(state.words, REPLY) === ROUNDS ? 'all-answered' : 'unanswered');
const outcomes = { 'all-answered': 'ACCEPTABLE', unanswered: 'FORBIDDEN' } as const;

export const lostWakeup = defineScenario({
  id: 'lost-wakeup',
  title: 'a condvar notified without holding its mutex',
  state,
  actors: [client, server],
  arbiter,
  outcomes,
});

export const lostWakeupFixed = defineScenario({
  id: 'lost-wakeup-fixed',
  title: 'a condvar notified while holding its mutex',
  state,
  actors: [client, serverFixed],
  arbiter,
  outcomes,
});
