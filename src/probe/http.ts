/**
 * HTTP and HTTPS probes: our own HTTP/1.1 client on a fresh connection, so
 * every byte sent and every limit is under our control. One request with
 * `Connection: close`, no redirects followed, at most 16 KiB of headers and
 * 64 KiB of body read, the whole exchange bounded by the check's timeout.
 */
import type { TLSSocket } from "node:tls";
import type { HealthCheckConfig } from "../config/types.ts";
import {
  closeQuietly,
  errorText,
  PHASE_L4,
  PHASE_L6,
  PHASE_L7,
  runWithDeadline,
  type Verdict,
} from "./deadline.ts";
import { requestBytes } from "./http_request.ts";
import { ResponseReader } from "./http_response.ts";
import { bodyMatches, cachedRegExp, statusAccepted } from "./match.ts";
import { connectFailure, connectTcp } from "./tcp.ts";
import { startTls, type TlsSettings, writeAll } from "./tls.ts";
import type { ProbeResult, ProbeTarget } from "./types.ts";

const READ_SIZE = 16 * 1024;
const POOL_MAX = 256;
const pool: Uint8Array[] = [];

/** Runs one http or https probe. Never rejects. */
export function probeHttp(
  target: ProbeTarget,
  check: HealthCheckConfig,
  tls: TlsSettings,
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
    const reader = new ResponseReader({
      head: p.method === "HEAD",
      keepBody: re !== undefined,
    });
    const request = requestBytes(target, check);
    let failure: string | undefined;
    if (check.type === "https") {
      run.phase = PHASE_L6;
      const t = await startTls(conn, target, p, tls, run);
      if (!t.ok) return { code: "L6RSP", text: t.text };
      run.phase = PHASE_L7;
      failure = await exchangeTls(t.socket, request, reader);
      run.resource = undefined;
      t.socket.destroy();
    } else {
      run.phase = PHASE_L7;
      failure = await exchangePlain(conn, request, reader);
      run.resource = undefined;
      closeQuietly(conn);
    }
    if (failure !== undefined) return { code: "L7RSP", text: failure };
    return verdict(reader, check, re);
  });
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

/** `exchangePlain` over a TLS socket (event driven). */
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
      resolve(why);
    };
    socket.on("data", (chunk: Uint8Array) => {
      if (!done && reader.push(chunk)) finish(undefined);
    });
    socket.once("end", () => {
      reader.end();
      finish(undefined);
    });
    socket.on("error", (e: Error) => finish(errorText(e)));
    socket.once("close", () => {
      reader.end();
      finish(undefined);
    });
    socket.write(request);
  });
}
