/**
 * The HAProxy single-integer rise/fall counter (product spec §2). One number
 * per backend carries both the verdict and the hysteresis: a backend is up at
 * or above `rise`, and it takes `fall` failures from the top (or `rise` passes
 * from the bottom) to cross the threshold, so a flapping backend stays put.
 *
 * @example
 * ```ts
 * import { isUpCounter, nextCounter } from "./counter.ts";
 * let c = 1; // rise=2, fall=3: max 4, 0..1 down, 2..4 up
 * c = nextCounter(c, true, 2, 3); // 2
 * isUpCounter(c, 2); // true
 * ```
 * @module
 */

function checkPositiveInt(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`${name} must be an integer >= 1, got ${n}`);
  }
}

/**
 * Validates a rise/fall pair. Config validation already guarantees this; the
 * check guards the model against a caller that bypassed it.
 */
export function checkRiseFall(rise: number, fall: number): void {
  checkPositiveInt("rise", rise);
  checkPositiveInt("fall", fall);
}

/**
 * Highest counter value, `rise + fall - 1`: from here exactly `fall`
 * failures are needed to drop below `rise`.
 *
 * @example
 * ```ts
 * counterMax(2, 3); // 4
 * ```
 */
export function counterMax(rise: number, fall: number): number {
  checkRiseFall(rise, fall);
  return rise + fall - 1;
}

/**
 * The counter after one probe: a pass adds one (capped at the max), a failure
 * subtracts one (floored at 0). An out-of-range input is clamped first so a
 * stale value can never push the counter outside `[0, max]`.
 *
 * @example
 * ```ts
 * nextCounter(4, true, 2, 3); // 4 (capped)
 * nextCounter(0, false, 2, 3); // 0 (floored)
 * ```
 */
export function nextCounter(
  counter: number,
  ok: boolean,
  rise: number,
  fall: number,
): number {
  const max = counterMax(rise, fall);
  const c = Math.min(Math.max(counter, 0), max);
  return ok ? Math.min(c + 1, max) : Math.max(c - 1, 0);
}

/**
 * Whether a counter means "up". The threshold is the only place state
 * changes, which is what gives the model its hysteresis.
 *
 * @example
 * ```ts
 * isUpCounter(1, 2); // false
 * isUpCounter(2, 2); // true
 * ```
 */
export function isUpCounter(counter: number, rise: number): boolean {
  return counter >= rise;
}

/**
 * Counter on entering `unknown` (start, resume, enable): one below the
 * threshold, so the very first probe decides — a pass means up, a failure
 * means down.
 *
 * @example
 * ```ts
 * initialCounter(2); // 1
 * ```
 */
export function initialCounter(rise: number): number {
  checkPositiveInt("rise", rise);
  return rise - 1;
}
