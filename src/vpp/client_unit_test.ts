/**
 * VppClient against the in-process FakeTransport: matching, dumps,
 * timeouts, retvals, incompatibility, loss and reconnection. The same
 * behaviours run through real FFI in client_test.ts.
 */

import assert from "node:assert/strict";
import { waitFor } from "../../tests/helpers/wait.ts";
import {
  type ApiDirection,
  type ApiResult,
  VppClient,
  type VppClientEvent,
  type VppClientOptions,
  VppIncompatibleError,
  type VppProcess,
  VppTimeoutError,
  VppUnavailableError,
} from "./client.ts";
import type { WireRecord } from "./messages.ts";
import { FakeTransport } from "./_fake_transport.ts";
import { VppError } from "./types.ts";
import { CodecError } from "./codec.ts";

interface Harness {
  fake: FakeTransport;
  client: VppClient;
  events: VppClientEvent[];
  counts: Map<string, number>;
  logs: { msg: string; fields?: Record<string, unknown> }[];
  next(type: VppClientEvent["type"]): Promise<VppClientEvent>;
}

function harness(
  fake = new FakeTransport(),
  opts: Partial<VppClientOptions> = {},
): Harness {
  const events: VppClientEvent[] = [];
  const counts = new Map<string, number>();
  const logs: Harness["logs"] = [];
  const client = new VppClient({
    transport: fake,
    requestTimeoutMs: 300,
    keepaliveIntervalMs: 60_000,
    keepaliveTimeoutMs: 200,
    backoffInitialMs: 10,
    backoffMaxMs: 40,
    // 4242, the fake's pid, could be a real VPP's on a busy test machine.
    processProbe: () => undefined,
    observer: (msg: string, d: ApiDirection, r: ApiResult) => {
      const k = `${msg} ${d} ${r}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    },
    logger: {
      debug: (msg, fields) => logs.push({ msg, fields }),
      warn: (msg, fields) => logs.push({ msg, fields }),
    },
    ...opts,
  });
  const waiters: { type: string; resolve: (e: VppClientEvent) => void }[] = [];
  client.on((e) => {
    events.push(e);
    for (const w of waiters.splice(0)) {
      if (w.type === e.type) w.resolve(e);
      else waiters.push(w);
    }
  });
  return {
    fake,
    client,
    events,
    counts,
    logs,
    next: (type) => new Promise((resolve) => waiters.push({ type, resolve })),
  };
}

async function connected(h: Harness): Promise<void> {
  const ev = h.next("connected");
  h.client.start();
  await ev;
}

async function done(h: Harness): Promise<void> {
  await h.client.close();
  assert.deepEqual(h.fake.violations, []);
  assert.equal(h.fake.linked, false, "disconnected on close");
}

Deno.test("client: connects, reads the version, resolves every id", async () => {
  const h = harness();
  await connected(h);
  const ev = h.events.find((e) => e.type === "connected");
  assert.deepEqual(ev, {
    type: "connected",
    version: {
      program: "vpe",
      version: "26.10-fake",
      buildDate: "2026-11-21T03:09:21",
      buildDirectory: "",
    },
    vpePid: 4242,
  });
  assert.equal(h.client.connected, true);
  assert.equal(h.client.version?.version, "26.10-fake");
  assert.equal(h.client.vpePid, 4242);
  assert.equal(h.client.messageId("lb_conf"), h.fake.idOf("lb_conf"));
  // show_version first, then the ping that proves the link.
  assert.deepEqual(h.fake.sent.map((s) => s.name), [
    "show_version",
    "control_ping",
  ]);
  await done(h);
  assert.equal(h.client.messageId("lb_conf"), undefined);
  assert.deepEqual(h.events.at(-1), { type: "disconnected", reason: "closed" });
});

Deno.test("client: request/reply matched by context, counted and logged", async () => {
  const h = harness();
  h.fake.handlers.set("lb_conf_get", () => [[
    "lb_conf_get_reply",
    {
      retval: 0,
      ip4_src_address: "192.0.2.254",
      ip6_src_address: "2001:db8::254",
      sticky_buckets_per_core: 65536,
      flow_timeout: 40,
    },
  ]]);
  await connected(h);
  const [a, b] = await Promise.all([
    h.client.request("lb_conf_get", {}),
    h.client.request("control_ping", {}),
  ]);
  assert.equal(a.ip6_src_address, "2001:db8::254");
  assert.equal(a.sticky_buckets_per_core, 65536);
  assert.equal(b.vpe_pid, 4242);
  const contexts = h.fake.sent.map((s) => s.values.context);
  assert.equal(
    new Set(contexts).size,
    contexts.length,
    "fresh context per request",
  );
  assert.equal(h.counts.get("lb_conf_get send success"), 1);
  assert.equal(h.counts.get("lb_conf_get_reply recv success"), 1);
  assert.ok(
    h.logs.some((l) =>
      l.msg === "vpp-api-send" && l.fields?.msg === "lb_conf_get"
    ),
  );
  assert.ok(
    h.logs.some((l) =>
      l.msg === "vpp-api-recv" && l.fields?.msg === "lb_conf_get_reply" &&
      l.fields?.retval === 0
    ),
  );
  await done(h);
});

Deno.test("client: a negative retval is a VppError named after the request", async () => {
  const h = harness();
  h.fake.handlers.set(
    "lb_add_del_as_v2",
    () => [["lb_add_del_as_v2_reply", { retval: -81 }]],
  );
  await connected(h);
  await assert.rejects(
    h.client.request("lb_add_del_as_v2", {
      pfx: "192.0.2.1/32",
      protocol: 6,
      port: 80,
      as_address: "198.51.100.10",
      weight: 100,
      is_del: false,
      is_flush: false,
    }),
    (e: unknown) =>
      e instanceof VppError && e.retval === -81 &&
      e.msg === "lb_add_del_as_v2" &&
      /VALUE_EXIST/.test(e.message),
  );
  assert.equal(h.counts.get("lb_add_del_as_v2_reply recv failure"), 1);
  await done(h);
});

Deno.test("client: dumps end at the control_ping reply with the same context", async () => {
  const h = harness();
  const details = (port: number) =>
    [
      "lb_vip_details",
      {
        "vip.pfx": "192.0.2.1/32",
        "vip.protocol": 6,
        "vip.port": port,
        encap: 0,
        dscp: 0,
        srv_type: 0,
        target_port: 0,
        flow_table_length: 1024,
      },
    ] as const;
  h.fake.handlers.set("lb_vip_dump", () => [details(80), details(443)]);
  await connected(h);
  const filter = {
    pfx: "0.0.0.0/0",
    "pfx_matcher.le": 0,
    "pfx_matcher.ge": 0,
    protocol: 0,
    port: 0,
  };
  const got = await h.client.dump("lb_vip_dump", filter);
  assert.deepEqual(got.map((d) => d["vip.port"]), [80, 443]);
  const [dump, ping] = h.fake.sent.slice(-2);
  assert.equal(dump.name, "lb_vip_dump");
  assert.equal(ping.name, "control_ping");
  assert.equal(dump.values.context, ping.values.context);
  // An empty dump is an empty list.
  h.fake.handlers.set("lb_vip_dump", () => []);
  assert.deepEqual(await h.client.dump("lb_vip_dump", filter), []);
  await done(h);
});

Deno.test("client: timeouts reject, late replies are dropped, a keepalive checks at once", async () => {
  const h = harness();
  await connected(h);
  let late: Uint8Array | undefined;
  h.fake.handlers.set("lb_conf_get", (v) => {
    late = h.fake.encodeMessage("lb_conf_get_reply", {
      retval: 0,
      ip4_src_address: "192.0.2.254",
      ip6_src_address: "2001:db8::254",
      sticky_buckets_per_core: 1024,
      flow_timeout: 40,
    }, v.context as number);
    return [];
  });
  const pingsBefore =
    h.fake.sent.filter((s) => s.name === "control_ping").length;
  const t0 = Date.now();
  await assert.rejects(
    h.client.request("lb_conf_get", {}, 100),
    (e: unknown) =>
      e instanceof VppTimeoutError && e instanceof VppUnavailableError &&
      /lb_conf_get: no reply from VPP within 100 ms/.test(e.message),
  );
  assert.ok(Date.now() - t0 >= 95);
  h.fake.inject(late!);
  await waitFor(
    "the late reply logged as unmatched",
    () => h.logs.some((l) => l.msg === "vpp-api-recv-unmatched") || undefined,
  );
  await waitFor(
    "a keepalive after the timeout",
    () =>
      h.fake.sent.filter((s) => s.name === "control_ping").length >
        pingsBefore || undefined,
  );
  assert.equal(
    h.client.connected,
    true,
    "VPP answered the ping: still connected",
  );
  await done(h);
});

Deno.test("client: a reply that does not decode fails its request with a CodecError", async () => {
  const h = harness();
  await connected(h);
  h.fake.handlers.set("lb_conf_get", (v) => {
    const good = h.fake.encodeMessage("lb_conf_get_reply", {
      retval: 0,
      ip4_src_address: "192.0.2.254",
      ip6_src_address: "2001:db8::254",
      sticky_buckets_per_core: 1024,
      flow_timeout: 40,
    }, v.context as number);
    return [good.subarray(0, 20)];
  });
  await assert.rejects(
    h.client.request("lb_conf_get", {}),
    (e: unknown) =>
      e instanceof CodecError &&
      /lb_conf_get_reply: message too short: 20 bytes/.test(e.message),
  );
  assert.equal(h.counts.get("lb_conf_get_reply recv failure"), 1);
  await done(h);
});

Deno.test("client: encode errors reject without sending", async () => {
  const h = harness();
  await connected(h);
  const before = h.fake.sent.length;
  await assert.rejects(
    h.client.request("lb_as_set_weight", {
      pfx: "192.0.2.1/32",
      protocol: 6,
      port: 80,
      as_address: "198.51.100.10",
      weight: 300,
      is_flush: false,
    }),
    CodecError,
  );
  assert.equal(h.fake.sent.length, before);
  await done(h);
});

Deno.test("client: requests while not connected fail fast and never write", async () => {
  const h = harness();
  await assert.rejects(
    h.client.request("control_ping", {}),
    (e: unknown) =>
      e instanceof VppUnavailableError &&
      /control_ping: VPP is not connected/.test(e.message),
  );
  assert.equal(h.fake.sent.length, 0);
  await done(h);
  await assert.rejects(h.client.request("control_ping", {}), /closed/);
});

Deno.test("client: an incompatible VPP is reported with every missing message and its version", async () => {
  const h = harness(
    new FakeTransport({
      unknown: ["lb_add_del_as_v2", "lb_as_v2_details"],
      version: "25.02-old",
    }),
  );
  const failed = h.next("connect-failed");
  h.client.start();
  const ev = await failed;
  assert.equal(ev.type, "connect-failed");
  if (ev.type !== "connect-failed") return;
  assert.match(
    ev.reason,
    /VPP 25\.02-old \(built 2026-11-21T03:09:21\) does not know 2 message\(s\)/,
  );
  assert.match(
    ev.reason,
    /lb_add_del_as_v2_2f1d3b0e, lb_as_v2_details_90064aae/,
  );
  assert.match(ev.reason, /lb plugin loaded/);
  assert.equal(ev.attempt, 1);
  assert.equal(ev.retryInMs, 10);
  // It keeps retrying (with backoff), disconnecting each time.
  const again = await h.next("connect-failed");
  assert.equal(again.type === "connect-failed" && again.attempt, 2);
  assert.equal(h.client.connected, false);
  await done(h);
  assert.equal(h.fake.connects, h.fake.disconnects);
});

Deno.test("client: VppIncompatibleError without a readable version", () => {
  const e = new VppIncompatibleError(["control_ping_51077d14"], undefined);
  assert.match(e.message, /VPP \(version unknown\) does not know 1 message/);
});

Deno.test("client: VPP dies → keepalive fails → disconnected → backoff → reconnect after restart", async () => {
  const h = harness(new FakeTransport(), {
    keepaliveIntervalMs: 30,
    keepaliveTimeoutMs: 80,
  });
  await connected(h);
  h.fake.handlers.set("lb_conf_get", () => []); // a request in flight when VPP dies
  const inFlight = h.client.request("lb_conf_get", {}, 5000);
  const lost = h.next("disconnected");
  h.fake.kill();
  await assert.rejects(
    inFlight,
    (e: unknown) =>
      e instanceof VppUnavailableError &&
      /VPP connection lost: keepalive control_ping failed/.test(e.message),
  );
  const ev = await lost;
  assert.equal(ev.type, "disconnected");
  assert.match(
    ev.type === "disconnected" ? ev.reason : "",
    /keepalive control_ping failed: control_ping: no reply/,
  );
  assert.equal(h.client.connected, false);
  // While VPP is down: failed attempts with growing, capped delays.
  const f1 = await h.next("connect-failed");
  const f2 = await h.next("connect-failed");
  const f3 = await h.next("connect-failed");
  const f4 = await h.next("connect-failed");
  const delays = [f1, f2, f3, f4].map((e) =>
    e.type === "connect-failed" ? e.retryInMs : -1
  );
  assert.deepEqual(delays, [10, 20, 40, 40]);
  assert.match(
    f1.type === "connect-failed" ? f1.reason : "",
    /vac_connect returned -1/,
  );
  await assert.rejects(
    h.client.request("control_ping", {}),
    VppUnavailableError,
  );
  const back = h.next("connected");
  h.fake.restart();
  await back;
  assert.equal(h.client.connected, true);
  const pong = await h.client.request("control_ping", {});
  assert.equal(pong.retval, 0);
  await done(h);
});

Deno.test("client: vac_read failing (not connected) tears the link down and reconnects", async () => {
  const h = harness();
  await connected(h);
  const lost = h.next("disconnected");
  const back = h.next("connected");
  h.fake.dropLink();
  const ev = await lost;
  assert.match(
    ev.type === "disconnected" ? ev.reason : "",
    /vac_read returned -3/,
  );
  await back;
  assert.equal(h.client.connected, true);
  await done(h);
});

Deno.test("client: close while a connect is in flight waits for it and disconnects", async () => {
  const fake = new FakeTransport();
  fake.connectDelayMs = 50;
  const h = harness(fake);
  h.client.start();
  await new Promise((r) => setTimeout(r, 10));
  await h.client.close();
  assert.equal(fake.linked, false);
  assert.equal(h.events.filter((e) => e.type === "connected").length, 0);
  assert.deepEqual(fake.violations, []);
});

Deno.test("client: close does not wait for a slow vac_connect; it disconnects when it returns", async () => {
  const fake = new FakeTransport();
  fake.connectDelayMs = 300;
  const h = harness(fake, { closeWaitMs: 30 });
  h.client.start();
  const waiting = h.client.waitConnected(5000).then(
    () => "connected",
    (e: Error) => e.message,
  );
  await new Promise((r) => setTimeout(r, 10));
  const t0 = Date.now();
  await h.client.close();
  assert.ok(
    Date.now() - t0 < 200,
    "close returned before the connect finished",
  );
  assert.equal(await waiting, "the VPP client was closed");
  // The connect (300 ms) finishes after close returned; it must be undone.
  await waitFor("the late connect undone", () => fake.disconnects || undefined);
  assert.equal(fake.connects, 1);
  assert.equal(fake.linked, false, "the late connect was undone");
  assert.equal(fake.disconnects, 1);
  assert.deepEqual(fake.sent, [], "nothing sent after close");
  assert.deepEqual(fake.violations, []);
  await assert.rejects(h.client.waitConnected(10), /closed/);
});

Deno.test("client: waitConnected resolves on connect and times out otherwise", async () => {
  const h = harness();
  h.client.start();
  await h.client.waitConnected(2000);
  await done(h);
  const fake = new FakeTransport();
  fake.kill();
  const h2 = harness(fake);
  h2.client.start();
  await assert.rejects(
    h2.client.waitConnected(50),
    /not connected after 50 ms/,
  );
  await done(h2);
});

Deno.test("client: listener exceptions never escape", async () => {
  const h = harness();
  h.client.on(() => {
    throw new Error("boom");
  });
  await connected(h);
  assert.ok(h.logs.some((l) => l.msg === "vpp-event-listener-failed"));
  await done(h);
});

// ---------------------------------------------------------------------------
// A slow VPP, a stopped VPP, and the send window

const PONG = [
  "control_ping_reply",
  { retval: 0, client_index: 0, vpe_pid: 4242 },
] as const;

function asDetails(i: number): WireRecord {
  return {
    "vip.pfx": "192.0.2.1/32",
    "vip.protocol": 6,
    "vip.port": 80,
    app_srv: `198.51.100.${i % 250}`,
    flags: 1,
    in_use_since: 0,
    weight: 100,
    num_buckets: 16,
  };
}

Deno.test("client: a dump streaming longer than its timeout completes; keepalives behind it do not fail", async () => {
  const h = harness(new FakeTransport(), {
    keepaliveIntervalMs: 30,
    keepaliveTimeoutMs: 100,
  });
  await connected(h);
  // VPP answers in order: while it streams the dump, pings sent after it
  // wait, and the dump's own ping ends it.
  let dumpCtx: number | undefined;
  const heldPings: number[] = [];
  h.fake.handlers.set("lb_as_v2_dump", (v) => {
    dumpCtx = v.context as number;
    return [];
  });
  h.fake.handlers.set("control_ping", (v) => {
    if (dumpCtx === undefined) return [PONG];
    heldPings.push(v.context as number);
    return [];
  });
  // Settled at once: a failure shows here, not as an unhandled rejection.
  const dump = h.client.dump("lb_as_v2_dump", {
    pfx: "0.0.0.0/0",
    protocol: 0,
    port: 0,
  }, 100).then((d) => d, (e: unknown) => e);
  const ctx = await waitFor("the dump sent", () => dumpCtx);
  // 40 details 15 ms apart (a slow VPP): 600 ms, six times the timeout.
  for (let i = 0; i < 40; i++) {
    h.fake.inject(h.fake.encodeMessage("lb_as_v2_details", asDetails(i), ctx));
    await new Promise((r) => setTimeout(r, 15));
  }
  await waitFor(
    "a keepalive waiting behind the dump",
    () => heldPings.some((c) => c !== ctx) || undefined,
  );
  dumpCtx = undefined;
  for (const c of heldPings) {
    h.fake.inject(h.fake.encodeMessage(PONG[0], PONG[1], c));
  }
  const got = await dump;
  assert.ok(Array.isArray(got), String(got));
  assert.equal(got.length, 40);
  assert.equal(h.client.connected, true);
  assert.deepEqual(h.events.map((e) => e.type), ["connected"]);
  assert.deepEqual(
    h.logs.filter((l) => l.msg === "vpp-api-timeout"),
    [],
    "no deadline fired while VPP kept sending",
  );
  await done(h);
});

Deno.test("client: a lost reply fails at its deadline even while VPP keeps answering later calls", async () => {
  const h = harness();
  await connected(h);
  h.fake.handlers.set("lb_conf_get", () => []); // VPP lost this one
  const t0 = performance.now();
  let settled = false;
  const lost = h.client.request("lb_conf_get", {}, 150).then(
    () => undefined,
    (e: unknown) => e,
  ).finally(() => settled = true);
  // VPP answers in order: once it answered a later call, the lost reply
  // will not come, and the chatter must not extend the deadline (it would
  // until the chatter stops, 2 s).
  while (!settled && performance.now() - t0 < 2000) {
    assert.equal((await h.client.request("control_ping", {})).retval, 0);
    await new Promise((r) => setTimeout(r, 10));
  }
  const e = await lost;
  assert.ok(e instanceof VppTimeoutError, String(e));
  assert.match(
    e.message,
    /lb_conf_get: no reply from VPP within 150 ms \(VPP answered requests sent after it/,
  );
  const took = performance.now() - t0;
  assert.ok(took >= 140 && took < 1500, `failed after ${took} ms`);
  await done(h);
});

Deno.test("client: at most sendWindow messages wait in VPP; more wait here, in order", async () => {
  const h = harness(new FakeTransport(), {
    sendWindow: 4,
    requestTimeoutMs: 5000,
  });
  await connected(h);
  const before = h.fake.sent.length;
  h.fake.pause();
  const calls = Array.from(
    { length: 10 },
    () => h.client.request("control_ping", {}),
  );
  assert.equal(h.fake.sent.length - before, 4, "only the window was written");
  assert.equal(h.fake.held, 4);
  h.fake.resume();
  const replies = await Promise.all(calls);
  assert.equal(replies.length, 10);
  const contexts = h.fake.sent.slice(before).map((s) => s.values.context);
  assert.equal(contexts.length, 10);
  assert.deepEqual(
    contexts,
    [...contexts].sort((a, b) => Number(a) - Number(b)),
    "written in call order",
  );
  assert.ok(h.fake.maxHeld <= 4);
  // A dump counts twice (the dump and its control_ping).
  h.fake.pause();
  const d = h.client.dump("lb_vip_dump", {
    pfx: "0.0.0.0/0",
    "pfx_matcher.le": 0,
    "pfx_matcher.ge": 0,
    protocol: 0,
    port: 0,
  });
  const p = [1, 2, 3].map(() => h.client.request("control_ping", {}));
  assert.equal(h.fake.held, 4);
  h.fake.resume();
  assert.deepEqual(await d, []);
  await Promise.all(p);
  await done(h);
});

function stoppedVpp(state = "T") {
  let proc: VppProcess | undefined = { state: "S", startTime: "1234" };
  return {
    probe: (pid: number) => {
      assert.equal(pid, 4242);
      return proc;
    },
    stop() {
      proc = { state, startTime: "1234" };
    },
    cont() {
      proc = { state: "S", startTime: "1234" };
    },
    gone() {
      proc = undefined;
    },
  };
}

Deno.test("client: a stopped VPP is stalled, not reconnected to; it resumes on SIGCONT", async () => {
  const vpp = stoppedVpp();
  const h = harness(new FakeTransport(), {
    keepaliveIntervalMs: 30,
    keepaliveTimeoutMs: 80,
    processProbe: vpp.probe,
  });
  await connected(h);
  h.fake.handlers.set("lb_conf_get", () => []);
  const inFlight = h.client.request("lb_conf_get", {}, 5000).then(
    () => "answered",
    (e: Error) => e.message,
  );
  const lost = h.next("disconnected");
  vpp.stop();
  h.fake.pause();
  const ev = await lost;
  assert.match(
    ev.type === "disconnected" ? ev.reason : "",
    /^VPP stalled: keepalive control_ping failed: .*its process 4242 is stopped \(SIGSTOP\?\): keeping the registration/,
  );
  assert.match(await inFlight, /VPP stalled/);
  const stalled = h.logs.find((l) => l.msg === "vpp-stalled");
  assert.equal(stalled?.fields?.process_state, "T");
  assert.equal(h.client.connected, false);
  await assert.rejects(
    h.client.request("control_ping", {}),
    /control_ping: VPP is stalled \(process 4242 alive, not answering\)/,
  );
  // No vac_disconnect, no vac_connect while it is stopped.
  assert.equal(h.fake.disconnects, 0);
  assert.equal(h.fake.connects, 1);
  assert.ok(h.fake.held >= 1, "our ping waits in VPP's queue");

  const back = h.next("connected");
  vpp.cont();
  h.fake.resume();
  const again = await back;
  assert.deepEqual(again, {
    type: "connected",
    version: h.client.version,
    vpePid: 4242,
  });
  assert.ok(h.logs.some((l) => l.msg === "vpp-resumed"));
  assert.equal(h.client.connected, true);
  assert.equal((await h.client.request("control_ping", {})).retval, 0);
  assert.equal(h.fake.connects, 1, "the same registration");
  await done(h);
});

Deno.test("client: a stalled VPP whose process goes away is torn down and reconnected to", async () => {
  const vpp = stoppedVpp();
  const h = harness(new FakeTransport(), {
    keepaliveIntervalMs: 30,
    keepaliveTimeoutMs: 80,
    processProbe: vpp.probe,
  });
  await connected(h);
  const stalled = h.next("disconnected");
  vpp.stop();
  h.fake.pause();
  await stalled;
  const failed = h.next("connect-failed");
  vpp.gone();
  h.fake.kill();
  await failed;
  assert.ok(
    h.logs.some((l) =>
      l.msg === "vpp-connection-lost" &&
      /VPP's process 4242 is gone/.test(String(l.fields?.reason))
    ),
  );
  assert.equal(h.fake.disconnects, 1);
  // The owner heard "disconnected" once: at the stall.
  assert.equal(h.events.filter((e) => e.type === "disconnected").length, 1);
  const back = h.next("connected");
  h.fake.restart();
  await back;
  await done(h);
});

Deno.test("client: without a visible VPP process a silent VPP is dead, as before", async () => {
  const h = harness(new FakeTransport(), {
    keepaliveIntervalMs: 30,
    keepaliveTimeoutMs: 80,
  });
  await connected(h);
  const lost = h.next("disconnected");
  h.fake.pause();
  const ev = await lost;
  assert.match(
    ev.type === "disconnected" ? ev.reason : "",
    /^keepalive control_ping failed/,
  );
  await waitFor("vac_disconnect", () => h.fake.disconnects || undefined);
  h.fake.restart();
  await h.next("connected");
  await done(h);
});
