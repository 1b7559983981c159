/**
 * The binary-API messages maglev uses, as data: one entry per message with
 * its CRC, kind, fixed size and every field's offset and wire type. The
 * generic codec (codec.ts) reads and writes bytes from this table alone.
 *
 * Hand-transcribed from the layouts captured from a real VPP
 * (tests/vpp/layouts.json); messages_test.ts checks every name, CRC, size,
 * offset and type against that file, so a typo here fails a test rather than
 * a VPP.
 */

/**
 * How a field is laid out on the wire. Integers are big-endian except
 * `u32host` (the opaque client_index, stored in host order). `enum8` and
 * `enum32` are enums whose underlying type is u8 or u32. `ip4`/`ip6` are raw
 * 4/16 bytes; `address` is af(u8) + 16-byte union (IPv4 in bytes 0..3);
 * `prefix` is an address plus a u8 length. `string` is a NUL-padded fixed
 * array of `size` bytes; `vstring` a u32 byte count plus that many bytes
 * (last field only); `bytes` is `size` raw bytes; `array` is `count` elements
 * of `element` (last field only).
 */
export type WireType =
  | "u8"
  | "u16"
  | "u32"
  | "u32host"
  | "u64"
  | "i32"
  | "bool"
  | "enum8"
  | "enum32"
  | "ip4"
  | "ip6"
  | "address"
  | "prefix"
  | "string"
  | "vstring"
  | "bytes"
  | "array";

/** One field of a message or struct. */
export interface FieldDef {
  /** Dotted path as in the .api.json (`vip.pfx`, `route.stats_index`). */
  readonly name: string;
  /** Byte offset from the start of the message (or struct). */
  readonly offset: number;
  readonly type: WireType;
  /** Header fields (`_vl_msg_id`, `client_index`, `context`) come from the codec, not from values. */
  readonly header?: true;
  /** Byte length of `string` and `bytes` fields. */
  readonly size?: number;
  /** Name of the VPP enum type, for `enum8`/`enum32` (documentation and layout checks). */
  readonly enum?: string;
  /** `array` only: the earlier field holding the element count. */
  readonly count?: string;
  /** `array` only: the element layout. */
  readonly element?: StructDef;
}

/** A nested type used as an array element. */
export interface StructDef {
  readonly name: string;
  readonly size: number;
  readonly fields: readonly FieldDef[];
}

/** Request (client → VPP), reply (has a retval) or details (a dump's stream element, no retval). */
export type MessageKind = "request" | "reply" | "details";

/** One message of the table. */
export interface MessageDef {
  /** CRC as 8 lowercase hex digits without `0x`: the suffix of the name_crc key. */
  readonly crc: string;
  readonly kind: MessageKind;
  /** Fixed part in bytes, header included; variable tails come on top. */
  readonly size: number;
  readonly fields: readonly FieldDef[];
  /** Requests: the reply message. */
  readonly reply?: string;
  /** Dumps: the details message streamed back (end found with control_ping). */
  readonly details?: string;
}

const REQUEST_HEADER = [
  { name: "_vl_msg_id", offset: 0, type: "u16", header: true },
  { name: "client_index", offset: 2, type: "u32host", header: true },
  { name: "context", offset: 6, type: "u32", header: true },
] as const;

const REPLY_HEADER = [
  { name: "_vl_msg_id", offset: 0, type: "u16", header: true },
  { name: "context", offset: 2, type: "u32", header: true },
  { name: "retval", offset: 6, type: "i32" },
] as const;

const DETAILS_HEADER = [
  { name: "_vl_msg_id", offset: 0, type: "u16", header: true },
  { name: "context", offset: 2, type: "u32", header: true },
] as const;

