/**
 * Model-based tests of SharedCache's single-thread semantics: random command sequences run on a
 * real cache (main thread, ManualClock) and on a plain sequential model (test/support/cache-model.ts)
 * side by side. After every command the test compares the result (or the error), the full
 * `entries()` and `size`, and, in the properties that say so, the counters of `stats()` and the
 * invariant `size === inserts - removals`. A command that throws must leave the buffer byte for
 * byte as it was. Expired entries leave lazily, so `size` is checked to lie between the live
 * entries and the live ones plus the expired ones no write has replaced yet; the invariant then
 * pins it exactly against the counters.
 *
 * The cache is sized so that nothing is ever evicted for capacity or bytes: the model needs no
 * eviction policy. Keys come from a per-run pool of 8 so that commands collide.
 *
 * Deterministic by default (a fixed seed). FC_SEED, FC_RUNS (runs per property) and FC_PATH
 * (with the seed, replays a reported counterexample) override it:
 *   FC_SEED=123 FC_RUNS=1000 npx vitest run test/cache-model.test.ts
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { ManualClock, SabreError, SharedCache } from '../src/index.js';
import { CacheModel, type Key, type ModelEntry, type Outcome, THIS, canonicalKey, sameValue } from './support/cache-model.js';
import { snapshot } from './support/threads.js';

const SEED = process.env.FC_SEED === undefined ? 20_240_917 : Number(process.env.FC_SEED);
const RUNS = process.env.FC_RUNS === undefined ? 100 : Number(process.env.FC_RUNS);
const PATH = process.env.FC_PATH;
/**
 * FC_EXCLUDE=tag,tag leaves out a known discrepancy to look for further ones (never set in CI):
 * surrogates, expire-no-ttl, option-shape, unknown-options, delta-range, stats-sets,
 * stats-deletes, stats-inserts, mixed-delta (random commands); the fixed examples go by the
 * tags in EXAMPLES.
 */
const EXCLUDE = new Set((process.env.FC_EXCLUDE ?? '').split(',').filter((tag) => tag !== ''));
const keep = <T>(tag: string, items: readonly T[]): readonly T[] => (EXCLUDE.has(tag) ? [] : items);

const POOL = 8;
const MAX_KEY_BYTES = 512; // pool keys are at most 80 units of up to 4 UTF-8 bytes
const MAX_VALUE_BYTES = 4_096;
const START_MS = 1_000;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

// ---- arbitraries ---------------------------------------------------------------------------------

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const bmpNonAscii = fc
  .integer({ min: 0x80, max: 0xfffd })
  .filter((c) => c < 0xd800 || c > 0xdfff)
  .map((c) => String.fromCharCode(c));
const astral = fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c));

/** Code units of strings: ASCII, BMP, astral pairs, and (if `surrogates`) lone surrogates. */
function unitOf(surrogates: boolean): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('a', 'b', '1', ' ', '\0') },
    { weight: 2, arbitrary: bmpNonAscii },
    { weight: 1, arbitrary: astral },
    { weight: 1, arbitrary: fc.constant('\uFFFD') },
    { weight: surrogates ? 2 : 0, arbitrary: loneSurrogate },
  );
}

function nonAsciiUnitOf(surrogates: boolean): fc.Arbitrary<string> {
  return fc.oneof({ weight: 3, arbitrary: bmpNonAscii }, { weight: 1, arbitrary: astral }, { weight: surrogates ? 1 : 0, arbitrary: loneSurrogate });
}

const SURROGATE_STRINGS = ['\uD800', '\uDFFF', 'a\uD800b', '\uDC00\uD800', '\uDE00\uD83D'];
const PLAIN_STRINGS = ['', '\uFFFD', 'a', '1', '0', '-0', 'é', '\uD83D\uDE00', 'NaN'];
const NUMBER_KEYS = [0, -0, 1, -1, 1.5, Infinity, -Infinity, Number.MAX_SAFE_INTEGER, 2 ** 53, 5e-324, -Number.MAX_VALUE];

function stringArb(surrogates: boolean): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...PLAIN_STRINGS, ...(surrogates ? SURROGATE_STRINGS : [])) },
    { weight: 2, arbitrary: fc.string({ unit: unitOf(surrogates), maxLength: 6 }) },
    // Longer than 64 code units and not ASCII: the TextEncoder/TextDecoder path of the codec.
    { weight: 1, arbitrary: fc.string({ unit: nonAsciiUnitOf(surrogates), minLength: 65, maxLength: 80 }) },
  );
}

