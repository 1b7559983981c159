/**
 * VppLb over a VppClient over the in-process FakeTransport: the requests it
 * builds are compared with the golden vectors byte for byte, and the state
 * it assembles comes from golden replies.
 */

import assert from "node:assert/strict";
import { VppClient } from "./client.ts";
import { VppLb } from "./lb.ts";
import type { MessageInput, MessageName, WireRecord } from "./messages.ts";
import { decode, encode, peekId } from "./codec.ts";
import { type FakeReply, FakeTransport } from "./_fake_transport.ts";
import { type VipKey, VppError } from "./types.ts";
import { asObject, fromHex, goldenFiles, type Json, toHex } from "./_golden.ts";
import { K4, K6, V4, V6 } from "./_test_vips.ts";
import { parseAddress, parsePrefix } from "../config/address.ts";
import { waitFor } from "../../tests/helpers/wait.ts";

const GOLDEN = goldenFiles();

function golden(file: string) {
  return asObject(GOLDEN.get(file), file);
}

/** A golden reply/details file decoded into values for a fake handler. */
function goldenValues(file: string): WireRecord {
  const g = golden(file);
  return decode(g.message as MessageName, fromHex(String(g.hex))) as WireRecord;
}

/** The request as VPP would receive it from the golden placeholders (id 0, context 0x01020304). */
function asGoldenHex(name: MessageName, values: WireRecord): string {
  return toHex(
    encode(name, values as MessageInput<MessageName>, {
      id: 0,
      context: 0x01020304,
    }),
  );
}

const CLI_TEXT = String(
  asObject(golden("cli_inband_reply.json").fields, "fields").reply,
);

async function setup(): Promise<{
  fake: FakeTransport;
  client: VppClient;
  lb: VppLb;
  warnings: string[];
  [Symbol.asyncDispose](): Promise<void>;
}> {
  const fake = new FakeTransport();
  const ok = (reply: MessageName) => () => [[reply, { retval: 0 }] as const];
  fake.handlers.set("lb_add_del_vip_v2", ok("lb_add_del_vip_v2_reply"));
  fake.handlers.set("lb_add_del_as_v2", ok("lb_add_del_as_v2_reply"));
  fake.handlers.set("lb_as_set_weight", ok("lb_as_set_weight_reply"));
  fake.handlers.set("lb_conf", ok("lb_conf_reply"));
  fake.handlers.set(
    "lb_conf_get",
    () => [["lb_conf_get_reply", goldenValues("lb_conf_get_reply.json")]],
  );
  fake.handlers.set(
    "cli_inband",
    () => [["cli_inband_reply", { retval: 0, reply: CLI_TEXT }]],
  );
  fake.handlers.set(
    "ip_route_lookup",
    (v) =>
      v.prefix === "192.0.2.1/32"
        ? [[
          "ip_route_lookup_reply",
          goldenValues("ip_route_lookup_reply.json"),
        ]]
        : v.prefix === "2001:db8::1/128"
        ? [[
          "ip_route_lookup_reply",
          goldenValues("ip_route_lookup_reply.ip6.json"),
        ]]
        : [[
          "ip_route_lookup_reply",
          goldenValues("ip_route_lookup_reply.exact_miss.json"),
        ]],
  );
  const warnings: string[] = [];
  const client = new VppClient({ transport: fake, requestTimeoutMs: 500 });
  const lb = new VppLb(client, {
    logger: { debug() {}, warn: (msg) => warnings.push(msg) },
  });
  client.start();
  await client.waitConnected(2000);
  return {
    fake,
    client,
    lb,
    warnings,
    async [Symbol.asyncDispose]() {
      lb.dispose();
      await client.close();
      assert.deepEqual(fake.violations, []);
    },
  };
}

function lastSent(fake: FakeTransport, name: MessageName): WireRecord {
  const s = fake.sent.filter((x) => x.name === name).at(-1);
  assert.ok(s, `${name} was not sent`);
  return s.values;
}

