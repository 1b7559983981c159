/**
 * Integration: VppClient, VppLb and VppStats through REAL Deno FFI against
 * the stand-in libvppapiclient.so (tests/vpp/fakevpp/), one private fake
 * VPP per test. The fake counts every call the real library would crash on
 * ("misuse"); each test ends by checking there was none.
 */

import assert from "node:assert/strict";
import {
  type FakeVpp,
  type FakeVppKnob,
  openFakeVpp,
} from "../../tests/helpers/fakevpp.ts";
import {
  DEFAULT_LIBRARY_CANDIDATES,
  openVppLibrary,
  vacTransport,
  VppLibraryError,
} from "./ffi.ts";
import {
  DEFAULT_RX_QLEN,
  VppClient,
  type VppClientEvent,
  type VppClientOptions,
  VppTimeoutError,
  VppUnavailableError,
} from "./client.ts";
import { VppLb } from "./lb.ts";
import { VppStats } from "./stats.ts";
import { createVpp } from "./create.ts";
import { VppError } from "./types.ts";
import { vipId } from "./validate.ts";
import { K4, K6, V4, V6 } from "./_test_vips.ts";

/** Seconds of the fake's clock, in ms: vac_read(1) waits 40 ms, vac_connect on stale files 400 ms. */
const SCALE_MS = 40;

interface World extends AsyncDisposable {
  fake: FakeVpp;
  client: VppClient;
  lb: VppLb;
  events: VppClientEvent[];
  api: Map<string, number>;
  next(
    type: VppClientEvent["type"],
    timeoutMs?: number,
  ): Promise<VppClientEvent>;
}

async function world(
  opts: {
    knobs?: Partial<Record<FakeVppKnob, number>>;
    client?: Partial<VppClientOptions>;
    start?: boolean;
  } = {},
): Promise<World> {
  const fake = await openFakeVpp({
    knobs: { timeout_scale_ms: SCALE_MS, quiet: 1, ...opts.knobs },
  });
  const events: VppClientEvent[] = [];
  const api = new Map<string, number>();
  const client = new VppClient({
    transport: vacTransport(openVppLibrary(fake.path)),
    requestTimeoutMs: 1000,
    keepaliveIntervalMs: 200,
    keepaliveTimeoutMs: 300,
    backoffInitialMs: 20,
    backoffMaxMs: 100,
    // The fake's pid could be a real VPP's on a busy test machine.
    processProbe: () => undefined,
    observer: (msg, dir, res) => {
      const k = `${msg} ${dir} ${res}`;
      api.set(k, (api.get(k) ?? 0) + 1);
    },
    ...opts.client,
  });
  const waiters: { type: string; resolve: (e: VppClientEvent) => void }[] = [];
  client.on((e) => {
    events.push(e);
    for (const w of waiters.splice(0)) {
      if (w.type === e.type) w.resolve(e);
      else waiters.push(w);
    }
  });
  const lb = new VppLb(client);
  if (opts.start !== false) {
    client.start();
    await client.waitConnected(5000);
  }
  return {
    fake,
    client,
    lb,
    events,
    api,
    next: (type, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${type} event within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          type,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      }),
    async [Symbol.asyncDispose]() {
      lb.dispose();
      await client.close();
      const s = fake.ctl.state();
      assert.deepEqual(s.misuse, [], "calls that crash the real library");
      assert.equal(s.client.connected, false, "disconnected at close");
      assert.equal(s.client.outstanding, 0, "every vac_read buffer freed");
      await fake.close();
    },
  };
}

