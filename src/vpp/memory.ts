/**
 * An in-memory lb plugin with VPP's rules: the same retvals for the same
 * mistakes (README §5), the same key normalisation, the same client-side
 * checks as the VPP implementation. Used by `--dry-run`, the demo and the
 * dataplane's tests, so they exercise real failure paths without a VPP.
 */

import { parseAddress } from "../config/address.ts";
import {
  type As,
  type LbApi,
  type LbConf,
  type LbState,
  type Vip,
  type VipKey,
  type VipState,
  VppError,
} from "./types.ts";
import {
  checkAsAddress,
  checkConf,
  checkVip,
  checkWeight,
  encapFamily,
  normalizeVipKey,
  vipId,
} from "./validate.ts";

/** VNET_API_ERROR codes the model answers with. */
export const NO_SUCH_ENTRY = -6;
/** See NO_SUCH_ENTRY. */
export const INVALID_ARGUMENT = -73;
/** See NO_SUCH_ENTRY. */
export const VALUE_EXIST = -81;
/** See NO_SUCH_ENTRY. */
export const INVALID_ADDRESS_FAMILY = -97;

/** A fresh VPP's lb configuration (golden lb_conf_get_reply.defaults.json). */
export const DEFAULT_LB_CONF: LbConf = {
  ipv4SrcAddress: "255.255.255.255",
  ipv6SrcAddress: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
  stickyBucketsPerCore: 1024,
  flowTimeoutSeconds: 40,
};

/** One applied change, in the vocabulary of `LbApi`. */
export type LbOperation =
  | { readonly op: "setConf"; readonly conf: LbConf }
  | { readonly op: "addVip"; readonly vip: Vip }
  | { readonly op: "delVip"; readonly key: VipKey }
  | {
    readonly op: "addAs";
    readonly vip: VipKey;
    readonly address: string;
    readonly weight: number;
  }
  | {
    readonly op: "delAs";
    readonly vip: VipKey;
    readonly address: string;
    readonly flush: boolean;
  }
  | {
    readonly op: "setWeight";
    readonly vip: VipKey;
    readonly address: string;
    readonly weight: number;
    readonly flush: boolean;
  };

/** Options of `MemoryLb`. */
export interface MemoryLbOptions {
  /** Initial configuration; a fresh VPP's defaults otherwise. */
  readonly conf?: LbConf;
  /** Called after each successful change (dry-run logging, tests). */
  readonly onOperation?: (op: LbOperation) => void;
}

interface VipEntry {
  vip: Vip;
  /** address → weight, in insertion order (VPP breaks bucket ties by it). */
  ases: Map<string, number>;
}

/**
 * `LbApi` in memory.
 *
 * @example
 * ```ts
 * const lb = new MemoryLb();
 * await lb.addVip({ prefix: "192.0.2.1/32", protocol: 6, port: 80, encap: "gre4", srcIpSticky: false, flowTableLength: 1024 });
 * await lb.addAs({ prefix: "192.0.2.1/32", protocol: 6, port: 80 }, "198.51.100.10", 100);
 * ```
 */
export class MemoryLb implements LbApi {
  #conf: LbConf;
  #vips = new Map<string, VipEntry>();
  #onOperation: ((op: LbOperation) => void) | undefined;
  #operations: LbOperation[] = [];

  constructor(opts: MemoryLbOptions = {}) {
    this.#conf = opts.conf ? checkConf(opts.conf) : DEFAULT_LB_CONF;
    this.#onOperation = opts.onOperation;
  }

  /** Every successful change so far, in order. */
  get operations(): readonly LbOperation[] {
    return this.#operations;
  }

