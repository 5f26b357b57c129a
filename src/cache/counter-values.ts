/**
 * increment's arithmetic: a number counter stays a safe integer, a bigint counter stays in
 * int64, and anything else is refused, before anything is stored.
 */
import { IllegalStateError } from '../errors.js';
import { describeValue } from '../shared/validate.js';
import { type CacheKey, INT64_MAX, INT64_MIN } from './codec.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** `current + delta` as increment(key) stores it; throws IllegalStateError (naming `key`) if it cannot. */
export function addInteger(key: CacheKey, current: unknown, delta: number | bigint): number | bigint {
  if (typeof current === 'bigint') {
    const next = current + BigInt(delta);
    if (next < INT64_MIN || next > INT64_MAX) throw new IllegalStateError(`increment('${key}'): ${next} is outside int64`);
    return next;
  }
  if (typeof current === 'number' && Number.isSafeInteger(current)) {
    // A number counter stays a number: a bigint delta is fine as long as the result is safe.
    const exact = BigInt(current) + BigInt(delta);
    if (exact > MAX_SAFE || exact < -MAX_SAFE)
      throw new IllegalStateError(`increment('${key}'): ${exact} is not a safe integer (use bigint counters beyond 2^53)`);
    return Number(exact);
  }
  throw new IllegalStateError(`increment('${key}'): the value is not an integer (${describeValue(current)})`);
}
