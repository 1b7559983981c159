import assert from "node:assert/strict";
import {
  ECHO_LENGTH,
  encodeSockaddr,
  internetChecksum,
  readEchoReply,
  sockaddrHolds,
  writeEchoRequest,
} from "./icmp_packet.ts";

Deno.test("checksum: RFC 1071 example", () => {
  // RFC 1071 section 3: 0001 f203 f4f5 f6f7 sums to ddf2, checksum 220d.
  const b = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
  assert.equal(internetChecksum(b), 0x220d);
});

Deno.test("checksum: odd length pads with zero", () => {
  assert.equal(internetChecksum(new Uint8Array([0x01])), ~0x0100 & 0xffff);
});

Deno.test("echo request v4 verifies to zero", () => {
  const buf = new Uint8Array(ECHO_LENGTH);
  assert.equal(writeEchoRequest(buf, 4, 0x1234, 0xabcd), ECHO_LENGTH);
  assert.equal(buf[0], 8);
  assert.equal((buf[4] << 8) | buf[5], 0x1234);
  assert.equal((buf[6] << 8) | buf[7], 0xabcd);
  assert.equal(internetChecksum(buf), 0);
});

Deno.test("echo request v6 leaves the checksum to the kernel", () => {
  const buf = new Uint8Array(ECHO_LENGTH);
  writeEchoRequest(buf, 6, 1, 2);
  assert.equal(buf[0], 128);
  assert.equal(buf[2] | buf[3], 0);
});

function reply(type: number, id: number, seq: number): Uint8Array {
  const b = new Uint8Array(ECHO_LENGTH);
  writeEchoRequest(b, 4, id, seq);
  b[0] = type;
  return b;
}

Deno.test("read reply v4 raw: skips the IP header, checks type and id", () => {
  const icmp = reply(0, 7, 42);
  const pkt = new Uint8Array(24 + icmp.length);
  pkt[0] = 0x46; // version 4, IHL 6 (24 bytes, with options)
  pkt.set(icmp, 24);
  assert.equal(readEchoReply(pkt, pkt.length, 4, true, 7), 42);
  assert.equal(readEchoReply(pkt, pkt.length, 4, true, 8), -1);
  const req = new Uint8Array(pkt);
  req[24] = 8; // our own echo request, seen on loopback
  assert.equal(readEchoReply(req, req.length, 4, true, 7), -1);
  assert.equal(readEchoReply(pkt, 20, 4, true, 7), -1);
});

Deno.test("read reply: datagram sockets skip the id check", () => {
  const icmp = reply(0, 999, 5);
  assert.equal(readEchoReply(icmp, icmp.length, 4, false, -1), 5);
});

Deno.test("read reply v6", () => {
  const icmp = reply(129, 3, 9);
  assert.equal(readEchoReply(icmp, icmp.length, 6, false, 3), 9);
  const req = reply(128, 3, 9);
  assert.equal(readEchoReply(req, req.length, 6, false, 3), -1);
});

Deno.test("sockaddrs", () => {
  const a4 = new Uint8Array([127, 0, 0, 1]);
  const sa4 = encodeSockaddr(a4);
  assert.equal(sa4.length, 16);
  assert.deepEqual([...sa4.subarray(0, 8)], [2, 0, 0, 0, 127, 0, 0, 1]);
  assert.equal(sockaddrHolds(sa4, a4), true);
  assert.equal(sockaddrHolds(sa4, new Uint8Array([127, 0, 0, 2])), false);
  const a6 = new Uint8Array(16);
  a6[15] = 1;
  const sa6 = encodeSockaddr(a6);
  assert.equal(sa6.length, 28);
  assert.equal(sa6[0], 10);
  assert.equal(sockaddrHolds(sa6, a6), true);
  assert.equal(sockaddrHolds(sa6, a4), false);
});
