import assert from "node:assert/strict";
import type { As, LbState, Vip, VipState } from "../vpp/types.ts";
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

/** [address, weight, flush?, healthy? (default: weight > 0)] */
type WantAs = [string, number, boolean?, boolean?];

function want(
  ases: WantAs[],
  vip: Vip = VIP,
  frontend = "web",
): DesiredVip {
  return {
    frontend,
    vip,
    ases: ases.map(([address, weight, flush, healthy]) => ({
      backend: `b-${address}`,
      address,
      weight,
      flush: flush ?? false,
      healthy: healthy ?? weight > 0,
    })),
  };
}

function have(vips: VipState[], ases: [Vip, string, number][]): LbState {
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
    "del as 10.0.0.7 from vip 198.51.100.1/32 tcp/80 flush",
    "del vip 198.51.100.1/32 tcp/80 (unconfigured)",
    "set weight 50 for as 10.0.0.1 of vip 192.0.2.1/32 tcp/80 (backend b-10.0.0.1)",
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

Deno.test("diff: an unknown src-ip-sticky (VIP missing from the CLI scrape) never rebuilds", () => {
  const unknown: VipState = { ...VIP, srcIpSticky: undefined };
  const state = have([unknown], [[VIP, "10.0.0.1", 100]]);
  for (const sticky of [false, true]) {
    const ops = diff(
      [want([["10.0.0.1", 100]], { ...VIP, srcIpSticky: sticky })],
      state,
    );
    assert.deepEqual(ops, []);
  }
});

Deno.test("diff: conflicting deletions on a prefix go before any add (tcp/80 → all ports)", () => {
  const any: Vip = { ...VIP, protocol: 255, port: 0 };
  const state = have([VIP], [[VIP, "10.0.0.1", 100]]);
  assert.deepEqual(kinds(diff([want([["10.0.0.1", 100]], any)], state)), [
    "del as 10.0.0.1 from vip 192.0.2.1/32 tcp/80 flush",
    "del vip 192.0.2.1/32 tcp/80 (unconfigured)",
    "add vip 192.0.2.1/32 any/0 encap gre4 new-flows-table 1024 (frontend web)",
    "add as 10.0.0.1 weight 100 to vip 192.0.2.1/32 any/0 (backend b-10.0.0.1)",
  ]);
});

Deno.test("diff: two frontends of one prefix moving to IPv6 backends: both removed before either is added", () => {
  const v81: Vip = { ...VIP, port: 81 };
  const state = have([VIP, v81], [[VIP, "10.0.0.1", 100], [
    v81,
    "10.0.0.2",
    100,
  ]]);
  const gre6 = (v: Vip): Vip => ({ ...v, encap: "gre6" });
  const ops = diff([
    want([["2001:db8::1", 100]], gre6(VIP)),
    want([["2001:db8::2", 100]], gre6(v81), "w81"),
  ], state);
  assert.deepEqual(ops.map((o) => o.kind), [
    "del-as",
    "del-vip",
    "del-as",
    "del-vip",
    "add-vip",
    "add-as",
    "add-vip",
    "add-as",
  ]);
});

Deno.test("diff: a pool switch raises the new pool before it lowers the old one", () => {
  // Fail back: primary 10.0.0.1 is up again, backup 10.0.0.3 (healthy) goes
  // to 0 only after the raise; 10.0.0.2 (down) leaves at once.
  const state = have([VIP], [
    [VIP, "10.0.0.1", 0],
    [VIP, "10.0.0.2", 100],
    [VIP, "10.0.0.3", 100],
  ]);
  const ops = diff(
    [want([["10.0.0.1", 100], ["10.0.0.2", 0, true, false], [
      "10.0.0.3",
      0,
      false,
      true,
    ]])],
    state,
  );
  assert.deepEqual(kinds(ops), [
    "set weight 100 for as 10.0.0.1 of vip 192.0.2.1/32 tcp/80 (backend b-10.0.0.1)",
    "set weight 0 flush for as 10.0.0.2 of vip 192.0.2.1/32 tcp/80 (backend b-10.0.0.2)",
    "set weight 0 for as 10.0.0.3 of vip 192.0.2.1/32 tcp/80 (backend b-10.0.0.3)",
  ]);
  assert.deepEqual(
    ops.map((o) => o.kind === "set-weight" && o.afterRaises === true),
    [false, false, true],
  );
  // Without a raise in the VIP, lowering a healthy backend (an operator's
  // weight) depends on nothing.
  const alone = diff([want([["10.0.0.2", 100], ["10.0.0.3", 50]])], state);
  assert.ok(alone.every((o) => !(o.kind === "set-weight" && o.afterRaises)));
});

Deno.test("diff: a kept AS keeps VPP's weight; a kept one VPP lacks is not added at 0; an unclaimed VIP stays unless it may be removed", () => {
  const d = want([["10.0.0.1", 0], ["10.0.0.2", 0], ["10.0.0.3", 100]]);
  const kept: DesiredVip = {
    ...d,
    ases: d.ases.map((a) =>
      a.address === "10.0.0.3" ? a : { ...a, keep: true }
    ),
  };
  const other: Vip = { ...VIP, prefix: "198.51.100.1/32" };
  const actual = have([VIP, other], [
    [VIP, "10.0.0.1", 100],
    [VIP, "10.0.0.3", 100],
  ]);
  const foreign: string[] = [];
  const ops = diff([kept], actual, {
    mayRemove: () => false,
    onForeign: (v) => foreign.push(v.prefix),
  });
  // 10.0.0.1 stays at 100 (kept), 10.0.0.2 is not added at 0, nothing else.
  assert.deepEqual(kinds(ops), []);
  assert.deepEqual(foreign, ["198.51.100.1/32"]);
  // Kept and asked to serve: added at its weight when VPP lacks it.
  const serve: DesiredVip = {
    ...kept,
    ases: kept.ases.map((a) =>
      a.address === "10.0.0.2" ? { ...a, weight: 100 } : a
    ),
  };
  assert.deepEqual(kinds(diff([serve], actual, { mayRemove: () => true })), [
    "del vip 198.51.100.1/32 tcp/80 (unconfigured)",
    "add as 10.0.0.2 weight 100 to vip 192.0.2.1/32 tcp/80 (backend b-10.0.0.2)",
  ]);
});
