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
  const { timeoutMs, signal } = readOptions(options, ['timeoutMs', 'signal'], 'options');
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidArgumentError(`options.signal must be an AbortSignal, got ${describe(signal)}`);
  }
  return { deadline: deadlineAfter(timeoutMs, 'options.timeoutMs'), signal };
}

/**
 * Reads an options object once, property by property, and returns a plain copy of the named
 * ones. Refuses, each with an {@link InvalidArgumentError} naming the option: a non-object, a
 * property this call does not know (a misspelt `ttl` for `ttlMs` would otherwise be silently
 * ignored), and a getter that throws. `undefined` options read as `{}`. Callers then check each
 * value; `null` is a value like any other (it never means "default").
 */
export function readOptions<const K extends string>(options: unknown, names: readonly K[], what: string): { [P in K]?: unknown } {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError(`${what} must be an object, got ${describe(options)}`);
  }
  for (const name of Reflect.ownKeys(options)) {
    if (typeof name === 'string' && !(names as readonly string[]).includes(name)) {
      const known = names.length === 0 ? 'it takes none' : `known: ${names.join(', ')}`;
      throw new InvalidArgumentError(`${what}: unknown option ${JSON.stringify(name)} (${known})`);
    }
  }
  const copy: { [P in K]?: unknown } = {};
  for (const name of names) {
    let value: unknown;
    try {
      value = (options as Record<string, unknown>)[name];
    } catch (error) {
      throw new InvalidArgumentError(`${what}.${name}: reading it threw ${describeThrown(error)}`);
    }
    if (value !== undefined) copy[name] = value;
  }
  return copy;
}

/** Describes something that was thrown (an Error by its name and message, anything else by value). */
export function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) return `${thrown.name}: ${thrown.message}`;
  return describe(thrown);
}

/** A function argument. */
export function checkFunction(value: unknown, what: string): void {
  if (typeof value !== 'function') throw new InvalidArgumentError(`${what} must be a function, got ${describe(value)}`);
}

export { describe as describeValue };
