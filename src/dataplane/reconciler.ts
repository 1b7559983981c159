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
import type { LbApi, LbConf, LbState, VipKey } from "../vpp/types.ts";
import { LbCache } from "./cache.ts";
import { type DesiredVip, desiredVip, type HeldBackend } from "./desired.ts";
import { describeOp, diff, type Op, vipKeyString } from "./diff.ts";
import { Warmup } from "./warmup.ts";
import { slowestFirstVerdict } from "../config/warnings.ts";

/** What the reconciler needs to know about the daemon's state. */
export interface HealthView {
  readonly config: Config;
  evaluation(frontend: string): FrontendEvaluation | undefined;
  backendState(backend: string): BackendState | undefined;
  /** A backend whose VPP weight stays as it is until its first verdict. */
  held?(backend: string): HeldBackend | undefined;
}

/** Outcome of one sync. */
export interface SyncResult {
  /** "all", the frontend synced, or "N frontends". */
  readonly scope: string;
  readonly ops: readonly Op[];
  /** One line per operation VPP refused, or not sent because one it depends on failed. */
  readonly errors: readonly string[];
  /**
   * Frontends with an operation that failed or was held back, to sync
   * again soon; "*" when a VIP no frontend claims could not be removed
   * (only a full sync retries that).
   */
  readonly failed: readonly string[];
  readonly dryRun: boolean;
  /** Set when the sync did not run (warmup, VPP away). */
  readonly skipped?: string;
}

/** How a sync's scope is named in logs: short even for 1,000 frontends. */
export function scopeLabel(scope: ReadonlySet<string> | undefined): string {
  if (!scope) return "all";
  if (scope.size === 1) return [...scope][0];
  return `${scope.size} frontends`;
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
  /** VIPs maglev created before (from the state file): a full sync may remove these. */
  readonly ownedVips?: readonly VipKey[];
  /** Called when the set of VIPs maglev owns changed (save the state file). */
  readonly onOwnedChange?: () => void;
}

