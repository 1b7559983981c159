/**
 * Wires the pieces the daemon needs from the daemon's flags: the library,
 * the client, the lb API and the stats reader, with the stats segment
 * dropped whenever the API link drops (a dead VPP's segment keeps
 * answering with frozen values).
 */

import { openVppLibrary, vacTransport, type VppLibrary } from "./ffi.ts";
import {
  type ApiObserver,
  VppClient,
  type VppClientOptions,
  type VppLogger,
} from "./client.ts";
import { VppLb } from "./lb.ts";
import { VppStats } from "./stats.ts";

/** The daemon's VPP settings (`--vpp-lib`, `--vpp-api-prefix`, `--vpp-stats-socket`). */
export interface VppOptions {
  /** Path of libvppapiclient.so; empty for the standard locations. */
  readonly libPath?: string;
  /** VPP's api-segment prefix; empty for none. */
  readonly apiPrefix?: string;
  /** Default `/run/vpp/stats.sock`. */
  readonly statsSocket?: string;
  /** Feeds `maglev_vpp_api_total`. */
  readonly observer?: ApiObserver;
  /** Every API message at debug level, link problems at warn. */
  readonly logger?: VppLogger;
  /** Timing overrides (tests). */
  readonly client?: Partial<Omit<VppClientOptions, "transport">>;
}

/** A VPP integration ready to start. */
export interface Vpp {
  readonly library: VppLibrary;
  readonly client: VppClient;
  readonly lb: VppLb;
  readonly stats: VppStats;
  /** Closes the client (disconnecting) and the stats segment. */
  close(): Promise<void>;
}

/**
 * Opens the library and builds client, lb and stats. Nothing connects until
 * `vpp.client.start()`: subscribe to `vpp.client.on(...)` first.
 *
 * @throws {VppLibraryError} when libvppapiclient cannot be loaded.
 */
export function createVpp(opts: VppOptions = {}): Vpp {
  const library = openVppLibrary(opts.libPath);
  const client = new VppClient({
    ...opts.client,
    transport: vacTransport(library),
    apiPrefix: opts.apiPrefix,
    observer: opts.observer,
    logger: opts.logger,
  });
  const lb = new VppLb(client, { logger: opts.logger });
  const stats = new VppStats(library, { socketPath: opts.statsSocket });
  const off = client.on((e) => {
    if (e.type === "disconnected") void stats.disconnect();
  });
  return {
    library,
    client,
    lb,
    stats,
    async close() {
      off();
      lb.dispose();
      await client.close();
      await stats.disconnect();
    },
  };
}
