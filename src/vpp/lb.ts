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
import type { MessageValues } from "./messages.ts";
import { parseAddress, parsePrefix } from "../config/address.ts";
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
  /**
   * Warns about VIPs it cannot represent (l3dsr/nat encaps, other
   * protocols) and about falling back to dumping all ASes at once.
   */
  readonly logger?: VppLogger;
  /** Per-VIP AS dumps in flight at most (`dumpAses`). Default 32. */
  readonly maxAsDumpsInFlight?: number;
  /**
   * Details (and ending replies) of those dumps outstanding at most, by the
   * AS counts of the last CLI scrape. Keep it well below the client's
   * receive queue: VPP's main thread blocks while that queue is full.
   * Default 512.
   */
  readonly maxAsDetailsInFlight?: number;
}

/** The all-zero dump filter: lb_vip_dump ignores filters, and lb_as_v2_dump dumps every AS for it. */
const ALL = { pfx: "0.0.0.0/0", protocol: 0, port: 0 } as const;

/**
 * Default of `maxAsDetailsInFlight`: half the smallest receive queue the
 * client has used (1,024), so even a client that stops reading for a
 * moment never makes VPP wait.
 */
const MAX_DETAILS_IN_FLIGHT = 512;
/** Assumed AS count of a VIP the last CLI scrape did not show. */
const UNKNOWN_AS_COUNT = 16;

type AsDetails = MessageValues<"lb_as_v2_details">;

/** State shared by the per-VIP dumps of one `dumpAses` call. */
interface AsDumpCall {
  /** The one all-AS dump this call made, if it needed one. */
  all?: AsDetails[];
}

function isVipProtocol(p: number): p is VipProtocol {
  return p === 6 || p === 17 || p === 255;
}

/** vipId of a details' VIP; undefined for a protocol maglev does not manage. */
function detailsVipId(d: AsDetails): string | undefined {
  const protocol = d["vip.protocol"];
  if (!isVipProtocol(protocol)) return undefined;
  return vipId({ prefix: d["vip.pfx"], protocol, port: d["vip.port"] });
}

/** The AS of a details message; undefined if deleted or of an unmanaged VIP. */
function liveAs(d: AsDetails): As | undefined {
  const protocol = d["vip.protocol"];
  if ((d.flags & 1) === 0 || !isVipProtocol(protocol)) return undefined;
  return {
    vip: { prefix: d["vip.pfx"], protocol, port: d["vip.port"] },
    address: d.app_srv,
    weight: d.weight,
    numBuckets: d.num_buckets,
  };
}

