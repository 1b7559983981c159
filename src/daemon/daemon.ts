/**
 * The daemon as an object: config, checker, event bus, metrics and their
 * listeners, with start / reload / stop. `run.ts` adds flags and signals
 * around it; system tests drive it directly or as a process.
 */
import type { Logger } from "../cli/log.ts";
import { formatHostPort, type HostPort } from "../cli/addr.ts";
import { loadConfigFile } from "../config/load.ts";
import { configWarnings } from "../config/warnings.ts";
import { loadConfigInWorker } from "../config/load_worker.ts";
import type {
  Config,
  ConfigError,
  ConfigErrorKind,
  LoadResult,
} from "../config/types.ts";
import { createProber } from "../probe/mod.ts";
import type { Prober } from "../probe/types.ts";
import { Checker, type ReloadSummary } from "./checker.ts";
import { LoopWatch } from "./loop_watch.ts";
import { MetricsListener } from "./metrics_listener.ts";
import type { MutationPolicy } from "./grpc/auth.ts";
import { EventBus } from "./events.ts";
import { DaemonMetrics } from "./metrics.ts";
import { ApiServer } from "./grpc/server.ts";
import { DaemonVpp, type DaemonVppOptions } from "./vpp.ts";
import {
  type SavedState,
  STATE_FILE_VERSION,
  StateFile,
} from "./state_file.ts";

/** How the daemon was asked to run. */
export interface DaemonOptions {
  configPath: string;
  /** Metrics listen address; undefined disables the listener. */
  metricsAddr?: HostPort;
  /** gRPC listen address; undefined disables the API (tests of the core). */
  grpcAddr?: HostPort;
  /** gRPC on this unix socket instead of `grpcAddr` (`--grpc-addr unix:PATH`). */
  grpcUnixPath?: string;
  /** gRPC server reflection. */
  reflection?: boolean;
  vppEnabled: boolean;
  log: Logger;
  /** Replaces the real prober (tests of the daemon's own logic). */
  prober?: Prober;
  /** Module that netns probe workers start from (see src/main.ts). */
  netnsWorkerUrl?: URL;
  /**
   * Module that config loader workers start from (see src/main.ts): reloads
   * and checks parse off the event loop. Without it they parse on it.
   */
  configWorkerUrl?: URL;
  /** How to reach VPP when `vppEnabled`. */
  vpp?: DaemonVppOptions;
  /** Who may call mutating RPCs; default: loopback only. */
  mutations?: MutationPolicy;
  /** gRPC connections idle this long are closed (IDLE_TIMEOUT_MS). */
  grpcIdleTimeoutMs?: number;
  /** TLS (and mTLS) on the gRPC listener. */
  grpcTls?: { cert: string; key: string; clientCa?: string };
  /**
   * Where operator state, verdicts and maglev's own VIPs survive restarts;
   * undefined or "" keeps them in memory only.
   */
  stateFile?: string;
}

/** Transitions are saved this long after the first one of a burst. */
const VERDICT_SAVE_DELAY_MS = 1000;
/** VIP ownership changes (a cold start creates 1,000) are saved together. */
const OWNED_SAVE_DELAY_MS = 200;

/** Outcome of a reload or check request. */
export type ReloadResult =
  | { ok: true; summary?: ReloadSummary }
  | { ok: false; kind: ConfigErrorKind; errors: readonly ConfigError[] };

/** A running maglev daemon. */
export class Daemon {
  readonly bus: EventBus;
  readonly metrics: DaemonMetrics;
  readonly checker: Checker;
  readonly log: Logger;
  #opts: DaemonOptions;
  #prober: Prober;
  #metricsServer: MetricsListener | undefined;
  #api: ApiServer | undefined;
  /** The VPP side; undefined with --vpp=false. */
  readonly vpp: DaemonVpp | undefined;
  #reloading: Promise<ReloadResult> | undefined;
  #stopped = false;
  readonly #stateFile: StateFile | undefined;
  /** The state file's VIPs, kept while VPP integration is off or never started. */
  readonly #savedVips: SavedState["vips"];
  #saveTimer: ReturnType<typeof setTimeout> | undefined;
  /** The event loop's own stalls, so the checker never blames a backend for them. */
  readonly #loop = new LoopWatch();

