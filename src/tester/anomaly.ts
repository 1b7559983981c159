/**
 * What went wrong with a probe, in the words an operator watching a
 * failover uses: a timeout, an HTTP error (the VIP answered, with a bad
 * status), a network error (refused, reset, TLS failure, garbled reply) or a
 * latency spike (it worked, but far slower than usual). Consecutive
 * identical anomalies of a VIP are folded into one entry with a count, so a
 * VIP that is down for a minute is one line, not 600. Pure.
 */
import type { ProbeCode } from "../health/types.ts";

/** Kinds of anomalies, as shown and as counted in JSON reports. */
export type AnomalyKind =
  | "timeout"
  | "http-error"
  | "network-error"
  | "latency-spike";

/** Every kind, in display order. */
export const ANOMALY_KINDS: readonly AnomalyKind[] = [
  "timeout",
  "http-error",
  "network-error",
  "latency-spike",
];

/** A successful probe this many times slower than the median is a spike… */
export const SPIKE_FACTOR = 5;
/** …if it is also this much slower: microsecond jitter on loopback is not one. */
export const SPIKE_MIN_EXTRA_MS = 50;
/** Samples needed before the median is trusted as a baseline. */
export const SPIKE_MIN_SAMPLES = 20;

/** What classify needs of a probe result. */
export interface Outcome {
  readonly ok: boolean;
  readonly code: ProbeCode;
  readonly durationMs: number;
}

/**
 * The anomaly a probe shows, if any. `baseline` is the median latency of
 * the VIP's recent successful probes and `samples` how many there were;
 * only a trusted baseline turns a slow success into a spike.
 */
export function classify(
  r: Outcome,
  baseline?: number,
  samples = 0,
): AnomalyKind | undefined {
  if (!r.ok) {
    if (r.code.endsWith("TOUT")) return "timeout";
    if (r.code === "L7STS") return "http-error";
    return "network-error";
  }
  if (
    baseline !== undefined && samples >= SPIKE_MIN_SAMPLES &&
    r.durationMs > Math.max(
        SPIKE_FACTOR * baseline,
        baseline + SPIKE_MIN_EXTRA_MS,
      )
  ) return "latency-spike";
  return undefined;
}

/** One entry of the anomaly log: a run of identical anomalies of a VIP. */
export interface Anomaly {
  /** The VIP's target key. */
  readonly vip: string;
  readonly frontends: readonly string[];
  readonly kind: AnomalyKind;
  /** The first probe's text, e.g. "connection refused", "HTTP 503". */
  readonly text: string;
  readonly firstMs: number;
  readonly lastMs: number;
  readonly count: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The newest anomalies, at most `capacity`. A VIP's anomaly extends its
 * open entry when kind and text match (spikes: kind alone, their texts
 * differ by nature); a success, or a different anomaly, closes it.
 */
export class AnomalyLog {
  readonly capacity: number;
  #entries: Mutable<Anomaly>[] = [];
  readonly #open = new Map<string, Mutable<Anomaly>>();

  constructor(capacity = 200) {
    this.capacity = capacity;
  }

  /** Records an anomaly of `vip` at `atMs`. */
  note(
    vip: string,
    frontends: readonly string[],
    kind: AnomalyKind,
    text: string,
    atMs: number,
  ): void {
    const open = this.#open.get(vip);
    if (
      open && open.kind === kind &&
      (kind === "latency-spike" || open.text === text)
    ) {
      open.count++;
      open.lastMs = atMs;
      return;
    }
    const e = {
      vip,
      frontends,
      kind,
      text,
      firstMs: atMs,
      lastMs: atMs,
      count: 1,
    };
    this.#entries.push(e);
    if (this.#entries.length > this.capacity) {
      const dropped = this.#entries.shift();
      if (dropped && this.#open.get(dropped.vip) === dropped) {
        this.#open.delete(dropped.vip);
      }
    }
    this.#open.set(vip, e);
  }

  /** A normal probe of `vip`: its next anomaly starts a new entry. */
  close(vip: string): void {
    this.#open.delete(vip);
  }

  /** The newest `n` entries, newest (by last occurrence) first. */
  newest(n: number): Anomaly[] {
    return [...this.#entries]
      .sort((a, b) => b.lastMs - a.lastMs)
      .slice(0, Math.max(0, n))
      .map((e) => ({ ...e }));
  }

  /** How many entries are kept. */
  get size(): number {
    return this.#entries.length;
  }
}