Deno.test("lb: changes are sent exactly as the golden requests", async () => {
  await using t = await setup();
  const { lb, fake } = t;
  const check = (name: MessageName, file: string) =>
    assert.equal(
      asGoldenHex(name, lastSent(fake, name)),
      golden(file).hex,
      file,
    );

  await lb.addVip(V4);
  check("lb_add_del_vip_v2", "lb_add_del_vip_v2.json");
  await lb.addVip(V6);
  check("lb_add_del_vip_v2", "lb_add_del_vip_v2.ip6.json");
  await lb.addAs(K4, "198.51.100.10", 100);
  check("lb_add_del_as_v2", "lb_add_del_as_v2.json");
  await lb.addAs(V6, "2001:db8:1::10", 100);
  check("lb_add_del_as_v2", "lb_add_del_as_v2.ip6.json");
  await lb.setWeight(K4, "198.51.100.10", 0, true);
  check("lb_as_set_weight", "lb_as_set_weight.json");
  await lb.delAs(K4, "198.51.100.10", true);
  check("lb_add_del_as_v2", "lb_add_del_as_v2.del.json");
  await lb.setConf({
    ipv4SrcAddress: "192.0.2.254",
    ipv6SrcAddress: "2001:db8::254",
    stickyBucketsPerCore: 65536,
    flowTimeoutSeconds: 40,
  });
  check("lb_conf", "lb_conf.json");
  assert.equal(await lb.routeStatsIndex("192.0.2.1/32"), 8);
  check("ip_route_lookup", "ip_route_lookup.json");
  assert.equal(await lb.routeStatsIndex("2001:db8::1/128"), 10);
  check("ip_route_lookup", "ip_route_lookup.ip6.json");
  await lb.cli("show lb vips verbose");
  check("cli_inband", "cli_inband.json");
  await lb.getConf();
  check("lb_conf_get", "lb_conf_get.json");

  // Deleting a VIP: VPP uses only pfx/protocol/port; the table length is
  // still a valid 1024 (never 0 on the wire).
  await lb.delVip(K4);
  const del = lastSent(fake, "lb_add_del_vip_v2");
  const g = decode(
    "lb_add_del_vip_v2",
    fromHex(String(golden("lb_add_del_vip_v2.del.json").hex)),
  );
  for (
    const f of [
      "pfx",
      "protocol",
      "port",
      "is_del",
      "new_flows_table_length",
    ] as const
  ) {
    assert.equal(del[f], g[f], f);
  }
});

/** The 16 address bytes of a prefix in VPP's internal form (IPv4 in bytes 12..15), as hex. */
function internalHex(prefix: string): string {
  const b = parseAddress(parsePrefix(prefix).network).bytes;
  const out = new Uint8Array(16);
  out.set(b, 16 - b.length);
  return toHex(out);
}

/** The 16 union bytes of a prefix as the codec put them on the wire (IPv4 in bytes 0..3), as hex. */
function wireHex(prefix: string): string {
  const out = new Uint8Array(16);
  out.set(parseAddress(parsePrefix(prefix).address).bytes);
  return toHex(out);
}

/**
 * An lb_as_v2_dump handler that filters like VPP 26.10 (lb/api.c): all-zero
 * union bytes dump everything; otherwise the union bytes are compared raw
 * with the VIP's internal form, and protocol and port must be equal; the
 * family and the length are not compared.
 */
function vppAsDump(details: () => readonly WireRecord[]) {
  return (req: WireRecord): FakeReply[] => {
    const filter = wireHex(String(req.pfx));
    return details().filter((d) =>
      /^0+$/.test(filter) ||
      (internalHex(String(d["vip.pfx"])) === filter &&
        d["vip.protocol"] === req.protocol && d["vip.port"] === req.port)
    ).map((d) => ["lb_as_v2_details", d] as const);
  };
}

function deletedAsDetails(): WireRecord {
  const quirks = GOLDEN.get("quirks.json");
  assert.ok(Array.isArray(quirks));
  const hex = quirks.map((q) => asObject(q, "q"))
    .find((q) => q.details_of_deleted_as !== undefined)!.details_hex;
  return decode("lb_as_v2_details", fromHex(String(hex))) as WireRecord;
}

