/**
 * VPP restarting under a running daemon (same api-segment prefix and
 * sockets, empty tables): the daemon notices, reconnects, and programs the
 * new VPP from scratch — lb conf, VIP, and the weights health says now.
 */
import assert from "node:assert/strict";
import { connectMaglev } from "../../src/api/client.ts";
import { liveWeights, RealVpp, VPP } from "../helpers/realvpp.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  A,
  ALL_UP,
  B,
  C,
  nextRecord,
  sameWeights,
  SRC4,
  SRC6,
  startProgrammed,
  weightsIn,
} from "./_helpers.ts";

/**
 * Keepalive every 10 s plus a 3 s reply deadline to notice, ~1 s for
 * vac_disconnect on a dead VPP, then a connect and a sync; with room for a
 * loaded machine.
 */
const RECONNECT_MS = 30_000;

Deno.test({
  name:
    "real VPP: after VPP restarts (SIGTERM) or crashes (SIGKILL) the daemon reprograms it",
  ignore: VPP === undefined,
  async fn() {
    await using vpp = await RealVpp.start();
    await using d = await startProgrammed(vpp);
    // The new VPP must get the current health, not the config's defaults.
    d.backends.get("b")!.healthy = false;
    const want = { [A]: 100, [B]: 0, [C]: 0 };
    await vpp.waitVips("b at 0", (vs) => sameWeights(weightsIn(vs), want));

    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      const lost = nextRecord(d, "vpp-disconnect", RECONNECT_MS);
      const back = nextRecord(d, "vpp-connect", RECONNECT_MS);
      await vpp.restart(signal);
      const pid = vpp.pid;
      await lost;
      const connect = await back;
      assert.equal(connect.pid, pid, `${signal}: connected to the new VPP`);
      const vips = await vpp.waitVips(
        `${signal}: web programmed again with b at 0`,
        (vs) => sameWeights(weightsIn(vs), want),
        RECONNECT_MS,
      );
      assert.equal(vips.length, 1);
      assert.equal(vips[0].newSize, 1024);
      assert.equal(vips[0].type, "ip4-gre4");
      await waitFor(`${signal}: lb conf pushed again`, async () => {
        const c = await vpp.conf();
        return c.ip4Src === SRC4 && c.ip6Src === SRC6 ? true : undefined;
      });
    }
  },
});

/** `n` more frontends on the fixture's backends, appended to its config. */
function withFrontends(config: string, n: number): string {
  const more: string[] = [];
  for (let i = 0; i < n; i++) {
    more.push(
      `    extra${i}:
      address: 198.18.${i >> 8}.${i & 255}
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends:
            a: {}
            b: {}
        - name: backup
          backends:
            c: {}`,
    );
  }
  return `${config.trimEnd()}\n${more.join("\n")}\n`;
}

Deno.test({
  name:
    "real VPP: VPP killed in the middle of a large sync: the daemon lives, keeps probing, and finishes the job on the new VPP",
  ignore: VPP === undefined,
  async fn() {
    await using vpp = await RealVpp.start();
    await using d = await startProgrammed(vpp, {
      minDelay: "0s",
      maxDelay: "0s",
    });
    const want = ALL_UP;
    const N = 400;
    const ops = d.process.records.filter((r) => r.msg === "vpp-lb-op").length;
    // A reload adds N frontends: a sync of about 4 × N operations. Kill VPP
    // as soon as the first of them is acknowledged.
    const config = withFrontends(await Deno.readTextFile(d.configPath), N);
    await Deno.writeTextFile(d.configPath, config);
    d.process.child.kill("SIGHUP");
    await waitFor(
      "the reload's sync under way",
      () =>
        d.process.records.filter((r) => r.msg === "vpp-lb-op").length >
          ops + 10,
      15_000,
      1,
    );
    const back = nextRecord(d, "vpp-connect", RECONNECT_MS);
    const killed = vpp.kill("SIGKILL");
    const acked = d.process.records.filter((r) =>
      r.msg === "vpp-lb-op"
    ).length - ops;
    assert.ok(
      acked < 4 * N,
      `the sync was over (${acked} ops) before the kill`,
    );
    await killed;
    await vpp.restart();
    await back;
    const all = await vpp.waitVips(
      `all ${N + 1} VIPs programmed on the new VPP`,
      (vs) =>
        vs.length === N + 1 &&
        vs.every((v) => sameWeights(liveWeights(v), want)),
      RECONNECT_MS,
    );
    assert.equal(all.length, N + 1);
    // The daemon never stopped: still running, every backend up, and
    // probing goes on (each backend's last probe moves).
    let exited = false;
    void d.process.exited.then(() => exited = true);
    const { client, close } = connectMaglev(d.grpcAddr);
    try {
      const first = await client.listBackends({});
      assert.ok(
        first.backends.every((b) => b.state === "up"),
        JSON.stringify(first.backends.map((b) => [b.name, b.state])),
      );
      const at = new Map(
        first.backends.map((b) => [b.name, b.lastProbe?.atUnixNs ?? 0n]),
      );
      await waitFor("every backend probed again", async () => {
        const r = await client.listBackends({});
        return r.backends.every((b) =>
            (b.lastProbe?.atUnixNs ?? 0n) > (at.get(b.name) ?? 0n)
          )
          ? true
          : undefined;
      }, 10_000);
    } finally {
      close();
    }
    assert.equal(exited, false, `the daemon exited; log:\n${d.process.tail()}`);
  },
});
