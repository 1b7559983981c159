/**
 * Health turned into VPP weights, checked in VPP itself: a backend going
 * down, pool failover and back, flush-on-down seen in VPP's flow table, and
 * changes made behind the daemon's back repaired by the periodic sync.
 */
import assert from "node:assert/strict";
import { connectMaglev } from "../../src/api/client.ts";
import { describeVips, RealVpp, VPP, type VppVip } from "../helpers/realvpp.ts";
import {
  A,
  ALL_UP,
  B,
  C,
  reload,
  sameWeights,
  startProgrammed,
  WEB,
  weightsIn,
} from "./_helpers.ts";

/** Sticky-table entries (flows) of `address` in web's VIP. */
function flowsOf(vips: readonly VppVip[], address: string): number {
  const v = vips.find((x) => x.prefix === WEB && x.port === 80);
  const as = v?.ases.find((a) => a.address === address && a.used);
  if (!as) throw new Error(`no AS ${address} in ${describeVips(vips)}`);
  return as.flows;
}

Deno.test({
  name:
    "real VPP: a backend down gets weight 0 and its flows flushed; pool failover and back",
  ignore: VPP === undefined,
  async fn() {
    await using vpp = await RealVpp.start();
    await using d = await startProgrammed(vpp);
    // Sessions on both a and b, so a flush shows as b's alone emptying.
    await vpp.sendTcp({ dst: "192.0.2.1", dport: 80, packets: 64, flows: 64 });
    let vips = await vpp.vips();
    const aFlows = flowsOf(vips, A), bFlows = flowsOf(vips, B);
    assert.ok(aFlows > 0 && bFlows > 0, describeVips(vips));
    assert.equal(aFlows + bFlows, 64, describeVips(vips));

    // flush-on-down is on by default: b's sessions go, a's stay.
    d.backends.get("b")!.healthy = false;
    vips = await vpp.waitVips(
      "b at weight 0 with its flows flushed",
      (vs) =>
        sameWeights(weightsIn(vs), { [A]: 100, [B]: 0, [C]: 0 }) &&
        flowsOf(vs, B) === 0,
    );
    assert.equal(flowsOf(vips, A), aFlows, "a's sessions untouched");

    // c is standby only while the primary pool has an up backend.
    d.backends.get("a")!.healthy = false;
    await vpp.waitVips(
      "failover: c at 100",
      (vs) => sameWeights(weightsIn(vs), { [A]: 0, [B]: 0, [C]: 100 }),
    );
    d.backends.get("a")!.healthy = true;
    await vpp.waitVips(
      "back to the primary pool: a at 100",
      (vs) => sameWeights(weightsIn(vs), { [A]: 100, [B]: 0, [C]: 0 }),
    );
    d.backends.get("b")!.healthy = true;
    await vpp.waitVips(
      "b back at 100",
      (vs) => sameWeights(weightsIn(vs), { [A]: 100, [B]: 100, [C]: 0 }),
    );

    // flush-on-down: false keeps a down backend's sessions in VPP.
    const base = await Deno.readTextFile(d.configPath);
    await reload(
      d,
      base.replace(
        "      port: 80\n",
        "      port: 80\n      flush-on-down: false\n",
      ),
    );
    await vpp.sendTcp({
      src: "10.0.0.3",
      dst: "192.0.2.1",
      dport: 80,
      packets: 64,
      flows: 64,
    });
    vips = await vpp.vips();
    const kept = flowsOf(vips, B);
    assert.ok(kept > 0, describeVips(vips));
    d.backends.get("b")!.healthy = false;
    vips = await vpp.waitVips(
      "b at weight 0 again",
      (vs) => sameWeights(weightsIn(vs), { [A]: 100, [B]: 0, [C]: 0 }),
    );
    assert.equal(flowsOf(vips, B), kept, "no flush: b's sessions stay");
    // A later sync must not flush them behind the operator's choice.
    const { client, close } = connectMaglev(d.grpcAddr);
    try {
      const sync = await client.syncVPPLBState({});
      assert.deepEqual(sync.operations, []);
    } finally {
      close();
    }
    assert.equal(flowsOf(await vpp.vips(), B), kept);
  },
});

Deno.test({
  name:
    "real VPP: changes made with vppctl are repaired at the next sync; a VIP made by hand is left alone until adopted",
  ignore: VPP === undefined,
  async fn() {
    await using vpp = await RealVpp.start();
    await using d = await startProgrammed(vpp, { syncInterval: "1s" });
    const want = ALL_UP;
    const vip = `${WEB} protocol tcp port 80`;
    // Each change is checked by VPP's silence (it prints its refusals but
    // still exits 0), not by reading it back: the 1 s sync may have
    // repaired it already.
    const drift = async (cmd: string) =>
      assert.equal(await vpp.ctl(cmd), "", `vppctl ${cmd}`);

    await drift(`lb as ${vip} ${A} weight 7`);
    await vpp.waitVips(
      "a's weight back at 100",
      (vs) => sameWeights(weightsIn(vs), want),
    );

    await drift(`lb as ${vip} ${B} del flush`);
    await vpp.waitVips(
      "b added again",
      (vs) => sameWeights(weightsIn(vs), want),
    );

    // VPP deletes a VIP only once its ASes are gone.
    await drift(`lb as ${vip} ${A} ${B} ${C} del flush`);
    await drift(`lb vip ${vip} del`);
    await vpp.waitVips(
      "web's VIP created again",
      (vs) => sameWeights(weightsIn(vs), want),
    );

    // A gre4 VIP nobody configured, made by hand: not maglev's. Periodic
    // full syncs leave it alone and say so once; once adopted, it goes.
    assert.match(
      await vpp.ctl(
        "lb vip 203.0.113.9/32 protocol tcp port 8080 encap gre4 new_len 1024",
      ),
      /^lb_vip_add ok \d+\s*$/,
    );
    await d.process.waitForRecord(
      (r) => r.msg === "vpp-vip-foreign" && r.vip === "203.0.113.9/32 6 8080",
      "the foreign VIP logged by a periodic sync",
      20_000,
    );
    const { client, close } = connectMaglev(d.grpcAddr);
    try {
      // Full syncs on request too: nothing to do, the VIP stays.
      for (let i = 0; i < 2; i++) {
        assert.deepEqual((await client.syncVPPLBState({})).operations, []);
      }
      assert.ok(
        (await vpp.vips()).some((v) => v.prefix === "203.0.113.9/32"),
        "a VIP maglev did not create survives its full syncs",
      );
      assert.equal(
        d.process.records.filter((r) => r.msg === "vpp-vip-foreign").length,
        1,
        "logged once",
      );
      const st = await client.getVPPLBState({});
      const shown = st.vips.find((v) => v.prefix === "203.0.113.9/32");
      assert.equal(shown?.managed, false, "shown as not maglev's");
      assert.equal(
        st.vips.find((v) => v.prefix === WEB)?.managed,
        true,
        "web's VIP is maglev's",
      );
      const r = await client.adoptVPPLBVIP({
        prefix: "203.0.113.9",
        protocol: "tcp",
        port: 8080,
      });
      assert.equal(r.adopted, true);
    } finally {
      close();
    }
    const vips = await vpp.waitVips(
      "the adopted VIP removed",
      (vs) => !vs.some((v) => v.prefix === "203.0.113.9/32"),
    );
    assert.ok(sameWeights(weightsIn(vips), want), describeVips(vips));
    assert.ok(
      d.process.records.some((r) =>
        r.msg === "vpp-sync" && r.reason === "interval"
      ),
      "repaired by the periodic sync",
    );
  },
});
