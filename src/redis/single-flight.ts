/**
 * getOrCompute across processes: of any number of callers of one key, in any number of
 * processes, one computes at a time and the others wait for its value.
 *
 * The computer holds a lease: a key next to the value's (wire.ts), taken with SET NX PX and
 * holding a fencing token (a counter, INCR, plus a random part; the counter is the server's, or on
 * a cluster the one of the key's hash tag, so that the scripts' keys share a slot). While it computes it
 * renews the lease (every third of leaseMs, only while the lease still holds its token); when it
 * is done, one script stores the value and deletes the lease only if the lease still holds its
 * token, then announces the end on a pub/sub channel. A computer whose lease ran out (it was
 * too slow, or it lost Redis) stores nothing: another caller may have taken over.
 *
 * Waiters wake on the announcement, or else poll with a backoff (20 ms doubling to 500 ms, never
 * sleeping past the lease's expiry): a missed message, or a subscriber connection that is down,
 * costs a poll, not a hang. A computer that dies stops renewing; its lease expires and the next
 * waiter to look takes it over, as from a computer still running after maxComputeMs (its late
 * value goes to its own caller, unstored). An error or an undefined result is not shared across processes:
 * the lease is released, and a waiter then computes itself (one at a time, by the same lease).
 */
import { randomUUID } from 'node:crypto';
import { type Connection, defineScript } from './connection.js';
import { COMPARE_AND_DELETE, type TtlArg } from './atomic.js';
import { StoreUnavailableError } from './errors.js';
import type { KeySpace } from './wire.js';

/** GET the value; else take the lease (SET NX PX) with a new token; else the lease's PTTL. KEYS: value, lease, fence. ARGV: leaseMs, random part. */
const ACQUIRE = defineScript(`
local value = redis.call('GET', KEYS[1])
if value then return {0, value} end
local token = string.format('%d', redis.call('INCR', KEYS[3])) .. ':' .. ARGV[2]
if redis.call('SET', KEYS[2], token, 'NX', 'PX', ARGV[1]) then return {1, token} end
return {2, redis.call('PTTL', KEYS[2])}`);

