/**
 * VPP restarting under a running daemon (same api-segment prefix and
 * sockets, empty tables): the daemon notices, reconnects, and programs the
 * new VPP from scratch — lb conf, VIP, and the weights health says now.
 */
import assert from "node:assert/strict";
import { RealVpp, VPP } from "../helpers/realvpp.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  A,
  B,
  C,
  nextRecord,
  sameWeights,
  SRC4,
  SRC6,
  startOn,
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
    await using d = await startOn(vpp);
    await vpp.waitVips(
      "web programmed",
      (vs) => sameWeights(weightsIn(vs), { [A]: 100, [B]: 100, [C]: 0 }),
      15_000,
    );
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
