/**
 * The health model: rise/fall counter, backend state machine, probe
 * scheduling, and frontend evaluation (active pool, effective weights, flush,
 * frontend state). Pure — no I/O, and time and randomness are passed in — so
 * the product's rules can be tested exhaustively.
 *
 * @example
 * ```ts
 * import { BackendHealth, evaluateFrontend, nextProbeDelay } from "./mod.ts";
 * ```
 * @module
 */

export * from "./types.ts";
export * from "./counter.ts";
export * from "./ring.ts";
export * from "./backend.ts";
export * from "./schedule.ts";
export * from "./frontend.ts";
