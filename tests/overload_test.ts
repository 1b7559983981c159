/**
 * A checker starved of CPU must not turn its own lateness into verdicts:
 * the daemon runs pinned to one CPU that busy loops also run on, against
 * backends that answer every probe. Timeouts happen (the daemon is not
 * scheduled in time), they are discarded, and no backend goes down.
 */
import assert from "node:assert/strict";
import { freePort, MaglevProcess, MAIN } from "./helpers/maglev.ts";
import { tempDir } from "./helpers/tmp.ts";
import { waitFor } from "./helpers/wait.ts";

const BACKENDS = 30;

/** Loopback listeners that accept and close: every tcp probe passes. */
function listeners(n: number) {
  // One loopback address each: a frontend's backends have distinct ones.
  const ls = Array.from(
    { length: n },
    (_, i) => Deno.listen({ hostname: `127.0.4.${i + 1}`, port: 0 }),
  );
  const loops = ls.map(async (l) => {
    try {
      for await (const c of l) c.close();
    } catch {
      // closed
    }
  });
  return {
    ports: ls.map((l) => (l.addr as Deno.NetAddr).port),
    async close() {
      for (const l of ls) l.close();
      await Promise.all(loops);
    },
  };
}

function config(ports: readonly number[]): string {
  const checks = ports.map((p, i) =>
    `    hc${i}: { type: tcp, port: ${p}, interval: 100ms, fast-interval: 100ms, down-interval: 100ms, timeout: 40ms, rise: 1, fall: 1 }`
  ).join("\n");
  const backends = ports.map((_, i) =>
    `    b${i}: { address: 127.0.4.${i + 1}, healthcheck: hc${i} }`
  ).join("\n");
  const members = ports.map((_, i) => `            b${i}: {}`).join("\n");
  return `maglev:
  healthchecks:
${checks}
  backends:
${backends}
  frontends:
    web:
      address: 192.0.2.1
      port: 80
      pools:
        - name: p
          backends:
${members}
`;
}

/** The sum of a counter family in Prometheus text. */
function sum(text: string, name: string): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return total;
}

Deno.test({
  name:
    "overload: a daemon starved of CPU (pinned with busy loops) discards its own timeouts; no healthy backend goes down",
  async fn() {
    await using tmp = await tempDir("maglev-overload-");
    const be = listeners(BACKENDS);
    const cfg = `${tmp.path}/maglev.yaml`;
    await Deno.writeTextFile(cfg, config(be.ports));
    const metrics = `127.0.0.1:${freePort()}`;
    const daemon = MaglevProcess.exec("taskset", [
      "-c",
      "0",
      Deno.execPath(),
      "run",
      "-A",
      MAIN,
      "daemon",
      "--config",
      cfg,
      "--vpp=false",
      "--grpc-addr",
      `127.0.0.1:${freePort()}`,
      "--metrics-addr",
      metrics,
      "--log-format",
      "json",
      "--state-file",
      "",
    ]);
    const busy: Deno.ChildProcess[] = [];
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
      for (let i = 0; i < 4; i++) {
        busy.push(
          new Deno.Command("taskset", {
            args: [
              "-c",
              "0",
              "nice",
              "-n",
              "-10",
              "sh",
              "-c",
              "while :; do :; done",
            ],
            stdin: "null",
            stdout: "null",
            stderr: "null",
          }).spawn(),
        );
      }
      const scrape = async () =>
        await (await fetch(`http://${metrics}/metrics`)).text();
      // Overloaded for real: the checker saw its own timeouts (bounded).
      const discarded = await waitFor(
        "probes discarded under load",
        async () => {
          const n = sum(await scrape(), "maglev_probe_discarded_total");
          return n >= 10 ? n : undefined;
        },
        30_000,
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
      for (const b of busy) {
        try {
          b.kill("SIGKILL");
        } catch {
          // gone
        }
        await b.status;
      }
      await daemon.stop("SIGTERM");
      await be.close();
    }
  },
});
