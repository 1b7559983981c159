/** Plain TCP connect probes against real listeners on 127.0.0.1 and ::1. */
import assert from "node:assert/strict";
import { createProber, probeOnce } from "../../src/probe/mod.ts";
import { makeCheck } from "../helpers/checks.ts";
import { LOOPBACKS, refusedPort, serve, silent } from "../helpers/listeners.ts";
import { probeWithin, target } from "../helpers/probe.ts";

const TIMEOUT = 300;

for (const host of LOOPBACKS) {
  Deno.test(`tcp ${host}: listener → L4OK, one connection, closed at once`, async () => {
    await using server = serve({ hostname: host, handler: silent() });
    const prober = createProber();
    try {
      const check = makeCheck("tcp", { port: server.port, timeoutMs: TIMEOUT });
      const r = await probeWithin(prober, host, check);
      assert.equal(r.code, "L4OK", r.text);
      assert.equal(server.accepted(), 1);
      // The silent handler returns when the probe closes its side.
      const r2 = await probeWithin(prober, host, check);
      assert.equal(r2.code, "L4OK");
      assert.equal(server.accepted(), 2);
    } finally {
      prober.close();
    }
  });

  Deno.test(`tcp ${host}: refused → L4CON`, async () => {
    const prober = createProber();
    try {
      const check = makeCheck("tcp", {
        port: refusedPort(host),
        timeoutMs: TIMEOUT,
      });
      const r = await probeWithin(prober, host, check);
      assert.equal(r.code, "L4CON");
      assert.equal(r.text, "connection refused");
    } finally {
      prober.close();
    }
  });
}

Deno.test("tcp: address of the wrong shape fails cleanly", async () => {
  const r = await probeOnce(
    { address: "not-an-address", family: 4 },
    makeCheck("tcp", { port: 80, timeoutMs: TIMEOUT }),
  );
  assert.equal(r.ok, false);
  assert.ok(r.durationMs <= TIMEOUT + 100);
});

Deno.test("tcp: probes after close fail at once", async () => {
  const prober = createProber();
  prober.close();
  const r = await prober.probe(
    target("127.0.0.1"),
    makeCheck("tcp", { port: 1 }),
  );
  assert.equal(r.code, "L4CON");
  assert.equal(r.text, "prober closed");
});

Deno.test("tcp: zero timeout still gives a verdict", async () => {
  await using server = serve({ hostname: "127.0.0.1", handler: silent() });
  const prober = createProber();
  try {
    const check = makeCheck("tcp", { port: server.port, timeoutMs: 0 });
    const r = await probeWithin(prober, "127.0.0.1", check);
    assert.ok(r.code === "L4TOUT" || r.code === "L4OK", r.code);
  } finally {
    prober.close();
  }
});