  getConf(): Promise<LbConf> {
    return Promise.resolve(this.#conf);
  }

  setConf(conf: LbConf): Promise<void> {
    return this.#run(() => {
      this.#conf = checkConf(conf);
      this.#record({ op: "setConf", conf: this.#conf });
    });
  }

  dump(): Promise<LbState> {
    const vips = [...this.#vips.values()].map((e) => e.vip);
    return Promise.resolve({
      conf: this.#conf,
      vips,
      ases: vips.flatMap((v) => this.#asesOf(v)),
    });
  }

  /** Every VIP, as `dump()` has them. */
  dumpVips(): Promise<VipState[]> {
    return Promise.resolve([...this.#vips.values()].map((e) => e.vip));
  }

  /** The ASes of the given VIPs, in their order; none for an unknown VIP. */
  dumpAses(vips: readonly VipKey[]): Promise<As[]> {
    return this.#run(() => {
      const seen = new Set<string>();
      const out: As[] = [];
      for (const v of vips) {
        const id = vipId(v);
        if (seen.has(id)) continue;
        seen.add(id);
        const entry = this.#vips.get(id);
        if (entry) out.push(...this.#asesOf(entry.vip));
      }
      return out;
    });
  }

  addVip(vip: Vip): Promise<void> {
    return this.#run(() => {
      const key = checkVip(vip);
      const id = vipId(key);
      if (this.#vips.has(id)) this.#refuse("lb_add_del_vip_v2", VALUE_EXIST);
      for (const { vip: other } of this.#vips.values()) {
        if (other.prefix !== key.prefix) continue;
        // An all-port VIP and per-port VIPs do not share a prefix.
        if ((other.port === 0) !== (key.port === 0)) {
          this.#refuse("lb_add_del_vip_v2", VALUE_EXIST);
        }
        if (other.encap !== vip.encap) {
          this.#refuse("lb_add_del_vip_v2", INVALID_ARGUMENT);
        }
      }
      const stored: Vip = {
        ...key,
        encap: vip.encap,
        srcIpSticky: vip.srcIpSticky,
        flowTableLength: vip.flowTableLength,
      };
      this.#vips.set(id, { vip: stored, ases: new Map() });
      this.#record({ op: "addVip", vip: stored });
    });
  }

  delVip(key: VipKey): Promise<void> {
    return this.#run(() => {
      const k = normalizeVipKey(key);
      // VPP deletes the VIP's ASes with it.
      if (!this.#vips.delete(vipId(k))) {
        this.#refuse("lb_add_del_vip_v2", NO_SUCH_ENTRY);
      }
      this.#record({ op: "delVip", key: k });
    });
  }

  addAs(vip: VipKey, address: string, weight: number): Promise<void> {
    return this.#run(() => {
      checkWeight(weight);
      const addr = checkAsAddress(address);
      const entry = this.#entry("lb_add_del_as_v2", vip);
      if (parseAddress(addr).family !== encapFamily(entry.vip.encap)) {
        this.#refuse("lb_add_del_as_v2", INVALID_ADDRESS_FAMILY);
      }
      if (entry.ases.has(addr)) this.#refuse("lb_add_del_as_v2", VALUE_EXIST);
      entry.ases.set(addr, weight);
      this.#record({
        op: "addAs",
        vip: keyOf(entry.vip),
        address: addr,
        weight,
      });
    });
  }

  delAs(vip: VipKey, address: string, flush: boolean): Promise<void> {
    return this.#run(() => {
      const addr = checkAsAddress(address);
      const entry = this.#entry("lb_add_del_as_v2", vip);
      if (!entry.ases.delete(addr)) {
        this.#refuse("lb_add_del_as_v2", NO_SUCH_ENTRY);
      }
      this.#record({
        op: "delAs",
        vip: keyOf(entry.vip),
        address: addr,
        flush,
      });
    });
  }

  setWeight(
    vip: VipKey,
    address: string,
    weight: number,
    flush: boolean,
  ): Promise<void> {
    return this.#run(() => {
      checkWeight(weight);
      const addr = checkAsAddress(address);
      const entry = this.#entry("lb_as_set_weight", vip);
      if (!entry.ases.has(addr)) {
        this.#refuse("lb_as_set_weight", NO_SUCH_ENTRY);
      }
      entry.ases.set(addr, weight);
      this.#record({
        op: "setWeight",
        vip: keyOf(entry.vip),
        address: addr,
        weight,
        flush,
      });
    });
  }

  #asesOf(vip: Vip): As[] {
    const members = this.#vips.get(vipId(vip))?.ases ?? new Map();
    const key = keyOf(vip);
    const buckets = shareBuckets(vip.flowTableLength, [...members.values()]);
    return [...members].map(([address, weight], i) => ({
      vip: key,
      address,
      weight,
      numBuckets: buckets[i],
    }));
  }

  #entry(msg: string, key: VipKey): VipEntry {
    const entry = this.#vips.get(vipId(key));
    if (!entry) this.#refuse(msg, NO_SUCH_ENTRY);
    return entry;
  }

  #refuse(msg: string, retval: number): never {
    throw new VppError(msg, retval);
  }

  #record(op: LbOperation): void {
    this.#operations.push(op);
    this.#onOperation?.(op);
  }

  /** Runs a change or read; its errors become rejections, like the VPP implementation's. */
  #run<T>(change: () => T): Promise<T> {
    try {
      return Promise.resolve(change());
    } catch (e) {
      return Promise.reject(e);
    }
  }
}

function keyOf(vip: Vip): VipKey {
  return { prefix: vip.prefix, protocol: vip.protocol, port: vip.port };
}

/**
 * Splits `length` buckets by weight (largest remainder; earlier ASes win
 * ties). An approximation of VPP's Maglev fill: the same totals, the same
 * zero for weight 0, proportional shares.
 */
export function shareBuckets(
  length: number,
  weights: readonly number[],
): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  if (total === 0) return weights.map(() => 0);
  const exact = weights.map((w) => (length * w) / total);
  const out = exact.map(Math.floor);
  let left = length - out.reduce((a, b) => a + b, 0);
  const order = exact
    .map((x, i) => ({ i, frac: x - Math.floor(x) }))
    .sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left === 0) break;
    if (weights[i] === 0) continue;
    out[i]++;
    left--;
  }
  return out;
}
