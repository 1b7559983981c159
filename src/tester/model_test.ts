import assert from "node:assert/strict";
import { type ProbeOutcome, TesterModel } from "./model.ts";
import type { Target } from "./targets.ts";

const T: Target[] = [
  {
    key: "http://192.0.2.1:80",
    frontends: ["web"],
    address: "192.0.2.1",
    family: 4,
    port: 80,
    scheme: "http",
  },
  {
    key: "tcp://192.0.2.2:25",
    frontends: ["smtp"],
    address: "192.0.2.2",
    family: 4,
    port: 25,
    scheme: "tcp",
  },
];

const OPTS = {
  tallyHeader: true,
  rollingWindowMs: 30_000,
  recentWindowMs: 3000,
};

const http = (header: string | undefined, ms = 1, status = 200) => ({
  ok: status < 400,
  code: status < 400 ? "L7OK" : "L7STS",
  text: `HTTP ${status}`,
  durationMs: ms,
  status,
  ...(header === undefined ? {} : { header }),
} as ProbeOutcome);

const refused: ProbeOutcome = {
  ok: false,
  code: "L4CON",
  text: "connection refused",
  durationMs: 0.2,
};

Deno.test("model: counts, last result, rolling latency and tally per VIP", () => {
  const m = new TesterModel(T, OPTS, 0);
  m.record(0, http("b1", 1), 100);
  m.record(0, http("b2", 3), 200);
  m.record(0, refused, 300);
  m.record(
    1,
    { ok: true, code: "L4OK", text: "connected", durationMs: 2 },
    300,
  );
  const [web, smtp] = m.views(400);
  assert.equal(web.probes, 3);
  assert.equal(web.failures, 1);
  assert.equal(web.last?.code, "L4CON");
  assert.deepEqual(web.latency, { count: 2, p50: 1, p95: 3, p99: 3, max: 3 });
  assert.deepEqual(web.tally.map((e) => [e.value, e.total]), [["b1", 1], [
    "b2",
    1,
  ]]);
  assert.equal(smtp.probes, 1);
  assert.deepEqual(smtp.tally, [], "a TCP connect has no header");
});

Deno.test("model: an HTTP error still counts its backend in the tally", () => {
  const m = new TesterModel(T, OPTS, 0);
  assert.equal(m.record(0, http("b3", 1, 503), 10), "http-error");
  assert.deepEqual(m.views(10)[0].tally.map((e) => e.value), ["b3"]);
  assert.equal(m.recentAnomalies(5)[0].text, "HTTP 503");
});

Deno.test("model: a slow success after a steady baseline is a latency spike", () => {
  const m = new TesterModel(T, OPTS, 0);
  for (let i = 0; i < 30; i++) m.record(0, http("b1", 1), i);
  assert.equal(m.record(0, http("b1", 200), 31), "latency-spike");
  assert.equal(m.record(0, http("b1", 1), 32), undefined);
  const a = m.recentAnomalies(5);
  assert.equal(a.length, 1);
  assert.equal(a[0].kind, "latency-spike");
  assert.equal(a[0].text, "200.0 ms");
});

Deno.test("model: reports cover one interval each, and add up to the totals", () => {
  const m = new TesterModel(T, OPTS, 1000);
  m.record(0, http("b1", 2), 1100);
  m.record(0, http("b2", 4), 1200);
  m.record(0, { ...refused }, 1300);
  let [web, smtp] = m.takeReports(2000);
  assert.equal(web.time, new Date(2000).toISOString());
  assert.equal(web.interval_ms, 1000);
  assert.deepEqual(web.frontends, ["web"]);
  assert.equal(web.vip, "192.0.2.1");
  assert.equal(web.probes, 3);
  assert.equal(web.failures, 1);
  assert.deepEqual(web.latency_ms, { p50: 2, p95: 4, p99: 4, max: 4 });
  assert.deepEqual(web.tally, { b1: 1, b2: 1 });
  assert.deepEqual(web.anomalies, { "network-error": 1 });
  assert.deepEqual(web.last, { code: "L4CON", text: "connection refused" });
  assert.equal(web.final, undefined);
  assert.equal(smtp.probes, 0);
  assert.equal(smtp.latency_ms, null);
  assert.equal(smtp.last, null);

  m.record(0, http("b1", 1), 2100);
  [web] = m.takeReports(2500, true);
  assert.equal(web.interval_ms, 500);
  assert.equal(web.probes, 1);
  assert.equal(web.total_probes, 4);
  assert.equal(web.total_failures, 1);
  assert.deepEqual(web.tally, { b1: 1 });
  assert.deepEqual(web.tally_total, { b1: 2, b2: 1 });
  assert.deepEqual(web.anomalies, {});
  assert.deepEqual(web.last, {
    code: "L7OK",
    text: "HTTP 200",
    status: 200,
    header: "b1",
  });
  assert.equal(web.final, true);
});

Deno.test("model: without --header no tally at all", () => {
  const m = new TesterModel(T, { ...OPTS, tallyHeader: false }, 0);
  m.record(0, http("b1"), 1);
  assert.deepEqual(m.views(1)[0].tally, []);
  const [r] = m.takeReports(10);
  assert.equal("tally" in r, false);
  assert.equal("tally_total" in r, false);
});
