import assert from "node:assert/strict";
import type { As, LbState, Vip } from "../vpp/types.ts";
import type { DesiredVip } from "./desired.ts";
import { describeOp, diff, type Op } from "./diff.ts";

const CONF = {
  ipv4SrcAddress: "192.0.2.254",
  ipv6SrcAddress: "2001:db8::254",
  stickyBucketsPerCore: 65536,
  flowTimeoutSeconds: 40,
};
const VIP: Vip = {
  prefix: "192.0.2.1/32",
  protocol: 6,
  port: 80,
  encap: "gre4",
  srcIpSticky: false,
  flowTableLength: 1024,
};

function want(
  ases: [string, number, boolean?][],
  vip: Vip = VIP,
  frontend = "web",
): DesiredVip {
  return {
    frontend,
    vip,
    ases: ases.map(([address, weight, flush]) => ({
      backend: `b-${address}`,
      address,
      weight,
      flush: flush ?? false,
    })),
  };
}

function have(vips: Vip[], ases: [Vip, string, number][]): LbState {
  return {
    conf: CONF,
    vips,
    ases: ases.map(([vip, address, weight]): As => ({
      vip,
      address,
      weight,
      numBuckets: 0,
    })),
  };
}

const kinds = (ops: Op[]) => ops.map(describeOp);

Deno.test("diff: cold start adds the VIP, then ASes in numeric order", () => {
  const ops = diff(
    [want([["10.0.0.10", 100], ["10.0.0.9", 50], ["10.0.0.100", 0]])],
    have([], []),
  );
  assert.deepEqual(kinds(ops), [
    "add vip 192.0.2.1/32 tcp/80 encap gre4 new-flows-table 1024 (frontend web)",
    "add as 10.0.0.9 weight 50 to vip 192.0.2.1/32 tcp/80 (backend b-10.0.0.9)",
    "add as 10.0.0.10 weight 100 to vip 192.0.2.1/32 tcp/80 (backend b-10.0.0.10)",
    "add as 10.0.0.100 weight 0 to vip 192.0.2.1/32 tcp/80 (backend b-10.0.0.100)",
  ]);
});

Deno.test("diff: in sync means no operations", () => {
  const state = have([VIP], [[VIP, "10.0.0.1", 100], [VIP, "10.0.0.2", 0]]);
  assert.deepEqual(
    diff([want([["10.0.0.2", 0, true], ["10.0.0.1", 100]])], state),
    [],
  );
});

Deno.test("diff: changed weights are set, with flush where the model says", () => {
  const state = have([VIP], [[VIP, "10.0.0.1", 100], [VIP, "10.0.0.2", 100]]);
  const ops = diff(
    [want([["10.0.0.1", 0, true], ["10.0.0.2", 0, false]])],
    state,
  );
  assert.deepEqual(kinds(ops), [
    "set weight 0 flush for as 10.0.0.1 of vip 192.0.2.1/32 tcp/80 (backend b-10.0.0.1)",
    "set weight 0 for as 10.0.0.2 of vip 192.0.2.1/32 tcp/80 (backend b-10.0.0.2)",
  ]);
});

Deno.test("diff: a pending flush is re-sent even when the weight is already 0", () => {
  const state = have([VIP], [[VIP, "10.0.0.1", 0]]);
  const desired = [want([["10.0.0.1", 0, true]])];
  assert.deepEqual(diff(desired, state), []);
  const ops = diff(desired, state, { flushPending: () => true });
  assert.deepEqual(kinds(ops), [
    "set weight 0 flush for as 10.0.0.1 of vip 192.0.2.1/32 tcp/80 (backend b-10.0.0.1)",
  ]);
});

Deno.test("diff: ASes no longer configured are deleted with flush, before adds", () => {
  const state = have([VIP], [[VIP, "10.0.0.1", 100], [VIP, "10.0.0.3", 100]]);
  const ops = diff([want([["10.0.0.1", 100], ["10.0.0.2", 100]])], state);
  assert.deepEqual(kinds(ops), [
    "del as 10.0.0.3 from vip 192.0.2.1/32 tcp/80 flush (frontend web)",
    "add as 10.0.0.2 weight 100 to vip 192.0.2.1/32 tcp/80 (backend b-10.0.0.2)",
  ]);
});

Deno.test("diff: a src-ip-sticky flip or encap change recreates the VIP", () => {
  const state = have([VIP], [[VIP, "10.0.0.2", 100], [VIP, "10.0.0.1", 100]]);
  for (
    const changed of [{ ...VIP, srcIpSticky: true }, {
      ...VIP,
      encap: "gre6" as const,
    }]
  ) {
    const ops = diff([want([["10.0.0.1", 100]], changed)], state);
    assert.deepEqual(ops.map((o) => o.kind), [
      "del-as",
      "del-as",
      "del-vip",
      "add-vip",
      "add-as",
    ]);
    assert.deepEqual(
      ops.filter((o) => o.kind === "del-as").map((o) =>
        "address" in o && o.address
      ),
      ["10.0.0.1", "10.0.0.2"],
    );
    assert.equal(ops[2].kind === "del-vip" && ops[2].reason, "recreate");
    assert.deepEqual(ops[3].kind === "add-vip" && ops[3].vip, changed);
  }
});

Deno.test("diff: a full sync deletes unclaimed VIPs; a per-frontend sync never does", () => {
  const stray: Vip = { ...VIP, prefix: "198.51.100.1/32" };
  const state = have([VIP, stray], [[VIP, "10.0.0.1", 100], [
    stray,
    "10.0.0.7",
    1,
  ]]);
  const desired = [want([["10.0.0.1", 50]])];
  assert.deepEqual(kinds(diff(desired, state)), [
    "set weight 50 for as 10.0.0.1 of vip 192.0.2.1/32 tcp/80 (backend b-10.0.0.1)",
    "del as 10.0.0.7 from vip 198.51.100.1/32 tcp/80 flush",
    "del vip 198.51.100.1/32 tcp/80 (unconfigured)",
  ]);
  assert.deepEqual(
    kinds(diff(desired, state, { frontends: new Set(["web"]) })),
    [
      "set weight 50 for as 10.0.0.1 of vip 192.0.2.1/32 tcp/80 (backend b-10.0.0.1)",
    ],
  );
  // Another frontend's sync touches neither.
  assert.deepEqual(diff(desired, state, { frontends: new Set(["other"]) }), []);
});

Deno.test("diff: VIPs differing only in port or protocol are distinct", () => {
  const v81: Vip = { ...VIP, port: 81 };
  const udp: Vip = { ...VIP, protocol: 17 };
  const state = have([VIP], []);
  const ops = diff(
    [want([], VIP), want([], v81, "w81"), want([], udp, "wudp")],
    state,
  );
  assert.deepEqual(ops.map((o) => o.kind === "add-vip" && o.frontend), [
    "w81",
    "wudp",
  ]);
});

Deno.test("diff: IPv4 ASes come before IPv6 ones", () => {
  const ops = diff(
    [want([["2001:db8::1", 1], ["10.0.0.2", 1], ["::ffff:10.0.0.1", 1], [
      "10.0.0.1",
      1,
    ]])],
    have([VIP], []),
  );
  assert.deepEqual(
    ops.map((o) => "address" in o ? o.address : ""),
    ["10.0.0.1", "10.0.0.2", "::ffff:10.0.0.1", "2001:db8::1"],
  );
});