/** `vl_api_fib_path_t`, the element of `ip_route_lookup_reply.route.paths`. */
export const FIB_PATH = {
  name: "fib_path",
  size: 167,
  fields: [
    { name: "sw_if_index", offset: 0, type: "u32" },
    { name: "table_id", offset: 4, type: "u32" },
    { name: "rpf_id", offset: 8, type: "u32" },
    { name: "weight", offset: 12, type: "u8" },
    { name: "preference", offset: 13, type: "u8" },
    { name: "type", offset: 14, type: "enum32", enum: "fib_path_type" },
    { name: "flags", offset: 18, type: "enum32", enum: "fib_path_flags" },
    { name: "proto", offset: 22, type: "enum32", enum: "fib_path_nh_proto" },
    { name: "nh.address", offset: 26, type: "bytes", size: 16 },
    { name: "nh.via_label", offset: 42, type: "u32" },
    { name: "nh.obj_id", offset: 46, type: "u32" },
    { name: "nh.classify_table_index", offset: 50, type: "u32" },
    { name: "n_labels", offset: 54, type: "u8" },
    { name: "label_stack", offset: 55, type: "bytes", size: 112 },
  ],
} as const satisfies StructDef;

/** The message table, keyed by message name. */
export const MESSAGES = {
  control_ping: {
    crc: "51077d14",
    kind: "request",
    size: 10,
    reply: "control_ping_reply",
    fields: [...REQUEST_HEADER],
  },
  control_ping_reply: {
    crc: "f6b0b8ca",
    kind: "reply",
    size: 18,
    fields: [
      ...REPLY_HEADER,
      { name: "client_index", offset: 10, type: "u32host" },
      { name: "vpe_pid", offset: 14, type: "u32" },
    ],
  },
  show_version: {
    crc: "51077d14",
    kind: "request",
    size: 10,
    reply: "show_version_reply",
    fields: [...REQUEST_HEADER],
  },
  show_version_reply: {
    crc: "c919bde1",
    kind: "reply",
    size: 362,
    fields: [
      ...REPLY_HEADER,
      { name: "program", offset: 10, type: "string", size: 32 },
      { name: "version", offset: 42, type: "string", size: 32 },
      { name: "build_date", offset: 74, type: "string", size: 32 },
      { name: "build_directory", offset: 106, type: "string", size: 256 },
    ],
  },
  cli_inband: {
    crc: "f8377302",
    kind: "request",
    size: 14,
    reply: "cli_inband_reply",
    fields: [...REQUEST_HEADER, { name: "cmd", offset: 10, type: "vstring" }],
  },
  cli_inband_reply: {
    crc: "05879051",
    kind: "reply",
    size: 14,
    fields: [...REPLY_HEADER, { name: "reply", offset: 10, type: "vstring" }],
  },
  lb_conf: {
    crc: "56cd3261",
    kind: "request",
    size: 38,
    reply: "lb_conf_reply",
    fields: [
      ...REQUEST_HEADER,
      { name: "ip4_src_address", offset: 10, type: "ip4" },
      { name: "ip6_src_address", offset: 14, type: "ip6" },
      { name: "sticky_buckets_per_core", offset: 30, type: "u32" },
      { name: "flow_timeout", offset: 34, type: "u32" },
    ],
  },
  lb_conf_reply: {
    crc: "e8d4e804",
    kind: "reply",
    size: 10,
    fields: [...REPLY_HEADER],
  },
  lb_conf_get: {
    crc: "51077d14",
    kind: "request",
    size: 10,
    reply: "lb_conf_get_reply",
    fields: [...REQUEST_HEADER],
  },
  lb_conf_get_reply: {
    crc: "923427ac",
    kind: "reply",
    size: 38,
    fields: [
      ...REPLY_HEADER,
      { name: "ip4_src_address", offset: 10, type: "ip4" },
      { name: "ip6_src_address", offset: 14, type: "ip6" },
      { name: "sticky_buckets_per_core", offset: 30, type: "u32" },
      { name: "flow_timeout", offset: 34, type: "u32" },
    ],
  },
  lb_add_del_vip_v2: {
    crc: "7c520e0f",
    kind: "request",
    size: 50,
    reply: "lb_add_del_vip_v2_reply",
    fields: [
      ...REQUEST_HEADER,
      { name: "pfx", offset: 10, type: "prefix" },
      { name: "protocol", offset: 28, type: "u8" },
      { name: "port", offset: 29, type: "u16" },
      { name: "encap", offset: 31, type: "enum32", enum: "lb_encap_type" },
      { name: "dscp", offset: 35, type: "u8" },
      { name: "type", offset: 36, type: "enum32", enum: "lb_srv_type" },
      { name: "target_port", offset: 40, type: "u16" },
      { name: "node_port", offset: 42, type: "u16" },
      { name: "new_flows_table_length", offset: 44, type: "u32" },
      { name: "src_ip_sticky", offset: 48, type: "bool" },
      { name: "is_del", offset: 49, type: "bool" },
    ],
  },
  lb_add_del_vip_v2_reply: {
    crc: "e8d4e804",
    kind: "reply",
    size: 10,
    fields: [...REPLY_HEADER],
  },
  lb_add_del_as_v2: {
    crc: "2f1d3b0e",
    kind: "request",
    size: 51,
    reply: "lb_add_del_as_v2_reply",
    fields: [
      ...REQUEST_HEADER,
      { name: "pfx", offset: 10, type: "prefix" },
      { name: "protocol", offset: 28, type: "u8" },
      { name: "port", offset: 29, type: "u16" },
      { name: "as_address", offset: 31, type: "address" },
      { name: "weight", offset: 48, type: "u8" },
      { name: "is_del", offset: 49, type: "bool" },
      { name: "is_flush", offset: 50, type: "bool" },
    ],
  },
  lb_add_del_as_v2_reply: {
    crc: "e8d4e804",
    kind: "reply",
    size: 10,
    fields: [...REPLY_HEADER],
  },
  lb_as_set_weight: {
    crc: "2d89bdbd",
    kind: "request",
    size: 50,
    reply: "lb_as_set_weight_reply",
    fields: [
      ...REQUEST_HEADER,
      { name: "pfx", offset: 10, type: "prefix" },
      { name: "protocol", offset: 28, type: "u8" },
      { name: "port", offset: 29, type: "u16" },
      { name: "as_address", offset: 31, type: "address" },
      { name: "weight", offset: 48, type: "u8" },
      { name: "is_flush", offset: 49, type: "bool" },
    ],
  },
  lb_as_set_weight_reply: {
    crc: "e8d4e804",
    kind: "reply",
    size: 10,
    fields: [...REPLY_HEADER],
  },
  lb_vip_dump: {
    crc: "56110cb7",
    kind: "request",
    size: 33,
    details: "lb_vip_details",
    fields: [
      ...REQUEST_HEADER,
      { name: "pfx", offset: 10, type: "prefix" },
      { name: "pfx_matcher.le", offset: 28, type: "u8" },
      { name: "pfx_matcher.ge", offset: 29, type: "u8" },
      { name: "protocol", offset: 30, type: "u8" },
      { name: "port", offset: 31, type: "u16" },
    ],
  },
  lb_vip_details: {
    crc: "1329ec9b",
    kind: "details",
    size: 40,
    fields: [
      ...DETAILS_HEADER,
      { name: "vip.pfx", offset: 6, type: "prefix" },
      { name: "vip.protocol", offset: 24, type: "enum8", enum: "ip_proto" },
      { name: "vip.port", offset: 25, type: "u16" },
      { name: "encap", offset: 27, type: "enum32", enum: "lb_encap_type" },
      { name: "dscp", offset: 31, type: "enum8", enum: "ip_dscp" },
      { name: "srv_type", offset: 32, type: "enum32", enum: "lb_srv_type" },
      { name: "target_port", offset: 36, type: "u16" },
      { name: "flow_table_length", offset: 38, type: "u16" },
    ],
  },
  lb_as_v2_dump: {
    crc: "1063f819",
    kind: "request",
    size: 31,
    details: "lb_as_v2_details",
    fields: [
      ...REQUEST_HEADER,
      { name: "pfx", offset: 10, type: "prefix" },
      { name: "protocol", offset: 28, type: "u8" },
      { name: "port", offset: 29, type: "u16" },
    ],
  },
  lb_as_v2_details: {
    crc: "90064aae",
    kind: "details",
    size: 54,
    fields: [
      ...DETAILS_HEADER,
      { name: "vip.pfx", offset: 6, type: "prefix" },
      { name: "vip.protocol", offset: 24, type: "enum8", enum: "ip_proto" },
      { name: "vip.port", offset: 25, type: "u16" },
      { name: "app_srv", offset: 27, type: "address" },
      { name: "flags", offset: 44, type: "u8" },
      { name: "in_use_since", offset: 45, type: "u32" },
      { name: "weight", offset: 49, type: "u8" },
      { name: "num_buckets", offset: 50, type: "u32" },
    ],
  },
  ip_route_lookup: {
    crc: "710d6471",
    kind: "request",
    size: 33,
    reply: "ip_route_lookup_reply",
    fields: [
      ...REQUEST_HEADER,
      { name: "table_id", offset: 10, type: "u32" },
      { name: "exact", offset: 14, type: "u8" },
      { name: "prefix", offset: 15, type: "prefix" },
    ],
  },
  ip_route_lookup_reply: {
    crc: "5d8febcb",
    kind: "reply",
    size: 37,
    fields: [
      ...REPLY_HEADER,
      { name: "route.table_id", offset: 10, type: "u32" },
      { name: "route.stats_index", offset: 14, type: "u32" },
      { name: "route.prefix", offset: 18, type: "prefix" },
      { name: "route.n_paths", offset: 36, type: "u8" },
      {
        name: "route.paths",
        offset: 37,
        type: "array",
        count: "route.n_paths",
        element: FIB_PATH,
      },
    ],
  },
} as const satisfies Record<string, MessageDef>;

