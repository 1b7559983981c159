/**
 * Loopback sink for the probe load benchmarks: listens on N ports of
 * 127.0.0.1 and answers health checks as cheaply as Deno allows.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 tests/bench/sink.ts --mode http --base-port 20000 --count 5000
 * deno run --allow-net=127.0.0.1 tests/bench/sink.ts --mode tcp --count 100   # free ports
 * ```
 *
 * - `--mode http`: reads the request head, answers `GET /healthz` (or
 *   `HEAD`) with `HTTP/1.1 200 OK`, a 3-byte body and `Connection: close`,
 *   anything else with 404, then closes.
 * - `--mode tcp`: accepts and closes at once.
 * - `--spread K`: listener i binds 127.0.0.(1 + i % K) [1]
 * - `--base-port B --count N` listens on B..B+N-1; `--base-port 0` (the
 *   default) lets the kernel pick N free ports.
 * - First stdout line: `{"ports":[...],"control":P}`. `GET /` on the control
 *   port (127.0.0.1:P) answers `{"connections":C,"requests":R,"other":O,"errors":E}`;
 *   SIGUSR1 prints the same JSON to stdout.
 * - Exits by itself after `--max-seconds` (default 3600) so it can never be
 *   left behind.
 *
 * Raw `Deno.listen` accept loops, one shared response buffer and a pool of
 * read buffers: no per-request allocation beyond Deno's own.
 *
 * Not a test or bench file (the name matches neither `*_test.ts` nor
 * `*_bench.ts`).
 * @module
 */

/** Counters the sink exposes. */
export interface SinkCounts {
  /** Connections accepted (both modes). */
  connections: number;
  /** `/healthz` requests answered 200. */
  requests: number;
  /** Other requests (answered 404) or connections closed without a request. */
  other: number;
  /** accept/read/write errors. */
  errors: number;
}

const enc = new TextEncoder();
const OK = enc.encode(
  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n",
);
const NOT_FOUND = enc.encode(
  "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
);
const GET_HEALTHZ = enc.encode("GET /healthz");
const HEAD_HEALTHZ = enc.encode("HEAD /healthz");
const BUF_SIZE = 4096;
/** Reads per request before giving up on a request head. */
const MAX_READS = 8;

const pool: Uint8Array[] = [];

function startsWith(buf: Uint8Array, len: number, prefix: Uint8Array): boolean {
  if (len < prefix.length + 1) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (buf[i] !== prefix[i]) return false;
  }
  // "/healthz" exactly, or with a query string.
  const next = buf[prefix.length];
  return next === 32 /* space */ || next === 63 /* ? */;
}

/** True when buf[0..len) contains the blank line ending a request head. */
function headComplete(buf: Uint8Array, len: number): boolean {
  for (let i = Math.max(0, len - BUF_SIZE); i + 3 < len; i++) {
    if (
      buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 &&
      buf[i + 3] === 10
    ) return true;
  }
  return false;
}

async function serveHttp(conn: Deno.Conn, counts: SinkCounts): Promise<void> {
  const buf = pool.pop() ?? new Uint8Array(BUF_SIZE);
  try {
    let got = 0;
    for (let i = 0; i < MAX_READS && got < buf.length; i++) {
      const n = await conn.read(got === 0 ? buf : buf.subarray(got));
      if (n === null) break;
      got += n;
      if (headComplete(buf, got)) break;
    }
    if (got === 0) {
      counts.other++;
    } else if (
      startsWith(buf, got, GET_HEALTHZ) || startsWith(buf, got, HEAD_HEALTHZ)
    ) {
      counts.requests++;
      await conn.write(OK);
    } else {
      counts.other++;
      await conn.write(NOT_FOUND);
    }
  } catch {
    counts.errors++;
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
    pool.push(buf);
  }
}

async function acceptLoop(
  listener: Deno.Listener,
  mode: "http" | "tcp",
  counts: SinkCounts,
): Promise<void> {
  // Runs until the listener is closed (the process exits after --max-seconds).
  while (true) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (e) {
      if (e instanceof Deno.errors.BadResource) return;
      counts.errors++;
      // EMFILE and friends: back off a little instead of spinning.
      await new Promise((r) => setTimeout(r, 10));
      continue;
    }
    counts.connections++;
    if (mode === "tcp") {
      try {
        conn.close();
      } catch {
        counts.errors++;
      }
    } else {
      void serveHttp(conn, counts);
    }
  }
}

