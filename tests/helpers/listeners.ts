/**
 * Loopback listeners for system tests: real sockets on 127.0.0.1 / ::1,
 * port 0, with scripted behaviours (answer, stay silent, trickle, reset,
 * send a huge body). Each server records what it received and closes every
 * connection and pending operation on `close()`, so Deno's test sanitizers
 * stay happy.
 */
import * as net from "node:net";
import * as tls from "node:tls";

/** The loopback addresses system tests may talk to. */
export const LOOPBACKS = ["127.0.0.1", "::1"] as const;
/** One of LOOPBACKS. */
export type Loopback = typeof LOOPBACKS[number];

/** Address family of a loopback address. */
export function familyOf(host: string): 4 | 6 {
  return host.includes(":") ? 6 : 4;
}

/** What a connection handler gets besides the connection. */
export interface HandlerContext {
  /** Aborted when the server closes; use it for waits. */
  readonly signal: AbortSignal;
  /** Reads the request head (up to the blank line), recording it. */
  readRequest(): Promise<string>;
}

/** Serves one accepted connection; it is closed afterwards. */
export type Handler = (conn: Deno.Conn, ctx: HandlerContext) => Promise<void>;

/** A running test server. */
export interface TestServer extends AsyncDisposable {
  readonly hostname: string;
  readonly port: number;
  /** Request heads received, in order. */
  readonly requests: string[];
  /** Connections accepted so far. */
  readonly accepted: () => number;
  /** Stops accepting, closes connections, waits for handlers to end. */
  close(): Promise<void>;
}

/** Options of `serve`. */
export interface ServeOptions {
  readonly hostname: string;
  /** Serve TLS with this certificate (handshake on first read/write). */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly handler: Handler;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Starts a server on `hostname`, port 0. */
export function serve(opts: ServeOptions): TestServer {
  const listener: Deno.Listener = opts.tls
    ? Deno.listenTls({
      hostname: opts.hostname,
      port: 0,
      cert: opts.tls.cert,
      key: opts.tls.key,
    })
    : Deno.listen({ hostname: opts.hostname, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const abort = new AbortController();
  const conns = new Set<Deno.Conn>();
  const handlers = new Set<Promise<void>>();
  const requests: string[] = [];
  let accepted = 0;

  const handle = async (conn: Deno.Conn) => {
    const ctx: HandlerContext = {
      signal: abort.signal,
      readRequest: async () => {
        const head = await readHead(conn);
        requests.push(head);
        return head;
      },
    };
    try {
      await opts.handler(conn, ctx);
    } catch {
      // Client went away, or the server is closing.
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  };

  const loop = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return; // listener closed
      }
      accepted++;
      conns.add(conn);
      const h = handle(conn);
      handlers.add(h);
      h.finally(() => handlers.delete(h));
    }
  })();

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      abort.abort();
      listener.close();
      await loop;
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
      await Promise.all([...handlers]);
    })();
    return closing;
  };
  return {
    hostname: opts.hostname,
    port,
    requests,
    accepted: () => accepted,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Reads up to and including the blank line ending an HTTP request head. */
export async function readHead(conn: Deno.Conn, max = 65536): Promise<string> {
  const buf = new Uint8Array(max);
  let len = 0;
  while (len < max) {
    const n = await conn.read(buf.subarray(len));
    if (n === null) break;
    len += n;
    const text = decoder.decode(buf.subarray(0, len));
    const end = text.indexOf("\r\n\r\n");
    if (end !== -1) return text.slice(0, end + 4);
  }
  return decoder.decode(buf.subarray(0, len));
}

/** Writes every byte. */
export async function writeAll(
  conn: Deno.Conn,
  data: Uint8Array | string,
): Promise<void> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}

