/**
 * Re-captures the golden VPP wire vectors (tests/vpp/golden/) from a real
 * VPP and compares them with what is stored: the engine behind
 * `deno run -A tools/vpp_golden.ts capture` (see that file for usage).
 *
 * It starts a VPP of its own (tests/helpers/realvpp.ts), connects through
 * maglev's FFI binding (src/vpp/ffi.ts), and replays the stored request
 * vectors in the order that recreates the situation they were captured in
 * (`SCRIPT`). Every message VPP sends back is compared byte for byte with
 * the stored reply of that situation, except the fields of `VARYING`.
 */

import { decode, encode } from "../src/vpp/codec.ts";
import {
  type FieldDef,
  fieldSize,
  type MessageInput,
  type MessageName,
  MESSAGES,
  nameCrc,
  type WireRecord,
  type WireValue,
} from "../src/vpp/messages.ts";
import { openVppLibrary, vacTransport } from "../src/vpp/ffi.ts";
import type { VacTransport } from "../src/vpp/transport.ts";
import {
  asObject,
  fromHex,
  GOLDEN_DIR,
  type Json,
  type JsonObject,
  toHex,
} from "../src/vpp/_golden.ts";

// ---------------------------------------------------------------------------
// What may differ from one run to the next

/** A field VPP fills differently on every run (or build), with the reason. */
export interface VaryingField {
  /** Message name, or "*" for every message. */
  readonly message: MessageName | "*";
  readonly field: string;
  readonly why: string;
  /**
   * Only varies when the stored bytes of the field satisfy this (a field
   * that is 0 in the stored vector must stay 0).
   */
  readonly when?: (stored: Uint8Array) => boolean;
  /**
   * Variable text: compared after this masking instead of skipped, so
   * only the numbers it masks may differ.
   */
  readonly mask?: (text: string) => string;
}

const nonZero = (b: Uint8Array) => b.some((x) => x !== 0);

/**
 * The fields not compared byte for byte, and why. `--write` keeps their
 * stored bytes, so a re-capture does not churn them.
 */
export const VARYING: readonly VaryingField[] = [
  {
    message: "*",
    field: "_vl_msg_id",
    why:
      "numbered by VPP at start per build and plugin set; checked against vac_get_msg_index(name_crc) of this VPP instead",
  },
  {
    message: "control_ping_reply",
    field: "client_index",
    why:
      "VPP's registration handle (slot << 8 | restart count): depends on the clients registered before",
  },
  {
    message: "control_ping_reply",
    field: "vpe_pid",
    why: "VPP's process id",
  },
  {
    message: "show_version_reply",
    field: "build_date",
    why: "set when VPP is compiled: the same version built again differs",
  },
  {
    message: "show_version_reply",
    field: "build_directory",
    why: "set when VPP is compiled",
  },
  {
    message: "lb_as_v2_details",
    field: "in_use_since",
    why:
      "VPP's uptime in seconds when the AS was deleted (0 for a never-deleted AS, which is compared)",
    when: nonZero,
  },
  {
    message: "cli_inband_reply",
    field: "reply",
    why:
      "CLI text: VIP indexes [N] and dpo:N ids depend on VPP's pools; compared with those numbers masked",
    mask: (t) => t.replace(/\[\d+\]/g, "[#]").replace(/\bdpo:\d+/g, "dpo:#"),
  },
];

/** Whether a decoded field (stored as `stored`) is one of VARYING. */
function varies(name: MessageName, field: string, stored: Json): boolean {
  return VARYING.some((v) =>
    (v.message === "*" || v.message === name) && v.field === field &&
    !v.mask &&
    (!v.when || typeof stored !== "number" || stored !== 0)
  );
}

// ---------------------------------------------------------------------------
// The stored vectors

/**
 * One golden file, or one entry of a golden file that holds a list
 * (errors.json[3]); `id` is how lines name it.
 */
interface Stored {
  readonly id: string;
  /** The object that holds the vector's keys (the file, or the entry). */
  readonly doc: JsonObject;
}

/** The golden files, loaded once; --write edits them in place. */
class Golden {
  readonly files = new Map<string, Json>();

  constructor(readonly dir: URL) {
    const names = [...Deno.readDirSync(dir)]
      .filter((e) => e.isFile && e.name.endsWith(".json"))
      .map((e) => e.name)
      .sort();
    for (const n of names) {
      this.files.set(n, JSON.parse(Deno.readTextFileSync(new URL(n, dir))));
    }
  }

  /** Every vector id: a file, or `file[i]` for each entry of a list file. */
  ids(): string[] {
    const out: string[] = [];
    for (const [file, v] of this.files) {
      if (Array.isArray(v)) v.forEach((_, i) => out.push(`${file}[${i}]`));
      else out.push(file);
    }
    return out;
  }

  get(id: string): Stored {
    const m = /^(.*?)(?:\[(\d+)\])?$/.exec(id)!;
    const v = this.files.get(m[1]);
    if (v === undefined) throw new Error(`no golden file ${m[1]}`);
    const doc = m[2] === undefined
      ? v
      : Array.isArray(v)
      ? v[Number(m[2])]
      : undefined;
    return { id, doc: asObject(doc, id) };
  }
}

function hexOf(doc: JsonObject, key: string, id: string): Uint8Array {
  const h = doc[key];
  if (typeof h !== "string") throw new Error(`${id}: no "${key}"`);
  return fromHex(h);
}

/** Context of a stored request or reply: `context_sent`, else its bytes. */
function contextOf(s: Stored, bytes: Uint8Array, isRequest: boolean): number {
  const sent = s.doc.context_sent;
  if (typeof sent === "string") return Number(sent);
  const at = isRequest ? 6 : 2;
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(at);
}

// ---------------------------------------------------------------------------
// The script: the situations the vectors were captured in

