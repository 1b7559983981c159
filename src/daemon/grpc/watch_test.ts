import assert from "node:assert/strict";
import { OverflowError, Subscription } from "./watch.ts";

Deno.test("subscription: events in order, then the end after close", async () => {
  const s = new Subscription<number>(10);
  s.push(1);
  s.push(2);
  const seen: number[] = [];
  const done = (async () => {
    for await (const v of s) seen.push(v);
  })();
  s.push(3);
  s.close();
  s.push(4); // after close: ignored
  await done;
  assert.deepEqual(seen, [1, 2, 3]);
});

Deno.test("subscription: a subscriber that stops reading is cut off, memory bounded", async () => {
  let overflowed = 0;
  const s = new Subscription<number>(100, () => overflowed++);
  for (let i = 0; i < 10_000; i++) s.push(i);
  assert.equal(overflowed, 1);
  assert.equal(s.ended, "overflow");
  assert.equal(s.backlog, 0, "queue released");
  const it = s[Symbol.asyncIterator]();
  await assert.rejects(() => it.next(), OverflowError);
});

Deno.test("subscription: a reader keeping up never overflows", async () => {
  const s = new Subscription<number>(4);
  let sum = 0;
  const reader = (async () => {
    for await (const v of s) sum += v;
  })();
  for (let i = 1; i <= 1000; i++) {
    s.push(i);
    if (i % 3 === 0) await new Promise((r) => setTimeout(r, 0));
  }
  s.close();
  await reader;
  assert.equal(s.ended, "closed");
  assert.equal(sum, 500500);
});
