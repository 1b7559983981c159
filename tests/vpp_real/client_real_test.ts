/**
 * VppClient against a real VPP: long dumps under short deadlines, and a
 * VPP stopped with SIGSTOP while requests keep coming. Each scenario runs
 * in a child process (_client_scenario.ts): libvppapiclient allows one
 * connection per process, and a blocked event loop or a crash must fail
 * the test rather than hang or kill the runner.
 */

import assert from "node:assert/strict";
import { RealVpp, VPP } from "../helpers/realvpp.ts";

const SCENARIO = new URL("./_client_scenario.ts", import.meta.url).pathname;

async function scenario(
  v: RealVpp,
  name: string,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      SCENARIO,
      name,
      JSON.stringify({
        lib: v.install.lib,
        prefix: v.prefix,
        statsSocket: v.statsSocket,
        cliSocket: v.cliSocket,
        vppctl: v.install.vppctl,
        pid: v.pid,
      }),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  try {
    const out = await child.output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    const tail = `\nstdout:\n${stdout.slice(-4000)}\nstderr:\n${
      stderr.slice(-3000)
    }`;
    assert.equal(
      out.signal,
      null,
      `scenario ${name} died of ${out.signal}${tail}`,
    );
    assert.equal(out.code, 0, `scenario ${name} failed${tail}`);
    const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
    assert.ok(line, `scenario ${name} printed no result${tail}`);
    return JSON.parse(line.slice("RESULT ".length));
  } finally {
    clearTimeout(timer);
    // The child may have died with VPP stopped.
    if (v.pid !== undefined) {
      try {
        Deno.kill(v.pid, "SIGCONT");
      } catch {
        // gone
      }
    }
  }
}

Deno.test({
  name:
    "real VPP: 16,000-AS dumps outlast 400 ms deadlines; no timeout, no disconnect",
  ignore: VPP === undefined,
  async fn() {
    await using v = await RealVpp.start();
    const r = await scenario(v, "long-dumps", 180_000);
    console.log(
      `dump times (ms): ${
        JSON.stringify(r.dumpMs)
      }; longest silence ${r.maxGapMs} ms`,
    );
  },
});

Deno.test({
  name:
    "real VPP: SIGSTOP — the event loop runs on, the link is stalled (no reconnect), SIGCONT resumes it",
  ignore: VPP === undefined,
  async fn() {
    await using v = await RealVpp.start();
    const r = await scenario(v, "sigstop", 120_000);
    console.log(`while stopped: ${JSON.stringify(r)}`);
  },
});
