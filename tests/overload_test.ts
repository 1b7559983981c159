/**
 * A checker starved of CPU must not turn its own lateness into verdicts:
 * the daemon runs pinned to one CPU that busy loops also run on, against
 * backends that answer every probe. Timeouts happen (the daemon is not
 * scheduled in time), they are discarded, and no backend goes down.
 */
import assert from "node:assert/strict";
import { freePort } from "./helpers/maglev.ts";
import { tempDir } from "./helpers/tmp.ts";
import { waitFor } from "./helpers/wait.ts";
import {
  busyLoops,
  listeners,
  overloadConfig,
  pinnedDaemon,
  sumMetric,
} from "./helpers/overload.ts";

const BACKENDS = 30;

Deno.test({
  name:
    "overload: a daemon starved of CPU (pinned with busy loops) discards its own timeouts; no healthy backend goes down",
  async fn() {
    await using tmp = await tempDir("maglev-overload-");
    const be = listeners(BACKENDS);
    const cfg = `${tmp.path}/maglev.yaml`;
    await Deno.writeTextFile(cfg, overloadConfig(be.ports));
    const metrics = `127.0.0.1:${freePort()}`;
    const daemon = pinnedDaemon(cfg, metrics, ["--vpp=false"]);
    let busy: ReturnType<typeof busyLoops> | undefined;
    try {
      const ups = () =>
        daemon.records.filter((r) =>
          r.msg === "backend-transition" && r.to === "up"
        ).length;
      await waitFor(
        "every backend up",
        () => ups() >= BACKENDS || undefined,
        20_000,
      ).catch((e) => {
        throw new Error(`${e.message}; log:\n${daemon.tail()}`);
      });
      const settled = daemon.records.length;
      // Four busy loops at a higher priority on the daemon's CPU.
      busy = busyLoops(4, 0);
      const scrape = async () =>
        await (await fetch(`http://${metrics}/metrics`)).text();
      // Overloaded for real: the checker saw its own timeouts (bounded).
      const discarded = await waitFor(
        "probes discarded under load",
        async () => {
          const n = sumMetric(await scrape(), "maglev_probe_discarded_total");
          return n >= 5 ? n : undefined;
        },
        60_000,
        250,
      );
      const moved = daemon.records.slice(settled).filter((r) =>
        r.msg === "backend-transition"
      );
      assert.deepEqual(
        moved.slice(0, 3),
        [],
        `${moved.length} transitions of healthy backends under load (${discarded} probes discarded)`,
      );
      console.log(`${discarded} probes discarded, no transition`);
    } finally {
      await busy?.stop();
      await daemon.stop("SIGTERM");
      await be.close();
    }
  },
});
