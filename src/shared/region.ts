/**
 * Where a primitive lives in shared memory, and the handle that lets another thread find it.
 *
 * Every primitive occupies a few 32-bit words of a SharedArrayBuffer. Word 0 is a header that
 * names the kind and layout version, so that attaching a handle to the wrong memory is caught:
 *
 *   word 0: header = MAGIC << 16 | kind id << 8 | layout version
 *   word 1…: the primitive's own words (see each primitive's module)
 *
 * A handle is a plain object `{ kind, layout, buffer, byteOffset }`. It is structured-clonable:
 * the SharedArrayBuffer inside it is shared, not copied, when it crosses postMessage/workerData.
 */
import { HandleError, InvalidArgumentError } from '../errors.js';
import { describeValue, readOptions } from './validate.js';

const MAGIC = 0x5ab;

/** Static facts about one kind of primitive. */
export interface PrimitiveSpec<K extends string> {
  /** The tag carried in handles, e.g. `sabre/mutex`. */
  readonly kind: K;
  /** A small number unique to the kind, stored in the header word. */
  readonly id: number;
  /** The layout version; bumped whenever the word layout changes. */
  readonly layout: number;
  /** How many 32-bit words the primitive occupies, header included. */
  readonly words: number;
  /**
   * The holder tag (threadId + 1) of a primitive of this kind that records its holder, 0 when it is
   * free or holders are not recorded (a diagnostic read: a stress harness names who a stuck thread
   * waits for).
   */
  readonly holderTag?: (words: Int32Array) => number;
}

/** The structured-clonable description of a primitive that another thread attaches to. */
export interface PrimitiveHandle<K extends string = string> {
  readonly kind: K;
  readonly layout: number;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
}

/** Where to lay a primitive inside a caller's SharedArrayBuffer. */
export interface Placement {
  /** The buffer to lay the primitive in. Default: a new buffer of its own. */
  buffer?: SharedArrayBuffer;
  /** Byte offset inside `buffer`; a multiple of 4 (64 keeps a hot lock on its own cache line). Default 0. */
  byteOffset?: number;
}

/** Required alignment of a primitive's byte offset. */
export const WORD_ALIGN = 4;
/** The cache-line size that standalone primitives are padded to. */
export const CACHE_LINE = 64;

/** The header word that marks memory as holding a primitive of `spec`'s kind and layout. */
export function headerOf(spec: PrimitiveSpec<string>): number {
  return (MAGIC << 16) | (spec.id << 8) | spec.layout;
}

const specsById = new Map<number, PrimitiveSpec<string>>();
/** The most words any registered spec spans: how far back a header can reach over a new region. */
let widestWords = 1;

/**
 * Registers a spec so that header mismatches can name the kind actually found in memory, and so
 * that a new region overlapping a live primitive of this kind is refused.
 */
export function defineSpec<K extends string>(spec: PrimitiveSpec<K>): PrimitiveSpec<K> {
  specsById.set(spec.id, spec);
  widestWords = Math.max(widestWords, spec.words);
  return Object.freeze(spec);
}

/**
 * What a primitive's word view holds, for diagnostics: its kind and its holder tag (0: none
 * recorded). Undefined when the view does not start at a sabre header.
 */
export function describePrimitive(words: Int32Array): { readonly kind: string; readonly holderTag: number } | undefined {
  const spec = specOfHeader(Atomics.load(words, 0));
  return spec === undefined ? undefined : { kind: spec.kind, holderTag: spec.holderTag?.(words) ?? 0 };
}

/** The kind a header word names (e.g. 'sabre/mutex'), if it is a sabre header. */
export function kindOfHeader(header: number): string | undefined {
  return specOfHeader(header)?.kind;
}

/** The registered spec a header word names, if it is a sabre header. */
function specOfHeader(header: number): PrimitiveSpec<string> | undefined {
  return header >>> 16 === MAGIC ? specsById.get((header >>> 8) & 0xff) : undefined;
}

function checkRegion(spec: PrimitiveSpec<string>, buffer: unknown, byteOffset: unknown, fail: (m: string) => Error): void {
  if (!(buffer instanceof SharedArrayBuffer)) {
    throw fail(`buffer must be a SharedArrayBuffer, got ${describeValue(buffer)}`);
  }
  const bytes = spec.words * 4;
  if (typeof byteOffset !== 'number' || !Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % WORD_ALIGN !== 0) {
    throw fail(`byteOffset must be a non-negative multiple of ${WORD_ALIGN}, got ${describeValue(byteOffset)}`);
  }
  if (byteOffset + bytes > buffer.byteLength) {
    throw fail(`a ${spec.kind} needs ${bytes} bytes at offset ${byteOffset}, but the buffer has ${buffer.byteLength}`);
  }
}

