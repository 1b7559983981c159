/**
 * `maglev tester` (and `maglevt`): loads the configs, works out the VIPs,
 * probes them until stopped, and shows the results live on a terminal or as
 * JSON lines elsewhere. Needs no daemon; sends traffic to nothing but the
 * configs' VIPs.
 */
import { UsageError } from "../cli/flags.ts";
import { formatConfigErrors, loadConfigFile } from "../config/mod.ts";
import { createClientProber } from "../probe/mod.ts";
import { startEngine } from "./engine.ts";
import {
  parseTesterOptions,
  TESTER_EXIT,
  testerHelp,
  type TesterOptions,
} from "./flags.ts";
import { TesterModel, type VipView } from "./model.ts";
import { type FrameView, renderFrame } from "./render.ts";
import { Screen, writeStdout } from "./screen.ts";
import { recentWindowMs } from "./tally.ts";
import {
  buildTargets,
  type ConfigSource,
  type Skipped,
  type Target,
} from "./targets.ts";

/** Latency window of the live view. */
export const ROLLING_WINDOW_MS = 30_000;
/** How often the live view is redrawn. */
const REDRAW_MS = 250;

/** Streams and facts `runTester` uses; injectable for tests. */
export interface TesterEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdoutIsTerminal: boolean;
  /** Writes text to stdout (no newline added). */
  readonly out: (text: string) => void;
  /** Writes one line to stderr. */
  readonly err: (line: string) => void;
}

function realEnvironment(): TesterEnvironment {
  return {
    env: Deno.env.toObject(),
    stdoutIsTerminal: Deno.stdout.isTerminal(),
    out: writeStdout,
    err: (line) => console.error(line),
  };
}

/**
 * Runs `maglev tester` with the words after "tester"; returns the exit
 * status: 0 when stopped (q, Ctrl-C, SIGTERM, --duration), 1 when a config
 * cannot be used or nothing is left to probe, 2 for a usage error.
 */
export async function runTester(
  args: readonly string[],
  environment: TesterEnvironment = realEnvironment(),
): Promise<number> {
  const { err } = environment;
  let o: TesterOptions;
  try {
    o = parseTesterOptions(args, environment.env);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`maglev tester: ${e.message}; see maglev tester --help`);
      return TESTER_EXIT.usage;
    }
    throw e;
  }
  if (o.help) {
    environment.out(testerHelp() + "\n");
    return TESTER_EXIT.ok;
  }
  const sources: ConfigSource[] = [];
  let bad = false;
  for (const file of o.configs) {
    // VPP settings do not matter here: only frontends are read.
    const r = await loadConfigFile(file, { vppEnabled: false });
    if (r.ok) sources.push({ file, frontends: r.config.frontends });
    else {
      err(formatConfigErrors(r.errors));
      bad = true;
    }
  }
  if (bad) return TESTER_EXIT.failed;
  const { targets, skipped } = buildTargets(sources, o.rules);
  const json = o.output === "json" ||
    (o.output === "auto" && !environment.stdoutIsTerminal);
  // The live view lists them when it ends, where they stay visible.
  if (json || targets.length === 0) {
    for (const s of skipped) err(skippedLine(s));
  }
  if (targets.length === 0) {
    err(
      `maglev tester: nothing to probe: no frontend${
        o.rules.filter ? ` matching --filter ${o.rules.filter.source}` : ""
      } in ${o.configs.join(", ")} has a VIP that can be probed`,
    );
    return TESTER_EXIT.failed;
  }
  return json
    ? await runJson(targets, o, environment)
    : await runLive(targets, skipped, o, environment);
}

/** One line saying which frontend is not probed and why. */
export function skippedLine(s: Skipped): string {
  return `maglev tester: skipping frontend ${s.frontend} (${s.vip}) of ${s.file}: ${s.reason}`;
}

