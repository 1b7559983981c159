/**
 * VPP synchronisation benchmark: the reconciler (src/dataplane/) driving a
 * `VppClient` + `VppLb` through REAL Deno FFI against the stand-in
 * libvppapiclient.so (tests/vpp/fakevpp/), loaded in this process.
 *
 * ```sh
 * deno run -A tests/bench/vpp_sync.ts --vips 1000 --ases 16 --samples 200
 * deno run -A tests/bench/vpp_sync.ts --vips 1000 --ases 16 --shared-addresses
 * deno run -A tests/bench/vpp_sync.ts --vips 1000 --ases 16 --log-file /tmp/ops.log   # with log I/O
 * ```
 *
 * Flags (defaults in brackets):
 * - `--vips N` [1000]: frontends, each one VIP `10.x.y.z/32 tcp 80`
 * - `--ases N` [16]: backends per frontend, one pool, all `up`
 * - `--shared-addresses`: backend addresses repeat across VIPs
 *   (172.16.0.1..N for every VIP; VPP keeps one AS per address per VIP) [off:
 *   every VIP has its own N addresses]
 * - `--samples N` [200]: measured backend transitions; `--warmup N` [5]
 *   transitions before them that are not counted
 * - `--delay-ms N` [0]: the fake VPP's per-request service time (knob
 *   `delay_ms`), to see how the figures scale with a slower VPP
 * - `--noop-reps N` [5]: no-op resyncs timed (median and max reported)
 * - `--log-file PATH`: write the reconciler's log lines (one per VPP
 *   operation at info) to PATH; by default they are formatted and dropped
 * - `--time-limit S` [600]: hard limit; everything is stopped after it
 * - `--append FILE`: also append the JSON line to FILE
 *
 * What it measures:
 * 1. a full sync from an empty VPP: wall time, messages sent and received
 *    (the client's ApiObserver), messages sent per second;
 * 2. no-op full resyncs of the same state: wall time and messages;
 * 3. transition latency: one backend at a time flips to `down` in the
 *    HealthView, `reconciler.requestFrontend(frontend)` is called, and the
 *    time until the `lb_as_set_weight` bytes enter `vac_write` is recorded
 *    (the transport's write is wrapped). The per-frontend sync dumps VPP
 *    first; the dump and its parts (lb_conf_get, lb_vip_dump,
 *    `show lb vips verbose`, lb_as_v2_dump) are timed too.
 *
 * The stand-in does VPP's work synchronously inside `vac_write`, on the
 * caller's (the event loop's) thread. The time spent in there is reported
 * separately ("fake VPP inline") so that its cost is not mistaken for
 * maglev's. The stock stand-in holds at most 8,192 ASes and 1,023 VIPs;
 * for more, this script compiles a private copy with larger tables into a
 * temp dir (the same C source, only the `MAX_*` defines changed).
 *
 * Prints a Markdown table and a JSON line. Always closes the client, the
 * fake VPP, its private library copy and the temp dir (finally, signals,
 * time limit).
 *
 * Not a test or bench file: the name matches neither `*_test.ts` nor
 * `*_bench.ts`.
 * @module
 */
import { Logger } from "../../src/cli/log.ts";
import { parseConfigText } from "../../src/config/load.ts";
import type { Config } from "../../src/config/types.ts";
import {
  evaluateFrontend,
  type FrontendEvaluation,
} from "../../src/health/frontend.ts";
import type { BackendState } from "../../src/health/types.ts";
import {
  type HealthView,
  Reconciler,
  type SyncResult,
} from "../../src/dataplane/reconciler.ts";
import { openVppLibrary, vacTransport } from "../../src/vpp/ffi.ts";
import { VppClient } from "../../src/vpp/client.ts";
import { VppLb } from "../../src/vpp/lb.ts";
import type { MessageName } from "../../src/vpp/messages.ts";
import type { VacTransport } from "../../src/vpp/transport.ts";
import type { LbApi, LbState } from "../../src/vpp/types.ts";
import { openFakeVpp } from "../helpers/fakevpp.ts";
import { Cleanup, cpuModel, guard, numFlag, parseArgs, ROOT } from "./_lib.ts";