function keyArb(surrogates: boolean): fc.Arbitrary<Key> {
  return fc.oneof(
    { weight: 3, arbitrary: stringArb(surrogates) },
    { weight: 2, arbitrary: fc.constantFrom(...NUMBER_KEYS) },
    { weight: 1, arbitrary: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.double({ noNaN: true })) },
  );
}

const numberValue = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -3, max: 3 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      0,
      -0,
      NaN,
      Infinity,
      -Infinity,
      1.5,
      -2.5,
      Number.MAX_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER - 1,
      Number.MIN_SAFE_INTEGER,
      2 ** 53,
    ),
  },
  { weight: 1, arbitrary: fc.double() },
);

const bigintValue = fc.oneof(
  { weight: 3, arbitrary: fc.bigInt({ min: -3n, max: 3n }) },
  { weight: 2, arbitrary: fc.constantFrom(INT64_MAX, INT64_MIN, INT64_MAX - 1n, INT64_MIN + 1n, INT64_MAX + 1n, INT64_MIN - 1n, 2n ** 64n, -(2n ** 100n)) },
  { weight: 1, arbitrary: fc.bigInt() },
);

function valueArb(surrogates: boolean): fc.Arbitrary<unknown> {
  const leaf = fc.oneof(stringArb(surrogates), numberValue, bigintValue, fc.boolean(), fc.constant(null));
  const objectKey = fc.constantFrom('a', 'b', 'c', 'é', '', ...(surrogates ? ['\uD800'] : []));
  const shallow = fc.oneof(fc.array(leaf, { maxLength: 4 }), fc.dictionary(objectKey, leaf, { maxKeys: 3, noNullPrototype: true }));
  const nested = fc.oneof(
    fc.array(fc.oneof(leaf, shallow), { maxLength: 3 }),
    fc.dictionary(objectKey, fc.oneof(leaf, shallow), { maxKeys: 3, noNullPrototype: true }),
  );
  return fc.oneof(
    { weight: 3, arbitrary: stringArb(surrogates) },
    { weight: 3, arbitrary: numberValue },
    { weight: 2, arbitrary: bigintValue },
    { weight: 1, arbitrary: fc.boolean() },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }) },
    // A Buffer comes back as a Buffer, and is a different value from a Uint8Array of the same bytes.
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 2, arbitrary: fc.oneof(shallow, nested) },
  );
}

// Bad arguments: every one must throw InvalidArgumentError (and change nothing).
const BAD_KEYS: readonly unknown[] = [NaN, {}, ['a'], null, undefined, true, 1n, Symbol('k'), 'k'.repeat(MAX_KEY_BYTES + 1), 'é'.repeat(MAX_KEY_BYTES / 2 + 1)];
const BAD_VALUES: readonly unknown[] = [undefined, () => 1, Symbol('v'), { f: () => 1 }, 'x'.repeat(MAX_VALUE_BYTES + 1)];
const BAD_TTLS: readonly unknown[] = [0, -1, -Infinity, NaN, null, '5', 5n];
const BAD_OPTIONS: readonly unknown[] = [
  ...keep('option-shape', [5, null, 'ttlMs', [10]]),
  ...keep('unknown-options', [{ ttl: 5 }, { ttlMS: 5 }]),
  ...BAD_TTLS.map((ttlMs) => ({ ttlMs })),
];
const BAD_DELTAS: readonly unknown[] = [1.5, NaN, Infinity, 2 ** 53, '1', null, true, ...keep('delta-range', [2n ** 64n, INT64_MAX + 1n, INT64_MIN - 1n])];

// ---- commands --------------------------------------------------------------------------------------

/** A key: an index into the run's pool, or a bad key. */
type KeyRef = number | { readonly bad: unknown };
/** An optional argument: left out, or given (possibly as undefined). */
type Arg = { readonly given: false } | { readonly given: true; readonly value: unknown };
type Expected = { readonly kind: 'current' } | { readonly kind: 'readback' } | { readonly kind: 'value'; readonly value: unknown };

type Command =
  | { readonly op: 'get' | 'peek' | 'has' | 'delete' | 'ttl'; readonly key: KeyRef }
  | { readonly op: 'set' | 'setIfAbsent'; readonly key: KeyRef; readonly value: unknown; readonly options: Arg }
  | { readonly op: 'compareAndSet'; readonly key: KeyRef; readonly expected: Expected; readonly next: unknown; readonly options: Arg }
  | { readonly op: 'compareAndDelete'; readonly key: KeyRef; readonly expected: Expected }
  | { readonly op: 'increment'; readonly key: KeyRef; readonly delta: Arg }
  | { readonly op: 'expire'; readonly key: KeyRef; readonly ttlMs: Arg }
  | { readonly op: 'clear' | 'size' | 'entries' | 'keys' }
  | { readonly op: 'advance'; readonly ms: number };

