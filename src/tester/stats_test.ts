import assert from "node:assert/strict";
import { LatencyWindow, percentile, summarize } from "./stats.ts";

Deno.test("percentile: nearest rank, always a sample", () => {
  const v = Float64Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  assert.equal(percentile(v, 50), 50);
  assert.equal(percentile(v, 95), 95);
  assert.equal(percentile(v, 99), 99);
  assert.equal(percentile(v, 100), 100);
  assert.equal(percentile([7], 50), 7);
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([1, 2, 3], 50), 2);
  assert.equal(percentile([1, 2], 50), 1);
  assert.ok(Number.isNaN(percentile([], 50)));
});

Deno.test("summarize: unsorted input, one outlier shows in p99 and max only", () => {
  const values = [...Array(99).fill(1), 250];
  values.reverse();
  const s = summarize(values);
  assert.deepEqual(s, { count: 100, p50: 1, p95: 1, p99: 1, max: 250 });
  assert.equal(summarize([]), undefined);
});

Deno.test("window: only samples of the last windowMs count", () => {
  const w = new LatencyWindow(1000);
  w.add(0, 100);
  w.add(500, 1);
  w.add(900, 2);
  assert.equal(w.summary(900)?.max, 100);
  assert.equal(w.summary(1400)?.count, 2, "the sample at 0 is too old");
  assert.equal(w.summary(1400)?.max, 2);
  assert.equal(w.summary(5000), undefined);
});

Deno.test("window: capacity keeps the newest samples", () => {
  const w = new LatencyWindow(1e9, 4);
  for (let i = 1; i <= 10; i++) w.add(i, i);
  assert.deepEqual([...w.values(10)], [7, 8, 9, 10]);
});

Deno.test("window: grows only as far as the probe rate needs", () => {
  const slow = new LatencyWindow(30_000);
  // One sample a second for ten minutes: 31 in the window at most.
  for (let t = 0; t < 600_000; t += 1000) slow.add(t, 1);
  assert.equal(slow.allocated, 64);
  const fast = new LatencyWindow(30_000);
  // One every 10 ms: 3000 in the window.
  for (let t = 0; t < 60_000; t += 10) fast.add(t, t);
  assert.equal(fast.values(59_990).length, 3001);
  assert.equal(fast.values(59_990)[0], 29_990, "oldest first, in order");
  assert.ok(fast.allocated <= 4096);
});
