/**
 * The VPP binary-API client: one connection, one reader loop, requests and
 * dumps matched by (reply id, context), a keepalive, and reconnection with
 * backoff. It never throws out of its background work: the daemon keeps
 * probing whether VPP is there or not, and learns about the link through
 * events.
 *
 * Three rules keep a slow or stopped VPP from hurting the daemon:
 * - Deadlines count silence, not time: a call fails when nothing came from
 *   VPP for its timeout while VPP still owed it an answer, so a long dump
 *   ahead of it (or being received) never fails it or the keepalive.
 * - At most `sendWindow` messages are in VPP's input queue on our account.
 *   `vac_write` runs on the event loop and blocks once that queue (1,024
 *   messages for all clients) is full, for as long as VPP does not run;
 *   more requests wait here, in order.
 * - A VPP whose process is alive but silent (stopped, or hung) is "stalled":
 *   the registration is kept and no reconnect is tried, because each
 *   vac_connect to a stopped VPP leaves a registration behind in it once it
 *   runs again. Only a VPP whose process is gone is reconnected to.
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
  /** Recoveries (`vpp-resumed`); warn is used without it. */
  info?(msg: string, fields?: Record<string, unknown>): void;
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

/** What `/proc/<pid>/stat` says about VPP's process. */
export interface VppProcess {
  /** The state letter: R, S, D (running or waiting), T (stopped), t (traced), Z (zombie). */
  readonly state: string;
  /** Clock ticks after boot at which it started: tells a restarted VPP with a reused pid apart. */
  readonly startTime: string;
}

/** Looks VPP's process up by pid; undefined when there is no such VPP process (or it cannot be told). */
export type ProcessProbe = (pid: number) => VppProcess | undefined;

/**
 * The default ProcessProbe: `/proc/<pid>/stat`, accepted only when the
 * process is named like VPP (its main thread is `vpp_main`), so a VPP in
 * another pid namespace (its pid means nothing here) is not mistaken for
 * some local process.
 */
export function procProbe(pid: number): VppProcess | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses.
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  if (!/^vpp/.test(text.slice(open + 1, close))) return undefined;
  const fields = text.slice(close + 2).split(" ");
  // fields[0] is field 3 (state), so field 22 (starttime) is fields[19].
  const state = fields[0];
  const startTime = fields[19];
  if (!state || !startTime) return undefined;
  return { state, startTime };
}

/** Words for a /proc state letter, for logs. */
function describeProcState(state: string): string {
  switch (state) {
    case "T":
      return "stopped (SIGSTOP?)";
    case "t":
      return "stopped by a debugger";
    case "D":
      return "in uninterruptible sleep";
    case "R":
    case "S":
      return "running, but not answering";
    default:
      return `state ${state}`;
  }
}

/**
 * Default receive queue (messages). VPP's main thread blocks while this
 * queue is full (README §1.4; measured: with 1,024, a 16,000-AS dump held
 * VPP's CLI for 0.5–3.8 s, about the whole dump; with 32,768 it answered
 * within 0.2 s). The largest burst VPP can owe us at once is the all-AS
 * dump: 16,000 ASes at the supported scale plus as many deleted ones that
 * VPP lists until its garbage collector runs, plus the replies to the send
 * window and a keepalive; 32,768 is the power of two above that. It costs
 * 8 bytes a slot, 256 KiB, in VPP's API segment (16 MiB by default).
 */
export const DEFAULT_RX_QLEN = 32_768;

/**
 * Default send window (messages in VPP's input queue on our account). That
 * queue holds 1,024 messages for every API client together (measured: the
 * 1,025th vac_write into a stopped VPP blocked until it was continued); a
 * quarter leaves room for the others and for the library's own
 * keepalive replies, and is four times what the reconciler pipelines.
 */
export const DEFAULT_SEND_WINDOW = 256;

