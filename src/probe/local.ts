/**
 * The prober for the namespace the current thread lives in: dispatches each
 * probe to its type's implementation. The netns worker runs one of these.
 */
import type { HealthCheckConfig } from "../config/types.ts";
import { errorText, failureCode, makeResult } from "./deadline.ts";
import { probeHttp } from "./http.ts";
import { IcmpProber } from "./icmp.ts";
import { probeTcp } from "./tcp.ts";
import { type TlsSettings, tlsSettings } from "./tls.ts";
import type {
  ClientProber,
  ProbeOptions,
  ProbeResult,
  ProbeTarget,
} from "./types.ts";

/** Options of a local prober. */
export interface LocalProberOptions {
  /** Trusted CA certificates (PEM), replacing the default roots. */
  readonly caCerts?: readonly string[];
}

/**
 * Probes from the current network namespace. It also takes the client
 * tools' ProbeOptions (a NetnsProber does not: a connection kept alive
 * cannot cross to its worker thread).
 */
export class LocalProber implements ClientProber {
  readonly #tls: TlsSettings;
  #icmp: IcmpProber | undefined;
  #closed = false;

  constructor(opts: LocalProberOptions = {}) {
    this.#tls = tlsSettings(opts.caCerts);
  }

  /** Runs one probe; never rejects. */
  probe(
    target: ProbeTarget,
    check: HealthCheckConfig,
    opts?: ProbeOptions,
  ): Promise<ProbeResult> {
    const start = performance.now();
    try {
      if (this.#closed) {
        return Promise.resolve(
          makeResult(failureCode(check.type), "prober closed", 0),
        );
      }
      let p: Promise<ProbeResult>;
      switch (check.type) {
        case "tcp":
          p = probeTcp(target, check, this.#tls);
          break;
        case "http":
        case "https":
          p = probeHttp(target, check, this.#tls, opts);
          break;
        case "icmp":
          this.#icmp ??= new IcmpProber();
          p = this.#icmp.probe(target, check.timeoutMs);
          break;
        default:
          p = Promise.resolve(
            makeResult(
              "L4CON",
              `unknown check type ${String(check.type)}`,
              0,
            ),
          );
      }
      return p.catch((e) => unexpected(check, e, start));
    } catch (e) {
      return Promise.resolve(unexpected(check, e, start));
    }
  }

  /** Closes shared sockets; later probes fail at once. */
  close(): void {
    this.#closed = true;
    this.#icmp?.close();
  }

  /** Resolves once shared sockets are closed (after `close`). */
  get closed(): Promise<void> {
    return this.#icmp?.closed ?? Promise.resolve();
  }
}

function unexpected(
  check: HealthCheckConfig,
  e: unknown,
  start: number,
): ProbeResult {
  return makeResult(
    failureCode(check.type),
    `internal error: ${errorText(e)}`,
    performance.now() - start,
  );
}
