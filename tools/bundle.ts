/**
 * `deno task bundle`: maglev as a self-contained, offline release directory
 * (default `dist/maglev/`):
 *
 * | entry              | what                                                   |
 * | ------------------ | ------------------------------------------------------ |
 * | `maglev.js`        | the whole program as one file, commit and date stamped |
 * | `deno`             | the Deno runtime that runs it (a copy, mode 0755)      |
 * | `maglev`           | POSIX sh launcher: `deno run` with the right flags     |
 * | `maglevd`          | symlink to `maglev`: the daemon                        |
 * | `maglevc`          | symlink to `maglev`: the operator shell                |
 * | `maglevd-frontend` | symlink to `maglev`: the dashboard                     |
 *
 * The directory can be copied anywhere (e.g. /usr/lib/maglev) and run from
 * there or through symlinks to it; it needs nothing from the network or the
 * source tree.
 *
 * ```sh
 * deno run -A tools/bundle.ts [--out-dir DIR] [--deno PATH]
 * ```
 *
 * MAGLEV_COMMIT and MAGLEV_BUILD_DATE override the stamped commit and date
 * (reproducible builds, packaging from a tarball without .git).
 * @module
 */

const ROOT = new URL("../", import.meta.url).pathname;

/** Names the original tools had; each is a symlink to the launcher. */
export const PROGRAM_LINKS: readonly string[] = [
  "maglevd",
  "maglevc",
  "maglevd-frontend",
  "maglevt",
];

/** Everything the release directory holds, and nothing else. */
export const RELEASE_LAYOUT: readonly string[] = [
  "maglev.js",
  "deno",
  "maglev",
  ...PROGRAM_LINKS,
];

/**
 * The run-time flags of a release (the launcher's `deno run`, and what
 * `deno task compile` bakes in), and why:
 * --allow-all: the daemon needs net, FFI (libvppapiclient, raw ICMP
 * sockets), env, read/write and sys;
 * --no-config / --no-lock: never pick up a deno.json, package.json or
 * deno.lock around the current directory or the install directory;
 * --no-remote / --no-npm: the bundle is complete, so a run never fetches.
 */
export const RUN_FLAGS: readonly string[] = [
  "--allow-all",
  "--no-config",
  "--no-lock",
  "--no-remote",
  "--no-npm",
];

/** Throws unless `path` is an executable regular file; `label` names it. */
export async function requireExecutable(
  path: string,
  label: string,
): Promise<void> {
  let info;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    throw new Error(`${label}: ${(e as Error).message}`);
  }
  if (!info.isFile || ((info.mode ?? 0o755) & 0o111) === 0) {
    throw new Error(`${label} is not an executable file`);
  }
}

/** The launcher, `DIR/maglev` (flags: RUN_FLAGS). */
export const LAUNCHER = `#!/bin/sh
# maglev launcher, written by tools/bundle.ts: runs maglev.js on the Deno
# runtime shipped beside it. maglevd, maglevc and maglevd-frontend are
# symlinks to this file and the program picks its command from the name it
# was started as, so take the name before resolving symlinks.
name=$(basename -- "$0")
dir=$(dirname -- "$(readlink -f -- "$0")")
MAGLEV_ARGV0=$name
# A service: never look for a newer Deno, never ask for a permission.
DENO_NO_UPDATE_CHECK=1
DENO_NO_PROMPT=1
export MAGLEV_ARGV0 DENO_NO_UPDATE_CHECK DENO_NO_PROMPT
# Deno's cache only makes start-up faster (V8 code cache); where it cannot
# write, Deno keeps it in memory. Under systemd, CacheDirectory= gives the
# service a private one. Otherwise Deno's default applies: $XDG_CACHE_HOME/deno
# or ~/.cache/deno (the passwd home when HOME is unset). Never a shared
# directory such as /tmp: a cache planted there would be code we run.
if [ -z "\${DENO_DIR:-}" ] && [ -n "\${CACHE_DIRECTORY:-}" ]; then
  DENO_DIR=\${CACHE_DIRECTORY%%:*}/deno
  export DENO_DIR
fi
exec "$dir/deno" run ${RUN_FLAGS.join(" ")} \\
  "$dir/maglev.js" "$@"
`;

/** What a build stamped into the version constants. */
export interface Stamp {
  readonly commit: string;
  readonly date: string;
}