interface Features {
  /** Lone surrogates in string keys and values. */
  readonly surrogates: boolean;
  readonly ttl: boolean;
  readonly conditional: boolean;
  readonly counters: boolean;
  /** Calls that must throw InvalidArgumentError. */
  readonly bad: boolean;
  /** Compare stats() with the model and check size === inserts - removals. */
  readonly stats: boolean;
}

const given = (value: unknown): Arg => ({ given: true, value });
const NOT_GIVEN: Arg = { given: false };
const poolKey = fc.nat({ max: POOL - 1 });

const goodTtl = fc.oneof(fc.integer({ min: 1, max: 30 }), fc.constantFrom(0.5, 1.5, 100, Infinity));
const advanceMs = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 12 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 1, 50) });

function goodOptions(ttl: boolean): fc.Arbitrary<Arg> {
  const plain = fc.constantFrom(NOT_GIVEN, given(undefined), given({}), given({ ttlMs: undefined }));
  return ttl
    ? fc.oneof(
        plain,
        goodTtl.map((ttlMs) => given({ ttlMs })),
      )
    : fc.oneof(plain, fc.constant(given({ ttlMs: Infinity })));
}

const goodDelta: fc.Arbitrary<Arg> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(NOT_GIVEN) },
  { weight: 3, arbitrary: fc.integer({ min: -3, max: 3 }).map(given) },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 52, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER).map(given) },
  { weight: 2, arbitrary: fc.bigInt({ min: -3n, max: 3n }).map(given) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...keep('mixed-delta', [2n ** 62n, INT64_MAX, INT64_MIN, BigInt(Number.MAX_SAFE_INTEGER) + 1n]), 2n ** 40n).map(given),
  },
);

/** Values that make counters interesting: integers near the limits, and a few non-integers. */
const counterValue = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(-0, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 2, 1.5, NaN, '1', true, null, [1]),
  fc.bigInt({ min: -3n, max: 3n }),
  fc.constantFrom(INT64_MAX, INT64_MIN, INT64_MAX - 2n, INT64_MAX + 1n, 2n ** 64n),
);

function commandArb(f: Features): fc.Arbitrary<Command> {
  const value = f.counters ? fc.oneof({ weight: 2, arbitrary: valueArb(f.surrogates) }, { weight: 1, arbitrary: counterValue }) : valueArb(f.surrogates);
  const options = goodOptions(f.ttl);
  const expected: fc.Arbitrary<Expected> = fc.oneof(
    { weight: 2, arbitrary: fc.constant({ kind: 'current' as const }) },
    { weight: 2, arbitrary: fc.constant({ kind: 'readback' as const }) },
    { weight: 1, arbitrary: value.map((v) => ({ kind: 'value' as const, value: v })) },
  );
  type W = { weight: number; arbitrary: fc.Arbitrary<Command> };
  const w = (weight: number, arbitrary: fc.Arbitrary<Command>): W => ({ weight, arbitrary });
  const keyOnly = (op: 'get' | 'peek' | 'has' | 'delete' | 'ttl', key: fc.Arbitrary<KeyRef> = poolKey) => key.map((k): Command => ({ op, key: k }));
  const cmds: W[] = [
    w(6, fc.record({ op: fc.constant('set' as const), key: poolKey, value, options })),
    w(3, keyOnly('get')),
    w(2, keyOnly('peek')),
    w(2, keyOnly('has')),
    w(2, keyOnly('delete')),
    w(1, fc.constantFrom<Command>({ op: 'size' }, { op: 'entries' }, { op: 'keys' })),
    w(1, fc.constant<Command>({ op: 'clear' })),
  ];
  if (f.ttl) {
    cmds.push(
      w(
        3,
        advanceMs.map((ms): Command => ({ op: 'advance', ms })),
      ),
      w(2, keyOnly('ttl')),
      w(2, fc.record({ op: fc.constant('expire' as const), key: poolKey, ttlMs: goodTtl.map(given) })),
    );
  }
  if (f.conditional) {
    cmds.push(
      w(3, fc.record({ op: fc.constant('setIfAbsent' as const), key: poolKey, value, options })),
      w(4, fc.record({ op: fc.constant('compareAndSet' as const), key: poolKey, expected, next: value, options })),
      w(2, fc.record({ op: fc.constant('compareAndDelete' as const), key: poolKey, expected })),
    );
  }
  if (f.counters) cmds.push(w(5, fc.record({ op: fc.constant('increment' as const), key: poolKey, delta: goodDelta })));
  if (f.bad) cmds.push(w(6, badCommandArb(f)));
  return fc.oneof(...cmds);
}

