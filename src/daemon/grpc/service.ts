/**
 * The `maglev.Maglev` service: API requests → daemon actions and state.
 * Errors carry gRPC codes and messages that say what to do.
 */
import { create } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type HandlerContext,
  type ServiceImpl,
} from "@connectrpc/connect";
import { MAY_MUTATE_HEADER } from "./auth.ts";
import { LOG_LEVELS, type LogLevel, type LogRecord } from "../../cli/log.ts";
import { formatConfigErrors } from "../../config/format.ts";
import type { ConfigError } from "../../config/types.ts";
import { BUILD_DATE, COMMIT, VERSION } from "../../version.ts";
import {
  type Event,
  EventSchema,
  type Maglev,
  type WatchRequest,
} from "../../api/gen/maglev/v1/maglev_pb.ts";
import { CheckerError } from "../checker.ts";
import { vipOf } from "../../dataplane/desired.ts";
import { describeOp } from "../../dataplane/diff.ts";
import { vipId } from "../../vpp/validate.ts";
import type { VipKey } from "../../vpp/types.ts";
import { parsePrefix } from "../../config/address.ts";
import { VppNotAvailable } from "../vpp.ts";
import type { Daemon } from "../daemon.ts";
import type { DaemonEvent } from "../events.ts";
import {
  backendInfo,
  configErrorInfo,
  frontendInfo,
  healthCheckInfo,
  logEvent,
  msToNs,
  transitionInfo,
} from "./convert.ts";
import { OverflowError, Subscription } from "./watch.ts";

/** Knobs of the API service. */
export interface ServiceOptions {
  /** Events a WatchEvents subscriber may fall behind before it is dropped. */
  readonly streamLimit?: number;
  /** Called when a subscriber overflows, with its stream id; resets the HTTP/2 stream. */
  readonly resetStream?: (streamId: string | undefined) => void;
  /** Ends every WatchEvents stream when aborted (daemon shutdown). */
  readonly shutdown?: AbortSignal;
  /** WatchEvents streams open at once at most (MAX_WATCHERS). */
  readonly maxWatchers?: number;
  /** Counts a refused request (maglev_grpc_refused_total{reason}). */
  readonly onRefused?: (reason: "watchers") => void;
}

const CODE_OF = {
  "not-found": Code.NotFound,
  "invalid-argument": Code.InvalidArgument,
  "failed-precondition": Code.FailedPrecondition,
} as const;

/** Runs an operator action, translating its refusal into a gRPC status. */
function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CheckerError) {
      throw new ConnectError(e.message, CODE_OF[e.code]);
    }
    throw e;
  }
}

/**
 * Refuses a mutating RPC unless the server found the peer allowed (see
 * auth.ts; the header is set by the server, never by the client).
 */
function requireMutation(ctx: HandlerContext): void {
  const verdict = ctx.requestHeader.get(MAY_MUTATE_HEADER);
  if (verdict === "1") return;
  throw new ConnectError(
    `changes need permission: ${verdict ?? "unknown peer"}`,
    Code.PermissionDenied,
  );
}

/** Longer than any name a config can give (and than gRPC metadata can echo). */
const MAX_NAME = 256;

function requireName(name: string, what: string): string {
  if (!name) {
    throw new ConnectError(`missing ${what} name`, Code.InvalidArgument);
  }
  if (name.length > MAX_NAME) {
    // Not echoed whole: an error message travels in a header.
    throw new ConnectError(
      `${what} name of ${name.length} characters ("${
        name.slice(0, 32)
      }…"): names are at most ${MAX_NAME}`,
      Code.InvalidArgument,
    );
  }
  return name;
}

/**
 * WatchEvents streams open at once, at most. A stream whose client stopped
 * reading holds up to 3 MB until it is dropped (measured with debug-level
 * logs; 500 such streams once made healthy backends flap). A `maglev web`
 * needs one per daemon, a `ctl watch events` one each: 32 is plenty.
 */
export const MAX_WATCHERS = 32;

function splitErrors(errors: readonly ConfigError[]) {
  const parse = errors.filter((e) => e.kind === "parse");
  const semantic = errors.filter((e) => e.kind === "semantic");
  return {
    parseError: formatConfigErrors(parse),
    semanticError: formatConfigErrors(semantic),
    errors: errors.map(configErrorInfo),
  };
}

/** Header the HTTP/2 server sets so a stream can be found again to reset it. */
export const STREAM_ID_HEADER = "x-maglev-stream-id";

