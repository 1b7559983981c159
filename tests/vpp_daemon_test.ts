/**
 * The daemon programming VPP through real FFI: a daemon process loads the
 * stand-in libvppapiclient.so (tests/vpp/fakevpp), whose state the test
 * reads and whose faults it injects through files.
 */
import assert from "node:assert/strict";
import { connectMaglev } from "../src/api/client.ts";
import {
  buildFakeVpp,
  fakeVppFiles,
  type FakeVppState,
} from "./helpers/fakevpp.ts";
import { startDaemon, STEADY_PROBES } from "./helpers/fixture.ts";
import { assertPromtoolClean } from "./helpers/promtool.ts";
import { waitFor } from "./helpers/wait.ts";

type Weights = Record<string, number>;

/** Live AS weights of the test VIP (192.0.2.1/32 tcp 80) in the fake VPP. */
function weightsOf(s: FakeVppState): Weights | undefined {
  const vip = s.vips.find((v) =>
    !v.removed && v.prefix === "192.0.2.1/32" && v.port === 80
  );
  if (!vip) return undefined;
  return Object.fromEntries(
    vip.ases.filter((a) => a.used).map((a) => [a.address, a.weight]),
  );
}

function same(a: Weights | undefined, b: Weights): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

Deno.test("vpp: cold start, transitions, failover, drift, VPP restart — through FFI", async () => {
  const lib = await buildFakeVpp();
  await using files = await fakeVppFiles({ timeout_scale_ms: 100 });
  await using d = await startDaemon({
    probe: STEADY_PROBES,
    vpp: { lib, env: files.env, syncInterval: "1s" },
  });
  const A = "127.0.3.1", B = "127.0.3.2", C = "127.0.3.3";
  // Cold start: a and b carry traffic, c is standby.
  await files.waitState(
    "VIP with a, b at 100 and c at 0",
    (s) => same(weightsOf(s), { [A]: 100, [B]: 100, [C]: 0 }),
    10_000,
  );
  const st = (await files.state())!;
  const vip = st.vips.find((v) => v.prefix === "192.0.2.1/32")!;
  assert.equal(vip.encap, "gre4");
  assert.equal(vip.new_flows_table_length, 1024);
  assert.deepEqual(
    vip.ases.map((a) => a.address),
    [A, B, C],
    "numeric AS order",
  );

  // b goes down: weight 0 with flush, written to VPP within 50 ms.
  d.backends.get("b")!.healthy = false;
  const down = await d.process.waitForRecord(
    (r) =>
      r.msg === "backend-transition" && r.backend === "b" && r.to === "down",
    "b down",
  );
  const op = await d.process.waitForRecord(
    (r) =>
      r.msg === "vpp-lb-op" &&
      String(r.op).startsWith(`set weight 0 flush for as ${B}`),
    "weight 0 + flush for b",
  );
  const lagMs = Date.parse(String(op.time)) - Date.parse(String(down.time));
  assert.ok(lagMs <= 50, `transition reached VPP after ${lagMs} ms`);
  await files.waitState(
    "b at 0",
    (s) => same(weightsOf(s), { [A]: 100, [B]: 0, [C]: 0 }),
  );

  // Pool failover and back.
  d.backends.get("a")!.healthy = false;
  await files.waitState(
    "failover to c",
    (s) => same(weightsOf(s), { [A]: 0, [B]: 0, [C]: 100 }),
  );
  d.backends.get("a")!.healthy = true;
  await files.waitState(
    "back to primary",
    (s) => same(weightsOf(s), { [A]: 100, [B]: 0, [C]: 0 }),
  );

  // Drift behind our back is fixed by the periodic sync (1 s here).
  await files.ctl(`drift 192.0.2.1/32 tcp 80 ${A} 7`);
  await files.waitState(
    "drift repaired",
    (s) => same(weightsOf(s), { [A]: 100, [B]: 0, [C]: 0 }),
  );

  // The API shows what VPP holds.
  const { client, close } = connectMaglev(d.grpcAddr);
  try {
    const info = await client.getVPPInfo({});
    assert.equal(info.connected, true);
    // The stand-in VPP started moments before the daemon connected; its
    // boot time comes from the stats segment's /sys/boottime, in seconds.
    await waitFor(
      "boot time read",
      async () =>
        (await client.getVPPInfo({})).boottimeNs > 0n ? true : undefined,
    );
    const booted = Number(
      (await client.getVPPInfo({})).boottimeNs / 1_000_000n,
    );
    assert.ok(
      booted <= Number(info.connecttimeNs / 1_000_000n) + 1000 &&
        booted > Date.now() - 120_000,
      `boot time ${new Date(booted).toISOString()} is just before the connect`,
    );
    const state = await client.getVPPLBState({});
    const v = state.vips.find((x) => x.prefix === "192.0.2.1/32")!;
    assert.equal(v.frontend, "web");
    assert.deepEqual(v.ases.map((a) => [a.backend, a.weight]), [["a", 100], [
      "b",
      0,
    ], ["c", 0]]);
    const dry = await client.syncVPPLBState({ dryRun: true });
    const metrics = await (await fetch(`http://${d.metricsAddr}/metrics`))
      .text();
    assert.match(metrics, /^maglev_vpp_connected 1$/m);
    // The original's two clocks, in seconds, once connected (and booted).
    const secs = (name: string) =>
      Number(new RegExp(`^${name} ([0-9.e+-]+)$`, "m").exec(metrics)?.[1]);
    assert.ok(secs("maglev_vpp_connected_seconds") >= 0, metrics.slice(0, 200));
    assert.ok(
      secs("maglev_vpp_uptime_seconds") >= secs("maglev_vpp_connected_seconds"),
      "VPP was up before the daemon connected",
    );
    assert.match(
      metrics,
      /maglev_vpp_lbsync_total\{scope="vip",kind="as_weight_updated"\} [1-9]/,
    );
    assert.match(
      metrics,
      /maglev_vpp_api_total\{msg="lb_as_set_weight",direction="send",result="success"\}/,
    );
    await assertPromtoolClean(metrics);
    assert.deepEqual(
      dry.operations,
      [],
      "in sync: a dry run has nothing to do",
    );

    // VPP restarts empty: the daemon reconnects and programs it again.
    await files.ctl("restart");
    await d.process.waitForRecord(
      (r) => r.msg === "vpp-disconnect",
      "disconnect seen",
      15_000,
    );
    await files.waitState(
      "reprogrammed after restart",
      (s) => same(weightsOf(s), { [A]: 100, [B]: 0, [C]: 0 }),
      20_000,
    );
    assert.equal(
      (await client.listBackends({})).backends.length,
      3,
      "probing went on",
    );
  } finally {
    close();
  }
});