/** Calls that must throw InvalidArgumentError: one bad argument each, the rest good. */
function badCommandArb(f: Features): fc.Arbitrary<Command> {
  const badKey = fc.constantFrom(...BAD_KEYS).map((bad): KeyRef => ({ bad }));
  const value = valueArb(f.surrogates);
  const badValue = fc.constantFrom(...BAD_VALUES);
  const badOptions = fc.constantFrom(...BAD_OPTIONS).map(given);
  const options = goodOptions(true);
  return fc.oneof(
    badKey.chain((key) =>
      fc.constantFrom<Command>(
        { op: 'get', key },
        { op: 'peek', key },
        { op: 'has', key },
        { op: 'delete', key },
        { op: 'ttl', key },
        { op: 'set', key, value: 1, options: NOT_GIVEN },
        { op: 'setIfAbsent', key, value: 1, options: NOT_GIVEN },
        { op: 'compareAndSet', key, expected: { kind: 'value', value: 1 }, next: 2, options: NOT_GIVEN },
        { op: 'compareAndDelete', key, expected: { kind: 'value', value: 1 } },
        { op: 'increment', key, delta: NOT_GIVEN },
        { op: 'expire', key, ttlMs: given(10) },
      ),
    ),
    fc.record({ op: fc.constantFrom('set' as const, 'setIfAbsent' as const), key: poolKey, value: badValue, options }),
    fc.record({ op: fc.constantFrom('set' as const, 'setIfAbsent' as const), key: poolKey, value, options: badOptions }),
    fc.record({
      op: fc.constant('compareAndSet' as const),
      key: poolKey,
      expected: badValue.map((v): Expected => ({ kind: 'value', value: v })),
      next: value,
      options,
    }),
    fc.record({ op: fc.constant('compareAndSet' as const), key: poolKey, expected: fc.constant<Expected>({ kind: 'current' }), next: badValue, options }),
    fc.record({
      op: fc.constant('compareAndSet' as const),
      key: poolKey,
      expected: fc.constant<Expected>({ kind: 'current' }),
      next: value,
      options: badOptions,
    }),
    fc.record({ op: fc.constant('compareAndDelete' as const), key: poolKey, expected: badValue.map((v): Expected => ({ kind: 'value', value: v })) }),
    fc.record({
      op: fc.constant('expire' as const),
      key: poolKey,
      ttlMs: fc.oneof(...keep('expire-no-ttl', [fc.constant(NOT_GIVEN), fc.constant(given(undefined))]), fc.constantFrom(...BAD_TTLS).map(given)),
    }),
    fc.record({ op: fc.constant('increment' as const), key: poolKey, delta: fc.constantFrom(...BAD_DELTAS).map(given) }),
  );
}

interface Scenario {
  /** The cache's default ttlMs (undefined: the option is left out). */
  readonly defaultTtl: number | undefined;
  readonly pool: readonly Key[];
  readonly commands: readonly Command[];
}

function scenarioArb(f: Features): fc.Arbitrary<Scenario> {
  return fc.record({
    defaultTtl: f.ttl ? fc.constantFrom(undefined, Infinity, 10, 25) : fc.constant(undefined),
    pool: fc.array(keyArb(f.surrogates), { minLength: POOL, maxLength: POOL }),
    commands: fc.array(commandArb(f), { maxLength: 60, size: 'max' }),
  });
}

// ---- running a scenario ----------------------------------------------------------------------------

/** The cache's methods with arguments of any type (bad calls pass anything). */
interface LooseCache {
  get(...args: unknown[]): unknown;
  peek(...args: unknown[]): unknown;
  has(...args: unknown[]): unknown;
  delete(...args: unknown[]): unknown;
  ttl(...args: unknown[]): unknown;
  set(...args: unknown[]): unknown;
  setIfAbsent(...args: unknown[]): unknown;
  compareAndSet(...args: unknown[]): unknown;
  compareAndDelete(...args: unknown[]): unknown;
  increment(...args: unknown[]): unknown;
  expire(...args: unknown[]): unknown;
}

type Actual = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly thrown: unknown };

const show = (value: unknown): string => fc.stringify(value);

/** Arguments after the fixed ones: an optional argument that was left out is not passed at all. */
const tail = (arg: Arg): unknown[] => (arg.given ? [arg.value] : []);

/**
 * The entries of the cache by canonical key, failing on a key yielded twice (0 and -0 are one key).
 */
