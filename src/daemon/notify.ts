/**
 * systemd's notify protocol (sd_notify(3)) for `maglev daemon`: READY=1 once
 * the listeners are up, RELOADING=1/READY=1 around a SIGHUP reload (the
 * `Type=notify-reload` handshake), STOPPING=1, a human STATUS= line, and
 * watchdog pings that stop when the probe scheduler stops making progress.
 *
 * Deno has no stable API for unix datagram sockets (`Deno.listenDatagram`
 * with `unixgram` needs `--unstable-net`), so the datagrams go out through
 * libc via FFI, like the ICMP probes. Without NOTIFY_SOCKET every call is a
 * no-op, so the daemon behaves the same outside systemd. A failure to notify
 * is logged once and never stops the daemon: health checking matters more
 * than telling systemd about it.
 */
import type { Logger } from "../cli/log.ts";
import {
  errno,
  libc,
  MSG_DONTWAIT,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  strerror,
} from "../probe/libc.ts";
import type { HealthCheckConfig } from "../config/types.ts";
import type { BackendHealth } from "../health/backend.ts";

const AF_UNIX = 1;
const MSG_NOSIGNAL = 0x4000;
/** `sizeof(struct sockaddr_un)`: a 2-byte family, then 108 bytes of path. */
const SOCKADDR_UN_SIZE = 110;
const SUN_PATH_OFFSET = 2;
const SUN_PATH_MAX = SOCKADDR_UN_SIZE - SUN_PATH_OFFSET;
const CLOCK_MONOTONIC = 1;

/**
 * `struct sockaddr_un` for a NOTIFY_SOCKET value, cut to the length to pass
 * to sendto(2); or a text saying why the value cannot be used.
 *
 * "/path" is a filesystem socket (NUL-terminated); "@name" is a Linux
 * abstract socket: a leading NUL byte and then exactly the name's bytes,
 * since abstract names are not NUL-terminated and the length is part of the
 * name. systemd's other forms (vsock:…) are not supported.
 */
export function notifySocketAddress(
  value: string,
): Uint8Array<ArrayBuffer> | string {
  let path: Uint8Array;
  let length: number;
  if (value.startsWith("/")) {
    path = new TextEncoder().encode(value);
    length = path.length + 1;
  } else if (value.startsWith("@") && value.length > 1) {
    const name = new TextEncoder().encode(value.slice(1));
    path = new Uint8Array(name.length + 1);
    path.set(name, 1);
    length = path.length;
  } else {
    return `unsupported NOTIFY_SOCKET "${value}" (want /path or @abstract)`;
  }
  if (length > SUN_PATH_MAX) {
    return `NOTIFY_SOCKET "${value}" is longer than ${SUN_PATH_MAX - 1} bytes`;
  }
  if (value.startsWith("/") && path.includes(0)) {
    return `NOTIFY_SOCKET "${value}" contains a NUL byte`;
  }
  const out = new Uint8Array(SUN_PATH_OFFSET + length);
  // sa_family_t is host-endian; every Linux target Deno runs on is little-endian.
  new DataView(out.buffer).setUint16(0, AF_UNIX, true);
  out.set(path, SUN_PATH_OFFSET);
  return out;
}

/** A value of one notify field: numbers as decimal, strings as given. */
export type NotifyValue = string | number | bigint;

/**
 * One notify datagram: `KEY=value` lines in the given order, each ending in
 * a newline. A newline inside a value would start a bogus field, so it
 * becomes a space.
 */
export function formatNotify(
  fields: Readonly<Record<string, NotifyValue>>,
): string {
  let out = "";
  for (const [k, v] of Object.entries(fields)) {
    out += `${k}=${String(v).replace(/[\r\n]+/g, " ")}\n`;
  }
  return out;
}

/** Where notify datagrams go; the daemon's is a libc AF_UNIX socket. */
export interface NotifyTransport {
  /** Sends one datagram; returns an error text instead of throwing. */
  send(datagram: Uint8Array<ArrayBuffer>): string | undefined;
  /** Releases the socket; later sends fail. */
  close(): void;
}