Deno.test("ffi: connects as maglev, reads the version, resolves every id", async () => {
  await using w = await world();
  const s = w.fake.ctl.state();
  assert.equal(s.client.name, "maglev");
  assert.equal(s.client.callback_mode, false, "polling mode");
  assert.equal(s.client.rx_qlen, DEFAULT_RX_QLEN);
  const ev = w.events.find((e) => e.type === "connected");
  assert.ok(ev && ev.type === "connected");
  assert.equal(ev.version.version, s.vpp.version);
  assert.equal(ev.vpePid, s.vpp.pid);
  for (const [key, id] of Object.entries(s.msg_ids)) {
    const name = key.replace(/_[0-9a-f]{8}$/, "");
    const mine = w.client.messageId(name as never);
    if (mine !== undefined) assert.equal(mine, id, key);
  }
  assert.equal(
    w.client.messageId("lb_as_v2_details"),
    s.msg_ids["lb_as_v2_details_90064aae"],
  );
  assert.equal(w.api.get("show_version send success"), 1);
  assert.equal(w.api.get("show_version_reply recv success"), 1);
});

Deno.test("ffi: a changed CRC is reported with every missing message and the VPP version", async () => {
  const fake = await openFakeVpp({
    knobs: { timeout_scale_ms: SCALE_MS, quiet: 1 },
  });
  const real = vacTransport(openVppLibrary(fake.path));
  // The installed VPP has other definitions of two messages: asking with
  // our CRCs gets -1 from the library.
  const older = {
    ...real,
    msgIndex: (key: string) =>
      real.msgIndex(
        key.replace(/^(lb_conf|lb_as_v2_details)_[0-9a-f]{8}$/, "$1_deadbeef"),
      ),
  };
  const client = new VppClient({ transport: older, backoffInitialMs: 20 });
  const failed = new Promise<VppClientEvent>((r) =>
    client.on((e) => e.type === "connect-failed" && r(e))
  );
  client.start();
  const ev = await failed;
  await client.close();
  assert.ok(ev.type === "connect-failed");
  assert.match(
    ev.reason,
    /VPP 26\.10-rc0~374-gb575ec2c56d \(built 2026-11-21T03:09:21\) does not know 2 message\(s\)/,
  );
  assert.match(ev.reason, /lb_conf_56cd3261, lb_as_v2_details_90064aae/);
  const s = fake.ctl.state();
  assert.deepEqual(s.misuse, []);
  assert.equal(
    s.client.connected,
    false,
    "an incompatible VPP is disconnected",
  );
  await fake.close();
});

Deno.test("ffi: request/reply and the lb conf round trip", async () => {
  await using w = await world();
  assert.deepEqual(await w.lb.getConf(), {
    ipv4SrcAddress: "255.255.255.255",
    ipv6SrcAddress: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    stickyBucketsPerCore: 1024,
    flowTimeoutSeconds: 40,
  });
  const conf = {
    ipv4SrcAddress: "192.0.2.254",
    ipv6SrcAddress: "2001:db8::254",
    stickyBucketsPerCore: 65536,
    flowTimeoutSeconds: 40,
  };
  await w.lb.setConf(conf);
  assert.deepEqual(await w.lb.getConf(), conf);
  assert.equal(w.fake.ctl.state().conf.sticky_buckets_per_core, 65536);
  const v = await w.lb.showVersion();
  assert.equal(v.program, "vpe");
});

Deno.test("ffi: VIPs and ASes through VppLb, dumps with the control_ping trick", async () => {
  await using w = await world();
  await w.lb.addVip(V4);
  await w.lb.addVip(V6);
  await w.lb.addAs(K4, "198.51.100.10", 100);
  await w.lb.addAs(K4, "198.51.100.11", 50);
  await w.lb.addAs(K6, "2001:db8:1::10", 100);
  await w.lb.setWeight(K4, "198.51.100.11", 0, true);
  await w.lb.delAs(K4, "198.51.100.10", true);
  const s = await w.lb.dump();
  assert.deepEqual(s.vips, [V4, V6]);
  // The deleted AS lingers in VPP (flags 0) but not in the dump.
  const fakeAses =
    w.fake.ctl.state().vips.find((v) => v.prefix === "192.0.2.1/32")!.ases;
  assert.ok(fakeAses.some((a) => a.address === "198.51.100.10" && !a.used));
  assert.deepEqual(
    s.ases.map((a) => [vipId(a.vip), a.address, a.weight]),
    [
      ["192.0.2.1/32 6 80", "198.51.100.11", 0],
      ["2001:db8::1/128 17 53", "2001:db8:1::10", 100],
    ],
  );
  assert.equal(s.ases[1].numBuckets, 1024);
  assert.equal(w.api.get("lb_vip_details recv success"), 2);
  assert.deepEqual([...w.lb.vipIndex], [["192.0.2.1/32 6 80", 1], [
    "2001:db8::1/128 17 53",
    2,
  ]]);
  await w.lb.delVip(K4);
  await w.lb.delVip(K6);
  assert.deepEqual((await w.lb.dump()).vips, []);
});