function entriesOf(cache: SharedCache): Map<string, [Key, unknown]> {
  const seen = new Map<string, [Key, unknown]>();
  for (const [key, value] of cache.entries()) {
    const canon = canonicalKey(key);
    if (seen.has(canon)) throw new Error(`entries() yielded key ${show(key)} twice`);
    seen.set(canon, [key, value]);
  }
  return seen;
}

function sameEntries(actual: Map<string, [Key, unknown]>, model: Map<string, ModelEntry>): string | undefined {
  for (const [canon, entry] of model) {
    const got = actual.get(canon);
    if (got === undefined) return `entries() misses key ${show(entry.key)} (model value ${show(entry.value)})`;
    if (!Object.is(got[0], entry.key)) return `entries() gives key ${show(got[0])}, model ${show(entry.key)}`;
    if (!sameValue(got[1], entry.value)) return `entries() gives ${show(got[0])} => ${show(got[1])}, model ${show(entry.value)}`;
  }
  for (const [canon, [key, value]] of actual) if (!model.has(canon)) return `entries() has key ${show(key)} => ${show(value)}, which the model has not`;
  return undefined;
}

function sameKeys(actual: readonly Key[], model: Map<string, ModelEntry>): string | undefined {
  const canon = actual.map(canonicalKey);
  if (new Set(canon).size !== canon.length) return `keys() repeats a key: ${show(actual)}`;
  const want = [...model.keys()];
  if (canon.length !== want.length || !want.every((k) => canon.includes(k)))
    return `keys() gives ${show(actual)}, model ${show([...model.values()].map((e) => e.key))}`;
  return undefined;
}

/** Stats fields this test reads that CacheStats may not have yet (added by the fixes landing now). */
interface NewStats {
  readonly inserts?: unknown;
  readonly abandonedFlights?: unknown;
}

function checkStats(cache: SharedCache, model: CacheModel): string | undefined {
  const s = cache.stats();
  const n = s as unknown as NewStats & Record<string, unknown>;
  const m = model.stats;
  for (const name of ['hits', 'misses', ...keep('stats-sets', ['sets'] as const)] as const) {
    if (s[name] !== m[name]) return `stats().${name} is ${s[name]}, model ${m[name]}`;
  }
  // A successful delete or compareAndDelete counts; clear() may count its entries here too.
  if (!EXCLUDE.has('stats-deletes') && (s.deletes < m.deletes || s.deletes > m.deletes + m.clearedMax)) {
    return `stats().deletes is ${s.deletes}, model ${m.deletes} (+ up to ${m.clearedMax} removed by clear())`;
  }
  for (const reason of ['capacity', 'bytes', 'burst', 'memory', 'recovery'] as const) {
    if (s.evictions[reason] !== 0) return `stats().evictions.${reason} is ${s.evictions[reason]}; nothing should be evicted for that here`;
  }
  if (EXCLUDE.has('stats-inserts')) return undefined;
  if (typeof n.inserts !== 'number') return `stats().inserts is ${show(n.inserts)}: no such counter`;
  if (n.inserts < m.insertsMin || n.inserts > m.insertsMax) return `stats().inserts is ${n.inserts}, model between ${m.insertsMin} and ${m.insertsMax}`;
  if (typeof n.abandonedFlights !== 'number') return `stats().abandonedFlights is ${show(n.abandonedFlights)}: no such counter`;
  if (n.abandonedFlights !== 0) return `stats().abandonedFlights is ${n.abandonedFlights} with no getOrCompute`;
  // Whatever counts clear()'s removals (undecided: deletes, or a field of its own) is a removal.
  const clearFields = Object.keys(n).filter((name) => /clear/i.test(name) && typeof n[name] === 'number');
  const evictions = Object.values(s.evictions).reduce((a, b) => a + b, 0);
  const removals = s.deletes + evictions + n.abandonedFlights + clearFields.reduce((a, name) => a + (n[name] as number), 0);
  if (cache.size !== n.inserts - removals) {
    return `size ${cache.size} !== inserts ${n.inserts} - removals ${removals} (deletes ${s.deletes}, evictions ${show(s.evictions)}, abandonedFlights ${n.abandonedFlights}${clearFields.map((f) => `, ${f} ${show(n[f])}`).join('')})`;
  }
  if (s.size !== cache.size) return `stats().size ${s.size} !== size ${cache.size}`;
  return undefined;
}

