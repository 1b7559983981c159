/**
 * Prometheus metrics of the daemon (product spec §5).
 *
 * The per-backend families (one series or more per backend: state gauges,
 * probe counters, the duration histogram, transitions) live in
 * `BackendSeries`, which a scrape writes in chunks; the rest (frontend
 * gauges, the schedule-lag histogram, the VPP metrics other modules
 * register) stay on a `prom-client` registry. State gauges are computed at
 * scrape time from the checker, so they are always exactly what the API
 * shows and cost nothing between scrapes.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { HealthCheckConfig } from "../config/types.ts";
import type { FrontendState, Transition } from "../health/types.ts";
import type { MemberWeight } from "../health/frontend.ts";
import type { ProbeResult } from "../probe/types.ts";
import { BackendSeries } from "./backend_series.ts";
import type { Checker, DiscardReason, ProbeObserver } from "./checker.ts";

const FRONTEND_STATES: readonly FrontendState[] = ["unknown", "up", "down"];

/** The daemon's metric registry plus the probe observer that feeds it. */
export class DaemonMetrics implements ProbeObserver {
  /** The registry for everything but the per-backend families; other modules (VPP) register here too. */
  readonly registry = new Registry();
  /** The per-backend families. */
  readonly backends = new BackendSeries();
  #checker: Checker | undefined;
  #lag: Histogram<string>;
  #discarded: Counter<string>;
  #stretch: Gauge<string>;
  #refused: Counter<string>;
  #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
    const registers = [this.registry];
    // collect() runs with the gauge as `this`; this arrow reaches the checker.
    const frontends = () => this.#checker?.frontends() ?? [];
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
    // Two families with the original's labels, so sum() over either
    // counts each backend once.
    for (
      const [name, help, weightOf] of [
        [
          "maglev_frontend_pool_backend_weight",
          "Configured weight of a backend in a frontend pool (config or operator).",
          (m: MemberWeight) => m.configuredWeight,
        ],
        [
          "maglev_frontend_pool_backend_effective_weight",
          "Effective weight of a backend in a frontend pool: what the dataplane gets.",
          (m: MemberWeight) => m.effectiveWeight,
        ],
      ] as const
    ) {
      new Gauge({
        name,
        help,
        labelNames: ["frontend", "pool", "backend"],
        registers,
        collect() {
          this.reset();
          for (const f of frontends()) {
            for (const m of f.evaluation.members) {
              this.set({
                frontend: f.config.name,
                pool: m.pool,
                backend: m.backend,
              }, weightOf(m));
            }
          }
        },
      });
    }
    new Gauge({
      name: "maglev_frontend_guard_tripped",
      help:
        "1 while a frontend's mass-failure guard (min-healthy) holds its last good weights, else 0; only frontends with a guard.",
      labelNames: ["frontend"],
      registers,
      collect() {
        this.reset();
        for (const f of frontends()) {
          if (!f.guard) continue;
          this.set({ frontend: f.config.name }, f.guard.trip ? 1 : 0);
        }
      },
    });
    this.#lag = new Histogram({
      name: "maglev_probe_schedule_lag_seconds",
      help:
        "How late probes start compared with their schedule (event-loop pressure).",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.#discarded = new Counter({
      name: "maglev_probe_discarded_total",
      help:
        "Failed probes not counted because the checker itself was late: reason=checker-stall (its event loop stalled during the probe) or late-start (the probe started later than its timeout).",
      labelNames: ["reason"],
      registers,
    });
    for (const reason of ["checker-stall", "late-start"]) {
      this.#discarded.inc({ reason }, 0);
    }
    this.#refused = new Counter({
      name: "maglev_grpc_refused_total",
      help:
        "Requests refused by a limit: reason=watchers (too many gRPC WatchEvents streams open), metrics-busy (too many /metrics connections), metrics-slow (a request head not complete in 10 s), metrics-oversized (a request head over 16 KiB).",
      labelNames: ["reason"],
      registers,
    });
    this.#refused.inc({ reason: "watchers" }, 0);
    this.#stretch = new Gauge({
      name: "maglev_checker_interval_stretch",
      help:
        "Factor every probe interval is stretched by because the checker cannot keep its schedule (1: on schedule).",
      registers,
    });
    this.#stretch.set(1);
  }

  /** A connection the metrics listener refused or cut by a limit. */
  metricsRefused(reason: "busy" | "slow" | "oversized"): void {
    this.#refused.inc({ reason: `metrics-${reason}` });
  }

  /** A request the gRPC listener refused by a limit. */
  refused(reason: "watchers"): void {
    this.#refused.inc({ reason });
  }

  /** ProbeObserver: a failure the checker's own lateness caused. */
  onDiscard(_backend: string, reason: DiscardReason): void {
    this.#discarded.inc({ reason });
  }

  /** ProbeObserver: the checker's interval stretch changed. */
  onStretch(factor: number): void {
    this.#stretch.set(factor);
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
    this.backends.probe(
      backend,
      check.type,
      result.ok,
      result.code,
      result.durationMs / 1000,
    );
    this.#lag.observe(lagMs / 1000);
  }

  /** ProbeObserver: counts a transition. */
  onTransition(backend: string, t: Transition): void {
    this.backends.transition(backend, t.from, t.to);
  }

  /** Drops the counter series of backends that left the config. */
  forgetBackends(names: readonly string[]): void {
    this.backends.forget(names);
  }

  /**
   * The exposition for `/metrics` as a stream: the registry's families,
   * then the per-backend ones a few hundred backends per chunk.
   */
  render(
    onError: (e: unknown) => void = () => {},
  ): ReadableStream<Uint8Array> {
    const enc = new TextEncoder();
    const checker = this.#checker;
    const now = this.#now;
    const registry = this.registry;
    const backends = this.backends;
    let parts: AsyncGenerator<string> | undefined;
    return new ReadableStream<Uint8Array>({
      async pull(ctl) {
        try {
          if (parts === undefined) {
            ctl.enqueue(enc.encode(await registry.metrics()));
            const views = (checker?.backends() ?? []).map((b) => ({
              name: b.config.name,
              state: b.health.state,
              counter: b.health.counter,
              enabled: b.health.enabled,
              lastProbeAtMs: b.lastProbeAtMs,
            }));
            parts = backends.write(views, now());
            return;
          }
          const next = await parts.next();
          if (next.done) ctl.close();
          else ctl.enqueue(enc.encode(next.value));
        } catch (e) {
          // The status line is gone by now: cut the body short (the scraper
          // sees an error) and say why in the log.
          onError(e);
          ctl.error(e);
        }
      },
      async cancel() {
        await parts?.return(undefined);
      },
    });
  }

  /** Content-Type of the exposition. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
