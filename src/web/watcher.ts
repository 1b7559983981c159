/**
 * Keeps the dashboard's picture of one daemon current: one WatchEvents
 * stream (reconnected with backoff), a full refresh on every (re)connect and
 * periodically as a safety net, and a throttled VPP lb-state fetch after
 * transitions (bucket shares move when backends do). Everything it learns
 * goes to the broker as SSE-ready events.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type DescMessage,
  type MessageShape,
  toJson,
} from "@bufbuild/protobuf";
import { connectMaglev, type MaglevConnection } from "../api/client.ts";
import {
  BackendEventSchema,
  BackendInfoSchema,
  type Event,
  FrontendEventSchema,
  FrontendInfoSchema,
  HealthCheckInfoSchema,
  LogEventSchema,
  VPPInfoSchema,
  VPPLBStateSchema,
} from "../api/gen/maglev/v1/maglev_pb.ts";
import type { Logger } from "../cli/log.ts";
import type { ScopeInfo, ScopeState, SseEventName } from "./types.ts";

/** Where a watcher sends what it learns (the broker's publish). */
export type Publish = (event: SseEventName, data: unknown) => void;

/** Options of a DaemonWatcher. */
export interface WatcherOptions {
  readonly publish: Publish;
  readonly log: Logger;
  /** Full refresh interval while connected, ms. */
  readonly refreshMs?: number;
  /** First reconnect delay, ms; doubles up to `maxBackoffMs`. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Throttle window of lb-state fetches after transitions, ms. */
  readonly lbStateDebounceMs?: number;
  /** Deadline of each unary call, ms. */
  readonly callTimeoutMs?: number;
  /** Client factory; tests may substitute. */
  readonly connect?: (server: string) => MaglevConnection;
}

type Json = Record<string, unknown>;

const JSON_OPTS = { alwaysEmitImplicit: true } as const;

