/**
 * VppLb over a VppClient over the in-process FakeTransport: the requests it
 * builds are compared with the golden vectors byte for byte, and the state
 * it assembles comes from golden replies.
 */

import assert from "node:assert/strict";
import { VppClient } from "./client.ts";
import { decode, encode } from "./codec.ts";
import { VppLb } from "./lb.ts";
import type { MessageInput, MessageName, WireRecord } from "./messages.ts";
import { FakeTransport } from "./_fake_transport.ts";
import { VppError } from "./types.ts";
import { asObject, fromHex, goldenFiles, toHex } from "./_golden.ts";
import { K4, V4, V6 } from "./_test_vips.ts";

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

Deno.test("lb: dump assembles conf, VIPs (sticky and size from the CLI) and live ASes only", async () => {
  await using t = await setup();
  const { lb, fake } = t;
  fake.handlers.set("lb_vip_dump", () => [
    ["lb_vip_details", goldenValues("lb_vip_details.json")],
    ["lb_vip_details", goldenValues("lb_vip_details.ip6.json")],
  ]);
  const quirks = GOLDEN.get("quirks.json");
  assert.ok(Array.isArray(quirks));
  const deletedHex = quirks.map((q) => asObject(q, "q"))
    .find((q) => q.details_of_deleted_as !== undefined)!.details_hex;
  fake.handlers.set("lb_as_v2_dump", () => [
    ["lb_as_v2_details", goldenValues("lb_as_v2_details.json")],
    [
      "lb_as_v2_details",
      decode("lb_as_v2_details", fromHex(String(deletedHex))) as WireRecord,
    ],
    ["lb_as_v2_details", goldenValues("lb_as_v2_details.ip6.json")],
  ]);
  const state = await lb.dump();
  assert.deepEqual(state, {
    conf: {
      ipv4SrcAddress: "192.0.2.254",
      ipv6SrcAddress: "2001:db8::254",
      stickyBucketsPerCore: 65536,
      flowTimeoutSeconds: 40,
    },
    vips: [V4, V6],
    ases: [
      { vip: K4, address: "198.51.100.10", weight: 100, numBuckets: 1024 },
      {
        vip: { prefix: "2001:db8::1/128", protocol: 17, port: 53 },
        address: "2001:db8:1::10",
        weight: 100,
        numBuckets: 1024,
      },
    ],
  });
  // The dump requests are the golden all-zero filters.
  assert.equal(
    asGoldenHex("lb_vip_dump", lastSent(fake, "lb_vip_dump")),
    golden("lb_vip_dump.json").hex,
  );
  assert.equal(
    asGoldenHex("lb_as_v2_dump", lastSent(fake, "lb_as_v2_dump")),
    golden("lb_as_v2_dump.json").hex,
  );
  // The dump refreshed the index map.
  assert.deepEqual([...lb.vipIndex], [["192.0.2.1/32 6 80", 1], [
    "2001:db8::1/128 17 53",
    2,
  ]]);
});

Deno.test("lb: VIPs maglev cannot represent are left out with a warning", async () => {
  await using t = await setup();
  const { lb, fake, warnings } = t;
  const nat = {
    ...goldenValues("lb_vip_details.json"),
    encap: 3,
    "vip.pfx": "192.0.2.50/32",
  };
  const icmp = {
    ...goldenValues("lb_vip_details.json"),
    "vip.protocol": 1,
    "vip.pfx": "192.0.2.51/32",
  };
  fake.handlers.set(
    "lb_vip_dump",
    () => [["lb_vip_details", nat], ["lb_vip_details", icmp]],
  );
  fake.handlers.set("lb_as_v2_dump", () => []);
  const state = await lb.dump();
  assert.deepEqual(state.vips, []);
  assert.deepEqual(warnings, ["vpp-vip-unsupported", "vpp-vip-unsupported"]);
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
