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
import {
  connectMaglev,
  type MaglevConnection,
  networkReason,
} from "../api/client.ts";
import {
  BackendEventSchema,
  BackendInfoSchema,
  type Event,
  FrontendEventSchema,
  FrontendInfoSchema,
  LogEventSchema,
  VPPInfoSchema,
  VPPLBStateSchema,
} from "../api/gen/maglev/v1/maglev_pb.ts";
import type { Logger } from "../cli/log.ts";
import type {
  ActivityEvent,
  ScopeInfo,
  ScopeState,
  SseEventName,
} from "./types.ts";

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
  /**
   * Probe and VPP API activity is summed up and sent at most this often,
   * ms: one `activity` event instead of two log events per probe (a daemon
   * probing 1,000 backends at 1 s would otherwise send 2,000 events a
   * second to every browser).
   */
  readonly activityMs?: number;
  /** Client factory; tests may substitute. */
  readonly connect?: (server: string) => MaglevConnection;
}

type Json = Record<string, unknown>;

const JSON_OPTS = { alwaysEmitImplicit: true } as const;

/** One line for a failed call, without RPC noise. */
export function describeError(e: unknown): string {
  if (e instanceof ConnectError) {
    const net = networkReason(e);
    if (net) return `cannot reach daemon: ${net}`;
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
  #activityTimer?: ReturnType<typeof setInterval>;
  /** Backends with a probe in flight now. */
  #inFlight = new Set<string>();
  /** Backends whose probe finished since the last activity event. */
  #probed = new Set<string>();
  #vppMessages = 0;
  #activityDirty = false;
  /**
   * What browsers were last sent (or fetched), as comparable JSON, so a
   * refresh sends only what changed: a full state of 1,000 backends is
   * about a megabyte, too big to push to hundreds of browsers every time.
   */
  #sent = new Map<string, string>();
  /** Whether the next refresh must make browsers refetch everything. */
  #resyncNext = true;

  #scope: ScopeInfo;
  #frontends: Json[] = [];
  #backends: Json[] = [];
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
    this.#activityTimer = setInterval(
      () => this.flushActivity(),
      this.#opts.activityMs ?? 500,
    );
  }

  /** Sends the activity summed up since the last call, if there was any. */
  flushActivity(): void {
    if (!this.#activityDirty) return;
    this.#activityDirty = false;
    const ev: ActivityEvent = {
      scope: this.id,
      inFlight: [...this.#inFlight],
      probed: [...this.#probed],
      vppMessages: this.#vppMessages,
    };
    this.#probed.clear();
    this.#vppMessages = 0;
    this.#opts.publish("activity", ev);
  }

  /** Counts probe-start/probe-done/vpp-api-* logs; false for other logs. */
  #countActivity(msg: string, backend: string | undefined): boolean {
    if (msg === "probe-start" || msg === "probe-done") {
      if (backend !== undefined) {
        if (msg === "probe-start") this.#inFlight.add(backend);
        else {
          this.#inFlight.delete(backend);
          this.#probed.add(backend);
        }
        this.#activityDirty = true;
      }
      return true;
    }
    if (msg.startsWith("vpp-api-")) {
      this.#vppMessages++;
      this.#activityDirty = true;
      return true;
    }
    return false;
  }

  /** Stops streams and timers; resolves once the loop has ended. */
  async stop(): Promise<void> {
    this.#stop.abort();
    clearInterval(this.#refreshTimer);
    clearInterval(this.#activityTimer);
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
      this.#resyncNext = true;
      if (this.#inFlight.size > 0) {
        this.#inFlight.clear();
        this.#activityDirty = true;
      }
      await abortableSleep(backoff, stop);
      backoff = Math.min(backoff * 2, maxBackoff);
    }
  }

  #handle(event: Event["event"]): void {
    switch (event.case) {
      case "backend": {
        const ev = event.value;
        if (ev.info) {
          const info = pj(BackendInfoSchema, ev.info);
          replaceByName(this.#backends, info);
          this.#sent.set(`b/${ev.backend}`, backendKey(info));
        }
        // from == to: the stream's opening snapshot. Browsers get it all at
        // once through the `resync` of the refresh that follows a connect.
        if (ev.transition?.from === ev.transition?.to) break;
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
          const info = pj(FrontendInfoSchema, ev.info);
          replaceByName(this.#frontends, info);
          this.#sent.set(`f/${ev.frontend}`, JSON.stringify(info));
        }
        if (ev.from === ev.to) break; // the opening snapshot, as above
        this.#opts.publish("frontend", {
          scope: this.id,
          event: pj(FrontendEventSchema, ev),
        });
        break;
      }
      case "log":
        if (
          this.#countActivity(
            event.value.msg,
            event.value.attrs.backend,
          )
        ) break;
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
    this.#publishChanges();
  }

  /**
   * Tells browsers what changed since they were last told: a `resync`
   * (they refetch the state document) after a (re)connect or when the set
   * of frontends or backends, the VPP info or the reason it is missing
   * changed;
   * otherwise one `frontend` / `backend` event (from == to) per changed
   * item and an `lbstate` event when the VPP lb state changed.
   */
  #publishChanges(): void {
    const names = (l: Json[]) => JSON.stringify(l.map((x) => x.name));
    const shape = JSON.stringify([
      names(this.#frontends),
      names(this.#backends),
      this.#vpp ?? null,
      this.#vppError ?? null,
    ]);
    const changed = (key: string, value: string): boolean => {
      if (this.#sent.get(key) === value) return false;
      this.#sent.set(key, value);
      return true;
    };
    const lbState = JSON.stringify(this.#lbState ?? null);
    if (changed("shape", shape) || this.#resyncNext) {
      this.#resyncNext = false;
      // Everything the browsers will fetch counts as sent.
      for (const f of this.#frontends) {
        this.#sent.set(`f/${f.name}`, JSON.stringify(f));
      }
      for (const b of this.#backends) {
        this.#sent.set(`b/${b.name}`, backendKey(b));
      }
      this.#sent.set("lb", lbState);
      this.#opts.publish("resync", { scope: this.id });
      return;
    }
    for (const f of this.#frontends) {
      if (changed(`f/${f.name}`, JSON.stringify(f))) {
        this.#opts.publish("frontend", {
          scope: this.id,
          event: { frontend: f.name, from: f.state, to: f.state, info: f },
        });
      }
    }
    for (const b of this.#backends) {
      if (changed(`b/${b.name}`, backendKey(b))) {
        this.#opts.publish("backend", {
          scope: this.id,
          event: { backend: b.name, info: b },
        });
      }
    }
    if (changed("lb", lbState)) {
      this.#opts.publish("lbstate", {
        scope: this.id,
        lbState: this.#lbState,
      });
    }
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
    const [ver, fes, bes, vpp, lb] = await Promise.allSettled([
      c.getVersion({}, this.#callOpts()),
      c.listFrontends({}, this.#callOpts()),
      c.listBackends({}, this.#callOpts()),
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
    const failed = [fes, bes].find((r) => r.status === "rejected");
    if (failed && failed.status === "rejected") {
      this.#opts.log.warn("refresh-failed", {
        server: this.id,
        error: describeError(failed.reason),
      });
    }
    this.#publishChanges();
  }
}

/** Protobuf JSON of an API message, as the SPA contract describes. */
export function pj<D extends DescMessage>(
  schema: D,
  msg: MessageShape<D>,
): Json {
  return toJson(schema, msg, JSON_OPTS) as Json;
}

/**
 * A backend as browsers need to know it: without the last probe and the
 * in-flight flag, which change with every probe (the heartbeat comes from
 * `activity` events instead).
 */
function backendKey(b: Json): string {
  const { lastProbe: _l, probing: _p, ...rest } = b;
  return JSON.stringify(rest);
}

/** Replaces (or appends) the entry with the same `name`, keeping order. */
function replaceByName(list: Json[], item: unknown): void {
  const obj = item as Json;
  const i = list.findIndex((x) => x.name === obj.name);
  if (i >= 0) list[i] = obj;
  else list.push(obj);
}