Deno.test("ffi: VPP's refusals surface as named VppErrors", async () => {
  await using w = await world();
  await w.lb.addVip(V4);
  await assert.rejects(
    w.lb.addVip(V4),
    (e: unknown) =>
      e instanceof VppError && e.retval === -81 &&
      e.message === "lb_add_del_vip_v2: VPP answered -81 (VALUE_EXIST)",
  );
  await assert.rejects(
    w.lb.addAs({ ...K4, prefix: "192.0.2.99/32" }, "198.51.100.10", 100),
    (e: unknown) =>
      e instanceof VppError && e.retval === -6 &&
      /NO_SUCH_ENTRY/.test(e.message),
  );
  await assert.rejects(
    w.lb.addAs(K4, "2001:db8:1::10", 100),
    (e: unknown) => e instanceof VppError && e.retval === -97,
  );
  await w.lb.addAs(K4, "198.51.100.10", 100);
  w.fake.ctl.fail("lb_as_set_weight", -73, 1);
  await assert.rejects(
    w.lb.setWeight(K4, "198.51.100.10", 10, false),
    (e: unknown) =>
      e instanceof VppError && e.msg === "lb_as_set_weight" &&
      /INVALID_ARGUMENT/.test(e.message),
  );
  assert.equal(w.api.get("lb_as_set_weight_reply recv failure"), 1);
  // Client-side checks: nothing reaches VPP.
  const before = w.fake.ctl.get("requests");
  await assert.rejects(
    w.lb.addVip({ ...V6, prefix: "2001:db8::2/128", flowTableLength: 0 }),
    RangeError,
  );
  assert.equal(w.fake.ctl.get("requests"), before);
  assert.equal(w.fake.ctl.get("crashes"), 0);
});

Deno.test("ffi: a dropped reply times out; the link stays up", async () => {
  await using w = await world();
  w.fake.ctl.drop("lb_conf_get", 1);
  await assert.rejects(
    w.client.request("lb_conf_get", {}, 300),
    (e: unknown) =>
      e instanceof VppTimeoutError &&
      /lb_conf_get: no reply from VPP within 300 ms/.test(e.message),
  );
  assert.equal(w.client.connected, true);
  assert.equal((await w.lb.getConf()).flowTimeoutSeconds, 40);
  // A dump whose end marker never comes times out as a whole.
  w.fake.ctl.drop("control_ping", 1);
  await assert.rejects(
    w.client.dump("lb_vip_dump", {
      pfx: "0.0.0.0/0",
      "pfx_matcher.le": 0,
      "pfx_matcher.ge": 0,
      protocol: 0,
      port: 0,
    }, 300),
    VppTimeoutError,
  );
});

Deno.test("ffi: VPP restart → disconnected → reconnected; state starts over", async () => {
  await using w = await world();
  await w.lb.addVip(V4);
  const lost = w.next("disconnected");
  const back = w.next("connected");
  w.fake.ctl.restart();
  const ev = await lost;
  assert.ok(ev.type === "disconnected");
  assert.match(ev.reason, /keepalive control_ping failed/);
  await back;
  assert.equal(w.client.connected, true);
  // VIPs are not persisted across a VPP restart; the client works again.
  assert.deepEqual((await w.lb.dump()).vips, []);
  await w.lb.addVip(V4);
  assert.equal((await w.lb.vipIndexes()).get(vipId(K4)), 1);
});

