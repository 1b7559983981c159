/**
 * The contract between the dashboard server (`maglev web`, src/web/) and the
 * browser app (web/): JSON documents and SSE events. Plain JSON shapes
 * (protobuf JSON of the API messages where noted), so the SPA needs no
 * protobuf code.
 */

/** One daemon the dashboard watches (a "scope"). */
export interface ScopeInfo {
  /** Stable id: the `host:port` given on the command line. */
  readonly id: string;
  /** Whether the WatchEvents stream is up right now. */
  readonly connected: boolean;
  /** Why not, when not connected (one line). */
  readonly error?: string;
  /** When the stream last (re)connected or dropped, ms since epoch. */
  readonly sinceMs: number;
  /** Daemon version string, once known. */
  readonly version?: string;
}

/**
 * Everything the dashboard shows about one daemon. `frontends` and
 * `backends` are the protobuf JSON (camelCase fields, int64 as strings) of
 * the API's FrontendInfo / BackendInfo.
 */
export interface ScopeState {
  readonly scope: ScopeInfo;
  readonly frontends: readonly unknown[];
  readonly backends: readonly unknown[];
  /** VPPInfo as protobuf JSON, or undefined when VPP is off/away. */
  readonly vpp?: unknown;
  /** Why VPP info is missing (e.g. "VPP integration is off ..."). */
  readonly vppError?: string;
  /** VPPLBState as protobuf JSON (for bucket shares), when available. */
  readonly lbState?: unknown;
  /** Server time of this snapshot, ms since epoch. */
  readonly atMs: number;
}

/** `GET /view/api/state`: every scope. */
export interface StateDocument {
  readonly version: string;
  readonly scopes: readonly ScopeState[];
  /** Whether this page is the admin UI (actions allowed). */
  readonly admin: boolean;
  /**
   * Id of the last event this document includes. The page opens the event
   * stream with `?since=` this id, so nothing published between the two
   * requests is lost (it is replayed) and nothing is applied twice.
   */
  readonly lastEventId: string;
}

/**
 * `GET /view/api/state/{name}`: one daemon's ScopeState (the element of
 * StateDocument.scopes whose `scope.id` is `name`, URL-decoded). An unknown
 * name answers 404 with this body, naming the daemons there are.
 */
export interface UnknownDaemonError {
  readonly error: string;
  /** The names (`scope.id`) the dashboard watches, in command-line order. */
  readonly known: readonly string[];
}

/** One entry of `GET /view/api/maglevds`: a daemon the dashboard watches. */
export interface DaemonEntry {
  /** The name used in `/api/state/{name}` and in actions' `scope`. */
  readonly name: string;
  /** Where the dashboard connects (the `--server` entry: host:port or unix:PATH). */
  readonly address: string;
  /** Whether its event stream is up right now. */
  readonly connected: boolean;
  /** Why not, when not connected. */
  readonly error?: string;
  /** When it last (re)connected or dropped, ms since epoch. */
  readonly sinceMs: number;
  /** The daemon's version, once known. */
  readonly version?: string;
}

/**
 * `GET /view/api/maglevds`: the daemons given by `--server`, in that order,
 * so a script can list them without the whole state.
 */
export interface DaemonListDocument {
  readonly maglevds: readonly DaemonEntry[];
}

/** `GET /view/api/version`: the dashboard's own build (not a daemon's). */
export interface VersionDocument {
  readonly program: "maglev web";
  readonly version: string;
  /** Git commit, or "unknown" when run from source. */
  readonly commit: string;
  /** UTC build date (ISO 8601), or "unknown" when run from source. */
  readonly buildDate: string;
}

/**
 * Server-sent events on `GET /view/api/events` (and `/admin/api/events`).
 * Each has an `id:` line ("<epoch>-<seq>") so a browser that reconnects
 * with `Last-Event-ID` (or opens the stream with `?since=` the state
 * document's `lastEventId`) gets what it missed from the replay ring, or a
 * `resync` when the gap is too old.
 *
 * | event name | data |
 * | ---------- | ---- |
 * | `scope`    | ScopeInfo (connection changes) |
 * | `backend`  | `{scope, event}`: protobuf JSON of the API's BackendEvent (from == to, no transition: a refresh found it changed) |
 * | `frontend` | `{scope, event}`: protobuf JSON of FrontendEvent (from == to: new weights found by a refresh) |
 * | `log`      | `{scope, event}`: protobuf JSON of LogEvent, except probe-start/probe-done and vpp-api-* (summed up in `activity`) |
 * | `activity` | ActivityEvent: probes in flight and done, VPP API messages (at most twice a second per daemon) |
 * | `lbstate`  | `{scope, lbState}`: the VPP lb state (protobuf JSON of VPPLBState) changed |
 * | `resync`   | `{}` or `{scope}`: refetch /view/api/state |
 */
export type SseEventName =
  | "scope"
  | "backend"
  | "frontend"
  | "log"
  | "activity"
  | "lbstate"
  | "resync";

/** The probe heartbeat and VPP API pulse of one daemon, summed over a short window. */
export interface ActivityEvent {
  readonly scope: string;
  /** Backends with a probe in flight when the event was sent. */
  readonly inFlight: readonly string[];
  /** Backends whose probe finished during the window. */
  readonly probed: readonly string[];
  /** VPP API messages sent or received during the window. */
  readonly vppMessages: number;
}

/**
 * `POST /admin/api/action` (basic auth + same-origin), JSON body. Answers
 * 200 with `{ok: true, result}` (result: protobuf JSON of the RPC reply) or
 * 4xx/5xx with `{ok: false, error}` (one line, from the daemon).
 */
export type ActionRequest =
  | {
    readonly scope: string;
    readonly action: "pause" | "resume" | "enable" | "disable";
    readonly backend: string;
  }
  | {
    readonly scope: string;
    readonly action: "set-weight";
    readonly frontend: string;
    readonly pool: string;
    readonly backend: string;
    readonly weight: number;
  }
  | {
    readonly scope: string;
    /** Accept what a frontend's tripped min-healthy guard holds back. */
    readonly action: "confirm-guard";
    readonly frontend: string;
  };
