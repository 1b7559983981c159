import assert from "node:assert/strict";
import { BackendHealth, HealthActionError } from "./backend.ts";
import type { BackendHealthOptions } from "./backend.ts";
import type { BackendState, Transition } from "./types.ts";

function mk(
  opts: Partial<BackendHealthOptions> = {},
  name = "b",
): BackendHealth {
  return new BackendHealth(name, {
    rise: 2,
    fall: 3,
    historySize: 10,
    enabled: true,
    ...opts,
  });
}

const pass = (b: BackendHealth, t = 0) => b.recordProbe(true, "L7OK", "ok", t);
const fail = (b: BackendHealth, t = 0) =>
  b.recordProbe(false, "L7STS", "HTTP 503", t);

/** States an operator action can start from; paused variants by pausedFrom. */
type Start =
  | "unknown"
  | "up"
  | "down"
  | "paused-from-unknown"
  | "paused-from-up"
  | "paused-from-down"
  | "disabled"
  | "removed";

const STARTS: readonly Start[] = [
  "unknown",
  "up",
  "down",
  "paused-from-unknown",
  "paused-from-up",
  "paused-from-down",
  "disabled",
  "removed",
];

function inState(start: Start): BackendHealth {
  const b = mk();
  switch (start) {
    case "unknown":
      break;
    case "up":
      pass(b);
      break;
    case "down":
      fail(b);
      break;
    case "paused-from-unknown":
      b.pause(1);
      break;
    case "paused-from-up":
      pass(b);
      b.pause(1);
      break;
    case "paused-from-down":
      fail(b);
      b.pause(1);
      break;
    case "disabled":
      b.disable(1);
      break;
    case "removed":
      b.remove(1);
      break;
  }
  return b;
}

type Action = "pause" | "resume" | "disable" | "enable" | "remove";
type Outcome = BackendState | "noop" | "error";

const PAUSED: Record<Action, Outcome> = {
  pause: "noop",
  resume: "unknown",
  disable: "disabled",
  enable: "noop",
  remove: "removed",
};
const PROBING: Record<Action, Outcome> = {
  pause: "paused",
  resume: "noop",
  disable: "disabled",
  enable: "noop",
  remove: "removed",
};

/** The operator-action matrix of spec §2. */
const MATRIX: Record<Start, Record<Action, Outcome>> = {
  "unknown": PROBING,
  "up": PROBING,
  "down": PROBING,
  "paused-from-unknown": PAUSED,
  "paused-from-up": PAUSED,
  "paused-from-down": PAUSED,
  "disabled": {
    pause: "error",
    resume: "error",
    disable: "noop",
    enable: "unknown",
    remove: "removed",
  },
  "removed": {
    pause: "error",
    resume: "error",
    disable: "error",
    enable: "error",
    remove: "noop",
  },
};

const DEFAULT_REASON: Record<Action, string> = {
  pause: "paused by operator",
  resume: "resumed by operator",
  disable: "disabled by operator",
  enable: "enabled by operator",
  remove: "removed from configuration",
};

function act(
  b: BackendHealth,
  a: Action,
  now: number,
  reason?: string,
): Transition | undefined {
  return b[a](now, reason);
}

function snapshot(b: BackendHealth) {
  return {
    state: b.state,
    counter: b.counter,
    enabled: b.enabled,
    pausedFrom: b.pausedFrom,
    transitions: b.transitions,
  };
}

for (const start of STARTS) {
  for (const action of Object.keys(DEFAULT_REASON) as Action[]) {
    const expected = MATRIX[start][action];
    Deno.test(`operator ${action} from ${start} → ${expected}`, () => {
      const b = inState(start);
      const before = snapshot(b);
      if (expected === "error") {
        assert.throws(
          () => act(b, action, 100),
          (e: unknown) =>
            e instanceof HealthActionError &&
            e.code === "failed-precondition" &&
            e.message.includes(`"b"`),
        );
        assert.deepEqual(snapshot(b), before);
        return;
      }
      const t = act(b, action, 100);
      if (expected === "noop") {
        assert.equal(t, undefined);
        assert.deepEqual(snapshot(b), before);
        return;
      }
      assert.deepEqual(t, {
        from: before.state,
        to: expected,
        atMs: 100,
        code: expected === "disabled" ? "disabled" : "NONE",
        reason: DEFAULT_REASON[action],
      });
      assert.equal(b.state, expected);
      assert.deepEqual(b.lastTransition, t);
      assert.equal(b.transitions.length, before.transitions.length + 1);
    });
  }
}

