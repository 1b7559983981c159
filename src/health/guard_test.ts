import assert from "node:assert/strict";
import type { FrontendEvaluation, MemberWeight } from "./frontend.ts";
import { FrontendGuard, totalWeight } from "./guard.ts";

/** A one-pool evaluation: backend name → effective weight (100 up, 0 down). */
function ev(weights: Record<string, number>): FrontendEvaluation {
  const members: MemberWeight[] = Object.entries(weights).map(([b, w]) => ({
    pool: "p",
    poolIndex: 0,
    backend: b,
    state: w > 0 ? "up" : "down",
    configuredWeight: 100,
    effectiveWeight: w,
    flush: w === 0,
  }));
  return {
    state: members.some((m) => m.effectiveWeight > 0) ? "up" : "down",
    activePool: 0,
    members,
  };
}

const weights = (e: FrontendEvaluation) =>
  Object.fromEntries(e.members.map((m) => [m.backend, m.effectiveWeight]));
const never = () => false;

Deno.test("guard: a sudden wave below min-healthy keeps the last good weights; recovery clears it", () => {
  const g = new FrontendGuard(0.5, 1000);
  const all = { a: 100, b: 100, c: 100, d: 100 };
  assert.equal(g.update(ev(all), 0, never).evaluation.members.length, 4);
  // One down: 75 % left, fine.
  let u = g.update(ev({ ...all, a: 0 }), 100, never);
  assert.equal(u.event, undefined);
  assert.deepEqual(weights(u.evaluation), { ...all, a: 0 });
  // Two more within the window: 25 % of the baseline left: trip.
  u = g.update(ev({ a: 0, b: 0, c: 0, d: 100 }), 300, never);
  assert.equal(u.event, "tripped");
  assert.deepEqual(weights(u.evaluation), all, "held at the baseline");
  assert.deepEqual(g.trip, { atMs: 300, share: 0.25, held: ["a", "b", "c"] });
  // Still held while they stay down.
  u = g.update(ev({ a: 0, b: 0, c: 0, d: 100 }), 5000, never);
  assert.equal(u.event, undefined);
  assert.deepEqual(weights(u.evaluation), all);
  // Back up: cleared, the raw weights again.
  u = g.update(ev({ a: 100, b: 100, c: 0, d: 100 }), 6000, never);
  assert.equal(u.event, "cleared");
  assert.deepEqual(weights(u.evaluation), { a: 100, b: 100, c: 0, d: 100 });
  assert.equal(g.trip, undefined);
});

Deno.test("guard: a slow decline moves the baseline and never trips", () => {
  const g = new FrontendGuard(0.5, 1000);
  const w: Record<string, number> = { a: 100, b: 100, c: 100, d: 100 };
  g.update(ev(w), 0, never);
  let t = 0;
  for (const b of ["a", "b", "c"]) {
    t += 1500; // one backend per window and a half
    w[b] = 0;
    const u = g.update(ev(w), t, never);
    assert.equal(u.event, undefined, `after ${b}`);
    assert.deepEqual(weights(u.evaluation), w);
  }
});

Deno.test("guard: a member that is gone for sure (refused, disabled) leaves even while the guard holds", () => {
  const g = new FrontendGuard(0.5, 1000);
  g.update(ev({ a: 100, b: 100, c: 100 }), 0, never);
  const u = g.update(
    ev({ a: 0, b: 0, c: 0 }),
    10,
    (m) => m.backend === "b",
  );
  assert.equal(u.event, "tripped");
  assert.deepEqual(weights(u.evaluation), { a: 100, b: 0, c: 100 });
  const b = u.evaluation.members.find((m) => m.backend === "b")!;
  assert.equal(b.flush, true, "b's flows go too");
  assert.deepEqual(g.trip?.held, ["a", "c"]);
});

Deno.test("guard: an operator's confirmation lets the wave through and rearms from there", () => {
  const g = new FrontendGuard(0.5, 1000);
  g.update(ev({ a: 100, b: 100 }), 0, never);
  assert.equal(g.update(ev({ a: 0, b: 0 }), 10, never).event, "tripped");
  assert.equal(g.confirm(ev({ a: 0, b: 0 }), 20), true);
  assert.equal(g.confirm(ev({ a: 0, b: 0 }), 21), false, "nothing to confirm");
  const u = g.update(ev({ a: 0, b: 0 }), 30, never);
  assert.deepEqual(weights(u.evaluation), { a: 0, b: 0 });
  // Growth moves the baseline at once; a new wave trips again.
  g.update(ev({ a: 100, b: 100 }), 40, never);
  assert.equal(g.update(ev({ a: 0, b: 0 }), 50, never).event, "tripped");
  assert.equal(totalWeight(ev({ a: 100, b: 50 })), 150);
});
