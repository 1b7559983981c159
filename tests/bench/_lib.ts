/**
 * Shared plumbing of the load benchmarks (`probe_load.ts`,
 * `haproxy_load.ts`): child processes that are always reaped, /proc readers,
 * Prometheus text parsing, histogram quantiles, and the two sinks (the Deno
 * sink of `sink.ts`, or Debian's nginx with one worker).
 *
 * Not a test or bench file: the name matches neither `*_test.ts` nor
 * `*_bench.ts`.
 * @module
 */

/** Repository root (ends with "/"). */
export const ROOT: string = new URL("../../", import.meta.url).pathname;

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// --- command line ------------------------------------------------------------

/** `--name value` / `--name=value` flags into a map; bare `--flag` is "true". */
export function parseArgs(args: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf("=");
    if (eq > 0) {
      out.set(a.slice(2, eq), a.slice(eq + 1));
    } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
      out.set(a.slice(2), args[++i]);
    } else {
      out.set(a.slice(2), "true");
    }
  }
  return out;
}

/** A numeric flag with a default; throws on garbage. */
export function numFlag(
  flags: Map<string, string>,
  name: string,
  dflt: number,
): number {
  const v = flags.get(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    throw new Error(`--${name}: bad number ${v}`);
  }
  return n;
}

// --- /proc ---------------------------------------------------------------------

let clockTicks: number | undefined;

/** `sysconf(_SC_CLK_TCK)` via `getconf` (100 on every Linux we care about). */
export function clkTck(): number {
  if (clockTicks !== undefined) return clockTicks;
  try {
    const out = new Deno.Command("getconf", { args: ["CLK_TCK"] }).outputSync();
    const n = Number(new TextDecoder().decode(out.stdout).trim());
    clockTicks = Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    clockTicks = 100;
  }
  return clockTicks;
}

/** CPU time of a whole process (all threads, live and exited), in µs. */
export interface CpuTimes {
  readonly userUs: number;
  readonly sysUs: number;
  /** Minor page faults (field 10), whole process. */
  readonly minflt: number;
}

/** utime and stime of `/proc/PID/stat` (fields 14 and 15), in µs. */
export function readCpu(pid: number): CpuTimes {
  const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // comm may contain spaces and parentheses: split after the last ")".
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  const tick = 1e6 / clkTck();
  return {
    userUs: Number(rest[11]) * tick,
    sysUs: Number(rest[12]) * tick,
    minflt: Number(rest[7]),
  };
}

/** Sum of per-thread on-CPU ns from `/proc/PID/task/* /schedstat` (live threads only). */
export function readSchedNs(pid: number): number {
  let total = 0;
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const s = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/schedstat`);
      total += Number(s.split(" ")[0]);
    } catch {
      // the thread exited between readdir and read
    }
  }
  return total;
}

/** Context switches (voluntary + involuntary) summed over the live threads of a process. */
export function readCtxSwitches(pid: number): number {
  let total = 0;
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const s = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/status`);
      for (
        const m of s.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)/gm)
      ) {
        total += Number(m[1]);
      }
    } catch {
      // the thread exited between readdir and read
    }
  }
  return total;
}

/** Resident memory of a process: current and peak, in KiB. */
export interface Memory {
  readonly rssKiB: number;
  readonly hwmKiB: number;
  readonly threads: number;
}

/** VmRSS, VmHWM and Threads from `/proc/PID/status`. */
export function readMemory(pid: number): Memory {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  const field = (name: string): number => {
    const m = text.match(new RegExp(`^${name}:\\s+(\\d+)`, "m"));
    return m ? Number(m[1]) : NaN;
  };
  return {
    rssKiB: field("VmRSS"),
    hwmKiB: field("VmHWM"),
    threads: field("Threads"),
  };
}

/** `Tcp: ActiveOpens` of `/proc/net/snmp`: connect() attempts, system-wide. */
export function readActiveOpens(): number {
  const lines = Deno.readTextFileSync("/proc/net/snmp").split("\n")
    .filter((l) => l.startsWith("Tcp:"));
  const names = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/);
  return Number(values[names.indexOf("ActiveOpens")]);
}

/** Whole-machine busy/total jiffies from `/proc/stat`, to report background load. */
export function readMachineCpu(): { busy: number; total: number } {
  const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = v[3] + (v[4] ?? 0);
  return { busy: total - idle, total };
}

/** The CPU model line of `/proc/cpuinfo`. */
export function cpuModel(): string {
  const m = Deno.readTextFileSync("/proc/cpuinfo").match(
    /^model name\s*:\s*(.*)$/m,
  );
  return m ? m[1].trim() : "unknown";
}