  private constructor(opts: DaemonOptions, config: Config) {
    this.#opts = opts;
    this.log = opts.log;
    this.bus = new EventBus((err) =>
      opts.log.error("event-listener-failed", { error: err })
    );
    this.metrics = new DaemonMetrics();
    this.#prober = opts.prober ??
      createProber({
        netns: config.healthchecker.netns,
        workerUrl: opts.netnsWorkerUrl,
      });
    // The checker probes through this indirection so a reload that changes
    // healthchecker.netns can swap the prober without restarting loops.
    const via: Prober = {
      probe: (target, check) => this.#prober.probe(target, check),
      close: () => this.#prober.close(),
    };
    this.#stateFile = opts.stateFile
      ? new StateFile(opts.stateFile, opts.log)
      : undefined;
    if (!this.#stateFile && opts.stateFile === "") {
      opts.log.info("state-file-disabled", {
        meaning:
          "pause, disable, runtime weights and maglev's own VIPs live in memory only",
      });
    }
    const saved = this.#stateFile?.load();
    this.#savedVips = saved?.vips;
    this.checker = new Checker({
      config,
      prober: via,
      bus: this.bus,
      log: opts.log,
      observer: this.metrics,
      stalls: this.#loop,
      onChange: (kind) =>
        kind === "operator"
          ? this.saveState()
          : this.#saveSoon(VERDICT_SAVE_DELAY_MS),
    });
    // Before the first probe and the first sync: a restart must not move
    // a weight an operator set, nor a healthy backend's.
    if (saved) this.checker.restoreState(saved);
    this.metrics.attach(this.checker);
    this.vpp = opts.vppEnabled
      ? new DaemonVpp(
        this.checker,
        this.bus,
        this.log,
        this.metrics.registry,
        {
          ...(opts.vpp ?? { dryRun: false }),
          ownedVips: saved?.vips,
          onOwnedChange: () => this.#saveSoon(OWNED_SAVE_DELAY_MS),
        },
      )
      : undefined;
  }

  /**
   * Writes the state file now (atomically); false when there is none or it
   * cannot be written (logged). Operator actions call it before they answer.
   */
  saveState(): boolean {
    if (!this.#stateFile) return false;
    clearTimeout(this.#saveTimer);
    this.#saveTimer = undefined;
    const vips = this.vpp ? this.vpp.ownedVips() : this.#savedVips;
    return this.#stateFile.save({
      version: STATE_FILE_VERSION,
      savedAtMs: Date.now(),
      ...this.checker.exportState(),
      ...(vips ? { vips } : {}),
    });
  }

