/**
 * Latency figures of `maglev tester`: nearest-rank percentiles, and a
 * rolling window of recent samples so the live view shows how a VIP
 * behaves now rather than since start. Pure (time is passed in).
 */

/** Percentiles and maximum of a set of latencies, in ms. */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * The `q`-th percentile (0 < q <= 100) of ascending `sorted` values by the
 * nearest-rank method: always one of the samples, never an interpolation,
 * so a p99 of 40 ms means a probe really took 40 ms. NaN when empty.
 */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.ceil((q / 100) * n);
  return sorted[Math.min(n, Math.max(1, rank)) - 1];
}

/** p50/p95/p99/max of `values` (any order); undefined when there are none. */
export function summarize(
  values: ArrayLike<number>,
): LatencySummary | undefined {
  const n = values.length;
  if (n === 0) return undefined;
  const sorted = Float64Array.from(values).sort();
  return {
    count: n,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[n - 1],
  };
}

/**
 * Latency samples of the last `windowMs`, at most `capacity` of them (the
 * oldest go first): a ring that starts small and grows only as far as the
 * probe rate needs, so memory stays fixed however long it runs and small
 * for a slow interval or many VIPs.
 */
export class LatencyWindow {
  readonly windowMs: number;
  readonly capacity: number;
  #at: Float64Array;
  #ms: Float64Array;
  #start = 0;
  #size = 0;

  constructor(windowMs: number, capacity = 10_000) {
    this.windowMs = windowMs;
    this.capacity = capacity;
    const initial = Math.min(capacity, 64);
    this.#at = new Float64Array(initial);
    this.#ms = new Float64Array(initial);
  }

  /** Adds a sample taken at `atMs` (non-decreasing). */
  add(atMs: number, ms: number): void {
    this.#prune(atMs);
    if (this.#size === this.#at.length) {
      if (this.#at.length < this.capacity) this.#grow();
      else {
        this.#start = (this.#start + 1) % this.#at.length;
        this.#size--;
      }
    }
    const i = (this.#start + this.#size) % this.#at.length;
    this.#at[i] = atMs;
    this.#ms[i] = ms;
    this.#size++;
  }

  /** Doubles the ring (up to capacity), keeping the samples in order. */
  #grow(): void {
    const cap = this.#at.length;
    const next = Math.min(this.capacity, cap * 2);
    const at = new Float64Array(next);
    const ms = new Float64Array(next);
    for (let k = 0; k < this.#size; k++) {
      at[k] = this.#at[(this.#start + k) % cap];
      ms[k] = this.#ms[(this.#start + k) % cap];
    }
    this.#at = at;
    this.#ms = ms;
    this.#start = 0;
  }

  /** Drops samples older than the window as of `nowMs`. */
  #prune(nowMs: number): void {
    const cap = this.#at.length;
    const oldest = nowMs - this.windowMs;
    while (this.#size > 0 && this.#at[this.#start] < oldest) {
      this.#start = (this.#start + 1) % cap;
      this.#size--;
    }
  }

  /** The samples in the window as of `nowMs`, oldest first. */
  values(nowMs: number): Float64Array {
    this.#prune(nowMs);
    const cap = this.#at.length;
    const out = new Float64Array(this.#size);
    for (let k = 0; k < this.#size; k++) {
      out[k] = this.#ms[(this.#start + k) % cap];
    }
    return out;
  }

  /** Room currently allocated, in samples (tests). */
  get allocated(): number {
    return this.#at.length;
  }

  /** Summary of the window as of `nowMs`; undefined when it is empty. */
  summary(nowMs: number): LatencySummary | undefined {
    return summarize(this.values(nowMs));
  }
}
