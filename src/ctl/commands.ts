/**
 * Executing a parsed `maglev ctl` command through the API client, and
 * turning every failure into one line an operator can act on. Only the
 * generated API client is used here: ctl never reaches into the daemon.
 */
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import {
  AdoptVPPLBVIPResponseSchema,
  BackendInfoSchema,
  CheckConfigResponseSchema,
  EventSchema,
  type FrontendInfo,
  FrontendInfoSchema,
  HealthCheckInfoSchema,
  ListBackendsResponseSchema,
  ListFrontendsResponseSchema,
  ListHealthChecksResponseSchema,
  type Maglev,
  ReloadConfigResponseSchema,
  SyncVPPLBStateResponseSchema,
  VersionInfoSchema,
  VPPInfoSchema,
  VPPLBCountersSchema,
  VPPLBStateSchema,
} from "../api/gen/maglev/v1/maglev_pb.ts";
import { toJson } from "@bufbuild/protobuf";
import { BUILD_DATE, COMMIT, VERSION } from "../version.ts";
import { networkReason } from "../api/client.ts";
import type { ParsedCommand } from "./parse.ts";
import { listCommands } from "./parse.ts";
import {
  configErrorLines,
  errorLine,
  jsonLine,
  jsonText,
  renderBackend,
  renderBackends,
  renderCommandList,
  renderEvent,
  renderFrontend,
  renderFrontends,
  renderHealthCheck,
  renderHealthChecks,
  renderReload,
  renderSync,
  renderVersion,
  renderVppInfo,
  renderVppLbCounters,
  renderVppLbState,
  type Style,
} from "./render.ts";
import type { NameSource } from "./tree.ts";

/** The API client type ctl talks through. */
export type MaglevClient = Client<typeof Maglev>;

/** Where a command writes: `out` for results, `err` for error lines. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** Everything a command needs to run. */
export interface CtlContext {
  readonly client: MaglevClient;
  /** `host:port` of the daemon, for messages. */
  readonly server: string;
  readonly output: Output;
  /** Colour for stdout. */
  readonly style: Style;
  /** Colour for stderr (it may be a terminal when stdout is not). */
  readonly errStyle: Style;
  /** Print API messages as JSON instead of tables. */
  readonly json: boolean;
  /** Print `watch events` as one JSON line per event (json, or auto off a terminal). */
  readonly eventsJson?: boolean;
  /**
   * Ends the command: cancels a pending call, and is the normal way a
   * `watch events` stops (key press, Ctrl-C).
   */
  readonly signal?: AbortSignal;
  /** The clock, for "3s ago"; tests pin it. */
  readonly now?: () => number;
}

/** Outcome of one command: exit status, and whether the shell should end. */
export interface CommandResult {
  readonly code: number;
  readonly quit?: boolean;
}

/** Unary calls give up after this long, so a black-holed address fails. */
export const CALL_TIMEOUT_MS = 15_000;

/** This client's build identity, as `show version` reports it. */
export const CLIENT_VERSION = {
  version: VERSION,
  commit: COMMIT,
  buildDate: BUILD_DATE,
} as const;

/**
 * One line for any failure, without RPC noise: the daemon's own message
 * (it says what to do), or for network trouble the address and what to
 * check.
 */
export function describeError(e: unknown, server: string): string {
  if (e instanceof ConnectError) {
    const net = networkReason(e);
    if (net) {
      return `cannot reach maglev daemon at ${server} (${net}): is it running? check --server / MAGLEV_SERVER`;
    }
    if (e.code === Code.DeadlineExceeded) {
      return `maglev daemon at ${server} did not answer within ${
        CALL_TIMEOUT_MS / 1000
      }s: is the address right? check --server / MAGLEV_SERVER`;
    }
    // Our own cancellations never get here (execute checks its signal):
    // a CANCEL from the transport means the connection went away.
    if (e.code === Code.Canceled) {
      return `maglev daemon at ${server} closed the connection`;
    }
    if (/ENHANCE_YOUR_CALM/.test(e.rawMessage)) {
      return "the daemon dropped this event stream: it fell too far behind (ask for fewer events, e.g. a higher log level)";
    }
    const msg = e.rawMessage.split("\n")[0].trim();
    return msg || `${Code[e.code]} from maglev daemon at ${server}`;
  }
  if (e instanceof Error) return e.message.split("\n")[0];
  return String(e);
}

