/**
 * The daemon against a REAL VPP (the lb plugin of VPP 26.10): a cold start
 * onto an empty VPP, no-op full resyncs, one backend shared by every VIP
 * going down and up, VPP's CLI latency while the daemon works, and the
 * daemon's log volume. Unlike `vpp_sync.ts` (the reconciler in-process
 * against the stand-in), this runs `maglev daemon` as a process, exactly as
 * an operator does, and reads the outcome from VPP itself.
 *
 * ```sh
 * deno run -A tests/bench/vpp_real.ts                                   # 1,000 VIPs x 16 ASes, this checkout
 * deno run -A tests/bench/vpp_real.ts --maglev-root /tmp/maglev-before --runs 4
 * ```
 *
 * Flags (defaults in brackets):
 * - `--maglev-root DIR` [this checkout]: whose `src/main.ts` runs (daemon
 *   and ctl), so the same script measures an older commit in a worktree
 * - `--no-snapshot`: run DIR's files in place; by default `src/`,
 *   `deno.json` and `deno.lock` are copied first, so edits to DIR during the
 *   run cannot change what is measured (the copy's hash is reported)
 * - `--vpp-dir DIR` [`$MAGLEV_TEST_VPP`, else /opt/maglev-vpp/vpp-runtime]:
 *   a VPP with bin/vpp, bin/vppctl, lib/libvppapiclient.so, lib/vpp_plugins
 * - `--vips N` [1000]: frontends, VIP `10.100.x.y/32 tcp/80` each
 * - `--ases N` [16]: backends 127.0.5.1..N in one pool SHARED by every
 *   frontend; each is a loopback listener of this script, TCP-checked
 * - `--runs N` [1]: cold starts, each onto a new, empty VPP; the other
 *   phases run once, in the first cold start the daemon survives
 * - `--noop-reps N` [5]: `ctl sync vpp lb state` with nothing to change
 * - `--flaps N` [3]: times backend #1 goes down and comes back
 * - `--hold S` [12]: how long a cold start without the other phases is
 *   watched for a crash after it settled (counters are read every 5 s)
 * - `--min-delay D`, `--max-delay D` [0s, 0s]: vpp.lb startup-min-delay /
 *   startup-max-delay; `--sync-interval D` [30s]: vpp.lb sync-interval
 * - `--log-level L` [info]: the daemon's --log-level
 * - `--daemon-log PATH`: also write the daemon's output of run k to
 *   PATH.run<k> (for reading what took the time)
 * - `--cpu-prof DIR`: run the daemon under `deno run --cpu-prof` (one V8
 *   CPU profile per run in DIR; slows the daemon a little)
 * - `--time-limit S` [600]: hard limit; everything is stopped after it
 * - `--append FILE`: also append the JSON line to FILE
 *
 * What it measures (times from the daemon's own log `time` fields where a
 * record marks the moment, from this script's clock where VPP does):
 * 1. full sync from empty: from the `vpp-connect` record until `show lb`
 *    (polled back to back) counts every VIP and AS; also the last `add as`
 *    record, and when every weight is programmed (`show lb vips verbose`);
 * 2. `maglev ctl sync vpp lb state` with nothing to change, timed as a
 *    process, next to `ctl show vpp info` for the ctl's own start-up, and
 *    the binary-API messages per resync (the daemon's metrics);
 * 3. backend #1's listener closed: from its `backend-transition` (to=down)
 *    to the first and the last `vpp-lb-op` that sets it to weight 0, then
 *    until VPP shows weight 0 on every VIP; then back up;
 * 4. `vppctl show version` one at a time during 1 and 2 (and idle, for
 *    vppctl's own cost): VPP's main thread answers the CLI, so a stall of
 *    it shows as a slow call;
 * 5. bytes the daemon writes (stdout + stderr) from spawn until settled;
 *    and whether the daemon ended on its own (a signal) in any run.
 *
 * Prints a Markdown table and a JSON line. Every wait and loop is bounded.
 * VPP, the daemon, the listeners, /dev/shm/<prefix>-* and the temp dirs are
 * removed in `finally`, on SIGINT/SIGTERM and at the time limit. The only
 * network traffic is to this script's listeners on 127.0.5.0/24 and the
 * daemon's gRPC and metrics ports on 127.0.0.1 (plus VPP's local sockets and
 * shared memory); the VIPs are only programmed into VPP, never contacted.
 *
 * Not a test or bench file: the name matches neither `*_test.ts` nor
 * `*_bench.ts`.
 * @module
 */
import {
  Cleanup,
  cpuModel,
  freePort,
  guard,
  httpGet,
  numFlag,
  parseArgs,
  readCpu,
  readMachineCpu,
  ROOT,
  sleep,
  treeHash,
} from "./_lib.ts";
import type { RealVpp, VppInstall, VppVip } from "../helpers/realvpp.ts";

type RealVppModule = typeof import("../helpers/realvpp.ts");

// --- small helpers -------------------------------------------------------------

/** Wall-clock ms with sub-ms resolution, comparable with log `time` fields. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, i)];
}

function median(xs: readonly number[]): number {
  return quantile([...xs].sort((a, b) => a - b), 0.5);
}

/** Latency figures of one set of samples. */
export interface LatencyStats {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Samples above 20 ms. */
  readonly over20: number;
}

function latencyStats(ms: readonly number[]): LatencyStats {
  const s = [...ms].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: quantile(s, 0.5),
    p99: quantile(s, 0.99),
    max: s.length ? s[s.length - 1] : NaN,
    over20: s.filter((x) => x > 20).length,
  };
}

async function git(root: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command("git", {
      args: ["-C", root, ...args],
      stdout: "piped",
      stderr: "null",
    }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return "";
  }
}