/**
 * A datagram socket (SOCK_CLOEXEC, so nothing we might exec inherits it)
 * opened on first use and kept, sending to `address` with sendto(2).
 * Sends do not block (MSG_DONTWAIT): if the service manager's queue is full
 * the datagram is dropped and reported rather than stalling the event loop
 * that runs the probes.
 */
export function unixDatagramTransport(
  address: Uint8Array<ArrayBuffer>,
): NotifyTransport {
  let fd = -1;
  let closed = false;
  return {
    send(datagram) {
      if (closed) return "notify socket closed";
      try {
        const c = libc();
        if (fd < 0) {
          fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
          if (fd < 0) return `socket: ${strerror(errno())}`;
        }
        const n = c.sendto(
          fd,
          datagram,
          BigInt(datagram.length),
          MSG_DONTWAIT | MSG_NOSIGNAL,
          address,
          address.length,
        );
        if (n < 0n) return `sendto: ${strerror(errno())}`;
        return undefined;
      } catch (e) {
        return e instanceof Error ? e.message : String(e);
      }
    },
    close() {
      closed = true;
      if (fd >= 0) {
        try {
          libc().close(fd);
        } catch {
          // libc was loaded when fd was opened; nothing left to release
        }
        fd = -1;
      }
    },
  };
}

/**
 * CLOCK_MONOTONIC in microseconds, as MONOTONIC_USEC= wants it. systemd
 * compares it with the time it sent the reload signal, so it must be the
 * kernel's clock: `performance.now()` counts from process start instead.
 * Throws when libc cannot be reached through FFI.
 */
export function monotonicUsec(): bigint {
  // struct timespec on 64-bit Linux: tv_sec and tv_nsec, two int64.
  const ts = new BigInt64Array(2);
  if (libc().clock_gettime(CLOCK_MONOTONIC, ts) !== 0) {
    throw new Error(`clock_gettime: ${strerror(errno())}`);
  }
  return ts[0] * 1_000_000n + ts[1] / 1_000n;
}

/**
 * The watchdog timeout in ms from WATCHDOG_USEC, if this process is the one
 * being watched (WATCHDOG_PID unset or ours); or a text saying why the value
 * is unusable.
 */
export function watchdogTimeoutMs(
  env: Readonly<Record<string, string | undefined>>,
  pid: number,
): number | undefined | string {
  const usec = env.WATCHDOG_USEC;
  if (usec === undefined || usec === "") return undefined;
  const wpid = env.WATCHDOG_PID;
  if (wpid !== undefined && wpid !== "" && wpid !== String(pid)) {
    return undefined;
  }
  if (!/^[0-9]+$/.test(usec) || Number(usec) === 0) {
    return `WATCHDOG_USEC "${usec}" is not a positive number of microseconds`;
  }
  return Number(usec) / 1000;
}

/** What the watchdog reads from the probe scheduler at each tick. */
export interface SchedulerProgress {
  /** Backends with a running probe loop (not paused, not disabled). */
  readonly probing: number;
  /** Monotonic ms of the scheduler's last finished probe (or its start). */
  readonly lastProgressMs: number;
  /**
   * Longest `max(interval, fast-interval, down-interval) + timeout` over the
   * configured backends' health checks, ms: the longest a healthy scheduler
   * may go between two finished probes of one backend, before jitter.
   */
  readonly longestCycleMs: number;
}

/**
 * How long the scheduler may go without finishing a probe before the
 * watchdog stops pinging: twice the longest probe cycle, and never less than
 * the watchdog timeout itself.
 *
 * Why: one backend on its slowest cadence finishes a probe at most every
 * 1.1 × interval (jitter) + timeout, so twice the cycle absorbs the jitter,
 * one late timer and a probe that overruns its deadline a little, and still
 * catches a scheduler that lost its timers within two cycles. The floor of
 * one watchdog timeout keeps fast checks (100 ms) from making the watchdog
 * stricter than systemd's own limit, where a GC pause or a busy second
 * would otherwise cost a restart. A skipped ping is effectively a restart
 * decision (pings go every timeout/2, so systemd's timer runs out at about
 * the time of the next one), which is why the bound is generous; a wedged
 * scheduler is then restarted within about threshold + WatchdogSec.
 */
