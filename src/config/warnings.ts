/**
 * Things a valid config may still get wrong: the daemon runs with them, but
 * `maglev daemon --check` and the start-up log say so. Pure.
 */
import { formatDuration } from "./duration.ts";
import type { Config } from "./types.ts";

/** One warning about a valid config: where, and what it means. */
export interface ConfigWarning {
  /** The config key it is about, e.g. `vpp.lb.startup-max-delay`. */
  readonly path: string;
  readonly message: string;
}

/**
 * The longest a backend in a frontend can take to its first verdict after
 * start: its first probe starts within `fast-interval` and ends within
 * `timeout`. Undefined without such a backend.
 */
export function slowestFirstVerdict(
  config: Config,
): { backend: string; ms: number } | undefined {
  const used = new Set<string>();
  for (const fe of config.frontends.values()) {
    for (const p of fe.pools) for (const m of p.members) used.add(m.backend);
  }
  let worst: { backend: string; ms: number } | undefined;
  for (const name of used) {
    const b = config.backends.get(name);
    if (!b || !b.enabled) continue;
    const c = config.healthchecks.get(b.healthcheck);
    if (!c) continue;
    const ms = c.fastIntervalMs + c.timeoutMs;
    if (!worst || ms > worst.ms) worst = { backend: name, ms };
  }
  return worst;
}

/**
 * Every warning for `config`, in a stable order. With VPP off (`--vpp=false`)
 * the dataplane settings do not matter and draw none.
 */
export function configWarnings(
  config: Config,
  opts: { vppEnabled?: boolean } = {},
): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  for (const c of config.healthchecks.values()) {
    if (c.timeoutMs >= c.intervalMs) {
      out.push({
        path: `healthchecks.${c.name}.timeout`,
        message: `${formatDuration(c.timeoutMs)} is not shorter than interval ${
          formatDuration(c.intervalMs)
        }: a probe never overlaps the previous one, so a backend that hangs is probed every ${
          formatDuration(c.intervalMs + c.timeoutMs)
        } rather than every ${formatDuration(c.intervalMs)}`,
      });
    }
  }
  if (opts.vppEnabled === false) return out;
  const lb = config.vpp.lb;
  const warmup = lb.startupMinDelayMs > 0 || lb.startupMaxDelayMs > 0;
  const slow = slowestFirstVerdict(config);
  const max = Math.max(lb.startupMaxDelayMs, lb.startupMinDelayMs);
  if (warmup && slow && slow.ms > max) {
    const b = config.backends.get(slow.backend)!;
    const c = config.healthchecks.get(b.healthcheck)!;
    out.push({
      path: "vpp.lb.startup-max-delay",
      message: `${
        formatDuration(max)
      } is shorter than backend "${slow.backend}" can take to its first verdict (fast-interval ${
        formatDuration(c.fastIntervalMs)
      } + timeout ${formatDuration(c.timeoutMs)}); the warmup waits up to ${
        formatDuration(slow.ms)
      } for it rather than zero a backend it never probed. Raise startup-max-delay, or shorten that health check's fast-interval`,
    });
  }
  return out;
}
