/**
 * HTTP routes of `maglev web`: the SPA under `/view/` (read-only, open) and
 * `/admin/` (basic auth; off, i.e. 404, without credentials), its state,
 * daemon list, version and event-stream APIs, the admin action endpoint,
 * the icon and `/healthz`.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import {
  BackendInfoSchema,
  FrontendInfoSchema,
} from "../api/gen/maglev/v1/maglev_pb.ts";
import type { Logger } from "../cli/log.ts";
import { BUILD_DATE, COMMIT, VERSION } from "../version.ts";
import type { AssetStore } from "./assets.ts";
import {
  type BasicAuth,
  LoginThrottle,
  sameOrigin,
  unauthorized,
} from "./auth.ts";
import { parseAddress } from "../config/address.ts";
import type { Broker } from "./broker.ts";
import { FAVICON_ICO, FAVICON_SVG, FAVICON_TYPES } from "./favicon.ts";
import type {
  ActionRequest,
  DaemonListDocument,
  StateDocument,
  UnknownDaemonError,
  VersionDocument,
} from "./types.ts";
import { type DaemonWatcher, describeError, pj } from "./watcher.ts";

/** What the routes serve from. */
export interface WebServerDeps {
  /** Watchers in command-line order. */
  readonly watchers: readonly DaemonWatcher[];
  readonly broker: Broker;
  readonly assets: AssetStore;
  /** Undefined: admin is off. */
  readonly auth?: BasicAuth;
  readonly log: Logger;
  /** Deadline of an admin action's RPC, ms. */
  readonly actionTimeoutMs?: number;
  /** Wrong admin logins allowed per client (default: 10 a minute). */
  readonly loginThrottle?: LoginThrottle;
  /** Open `/api/events` streams at most (MAX_EVENT_STREAMS). */
  readonly maxEventStreams?: number;
  /** Peers (canonical addresses) whose X-Forwarded-Host/-Proto are believed. */
  readonly trustedProxies?: ReadonlySet<string>;
}

/** The peer's address, canonical, an IPv4-mapped IPv6 one as IPv4. */
export function peerAddress(info: Deno.ServeHandlerInfo | undefined): string {
  const a = info?.remoteAddr as Deno.NetAddr | undefined;
  if (!a?.hostname) return "";
  const h = a.hostname.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1");
  try {
    return parseAddress(h).address;
  } catch {
    return h;
  }
}

const MAX_ACTION_BODY = 16 * 1024;

/**
 * Dashboard event streams open at once, at most: each costs a buffer, and
 * 300 that never read took 133 MiB. A team's browsers need far fewer.
 */
export const MAX_EVENT_STREAMS = 100;

function text(body: string, status = 200, extra: HeadersInit = {}): Response {
  return new Response(body, {
    status,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store",
      ...extra,
    },
  });
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
    },
  });
}

const notFound = () => text("not found\n", 404);

/** FNV-1a over the bytes, as a strong ETag: cheap and synchronous. */
function etagOf(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return `"${h.toString(16).padStart(8, "0")}-${bytes.length}"`;
}

/** One icon file, ready to send. */
interface IconFile {
  readonly type: string;
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly etag: string;
}

function iconFile(type: string, bytes: Uint8Array<ArrayBuffer>): IconFile {
  return { type, bytes, etag: etagOf(bytes) };
}

const ICONS: ReadonlyMap<string, IconFile> = new Map([
  ["/favicon.ico", iconFile(FAVICON_TYPES.ico, FAVICON_ICO)],
  [
    "/favicon.svg",
    iconFile(FAVICON_TYPES.svg, new TextEncoder().encode(FAVICON_SVG)),
  ],
]);

/**
 * The icon at `path` ("/favicon.ico" or "/favicon.svg"), or undefined.
 * Browsers ask for it on every page, so it may be cached for a day.
 */
export function serveIcon(req: Request, path: string): Response | undefined {
  const f = ICONS.get(path);
  if (!f) return undefined;
  const headers = new Headers({
    "content-type": f.type,
    etag: f.etag,
    "cache-control": "public, max-age=86400",
    "x-content-type-options": "nosniff",
  });
  const inm = req.headers.get("if-none-match");
  if (inm && inm.split(",").some((t) => t.trim() === f.etag)) {
    return new Response(null, { status: 304, headers });
  }
  headers.set("content-length", String(f.bytes.length));
  return new Response(req.method === "HEAD" ? null : f.bytes, { headers });
}

/** `GET /view/api/version`: this program's build. */
export function versionDoc(): VersionDocument {
  return {
    program: "maglev web",
    version: VERSION,
    commit: COMMIT,
    buildDate: BUILD_DATE,
  };
}

function redirect(to: string): Response {
  return new Response(null, { status: 302, headers: { location: to } });
}

