/**
 * The one `maglev` executable: dispatches on the first argument (`daemon`,
 * `ctl`, `web`, `tester`, `version`) or, for drop-in compatibility with the
 * original tools, on the name it was started as (`maglevd`, `maglevc`,
 * `maglevd-frontend`, `maglevt`).
 */
import { versionLine } from "./version.ts";

// Subcommands are imported when chosen, so `maglev ctl` does not pay for
// evaluating the daemon (and the daemon not for the shell): one-shot ctl
// start-up is what scripts wait for.

/** Name prefix of netns probe workers (main_test.ts checks it matches src/probe). */
export const NETNS_WORKER_PREFIX = "maglev-netns-worker:";
/** Name prefix of config loader workers (main_test.ts checks it matches src/config). */
export const CONFIG_WORKER_PREFIX = "maglev-config-worker:";

/**
 * Network-namespace probe workers are started from this same module, so a
 * bundled or compiled build (one file) needs no separate worker file.
 */
const SELF_URL = new URL(import.meta.url);

/** Top-level usage text. */
export const USAGE = `Usage: maglev <command> [flags]

Commands:
  daemon    health-check backends, program VPP, serve gRPC and metrics
  ctl       operator shell and one-shot commands (talks to a daemon)
  web       live dashboard for one or more daemons
  tester    probe the VIPs of maglev.yaml files from outside, no daemon needed
  version   print version, commit and build date

Run "maglev <command> --help" for a command's flags.`;

const BY_PROGRAM_NAME: Record<string, string> = {
  maglevd: "daemon",
  maglevc: "ctl",
  "maglevd-frontend": "web",
  maglevt: "tester",
};

/** Picks the subcommand from argv[0] or the first word. */
export function resolveCommand(
  programName: string,
  args: readonly string[],
): { command: string | undefined; rest: readonly string[] } {
  const base = programName.split("/").pop() ?? "";
  const implied = BY_PROGRAM_NAME[base];
  if (implied) return { command: implied, rest: args };
  return { command: args[0], rest: args.slice(1) };
}

/** Runs the program; returns the exit code. */
export async function main(
  args: readonly string[],
  programName: string,
): Promise<number> {
  const { command, rest } = resolveCommand(programName, args);
  switch (command) {
    case "daemon": {
      const { runDaemon } = await import("./daemon/run.ts");
      return await runDaemon(rest, undefined, undefined, {
        netnsWorkerUrl: SELF_URL,
        configWorkerUrl: SELF_URL,
      });
    }
    case "ctl": {
      const { runCtl } = await import("./ctl/mod.ts");
      return await runCtl(rest);
    }
    case "web": {
      const { runWeb } = await import("./web/run.ts");
      return await runWeb(rest);
    }
    case "tester": {
      const { runTester } = await import("./tester/run.ts");
      return await runTester(rest);
    }
    case "version":
    case "--version":
    case "-version":
      console.log(versionLine());
      return 0;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`maglev: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

/** The first NUL-separated field of a /proc/PID/cmdline, i.e. argv[0]. */
export function argv0FromCmdline(cmdline: Uint8Array): string | undefined {
  const end = cmdline.indexOf(0);
  const first = new TextDecoder().decode(
    end < 0 ? cmdline : cmdline.subarray(0, end),
  );
  return first === "" ? undefined : first;
}

/**
 * The name the program was started as, which picks the command for
 * `maglevd` & co. The release launcher (a shell script) passes it in
 * MAGLEV_ARGV0. A compiled executable started through a symlink has it only
 * in argv[0]: Deno.execPath() resolves the symlink, so read the kernel's
 * copy of argv. Under `deno run`, argv[0] is "deno", which names no command.
 */
export function programName(
  argv0Env: string | undefined = Deno.env.get("MAGLEV_ARGV0"),
  readCmdline: () => Uint8Array = () => Deno.readFileSync("/proc/self/cmdline"),
): string {
  if (argv0Env) return argv0Env;
  try {
    const argv0 = argv0FromCmdline(readCmdline());
    if (argv0) return argv0;
  } catch {
    // No /proc (or not readable): fall back to the executable's path.
  }
  return Deno.execPath();
}

const workerName = (globalThis as { name?: unknown }).name;
if (
  typeof workerName === "string" && workerName.startsWith(NETNS_WORKER_PREFIX)
) {
  const { runNetnsWorker } = await import("./probe/netns_worker.ts");
  runNetnsWorker();
} else if (
  typeof workerName === "string" && workerName.startsWith(CONFIG_WORKER_PREFIX)
) {
  const { runConfigWorker } = await import("./config/load_worker.ts");
  runConfigWorker();
} else if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args, programName()));
  } catch (e) {
    // Operator-facing: one line, no stack trace. MAGLEV_DEBUG=1 shows it.
    console.error(
      `maglev: ${e instanceof Error ? e.message : String(e)}`,
    );
    if (Deno.env.get("MAGLEV_DEBUG")) console.error(e);
    Deno.exit(1);
  }
}
