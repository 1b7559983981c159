/**
 * A bounded FIFO that drops its oldest entry when full: the per-backend
 * transition history (`healthchecker.transition-history`), whose size can
 * change on reload without losing the most recent entries.
 *
 * @example
 * ```ts
 * import { Ring } from "./ring.ts";
 * const r = new Ring<number>(2);
 * r.push(1); r.push(2); r.push(3);
 * r.toArray(); // [2, 3]
 * ```
 * @module
 */

function checkCapacity(n: number): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`ring capacity must be an integer >= 1, got ${n}`);
  }
}

/**
 * Bounded FIFO of capacity >= 1. A circular buffer, so pushing stays O(1)
 * however large an operator makes the history.
 */
export class Ring<T> {
  #buf: (T | undefined)[];
  #start = 0;
  #size = 0;

  /** Creates an empty ring; throws RangeError unless capacity is an integer >= 1. */
  constructor(capacity: number, items: Iterable<T> = []) {
    checkCapacity(capacity);
    this.#buf = new Array<T | undefined>(capacity);
    for (const item of items) this.push(item);
  }

  /** Maximum number of entries kept. */
  get capacity(): number {
    return this.#buf.length;
  }

  /** Number of entries currently held. */
  get size(): number {
    return this.#size;
  }

  /** Appends an entry, evicting the oldest one when the ring is full. */
  push(item: T): void {
    const cap = this.#buf.length;
    if (this.#size < cap) {
      this.#buf[(this.#start + this.#size) % cap] = item;
      this.#size++;
    } else {
      this.#buf[this.#start] = item;
      this.#start = (this.#start + 1) % cap;
    }
  }

  /** A copy of the entries, oldest first; callers may keep or mutate it freely. */
  toArray(): T[] {
    const cap = this.#buf.length;
    const out: T[] = [];
    for (let i = 0; i < this.#size; i++) {
      out.push(this.#buf[(this.#start + i) % cap] as T);
    }
    return out;
  }

  /** Changes the capacity, keeping the newest entries when shrinking. */
  resize(capacity: number): void {
    checkCapacity(capacity);
    const items = this.toArray();
    this.#buf = new Array<T | undefined>(capacity);
    this.#start = 0;
    this.#size = 0;
    for (const item of items.slice(Math.max(0, items.length - capacity))) {
      this.push(item);
    }
  }
}