/** HTTP status for a daemon's gRPC error, so the SPA can tell why. */
export function httpStatusOf(e: unknown): number {
  if (!(e instanceof ConnectError)) return 502;
  switch (e.code) {
    case Code.NotFound:
      return 404;
    case Code.InvalidArgument:
      return 400;
    case Code.FailedPrecondition:
      return 409;
    case Code.Unavailable:
      return 503;
    case Code.DeadlineExceeded:
      return 504;
    default:
      return 502;
  }
}

/**
 * Validates an action body against the contract; a string is the reason
 * it is not one.
 */
export function parseAction(body: unknown): ActionRequest | string {
  if (typeof body !== "object" || body === null) {
    return "body must be a JSON object";
  }
  const b = body as Record<string, unknown>;
  const str = (k: string) => typeof b[k] === "string" && b[k] !== "";
  if (!str("scope")) return "scope is required";
  if (b.action === "confirm-guard") {
    if (!str("frontend")) return "frontend is required";
    return {
      scope: b.scope as string,
      action: "confirm-guard",
      frontend: b.frontend as string,
    };
  }
  if (!str("backend")) return "backend is required";
  switch (b.action) {
    case "pause":
    case "resume":
    case "enable":
    case "disable":
      return {
        scope: b.scope as string,
        action: b.action,
        backend: b.backend as string,
      };
    case "set-weight": {
      if (!str("frontend")) return "frontend is required";
      if (!str("pool")) return "pool is required";
      const w = b.weight;
      if (typeof w !== "number" || !Number.isInteger(w) || w < 0 || w > 100) {
        return "weight must be an integer 0..100";
      }
      return {
        scope: b.scope as string,
        action: "set-weight",
        frontend: b.frontend as string,
        pool: b.pool as string,
        backend: b.backend as string,
        weight: w,
      };
    }
    default:
      return "action must be pause, resume, enable, disable, set-weight or confirm-guard";
  }
}

