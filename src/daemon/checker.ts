/**
 * The checker owns one probe loop per backend and turns probe results into
 * health state, frontend state and events.
 *
 * Each backend has its own timer chain: a probe starts when its timer fires
 * and the next one is scheduled from the end of that probe, so a backend that
 * hangs until its timeout only ever delays itself. Operator actions and
 * reloads bump a per-backend generation number; a probe that finishes after
 * its generation was superseded is dropped, so a late result can never undo
 * a pause, a disable or a reconfiguration.
 */
import type {
  BackendConfig,
  Config,
  FrontendConfig,
  HealthCheckConfig,
} from "../config/types.ts";
import type { Logger } from "../cli/log.ts";
import { BackendHealth, HealthActionError } from "../health/backend.ts";
import {
  evaluateFrontend,
  type FrontendEvaluation,
  type MemberWeight,
} from "../health/frontend.ts";
import { FrontendGuard, type GuardTrip } from "../health/guard.ts";
import { initialProbeDelay, nextProbeDelay } from "../health/schedule.ts";
import type { FrontendState, Transition } from "../health/types.ts";
import { failureCode } from "../probe/deadline.ts";
import type { Prober, ProbeResult } from "../probe/types.ts";
import type { EventBus } from "./events.ts";
import type { LoopStalls } from "./loop_watch.ts";
import type { SavedBackend, SavedState, SavedWeight } from "./state_file.ts";

/** Why an operator request was refused; maps onto gRPC status codes. */
export type CheckerErrorCode =
  | "not-found"
  | "invalid-argument"
  | "failed-precondition";

/** A refused operator request, with a message that says what to do. */
export class CheckerError extends Error {
  override name = "CheckerError";
  constructor(readonly code: CheckerErrorCode, message: string) {
    super(message);
  }
}

/** Receives every probe outcome; the metrics module implements it. */
export interface ProbeObserver {
  /** `lagMs`: how late the probe started compared with its schedule. */
  onProbe(
    backend: string,
    check: HealthCheckConfig,
    result: ProbeResult,
    lagMs: number,
  ): void;
  onTransition(backend: string, t: Transition): void;
  /** A failed probe was not counted: the checker, not the backend, was late. */
  onDiscard?(backend: string, reason: DiscardReason): void;
  /** The factor the checker stretches every probe interval by (1: none). */
  onStretch?(factor: number): void;
}

/** Why a probe's failure was not counted. */
export type DiscardReason = "checker-stall" | "late-start";

/** Timeout codes: the only failures the checker's own lateness can cause. */
const TIMEOUTS: ReadonlySet<string> = new Set([
  "L3TOUT",
  "L4TOUT",
  "L6TOUT",
  "L7TOUT",
]);

/**
 * Consecutive failures of one backend discarded at most: a backend that
 * really hangs while the checker stays overloaded still goes down, later
 * (with the default 1 s interval, about 10 s later).
 */
const MAX_DISCARDS = 10;
/** How often the checker looks at its own load to stretch or relax. */
const LOAD_CHECK_MS = 5_000;
/** Stalled share of the loop above which intervals are stretched. */
const OVERLOADED_SHARE = 0.25;
/** Stalled share below which a stretch is relaxed. */
const RECOVERED_SHARE = 0.05;
const MAX_STRETCH = 4;

/** Dependencies of a Checker; clocks and randomness are injectable for tests. */
export interface CheckerOptions {
  config: Config;
  prober: Prober;
  bus: EventBus;
  log: Logger;
  observer?: ProbeObserver;
  /** Wall clock (ms since epoch) for transition times. */
  now?: () => number;
  /** Monotonic clock (ms) for scheduling and lag. */
  monotonic?: () => number;
  random?: () => number;
  /**
   * Called after anything the state file keeps changed: "operator" for a
   * pause, resume, disable, enable, weight or reload (save now), "verdict"
   * for a probe's transition (save soon).
   */
  onChange?: (kind: "operator" | "verdict") => void;
  /**
   * The event loop's own stalls (the daemon's LoopWatch). Without it every
   * probe counts, whatever the checker's load.
   */
  stalls?: LoopStalls;
  /** How often the load is looked at (LOAD_CHECK_MS; tests shorten it). */
  loadCheckMs?: number;
}

/** What `restoreState` did, for the log and tests. */
export interface RestoreSummary {
  readonly paused: readonly string[];
  readonly disabled: readonly string[];
  readonly verdicts: readonly string[];
  /** Saved verdicts not used: too old, or about another address or probe. */
  readonly staleVerdicts: number;
  readonly weights: number;
  /** Saved entries that no longer apply, each with why. */
  readonly dropped: readonly string[];
}

/** A backend as the API and metrics see it. */
export interface BackendStatus {
  readonly config: BackendConfig;
  readonly check: HealthCheckConfig;
  readonly health: BackendHealth;
  /** Wall-clock time of the last completed probe, if any. */
  readonly lastProbeAtMs?: number;
  /** A probe is running right now. */
  readonly probing: boolean;
}