async function git(args: string[]): Promise<string | undefined> {
  try {
    const r = await new Deno.Command("git", { args, cwd: ROOT, stderr: "null" })
      .output();
    return r.success ? new TextDecoder().decode(r.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Builds the dashboard assets, bundles src/main.ts into the file `out` and
 * stamps the commit and build date into it. Throws on any failure.
 */
export async function bundleScript(out: string): Promise<Stamp> {
  // The dashboard's assets are generated (and git-ignored): build them first
  // so the bundle embeds the current web/ app.
  const web = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}tools/web_build.ts`],
    cwd: ROOT,
    stdout: "null",
    stderr: "inherit",
  }).output();
  if (!web.success) throw new Error("web build failed");

  const bundled = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "deno",
      "--output",
      out,
      `${ROOT}src/main.ts`,
    ],
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!bundled.success) throw new Error("deno bundle failed");

  const commit = Deno.env.get("MAGLEV_COMMIT") ??
    (await git(["rev-parse", "--short=12", "HEAD"])) ?? "unknown";
  // An explicit MAGLEV_COMMIT names exactly what was built: no suffix.
  const dirty = !Deno.env.get("MAGLEV_COMMIT") &&
      (await git(["status", "--porcelain", "--untracked-files=no"]))
    ? "-dirty"
    : "";
  const date = Deno.env.get("MAGLEV_BUILD_DATE") ??
    new Date().toISOString().replace(/\.\d+Z$/, "Z");
  let text = await Deno.readTextFile(out);
  const stamp = (name: string, value: string) => {
    const re = new RegExp(`(\\b${name}\\s*=\\s*)"unknown"`);
    if (!re.test(text)) {
      throw new Error(`cannot find the ${name} constant to stamp`);
    }
    text = text.replace(re, `$1${JSON.stringify(value)}`);
  };
  stamp("COMMIT", commit + dirty);
  stamp("BUILD_DATE", date);
  await Deno.writeTextFile(out, text);
  return { commit: commit + dirty, date };
}

/**
 * Makes `dir` ready to receive exactly `entries`: creates it, or removes
 * those entries from an earlier build. Refuses a directory that holds
 * anything else, so a mistyped --out-dir never wipes unrelated files and
 * the result never carries stale extras.
 */
export async function prepareOutDir(
  dir: string,
  entries: readonly string[],
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const foreign: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!entries.includes(e.name)) foreign.push(e.name);
  }
  if (foreign.length > 0) {
    throw new Error(
      `${dir} holds files a build does not write (${
        foreign.slice(0, 5).join(", ")
      }); remove them or choose another --out-dir`,
    );
  }
  for (const name of entries) {
    await Deno.remove(`${dir}/${name}`).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
}

/** Adds the original tools' names to `dir` as relative symlinks to `target`. */
export async function linkProgramNames(
  dir: string,
  target: string,
): Promise<void> {
  for (const name of PROGRAM_LINKS) {
    await Deno.symlink(target, `${dir}/${name}`);
  }
}

/** Options of `buildRelease`. */
export interface ReleaseOptions {
  /** The directory to write (see RELEASE_LAYOUT). */
  readonly outDir: string;
  /** The Deno executable to ship as DIR/deno. */
  readonly deno: string;
}

/** Writes the release directory; returns what was stamped. */
export async function buildRelease(opts: ReleaseOptions): Promise<Stamp> {
  const { outDir: dir, deno } = opts;
  await requireExecutable(deno, `--deno ${deno}`);
  // Rebuilding with --deno DIR/deno would delete the source before copying.
  const shipped = await Deno.realPath(`${dir}/deno`).catch(() => undefined);
  if (shipped !== undefined && shipped === await Deno.realPath(deno)) {
    throw new Error(
      `--deno ${deno} is the file this build replaces; copy it elsewhere first`,
    );
  }
  await prepareOutDir(dir, RELEASE_LAYOUT);
  const stamp = await bundleScript(`${dir}/maglev.js`);
  await Deno.chmod(`${dir}/maglev.js`, 0o644);
  await Deno.copyFile(deno, `${dir}/deno`);
  await Deno.chmod(`${dir}/deno`, 0o755);
  await Deno.writeTextFile(`${dir}/maglev`, LAUNCHER, { mode: 0o755 });
  // writeTextFile's mode is filtered by the umask; the launcher must be
  // executable for everyone regardless.
  await Deno.chmod(`${dir}/maglev`, 0o755);
  await linkProgramNames(dir, "maglev");
  return stamp;
}

/** The size of a file in MB, for the summary line. */
export async function sizeMB(path: string): Promise<string> {
  return ((await Deno.stat(path)).size / 1e6).toFixed(1);
}

/**
 * `path` made absolute against the current directory, without a trailing
 * slash: the build runs `deno bundle` from the repository root, where a
 * relative --out-dir would land somewhere else.
 */
export function absolute(path: string): string {
  const abs = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  return abs.length > 1 ? abs.replace(/\/+$/, "") : abs;
}

/** Result of parsing the tools' `--name VALUE` / `--name=VALUE` flags. */
export interface ToolArgs {
  readonly values: Map<string, string>;
  readonly help: boolean;
}

/**
 * Parses `--name VALUE` and `--name=VALUE` for the names in `known`, and
 * `--help`; anything else is an error.
 */
export function parseToolArgs(
  args: readonly string[],
  known: readonly string[],
): ToolArgs {
  const values = new Map<string, string>();
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--help" || a === "-h") {
      help = true;
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !known.includes(m[1])) throw new Error(`unknown argument ${a}`);
    const value = m[2] ?? args[++i];
    if (value === undefined || value === "") {
      throw new Error(`${a} needs a value`);
    }
    values.set(m[1], value);
  }
  return { values, help };
}

if (import.meta.main) {
  try {
    const args = parseToolArgs(Deno.args, ["out-dir", "deno"]);
    if (args.help) {
      console.log(
        "Usage: deno task bundle [--out-dir DIR] [--deno PATH]\n\n" +
          `Writes ${
            RELEASE_LAYOUT.join(", ")
          } into DIR (default dist/maglev/).\n` +
          "--deno: the Deno executable to ship (default: the one running this).",
      );
      Deno.exit(0);
    }
    const outDir = absolute(args.values.get("out-dir") ?? `${ROOT}dist/maglev`);
    const deno = args.values.get("deno") ?? Deno.execPath();
    const { commit, date } = await buildRelease({ outDir, deno });
    console.log(
      `wrote ${outDir}/ (maglev.js ${await sizeMB(
        `${outDir}/maglev.js`,
      )} MB, ` +
        `deno ${await sizeMB(`${outDir}/deno`)} MB, launcher maglev, links ${
          PROGRAM_LINKS.join(" ")
        }; commit ${commit}, built ${date})`,
    );
  } catch (e) {
    console.error(`bundle: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