Deno.test("vpp: a daemon restart with VPP programmed changes no healthy backend's weight", async () => {
  const lib = await buildFakeVpp();
  // VPP as the previous daemon left it.
  await using files = await fakeVppFiles({ timeout_scale_ms: 100 });
  const init = [
    "conf ip4=192.0.2.254 ip6=2001:db8::254 buckets=65536 timeout=40",
    "vip_add 192.0.2.1/32 tcp 80 encap=gre4 len=1024 sticky=0",
    "as_add 192.0.2.1/32 tcp 80 127.0.3.1 100",
    "as_add 192.0.2.1/32 tcp 80 127.0.3.2 100",
    "as_add 192.0.2.1/32 tcp 80 127.0.3.3 0",
  ];
  const before = { "127.0.3.1": 100, "127.0.3.2": 100, "127.0.3.3": 0 };
  await using d = await startDaemon({
    probe: STEADY_PROBES,
    vpp: {
      lib,
      env: { ...files.env, FAKEVPP_INIT: init.join(";") },
      minDelay: "500ms",
      maxDelay: "2s",
    },
  });
  await d.process.waitForRecord((r) => r.msg === "vpp-connect", "connected");
  // Through the whole warmup (release at min, everything at max) and the
  // syncs it triggers, VPP must not see a single change.
  await d.process.waitForRecord(
    (r) => r.msg === "vpp-warmup-done",
    "warmup over",
  );
  const s = await files.waitState("state written", (st) => st.vpp.up);
  assert.deepEqual(weightsOf(s), before);
  const { client, close } = connectMaglev(d.grpcAddr);
  try {
    const dry = await client.syncVPPLBState({ dryRun: true });
    assert.deepEqual(dry.operations, [], "nothing left to do");
  } finally {
    close();
  }
  assert.equal(
    d.process.records.filter((r) => r.msg === "vpp-lb-op").length,
    0,
    "the restarted daemon sent no lb change",
  );
});

