/**
 * The fake libvppapiclient.so (tests/vpp/fakevpp/) driven through its raw
 * C API with hand-built request bytes, checked against the replies captured
 * from a real VPP (the golden vectors of the VPP reference, embedded below):
 * vac_* semantics, every lb retval, the quirks, the crash, timeouts,
 * reconnects, faults, the stats segment and thread safety.
 */
import assert from "node:assert/strict";
import {
  buildFakeVpp,
  cstr,
  CTL_EBADCMD,
  type FakeVpp,
  FakeVppCommandError,
  fakeVppFiles,
  type FakeVppKnob,
  openFakeVpp,
  VAC_SYMBOLS,
} from "../helpers/fakevpp.ts";

// ---------------------------------------------------------------------------
// Golden vectors (copied from the VPP reference's golden/*.json)
// ---------------------------------------------------------------------------

/** Golden requests (`hex`, id and client_index zero, context 01020304). */
const REQ = {
  "control_ping": "00000000000001020304",
  "show_version": "00000000000001020304",
  "lb_conf_get": "00000000000001020304",
  "cli_inband":
    "000000000000010203040000001473686f77206c62207669707320766572626f7365",
  "lb_conf":
    "00000000000001020304c00002fe20010db80000000000000000000002540001000000" +
    "000028",
  "lb_add_del_vip_v2":
    "0000000000000102030400c00002010000000000000000000000002006005000000000" +
    "000000000000000000000004000100",
  "lb_add_del_vip_v2.del":
    "0000000000000102030400c00002010000000000000000000000002006005000000000" +
    "000000000000000000000004000101",
  "lb_add_del_vip_v2.ip6":
    "000000000000010203040120010db80000000000000000000000018011003500000001" +
    "000000000000000000000004000000",
  "lb_add_del_as_v2":
    "0000000000000102030400c00002010000000000000000000000002006005000c63364" +
    "0a000000000000000000000000640000",
  "lb_add_del_as_v2.del":
    "0000000000000102030400c00002010000000000000000000000002006005000c63364" +
    "0a000000000000000000000000000101",
  "lb_add_del_as_v2.ip6":
    "000000000000010203040120010db8000000000000000000000001801100350120010d" +
    "b8000100000000000000000010640000",
  "lb_as_set_weight":
    "0000000000000102030400c00002010000000000000000000000002006005000c63364" +
    "0a0000000000000000000000000001",
  "lb_vip_dump":
    "000000000000010203040000000000000000000000000000000000000000000000",
  "lb_as_v2_dump":
    "00000000000001020304000000000000000000000000000000000000000000",
  "ip_route_lookup":
    "00000000000001020304000000000100c000020100000000000000000000000020",
  "ip_route_lookup.ip6":
    "0000000000000102030400000000010120010db800000000000000000000000180",
} as const;

/** Golden replies captured from VPP, message id zeroed (`hex_msgid_zeroed`). */
const REPLY = {
  "control_ping_reply": "000001020304000000000000000000006aef",
  "show_version_reply":
    "0000010203040000000076706500000000000000000000000000000000000000000000" +
    "0000000000000032362e31302d7263307e3337342d6762353735656332633536640000" +
    "00000000323032362d31312d32315430333a30393a3231000000000000000000000000" +
    "0000000000000000000000000000000000000000000000000000000000000000000000" +
    "0000000000000000000000000000000000000000000000000000000000000000000000" +
    "0000000000000000000000000000000000000000000000000000000000000000000000" +
    "0000000000000000000000000000000000000000000000000000000000000000000000" +
    "0000000000000000000000000000000000000000000000000000000000000000000000" +
    "0000000000000000000000000000000000000000000000000000000000000000000000" +
    "0000000000000000000000000000000000000000000000000000000000000000000000" +
    "000000000000000000000000",
  "lb_conf_get_reply.defaults":
    "00000102030400000000ffffffffffffffffffffffffffffffffffffffff0000040000" +
    "000028",
  "lb_conf_get_reply":
    "00000102030400000000c00002fe20010db80000000000000000000002540001000000" +
    "000028",
  "lb_conf_reply": "00000102030400000000",
  "lb_add_del_vip_v2_reply": "00000102030400000000",
  "lb_add_del_as_v2_reply": "00000102030400000000",
  "lb_as_set_weight_reply": "00000102030400000000",
  "lb_vip_details":
    "00000102030400c0000201000000000000000000000000200600500000000000000000" +
    "0000000400",
  "lb_vip_details.ip6":
    "0000010203040120010db8000000000000000000000001801100350000000100000000" +
    "0000000400",
  "lb_as_v2_details":
    "00000102030400c00002010000000000000000000000002006005000c633640a000000" +
    "00000000000000000001000000006400000400",
  "lb_as_v2_details.ip6":
    "0000010203040120010db8000000000000000000000001801100350120010db8000100" +
    "00000000000000001001000000006400000400",
  "lb_as_v2_details.after_weight0":
    "00000102030400c00002010000000000000000000000002006005000c633640a000000" +
    "00000000000000000001000000000000000000",
  "ip_route_lookup_reply":
    "00000102030400000000000000000000000800c0000201000000000000000000000000" +
    "2001ffffffff0000000000000000010000000000000000000000000000000000000000" +
    "0000000000000000000000000000000000000000000000000000000000000000000000" +
    "0000000000000000000000000000000000000000000000000000000000000000000000" +
    "0000000000000000000000000000000000000000000000000000000000000000000000" +
    "0000000000000000000000000000000000000000000000000000000000",
  "ip_route_lookup_reply.ip6":
    "00000102030400000000000000000000000a0120010db8000000000000000000000001" +
    "8001ffffffff0000000000000000010000000000000000000000000100000000000000" +
    "0000000000000000000000000000000000000000000000000000000000000000000000" +
    "0000000000000000000000000000000000000000000000000000000000000000000000" +
    "0000000000000000000000000000000000000000000000000000000000000000000000" +
    "0000000000000000000000000000000000000000000000000000000000",
  "ip_route_lookup_reply.exact_miss":
    "000001020304fffffffa00000000000000000000000000000000000000000000000000" +
    "0000",
  "ip_route_lookup_reply.longest_match":
    "0000010203040000000000000000000000010000000000000000000000000000000000" +
    "0001ffffffff0000000000000000010000000002000000000000000000000000000000" +
    "0000000000000000000000000000000000000000000000000000000000000000000000" +
    "0000000000000000000000000000000000000000000000000000000000000000000000" +
    "0000000000000000000000000000000000000000000000000000000000000000000000" +
    "0000000000000000000000000000000000000000000000000000000000",
} as const;

/** golden/errors.json: request and reply hex with the ids of the capture build. */
const ERRORS: readonly {
  case: string;
  req: string;
  reply: string;
  retval: number;
}[] = [
  {
    case: "lb_add_del_as_v2 to non-existing VIP 192.0.2.99/32 tcp 80",
    req:
      "0063000000000102030400c00002630000000000000000000000002006005000c63364" +
      "0a000000000000000000000000640000",
    reply: "006401020304fffffffa",
    retval: -6,
  },
  {
    case: "lb_add_del_vip_v2 192.0.2.1/32 tcp 80 again (already exists)",
    req:
      "005f000000000102030400c00002010000000000000000000000002006005000000000" +
      "000000000000000000000004000100",
    reply: "006001020304ffffffaf",
    retval: -81,
  },
  {
    case: "lb_add_del_vip_v2 same prefix, other port/proto but different encap",
    req:
      "005f000000000102030400c00002010000000000000000000000002011005000000001" +
      "000000000000000000000004000100",
    reply: "006001020304ffffffb7",
    retval: -73,
  },
  {
    case: "lb_add_del_vip_v2 all-port VIP on a prefix that has per-port VIPs",
    req:
      "005f000000000102030400c00002010000000000000000000000002006000000000000" +
      "000000000000000000000004000100",
    reply: "006001020304ffffffaf",
    retval: -81,
  },
  {
    case: "lb_add_del_vip_v2 new_flows_table_length 1000 (not a power of 2)",
    req:
      "005f000000000102030400c00002320000000000000000000000002006005000000000" +
      "000000000000000000000003e80000",
    reply: "006001020304ffffffba",
    retval: -70,
  },
  {
    case: "lb_add_del_vip_v2 IPv4 prefix with encap nat6",
    req:
      "005f000000000102030400c00002330000000000000000000000002006005000000004" +
      "000000000000000000000004000000",
    reply: "006001020304ffffff9f",
    retval: -97,
  },
  {
    case: "lb_add_del_vip_v2 is_del for a non-existing VIP",
    req:
      "005f000000000102030400c00002340000000000000000000000002006005000000000" +
      "000000000000000000000004000001",
    reply: "006001020304fffffffa",
    retval: -6,
  },
  {
    case: "lb_add_del_as_v2 same AS twice",
    req:
      "0063000000000102030400c00002010000000000000000000000002006005000c63364" +
      "0a000000000000000000000000640000",
    reply: "006401020304ffffffaf",
    retval: -81,
  },
  {
    case: "lb_add_del_as_v2 IPv6 AS on a gre4 VIP",
    req:
      "0063000000000102030400c0000201000000000000000000000000200600500120010d" +
      "b8000100000000000000000099640000",
    reply: "006401020304ffffff9f",
    retval: -97,
  },
  {
    case: "lb_add_del_as_v2 is_del for an AS not in the VIP",
    req:
      "0063000000000102030400c00002010000000000000000000000002006005000c63364" +
      "4d000000000000000000000000000100",
    reply: "006401020304fffffffa",
    retval: -6,
  },
  {
    case: "lb_add_del_as_v2 right prefix+port, wrong protocol (udp)",
    req:
      "0063000000000102030400c00002010000000000000000000000002011005000c63364" +
      "0a000000000000000000000000640000",
    reply: "006401020304fffffffa",
    retval: -6,
  },
  {
    case: "lb_as_set_weight for an AS not in the VIP",
    req:
      "0065000000000102030400c00002010000000000000000000000002006005000c63364" +
      "4d0000000000000000000000003200",
    reply: "006601020304fffffffa",
    retval: -6,
  },
  {
    case: "lb_conf sticky_buckets_per_core 1000 (not a power of 2)",
    req:
      "00590000000001020304c00002fe20010db8000000000000000000000254000003e800" +
      "000028",
    reply: "005a01020304ffffffba",
    retval: -70,
  },
  {
    case: "lb_as_set_weight weight 101 (documented range 0-100)",
    req:
      "0065000000000102030400c00002010000000000000000000000002006005000c63364" +
      "0a0000000000000000000000006500",
    reply: "00660102030400000000",
    retval: 0,
  },
  {
    case: "lb_as_set_weight weight 255",
    req:
      "0065000000000102030400c00002010000000000000000000000002006005000c63364" +
      "0a000000000000000000000000ff00",
    reply: "00660102030400000000",
    retval: 0,
  },
  {
    case: "lb_add_del_as_v2 weight 200",
    req:
      "006300000000010203040120010db8000000000000000000000001801100350120010d" +
      "b8000100000000000000000011c80000",
    reply: "00640102030400000000",
    retval: 0,
  },
];