Deno.test("creation: enabled starts unknown at rise-1, no transition", () => {
  const b = mk({ rise: 3, fall: 2 });
  assert.equal(b.name, "b");
  assert.equal(b.state, "unknown");
  assert.equal(b.counter, 2);
  assert.equal(b.rise, 3);
  assert.equal(b.fall, 2);
  assert.equal(b.enabled, true);
  assert.equal(b.probing, true);
  assert.equal(b.pausedFrom, undefined);
  assert.equal(b.healthState, "unknown");
  assert.deepEqual(b.transitions, []);
  assert.equal(b.lastTransition, undefined);
  assert.equal(b.lastResult, undefined);
});

Deno.test("creation: not enabled starts disabled, not probing", () => {
  const b = mk({ enabled: false });
  assert.equal(b.state, "disabled");
  assert.equal(b.enabled, false);
  assert.equal(b.probing, false);
  assert.equal(b.healthState, "disabled");
  assert.deepEqual(b.transitions, []);
});

Deno.test("creation rejects bad rise/fall/historySize", () => {
  assert.throws(() => mk({ rise: 0 }), RangeError);
  assert.throws(() => mk({ fall: 0 }), RangeError);
  assert.throws(() => mk({ historySize: 0 }), RangeError);
});

Deno.test("creation seeds history, keeping the newest", () => {
  const h: Transition[] = [1, 2, 3].map((i) => ({
    from: "unknown",
    to: "up",
    atMs: i,
    code: "L4OK",
    reason: `t${i}`,
  }));
  const b = mk({ historySize: 2, history: h });
  assert.deepEqual(b.transitions.map((t) => t.atMs), [2, 3]);
  assert.equal(b.state, "unknown"); // history does not restore state
  pass(b, 4);
  assert.deepEqual(b.transitions.map((t) => t.atMs), [3, 4]);
});

Deno.test("first probe from unknown: a pass means up", () => {
  for (const [rise, fall] of [[1, 1], [2, 3], [5, 1]]) {
    const b = mk({ rise, fall });
    const t = b.recordProbe(true, "L4OK", "connected", 42);
    assert.deepEqual(t, {
      from: "unknown",
      to: "up",
      atMs: 42,
      code: "L4OK",
      reason: "connected",
    });
    assert.equal(b.state, "up");
    assert.equal(b.counter, rise + fall - 1, "jumps to max on the way up");
  }
});

Deno.test("first probe from unknown: a failure means down", () => {
  for (const [rise, fall] of [[1, 1], [2, 3], [5, 1]]) {
    const b = mk({ rise, fall });
    const t = b.recordProbe(false, "L4TOUT", "timeout", 42);
    assert.deepEqual(t, {
      from: "unknown",
      to: "down",
      atMs: 42,
      code: "L4TOUT",
      reason: "timeout",
    });
    assert.equal(b.state, "down");
    assert.equal(b.counter, 0, "jumps to 0 on the way down");
  }
});

