/**
 * The per-backend state machine of product spec §2: probe results drive
 * `unknown`/`up`/`down` through the rise/fall counter, operator actions move
 * between those and `paused`/`disabled`, a reload can make it `removed`.
 * Every change is returned as a {@linkcode Transition} (so the caller can
 * publish it) and kept in a bounded history ring.
 *
 * Pure: the caller passes the time of every event in.
 *
 * @example
 * ```ts
 * import { BackendHealth } from "./backend.ts";
 * const b = new BackendHealth("nginx0", { rise: 2, fall: 3, historySize: 5, enabled: true });
 * b.recordProbe(true, "L7OK", "HTTP 200", 1000); // unknown -> up
 * b.pause(2000); // up -> paused (weights stay as when up)
 * ```
 * @module
 */

import {
  checkRiseFall,
  counterMax,
  initialCounter,
  isUpCounter,
  nextCounter,
} from "./counter.ts";
import { Ring } from "./ring.ts";
import type { BackendState, ProbeCode, Transition } from "./types.ts";

/** Construction parameters; `rise`/`fall` come from the backend's healthcheck. */
export interface BackendHealthOptions {
  readonly rise: number;
  readonly fall: number;
  /** Capacity of the transition ring (`healthchecker.transition-history`, >= 1). */
  readonly historySize: number;
  /** The config's `enabled`: false starts the backend `disabled`. */
  readonly enabled: boolean;
  /**
   * Earlier transitions, oldest first, so a backend re-created by a reload
   * keeps its history. Only the newest `historySize` are kept.
   */
  readonly history?: readonly Transition[];
}

/** The most recent probe outcome, kept for display (`show backend`). */
export interface ProbeResult {
  readonly ok: boolean;
  readonly code: ProbeCode;
  readonly text: string;
  /** Wall-clock time in ms since the epoch. */
  readonly atMs: number;
}

/**
 * An operator action that the backend's current state does not allow. The
 * `code` maps onto the gRPC status of the same name; the message tells the
 * operator what to do instead.
 */
export class HealthActionError extends Error {
  /** gRPC-style status name for the API layer. */
  readonly code = "failed-precondition" as const;

  /** Creates the error with an operator-facing message. */
  constructor(message: string) {
    super(message);
    this.name = "HealthActionError";
  }
}

const PROBING: ReadonlySet<BackendState> = new Set(["unknown", "up", "down"]);

/**
 * Health of one backend. Probed once however many frontends use it, so the
 * frontend evaluation reads it through {@linkcode BackendHealth.state} and
 * {@linkcode BackendHealth.pausedFrom}.
 */
export class BackendHealth {
  /** The backend's config name, used in error messages. */
  readonly name: string;
  #rise: number;
  #fall: number;
  #state: BackendState;
  #counter: number;
  #enabled: boolean;
  #pausedFrom: BackendState | undefined;
  #lastResult: ProbeResult | undefined;
  readonly #history: Ring<Transition>;

  /**
   * Starts `unknown` with counter `rise-1` when enabled, else `disabled`.
   * Creation is not a transition: nothing changed from an operator's view.
   */
  constructor(name: string, opts: BackendHealthOptions) {
    checkRiseFall(opts.rise, opts.fall);
    this.name = name;
    this.#rise = opts.rise;
    this.#fall = opts.fall;
    this.#enabled = opts.enabled;
    this.#state = opts.enabled ? "unknown" : "disabled";
    this.#counter = initialCounter(opts.rise);
    this.#history = new Ring<Transition>(opts.historySize, opts.history ?? []);
  }

  /** Current state. */
  get state(): BackendState {
    return this.#state;
  }

  /** Rise/fall counter in `[0, rise+fall-1]`; frozen while not probing. */
  get counter(): number {
    return this.#counter;
  }

  /** Consecutive passes needed to go up from fully down. */
  get rise(): number {
    return this.#rise;
  }

  /** Consecutive failures needed to go down from fully up. */
  get fall(): number {
    return this.#fall;
  }

  /** False once disabled by the operator (or by config) until enabled again. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** The state before the pause, while paused: weights stay as they were then. */
  get pausedFrom(): BackendState | undefined {
    return this.#pausedFrom;
  }

