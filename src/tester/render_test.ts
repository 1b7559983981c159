import assert from "node:assert/strict";
import type { Anomaly } from "./anomaly.ts";
import type { VipView } from "./model.ts";
import {
  fitLine,
  formatClock,
  formatMs,
  formatSpan,
  type FrameView,
  renderFrame,
} from "./render.ts";
import type { Target } from "./targets.ts";

const PLAIN = { color: false, utcOffsetMin: 0 };
const NOW = Date.UTC(2026, 0, 2, 12, 34, 56, 789);

function target(n: number): Target {
  return {
    key: `http://192.0.2.${n}:80`,
    frontends: [`web${n}`],
    address: `192.0.2.${n}`,
    family: 4,
    port: 80,
    scheme: "http",
  };
}

function vip(n: number, extra: Partial<VipView> = {}): VipView {
  return {
    target: target(n),
    probes: 1234,
    failures: 2,
    last: {
      ok: true,
      code: "L7OK",
      text: "HTTP 200",
      status: 200,
      header: "b1",
      durationMs: 0.5,
      atMs: NOW - 50,
    },
    latency: { count: 300, p50: 0.42, p95: 0.9, p99: 12.34, max: 184.2 },
    tally: [
      {
        value: "b1",
        total: 612,
        recent: 20,
        share: 0.5,
        lastMs: NOW,
        state: "receiving",
      },
      {
        value: "b2",
        total: 600,
        recent: 20,
        share: 0.5,
        lastMs: NOW,
        state: "receiving",
      },
      {
        value: "b3",
        total: 20,
        recent: 0,
        share: 0,
        lastMs: NOW - 12_000,
        state: "drained",
      },
    ],
    ...extra,
  };
}

function frame(vips: VipView[], anomalies: Anomaly[] = []): FrameView {
  return {
    nowMs: NOW,
    startedMs: NOW - 185_000,
    settings: {
      intervalMs: 100,
      timeoutMs: 1000,
      keepAlive: false,
      header: "X-Backend",
      rollingWindowMs: 30_000,
      skipped: 1,
    },
    vips,
    anomalies,
  };
}

const refused: Anomaly = {
  vip: "http://192.0.2.1:80",
  frontends: ["web1"],
  kind: "network-error",
  text: "connection refused",
  firstMs: NOW - 3000,
  lastMs: NOW - 1000,
  count: 21,
};

Deno.test("render: title, VIP row with figures, tally with drained backend", () => {
  const lines = renderFrame(frame([vip(1)], [refused]), {
    columns: 140,
    rows: 20,
  }, PLAIN);
  assert.equal(lines.length, 20);
  assert.match(
    lines[0],
    /^maglev tester · 1 VIP · every 100ms ±10% · timeout 1s · new connection per probe +12:34:56$/,
  );
  assert.equal(lines[0].length, 140);
  assert.match(lines[1], /running 3m05s/);
  assert.match(lines[1], /tally: X-Backend/);
  assert.match(lines[1], /1 frontend skipped/);
  assert.match(
    lines[3],
    /^VIP +FRONTEND +PROBES +FAIL +LAST +p50 +p95 +p99 +max$/,
  );
  assert.match(
    lines[4],
    /^http:\/\/192\.0\.2\.1:80 +web1 +1234 +2 +HTTP 200 +0\.42 +0\.90 +12\.3 +184$/,
  );
  assert.equal(
    lines[5],
    "    X-Backend:  b1 612 50%  b2 600 50%  b3 20 drained 12s",
  );
  assert.equal(lines[7], "Anomalies (newest first)");
  assert.equal(
    lines[8],
    "12:34:53.789  network error  http://192.0.2.1:80 (web1)  connection refused  ×21 until 12:34:55.789",
  );
  assert.ok(lines.slice(9).every((l) => l === ""));
});

Deno.test("render: nothing wider than the screen, colour or not", () => {
  const views = [vip(1), vip(2, { failures: 0 })];
  for (const columns of [20, 33, 60, 200]) {
    for (const color of [false, true]) {
      const lines = renderFrame(frame(views, [refused]), {
        columns,
        rows: 30,
      }, { color, utcOffsetMin: 0 });
      for (const l of lines) {
        // deno-lint-ignore no-control-regex
        const visible = l.replace(/\x1b\[[0-9;]*m/g, "");
        assert.ok(
          Array.from(visible).length <= columns,
          `${columns}: ${visible}`,
        );
      }
    }
  }
});

Deno.test("render: colours mark receiving green, drained dim, failures red", () => {
  const lines = renderFrame(frame([vip(1)]), { columns: 140, rows: 12 }, {
    color: true,
    utcOffsetMin: 0,
  });
  assert.ok(lines[5].includes("\x1b[32mb1 612 50%\x1b[0m"));
  assert.ok(lines[5].includes("\x1b[2mb3 20 drained 12s\x1b[0m"));
  assert.ok(lines[4].includes("\x1b[31m      2\x1b[0m"), lines[4]);
});

Deno.test("render: too many VIPs for the screen say how many are hidden", () => {
  const views = Array.from({ length: 20 }, (_, i) => vip(i + 1));
  const lines = renderFrame(frame(views, [refused]), {
    columns: 120,
    rows: 16,
  }, PLAIN);
  assert.equal(lines.length, 16);
  const more = lines.find((l) => l.startsWith("…"));
  assert.ok(more, lines.join("\n"));
  const shown = lines.filter((l) => l.startsWith("http://")).length;
  assert.match(more, new RegExp(`^… ${20 - shown} more VIPs not shown`));
  assert.ok(lines.includes("Anomalies (newest first)"));
  assert.ok(lines.some((l) => l.includes("connection refused")));
});

Deno.test("render: a VIP not probed yet, no answers yet, no anomalies", () => {
  const lines = renderFrame(
    frame([vip(1, {
      probes: 0,
      failures: 0,
      last: undefined,
      latency: undefined,
      tally: [],
    })]),
    { columns: 120, rows: 10 },
    PLAIN,
  );
  assert.match(
    lines[4],
    /^http:\/\/192\.0\.2\.1:80 +web1 +0 +0 +- +- +- +- +-$/,
  );
  assert.equal(lines[5], "    X-Backend: no answers yet");
  assert.equal(lines[8], "none");
});

Deno.test("render: helpers", () => {
  assert.equal(formatMs(0.4242), "0.42");
  assert.equal(formatMs(12.34), "12.3");
  assert.equal(formatMs(184.4), "184");
  assert.equal(formatMs(undefined), "-");
  assert.equal(formatSpan(950), "950ms");
  assert.equal(formatSpan(12_400), "12s");
  assert.equal(formatSpan(185_000), "3m05s");
  assert.equal(formatSpan(7_380_000), "2h03m");
  assert.equal(formatClock(NOW, 0, true), "12:34:56.789");
  assert.equal(formatClock(NOW, 120), "14:34:56");
  assert.equal(fitLine([{ text: "abcdef" }], 4, false), "abc…");
  assert.equal(
    fitLine([{ text: "ab", sgr: "1" }, { text: "cd" }], 3, true),
    "\x1b[1mab\x1b[0m…",
  );
});