/** Settings of one run. */
export interface SyncBenchOptions {
  vips: number;
  ases: number;
  sharedAddresses: boolean;
  samples: number;
  warmup: number;
  delayMs: number;
  /** How many no-op resyncs to time. */
  noopReps: number;
  logFile?: string;
}

/** What one run measured (times in ms). */
export interface SyncBenchResult {
  vips: number;
  ases: number;
  sharedAddresses: boolean;
  delayMs: number;
  /** `MAX_ASES` of the stand-in used (8192 = the stock build). */
  fakeMaxAses: number;
  fullSyncMs: number;
  fullSyncOps: number;
  fullSyncSent: number;
  fullSyncRecv: number;
  fullSyncSentPerS: number;
  /** Time inside vac_write during the full sync: the stand-in's own work. */
  fullSyncFakeMs: number;
  /** Median and maximum of `noopReps` no-op resyncs. */
  noopMs: number;
  noopMaxMs: number;
  noopReps: number;
  noopSent: number;
  noopRecv: number;
  noopFakeMs: number;
  samples: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  /** Share of the latency spent in `lb.dump()` (median of per-sample ratios, %). */
  dumpSharePct: number;
  dumpP50Ms: number;
  dumpP99Ms: number;
  /** Medians of the dump's parts and of the work around it. */
  parts: Record<string, number>;
  /** Messages sent / received per transition (medians). */
  transitionSent: number;
  transitionRecv: number;
  /** Time from requestFrontend to the sync's end (set_weight reply in), p50 / p99. */
  replyP50Ms: number;
  replyP99Ms: number;
  /**
   * Most messages waiting in the client's receive queue at once, and the
   * queue's capacity. A real VPP stops its main thread while the queue is
   * full; the stand-in lets it overflow.
   */
  rxHighWater: number;
  rxQlen: number;
  logLines: number;
  misuse: number;
  outstanding: number;
  cpu: string;
  deno: string;
}

/** The YAML for `vips` frontends × `ases` backends, all checks tcp/80. */
export function syncConfigYaml(o: SyncBenchOptions): string {
  const lines: string[] = [
    "maglev:",
    "  vpp:",
    "    lb:",
    "      ipv4-src-address: 192.0.2.254",
    "      ipv6-src-address: 2001:db8::254",
    "      startup-min-delay: 0s",
    "      startup-max-delay: 0s",
    "  healthchecks:",
    "    hc: { type: tcp, port: 80 }",
    "  backends:",
  ];
  for (let i = 0; i < o.vips; i++) {
    for (let j = 0; j < o.ases; j++) {
      lines.push(
        `    ${backendName(i, j)}: { address: ${
          backendAddress(o, i, j)
        }, healthcheck: hc }`,
      );
    }
  }
  lines.push("  frontends:");
  for (let i = 0; i < o.vips; i++) {
    lines.push(
      `    ${frontendName(i)}:`,
      `      address: ${vipAddress(i)}`,
      "      protocol: tcp",
      "      port: 80",
      "      pools:",
      "        - name: p",
      "          backends:",
    );
    for (let j = 0; j < o.ases; j++) {
      lines.push(`            ${backendName(i, j)}: {}`);
    }
  }
  return lines.join("\n") + "\n";
}

function frontendName(i: number): string {
  return `fe-${i}`;
}

function backendName(i: number, j: number): string {
  return `be-${i}-${j}`;
}

/** VIP i: 10.x.y.z, skipping .0 and .255 in the last octet. */
function vipAddress(i: number): string {
  const n = Math.floor(i / 254) * 256 + (i % 254) + 1;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

/** Backend j of VIP i in 172.16.0.0/12 (or shared: 172.16.0.1..). */
function backendAddress(o: SyncBenchOptions, i: number, j: number): string {
  const k = (o.sharedAddresses ? j : i * o.ases + j) + 1;
  return `172.${16 + ((k >> 16) & 15)}.${(k >> 8) & 255}.${k & 255}`;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, i)];
}

