/**
 * Child process of stats_real_test.ts: hammers one VppStats with
 * concurrent reads, heartbeats and disconnects, the way the daemon's 5 s
 * counter timer, the read after a connect and a link drop overlap. It runs
 * in its own process so that a SIGSEGV inside libvppapiclient fails the
 * test instead of killing the test runner.
 *
 * Usage: deno run -A _stats_hammer.ts LIB STATS_SOCKET ROUNDS
 * Prints one JSON line per 10 rounds ({round, ok, failed, lastError}) and
 * `{"done":…}` at the end. Stops early when stdin closes.
 */

import { openVppLibrary } from "../../src/vpp/ffi.ts";
import { exactPattern, VppStats } from "../../src/vpp/stats.ts";

const [lib, socketPath, roundsArg] = Deno.args;
const rounds = Number(roundsArg ?? 200);
const stats = new VppStats(openVppLibrary(lib), { socketPath });
const targets = new Map([
  ["a", { vipIndex: 1, routeStatsIndex: 1 }],
  ["b", { vipIndex: 2, routeStatsIndex: 8 }],
]);

let stop = false;
void (async () => {
  // The parent closes stdin to end the run early.
  for await (const _ of Deno.stdin.readable) {
    // ignore input
  }
  stop = true;
})();

let ok = 0;
let failed = 0;
let lastError = "";
const count = async (p: Promise<unknown>) => {
  try {
    await p;
    ok++;
  } catch (e) {
    failed++;
    lastError = e instanceof Error ? e.message : String(e);
  }
};

const out = (o: unknown) => console.log(JSON.stringify(o));
let round = 0;
for (; round < rounds && !stop; round++) {
  const work: Promise<void>[] = [];
  for (let i = 0; i < 4; i++) work.push(count(stats.readVipCounters(targets)));
  work.push(count(stats.bootTime()));
  work.push(
    count(stats.read([exactPattern("/sys/heartbeat")], new Set(), new Set())),
  );
  // Only once mapped: heartbeat never connects by itself.
  if (stats.connected) work.push(count(Promise.resolve(stats.heartbeat())));
  // The link drops while reads run (what create.ts does on "disconnected").
  if (round % 3 === 1) work.push(count(Promise.resolve(stats.disconnect())));
  await Promise.all(work);
  if (round % 10 === 9) out({ round: round + 1, ok, failed, lastError });
}
await stats.disconnect();
out({ done: round, ok, failed, lastError });
Deno.exit(0);
