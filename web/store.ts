/**
 * The dashboard's state: signals fed by `GET <base>/state` and the SSE stream
 * `<base>/events` (see src/web/types.ts). Components only read signals; all
 * mutation happens here so the event handling is in one place.
 */
import { batch, computed, type Signal, signal } from "@preact/signals";
import type {
  ActionRequest,
  ActivityEvent,
  ScopeInfo,
  ScopeState,
  StateDocument,
} from "../src/web/types.ts";
import { getCookie, setCookie } from "./cookies.ts";
import type {
  BackendEventJson,
  BackendJson,
  FrontendEventJson,
  FrontendJson,
  LogEventJson,
  VppInfoJson,
  VppLbStateJson,
} from "./proto.ts";

/** ScopeState with its protobuf JSON typed for the UI. */
export interface ScopeView {
  readonly scope: ScopeInfo;
  readonly frontends: readonly FrontendJson[];
  readonly backends: readonly BackendJson[];
  readonly vpp?: VppInfoJson;
  readonly vppError?: string;
  readonly lbState?: VppLbStateJson;
  readonly atMs: number;
}

/** One line of the live event log. */
export interface LogLine {
  readonly seq: number;
  readonly scope: string;
  readonly atMs: number;
  readonly kind: string;
  readonly level: string;
  readonly text: string;
}

const SCOPE_COOKIE = "maglev_scope";
const LOG_LIMIT = 300;

/** "/admin/api" on the admin page, "/view/api" otherwise. */
export const apiBase: string = location.pathname.startsWith("/admin")
  ? "/admin/api"
  : "/view/api";

export const scopes = signal<readonly ScopeView[]>([]);
export const serverVersion = signal("");
export const admin = signal(apiBase === "/admin/api");
/** Whether the first state document arrived (and whether it failed). */
export const loaded = signal(false);
export const loadError = signal("");
/** Whether the SSE stream is up; false shows the stale banner. */
export const streamUp = signal(false);
const chosen = signal(getCookie(SCOPE_COOKIE) ?? "");
/** A backend's probe heartbeat: in flight now, and probes seen so far. */
export interface Beat {
  readonly live: boolean;
  readonly count: number;
}

/**
 * One signal per backend, so a probe re-renders only that row's dot, not
 * every table: with hundreds of backends the heartbeat is the busiest
 * thing on the page.
 */
const beats = new Map<string, Signal<Beat>>();

/** The heartbeat signal of one backend (created on first use). */
export function beatOf(scope: string, backend: string): Signal<Beat> {
  const key = scopeKey(scope, backend);
  let s = beats.get(key);
  if (s === undefined) {
    s = signal<Beat>({ live: false, count: 0 });
    beats.set(key, s);
  }
  return s;
}
/** Backends shown as in flight, per scope, to clear them on the next event. */
const liveNow = new Map<string, ReadonlySet<string>>();
/** Count of VPP API log events per scope (each increment pulses). */
export const vppActivity = signal<Readonly<Record<string, number>>>({});
export const logLines = signal<readonly LogLine[]>([]);
/** Wall clock, ticking once a second, for live "since" columns. */
export const now = signal(Date.now());

/** The scope on screen: the cookie's choice if it still exists. */
export const currentScope = computed<ScopeView | undefined>(() => {
  const all = scopes.value;
  return all.find((s) => s.scope.id === chosen.value) ?? all[0];
});

/** Switches the scope on screen and remembers it across reloads. */
export function chooseScope(id: string): void {
  chosen.value = id;
  setCookie(SCOPE_COOKIE, id);
}

/** Key for per-scope, per-backend maps. */
export function scopeKey(scope: string, backend: string): string {
  return `${scope}\u0000${backend}`;
}

function toView(s: ScopeState): ScopeView {
  return {
    scope: s.scope,
    frontends: s.frontends as FrontendJson[],
    backends: s.backends as BackendJson[],
    vpp: s.vpp as VppInfoJson | undefined,
    vppError: s.vppError,
    lbState: s.lbState as VppLbStateJson | undefined,
    atMs: s.atMs,
  };
}

function updateScope(id: string, f: (s: ScopeView) => ScopeView): void {
  scopes.value = scopes.value.map((s) => s.scope.id === id ? f(s) : s);
}