/** A frontend with runtime weight overrides applied, and its evaluation. */
export interface FrontendStatus {
  readonly config: FrontendConfig;
  readonly evaluation: FrontendEvaluation;
  /** Its mass-failure guard (min-healthy), when it has one. */
  readonly guard?: { readonly minHealthy: number; readonly trip?: GuardTrip };
}

/** What a reload changed, for the log and the ReloadConfig reply. */
export interface ReloadSummary {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Address, enabled flag or probe type changed: restarted from `unknown`. */
  readonly changed: readonly string[];
  /** Other health-check settings changed: state kept, new settings from the next probe. */
  readonly retuned: readonly string[];
  readonly unchanged: number;
  readonly frontendsAdded: readonly string[];
  readonly frontendsRemoved: readonly string[];
}

class Runner {
  timer: ReturnType<typeof setTimeout> | undefined;
  generation = 0;
  inFlight = false;
  dueAt = 0;
  lastProbeAtMs: number | undefined;
  /** The probe time of a verdict restored from the state file, until a probe of our own. */
  restoredAtMs: number | undefined;
  /** Failures discarded in a row (see MAX_DISCARDS). */
  discards = 0;
  constructor(
    public cfg: BackendConfig,
    public check: HealthCheckConfig,
    public health: BackendHealth,
  ) {}
}

/**
 * What a backend's health is about: its address, whether it is enabled, and
 * what kind of probe judges it (the type, and TLS or not). A reload that
 * changes any of these starts the backend from `unknown`; any other change
 * (timing, rise/fall, port, path, expected codes, …) keeps its state,
 * counter and history and applies from its next probe — a reload that
 * retunes checks must never drain a VIP.
 */
function probeIdentity(b: BackendConfig, c: HealthCheckConfig): string {
  return JSON.stringify([b.address, b.enabled, c.type, c.params.tls ?? false]);
}

/** The health-check settings (and backend fields) a reload changed. */
function changedSettings(
  oldB: BackendConfig,
  oldC: HealthCheckConfig,
  b: BackendConfig,
  c: HealthCheckConfig,
): string[] {
  const out: string[] = [];
  for (const k of Object.keys(b) as (keyof BackendConfig)[]) {
    if (JSON.stringify(oldB[k]) !== JSON.stringify(b[k])) out.push(k);
  }
  for (const k of Object.keys(c) as (keyof HealthCheckConfig)[]) {
    if (k === "params") continue;
    if (JSON.stringify(oldC[k]) !== JSON.stringify(c[k])) out.push(k);
  }
  const before: Record<string, unknown> = { ...oldC.params };
  const after: Record<string, unknown> = { ...c.params };
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) out.push(k);
  }
  return out;
}

/** The probe scheduler and health bookkeeper of the daemon. */
export class Checker {
  #config: Config;
  #prober: Prober;
  #bus: EventBus;
  #log: Logger;
  #observer?: ProbeObserver;
  #now: () => number;
  #mono: () => number;
  #random: () => number;
  #runners = new Map<string, Runner>();
  /** frontend → "pool\0backend" → weight set at runtime by an operator. */
  #overrides = new Map<string, Map<string, number>>();
  /** frontend → "pool\0backend" → when the operator set it. */
  #overrideTimes = new Map<string, Map<string, number>>();
  #onChange?: (kind: "operator" | "verdict") => void;
  /**
   * Backends a reload restarted from `unknown` (new address or probe type)
   * while they were up, until their first verdict: VPP keeps their weight.
   */
  #held = new Map<string, { previousAddress: string }>();
  readonly #stalls?: LoopStalls;
  readonly #loadCheckMs: number;
  /** Every probe delay is multiplied by this while the checker is overloaded. */
  #stretch = 1;
  #loadTimer: ReturnType<typeof setInterval> | undefined;
  readonly #stretchListeners = new Set<(factor: number) => void>();
  /** Mass-failure guards of the frontends with min-healthy. */
  readonly #guards = new Map<string, FrontendGuard>();
  #effective = new Map<string, FrontendConfig>();
  #evaluations = new Map<string, FrontendEvaluation>();
  /** backend → frontends that reference it. */
  #usedBy = new Map<string, Set<string>>();
  #running = false;
  #probesCompleted = 0;
  #lastProgressMono = 0;

  constructor(opts: CheckerOptions) {
    this.#config = opts.config;
    this.#prober = opts.prober;
    this.#bus = opts.bus;
    this.#log = opts.log;
    this.#observer = opts.observer;
    this.#now = opts.now ?? Date.now;
    this.#mono = opts.monotonic ?? (() => performance.now());
    this.#random = opts.random ?? Math.random;
    this.#onChange = opts.onChange;
    this.#stalls = opts.stalls;
    this.#loadCheckMs = opts.loadCheckMs ?? LOAD_CHECK_MS;
    for (const b of opts.config.backends.values()) {
      this.#runners.set(b.name, this.#newRunner(b, opts.config));
    }
    this.#rebuildFrontends(true);
  }

