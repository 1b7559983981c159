import assert from "node:assert/strict";
import { Ring } from "./ring.ts";

Deno.test("Ring rejects capacity below 1 or non-integer", () => {
  assert.throws(() => new Ring<number>(0), RangeError);
  assert.throws(() => new Ring<number>(-1), RangeError);
  assert.throws(() => new Ring<number>(2.5), RangeError);
  assert.throws(() => new Ring<number>(1).resize(0), RangeError);
});

Deno.test("Ring keeps entries oldest first until full", () => {
  const r = new Ring<number>(3);
  assert.equal(r.size, 0);
  assert.equal(r.capacity, 3);
  assert.deepEqual(r.toArray(), []);
  r.push(1);
  r.push(2);
  assert.deepEqual(r.toArray(), [1, 2]);
  assert.equal(r.size, 2);
});

Deno.test("Ring evicts the oldest when full, across many wraps", () => {
  const r = new Ring<number>(3);
  for (let i = 1; i <= 10; i++) r.push(i);
  assert.deepEqual(r.toArray(), [8, 9, 10]);
  assert.equal(r.size, 3);
});

Deno.test("Ring of capacity 1 keeps only the newest", () => {
  const r = new Ring<string>(1);
  r.push("a");
  r.push("b");
  assert.deepEqual(r.toArray(), ["b"]);
});

Deno.test("Ring seeded from an iterable keeps the newest", () => {
  assert.deepEqual(new Ring(2, [1, 2, 3, 4]).toArray(), [3, 4]);
  assert.deepEqual(new Ring(5, [1, 2]).toArray(), [1, 2]);
});

Deno.test("Ring.toArray returns a copy", () => {
  const r = new Ring<number>(2, [1]);
  r.toArray().push(99);
  assert.deepEqual(r.toArray(), [1]);
});

Deno.test("Ring.resize shrinking keeps the newest, growing keeps all", () => {
  const r = new Ring<number>(4);
  for (let i = 1; i <= 6; i++) r.push(i); // wrapped: [3,4,5,6]
  r.resize(2);
  assert.deepEqual(r.toArray(), [5, 6]);
  assert.equal(r.capacity, 2);
  r.resize(5);
  assert.deepEqual(r.toArray(), [5, 6]);
  r.push(7);
  r.push(8);
  r.push(9);
  r.push(10);
  assert.deepEqual(r.toArray(), [6, 7, 8, 9, 10]);
  r.resize(5);
  assert.deepEqual(r.toArray(), [6, 7, 8, 9, 10]);
});
