/**
 * TCP connect probe (L4), optionally followed by a TLS handshake (L6). One
 * fresh connection per probe, closed as soon as the verdict is known.
 */
import type { HealthCheckConfig } from "../config/types.ts";
import {
  closeQuietly,
  errorText,
  PHASE_L4,
  PHASE_L6,
  type ProbeRun,
  runWithDeadline,
  type Verdict,
} from "./deadline.ts";
import { startTls, type TlsSettings } from "./tls.ts";
import type { ProbeResult, ProbeTarget } from "./types.ts";

/**
 * Opens a TCP connection within the run's deadline. Throws with readable
 * text ("connection refused") on failure; the caller is in phase L4.
 */
export async function connectTcp(
  target: ProbeTarget,
  port: number,
  run: ProbeRun,
): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({
    hostname: target.address,
    port,
    signal: run.signal,
    autoSelectFamily: false,
  });
  if (run.settled) {
    // The deadline fired while connect was completing.
    closeQuietly(conn);
    throw new Error("timed out");
  }
  run.resource = conn;
  return conn;
}

/** Verdict for a failed connect. */
export function connectFailure(e: unknown): Verdict {
  return { code: "L4CON", text: errorText(e) };
}

/** Runs one tcp (or tcp+tls) probe. Never rejects. */
export function probeTcp(
  target: ProbeTarget,
  check: HealthCheckConfig,
  tls: TlsSettings,
): Promise<ProbeResult> {
  return runWithDeadline(check.timeoutMs, PHASE_L4, async (run) => {
    let conn: Deno.TcpConn;
    try {
      conn = await connectTcp(target, check.port, run);
    } catch (e) {
      return connectFailure(e);
    }
    if (!check.params.tls) {
      run.resource = undefined;
      closeQuietly(conn);
      return { code: "L4OK", text: "connected" };
    }
    run.phase = PHASE_L6;
    const result = await startTls(conn, target, check.params, tls, run);
    if (!result.ok) return { code: "L6RSP", text: result.text };
    run.resource = undefined;
    result.socket.destroy();
    return { code: "L6OK", text: result.text };
  });
}