/** Builds the service implementation over a daemon. */
export function createMaglevService(
  daemon: Daemon,
  opts: ServiceOptions = {},
): ServiceImpl<typeof Maglev> {
  const checker = daemon.checker;
  // 1,024 events behind is a client that does not keep up; 128 streams
  // times 4,096 debug-log events each took 400 MiB.
  const limit = opts.streamLimit ?? 1024;
  const maxWatchers = opts.maxWatchers ?? MAX_WATCHERS;
  let watchers = 0;

  // backend → frontends using it, rebuilt when a reload swaps the config.
  const usersByConfig = new WeakMap<object, Map<string, string[]>>();
  const frontendsOf = (backend: string): string[] => {
    const config = checker.config;
    let users = usersByConfig.get(config);
    if (!users) {
      users = new Map();
      for (const fe of config.frontends.values()) {
        for (const p of fe.pools) {
          for (const m of p.members) {
            const list = users.get(m.backend) ?? [];
            if (!list.includes(fe.name)) list.push(fe.name);
            users.set(m.backend, list);
          }
        }
      }
      usersByConfig.set(config, users);
    }
    return users.get(backend) ?? [];
  };
  const events = new EventMessages(daemon, frontendsOf);
  const backendMsg = (name: string) => {
    const b = checker.backend(name);
    if (!b) {
      throw new ConnectError(
        `no backend "${name}" (see: show backends)`,
        Code.NotFound,
      );
    }
    return backendInfo(b, frontendsOf(name));
  };
  const frontendMsg = (name: string) => {
    const f = checker.frontend(name);
    if (!f) {
      throw new ConnectError(
        `no frontend "${name}" (see: show frontends)`,
        Code.NotFound,
      );
    }
    return frontendInfo(f, checker.config.frontends.get(name));
  };
  const healthCheckMsg = (name: string) => {
    const c = checker.config.healthchecks.get(name);
    if (!c) {
      throw new ConnectError(
        `no health check "${name}" (see: show healthchecks)`,
        Code.NotFound,
      );
    }
    const users = [...checker.config.backends.values()].filter((b) =>
      b.healthcheck === name
    ).map((b) => b.name);
    return healthCheckInfo(c, users);
  };
  /** The VPP side, or UNAVAILABLE saying why not. */
  const vppOf = () => {
    if (!daemon.vpp) {
      throw new ConnectError(
        "VPP integration is off (daemon started with --vpp=false)",
        Code.Unavailable,
      );
    }
    return daemon.vpp;
  };
  /** Runs a VPP query, mapping "not connected" to UNAVAILABLE. */
  const vppCall = async <T>(fn: () => Promise<T> | T): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof VppNotAvailable) {
        throw new ConnectError(e.message, Code.Unavailable);
      }
      if (e instanceof ConnectError) throw e;
      throw new ConnectError(
        `VPP: ${e instanceof Error ? e.message : String(e)}`,
        Code.Unavailable,
      );
    }
  };
  /**
   * The backend behind an AS: the member of that frontend with the address
   * (addresses may repeat across frontends, never within one).
   */
  const backendOf = (frontend: string | undefined, address: string) => {
    const fe = frontend ? checker.config.frontends.get(frontend) : undefined;
    for (const p of fe?.pools ?? []) {
      for (const m of p.members) {
        if (checker.config.backends.get(m.backend)?.address === address) {
          return m.backend;
        }
      }
    }
    return "";
  };
  return {
    getVersion() {
      return { version: VERSION, commit: COMMIT, buildDate: BUILD_DATE };
    },
    listFrontends() {
      return { frontends: checker.frontendNames().map(frontendMsg) };
    },
    getFrontend(req) {
      return frontendMsg(requireName(req.name, "frontend"));
    },
    listBackends() {
      return { backends: checker.backendNames().map(backendMsg) };
    },
    getBackend(req) {
      return backendMsg(requireName(req.name, "backend"));
    },
    listHealthChecks() {
      return {
        healthchecks: [...checker.config.healthchecks.keys()].map(
          healthCheckMsg,
        ),
      };
    },
    getHealthCheck(req) {
      return healthCheckMsg(requireName(req.name, "health check"));
    },
    pauseBackend(req, ctx) {
      requireMutation(ctx);
      guard(() => checker.pause(requireName(req.name, "backend")));
      return backendMsg(req.name);
    },
    resumeBackend(req, ctx) {
      requireMutation(ctx);
      guard(() => checker.resume(requireName(req.name, "backend")));
      return backendMsg(req.name);
    },
    enableBackend(req, ctx) {
      requireMutation(ctx);
      guard(() => checker.enable(requireName(req.name, "backend")));
      return backendMsg(req.name);
    },
    disableBackend(req, ctx) {
      requireMutation(ctx);
      guard(() => checker.disable(requireName(req.name, "backend")));
      return backendMsg(req.name);
    },
    setFrontendPoolBackendWeight(req, ctx) {
      requireMutation(ctx);
      guard(() =>
        checker.setWeight(
          requireName(req.frontend, "frontend"),
          requireName(req.pool, "pool"),
          requireName(req.backend, "backend"),
          req.weight,
        )
      );
      return frontendMsg(req.frontend);
    },
    confirmFrontendGuard(req, ctx) {
      requireMutation(ctx);
      guard(() => checker.confirmGuard(requireName(req.name, "frontend")));
      return frontendMsg(req.name);
    },
    async checkConfig() {
      const r = await daemon.check();
      return r.ok ? { ok: true } : { ok: false, ...splitErrors(r.errors) };
    },
    async reloadConfig(_req, ctx) {
      requireMutation(ctx);
      const r = await daemon.reload();
      if (!r.ok) return { ok: false, ...splitErrors(r.errors) };
      const s = r.summary;
      return {
        ok: true,
        backendsAdded: [...s?.added ?? []],
        backendsRemoved: [...s?.removed ?? []],
        backendsChanged: [...s?.changed ?? []],
        backendsUnchanged: s?.unchanged ?? 0,
        frontendsAdded: [...s?.frontendsAdded ?? []],
        frontendsRemoved: [...s?.frontendsRemoved ?? []],
      };
    },
    getVPPInfo() {
      const info = vppOf().info();
      if (!info.connected || !info.version) {
        throw new ConnectError(
          `VPP is not connected: ${
            info.problem ?? "connecting"
          }; probing continues and the daemon keeps retrying`,
          Code.Unavailable,
        );
      }
      return {
        connected: true,
        version: info.version.version,
        buildDate: info.version.buildDate,
        buildDirectory: info.version.buildDirectory,
        pid: info.pid ?? 0,
        connecttimeNs: info.connectedAtMs ? msToNs(info.connectedAtMs) : 0n,
        boottimeNs: info.bootAtMs ? msToNs(info.bootAtMs) : 0n,
      };
    },
    getVPPLBState() {
      const vpp = vppOf();
      return vppCall(async () => {
        const st = await vpp.lbState();
        // Indexes built once per call: at 1,000 VIPs x 16 ASes a scan per
        // item blocked the event loop for over a second.
        const feByVip = new Map<string, string>();
        for (const f of checker.config.frontends.values()) {
          feByVip.set(vipId(vipOf(f)), f.name);
        }
        const asesByVip = new Map<string, typeof st.ases[number][]>();
        for (const a of st.ases) {
          const id = vipId(a.vip);
          const list = asesByVip.get(id) ?? [];
          list.push(a);
          asesByVip.set(id, list);
        }
        const proto = (p: number) => p === 6 ? "tcp" : p === 17 ? "udp" : "any";
        return {
          conf: {
            ipv4SrcAddress: st.conf.ipv4SrcAddress,
            ipv6SrcAddress: st.conf.ipv6SrcAddress,
            stickyBucketsPerCore: st.conf.stickyBucketsPerCore,
            flowTimeout: st.conf.flowTimeoutSeconds,
          },
          vips: st.vips.map((v) => {
            const id = vipId(v);
            return {
              prefix: v.prefix,
              protocol: proto(v.protocol),
              port: v.port,
              encap: v.encap,
              srcIpSticky: v.srcIpSticky,
              flowTableLength: v.flowTableLength,
              frontend: feByVip.get(id) ?? "",
              managed: vpp.owns(v),
              ases: (asesByVip.get(id) ?? []).map((a) => ({
                address: a.address,
                weight: a.weight,
                buckets: a.numBuckets,
                backend: backendOf(feByVip.get(id), a.address),
              })),
            };
          }),
        };
      });
    },
    syncVPPLBState(req, ctx) {
      // A dry run changes nothing: open to all, like the reads.
      if (!req.dryRun) requireMutation(ctx);
      const vpp = vppOf();
      if (req.frontend && !checker.config.frontends.has(req.frontend)) {
        throw new ConnectError(
          `no frontend "${req.frontend}" (see: show frontends)`,
          Code.NotFound,
        );
      }
      return vppCall(async () => {
        const r = await vpp.sync(req.frontend || undefined, req.dryRun);
        if (r.skipped) {
          throw new ConnectError(
            `sync not run: the start-up warmup (startup-min-delay / startup-max-delay) still holds changes to VPP; try again when it is over`,
            Code.FailedPrecondition,
          );
        }
        return {
          dryRun: r.dryRun,
          operations: [
            ...r.ops.map(describeOp),
            ...r.errors.map((e) => `FAILED: ${e}`),
          ],
        };
      });
    },
    adoptVPPLBVIP(req, ctx) {
      requireMutation(ctx);
      const vpp = vppOf();
      const vip = adoptedVip(req.prefix, req.protocol, req.port);
      return vppCall(() => ({ adopted: vpp.adopt(vip) }));
    },
    getVPPLBCounters() {
      const vpp = vppOf();
      return vppCall(() => {
        const c = vpp.counters();
        return {
          atUnixNs: msToNs(c.atMs),
          vips: [...c.byFrontend].map(([name, v]) => {
            const fe = checker.config.frontends.get(name);
            return {
              frontend: name,
              prefix: fe?.prefix ?? "",
              protocol: fe?.protocol ?? "",
              port: fe?.port ?? 0,
              next: BigInt(v.next),
              first: BigInt(v.first),
              untracked: BigInt(v.untracked),
              noServer: BigInt(v.noServer),
              routePackets: BigInt(v.routePackets),
              routeBytes: BigInt(v.routeBytes),
            };
          }),
        };
      });
    },

    async *watchEvents(req, ctx) {
      if (watchers >= maxWatchers) {
        opts.onRefused?.("watchers");
        throw new ConnectError(
          `too many WatchEvents streams open (${maxWatchers}); close one, or watch through maglev web, which shares one stream among all its pages`,
          Code.ResourceExhausted,
        );
      }
      const want = watchFilter(req);
      let seq = 0n;
      const stamp = (e: Event): Event => {
        seq += 1n;
        return { ...e, seq };
      };
      const streamId = ctx.requestHeader.get(STREAM_ID_HEADER) ?? undefined;
      const sub = new Subscription<Event>(limit, () => {
        // Deferred: this runs inside a bus or log delivery.
        queueMicrotask(() => {
          daemon.log.warn("watch-subscriber-dropped", {
            limit,
            hint: "the client stopped reading or is too slow for its log level",
          });
          opts.resetStream?.(streamId);
        });
      });
      // Subscribe and take the snapshot in one synchronous step, so no
      // event can fall between the two. Messages are built once per event
      // and shared by every subscriber; each stream only stamps its seq.
      const unsubscribe = daemon.bus.subscribe((e) => {
        if (
          (e.type === "backend" && want.backend) ||
          (e.type === "frontend" && want.frontend)
        ) {
          const ev = events.of(e);
          if (ev) sub.push(stamp(ev));
        }
      });
      const removeSink = want.log
        ? daemon.log.addSink({
          level: want.logLevel,
          write: (r) => sub.push(stamp(events.ofLog(r))),
        })
        : () => {};
      const snap = events.snapshot();
      const snapshot = [
        ...(want.backend ? snap.backends : []),
        ...(want.frontend ? snap.frontends : []),
      ].map(stamp);
      const onShutdown = () => sub.close();
      opts.shutdown?.addEventListener("abort", onShutdown);
      ctx.signal.addEventListener("abort", onShutdown);
      // Counted from here: the finally below is sure to run.
      watchers++;
      try {
        for (const ev of snapshot) yield ev;
        for await (const ev of sub) yield ev;
      } catch (e) {
        if (e instanceof OverflowError) {
          throw new ConnectError(e.message, Code.ResourceExhausted);
        }
        throw e;
      } finally {
        watchers--;
        unsubscribe();
        removeSink();
        sub.close();
        opts.shutdown?.removeEventListener("abort", onShutdown);
        ctx.signal.removeEventListener("abort", onShutdown);
      }
    },
  };
}

