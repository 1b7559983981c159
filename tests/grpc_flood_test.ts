/**
 * Issue 13's first attack: 500 WatchEvents streams (log level debug) that
 * never read, against a daemon probing 50 healthy backends. Only 32 are
 * taken, each is dropped when its buffer is full, and no backend moves.
 */
import assert from "node:assert/strict";
import { connectMaglev } from "../src/api/client.ts";
import { startDaemon } from "./helpers/fixture.ts";
import { waitFor } from "./helpers/wait.ts";

const BACKENDS = 50;

/** Resident set and open files of a process, from /proc. */
function usage(pid: number): { rssMiB: number; fds: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  return { rssMiB: rss, fds: [...Deno.readDirSync(`/proc/${pid}/fd`)].length };
}

Deno.test({
  name:
    "grpc flood: 500 debug-level WatchEvents streams that never read: 32 taken and dropped in time, no backend moves, memory and files bounded",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using d = await startDaemon({
      backends: Array.from({ length: BACKENDS }, (_, i) => `b${i}`),
      // The backends answer from this process, which also runs the flood:
      // timeouts must be real (3 of 250 ms in a row) to move a backend.
      probe: { interval: "300ms", timeout: "250ms", fall: 3 },
    });
    const ups = () =>
      d.process.records.filter((r) =>
        r.msg === "backend-transition" && r.to === "up"
      ).length;
    await waitFor(
      "every backend up",
      () => ups() >= BACKENDS || undefined,
      20_000,
    );
    const settled = d.process.records.length;
    const pid = d.process.child.pid;
    const before = usage(pid);
    const conns = Array.from({ length: 10 }, () => connectMaglev(d.grpcAddr));
    const aborts: AbortController[] = [];
    let refused = 0;
    try {
      const opens = Array.from({ length: 500 }, async (_, i) => {
        const ac = new AbortController();
        aborts.push(ac);
        const it = conns[i % 10].client.watchEvents({
          log: true,
          logLevel: "debug",
          backend: true,
          frontend: true,
        }, { signal: ac.signal })[Symbol.asyncIterator]();
        try {
          await it.next(); // then never read again
        } catch {
          refused++;
        }
      });
      await Promise.all(opens);
      assert.equal(refused, 500 - 32, "only 32 streams taken");
      // The overflow guard drops every one that stopped reading.
      await waitFor(
        "the 32 silent streams dropped",
        () =>
          d.process.records.filter((r) => r.msg === "watch-subscriber-dropped")
              .length >= 32 || undefined,
        60_000,
        200,
      );
      const moved = d.process.records.slice(settled).filter((r) =>
        r.msg === "backend-transition"
      );
      assert.deepEqual(moved.slice(0, 3), [], `${moved.length} transitions`);
      // Opening and refusing 500 streams, and 32 that hold up to ~3 MB
      // each until dropped, cost about 200 MiB that V8 keeps; without the
      // limits it was 400-500 MiB within seconds, and growing.
      const after = usage(pid);
      assert.ok(
        after.rssMiB < before.rssMiB + 300,
        `RSS ${before.rssMiB.toFixed(0)} → ${after.rssMiB.toFixed(0)} MiB`,
      );
      assert.ok(
        after.fds < before.fds + 50,
        `fds ${before.fds} → ${after.fds}`,
      );
    } finally {
      for (const a of aborts) a.abort();
      for (const c of conns) c.close();
    }
  },
});