/** Stops on SIGINT / SIGTERM / --duration; cleans the listeners up. */
function stopper(o: TesterOptions): {
  readonly signal: AbortSignal;
  stop(): void;
  dispose(): void;
} {
  const abort = new AbortController();
  const stop = () => abort.abort();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, stop);
  const timer = o.durationMs === undefined
    ? undefined
    : setTimeout(stop, o.durationMs);
  return {
    signal: abort.signal,
    stop,
    dispose() {
      clearTimeout(timer);
      for (const s of signals) Deno.removeSignalListener(s, stop);
    },
  };
}

function newModel(targets: readonly Target[], o: TesterOptions): TesterModel {
  return new TesterModel(targets, {
    tallyHeader: o.header !== undefined,
    rollingWindowMs: ROLLING_WINDOW_MS,
    recentWindowMs: recentWindowMs(o.intervalMs),
  }, Date.now());
}

/** JSON mode: one line per VIP per report interval, a final set at the end. */
async function runJson(
  targets: readonly Target[],
  o: TesterOptions,
  environment: TesterEnvironment,
): Promise<number> {
  const model = newModel(targets, o);
  const s = stopper(o);
  let closed = false;
  const emit = (final: boolean) => {
    const lines = model.takeReports(Date.now(), final)
      .map((r) => JSON.stringify(r) + "\n");
    if (closed) return;
    try {
      environment.out(lines.join(""));
    } catch {
      // The reader went away (`| head`): nobody to report to, so stop.
      closed = true;
      s.stop();
    }
  };
  const prober = createClientProber();
  const report = setInterval(() => emit(false), o.reportIntervalMs);
  try {
    const engine = startEngine(targets, o, {
      prober,
      onResult: (i, r, at) => model.record(i, r, at),
    }, s.signal);
    await engine.done;
  } finally {
    clearInterval(report);
    s.dispose();
    prober.close();
  }
  emit(true);
  return TESTER_EXIT.ok;
}

/** The live full-screen view, and a summary on the normal screen after. */
async function runLive(
  targets: readonly Target[],
  skipped: readonly Skipped[],
  o: TesterOptions,
  environment: TesterEnvironment,
): Promise<number> {
  const model = newModel(targets, o);
  const startedMs = Date.now();
  const screen = new Screen();
  const style = {
    color: !environment.env.NO_COLOR,
    utcOffsetMin: -new Date().getTimezoneOffset(),
  };
  const frame = (): FrameView => {
    const nowMs = Date.now();
    return {
      nowMs,
      startedMs,
      settings: {
        intervalMs: o.intervalMs,
        timeoutMs: o.timeoutMs,
        keepAlive: o.keepAlive,
        header: o.header,
        rollingWindowMs: ROLLING_WINDOW_MS,
        skipped: skipped.length,
      },
      vips: model.views(nowMs),
      anomalies: model.recentAnomalies(100),
    };
  };
  const draw = () => screen.draw(renderFrame(frame(), screen.size(), style));
  const prober = createClientProber();
  const s = stopper(o);
  let redraw: ReturnType<typeof setInterval> | undefined;
  try {
    screen.open();
    screen.watchKeys(s.stop);
    Deno.addSignalListener("SIGWINCH", draw);
    draw();
    redraw = setInterval(draw, REDRAW_MS);
    const engine = startEngine(targets, o, {
      prober,
      onResult: (i, r, at) => model.record(i, r, at),
    }, s.signal);
    await engine.done;
  } finally {
    clearInterval(redraw);
    Deno.removeSignalListener("SIGWINCH", draw);
    s.dispose();
    prober.close();
    screen.close();
  }
  const views = model.views(Date.now());
  environment.out(summary(views, o.header).join("\n") + "\n");
  for (const sk of skipped) environment.err(skippedLine(sk));
  return TESTER_EXIT.ok;
}

/** What is printed on the normal screen when the live view ends. */
export function summary(
  views: readonly VipView[],
  header: string | undefined,
): string[] {
  return views.map((v) => {
    const base = `${v.target.key} (${
      v.target.frontends.join(",")
    }): ${v.probes} probes, ${v.failures} failed`;
    if (header === undefined || v.tally.length === 0) return base;
    const tally = v.tally.map((e) => `${e.value} ${e.total}`).join(", ");
    return `${base}; ${header}: ${tally}`;
  });
}
