/**
 * Semantic stage: RawConfig → Config. Checks rules that span values
 * (references, ranges, families, VPP limits) and fills in defaults. Runs only
 * on a file without parse errors, so every required value is present.
 */
import { Checker } from "./_checker.ts";
import { DEFAULTS } from "./_defaults.ts";
import { formatDuration } from "./duration.ts";
import type { Field } from "./_reader.ts";
import type {
  RawAddress,
  RawConfig,
  RawHealthChecker,
  RawVppLb,
} from "./_raw.ts";
import { buildBackend, buildFrontend } from "./_semantic_frontend.ts";
import { buildHealthCheck } from "./_semantic_healthcheck.ts";
import type {
  BackendConfig,
  Config,
  ConfigError,
  Family,
  FrontendConfig,
  HealthCheckConfig,
  HealthCheckerConfig,
  VppLbConfig,
} from "./types.ts";

/** Result of the semantic stage: a Config only when there were no errors. */
export interface SemanticOutcome {
  readonly errors: readonly ConfigError[];
  readonly config?: Config;
}

/** Runs the semantic stage. `vppEnabled` makes the GRE source addresses mandatory. */
export function semanticStage(
  raw: RawConfig,
  file: string,
  vppEnabled: boolean,
): SemanticOutcome {
  const c = new Checker(file);
  const healthchecker = buildHealthChecker(c, raw.healthchecker);
  const lb = buildVppLb(c, raw.vppLb, vppEnabled);

  const healthchecks = new Map<string, HealthCheckConfig>();
  for (const h of raw.healthchecks) {
    healthchecks.set(h.name, buildHealthCheck(c, h));
  }

  const hcNames = [...healthchecks.keys()];
  const backends = new Map<string, BackendConfig>();
  for (const b of raw.backends) {
    backends.set(b.name, buildBackend(c, b, hcNames));
  }

  const frontends = new Map<string, FrontendConfig>();
  const vips = new Map<string, string>(); // prefix/protocol/port → frontend
  // prefix → the first frontend on it: VPP refuses an all-port VIP next to
  // per-port ones (VALUE_EXIST) and VIPs of one prefix with different encaps
  // (INVALID_ARGUMENT), which would otherwise fail at every sync.
  const byPrefix = new Map<string, FrontendConfig>();
  for (const f of raw.frontends) {
    const fc = buildFrontend(c, f, backends);
    frontends.set(f.name, fc);
    const vip = `${fc.prefix} ${fc.protocol} port ${fc.port}`;
    const other = vips.get(vip);
    if (other === undefined) vips.set(vip, f.name);
    else {
      c.fail(
        f.address,
        `frontends ${other} and ${f.name} are the same VIP (${vip}): VPP has one VIP per prefix, protocol ` +
          `and port; change the address, protocol or port of one of them`,
      );
      continue;
    }
    const first = byPrefix.get(fc.prefix);
    if (!first) {
      byPrefix.set(fc.prefix, fc);
      continue;
    }
    if ((first.protocol === "any") !== (fc.protocol === "any")) {
      c.fail(
        f.address,
        `frontends ${first.name} and ${f.name} share prefix ${fc.prefix}, but one covers all ports (protocol any): ` +
          `VPP refuses an all-port VIP next to per-port ones; use another address for one of them`,
      );
    } else if (
      first.backendFamily !== undefined && fc.backendFamily !== undefined &&
      first.backendFamily !== fc.backendFamily
    ) {
      c.fail(
        f.address,
        `frontends ${first.name} and ${f.name} share prefix ${fc.prefix} with IPv${first.backendFamily} and IPv${fc.backendFamily} backends: ` +
          `VPP needs one encapsulation (gre4/gre6) per prefix; use the same backend family or another address`,
      );
    }
  }

  if (c.errors.length > 0) return { errors: c.errors };
  return {
    errors: [],
    config: { healthchecker, vpp: { lb }, healthchecks, backends, frontends },
  };
}

