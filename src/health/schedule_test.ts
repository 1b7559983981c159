import assert from "node:assert/strict";
import {
  baseInterval,
  initialProbeDelay,
  nextProbeDelay,
  withJitter,
} from "./schedule.ts";
import { BackendHealth } from "./backend.ts";
import type { BackendState } from "./types.ts";

const check = { intervalMs: 2000, fastIntervalMs: 500, downIntervalMs: 10000 };
const ALMOST_ONE = 1 - Number.EPSILON;

function h(state: BackendState, fullyUp: boolean, fullyDown: boolean) {
  return { state, fullyUp, fullyDown };
}

Deno.test("baseInterval: interval while up with a full counter", () => {
  assert.equal(baseInterval(h("up", true, false), check), 2000);
});

Deno.test("baseInterval: fast-interval while up but not full", () => {
  assert.equal(baseInterval(h("up", false, false), check), 500);
});

Deno.test("baseInterval: down-interval while down at 0", () => {
  assert.equal(baseInterval(h("down", false, true), check), 10000);
});

Deno.test("baseInterval: fast-interval while down above 0", () => {
  assert.equal(baseInterval(h("down", false, false), check), 500);
});

Deno.test("baseInterval: fast-interval while unknown, whatever the counter", () => {
  assert.equal(baseInterval(h("unknown", false, false), check), 500);
  assert.equal(baseInterval(h("unknown", true, false), check), 500);
  assert.equal(baseInterval(h("unknown", false, true), check), 500);
});

Deno.test("baseInterval follows a BackendHealth through its counter", () => {
  const b = new BackendHealth("b", {
    rise: 2,
    fall: 3,
    historySize: 5,
    enabled: true,
  });
  assert.equal(baseInterval(b, check), 500); // unknown
  b.recordProbe(true, "L4OK", "", 1); // up, counter jumps to 4 = max
  assert.equal(baseInterval(b, check), 2000);
  b.recordProbe(false, "L4CON", "", 4); // 3, still up: degraded
  assert.equal(baseInterval(b, check), 500);
  b.recordProbe(false, "L4CON", "", 5); // 2
  b.recordProbe(false, "L4CON", "", 6); // 1 -> down, counter jumps to 0
  assert.equal(b.state, "down");
  assert.equal(baseInterval(b, check), 10000);
  b.recordProbe(true, "L4CON", "", 7); // 1, still down: rising
  assert.equal(baseInterval(b, check), 500);
});

Deno.test("baseInterval with rise=1 fall=1: the counter is always at an end", () => {
  const b = new BackendHealth("b", {
    rise: 1,
    fall: 1,
    historySize: 5,
    enabled: true,
  });
  b.recordProbe(true, "L3OK", "", 1);
  assert.equal(baseInterval(b, check), 2000);
  b.recordProbe(false, "L3TOUT", "", 2);
  assert.equal(baseInterval(b, check), 10000);
});

Deno.test("withJitter spans [0.9, 1.1] of the input", () => {
  assert.equal(withJitter(1000, () => 0), 900);
  assert.equal(withJitter(1000, () => 0.5), 1000);
  const top = withJitter(1000, () => ALMOST_ONE);
  assert.ok(top <= 1100 && top > 1099.99, `${top}`);
  assert.equal(withJitter(0, () => 0.7), 0);
});

Deno.test("withJitter stays in bounds over many draws (seeded)", () => {
  let seed = 12345;
  const lcg = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < 10000; i++) {
    const v = withJitter(500, lcg);
    assert.ok(v >= 450 && v <= 550, `${v}`);
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  // Spread: the jitter actually uses the whole band.
  assert.ok(lo < 455 && hi > 545, `${lo}..${hi}`);
});

Deno.test("withJitter defaults to Math.random and stays in bounds", () => {
  for (let i = 0; i < 1000; i++) {
    const v = withJitter(2000);
    assert.ok(v >= 1800 && v <= 2200, `${v}`);
  }
});

Deno.test("nextProbeDelay jitters the base interval", () => {
  assert.equal(nextProbeDelay(h("up", true, false), check, () => 0), 1800);
  assert.equal(nextProbeDelay(h("down", false, true), check, () => 0.5), 10000);
  assert.equal(nextProbeDelay(h("unknown", false, false), check, () => 0), 450);
});

Deno.test("initialProbeDelay spans [0, fastIntervalMs)", () => {
  assert.equal(initialProbeDelay(check, () => 0), 0);
  assert.equal(initialProbeDelay(check, () => 0.5), 250);
  const top = initialProbeDelay(check, () => ALMOST_ONE);
  assert.ok(top < 500 && top > 499.99, `${top}`);
  for (let i = 0; i < 1000; i++) {
    const v = initialProbeDelay(check);
    assert.ok(v >= 0 && v < 500, `${v}`);
  }
});
