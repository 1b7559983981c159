/**
 * Pure IP address helpers. The config stores addresses in one canonical text
 * form (dotted IPv4, RFC 5952 IPv6) so equal addresses compare equal as
 * strings everywhere: in VPP diffs, metrics labels and duplicate checks.
 */

/** A parsed host address. */
export interface ParsedAddress {
  /** Canonical text: dotted quad, or RFC 5952 (lowercase, compressed). */
  readonly address: string;
  readonly family: 4 | 6;
  /** Network byte order; 4 or 16 bytes. */
  readonly bytes: Uint8Array;
}

/** A parsed prefix; a bare host address counts as /32 or /128. */
export interface ParsedPrefix {
  /** Canonical address as written (host bits kept). */
  readonly address: string;
  readonly prefixLength: number;
  readonly family: 4 | 6;
  /** `address/prefixLength`, canonical. */
  readonly prefix: string;
  /** True when bits past the prefix length are set (`192.0.2.1/24`). */
  readonly hostBitsSet: boolean;
  /** Canonical address with the host bits cleared (`192.0.2.0` for `192.0.2.1/24`). */
  readonly network: string;
}

/**
 * Parses an IPv4 or IPv6 address into canonical form.
 *
 * Rejects zone ids (`fe80::1%eth0`), brackets, prefix lengths, octets with
 * leading zeros (`01.2.3.4` is octal to some tools, decimal to others) and
 * octets above 255. IPv4-mapped IPv6 (`::ffff:192.0.2.1`) is IPv6.
 *
 * @example
 * ```ts
 * parseAddress("2001:DB8:0:0::1").address; // "2001:db8::1"
 * ```
 * @throws {RangeError} with a message saying what is wrong.
 */
export function parseAddress(text: string): ParsedAddress {
  const hit = addressCache.get(text);
  if (hit !== undefined) return hit;
  const parsed = parseAddressUncached(text);
  remember(addressCache, text, parsed);
  return parsed;
}

function parseAddressUncached(text: string): ParsedAddress {
  if (typeof text !== "string" || text === "") {
    throw new RangeError(
      "empty address: write an IPv4 or IPv6 address, e.g. 192.0.2.1",
    );
  }
  if (text.includes("/")) {
    throw new RangeError(
      `"${text}" has a prefix length: write a single address without "/len"`,
    );
  }
  if (!text.includes(":") && /[a-zA-Z]/.test(text)) {
    throw new RangeError(
      `"${text}" is not an IP address: host names are not accepted here`,
    );
  }
  const bytes = text.includes(":")
    ? parseIPv6Bytes(text)
    : parseIPv4Bytes(text);
  return {
    address: formatBytes(bytes),
    family: bytes.length === 4 ? 4 : 6,
    bytes,
  };
}

/**
 * Parses `addr/len`, or a bare address as a host prefix.
 *
 * @example
 * ```ts
 * parsePrefix("192.0.2.1").prefix; // "192.0.2.1/32"
 * parsePrefix("192.0.2.1/28").hostBitsSet; // true
 * ```
 * @throws {RangeError} for a bad address or prefix length.
 */
export function parsePrefix(text: string): ParsedPrefix {
  const hit = prefixCache.get(text);
  if (hit !== undefined) return hit;
  const parsed = parsePrefixUncached(text);
  remember(prefixCache, text, parsed);
  return parsed;
}

function parsePrefixUncached(text: string): ParsedPrefix {
  if (typeof text !== "string") {
    throw new RangeError("a prefix must be a string");
  }
  const slash = text.indexOf("/");
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const parsed = parseAddress(addrText);
  const maxLength = parsed.family === 4 ? 32 : 128;
  let prefixLength = maxLength;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText) || Number(lenText) > maxLength) {
      throw new RangeError(
        `invalid prefix length "${lenText}" in "${text}": use 0..${maxLength} for IPv${parsed.family}`,
      );
    }
    prefixLength = Number(lenText);
  }
  const network = maskBytes(parsed.bytes, prefixLength);
  const hostBitsSet = network.some((b, i) => b !== parsed.bytes[i]);
  return {
    address: parsed.address,
    prefixLength,
    family: parsed.family,
    prefix: `${parsed.address}/${prefixLength}`,
    hostBitsSet,
    network: formatBytes(network),
  };
}

/**
 * Orders addresses numerically, every IPv4 before every IPv6. The dataplane
 * adds VPP application servers in this order so two daemons with one config
 * build identical Maglev tables.
 *
 * @example
 * ```ts
 * ["10.0.0.10", "::1", "10.0.0.9"].sort(compareAddresses); // ["10.0.0.9", "10.0.0.10", "::1"]
 * ```
 * @throws {RangeError} if either argument is not an address.
 */
export function compareAddresses(a: string, b: string): number {
  const x = addressBytes(a);
  const y = addressBytes(b);
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}