// --- child processes -------------------------------------------------------------

/** A child process whose output goes to a bounded in-memory tail. */
export class Child {
  readonly name: string;
  readonly process: Deno.ChildProcess;
  readonly pid: number;
  /** First stdout line (sinks print their ports there), once it arrived. */
  firstLine: Promise<string>;
  #tail: string[] = [];
  #exited = false;
  readonly status: Promise<Deno.CommandStatus>;

  constructor(name: string, cmd: string, args: string[], cwd?: string) {
    this.name = name;
    this.process = new Deno.Command(cmd, {
      args,
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      // A benchmarked daemon keeps its state in memory: it never writes the
      // host's /var/lib/vpp-maglev (other children ignore the variable).
      env: { NO_COLOR: "1", MAGLEV_STATE_FILE: "" },
    }).spawn();
    this.pid = this.process.pid;
    let resolveFirst: (s: string) => void = () => {};
    this.firstLine = new Promise((r) => (resolveFirst = r));
    void this.#pump(this.process.stdout, resolveFirst);
    void this.#pump(this.process.stderr, undefined);
    this.status = this.process.status.then((s) => {
      this.#exited = true;
      resolveFirst("");
      return s;
    });
  }

  /** True once the process is gone. */
  get exited(): boolean {
    return this.#exited;
  }

  async #pump(
    stream: ReadableStream<Uint8Array>,
    first: ((s: string) => void) | undefined,
  ): Promise<void> {
    let buf = "";
    try {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (first) {
            first(line);
            first = undefined;
          }
          this.#tail.push(line);
          if (this.#tail.length > 40) this.#tail.shift();
        }
        if (buf.length > 65536) buf = buf.slice(-4096);
      }
    } catch {
      // stream closed under us
    }
    if (buf) this.#tail.push(buf);
  }

  /** The last lines the process wrote (stdout and stderr interleaved). */
  tail(): string {
    return this.#tail.join("\n");
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.#exited) return;
    try {
      this.process.kill("SIGTERM");
    } catch {
      // already gone
    }
    const timeout = sleep(graceMs).then(() => "timeout" as const);
    if ((await Promise.race([this.status, timeout])) === "timeout") {
      try {
        this.process.kill("SIGKILL");
      } catch {
        // already gone
      }
      await Promise.race([this.status, sleep(2000)]);
    }
  }
}

/** Everything a run started, stopped in reverse order however the run ends. */
export class Cleanup {
  #children: Child[] = [];
  #dirs: string[] = [];
  #extra: (() => Promise<void>)[] = [];

  /** Registers a child to be stopped. */
  child(c: Child): Child {
    this.#children.push(c);
    return c;
  }

  /** Registers a temp dir to remove. */
  dir(d: string): string {
    this.#dirs.push(d);
    return d;
  }

  /** Registers another async cleanup. */
  add(fn: () => Promise<void>): void {
    this.#extra.push(fn);
  }

  /** Stops and removes everything (idempotent). */
  async run(): Promise<void> {
    const children = this.#children.splice(0).reverse();
    await Promise.all(children.map((c) => c.stop()));
    for (const fn of this.#extra.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        // best effort
      }
    }
    for (const d of this.#dirs.splice(0)) {
      try {
        Deno.removeSync(d, { recursive: true });
      } catch {
        // already gone
      }
    }
  }
}

/**
 * Installs a hard time limit and SIGINT/SIGTERM handlers that run `cleanup`
 * and exit, so nothing outlives the harness. Returns a disarm function.
 */
