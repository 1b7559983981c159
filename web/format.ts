/**
 * Pure helpers that turn protobuf JSON into what the dashboard shows.
 * Kept free of DOM and signals so they can be unit-tested with `deno test`.
 */
import type {
  BackendJson,
  FrontendJson,
  VppLbStateJson,
  VppVipJson,
} from "./proto.ts";

/**
 * The health summary of a frontend, as icon plus words. The icons are plain
 * characters in a coloured disc, not emoji: an operator's workstation or a
 * headless browser may have no emoji font, and a missing glyph is a box.
 */
export interface Health {
  readonly kind: "healthy" | "degraded" | "drained" | "down" | "unknown";
  readonly icon: string;
  readonly label: string;
}

const HEALTH: Record<Health["kind"], Health> = {
  healthy: { kind: "healthy", icon: "✓", label: "all healthy" },
  degraded: {
    kind: "degraded",
    icon: "!",
    label: "degraded: some backend down or paused",
  },
  drained: {
    kind: "drained",
    icon: "↓",
    label: "primary pool drained: traffic is on a fallback pool",
  },
  down: { kind: "down", icon: "×", label: "down: no backend has weight" },
  unknown: { kind: "unknown", icon: "?", label: "unknown" },
};

/** Backend states that mean a pool member is not serving as configured. */
const NOT_SERVING = new Set(["down", "paused", "disabled"]);

/**
 * Summarises a frontend in one of five levels, worst first, so an operator
 * scanning many cards sees the most urgent problem (a disabled backend counts
 * as degraded too: it is capacity the config expects to have).
 */
export function frontendHealth(f: FrontendJson): Health {
  const state = f.state ?? "unknown";
  if (state === "unknown") return HEALTH.unknown;
  const pools = f.pools ?? [];
  const members = pools.flatMap((p) => p.backends ?? []);
  const weighted = members.some((b) => (b.effectiveWeight ?? 0) > 0);
  if (state === "down" || !weighted) return HEALTH.down;
  const first = pools[0]?.name ?? "";
  if ((f.activePool ?? "") !== first) return HEALTH.drained;
  if (members.some((b) => NOT_SERVING.has(b.state ?? "unknown"))) {
    return HEALTH.degraded;
  }
  return HEALTH.healthy;
}

const UNITS: readonly [string, number][] = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
];

/**
 * Renders an elapsed time with its two most significant units ("3h 12m"),
 * precise enough to tell a flap from a long outage while staying short.
 */
export function formatElapsed(ms: number): string {
  if (!Number.isFinite(ms) || ms < 1000) return "now";
  let rest = Math.floor(ms);
  const parts: string[] = [];
  for (const [unit, size] of UNITS) {
    if (parts.length === 0 && rest < size) continue;
    const n = Math.floor(rest / size);
    rest -= n * size;
    parts.push(`${n}${unit}`);
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}

/** Converts a protobuf JSON int64 of Unix nanoseconds to ms (NaN if absent). */
export function nsToMs(ns: string | undefined): number {
  if (ns === undefined || ns === "" || ns === "0") return NaN;
  const n = Number(ns);
  return Number.isFinite(n) ? n / 1e6 : NaN;
}

/**
 * When the backend last changed state, in ms since epoch; NaN when it never
 * did (or the daemon keeps no history), so the UI can show "–".
 */
export function lastTransitionMs(b: BackendJson | undefined): number {
  const ts = b?.transitions ?? [];
  return nsToMs(ts[ts.length - 1]?.atUnixNs);
}

/**
 * The VPP VIP of a frontend: by the daemon's name for it, else by address
 * and port (VPP writes a host address as a /32 or /128 prefix).
 */
function vipOf(
  lb: VppLbStateJson | undefined,
  frontend: FrontendJson,
): VppVipJson | undefined {
  const vips = lb?.vips ?? [];
  const a = frontend.address;
  const host = (p: string | undefined) =>
    a !== undefined && (p === a || p === `${a}/32` || p === `${a}/128`);
  return vips.find((v) => v.frontend === frontend.name) ??
    vips.find((v) => host(v.prefix) && (v.port ?? 0) === (frontend.port ?? 0));
}

/** "50%", or "1.5%" below 10% where a decimal still tells shares apart. */
function percent(part: number, total: number): string {
  if (total === 0) return "0%";
  const pct = (part * 100) / total;
  return `${pct >= 10 || pct === 0 ? pct.toFixed(0) : pct.toFixed(1)}%`;
}

/** What VPP gave one backend of a VIP, as the pool table shows it. */
export interface LbBuckets {
  /** Buckets of the VIP's new-flow table that lead to the backend. */
  readonly buckets?: number;
  /** The figure to show: the bucket count, or "–" without VPP data. */
  readonly text: string;
  /** Those buckets as a share of the VIP's ("–" without VPP data). */
  readonly share: string;
  /** One sentence for the tooltip ("" without VPP data). */
  readonly title: string;
}

/**
 * The "LB buckets" figure of a pool member: how many of the VIP's new-flow
 * buckets VPP points at this backend (its ASes summed), which is what the
 * original dashboard showed and what VPP really does, whatever the weights
 * say. Without VPP state for the frontend every field says so ("–").
 */
export function lbBuckets(
  lb: VppLbStateJson | undefined,
  frontend: FrontendJson,
  backend: string,
): LbBuckets {
  const vip = vipOf(lb, frontend);
  if (vip === undefined) return { text: "–", share: "–", title: "" };
  const ases = vip.ases ?? [];
  const total = ases.reduce((s, a) => s + (a.buckets ?? 0), 0);
  const mine = ases.filter((a) => a.backend === backend)
    .reduce((s, a) => s + (a.buckets ?? 0), 0);
  const share = percent(mine, total);
  return {
    buckets: mine,
    text: String(mine),
    share,
    title: total === 0
      ? "VPP gives this VIP no buckets: no backend has a weight"
      : `${share} of the VIP's ${total} buckets in VPP`,
  };
}

/** "192.0.2.1/32 tcp:80" — how a VIP is written throughout the UI. */
export function vipLabel(f: FrontendJson): string {
  const port = f.port ?? 0;
  const proto = f.protocol ?? "any";
  return `${f.address ?? "?"} ${proto}${port === 0 ? "" : `:${port}`}`;
}