/** Resolves when `signal` aborts. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/** A complete HTTP/1.1 response with Content-Length. */
export function httpResponse(
  status: number,
  body = "",
  headers: Record<string, string> = {},
): string {
  const lines = [`HTTP/1.1 ${status} ${status < 400 ? "OK" : "Error"}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  lines.push(`Content-Length: ${encoder.encode(body).length}`);
  lines.push("Connection: close");
  return lines.join("\r\n") + "\r\n\r\n" + body;
}

// ---- Handlers -------------------------------------------------------------

/** Reads the request, sends `response` (or what it computes), closes. */
export function reply(
  response: string | ((request: string) => string),
): Handler {
  return async (conn, ctx) => {
    const req = await ctx.readRequest();
    await writeAll(
      conn,
      typeof response === "string" ? response : response(req),
    );
  };
}

/** Accepts and reads but never answers; ends when either side closes. */
export function silent(): Handler {
  return async (conn) => {
    const buf = new Uint8Array(1024);
    while ((await conn.read(buf)) !== null) { /* discard */ }
  };
}

/** Reads the request, then sends `response` one byte every `intervalMs`. */
export function trickle(response: string, intervalMs: number): Handler {
  return async (conn, ctx) => {
    await ctx.readRequest();
    const bytes = encoder.encode(response);
    for (let i = 0; i < bytes.length && !ctx.signal.aborted; i++) {
      await writeAll(conn, bytes.subarray(i, i + 1));
      await sleep(intervalMs, ctx.signal);
    }
  };
}

/** Reads the request, sends `partial`, closes cleanly (FIN). */
export function closeAfter(partial: string): Handler {
  return async (conn, ctx) => {
    await ctx.readRequest();
    await writeAll(conn, partial);
  };
}

/**
 * Reads the request and answers `status` with a `size`-byte body that
 * starts with `prefix`, streamed until done or the client goes away.
 * Records how many body bytes it managed to write.
 */
export function hugeBody(
  status: number,
  size: number,
  prefix: string,
  written: { bytes: number },
): Handler {
  return async (conn, ctx) => {
    await ctx.readRequest();
    await writeAll(
      conn,
      `HTTP/1.1 ${status} OK\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`,
    );
    const chunk = new Uint8Array(65536).fill(0x61);
    chunk.set(encoder.encode(prefix));
    let left = size;
    let first = true;
    while (left > 0 && !ctx.signal.aborted) {
      const part = first ? chunk : chunk.fill(0x61, 0, prefix.length);
      first = false;
      const n = Math.min(left, part.length);
      await writeAll(conn, part.subarray(0, n));
      left -= n;
      written.bytes += n;
    }
  };
}

/**
 * Answers whatever arrives first (a request, a TLS ClientHello) with
 * `response` and closes: what a plain HTTP server does to a TLS client.
 */
export function answerAnything(response: string): Handler {
  return async (conn) => {
    const n = await conn.read(new Uint8Array(4096));
    if (n !== null) await writeAll(conn, response);
  };
}

/**
 * A server that answers the first bytes it receives with `partial`, then
 * aborts the connection with a TCP RST (node:net `resetAndDestroy`; Deno's
 * own sockets cannot set SO_LINGER).
 */
export async function serveResetting(
  hostname: string,
  partial: string | undefined,
): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
    // undefined: reset as soon as accepted, before any byte.
    if (partial === undefined) {
      s.resetAndDestroy();
      return;
    }
    s.once("data", () => {
      s.write(partial, () => s.resetAndDestroy());
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, hostname, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
    return closing;
  };
  return {
    hostname,
    port,
    requests: [],
    accepted: () => accepted,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A TLS test server that records the SNI name of each connection. */
export interface SniServer extends TestServer {
  /** SNI per accepted connection; null when the client sent none. */
  readonly names: (string | null)[];
}

/**
 * A node:tls server (Deno.listenTls does not expose SNI) that answers any
 * request with `response` and records the server name each client asked for.
 */
export async function serveTlsRecordingSni(
  hostname: string,
  pair: { readonly cert: string; readonly key: string },
  response: string,
): Promise<SniServer> {
  const names: (string | null)[] = [];
  const sockets = new Set<tls.TLSSocket>();
  let accepted = 0;
  const server = tls.createServer({ cert: pair.cert, key: pair.key }, (s) => {
    accepted++;
    sockets.add(s);
    const sni =
      (s as tls.TLSSocket & { servername?: string | false }).servername;
    names.push(typeof sni === "string" && sni !== "" ? sni : null);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
    s.once("data", () => s.end(response));
  });
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, hostname, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
    return closing;
  };
  return {
    hostname,
    port,
    names,
    requests: [],
    accepted: () => accepted,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A port on `hostname` that refuses connections (bound, then closed). */
export function refusedPort(hostname: string): number {
  const l = Deno.listen({ hostname, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