function runScenario(scenario: Scenario, f: Features): void {
  const clock = ManualClock.create(START_MS);
  const cache = SharedCache.create({
    maxEntries: 64,
    maxBytes: 1 << 16,
    maxKeyBytes: MAX_KEY_BYTES,
    maxValueBytes: MAX_VALUE_BYTES,
    clock,
    ...(scenario.defaultTtl === undefined ? {} : { ttlMs: scenario.defaultTtl }),
  });
  const model = new CacheModel({ ttlMs: scenario.defaultTtl ?? Infinity, maxKeyBytes: MAX_KEY_BYTES, maxValueBytes: MAX_VALUE_BYTES }, START_MS);
  const loose = cache as unknown as LooseCache;
  const { pool } = scenario;
  const keyOf = (ref: KeyRef): unknown => (typeof ref === 'number' ? pool[ref] : ref.bad);

  scenario.commands.forEach((cmd, index) => {
    const fail = (why: string): never => {
      throw new Error(`command #${index} ${show(cmd)} on key ${'key' in cmd ? show(keyOf(cmd.key)) : '-'} at t=${model.now - START_MS}: ${why}`);
    };
    // Resolve compareAndSet / compareAndDelete's `expected` before either side runs.
    const expectedOf = (e: Expected, key: unknown): unknown => {
      if (e.kind === 'value') return e.value;
      if (e.kind === 'current') {
        // The value the model holds: the very object that was written.
        const current = model.run(() => model.peek(key));
        return current.ok && current.value !== undefined ? current.value : '<absent>';
      }
      return cache.peek(key as Key); // what the cache gives back: must compare equal to what it holds
    };
    const key = 'key' in cmd ? keyOf(cmd.key) : undefined;
    let want: Outcome;
    let call: () => unknown;
    switch (cmd.op) {
      case 'get':
      case 'peek':
      case 'has':
      case 'delete':
      case 'ttl': {
        const op = cmd.op;
        want = model.run(() => model[op](key));
        call = () => loose[op](key);
        break;
      }
      case 'set':
      case 'setIfAbsent': {
        const op = cmd.op;
        want = model.run(() => model[op](key, cmd.value, cmd.options.given ? cmd.options.value : undefined, cmd.options.given));
        call = () => loose[op](key, cmd.value, ...tail(cmd.options));
        break;
      }
      case 'compareAndSet': {
        const expected = expectedOf(cmd.expected, key);
        want = model.run(() => model.compareAndSet(key, expected, cmd.next, cmd.options.given ? cmd.options.value : undefined, cmd.options.given));
        call = () => loose.compareAndSet(key, expected, cmd.next, ...tail(cmd.options));
        break;
      }
      case 'compareAndDelete': {
        const expected = expectedOf(cmd.expected, key);
        want = model.run(() => model.compareAndDelete(key, expected));
        call = () => loose.compareAndDelete(key, expected);
        break;
      }
      case 'increment':
        // An explicit undefined is the default delta, as for any JS default parameter.
        want = model.run(() => model.increment(key, cmd.delta.given ? cmd.delta.value : undefined, cmd.delta.given && cmd.delta.value !== undefined));
        call = () => loose.increment(key, ...tail(cmd.delta));
        break;
      case 'expire':
        want = model.run(() => model.expire(key, cmd.ttlMs.given ? cmd.ttlMs.value : undefined, cmd.ttlMs.given));
        call = () => loose.expire(key, ...tail(cmd.ttlMs));
        break;
      case 'clear':
        want = model.run(() => model.clear());
        call = () => cache.clear();
        break;
      case 'advance':
        want = model.run(() => model.advance(cmd.ms));
        call = () => clock.advance(cmd.ms);
        break;
      case 'size':
        want = { ok: true, value: undefined };
        call = () => {
          const { min, max } = model.sizeBounds();
          if (cache.size < min || cache.size > max) fail(`size is ${cache.size}, model between ${min} and ${max}`);
        };
        break;
      case 'entries':
        want = { ok: true, value: undefined };
        call = () => {
          const problem = sameEntries(entriesOf(cache), model.liveEntries());
          if (problem !== undefined) fail(problem);
        };
        break;
      case 'keys':
        want = { ok: true, value: undefined };
        call = () => {
          const problem = sameKeys([...cache.keys()], model.liveEntries());
          if (problem !== undefined) fail(problem);
        };
        break;
    }

    // Every command that may throw is compared byte for byte (a throw must change nothing).
    const guarded = !want.ok || cmd.op === 'increment' || cmd.op === 'expire' || ('key' in cmd && typeof cmd.key !== 'number');
    const before = guarded ? snapshot(cache.handle.buffer) : undefined;
    let got: Actual;
    try {
      got = { ok: true, value: call() };
    } catch (thrown) {
      got = { ok: false, thrown };
    }

    if (want.ok && !got.ok) {
      const e = got.thrown;
      fail(`threw ${e instanceof Error ? `${e.name}: ${e.message}` : show(e)}; model returns ${show(want.value)}`);
    }
    if (!want.ok && got.ok) fail(`returned ${show(got.value)}; model throws ${want.error}`);
    if (!want.ok && !got.ok) {
      const e = got.thrown;
      if (!(e instanceof SabreError) || e.name !== want.error)
        fail(`threw ${e instanceof Error ? `${e.name}: ${e.message}` : show(e)}; model throws ${want.error}`);
    }
    if (want.ok && got.ok) {
      if (want.value === THIS) {
        if (got.value !== cache) fail(`returned ${show(got.value)}, not the cache`);
      } else if (!sameValue(got.value, want.value)) {
        fail(`returned ${show(got.value)}; model ${show(want.value)}`);
      }
    }
    if (!got.ok && before !== undefined) {
      const after = snapshot(cache.handle.buffer);
      if (Buffer.compare(before, after) !== 0) {
        const at = before.findIndex((b, i) => b !== after[i]);
        fail(`threw ${(got.thrown as Error).name} but changed the buffer (first difference at byte ${at})`);
      }
    }

    // After every command: size within the model's bounds, entries() equal to the live entries.
    const { min, max } = model.sizeBounds();
    if (cache.size < min || cache.size > max) fail(`afterwards size is ${cache.size}, model between ${min} and ${max}`);
    let problem: string | undefined;
    try {
      problem = sameEntries(entriesOf(cache), model.liveEntries());
    } catch (error) {
      problem = (error as Error).message; // entries() must never throw, nor repeat a key
    }
    if (problem !== undefined) fail(`afterwards ${problem}`);
    if (f.stats) {
      const statsProblem = checkStats(cache, model);
      if (statsProblem !== undefined) fail(`afterwards ${statsProblem}`);
    }
  });
}

