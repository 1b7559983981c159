/**
 * A real VPP for integration tests: each test starts its own VPP with its
 * own api-segment prefix and socket paths (so test files run in parallel),
 * drives it with `vppctl`, and reads the truth from VPP's own tables
 * (`show lb`, `show lb vips verbose`, `show ip fib`), never from the daemon.
 *
 * Where VPP comes from: `MAGLEV_TEST_VPP`, a directory with `bin/vpp`,
 * `bin/vppctl`, `lib/libvppapiclient.so` and `lib/vpp_plugins/` (`.ci/run`
 * unpacks one); otherwise a system install from FD.io's packages. Without
 * either, the tests that need it are reported as ignored.
 */
import { runCommand } from "./command.ts";
import { waitFor } from "./wait.ts";

/** Where the pieces of one VPP installation are. */
export interface VppInstall {
  readonly vpp: string;
  readonly vppctl: string;
  readonly lib: string;
  readonly plugins: string;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** The VPP to test against, or undefined (see the module comment). */
export function findVpp(): VppInstall | undefined {
  const dir = Deno.env.get("MAGLEV_TEST_VPP");
  if (dir) {
    const i = {
      vpp: `${dir}/bin/vpp`,
      vppctl: `${dir}/bin/vppctl`,
      lib: `${dir}/lib/libvppapiclient.so`,
      plugins: `${dir}/lib/vpp_plugins`,
    };
    for (const p of [i.vpp, i.vppctl, i.lib]) {
      if (!isFile(p)) {
        throw new Error(
          `MAGLEV_TEST_VPP=${dir}: ${p} is missing (expected bin/vpp, bin/vppctl, lib/libvppapiclient.so, lib/vpp_plugins/)`,
        );
      }
    }
    return i;
  }
  const sys = {
    vpp: "/usr/bin/vpp",
    vppctl: "/usr/bin/vppctl",
    lib: "/usr/lib/x86_64-linux-gnu/libvppapiclient.so",
    plugins: "/usr/lib/x86_64-linux-gnu/vpp_plugins",
  };
  const lib = [sys.lib, `${sys.lib}.26.10`].find(isFile);
  if (!isFile(sys.vpp) || !isFile(sys.vppctl) || !lib) return undefined;
  return { ...sys, lib };
}

/** The one line a run without VPP prints, saying how to enable the tests. */
export const NO_VPP_HINT =
  "real-VPP tests ignored: no VPP found. Set MAGLEV_TEST_VPP to a directory " +
  "with bin/vpp, bin/vppctl, lib/libvppapiclient.so and lib/vpp_plugins/ " +
  "(bash .ci/run unpacks one), or install FD.io's vpp and vpp-plugin-core";

/**
 * The installation, resolved once per test file; logs NO_VPP_HINT once when
 * there is none, so `ignore: !VPP` tests say why they did not run.
 */
export const VPP: VppInstall | undefined = (() => {
  const v = findVpp();
  if (!v) console.error(NO_VPP_HINT);
  return v;
})();

/** One application server as `show lb vips verbose` prints it. */
export interface VppAs {
  readonly address: string;
  readonly weight: number;
  readonly buckets: number;
  /** Sticky-table entries that point at this AS (a flush empties them). */
  readonly flows: number;
  /** False while deleted and waiting for VPP's garbage collector. */
  readonly used: boolean;
}

/** One VIP as `show lb vips verbose` prints it. */
export interface VppVip {
  readonly index: number;
  /** "ip4-gre4", "ip6-gre6", … */
  readonly type: string;
  readonly prefix: string;
  /** undefined for an all-port VIP. */
  readonly protocol?: number;
  readonly port?: number;
  readonly srcIpSticky: boolean;
  /** False once deleted, while VPP still lists it ("removed"). */
  readonly used: boolean;
  readonly newSize?: number;
  /**
   * The lb plugin's per-VIP counters by VPP's own names: "packet from
   * existing sessions", "first session packet", "untracked packet", "no
   * server configured".
   */
  readonly counters: Record<string, number>;
  readonly ases: VppAs[];
}

/**
 * Parses `show lb vips verbose`; written independently of the product's own
 * parser (src/vpp/show_lb.ts), so a bug there cannot hide here.
 */
export function parseVips(text: string): VppVip[] {
  const out: VppVip[] = [];
  let cur:
    | {
      -readonly [K in keyof VppVip]: VppVip[K];
    }
    | undefined;
  // vppctl ends lines with CRLF.
  for (const line of text.split(/\r?\n/)) {
    let m = /^\s*(ip[46]-\S+)\s+\[(\d+)\]\s+(\S+)(.*)$/.exec(line);
    if (m) {
      cur = {
        index: Number(m[2]),
        type: m[1],
        prefix: m[3],
        srcIpSticky: /\bsrc_ip_sticky\b/.test(m[4]),
        used: !/\bremoved\b/.test(m[4]),
        counters: {},
        ases: [],
      };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    if ((m = /^\s*protocol:(\d+)\s+port:(\d+)/.exec(line))) {
      cur.protocol = Number(m[1]);
      cur.port = Number(m[2]);
    } else if ((m = /^\s*new_size:(\d+)/.exec(line))) {
      cur.newSize = Number(m[1]);
    } else if ((m = /^\s*([a-z ]+):\s*(\d+)\s*$/.exec(line))) {
      cur.counters[m[1].trim()] = Number(m[2]);
    } else if (
      (m =
        /^\s*(\S+)\s+weight:(\d+)\s+buckets:(\d+)\s+flows:(\d+)\s.*?(used|removed)?\s*$/
          .exec(line))
    ) {
      cur.ases.push({
        address: m[1],
        weight: Number(m[2]),
        buckets: Number(m[3]),
        flows: Number(m[4]),
        used: m[5] !== "removed",
      });
    }
  }
  return out;
}

/** The global lb configuration as `show lb` prints it. */
export interface VppLbConf {
  readonly ip4Src: string;
  readonly ip6Src: string;
}

/** Parses `show lb`. */
export function parseLbConf(text: string): VppLbConf {
  const v4 = /ip4-src-address:\s*(\S+)/.exec(text);
  const v6 = /ip6-src-address:\s*(\S+)/.exec(text);
  if (!v4 || !v6) throw new Error(`unexpected "show lb" output: ${text}`);
  return { ip4Src: v4[1], ip6Src: v6[1] };
}

/** Packets and bytes VPP forwarded through one FIB entry. */
export interface VppRouteCounters {
  readonly packets: number;
  readonly bytes: number;
}

/**
 * Parses `show ip fib <prefix>`: the `to:[packets:bytes]` of the entry's
 * forwarding load-balance, the same combined counter the stats segment
 * exports as `/net/route/to` at the load-balance's index.
 */
export function parseFibCounters(text: string): VppRouteCounters | undefined {
  const fwd = text.indexOf("forwarding:");
  if (fwd < 0) return undefined;
  const m = /dpo-load-balance:.*?\bto:\[(\d+):(\d+)\]/.exec(text.slice(fwd));
  if (!m) return undefined;
  return { packets: Number(m[1]), bytes: Number(m[2]) };
}

/** A stream of TCP packets from the packet generator. */
export interface TcpStream {
  /** Source address; on pg0's subnet 10.0.0.0/24 by default. */
  readonly src?: string;
  readonly dst: string;
  readonly dport: number;
  /** Packets in all; each one the next source port, wrapping in the range. */
  readonly packets: number;
  /** Distinct source ports, that is flows (default 1: one flow). */
  readonly flows?: number;
}

/** A VPP process of the test's own, removed with everything it left. */
export class RealVpp implements AsyncDisposable {
  readonly install: VppInstall;
  readonly dir: string;
  /** `api-segment { prefix }`: the daemon's --vpp-api-prefix. */
  readonly prefix: string;
  readonly cliSocket: string;
  readonly statsSocket: string;
  #child: Deno.ChildProcess | undefined;
  #output: Promise<void>[] = [];
  #log = "";
  #pg = false;
  #streams = 0;

  private constructor(install: VppInstall, dir: string, prefix: string) {
    this.install = install;
    this.dir = dir;
    this.prefix = prefix;
    this.cliSocket = `${dir}/cli.sock`;
    this.statsSocket = `${dir}/stats.sock`;
  }

  /** Starts a VPP and waits until its CLI answers. */
  static async start(install: VppInstall | undefined = VPP): Promise<RealVpp> {
    if (!install) throw new Error(NO_VPP_HINT);
    const dir = await Deno.makeTempDir({ prefix: "maglev-vpp-" });
    // It names /dev/shm/<prefix>-vpe-api and -global_vm, so it must be
    // unique on the machine: `deno test --parallel` runs test modules as
    // workers of one process, so a pid plus a per-module counter is not.
    const rnd = crypto.getRandomValues(new Uint8Array(5));
    const prefix = `mgt${
      Array.from(rnd, (b) => b.toString(16).padStart(2, "0")).join("")
    }`;
    const vpp = new RealVpp(install, dir, prefix);
    try {
      await vpp.#launch();
    } catch (e) {
      await vpp.stop();
      throw e;
    }
    return vpp;
  }

  /** What to pass to `maglev daemon` so that it programs this VPP. */
  daemonFlags(): string[] {
    return [
      "--vpp-lib",
      this.install.lib,
      "--vpp-api-prefix",
      this.prefix,
      "--vpp-stats-socket",
      this.statsSocket,
    ];
  }

  /** VPP's pid while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async #launch(): Promise<void> {
    const conf = `${this.dir}/startup.conf`;
    await Deno.writeTextFile(
      conf,
      [
        `unix { nodaemon cli-listen ${this.cliSocket} log ${this.dir}/vpp.log }`,
        `api-segment { prefix ${this.prefix} }`,
        `socksvr { socket-name ${this.dir}/api.sock }`,
        `statseg { socket-name ${this.statsSocket} size 32M page-size 4k }`,
        "memory { main-heap-size 512M main-heap-page-size 4k }",
        "buffers { buffers-per-numa 8192 page-size 4k }",
        `plugins { path ${this.install.plugins} plugin default { disable } plugin lb_plugin.so { enable } }`,
        "",
      ].join("\n"),
    );
    this.#log = "";
    this.#pg = false;
    const child = new Deno.Command(this.install.vpp, {
      args: ["-c", conf],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    const collect = async (s: ReadableStream<Uint8Array>) => {
      for await (const t of s.pipeThrough(new TextDecoderStream())) {
        this.#log += t;
      }
    };
    this.#output = [collect(child.stdout), collect(child.stderr)];
    let exited = false;
    void child.status.then(() => exited = true);
    // waitFor retries through exceptions, so an exit is a result here: it
    // must end the wait at once, not after the deadline.
    const outcome = await waitFor(
      "VPP's CLI answers",
      async () => {
        if (exited) return "exited";
        const r = await this.#vppctl(["show", "version"]);
        return r.code === 0 && r.stdout.startsWith("vpp ") ? "up" : undefined;
      },
      20_000,
      50,
    );
    if (outcome === "exited") {
      throw new Error(`VPP exited at start:\n${this.#log.slice(-2000)}`);
    }
  }

  #vppctl(args: readonly string[]) {
    return runCommand(this.install.vppctl, ["-s", this.cliSocket, ...args], {
      timeoutMs: 10_000,
    });
  }

  /**
   * Runs one CLI command (vppctl joins its words with spaces, so one string
   * works too); throws when vppctl fails. VPP's own refusals ("lb vip:
   * ... error -6") still exit 0: check the effect.
   */
  async ctl(...args: string[]): Promise<string> {
    const r = await this.#vppctl(args);
    if (r.code !== 0) {
      throw new Error(`vppctl ${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
    }
    return r.stdout.replaceAll("\r\n", "\n");
  }

  /**
   * Every live VIP VPP holds, with its ASes; deleted VIPs VPP still lists
   * as "removed" only with `removed`.
   */
  async vips(removed = false): Promise<VppVip[]> {
    const all = parseVips(await this.ctl("show", "lb", "vips", "verbose"));
    return removed ? all : all.filter((v) => v.used);
  }

  /** One live VIP by prefix and port (undefined port: the all-port VIP). */
  async vip(prefix: string, port?: number): Promise<VppVip | undefined> {
    return (await this.vips()).find((v) =>
      v.prefix === prefix && v.port === port
    );
  }

  /** The live weights of a VIP's ASes, address → weight. */
  async weights(
    prefix: string,
    port?: number,
  ): Promise<Record<string, number> | undefined> {
    const v = await this.vip(prefix, port);
    return v && liveWeights(v);
  }

  /**
   * Polls `show lb vips verbose` until `pred` holds; returns the VIPs then.
   * The error names `what` and shows the last VIPs seen.
   */
  async waitVips(
    what: string,
    pred: (vips: VppVip[]) => boolean,
    deadlineMs = 10_000,
  ): Promise<VppVip[]> {
    let last: VppVip[] = [];
    try {
      return await waitFor(
        what,
        async () => {
          last = await this.vips();
          return pred(last) ? last : undefined;
        },
        deadlineMs,
        50,
      );
    } catch (e) {
      throw new Error(
        `${(e as Error).message}; VPP holds: ${describeVips(last)}`,
      );
    }
  }

  /** The global lb conf. */
  async conf(): Promise<VppLbConf> {
    return parseLbConf(await this.ctl("show", "lb"));
  }

  /** The FIB counters of an exact prefix ("192.0.2.1/32"). */
  async routeCounters(prefix: string): Promise<VppRouteCounters | undefined> {
    return parseFibCounters(await this.ctl("show", "ip", "fib", prefix));
  }

  /**
   * Sends a TCP stream through the packet generator (interface pg0,
   * 10.0.0.1/24, created on first use) into ip4-input, and waits until
   * every packet has been sent. Without a NIC this is how the lb counters
   * move; the GRE packets themselves are dropped (no route to the ASes).
   */
  async sendTcp(s: TcpStream): Promise<void> {
    if (!this.#pg) {
      // One command per vppctl call: VPP refuses a multi-line exec file.
      await this.ctl("create packet-generator interface pg0");
      await this.ctl("set int ip address pg0 10.0.0.1/24");
      await this.ctl("set int state pg0 up");
      this.#pg = true;
    }
    const name = `s${++this.#streams}`;
    const flows = s.flows ?? 1;
    const sports = flows > 1 ? `1000 - ${1000 + flows - 1}` : "1000";
    await this.ctl(
      `packet-generator new { name ${name} limit ${s.packets} rate 10000 ` +
        `node ip4-input size 64-64 interface pg0 data { TCP: ${
          s.src ?? "10.0.0.2"
        } -> ${s.dst} TCP: ${sports} -> ${s.dport} incrementing 30 } }`,
    );
    await this.ctl(`packet-generator enable-stream ${name}`);
    await waitFor(
      `stream ${name} of ${s.packets} packets sent`,
      async () => {
        const t = await this.ctl("show packet-generator");
        const m = new RegExp(`^${name}\\s+(Yes|No)\\s+(\\d+)`, "m").exec(t);
        if (!m) throw new Error(`no stream ${name} in:\n${t}`);
        return m[1] === "No" && Number(m[2]) === s.packets ? true : undefined;
      },
      10_000,
      50,
    );
  }

  /**
   * Stops VPP (SIGTERM by default, SIGKILL after 5 s) and removes its shm
   * files, which VPP leaves behind when it dies or when a client is still
   * attached at its exit.
   */
  async kill(signal: Deno.Signal = "SIGTERM"): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child) {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
      const t = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }, 5000);
      await child.status;
      clearTimeout(t);
      // Pending reads of its pipes would trip Deno's test sanitizers.
      await Promise.all(this.#output);
      this.#output = [];
    }
    for (const f of ["vpe-api", "global_vm"]) {
      await Deno.remove(`/dev/shm/${this.prefix}-${f}`).catch(() => {});
    }
  }

  /** Stops and starts VPP again: same prefix and sockets, empty tables. */
  async restart(signal: Deno.Signal = "SIGTERM"): Promise<void> {
    await this.kill(signal);
    await this.#launch();
  }

  /** VPP's own log (its stdout and stderr), for failure messages. */
  get log(): string {
    return this.#log;
  }

  /** Stops VPP and removes its directory. */
  async stop(): Promise<void> {
    await this.kill();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** The live (not removed) ASes of a VIP, address → weight, numeric order. */
export function liveWeights(v: VppVip): Record<string, number> {
  return Object.fromEntries(
    v.ases.filter((a) => a.used).sort((a, b) =>
      a.address.localeCompare(b.address, "en", { numeric: true })
    ).map((a) => [a.address, a.weight]),
  );
}

/** A one-line summary of VIPs for assertion messages. */
export function describeVips(vips: readonly VppVip[]): string {
  if (vips.length === 0) return "no VIPs";
  return vips.map((v) =>
    `[${v.index}] ${v.type} ${v.prefix}` +
    (v.port === undefined ? "" : ` ${v.protocol}/${v.port}`) +
    (v.srcIpSticky ? " src_ip_sticky" : "") +
    (v.used ? "" : " removed") +
    ` new_size:${v.newSize} ` +
    JSON.stringify(
      Object.fromEntries(
        v.ases.map((a) => [
          a.address,
          `${a.weight}${a.used ? "" : " removed"} flows:${a.flows}`,
        ]),
      ),
    )
  ).join("; ");
}

/**
 * Runs `script` (a scenario that talks to `vpp` through libvppapiclient)
 * in a child process with `name` and this VPP's coordinates as arguments,
 * and returns what it printed after `RESULT ` on its last such line. A
 * child because the library allows one connection per process, and so
 * that a crash or a blocked event loop fails the test instead of killing
 * or hanging the runner. The child is killed after `timeoutMs`; VPP is
 * sent SIGCONT afterwards in case the scenario stopped it.
 */
export async function runVppScenario(
  script: URL,
  vpp: RealVpp,
  name: string,
  timeoutMs = 120_000,
): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      script.pathname,
      name,
      JSON.stringify({
        lib: vpp.install.lib,
        prefix: vpp.prefix,
        statsSocket: vpp.statsSocket,
        cliSocket: vpp.cliSocket,
        vppctl: vpp.install.vppctl,
        pid: vpp.pid,
      }),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  try {
    const out = await child.output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    const tail = `\nstdout:\n${stdout.slice(-4000)}\nstderr:\n${
      stderr.slice(-6000)
    }`;
    if (out.signal !== null) {
      throw new Error(`scenario ${name} died of ${out.signal}${tail}`);
    }
    if (out.code !== 0) throw new Error(`scenario ${name} failed${tail}`);
    const line = stdout.split("\n").findLast((l) => l.startsWith("RESULT "));
    if (!line) throw new Error(`scenario ${name} printed no result${tail}`);
    return line.slice("RESULT ".length);
  } finally {
    clearTimeout(timer);
    if (vpp.pid !== undefined) {
      try {
        Deno.kill(vpp.pid, "SIGCONT");
      } catch {
        // gone
      }
    }
  }
}