Deno.test("vpp: reloads flip src-ip-sticky (recreate), add and remove frontends; refusals are reported", async () => {
  const lib = await buildFakeVpp();
  await using files = await fakeVppFiles({ timeout_scale_ms: 100 });
  await using d = await startDaemon({
    probe: STEADY_PROBES,
    vpp: { lib, env: files.env },
  });
  await files.waitState(
    "programmed",
    (s) => weightsOf(s) !== undefined,
    10_000,
  );
  const { client, close } = connectMaglev(d.grpcAddr);
  try {
    const base = await Deno.readTextFile(d.configPath);
    // src-ip-sticky flips: the VIP is deleted and created again, sticky.
    await Deno.writeTextFile(
      d.configPath,
      base.replace(
        "      port: 80\n",
        "      port: 80\n      src-ip-sticky: true\n",
      ),
    );
    assert.equal((await client.reloadConfig({})).ok, true);
    await files.waitState(
      "sticky VIP",
      (s) =>
        s.vips.some((v) =>
          !v.removed && v.prefix === "192.0.2.1/32" && v.src_ip_sticky
        ) &&
        same(weightsOf(s), {
          "127.0.3.1": 100,
          "127.0.3.2": 100,
          "127.0.3.3": 0,
        }),
    );
    await d.process.waitForRecord(
      (r) =>
        r.msg === "vpp-lb-op" &&
        /del vip 192\.0\.2\.1\/32 tcp\/80 \(recreate\)/.test(String(r.op)),
      "recreate logged",
    );

    // A second frontend appears; then the first one goes away.
    const two = base.replace(
      "  frontends:\n",
      `  frontends:
    api:
      address: 198.51.100.7
      port: 443
      pools:
        - name: only
          backends: { c: {} }
`,
    );
    await Deno.writeTextFile(d.configPath, two);
    assert.equal((await client.reloadConfig({})).ok, true);
    await files.waitState(
      "api VIP added",
      (s) =>
        s.vips.some((v) =>
          !v.removed && v.prefix === "198.51.100.7/32" && v.port === 443 &&
          v.ases.some((a) =>
            a.used && a.address === "127.0.3.3" && a.weight === 100
          )
        ),
    );
    const onlyApi = two.replace(/ {4}web:\n[\s\S]*$/, "");
    await Deno.writeTextFile(d.configPath, onlyApi);
    assert.equal((await client.reloadConfig({})).ok, true);
    await files.waitState(
      "web VIP removed",
      (s) => !s.vips.some((v) => !v.removed && v.prefix === "192.0.2.1/32"),
    );

    // VPP refuses the next VIP: logged, reported by SyncVPPLBState, probing continues.
    await files.ctl("fail lb_add_del_vip_v2 -73 10");
    await Deno.writeTextFile(d.configPath, two);
    assert.equal((await client.reloadConfig({})).ok, true);
    const failed = await d.process.waitForRecord(
      (r) => r.msg === "vpp-lb-op-failed",
      "refusal logged",
    );
    assert.match(String(failed.error), /-73 \(INVALID_ARGUMENT\)/);
    const sync = await client.syncVPPLBState({ frontend: "web" });
    assert.ok(
      sync.operations.some((o) => o.startsWith("FAILED: add vip 192.0.2.1/32")),
      sync.operations.join("\n"),
    );
    assert.equal(
      (await client.listBackends({})).backends.every((b) => b.state === "up"),
      true,
    );
  } finally {
    close();
  }
});

Deno.test("vpp: a missing library is one clear error; probing and the API carry on", async () => {
  await using d = await startDaemon({
    vpp: { lib: "/nonexistent/libvppapiclient.so", env: {} },
  });
  const rec = await d.process.waitForRecord(
    (r) => r.msg === "vpp-unavailable",
    "vpp-unavailable",
  );
  assert.match(String(rec.error), /libvppapiclient/);
  assert.match(String(rec.hint), /--vpp=false/);
  const { client, close } = connectMaglev(d.grpcAddr);
  try {
    await assert.rejects(
      client.getVPPInfo({}),
      /VPP integration unavailable|not connected/,
    );
    await d.process.waitForRecord(
      (r) => r.msg === "backend-transition" && r.to === "up",
      "probing works",
    );
  } finally {
    close();
  }
});

Deno.test("vpp: --dry-run logs the operations and sends none", async () => {
  const lib = await buildFakeVpp();
  await using files = await fakeVppFiles({ timeout_scale_ms: 100 });
  await using d = await startDaemon({
    vpp: { lib, env: files.env },
    flags: ["--dry-run"],
  });
  const rec = await d.process.waitForRecord(
    (r) =>
      r.msg === "vpp-lb-op-dry-run" &&
      /^add vip 192\.0\.2\.1\/32/.test(String(r.op)),
    "dry-run operations logged",
  );
  assert.ok(rec);
  const s = await files.waitState("state written", (st) => st.vpp.up);
  assert.equal(s.vips.filter((v) => !v.removed).length, 0, "VPP untouched");
  assert.equal(
    d.process.records.filter((r) => r.msg === "vpp-lb-op").length,
    0,
  );
});