  #saveSoon(delayMs: number): void {
    if (!this.#stateFile || this.#saveTimer !== undefined || this.#stopped) {
      return;
    }
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = undefined;
      this.saveState();
    }, delayMs);
  }

  #warn(config: Config): void {
    for (
      const w of configWarnings(config, {
        vppEnabled: this.#opts.vppEnabled,
      })
    ) {
      this.log.warn("config-warning", {
        file: this.#opts.configPath,
        path: w.path,
        warning: w.message,
      });
    }
  }

  /** The state file's path, if there is one. */
  get stateFilePath(): string | undefined {
    return this.#stateFile?.path;
  }

  /**
   * Loads the config and builds the daemon. Returns the config errors
   * instead when the file is not valid: the daemon never starts on a bad
   * config.
   */
  static async create(
    opts: DaemonOptions,
  ): Promise<
    Daemon | { errors: readonly ConfigError[]; kind: ConfigErrorKind }
  > {
    const loaded = await loadConfigFile(opts.configPath, {
      vppEnabled: opts.vppEnabled,
    });
    if (!loaded.ok) return { errors: loaded.errors, kind: loaded.kind };
    return new Daemon(opts, loaded.config);
  }

  /** The config in force. */
  get config(): Config {
    return this.checker.config;
  }

  /** Whether VPP integration was asked for (`--vpp`). */
  get vppEnabled(): boolean {
    return this.#opts.vppEnabled;
  }

  /** Address the gRPC listener is bound to, once started. */
  get grpcAddr(): { hostname: string; port: number } | undefined {
    return this.#api?.address;
  }

  /** Address the metrics listener is bound to, once started. */
  get metricsAddr(): Deno.NetAddr | undefined {
    return this.#metricsServer?.addr;
  }

  /** Starts probing and the listeners; rejects if a listener cannot bind. */
  async start(): Promise<void> {
    const c = this.config;
    this.log.info("config-loaded", {
      file: this.#opts.configPath,
      healthchecks: c.healthchecks.size,
      backends: c.backends.size,
      frontends: c.frontends.size,
      netns: c.healthchecker.netns,
    });
    this.#warn(c);
    if (this.#opts.grpcAddr || this.#opts.grpcUnixPath) {
      this.#api = await ApiServer.listen(this, {
        addr: this.#opts.grpcAddr ?? { port: 0 },
        unixPath: this.#opts.grpcUnixPath,
        reflection: this.#opts.reflection ?? true,
        onRefused: (reason) => this.metrics.refused(reason),
        mutations: this.#opts.mutations,
        idleTimeoutMs: this.#opts.grpcIdleTimeoutMs,
        tls: this.#opts.grpcTls,
        registry: this.metrics.registry,
      });
      const a = this.#api.address;
      this.log.info("grpc-listening", {
        addr: a.port === 0 ? a.hostname : formatHostPort(a),
        reflection: this.#opts.reflection ?? true,
      });
    }
    this.#loop.start();
    this.checker.start();
    this.vpp?.start();
    if (this.#opts.metricsAddr) {
      // Streamed: a scrape of thousands of backends is written in chunks,
      // with probes running in between. A failure mid-way cuts the body
      // short (the status line is already sent) and is logged.
      this.#metricsServer = MetricsListener.listen({
        addr: this.#opts.metricsAddr,
        contentType: this.metrics.contentType,
        render: () =>
          this.metrics.render((e) =>
            this.log.error("metrics-render-failed", { error: e })
          ),
        onRefused: (reason) => this.metrics.metricsRefused(reason),
      });
      this.log.info("metrics-listening", {
        addr: formatHostPort(this.#metricsServer.addr),
      });
    }
  }

  /** Validates the config file on disk without applying it. */
  async check(): Promise<ReloadResult> {
    const loaded = await this.#load();
    return loaded.ok
      ? { ok: true }
      : { ok: false, kind: loaded.kind, errors: loaded.errors };
  }

  /**
   * Re-reads the config file and applies it; an invalid file changes
   * nothing. Concurrent requests (SIGHUP plus an RPC) share one reload.
   */
  reload(): Promise<ReloadResult> {
    if (this.#reloading) return this.#reloading;
    this.#reloading = this.#reload().finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  /** The config file, parsed on a worker when there is one. */
  #load(): Promise<LoadResult> {
    const opts = { vppEnabled: this.#opts.vppEnabled };
    return this.#opts.configWorkerUrl
      ? loadConfigInWorker(
        this.#opts.configWorkerUrl,
        this.#opts.configPath,
        opts,
      )
      : loadConfigFile(this.#opts.configPath, opts);
  }

  async #reload(): Promise<ReloadResult> {
    const loaded = await this.#load();
    if (this.#stopped) return { ok: true };
    if (!loaded.ok) {
      this.log.error("config-reload-refused", {
        file: this.#opts.configPath,
        kind: loaded.kind,
        errors: loaded.errors.map((e) =>
          `${e.line ? `${e.line}:${e.col}: ` : ""}${e.path}: ${e.message}`
        ),
      });
      this.bus.publish({ type: "reload", refused: loaded.kind });
      return { ok: false, kind: loaded.kind, errors: loaded.errors };
    }
    this.#warn(loaded.config);
    const prevNetns = this.config.healthchecker.netns;
    const summary = this.checker.reload(loaded.config);
    this.metrics.forgetBackends(summary.removed);
    const netns = loaded.config.healthchecker.netns;
    if (netns !== prevNetns && !this.#opts.prober) {
      const old = this.#prober;
      this.#prober = createProber({
        netns,
        workerUrl: this.#opts.netnsWorkerUrl,
      });
      old.close();
      this.log.info("netns-changed", {
        from: prevNetns ?? "",
        to: netns ?? "",
      });
    }
    void this.vpp?.reloaded();
    this.bus.publish({ type: "reload" });
    return { ok: true, summary };
  }

  /** Stops probing and closes the listeners. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.checker.stop();
    this.#loop.stop();
    // Last: every verdict as of its latest probe, so a restart within
    // fall × interval starts from it.
    this.saveState();
    this.#prober.close();
    await Promise.all([
      this.vpp?.stop(),
      this.#api?.close(),
      this.#metricsServer?.close(),
    ]);
  }
}