Deno.test("ffi: VPP crash with stale segment → connect fails (-1) with backoff until VPP is back", async () => {
  await using w = await world();
  const lost = w.next("disconnected");
  w.fake.ctl.crash();
  await lost;
  await assert.rejects(
    w.client.request("control_ping", {}),
    VppUnavailableError,
  );
  const f1 = await w.next("connect-failed");
  const f2 = await w.next("connect-failed");
  assert.ok(f1.type === "connect-failed" && f2.type === "connect-failed");
  assert.match(f1.reason, /vac_connect returned -1/);
  assert.ok(f2.attempt > f1.attempt);
  assert.ok(f2.retryInMs >= f1.retryInMs && f2.retryInMs <= 100);
  const back = w.next("connected");
  w.fake.ctl.start();
  await back;
  assert.equal((await w.client.request("control_ping", {})).retval, 0);
});

Deno.test("ffi: starting while VPP is down (no segment files), then it comes up", async () => {
  await using w = await world({ start: false });
  w.fake.ctl.stop(true);
  const connected = w.next("connected");
  w.client.start();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(w.client.connected, false);
  w.fake.ctl.start();
  await connected;
  assert.equal(w.client.connected, true);
  // vac_connect was still polling for the segment: no failed attempt.
  assert.equal(w.events.filter((e) => e.type === "connect-failed").length, 0);
});

Deno.test("ffi: stats — lb counters and /net/route/to per VIP, summed over threads", async () => {
  await using w = await world({ knobs: { threads: 2 } });
  const stats = new VppStats(openVppLibrary(w.fake.path), {
    socketPath: "/run/vpp/stats.sock",
  });
  try {
    await w.lb.addVip(V4);
    await w.lb.addVip(V6);
    await w.lb.addAs(K4, "198.51.100.10", 100);
    await w.lb.addAs(K6, "2001:db8:1::10", 100);
    const targets = await w.lb.counterIndexes([K4, K6]);
    assert.equal(targets.get(vipId(K4))?.vipIndex, 1);
    assert.equal(targets.get(vipId(K6))?.vipIndex, 2);
    const routeIndex = targets.get(vipId(K4))?.routeStatsIndex;
    assert.equal(
      routeIndex,
      w.fake.ctl.state().routes.find((r) => r.prefix === "192.0.2.1/32")
        ?.stats_index,
    );

    const zero = await stats.readVipCounters(targets);
    assert.deepEqual(Object.values(zero.get(vipId(K4))!), [0, 0, 0, 0, 0, 0]);

    assert.equal(
      w.fake.ctl.traffic(1, 5, { flows: 1, bytes: 100, thread: 0 }),
      0,
    );
    assert.equal(
      w.fake.ctl.traffic(1, 3, { flows: 1, bytes: 100, thread: 1 }),
      0,
    );
    assert.equal(w.fake.ctl.traffic(2, 3, { flows: 1, bytes: 120 }), 0);
    const got = await stats.readVipCounters(targets);
    const c4 = got.get(vipId(K4))!;
    assert.equal(c4.first + c4.next, 8, "5 + 3 packets over two threads");
    assert.equal(c4.first, 2);
    assert.equal(c4.routePackets, 8);
    assert.equal(c4.routeBytes, 800);
    const c6 = got.get(vipId(K6))!;
    assert.deepEqual([c6.first, c6.next, c6.routePackets, c6.routeBytes], [
      1,
      2,
      3,
      360,
    ]);
    assert.ok((await stats.heartbeat()) >= 0);

    // A directory change between reads needs nothing special.
    w.fake.ctl.must("epoch");
    assert.equal(
      (await stats.readVipCounters(targets)).get(vipId(K4))?.routePackets,
      8,
    );
  } finally {
    await stats.disconnect();
  }
  const s = w.fake.ctl.state();
  assert.equal(s.client.stat_connected, false);
});

