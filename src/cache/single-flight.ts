/**
 * getOrCompute's single flight, across every thread of the process: the protocol, held here
 * (its memory formats are in flight-records.ts).
 *
 * For a missing key, the first caller stores a PENDING marker entry (codec.ts) that names it as
 * the owner, a flight id, and a lease expiry, then runs `compute` outside every lock. Other
 * callers find the marker and park, without blocking their event loop, on the stripe's FLIGHT
 * word (layout.ts). When the flight ends, the owner stores the value in place of the marker (or
 * removes it, on failure) and bumps and notifies the FLIGHT word; the waiters wake and look again.
 *
 * - A failure must reach every waiter and must not be cached. The owner records the error in a
 *   small ring of flight outcomes (indexed by flight id) before it removes the marker; a waiter
 *   of that flight finds its error there. A later caller finds no entry and starts a new flight.
 *   A compute that returns `undefined` (nothing to cache) is recorded the same way, so that its
 *   waiters get `undefined` too instead of each starting a flight of its own.
 * - If the owner's thread dies, its lease runs out: waiters park no longer than the lease, and
 *   the first to see it expired takes the flight over with a fresh marker. A coordinator that
 *   sees the death (recoverDeadThread) ends its flights at once ({@link SingleFlight.endFlightsOf}).
 * - An owner that cannot store its value or end its flight (a lock held by a stuck or dead
 *   thread) retries every 10 ms until the lease runs out, so that its waiters do not sleep it out.
 * - Every read (get, has, entries, …) treats a marker as absent.
 *
 * Leases are measured with Date.now(), not the cache's injectable clock: they time real
 * computations of real threads.
 */
import { LockUnavailableError } from '../errors.js';
import { SELF_TAG } from '../shared/thread.js';
import { type ParkSteps, broadcastNeedsNoPassOn, parkAsync } from '../shared/wait.js';
import type { CacheLocks } from './cache-locks.js';
import { Tag, decodeValue } from './codec.js';
import { type Flight, type FlightOutcome, FlightOutcomes, decodeMarker, encodeMarker } from './flight-records.js';
import { GLOBAL, NO_SLOT, STRIPE, type Slot } from './layout.js';
import type { KeyRef, Reader } from './reader.js';
import { Counter } from './stats.js';
import type { Store } from './store.js';
import { type Staged, type Writer, staged } from './writer.js';

export { MARKER_BYTES, decodeMarker, encodeMarker, FlightOutcomes, type Flight, type FlightOutcome } from './flight-records.js';

/** How often a flight that could not be ended tries again (endFlightSoon). */
const END_FLIGHT_RETRY_MS = 10;

/** getOrCompute's protocol over one cache, in one thread. */
export class SingleFlight {
  readonly #store: Store;
  readonly #locks: CacheLocks;
  readonly #reader: Reader;
  readonly #writer: Writer<unknown>;
  /** @guardedBy structure-mutex */
  readonly #outcomes: FlightOutcomes;

  constructor(store: Store, locks: CacheLocks, reader: Reader, writer: Writer<unknown>) {
    this.#store = store;
    this.#locks = locks;
    this.#reader = reader;
    this.#writer = writer;
    this.#outcomes = new FlightOutcomes(store.i32, store.u8, store.layout.flights);
  }

