/**
 * The watch board: what every actor is doing, in shared memory, so that the main thread can see
 * a trial that stopped moving (a hang), and say what each stuck actor waits on, without asking
 * the actors (a stuck thread answers nothing; a terminated one changes nothing).
 *
 * Layout (Int32 words):
 *
 *   word 0  STOP_REQUEST  main → actor 0: the budget ran out or the run was interrupted
 *   word 1  STOP_AT       actor 0 → all: n + 1 once trial n is not to run (0: keep going)
 *   word 8 … 39           actor 0: this stride's arbiter outcomes so far, counted by the index of
 *                         the outcome spec they match (the last word: matched none). A stride
 *                         that stalls loses its threads, not these counts.
 *   word 40 + 48·a …      actor a's block:
 *     +0  TRIAL   trial + 1 of the trial it is in (0: none yet)
 *     +1  PHASE   see Phase
 *     +2  THREAD  its threadId + 1 (lock words record holders the same way)
 *     +3  THREW   trial + 1 of the last trial in which its actor function threw
 *     +4  THREW_FORBIDDEN  the same, when that exception is a FORBIDDEN outcome
 *     +5  WAITS   slots of 7 words: ACTIVE, HEADER (the primitive's header word), HOLDER (its
 *                 holder tag when it parked), WHERE (±(ref index + 1): + at the object itself,
 *                 − inside it, e.g. a cache's stripe lock; 0 unknown), ASYNC (1: an async wait),
 *                 OFFSET and LENGTH (the primitive's byte offset in its buffer, the buffer's size:
 *                 how an unnamed primitive is told apart)
 *
 * Every word has one writer (its actor's thread, or the main thread for STOP_REQUEST); the main
 * thread reads them with Atomics.load, so what it reads is at worst a moment old, never torn.
 */
import { threadId } from 'node:worker_threads';
import { describePrimitive, kindOfHeader } from '../shared/region.js';
import { type ParkObserver, observeParks } from '../shared/wait.js';
import type { PrimitiveRef } from './transport.js';

export const STOP_REQUEST = 0;
export const STOP_AT = 1;
const OUTCOME_COUNTS = 8;
const OUTCOME_SLOTS = 32;
const FIRST_BLOCK = OUTCOME_COUNTS + OUTCOME_SLOTS;
const BLOCK = 48;
const TRIAL = 0;
const PHASE = 1;
const THREAD = 2;
const THREW = 3;
const THREW_FORBIDDEN = 4;
const WAITS = 5;
const SLOT = 7;
const SLOTS = 5;
const [ACTIVE, HEADER, HOLDER, WHERE, ASYNC, OFFSET, LENGTH] = [0, 1, 2, 3, 4, 5, 6];

/** Where an actor is in its trial loop. */
export const Phase = {
  starting: 0,
  /** Its actor function is running (synchronously). */
  running: 1,
  /** Its actor function returned a promise that has not settled yet. */
  awaiting: 2,
  /** Done with its part of the trial, waiting for the others. */
  done: 3,
  /** Actor 0: running the arbiter and the reset. */
  judging: 4,
  /** Between trials (lining up for the next). */
  between: 5,
  finishing: 6,
} as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

export function boardBytes(actors: number): number {
  return 4 * (FIRST_BLOCK + BLOCK * actors);
}

/** An actor's side of the board. */
export class BoardWriter {
  readonly #words: Int32Array;
  readonly #base: number;
  #refs: readonly PrimitiveRef[] | undefined;
  #refsOf: () => readonly PrimitiveRef[] = () => [];