Deno.test("ffi: stats — a directory change between ls and dump (NULL dump) is retried, then given up", async () => {
  await using w = await world();
  await w.lb.addVip(V4);
  const real = openVppLibrary(w.fake.path);
  let changes = 1;
  const ls = real.symbols.stat_segment_ls!;
  // VPP changes its directory right after our ls, `changes` times.
  const churning = {
    path: real.path,
    symbols: {
      ...real.symbols,
      stat_segment_ls: async (patterns: Deno.PointerValue) => {
        const dir = await ls(patterns);
        if (changes > 0) {
          changes--;
          w.fake.ctl.must("epoch");
        }
        return dir;
      },
    },
  } as typeof real;
  const stats = new VppStats(churning, { retries: 2 });
  try {
    const targets = await w.lb.counterIndexes([K4]);
    w.fake.ctl.traffic(1, 4);
    assert.equal(
      (await stats.readVipCounters(targets)).get(vipId(K4))?.routePackets,
      4,
    );
    assert.equal(changes, 0, "one NULL dump, then a good one");
    changes = 3;
    await assert.rejects(
      stats.readVipCounters(targets),
      /stats directory kept changing: no consistent ls\+dump in 3 attempts/,
    );
  } finally {
    await stats.disconnect();
  }
});

Deno.test("ffi: stats — overlapping reads, heartbeats and disconnects run one at a time", async () => {
  await using w = await world();
  await w.lb.addVip(V4);
  const targets = await w.lb.counterIndexes([K4]);
  const lib = openVppLibrary(w.fake.path);
  // Any stat_segment_* call while another runs is a test failure here: the
  // real library's stats client is one unlocked global (SIGSEGV).
  let running = 0;
  let overlaps = 0;
  const watched = Object.fromEntries(
    Object.entries(lib.symbols).map(([name, fn]) => {
      if (!name.startsWith("stat_segment_") || typeof fn !== "function") {
        return [name, fn];
      }
      const call = fn as (...a: unknown[]) => unknown;
      return [name, (...a: unknown[]) => {
        if (running++ > 0) overlaps++;
        let r: unknown;
        try {
          r = call(...a);
        } catch (e) {
          running--;
          throw e;
        }
        if (r instanceof Promise) return r.finally(() => running--);
        running--;
        return r;
      }];
    }),
  );
  const stats = new VppStats(
    { path: lib.path, symbols: watched } as unknown as typeof lib,
  );
  try {
    w.fake.ctl.traffic(1, 3);
    for (let round = 0; round < 20; round++) {
      const work: Promise<unknown>[] = [
        stats.readVipCounters(targets),
        stats.readVipCounters(targets),
        stats.bootTime(),
      ];
      if (round % 2 === 0) work.push(stats.disconnect());
      if (stats.connected) work.push(stats.heartbeat());
      work.push(stats.readVipCounters(targets));
      const got = await Promise.all(work);
      assert.equal(
        (got[0] as Map<string, { routePackets: number }>).get(vipId(K4))
          ?.routePackets,
        3,
      );
    }
    assert.equal(overlaps, 0, "no two stat_segment_* calls at once");
    // A disconnect asked for while a read runs holds at once.
    const read = stats.readVipCounters(targets);
    const drop = stats.disconnect();
    assert.equal(stats.connected, false);
    await Promise.all([read, drop]);
    assert.equal(w.fake.ctl.state().client.stat_connected, false);
  } finally {
    await stats.disconnect();
  }
});

Deno.test("ffi: stats — a call stuck in the library makes the next ones fail after queueTimeoutMs, not wait forever", async () => {
  await using w = await world();
  const real = openVppLibrary(w.fake.path);
  let release!: () => void;
  const stuck = new Promise<void>((r) => release = r);
  let hold = true;
  const ls = real.symbols.stat_segment_ls!;
  const hanging = {
    path: real.path,
    symbols: {
      ...real.symbols,
      // As stat_segment_connect to a stopped VPP does: no return until it runs.
      stat_segment_ls: async (patterns: Deno.PointerValue) => {
        if (hold) await stuck;
        return ls(patterns);
      },
    },
  } as typeof real;
  const stats = new VppStats(hanging, { queueTimeoutMs: 50 });
  try {
    const first = stats.readVipCounters(new Map());
    await assert.rejects(
      stats.heartbeat(),
      /stat_segment_heartbeat: the stats segment is busy: stats read has not returned for \d+ ms \(VPP stopped or hung\?\)/,
    );
    hold = false;
    release();
    assert.equal((await first).size, 0);
    assert.ok((await stats.heartbeat()) >= 0, "the queue moves on");
  } finally {
    await stats.disconnect();
  }
});