/**
 * Loads the whole state document; returns the id of the last event it
 * includes, or undefined when it could not be loaded.
 */
async function fetchState(): Promise<string | undefined> {
  try {
    const res = await fetch(`${apiBase}/state`, {
      headers: { accept: "application/json" },
      cache: "no-store",
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const doc = await res.json() as StateDocument;
    batch(() => {
      scopes.value = doc.scopes.map(toView);
      serverVersion.value = doc.version;
      if (doc.admin) admin.value = true;
      loaded.value = true;
      loadError.value = "";
    });
    return doc.lastEventId;
  } catch (e) {
    loadError.value = `cannot load state: ${
      e instanceof Error ? e.message : String(e)
    }`;
    return undefined;
  }
}

let logSeq = 0;

function pushLog(line: Omit<LogLine, "seq">): void {
  const next = [...logLines.value, { ...line, seq: ++logSeq }];
  logLines.value = next.length > LOG_LIMIT
    ? next.slice(next.length - LOG_LIMIT)
    : next;
}

function onScope(info: ScopeInfo): void {
  if (scopes.value.some((s) => s.scope.id === info.id)) {
    updateScope(info.id, (s) => ({ ...s, scope: info }));
  } else {
    scopes.value = [...scopes.value, {
      scope: info,
      frontends: [],
      backends: [],
      atMs: Date.now(),
    }];
  }
  pushLog({
    scope: info.id,
    atMs: Date.now(),
    kind: "scope",
    level: info.connected ? "info" : "warn",
    text: info.connected
      ? "connected to daemon"
      : `disconnected${info.error ? `: ${info.error}` : ""}`,
  });
}

function onBackend(scope: string, ev: BackendEventJson): void {
  const info = ev.info;
  const name = ev.backend ?? info?.name ?? "";
  if (name === "") return;
  updateScope(scope, (s) => {
    const backends = info === undefined
      ? s.backends
      : s.backends.some((b) => b.name === name)
      ? s.backends.map((b) => b.name === name ? info : b)
      : [...s.backends, info];
    const state = info?.state ?? ev.transition?.to;
    // Pool rows show the member's state; keep them in step right away (the
    // frontend event with new effective weights follows).
    const frontends = state === undefined ? s.frontends : s.frontends.map(
      (f) => ({
        ...f,
        pools: (f.pools ?? []).map((p) => ({
          ...p,
          backends: (p.backends ?? []).map((m) =>
            m.name === name ? { ...m, state } : m
          ),
        })),
      }),
    );
    return { ...s, backends, frontends };
  });
  const t = ev.transition;
  if (t !== undefined && t.from !== t.to) {
    pushLog({
      scope,
      atMs: Date.now(),
      kind: "backend",
      level: t.to === "down" ? "warn" : "info",
      text: `backend ${name}: ${t.from ?? "unknown"} → ${t.to ?? "unknown"}${
        t.reason ? ` (${t.reason})` : t.code ? ` (${t.code})` : ""
      }`,
    });
  }
}

function onFrontend(scope: string, ev: FrontendEventJson): void {
  const info = ev.info;
  const name = ev.frontend ?? info?.name ?? "";
  if (info !== undefined && name !== "") {
    updateScope(scope, (s) => ({
      ...s,
      frontends: s.frontends.some((f) => f.name === name)
        ? s.frontends.map((f) => f.name === name ? info : f)
        : [...s.frontends, info],
    }));
  }
  if (ev.from !== ev.to) {
    pushLog({
      scope,
      atMs: Date.now(),
      kind: "frontend",
      level: ev.to === "down" ? "warn" : "info",
      text: `frontend ${name}: ${ev.from ?? "unknown"} → ${ev.to ?? "unknown"}`,
    });
  }
}

function onLog(scope: string, ev: LogEventJson): void {
  const msg = ev.msg ?? "";
  const attrs = Object.entries(ev.attrs ?? {})
    .map(([k, v]) => `${k}=${v}`).join(" ");
  pushLog({
    scope,
    atMs: Number(ev.atUnixNs ?? "0") / 1e6 || Date.now(),
    kind: "log",
    level: ev.level ?? "info",
    text: attrs === "" ? msg : `${msg} ${attrs}`,
  });
}

function onActivity(ev: ActivityEvent): void {
  batch(() => {
    const live = new Set(ev.inFlight);
    for (const name of liveNow.get(ev.scope) ?? []) {
      if (!live.has(name)) {
        const s = beatOf(ev.scope, name);
        s.value = { ...s.value, live: false };
      }
    }
    for (const name of live) {
      const s = beatOf(ev.scope, name);
      if (!s.value.live) s.value = { ...s.value, live: true };
    }
    for (const name of ev.probed) {
      const s = beatOf(ev.scope, name);
      s.value = { ...s.value, count: s.value.count + 1 };
    }
    liveNow.set(ev.scope, live);
    if (ev.vppMessages > 0) {
      const counts = vppActivity.value;
      vppActivity.value = {
        ...counts,
        [ev.scope]: (counts[ev.scope] ?? 0) + ev.vppMessages,
      };
    }
  });
}

function parse<T>(e: Event): T | undefined {
  try {
    return JSON.parse((e as MessageEvent<string>).data) as T;
  } catch {
    return undefined;
  }
}

interface Scoped<T> {
  readonly scope: string;
  readonly event: T;
}

let source: EventSource | undefined;
let retryMs = 1000;

/**
 * Loads the state, then opens the event stream from the state's last
 * event id, so events published in between are replayed rather than lost.
 * Used at start, on `resync`, and when the stream closed for good (an HTTP
 * error); retried with backoff while the server cannot be reached.
 */
export async function load(): Promise<void> {
  source?.close();
  source = undefined;
  streamUp.value = false;
  const since = await fetchState();
  if (since === undefined) {
    setTimeout(() => void load(), retryMs);
    retryMs = Math.min(retryMs * 2, 30_000);
    return;
  }
  connect(since);
}

/**
 * Opens the SSE stream after event `since`. The browser resumes short drops
 * itself (with Last-Event-ID); a stream closed for good reloads everything.
 */
function connect(since: string): void {
  const es = new EventSource(
    `${apiBase}/events?since=${encodeURIComponent(since)}`,
  );
  source = es;
  es.onopen = () => {
    streamUp.value = true;
    retryMs = 1000;
  };
  es.onerror = () => {
    streamUp.value = false;
    if (es.readyState === EventSource.CLOSED && source === es) {
      source = undefined;
      setTimeout(() => void load(), retryMs);
      retryMs = Math.min(retryMs * 2, 30_000);
    }
  };
  es.addEventListener("scope", (e) => {
    const d = parse<ScopeInfo>(e);
    if (d) onScope(d);
  });
  es.addEventListener("backend", (e) => {
    const d = parse<Scoped<BackendEventJson>>(e);
    if (d) onBackend(d.scope, d.event);
  });
  es.addEventListener("frontend", (e) => {
    const d = parse<Scoped<FrontendEventJson>>(e);
    if (d) onFrontend(d.scope, d.event);
  });
  es.addEventListener("log", (e) => {
    const d = parse<Scoped<LogEventJson>>(e);
    if (d) onLog(d.scope, d.event);
  });
  es.addEventListener("activity", (e) => {
    const d = parse<ActivityEvent>(e);
    if (d) onActivity(d);
  });
  es.addEventListener("lbstate", (e) => {
    const d = parse<{ scope: string; lbState?: unknown }>(e);
    if (d) {
      updateScope(d.scope, (s) => ({
        ...s,
        lbState: d.lbState as VppLbStateJson | undefined,
      }));
    }
  });
  es.addEventListener("resync", () => void load());
}

/** Result of an operator action, as the server answers it. */
export interface ActionResult {
  readonly ok: boolean;
  readonly error?: string;
}

/** Sends an operator action (admin page only). */
export async function postAction(req: ActionRequest): Promise<ActionResult> {
  try {
    const res = await fetch(`${apiBase}/action`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(req),
    });
    const body = await res.json().catch(() => ({})) as {
      ok?: boolean;
      error?: string;
    };
    if (res.ok && body.ok !== false) return { ok: true };
    return { ok: false, error: body.error ?? `HTTP ${res.status}` };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

/** Starts the clock and the stream; called once by main.tsx. */
export function start(): void {
  setInterval(() => {
    now.value = Date.now();
  }, 1000);
  void load();
}