// ---- fixed examples ----------------------------------------------------------------------------------

/**
 * Scenarios run before the random ones in every property whose features they need: the minimal
 * forms of the discrepancies this test has found, so that each is checked whatever the seed.
 */
interface Example {
  /** The FC_EXCLUDE tag that leaves it out. */
  readonly tag: string;
  readonly needs: ReadonlyArray<keyof Features>;
  readonly scenario: Scenario;
}

const LETTERS: readonly Key[] = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
const set = (key: number, value: unknown, options: Arg = NOT_GIVEN): Command => ({ op: 'set', key, value, options });
const read = (op: 'get' | 'peek' | 'has' | 'ttl', key: number): Command => ({ op, key });
const increment = (key: number, delta: Arg = NOT_GIVEN): Command => ({ op: 'increment', key, delta });
const casCurrent = (key: number, next: unknown, options: Arg = NOT_GIVEN): Command => ({
  op: 'compareAndSet',
  key,
  expected: { kind: 'current' },
  next,
  options,
});
const scenario = (pool: readonly Key[], commands: readonly Command[], defaultTtl?: number): Scenario => ({ defaultTtl, pool, commands });

const EXAMPLES: readonly Example[] = [
  {
    // Distinct strings are distinct keys, lone surrogates included; keys() gives them back as they were.
    tag: 'surrogates',
    needs: ['surrogates'],
    scenario: scenario(
      ['\uD800', '\uDFFF', '\uFFFD', 'a\uD800b', 'a\uDFFFb', '\uDC00\uD800', '\uD800\uDC00', '\uDE00\uD83D'],
      [...LETTERS.map((_, i) => set(i, i)), ...LETTERS.map((_, i) => read('get', i)), { op: 'keys' }],
    ),
  },
  {
    // String values round-trip code unit for code unit, short and long (the TextDecoder path).
    tag: 'surrogates',
    needs: ['surrogates'],
    scenario: scenario(LETTERS, [
      set(0, '\uD800'),
      set(1, 'a\uDFFFb'),
      set(2, `${'x'.repeat(70)}\uD800`),
      set(3, { s: '\uD800' }),
      read('get', 0),
      read('get', 1),
      read('get', 2),
      read('get', 3),
    ]),
  },
  {
    // A number counter and a bigint delta: the result is a safe integer, so it is stored.
    tag: 'mixed-delta',
    needs: ['counters'],
    scenario: scenario(LETTERS, [set(0, -1), increment(0, given(2n ** 53n)), set(1, -Number.MAX_SAFE_INTEGER), increment(1, given(2n ** 53n))]),
  },
  {
    // expected is only compared, never stored: one over maxValueBytes is no error, it just never matches.
    tag: 'expected-size',
    needs: ['conditional'],
    scenario: scenario(LETTERS, [
      set(0, 'x'),
      { op: 'compareAndSet', key: 0, expected: { kind: 'value', value: 'x'.repeat(MAX_VALUE_BYTES + 1) }, next: 'y', options: NOT_GIVEN },
      { op: 'compareAndDelete', key: 0, expected: { kind: 'value', value: 'x'.repeat(MAX_VALUE_BYTES + 1) } },
    ]),
  },
  {
    tag: 'expire-no-ttl',
    needs: ['bad'],
    scenario: scenario(LETTERS, [
      set(0, 1, given({ ttlMs: 10 })),
      { op: 'expire', key: 0, ttlMs: NOT_GIVEN },
      { op: 'expire', key: 0, ttlMs: given(undefined) },
      read('ttl', 0),
    ]),
  },
  {
    tag: 'unknown-options',
    needs: ['bad'],
    scenario: scenario(LETTERS, [
      set(0, 1, given({ ttl: 5 })),
      set(0, 1),
      { op: 'setIfAbsent', key: 1, value: 1, options: given({ ttlMS: 5 }) },
      casCurrent(0, 2, given({ ttl: 5 })),
    ]),
  },
  {
    tag: 'option-shape',
    needs: ['bad'],
    scenario: scenario(LETTERS, [set(0, 1), casCurrent(0, 2, given(5)), casCurrent(0, 3, given(null)), set(0, 4, given([10])), set(0, 5, given(null))]),
  },
  {
    // A bigint delta outside int64 is a bad argument, not a counter overflow.
    tag: 'delta-range',
    needs: ['bad'],
    scenario: scenario(LETTERS, [increment(0, given(2n ** 64n)), set(1, 5n), increment(1, given(-(2n ** 64n))), increment(1, given(INT64_MIN - 1n))]),
  },
  {
    // sets counts increments; deletes counts compareAndDelete; inserts exists; clear() keeps size === inserts - removals.
    tag: 'stats',
    needs: ['stats', 'ttl'],
    scenario: scenario(LETTERS, [
      increment(0),
      increment(0),
      set(1, 1),
      { op: 'compareAndDelete', key: 1, expected: { kind: 'value', value: 1 } },
      set(2, 1),
      set(3, 2, given({ ttlMs: 5 })),
      { op: 'clear' },
      set(4, 1, given({ ttlMs: 5 })),
      { op: 'advance', ms: 10 },
      set(4, 2),
      set(5, 3, given({ ttlMs: 5 })),
      { op: 'advance', ms: 10 },
      set(6, 1),
    ]),
  },
];

