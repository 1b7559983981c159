/**
 * Keep-alive for client tools (maglev tester `--keepalive`): an http(s)
 * probe that ends with a connection able to carry another request parks it
 * in a slot, and the next probe of that target starts from it instead of
 * connecting. Health checks never use this: they want a fresh connection per
 * probe.
 */
import type { TLSSocket } from "node:tls";
import { closeQuietly } from "./deadline.ts";

/** An open connection of an http (plain) or https (TLS) probe. */
export type Channel =
  | { readonly tls: false; readonly conn: Deno.TcpConn }
  | { readonly tls: true; readonly socket: TLSSocket };

/** Closes a channel, ignoring "already closed". */
export function closeChannel(ch: Channel): void {
  if (ch.tls) ch.socket.destroy();
  else closeQuietly(ch.conn);
}

/**
 * Holds at most one idle connection between the probes of one target. One
 * slot per target, used by one probe at a time (the tester never overlaps
 * probes of a target).
 */
export class KeepAliveSlot {
  #idle: Channel | undefined;
  #closed = false;

  /**
   * Takes the idle connection out, if there is one. A TLS socket the server
   * already closed is dropped here: it would never answer.
   */
  take(): Channel | undefined {
    const ch = this.#idle;
    this.#idle = undefined;
    if (
      ch?.tls &&
      (ch.socket.destroyed || ch.socket.readableEnded || !ch.socket.writable)
    ) {
      closeChannel(ch);
      return undefined;
    }
    return ch;
  }

  /** Parks a connection for the next probe; after `close`, closes it instead. */
  put(ch: Channel): void {
    if (this.#idle !== undefined) closeChannel(this.#idle);
    if (this.#closed) {
      this.#idle = undefined;
      closeChannel(ch);
      return;
    }
    this.#idle = ch;
  }

  /** Whether a connection is parked (tests, status). */
  get holding(): boolean {
    return this.#idle !== undefined;
  }

  /** Closes the parked connection; later `put`s close theirs at once. */
  close(): void {
    this.#closed = true;
    const ch = this.take();
    if (ch) closeChannel(ch);
  }
}
