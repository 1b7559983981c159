/**
 * Config reloads (SIGHUP) seen in a real VPP: src-ip-sticky flips (VPP
 * cannot change it on a live VIP, so the VIP is recreated), frontends of
 * each protocol added, and removed ones deleted from VPP.
 */
import assert from "node:assert/strict";
import { describeVips, RealVpp, VPP } from "../helpers/realvpp.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  A,
  ALL_UP,
  B,
  C,
  reload,
  sameWeights,
  startProgrammed,
  TCP,
  WEB,
  weightsIn,
  withFrontend,
} from "./_helpers.ts";

/** VPP's protocol number for udp. */
const UDP = 17;

Deno.test({
  name:
    "real VPP: a reload flipping src-ip-sticky recreates the VIP with and without it",
  ignore: VPP === undefined,
  async fn() {
    await using vpp = await RealVpp.start();
    await using d = await startProgrammed(vpp);
    const want = ALL_UP;
    const base = await Deno.readTextFile(d.configPath);
    const sticky = base.replace(
      "      port: 80\n",
      "      port: 80\n      src-ip-sticky: true\n",
    );
    assert.notEqual(sticky, base);

    for (const [config, on] of [[sticky, true], [base, false]] as const) {
      await reload(d, config);
      const vips = await vpp.waitVips(
        `web's VIP ${on ? "with" : "without"} src_ip_sticky, same weights`,
        (vs) =>
          vs.some((v) => v.prefix === WEB && v.srcIpSticky === on) &&
          sameWeights(weightsIn(vs), want),
      );
      assert.equal(vips.length, 1, describeVips(vips));
      assert.equal(vips[0].newSize, 1024);
      assert.equal(vips[0].type, "ip4-gre4");
    }
    assert.equal(
      d.process.records.filter((r) =>
        r.msg === "vpp-lb-op" && /^del vip 192\.0\.2\.1\/32/.test(String(r.op))
      ).length,
      2,
      "deleted and created again at each flip",
    );
  },
});

Deno.test({
  name: "real VPP: frontends added and removed by reloads",
  ignore: VPP === undefined,
  async fn() {
    await using vpp = await RealVpp.start();
    await using d = await startProgrammed(vpp);
    const base = await Deno.readTextFile(d.configPath);
    const more = withFrontend(
      base,
      `    api:
      address: 198.51.100.7
      port: 443
      pools:
        - name: only
          backends: { c: {} }
    dns:
      address: 198.51.100.8
      protocol: udp
      port: 53
      pools:
        - name: only
          backends: { a: { weight: 50 }, b: {} }
    all:
      address: 198.51.100.9
      protocol: any
      pools:
        - name: only
          backends: { b: {} }
`,
    );
    await reload(d, more);
    let vips = await vpp.waitVips(
      "api, dns and all added",
      (vs) =>
        sameWeights(weightsIn(vs, "198.51.100.7/32", 443), { [C]: 100 }) &&
        sameWeights(weightsIn(vs, "198.51.100.8/32", 53), {
          [A]: 50,
          [B]: 100,
        }) &&
        sameWeights(weightsIn(vs, "198.51.100.9/32", "any"), {
          [B]: 100,
        }),
    );
    assert.equal(vips.length, 4, describeVips(vips));
    const proto = (prefix: string) =>
      vips.find((v) => v.prefix === prefix)?.protocol;
    assert.equal(proto("198.51.100.7/32"), TCP);
    assert.equal(proto("198.51.100.8/32"), UDP);
    assert.equal(proto("198.51.100.9/32"), undefined, "all ports");
    assert.ok(
      sameWeights(weightsIn(vips), { [A]: 100, [B]: 100, [C]: 0 }),
      "web untouched",
    );

    // withFrontend put the new ones first: web is the config's tail.
    const webless = more.replace(/ {4}web:\n[\s\S]*$/, "");
    assert.ok(!webless.includes("192.0.2.1"), webless);
    await reload(d, webless);
    vips = await vpp.waitVips(
      "web's VIP deleted",
      (vs) => !vs.some((v) => v.prefix === WEB),
    );
    assert.equal(vips.length, 3, describeVips(vips));
    await reload(d, base);
    vips = await vpp.waitVips(
      "only web left",
      (vs) =>
        vs.length === 1 &&
        sameWeights(weightsIn(vs), { [A]: 100, [B]: 100, [C]: 0 }),
    );
  },
});