async function controlLoop(
  listener: Deno.Listener,
  counts: SinkCounts,
): Promise<void> {
  while (true) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch {
      return;
    }
    const buf = new Uint8Array(BUF_SIZE);
    try {
      let got = 0;
      for (let i = 0; i < MAX_READS && got < buf.length; i++) {
        const n = await conn.read(buf.subarray(got));
        if (n === null) break;
        got += n;
        if (headComplete(buf, got)) break;
      }
      const body = enc.encode(JSON.stringify(counts));
      await conn.write(enc.encode(
        `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      ));
      await conn.write(body);
    } catch {
      // client went away
    } finally {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }
}

/** Options of {@linkcode startSink}. */
export interface SinkOptions {
  readonly mode: "http" | "tcp";
  /** First port; 0 lets the kernel pick every port. */
  readonly basePort: number;
  readonly count: number;
  /**
   * Listener i binds 127.0.0.(1 + i % spread) (default 1: all on 127.0.0.1),
   * so backends of one frontend can have distinct addresses, as the config
   * requires, while staying on loopback.
   */
  readonly spread?: number;
}

/** A sink running in this process. */
export interface RunningSink {
  readonly ports: readonly number[];
  /** Port of the control endpoint (`GET /` → counts as JSON). */
  readonly control: number;
  /** The live counters. */
  readonly counts: Readonly<SinkCounts>;
  /** Closes every listener (connections in flight finish on their own). */
  close(): void;
}

/**
 * Starts the sink's listeners and accept loops in this process; used by the
 * `sink.ts` program and by `probe_bench.ts` for an in-process target.
 */
export function startSink(o: SinkOptions): RunningSink {
  if (!Number.isInteger(o.count) || o.count < 1 || o.count > 60000) {
    throw new Error(`count must be 1..60000, got ${o.count}`);
  }
  if (
    !Number.isInteger(o.basePort) || o.basePort < 0 ||
    o.basePort + o.count > 65536
  ) {
    throw new Error(
      `base port ${o.basePort} with count ${o.count} is out of range`,
    );
  }
  const listeners: Deno.Listener[] = [];
  const ports: number[] = [];
  try {
    const spread = o.spread ?? 1;
    if (!Number.isInteger(spread) || spread < 1 || spread > 254) {
      throw new Error(`spread must be 1..254, got ${spread}`);
    }
    for (let i = 0; i < o.count; i++) {
      const l = Deno.listen({
        hostname: `127.0.0.${1 + (i % spread)}`,
        port: o.basePort === 0 ? 0 : o.basePort + i,
      });
      listeners.push(l);
      ports.push((l.addr as Deno.NetAddr).port);
    }
  } catch (e) {
    for (const l of listeners) l.close();
    throw e;
  }
  while (pool.length < 64) pool.push(new Uint8Array(BUF_SIZE));
  const control = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const counts: SinkCounts = {
    connections: 0,
    requests: 0,
    other: 0,
    errors: 0,
  };
  for (const l of listeners) void acceptLoop(l, o.mode, counts);
  void controlLoop(control, counts);
  let closed = false;
  return {
    ports,
    control: (control.addr as Deno.NetAddr).port,
    counts,
    close() {
      if (closed) return;
      closed = true;
      for (const l of listeners) l.close();
      control.close();
    },
  };
}

function flag(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < args.length) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`--${name}=`));
  return eq ? eq.slice(name.length + 3) : dflt;
}

function main(args: string[]): void {
  const mode = flag(args, "mode", "http");
  if (mode !== "http" && mode !== "tcp") {
    throw new Error(`--mode must be http or tcp, got ${mode}`);
  }
  const maxSeconds = Number(flag(args, "max-seconds", "3600"));
  const sink = startSink({
    mode,
    basePort: Number(flag(args, "base-port", "0")),
    count: Number(flag(args, "count", "1")),
    spread: Number(flag(args, "spread", "1")),
  });
  Deno.addSignalListener("SIGUSR1", () => {
    console.log(JSON.stringify(sink.counts));
  });
  const stop = () => {
    sink.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  setTimeout(stop, maxSeconds * 1000);
  console.log(JSON.stringify({ ports: sink.ports, control: sink.control }));
}

if (import.meta.main) main(Deno.args);
