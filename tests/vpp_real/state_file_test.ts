/**
 * The state file against a real VPP: a daemon killed with SIGKILL and
 * started again keeps every operator choice (pause, disable, runtime
 * weight) in VPP, at every moment of the restart, also when the kill comes
 * at a random point right after an operator action.
 */
import assert from "node:assert/strict";
import { connectMaglev } from "../../src/api/client.ts";
import { parseState } from "../../src/daemon/state_file.ts";
import type { DaemonFixture } from "../helpers/fixture.ts";
import { MaglevProcess } from "../helpers/maglev.ts";
import { liveWeights, RealVpp, VPP } from "../helpers/realvpp.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  A,
  B,
  C,
  sameWeights,
  startProgrammed,
  WEB,
  weightsIn,
} from "./_helpers.ts";

/** The daemon of `d` again, on the same config, sockets and state file. */
function restart(d: DaemonFixture, vpp: RealVpp, state: string): MaglevProcess {
  return new MaglevProcess([
    "daemon",
    "--config",
    d.configPath,
    "--vpp-lib",
    vpp.install.lib,
    "--vpp-api-prefix",
    vpp.prefix,
    "--vpp-stats-socket",
    vpp.statsSocket,
    "--grpc-addr",
    d.grpcAddr,
    "--metrics-addr",
    d.metricsAddr,
    "--log-format",
    "json",
    "--state-file",
    state,
  ]);
}

async function kill(p: MaglevProcess): Promise<void> {
  p.child.kill("SIGKILL");
  await p.exited;
}

/** Reads web's weights every 50 ms until stopped (bounded to 2 minutes). */
function sampler(vpp: RealVpp) {
  const samples: { atMs: number; weights?: Record<string, number> }[] = [];
  let on = true;
  const t0 = performance.now();
  const done = (async () => {
    while (on && performance.now() - t0 < 120_000) {
      const at = performance.now();
      const v = await vpp.vip(WEB, 80);
      samples.push({ atMs: at - t0, weights: v && liveWeights(v) });
      const pause = 50 - (performance.now() - at);
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
    }
  })();
  return {
    samples,
    /** On the samples' clock. */
    now: () => performance.now() - t0,
    async stop() {
      on = false;
      await done;
    },
  };
}

