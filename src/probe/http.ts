/**
 * HTTP and HTTPS probes: our own HTTP/1.1 client on a fresh connection, so
 * every byte sent and every limit is under our control. One request with
 * `Connection: close`, no redirects followed, at most 16 KiB of headers and
 * 64 KiB of body read, the whole exchange bounded by the check's timeout.
 * Client tools (maglev tester) may also ask for a response header and keep
 * the connection for the next probe (`ProbeOptions`); health checks never do.
 */
import type { TLSSocket } from "node:tls";
import type { HealthCheckConfig } from "../config/types.ts";
import {
  errorText,
  PHASE_L4,
  PHASE_L6,
  PHASE_L7,
  type ProbeRun,
  type ResultExtra,
  runWithDeadline,
  type Verdict,
} from "./deadline.ts";
import { requestBytes } from "./http_request.ts";
import { type Channel, closeChannel, type KeepAliveSlot } from "./keepalive.ts";
import { ResponseReader } from "./http_response.ts";
import { bodyMatches, cachedRegExp, statusAccepted } from "./match.ts";
import { connectFailure, connectTcp } from "./tcp.ts";
import { startTls, type TlsSettings, writeAll } from "./tls.ts";
import type { ProbeOptions, ProbeResult, ProbeTarget } from "./types.ts";

const READ_SIZE = 16 * 1024;
const POOL_MAX = 256;
const pool: Uint8Array[] = [];

/**
 * Runs one http or https probe. Never rejects. `opts` (client tools only)
 * asks for the status and a header in the result and, with a keep-alive
 * slot, starts from the connection the previous probe left there and leaves
 * a reusable one behind.
 */
export function probeHttp(
  target: ProbeTarget,
  check: HealthCheckConfig,
  tls: TlsSettings,
  opts?: ProbeOptions,
): Promise<ProbeResult> {
  return runWithDeadline(check.timeoutMs, PHASE_L4, async (run) => {
    const p = check.params;
    let re: RegExp | undefined;
    if (p.responseRegexp !== undefined && p.method !== "HEAD") {
      const compiled = cachedRegExp(p.responseRegexp);
      if (typeof compiled === "string") {
        return { code: "L7STS", text: `invalid response-regexp: ${compiled}` };
      }
      re = compiled;
    }
    const slot = opts?.keepAlive;
    const capture = opts?.header ? opts.header.toLowerCase() : undefined;
    const newReader = () =>
      new ResponseReader({
        head: p.method === "HEAD",
        keepBody: re !== undefined,
        captureHeader: capture,
        frameBody: slot !== undefined,
      });
    const request = requestBytes(target, check, slot !== undefined);
    const done = (
      ch: Channel,
      failure: string | undefined,
      r: ResponseReader,
    ) => settleExchange(ch, failure, r, { run, slot, check, re, opts });
    const parked = slot?.take();
    if (parked !== undefined) {
      run.phase = PHASE_L7;
      run.resource = { close: () => closeChannel(parked) };
      const reader = newReader();
      const failure = await exchange(parked, request, reader);
      // Nothing at all came back: the server closed the idle connection
      // (the usual keep-alive race), so try once on a fresh one.
      if (reader.receivedAny || run.settled) {
        return done(parked, failure, reader);
      }
      run.resource = undefined;
      closeChannel(parked);
      run.phase = PHASE_L4;
    }
    let conn: Deno.TcpConn;
    try {
      conn = await connectTcp(target, check.port, run);
    } catch (e) {
      // A reset (not a refusal) means the handshake completed and the
      // backend dropped the connection at once: a layer above TCP failed.
      if (e instanceof Deno.errors.ConnectionReset) {
        return {
          code: check.type === "https" ? "L6RSP" : "L7RSP",
          text: "connection reset right after it was accepted",
        };
      }
      return connectFailure(e);
    }
    let ch: Channel;
    if (check.type === "https") {
      run.phase = PHASE_L6;
      const t = await startTls(conn, target, p, tls, run);
      if (!t.ok) return { code: "L6RSP", text: t.text };
      ch = { tls: true, socket: t.socket };
    } else {
      ch = { tls: false, conn };
    }
    run.phase = PHASE_L7;
    const reader = newReader();
    return done(ch, await exchange(ch, request, reader), reader);
  });
}