/** The desired global lb configuration from the config file. */
export function desiredConf(config: Config): LbConf | undefined {
  const lb = config.vpp.lb;
  if (!lb.ipv4SrcAddress || !lb.ipv6SrcAddress) return undefined;
  // Nothing to encapsulate for: a fresh install (the shipped example has no
  // frontends and placeholder addresses) must not overwrite the source
  // addresses another tool or an operator already gave VPP.
  if (config.frontends.size === 0) return undefined;
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

/** Frontends diffed at a time by a streamed (scoped) sync. */
const STREAM_CHUNK = 16;

/**
 * Requests handed to the client before waiting for the first reply. The
 * client writes at most its send window (256) into VPP and queues the rest in
 * order; keeping VPP's queue from running dry matters, because an idle VPP
 * main thread notices new binary-API messages only when it next wakes (up to
 * 10 ms later).
 */
const IN_FLIGHT = 512;

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

/** Operations acknowledged since a dump began, and whether one failed. */
interface Journal {
  readonly ops: Op[];
  tainted: boolean;
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
  /**
   * frontend → addresses of its ASes whose flush VPP already got. Nested
   * rather than keyed by a joined string: a transition of a backend in
   * 1,000 frontends looks up 16,000 ASes here.
   */
  readonly #flushed = new Map<string, Set<string>>();
  #queue: Promise<unknown> = Promise.resolve();
  #pending = new Set<string>();
  #pendingRun: Promise<SyncResult> | undefined;
  /** The full sync that runs (or is about to), and the one that waits. */
  #fullRunning: Promise<SyncResult> | undefined;
  #fullWaiting: Promise<SyncResult> | undefined;
  /** Operations acknowledged while a full sync's dump runs (see #dumpThenSync). */
  readonly #journals = new Set<Journal>();
  /** Bumped by invalidate(): a dump taken before is of another connection. */
  #epoch = 0;
  /** VPP's state as of the last dump plus acknowledged operations. */
  #cache: LbCache | undefined;
  /**
   * VIPs (vipKeyString) that are maglev's: it created them, a frontend
   * claims them, or an operator adopted them. Only these are ever removed.
   */
  readonly #owned = new Map<string, VipKey>();
  /** Foreign VIPs already logged, so each is logged once. */
  readonly #foreignSeen = new Set<string>();
  readonly #onOwnedChange?: () => void;
  readonly #heldFn?: (backend: string) => HeldBackend | undefined;

  constructor(opts: ReconcilerOptions) {
    this.#lb = opts.lb;
    this.#health = opts.health;
    this.#log = opts.log;
    this.#dryRun = opts.dryRun ?? false;
    this.#now = opts.now ?? (() => performance.now());
    this.#onOp = opts.onOp;
    this.#onOwnedChange = opts.onOwnedChange;
    const health = opts.health;
    this.#heldFn = health.held ? (b) => health.held!(b) : undefined;
    for (const k of opts.ownedVips ?? []) this.#owned.set(vipKeyString(k), k);
    const lb = opts.health.config.vpp.lb;
    // A backend whose first probe may come after startup-max-delay would be
    // zeroed unprobed: the warmup waits for it instead (bounded by its
    // fast-interval + timeout). Frontends whose backends all have a verdict
    // are released before, as always.
    let maxDelay = lb.startupMaxDelayMs;
    const slow = slowestFirstVerdict(opts.health.config);
    const warmup = lb.startupMinDelayMs > 0 || lb.startupMaxDelayMs > 0;
    if (warmup && slow && slow.ms > Math.max(maxDelay, lb.startupMinDelayMs)) {
      maxDelay = slow.ms;
      this.#log.info("vpp-warmup-extended", {
        configuredMs: lb.startupMaxDelayMs,
        effectiveMs: maxDelay,
        backend: slow.backend,
      });
    }
    this.#warmup = new Warmup(this.#now(), lb.startupMinDelayMs, maxDelay);
  }

  /**
   * Forgets what VPP holds (after a reconnect, or when it may have changed
   * behind our back): the next sync dumps.
   */
  invalidate(): void {
    this.#cache = undefined;
    this.#epoch++;
  }

  /** The VIPs maglev owns (see #owned), for the state file. */
  ownedVips(): VipKey[] {
    return [...this.#owned.values()];
  }

  /** Whether a VIP is maglev's to manage (and remove when unclaimed). */
  owns(vip: VipKey): boolean {
    return this.#owned.has(vipKeyString(vip));
  }

  /**
   * Hands a VIP maglev did not create to it: the next full sync removes it
   * unless a frontend claims it. False when it already was maglev's.
   */
  adopt(vip: VipKey): boolean {
    const key = vipKeyString(vip);
    if (this.#owned.has(key)) return false;
    this.#own(vip, true);
    this.#foreignSeen.delete(key);
    this.#log.info("vpp-vip-adopted", { vip: key });
    return true;
  }

  #own(vip: VipKey, yes: boolean): void {
    const key = vipKeyString(vip);
    if (this.#owned.has(key) === yes) return;
    if (yes) {
      this.#owned.set(key, {
        prefix: vip.prefix,
        protocol: vip.protocol,
        port: vip.port,
      });
    } else {
      this.#owned.delete(key);
    }
    this.#onOwnedChange?.();
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
   * after a reload). Not held by the warmup: the warmup protects weights,
   * while a VPP that never got its conf encapsulates with a broadcast
   * source (255.255.255.255) that every backend drops.
   */
  pushConf(): Promise<void> {
    return this.#serial(async () => {
      const want = desiredConf(this.#health.config);
      if (!want) return;
      const have = await this.#lb.getConf();
      if (sameConf(have, want)) return;
      if (this.#dryRun) {
        this.#log.info("vpp-lb-conf-dry-run", { ...want });
        return;
      }
      await this.#lb.setConf(want);
      this.#cache?.setConf(want);
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

  /**
   * A full sync (periodic, after reload or reconnect); `frontend` narrows
   * it. At most one full sync runs and one waits: requests that arrive
   * while one runs share the one that waits (which starts after it, so it
   * sees everything they asked for), and a VPP slower than the sync
   * interval never builds a queue of them. Its dump runs before it takes
   * its turn: a transition's sync never waits for a dump of all of VPP.
   */
  sync(
    opts: { frontend?: string; dryRun?: boolean } = {},
  ): Promise<SyncResult> {
    const dryRun = opts.dryRun ?? this.#dryRun;
    if (opts.frontend !== undefined) {
      const scope = new Set([opts.frontend]);
      return this.#serial(() => this.#sync(scope, dryRun));
    }
    if (dryRun !== this.#dryRun) {
      return this.#serial(() => this.#sync(undefined, dryRun));
    }
    if (this.#fullWaiting) return this.#fullWaiting;
    const before = this.#fullRunning ?? Promise.resolve();
    const run: Promise<SyncResult> = before.catch(() => {}).then(() => {
      // Started: a request from now on must get a sync of its own.
      if (this.#fullWaiting === run) this.#fullWaiting = undefined;
      return this.#dumpThenSync();
    });
    this.#fullWaiting = run;
    this.#fullRunning = run;
    run.catch(() => {}).finally(() => {
      if (this.#fullRunning === run) this.#fullRunning = undefined;
    });
    return run;
  }

  async #dumpThenSync(): Promise<SyncResult> {
    // Held by the warmup: do not load VPP with a dump nobody uses.
    if (this.#held(undefined)) {
      return this.#serial(() => this.#sync(undefined, this.#dryRun));
    }
    // Operations of other syncs may be acknowledged while the dump runs;
    // VPP applied them in the order it answered them, so the dump plus
    // those operations is what VPP holds once the dump is done.
    const journal: Journal = { ops: [], tainted: false };
    this.#journals.add(journal);
    const epoch = this.#epoch;
    let dumped: LbState;
    try {
      dumped = await this.#lb.dump();
    } catch (e) {
      this.#journals.delete(journal);
      throw e;
    }
    return this.#serial(() => {
      this.#journals.delete(journal);
      // A reconnect (a new VPP, maybe) or a failed operation in between
      // makes the dump worthless: #sync dumps again.
      const usable = epoch === this.#epoch && !journal.tainted;
      return this.#sync(
        undefined,
        this.#dryRun,
        usable ? { state: dumped, since: journal.ops } : undefined,
      );
    });
  }

  #markFlushed(frontend: string, address: string): void {
    let set = this.#flushed.get(frontend);
    if (!set) this.#flushed.set(frontend, set = new Set());
    set.add(address);
  }

  /** Whether the warmup holds every frontend of `scope` right now. */
  #held(scope: ReadonlySet<string> | undefined): boolean {
    const now = this.#now();
    const phase = this.#warmup.phase(now);
    if (phase === "done") return false;
    if (phase === "hold") return true;
    for (const f of scope ?? this.#health.config.frontends.keys()) {
      if (this.#warmup.isReleased(f) || this.#settled(f)) return false;
    }
    return true;
  }

  /**
   * What VPP holds as far as the reconciler knows (its last dump plus the
   * operations VPP acknowledged since), or undefined when it does not know
   * (never synced, or a failure or reconnect made it uncertain). Reading
   * this costs VPP nothing, unlike a dump.
   */
  cachedState(): LbState | undefined {
    return this.#cache?.state();
  }

  /**
   * `cachedState()` with true bucket counts: the VIPs that operations
   * changed since they were last read are read again, one small request
   * each (never a dump of everything). Undefined when there is no view.
   */
  async viewState(): Promise<LbState | undefined> {
    // Not in #serial: a transition must never wait behind this read. An
    // operation acknowledged meanwhile keeps its VIP stale (see LbCache).
    const cache = this.#cache;
    if (!cache) return undefined;
    const stale = cache.staleVips();
    if (stale.length > 0) {
      const ases = await this.#lb.dumpAses(stale.map((s) => s.vip));
      // Not if a failure or reconnect dropped this view meanwhile.
      if (this.#cache === cache) cache.refreshAses(stale, ases);
    }
    return this.#cache?.state();
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
    dumped?: { state: LbState; since: readonly Op[] },
  ): Promise<SyncResult> {
    const label = scopeLabel(scope);
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
        return {
          scope: label,
          ops: [],
          errors: [],
          failed: [],
          dryRun,
          skipped: "warmup",
        };
      }
    }
    if (scope && this.#cache && !dryRun) {
      return this.#stream(scope, frontends, label);
    }
    // Desired state only for what this sync may touch; VPP's state from the
    // cache for a scoped sync, from a fresh dump for a full one.
    const desired: DesiredVip[] = [];
    for (const fe of config.frontends.values()) {
      if (scope && !scope.has(fe.name)) continue;
      const e = this.#health.evaluation(fe.name);
      if (e) desired.push(desiredVip(config, fe, e, this.#heldFn));
    }
    let actual;
    if (scope && this.#cache) {
      actual = this.#cache.subset(desired.map((d) => d.vip));
    } else {
      this.#cache = new LbCache(dumped?.state ?? await this.#lb.dump());
      for (const op of dumped?.since ?? []) this.#cache.apply(op);
      actual = scope
        ? this.#cache.subset(desired.map((d) => d.vip))
        : this.#cache.state();
    }
    const ops = this.#diff(desired, actual, frontends);
    if (dryRun) {
      for (const op of ops) {
        this.#log.info("vpp-lb-op-dry-run", { op: describeOp(op) });
      }
      return { scope: label, ops, errors: [], failed: [], dryRun };
    }
    const { errors, failed } = await this.#apply(ops, scope ? "vip" : "all");
    this.#delivered(desired, frontends, failed);
    return { scope: label, ops, errors, failed: [...failed], dryRun };
  }

  /**
   * A scoped sync against the cache, sent as it is computed: STREAM_CHUNK
   * frontends at a time are diffed and their operations written before the
   * next ones are looked at, so a backend in 1,000 frontends reaches VPP
   * in its first VIPs at once instead of after the whole sync was built.
   */
  async #stream(
    scope: ReadonlySet<string>,
    frontends: ReadonlySet<string> | undefined,
    label: string,
  ): Promise<SyncResult> {
    const config = this.#health.config;
    const sender = this.#sender("vip");
    const ops: Op[] = [];
    const desired: DesiredVip[] = [];
    let chunk: DesiredVip[] = [];
    const flush = async () => {
      if (chunk.length === 0) return;
      // A failed operation drops the cache: read VPP again for the rest.
      this.#cache ??= new LbCache(await this.#lb.dump());
      const part = this.#diff(
        chunk,
        this.#cache.subset(chunk.map((d) => d.vip)),
        frontends,
      );
      desired.push(...chunk);
      chunk = [];
      ops.push(...part);
      await sender.send(part);
    };
    for (const fe of config.frontends.values()) {
      if (!scope.has(fe.name)) continue;
      const e = this.#health.evaluation(fe.name);
      if (e) chunk.push(desiredVip(config, fe, e, this.#heldFn));
      if (chunk.length >= STREAM_CHUNK) await flush();
    }
    await flush();
    const { errors, failed } = await sender.finish();
    this.#delivered(desired, frontends, failed);
    return { scope: label, ops, errors, failed: [...failed], dryRun: false };
  }

  /** diff() with the reconciler's flush bookkeeping. */
  #diff(
    desired: readonly DesiredVip[],
    actual: LbState,
    frontends: ReadonlySet<string> | undefined,
  ): Op[] {
    for (const d of desired) {
      // A VIP the config claims is maglev's, whoever created it.
      this.#own(d.vip, true);
      for (const a of d.ases) {
        if (!a.flush) this.#flushed.get(d.frontend)?.delete(a.address);
      }
    }
    return diff(desired, actual, {
      frontends,
      flushPending: (fe, a) => !this.#flushed.get(fe)?.has(a.address),
      mayRemove: (v) => this.#owned.has(vipKeyString(v)),
      onForeign: (v) => {
        const key = vipKeyString(v);
        if (this.#foreignSeen.has(key)) return;
        this.#foreignSeen.add(key);
        this.#log.warn("vpp-vip-foreign", {
          vip: key,
          meaning:
            "a VIP in VPP that maglev did not create and no frontend claims: left alone; `maglev ctl adopt vpp lb vip` hands it to maglev, which then removes it",
        });
      },
    });
  }

  /**
   * A flush that needed no weight change counts as delivered once VPP has
   * the weight: record it so it is not re-sent on every sync.
   */
  #delivered(
    desired: readonly DesiredVip[],
    frontends: ReadonlySet<string> | undefined,
    failed: ReadonlySet<string>,
  ): void {
    for (const d of desired) {
      if (frontends && !frontends.has(d.frontend)) continue;
      if (failed.has(d.frontend)) continue;
      for (const a of d.ases) {
        if (a.flush && a.weight === 0) this.#markFlushed(d.frontend, a.address);
      }
    }
  }

  /**
   * Sends `ops` in order, pipelined: up to IN_FLIGHT requests are written
   * before waiting for replies. VPP handles them one by one in the order
   * sent, so dependencies (a VIP before its ASes) hold, and replies (and
   * these callbacks) come back in the same order. `afterRaises` operations
   * wait until every earlier one is answered, and are held back for a VIP
   * where something failed: lowering the old pool when raising the new one
   * failed would leave the VIP with no weight at all.
   */
  async #apply(
    ops: readonly Op[],
    kind: "all" | "vip",
  ): Promise<{ errors: string[]; failed: Set<string> }> {
    const sender = this.#sender(kind);
    await sender.send(ops);
    return sender.finish();
  }

  /** The state behind #apply, kept across batches of one sync (#stream). */
  #sender(kind: "all" | "vip"): {
    send(ops: readonly Op[]): Promise<void>;
    finish(): Promise<{ errors: string[]; failed: Set<string> }>;
  } {
    const errors: string[] = [];
    const failed = new Set<string>();
    const failedVips = new Set<string>();
    const inFlight: Promise<void>[] = [];
    const send = async (ops: readonly Op[]) => {
      let barrier = false;
      for (const op of ops) {
        const line = describeOp(op);
        const vip = vipKeyString(op.vip);
        if (op.kind === "set-weight" && op.afterRaises) {
          if (!barrier) {
            barrier = true;
            await Promise.all(inFlight.splice(0));
          }
          if (failedVips.has(vip)) {
            const msg =
              `${line}: not sent, an earlier operation on this VIP failed`;
            errors.push(msg);
            failed.add(op.frontend);
            this.#log.warn("vpp-lb-op-held", { op: line });
            continue;
          }
        }
        inFlight.push(
          apply(this.#lb, op).then(() => {
            this.#cache?.apply(op);
            if (op.kind === "add-vip") this.#own(op.vip, true);
            else if (op.kind === "del-vip") this.#own(op.vip, false);
            for (const j of this.#journals) j.ops.push(op);
            this.#log.info("vpp-lb-op", { op: line });
            this.#onOp?.(kind, op);
            if (op.kind === "set-weight" && op.flush) {
              this.#markFlushed(op.frontend, op.address);
            }
          }, (e) => {
            // Whatever VPP holds now is uncertain: the next sync dumps.
            this.#cache = undefined;
            for (const j of this.#journals) j.tainted = true;
            failedVips.add(vip);
            failed.add(op.frontend ?? "*");
            const msg = `${line}: ${
              e instanceof Error ? e.message : String(e)
            }`;
            errors.push(msg);
            this.#log.error("vpp-lb-op-failed", { op: line, error: msg });
          }),
        );
        if (inFlight.length >= IN_FLIGHT) await inFlight.shift();
      }
    };
    const finish = async () => {
      await Promise.all(inFlight);
      return { errors, failed };
    };
    return { send, finish };
  }
}