/** The golden session: both VIPs, each with one live AS; V4 also has a deleted one. */
function goldenSession(fake: FakeTransport): WireRecord[] {
  const details = [
    goldenValues("lb_as_v2_details.json"),
    deletedAsDetails(),
    goldenValues("lb_as_v2_details.ip6.json"),
  ];
  fake.handlers.set("lb_vip_dump", () => [
    ["lb_vip_details", goldenValues("lb_vip_details.json")],
    ["lb_vip_details", goldenValues("lb_vip_details.ip6.json")],
  ]);
  fake.handlers.set("lb_as_v2_dump", vppAsDump(() => details));
  return details;
}

const GOLDEN_STATE = {
  conf: {
    ipv4SrcAddress: "192.0.2.254",
    ipv6SrcAddress: "2001:db8::254",
    stickyBucketsPerCore: 65536,
    flowTimeoutSeconds: 40,
  },
  vips: [V4, V6],
  ases: [
    { vip: K4, address: "198.51.100.10", weight: 100, numBuckets: 1024 },
    { vip: K6, address: "2001:db8:1::10", weight: 100, numBuckets: 1024 },
  ],
};

const asDumps = (fake: FakeTransport) =>
  fake.sent.filter((x) => x.name === "lb_as_v2_dump").map((x) => x.values);

Deno.test("lb: dump assembles conf, VIPs (sticky and size from the CLI) and live ASes only, one AS dump per VIP", async () => {
  await using t = await setup();
  const { lb, fake } = t;
  goldenSession(fake);
  assert.deepEqual(await lb.dump(), GOLDEN_STATE);
  assert.equal(
    asGoldenHex("lb_vip_dump", lastSent(fake, "lb_vip_dump")),
    golden("lb_vip_dump.json").hex,
  );
  // One filtered lb_as_v2_dump per VIP. The IPv4 one carries the address in
  // union bytes 12..15, exactly as the request VPP answered in the capture
  // (quirks.json); family and length differ from it, and VPP compares
  // neither.
  const sent = asDumps(fake).map((v) => asGoldenHex("lb_as_v2_dump", v));
  const quirk = asObject(
    (GOLDEN.get("quirks.json") as Json[]).find((q) =>
      asObject(q, "q").ipv4_filter_addr_in_union_bytes_12_15_request_hex
    ),
    "q",
  ).ipv4_filter_addr_in_union_bytes_12_15_request_hex as string;
  const union = (hex: string) => hex.slice(22, 54);
  const tail = (hex: string) => hex.slice(56);
  assert.equal(sent.length, 2);
  assert.equal(union(sent[0]), union(quirk));
  assert.equal(tail(sent[0]), tail(quirk), "protocol 6, port 80");
  assert.equal(sent[0].slice(20, 22), "01", "af");
  assert.equal(sent[0].slice(54, 56), "80", "length 32 + 96");
  assert.equal(
    sent[1],
    "0000000000000102030401" + "20010db8000000000000000000000001" + "80" +
      "11" + "0035",
  );
  assert.equal(t.lb.asDumpFilter, "works");
  // The dump refreshed the index map.
  assert.deepEqual([...lb.vipIndex], [["192.0.2.1/32 6 80", 1], [
    "2001:db8::1/128 17 53",
    2,
  ]]);
});

Deno.test("lb: a VIP absent from the CLI text has srcIpSticky undefined (unknown, not false)", async () => {
  await using t = await setup();
  const { lb, fake } = t;
  goldenSession(fake);
  // The CLI shows only the IPv6 VIP.
  const text = CLI_TEXT.slice(CLI_TEXT.indexOf(" ip6-gre6"));
  fake.handlers.set(
    "cli_inband",
    () => [["cli_inband_reply", { retval: 0, reply: text }]],
  );
  const vips = await lb.dumpVips();
  assert.deepEqual(vips, [{ ...V4, srcIpSticky: undefined }, V6]);
  assert.ok("srcIpSticky" in vips[0]);
  assert.deepEqual((await lb.dump()).vips, vips);
});