/**
 * Live names for completion, fetched through the API and kept for a
 * couple of seconds so repeated Tabs do not hammer the daemon.
 */
export class NameCache implements NameSource {
  readonly #client: MaglevClient;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<
    string,
    { at: number; value: Promise<unknown> }
  >();

  constructor(
    client: MaglevClient,
    ttlMs = 2000,
    now: () => number = () => performance.now(),
  ) {
    this.#client = client;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  #cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.#entries.get(key);
    const t = this.#now();
    if (hit && t - hit.at < this.#ttlMs) return hit.value as Promise<T>;
    const value = load();
    this.#entries.set(key, { at: t, value });
    // A failed lookup is not cached: the next Tab asks again.
    value.catch(() => this.#entries.delete(key));
    return value;
  }

  #frontendInfos(): Promise<FrontendInfo[]> {
    return this.#cached(
      "frontends",
      async () =>
        (await this.#client.listFrontends({}, { timeoutMs: 3000 })).frontends,
    );
  }

  /** Frontend names in config order. */
  async frontends(): Promise<readonly string[]> {
    return (await this.#frontendInfos()).map((f) => f.name);
  }

  /** Backend names in config order. */
  async backends(): Promise<readonly string[]> {
    const r = await this.#cached(
      "backends",
      () => this.#client.listBackends({}, { timeoutMs: 3000 }),
    );
    return r.backends.map((b) => b.name);
  }

  /** Health check names. */
  async healthChecks(): Promise<readonly string[]> {
    const r = await this.#cached(
      "healthchecks",
      () => this.#client.listHealthChecks({}, { timeoutMs: 3000 }),
    );
    return r.healthchecks.map((h) => h.name);
  }

