/**
 * ICMP echo packets and sockaddrs as bytes: everything about the ICMP probe
 * that does not need a socket, kept pure so it can be tested exhaustively.
 */

/** ICMP (IPv4) echo request type. */
export const ICMP_ECHO_REQUEST = 8;
/** ICMP (IPv4) echo reply type. */
export const ICMP_ECHO_REPLY = 0;
/** ICMPv6 echo request type. */
export const ICMP6_ECHO_REQUEST = 128;
/** ICMPv6 echo reply type. */
export const ICMP6_ECHO_REPLY = 129;

/** Size of the echo payload we send: recognisable, and small. */
export const ECHO_PAYLOAD = new TextEncoder().encode("maglev-probe-v1\0");
/** Bytes of one echo request: 8 header bytes + payload. */
export const ECHO_LENGTH = 8 + ECHO_PAYLOAD.length;

/** RFC 1071 Internet checksum of `buf[start, end)`. */
export function internetChecksum(
  buf: Uint8Array,
  start = 0,
  end = buf.length,
): number {
  let sum = 0;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (i < end) sum += buf[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * Writes an echo request into `buf` (at least ECHO_LENGTH bytes) and returns
 * its length. IPv4 carries our checksum; for ICMPv6 the kernel fills it in
 * (it needs the pseudo-header), so the field stays zero.
 */
export function writeEchoRequest(
  buf: Uint8Array,
  family: 4 | 6,
  id: number,
  seq: number,
): number {
  buf[0] = family === 4 ? ICMP_ECHO_REQUEST : ICMP6_ECHO_REQUEST;
  buf[1] = 0;
  buf[2] = 0;
  buf[3] = 0;
  buf[4] = (id >> 8) & 0xff;
  buf[5] = id & 0xff;
  buf[6] = (seq >> 8) & 0xff;
  buf[7] = seq & 0xff;
  buf.set(ECHO_PAYLOAD, 8);
  if (family === 4) {
    const c = internetChecksum(buf, 0, ECHO_LENGTH);
    buf[2] = c >> 8;
    buf[3] = c & 0xff;
  }
  return ECHO_LENGTH;
}

/**
 * Sequence number of an echo reply in `buf[0, len)`, or -1 when it is not an
 * echo reply for us. `ipHeader`: IPv4 raw sockets deliver the IP header too.
 * `id` < 0 skips the identifier check (datagram ICMP sockets: the kernel
 * picks the identifier and only delivers our own replies).
 */
export function readEchoReply(
  buf: Uint8Array,
  len: number,
  family: 4 | 6,
  ipHeader: boolean,
  id: number,
): number {
  let off = 0;
  if (ipHeader) {
    if (len < 20 || buf[0] >> 4 !== 4) return -1;
    off = (buf[0] & 0x0f) * 4;
  }
  if (len - off < 8) return -1;
  const want = family === 4 ? ICMP_ECHO_REPLY : ICMP6_ECHO_REPLY;
  if (buf[off] !== want || buf[off + 1] !== 0) return -1;
  if (id >= 0 && ((buf[off + 4] << 8) | buf[off + 5]) !== id) return -1;
  return (buf[off + 6] << 8) | buf[off + 7];
}

/** Size of a sockaddr buffer that fits both families (sockaddr_in6). */
export const SOCKADDR_SIZE = 28;

/** sockaddr_in / sockaddr_in6 for `addr` (4 or 16 bytes), port 0. */
export function encodeSockaddr(addr: Uint8Array): Uint8Array<ArrayBuffer> {
  if (addr.length === 4) {
    const sa = new Uint8Array(16);
    new DataView(sa.buffer).setUint16(0, 2, true); // AF_INET, host order
    sa.set(addr, 4);
    return sa;
  }
  const sa = new Uint8Array(28);
  new DataView(sa.buffer).setUint16(0, 10, true); // AF_INET6
  sa.set(addr, 8);
  return sa;
}

/** Whether sockaddr `sa` (as filled by recvfrom) holds address `addr`. */
export function sockaddrHolds(sa: Uint8Array, addr: Uint8Array): boolean {
  const off = addr.length === 4 ? 4 : 8;
  const family = sa[0] | (sa[1] << 8);
  if (family !== (addr.length === 4 ? 2 : 10)) return false;
  for (let i = 0; i < addr.length; i++) {
    if (sa[off + i] !== addr[i]) return false;
  }
  return true;
}
