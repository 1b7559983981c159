import assert from "node:assert/strict";
import {
  compareAddresses,
  isIPv4,
  isIPv6,
  parseAddress,
  parsePrefix,
} from "./address.ts";

Deno.test("parseAddress: IPv4", () => {
  const a = parseAddress("192.0.2.1");
  assert.equal(a.address, "192.0.2.1");
  assert.equal(a.family, 4);
  assert.deepEqual([...a.bytes], [192, 0, 2, 1]);
  assert.equal(parseAddress("0.0.0.0").address, "0.0.0.0");
  assert.equal(parseAddress("255.255.255.255").address, "255.255.255.255");
});

Deno.test("parseAddress: IPv6 is canonicalised per RFC 5952", () => {
  const cases: [string, string][] = [
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:0db8::0001", "2001:db8::1"],
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // a single zero group is not compressed
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // the longest run wins
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // the first run wins a tie
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"], // "::" for one group is valid input
    ["::ffff:192.0.2.1", "::ffff:192.0.2.1"], // IPv4-mapped keeps the dotted tail
    ["::FFFF:c000:0201", "::ffff:192.0.2.1"],
    ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
    ["fe80::1:2:3:4", "fe80::1:2:3:4"],
  ];
  for (const [input, canonical] of cases) {
    const a = parseAddress(input);
    assert.equal(a.address, canonical, input);
    assert.equal(a.family, 6);
    assert.equal(a.bytes.length, 16);
  }
  assert.deepEqual([...parseAddress("::ffff:1.2.3.4").bytes.slice(10)], [
    0xff,
    0xff,
    1,
    2,
    3,
    4,
  ]);
});

Deno.test("parseAddress: rejects bad input with a reason", () => {
  const cases: [string, RegExp][] = [
    ["", /empty address/],
    ["01.2.3.4", /leading zero/],
    ["1.2.3.04", /leading zero/],
    ["256.1.1.1", /above 255/],
    ["1.2.3", /four numbers/],
    ["1.2.3.4.5", /four numbers/],
    ["1.2.3.-4", /not a number/],
    ["1.2.3.4 ", /not a number/],
    ["example.com", /host names are not accepted/],
    ["1.2.3.x", /host names/],
    ["fe80::1%eth0", /zone id/],
    ["[2001:db8::1]", /brackets/],
    ["2001:db8::1/64", /prefix length/],
    ["1.2.3.4:80", /address:port/],
    ["1::2::3", /only once/],
    ["1:2:3:4:5:6:7", /8 groups/],
    ["1:2:3:4:5:6:7:8:9", /8 groups/],
    ["1:2:3:4::5:6:7:8", /too many groups/],
    ["12345::", /1-4 hex digits/],
    ["g::1", /only hex digits/],
    [":1:2:3:4:5:6:7", /empty group/],
    ["1:2:3:4:5:6:7:", /empty group/],
    ["1.2.3.4::", /must come last/],
    ["::1.2.3.4:1", /must come last/],
    ["::256.1.1.1", /above 255/],
    ["::01.1.1.1", /leading zero/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseAddress(text), (e: unknown) => {
      assert.ok(e instanceof RangeError, `${text}: ${e}`);
      assert.match(e.message, message, text);
      return true;
    });
  }
});

Deno.test("parsePrefix: host addresses and prefixes", () => {
  assert.deepEqual(parsePrefix("192.0.2.1"), {
    address: "192.0.2.1",
    prefixLength: 32,
    family: 4,
    prefix: "192.0.2.1/32",
    hostBitsSet: false,
    network: "192.0.2.1",
  });
  assert.deepEqual(parsePrefix("2001:DB8::/32"), {
    address: "2001:db8::",
    prefixLength: 32,
    family: 6,
    prefix: "2001:db8::/32",
    hostBitsSet: false,
    network: "2001:db8::",
  });
  assert.equal(parsePrefix("::1").prefix, "::1/128");
  assert.equal(parsePrefix("0.0.0.0/0").hostBitsSet, false);
  const odd = parsePrefix("192.0.2.1/28");
  assert.equal(odd.hostBitsSet, true);
  assert.equal(odd.network, "192.0.2.0");
  assert.equal(odd.prefix, "192.0.2.1/28");
  assert.equal(parsePrefix("192.0.2.16/28").hostBitsSet, false);
  assert.equal(parsePrefix("192.0.2.17/27").network, "192.0.2.0");
  assert.equal(parsePrefix("2001:db8::1/127").hostBitsSet, true);
  assert.equal(parsePrefix("2001:db8::1/127").network, "2001:db8::");
  assert.equal(parsePrefix("2001:db8:ffff::/33").network, "2001:db8:8000::");
});

Deno.test("parsePrefix: rejects bad lengths", () => {
  for (
    const text of [
      "192.0.2.0/33",
      "192.0.2.0/",
      "192.0.2.0/024",
      "192.0.2.0/-1",
      "::/129",
      "::/1/2",
      "1.2.3.4/x",
    ]
  ) {
    assert.throws(() => parsePrefix(text), RangeError, text);
  }
  assert.throws(() => parsePrefix("300.0.0.0/8"), /above 255/);
});

Deno.test("compareAddresses: numeric, IPv4 before IPv6", () => {
  const sorted = [
    "2001:db8::10",
    "10.0.0.10",
    "::1",
    "10.0.0.9",
    "2001:db8::9",
    "9.255.255.255",
    "::ffff:1.1.1.1",
  ]
    .sort(compareAddresses);
  assert.deepEqual(sorted, [
    "9.255.255.255",
    "10.0.0.9",
    "10.0.0.10",
    "::1",
    "::ffff:1.1.1.1",
    "2001:db8::9",
    "2001:db8::10",
  ]);
  assert.equal(compareAddresses("2001:db8::1", "2001:DB8:0::1"), 0);
  assert.throws(() => compareAddresses("nope", "::1"), RangeError);
});

Deno.test("isIPv4 / isIPv6", () => {
  assert.equal(isIPv4("192.0.2.1"), true);
  assert.equal(isIPv4("::1"), false);
  assert.equal(isIPv4("01.2.3.4"), false);
  assert.equal(isIPv4("192.0.2.0/24"), false);
  assert.equal(isIPv6("::1"), true);
  assert.equal(isIPv6("::ffff:192.0.2.1"), true);
  assert.equal(isIPv6("192.0.2.1"), false);
  assert.equal(isIPv6("fe80::1%eth0"), false);
  assert.equal(isIPv6(""), false);
});
