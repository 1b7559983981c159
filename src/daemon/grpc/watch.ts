/**
 * One WatchEvents subscriber: a bounded queue between the daemon's
 * synchronous event bus and a network stream.
 *
 * The bus never waits for a subscriber: pushing is O(1). A subscriber that
 * falls more than `limit` events behind (it stopped reading, or its link is
 * too slow for the log level it asked for) is cut off: its queue is dropped
 * and `onOverflow` resets the stream, so memory stays bounded and probing
 * is never slowed.
 */

/** Why a subscription ended. */
export type EndReason = "overflow" | "closed";

/** A bounded, single-consumer async queue of events. */
export class Subscription<T> implements AsyncIterable<T> {
  #queue: T[] = [];
  #head = 0;
  #waiter: (() => void) | undefined;
  #ended: EndReason | undefined;
  readonly limit: number;
  #onOverflow: () => void;

  /** `onOverflow` runs once when the subscriber falls `limit` events behind. */
  constructor(limit: number, onOverflow: () => void = () => {}) {
    this.limit = limit;
    this.#onOverflow = onOverflow;
  }

  /** Events waiting to be sent. */
  get backlog(): number {
    return this.#queue.length - this.#head;
  }

  /** Why it ended, or undefined while live. */
  get ended(): EndReason | undefined {
    return this.#ended;
  }

  /** Queues an event; never blocks, never throws. */
  push(event: T): void {
    if (this.#ended) return;
    if (this.backlog >= this.limit) {
      this.#end("overflow");
      this.#onOverflow();
      return;
    }
    this.#queue.push(event);
    this.#wake();
  }

  /** Ends the subscription; the consumer still gets the events already queued. */
  close(): void {
    this.#end("closed");
  }

  #end(reason: EndReason): void {
    if (this.#ended) return;
    this.#ended = reason;
    if (reason === "overflow") {
      this.#queue = [];
      this.#head = 0;
    }
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  /** Yields queued events until closed; throws OverflowError after an overflow. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      if (this.backlog > 0) {
        const ev = this.#queue[this.#head++];
        // Compact now and then so a long-lived stream does not grow an array.
        if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
          this.#queue = this.#queue.slice(this.#head);
          this.#head = 0;
        }
        yield ev;
        continue;
      }
      if (this.#ended === "overflow") throw new OverflowError(this.limit);
      if (this.#ended) return;
      await new Promise<void>((r) => this.#waiter = r);
    }
  }
}

/** The subscriber fell too far behind and was dropped. */
export class OverflowError extends Error {
  override name = "OverflowError";
  constructor(limit: number) {
    super(
      `event stream dropped: the client fell more than ${limit} events behind (read faster, or ask for fewer events, e.g. a higher log_level)`,
    );
  }
}
