/**
 * `maglev tester --output json` against VIPs simulated on loopback: several
 * backend processes share one address and port (SO_REUSEPORT), so the
 * kernel spreads new connections over them as Maglev spreads flows. The
 * figures the tester reports must match what the backends counted, the
 * tally must follow a backend that dies and comes back, and nothing but the
 * VIPs may be contacted.
 */
import assert from "node:assert/strict";
import { makeTestCerts } from "../helpers/certs.ts";
import { httpResponse, reply, serve } from "../helpers/listeners.ts";
import { tempDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";
import { Backend, randomLoopback, Vip } from "./backends.ts";
import { reports, startTester, testConfig } from "./helpers.ts";

/** Sums `key`'s per-value counts over report lines. */
function sumTallies(lines: { tally?: Record<string, number> }[]) {
  const out: Record<string, number> = {};
  for (const l of lines) {
    for (const [k, v] of Object.entries(l.tally ?? {})) {
      out[k] = (out[k] ?? 0) + v;
    }
  }
  return out;
}

for (const family of ["127.0.0.0/8", "::1"]) {
  Deno.test(`tester json (${family}): the figures match what the backends served, and nothing else is contacted`, async () => {
    const host = family === "::1" ? "::1" : randomLoopback();
    await using dir = await tempDir("maglev-tester-test-");
    await using vip = await Vip.start(host, ["b1", "b2", "b3"]);
    // A listener at the config's backend address and health-check port:
    // the tester must never connect to it.
    await using decoy = await Backend.start(randomLoopback(), 0, "decoy");
    const config = `${dir.path}/maglev.yaml`;
    await Deno.writeTextFile(
      config,
      testConfig(
        [{ name: "web", address: host, port: vip.port }],
        decoy.host,
        decoy.port,
      ),
    );
    const tester = startTester([
      "--config",
      config,
      "--http-ports",
      String(vip.port),
      "--header",
      "X-Backend",
      "--interval",
      "10ms",
      "--report-interval",
      "250ms",
      "--duration",
      "2s",
    ]);
    try {
      const status = await tester.exited;
      await tester.stop();
      assert.equal(status.code, 0, tester.tail());
      const lines = reports(tester);
      assert.ok(lines.length >= 5, tester.tail());
      const last = lines[lines.length - 1];
      assert.equal(last.final, true);
      assert.ok(lines.slice(0, -1).every((l) => l.final === undefined));
      assert.deepEqual(last.frontends, ["web"]);
      assert.equal(last.vip, host);
      assert.equal(last.port, vip.port);
      assert.equal(last.scheme, "http");
      // Every line's interval adds up to the totals.
      const probes = lines.reduce((a, l) => a + l.probes, 0);
      assert.equal(probes, last.total_probes);
      assert.equal(lines.reduce((a, l) => a + l.failures, 0), 0);
      assert.equal(last.total_failures, 0);
      assert.deepEqual(sumTallies(lines), last.tally_total);
      // ~10 ms apart for 2 s: well over 50 probes, spread over the backends.
      assert.ok(probes > 50, `only ${probes} probes`);
      // What the backends counted: every response was counted by the
      // tester (it waits for probes in flight before its final line), one
      // connection per probe.
      const tally = last.tally_total ?? {};
      for (const b of vip.backends.values()) {
        assert.equal(tally[b.name] ?? 0, b.served, `${b.name} served`);
        assert.equal(
          b.connections,
          b.served,
          `${b.name}: one probe per connection`,
        );
        assert.ok(
          b.served > 0,
          `${b.name} never answered: ${JSON.stringify(tally)}`,
        );
      }
      assert.equal(Object.keys(tally).length, 3);
      assert.equal(decoy.connections, 0, "the backend address was contacted");
      assert.ok(last.latency_ms === null || last.latency_ms.p50 > 0);
    } finally {
      await tester.stop();
    }
  });
}

Deno.test("tester json: the tally follows a backend that dies and comes back", async () => {
  const host = randomLoopback();
  await using dir = await tempDir("maglev-tester-test-");
  await using vip = await Vip.start(host, ["b1", "b2", "b3"]);
  const config = `${dir.path}/maglev.yaml`;
  await Deno.writeTextFile(
    config,
    testConfig([{ name: "web", address: host, port: vip.port }]),
  );
  const tester = startTester([
    "--config",
    config,
    "--http-ports",
    String(vip.port),
    "--header",
    "X-Backend",
    "--interval",
    "10ms",
    "--report-interval",
    "200ms",
  ]);
  try {
    const has = (r: Record<string, unknown>, name: string) =>
      ((r.tally as Record<string, number> | undefined)?.[name] ?? 0) > 0;
    await tester.waitForRecord(
      (r) => has(r, "b1") && has(r, "b2") && has(r, "b3"),
      "an interval with answers from b1, b2 and b3",
    );
    // b2 crashes: its share goes to the others, and it answers no more.
    await vip.get("b2").kill();
    const killedAt = Date.now();
    const after = (r: Record<string, unknown>, t: number) =>
      Date.parse(String(r.time)) - Number(r.interval_ms) > t;
    await tester.waitForRecord(
      (r) => after(r, killedAt) && has(r, "b1") && has(r, "b3"),
      "an interval after the kill with answers from b1 and b3",
    );
    // b2 comes back on the same address and port and gets answers again.
    const restartedAt = Date.now();
    const reborn = await vip.add("b2");
    await tester.waitForRecord(
      (r) => after(r, restartedAt) && has(r, "b2"),
      "an interval after the restart with answers from b2",
    );
    // Between the kill and the restart, no interval had an answer from b2.
    const dark = reports(tester).filter((r) =>
      after(r as unknown as Record<string, unknown>, killedAt) &&
      Date.parse(r.time) <= restartedAt
    );
    assert.ok(dark.length > 0);
    assert.ok(dark.every((r) => !r.tally?.b2), JSON.stringify(dark));
    const { status } = await tester.stop("SIGTERM");
    assert.equal(status.code, 0, "SIGTERM is a clean stop");
    const lines = reports(tester);
    const last = lines[lines.length - 1];
    assert.equal(last.final, true);
    assert.equal(last.tally_total?.b2, sumTallies(lines).b2);
    assert.ok(reborn.served > 0);
  } finally {
    await tester.stop();
  }
});

Deno.test("tester json: --keepalive reuses one connection for many probes", async () => {
  const host = randomLoopback();
  await using dir = await tempDir("maglev-tester-test-");
  await using vip = await Vip.start(host, ["b1", "b2"]);
  const config = `${dir.path}/maglev.yaml`;
  await Deno.writeTextFile(
    config,
    testConfig([{ name: "web", address: host, port: vip.port }]),
  );
  const tester = startTester([
    "--config",
    config,
    "--http-ports",
    String(vip.port),
    "--header",
    "X-Backend",
    "--keepalive",
    "--interval",
    "10ms",
    "--duration",
    "1s",
  ]);
  try {
    assert.equal((await tester.exited).code, 0, tester.tail());
    await tester.stop();
    const lines = reports(tester);
    const last = lines[lines.length - 1];
    const served = [...vip.backends.values()].reduce((a, b) => a + b.served, 0);
    const conns = [...vip.backends.values()].reduce(
      (a, b) => a + b.connections,
      0,
    );
    assert.equal(served, last.total_probes);
    assert.ok(served > 20, `${served} probes`);
    assert.equal(conns, 1, "one connection carried every probe");
    assert.equal(Object.keys(last.tally_total ?? {}).length, 1);
  } finally {
    await tester.stop();
  }
});

Deno.test("tester json: a non-HTTP port gets TCP connects; UDP VIPs are skipped", async () => {
  const host = randomLoopback();
  await using dir = await tempDir("maglev-tester-test-");
  await using vip = await Vip.start(host, ["t1", "t2"]);
  const config = `${dir.path}/maglev.yaml`;
  await Deno.writeTextFile(
    config,
    testConfig([
      { name: "smtp", address: host, port: vip.port },
      { name: "dns", address: host, port: 53, protocol: "udp" },
    ]),
  );
  const tester = startTester([
    "--config",
    config,
    "--interval",
    "20ms",
    "--duration",
    "800ms",
  ]);
  try {
    assert.equal((await tester.exited).code, 0, tester.tail());
    await tester.stop();
    assert.ok(
      tester.lines.some((l) =>
        /skipping frontend dns \(.*udp port 53\).*UDP/.test(l)
      ),
      tester.tail(),
    );
    const lines = reports(tester);
    assert.ok(lines.every((l) => l.scheme === "tcp" && l.port === vip.port));
    const last = lines[lines.length - 1];
    assert.equal(last.last?.code, "L4OK");
    assert.equal(last.total_failures, 0);
    assert.equal("tally" in last, false, "no --header, no tally");
    // A connect the tester finished may still wait in a backend's accept
    // queue: wait (bounded) until the backends have taken every one.
    const accepted = () =>
      [...vip.backends.values()].reduce((a, b) => a + b.connections, 0);
    await waitFor(
      `${last.total_probes} connections accepted`,
      () => accepted() >= last.total_probes || undefined,
    );
    assert.equal(accepted(), last.total_probes);
    assert.ok([...vip.backends.values()].every((b) => b.served === 0));
  } finally {
    await tester.stop();
  }
});

Deno.test("tester json: an HTTPS VIP with --host, --uri and --insecure; without --insecure a bad certificate is a network error", async () => {
  await using certs = await makeTestCerts();
  await using server = serve({
    hostname: "127.0.0.1",
    tls: certs.selfSigned,
    handler: reply(httpResponse(200, "ok", { "X-Backend": "tls1" })),
  });
  await using dir = await tempDir("maglev-tester-test-");
  const config = `${dir.path}/maglev.yaml`;
  await Deno.writeTextFile(
    config,
    testConfig([{ name: "secure", address: "127.0.0.1", port: server.port }]),
  );
  const run = async (extra: string[]) => {
    const tester = startTester([
      "--config",
      config,
      "--https-ports",
      String(server.port),
      "--header",
      "X-Backend",
      "--host",
      "www.example",
      "--uri",
      "/hz",
      "--interval",
      "50ms",
      "--duration",
      "500ms",
      ...extra,
    ]);
    try {
      assert.equal((await tester.exited).code, 0, tester.tail());
      await tester.stop();
      return reports(tester);
    } finally {
      await tester.stop();
    }
  };
  const okLines = await run(["--insecure"]);
  const ok = okLines[okLines.length - 1];
  assert.equal(ok.scheme, "https");
  assert.equal(ok.total_failures, 0);
  assert.deepEqual(Object.keys(ok.tally_total ?? {}), ["tls1"]);
  assert.equal(ok.last?.code, "L7OK");
  assert.ok(server.requests.length >= ok.total_probes);
  assert.match(
    server.requests[0],
    /^GET \/hz HTTP\/1\.1\r\nHost: www\.example\r\n/,
  );
  const refusedLines = await run([]);
  const refused = refusedLines[refusedLines.length - 1];
  assert.equal(refused.total_failures, refused.total_probes);
  assert.equal(
    refusedLines.reduce((a, l) => a + (l.anomalies["network-error"] ?? 0), 0),
    refused.total_failures,
    "each failed handshake is a network-error anomaly",
  );
  assert.ok(refused.total_probes > 0);
  assert.equal(refused.last?.code, "L6RSP");
});
