import assert from "node:assert/strict";
import {
  formatJson,
  formatText,
  Logger,
  type LogRecord,
  routeConsoleTo,
} from "./log.ts";

Deno.test("log: level filter on the primary sink, extra sinks at their own level", () => {
  const lines: string[] = [];
  const log = new Logger({
    level: "info",
    format: "json",
    writeLine: (l) => lines.push(l),
    now: () => 0,
  });
  assert.equal(log.enabled("debug"), false);
  log.debug("probe", { backend: "a" });
  assert.equal(lines.length, 0);
  const seen: LogRecord[] = [];
  const remove = log.addSink({ level: "debug", write: (r) => seen.push(r) });
  assert.equal(log.enabled("debug"), true);
  log.debug("probe", { backend: "a" });
  log.info("backend-transition", { backend: "a", from: "up", to: "down" });
  assert.equal(seen.length, 2);
  assert.equal(lines.length, 1);
  assert.deepEqual(JSON.parse(lines[0]), {
    time: "1970-01-01T00:00:00.000Z",
    level: "info",
    msg: "backend-transition",
    backend: "a",
    from: "up",
    to: "down",
  });
  remove();
  assert.equal(log.enabled("debug"), false);
});

Deno.test("log: text format quotes values with spaces", () => {
  const r: LogRecord = {
    timeMs: 0,
    level: "warn",
    msg: "probe-failed",
    fields: {
      text: "connection refused",
      code: "L4CON",
      n: 3,
      e: new Error("x y"),
    },
  };
  assert.equal(
    formatText(r),
    '1970-01-01T00:00:00.000Z WARN  probe-failed text="connection refused" code=L4CON n=3 e="x y"',
  );
  assert.match(formatJson(r), /"e":"x y"/);
});

Deno.test("log: a reader that falls behind still gets every line whole", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      new URL("./testdata/long_lines_main.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  // Read in small pieces with pauses, so the pipe is full most of the time.
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (let reads = 0; reads < 100_000; reads++) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    if (reads % 8 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  assert.equal((await child.status).code, 0);
  const lines = text.trimEnd().split("\n");
  assert.equal(lines.length, 50);
  lines.forEach((l, i) => assert.equal(JSON.parse(l).i, i));
});

Deno.test("log: what libraries print on console.error/warn becomes one record each, until put back", () => {
  const lines: string[] = [];
  const log = new Logger({
    level: "info",
    format: "json",
    writeLine: (l) => lines.push(l),
  });
  const restore = routeConsoleTo(
    log,
    (text) =>
      text.includes("calm")
        ? { level: "debug", msg: "quiet" }
        : { level: "warn", msg: "library-message" },
  );
  try {
    console.error("handler failed", new Error("multi\nline"));
    console.warn("keep calm");
  } finally {
    restore();
  }
  assert.equal(lines.length, 1, "the debug one is below info");
  const r = JSON.parse(lines[0]);
  assert.equal(r.msg, "library-message");
  assert.equal(r.level, "warn");
  assert.equal(r.text, "handler failed Error: multi\nline");
  assert.equal(r.stack, undefined, "no stack trace at info");
  assert.notEqual(console.error, undefined);
});
