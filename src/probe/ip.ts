/**
 * Textual IP addresses to bytes, for the ICMP prober's sockaddrs and reply
 * matching. Strict: anything that is not a plain literal gives undefined.
 */

/** `a.b.c.d` → 4 bytes, or undefined if it is not a dotted-quad literal. */
export function parseIPv4(s: string): Uint8Array | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (p.length === 0 || p.length > 3 || !/^[0-9]+$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

/**
 * IPv6 literal (with `::` compression and an optional trailing dotted quad,
 * no zone, no brackets) → 16 bytes, or undefined.
 */
export function parseIPv6(s: string): Uint8Array | undefined {
  if (s.length < 2 || s.includes("%")) return undefined;
  const dbl = s.indexOf("::");
  if (dbl !== -1 && s.indexOf("::", dbl + 1) !== -1) return undefined;
  const head = dbl === -1 ? s : s.slice(0, dbl);
  const tail = dbl === -1 ? "" : s.slice(dbl + 2);
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === "" ? [] : tail.split(":");
  const words: number[] = [];
  const tailWords: number[] = [];
  const all = [...headGroups, ...tailGroups];
  for (let i = 0; i < all.length; i++) {
    const g = all[i];
    const target = i < headGroups.length ? words : tailWords;
    if (i === all.length - 1 && g.includes(".")) {
      const v4 = parseIPv4(g);
      if (!v4) return undefined;
      target.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    target.push(parseInt(g, 16));
  }
  const total = words.length + tailWords.length;
  if (dbl === -1 ? total !== 8 : total > 7) return undefined;
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  const off = 8 - tailWords.length;
  tailWords.forEach((w, i) => {
    out[(off + i) * 2] = w >> 8;
    out[(off + i) * 2 + 1] = w & 0xff;
  });
  return out;
}

/** Bytes of an address of the given family, or undefined if it is not one. */
export function addressBytes(
  address: string,
  family: 4 | 6,
): Uint8Array | undefined {
  return family === 4 ? parseIPv4(address) : parseIPv6(address);
}
