/**
 * `deno task test`: builds the dashboard assets if their sources changed,
 * then runs `deno test -A --parallel [args]` with $TMPDIR pointing at a
 * directory of this run's own, removed afterwards.
 *
 * Tests remove what they create (tests/helpers/tmp.ts), but a test killed
 * half-way, or a tool it runs (lintian, Chromium, dpkg), can still leave
 * files in $TMPDIR; the private directory guarantees none of it stays on the
 * machine, and whatever was left is listed on stderr so it gets fixed.
 *
 *   deno run -A tools/test.ts [deno test arguments…]
 */

const root = new URL("../", import.meta.url).pathname;

/**
 * Runs a child with inherited stdio; its exit code. SIGINT and SIGTERM sent
 * to this process are passed on to it, and this process lives on to clean up.
 */
async function run(args: string[], env: Record<string, string> = {}) {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    env,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const forward = (sig: Deno.Signal) => () => {
    try {
      child.kill(sig);
    } catch {
      // Already gone.
    }
  };
  const onInt = forward("SIGINT");
  const onTerm = forward("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  try {
    return (await child.status).code;
  } finally {
    Deno.removeSignalListener("SIGINT", onInt);
    Deno.removeSignalListener("SIGTERM", onTerm);
  }
}

/** Names left in `dir`, at most `max`, for the warning. */
function leftovers(dir: string, max = 20): string[] {
  const names: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    names.push(e.name);
    if (names.length >= max) break;
  }
  return names.sort();
}

if (import.meta.main) {
  const built = await run(["run", "-A", `${root}tools/web_build.ts`]);
  if (built !== 0) Deno.exit(built);
  const base = Deno.env.get("TMPDIR") ?? "/tmp";
  const tmp = await Deno.makeTempDir({ dir: base, prefix: "maglev-suite-" });
  let code = 1;
  try {
    code = await run(["test", "-A", "--parallel", ...Deno.args], {
      TMPDIR: tmp,
    });
  } finally {
    const left = leftovers(tmp);
    if (left.length > 0) {
      console.error(
        `tests left files in their TMPDIR (removed now; fix the test that ` +
          `made them): ${left.join(", ")}`,
      );
    }
    await Deno.remove(tmp, { recursive: true });
  }
  Deno.exit(code);
}