/** One line for a failed call, without RPC noise. */
export function describeError(e: unknown): string {
  if (e instanceof ConnectError) {
    const cause = e.cause as { code?: unknown } | undefined;
    const net = typeof cause?.code === "string"
      ? cause.code
      : /\b(E[A-Z_]{4,})\b/.exec(e.rawMessage)?.[1];
    const reasons: Record<string, string> = {
      ECONNREFUSED: "connection refused",
      ENOTFOUND: "host not found",
      EAI_AGAIN: "host name lookup failed",
      EHOSTUNREACH: "host unreachable",
      ENETUNREACH: "network unreachable",
      ETIMEDOUT: "connection timed out",
      ECONNRESET: "connection reset",
      EPIPE: "connection closed",
    };
    if (net && reasons[net]) return `cannot reach daemon: ${reasons[net]}`;
    if (e.code === Code.DeadlineExceeded) {
      return "daemon did not answer in time";
    }
    if (e.code === Code.Canceled) return "daemon closed the connection";
    const msg = e.rawMessage.split("\n")[0].trim();
    return msg || Code[e.code];
  }
  if (e instanceof Error) return e.message.split("\n")[0];
  return String(e);
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Watches one daemon (one dashboard scope). */
export class DaemonWatcher {
  readonly id: string;
  #opts: WatcherOptions;
  #connect: (server: string) => MaglevConnection;
  #conn?: MaglevConnection;
  #stop = new AbortController();
  #loop?: Promise<void>;
  #refreshTimer?: ReturnType<typeof setInterval>;
  #lbTimer?: ReturnType<typeof setTimeout>;
  #lbPending = false;

  #scope: ScopeInfo;
  #frontends: Json[] = [];
  #backends: Json[] = [];
  #healthchecks: Json[] = [];
  #vpp?: Json;
  #vppError?: string;
  #lbState?: Json;

  constructor(id: string, opts: WatcherOptions) {
    this.id = id;
    this.#opts = opts;
    this.#connect = opts.connect ?? ((s) => connectMaglev(s));
    this.#scope = {
      id,
      connected: false,
      error: "connecting",
      sinceMs: Date.now(),
    };
  }

  /** Connection status of this scope. */
  get scope(): ScopeInfo {
    return this.#scope;
  }

  /** The API client of the current connection, if connected. */
  get connection(): MaglevConnection | undefined {
    return this.#scope.connected ? this.#conn : undefined;
  }

  /** A snapshot of everything known, for `/api/state` and `state` events. */
  state(): ScopeState {
    return {
      scope: this.#scope,
      frontends: this.#frontends,
      backends: this.#backends,
      healthchecks: this.#healthchecks,
      vpp: this.#vpp,
      vppError: this.#vppError,
      lbState: this.#lbState,
      atMs: Date.now(),
    };
  }

  /** Starts the watch loop and the periodic refresh. */
  start(): void {
    if (this.#loop) return;
    this.#loop = this.#run();
    this.#refreshTimer = setInterval(() => {
      if (this.#scope.connected) void this.refresh();
    }, this.#opts.refreshMs ?? 30_000);
  }

  /** Stops streams and timers; resolves once the loop has ended. */
  async stop(): Promise<void> {
    this.#stop.abort();
    clearInterval(this.#refreshTimer);
    clearTimeout(this.#lbTimer);
    this.#conn?.close();
    await this.#loop;
  }

  #setScope(connected: boolean, error?: string, version?: string): void {
    const prev = this.#scope;
    const next: ScopeInfo = {
      id: this.id,
      connected,
      error: connected ? undefined : error,
      sinceMs: connected === prev.connected ? prev.sinceMs : Date.now(),
      version: version ?? prev.version,
    };
    if (
      next.connected === prev.connected && next.error === prev.error &&
      next.version === prev.version
    ) return;
    this.#scope = next;
    this.#opts.publish("scope", next);
  }

  async #run(): Promise<void> {
    const minBackoff = this.#opts.minBackoffMs ?? 250;
    const maxBackoff = this.#opts.maxBackoffMs ?? 5000;
    let backoff = minBackoff;
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      const conn = this.#connect(this.id);
      this.#conn = conn;
      let error = "daemon ended the event stream";
      try {
        const stream = conn.client.watchEvents({
          backend: true,
          frontend: true,
          log: true,
          logLevel: "debug",
        }, { signal: stop });
        let first = true;
        for await (const ev of stream) {
          if (first) {
            first = false;
            backoff = minBackoff;
            this.#setScope(true);
            this.#opts.log.info("daemon-connected", { server: this.id });
            void this.refresh();
          }
          this.#handle(ev.event);
        }
      } catch (e) {
        if (stop.aborted) break;
        error = describeError(e);
      } finally {
        conn.close();
      }
      if (stop.aborted) break;
      if (this.#scope.connected || this.#scope.error !== error) {
        this.#opts.log.warn("daemon-unreachable", {
          server: this.id,
          error,
          retryMs: backoff,
        });
      }
      this.#setScope(false, error);
      await abortableSleep(backoff, stop);
      backoff = Math.min(backoff * 2, maxBackoff);
    }
  }

  #handle(event: Event["event"]): void {
    switch (event.case) {
      case "backend": {
        const ev = event.value;
        if (ev.info) {
          replaceByName(this.#backends, pj(BackendInfoSchema, ev.info));
        }
        this.#opts.publish("backend", {
          scope: this.id,
          event: pj(BackendEventSchema, ev),
        });
        if (ev.transition && ev.transition.from !== ev.transition.to) {
          this.requestLbState();
        }
        break;
      }
      case "frontend": {
        const ev = event.value;
        if (ev.info) {
          replaceByName(
            this.#frontends,
            pj(FrontendInfoSchema, ev.info),
          );
        }
        this.#opts.publish("frontend", {
          scope: this.id,
          event: pj(FrontendEventSchema, ev),
        });
        break;
      }
      case "log":
        this.#opts.publish("log", {
          scope: this.id,
          event: pj(LogEventSchema, event.value),
        });
        break;
    }
  }

  /**
   * Fetches frontends (effective weights) and the VPP lb state soon after
   * a transition: at once when idle, else once more at the end of the
   * window, so a burst of transitions costs two fetches.
   */
  requestLbState(): void {
    if (this.#lbTimer !== undefined) {
      this.#lbPending = true;
      return;
    }
    void this.#fetchLbState();
    this.#lbTimer = setTimeout(() => {
      this.#lbTimer = undefined;
      if (this.#lbPending && !this.#stop.signal.aborted) {
        this.#lbPending = false;
        this.requestLbState();
      }
    }, this.#opts.lbStateDebounceMs ?? 1000);
  }

  #callOpts() {
    return {
      signal: AbortSignal.any([
        this.#stop.signal,
        AbortSignal.timeout(this.#opts.callTimeoutMs ?? 5000),
      ]),
    };
  }

  async #fetchLbState(): Promise<void> {
    const conn = this.connection;
    if (!conn) return;
    const [fes, lb] = await Promise.allSettled([
      conn.client.listFrontends({}, this.#callOpts()),
      conn.client.getVPPLBState({}, this.#callOpts()),
    ]);
    if (this.#stop.signal.aborted) return;
    if (fes.status === "fulfilled") {
      this.#frontends = fes.value.frontends.map((f) =>
        pj(FrontendInfoSchema, f)
      );
    }
    if (lb.status === "fulfilled") {
      this.#lbState = pj(VPPLBStateSchema, lb.value);
    } else {
      this.#lbState = undefined;
    }
    this.#opts.publish("state", this.state());
  }

  /**
   * Re-reads everything (after a (re)connect, periodically, after an
   * action), so a missed or misapplied event can never leave the page
   * wrong for long.
   */
  async refresh(): Promise<void> {
    const conn = this.connection;
    if (!conn) return;
    const c = conn.client;
    const [ver, fes, bes, hcs, vpp, lb] = await Promise.allSettled([
      c.getVersion({}, this.#callOpts()),
      c.listFrontends({}, this.#callOpts()),
      c.listBackends({}, this.#callOpts()),
      c.listHealthChecks({}, this.#callOpts()),
      c.getVPPInfo({}, this.#callOpts()),
      c.getVPPLBState({}, this.#callOpts()),
    ]);
    if (this.#stop.signal.aborted) return;
    if (ver.status === "fulfilled" && this.#scope.connected) {
      this.#setScope(true, undefined, ver.value.version);
    }
    if (fes.status === "fulfilled") {
      this.#frontends = fes.value.frontends.map((f) =>
        pj(FrontendInfoSchema, f)
      );
    }
    if (bes.status === "fulfilled") {
      this.#backends = bes.value.backends.map((b) => pj(BackendInfoSchema, b));
    }
    if (hcs.status === "fulfilled") {
      this.#healthchecks = hcs.value.healthchecks.map((h) =>
        pj(HealthCheckInfoSchema, h)
      );
    }
    if (vpp.status === "fulfilled") {
      this.#vpp = pj(VPPInfoSchema, vpp.value);
      this.#vppError = undefined;
    } else {
      this.#vpp = undefined;
      this.#vppError = describeError(vpp.reason);
    }
    this.#lbState = lb.status === "fulfilled"
      ? pj(VPPLBStateSchema, lb.value)
      : undefined;
    const failed = [fes, bes, hcs].find((r) => r.status === "rejected");
    if (failed && failed.status === "rejected") {
      this.#opts.log.warn("refresh-failed", {
        server: this.id,
        error: describeError(failed.reason),
      });
    }
    this.#opts.publish("state", this.state());
  }
}

/** Protobuf JSON of an API message, as the SPA contract describes. */
function pj<D extends DescMessage>(schema: D, msg: MessageShape<D>): Json {
  return toJson(schema, msg, JSON_OPTS) as Json;
}

/** Replaces (or appends) the entry with the same `name`, keeping order. */
function replaceByName(list: Json[], item: unknown): void {
  const obj = item as Json;
  const i = list.findIndex((x) => x.name === obj.name);
  if (i >= 0) list[i] = obj;
  else list.push(obj);
}