/**
 * Parsed addresses and prefixes, remembered (valid ones only; the results
 * are shared, so nobody may modify their bytes): a dataplane sync encodes
 * and sorts the same few addresses of 1,000 VIPs that share backends tens
 * of thousands of times, and parsing was a tenth of its CPU.
 */
const addressCache = new Map<string, ParsedAddress>();
const prefixCache = new Map<string, ParsedPrefix>();
const CACHE_MAX = 65_536;

function remember<T>(cache: Map<string, T>, key: string, value: T): void {
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(key, value);
}

function addressBytes(text: string): Uint8Array {
  return parseAddress(text).bytes;
}

/** True when `text` is a valid IPv4 address (no prefix length). */
export function isIPv4(text: string): boolean {
  return familyOf(text) === 4;
}

/** True when `text` is a valid IPv6 address (no prefix length, no zone). */
export function isIPv6(text: string): boolean {
  return familyOf(text) === 6;
}

function familyOf(text: string): 4 | 6 | undefined {
  try {
    return parseAddress(text).family;
  } catch {
    return undefined;
  }
}

function parseIPv4Bytes(text: string, within?: string): Uint8Array {
  const where = within === undefined ? `"${text}"` : `"${text}" in "${within}"`;
  const parts = text.split(".");
  if (parts.length !== 4) {
    throw new RangeError(
      `invalid IPv4 address ${where}: expected four numbers like 192.0.2.1`,
    );
  }
  const bytes = new Uint8Array(4);
  parts.forEach((part, i) => {
    if (!/^[0-9]{1,3}$/.test(part)) {
      throw new RangeError(
        `invalid IPv4 address ${where}: "${part}" is not a number 0..255`,
      );
    }
    if (part.length > 1 && part.startsWith("0")) {
      throw new RangeError(
        `invalid IPv4 address ${where}: "${part}" has a leading zero (octal or decimal?); drop the zero`,
      );
    }
    const value = Number(part);
    if (value > 255) {
      throw new RangeError(
        `invalid IPv4 address ${where}: ${value} is above 255`,
      );
    }
    bytes[i] = value;
  });
  return bytes;
}

function parseIPv6Bytes(text: string): Uint8Array {
  if (text.includes("%")) {
    throw new RangeError(`"${text}" has a zone id: remove the "%..." part`);
  }
  if (text.startsWith("[") || text.endsWith("]")) {
    throw new RangeError(
      `"${text}" has brackets: write the address without [ ]`,
    );
  }
  if (/^[0-9.]+:[0-9]+$/.test(text)) {
    throw new RangeError(
      `"${text}" looks like address:port: write only the address here`,
    );
  }
  const bad = (why: string) =>
    new RangeError(`invalid IPv6 address "${text}": ${why}`);
  if (!/^[0-9a-fA-F:.]+$/.test(text)) {
    throw bad("only hex digits, ':' and '.' are allowed");
  }
  const halves = text.split("::");
  if (halves.length > 2) throw bad('"::" may appear only once');
  const groups = (half: string) => (half === "" ? [] : half.split(":"));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const compressed = halves.length === 2;

  const toWords = (list: string[], holdsLast: boolean): number[] => {
    const out: number[] = [];
    list.forEach((group, i) => {
      if (group.includes(".")) {
        if (!holdsLast || i !== list.length - 1) {
          throw bad("an embedded IPv4 address must come last");
        }
        const v4 = parseIPv4Bytes(group, text);
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
        return;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(group)) {
        throw bad(
          group === ""
            ? "empty group (a stray ':')"
            : `group "${group}" is not 1-4 hex digits`,
        );
      }
      out.push(parseInt(group, 16));
    });
    return out;
  };
  const headWords = toWords(head, !compressed);
  const tailWords = toWords(tail, true);
  const count = headWords.length + tailWords.length;
  if (compressed ? count > 7 : count !== 8) {
    throw bad(
      compressed ? "too many groups" : 'expected 8 groups, or "::" for zeros',
    );
  }
  const words = [
    ...headWords,
    ...new Array<number>(8 - count).fill(0),
    ...tailWords,
  ];

  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  return bytes;
}

function maskBytes(bytes: Uint8Array, prefixLength: number): Uint8Array {
  return bytes.map((b, i) => {
    const bits = Math.min(8, Math.max(0, prefixLength - 8 * i));
    return b & ((0xff00 >> bits) & 0xff);
  });
}

function formatBytes(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i] << 8) | bytes[i + 1]);

  // RFC 5952 §5: IPv4-mapped addresses keep the dotted tail.
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${bytes.slice(12).join(".")}`;
  }
  // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(":");
  const left = hex.slice(0, bestStart).join(":");
  const right = hex.slice(bestStart + bestLength).join(":");
  return `${left}::${right}`;
}
