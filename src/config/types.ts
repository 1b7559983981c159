/**
 * The typed configuration the rest of the program works with. The loader
 * (`load.ts`) turns YAML into these objects after both validation stages, so
 * every consumer can trust every field: durations are milliseconds, addresses
 * are canonical strings, defaults are filled in.
 */

/** Probe types the checker knows. */
export type HealthCheckType = "icmp" | "tcp" | "http" | "https";

/** Address family of an IP address. */
export type Family = 4 | 6;

/** An inclusive range of HTTP status codes, `[low, high]`. */
export type StatusRange = readonly [number, number];

/** Type-specific probe parameters; unused ones keep their defaults. */
export interface HealthCheckParams {
  /** http/https: request path, default "/". */
  readonly path: string;
  /** http/https: Host header; undefined means the backend address. */
  readonly host?: string;
  /** http/https: request method. */
  readonly method: "GET" | "HEAD";
  /** http/https: accepted status codes, default 200-399. */
  readonly responseCodes: readonly StatusRange[];
  /** http/https: regular expression source matched against the first 64 KiB of body. */
  readonly responseRegexp?: string;
  /** tcp only: do a TLS handshake after connecting (result codes L6*). */
  readonly tls: boolean;
  /** https and tcp+tls: SNI and the name to verify; default the host param, then no SNI. */
  readonly serverName?: string;
  /** https and tcp+tls: accept any certificate. */
  readonly insecureSkipVerify: boolean;
}

/** One named entry of `maglev.healthchecks`. */
export interface HealthCheckConfig {
  readonly name: string;
  readonly type: HealthCheckType;
  /** Port for tcp/http/https (defaults 80 for http, 443 for https); 0 for icmp. */
  readonly port: number;
  readonly intervalMs: number;
  readonly fastIntervalMs: number;
  readonly downIntervalMs: number;
  readonly timeoutMs: number;
  readonly rise: number;
  readonly fall: number;
  readonly params: HealthCheckParams;
}

/** One named entry of `maglev.backends`. */
export interface BackendConfig {
  readonly name: string;
  /** Canonical textual address (no brackets, no prefix length). */
  readonly address: string;
  readonly family: Family;
  readonly healthcheck: string;
  readonly enabled: boolean;
}

/** One member of a pool: a backend and its configured weight (0..100). */
export interface PoolMember {
  readonly backend: string;
  readonly weight: number;
}

/** One pool of a frontend; pools are in priority order. */
export interface PoolConfig {
  readonly name: string;
  readonly members: readonly PoolMember[];
}

/** VIP protocol; `any` means every protocol and requires port 0. */
export type Protocol = "tcp" | "udp" | "any";

/** One named entry of `maglev.frontends`. */
export interface FrontendConfig {
  readonly name: string;
  readonly description: string;
  /** Canonical prefix, always with a length: `192.0.2.1/32`, `2001:db8::/64`. */
  readonly prefix: string;
  /** Network address of the prefix without the length. */
  readonly address: string;
  readonly prefixLength: number;
  /** Family of the VIP itself. */
  readonly family: Family;
  /** Family shared by all backends of this frontend (decides gre4/gre6); undefined when it has none. */
  readonly backendFamily?: Family;
  readonly protocol: Protocol;
  readonly port: number;
  readonly srcIpSticky: boolean;
  readonly flushOnDown: boolean;
  /**
   * The mass-failure guard (`min-healthy: 50%`) as a share in (0, 1]: when
   * a sudden wave of failures would leave less of the frontend's weight up,
   * the last good weights are kept until an operator confirms. Undefined:
   * off.
   */
  readonly minHealthy?: number;
  readonly pools: readonly PoolConfig[];
}

/** `maglev.vpp.lb`. */
export interface VppLbConfig {
  readonly ipv4SrcAddress?: string;
  readonly ipv6SrcAddress?: string;
  readonly syncIntervalMs: number;
  readonly stickyBucketsPerCore: number;
  /** Whole seconds expressed in ms, 1s..120s. */
  readonly flowTimeoutMs: number;
  readonly startupMinDelayMs: number;
  readonly startupMaxDelayMs: number;
}

/** `maglev.healthchecker`. */
export interface HealthCheckerConfig {
  readonly transitionHistory: number;
  /** Network namespace name (as in /var/run/netns) to probe from; undefined = current. */
  readonly netns?: string;
}

/** The whole validated configuration. Maps keep the file's order. */
export interface Config {
  readonly healthchecker: HealthCheckerConfig;
  readonly vpp: { readonly lb: VppLbConfig };
  readonly healthchecks: ReadonlyMap<string, HealthCheckConfig>;
  readonly backends: ReadonlyMap<string, BackendConfig>;
  readonly frontends: ReadonlyMap<string, FrontendConfig>;
}

/** Which validation stage found an error; decides `--check`'s exit code (1 / 2). */
export type ConfigErrorKind = "parse" | "semantic";

/** One problem in a config file, positioned for an operator's editor. */
export interface ConfigError {
  readonly kind: ConfigErrorKind;
  readonly file: string;
  /** 1-based; 0 when the problem has no position (e.g. unreadable file). */
  readonly line: number;
  readonly col: number;
  /** Key path such as `maglev.frontends.web.pools[1].backends.x`. */
  readonly path: string;
  readonly message: string;
}

/** Outcome of loading a file: a config, or every error found (never a throw). */
export type LoadResult =
  | { readonly ok: true; readonly config: Config }
  | {
    readonly ok: false;
    /** "parse" if any parse error was found, else "semantic". */
    readonly kind: ConfigErrorKind;
    readonly errors: readonly ConfigError[];
  };
