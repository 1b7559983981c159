/** Shared vocabulary of the health model. */

/** Backend states of the product spec §2. */
export type BackendState =
  | "unknown"
  | "up"
  | "down"
  | "paused"
  | "disabled"
  | "removed";

/** Frontend aggregate state. */
export type FrontendState = "unknown" | "up" | "down";

/**
 * HAProxy-style probe result codes. L3 = icmp, L4 = tcp connect, L6 = TLS,
 * L7 = http(s). `NONE` marks a transition that no probe caused (operator
 * action, reload).
 */
export type ProbeCode =
  | "L3OK"
  | "L3TOUT"
  | "L3CON"
  | "L4OK"
  | "L4TOUT"
  | "L4CON"
  | "L6OK"
  | "L6TOUT"
  | "L6RSP"
  | "L7OK"
  | "L7TOUT"
  | "L7RSP"
  | "L7STS"
  /** An operator's disable (the original system's code for it). */
  | "disabled"
  | "NONE";

/** One state change of a backend, as kept in its history ring and sent as an event. */
export interface Transition {
  readonly from: BackendState;
  readonly to: BackendState;
  /** Wall-clock time in ms since the epoch. */
  readonly atMs: number;
  readonly code: ProbeCode;
  /** Short human text: the probe's message or the operator action. */
  readonly reason: string;
}