  /** The state weights are computed from: `pausedFrom` while paused, else `state`. */
  get healthState(): BackendState {
    return this.#state === "paused"
      ? (this.#pausedFrom ?? "unknown")
      : this.#state;
  }

  /** Whether the probe loop should run (unknown, up, down). */
  get probing(): boolean {
    return PROBING.has(this.#state);
  }

  /** Counter at its max: the slow `interval` applies while up. */
  get fullyUp(): boolean {
    return this.#counter === counterMax(this.#rise, this.#fall);
  }

  /** Counter at 0: the `down-interval` applies while down. */
  get fullyDown(): boolean {
    return this.#counter === 0;
  }

  /** Kept transitions, oldest first, at most `historySize`. */
  get transitions(): readonly Transition[] {
    return this.#history.toArray();
  }

  /** The newest kept transition. */
  get lastTransition(): Transition | undefined {
    const all = this.#history.toArray();
    return all[all.length - 1];
  }

  /** The most recent probe result that was accepted. */
  get lastResult(): ProbeResult | undefined {
    return this.#lastResult;
  }

  /**
   * Feeds one probe result. Ignored (returns undefined) unless probing, so a
   * probe that was in flight when the operator paused or disabled the backend
   * cannot change anything. From `unknown` the first probe decides; between
   * up and down only a threshold crossing is a transition.
   */
  recordProbe(
    ok: boolean,
    code: ProbeCode,
    text: string,
    nowMs: number,
  ): Transition | undefined {
    if (!this.probing) return undefined;
    this.#lastResult = { ok, code, text, atMs: nowMs };
    this.#counter = nextCounter(this.#counter, ok, this.#rise, this.#fall);
    const next: BackendState = isUpCounter(this.#counter, this.#rise)
      ? "up"
      : "down";
    if (next === this.#state) return undefined;
    // HAProxy's hysteresis: a state change moves the counter to the far end,
    // so it takes `fall` consecutive failures to leave up and `rise`
    // consecutive passes to leave down, and a flapping backend stays put.
    this.#counter = next === "up" ? counterMax(this.#rise, this.#fall) : 0;
    return this.#transition(next, nowMs, code, text);
  }

  /**
   * Stops probing and freezes the backend's weights. Keeps the counter so the
   * history still reads right; resume starts over from `unknown` anyway.
   * No-op if already paused.
   */
  pause(nowMs: number, reason = "paused by operator"): Transition | undefined {
    this.#refuseInactive();
    if (this.#state === "paused") return undefined;
    const from = this.#state;
    const t = this.#transition("paused", nowMs, "NONE", reason);
    this.#pausedFrom = from;
    return t;
  }

  /**
   * Restarts probing from `unknown`: the world may have changed while paused,
   * so the first probe decides afresh. No-op if not paused.
   */
  resume(
    nowMs: number,
    reason = "resumed by operator",
  ): Transition | undefined {
    this.#refuseInactive();
    if (this.#state !== "paused") return undefined;
    this.#counter = initialCounter(this.#rise);
    return this.#transition("unknown", nowMs, "NONE", reason);
  }

  /**
   * Takes the backend out of service (weight 0, flows flushed) from any state
   * but `removed`. No-op if already disabled.
   */
  disable(
    nowMs: number,
    reason = "disabled by operator",
  ): Transition | undefined {
    this.#refuseRemoved();
    this.#enabled = false;
    if (this.#state === "disabled") return undefined;
    return this.#transition("disabled", nowMs, "disabled", reason);
  }

  /** Puts a disabled backend back to `unknown`; no-op in any other live state. */
  enable(
    nowMs: number,
    reason = "enabled by operator",
  ): Transition | undefined {
    this.#refuseRemoved();
    if (this.#state !== "disabled") return undefined;
    this.#enabled = true;
    this.#counter = initialCounter(this.#rise);
    return this.#transition("unknown", nowMs, "NONE", reason);
  }

  /** Marks the backend gone from the config. Terminal; no-op if already removed. */
  remove(
    nowMs: number,
    reason = "removed from configuration",
  ): Transition | undefined {
    if (this.#state === "removed") return undefined;
    return this.#transition("removed", nowMs, "NONE", reason);
  }

  /**
   * Starts a fresh backend (still `unknown`, as constructed) from a state
   * saved before a restart: an operator's pause or disable, or a recent
   * verdict, as if it had just been reached (counter at the far end). The
   * transition goes to the history with `reason`; nothing else is told,
   * because nothing changed from VPP's point of view. Returns the
   * transition, or undefined when the backend is not fresh.
   */
  restore(
    to: "up" | "down" | "paused" | "disabled",
    nowMs: number,
    reason: string,
    pausedFrom: BackendState = "unknown",
  ): Transition | undefined {
    if (this.#state !== "unknown") return undefined;
    if (to === "disabled") {
      this.#enabled = false;
      return this.#transition("disabled", nowMs, "disabled", reason);
    }
    if (to === "paused") {
      const t = this.#transition("paused", nowMs, "NONE", reason);
      this.#pausedFrom = pausedFrom;
      return t;
    }
    this.#counter = to === "up" ? counterMax(this.#rise, this.#fall) : 0;
    return this.#transition(to, nowMs, "NONE", reason);
  }

  /**
   * Applies a reloaded `rise`/`fall` without a transition: a backend that is
   * up stays up with the failures it has seen so far (at most `fall - 1` of
   * them, so it is still up), one that is down keeps its passes so far (at
   * most `rise - 1`), and `unknown` stays one pass or failure from a
   * verdict. A reload that retunes checks must never move a weight.
   */
  setRiseFall(rise: number, fall: number): void {
    checkRiseFall(rise, fall);
    const base = this.#state === "paused" ? this.#pausedFrom : this.#state;
    const failures = counterMax(this.#rise, this.#fall) - this.#counter;
    if (base === "up") {
      this.#counter = counterMax(rise, fall) - Math.min(failures, fall - 1);
    } else if (base === "down") {
      this.#counter = Math.min(this.#counter, rise - 1);
    } else {
      this.#counter = initialCounter(rise);
    }
    this.#rise = rise;
    this.#fall = fall;
  }

  /** Applies a reloaded `transition-history`, keeping the newest entries. */
  setHistorySize(n: number): void {
    this.#history.resize(n);
  }

  #transition(
    to: BackendState,
    atMs: number,
    code: ProbeCode,
    reason: string,
  ): Transition {
    const t: Transition = { from: this.#state, to, atMs, code, reason };
    this.#state = to;
    this.#pausedFrom = undefined;
    this.#history.push(t);
    return t;
  }

  #refuseRemoved(): void {
    if (this.#state === "removed") {
      throw new HealthActionError(
        `backend "${this.name}" was removed from the configuration: add it back and reload first`,
      );
    }
  }

  #refuseInactive(): void {
    this.#refuseRemoved();
    if (this.#state === "disabled") {
      throw new HealthActionError(
        `backend "${this.name}" is disabled: enable it first`,
      );
    }
  }
}
