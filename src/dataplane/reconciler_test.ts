import assert from "node:assert/strict";
import { Logger } from "../cli/log.ts";
import { parseConfigText } from "../config/load.ts";
import type { Config } from "../config/types.ts";
import { evaluateFrontend } from "../health/frontend.ts";
import type { BackendState } from "../health/types.ts";
import { MemoryLb } from "../vpp/memory.ts";
import type { LbApi, LbState } from "../vpp/types.ts";
import { type HealthView, Reconciler } from "./reconciler.ts";
import { waitFor } from "../../tests/helpers/wait.ts";

function config(minDelay = "0s", maxDelay = "0s"): Config {
  const r = parseConfigText(
    `maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      ipv6-src-address: 2001:db8::254
      startup-min-delay: ${minDelay}
      startup-max-delay: ${maxDelay}
  healthchecks:
    hc: { type: tcp, port: 80 }
  backends:
    a: { address: 10.0.0.1, healthcheck: hc }
    b: { address: 10.0.0.2, healthcheck: hc }
    c: { address: 10.0.0.3, healthcheck: hc }
  frontends:
    web:
      address: 192.0.2.1
      port: 80
      pools:
        - name: primary
          backends: { b: {}, a: { weight: 50 } }
        - name: backup
          backends: { c: {} }
`,
    "t.yaml",
  );
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

function view(cfg: Config, states: Record<string, BackendState>): HealthView {
  return {
    config: cfg,
    backendState: (b) => states[b],
    evaluation: (f) => {
      const fe = cfg.frontends.get(f);
      return fe &&
        evaluateFrontend(
          fe,
          (b) => states[b] ? { state: states[b] } : undefined,
        );
    },
  };
}

const quiet = () =>
  new Logger({ level: "error", format: "json", writeLine: () => {} });
const weights = async (lb: MemoryLb) =>
  Object.fromEntries((await lb.dump()).ases.map((a) => [a.address, a.weight]));

Deno.test("reconciler: cold start, no-op resync, a transition syncs one frontend", async () => {
  const lb = new MemoryLb();
  const states: Record<string, BackendState> = { a: "up", b: "up", c: "up" };
  const cfg = config();
  const r = new Reconciler({ lb, health: view(cfg, states), log: quiet() });
  await r.pushConf();
  assert.equal((await lb.getConf()).ipv4SrcAddress, "192.0.2.254");
  const first = await r.sync();
  assert.deepEqual(first.ops.map((o) => o.kind), [
    "add-vip",
    "add-as",
    "add-as",
    "add-as",
  ]);
  assert.deepEqual(await weights(lb), {
    "10.0.0.1": 50,
    "10.0.0.2": 100,
    "10.0.0.3": 0,
  });
  // ASes were added in numeric order whatever the pool order.
  assert.deepEqual(
    lb.operations.filter((o) => o.op === "addAs").map((o) =>
      o.op === "addAs" && o.address
    ),
    ["10.0.0.1", "10.0.0.2", "10.0.0.3"],
  );
  assert.deepEqual((await r.sync()).ops, [], "no-op resync");
  const before = lb.operations.length;
  await r.pushConf();
  assert.equal(
    lb.operations.length,
    before,
    "lb_conf only pushed on difference",
  );

  states.b = "down";
  const t = await r.requestFrontend("web");
  assert.deepEqual(
    t.ops.map((o) => o.kind === "set-weight" && [o.address, o.weight, o.flush]),
    [
      ["10.0.0.2", 0, true],
    ],
  );
  states.a = "disabled";
  await r.requestFrontend("web");
  assert.deepEqual(await weights(lb), {
    "10.0.0.1": 0,
    "10.0.0.2": 0,
    "10.0.0.3": 100,
  });
  assert.deepEqual(
    (await r.sync()).ops,
    [],
    "a delivered flush is not repeated",
  );
});

Deno.test("reconciler: dry-run computes operations and sends nothing", async () => {
  const lb = new MemoryLb();
  const cfg = config();
  const r = new Reconciler({
    lb,
    health: view(cfg, { a: "up", b: "up", c: "up" }),
    log: quiet(),
    dryRun: true,
  });
  const res = await r.sync();
  assert.equal(res.dryRun, true);
  assert.equal(res.ops.length, 4);
  assert.equal(lb.operations.length, 0);
  assert.equal((await lb.dump()).vips.length, 0);
});

Deno.test("reconciler: a daemon restart during warmup changes no healthy weight", async () => {
  const lb = new MemoryLb();
  const cfg = config("5s", "30s");
  const running = new Reconciler({
    lb,
    health: view(config(), { a: "up", b: "up", c: "up" }),
    log: quiet(),
  });
  await running.sync();
  const programmed = lb.operations.length;

  // The new daemon: everything unknown at first.
  let now = 0;
  const states: Record<string, BackendState> = {
    a: "unknown",
    b: "unknown",
    c: "unknown",
  };
  const r = new Reconciler({
    lb,
    health: view(cfg, states),
    log: quiet(),
    now: () => now,
  });
  let res = await r.sync();
  assert.equal(res.skipped, "warmup", "hands off before min delay");
  now = 6000;
  states.a = "up";
  res = await r.requestFrontend("web");
  assert.equal(res.skipped, "warmup", "not released while b and c are unknown");
  states.b = "up";
  states.c = "up";
  res = await r.requestFrontend("web");
  assert.deepEqual(res.ops, [], "released: same weights as before the restart");
  assert.equal(lb.operations.length, programmed, "VPP untouched");
});

Deno.test("reconciler: at max delay stragglers are synced; drift is repaired", async () => {
  const lb = new MemoryLb();
  let now = 0;
  const cfg = config("1s", "2s");
  const r = new Reconciler({
    lb,
    health: view(cfg, { a: "up", b: "unknown", c: "up" }),
    log: quiet(),
    now: () => now,
  });
  now = 1500;
  assert.equal((await r.sync()).skipped, "warmup");
  // Max delay, or later if b's first verdict may take longer (see below).
  const hc = cfg.healthchecks.get("hc")!;
  now = Math.max(2000, hc.fastIntervalMs + hc.timeoutMs);
  const res = await r.sync();
  assert.equal(res.skipped, undefined);
  assert.deepEqual(await weights(lb), {
    "10.0.0.1": 50,
    "10.0.0.2": 0,
    "10.0.0.3": 0,
  });

  // VPP refuses an AS (an IPv6 AS on a gre4 VIP would be INVALID_ADDRESS_FAMILY):
  // simulate by deleting the VIP behind our back and asking for a weight.
  await lb.delAs(
    { prefix: "192.0.2.1/32", protocol: 6, port: 80 },
    "10.0.0.1",
    true,
  );
  const fixed = await r.sync();
  assert.deepEqual(fixed.ops.map((o) => o.kind), ["add-as"], "drift repaired");
  assert.deepEqual(fixed.errors, []);
});

Deno.test("reconciler: operations VPP refuses are reported, the rest still run", async () => {
  const lb = new MemoryLb();
  // Another VIP on the same prefix with another encap: VPP refuses ours.
  await lb.addVip({
    prefix: "192.0.2.1/32",
    protocol: 17,
    port: 53,
    encap: "gre6",
    srcIpSticky: false,
    flowTableLength: 1024,
  });
  const r = new Reconciler({
    lb,
    health: view(config(), { a: "up", b: "up", c: "up" }),
    log: quiet(),
  });
  const res = await r.sync({ frontend: "web" });
  assert.equal(res.errors.length, 4, res.errors.join("\n"));
  assert.match(
    res.errors[0],
    /add vip 192\.0\.2\.1\/32 tcp\/80 .*: .*VPP answered -73 \(INVALID_ARGUMENT\)/,
  );
  assert.equal((await lb.dump()).vips.length, 1, "the other VIP is untouched");
});

Deno.test("reconciler: a transition syncs from the cached state, without dumping VPP", async () => {
  const lb = new MemoryLb();
  let dumps = 0;
  const counting = wrap(lb, {
    dump: () => {
      dumps++;
      return lb.dump();
    },
  });
  const states: Record<string, BackendState> = { a: "up", b: "up", c: "up" };
  const r = new Reconciler({
    lb: counting,
    health: view(config(), states),
    log: quiet(),
  });
  await r.sync();
  assert.equal(dumps, 1);
  states.b = "down";
  const t = await r.requestFrontend("web");
  assert.equal(t.ops.length, 1);
  assert.equal(dumps, 1, "no dump for a transition");
  assert.deepEqual(await weights(lb), {
    "10.0.0.1": 50,
    "10.0.0.2": 0,
    "10.0.0.3": 0,
  });
  // Drift behind our back: a scoped sync trusts the cache, a full sync dumps and repairs.
  await lb.setWeight(
    { prefix: "192.0.2.1/32", protocol: 6, port: 80 },
    "10.0.0.1",
    9,
    false,
  );
  assert.deepEqual((await r.requestFrontend("web")).ops, []);
  assert.equal((await r.sync()).ops.length, 1);
  assert.equal(dumps, 2);
  r.invalidate();
  await r.requestFrontend("web");
  assert.equal(dumps, 3, "after invalidate the next sync dumps");
});

/** `lb` with some calls replaced, for failures and slow dumps. */
function wrap(lb: MemoryLb, over: Partial<LbApi>): LbApi {
  return {
    getConf: () => lb.getConf(),
    setConf: (c) => lb.setConf(c),
    dump: () => lb.dump(),
    dumpVips: () => lb.dumpVips(),
    dumpAses: (v) => lb.dumpAses(v),
    addVip: (v) => lb.addVip(v),
    delVip: (k) => lb.delVip(k),
    addAs: (v, a, w) => lb.addAs(v, a, w),
    delAs: (v, a, f) => lb.delAs(v, a, f),
    setWeight: (v, a, w, f) => lb.setWeight(v, a, w, f),
    ...over,
  };
}

Deno.test("reconciler: lb_conf goes to VPP during the warmup hold (a fresh VPP's broadcast source black-holes)", async () => {
  const lb = new MemoryLb();
  const r = new Reconciler({
    lb,
    health: view(config("5s", "30s"), { a: "unknown", b: "unknown" }),
    log: quiet(),
    now: () => 0,
  });
  assert.equal(r.warmup.phase(0), "hold");
  await r.pushConf();
  assert.equal((await lb.getConf()).ipv4SrcAddress, "192.0.2.254");
  assert.equal((await lb.getConf()).ipv6SrcAddress, "2001:db8::254");
  assert.equal((await r.sync()).skipped, "warmup", "weights still held");
  assert.equal((await lb.dump()).vips.length, 0);
});

Deno.test("reconciler: full syncs asked for while one waits share it", async () => {
  const lb = new MemoryLb();
  let dumps = 0;
  const r = new Reconciler({
    lb: wrap(lb, {
      dump: () => {
        dumps++;
        return lb.dump();
      },
    }),
    health: view(config(), { a: "up", b: "up", c: "up" }),
    log: quiet(),
  });
  const all = await Promise.all([r.sync(), r.sync(), r.sync()]);
  assert.equal(dumps, 1);
  assert.equal(all[0], all[2]);
  assert.equal(all[0].ops.length, 4);
  assert.equal(lb.operations.length, 4, "sent once");
});

Deno.test("reconciler: a transition never waits for a full sync's dump, and the dump is corrected by it", async () => {
  const lb = new MemoryLb();
  const states: Record<string, BackendState> = { a: "up", b: "up", c: "up" };
  let release: (() => void) | undefined;
  let slow = false;
  const r = new Reconciler({
    lb: wrap(lb, {
      dump: async () => {
        const state = await lb.dump();
        if (slow) await new Promise<void>((res) => release = res);
        return state;
      },
    }),
    health: view(config(), states),
    log: quiet(),
  });
  await r.sync();
  slow = true;
  const full = r.sync();
  await waitFor("the full sync is dumping", () => release !== undefined);
  // b fails while VPP is being dumped (the dump says b is at 100).
  states.b = "down";
  const t = await r.requestFrontend("web");
  assert.deepEqual(
    t.ops.map((o) => o.kind === "set-weight" && [o.address, o.weight]),
    [["10.0.0.2", 0]],
  );
  release!();
  const res = await full;
  assert.deepEqual(
    res.ops,
    [],
    "the dump plus b's operation is what VPP holds",
  );
  assert.equal(
    r.cachedState()?.ases.find((a) => a.address === "10.0.0.2")?.weight,
    0,
  );
});

Deno.test("reconciler: when raising the new pool fails, the old one keeps its weight and the frontend is retried", async () => {
  const lb = new MemoryLb();
  const states: Record<string, BackendState> = {
    a: "down",
    b: "down",
    c: "up",
  };
  let refuse = false;
  const r = new Reconciler({
    lb: wrap(lb, {
      setWeight: (v, a, w, f) =>
        refuse && w > 0
          ? Promise.reject(new Error("VPP answered -6"))
          : lb.setWeight(v, a, w, f),
    }),
    health: view(config(), states),
    log: quiet(),
  });
  await r.sync();
  assert.deepEqual(await weights(lb), {
    "10.0.0.1": 0,
    "10.0.0.2": 0,
    "10.0.0.3": 100,
  });
  // b comes back: raise b (fails), then lower c (must not be sent).
  refuse = true;
  states.b = "up";
  const res = await r.requestFrontend("web");
  assert.deepEqual(res.failed, ["web"]);
  assert.equal(res.errors.length, 2, res.errors.join("\n"));
  assert.match(res.errors[1], /set weight 0 for as 10\.0\.0\.3 .*not sent/);
  assert.deepEqual(await weights(lb), {
    "10.0.0.1": 0,
    "10.0.0.2": 0,
    "10.0.0.3": 100,
  }, "traffic stays on c");
  refuse = false;
  const retry = await r.requestFrontend("web");
  assert.deepEqual(retry.failed, []);
  assert.deepEqual(await weights(lb), {
    "10.0.0.1": 0,
    "10.0.0.2": 100,
    "10.0.0.3": 0,
  });
});

Deno.test("reconciler: the view behind GetVPPLBState re-reads only the VIPs whose buckets changed", async () => {
  const lb = new MemoryLb();
  const read: string[][] = [];
  const states: Record<string, BackendState> = { a: "up", b: "up", c: "up" };
  const r = new Reconciler({
    lb: wrap(lb, {
      dumpAses: (vips) => {
        read.push(vips.map((v) => `${v.prefix} ${v.port}`));
        return lb.dumpAses(vips);
      },
    }),
    health: view(config(), states),
    log: quiet(),
  });
  assert.equal(await r.viewState(), undefined, "no view before a sync");
  await r.sync();
  read.length = 0;
  const buckets = (s: LbState | undefined) =>
    Object.fromEntries(s!.ases.map((a) => [a.address, a.numBuckets]));
  const first = await r.viewState();
  assert.deepEqual(buckets(first), buckets(await lb.dump()));
  assert.deepEqual(read, [["192.0.2.1/32 80"]], "the synced VIP is re-read");
  assert.deepEqual(buckets(await r.viewState()), buckets(first));
  assert.equal(read.length, 1, "nothing changed since: no read");
  states.b = "down";
  await r.requestFrontend("web");
  const after = await r.viewState();
  assert.equal(read.length, 2);
  assert.equal(buckets(after)["10.0.0.2"], 0);
  assert.deepEqual(buckets(after), buckets(await lb.dump()));
});

Deno.test("reconciler: a full sync asked for while one runs gets a sync of its own, which sees the change", async () => {
  const lb = new MemoryLb();
  const states: Record<string, BackendState> = { a: "up", b: "up", c: "up" };
  let hold: Promise<void> | undefined;
  let release: (() => void) | undefined;
  let sending = false;
  const r = new Reconciler({
    lb: wrap(lb, {
      setWeight: async (v, a, w, f) => {
        if (hold) {
          sending = true;
          await hold;
        }
        return lb.setWeight(v, a, w, f);
      },
    }),
    health: view(config(), states),
    log: quiet(),
  });
  await r.sync();
  hold = new Promise<void>((res) => release = res);
  states.b = "down";
  const first = r.sync();
  // Once the first sync is sending, its operations are computed: a reload
  // or a change now must not be answered with its result.
  await waitFor("the first sync is sending", () => sending);
  states.a = "down";
  const second = r.sync();
  const third = r.sync();
  assert.notEqual(second, first);
  assert.equal(third, second, "requests while one waits share it");
  hold = undefined;
  release!();
  await first;
  await second;
  assert.deepEqual(await weights(lb), {
    "10.0.0.1": 0,
    "10.0.0.2": 0,
    "10.0.0.3": 100,
  });
});

Deno.test("reconciler: a transition in many frontends reaches VPP for the first ones before the last are computed", async () => {
  const fes = Array.from({ length: 100 }, (_, i) => `f${i}`);
  const r0 = parseConfigText(
    `maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      ipv6-src-address: 2001:db8::254
      startup-min-delay: 0s
      startup-max-delay: 0s
  healthchecks:
    hc: { type: tcp, port: 80 }
  backends:
    a: { address: 10.0.0.1, healthcheck: hc }
    b: { address: 10.0.0.2, healthcheck: hc }
  frontends:
${
      fes.map((f, i) =>
        `    ${f}:
      address: 198.18.0.${i + 1}
      port: 80
      pools:
        - name: p
          backends: { a: {}, b: {} }`
      ).join("\n")
    }
`,
    "t.yaml",
  );
  if (!r0.ok) throw new Error(JSON.stringify(r0.errors));
  const cfg = r0.config;
  const lb = new MemoryLb();
  const states: Record<string, BackendState> = { a: "up", b: "up" };
  const base = view(cfg, states);
  let evaluated = 0;
  const atFirstWrite: number[] = [];
  const r = new Reconciler({
    lb: wrap(lb, {
      setWeight: (v, a, w, f) => {
        atFirstWrite.push(evaluated);
        return lb.setWeight(v, a, w, f);
      },
    }),
    health: {
      config: cfg,
      backendState: base.backendState,
      evaluation: (f) => {
        evaluated++;
        return base.evaluation(f);
      },
    },
    log: quiet(),
  });
  await r.sync();
  states.b = "down";
  evaluated = 0;
  const res = await Promise.all(fes.map((f) => r.requestFrontend(f)));
  assert.equal(res[0].ops.length, 100, "one weight per frontend");
  assert.ok(
    atFirstWrite[0] < fes.length,
    `first write after ${
      atFirstWrite[0]
    } of ${fes.length} frontends were evaluated`,
  );
  const w = await lb.dump();
  assert.ok(
    w.ases.filter((a) => a.address === "10.0.0.2").every((a) => a.weight === 0),
  );
});

Deno.test("reconciler: a transition never waits behind the view's re-read, and a change during it is read again", async () => {
  const lb = new MemoryLb();
  const states: Record<string, BackendState> = { a: "up", b: "up", c: "up" };
  let release: (() => void) | undefined;
  let slow = false;
  const r = new Reconciler({
    lb: wrap(lb, {
      dumpAses: async (vips) => {
        const ases = await lb.dumpAses(vips);
        if (slow) await new Promise<void>((res) => release = res);
        return ases;
      },
    }),
    health: view(config(), states),
    log: quiet(),
  });
  await r.sync();
  slow = true;
  const viewing = r.viewState();
  await waitFor("the view is re-reading", () => release !== undefined);
  states.b = "down";
  const t = await r.requestFrontend("web");
  assert.equal(t.ops.length, 1, "sent while the read was still out");
  slow = false;
  release!();
  // The read began before b's operation: its buckets are not taken.
  const first = await viewing;
  assert.ok(first);
  const fresh = await r.viewState();
  const b = fresh?.ases.find((a) => a.address === "10.0.0.2");
  assert.deepEqual([b?.weight, b?.numBuckets], [0, 0]);
  const truth = (await lb.dump()).ases.map((a) => [a.address, a.numBuckets]);
  assert.deepEqual(
    fresh?.ases.map((a) => [a.address, a.numBuckets]).sort(),
    truth.sort(),
  );
});

Deno.test("reconciler: a full sync removes only VIPs maglev owns; a foreign one is logged once, then removed once adopted", async () => {
  const lb = new MemoryLb();
  const foreign = {
    prefix: "198.51.100.7/32",
    protocol: 17 as const,
    port: 53,
    encap: "gre4" as const,
    srcIpSticky: false,
    flowTableLength: 1024,
  };
  // Another tool's VIP, and one a previous maglev run made (state file).
  await lb.addVip(foreign);
  const mine = { ...foreign, prefix: "198.51.100.8/32" };
  await lb.addVip(mine);
  await lb.addAs(mine, "10.9.9.9", 100);
  const records: { msg: string; fields: Record<string, unknown> }[] = [];
  const log = new Logger({ level: "error", format: "json", writeLine() {} });
  log.addSink({ level: "debug", write: (r) => records.push(r) });
  let saves = 0;
  const states: Record<string, BackendState> = { a: "up", b: "up", c: "up" };
  const r = new Reconciler({
    lb,
    health: view(config(), states),
    log,
    ownedVips: [{ prefix: mine.prefix, protocol: 17, port: 53 }],
    onOwnedChange: () => saves++,
  });
  const first = await r.sync();
  const removed = first.ops.filter((o) => o.kind === "del-vip").map((o) =>
    o.vip.prefix
  );
  assert.deepEqual(removed, ["198.51.100.8/32"]);
  const prefixes = async () => (await lb.dump()).vips.map((v) => v.prefix);
  assert.deepEqual(await prefixes(), ["198.51.100.7/32", "192.0.2.1/32"]);
  // The frontend's VIP is maglev's now, the removed one no longer.
  assert.deepEqual(r.ownedVips().map((v) => v.prefix), ["192.0.2.1/32"]);
  assert.ok(saves >= 2, "each ownership change asks for a save");
  await r.sync();
  const foreignLogs = records.filter((x) => x.msg === "vpp-vip-foreign");
  assert.equal(foreignLogs.length, 1, "logged once, not per sync");
  assert.equal(foreignLogs[0].fields.vip, "198.51.100.7/32 17 53");
  assert.match(String(foreignLogs[0].fields.meaning), /left alone/);

  assert.equal(r.adopt(foreign), true);
  assert.equal(r.adopt(foreign), false, "already maglev's");
  assert.ok(r.owns(foreign));
  const after = await r.sync();
  assert.deepEqual(
    after.ops.filter((o) => o.kind === "del-vip").map((o) => o.vip.prefix),
    ["198.51.100.7/32"],
  );
  assert.deepEqual(await prefixes(), ["192.0.2.1/32"]);
  assert.equal(r.owns(foreign), false);
});

Deno.test("reconciler: the warmup waits past startup-max-delay for a backend whose first probe may come later (bounded)", async () => {
  const lb = new MemoryLb();
  let now = 0;
  // hc's first verdict can take fast-interval + timeout (default 1s + 1s
  // here, far above the 100 ms max).
  const cfg = config("0s", "100ms");
  const hc = cfg.healthchecks.get("hc")!;
  const bound = hc.fastIntervalMs + hc.timeoutMs;
  assert.ok(bound > 100);
  const records: { msg: string; fields: Record<string, unknown> }[] = [];
  const log = new Logger({ level: "error", format: "json", writeLine() {} });
  log.addSink({ level: "debug", write: (r) => records.push(r) });
  const states: Record<string, BackendState> = {
    a: "up",
    b: "unknown",
    c: "up",
  };
  const r = new Reconciler({
    lb,
    health: view(cfg, states),
    log,
    now: () => now,
  });
  assert.deepEqual(
    records.find((x) => x.msg === "vpp-warmup-extended")?.fields,
    { configuredMs: 100, effectiveMs: bound, backend: "b" },
  );
  now = 200; // past startup-max-delay: b, never probed, is not zeroed yet
  assert.equal((await r.sync()).skipped, "warmup");
  assert.equal(lb.operations.length, 0);
  now = bound; // the bound: everything goes, as before
  const res = await r.sync();
  assert.equal(res.skipped, undefined);
  assert.ok(res.ops.some((o) => o.kind === "add-vip"));
});

Deno.test("reconciler: with no frontend configured, VPP's lb source addresses are left alone", async () => {
  const lb = new MemoryLb();
  const original = await lb.getConf();
  const r = parseConfigText(
    `maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      ipv6-src-address: 2001:db8::254
  healthchecks: {}
  backends: {}
  frontends: {}
`,
    "fresh-install.yaml",
  );
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const rec = new Reconciler({ lb, health: view(r.config, {}), log: quiet() });
  await rec.pushConf();
  assert.deepEqual(await lb.getConf(), original);
  assert.equal(lb.operations.filter((o) => o.op === "setConf").length, 0);
  // The first frontend makes the addresses maglev's business.
  const withFrontend = new Reconciler({
    lb,
    health: view(config(), {}),
    log: quiet(),
  });
  await withFrontend.pushConf();
  assert.equal((await lb.getConf()).ipv4SrcAddress, "192.0.2.254");
});
