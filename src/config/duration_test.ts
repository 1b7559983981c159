import assert from "node:assert/strict";
import { formatDuration, parseDuration } from "./duration.ts";

Deno.test("parseDuration: single units", () => {
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("2s"), 2000);
  assert.equal(parseDuration("1m"), 60_000);
  assert.equal(parseDuration("1h"), 3_600_000);
  assert.equal(parseDuration("500us"), 0.5);
  assert.equal(parseDuration("500µs"), 0.5); // micro sign
  assert.equal(parseDuration("500μs"), 0.5); // greek mu
  assert.equal(parseDuration("10ns"), 0.00001);
});

Deno.test("parseDuration: compound, fractional and zero", () => {
  assert.equal(parseDuration("1m30s"), 90_000);
  assert.equal(parseDuration("1h2m3s4ms"), 3_723_004);
  assert.equal(parseDuration("1.5h"), 5_400_000);
  assert.equal(parseDuration("1.1s"), 1100); // exact, no float drift
  assert.equal(parseDuration(".5s"), 500);
  assert.equal(parseDuration("1.s"), 1000);
  assert.equal(parseDuration("0"), 0);
  assert.equal(parseDuration("+0"), 0);
  assert.equal(parseDuration("0s"), 0);
  assert.equal(parseDuration("+2s"), 2000);
  assert.equal(parseDuration("1.0000000001s"), 1000); // beyond ns precision: truncated
});

Deno.test("parseDuration: rejects with a helpful RangeError", () => {
  const cases: [string, RegExp][] = [
    ["", /empty duration/],
    ["2", /has no unit.*"2s"/],
    ["10", /has no unit/],
    ["-1s", /negative/],
    ["-0", /negative/],
    ["s", /invalid duration/],
    [".s", /invalid duration/],
    ["+", /invalid duration/],
    ["2 s", /unknown unit " s"/],
    ["2S", /unknown unit "S"/],
    ["2d", /unknown unit "d".*ns, us, ms, s, m or h/],
    ["1s2", /has no unit/],
    ["abc", /invalid duration/],
    ["1..5s", /no unit/],
    ["1e3s", /unknown unit "e"/],
    ["9999999999h", /too large/],
    ["1".repeat(100) + "s", /too long/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseDuration(text), (e: unknown) => {
      assert.ok(e instanceof RangeError, `${text}: ${e}`);
      assert.match(e.message, message, text);
      return true;
    });
  }
});

Deno.test("formatDuration: compact Go-style text", () => {
  assert.equal(formatDuration(90_000), "1m30s");
  assert.equal(formatDuration(500), "500ms");
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(2000), "2s");
  assert.equal(formatDuration(1500), "1.5s");
  assert.equal(formatDuration(3_600_000), "1h");
  assert.equal(formatDuration(5_400_000), "1h30m");
  assert.equal(formatDuration(3_605_000), "1h5s");
  assert.equal(formatDuration(0.5), "500µs");
  assert.equal(formatDuration(1.25), "1.25ms");
  assert.equal(formatDuration(0.00001), "10ns");
  assert.equal(formatDuration(-1500), "-1.5s");
  assert.throws(() => formatDuration(NaN), RangeError);
  assert.throws(() => formatDuration(Infinity), RangeError);
});

Deno.test("formatDuration and parseDuration round-trip", () => {
  for (
    const text of [
      "250ms",
      "2s",
      "1m30s",
      "1h",
      "1.5s",
      "500µs",
      "10ns",
      "2h45m10.5s",
    ]
  ) {
    assert.equal(formatDuration(parseDuration(text)), text);
  }
  for (const ms of [1, 999, 1000, 61_001, 86_400_000, 0.001, 123.456]) {
    assert.equal(parseDuration(formatDuration(ms)), ms);
  }
});
