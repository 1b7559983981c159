/**
 * The daemon's VPP side: the connection (through src/vpp), the reconciler
 * (src/dataplane) and the triggers that drive it — transitions, the sync
 * interval, the warmup, reloads, (re)connects — plus the 5 s counter read.
 *
 * VPP being absent, away or refusing never stops probing: every failure is
 * logged and reported through the API, and the connection is retried.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { Logger } from "../cli/log.ts";
import { type Op } from "../dataplane/diff.ts";
import { vipOf } from "../dataplane/desired.ts";
import { Reconciler, type SyncResult } from "../dataplane/reconciler.ts";
import { createVpp, type Vpp } from "../vpp/create.ts";
import type { VipCounters } from "../vpp/stats.ts";
import { vipId } from "../vpp/validate.ts";
import type { LbState, VipKey, VppVersion } from "../vpp/types.ts";
import type { Checker } from "./checker.ts";
import type { EventBus } from "./events.ts";

/** How the daemon reaches VPP (flags `--vpp-*`, `--dry-run`). */
export interface DaemonVppOptions {
  readonly libPath?: string;
  readonly apiPrefix?: string;
  readonly statsSocket?: string;
  readonly dryRun: boolean;
  /** Counter read period; 5 s in production. */
  readonly countersIntervalMs?: number;
  /** VIPs maglev created before this start (state file). */
  readonly ownedVips?: readonly VipKey[];
  /** The set of VIPs maglev owns changed: save the state file. */
  readonly onOwnedChange?: () => void;
}

/** Connection facts for GetVPPInfo. */
export interface VppInfoView {
  readonly connected: boolean;
  readonly version?: VppVersion;
  readonly pid?: number;
  readonly connectedAtMs?: number;
  /** When VPP started (its stats segment's `/sys/boottime`), once read. */
  readonly bootAtMs?: number;
  /** Why VPP is not usable, when it is not. */
  readonly problem?: string;
}

/** Per-VIP counters with the time they were read. */
export interface CountersView {
  readonly atMs: number;
  readonly byFrontend: ReadonlyMap<string, VipCounters>;
}

/** VPP state is not available: off, library missing, or disconnected. */
export class VppNotAvailable extends Error {
  override name = "VppNotAvailable";
}

/** Owns the VPP connection and reconciliation of one daemon. */
export class DaemonVpp {
  readonly #checker: Checker;
  readonly #log: Logger;
  readonly #opts: DaemonVppOptions;
  #vpp: Vpp | undefined;
  #reconciler: Reconciler | undefined;
  #problem: string | undefined;
  #connectedAtMs: number | undefined;
  #bootAtMs: number | undefined;
  #counters: CountersView | undefined;
  #countersError: string | undefined;
  #timers: ReturnType<typeof setTimeout>[] = [];
  #syncTimer: ReturnType<typeof setInterval> | undefined;
  #countersTimer: ReturnType<typeof setInterval> | undefined;
  #offs: (() => void)[] = [];
  #stopped = false;
  #retrySet = new Set<string>();
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retryAttempt = 0;
  readonly #reported = new WeakSet<SyncResult>();
  #lbsync: Counter<"scope" | "kind">;
  #apiTotal: Counter<"msg" | "direction" | "result">;

