/**
 * Reads `show lb vips verbose` text. No API message reports a VIP's pool
 * index (the stats counters are indexed by it), its src_ip_sticky flag, its
 * real table size (lb_vip_details has only a u16) or its number of ASes, so
 * the CLI is the source until VPP grows an lb_vip_v2_dump.
 */

import { parsePrefix } from "../config/address.ts";
import { vipId } from "./validate.ts";
import type { VipProtocol } from "./types.ts";

/** One VIP as the CLI prints it. */
export interface ShowLbVip {
  /** VPP's pool index: the column of the lb stats counters. */
  readonly index: number;
  /** "ip4-gre4", "ip6-gre6", "ip4-gre6", "ip4-l3dsr", ... */
  readonly type: string;
  /** Canonical prefix as VPP stores it (host bits cleared). */
  readonly prefix: string;
  /** 255 and 0 for an all-port VIP (the CLI prints no protocol line then). */
  readonly protocol: number;
  readonly port: number;
  readonly srcIpSticky: boolean;
  /** Deleted, waiting for the garbage collector. */
  readonly removed: boolean;
  /** The real new-flows table length (`new_size:`), when printed. */
  readonly newSize?: number;
  /**
   * `#as:N`, when printed: the VIP's ASes including deleted ones VPP has
   * not garbage-collected yet (an lb_as_v2_dump of the VIP lists as many).
   */
  readonly asCount?: number;
}

const HEADER = /^\s*(ip[46]-[a-z0-9]+)\s+\[(\d+)\]\s+(\S+)\s*(.*)$/;
const PROTO = /^\s*protocol:(\d+)\s+port:(\d+)/;
const SIZE = /^\s*new_size:(\d+)/;
const AS_COUNT = /^\s*#as:(\d+)/;

/**
 * Parses the output of `show lb vips verbose`. Lines it does not know are
 * skipped; a VIP header whose prefix does not parse is skipped too.
 *
 * @example
 * ```ts
 * parseShowLbVips(" ip4-gre4 [1] 192.0.2.1/32 src_ip_sticky\n  protocol:6 port:80\n")[0].index; // 1
 * ```
 */
export function parseShowLbVips(text: string): ShowLbVip[] {
  const out: ShowLbVip[] = [];
  let cur:
    | {
      -readonly [K in keyof ShowLbVip]: ShowLbVip[K];
    }
    | undefined;
  const flush = () => {
    if (cur) out.push(cur);
    cur = undefined;
  };
  for (const line of text.split("\n")) {
    const h = HEADER.exec(line);
    if (h) {
      flush();
      let prefix: string;
      try {
        const p = parsePrefix(h[3]);
        prefix = `${p.network}/${p.prefixLength}`;
      } catch {
        continue;
      }
      const flags = h[4].split(/\s+/);
      cur = {
        index: Number(h[2]),
        type: h[1],
        prefix,
        protocol: 255,
        port: 0,
        srcIpSticky: flags.includes("src_ip_sticky"),
        removed: flags.includes("removed"),
      };
      continue;
    }
    if (!cur) continue;
    const p = PROTO.exec(line);
    if (p) {
      cur.protocol = Number(p[1]);
      cur.port = Number(p[2]);
      continue;
    }
    const s = SIZE.exec(line);
    if (s) {
      cur.newSize = Number(s[1]);
      continue;
    }
    const n = AS_COUNT.exec(line);
    if (n) cur.asCount = Number(n[1]);
  }
  flush();
  return out;
}

/**
 * VIP key id (`vipId`) → pool index, for live VIPs only: a removed VIP
 * keeps its index until garbage collection while a re-added one gets a new
 * index.
 */
export function vipIndexMap(vips: readonly ShowLbVip[]): Map<string, number> {
  const map = new Map<string, number>();
  for (const v of vips) {
    if (v.removed || ![6, 17, 255].includes(v.protocol)) continue;
    map.set(
      vipId({
        prefix: v.prefix,
        protocol: v.protocol as VipProtocol,
        port: v.port,
      }),
      v.index,
    );
  }
  return map;
}