/** Builds the request handler. */
export function createHandler(
  deps: WebServerDeps,
): (req: Request, info?: Deno.ServeHandlerInfo) => Promise<Response> {
  const byId = new Map(deps.watchers.map((w) => [w.id, w]));
  const throttle = deps.loginThrottle ?? new LoginThrottle();

  // Watchers publish synchronously, so the id read with the states is
  // exactly the last event they include.
  const stateDoc = (admin: boolean): StateDocument => ({
    version: VERSION,
    scopes: deps.watchers.map((w) => w.state()),
    admin,
    lastEventId: deps.broker.lastId,
  });

  const daemonList = (): DaemonListDocument => ({
    maglevds: deps.watchers.map((w) => {
      const s = w.scope;
      return {
        name: w.id,
        address: w.id,
        connected: s.connected,
        ...(s.error === undefined ? {} : { error: s.error }),
        sinceMs: s.sinceMs,
        ...(s.version === undefined ? {} : { version: s.version }),
      };
    }),
  });

  /** `/api/state/{name}`: one daemon's state; `name` as it came in the path. */
  const scopeState = (raw: string): Response => {
    let name: string;
    try {
      name = decodeURIComponent(raw);
    } catch {
      return json({ error: "daemon name is not valid URL encoding" }, 400);
    }
    const w = byId.get(name);
    if (w) return json(w.state());
    const known = deps.watchers.map((x) => x.id);
    const body: UnknownDaemonError = {
      error: `no daemon "${name}"; known: ${known.join(", ")}`,
      known,
    };
    return json(body, 404);
  };

  const events = (req: Request): Response => {
    if (
      deps.broker.clientCount >= (deps.maxEventStreams ?? MAX_EVENT_STREAMS)
    ) {
      deps.log.warn("sse-client-refused", {
        clients: deps.broker.clientCount,
        meaning:
          "too many open dashboard event streams; a browser retries by itself",
      });
      // The page retries a refused stream itself, backing off to 30 s.
      return text("too many event streams, try again later\n", 429, {
        "retry-after": "10",
      });
    }
    // The browser's own Last-Event-ID (a reconnect) wins over ?since= (the
    // state document the page started from).
    const client = deps.broker.subscribe(
      req.headers.get("last-event-id") ??
        new URL(req.url).searchParams.get("since"),
    );
    // A closed connection cancels the body stream, which unsubscribes.
    return new Response(client.stream, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        "x-accel-buffering": "no",
      },
    });
  };

  const action = async (req: Request): Promise<Response> => {
    const len = Number(req.headers.get("content-length") ?? "0");
    if (len > MAX_ACTION_BODY) {
      return json({ ok: false, error: "body too large" }, 413);
    }
    let body: unknown;
    try {
      const raw = await req.text();
      if (raw.length > MAX_ACTION_BODY) {
        return json({ ok: false, error: "body too large" }, 413);
      }
      body = JSON.parse(raw);
    } catch {
      return json({ ok: false, error: "body must be JSON" }, 400);
    }
    const a = parseAction(body);
    if (typeof a === "string") return json({ ok: false, error: a }, 400);
    const w = byId.get(a.scope);
    if (!w) {
      return json({ ok: false, error: `unknown scope "${a.scope}"` }, 404);
    }
    const conn = w.connection;
    if (!conn) {
      return json({
        ok: false,
        error: `daemon ${a.scope} is not connected${
          w.scope.error ? `: ${w.scope.error}` : ""
        }`,
      }, 503);
    }
    const opts = {
      signal: AbortSignal.timeout(deps.actionTimeoutMs ?? 10_000),
    };
    const c = conn.client;
    try {
      let result: unknown;
      switch (a.action) {
        case "pause":
          result = pj(
            BackendInfoSchema,
            await c.pauseBackend({ name: a.backend }, opts),
          );
          break;
        case "resume":
          result = pj(
            BackendInfoSchema,
            await c.resumeBackend({ name: a.backend }, opts),
          );
          break;
        case "enable":
          result = pj(
            BackendInfoSchema,
            await c.enableBackend({ name: a.backend }, opts),
          );
          break;
        case "disable":
          result = pj(
            BackendInfoSchema,
            await c.disableBackend({ name: a.backend }, opts),
          );
          break;
        case "confirm-guard":
          result = pj(
            FrontendInfoSchema,
            await c.confirmFrontendGuard({ name: a.frontend }, opts),
          );
          break;
        case "set-weight":
          result = pj(
            FrontendInfoSchema,
            await c.setFrontendPoolBackendWeight({
              frontend: a.frontend,
              pool: a.pool,
              backend: a.backend,
              weight: a.weight,
            }, opts),
          );
          break;
      }
      deps.log.info("admin-action", { ...a, ok: true });
      void w.refresh();
      return json({ ok: true, result });
    } catch (e) {
      const error = describeError(e);
      deps.log.warn("admin-action", { ...a, ok: false, error });
      return json({ ok: false, error }, httpStatusOf(e));
    }
  };

  /** Routes below `/view/` or `/admin/`; `rest` starts with "/". */
  const ui = (
    req: Request,
    rest: string,
    admin: boolean,
    info: Deno.ServeHandlerInfo | undefined,
  ): Response | Promise<Response> => {
    const get = req.method === "GET" || req.method === "HEAD";
    if (rest === "/api/action") {
      if (!admin) return notFound();
      if (req.method !== "POST") {
        return text("method not allowed\n", 405, { allow: "POST" });
      }
      const trusted = deps.trustedProxies?.has(peerAddress(info)) ?? false;
      if (!sameOrigin(req, trusted)) return text("forbidden\n", 403);
      return action(req);
    }
    if (!get) return text("method not allowed\n", 405, { allow: "GET, HEAD" });
    if (rest === "/api/state") return json(stateDoc(admin));
    if (rest.startsWith("/api/state/")) {
      return scopeState(rest.slice("/api/state/".length));
    }
    if (rest === "/api/maglevds") return json(daemonList());
    if (rest === "/api/version") return json(versionDoc());
    if (rest === "/api/events") return events(req);
    const path = rest === "/" ? "/index.html" : rest;
    return deps.assets.serve(req, path) ?? serveIcon(req, path) ??
      notFound();
  };

  return (
    req: Request,
    info?: Deno.ServeHandlerInfo,
  ): Promise<Response> => {
    const { pathname } = new URL(req.url);
    if (pathname === "/healthz") return Promise.resolve(text("ok\n"));
    // Browsers and tools ask the root for the icon, whatever the page.
    if (pathname === "/favicon.ico" || pathname === "/favicon.svg") {
      if (req.method !== "GET" && req.method !== "HEAD") {
        return Promise.resolve(
          text("method not allowed\n", 405, { allow: "GET, HEAD" }),
        );
      }
      return Promise.resolve(serveIcon(req, pathname) ?? notFound());
    }
    if (pathname === "/") return Promise.resolve(redirect("/view/"));
    if (pathname === "/view") return Promise.resolve(redirect("/view/"));
    if (pathname.startsWith("/view/")) {
      return Promise.resolve(ui(req, pathname.slice(5), false, info));
    }
    if (pathname === "/admin" || pathname.startsWith("/admin/")) {
      if (!deps.auth) return Promise.resolve(notFound());
      const peer = peerAddress(info);
      const wait = throttle.waitSeconds(peer);
      if (wait > 0) {
        return Promise.resolve(
          text("too many wrong logins, try again later\n", 429, {
            "retry-after": String(wait),
          }),
        );
      }
      if (!deps.auth.check(req.headers.get("authorization"))) {
        // A browser's first request has no credentials yet: not a guess.
        if (
          req.headers.get("authorization") !== null && throttle.failed(peer)
        ) {
          deps.log.warn("admin-login-throttled", {
            client: peer,
            meaning:
              "too many wrong passwords from this client: refused for a minute",
          });
        }
        return Promise.resolve(unauthorized());
      }
      throttle.succeeded(peer);
      if (pathname === "/admin") return Promise.resolve(redirect("/admin/"));
      return Promise.resolve(ui(req, pathname.slice(6), true, info));
    }
    return Promise.resolve(notFound());
  };
}
