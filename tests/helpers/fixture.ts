/**
 * A running daemon with controllable backends, for API-level system tests:
 * each backend is an HTTP listener on 127.0.0.1 whose health the test flips,
 * and the daemon (a real process) probes them every 100 ms by default.
 */
import { freePort, MaglevProcess } from "./maglev.ts";

/** One backend the test controls. */
export interface FakeBackend {
  readonly name: string;
  /** A distinct loopback address (127.0.3.N): VPP allows one AS per address. */
  readonly address: string;
  readonly port: number;
  healthy: boolean;
  /** Hold every request unanswered (the probe times out) while true. */
  hang: boolean;
}

/** A daemon plus its backends. */
export interface DaemonFixture extends AsyncDisposable {
  readonly process: MaglevProcess;
  readonly grpcAddr: string;
  readonly metricsAddr: string;
  readonly configPath: string;
  readonly backends: Map<string, FakeBackend>;
  close(): Promise<void>;
}

/** Health-check timing of every backend, as config durations ("100ms"). */
export interface ProbeTiming {
  readonly interval: string;
  /** Must be shorter than `interval` (the config refuses it otherwise). */
  readonly timeout: string;
  readonly fastInterval?: string;
  readonly downInterval?: string;
  readonly fall?: number;
}

/**
 * Timing for tests that flip backends and also assert a state at one moment
 * (VPP weights, "every backend up"): nothing but the test may move a
 * backend. The backends answer from the test process at once (200 or 503),
 * so a probe only fails by timeout when the daemon or the test process gets
 * no CPU for the whole timeout. Under load (two busy loops and three test
 * modules on 2 cores) probes took 1 ms at the median and up to ~540 ms
 * (one stall of a daemon); the default 80 ms timeout with fall 1 let such a
 * stall take a healthy backend down, and rise 1 brought it back ~100 ms
 * later: a window an assertion can land in. Here a healthy backend goes down
 * only after two probes in a row each get no answer for 900 ms (one stall of
 * at least 1.9 s, or two stalls of 0.9 s hitting back-to-back probes), while
 * a backend the test makes sick still goes down within interval +
 * fast-interval (~1.2 s) and comes back within down-interval (~0.1 s).
 */
export const STEADY_PROBES: ProbeTiming = {
  interval: "1s",
  timeout: "900ms",
  fastInterval: "100ms",
  downInterval: "100ms",
  fall: 2,
};

/** Options of `startDaemon`. */
export interface FixtureOptions {
  /** Backend names; default a, b, c. */
  readonly backends?: readonly string[];
  /** Extra daemon flags. */
  readonly flags?: readonly string[];
  /**
   * Probe interval (also the fast/down interval): "100ms" or "10ms"; with
   * neither this nor `fall` nor `probe`, STEADY_PROBES.
   */
  readonly interval?: string;
  /**
   * Failed probes before a backend goes down (default 1: tests see a change
   * at once). With the 80 ms timeout one slow probe on a loaded machine can
   * take a healthy backend down: tests that assert a state at one moment
   * use `probe: STEADY_PROBES` instead.
   */
  readonly fall?: number;
  /** Every probe setting at once; replaces `interval` and `fall`. */
  readonly probe?: ProbeTiming;
  /** `min-healthy` of the frontend (e.g. "60%"); none by default. */
  readonly minHealthy?: string;
  /**
   * Program VPP through this libvppapiclient.so (the stand-in), with these
   * env vars for it; otherwise the daemon runs with --vpp=false.
   */
  readonly vpp?: {
    readonly lib: string;
    readonly env: Record<string, string>;
    readonly minDelay?: string;
    readonly maxDelay?: string;
    readonly syncInterval?: string;
    /**
     * Leave startup-min-delay and startup-max-delay out of the config, so
     * the daemon's own warmup defaults apply (minDelay and maxDelay are
     * then ignored); otherwise both default to 0s here (no warmup).
     */
    readonly defaultWarmup?: boolean;
  };
}

/**
 * Starts backends and a daemon with frontend "web" (pools primary: first
 * two backends, backup: the rest) and waits until it is ready.
 */
