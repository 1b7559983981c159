/**
 * Which VIPs `maglev tester` probes, and how: the frontends of the configs,
 * and nothing else (no backend, no other address is ever a target). Pure:
 * configs in, targets and the reasons for skipped frontends out.
 *
 * The rule, documented in docs/user-guide.md: a frontend's port in
 * `--http-ports` is probed with an HTTP GET, in `--https-ports` with an
 * HTTPS GET, any other TCP port with a TCP connect. UDP VIPs cannot be
 * probed over TCP and prefix VIPs (shorter than /32 or /128) name no single
 * address, so both are skipped; all-port VIPs (`protocol: any`, port 0) are
 * probed on `--any-port` when it is given, and skipped otherwise.
 */
import type { Family, FrontendConfig } from "../config/types.ts";

/** How a VIP is probed. */
export type Scheme = "http" | "https" | "tcp";

/** One VIP to probe: an address and port from one or more frontends. */
export interface Target {
  /** `scheme://address:port` (IPv6 in brackets): unique among targets. */
  readonly key: string;
  /** Names of the frontends with this VIP, in config order, no duplicates. */
  readonly frontends: readonly string[];
  readonly address: string;
  readonly family: Family;
  readonly port: number;
  readonly scheme: Scheme;
}

/** A frontend that matched the filter but is not probed, and why. */
export interface Skipped {
  readonly frontend: string;
  readonly file: string;
  /** The VIP as configured: `prefix protocol port`. */
  readonly vip: string;
  readonly reason: string;
}

/** The frontends of one loaded config file. */
export interface ConfigSource {
  readonly file: string;
  readonly frontends: ReadonlyMap<string, FrontendConfig>;
}

/** The command line's say in what is probed and how. */
export interface TargetRules {
  /** Only frontends whose name matches (unanchored); undefined: all. */
  readonly filter?: RegExp;
  readonly httpPorts: ReadonlySet<number>;
  readonly httpsPorts: ReadonlySet<number>;
  /** Port probed on all-port VIPs (protocol any); undefined: skip them. */
  readonly anyPort?: number;
}

/** The scheme for a VIP port: by the port lists, else a TCP connect. */
export function schemeFor(port: number, rules: TargetRules): Scheme {
  if (rules.httpPorts.has(port)) return "http";
  if (rules.httpsPorts.has(port)) return "https";
  return "tcp";
}

/** `scheme://address:port`, with an IPv6 address in brackets. */
export function targetKey(
  scheme: Scheme,
  address: string,
  port: number,
): string {
  const host = address.includes(":") ? `[${address}]` : address;
  return `${scheme}://${host}:${port}`;
}

/**
 * The targets of `sources` in config order, one per distinct VIP (the same
 * VIP in two files, as on a pair of load balancers, is probed once and
 * lists both frontend names), and the frontends that cannot be probed.
 */
export function buildTargets(
  sources: readonly ConfigSource[],
  rules: TargetRules,
): { targets: Target[]; skipped: Skipped[] } {
  const byKey = new Map<string, { t: Target; names: string[] }>();
  const skipped: Skipped[] = [];
  for (const src of sources) {
    for (const fe of src.frontends.values()) {
      if (rules.filter !== undefined && !rules.filter.test(fe.name)) continue;
      const vip = `${fe.prefix} ${fe.protocol} port ${fe.port}`;
      const skip = (reason: string) =>
        skipped.push({ frontend: fe.name, file: src.file, vip, reason });
      if (fe.prefixLength !== (fe.family === 4 ? 32 : 128)) {
        skip("a prefix VIP names no single address to probe");
        continue;
      }
      if (fe.protocol === "udp") {
        skip("a UDP VIP cannot be probed with TCP or HTTP");
        continue;
      }
      let port = fe.port;
      if (fe.protocol === "any" || port === 0) {
        if (rules.anyPort === undefined) {
          skip("it covers all ports: give --any-port to probe one");
          continue;
        }
        port = rules.anyPort;
      }
      const scheme = schemeFor(port, rules);
      const key = targetKey(scheme, fe.address, port);
      const seen = byKey.get(key);
      if (seen) {
        if (!seen.names.includes(fe.name)) seen.names.push(fe.name);
        continue;
      }
      const names = [fe.name];
      byKey.set(key, {
        names,
        t: {
          key,
          frontends: names,
          address: fe.address,
          family: fe.family,
          port,
          scheme,
        },
      });
    }
  }
  return { targets: [...byKey.values()].map((v) => v.t), skipped };
}