Deno.test({
  name:
    "real VPP: a reload that only retunes probe timing, rise/fall and timeouts moves no weight (sampled every 50 ms)",
  ignore: VPP === undefined,
  async fn() {
    await using vpp = await RealVpp.start();
    await using d = await startProgrammed(vpp);
    const want = ALL_UP;
    await waitFor(
      "all backends up",
      () =>
        d.process.records.filter((r) =>
            r.msg === "backend-transition" && r.to === "up"
          ).length >= 3 || undefined,
    );
    const retuned = (await Deno.readTextFile(d.configPath))
      .replaceAll("interval: 1s", "interval: 1500ms")
      .replaceAll("timeout: 900ms", "timeout: 1200ms")
      .replaceAll("fall: 2", "fall: 3")
      .replaceAll("rise: 1", "rise: 2");
    const seen: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      for (let i = 0; sampling && i < 200; i++) {
        seen.push(JSON.stringify(weightsIn(await vpp.vips())));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      await waitFor(
        "a few samples before the reload",
        () => seen.length >= 5 || undefined,
      );
      await reload(d, retuned);
      const after = seen.length;
      // Past the next probe of every backend under the new timing.
      await waitFor(
        "3 s of samples after the reload",
        () => seen.length >= after + 40 || undefined,
        20_000,
      );
    } finally {
      sampling = false;
      await sampler;
    }
    const moved = seen.filter((s) => s !== JSON.stringify(want));
    assert.deepEqual(moved, [], `weights moved: ${moved.slice(0, 3)}`);
    const retunedLog = d.process.records.filter((r) =>
      r.msg === "backend-retuned-by-reload"
    );
    assert.deepEqual(retunedLog.map((r) => r.backend).sort(), ["a", "b", "c"]);
    assert.equal(
      d.process.records.filter((r) =>
        r.msg === "backend-transition" && r.reason !== undefined &&
        String(r.reason).startsWith("reload")
      ).length,
      0,
    );
  },
});

/** hc-a's block of the fixture config rewritten by `fn`. */
function editCheckA(config: string, fn: (block: string) => string): string {
  const start = config.indexOf("    hc-a:\n");
  const end = config.indexOf("    hc-b:\n");
  if (start < 0 || end < start) throw new Error("no hc-a block");
  return config.slice(0, start) + fn(config.slice(start, end)) +
    config.slice(end);
}

Deno.test({
  name:
    "real VPP: a reload that changes an up backend's probe type or address keeps it serving until its first verdict (sampled every 50 ms)",
  ignore: VPP === undefined,
  async fn() {
    await using vpp = await RealVpp.start();
    await using d = await startProgrammed(vpp);
    // The new home of backend a, for the address change.
    const moved = "127.0.3.9";
    await using server = Deno.serve(
      { hostname: moved, port: 0, onListen() {} },
      () => new Response("OK"),
    );
    const seen: Record<string, number>[] = [];
    let sampling = true;
    const sampler = (async () => {
      for (let i = 0; sampling && i < 600; i++) {
        const w = weightsIn(await vpp.vips());
        if (w) seen.push(w);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const released = () =>
      d.process.records.filter((r) =>
        r.msg === "backend-hold-released" && r.backend === "a"
      ).length;
    try {
      await waitFor("samples before", () => seen.length >= 5 || undefined);
      // 1. http → tcp on the same address.
      const tcp = editCheckA(
        await Deno.readTextFile(d.configPath),
        (b) =>
          b.replace("type: http", "type: tcp").replace(/ *params:.*\n/, ""),
      );
      await reload(d, tcp);
      await waitFor(
        "a's first tcp verdict",
        () => released() >= 1 || undefined,
        10_000,
      );
      let n = seen.length;
      await waitFor("samples after", () => seen.length >= n + 5 || undefined);
      // 2. A new address, probed on the new server's port.
      const addr = tcp.replace(`address: ${A},`, `address: ${moved},`);
      const newAddr = editCheckA(
        addr,
        (b) => b.replace(/port: \d+/, `port: ${server.addr.port}`),
      );
      await reload(d, newAddr);
      await waitFor(
        "a's first verdict at its new address",
        () => released() >= 2 || undefined,
        10_000,
      );
      await vpp.waitVips(
        "a served from its new address only",
        (vs) => sameWeights(weightsIn(vs), { [moved]: 100, [B]: 100, [C]: 0 }),
      );
      n = seen.length;
      await waitFor("samples after", () => seen.length >= n + 3 || undefined);
    } finally {
      sampling = false;
      await sampler;
    }
    // At every read a served from one of its addresses, at full weight.
    const gaps = seen.filter((w) => (w[A] ?? 0) < 100 && (w[moved] ?? 0) < 100);
    assert.deepEqual(
      gaps.slice(0, 3),
      [],
      `${gaps.length} of ${seen.length} reads without a`,
    );
    const resets = d.process.records.filter((r) =>
      r.msg === "backend-reset-by-reload"
    );
    assert.equal(resets.length, 2);
    assert.ok(
      resets.every((r) => r.vppWeight === "kept until its first verdict"),
    );
  },
});
