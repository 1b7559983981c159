/**
 * `maglev daemon`: flags, `--check`, signals and the process lifecycle
 * around a Daemon.
 */
import { type HostPort, parseHostPort } from "../cli/addr.ts";
import { formatFlagHelp, parseFlags, UsageError } from "../cli/flags.ts";
import {
  defaultLogFormat,
  type LogFormat,
  Logger,
  type LogLevel,
  routeConsoleTo,
} from "../cli/log.ts";
import { formatConfigErrors } from "../config/format.ts";
import { loadConfigFile } from "../config/load.ts";
import { configWarnings } from "../config/warnings.ts";
import { readTokenFile } from "./grpc/auth.ts";
import { parseDuration } from "../config/duration.ts";
import { netnsProblem } from "../probe/mod.ts";
import { BUILD_DATE, COMMIT, VERSION, versionLine } from "../version.ts";
import { Daemon } from "./daemon.ts";
import { DAEMON_FLAGS } from "./flags.ts";
import { Notifier, schedulerProgress, statusSummary } from "./notify.ts";

/** Exit codes of `maglev daemon`. */
export const EXIT = {
  ok: 0,
  parseError: 1,
  semanticError: 2,
  usage: 2,
  failure: 1,
} as const;

/** Lines written to stdout/stderr; injectable for in-process tests. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

// Bound before routeConsoleTo takes console.error over: what the daemon
// itself prints for people (usage, config errors) stays plain text.
const printErr = console.error.bind(console);
const stdio: Io = {
  out: (l) => console.log(l),
  err: (l) => printErr(l),
};

/**
 * What a library printed, as a record: connect-node reports a watch stream
 * the daemon itself dropped (HTTP/2 ENHANCE_YOUR_CALM) as a failed handler,
 * which is expected, so debug; anything else it says is worth a warning.
 */
export function classifyLibraryText(
  text: string,
): { level: LogLevel; msg: string } {
  if (/^handler for rpc \w+ of [\w.]+ failed/.test(text)) {
    return /ENHANCE_YOUR_CALM|NGHTTP2_CANCEL|\[canceled\]/.test(text)
      ? { level: "debug", msg: "grpc-stream-reset" }
      : { level: "warn", msg: "grpc-handler-failed" };
  }
  return { level: "warn", msg: "library-message" };
}

/** Help text of `maglev daemon --help`. */
export function daemonHelp(): string {
  return [
    "Usage: maglev daemon [flags]",
    "",
    "Health-checks backends and programs the VPP lb plugin.",
    "Signals: SIGHUP reloads the config (checked first), SIGTERM/SIGINT stop.",
    "",
    "Flags (each also from its MAGLEV_* environment variable; flags win):",
    formatFlagHelp(DAEMON_FLAGS),
  ].join("\n");
}

/**
 * Runs the daemon until SIGTERM/SIGINT; returns the process exit code.
 * Never throws for operator mistakes: they become one-line errors.
 */
