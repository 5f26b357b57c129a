/**
 * A first-in first-out queue for the pool's waiting tasks. A plain array will not do: Array#shift
 * is O(n), and the pool's queue can hold a million tasks.
 */

/** A FIFO with O(1) push and shift (amortised). */
export class Fifo<T> {
  #items: Array<T | undefined> = [];
  #head = 0;

  /** Adds `item` at the tail. */
  push(item: T): void {
    this.#items.push(item);
  }

  /** Removes and returns the head, or undefined if the queue is empty. */
  shift(): T | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    // Compact once the consumed prefix is most of the array: amortised O(1).
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Removes and returns every item. */
  drain(): T[] {
    const items = this.#items.slice(this.#head) as T[];
    this.#items = [];
    this.#head = 0;
    return items;
  }
}
