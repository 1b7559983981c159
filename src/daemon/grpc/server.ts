/**
 * The API listener: native gRPC and the Connect protocol over cleartext
 * HTTP/2 (h2c) on `--grpc-addr`, through connect-node on `node:http2`.
 * (`Deno.serve` cannot send HTTP trailers, which gRPC needs.)
 */
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { HostPort } from "../../cli/addr.ts";
import {
  file_maglev_v1_maglev,
  Maglev,
} from "../../api/gen/maglev/v1/maglev_pb.ts";
import type { Daemon } from "../daemon.ts";
import { registerReflection } from "./reflection.ts";
import { createMaglevService, STREAM_ID_HEADER } from "./service.ts";
import { grpcServerMetrics } from "./metrics.ts";
import type { Registry } from "prom-client";
import {
  MAY_MUTATE_HEADER,
  type MutationPolicy,
  mutationVerdict,
} from "./auth.ts";

/** Options of the API server. */
export interface ApiServerOptions {
  readonly addr: HostPort;
  readonly reflection: boolean;
  /** Events a WatchEvents subscriber may fall behind before it is dropped. */
  readonly streamLimit?: number;
  /** Counts a refused request (maglev_grpc_refused_total{reason}). */
  readonly onRefused?: (reason: "watchers") => void;
  /** Who may call mutating RPCs; default: loopback only. */
  readonly mutations?: MutationPolicy;
  /**
   * Listen on this unix socket instead of `addr` (mode 0660: the file's
   * group decides who may connect, and every client there may change
   * things, as on loopback).
   */
  readonly unixPath?: string;
  /**
   * A connection with nothing in flight for this long is closed (a client
   * reconnects when it needs to; a slowloris stays no longer). Streams
   * kept open (WatchEvents) are pinged, so they never look idle. Default
   * IDLE_TIMEOUT_MS.
   */
  readonly idleTimeoutMs?: number;
  /**
   * TLS on the listener (PEM). With `clientCa`, a client certificate that
   * CA signed lets its holder change things.
   */
  readonly tls?: { cert: string; key: string; clientCa?: string };
  /** Where the grpc_server_* metrics go; none without it. */
  readonly registry?: Registry;
}

/** See ApiServerOptions.idleTimeoutMs. */
export const IDLE_TIMEOUT_MS = 120_000;

/** The largest request accepted; a 100 MB one took 558 MiB of memory. */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** A running API server. */
export class ApiServer {
  readonly #server: http2.Http2Server | http2.Http2SecureServer;
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  readonly #streams = new Map<string, http2.ServerHttp2Stream>();
  readonly #shutdown = new AbortController();
  #nextStream = 1;

  private constructor(daemon: Daemon, opts: ApiServerOptions) {
    const handler = connectNodeAdapter({
      // Every request of this API is a few names and numbers.
      readMaxBytes: MAX_REQUEST_BYTES,
      interceptors: opts.registry ? [grpcServerMetrics(opts.registry)] : [],
      routes: (router) => {
        router.service(
          Maglev,
          createMaglevService(daemon, {
            streamLimit: opts.streamLimit,
            shutdown: this.#shutdown.signal,
            resetStream: (id) => this.#reset(id),
            onRefused: (reason) => opts.onRefused?.(reason),
          }),
        );
        if (opts.reflection) {
          registerReflection(router, { files: [file_maglev_v1_maglev] });
        }
      },
    });
    const onRequest = (
      req: http2.Http2ServerRequest,
      res: http2.Http2ServerResponse,
    ) => {
      // Tag the stream so a subscriber that stops reading can be reset.
      const id = String(this.#nextStream++);
      req.headers[STREAM_ID_HEADER] = id;
      // A client certificate the client CA signed (--grpc-client-ca).
      const certified =
        (req.socket as { authorized?: boolean } | undefined)?.authorized ===
          true;
      // Decided here, from the connection's real peer; whatever a client
      // put in this header is overwritten.
      req.headers[MAY_MUTATE_HEADER] = opts.unixPath !== undefined || certified
        ? "1"
        : mutationVerdict(
          opts.mutations ?? { tokens: [], allowRemote: false },
          req.socket?.remoteAddress,
          req.headers.authorization,
        );
      this.#streams.set(id, req.stream);
      req.stream.once("close", () => this.#streams.delete(id));
      handler(req, res);
    };
    this.#server = opts.tls
      ? http2.createSecureServer({
        key: opts.tls.key,
        cert: opts.tls.cert,
        ...(opts.tls.clientCa
          ? {
            ca: opts.tls.clientCa,
            // Asked for, not required: reads stay open to all; a verified
            // certificate only grants changes.
            requestCert: true,
            rejectUnauthorized: false,
          }
          : {}),
      }, onRequest)
      : http2.createServer(onRequest);
    this.#server.on("session", (s) => {
      this.#sessions.add(s);
      s.once("close", () => this.#sessions.delete(s));
    });
    const idle = opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    // Without a listener, a connection idle this long is destroyed.
    this.#server.setTimeout(idle);
    // Open streams make their connection busy, not idle: a PING (and its
    // answer) is traffic, also where no event has come for a while.
    this.#pinger = setInterval(() => {
      for (const s of this.#sessions) {
        if (this.#busy(s)) {
          try {
            s.ping(() => {});
          } catch {
            // closing
          }
        }
      }
    }, Math.max(50, idle / 4));
    Deno.unrefTimer(this.#pinger);
  }