  /** The configuration currently in force. */
  get config(): Config {
    return this.#config;
  }

  /** Probes finished since start; the systemd watchdog checks that it moves. */
  get probesCompleted(): number {
    return this.#probesCompleted;
  }

  /** Monotonic time of the last finished probe or scheduler tick. */
  get lastProgress(): number {
    return this.#lastProgressMono;
  }

  /** Starts every probe loop, spread over the first interval. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    if (this.#stalls) {
      this.#loadTimer = setInterval(
        () => this.#checkLoad(),
        this.#loadCheckMs,
      );
    }
    this.#lastProgressMono = this.#mono();
    for (const r of this.#runners.values()) {
      if (r.health.probing) {
        this.#schedule(r, initialProbeDelay(r.check, this.#random));
      }
    }
  }

  /** Stops every loop; probes in flight are abandoned (their results dropped). */
  stop(): void {
    this.#running = false;
    clearInterval(this.#loadTimer);
    this.#loadTimer = undefined;
    for (const r of this.#runners.values()) this.#cancel(r);
  }

  /** The factor probe intervals are stretched by now (1: on schedule). */
  get stretch(): number {
    return this.#stretch;
  }

  /** Calls `fn` whenever the stretch changes; returns the unsubscribe. */
  onStretch(fn: (factor: number) => void): () => void {
    this.#stretchListeners.add(fn);
    return () => this.#stretchListeners.delete(fn);
  }

  /**
   * When the loop was stalled for more than a quarter of the last few
   * seconds, the checker cannot keep its schedule: rather than start probes
   * late (and time them out itself), it spaces all of them out evenly, by
   * up to MAX_STRETCH, and says so. It relaxes again once the loop is free.
   */
  #checkLoad(): void {
    if (!this.#stalls) return;
    const share = this.#stalls.stalledShare(this.#loadCheckMs);
    let next = this.#stretch;
    if (share > OVERLOADED_SHARE) next = Math.min(MAX_STRETCH, next * 1.5);
    else if (share < RECOVERED_SHARE) next = Math.max(1, next / 1.5);
    next = Math.round(next * 100) / 100;
    if (next === this.#stretch) return;
    const was = this.#stretch;
    this.#stretch = next;
    const fields = {
      stretch: next,
      stalledShare: Math.round(share * 100) / 100,
      meaning: next > 1
        ? `the checker cannot keep its schedule: every probe interval is ${next}× longer until it can`
        : "back on schedule",
    };
    if (next > was) this.#log.warn("checker-overloaded", fields);
    else this.#log.info("checker-relieved", fields);
    this.#observer?.onStretch?.(next);
    for (const fn of this.#stretchListeners) fn(next);
  }

  /**
   * Why a probe's failure is the checker's doing and must not count, if it
   * is: only timeouts, and only when the loop stalled during the probe for
   * a good part of its timeout, or the probe started late by more than its
   * timeout (the checker was behind).
   */
  #discardReason(
    r: Runner,
    result: ProbeResult,
    startMono: number,
    lagMs: number,
  ): DiscardReason | undefined {
    if (!this.#stalls || result.ok || !TIMEOUTS.has(result.code)) {
      return undefined;
    }
    if (r.discards >= MAX_DISCARDS) return undefined;
    const timeout = r.check.timeoutMs;
    if (this.#stalls.stallSince(startMono) >= Math.max(10, timeout / 4)) {
      return "checker-stall";
    }
    if (lagMs >= Math.max(500, timeout)) return "late-start";
    return undefined;
  }

  // --- queries ----------------------------------------------------------

  /** Names of all backends in config order. */
  backendNames(): string[] {
    return [...this.#runners.keys()];
  }

  /** Status of one backend, or undefined. */
  backend(name: string): BackendStatus | undefined {
    const r = this.#runners.get(name);
    if (!r) return undefined;
    return {
      config: r.cfg,
      check: r.check,
      health: r.health,
      lastProbeAtMs: r.lastProbeAtMs,
      probing: r.inFlight,
    };
  }

  /** Status of every backend in config order. */
  backends(): BackendStatus[] {
    return this.backendNames().map((n) => this.backend(n) as BackendStatus);
  }

  /** Names of all frontends in config order. */
  frontendNames(): string[] {
    return [...this.#effective.keys()];
  }

  /** One frontend with overrides applied and its current evaluation. */
  frontend(name: string): FrontendStatus | undefined {
    const config = this.#effective.get(name);
    const evaluation = this.#evaluations.get(name);
    if (!config || !evaluation) return undefined;
    const g = this.#guards.get(name);
    return {
      config,
      evaluation,
      ...(g ? { guard: { minHealthy: g.minHealthy, trip: g.trip } } : {}),
    };
  }

  /** Every frontend in config order. */
  frontends(): FrontendStatus[] {
    return this.frontendNames().map((n) => this.frontend(n) as FrontendStatus);
  }

  // --- operator actions -------------------------------------------------

  /** Stops probing a backend, freezing its weight. */
  pause(name: string): BackendStatus {
    return this.#act(
      name,
      "pause",
      (h, now) => h.pause(now, "paused by operator"),
    );
  }

  /** Resumes probing; the backend restarts from `unknown`. */
  resume(name: string): BackendStatus {
    return this.#act(
      name,
      "resume",
      (h, now) => h.resume(now, "resumed by operator"),
    );
  }

  /** Takes a backend out: no probes, weight 0, flows flushed. */
  disable(name: string): BackendStatus {
    return this.#act(
      name,
      "disable",
      (h, now) => h.disable(now, "disabled by operator"),
    );
  }

  /** Puts a disabled backend back; it restarts from `unknown`. */
  enable(name: string): BackendStatus {
    return this.#act(
      name,
      "enable",
      (h, now) => h.enable(now, "enabled by operator"),
    );
  }

  /**
   * Sets a pool member's weight at runtime. It survives reloads as long as
   * the configured weight of that member does not change.
   */
  setWeight(
    frontend: string,
    pool: string,
    backend: string,
    weight: number,
  ): FrontendStatus {
    const fe = this.#config.frontends.get(frontend);
    if (!fe) {
      throw new CheckerError(
        "not-found",
        `no frontend "${frontend}" (known: ${
          this.frontendNames().join(", ") || "none"
        })`,
      );
    }
    const p = fe.pools.find((p) => p.name === pool);
    if (!p) {
      throw new CheckerError(
        "not-found",
        `frontend "${frontend}" has no pool "${pool}" (pools: ${
          fe.pools.map((p) => p.name).join(", ")
        })`,
      );
    }
    if (!p.members.some((m) => m.backend === backend)) {
      throw new CheckerError(
        "not-found",
        `pool "${pool}" of frontend "${frontend}" has no backend "${backend}"`,
      );
    }
    if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
      throw new CheckerError(
        "invalid-argument",
        `weight must be a whole number from 0 to 100, not ${weight}`,
      );
    }
    let o = this.#overrides.get(frontend);
    if (!o) this.#overrides.set(frontend, o = new Map());
    o.set(`${pool}\0${backend}`, weight);
    let times = this.#overrideTimes.get(frontend);
    if (!times) this.#overrideTimes.set(frontend, times = new Map());
    times.set(`${pool}\0${backend}`, this.#now());
    this.#log.info("weight-set", { frontend, pool, backend, weight });
    this.#applyOverrides(frontend);
    this.#reevaluate(frontend);
    this.#onChange?.("operator");
    return this.frontend(frontend) as FrontendStatus;
  }

  /**
   * Whether VPP should keep `backend`'s weight as it is: a reload restarted
   * it from `unknown` while it was up, and its first probe has not spoken.
   */
  held(backend: string): { previousAddress: string } | undefined {
    return this.#held.get(backend);
  }

  // --- the state file ---------------------------------------------------

  /**
   * What the state file keeps of the checker: operator state, each
   * probing backend's verdict as of its last probe, runtime weights.
   */
  exportState(): Pick<SavedState, "backends" | "weights"> {
    const backends: Record<string, SavedBackend> = {};
    for (const [name, r] of this.#runners) {
      const h = r.health;
      const last = h.lastTransition;
      if (h.state === "paused") {
        const from = h.pausedFrom;
        backends[name] = {
          admin: {
            state: "paused",
            pausedFrom: from === "up" || from === "down" ? from : "unknown",
            atMs: last?.atMs ?? this.#now(),
            reason: last?.reason ?? "paused",
          },
        };
      } else if (h.state === "disabled" && r.cfg.enabled) {
        backends[name] = {
          admin: {
            state: "disabled",
            atMs: last?.atMs ?? this.#now(),
            reason: last?.reason ?? "disabled",
          },
        };
      } else if (h.state === "up" || h.state === "down") {
        const at = r.lastProbeAtMs ?? r.restoredAtMs;
        if (at !== undefined) {
          backends[name] = {
            verdict: {
              state: h.state,
              atMs: at,
              identity: probeIdentity(r.cfg, r.check),
            },
          };
        }
      }
    }
    const weights: SavedWeight[] = [];
    for (const [frontend, o] of this.#overrides) {
      const fe = this.#config.frontends.get(frontend);
      if (!fe) continue;
      for (const [key, weight] of o) {
        const [pool, backend] = key.split("\0");
        const configured = configuredWeight(fe, pool, backend);
        if (configured === undefined) continue;
        weights.push({
          frontend,
          pool,
          backend,
          weight,
          configured,
          atMs: this.#overrideTimes.get(frontend)?.get(key) ?? this.#now(),
        });
      }
    }
    return { backends, weights };
  }

  /**
   * Applies a state saved before a restart, before `start()`: pauses,
   * disables and runtime weights as they were; a verdict younger than
   * `fall × interval` (and about the same address and probe type) instead
   * of `unknown`. What no longer fits the config is dropped and listed.
   */
  restoreState(saved: SavedState): RestoreSummary {
    const now = this.#now();
    const paused: string[] = [];
    const disabled: string[] = [];
    const verdicts: string[] = [];
    const dropped: string[] = [];
    let staleVerdicts = 0;
    const since = (at: number) => new Date(at).toISOString();
    for (const [name, b] of Object.entries(saved.backends)) {
      const r = this.#runners.get(name);
      if (!r) {
        if (b.admin) dropped.push(`${name}: no longer in the config`);
        continue;
      }
      if (!r.cfg.enabled) {
        if (b.admin) dropped.push(`${name}: disabled in the config`);
        continue;
      }
      if (b.admin) {
        const t = r.health.restore(
          b.admin.state,
          now,
          `${b.admin.reason} at ${since(b.admin.atMs)} (restored)`,
          b.admin.pausedFrom,
        );
        if (t) (b.admin.state === "paused" ? paused : disabled).push(name);
        continue;
      }
      const v = b.verdict;
      if (!v) continue;
      const age = now - v.atMs;
      if (
        v.identity !== probeIdentity(r.cfg, r.check) || age < 0 ||
        age >= r.check.fall * r.check.intervalMs
      ) {
        staleVerdicts++;
      } else {
        const t = r.health.restore(
          v.state,
          now,
          `${v.state} at its last probe ${since(v.atMs)} (restored)`,
        );
        if (t) {
          r.restoredAtMs = v.atMs;
          verdicts.push(name);
        }
      }
    }
    let weights = 0;
    for (const w of saved.weights) {
      const fe = this.#config.frontends.get(w.frontend);
      const configured = fe
        ? configuredWeight(fe, w.pool, w.backend)
        : undefined;
      const where = `weight of ${w.backend} in ${w.frontend}/${w.pool}`;
      if (configured === undefined) {
        dropped.push(`${where}: no longer in the config`);
      } else if (configured !== w.configured) {
        dropped.push(
          `${where}: configured weight changed (${w.configured} → ${configured})`,
        );
      } else if (
        !Number.isInteger(w.weight) || w.weight < 0 || w.weight > 100
      ) {
        dropped.push(`${where}: ${w.weight} is not 0..100`);
      } else {
        const key = `${w.pool}\0${w.backend}`;
        let o = this.#overrides.get(w.frontend);
        if (!o) this.#overrides.set(w.frontend, o = new Map());
        o.set(key, w.weight);
        let times = this.#overrideTimes.get(w.frontend);
        if (!times) this.#overrideTimes.set(w.frontend, times = new Map());
        times.set(key, w.atMs);
        weights++;
      }
    }
    this.#rebuildFrontends(true);
    const summary = {
      paused,
      disabled,
      verdicts,
      staleVerdicts,
      weights,
      dropped,
    };
    this.#log.info("state-restored", {
      paused: paused.length,
      disabled: disabled.length,
      verdicts: verdicts.length,
      staleVerdicts,
      weights,
      ...(dropped.length > 0 ? { dropped } : {}),
    });
    return summary;
  }

  // --- reload -----------------------------------------------------------

  /**
   * Switches to a new, already validated config. Backends whose address,
   * enabled flag and probe type are unchanged keep their loop, state,
   * counter, history and operator overrides, whatever else of their health
   * check changed (see probeIdentity).
   */
  reload(next: Config): ReloadSummary {
    const now = this.#now();
    const prev = this.#config;
    const added: string[] = [];
    const removed: string[] = [];
    const changed: string[] = [];
    const retuned: string[] = [];
    let unchanged = 0;
    // Emitted once the new config is in place, so listeners see a consistent daemon.
    const pending: [string, Transition][] = [];

    for (const [name, r] of this.#runners) {
      if (!next.backends.has(name)) {
        this.#held.delete(name);
        this.#cancel(r);
        const t = r.health.remove(now, "removed from config");
        if (t) pending.push([name, t]);
        this.#runners.delete(name);
        removed.push(name);
      }
    }
    const rebuilt = new Map<string, Runner>();
    for (const b of next.backends.values()) {
      const old = this.#runners.get(b.name);
      const check = next.healthchecks.get(b.healthcheck) as HealthCheckConfig;
      if (!old) {
        const r = this.#newRunner(b, next);
        rebuilt.set(b.name, r);
        added.push(b.name);
        if (this.#running && r.health.probing) {
          this.#schedule(r, initialProbeDelay(check, this.#random));
        }
      } else if (
        probeIdentity(old.cfg, old.check) !== probeIdentity(b, check)
      ) {
        this.#cancel(old);
        // The runtime state resets; the history records why.
        const from = old.health.state;
        const to = b.enabled ? "unknown" : "disabled";
        const what = changedSettings(old.cfg, old.check, b, check);
        const keep = b.enabled && old.health.healthState === "up";
        this.#log.info("backend-reset-by-reload", {
          backend: b.name,
          changed: what,
          ...(keep ? { vppWeight: "kept until its first verdict" } : {}),
        });
        const t: Transition | undefined = from === to ? undefined : {
          from,
          to,
          atMs: now,
          code: "NONE",
          reason: `reload changed ${what.join(", ")}`,
        };
        const history = t
          ? [...old.health.transitions, t]
          : old.health.transitions;
        // Serving until the new probe speaks: never 0 in between.
        if (keep) {
          this.#held.set(b.name, { previousAddress: old.cfg.address });
        } else {
          this.#held.delete(b.name);
        }
        const r = this.#newRunner(b, next, history);
        if (t) pending.push([b.name, t]);
        rebuilt.set(b.name, r);
        changed.push(b.name);
        if (this.#running && r.health.probing) {
          this.#schedule(r, initialProbeDelay(check, this.#random));
        }
      } else {
        const what = changedSettings(old.cfg, old.check, b, check);
        if (what.length > 0) {
          this.#log.info("backend-retuned-by-reload", {
            backend: b.name,
            changed: what,
          });
          retuned.push(b.name);
        } else {
          unchanged++;
        }
        // From the next probe on; the one scheduled keeps its time.
        old.cfg = b;
        old.check = check;
        old.health.setRiseFall(check.rise, check.fall);
        old.health.setHistorySize(next.healthchecker.transitionHistory);
        rebuilt.set(b.name, old);
      }
    }
    this.#runners = rebuilt;

    const frontendsAdded = [...next.frontends.keys()].filter((f) =>
      !prev.frontends.has(f)
    );
    const frontendsRemoved = [...prev.frontends.keys()].filter((f) =>
      !next.frontends.has(f)
    );
    // Keep an override only while the configured weight it overrode is the same.
    for (const [fname, o] of this.#overrides) {
      const a = prev.frontends.get(fname);
      const b = next.frontends.get(fname);
      for (const key of [...o.keys()]) {
        const [pool, backend] = key.split("\0");
        if (
          !a || !b || configuredWeight(a, pool, backend) === undefined ||
          configuredWeight(a, pool, backend) !==
            configuredWeight(b, pool, backend)
        ) {
          o.delete(key);
        }
      }
      if (o.size === 0) this.#overrides.delete(fname);
    }
    this.#config = next;
    for (const f of frontendsRemoved) {
      this.#evaluations.delete(f);
      this.#effective.delete(f);
      this.#bus.publish({ type: "weights", frontend: f, atMs: now });
    }
    for (const [name, t] of pending) this.#emitTransition(name, t, false);
    this.#rebuildFrontends(false);
    const summary = {
      added,
      removed,
      changed,
      retuned,
      unchanged,
      frontendsAdded,
      frontendsRemoved,
    };
    this.#log.info("config-reloaded", { ...summary });
    this.#onChange?.("operator");
    return summary;
  }

  // --- internals ----------------------------------------------------------

  #newRunner(
    b: BackendConfig,
    config: Config,
    history?: readonly Transition[],
  ): Runner {
    const check = config.healthchecks.get(b.healthcheck) as HealthCheckConfig;
    const health = new BackendHealth(b.name, {
      rise: check.rise,
      fall: check.fall,
      historySize: config.healthchecker.transitionHistory,
      enabled: b.enabled,
      history,
    });
    return new Runner(b, check, health);
  }

  #act(
    name: string,
    action: string,
    fn: (h: BackendHealth, now: number) => Transition | undefined,
  ): BackendStatus {
    const r = this.#runners.get(name);
    if (!r) {
      throw new CheckerError(
        "not-found",
        `no backend "${name}" (see: show backends)`,
      );
    }
    let t: Transition | undefined;
    try {
      t = fn(r.health, this.#now());
    } catch (e) {
      if (e instanceof HealthActionError) {
        throw new CheckerError("failed-precondition", e.message);
      }
      throw e;
    }
    if (t) {
      this.#held.delete(name);
      this.#log.info("backend-action", { backend: name, action });
      this.#cancel(r);
      if (this.#running && r.health.probing) {
        // After resume/enable the backend is unknown: probe it promptly.
        this.#schedule(
          r,
          this.#random() * Math.min(r.check.fastIntervalMs, 1000) * 0.1,
        );
      }
      this.#emitTransition(name, t);
      this.#onChange?.("operator");
    }
    return this.backend(name) as BackendStatus;
  }

  #schedule(r: Runner, delayMs: number): void {
    const gen = r.generation;
    r.dueAt = this.#mono() + delayMs;
    r.timer = setTimeout(() => {
      r.timer = undefined;
      if (gen === r.generation) void this.#fire(r, gen);
    }, delayMs);
  }

  #cancel(r: Runner): void {
    r.generation++;
    if (r.timer !== undefined) clearTimeout(r.timer);
    r.timer = undefined;
    r.inFlight = false;
  }

  async #fire(r: Runner, gen: number): Promise<void> {
    if (!this.#running || !r.health.probing) return;
    const start = this.#mono();
    const lag = Math.max(0, start - r.dueAt);
    r.inFlight = true;
    const name = r.cfg.name;
    if (this.#log.enabled("debug")) {
      this.#log.debug("probe-start", {
        backend: name,
        type: r.check.type,
        address: r.cfg.address,
      });
    }
    let result: ProbeResult;
    try {
      result = await this.#prober.probe(r.cfg, r.check);
    } catch (e) {
      // Probers promise never to throw; if one does, count it as a failure.
      result = {
        ok: false,
        code: failureCode(r.check.type),
        text: `internal probe error: ${e instanceof Error ? e.message : e}`,
        durationMs: this.#mono() - start,
      };
    }
    if (gen !== r.generation || !this.#running) return;
    r.inFlight = false;
    const nowMs = this.#now();
    r.lastProbeAtMs = nowMs;
    this.#probesCompleted++;
    this.#lastProgressMono = this.#mono();
    this.#observer?.onProbe(name, r.check, result, lag);
    if (this.#log.enabled("debug")) {
      this.#log.debug("probe-done", {
        backend: name,
        ok: result.ok,
        code: result.code,
        text: result.text,
        ms: Math.round(result.durationMs * 10) / 10,
      });
    }
    const discard = this.#discardReason(r, result, start, lag);
    if (discard) {
      r.discards++;
      this.#observer?.onDiscard?.(name, discard);
      this.#log.debug("probe-discarded", {
        backend: name,
        reason: discard,
        code: result.code,
        lagMs: Math.round(lag),
      });
      // Retried soon, as if it had not run.
      this.#schedule(
        r,
        Math.min(r.check.fastIntervalMs, r.check.intervalMs) * this.#stretch,
      );
      return;
    }
    r.discards = 0;
    r.restoredAtMs = undefined;
    const t = r.health.recordProbe(result.ok, result.code, result.text, nowMs);
    if (t) {
      this.#emitTransition(name, t);
      this.#onChange?.("verdict");
    }
    if (r.health.probing) {
      this.#schedule(
        r,
        nextProbeDelay(r.health, r.check, this.#random) * this.#stretch,
      );
    }
  }

  #emitTransition(backend: string, t: Transition, reevaluate = true): void {
    if (t.from === "unknown" && this.#held.delete(backend)) {
      this.#log.info("backend-hold-released", { backend, to: t.to });
    }
    this.#log.info("backend-transition", {
      backend,
      from: t.from,
      to: t.to,
      code: t.code,
      reason: t.reason,
    });
    this.#observer?.onTransition(backend, t);
    this.#bus.publish({ type: "backend", backend, transition: t });
    if (!reevaluate) return;
    for (const f of this.#usedBy.get(backend) ?? []) this.#reevaluate(f);
  }

  #applyOverrides(name: string): void {
    const fe = this.#config.frontends.get(name);
    if (!fe) return;
    const o = this.#overrides.get(name);
    if (!o || o.size === 0) {
      this.#effective.set(name, fe);
      return;
    }
    this.#effective.set(name, {
      ...fe,
      pools: fe.pools.map((p) => ({
        name: p.name,
        members: p.members.map((m) => {
          const w = o.get(`${p.name}\0${m.backend}`);
          return w === undefined ? m : { backend: m.backend, weight: w };
        }),
      })),
    });
  }

  #rebuildFrontends(initial: boolean): void {
    this.#usedBy.clear();
    const order = new Map<string, FrontendConfig>();
    for (const fe of this.#config.frontends.values()) {
      this.#applyOverrides(fe.name);
      order.set(fe.name, this.#effective.get(fe.name) as FrontendConfig);
      for (const p of fe.pools) {
        for (const m of p.members) {
          let s = this.#usedBy.get(m.backend);
          if (!s) this.#usedBy.set(m.backend, s = new Set());
          s.add(fe.name);
        }
      }
    }
    this.#effective = order;
    // A guard per frontend with min-healthy; kept across reloads that keep
    // its settings, so a reload does not forget a wave in progress.
    for (const name of [...this.#guards.keys()]) {
      if (!this.#effective.has(name)) this.#guards.delete(name);
    }
    for (const fe of this.#effective.values()) {
      const window = this.#guardWindow(fe);
      const g = this.#guards.get(fe.name);
      if (fe.minHealthy === undefined) {
        this.#guards.delete(fe.name);
      } else if (
        !g || g.minHealthy !== fe.minHealthy || g.windowMs !== window
      ) {
        this.#guards.set(fe.name, new FrontendGuard(fe.minHealthy, window));
      }
    }
    for (const name of this.#effective.keys()) {
      if (initial) {
        this.#evaluations.set(name, this.#evaluate(name));
      } else {
        this.#reevaluate(name);
      }
    }
  }

  #evaluate(name: string): FrontendEvaluation {
    const fe = this.#effective.get(name) as FrontendConfig;
    const raw = evaluateFrontend(fe, (b) => this.#runners.get(b)?.health);
    const g = this.#guards.get(name);
    if (!g) return raw;
    const u = g.update(raw, this.#now(), (m) => this.#goneForSure(m));
    if (u.event === "tripped") {
      const t = g.trip!;
      this.#log.warn("frontend-guard-tripped", {
        frontend: name,
        sharePct: Math.round(t.share * 100),
        minHealthyPct: Math.round(g.minHealthy * 100),
        held: t.held,
        meaning: `a sudden wave of failures would leave ${
          Math.round(t.share * 100)
        }% of the frontend's weight (min-healthy ${
          Math.round(g.minHealthy * 100)
        }%): the last good weights stay until the backends recover or an operator confirms (maglev ctl set frontend ${name} guard confirm)`,
      });
    } else if (u.event === "cleared") {
      this.#log.info("frontend-guard-cleared", { frontend: name });
    }
    return u.evaluation;
  }

  /**
   * Whether a member leaves even while its frontend's guard holds: taken
   * out (disabled, removed), or failing with an answer from the backend (a
   * refusal, a bad status) rather than a timeout.
   */
  #goneForSure(m: MemberWeight): boolean {
    if (m.state === "disabled" || m.state === "removed") return true;
    const last = this.#runners.get(m.backend)?.health.lastResult;
    return last !== undefined && !last.ok && !TIMEOUTS.has(last.code);
  }

  /** A guard's window: the slowest probe interval among the frontend's backends. */
  #guardWindow(fe: FrontendConfig): number {
    let ms = 1000;
    for (const p of fe.pools) {
      for (const m of p.members) {
        const r = this.#runners.get(m.backend);
        if (r) ms = Math.max(ms, r.check.intervalMs);
      }
    }
    return ms;
  }

  /**
   * An operator accepts a frontend's current state while its guard holds:
   * the held weights go, the guard rearms from here.
   */
  confirmGuard(frontend: string): FrontendStatus {
    const g = this.#guards.get(frontend);
    if (!this.#effective.has(frontend)) {
      throw new CheckerError(
        "not-found",
        `no frontend "${frontend}" (see: show frontends)`,
      );
    }
    if (!g?.trip) {
      throw new CheckerError(
        "failed-precondition",
        g
          ? `the guard of frontend "${frontend}" holds nothing: there is nothing to confirm`
          : `frontend "${frontend}" has no guard (min-healthy is not set)`,
      );
    }
    const fe = this.#effective.get(frontend) as FrontendConfig;
    g.confirm(
      evaluateFrontend(fe, (b) => this.#runners.get(b)?.health),
      this.#now(),
    );
    this.#log.info("frontend-guard-confirmed", { frontend });
    this.#reevaluate(frontend);
    return this.frontend(frontend) as FrontendStatus;
  }

  /** The guard of a frontend, when it has one (min-healthy). */
  guard(frontend: string): FrontendGuard | undefined {
    return this.#guards.get(frontend);
  }

  #reevaluate(name: string): void {
    if (!this.#effective.has(name)) return;
    const prev = this.#evaluations.get(name);
    const next = this.#evaluate(name);
    this.#evaluations.set(name, next);
    const atMs = this.#now();
    const from: FrontendState = prev?.state ?? "unknown";
    if (from !== next.state) {
      this.#log.info("frontend-transition", {
        frontend: name,
        from,
        to: next.state,
      });
      this.#bus.publish({
        type: "frontend",
        frontend: name,
        from,
        to: next.state,
        atMs,
      });
    }
    if (!prev || !sameWeights(prev, next)) {
      this.#bus.publish({ type: "weights", frontend: name, atMs });
    }
  }
}

function configuredWeight(
  fe: FrontendConfig,
  pool: string,
  backend: string,
): number | undefined {
  return fe.pools.find((p) => p.name === pool)?.members.find((m) =>
    m.backend === backend
  )?.weight;
}

function sameWeights(a: FrontendEvaluation, b: FrontendEvaluation): boolean {
  if (a.members.length !== b.members.length) return false;
  for (let i = 0; i < a.members.length; i++) {
    const x = a.members[i];
    const y = b.members[i];
    if (
      x.backend !== y.backend || x.pool !== y.pool ||
      x.effectiveWeight !== y.effectiveWeight || x.flush !== y.flush
    ) return false;
  }
  return true;
}
