/**
 * Audit I: a pure policy must agree across workers. The quota module maps (panic duration,
 * match importance) to a TTL tier. 10 workers each make 1,000 calls on the same seeded inputs;
 * their answers must be identical and equal to the tier table's, the thresholds unchanged after
 * use, and the policy must keep no state that grows with calls. Unsafe: an "adaptive" policy that
 * memoises every answer and nudges its thresholds as it is used (per thread, so workers drift
 * apart). Safe: a pure function of a frozen table.
 */
import { mixSeed, seededRandom } from '../random.js';
import { defineScenario } from '../scenario-spec.js';

type Importance = 'high' | 'medium' | 'low';

/** The audit's tier table: [from minutes, TTL seconds] steps per importance. */
export const TIER_TABLE: Readonly<Record<Importance, ReadonlyArray<readonly [number, number]>>> = Object.freeze({
  high: Object.freeze([
    [0, 0],
    [60, 5],
    [180, 30],
    [360, 60],
  ] as const),
  medium: Object.freeze([
    [0, 0],
    [30, 5],
    [90, 30],
    [180, 60],
  ] as const),
  low: Object.freeze([
    [0, 0],
    [15, 5],
    [45, 20],
    [90, 45],
  ] as const),
});

const IMPORTANCES: readonly Importance[] = ['high', 'medium', 'low'];

/** The pure policy: TTL seconds for a panic of `minutes` on a match of `importance`. */
export function ttlTier(minutes: number, importance: Importance): number {
  let ttl = 0;
  for (const [from, seconds] of TIER_TABLE[importance]) if (minutes >= from) ttl = seconds;
  return ttl;
}

/** The unsafe policy's per-thread state: a memo that grows with calls, and thresholds that drift. */
const adaptive = { memo: new Map<string, number>(), shift: 0 };

function adaptiveTtlTier(minutes: number, importance: Importance): number {
  const key = `${minutes}:${importance}`;
  const known = adaptive.memo.get(key);
  if (known !== undefined) return known;
  let ttl = 0;
  for (const [from, seconds] of TIER_TABLE[importance]) if (minutes >= from + adaptive.shift) ttl = seconds;
  adaptive.memo.set(key, ttl);
  adaptive.shift = adaptive.memo.size % 7 === 0 ? adaptive.shift + 1 : adaptive.shift; // "learns"
  return ttl;
}

/** A 32-bit digest of a sequence of answers. */
function digest(values: readonly number[]): number {
  return mixSeed(...values);
}

export const purePolicy = defineScenario({
  id: 'I',
  name: 'pure-policy',
  title: 'A pure TTL-tier policy agrees across 10 workers',
  audit: 'I',
  variants: { unsafe: 'an adaptive policy: memoises answers and nudges its thresholds', safe: 'a pure function of a frozen tier table' },
  params: { workers: 10, calls: 1_000 },
  actors: (p) => p.workers,
  trials: { full: 100_000, quick: 100 },
  shared: (p) => new SharedArrayBuffer(4 * (p.workers + 1)),
  actor(ctx) {
    const digests = new Int32Array(ctx.shared as SharedArrayBuffer);
    const random = seededRandom(mixSeed('inputs', ctx.trial)); // the same inputs in every worker
    const answers: number[] = [];
    const policy = ctx.variant === 'unsafe' ? adaptiveTtlTier : ttlTier;
    for (let i = 0; i < ctx.params.calls; i++) answers.push(policy(Math.floor(random() * 480), IMPORTANCES[Math.floor(random() * 3)]!));
    digests[ctx.actor] = digest(answers) | 0;
    if (ctx.variant === 'unsafe' && adaptive.memo.size > 0) Atomics.or(digests, ctx.params.workers, 1); // state kept between calls
  },
  arbiter(ctx) {
    const digests = new Int32Array(ctx.shared as SharedArrayBuffer);
    const random = seededRandom(mixSeed('inputs', ctx.trial));
    const expected: number[] = [];
    for (let i = 0; i < ctx.params.calls; i++) expected.push(ttlTier(Math.floor(random() * 480), IMPORTANCES[Math.floor(random() * 3)]!));
    const want = digest(expected) | 0;
    const disagreeing = Array.from(digests.subarray(0, ctx.params.workers)).filter((d) => d !== want).length;
    if (disagreeing > 0) return `${disagreeing} workers disagree with the tier table`;
    if (Atomics.load(digests, ctx.params.workers) !== 0) return 'the policy keeps state that grows with calls';
    if (ttlTier(60, 'high') !== 5 || ttlTier(59, 'high') !== 0 || ttlTier(90, 'low') !== 45) return 'thresholds changed after use';
    return 'identical, table-exact, stateless';
  },
  reset(ctx) {
    new Int32Array(ctx.shared as SharedArrayBuffer).fill(0);
  },
  outcomes: [
    { id: 'identical, table-exact, stateless', grade: 'ACCEPTABLE', description: "every worker gave the tier table's answers; no state kept" },
    { id: /workers disagree/, grade: 'FORBIDDEN', description: 'workers gave different answers for the same inputs' },
    { id: 'the policy keeps state that grows with calls', grade: 'FORBIDDEN', description: 'object growth: the policy remembers calls' },
    { id: 'thresholds changed after use', grade: 'FORBIDDEN', description: 'the thresholds moved' },
  ],
});
