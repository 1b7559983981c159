/**
 * The mass-failure guard of one frontend (`min-healthy: N%`), in the spirit
 * of Envoy's panic threshold but for a Maglev table: when a sudden wave of
 * failures would cut the frontend's total effective weight below N% of
 * what it was, the last good weights stay (only backends that are really
 * gone, refused or taken out by an operator, still leave) until the
 * backends come back or an operator confirms. A checker that misjudges
 * many backends at once (its own overload, a broken path to the backends)
 * then cannot empty a VIP on its own. Pure: time is passed in.
 */
import type { FrontendEvaluation, MemberWeight } from "./frontend.ts";

/** Why a member may leave even while the guard holds the others. */
export type GoneCheck = (member: MemberWeight) => boolean;

/** The guard's state while it holds, for the API, the log and the metric. */
export interface GuardTrip {
  readonly atMs: number;
  /** The total effective weight the failures would leave now, as a share of the baseline. */
  readonly share: number;
  /** Members kept at their last good weight now. */
  readonly held: readonly string[];
}

/** What one update did. */
export interface GuardUpdate {
  /** The evaluation to program: the raw one, or the held one. */
  readonly evaluation: FrontendEvaluation;
  /** Set when the guard tripped or cleared by this update. */
  readonly event?: "tripped" | "cleared";
}

/** Members the held evaluation keeps serving that the raw one would not. */
function heldOf(
  held: FrontendEvaluation,
  raw: FrontendEvaluation,
): string[] {
  return held.members.filter((m, i) =>
    m.effectiveWeight > 0 && raw.members[i]?.effectiveWeight === 0
  ).map((m) => m.backend);
}

/** Total effective weight: what VPP gets for the frontend. */
export function totalWeight(e: FrontendEvaluation): number {
  let t = 0;
  for (const m of e.members) t += m.effectiveWeight;
  return t;
}

/** The guard of one frontend. */
export class FrontendGuard {
  /** Share (0, 1] of the baseline that must stay. */
  readonly minHealthy: number;
  /** How long a baseline stands before it follows the current state. */
  readonly windowMs: number;
  #baseline: FrontendEvaluation | undefined;
  #baselineAt = 0;
  #trip: GuardTrip | undefined;

  constructor(minHealthy: number, windowMs: number) {
    this.minHealthy = minHealthy;
    this.windowMs = windowMs;
  }

  /** Set while the guard holds the last good weights. */
  get trip(): GuardTrip | undefined {
    return this.#trip;
  }

  /**
   * Takes the health model's evaluation `raw` at `nowMs` and returns what
   * to program. A drop below `minHealthy` of the baseline (the state of up
   * to one window ago) trips the guard; a slow decline moves the baseline
   * along and never does.
   */
  update(
    raw: FrontendEvaluation,
    nowMs: number,
    gone: GoneCheck,
  ): GuardUpdate {
    const total = totalWeight(raw);
    if (!this.#baseline) {
      this.#rebase(raw, nowMs);
      return { evaluation: raw };
    }
    const base = totalWeight(this.#baseline);
    const healthy = base === 0 || total >= this.minHealthy * base;
    if (this.#trip) {
      if (healthy) {
        this.#trip = undefined;
        this.#rebase(raw, nowMs);
        return { evaluation: raw, event: "cleared" };
      }
      // Still holding: what it holds and the share left follow the wave.
      const evaluation = this.#hold(raw, gone);
      this.#trip = {
        atMs: this.#trip.atMs,
        share: base === 0 ? 1 : total / base,
        held: heldOf(evaluation, raw),
      };
      return { evaluation };
    }
    if (healthy) {
      if (total >= base || nowMs - this.#baselineAt >= this.windowMs) {
        this.#rebase(raw, nowMs);
      }
      return { evaluation: raw };
    }
    const evaluation = this.#hold(raw, gone);
    this.#trip = {
      atMs: nowMs,
      share: base === 0 ? 1 : total / base,
      held: heldOf(evaluation, raw),
    };
    return { evaluation, event: "tripped" };
  }

  /** The operator accepts the current state: the guard lets go and rearms from it. */
  confirm(raw: FrontendEvaluation, nowMs: number): boolean {
    if (!this.#trip) return false;
    this.#trip = undefined;
    this.#rebase(raw, nowMs);
    return true;
  }

  #rebase(raw: FrontendEvaluation, nowMs: number): void {
    this.#baseline = raw;
    this.#baselineAt = nowMs;
  }

  /**
   * The baseline's weights, except for members that are gone for sure
   * (they take the raw evaluation's weight and flush) and members that
   * are new since the baseline.
   */
  #hold(raw: FrontendEvaluation, gone: GoneCheck): FrontendEvaluation {
    const base = this.#baseline!;
    const kept = new Map(
      base.members.map((m) => [`${m.pool}\0${m.backend}`, m]),
    );
    const members = raw.members.map((m) => {
      const was = kept.get(`${m.pool}\0${m.backend}`);
      if (!was || gone(m)) return m;
      return { ...m, effectiveWeight: was.effectiveWeight, flush: false };
    });
    return {
      state: base.state,
      activePool: base.activePool,
      members,
    };
  }
}
