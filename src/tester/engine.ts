/**
 * The probe loops of `maglev tester`: one per VIP, each with at most one
 * probe in flight. A probe starts one jittered interval (±10%, as the
 * daemon's) after the previous one started, or right after it ended when it
 * took longer, so a slow VIP is probed less often instead of piling up
 * connections. Stopping lets the probes in flight finish (each is bounded by
 * its timeout), so every answer a backend sent is counted.
 */
import type { HealthCheckConfig } from "../config/types.ts";
import { withJitter } from "../health/schedule.ts";
import {
  type ClientProber,
  KeepAliveSlot,
  type ProbeResult,
} from "../probe/mod.ts";
import { checkFor, type ProbeSettings, probeTargetOf } from "./check.ts";
import type { Target } from "./targets.ts";

/** How the loops probe. */
export interface EngineOptions extends ProbeSettings {
  readonly intervalMs: number;
  readonly keepAlive: boolean;
  /** Response header each result should carry. */
  readonly header?: string;
}

/** What the loops need from outside; injectable for tests. */
export interface EngineDeps {
  readonly prober: ClientProber;
  /** Called with each result and the wall-clock time it arrived. */
  readonly onResult: (index: number, r: ProbeResult, atMs: number) => void;
  readonly random?: () => number;
  readonly now?: () => number;
}

/** Running loops. */
export interface Engine {
  /** Resolves once every loop has ended after the signal aborted. */
  readonly done: Promise<void>;
}

/**
 * Starts one loop per target; they end when `signal` aborts. The first
 * probes are spread over one interval so VIPs do not probe in lockstep.
 */
export function startEngine(
  targets: readonly Target[],
  o: EngineOptions,
  deps: EngineDeps,
  signal: AbortSignal,
): Engine {
  const random = deps.random ?? Math.random;
  const now = deps.now ?? Date.now;
  const loops = targets.map((t, i) =>
    probeLoop(i, t, checkFor(t, o), o, deps, random, now, signal)
  );
  return { done: Promise.all(loops).then(() => {}) };
}

async function probeLoop(
  index: number,
  t: Target,
  check: HealthCheckConfig,
  o: EngineOptions,
  deps: EngineDeps,
  random: () => number,
  now: () => number,
  signal: AbortSignal,
): Promise<void> {
  const target = probeTargetOf(t);
  const slot = o.keepAlive ? new KeepAliveSlot() : undefined;
  const opts = { header: o.header, keepAlive: slot };
  try {
    await pause(random() * o.intervalMs, signal);
    while (!signal.aborted) {
      const started = performance.now();
      const r = await deps.prober.probe(target, check, opts);
      deps.onResult(index, r, now());
      const next = withJitter(o.intervalMs, random);
      await pause(next - (performance.now() - started), signal);
    }
  } finally {
    slot?.close();
  }
}

/** Resolves after `ms` (at once when ≤ 0), or as soon as `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
