import assert from "node:assert/strict";
import type { FrontendConfig, PoolConfig } from "../config/types.ts";
import { activePoolIndex, evaluateFrontend } from "./frontend.ts";
import type {
  BackendView,
  FrontendEvaluation,
  MemberWeight,
} from "./frontend.ts";
import { BackendHealth } from "./backend.ts";
import type { BackendState } from "./types.ts";

function frontend(
  pools: Record<string, Record<string, number>>,
  flushOnDown = true,
): FrontendConfig {
  const poolList: PoolConfig[] = Object.entries(pools).map((
    [name, members],
  ) => ({
    name,
    members: Object.entries(members).map(([backend, weight]) => ({
      backend,
      weight,
    })),
  }));
  return {
    name: "web",
    description: "",
    prefix: "192.0.2.1/32",
    address: "192.0.2.1",
    prefixLength: 32,
    family: 4,
    backendFamily: 4,
    protocol: "tcp",
    port: 80,
    srcIpSticky: false,
    flushOnDown,
    pools: poolList,
  };
}

function views(
  m: Record<string, BackendState | [BackendState, BackendState]>,
): (name: string) => BackendView | undefined {
  return (name) => {
    const v = m[name];
    if (v === undefined) return undefined;
    return Array.isArray(v) ? { state: v[0], pausedFrom: v[1] } : { state: v };
  };
}

function member(
  ev: FrontendEvaluation,
  backend: string,
  pool?: string,
): MemberWeight {
  const m = ev.members.find((x) =>
    x.backend === backend && (pool === undefined || x.pool === pool)
  );
  assert.ok(m, `member ${backend}`);
  return m;
}

type Subject = BackendState | [BackendState, BackendState] | "missing";

interface Row {
  readonly subject: Subject;
  /** Where the subject sits: in the pool made active by an up anchor, or in a standby pool. */
  readonly where: "active" | "standby";
  readonly flushOnDown: boolean;
  readonly weight: number;
  readonly flush: boolean;
}

/** The weight/flush table of spec §2, with a configured weight of 40. */
const TABLE: Row[] = [];
for (const flushOnDown of [true, false]) {
  const add = (
    subject: Subject,
    where: "active" | "standby",
    weight: number,
    flush: boolean,
  ) => TABLE.push({ subject, where, flushOnDown, weight, flush });
  add("up", "active", 40, false);
  add("up", "standby", 0, false);
  for (const where of ["active", "standby"] as const) {
    add("down", where, 0, flushOnDown);
    add("disabled", where, 0, true);
    add("unknown", where, 0, false);
    add("removed", where, 0, true);
    add("missing", where, 0, true);
    // Paused: as before the pause, but never a flush.
    add(["paused", "down"], where, 0, false);
    add(["paused", "unknown"], where, 0, false);
  }
  add(["paused", "up"], "active", 40, false);
  add(["paused", "up"], "standby", 0, false);
}

for (const row of TABLE) {
  const label = Array.isArray(row.subject)
    ? `paused from ${row.subject[1]}`
    : row.subject;
  Deno.test(
    `weight table: ${label} in ${row.where} pool, flushOnDown=${row.flushOnDown} → weight ${row.weight}, flush ${row.flush}`,
    () => {
      const pools: Record<string, Record<string, number>> =
        row.where === "active"
          ? { primary: { anchor: 100, s: 40 }, fallback: { other: 100 } }
          : { primary: { anchor: 100 }, fallback: { s: 40 } };
      const m: Record<string, BackendState | [BackendState, BackendState]> = {
        anchor: "up",
        other: "up",
      };
      if (row.subject !== "missing") m.s = row.subject;
      const ev = evaluateFrontend(frontend(pools, row.flushOnDown), views(m));
      assert.equal(ev.activePool, 0);
      const s = member(ev, "s");
      assert.equal(s.configuredWeight, 40);
      assert.equal(s.effectiveWeight, row.weight);
      assert.equal(s.flush, row.flush);
      const expectState = row.subject === "missing"
        ? "removed"
        : Array.isArray(row.subject)
        ? "paused"
        : row.subject;
      assert.equal(s.state, expectState);
      assert.equal(ev.state, "up");
    },
  );
}

Deno.test("a paused-from-up member alone keeps its pool active", () => {
  const ev = evaluateFrontend(
    frontend({ primary: { a: 60 }, fallback: { b: 100 } }),
    views({ a: ["paused", "up"], b: "up" }),
  );
  assert.equal(ev.activePool, 0);
  assert.deepEqual(
    ev.members.map((m) => [m.backend, m.effectiveWeight, m.flush]),
    [["a", 60, false], ["b", 0, false]],
  );
  assert.equal(ev.state, "up");
});

