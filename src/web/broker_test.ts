import assert from "node:assert/strict";
import { Broker, type SseClient } from "./broker.ts";

const dec = new TextDecoder();

/** Reads what is available now (one pull) from a client's stream. */
async function readNow(c: SseClient): Promise<string> {
  const r = c.stream.getReader();
  try {
    const { value } = await r.read();
    return value ? dec.decode(value) : "";
  } finally {
    r.releaseLock();
  }
}

function ids(text: string): string[] {
  return [...text.matchAll(/^id: (.*)$/gm)].map((m) => m[1]);
}

function events(text: string): string[] {
  return [...text.matchAll(/^event: (.*)$/gm)].map((m) => m[1]);
}

Deno.test("broker: ids are <epoch>-<seq> and reach every client", async () => {
  const b = new Broker({ epoch: 42, heartbeatMs: 0 });
  const c1 = b.subscribe();
  const c2 = b.subscribe();
  assert.equal(b.publish("scope", { id: "x" }), "42-1");
  assert.equal(b.publish("log", { n: 2 }), "42-2");
  for (const c of [c1, c2]) {
    const t = await readNow(c);
    assert.match(t, /^retry: \d+\n/);
    assert.deepEqual(ids(t), ["42-1", "42-2"]);
    assert.deepEqual(events(t), ["scope", "log"]);
    assert.match(t, /data: \{"id":"x"\}\n\n/);
  }
  b.close();
  assert.equal(b.clientCount, 0);
});

Deno.test("broker: Last-Event-ID in the ring replays exactly the missed events", async () => {
  const b = new Broker({ epoch: 7, heartbeatMs: 0 });
  for (let i = 0; i < 5; i++) b.publish("log", { i });
  const c = b.subscribe("7-2");
  const t = await readNow(c);
  assert.deepEqual(ids(t), ["7-3", "7-4", "7-5"]);
  assert.ok(!events(t).includes("resync"));
  // Up to date: nothing replayed, no resync.
  const d = b.subscribe("7-5");
  assert.deepEqual(events(await readNow(d)), []);
  b.close();
});

Deno.test("broker: unknown, foreign-epoch, future or evicted ids get resync", async () => {
  const b = new Broker({ epoch: 7, ringSize: 3, heartbeatMs: 0 });
  for (let i = 0; i < 10; i++) b.publish("log", { i });
  for (const id of ["garbage", "8-5", "7-99", "7-2"]) {
    const t = await readNow(b.subscribe(id));
    assert.deepEqual(events(t), ["resync"], id);
    assert.deepEqual(ids(t), ["7-10"], id);
  }
  // Still in the ring (3 newest: 8, 9, 10): replay.
  assert.deepEqual(ids(await readNow(b.subscribe("7-7"))), [
    "7-8",
    "7-9",
    "7-10",
  ]);
  b.close();
});

Deno.test("broker: events older than ringMs are not replayed", async () => {
  let now = 1000;
  const b = new Broker({
    epoch: 1,
    ringMs: 30_000,
    heartbeatMs: 0,
    now: () => now,
  });
  b.publish("log", {});
  b.publish("log", {});
  now += 31_000;
  b.publish("log", {});
  assert.equal(b.ringLength, 1);
  assert.deepEqual(events(await readNow(b.subscribe("1-1"))), ["resync"]);
  assert.deepEqual(ids(await readNow(b.subscribe("1-2"))), ["1-3"]);
  b.close();
});

Deno.test("broker: heartbeat is a comment line", async () => {
  const b = new Broker({ epoch: 1, heartbeatMs: 0 });
  const c = b.subscribe();
  await readNow(c);
  b.heartbeat();
  assert.equal(await readNow(c), ": hb\n\n");
  b.close();
});

Deno.test("broker: a reader blocked in read() gets events as they come", async () => {
  const b = new Broker({ epoch: 1, heartbeatMs: 0 });
  const c = b.subscribe();
  await readNow(c);
  const pending = readNow(c);
  b.publish("lbstate", { a: 1 });
  assert.deepEqual(ids(await pending), ["1-1"]);
  b.close();
  // After close the stream ends.
  const r = c.stream.getReader();
  assert.equal((await r.read()).done, true);
});

Deno.test("broker: a client that never reads is dropped, memory stays bounded", () => {
  const b = new Broker({
    epoch: 1,
    heartbeatMs: 0,
    maxQueueBytes: 10_000,
    ringSize: 100,
  });
  const slow = b.subscribe();
  let dropped = 0;
  b.onDrop = () => dropped++;
  const payload = { pad: "x".repeat(200) };
  for (let i = 0; i < 1000; i++) {
    b.publish("log", payload);
    assert.ok(slow.queuedBytes <= 10_000 + 400);
  }
  assert.equal(slow.closed, true);
  assert.equal(slow.closeReason, "dropped");
  assert.equal(slow.queuedBytes, 0);
  assert.equal(b.clientCount, 0);
  assert.equal(b.dropped, 1);
  assert.equal(dropped, 1);
  // The ring is bounded too.
  assert.equal(b.ringLength, 100);
  b.close();
});

Deno.test("broker: a reading client keeps up under the same load", async () => {
  const b = new Broker({ epoch: 1, heartbeatMs: 0, maxQueueBytes: 10_000 });
  const c = b.subscribe();
  let got = 0;
  for (let i = 0; i < 200; i++) {
    b.publish("log", { pad: "x".repeat(200) });
    got += ids(await readNow(c)).length;
  }
  assert.equal(got, 200);
  assert.equal(c.closed, false);
  b.close();
});

Deno.test("broker: cancelling the stream unsubscribes", async () => {
  const b = new Broker({ epoch: 1, heartbeatMs: 0 });
  const c = b.subscribe();
  assert.equal(b.clientCount, 1);
  await c.stream.cancel();
  assert.equal(b.clientCount, 0);
  b.publish("log", {});
  b.close();
});

Deno.test("broker: ring size is capped", () => {
  const b = new Broker({ epoch: 1, heartbeatMs: 0, ringSize: 50 });
  for (let i = 0; i < 500; i++) b.publish("log", { i });
  assert.equal(b.ringLength, 50);
  b.close();
});