export async function startDaemon(
  opts: FixtureOptions = {},
): Promise<DaemonFixture> {
  const names = opts.backends ?? ["a", "b", "c"];
  /** Set at close: hanging requests answer, so the servers can shut down. */
  let released = false;
  const backends = new Map<string, FakeBackend>();
  const servers: Deno.HttpServer[] = [];
  for (const [i, name] of names.entries()) {
    const address = `127.0.3.${i + 1}`;
    const b: FakeBackend = {
      name,
      address,
      port: 0,
      healthy: true,
      hang: false,
    };
    const server = Deno.serve(
      { hostname: address, port: 0, onListen() {} },
      async () => {
        // A hanging backend answers only once released (or at close).
        while (b.hang && !released) {
          await new Promise((r) => setTimeout(r, 50));
        }
        return b.healthy
          ? new Response("OK")
          : new Response("sick", { status: 503 });
      },
    );
    (b as { port: number }).port = server.addr.port;
    servers.push(server);
    backends.set(name, b);
  }
  // Unless a test asks for raw timing, a CPU stall of the loaded machine
  // must not move a healthy backend (see STEADY_PROBES).
  const probe: ProbeTiming = opts.probe ??
    (opts.interval === undefined && opts.fall === undefined ? STEADY_PROBES : {
      interval: opts.interval ?? "100ms",
      timeout: opts.interval === "10ms" ? "8ms" : "80ms",
      fall: opts.fall ?? 1,
    });
  const timing = [
    `interval: ${probe.interval}`,
    ...(probe.fastInterval ? [`fast-interval: ${probe.fastInterval}`] : []),
    ...(probe.downInterval ? [`down-interval: ${probe.downInterval}`] : []),
    `timeout: ${probe.timeout}`,
    "rise: 1",
    `fall: ${probe.fall ?? 1}`,
  ].map((l) => `      ${l}`).join("\n");
  const checks = names.map((n) =>
    `    hc-${n}:
      type: http
      port: ${backends.get(n)!.port}
${timing}
      params: { path: /healthz, response-code: 200-299 }`
  ).join("\n");
  const primary = names.slice(0, 2).map((n) => `            ${n}: {}`).join(
    "\n",
  );
  const backup = names.slice(2).map((n) => `            ${n}: {}`).join("\n");
  const vpp = opts.vpp
    ? `  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      ipv6-src-address: 2001:db8::254
${
      opts.vpp.defaultWarmup
        ? ""
        : `      startup-min-delay: ${opts.vpp.minDelay ?? "0s"}
      startup-max-delay: ${opts.vpp.maxDelay ?? "0s"}
`
    }      sync-interval: ${opts.vpp.syncInterval ?? "30s"}
`
    : "";
  const config = `maglev:
${vpp}  healthchecker:
    transition-history: 4
  healthchecks:
${checks}
  backends:
${
    names.map((n) =>
      `    ${n}: { address: ${backends.get(n)!.address}, healthcheck: hc-${n} }`
    ).join("\n")
  }
  frontends:
    web:
      description: "test frontend"
      address: 192.0.2.1
      protocol: tcp
      port: 80
${opts.minHealthy ? `      min-healthy: ${opts.minHealthy}\n` : ""}      pools:
        - name: primary
          backends:
${primary}
${
    backup
      ? `        - name: backup
          backends:
${backup}`
      : ""
  }
`;
  const dir = await Deno.makeTempDir({ prefix: "maglev-fixture-" });
  const configPath = `${dir}/maglev.yaml`;
  await Deno.writeTextFile(configPath, config);
  const grpcAddr = `127.0.0.1:${freePort()}`;
  const metricsAddr = `127.0.0.1:${freePort()}`;
  const process = new MaglevProcess([
    "daemon",
    "--config",
    configPath,
    ...(opts.vpp ? ["--vpp-lib", opts.vpp.lib] : ["--vpp=false"]),
    "--grpc-addr",
    grpcAddr,
    "--metrics-addr",
    metricsAddr,
    "--log-format",
    "json",
    ...(opts.flags ?? []),
  ], opts.vpp?.env ?? {});
  const close = async () => {
    released = true;
    await process.stop("SIGTERM");
    await Promise.all(servers.map((s) => s.shutdown()));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await process.waitForRecord((r) => r.msg === "ready", "daemon ready");
  } catch (e) {
    await close();
    throw e;
  }
  return {
    process,
    grpcAddr,
    metricsAddr,
    configPath,
    backends,
    close,
    [Symbol.asyncDispose]: close,
  };
}
