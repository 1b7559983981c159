/**
 * Dashboard benchmarks against the real stack: a sink on loopback, a maglev
 * daemon probing it, a `maglev web` process, and either headless Chromium
 * (first render) or many SSE readers (fan-out).
 *
 * ```sh
 * deno task web:build
 * deno run -A tests/bench/web_load.ts render --frontends 50 --per-frontend 10 --runs 10
 * deno run -A tests/bench/web_load.ts fanout --clients 200 --backends 1000 --changes 200
 * ```
 *
 * `render`: for each run, a fresh browser context opens `/view/` and the clock
 * stops when every backend row of every frontend card shows its state. Cards
 * start closed, so each context carries the cookie of an operator who opened
 * them all before. The
 * figure is the page's own `performance.now()` at that moment (time since
 * navigation start, polled every 10 ms), so it covers the HTML,
 * the bundle, the state fetch and the render.
 *
 * `fanout`: `--clients` SSE readers on `/view/api/events` (each its own
 * connection) while the daemon probes `--backends` backends at 1 s. The
 * harness pauses and resumes one backend through gRPC `--changes` times, one
 * change every `--gap` ms; each reader records, for every backend event, the
 * time from the daemon's transition timestamp to the moment it parsed the
 * frame, after `--settle` ms [3000] of quiet once all readers are
 * connected. All clocks are this machine's wall clock.
 *
 * Not a test or bench file: the name matches neither `*_test.ts` nor
 * `*_bench.ts`.
 * @module
 */
import { connectMaglev } from "../../src/api/client.ts";
import { launchBrowser } from "../web/_browser.ts";
import {
  Child,
  Cleanup,
  freePort,
  guard,
  httpGet,
  numFlag,
  parseArgs,
  readMemory,
  ROOT,
  sleep,
  startDenoSink,
  withNofile,
} from "./_lib.ts";

/** Shape of the run: how many frontends, each with how many backends. */
interface Layout {
  frontends: number;
  perFrontend: number;
}

/** A daemon config: one health check and one sink port per backend, frontends of `perFrontend` backends each. */
export function dashboardConfig(
  layout: Layout,
  ports: readonly number[],
): string {
  const hc: string[] = [];
  const be: string[] = [];
  const fe: string[] = [];
  for (let f = 0; f < layout.frontends; f++) {
    const members: string[] = [];
    for (let b = 0; b < layout.perFrontend; b++) {
      const i = f * layout.perFrontend + b;
      hc.push(
        `    hc-${i}: {type: http, port: ${
          ports[i]
        }, interval: 1s, timeout: 500ms, rise: 1, fall: 2, params: {path: /healthz}}`,
      );
      // The sink binds listener i on 127.0.0.(1 + i % perFrontend).
      be.push(
        `    be-${i}: {address: 127.0.0.${
          1 + (i % layout.perFrontend)
        }, healthcheck: hc-${i}}`,
      );
      members.push(`            be-${i}: {}`);
    }
    // Documentation addresses: VPP is off, nothing is ever sent to them.
    fe.push(`    fe-${f}:
      address: 198.51.${100 + (f >> 8)}.${f & 255}
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends:
${members.join("\n")}`);
  }
  return `maglev:
  healthchecks:
${hc.join("\n")}
  backends:
${be.join("\n")}
  frontends:
${fe.join("\n")}
`;
}

/** What `startStack` hands back. */
interface Stack {
  base: string;
  grpcAddr: string;
  daemon: Child;
  web: Child;
}

/** Sink, daemon and web, all ready with every backend up. */
async function startStack(cleanup: Cleanup, layout: Layout): Promise<Stack> {
  const n = layout.frontends * layout.perFrontend;
  const sink = await startDenoSink(
    cleanup,
    "http",
    0,
    n,
    layout.perFrontend,
  );
  const dir = cleanup.dir(Deno.makeTempDirSync({ prefix: "maglev-webbench-" }));
  const cfg = `${dir}/maglev.yaml`;
  Deno.writeTextFileSync(cfg, dashboardConfig(layout, sink.ports));
  const grpcPort = freePort();
  const webPort = freePort();
  const main = `${ROOT}src/main.ts`;
  const [dcmd, dargs] = withNofile(Deno.execPath(), [
    "run",
    "-A",
    main,
    "daemon",
    "--config",
    cfg,
    "--vpp=false",
    "--grpc-addr",
    `127.0.0.1:${grpcPort}`,
    "--metrics-addr",
    `127.0.0.1:${freePort()}`,
    "--log-level",
    "warn",
  ]);
  const daemon = cleanup.child(new Child("daemon", dcmd, dargs));
  const [wcmd, wargs] = withNofile(Deno.execPath(), [
    "run",
    "-A",
    main,
    "web",
    "--listen",
    `127.0.0.1:${webPort}`,
    "--server",
    `127.0.0.1:${grpcPort}`,
    "--log-level",
    "warn",
  ]);
  const web = cleanup.child(new Child("web", wcmd, wargs));
  const base = `http://127.0.0.1:${webPort}`;
  // Ready when the dashboard's own state document has every backend up.
  const deadline = Date.now() + 120_000;
  for (let i = 0;; i++) {
    if (daemon.exited) throw new Error(`daemon exited:\n${daemon.tail()}`);
    if (web.exited) throw new Error(`web exited:\n${web.tail()}`);
    if (Date.now() > deadline) {
      throw new Error(`not all ${n} backends up after 120 s`);
    }
    try {
      const doc = await httpGet(webPort, "/view/api/state", 10_000);
      const up = doc.match(/"state":"up"/g)?.length ?? 0;
      if (up >= n) break;
    } catch {
      // not listening yet
    }
    await sleep(i < 10 ? 200 : 1000);
  }
  return { base, grpcAddr: `127.0.0.1:${grpcPort}`, daemon, web };
}

