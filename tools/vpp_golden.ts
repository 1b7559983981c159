/**
 * Maintains the VPP wire vectors the codec tests read from
 * tests/vpp/golden/ (the repository must pass its tests wherever it is
 * cloned, so the bytes live here, not in a reference folder beside it).
 *
 *   deno run -A tools/vpp_golden.ts import DIR
 *       copies DIR/golden/*.json and DIR/layouts.json (a VPP reference
 *       capture) into tests/vpp/golden/ and tests/vpp/layouts.json, keeping the facts (bytes, fields,
 *       CRCs, ids) and dropping the explanatory prose keys.
 *       Run `deno fmt tests/vpp/` afterwards.
 *
 *   deno run -A tools/vpp_golden.ts capture [--vpp DIR] [--write] [--json] [--golden DIR]
 *       re-captures the vectors from a real VPP, so they can be checked
 *       against (and refreshed from) the VPP maglev runs with rather than
 *       trusted as imported. It starts a VPP of its own (DIR, else
 *       $MAGLEV_TEST_VPP, else FD.io's system packages; the same lookup as
 *       tests/helpers/realvpp.ts), connects through src/vpp/ffi.ts and
 *       replays the stored request vectors in the order that recreates the
 *       situation they were captured in: lb_conf_get on a fresh VPP,
 *       lb_conf, the IPv4 and IPv6 VIPs and ASes, the dumps, the route
 *       lookups, `show lb vips verbose` and `show lb`, the errors.json cases,
 *       the quirks, the weight changes, the deletes (tools/vpp_capture.ts,
 *       SCRIPT). Each request is sent with the message id this VPP assigns
 *       and the context of its stored reply. Every reply is compared byte
 *       for byte with the stored reply of the same situation, except the
 *       fields that vary per run (VARYING there: message ids, client_index,
 *       VPP's pid, build date, the uptime in a deleted AS's in_use_since,
 *       and the VIP/dpo indexes of CLI text, which is compared with them
 *       masked). A few requests the capture described but did not store on
 *       their own (the route lookups of 203.0.113.7, `show lb`, the quirk
 *       VIPs) are derived from a stored vector with maglev's codec.
 *
 *       Prints one line per vector: `same`, `differs: <fields>` or
 *       `not captured (why)` (requests, stats-segment and timing records,
 *       the crash); `--json` prints the report as JSON instead. Exits 0
 *       only if nothing differs, 1 if something does, 2 on a usage error,
 *       when VPP cannot be started or reached, or when a step the script
 *       builds on is refused. With `--write` it
 *       rewrites the `hex`/`fields` (or `reply_hex`, `details_hex`, …) of
 *       the vectors that differ, fields decoded with maglev's codec, keeps
 *       every other key and the stored bytes of the varying fields, and
 *       formats the files with deno fmt. VPP is stopped and its directory
 *       and /dev/shm segments removed in every case, Ctrl-C included. It
 *       needs root (VPP) and takes a few seconds. `--golden DIR` works
 *       on a copy of the vectors instead of tests/vpp/golden/ (the test
 *       uses it to prove that differences are found and repaired).
 *
 * tests/vpp_real/golden_capture_test.ts runs `capture --json` against the
 * test VPP and requires every captured vector to be `same`.
 */
import { GOLDEN_DIR, LAYOUTS_FILE } from "../src/vpp/_golden.ts";
import { captureGolden, formatResult } from "./vpp_capture.ts";

/** Keys that carry a human explanation rather than a wire fact. */
const PROSE_KEYS = new Set([
  "note",
  "explanation",
  "truncated_explanation",
  "unknown_explanation",
  "cli_explanation",
  "traffic_note",
  "dump_sequence",
  "title",
]);

/** A JSON value with the prose keys removed at every depth. */
export function withoutProse(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutProse);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (!PROSE_KEYS.has(k)) out[k] = withoutProse(x);
    }
    return out;
  }
  return v;
}

async function importFrom(dir: string): Promise<void> {
  const src = dir.endsWith("/") ? dir : `${dir}/`;
  await Deno.mkdir(GOLDEN_DIR, { recursive: true });
  let n = 0;
  for await (const e of Deno.readDir(`${src}golden`)) {
    if (!e.isFile || !e.name.endsWith(".json")) continue;
    const v = JSON.parse(await Deno.readTextFile(`${src}golden/${e.name}`));
    await Deno.writeTextFile(
      new URL(e.name, GOLDEN_DIR),
      JSON.stringify(withoutProse(v), null, 1) + "\n",
    );
    n++;
  }
  const layouts = JSON.parse(await Deno.readTextFile(`${src}layouts.json`));
  await Deno.writeTextFile(
    LAYOUTS_FILE,
    JSON.stringify(withoutProse(layouts), null, 1) + "\n",
  );
  console.error(`imported ${n} vectors and layouts.json into ${GOLDEN_DIR}`);
}

const USAGE = "usage: vpp_golden.ts import DIR\n" +
  "       vpp_golden.ts capture [--vpp DIR] [--write] [--json] [--golden DIR]";

async function capture(args: string[]): Promise<number> {
  let vppDir: string | undefined;
  let goldenDir: URL | undefined;
  let write = false, json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--write") write = true;
    else if (a === "--json") json = true;
    else if (a === "--vpp" && i + 1 < args.length) vppDir = args[++i];
    else if (a.startsWith("--vpp=")) vppDir = a.slice("--vpp=".length);
    else if (a === "--golden" && i + 1 < args.length) {
      const d = args[++i];
      goldenDir = new URL(
        d.endsWith("/") ? d : `${d}/`,
        `file://${Deno.cwd()}/`,
      );
    } else {
      console.error(USAGE);
      return 2;
    }
  }
  // Ctrl-C or a kill must still stop the VPP this run started.
  const abort = new AbortController();
  const onSignal = () => abort.abort(new Error("interrupted"));
  for (const s of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(s, onSignal);
  }
  try {
    const report = await captureGolden({
      vppDir,
      goldenDir,
      write,
      signal: abort.signal,
      log: json ? undefined : (l) => console.error(l),
    });
    if (json) console.log(JSON.stringify(report, null, 1));
    else {
      for (const r of report.results) console.log(formatResult(r));
      const n = (s: string) =>
        report.results.filter((r) => r.status === s).length;
      console.log(
        `${n("same")} same, ${n("differs")} differ, ${
          n("not captured")
        } not captured (${report.vppVersion.split("\n")[0]})`,
      );
      for (const f of report.written) {
        console.log(`wrote ${f}`);
      }
    }
    return report.results.some((r) => r.status === "differs") ? 1 : 0;
  } catch (e) {
    console.error(`capture failed: ${e instanceof Error ? e.message : e}`);
    return 2;
  } finally {
    for (const s of ["SIGINT", "SIGTERM"] as const) {
      Deno.removeSignalListener(s, onSignal);
    }
  }
}

if (import.meta.main) {
  const [cmd, ...rest] = Deno.args;
  if (cmd === "import" && rest.length === 1) {
    await importFrom(rest[0]);
  } else if (cmd === "capture") {
    Deno.exit(await capture(rest));
  } else {
    console.error(USAGE);
    Deno.exit(2);
  }
}
