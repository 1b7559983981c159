/**
 * The VPP binary-API client: one connection, one reader loop, requests and
 * dumps matched by (reply id, context), a keepalive, and reconnection with
 * backoff. It never throws out of its background work: the daemon keeps
 * probing whether VPP is there or not, and learns about the link through
 * events.
 */

import { VppError, type VppVersion } from "./types.ts";
import { CodecError, decode, encode, peekContext, peekId } from "./codec.ts";
import {
  type DetailsOf,
  type DumpName,
  MESSAGE_NAMES,
  type MessageInput,
  type MessageName,
  MESSAGES,
  type MessageValues,
  nameCrc,
  type ReplyOf,
  type RequestName,
  type WireRecord,
} from "./messages.ts";
import {
  describeConnectRv,
  type ReadResult,
  VAC_TIMEOUT,
  type VacTransport,
} from "./transport.ts";

/** VPP is not reachable right now (not connected, connection lost, closed). */
export class VppUnavailableError extends Error {
  override name = "VppUnavailableError";
}

/** No reply within the request's deadline; VPP may be gone. */
export class VppTimeoutError extends VppUnavailableError {
  override name = "VppTimeoutError";
}

/** The connected VPP does not know some messages maglev needs (other version, lb plugin not loaded). */
export class VppIncompatibleError extends Error {
  override name = "VppIncompatibleError";
  constructor(
    readonly missing: readonly string[],
    readonly version: VppVersion | undefined,
  ) {
    const lbMissing = missing.some((m) => m.startsWith("lb_"));
    super(
      `VPP ${
        version
          ? `${version.version} (built ${version.buildDate})`
          : "(version unknown)"
      } does not know ${missing.length} message(s) maglev needs (missing, or changed CRC): ${
        missing.join(", ")
      }${
        lbMissing ? ". Is the lb plugin loaded (lb_plugin.so)?" : "."
      } maglev speaks the API of VPP 26.10.`,
    );
  }
}

/** Direction label of `maglev_vpp_api_total`. */
export type ApiDirection = "send" | "recv";
/** Result label of `maglev_vpp_api_total`: recv is a failure when retval < 0 or the bytes do not decode. */
export type ApiResult = "success" | "failure";
/** Counts every message; the daemon feeds `maglev_vpp_api_total{msg,direction,result}` from it. */
export type ApiObserver = (
  msg: string,
  direction: ApiDirection,
  result: ApiResult,
) => void;

/** The logging the client does (the daemon's Logger fits). */
export interface VppLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  /** When present and false for "debug", per-message records are not even built. */
  enabled?(level: "debug"): boolean;
}

/** What the client tells its owner about the link. */
export type VppClientEvent =
  | {
    readonly type: "connected";
    readonly version: VppVersion;
    readonly vpePid: number;
  }
  | { readonly type: "disconnected"; readonly reason: string }
  | {
    readonly type: "connect-failed";
    readonly reason: string;
    readonly attempt: number;
    readonly retryInMs: number;
  };

/** Options of `VppClient`; all but the transport have production defaults. */
export interface VppClientOptions {
  readonly transport: VacTransport;
  /** Shown in VPP's `show api clients`. Default "maglev". */
  readonly clientName?: string;
  /** `api-segment { prefix X }` of VPP; empty for none. */
  readonly apiPrefix?: string;
  /** Capacity of the receive queue VPP writes into; VPP stalls when it is full. Default 1024. */
  readonly rxQlen?: number;
  /** Default deadline of `request`/`dump`. Default 5000 ms. */
  readonly requestTimeoutMs?: number;
  /** Default 10000 ms. */
  readonly keepaliveIntervalMs?: number;
  /** Deadline of a keepalive control_ping. Default 3000 ms. */
  readonly keepaliveTimeoutMs?: number;
  /** `vac_read` timeout (whole seconds, 1..2): how long stopping the reader can take. Default 1. */
  readonly readTimeoutS?: number;
  /** First reconnect delay after a failed attempt; doubles up to `backoffMaxMs`. Default 250 ms. */
  readonly backoffInitialMs?: number;
  /** Default 5000 ms. */
  readonly backoffMaxMs?: number;
  /** How long `close()` waits for a vac_connect in flight before returning. Default 2000 ms. */
  readonly closeWaitMs?: number;
  readonly observer?: ApiObserver;
  readonly logger?: VppLogger;
}

