/**
 * Runs the real `maglev` program as a child process for system tests and
 * waits for what it logs, with deadlines instead of sleeps.
 */

const ROOT = new URL("../../", import.meta.url).pathname;
/** The program from source; tests of the bundle pass the bundle's path instead. */
export const MAIN = `${ROOT}src/main.ts`;
/** The repository root, with a trailing slash. */
export const MAGLEV_ROOT = ROOT;

/** Result of a short-lived invocation. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `maglev <args>` to completion. */
export async function runMaglev(
  args: string[],
  env: Record<string, string> = {},
  main = MAIN,
): Promise<RunResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, ...args],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

/** A long-running maglev process whose JSON log lines can be awaited. */
export class MaglevProcess {
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  readonly records: Record<string, unknown>[] = [];
  #waiters = new Set<() => void>();
  #pumps: Promise<void>;
  /** Set once stdout and stderr have ended (the process is gone or going). */
  #ended = false;
  readonly exited: Promise<Deno.CommandStatus>;

  /**
   * Runs `main` (the source tree by default) with `deno run -A`; with
   * `spawn`, runs `spawn.exe` itself (a built artefact) instead.
   */
  constructor(
    args: string[],
    env: Record<string, string> = {},
    main = MAIN,
    spawn?: { exe: string; cwd?: string; clearEnv?: boolean },
  ) {
    // A daemon never touches the host's /var/lib/vpp-maglev: each gets a
    // state file of its own unless the test chose one.
    let stateDir: string | undefined;
    if (
      args[0] === "daemon" && !args.some((a) => a.startsWith("--state-file")) &&
      !args.some((a) => ["--check", "--help", "--version"].includes(a))
    ) {
      stateDir = Deno.makeTempDirSync({ prefix: "maglev-state-" });
      args = [...args, "--state-file", `${stateDir}/state.json`];
    }
    this.child = new Deno.Command(spawn?.exe ?? Deno.execPath(), {
      args: spawn ? args : ["run", "-A", main, ...args],
      cwd: spawn?.cwd,
      clearEnv: spawn?.clearEnv,
      env: { NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Log records go to stdout, refusals before logging starts to stderr:
    // both are "what the process said", in arrival order.
    this.#pumps = Promise.all([
      this.#pump(this.child.stdout),
      this.#pump(this.child.stderr),
    ]).then(() => {
      this.#ended = true;
      for (const w of this.#waiters) w();
    });
    this.exited = this.child.status;
    if (stateDir) {
      const dir = stateDir;
      void this.exited.then(() =>
        Deno.remove(dir, { recursive: true }).catch(() => {})
      );
    }
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.lines.push(line);
        try {
          this.records.push(JSON.parse(line));
        } catch {
          // not a JSON log line
        }
        for (const w of this.#waiters) w();
      }
    }
    if (buf) this.lines.push(buf);
  }

  /** Runs a built executable (not the source tree) the same way. */
  static exec(
    exe: string,
    args: string[],
    opts: { cwd?: string; env?: Record<string, string>; clearEnv?: boolean } =
      {},
  ): MaglevProcess {
    return new MaglevProcess(args, opts.env, MAIN, {
      exe,
      cwd: opts.cwd,
      clearEnv: opts.clearEnv,
    });
  }

  /** The last log lines, for failure messages. */
  tail(n = 20): string {
    return this.lines.slice(-n).join("\n");
  }

  /** Resolves with the first log record (past or future) matching `pred`. */
  waitForRecord(
    pred: (r: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs = 10_000,
  ): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      let from = 0;
      const check = () => {
        for (; from < this.records.length; from++) {
          if (pred(this.records[from])) {
            cleanup();
            resolve(this.records[from]);
            return;
          }
        }
        if (this.#ended) {
          cleanup();
          reject(
            new Error(
              `the process ended before ${what}; log:\n${this.tail()}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `timed out after ${timeoutMs}ms waiting for ${what}; log:\n${this.tail()}`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Sends a signal and waits for exit, returning the status and elapsed ms. */
  async stop(
    signal: Deno.Signal = "SIGTERM",
  ): Promise<{ status: Deno.CommandStatus; ms: number }> {
    const t0 = performance.now();
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
    const status = await this.exited;
    await this.#pumps;
    return { status, ms: performance.now() - t0 };
  }
}

/** A free TCP port on 127.0.0.1 (bound, then released). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

/** A `maglev web` process and the base URL browsers use. */
export interface WebProcess {
  readonly web: MaglevProcess;
  /** "http://127.0.0.1:PORT", no trailing slash. */
  readonly base: string;
}

/**
 * Starts `maglev web` on a free loopback port watching `servers`, with JSON
 * logs so tests can wait for its records (`ready`, `daemon-connected`).
 */
export function startWebProcess(
  servers: readonly string[],
  env: Record<string, string> = {},
): WebProcess {
  const port = freePort();
  const web = new MaglevProcess([
    "web",
    "--listen",
    `127.0.0.1:${port}`,
    "--server",
    servers.join(","),
    "--log-format",
    "json",
  ], env);
  return { web, base: `http://127.0.0.1:${port}` };
}

/**
 * `maglev daemon` on `configPath` as most system tests want it: VPP off, no
 * metrics listener, JSON logs, gRPC on `grpcAddr` (a free loopback port by
 * default), plus `extra` flags.
 */
export function startDaemonProcess(
  configPath: string,
  opts: {
    env?: Record<string, string>;
    grpcAddr?: string;
    extra?: readonly string[];
  } = {},
): MaglevProcess {
  return new MaglevProcess([
    "daemon",
    "--config",
    configPath,
    "--grpc-addr",
    opts.grpcAddr ?? `127.0.0.1:${freePort()}`,
    "--vpp=false",
    "--metrics-addr",
    "",
    "--log-format",
    "json",
    ...opts.extra ?? [],
  ], opts.env);
}
