/**
 * What getOrCompute's single flight (single-flight.ts) keeps in shared memory:
 *
 * - the PENDING marker, the value of a placeholder entry while its flight is in the air:
 *
 *     bytes 0..3   owner   the tag (threadId + 1) of the computing thread
 *     bytes 4..7   id      the flight's number (GLOBAL.FLIGHTS)
 *     bytes 8..15  lease   when the owner is presumed dead (Date.now() ms, float64)
 *
 * - the ring of outcomes of flights that ended without a value (FLIGHT_RECORDS records of
 *   FLIGHT_RECORD_BYTES, layout.ts):
 *
 *     bytes 0..3   id      the flight whose outcome this is (written last)
 *     bytes 4..7   length  of the serialized error, or -1: compute returned undefined
 *     bytes 8..    the serialized error
 */
import { deserialize, serialize } from 'node:v8';
import { FLIGHT_RECORDS, FLIGHT_RECORD_BYTES } from './layout.js';

/** The decoded PENDING marker. */
export interface Flight {
  readonly owner: number;
  readonly id: number;
  readonly leaseExpiry: number;
}

export const MARKER_BYTES = 16;

export function encodeMarker(flight: Flight): Uint8Array {
  const bytes = new Uint8Array(MARKER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, flight.owner, true);
  view.setInt32(4, flight.id, true);
  view.setFloat64(8, flight.leaseExpiry, true);
  return bytes;
}

export function decodeMarker(bytes: Uint8Array): Flight {
  const view = new DataView(bytes.buffer, bytes.byteOffset, MARKER_BYTES);
  return { owner: view.getInt32(0, true), id: view.getInt32(4, true), leaseExpiry: view.getFloat64(8, true) };
}

/** How a flight ended without a value: its compute failed, or returned undefined. */
export type FlightOutcome = { readonly failed: true; readonly error: unknown } | { readonly failed: false };

/** The record length that marks an empty outcome (no error follows). */
const EMPTY_OUTCOME = -1;

/**
 * The ring of valueless flight outcomes: record `id % FLIGHT_RECORDS` holds [flight id, length,
 * serialized error] (length -1: the compute returned undefined). Written and read under the
 * structure mutex. A record is overwritten only after FLIGHT_RECORDS more such flights, long
 * after the waiters of its flight have read it.
 * @guardedBy structure-mutex (every member)
 */
export class FlightOutcomes {
  readonly #i32: Int32Array;
  readonly #u8: Uint8Array;
  readonly #base: number;

  constructor(i32: Int32Array, u8: Uint8Array, byteOffset: number) {
    this.#i32 = i32;
    this.#u8 = u8;
    this.#base = byteOffset;
  }

  record(id: number, outcome: FlightOutcome): void {
    const at = this.#base + (id % FLIGHT_RECORDS) * FLIGHT_RECORD_BYTES;
    const bytes = outcome.failed ? serializeError(outcome.error, FLIGHT_RECORD_BYTES - 8) : undefined;
    // The id last: a writer that dies halfway leaves a record no waiter will read as its own.
    this.#i32[(at >> 2) + 1] = bytes === undefined ? EMPTY_OUTCOME : bytes.length;
    if (bytes !== undefined) this.#u8.set(bytes, at + 8);
    this.#i32[at >> 2] = id;
  }

  /** How flight `id` ended without a value, or undefined if it did not (or its record was reused). */
  outcomeOf(id: number): FlightOutcome | undefined {
    const at = this.#base + (id % FLIGHT_RECORDS) * FLIGHT_RECORD_BYTES;
    if (this.#i32[at >> 2] !== id) return undefined;
    const length = this.#i32[(at >> 2) + 1]!;
    if (length === EMPTY_OUTCOME) return { failed: false };
    return { failed: true, error: deserialize(this.#u8.slice(at + 8, at + 8 + length)) };
  }
}

/** The error itself if it fits and is serializable; otherwise an Error with its name, message and code. */
function serializeError(error: unknown, limit: number): Uint8Array {
  try {
    const whole = serialize(error);
    if (whole.length <= limit) return whole;
  } catch {
    // not structured-clonable: fall through to the summary
  }
  const source = error instanceof Error ? error : new Error(String(error));
  const summary = new Error(source.message.slice(0, limit / 2));
  summary.name = source.name;
  const code = (source as { code?: unknown }).code;
  if (typeof code === 'string') (summary as Error & { code: string }).code = code;
  summary.stack = `${summary.name}: ${summary.message} (stack dropped: the error did not fit the flight record)`;
  return serialize(summary);
}
