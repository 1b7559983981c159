/**
 * The start-up warmup that makes a daemon restart hitless (product spec §2
 * "Hitless restart"). Pure: time is passed in.
 *
 * - Before `startup-min-delay`: hands off, nothing is synced.
 * - Between min and `startup-max-delay`: a frontend is released (synced) as
 *   soon as every backend it uses has left `unknown`, so a healthy backend
 *   gets back exactly the weight it had before the restart.
 * - From max on: everything is released.
 *
 * Both delays 0 disables the warmup. A reload does not restart it.
 */

/** Where the warmup is at a given time. */
export type WarmupPhase = "hold" | "release" | "done";

/** Tracks the warmup of one daemon run. */
export class Warmup {
  readonly #start: number;
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #released = new Set<string>();

  /** `startMs` on the same clock as the `nowMs` later passed in. */
  constructor(startMs: number, minDelayMs: number, maxDelayMs: number) {
    this.#start = startMs;
    this.#minMs = minDelayMs;
    // max 0 with min > 0: release everything at min.
    this.#maxMs = maxDelayMs === 0
      ? minDelayMs
      : Math.max(maxDelayMs, minDelayMs);
  }

  /** The phase at `nowMs`. */
  phase(nowMs: number): WarmupPhase {
    const t = nowMs - this.#start;
    if (t >= this.#maxMs) return "done";
    if (t < this.#minMs) return "hold";
    return "release";
  }

  /** Milliseconds until the next phase change, or undefined when done. */
  nextChangeIn(nowMs: number): number | undefined {
    const t = nowMs - this.#start;
    if (t < this.#minMs) return this.#minMs - t;
    if (t < this.#maxMs) return this.#maxMs - t;
    return undefined;
  }

  /**
   * Whether a frontend may be synced now. `settled` says whether all its
   * backends have left `unknown`; a frontend once released stays released.
   */
  mayTouch(frontend: string, nowMs: number, settled: boolean): boolean {
    const phase = this.phase(nowMs);
    if (phase === "done") return true;
    if (phase === "hold") return false;
    if (this.#released.has(frontend)) return true;
    if (settled) this.#released.add(frontend);
    return settled;
  }

  /** Whether `frontend` was released before (it stays released). */
  isReleased(frontend: string): boolean {
    return this.#released.has(frontend);
  }

  /** Whether a full sync (which may delete VIPs) is allowed. */
  fullSyncAllowed(nowMs: number): boolean {
    return this.phase(nowMs) === "done";
  }
}