/** Options of `VppClient`; all but the transport have production defaults. */
export interface VppClientOptions {
  readonly transport: VacTransport;
  /** Shown in VPP's `show api clients`. Default "maglev". */
  readonly clientName?: string;
  /** `api-segment { prefix X }` of VPP; empty for none. */
  readonly apiPrefix?: string;
  /** Capacity of the receive queue VPP writes into; VPP stalls when it is full. Default `DEFAULT_RX_QLEN`. */
  readonly rxQlen?: number;
  /** Messages written and not yet answered by VPP, at most; more wait in order. Default `DEFAULT_SEND_WINDOW`. */
  readonly sendWindow?: number;
  /**
   * Default deadline of `request`/`dump`: how long VPP may stay silent
   * while it owes the call an answer. Default 5000 ms.
   */
  readonly requestTimeoutMs?: number;
  /** Default 10000 ms. */
  readonly keepaliveIntervalMs?: number;
  /** Silence after which a keepalive control_ping fails. Default 3000 ms. */
  readonly keepaliveTimeoutMs?: number;
  /** Tells a stalled VPP (process alive) from a dead one. Default `procProbe`. */
  readonly processProbe?: ProcessProbe;
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
  /** VPP silent but its process alive: registration kept, waiting. */
  | "stalled"
  | "disconnecting"
  | "disconnected"
  | "closed";

interface Pending {
  /** The request (or dump) name, for errors and logs. */
  readonly name: string;
  readonly context: number;
  /** Order of sending: VPP answers in this order. */
  readonly seq: number;
  /** Reply id (request) or details id (dump). */
  readonly expectId: number;
  readonly expectName: MessageName;
  /** Dumps: the id of control_ping_reply that ends the stream. */
  readonly endId?: number;
  readonly items?: WireRecord[];
  /** What to write, once the send window has room. */
  readonly writes: readonly (readonly [MessageName, WireRecord])[];
  readonly timeoutMs: number;
  readonly createdAt: number;
  readonly resolve: (value: WireRecord | WireRecord[]) => void;
  readonly reject: (error: Error) => void;
}

/** One message written to VPP that it has not provably consumed yet. */
interface InVpp {
  readonly seq: number;
  readonly context: number;
  /** Its answer ends the call (a request, or a dump's control_ping). */
  readonly last: boolean;
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
  readonly #sendWindow: number;
  readonly #probe: ProcessProbe;
  readonly #requestTimeoutMs: number;
  readonly #keepaliveMs: number;
  readonly #keepaliveTimeoutMs: number;
  readonly #readTimeoutS: number;
  #queueAttached = false;
  #deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  #deadlineAt = Infinity;
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
  /** Calls waiting for room in the send window, in order. */
  #sendQueue: Pending[] = [];
  /** Messages in VPP's input queue on our account, in sending order. */
  #inVpp: InVpp[] = [];
  /** Contexts in #inVpp (a context is not reused while VPP may answer it). */
  #inVppContexts = new Map<number, number>();
  #nextSeq = 1;
  /** Highest seq VPP has answered: calls sent before it were consumed. */
  #answeredSeq = 0;
  /** When the last message of any kind came from VPP. */
  #lastRxAt = 0;
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
  /** VPP's process as seen at connect; undefined when it cannot be seen. */
  #vppProcess: VppProcess | undefined;
  #stalledAt = 0;
  #stallTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(opts: VppClientOptions) {
    this.#t = opts.transport;
    this.#name = opts.clientName ?? "maglev";
    this.#prefix = opts.apiPrefix ? opts.apiPrefix : null;
    this.#rxQlen = opts.rxQlen ?? DEFAULT_RX_QLEN;
    this.#sendWindow = Math.max(2, opts.sendWindow ?? DEFAULT_SEND_WINDOW);
    this.#probe = opts.processProbe ?? procProbe;
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
    clearTimeout(this.#stallTimer);
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
    if (this.#state === "connected" || this.#state === "stalled") {
      // A stalled link already told its owner it is gone.
      const announce = this.#state === "connected";
      this.#state = "disconnecting";
      await this.#teardownLink(new VppUnavailableError("VPP client closed"));
      if (announce) this.#emit({ type: "disconnected", reason: "closed" });
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
      this.#vppProcess = this.#probe(this.#vpePid);
      await this.#attachQueue();
      if (this.#closed) throw new VppUnavailableError("VPP client closed");
    } catch (e) {
      await this.#teardownLink(
        e instanceof Error ? e : new VppUnavailableError(String(e)),
      );
      throw e;
    }
  }

