import assert from "node:assert/strict";
import {
  AnomalyLog,
  classify,
  SPIKE_MIN_EXTRA_MS,
  SPIKE_MIN_SAMPLES,
} from "./anomaly.ts";

const ok = (ms: number) => ({
  ok: true,
  code: "L7OK" as const,
  durationMs: ms,
});

Deno.test("classify: failures by code", () => {
  for (const code of ["L4TOUT", "L6TOUT", "L7TOUT"] as const) {
    assert.equal(classify({ ok: false, code, durationMs: 1000 }), "timeout");
  }
  assert.equal(
    classify({ ok: false, code: "L7STS", durationMs: 1 }),
    "http-error",
  );
  for (const code of ["L4CON", "L6RSP", "L7RSP"] as const) {
    assert.equal(classify({ ok: false, code, durationMs: 1 }), "network-error");
  }
  assert.equal(classify(ok(1)), undefined);
});

Deno.test("classify: a spike is far slower than the median, by factor and margin", () => {
  const n = SPIKE_MIN_SAMPLES;
  assert.equal(classify(ok(100), 10, n), "latency-spike");
  assert.equal(classify(ok(49), 10, n), undefined, "5x but not +50 ms");
  assert.equal(
    classify(ok(10 + SPIKE_MIN_EXTRA_MS + 1), 10, n),
    "latency-spike",
  );
  assert.equal(classify(ok(400), 100, n), undefined, "+300 ms but only 4x");
  assert.equal(classify(ok(100), 10, n - 1), undefined, "too few samples");
  assert.equal(classify(ok(100)), undefined, "no baseline");
});

Deno.test("anomaly log: a run of the same anomaly is one entry with a count", () => {
  const log = new AnomalyLog();
  log.note("a", ["fa"], "network-error", "connection refused", 1);
  log.note("a", ["fa"], "network-error", "connection refused", 2);
  log.note("b", ["fb"], "timeout", "timeout after 1000ms connecting", 3);
  log.note("a", ["fa"], "network-error", "connection refused", 4);
  let e = log.newest(10);
  assert.deepEqual(e.map((x) => [x.vip, x.count, x.firstMs, x.lastMs]), [
    ["a", 3, 1, 4],
    ["b", 1, 3, 3],
  ]);
  // A success closes the run; another text starts a new entry too.
  log.close("a");
  log.note("a", ["fa"], "network-error", "connection refused", 5);
  log.note("a", ["fa"], "network-error", "connection reset", 6);
  // Spikes fold by kind: their texts always differ.
  log.note("b", ["fb"], "latency-spike", "120.0 ms", 7);
  log.note("b", ["fb"], "latency-spike", "130.0 ms", 8);
  e = log.newest(10);
  assert.deepEqual(e.map((x) => [x.vip, x.kind, x.text, x.count]), [
    ["b", "latency-spike", "120.0 ms", 2],
    ["a", "network-error", "connection reset", 1],
    ["a", "network-error", "connection refused", 1],
    ["a", "network-error", "connection refused", 3],
    ["b", "timeout", "timeout after 1000ms connecting", 1],
  ]);
  assert.equal(log.newest(2).length, 2);
});

Deno.test("anomaly log: bounded, oldest dropped", () => {
  const log = new AnomalyLog(3);
  for (let i = 0; i < 10; i++) {
    log.note(`v${i}`, [], "timeout", "t", i);
  }
  assert.equal(log.size, 3);
  assert.deepEqual(log.newest(5).map((x) => x.vip), ["v9", "v8", "v7"]);
});
