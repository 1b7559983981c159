/**
 * ICMP echo probe through libc sockets (Deno has no ICMP API).
 *
 * One socket per address family, opened on first use and shared by all
 * probes of the prober; one reader loop per socket matches replies to waiting
 * probes by sequence number, identifier and source address. A raw socket
 * (CAP_NET_RAW) is preferred; without it an unprivileged datagram ICMP socket
 * is used where `net.ipv4.ping_group_range` allows. The reader runs only
 * while probes wait, so an idle prober never keeps the process alive.
 */
import type { ProbeCode } from "../health/types.ts";
import { makeResult } from "./deadline.ts";
import {
  ECHO_LENGTH,
  encodeSockaddr,
  readEchoReply,
  SOCKADDR_SIZE,
  sockaddrHolds,
  writeEchoRequest,
} from "./icmp_packet.ts";
import { parseAddress } from "../config/address.ts";
import {
  AF_INET,
  AF_INET6,
  errno,
  ICMP_FILTER,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  libc,
  MSG_DONTWAIT,
  SO_RCVTIMEO,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_RAW,
  SOL_RAW,
  SOL_SOCKET,
  strerror,
} from "./libc.ts";
import type { ProbeResult, ProbeTarget } from "./types.ts";

/** How long one blocking receive waits before the reader re-checks its state. */
const RECV_TIMEOUT_MS = 100;
/** How long a failure to open a socket is remembered before trying again. */
const REOPEN_AFTER_MS = 5000;
const RECV_SIZE = 2048;

interface Waiter {
  readonly addr: Uint8Array;
  readonly start: number;
  readonly resolve: (r: ProbeResult) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** One ICMP socket of one family and the probes waiting on it. */
class EchoSocket {
  readonly family: 4 | 6;
  readonly raw: boolean;
  /** Identifier we send; -1 for datagram sockets (the kernel picks it). */
  readonly id: number;
  readonly waiting = new Map<number, Waiter>();
  /** Resolves once the descriptor is closed. */
  readonly closed: Promise<void>;

  #fd: number;
  #seq = Math.floor(Math.random() * 0x10000);
  #running = false;
  #closing = false;
  #markClosed!: () => void;
  readonly #send = new Uint8Array(ECHO_LENGTH);
  readonly #recv = new Uint8Array(RECV_SIZE);
  readonly #from = new Uint8Array(SOCKADDR_SIZE);
  readonly #fromLen = new Uint32Array(1);
  readonly #recvPtr = Deno.UnsafePointer.of(this.#recv);
  readonly #fromPtr = Deno.UnsafePointer.of(this.#from);
  readonly #fromLenPtr = Deno.UnsafePointer.of(this.#fromLen);

