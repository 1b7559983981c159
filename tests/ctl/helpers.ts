/**
 * Running `maglev ctl` against a fixture daemon: to completion, or as a
 * child whose output lines can be awaited (for `watch events`).
 */
import { MAIN, runMaglev, type RunResult } from "../helpers/maglev.ts";
import { waitFor } from "../helpers/wait.ts";

/** Runs `maglev ctl --server <addr> <args>` to completion. */
export function ctl(
  server: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<RunResult> {
  return runMaglev(["ctl", "--server", server, ...args], env);
}

/** A `maglev ctl` child process with its stdout collected line by line. */
export class CtlChild {
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  readonly stderr: Promise<string>;
  readonly #stdoutDone: Promise<void>;

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "ctl", ...args],
      env: { NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.stderr = new Response(this.child.stderr).text();
    this.#stdoutDone = this.#pump();
  }

  async #pump(): Promise<void> {
    let buf = "";
    for await (
      const chunk of this.child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        this.lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    }
    if (buf) this.lines.push(buf);
  }

  /** Waits until at least `n` lines were printed. */
  async waitLines(n: number, deadlineMs = 10_000): Promise<void> {
    await waitFor(
      `${n} lines of output (have: ${JSON.stringify(this.lines)})`,
      () => this.lines.length >= n ? true : undefined,
      deadlineMs,
    );
  }

  /** Waits for exit (killing it after the deadline); returns code and stderr. */
  async done(deadlineMs = 15_000): Promise<{ code: number; stderr: string }> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        try {
          this.child.kill("SIGKILL");
        } catch {
          // already gone
        }
        reject(
          new Error(
            `maglev ctl still running after ${deadlineMs}ms; output: ${
              JSON.stringify(this.lines)
            }`,
          ),
        );
      }, deadlineMs);
    });
    let status: Deno.CommandStatus;
    try {
      status = await Promise.race([this.child.status, late]);
    } finally {
      clearTimeout(timer);
    }
    await this.#stdoutDone;
    return { code: status.code, stderr: await this.stderr };
  }
}
