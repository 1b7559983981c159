/**
 * One generic codec for every message in the table (messages.ts): values ↔
 * bytes, driven only by each field's offset and wire type. Addresses are
 * canonical text ("192.0.2.1", "2001:db8::1"), prefixes "addr/len"; the text
 * ↔ bytes work is done by src/config/address.ts, the one IP parser.
 */

import { parseAddress, parsePrefix } from "../config/address.ts";
import {
  type FieldDef,
  fieldSize,
  type MessageInput,
  type MessageName,
  MESSAGES,
  type MessageValues,
  type WireRecord,
  type WireValue,
} from "./messages.ts";

/** Bytes that do not fit a message's layout, or values that cannot be encoded. */
export class CodecError extends Error {
  override name = "CodecError";
}

/** What the codec puts into the header of any message it encodes. */
export interface HeaderValues {
  /** The message id resolved for this connection (`vac_get_msg_index`). */
  readonly id: number;
  /** Echoed by VPP in every reply and details message of this request. */
  readonly context: number;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * Encodes a message of the table. Every non-header field must be given; the
 * result is always the full fixed size plus the variable tail, because VPP
 * does not check request lengths (a short request reads stale bytes).
 * `client_index` is always 0: vac_write() stamps the real one.
 *
 * @example
 * ```ts
 * encode("control_ping", {}, { id: 23, context: 7 }); // 10 bytes
 * ```
 * @throws {CodecError} naming the message and field for a missing or
 * out-of-range value.
 */
export function encode<N extends MessageName>(
  name: N,
  values: MessageInput<N>,
  header: HeaderValues,
): Uint8Array<ArrayBuffer> {
  const def = MESSAGES[name];
  const record = values as unknown as WireRecord;
  const out = new Uint8Array(def.size + tailLength(name, def.fields, record));
  const headerRecord: WireRecord = {
    _vl_msg_id: header.id,
    client_index: 0,
    context: header.context,
  };
  writeFields(name, def.fields, out, 0, def.size, record, headerRecord);
  return out;
}

/**
 * Decodes a message of the table. The length must be exactly the fixed size
 * plus the variable tail the message announces: a short (or over-long)
 * message is an error naming it, never a half-read record.
 *
 * @throws {CodecError} on a length mismatch or an unknown address family.
 */
export function decode<N extends MessageName>(
  name: N,
  bytes: Uint8Array,
): MessageValues<N> {
  const def = MESSAGES[name];
  if (bytes.length < def.size) {
    throw new CodecError(
      `${name}: message too short: ${bytes.length} bytes, the fixed part alone is ${def.size}`,
    );
  }
  const { record, end } = readFields(
    name,
    def.fields,
    bytes,
    0,
    def.size,
  );
  if (end !== bytes.length) {
    throw new CodecError(
      `${name}: length mismatch: ${bytes.length} bytes received, layout says ${end}`,
    );
  }
  return record as unknown as MessageValues<N>;
}

/** Reads the message id (u16 BE at offset 0) of any message; undefined if shorter than a header. */
export function peekId(bytes: Uint8Array): number | undefined {
  return bytes.length < 6 ? undefined : (bytes[0] << 8) | bytes[1];
}

/** Reads the context (u32 at offset 2) of a reply or details message; undefined if too short. */
export function peekContext(bytes: Uint8Array): number | undefined {
  if (bytes.length < 6) return undefined;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .getUint32(2);
}

// ---------------------------------------------------------------------------

function tailLength(
  msg: string,
  fields: readonly FieldDef[],
  values: WireRecord,
): number {
  let extra = 0;
  for (const f of fields) {
    if (f.type === "vstring") {
      extra += utf8.encode(expectString(msg, f, values[f.name])).length;
    } else if (f.type === "array") {
      const items = expectArray(msg, f, values[f.name]);
      extra += items.length * (f.element?.size ?? 0);
      for (const item of items) {
        extra += tailLength(msg, f.element?.fields ?? [], item);
      }
    }
  }
  return extra;
}

/**
 * Writes `fields` at `base`; variable tails go at `base + fixedSize`.
 * Returns the end offset.
 */
function writeFields(
  msg: string,
  fields: readonly FieldDef[],
  out: Uint8Array,
  base: number,
  fixedSize: number,
  values: WireRecord,
  header: WireRecord,
): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let tail = base + fixedSize;
  for (const f of fields) {
    const value = f.header ? header[f.name] : values[f.name];
    if (value === undefined) {
      throw new CodecError(`${msg}: field "${f.name}" is missing`);
    }
    const at = base + f.offset;
    switch (f.type) {
      case "vstring": {
        const text = utf8.encode(expectString(msg, f, value));
        view.setUint32(at, text.length);
        out.set(text, tail);
        tail += text.length;
        break;
      }
      case "array": {
        const element = f.element!;
        const items = expectArray(msg, f, value);
        const count = values[f.count!];
        if (count !== items.length) {
          throw new CodecError(
            `${msg}: "${f.count}" is ${
              String(count)
            } but "${f.name}" has ${items.length} elements`,
          );
        }
        for (const item of items) {
          tail = writeFields(
            msg,
            element.fields,
            out,
            tail,
            element.size,
            item,
            {},
          );
        }
        break;
      }
      default:
        writeScalar(msg, f, view, out, at, value);
    }
  }
  return tail;
}

