import assert from "node:assert/strict";
import {
  DEFAULT_LB_CONF,
  type LbOperation,
  MemoryLb,
  shareBuckets,
} from "./memory.ts";
import { type VipKey, VppError } from "./types.ts";
import { K4, V4, V6 } from "./_test_vips.ts";

function retval(n: number, msg?: string) {
  return (e: unknown) =>
    e instanceof VppError && e.retval === n &&
    (msg === undefined || e.msg === msg);
}

Deno.test("memory: a fresh model has VPP's default conf and nothing else", async () => {
  const lb = new MemoryLb();
  assert.deepEqual(await lb.dump(), {
    conf: DEFAULT_LB_CONF,
    vips: [],
    ases: [],
  });
});

Deno.test("memory: VIPs and ASes round-trip through dump, buckets shared by weight", async () => {
  const ops: LbOperation[] = [];
  const lb = new MemoryLb({ onOperation: (op) => ops.push(op) });
  await lb.addVip(V4);
  await lb.addVip(V6);
  await lb.addAs(K4, "198.51.100.10", 50);
  await lb.addAs(K4, "198.51.100.11", 100);
  await lb.addAs(V6, "2001:db8:1:0::10", 100);
  const s = await lb.dump();
  assert.deepEqual(s.vips, [V4, V6]);
  assert.deepEqual(
    s.ases.map((a) => [a.vip.port, a.address, a.weight, a.numBuckets]),
    [
      [80, "198.51.100.10", 50, 341],
      [80, "198.51.100.11", 100, 683],
      [53, "2001:db8:1::10", 100, 1024],
    ],
  );
  await lb.setWeight(K4, "198.51.100.11", 0, true);
  const after = await lb.dump();
  assert.deepEqual(
    after.ases.filter((a) => a.vip.port === 80).map((a) => a.numBuckets),
    [1024, 0],
  );
  assert.deepEqual(ops.map((o) => o.op), [
    "addVip",
    "addVip",
    "addAs",
    "addAs",
    "addAs",
    "setWeight",
  ]);
  assert.equal(lb.operations.length, 6);
});

Deno.test("memory: duplicates are VALUE_EXIST (-81), unknowns NO_SUCH_ENTRY (-6)", async () => {
  const lb = new MemoryLb();
  await lb.addVip(V4);
  await assert.rejects(lb.addVip(V4), retval(-81, "lb_add_del_vip_v2"));
  await lb.addAs(K4, "198.51.100.10", 100);
  await assert.rejects(
    lb.addAs(K4, "198.51.100.10", 50),
    retval(-81, "lb_add_del_as_v2"),
  );
  const missing: VipKey = { prefix: "192.0.2.99/32", protocol: 6, port: 80 };
  await assert.rejects(
    lb.addAs(missing, "198.51.100.10", 100),
    retval(-6, "lb_add_del_as_v2"),
  );
  // VIP lookup is exact on prefix, protocol and port.
  await assert.rejects(
    lb.addAs({ ...K4, protocol: 17 }, "198.51.100.10", 100),
    retval(-6),
  );
  await assert.rejects(
    lb.delAs(K4, "198.51.100.77", true),
    retval(-6, "lb_add_del_as_v2"),
  );
  await assert.rejects(
    lb.setWeight(K4, "198.51.100.77", 50, false),
    retval(-6, "lb_as_set_weight"),
  );
  await assert.rejects(lb.delVip(missing), retval(-6, "lb_add_del_vip_v2"));
});

Deno.test("memory: family rules (AS family follows the encap), encap clash is INVALID_ARGUMENT", async () => {
  const lb = new MemoryLb();
  await lb.addVip(V4);
  await assert.rejects(lb.addAs(K4, "2001:db8:1::10", 100), retval(-97));
  // An IPv4 VIP may carry IPv6 ASes with gre6 (ip4-gre6).
  await lb.addVip({ ...V4, port: 443, encap: "gre6" }).then(
    () => assert.fail("different encap on one prefix must fail"),
    (e) => assert.ok(retval(-73)(e)),
  );
  await lb.addVip({ ...V4, prefix: "192.0.2.2/32", encap: "gre6" });
  await lb.addAs({ ...K4, prefix: "192.0.2.2/32" }, "2001:db8:1::10", 100);
});