/** Where the bytes of a request come from. */
interface RequestSource {
  /** The stored request vector (a file with `hex`, or an entry's `request_hex`). */
  readonly from: string;
  /** The key holding its hex (default `hex`, or `request_hex` in an entry). */
  readonly key?: string;
  /**
   * Field changes for a request the capture did not store on its own (the
   * stored reply says what it was): decoded from `from` with maglev's
   * codec, changed, encoded again.
   */
  readonly change?: WireRecord;
  /** Raw byte changes the codec cannot express (client_index). */
  readonly patch?: readonly (readonly [offset: number, bytes: number[]])[];
}

/** What one reply (or details message) of a step is checked against. */
type Expect =
  /** Byte comparison with the stored reply (`hex`, or the entry's `key`). */
  | { readonly vector: string; readonly key?: string }
  /** Decoded-field comparison with a stored object of fields (no bytes stored). */
  | { readonly vector: string; readonly fieldsKey: string }
  /** The reply's retval against a number stored under `retvalKey`. */
  | { readonly vector: string; readonly retvalKey: string }
  /** Only VPP's own state: no stored vector (a reply the script needs). */
  | { readonly retval: number };

/** Identity of a details message within a dump, for matching. */
type DetailsKey = (d: WireRecord) => string;

interface Step {
  /** The situation, as lines and errors say it. */
  readonly what: string;
  readonly request: RequestSource;
  /** Request: one expectation. Dump: the details expected, matched by identity. */
  readonly expect: readonly Expect[];
  /** A dump: followed by control_ping of the same context, whose reply ends it. */
  readonly dump?: {
    readonly end?: Expect;
    /** Every details message VPP sends must be in `expect`. */
    readonly exhaustive?: boolean;
    /** The number of details, compared with a stored count. */
    readonly count?: { readonly vector: string; readonly key: string };
  };
}

const vipKey: DetailsKey = (d) =>
  `${d["vip.pfx"]} ${d["vip.protocol"]} ${d["vip.port"]}`;
const asKey: DetailsKey = (d) => `${vipKey(d)} ${d.app_srv}`;
const DETAILS_KEY: Partial<Record<MessageName, DetailsKey>> = {
  lb_vip_details: vipKey,
  lb_as_v2_details: asKey,
};

const END = { vector: "control_ping_reply.end_of_dump.json" };

/**
 * The capture sequence, worked out from the vectors themselves: a fresh
 * VPP (lb_conf_get_reply.defaults), lb_conf, the IPv4 and IPv6 VIPs with
 * one AS each at weight 100 (the details, route lookups with stats_index 8
 * and 10, `show lb` counting 3 VIPs and 2 ASes), the error cases against
 * that state, the quirks (65536 table, all-port VIP, a deleted AS still
 * dumped), the weight tests of errors.json, the weight-0 flush, the deletes.
 */
