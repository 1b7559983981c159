/**
 * Probes: tcp (optionally TLS), http, https and icmp, run from the current
 * network namespace or from a named one. Everything above this folder uses
 * `createProber` and the `Prober` interface; nothing else here is needed.
 *
 * ```ts
 * const prober = createProber({ netns: "dataplane" });
 * const r = await prober.probe({ address: "192.0.2.10", family: 4 }, check);
 * // r.code: "L7OK", r.text: "HTTP 200"
 * prober.close();
 * ```
 */
import type { HealthCheckConfig } from "../config/types.ts";
import { LocalProber } from "./local.ts";
import { NetnsProber } from "./netns.ts";
import type {
  ClientProber,
  Prober,
  ProbeResult,
  ProbeTarget,
} from "./types.ts";

export type {
  ClientProber,
  ProbeOptions,
  Prober,
  ProbeResult,
  ProbeTarget,
} from "./types.ts";
export { KeepAliveSlot } from "./keepalive.ts";
export { netnsProblem } from "./netns.ts";
export { NETNS_WORKER_PREFIX, runNetnsWorker } from "./netns_worker.ts";
export { USER_AGENT } from "./http_request.ts";

/** Options shared by `createProber` and `probeOnce`. */
export interface ProberOptions {
  /** Run probes inside this network namespace (/var/run/netns/<name>). */
  readonly netns?: string;
  /** Trusted CA certificates (PEM), replacing the default roots (tests, private CAs). */
  readonly caCerts?: readonly string[];
  /**
   * Module the netns worker runs. A single-file bundle passes its own URL
   * and, at start-up, calls `runNetnsWorker()` instead of its main when
   * `globalThis.name` starts with NETNS_WORKER_PREFIX.
   */
  readonly workerUrl?: URL;
}

/**
 * The prober for a daemon: one per process (per namespace), shared by all
 * backends, so sockets and the netns worker are shared too.
 */
export function createProber(opts: ProberOptions = {}): Prober {
  if (opts.netns !== undefined && opts.netns !== "") {
    return new NetnsProber({
      netns: opts.netns,
      caCerts: opts.caCerts,
      workerUrl: opts.workerUrl,
    });
  }
  return new LocalProber({ caCerts: opts.caCerts });
}

/**
 * The prober for client tools (maglev tester): probes from the current
 * namespace and honours ProbeOptions (response header, keep-alive). Same
 * code, codes and limits as the daemon's probes.
 */
export function createClientProber(
  opts: Pick<ProberOptions, "caCerts"> = {},
): ClientProber {
  return new LocalProber({ caCerts: opts.caCerts });
}

/**
 * One probe with a throw-away prober, for tooling (`maglev ctl`-style
 * one-shots, tests). Never rejects.
 */
export async function probeOnce(
  target: ProbeTarget,
  check: HealthCheckConfig,
  opts: ProberOptions = {},
): Promise<ProbeResult> {
  const prober = createProber(opts);
  try {
    return await prober.probe(target, check);
  } finally {
    prober.close();
  }
}
