/**
 * The gRPC API of a real daemon process, through our own client: queries,
 * operator actions with their status codes, WatchEvents ordering, a dropped
 * slow subscriber, and clean stream ends on SIGTERM.
 */
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectMaglev } from "../src/api/client.ts";
import type { Event } from "../src/api/gen/maglev/v1/maglev_pb.ts";
import { startDaemon } from "./helpers/fixture.ts";
import { waitFor } from "./helpers/wait.ts";

async function rejectsWith(p: Promise<unknown>, code: Code, re: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ConnectError, String(e));
    assert.equal(e.code, code, `${Code[e.code]}: ${e.rawMessage}`);
    assert.match(e.rawMessage, re);
    return true;
  });
}

Deno.test("grpc: queries, actions and status codes", async () => {
  await using d = await startDaemon();
  const { client, close } = connectMaglev(d.grpcAddr);
  try {
    await waitFor("all backends up", async () => {
      const r = await client.listBackends({});
      return r.backends.every((b) => b.state === "up") ? true : undefined;
    });
    const v = await client.getVersion({});
    assert.match(v.version, /^\d+\.\d+\.\d+/);

    const fe = await client.getFrontend({ name: "web" });
    assert.equal(fe.address, "192.0.2.1/32");
    assert.equal(fe.state, "up");
    assert.equal(fe.activePool, "primary");
    assert.deepEqual(
      fe.pools.map((p) => p.backends.map((b) => [b.name, b.effectiveWeight])),
      [[["a", 100], ["b", 100]], [["c", 0]]],
    );
    const hc = await client.getHealthCheck({ name: "hc-a" });
    assert.equal(hc.type, "http");
    assert.equal(hc.path, "/healthz");
    assert.equal(hc.responseCode, "200-299");
    assert.deepEqual(hc.backends, ["a"]);
    assert.equal((await client.listHealthChecks({})).healthchecks.length, 3);

    const b = await client.getBackend({ name: "a" });
    assert.equal(b.state, "up");
    assert.equal(b.lastProbe?.code, "L7OK");
    assert.deepEqual(b.frontends, ["web"]);

    await rejectsWith(
      client.getBackend({ name: "zz" }),
      Code.NotFound,
      /no backend "zz"/,
    );
    await rejectsWith(
      client.getFrontend({ name: "zz" }),
      Code.NotFound,
      /show frontends/,
    );
    await rejectsWith(
      client.getHealthCheck({ name: "zz" }),
      Code.NotFound,
      /zz/,
    );
    await rejectsWith(
      client.pauseBackend({ name: "" }),
      Code.InvalidArgument,
      /missing/,
    );

    const paused = await client.pauseBackend({ name: "a" });
    assert.equal(paused.state, "paused");
    assert.equal(paused.pausedFrom, "up");
    assert.equal((await client.resumeBackend({ name: "a" })).state, "unknown");
    const disabled = await client.disableBackend({ name: "b" });
    assert.equal(disabled.state, "disabled");
    assert.equal(disabled.enabled, false);
    await rejectsWith(
      client.pauseBackend({ name: "b" }),
      Code.FailedPrecondition,
      /disabled/,
    );
    assert.equal((await client.enableBackend({ name: "b" })).state, "unknown");

    await rejectsWith(
      client.setFrontendPoolBackendWeight({
        frontend: "web",
        pool: "primary",
        backend: "a",
        weight: 101,
      }),
      Code.InvalidArgument,
      /0 to 100/,
    );
    await rejectsWith(
      client.setFrontendPoolBackendWeight({
        frontend: "web",
        pool: "nope",
        backend: "a",
        weight: 1,
      }),
      Code.NotFound,
      /no pool "nope"/,
    );
    const w = await client.setFrontendPoolBackendWeight({
      frontend: "web",
      pool: "primary",
      backend: "a",
      weight: 7,
    });
    const a = w.pools[0].backends.find((x) => x.name === "a")!;
    assert.equal(a.weight, 7);
    assert.equal(a.weightOverridden, true);

    await rejectsWith(client.getVPPInfo({}), Code.Unavailable, /--vpp=false/);
    await rejectsWith(client.syncVPPLBState({}), Code.Unavailable, /VPP/);

    const check = await client.checkConfig({});
    assert.equal(check.ok, true);
    const reload = await client.reloadConfig({});
    assert.equal(reload.ok, true);
    assert.equal(reload.backendsUnchanged, 3);
    await Deno.writeTextFile(d.configPath, "maglev:\n  bogus: 1\n");
    const bad = await client.checkConfig({});
    assert.equal(bad.ok, false);
    assert.match(bad.parseError, /maglev\.yaml:2:3: maglev\.bogus: /);
    assert.equal(bad.errors[0].kind, "parse");
    const badReload = await client.reloadConfig({});
    assert.equal(badReload.ok, false);
    assert.equal(
      (await client.listBackends({})).backends.length,
      3,
      "nothing changed",
    );
  } finally {
    close();
  }
});