function median(xs: readonly number[]): number {
  return quantile([...xs].sort((a, b) => a - b), 0.5);
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

const STOCK = { MAX_ASES: 8192, MAX_VIPS: 1024, MAX_LB_INDEX: 4096 };

/**
 * The stand-in with tables large enough for `vips` × `ases`: undefined when
 * the stock build fits, else the path of a private build in a temp dir.
 */
async function biggerFake(
  o: SyncBenchOptions,
  cleanup: Cleanup,
): Promise<{ path?: string; maxAses: number }> {
  const want = {
    // + room for the ASes the transitions never delete, and slack.
    MAX_ASES: nextPow2(o.vips * o.ases + 64),
    MAX_VIPS: nextPow2(o.vips + 2),
    MAX_LB_INDEX: nextPow2(8 + 2 * o.vips + 16),
  };
  if (
    want.MAX_ASES <= STOCK.MAX_ASES && want.MAX_VIPS <= STOCK.MAX_VIPS &&
    want.MAX_LB_INDEX <= STOCK.MAX_LB_INDEX
  ) {
    return { maxAses: STOCK.MAX_ASES };
  }
  const src = `${ROOT}tests/vpp/fakevpp`;
  const dir = cleanup.dir(await Deno.makeTempDir({ prefix: "vpp-sync-" }));
  let c = await Deno.readTextFile(`${src}/libvppapiclient.c`);
  for (const [name, stock] of Object.entries(STOCK)) {
    const v = Math.max(stock, want[name as keyof typeof want]);
    const from = `#define ${name} ${stock}`;
    if (!c.includes(from)) {
      throw new Error(`fakevpp source changed: no "${from}" to enlarge`);
    }
    c = c.replace(from, `#define ${name} ${v}`);
  }
  await Deno.writeTextFile(`${dir}/libvppapiclient.c`, c);
  await Deno.copyFile(`${src}/fakevpp.h`, `${dir}/fakevpp.h`);
  const out = `${dir}/libvppapiclient.so`;
  const res = await new Deno.Command("cc", {
    args: [
      "-shared",
      "-fPIC",
      "-O2",
      "-Wall",
      "-Wextra",
      "-pthread",
      "-o",
      out,
      `${dir}/libvppapiclient.c`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!res.success) {
    throw new Error(
      `cc failed building the enlarged fake:\n${
        new TextDecoder().decode(res.stderr)
      }`,
    );
  }
  const maxAses = Math.max(STOCK.MAX_ASES, want.MAX_ASES);
  console.error(
    `fake VPP: private build with MAX_ASES ${maxAses}, MAX_VIPS ${
      Math.max(STOCK.MAX_VIPS, want.MAX_VIPS)
    } (stock 8192 / 1024)`,
  );
  return { path: out, maxAses };
}

/** Wraps the transport: write-entry times per message, time spent inside vac_write. */
class Tap {
  /** performance.now() when the latest message of each id entered vac_write. */
  readonly writeAt = new Map<number, number>();
  /** Total ms spent inside vac_write (the stand-in works synchronously there). */
  insideWriteMs = 0;
  /** Id whose write calls `onWrite` (lb_as_set_weight). */
  watchId = -1;
  onWrite: ((t: number) => void) | undefined;

  wrap(inner: VacTransport): VacTransport {
    return {
      connect: (n, p, q) => inner.connect(n, p, q),
      disconnect: () => inner.disconnect(),
      msgIndex: (k) => inner.msgIndex(k),
      read: (t) => inner.read(t),
      write: (bytes) => {
        const t = performance.now();
        const id = (bytes[0] << 8) | bytes[1];
        this.writeAt.set(id, t);
        if (id === this.watchId) this.onWrite?.(t);
        try {
          return inner.write(bytes);
        } finally {
          this.insideWriteMs += performance.now() - t;
        }
      },
    };
  }
}

/** Wraps an LbApi to time `dump()`. */
class TimedLb implements LbApi {
  dumpStart = 0;
  dumpEnd = 0;
  constructor(private readonly inner: LbApi) {}
  getConf() {
    return this.inner.getConf();
  }
  setConf(c: Parameters<LbApi["setConf"]>[0]) {
    return this.inner.setConf(c);
  }
  async dump(): Promise<LbState> {
    this.dumpStart = performance.now();
    try {
      return await this.inner.dump();
    } finally {
      this.dumpEnd = performance.now();
    }
  }
  dumpVips() {
    return this.inner.dumpVips();
  }
  dumpAses(...a: Parameters<LbApi["dumpAses"]>) {
    return this.inner.dumpAses(...a);
  }
  addVip(...a: Parameters<LbApi["addVip"]>) {
    return this.inner.addVip(...a);
  }
  delVip(...a: Parameters<LbApi["delVip"]>) {
    return this.inner.delVip(...a);
  }
  addAs(...a: Parameters<LbApi["addAs"]>) {
    return this.inner.addAs(...a);
  }
  delAs(...a: Parameters<LbApi["delAs"]>) {
    return this.inner.delAs(...a);
  }
  setWeight(...a: Parameters<LbApi["setWeight"]>) {
    return this.inner.setWeight(...a);
  }
}

/** A HealthView over a state map, with evaluations cached per frontend as the daemon's checker does. */
class Health implements HealthView {
  readonly states = new Map<string, BackendState>();
  readonly #cache = new Map<string, FrontendEvaluation>();
  constructor(readonly config: Config) {
    for (const b of config.backends.keys()) this.states.set(b, "up");
  }
  backendState(b: string): BackendState | undefined {
    return this.states.get(b);
  }
  evaluation(f: string): FrontendEvaluation | undefined {
    let e = this.#cache.get(f);
    if (e) return e;
    const fe = this.config.frontends.get(f);
    if (!fe) return undefined;
    e = evaluateFrontend(fe, (b) => {
      const s = this.states.get(b);
      return s ? { state: s } : undefined;
    });
    this.#cache.set(f, e);
    return e;
  }
  /** A backend changed state: its frontend is evaluated again. */
  set(frontend: string, backend: string, state: BackendState): void {
    this.states.set(backend, state);
    this.#cache.delete(frontend);
  }
}

function check(r: SyncResult, what: string): void {
  if (r.skipped) throw new Error(`${what}: skipped (${r.skipped})`);
  if (r.errors.length > 0) {
    throw new Error(
      `${what}: ${r.errors.length} operations failed, first: ${r.errors[0]}`,
    );
  }
}

/** One benchmark run; everything it opens is registered with `cleanup`. */
export async function runSyncBench(
  o: SyncBenchOptions,
  cleanup: Cleanup,
): Promise<SyncBenchResult> {
  const t0 = performance.now();
  const parsed = parseConfigText(syncConfigYaml(o), "vpp_sync.yaml");
  if (!parsed.ok) {
    throw new Error(
      `config: ${parsed.errors.slice(0, 3).map((e) => e.message).join("; ")}`,
    );
  }
  const config = parsed.config;
  console.error(
    `config: ${o.vips} frontends x ${o.ases} backends parsed in ${
      (performance.now() - t0).toFixed(0)
    } ms`,
  );

  let logLines = 0;
  let logFile: Deno.FsFile | undefined;
  if (o.logFile) {
    logFile = Deno.openSync(o.logFile, {
      write: true,
      create: true,
      truncate: true,
    });
    cleanup.add(() => Promise.resolve(logFile?.close()));
  }
  const enc = new TextEncoder();
  const log = new Logger({
    level: "info",
    format: "json",
    writeLine: (line) => {
      logLines++;
      logFile?.writeSync(enc.encode(line + "\n"));
    },
  });

  const big = await biggerFake(o, cleanup);
  if (big.path) Deno.env.set("FAKEVPP_LIB", big.path);
  const fv = await openFakeVpp({ knobs: { quiet: 1, delay_ms: o.delayMs } });
  cleanup.add(() => fv.close());

  let sent = 0, recv = 0;
  const tap = new Tap();
  const client = new VppClient({
    transport: tap.wrap(vacTransport(openVppLibrary(fv.path))),
    logger: log,
    observer: (_msg, direction) => {
      if (direction === "send") sent++;
      else recv++;
    },
  });
  const vppLb = new VppLb(client, { logger: log });
  cleanup.add(async () => {
    vppLb.dispose();
    await client.close();
  });
  client.start();
  await client.waitConnected(15_000);
  const id = (m: MessageName) => client.messageId(m) ?? -1;
  tap.watchId = id("lb_as_set_weight");
  console.error(
    `connected to the fake VPP ${client.version?.version} (${
      fv.path.slice(ROOT.length)
    })`,
  );

  const health = new Health(config);
  const lb = new TimedLb(vppLb);
  const reconciler = new Reconciler({ lb, health, log });
  await reconciler.pushConf();

  // 1. Full sync from empty.
  let s0 = sent, r0 = recv, w0 = tap.insideWriteMs;
  let t = performance.now();
  const full = await reconciler.sync();
  const fullSyncMs = performance.now() - t;
  check(full, "full sync");
  const fullSyncSent = sent - s0;
  const fullSyncRecv = recv - r0;
  const fullSyncFakeMs = tap.insideWriteMs - w0;
  const st = fv.ctl.state();
  const inUse = st.vips.reduce(
    (n, v) => n + v.ases.filter((a) => a.used).length,
    0,
  );
  if (st.vips.length !== o.vips || inUse !== o.vips * o.ases) {
    throw new Error(
      `after the full sync VPP holds ${st.vips.length} VIPs and ${inUse} ASes`,
    );
  }
  console.error(
    `full sync: ${full.ops.length} ops, ${fullSyncSent} sent, ${
      fullSyncMs.toFixed(0)
    } ms`,
  );

  // 2. No-op resyncs.
  const noopTimes: number[] = [];
  let noopSent = 0, noopRecv = 0, noopFakeMs = 0;
  for (let n = 0; n < o.noopReps; n++) {
    s0 = sent;
    r0 = recv;
    w0 = tap.insideWriteMs;
    t = performance.now();
    const noop = await reconciler.sync();
    noopTimes.push(performance.now() - t);
    check(noop, "no-op resync");
    if (noop.ops.length !== 0) {
      throw new Error(`no-op resync sent ${noop.ops.length} operations`);
    }
    noopSent = sent - s0;
    noopRecv = recv - r0;
    noopFakeMs = tap.insideWriteMs - w0;
  }
  const noopMs = median(noopTimes);
  const noopMaxMs = Math.max(...noopTimes);
  console.error(
    `no-op resync: ${noopSent} sent, ${
      noopTimes.map((x) => x.toFixed(0)).join(" / ")
    } ms`,
  );

  // 3. Transitions, one at a time.
  const lat: number[] = [];
  const reply: number[] = [];
  const dump: number[] = [];
  const dumpShare: number[] = [];
  const parts: Record<string, number[]> = {
    beforeDump: [],
    confGet: [],
    vipDump: [],
    showLbVips: [],
    asDump: [],
    afterDump: [],
    fakeInline: [],
  };
  const sentPer: number[] = [];
  const recvPer: number[] = [];
  const total = o.warmup + o.samples;
  if (total > o.vips * o.ases) {
    throw new Error(`--warmup + --samples must be at most --vips x --ases`);
  }
  const w = (m: MessageName) => tap.writeAt.get(id(m)) ?? NaN;
  for (let k = 0; k < total; k++) {
    const i = k % o.vips;
    const j = Math.floor(k / o.vips) % o.ases;
    const fe = frontendName(i);
    let writtenAt: number | undefined;
    tap.onWrite = (ts) => writtenAt ??= ts;
    health.set(fe, backendName(i, j), "down");
    s0 = sent;
    r0 = recv;
    w0 = tap.insideWriteMs;
    const start = performance.now();
    const r = await reconciler.requestFrontend(fe);
    const done = performance.now();
    tap.onWrite = undefined;
    check(r, `transition ${k}`);
    const op = r.ops[0];
    if (
      r.ops.length !== 1 || op.kind !== "set-weight" || op.weight !== 0 ||
      writtenAt === undefined
    ) {
      throw new Error(
        `transition ${k}: expected one set-weight 0, got ${
          r.ops.map((x) => x.kind).join(",")
        }`,
      );
    }
    if (k < o.warmup) continue;
    const l = writtenAt - start;
    lat.push(l);
    reply.push(done - start);
    const d = lb.dumpEnd - lb.dumpStart;
    dump.push(d);
    dumpShare.push(d / l);
    parts.beforeDump.push(lb.dumpStart - start);
    parts.confGet.push(w("lb_vip_dump") - w("lb_conf_get"));
    parts.vipDump.push(w("cli_inband") - w("lb_vip_dump"));
    parts.showLbVips.push(w("lb_as_v2_dump") - w("cli_inband"));
    parts.asDump.push(lb.dumpEnd - w("lb_as_v2_dump"));
    parts.afterDump.push(writtenAt - lb.dumpEnd);
    parts.fakeInline.push(tap.insideWriteMs - w0);
    sentPer.push(sent - s0);
    recvPer.push(recv - r0);
  }
  const sorted = [...lat].sort((a, b) => a - b);
  const sortedDump = [...dump].sort((a, b) => a - b);
  const sortedReply = [...reply].sort((a, b) => a - b);

  const rxHighWater = fv.ctl.get("rx_high_water");
  const rxQlen = fv.ctl.get("rx_qlen");
  // Disconnect first: then every buffer the client read must have been freed.
  vppLb.dispose();
  await client.close();
  const end = fv.ctl.state();
  return {
    vips: o.vips,
    ases: o.ases,
    sharedAddresses: o.sharedAddresses,
    delayMs: o.delayMs,
    fakeMaxAses: big.maxAses,
    fullSyncMs,
    fullSyncOps: full.ops.length,
    fullSyncSent,
    fullSyncRecv,
    fullSyncSentPerS: fullSyncSent / (fullSyncMs / 1000),
    fullSyncFakeMs,
    noopMs,
    noopMaxMs,
    noopReps: noopTimes.length,
    noopSent,
    noopRecv,
    noopFakeMs,
    samples: lat.length,
    latencyP50Ms: quantile(sorted, 0.5),
    latencyP99Ms: quantile(sorted, 0.99),
    latencyMaxMs: sorted[sorted.length - 1] ?? NaN,
    dumpSharePct: 100 * median(dumpShare),
    dumpP50Ms: quantile(sortedDump, 0.5),
    dumpP99Ms: quantile(sortedDump, 0.99),
    parts: Object.fromEntries(
      Object.entries(parts).map(([k, v]) => [k, median(v)]),
    ),
    transitionSent: median(sentPer),
    transitionRecv: median(recvPer),
    replyP50Ms: quantile(sortedReply, 0.5),
    replyP99Ms: quantile(sortedReply, 0.99),
    rxHighWater,
    rxQlen,
    logLines,
    misuse: end.misuse_count,
    outstanding: end.client.outstanding,
    cpu: cpuModel(),
    deno: Deno.version.deno,
  };
}

function f(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return "–";
  return n.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** The results against the targets, as a Markdown table. */
export function markdownTable(r: SyncBenchResult): string {
  const ok = (b: boolean) => (b ? "met" : "**missed**");
  const p = r.parts;
  return [
    `${f(r.vips)} VIPs x ${f(r.ases)} ASes${
      r.sharedAddresses ? " (shared addresses)" : ""
    }, fake VPP delay ${r.delayMs} ms, fake MAX_ASES ${r.fakeMaxAses}`,
    "",
    "| measure | result | target |",
    "|---|---:|---|",
    `| full sync from empty: wall time (of which inside the fake VPP) | ${
      f(r.fullSyncMs)
    } ms (${f(r.fullSyncFakeMs)}) | |`,
    `| full sync: operations / messages sent / received | ${
      f(r.fullSyncOps)
    } / ${f(r.fullSyncSent)} / ${f(r.fullSyncRecv)} | |`,
    `| full sync: messages sent per second | ${
      f(r.fullSyncSentPerS)
    } | ≥ 20,000: ${ok(r.fullSyncSentPerS >= 20_000)} |`,
    `| no-op resync: wall time, median / max of ${r.noopReps} (inside the fake VPP) | ${
      f(r.noopMs)
    } / ${f(r.noopMaxMs)} ms (${f(r.noopFakeMs)}) | < 1 s: ${
      ok(r.noopMaxMs < 1000)
    } |`,
    `| no-op resync: messages sent / received | ${f(r.noopSent)} / ${
      f(r.noopRecv)
    } | |`,
    `| transition → lb_as_set_weight written, p50 / p99 / max (${r.samples} samples) | ${
      f(r.latencyP50Ms, 1)
    } / ${f(r.latencyP99Ms, 1)} / ${f(r.latencyMaxMs, 1)} ms | p99 < 5 ms: ${
      ok(r.latencyP99Ms < 5)
    } |`,
    `| of which the dump, p50 / p99 (median share) | ${f(r.dumpP50Ms, 1)} / ${
      f(r.dumpP99Ms, 1)
    } ms (${f(r.dumpSharePct)} %) | |`,
    `| dump parts, medians: lb_conf_get / lb_vip_dump / show lb vips verbose / lb_as_v2_dump | ${
      f(p.confGet, 1)
    } / ${f(p.vipDump, 1)} / ${f(p.showLbVips, 1)} / ${f(p.asDump, 1)} ms | |`,
    `| around the dump, medians: desired state before / diff + encode after | ${
      f(p.beforeDump, 1)
    } / ${f(p.afterDump, 1)} ms | |`,
    `| per transition inside the fake VPP (median) | ${
      f(p.fakeInline, 1)
    } ms | |`,
    `| transition → sync done (set_weight reply in), p50 / p99 | ${
      f(r.replyP50Ms, 1)
    } / ${f(r.replyP99Ms, 1)} ms | |`,
    `| messages per transition, sent / received | ${f(r.transitionSent)} / ${
      f(r.transitionRecv)
    } | |`,
    `| receive queue high-water mark / capacity (rx_qlen) | ${
      f(r.rxHighWater)
    } / ${f(r.rxQlen)} messages | |`,
  ].join("\n");
}

/** JSON line (NaN and Infinity become null). */
export function syncJsonLine(r: SyncBenchResult): string {
  return JSON.stringify(
    { bench: "vpp_sync", ...r },
    (_k, v) => typeof v === "number" && !Number.isFinite(v) ? null : v,
  );
}

async function main(argv: string[]): Promise<number> {
  const fl = parseArgs(argv);
  const o: SyncBenchOptions = {
    vips: numFlag(fl, "vips", 1000),
    ases: numFlag(fl, "ases", 16),
    sharedAddresses: fl.get("shared-addresses") === "true",
    samples: numFlag(fl, "samples", 200),
    warmup: numFlag(fl, "warmup", 5),
    delayMs: numFlag(fl, "delay-ms", 0),
    noopReps: Math.max(1, numFlag(fl, "noop-reps", 5)),
    logFile: fl.get("log-file"),
  };
  const limitS = numFlag(fl, "time-limit", 600);
  if (!Number.isInteger(o.vips) || o.vips < 1 || o.vips > 30_000) {
    console.error("--vips must be 1..30000");
    return 2;
  }
  if (!Number.isInteger(o.ases) || o.ases < 1 || o.ases * o.vips > 500_000) {
    console.error("--ases must be ≥ 1 with vips x ases ≤ 500,000");
    return 2;
  }
  if (!Number.isInteger(o.samples) || o.samples < 1) {
    console.error("--samples must be ≥ 1");
    return 2;
  }
  const cleanup = new Cleanup();
  const disarm = guard(cleanup, limitS * 1000);
  try {
    const r = await runSyncBench(o, cleanup);
    console.log(markdownTable(r));
    console.log(syncJsonLine(r));
    const append = fl.get("append");
    if (append) {
      Deno.writeTextFileSync(append, syncJsonLine(r) + "\n", { append: true });
    }
    if (r.misuse !== 0 || r.outstanding !== 0) {
      console.error(
        `fake VPP reports ${r.misuse} misuse(s) and ${r.outstanding} unfreed buffers`,
      );
      return 1;
    }
    return 0;
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
