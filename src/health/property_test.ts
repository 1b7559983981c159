import assert from "node:assert/strict";
import fc from "fast-check";
import { BackendHealth, HealthActionError } from "./backend.ts";
import { counterMax, isUpCounter } from "./counter.ts";
import { evaluateFrontend } from "./frontend.ts";
import type { BackendView } from "./frontend.ts";
import type { FrontendConfig } from "../config/types.ts";
import type { BackendState, Transition } from "./types.ts";

type Step =
  | { readonly kind: "probe"; readonly ok: boolean }
  | {
    readonly kind: "pause" | "resume" | "disable" | "enable" | "remove";
  };

// Probes dominate, like in production; `remove` is rare so sequences get far.
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.boolean().map((ok) => ({ kind: "probe", ok }) as const),
  },
  { weight: 2, arbitrary: fc.constant({ kind: "pause" } as const) },
  { weight: 2, arbitrary: fc.constant({ kind: "resume" } as const) },
  { weight: 1, arbitrary: fc.constant({ kind: "disable" } as const) },
  { weight: 1, arbitrary: fc.constant({ kind: "enable" } as const) },
  { weight: 1, arbitrary: fc.constant({ kind: "remove" } as const) },
);

function checkInvariants(b: BackendHealth): void {
  const max = counterMax(b.rise, b.fall);
  assert.ok(Number.isInteger(b.counter));
  assert.ok(b.counter >= 0 && b.counter <= max, `counter ${b.counter}`);
  assert.equal(b.probing, ["unknown", "up", "down"].includes(b.state));
  assert.equal(b.fullyUp, b.counter === max);
  assert.equal(b.fullyDown, b.counter === 0);
  const consistent = (s: BackendState): void => {
    if (s === "up") assert.ok(isUpCounter(b.counter, b.rise), "up below rise");
    if (s === "down") {
      assert.ok(!isUpCounter(b.counter, b.rise), "down at/above rise");
    }
    if (s === "unknown") assert.equal(b.counter, b.rise - 1);
  };
  consistent(b.state);
  if (b.state === "paused") {
    assert.ok(
      b.pausedFrom === "unknown" || b.pausedFrom === "up" ||
        b.pausedFrom === "down",
      `pausedFrom ${b.pausedFrom}`,
    );
    consistent(b.pausedFrom);
    assert.equal(b.healthState, b.pausedFrom);
  } else {
    assert.equal(b.pausedFrom, undefined);
    assert.equal(b.healthState, b.state);
  }
  if (b.state === "disabled") assert.equal(b.enabled, false);
  if (b.probing || b.state === "paused") assert.equal(b.enabled, true);
}

Deno.test("property: counter stays in [0, max] and state agrees with it", () => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 8 }),
      fc.boolean(),
      // size "max": without it fast-check keeps arrays to ~10 steps.
      fc.array(stepArb, { maxLength: 200, size: "max" }),
      (rise, fall, historySize, enabled, steps) => {
        const b = new BackendHealth("b", {
          rise,
          fall,
          historySize,
          enabled,
        });
        const all: Transition[] = [];
        checkInvariants(b);
        steps.forEach((step, i) => {
          const before = b.state;
          let t: Transition | undefined;
          if (step.kind === "probe") {
            t = b.recordProbe(step.ok, step.ok ? "L4OK" : "L4CON", "", i);
          } else {
            try {
              t = b[step.kind](i);
            } catch (e) {
              assert.ok(e instanceof HealthActionError);
              // Errors only where the spec says so, and change nothing.
              assert.ok(before === "disabled" || before === "removed");
              assert.equal(b.state, before);
            }
          }
          if (t === undefined) {
            assert.equal(b.state, before, "silent state change");
          } else {
            assert.equal(t.from, before);
            assert.equal(t.to, b.state);
            assert.notEqual(t.from, t.to);
            assert.equal(t.atMs, i);
            assert.equal(
              t.code === "NONE" || t.code === "disabled",
              step.kind !== "probe",
            );
            all.push(t);
          }
          if (before === "removed") assert.equal(b.state, "removed");
          checkInvariants(b);
          seen.add(b.state === "paused" ? `paused/${b.pausedFrom}` : b.state);
          assert.deepEqual(b.transitions, all.slice(-historySize));
          assert.deepEqual(b.lastTransition, all.at(-1));
        });
      },
    ),
    { numRuns: 500 },
  );
  // The generator really drives the machine through every state.
  assert.deepEqual([...seen].sort(), [
    "disabled",
    "down",
    "paused/down",
    "paused/unknown",
    "paused/up",
    "removed",
    "unknown",
    "up",
  ]);
});

