/**
 * Everything `maglev tester` knows about its VIPs, updated by one call per
 * probe result and read by the live view and the JSON reports. Pure: the
 * clock is passed in, so tests replay any sequence of results.
 */
import type { ProbeCode } from "../health/types.ts";
import {
  type Anomaly,
  type AnomalyKind,
  AnomalyLog,
  classify,
} from "./anomaly.ts";
import { type LatencySummary, LatencyWindow, summarize } from "./stats.ts";
import { HeaderTally, type TallyEntry } from "./tally.ts";
import type { Target } from "./targets.ts";

/** What the model takes from a probe result. */
export interface ProbeOutcome {
  readonly ok: boolean;
  readonly code: ProbeCode;
  readonly text: string;
  readonly durationMs: number;
  readonly status?: number;
  readonly header?: string;
}

/** Settings of a model. */
export interface ModelOptions {
  /** Tally the response header (`--header` given). */
  readonly tallyHeader: boolean;
  /** Latency window of the live view. */
  readonly rollingWindowMs: number;
  /** Recent window of the tally (receiving vs drained). */
  readonly recentWindowMs: number;
}

/** The latest probe of a VIP. */
export interface LastProbe extends ProbeOutcome {
  readonly atMs: number;
}

/** A VIP as the live view shows it. */
export interface VipView {
  readonly target: Target;
  readonly probes: number;
  readonly failures: number;
  readonly last?: LastProbe;
  /** Successful probes of the rolling window. */
  readonly latency?: LatencySummary;
  readonly tally: readonly TallyEntry[];
}

/** One VIP's JSON report for one reporting interval. */
export interface VipReport {
  readonly time: string;
  readonly frontends: readonly string[];
  readonly vip: string;
  readonly port: number;
  readonly scheme: string;
  /** Length of the interval reported, ms. */
  readonly interval_ms: number;
  readonly probes: number;
  readonly failures: number;
  readonly total_probes: number;
  readonly total_failures: number;
  /** Successful probes of this interval; null when there were none. */
  readonly latency_ms: Omit<LatencySummary, "count"> | null;
  readonly last: {
    readonly code: ProbeCode;
    readonly text: string;
    readonly status?: number;
    readonly header?: string;
  } | null;
  /** Answers by header value in this interval (only with --header). */
  readonly tally?: Record<string, number>;
  /** Answers by header value since start (only with --header). */
  readonly tally_total?: Record<string, number>;
  /** Anomalies of this interval by kind (kinds with none left out). */
  readonly anomalies: Partial<Record<AnomalyKind, number>>;
  /** Set on the last report of a run. */
  readonly final?: true;
}

/** What one reporting interval accumulates for a VIP. */
class IntervalCounts {
  probes = 0;
  failures = 0;
  latencies: number[] = [];
  tally = new Map<string, number>();
  anomalies = new Map<AnomalyKind, number>();
}

/** One VIP's state. */
class VipState {
  readonly target: Target;
  readonly window: LatencyWindow;
  readonly tally: HeaderTally;
  probes = 0;
  failures = 0;
  last: LastProbe | undefined;
  interval = new IntervalCounts();

  constructor(target: Target, o: ModelOptions) {
    this.target = target;
    this.window = new LatencyWindow(o.rollingWindowMs);
    this.tally = new HeaderTally(o.recentWindowMs);
  }
}

/** The tester's whole state: one VipState per target, and the anomaly log. */
export class TesterModel {
  readonly options: ModelOptions;
  readonly anomalies = new AnomalyLog();
  readonly #vips: VipState[];
  #intervalStartMs: number;

  constructor(targets: readonly Target[], o: ModelOptions, startMs: number) {
    this.options = o;
    this.#vips = targets.map((t) => new VipState(t, o));
    this.#intervalStartMs = startMs;
  }

  /** How many VIPs. */
  get size(): number {
    return this.#vips.length;
  }

  /**
   * Takes the result of a probe of VIP `index` finished at `atMs`; returns
   * the anomaly it shows, if any.
   */
  record(
    index: number,
    r: ProbeOutcome,
    atMs: number,
  ): AnomalyKind | undefined {
    const v = this.#vips[index];
    const iv = v.interval;
    v.probes++;
    iv.probes++;
    v.last = { ...r, atMs };
    let kind: AnomalyKind | undefined;
    if (r.ok) {
      const recent = v.window.values(atMs);
      const baseline = summarize(recent)?.p50;
      kind = classify(r, baseline, recent.length);
      v.window.add(atMs, r.durationMs);
      iv.latencies.push(r.durationMs);
    } else {
      kind = classify(r);
      v.failures++;
      iv.failures++;
    }
    // Every answer with a status carries the backend's header, failed or not.
    if (this.options.tallyHeader && r.status !== undefined) {
      const key = v.tally.add(r.header, atMs);
      iv.tally.set(key, (iv.tally.get(key) ?? 0) + 1);
    }
    const t = v.target;
    if (kind === undefined) {
      this.anomalies.close(t.key);
    } else {
      iv.anomalies.set(kind, (iv.anomalies.get(kind) ?? 0) + 1);
      const text = kind === "latency-spike"
        ? `${r.durationMs.toFixed(1)} ms`
        : r.text;
      this.anomalies.note(t.key, t.frontends, kind, text, atMs);
    }
    return kind;
  }

  /** Every VIP as of `nowMs`, for the live view. */
  views(nowMs: number): VipView[] {
    return this.#vips.map((v) => ({
      target: v.target,
      probes: v.probes,
      failures: v.failures,
      last: v.last,
      latency: v.window.summary(nowMs),
      tally: this.options.tallyHeader ? v.tally.entries(nowMs) : [],
    }));
  }

  /** The newest `n` anomalies, newest first. */
  recentAnomalies(n: number): Anomaly[] {
    return this.anomalies.newest(n);
  }

  /**
   * One report per VIP for the interval ending at `nowMs`, and a new
   * interval starts. `final` marks the last reports of a run.
   */
  takeReports(nowMs: number, final = false): VipReport[] {
    const time = new Date(nowMs).toISOString();
    const intervalMs = Math.max(0, Math.round(nowMs - this.#intervalStartMs));
    this.#intervalStartMs = nowMs;
    return this.#vips.map((v) => {
      const iv = v.interval;
      v.interval = new IntervalCounts();
      const lat = summarize(iv.latencies);
      const t = v.target;
      const report: VipReport = {
        time,
        frontends: t.frontends,
        vip: t.address,
        port: t.port,
        scheme: t.scheme,
        interval_ms: intervalMs,
        probes: iv.probes,
        failures: iv.failures,
        total_probes: v.probes,
        total_failures: v.failures,
        latency_ms: lat === undefined ? null : {
          p50: round3(lat.p50),
          p95: round3(lat.p95),
          p99: round3(lat.p99),
          max: round3(lat.max),
        },
        last: v.last === undefined ? null : {
          code: v.last.code,
          text: v.last.text,
          ...(v.last.status !== undefined ? { status: v.last.status } : {}),
          ...(v.last.header !== undefined ? { header: v.last.header } : {}),
        },
        ...(this.options.tallyHeader
          ? {
            tally: Object.fromEntries(iv.tally),
            tally_total: v.tally.totals(),
          }
          : {}),
        anomalies: Object.fromEntries(iv.anomalies),
        ...(final ? { final: true as const } : {}),
      };
      return report;
    });
  }
}

/** Rounds to microseconds: enough for loopback, short in JSON. */
function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
