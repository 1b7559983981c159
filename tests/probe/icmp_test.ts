/**
 * ICMP echo probes through FFI raw sockets, to 127.0.0.1 and ::1 (replies
 * from nobody else are tested inside a namespace, see netns_test.ts).
 */
import assert from "node:assert/strict";
import { IcmpProber } from "../../src/probe/icmp.ts";
import { LocalProber } from "../../src/probe/local.ts";
import { makeCheck } from "../helpers/checks.ts";
import { LOOPBACKS } from "../helpers/listeners.ts";
import { probeWithin, target } from "../helpers/probe.ts";
import { runCommand } from "../helpers/command.ts";

const TIMEOUT = 400;

for (const host of LOOPBACKS) {
  Deno.test(`icmp ${host}: echo reply → L3OK`, async () => {
    const prober = new LocalProber();
    try {
      const r = await probeWithin(
        prober,
        host,
        makeCheck("icmp", { timeoutMs: TIMEOUT }),
      );
      assert.equal(r.code, "L3OK", r.text);
      assert.match(r.text, /^echo reply in /);
    } finally {
      prober.close();
      await prober.closed;
    }
  });

  Deno.test(`icmp ${host}: many concurrent probes share one socket`, async () => {
    const prober = new IcmpProber();
    try {
      const results = await Promise.all(
        Array.from({ length: 100 }, () => prober.probe(target(host), TIMEOUT)),
      );
      for (const r of results) assert.equal(r.code, "L3OK", r.text);
    } finally {
      prober.close();
      await prober.closed;
    }
  });
}

Deno.test("icmp: both families at once on one prober", async () => {
  const prober = new IcmpProber();
  try {
    const rs = await Promise.all(
      ["127.0.0.1", "::1", "127.0.0.1", "::1"].map((h) =>
        prober.probe(target(h), TIMEOUT)
      ),
    );
    assert.deepEqual(rs.map((r) => r.code), ["L3OK", "L3OK", "L3OK", "L3OK"]);
  } finally {
    prober.close();
    await prober.closed;
  }
});

Deno.test("icmp: probes to different addresses are matched independently", async () => {
  // 127.0.0.2 answers too (all of 127/8 is on lo); each reply must wake the
  // probe whose address it comes from.
  const prober = new IcmpProber();
  try {
    const [a, b] = await Promise.all([
      prober.probe(target("127.0.0.1"), TIMEOUT),
      prober.probe(target("127.0.0.2"), TIMEOUT),
    ]);
    assert.equal(a.code, "L3OK");
    assert.equal(b.code, "L3OK");
  } finally {
    prober.close();
    await prober.closed;
  }
});

Deno.test("icmp: not an address → L3CON", async () => {
  const prober = new IcmpProber();
  const r = await prober.probe({ address: "::1", family: 4 }, TIMEOUT);
  assert.equal(r.code, "L3CON");
  assert.match(r.text, /not an IPv4 address/);
  prober.close();
  await prober.closed;
});

Deno.test("icmp: close fails waiting probes and stops the reader", async () => {
  const prober = new IcmpProber();
  const p = prober.probe(target("127.0.0.1"), TIMEOUT);
  prober.close();
  const r = await p;
  assert.ok(r.code === "L3CON" || r.code === "L3OK", r.code);
  await prober.closed;
  const after = await prober.probe(target("127.0.0.1"), TIMEOUT);
  assert.equal(after.code, "L3CON");
});

Deno.test("icmp: an idle prober does not keep the process alive", async () => {
  // A process that pings and then just returns (no close) must exit on its
  // own: the reader only runs while probes wait.
  const src = new URL("../../src/probe/icmp.ts", import.meta.url).href;
  const code = `import { IcmpProber } from "${src}";
const p = new IcmpProber();
const r = await p.probe({ address: "127.0.0.1", family: 4 }, 400);
console.log(r.code);`;
  const start = performance.now();
  const out = await runCommand(Deno.execPath(), ["eval", code]);
  const ms = performance.now() - start;
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout.trim(), "L3OK");
  assert.ok(ms < 5000, `process took ${ms.toFixed(0)}ms to exit`);
});
