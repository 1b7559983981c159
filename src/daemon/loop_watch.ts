/**
 * How late the daemon's own event loop runs: a short repeating timer whose
 * lateness is the time the loop was busy (or the process not scheduled).
 * The checker asks it whether a probe that timed out did so because of the
 * backend or because of the checker itself.
 */

/** One tick: when it ran and how late it was. */
interface Tick {
  readonly atMs: number;
  readonly lateMs: number;
}

/** What the checker needs from a loop watch (tests use a scripted one). */
export interface LoopStalls {
  /**
   * The longest stretch the loop was stalled between `sinceMs` and now
   * (monotonic ms), counting a stall still going on.
   */
  stallSince(sinceMs: number): number;
  /** The share of the last `windowMs` the loop spent stalled, 0..1. */
  stalledShare(windowMs: number): number;
}

/** A loop watch on a real timer. */
export class LoopWatch implements LoopStalls {
  readonly #tickMs: number;
  readonly #keepMs: number;
  readonly #now: () => number;
  readonly #ticks: Tick[] = [];
  #last: number;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Ticks every `tickMs`; remembers `keepMs` of them. */
  constructor(tickMs = 25, keepMs = 30_000, now = () => performance.now()) {
    this.#tickMs = tickMs;
    this.#keepMs = keepMs;
    this.#now = now;
    this.#last = now();
  }

  /** Starts ticking; the timer does not keep the process alive. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#last = this.#now();
    this.#timer = setInterval(() => this.tick(), this.#tickMs);
    Deno.unrefTimer(this.#timer);
  }

  /** Stops ticking. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One tick (the timer's; tests call it with a scripted clock). */
  tick(): void {
    const now = this.#now();
    const lateMs = Math.max(0, now - this.#last - this.#tickMs);
    this.#last = now;
    this.#ticks.push({ atMs: now, lateMs });
    const cut = now - this.#keepMs;
    let drop = 0;
    while (drop < this.#ticks.length && this.#ticks[drop].atMs < cut) drop++;
    if (drop > 0) this.#ticks.splice(0, drop);
  }

  stallSince(sinceMs: number): number {
    const now = this.#now();
    // A stall still going on: the tick that would report it has not run.
    let worst = Math.max(0, now - this.#last - this.#tickMs);
    for (let i = this.#ticks.length - 1; i >= 0; i--) {
      const t = this.#ticks[i];
      // A tick reports the stall that ended at it and began lateMs earlier.
      if (t.atMs < sinceMs) break;
      worst = Math.max(worst, t.lateMs);
    }
    return worst;
  }

  stalledShare(windowMs: number): number {
    const now = this.#now();
    const from = now - windowMs;
    let stalled = Math.max(0, now - this.#last - this.#tickMs);
    for (let i = this.#ticks.length - 1; i >= 0; i--) {
      const t = this.#ticks[i];
      if (t.atMs < from) break;
      stalled += t.lateMs;
    }
    return Math.min(1, stalled / windowMs);
  }
}