const STATES: readonly BackendState[] = [
  "unknown",
  "up",
  "down",
  "paused",
  "disabled",
  "removed",
];
const viewArb: fc.Arbitrary<BackendView | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(...STATES.filter((s) => s !== "paused")).map((state) => ({
    state,
  })),
  fc.constantFrom<BackendState>("unknown", "up", "down").map((pausedFrom) => ({
    state: "paused" as const,
    pausedFrom,
  })),
);

Deno.test("property: frontend evaluation obeys the weight rules", () => {
  const names = ["a", "b", "c", "d", "e"];
  fc.assert(
    fc.property(
      fc.array(
        fc.uniqueArray(
          fc.record({
            backend: fc.constantFrom(...names),
            weight: fc.integer({ min: 0, max: 100 }),
          }),
          { selector: (m) => m.backend, maxLength: 4 },
        ),
        { maxLength: 4 },
      ),
      fc.array(viewArb, { minLength: names.length, maxLength: names.length }),
      fc.boolean(),
      (pools, viewList, flushOnDown) => {
        const fe: FrontendConfig = {
          name: "f",
          description: "",
          prefix: "192.0.2.1/32",
          address: "192.0.2.1",
          prefixLength: 32,
          family: 4,
          protocol: "tcp",
          port: 80,
          srcIpSticky: false,
          flushOnDown,
          pools: pools.map((members, i) => ({ name: `p${i}`, members })),
        };
        const view = (n: string) => viewList[names.indexOf(n)];
        const health = (n: string): BackendState => {
          const v = view(n);
          if (v === undefined) return "removed";
          return v.state === "paused" ? (v.pausedFrom ?? "unknown") : v.state;
        };
        const ev = evaluateFrontend(fe, view);
        assert.equal(
          ev.members.length,
          pools.reduce((n, p) => n + p.length, 0),
        );
        // The active pool is the first with an up, weighted member.
        const expected = pools.findIndex((p) =>
          p.some((m) => m.weight > 0 && health(m.backend) === "up")
        );
        assert.equal(ev.activePool, expected);
        for (const m of ev.members) {
          const h = health(m.backend);
          const paused = view(m.backend)?.state === "paused";
          if (m.effectiveWeight > 0) {
            assert.equal(m.poolIndex, ev.activePool);
            assert.equal(h, "up");
            assert.equal(m.effectiveWeight, m.configuredWeight);
          } else if (h === "up" && m.poolIndex === ev.activePool) {
            assert.equal(m.configuredWeight, 0);
          }
          if (paused) assert.equal(m.flush, false);
          else if (m.flush) {
            assert.ok(
              h === "disabled" || h === "removed" ||
                (h === "down" && flushOnDown),
            );
          }
        }
        const anyWeight = ev.members.some((m) => m.effectiveWeight > 0);
        const anyLeft = ev.members.some((m) => health(m.backend) !== "unknown");
        assert.equal(
          ev.state,
          anyWeight ? "up" : anyLeft ? "down" : "unknown",
        );
        assert.equal(ev.activePool === -1, !anyWeight);
      },
    ),
    { numRuns: 1000 },
  );
});