Deno.test("lb: a VIP with a protocol maglev does not manage is skipped with one warning; so are its ASes, also in an all-AS dump", async () => {
  await using t = await setup();
  const { lb, fake, warnings } = t;
  const details = goldenSession(fake);
  // What `lb vip 192.0.2.9/32 port 8080 encap gre4` and `lb as 192.0.2.9/32
  // port 8080 198.51.100.9` (no protocol keyword) make.
  const foreign = { "vip.pfx": "192.0.2.9/32", "vip.protocol": 0 };
  fake.handlers.set("lb_vip_dump", () => [
    ["lb_vip_details", goldenValues("lb_vip_details.json")],
    ["lb_vip_details", {
      ...goldenValues("lb_vip_details.json"),
      ...foreign,
      "vip.port": 8080,
    }],
    ["lb_vip_details", goldenValues("lb_vip_details.ip6.json")],
  ]);
  details.push({
    ...goldenValues("lb_as_v2_details.json"),
    ...foreign,
    "vip.port": 8080,
    app_srv: "198.51.100.9",
  });
  assert.deepEqual(await lb.dump(), GOLDEN_STATE);
  assert.deepEqual(await lb.dump(), GOLDEN_STATE);
  assert.deepEqual(
    asDumps(fake).map((v) => v.port),
    [80, 53, 80, 53],
    "its ASes are not even asked for",
  );
  // Everything at once (a VPP whose filter does not work): still skipped.
  fake.handlers.set(
    "lb_as_v2_dump",
    (v) =>
      v.pfx === "0.0.0.0/0"
        ? details.map((d) => ["lb_as_v2_details", d] as const)
        : [],
  );
  const fresh = new VppLb(t.client, {
    logger: { debug() {}, warn: (msg) => warnings.push(msg) },
  });
  try {
    assert.deepEqual(await fresh.dump(), GOLDEN_STATE);
    assert.equal(fresh.asDumpFilter, "broken");
  } finally {
    fresh.dispose();
  }
  assert.deepEqual(warnings, [
    "vpp-vip-unsupported",
    "vpp-vip-unsupported",
    "vpp-as-dump-fallback",
  ]);
});

Deno.test("lb: a filter that finds nothing for a VIP the CLI shows ASes for → all ASes at once, for the rest of the connection", async () => {
  await using t = await setup();
  const { lb, fake, warnings } = t;
  const details = goldenSession(fake);
  // A VPP that decodes the filter some other way: nothing ever matches.
  fake.handlers.set(
    "lb_as_v2_dump",
    (v) =>
      v.pfx === "0.0.0.0/0"
        ? details.map((d) => ["lb_as_v2_details", d] as const)
        : [],
  );
  assert.deepEqual(await lb.dump(), GOLDEN_STATE);
  assert.equal(lb.asDumpFilter, "broken");
  assert.deepEqual(
    asDumps(fake).map((v) => v.pfx),
    ["::c000:201/128", "0.0.0.0/0"],
    "one per-VIP dump, then one dump of everything, used for both VIPs",
  );
  assert.deepEqual(warnings, ["vpp-as-dump-fallback"]);
  fake.sent.length = 0;
  assert.deepEqual(await lb.dumpAses([K6]), GOLDEN_STATE.ases.slice(1));
  assert.deepEqual(asDumps(fake).map((v) => v.pfx), ["0.0.0.0/0"]);
  assert.deepEqual(warnings, ["vpp-as-dump-fallback"], "warned once");
  // A new connection checks again.
  goldenSession(fake);
  fake.dropLink();
  await waitFor(
    "reconnected",
    () =>
      lb.asDumpFilter === "unverified" && t.client.connected ? true : undefined,
  );
  assert.deepEqual(await lb.dump(), GOLDEN_STATE);
  assert.equal(lb.asDumpFilter, "works");
});

