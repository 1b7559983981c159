/**
 * A client for one maglev daemon, shared by `maglev ctl`, `maglev web` and
 * the tests: native gRPC over HTTP/2 with a session that can be closed, so a
 * one-shot command exits as soon as it is done.
 */
import {
  type Client,
  type ConnectError,
  createClient,
} from "@connectrpc/connect";
import {
  createGrpcTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import net from "node:net";
import { formatHostPort, parseHostPort } from "../cli/addr.ts";
import { Maglev } from "./gen/maglev/v1/maglev_pb.ts";

/** The default daemon address of `ctl` and `web`. */
export const DEFAULT_SERVER = "localhost:9090";

/** A connected API client and its HTTP/2 session. */
export interface MaglevConnection {
  readonly client: Client<typeof Maglev>;
  /** `host:port` as given, for messages. */
  readonly server: string;
  /** Closes the HTTP/2 session; pending calls fail. */
  close(): void;
}

/**
 * Builds a client for `server` (`host:port`, `:port` = localhost,
 * `[v6]:port`). Throws a RangeError naming the expected form for a bad
 * address; the connection itself is made lazily on the first call.
 */
export function connectMaglev(
  server: string,
  opts: {
    keepAliveMs?: number;
    /** Sent as `Authorization: Bearer …` on every call (the daemon's --grpc-token-file). */
    token?: string;
    /**
     * TLS to the daemon (PEM): `ca` to trust its certificate, and a client
     * certificate (`cert` + `key`) for mTLS.
     */
    tls?: { ca?: string; cert?: string; key?: string };
  } = {},
): MaglevConnection {
  // `unix:/path`: the daemon's unix socket (--grpc-addr unix:PATH).
  const unixPath = server.startsWith("unix:") ? server.slice(5) : undefined;
  let url = "http://localhost";
  if (unixPath === undefined) {
    const hp = parseHostPort(server);
    const host = hp.hostname ?? "localhost";
    url = `${opts.tls ? "https" : "http"}://${
      formatHostPort({ hostname: host, port: hp.port })
    }`;
  }
  const sessionManager = new Http2SessionManager(
    url,
    {
      pingIntervalMs: opts.keepAliveMs ?? 10_000,
      pingTimeoutMs: 5_000,
    },
    unixPath !== undefined
      ? { createConnection: () => net.connect(unixPath) }
      : opts.tls
      ? { ...opts.tls }
      : undefined,
  );
  const token = opts.token;
  const transport = createGrpcTransport({
    baseUrl: url,
    sessionManager,
    interceptors: token === undefined ? [] : [(next) => (req) => {
      req.header.set("authorization", `Bearer ${token}`);
      return next(req);
    }],
  });
  return {
    client: createClient(Maglev, transport),
    server,
    close: () => sessionManager.abort(),
  };
}

/** Node-style network error codes, in words for operators. */
const NET_REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
  ECONNRESET: "connection reset",
  EADDRNOTAVAIL: "address not available",
  EPIPE: "connection closed",
};

/** The network reason a call failed ("connection refused"), if it was one. */
export function networkReason(e: ConnectError): string | undefined {
  const cause = e.cause as { code?: unknown } | undefined;
  const code = typeof cause?.code === "string" ? cause.code : undefined;
  if (code && NET_REASONS[code]) return NET_REASONS[code];
  const m = /\b(E[A-Z_]{4,})\b/.exec(e.rawMessage);
  return m ? NET_REASONS[m[1]] : undefined;
}

/**
 * A client's TLS files (PEM), read now: `ca` trusts the daemon's
 * certificate; `cert` + `key` (both or neither) are a client certificate
 * for mTLS. Undefined when none is given (plain HTTP/2). `prefix` names the
 * flags in errors ("tls-" for ctl, "grpc-tls-" for web).
 */
export function readClientTls(
  prefix: string,
  files: { ca?: string; cert?: string; key?: string },
): { ca?: string; cert?: string; key?: string } | undefined {
  const ca = files.ca?.trim() || undefined;
  const cert = files.cert?.trim() || undefined;
  const key = files.key?.trim() || undefined;
  if (!ca && !cert && !key) return undefined;
  if (!cert !== !key) {
    throw new Error(`give both --${prefix}cert and --${prefix}key, or neither`);
  }
  const read = (flag: string, path: string) => {
    try {
      return Deno.readTextFileSync(path);
    } catch (e) {
      throw new Error(
        `--${prefix}${flag}: cannot read ${path}: ${
          e instanceof Error ? e.message : e
        }`,
      );
    }
  };
  return {
    ...(ca ? { ca: read("ca", ca) } : {}),
    ...(cert && key ? { cert: read("cert", cert), key: read("key", key) } : {}),
  };
}
