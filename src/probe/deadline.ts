/**
 * One probe, bounded by its timeout. The probe body advances through phases
 * (connect, TLS, HTTP) so a timeout gets the code of the layer that was
 * waiting; at the deadline the verdict is given at once and whatever the body
 * holds open is closed, so a stuck socket can never stretch a probe.
 */
import type { HealthCheckType } from "../config/types.ts";
import type { ProbeCode } from "../health/types.ts";
import type { ProbeResult } from "./types.ts";

/** What a probe concluded, before timing is attached. */
export interface Verdict {
  readonly code: ProbeCode;
  readonly text: string;
  /** Extras for client tools (see ProbeOptions); absent for health checks. */
  readonly extra?: ResultExtra;
}

/** What a probe given ProbeOptions reports beyond its verdict. */
export type ResultExtra = Pick<ProbeResult, "status" | "header">;

/** A layer of a probe: the codes to give when it times out or fails. */
export interface Phase {
  readonly timeout: ProbeCode;
  readonly fail: ProbeCode;
  /** Words for the timeout text: "timeout after 500ms <what>". */
  readonly waiting: string;
}

/** TCP connect. */
export const PHASE_L4: Phase = {
  timeout: "L4TOUT",
  fail: "L4CON",
  waiting: "connecting",
};
/** TLS handshake. */
export const PHASE_L6: Phase = {
  timeout: "L6TOUT",
  fail: "L6RSP",
  waiting: "in TLS handshake",
};
/** HTTP request/response. */
export const PHASE_L7: Phase = {
  timeout: "L7TOUT",
  fail: "L7RSP",
  waiting: "waiting for response",
};

/** Something the deadline must close when it fires. */
export interface Closer {
  close(): void;
}

/** State of one running probe, shared by its body and its deadline. */
export class ProbeRun {
  /** Layer currently being waited on. */
  phase: Phase;
  /** Resource to close when the deadline fires (socket, TLS stream). */
  resource: Closer | undefined = undefined;
  /** True once a verdict was given; late work should just clean up. */
  settled = false;
  #abort: AbortController | undefined;

  constructor(phase: Phase) {
    this.phase = phase;
  }

  /** Signal for APIs that take one (Deno.connect); aborted at the deadline. */
  get signal(): AbortSignal {
    this.#abort ??= new AbortController();
    return this.#abort.signal;
  }

  /** Stops everything the body is waiting on. */
  cancel(): void {
    this.#abort?.abort();
    const r = this.resource;
    this.resource = undefined;
    if (r) closeQuietly(r);
  }
}

/** Closes, ignoring "already closed" and friends. */
export function closeQuietly(c: Closer): void {
  try {
    c.close();
  } catch {
    // already closed
  }
}

/** Code for a probe of `type` that failed before reaching its target. */
export function failureCode(type: HealthCheckType): ProbeCode {
  return type === "icmp" ? "L3CON" : "L4CON";
}

/** A result with `ok` derived from the code. */
export function makeResult(
  code: ProbeCode,
  text: string,
  durationMs: number,
  extra?: ResultExtra,
): ProbeResult {
  const r = { ok: code.endsWith("OK"), code, text, durationMs };
  return extra === undefined ? r : { ...r, ...extra };
}

/** How late a deadline timer may fire before it counts as an event-loop stall. */
export const LATE_TIMER_MS = 20;

/**
 * Runs `body` with a deadline of `timeoutMs`. Resolves with the body's
 * verdict, or a timeout verdict for the phase being waited on; never rejects:
 * an exception becomes the phase's failure code with the message.
 */
export function runWithDeadline(
  timeoutMs: number,
  firstPhase: Phase,
  body: (run: ProbeRun) => Promise<Verdict>,
): Promise<ProbeResult> {
  const start = performance.now();
  const run = new ProbeRun(firstPhase);
  return new Promise<ProbeResult>((resolve) => {
    const settle = (code: ProbeCode, text: string, extra?: ResultExtra) => {
      if (run.settled) return;
      run.settled = true;
      clearTimeout(timer);
      resolve(makeResult(code, text, performance.now() - start, extra));
    };
    // A timer that fires late means the event loop was stalled; the body's
    // answer may already be waiting in the queue behind it. Give the loop
    // one more turn before calling it a timeout, so a busy daemon does not
    // fail healthy backends (a cascade of false timeouts under load).
    let graced = false;
    const fire = () => {
      if (run.settled) return;
      const late = performance.now() - start - timeoutMs;
      if (late > LATE_TIMER_MS && !graced) {
        graced = true;
        timer = setTimeout(fire, 0);
        return;
      }
      const p = run.phase;
      settle(p.timeout, `timeout after ${timeoutMs}ms ${p.waiting}`);
      run.cancel();
    };
    let timer = setTimeout(fire, Math.max(0, timeoutMs));
    let work: Promise<Verdict>;
    try {
      work = body(run);
    } catch (e) {
      work = Promise.reject(e);
    }
    work.then(
      (v) => settle(v.code, v.text, v.extra),
      (e) => settle(run.phase.fail, errorText(e)),
    );
  });
}

/**
 * Short lower-case text for an error: "connection refused" rather than
 * "ConnectionRefused: Connection refused (os error 111)".
 */
export function errorText(e: unknown): string {
  let msg = e instanceof Error ? e.message : String(e);
  msg = msg.replace(/\s*\(os error \d+\)$/, "");
  if (msg.length === 0) return e instanceof Error ? e.name : "unknown error";
  // Lower-case a leading capital unless it starts an acronym ("TLS", "SSL").
  if (/^[A-Z][a-z]/.test(msg)) msg = msg[0].toLowerCase() + msg.slice(1);
  return msg;
}
