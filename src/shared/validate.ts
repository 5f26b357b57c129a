/**
 * Argument checks shared by every primitive. They run before any shared word is touched, so a
 * rejected call leaves shared memory exactly as it was.
 */
import { InvalidArgumentError } from '../errors.js';

function describe(value: unknown): string {
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? `an object (${Object.prototype.toString.call(value)})` : typeof value;
}

/** An integer in [min, max]; `what` names the argument in the message. */
export function checkInteger(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`${what} must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

/**
 * Turns an optional `timeoutMs` into an absolute deadline on the `performance.now()` clock.
 * `undefined` and `Infinity` mean "wait forever"; NaN, negatives and non-numbers are rejected.
 */
export function deadlineAfter(timeoutMs: unknown, what = 'timeoutMs'): number {
  if (timeoutMs === undefined || timeoutMs === Infinity) return Infinity;
  if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0) {
    throw new InvalidArgumentError(`${what} must be a number >= 0 (or Infinity), got ${describe(timeoutMs)}`);
  }
  return performance.now() + timeoutMs;
}

/** Options accepted by every async acquisition. */
export interface AsyncWaitOptions {
  /** Give up after this many milliseconds; the call then resolves to `false`. Default: wait forever. */
  timeoutMs?: number;
  /** Abort the wait; the call then rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** Validates {@link AsyncWaitOptions}; returns the deadline and the signal. */
export function checkAsyncOptions(options: unknown): { deadline: number; signal: AbortSignal | undefined } {
  if (options === undefined) return { deadline: Infinity, signal: undefined };
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError(`options must be an object, got ${describe(options)}`);
  }
  const { timeoutMs, signal } = options as AsyncWaitOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidArgumentError(`options.signal must be an AbortSignal, got ${describe(signal)}`);
  }
  return { deadline: deadlineAfter(timeoutMs, 'options.timeoutMs'), signal };
}

/** A function argument. */
export function checkFunction(value: unknown, what: string): void {
  if (typeof value !== 'function') throw new InvalidArgumentError(`${what} must be a function, got ${describe(value)}`);
}

export { describe as describeValue };