/** Message names by id in the capture build (golden/_msg_ids_this_build.json). */
const GOLDEN_IDS: Readonly<Record<number, string>> = {
  23: "control_ping",
  24: "control_ping_reply",
  89: "lb_conf",
  90: "lb_conf_reply",
  91: "lb_conf_get",
  92: "lb_conf_get_reply",
  95: "lb_add_del_vip_v2",
  96: "lb_add_del_vip_v2_reply",
  99: "lb_add_del_as_v2",
  100: "lb_add_del_as_v2_reply",
  101: "lb_as_set_weight",
  102: "lb_as_set_weight_reply",
  105: "lb_vip_dump",
  106: "lb_vip_details",
  109: "lb_as_v2_dump",
  110: "lb_as_v2_details",
  116: "cli_inband",
  118: "cli_inband_reply",
  399: "ip_route_lookup",
  401: "ip_route_lookup_reply",
  845: "show_version",
  846: "show_version_reply",
};

/** golden/cli_inband_reply.json reply text. */
const TEXT_CLI_INBAND_REPLY =
  " ip4-gre4 [1] 192.0.2.1/32 src_ip_sticky\n  new_size:1024\n  protocol:6 port:80\n  counters:\n    packet from existing sessions: 0\n    first session packet: 0\n    untracked packet: 0\n    no server configured: 0\n  #as:1\n    198.51.100.10 weight:100 buckets:1024 flows:0 dpo:9 used\n\n ip6-gre6 [2] 2001:db8::1/128\n  new_size:1024\n  protocol:17 port:53\n  counters:\n    packet from existing sessions: 0\n    first session packet: 0\n    untracked packet: 0\n    no server configured: 0\n  #as:1\n    2001:db8:1::10 weight:100 buckets:1024 flows:0 dpo:11 used\n\n";

/** golden/cli_inband_reply.show_lb.json reply text. */
const TEXT_CLI_INBAND_REPLY_SHOW_LB =
  "lb_main ip4-src-address: 192.0.2.254 \n ip6-src-address: 2001:db8::254 \n #vips: 3\n #ass: 2\n";

/** golden/stats_lb_counters.json: `show lb vips verbose` after the traffic. */
const TEXT_AFTER_TRAFFIC =
  " ip4-gre4 [1] 192.0.2.1/32 src_ip_sticky\n  new_size:1024\n  protocol:6 port:80\n  counters:\n    packet from existing sessions: 4\n    first session packet: 1\n    untracked packet: 0\n    no server configured: 0\n  #as:1\n    198.51.100.10 weight:100 buckets:1024 flows:1 dpo:9 used\n\n ip6-gre6 [2] 2001:db8::1/128\n  new_size:1024\n  protocol:17 port:53\n  counters:\n    packet from existing sessions: 2\n    first session packet: 1\n    untracked packet: 0\n    no server configured: 0\n  #as:1\n    2001:db8:1::10 weight:100 buckets:1024 flows:1 dpo:11 used\n\n";

/** golden/quirks.json details and filter request (ids of the capture build). */
const QUIRK = {
  details65536:
    "006a0102030400c0000202000000000000000000000000200601bb00000000000000000000000000",
  detailsAllPort:
    "006a0102030400c000020300000000000000000000000020ff000000000000000000000000000400",
  detailsDeletedAs:
    "006e0102030400c00002010000000000000000000000002006005000c633640b00000000000000000000000000000000143200000000",
  asFilterBytes12to15:
    "006d000000000102030400000000000000000000000000c000020120060050",
} as const;

/** golden/crash_new_flows_table_length_0.json request. */
const CRASH_REQ =
  "005f000000000102030400c000023c0000000000000000000000002006005000000000000000000000000000000000000000";

// ---------------------------------------------------------------------------
// Bytes
// ---------------------------------------------------------------------------

