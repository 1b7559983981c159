/**
 * Daemon state → API messages. One place decides how a backend, frontend or
 * health check looks on the wire, so every RPC and every event agrees.
 */
import { create } from "@bufbuild/protobuf";
import type { LogRecord } from "../../cli/log.ts";
import type {
  ConfigError,
  FrontendConfig,
  HealthCheckConfig,
  StatusRange,
} from "../../config/types.ts";
import type { Transition } from "../../health/types.ts";
import {
  type BackendInfo,
  BackendInfoSchema,
  type ConfigErrorInfo,
  ConfigErrorInfoSchema,
  type FrontendInfo,
  FrontendInfoSchema,
  type HealthCheckInfo,
  HealthCheckInfoSchema,
  type LogEvent,
  LogEventSchema,
  type TransitionInfo,
  TransitionInfoSchema,
} from "../../api/gen/maglev/v1/maglev_pb.ts";
import type { BackendStatus, FrontendStatus } from "../checker.ts";

/** Milliseconds since the epoch → the API's Unix nanoseconds. */
export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms)) * 1_000_000n;
}

/** A transition as the API sends it. */
export function transitionInfo(t: Transition): TransitionInfo {
  return create(TransitionInfoSchema, {
    from: t.from,
    to: t.to,
    atUnixNs: msToNs(t.atMs),
    code: t.code,
    reason: t.reason,
  });
}

/** A backend with its state, last probe and history. */
export function backendInfo(
  b: BackendStatus,
  frontends: readonly string[],
): BackendInfo {
  const h = b.health;
  const last = h.lastResult;
  return create(BackendInfoSchema, {
    name: b.config.name,
    address: b.config.address,
    state: h.state,
    enabled: h.enabled,
    healthcheck: b.config.healthcheck,
    healthCounter: h.counter,
    rise: h.rise,
    fall: h.fall,
    lastProbe: last
      ? {
        ok: last.ok,
        code: last.code,
        text: last.text,
        atUnixNs: msToNs(last.atMs),
      }
      : undefined,
    transitions: h.transitions.map(transitionInfo),
    pausedFrom: h.pausedFrom ?? "",
    probing: b.probing,
    frontends: [...frontends],
  });
}

/**
 * A frontend with pools and weights. `configured` is the frontend as the
 * config file has it, to flag weights an operator overrode.
 */
export function frontendInfo(
  f: FrontendStatus,
  configured: FrontendConfig | undefined,
): FrontendInfo {
  const e = f.evaluation;
  const active = e.activePool >= 0 ? f.config.pools[e.activePool]?.name : "";
  return create(FrontendInfoSchema, {
    name: f.config.name,
    address: f.config.prefix,
    protocol: f.config.protocol,
    port: f.config.port,
    description: f.config.description,
    srcIpSticky: f.config.srcIpSticky,
    flushOnDown: f.config.flushOnDown,
    state: e.state,
    activePool: active ?? "",
    encap: f.config.backendFamily === 6 ? "gre6" : "gre4",
    ...(f.guard
      ? {
        guard: {
          minHealthy: f.guard.minHealthy,
          tripped: f.guard.trip !== undefined,
          trippedAtNs: f.guard.trip ? msToNs(f.guard.trip.atMs) : 0n,
          share: f.guard.trip?.share ?? 1,
          heldBackends: [...f.guard.trip?.held ?? []],
        },
      }
      : {}),
    pools: f.config.pools.map((p, poolIndex) => ({
      name: p.name,
      backends: e.members.filter((m) => m.poolIndex === poolIndex).map((m) => {
        const fileWeight = configured?.pools[poolIndex]?.members.find((x) =>
          x.backend === m.backend
        )?.weight;
        return {
          name: m.backend,
          weight: m.configuredWeight,
          effectiveWeight: m.effectiveWeight,
          state: m.state,
          flush: m.flush,
          weightOverridden: fileWeight !== undefined &&
            fileWeight !== m.configuredWeight,
        };
      }),
    })),
  });
}

/** `[[200, 399], [404, 404]]` → "200-399,404". */
export function formatStatusRanges(ranges: readonly StatusRange[]): string {
  return ranges.map(([lo, hi]) => lo === hi ? `${lo}` : `${lo}-${hi}`).join(
    ",",
  );
}

/** A health check with every parameter, defaults filled in. */
export function healthCheckInfo(
  c: HealthCheckConfig,
  backends: readonly string[],
): HealthCheckInfo {
  const web = c.type === "http" || c.type === "https";
  const tls = c.type === "https" || (c.type === "tcp" && c.params.tls);
  return create(HealthCheckInfoSchema, {
    name: c.name,
    type: c.type,
    port: c.port,
    intervalMs: Math.round(c.intervalMs),
    fastIntervalMs: Math.round(c.fastIntervalMs),
    downIntervalMs: Math.round(c.downIntervalMs),
    timeoutMs: Math.round(c.timeoutMs),
    rise: c.rise,
    fall: c.fall,
    path: web ? c.params.path : "",
    host: web ? c.params.host ?? "" : "",
    method: web ? c.params.method : "",
    responseCode: web ? formatStatusRanges(c.params.responseCodes) : "",
    responseRegexp: web ? c.params.responseRegexp ?? "" : "",
    tls: c.type === "tcp" && c.params.tls,
    serverName: tls ? c.params.serverName ?? "" : "",
    insecureSkipVerify: tls && c.params.insecureSkipVerify,
    backends: [...backends],
  });
}

/** A config error for CheckConfig / ReloadConfig. */
export function configErrorInfo(e: ConfigError): ConfigErrorInfo {
  return create(ConfigErrorInfoSchema, {
    kind: e.kind,
    file: e.file,
    line: e.line,
    col: e.col,
    path: e.path,
    message: e.message,
  });
}

function attrText(v: unknown): string {
  if (typeof v === "string") return v;
  if (v instanceof Error) return v.message;
  try {
    return JSON.stringify(v, (_k, x) => typeof x === "bigint" ? `${x}` : x) ??
      String(v);
  } catch {
    return String(v);
  }
}

/** A log record for WatchEvents; field values become strings. */
export function logEvent(r: LogRecord): LogEvent {
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.fields)) {
    if (v !== undefined) attrs[k] = attrText(v);
  }
  return create(LogEventSchema, {
    atUnixNs: msToNs(r.timeMs),
    level: r.level,
    msg: r.msg,
    attrs,
  });
}