/** Name of a message in the table. */
export type MessageName = keyof typeof MESSAGES;

/** Every message name, in table order (the order ids are resolved in). */
export const MESSAGE_NAMES: readonly MessageName[] = Object.keys(
  MESSAGES,
) as MessageName[];

/** The table entry of a message. */
export function messageDef(name: MessageName): MessageDef {
  return MESSAGES[name];
}

/** The key `vac_get_msg_index()` resolves: `<name>_<crc>`. */
export function nameCrc(name: MessageName): string {
  return `${name}_${MESSAGES[name].crc}`;
}

/** Size in bytes of one field of a fixed type (`array` and the tail of `vstring` add on top). */
export function fieldSize(f: FieldDef): number {
  switch (f.type) {
    case "u8":
    case "bool":
    case "enum8":
      return 1;
    case "u16":
      return 2;
    case "u32":
    case "u32host":
    case "i32":
    case "enum32":
    case "ip4":
    case "vstring":
      return 4;
    case "u64":
      return 8;
    case "ip6":
      return 16;
    case "address":
      return 17;
    case "prefix":
      return 18;
    case "string":
    case "bytes":
      return f.size ?? 0;
    case "array":
      return 0;
  }
}

// ---------------------------------------------------------------------------
// Value types derived from the table, so callers get typed records.