/** Nearest-rank quantile of an unsorted sample. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

async function render(flags: Map<string, string>): Promise<void> {
  const layout = {
    frontends: numFlag(flags, "frontends", 50),
    perFrontend: numFlag(flags, "per-frontend", 10),
  };
  const runs = numFlag(flags, "runs", 10);
  const cleanup = new Cleanup();
  const disarm = guard(cleanup, 15 * 60_000);
  try {
    const stack = await startStack(cleanup, layout);
    const browser = await launchBrowser();
    cleanup.add(() => browser.close());
    const rows = layout.frontends * layout.perFrontend;
    const times: number[] = [];
    // Every card open, as the page itself writes it into its cookie.
    const open = Object.fromEntries(
      Array.from(
        { length: layout.frontends },
        (_, f) => [`${stack.grpcAddr}/fe-${f}`, true],
      ),
    );
    for (let r = 0; r < runs; r++) {
      const ctx = await browser.newContext();
      await ctx.addCookies([{
        name: "maglev_zippy_open",
        value: encodeURIComponent(JSON.stringify(open)),
        url: stack.base,
      }]);
      const page = await ctx.newPage();
      if (stack.web.exited) {
        throw new Error(`maglev web exited:\n${stack.web.tail()}`);
      }
      await page.goto(`${stack.base}/view/`, { waitUntil: "commit" });
      const handle = await page.waitForFunction(
        (want: number) => {
          // Runs in the page; this file is not compiled with the DOM lib.
          const doc = (globalThis as unknown as {
            document: {
              querySelectorAll(s: string): Iterable<
                { textContent: string | null }
              >;
            };
          }).document;
          const cells = doc.querySelectorAll(
            "[data-frontend] tr[data-backend] .c-state",
          );
          let shown = 0;
          for (const c of cells) if (c.textContent?.includes("up")) shown++;
          return shown >= want ? performance.now() : false;
        },
        rows,
        { polling: 10, timeout: 30_000 },
      ).catch(async (e) => {
        // Say what the page showed instead of only "timeout".
        const seen = await page.evaluate(
          `document.querySelectorAll("tr[data-backend]").length + " rows, " +
            [...document.querySelectorAll("[data-frontend] tr[data-backend] .c-state")]
              .filter((c) => c.textContent.includes("up")).length + " up"`,
        );
        throw new Error(`page never showed ${rows} rows up: ${seen}`, {
          cause: e,
        });
      });
      times.push(await handle.jsonValue() as number);
      if (flags.has("verbose")) {
        // Where the time went: the page's own resource timings.
        console.log(
          `run ${r}: ${Math.round(times[r])} ms; ` + await page.evaluate(
            `performance.getEntriesByType("resource").map((e) =>
              e.name.replace(/^.*\\//, "") + " " + Math.round(e.startTime) +
              "+" + Math.round(e.duration)).join(", ")`,
          ),
        );
      }
      await ctx.close();
    }
    const line = {
      bench: "web-render",
      frontends: layout.frontends,
      perFrontend: layout.perFrontend,
      runs,
      firstMs: Math.round(times[0]),
      medianMs: Math.round(quantile(times, 0.5)),
      maxMs: Math.round(Math.max(...times)),
    };
    console.log(
      `first full render, ${layout.frontends}x${layout.perFrontend}: first ${line.firstMs} ms, median ${line.medianMs} ms, max ${line.maxMs} ms over ${runs} runs`,
    );
    console.log(JSON.stringify(line));
  } finally {
    await cleanup.run();
    disarm();
  }
}

/** One SSE reader: counts frames and records backend-event latencies. */
async function sseReader(
  url: string,
  signal: AbortSignal,
  latencies: number[],
  ready: () => void,
): Promise<{ frames: number; error?: string }> {
  let frames = 0;
  try {
    const res = await fetch(url, { signal });
    if (!res.ok || !res.body) return { frames, error: `HTTP ${res.status}` };
    ready();
    let buf = "";
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    // Aborting the fetch does not end a body already being read: cancel it.
    signal.addEventListener(
      "abort",
      () => void reader.cancel().catch(() => {}),
    );
    while (true) {
      const { value: chunk, done } = await reader.read();
      if (done) break;
      buf += chunk;
      let end;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        const frame = buf.slice(0, end);
        buf = buf.slice(end + 2);
        frames++;
        if (!frame.includes("event: backend")) continue;
        const data = frame.split("\n").find((l) => l.startsWith("data: "));
        if (!data) continue;
        const at = (JSON.parse(data.slice(6)) as {
          event?: { transition?: { atUnixNs?: string; code?: string } };
        }).event?.transition;
        // Only operator actions of the harness (pause/resume "NONE", disable
        // "disabled"); probe results are "L4OK" etc.
        if (!at?.atUnixNs) continue;
        if (at.code !== "NONE" && at.code !== "disabled") continue;
        latencies.push(Date.now() - Number(BigInt(at.atUnixNs) / 1000n) / 1000);
      }
    }
    return { frames };
  } catch (e) {
    if (signal.aborted) return { frames };
    return { frames, error: e instanceof Error ? e.message : String(e) };
  }
}