Deno.test("grpc: WatchEvents sends a snapshot, then live events in order; SIGTERM ends it cleanly", async () => {
  const d = await startDaemon();
  const { client, close } = connectMaglev(d.grpcAddr);
  try {
    await waitFor("all backends up", async () => {
      const r = await client.listBackends({});
      return r.backends.every((b) => b.state === "up") ? true : undefined;
    });
    const events: Event[] = [];
    const abort = new AbortController();
    const reading = (async () => {
      for await (const e of client.watchEvents({}, { signal: abort.signal })) {
        events.push(e);
      }
    })();
    await waitFor("snapshot", () => events.length >= 4 ? true : undefined);
    const snap = events.slice(0, 4);
    assert.deepEqual(
      snap.map((e) => [e.event.case, e.event.value?.$typeName]),
      [
        ["backend", "maglev.BackendEvent"],
        ["backend", "maglev.BackendEvent"],
        ["backend", "maglev.BackendEvent"],
        ["frontend", "maglev.FrontendEvent"],
      ],
    );
    for (const e of snap) {
      if (e.event.case === "backend") {
        assert.equal(
          e.event.value.transition?.from,
          e.event.value.transition?.to,
        );
      }
    }
    // A transition the test causes: c's backend fails.
    d.backends.get("c")!.healthy = false;
    const down = await waitFor(
      "c down event",
      () =>
        events.find((e) =>
          e.event.case === "backend" && e.event.value.backend === "c" &&
          e.event.value.transition?.to === "down"
        ),
    );
    assert.equal(
      down.event.case === "backend" && down.event.value.info?.state,
      "down",
    );
    assert.deepEqual(
      events.map((e) => Number(e.seq)),
      events.map((_, i) => i + 1),
      "seq increases by one",
    );
    // SIGTERM: the stream ends without error, the process exits 0 within 2 s.
    const { status, ms } = await d.process.stop("SIGTERM");
    await reading; // rejects if the stream ended with an error
    assert.equal(status.code, 0);
    assert.ok(ms < 2000, `took ${ms}ms`);
  } finally {
    close();
    await d.close();
  }
});

Deno.test("grpc: a subscriber that stops reading is dropped with RESOURCE_EXHAUSTED", async () => {
  await using d = await startDaemon({
    backends: ["a", "b", "c", "d", "e", "f"],
    interval: "10ms",
  });
  const { client, close } = connectMaglev(d.grpcAddr);
  try {
    const it = client.watchEvents({ log: true, logLevel: "debug" })[
      Symbol.asyncIterator
    ]();
    await it.next(); // subscribed; now stop reading
    await d.process.waitForRecord(
      (r) => r.msg === "watch-subscriber-dropped",
      "the daemon dropping the subscriber",
      20_000,
    );
    await assert.rejects(
      async () => {
        for (let i = 0; i < 1_000_000; i++) {
          const r = await it.next();
          if (r.done) return;
        }
      },
      (e: unknown) => {
        // The stream is reset with HTTP/2 ENHANCE_YOUR_CALM, which gRPC maps
        // to RESOURCE_EXHAUSTED (grpcio does; see grpc_interop_test.ts).
        // connect-es reports the reset itself as INTERNAL naming the code.
        assert.ok(e instanceof ConnectError, String(e));
        assert.ok(
          e.code === Code.ResourceExhausted ||
            (e.code === Code.Internal && /ENHANCE_YOUR_CALM/.test(e.message)),
          e.message,
        );
        return true;
      },
    );
    // The daemon keeps serving.
    assert.equal((await client.listBackends({})).backends.length, 6);
    // And its output stays JSON records (a stack trace broke it).
    const other = d.process.lines.filter((l) => {
      try {
        JSON.parse(l);
        return false;
      } catch {
        return true;
      }
    });
    assert.deepEqual(other.slice(0, 5), [], `${other.length} non-JSON lines`);
  } finally {
    close();
  }
});

