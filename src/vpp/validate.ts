/**
 * Client-side checks shared by the VPP and in-memory `LbApi`s. VPP range-
 * checks almost nothing (weight 255 is accepted) and crashes on a
 * new-flows table length of 0, so these run before anything is sent.
 */

import { parseAddress, parsePrefix } from "../config/address.ts";
import type { Encap, LbConf, Vip, VipKey, VipProtocol } from "./types.ts";

/** Largest new-flows table length maglev sends (power of two). */
export const MAX_FLOW_TABLE_LENGTH = 65536;

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}

/**
 * A VIP key in VPP's form: host bits cleared (VPP clears them itself), and
 * protocol 255 for an all-port VIP (VPP forces it when port is 0).
 *
 * @throws {RangeError} for a bad prefix, protocol or port.
 */
export function normalizeVipKey(key: VipKey): VipKey {
  let p;
  try {
    p = parsePrefix(key.prefix);
  } catch (e) {
    throw new RangeError(
      `VIP prefix: ${e instanceof Error ? e.message : e}`,
    );
  }
  if (![6, 17, 255].includes(key.protocol)) {
    throw new RangeError(
      `VIP ${key.prefix}: protocol ${key.protocol} is not 6 (tcp), 17 (udp) or 255 (any)`,
    );
  }
  if (!Number.isInteger(key.port) || key.port < 0 || key.port > 65535) {
    throw new RangeError(
      `VIP ${key.prefix}: port ${key.port} is not 0..65535`,
    );
  }
  const protocol: VipProtocol = key.port === 0 ? 255 : key.protocol;
  return { prefix: `${p.network}/${p.prefixLength}`, protocol, port: key.port };
}

/** A stable string for a VIP key (maps, stats targets): "192.0.2.0/24 6 80". */
export function vipId(key: VipKey): string {
  const k = normalizeVipKey(key);
  return `${k.prefix} ${k.protocol} ${k.port}`;
}

/** Family of a VIP prefix. */
export function prefixFamily(prefix: string): 4 | 6 {
  return parsePrefix(prefix).family;
}

/** The AS address family an encap carries (gre4 → IPv4 ASes). */
export function encapFamily(encap: Encap): 4 | 6 {
  return encap === "gre4" ? 4 : 6;
}

/**
 * Checks a VIP before it is created.
 *
 * @throws {RangeError} for a table length of 0 (crashes VPP), not a power of
 * two, or above `MAX_FLOW_TABLE_LENGTH`; an unknown encap; a bad key.
 */
export function checkVip(vip: Vip): VipKey {
  const key = normalizeVipKey(vip);
  if (vip.encap !== "gre4" && vip.encap !== "gre6") {
    throw new RangeError(
      `VIP ${vip.prefix}: encap "${vip.encap}" is not gre4 or gre6`,
    );
  }
  const n = vip.flowTableLength;
  if (
    !isPowerOfTwo(n) || n > MAX_FLOW_TABLE_LENGTH
  ) {
    throw new RangeError(
      `VIP ${vip.prefix}: new-flows table length ${n} must be a power of two 1..${MAX_FLOW_TABLE_LENGTH} (0 crashes VPP)`,
    );
  }
  if (typeof vip.srcIpSticky !== "boolean") {
    throw new RangeError(`VIP ${vip.prefix}: srcIpSticky must be a boolean`);
  }
  return key;
}

/** @throws {RangeError} unless `weight` is an integer 0..100 (VPP itself accepts up to 255). */
export function checkWeight(weight: number): void {
  if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
    throw new RangeError(`AS weight ${weight} is not an integer 0..100`);
  }
}

/** Canonical AS address. @throws {RangeError} for a bad address. */
export function checkAsAddress(address: string): string {
  try {
    return parseAddress(address).address;
  } catch (e) {
    throw new RangeError(`AS address: ${e instanceof Error ? e.message : e}`);
  }
}

/**
 * Checks the lb plugin's global configuration.
 *
 * @throws {RangeError} for addresses of the wrong family, a bucket count that
 * is not a power of two (0 included: VPP would try 2^32), or a timeout
 * outside 1..120 s.
 */
export function checkConf(conf: LbConf): LbConf {
  const v4 = checkAsAddress(conf.ipv4SrcAddress);
  const v6 = checkAsAddress(conf.ipv6SrcAddress);
  if (parseAddress(v4).family !== 4) {
    throw new RangeError(`lb ipv4 source address ${v4} is not IPv4`);
  }
  if (parseAddress(v6).family !== 6) {
    throw new RangeError(`lb ipv6 source address ${v6} is not IPv6`);
  }
  const b = conf.stickyBucketsPerCore;
  if (!isPowerOfTwo(b) || b > 2 ** 31) {
    throw new RangeError(
      `sticky buckets per core ${b} must be a power of two 1..2^31`,
    );
  }
  const t = conf.flowTimeoutSeconds;
  if (!Number.isInteger(t) || t < 1 || t > 120) {
    throw new RangeError(`flow timeout ${t} s is not an integer 1..120`);
  }
  return {
    ipv4SrcAddress: v4,
    ipv6SrcAddress: v6,
    stickyBucketsPerCore: b,
    flowTimeoutSeconds: t,
  };
}
