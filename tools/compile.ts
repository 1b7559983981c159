/**
 * `deno task compile`: maglev as one native executable,
 * `dist/maglev-compiled/maglev`, plus `maglevd`, `maglevc`,
 * `maglevd-frontend` and `maglevt` symlinks beside it. It compiles the same stamped
 * bundle `deno task bundle` writes, so both builds report the same version.
 *
 * ```sh
 * deno run -A tools/compile.ts [--out-dir DIR]
 * ```
 *
 * `deno compile` glues the program onto "denort", the Deno runtime without
 * the CLI, which it downloads from dl.deno.land unless DENORT_BIN names a
 * local copy. Offline, set DENORT_BIN to a denort of this Deno version and
 * target, or use `deno task bundle`, which needs no download.
 * @module
 */
import {
  absolute,
  bundleScript,
  linkProgramNames,
  parseToolArgs,
  prepareOutDir,
  PROGRAM_LINKS,
  requireExecutable,
  RUN_FLAGS,
  sizeMB,
} from "./bundle.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** How long the compiled program may take to print its version. */
const SELF_TEST_TIMEOUT_MS = 30_000;

const TARGET = Deno.build.target;
const DENORT_ZIP =
  `https://dl.deno.land/release/v${Deno.version.deno}/denort-${TARGET}.zip`;
const ADVICE =
  `Set DENORT_BIN to a denort ${Deno.version.deno} binary for ${TARGET} ` +
  `(unzipped from ${DENORT_ZIP}), or use \`deno task bundle\`, ` +
  "which needs no download.";

/** A failure with a message for the operator (no stack trace). */
class CompileError extends Error {}

/** Checks DENORT_BIN, when set, before any work is done. */
async function checkDenort(path: string): Promise<void> {
  try {
    await requireExecutable(path, `DENORT_BIN=${path}`);
  } catch (e) {
    throw new CompileError(`${(e as Error).message}. ${ADVICE}`);
  }
}

/**
 * Runs `OUT version`. A wrong base binary (the full `deno` instead of
 * denort) still compiles, but the result parses its arguments as Deno's CLI:
 * only running it tells.
 */
async function selfTest(exe: string): Promise<string | undefined> {
  try {
    const r = await new Deno.Command(exe, {
      args: ["version"],
      // Nothing inherited may change what it runs (MAGLEV_ARGV0 would).
      clearEnv: true,
      env: { NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(SELF_TEST_TIMEOUT_MS),
    }).output();
    const out = new TextDecoder().decode(r.stdout).trim();
    if (r.success && /^maglev \S+ \(commit /.test(out)) return undefined;
    const err = new TextDecoder().decode(r.stderr).trim();
    return (out || err || `exit ${r.code}`).split("\n")
      .filter((l) => l.trim() !== "").slice(0, 2).join(" | ");
  } catch (e) {
    return (e as Error).message;
  }
}

/** Compiles into `outDir`; returns the summary line. */
async function compile(outDir: string): Promise<string> {
  const denort = Deno.env.get("DENORT_BIN");
  if (denort !== undefined) await checkDenort(denort);

  const tmp = await Deno.makeTempDir({ prefix: "maglev-compile-" });
  try {
    const { commit, date } = await bundleScript(`${tmp}/maglev.js`);
    // Only the executable and its links: an old build's files go, anything
    // else in the directory stops the build.
    await prepareOutDir(outDir, ["maglev", ...PROGRAM_LINKS]);
    const exe = `${outDir}/maglev`;
    // Same run-time flags as the bundle's launcher; --no-config also keeps
    // the repository's deno.json (npm imports, node_modules) out of it.
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "compile",
        ...RUN_FLAGS,
        "--output",
        exe,
        `${tmp}/maglev.js`,
      ],
      cwd: tmp,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!r.success) {
      await Deno.remove(exe).catch(() => {});
      // deno compile lists the embedded files first; the error is what helps.
      const err = new TextDecoder().decode(r.stderr).trim()
        .replace(/^[\s\S]*?(?=^error:)/m, "")
        .replace(/\n+Stack backtrace:[\s\S]*$/, "");
      const why = denort === undefined
        ? "deno compile could not build (it downloads its runtime base, " +
          `denort, from ${DENORT_ZIP}, which needs the network)`
        : `deno compile failed with DENORT_BIN=${denort}`;
      throw new CompileError(`${why}:\n${err}\n\n${ADVICE}`);
    }
    const bad = await selfTest(exe);
    if (bad !== undefined) {
      await Deno.remove(exe).catch(() => {});
      throw new CompileError(
        `the compiled program does not run maglev (\`maglev version\` said: ${bad}); ` +
          "its runtime base is wrong. DENORT_BIN must be denort (the runtime " +
          "without the CLI), not the deno executable. " + ADVICE,
      );
    }
    await linkProgramNames(outDir, "maglev");
    return `wrote ${exe} (${await sizeMB(exe)} MB) and links ${
      PROGRAM_LINKS.join(" ")
    } (commit ${commit}, built ${date})`;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

if (import.meta.main) {
  try {
    const args = parseToolArgs(Deno.args, ["out-dir"]);
    if (args.help) {
      console.log(
        "Usage: deno task compile [--out-dir DIR]\n\n" +
          "Writes DIR/maglev (default dist/maglev-compiled/) and the links " +
          `${PROGRAM_LINKS.join(", ")}.\n` +
          ADVICE.replace(/^Set/, "Offline, set"),
      );
      Deno.exit(0);
    }
    const outDir = absolute(
      args.values.get("out-dir") ?? `${ROOT}dist/maglev-compiled`,
    );
    console.log(await compile(outDir));
  } catch (e) {
    console.error(`compile: ${e instanceof Error ? e.message : String(e)}`);
    if (!(e instanceof CompileError) && Deno.env.get("MAGLEV_DEBUG")) {
      console.error(e);
    }
    Deno.exit(1);
  }
}
