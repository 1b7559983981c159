/**
 * Runs the probe load benchmark over a matrix of check types and sizes,
 * maglev and HAProxy side by side against one sink per size, repeated, and
 * prints the median of each configuration as a Markdown table (the one in
 * docs/performance.md).
 *
 * ```sh
 * deno run -A tests/bench/run_matrix.ts --reps 3 --out /tmp/maglev-bench.jsonl
 * deno run -A tests/bench/run_matrix.ts --types http --sizes 5000 --reps 1
 * deno run -A tests/bench/run_matrix.ts --summarize /tmp/maglev-bench.jsonl
 * ```
 *
 * Flags: `--types tcp,http` [tcp,http], `--sizes 1000,5000` [1000,5000],
 * `--reps N` [3], `--warmup S` [20], `--seconds S` [30], `--out FILE`
 * (JSON lines, appended), `--summarize FILE` (only print the table of an
 * earlier run). The daemon always runs from a snapshot of `src/`.
 *
 * Not a test or bench file: the name matches neither `*_test.ts` nor
 * `*_bench.ts`.
 * @module
 */
import {
  Cleanup,
  type LoadResult,
  numFlag,
  parseArgs,
  sleep,
  snapshotSource,
} from "./_lib.ts";
import { runLoad } from "./probe_load.ts";

function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function range(xs: number[], digits: number): string {
  const v = xs.filter((x) => Number.isFinite(x));
  if (v.length < 2) return "";
  return ` (${Math.min(...v).toFixed(digits)}–${
    Math.max(...v).toFixed(digits)
  })`;
}

function num(x: number, digits: number): string {
  if (Number.isNaN(x)) return "–";
  if (x === Infinity) return "> 1000";
  return x.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Median per (type, backends, checker), as a Markdown table with HAProxy ratios. */
export function summarize(results: readonly LoadResult[]): string {
  const key = (r: LoadResult) => `${r.type}\0${r.backends}`;
  const groups = new Map<string, LoadResult[]>();
  for (const r of results) {
    const k = key(r);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  const lines = [
    "| type | backends | checker | runs | probes/s | failures/s | CPU µs/probe (range) | user / sys µs | CPU cores | lateness p50 / p99 ms | RSS / HWM MiB | CPU vs HAProxy | RSS vs HAProxy |",
    "|---|---:|---|---:|---:|---:|---|---|---:|---|---|---:|---:|",
  ];
  const sorted = [...groups.entries()].sort((a, b) => {
    const [ta, na] = a[0].split("\0");
    const [tb, nb] = b[0].split("\0");
    return ta === tb ? Number(na) - Number(nb) : ta < tb ? 1 : -1;
  });
  for (const [, rs] of sorted) {
    const by = (c: string) => rs.filter((r) => r.checker === c);
    const hap = by("haproxy");
    const hapCpu = median(hap.map((r) => r.cpuUsPerProbe));
    const hapRss = median(hap.map((r) => r.rssMiB));
    for (const c of ["maglev", "haproxy"]) {
      const g = by(c);
      if (g.length === 0) continue;
      const cpu = median(g.map((r) => r.cpuUsPerProbe));
      const rss = median(g.map((r) => r.rssMiB));
      const f = (sel: (r: LoadResult) => number, d: number) =>
        num(median(g.map(sel)), d);
      lines.push(
        `| ${g[0].type} | ${num(g[0].backends, 0)} | ${c} | ${g.length} | ${
          f((r) => r.probesPerSecond, 0)
        } | ${f((r) => r.failureRate, 1)} | ${num(cpu, 1)}${
          range(g.map((r) => r.cpuUsPerProbe), 0)
        } | ${f((r) => r.userUsPerProbe, 1)} / ${
          f((r) => r.sysUsPerProbe, 1)
        } | ${f((r) => r.cpuCores, 2)} | ${f((r) => r.lagP50Ms, 1)} / ${
          f((r) => r.lagP99Ms, 0)
        }${range(g.map((r) => r.lagP99Ms), 0)} | ${num(rss, 0)} / ${
          f((r) => r.hwmMiB, 0)
        } | ${c === "maglev" ? num(cpu / hapCpu, 2) + "×" : "1×"} | ${
          c === "maglev" ? num(rss / hapRss, 1) + "×" : "1×"
        } |`,
      );
    }
  }
  return lines.join("\n");
}

async function main(argv: string[]): Promise<number> {
  const f = parseArgs(argv);
  const summarizeFile = f.get("summarize");
  if (summarizeFile) {
    const rs = Deno.readTextFileSync(summarizeFile).split("\n")
      .filter((l) => l.trim()).map((l) => JSON.parse(l) as LoadResult);
    console.log(summarize(rs));
    return 0;
  }
  const types = (f.get("types") ?? "tcp,http").split(",") as ("tcp" | "http")[];
  const sizes = (f.get("sizes") ?? "1000,5000").split(",").map(Number);
  const reps = numFlag(f, "reps", 3);
  const out = f.get("out");
  const all: LoadResult[] = [];
  // One snapshot of src/ for the whole matrix: every run measures the same code.
  const snap = new Cleanup();
  try {
    const source = await snapshotSource(snap);
    console.error(`daemon source snapshot ${source.hash}`);
    await runMatrix(f, types, sizes, reps, source, out, all);
  } finally {
    await snap.run();
  }
  console.log(summarize(all));
  return 0;
}

async function runMatrix(
  f: Map<string, string>,
  types: readonly ("tcp" | "http")[],
  sizes: readonly number[],
  reps: number,
  source: { main: string; hash: string },
  out: string | undefined,
  all: LoadResult[],
): Promise<void> {
  for (let rep = 0; rep < reps; rep++) {
    for (const type of types) {
      for (const backends of sizes) {
        console.error(`== rep ${rep + 1}/${reps}: ${type} x ${backends}`);
        const rs = await runLoad(
          {
            type,
            backends,
            intervalMs: 1000,
            timeoutMs: 500,
            warmupS: numFlag(f, "warmup", 20),
            seconds: numFlag(f, "seconds", 30),
            basePort: 20000,
            snapshot: true,
            source,
          },
          ["maglev", "haproxy"],
          "nginx",
          out,
        );
        all.push(...rs);
        // TIME_WAIT from the previous size drains while the next one starts.
        await sleep(5000);
      }
    }
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