export function progressThresholdMs(
  watchdogMs: number,
  longestCycleMs: number,
): number {
  return Math.max(watchdogMs, 2 * longestCycleMs);
}

/**
 * The watchdog's decision at one tick: ping when there is nothing to probe
 * (an idle daemon is alive when its event loop runs, which this tick
 * proves) or when the scheduler progressed within `thresholdMs`; skip when
 * it has backends to probe and has been silent for longer.
 */
export function watchdogShouldPing(
  probing: number,
  lastProgressMs: number,
  nowMs: number,
  thresholdMs: number,
): boolean {
  if (probing === 0) return true;
  return nowMs - lastProgressMs <= thresholdMs;
}

/**
 * Watchdog ticks: every `intervalMs` it reads the scheduler and, if it is
 * alive, calls `ping`. Clocks are injectable so a stalled scheduler can be
 * tested without waiting.
 */
export class Watchdog {
  readonly timeoutMs: number;
  readonly intervalMs: number;
  #source: () => SchedulerProgress;
  #ping: () => void;
  #log: Logger;
  #now: () => number;
  #timer: ReturnType<typeof setInterval> | undefined;
  /**
   * Progress the scheduler cannot report itself: the watchdog's start, a
   * reload, and ticks with nothing to probe. Without it a backend added by
   * a reload or resumed after everything was paused would look stalled
   * because the last finished probe is old.
   */
  #baselineMs: number;
  #stalled = false;

  constructor(opts: {
    timeoutMs: number;
    source: () => SchedulerProgress;
    ping: () => void;
    log: Logger;
    /** Monotonic ms, the same clock as the checker's `lastProgress`. */
    now?: () => number;
  }) {
    this.timeoutMs = opts.timeoutMs;
    // sd_watchdog_enabled(3) advises pinging at half the timeout. Timers
    // longer than 2^31-1 ms would fire at once, so a WatchdogSec of months
    // is capped rather than turned into a busy loop.
    this.intervalMs = Math.min(2 ** 31 - 1, Math.max(1, opts.timeoutMs / 2));
    this.#source = opts.source;
    this.#ping = opts.ping;
    this.#log = opts.log;
    this.#now = opts.now ?? (() => performance.now());
    this.#baselineMs = this.#now();
  }

  /** Pings now and then every `intervalMs` until `stop`. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#baselineMs = this.#now();
    this.tick();
    this.#timer = setInterval(() => this.tick(), this.intervalMs);
    // Clearing it in stop() is what matters; unref is a second guard so a
    // forgotten stop can never hold the process open.
    Deno.unrefTimer(this.#timer);
  }

  /** Stops pinging. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Whether the timer runs. */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Counts now as progress: the config (and so the cadence) just changed. */
  reset(): void {
    this.#baselineMs = this.#now();
  }

  /** One decision; pings if the scheduler is alive. Returns whether it pinged. */
  tick(): boolean {
    const now = this.#now();
    const p = this.#source();
    if (p.probing === 0) this.#baselineMs = now;
    const last = Math.max(p.lastProgressMs, this.#baselineMs);
    const threshold = progressThresholdMs(this.timeoutMs, p.longestCycleMs);
    if (!watchdogShouldPing(p.probing, last, now, threshold)) {
      if (!this.#stalled) {
        this.#stalled = true;
        this.#log.error("watchdog-stalled", {
          sinceMs: Math.round(now - last),
          thresholdMs: Math.round(threshold),
          probing: p.probing,
          hint: "the probe scheduler stopped finishing probes; " +
            "not pinging the systemd watchdog, so systemd restarts maglev",
        });
      }
      return false;
    }
    if (this.#stalled) {
      this.#stalled = false;
      this.#log.warn("watchdog-recovered", {});
    }
    this.#ping();
    return true;
  }
}

