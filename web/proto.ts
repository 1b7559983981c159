/**
 * Protobuf JSON shapes of the API messages the dashboard reads (see
 * proto/maglev/v1/maglev.proto). Protobuf JSON omits default values, so
 * every field is optional here and readers must supply the default
 * ("" / 0 / false / []); int64 fields arrive as decimal strings.
 */

/** PoolBackendInfo. */
export interface PoolBackendJson {
  name?: string;
  weight?: number;
  effectiveWeight?: number;
  state?: string;
  flush?: boolean;
  weightOverridden?: boolean;
}

/** PoolInfo. */
export interface PoolJson {
  name?: string;
  backends?: PoolBackendJson[];
}

/** FrontendInfo. */
export interface FrontendJson {
  name?: string;
  address?: string;
  protocol?: string;
  port?: number;
  pools?: PoolJson[];
  description?: string;
  srcIpSticky?: boolean;
  flushOnDown?: boolean;
  state?: string;
  activePool?: string;
  encap?: string;
  guard?: GuardJson;
}

/** FrontendGuard: the min-healthy guard. */
export interface GuardJson {
  minHealthy?: number;
  tripped?: boolean;
  trippedAtNs?: string;
  share?: number;
  heldBackends?: string[];
}

/** TransitionInfo. */
export interface TransitionJson {
  from?: string;
  to?: string;
  atUnixNs?: string;
  code?: string;
  reason?: string;
}

/** ProbeResultInfo. */
export interface ProbeResultJson {
  ok?: boolean;
  code?: string;
  text?: string;
  atUnixNs?: string;
}

/** BackendInfo. */
export interface BackendJson {
  name?: string;
  address?: string;
  state?: string;
  enabled?: boolean;
  healthcheck?: string;
  healthCounter?: number;
  rise?: number;
  fall?: number;
  lastProbe?: ProbeResultJson;
  transitions?: TransitionJson[];
  pausedFrom?: string;
  probing?: boolean;
  frontends?: string[];
}

/** LogEvent. */
export interface LogEventJson {
  atUnixNs?: string;
  level?: string;
  msg?: string;
  attrs?: Record<string, string>;
}

/** BackendEvent. */
export interface BackendEventJson {
  backend?: string;
  transition?: TransitionJson;
  info?: BackendJson;
}

/** FrontendEvent. */
export interface FrontendEventJson {
  frontend?: string;
  from?: string;
  to?: string;
  atUnixNs?: string;
  info?: FrontendJson;
}

/** VPPInfo. */
export interface VppInfoJson {
  connected?: boolean;
  version?: string;
  buildDate?: string;
  buildDirectory?: string;
  pid?: number;
  boottimeNs?: string;
  connecttimeNs?: string;
}

/** VPPLBAS. */
export interface VppAsJson {
  address?: string;
  weight?: number;
  buckets?: number;
  backend?: string;
}

/** VPPLBVIP. */
export interface VppVipJson {
  prefix?: string;
  protocol?: string;
  port?: number;
  encap?: string;
  srcIpSticky?: boolean;
  flowTableLength?: number;
  ases?: VppAsJson[];
  frontend?: string;
}

/** VPPLBState. */
export interface VppLbStateJson {
  conf?: Record<string, unknown>;
  vips?: VppVipJson[];
}
