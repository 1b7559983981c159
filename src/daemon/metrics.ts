/**
 * Prometheus metrics of the daemon (product spec §5), on `prom-client`.
 *
 * State gauges are computed at scrape time from the checker, so they are
 * always exactly what the API shows and cost nothing between scrapes.
 * Counters and histograms are fed by the checker's probe observer.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { HealthCheckConfig } from "../config/types.ts";
import type {
  BackendState,
  FrontendState,
  Transition,
} from "../health/types.ts";
import type { ProbeResult } from "../probe/types.ts";
import type { Checker, ProbeObserver } from "./checker.ts";

const BACKEND_STATES: readonly BackendState[] = [
  "unknown",
  "up",
  "down",
  "paused",
  "disabled",
  "removed",
];
const FRONTEND_STATES: readonly FrontendState[] = ["unknown", "up", "down"];

/** The daemon's metric registry plus the probe observer that feeds it. */
export class DaemonMetrics implements ProbeObserver {
  /** The registry `/metrics` renders; other modules (VPP) register here too. */
  readonly registry = new Registry();
  #checker: Checker | undefined;
  #probeTotal: Counter<"backend" | "type" | "result" | "code">;
  #probeDuration: Histogram<"backend" | "type">;
  #transitions: Counter<"backend" | "from" | "to">;
  #lag: Histogram<string>;
  #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
    const registers = [this.registry];
    // collect() runs with the gauge as `this`; these arrows reach the checker.
    const backends = () => this.#checker?.backends() ?? [];
    const frontends = () => this.#checker?.frontends() ?? [];
    const clock = () => this.#now();
    new Gauge({
      name: "maglev_backend_state",
      help: "Backend state: 1 for the current state, 0 for the others.",
      labelNames: ["backend", "state"],
      registers,
      collect() {
        this.reset();
        for (const b of backends()) {
          for (const s of BACKEND_STATES) {
            this.set(
              { backend: b.config.name, state: s },
              b.health.state === s ? 1 : 0,
            );
          }
        }
      },
    });
    new Gauge({
      name: "maglev_backend_health",
      help: "Rise/fall health counter of the backend (up when >= rise).",
      labelNames: ["backend"],
      registers,
      collect() {
        this.reset();
        for (const b of backends()) {
          this.set({ backend: b.config.name }, b.health.counter);
        }
      },
    });
    new Gauge({
      name: "maglev_backend_enabled",
      help:
        "1 if the backend is enabled, 0 if an operator or the config disabled it.",
      labelNames: ["backend"],
      registers,
      collect() {
        this.reset();
        for (const b of backends()) {
          this.set({ backend: b.config.name }, b.health.enabled ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: "maglev_backend_last_probe_age_seconds",
      help: "Seconds since the backend's last completed probe.",
      labelNames: ["backend"],
      registers,
      collect() {
        this.reset();
        const t = clock();
        for (const b of backends()) {
          if (b.lastProbeAtMs !== undefined) {
            this.set(
              { backend: b.config.name },
              Math.max(0, t - b.lastProbeAtMs) / 1000,
            );
          }
        }
      },
    });
    new Gauge({
      name: "maglev_frontend_state",
      help: "Frontend state: 1 for the current state, 0 for the others.",
      labelNames: ["frontend", "state"],
      registers,
      collect() {
        this.reset();
        for (const f of frontends()) {
          for (const s of FRONTEND_STATES) {
            this.set(
              { frontend: f.config.name, state: s },
              f.evaluation.state === s ? 1 : 0,
            );
          }
        }
      },
    });
    new Gauge({
      name: "maglev_frontend_pool_backend_weight",
      help:
        "Weight of a backend in a frontend pool: kind=configured (config or operator) or kind=effective (what the dataplane gets).",
      labelNames: ["frontend", "pool", "backend", "kind"],
      registers,
      collect() {
        this.reset();
        for (const f of frontends()) {
          for (const m of f.evaluation.members) {
            const l = {
              frontend: f.config.name,
              pool: m.pool,
              backend: m.backend,
            };
            this.set({ ...l, kind: "configured" }, m.configuredWeight);
            this.set({ ...l, kind: "effective" }, m.effectiveWeight);
          }
        }
      },
    });
    this.#probeTotal = new Counter({
      name: "maglev_probe_total",
      help:
        "Probes run, by backend, probe type, result (success/failure) and result code.",
      labelNames: ["backend", "type", "result", "code"],
      registers,
    });
    this.#probeDuration = new Histogram({
      name: "maglev_probe_duration_seconds",
      help: "Wall time of one probe, connect to verdict.",
      labelNames: ["backend", "type"],
      // Few buckets: this histogram has one series per backend and
      // dominates the size (and render time) of /metrics at 5,000 backends.
      buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 2.5],
      registers,
    });
    this.#transitions = new Counter({
      name: "maglev_backend_transitions_total",
      help: "Backend state transitions, by from and to state.",
      labelNames: ["backend", "from", "to"],
      registers,
    });
    this.#lag = new Histogram({
      name: "maglev_probe_schedule_lag_seconds",
      help:
        "How late probes start compared with their schedule (event-loop pressure).",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
  }

  /** Connects the scrape-time gauges to a checker. */
  attach(checker: Checker): void {
    this.#checker = checker;
  }

  /** ProbeObserver: counts a probe outcome. */
  onProbe(
    backend: string,
    check: HealthCheckConfig,
    result: ProbeResult,
    lagMs: number,
  ): void {
    this.#probeTotal.inc({
      backend,
      type: check.type,
      result: result.ok ? "success" : "failure",
      code: result.code,
    });
    this.#probeDuration.observe(
      { backend, type: check.type },
      result.durationMs / 1000,
    );
    this.#lag.observe(lagMs / 1000);
  }

  /** ProbeObserver: counts a transition. */
  onTransition(backend: string, t: Transition): void {
    this.#transitions.inc({ backend, from: t.from, to: t.to });
  }

  /** Drops the counter series of backends that left the config. */
  async forgetBackends(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    const gone = new Set(names);
    const metrics: (Counter<string> | Histogram<string>)[] = [
      this.#probeTotal,
      this.#probeDuration,
      this.#transitions,
    ];
    for (const metric of metrics) {
      const seen = new Set<string>();
      for (const v of (await metric.get()).values) {
        const { le: _le, ...labels } = v.labels as Record<string, string>;
        if (!gone.has(labels.backend)) continue;
        const key = JSON.stringify(labels);
        if (seen.has(key)) continue;
        seen.add(key);
        metric.remove(labels);
      }
    }
  }

  /** The exposition text for `/metrics`. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content-Type of the exposition. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
