import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import {
  BackendInfoSchema,
  EventSchema,
  FrontendInfoSchema,
  HealthCheckInfoSchema,
  ListBackendsResponseSchema,
  SyncVPPLBStateResponseSchema,
} from "../api/gen/maglev/v1/maglev_pb.ts";
import {
  errorLine,
  formatAge,
  formatDuration,
  formatTime,
  jsonLine,
  jsonText,
  keyValues,
  PLAIN,
  renderBackend,
  renderBackends,
  renderEvent,
  renderFrontend,
  renderFrontends,
  renderHealthChecks,
  renderSync,
  stateWord,
  stripAnsi,
  type Style,
  table,
  visibleWidth,
} from "./render.ts";

const COLOR: Style = { color: true };
const NOW_MS = 1_800_000_000_000;
const ns = (msAgo: number) => BigInt(NOW_MS - msAgo) * 1_000_000n;

const backend = (name: string, state: string) =>
  create(BackendInfoSchema, {
    name,
    address: `192.0.2.${name.length}`,
    state,
    enabled: state !== "disabled",
    healthcheck: "hc",
    healthCounter: state === "up" ? 2 : 0,
    rise: 2,
    fall: 3,
    lastProbe: {
      ok: state === "up",
      code: state === "up" ? "L7OK" : "L7STS",
      text: state === "up" ? "HTTP 200" : "HTTP 503",
      atUnixNs: ns(1500),
    },
    transitions: [{
      from: "unknown",
      to: state,
      atUnixNs: ns(65_000),
      code: "L7OK",
      reason: "HTTP 200",
    }],
    frontends: ["web"],
  });

Deno.test("stateWord: up green, down red, unknown/paused yellow, disabled grey; plain without colour", () => {
  assert.equal(stateWord(COLOR, "up"), "\x1b[32mup\x1b[0m");
  assert.equal(stateWord(COLOR, "down"), "\x1b[31mdown\x1b[0m");
  assert.equal(stateWord(COLOR, "unknown"), "\x1b[33munknown\x1b[0m");
  assert.equal(stateWord(COLOR, "paused"), "\x1b[33mpaused\x1b[0m");
  assert.equal(stateWord(COLOR, "disabled"), "\x1b[90mdisabled\x1b[0m");
  assert.equal(stateWord(PLAIN, "up"), "up");
  assert.equal(errorLine(COLOR, "x"), "\x1b[31merror: x\x1b[0m");
  assert.equal(errorLine(PLAIN, "x"), "error: x");
});

Deno.test("table: columns align on visible width; colour codes do not count", () => {
  const rows = [
    ["a", stateWord(COLOR, "up"), "x"],
    ["bbbbbb", stateWord(COLOR, "disabled"), "y"],
    ["cc", stateWord(COLOR, "unknown"), "z"],
  ];
  const out = table(COLOR, ["NAME", "STATE", "NOTE"], rows);
  const lines = stripAnsi(out).split("\n");
  assert.deepEqual(lines, [
    "NAME    STATE     NOTE",
    "a       up        x",
    "bbbbbb  disabled  y",
    "cc      unknown   z",
  ]);
  // The coloured text is the same table once the codes are removed.
  assert.equal(
    stripAnsi(out),
    table(PLAIN, ["NAME", "STATE", "NOTE"], rows.map((r) => r.map(stripAnsi))),
  );
  assert.equal(visibleWidth(stateWord(COLOR, "up")), 2);
  assert.ok(out.includes("\x1b[32mup\x1b[0m"));
});

Deno.test("table: no trailing blanks, indent applied", () => {
  const out = table(PLAIN, ["A", "B"], [["x", ""], ["yy", "z"]], "  ");
  assert.deepEqual(out.split("\n"), ["  A   B", "  x", "  yy  z"]);
  assert.equal(
    keyValues(PLAIN, [["state", "up"], ["address", ""]]),
    "state    up\naddress",
  );
});

Deno.test("formatDuration and formatAge", () => {
  assert.equal(formatDuration(80), "80ms");
  assert.equal(formatDuration(1500), "1.5s");
  assert.equal(formatDuration(2000), "2s");
  assert.equal(formatDuration(12_400), "12s");
  assert.equal(formatDuration(185_000), "3m05s");
  assert.equal(formatDuration(2 * 3600_000 + 600_000), "2h10m");
  assert.equal(formatDuration(4 * 86400_000 + 3 * 3600_000), "4d03h");
  assert.equal(formatAge(ns(65_000), NOW_MS), "1m05s ago");
  assert.equal(formatAge(0n, NOW_MS), "-");
  assert.equal(formatTime(0n), "-");
  assert.match(formatTime(ns(0)), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.000$/);
});

Deno.test("renderBackends: one aligned row per backend", () => {
  const out = renderBackends(
    PLAIN,
    [backend("a", "up"), backend("web-2", "down")],
    NOW_MS,
  );
  assert.equal(
    out,
    [
      "BACKEND  ADDRESS    STATE  HEALTH  CHECK  LAST PROBE      PROBED    SINCE      FRONTENDS",
      "a        192.0.2.1  up     2/4     hc     L7OK HTTP 200   1.5s ago  1m05s ago  web",
      "web-2    192.0.2.5  down   0/4     hc     L7STS HTTP 503  1.5s ago  1m05s ago  web",
    ].join("\n"),
  );
  assert.equal(renderBackends(PLAIN, [], NOW_MS), "no backends configured");
});