export const SCRIPT: readonly Step[] = [
  {
    what: "control_ping on a fresh VPP",
    request: { from: "control_ping.json" },
    expect: [{ vector: "control_ping_reply.json" }],
  },
  {
    what: "show_version",
    request: { from: "show_version.json" },
    expect: [{ vector: "show_version_reply.json" }],
  },
  {
    what: "lb_conf_get before any lb_conf",
    request: { from: "lb_conf_get.json" },
    expect: [{ vector: "lb_conf_get_reply.defaults.json" }],
  },
  {
    what: "lb_conf 192.0.2.254 / 2001:db8::254",
    request: { from: "lb_conf.json" },
    expect: [{ vector: "lb_conf_reply.json" }],
  },
  {
    what: "lb_conf_get after lb_conf",
    request: { from: "lb_conf_get.json" },
    expect: [{ vector: "lb_conf_get_reply.json" }],
  },
  {
    what: "add VIP 192.0.2.1/32 tcp 80",
    request: { from: "lb_add_del_vip_v2.json" },
    expect: [{ vector: "lb_add_del_vip_v2_reply.json" }],
  },
  {
    what: "add AS 198.51.100.10",
    request: { from: "lb_add_del_as_v2.json" },
    expect: [{ vector: "lb_add_del_as_v2_reply.json" }],
  },
  {
    what: "add VIP 2001:db8::1/128 udp 53",
    request: { from: "lb_add_del_vip_v2.ip6.json" },
    expect: [{ vector: "lb_add_del_vip_v2_reply.json" }],
  },
  {
    what: "add AS 2001:db8:1::10",
    request: { from: "lb_add_del_as_v2.ip6.json" },
    expect: [{ vector: "lb_add_del_as_v2_reply.json" }],
  },
  {
    what: "lb_vip_dump with both VIPs",
    request: { from: "lb_vip_dump.json" },
    expect: [
      { vector: "lb_vip_details.json" },
      { vector: "lb_vip_details.ip6.json" },
    ],
    dump: { end: END, exhaustive: true },
  },
  {
    what: "lb_as_v2_dump with both ASes",
    request: { from: "lb_as_v2_dump.json" },
    expect: [
      { vector: "lb_as_v2_details.json" },
      { vector: "lb_as_v2_details.ip6.json" },
    ],
    dump: { end: END, exhaustive: true },
  },
  {
    what: "lb_as_v2_dump filtered on 192.0.2.1 in union bytes 12..15",
    request: {
      from: "quirks.json[0]",
      key: "ipv4_filter_addr_in_union_bytes_12_15_request_hex",
    },
    expect: [{ vector: "lb_as_v2_details.json" }],
    dump: {
      end: END,
      exhaustive: true,
      count: {
        vector: "quirks.json[0]",
        key: "ipv4_filter_addr_in_union_bytes_12_15_details",
      },
    },
  },
  {
    what: "exact route lookup of the IPv4 VIP",
    request: { from: "ip_route_lookup.json" },
    expect: [{ vector: "ip_route_lookup_reply.json" }],
  },
  {
    what: "exact route lookup of the IPv6 VIP",
    request: { from: "ip_route_lookup.ip6.json" },
    expect: [{ vector: "ip_route_lookup_reply.ip6.json" }],
  },
  {
    what: "exact route lookup of 203.0.113.7/32 (no such route)",
    request: {
      from: "ip_route_lookup.json",
      change: { prefix: "203.0.113.7/32" },
    },
    expect: [{ vector: "ip_route_lookup_reply.exact_miss.json" }],
  },
  {
    what: "longest-match route lookup of 203.0.113.7/32",
    request: {
      from: "ip_route_lookup.json",
      change: { exact: 0, prefix: "203.0.113.7/32" },
    },
    expect: [{ vector: "ip_route_lookup_reply.longest_match.json" }],
  },
  {
    what: "cli_inband `show lb vips verbose` with both VIPs",
    request: { from: "cli_inband.json" },
    expect: [{ vector: "cli_inband_reply.json" }],
  },
  {
    what: "cli_inband `show lb` with both VIPs",
    request: { from: "cli_inband.json", change: { cmd: "show lb" } },
    expect: [{ vector: "cli_inband_reply.show_lb.json" }],
  },
  // errors.json 0..12: refused requests, none changes the state.
  ...Array.from({ length: 13 }, (_, i): Step => ({
    what: `errors.json case ${i}`,
    request: { from: `errors.json[${i}]` },
    expect: [{ vector: `errors.json[${i}]`, key: "reply_hex" }],
  })),
  // quirks.json 2: a 65536-entry table reads back as 0 (u16).
  {
    what: "add VIP 192.0.2.2/32 tcp 443, new_flows_table_length 65536",
    request: {
      from: "lb_add_del_vip_v2.json",
      change: {
        pfx: "192.0.2.2/32",
        port: 443,
        new_flows_table_length: 65536,
        src_ip_sticky: false,
      },
    },
    expect: [{ vector: "quirks.json[2]", retvalKey: "add_retval" }],
  },
  // quirks.json 3: an all-port VIP is stored with protocol 255.
  {
    what: "add all-port VIP 192.0.2.3/32 sent with protocol 6, port 0",
    request: {
      from: "lb_add_del_vip_v2.json",
      change: { pfx: "192.0.2.3/32", port: 0, src_ip_sticky: false },
    },
    expect: [{ vector: "quirks.json[3]", retvalKey: "add_retval" }],
  },
  {
    what: "lb_vip_dump with the 65536 and all-port VIPs",
    request: { from: "lb_vip_dump.json" },
    expect: [
      { vector: "lb_vip_details.json" },
      { vector: "lb_vip_details.ip6.json" },
      { vector: "quirks.json[2]", key: "details_hex" },
      { vector: "quirks.json[3]", key: "details_hex" },
    ],
    dump: { end: END, exhaustive: true },
  },
  {
    what: "delete VIP 192.0.2.2/32 tcp 443",
    request: {
      from: "lb_add_del_vip_v2.del.json",
      change: { pfx: "192.0.2.2/32", port: 443, src_ip_sticky: false },
    },
    expect: [{ retval: 0 }],
  },
  {
    what: "delete the all-port VIP with protocol 6, port 0",
    request: {
      from: "lb_add_del_vip_v2.del.json",
      change: { pfx: "192.0.2.3/32", port: 0, src_ip_sticky: false },
    },
    expect: [{
      vector: "quirks.json[3]",
      retvalKey: "delete_with_protocol_6_port_0_retval",
    }],
  },
  // quirks.json 5: a deleted AS is still dumped, flags 0.
  {
    what: "add AS 198.51.100.11 weight 50",
    request: {
      from: "lb_add_del_as_v2.json",
      change: { as_address: "198.51.100.11", weight: 50 },
    },
    expect: [{ vector: "quirks.json[5]", retvalKey: "add_retval" }],
  },
  {
    what: "delete AS 198.51.100.11",
    request: {
      from: "lb_add_del_as_v2.json",
      change: { as_address: "198.51.100.11", weight: 50, is_del: true },
    },
    expect: [{ vector: "quirks.json[5]", retvalKey: "del_retval" }],
  },
  {
    what: "lb_as_v2_dump with the deleted AS",
    request: { from: "lb_as_v2_dump.json" },
    expect: [
      { vector: "lb_as_v2_details.json" },
      { vector: "quirks.json[5]", key: "details_hex" },
      { vector: "quirks.json[5]", fieldsKey: "details_of_deleted_as" },
      { vector: "lb_as_v2_details.ip6.json" },
    ],
    dump: { end: END, exhaustive: true },
  },
  // errors.json 13..18: the weight tests, in their stored order.
  {
    what: "errors.json case 13 (weight 101)",
    request: { from: "errors.json[13]" },
    expect: [{ vector: "errors.json[13]", key: "reply_hex" }],
  },
  {
    what: "lb_as_v2_dump after weight 101",
    request: { from: "lb_as_v2_dump.json" },
    expect: [
      { vector: "errors.json[14]", fieldsKey: "details" },
      { vector: "errors.json[15]", fieldsKey: "details" },
      { vector: "errors.json[16]", fieldsKey: "details" },
    ],
    dump: { end: END, exhaustive: true },
  },
  {
    what: "errors.json case 17 (weight 255)",
    request: { from: "errors.json[17]" },
    expect: [{ vector: "errors.json[17]", key: "reply_hex" }],
  },
  {
    what: "errors.json case 18 (IPv6 AS weight 200)",
    request: { from: "errors.json[18]" },
    expect: [{ vector: "errors.json[18]", key: "reply_hex" }],
  },
  {
    what: "weight 0 with flush for 198.51.100.10",
    request: { from: "lb_as_set_weight.json" },
    expect: [{ vector: "lb_as_set_weight_reply.json" }],
  },
  {
    what: "lb_as_v2_dump after the weight-0 flush",
    request: { from: "lb_as_v2_dump.json" },
    expect: [{ vector: "lb_as_v2_details.after_weight0.json" }],
    dump: { end: END },
  },
  {
    what: "control_ping with client_index deadbeef, context 0x11223344",
    request: {
      from: "control_ping.json",
      patch: [[2, [0xde, 0xad, 0xbe, 0xef]]],
    },
    expect: [{ vector: "vac_semantics.json[3]", key: "result.reply_hex" }],
  },
  {
    what: "delete AS 198.51.100.10 with flush",
    request: { from: "lb_add_del_as_v2.del.json" },
    expect: [{ vector: "lb_add_del_as_v2_reply.json" }],
  },
  {
    what: "delete VIP 192.0.2.1/32 tcp 80",
    request: { from: "lb_add_del_vip_v2.del.json" },
    expect: [{ vector: "lb_add_del_vip_v2_reply.json" }],
  },
];