type LinkState =
  | "idle"
  | "connecting"
  | "connected"
  | "disconnecting"
  | "disconnected"
  | "closed";

interface Pending {
  /** The request (or dump) name, for errors and logs. */
  readonly name: string;
  /** Reply id (request) or details id (dump). */
  readonly expectId: number;
  readonly expectName: MessageName;
  /** Dumps: the id of control_ping_reply that ends the stream. */
  readonly endId?: number;
  readonly items?: WireRecord[];
  readonly resolve: (value: WireRecord | WireRecord[]) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

const NO_LOGGER: VppLogger = { debug() {}, warn() {} };

/**
 * A connection to VPP's binary API that keeps itself up.
 *
 * @example
 * ```ts
 * const client = new VppClient({ transport: vacTransport(openVppLibrary()) });
 * client.on((e) => console.log(e));
 * client.start();
 * await client.waitConnected(30_000);
 * const conf = await client.request("lb_conf_get", {});
 * await client.close();
 * ```
 */
export class VppClient {
  readonly #t: VacTransport;
  readonly #name: string;
  readonly #prefix: string | null;
  readonly #rxQlen: number;
  readonly #requestTimeoutMs: number;
  readonly #keepaliveMs: number;
  readonly #keepaliveTimeoutMs: number;
  readonly #readTimeoutS: number;
  readonly #backoffInitialMs: number;
  readonly #backoffMaxMs: number;
  readonly #observer: ApiObserver | undefined;
  readonly #log: VppLogger;

  #state: LinkState = "idle";
  #closed = false;
  /** True between a successful vac_connect and vac_disconnect: vac_write is allowed. */
  #link = false;
  #ids = new Map<MessageName, number>();
  #names = new Map<number, MessageName>();
  #pending = new Map<number, Pending>();
  #nextContext = 1;
  #readerStop = false;
  #readerDone: Promise<void> = Promise.resolve();
  #attempt = 0;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #keepaliveTimer: ReturnType<typeof setTimeout> | undefined;
  #pinging = false;
  #connecting: Promise<void> | undefined;
  #failing: Promise<void> | undefined;
  #listeners = new Set<(e: VppClientEvent) => void>();
  #closeWaiters = new Set<() => void>();
  readonly #closeWaitMs: number;
  #version: VppVersion | undefined;
  #vpePid: number | undefined;

  constructor(opts: VppClientOptions) {
    this.#t = opts.transport;
    this.#name = opts.clientName ?? "maglev";
    this.#prefix = opts.apiPrefix ? opts.apiPrefix : null;
    this.#rxQlen = opts.rxQlen ?? 1024;
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 5000;
    this.#keepaliveMs = opts.keepaliveIntervalMs ?? 10_000;
    this.#keepaliveTimeoutMs = opts.keepaliveTimeoutMs ?? 3000;
    this.#readTimeoutS = Math.min(2, Math.max(1, opts.readTimeoutS ?? 1));
    this.#backoffInitialMs = opts.backoffInitialMs ?? 250;
    this.#backoffMaxMs = opts.backoffMaxMs ?? 5000;
    this.#observer = opts.observer;
    this.#log = opts.logger ?? NO_LOGGER;
    this.#closeWaitMs = opts.closeWaitMs ?? 2000;
  }

  /** True when requests can be sent now. */
  get connected(): boolean {
    return this.#state === "connected";
  }

  /** VPP's version as read on the current (or last) connection. */
  get version(): VppVersion | undefined {
    return this.#version;
  }

  /** VPP's process id from the last control_ping_reply (for `maglev_vpp_info{pid}`). */
  get vpePid(): number | undefined {
    return this.#vpePid;
  }

  /** The id VPP assigned to a message on this connection (undefined when not connected). */
  messageId(name: MessageName): number | undefined {
    return this.#link ? this.#ids.get(name) : undefined;
  }

