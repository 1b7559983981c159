/**
 * `maglev web`: flags, credentials, the daemon watchers, the HTTP server
 * and the process lifecycle (SIGHUP ignored, SIGTERM/SIGINT stop within
 * 2 s).
 */
import { readTokenFile } from "../daemon/grpc/auth.ts";
import { connectMaglev, readClientTls } from "../api/client.ts";
import { formatHostPort } from "../cli/addr.ts";
import { formatFlagHelp, UsageError } from "../cli/flags.ts";
import { defaultLogFormat, Logger } from "../cli/log.ts";
import { serveOn } from "../cli/addr.ts";
import { BUILD_DATE, COMMIT, VERSION, versionLine } from "../version.ts";
import { AssetStore } from "./assets.ts";
import { BasicAuth, CredentialsError, loadCredentials } from "./auth.ts";
import { Broker } from "./broker.ts";
import { parseWebOptions, WEB_FLAGS, withFrontendEnv } from "./flags.ts";
import { createHandler } from "./server.ts";
import { DaemonWatcher } from "./watcher.ts";

/** Exit codes of `maglev web`. */
export const WEB_EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** Lines written to stdout/stderr; injectable for in-process tests. */
export interface WebIo {
  out(line: string): void;
  err(line: string): void;
}

const stdio: WebIo = {
  out: (l) => console.log(l),
  err: (l) => console.error(l),
};

/** Help text of `maglev web --help`. */
export function webHelp(): string {
  return [
    "Usage: maglev web [flags]",
    "",
    "Live dashboard for one or more maglev daemons: /view/ (read-only) and",
    "/admin/ (operator actions, HTTP basic auth; off unless credentials are",
    "set). Signals: SIGHUP is ignored, SIGTERM/SIGINT stop.",
    "",
    "Flags (each also from its environment variable; flags win):",
    formatFlagHelp(WEB_FLAGS),
  ].join("\n");
}

/**
 * Runs the dashboard until SIGTERM/SIGINT (or `opts.signal`); returns the
 * exit code. Operator mistakes become one-line errors, never stack traces.
 */
export async function runWeb(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
  io: WebIo = stdio,
  opts: { signal?: AbortSignal } = {},
): Promise<number> {
  let o;
  try {
    o = parseWebOptions(args, withFrontendEnv(env));
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`maglev web: ${e.message}; see maglev web --help`);
      return WEB_EXIT.usage;
    }
    throw e;
  }
  if (o.help) {
    io.out(webHelp());
    return WEB_EXIT.ok;
  }
  if (o.version) {
    io.out(versionLine());
    return WEB_EXIT.ok;
  }
  let creds;
  try {
    creds = await loadCredentials(withFrontendEnv(env), o.credentialsFile);
  } catch (e) {
    if (e instanceof CredentialsError) {
      io.err(`maglev web: ${e.message}`);
      return WEB_EXIT.failure;
    }
    throw e;
  }
  let token: string | undefined;
  let tls;
  try {
    if (o.grpcTokenFile) token = readTokenFile(o.grpcTokenFile)[0];
    tls = readClientTls("grpc-tls-", o.grpcTls);
  } catch (e) {
    io.err(`maglev web: ${(e as Error).message}`);
    return WEB_EXIT.failure;
  }

  const log = new Logger({
    level: o.logLevel,
    format: o.logFormat ?? defaultLogFormat(),
  });
  log.info("starting", { version: VERSION, commit: COMMIT, date: BUILD_DATE });

  const broker = new Broker();
  broker.onDrop = () =>
    log.warn("sse-client-dropped", { reason: "fell behind" });
  const publish = broker.publish.bind(broker);
  const watchers = o.servers.map((s) =>
    new DaemonWatcher(s, {
      publish,
      log,
      connect: (server) => connectMaglev(server, { token, tls }),
    })
  );
  const assets = await AssetStore.create();
  const handler = createHandler({
    watchers,
    broker,
    assets,
    auth: creds ? new BasicAuth(creds) : undefined,
    log,
    trustedProxies: new Set(o.trustedProxies),
  });

  const abort = new AbortController();
  let server;
  try {
    server = serveOn(o.listen, handler, abort.signal);
  } catch (e) {
    io.err(
      `maglev web: cannot listen on ${formatHostPort(o.listen)}: ${
        e instanceof Deno.errors.AddrInUse
          ? "address in use"
          : (e as Error).message
      }`,
    );
    return WEB_EXIT.failure;
  }
  broker.start();
  for (const w of watchers) w.start();

  const { promise: stopped, resolve: stop } = Promise.withResolvers<string>();
  const onHup = () => log.info("sighup-ignored", {});
  const onTerm = () => stop("SIGTERM");
  const onInt = () => stop("SIGINT");
  Deno.addSignalListener("SIGHUP", onHup);
  Deno.addSignalListener("SIGTERM", onTerm);
  Deno.addSignalListener("SIGINT", onInt);
  opts.signal?.addEventListener("abort", () => stop("abort"), { once: true });

  log.info("ready", {
    listen: formatHostPort({
      hostname: server.addr.hostname,
      port: server.addr.port,
    }),
    servers: o.servers,
    admin: creds !== undefined,
  });
  const why = await stopped;
  log.info("stopping", { signal: why });
  Deno.removeSignalListener("SIGHUP", onHup);
  Deno.removeSignalListener("SIGTERM", onTerm);
  Deno.removeSignalListener("SIGINT", onInt);

  // SSE streams first, so the server's graceful shutdown is not held up
  // by them; everything bounded by the 2 s promise.
  broker.close();
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all([
      ...watchers.map((w) => w.stop()),
      (abort.abort(), server.finished),
    ]),
    new Promise((r) => timer = setTimeout(r, 1500)),
  ]);
  clearTimeout(timer);
  log.info("stopped", {});
  return WEB_EXIT.ok;
}
