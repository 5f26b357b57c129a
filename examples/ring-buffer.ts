/**
 * Bug: a single-producer single-consumer ring buffer in a SharedArrayBuffer whose producer
 * publishes the new tail index before it writes the item. The consumer sees the index move and
 * reads a slot that still holds the item of the previous lap (or nothing).
 * Fix: write the item first, then publish the tail with `Atomics.store` (the consumer's
 * `Atomics.load` of the tail then sees the item too).
 */
import { type ActorContext, defineScenario } from 'sabre/stress';

const CAPACITY = 4;
const HEAD = 0; // next slot to read (consumer)
const TAIL = 1; // next slot to write (producer)
const BAD = 2; // items the consumer found wrong
const SLOTS = 3;
const ITEMS = 500;

const state = () => ({ ring: new Int32Array(new SharedArrayBuffer(4 * (SLOTS + CAPACITY))) });
type Ctx = ActorContext<Record<never, number>, undefined, ReturnType<typeof state>, Record<string, never>>;

function waitForRoom(ring: Int32Array, tail: number): void {
  for (let head = Atomics.load(ring, HEAD); tail - head === CAPACITY; head = Atomics.load(ring, HEAD)) Atomics.wait(ring, HEAD, head);
}

function producer({ state, point }: Ctx): void {
  const { ring } = state;
  for (let item = 1; item <= ITEMS; item++) {
    const tail = Atomics.load(ring, TAIL);
    waitForRoom(ring, tail);
    Atomics.store(ring, TAIL, tail + 1); // publishes the slot...
    Atomics.notify(ring, TAIL);
    point();
    ring[SLOTS + (tail % CAPACITY)] = item; // ...before the item is in it
  }
}

function producerFixed({ state, point }: Ctx): void {
  const { ring } = state;
  for (let item = 1; item <= ITEMS; item++) {
    const tail = Atomics.load(ring, TAIL);
    waitForRoom(ring, tail);
    ring[SLOTS + (tail % CAPACITY)] = item;
    point();
    Atomics.store(ring, TAIL, tail + 1);
    Atomics.notify(ring, TAIL);
  }
}

function consumer({ state, point }: Ctx): void {
  const { ring } = state;
  for (let expected = 1; expected <= ITEMS; expected++) {
    const head = Atomics.load(ring, HEAD);
    while (Atomics.load(ring, TAIL) === head) Atomics.wait(ring, TAIL, head); // empty: sleep until the tail moves
    point();
    const item = ring[SLOTS + (head % CAPACITY)];
    if (item !== expected) Atomics.add(ring, BAD, 1);
    Atomics.store(ring, HEAD, head + 1);
    Atomics.notify(ring, HEAD);
  }
}

const arbiter = ({ state }: Ctx) => (Atomics.load(state.ring, BAD) === 0 ? 'in-order' : 'stale-item');
const outcomes = {
  'in-order': 'ACCEPTABLE',
  'stale-item': { grade: 'FORBIDDEN', description: 'the consumer read a slot before the producer wrote its item' },
} as const;

export const ringBuffer = defineScenario({
  id: 'ring-buffer',
  title: 'an SPSC ring buffer that publishes the tail before the item',
  trialTimeoutMs: 5_000, // thousands of operations a trial: on a busy machine one may take seconds without being stuck
  state,
  actors: [producer, consumer],
  arbiter,
  outcomes,
});

export const ringBufferFixed = defineScenario({
  id: 'ring-buffer-fixed',
  title: 'an SPSC ring buffer that writes the item, then publishes the tail',
  trialTimeoutMs: 5_000, // thousands of operations a trial: on a busy machine one may take seconds without being stuck
  state,
  actors: [producerFixed, consumer],
  arbiter,
  outcomes,
});
