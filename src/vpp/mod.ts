/**
 * VPP integration: the only part of maglev that knows FFI, pointers and
 * byte layouts. Everything above it uses `LbApi` (VPP or in-memory), the
 * client's events, and the stats reader's plain numbers.
 *
 * @example
 * ```ts
 * import { createVpp } from "./src/vpp/mod.ts";
 * const vpp = createVpp({ libPath: "", statsSocket: "/run/vpp/stats.sock" });
 * vpp.client.on((e) => console.log(e.type));
 * vpp.client.start();
 * ```
 * @module
 */

export * from "./types.ts";
export { createVpp, type Vpp, type VppOptions } from "./create.ts";
export {
  type ApiDirection,
  type ApiObserver,
  type ApiResult,
  VppClient,
  type VppClientEvent,
  type VppClientOptions,
  VppIncompatibleError,
  type VppLogger,
  VppTimeoutError,
  VppUnavailableError,
} from "./client.ts";
export { type CounterIndex, VppLb, type VppLbOptions } from "./lb.ts";
export {
  LB_COUNTERS,
  ROUTE_COUNTER,
  type VipCounters,
  vipCountersFrom,
  VppStats,
  VppStatsError,
  type VppStatsOptions,
} from "./stats.ts";
export {
  DEFAULT_LB_CONF,
  type LbOperation,
  MemoryLb,
  type MemoryLbOptions,
} from "./memory.ts";
export {
  DEFAULT_LIBRARY_CANDIDATES,
  openVppLibrary,
  vacTransport,
  type VppLibrary,
  VppLibraryError,
} from "./ffi.ts";
export type { VacTransport } from "./transport.ts";
export {
  checkConf,
  checkVip,
  checkWeight,
  MAX_FLOW_TABLE_LENGTH,
  normalizeVipKey,
  vipId,
} from "./validate.ts";
export { CodecError } from "./codec.ts";