/** Extends the lease while it holds the token. KEYS: lease. ARGV: token, leaseMs. */
const RENEW = defineScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])`);

/** Stores the value and ends the lease, only while the lease holds the token; announces the end. KEYS: value, lease. ARGV: token, value, TtlArg, channel. */
const FINISH = defineScript(`
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if ARGV[3] == 'inf' then redis.call('SET', KEYS[1], ARGV[2]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', ARGV[4], KEYS[1])
return 1`);

const POLL_FIRST_MS = 20;
const POLL_MAX_MS = 500;

/** What a flight's caller gets: a stored value (its encoding) found, or the value it computed (and its encoding if it was stored). */
export type FlightResult<T> =
  | { readonly found: Buffer; readonly waited: boolean }
  | { readonly computed: T; readonly stored: Buffer | undefined; readonly waited: boolean };

/** Counters of the flights of one cache. */
export interface FlightCounters {
  singleFlightWaits: number;
  leaseTakeovers: number;
  computes: number;
}

export class SingleFlight {
  readonly #connection: Connection;
  readonly #keys: KeySpace;
  readonly #counters: FlightCounters;
  /** How long a computation may keep its lease (renewals stop after it). */
  readonly #maxComputeMs: number;
  /** Waiters by value key (latin1), woken by an announcement. */
  readonly #waiters = new Map<string, Set<() => void>>();
  #unsubscribe: (() => void) | undefined;
  #closed = false;

  constructor(connection: Connection, keys: KeySpace, counters: FlightCounters, maxComputeMs: number) {
    this.#connection = connection;
    this.#keys = keys;
    this.#counters = counters;
    this.#maxComputeMs = maxComputeMs;
  }

  /**
   * The value of `valueKey`, found or computed under the lease. `encode` turns the computed value
   * into what is stored (it may throw: the lease is then released and the error rethrown).
   */
  async run<T>(valueKey: Buffer, compute: () => T | PromiseLike<T>, encode: (value: T) => Buffer, ttl: TtlArg, leaseMs: number): Promise<FlightResult<T>> {
    const leaseKey = this.#keys.lease(valueKey);
    let pollMs = POLL_FIRST_MS;
    let waited = false;
    for (;;) {
      const [kind, payload] = await this.#connection.script<[number, Buffer | number]>(
        ACQUIRE,
        [valueKey, leaseKey, this.#keys.fence(valueKey)],
        [String(Math.ceil(leaseMs)), randomUUID()],
      );
      if (kind === 0) return { found: payload as Buffer, waited };
      if (kind === 1) {
        if (waited) this.#counters.leaseTakeovers++;
        return { ...(await this.#own(valueKey, leaseKey, payload as Buffer, compute, encode, ttl, leaseMs)), waited };
      }
      if (!waited) this.#counters.singleFlightWaits++;
      waited = true;
      await this.#wait(valueKey, Math.min(pollMs, Math.max(1, payload as number)));
      pollMs = Math.min(pollMs * 2, POLL_MAX_MS);
    }
  }

  /** Computes as the lease's owner, renewing it meanwhile, then stores the value (if the lease is still ours) or releases the lease. */
  async #own<T>(
    valueKey: Buffer,
    leaseKey: Buffer,
    token: Buffer,
    compute: () => T | PromiseLike<T>,
    encode: (value: T) => Buffer,
    ttl: TtlArg,
    leaseMs: number,
  ): Promise<{ computed: T; stored: Buffer | undefined }> {
    this.#counters.computes++;
    let held = true;
    // Renewed for at most maxComputeMs: a computation that never settles must not hold the
    // waiters of every process for good (the lease then lapses and one of them takes over).
    const renewUntil = Date.now() + this.#maxComputeMs;
    const renewal = setInterval(() => {
      if (Date.now() >= renewUntil) {
        clearInterval(renewal);
        return;
      }
      this.#connection.script<number>(RENEW, [leaseKey], [token, String(Math.ceil(leaseMs))]).then(
        (renewed) => {
          if (renewed === 0) held = false; // taken over: renewing is pointless, storing will be refused
        },
        () => {}, // Redis is away: the lease may lapse, and FINISH decides
      );
      if (!held) clearInterval(renewal);
    }, leaseMs / 3);
    renewal.unref();
    let encoded: Buffer;
    let value: T;
    try {
      value = await compute();
      if (value === undefined) {
        await this.#release(valueKey, leaseKey, token);
        return { computed: value, stored: undefined };
      }
      encoded = encode(value);
    } catch (error) {
      await this.#release(valueKey, leaseKey, token);
      throw error;
    } finally {
      clearInterval(renewal);
    }
    try {
      const stored = await this.#connection.script<number>(FINISH, [valueKey, leaseKey], [token, encoded, ttl === '' ? 'inf' : ttl, this.#keys.flights]);
      return { computed: value, stored: stored === 1 ? encoded : undefined };
    } catch (error) {
      // The value is computed and correct; only storing it failed (counted by the caller).
      if (error instanceof StoreUnavailableError) return { computed: value, stored: undefined };
      throw error;
    }
  }

  /** Ends a flight that stores nothing: deletes the lease if it is still ours, and wakes the waiters. Best effort: a lease left behind expires. */
  async #release(valueKey: Buffer, leaseKey: Buffer, token: Buffer): Promise<void> {
    try {
      if ((await this.#connection.script<number>(COMPARE_AND_DELETE, [leaseKey], [token])) === 1) {
        await this.#connection.call(['PUBLISH', this.#keys.flights, valueKey]);
      }
    } catch {
      // Unavailable: the waiters poll, and the lease runs out.
    }
  }

  /** Sleeps until the flight of `valueKey` is announced as ended, or `ms` passed. */
  async #wait(valueKey: Buffer, ms: number): Promise<void> {
    this.#subscribe();
    const id = valueKey.toString('latin1');
    await new Promise<void>((resolve) => {
      let set = this.#waiters.get(id);
      if (set === undefined) this.#waiters.set(id, (set = new Set()));
      const waiters = set;
      const wake = () => {
        clearTimeout(timer);
        waiters.delete(wake);
        if (waiters.size === 0 && this.#waiters.get(id) === waiters) this.#waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      waiters.add(wake);
    });
  }

  /** Subscribes once, on first need (in the background: until it is up, the waiters poll). */
  #subscribe(): void {
    if (this.#closed) return;
    this.#unsubscribe ??= this.#connection.subscribe(this.#keys.flights, (message) => {
      for (const wake of [...(this.#waiters.get(message.toString('latin1')) ?? [])]) wake();
    });
  }

  /** Wakes every waiter (they then find the cache closed) and drops the subscription. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const set of [...this.#waiters.values()]) for (const wake of [...set]) wake();
    this.#unsubscribe?.();
  }
}
