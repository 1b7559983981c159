/**
 * A hitless daemon restart against a real VPP: VPP keeps forwarding while
 * the daemon is away, and the new daemon's default warmup (5 s / 30 s)
 * must not change a single weight of a VPP that is already right.
 */
import assert from "node:assert/strict";
import { liveWeights, RealVpp, VPP } from "../helpers/realvpp.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  A,
  B,
  C,
  sameWeights,
  SRC4,
  SRC6,
  startOn,
  WEB,
  weightsIn,
} from "./_helpers.ts";

/** How often VPP is read while the daemon restarts. */
const SAMPLE_MS = 50;

/** One read of web's VIP. */
interface Sample {
  readonly atMs: number;
  readonly index?: number;
  readonly weights?: Record<string, number>;
}

Deno.test({
  name:
    "real VPP: a daemon restart with the default warmup changes no weight in VPP",
  ignore: VPP === undefined,
  async fn() {
    await using vpp = await RealVpp.start();
    const want = { [A]: 100, [B]: 100, [C]: 0 };
    const first = await startOn(vpp);
    let firstClosed = false;
    const samples: Sample[] = [];
    let sampling = true;
    let sampler: Promise<void> | undefined;
    try {
      const vips = await vpp.waitVips(
        "web programmed by the first daemon",
        (vs) => sameWeights(weightsIn(vs), want),
        15_000,
      );
      const index = vips.find((v) => v.prefix === WEB)!.index;
      assert.deepEqual(await vpp.conf(), { ip4Src: SRC4, ip6Src: SRC6 });

      const t0 = performance.now();
      // Bounded by the flag and, should the test hang, by a hard limit.
      sampler = (async () => {
        while (sampling && performance.now() - t0 < 120_000) {
          const at = performance.now();
          const v = await vpp.vip(WEB, 80);
          samples.push({
            atMs: at - t0,
            index: v?.index,
            weights: v && liveWeights(v),
          });
          const pause = SAMPLE_MS - (performance.now() - at);
          if (pause > 0) await new Promise((r) => setTimeout(r, pause));
        }
      })();
      await waitFor("a first sample", () => samples.length > 0 || undefined);

      firstClosed = true;
      await first.close(); // SIGTERM
      await using second = await startOn(vpp, { defaultWarmup: true });
      await second.process.waitForRecord(
        (r) => r.msg === "vpp-connect",
        "the new daemon connected",
        15_000,
      );
      await second.process.waitForRecord(
        (r) => r.msg === "vpp-warmup-done",
        "the new daemon's warmup over (startup-max-delay 30 s)",
        45_000,
      );
      sampling = false;
      await sampler;

      const bad = samples.filter((s) =>
        s.index !== index || !sameWeights(s.weights, want)
      );
      assert.deepEqual(
        bad.slice(0, 5),
        [],
        `${bad.length} of ${samples.length} reads of VPP differed from ` +
          `index ${index} ${JSON.stringify(want)}`,
      );
      const gaps = samples.slice(1).map((s, i) => s.atMs - samples[i].atMs);
      const maxGap = Math.max(...gaps);
      // The reads must cover the whole restart: a long stall could hide a
      // drain-and-restore.
      assert.ok(
        maxGap < 2000,
        `VPP went unread for ${Math.round(maxGap)} ms`,
      );
      assert.ok(samples.length > 100, `only ${samples.length} reads`);
      assert.deepEqual(
        second.process.records.filter((r) =>
          r.msg === "vpp-lb-op" || r.msg === "vpp-lb-conf-set"
        ),
        [],
        "the new daemon sent no change",
      );
    } finally {
      sampling = false;
      await sampler;
      if (!firstClosed) await first.close();
    }
  },
});
