/**
 * Bug: bank transfers that lock the source account, then the destination. A transfer from A to B
 * and one from B to A each hold one lock and wait for the other: a `deadlock`.
 * Fix: always lock the two accounts in the same order (by account number), whatever the direction.
 */
import { type ActorContext, defineScenario } from 'sabre/stress';
import { Mutex } from 'sabre';

const TRANSFERS = 1_000;

const state = () => ({ balances: new Int32Array(new SharedArrayBuffer(8)).fill(1_000), locks: [Mutex.create(), Mutex.create()] });
type Ctx = ActorContext<Record<never, number>, undefined, ReturnType<typeof state>, Record<string, never>>;

function transfer({ state, point }: Ctx, from: number, to: number, amount: number): void {
  const { balances, locks } = state;
  locks[from]!.lock();
  point();
  locks[to]!.lock();
  balances[from]! -= amount;
  balances[to]! += amount;
  locks[to]!.unlock();
  locks[from]!.unlock();
}

function transferFixed({ state, point }: Ctx, from: number, to: number, amount: number): void {
  const { balances, locks } = state;
  const [first, second] = from < to ? [from, to] : [to, from];
  locks[first]!.lock();
  point();
  locks[second]!.lock();
  balances[from]! -= amount;
  balances[to]! += amount;
  locks[second]!.unlock();
  locks[first]!.unlock();
}

/** Actor 0 pays from account 0 to 1, actor 1 from 1 to 0. */
function payments(ctx: Ctx): void {
  for (let i = 0; i < TRANSFERS; i++) transfer(ctx, ctx.actor, 1 - ctx.actor, 1);
}

function paymentsFixed(ctx: Ctx): void {
  for (let i = 0; i < TRANSFERS; i++) transferFixed(ctx, ctx.actor, 1 - ctx.actor, 1);
}

const arbiter = ({ state }: Ctx) => (state.balances[0]! + state.balances[1]! === 2_000 ? 'balanced' : 'unbalanced');
const outcomes = { balanced: 'ACCEPTABLE', unbalanced: 'FORBIDDEN' } as const;

export const lockOrder = defineScenario({
  id: 'lock-order',
  title: 'transfers that lock the source account first',
  state,
  actors: [payments, payments],
  arbiter,
  outcomes,
});

export const lockOrderFixed = defineScenario({
  id: 'lock-order-fixed',
  title: 'transfers that lock the lower account number first',
  trialTimeoutMs: 5_000, // thousands of operations a trial: on a busy machine one may take seconds without being stuck
  state,
  actors: [paymentsFixed, paymentsFixed],
  arbiter,
  outcomes,
});