Deno.test("rise=2 fall=3 walk: transitions only at the threshold", () => {
  const b = mk();
  const seq: [boolean, number, BackendState, boolean][] = [
    // ok, counter after, state after, transition?
    [true, 4, "up", true], // first pass decides; counter jumps to max
    [true, 4, "up", false], // capped
    [false, 3, "up", false],
    [true, 4, "up", false], // flapping near the top stays up
    [false, 3, "up", false],
    [false, 2, "up", false],
    [false, 0, "down", true], // fall=3 consecutive failures; jumps to 0
    [false, 0, "down", false], // floored
    [true, 1, "down", false],
    [false, 0, "down", false], // flapping near the bottom stays down
    [true, 1, "down", false],
    [true, 4, "up", true], // rise=2 consecutive passes
  ];
  seq.forEach(([ok, counter, state, changed], i) => {
    const t = ok ? pass(b, i) : fail(b, i);
    assert.equal(b.counter, counter, `step ${i}`);
    assert.equal(b.state, state, `step ${i}`);
    assert.equal(t !== undefined, changed, `step ${i}`);
  });
  assert.deepEqual(
    b.transitions.map((t) => `${t.from}>${t.to}@${t.atMs}`),
    ["unknown>up@0", "up>down@6", "down>up@11"],
  );
});

Deno.test("probe-caused transitions carry the probe's code and text", () => {
  const b = mk({ rise: 1, fall: 1 });
  pass(b, 1);
  const t = b.recordProbe(false, "L7RSP", "garbled reply", 2);
  assert.deepEqual(t, {
    from: "up",
    to: "down",
    atMs: 2,
    code: "L7RSP",
    reason: "garbled reply",
  });
  assert.deepEqual(b.lastResult, {
    ok: false,
    code: "L7RSP",
    text: "garbled reply",
    atMs: 2,
  });
});

Deno.test("rise=1 fall=1: every probe decides", () => {
  const b = mk({ rise: 1, fall: 1 });
  assert.equal(b.counter, 0);
  assert.equal(b.fullyUp, false);
  assert.equal(b.fullyDown, true);
  assert.ok(pass(b));
  assert.equal(b.counter, 1);
  assert.equal(b.fullyUp, true);
  assert.equal(pass(b), undefined);
  assert.ok(fail(b));
  assert.equal(b.state, "down");
  assert.equal(b.counter, 0);
  assert.equal(fail(b), undefined);
  assert.ok(pass(b));
  assert.equal(b.state, "up");
});

Deno.test("rise=1 fall=3: one pass up from anywhere, three failures down from max", () => {
  const b = mk({ rise: 1, fall: 3 });
  fail(b);
  assert.equal(b.state, "down");
  pass(b);
  assert.equal(b.state, "up");
  pass(b);
  pass(b);
  assert.equal(b.counter, 3);
  assert.equal(b.fullyUp, true);
  fail(b);
  fail(b);
  assert.equal(b.state, "up");
  fail(b);
  assert.equal(b.state, "down");
});

Deno.test("rise=3 fall=1: one failure down from anywhere, three passes up from 0", () => {
  const b = mk({ rise: 3, fall: 1 });
  assert.equal(b.counter, 2);
  pass(b);
  assert.equal(b.state, "up");
  assert.equal(b.fullyUp, true); // max = 3
  fail(b);
  assert.equal(b.state, "down");
  fail(b);
  fail(b);
  assert.equal(b.counter, 0);
  pass(b);
  pass(b);
  assert.equal(b.state, "down");
  pass(b);
  assert.equal(b.state, "up");
});

Deno.test("a flapping backend stays put inside the band", () => {
  const up = mk();
  for (let i = 0; i < 4; i++) pass(up); // counter 4 (max)
  for (let i = 0; i < 20; i++) {
    assert.equal(i % 2 === 0 ? fail(up) : pass(up), undefined);
    assert.equal(up.state, "up");
  }
  // Two failures, two passes: dips to 2 and back, never crosses.
  for (let i = 0; i < 5; i++) {
    for (const ok of [false, false, true, true]) {
      assert.equal(ok ? pass(up) : fail(up), undefined);
    }
  }
  assert.equal(up.state, "up");

  const down = mk();
  for (let i = 0; i < 3; i++) fail(down); // counter 0
  for (let i = 0; i < 20; i++) {
    assert.equal(i % 2 === 0 ? pass(down) : fail(down), undefined);
    assert.equal(down.state, "down");
  }
  assert.equal(down.transitions.length, 1);
});