Deno.test("a paused-from-down member does not make its pool active", () => {
  const ev = evaluateFrontend(
    frontend({ primary: { a: 60 }, fallback: { b: 100 } }),
    views({ a: ["paused", "down"], b: "up" }),
  );
  assert.equal(ev.activePool, 1);
  assert.equal(member(ev, "b").effectiveWeight, 100);
});

Deno.test("paused without pausedFrom (or from paused) counts as unknown", () => {
  for (
    const v of [{ state: "paused" as const }, {
      state: "paused" as const,
      pausedFrom: "paused" as const,
    }]
  ) {
    const ev = evaluateFrontend(frontend({ p: { a: 10 } }), () => v);
    assert.equal(ev.activePool, -1);
    assert.deepEqual(
      [ev.members[0].effectiveWeight, ev.members[0].flush, ev.state],
      [0, false, "unknown"],
    );
  }
});

Deno.test("pool failover and back", () => {
  const fe = frontend({
    primary: { a1: 100, a2: 50 },
    secondary: { b1: 100 },
    tertiary: { c1: 100 },
  }, true);
  const state: Record<string, BackendState> = {
    a1: "up",
    a2: "up",
    b1: "up",
    c1: "up",
  };
  const eval_ = () => evaluateFrontend(fe, views(state));
  const weights = (ev: FrontendEvaluation) =>
    Object.fromEntries(ev.members.map((m) => [m.backend, m.effectiveWeight]));

  let ev = eval_();
  assert.equal(ev.activePool, 0);
  assert.deepEqual(weights(ev), { a1: 100, a2: 50, b1: 0, c1: 0 });

  state.a1 = "down"; // one of two down: primary stays active
  ev = eval_();
  assert.equal(ev.activePool, 0);
  assert.deepEqual(weights(ev), { a1: 0, a2: 50, b1: 0, c1: 0 });
  assert.equal(member(ev, "a1").flush, true);

  state.a2 = "disabled"; // primary gone: fail over to secondary
  ev = eval_();
  assert.equal(ev.activePool, 1);
  assert.deepEqual(weights(ev), { a1: 0, a2: 0, b1: 100, c1: 0 });

  state.b1 = "unknown"; // secondary has nothing up: tertiary
  ev = eval_();
  assert.equal(ev.activePool, 2);
  assert.deepEqual(weights(ev), { a1: 0, a2: 0, b1: 0, c1: 100 });

  state.b1 = "up"; // secondary back: it wins over tertiary
  ev = eval_();
  assert.equal(ev.activePool, 1);
  assert.deepEqual(weights(ev), { a1: 0, a2: 0, b1: 100, c1: 0 });

  state.a1 = "up"; // primary back
  ev = eval_();
  assert.equal(ev.activePool, 0);
  assert.deepEqual(weights(ev), { a1: 100, a2: 0, b1: 0, c1: 0 });
  assert.ok(ev.members.every((m) => m.flush === (m.backend === "a2")));
});

Deno.test("no pool active when nothing is up: frontend down, all weights 0", () => {
  const ev = evaluateFrontend(
    frontend({ primary: { a: 100 }, fallback: { b: 100 } }, false),
    views({ a: "down", b: "unknown" }),
  );
  assert.equal(ev.activePool, -1);
  assert.ok(ev.members.every((m) => m.effectiveWeight === 0));
  assert.equal(ev.state, "down");
  assert.deepEqual(ev.members.map((m) => m.flush), [false, false]);
});

Deno.test("weight-0 up members never make a pool active", () => {
  const fe = frontend({ primary: { a: 0, b: 0 }, fallback: { c: 20 } });
  const ev = evaluateFrontend(fe, views({ a: "up", b: "up", c: "up" }));
  assert.equal(ev.activePool, 1);
  assert.deepEqual(ev.members.map((m) => m.effectiveWeight), [0, 0, 20]);
  assert.equal(activePoolIndex(fe, views({ a: "up", b: "up", c: "down" })), -1);
  // Only weight-0 members up: no weight anywhere, and someone left unknown.
  const ev2 = evaluateFrontend(fe, views({ a: "up", b: "up", c: "down" }));
  assert.equal(ev2.state, "down");
});

Deno.test("a weight-0 up member in the active pool gets 0", () => {
  const ev = evaluateFrontend(
    frontend({ p: { a: 100, z: 0 } }),
    views({ a: "up", z: "up" }),
  );
  assert.equal(ev.activePool, 0);
  assert.deepEqual(
    [member(ev, "z").effectiveWeight, member(ev, "z").flush],
    [0, false],
  );
});

Deno.test("empty pools list: no active pool, no members, unknown", () => {
  const ev = evaluateFrontend(frontend({}), () => undefined);
  assert.deepEqual(ev, { state: "unknown", activePool: -1, members: [] });
  assert.equal(activePoolIndex(frontend({}), () => undefined), -1);
});

