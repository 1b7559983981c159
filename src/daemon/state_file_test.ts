/**
 * The state file: strict parsing, atomic writes, and a checker that comes
 * back from it with the operator's pauses, disables and weights, and with
 * recent verdicts instead of `unknown`.
 */
import assert from "node:assert/strict";
import { Logger, type LogRecord } from "../cli/log.ts";
import { parseConfigText } from "../config/load.ts";
import type { Config } from "../config/types.ts";
import type { Prober, ProbeResult } from "../probe/types.ts";
import { Checker } from "./checker.ts";
import { EventBus } from "./events.ts";
import {
  encodeState,
  parseState,
  type SavedState,
  STATE_FILE_VERSION,
  StateFile,
  StateFileError,
} from "./state_file.ts";

const SAMPLE: SavedState = {
  version: STATE_FILE_VERSION,
  savedAtMs: 1_700_000_000_000,
  backends: {
    a: {
      admin: {
        state: "paused",
        pausedFrom: "up",
        atMs: 1_699_999_999_000,
        reason: "paused by operator",
      },
    },
    "b.two": { verdict: { state: "down", atMs: 1, identity: '["x"]' } },
  },
  weights: [{
    frontend: "web",
    pool: "primary",
    backend: "b",
    weight: 7,
    configured: 50,
    atMs: 2,
  }],
  vips: [{ prefix: "192.0.2.1/32", protocol: 6, port: 80 }],
};

function logger(): { log: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const log = new Logger({ level: "error", format: "json", writeLine() {} });
  log.addSink({ level: "debug", write: (r) => records.push(r) });
  return { log, records };
}

Deno.test("state file: what is written parses back to the same state", () => {
  assert.deepEqual(parseState(encodeState(SAMPLE)), SAMPLE);
  const empty: SavedState = {
    version: STATE_FILE_VERSION,
    savedAtMs: 5,
    backends: {},
    weights: [],
  };
  assert.deepEqual(parseState(encodeState(empty)), empty);
});

Deno.test("state file: a broken file is refused with what is wrong, never half-read", () => {
  const good = JSON.parse(encodeState(SAMPLE));
  const cases: [unknown, RegExp][] = [
    ["{", /not valid JSON/],
    [[], /must be a JSON object/],
    [{ ...good, version: 2 }, /version: is 2; this maglev reads version 1/],
    [{ ...good, savedAtMs: "x" }, /savedAtMs: must be a number/],
    [{ ...good, backends: [] }, /backends: must be an object/],
    [
      { ...good, backends: { a: { admin: { state: "gone", atMs: 1 } } } },
      /backends\.a\.admin\.state: must be one of paused, disabled/,
    ],
    [
      { ...good, backends: { a: { verdict: { state: "up", atMs: 1 } } } },
      /backends\.a\.verdict\.identity: must be a string/,
    ],
    [{ ...good, weights: {} }, /weights: must be a list/],
    [
      { ...good, weights: [{ ...good.weights[0], weight: null }] },
      /weights\[0\]\.weight: must be a number/,
    ],
    [
      { ...good, vips: [{ prefix: "192.0.2.1/32", protocol: 1, port: 0 }] },
      /vips\[0\]\.protocol: must be 6, 17 or 255/,
    ],
  ];
  for (const [value, re] of cases) {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    assert.throws(() => parseState(text), (e: unknown) => {
      assert.ok(e instanceof StateFileError, String(e));
      assert.match(e.message, re);
      return true;
    });
  }
});

