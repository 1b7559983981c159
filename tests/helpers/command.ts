/**
 * Running external tools from system tests, with errors that say which
 * Debian package is missing instead of a bare "NotFound".
 */

/** Output of a finished command. */
export interface CommandOutput {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const decoder = new TextDecoder();

/** Which package provides the tools the tests use (Debian 12 names). */
const PACKAGES: Record<string, string> = {
  "ip": "iproute2",
  "openssl": "openssl",
  "setpriv": "util-linux",
  "unshare": "util-linux",
  "mount": "mount",
  "sysctl": "procps",
  "dpkg": "dpkg",
  "dpkg-deb": "dpkg",
  "apt-get": "apt",
  "lintian": "lintian",
  "systemctl": "systemd",
  "systemd-analyze": "systemd",
  "man": "man-db",
  "readelf": "binutils",
  "adduser": "adduser",
  "deb-systemd-helper": "init-system-helpers",
  "gzip": "gzip",
  "tmux": "tmux",
};

/** Options of runCommand / mustRun. */
export interface CommandOptions {
  readonly stdin?: string;
  readonly env?: Record<string, string>;
  /** With `env`: pass only it, nothing of this process's environment. */
  readonly clearEnv?: boolean;
  readonly cwd?: string;
  /** Kill the command after this long (it then fails). */
  readonly timeoutMs?: number;
}

/** Throws one message naming every missing tool and its Debian package. */
export function requireTools(tools: readonly string[]): void {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").concat([
    "/usr/sbin",
    "/sbin",
  ]);
  const missing = tools.filter((tool) =>
    !dirs.some((d) => {
      try {
        return Deno.statSync(`${d}/${tool}`).isFile;
      } catch {
        return false;
      }
    })
  );
  if (missing.length > 0) {
    throw new Error(
      "missing tools: " +
        missing.map((t) =>
          PACKAGES[t] ? `${t} (install the Debian package "${PACKAGES[t]}")` : t
        ).join(", "),
    );
  }
}

/**
 * Runs `cmd args...` to completion and returns its output; throws a clear
 * error when the tool is missing. Does not throw on a non-zero exit.
 */
export async function runCommand(
  cmd: string,
  args: readonly string[],
  opts: CommandOptions = {},
): Promise<CommandOutput> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args: [...args],
      stdin: opts.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      env: opts.env,
      clearEnv: opts.clearEnv,
      cwd: opts.cwd,
      signal: opts.timeoutMs === undefined
        ? undefined
        : AbortSignal.timeout(opts.timeoutMs),
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      const pkg = PACKAGES[cmd];
      throw new Error(
        `${cmd}: command not found` +
          (pkg ? ` (install the Debian package "${pkg}")` : ""),
      );
    }
    throw e;
  }
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/** Like runCommand, but throws (with stderr) on a non-zero exit. */
export async function mustRun(
  cmd: string,
  args: readonly string[],
  opts: CommandOptions = {},
): Promise<string> {
  const out = await runCommand(cmd, args, opts);
  if (out.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited ${out.code}: ${out.stderr.trim()}`,
    );
  }
  return out.stdout;
}