  #pinger: ReturnType<typeof setInterval>;

  /** Whether a connection carries a stream right now. */
  #busy(s: http2.ServerHttp2Session): boolean {
    for (const st of this.#streams.values()) {
      if (st.session === s) return true;
    }
    return false;
  }

  /** Starts listening; rejects with the OS error (e.g. address in use). */
  static async listen(
    daemon: Daemon,
    opts: ApiServerOptions,
  ): Promise<ApiServer> {
    const api = new ApiServer(daemon, opts);
    if (opts.unixPath !== undefined) {
      await api.#listenUnix(opts.unixPath);
      return api;
    }
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      api.#server.once("error", onError);
      api.#server.listen(
        { port: opts.addr.port, host: opts.addr.hostname ?? "::" },
        () => {
          api.#server.off("error", onError);
          resolve();
        },
      );
    }).catch(async (e) => {
      // Hosts without IPv6: ":port" falls back to IPv4.
      if (
        opts.addr.hostname === undefined &&
        (e as { code?: string }).code === "EAFNOSUPPORT"
      ) {
        await new Promise<void>((resolve, reject) => {
          api.#server.once("error", reject);
          api.#server.listen(
            { port: opts.addr.port, host: "0.0.0.0" },
            resolve,
          );
        });
        return;
      }
      throw e;
    });
    return api;
  }

  /** The bound address. */
  get address(): { hostname: string; port: number } {
    const a = this.#server.address();
    // A unix socket: its path as the host, port 0.
    if (typeof a === "string") return { hostname: `unix:${a}`, port: 0 };
    const i = a as AddressInfo;
    return { hostname: i.address, port: i.port };
  }

  async #listenUnix(path: string): Promise<void> {
    // A socket left by a daemon that died is reused; any other file is not.
    try {
      const st = await Deno.lstat(path);
      if (!st.isSocket) {
        throw new Error(`${path} exists and is not a socket: remove it`);
      }
      await Deno.remove(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(path, () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    await Deno.chmod(path, 0o660);
  }

  /** Open WatchEvents and unary streams, for diagnostics and tests. */
  get openStreams(): number {
    return this.#streams.size;
  }

  #reset(id: string | undefined): void {
    const stream = id ? this.#streams.get(id) : undefined;
    // ENHANCE_YOUR_CALM: gRPC clients report it as RESOURCE_EXHAUSTED. A
    // reset is the only way to end a stream whose client stopped reading:
    // a trailer would wait behind the unread data.
    stream?.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  }

  /**
   * Ends every WatchEvents stream cleanly (OK status), stops accepting,
   * and closes connections; sessions still busy after `graceMs` are cut.
   */
  async close(graceMs = 500): Promise<void> {
    clearInterval(this.#pinger);
    this.#shutdown.abort();
    const closed = new Promise<void>((r) => this.#server.close(() => r()));
    for (const s of this.#sessions) s.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      closed,
      new Promise<void>((r) => timer = setTimeout(r, graceMs)),
    ]);
    clearTimeout(timer);
    for (const s of this.#sessions) s.destroy();
    await closed;
  }
}
