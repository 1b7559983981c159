/**
 * Probing inside network namespaces the test creates (needs root and
 * iproute2): reachability only inside, unanswered ICMP/TCP, clear errors for
 * a missing namespace and missing capabilities, retry after the namespace
 * appears, and a worker that dies or hangs.
 *
 * Addresses other than loopback (10.99.0.0/24, fd00:99::/64) exist only on a
 * veth pair inside the test namespace, and are probed only after the
 * prober has shown it really runs inside that namespace.
 */
import assert from "node:assert/strict";
import { createProber, netnsProblem } from "../../src/probe/mod.ts";
import { NetnsProber } from "../../src/probe/netns.ts";
import type { Prober, ProbeResult } from "../../src/probe/types.ts";
import { runCommand } from "../helpers/command.ts";
import { makeCheck } from "../helpers/checks.ts";
import { refusedPort } from "../helpers/listeners.ts";
import { requireIproute2, TestNetns } from "../helpers/netns.ts";
import { probeInProcess, probeWithin, target } from "../helpers/probe.ts";
import { waitFor } from "../helpers/wait.ts";

const TIMEOUT = 400;
await requireIproute2();

/** A namespace prober whose worker is up (first start includes type-checking under `deno test`). */
async function readyProber(netns: string): Promise<Prober> {
  const p = createProber({ netns });
  assert.ok(p instanceof NetnsProber);
  const problem = await p.ready();
  assert.equal(problem, undefined);
  return p;
}

function closeProber(p: Prober): void {
  p.close();
}

Deno.test("netns: tcp and http reach a listener only inside the namespace", async () => {
  await using ns = await TestNetns.create();
  const token = crypto.randomUUID();
  // A port that is free (refused) in the root namespace.
  const port = refusedPort("127.0.0.1");
  await using server = await ns.startHttpServer(
    "127.0.0.1",
    port,
    `OK ${token}`,
  );
  const inside = await readyProber(ns.name);
  const outside = createProber();
  try {
    const tcp = makeCheck("tcp", { port: server.port, timeoutMs: TIMEOUT });
    const http = makeCheck("http", {
      port: server.port,
      timeoutMs: TIMEOUT,
      params: { responseRegexp: token },
    });
    const t = await probeWithin(inside, "127.0.0.1", tcp);
    assert.equal(t.code, "L4OK", t.text);
    const h = await probeWithin(inside, "127.0.0.1", http);
    assert.equal(h.code, "L7OK", h.text);
    const rootTcp = await probeWithin(outside, "127.0.0.1", tcp);
    assert.equal(rootTcp.code, "L4CON", rootTcp.text);
    const rootHttp = await probeWithin(outside, "127.0.0.1", http);
    assert.equal(rootHttp.code, "L4CON", rootHttp.text);
    // Many probes through the one worker.
    const many = await Promise.all(
      Array.from({ length: 50 }, () => inside.probe(target("127.0.0.1"), http)),
    );
    for (const r of many) assert.equal(r.code, "L7OK", r.text);
  } finally {
    closeProber(inside);
    closeProber(outside);
  }
});

Deno.test("netns: unanswered icmp → L3TOUT, unanswered connect → L4TOUT", async () => {
  await using ns = await TestNetns.create();
  await ns.addSilentSubnet("10.99.0.1/24", "fd00:99::1/64");
  const port = refusedPort("127.0.0.1");
  await using server = await ns.startHttpServer("127.0.0.1", port, "inside");
  const prober = await readyProber(ns.name);
  try {
    // First prove the prober is inside the namespace (the listener exists
    // only there), so nothing below can leave this machine.
    const proof = await probeWithin(
      prober,
      "127.0.0.1",
      makeCheck("http", {
        port: server.port,
        timeoutMs: TIMEOUT,
        params: { responseRegexp: "^inside$" },
      }),
    );
    assert.equal(proof.code, "L7OK", proof.text);

    const icmp = makeCheck("icmp", { timeoutMs: TIMEOUT });
    assert.equal((await probeWithin(prober, "127.0.0.1", icmp)).code, "L3OK");
    assert.equal((await probeWithin(prober, "::1", icmp)).code, "L3OK");
    for (const silentHost of ["10.99.0.2", "fd00:99::2"]) {
      const r = await probeWithin(prober, silentHost, icmp);
      assert.equal(r.code, "L3TOUT", `${silentHost}: ${r.text}`);
      const tcp = await probeWithin(
        prober,
        silentHost,
        makeCheck("tcp", { port: 80, timeoutMs: TIMEOUT }),
      );
      assert.equal(tcp.code, "L4TOUT", `${silentHost}: ${tcp.text}`);
      const http = await probeWithin(
        prober,
        silentHost,
        makeCheck("https", { port: 443, timeoutMs: TIMEOUT }),
      );
      assert.equal(http.code, "L4TOUT", `${silentHost}: ${http.text}`);
    }
  } finally {
    closeProber(prober);
  }
});