Deno.test("memory: all-port VIPs: port 0 forces protocol 255 and excludes per-port VIPs", async () => {
  const lb = new MemoryLb();
  await lb.addVip({ ...V4, prefix: "192.0.2.3/32", protocol: 6, port: 0 });
  const s = await lb.dump();
  assert.equal(s.vips[0].protocol, 255);
  await assert.rejects(
    lb.addVip({ ...V4, prefix: "192.0.2.3/32" }),
    retval(-81),
  );
  await lb.addVip(V4);
  await assert.rejects(lb.addVip({ ...V4, port: 0 }), retval(-81));
  // Deleting with any protocol and port 0 works, as in VPP.
  await lb.delVip({ prefix: "192.0.2.3/32", protocol: 17, port: 0 });
});

Deno.test("memory: host bits are cleared like VPP does", async () => {
  const lb = new MemoryLb();
  await lb.addVip({ ...V4, prefix: "198.18.0.5/24", port: 8080 });
  assert.equal((await lb.dump()).vips[0].prefix, "198.18.0.0/24");
  await lb.delVip({ prefix: "198.18.0.77/24", protocol: 6, port: 8080 });
  assert.deepEqual((await lb.dump()).vips, []);
});

Deno.test("memory: deleting a VIP deletes its ASes", async () => {
  const lb = new MemoryLb();
  await lb.addVip(V4);
  await lb.addAs(K4, "198.51.100.10", 100);
  await lb.delVip(K4);
  await lb.addVip(V4);
  assert.deepEqual((await lb.dump()).ases, []);
});

Deno.test("memory: client-side checks reject what would hurt VPP", async () => {
  const lb = new MemoryLb();
  await assert.rejects(lb.addVip({ ...V4, flowTableLength: 0 }), RangeError);
  await assert.rejects(
    lb.addVip({ ...V4, flowTableLength: 1000 }),
    /power of two/,
  );
  await assert.rejects(
    lb.addVip({ ...V4, flowTableLength: 131072 }),
    /1\.\.65536/,
  );
  await lb.addVip(V4);
  await assert.rejects(
    lb.addAs(K4, "198.51.100.10", 101),
    /weight 101 is not an integer 0\.\.100/,
  );
  await assert.rejects(lb.addAs(K4, "198.51.100.10", 1.5), RangeError);
  await assert.rejects(lb.addAs(K4, "not-an-ip", 1), /AS address/);
  await assert.rejects(
    lb.setConf({ ...DEFAULT_LB_CONF, stickyBucketsPerCore: 0 }),
    /power of two/,
  );
  await assert.rejects(
    lb.setConf({ ...DEFAULT_LB_CONF, stickyBucketsPerCore: 1000 }),
    /power of two/,
  );
  await assert.rejects(
    lb.setConf({ ...DEFAULT_LB_CONF, flowTimeoutSeconds: 0 }),
    /1\.\.120/,
  );
  await assert.rejects(
    lb.setConf({ ...DEFAULT_LB_CONF, ipv4SrcAddress: "::1" }),
    /not IPv4/,
  );
  await lb.setConf({ ...DEFAULT_LB_CONF, ipv6SrcAddress: "2001:DB8::254" });
  assert.equal((await lb.getConf()).ipv6SrcAddress, "2001:db8::254");
  assert.equal(lb.operations.length, 2, "failed calls are not recorded");
});

Deno.test("shareBuckets: totals, zero weights, ties to the earlier AS", () => {
  assert.deepEqual(shareBuckets(1024, [100]), [1024]);
  assert.deepEqual(shareBuckets(1024, [0, 0]), [0, 0]);
  assert.deepEqual(shareBuckets(1024, [100, 0]), [1024, 0]);
  assert.deepEqual(shareBuckets(3, [1, 1]), [2, 1]);
  assert.deepEqual(shareBuckets(1024, [1, 1, 1]).reduce((a, b) => a + b), 1024);
});

Deno.test("memory: dumpVips and dumpAses read what dump() reads, ASes of the VIPs asked for only", async () => {
  const lb = new MemoryLb();
  await lb.addVip(V4);
  await lb.addVip(V6);
  await lb.addAs(K4, "198.51.100.10", 50);
  await lb.addAs(V6, "2001:db8:1::10", 100);
  const all = await lb.dump();
  assert.deepEqual(await lb.dumpVips(), all.vips);
  assert.deepEqual(await lb.dumpAses([V6, K4, K4]), [
    all.ases[1],
    all.ases[0],
  ]);
  assert.deepEqual(
    await lb.dumpAses([{ prefix: "192.0.2.1/32", protocol: 6, port: 81 }]),
    [],
  );
  assert.deepEqual(await lb.dumpAses([]), []);
  await assert.rejects(
    lb.dumpAses([{ prefix: "192.0.2.9/32", protocol: 0 as 6, port: 8080 }]),
    RangeError,
  );
});