Deno.test("grpc: limits: a huge request and a huge name are refused briefly; past 32 watch streams RESOURCE_EXHAUSTED, counted", async () => {
  await using d = await startDaemon();
  const conns = Array.from({ length: 3 }, () => connectMaglev(d.grpcAddr));
  const streams: AbortController[] = [];
  const open = async (c: number) => {
    const ac = new AbortController();
    const it = conns[c].client.watchEvents({ backend: true }, {
      signal: ac.signal,
    })[Symbol.asyncIterator]();
    try {
      await it.next(); // the snapshot's first event: subscribed
    } catch (e) {
      ac.abort();
      throw e;
    }
    streams.push(ac);
  };
  try {
    const { client } = conns[0];
    await assert.rejects(
      client.getBackend({ name: "x".repeat(200_000) }),
      (e: unknown) => {
        assert.ok(e instanceof ConnectError);
        assert.equal(e.code, Code.ResourceExhausted, e.message);
        return true;
      },
    );
    await assert.rejects(
      client.getBackend({ name: "y".repeat(10_000) }),
      (e: unknown) => {
        assert.ok(e instanceof ConnectError);
        assert.equal(e.code, Code.InvalidArgument);
        assert.ok(e.message.length < 200, e.message);
        assert.match(e.message, /backend name of 10000 characters/);
        return true;
      },
    );
    // 32 streams open (spread over three connections) …
    for (let i = 0; i < 32; i++) await open(i % 3);
    // … and the 33rd is refused, and counted.
    await assert.rejects(
      () => open(0),
      (e: unknown) => {
        assert.ok(e instanceof ConnectError);
        assert.equal(e.code, Code.ResourceExhausted);
        assert.match(e.message, /too many WatchEvents streams open \(32\)/);
        return true;
      },
    );
    const metrics = await (await fetch(`http://${d.metricsAddr}/metrics`))
      .text();
    assert.match(metrics, /maglev_grpc_refused_total\{reason="watchers"\} 1/);
    // Closing one makes room again.
    streams.pop()!.abort();
    await waitFor("a stream slot free", async () => {
      try {
        await open(1);
        return true;
      } catch {
        return undefined;
      }
    });
  } finally {
    for (const s of streams) s.abort();
    for (const c of conns) c.close();
  }
});

Deno.test("grpc: a connection that sends nothing is closed after --grpc-idle-timeout; a quiet watch stream stays (pinged) and still gets events", async () => {
  await using d = await startDaemon({ flags: ["--grpc-idle-timeout", "1s"] });
  const [host, port] = [
    d.grpcAddr.slice(0, d.grpcAddr.lastIndexOf(":")),
    Number(d.grpcAddr.slice(d.grpcAddr.lastIndexOf(":") + 1)),
  ];
  // A slowloris: connects, never speaks.
  const raw = await Deno.connect({ hostname: host, port });
  const t0 = performance.now();
  const buf = new Uint8Array(256);
  let closedAfter = -1;
  for (let i = 0; i < 100; i++) {
    const n = await raw.read(buf).catch(() => null);
    if (n === null) {
      closedAfter = performance.now() - t0;
      break;
    }
  }
  raw.close();
  assert.ok(closedAfter >= 0, "the idle connection was closed");
  assert.ok(closedAfter < 10_000, `closed after ${Math.round(closedAfter)} ms`);

  const { client, close } = connectMaglev(d.grpcAddr);
  const ac = new AbortController();
  try {
    const it = client.watchEvents({ backend: true }, { signal: ac.signal })[
      Symbol.asyncIterator
    ]();
    // The snapshot: one event per backend.
    for (let i = 0; i < 3; i++) await it.next();
    // Nothing happens for three idle timeouts …
    const quiet = performance.now();
    await waitFor(
      "3 s of quiet",
      () => performance.now() - quiet > 3000 || undefined,
      10_000,
      100,
    );
    // … and the stream is still there for the next event.
    await client.pauseBackend({ name: "a" });
    const next = await it.next();
    assert.equal(next.done, false);
  } finally {
    ac.abort();
    close();
  }
});

Deno.test("grpc: grpc_server_* metrics under grpc-prometheus's names count calls by method and code, streams when they end", async () => {
  await using d = await startDaemon();
  const { client, close } = connectMaglev(d.grpcAddr);
  const ac = new AbortController();
  try {
    await client.listBackends({});
    await client.listBackends({});
    await client.getBackend({ name: "nope" }).catch(() => {});
    const it = client.watchEvents({ backend: true }, { signal: ac.signal })[
      Symbol.asyncIterator
    ]();
    await it.next();
    const text = await (await fetch(`http://${d.metricsAddr}/metrics`)).text();
    const line = (name: string, labels: string) =>
      new RegExp(`^${name}\\{${labels}\\} (\\d+)$`, "m").exec(text)?.[1];
    const m = 'grpc_type="unary",grpc_service="maglev.Maglev"';
    assert.equal(
      line("grpc_server_started_total", `${m},grpc_method="ListBackends"`),
      "2",
    );
    assert.equal(
      line(
        "grpc_server_handled_total",
        `${m},grpc_method="ListBackends",grpc_code="OK"`,
      ),
      "2",
    );
    assert.equal(
      line(
        "grpc_server_handled_total",
        `${m},grpc_method="GetBackend",grpc_code="NotFound"`,
      ),
      "1",
    );
    assert.equal(
      line(
        "grpc_server_started_total",
        'grpc_type="server_stream",grpc_service="maglev.Maglev",grpc_method="WatchEvents"',
      ),
      "1",
    );
    assert.match(text, /^grpc_server_handling_seconds_bucket\{/m);
    assert.ok(
      Number(line(
        "grpc_server_msg_sent_total",
        'grpc_type="server_stream",grpc_service="maglev.Maglev",grpc_method="WatchEvents"',
      )) >= 1,
    );
  } finally {
    ac.abort();
    close();
  }
});
