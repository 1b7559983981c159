/**
 * A running daemon with controllable backends, for API-level system tests:
 * each backend is an HTTP listener on 127.0.0.1 whose health the test flips,
 * and the daemon (a real process) probes them every 100 ms.
 */
import { freePort, MaglevProcess } from "./maglev.ts";

/** One backend the test controls. */
export interface FakeBackend {
  readonly name: string;
  /** A distinct loopback address (127.0.3.N): VPP allows one AS per address. */
  readonly address: string;
  readonly port: number;
  healthy: boolean;
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

/** Options of `startDaemon`. */
export interface FixtureOptions {
  /** Backend names; default a, b, c. */
  readonly backends?: readonly string[];
  /** Extra daemon flags. */
  readonly flags?: readonly string[];
  /** Probe interval (also the fast/down interval): "100ms" (default) or "10ms". */
  readonly interval?: string;
  /**
   * Failed probes before a backend goes down (default 1: tests see a change
   * at once). Tests that assert nothing changes use more, so one slow probe
   * on a loaded machine cannot take a healthy backend down.
   */
  readonly fall?: number;
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
  const backends = new Map<string, FakeBackend>();
  const servers: Deno.HttpServer[] = [];
  for (const [i, name] of names.entries()) {
    const address = `127.0.3.${i + 1}`;
    const b: FakeBackend = { name, address, port: 0, healthy: true };
    const server = Deno.serve(
      { hostname: address, port: 0, onListen() {} },
      () =>
        b.healthy ? new Response("OK") : new Response("sick", { status: 503 }),
    );
    (b as { port: number }).port = server.addr.port;
    servers.push(server);
    backends.set(name, b);
  }
  const interval = opts.interval ?? "100ms";
  const timeout = interval === "100ms" ? "80ms" : "8ms";
  const checks = names.map((n) =>
    `    hc-${n}:
      type: http
      port: ${backends.get(n)!.port}
      interval: ${interval}
      timeout: ${timeout}
      rise: 1
      fall: ${opts.fall ?? 1}
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
      startup-min-delay: ${opts.vpp.minDelay ?? "0s"}
      startup-max-delay: ${opts.vpp.maxDelay ?? "0s"}
      sync-interval: ${opts.vpp.syncInterval ?? "30s"}
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
      pools:
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