Deno.test({
  name:
    "real VPP: SIGKILL and restart keep a pause, a disable and a runtime weight in VPP at every moment (sampled every 50 ms)",
  ignore: VPP === undefined,
  async fn() {
    await using vpp = await RealVpp.start();
    const dir = await Deno.makeTempDir({ prefix: "maglev-state-real-" });
    const state = `${dir}/state.json`;
    let second: MaglevProcess | undefined;
    try {
      await using first = await startProgrammed(vpp, {
        flags: ["--state-file", state],
      });
      const api = connectMaglev(first.grpcAddr);
      try {
        await api.client.pauseBackend({ name: "a" });
        await api.client.disableBackend({ name: "b" });
        await api.client.setFrontendPoolBackendWeight({
          frontend: "web",
          pool: "primary",
          backend: "a",
          weight: 7,
        });
      } finally {
        api.close();
      }
      const want = { [A]: 7, [B]: 0, [C]: 0 };
      await vpp.waitVips(
        "the operator's choices in VPP",
        (vs) => sameWeights(weightsIn(vs), want),
      );
      // Without the state file a restarted daemon would probe a, find it
      // sick and zero it, and give healthy b its weight back.
      first.backends.get("a")!.healthy = false;

      const s = sampler(vpp);
      let killedAt = 0, syncedAt = 0;
      try {
        await waitFor(
          "a read before the kill",
          () => s.samples.length > 0 || undefined,
        );
        killedAt = s.now();
        await kill(first.process);
        second = restart(first, vpp, state);
        const restored = await second.waitForRecord(
          (r) => r.msg === "state-restored",
          "the state restored",
          20_000,
        );
        assert.equal(restored.paused, 1);
        assert.equal(restored.disabled, 1);
        assert.equal(restored.weights, 1);
        await second.waitForRecord((r) => r.msg === "ready", "ready", 20_000);
        await second.waitForRecord(
          (r) => r.msg === "vpp-connect",
          "connected",
          20_000,
        );
        const api2 = connectMaglev(first.grpcAddr);
        try {
          // c's first probe: the restarted daemon has its own verdicts.
          await waitFor(
            "c probed by the restarted daemon",
            async () =>
              (await api2.client.getBackend({ name: "c" })).state === "up" ||
              undefined,
            15_000,
          );
          // A full sync: VPP already holds what the operator chose.
          assert.deepEqual(
            (await api2.client.syncVPPLBState({})).operations,
            [],
          );
          assert.equal(
            (await api2.client.getBackend({ name: "a" })).state,
            "paused",
          );
          assert.equal(
            (await api2.client.getBackend({ name: "b" })).state,
            "disabled",
          );
        } finally {
          api2.close();
        }
        syncedAt = s.now();
        // Reads after the sync too, then stop.
        const n = s.samples.length;
        await waitFor(
          "two reads after the sync",
          () => s.samples.length >= n + 2 || undefined,
        );
      } finally {
        await s.stop();
      }
      const bad = s.samples.filter((x) => !sameWeights(x.weights, want));
      assert.deepEqual(
        bad.slice(0, 5),
        [],
        `${bad.length} of ${s.samples.length} reads differed from ${
          JSON.stringify(want)
        }`,
      );
      // The reads cover the restart: one before the kill, none far apart,
      // the last after the full sync.
      assert.ok(s.samples[0].atMs < killedAt);
      assert.ok(s.samples.at(-1)!.atMs > syncedAt);
      const gaps = s.samples.slice(1).map((x, i) => x.atMs - s.samples[i].atMs);
      assert.ok(Math.max(...gaps) < 1000, `a gap of ${Math.max(...gaps)} ms`);
      // The one thing it may send: the flush of disabled b again, at the
      // weight it has. Which flushes VPP already got is not kept across a
      // restart, and flushing an AS at weight 0 twice changes nothing.
      assert.deepEqual(
        second.records.filter((r) =>
          r.msg === "vpp-lb-op" &&
          !/^set weight 0 flush for as 127\.0\.3\.2 /.test(String(r.op))
        ),
        [],
        "the restarted daemon changed no weight in VPP",
      );
    } finally {
      if (second) await kill(second);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "real VPP: a weight the API confirmed survives a SIGKILL at a random moment right after it",
  ignore: VPP === undefined,
  async fn() {
    await using vpp = await RealVpp.start();
    const dir = await Deno.makeTempDir({ prefix: "maglev-state-real-" });
    const state = `${dir}/state.json`;
    let current: MaglevProcess | undefined;
    try {
      await using first = await startProgrammed(vpp, {
        flags: ["--state-file", state],
      });
      current = first.process;
      const seen: string[] = [];
      for (let i = 0; i < 3; i++) {
        const weight = 1 + Math.floor(Math.random() * 99);
        const delayMs = Math.floor(Math.random() * 30);
        seen.push(`${weight} after ${delayMs} ms`);
        const api = connectMaglev(first.grpcAddr);
        try {
          await api.client.setFrontendPoolBackendWeight({
            frontend: "web",
            pool: "primary",
            backend: "b",
            weight,
          });
        } finally {
          api.close();
        }
        await new Promise((r) => setTimeout(r, delayMs));
        await kill(current);
        // Whole and current whenever the kill came.
        const saved = parseState(await Deno.readTextFile(state));
        assert.deepEqual(
          saved.weights.map((w) => [w.backend, w.weight]),
          [["b", weight]],
          seen.join(", "),
        );
        current = restart(first, vpp, state);
        await current.waitForRecord((r) => r.msg === "ready", "ready", 20_000);
        await vpp.waitVips(
          `b at ${weight} after the restart (${seen.join(", ")})`,
          (vs) => sameWeights(weightsIn(vs), { [A]: 100, [B]: weight, [C]: 0 }),
          15_000,
        );
      }
    } finally {
      if (current) await kill(current);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