function buildHealthChecker(
  c: Checker,
  h: RawHealthChecker,
): HealthCheckerConfig {
  const th = h.transitionHistory;
  if (th !== undefined && th.value < 1) {
    c.fail(
      th,
      `transition-history must be at least 1 (transitions kept per backend), got ${th.value}`,
    );
  }
  const netns = h.netns?.value;
  return {
    transitionHistory: th?.value ?? DEFAULTS.transitionHistory,
    ...(netns === undefined ? {} : { netns }),
  };
}

function buildVppLb(
  c: Checker,
  lb: RawVppLb,
  vppEnabled: boolean,
): VppLbConfig {
  const sync = lb.syncInterval;
  if (sync !== undefined && sync.value <= 0) {
    c.fail(sync, "sync-interval must be greater than 0: write e.g. 30s");
  }
  const buckets = lb.stickyBucketsPerCore;
  if (buckets !== undefined && !isPowerOfTwo(buckets.value)) {
    c.fail(
      buckets,
      `sticky-buckets-per-core must be a power of two from 1 to 2147483648 (e.g. 65536), got ${buckets.value}`,
    );
  }
  const flow = lb.flowTimeout;
  if (flow !== undefined) {
    if (flow.value % 1000 !== 0) {
      c.fail(
        flow,
        `flow-timeout must be whole seconds (VPP counts in seconds), got ${
          formatDuration(flow.value)
        }`,
      );
    } else if (flow.value < 1000 || flow.value > 120_000) {
      c.fail(
        flow,
        `flow-timeout must be between 1s and 120s, got ${
          formatDuration(flow.value)
        }`,
      );
    }
  }
  const min = lb.startupMinDelay?.value ?? DEFAULTS.startupMinDelayMs;
  const max = lb.startupMaxDelay?.value ?? DEFAULTS.startupMaxDelayMs;
  if (max !== 0 && min > max) {
    c.fail(
      lb.startupMinDelay ?? lb.startupMaxDelay ?? lb,
      `startup-min-delay ${
        formatDuration(min)
      } must not exceed startup-max-delay ${formatDuration(max)}: ` +
        `lower the min, raise the max, or set startup-max-delay: 0 to disable the watchdog`,
    );
  }
  const ipv4SrcAddress = srcAddress(c, lb, lb.ipv4SrcAddress, 4, vppEnabled);
  const ipv6SrcAddress = srcAddress(c, lb, lb.ipv6SrcAddress, 6, vppEnabled);
  return {
    ...(ipv4SrcAddress === undefined ? {} : { ipv4SrcAddress }),
    ...(ipv6SrcAddress === undefined ? {} : { ipv6SrcAddress }),
    syncIntervalMs: sync?.value ?? DEFAULTS.syncIntervalMs,
    stickyBucketsPerCore: buckets?.value ?? DEFAULTS.stickyBucketsPerCore,
    flowTimeoutMs: flow?.value ?? DEFAULTS.flowTimeoutMs,
    startupMinDelayMs: min,
    startupMaxDelayMs: max,
  };
}

function srcAddress(
  c: Checker,
  lb: RawVppLb,
  f: Field<RawAddress> | undefined,
  family: Family,
  vppEnabled: boolean,
): string | undefined {
  const key = `ipv${family}-src-address`;
  if (f === undefined) {
    if (vppEnabled) {
      c.missing(
        lb,
        key,
        `${key} is required: VPP needs it as the outer source address of GRE${family} encapsulation; ` +
          `set it to an IPv${family} address of the VPP host, or run with --vpp=false`,
      );
    }
    return undefined;
  }
  const parsed = f.value.parsed;
  if (f.value.hasLength) {
    c.fail(
      f,
      `${key} must be a single address without a prefix length: write ${parsed.address}`,
    );
  } else if (parsed.family !== family) {
    c.fail(
      f,
      `${key} must be an IPv${family} address, got the IPv${parsed.family} address ${parsed.address}`,
    );
  }
  return parsed.address;
}

function isPowerOfTwo(n: number): boolean {
  if (!Number.isInteger(n) || n < 1 || n > 2 ** 31) return false;
  return 2 ** Math.round(Math.log2(n)) === n;
}
