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
  ip: "iproute2",
  openssl: "openssl",
  setpriv: "util-linux",
  sysctl: "procps",
};

/**
 * Runs `cmd args...` to completion and returns its output; throws a clear
 * error when the tool is missing. Does not throw on a non-zero exit.
 */
export async function runCommand(
  cmd: string,
  args: readonly string[],
  opts: { stdin?: string; env?: Record<string, string> } = {},
): Promise<CommandOutput> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args: [...args],
      stdin: opts.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      env: opts.env,
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
  opts: { stdin?: string; env?: Record<string, string> } = {},
): Promise<string> {
  const out = await runCommand(cmd, args, opts);
  if (out.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited ${out.code}: ${out.stderr.trim()}`,
    );
  }
  return out.stdout;
}