Deno.test("lb: ASes garbage-collected between the CLI scrape and the per-VIP dump do not condemn the filter", async () => {
  await using t = await setup();
  const { lb, fake, warnings } = t;
  const details = goldenSession(fake);
  // The CLI (golden) shows one AS per VIP; by the time of the AS dumps V4's
  // is gone, so its dump is empty and the all-AS check finds none either.
  details.splice(0, 2);
  assert.deepEqual((await lb.dump()).ases, GOLDEN_STATE.ases.slice(1));
  assert.equal(lb.asDumpFilter, "works");
  assert.deepEqual(warnings, []);
  assert.deepEqual(
    asDumps(fake).map((v) => v.pfx),
    ["::c000:201/128", "0.0.0.0/0", "2001:db8::1/128"],
  );
});

Deno.test("lb: a VPP that ignores the filter (other VIPs' ASes come back) → all ASes at once", async () => {
  await using t = await setup();
  const { lb, fake, warnings } = t;
  const details = goldenSession(fake);
  fake.handlers.set(
    "lb_as_v2_dump",
    () => details.map((d) => ["lb_as_v2_details", d] as const),
  );
  assert.deepEqual(await lb.dump(), GOLDEN_STATE);
  assert.equal(lb.asDumpFilter, "broken");
  assert.equal(asDumps(fake).length, 2, "the first per-VIP dump, then all");
  assert.deepEqual(warnings, ["vpp-as-dump-fallback"]);
});

Deno.test("lb: dumpAses pipelines per-VIP dumps, a bounded number in flight, and keeps the order asked for", async () => {
  const fake = new FakeTransport();
  const keys: VipKey[] = [];
  const details: WireRecord[] = [];
  const g = goldenValues("lb_as_v2_details.json");
  for (let i = 0; i < 100; i++) {
    const key: VipKey = { prefix: `10.0.${i}.1/32`, protocol: 6, port: 80 };
    keys.push(key);
    for (let j = 0; j < 3; j++) {
      details.push({
        ...g,
        "vip.pfx": key.prefix,
        app_srv: `172.16.${i}.${j + 1}`,
        num_buckets: j === 2 ? 342 : 341,
      });
    }
  }
  fake.handlers.set("lb_as_v2_dump", vppAsDump(() => details));
  // In flight = written and not yet ended by its control_ping_reply.
  let written = 0, ended = 0, most = 0;
  const dumpHandler = fake.handlers.get("lb_as_v2_dump")!;
  fake.handlers.set("lb_as_v2_dump", (v) => {
    written++;
    most = Math.max(most, written - ended);
    return dumpHandler(v);
  });
  const read = fake.read.bind(fake);
  fake.read = async (s) => {
    const r = await read(s);
    if (r.data && peekId(r.data) === fake.idOf("control_ping_reply")) ended++;
    return r;
  };
  const client = new VppClient({ transport: fake, requestTimeoutMs: 2000 });
  const lb = new VppLb(client, { maxAsDumpsInFlight: 8 });
  client.start();
  try {
    await client.waitConnected(2000);
    const order = [...keys].reverse();
    const ases = await lb.dumpAses([...order, order[0]]);
    assert.equal(ases.length, 300);
    assert.deepEqual(
      [...new Set(ases.map((a) => a.vip.prefix))],
      order.map((k) => k.prefix),
    );
    assert.equal(written, 100, "one dump per VIP, the repeated one once");
    assert.ok(most > 1, `pipelined (at most ${most} in flight)`);
    assert.ok(most <= 8, `at most 8 in flight, saw ${most}`);
  } finally {
    lb.dispose();
    await client.close();
  }
  assert.deepEqual(fake.violations, []);
});

Deno.test("lb: flow_table_length 0 in the details means 65536 when the CLI says nothing", async () => {
  await using t = await setup();
  const { lb, fake } = t;
  const big = {
    ...goldenValues("lb_vip_details.json"),
    "vip.pfx": "192.0.2.2/32",
    flow_table_length: 0,
  };
  fake.handlers.set("lb_vip_dump", () => [["lb_vip_details", big]]);
  fake.handlers.set("lb_as_v2_dump", () => []);
  const state = await lb.dump();
  assert.equal(state.vips[0].flowTableLength, 65536);
});