Deno.test("an empty pool is skipped", () => {
  const ev = evaluateFrontend(
    frontend({ empty: {}, real: { a: 10 } }),
    views({ a: "up" }),
  );
  assert.equal(ev.activePool, 1);
  assert.equal(ev.state, "up");
});

Deno.test("frontend state: unknown while no member has left unknown", () => {
  const fe = frontend({ p: { a: 10, b: 10 }, q: { c: 10 } });
  assert.equal(
    evaluateFrontend(fe, views({ a: "unknown", b: "unknown", c: "unknown" }))
      .state,
    "unknown",
  );
  assert.equal(
    evaluateFrontend(
      fe,
      views({ a: ["paused", "unknown"], b: "unknown", c: "unknown" }),
    ).state,
    "unknown",
  );
});

Deno.test("frontend state: down once any member left unknown without weight", () => {
  const fe = frontend({ p: { a: 10, b: 10 } });
  for (
    const s of [
      "down",
      "disabled",
      "removed",
      ["paused", "down"],
    ] as (BackendState | [BackendState, BackendState])[]
  ) {
    assert.equal(
      evaluateFrontend(fe, views({ a: s, b: "unknown" })).state,
      "down",
      JSON.stringify(s),
    );
  }
  // A missing backend counts as removed.
  assert.equal(evaluateFrontend(fe, views({ b: "unknown" })).state, "down");
});

Deno.test("frontend state: up when any member carries weight", () => {
  const fe = frontend({ p: { a: 10, b: 10 } });
  assert.equal(evaluateFrontend(fe, views({ a: "up", b: "down" })).state, "up");
  assert.equal(
    evaluateFrontend(fe, views({ a: ["paused", "up"], b: "unknown" })).state,
    "up",
  );
});

Deno.test("members come in pool order, then member order, with pool names and indexes", () => {
  const ev = evaluateFrontend(
    frontend({ p1: { z: 1, a: 2 }, p2: { m: 3 }, p3: { b: 4, y: 5 } }),
    () => ({ state: "up" }),
  );
  assert.deepEqual(
    ev.members.map((m) => [m.pool, m.poolIndex, m.backend, m.configuredWeight]),
    [
      ["p1", 0, "z", 1],
      ["p1", 0, "a", 2],
      ["p2", 1, "m", 3],
      ["p3", 2, "b", 4],
      ["p3", 2, "y", 5],
    ],
  );
});

Deno.test("a backend in two pools gets a row per pool", () => {
  const ev = evaluateFrontend(
    frontend({ p1: { a: 0, x: 100 }, p2: { a: 70 } }),
    views({ a: "up", x: "down" }),
  );
  // p1's only weighted member is down; a has weight 0 there, so p2 is active.
  assert.equal(ev.activePool, 1);
  assert.equal(member(ev, "a", "p1").effectiveWeight, 0);
  assert.equal(member(ev, "a", "p2").effectiveWeight, 70);
});

Deno.test("activePoolIndex agrees with evaluateFrontend", () => {
  const fe = frontend({ p1: { a: 10 }, p2: { b: 10 }, p3: { c: 10 } });
  const all: BackendState[] = ["unknown", "up", "down", "disabled", "removed"];
  for (const a of all) {
    for (const b of all) {
      for (const c of all) {
        const v = views({ a, b, c });
        assert.equal(
          activePoolIndex(fe, v),
          evaluateFrontend(fe, v).activePool,
        );
      }
    }
  }
});

Deno.test("BackendHealth instances serve as views", () => {
  const opts = { rise: 1, fall: 1, historySize: 3, enabled: true };
  const a = new BackendHealth("a", opts);
  const b = new BackendHealth("b", opts);
  const map = new Map([["a", a], ["b", b]]);
  const fe = frontend({ p1: { a: 100 }, p2: { b: 100 } });
  const ev0 = evaluateFrontend(fe, (n) => map.get(n));
  assert.equal(ev0.state, "unknown");
  a.recordProbe(true, "L4OK", "", 1);
  b.recordProbe(true, "L4OK", "", 1);
  assert.equal(evaluateFrontend(fe, (n) => map.get(n)).activePool, 0);
  a.pause(2);
  const ev1 = evaluateFrontend(fe, (n) => map.get(n));
  assert.equal(ev1.activePool, 0);
  assert.equal(member(ev1, "a").effectiveWeight, 100);
  assert.equal(member(ev1, "a").state, "paused");
  a.disable(3);
  const ev2 = evaluateFrontend(fe, (n) => map.get(n));
  assert.equal(ev2.activePool, 1);
  assert.deepEqual(
    ev2.members.map((m) => [m.effectiveWeight, m.flush]),
    [[0, true], [100, false]],
  );
});
