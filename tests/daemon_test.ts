/**
 * The daemon as an operator meets it: a real process, real listeners on
 * loopback, signals, `--check` exit codes and /metrics checked by promtool.
 */
import assert from "node:assert/strict";
import {
  freePort,
  MaglevProcess,
  MAIN,
  runMaglev,
  startDaemonProcess,
} from "./helpers/maglev.ts";
import { waitFor } from "./helpers/wait.ts";
import { assertPromtoolClean } from "./helpers/promtool.ts";
import { type TempDir, tempDir } from "./helpers/tmp.ts";

function configFor(port: number, extraBackend = ""): string {
  return `maglev:
  healthchecks:
    web:
      type: http
      port: ${port}
      interval: 200ms
      timeout: 150ms
      rise: 1
      fall: 1
      params:
        path: /healthz
  backends:
    one: { address: 127.0.0.1, healthcheck: web }
${extraBackend}
  frontends:
    www:
      address: 192.0.2.1
      port: 80
      pools:
        - name: primary
          backends:
            one: {}
`;
}

let configs = 0;

/** Writes `text` as a new maglev.yaml inside `dir`; returns its path. */
async function tempConfig(dir: TempDir, text: string): Promise<string> {
  const path = `${dir.path}/${++configs}-maglev.yaml`;
  await Deno.writeTextFile(path, text);
  return path;
}

