/**
 * The `/metrics` listener: HTTP/1.1, GET or HEAD of one path, on a socket
 * of its own. `Deno.serve` (and Deno's `node:http`, whose `headersTimeout`
 * is not enforced) kept a connection that never finished its request open
 * for ever, so 2,000 of them held 2,000 files; this one gives a request head
 * `headDeadlineMs`, a size cap, and serves `maxConnections` at once.
 */
import type { HostPort } from "../cli/addr.ts";

/** How the listener behaves. */
export interface MetricsListenerOptions {
  readonly addr: HostPort;
  /** The body, produced as it is sent. */
  readonly render: () => ReadableStream<Uint8Array>;
  readonly contentType: string;
  /** A request head must be complete within this (default 10 s). */
  readonly headDeadlineMs?: number;
  /** A whole exchange must be over within this (default 60 s). */
  readonly exchangeDeadlineMs?: number;
  /** Connections served at once; more are closed at once (default 64). */
  readonly maxConnections?: number;
  /** Told about each connection refused or cut ("busy", "slow", "oversized"). */
  readonly onRefused?: (reason: "busy" | "slow" | "oversized") => void;
}

const MAX_HEAD_BYTES = 16 * 1024;
const enc = new TextEncoder();

/** A running metrics listener. */
export class MetricsListener {
  readonly #listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #opts: MetricsListenerOptions;
  readonly #conns = new Set<Deno.TcpConn>();
  #closed = false;
  readonly #loop: Promise<void>;

  private constructor(
    listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>,
    opts: MetricsListenerOptions,
  ) {
    this.#listener = listener;
    this.#opts = opts;
    this.#loop = this.#accept();
  }

  /** Binds `opts.addr` (":port" is IPv6 and IPv4, or IPv4 alone); throws as Deno.listen does. */
  static listen(opts: MetricsListenerOptions): MetricsListener {
    const port = opts.addr.port;
    let l: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
    if (opts.addr.hostname !== undefined) {
      l = Deno.listen({ hostname: opts.addr.hostname, port });
    } else {
      try {
        l = Deno.listen({ hostname: "::", port });
      } catch (e) {
        if (e instanceof Deno.errors.AddrInUse) throw e;
        l = Deno.listen({ hostname: "0.0.0.0", port });
      }
    }
    return new MetricsListener(l, opts);
  }

  /** The bound address. */
  get addr(): Deno.NetAddr {
    return this.#listener.addr;
  }

  /** Stops accepting and closes every connection. */
  async close(): Promise<void> {
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // closed
    }
    for (const c of this.#conns) closeQuietly(c);
    await this.#loop;
  }

  async #accept(): Promise<void> {
    const max = this.#opts.maxConnections ?? 64;
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // closed
      }
      if (this.#closed) {
        closeQuietly(conn);
        return;
      }
      if (this.#conns.size >= max) {
        this.#opts.onRefused?.("busy");
        closeQuietly(conn);
        continue;
      }
      this.#conns.add(conn);
      void this.#serve(conn).finally(() => {
        this.#conns.delete(conn);
        closeQuietly(conn);
      });
    }
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    const o = this.#opts;
    let gotHead = false;
    // A request head that does not come in time ends the connection; so
    // does an exchange that does not end (a client that stops reading).
    const headTimer = setTimeout(() => {
      if (!gotHead) {
        o.onRefused?.("slow");
        closeQuietly(conn);
      }
    }, o.headDeadlineMs ?? 10_000);
    const exchangeTimer = setTimeout(
      () => closeQuietly(conn),
      o.exchangeDeadlineMs ?? 60_000,
    );
    try {
      const head = await readHead(conn);
      if (head === undefined) return;
      gotHead = true;
      if (head === "oversized") {
        o.onRefused?.("oversized");
        await respond(conn, 431, "request head too large\n");
        return;
      }
      const [method, target] = head.split("\r\n", 1)[0].split(" ");
      const path = (target ?? "").split("?", 1)[0];
      if (path !== "/metrics") {
        await respond(conn, 404, "not found: try /metrics\n");
        return;
      }
      if (method !== "GET" && method !== "HEAD") {
        await respond(conn, 405, "method not allowed\n", {
          allow: "GET, HEAD",
        });
        return;
      }
      await writeAll(
        conn,
        enc.encode(
          `HTTP/1.1 200 OK\r\ncontent-type: ${o.contentType}\r\nconnection: close\r\n\r\n`,
        ),
      );
      if (method === "HEAD") return;
      // No length: the body ends when the connection does.
      for await (const chunk of o.render()) await writeAll(conn, chunk);
    } catch {
      // The client went away, or a deadline closed the connection.
    } finally {
      clearTimeout(headTimer);
      clearTimeout(exchangeTimer);
    }
  }
}

/** The request head (up to the blank line), "oversized", or undefined at EOF. */
async function readHead(
  conn: Deno.TcpConn,
): Promise<string | "oversized" | undefined> {
  const buf = new Uint8Array(MAX_HEAD_BYTES + 1);
  let n = 0;
  for (;;) {
    const r = await conn.read(buf.subarray(n));
    if (r === null) return undefined;
    n += r;
    const text = new TextDecoder("latin1").decode(buf.subarray(0, n));
    if (text.includes("\r\n\r\n")) return text;
    if (n > MAX_HEAD_BYTES) return "oversized";
  }
}

async function respond(
  conn: Deno.TcpConn,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): Promise<void> {
  const reason: Record<number, string> = {
    404: "Not Found",
    405: "Method Not Allowed",
    431: "Request Header Fields Too Large",
  };
  const b = enc.encode(body);
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  await writeAll(
    conn,
    enc.encode(
      `HTTP/1.1 ${status} ${
        reason[status] ?? ""
      }\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${b.length}\r\n${extra}connection: close\r\n\r\n`,
    ),
  );
  await writeAll(conn, b);
}

async function writeAll(conn: Deno.TcpConn, b: Uint8Array): Promise<void> {
  let off = 0;
  while (off < b.length) off += await conn.write(b.subarray(off));
}

function closeQuietly(c: { close(): void }): void {
  try {
    c.close();
  } catch {
    // already closed
  }
}