Deno.test("netns: missing namespace → clear error, every probe type", async () => {
  const name = TestNetns.freshName("maglev-t-missing-");
  const expected =
    `netns "${name}": no such namespace (/var/run/netns/${name})`;
  assert.equal(netnsProblem(name), expected);
  const prober = createProber({ netns: name });
  try {
    for (const type of ["tcp", "http", "https"] as const) {
      const r = await probeWithin(
        prober,
        "127.0.0.1",
        makeCheck(type, { port: 1, timeoutMs: TIMEOUT }),
      );
      assert.equal(r.code, "L4CON");
      assert.equal(r.text, expected);
    }
    const r = await probeWithin(
      prober,
      "127.0.0.1",
      makeCheck("icmp", { timeoutMs: TIMEOUT }),
    );
    assert.equal(r.code, "L3CON");
    assert.equal(r.text, expected);
  } finally {
    closeProber(prober);
  }
});

Deno.test("netns: netnsProblem is quiet for a usable namespace, loud for bad names", async () => {
  await using ns = await TestNetns.create();
  assert.equal(netnsProblem(ns.name), undefined);
  assert.match(netnsProblem("../etc")!, /invalid namespace name/);
  assert.match(netnsProblem("")!, /invalid namespace name/);
});

Deno.test("netns: a namespace created later starts working (retry)", async () => {
  const name = TestNetns.freshName();
  const prober = new NetnsProber({ netns: name, retryIntervalMs: 100 });
  let ns: TestNetns | undefined;
  try {
    const icmp = makeCheck("icmp", { timeoutMs: TIMEOUT });
    const before = await probeWithin(prober, "127.0.0.1", icmp);
    assert.equal(before.code, "L3CON");
    assert.match(before.text, /no such namespace/);
    ns = await TestNetns.create(name);
    const after = await waitFor(
      "probe to succeed after the namespace appeared",
      async () => {
        const r = await probeWithin(prober, "127.0.0.1", icmp);
        return r.ok ? r : undefined;
      },
      5000,
      50,
    );
    assert.equal(after.code, "L3OK");
  } finally {
    prober.close();
    await ns?.delete();
  }
});

Deno.test("netns: a namespace removed later makes probes fail", async () => {
  const ns = await TestNetns.create();
  const prober = new NetnsProber({ netns: ns.name, retryIntervalMs: 100 });
  try {
    assert.equal(await prober.ready(), undefined);
    const icmp = makeCheck("icmp", { timeoutMs: TIMEOUT });
    assert.equal((await probeWithin(prober, "127.0.0.1", icmp)).code, "L3OK");
    await ns.delete();
    const r = await waitFor(
      "probe to fail after the namespace was removed",
      async () => {
        const r = await probeWithin(prober, "127.0.0.1", icmp);
        return r.ok ? undefined : r;
      },
      5000,
      50,
    );
    assert.equal(r.code, "L3CON");
    assert.match(r.text, /replaced or removed|no such namespace/);
  } finally {
    prober.close();
    await ns.delete();
  }
});

Deno.test("netns: without CAP_SYS_ADMIN → operation not permitted", async () => {
  await using ns = await TestNetns.create();
  for (const type of ["tcp", "icmp"] as const) {
    const r = await probeInProcess(
      {
        target: target("127.0.0.1"),
        // Generous: the verdict comes from the worker's failed setns as soon
        // as the worker has loaded, which on a loaded machine can take
        // longer than a probe timeout would allow.
        check: makeCheck(type, { port: 1, timeoutMs: 10_000 }),
        netns: ns.name,
      },
      ["setpriv", "--bounding-set=-sys_admin", "--"],
    );
    assert.equal(r.code, type === "icmp" ? "L3CON" : "L4CON");
    assert.equal(
      r.text,
      `netns "${ns.name}": operation not permitted (needs CAP_SYS_ADMIN)`,
    );
  }
});