  constructor(
    checker: Checker,
    bus: EventBus,
    log: Logger,
    registry: Registry,
    opts: DaemonVppOptions,
  ) {
    this.#checker = checker;
    this.#log = log;
    this.#opts = opts;
    const registers = [registry];
    const self = () => this;
    new Gauge({
      name: "maglev_vpp_connected",
      help: "1 while the daemon is connected to VPP's binary API.",
      registers,
      collect() {
        this.set(self().#vpp?.client.connected ? 1 : 0);
      },
    });
    // The original's two clocks: since VPP booted, since the daemon connected.
    new Gauge({
      name: "maglev_vpp_uptime_seconds",
      help:
        "Seconds since VPP started (its stats segment's /sys/boottime); absent until read after a connect.",
      registers,
      collect() {
        this.reset();
        const at = self().#bootAtMs;
        if (at !== undefined) this.set((Date.now() - at) / 1000);
      },
    });
    new Gauge({
      name: "maglev_vpp_connected_seconds",
      help:
        "Seconds since the daemon connected to VPP's binary API; absent while not connected.",
      registers,
      collect() {
        this.reset();
        const at = self().#connectedAtMs;
        if (at !== undefined) this.set((Date.now() - at) / 1000);
      },
    });
    new Gauge({
      name: "maglev_vpp_info",
      help: "Always 1 while connected; the labels describe the VPP.",
      labelNames: ["version", "build_date", "pid"],
      registers,
      collect() {
        this.reset();
        const v = self().#vpp?.client;
        if (v?.connected && v.version) {
          this.set({
            version: v.version.version,
            build_date: v.version.buildDate,
            pid: String(v.vpePid ?? 0),
          }, 1);
        }
      },
    });
    this.#apiTotal = new Counter({
      name: "maglev_vpp_api_total",
      help:
        "VPP binary-API messages, by message, direction (send/recv) and result.",
      labelNames: ["msg", "direction", "result"],
      registers,
    });
    this.#lbsync = new Counter({
      name: "maglev_vpp_lbsync_total",
      help: "lb changes sent to VPP, by scope (all/vip) and kind.",
      labelNames: ["scope", "kind"],
      registers,
    });
    new Counter({
      name: "maglev_vip_packets_total",
      help:
        "Packets of a frontend's VIP by lb counter: next, first, untracked, no-server.",
      labelNames: ["frontend", "prefix", "protocol", "port", "kind"],
      registers,
      collect() {
        this.reset();
        for (const [f, c] of self().#counters?.byFrontend ?? []) {
          const v = self().#vipLabels(f);
          this.inc({ ...v, kind: "next" }, c.next);
          this.inc({ ...v, kind: "first" }, c.first);
          this.inc({ ...v, kind: "untracked" }, c.untracked);
          this.inc({ ...v, kind: "no-server" }, c.noServer);
        }
      },
    });
    new Counter({
      name: "maglev_vip_route_packets_total",
      help:
        "Packets to a frontend's VIP prefix (any port), from its FIB route.",
      labelNames: ["frontend", "prefix", "protocol", "port"],
      registers,
      collect() {
        this.reset();
        for (const [f, c] of self().#counters?.byFrontend ?? []) {
          this.inc(self().#vipLabels(f), c.routePackets);
        }
      },
    });
    new Counter({
      name: "maglev_vip_route_bytes_total",
      help: "Bytes to a frontend's VIP prefix (any port), from its FIB route.",
      labelNames: ["frontend", "prefix", "protocol", "port"],
      registers,
      collect() {
        this.reset();
        for (const [f, c] of self().#counters?.byFrontend ?? []) {
          this.inc(self().#vipLabels(f), c.routeBytes);
        }
      },
    });
    this.#offs.push(bus.subscribe((e) => {
      if (e.type === "weights") {
        this.#onWeights(e.frontend);
      } else if (
        e.type === "backend" && this.#reconciler &&
        !this.#reconciler.warmup.fullSyncAllowed(performance.now())
      ) {
        // During the warmup a backend leaving `unknown` may release its
        // frontends even when no weight changed (down with flush-on-down
        // off stays at 0): give them a chance to sync now.
        for (const fe of this.#checker.config.frontends.values()) {
          if (
            fe.pools.some((p) => p.members.some((m) => m.backend === e.backend))
          ) {
            this.#onWeights(fe.name);
          }
        }
      }
    }));
  }

  /**
   * The VIPs maglev owns (for the state file): the reconciler's set, or what
   * the state file said when VPP was never reachable in this run.
   */
  ownedVips(): readonly VipKey[] {
    return this.#reconciler?.ownedVips() ?? this.#opts.ownedVips ?? [];
  }

  /** Whether maglev owns this VIP (GetVPPLBState's `managed`). */
  owns(vip: VipKey): boolean {
    return this.#reconciler?.owns(vip) ?? false;
  }

  /**
   * Hands a VIP another tool made to maglev; the next full sync removes it
   * unless a frontend claims it. Throws when VPP integration is not running.
   */
  adopt(vip: VipKey): boolean {
    if (!this.#reconciler) {
      throw new Error(
        `VPP is not available: ${this.#problem ?? "not started"}`,
      );
    }
    return this.#reconciler.adopt(vip);
  }

  /** The original's VIP labels beside `frontend` (empty once it is gone). */
  #vipLabels(frontend: string): Record<string, string> {
    const fe = this.#checker.config.frontends.get(frontend);
    return {
      frontend,
      prefix: fe?.prefix ?? "",
      protocol: fe?.protocol ?? "",
      port: String(fe?.port ?? ""),
    };
  }

  /** Opens the library and starts connecting; never throws. */
  start(): void {
    try {
      this.#vpp = createVpp({
        libPath: this.#opts.libPath || undefined,
        apiPrefix: this.#opts.apiPrefix || undefined,
        statsSocket: this.#opts.statsSocket || undefined,
        logger: this.#log,
        observer: (msg, direction, result) =>
          this.#apiTotal.inc({ msg, direction, result }),
      });
    } catch (e) {
      this.#problem = e instanceof Error ? e.message : String(e);
      this.#log.error("vpp-unavailable", {
        error: this.#problem,
        hint:
          "probing continues; fix --vpp-lib / MAGLEV_VPP_LIB or run with --vpp=false",
      });
      return;
    }
    const checker = this.#checker;
    this.#reconciler = new Reconciler({
      lb: this.#vpp.lb,
      log: this.#log,
      dryRun: this.#opts.dryRun,
      health: {
        get config() {
          return checker.config;
        },
        evaluation: (f) => checker.frontend(f)?.evaluation,
        backendState: (b) => checker.backend(b)?.health.state,
        held: (b) => checker.held(b),
      },
      onOp: (scope, op) => this.#lbsync.inc({ scope, kind: opKind(op) }),
      ownedVips: this.#opts.ownedVips,
      onOwnedChange: this.#opts.onOwnedChange,
    });
    this.#offs.push(this.#vpp.client.on((e) => {
      if (e.type === "connected") {
        this.#reconciler?.invalidate();
        this.#connectedAtMs = Date.now();
        this.#problem = undefined;
        this.#log.info("vpp-connect", {
          version: e.version.version,
          pid: e.vpePid,
        });
        void this.#afterConnect();
      } else if (e.type === "disconnected") {
        this.#reconciler?.invalidate();
        this.#connectedAtMs = undefined;
        this.#bootAtMs = undefined;
        this.#counters = undefined;
        this.#problem = `disconnected: ${e.reason}`;
        this.#log.warn("vpp-disconnect", { reason: e.reason });
      } else {
        this.#problem = `cannot connect: ${e.reason}`;
        if (e.attempt === 1 || e.attempt % 10 === 0) {
          this.#log.warn("vpp-connect-failed", {
            reason: e.reason,
            attempt: e.attempt,
            retry_ms: e.retryInMs,
          });
        }
      }
    }));
    this.#vpp.client.start();
    this.#armWarmup();
    const lb = this.#checker.config.vpp.lb;
    this.#syncTimer = setInterval(
      () => void this.#fullSync("interval"),
      lb.syncIntervalMs,
    );
    this.#countersTimer = setInterval(
      () => void this.#readCounters(),
      this.#opts.countersIntervalMs ?? 5000,
    );
  }

  /** Syncs once at each warmup phase change (min: release, max: everything). */
  #armWarmup(): void {
    const r = this.#reconciler;
    // A warmup sync can finish after stop() cleared the timers.
    if (!r || this.#stopped) return;
    const next = r.warmup.nextChangeIn(performance.now());
    if (next === undefined) return;
    this.#timers.push(setTimeout(async () => {
      const phase = r.warmup.phase(performance.now());
      this.#log.info("vpp-warmup", { phase });
      await this.#fullSync("warmup");
      if (phase === "done") this.#log.info("vpp-warmup-done", {});
      this.#armWarmup();
    }, next + 1));
  }

  async #afterConnect(): Promise<void> {
    try {
      await this.#reconciler?.pushConf();
    } catch (e) {
      this.#log.error("vpp-lb-conf-failed", { error: e });
    }
    await this.#fullSync("connect");
    await this.#readCounters();
  }

  #onWeights(frontend: string, reason = "transition"): void {
    if (!this.#vpp?.client.connected || !this.#reconciler) return;
    this.#reconciler.requestFrontend(frontend).then(
      (r) => this.#report(r, reason),
      (e) => this.#log.warn("vpp-sync-failed", { frontend, error: e }),
    );
  }

  async #fullSync(reason: string): Promise<void> {
    if (!this.#vpp?.client.connected || !this.#reconciler || this.#stopped) {
      return;
    }
    try {
      this.#report(await this.#reconciler.sync(), reason);
    } catch (e) {
      this.#log.warn("vpp-sync-failed", { reason, error: e });
    }
  }

  #report(r: SyncResult, reason: string): void {
    // Merged requests share one result: one backend in 1,000 frontends asks
    // 1,000 times for the same sync, which is reported once.
    if (this.#reported.has(r)) return;
    this.#reported.add(r);
    if (r.ops.length > 0 || r.errors.length > 0) {
      this.#log.info("vpp-sync", {
        reason,
        scope: r.scope,
        ops: r.ops.length,
        errors: r.errors.length,
        dry_run: r.dryRun,
      });
    }
    if (r.skipped) return;
    if (r.failed.length > 0) {
      this.#scheduleRetry(r.failed);
    } else if (reason === "retry" || r.scope === "all") {
      this.#retryAttempt = 0;
    }
  }

  /**
   * Syncs the frontends whose operations failed again soon, instead of at
   * the next full sync: after 250 ms, doubling per failed retry up to the
   * sync interval. "*" (a VIP nobody claims could not be removed) retries
   * with a full sync.
   */
  #scheduleRetry(failed: readonly string[]): void {
    for (const f of failed) this.#retrySet.add(f);
    if (this.#retryTimer !== undefined || this.#stopped) return;
    const cap = this.#checker.config.vpp.lb.syncIntervalMs;
    const delay = Math.min(250 * 2 ** this.#retryAttempt, cap);
    this.#retryAttempt = Math.min(this.#retryAttempt + 1, 20);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      const set = this.#retrySet;
      this.#retrySet = new Set();
      if (set.has("*")) {
        void this.#fullSync("retry");
        return;
      }
      for (const f of set) {
        if (this.#checker.config.frontends.has(f)) this.#onWeights(f, "retry");
      }
    }, delay);
  }

  /** After a reload: lb_conf if it changed, then a full sync. */
  async reloaded(): Promise<void> {
    if (!this.#vpp?.client.connected) return;
    try {
      await this.#reconciler?.pushConf();
    } catch (e) {
      this.#log.error("vpp-lb-conf-failed", { error: e });
    }
    await this.#fullSync("reload");
  }

  #require(): { vpp: Vpp; reconciler: Reconciler } {
    if (!this.#vpp || !this.#reconciler) {
      throw new VppNotAvailable(
        `VPP integration unavailable: ${this.#problem ?? "not started"}`,
      );
    }
    if (!this.#vpp.client.connected) {
      throw new VppNotAvailable(
        `VPP is not connected (${
          this.#problem ?? "connecting"
        }); probing continues and the daemon keeps retrying`,
      );
    }
    return { vpp: this.#vpp, reconciler: this.#reconciler };
  }

  /** Connection facts (never throws). */
  info(): VppInfoView {
    const c = this.#vpp?.client;
    return {
      connected: c?.connected ?? false,
      version: c?.version,
      pid: c?.vpePid,
      connectedAtMs: this.#connectedAtMs,
      bootAtMs: this.#bootAtMs,
      problem: this.#problem,
    };
  }

  /**
   * What VPP's lb plugin holds now: the reconciler's view (its last dump
   * plus every operation VPP acknowledged since, with the changed VIPs'
   * buckets read again) when it has one. The dashboard asks after every
   * transition, so only an unknown state costs a full dump.
   */
  async lbState(): Promise<LbState> {
    const { vpp, reconciler } = this.#require();
    return await reconciler.viewState() ?? await vpp.lb.dump();
  }

  /** Operator-requested sync, all frontends or one; dry-run sends nothing. */
  sync(frontend?: string, dryRun?: boolean): Promise<SyncResult> {
    return this.#require().reconciler.sync({ frontend, dryRun });
  }

  /** The latest counters. */
  counters(): CountersView {
    this.#require();
    return this.#counters ?? { atMs: 0, byFrontend: new Map() };
  }

  async #readCounters(): Promise<void> {
    const vpp = this.#vpp;
    if (!vpp?.client.connected || this.#stopped) return;
    try {
      const fes = [...this.#checker.config.frontends.values()];
      const keys = fes.map((f) => vipOf(f));
      const idx = await vpp.lb.counterIndexes(keys);
      const byVip = await vpp.stats.readVipCounters(idx);
      // Read with the first counters of each connection: a VPP restart
      // (a new boot time) always comes with a reconnect.
      if (this.#bootAtMs === undefined) {
        const s = await vpp.stats.bootTime();
        if (s !== undefined) this.#bootAtMs = Math.round(s * 1000);
      }
      const byFrontend = new Map<string, VipCounters>();
      for (const f of fes) {
        const c = byVip.get(vipId(vipOf(f)));
        if (c) byFrontend.set(f.name, c);
      }
      this.#counters = { atMs: Date.now(), byFrontend };
      this.#countersError = undefined;
    } catch (e) {
      // A wrong --vpp-stats-socket or missing permission fails every 5 s:
      // say it once at warn (and again when the reason changes).
      const msg = e instanceof Error ? e.message : String(e);
      const level = msg === this.#countersError ? "debug" : "warn";
      this.#countersError = msg;
      this.#log.log(level, "vpp-counters-failed", {
        error: msg,
        hint: "check --vpp-stats-socket and that the daemon may read it",
      });
    }
  }

  /** Stops timers and disconnects. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    clearTimeout(this.#retryTimer);
    clearInterval(this.#syncTimer);
    clearInterval(this.#countersTimer);
    for (const off of this.#offs) off();
    await this.#vpp?.close();
  }
}

function opKind(op: Op): string {
  switch (op.kind) {
    case "add-vip":
      return "vip_added";
    case "del-vip":
      return "vip_removed";
    case "add-as":
      return "as_added";
    case "del-as":
      return "as_removed";
    case "set-weight":
      return "as_weight_updated";
  }
}