/** A decoded field value. */
export type WireValue =
  | number
  | bigint
  | boolean
  | string
  | Uint8Array
  | readonly WireRecord[];

/** Field name → value: what the codec reads and writes. */
export type WireRecord = { readonly [field: string]: WireValue };

type ValueOfType<T> = T extends "u64" ? bigint
  : T extends "bool" ? boolean
  : T extends "ip4" | "ip6" | "address" | "prefix" | "string" | "vstring"
    ? string
  : T extends "bytes" ? Uint8Array
  : T extends "array" ? readonly WireRecord[]
  : number;

type FieldsOf<N extends MessageName> = (typeof MESSAGES)[N]["fields"][number];

/** Every field of message `N` (header included), as `decode` returns it. */
export type MessageValues<N extends MessageName> = {
  readonly [F in FieldsOf<N> as F["name"]]: ValueOfType<F["type"]>;
};

/** The fields `encode` needs for message `N`: all but the header. */
export type MessageInput<N extends MessageName> = {
  readonly [
    F in FieldsOf<N> as F extends { readonly header: true } ? never
      : F["name"]
  ]: ValueOfType<F["type"]>;
};

/** Messages that get exactly one reply. */
export type RequestName = {
  [K in MessageName]: (typeof MESSAGES)[K] extends { readonly reply: string }
    ? K
    : never;
}[MessageName];

/** Dump messages (answered by a details stream). */
export type DumpName = {
  [K in MessageName]: (typeof MESSAGES)[K] extends { readonly details: string }
    ? K
    : never;
}[MessageName];

/** The reply message of request `N`. */
export type ReplyOf<N extends RequestName> = (typeof MESSAGES)[N]["reply"];

/** The details message of dump `N`. */
export type DetailsOf<N extends DumpName> = (typeof MESSAGES)[N]["details"];