/** What the watchdog and STATUS= need of a backend; BackendStatus fits. */
export interface BackendView {
  readonly health: Pick<BackendHealth, "probing" | "state">;
  readonly check: Pick<
    HealthCheckConfig,
    "intervalMs" | "fastIntervalMs" | "downIntervalMs" | "timeoutMs"
  >;
}

/** The scheduler's progress as the watchdog reads it, from the checker's view. */
export function schedulerProgress(
  backends: readonly BackendView[],
  lastProgressMs: number,
): SchedulerProgress {
  let probing = 0;
  let longestCycleMs = 0;
  for (const b of backends) {
    if (b.health.probing) probing++;
    const c = b.check;
    longestCycleMs = Math.max(
      longestCycleMs,
      Math.max(c.intervalMs, c.fastIntervalMs, c.downIntervalMs) + c.timeoutMs,
    );
  }
  return { probing, lastProgressMs, longestCycleMs };
}

/** STATUS= text: "probing 12 backends, 10 up" (+ how many are not probed). */
export function statusSummary(
  backends: readonly Pick<BackendView, "health">[],
  stretch = 1,
): string {
  if (backends.length === 0) return "no backends configured";
  // Said first: `systemctl status` cuts long lines.
  const overloaded = stretch > 1
    ? `overloaded: probe intervals ×${stretch}; `
    : "";
  let probing = 0;
  let up = 0;
  for (const b of backends) {
    if (b.health.probing) probing++;
    if (b.health.state === "up") up++;
  }
  const idle = backends.length - probing;
  return overloaded +
    `probing ${probing} backend${probing === 1 ? "" : "s"}, ${up} up` +
    (idle > 0 ? `, ${idle} paused or disabled` : "");
}

/** How to build a Notifier; everything but env and log is for tests. */
export interface NotifierOptions {
  /** Where NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID are read. */
  env: Readonly<Record<string, string | undefined>>;
  log: Logger;
  /** Our pid, for MAINPID= and WATCHDOG_PID; default Deno.pid. */
  pid?: number;
  /** Replaces the libc socket. */
  transport?: NotifyTransport;
  /** Replaces CLOCK_MONOTONIC for MONOTONIC_USEC=. */
  monotonicUsec?: () => bigint;
  /** Monotonic ms for the watchdog; default performance.now. */
  now?: () => number;
}

/**
 * The daemon's side of sd_notify. Every method is safe to call without
 * NOTIFY_SOCKET (it does nothing) and never throws.
 */
export class Notifier {
  #log: Logger;
  #pid: number;
  #socket: string | undefined;
  #transport: NotifyTransport | undefined;
  #monotonicUsec: () => bigint;
  #now: (() => number) | undefined;
  #watchdogMs: number | undefined;
  #watchdog: Watchdog | undefined;
  #ready = false;
  #stopping = false;
  #warned = false;
  #statusTimer: ReturnType<typeof setTimeout> | undefined;
  #lastStatus: string | undefined;

