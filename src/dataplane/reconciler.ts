/**
 * Keeps VPP's lb plugin in line with the health model.
 *
 * Every sync reads VPP (a dump), diffs it against the desired state and
 * sends only the difference. Syncs run one at a time; per-frontend requests
 * that arrive while one runs are merged into the next. Everything is gated
 * by the start-up warmup. Talks only to `LbApi`, so it never sees FFI.
 */
import type { Logger } from "../cli/log.ts";
import type { Config } from "../config/types.ts";
import type { FrontendEvaluation } from "../health/frontend.ts";
import type { BackendState } from "../health/types.ts";
import type { LbApi, LbConf } from "../vpp/types.ts";
import { LbCache } from "./cache.ts";
import {
  type DesiredAs,
  type DesiredVip,
  desiredVip,
  vipOf,
} from "./desired.ts";
import { describeOp, diff, type Op } from "./diff.ts";
import { Warmup } from "./warmup.ts";

/** What the reconciler needs to know about the daemon's state. */
export interface HealthView {
  readonly config: Config;
  evaluation(frontend: string): FrontendEvaluation | undefined;
  backendState(backend: string): BackendState | undefined;
}

/** Outcome of one sync. */
export interface SyncResult {
  /** "all" or the frontends synced. */
  readonly scope: string;
  readonly ops: readonly Op[];
  /** One line per operation VPP refused. */
  readonly errors: readonly string[];
  readonly dryRun: boolean;
  /** Set when the sync did not run (warmup, VPP away). */
  readonly skipped?: string;
}

/** Dependencies and knobs of a Reconciler. */
export interface ReconcilerOptions {
  readonly lb: LbApi;
  readonly health: HealthView;
  readonly log: Logger;
  /** Log the operations instead of sending them. */
  readonly dryRun?: boolean;
  /** Monotonic clock in ms. */
  readonly now?: () => number;
  /** Counts applied operations (maglev_vpp_lbsync_total). */
  readonly onOp?: (scope: "all" | "vip", op: Op) => void;
}

/** The desired global lb configuration from the config file. */
export function desiredConf(config: Config): LbConf | undefined {
  const lb = config.vpp.lb;
  if (!lb.ipv4SrcAddress || !lb.ipv6SrcAddress) return undefined;
  return {
    ipv4SrcAddress: lb.ipv4SrcAddress,
    ipv6SrcAddress: lb.ipv6SrcAddress,
    stickyBucketsPerCore: lb.stickyBucketsPerCore,
    flowTimeoutSeconds: Math.round(lb.flowTimeoutMs / 1000),
  };
}

function sameConf(a: LbConf, b: LbConf): boolean {
  return a.ipv4SrcAddress === b.ipv4SrcAddress &&
    a.ipv6SrcAddress === b.ipv6SrcAddress &&
    a.stickyBucketsPerCore === b.stickyBucketsPerCore &&
    a.flowTimeoutSeconds === b.flowTimeoutSeconds;
}

/** Requests sent to VPP before waiting for the first reply (its rx queue holds 1,024+). */
const IN_FLIGHT = 64;

/** Applies one operation through the LbApi. */
function apply(lb: LbApi, op: Op): Promise<void> {
  switch (op.kind) {
    case "add-vip":
      return lb.addVip(op.vip);
    case "del-vip":
      return lb.delVip(op.vip);
    case "add-as":
      return lb.addAs(op.vip, op.address, op.weight);
    case "del-as":
      return lb.delAs(op.vip, op.address, true);
    case "set-weight":
      return lb.setWeight(op.vip, op.address, op.weight, op.flush);
  }
}

/** Reconciles VPP with the health model. */
export class Reconciler {
  readonly #lb: LbApi;
  readonly #health: HealthView;
  readonly #log: Logger;
  readonly #dryRun: boolean;
  readonly #now: () => number;
  readonly #onOp?: (scope: "all" | "vip", op: Op) => void;
  readonly #warmup: Warmup;
  /** frontend + "\0" + address of ASes whose flush VPP already got. */
  readonly #flushed = new Set<string>();
  #queue: Promise<unknown> = Promise.resolve();
  #pending = new Set<string>();
  #pendingRun: Promise<SyncResult> | undefined;
  /** VPP's state as of the last dump plus acknowledged operations. */
  #cache: LbCache | undefined;

