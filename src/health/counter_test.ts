import assert from "node:assert/strict";
import {
  counterMax,
  initialCounter,
  isUpCounter,
  nextCounter,
} from "./counter.ts";

Deno.test("counterMax is rise + fall - 1", () => {
  assert.equal(counterMax(2, 3), 4);
  assert.equal(counterMax(1, 1), 1);
  assert.equal(counterMax(1, 5), 5);
  assert.equal(counterMax(5, 1), 5);
});

Deno.test("counterMax rejects rise/fall below 1 or non-integer", () => {
  assert.throws(() => counterMax(0, 3), RangeError);
  assert.throws(() => counterMax(2, 0), RangeError);
  assert.throws(() => counterMax(1.5, 3), RangeError);
  assert.throws(() => counterMax(2, Number.NaN), RangeError);
  assert.throws(() => initialCounter(0), RangeError);
});

Deno.test("nextCounter: pass adds one, failure subtracts one", () => {
  assert.equal(nextCounter(1, true, 2, 3), 2);
  assert.equal(nextCounter(2, false, 2, 3), 1);
  assert.equal(nextCounter(0, true, 2, 3), 1);
  assert.equal(nextCounter(4, false, 2, 3), 3);
});

Deno.test("nextCounter caps at max and floors at 0", () => {
  assert.equal(nextCounter(4, true, 2, 3), 4);
  assert.equal(nextCounter(0, false, 2, 3), 0);
  assert.equal(nextCounter(1, true, 1, 1), 1);
  assert.equal(nextCounter(0, false, 1, 1), 0);
});

Deno.test("nextCounter clamps out-of-range input", () => {
  assert.equal(nextCounter(99, true, 2, 3), 4);
  assert.equal(nextCounter(99, false, 2, 3), 3);
  assert.equal(nextCounter(-5, false, 2, 3), 0);
  assert.equal(nextCounter(-5, true, 2, 3), 1);
});

Deno.test("isUpCounter: up exactly from rise", () => {
  assert.equal(isUpCounter(0, 2), false);
  assert.equal(isUpCounter(1, 2), false);
  assert.equal(isUpCounter(2, 2), true);
  assert.equal(isUpCounter(4, 2), true);
  assert.equal(isUpCounter(0, 1), false);
  assert.equal(isUpCounter(1, 1), true);
});

Deno.test("initialCounter is rise - 1: the first probe decides", () => {
  for (const [rise, fall] of [[1, 1], [1, 3], [2, 3], [3, 1], [5, 5]]) {
    const c = initialCounter(rise);
    assert.equal(c, rise - 1);
    assert.equal(isUpCounter(nextCounter(c, true, rise, fall), rise), true);
    assert.equal(isUpCounter(nextCounter(c, false, rise, fall), rise), false);
  }
});

Deno.test("from fully up it takes exactly fall failures to go down", () => {
  for (const [rise, fall] of [[1, 1], [2, 3], [3, 1], [1, 4]]) {
    let c = counterMax(rise, fall);
    for (let i = 1; i < fall; i++) {
      c = nextCounter(c, false, rise, fall);
      assert.equal(isUpCounter(c, rise), true, `rise=${rise} fall=${fall}`);
    }
    c = nextCounter(c, false, rise, fall);
    assert.equal(isUpCounter(c, rise), false);
  }
});

Deno.test("from fully down it takes exactly rise passes to go up", () => {
  for (const [rise, fall] of [[1, 1], [2, 3], [3, 1], [4, 2]]) {
    let c = 0;
    for (let i = 1; i < rise; i++) {
      c = nextCounter(c, true, rise, fall);
      assert.equal(isUpCounter(c, rise), false, `rise=${rise} fall=${fall}`);
    }
    c = nextCounter(c, true, rise, fall);
    assert.equal(isUpCounter(c, rise), true);
  }
});