const INT_RANGES: Partial<Record<FieldDef["type"], [number, number]>> = {
  u8: [0, 0xff],
  enum8: [0, 0xff],
  u16: [0, 0xffff],
  u32: [0, 0xffffffff],
  u32host: [0, 0xffffffff],
  enum32: [0, 0xffffffff],
  i32: [-0x80000000, 0x7fffffff],
};

function writeScalar(
  msg: string,
  f: FieldDef,
  view: DataView,
  out: Uint8Array,
  at: number,
  value: WireValue,
): void {
  const range = INT_RANGES[f.type];
  if (range !== undefined) {
    if (
      typeof value !== "number" || !Number.isInteger(value) ||
      value < range[0] || value > range[1]
    ) {
      throw new CodecError(
        `${msg}: field "${f.name}" (${f.type}) must be an integer ${
          range[0]
        }..${range[1]}, got ${describe(value)}`,
      );
    }
  }
  switch (f.type) {
    case "u8":
    case "enum8":
      view.setUint8(at, value as number);
      return;
    case "u16":
      view.setUint16(at, value as number);
      return;
    case "u32":
    case "enum32":
      view.setUint32(at, value as number);
      return;
    case "u32host":
      view.setUint32(at, value as number, true);
      return;
    case "i32":
      view.setInt32(at, value as number);
      return;
    case "u64":
      if (typeof value !== "bigint" || value < 0n || value >= 1n << 64n) {
        throw new CodecError(
          `${msg}: field "${f.name}" (u64) must be a bigint 0..2^64-1, got ${
            describe(value)
          }`,
        );
      }
      view.setBigUint64(at, value);
      return;
    case "bool":
      if (typeof value !== "boolean") {
        throw new CodecError(
          `${msg}: field "${f.name}" (bool) must be true or false, got ${
            describe(value)
          }`,
        );
      }
      view.setUint8(at, value ? 1 : 0);
      return;
    case "ip4":
    case "ip6": {
      const want = f.type === "ip4" ? 4 : 6;
      const parsed = parseField(msg, f, value, parseAddress);
      if (parsed.family !== want) {
        throw new CodecError(
          `${msg}: field "${f.name}" needs an IPv${want} address, got "${parsed.address}"`,
        );
      }
      out.set(parsed.bytes, at);
      return;
    }
    case "address": {
      const parsed = parseField(msg, f, value, parseAddress);
      out[at] = parsed.family === 4 ? 0 : 1;
      out.set(parsed.bytes, at + 1);
      return;
    }
    case "prefix": {
      const parsed = parseField(msg, f, value, parsePrefix);
      const bytes = parseAddress(parsed.address).bytes;
      out[at] = parsed.family === 4 ? 0 : 1;
      out.set(bytes, at + 1);
      out[at + 17] = parsed.prefixLength;
      return;
    }
    case "string": {
      const text = utf8.encode(expectString(msg, f, value));
      const size = f.size ?? 0;
      if (text.length > size - 1) {
        throw new CodecError(
          `${msg}: field "${f.name}" holds at most ${
            size - 1
          } bytes, got ${text.length}`,
        );
      }
      out.set(text, at);
      return;
    }
    case "bytes": {
      if (!(value instanceof Uint8Array) || value.length !== f.size) {
        throw new CodecError(
          `${msg}: field "${f.name}" must be ${f.size} raw bytes, got ${
            describe(value)
          }`,
        );
      }
      out.set(value, at);
      return;
    }
  }
}

function parseField<T>(
  msg: string,
  f: FieldDef,
  value: WireValue,
  parse: (text: string) => T,
): T {
  const text = expectString(msg, f, value);
  try {
    return parse(text);
  } catch (e) {
    throw new CodecError(
      `${msg}: field "${f.name}": ${e instanceof Error ? e.message : e}`,
    );
  }
}