  constructor(opts: ReconcilerOptions) {
    this.#lb = opts.lb;
    this.#health = opts.health;
    this.#log = opts.log;
    this.#dryRun = opts.dryRun ?? false;
    this.#now = opts.now ?? (() => performance.now());
    this.#onOp = opts.onOp;
    const lb = opts.health.config.vpp.lb;
    this.#warmup = new Warmup(
      this.#now(),
      lb.startupMinDelayMs,
      lb.startupMaxDelayMs,
    );
  }

  /**
   * Forgets what VPP holds (after a reconnect, or when it may have changed
   * behind our back): the next sync dumps.
   */
  invalidate(): void {
    this.#cache = undefined;
  }

  /** The warmup clock, for the daemon's timers. */
  get warmup(): Warmup {
    return this.#warmup;
  }

  /** Runs `fn` after every sync already queued: one sync at a time. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * Pushes lb_conf when it differs from what VPP reports (on connect and
   * after a reload). Never during the hands-off part of the warmup.
   */
  pushConf(): Promise<void> {
    return this.#serial(async () => {
      const want = desiredConf(this.#health.config);
      if (!want || this.#warmup.phase(this.#now()) === "hold") return;
      const have = await this.#lb.getConf();
      if (sameConf(have, want)) return;
      if (this.#dryRun) {
        this.#log.info("vpp-lb-conf-dry-run", { ...want });
        return;
      }
      await this.#lb.setConf(want);
      this.#log.info("vpp-lb-conf-set", { ...want });
    });
  }

  /**
   * Syncs one frontend soon (after a transition or weight change).
   * Requests arriving while a sync runs are merged into the next one.
   */
  requestFrontend(frontend: string): Promise<SyncResult> {
    this.#pending.add(frontend);
    if (!this.#pendingRun) {
      this.#pendingRun = this.#serial(() => {
        const scope = this.#pending;
        this.#pending = new Set();
        this.#pendingRun = undefined;
        return this.#sync(scope, this.#dryRun);
      });
    }
    return this.#pendingRun;
  }

  /** A full sync (periodic, after reload or reconnect); `frontend` narrows it. */
  sync(
    opts: { frontend?: string; dryRun?: boolean } = {},
  ): Promise<SyncResult> {
    return this.#serial(() =>
      this.#sync(
        opts.frontend === undefined ? undefined : new Set([opts.frontend]),
        opts.dryRun ?? this.#dryRun,
      )
    );
  }

  #settled(frontend: string): boolean {
    const fe = this.#health.config.frontends.get(frontend);
    if (!fe) return false;
    return fe.pools.every((p) =>
      p.members.every((m) => {
        const s = this.#health.backendState(m.backend);
        return s !== undefined && s !== "unknown";
      })
    );
  }

  async #sync(
    scope: Set<string> | undefined,
    dryRun: boolean,
  ): Promise<SyncResult> {
    const label = scope ? [...scope].join(",") : "all";
    const now = this.#now();
    const config = this.#health.config;
    // Warmup: a full sync becomes a sync of the released frontends.
    let frontends = scope;
    if (!this.#warmup.fullSyncAllowed(now)) {
      const names = scope ?? new Set(config.frontends.keys());
      frontends = new Set(
        [...names].filter((f) =>
          this.#warmup.mayTouch(f, now, this.#settled(f))
        ),
      );
      if (frontends.size === 0 && !dryRun) {
        this.#log.debug("vpp-sync-held", { scope: label, reason: "warmup" });
        return { scope: label, ops: [], errors: [], dryRun, skipped: "warmup" };
      }
    }
    // Desired state only for what this sync may touch; VPP's state from the
    // cache for a scoped sync, from a fresh dump for a full one.
    const desired: DesiredVip[] = [];
    for (const fe of config.frontends.values()) {
      if (scope && !scope.has(fe.name)) continue;
      const e = this.#health.evaluation(fe.name);
      if (e) desired.push(desiredVip(config, fe, e));
    }
    let actual;
    if (scope && this.#cache) {
      actual = this.#cache.subset(desired.map((d) =>
        vipOf(
          config.frontends.get(d.frontend)!,
        )
      ));
    } else {
      const dumped = await this.#lb.dump();
      this.#cache = new LbCache(dumped);
      actual = scope ? this.#cache.subset(desired.map((d) => d.vip)) : dumped;
    }
    const key = (fe: string, a: DesiredAs) => `${fe}\0${a.address}`;
    for (const d of desired) {
      for (const a of d.ases) {
        if (!a.flush) this.#flushed.delete(key(d.frontend, a));
      }
    }
    const ops = diff(desired, actual, {
      frontends,
      flushPending: (fe, a) => !this.#flushed.has(key(fe, a)),
    });
    const errors: string[] = [];
    const kind = scope ? "vip" : "all";
    // Operations are pipelined: up to IN_FLIGHT requests are sent before
    // waiting for replies. VPP handles them one by one in the order sent,
    // so dependencies (a VIP before its ASes) hold, and replies (and these
    // callbacks) come back in the same order.
    const inFlight: Promise<void>[] = [];
    for (const op of ops) {
      const line = describeOp(op);
      if (dryRun) {
        this.#log.info("vpp-lb-op-dry-run", { op: line });
        continue;
      }
      inFlight.push(
        apply(this.#lb, op).then(() => {
          this.#cache?.apply(op);
          this.#log.info("vpp-lb-op", { op: line, scope: label });
          this.#onOp?.(kind, op);
          if (op.kind === "set-weight" && op.flush) {
            this.#flushed.add(`${op.frontend}\0${op.address}`);
          }
        }, (e) => {
          // Whatever VPP holds now is uncertain: the next sync dumps.
          this.#cache = undefined;
          const msg = `${line}: ${e instanceof Error ? e.message : String(e)}`;
          errors.push(msg);
          this.#log.error("vpp-lb-op-failed", { op: line, error: msg });
        }),
      );
      if (inFlight.length >= IN_FLIGHT) await inFlight.shift();
    }
    await Promise.all(inFlight);
    // A flush that needed no weight change counts as delivered once VPP
    // has the weight: record it so it is not re-sent on every sync.
    if (!dryRun && errors.length === 0) {
      for (const d of desired) {
        if (frontends && !frontends.has(d.frontend)) continue;
        for (const a of d.ases) {
          if (a.flush && a.weight === 0) this.#flushed.add(key(d.frontend, a));
        }
      }
    }
    return { scope: label, ops, errors, dryRun };
  }
}
