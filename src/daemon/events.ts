/**
 * The daemon's in-process event bus. Transitions, frontend changes and log
 * records flow through here to every consumer (metrics, WatchEvents
 * subscribers, the dataplane reconciler) without those consumers knowing
 * about each other. Delivery is synchronous and in order; a consumer that
 * needs to do slow work must queue it itself, so a slow consumer can never
 * delay probing.
 */
import type { LogRecord } from "../cli/log.ts";
import type { FrontendState, Transition } from "../health/types.ts";

/** A backend changed state. */
export interface BackendEvent {
  readonly type: "backend";
  readonly backend: string;
  readonly transition: Transition;
}

/** A frontend's aggregate state changed. */
export interface FrontendEvent {
  readonly type: "frontend";
  readonly frontend: string;
  readonly from: FrontendState;
  readonly to: FrontendState;
  readonly atMs: number;
}

/**
 * A frontend's effective weights or flush flags changed (or it appeared or
 * went away): the dataplane should sync that frontend now.
 */
export interface WeightsEvent {
  readonly type: "weights";
  readonly frontend: string;
  readonly atMs: number;
}

/**
 * A config reload finished, however it was asked for (SIGHUP or the API):
 * `refused` names the stage that refused the file (parse or semantic).
 */
export interface ReloadEvent {
  readonly type: "reload";
  readonly refused?: "parse" | "semantic";
}

/** A log record, for subscribers that asked for logs. */
export interface LogEvent {
  readonly type: "log";
  readonly record: LogRecord;
}

/** Everything that travels on the bus. */
export type DaemonEvent =
  | BackendEvent
  | FrontendEvent
  | WeightsEvent
  | ReloadEvent
  | LogEvent;

/** A consumer of bus events. */
export type EventListener = (event: DaemonEvent) => void;

/** Synchronous, ordered fan-out of daemon events. */
export class EventBus {
  #listeners = new Set<EventListener>();
  #onError: (err: unknown) => void;

  /** `onError` sees exceptions thrown by listeners; the bus itself never throws. */
  constructor(onError: (err: unknown) => void = () => {}) {
    this.#onError = onError;
  }

  /** Adds a listener; returns its removal. */
  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Number of listeners, for tests and diagnostics. */
  get size(): number {
    return this.#listeners.size;
  }

  /** Delivers `event` to every listener, isolating their failures. */
  publish(event: DaemonEvent): void {
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch (err) {
        this.#onError(err);
      }
    }
  }
}