  /** See SharedCache.getOrCompute; the arguments are checked, `expiry` is absolute. */
  async getOrCompute<T>(k: KeyRef, compute: () => T | PromiseLike<T>, expiry: number, leaseMs: number): Promise<T> {
    const store = this.#store;
    const flightWord = store.stripeWord(k.stripe, STRIPE.FLIGHT);
    let waited = false;
    for (;;) {
      const found = this.#reader.live(k, true);
      if (found !== null) {
        store.markVisited(found.slot);
        store.stats.bump(Counter.hits);
        return this.#reader.scratch.decode(found.tag, found.length) as T;
      }
      // Read the flight word before looking under the lock: a flight that ends after the look
      // changes it, so the park below returns at once instead of sleeping through the end.
      const seen = Atomics.load(store.i32, flightWord);
      const step = this.#writer.write(k, (slot): { value: unknown } | { wait: Flight } | { own: Flight } => {
        if (slot !== NO_SLOT) {
          const copy = store.copyEntry(slot)!;
          if (copy.tag !== Tag.PENDING) return { value: decodeValue(copy.tag, copy.value) };
          const flight = decodeMarker(copy.value);
          if (flight.leaseExpiry > Date.now()) return { wait: flight };
        }
        // A flight id: an RMW, since threads take ids without the structure mutex.
        const flight = { owner: SELF_TAG, id: Atomics.add(store.i32, GLOBAL.FLIGHTS, 1) + 1, leaseExpiry: Date.now() + leaseMs };
        this.#writer.put(k, slot, staged({ tag: Tag.PENDING, bytes: encodeMarker(flight) }), Infinity);
        return { own: flight };
      });
      if ('value' in step) {
        store.stats.bump(Counter.hits);
        return step.value as T;
      }
      if ('own' in step) {
        store.stats.bump(Counter.misses);
        return this.#fly(k, step.own, compute, expiry);
      }
      if (!waited) store.stats.bump(Counter.singleFlightWaits);
      waited = true;
      const leaseLeft = Math.max(0, step.wait.leaseExpiry - Date.now());
      await parkAsync(store.i32, parkUntilChanged(store.i32, flightWord, seen), performance.now() + leaseLeft);
      const outcome = this.#locks.withStructure(() => this.#outcomes.outcomeOf(step.wait.id));
      if (outcome?.failed) throw outcome.error;
      if (outcome !== undefined) return undefined as T;
    }
  }

  /** Runs the computation this caller owns, then ends the flight: stores the value, or records the failure (or the empty result). */
  async #fly<T>(k: KeyRef, flight: Flight, compute: () => T | PromiseLike<T>, expiry: number): Promise<T> {
    let value: T;
    let encoded: Staged | undefined;
    try {
      value = await compute();
      if (value !== undefined) encoded = this.#writer.encode(k, value);
    } catch (error) {
      this.#endFlightSoon(k, flight, { failed: true, error });
      throw error;
    }
    if (encoded === undefined) {
      this.#endFlightSoon(k, flight, { failed: false });
      return value;
    }
    const stored = encoded;
    try {
      this.#writer.write(k, (slot) => {
        // Store unless someone set a value meanwhile, or another caller took the flight over.
        if (slot !== NO_SLOT && !this.#ownsFlight(slot, flight)) return;
        this.#writer.storeValue(k, slot, stored, expiry);
      });
    } catch (error) {
      // Not stored (a lock held by a stuck or dead thread, …): the flight still ends, with this
      // error, or its waiters would sleep out the whole lease.
      this.#endFlightSoon(k, flight, { failed: true, error });
      throw error;
    }
    return value;
  }

  /**
   * Ends a flight that has no value (#endFlightWithout) now or, if the cache's locks cannot be had
   * now (a holder stuck or dead, not yet recovered), as soon as they can: retried every 10 ms
   * until the lease runs out, when a waiter takes the flight over anyway. A flight left open
   * keeps its waiters parked for the rest of its lease.
   */
  #endFlightSoon(k: KeyRef, flight: Flight, outcome: FlightOutcome): void {
    try {
      this.#endFlightWithout(k, flight, outcome);
    } catch (error) {
      if (!(error instanceof LockUnavailableError) || Date.now() >= flight.leaseExpiry) return;
      setTimeout(() => this.#endFlightSoon(k, flight, outcome), END_FLIGHT_RETRY_MS).unref();
    }
  }

  /** Ends a flight that has no value: records why for its waiters, removes its placeholder (if still its own) and wakes them. */
  #endFlightWithout(k: KeyRef, flight: Flight, outcome: FlightOutcome): void {
    this.#writer.write(k, (slot) => {
      this.#locks.withStructure(() => this.#outcomes.record(flight.id, outcome));
      if (slot !== NO_SLOT && this.#ownsFlight(slot, flight)) this.#writer.removeOwn(slot, Counter.abandonedFlights);
      else this.#store.wakeFlightWaiters(k.stripe);
    });
  }

  /** @guardedBy stripe(k) */
  #ownsFlight(slot: Slot, flight: Flight): boolean {
    return this.#writer.isMarker(slot) && decodeMarker(this.#store.copyEntry(slot)!.value).id === flight.id;
  }

  /**
   * Removes the flight markers owned by the thread tagged `owner` (which is dead) and wakes their
   * waiters, who find no entry and start a new flight. Candidates are found without a lock, then
   * checked again under their stripe's lock. Returns how many flights it ended.
   */
  endFlightsOf(owner: number): number {
    const store = this.#store;
    let ended = 0;
    for (let index = 0; index < store.shape.maxEntries; index++) {
      const slot = index as Slot;
      if (!this.#writer.isMarker(slot)) continue;
      const stripe = store.stripeOfSlot(slot);
      this.#writer.inStripe(stripe, () => {
        const still = store.isLive(slot) && this.#writer.isMarker(slot) && store.stripeOfSlot(slot) === stripe;
        if (still && decodeMarker(store.copyEntry(slot)!.value).owner === owner) {
          this.#writer.removeOwn(slot, Counter.abandonedFlights);
          ended++;
        }
      });
    }
    return ended;
  }
}

/**
 * Parks until `view[index]` moves on from `value` (a flight ended), or the driver's deadline. The
 * end of a slice (wait.ts) with the word unchanged only re-parks: nothing to look at yet.
 */
function* parkUntilChanged(view: Int32Array, index: number, value: number): ParkSteps<void> {
  for (;;) {
    const reason = yield { index, value, passOn: broadcastNeedsNoPassOn };
    if (reason !== 'recheck' || Atomics.load(view, index) !== value) return;
  }
}