  /** Pools of one frontend, in priority order. */
  async pools(frontend: string): Promise<readonly string[]> {
    const f = (await this.#frontendInfos()).find((x) => x.name === frontend);
    return f?.pools.map((p) => p.name) ?? [];
  }

  /** Members of one pool. */
  async poolBackends(
    frontend: string,
    pool: string,
  ): Promise<readonly string[]> {
    const f = (await this.#frontendInfos()).find((x) => x.name === frontend);
    const p = f?.pools.find((x) => x.name === pool);
    return p?.backends.map((b) => b.name) ?? [];
  }
}

const fail = (ctx: CtlContext, message: string): CommandResult => {
  ctx.output.err(errorLine(ctx.errStyle, message));
  return { code: 1 };
};

/**
 * Runs one parsed command. Never throws for a failed call: it prints one
 * error line and returns exit status 1.
 */
export async function execute(
  cmd: ParsedCommand,
  ctx: CtlContext,
): Promise<CommandResult> {
  try {
    return await run(cmd, ctx);
  } catch (e) {
    if (ctx.signal?.aborted) return fail(ctx, "interrupted");
    return fail(ctx, describeError(e, ctx.server));
  }
}

async function run(
  cmd: ParsedCommand,
  ctx: CtlContext,
): Promise<CommandResult> {
  const { client, style, json, output } = ctx;
  const opts = { signal: ctx.signal, timeoutMs: CALL_TIMEOUT_MS };
  const now = ctx.now?.() ?? Date.now();
  const a = cmd.args;
  const print = (text: string): CommandResult => {
    output.out(text);
    return { code: 0 };
  };
  switch (cmd.action) {
    case "show-version": {
      let daemon;
      try {
        daemon = await client.getVersion({}, opts);
      } catch (e) {
        if (!json) output.out(renderVersion(style, CLIENT_VERSION, ctx.server));
        throw e;
      }
      if (json) {
        return print(JSON.stringify(
          {
            client: CLIENT_VERSION,
            daemon: toJson(VersionInfoSchema, daemon, {
              alwaysEmitImplicit: true,
            }),
            server: ctx.server,
          },
          null,
          2,
        ));
      }
      return print(renderVersion(style, CLIENT_VERSION, ctx.server, daemon));
    }
    case "show-frontends": {
      const r = await client.listFrontends({}, opts);
      return print(
        json
          ? jsonText(ListFrontendsResponseSchema, r)
          : renderFrontends(style, r.frontends),
      );
    }
    case "show-frontend": {
      const r = await client.getFrontend({ name: a.frontend }, opts);
      return print(
        json ? jsonText(FrontendInfoSchema, r) : renderFrontend(style, r),
      );
    }
    case "show-backends": {
      const r = await client.listBackends({}, opts);
      return print(
        json
          ? jsonText(ListBackendsResponseSchema, r)
          : renderBackends(style, r.backends, now),
      );
    }
    case "show-backend": {
      const r = await client.getBackend({ name: a.backend }, opts);
      return print(
        json ? jsonText(BackendInfoSchema, r) : renderBackend(style, r, now),
      );
    }
    case "show-healthchecks": {
      const r = await client.listHealthChecks({}, opts);
      return print(
        json
          ? jsonText(ListHealthChecksResponseSchema, r)
          : renderHealthChecks(style, r.healthchecks),
      );
    }
    case "show-healthcheck": {
      const r = await client.getHealthCheck({ name: a.healthcheck }, opts);
      return print(
        json ? jsonText(HealthCheckInfoSchema, r) : renderHealthCheck(style, r),
      );
    }
    case "show-vpp-info": {
      const r = await client.getVPPInfo({}, opts);
      return print(
        json ? jsonText(VPPInfoSchema, r) : renderVppInfo(style, r, now),
      );
    }
    case "show-vpp-lb-state": {
      const r = await client.getVPPLBState({}, opts);
      return print(
        json ? jsonText(VPPLBStateSchema, r) : renderVppLbState(style, r),
      );
    }
    case "show-vpp-lb-counters": {
      const r = await client.getVPPLBCounters({}, opts);
      return print(
        json ? jsonText(VPPLBCountersSchema, r) : renderVppLbCounters(style, r),
      );
    }
    case "sync-vpp-lb-state": {
      const r = await client.syncVPPLBState({
        frontend: a.frontend ?? "",
        dryRun: a.dryRun === "true",
      }, opts);
      return print(
        json ? jsonText(SyncVPPLBStateResponseSchema, r) : renderSync(style, r),
      );
    }
    case "adopt-vpp-lb-vip": {
      const r = await client.adoptVPPLBVIP({
        prefix: a.prefix,
        protocol: a.protocol,
        port: Number(a.port),
      }, opts);
      if (json) return print(jsonText(AdoptVPPLBVIPResponseSchema, r));
      const vip = `${a.prefix} ${a.protocol}/${a.port}`;
      return print(
        r.adopted
          ? `VIP ${vip} adopted: the next full sync (sync vpp lb state) removes it unless a frontend claims it`
          : `VIP ${vip} was already managed by maglev`,
      );
    }
    case "set-backend": {
      const req = { name: a.backend };
      const r = a.op === "pause"
        ? await client.pauseBackend(req, opts)
        : a.op === "resume"
        ? await client.resumeBackend(req, opts)
        : a.op === "enable"
        ? await client.enableBackend(req, opts)
        : await client.disableBackend(req, opts);
      if (json) return print(jsonText(BackendInfoSchema, r));
      return print(
        `backend ${r.name}: ${r.state}${
          r.pausedFrom
            ? ` (paused from ${r.pausedFrom}; its weight stays as it was)`
            : ""
        }`,
      );
    }
    case "confirm-guard": {
      const r = await client.confirmFrontendGuard({ name: a.frontend }, opts);
      if (json) return print(jsonText(FrontendInfoSchema, r));
      return print(
        `frontend ${r.name}: guard confirmed; weights follow the health checks again`,
      );
    }
    case "set-weight": {
      const r = await client.setFrontendPoolBackendWeight({
        frontend: a.frontend,
        pool: a.pool,
        backend: a.backend,
        weight: Number(a.weight),
      }, opts);
      if (json) return print(jsonText(FrontendInfoSchema, r));
      const m = r.pools.find((p) => p.name === a.pool)?.backends.find((b) =>
        b.name === a.backend
      );
      return print(
        `frontend ${r.name} pool ${a.pool} backend ${a.backend}: weight ${
          m?.weight ?? a.weight
        }, effective ${m?.effectiveWeight ?? "?"}`,
      );
    }
    case "watch-events":
      return { code: await watchEvents(cmd, ctx) };
    case "config-check": {
      const r = await client.checkConfig({}, opts);
      if (json) {
        output.out(jsonText(CheckConfigResponseSchema, r));
        return { code: r.ok ? 0 : 1 };
      }
      if (r.ok) return print("config OK");
      const lines = configErrorLines(r);
      output.err(
        [
          errorLine(
            ctx.errStyle,
            `config is invalid (${plural(lines.length, "problem")}):`,
          ),
          ...lines.map((l) => `  ${l}`),
        ].join("\n"),
      );
      return { code: 1 };
    }
    case "config-reload": {
      const r = await client.reloadConfig({}, opts);
      if (json) {
        output.out(jsonText(ReloadConfigResponseSchema, r));
        return { code: r.ok ? 0 : 1 };
      }
      if (r.ok) return print(renderReload(style, r));
      const lines = configErrorLines(r);
      output.err(
        [
          errorLine(
            ctx.errStyle,
            `reload refused, nothing changed (${
              plural(lines.length, "problem")
            }):`,
          ),
          ...lines.map((l) => `  ${l}`),
        ].join("\n"),
      );
      return { code: 1 };
    }
    case "help":
      return print(
        [
          "Commands (words may be shortened to a unique prefix):",
          renderCommandList(style, listCommands()),
          "In the shell, Tab completes a word and ? lists what may come next.",
        ].join("\n"),
      );
    case "quit":
      return { code: 0, quit: true };
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * `watch events`: prints each event as it comes; ends after `num` events
 * or when ctx.signal fires (exit 0), or when the daemon ends the stream or
 * goes away (one error line, exit 1). The stream is always cancelled.
 */
async function watchEvents(
  cmd: ParsedCommand,
  ctx: CtlContext,
): Promise<number> {
  const a = cmd.args;
  const num = a.num ? Number(a.num) : Infinity;
  const stop = new AbortController();
  const onStop = () => stop.abort();
  ctx.signal?.addEventListener("abort", onStop, { once: true });
  if (ctx.signal?.aborted) return 0;
  let seen = 0;
  try {
    const stream = ctx.client.watchEvents({
      log: a.log === "true",
      logLevel: a.level ?? "",
      backend: a.backend === "true",
      frontend: a.frontend === "true",
    }, { signal: stop.signal });
    for await (const e of stream) {
      ctx.output.out(
        ctx.json || ctx.eventsJson
          ? jsonLine(EventSchema, e)
          : renderEvent(ctx.style, e),
      );
      if (++seen >= num) return 0;
      if (stop.signal.aborted) return 0;
    }
    if (stop.signal.aborted) return 0;
    ctx.output.err(errorLine(
      ctx.errStyle,
      `maglev daemon at ${ctx.server} ended the event stream (stopping or restarting?)`,
    ));
    return 1;
  } catch (e) {
    if (stop.signal.aborted) return 0;
    let msg = describeError(e, ctx.server);
    if (
      seen > 0 && e instanceof ConnectError &&
      (networkReason(e) || e.code === Code.Canceled)
    ) {
      msg = `lost the event stream from maglev daemon at ${ctx.server} (${
        networkReason(e) ?? "connection closed"
      })`;
    }
    ctx.output.err(errorLine(ctx.errStyle, msg));
    return 1;
  } finally {
    stop.abort();
    ctx.signal?.removeEventListener("abort", onStop);
  }
}
