/**
 * Probe load benchmark: N backends on loopback, each with its own health
 * check and port, probed at 1 s by the maglev daemon (and, side by side, by
 * HAProxy 2.6 with `nbthread 1`), against one sink.
 *
 * ```sh
 * deno run -A tests/bench/probe_load.ts --type http --backends 5000 --seconds 30 --warmup 20
 * deno run -A tests/bench/probe_load.ts --type tcp --backends 1000 --checker both --sink nginx
 * ```
 *
 * Flags (defaults in brackets):
 * - `--type http|tcp` [http], `--backends N` [1000], `--interval MS` [1000],
 *   `--timeout MS` [500]
 * - `--warmup S` [20], `--seconds S` [30]: warm-up, then the measured window
 * - `--checker maglev|haproxy|both` [maglev]: `both` runs maglev, then
 *   HAProxy, against the same sink (never at the same time)
 * - `--sink deno|nginx|auto` [auto]: nginx if installed, else `sink.ts`
 * - `--base-port P` [20000]: sink ports are P..P+N-1 (keep them below the
 *   ephemeral range, 32768)
 * - `--cpu-prof DIR`: run the daemon under `deno run --cpu-prof` (profile
 *   written to DIR when it stops)
 * - `--v8-flags FLAGS`: extra `--v8-flags=` for the daemon
 * - `--append FILE`: also append the JSON line(s) to FILE
 * - `--snapshot`: run the daemon from a copy of `src/` taken at start, so
 *   edits to the working tree during the run cannot change what is measured
 * - `--watchers N` [0]: hold N WatchEvents streams open on the daemon (each
 *   on its own connection) during warm-up and window; `--watch-log LEVEL`
 *   also subscribes them to logs at that level
 *
 * Over the window it measures probes/s (at the sink; from the checker's own
 * counter; from the kernel's TCP ActiveOpens), the checker's CPU per probe
 * (utime+stime of `/proc/PID/stat`, all threads, over the window, divided by
 * the probes), p50/p99 probe-start lateness (delta of the
 * `maglev_probe_schedule_lag_seconds` histogram over the window, linearly
 * interpolated inside buckets), and VmRSS / VmHWM. It prints a Markdown
 * table row and a JSON line per checker, and stops everything it started on
 * every path (finally, signals, and a hard time limit).
 *
 * Not a test or bench file: the name matches neither `*_test.ts` nor
 * `*_bench.ts`.
 * @module
 */
import { connectMaglev, type MaglevConnection } from "../../src/api/client.ts";
import {
  bucketDelta,
  Child,
  Cleanup,
  freePort,
  guard,
  haveCommand,
  histogramBuckets,
  histogramQuantile,
  httpGet,
  jsonLine,
  type LoadResult,
  MARKDOWN_HEADER,
  markdownRow,
  numFlag,
  parseArgs,
  readActiveOpens,
  readCpu,
  readCtxSwitches,
  readMachineCpu,
  readMemory,
  ROOT,
  type Sink,
  type SinkMode,
  sleep,
  snapshotSource,
  startDenoSink,
  startNginxSink,
  sumMetric,
  treeHash,
  withNofile,
} from "./_lib.ts";

/** Settings of one benchmark run. */
export interface LoadOptions {
  type: SinkMode;
  backends: number;
  intervalMs: number;
  timeoutMs: number;
  warmupS: number;
  seconds: number;
  basePort: number;
  cpuProfDir?: string;
  v8Flags?: string;
  /** Run the daemon from a copy of src/ taken at start (see `snapshotSource`). */
  snapshot: boolean;
  /** A snapshot taken by the caller: its `src/main.ts` and hash (wins over `snapshot`). */
  source?: { main: string; hash: string };
  /** WatchEvents streams held open on maglev during warm-up and window. */
  watchers?: number;
  /** With watchers: also subscribe to logs at this level ("" = no logs). */
  watchLog?: string;
}

/** A running checker process and how to read its own metrics, if it has any. */
interface RunningChecker {
  readonly name: "maglev" | "haproxy";
  readonly child: Child;
  /** The daemon's /metrics text; undefined for HAProxy. */
  readonly scrape?: () => Promise<string>;
  /** HAProxy: failed checks so far (sum of `chkfail` in `show stat`). */
  readonly failedChecks?: () => Promise<number>;
  /** maglev: the gRPC port, for WatchEvents load. */
  readonly grpcPort?: number;
}