/**
 * Refuses a region that starts inside a primitive laid out before it. Its own words are zero (the
 * caller checks), so a live primitive there has its header in one of the preceding words, at most
 * the widest spec's span back. Only registered kinds are recognised.
 */
function refuseOverlap(spec: PrimitiveSpec<string>, buffer: SharedArrayBuffer, byteOffset: number): void {
  const start = byteOffset / 4;
  const words = new Int32Array(buffer, 0, start);
  for (let at = start - 1; at >= Math.max(0, start - (widestWords - 1)); at--) {
    const found = specOfHeader(Atomics.load(words, at));
    if (found !== undefined && at + found.words > start) {
      throw new InvalidArgumentError(
        `a ${spec.kind} at offset ${byteOffset} would overlap the ${found.kind} at offset ${at * 4} (its ${found.words * 4} bytes reach offset ${(at + found.words) * 4})`,
      );
    }
  }
}

/**
 * Claims a zeroed region for a new primitive and returns its word view. The caller initialises its
 * own words and then calls {@link publishHeader}, so that a thread attaching concurrently never
 * sees a valid header over words that are not yet initialised.
 *
 * `placement` is read with {@link readOptions}: besides `buffer` and `byteOffset` it may hold only
 * the names in `extraNames` (the other options of a `create` that passes its whole options object).
 * Nothing is written until every check has passed.
 */
export function claimRegion(spec: PrimitiveSpec<string>, placement: unknown, extraNames: readonly string[] = []): Int32Array {
  const options = readOptions(placement, ['buffer', 'byteOffset', ...extraNames], 'options');
  // Only undefined means the default: a null buffer or offset is refused by checkRegion.
  const buffer = options.buffer === undefined ? new SharedArrayBuffer(Math.max(CACHE_LINE, spec.words * 4)) : options.buffer;
  const byteOffset = options.byteOffset === undefined ? 0 : options.byteOffset;
  checkRegion(spec, buffer, byteOffset, (m) => new InvalidArgumentError(m));
  const view = new Int32Array(buffer as SharedArrayBuffer, byteOffset as number, spec.words);
  for (let i = 0; i < view.length; i++) {
    // Refusing non-zero memory protects a live primitive from being re-initialised under its users.
    if (Atomics.load(view, i) !== 0) {
      throw new InvalidArgumentError(`the ${spec.words * 4} bytes at offset ${byteOffset} are not zeroed (already in use?); a ${spec.kind} needs fresh memory`);
    }
  }
  // Zero words can still be the tail of a primitive before them (a mutex's words 1..3 are zero while it is free).
  refuseOverlap(spec, buffer as SharedArrayBuffer, byteOffset as number);
  return view;
}

/** Writes the header last: a seq-cst store, so every word initialised before it is visible to whoever reads the header. */
export function publishHeader(spec: PrimitiveSpec<string>, view: Int32Array): void {
  Atomics.store(view, 0, headerOf(spec));
}

/** Validates a handle against the expected spec and the memory it points at; returns the word view. */
export function attachRegion(spec: PrimitiveSpec<string>, handle: unknown): Int32Array {
  if (typeof handle !== 'object' || handle === null) {
    throw new HandleError(`expected a ${spec.kind} handle, got ${describeValue(handle)}`);
  }
  const { kind, layout, buffer, byteOffset } = handle as Partial<PrimitiveHandle>;
  if (kind !== spec.kind) {
    throw new HandleError(`expected a ${spec.kind} handle, got ${typeof kind === 'string' ? `a ${kind} handle` : 'an object without a kind'}`);
  }
  if (layout !== spec.layout) {
    throw new HandleError(`this ${spec.kind} handle has layout version ${describeValue(layout)}; this build of sabre reads version ${spec.layout}`);
  }
  checkRegion(spec, buffer, byteOffset, (m) => new HandleError(`bad ${spec.kind} handle: ${m}`));
  const view = new Int32Array(buffer as SharedArrayBuffer, byteOffset, spec.words);
  const header = Atomics.load(view, 0);
  if (header !== headerOf(spec)) {
    const found = specOfHeader(header)?.kind;
    throw new HandleError(
      found !== undefined
        ? `the memory at offset ${byteOffset as number} holds a ${found}, not a ${spec.kind}`
        : `no initialised ${spec.kind} at offset ${byteOffset as number} of this buffer`,
    );
  }
  return view;
}

/** Builds the frozen, structured-clonable handle for a primitive's view. */
export function handleOf<K extends string>(spec: PrimitiveSpec<K>, view: Int32Array): PrimitiveHandle<K> {
  return Object.freeze({ kind: spec.kind, layout: spec.layout, buffer: view.buffer as SharedArrayBuffer, byteOffset: view.byteOffset });
}