/** Runs a command to completion with a deadline; output as text. */
async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; timeoutMs: number },
): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(cmd, {
    args,
    cwd: opts.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(opts.timeoutMs),
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

/**
 * A Cleanup that remembers it ran: the time limit and the signal handlers
 * run it while the benchmark's own flow is still going, and whatever that
 * flow starts afterwards would outlive the process.
 */
class BenchCleanup extends Cleanup {
  #started = false;

  /** True once `run()` was called. */
  get started(): boolean {
    return this.#started;
  }

  override run(): Promise<void> {
    this.#started = true;
    return super.run();
  }
}

/** Thrown where the benchmark notices that everything is being stopped. */
class Stopping extends Error {}

/** utime + stime of a process so far, in ms (NaN once it is gone). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const c = readCpu(pid);
    return (c.userUs + c.sysUs) / 1000;
  } catch {
    return NaN;
  }
}

// --- the daemon process ----------------------------------------------------------

/** One JSON log record of the daemon. */
interface Rec {
  readonly msg: string;
  /** The record's own `time` field (ms resolution), as epoch ms. */
  readonly time: number;
  /** When this script read the line, epoch ms. */
  readonly at: number;
  readonly f: Readonly<Record<string, unknown>>;
}

/**
 * `maglev daemon` as a child process: counts every byte it writes (stdout
 * and stderr), keeps its JSON records with their arrival time, and tells a
 * crash (the process ending on its own) from a requested stop.
 */
class DaemonProc {
  readonly child: Deno.ChildProcess;
  readonly spawnedAt: number;
  readonly records: Rec[] = [];
  /** Bytes written to stdout + stderr so far. */
  bytes = 0;
  /** Per record name: lines and bytes. */
  readonly perMsg = new Map<string, { lines: number; bytes: number }>();
  /** The last lines that are not JSON records (a panic, a segfault message). */
  readonly other: string[] = [];
  /**
   * Lines that are not whole JSON records. The daemon's logger ignores
   * short writes to a full pipe, so a long record can lose its tail and
   * run into the next one: those records are lost to this script too.
   */
  brokenLines = 0;
  readonly exited: Promise<Deno.CommandStatus>;
  status: Deno.CommandStatus | undefined;
  /** Epoch ms at which the process was found gone. */
  endedAt: number | undefined;
  #stopRequested = false;
  #waiters = new Set<() => void>();
  #pumps: Promise<void>[];
  #copy: Deno.FsFile | undefined;

  readonly #graceMs: number;

  /**
   * With `copyTo`, everything the daemon writes also goes to that file;
   * with `cpuProfDir`, it runs under `deno run --cpu-prof` into that dir.
   */
  constructor(
    main: string,
    cwd: string,
    args: string[],
    copyTo?: string,
    cpuProfDir?: string,
  ) {
    this.spawnedAt = now();
    // Writing a profile of a busy minute takes a while after SIGTERM.
    this.#graceMs = cpuProfDir ? 60_000 : 10_000;
    this.#copy = copyTo
      ? Deno.openSync(copyTo, { write: true, create: true, truncate: true })
      : undefined;
    this.child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        ...(cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`] : []),
        main,
        "daemon",
        ...args,
      ],
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      // In memory: a benchmark never writes the host's /var/lib/vpp-maglev.
      env: { NO_COLOR: "1", MAGLEV_STATE_FILE: "" },
    }).spawn();
    this.#pumps = [
      this.#pump(this.child.stderr),
      this.#pump(this.child.stdout),
    ];
    this.exited = this.child.status.then((s) => {
      this.status = s;
      this.endedAt = now();
      this.#wake();
      return s;
    });
  }

  /** True once the process is gone. */
  get ended(): boolean {
    return this.status !== undefined;
  }

  /** True if the process ended without being asked to. */
  get crashed(): boolean {
    return this.ended && !this.#stopRequested;
  }

  /** "SIGSEGV", "exit 1", … or "running". */
  describeExit(): string {
    const s = this.status;
    if (!s) return "running";
    return s.signal ? s.signal : `exit ${s.code}`;
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of stream) {
        this.bytes += chunk.length;
        for (let off = 0; this.#copy && off < chunk.length;) {
          off += this.#copy.writeSync(chunk.subarray(off));
        }
        const at = now();
        buf += dec.decode(chunk, { stream: true });
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          this.#line(buf.slice(0, nl), at);
          buf = buf.slice(nl + 1);
        }
        this.#wake();
      }
    } catch {
      // the pipe closed under us
    }
    if (buf) this.#line(buf, now());
    this.#wake();
  }

  #line(line: string, at: number): void {
    // The logger writes `{"time":"…","level":"…","msg":"…",…}`. Only the
    // few records the benchmark reads are parsed: the old daemon writes
    // ~15 MB/s of them, and a reader that falls behind fills the pipe,
    // which costs the daemon records (see brokenLines).
    const whole = line.startsWith(HEAD) && line.endsWith("}") &&
      line.indexOf(HEAD, 1) < 0;
    const msg = whole ? between(line, '"msg":"') : undefined;
    if (msg === undefined) {
      this.#broken(line);
      return;
    }
    let f: Record<string, unknown> = {};
    if (msg === "vpp-lb-op") {
      f = { op: between(line, '"op":"') };
    } else if (PARSED.has(msg)) {
      try {
        f = JSON.parse(line);
      } catch {
        this.#broken(line);
        return;
      }
    }
    const time = Date.parse(line.slice(HEAD.length, line.indexOf('"', 9)));
    this.records.push({ msg, time, at, f });
    const m = this.perMsg.get(msg) ?? { lines: 0, bytes: 0 };
    m.lines++;
    // JSON log lines are ASCII but for field values; close enough for a share.
    m.bytes += line.length + 1;
    this.perMsg.set(msg, m);
  }

  #broken(line: string): void {
    this.brokenLines++;
    this.other.push(line.slice(0, 500));
    if (this.other.length > 50) this.other.shift();
  }

  /**
   * Resolves with `check()`'s first defined value; `check` is called again
   * whenever output arrives and every 50 ms. Rejects after `timeoutMs`, or
   * when the process ended while `check` still had nothing.
   */
  until<T>(
    what: string,
    check: () => T | undefined,
    timeoutMs: number,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const tick = setInterval(() => attempt(), 50);
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(`timed out after ${timeoutMs} ms waiting for ${what}`),
        );
      }, timeoutMs);
      const done = () => {
        clearInterval(tick);
        clearTimeout(timer);
        this.#waiters.delete(attempt);
      };
      const attempt = () => {
        let v: T | undefined;
        try {
          v = check();
        } catch (e) {
          done();
          reject(e);
          return;
        }
        if (v !== undefined) {
          done();
          resolve(v);
        } else if (this.ended) {
          done();
          reject(
            new DaemonGone(
              `the daemon ended (${this.describeExit()}) before ${what}`,
            ),
          );
        }
      };
      this.#waiters.add(attempt);
      attempt();
    });
  }

  /** The index of the first record at or after `from` matching `pred`. */
  find(pred: (r: Rec) => boolean, from = 0): number | undefined {
    for (let i = from; i < this.records.length; i++) {
      if (pred(this.records[i])) return i;
    }
    return undefined;
  }

  /** Waits for a record at or after index `from` matching `pred`. */
  waitRecord(
    what: string,
    pred: (r: Rec) => boolean,
    from: number,
    timeoutMs: number,
  ): Promise<number> {
    let i = from;
    return this.until(what, () => {
      for (; i < this.records.length; i++) {
        if (pred(this.records[i])) return i;
      }
      return undefined;
    }, timeoutMs);
  }

  /** SIGTERM, SIGKILL after a grace time; resolves with the exit once gone. */
  async stop(): Promise<string> {
    if (!this.ended) {
      this.#stopRequested = true;
      try {
        this.child.kill("SIGTERM");
      } catch {
        // already gone
      }
      const late = await Promise.race([
        this.exited.then(() => false),
        sleep(this.#graceMs).then(() => true),
      ]);
      if (late) {
        try {
          this.child.kill("SIGKILL");
        } catch {
          // already gone
        }
        await Promise.race([this.exited, sleep(5_000)]);
      }
    }
    await Promise.race([Promise.all(this.#pumps), sleep(2_000)]);
    this.#copy?.close();
    this.#copy = undefined;
    return this.describeExit();
  }
}

/** How every JSON log line of the daemon starts. */
const HEAD = '{"time":"';

/** Records whose fields the benchmark reads (besides vpp-lb-op's `op`). */
const PARSED = new Set(["backend-transition", "vpp-sync", "vpp-connect"]);

/** The JSON string value after `key` (values here hold no escapes). */
function between(line: string, key: string): string | undefined {
  const i = line.indexOf(key);
  if (i < 0) return undefined;
  const j = line.indexOf('"', i + key.length);
  return j < 0 ? undefined : line.slice(i + key.length, j);
}

/** The daemon ended while the benchmark waited for it. */
class DaemonGone extends Error {}

// --- backends ---------------------------------------------------------------------

/**
 * One TCP listener per backend address, all on one port, accepting and
 * closing at once (a TCP check passes on the handshake). Closing one makes
 * its probes fail with a refused connection within milliseconds.
 */
class Backends {
  readonly port: number;
  readonly addresses: string[];
  #listeners: (Deno.Listener | undefined)[];

  private constructor(port: number, addresses: string[], ls: Deno.Listener[]) {
    this.port = port;
    this.addresses = addresses;
    this.#listeners = ls;
    ls.forEach((l) => void this.#accept(l));
  }

  /** Listens on 127.0.5.1..n, one shared port (a few tries to find one). */
  static open(n: number): Backends {
    const addresses = Array.from({ length: n }, (_, i) => `127.0.5.${i + 1}`);
    let last: unknown;
    for (let attempt = 0; attempt < 10; attempt++) {
      const first = Deno.listen({ hostname: addresses[0], port: 0 });
      const port = (first.addr as Deno.NetAddr).port;
      const ls = [first];
      try {
        for (const a of addresses.slice(1)) {
          ls.push(Deno.listen({ hostname: a, port }));
        }
        return new Backends(port, addresses, ls);
      } catch (e) {
        last = e;
        ls.forEach((l) => l.close());
      }
    }
    throw new Error(`cannot listen on 127.0.5.1..${n}: ${last}`);
  }

  async #accept(l: Deno.Listener): Promise<void> {
    try {
      for await (const c of l) {
        try {
          c.close();
        } catch {
          // the peer was quicker
        }
      }
    } catch {
      // closed
    }
  }

  /** Stops listening on backend i (0-based). */
  down(i: number): void {
    this.#listeners[i]?.close();
    this.#listeners[i] = undefined;
  }

  /** Listens again on backend i, on the same port. */
  up(i: number): void {
    if (this.#listeners[i]) return;
    const l = Deno.listen({ hostname: this.addresses[i], port: this.port });
    this.#listeners[i] = l;
    void this.#accept(l);
  }

  /** Closes every listener (idempotent). */
  close(): void {
    for (let i = 0; i < this.#listeners.length; i++) this.down(i);
  }
}

// --- VPP's CLI --------------------------------------------------------------------

/** One `vppctl` command, timed; never throws for VPP's answer. */
async function vppctl(
  vpp: RealVpp,
  words: string[],
): Promise<{ start: number; end: number; ok: boolean; out: string }> {
  const start = now();
  try {
    const r = await run(vpp.install.vppctl, ["-s", vpp.cliSocket, ...words], {
      timeoutMs: 10_000,
    });
    return { start, end: now(), ok: r.code === 0, out: r.out };
  } catch {
    return { start, end: now(), ok: false, out: "" };
  }
}

/** `#vips` and `#ass` of `show lb` (VPP counts an internal VIP 0 in #vips). */
function lbCounts(text: string): { vips: number; ases: number } | undefined {
  const v = /#vips:\s*(\d+)/.exec(text);
  const a = /#ass:\s*(\d+)/.exec(text);
  return v && a ? { vips: Number(v[1]), ases: Number(a[1]) } : undefined;
}

/**
 * `vppctl show version` back to back, one at a time, while started: each
 * call waits for VPP's main thread, so a stall shows as a slow call. The
 * process start of vppctl is in every sample (see the idle baseline).
 */
class CliProbe {
  readonly samples: { start: number; end: number; ok: boolean }[] = [];
  #stop = false;
  #loop: Promise<void> | undefined;

  constructor(
    private readonly vpp: RealVpp,
    private readonly maxSamples = 20_000,
    private readonly maxMs = 120_000,
  ) {}

  /** Starts the loop (bounded by count and time). */
  start(): void {
    if (this.#loop) return;
    this.#stop = false;
    this.#loop = (async () => {
      const end = now() + this.maxMs;
      while (!this.#stop && this.samples.length < this.maxSamples) {
        if (now() > end) break;
        const r = await vppctl(this.vpp, ["show", "version"]);
        this.samples.push({ start: r.start, end: r.end, ok: r.ok });
      }
    })();
  }

  /** Stops the loop; resolves when the call in flight is back. */
  async stop(): Promise<void> {
    this.#stop = true;
    await this.#loop;
    this.#loop = undefined;
  }

  /** Latencies of the calls that overlap [from, to]. */
  window(from: number, to: number): LatencyStats {
    return latencyStats(
      this.samples.filter((s) => s.end >= from && s.start <= to).map((s) =>
        s.end - s.start
      ),
    );
  }

  /** Calls that failed (vppctl exit or timeout) in [from, to]. */
  failures(from: number, to: number): number {
    return this.samples.filter((s) => !s.ok && s.end >= from && s.start <= to)
      .length;
  }
}

// --- configuration ----------------------------------------------------------------

/** Options of one benchmark invocation. */
export interface RealBenchOptions {
  /** Checkout whose `src/main.ts` runs (the snapshot's, with `snapshot`). */
  readonly root: string;
  readonly snapshot: boolean;
  readonly vpp: VppInstall;
  readonly vips: number;
  readonly ases: number;
  readonly runs: number;
  readonly noopReps: number;
  readonly flaps: number;
  readonly holdS: number;
  readonly minDelay: string;
  readonly maxDelay: string;
  readonly syncInterval: string;
  readonly logLevel: string;
  /** Copy the daemon's output of run k to `<daemonLog>.run<k>`. */
  readonly daemonLog?: string;
  /** Run the daemon under `deno run --cpu-prof`, profiles into this dir. */
  readonly cpuProfDir?: string;
}

/** The VIP of frontend i (0-based): 10.100.0.1, 10.100.0.2, … */
function vipAddress(i: number): string {
  const n = i + 1;
  return `10.${100 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

function backendName(j: number): string {
  return `be-${String(j + 1).padStart(3, "0")}`;
}

/** The daemon's config: every frontend has one pool of all the backends. */
function configYaml(o: RealBenchOptions, be: Backends): string {
  const lines = [
    "maglev:",
    "  vpp:",
    "    lb:",
    "      ipv4-src-address: 192.0.2.254",
    "      ipv6-src-address: 2001:db8::254",
    `      startup-min-delay: ${o.minDelay}`,
    `      startup-max-delay: ${o.maxDelay}`,
    `      sync-interval: ${o.syncInterval}`,
    "  healthchecks:",
    "    hc:",
    "      type: tcp",
    `      port: ${be.port}`,
    "      interval: 1s",
    // Quicker steps while a backend moves, so a flap takes ~1.5 s, not 3.
    "      fast-interval: 250ms",
    "      down-interval: 250ms",
    "      timeout: 500ms",
    "      rise: 2",
    "      fall: 2",
    "  backends:",
  ];
  be.addresses.forEach((a, j) =>
    lines.push(`    ${backendName(j)}: { address: ${a}, healthcheck: hc }`)
  );
  lines.push("  frontends:");
  const pool = be.addresses.map((_, j) => `${backendName(j)}: {}`).join(", ");
  for (let i = 0; i < o.vips; i++) {
    lines.push(
      `    fe-${String(i).padStart(5, "0")}:`,
      `      address: ${vipAddress(i)}`,
      "      protocol: tcp",
      "      port: 80",
      "      pools:",
      `        - { name: all, backends: { ${pool} } }`,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * Copies DIR's `src/`, `deno.json` and `deno.lock` (node_modules linked) so
 * a run measures one fixed version; returns the directory to run from.
 */
async function snapshot(root: string, cleanup: Cleanup): Promise<string> {
  const dir = cleanup.dir(
    await Deno.makeTempDir({ prefix: "maglev-real-src-" }),
  );
  const cp = await run("cp", [
    "-a",
    `${root}/src`,
    `${root}/deno.json`,
    `${root}/deno.lock`,
    dir,
  ], { timeoutMs: 60_000 });
  if (cp.code !== 0) throw new Error(`snapshot of ${root}: ${cp.err}`);
  await Deno.symlink(`${root}/node_modules`, `${dir}/node_modules`);
  return dir;
}

// --- results ------------------------------------------------------------------------

/** One cold start onto an empty VPP. */
export interface ColdStart {
  readonly run: number;
  /** The daemon ended on its own (SIGSEGV, …) at some point of this run. */
  crashed: boolean;
  /** How the daemon ended: a signal, "exit N", or how it stopped. */
  exit: string;
  /** What the run was doing when the daemon crashed or an error stopped it. */
  stoppedIn?: string;
  /** ms from vpp-connect to the crash. */
  crashAfterConnectMs?: number;
  /** The daemon's last non-JSON output lines, when it crashed. */
  crashOutput?: string;
  error?: string;
  spawnToConnectMs?: number;
  /** vpp-connect (record time) → VPP shows every VIP and AS (polled). */
  fullSyncMs?: number;
  /** Between the last poll that was short and the one that was complete. */
  fullSyncPollResolutionMs?: number;
  /** vpp-connect → the last `add as` record (daemon's own clock). */
  fullSyncLogMs?: number;
  /**
   * CPU time VPP and the daemon used from the moment this script read
   * vpp-connect until VPP held everything (10 ms ticks).
   */
  fullSyncVppCpuMs?: number;
  fullSyncDaemonCpuMs?: number;
  /** `add as` records read (fewer than the ASes: lost in broken lines). */
  fullSyncAddAsRecords?: number;
  /** Operations to build the state (VIPs + ASes) per second, polled time. */
  fullSyncOpsPerS?: number;
  fullSyncLbOps?: number;
  /** vpp-connect → VPP holds every AS at weight 100 (last op record). */
  settledLogMs?: number;
  coldLbOps?: number;
  cliIdle?: LatencyStats;
  cliFullSync?: LatencyStats;
  cliFullSyncFailures?: number;
  /** Daemon stdout + stderr from spawn to the full sync's end. */
  logBytesFullSync?: number;
  /** Daemon stdout + stderr from spawn until VPP was verified settled. */
  logBytesCold?: number;
  logLinesCold?: number;
  /** Lines of the cold start that were not whole JSON records. */
  brokenLinesCold?: number;
  /** The same over the whole run. */
  brokenLines?: number;
  /** The three record names with the most bytes in the cold start. */
  logTop?: { msg: string; lines: number; bytes: number }[];
}

/** `ctl sync vpp lb state` with nothing to change. */
export interface NoopResult {
  readonly reps: number;
  readonly ms: number[];
  readonly medianMs: number;
  readonly maxMs: number;
  /** `ctl show vpp info`: the ctl process alone (start-up, one cheap RPC). */
  readonly baselineMedianMs: number;
  readonly cli: LatencyStats;
  readonly cliFailures: number;
  /** Binary-API messages the daemon sent / received per resync (metrics). */
  readonly apiSentPerSync: number;
  readonly apiRecvPerSync: number;
  /** CPU time per resync, VPP and the daemon (ctl's start-up included). */
  readonly vppCpuMsPerSync: number;
  readonly daemonCpuMsPerSync: number;
}

/** One down-and-up cycle of backend #1. */
export interface FlapResult {
  /** backend-transition (to=down) → first / last set-weight 0 record. */
  readonly firstMs: number;
  readonly lastMs: number;
  /** The same from the times this script read the lines (sub-ms). */
  readonly firstReadMs: number;
  readonly lastReadMs: number;
  readonly ops: number;
  /** Transition → `show lb vips verbose` has weight 0 on every VIP. */
  readonly vppConfirmedMs: number;
  readonly upFirstMs: number;
  readonly upLastMs: number;
  /** ms since vpp-connect at the down transition. */
  readonly sinceConnectMs: number;
  /** A vpp-sync record of another reason lies between transition and last op. */
  readonly otherSyncs: string[];
}

/** Everything one invocation measured. */
export interface RealBenchResult {
  readonly root: string;
  readonly commit: string;
  readonly dirty: boolean;
  readonly srcHash: string;
  readonly vppVersion: string;
  readonly vips: number;
  readonly ases: number;
  readonly minDelay: string;
  readonly maxDelay: string;
  readonly syncInterval: string;
  readonly logLevel: string;
  readonly runs: ColdStart[];
  readonly crashes: number;
  noop?: NoopResult;
  flaps: FlapResult[];
  /** Where the phases ran, or why they did not. */
  phasesNote: string;
  readonly cpu: string;
  readonly deno: string;
  /** Load average at the start and at the end of the invocation. */
  readonly load: string;
  /**
   * Whole-machine busy CPU over the invocation, in cores: this script, VPP
   * and the daemon, plus whatever else runs on the machine.
   */
  readonly machineBusyCores: number;
}

// --- the phases -----------------------------------------------------------------------

const OP_VIP = / of vip (\S+ \S+)/;

/** No new matching record for this long: the rest were lost (broken lines). */
const QUIET_MS = 2_000;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** VIPs that hold `address` at `weight` (used, not removed). */
function vipsWith(vips: readonly VppVip[], address: string, weight: number) {
  return vips.filter((v) =>
    v.ases.some((a) => a.used && a.address === address && a.weight === weight)
  ).length;
}

/** Whether every VIP has all its ASes used at weight 100. */
function allUp(vips: readonly VppVip[], o: RealBenchOptions): boolean {
  return vips.length === o.vips && vips.every((v) => {
    const used = v.ases.filter((a) => a.used);
    return used.length === o.ases && used.every((a) => a.weight === 100);
  });
}

/** Polls `show lb vips verbose` until `pred`; the end of the good poll. */
async function pollVips(
  vpp: RealVpp,
  what: string,
  pred: (v: VppVip[]) => boolean,
  d: DaemonProc,
  deadlineMs: number,
  pauseMs: number,
  rv: RealVppModule,
): Promise<number> {
  const end = now() + deadlineMs;
  let last = "";
  for (let i = 0; i < 10_000 && now() < end; i++) {
    const r = await vppctl(vpp, ["show", "lb", "vips", "verbose"]);
    if (r.ok) {
      const vs = rv.parseVips(r.out);
      if (pred(vs)) return r.end;
      last = `${vs.length} VIPs`;
    }
    if (d.ended) {
      throw new DaemonGone(`the daemon ended (${d.describeExit()}): ${what}`);
    }
    await sleep(pauseMs);
  }
  throw new Error(`VPP never showed ${what} within ${deadlineMs} ms (${last})`);
}

interface Ctx {
  readonly o: RealBenchOptions;
  readonly rv: RealVppModule;
  readonly cleanup: BenchCleanup;
  readonly be: Backends;
  readonly configPath: string;
  /** Directory whose src/main.ts runs. */
  readonly runDir: string;
}

/** What one run started, filled in as it starts it (a crash may come first). */
interface RunState {
  stage: string;
  vpp?: RealVpp;
  d?: DaemonProc;
  connect?: Rec;
  grpc?: string;
  metricsPort?: number;
}

/** Starts VPP and the daemon into `h`; measures the cold start. */
async function coldStart(
  c: Ctx,
  runNo: number,
  cs: ColdStart,
  h: RunState,
): Promise<void> {
  const { o, rv } = c;
  h.stage = "starting VPP";
  const vpp = await rv.RealVpp.start(o.vpp);
  h.vpp = vpp;
  c.cleanup.add(() => stopVpp(vpp));
  if (c.cleanup.started) throw new Stopping("stopping");
  const before = lbCounts((await vppctl(vpp, ["show", "lb"])).out);
  if (!before) throw new Error("cannot read VPP's show lb");

  h.stage = "idle CLI baseline";
  const probe = new CliProbe(vpp);
  const idleFrom = now();
  probe.start();
  await sleep(1500);
  await probe.stop();
  cs.cliIdle = probe.window(idleFrom, now());
  probe.samples.length = 0;

  h.stage = "daemon start";
  const grpc = `127.0.0.1:${freePort()}`;
  const metricsPort = freePort();
  const d = new DaemonProc(
    `${c.runDir}/src/main.ts`,
    c.runDir,
    [
      "--config",
      c.configPath,
      "--grpc-addr",
      grpc,
      "--metrics-addr",
      `127.0.0.1:${metricsPort}`,
      "--log-format",
      "json",
      "--log-level",
      o.logLevel,
      ...vpp.daemonFlags(),
    ],
    o.daemonLog ? `${o.daemonLog}.run${runNo}` : undefined,
    o.cpuProfDir,
  );
  h.d = d;
  h.grpc = grpc;
  h.metricsPort = metricsPort;
  c.cleanup.add(async () => {
    await d.stop();
  });
  if (c.cleanup.started) throw new Stopping("stopping");
  probe.start();
  let fullEnd: number | undefined;
  try {
    h.stage = "waiting for vpp-connect";
    const ci = await d.waitRecord(
      "vpp-connect",
      (r) => r.msg === "vpp-connect",
      0,
      60_000,
    );
    const connect = d.records[ci];
    h.connect = connect;
    const vppCpu0 = cpuMs(vpp.pid), daemonCpu0 = cpuMs(d.child.pid);
    cs.spawnToConnectMs = connect.time - d.spawnedAt;

    // 1. Full sync from empty, as VPP sees it.
    h.stage = "full sync from empty";
    const wantVips = before.vips + o.vips;
    const wantAses = before.ases + o.vips * o.ases;
    let prevStart = connect.at;
    const deadline = now() + 180_000;
    for (let i = 0; i < 100_000; i++) {
      if (now() > deadline) {
        throw new Error("VPP did not hold every VIP and AS within 180 s");
      }
      if (d.ended) throw new DaemonGone("the daemon ended in the full sync");
      const r = await vppctl(vpp, ["show", "lb"]);
      const n = r.ok ? lbCounts(r.out) : undefined;
      if (n && n.vips >= wantVips && n.ases >= wantAses) {
        fullEnd = r.end;
        cs.fullSyncPollResolutionMs = r.end - prevStart;
        break;
      }
      prevStart = r.start;
      await sleep(5);
    }
    if (fullEnd === undefined) throw new Error("full sync poll gave up");
    cs.fullSyncVppCpuMs = cpuMs(vpp.pid) - vppCpu0;
    cs.fullSyncDaemonCpuMs = cpuMs(d.child.pid) - daemonCpu0;
    cs.logBytesFullSync = d.bytes;
    await probe.stop();
    cs.fullSyncMs = fullEnd - connect.time;
    cs.cliFullSync = probe.window(connect.time, fullEnd);
    cs.cliFullSyncFailures = probe.failures(connect.time, fullEnd);
    const building = o.vips + o.vips * o.ases;
    cs.fullSyncOpsPerS = building / (cs.fullSyncMs / 1000);

    // The daemon logs an op after VPP's reply: its record may trail the poll.
    h.stage = "full sync: daemon's add-as records";
    let addAs = 0, lastAddAs: Rec | undefined, scan = ci, lastNew = now();
    await d.until("every add-as record", () => {
      for (; scan < d.records.length; scan++) {
        const r = d.records[scan];
        if (r.msg === "vpp-lb-op" && String(r.f.op).startsWith("add as ")) {
          addAs++;
          lastAddAs = r;
          lastNew = now();
        }
      }
      // VPP holds them all: records still missing after a quiet spell were
      // lost on the way (see DaemonProc.brokenLines).
      return addAs >= o.vips * o.ases ||
          (lastAddAs && now() - lastNew > QUIET_MS)
        ? true
        : undefined;
    }, 30_000);
    cs.fullSyncAddAsRecords = addAs;
    cs.fullSyncLogMs = lastAddAs!.time - connect.time;
    cs.fullSyncLbOps = d.records.slice(ci).filter((r) =>
      r.msg === "vpp-lb-op" && r.time <= lastAddAs!.time
    ).length;

    // Settled: every backend up and every weight programmed.
    h.stage = "settling (every backend up)";
    const upSeen = new Set<string>();
    let upScan = 0;
    await d.until("every backend up", () => {
      for (; upScan < d.records.length; upScan++) {
        const r = d.records[upScan];
        if (r.msg === "backend-transition" && r.f.to === "up") {
          upSeen.add(String(r.f.backend));
        }
      }
      return upSeen.size >= o.ases ? true : undefined;
    }, 60_000);
    h.stage = "settling (VPP weights 100)";
    await pollVips(
      vpp,
      "every AS at weight 100",
      (vs) =>
        allUp(vs, o),
      d,
      120_000,
      250,
      c.rv,
    );
    cs.logBytesCold = d.bytes;
    const coldRecs = d.records.slice();
    cs.logLinesCold = coldRecs.length + d.brokenLines;
    cs.brokenLinesCold = d.brokenLines;
    const ops = coldRecs.filter((r) => r.msg === "vpp-lb-op");
    cs.coldLbOps = ops.length;
    cs.settledLogMs = ops.length
      ? ops[ops.length - 1].time - connect.time
      : undefined;
    cs.logTop = [...d.perMsg.entries()].map(([msg, m]) => ({ msg, ...m }))
      .sort((a, b) => b.bytes - a.bytes).slice(0, 3);
    console.error(
      `run ${runNo}: full sync ${
        cs.fullSyncMs.toFixed(0)
      } ms (log ${cs.fullSyncLogMs} ms), settled after ${cs.settledLogMs} ms, ${cs.coldLbOps} ops, ${
        (cs.logBytesCold / 1e6).toFixed(2)
      } MB of log`,
    );
  } finally {
    await probe.stop();
  }
}

/** VPP stopped, its directory and every /dev/shm/<prefix>-* gone. */
async function stopVpp(vpp: RealVpp): Promise<void> {
  await vpp.stop();
  try {
    for (const e of Deno.readDirSync("/dev/shm")) {
      if (e.name.startsWith(`${vpp.prefix}-`)) {
        await Deno.remove(`/dev/shm/${e.name}`).catch(() => {});
      }
    }
  } catch {
    // no /dev/shm
  }
}

/** `maglev ctl --server GRPC words…`, timed. */
async function ctl(
  c: Ctx,
  grpc: string,
  words: string[],
): Promise<{ ms: number; code: number; out: string }> {
  const t = now();
  const r = await run(
    Deno.execPath(),
    ["run", "-A", `${c.runDir}/src/main.ts`, "ctl", "--server", grpc, ...words],
    { cwd: c.runDir, timeoutMs: 120_000 },
  );
  return { ms: now() - t, code: r.code, out: r.out + r.err };
}

/** Sum of maglev_vpp_api_total by direction. */
async function apiTotals(
  port: number,
): Promise<{ send: number; recv: number }> {
  const text = await httpGet(port, "/metrics", 30_000);
  let send = 0, recv = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith("maglev_vpp_api_total{")) continue;
    const v = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (line.includes('direction="send"')) send += v;
    else if (line.includes('direction="recv"')) recv += v;
  }
  return { send, recv };
}

/** 2. No-op full resyncs through the operator's command. */
async function noopPhase(
  c: Ctx,
  vpp: RealVpp,
  d: DaemonProc,
  grpc: string,
  metricsPort: number,
): Promise<NoopResult> {
  const ms: number[] = [];
  const base: number[] = [];
  let vppCpu = 0, daemonCpu = 0;
  const probe = new CliProbe(vpp);
  const a0 = await apiTotals(metricsPort);
  const from = now();
  probe.start();
  try {
    for (let i = 0; i < c.o.noopReps; i++) {
      const b = await ctl(c, grpc, ["show", "vpp", "info"]);
      if (b.code !== 0) throw new Error(`ctl show vpp info: ${b.out}`);
      base.push(b.ms);
      const v0 = cpuMs(vpp.pid), d0 = cpuMs(d.child.pid);
      const r = await ctl(c, grpc, ["sync", "vpp", "lb", "state"]);
      vppCpu += cpuMs(vpp.pid) - v0;
      daemonCpu += cpuMs(d.child.pid) - d0;
      if (r.code !== 0) throw new Error(`ctl sync vpp lb state: ${r.out}`);
      if (!r.out.includes("in sync")) {
        throw new Error(`the resync was not a no-op:\n${r.out.slice(0, 2000)}`);
      }
      ms.push(r.ms);
      if (d.ended) throw new DaemonGone("the daemon ended in the resyncs");
    }
  } finally {
    await probe.stop();
  }
  const to = now();
  const a1 = await apiTotals(metricsPort);
  const reps = ms.length;
  console.error(
    `no-op resyncs: ${ms.map((x) => x.toFixed(0)).join(" / ")} ms (ctl alone ${
      median(base).toFixed(0)
    } ms)`,
  );
  return {
    reps,
    ms,
    medianMs: median(ms),
    maxMs: Math.max(...ms),
    baselineMedianMs: median(base),
    cli: probe.window(from, to),
    cliFailures: probe.failures(from, to),
    apiSentPerSync: (a1.send - a0.send) / reps,
    apiRecvPerSync: (a1.recv - a0.recv) / reps,
    vppCpuMsPerSync: vppCpu / reps,
    daemonCpuMsPerSync: daemonCpu / reps,
  };
}

/** Waits for the set-weight records of `address` to `weight` on every VIP. */
function waitWeightOps(
  d: DaemonProc,
  o: RealBenchOptions,
  address: string,
  weight: number,
  from: number,
): Promise<Rec[]> {
  const re = new RegExp(
    `^set weight ${weight}( flush)? for as ${escapeRe(address)} of vip `,
  );
  const seen = new Map<string, Rec>();
  let i = from;
  let lastNew = now();
  return d.until(`set weight ${weight} for ${address} on every VIP`, () => {
    for (; i < d.records.length; i++) {
      const r = d.records[i];
      if (r.msg !== "vpp-lb-op") continue;
      const op = String(r.f.op);
      if (!re.test(op)) continue;
      const vip = OP_VIP.exec(op)?.[1] ?? op;
      if (!seen.has(vip)) {
        seen.set(vip, r);
        lastNew = now();
      }
    }
    // Fewer after a quiet spell: records lost on the way; VPP is checked
    // next, so a missing operation still fails the run.
    return seen.size >= o.vips || (seen.size > 0 && now() - lastNew > QUIET_MS)
      ? [...seen.values()]
      : undefined;
  }, 60_000);
}

/** 3. Backend #1, in every VIP, goes down and comes back. */
async function flapPhase(
  c: Ctx,
  vpp: RealVpp,
  d: DaemonProc,
  connect: Rec,
): Promise<FlapResult> {
  const { o, be } = c;
  const name = backendName(0);
  const addr = be.addresses[0];
  const mark = d.records.length;
  be.down(0);
  const ti = await d.waitRecord(
    `${name} down`,
    (r) =>
      r.msg === "backend-transition" && r.f.backend === name &&
      r.f.to === "down",
    mark,
    20_000,
  );
  const tr = d.records[ti];
  const ops = await waitWeightOps(d, o, addr, 0, ti + 1);
  const first = ops.reduce((a, b) => (b.time < a.time ? b : a));
  const last = ops.reduce((a, b) => (b.at > a.at ? b : a));
  const confirmed = await pollVips(
    vpp,
    `${addr} at weight 0 in all ${o.vips} VIPs`,
    (vs) => vipsWith(vs, addr, 0) === o.vips,
    d,
    30_000,
    100,
    c.rv,
  );
  const lastIdx = d.records.indexOf(last);
  const otherSyncs = d.records.slice(ti, lastIdx + 1).filter((r) =>
    r.msg === "vpp-sync" && r.f.reason !== "transition"
  ).map((r) => String(r.f.reason));

  const mark2 = d.records.length;
  be.up(0);
  const ui = await d.waitRecord(
    `${name} up`,
    (r) =>
      r.msg === "backend-transition" && r.f.backend === name &&
      r.f.to === "up",
    mark2,
    20_000,
  );
  const up = d.records[ui];
  const upOps = await waitWeightOps(d, o, addr, 100, ui + 1);
  await pollVips(
    vpp,
    "every AS back at weight 100",
    (vs) => allUp(vs, o),
    d,
    30_000,
    100,
    c.rv,
  );
  const r: FlapResult = {
    firstMs: first.time - tr.time,
    lastMs: Math.max(...ops.map((x) => x.time)) - tr.time,
    firstReadMs: Math.min(...ops.map((x) => x.at)) - tr.at,
    lastReadMs: last.at - tr.at,
    ops: ops.length,
    vppConfirmedMs: confirmed - tr.time,
    upFirstMs: Math.min(...upOps.map((x) => x.time)) - up.time,
    upLastMs: Math.max(...upOps.map((x) => x.time)) - up.time,
    sinceConnectMs: tr.time - connect.time,
    otherSyncs,
  };
  console.error(
    `flap: first op ${r.firstMs} ms, last ${r.lastMs} ms (read ${
      r.firstReadMs.toFixed(1)
    } / ${r.lastReadMs.toFixed(1)} ms), VPP confirmed at ${
      r.vppConfirmedMs.toFixed(0)
    } ms; up: ${r.upFirstMs} / ${r.upLastMs} ms`,
  );
  return r;
}

/** Every cold start, and the other phases in the first one that survives. */
export async function runRealBench(
  o: RealBenchOptions,
  cleanup: BenchCleanup,
): Promise<RealBenchResult> {
  const cpu0 = readMachineCpu();
  const load0 = await loadAvg();
  // realvpp.ts resolves its VPP when it is loaded: point it at ours first.
  Deno.env.set("MAGLEV_TEST_VPP", o.vpp.vpp.replace(/\/bin\/vpp$/, ""));
  const rv: RealVppModule = await import("../helpers/realvpp.ts");

  const runDir = o.snapshot ? await snapshot(o.root, cleanup) : o.root;
  const srcHash = await treeHash(`${runDir}/src`);
  const commit = await git(o.root, ["log", "-1", "--format=%h %s"]);
  const dirty = (await git(o.root, [
    "status",
    "--porcelain",
    "--untracked-files=no",
    "--",
    "src",
  ]))
    .length > 0;

  const be = Backends.open(o.ases);
  cleanup.add(() => Promise.resolve(be.close()));
  const cfgDir = cleanup.dir(
    await Deno.makeTempDir({ prefix: "maglev-real-cfg-" }),
  );
  const configPath = `${cfgDir}/maglev.yaml`;
  await Deno.writeTextFile(configPath, configYaml(o, be));
  const c: Ctx = { o, rv, cleanup, be, configPath, runDir };
  console.error(
    `${runDir} (${commit.slice(0, 7)}${
      dirty ? "+dirty" : ""
    }, src ${srcHash}): ${o.vips} VIPs x ${o.ases} ASes, ${o.runs} cold start(s)`,
  );

  const runs: ColdStart[] = [];
  let noop: NoopResult | undefined;
  const flaps: FlapResult[] = [];
  let phasesNote = "not run: every cold start crashed or failed";
  let vppVersion = "";
  for (let k = 1; k <= o.runs && !cleanup.started; k++) {
    const cs: ColdStart = { run: k, crashed: false, exit: "running" };
    runs.push(cs);
    const h: RunState = { stage: "start" };
    try {
      await coldStart(c, k, cs, h);
      const { vpp, d, connect } = h as Required<RunState>;
      if (!vppVersion) {
        vppVersion = (await vppctl(vpp, ["show", "version"])).out.trim();
      }
      if (!noop) {
        h.stage = "no-op resyncs";
        noop = await noopPhase(c, vpp, d, h.grpc!, h.metricsPort!);
        phasesNote = `run ${k}`;
        h.stage = "backend #1 down and up";
        for (let i = 0; i < o.flaps; i++) {
          flaps.push(await flapPhase(c, vpp, d, connect));
        }
      } else {
        h.stage = "hold";
        await Promise.race([d.exited, sleep(o.holdS * 1000)]);
      }
    } catch (e) {
      cs.error = e instanceof Error ? e.message : String(e);
      cs.stoppedIn = h.stage;
      if (!(e instanceof DaemonGone)) console.error(`run ${k}: ${cs.error}`);
    } finally {
      const d = h.d;
      // A moment for a crash on its way: the pipes may close before the exit.
      if (d && !d.ended) await Promise.race([d.exited, sleep(200)]);
      if (d?.crashed) {
        cs.crashed = true;
        cs.exit = d.describeExit();
        cs.stoppedIn ??= h.stage;
        if (h.connect && d.endedAt !== undefined) {
          cs.crashAfterConnectMs = d.endedAt - h.connect.time;
        }
        cs.crashOutput = d.other.slice(-8).join("\n");
        console.error(
          `run ${k}: the daemon CRASHED (${cs.exit}) during: ${cs.stoppedIn}`,
        );
      } else if (d) {
        const ex = await d.stop();
        cs.exit = `stopped: ${ex}`;
        // SIGTERM ends it with exit 0; a fault on the way out is a crash too.
        const sig = d.status?.signal;
        if (sig && sig !== "SIGKILL" && sig !== "SIGTERM") {
          cs.crashed = true;
          cs.stoppedIn ??= "shutdown";
        }
      }
      if (d) cs.brokenLines = d.brokenLines;
      if (h.vpp) await stopVpp(h.vpp);
    }
  }
  const cpu1 = readMachineCpu();
  const load = `${load0} → ${await loadAvg()}`;
  return {
    root: o.root,
    commit,
    dirty,
    srcHash,
    vppVersion,
    vips: o.vips,
    ases: o.ases,
    minDelay: o.minDelay,
    maxDelay: o.maxDelay,
    syncInterval: o.syncInterval,
    logLevel: o.logLevel,
    runs,
    crashes: runs.filter((r) => r.crashed).length,
    noop,
    flaps,
    phasesNote,
    cpu: cpuModel(),
    deno: Deno.version.deno,
    load,
    machineBusyCores: navigator.hardwareConcurrency *
      (cpu1.busy - cpu0.busy) / Math.max(1, cpu1.total - cpu0.total),
  };
}

function loadAvg(): Promise<string> {
  return Deno.readTextFile("/proc/loadavg").then(
    (t) => t.split(" ").slice(0, 3).join(" "),
    () => "",
  );
}

// --- output -----------------------------------------------------------------------------

function f(n: number | undefined, digits = 0): string {
  if (n === undefined || !Number.isFinite(n)) return "–";
  return n.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** "median (min–max)" over the runs that have the figure. */
function spread(
  rs: readonly ColdStart[],
  pick: (r: ColdStart) => number | undefined,
  digits = 0,
): string {
  const xs = rs.map(pick).filter((x): x is number =>
    x !== undefined && Number.isFinite(x)
  );
  if (xs.length === 0) return "–";
  if (xs.length === 1) return f(xs[0], digits);
  return `${f(median(xs), digits)} (${f(Math.min(...xs), digits)}–${
    f(Math.max(...xs), digits)
  })`;
}

function cli(s: LatencyStats | undefined): string {
  if (!s || s.n === 0) return "–";
  return `${f(s.p50, 1)} / ${f(s.p99, 1)} / ${
    f(s.max, 1)
  } ms (n ${s.n}, ${s.over20} > 20 ms)`;
}

/** The worst of each CLI figure over the runs. */
function worstCli(
  rs: readonly ColdStart[],
  pick: (r: ColdStart) => LatencyStats | undefined,
): LatencyStats | undefined {
  const ss = rs.map(pick).filter((s): s is LatencyStats => !!s && s.n > 0);
  if (ss.length === 0) return undefined;
  return {
    n: ss.reduce((a, s) => a + s.n, 0),
    p50: median(ss.map((s) => s.p50)),
    p99: Math.max(...ss.map((s) => s.p99)),
    max: Math.max(...ss.map((s) => s.max)),
    over20: ss.reduce((a, s) => a + s.over20, 0),
  };
}

/** The results against the targets, as a Markdown table. */
export function markdownTable(r: RealBenchResult): string {
  const ok = (b: boolean | undefined) =>
    b === undefined ? "–" : b ? "met" : "**missed**";
  const done = r.runs.filter((x) => x.fullSyncMs !== undefined);
  const worst = (pick: (x: ColdStart) => number | undefined) => {
    const xs = done.map(pick).filter((x): x is number => x !== undefined);
    return xs.length ? Math.max(...xs) : undefined;
  };
  const crashes = r.runs.filter((x) => x.crashed);
  const n = r.noop;
  const fl = r.flaps;
  const fm = (pick: (x: FlapResult) => number, d = 0) =>
    fl.length
      ? `${f(median(fl.map(pick)), d)} / ${f(Math.max(...fl.map(pick)), d)}`
      : "–";
  const cliFull = worstCli(done, (x) => x.cliFullSync);
  const cliIdle = worstCli(r.runs, (x) => x.cliIdle);
  const total = r.vips * r.ases;
  return [
    `${r.root} at ${r.commit.slice(0, 7)}${
      r.dirty ? " + uncommitted src changes" : ""
    } (src ${r.srcHash}); ${r.vppVersion.split(" built")[0]}; ${
      f(r.vips)
    } VIPs x ${r.ases} shared ASes; startup delays ${r.minDelay}/${r.maxDelay}, sync-interval ${r.syncInterval}, log level ${r.logLevel}; load ${r.load}, machine busy ${
      f(r.machineBusyCores, 2)
    } of ${navigator.hardwareConcurrency} cores`,
    "",
    "| measure | result | target | verdict |",
    "|---|---|---|---|",
    `| cold starts in which the daemon crashed | ${crashes.length} of ${r.runs.length}${
      crashes.length
        ? ` (${crashes.map((x) => `${x.exit} in ${x.stoppedIn}`).join("; ")})`
        : ""
    } | 0 | ${ok(crashes.length === 0)} |`,
    `| 1. full sync from empty: vpp-connect → VPP holds all ${
      f(total)
    } ASes (polled \`show lb\`; resolution) | ${
      spread(done, (x) => x.fullSyncMs)
    } ms (${spread(done, (x) => x.fullSyncPollResolutionMs)}) | < 1 s | ${
      ok(
        done.length
          ? (worst((x) => x.fullSyncMs) ?? Infinity) < 1000
          : undefined,
      )
    } |`,
    `| … vpp-connect → last add-as acknowledged (daemon log) | ${
      spread(done, (x) => x.fullSyncLogMs)
    } ms | | |`,
    `| … CPU used meanwhile by VPP / by the daemon | ${
      spread(done, (x) => x.fullSyncVppCpuMs)
    } / ${spread(done, (x) => x.fullSyncDaemonCpuMs)} ms | | |`,
    `| … VIPs + ASes created per second (polled time) | ${
      spread(done, (x) => x.fullSyncOpsPerS)
    } | | |`,
    `| … vpp-connect → every weight programmed (last op of the cold start) / ops | ${
      spread(done, (x) => x.settledLogMs)
    } ms / ${spread(done, (x) => x.coldLbOps)} | | |`,
    `| 2. no-op resync: \`ctl sync vpp lb state\`, median / max of ${
      n?.reps ?? 0
    } | ${n ? `${f(n.medianMs)} / ${f(n.maxMs)} ms` : "–"} | | |`,
    `| … \`ctl show vpp info\` (ctl start-up, no sync), median | ${
      n ? `${f(n.baselineMedianMs)} ms` : "–"
    } | | |`,
    `| … CPU per resync, VPP / daemon | ${
      n ? `${f(n.vppCpuMsPerSync)} / ${f(n.daemonCpuMsPerSync)} ms` : "–"
    } | | |`,
    `| … binary-API messages per resync, sent / received | ${
      n ? `${f(n.apiSentPerSync)} / ${f(n.apiRecvPerSync)}` : "–"
    } | | |`,
    `| 3. backend #1 down: transition → first set-weight 0 (record times), median / max of ${fl.length} | ${
      fm((x) => x.firstMs)
    } ms | < 5 ms | ${
      ok(fl.length ? Math.max(...fl.map((x) => x.firstMs)) < 5 : undefined)
    } |`,
    `| … → last of the ${f(r.vips)} set-weight 0 | ${
      fm((x) => x.lastMs)
    } ms | < 100 ms | ${
      ok(fl.length ? Math.max(...fl.map((x) => x.lastMs)) < 100 : undefined)
    } |`,
    `| … the same, as read from the pipe: first / last (medians) | ${
      fl.length
        ? `${f(median(fl.map((x) => x.firstReadMs)), 1)} / ${
          f(median(fl.map((x) => x.lastReadMs)), 1)
        } ms`
        : "–"
    } | | |`,
    `| … set-weight 0 records read, fewest of the ${fl.length} (the rest were lost) | ${
      fl.length ? f(Math.min(...fl.map((x) => x.ops))) : "–"
    } of ${f(r.vips)} | | |`,
    `| … VPP shows weight 0 on all ${
      f(r.vips)
    } VIPs (polled \`show lb vips verbose\`), median / max | ${
      fm((x) => x.vppConfirmedMs)
    } ms | | |`,
    `| … back up: transition → first / last set-weight 100 (medians) | ${
      fl.length
        ? `${f(median(fl.map((x) => x.upFirstMs)))} / ${
          f(median(fl.map((x) => x.upLastMs)))
        } ms`
        : "–"
    } | | |`,
    `| 4. \`vppctl show version\` p50 / p99 / max, VPP idle (vppctl's own cost) | ${
      cli(cliIdle)
    } | | |`,
    `| … during the full sync from empty | ${cli(cliFull)} | ≤ ~20 ms | ${
      ok(cliFull ? cliFull.max <= 20 : undefined)
    } |`,
    `| … during the no-op resyncs | ${cli(n?.cli)} | ≤ ~20 ms | ${
      ok(n ? n.cli.max <= 20 : undefined)
    } |`,
    `| 5. daemon log bytes, cold start (spawn → settled), level ${r.logLevel} | ${
      spread(done, (x) => x.logBytesCold)
    } (${spread(done, (x) => x.logLinesCold)} lines) | < 5 MB | ${
      ok(
        done.some((x) => x.logBytesCold !== undefined)
          ? (worst((x) => x.logBytesCold) ?? Infinity) < 5e6
          : undefined,
      )
    } |`,
    `| … largest record kinds (first run that got there): name lines / bytes | ${
      done.find((x) => x.logTop)?.logTop?.map((t) =>
        `${t.msg} ${f(t.lines)} / ${f(t.bytes)}`
      ).join("; ") ?? "–"
    } | | |`,
    `| … log lines that were not whole JSON records (short writes), cold start / whole run | ${
      spread(done, (x) => x.brokenLinesCold)
    } / ${spread(r.runs, (x) => x.brokenLines)} | 0 | |`,
    `| … of which up to the end of the full sync | ${
      spread(done, (x) => x.logBytesFullSync)
    } | | |`,
  ].join("\n");
}

/** JSON line (NaN and Infinity become null). */
export function realJsonLine(r: RealBenchResult): string {
  return JSON.stringify(
    { bench: "vpp_real", ...r },
    (_k, v) => typeof v === "number" && !Number.isFinite(v) ? null : v,
  );
}

function defaultVppDir(): string {
  return Deno.env.get("MAGLEV_TEST_VPP") ?? "/opt/maglev-vpp/vpp-runtime";
}

async function main(argv: string[]): Promise<number> {
  const fl = parseArgs(argv);
  const root = (fl.get("maglev-root") ?? ROOT).replace(/\/+$/, "");
  const vppDir = (fl.get("vpp-dir") ?? defaultVppDir()).replace(/\/+$/, "");
  const vpp: VppInstall = {
    vpp: `${vppDir}/bin/vpp`,
    vppctl: `${vppDir}/bin/vppctl`,
    lib: `${vppDir}/lib/libvppapiclient.so`,
    plugins: `${vppDir}/lib/vpp_plugins`,
  };
  for (const p of [vpp.vpp, vpp.vppctl, vpp.lib, `${root}/src/main.ts`]) {
    try {
      Deno.statSync(p);
    } catch {
      console.error(`${p} is missing (see --vpp-dir, --maglev-root)`);
      return 2;
    }
  }
  const o: RealBenchOptions = {
    root,
    snapshot: fl.get("no-snapshot") !== "true",
    vpp,
    vips: numFlag(fl, "vips", 1000),
    ases: numFlag(fl, "ases", 16),
    runs: numFlag(fl, "runs", 1),
    noopReps: numFlag(fl, "noop-reps", 5),
    flaps: numFlag(fl, "flaps", 3),
    holdS: numFlag(fl, "hold", 12),
    minDelay: fl.get("min-delay") ?? "0s",
    maxDelay: fl.get("max-delay") ?? "0s",
    syncInterval: fl.get("sync-interval") ?? "30s",
    logLevel: fl.get("log-level") ?? "info",
    daemonLog: fl.get("daemon-log"),
    cpuProfDir: fl.get("cpu-prof"),
  };
  const limitS = numFlag(fl, "time-limit", 600);
  if (!Number.isInteger(o.vips) || o.vips < 1 || o.vips > 20_000) {
    console.error("--vips must be 1..20000");
    return 2;
  }
  if (!Number.isInteger(o.ases) || o.ases < 1 || o.ases > 250) {
    console.error("--ases must be 1..250 (addresses 127.0.5.1..N)");
    return 2;
  }
  if (!Number.isInteger(o.runs) || o.runs < 1 || o.runs > 50) {
    console.error("--runs must be 1..50");
    return 2;
  }
  if (o.noopReps < 1 || o.noopReps > 100 || o.flaps > 50) {
    console.error("--noop-reps must be 1..100 and --flaps 0..50");
    return 2;
  }
  if (o.cpuProfDir) Deno.mkdirSync(o.cpuProfDir, { recursive: true });
  const cleanup = new BenchCleanup();
  const disarm = guard(cleanup, limitS * 1000);
  try {
    const r = await runRealBench(o, cleanup);
    console.log(markdownTable(r));
    console.log(realJsonLine(r));
    const append = fl.get("append");
    if (append) {
      Deno.writeTextFileSync(append, realJsonLine(r) + "\n", { append: true });
    }
    return r.runs.some((x) => x.error && !x.crashed) ? 1 : 0;
  } finally {
    await cleanup.run();
    disarm();
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(e instanceof Error ? e.stack ?? e.message : String(e));
    Deno.exit(1);
  }
}
