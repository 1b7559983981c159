/**
 * VppClient against a real VPP: long dumps under short deadlines, and a
 * VPP stopped with SIGSTOP while requests keep coming. Each scenario runs
 * in a child process (_client_scenario.ts): libvppapiclient allows one
 * connection per process, and a blocked event loop or a crash must fail
 * the test rather than hang or kill the runner.
 */

import { RealVpp, runVppScenario, VPP } from "../helpers/realvpp.ts";

const SCENARIO = new URL("./_client_scenario.ts", import.meta.url);

async function scenario(
  v: RealVpp,
  name: string,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  return JSON.parse(await runVppScenario(SCENARIO, v, name, timeoutMs));
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

Deno.test({
  name:
    "real VPP: replies already queued are read in batches, each to its caller, in order",
  ignore: VPP === undefined,
  async fn() {
    await using v = await RealVpp.start();
    const r = await scenario(v, "batched-reads", 60_000);
    console.log(`batched reads: ${JSON.stringify(r)}`);
  },
});