/** The 16 bytes of VPP's internal (ip46) form of a prefix's address, as hex. */
function ip46Hex(prefix: string): string {
  const bytes = parseAddress(parsePrefix(prefix).network).bytes;
  const out = new Uint8Array(16);
  out.set(bytes, 16 - bytes.length);
  return Array.from(out, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The lb_as_v2_dump filter of one VIP. VPP copies the filter's 16 address
 * bytes and compares them raw with its internal form, in which IPv4 sits in
 * bytes 12..15 (a normally encoded IPv4 filter matches nothing; README
 * §4.3); it compares neither the family nor the length. The
 * IPv4-compatible IPv6 prefix `::a.b.c.d/(len + 96)` is exactly that
 * internal form, so it also matches on a VPP that decodes the filter.
 * `all`: the bytes are all zero, which VPP takes as "every AS".
 */
function asDumpFilter(
  key: VipKey,
): { pfx: string; ip46: string; all: boolean } {
  const p = parsePrefix(key.prefix);
  const ip46 = ip46Hex(key.prefix);
  const groups = ip46.match(/.{4}/g)!.map((g) => parseInt(g, 16).toString(16));
  const length = p.prefixLength + (p.family === 4 ? 96 : 0);
  return {
    pfx: `${groups.join(":")}/${length}`,
    ip46,
    all: /^0+$/.test(ip46),
  };
}

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
  /** Whether lb_as_v2_dump's VIP filter works on this connection's VPP. */
  #asFilter: "unverified" | "works" | "broken" = "unverified";
  /** `#as:N` by vipId from the last CLI scrape. */
  #asCounts = new Map<string, number>();
  readonly #maxInFlight: number;
  readonly #maxDetails: number;
  readonly #off: () => void;

  constructor(client: VppClient, opts: VppLbOptions = {}) {
    this.#client = client;
    this.#log = opts.logger;
    this.#maxInFlight = Math.max(1, opts.maxAsDumpsInFlight ?? 32);
    this.#maxDetails = Math.max(
      1,
      opts.maxAsDetailsInFlight ?? MAX_DETAILS_IN_FLIGHT,
    );
    // A new connection may be a restarted, or another, VPP: indexes and
    // what is known about its AS filter start over.
    this.#off = client.on((e) => {
      if (e.type === "connected" || e.type === "disconnected") {
        this.#indexesStale = true;
        this.#routeIndexes.clear();
        this.#asFilter = "unverified";
        this.#asCounts.clear();
      }
    });
  }

  /**
   * How this connection reads ASes: `unverified` until a per-VIP
   * lb_as_v2_dump found ASes, then `works`; `broken` after falling back to
   * dumping all ASes at once (see `dumpAses`).
   */
  get asDumpFilter(): "unverified" | "works" | "broken" {
    return this.#asFilter;
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
   * Reads the conf, every VIP and the live ASes of each (see `dumpVips` and
   * `dumpAses`): VPP answers one small request at a time, so its main thread
   * is never held for long.
   */
  async dump(): Promise<LbState> {
    const conf = await this.getConf();
    const vips = await this.dumpVips();
    const ases = await this.dumpAses(vips);
    return { conf, vips, ases };
  }

  /**
   * Every VIP maglev can manage (gre4/gre6; tcp, udp or all ports), with
   * src_ip_sticky and the real table length from `show lb vips verbose`.
   * Other VIPs are left out, with one `vpp-vip-unsupported` warning each.
   */
  async dumpVips(): Promise<VipState[]> {
    const vipDetails = await this.#client.dump("lb_vip_dump", {
      ...ALL,
      "pfx_matcher.le": 0,
      "pfx_matcher.ge": 0,
    });
    const cli = await this.#showVips();

    const byId = new Map<string, ShowLbVip>();
    for (const v of cli) {
      if (v.removed || !isVipProtocol(v.protocol)) continue;
      byId.set(
        vipId({ prefix: v.prefix, protocol: v.protocol, port: v.port }),
        v,
      );
    }

    const vips: VipState[] = [];
    for (const d of vipDetails) {
      const encap = ENCAP_NAME[d.encap];
      const protocol = d["vip.protocol"];
      if (encap === undefined || !isVipProtocol(protocol)) {
        this.#warnUnsupported(d["vip.pfx"], protocol, d["vip.port"], d.encap);
        continue;
      }
      const key: VipKey = {
        prefix: d["vip.pfx"],
        protocol,
        port: d["vip.port"],
      };
      const fromCli = byId.get(vipId(key));
      vips.push({
        ...key,
        encap,
        // Unknown (undefined) when the CLI scrape did not show this VIP.
        srcIpSticky: fromCli?.srcIpSticky,
        // The details carry a u16: 65536 arrives as 0.
        flowTableLength: fromCli?.newSize ?? (d.flow_table_length || 65536),
      });
    }
    return vips;
  }

  /**
   * The live ASes of the given VIPs (deleted ones linger in VPP's dump with
   * flags bit 0 clear until its garbage collector runs; they are left out),
   * in the order of `vips`. One `lb_as_v2_dump` per VIP, at most
   * `maxAsDumpsInFlight` at a time and never more than `maxAsDetailsInFlight`
   * details outstanding: VPP answers a dump of all ASes in one go, holding its main
   * thread until the last details message is in the client's receive queue
   * (with a 1,024-message queue and 16,000 ASes, until maglev has read
   * nearly all of them: 0.5 to 1.5 s measured). A VIP VPP does not hold
   * has no ASes.
   *
   * VPP compares the filter raw with its internal address form (README
   * §4.3), so an IPv4 VIP is asked for as `::a.b.c.d`. Should a VPP not
   * filter that way (nothing found for a VIP the CLI shows ASes for, or
   * ASes of other VIPs returned), this connection falls back to dumping
   * all ASes at once, with one `vpp-as-dump-fallback` warning.
   */
  async dumpAses(vips: readonly VipKey[]): Promise<As[]> {
    const keys = new Map<string, VipKey>();
    for (const v of vips) {
      const k = normalizeVipKey(v);
      keys.set(vipId(k), k);
    }
    if (keys.size === 0) return [];
    const found = new Map<string, As[]>();
    const call: AsDumpCall = {};
    const pending = [...keys.values()];
    // Until a filtered dump has proven to work on this connection, one at a
    // time: a VPP that ignored the filter would answer each with every AS.
    while (this.#asFilter === "unverified" && pending.length > 0) {
      const key = pending.shift()!;
      found.set(vipId(key), await this.#asesOf(key, call));
    }
    if (this.#asFilter === "works") {
      await this.#pipelined(pending, (key) => this.#asesOf(key, call), found);
    }
    if (this.#asFilter === "broken") {
      call.all ??= await this.#client.dump("lb_as_v2_dump", ALL);
      found.clear();
      for (const d of call.all) {
        const as = liveAs(d);
        if (!as) continue;
        const id = vipId(as.vip);
        if (!keys.has(id)) continue;
        const list = found.get(id);
        if (list) list.push(as);
        else found.set(id, [as]);
      }
    }
    return [...keys.keys()].flatMap((id) => found.get(id) ?? []);
  }

  /** One VIP's live ASes through the filter; checks the filter while unverified. */
  async #asesOf(key: VipKey, call: AsDumpCall): Promise<As[]> {
    const id = vipId(key);
    const filter = asDumpFilter(key);
    const details = await this.#client.dump("lb_as_v2_dump", {
      pfx: filter.pfx,
      protocol: key.protocol,
      port: key.port,
    });
    const ases: As[] = [];
    let foreign = false;
    for (const d of details) {
      // An all-zero filter (a VIP on 0.0.0.0 or ::) asks VPP for everything.
      if (!filter.all && ip46Hex(d["vip.pfx"]) !== filter.ip46) {
        foreign = true;
        continue;
      }
      // VPP does not compare the length: 192.0.2.0/24 and /25 both match.
      const as = liveAs(d);
      if (as && vipId(as.vip) === id) ases.push(as);
    }
    if (foreign) {
      this.#fallBack(id, "the dump of one VIP also returned other VIPs' ASes");
    } else if (this.#asFilter === "unverified" && details.length > 0) {
      // An all-zero filter returns everything whether filters work or not.
      if (!filter.all) this.#asFilter = "works";
    } else if (
      this.#asFilter === "unverified" && !filter.all &&
      (this.#asCounts.get(id) ?? 0) > 0
    ) {
      // The CLI showed ASes the filter did not find. Unless they were
      // garbage-collected in between, the filter does not work on this VPP.
      call.all ??= await this.#client.dump("lb_as_v2_dump", ALL);
      if (call.all.some((d) => detailsVipId(d) === id)) {
        this.#fallBack(
          id,
          `the dump of this VIP found nothing, but VPP holds ${
            this.#asCounts.get(id)
          } AS(es) for it`,
        );
      }
    }
    return ases;
  }

  /**
   * Runs `dumpOne` for each key, a bounded number at a time (see
   * `dumpAses`), into `found`. Stops starting new ones once the filter is
   * found broken; the first failure rejects after the running ones ended.
   */
  #pipelined(
    keys: readonly VipKey[],
    dumpOne: (key: VipKey) => Promise<As[]>,
    found: Map<string, As[]>,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      let next = 0;
      let running = 0;
      let expected = 0;
      let failure: { error: unknown } | undefined;
      const pump = () => {
        while (
          !failure && this.#asFilter === "works" && next < keys.length &&
          running < this.#maxInFlight
        ) {
          const key = keys[next];
          const id = vipId(key);
          // Its details plus the control_ping_reply ending the dump.
          const cost = (this.#asCounts.get(id) ?? UNKNOWN_AS_COUNT) + 1;
          if (running > 0 && expected + cost > this.#maxDetails) break;
          next++;
          running++;
          expected += cost;
          dumpOne(key).then(
            (ases) => found.set(id, ases),
            (error) => failure ??= { error },
          ).finally(() => {
            running--;
            expected -= cost;
            pump();
          });
        }
        if (running > 0) return;
        if (failure) reject(failure.error);
        else resolve();
      };
      pump();
    });
  }

  #fallBack(vip: string, reason: string): void {
    if (this.#asFilter === "broken") return;
    this.#asFilter = "broken";
    this.#log?.warn("vpp-as-dump-fallback", {
      vip,
      reason,
      note:
        "lb_as_v2_dump's VIP filter does not work as expected on this VPP: reading all ASes in one dump until the next connect, which holds VPP's main thread for the whole dump",
    });
  }

  #warnUnsupported(
    prefix: string,
    protocol: number,
    port: number,
    encap: number,
  ): void {
    const id = `${prefix} ${protocol} ${port} ${encap}`;
    if (this.#warnedUnsupported.has(id)) return;
    this.#warnedUnsupported.add(id);
    this.#log?.warn("vpp-vip-unsupported", {
      prefix,
      protocol,
      port,
      encap: ENCAP_LABEL[encap] ?? encap,
      note:
        "maglev manages gre4/gre6 VIPs for tcp, udp or all ports; this one is left alone",
    });
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
    this.#asCounts.clear();
    for (const v of vips) {
      if (v.removed || !isVipProtocol(v.protocol) || v.asCount === undefined) {
        continue;
      }
      const id = vipId({
        prefix: v.prefix,
        protocol: v.protocol,
        port: v.port,
      });
      this.#asCounts.set(id, v.asCount);
    }
    return vips;
  }

  #vipChanged(key: VipKey): void {
    this.#indexesStale = true;
    this.#routeIndexes.delete(key.prefix);
  }
}