  constructor(fd: number, family: 4 | 6, raw: boolean) {
    this.#fd = fd;
    this.family = family;
    this.raw = raw;
    this.id = raw ? Math.floor(Math.random() * 0x10000) : -1;
    this.closed = new Promise((r) => (this.#markClosed = r));
  }

  /** Sends an echo request; returns its sequence number or an error text. */
  send(sockaddr: Uint8Array<ArrayBuffer>): number | string {
    let seq = this.#seq;
    // Skip sequence numbers still in use (only with 65536 probes in flight
    // would this loop run long).
    for (let i = 0; i < 0x10000 && this.waiting.has(seq); i++) {
      seq = (seq + 1) & 0xffff;
    }
    this.#seq = (seq + 1) & 0xffff;
    const len = writeEchoRequest(
      this.#send,
      this.family,
      this.id & 0xffff,
      seq,
    );
    const n = libc().sendto(
      this.#fd,
      this.#send,
      BigInt(len),
      MSG_DONTWAIT,
      sockaddr,
      sockaddr.length,
    );
    if (n < 0n) return strerror(errno()).toLowerCase();
    return seq;
  }

  /** Starts the reader unless it runs already. */
  wake(): void {
    if (!this.#running && !this.#closing) {
      this.#running = true;
      this.#read();
    }
  }

  /** Fails waiting probes and closes the socket (after a running receive). */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    for (const [seq, w] of this.waiting) {
      this.waiting.delete(seq);
      clearTimeout(w.timer);
      w.resolve(
        makeResult("L3CON", "prober closed", performance.now() - w.start),
      );
    }
    if (!this.#running) this.#closeFd();
  }

  #closeFd(): void {
    if (this.#fd >= 0) {
      libc().close(this.#fd);
      this.#fd = -1;
    }
    this.#markClosed();
  }

  async #read(): Promise<void> {
    const lib = libc();
    const ipHeader = this.raw && this.family === 4;
    try {
      while (!this.#closing && this.waiting.size > 0) {
        this.#fromLen[0] = SOCKADDR_SIZE;
        const n = Number(
          await lib.recvfrom(
            this.#fd,
            this.#recvPtr,
            BigInt(RECV_SIZE),
            0,
            this.#fromPtr,
            this.#fromLenPtr,
          ),
        );
        // n < 0: SO_RCVTIMEO expired (or EINTR); loop to re-check state.
        if (n <= 0) continue;
        const seq = readEchoReply(
          this.#recv,
          n,
          this.family,
          ipHeader,
          this.id,
        );
        if (seq < 0) continue;
        const w = this.waiting.get(seq);
        if (w === undefined || !sockaddrHolds(this.#from, w.addr)) continue;
        this.waiting.delete(seq);
        clearTimeout(w.timer);
        const ms = performance.now() - w.start;
        w.resolve(makeResult("L3OK", `echo reply in ${ms.toFixed(1)}ms`, ms));
      }
    } finally {
      this.#running = false;
      if (this.#closing) this.#closeFd();
    }
  }
}

/** Opens a raw or else a datagram ICMP socket; returns it or an error text. */
function openEchoSocket(family: 4 | 6): EchoSocket | string {
  const lib = libc();
  const af = family === 4 ? AF_INET : AF_INET6;
  const proto = family === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
  let raw = true;
  let fd = lib.socket(af, SOCK_RAW | SOCK_CLOEXEC, proto);
  let rawError = "";
  if (fd < 0) {
    rawError = strerror(errno());
    raw = false;
    fd = lib.socket(af, SOCK_DGRAM | SOCK_CLOEXEC, proto);
    if (fd < 0) {
      const dgramError = strerror(errno());
      return `icmp needs CAP_NET_RAW (raw socket: ${rawError}; ` +
        `ping socket: ${dgramError}, see net.ipv4.ping_group_range)`;
    }
  }
  const tv = new BigInt64Array([0n, BigInt(RECV_TIMEOUT_MS * 1000)]);
  const tvBytes = new Uint8Array(tv.buffer);
  if (lib.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tvBytes, 16) < 0) {
    const why = strerror(errno());
    lib.close(fd);
    return `icmp socket: setting receive timeout: ${why}`;
  }
  if (raw) {
    // Let the kernel drop everything but echo replies (our own requests on
    // loopback, neighbour discovery, ...). Best effort: we match anyway.
    if (family === 4) {
      const mask = new Uint32Array([~(1 << 0) >>> 0]);
      lib.setsockopt(fd, SOL_RAW, ICMP_FILTER, new Uint8Array(mask.buffer), 4);
    } else {
      const filter = new Uint32Array(8).fill(0xffffffff);
      filter[129 >> 5] &= ~(1 << (129 & 31)) >>> 0;
      lib.setsockopt(
        fd,
        IPPROTO_ICMPV6,
        ICMP_FILTER,
        new Uint8Array(filter.buffer),
        32,
      );
    }
  }
  return new EchoSocket(fd, family, raw);
}

/** Runs ICMP echo probes over shared per-family sockets. */
export class IcmpProber {
  readonly #sockets: (EchoSocket | undefined)[] = [undefined, undefined];
  readonly #openErrors: ({ text: string; at: number } | undefined)[] = [
    undefined,
    undefined,
  ];
  readonly #sockaddrs = new Map<
    string,
    { addr: Uint8Array; sa: Uint8Array<ArrayBuffer> }
  >();
  #closed = false;

  /** One echo request to `target`; L3OK, L3TOUT or L3CON. Never rejects. */
  probe(target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
    const start = performance.now();
    const fail = (code: ProbeCode, text: string) =>
      Promise.resolve(makeResult(code, text, performance.now() - start));
    if (this.#closed) return fail("L3CON", "prober closed");
    let dest = this.#sockaddrs.get(target.address);
    if (dest === undefined) {
      const addr = addressBytes(target.address, target.family);
      if (addr === undefined) {
        return fail(
          "L3CON",
          `not an IPv${target.family} address: ${target.address}`,
        );
      }
      if (this.#sockaddrs.size > 65536) this.#sockaddrs.clear();
      dest = { addr, sa: encodeSockaddr(addr) };
      this.#sockaddrs.set(target.address, dest);
    }
    let sock: EchoSocket | string;
    try {
      sock = this.#socket(target.family);
    } catch (e) {
      return fail("L3CON", e instanceof Error ? e.message : String(e));
    }
    if (typeof sock === "string") return fail("L3CON", sock);
    const seq = sock.send(dest.sa);
    if (typeof seq === "string") return fail("L3CON", seq);
    const s = sock;
    const addr = dest.addr;
    return new Promise<ProbeResult>((resolve) => {
      const w: Waiter = { addr, start, resolve, timer: undefined };
      w.timer = setTimeout(() => {
        if (s.waiting.get(seq) !== w) return;
        s.waiting.delete(seq);
        resolve(
          makeResult(
            "L3TOUT",
            `timeout after ${timeoutMs}ms waiting for echo reply`,
            performance.now() - start,
          ),
        );
      }, Math.max(0, timeoutMs));
      s.waiting.set(seq, w);
      s.wake();
    });
  }

  /** Closes the sockets; waiting probes fail with L3CON. */
  close(): void {
    this.#closed = true;
    for (const s of this.#sockets) s?.close();
  }

  /** Resolves once every socket is closed (the reader stops within 100 ms). */
  get closed(): Promise<void> {
    return Promise.all(this.#sockets.map((s) => s?.closed)).then(() => {});
  }

  #socket(family: 4 | 6): EchoSocket | string {
    const i = family === 4 ? 0 : 1;
    const open = this.#sockets[i];
    if (open) return open;
    const err = this.#openErrors[i];
    if (err && performance.now() - err.at < REOPEN_AFTER_MS) return err.text;
    const s = openEchoSocket(family);
    if (typeof s === "string") {
      this.#openErrors[i] = { text: s, at: performance.now() };
      return s;
    }
    this.#openErrors[i] = undefined;
    this.#sockets[i] = s;
    return s;
  }
}

/** Bytes of an address of the given family, or undefined if it is not one. */
function addressBytes(address: string, family: 4 | 6): Uint8Array | undefined {
  try {
    const a = parseAddress(address);
    return a.family === family ? a.bytes : undefined;
  } catch {
    return undefined;
  }
}
