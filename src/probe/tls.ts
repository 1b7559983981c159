/**
 * TLS client handshake on an already connected TCP socket.
 *
 * Uses `node:tls` over a small Duplex around the Deno.TcpConn: under Deno
 * 2.9.6 it is the only API that can skip certificate verification entirely
 * (`Deno.startTls` always verifies the chain; it can only skip the name), it
 * sends SNI only for names (never for IP literals), verifies against the
 * backend address when no server name is configured, and handshakes faster
 * than `Deno.startTls` here. The connect phase stays on Deno.connect so all
 * probe types share one connect path and one set of L4 errors.
 */
import * as nodeTls from "node:tls";
import { Duplex } from "node:stream";
import type { HealthCheckParams } from "../config/types.ts";
import { closeQuietly, errorText, type ProbeRun } from "./deadline.ts";
import { describeCertProblem, type PeerCertInfo } from "./tls_verify.ts";
import type { ProbeTarget } from "./types.ts";

/** Prober-wide TLS settings. */
export interface TlsSettings {
  /** Trusted roots (PEM); undefined = the runtime's default store. */
  readonly ca?: readonly string[];
}

/**
 * Settings for a prober. Given CA certificates (PEM) *replace* the default
 * roots, as Node's `ca` and curl's `--cacert` do: under Deno every
 * handshake re-reads the whole list, so adding the ~150 default roots would
 * cost ~15 ms of CPU per handshake instead of ~2 ms.
 */
export function tlsSettings(caCerts?: readonly string[]): TlsSettings {
  if (!caCerts || caCerts.length === 0) return {};
  return { ca: [...caCerts] };
}

/** Outcome of a handshake. */
export type TlsOutcome =
  | {
    readonly ok: true;
    readonly socket: nodeTls.TLSSocket;
    readonly text: string;
  }
  | { readonly ok: false; readonly text: string };

const IP_LITERAL = /^[0-9.]+$|:/;
const READ_SIZE = 16384;

/** A Duplex stream reading from and writing to a Deno connection. */
function connStream(conn: Deno.TcpConn): Duplex {
  return new Duplex({
    read() {
      const buf = new Uint8Array(READ_SIZE);
      conn.read(buf).then(
        (n) => this.push(n === null ? null : buf.subarray(0, n)),
        (e) => this.destroy(e),
      );
    },
    write(chunk: Uint8Array, _enc, cb) {
      writeAll(conn, chunk).then(() => cb(), cb);
    },
    destroy(_err, cb) {
      closeQuietly(conn);
      cb(null);
    },
  });
}

/** Writes every byte of `data` (Deno writes may be partial). */
export async function writeAll(
  conn: Deno.Conn,
  data: Uint8Array,
): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/**
 * Runs the TLS handshake over `conn` (which it takes over). SNI and the
 * verified name are `serverName`; without one, no SNI is sent and the
 * certificate must name the backend address. `insecureSkipVerify` accepts
 * any certificate. Resolves, never rejects; on failure the connection is
 * closed.
 *
 * The handshake itself never rejects a certificate (rejectUnauthorized is
 * off); the verdict is taken afterwards from `authorized`, which includes
 * the chain and the name check, so a rejection can name its actual cause.
 */
export function startTls(
  conn: Deno.TcpConn,
  target: ProbeTarget,
  params: Pick<HealthCheckParams, "serverName" | "insecureSkipVerify">,
  settings: TlsSettings,
  run: ProbeRun,
): Promise<TlsOutcome> {
  const name = params.serverName;
  const byName = name !== undefined && name !== "" && !IP_LITERAL.test(name);
  const verifyName = byName ? name : (name || target.address);
  const socket = nodeTls.connect({
    socket: connStream(conn),
    host: byName ? target.address : verifyName,
    servername: byName ? name : undefined,
    rejectUnauthorized: false,
    ca: settings.ca as string[] | undefined,
  });
  run.resource = { close: () => socket.destroy() };
  return new Promise<TlsOutcome>((resolve) => {
    let done = false;
    const finish = (o: TlsOutcome) => {
      if (done) return;
      done = true;
      if (!o.ok) socket.destroy();
      resolve(o);
    };
    // Stays attached for the socket's life: a late error must never become
    // an uncaught exception.
    socket.on("error", (e: Error) => {
      finish({ ok: false, text: `TLS handshake failed: ${errorText(e)}` });
    });
    socket.once("close", () => {
      finish({
        ok: false,
        text: "TLS handshake failed: connection closed by peer",
      });
    });
    socket.once("secureConnect", () => {
      if (!params.insecureSkipVerify && !socket.authorized) {
        const code = String(socket.authorizationError ?? "not authorized");
        let cert: PeerCertInfo | undefined;
        try {
          cert = socket.getPeerCertificate();
        } catch {
          cert = undefined;
        }
        const why = describeCertProblem(code, cert, verifyName, Date.now());
        finish({ ok: false, text: `TLS certificate rejected: ${why}` });
        return;
      }
      const proto = socket.getProtocol?.() ?? "TLS";
      finish({ ok: true, socket, text: `${proto} handshake ok` });
    });
  });
}