  constructor(board: SharedArrayBuffer, actor: number) {
    this.#words = new Int32Array(board);
    this.#base = FIRST_BLOCK + BLOCK * actor;
    Atomics.store(this.#words, this.#base + THREAD, threadId + 1);
  }

  /** Enters `phase` of trial `trial`; `refs` lists the trial's named primitives (computed at its first park only). */
  enter(trial: number, phase: Phase, refs?: () => readonly PrimitiveRef[]): void {
    if (refs !== undefined) {
      this.#refsOf = refs;
      this.#refs = undefined;
    }
    Atomics.store(this.#words, this.#base + TRIAL, trial + 1);
    Atomics.store(this.#words, this.#base + PHASE, phase);
  }

  /** Actor 0: a new stride's outcome counts start from zero. */
  clearOutcomes(): void {
    for (let i = 0; i < OUTCOME_SLOTS; i++) Atomics.store(this.#words, OUTCOME_COUNTS + i, 0);
  }

  /** Actor 0: one more trial whose outcome matched spec `specIndex` (-1: none). */
  countOutcome(specIndex: number): void {
    const at = OUTCOME_COUNTS + (specIndex < 0 || specIndex >= OUTCOME_SLOTS - 1 ? OUTCOME_SLOTS - 1 : specIndex);
    Atomics.store(this.#words, at, Atomics.load(this.#words, at) + 1); // one writer: no RMW needed
  }

  /** This actor threw in trial `trial`; `forbidden` when that outcome is graded FORBIDDEN. */
  threw(trial: number, forbidden: boolean): void {
    if (forbidden) Atomics.store(this.#words, this.#base + THREW_FORBIDDEN, trial + 1);
    Atomics.store(this.#words, this.#base + THREW, trial + 1);
  }

  /** Whether actor `actor` threw a FORBIDDEN exception in trial `trial`. */
  static threwForbiddenIn(board: Int32Array, actor: number, trial: number): boolean {
    return Atomics.load(board, FIRST_BLOCK + BLOCK * actor + THREW_FORBIDDEN) === trial + 1;
  }

  /** Whether actor `actor` threw in trial `trial` (read by actor 0 after the trial's last gate). */
  static threwIn(board: Int32Array, actor: number, trial: number): boolean {
    return Atomics.load(board, FIRST_BLOCK + BLOCK * actor + THREW) === trial + 1;
  }

  /** Reports this thread's parks on the board from now on (until {@link BoardWriter.unobserve}). */
  observe(): void {
    const observer: ParkObserver = {
      parked: (view, _index, mode) => {
        const words = this.#words;
        for (let slot = 0; slot < SLOTS; slot++) {
          const at = this.#base + WAITS + slot * SLOT;
          if (Atomics.load(words, at + ACTIVE) !== 0) continue;
          const described = describePrimitive(view);
          Atomics.store(words, at + HEADER, Atomics.load(view, 0));
          Atomics.store(words, at + HOLDER, described?.holderTag ?? 0);
          Atomics.store(words, at + WHERE, this.#where(view));
          Atomics.store(words, at + ASYNC, mode === 'async' ? 1 : 0);
          Atomics.store(words, at + OFFSET, view.byteOffset);
          Atomics.store(words, at + LENGTH, view.buffer.byteLength);
          Atomics.store(words, at + ACTIVE, 1); // last: the main thread reads a slot only once it is whole
          return slot;
        }
        return -1; // more concurrent waits than slots: this one goes unreported
      },
      resumed: (slot) => {
        if (slot >= 0) Atomics.store(this.#words, this.#base + WAITS + slot * SLOT + ACTIVE, 0);
      },
    };
    observeParks(observer);
  }

  /** Stops reporting parks. */
  static unobserve(): void {
    observeParks(undefined);
  }

  #where(view: Int32Array): number {
    this.#refs ??= this.#refsOf();
    let inside = 0;
    for (let i = 0; i < this.#refs.length; i++) {
      const ref = this.#refs[i]!;
      if (ref.buffer !== view.buffer) continue;
      if (ref.byteOffset === view.byteOffset) return i + 1;
      inside = -(i + 1);
    }
    return inside;
  }
}

/** Whether trial `trial` is to run (every actor reads it after the trial's first gate). */
export function stopsBefore(board: Int32Array, trial: number): boolean {
  const at = Atomics.load(board, STOP_AT);
  return at !== 0 && at <= trial + 1;
}

/** One wait of a stuck actor, as the board shows it. */
export interface BoardWait {
  readonly kind: string;
  readonly holderThreadId: number | null;
  /** The ref index it waits on (null: not a named primitive); `inside`: a lock inside that object. */
  readonly ref: number | null;
  readonly inside: boolean;
  readonly async: boolean;
  /** The primitive's byte offset in its buffer, and that buffer's size. */
  readonly byteOffset: number;
  readonly bufferBytes: number;
}

export interface ActorSnapshot {
  readonly actor: number;
  readonly threadId: number | null;
  readonly trial: number | null;
  readonly phase: Phase;
  readonly waits: readonly BoardWait[];
}

/** The main thread's reading of the board. */
export function readBoard(board: SharedArrayBuffer, actors: number): ActorSnapshot[] {
  const words = new Int32Array(board);
  return Array.from({ length: actors }, (_, actor) => {
    const base = FIRST_BLOCK + BLOCK * actor;
    const waits: BoardWait[] = [];
    for (let slot = 0; slot < SLOTS; slot++) {
      const at = base + WAITS + slot * SLOT;
      if (Atomics.load(words, at + ACTIVE) === 0) continue;
      const holder = Atomics.load(words, at + HOLDER);
      const where = Atomics.load(words, at + WHERE);
      waits.push({
        kind: kindOfHeader(Atomics.load(words, at + HEADER)) ?? 'sabre primitive',
        holderThreadId: holder === 0 ? null : holder - 1,
        ref: where === 0 ? null : Math.abs(where) - 1,
        inside: where < 0,
        async: Atomics.load(words, at + ASYNC) === 1,
        byteOffset: Atomics.load(words, at + OFFSET),
        bufferBytes: Atomics.load(words, at + LENGTH),
      });
    }
    const thread = Atomics.load(words, base + THREAD);
    const trial = Atomics.load(words, base + TRIAL);
    return {
      actor,
      threadId: thread === 0 ? null : thread - 1,
      trial: trial === 0 ? null : trial - 1,
      phase: Atomics.load(words, base + PHASE) as Phase,
      waits,
    };
  });
}

/**
 * The outcome counts of a stride that stalled, by spec index (the last entry: matched no spec, or
 * a spec past the 31st).
 */
export function readOutcomeCounts(board: SharedArrayBuffer): number[] {
  const words = new Int32Array(board);
  return Array.from({ length: OUTCOME_SLOTS }, (_, i) => Atomics.load(words, OUTCOME_COUNTS + i));
}

/** A number that changes whenever any actor moves (a new trial or phase). */
export function progressMark(board: SharedArrayBuffer, actors: number): string {
  const words = new Int32Array(board);
  let mark = '';
  for (let actor = 0; actor < actors; actor++) {
    const base = FIRST_BLOCK + BLOCK * actor;
    mark += `${Atomics.load(words, base + TRIAL)}.${Atomics.load(words, base + PHASE)};`;
  }
  return mark;
}
