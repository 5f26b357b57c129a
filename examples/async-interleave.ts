/**
 * Bug: read-await-write on a shared object in one thread. Two async deposits into the same wallet
 * each read the balance, await something (a rate, a log write), then write back balance + amount:
 * when the awaits interleave, the second write overwrites the first deposit. No threads involved:
 * any `await` between a read and the write that depends on it is a place where another task runs.
 * Fix: do the awaits first, then read and write with no `await` in between.
 */
import { type ActorContext, defineScenario } from 'sabre/stress';

interface Wallet {
  balance: number;
}

const state = () => ({ wallet: { balance: 100 } as Wallet });
type Ctx = ActorContext<Record<never, number>, undefined, ReturnType<typeof state>, Record<string, never>>;

/** Stands for real I/O: the seeded scheduler picks which waiting task resumes next. */
const io = (ctx: Ctx): Promise<void> => ctx.scheduler.yield();

async function deposit(ctx: Ctx, amount: number): Promise<void> {
  const { wallet } = ctx.state;
  await io(ctx); // look up the account
  const balance = wallet.balance;
  await io(ctx); // write the audit log
  wallet.balance = balance + amount;
}

async function depositFixed(ctx: Ctx, amount: number): Promise<void> {
  const { wallet } = ctx.state;
  await io(ctx); // look up the account
  await io(ctx); // write the audit log
  wallet.balance += amount;
}

async function twoDeposits(ctx: Ctx): Promise<void> {
  await Promise.all([deposit(ctx, 10), deposit(ctx, 20)]);
}

async function twoDepositsFixed(ctx: Ctx): Promise<void> {
  await Promise.all([depositFixed(ctx, 10), depositFixed(ctx, 20)]);
}

const arbiter = ({ state }: Ctx) => (state.wallet.balance === 130 ? 'both-deposited' : 'lost-deposit');
const outcomes = {
  'both-deposited': 'ACCEPTABLE',
  'lost-deposit': { grade: 'FORBIDDEN', description: 'a deposit read the balance before the other wrote it, then overwrote it' },
} as const;

export const asyncInterleave = defineScenario({
  id: 'async-interleave',
  title: 'two async deposits that read, await, then write the balance',
  state,
  actors: [twoDeposits],
  arbiter,
  outcomes,
});

export const asyncInterleaveFixed = defineScenario({
  id: 'async-interleave-fixed',
  title: 'two async deposits that await first, then update the balance at once',
  state,
  actors: [twoDepositsFixed],
  arbiter,
  outcomes,
});