Deno.test("lb: VIP indexes are re-read after a VIP change; counter indexes combine both lookups", async () => {
  await using t = await setup();
  const { lb, fake } = t;
  const cliCalls = () =>
    fake.sent.filter((s) => s.name === "cli_inband").length;
  await lb.vipIndexes();
  await lb.vipIndexes();
  assert.equal(cliCalls(), 1, "cached while nothing changed");
  await lb.addVip(V4);
  const idx = await lb.counterIndexes([K4, V6, {
    prefix: "203.0.113.7/32",
    protocol: 6,
    port: 1,
  }]);
  assert.equal(cliCalls(), 2, "re-read after addVip");
  assert.deepEqual([...idx], [
    ["192.0.2.1/32 6 80", { vipIndex: 1, routeStatsIndex: 8 }],
    ["2001:db8::1/128 17 53", { vipIndex: 2, routeStatsIndex: 10 }],
    ["203.0.113.7/32 6 1", { vipIndex: undefined, routeStatsIndex: undefined }],
  ]);
  const lookups = () =>
    fake.sent.filter((s) => s.name === "ip_route_lookup").length;
  const before = lookups();
  await lb.counterIndexes([K4]);
  assert.equal(lookups(), before, "route index cached");
});

Deno.test("lb: bad input never reaches VPP; VPP refusals are VppErrors", async () => {
  await using t = await setup();
  const { lb, fake } = t;
  const before = fake.sent.length;
  await assert.rejects(
    lb.addVip({ ...V4, flowTableLength: 0 }),
    /0 crashes VPP/,
  );
  await assert.rejects(lb.addAs(K4, "198.51.100.10", 255), /0\.\.100/);
  await assert.rejects(
    lb.setWeight(K4, "198.51.100.10", -1, false),
    RangeError,
  );
  await assert.rejects(
    lb.setConf({
      ipv4SrcAddress: "192.0.2.1",
      ipv6SrcAddress: "::1",
      stickyBucketsPerCore: 0,
      flowTimeoutSeconds: 40,
    }),
    RangeError,
  );
  assert.equal(fake.sent.length, before);
  fake.handlers.set(
    "lb_add_del_vip_v2",
    () => [["lb_add_del_vip_v2_reply", { retval: -81 }]],
  );
  await assert.rejects(
    lb.addVip(V4),
    (e: unknown) => e instanceof VppError && e.retval === -81,
  );
  fake.handlers.set(
    "ip_route_lookup",
    () => [["ip_route_lookup_reply", {
      ...goldenValues("ip_route_lookup_reply.exact_miss.json"),
      retval: -73,
    }]],
  );
  await assert.rejects(
    lb.routeStatsIndex("192.0.2.77/32"),
    (e: unknown) => e instanceof VppError && e.retval === -73,
  );
});

Deno.test("lb: showVersion and getConf decode the golden replies", async () => {
  await using t = await setup();
  const { lb, fake } = t;
  fake.handlers.set(
    "show_version",
    () => [["show_version_reply", goldenValues("show_version_reply.json")]],
  );
  assert.deepEqual(await lb.showVersion(), {
    program: "vpe",
    version: "26.10-rc0~374-gb575ec2c56d",
    buildDate: "2026-11-21T03:09:21",
    buildDirectory: "",
  });
  fake.handlers.set(
    "lb_conf_get",
    () => [[
      "lb_conf_get_reply",
      goldenValues("lb_conf_get_reply.defaults.json"),
    ]],
  );
  assert.deepEqual(await lb.getConf(), {
    ipv4SrcAddress: "255.255.255.255",
    ipv6SrcAddress: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    stickyBucketsPerCore: 1024,
    flowTimeoutSeconds: 40,
  });
});
