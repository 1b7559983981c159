import assert from "node:assert/strict";
import { UsageError } from "../cli/flags.ts";
import {
  DEFAULT_CONFIG,
  DEFAULT_URI,
  parseTesterOptions,
  TESTER_FLAGS,
  testerHelp,
} from "./flags.ts";

Deno.test("tester flags: defaults", () => {
  const o = parseTesterOptions([], {});
  assert.deepEqual(o.configs, [DEFAULT_CONFIG]);
  assert.equal(o.uri, DEFAULT_URI);
  assert.equal(o.uri, "/.well-known/ipng/healthz");
  assert.equal(o.intervalMs, 100);
  assert.equal(o.timeoutMs, 1000);
  assert.equal(o.reportIntervalMs, 1000);
  assert.equal(o.durationMs, undefined);
  assert.equal(o.keepAlive, false);
  assert.equal(o.insecure, false);
  assert.equal(o.header, undefined);
  assert.equal(o.host, undefined);
  assert.equal(o.output, "auto");
  assert.deepEqual([...o.rules.httpPorts], [80]);
  assert.deepEqual([...o.rules.httpsPorts], [443]);
  assert.equal(o.rules.anyPort, undefined);
  assert.equal(o.rules.filter, undefined);
});

Deno.test("tester flags: repeated --config, Go-style dashes, env", () => {
  const o = parseTesterOptions([
    "-config",
    "/a.yaml",
    "--config=/b.yaml",
    "--config",
    "/a.yaml",
    "-keepalive",
    "--insecure=true",
    "--filter",
    "^web",
    "--header",
    "X-Backend",
    "--host",
    "www.example.com",
    "--uri",
    "/healthz",
    "--interval",
    "250ms",
    "--timeout=2s",
    "--duration",
    "1m",
    "--report-interval",
    "5s",
    "--http-ports",
    "80,8080",
    "--https-ports",
    "443, 8443",
    "--any-port",
    "22",
    "--output",
    "json",
  ], {});
  assert.deepEqual(o.configs, ["/a.yaml", "/b.yaml"]);
  assert.equal(o.keepAlive, true);
  assert.equal(o.insecure, true);
  assert.ok(o.rules.filter?.test("web-tls"));
  assert.equal(o.header, "X-Backend");
  assert.equal(o.host, "www.example.com");
  assert.equal(o.uri, "/healthz");
  assert.equal(o.intervalMs, 250);
  assert.equal(o.timeoutMs, 2000);
  assert.equal(o.durationMs, 60_000);
  assert.equal(o.reportIntervalMs, 5000);
  assert.deepEqual([...o.rules.httpPorts], [80, 8080]);
  assert.deepEqual([...o.rules.httpsPorts], [443, 8443]);
  assert.equal(o.rules.anyPort, 22);
  assert.equal(o.output, "json");
  const env = parseTesterOptions([], { MAGLEV_CONFIG: "/env.yaml" });
  assert.deepEqual(env.configs, ["/env.yaml"]);
  // An empty port list is allowed: every VIP then gets a TCP connect.
  assert.equal(
    parseTesterOptions(["--http-ports="], {}).rules.httpPorts.size,
    0,
  );
});

Deno.test("tester flags: mistakes are usage errors that say what to fix", () => {
  const cases: [string[], RegExp][] = [
    [["extra"], /unexpected argument "extra"/],
    [["--filter", "("], /--filter: /],
    [["--interval", "fast"], /--interval: /],
    [["--interval", "0"], /--interval must be at least 1ms/],
    [["--timeout", "0"], /--timeout must be more than 0/],
    [["--duration", "0s"], /--duration must be more than 0/],
    [["--report-interval", "1ms"], /at least 10ms/],
    [["--http-ports", "80,x"], /--http-ports: "x" is not a port/],
    [["--https-ports", "70000"], /not a port/],
    [["--http-ports", "443"], /port 443 is in both/],
    [["--any-port", "0"], /--any-port: "0" is not a port/],
    [["--uri", "healthz"], /--uri must be a path/],
    [["--header", "X Backend"], /not a header name/],
    [["--output", "xml"], /--output must be one of auto, tui, json/],
    [["--nope"], /unknown flag --nope/],
  ];
  for (const [args, re] of cases) {
    assert.throws(
      () => parseTesterOptions(args, {}),
      (e: unknown) => e instanceof UsageError && re.test(e.message),
      args.join(" "),
    );
  }
});

Deno.test("tester flags: --help lists every flag", () => {
  const help = testerHelp();
  for (const f of TESTER_FLAGS) assert.ok(help.includes(`--${f.name}`), f.name);
  assert.match(help, /maglevt/);
  assert.match(help, /repeatable/);
});