function expectString(msg: string, f: FieldDef, value: WireValue): string {
  if (typeof value !== "string") {
    throw new CodecError(
      `${msg}: field "${f.name}" (${f.type}) must be a string, got ${
        describe(value)
      }`,
    );
  }
  return value;
}

function expectArray(
  msg: string,
  f: FieldDef,
  value: WireValue | undefined,
): readonly WireRecord[] {
  if (!Array.isArray(value)) {
    throw new CodecError(
      `${msg}: field "${f.name}" must be an array of ${f.element?.name}`,
    );
  }
  return value;
}

function describe(value: WireValue | undefined): string {
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "an array";
  return String(value);
}

// ---------------------------------------------------------------------------

function readFields(
  msg: string,
  fields: readonly FieldDef[],
  bytes: Uint8Array,
  base: number,
  fixedSize: number,
): { record: WireRecord; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const record: Record<string, WireValue> = {};
  let tail = base + fixedSize;
  for (const f of fields) {
    const at = base + f.offset;
    switch (f.type) {
      case "vstring": {
        const length = view.getUint32(at);
        if (tail + length > bytes.length) {
          throw new CodecError(
            `${msg}: message too short: "${f.name}" announces ${length} bytes but only ${
              bytes.length - tail
            } follow`,
          );
        }
        record[f.name] = utf8Decoder.decode(
          bytes.subarray(tail, tail + length),
        );
        tail += length;
        break;
      }
      case "array": {
        const element = f.element!;
        const count = record[f.count!] as number;
        const need = tail + count * element.size;
        if (need > bytes.length) {
          throw new CodecError(
            `${msg}: message too short: "${f.count}" is ${count} (${
              count * element.size
            } bytes of ${element.name}) but only ${
              bytes.length - tail
            } bytes follow`,
          );
        }
        const items: WireRecord[] = [];
        for (let i = 0; i < count; i++) {
          const { record: item, end } = readFields(
            msg,
            element.fields,
            bytes,
            tail,
            element.size,
          );
          items.push(item);
          tail = end;
        }
        record[f.name] = items;
        break;
      }
      default:
        record[f.name] = readScalar(msg, f, view, bytes, at);
    }
  }
  return { record, end: tail };
}

function readScalar(
  msg: string,
  f: FieldDef,
  view: DataView,
  bytes: Uint8Array,
  at: number,
): WireValue {
  switch (f.type) {
    case "u8":
    case "enum8":
      return view.getUint8(at);
    case "u16":
      return view.getUint16(at);
    case "u32":
    case "enum32":
      return view.getUint32(at);
    case "u32host":
      return view.getUint32(at, true);
    case "i32":
      return view.getInt32(at);
    case "u64":
      return view.getBigUint64(at);
    case "bool":
      return view.getUint8(at) !== 0;
    case "ip4":
      return addressText(bytes.subarray(at, at + 4));
    case "ip6":
      return addressText(bytes.subarray(at, at + 16));
    case "address":
      return unionText(msg, f, bytes, at);
    case "prefix":
      return `${unionText(msg, f, bytes, at)}/${bytes[at + 17]}`;
    case "string": {
      const raw = bytes.subarray(at, at + fieldSize(f));
      const nul = raw.indexOf(0);
      return utf8Decoder.decode(nul < 0 ? raw : raw.subarray(0, nul));
    }
    case "bytes":
      return bytes.slice(at, at + fieldSize(f));
    case "vstring":
    case "array":
      throw new CodecError(`${msg}: "${f.name}" is not a scalar`);
  }
}

/** af (u8) + 16-byte union: IPv4 sits in union bytes 0..3. */
function unionText(
  msg: string,
  f: FieldDef,
  bytes: Uint8Array,
  at: number,
): string {
  const af = bytes[at];
  if (af === 0) return addressText(bytes.subarray(at + 1, at + 5));
  if (af === 1) return addressText(bytes.subarray(at + 1, at + 17));
  throw new CodecError(
    `${msg}: field "${f.name}" has unknown address family ${af} (0 = IPv4, 1 = IPv6)`,
  );
}

/** Raw 4 or 16 bytes → canonical text, through the config module's parser. */
function addressText(raw: Uint8Array): string {
  if (raw.length === 4) return parseAddress(raw.join(".")).address;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) {
    groups.push(((raw[i] << 8) | raw[i + 1]).toString(16));
  }
  return parseAddress(groups.join(":")).address;
}