export function guard(cleanup: Cleanup, limitMs: number): () => void {
  const onSignal = () => {
    console.error("interrupted: stopping everything");
    void cleanup.run().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const timer = setTimeout(() => {
    console.error(
      `time limit of ${limitMs / 1000}s reached: stopping everything`,
    );
    void cleanup.run().finally(() => Deno.exit(3));
  }, limitMs);
  return () => {
    clearTimeout(timer);
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  };
}

function hardNofile(): number {
  try {
    const out = new Deno.Command("sh", { args: ["-c", "ulimit -Hn"] })
      .outputSync();
    const v = new TextDecoder().decode(out.stdout).trim();
    return v === "unlimited" ? 1 << 20 : Number(v) || 4096;
  } catch {
    return 4096;
  }
}

/**
 * File-descriptor limit given to every process the benchmarks start: 65536,
 * or the hard limit when that is lower (raising it needs CAP_SYS_RESOURCE).
 */
export const NOFILE: number = Math.min(65536, hardNofile());

/** argv prefix that raises RLIMIT_NOFILE for the program that follows (prlimit execs it: same pid). */
export function withNofile(cmd: string, args: string[]): [string, string[]] {
  return ["prlimit", [`--nofile=${NOFILE}:${NOFILE}`, "--", cmd, ...args]];
}

// --- source snapshot -----------------------------------------------------------

/**
 * Copies the repository's `src/`, `deno.json` and `deno.lock` into a temp
 * dir (node_modules is linked), so that a run measures one fixed version of
 * the daemon even while the working tree is being edited. Returns the path
 * of the snapshot's `src/main.ts` and a short hash of every source file.
 */
export async function snapshotSource(
  cleanup: Cleanup,
): Promise<{ main: string; hash: string }> {
  const dir = cleanup.dir(Deno.makeTempDirSync({ prefix: "maglev-src-" }));
  const cp = new Deno.Command("cp", {
    args: ["-a", `${ROOT}src`, `${ROOT}deno.json`, `${ROOT}deno.lock`, dir],
    stderr: "piped",
  }).outputSync();
  if (!cp.success) {
    throw new Error(`snapshot failed: ${new TextDecoder().decode(cp.stderr)}`);
  }
  Deno.symlinkSync(`${ROOT}node_modules`, `${dir}/node_modules`);
  return { main: `${dir}/src/main.ts`, hash: await treeHash(`${dir}/src`) };
}

/** sha256 (first 12 hex digits) over the sorted paths and contents of a tree. */
export async function treeHash(root: string): Promise<string> {
  const files: string[] = [];
  const walk = (d: string, depth: number) => {
    if (depth > 10) return;
    for (const e of Deno.readDirSync(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) walk(p, depth + 1);
      else if (e.isFile) files.push(p);
    }
  };
  walk(root, 0);
  files.sort();
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const f of files) {
    parts.push(enc.encode(f.slice(root.length) + "\0"));
    parts.push(Deno.readFileSync(f));
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return [...digest.slice(0, 6)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

// --- HTTP over loopback -------------------------------------------------------

/** GET `http://127.0.0.1:port/path` with a deadline; returns the body text. */
export async function httpGet(
  port: number,
  path: string,
  timeoutMs = 10_000,
): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = await res.text();
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return body;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

// --- Prometheus text ------------------------------------------------------------

/** Sum of every sample of a counter/gauge family (all label sets). */
export function sumMetric(text: string, name: string): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const c = line.charCodeAt(name.length);
    if (c !== 123 /* { */ && c !== 32 /* space */) continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

/** Cumulative histogram buckets summed over label sets: upper bound → count. */
export function histogramBuckets(
  text: string,
  name: string,
): Map<number, number> {
  const out = new Map<number, number>();
  const prefix = `${name}_bucket{`;
  for (const line of text.split("\n")) {
    if (!line.startsWith(prefix)) continue;
    const m = line.match(/le="([^"]+)"/);
    if (!m) continue;
    const le = m[1] === "+Inf" ? Infinity : Number(m[1]);
    const v = Number(line.slice(line.lastIndexOf(" ") + 1));
    out.set(le, (out.get(le) ?? 0) + v);
  }
  return out;
}

/** `after - before`, bucket by bucket. */
export function bucketDelta(
  before: Map<number, number>,
  after: Map<number, number>,
): Map<number, number> {
  const out = new Map<number, number>();
  for (const [le, v] of after) out.set(le, v - (before.get(le) ?? 0));
  return out;
}

/**
 * Quantile `q` of a cumulative histogram, interpolating linearly inside the
 * bucket that holds it (as Prometheus' `histogram_quantile` does; the lowest
 * bucket interpolates from 0). Returns Infinity when the quantile lies in
 * the +Inf bucket, NaN when the histogram is empty.
 */
export function histogramQuantile(
  cumulative: Map<number, number>,
  q: number,
): number {
  const bounds = [...cumulative.keys()].sort((a, b) => a - b);
  const total = cumulative.get(Infinity) ?? 0;
  if (total <= 0) return NaN;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const le of bounds) {
    const count = cumulative.get(le) ?? 0;
    if (count >= rank) {
      if (le === Infinity) return Infinity;
      const inBucket = count - prevCount;
      if (inBucket <= 0) return le;
      return prevBound + (le - prevBound) * ((rank - prevCount) / inBucket);
    }
    prevBound = le;
    prevCount = count;
  }
  return Infinity;
}

// --- sinks --------------------------------------------------------------------

/** What the sink answers: an HTTP 200 for `/healthz`, or accept-and-close. */
export type SinkMode = "http" | "tcp";

/** A running loopback sink with N listening ports. */
export interface Sink {
  readonly kind: "deno" | "nginx";
  /** Pid whose CPU is the sink's cost (the nginx worker, or the Deno process). */
  readonly pid: number;
  readonly ports: readonly number[];
  /** Connections accepted and HTTP requests answered so far. */
  counts(): Promise<{ connections: number; requests: number }>;
}

/** Starts `tests/bench/sink.ts` and waits for it to print its ports. */
export async function startDenoSink(
  cleanup: Cleanup,
  mode: SinkMode,
  basePort: number,
  n: number,
  spread = 1,
): Promise<Sink> {
  const [cmd, args] = withNofile(Deno.execPath(), [
    "run",
    `--allow-net=${
      Array.from({ length: spread }, (_, i) => `127.0.0.${i + 1}`).join(",")
    }`,
    "--v8-flags=--max-old-space-size=512",
    `${ROOT}tests/bench/sink.ts`,
    "--mode",
    mode,
    "--base-port",
    String(basePort),
    "--count",
    String(n),
    "--spread",
    String(spread),
  ]);
  const child = cleanup.child(new Child("sink", cmd, args));
  const line = await Promise.race([child.firstLine, sleep(30_000)]);
  if (!line) throw new Error(`sink did not start:\n${child.tail()}`);
  const info = JSON.parse(line) as { ports: number[]; control: number };
  const ports = info.ports;
  const control = info.control;
  return {
    kind: "deno",
    pid: child.pid,
    ports,
    async counts() {
      const c = JSON.parse(await httpGet(control, "/")) as {
        connections: number;
        requests: number;
      };
      return c;
    },
  };
}

/**
 * Starts Debian's nginx as the sink: one worker, `N` listen ports on
 * 127.0.0.1, `/healthz` → 200 and close, no access log, and `stub_status`
 * on a control port for the counts.
 */
export async function startNginxSink(
  cleanup: Cleanup,
  basePort: number,
  n: number,
): Promise<Sink> {
  const dir = cleanup.dir(Deno.makeTempDirSync({ prefix: "maglev-nginx-" }));
  const control = freePort();
  const listens: string[] = [];
  for (let i = 0; i < n; i++) {
    listens.push(`    listen 127.0.0.1:${basePort + i} backlog=4096;`);
  }
  const conf = `worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log error;
worker_rlimit_nofile ${NOFILE};
events { worker_connections 16384; multi_accept on; }
http {
  access_log off;
  log_not_found off;
  keepalive_timeout 0;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  default_type text/plain;
  server {
${listens.join("\n")}
    location = /healthz { return 200 "ok\\n"; }
    location / { return 404; }
  }
  server {
    listen 127.0.0.1:${control};
    location / { stub_status; }
  }
}
`;
  Deno.writeTextFileSync(`${dir}/nginx.conf`, conf);
  const [cmd, args] = withNofile("nginx", [
    "-p",
    dir,
    "-c",
    `${dir}/nginx.conf`,
    "-e",
    `${dir}/error.log`,
  ]);
  const master = cleanup.child(new Child("nginx", cmd, args));
  // Wait for the control port, then find the single worker.
  const deadline = Date.now() + 30_000;
  let worker = 0;
  while (Date.now() < deadline) {
    if (master.exited) {
      let log = "";
      try {
        log = Deno.readTextFileSync(`${dir}/error.log`);
      } catch { /* none */ }
      throw new Error(`nginx exited:\n${master.tail()}\n${log}`);
    }
    try {
      await httpGet(control, "/", 1000);
      const kids = Deno.readTextFileSync(
        `/proc/${master.pid}/task/${master.pid}/children`,
      ).trim().split(/\s+/).filter((s) => s).map(Number);
      if (kids.length === 1) {
        worker = kids[0];
        break;
      }
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  if (!worker) throw new Error(`nginx did not come up:\n${master.tail()}`);
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push(basePort + i);
  return {
    kind: "nginx",
    pid: worker,
    ports,
    async counts() {
      // "Active connections: 1 \nserver accepts handled requests\n 12 12 12 \n..."
      const text = await httpGet(control, "/");
      const m = text.match(/\n\s*(\d+)\s+(\d+)\s+(\d+)/);
      if (!m) throw new Error(`unexpected stub_status: ${text}`);
      // Our own stub_status request is one connection and one request.
      return { connections: Number(m[1]) - 1, requests: Number(m[3]) - 1 };
    },
  };
}

/** True when `cmd` is on PATH. */
export function haveCommand(cmd: string): boolean {
  try {
    return new Deno.Command("sh", {
      args: ["-c", `command -v ${cmd}`],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

// --- reporting ------------------------------------------------------------------

/** One measured configuration, as printed (table row and JSON line). */
export interface LoadResult {
  checker: "maglev" | "haproxy";
  type: SinkMode;
  backends: number;
  windowS: number;
  warmupS: number;
  sink: "deno" | "nginx";
  /** Probes per second counted at the sink (HTTP requests, or accepted connections for tcp). */
  sinkRate: number;
  /** Probes per second by the checker's own count (maglev_probe_total delta), or NaN. */
  checkerRate: number;
  /** Probes per second from the kernel's TCP ActiveOpens (system-wide). */
  kernelRate: number;
  /** Probes used as the divisor for CPU per probe, and where they came from. */
  probesPerSecond: number;
  probeSource: string;
  /** Failed probes per second: maglev_probe_total{result="failure"}, or HAProxy's chkfail. */
  failureRate: number;
  cpuUsPerProbe: number;
  userUsPerProbe: number;
  sysUsPerProbe: number;
  /** Checker CPU over the window as a fraction of one core. */
  cpuCores: number;
  sinkCpuUsPerProbe: number;
  /** Whole-machine busy fraction (2 cores = 2.0) over the window. */
  machineCores: number;
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxBucketMs: number;
  /** Share of probes that started more than 50 ms late (%). */
  lateOver50Pct: number;
  /** One /metrics scrape's wall time as a share of the window (%): the probes it can delay. */
  scrapeShadowPct: number;
  /** Failed probes over the window by result code. */
  failuresByCode: Record<string, number>;
  /** maglev: backend transitions during the window (all backends are healthy), or NaN. */
  transitionsInWindow: number;
  /** maglev: failed probes it discarded as its own lateness during the window, or NaN. */
  discardedInWindow: number;
  /** maglev: its probe-interval stretch at the end of the window (1: none), or NaN. */
  stretchAtEnd: number;
  /** Minor page faults per probe. */
  minfltPerProbe: number;
  /** Context switches per probe (all live threads). */
  ctxSwitchesPerProbe: number;
  /** Highest one-second CPU use of the checker during the window (cores). */
  maxSecondCores: number;
  durationP50Ms: number;
  durationP99Ms: number;
  rssMiB: number;
  hwmMiB: number;
  threads: number;
  /** Wall time of the /metrics scrape at the window's edges (ms), or NaN. */
  scrapeMs: number;
  /** CPU the daemon spent on the closing /metrics scrape (ms). */
  scrapeCpuMs: number;
  /** Size of the /metrics exposition (bytes). */
  scrapeBytes: number;
  /** Whole-machine CPU not used by the checker or the sink (cores): other work on the host. */
  backgroundCores: number;
  /** Hash of the daemon's `src/` tree that was measured (see `treeHash`). */
  srcHash: string;
}

function fmt(n: number, digits = 0): string {
  if (Number.isNaN(n)) return "–";
  if (n === Infinity) return "> 1000";
  return n.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Header of the Markdown table whose rows `markdownRow` prints. */
export const MARKDOWN_HEADER =
  "| checker | type | backends | probes/s (sink / checker / kernel) | failures/s | CPU µs/probe (user+sys) | CPU cores | sink µs/probe | lateness p50 / p99 ms | probe p50 / p99 ms | RSS / HWM MiB |\n" +
  "|---|---|---:|---|---:|---|---:|---:|---|---|---|";

/** One Markdown table row for a result. */
export function markdownRow(r: LoadResult): string {
  return `| ${r.checker} | ${r.type} | ${fmt(r.backends)} | ${
    fmt(r.sinkRate)
  } / ${fmt(r.checkerRate)} / ${fmt(r.kernelRate)} | ${
    fmt(r.failureRate, 1)
  } | ${fmt(r.cpuUsPerProbe, 1)} (${fmt(r.userUsPerProbe, 1)}+${
    fmt(r.sysUsPerProbe, 1)
  }) | ${fmt(r.cpuCores, 2)} | ${fmt(r.sinkCpuUsPerProbe, 1)} | ${
    fmt(r.lagP50Ms, 2)
  } / ${fmt(r.lagP99Ms, 2)} | ${fmt(r.durationP50Ms, 2)} / ${
    fmt(r.durationP99Ms, 2)
  } | ${fmt(r.rssMiB, 1)} / ${fmt(r.hwmMiB, 1)} |`;
}

/** JSON line (NaN and Infinity become null). */
export function jsonLine(r: LoadResult): string {
  return JSON.stringify(
    r,
    (_k, v) => typeof v === "number" && !Number.isFinite(v) ? null : v,
  );
}
