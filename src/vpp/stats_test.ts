import assert from "node:assert/strict";
import {
  exactPattern,
  LB_COUNTERS,
  ROUTE_COUNTER,
  type StatEntry,
  vipCountersFrom,
} from "./stats.ts";
import { asObject, goldenFiles, type Json } from "./_golden.ts";

const GOLDEN = goldenFiles();

/** A golden stats file as the FFI reader would return it (sums over threads at every index). */
function entriesOf(file: string): StatEntry[] {
  const g = asObject(GOLDEN.get(file), file);
  assert.ok(Array.isArray(g.entries));
  return g.entries.map((raw: Json) => {
    const e = asObject(raw, "entry");
    const name = String(e.name);
    const type = Number(e.type);
    if (Array.isArray(e.simple_counter_vec)) {
      const sums = new Map<number, number>();
      for (const thread of e.simple_counter_vec as number[][]) {
        thread.forEach((v, i) => sums.set(i, (sums.get(i) ?? 0) + v));
      }
      return { name, type, simple: sums };
    }
    const sums = new Map<number, { packets: number; bytes: number }>();
    for (
      const thread of e.combined_counter_vec as {
        packets: number;
        bytes: number;
      }[][]
    ) {
      thread.forEach((v, i) => {
        const p = sums.get(i) ?? { packets: 0, bytes: 0 };
        sums.set(i, {
          packets: p.packets + v.packets,
          bytes: p.bytes + v.bytes,
        });
      });
    }
    return { name, type, combined: sums };
  });
}

const TARGETS = new Map([
  ["192.0.2.1/32 6 80", { vipIndex: 1, routeStatsIndex: 8 }],
  ["2001:db8::1/128 17 53", { vipIndex: 2, routeStatsIndex: 10 }],
]);

Deno.test("stats: golden counters after traffic map to each VIP", () => {
  const got = vipCountersFrom(entriesOf("stats_lb_counters.json"), TARGETS);
  assert.deepEqual(got.get("192.0.2.1/32 6 80"), {
    next: 4,
    first: 1,
    untracked: 0,
    noServer: 0,
    routePackets: 7, // includes the 2 packets to port 81 (no VIP there)
    routeBytes: 700,
  });
  assert.deepEqual(got.get("2001:db8::1/128 17 53"), {
    next: 2,
    first: 1,
    untracked: 0,
    noServer: 0,
    routePackets: 3,
    routeBytes: 360,
  });
});

Deno.test("stats: before traffic everything is 0; missing entries and indexes count as 0", () => {
  for (
    const c of vipCountersFrom(
      entriesOf("stats_lb_counters.before_traffic.json"),
      TARGETS,
    ).values()
  ) {
    assert.deepEqual(Object.values(c), [0, 0, 0, 0, 0, 0]);
  }
  // A fresh VPP has no lb counters at all; a VIP without indexes is all zeros.
  const none = vipCountersFrom(
    [],
    new Map([["x", {}], ["y", { vipIndex: 9, routeStatsIndex: 99 }]]),
  );
  assert.deepEqual(Object.values(none.get("x")!), [0, 0, 0, 0, 0, 0]);
  assert.deepEqual(Object.values(none.get("y")!), [0, 0, 0, 0, 0, 0]);
});

Deno.test("stats: patterns are anchored POSIX basic regexes", () => {
  assert.equal(exactPattern(LB_COUNTERS.first), "^first session packet$");
  assert.equal(exactPattern(ROUTE_COUNTER), "^/net/route/to$");
  assert.equal(exactPattern("a.b*c[d]"), "^a\\.b\\*c\\[d\\]$");
  // The golden capture used exactly these patterns.
  const g = asObject(GOLDEN.get("stats_lb_counters.json"), "f");
  assert.deepEqual(
    [...Object.values(LB_COUNTERS), ROUTE_COUNTER].map(exactPattern).sort(),
    (g.patterns as string[]).slice().sort(),
  );
});