Deno.test("state file: saved atomically; absent, corrupt and unwritable are logged, never thrown", async () => {
  const dir = await Deno.makeTempDir({ prefix: "maglev-state-test-" });
  try {
    const { log, records } = logger();
    const f = new StateFile(`${dir}/state.json`, log);
    assert.equal(f.load(), undefined);
    assert.equal(records.at(-1)?.msg, "state-file-absent");

    assert.equal(f.save(SAMPLE), true);
    assert.deepEqual(f.load(), SAMPLE);
    // Only the file itself: the temporary one was renamed over it.
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name),
      ["state.json"],
    );
    assert.equal((Deno.statSync(`${dir}/state.json`).mode ?? 0) & 0o777, 0o640);

    // A crash between write and rename leaves a .tmp beside the old file:
    // the old file is what loads.
    await Deno.writeTextFile(`${dir}/state.json.tmp`, "{ half");
    assert.deepEqual(f.load(), SAMPLE);

    await Deno.writeTextFile(`${dir}/state.json`, '{"version": 1, "savedAt');
    assert.equal(f.load(), undefined);
    const corrupt = records.at(-1)!;
    assert.equal(corrupt.msg, "state-file-corrupt");
    assert.equal(corrupt.level, "error");
    assert.match(String(corrupt.fields.error), /not valid JSON/);

    // A directory where the file should be: unreadable.
    const asDir = new StateFile(dir, log);
    assert.equal(asDir.load(), undefined);
    assert.equal(records.at(-1)?.msg, "state-file-unreadable");

    // A directory that does not exist is not created (systemd makes it):
    // one warning, then quiet until a write succeeds again.
    const missing = new StateFile(`${dir}/nope/state.json`, log);
    const before = records.length;
    assert.equal(missing.save(SAMPLE), false);
    assert.equal(missing.save(SAMPLE), false);
    const warned = records.slice(before);
    assert.deepEqual(warned.map((r) => r.msg), ["state-file-unwritable"]);
    assert.match(
      String(warned[0].fields.meaning),
      /will not survive a restart/,
    );
    await Deno.mkdir(`${dir}/nope`);
    assert.equal(missing.save(SAMPLE), true);
    assert.equal(records.at(-1)?.msg, "state-file-writable");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// --- the checker across a restart ---------------------------------------------

const CONFIG = `
  healthchecks:
    hc:
      type: tcp
      port: 80
      interval: 1s
      timeout: 500ms
      rise: 2
      fall: 3
  backends:
    a: { address: 10.0.0.1, healthcheck: hc }
    b: { address: 10.0.0.2, healthcheck: hc }
    c: { address: 10.0.0.3, healthcheck: hc }
    d: { address: 10.0.0.4, healthcheck: hc }
    e: { address: 10.0.0.5, healthcheck: hc, enabled: false }
  frontends:
    web:
      address: 192.0.2.1
      port: 80
      pools:
        - name: primary
          backends: { a: {}, b: { weight: 50 }, c: {}, d: {} }
`;

function config(body: string): Config {
  const r = parseConfigText(`maglev:\n${body}`, "test.yaml", {
    vppEnabled: false,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

/** Never answers: the test looks at the state before any probe. */
const SILENT: Prober = {
  probe: () => new Promise<ProbeResult>(() => {}),
  close() {},
};

function checker(body: string, nowMs: number) {
  const changes: string[] = [];
  const c = new Checker({
    config: config(body),
    prober: SILENT,
    bus: new EventBus((e) => {
      throw e;
    }),
    log: logger().log,
    now: () => nowMs,
    onChange: (k) => changes.push(k),
  });
  return { c, changes };
}

Deno.test("checker: operator state and weights go out to the state file and come back after a restart", () => {
  const t0 = 1_700_000_000_000;
  const first = checker(CONFIG, t0).c;
  first.pause("a");
  first.disable("c");
  first.setWeight("web", "primary", "b", 7);
  const saved: SavedState = {
    version: STATE_FILE_VERSION,
    savedAtMs: t0,
    ...first.exportState(),
  };
  assert.deepEqual(saved.backends.a.admin?.state, "paused");
  assert.deepEqual(saved.backends.c.admin?.state, "disabled");
  // e is disabled by the config, not by an operator: nothing to save.
  assert.equal(saved.backends.e, undefined);
  assert.deepEqual(saved.weights.map((w) => [w.backend, w.weight]), [["b", 7]]);

  const { c: second } = checker(CONFIG, t0 + 60_000);
  const r = second.restoreState(parseState(encodeState(saved)));
  assert.deepEqual(r.paused, ["a"]);
  assert.deepEqual(r.disabled, ["c"]);
  assert.equal(r.weights, 1);
  assert.deepEqual(r.dropped, []);
  assert.equal(second.backend("a")?.health.state, "paused");
  assert.equal(second.backend("c")?.health.state, "disabled");
  assert.equal(second.backend("c")?.health.enabled, false);
  assert.match(
    second.backend("c")!.health.lastTransition!.reason,
    /disabled by operator at .*\(restored\)/,
  );
  const b = second.frontend("web")!.config.pools[0].members.find((m) =>
    m.backend === "b"
  );
  assert.equal(b?.weight, 7);
  // A second export carries the same operator state on.
  const again = second.exportState();
  assert.equal(again.backends.a.admin?.state, "paused");
  assert.deepEqual(again.weights.map((w) => w.weight), [7]);
});

Deno.test("checker: a recent verdict replaces unknown after a restart; an old one or one about another address does not", () => {
  const t0 = 1_700_000_000_000;
  const ident = (addr: string) => JSON.stringify([addr, true, "tcp", false]);
  const saved: SavedState = {
    version: STATE_FILE_VERSION,
    savedAtMs: t0,
    backends: {
      a: {
        verdict: { state: "up", atMs: t0 - 1000, identity: ident("10.0.0.1") },
      },
      b: {
        verdict: {
          state: "down",
          atMs: t0 - 2000,
          identity: ident("10.0.0.2"),
        },
      },
      // fall 3 × interval 1 s: 3 s is too old.
      c: {
        verdict: { state: "up", atMs: t0 - 3000, identity: ident("10.0.0.3") },
      },
      // The address changed since.
      d: {
        verdict: { state: "up", atMs: t0 - 100, identity: ident("10.9.9.9") },
      },
      gone: { admin: { state: "disabled", atMs: 1, reason: "x" } },
    },
    weights: [
      {
        frontend: "web",
        pool: "primary",
        backend: "b",
        weight: 9,
        configured: 100, // the config now says 50
        atMs: 1,
      },
      {
        frontend: "old",
        pool: "p",
        backend: "a",
        weight: 9,
        configured: 100,
        atMs: 1,
      },
    ],
  };
  const { c } = checker(CONFIG, t0);
  const r = c.restoreState(saved);
  assert.deepEqual(r.verdicts, ["a", "b"]);
  assert.equal(r.staleVerdicts, 2);
  assert.equal(r.weights, 0);
  assert.deepEqual(r.dropped, [
    "gone: no longer in the config",
    "weight of b in web/primary: configured weight changed (100 → 50)",
    "weight of a in old/p: no longer in the config",
  ]);
  const state = (n: string) => c.backend(n)?.health.state;
  assert.equal(state("a"), "up");
  assert.equal(c.backend("a")?.health.fullyUp, true);
  assert.equal(state("b"), "down");
  assert.equal(c.backend("b")?.health.fullyDown, true);
  assert.equal(state("c"), "unknown");
  assert.equal(state("d"), "unknown");
  // The frontend is evaluated from the restored verdicts at once.
  const w = Object.fromEntries(
    c.frontend("web")!.evaluation.members.map((m) => [
      m.backend,
      m.effectiveWeight,
    ]),
  );
  assert.equal(w.a, 100);
  assert.equal(w.b, 0);
  // Saved again before any probe: the restored verdict keeps its probe time.
  assert.equal(c.exportState().backends.a.verdict?.atMs, t0 - 1000);
});

Deno.test("checker: operator actions and reloads ask for a save at once", () => {
  const { c, changes } = checker(CONFIG, 1);
  c.pause("a");
  c.resume("a");
  c.setWeight("web", "primary", "a", 5);
  c.pause("a");
  c.pause("a"); // no change: no save
  assert.deepEqual(changes, ["operator", "operator", "operator", "operator"]);
  c.reload(config(CONFIG));
  assert.equal(changes.at(-1), "operator");
});
