/**
 * `maglev ctl show backends` one-shot wall time against a daemon with N
 * backends, from the bundled build (`maglev.js` of `deno task bundle`, built
 * fresh into a temp dir), the way an operator's script runs it.
 *
 * ```sh
 * deno run -A tests/bench/ctl_oneshot.ts --backends 1000 --runs 30
 * ```
 *
 * The backends point at closed loopback ports (state does not matter for
 * the listing; every backend is down with a full history). Prints median,
 * p90 and max wall time of the whole process (start to exit), and the same
 * for `maglev version` as the floor that runtime start-up alone costs.
 * @module
 */
import {
  Child,
  Cleanup,
  freePort,
  guard,
  numFlag,
  parseArgs,
  ROOT,
} from "./_lib.ts";

const args = parseArgs(Deno.args);
const backends = numFlag(args, "backends", 1000);
const runs = numFlag(args, "runs", 30);

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function timeRuns(cmd: string[], n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: cmd,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    times.push(performance.now() - t0);
    if (!out.success) {
      throw new Error(
        `${cmd.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`,
      );
    }
  }
  return times.sort((a, b) => a - b);
}

const cleanup = new Cleanup();
const stopGuard = guard(cleanup, 10 * 60_000);
try {
  const dir = await Deno.makeTempDir({ prefix: "maglev-ctl-bench-" });
  cleanup.dir(dir);
  const bundle = `${dir}/release/maglev.js`;
  const built = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${ROOT}tools/bundle.ts`,
      "--out-dir",
      `${dir}/release`,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!built.success) throw new Error(new TextDecoder().decode(built.stderr));

  const lines = ["maglev:", "  healthchecks:"];
  lines.push(
    "    hc:",
    "      type: tcp",
    "      port: 1",
    "      interval: 2s",
    "      timeout: 500ms",
  );
  lines.push("  backends:");
  for (let i = 0; i < backends; i++) {
    const a = `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    lines.push(`    b${i}: { address: ${a}, healthcheck: hc }`);
  }
  await Deno.writeTextFile(`${dir}/maglev.yaml`, lines.join("\n") + "\n");
  const grpc = `127.0.0.1:${freePort()}`;
  const daemon = new Child("daemon", Deno.execPath(), [
    "run",
    "-A",
    bundle,
    "daemon",
    "--config",
    `${dir}/maglev.yaml`,
    "--vpp=false",
    "--metrics-addr",
    "",
    "--grpc-addr",
    grpc,
    "--log-level",
    "warn",
  ]);
  cleanup.child(daemon);
  // Ready when the listing has every backend.
  const deadline = performance.now() + 60_000;
  for (;;) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", bundle, "ctl", "--server", grpc, "show", "backends"],
      stdout: "piped",
      stderr: "null",
    }).output();
    const rows = new TextDecoder().decode(out.stdout).trim().split("\n");
    if (out.success && rows.length === backends + 1) break;
    if (performance.now() > deadline) {
      throw new Error(
        `daemon never listed ${backends} backends:\n${daemon.tail()}`,
      );
    }
  }
  const show = await timeRuns(
    ["run", "-A", bundle, "ctl", "--server", grpc, "show", "backends"],
    runs,
  );
  const version = await timeRuns(["run", "-A", bundle, "version"], runs);
  const fmt = (t: number[]) =>
    `median ${quantile(t, 0.5).toFixed(0)} ms, p90 ${
      quantile(t, 0.9).toFixed(0)
    } ms, max ${t[t.length - 1].toFixed(0)} ms`;
  console.log(
    `ctl show backends (${backends} backends, ${runs} runs): ${fmt(show)}`,
  );
  console.log(`maglev version (start-up floor, ${runs} runs): ${fmt(version)}`);
  console.log(JSON.stringify({
    bench: "ctl_oneshot",
    backends,
    runs,
    showMedianMs: quantile(show, 0.5),
    showP90Ms: quantile(show, 0.9),
    versionMedianMs: quantile(version, 0.5),
  }));
} finally {
  await cleanup.run();
  stopGuard();
}
