/**
 * The fail-safe of one RedisCache (as FusionCache's fail-safe, bentocache's grace period): what a
 * call does when Redis cannot be reached, and what the application is told.
 *
 * - A read that fails for want of Redis is answered with the last value Redis confirmed to this
 *   process within `graceMs` (grace.ts), else it fails with the StoreUnavailableError.
 * - A write that fails is never reported as done: it throws, and its key's last value is
 *   forgotten (the write may have reached Redis before the failure: the value is now unknown).
 * - Each failure and each grace answer is counted; the listeners hear each change of state once
 *   ('unavailable', then 'available'), never each call.
 * - When Redis is back, the remembered values are dropped (no value served during the outage
 *   survives it unannounced: the 'available' event says how many were served).
 */
import { InvalidArgumentError } from '../errors.js';
import { checkFunction, describeValue } from '../shared/validate.js';
import type { Availability } from './connection.js';
import { StoreUnavailableError } from './errors.js';
import { GraceValues } from './grace.js';

/** What an 'unavailable' or 'available' listener is told. */
export interface AvailabilityEvent {
  /** 'unavailable': the failure that started the outage. */
  readonly cause?: unknown;
  /** 'available': how many reads the fail-safe answered during the outage (those values are now dropped). */
  readonly servedFromGrace?: number;
}

export type AvailabilityListener = (event: AvailabilityEvent) => void;

export class FailSafe {
  readonly #grace: GraceValues;
  readonly #listeners: Record<Availability, Set<AvailabilityListener>> = { available: new Set(), unavailable: new Set() };
  readonly counters = { graceServed: 0, unavailableErrors: 0, outages: 0 };

  constructor(graceMs: number, maxEntries: number) {
    this.#grace = new GraceValues(graceMs, maxEntries);
  }

  /** Records the value Redis just confirmed for `valueKey` (undefined: none). */
  confirm(valueKey: Buffer, raw: Buffer | undefined): void {
    this.#grace.confirm(valueKey, raw);
  }

  /** A read: its reply (confirmed), or in an outage the grace value, or the error. */
  async read(valueKey: Buffer, call: Promise<Buffer | null>): Promise<Buffer | null> {
    let raw: Buffer | null;
    try {
      raw = await call;
    } catch (error) {
      return this.rescue(valueKey, error, false);
    }
    this.#grace.confirm(valueKey, raw ?? undefined);
    return raw;
  }

  /**
   * The grace value of `valueKey` standing in for a call that failed with `error` (Redis
   * unavailable; or any error when `anyError`, as for a failed compute); without one, `error`
   * is rethrown (counted when it is a StoreUnavailableError).
   */
  rescue(valueKey: Buffer, error: unknown, anyError: boolean): Buffer {
    const unavailable = error instanceof StoreUnavailableError;
    const raw = unavailable || anyError ? this.#grace.serve(valueKey) : undefined;
    if (raw !== undefined) {
      this.counters.graceServed++;
      return raw;
    }
    if (unavailable) this.counters.unavailableErrors++;
    throw error;
  }

  /** A write: a failure for want of Redis is counted and forgets the key's last value. */
  async write<T>(valueKey: Buffer, call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (error) {
      if (error instanceof StoreUnavailableError) {
        this.#grace.forget(valueKey);
        this.counters.unavailableErrors++;
      }
      throw error;
    }
  }

  /** A call with no grace answer (ttl, expire): only counted. */
  async counted<T>(call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (error) {
      if (error instanceof StoreUnavailableError) this.counters.unavailableErrors++;
      throw error;
    }
  }

  /** Adds a listener of one change of state; returns what removes it. */
  on(event: Availability, listener: AvailabilityListener): () => void {
    const listeners = this.#listeners[event];
    if (listeners === undefined) throw new InvalidArgumentError(`event must be 'available' or 'unavailable', got ${describeValue(event)}`);
    checkFunction(listener, 'listener');
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** The connection's state changed: count, resynchronise, tell the listeners. */
  stateChanged(state: Availability, cause: unknown): void {
    let event: AvailabilityEvent;
    if (state === 'unavailable') {
      this.counters.outages++;
      event = { cause };
    } else {
      event = { servedFromGrace: this.#grace.resynchronise() };
    }
    for (const listener of [...this.#listeners[state]]) {
      try {
        listener(event);
      } catch (error) {
        // A listener's failure must not fail the call that noticed the change.
        process.emitWarning(`a RedisCache '${state}' listener threw: ${(error as Error)?.message ?? String(error)}`, { code: 'SABRE_REDIS_LISTENER' });
      }
    }
  }
}
