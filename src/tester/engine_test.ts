import assert from "node:assert/strict";
import type { HealthCheckConfig } from "../config/types.ts";
import type {
  ClientProber,
  ProbeOptions,
  ProbeResult,
  ProbeTarget,
} from "../probe/mod.ts";
import { type EngineOptions, pause, startEngine } from "./engine.ts";
import type { Target } from "./targets.ts";

const TARGETS: Target[] = [
  {
    key: "http://127.0.0.1:80",
    frontends: ["a"],
    address: "127.0.0.1",
    family: 4,
    port: 80,
    scheme: "http",
  },
  {
    key: "tcp://[::1]:25",
    frontends: ["b"],
    address: "::1",
    family: 6,
    port: 25,
    scheme: "tcp",
  },
];

const OPTS: EngineOptions = {
  intervalMs: 5,
  timeoutMs: 100,
  uri: "/hz",
  insecure: false,
  keepAlive: true,
  header: "X-Backend",
};

/** A prober that records calls and answers after `delayMs`. */
class FakeProber implements ClientProber {
  readonly calls: {
    target: ProbeTarget;
    check: HealthCheckConfig;
    opts?: ProbeOptions;
  }[] = [];
  inFlight = new Map<string, number>();
  maxInFlight = 0;
  closed = false;
  constructor(readonly delayMs: number) {}

  async probe(
    target: ProbeTarget,
    check: HealthCheckConfig,
    opts?: ProbeOptions,
  ): Promise<ProbeResult> {
    this.calls.push({ target, check, opts });
    const n = (this.inFlight.get(target.address) ?? 0) + 1;
    this.inFlight.set(target.address, n);
    this.maxInFlight = Math.max(this.maxInFlight, n);
    await new Promise((r) => setTimeout(r, this.delayMs));
    this.inFlight.set(target.address, n - 1);
    return { ok: true, code: "L7OK", text: "HTTP 200", durationMs: 1 };
  }

  close(): void {
    this.closed = true;
  }
}

/** Waits until `cond` holds, bounded by a deadline. */
async function until(what: string, cond: () => boolean, ms = 5000) {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("engine: every VIP probed with its own check, one probe at a time", async () => {
  const prober = new FakeProber(20); // slower than the interval
  const results: number[] = [];
  const abort = new AbortController();
  const engine = startEngine(TARGETS, OPTS, {
    prober,
    onResult: (i) => results.push(i),
  }, abort.signal);
  try {
    await until(
      "5 results per VIP",
      () =>
        results.filter((i) => i === 0).length >= 5 &&
        results.filter((i) => i === 1).length >= 5,
    );
  } finally {
    abort.abort();
    await engine.done;
  }
  assert.equal(prober.maxInFlight, 1, "never two probes of one VIP at once");
  const http = prober.calls.find((c) => c.target.address === "127.0.0.1")!;
  assert.equal(http.check.type, "http");
  assert.equal(http.check.params.path, "/hz");
  assert.equal(http.opts?.header, "X-Backend");
  assert.ok(http.opts?.keepAlive, "keep-alive gives each VIP a slot");
  const tcp = prober.calls.find((c) => c.target.address === "::1")!;
  assert.deepEqual(tcp.target, { address: "::1", family: 6 });
  assert.equal(tcp.check.type, "tcp");
  assert.equal(tcp.check.port, 25);
  // Each VIP keeps its own slot.
  assert.notEqual(http.opts?.keepAlive, tcp.opts?.keepAlive);
});

Deno.test("engine: stopping waits for probes in flight and counts their results", async () => {
  const prober = new FakeProber(50);
  let results = 0;
  const abort = new AbortController();
  const engine = startEngine(TARGETS, { ...OPTS, keepAlive: false }, {
    prober,
    onResult: () => results++,
  }, abort.signal);
  await until("probes started", () => prober.calls.length >= 2);
  abort.abort();
  await engine.done;
  assert.equal(results, prober.calls.length, "every probe sent was counted");
  // engine.done means every loop has returned: nothing can be sent later.
  assert.ok(prober.calls.every((_, i) => i < results));
  assert.equal(prober.calls[0].opts?.keepAlive, undefined);
});

Deno.test("engine: the cadence is the interval ±10%, from probe start to probe start", async () => {
  const prober = new FakeProber(0);
  const starts: number[] = [];
  const abort = new AbortController();
  const engine = startEngine([TARGETS[0]], { ...OPTS, intervalMs: 40 }, {
    prober,
    onResult: () => starts.push(performance.now()),
    random: () => 0.999, // always +10%
  }, abort.signal);
  try {
    await until("8 probes", () => starts.length >= 8);
  } finally {
    abort.abort();
    await engine.done;
  }
  const gaps = starts.slice(1).map((t, i) => t - starts[i]);
  // 44 ms each (40 ms +10%); timers may fire late, never early.
  assert.ok(gaps.every((g) => g >= 43), gaps.join(","));
});

Deno.test("engine: pause ends at once on abort", async () => {
  const abort = new AbortController();
  const p = pause(60_000, abort.signal);
  abort.abort();
  await p;
  await pause(-1, abort.signal);
});