Deno.test("fullyUp / fullyDown follow the counter ends", () => {
  const b = mk(); // counter 1, max 4
  assert.equal(b.fullyUp, false);
  assert.equal(b.fullyDown, false);
  fail(b);
  assert.equal(b.fullyDown, true);
  for (let i = 0; i < 4; i++) pass(b);
  assert.equal(b.fullyUp, true);
  assert.equal(b.fullyDown, false);
});

for (const start of ["paused-from-up", "disabled", "removed"] as const) {
  Deno.test(`probe results are ignored while ${start}`, () => {
    const b = inState(start);
    const before = snapshot(b);
    const last = b.lastResult;
    assert.equal(b.probing, false);
    assert.equal(pass(b, 500), undefined);
    assert.equal(fail(b, 501), undefined);
    assert.deepEqual(snapshot(b), before);
    assert.deepEqual(b.lastResult, last);
  });
}

Deno.test("probing is true exactly for unknown, up and down", () => {
  for (const start of STARTS) {
    const b = inState(start);
    assert.equal(
      b.probing,
      ["unknown", "up", "down"].includes(b.state),
      start,
    );
  }
});

Deno.test("pause keeps counter and pausedFrom; healthState is pausedFrom", () => {
  for (const from of ["unknown", "up", "down"] as const) {
    const b = inState(from);
    const counter = b.counter;
    b.pause(10);
    assert.equal(b.state, "paused");
    assert.equal(b.pausedFrom, from);
    assert.equal(b.healthState, from);
    assert.equal(b.counter, counter);
    assert.equal(b.enabled, true);
    // A second pause changes nothing, pausedFrom included.
    assert.equal(b.pause(11), undefined);
    assert.equal(b.pausedFrom, from);
  }
});

Deno.test("resume goes to unknown with counter rise-1 and clears pausedFrom", () => {
  const b = mk({ rise: 3, fall: 2 });
  for (let i = 0; i < 4; i++) pass(b); // fully up, counter 4
  b.pause(1);
  const t = b.resume(2);
  assert.equal(t?.to, "unknown");
  assert.equal(b.state, "unknown");
  assert.equal(b.counter, 2);
  assert.equal(b.pausedFrom, undefined);
  assert.equal(b.healthState, "unknown");
  assert.ok(fail(b)); // first probe decides
  assert.equal(b.state, "down");
});

Deno.test("disable from paused clears pausedFrom; enable goes to unknown at rise-1", () => {
  const b = inState("paused-from-up");
  b.disable(1);
  assert.equal(b.pausedFrom, undefined);
  assert.equal(b.healthState, "disabled");
  assert.equal(b.enabled, false);
  const t = b.enable(2);
  assert.equal(t?.from, "disabled");
  assert.equal(b.state, "unknown");
  assert.equal(b.counter, 1);
  assert.equal(b.enabled, true);
});

Deno.test("enable resets the counter even if disabled at full health", () => {
  const b = mk();
  for (let i = 0; i < 4; i++) pass(b);
  b.disable(1);
  assert.equal(b.counter, 4); // frozen while disabled
  b.enable(2);
  assert.equal(b.counter, 1);
});

Deno.test("remove is terminal and keeps history", () => {
  const b = inState("up");
  b.remove(5);
  assert.equal(b.state, "removed");
  assert.equal(b.probing, false);
  assert.equal(b.healthState, "removed");
  assert.equal(b.remove(6), undefined);
  assert.deepEqual(b.transitions.map((t) => t.to), ["up", "removed"]);
});

Deno.test("operator actions take a custom reason", () => {
  const b = mk();
  assert.equal(
    b.pause(1, "maintenance ticket 42")?.reason,
    "maintenance ticket 42",
  );
  assert.equal(b.resume(2, "done")?.reason, "done");
  assert.equal(b.disable(3, "api")?.reason, "api");
  assert.equal(b.enable(4, "api")?.reason, "api");
  assert.equal(b.remove(5, "reload")?.reason, "reload");
  assert.deepEqual(b.transitions.map((t) => t.code), [
    "NONE",
    "NONE",
    "disabled",
    "NONE",
    "NONE",
  ]);
});

