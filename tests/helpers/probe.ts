/**
 * Running probes in tests: with the deadline contract asserted on every
 * call, or in a separate process (other privileges or namespace).
 */
import assert from "node:assert/strict";
import type { HealthCheckConfig } from "../../src/config/types.ts";
import type {
  Prober,
  ProbeResult,
  ProbeTarget,
} from "../../src/probe/types.ts";
import { runCommand } from "./command.ts";
import { familyOf } from "./listeners.ts";

/** How late a verdict may be beyond the check's timeout on an idle machine. */
export const DEADLINE_SLACK_MS = 100;

/** A probe target for a loopback (or any literal) address. */
export function target(address: string): ProbeTarget {
  return { address, family: familyOf(address) };
}

/**
 * Measures how long this thread's event loop was kept from running (the
 * worst lateness of a 5 ms ticker) until `stop()`. On a starved machine no
 * timer fires on time, the prober's deadline timer included: the deadline
 * contract is that the prober adds nothing beyond that. (A prober that
 * blocked the loop itself would be excused here too; the checker's lateness
 * tests and benchmarks catch that.)
 */
export function watchLoopLag(): { stop(): number } {
  let worst = 0;
  let last = performance.now();
  const tick = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 5);
    last = now;
  }, 5);
  return {
    stop() {
      clearInterval(tick);
      return Math.max(worst, performance.now() - last - 5);
    },
  };
}

/**
 * Runs one probe and asserts the Prober contract: it resolves within
 * timeoutMs + DEADLINE_SLACK_MS (plus however long the event loop itself
 * was stalled meanwhile), `ok` matches the code, and durationMs is the
 * elapsed time.
 */
export async function probeWithin(
  prober: Prober,
  address: string,
  check: HealthCheckConfig,
): Promise<ProbeResult> {
  const lag = watchLoopLag();
  const start = performance.now();
  const r = await prober.probe(target(address), check);
  const ms = performance.now() - start;
  const stalled = lag.stop();
  assert.ok(
    ms <= check.timeoutMs + DEADLINE_SLACK_MS + stalled,
    `verdict after ${ms.toFixed(0)}ms (timeout ${check.timeoutMs}ms, ` +
      `event loop stalled ${stalled.toFixed(0)}ms): ${r.code} ${r.text}`,
  );
  assert.ok(r.durationMs <= ms + 1, `durationMs ${r.durationMs} > ${ms}`);
  assert.equal(r.ok, r.code.endsWith("OK"));
  return r;
}

/** What `probeInProcess` runs. */
export interface ProcessProbe {
  readonly target: ProbeTarget;
  readonly check: HealthCheckConfig;
  readonly netns?: string;
}

/**
 * Runs one probe through `probeOnce` in a fresh `deno` process, prefixed by
 * `wrapper` (e.g. `["setpriv", "--bounding-set=-net_raw", "--"]` or
 * `["ip", "netns", "exec", ns]`), and returns its result.
 */
export async function probeInProcess(
  req: ProcessProbe,
  wrapper: readonly string[] = [],
): Promise<ProbeResult> {
  const script = new URL("./probe_main.ts", import.meta.url).pathname;
  const argv = [
    ...wrapper,
    Deno.execPath(),
    "run",
    "-A",
    script,
    JSON.stringify(req),
  ];
  const out = await runCommand(argv[0], argv.slice(1));
  if (out.code !== 0) {
    throw new Error(`probe process exited ${out.code}: ${out.stderr.trim()}`);
  }
  return JSON.parse(out.stdout.trim().split("\n").pop()!) as ProbeResult;
}
