/**
 * Frontend evaluation (product spec §2, "Frontend state and effective
 * weights"): which pool is active, what weight and flush flag every member
 * gets in VPP, and the frontend's aggregate state. Pure functions of the
 * frontend's config and a view of its backends' health.
 *
 * @example
 * ```ts
 * import { evaluateFrontend } from "./frontend.ts";
 * import type { FrontendConfig } from "../config/types.ts";
 * import type { BackendView } from "./frontend.ts";
 *
 * declare const frontend: FrontendConfig;
 * declare const backends: Map<string, BackendView>;
 * const ev = evaluateFrontend(frontend, (name) => backends.get(name));
 * ev.activePool; // index of the first pool with an up, weighted member, or -1
 * ```
 * @module
 */

import type { FrontendConfig } from "../config/types.ts";
import type { BackendState, FrontendState } from "./types.ts";

/** What the evaluation needs from a backend ({@linkcode BackendHealth} fits). */
export interface BackendView {
  readonly state: BackendState;
  /** The state before the pause, while paused. */
  readonly pausedFrom?: BackendState;
}

/** Lookup of a backend by name; undefined means it no longer exists (treated as removed). */
export type BackendLookup = (backend: string) => BackendView | undefined;

/** One pool member as VPP should have it. */
export interface MemberWeight {
  readonly pool: string;
  readonly poolIndex: number;
  readonly backend: string;
  /** The backend's own state (`paused` stays `paused`; a missing backend is `removed`). */
  readonly state: BackendState;
  readonly configuredWeight: number;
  readonly effectiveWeight: number;
  /** Whether existing flows to this backend should be flushed. */
  readonly flush: boolean;
}

/** The full verdict for one frontend. */
export interface FrontendEvaluation {
  readonly state: FrontendState;
  /** Index into `frontend.pools` of the active pool; -1 when none is. */
  readonly activePool: number;
  /** Every member, in pool order, then member order. */
  readonly members: readonly MemberWeight[];
}

interface Resolved {
  /** The backend's own state. */
  readonly state: BackendState;
  /** The state weights follow: `pausedFrom` while paused. */
  readonly health: BackendState;
  readonly paused: boolean;
}

function resolve(view: BackendView | undefined): Resolved {
  if (view === undefined) {
    return { state: "removed", health: "removed", paused: false };
  }
  if (view.state === "paused") {
    // A pause keeps weights as they were; a pause without a known earlier
    // state (or a nonsensical "paused from paused") is treated like unknown:
    // weight 0, no flush.
    const from = view.pausedFrom;
    const health = from === undefined || from === "paused" ? "unknown" : from;
    return { state: "paused", health, paused: true };
  }
  return { state: view.state, health: view.state, paused: false };
}

/**
 * Index of the active pool: the first pool with at least one member whose
 * health state is `up` (a paused member counts as its state before the pause)
 * and whose configured weight is nonzero; -1 if there is none. Weight-0
 * members never activate a pool, since they could not carry traffic.
 */
export function activePoolIndex(
  frontend: FrontendConfig,
  view: BackendLookup,
): number {
  return activePoolOf(frontend, (name) => resolve(view(name)));
}

function activePoolOf(
  frontend: FrontendConfig,
  lookup: (backend: string) => Resolved,
): number {
  return frontend.pools.findIndex((pool) =>
    pool.members.some((m) => m.weight > 0 && lookup(m.backend).health === "up")
  );
}

function weightAndFlush(
  r: Resolved,
  configuredWeight: number,
  inActivePool: boolean,
  flushOnDown: boolean,
): { effectiveWeight: number; flush: boolean } {
  let effectiveWeight = 0;
  let flush: boolean;
  switch (r.health) {
    case "up":
      effectiveWeight = inActivePool ? configuredWeight : 0;
      flush = false;
      break;
    case "down":
      flush = flushOnDown;
      break;
    case "disabled":
    case "removed":
      flush = true;
      break;
    case "unknown":
    case "paused":
      flush = false;
      break;
  }
  // A pause freezes the member: it never triggers a flush of its own.
  return { effectiveWeight, flush: r.paused ? false : flush };
}

/**
 * Evaluates a frontend: active pool, each member's effective weight and flush
 * flag (the table of spec §2), and the frontend state — `up` if any member
 * has a nonzero effective weight, `unknown` if no member's health state has
 * left `unknown` (including a frontend without members), else `down`.
 */
export function evaluateFrontend(
  frontend: FrontendConfig,
  view: BackendLookup,
): FrontendEvaluation {
  const resolved = new Map<string, Resolved>();
  const lookup = (name: string): Resolved => {
    let r = resolved.get(name);
    if (r === undefined) {
      r = resolve(view(name));
      resolved.set(name, r);
    }
    return r;
  };
  // Resolve each backend once, so a backend listed in several pools is seen
  // in one consistent state even if the view is live.
  const activePool = activePoolOf(frontend, lookup);
  const members: MemberWeight[] = [];
  let anyWeight = false;
  let anyLeftUnknown = false;
  frontend.pools.forEach((pool, poolIndex) => {
    for (const m of pool.members) {
      const r = lookup(m.backend);
      const { effectiveWeight, flush } = weightAndFlush(
        r,
        m.weight,
        poolIndex === activePool,
        frontend.flushOnDown,
      );
      if (effectiveWeight > 0) anyWeight = true;
      if (r.health !== "unknown") anyLeftUnknown = true;
      members.push({
        pool: pool.name,
        poolIndex,
        backend: m.backend,
        state: r.state,
        configuredWeight: m.weight,
        effectiveWeight,
        flush,
      });
    }
  });
  return {
    state: frontendStateOf(anyWeight, anyLeftUnknown),
    activePool,
    members,
  };
}

function frontendStateOf(
  anyWeight: boolean,
  anyLeftUnknown: boolean,
): FrontendState {
  if (anyWeight) return "up";
  return anyLeftUnknown ? "down" : "unknown";
}