export async function runDaemon(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
  io: Io = stdio,
  opts: { netnsWorkerUrl?: URL; configWorkerUrl?: URL } = {},
): Promise<number> {
  let flags;
  try {
    flags = parseFlags(DAEMON_FLAGS, args, env);
    if (flags.positionals.length > 0) {
      throw new UsageError(
        `unexpected argument "${
          flags.positionals[0]
        }" (daemon takes only flags)`,
      );
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`maglev daemon: ${e.message}; see maglev daemon --help`);
      return EXIT.usage;
    }
    throw e;
  }
  const v = flags.values;
  if (v.help) {
    io.out(daemonHelp());
    return EXIT.ok;
  }
  if (v.version) {
    io.out(versionLine());
    return EXIT.ok;
  }
  const configPath = v.config as string;
  // The original's --vpp-api-addr: empty means no VPP; a socket path is
  // noted (maglev speaks shared memory through libvppapiclient).
  const apiAddr = v["vpp-api-addr"] as string | undefined;
  const vppEnabled = (v.vpp as boolean) && apiAddr?.trim() !== "";
  const statsSocket = (v["vpp-stats-addr"] as string | undefined)?.trim() ||
    (v["vpp-stats-socket"] as string);

  if (v.check) {
    const loaded = await loadConfigFile(configPath, { vppEnabled });
    if (loaded.ok) {
      const c = loaded.config;
      io.out(
        `${configPath}: OK (${c.healthchecks.size} healthchecks, ${c.backends.size} backends, ${c.frontends.size} frontends)`,
      );
      // Valid, so exit 0; but say what will not work as one may expect.
      for (const w of configWarnings(c, { vppEnabled })) {
        io.err(`${configPath}: warning: ${w.path}: ${w.message}`);
      }
      return EXIT.ok;
    }
    io.err(formatConfigErrors(loaded.errors));
    io.err(
      `${configPath}: ${loaded.errors.length} ${loaded.kind} error${
        loaded.errors.length === 1 ? "" : "s"
      }`,
    );
    return loaded.kind === "parse" ? EXIT.parseError : EXIT.semanticError;
  }

  let metricsAddr: HostPort | undefined;
  let grpcAddr: HostPort | undefined;
  let grpcUnixPath: string | undefined;
  try {
    const m = (v["metrics-addr"] as string).trim();
    metricsAddr = m === "" ? undefined : parseHostPort(m);
    const g = (v["grpc-addr"] as string).trim();
    if (g.startsWith("unix:")) {
      grpcUnixPath = g.slice(5);
      if (!grpcUnixPath.startsWith("/")) {
        throw new Error(
          `--grpc-addr ${g}: give the socket's absolute path, e.g. unix:/run/vpp-maglev/grpc.sock`,
        );
      }
    } else {
      grpcAddr = parseHostPort(g);
    }
  } catch (e) {
    io.err(`maglev daemon: ${(e as Error).message}`);
    return EXIT.usage;
  }

  let idleTimeoutMs: number;
  try {
    idleTimeoutMs = parseDuration(v["grpc-idle-timeout"] as string);
    if (idleTimeoutMs < 1000 || idleTimeoutMs > 86_400_000) {
      throw new Error("give a duration from 1s to 24h");
    }
  } catch (e) {
    io.err(`maglev daemon: --grpc-idle-timeout: ${(e as Error).message}`);
    return EXIT.usage;
  }
  let tokens: string[] = [];
  const tokenFile = (v["grpc-token-file"] as string).trim();
  if (tokenFile !== "") {
    try {
      tokens = readTokenFile(tokenFile);
    } catch (e) {
      io.err(`maglev daemon: --grpc-token-file: ${(e as Error).message}`);
      return EXIT.usage;
    }
  }
  const allowRemote = v["grpc-allow-remote-mutations"] as boolean;
  let grpcTls: { cert: string; key: string; clientCa?: string } | undefined;
  try {
    grpcTls = readServerTls(
      (v["grpc-tls-cert"] as string).trim(),
      (v["grpc-tls-key"] as string).trim(),
      (v["grpc-client-ca"] as string).trim(),
    );
  } catch (e) {
    io.err(`maglev daemon: ${(e as Error).message}`);
    return EXIT.usage;
  }

  const log = new Logger({
    level: v["log-level"] as LogLevel,
    format: (v["log-format"] as LogFormat | undefined) ?? defaultLogFormat(),
  });
  log.info("starting", { version: VERSION, commit: COMMIT, date: BUILD_DATE });
  if (apiAddr?.trim()) {
    log.info("vpp-api-addr-ignored", {
      given: apiAddr,
      meaning:
        "maglev reaches VPP through its shared-memory API (libvppapiclient, --vpp-api-prefix), not the API socket; nothing to change",
    });
  }
  if (allowRemote) {
    log.warn("grpc-mutations-open", {
      meaning:
        "--grpc-allow-remote-mutations: anyone who reaches the gRPC port can pause, disable and reweight every backend; prefer --grpc-token-file",
    });
  }
  // From here on every line on stderr is a record, whatever prints it.
  const unrouteConsole = routeConsoleTo(log, classifyLibraryText);
  try {
    return await runLogged();
  } finally {
    unrouteConsole();
  }

  async function runLogged(): Promise<number> {
    // A no-op unless systemd (Type=notify / notify-reload) set NOTIFY_SOCKET.
    const notifier = new Notifier({ env, log });

    const created = await Daemon.create({
      configPath,
      metricsAddr,
      grpcAddr,
      grpcUnixPath,
      reflection: v.reflection as boolean,
      vppEnabled,
      log,
      netnsWorkerUrl: opts.netnsWorkerUrl,
      configWorkerUrl: opts.configWorkerUrl,
      stateFile: v["state-file"] as string,
      mutations: { tokens, allowRemote },
      grpcIdleTimeoutMs: idleTimeoutMs,
      grpcTls,
      vpp: {
        libPath: v["vpp-lib"] as string,
        apiPrefix: v["vpp-api-prefix"] as string,
        statsSocket,
        dryRun: v["dry-run"] as boolean,
      },
    });
    if (!(created instanceof Daemon)) {
      for (const e of created.errors) {
        log.error("config-error", {
          file: e.file,
          line: e.line,
          col: e.col,
          path: e.path,
          error: e.message,
        });
      }
      io.err(formatConfigErrors(created.errors));
      io.err(
        `maglev daemon: not starting: ${configPath} has ${created.kind} errors (check with: maglev daemon --check --config ${configPath})`,
      );
      notifier.send({ STATUS: `not starting: ${configPath} has errors` });
      notifier.close();
      return created.kind === "parse" ? EXIT.parseError : EXIT.semanticError;
    }
    const daemon = created;
    const netns = daemon.config.healthchecker.netns;
    if (netns) {
      const problem = netnsProblem(netns);
      if (problem) log.error("netns-unavailable", { netns, error: problem });
    }

    const { promise: stopped, resolve: stop } = Promise.withResolvers<string>();
    // Kept in STATUS= until a reload succeeds: `systemctl status` is where an
    // operator looks after `systemctl reload` (or `maglev ctl config reload`).
    let reloadNote = "";
    const summary = () =>
      statusSummary(daemon.checker.backends(), daemon.checker.stretch) +
      reloadNote;
    const onHup = () => {
      log.info("reload-requested", { signal: "SIGHUP" });
      notifier.reloading();
      daemon.reload()
        .catch((e) => log.error("config-reload-failed", { error: e }))
        // READY=1 whatever happened: systemd must not stay in "reloading".
        .finally(() => notifier.reloaded(summary()));
    };
    const onTerm = () => stop("SIGTERM");
    const onInt = () => stop("SIGINT");
    Deno.addSignalListener("SIGHUP", onHup);
    Deno.addSignalListener("SIGTERM", onTerm);
    Deno.addSignalListener("SIGINT", onInt);
    try {
      await daemon.start();
    } catch (e) {
      io.err(`maglev daemon: cannot start: ${(e as Error).message}`);
      notifier.send({ STATUS: `cannot start: ${(e as Error).message}` });
      notifier.close();
      await daemon.stop();
      return EXIT.failure;
    }

    log.info("ready", {});
    notifier.ready(
      summary(),
      () =>
        schedulerProgress(
          daemon.checker.backends(),
          daemon.checker.lastProgress,
        ),
    );
    const unsubscribe = daemon.bus.subscribe((e) => {
      if (e.type === "reload") {
        reloadNote = e.refused
          ? `; last reload refused: ${e.refused} errors in ${configPath}`
          : "";
      }
      if (e.type === "backend" || e.type === "reload") {
        notifier.statusSoon(summary);
      }
    });
    const offStretch = daemon.checker.onStretch(() =>
      notifier.statusSoon(summary)
    );
    const signal = await stopped;
    offStretch();
    log.info("stopping", { signal });
    notifier.stopping();
    unsubscribe();
    Deno.removeSignalListener("SIGHUP", onHup);
    Deno.removeSignalListener("SIGTERM", onTerm);
    Deno.removeSignalListener("SIGINT", onInt);
    // Bounded: the spec promises exit within 2 s of SIGTERM.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      daemon.stop(),
      new Promise((r) => timer = setTimeout(r, 1500)),
    ]);
    clearTimeout(timer);
    notifier.close();
    log.info("stopped", {});
    return EXIT.ok;
  }
}

/**
 * The gRPC listener's TLS files, read now so a mistake stops the start with
 * one line: both of cert and key or neither; a client CA only with TLS.
 */
export function readServerTls(
  certFile: string,
  keyFile: string,
  clientCaFile: string,
): { cert: string; key: string; clientCa?: string } | undefined {
  if (certFile === "" && keyFile === "") {
    if (clientCaFile !== "") {
      throw new Error(
        "--grpc-client-ca needs TLS: give --grpc-tls-cert and --grpc-tls-key too",
      );
    }
    return undefined;
  }
  if (certFile === "" || keyFile === "") {
    throw new Error("give both --grpc-tls-cert and --grpc-tls-key, or neither");
  }
  const read = (flag: string, path: string) => {
    try {
      return Deno.readTextFileSync(path);
    } catch (e) {
      throw new Error(
        `--${flag}: cannot read ${path}: ${e instanceof Error ? e.message : e}`,
      );
    }
  };
  return {
    cert: read("grpc-tls-cert", certFile),
    key: read("grpc-tls-key", keyFile),
    ...(clientCaFile ? { clientCa: read("grpc-client-ca", clientCaFile) } : {}),
  };
}
