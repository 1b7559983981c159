/**
 * Micro benchmarks of one probe through the public probe API
 * (`createProber({}).probe(target, check)`), against an in-process loopback
 * sink (`sink.ts`), next to the floor Deno itself sets: a raw
 * `Deno.connect` + close, and a raw HTTP exchange on a fresh connection.
 *
 * ```sh
 * deno task bench        # = deno bench -A tests/bench/
 * ```
 *
 * Times are wall time per iteration on one event loop, server side
 * included (the sink runs in the same process). The `x100` benches start
 * 100 probes at once, as a daemon does when many timers fire together:
 * divide by 100 for the cost of one probe under concurrency.
 *
 * Iteration counts are fixed and probes rotate over 32 sink ports: every
 * connection leaves a TIME_WAIT entry for 60 s, and tens of thousands of
 * connections to one port would exhaust the ephemeral ports of that
 * destination (connects then stall for a SYN retransmit and time out).
 * @module
 */
import type { HealthCheckConfig } from "../../src/config/types.ts";
import { createProber } from "../../src/probe/mod.ts";
import type { ProbeTarget } from "../../src/probe/types.ts";
import { startSink } from "./sink.ts";

const TARGET: ProbeTarget = { address: "127.0.0.1", family: 4 };

/** Sink ports per mode; consecutive iterations use the next port. */
const PORTS = 32;
/** Timed iterations of the single-probe benches (x100 benches: a 20th). */
const N = 2000;
const WARMUP = 200;

const httpSink = startSink({ mode: "http", basePort: 0, count: PORTS });
const tcpSink = startSink({ mode: "tcp", basePort: 0, count: PORTS });
const prober = createProber({});

/** A health check as the config loader would produce it. */
function check(type: "tcp" | "http", port: number): HealthCheckConfig {
  return {
    name: `bench-${type}`,
    type,
    port,
    intervalMs: 1000,
    fastIntervalMs: 1000,
    downIntervalMs: 1000,
    timeoutMs: 1000,
    rise: 2,
    fall: 3,
    params: {
      path: "/healthz",
      method: "GET",
      responseCodes: [[200, 399]],
      tls: false,
      insecureSkipVerify: false,
    },
  };
}

const TCP_CHECKS = tcpSink.ports.map((p) => check("tcp", p));
const HTTP_CHECKS = httpSink.ports.map((p) => check("http", p));
let next = 0;
/** The next port's index, round robin. */
function rr(): number {
  next = (next + 1) % PORTS;
  return next;
}
const REQUEST = new TextEncoder().encode(
  "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
);
const READ_BUF = new Uint8Array(16 * 1024);

async function probeOk(checks: HealthCheckConfig[]): Promise<void> {
  const r = await prober.probe(TARGET, checks[rr()]);
  if (!r.ok) throw new Error(`probe failed: ${r.code} ${r.text}`);
}

async function rawConnect(): Promise<void> {
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: tcpSink.ports[rr()],
  });
  conn.close();
}

async function rawHttp(buf: Uint8Array): Promise<void> {
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: httpSink.ports[rr()],
  });
  try {
    await conn.write(REQUEST);
    // Read to EOF (the sink closes after answering); bounded.
    for (let i = 0; i < 16; i++) {
      if ((await conn.read(buf)) === null) break;
    }
  } finally {
    conn.close();
  }
}

async function times(n: number, fn: () => Promise<void>): Promise<void> {
  const all: Promise<void>[] = [];
  for (let i = 0; i < n; i++) all.push(fn());
  await Promise.all(all);
}

Deno.bench({
  name: "tcp: prober.probe",
  group: "tcp",
  n: N,
  warmup: WARMUP,
  fn: async () => await probeOk(TCP_CHECKS),
});

Deno.bench({
  name: "tcp: raw Deno.connect + close (floor)",
  group: "tcp",
  baseline: true,
  n: N,
  warmup: WARMUP,
  fn: async () => await rawConnect(),
});

Deno.bench({
  name: "http: prober.probe GET /healthz",
  group: "http",
  n: N,
  warmup: WARMUP,
  fn: async () => await probeOk(HTTP_CHECKS),
});

Deno.bench({
  name: "http: raw connect, write, read to EOF, close (floor)",
  group: "http",
  baseline: true,
  n: N,
  warmup: WARMUP,
  fn: async () => await rawHttp(READ_BUF),
});

Deno.bench({
  name: "tcp: 100 concurrent prober.probe",
  group: "tcp x100",
  n: N / 20,
  warmup: WARMUP / 20,
  fn: async () => await times(100, () => probeOk(TCP_CHECKS)),
});

Deno.bench({
  name: "tcp: 100 concurrent raw connect + close (floor)",
  group: "tcp x100",
  baseline: true,
  n: N / 20,
  warmup: WARMUP / 20,
  fn: async () => await times(100, rawConnect),
});

Deno.bench({
  name: "http: 100 concurrent prober.probe",
  group: "http x100",
  n: N / 20,
  warmup: WARMUP / 20,
  fn: async () => await times(100, () => probeOk(HTTP_CHECKS)),
});

Deno.bench({
  name: "http: 100 concurrent raw exchanges (floor)",
  group: "http x100",
  baseline: true,
  n: N / 20,
  warmup: WARMUP / 20,
  fn: async () => await times(100, () => rawHttp(new Uint8Array(4096))),
});

// Last bench: release the sockets so the runner's event loop can drain.
Deno.bench({
  name: "teardown (not a measurement)",
  group: "teardown",
  n: 1,
  warmup: 0,
  fn: () => {
    prober.close();
    httpSink.close();
    tcpSink.close();
  },
});