  constructor(opts: NotifierOptions) {
    this.#log = opts.log;
    this.#pid = opts.pid ?? Deno.pid;
    this.#monotonicUsec = opts.monotonicUsec ?? monotonicUsec;
    this.#now = opts.now;
    const socket = opts.env.NOTIFY_SOCKET;
    if (socket === undefined || socket === "") return;
    this.#socket = socket;
    if (opts.transport) {
      this.#transport = opts.transport;
    } else {
      const addr = notifySocketAddress(socket);
      if (typeof addr === "string") {
        this.#warn(addr);
        return;
      }
      this.#transport = unixDatagramTransport(addr);
    }
    const wd = watchdogTimeoutMs(opts.env, this.#pid);
    if (typeof wd === "string") this.#warn(wd);
    else this.#watchdogMs = wd;
  }

  /** True when NOTIFY_SOCKET names a usable socket. */
  get enabled(): boolean {
    return this.#transport !== undefined;
  }

  /** The watchdog timeout asked for by systemd, ms; undefined when off. */
  get watchdogTimeoutMs(): number | undefined {
    return this.#watchdogMs;
  }

  /** Whether watchdog pings are being sent. */
  get watchdogRunning(): boolean {
    return this.#watchdog?.running ?? false;
  }

  /** Sends one datagram of `fields`; false if it could not be sent. */
  send(fields: Readonly<Record<string, NotifyValue>>): boolean {
    if (!this.#transport) return false;
    const err = this.#transport.send(
      new TextEncoder().encode(formatNotify(fields)),
    );
    if (err !== undefined) {
      this.#warn(err);
      return false;
    }
    return true;
  }

  /**
   * Startup is complete: config loaded, listeners bound. Starts the
   * watchdog, reading the scheduler through `progress`, when systemd asked
   * for one.
   */
  ready(status: string, progress?: () => SchedulerProgress): void {
    if (this.#ready || this.#stopping) return;
    this.#ready = true;
    this.#lastStatus = status;
    this.send({ READY: 1, STATUS: status, MAINPID: this.#pid });
    if (this.#transport && this.#watchdogMs !== undefined && progress) {
      this.#watchdog = new Watchdog({
        timeoutMs: this.#watchdogMs,
        source: progress,
        ping: () => this.send({ WATCHDOG: 1 }),
        log: this.#log,
        now: this.#now,
      });
      this.#watchdog.start();
    }
  }

  /**
   * A reload begins. Only after READY=1: a SIGHUP during startup must not
   * make systemd think startup finished.
   */
  reloading(): void {
    if (!this.#ready || this.#stopping || !this.#transport) return;
    let usec: bigint;
    try {
      usec = this.#monotonicUsec();
    } catch (e) {
      this.#warn(e instanceof Error ? e.message : String(e));
      return;
    }
    this.send({
      RELOADING: 1,
      MONOTONIC_USEC: usec,
      STATUS: "reloading config",
    });
  }

  /** The reload finished (applied or refused): ready again. */
  reloaded(status: string): void {
    if (!this.#ready || this.#stopping) return;
    this.#watchdog?.reset();
    this.#lastStatus = status;
    this.send({ READY: 1, STATUS: status });
  }

  /**
   * Updates STATUS= to `summary()` within a second, coalescing bursts (a
   * reload can flip hundreds of backends at once) into one datagram.
   */
  statusSoon(summary: () => string): void {
    if (
      !this.#transport || !this.#ready || this.#stopping ||
      this.#statusTimer !== undefined
    ) return;
    this.#statusTimer = setTimeout(() => {
      this.#statusTimer = undefined;
      if (this.#stopping) return;
      const s = summary();
      if (s === this.#lastStatus) return;
      this.#lastStatus = s;
      this.send({ STATUS: s });
    }, 1000);
    Deno.unrefTimer(this.#statusTimer);
  }

  /** Shutdown begins: stops the watchdog and status timers, sends STOPPING=1. */
  stopping(status = "stopping"): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#stopTimers();
    this.send({ STOPPING: 1, STATUS: status });
  }

  /** Stops timers and closes the socket; nothing is sent afterwards. */
  close(): void {
    this.#stopping = true;
    this.#stopTimers();
    this.#transport?.close();
    this.#transport = undefined;
  }

  #stopTimers(): void {
    this.#watchdog?.stop();
    if (this.#statusTimer !== undefined) clearTimeout(this.#statusTimer);
    this.#statusTimer = undefined;
  }

  #warn(error: string): void {
    if (this.#warned) return;
    this.#warned = true;
    this.#log.warn("systemd-notify-failed", {
      socket: this.#socket ?? "",
      error,
      hint: "systemd may not see readiness or watchdog pings; " +
        "further notify errors are not logged",
    });
  }
}
