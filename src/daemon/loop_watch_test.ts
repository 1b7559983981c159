import assert from "node:assert/strict";
import { LoopWatch } from "./loop_watch.ts";

Deno.test("loop watch: a late tick is a stall; a stall still going on counts too", () => {
  let now = 1000;
  const w = new LoopWatch(25, 10_000, () => now);
  // On time: 25 ms apart.
  for (let i = 0; i < 4; i++) {
    now += 25;
    w.tick();
  }
  assert.equal(w.stallSince(1000), 0);
  assert.equal(w.stalledShare(100), 0);
  // The loop was busy for 300 ms: the next tick comes 325 ms after the last.
  now += 325;
  w.tick();
  assert.equal(w.stallSince(1000), 300);
  assert.equal(w.stallSince(now + 1), 0, "nothing since");
  assert.ok(Math.abs(w.stalledShare(1000) - 0.3) < 1e-9);
  // Busy again right now, 200 ms after the last tick, no tick yet.
  now += 200;
  assert.equal(w.stallSince(now - 100), 175);
  // Old ticks fall out of the window.
  now += 20_000;
  w.tick();
  assert.equal(w.stallSince(0), 20_200 - 25, "only the last tick is left");
});
