/**
 * When to probe next (product spec §2, "Probe scheduling"): slow while stably
 * up, slower still while fully down, fast whenever the verdict is in motion,
 * and always jittered so that many backends never probe in lockstep.
 *
 * Randomness is injected so tests (and replays) are deterministic.
 *
 * @example
 * ```ts
 * import { nextProbeDelay } from "./schedule.ts";
 * const check = { intervalMs: 2000, fastIntervalMs: 500, downIntervalMs: 10000 };
 * nextProbeDelay({ state: "up", fullyUp: true, fullyDown: false }, check); // 1800..2200
 * ```
 * @module
 */

import type { HealthCheckConfig } from "../config/types.ts";
import type { BackendState } from "./types.ts";

/** The parts of a healthcheck that decide the cadence. */
export type IntervalConfig = Pick<
  HealthCheckConfig,
  "intervalMs" | "fastIntervalMs" | "downIntervalMs"
>;

/** The parts of a backend's health that decide the cadence ({@linkcode BackendHealth} fits). */
export interface ScheduleView {
  readonly state: BackendState;
  readonly fullyUp: boolean;
  readonly fullyDown: boolean;
}

/** Relative jitter applied to every delay: ±10%. */
export const JITTER = 0.1;

/**
 * The unjittered delay for a backend's next probe: `intervalMs` while up with
 * a full counter, `downIntervalMs` while down with counter 0, and
 * `fastIntervalMs` otherwise, so a change of verdict is confirmed quickly.
 */
export function baseInterval(h: ScheduleView, check: IntervalConfig): number {
  if (h.state === "up" && h.fullyUp) return check.intervalMs;
  if (h.state === "down" && h.fullyDown) return check.downIntervalMs;
  return check.fastIntervalMs;
}

/**
 * `ms` scaled by a uniform factor in [0.9, 1.1], so probes that started
 * together drift apart. `random` must return values in [0, 1) like
 * `Math.random`.
 *
 * @example
 * ```ts
 * withJitter(1000, () => 0); // 900
 * withJitter(1000, () => 0.5); // 1000
 * ```
 */
export function withJitter(
  ms: number,
  random: () => number = Math.random,
): number {
  return ms * (1 - JITTER + 2 * JITTER * random());
}

/** The jittered delay until a backend's next probe, counted from the end of the last one. */
export function nextProbeDelay(
  h: ScheduleView,
  check: IntervalConfig,
  random: () => number = Math.random,
): number {
  return withJitter(baseInterval(h, check), random);
}

/**
 * Delay before a backend's first probe after start or reload: uniform in
 * [0, fastIntervalMs). Spreads thousands of new backends over one fast
 * interval instead of firing them all at once, while every backend still
 * gets its (deciding) first probe quickly.
 */
export function initialProbeDelay(
  check: Pick<HealthCheckConfig, "fastIntervalMs">,
  random: () => number = Math.random,
): number {
  return random() * check.fastIntervalMs;
}
