/**
 * Semantic stage for backends and frontends: references, address rules and
 * the VPP constraints a frontend's pools must meet.
 */
import type { Checker } from "./_checker.ts";
import { DEFAULTS } from "./_defaults.ts";
import type { RawBackend, RawFrontend, RawPool } from "./_raw.ts";
import { suggest } from "./_suggest.ts";
import type {
  BackendConfig,
  Family,
  FrontendConfig,
  PoolConfig,
  PoolMember,
  Protocol,
} from "./types.ts";

/** Validates a backend against the defined health checks and fills in defaults. */
export function buildBackend(
  c: Checker,
  b: RawBackend,
  healthchecks: readonly string[],
): BackendConfig {
  const addr = b.address.value;
  if (addr.hasLength) {
    c.fail(
      b.address,
      `a backend address must be a single host address without a prefix length: write ${addr.parsed.address}`,
    );
  }
  const hc = b.healthcheck.value;
  if (!healthchecks.includes(hc)) {
    c.fail(
      b.healthcheck,
      `unknown healthcheck "${hc}"${didYouMean(hc, healthchecks)}: ${
        defineOrUse("maglev.healthchecks", healthchecks)
      }`,
    );
  }
  return {
    name: b.name,
    address: addr.parsed.address,
    family: addr.parsed.family,
    healthcheck: hc,
    enabled: b.enabled?.value ?? DEFAULTS.enabled,
  };
}

/** Validates a frontend and its pools against the built backends. */
export function buildFrontend(
  c: Checker,
  f: RawFrontend,
  backends: ReadonlyMap<string, BackendConfig>,
): FrontendConfig {
  const vip = f.address.value.parsed;
  if (vip.hostBitsSet) {
    c.fail(
      f.address,
      `${f.address.value.text} has host bits set: write the network address ${vip.network}/${vip.prefixLength}, ` +
        `or ${vip.address} alone for a single-address VIP`,
    );
  }
  const protocol: Protocol = f.protocol?.value ?? DEFAULTS.protocol;
  const pools = buildPools(c, f, backends);
  return {
    name: f.name,
    description: f.description?.value ?? DEFAULTS.description,
    prefix: `${vip.network}/${vip.prefixLength}`,
    address: vip.network,
    prefixLength: vip.prefixLength,
    family: vip.family,
    ...(pools.family === undefined ? {} : { backendFamily: pools.family }),
    protocol,
    port: port(c, f, protocol),
    srcIpSticky: f.srcIpSticky?.value ?? DEFAULTS.srcIpSticky,
    flushOnDown: f.flushOnDown?.value ?? DEFAULTS.flushOnDown,
    ...minHealthy(c, f),
    pools: pools.pools,
  };
}

/** `min-healthy: N%` (1..100) as a share; absent: no guard. */
function minHealthy(c: Checker, f: RawFrontend): { minHealthy?: number } {
  const field = f.minHealthy;
  if (field === undefined) return {};
  const m = /^\s*(\d{1,3})\s*%\s*$/.exec(field.value);
  const n = m ? Number(m[1]) : NaN;
  if (!(n >= 1 && n <= 100)) {
    c.fail(
      field,
      `min-healthy must be a percentage from 1% to 100% of the frontend's weight, e.g. min-healthy: 50%, not "${field.value}" (leave it out for no guard)`,
    );
    return {};
  }
  return { minHealthy: n / 100 };
}

function port(c: Checker, f: RawFrontend, protocol: Protocol): number {
  if (protocol === "any") {
    if (f.port !== undefined && f.port.value !== 0) {
      c.fail(
        f.port,
        `protocol any covers all ports and needs port 0: set port: 0 (or remove it), or use protocol tcp or udp`,
      );
    }
    return 0;
  }
  if (f.port === undefined) {
    c.missing(
      f,
      "port",
      `port is required for ${protocol} frontends: add port: 1..65535 (or use protocol: any with port 0)`,
    );
    return 0;
  }
  if (f.port.value < 1 || f.port.value > 65535) {
    const hint = f.port.value === 0
      ? " (port 0 means all ports and needs protocol: any)"
      : "";
    c.fail(
      f.port,
      `port ${f.port.value} is out of range for ${protocol}: use 1..65535${hint}`,
    );
  }
  return f.port.value;
}

