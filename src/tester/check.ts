/**
 * The probe `maglev tester` sends to a VIP, expressed as the daemon's own
 * health-check type, so it runs through the same probe code (src/probe/):
 * same HTTP client, limits and result codes. Pure.
 */
import type { HealthCheckConfig } from "../config/types.ts";
import type { ProbeTarget } from "../probe/mod.ts";
import type { Target } from "./targets.ts";

/** What the command line says about every probe. */
export interface ProbeSettings {
  /** Request path of HTTP(S) probes. */
  readonly uri: string;
  /** Host header and TLS server name; undefined: the VIP address. */
  readonly host?: string;
  readonly timeoutMs: number;
  /** Accept any certificate on HTTPS VIPs. */
  readonly insecure: boolean;
}

/**
 * The health check for one target: a GET of the URI for http/https VIPs
 * (2xx and 3xx count as success, as in a health check without
 * `response-code`), a plain connect for tcp ones.
 */
export function checkFor(t: Target, s: ProbeSettings): HealthCheckConfig {
  return {
    name: t.key,
    type: t.scheme,
    port: t.port,
    // The tester schedules probes itself; these only satisfy the type.
    intervalMs: s.timeoutMs,
    fastIntervalMs: s.timeoutMs,
    downIntervalMs: s.timeoutMs,
    timeoutMs: s.timeoutMs,
    rise: 1,
    fall: 1,
    params: {
      path: s.uri,
      host: s.host,
      method: "GET",
      responseCodes: [],
      tls: false,
      serverName: s.host,
      insecureSkipVerify: s.insecure,
    },
  };
}

/** The prober's view of a target: only its address and family. */
export function probeTargetOf(t: Target): ProbeTarget {
  return { address: t.address, family: t.family };
}