  /**
   * Lets the transport read replies that are already queued without a
   * helper-thread round trip each (about 5 replies per ms otherwise, which
   * bounds a 1,000-VIP weight change). Needs our queue's address, which VPP
   * prints in `show api clients`; anything unexpected leaves it off.
   */
  async #attachQueue(): Promise<void> {
    this.#queueAttached = false;
    if (!this.#t.attachQueue || !this.#ids.has("cli_inband")) return;
    let why: string | undefined;
    try {
      const r = await this.#call(
        "cli_inband",
        { cmd: "show api clients" },
        this.#keepaliveTimeoutMs,
      );
      const va = queueAddressOf(String(r.reply ?? ""), this.#name, Deno.pid);
      why = va === undefined
        ? `no row for ${this.#name} (pid ${Deno.pid}) in "show api clients"`
        : this.#t.attachQueue(va, this.#rxQlen);
    } catch (e) {
      if (e instanceof VppUnavailableError) throw e;
      why = `show api clients failed: ${e instanceof Error ? e.message : e}`;
    }
    this.#queueAttached = why === undefined;
    this.#log.debug("vpp-api-queue", {
      batched: this.#queueAttached,
      ...(why ? { reason: why } : {}),
    });
  }

  /** True while replies already queued are read in batches (see #attachQueue). */
  get batchedReads(): boolean {
    return this.#queueAttached;
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

  /** The link is broken (or VPP's process is gone): tear down, tell the owner, reconnect. */
  #fail(reason: string): void {
    if (this.#state !== "connected" && this.#state !== "stalled") return;
    // A stalled link already told its owner it is gone.
    const announce = this.#state === "connected";
    this.#state = "disconnecting";
    clearTimeout(this.#keepaliveTimer);
    clearTimeout(this.#stallTimer);
    this.#log.warn("vpp-connection-lost", { reason });
    this.#failing = (async () => {
      await this.#teardownLink(
        new VppUnavailableError(`VPP connection lost: ${reason}`),
      );
      if (announce) this.#emit({ type: "disconnected", reason });
      if (!this.#closed) this.#scheduleConnect(0);
    })().finally(() => {
      this.#failing = undefined;
    });
  }

  /** VPP's process as at connect, if it still runs (not a zombie, not restarted). */
  #vppStillThere(): VppProcess | undefined {
    const was = this.#vppProcess;
    if (!was || this.#vpePid === undefined) return undefined;
    const now = this.#probe(this.#vpePid);
    if (!now || now.startTime !== was.startTime) return undefined;
    if (now.state === "Z" || now.state === "X") return undefined;
    return now;
  }

  /** The keepalive failed: a stall if VPP's process lives, else a dead link. */
  #keepaliveFailed(reason: string): void {
    if (this.#state !== "connected") return;
    const proc = this.#vppStillThere();
    if (!proc) {
      this.#fail(reason);
      return;
    }
    this.#state = "stalled";
    this.#stalledAt = performance.now();
    clearTimeout(this.#keepaliveTimer);
    const why = `VPP stalled: ${reason}; its process ${this.#vpePid} is ${
      describeProcState(proc.state)
    }: keeping the registration and waiting for VPP instead of reconnecting`;
    this.#log.warn("vpp-stalled", {
      reason,
      pid: this.#vpePid,
      process_state: proc.state,
      unanswered: this.#inVpp.length,
    });
    this.#rejectAll(new VppUnavailableError(why));
    this.#emit({ type: "disconnected", reason: why });
    // Something of ours must be in VPP's queue, so that VPP's first answer
    // after it runs again shows here.
    if (this.#inVpp.length === 0) {
      this.#call("control_ping", {}, this.#keepaliveTimeoutMs).catch(() => {});
    }
    this.#scheduleStallCheck();
  }

  #scheduleStallCheck(): void {
    clearTimeout(this.#stallTimer);
    this.#stallTimer = setTimeout(() => {
      if (this.#state !== "stalled") return;
      if (this.#vppStillThere()) {
        this.#scheduleStallCheck();
        return;
      }
      this.#fail(
        `VPP's process ${this.#vpePid} is gone (it stalled ${
          Math.round(performance.now() - this.#stalledAt)
        } ms ago)`,
      );
    }, Math.min(1000, this.#keepaliveMs));
  }

  /** A message came while stalled: VPP runs again on the same registration. */
  #resume(): void {
    clearTimeout(this.#stallTimer);
    this.#state = "connected";
    const fields = {
      pid: this.#vpePid,
      stalled_ms: Math.round(performance.now() - this.#stalledAt),
    };
    if (this.#log.info) this.#log.info("vpp-resumed", fields);
    else this.#log.warn("vpp-resumed", fields);
    this.#emit({
      type: "connected",
      version: this.#version!,
      vpePid: this.#vpePid ?? 0,
    });
    this.#scheduleKeepalive();
  }

  /** Stops writes, fails pending calls, stops the reader, then vac_disconnect. Never throws. */
  async #teardownLink(error: Error): Promise<void> {
    if (!this.#link) return;
    this.#link = false;
    this.#rejectAll(error);
    this.#inVpp = [];
    this.#inVppContexts.clear();
    this.#answeredSeq = this.#nextSeq;
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
    this.#sendQueue = [];
    clearTimeout(this.#deadlineTimer);
    this.#deadlineAt = Infinity;
    for (const p of all) {
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
      this.#keepaliveFailed(
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
      : this.#state === "stalled"
      ? `VPP is stalled (process ${this.#vpePid} alive, not answering)`
      : "VPP is not connected";
    return new VppUnavailableError(`${name}: ${why}`);
  }

  #newContext(): number {
    for (;;) {
      const c = this.#nextContext;
      this.#nextContext = (this.#nextContext + 1) >>> 0 || 1;
      if (!this.#pending.has(c) && !this.#inVppContexts.has(c)) return c;
    }
  }

  /** Encodes and writes one message; never calls vac_write without a link. */
  #write(
    name: MessageName,
    values: WireRecord,
    context: number,
    seq: number,
    last: boolean,
  ): void {
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
    this.#inVpp.push({ seq, context, last });
    this.#inVppContexts.set(
      context,
      (this.#inVppContexts.get(context) ?? 0) + 1,
    );
  }

  #call(
    name: RequestName,
    values: WireRecord,
    timeoutMs: number,
  ): Promise<WireRecord> {
    const replyName = (MESSAGES[name] as { reply: MessageName }).reply;
    return new Promise<WireRecord>((resolve, reject) => {
      const expectId = this.#ids.get(replyName);
      if (expectId === undefined) {
        reject(
          new VppUnavailableError(`${replyName}: not supported by this VPP`),
        );
        return;
      }
      this.#submit({
        name,
        expectId,
        expectName: replyName,
        writes: [[name, values]],
        timeoutMs,
        resolve: resolve as (v: WireRecord | WireRecord[]) => void,
        reject,
      });
    });
  }

  #dump(
    name: DumpName,
    values: WireRecord,
    timeoutMs: number,
  ): Promise<WireRecord[]> {
    const detailsName = (MESSAGES[name] as { details: MessageName }).details;
    return new Promise<WireRecord[]>((resolve, reject) => {
      const expectId = this.#ids.get(detailsName);
      const endId = this.#ids.get("control_ping_reply");
      if (expectId === undefined || endId === undefined) {
        reject(new VppUnavailableError(`${name}: not supported by this VPP`));
        return;
      }
      this.#submit({
        name,
        expectId,
        expectName: detailsName,
        endId,
        items: [],
        writes: [[name, values], ["control_ping", {}]],
        timeoutMs,
        resolve: resolve as (v: WireRecord | WireRecord[]) => void,
        reject,
      });
    });
  }

  /** Registers a call (its deadline starts now) and sends it when the window has room. */
  #submit(
    call: Omit<Pending, "context" | "seq" | "createdAt">,
  ): void {
    const context = this.#newContext();
    const p: Pending = {
      ...call,
      context,
      seq: this.#nextSeq++,
      createdAt: performance.now(),
    };
    this.#pending.set(context, p);
    this.#armDeadline(p.createdAt + p.timeoutMs);
    this.#sendQueue.push(p);
    this.#pumpSends();
  }

  /** Writes queued calls, in order, while VPP owes us fewer than `sendWindow` answers. */
  #pumpSends(): void {
    while (this.#sendQueue.length > 0) {
      const p = this.#sendQueue[0];
      if (this.#pending.get(p.context) !== p) {
        this.#sendQueue.shift(); // settled (timed out) before it was sent
        continue;
      }
      if (
        this.#inVpp.length > 0 &&
        this.#inVpp.length + p.writes.length > this.#sendWindow
      ) return;
      this.#sendQueue.shift();
      try {
        p.writes.forEach(([name, values], i) =>
          this.#write(name, values, p.context, p.seq, i === p.writes.length - 1)
        );
      } catch (e) {
        this.#settle(p.context)?.reject(e as Error);
      }
    }
  }

  /**
   * One timer for every pending call, at the earliest deadline: a timer per
   * call cost more than the rest of a weight change's bookkeeping.
   */
  #armDeadline(at: number): void {
    if (at >= this.#deadlineAt) return;
    clearTimeout(this.#deadlineTimer);
    this.#deadlineAt = at;
    this.#deadlineTimer = setTimeout(
      () => this.#sweepDeadlines(),
      Math.max(0, at - performance.now()),
    );
  }

  #sweepDeadlines(): void {
    this.#deadlineAt = Infinity;
    let next = Infinity;
    for (const p of [...this.#pending.values()]) {
      const at = this.#deadline(p);
      if (at !== undefined) next = Math.min(next, at);
    }
    if (next < Infinity) this.#armDeadline(next);
  }

  /** Removes a pending call and returns it. */
  #settle(context: number): Pending | undefined {
    const p = this.#pending.get(context);
    if (!p) return undefined;
    this.#pending.delete(context);
    if (this.#pending.size === 0) {
      clearTimeout(this.#deadlineTimer);
      this.#deadlineAt = Infinity;
    }
    return p;
  }

  /**
   * Fails a call whose time is up, or returns when it will be. While VPP has
   * answered nothing sent after it, the call is still in VPP's (or our)
   * queue behind work VPP is doing: it only fails once VPP has been silent
   * for its whole timeout. Once VPP answered something sent after it, its
   * answer was lost: it fails at once.
   */
  #deadline(p: Pending): number | undefined {
    const context = p.context;
    const now = performance.now();
    const passed = this.#answeredSeq > p.seq;
    if (!passed) {
      const at = Math.max(p.createdAt, this.#lastRxAt) + p.timeoutMs;
      if (at > now) return at;
    }
    this.#settle(context);
    const timeoutMs = p.timeoutMs;
    const waited = Math.round(now - p.createdAt);
    this.#log.warn("vpp-api-timeout", {
      msg: p.name,
      context,
      timeoutMs,
      waitedMs: waited,
      ...(passed ? { answeredLater: true } : {}),
    });
    p.reject(
      new VppTimeoutError(
        `${p.name}: no reply from VPP within ${timeoutMs} ms (${
          passed
            ? "VPP answered requests sent after it"
            : `nothing received from VPP for ${timeoutMs} ms`
        }; waited ${waited} ms)`,
      ),
    );
    // A lost reply may mean a dead VPP: check now rather than at the next tick.
    if (p.name !== "control_ping" && this.#state === "connected") {
      this.#scheduleKeepalive(0);
    }
    return undefined;
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
        this.#lastRxAt = performance.now();
        if (this.#state === "stalled") this.#resume();
        this.#dispatchSafely(r.data);
        // Whatever else is already queued, up to a bound so timers and
        // probes get their turn.
        for (let i = 0; i < 512 && !this.#readerStop; i++) {
          const q = this.#t.readQueued?.();
          if (q === undefined || q.rv !== 0 || !q.data) break;
          this.#dispatchSafely(q.data);
        }
        continue;
      }
      if (r.rv === VAC_TIMEOUT) continue;
      if (!this.#readerStop) this.#linkBroken(`vac_read returned ${r.rv}`);
      return;
    }
  }

  #dispatchSafely(data: Uint8Array): void {
    try {
      this.#dispatch(data);
    } catch (e) {
      this.#log.warn("vpp-api-dispatch-failed", { error: String(e) });
    }
  }

  #linkBroken(reason: string): void {
    this.#readerStop = true;
    if (this.#state === "connected" || this.#state === "stalled") {
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
    this.#answered(context, !name.endsWith("_details"));
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

  /**
   * VPP answered `context`: it has consumed that message and, answering in
   * order, every one written before it. A details message consumes a dump
   * but not the control_ping written after it; a reply consumes both.
   */
  #answered(context: number, last: boolean): void {
    let upTo = -1;
    for (let i = 0; i < this.#inVpp.length; i++) {
      const m = this.#inVpp[i];
      if (m.context !== context) {
        if (upTo >= 0) break;
        continue;
      }
      if (!last && m.last) break;
      upTo = i;
      if (!last) break;
    }
    if (upTo < 0) return;
    this.#answeredSeq = Math.max(this.#answeredSeq, this.#inVpp[upTo].seq);
    for (const m of this.#inVpp.splice(0, upTo + 1)) {
      const n = (this.#inVppContexts.get(m.context) ?? 1) - 1;
      if (n > 0) this.#inVppContexts.set(m.context, n);
      else this.#inVppContexts.delete(m.context);
    }
    this.#pumpSends();
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

/**
 * Our receive queue's address from VPP's `show api clients` (rows of name,
 * pid, queue length, queue VA, health), or undefined without a row for
 * exactly this name and pid.
 */
export function queueAddressOf(
  text: string,
  name: string,
  pid: number,
): bigint | undefined {
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (
      f.length === 5 && f[0] === name && f[1] === String(pid) &&
      /^0x[0-9a-f]{1,16}$/i.test(f[3])
    ) {
      return BigInt(f[3]);
    }
  }
  return undefined;
}