/** What the pool checks learn about the frontend as a whole. */
interface Pools {
  readonly pools: PoolConfig[];
  readonly family?: Family;
}

function buildPools(
  c: Checker,
  f: RawFrontend,
  backends: ReadonlyMap<string, BackendConfig>,
): Pools {
  if (f.pools === undefined) {
    c.missing(
      f,
      "pools",
      "pools is missing: add a list with at least one pool (name and backends)",
    );
    return { pools: [] };
  }
  if (f.pools.value.length === 0) {
    c.fail(
      f.pools,
      "pools must be a non-empty list: add at least one pool (name and backends)",
    );
    return { pools: [] };
  }
  const poolNames = new Map<string, string>(); // name → path of its first use
  const poolOf = new Map<string, string>(); // backend → label of its pool
  const byAddress = new Map<string, string>(); // address → backend
  let first: BackendConfig | undefined; // decides the frontend's backend family
  const pools: PoolConfig[] = [];

  f.pools.value.forEach((pool: RawPool, index) => {
    const name = pool.name?.value ?? "";
    if (pool.name === undefined) {
      c.missing(
        pool,
        "name",
        "this pool needs a name: add name: (e.g. primary)",
      );
    } else if (name === "") {
      c.fail(
        pool.name,
        "pool name is empty: give this pool a name (e.g. primary)",
      );
    } else if (poolNames.has(name)) {
      c.fail(
        pool.name,
        `duplicate pool name "${name}" (first at ${
          poolNames.get(name)
        }): give each pool of frontend ${f.name} its own name`,
      );
    } else {
      poolNames.set(name, pool.path);
    }
    const label = name === "" ? `pools[${index}]` : `pool ${name}`;

    if (pool.members === undefined) {
      c.missing(
        pool,
        "backends",
        `${label} has no backends: add backends: with at least one backend`,
      );
    } else if (pool.members.value.length === 0) {
      c.fail(
        pool.members,
        `${label} has no backends: list at least one, e.g. backends: { nginx0: {} }`,
      );
    }
    const members: PoolMember[] = [];
    for (const m of pool.members?.value ?? []) {
      const weight = m.weight?.value ?? DEFAULTS.weight;
      if (m.weight !== undefined && (weight < 0 || weight > 100)) {
        c.fail(m.weight, `weight ${weight} is out of range: use 0..100`);
      }
      members.push({ backend: m.backend, weight });

      const b = backends.get(m.backend);
      if (b === undefined) {
        const names = [...backends.keys()];
        c.fail(
          m,
          `unknown backend "${m.backend}"${didYouMean(m.backend, names)}: ${
            defineOrUse("maglev.backends", names)
          }`,
        );
        continue;
      }
      const earlier = poolOf.get(m.backend);
      if (earlier !== undefined) {
        c.fail(
          m,
          `backend ${m.backend} is already in ${earlier} of frontend ${f.name}: a backend may be in only ` +
            `one pool of a frontend (VPP has one AS per address per VIP); remove one of them`,
        );
        continue;
      }
      poolOf.set(m.backend, label);
      const twin = byAddress.get(b.address);
      if (twin !== undefined) {
        c.fail(
          m,
          `backends ${twin} and ${m.backend} of frontend ${f.name} have the same address ${b.address}: ` +
            `VPP has one AS per address per VIP; keep only one of them`,
        );
      } else {
        byAddress.set(b.address, m.backend);
      }
      if (first === undefined) {
        first = b;
      } else if (b.family !== first.family) {
        c.fail(
          m,
          `backend ${m.backend} is IPv${b.family} but backend ${first.name} is IPv${first.family}: all backends of ` +
            `frontend ${f.name} must share one address family (the GRE encap follows it); split them into two frontends`,
        );
      }
    }
    pools.push({ name, members });
  });
  return { pools, family: first?.family };
}

function didYouMean(word: string, names: readonly string[]): string {
  const hint = suggest(word, names);
  return hint === undefined ? "" : ` (did you mean "${hint}"?)`;
}

function defineOrUse(section: string, names: readonly string[]): string {
  if (names.length === 0) return `define it under ${section}`;
  const shown = names.length > 8
    ? `${names.slice(0, 8).join(", ")}, …`
    : names.join(", ");
  return `define it under ${section}, or use one of: ${shown}`;
}
