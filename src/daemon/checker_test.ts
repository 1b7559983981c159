/**
 * Checker logic with a scripted prober: ordering, generations, reload
 * semantics and operator actions. Real-socket behaviour (hanging backends,
 * timing) is covered by tests/checker_system_test.ts.
 */
import assert from "node:assert/strict";
import { Logger } from "../cli/log.ts";
import { parseConfigText } from "../config/load.ts";
import type { Config } from "../config/types.ts";
import type { Prober, ProbeResult, ProbeTarget } from "../probe/types.ts";
import { Checker, CheckerError } from "./checker.ts";
import { type DaemonEvent, EventBus } from "./events.ts";

function config(body: string): Config {
  const r = parseConfigText(`maglev:\n${body}`, "test.yaml", {
    vppEnabled: false,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

const BASE = `
  healthchecks:
    hc:
      type: tcp
      port: 80
      interval: 30ms
      fast-interval: 10ms
      down-interval: 30ms
      timeout: 20ms
      rise: 2
      fall: 2
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
          backends: { a: {}, b: { weight: 50 } }
        - name: backup
          backends: { c: {} }
`;

/** A prober whose verdict per address the test sets; it never opens a socket. */
class ScriptedProber implements Prober {
  verdict = new Map<string, boolean>();
  calls = new Map<string, number>();
  /** Addresses whose next probes wait until released. */
  held = new Map<string, (() => void)[]>();
  hold = new Set<string>();
  /** Addresses whose failures are timeouts rather than refusals. */
  timeouts = new Set<string>();

  async probe(target: ProbeTarget): Promise<ProbeResult> {
    this.calls.set(target.address, (this.calls.get(target.address) ?? 0) + 1);
    if (this.hold.has(target.address)) {
      await new Promise<void>((r) => {
        const list = this.held.get(target.address) ?? [];
        list.push(r);
        this.held.set(target.address, list);
      });
    }
    const ok = this.verdict.get(target.address) ?? true;
    if (!ok && this.timeouts.has(target.address)) {
      return { ok, code: "L4TOUT", text: "timeout", durationMs: 20 };
    }
    return {
      ok,
      code: ok ? "L4OK" : "L4CON",
      text: ok ? "connected" : "connection refused",
      durationMs: 1,
    };
  }
  release(address: string): void {
    for (const r of this.held.get(address) ?? []) r();
    this.held.delete(address);
  }
  close(): void {}
}

function setup(body = BASE) {
  const prober = new ScriptedProber();
  const bus = new EventBus((e) => {
    throw e;
  });
  const events: DaemonEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const log = new Logger({
    level: "error",
    format: "json",
    writeLine: () => {},
  });
  const checker = new Checker({ config: config(body), prober, bus, log });
  return { prober, bus, events, checker };
}

/** Resolves when `cond` holds; fails the test after `ms`. */
async function until(cond: () => boolean, what: string, ms = 2000) {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

Deno.test("checker: first probes decide, frontend goes up, weights follow the table", async () => {
  const { prober, checker, events } = setup();
  prober.verdict.set("10.0.0.2", false);
  checker.start();
  try {
    await until(
      () =>
        checker.backend("a")?.health.state === "up" &&
        checker.backend("b")?.health.state === "down" &&
        checker.backend("c")?.health.state === "up",
      "first verdicts",
    );
    const fe = checker.frontend("web")!;
    assert.equal(fe.evaluation.state, "up");
    assert.equal(fe.evaluation.activePool, 0);
    const w = Object.fromEntries(
      fe.evaluation.members.map((
        m,
      ) => [m.backend, [m.effectiveWeight, m.flush]]),
    );
    assert.deepEqual(w, { a: [100, false], b: [0, true], c: [0, false] });
    // Depending on which probe lands first the frontend may pass through
    // "down" (b failed before a passed); it must end up, in a valid chain.
    const fev = events.flatMap((e) =>
      e.type === "frontend" ? [[e.from, e.to]] : []
    );
    assert.equal(fev[0][0], "unknown");
    assert.equal(fev.at(-1)?.[1], "up");
    for (let i = 1; i < fev.length; i++) assert.equal(fev[i][0], fev[i - 1][1]);
  } finally {
    checker.stop();
  }
});

Deno.test("checker: pool failover and back", async () => {
  const { prober, checker } = setup();
  checker.start();
  try {
    await until(
      () => checker.frontend("web")?.evaluation.activePool === 0,
      "primary active",
    );
    prober.verdict.set("10.0.0.1", false);
    prober.verdict.set("10.0.0.2", false);
    await until(
      () => checker.frontend("web")?.evaluation.activePool === 1,
      "failover",
    );
    const c = checker.frontend("web")!.evaluation.members.find((m) =>
      m.backend === "c"
    )!;
    assert.equal(c.effectiveWeight, 100);
    prober.verdict.set("10.0.0.2", true);
    await until(
      () => checker.frontend("web")?.evaluation.activePool === 0,
      "failback",
    );
    const w = checker.frontend("web")!.evaluation.members.map((m) =>
      m.effectiveWeight
    );
    assert.deepEqual(w, [0, 50, 0]);
  } finally {
    checker.stop();
  }
});

Deno.test("checker: a result that arrives after pause is dropped", async () => {
  const { prober, checker } = setup();
  checker.start();
  try {
    await until(() => checker.backend("a")?.health.state === "up", "a up");
    prober.hold.add("10.0.0.1");
    prober.verdict.set("10.0.0.1", false);
    await until(() => prober.held.has("10.0.0.1"), "probe in flight");
    checker.pause("a");
    prober.hold.delete("10.0.0.1");
    prober.release("10.0.0.1");
    const calls = prober.calls.get("10.0.0.1");
    await new Promise((r) => setTimeout(r, 100)); // several intervals: must stay quiet
    assert.equal(checker.backend("a")?.health.state, "paused");
    assert.equal(prober.calls.get("10.0.0.1"), calls, "no probes while paused");
    checker.resume("a");
    await until(
      () => checker.backend("a")?.health.state === "down",
      "resumed and probed",
    );
  } finally {
    checker.stop();
  }
});

Deno.test("checker: operator errors carry codes and helpful messages", () => {
  const { checker } = setup();
  assert.throws(
    () => checker.pause("nope"),
    (e: unknown) =>
      e instanceof CheckerError && e.code === "not-found" &&
      /show backends/.test(e.message),
  );
  checker.disable("a");
  assert.throws(
    () => checker.pause("a"),
    (e: unknown) =>
      e instanceof CheckerError && e.code === "failed-precondition",
  );
  assert.throws(
    () => checker.setWeight("web", "primary", "a", 101),
    (e: unknown) => e instanceof CheckerError && e.code === "invalid-argument",
  );
  assert.throws(
    () => checker.setWeight("web", "primary", "a", 1.5),
    CheckerError,
  );
  assert.throws(
    () => checker.setWeight("web", "nopool", "a", 1),
    (e: unknown) =>
      e instanceof CheckerError && e.code === "not-found" &&
      /primary, backup/.test(e.message),
  );
  assert.throws(
    () => checker.setWeight("web", "backup", "a", 1),
    (e: unknown) => e instanceof CheckerError && e.code === "not-found",
  );
  assert.throws(
    () => checker.setWeight("x", "primary", "a", 1),
    (e: unknown) =>
      e instanceof CheckerError && e.code === "not-found" &&
      /web/.test(e.message),
  );
});

Deno.test("checker: disable flushes and emits a weights event; enable restarts from unknown", async () => {
  const { checker, events } = setup();
  checker.start();
  try {
    await until(() => checker.backend("a")?.health.state === "up", "a up");
    events.length = 0;
    checker.disable("a");
    const m = checker.frontend("web")!.evaluation.members.find((m) =>
      m.backend === "a"
    )!;
    assert.deepEqual([m.effectiveWeight, m.flush], [0, true]);
    assert.ok(events.some((e) => e.type === "weights" && e.frontend === "web"));
    assert.ok(
      events.some((e) =>
        e.type === "backend" && e.transition.to === "disabled" &&
        e.transition.code === "disabled"
      ),
    );
    checker.enable("a");
    assert.equal(checker.backend("a")?.health.state, "unknown");
    await until(
      () => checker.backend("a")?.health.state === "up",
      "a up again",
    );
  } finally {
    checker.stop();
  }
});

Deno.test("checker: reload keeps unchanged backends running and their operator state", async () => {
  const { prober, checker, events } = setup();
  checker.start();
  try {
    await until(() => checker.backend("c")?.health.state === "up", "c up");
    checker.pause("a");
    checker.setWeight("web", "primary", "b", 10);
    const bHealth = checker.backend("b")!.health;
    events.length = 0;
    // c's health check changes, a and b keep theirs; d is new.
    const next = BASE.replace(
      "    c: { address: 10.0.0.3, healthcheck: hc }",
      `    c: { address: 10.0.0.33, healthcheck: hc }
    d: { address: 10.0.0.4, healthcheck: hc }`,
    );
    const summary = checker.reload(config(next));
    assert.deepEqual(summary.added, ["d"]);
    assert.deepEqual(summary.changed, ["c"]);
    assert.equal(summary.unchanged, 2);
    assert.equal(
      checker.backend("a")?.health.state,
      "paused",
      "pause survives",
    );
    assert.equal(
      checker.backend("b")!.health,
      bHealth,
      "same health object: no gap",
    );
    const bw = checker.frontend("web")!.config.pools[0].members.find((m) =>
      m.backend === "b"
    );
    assert.equal(bw?.weight, 10, "runtime weight survives");
    assert.equal(checker.backend("c")?.health.state, "unknown");
    assert.equal(
      checker.backend("c")?.health.lastTransition?.reason,
      "reload changed address",
    );
    await until(
      () => (prober.calls.get("10.0.0.4") ?? 0) > 0,
      "new backend probed",
    );
    await until(
      () => checker.backend("c")?.health.state === "up",
      "changed backend re-probed",
    );

    // Removing b: it gets a removed transition and disappears.
    const without = next.replace(
      "    b: { address: 10.0.0.2, healthcheck: hc }\n",
      "",
    )
      .replace("a: {}, b: { weight: 50 }", "a: {}");
    events.length = 0;
    const s2 = checker.reload(config(without));
    assert.deepEqual(s2.removed, ["b"]);
    assert.equal(checker.backend("b"), undefined);
    assert.ok(
      events.some((e) =>
        e.type === "backend" && e.backend === "b" &&
        e.transition.to === "removed"
      ),
    );
  } finally {
    checker.stop();
  }
});

Deno.test("checker: a changed configured weight drops the runtime override", () => {
  const { checker } = setup();
  checker.setWeight("web", "primary", "b", 10);
  const next = BASE.replace("b: { weight: 50 }", "b: { weight: 60 }");
  checker.reload(config(next));
  const bw = checker.frontend("web")!.config.pools[0].members.find((m) =>
    m.backend === "b"
  );
  assert.equal(bw?.weight, 60);
});

Deno.test("checker: a reload that retunes timing, rise/fall or the port keeps every backend's state, counter and history", async () => {
  const { checker, events } = setup();
  checker.start();
  try {
    await until(
      () =>
        ["a", "b", "c"].every((n) => checker.backend(n)?.health.state === "up"),
      "all up",
    );
    const before = new Map(
      ["a", "b", "c"].map((n) => [n, checker.backend(n)!.health]),
    );
    const history = checker.backend("a")!.health.transitions.length;
    events.length = 0;
    const retuned = BASE.replace("interval: 30ms", "interval: 45ms")
      .replace("timeout: 20ms", "timeout: 25ms")
      .replace("rise: 2", "rise: 3")
      .replace("fall: 2", "fall: 4")
      .replace("port: 80", "port: 8080");
    const summary = checker.reload(config(retuned));
    assert.deepEqual(summary.changed, []);
    assert.deepEqual(summary.retuned, ["a", "b", "c"]);
    for (const [n, h] of before) {
      const now = checker.backend(n)!;
      assert.equal(now.health, h, `${n}: same health object`);
      assert.equal(now.health.state, "up", `${n} still up`);
      assert.equal(now.health.fall, 4);
      assert.equal(now.check.intervalMs, 45);
      assert.equal(now.check.port, 8080);
    }
    assert.equal(checker.backend("a")!.health.transitions.length, history);
    assert.deepEqual(
      events.filter((e) => e.type === "backend"),
      [],
      "no transition at all",
    );
  } finally {
    checker.stop();
  }
});

Deno.test("checker: a reload that changes an up backend's address or probe type holds its VPP weight until the first verdict", async () => {
  const { prober, checker } = setup();
  checker.start();
  try {
    await until(
      () => checker.backend("a")?.health.state === "up",
      "a up",
    );
    assert.equal(checker.held("a"), undefined);
    // a moves to another address; its next probes wait until released.
    prober.hold.add("10.0.0.9");
    checker.reload(config(BASE.replace("10.0.0.1", "10.0.0.9")));
    assert.equal(checker.backend("a")?.health.state, "unknown");
    assert.deepEqual(checker.held("a"), { previousAddress: "10.0.0.1" });
    await until(() => prober.held.has("10.0.0.9"), "a's first probe started");
    assert.deepEqual(checker.held("a"), { previousAddress: "10.0.0.1" });
    prober.hold.delete("10.0.0.9");
    prober.release("10.0.0.9");
    await until(() => checker.held("a") === undefined, "released by a verdict");
    assert.equal(checker.backend("a")?.health.state, "up");
    // A backend that was down has no weight to keep.
    prober.verdict.set("10.0.0.2", false);
    await until(() => checker.backend("b")?.health.state === "down", "b down");
    checker.reload(config(BASE.replace("10.0.0.2", "10.0.0.8")));
    assert.equal(checker.held("b"), undefined);
  } finally {
    checker.stop();
  }
});

/** A prober that times out every probe (as the checker's own stall would make it). */
class TimeoutProber implements Prober {
  code: "L4TOUT" | "L4CON" = "L4TOUT";
  probes = 0;
  probe(): Promise<ProbeResult> {
    this.probes++;
    return Promise.resolve({
      ok: false,
      code: this.code,
      text: this.code === "L4TOUT" ? "timeout" : "refused",
      durationMs: 20,
    });
  }
  close(): void {}
}

Deno.test("checker: a timeout during its own stall is discarded and retried, never a verdict; a real refusal counts at once", async () => {
  const prober = new TimeoutProber();
  const discards: string[] = [];
  let stall = 500;
  const checker = new Checker({
    config: config(BASE),
    prober,
    bus: new EventBus((e) => {
      throw e;
    }),
    log: new Logger({ level: "error", format: "json", writeLine: () => {} }),
    observer: {
      onProbe() {},
      onTransition() {},
      onDiscard: (b, reason) => discards.push(`${b}:${reason}`),
    },
    stalls: { stallSince: () => stall, stalledShare: () => 0 },
  });
  checker.start();
  try {
    await until(() => discards.length >= 6, "some discards");
    // Timed out while the loop stalled: still unknown (no verdict) for all.
    for (const b of ["a", "b", "c"]) {
      assert.equal(checker.backend(b)?.health.state, "unknown", b);
    }
    assert.ok(discards.every((d) => d.endsWith(":checker-stall")));
    // A backend that keeps timing out while the checker stays stalled goes
    // down after MAX_DISCARDS (10) retries: hanging backends are not hidden.
    await until(
      () => checker.backend("a")?.health.state === "down",
      "a down after the cap",
      5000,
    );
    // No stall: a timeout is the backend's (b restarts from unknown on enable).
    stall = 0;
    checker.disable("b");
    checker.enable("b");
    await until(() => checker.backend("b")?.health.state === "down", "b down");
    // A refusal is an answer, whatever the checker's load.
    stall = 500;
    prober.code = "L4CON";
    checker.disable("c");
    checker.enable("c");
    const before = discards.length;
    await until(() => checker.backend("c")?.health.state === "down", "c down");
    assert.equal(
      discards.slice(before).filter((d) => d.startsWith("c:")).length,
      0,
    );
  } finally {
    checker.stop();
  }
});

Deno.test("checker: an overloaded loop stretches every interval, and says so; it relaxes once free", async () => {
  let share = 0.6;
  const records: string[] = [];
  const stretches: number[] = [];
  const log = new Logger({ level: "error", format: "json", writeLine() {} });
  log.addSink({ level: "debug", write: (r) => records.push(r.msg) });
  const checker = new Checker({
    config: config(BASE),
    prober: new ScriptedProber(),
    bus: new EventBus((e) => {
      throw e;
    }),
    log,
    observer: {
      onProbe() {},
      onTransition() {},
      onStretch: (f) => stretches.push(f),
    },
    stalls: { stallSince: () => 0, stalledShare: () => share },
    loadCheckMs: 10,
  });
  const seen: number[] = [];
  const off = checker.onStretch((f) => seen.push(f));
  checker.start();
  try {
    await until(() => checker.stretch === 4, "stretched to the cap");
    assert.deepEqual(stretches.slice(0, 4), [1.5, 2.25, 3.38, 4]);
    assert.equal(records.filter((m) => m === "checker-overloaded").length, 4);
    share = 0.01;
    await until(() => checker.stretch === 1, "relaxed");
    assert.ok(records.includes("checker-relieved"));
    assert.deepEqual(seen, stretches);
  } finally {
    off();
    checker.stop();
  }
});

const GUARDED = `
  healthchecks:
    hc:
      type: tcp
      port: 80
      interval: 30ms
      fast-interval: 10ms
      down-interval: 30ms
      timeout: 20ms
      rise: 1
      fall: 1
  backends:
    a: { address: 10.0.0.1, healthcheck: hc }
    b: { address: 10.0.0.2, healthcheck: hc }
    c: { address: 10.0.0.3, healthcheck: hc }
    d: { address: 10.0.0.4, healthcheck: hc }
  frontends:
    web:
      address: 192.0.2.1
      port: 80
      min-healthy: 50%
      pools:
        - name: primary
          backends: { a: {}, b: {}, c: {}, d: {} }
`;

Deno.test("checker: min-healthy holds the last good weights through a wave of timeouts; a refusal still goes; an operator confirms", async () => {
  const { prober, checker } = setup(GUARDED);
  const weights = () =>
    Object.fromEntries(
      checker.frontend("web")!.evaluation.members.map((m) => [
        m.backend,
        m.effectiveWeight,
      ]),
    );
  checker.start();
  try {
    await until(
      () => Object.values(weights()).every((w) => w === 100),
      "all up",
    );
    assert.throws(() => checker.confirmGuard("web"), /holds nothing/);
    // a, b, c time out together; c is refused instead.
    for (const a of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) {
      prober.verdict.set(a, false);
    }
    prober.timeouts.add("10.0.0.1");
    prober.timeouts.add("10.0.0.2");
    await until(
      () =>
        ["a", "b", "c"].every((b) =>
          checker.backend(b)?.health.state === "down"
        ),
      "a, b, c down",
    );
    assert.ok(checker.guard("web")?.trip, "tripped");
    assert.deepEqual(weights(), { a: 100, b: 100, c: 0, d: 100 });
    // The operator accepts the failure: the held weights go.
    checker.confirmGuard("web");
    assert.equal(checker.guard("web")?.trip, undefined);
    assert.deepEqual(weights(), { a: 0, b: 0, c: 0, d: 100 });
    assert.throws(() => checker.confirmGuard("nope"), /no frontend "nope"/);
  } finally {
    checker.stop();
  }
});