Deno.test("icmp without CAP_NET_RAW: clear error, then datagram fallback", async () => {
  // ping_group_range is per namespace: a fresh one starts at "1 0" (nobody).
  await using ns = await TestNetns.create();
  const wrapper = [
    "ip",
    "netns",
    "exec",
    ns.name,
    "setpriv",
    "--bounding-set=-net_raw",
    "--",
  ];
  const check = makeCheck("icmp", { timeoutMs: TIMEOUT });
  for (const host of ["127.0.0.1", "::1"]) {
    const denied = await probeInProcess(
      { target: target(host), check },
      wrapper,
    );
    assert.equal(denied.code, "L3CON");
    assert.match(
      denied.text,
      /^icmp needs CAP_NET_RAW \(raw socket: Operation not permitted/,
    );
  }
  await ns.exec("sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647");
  for (const host of ["127.0.0.1", "::1"]) {
    const ok = await probeInProcess({ target: target(host), check }, wrapper);
    assert.equal(ok.code, "L3OK", ok.text);
  }
});

/** Runs fixtures/crash_probe_main.ts with `worker`; its output and verdicts. */
async function crashScenario(worker: string) {
  await using ns = await TestNetns.create();
  const script = new URL("./fixtures/crash_probe_main.ts", import.meta.url);
  const out = await runCommand(Deno.execPath(), [
    "run",
    "-A",
    script.pathname,
    ns.name,
    worker,
  ], { timeoutMs: 30_000 });
  assert.equal(out.code, 0, out.stderr);
  const { first, again } = JSON.parse(out.stdout) as {
    first: ProbeResult;
    again: ProbeResult;
  };
  assert.equal(first.code, "L4CON");
  assert.ok(first.durationMs < 10000, `took ${first.durationMs} ms`);
  // Within the retry interval, later probes fail at once with the same text.
  assert.equal(again.code, "L3CON");
  assert.equal(again.text, first.text);
  assert.ok(again.durationMs < 50);
  return { stderr: out.stderr, text: first.text };
}

Deno.test("netns: a worker that dies fails the probe in flight, never hangs", async () => {
  const r = await crashScenario("./crash_worker.ts");
  assert.match(r.text, /worker failed: .*crashed on purpose/);
  // Deno's worker runtime prints an uncaught error itself; it happens in a
  // child process so that a passing suite shows no stack trace.
  assert.match(r.stderr, /Uncaught \(in worker .*crashed on purpose/);
});

Deno.test("netns: an exception inside the real worker is reported, not printed", async () => {
  const r = await crashScenario("./throwing_worker.ts");
  assert.match(r.text, /worker failed: .*listener threw on purpose/);
  assert.equal(r.stderr, "");
});

Deno.test("netns: a worker that never answers cannot stretch a probe", async () => {
  await using ns = await TestNetns.create();
  const prober = new NetnsProber({
    netns: ns.name,
    workerUrl: new URL("./fixtures/mute_worker.ts", import.meta.url),
  });
  try {
    const r = await probeWithin(
      prober,
      "127.0.0.1",
      makeCheck("http", { port: 1, timeoutMs: TIMEOUT }),
    );
    assert.equal(r.code, "L7TOUT");
    assert.match(r.text, /no answer from netns worker/);
  } finally {
    prober.close();
  }
});

Deno.test("netns: close fails probes in flight", async () => {
  await using ns = await TestNetns.create();
  const prober = new NetnsProber({
    netns: ns.name,
    workerUrl: new URL("./fixtures/mute_worker.ts", import.meta.url),
  });
  const p = prober.probe(
    target("127.0.0.1"),
    makeCheck("tcp", { port: 1, timeoutMs: 5000 }),
  );
  prober.close();
  const r = await p;
  assert.equal(r.code, "L4CON");
  assert.equal(r.text, "prober closed");
});