Deno.test("stats: a library without stat_segment_* gives a clear error", async () => {
  await using fake = await openFakeVpp();
  const lib = openVppLibrary(fake.path);
  const stripped = {
    path: "/x/libvppapiclient.so",
    symbols: { ...lib.symbols, stat_segment_ls: null },
  } as unknown as typeof lib;
  await assert.rejects(
    new VppStats(stripped).readVipCounters(new Map()),
    /\/x\/libvppapiclient\.so lacks the stat_segment_\* functions/,
  );
});

Deno.test("ffi: stats connect fails clearly while VPP is down", async () => {
  await using w = await world();
  const stats = new VppStats(openVppLibrary(w.fake.path));
  w.fake.ctl.stop();
  await assert.rejects(
    stats.readVipCounters(new Map()),
    /stat_segment_connect\(\/run\/vpp\/stats.sock\) returned -2/,
  );
  assert.equal(stats.connected, false);
  w.fake.ctl.start();
  await w.next("connected");
});

Deno.test("ffi: createVpp wires client, lb and stats; stats drop with the link", async () => {
  await using fake = await openFakeVpp({
    knobs: { timeout_scale_ms: SCALE_MS, quiet: 1 },
  });
  const counted: string[] = [];
  const vpp = createVpp({
    libPath: fake.path,
    statsSocket: "/run/vpp/stats.sock",
    observer: (m, d, r) => counted.push(`${m} ${d} ${r}`),
    client: {
      keepaliveIntervalMs: 100,
      keepaliveTimeoutMs: 200,
      backoffInitialMs: 20,
      processProbe: () => undefined,
    },
  });
  try {
    vpp.client.start();
    await vpp.client.waitConnected(5000);
    // A second client on the same library would crash the real one: refused.
    const second = new VppClient({
      transport: vacTransport(vpp.library),
      backoffInitialMs: 20,
    });
    const refused = new Promise<VppClientEvent>((r) => second.on(r));
    second.start();
    const ev = await refused;
    await second.close();
    assert.ok(ev.type === "connect-failed");
    assert.match(ev.reason, /already connected to VPP in this process/);

    await vpp.lb.addVip(V4);
    await vpp.stats.readVipCounters(await vpp.lb.counterIndexes([K4]));
    assert.equal(vpp.stats.connected, true);
    const lost = new Promise<void>((r) =>
      vpp.client.on((e) => e.type === "disconnected" && r())
    );
    fake.ctl.restart();
    await lost;
    assert.equal(
      vpp.stats.connected,
      false,
      "stats segment dropped with the link",
    );
    await vpp.client.waitConnected(5000);
    assert.ok(counted.includes("lb_add_del_vip_v2 send success"));
  } finally {
    await vpp.close();
  }
  assert.deepEqual(fake.ctl.state().misuse, []);
});

Deno.test("ffi: a missing library names every path tried and --vpp-lib", () => {
  assert.throws(
    () => openVppLibrary("/nonexistent/libvppapiclient.so"),
    (e: unknown) =>
      e instanceof VppLibraryError &&
      e.tried.length === 1 &&
      /\/nonexistent\/libvppapiclient\.so \(/.test(e.message) &&
      /--vpp-lib/.test(e.message),
  );
  assert.ok(DEFAULT_LIBRARY_CANDIDATES.includes("libvppapiclient.so"));
  assert.ok(
    DEFAULT_LIBRARY_CANDIDATES.includes(
      "/usr/lib/x86_64-linux-gnu/libvppapiclient.so",
    ),
  );
});
