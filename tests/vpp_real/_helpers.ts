/**
 * Shared pieces of the real-VPP tests: a fixture daemon wired to a RealVpp,
 * the test frontend's addresses, and reloads by SIGHUP.
 */
import {
  type DaemonFixture,
  type FixtureOptions,
  startDaemon,
  STEADY_PROBES,
} from "../helpers/fixture.ts";
import { liveWeights, type RealVpp, type VppVip } from "../helpers/realvpp.ts";
import { waitFor } from "../helpers/wait.ts";

/** The fixture's backends a, b (pool primary) and c (pool backup). */
export const A = "127.0.3.1", B = "127.0.3.2", C = "127.0.3.3";
/** The fixture's frontend "web": 192.0.2.1/32 tcp/80. */
export const WEB = "192.0.2.1/32";
/** VPP's protocol number for tcp, as `show lb vips verbose` prints it. */
export const TCP = 6;
/** What the fixture writes as vpp.lb ipv4-src-address / ipv6-src-address. */
export const SRC4 = "192.0.2.254", SRC6 = "2001:db8::254";

/** The fixture's options for a daemon that programs `vpp`. */
export interface RealDaemonOptions {
  readonly minDelay?: string;
  readonly maxDelay?: string;
  readonly syncInterval?: string;
  /** The daemon's own warmup defaults (5 s / 30 s) instead of none. */
  readonly defaultWarmup?: boolean;
  readonly flags?: readonly string[];
  readonly probe?: FixtureOptions["probe"];
}

/**
 * Starts the fixture's backends and a daemon that programs `vpp` through
 * its libvppapiclient.so, its api-segment prefix and its stats socket.
 * Probe timing is STEADY_PROBES: these tests assert VPP's state at single
 * moments, which a healthy backend flapping under load would falsify.
 */
export function startOn(
  vpp: RealVpp,
  opts: RealDaemonOptions = {},
): Promise<DaemonFixture> {
  return startDaemon({
    probe: opts.probe ?? STEADY_PROBES,
    vpp: {
      lib: vpp.install.lib,
      env: {},
      minDelay: opts.minDelay,
      maxDelay: opts.maxDelay,
      syncInterval: opts.syncInterval,
      defaultWarmup: opts.defaultWarmup,
    },
    // Not daemonFlags(): the fixture already passes --vpp-lib.
    flags: [
      "--vpp-api-prefix",
      vpp.prefix,
      "--vpp-stats-socket",
      vpp.statsSocket,
      ...(opts.flags ?? []),
    ],
  });
}

/**
 * Rewrites the daemon's config file and reloads it with SIGHUP, as an
 * operator's `systemctl reload` does; resolves once the daemon has applied
 * it (its `config-reloaded` record), rejects if it refused the file.
 */
export async function reload(d: DaemonFixture, config: string): Promise<void> {
  const count = (msg: string) =>
    d.process.records.filter((r) => r.msg === msg).length;
  const done = count("config-reloaded");
  const refused = count("config-reload-refused");
  await Deno.writeTextFile(d.configPath, config);
  d.process.child.kill("SIGHUP");
  await waitFor("the reload applied (config-reloaded)", () => {
    if (count("config-reload-refused") > refused) {
      throw new Error(`config refused; log:\n${d.process.tail()}`);
    }
    return count("config-reloaded") > done ? true : undefined;
  }, 10_000);
}

/** Adds frontend YAML (indented as under `frontends:`) to a config. */
export function withFrontend(config: string, yaml: string): string {
  if (!config.includes("  frontends:\n")) {
    throw new Error("config has no frontends section");
  }
  return config.replace("  frontends:\n", `  frontends:\n${yaml}`);
}

/**
 * Waits for the next `msg` record logged after this call (earlier ones do
 * not count), e.g. the second `vpp-connect` of a daemon.
 */
export function nextRecord(
  d: DaemonFixture,
  msg: string,
  deadlineMs = 10_000,
): Promise<Record<string, unknown>> {
  const seen = d.process.records.filter((r) => r.msg === msg).length;
  return waitFor(
    `a new ${msg} record`,
    () => {
      const all = d.process.records.filter((r) => r.msg === msg);
      return all.length > seen ? all[seen] : undefined;
    },
    deadlineMs,
    50,
  ).catch((e) => {
    throw new Error(`${(e as Error).message}; log:\n${d.process.tail()}`);
  });
}

/**
 * Live AS weights of the VIP `prefix` port `port` ("any": the all-port
 * VIP) among `vips`.
 */
export function weightsIn(
  vips: readonly VppVip[],
  prefix = WEB,
  port: number | "any" = 80,
): Record<string, number> | undefined {
  const p = port === "any" ? undefined : port;
  const v = vips.find((x) => x.prefix === prefix && x.port === p);
  return v && liveWeights(v);
}

/** Whether two address → weight maps are equal (key order aside). */
export function sameWeights(
  got: Record<string, number> | undefined,
  want: Record<string, number>,
): boolean {
  if (!got) return false;
  const k = Object.keys(want);
  return Object.keys(got).length === k.length &&
    k.every((a) => got[a] === want[a]);
}

/** The weights of the fixture's frontend "web" with every backend up. */
export const ALL_UP: Readonly<Record<string, number>> = {
  [A]: 100,
  [B]: 100,
  [C]: 0,
};

/** startOn, then waits until VPP itself holds "web" with ALL_UP. */
export async function startProgrammed(
  vpp: RealVpp,
  opts: RealDaemonOptions = {},
): Promise<DaemonFixture> {
  const d = await startOn(vpp, opts);
  try {
    await vpp.waitVips(
      "web programmed",
      (vs) => sameWeights(weightsIn(vs), ALL_UP),
      15_000,
    );
  } catch (e) {
    await d.close();
    throw e;
  }
  return d;
}