Deno.test("error messages say what to do", () => {
  const d = mk({ enabled: false }, "nginx0");
  assert.throws(() => d.pause(1), {
    name: "HealthActionError",
    message: `backend "nginx0" is disabled: enable it first`,
  });
  assert.throws(() => d.resume(1), {
    message: `backend "nginx0" is disabled: enable it first`,
  });
  d.remove(2);
  for (const a of ["pause", "resume", "disable", "enable"] as const) {
    assert.throws(() => d[a](3), {
      message:
        `backend "nginx0" was removed from the configuration: add it back and reload first`,
    });
  }
});

Deno.test("HealthActionError is an Error with code failed-precondition", () => {
  const e = new HealthActionError("x");
  assert.ok(e instanceof Error);
  assert.equal(e.code, "failed-precondition");
  assert.equal(e.name, "HealthActionError");
  assert.equal(e.message, "x");
});

Deno.test("history ring keeps the newest historySize transitions, oldest first", () => {
  const b = mk({ rise: 1, fall: 1, historySize: 3 });
  for (let i = 0; i < 10; i++) {
    if (i % 2 === 0) pass(b, i);
    else fail(b, i);
  }
  assert.deepEqual(b.transitions.map((t) => t.atMs), [7, 8, 9]);
  assert.equal(b.lastTransition?.atMs, 9);
  // Consecutive entries chain: each from is the previous to.
  const ts = b.transitions;
  for (let i = 1; i < ts.length; i++) assert.equal(ts[i].from, ts[i - 1].to);
});

Deno.test("setHistorySize shrinks keeping the newest and grows for later entries", () => {
  const b = mk({ rise: 1, fall: 1, historySize: 5 });
  for (let i = 0; i < 5; i++) {
    if (i % 2 === 0) pass(b, i);
    else fail(b, i);
  }
  b.setHistorySize(2);
  assert.deepEqual(b.transitions.map((t) => t.atMs), [3, 4]);
  b.setHistorySize(4);
  b.pause(5);
  b.resume(6);
  assert.deepEqual(b.transitions.map((t) => t.atMs), [3, 4, 5, 6]);
  b.disable(7);
  assert.deepEqual(b.transitions.map((t) => t.atMs), [4, 5, 6, 7]);
  assert.throws(() => b.setHistorySize(0), RangeError);
});

Deno.test("transitions returns a snapshot, not the live ring", () => {
  const b = mk();
  const before = b.transitions;
  pass(b);
  assert.equal(before.length, 0);
  assert.equal(b.transitions.length, 1);
});

Deno.test("setRiseFall: a reload of rise/fall moves no state and keeps what was seen", () => {
  // Up, one failure seen (fall 3): with fall 5 it takes 4 more to go down.
  const up = mk();
  pass(up);
  fail(up);
  up.setRiseFall(3, 5);
  assert.equal(up.state, "up");
  for (let i = 0; i < 3; i++) {
    assert.equal(fail(up), undefined);
    assert.equal(up.state, "up");
  }
  assert.equal(fail(up)?.to, "down");
  // Up with more failures seen than the new fall allows: still up, one
  // failure from down.
  const edge = mk({ rise: 1, fall: 5 });
  pass(edge);
  for (let i = 0; i < 4; i++) fail(edge);
  edge.setRiseFall(1, 2);
  assert.equal(edge.state, "up");
  assert.equal(fail(edge)?.to, "down");
  // Down, one pass seen (rise 2): with rise 4 it takes 3 more.
  const down = mk();
  fail(down);
  pass(down);
  down.setRiseFall(4, 3);
  assert.equal(down.state, "down");
  pass(down);
  pass(down);
  assert.equal(down.state, "down");
  assert.equal(pass(down)?.to, "up");
  // Unknown: the first probe still decides.
  const unknown = mk();
  unknown.setRiseFall(5, 5);
  assert.equal(unknown.state, "unknown");
  assert.equal(pass(unknown)?.to, "up");
  // No transition is ever recorded by the change itself.
  assert.equal(up.transitions.length, 2);
  assert.throws(() => up.setRiseFall(0, 1), RangeError);
});
