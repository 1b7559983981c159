import assert from "node:assert/strict";
import { Warmup } from "./warmup.ts";

Deno.test("warmup: hold, then release settled frontends, then everything", () => {
  const w = new Warmup(1000, 5000, 30000);
  assert.equal(w.phase(1000), "hold");
  assert.equal(w.mayTouch("web", 3000, true), false, "hands off before min");
  assert.equal(w.nextChangeIn(3000), 3000);
  assert.equal(w.phase(6000), "release");
  assert.equal(w.mayTouch("web", 6000, false), false, "not settled yet");
  assert.equal(w.mayTouch("web", 7000, true), true, "released once settled");
  assert.equal(w.mayTouch("web", 8000, false), true, "stays released");
  assert.equal(w.fullSyncAllowed(20000), false);
  assert.equal(w.nextChangeIn(20000), 11000);
  assert.equal(w.phase(31000), "done");
  assert.equal(w.mayTouch("api", 31000, false), true);
  assert.equal(w.fullSyncAllowed(31000), true);
  assert.equal(w.nextChangeIn(31000), undefined);
});

Deno.test("warmup: zero delays disable it; max 0 releases all at min", () => {
  const off = new Warmup(0, 0, 0);
  assert.equal(off.phase(0), "done");
  assert.equal(off.mayTouch("x", 0, false), true);
  const minOnly = new Warmup(0, 5000, 0);
  assert.equal(minOnly.phase(4999), "hold");
  assert.equal(minOnly.phase(5000), "done");
});
