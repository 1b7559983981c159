/**
 * `LbApi` over the binary API: typed lb calls in, messages out. Also the
 * two lookups the stats reader needs, which no lb message provides: each
 * VIP's pool index (scraped from the CLI) and its route's stats index
 * (`ip_route_lookup`).
 */

import {
  type As,
  type Encap,
  type LbApi,
  type LbConf,
  type LbState,
  type Vip,
  type VipKey,
  type VipProtocol,
  type VipState,
  VppError,
  type VppVersion,
} from "./types.ts";
import type { VppClient, VppLogger } from "./client.ts";
import { parseShowLbVips, type ShowLbVip, vipIndexMap } from "./show_lb.ts";
import {
  checkAsAddress,
  checkConf,
  checkVip,
  checkWeight,
  normalizeVipKey,
  vipId,
} from "./validate.ts";
import { NO_SUCH_ENTRY } from "./memory.ts";

const ENCAP_VALUE: Record<Encap, number> = { gre4: 0, gre6: 1 };
const ENCAP_NAME: Record<number, Encap> = { 0: "gre4", 1: "gre6" };
const ENCAP_LABEL = ["gre4", "gre6", "l3dsr", "nat4", "nat6"];

/** Sent on every VIP delete too: VPP ignores it there, and 0 must never be on the wire. */
const DELETE_TABLE_LENGTH = 1024;

/** Where a VIP's counters live in the stats segment. */
export interface CounterIndex {
  /** Column of the four lb SimpleCounters; undefined if VPP has no such VIP. */
  readonly vipIndex?: number;
  /** Index in `/net/route/to`; undefined if the VIP's route is missing. */
  readonly routeStatsIndex?: number;
}

/** Options of `VppLb`. */
export interface VppLbOptions {
  /** Warns about VIPs it cannot represent (l3dsr/nat encaps, other protocols). */
  readonly logger?: VppLogger;
}

/** The all-zero dump filter: VPP ignores lb_vip_dump's and mis-reads an IPv4 lb_as_v2_dump filter. */
const ALL = { pfx: "0.0.0.0/0", protocol: 0, port: 0 } as const;

/**
 * The lb plugin through a `VppClient`.
 *
 * @example
 * ```ts
 * const lb = new VppLb(client);
 * const state = await lb.dump();
 * ```
 */
export class VppLb implements LbApi {
  readonly #client: VppClient;
  readonly #log: VppLogger | undefined;
  #indexes = new Map<string, number>();
  #indexesStale = true;
  #routeIndexes = new Map<string, number | undefined>();
  /** VIPs already warned about as unsupported: one warning each, not one per dump. */
  #warnedUnsupported = new Set<string>();
  readonly #off: () => void;