Deno.test("renderBackend: details, last probe and transition history", () => {
  const b = backend("a", "paused");
  b.pausedFrom = "up";
  const out = renderBackend(PLAIN, b, NOW_MS);
  assert.match(out, /^backend +a$/m);
  assert.match(
    out,
    /^state +paused \(paused from up\), since .* \(1m05s ago\)$/m,
  );
  assert.match(out, /^health +0\/4 \(rise 2, fall 3; up at 2 or more\)$/m);
  assert.match(
    out,
    /^last probe +failed L7STS HTTP 503, at .* \(1\.5s ago\)$/m,
  );
  assert.match(out, /^transitions \(oldest first\)$/m);
  assert.match(out, /^ {2}TIME +FROM +TO +CODE +REASON$/m);
  assert.match(out, /^ {2}\S+ \S+ +unknown +paused +L7OK +HTTP 200$/m);
});

Deno.test("renderFrontend: pools hierarchically with configured and effective weights", () => {
  const f = create(FrontendInfoSchema, {
    name: "web",
    address: "192.0.2.1/32",
    protocol: "tcp",
    port: 80,
    state: "up",
    activePool: "primary",
    encap: "gre4",
    srcIpSticky: true,
    flushOnDown: true,
    description: "test",
    pools: [
      {
        name: "primary",
        backends: [
          { name: "a", weight: 100, effectiveWeight: 100, state: "up" },
          {
            name: "b",
            weight: 7,
            effectiveWeight: 0,
            state: "disabled",
            flush: true,
            weightOverridden: true,
          },
        ],
      },
      {
        name: "backup",
        backends: [{ name: "c", weight: 50, effectiveWeight: 0, state: "up" }],
      },
    ],
  });
  assert.equal(
    renderFrontend(PLAIN, f),
    [
      "frontend       web",
      "description    test",
      "address        192.0.2.1/32",
      "protocol       tcp",
      "port           80",
      "encap          gre4",
      "state          up",
      "active pool    primary",
      "src-ip-sticky  yes",
      "flush-on-down  yes",
      "pool primary (active)",
      "  BACKEND  STATE     WEIGHT  EFFECTIVE  FLUSH",
      "  a        up        100     100        no",
      "  b        disabled  7*      0          yes",
      "pool backup",
      "  BACKEND  STATE  WEIGHT  EFFECTIVE  FLUSH",
      "  c        up     50      0          no",
      "* weight set at run time (set frontend ... weight)",
    ].join("\n"),
  );
  assert.match(
    renderFrontends(PLAIN, [f]),
    /^web +192\.0\.2\.1\/32 +tcp +80 +up +primary +2\/3 +test$/m,
  );
});

Deno.test("renderHealthChecks", () => {
  const out = renderHealthChecks(PLAIN, [create(HealthCheckInfoSchema, {
    name: "hc",
    type: "tcp",
    tls: true,
    port: 443,
    intervalMs: 2000,
    fastIntervalMs: 500,
    downIntervalMs: 30000,
    timeoutMs: 1000,
    rise: 2,
    fall: 3,
    backends: ["a", "b"],
  })]);
  assert.match(out, /^hc +tcp\+tls +443 +2s +500ms +30s +1s +2 +3 +a,b$/m);
});

Deno.test("renderEvent: one line per event with time, kind, name, from → to, reason", () => {
  const be = create(EventSchema, {
    seq: 5n,
    event: {
      case: "backend",
      value: {
        backend: "c",
        transition: {
          from: "up",
          to: "down",
          atUnixNs: ns(0),
          code: "L7STS",
          reason: "HTTP 503",
        },
      },
    },
  });
  assert.match(
    renderEvent(PLAIN, be),
    /^\S+ \S+ {2}backend {3}c {2}up → down {2}L7STS HTTP 503$/,
  );
  assert.ok(renderEvent(COLOR, be).includes("\x1b[31mdown\x1b[0m"));
  const fe = create(EventSchema, {
    event: {
      case: "frontend",
      value: {
        frontend: "web",
        from: "up",
        to: "up",
        atUnixNs: ns(0),
        info: { activePool: "primary" },
      },
    },
  });
  assert.match(
    renderEvent(PLAIN, fe),
    /^\S+ \S+ {2}frontend {2}web {2}up → up {2}snapshot {2}active pool primary$/,
  );
  const le = create(EventSchema, {
    event: {
      case: "log",
      value: {
        atUnixNs: ns(0),
        level: "info",
        msg: "backend-transition",
        attrs: { backend: "c", reason: "HTTP 503" },
      },
    },
  });
  assert.match(
    renderEvent(PLAIN, le),
    /^\S+ \S+ {2}log {7}info {3}backend-transition {2}backend=c reason="HTTP 503"$/,
  );
});

Deno.test("JSON output is the API message in protobuf JSON, with defaults", () => {
  const r = create(ListBackendsResponseSchema, {
    backends: [backend("a", "up")],
  });
  const parsed = JSON.parse(jsonText(ListBackendsResponseSchema, r));
  assert.equal(parsed.backends[0].name, "a");
  assert.equal(parsed.backends[0].pausedFrom, "", "implicit fields included");
  assert.equal(typeof parsed.backends[0].lastProbe.atUnixNs, "string");
  assert.ok(!jsonText(ListBackendsResponseSchema, r).includes("\x1b"));
  const line = jsonLine(EventSchema, create(EventSchema, { seq: 1n }));
  assert.ok(!line.includes("\n"));
  assert.equal(JSON.parse(line).seq, "1");
});

Deno.test("renderSync", () => {
  assert.equal(
    renderSync(
      PLAIN,
      create(SyncVPPLBStateResponseSchema, {
        operations: ["add vip 192.0.2.1/32"],
        dryRun: true,
      }),
    ),
    "dry run: would send 1 operation:\n  add vip 192.0.2.1/32",
  );
});