/**
 * Builds WatchEvents messages once per daemon event (not once per
 * subscriber), and the snapshot once per state change or second, so 200
 * dashboards connecting at once cost about what one does.
 */
class EventMessages {
  #daemon: Daemon;
  #frontendsOf: (backend: string) => string[];
  #byEvent = new WeakMap<DaemonEvent, Event | null>();
  #byLog = new WeakMap<LogRecord, Event>();
  #version = 0;
  #snap?: {
    version: number;
    atMs: number;
    backends: Event[];
    frontends: Event[];
  };

  constructor(daemon: Daemon, frontendsOf: (backend: string) => string[]) {
    this.#daemon = daemon;
    this.#frontendsOf = frontendsOf;
    daemon.bus.subscribe((e) => {
      if (e.type !== "log") this.#version++;
    });
  }

  /** The message for a backend or frontend event (undefined for others). */
  of(e: DaemonEvent): Event | undefined {
    const cached = this.#byEvent.get(e);
    if (cached !== undefined) return cached ?? undefined;
    const built = this.#build(e) ?? null;
    this.#byEvent.set(e, built);
    return built ?? undefined;
  }

  /** The message for a log record. */
  ofLog(r: LogRecord): Event {
    let ev = this.#byLog.get(r);
    if (!ev) {
      ev = create(EventSchema, { event: { case: "log", value: logEvent(r) } });
      this.#byLog.set(r, ev);
    }
    return ev;
  }

  #build(e: DaemonEvent): Event | undefined {
    const checker = this.#daemon.checker;
    if (e.type === "backend") {
      const b = checker.backend(e.backend);
      return create(EventSchema, {
        event: {
          case: "backend",
          value: {
            backend: e.backend,
            transition: transitionInfo(e.transition),
            info: b ? backendInfo(b, this.#frontendsOf(e.backend)) : undefined,
          },
        },
      });
    }
    if (e.type === "frontend") {
      const f = checker.frontend(e.frontend);
      return create(EventSchema, {
        event: {
          case: "frontend",
          value: {
            frontend: e.frontend,
            from: e.from,
            to: e.to,
            atUnixNs: msToNs(e.atMs),
            info: f
              ? frontendInfo(f, checker.config.frontends.get(e.frontend))
              : undefined,
          },
        },
      });
    }
    return undefined;
  }

  /**
   * from == to events for every backend and frontend. Reused while no
   * state changed and it is under a second old (only probe times age).
   */
  snapshot(): { backends: Event[]; frontends: Event[] } {
    const nowMs = Date.now();
    const s = this.#snap;
    if (s && s.version === this.#version && nowMs - s.atMs < 1000) return s;
    const checker = this.#daemon.checker;
    const now = msToNs(nowMs);
    const backends = checker.backends().map((b) => {
      const st = b.health.state;
      return create(EventSchema, {
        event: {
          case: "backend",
          value: {
            backend: b.config.name,
            transition: {
              from: st,
              to: st,
              atUnixNs: b.health.lastTransition
                ? msToNs(b.health.lastTransition.atMs)
                : now,
              code: "NONE",
              reason: "snapshot",
            },
            info: backendInfo(b, this.#frontendsOf(b.config.name)),
          },
        },
      });
    });
    const frontends = checker.frontends().map((f) => {
      const st = f.evaluation.state;
      return create(EventSchema, {
        event: {
          case: "frontend",
          value: {
            frontend: f.config.name,
            from: st,
            to: st,
            atUnixNs: now,
            info: frontendInfo(f, checker.config.frontends.get(f.config.name)),
          },
        },
      });
    });
    this.#snap = { version: this.#version, atMs: nowMs, backends, frontends };
    return this.#snap;
  }
}

/** Normalized WatchRequest: defaults applied, level validated. */
export function watchFilter(
  req: WatchRequest,
): { log: boolean; logLevel: LogLevel; backend: boolean; frontend: boolean } {
  const none = !req.log && !req.backend && !req.frontend;
  const level = (req.logLevel || "info").toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConnectError(
      `log_level must be one of ${
        LOG_LEVELS.join(", ")
      }, not "${req.logLevel}"`,
      Code.InvalidArgument,
    );
  }
  return {
    log: req.log,
    logLevel: level as LogLevel,
    backend: none || req.backend,
    frontend: none || req.frontend,
  };
}

/** The VIP an AdoptVPPLBVIP request names, or INVALID_ARGUMENT saying what is wrong. */
function adoptedVip(prefix: string, protocol: string, port: number): VipKey {
  let p;
  try {
    p = parsePrefix(prefix.trim());
  } catch (e) {
    throw new ConnectError(
      e instanceof Error ? e.message : String(e),
      Code.InvalidArgument,
    );
  }
  const proto = ({ tcp: 6, udp: 17, any: 255 } as const)[
    protocol.trim().toLowerCase() as "tcp" | "udp" | "any"
  ];
  if (proto === undefined) {
    throw new ConnectError(
      `protocol must be tcp, udp or any, not "${protocol}"`,
      Code.InvalidArgument,
    );
  }
  if (proto === 255 ? port !== 0 : port < 1 || port > 65535) {
    throw new ConnectError(
      proto === 255
        ? `an "any" VIP covers every port: give port 0, not ${port}`
        : `port must be 1..65535 for ${protocol}, not ${port}`,
      Code.InvalidArgument,
    );
  }
  return {
    prefix: `${p.network}/${p.prefixLength}`,
    protocol: proto,
    port,
  };
}
