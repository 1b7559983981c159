/**
 * The tally of a response header (`--header`, e.g. the backend's hostname)
 * for one VIP: how often each value answered since start, and whether it
 * still does. A value with answers in the recent window is "receiving"; one
 * without is "drained" — what a backend looks like after Maglev stopped
 * sending it new connections. Pure (time is passed in).
 */

/** Stand-in value for answers without the header. */
export const NO_HEADER = "(none)";
/** Stand-in value once MAX_VALUES distinct values were seen. */
export const OTHER_VALUES = "(other)";
/** Distinct values tallied per VIP; bounds memory against a header that varies per request. */
export const MAX_VALUES = 32;

/** Whether a value still gets answers. */
export type TallyState = "receiving" | "drained";

/** One header value of a VIP's tally. */
export interface TallyEntry {
  readonly value: string;
  /** Answers since start. */
  readonly total: number;
  /** Answers in the recent window. */
  readonly recent: number;
  /** Share of the recent window's answers, 0..1. */
  readonly share: number;
  /** When it last answered (ms since the epoch). */
  readonly lastMs: number;
  readonly state: TallyState;
}

/** Counts of one VIP's header values, overall and recently. */
export class HeaderTally {
  /** How far back "recent" reaches. */
  readonly recentMs: number;
  readonly #totals = new Map<string, { total: number; lastMs: number }>();
  // Recent answers, oldest first: a queue with a moving head.
  #recent: { atMs: number; value: string }[] = [];
  #head = 0;

  constructor(recentMs: number) {
    this.recentMs = recentMs;
  }

  /**
   * Counts one answer; `value` undefined means the header was absent.
   * Returns the value it was counted under (NO_HEADER, OTHER_VALUES).
   */
  add(value: string | undefined, atMs: number): string {
    let v = value ?? NO_HEADER;
    if (!this.#totals.has(v) && this.#totals.size >= MAX_VALUES) {
      v = OTHER_VALUES;
    }
    const e = this.#totals.get(v);
    if (e) {
      e.total++;
      e.lastMs = atMs;
    } else {
      this.#totals.set(v, { total: 1, lastMs: atMs });
    }
    this.#recent.push({ atMs, value: v });
    this.#prune(atMs);
    return v;
  }

  #prune(nowMs: number): void {
    const oldest = nowMs - this.recentMs;
    while (
      this.#head < this.#recent.length &&
      this.#recent[this.#head].atMs < oldest
    ) this.#head++;
    // Compact now and then so the array does not grow for ever.
    if (this.#head > 1024 && this.#head * 2 > this.#recent.length) {
      this.#recent = this.#recent.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Answers since start by value. */
  totals(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [v, e] of this.#totals) out[v] = e.total;
    return out;
  }

  /** Every value seen, sorted by value, with its state as of `nowMs`. */
  entries(nowMs: number): TallyEntry[] {
    this.#prune(nowMs);
    const recent = new Map<string, number>();
    for (let i = this.#head; i < this.#recent.length; i++) {
      const v = this.#recent[i].value;
      recent.set(v, (recent.get(v) ?? 0) + 1);
    }
    const inWindow = this.#recent.length - this.#head;
    return [...this.#totals.entries()]
      .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
      .map(([value, e]) => {
        const r = recent.get(value) ?? 0;
        return {
          value,
          total: e.total,
          recent: r,
          share: inWindow === 0 ? 0 : r / inWindow,
          lastMs: e.lastMs,
          state: r > 0 ? "receiving" : "drained",
        };
      });
  }
}

/**
 * The recent window for a probe interval: long enough that a backend
 * getting a third of the probes is practically never missing from it by
 * chance (30 probes: (2/3)^30 ≈ 5e-6), and at least 3 s so people can see
 * it.
 */
export function recentWindowMs(intervalMs: number): number {
  return Math.max(3000, 30 * intervalMs);
}
