/** The one small interface every probe type implements. */
import type { HealthCheckConfig } from "../config/types.ts";
import type { ProbeCode } from "../health/types.ts";

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