  constructor(client: VppClient, opts: VppLbOptions = {}) {
    this.#client = client;
    this.#log = opts.logger;
    // A new connection may be a restarted VPP: indexes start over.
    this.#off = client.on((e) => {
      if (e.type === "connected" || e.type === "disconnected") {
        this.#indexesStale = true;
        this.#routeIndexes.clear();
      }
    });
  }

  /** Stops listening to the client's events. */
  dispose(): void {
    this.#off();
  }

  async getConf(): Promise<LbConf> {
    const r = await this.#client.request("lb_conf_get", {});
    return {
      ipv4SrcAddress: r.ip4_src_address,
      ipv6SrcAddress: r.ip6_src_address,
      stickyBucketsPerCore: r.sticky_buckets_per_core,
      flowTimeoutSeconds: r.flow_timeout,
    };
  }

  async setConf(conf: LbConf): Promise<void> {
    const c = checkConf(conf);
    await this.#client.request("lb_conf", {
      ip4_src_address: c.ipv4SrcAddress,
      ip6_src_address: c.ipv6SrcAddress,
      sticky_buckets_per_core: c.stickyBucketsPerCore,
      flow_timeout: c.flowTimeoutSeconds,
    });
  }

  /**
   * Reads the conf, every VIP (with src_ip_sticky and the real table length
   * from the CLI) and every AS still in use (deleted ones linger in the dump
   * with flags bit 0 clear until VPP's garbage collector runs).
   */
  async dump(): Promise<LbState> {
    const conf = await this.getConf();
    const vipDetails = await this.#client.dump("lb_vip_dump", {
      ...ALL,
      "pfx_matcher.le": 0,
      "pfx_matcher.ge": 0,
    });
    const cli = await this.#showVips();
    const asDetails = await this.#client.dump("lb_as_v2_dump", ALL);

    const byId = new Map<string, ShowLbVip>();
    for (const v of cli) {
      if (v.removed || ![6, 17, 255].includes(v.protocol)) continue;
      byId.set(
        vipId({
          prefix: v.prefix,
          protocol: v.protocol as VipProtocol,
          port: v.port,
        }),
        v,
      );
    }

    const vips: VipState[] = [];
    const known = new Set<string>();
    for (const d of vipDetails) {
      const encap = ENCAP_NAME[d.encap];
      const protocol = d["vip.protocol"];
      if (encap === undefined || ![6, 17, 255].includes(protocol)) {
        const id = `${d["vip.pfx"]} ${protocol} ${d["vip.port"]} ${d.encap}`;
        if (this.#warnedUnsupported.has(id)) continue;
        this.#warnedUnsupported.add(id);
        this.#log?.warn("vpp-vip-unsupported", {
          prefix: d["vip.pfx"],
          protocol,
          port: d["vip.port"],
          encap: ENCAP_LABEL[d.encap] ?? d.encap,
          note:
            "maglev manages gre4/gre6 VIPs for tcp, udp or all ports; this one is left alone",
        });
        continue;
      }
      const key: VipKey = {
        prefix: d["vip.pfx"],
        protocol: protocol as VipProtocol,
        port: d["vip.port"],
      };
      const id = vipId(key);
      const fromCli = byId.get(id);
      known.add(id);
      vips.push({
        ...key,
        encap,
        // Unknown (undefined) when the CLI scrape did not show this VIP.
        srcIpSticky: fromCli?.srcIpSticky,
        // The details carry a u16: 65536 arrives as 0.
        flowTableLength: fromCli?.newSize ?? (d.flow_table_length || 65536),
      });
    }

    const ases: As[] = [];
    for (const d of asDetails) {
      if ((d.flags & 1) === 0) continue;
      const key: VipKey = {
        prefix: d["vip.pfx"],
        protocol: d["vip.protocol"] as VipProtocol,
        port: d["vip.port"],
      };
      if (!known.has(vipId(key))) continue;
      ases.push({
        vip: key,
        address: d.app_srv,
        weight: d.weight,
        numBuckets: d.num_buckets,
      });
    }
    return { conf, vips, ases };
  }

  async addVip(vip: Vip): Promise<void> {
    const key = checkVip(vip);
    try {
      await this.#client.request("lb_add_del_vip_v2", {
        pfx: key.prefix,
        protocol: key.protocol,
        port: key.port,
        encap: ENCAP_VALUE[vip.encap],
        dscp: 0,
        type: 0,
        target_port: 0,
        node_port: 0,
        new_flows_table_length: vip.flowTableLength,
        src_ip_sticky: vip.srcIpSticky,
        is_del: false,
      });
    } finally {
      this.#vipChanged(key);
    }
  }

  async delVip(key: VipKey): Promise<void> {
    const k = normalizeVipKey(key);
    try {
      await this.#client.request("lb_add_del_vip_v2", {
        pfx: k.prefix,
        protocol: k.protocol,
        port: k.port,
        encap: 0,
        dscp: 0,
        type: 0,
        target_port: 0,
        node_port: 0,
        new_flows_table_length: DELETE_TABLE_LENGTH,
        src_ip_sticky: false,
        is_del: true,
      });
    } finally {
      this.#vipChanged(k);
    }
  }

  async addAs(vip: VipKey, address: string, weight: number): Promise<void> {
    checkWeight(weight);
    const k = normalizeVipKey(vip);
    await this.#client.request("lb_add_del_as_v2", {
      pfx: k.prefix,
      protocol: k.protocol,
      port: k.port,
      as_address: checkAsAddress(address),
      weight,
      is_del: false,
      is_flush: false,
    });
  }

  async delAs(vip: VipKey, address: string, flush: boolean): Promise<void> {
    const k = normalizeVipKey(vip);
    await this.#client.request("lb_add_del_as_v2", {
      pfx: k.prefix,
      protocol: k.protocol,
      port: k.port,
      as_address: checkAsAddress(address),
      weight: 0,
      is_del: true,
      is_flush: flush,
    });
  }

  async setWeight(
    vip: VipKey,
    address: string,
    weight: number,
    flush: boolean,
  ): Promise<void> {
    checkWeight(weight);
    const k = normalizeVipKey(vip);
    await this.#client.request("lb_as_set_weight", {
      pfx: k.prefix,
      protocol: k.protocol,
      port: k.port,
      as_address: checkAsAddress(address),
      weight,
      is_flush: flush,
    });
  }

  /** VPP's version (also kept by the client from the connect). */
  async showVersion(): Promise<VppVersion> {
    const r = await this.#client.request("show_version", {});
    return {
      program: r.program,
      version: r.version,
      buildDate: r.build_date,
      buildDirectory: r.build_directory,
    };
  }

  /** Runs a VPP CLI command and returns its text (`retval` < 0 → VppError). */
  async cli(command: string): Promise<string> {
    const r = await this.#client.request("cli_inband", { cmd: command });
    return r.reply;
  }

  /** The last known VIP pool indexes (`vipId` → index); see `vipIndexes()`. */
  get vipIndex(): ReadonlyMap<string, number> {
    return this.#indexes;
  }

  /** VIP pool indexes, re-read from the CLI after any VIP add/delete or reconnect. */
  async vipIndexes(): Promise<ReadonlyMap<string, number>> {
    if (this.#indexesStale) await this.#showVips();
    return this.#indexes;
  }

  /**
   * The `/net/route/to` index of a VIP prefix (exact lookup in table 0);
   * undefined when VPP has no such route. Cached until the VIP changes.
   */
  async routeStatsIndex(prefix: string): Promise<number | undefined> {
    const p = normalizeVipKey({ prefix, protocol: 255, port: 0 }).prefix;
    if (this.#routeIndexes.has(p)) return this.#routeIndexes.get(p);
    let index: number | undefined;
    try {
      const r = await this.#client.request("ip_route_lookup", {
        table_id: 0,
        exact: 1,
        prefix: p,
      });
      index = r["route.stats_index"];
    } catch (e) {
      if (!(e instanceof VppError && e.retval === NO_SUCH_ENTRY)) throw e;
    }
    this.#routeIndexes.set(p, index);
    return index;
  }

  /** Both stats indexes of each VIP, keyed by `vipId`. */
  async counterIndexes(
    keys: readonly VipKey[],
  ): Promise<Map<string, CounterIndex>> {
    const vipIndexes = await this.vipIndexes();
    const out = new Map<string, CounterIndex>();
    for (const key of keys) {
      const id = vipId(key);
      out.set(id, {
        vipIndex: vipIndexes.get(id),
        routeStatsIndex: await this.routeStatsIndex(key.prefix),
      });
    }
    return out;
  }

  async #showVips(): Promise<ShowLbVip[]> {
    const vips = parseShowLbVips(await this.cli("show lb vips verbose"));
    this.#indexes = vipIndexMap(vips);
    this.#indexesStale = false;
    return vips;
  }

  #vipChanged(key: VipKey): void {
    this.#indexesStale = true;
    this.#routeIndexes.delete(key.prefix);
  }
}
