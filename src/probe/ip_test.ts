import assert from "node:assert/strict";
import { addressBytes, parseIPv4, parseIPv6 } from "./ip.ts";

Deno.test("IPv4 literals", () => {
  assert.deepEqual([...parseIPv4("192.0.2.1")!], [192, 0, 2, 1]);
  for (
    const bad of [
      "256.0.0.1",
      "1.2.3",
      "1.2.3.4.5",
      "a.b.c.d",
      "1..2.3",
      "01234.1.1.1",
      "",
    ]
  ) {
    assert.equal(parseIPv4(bad), undefined, bad);
  }
});

Deno.test("IPv6 literals", () => {
  const hex = (s: string) =>
    [...parseIPv6(s)!].map((b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(hex("::1"), "00000000000000000000000000000001");
  assert.equal(hex("::"), "00000000000000000000000000000000");
  assert.equal(hex("2001:db8::10"), "20010db8000000000000000000000010");
  assert.equal(hex("fe80::1:2"), "fe800000000000000000000000010002");
  assert.equal(hex("1:2:3:4:5:6:7:8"), "00010002000300040005000600070008");
  assert.equal(hex("::ffff:192.0.2.1"), "00000000000000000000ffffc0000201");
  assert.equal(hex("1::"), "00010000000000000000000000000000");
  for (
    const bad of [
      "1:2:3:4:5:6:7",
      "1::2::3",
      "12345::",
      "::g",
      "1:2:3:4:5:6:7:8:9",
      "fe80::1%eth0",
      ":1",
      "1:2:3:4:5:6:7::8:9",
    ]
  ) {
    assert.equal(parseIPv6(bad), undefined, bad);
  }
});

Deno.test("addressBytes by family", () => {
  assert.equal(addressBytes("::1", 4), undefined);
  assert.equal(addressBytes("127.0.0.1", 6), undefined);
  assert.equal(addressBytes("127.0.0.1", 4)?.length, 4);
});