/** The maglev YAML for N backends, each with its own check and port. */
export function maglevConfig(o: LoadOptions, ports: readonly number[]): string {
  const dur = (ms: number) => `${ms}ms`;
  const hc: string[] = [];
  const be: string[] = [];
  for (let i = 0; i < o.backends; i++) {
    const params = o.type === "http" ? ", params: {path: /healthz}" : "";
    hc.push(
      `    hc-${i}: {type: ${o.type}, port: ${ports[i]}, interval: ${
        dur(o.intervalMs)
      }, timeout: ${dur(o.timeoutMs)}, rise: 2, fall: 3${params}}`,
    );
    be.push(`    be-${i}: {address: 127.0.0.1, healthcheck: hc-${i}}`);
  }
  return `maglev:
  healthchecks:
${hc.join("\n")}
  backends:
${be.join("\n")}
`;
}

/** The HAProxy 2.6 config: one thread, one backend section with N servers. */
export function haproxyConfig(
  o: LoadOptions,
  ports: readonly number[],
  frontPort: number,
  statsSocket: string,
): string {
  const servers: string[] = [];
  for (let i = 0; i < o.backends; i++) {
    servers.push(`  server s${i} 127.0.0.1:${ports[i]}`);
  }
  const secs = o.intervalMs % 1000 === 0
    ? `${o.intervalMs / 1000}s`
    : `${o.intervalMs}ms`;
  return `global
  nbthread 1
  maxconn 4000
  stats socket ${statsSocket} mode 600 level user

defaults
  mode ${o.type}
  timeout connect ${o.timeoutMs}ms
  timeout check ${o.timeoutMs}ms
  timeout client 5s
  timeout server 5s

frontend fe
  bind 127.0.0.1:${frontPort}
  default_backend be

backend be
${
    o.type === "http"
      ? "  option httpchk GET /healthz\n"
      : ""
  }  default-server check inter ${secs} fall 3 rise 2
${servers.join("\n")}
`;
}