Deno.test("daemon --check: exit 0 valid, 1 parse error, 2 semantic error, clear lines", async () => {
  await using tmp = await tempDir("maglev-test-");
  const ok = await tempConfig(tmp, configFor(8080));
  let r = await runMaglev(["daemon", "--check", "--vpp=false", "--config", ok]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /OK \(1 healthchecks, 1 backends, 1 frontends\)/);
  assert.equal(r.stderr, "", "no warning for a sane config");

  // Valid but slow to a first verdict: exit 0, with a warning that says why.
  const slow = await tempConfig(
    tmp,
    configFor(8080).replace("interval: 200ms", "interval: 60s").replace(
      "maglev:\n",
      "maglev:\n  vpp:\n    lb:\n      ipv4-src-address: 192.0.2.254\n      ipv6-src-address: 2001:db8::254\n",
    ),
  );
  r = await runMaglev(["daemon", "--check", "--vpp=false", "--config", slow]);
  assert.equal(r.stderr, "", "with VPP off the warmup does not matter");
  r = await runMaglev(["daemon", "--check", "--config", slow]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /: OK /);
  assert.match(
    r.stderr,
    /^.*-maglev\.yaml: warning: vpp\.lb\.startup-max-delay: 30s is shorter than backend "one" can take to its first verdict \(fast-interval 1m \+ timeout 150ms\); the warmup waits up to 1m0\.15s/,
  );

  const parse = await tempConfig(tmp, "maglev:\n  backends:\n    x: [1, 2\n");
  r = await runMaglev(["daemon", "--check", "--vpp=false", "--config", parse]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /maglev\.yaml:\d+:\d+: /);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");

  const semantic = await tempConfig(
    tmp,
    configFor(8080).replace("healthcheck: web", "healthcheck: nope"),
  );
  r = await runMaglev([
    "daemon",
    "--check",
    "--vpp=false",
    "--config",
    semantic,
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /maglev\.backends\.one\.healthcheck/);

  // VPP on (the default) needs the GRE source addresses: a semantic error.
  r = await runMaglev(["daemon", "--check", "--config", ok]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /ipv4-src-address/);

  r = await runMaglev([
    "daemon",
    "--check",
    "--config",
    "/nonexistent/maglev.yaml",
  ]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split("\n").length, 2, r.stderr);
  assert.match(r.stderr, /cannot read config/);
});

Deno.test("daemon: bad invocations get one line and exit 2", async () => {
  let r = await runMaglev(["daemon", "--bogus"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^maglev daemon: unknown flag --bogus/);
  assert.equal(r.stderr.trim().split("\n").length, 1);
  r = await runMaglev(["daemon", "--log-level", "loud"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--log-level must be one of debug, info, warn, error/);
  r = await runMaglev(["daemon", "--vpp=false", "--metrics-addr", "nope"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /host:port/);
  r = await runMaglev(["frobnicate"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
  r = await runMaglev(["daemon", "--version"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^maglev \S+ \(commit \S+, built \S+\)/);
});

Deno.test("daemon: probes, serves promtool-clean metrics, reloads on SIGHUP, exits on SIGTERM within 2 s", async () => {
  await using tmp = await tempDir("maglev-test-");
  const backend = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("OK"),
  );
  const port = backend.addr.port;
  const metricsPort = freePort();
  const path = await tempConfig(tmp, configFor(port));
  const p = new MaglevProcess([
    "daemon",
    "--config",
    path,
    "--grpc-addr",
    `127.0.0.1:${freePort()}`,
    "--vpp=false",
    "--metrics-addr",
    `127.0.0.1:${metricsPort}`,
    "--log-format",
    "json",
  ]);
  try {
    await p.waitForRecord(
      (r) =>
        r.msg === "backend-transition" && r.backend === "one" && r.to === "up",
      "backend one up",
    );
    await p.waitForRecord(
      (r) =>
        r.msg === "frontend-transition" && r.frontend === "www" &&
        r.to === "up",
      "frontend www up",
    );
    const text = await waitFor("probe metrics", async () => {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      const t = await res.text();
      return /maglev_probe_total\{[^}]*backend="one"/.test(t) ? t : undefined;
    });
    assert.match(text, /maglev_backend_state\{backend="one",state="up"\} 1/);
    assert.match(text, /maglev_frontend_state\{frontend="www",state="up"\} 1/);
    assert.match(
      text,
      /maglev_frontend_pool_backend_effective_weight\{frontend="www",pool="primary",backend="one"\} 100/,
    );
    assert.match(text, /maglev_probe_schedule_lag_seconds_bucket/);
    assert.match(
      text,
      /maglev_backend_last_probe_age_seconds\{backend="one"\}/,
    );
    await assertPromtoolClean(text);

    // An invalid file is refused and changes nothing.
    await Deno.writeTextFile(path, "maglev:\n  nonsense: 1\n");
    p.child.kill("SIGHUP");
    await p.waitForRecord(
      (r) => r.msg === "config-reload-refused",
      "reload refused",
    );
    // A valid file adds a backend; the existing one keeps its state.
    await Deno.writeTextFile(
      path,
      configFor(port, "    two: { address: 127.0.0.1, healthcheck: web }"),
    );
    p.child.kill("SIGHUP");
    const reloaded = await p.waitForRecord(
      (r) => r.msg === "config-reloaded",
      "reload applied",
    );
    assert.deepEqual(reloaded.added, ["two"]);
    assert.equal(reloaded.unchanged, 1);
    await p.waitForRecord(
      (r) =>
        r.msg === "backend-transition" && r.backend === "two" && r.to === "up",
      "backend two up",
    );
    assert.equal(
      p.records.filter((r) =>
        r.msg === "backend-transition" && r.backend === "one"
      ).length,
      1,
      "backend one never left up across both reloads",
    );

    const { status, ms } = await p.stop("SIGTERM");
    assert.equal(status.code, 0);
    assert.ok(ms < 2000, `exit took ${ms}ms`);
  } finally {
    await p.stop("SIGKILL");
    await backend.shutdown();
  }
});

Deno.test("daemon: SIGINT also exits cleanly, and a bad config refuses to start", async () => {
  await using tmp = await tempDir("maglev-test-");
  const path = await tempConfig(tmp, configFor(9));
  const p = startDaemonProcess(path);
  await p.waitForRecord((r) => r.msg === "ready", "ready");
  const { status, ms } = await p.stop("SIGINT");
  assert.equal(status.code, 0);
  assert.ok(ms < 2000, `exit took ${ms}ms`);

  const bad = await tempConfig(tmp, configFor(9).replace("rise: 1", "rise: 0"));
  const r = await runMaglev(["daemon", "--config", bad, "--vpp=false"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /not starting: .* has semantic errors/);
});

Deno.test("daemon: a corrupt state file is logged and replaced; a pause survives a restart; an unwritable one is one warning", async () => {
  await using tmp = await tempDir("maglev-test-");
  const cfg = await tempConfig(tmp, configFor(freePort()));
  const state = `${tmp.path}/state.json`;
  await Deno.writeTextFile(state, '{"version": 1, "backends": {');
  const grpcAddr = `127.0.0.1:${freePort()}`;
  const ctl = (...args: string[]) =>
    runMaglev(["ctl", "--server", grpcAddr, ...args]);
  let p = startDaemonProcess(cfg, { grpcAddr, extra: ["--state-file", state] });
  try {
    const corrupt = await p.waitForRecord(
      (r) => r.msg === "state-file-corrupt",
      "the corrupt file reported",
    );
    assert.equal(corrupt.level, "error");
    assert.match(String(corrupt.error), /not valid JSON/);
    await p.waitForRecord((r) => r.msg === "ready", "ready despite it");
    const r = await ctl("set", "backend", "one", "pause");
    assert.equal(r.code, 0, r.stderr);
    // Written before the API answered.
    const saved = JSON.parse(await Deno.readTextFile(state));
    assert.equal(saved.backends.one.admin.state, "paused");
  } finally {
    await p.stop("SIGTERM");
  }
  p = startDaemonProcess(cfg, { grpcAddr, extra: ["--state-file", state] });
  try {
    const restored = await p.waitForRecord(
      (r) => r.msg === "state-restored",
      "the pause restored",
    );
    assert.equal(restored.paused, 1);
    const r = await ctl("--output", "json", "show", "backend", "one");
    assert.equal(JSON.parse(r.stdout).state, "paused");
  } finally {
    await p.stop("SIGTERM");
  }
  // A directory that does not exist: the daemon runs, and says why once.
  p = startDaemonProcess(cfg, {
    grpcAddr,
    extra: ["--state-file", `${tmp.path}/missing/state.json`],
  });
  try {
    await p.waitForRecord((r) => r.msg === "ready", "ready");
    await runMaglev([
      "ctl",
      "--server",
      grpcAddr,
      "set",
      "backend",
      "one",
      "pause",
    ]);
    await runMaglev([
      "ctl",
      "--server",
      grpcAddr,
      "set",
      "backend",
      "one",
      "resume",
    ]);
    await p.waitForRecord(
      (r) => r.msg === "state-file-unwritable",
      "the warning",
    );
    assert.equal(
      p.records.filter((r) => r.msg === "state-file-unwritable").length,
      1,
    );
  } finally {
    await p.stop("SIGTERM");
  }
});

Deno.test("daemon: a config path that turns into a FIFO is refused at once; the next good file reloads", async () => {
  await using tmp = await tempDir("maglev-test-");
  const cfg = await tempConfig(tmp, configFor(freePort()));
  const good = await Deno.readTextFile(cfg);
  const grpcAddr = `127.0.0.1:${freePort()}`;
  const p = startDaemonProcess(cfg, { grpcAddr });
  try {
    await p.waitForRecord((r) => r.msg === "ready", "ready");
    await Deno.remove(cfg);
    const mk = await new Deno.Command("mkfifo", { args: [cfg] }).output();
    assert.equal(mk.code, 0);
    // Through the API: an answer, not a hang (runMaglev is bounded too).
    const r = await runMaglev([
      "ctl",
      "--server",
      grpcAddr,
      "config",
      "reload",
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /not a regular file/);
    await Deno.remove(cfg);
    await Deno.writeTextFile(
      cfg,
      good.replace("interval: 200ms", "interval: 300ms"),
    );
    const ok = await runMaglev([
      "ctl",
      "--server",
      grpcAddr,
      "config",
      "reload",
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    await p.waitForRecord(
      (r) => r.msg === "config-reloaded",
      "the good file applied",
    );
  } finally {
    await p.stop("SIGTERM");
  }
});

/** Probes started at least 250 ms late, from /metrics text. */
function lateProbes(text: string): number {
  let all = 0, inTime = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("maglev_probe_schedule_lag_seconds_count ")) {
      all = Number(line.split(" ")[1]);
    }
    if (
      line.startsWith('maglev_probe_schedule_lag_seconds_bucket{le="0.25"}')
    ) {
      inTime = Number(line.split(" ")[1]);
    }
  }
  return all - inTime;
}

Deno.test("daemon: a SIGHUP with 32,000 broken lines is judged off the event loop: no probe starts late", async () => {
  await using tmp = await tempDir("maglev-test-");
  const cfg = await tempConfig(tmp, configFor(freePort()));
  const metrics = `127.0.0.1:${freePort()}`;
  const p = new MaglevProcess([
    "daemon",
    "--config",
    cfg,
    "--vpp=false",
    "--grpc-addr",
    `127.0.0.1:${freePort()}`,
    "--metrics-addr",
    metrics,
    "--log-format",
    "json",
  ]);
  try {
    await p.waitForRecord((r) => r.msg === "ready", "ready");
    const scrape = async () =>
      await (await fetch(`http://${metrics}/metrics`)).text();
    await waitFor(
      "probes running",
      async () =>
        (await scrape()).includes("maglev_probe_schedule_lag_seconds_count") ||
        undefined,
    );
    const before = lateProbes(await scrape());
    const broken = Array.from({ length: 32_000 }, (_, i) => `\tk${i}: 1`);
    await Deno.writeTextFile(cfg, `maglev:\n${broken.join("\n")}\n`);
    p.child.kill("SIGHUP");
    await p.waitForRecord(
      (r) => r.msg === "config-reload-refused",
      "the broken file refused",
      20_000,
    );
    // Probes due while it was parsed (every 200 ms) ran on time.
    assert.equal(lateProbes(await scrape()) - before, 0);
  } finally {
    await p.stop("SIGTERM");
  }
});

Deno.test("daemon: the original's --vpp-api-addr and --vpp-stats-addr: empty turns VPP off; a socket path keeps it on", async () => {
  await using tmp = await tempDir("maglev-test-");
  // No vpp.lb source addresses: valid only with VPP off.
  const cfg = await tempConfig(tmp, configFor(8080));
  let r = await runMaglev([
    "daemon",
    "--check",
    "--vpp-api-addr",
    "",
    "--vpp-stats-addr",
    "/run/vpp/stats.sock",
    "--config",
    cfg,
  ]);
  assert.equal(r.code, 0, r.stderr);
  r = await runMaglev(["daemon", "--check", "--config", cfg], {
    MAGLEV_VPP_API_ADDR: "/run/vpp/api.sock",
  });
  assert.equal(r.code, 2, "VPP stays on: the GRE source addresses are needed");
  assert.match(r.stderr, /ipv4-src-address/);
});

Deno.test("daemon: log records go to stdout as JSON lines, as maglevd's did; stderr stays empty", async () => {
  await using tmp = await tempDir("maglev-test-");
  const path = await tempConfig(tmp, configFor(9));
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "daemon",
      "--config",
      path,
      "--grpc-addr",
      `127.0.0.1:${freePort()}`,
      "--vpp-api-addr",
      "",
      "--metrics-addr",
      "",
      "--state-file",
      `${tmp.path}/state.json`,
    ],
    // No --log-format: a pipe is not a terminal, so JSON is the default.
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines: string[] = [];
  const reader = child.stdout.pipeThrough(new TextDecoderStream())
    .getReader();
  let buf = "";
  const deadline = Date.now() + 15_000;
  try {
    while (!lines.some((l) => l.includes('"msg":"ready"'))) {
      assert.ok(Date.now() < deadline, `no ready record:\n${lines.join("\n")}`);
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      const parts = buf.split("\n");
      buf = parts.pop() ?? "";
      lines.push(...parts);
    }
  } finally {
    child.kill("SIGTERM");
  }
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
  }
  lines.push(...buf.split("\n").filter(Boolean));
  assert.equal((await child.status).code, 0);
  assert.equal(await stderr, "");
  const records = lines.map((l) => JSON.parse(l) as { msg: string });
  const msgs = records.map((r) => r.msg);
  assert.equal(msgs[0], "starting");
  assert.ok(msgs.includes("ready"), msgs.join(" "));
  assert.ok(
    msgs.includes("stopped") || msgs.includes("stopping"),
    msgs.join(" "),
  );
});