/**
 * Why the vectors the script does not reach are not captured (first
 * matching pattern wins); request vectors are replayed, not captured.
 */
const NOT_CAPTURED: readonly (readonly [RegExp, string])[] = [
  [
    /^crash_new_flows_table_length_0\.json$/,
    "the request makes VPP abort (SIGABRT); not replayed",
  ],
  [
    /^errors\.json\[19\]$/,
    "CLI text after packet-generator traffic, which the capture does not send",
  ],
  [
    /^quirks\.json\[1\]$/,
    "only a count is stored, for a filter request whose bytes are not stored",
  ],
  [
    /^quirks\.json\[4\]$/,
    "only retvals and a prefix are stored, no wire bytes",
  ],
  [
    /^quirks\.json\[6\]$/,
    "CLI text after packet-generator traffic, which the capture does not send",
  ],
  [
    /^quirks\.json\[7\]$/,
    "malformed requests (truncated, unknown id, wrong length) make VPP read stale shared memory; not replayed",
  ],
  [
    /^vac_semantics\.json\[(0|1|10)\]$/,
    "the library crashing (no vac_mem_init, a second vac_connect): no message",
  ],
  [
    /^vac_semantics\.json\[2\]$/,
    "id lookups, also after vac_disconnect; this VPP's ids are compared in _msg_ids_this_build.json",
  ],
  [
    /^vac_semantics\.json\[4\]$/,
    "reply order of requests written before reading: ids, lengths and contexts, no bytes stored",
  ],
  [
    /^vac_semantics\.json\[\d+\]$/,
    "library behaviour (read timeouts, threads, callback mode, reconnects, client names, queue length, keepalive), no stored message",
  ],
  [
    /^reconnect\.json$/,
    "VPP stop/kill/restart timings, not a stored message",
  ],
  [
    /^stats_/,
    "stats segment record (stat_segment_*), not a binary-API message",
  ],
];

// ---------------------------------------------------------------------------
// Comparing

/** The byte range of one field in one message. */
interface Span {
  readonly field: string;
  readonly start: number;
  readonly end: number;
}

function readCount(f: FieldDef, bytes: Uint8Array, at: number): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = fieldSize(f);
  if (at + size > bytes.length) return 0;
  return size === 1 ? v.getUint8(at) : size === 2 ? v.getUint16(at) : v
    .getUint32(at);
}

/**
 * Where each field of `name` sits in `bytes` (variable tails included),
 * so a byte difference can be named by its field.
 */
