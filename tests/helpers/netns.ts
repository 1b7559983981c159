/**
 * Throw-away network namespaces for system tests (needs root and iproute2).
 * Names start with `maglev-t-` and a random suffix, so parallel test files
 * never collide, and `delete()` belongs in a `finally`.
 */
import { mustRun, runCommand } from "./command.ts";
import { waitFor } from "./wait.ts";

/** A namespace created by a test. */
export class TestNetns implements AsyncDisposable {
  readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }

  /** A fresh unused name (`maglev-t-` + random). */
  static freshName(prefix = "maglev-t-"): string {
    return prefix + crypto.randomUUID().slice(0, 8);
  }

  /** `ip netns add` a namespace (default: a fresh name) with `lo` up. */
  static async create(name = TestNetns.freshName()): Promise<TestNetns> {
    await mustRun("ip", ["netns", "add", name]);
    const ns = new TestNetns(name);
    try {
      await ns.ip("link", "set", "lo", "up");
    } catch (e) {
      await ns.delete();
      throw e;
    }
    return ns;
  }

  /** Path of the namespace file. */
  get path(): string {
    return `/var/run/netns/${this.name}`;
  }

  /** `ip -n <ns> args...`; throws on failure. */
  ip(...args: string[]): Promise<string> {
    return mustRun("ip", ["-n", this.name, ...args]);
  }

  /** Runs a command inside the namespace to completion; throws on failure. */
  exec(cmd: string, ...args: string[]): Promise<string> {
    return mustRun("ip", ["netns", "exec", this.name, cmd, ...args]);
  }

  /**
   * Gives the namespace a subnet where nobody answers: a veth pair whose both
   * ends stay in this namespace, `v4` (e.g. "10.99.0.1/24") and optionally
   * `v6` (e.g. "fd00:99::1/64") on one end. Other addresses of those subnets
   * never resolve, so packets to them vanish. (veth rather than dummy: not
   * every kernel ships the dummy module.)
   */
  async addSilentSubnet(v4: string, v6?: string): Promise<void> {
    await this.ip(
      "link",
      "add",
      "silent0",
      "type",
      "veth",
      "peer",
      "name",
      "silent1",
    );
    await this.ip("addr", "add", v4, "dev", "silent0");
    if (v6) await this.ip("-6", "addr", "add", v6, "dev", "silent0", "nodad");
    await this.ip("link", "set", "silent1", "up");
    await this.ip("link", "set", "silent0", "up");
  }

  /**
   * Links the namespace to the host with a veth pair: `hostCidr` (e.g.
   * "10.213.7.1/30") on the host's end, `nsCidr` on the namespace's. The
   * pair goes away with the namespace. Returns the host end's name.
   */
  async linkToHost(hostCidr: string, nsCidr: string): Promise<string> {
    const tag = this.name.slice(-8);
    const host = `mh${tag}`, inside = `mn${tag}`;
    await mustRun("ip", [
      "link",
      "add",
      host,
      "type",
      "veth",
      "peer",
      "name",
      inside,
      "netns",
      this.name,
    ]);
    await mustRun("ip", ["addr", "add", hostCidr, "dev", host]);
    await mustRun("ip", ["link", "set", host, "up"]);
    await this.ip("addr", "add", nsCidr, "dev", inside);
    await this.ip("link", "set", inside, "up");
    return host;
  }

  /**
   * Starts tests/helpers/http_server_main.ts inside the namespace on
   * `hostname:port` and waits until it listens.
   */
  startHttpServer(
    hostname: string,
    port: number,
    body: string,
  ): Promise<ListeningChild> {
    const script = new URL("./http_server_main.ts", import.meta.url).pathname;
    return whenListening(
      this.spawn(Deno.execPath(), [
        "run",
        "--allow-net",
        script,
        hostname,
        String(port),
        body,
      ]),
    );
  }

  /** Spawns a long-running command inside the namespace. */
  spawn(
    cmd: string,
    args: string[],
    opts: { env?: Record<string, string> } = {},
  ): Deno.ChildProcess {
    return new Deno.Command("ip", {
      args: ["netns", "exec", this.name, cmd, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: opts.env,
    }).spawn();
  }

  /** `ip netns del`; safe to call twice. */
  async delete(): Promise<void> {
    await runCommand("ip", ["netns", "del", this.name]);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.delete();
  }
}

/** Fails with a message naming the package when `ip` is missing. */
export async function requireIproute2(): Promise<void> {
  await mustRun("ip", ["-V"]);
}

/** A child process that printed `LISTENING <port>` once ready. */
export interface ListeningChild extends AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly port: number;
  /** Kills the child and waits for it. */
  stop(): Promise<void>;
}

/**
 * Waits (with a deadline) for `child` to print `LISTENING <port>` on stdout,
 * then returns the port. Kills the child if it never does.
 */
export async function whenListening(
  child: Deno.ChildProcess,
  deadlineMs = 15000,
): Promise<ListeningChild> {
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
    await child.stderr.cancel().catch(() => {});
    await child.stdin.close().catch(() => {});
  };
  try {
    const end = performance.now() + deadlineMs;
    let port: number | undefined;
    while (port === undefined) {
      const left = end - performance.now();
      if (left <= 0) throw new Error("child never printed LISTENING");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const r = await Promise.race([
        reader.read(),
        new Promise<"timeout">((res) => {
          timer = setTimeout(() => res("timeout"), left);
        }),
      ]);
      clearTimeout(timer);
      if (r === "timeout") continue;
      if (r.done) throw new Error(`child exited before listening: ${text}`);
      text += decoder.decode(r.value);
      const m = /LISTENING (\d+)/.exec(text);
      if (m) port = Number(m[1]);
    }
    await reader.cancel();
    return { child, port, stop, [Symbol.asyncDispose]: stop };
  } catch (e) {
    await reader.cancel().catch(() => {});
    await stop();
    throw e;
  }
}

/** Waits until `path` exists (e.g. a namespace file) or the deadline. */
export function waitForPath(path: string, deadlineMs = 5000): Promise<true> {
  return waitFor(`${path} to exist`, () => {
    try {
      Deno.statSync(path);
      return true;
    } catch {
      return undefined;
    }
  }, deadlineMs);
}
