/** The one small interface every probe type implements. */
import type { HealthCheckConfig } from "../config/types.ts";
import type { ProbeCode } from "../health/types.ts";
import type { KeepAliveSlot } from "./keepalive.ts";

/** Where to probe: the backend's address. The port comes from the health check. */
export interface ProbeTarget {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Verdict of one probe. */
export interface ProbeResult {
  readonly ok: boolean;
  readonly code: ProbeCode;
  /** Short human text, e.g. "HTTP 503", "connection refused", "timeout after 1000ms". */
  readonly text: string;
  /** Wall time from start to verdict. */
  readonly durationMs: number;
  /**
   * HTTP status of the response, when one was read. Only set for a probe
   * given {@link ProbeOptions} (maglev tester), so the daemon's results stay
   * as they were.
   */
  readonly status?: number;
  /** Value of the response header named by `ProbeOptions.header`, if present. */
  readonly header?: string;
}

/**
 * Extras of one probe for client tools (maglev tester), beyond what a
 * health check needs: report a response header, reuse a connection.
 * http/https probes honour them; other types ignore them.
 */
export interface ProbeOptions {
  /** Response header whose value the result carries (name, any case). */
  readonly header?: string;
  /**
   * Where an idle connection waits between probes of one target: given, the
   * request asks for keep-alive and a reusable connection is put back here
   * instead of being closed. One slot per target, used by one probe at a
   * time.
   */
  readonly keepAlive?: KeepAliveSlot;
}

/**
 * Runs probes. Implementations never throw and never take longer than the
 * check's timeout (plus scheduling noise): every failure is a ProbeResult.
 */
export interface Prober {
  probe(target: ProbeTarget, check: HealthCheckConfig): Promise<ProbeResult>;
  /** Releases sockets, workers and other resources. */
  close(): void;
}

/**
 * A prober for client tools (maglev tester): a Prober that also honours
 * ProbeOptions, i.e. reports the HTTP status and a response header and can
 * keep connections alive between probes.
 */
export interface ClientProber extends Prober {
  probe(
    target: ProbeTarget,
    check: HealthCheckConfig,
    opts?: ProbeOptions,
  ): Promise<ProbeResult>;
}