  /** Subscribes to link events; returns the unsubscribe function. */
  on(listener: (e: VppClientEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts connecting in the background (idempotent). Failures become events and retries. */
  start(): void {
    if (this.#closed || this.#state !== "idle") return;
    this.#scheduleConnect(0);
  }

  /**
   * Resolves once connected, rejects after `timeoutMs` or when closed. For
   * startup and tests; the daemon reacts to events instead.
   */
  waitConnected(timeoutMs: number): Promise<void> {
    if (this.connected) return Promise.resolve();
    if (this.#closed) {
      return Promise.reject(
        new VppUnavailableError("the VPP client is closed"),
      );
    }
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        off();
        this.#closeWaiters.delete(onClose);
        if (err) reject(err);
        else resolve();
      };
      const onClose = () =>
        done(new VppUnavailableError("the VPP client was closed"));
      const timer = setTimeout(
        () =>
          done(
            new VppTimeoutError(`VPP not connected after ${timeoutMs} ms`),
          ),
        timeoutMs,
      );
      const off = this.on((e) => {
        if (e.type === "connected") done();
      });
      this.#closeWaiters.add(onClose);
    });
  }

  /**
   * Stops everything: pending calls fail, the link is torn down, no more
   * retries. A vac_connect in flight is waited for at most `closeWaitMs`;
   * if it succeeds later, it disconnects at once.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#keepaliveTimer);
    for (const w of [...this.#closeWaiters]) w();
    if (this.#connecting) {
      // vac_connect cannot be cancelled and may block ~100 s without VPP:
      // wait a little, then let it finish (and disconnect) on its own.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#connecting.catch(() => {}),
        new Promise<void>((r) => timer = setTimeout(r, this.#closeWaitMs)),
      ]);
      clearTimeout(timer);
    }
    if (this.#failing) await this.#failing;
    if (this.#state === "connected") {
      this.#state = "disconnecting";
      await this.#teardownLink(new VppUnavailableError("VPP client closed"));
      this.#emit({ type: "disconnected", reason: "closed" });
    }
    this.#state = "closed";
  }

  /**
   * Sends a request and resolves with its decoded reply.
   *
   * @throws {VppError} when VPP answers a negative retval.
   * @throws {VppUnavailableError} when not connected, or the link drops.
   * @throws {VppTimeoutError} when no reply comes within `timeoutMs`.
   * @throws {CodecError} when `values` cannot be encoded (nothing is sent).
   */
  request<N extends RequestName>(
    name: N,
    values: MessageInput<N>,
    timeoutMs: number = this.#requestTimeoutMs,
  ): Promise<MessageValues<ReplyOf<N>>> {
    if (!this.connected) return Promise.reject(this.#notConnected(name));
    return this.#call(name, values, timeoutMs) as Promise<
      MessageValues<ReplyOf<N>>
    >;
  }

  /**
   * Runs a dump: sends it and a control_ping with the same context, and
   * collects every details message until the ping's reply ends the stream.
   *
   * @throws see `request`.
   */
  dump<N extends DumpName>(
    name: N,
    values: MessageInput<N>,
    timeoutMs: number = this.#requestTimeoutMs,
  ): Promise<MessageValues<DetailsOf<N>>[]> {
    if (!this.connected) return Promise.reject(this.#notConnected(name));
    return this.#dump(name, values, timeoutMs) as Promise<
      MessageValues<DetailsOf<N>>[]
    >;
  }

  // -------------------------------------------------------------------------
  // Connecting

  #scheduleConnect(delayMs: number): void {
    if (this.#closed) return;
    this.#state = "disconnected";
    clearTimeout(this.#connectTimer);
    this.#connectTimer = setTimeout(() => {
      this.#connectTimer = undefined;
      this.#connecting = this.#tryConnect().finally(() => {
        this.#connecting = undefined;
      });
    }, delayMs);
  }