export function fieldSpans(name: MessageName, bytes: Uint8Array): Span[] {
  const out: Span[] = [];
  const walk = (
    fields: readonly FieldDef[],
    base: number,
    fixed: number,
    prefix: string,
  ): number => {
    let tail = base + fixed;
    for (const f of fields) {
      const at = base + f.offset;
      if (f.type === "vstring") {
        const n = readCount(f, bytes, at);
        out.push({
          field: `${prefix}${f.name}.length`,
          start: at,
          end: at + 4,
        });
        out.push({ field: `${prefix}${f.name}`, start: tail, end: tail + n });
        tail += n;
      } else if (f.type === "array") {
        const countField = fields.find((c) => c.name === f.count)!;
        const n = readCount(countField, bytes, base + countField.offset);
        for (let i = 0; i < n; i++) {
          tail = walk(
            f.element!.fields,
            tail,
            f.element!.size,
            `${prefix}${f.name}[${i}].`,
          );
        }
      } else {
        out.push({
          field: `${prefix}${f.name}`,
          start: at,
          end: at + fieldSize(f),
        });
      }
    }
    return tail;
  };
  const def = MESSAGES[name];
  const end = walk(def.fields, 0, def.size, "");
  if (bytes.length > end) {
    out.push({
      field: "(bytes after the layout)",
      start: end,
      end: bytes.length,
    });
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The fields whose bytes differ between two messages of `name`. */
export function differingFields(
  name: MessageName,
  got: Uint8Array,
  stored: Uint8Array,
): string[] {
  const out: string[] = [];
  if (got.length !== stored.length) {
    out.push(`length (${got.length} bytes, stored ${stored.length})`);
  }
  const a = new Map(fieldSpans(name, got).map((s) => [s.field, s]));
  const b = new Map(fieldSpans(name, stored).map((s) => [s.field, s]));
  for (const field of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(field), y = b.get(field);
    if (
      !x || !y ||
      !sameBytes(got.subarray(x.start, x.end), stored.subarray(y.start, y.end))
    ) out.push(field);
  }
  return out;
}

/**
 * `got` with the bytes of the VARYING fields replaced by the stored ones
 * (so they neither count as differences nor get written), and the names of
 * the fields that were replaced because they did differ.
 */
function withStoredVarying(
  name: MessageName,
  got: Uint8Array,
  stored: Uint8Array,
): { bytes: Uint8Array; ignored: string[] } {
  const ignored: string[] = [];
  let bytes = got.slice();
  const gs = new Map(fieldSpans(name, got).map((s) => [s.field, s]));
  const ss = new Map(fieldSpans(name, stored).map((s) => [s.field, s]));
  for (const v of VARYING) {
    if (v.message !== "*" && v.message !== name) continue;
    const g = gs.get(v.field), s = ss.get(v.field);
    if (!g || !s) continue;
    const sb = stored.subarray(s.start, s.end);
    const gb = bytes.subarray(g.start, g.end);
    if (v.when && !v.when(sb)) continue;
    if (sameBytes(gb, sb)) continue;
    if (v.mask) {
      const text = new TextDecoder();
      if (v.mask(text.decode(gb)) !== v.mask(text.decode(sb))) continue;
      // Same text but for the masked numbers: take the stored message's
      // text, and with it its length field.
      const len = gs.get(`${v.field}.length`)!;
      const out = new Uint8Array(bytes.length - gb.length + sb.length);
      out.set(bytes.subarray(0, g.start));
      out.set(sb, g.start);
      out.set(bytes.subarray(g.end), g.start + sb.length);
      new DataView(out.buffer).setUint32(len.start, sb.length);
      bytes = out;
    } else if (gb.length === sb.length) {
      gb.set(sb);
    } else continue;
    ignored.push(v.field);
  }
  return { bytes, ignored };
}

// ---------------------------------------------------------------------------
// Reading fields the way the golden files write them

/**
 * Decoded values in the shape of a stored `fields` object: the same keys,
 * each rendered as the file renders it (context as "0x01020304", derived
 * `.af` and `.length` keys, `(hex)` keys for raw bytes).
 */
export function fieldsLike(
  name: MessageName,
  d: WireRecord,
  template: JsonObject,
): JsonObject {
  const out: JsonObject = {};
  for (const [key, want] of Object.entries(template)) {
    out[key] = renderField(name, d, key, want);
  }
  return out;
}

function hasField(name: MessageName, key: string): boolean {
  return (MESSAGES[name].fields as readonly FieldDef[]).some((f) =>
    f.name === key
  );
}

function renderField(
  name: MessageName,
  d: WireRecord,
  key: string,
  want: Json,
): Json {
  if (key === "context") {
    return `0x${(d.context as number).toString(16).padStart(8, "0")}`;
  }
  if (key === "client_index" && typeof want === "string") {
    const n = d.client_index as number;
    const raw = new Uint8Array(4);
    new DataView(raw.buffer).setUint32(0, n, true);
    return `raw bytes ${toHex(raw)} = host-order u32 ${n} (0x${
      n.toString(16)
    })`;
  }
  if (/\.(address\.)?af$/.test(key) && !hasField(name, key)) {
    const base = d[key.replace(/\.(address\.)?af$/, "")] as string;
    return base.includes(":") ? 1 : 0;
  }
  if (key.endsWith(".length") && !hasField(name, key)) {
    const text = d[key.slice(0, -".length".length)] as string;
    return new TextEncoder().encode(text).length;
  }
  return jsonValue(d[key], Array.isArray(want) ? want : []);
}

function jsonValue(v: WireValue | undefined, template: Json[]): Json {
  if (v === undefined) return null;
  if (v instanceof Uint8Array) return toHex(v);
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) {
    const first = template[0];
    return (v as readonly WireRecord[]).map((item) => {
      const keys = first !== null && typeof first === "object" &&
          !Array.isArray(first)
        ? Object.keys(first)
        : Object.keys(item).filter((k) => k !== "label_stack").map((k) =>
          item[k] instanceof Uint8Array ? `${k}(hex)` : k
        );
      const o: JsonObject = {};
      for (const k of keys) {
        const m = /^(.*)\(hex\)$/.exec(k);
        o[k] = m ? toHex(item[m[1]] as Uint8Array) : jsonValue(item[k], []);
      }
      return o;
    });
  }
  return v as Json;
}

// ---------------------------------------------------------------------------
// Running the script

/** The outcome for one stored vector. */
export interface VectorResult {
  /** `file.json`, or `file.json[i]` for an entry of a list file. */
  readonly vector: string;
  readonly status: "same" | "differs" | "not captured";
  /** differs: the fields; not captured: why; same: the fields not compared. */
  readonly detail: string[];
  /** With `write`: the stored keys this run rewrote. */
  readonly written?: string[];
  /** Some of `written` are values decoded with maglev's codec (not VPP's bytes). */
  readonly decoded?: boolean;
}

/** Options of `captureGolden`. */
export interface CaptureOptions {
  /** A VPP directory (bin/vpp, bin/vppctl, lib/…); default $MAGLEV_TEST_VPP or a system install. */
  readonly vppDir?: string;
  /** Rewrite `hex`/`fields` of the vectors that differ. */
  readonly write?: boolean;
  /** The golden directory (default tests/vpp/golden/). */
  readonly goldenDir?: URL;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
  /** Aborting stops VPP and rejects. */
  readonly signal?: AbortSignal;
}

/** What `captureGolden` returns. */
export interface CaptureReport {
  readonly results: VectorResult[];
  /** VPP's `show version`, for the record. */
  readonly vppVersion: string;
  /** The VPP the run started (and stopped). */
  readonly vpp: {
    readonly prefix: string;
    readonly dir: string;
    readonly pid?: number;
  };
  /** The files --write changed. */
  readonly written: string[];
}

class Tally {
  compared = 0;
  readonly differs: string[] = [];
  readonly ignored = new Set<string>();
  readonly written = new Set<string>();
  decoded = false;
  notCaptured?: string;
}

/** One message from VPP, or undefined on timeout. */
type Read = () => Promise<Uint8Array | undefined>;

/**
 * Runs SCRIPT against a VPP of its own and compares every reply with the
 * stored vectors. VPP is stopped and its files removed whatever happens.
 *
 * @throws when no VPP is found, VPP does not start, or the connection
 *   fails; a reply that differs is a result, not an error.
 */
export async function captureGolden(
  opts: CaptureOptions = {},
): Promise<CaptureReport> {
  const log = opts.log ?? (() => {});
  if (opts.vppDir) Deno.env.set("MAGLEV_TEST_VPP", opts.vppDir);
  const noVpp = new Error(
    "no VPP: pass --vpp DIR or set MAGLEV_TEST_VPP (a directory with bin/vpp, bin/vppctl, lib/libvppapiclient.so, lib/vpp_plugins/)",
  );
  // Checked before the import: without a VPP, importing realvpp.ts prints
  // a hint about ignored tests, which means nothing here.
  if (!Deno.env.get("MAGLEV_TEST_VPP") && !isFile("/usr/bin/vpp")) throw noVpp;
  // Imported here, not at the top: it reads MAGLEV_TEST_VPP when loaded.
  const { RealVpp, findVpp } = await import("../tests/helpers/realvpp.ts");
  const install = findVpp();
  if (!install) throw noVpp;
  const golden = new Golden(opts.goldenDir ?? GOLDEN_DIR);
  const tallies = new Map<string, Tally>(
    golden.ids().map((id) => [id, new Tally()]),
  );
  const vpp = await RealVpp.start(install);
  let stopped: Promise<void> | undefined;
  const stop = () => stopped ??= vpp.stop();
  const stopOnAbort = () => void stop();
  opts.signal?.addEventListener("abort", stopOnAbort);
  let t: VacTransport | undefined;
  let connected = false;
  try {
    const pid = vpp.pid;
    const vppVersion = (await vpp.ctl("show", "version")).trim();
    log(`VPP: ${vppVersion} (prefix ${vpp.prefix})`);
    t = vacTransport(openVppLibrary(install.lib));
    const rv = await t.connect("maglev-golden", vpp.prefix, 1024);
    if (rv !== 0) throw new Error(`vac_connect returned ${rv}`);
    connected = true;
    const transport = t;
    const read: Read = async () => {
      opts.signal?.throwIfAborted();
      const r = await transport.read(5);
      opts.signal?.throwIfAborted();
      return r.rv === 0 ? r.data : undefined;
    };
    const ids = resolveIds(transport);
    compareIds(golden, transport, tallies);
    let silentAt: string | undefined;
    for (const step of SCRIPT) {
      log(`· ${step.what}`);
      if (
        !await runStep(step, golden, transport, read, ids, tallies, opts.write)
      ) {
        // A VPP that stopped answering would cost every later step its
        // full read timeout, and their situations are gone anyway.
        silentAt = step.what;
        break;
      }
    }
    const results = summarise(golden, tallies, silentAt);
    const written = opts.write ? await writeBack(golden) : [];
    return {
      results,
      vppVersion,
      vpp: { prefix: vpp.prefix, dir: vpp.dir, pid },
      written,
    };
  } finally {
    opts.signal?.removeEventListener("abort", stopOnAbort);
    // Disconnect first: a client still attached when VPP exits leaves its
    // /dev/shm segments behind.
    if (connected && t && !opts.signal?.aborted) await t.disconnect();
    await stop();
  }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** name → id in this VPP, name_crc ← id, for every message of the table. */
function resolveIds(t: VacTransport) {
  const byName = new Map<MessageName, number>();
  const byId = new Map<number, MessageName>();
  for (const name of Object.keys(MESSAGES) as MessageName[]) {
    const id = t.msgIndex(nameCrc(name));
    if (id < 0) continue;
    byName.set(name, id);
    byId.set(id, name);
  }
  return { byName, byId };
}

/** _msg_ids_this_build.json: the ids are a fact of the build, not of a message. */
function compareIds(
  golden: Golden,
  t: VacTransport,
  tallies: Map<string, Tally>,
): void {
  const id = "_msg_ids_this_build.json";
  if (!golden.files.has(id)) return;
  const stored = asObject(golden.get(id).doc.ids, id);
  const other: string[] = [];
  for (const [key, want] of Object.entries(stored)) {
    const got = t.msgIndex(key);
    if (got !== want) other.push(`${key} is ${got} here, ${want} stored`);
  }
  const tally = tallies.get(id)!;
  if (other.length === 0) tally.compared++;
  else {
    // Ids legitimately change with the build and the plugin set.
    tally.notCaptured =
      `this VPP numbers messages differently (ids vary per build, not compared): ${
        other.join("; ")
      }`;
  }
}

function requestBytes(
  src: RequestSource,
  golden: Golden,
  ids: ReturnType<typeof resolveIds>,
  context: number | undefined,
): { name: MessageName; bytes: Uint8Array<ArrayBuffer> } {
  const s = golden.get(src.from);
  const isFile = typeof s.doc.hex === "string";
  const stored = hexOf(
    s.doc,
    src.key ?? (isFile ? "hex" : "request_hex"),
    s.id,
  );
  let name = (isFile ? s.doc.message : s.doc.request_message) as
    | MessageName
    | undefined;
  if (name === undefined) {
    // quirks.json[0] names no message: its id is the captured build's.
    const build = asObject(
      golden.get("_msg_ids_this_build.json").doc.ids,
      "ids",
    );
    const wire = (stored[0] << 8) | stored[1];
    const key = Object.entries(build).find(([, v]) => v === wire)?.[0];
    name = key?.replace(/_[0-9a-f]{8}$/, "") as MessageName;
  }
  if (!(name in MESSAGES)) {
    throw new Error(`${src.from}: unknown request message ${name}`);
  }
  const id = ids.byName.get(name);
  if (id === undefined) throw new Error(`this VPP does not know ${name}`);
  let bytes: Uint8Array<ArrayBuffer> = stored.slice();
  if (src.change) {
    const d = decode(name, stored) as WireRecord;
    bytes = encode(
      name,
      { ...d, ...src.change } as MessageInput<MessageName>,
      { id, context: d.context as number },
    );
  }
  const view = new DataView(bytes.buffer);
  view.setUint16(0, id);
  if (context !== undefined) view.setUint32(6, context);
  for (const [at, b] of src.patch ?? []) bytes.set(b, at);
  return { name, bytes };
}

/**
 * The context the step's request is sent with: the stored reply's
 * (`context_sent`, else the context bytes of its stored reply).
 */
function stepContext(step: Step, golden: Golden): number | undefined {
  for (const e of step.expect) {
    if (!("vector" in e) || "retvalKey" in e || "fieldsKey" in e) continue;
    const s = golden.get(e.vector);
    const bytes = storedBytes(s, e.key ?? "hex");
    if (bytes) return contextOf(s, bytes, false);
  }
  return undefined;
}

/** The stored bytes under a (possibly dotted) key. */
function storedBytes(s: Stored, key: string): Uint8Array | undefined {
  let v: Json | undefined = s.doc;
  for (const k of key.split(".")) {
    v = v !== null && typeof v === "object" && !Array.isArray(v)
      ? v[k]
      : undefined;
  }
  return typeof v === "string" ? fromHex(v) : undefined;
}

function setStored(s: Stored, key: string, value: Json): void {
  const path = key.split(".");
  let o: JsonObject = s.doc;
  for (const k of path.slice(0, -1)) o = asObject(o[k], `${s.id}: ${k}`);
  o[path[path.length - 1]] = value;
}

async function runStep(
  step: Step,
  golden: Golden,
  t: VacTransport,
  read: Read,
  ids: ReturnType<typeof resolveIds>,
  tallies: Map<string, Tally>,
  write = false,
): Promise<boolean> {
  const context = stepContext(step, golden);
  const { name, bytes } = requestBytes(step.request, golden, ids, context);
  const ctx = new DataView(bytes.buffer).getUint32(6);
  const def = MESSAGES[name] as { reply?: MessageName; details?: MessageName };
  const fail = (why: string, expects: readonly Expect[]) => {
    for (const e of expects) {
      if (!("vector" in e)) throw new Error(`${step.what}: ${why}`);
      const tally = tallies.get(e.vector)!;
      tally.compared++;
      tally.differs.push(why);
    }
  };
  if (t.write(bytes) !== 0) throw new Error(`${step.what}: vac_write failed`);
  const pingId = ids.byName.get("control_ping")!;
  if (step.dump) {
    const ping = new Uint8Array(10);
    const v = new DataView(ping.buffer);
    v.setUint16(0, pingId);
    v.setUint32(6, ctx);
    if (t.write(ping) !== 0) throw new Error(`${step.what}: vac_write failed`);
  }
  const expectName = step.dump ? def.details! : def.reply!;
  const details: Uint8Array[] = [];
  let end: Uint8Array | undefined;
  for (;;) {
    const m = await read();
    if (m === undefined) {
      fail(
        `no reply within 5 s to ${step.what}`,
        [...step.expect, ...(step.dump?.end ? [step.dump.end] : [])],
      );
      return false;
    }
    if (new DataView(m.buffer, m.byteOffset).getUint32(2) !== ctx) continue;
    const got = ids.byId.get((m[0] << 8) | m[1]);
    if (step.dump && got === "control_ping_reply") {
      end = m;
      break;
    }
    if (got !== expectName) {
      fail(`VPP answered ${got ?? `id ${(m[0] << 8) | m[1]}`}`, step.expect);
      return true;
    }
    details.push(m);
    if (!step.dump) break;
  }

  const check = (e: Expect, got: Uint8Array, mname: MessageName) => {
    if (!("vector" in e)) {
      const r = decode(mname, got) as WireRecord;
      if (r.retval !== e.retval) {
        throw new Error(
          `${step.what}: retval ${r.retval}, the script needs ${e.retval}`,
        );
      }
      return;
    }
    const s = golden.get(e.vector);
    const tally = tallies.get(e.vector)!;
    tally.compared++;
    const d = decode(mname, got) as WireRecord;
    if ("retvalKey" in e) {
      if (d.retval !== s.doc[e.retvalKey]) {
        tally.differs.push(`${e.retvalKey} (${d.retval})`);
        if (write) {
          s.doc[e.retvalKey] = d.retval as number;
          tally.written.add(e.retvalKey);
        }
      }
      return;
    }
    if ("fieldsKey" in e) {
      const stored = asObject(s.doc[e.fieldsKey], `${s.id}.${e.fieldsKey}`);
      const now = fieldsLike(mname, d, stored);
      let changed = false;
      for (const k of Object.keys(stored)) {
        if (JSON.stringify(now[k]) === JSON.stringify(stored[k])) continue;
        if (varies(mname, k, stored[k])) {
          tally.ignored.add(k);
          continue;
        }
        tally.differs.push(`${e.fieldsKey}.${k}`);
        changed = true;
      }
      if (changed && write) {
        for (const k of Object.keys(stored)) {
          if (tally.ignored.has(k)) now[k] = stored[k];
        }
        s.doc[e.fieldsKey] = now;
        tally.written.add(e.fieldsKey);
        tally.decoded = true;
      }
      return;
    }
    const key = e.key ?? "hex";
    const stored = storedBytes(s, key);
    if (!stored) throw new Error(`${s.id}: no "${key}"`);
    // The id itself was checked when the message was read: it is this
    // VPP's id of the expected message.
    const { bytes: norm, ignored } = withStoredVarying(mname, got, stored);
    ignored.forEach((f) => tally.ignored.add(f));
    const diff = differingFields(mname, norm, stored);
    if (diff.length === 0) return;
    tally.differs.push(...diff);
    if (!write) return;
    setStored(s, key, toHex(norm));
    tally.written.add(key);
    if (key !== "hex") {
      if (typeof s.doc.retval === "number") {
        s.doc.retval = d.retval as number;
        tally.written.add("retval");
      }
      return;
    }
    if (typeof s.doc.hex_msgid_zeroed === "string") {
      const z = norm.slice();
      z[0] = z[1] = 0;
      s.doc.hex_msgid_zeroed = toHex(z);
      tally.written.add("hex_msgid_zeroed");
    }
    if (typeof s.doc.length === "number") s.doc.length = norm.length;
    const f = s.doc.fields;
    if (f !== null && typeof f === "object" && !Array.isArray(f)) {
      const now = fieldsLike(mname, decode(mname, norm) as WireRecord, f);
      s.doc.fields = now;
      tally.written.add("fields");
      tally.decoded = true;
    }
  };

  if (!step.dump) {
    check(step.expect[0], details[0], expectName);
    return true;
  }
  const keyOf = DETAILS_KEY[expectName]!;
  const byKey = new Map(
    details.map((m) => [keyOf(decode(expectName, m) as WireRecord), m]),
  );
  const wanted = new Set<string>();
  for (const e of step.expect) {
    const s = "vector" in e ? golden.get(e.vector) : undefined;
    const key = s && ("key" in e ? e.key ?? "hex" : "hex");
    let want: string | undefined;
    if (s && "fieldsKey" in e) {
      const f = asObject(s.doc[e.fieldsKey], s.id);
      want = keyOf(
        {
          "vip.pfx": f["vip.pfx"] as string,
          "vip.protocol": f["vip.protocol"] as number,
          "vip.port": f["vip.port"] as number,
          app_srv: f.app_srv as string,
        },
      );
    } else if (s && key) {
      const b = storedBytes(s, key)!;
      want = keyOf(decode(expectName, b) as WireRecord);
    }
    if (want === undefined) continue;
    wanted.add(want);
    const got = byKey.get(want);
    if (got) check(e, got, expectName);
    else if ("vector" in e) {
      tallies.get(e.vector)!.compared++;
      tallies.get(e.vector)!.differs.push(
        `missing: VPP sent no ${expectName} for ${want} (${step.what})`,
      );
    }
  }
  if (step.dump.exhaustive) {
    const extra = [...byKey.keys()].filter((k) => !wanted.has(k));
    if (extra.length > 0) {
      fail(
        `VPP also sent ${expectName} for ${extra.join(", ")} (${step.what})`,
        step.expect,
      );
    }
  }
  if (step.dump.count) {
    const s = golden.get(step.dump.count.vector);
    const tally = tallies.get(s.id)!;
    tally.compared++;
    if (s.doc[step.dump.count.key] !== details.length) {
      tally.differs.push(`${step.dump.count.key} (${details.length})`);
      if (write) {
        s.doc[step.dump.count.key] = details.length;
        tally.written.add(step.dump.count.key);
      }
    }
  }
  if (step.dump.end && end) check(step.dump.end, end, "control_ping_reply");
  return true;
}

function notCapturedWhy(
  golden: Golden,
  id: string,
  silentAt: string | undefined,
): string {
  const s = golden.get(id);
  if ("placeholders" in s.doc) {
    return "a request: replayed to VPP as stored; VPP's answers are checked in the reply vectors";
  }
  for (const [re, why] of NOT_CAPTURED) if (re.test(id)) return why;
  return silentAt === undefined
    ? "not in the capture script"
    : `not reached: VPP stopped answering at "${silentAt}"`;
}

function summarise(
  golden: Golden,
  tallies: Map<string, Tally>,
  silentAt: string | undefined,
): VectorResult[] {
  return [...tallies].map(([vector, t]): VectorResult => {
    const written = [...t.written];
    const w = written.length > 0 ? { written, decoded: t.decoded } : {};
    if (t.notCaptured) {
      return { vector, status: "not captured", detail: [t.notCaptured] };
    }
    if (t.compared === 0) {
      return {
        vector,
        status: "not captured",
        detail: [notCapturedWhy(golden, vector, silentAt)],
      };
    }
    if (t.differs.length > 0) {
      return {
        vector,
        status: "differs",
        detail: [...new Set(t.differs)],
        ...w,
      };
    }
    return { vector, status: "same", detail: [...t.ignored] };
  });
}

async function writeBack(golden: Golden): Promise<string[]> {
  const out: string[] = [];
  for (const [file, v] of golden.files) {
    const path = new URL(file, golden.dir);
    const before = await Deno.readTextFile(path);
    const text = JSON.stringify(v, null, 2) + "\n";
    if (JSON.stringify(JSON.parse(before)) === JSON.stringify(v)) continue;
    await Deno.writeTextFile(path, text);
    out.push(path.pathname);
  }
  if (out.length > 0) {
    // The files are kept in deno fmt's layout.
    await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--quiet", ...out],
      stdout: "null",
      stderr: "inherit",
    }).output();
  }
  return out;
}

/** One line of the report: `<vector>: same`, `differs: …` or `not captured (…)`. */
export function formatResult(r: VectorResult): string {
  switch (r.status) {
    case "same":
      return `${r.vector}: same${
        r.detail.length > 0
          ? ` (apart from fields that vary between runs: ${
            r.detail.join(", ")
          })`
          : ""
      }`;
    case "differs":
      return `${r.vector}: differs: ${r.detail.join(", ")}${
        r.written
          ? ` → rewrote ${r.written.join(", ")}${
            r.decoded
              ? " (VPP's bytes; fields decoded with maglev's codec, src/vpp/codec.ts)"
              : ""
          }`
          : ""
      }`;
    case "not captured":
      return `${r.vector}: not captured (${r.detail.join("; ")})`;
  }
}