function hex(s: string): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(s.length / 2);
  for (let i = 0; i < b.length; i++) {
    b[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  }
  return b;
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** The same bytes with the message id (bytes 0..1) zeroed. */
function zeroId(b: Uint8Array): string {
  return "0000" + toHex(b.subarray(2));
}

const msgId = (b: Uint8Array) => dv(b).getUint16(0);
const replyCtx = (b: Uint8Array) => dv(b).getUint32(2);
const retval = (b: Uint8Array) => dv(b).getInt32(6);

function ip4(a: string): number[] {
  const p = a.split(".").map(Number);
  assert.equal(p.length, 4, a);
  return p;
}

function ip6(a: string): number[] {
  const [h, t] = a.split("::");
  const groups = (s: string | undefined) =>
    s ? s.split(":").map((g) => parseInt(g, 16)) : [];
  const head = groups(h);
  const tail = t === undefined ? [] : groups(t);
  const all = [
    ...head,
    ...Array(8 - head.length - tail.length).fill(0),
    ...tail,
  ];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/** A wire `address`: af byte + 16-byte union (IPv4 in bytes 0..3). */
function address(a: string): number[] {
  if (a.includes(":")) return [1, ...ip6(a)];
  return [0, ...ip4(a), ...Array(12).fill(0)];
}

/** A wire `prefix`: address + length. */
function prefix(p: string): number[] {
  const [a, l] = p.split("/");
  return [...address(a), Number(l)];
}

const u16 = (v: number) => [v >> 8, v & 0xff];
const u32 = (
  v: number,
) => [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
/** Request header with id and context placeholders (filled in by `Vac`). */
const HDR = Array(10).fill(0);

interface VipKey {
  readonly prefix: string;
  readonly protocol: number;
  readonly port: number;
}

const V4: VipKey = { prefix: "192.0.2.1/32", protocol: 6, port: 80 };
const V6: VipKey = { prefix: "2001:db8::1/128", protocol: 17, port: 53 };

function vipReq(
  v: VipKey,
  o: {
    encap?: number;
    len?: number;
    sticky?: boolean;
    del?: boolean;
    dscp?: number;
  } = {},
): Uint8Array<ArrayBuffer> {
  return Uint8Array.from([
    ...HDR,
    ...prefix(v.prefix),
    v.protocol,
    ...u16(v.port),
    ...u32(o.encap ?? 0),
    o.dscp ?? 0,
    ...u32(0),
    ...u16(0),
    ...u16(0),
    ...u32(o.len ?? 1024),
    o.sticky ? 1 : 0,
    o.del ? 1 : 0,
  ]);
}

function asReq(
  v: VipKey,
  as: string,
  o: { weight?: number; del?: boolean; flush?: boolean } = {},
): Uint8Array<ArrayBuffer> {
  return Uint8Array.from([
    ...HDR,
    ...prefix(v.prefix),
    v.protocol,
    ...u16(v.port),
    ...address(as),
    o.weight ?? 100,
    o.del ? 1 : 0,
    o.flush ? 1 : 0,
  ]);
}

function weightReq(
  v: VipKey,
  as: string,
  weight: number,
): Uint8Array<ArrayBuffer> {
  return Uint8Array.from([
    ...HDR,
    ...prefix(v.prefix),
    v.protocol,
    ...u16(v.port),
    ...address(as),
    weight,
    0,
  ]);
}

function cliReq(cmd: string): Uint8Array<ArrayBuffer> {
  const t = new TextEncoder().encode(cmd);
  return Uint8Array.from([...HDR, ...u32(t.length), ...t]);
}

function routeReq(p: string, exact: boolean): Uint8Array<ArrayBuffer> {
  return Uint8Array.from([...HDR, ...u32(0), exact ? 1 : 0, ...prefix(p)]);
}

/** An all-zero 31-byte lb_as_v2_dump (dump everything). */
const AS_DUMP_ALL = Uint8Array.from(Array(31).fill(0));
const VIP_DUMP_ALL = Uint8Array.from(Array(33).fill(0));
const EMPTY = Uint8Array.from(HDR);

interface VipDetails {
  prefix: string;
  protocol: number;
  port: number;
  encap: number;
  flowTableLength: number;
}

interface AsDetails {
  vip: string;
  address: string;
  flags: number;
  inUseSince: number;
  weight: number;
  numBuckets: number;
}

function fmtAddr(af: number, b: Uint8Array): string {
  if (af === 0) return Array.from(b.subarray(0, 4)).join(".");
  const g = Array.from({ length: 8 }, (_, i) => (b[2 * i] << 8) | b[2 * i + 1]);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j > i ? j : i + 1;
  }
  const h = g.map((x) => x.toString(16));
  if (best < 0) return h.join(":");
  return `${h.slice(0, best).join(":")}::${h.slice(best + bestLen).join(":")}`;
}

function decodeVip(m: Uint8Array): VipDetails {
  assert.equal(m.length, 40);
  return {
    prefix: `${fmtAddr(m[6], m.subarray(7, 23))}/${m[23]}`,
    protocol: m[24],
    port: dv(m).getUint16(25),
    encap: dv(m).getUint32(27),
    flowTableLength: dv(m).getUint16(38),
  };
}

function decodeAs(m: Uint8Array): AsDetails {
  assert.equal(m.length, 54);
  return {
    vip: `${fmtAddr(m[6], m.subarray(7, 23))}/${m[23]} ${m[24]} ${
      dv(m).getUint16(25)
    }`,
    address: fmtAddr(m[27], m.subarray(28, 44)),
    flags: m[44],
    inUseSince: dv(m).getUint32(45),
    weight: m[49],
    numBuckets: dv(m).getUint32(50),
  };
}

function cliText(m: Uint8Array): string {
  const n = dv(m).getUint32(10);
  assert.equal(m.length, 14 + n, "cli_inband_reply length = 14 + count");
  return new TextDecoder().decode(m.subarray(14));
}

// ---------------------------------------------------------------------------
// A raw client over the C API
// ---------------------------------------------------------------------------

const NAMES = [
  "control_ping_51077d14",
  "control_ping_reply_f6b0b8ca",
  "show_version_51077d14",
  "show_version_reply_c919bde1",
  "cli_inband_f8377302",
  "cli_inband_reply_05879051",
  "lb_conf_56cd3261",
  "lb_conf_reply_e8d4e804",
  "lb_conf_get_51077d14",
  "lb_conf_get_reply_923427ac",
  "lb_add_del_vip_v2_7c520e0f",
  "lb_add_del_vip_v2_reply_e8d4e804",
  "lb_add_del_as_v2_2f1d3b0e",
  "lb_add_del_as_v2_reply_e8d4e804",
  "lb_as_set_weight_2d89bdbd",
  "lb_as_set_weight_reply_e8d4e804",
  "lb_vip_dump_56110cb7",
  "lb_vip_details_1329ec9b",
  "lb_as_v2_dump_1063f819",
  "lb_as_v2_details_90064aae",
  "ip_route_lookup_710d6471",
  "ip_route_lookup_reply_5d8febcb",
] as const;

/** Request messages the tests send. */
type Msg =
  | "control_ping"
  | "show_version"
  | "cli_inband"
  | "lb_conf"
  | "lb_conf_get"
  | "lb_add_del_vip_v2"
  | "lb_add_del_as_v2"
  | "lb_as_set_weight"
  | "lb_vip_dump"
  | "lb_as_v2_dump"
  | "ip_route_lookup";

/** Replies of each request, by message name. */
const REPLY_OF: Readonly<Record<string, string>> = {
  control_ping: "control_ping_reply",
  show_version: "show_version_reply",
  cli_inband: "cli_inband_reply",
  lb_conf: "lb_conf_reply",
  lb_conf_get: "lb_conf_get_reply",
  lb_add_del_vip_v2: "lb_add_del_vip_v2_reply",
  lb_add_del_as_v2: "lb_add_del_as_v2_reply",
  lb_as_set_weight: "lb_as_set_weight_reply",
  lb_vip_dump: "lb_vip_details",
  lb_as_v2_dump: "lb_as_v2_details",
  ip_route_lookup: "ip_route_lookup_reply",
};

type Syms = Deno.DynamicLibrary<typeof VAC_SYMBOLS>["symbols"];

/** Result of one vac_read. */
interface ReadResult {
  readonly rv: number;
  readonly msg?: Uint8Array;
}

class Vac {
  readonly lib: Deno.DynamicLibrary<typeof VAC_SYMBOLS>;
  readonly s: Syms;
  readonly ids = new Map<string, number>();
  private ctx = 0x1000;

  constructor(path: string) {
    this.lib = Deno.dlopen(path, VAC_SYMBOLS);
    this.s = this.lib.symbols;
  }

  memInit(): void {
    this.s.vac_mem_init(0n);
  }

  /** Connects (polling mode) and resolves the message ids. */
  async connect(rxQlen = 256, name = "fakevpp-test"): Promise<number> {
    const rv = await this.s.vac_connect(cstr(name), null, null, rxQlen);
    if (rv === 0) this.resolve();
    return rv;
  }

  resolve(): void {
    for (const n of NAMES) {
      const id = this.s.vac_get_msg_index(cstr(n));
      assert.notEqual(id, -1, n);
      this.ids.set(n.replace(/_[0-9a-f]{8}$/, ""), id);
    }
  }

  id(name: string): number {
    const id = this.ids.get(name);
    assert.ok(id !== undefined, `no id for ${name}`);
    return id;
  }

  /** A copy of `req` with the id of `name` and `ctx` filled in. */
  build(name: Msg, req: Uint8Array, ctx: number): Uint8Array<ArrayBuffer> {
    const b = Uint8Array.from(req);
    dv(b).setUint16(0, this.id(name));
    dv(b).setUint32(6, ctx >>> 0);
    return b;
  }

  write(b: Uint8Array<ArrayBuffer>): number {
    return this.s.vac_write(b, b.length);
  }

  private take(
    rv: number,
    p: BigUint64Array<ArrayBuffer>,
    l: Int32Array<ArrayBuffer>,
  ): ReadResult {
    if (rv !== 0) return { rv };
    const ptr = Deno.UnsafePointer.create(p[0]);
    assert.ok(ptr, "vac_read returned 0 with a NULL buffer");
    const msg = new Uint8Array(
      Deno.UnsafePointerView.getArrayBuffer(ptr, l[0]),
    ).slice();
    this.s.vac_free(ptr);
    return { rv, msg };
  }

  async read(timeoutS = 50): Promise<ReadResult> {
    const p = new BigUint64Array(1);
    const l = new Int32Array(1);
    return this.take(await this.s.vac_read(p, l, timeoutS), p, l);
  }

  readSync(timeoutS = 50): ReadResult {
    const p = new BigUint64Array(1);
    const l = new Int32Array(1);
    return this.take(this.s.vac_read_sync(p, l, timeoutS), p, l);
  }

  /** Sends a request and returns its reply (which must come next). */
  async rpc(
    name: Msg,
    req: Uint8Array,
    ctx = ++this.ctx,
  ): Promise<Uint8Array> {
    assert.equal(this.write(this.build(name, req, ctx)), 0);
    const r = await this.read();
    assert.equal(r.rv, 0, `no reply to ${name}`);
    const m = r.msg!;
    assert.equal(msgId(m), this.id(REPLY_OF[name]), `reply id of ${name}`);
    assert.equal(replyCtx(m), ctx);
    return m;
  }

  /** retval of a request that has a plain reply. */
  async rv(name: Msg, req: Uint8Array): Promise<number> {
    return retval(await this.rpc(name, req));
  }

  /** A dump followed by a control_ping with the same context (§1.10). */
  async dump(
    name: Msg,
    req: Uint8Array,
    ctx = ++this.ctx,
  ): Promise<Uint8Array[]> {
    assert.equal(this.write(this.build(name, req, ctx)), 0);
    assert.equal(this.write(this.build("control_ping", EMPTY, ctx)), 0);
    const out: Uint8Array[] = [];
    for (;;) {
      const r = await this.read();
      assert.equal(r.rv, 0, `dump ${name} did not end`);
      const m = r.msg!;
      assert.equal(replyCtx(m), ctx);
      if (msgId(m) === this.id("control_ping_reply")) return out;
      assert.equal(msgId(m), this.id(REPLY_OF[name]));
      out.push(m);
    }
  }

  async vips(): Promise<VipDetails[]> {
    return (await this.dump("lb_vip_dump", VIP_DUMP_ALL)).map(decodeVip);
  }

  async ases(): Promise<AsDetails[]> {
    return (await this.dump("lb_as_v2_dump", AS_DUMP_ALL)).map(decodeAs);
  }

  async cli(cmd: string): Promise<string> {
    const r = await this.cliReply(cmd);
    assert.equal(r.retval, 0, `${cmd}: ${r.text}`);
    return r.text;
  }

  /** A CLI command's retval and text, whatever the retval. */
  async cliReply(cmd: string): Promise<{ retval: number; text: string }> {
    const m = await this.rpc("cli_inband", cliReq(cmd));
    return { retval: retval(m), text: cliText(m) };
  }

  close(): void {
    this.lib.close();
  }
}

/** One fake VPP, a raw client on it, and cleanup. */
interface Env extends AsyncDisposable {
  readonly fv: FakeVpp;
  readonly vac: Vac;
}

async function setup(
  opts: {
    connect?: boolean;
    memInit?: boolean;
    knobs?: Partial<Record<FakeVppKnob, number>>;
    rxQlen?: number;
  } = {},
): Promise<Env> {
  const fv = await openFakeVpp({
    knobs: { timeout_scale_ms: 20, quiet: 1, ...opts.knobs },
  });
  const vac = new Vac(fv.path);
  if (opts.memInit ?? true) vac.memInit();
  if (opts.connect ?? true) assert.equal(await vac.connect(opts.rxQlen), 0);
  return {
    fv,
    vac,
    async [Symbol.asyncDispose]() {
      vac.s.vac_disconnect_sync();
      vac.close();
      await fv.close();
    },
  };
}

/** The golden session: both VIPs, one AS each, lb_conf (§4.1). */
async function goldenSession(vac: Vac): Promise<void> {
  assert.equal(await vac.rv("lb_conf", hex(REQ.lb_conf)), 0);
  assert.equal(
    await vac.rv("lb_add_del_vip_v2", hex(REQ.lb_add_del_vip_v2)),
    0,
  );
  assert.equal(
    await vac.rv("lb_add_del_vip_v2", hex(REQ["lb_add_del_vip_v2.ip6"])),
    0,
  );
  assert.equal(await vac.rv("lb_add_del_as_v2", hex(REQ.lb_add_del_as_v2)), 0);
  assert.equal(
    await vac.rv("lb_add_del_as_v2", hex(REQ["lb_add_del_as_v2.ip6"])),
    0,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// Stats decoding (§6.1)
// ---------------------------------------------------------------------------

interface StatEntry {
  name: string;
  type: number;
  viaSymlink: boolean;
  scalar?: number;
  simple?: number[][];
  combined?: { packets: number; bytes: number }[][];
}

class Stats {
  constructor(private readonly s: Syms) {}

  private len(p: Deno.PointerValue): number {
    return this.s.stat_segment_vec_len(p);
  }

  patterns(list: readonly string[]): Deno.PointerValue {
    let pv: Deno.PointerValue = null;
    for (const p of list) pv = this.s.stat_segment_string_vector(pv, cstr(p));
    return pv;
  }

  freePatterns(pv: Deno.PointerValue): void {
    if (!pv) return;
    const v = new Deno.UnsafePointerView(pv);
    for (let k = 0; k < this.len(pv); k++) {
      this.s.stat_segment_vec_free(v.getPointer(k * 8));
    }
    this.s.stat_segment_vec_free(pv);
  }

  /** ls with the patterns (null = all); the directory index vector. */
  ls(list: readonly string[] | null): Deno.PointerValue {
    const pv = list ? this.patterns(list) : null;
    const dir = this.s.stat_segment_ls(pv);
    this.freePatterns(pv);
    return dir;
  }

  indices(dir: Deno.PointerValue): number[] {
    if (!dir) return [];
    const v = new Deno.UnsafePointerView(dir);
    return Array.from({ length: this.len(dir) }, (_, i) => v.getUint32(i * 4));
  }

  decode(res: Deno.PointerValue): StatEntry[] {
    if (!res) return [];
    const v = new Deno.UnsafePointerView(res);
    const out: StatEntry[] = [];
    for (let i = 0; i < this.len(res); i++) {
      const o = i * 24;
      const e: StatEntry = {
        name: Deno.UnsafePointerView.getCString(v.getPointer(o)!),
        type: v.getInt32(o + 8),
        viaSymlink: v.getUint8(o + 12) !== 0,
      };
      if (e.type === 1 || e.type === 9) e.scalar = v.getFloat64(o + 16);
      if (e.type === 2 || e.type === 3) {
        const outer = v.getPointer(o + 16);
        const ov = new Deno.UnsafePointerView(outer!);
        const threads = Array.from({ length: this.len(outer) }, (_, t) => {
          const inner = ov.getPointer(t * 8);
          return { inner, n: this.len(inner) };
        });
        if (e.type === 2) {
          e.simple = threads.map(({ inner, n }) => {
            const iv = new Deno.UnsafePointerView(inner!);
            return Array.from(
              { length: n },
              (_, j) => Number(iv.getBigUint64(j * 8)),
            );
          });
        } else {
          e.combined = threads.map(({ inner, n }) => {
            const iv = new Deno.UnsafePointerView(inner!);
            return Array.from({ length: n }, (_, j) => ({
              packets: Number(iv.getBigUint64(j * 16)),
              bytes: Number(iv.getBigUint64(j * 16 + 8)),
            }));
          });
        }
      }
      out.push(e);
    }
    return out;
  }

  /** ls + dump + decode + free. undefined when dump returned NULL. */
  read(list: readonly string[] | null): StatEntry[] | undefined {
    const dir = this.ls(list);
    try {
      if (!dir) return [];
      const res = this.s.stat_segment_dump(dir);
      if (!res) return undefined;
      const out = this.decode(res);
      this.s.stat_segment_data_free(res);
      return out;
    } finally {
      this.s.stat_segment_vec_free(dir);
    }
  }

  names(list: readonly string[] | null): string[] {
    return (this.read(list) ?? []).map((e) => e.name).sort();
  }
}

const LB_PATTERNS = [
  "^packet from existing sessions$",
  "^first session packet$",
  "^untracked packet$",
  "^no server configured$",
  "^/net/route/to$",
] as const;

function byName(es: readonly StatEntry[]): Map<string, StatEntry> {
  return new Map(es.map((e) => [e.name, e]));
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

Deno.test("fakevpp: exports every vac_* and stat_segment_* function of the real library", async () => {
  await using e = await setup({ connect: false });
  // dlopen with VAC_SYMBOLS already failed if one were missing
  assert.equal(e.vac.s.stat_segment_version(), 2n);
  assert.equal(e.vac.s.vac_msg_table_size(), 0, "no table before connect");
});

Deno.test("fakevpp: vac_mem_init must come first (reported as misuse; the real library aborts)", async () => {
  await using e = await setup({ connect: false, memInit: false });
  assert.equal(await e.vac.connect(), -1);
  const st = e.fv.ctl.state();
  assert.equal(st.client.connected, false);
  assert.equal(st.misuse_count, 1);
  assert.match(st.misuse[0], /vac_connect before vac_mem_init/);
  e.vac.memInit();
  e.vac.memInit(); // later calls have no effect
  assert.equal(await e.vac.connect(), 0);
  assert.equal(e.fv.ctl.get("misuse"), 1);
});

Deno.test("fakevpp: message ids are resolved by name_crc; wrong CRC, no CRC, 0x, unknown → -1", async () => {
  await using e = await setup({ connect: false });
  const s = e.vac.s;
  const idx = (k: string) => s.vac_get_msg_index(cstr(k));
  assert.equal(idx("control_ping_51077d14"), -1, "-1 before connect");
  assert.equal(await e.vac.connect(), 0);
  assert.equal(idx("control_ping_51077d14"), 200);
  assert.equal(idx("control_ping_reply_f6b0b8ca"), 201);
  assert.equal(idx("lb_add_del_vip_v2_7c520e0f"), 210);
  for (const n of NAMES) assert.ok(idx(n) >= 200, n);
  for (
    const bad of [
      "lb_add_del_vip_v2_deadbeef",
      "lb_add_del_vip_v2",
      "control_ping_0x51077d14",
      "lb_conf_deadbeef",
      "no_such_message_12345678",
      "control_ping_51077D14",
    ]
  ) {
    assert.equal(idx(bad), -1, bad);
  }
  // the v1 messages of §3 and their generic replies exist too
  assert.ok(idx("lb_add_del_as_35d72500") > 0);
  assert.ok(idx("lb_add_del_vip_reply_e8d4e804") > 0);
  assert.equal(s.vac_msg_table_size(), 30);
  assert.equal(s.vac_msg_table_max_index(), 229);
  assert.equal(await s.vac_disconnect(), 0);
  assert.equal(idx("control_ping_51077d14"), -1, "-1 after disconnect");
  assert.equal(await s.vac_disconnect(), 0, "second disconnect is a no-op");
  // ids are dynamic: another base after a VPP restart
  e.fv.ctl.set("msg_id_base", 500);
  e.fv.ctl.restart();
  assert.equal(await e.vac.connect(), 0);
  assert.equal(idx("control_ping_51077d14"), 500);
  assert.equal((await e.vac.rpc("control_ping", EMPTY)).length, 18);
});

Deno.test("fakevpp: control_ping echoes the context bytes verbatim and the stamped client_index", async () => {
  await using e = await setup({ knobs: { client_index: 256 } });
  const req = e.vac.build("control_ping", hex(REQ.control_ping), 0x01020304);
  dv(req).setUint32(2, 0xdeadbeef); // vac_write overwrites it
  const before = toHex(req);
  assert.equal(e.vac.write(req), 0);
  assert.equal(toHex(req), before, "the caller's buffer is not modified");
  const r = await e.vac.read();
  assert.equal(r.rv, 0);
  const m = r.msg!;
  assert.equal(m.length, 18);
  assert.equal(msgId(m), e.vac.id("control_ping_reply"));
  assert.equal(toHex(m.subarray(2, 6)), "01020304");
  assert.equal(retval(m), 0);
  assert.equal(toHex(m.subarray(10, 14)), "00010000", "256, host order");
  assert.equal(dv(m).getUint32(14), e.fv.ctl.state().vpp.pid);
});

Deno.test("fakevpp: control_ping_reply and show_version_reply are byte-identical to the golden ones", async () => {
  await using e = await setup();
  const ping = await e.vac.rpc(
    "control_ping",
    hex(REQ.control_ping),
    0x01020304,
  );
  assert.equal(zeroId(ping), REPLY.control_ping_reply);
  const ctxs = [7, 0xffffffff, 0, 12345, 0x01020304];
  const kinds: Msg[] = [
    "show_version",
    "control_ping",
    "show_version",
    "control_ping",
    "show_version",
  ];
  kinds.forEach((k, i) => e.vac.write(e.vac.build(k, EMPTY, ctxs[i])));
  for (let i = 0; i < ctxs.length; i++) {
    const m = (await e.vac.read()).msg!;
    assert.equal(msgId(m), e.vac.id(REPLY_OF[kinds[i]]), "request order");
    assert.equal(replyCtx(m), ctxs[i]);
    if (i === 4) assert.equal(zeroId(m), REPLY.show_version_reply);
  }
});

Deno.test("fakevpp: lb_conf / lb_conf_get match the golden replies; sticky buckets must be a power of two", async () => {
  await using e = await setup();
  const get = () => e.vac.rpc("lb_conf_get", EMPTY, 0x01020304);
  assert.equal(zeroId(await get()), REPLY["lb_conf_get_reply.defaults"]);
  const conf = await e.vac.rpc("lb_conf", hex(REQ.lb_conf), 0x01020304);
  assert.equal(zeroId(conf), REPLY.lb_conf_reply);
  assert.equal(zeroId(await get()), REPLY.lb_conf_get_reply);
  // 0xffffffff keeps the current value (§2.1)
  const keep = hex(REQ.lb_conf);
  dv(keep).setUint32(30, 0xffffffff);
  dv(keep).setUint32(34, 0xffffffff);
  assert.equal(await e.vac.rv("lb_conf", keep), 0);
  assert.equal(zeroId(await get()), REPLY.lb_conf_get_reply);
  const bad = hex(REQ.lb_conf);
  dv(bad).setUint32(30, 1000);
  assert.equal(await e.vac.rv("lb_conf", bad), -70);
  assert.deepEqual(e.fv.ctl.state().conf, {
    ip4_src_address: "192.0.2.254",
    ip6_src_address: "2001:db8::254",
    sticky_buckets_per_core: 65536,
    flow_timeout: 40,
  });
});

Deno.test("fakevpp: the golden session: details, route lookups and CLI text are byte-identical", async () => {
  await using e = await setup();
  const { vac } = e;
  const one = async (name: Msg, key: keyof typeof REQ) =>
    zeroId(await vac.rpc(name, hex(REQ[key]), 0x01020304));
  assert.equal(await one("lb_conf", "lb_conf"), REPLY.lb_conf_reply);
  assert.equal(
    await one("lb_add_del_vip_v2", "lb_add_del_vip_v2"),
    REPLY.lb_add_del_vip_v2_reply,
  );
  assert.equal(
    await one("lb_add_del_vip_v2", "lb_add_del_vip_v2.ip6"),
    REPLY.lb_add_del_vip_v2_reply,
  );
  assert.equal(
    await one("lb_add_del_as_v2", "lb_add_del_as_v2"),
    REPLY.lb_add_del_as_v2_reply,
  );
  assert.equal(
    await one("lb_add_del_as_v2", "lb_add_del_as_v2.ip6"),
    REPLY.lb_add_del_as_v2_reply,
  );

  // dumps, with the golden context so that the bytes compare
  const dumpAt = async (name: Msg, key: keyof typeof REQ) => {
    vac.write(vac.build(name, hex(REQ[key]), 0x01020304));
    vac.write(vac.build("control_ping", EMPTY, 0x01020304));
    const out: string[] = [];
    for (;;) {
      const m = (await vac.read()).msg!;
      if (msgId(m) === vac.id("control_ping_reply")) {
        assert.equal(zeroId(m), REPLY.control_ping_reply, "end of dump");
        return out;
      }
      out.push(zeroId(m));
    }
  };
  assert.deepEqual(await dumpAt("lb_vip_dump", "lb_vip_dump"), [
    REPLY.lb_vip_details,
    REPLY["lb_vip_details.ip6"],
  ]);
  assert.deepEqual(await dumpAt("lb_as_v2_dump", "lb_as_v2_dump"), [
    REPLY.lb_as_v2_details,
    REPLY["lb_as_v2_details.ip6"],
  ]);

  assert.equal(
    await one("ip_route_lookup", "ip_route_lookup"),
    REPLY.ip_route_lookup_reply,
  );
  assert.equal(
    await one("ip_route_lookup", "ip_route_lookup.ip6"),
    REPLY["ip_route_lookup_reply.ip6"],
  );
  const look = async (p: string, exact: boolean) =>
    zeroId(
      await vac.rpc("ip_route_lookup", routeReq(p, exact), 0x01020304),
    );
  assert.equal(
    await look("203.0.113.7/32", true),
    REPLY["ip_route_lookup_reply.exact_miss"],
  );
  assert.equal(
    await look("203.0.113.7/32", false),
    REPLY["ip_route_lookup_reply.longest_match"],
  );

  // the CLI text a client scrapes for src_ip_sticky and the [vip index]
  const cli = await vac.rpc("cli_inband", hex(REQ.cli_inband), 0x01020304);
  assert.equal(cli.length, 560);
  assert.equal(cliText(cli), TEXT_CLI_INBAND_REPLY);
  assert.equal(await vac.cli("show lb"), TEXT_CLI_INBAND_REPLY_SHOW_LB);
  assert.deepEqual(await vac.cliReply("show nothing"), {
    retval: -1,
    text: "show: unknown input `nothing'\n",
  });

  // weight 0 with flush: 0 buckets, still in use (after_weight0 golden)
  assert.equal(
    await one("lb_as_set_weight", "lb_as_set_weight"),
    REPLY.lb_as_set_weight_reply,
  );
  assert.deepEqual(await dumpAt("lb_as_v2_dump", "lb_as_v2_dump"), [
    REPLY["lb_as_v2_details.after_weight0"],
    REPLY["lb_as_v2_details.ip6"],
  ]);

  const st = e.fv.ctl.state();
  assert.deepEqual(
    st.vips.map((
      v,
    ) => [v.index, v.prefix, v.src_ip_sticky, v.route_stats_index]),
    [[1, "192.0.2.1/32", true, 8], [2, "2001:db8::1/128", false, 10]],
  );
  assert.deepEqual(st.vips[0].ases[0], {
    address: "198.51.100.10",
    weight: 0,
    flags: 1,
    used: true,
    in_use_since: 0,
    num_buckets: 0,
    flows: 0,
  });
  assert.equal(st.calls.by_message.lb_add_del_vip_v2, 2);

  // delete AS then VIP (golden .del requests)
  assert.equal(
    await one("lb_add_del_as_v2", "lb_add_del_as_v2.del"),
    REPLY.lb_add_del_as_v2_reply,
  );
  assert.equal(
    await one("lb_add_del_vip_v2", "lb_add_del_vip_v2.del"),
    REPLY.lb_add_del_vip_v2_reply,
  );
  assert.deepEqual((await vac.vips()).map((v) => v.prefix), [
    "2001:db8::1/128",
  ]);
});

Deno.test("fakevpp: every retval case of the errors table (golden/errors.json) replays identically", async () => {
  await using e = await setup();
  await goldenSession(e.vac);
  for (const c of ERRORS) {
    const req = hex(c.req);
    const name = GOLDEN_IDS[dv(req).getUint16(0)] as Msg;
    assert.ok(name, c.case);
    dv(req).setUint16(0, e.vac.id(name));
    assert.equal(e.vac.write(req), 0);
    const r = await e.vac.read();
    assert.equal(r.rv, 0, c.case);
    assert.equal(zeroId(r.msg!), zeroId(hex(c.reply)), c.case);
    assert.equal(retval(r.msg!), c.retval, c.case);
  }
  // what the accepted out-of-range weights left behind
  const ases = await e.vac.ases();
  assert.deepEqual(
    ases.map((a) => [a.address, a.weight, a.numBuckets, a.flags]),
    [
      ["198.51.100.10", 255, 1024, 1],
      ["2001:db8:1::10", 100, 341, 1],
      ["2001:db8:1::11", 200, 683, 1],
    ],
  );
  // the VIP refused with VALUE_EXIST is unchanged
  assert.equal((await e.vac.vips()).length, 2);
});

Deno.test("fakevpp: weights are not range-checked (101, 255 and 200 are stored)", async () => {
  await using e = await setup();
  await goldenSession(e.vac);
  assert.equal(
    await e.vac.rv("lb_as_set_weight", weightReq(V4, "198.51.100.10", 101)),
    0,
  );
  assert.equal((await e.vac.ases())[0].weight, 101);
  assert.equal(
    await e.vac.rv(
      "lb_add_del_as_v2",
      asReq(V4, "198.51.100.12", { weight: 200 }),
    ),
    0,
  );
  const a = await e.vac.ases();
  assert.deepEqual(a.map((x) => x.weight), [101, 200, 100]);
});

Deno.test("fakevpp: quirks of §4.3 (all-port VIP, prefix normalisation, u16 flow table length, dump filters)", async () => {
  await using e = await setup();
  const { vac } = e;
  await goldenSession(vac);
  const quirkDetails = async () => {
    const ctx = 0x01020304;
    vac.write(vac.build("lb_vip_dump", VIP_DUMP_ALL, ctx));
    vac.write(vac.build("control_ping", EMPTY, ctx));
    const out: string[] = [];
    for (;;) {
      const m = (await vac.read()).msg!;
      if (msgId(m) === vac.id("control_ping_reply")) return out;
      out.push(zeroId(m));
    }
  };
  // 65536 buckets: accepted, reported modulo 65536
  const v443 = { prefix: "192.0.2.2/32", protocol: 6, port: 443 };
  assert.equal(
    await vac.rv("lb_add_del_vip_v2", vipReq(v443, { len: 65536 })),
    0,
  );
  // all-port VIP: port 0 forces protocol 255
  const v0 = { prefix: "192.0.2.3/32", protocol: 6, port: 0 };
  assert.equal(await vac.rv("lb_add_del_vip_v2", vipReq(v0)), 0);
  const d = await quirkDetails();
  assert.equal(d[2], zeroId(hex(QUIRK.details65536)));
  assert.equal(d[3], zeroId(hex(QUIRK.detailsAllPort)));
  // lb_vip_dump ignores its filter
  const filtered = Uint8Array.from([
    ...HDR,
    ...prefix(V6.prefix),
    0,
    0,
    17,
    0,
    53,
  ]);
  assert.equal((await vac.dump("lb_vip_dump", filtered)).length, 4);
  // AS operations on an all-port VIP work with any protocol
  assert.equal(
    await vac.rv(
      "lb_add_del_as_v2",
      asReq({ ...v0, protocol: 17 }, "198.51.100.30"),
    ),
    0,
  );
  assert.equal(await vac.rv("lb_add_del_vip_v2", vipReq(v0, { del: true })), 0);
  // host bits cleared on add and on lookup
  const v24 = { prefix: "198.18.0.5/24", protocol: 6, port: 8080 };
  assert.equal(await vac.rv("lb_add_del_vip_v2", vipReq(v24)), 0);
  assert.ok((await vac.vips()).some((v) => v.prefix === "198.18.0.0/24"));
  assert.equal(
    await vac.rv(
      "lb_add_del_vip_v2",
      vipReq({ ...v24, prefix: "198.18.0.77/24" }, { del: true }),
    ),
    0,
  );
  // lb_as_v2_dump filter: IPv4 only matches in union bytes 12..15
  const normal = Uint8Array.from([...HDR, ...prefix(V4.prefix), 6, 0, 80]);
  assert.equal((await vac.dump("lb_as_v2_dump", normal)).length, 0);
  const q = hex(QUIRK.asFilterBytes12to15);
  assert.equal((await vac.dump("lb_as_v2_dump", q)).length, 1);
  const v6f = Uint8Array.from([...HDR, ...prefix(V6.prefix), 17, 0, 53]);
  assert.equal((await vac.dump("lb_as_v2_dump", v6f)).length, 1);
  // a cli_inband whose length field claims more than was sent: -1, ""
  const lie = cliReq("show lb");
  dv(lie).setUint32(10, 100);
  const r = await vac.rpc("cli_inband", lie);
  assert.equal(zeroId(r).slice(12), "ffffffff00000000");
});

Deno.test("fakevpp: deleted ASes stay with flags 0 until gc; removed VIPs keep their index until gc", async () => {
  await using e = await setup();
  const { vac } = e;
  await goldenSession(vac);
  assert.equal(
    await vac.rv(
      "lb_add_del_as_v2",
      asReq(V4, "198.51.100.11", { weight: 50 }),
    ),
    0,
  );
  assert.equal(
    await vac.rv("lb_add_del_as_v2", asReq(V4, "198.51.100.11", { del: true })),
    0,
  );
  const raw = (await vac.dump("lb_as_v2_dump", AS_DUMP_ALL, 0x01020304))[1];
  const golden = hex(QUIRK.detailsDeletedAs);
  // identical except in_use_since (VPP uptime at deletion: 20 s there)
  assert.equal(toHex(raw.subarray(2, 45)), toHex(golden.subarray(2, 45)));
  assert.equal(toHex(raw.subarray(49)), toHex(golden.subarray(49)));
  assert.match(
    await vac.cli("show lb vips verbose"),
    /198\.51\.100\.11 weight:50 buckets:0 flows:0 dpo:\d+ {2}removed\n/,
  );
  // As on a real VPP (docs/vpp.md, "Measured on a real VPP"): deleting it
  // again succeeds, setting its weight does not.
  assert.equal(
    await vac.rv("lb_add_del_as_v2", asReq(V4, "198.51.100.11", { del: true })),
    0,
  );
  assert.equal(
    await vac.rv("lb_as_set_weight", weightReq(V4, "198.51.100.11", 5)),
    -6,
  );
  // a VIP delete takes its ASes down; the VIP shows as removed until gc
  assert.equal(await vac.rv("lb_add_del_vip_v2", vipReq(V4, { del: true })), 0);
  // Its ASes are still dumped (flags 0), by the all-AS dump and by a filter
  // for its address, as VPP walks its whole VIP pool.
  const removedVipAses = [
    "192.0.2.1/32 6 80 198.51.100.10 0",
    "192.0.2.1/32 6 80 198.51.100.11 0",
  ];
  assert.deepEqual(
    (await vac.ases()).filter((a) => a.vip.startsWith("192.0.2.1/")).map((a) =>
      `${a.vip} ${a.address} ${a.flags}`
    ),
    removedVipAses,
  );
  assert.deepEqual(
    (await vac.dump("lb_as_v2_dump", hex(QUIRK.asFilterBytes12to15))).map(
      decodeAs,
    ).map((a) => `${a.vip} ${a.address} ${a.flags}`),
    removedVipAses,
  );
  assert.match(
    await vac.cli("show lb vips verbose"),
    /ip4-gre4 \[1\] 192\.0\.2\.1\/32 src_ip_sticky removed/,
  );
  assert.match(await vac.cli("show lb"), /#vips: 3\n #ass: 3\n/);
  const v9 = { prefix: "192.0.2.9/32", protocol: 6, port: 80 };
  assert.equal(await vac.rv("lb_add_del_vip_v2", vipReq(v9)), 0);
  assert.match(
    await vac.cli("show lb vips verbose"),
    / ip4-gre4 \[3\] 192\.0\.2\.9\/32\n/,
  );
  e.fv.ctl.gc();
  assert.equal((await vac.ases()).length, 1, "only the IPv6 AS is left");
  assert.match(await vac.cli("show lb"), /#vips: 3\n #ass: 1\n/);
  // the freed index 1 is reused
  assert.equal(await vac.rv("lb_add_del_vip_v2", vipReq(V4)), 0);
  assert.match(
    await vac.cli("show lb vips verbose"),
    / ip4-gre4 \[1\] 192\.0\.2\.1\/32\n/,
  );
  // an AS re-added before gc comes back in use
  assert.equal(await vac.rv("lb_add_del_as_v2", asReq(V4, "198.51.100.10")), 0);
  assert.equal(
    await vac.rv("lb_add_del_as_v2", asReq(V4, "198.51.100.10", { del: true })),
    0,
  );
  assert.equal(
    await vac.rv("lb_add_del_as_v2", asReq(V4, "198.51.100.10", { weight: 7 })),
    0,
  );
  const a = (await vac.ases()).filter((x) => x.address === "198.51.100.10");
  assert.deepEqual(a.map((x) => [x.flags, x.weight, x.numBuckets]), [[
    1,
    7,
    1024,
  ]]);
});

Deno.test("fakevpp: as measured on a real VPP (docs/vpp.md): AS re-add, protocol 0, the AS filter, Maglev ties, encap mapping", async () => {
  await using e = await setup();
  const { vac } = e;
  const state = () => e.fv.ctl.state();
  const asDump = async (filter: number[], protocol: number, port: number) =>
    (await vac.dump(
      "lb_as_v2_dump",
      Uint8Array.from([...HDR, ...filter, protocol, ...u16(port)]),
    )).map(decodeAs).map((a) => `${a.vip} ${a.address} ${a.flags}`);

  // (a) Re-adding a deleted AS before gc: accepted, the add's weight wins,
  // in_use_since keeps the deletion time.
  assert.equal(await vac.rv("lb_add_del_vip_v2", vipReq(V4)), 0);
  assert.equal(
    await vac.rv(
      "lb_add_del_as_v2",
      asReq(V4, "198.51.100.10", { weight: 30 }),
    ),
    0,
  );
  assert.equal(
    await vac.rv("lb_add_del_as_v2", asReq(V4, "198.51.100.10", { del: true })),
    0,
  );
  const deletedAt = state().vips[0].ases[0].in_use_since;
  assert.equal(
    await vac.rv(
      "lb_add_del_as_v2",
      asReq(V4, "198.51.100.10", { weight: 77 }),
    ),
    0,
  );
  assert.deepEqual(
    (({ weight, flags, in_use_since }) => ({ weight, flags, in_use_since }))(
      state().vips[0].ases[0],
    ),
    { weight: 77, flags: 1, in_use_since: deletedAt },
  );

  // (b) Protocol 0 with a port: accepted and stored as protocol 0; ASes too.
  const p0 = { prefix: "192.0.2.9/32", protocol: 0, port: 8080 };
  assert.equal(await vac.rv("lb_add_del_vip_v2", vipReq(p0)), 0);
  assert.equal(await vac.rv("lb_add_del_as_v2", asReq(p0, "198.51.100.9")), 0);
  const v9 = (await vac.vips()).find((v) => v.prefix === "192.0.2.9/32");
  assert.deepEqual([v9?.protocol, v9?.port], [0, 8080]);
  assert.match(
    await vac.cli("show lb vips verbose"),
    / {2}protocol:0 port:8080\n {2}counters:/,
  );

  // The AS filter compares the union bytes raw with the internal form;
  // family byte and length are ignored, so /24 and /25 on one address
  // both match, and ::192.0.2.1/128 (af 1) matches 192.0.2.1/32.
  const ip46v4 = (a: string) => [...Array(12).fill(0), ...ip4(a)];
  assert.deepEqual(await asDump([1, ...ip46v4("192.0.2.1"), 128], 6, 80), [
    "192.0.2.1/32 6 80 198.51.100.10 1",
  ]);
  assert.deepEqual(await asDump([0, ...ip46v4("192.0.2.1"), 0], 6, 80), [
    "192.0.2.1/32 6 80 198.51.100.10 1",
  ]);
  assert.deepEqual(await asDump([...prefix("192.0.2.1/32")], 6, 80), []);
  assert.deepEqual(await asDump([1, ...ip46v4("192.0.2.1"), 128], 17, 80), []);
  const n24 = { prefix: "198.18.0.0/24", protocol: 6, port: 80 };
  const n25 = { prefix: "198.18.0.0/25", protocol: 6, port: 80 };
  for (const [v, a] of [[n24, "10.0.0.24"], [n25, "10.0.0.25"]] as const) {
    assert.equal(await vac.rv("lb_add_del_vip_v2", vipReq(v)), 0);
    assert.equal(await vac.rv("lb_add_del_as_v2", asReq(v, a)), 0);
  }
  assert.deepEqual(await asDump([1, ...ip46v4("198.18.0.0"), 120], 6, 80), [
    "198.18.0.0/24 6 80 10.0.0.24 1",
    "198.18.0.0/25 6 80 10.0.0.25 1",
  ]);

  // Maglev ties go by address, not by insertion order.
  const ta = { prefix: "203.0.113.1/32", protocol: 6, port: 80 };
  const tb = { prefix: "203.0.113.2/32", protocol: 6, port: 80 };
  for (const [v, order] of [[ta, [1, 2, 3]], [tb, [3, 2, 1]]] as const) {
    assert.equal(await vac.rv("lb_add_del_vip_v2", vipReq(v)), 0);
    for (const i of order) {
      assert.equal(
        await vac.rv("lb_add_del_as_v2", asReq(v, `10.0.0.${i}`)),
        0,
      );
    }
  }
  const buckets = (prefix: string) =>
    Object.fromEntries(
      state().vips.find((v) => v.prefix === prefix)!.ases.map((
        a,
      ) => [a.address, a.num_buckets]),
    );
  const tie = { "10.0.0.1": 342, "10.0.0.2": 341, "10.0.0.3": 341 };
  assert.deepEqual(buckets("203.0.113.1/32"), tie);
  assert.deepEqual(buckets("203.0.113.2/32"), tie);

  // Encap → VIP type as the API handler maps it: IPv6 with l3dsr, nat4 or
  // an unknown encap becomes gre6, IPv4 with an unknown encap is -97; the
  // l3dsr dscp is masked to 6 bits.
  const e6 = (port: number) => ({
    prefix: "2001:db8::7/128",
    protocol: 6,
    port,
  });
  assert.equal(
    await vac.rv("lb_add_del_vip_v2", vipReq(e6(1), { encap: 2 })),
    0,
  );
  assert.equal(
    await vac.rv("lb_add_del_vip_v2", vipReq(e6(2), { encap: 3 })),
    0,
  );
  assert.equal(
    await vac.rv("lb_add_del_vip_v2", vipReq(e6(3), { encap: 7 })),
    0,
  );
  assert.equal(
    await vac.rv(
      "lb_add_del_vip_v2",
      vipReq({ ...V4, prefix: "192.0.2.5/32" }, { encap: 5 }),
    ),
    -97,
  );
  const dsr = { prefix: "192.0.2.6/32", protocol: 6, port: 80 };
  assert.equal(
    await vac.rv("lb_add_del_vip_v2", vipReq(dsr, { encap: 2, dscp: 65 })),
    0,
  );
  const byPrefix = (p: string) => state().vips.filter((v) => v.prefix === p);
  assert.deepEqual(byPrefix("2001:db8::7/128").map((v) => v.encap), [
    "gre6",
    "gre6",
    "gre6",
  ]);
  assert.deepEqual(
    byPrefix("192.0.2.6/32").map((v) => [v.encap, v.dscp]),
    [["l3dsr", 1]],
  );
});

Deno.test('fakevpp: the CLI as on a real VPP: short show lb vips, exact "verbose", unknown input is -1', async () => {
  await using e = await setup();
  const { vac } = e;
  await goldenSession(vac);
  const v0 = { prefix: "192.0.2.3/32", protocol: 255, port: 0 };
  assert.equal(
    await vac.rv("lb_add_del_vip_v2", vipReq(v0, { len: 2048 })),
    0,
  );
  assert.equal(await vac.rv("lb_add_del_vip_v2", vipReq(v0, { del: true })), 0);
  // Captured from VPP 26.10 with the same VIPs (no index, no sticky flag).
  const short =
    "ip4-gre4 192.0.2.1/32 new_size:1024 #as:1  protocol:6 port:80 \n" +
    "ip6-gre6 2001:db8::1/128 new_size:1024 #as:1  protocol:17 port:53 \n" +
    "ip4-gre4 192.0.2.3/32 new_size:2048 #as:0 removed\n";
  assert.equal(await vac.cli("show lb vips"), short);
  assert.equal(await vac.cli("sh lb vi"), short);
  assert.equal(await vac.cli("show lb vips ve"), short, "verbose is exact");
  assert.equal(await vac.cli("show lb vips bogus"), short);
  assert.match(
    await vac.cli("show lb vips verbose extra"),
    /^ ip4-gre4 \[1\] 192\.0\.2\.1\/32 src_ip_sticky\n/,
  );
  const lbText = await vac.cli("show lb");
  assert.deepEqual(await vac.cliReply("show lb bogus"), {
    retval: -1,
    text: `${lbText}unknown input \`bogus'\n`,
  });
  assert.deepEqual(await vac.cliReply("show"), {
    retval: -1,
    text: "show: unknown input `'\n",
  });
  assert.deepEqual(await vac.cliReply("foo bar"), {
    retval: -1,
    text: "unknown input `foo bar'\n",
  });
  assert.deepEqual(await vac.cliReply(""), {
    retval: -1,
    text: "unknown input `'\n",
  });
  // The control command's conf takes key=value only.
  assert.throws(
    () => e.fv.ctl.must("conf 192.0.2.254 2001:db8::254 65536 40"),
    /conf: unexpected "192\.0\.2\.254"/,
  );
});

Deno.test("fakevpp: num_buckets split the table by weight and always sum to its length", async () => {
  await using e = await setup();
  const { vac } = e;
  const v = { prefix: "192.0.2.40/32", protocol: 6, port: 80 };
  assert.equal(await vac.rv("lb_add_del_vip_v2", vipReq(v, { len: 16 })), 0);
  for (const a of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) {
    assert.equal(
      await vac.rv("lb_add_del_as_v2", asReq(v, a, { weight: 1 })),
      0,
    );
  }
  const buckets = async () => (await vac.ases()).map((a) => a.numBuckets);
  assert.deepEqual(await buckets(), [6, 5, 5]);
  assert.equal(
    await vac.rv("lb_as_set_weight", weightReq(v, "10.0.0.2", 0)),
    0,
  );
  assert.deepEqual(await buckets(), [8, 0, 8]);
  assert.equal(
    await vac.rv("lb_as_set_weight", weightReq(v, "10.0.0.3", 255)),
    0,
  );
  const b = await buckets();
  assert.equal(b.reduce((x, y) => x + y, 0), 16);
  assert.deepEqual(b, [0, 0, 16]);
  for (const a of ["10.0.0.1", "10.0.0.3"]) {
    assert.equal(await vac.rv("lb_as_set_weight", weightReq(v, a, 0)), 0);
  }
  assert.deepEqual(
    await buckets(),
    [0, 0, 0],
    "all weights 0: the drop AS has them",
  );
  // automatic garbage collection of deleted ASes
  e.fv.ctl.set("auto_gc_ms", 1);
  assert.equal(
    await vac.rv("lb_add_del_as_v2", asReq(v, "10.0.0.1", { del: true })),
    0,
  );
  await sleep(10);
  assert.deepEqual((await vac.ases()).map((a) => a.address), [
    "10.0.0.2",
    "10.0.0.3",
  ]);
});

Deno.test("fakevpp: new_flows_table_length 0 kills VPP: no reply, dead link, connect fails until a restart", async () => {
  await using e = await setup();
  const { vac, fv } = e;
  await goldenSession(vac);
  const req = hex(CRASH_REQ);
  dv(req).setUint16(0, vac.id("lb_add_del_vip_v2"));
  assert.equal(vac.write(req), 0);
  assert.equal((await vac.read(2)).rv, -5, "no reply");
  const st = fv.ctl.state();
  assert.equal(st.vpp.up, false);
  assert.equal(st.vpp.crashes, 1);
  assert.equal(st.client.connected, true);
  assert.equal(st.client.alive, false);
  // writes go nowhere, reads keep timing out
  assert.equal(vac.write(vac.build("control_ping", EMPTY, 1)), 0);
  assert.equal((await vac.read(2)).rv, -5);
  assert.equal(fv.ctl.get("lost_writes"), 1);
  // disconnect takes one "second" (peer unresponsive), returns 0
  let t = performance.now();
  assert.equal(await vac.s.vac_disconnect(), 0);
  assert.ok(performance.now() - t >= 15);
  // stale /dev/shm: -1 after 10 "seconds"
  t = performance.now();
  assert.equal(await vac.connect(), -1);
  assert.ok(performance.now() - t >= 190);
  fv.ctl.start();
  assert.equal(await vac.connect(), 0);
  assert.equal((await vac.vips()).length, 0, "VIPs are not persisted");
  const conf = await vac.rpc("lb_conf_get", EMPTY, 0x01020304);
  assert.equal(zeroId(conf), REPLY["lb_conf_get_reply.defaults"]);
});

Deno.test("fakevpp: vac_read timeouts scale, 0 waits forever, -3 when not connected; unknown ids get no reply", async () => {
  await using e = await setup({ knobs: { timeout_scale_ms: 50 } });
  const { vac, fv } = e;
  let t = performance.now();
  const r = await vac.read(2);
  const ms = performance.now() - t;
  assert.equal(r.rv, -5);
  assert.ok(ms >= 95 && ms < 1000, `2 × 50 ms, took ${ms}`);
  // timeout 0: blocks until something arrives
  const pending = vac.read(0);
  await sleep(120);
  assert.equal(vac.write(vac.build("control_ping", EMPTY, 77)), 0);
  const got = await pending;
  assert.equal(got.rv, 0);
  assert.equal(replyCtx(got.msg!), 77);
  // an unassigned id: dropped, the connection stays usable
  const unknown = vac.build("control_ping", EMPTY, 5);
  dv(unknown).setUint16(0, 0x7fff);
  assert.equal(vac.write(unknown), 0);
  assert.equal((await vac.read(1)).rv, -5);
  assert.equal(fv.ctl.get("unknown_ids"), 1);
  assert.equal((await vac.rpc("control_ping", EMPTY)).length, 18);
  // a reader blocked forever is woken by vac_disconnect (-3)
  const blocked = vac.read(0);
  await sleep(30);
  t = performance.now();
  assert.equal(await vac.s.vac_disconnect(), 0);
  assert.equal((await blocked).rv, -3);
  assert.equal(vac.readSync(1).rv, -3, "not connected");
});

Deno.test("fakevpp: disconnect/reconnect cycles; a restart empties VPP and kills the link until reconnect", async () => {
  await using e = await setup();
  const { vac, fv } = e;
  for (let i = 0; i < 3; i++) {
    assert.equal(await vac.s.vac_disconnect(), 0);
    assert.equal(await vac.connect(), 0);
    assert.equal((await vac.rpc("control_ping", EMPTY)).length, 18);
  }
  await goldenSession(vac);
  assert.equal(fv.ctl.get("vips"), 2);
  fv.ctl.set("msg_id_base", 300);
  fv.ctl.restart();
  const st = fv.ctl.state();
  assert.equal(st.vpp.generation, 2);
  assert.deepEqual(st.vips, []);
  assert.equal(st.client.alive, false);
  assert.equal(vac.write(vac.build("control_ping", EMPTY, 1)), 0);
  assert.equal((await vac.read(2)).rv, -5, "the old link is dead");
  assert.equal(await vac.s.vac_disconnect(), 0);
  assert.equal(await vac.connect(), 0);
  assert.equal(vac.id("control_ping"), 300, "ids resolved again");
  assert.equal((await vac.vips()).length, 0);
  const ping = await vac.rpc("control_ping", EMPTY);
  assert.equal(dv(ping).getUint32(14), st.vpp.pid, "a new vpe_pid");
});

Deno.test("fakevpp: calls the real library crashes on are refused and reported as misuse", async () => {
  await using e = await setup();
  const { vac, fv } = e;
  assert.equal(await vac.connect(), -1, "connect while connected");
  assert.equal(fv.ctl.get("connected"), 1, "still connected");
  // a short request: real VPP reads stale bytes; here zero padded
  const short = vac.build("lb_as_v2_dump", AS_DUMP_ALL, 9).subarray(0, 10);
  assert.equal(vac.write(short), 0);
  assert.equal(vac.write(vac.build("control_ping", EMPTY, 9)), 0);
  assert.equal(msgId((await vac.read()).msg!), vac.id("control_ping_reply"));
  // double vac_free
  vac.write(vac.build("control_ping", EMPTY, 10));
  const p = new BigUint64Array(1);
  const l = new Int32Array(1);
  assert.equal(vac.s.vac_read_sync(p, l, 5), 0);
  assert.equal(fv.ctl.get("outstanding"), 1);
  const ptr = Deno.UnsafePointer.create(p[0]);
  vac.s.vac_free(ptr);
  assert.equal(fv.ctl.get("outstanding"), 0);
  vac.s.vac_free(ptr);
  assert.equal(await vac.s.vac_disconnect(), 0);
  assert.equal(vac.write(vac.build("control_ping", EMPTY, 11)), -3);
  const m = fv.ctl.state().misuse;
  assert.equal(m.length, 4);
  assert.match(m[0], /already connected/);
  assert.match(m[1], /lb_as_v2_dump request of 10 bytes/);
  assert.match(m[2], /already freed/);
  assert.match(m[3], /vac_write while not connected/);
});

Deno.test("fakevpp: fault injection: fail N, drop, slow replies, connect failures, hang, drift", async () => {
  await using e = await setup();
  const { vac, fv } = e;
  await goldenSession(vac);
  // the next 2 AS requests answer -6 and change nothing
  fv.ctl.fail("lb_add_del_as_v2", -6, 2);
  const add = asReq(V4, "198.51.100.20");
  assert.equal(await vac.rv("lb_add_del_as_v2", add), -6);
  assert.equal(await vac.rv("lb_add_del_as_v2", add), -6);
  assert.equal((await vac.ases()).length, 2);
  assert.equal(await vac.rv("lb_add_del_as_v2", add), 0);
  assert.equal(fv.ctl.get("failed"), 2);
  // a failed dump sends no details at all
  fv.ctl.fail("lb_vip_dump", -1);
  assert.equal((await vac.vips()).length, 0);
  assert.equal((await vac.vips()).length, 2);
  // a dropped request: no reply, the next one is answered
  fv.ctl.drop("control_ping");
  vac.write(vac.build("control_ping", EMPTY, 1));
  assert.equal((await vac.read(2)).rv, -5);
  assert.equal((await vac.rpc("control_ping", EMPTY)).length, 18);
  // slow replies: each request takes delay_ms, in order
  fv.ctl.set("delay_ms", 120);
  const t = performance.now();
  vac.write(vac.build("control_ping", EMPTY, 2));
  assert.equal((await vac.read(1)).rv, -5, "not yet after 20 ms");
  const r = await vac.read(50);
  assert.equal(replyCtx(r.msg!), 2);
  assert.ok(performance.now() - t >= 110);
  fv.ctl.set("delay_ms", 0);
  fv.ctl.must("slow lb_conf_get 80");
  const t2 = performance.now();
  await vac.rpc("lb_conf_get", EMPTY);
  assert.ok(performance.now() - t2 >= 70);
  // drift: a weight changed behind the client's back
  assert.equal(fv.ctl.drift(V4, "198.51.100.10", 33), 0);
  assert.equal((await vac.ases())[0].weight, 33);
  assert.equal(fv.ctl.drift(V4, "203.0.113.1", 33), -6);
  // hang: requests are accepted but not answered until unhang
  fv.ctl.must("hang");
  vac.write(vac.build("control_ping", EMPTY, 3));
  vac.write(vac.build("show_version", EMPTY, 4));
  assert.equal((await vac.read(2)).rv, -5);
  assert.equal(fv.ctl.get("backlog"), 2);
  fv.ctl.must("unhang");
  assert.equal(replyCtx((await vac.read()).msg!), 3);
  assert.equal(replyCtx((await vac.read()).msg!), 4);
  // connect failures
  assert.equal(await vac.s.vac_disconnect(), 0);
  fv.ctl.must("connect_fail -2 2");
  assert.equal(await vac.connect(), -2);
  assert.equal(await vac.connect(), -2);
  assert.equal(await vac.connect(), 0);
  // bad commands are refused with a reason
  assert.throws(() => fv.ctl.ctl("fail no_such_msg -1"), FakeVppCommandError);
  assert.throws(() => fv.ctl.ctl("frobnicate"), /unknown command/);
  assert.throws(() => fv.ctl.set("nope" as FakeVppKnob, 1), /unknown knob/);
  assert.equal(fv.ctl.ctl("vip_add 192.0.2.1/32 tcp 80"), -81);
  assert.equal(CTL_EBADCMD, -1000);
});

Deno.test("fakevpp: VPP stopped cleanly: connect polls for it and succeeds when it starts", async () => {
  await using e = await setup({
    connect: false,
    knobs: { timeout_scale_ms: 5 },
  });
  const { vac, fv } = e;
  fv.ctl.stop(true);
  const pending = vac.connect(); // would give up (-2) after 101 × 5 ms
  await sleep(50);
  assert.equal(fv.ctl.get("connected"), 0);
  fv.ctl.start();
  assert.equal(await pending, 0);
  // stopped with a client attached: stale files, -1 after 10 units
  fv.ctl.stop();
  assert.equal(fv.ctl.state().vpp.shm_files, true);
  assert.equal(await vac.s.vac_disconnect(), 0);
  assert.equal(await vac.connect(), -1);
  // a wrong api prefix never finds VPP: -2
  fv.ctl.start();
  fv.ctl.must("api_prefix other");
  assert.equal(await vac.connect(), -2);
  fv.ctl.must("api_prefix -");
  assert.equal(await vac.connect(), 0);
});

Deno.test("fakevpp: stats segment: lb counters after traffic match golden/stats_lb_counters.json", async () => {
  await using e = await setup({ knobs: { heartbeat_ms: 40 } });
  const { vac, fv } = e;
  const st = new Stats(vac.s);
  assert.equal(vac.s.stat_segment_connect(cstr("/run/vpp/stats.sock")), 0);
  assert.equal(vac.s.stat_segment_heartbeat(), 0, "0 before the first ls");
  // the lb counters do not exist before the first VIP
  assert.deepEqual(st.names(["^first session packet$"]), []);
  assert.deepEqual(st.names(["^/net/route/to$"]), ["/net/route/to"]);
  assert.ok(vac.s.stat_segment_heartbeat() >= 1);
  const dir = st.ls(LB_PATTERNS);
  await goldenSession(vac);
  // the directory changed: dump of the old index list returns NULL
  assert.equal(vac.s.stat_segment_dump(dir), null);
  assert.equal(vac.s.stat_segment_heartbeat(), 0, "0 after an epoch change");
  vac.s.stat_segment_vec_free(dir);
  const before = byName(st.read(LB_PATTERNS)!);
  assert.equal(before.size, 5);
  for (
    const n of [
      "packet from existing sessions",
      "first session packet",
      "untracked packet",
      "no server configured",
    ]
  ) {
    assert.equal(before.get(n)!.type, 2);
    assert.deepEqual(before.get(n)!.simple, [[0, 0, 0]]);
  }
  assert.equal(before.get("/net/route/to")!.type, 3);
  assert.equal(before.get("/net/route/to")!.combined![0].length, 12);

  // the golden traffic: 5 packets of one flow to VIP 1, 2 to port 81 (no VIP,
  // counted on the placeholder VIP 0 and the route), 3 to VIP 2
  assert.equal(fv.ctl.traffic(1, 5), 0);
  assert.equal(fv.ctl.ctl("route_traffic 8 2"), 0);
  assert.equal(fv.ctl.traffic(0, 2), 0);
  assert.equal(fv.ctl.traffic(2, 3, { bytes: 120 }), 0);
  const after = byName(st.read(LB_PATTERNS)!);
  assert.deepEqual(after.get("packet from existing sessions")!.simple, [[
    0,
    4,
    2,
  ]]);
  assert.deepEqual(after.get("first session packet")!.simple, [[0, 1, 1]]);
  assert.deepEqual(after.get("untracked packet")!.simple, [[0, 0, 0]]);
  assert.deepEqual(after.get("no server configured")!.simple, [[2, 0, 0]]);
  const rt = after.get("/net/route/to")!.combined![0];
  assert.deepEqual(rt[8], { packets: 7, bytes: 700 });
  assert.deepEqual(rt[10], { packets: 3, bytes: 360 });
  assert.equal(rt.filter((c) => c.packets > 0).length, 2);
  assert.equal(await vac.cli("show lb vips verbose"), TEXT_AFTER_TRAFFIC);
  assert.equal(fv.ctl.state().vips[0].counters["first session packet"], 1);

  // a VIP without servers counts "no server configured"
  const v = { prefix: "192.0.2.60/32", protocol: 6, port: 80 };
  assert.equal(await vac.rv("lb_add_del_vip_v2", vipReq(v)), 0);
  assert.equal(fv.ctl.traffic(3, 4), 0);
  const ns = byName(st.read(["^no server configured$"])!);
  assert.deepEqual(ns.get("no server configured")!.simple, [[2, 0, 0, 4]]);

  // heartbeat and boottime
  const hb = vac.s.stat_segment_heartbeat();
  assert.ok(hb >= 1);
  await sleep(100);
  assert.ok(vac.s.stat_segment_heartbeat() > hb, "heartbeat moves");
  const sys = byName(st.read(["^/sys/"])!);
  assert.equal(sys.get("/sys/boottime")!.type, 1);
  assert.ok(sys.get("/sys/boottime")!.scalar! > 1.7e9);

  // dump_entry and index_to_name
  const idx = st.indices(st.ls(["^untracked packet$"]));
  assert.equal(idx.length, 1);
  const namePtr = vac.s.stat_segment_index_to_name(idx[0]);
  assert.equal(Deno.UnsafePointerView.getCString(namePtr!), "untracked packet");
  const one = vac.s.stat_segment_dump_entry(idx[0]);
  assert.equal(st.decode(one)[0].name, "untracked packet");
  vac.s.stat_segment_data_free(one);
  // the epoch command invalidates index lists, as a directory change does
  const old = st.ls(["^untracked packet$"]);
  fv.ctl.must("epoch");
  assert.equal(vac.s.stat_segment_dump(old), null);
  assert.equal(vac.s.stat_segment_dump_entry(idx[0]), null);
  vac.s.stat_segment_vec_free(old);
  assert.equal(st.read(["^untracked packet$"])!.length, 1);

  // worker threads: one vector per thread
  fv.ctl.set("threads", 2);
  assert.equal(fv.ctl.traffic(1, 3, { thread: 1 }), 0);
  const t2 = byName(st.read(["^first session packet$"])!);
  assert.deepEqual(t2.get("first session packet")!.simple, [[0, 1, 1, 0], [
    0,
    1,
    0,
    0,
  ]]);

  // a stopped VPP: the old mapping shows frozen values, connect fails
  fv.ctl.stop();
  const frozen = vac.s.stat_segment_heartbeat();
  await sleep(100);
  assert.equal(vac.s.stat_segment_heartbeat(), frozen, "frozen heartbeat");
  assert.deepEqual(
    byName(st.read(["^first session packet$"])!).get("first session packet")!
      .simple,
    [[0, 1, 1, 0], [0, 1, 0, 0]],
  );
  assert.equal(vac.s.stat_segment_connect(cstr("/run/vpp/stats.sock")), -2);
  fv.ctl.start();
  assert.equal(vac.s.stat_segment_connect(cstr("/run/vpp/stats.sock")), 0);
  assert.deepEqual(st.names(["^first session packet$"]), [], "fresh VPP");
  vac.s.stat_segment_disconnect();
});

Deno.test("fakevpp: stats patterns are unanchored POSIX basic regexes (golden/stats_patterns.json)", async () => {
  await using e = await setup();
  const st = new Stats(e.vac.s);
  assert.equal(e.vac.s.stat_segment_connect(cstr("/run/vpp/stats.sock")), 0);
  await goldenSession(e.vac);
  assert.deepEqual(st.names(["first session packet|untracked packet"]), []);
  assert.deepEqual(st.names(["first session packet\\|untracked packet"]), [
    "first session packet",
    "untracked packet",
  ]);
  assert.deepEqual(st.names(["^first session"]), ["first session packet"]);
  const session = st.names(["session"]);
  assert.ok(
    session.length > 2 && session.includes("packet from existing sessions"),
  );
  assert.deepEqual(st.names(["/net/route/to"]), ["/net/route/to"]);
  assert.deepEqual(st.names(["^untracked packet$", "^/net/route/to$"]), [
    "/net/route/to",
    "untracked packet",
  ]);
  assert.equal(st.ls(["a\\{1"]), null, "a pattern that does not compile");
  assert.ok(st.names(null).length >= 11, "NULL patterns: everything");
});

Deno.test("fakevpp: v1 messages and lb_flush_vip are answered too", async () => {
  await using e = await setup();
  const { vac } = e;
  const id = (k: string) => vac.s.vac_get_msg_index(cstr(k));
  let ctx = 0;
  const send = async (key: string, body: number[], reply: string) => {
    const b = Uint8Array.from([...HDR, ...body]);
    dv(b).setUint16(0, id(key));
    dv(b).setUint32(6, ++ctx);
    assert.equal(vac.write(b), 0);
    const m = (await vac.read()).msg!;
    assert.equal(msgId(m), id(reply));
    assert.equal(replyCtx(m), ctx);
    return m;
  };
  const vipKey = [...prefix("192.0.2.70/32"), 6, ...u16(80)];
  // lb_add_del_vip (49 bytes): like v2 without src_ip_sticky
  const vip = [...vipKey, ...u32(0), 0, ...u32(0), 0, 0, 0, 0, ...u32(256), 0];
  const r1 = await send(
    "lb_add_del_vip_6fa569c7",
    vip,
    "lb_add_del_vip_reply_e8d4e804",
  );
  assert.equal(r1.length, 10);
  assert.equal(retval(r1), 0);
  // lb_add_del_as (50 bytes): no weight (100 assumed)
  const as = [...vipKey, ...address("198.51.100.70"), 0, 0];
  assert.equal(
    retval(
      await send("lb_add_del_as_35d72500", as, "lb_add_del_as_reply_e8d4e804"),
    ),
    0,
  );
  const flush = [...vipKey];
  assert.equal(
    retval(
      await send("lb_flush_vip_1063f819", flush, "lb_flush_vip_reply_e8d4e804"),
    ),
    0,
  );
  const other = [...prefix("192.0.2.71/32"), 6, ...u16(80)];
  assert.equal(
    retval(
      await send("lb_flush_vip_1063f819", other, "lb_flush_vip_reply_e8d4e804"),
    ),
    -6,
  );
  // lb_as_dump: 49-byte details without weight and buckets
  const b = Uint8Array.from(AS_DUMP_ALL);
  dv(b).setUint16(0, id("lb_as_dump_1063f819"));
  dv(b).setUint32(6, 99);
  vac.write(b);
  vac.write(vac.build("control_ping", EMPTY, 99));
  const d = (await vac.read()).msg!;
  assert.equal(msgId(d), id("lb_as_details_8d24c29e"));
  assert.equal(d.length, 49);
  assert.equal(fmtAddr(d[27], d.subarray(28, 44)), "198.51.100.70");
  assert.equal(d[44], 1);
  assert.equal(msgId((await vac.read()).msg!), vac.id("control_ping_reply"));
  assert.deepEqual(
    e.fv.ctl.state().vips[0].ases.map((a) => [a.weight, a.num_buckets]),
    [[100, 256]],
  );
});

Deno.test("fakevpp: thread safety: a nonblocking vac_read pending while vac_write runs on the main thread", async () => {
  await using e = await setup();
  const { vac, fv } = e;
  const pending = vac.read(250); // 5 s at 20 ms per "second"
  await sleep(50);
  assert.equal(vac.write(vac.build("control_ping", EMPTY, 0xabcd)), 0);
  const r = await pending;
  assert.equal(r.rv, 0);
  assert.equal(replyCtx(r.msg!), 0xabcd);

  // one reader loop, writes interleaved from the JS thread
  const n = 300;
  const seen: number[] = [];
  const reader = (async () => {
    while (seen.length < n) {
      const x = await vac.read(250);
      assert.equal(x.rv, 0, `reply ${seen.length} missing`);
      seen.push(replyCtx(x.msg!));
    }
  })();
  for (let i = 0; i < n; i++) {
    const kind: Msg = i % 3 === 0 ? "show_version" : "control_ping";
    assert.equal(vac.write(vac.build(kind, EMPTY, i)), 0);
    if (i % 7 === 0) await sleep(0);
  }
  await reader;
  assert.deepEqual(seen, Array.from({ length: n }, (_, i) => i));
  assert.equal(fv.ctl.get("outstanding"), 0, "every buffer freed");
});

Deno.test("fakevpp: a full rx queue stalls VPP until the client reads (rx_qlen, §1.4)", async () => {
  await using e = await setup({ rxQlen: 4 });
  const { vac, fv } = e;
  for (let i = 0; i < 10; i++) {
    assert.equal(vac.write(vac.build("control_ping", EMPTY, i)), 0);
  }
  const st = fv.ctl.state().client;
  assert.equal(st.rx_queue, 4);
  assert.equal(st.backlog, 6);
  assert.equal(st.stalled, true);
  for (let i = 0; i < 10; i++) {
    assert.equal(replyCtx((await vac.read()).msg!), i);
  }
  assert.equal(fv.ctl.get("stalled"), 0);
});

Deno.test("fakevpp: callback mode delivers replies on the library's own thread", async () => {
  await using e = await setup({ connect: false });
  const { vac } = e;
  const got: number[] = [];
  const cb = Deno.UnsafeCallback.threadSafe(
    { parameters: ["pointer", "i32"], result: "void" } as const,
    (p, len) => {
      const m = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p!, len));
      got.push(replyCtx(m));
    },
  );
  try {
    const rv = await vac.s.vac_connect(cstr("cb-client"), null, cb.pointer, 32);
    assert.equal(rv, 0);
    vac.resolve();
    assert.equal(e.fv.ctl.state().client.callback_mode, true);
    vac.write(vac.build("control_ping", EMPTY, 42));
    vac.write(vac.build("show_version", EMPTY, 43));
    for (let i = 0; i < 100 && got.length < 2; i++) await sleep(10);
    assert.deepEqual(got, [42, 43]);
    assert.equal(await vac.s.vac_disconnect(), 0);
  } finally {
    cb.close();
  }
});

Deno.test("fakevpp: a daemon in another process is driven through the control and state files", async () => {
  const lib = await buildFakeVpp();
  await using files = await fakeVppFiles({ timeout_scale_ms: 20, quiet: 1 });
  const script = `${files.dir}/child.ts`;
  await Deno.writeTextFile(
    script,
    `const l = Deno.dlopen(${JSON.stringify(lib)}, {
       vac_mem_init: { parameters: ["usize"], result: "void" },
       vac_connect: { parameters: ["buffer", "buffer", "pointer", "i32"], result: "i32" },
     });
     l.symbols.vac_mem_init(0n);
     const rv = l.symbols.vac_connect(new TextEncoder().encode("daemon\\0"), null, null, 64);
     console.log("connected", rv);
     setTimeout(() => {}, 60_000);
    `,
  );
  const spawn = () =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script],
      env: { ...files.env, FAKEVPP_INIT: "conf timeout=77 ip4=192.0.2.254" },
      stdout: "null",
      stderr: "inherit",
    }).spawn();
  // commands written before the child starts are applied when it starts
  const early = files.ctl("vip_add 192.0.2.1/32 tcp 80 sticky=1");
  let child = spawn();
  try {
    assert.equal(await early, 0);
    let s = await files.waitState(
      "the daemon connected",
      (s) => s.client.connected,
    );
    assert.equal(s.client.name, "daemon");
    assert.equal(s.conf.flow_timeout, 77, "FAKEVPP_INIT ran");
    assert.equal(s.conf.ip4_src_address, "192.0.2.254");
    assert.equal(
      await files.ctl("as_add 192.0.2.1/32 tcp 80 198.51.100.10 100"),
      0,
    );
    assert.equal(
      await files.ctl("as_add 192.0.2.99/32 tcp 80 198.51.100.10"),
      -6,
    );
    await assert.rejects(files.ctl("bogus"), FakeVppCommandError);
    s = (await files.state())!;
    assert.deepEqual(
      s.vips.map((
        v,
      ) => [v.prefix, v.src_ip_sticky, v.ases.map((a) => a.num_buckets)]),
      [["192.0.2.1/32", true, [1024]]],
    );
    assert.equal(await files.ctl("restart"), 0);
    s = (await files.state())!;
    assert.equal(s.vpp.generation, 2);
    assert.equal(s.client.alive, false);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
  // a restarted daemon resumes after the lines its predecessor applied
  child = spawn();
  try {
    assert.equal(await files.ctl("vip_add 192.0.2.9/32 udp 53"), 0);
    const s = await files.waitState(
      "the new daemon",
      (s) => s.client.connected,
    );
    assert.deepEqual(s.vips.map((v) => v.prefix), ["192.0.2.9/32"]);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
});