  async #tryConnect(): Promise<void> {
    if (this.#closed) return;
    this.#state = "connecting";
    this.#attempt++;
    try {
      await this.#connectOnce();
    } catch (e) {
      if (this.#closed) return;
      const reason = e instanceof Error ? e.message : String(e);
      const retryInMs = Math.min(
        this.#backoffMaxMs,
        this.#backoffInitialMs * 2 ** Math.min(20, this.#attempt - 1),
      );
      this.#emit({
        type: "connect-failed",
        reason,
        attempt: this.#attempt,
        retryInMs,
      });
      this.#scheduleConnect(retryInMs);
      return;
    }
    this.#attempt = 0;
    this.#state = "connected";
    this.#emit({
      type: "connected",
      version: this.#version!,
      vpePid: this.#vpePid ?? 0,
    });
    this.#scheduleKeepalive();
  }

  async #connectOnce(): Promise<void> {
    const rv = await this.#t.connect(this.#name, this.#prefix, this.#rxQlen);
    if (rv !== 0) throw new VppUnavailableError(describeConnectRv(rv));
    this.#link = true;
    try {
      if (this.#closed) throw new VppUnavailableError("VPP client closed");
      const missing = this.#resolveIds();
      this.#startReader();
      const canAsk = (...names: MessageName[]) =>
        names.every((n) => this.#ids.has(n));
      this.#version = undefined;
      const basics = [
        "control_ping",
        "control_ping_reply",
        "show_version",
        "show_version_reply",
      ] as const;
      if (canAsk(...basics)) {
        const v = await this.#call(
          "show_version",
          {},
          this.#keepaliveTimeoutMs,
        );
        this.#version = {
          program: String(v.program),
          version: String(v.version),
          buildDate: String(v.build_date),
          buildDirectory: String(v.build_directory),
        };
      }
      if (missing.length > 0) {
        throw new VppIncompatibleError(missing, this.#version);
      }
      const ping = await this.#call(
        "control_ping",
        {},
        this.#keepaliveTimeoutMs,
      );
      this.#vpePid = Number(ping.vpe_pid);
      if (this.#closed) throw new VppUnavailableError("VPP client closed");
    } catch (e) {
      await this.#teardownLink(
        e instanceof Error ? e : new VppUnavailableError(String(e)),
      );
      throw e;
    }
  }

  /** Looks up every message of the table; returns the name_crc keys VPP does not know. */
  #resolveIds(): string[] {
    this.#ids.clear();
    this.#names.clear();
    const missing: string[] = [];
    for (const name of MESSAGE_NAMES) {
      const id = this.#t.msgIndex(nameCrc(name));
      if (id < 0) {
        missing.push(nameCrc(name));
        continue;
      }
      this.#ids.set(name, id);
      this.#names.set(id, name);
    }
    return missing;
  }

  // -------------------------------------------------------------------------
  // Failure and teardown

  /** The link is broken while connected: tear down, tell the owner, reconnect. */
  #fail(reason: string): void {
    if (this.#state !== "connected") return;
    this.#state = "disconnecting";
    clearTimeout(this.#keepaliveTimer);
    this.#log.warn("vpp-connection-lost", { reason });
    this.#failing = (async () => {
      await this.#teardownLink(
        new VppUnavailableError(`VPP connection lost: ${reason}`),
      );
      this.#emit({ type: "disconnected", reason });
      if (!this.#closed) this.#scheduleConnect(0);
    })().finally(() => {
      this.#failing = undefined;
    });
  }

  /** Stops writes, fails pending calls, stops the reader, then vac_disconnect. Never throws. */
  async #teardownLink(error: Error): Promise<void> {
    if (!this.#link) return;
    this.#link = false;
    this.#rejectAll(error);
    this.#readerStop = true;
    await this.#readerDone;
    try {
      await this.#t.disconnect();
    } catch (e) {
      this.#log.warn("vpp-disconnect-failed", { error: String(e) });
    }
  }

  #rejectAll(error: Error): void {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(error);
    }
  }

  // -------------------------------------------------------------------------
  // Keepalive

  #scheduleKeepalive(delayMs: number = this.#keepaliveMs): void {
    clearTimeout(this.#keepaliveTimer);
    if (this.#closed || this.#state !== "connected") return;
    this.#keepaliveTimer = setTimeout(() => this.#keepalive(), delayMs);
  }

  async #keepalive(): Promise<void> {
    if (this.#pinging || this.#state !== "connected") return;
    this.#pinging = true;
    try {
      const r = await this.#call("control_ping", {}, this.#keepaliveTimeoutMs);
      this.#vpePid = Number(r.vpe_pid);
      this.#scheduleKeepalive();
    } catch (e) {
      this.#fail(
        `keepalive control_ping failed: ${e instanceof Error ? e.message : e}`,
      );
    } finally {
      this.#pinging = false;
    }
  }

  // -------------------------------------------------------------------------
  // Sending

  #notConnected(name: string): VppUnavailableError {
    const why = this.#closed
      ? "the VPP client is closed"
      : this.#state === "connecting"
      ? "VPP is not connected yet (connecting)"
      : "VPP is not connected";
    return new VppUnavailableError(`${name}: ${why}`);
  }

  #newContext(): number {
    for (;;) {
      const c = this.#nextContext;
      this.#nextContext = (this.#nextContext + 1) >>> 0 || 1;
      if (!this.#pending.has(c)) return c;
    }
  }

  /** Encodes and writes one message; never calls vac_write without a link. */
  #write(name: MessageName, values: WireRecord, context: number): void {
    if (!this.#link) {
      throw new VppUnavailableError(`${name}: VPP is not connected`);
    }
    const id = this.#ids.get(name);
    if (id === undefined) {
      throw new VppUnavailableError(
        `${name}: message not supported by this VPP`,
      );
    }
    const bytes = encode(name, values as MessageInput<typeof name>, {
      id,
      context,
    });
    const rv = this.#t.write(bytes);
    this.#observer?.(name, "send", rv === 0 ? "success" : "failure");
    if (this.#debugOn()) {
      this.#log.debug("vpp-api-send", {
        msg: name,
        context,
        bytes: bytes.length,
        ...(rv === 0 ? {} : { rv }),
      });
    }
    if (rv !== 0) {
      throw new VppUnavailableError(`${name}: vac_write returned ${rv}`);
    }
  }

  #call(
    name: RequestName,
    values: WireRecord,
    timeoutMs: number,
  ): Promise<WireRecord> {
    const replyName = (MESSAGES[name] as { reply: MessageName }).reply;
    return new Promise<WireRecord>((resolve, reject) => {
      const context = this.#newContext();
      const expectId = this.#ids.get(replyName);
      if (expectId === undefined) {
        reject(
          new VppUnavailableError(`${replyName}: not supported by this VPP`),
        );
        return;
      }
      const timer = setTimeout(
        () => this.#expire(context, timeoutMs),
        timeoutMs,
      );
      this.#pending.set(context, {
        name,
        expectId,
        expectName: replyName,
        resolve: resolve as (v: WireRecord | WireRecord[]) => void,
        reject,
        timer,
      });
      try {
        this.#write(name, values, context);
      } catch (e) {
        this.#settle(context)?.reject(e as Error);
      }
    });
  }

  #dump(
    name: DumpName,
    values: WireRecord,
    timeoutMs: number,
  ): Promise<WireRecord[]> {
    const detailsName = (MESSAGES[name] as { details: MessageName }).details;
    return new Promise<WireRecord[]>((resolve, reject) => {
      const context = this.#newContext();
      const expectId = this.#ids.get(detailsName);
      const endId = this.#ids.get("control_ping_reply");
      if (expectId === undefined || endId === undefined) {
        reject(new VppUnavailableError(`${name}: not supported by this VPP`));
        return;
      }
      const timer = setTimeout(
        () => this.#expire(context, timeoutMs),
        timeoutMs,
      );
      this.#pending.set(context, {
        name,
        expectId,
        expectName: detailsName,
        endId,
        items: [],
        resolve: resolve as (v: WireRecord | WireRecord[]) => void,
        reject,
        timer,
      });
      try {
        this.#write(name, values, context);
        this.#write("control_ping", {}, context);
      } catch (e) {
        this.#settle(context)?.reject(e as Error);
      }
    });
  }

  /** Removes a pending call (clearing its timer) and returns it. */
  #settle(context: number): Pending | undefined {
    const p = this.#pending.get(context);
    if (!p) return undefined;
    this.#pending.delete(context);
    clearTimeout(p.timer);
    return p;
  }

  #expire(context: number, timeoutMs: number): void {
    const p = this.#settle(context);
    if (!p) return;
    this.#log.warn("vpp-api-timeout", { msg: p.name, context, timeoutMs });
    p.reject(
      new VppTimeoutError(
        `${p.name}: no reply from VPP within ${timeoutMs} ms`,
      ),
    );
    // A lost reply may mean a dead VPP: check now rather than at the next tick.
    if (p.name !== "control_ping" && this.#state === "connected") {
      this.#scheduleKeepalive(0);
    }
  }

  // -------------------------------------------------------------------------
  // Receiving

  #startReader(): void {
    this.#readerStop = false;
    this.#readerDone = this.#readLoop();
  }

  /** The only caller of vac_read: re-armed until stopped; never throws. */
  async #readLoop(): Promise<void> {
    while (!this.#readerStop) {
      let r: ReadResult;
      try {
        r = await this.#t.read(this.#readTimeoutS);
      } catch (e) {
        this.#linkBroken(
          `vac_read failed: ${e instanceof Error ? e.message : e}`,
        );
        return;
      }
      if (r.rv === 0 && r.data) {
        try {
          this.#dispatch(r.data);
        } catch (e) {
          this.#log.warn("vpp-api-dispatch-failed", { error: String(e) });
        }
        continue;
      }
      if (r.rv === VAC_TIMEOUT) continue;
      if (!this.#readerStop) this.#linkBroken(`vac_read returned ${r.rv}`);
      return;
    }
  }

  #linkBroken(reason: string): void {
    this.#readerStop = true;
    if (this.#state === "connected") {
      this.#fail(reason);
    } else {
      // Still connecting: fail what the connect sequence waits for.
      this.#rejectAll(new VppUnavailableError(`VPP link failed: ${reason}`));
    }
  }

  #dispatch(data: Uint8Array): void {
    const id = peekId(data);
    const context = peekContext(data);
    const name = id === undefined ? undefined : this.#names.get(id);
    if (id === undefined || context === undefined || name === undefined) {
      this.#observer?.("unknown", "recv", "failure");
      this.#log.debug("vpp-api-recv-unknown", { id, bytes: data.length });
      return;
    }
    let values: WireRecord;
    try {
      values = decode(name, data) as WireRecord;
    } catch (e) {
      this.#observer?.(name, "recv", "failure");
      this.#log.warn("vpp-api-decode-failed", {
        msg: name,
        context,
        error: e instanceof Error ? e.message : String(e),
      });
      const p = this.#pending.get(context);
      if (p && (p.expectId === id || p.endId === id)) {
        this.#settle(context);
        p.reject(e instanceof CodecError ? e : new CodecError(String(e)));
      }
      return;
    }
    const retval = typeof values.retval === "number" ? values.retval : 0;
    this.#observer?.(name, "recv", retval < 0 ? "failure" : "success");
    if (this.#debugOn()) {
      this.#log.debug("vpp-api-recv", {
        msg: name,
        context,
        bytes: data.length,
        ...(typeof values.retval === "number" ? { retval } : {}),
      });
    }

    const p = this.#pending.get(context);
    if (!p) {
      this.#log.debug("vpp-api-recv-unmatched", { msg: name, context });
      return;
    }
    if (p.items !== undefined && id === p.expectId) {
      p.items.push(values);
    } else if (id === (p.endId ?? p.expectId)) {
      this.#settle(context);
      if (retval < 0) p.reject(new VppError(p.name, retval));
      else p.resolve(p.items ?? values);
    } else {
      this.#log.warn("vpp-api-recv-mismatch", {
        msg: name,
        context,
        expected: p.expectName,
      });
    }
  }

  #debugOn(): boolean {
    return this.#log.enabled?.("debug") ?? true;
  }

  #emit(e: VppClientEvent): void {
    for (const l of [...this.#listeners]) {
      try {
        l(e);
      } catch (err) {
        this.#log.warn("vpp-event-listener-failed", { error: String(err) });
      }
    }
  }
}