async function startMaglev(
  cleanup: Cleanup,
  o: LoadOptions,
  sink: Sink,
  dir: string,
  main: string,
): Promise<RunningChecker> {
  const cfgFile = `${dir}/maglev.yaml`;
  Deno.writeTextFileSync(cfgFile, maglevConfig(o, sink.ports));
  const metricsPort = freePort();
  const grpcPort = freePort();
  const denoArgs = ["run", "-A"];
  if (o.cpuProfDir) {
    denoArgs.push("--cpu-prof", `--cpu-prof-dir=${o.cpuProfDir}`);
  }
  if (o.v8Flags) denoArgs.push(`--v8-flags=${o.v8Flags}`);
  const [cmd, args] = withNofile(Deno.execPath(), [
    ...denoArgs,
    main,
    "daemon",
    "--config",
    cfgFile,
    "--vpp=false",
    "--metrics-addr",
    `127.0.0.1:${metricsPort}`,
    "--grpc-addr",
    `127.0.0.1:${grpcPort}`,
    "--log-level",
    "warn",
    "--log-format",
    "json",
  ]);
  const child = cleanup.child(new Child("maglev", cmd, args));
  const scrape = () => httpGet(metricsPort, "/metrics", 60_000);
  // Ready when /metrics answers and probes are being counted.
  const deadline = Date.now() + 120_000;
  while (true) {
    if (child.exited) {
      throw new Error(`maglev daemon exited during start:\n${child.tail()}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`maglev daemon not ready after 120 s:\n${child.tail()}`);
    }
    try {
      if (sumMetric(await scrape(), "maglev_probe_total") > 0) break;
    } catch {
      // not listening yet
    }
    await sleep(500);
  }
  return { name: "maglev", child, scrape, grpcPort };
}

async function startHaproxy(
  cleanup: Cleanup,
  o: LoadOptions,
  sink: Sink,
  dir: string,
): Promise<RunningChecker> {
  const cfgFile = `${dir}/haproxy.cfg`;
  const sock = `${dir}/haproxy.sock`;
  Deno.writeTextFileSync(
    cfgFile,
    haproxyConfig(o, sink.ports, freePort(), sock),
  );
  const check = new Deno.Command("haproxy", {
    args: ["-c", "-q", "-f", cfgFile],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  if (!check.success) {
    throw new Error(
      `haproxy -c refused the config:\n${
        new TextDecoder().decode(check.stderr)
      }`,
    );
  }
  const [cmd, args] = withNofile("haproxy", ["-db", "-f", cfgFile]);
  const child = cleanup.child(new Child("haproxy", cmd, args));
  await sleep(1000);
  if (child.exited) throw new Error(`haproxy exited:\n${child.tail()}`);
  return { name: "haproxy", child, failedChecks: () => haproxyChkfail(sock) };
}

/**
 * Opens `n` WatchEvents streams, each on its own HTTP/2 connection (like
 * separate dashboards), reading everything; returns a stop function that
 * reports what they received.
 */
function startWatchers(
  grpcPort: number,
  n: number,
  logLevel: string,
): () => { events: number; errors: number } {
  const abort = new AbortController();
  const conns: MaglevConnection[] = [];
  let events = 0;
  let errors = 0;
  for (let i = 0; i < n; i++) {
    const c = connectMaglev(`127.0.0.1:${grpcPort}`);
    conns.push(c);
    void (async () => {
      try {
        for await (
          const _ of c.client.watchEvents({
            backend: true,
            frontend: true,
            log: logLevel !== "",
            logLevel: logLevel || "info",
          }, { signal: abort.signal })
        ) events++;
      } catch {
        if (!abort.signal.aborted) errors++;
      }
    })();
  }
  return () => {
    abort.abort();
    for (const c of conns) c.close();
    return { events, errors };
  };
}

/** Sum of the `chkfail` column of HAProxy's `show stat` over its servers. */
async function haproxyChkfail(sock: string): Promise<number> {
  const conn = await Deno.connect({ transport: "unix", path: sock });
  let text = "";
  try {
    await conn.write(new TextEncoder().encode("show stat\n"));
    const dec = new TextDecoder();
    const buf = new Uint8Array(65536);
    // HAProxy closes after answering; bounded in reads and time.
    const deadline = Date.now() + 10_000;
    for (let i = 0; i < 100_000 && Date.now() < deadline; i++) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += dec.decode(buf.subarray(0, n), { stream: true });
    }
  } finally {
    conn.close();
  }
  const lines = text.split("\n");
  const header = lines[0].replace(/^# /, "").split(",");
  const col = header.indexOf("chkfail");
  const sv = header.indexOf("svname");
  let total = 0;
  for (const line of lines.slice(1)) {
    const f = line.split(",");
    if (f.length <= col || f[sv] === "BACKEND" || f[sv] === "FRONTEND") {
      continue;
    }
    total += Number(f[col]) || 0;
  }
  return total;
}

/** Failed probes by result code: after - before. */
function failuresByCode(before: string, after: string): Record<string, number> {
  const count = (text: string) => {
    const out = new Map<string, number>();
    for (const line of text.split("\n")) {
      if (
        !line.startsWith("maglev_probe_total{") ||
        !line.includes('result="failure"')
      ) continue;
      const code = line.match(/code="([^"]*)"/)?.[1] ?? "?";
      out.set(
        code,
        (out.get(code) ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1)),
      );
    }
    return out;
  };
  const b = count(before);
  const out: Record<string, number> = {};
  for (const [code, v] of count(after)) {
    const d = v - (b.get(code) ?? 0);
    if (d > 0) out[code] = d;
  }
  return out;
}

function sumWhere(text: string, name: string, needle: string): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name + "{") || !line.includes(needle)) continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

/** Runs warm-up and the window against a started checker. */
async function measure(
  o: LoadOptions,
  sink: Sink,
  checker: RunningChecker,
  srcHash: string,
): Promise<LoadResult> {
  const pid = checker.child.pid;
  const alive = () => {
    if (checker.child.exited) {
      throw new Error(`${checker.name} died:\n${checker.child.tail()}`);
    }
  };
  // Warm-up, checking every second that the checker is still there.
  for (let i = 0; i < o.warmupS; i++) {
    await sleep(1000);
    alive();
  }

  // Scrape first, then take the CPU snapshot: the scrape's own CPU stays
  // outside the window (its effect on lateness does not: see the docs).
  let m0 = "";
  let scrapeMs = NaN;
  let tm0 = 0;
  if (checker.scrape) {
    const t = performance.now();
    m0 = await checker.scrape();
    scrapeMs = performance.now() - t;
    tm0 = (t + performance.now()) / 2;
  }
  const fail0 = checker.failedChecks ? await checker.failedChecks() : NaN;
  const s0 = await sink.counts();
  const k0 = readActiveOpens();
  const c0 = readCpu(pid);
  const x0 = readCtxSwitches(pid);
  const sc0 = readCpu(sink.pid);
  const mc0 = readMachineCpu();
  const t0 = performance.now();

  // One CPU sample per second: shows whether the cost is steady or bursty.
  let prevCpu = c0.userUs + c0.sysUs;
  let prevT = t0;
  let maxSecondCores = 0;
  for (let i = 0; i < o.seconds; i++) {
    await sleep(1000);
    alive();
    const c = readCpu(pid);
    const now = performance.now();
    const cores = (c.userUs + c.sysUs - prevCpu) / 1000 / (now - prevT);
    maxSecondCores = Math.max(maxSecondCores, cores);
    prevCpu = c.userUs + c.sysUs;
    prevT = now;
  }

  const c1 = readCpu(pid);
  const x1 = readCtxSwitches(pid);
  const sc1 = readCpu(sink.pid);
  const mc1 = readMachineCpu();
  const t1 = performance.now();
  const k1 = readActiveOpens();
  const s1 = await sink.counts();
  const fail1 = checker.failedChecks ? await checker.failedChecks() : NaN;
  const mem = readMemory(pid);
  let m1 = "";
  let tm1 = 0;
  let scrapeCpuMs = NaN;
  if (checker.scrape) {
    const cs0 = readCpu(pid);
    const t = performance.now();
    m1 = await checker.scrape();
    scrapeMs = (scrapeMs + performance.now() - t) / 2;
    tm1 = (t + performance.now()) / 2;
    const cs1 = readCpu(pid);
    scrapeCpuMs = (cs1.userUs + cs1.sysUs - cs0.userUs - cs0.sysUs) / 1000;
  }

  const windowS = (t1 - t0) / 1000;
  const sinkProbes = o.type === "http"
    ? s1.requests - s0.requests
    : s1.connections - s0.connections;
  // The harness's own connect between k0 and k1: the sink count at the end.
  const kernelProbes = k1 - k0 - 1;
  let checkerRate = NaN;
  let failureRate = (fail1 - fail0) / ((t1 - t0) / 1000);
  let lagP50 = NaN;
  let lagP99 = NaN;
  let lagMax = NaN;
  let durP50 = NaN;
  let durP99 = NaN;
  let lateOver50Pct = NaN;
  let failures: Record<string, number> = {};
  // maglev only: healthy backends that went down anyway, failures it knew
  // were its own (not counted), and how far it stretched its intervals.
  let transitions = NaN;
  let discarded = NaN;
  let stretch = NaN;
  if (checker.scrape) {
    const delta = (name: string) => sumMetric(m1, name) - sumMetric(m0, name);
    transitions = delta("maglev_backend_transitions_total");
    discarded = delta("maglev_probe_discarded_total");
    stretch = sumMetric(m1, "maglev_checker_interval_stretch");
    const metricWindowS = (tm1 - tm0) / 1000;
    checkerRate = (sumMetric(m1, "maglev_probe_total") -
      sumMetric(m0, "maglev_probe_total")) / metricWindowS;
    failureRate = (sumWhere(m1, "maglev_probe_total", 'result="failure"') -
      sumWhere(m0, "maglev_probe_total", 'result="failure"')) / metricWindowS;
    const lag = bucketDelta(
      histogramBuckets(m0, "maglev_probe_schedule_lag_seconds"),
      histogramBuckets(m1, "maglev_probe_schedule_lag_seconds"),
    );
    failures = failuresByCode(m0, m1);
    const lagTotal = lag.get(Infinity) ?? 0;
    lateOver50Pct = lagTotal > 0
      ? 100 * (lagTotal - (lag.get(0.05) ?? 0)) / lagTotal
      : NaN;
    lagP50 = histogramQuantile(lag, 0.5) * 1000;
    lagP99 = histogramQuantile(lag, 0.99) * 1000;
    const bounds = [...lag.keys()].sort((a, b) => a - b);
    const top = lag.get(Infinity) ?? 0;
    lagMax = 0;
    for (let i = bounds.length - 1; i >= 0; i--) {
      const below = i === 0 ? 0 : lag.get(bounds[i - 1]) ?? 0;
      if ((lag.get(bounds[i]) ?? 0) > below) {
        lagMax = bounds[i] * 1000;
        break;
      }
    }
    if (top === 0) lagMax = NaN;
    const dur = bucketDelta(
      histogramBuckets(m0, "maglev_probe_duration_seconds"),
      histogramBuckets(m1, "maglev_probe_duration_seconds"),
    );
    durP50 = histogramQuantile(dur, 0.5) * 1000;
    durP99 = histogramQuantile(dur, 0.99) * 1000;
  }
  // The divisor: probes seen by the sink; HAProxy's tcp check never
  // completes a handshake (SYN, SYN-ACK, RST), so there only the kernel sees it.
  let probes = sinkProbes;
  let probeSource = o.type === "http" ? "sink requests" : "sink connections";
  if (sinkProbes < 0.1 * kernelProbes) {
    probes = kernelProbes;
    probeSource = "kernel TCP ActiveOpens (system-wide)";
  }
  const userUs = c1.userUs - c0.userUs;
  const sysUs = c1.sysUs - c0.sysUs;
  const sinkUs = sc1.userUs + sc1.sysUs - sc0.userUs - sc0.sysUs;
  return {
    checker: checker.name,
    type: o.type,
    backends: o.backends,
    windowS: Math.round(windowS * 100) / 100,
    warmupS: o.warmupS,
    sink: sink.kind,
    sinkRate: sinkProbes / windowS,
    checkerRate,
    kernelRate: kernelProbes / windowS,
    probesPerSecond: probes / windowS,
    probeSource,
    failureRate,
    cpuUsPerProbe: (userUs + sysUs) / probes,
    userUsPerProbe: userUs / probes,
    sysUsPerProbe: sysUs / probes,
    cpuCores: (userUs + sysUs) / 1e6 / windowS,
    sinkCpuUsPerProbe: sinkUs / probes,
    machineCores: 2 * (mc1.busy - mc0.busy) / (mc1.total - mc0.total),
    lagP50Ms: lagP50,
    lagP99Ms: lagP99,
    lagMaxBucketMs: lagMax,
    lateOver50Pct,
    scrapeShadowPct: 100 * scrapeMs / 1000 / windowS,
    failuresByCode: failures,
    transitionsInWindow: transitions,
    discardedInWindow: discarded,
    stretchAtEnd: stretch,
    maxSecondCores,
    minfltPerProbe: (c1.minflt - c0.minflt) / probes,
    ctxSwitchesPerProbe: (x1 - x0) / probes,
    durationP50Ms: durP50,
    durationP99Ms: durP99,
    rssMiB: mem.rssKiB / 1024,
    hwmMiB: mem.hwmKiB / 1024,
    threads: mem.threads,
    scrapeMs,
    scrapeCpuMs,
    scrapeBytes: m1.length,
    backgroundCores: 2 * (mc1.busy - mc0.busy) / (mc1.total - mc0.total) -
      (userUs + sysUs + sinkUs) / 1e6 / windowS,
    srcHash: checker.name === "maglev" ? srcHash : "",
  };
}

/** Starts the sink, runs each checker in turn, prints and returns the results. */
export async function runLoad(
  o: LoadOptions,
  checkers: readonly ("maglev" | "haproxy")[],
  sinkKind: "deno" | "nginx",
  append?: string,
): Promise<LoadResult[]> {
  const cleanup = new Cleanup();
  // Hard limit: start-up, warm-up and window per checker, plus slack.
  const limitMs = checkers.length * (o.warmupS + o.seconds + 240) * 1000 +
    60_000;
  const disarm = guard(cleanup, limitMs);
  const results: LoadResult[] = [];
  try {
    const dir = cleanup.dir(Deno.makeTempDirSync({ prefix: "maglev-load-" }));
    const src = o.source ??
      (o.snapshot
        ? await snapshotSource(cleanup)
        : { main: `${ROOT}src/main.ts`, hash: await treeHash(`${ROOT}src`) });
    console.error(`daemon: ${src.main} (src ${src.hash})`);
    const sink = sinkKind === "nginx"
      ? await startNginxSink(cleanup, o.basePort, o.backends)
      : await startDenoSink(cleanup, o.type, o.basePort, o.backends);
    console.error(
      `sink: ${sink.kind} pid ${sink.pid}, ports ${sink.ports[0]}..${
        sink.ports[sink.ports.length - 1]
      }`,
    );
    for (const name of checkers) {
      console.error(
        `${name}: ${o.type} x ${o.backends}, warm-up ${o.warmupS}s, window ${o.seconds}s`,
      );
      const checker = name === "maglev"
        ? await startMaglev(cleanup, o, sink, dir, src.main)
        : await startHaproxy(cleanup, o, sink, dir);
      const stopWatchers = name === "maglev" && o.watchers && checker.grpcPort
        ? startWatchers(checker.grpcPort, o.watchers, o.watchLog ?? "")
        : undefined;
      try {
        const r = await measure(o, sink, checker, src.hash);
        results.push(r);
        console.log(MARKDOWN_HEADER);
        console.log(markdownRow(r));
        console.log(jsonLine(r));
        if (append) {
          Deno.writeTextFileSync(append, jsonLine(r) + "\n", { append: true });
        }
      } finally {
        if (stopWatchers) {
          const w = stopWatchers();
          console.error(
            `watchers: ${o.watchers} streams received ${w.events} events, ${w.errors} ended early`,
          );
        }
        // Profiles are written on exit: give a profiled daemon time to stop.
        await checker.child.stop(o.cpuProfDir ? 30_000 : 5_000);
      }
      // Let TIME_WAIT and the sink settle between checkers.
      if (checkers.length > 1) await sleep(3000);
    }
  } finally {
    await cleanup.run();
    disarm();
  }
  return results;
}

async function main(argv: string[]): Promise<number> {
  const f = parseArgs(argv);
  const type = f.get("type") ?? "http";
  if (type !== "http" && type !== "tcp") {
    console.error("--type must be http or tcp");
    return 2;
  }
  const which = f.get("checker") ?? "maglev";
  const checkers: ("maglev" | "haproxy")[] = which === "both"
    ? ["maglev", "haproxy"]
    : which === "haproxy"
    ? ["haproxy"]
    : which === "maglev"
    ? ["maglev"]
    : [];
  if (checkers.length === 0) {
    console.error("--checker must be maglev, haproxy or both");
    return 2;
  }
  if (checkers.includes("haproxy") && !haveCommand("haproxy")) {
    console.error("haproxy is not installed (apt-get install -y haproxy)");
    return 2;
  }
  let sink = f.get("sink") ?? "auto";
  if (sink === "auto") sink = haveCommand("nginx") ? "nginx" : "deno";
  if (sink !== "deno" && sink !== "nginx") {
    console.error("--sink must be deno, nginx or auto");
    return 2;
  }
  const o: LoadOptions = {
    type,
    backends: numFlag(f, "backends", 1000),
    intervalMs: numFlag(f, "interval", 1000),
    timeoutMs: numFlag(f, "timeout", 500),
    warmupS: numFlag(f, "warmup", 20),
    seconds: numFlag(f, "seconds", 30),
    basePort: numFlag(f, "base-port", 20000),
    cpuProfDir: f.get("cpu-prof"),
    v8Flags: f.get("v8-flags"),
    snapshot: f.get("snapshot") === "true",
    watchers: numFlag(f, "watchers", 0),
    watchLog: f.get("watch-log") ?? "",
  };
  if (o.backends < 1 || o.backends > 30000) {
    console.error("--backends must be 1..30000");
    return 2;
  }
  if (o.basePort + o.backends > 32768) {
    console.error("--base-port + --backends must stay below 32768");
    return 2;
  }
  if (o.cpuProfDir) Deno.mkdirSync(o.cpuProfDir, { recursive: true });
  await runLoad(o, checkers, sink, f.get("append"));
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(e instanceof Error ? e.stack ?? e.message : String(e));
    Deno.exit(1);
  }
}
