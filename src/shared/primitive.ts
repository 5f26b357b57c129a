/**
 * What every shared-memory primitive has in common: its words in a SharedArrayBuffer and the
 * handle other threads attach with. Each primitive adds its own algorithm on top.
 */
import { type PrimitiveHandle, type PrimitiveSpec, handleOf } from './region.js';

export abstract class SharedPrimitive<K extends string> {
  /** The primitive's 32-bit words in shared memory; word 0 is the header (region.ts). */
  protected readonly words: Int32Array;
  readonly #spec: PrimitiveSpec<K>;
  #handle: PrimitiveHandle<K> | undefined;

  protected constructor(spec: PrimitiveSpec<K>, words: Int32Array) {
    this.#spec = spec;
    this.words = words;
  }

  /** The structured-clonable handle to send to other threads (postMessage, workerData); `attach` it there. */
  get handle(): PrimitiveHandle<K> {
    return (this.#handle ??= handleOf(this.#spec, this.words));
  }
}
