import assert from "node:assert/strict";
import {
  HeaderTally,
  MAX_VALUES,
  NO_HEADER,
  OTHER_VALUES,
  recentWindowMs,
} from "./tally.ts";

Deno.test("tally: totals, shares and receiving vs drained", () => {
  const t = new HeaderTally(1000);
  t.add("b1", 0);
  t.add("b2", 100);
  t.add("b3", 200);
  t.add("b1", 900);
  let e = t.entries(1000);
  assert.deepEqual(e.map((x) => [x.value, x.total, x.recent, x.state]), [
    ["b1", 2, 2, "receiving"],
    ["b2", 1, 1, "receiving"],
    ["b3", 1, 1, "receiving"],
  ]);
  assert.equal(e[0].share, 0.5);
  // b2 and b3 stop answering: after the window they are drained.
  t.add("b1", 1500);
  e = t.entries(1500);
  assert.deepEqual(e.map((x) => [x.value, x.state]), [
    ["b1", "receiving"],
    ["b2", "drained"],
    ["b3", "drained"],
  ]);
  assert.equal(e[1].lastMs, 100);
  assert.equal(e[0].share, 1);
  // b2 comes back.
  t.add("b2", 1600);
  assert.equal(t.entries(1600)[1].state, "receiving");
  assert.deepEqual(t.totals(), { b1: 3, b2: 2, b3: 1 });
});

Deno.test("tally: a missing header and too many values have stand-ins", () => {
  const t = new HeaderTally(1000);
  assert.equal(t.add(undefined, 0), NO_HEADER);
  for (let i = 0; i < MAX_VALUES + 5; i++) t.add(`v${i}`, i);
  const totals = t.totals();
  assert.equal(Object.keys(totals).length, MAX_VALUES + 1);
  assert.equal(totals[OTHER_VALUES], 6);
});

Deno.test("tally: the recent queue stays bounded over a long run", () => {
  const t = new HeaderTally(100);
  for (let i = 0; i < 50_000; i++) t.add(i % 2 ? "a" : "b", i);
  const e = t.entries(50_000);
  assert.equal(e[0].total + e[1].total, 50_000);
  assert.ok(e[0].recent + e[1].recent <= 101);
});

Deno.test("tally: recent window is 30 intervals, at least 3 s", () => {
  assert.equal(recentWindowMs(100), 3000);
  assert.equal(recentWindowMs(10), 3000);
  assert.equal(recentWindowMs(1000), 30_000);
});