function check(features: Features): void {
  const f = EXCLUDE.has('surrogates') ? { ...features, surrogates: false } : features;
  const examples = EXAMPLES.filter((e) => !EXCLUDE.has(e.tag) && e.needs.every((need) => f[need])).map((e): [Scenario] => [e.scenario]);
  fc.assert(
    fc.property(scenarioArb(f), (scenario) => runScenario(scenario, f)),
    { seed: SEED, numRuns: RUNS, examples, ...(PATH === undefined ? {} : { path: PATH }) },
  );
}

const NONE: Features = { surrogates: false, ttl: false, conditional: false, counters: false, bad: false, stats: false };

describe('SharedCache against a sequential model (single thread, ManualClock)', () => {
  it('keys and values: any string (lone surrogates too) or number is a key, every storable value round-trips', () => {
    check({ ...NONE, surrogates: true });
  });

  it('TTLs: live while now < t + ttlMs; ttl(), expire(), the default ttlMs', () => {
    check({ ...NONE, ttl: true });
  });

  it('conditional writes: setIfAbsent, compareAndSet, compareAndDelete', () => {
    check({ ...NONE, ttl: true, conditional: true });
  });

  it('counters: increment with number and bigint deltas; a non-integer or an overflow throws and changes nothing', () => {
    check({ ...NONE, ttl: true, counters: true });
  });

  it('a bad argument throws InvalidArgumentError; any call that throws changes nothing, byte for byte', () => {
    check({ ...NONE, ttl: true, conditional: true, counters: true, bad: true });
  });

  it('stats: hits, misses, sets, deletes, inserts, and size === inserts - removals after every command', () => {
    check({ ...NONE, ttl: true, conditional: true, counters: true, stats: true });
  });

  it('everything at once', () => {
    check({ surrogates: true, ttl: true, conditional: true, counters: true, bad: true, stats: true });
  });
});
