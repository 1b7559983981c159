import assert from "node:assert/strict";
import { formatJson, formatText, Logger, type LogRecord } from "./log.ts";

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
