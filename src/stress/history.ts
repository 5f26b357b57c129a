/**
 * Operation histories for the linearizability checker, recorded in shared memory.
 *
 * Each actor appends records to its own region; a record is stamped at invocation and at
 * response with a shared sequence counter (one Atomics.add), not with clocks: the stamps order
 * events across threads exactly, where clocks of different threads could disagree. An operation
 * whose response never came (its thread died) keeps ret = +Infinity and counts as indeterminate.
 *
 *   words (Int32):   [0] sequence counter   [1..actors] records per actor
 *   records (Float64, RECORD_WORDS each, `capacity` per actor):
 *                    op, key, arg, arg2, result, call, ret
 */

/** Operation codes (the sequential specification lives in linearizability.ts). */
export const Op = { get: 1, set: 2, setIfAbsent: 3, compareAndSet: 4, increment: 5, delete: 6 } as const;
export type OpCode = (typeof Op)[keyof typeof Op];

/** The value recorded for "no value" (an absent key, a get that found nothing). */
export const ABSENT = -(2 ** 52);

const RECORD_WORDS = 7;

/** One recorded operation. */
export interface Operation {
  readonly client: number;
  readonly op: OpCode;
  readonly key: number;
  readonly arg: number;
  readonly arg2: number;
  /** The result (booleans as 0/1); NaN while pending. */
  readonly result: number;
  readonly call: number;
  /** +Infinity when the operation never returned (indeterminate). */
  readonly ret: number;
}

/** The structured-clonable handle of a history log. */
export interface HistoryLogHandle {
  readonly words: SharedArrayBuffer;
  readonly records: SharedArrayBuffer;
  readonly actors: number;
  readonly capacity: number;
}

export class HistoryLog {
  readonly #words: Int32Array;
  readonly #records: Float64Array;
  readonly #actor: number;
  readonly #capacity: number;
  readonly #actors: number;

  private constructor(handle: HistoryLogHandle, actor: number) {
    this.#words = new Int32Array(handle.words);
    this.#records = new Float64Array(handle.records);
    this.#actor = actor;
    this.#capacity = handle.capacity;
    this.#actors = handle.actors;
  }

  static create(actors: number, capacity: number): HistoryLogHandle {
    return {
      words: new SharedArrayBuffer(4 * (actors + 1)),
      records: new SharedArrayBuffer(8 * RECORD_WORDS * capacity * Math.max(1, actors)),
      actors,
      capacity,
    };
  }

  /** The log as seen by `actor` (records go to its region; -1 records nothing). */
  static attach(handle: HistoryLogHandle, actor: number): HistoryLog {
    return new HistoryLog(handle, actor);
  }

  /** Records an invocation; returns the record's index for {@link respond}. */
  invoke(op: OpCode, key: number, arg = 0, arg2 = 0): number {
    const count = this.#words[1 + this.#actor]!;
    if (count >= this.#capacity) throw new RangeError(`history: actor ${this.#actor} recorded more than ${this.#capacity} operations in one trial`);
    const at = (this.#actor * this.#capacity + count) * RECORD_WORDS;
    const r = this.#records;
    r[at] = op;
    r[at + 1] = key;
    r[at + 2] = arg;
    r[at + 3] = arg2;
    r[at + 4] = Number.NaN;
    r[at + 6] = Number.POSITIVE_INFINITY;
    // seq-cst RMW: the stamp orders this invocation against every other thread's stamps.
    r[at + 5] = Atomics.add(this.#words, 0, 1);
    // Publishing the count after the record's words: readers (the arbiter, after a barrier) see whole records.
    Atomics.store(this.#words, 1 + this.#actor, count + 1);
    return count;
  }

  /** Records the response of invocation `index`. */
  respond(index: number, result: number | boolean): void {
    const at = (this.#actor * this.#capacity + index) * RECORD_WORDS;
    this.#records[at + 4] = typeof result === 'boolean' ? Number(result) : result;
    this.#records[at + 6] = Atomics.add(this.#words, 0, 1);
  }

  /** Every actor's operations of this trial. */
  read(): Operation[] {
    const out: Operation[] = [];
    for (let client = 0; client < this.#actors; client++) {
      const count = Atomics.load(this.#words, 1 + client);
      for (let i = 0; i < count; i++) {
        const at = (client * this.#capacity + i) * RECORD_WORDS;
        const r = this.#records;
        out.push({ client, op: r[at] as OpCode, key: r[at + 1]!, arg: r[at + 2]!, arg2: r[at + 3]!, result: r[at + 4]!, call: r[at + 5]!, ret: r[at + 6]! });
      }
    }
    return out;
  }

  /** Empties every actor's region (actor 0, between trials). */
  clear(): void {
    for (let client = 0; client <= this.#actors; client++) Atomics.store(this.#words, client, 0);
  }
}