async function fanout(flags: Map<string, string>): Promise<void> {
  const backends = numFlag(flags, "backends", 1000);
  const perFrontend = 10;
  const layout = {
    frontends: Math.ceil(backends / perFrontend),
    perFrontend,
  };
  const clients = numFlag(flags, "clients", 200);
  const changes = numFlag(flags, "changes", 200);
  const gap = numFlag(flags, "gap", 100);
  const settle = numFlag(flags, "settle", 3000);
  const cleanup = new Cleanup();
  const disarm = guard(cleanup, 15 * 60_000);
  try {
    const stack = await startStack(cleanup, layout);
    console.error(`stack up: ${backends} backends`);
    const abort = new AbortController();
    cleanup.add(() => Promise.resolve(abort.abort()));
    const latencies: number[] = [];
    let connected = 0;
    const readers = Array.from(
      { length: clients },
      () =>
        sseReader(
          `${stack.base}/view/api/events`,
          abort.signal,
          latencies,
          () => connected++,
        ),
    );
    const deadline = Date.now() + 60_000;
    while (connected < clients && Date.now() < deadline) await sleep(50);
    if (connected < clients) {
      throw new Error(`only ${connected}/${clients} SSE clients connected`);
    }
    console.error(`${clients} SSE clients connected`);
    // Steady state, not the connect burst: opening 200 streams costs this
    // harness about a second of CPU, which would show up as latency of the
    // first changes (measured: web ~0.25 s CPU, harness ~0.8 s).
    await sleep(settle);
    const { client, close } = connectMaglev(stack.grpcAddr);
    const memBefore = readMemory(stack.web.process.pid);
    try {
      for (let i = 0; i < changes; i++) {
        const opts = { signal: AbortSignal.timeout(5000) };
        if (i % 2 === 0) await client.pauseBackend({ name: "be-0" }, opts);
        else await client.resumeBackend({ name: "be-0" }, opts);
        await sleep(gap);
      }
      // Give the last change time to reach everyone, bounded.
      const want = changes * clients;
      const end = Date.now() + 10_000;
      while (latencies.length < want && Date.now() < end) await sleep(50);
    } finally {
      close();
    }
    const memAfter = readMemory(stack.web.process.pid);
    console.error(`${latencies.length} deliveries; stopping readers`);
    abort.abort();
    const results = await Promise.race([
      Promise.all(readers),
      sleep(10_000).then(() => {
        throw new Error("SSE readers did not stop within 10 s of abort");
      }),
    ]);
    const errors = results.filter((r) => r.error);
    const line = {
      bench: "web-fanout",
      clients,
      backends,
      changes,
      gapMs: gap,
      delivered: latencies.length,
      expected: changes * clients,
      readerErrors: errors.length,
      p50Ms: Math.round(quantile(latencies, 0.5) * 10) / 10,
      p99Ms: Math.round(quantile(latencies, 0.99) * 10) / 10,
      maxMs: Math.round(Math.max(...latencies) * 10) / 10,
      webRssMiB: Math.round(memAfter.rssKiB / 1024),
      webRssBeforeMiB: Math.round(memBefore.rssKiB / 1024),
    };
    console.log(
      `SSE fan-out to ${clients} clients while probing ${backends} backends: ${line.delivered}/${line.expected} delivered, p50 ${line.p50Ms} ms, p99 ${line.p99Ms} ms, max ${line.maxMs} ms, web RSS ${line.webRssMiB} MiB`,
    );
    if (errors.length) console.log(`reader errors: ${errors[0].error}`);
    console.log(JSON.stringify(line));
  } finally {
    await cleanup.run();
    disarm();
  }
}

if (import.meta.main) {
  const [mode, ...rest] = Deno.args;
  const flags = parseArgs(rest);
  if (mode === "render") await render(flags);
  else if (mode === "fanout") await fanout(flags);
  else {
    console.error("usage: web_load.ts render|fanout [--flags]");
    Deno.exit(2);
  }
}
