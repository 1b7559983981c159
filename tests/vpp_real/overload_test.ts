/**
 * CPU starvation with a real VPP in the loop: the daemon, pinned to a CPU
 * that busy loops take at a higher priority, discards the timeouts it
 * causes itself, and VPP keeps every healthy backend at its weight.
 */
import assert from "node:assert/strict";
import { freePort } from "../helpers/maglev.ts";
import {
  busyLoops,
  listeners,
  overloadConfig,
  pinnedDaemon,
  sumMetric,
} from "../helpers/overload.ts";
import { liveWeights, RealVpp, VPP } from "../helpers/realvpp.ts";
import { tempDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";
import { SRC4, SRC6, WEB } from "./_helpers.ts";

const BACKENDS = 30;

Deno.test({
  name:
    "real VPP: a daemon starved of CPU moves no weight in VPP; its own timeouts are discarded (VPP read every 200 ms)",
  ignore: VPP === undefined,
  async fn() {
    await using vpp = await RealVpp.start();
    // VPP off the starved CPU when there is another one.
    if (navigator.hardwareConcurrency > 1 && vpp.pid !== undefined) {
      await new Deno.Command("taskset", {
        args: ["-a", "-p", "-c", "1", String(vpp.pid)],
        stdout: "null",
      }).output();
    }
    await using tmp = await tempDir("maglev-overload-vpp-");
    const be = listeners(BACKENDS);
    const cfg = `${tmp.path}/maglev.yaml`;
    await Deno.writeTextFile(
      cfg,
      overloadConfig(
        be.ports,
        `  vpp:
    lb:
      ipv4-src-address: ${SRC4}
      ipv6-src-address: ${SRC6}
      startup-min-delay: 0s
      startup-max-delay: 0s
`,
      ),
    );
    const metrics = `127.0.0.1:${freePort()}`;
    const daemon = pinnedDaemon(cfg, metrics, vpp.daemonFlags());
    let busy: ReturnType<typeof busyLoops> | undefined;
    const seen: Record<string, number>[] = [];
    let sampling = false;
    let sampler: Promise<void> | undefined;
    try {
      const all = Object.fromEntries(be.addresses.map((a) => [a, 100]));
      const allUp = (w: Record<string, number> | undefined) =>
        w !== undefined && be.addresses.every((a) => w[a] === 100) &&
        Object.keys(w).length === BACKENDS;
      await waitFor(
        "every AS at 100 in VPP",
        async () => {
          const v = await vpp.vip(WEB, 80);
          return allUp(v && liveWeights(v)) || undefined;
        },
        30_000,
        100,
      ).catch((e) => {
        throw new Error(`${e.message}; log:\n${daemon.tail()}`);
      });
      const settled = daemon.records.length;
      busy = busyLoops(4, 0);
      sampling = true;
      sampler = (async () => {
        for (let i = 0; sampling && i < 600; i++) {
          const v = await vpp.vip(WEB, 80);
          seen.push(v ? liveWeights(v) : {});
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
      const discarded = await waitFor(
        "probes discarded under load",
        async () => {
          const text = await (await fetch(`http://${metrics}/metrics`)).text();
          const n = sumMetric(text, "maglev_probe_discarded_total");
          return n >= 5 ? n : undefined;
        },
        60_000,
        250,
      );
      sampling = false;
      await sampler;
      const moved = daemon.records.slice(settled).filter((r) =>
        r.msg === "backend-transition" || r.msg === "vpp-lb-op"
      );
      assert.deepEqual(moved.slice(0, 3), [], `${moved.length} changes`);
      const off = seen.filter((w) => !allUp(w));
      assert.deepEqual(
        off.slice(0, 2),
        [],
        `${off.length} of ${seen.length} reads of VPP differed from ${
          JSON.stringify(all).slice(0, 80)
        }…`,
      );
      assert.ok(seen.length >= 2, "VPP read during the load");
      console.log(
        `${discarded} probes discarded, ${seen.length} reads of VPP unchanged`,
      );
    } finally {
      sampling = false;
      await sampler;
      await busy?.stop();
      await daemon.stop("SIGTERM");
      await be.close();
    }
  },
});
