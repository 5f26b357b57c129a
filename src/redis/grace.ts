/**
 * The fail-safe's memory: the last value Redis confirmed for each key this process read or wrote
 * (as its encoding, so that each serve decodes a fresh copy), for at most `graceMs` after that
 * confirmation, and at most `maxEntries` keys (the least recently confirmed go first: a Map keeps
 * insertion order, and a confirmation re-inserts).
 *
 * It is only read while Redis is unavailable. When Redis comes back the whole map is dropped:
 * what it held was confirmed before the outage, and anything may have changed during it, so no
 * value served from it may outlive the outage (the 'available' event says how many were served).
 */
export class GraceValues {
  readonly #graceMs: number;
  readonly #maxEntries: number;
  readonly #values = new Map<string, { readonly raw: Buffer; readonly confirmedAt: number }>();
  /** Values served during the current outage. */
  #served = 0;

  constructor(graceMs: number, maxEntries: number) {
    this.#graceMs = graceMs;
    this.#maxEntries = graceMs > 0 ? maxEntries : 0;
  }

  /** Records the value Redis just confirmed for `valueKey` (undefined: the key has none). */
  confirm(valueKey: Buffer, raw: Buffer | undefined): void {
    if (this.#maxEntries === 0) return;
    const id = valueKey.toString('latin1');
    this.#values.delete(id);
    if (raw === undefined) return;
    // A copy: the reply may share its memory with other replies.
    this.#values.set(id, { raw: Buffer.from(raw), confirmedAt: Date.now() });
    if (this.#values.size > this.#maxEntries) this.#values.delete(this.#values.keys().next().value!);
  }

  /** Forgets `valueKey` (a write whose outcome is unknown: the last value is no longer known). */
  forget(valueKey: Buffer): void {
    this.#values.delete(valueKey.toString('latin1'));
  }

  /** The last value of `valueKey` if it is still within its grace period, counted as served. */
  serve(valueKey: Buffer): Buffer | undefined {
    const id = valueKey.toString('latin1');
    const entry = this.#values.get(id);
    if (entry === undefined) return undefined;
    if (Date.now() - entry.confirmedAt > this.#graceMs) {
      this.#values.delete(id);
      return undefined;
    }
    this.#served++;
    return entry.raw;
  }

  /** Drops every value (Redis is back); returns how many were served during the outage. */
  resynchronise(): number {
    const served = this.#served;
    this.#served = 0;
    this.#values.clear();
    return served;
  }
}