/** What settleExchange needs besides the exchange's outcome. */
interface ExchangeContext {
  readonly run: ProbeRun;
  readonly slot: KeepAliveSlot | undefined;
  readonly check: HealthCheckConfig;
  readonly re: RegExp | undefined;
  readonly opts: ProbeOptions | undefined;
}

/**
 * After an exchange: parks the connection when keep-alive is on and it can
 * carry another request, else closes it; then the verdict.
 */
function settleExchange(
  ch: Channel,
  failure: string | undefined,
  reader: ResponseReader,
  c: ExchangeContext,
): Verdict {
  c.run.resource = undefined;
  if (
    c.slot !== undefined && failure === undefined && reader.reusable &&
    !c.run.settled
  ) {
    if (ch.tls) ch.socket.pause();
    c.slot.put(ch);
  } else {
    closeChannel(ch);
  }
  const v: Verdict = failure !== undefined
    ? { code: "L7RSP", text: failure }
    : verdict(reader, c.check, c.re);
  return c.opts === undefined ? v : { ...v, extra: resultExtra(reader) };
}

/** Status and captured header of a response, for a probe given ProbeOptions. */
function resultExtra(reader: ResponseReader): ResultExtra {
  const extra: { status?: number; header?: string } = {};
  if (reader.status > 0) extra.status = reader.status;
  if (reader.headerValue !== undefined) extra.header = reader.headerValue;
  return extra;
}

/** Sends the request on a plain or TLS channel and reads the reply. */
function exchange(
  ch: Channel,
  request: Uint8Array,
  reader: ResponseReader,
): Promise<string | undefined> {
  return ch.tls
    ? exchangeTls(ch.socket, request, reader)
    : exchangePlain(ch.conn, request, reader);
}

/** The verdict once the reader has all it needs. */
export function verdict(
  reader: ResponseReader,
  check: HealthCheckConfig,
  re: RegExp | undefined,
): Verdict {
  if (reader.state === "error") return { code: "L7RSP", text: reader.error };
  if (reader.state === "head") {
    return { code: "L7RSP", text: "incomplete response headers" };
  }
  const status = reader.status;
  if (!statusAccepted(status, check.params.responseCodes)) {
    return { code: "L7STS", text: `HTTP ${status}` };
  }
  if (re !== undefined && !bodyMatches(re, reader.body())) {
    return { code: "L7STS", text: `body does not match /${re.source}/` };
  }
  return { code: "L7OK", text: `HTTP ${status}` };
}

/**
 * Sends the request and feeds the reply to `reader` until it needs no more.
 * Returns an error text when the connection fails before that.
 */
async function exchangePlain(
  conn: Deno.TcpConn,
  request: Uint8Array,
  reader: ResponseReader,
): Promise<string | undefined> {
  try {
    await writeAll(conn, request);
  } catch (e) {
    return `sending request: ${errorText(e)}`;
  }
  const buf = pool.pop() ?? new Uint8Array(READ_SIZE);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) {
        reader.end();
        return undefined;
      }
      if (reader.push(buf.subarray(0, n))) return undefined;
    }
  } catch (e) {
    return errorText(e);
  } finally {
    // The read loop is over: nothing else can write into buf.
    if (pool.length < POOL_MAX) pool.push(buf);
  }
}

/**
 * `exchangePlain` over a TLS socket (event driven). Its listeners are
 * removed when it finishes, so a kept-alive socket does not collect them.
 */
function exchangeTls(
  socket: TLSSocket,
  request: Uint8Array,
  reader: ResponseReader,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (why: string | undefined) => {
      if (done) return;
      done = true;
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("error", onError);
      socket.off("close", onEnd);
      resolve(why);
    };
    const onData = (chunk: Uint8Array) => {
      if (!done && reader.push(chunk)) finish(undefined);
    };
    const onEnd = () => {
      reader.end();
      finish(undefined);
    };
    const onError = (e: Error) => finish(errorText(e));
    socket.on("data", onData);
    socket.once("end", onEnd);
    socket.on("error", onError);
    socket.once("close", onEnd);
    // A kept-alive socket was paused while parked.
    if (socket.isPaused()) socket.resume();
    socket.write(request);
  });
}
