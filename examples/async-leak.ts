/**
 * Bug: an async withdrawal that takes a Mutex with `lockAsync()` and throws "insufficient funds"
 * before its `unlock()`. The lock stays held, and every later withdrawal, on any thread, awaits it
 * forever (`hang`).
 * Fix: release in `finally` (or use `withLockAsync`).
 */
import { type ActorContext, defineScenario } from 'sabre/stress';
import { Mutex } from 'sabre';

const ACCOUNT = 0;
const DECLINED = 1;

// 10 in the account, three withdrawals of 3 on each of two threads: three of them must be declined.
const state = () => ({ words: new Int32Array(new SharedArrayBuffer(8)).fill(10, ACCOUNT, ACCOUNT + 1), lock: Mutex.create() });
type Ctx = ActorContext<Record<never, number>, undefined, ReturnType<typeof state>, Record<string, never>>;

async function withdraw({ state }: Ctx, amount: number): Promise<void> {
  const { words, lock } = state;
  await lock.lockAsync();
  const balance = Atomics.load(words, ACCOUNT);
  if (balance < amount) throw new RangeError('insufficient funds'); // returns with the lock held
  Atomics.store(words, ACCOUNT, balance - amount);
  lock.unlock();
}

async function withdrawFixed({ state }: Ctx, amount: number): Promise<void> {
  const { words, lock } = state;
  await lock.lockAsync();
  try {
    const balance = Atomics.load(words, ACCOUNT);
    if (balance < amount) throw new RangeError('insufficient funds');
    Atomics.store(words, ACCOUNT, balance - amount);
  } finally {
    lock.unlock();
  }
}

function customer(attempt: (ctx: Ctx, amount: number) => Promise<void>) {
  return async (ctx: Ctx): Promise<void> => {
    for (let i = 0; i < 3; i++) {
      try {
        await attempt(ctx, 3);
      } catch {
        Atomics.add(ctx.state.words, DECLINED, 1);
      }
    }
  };
}

const arbiter = ({ state }: Ctx) => (Atomics.load(state.words, ACCOUNT) === 1 && Atomics.load(state.words, DECLINED) === 3 ? 'settled' : 'wrong-balance');
const outcomes = { settled: 'ACCEPTABLE', 'wrong-balance': 'FORBIDDEN' } as const;

export const asyncLeak = defineScenario({
  id: 'async-leak',
  title: 'an async lock not released when the withdrawal throws',
  state,
  actors: [customer(withdraw), customer(withdraw)],
  arbiter,
  outcomes,
});

export const asyncLeakFixed = defineScenario({
  id: 'async-leak-fixed',
  title: 'an async lock released in finally',
  state,
  actors: [customer(withdrawFixed), customer(withdrawFixed)],
  arbiter,
  outcomes,
});
