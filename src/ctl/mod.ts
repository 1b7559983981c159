/**
 * `maglev ctl`: flags, then either one command (for scripts: exit status
 * 0 on success, 1 when the command or call failed, 2 for a usage error) or
 * the interactive shell.
 */
import { readTokenFile } from "../daemon/grpc/auth.ts";
import { connectMaglev, DEFAULT_SERVER, readClientTls } from "../api/client.ts";
import { parseHostPort } from "../cli/addr.ts";
import {
  type FlagSpec,
  formatFlagHelp,
  parseBool,
  parseFlags,
  UsageError,
} from "../cli/flags.ts";
import {
  type CtlContext,
  execute,
  NameCache,
  type Output,
} from "./commands.ts";
import {
  CommandError,
  helpAt,
  listCommands,
  parseCommand,
  splitWords,
} from "./parse.ts";
import {
  errorLine,
  PLAIN,
  renderCommandList,
  renderHelpEntries,
  type Style,
} from "./render.ts";
import { runShell, stdOutput } from "./shell.ts";

/** Exit statuses of `maglev ctl`. */
export const CTL_EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** The flags of `maglev ctl`; command words follow them. */
export const CTL_FLAGS: readonly FlagSpec[] = [
  {
    name: "server",
    type: "string",
    env: "MAGLEV_SERVER",
    default: DEFAULT_SERVER,
    valueName: "HOST:PORT",
    help: "the maglev daemon's gRPC address",
  },
  {
    name: "token-file",
    type: "string",
    env: "MAGLEV_TOKEN_FILE",
    valueName: "FILE",
    help:
      "a file with the bearer token the daemon accepts (its --grpc-token-file): needed for changes from another host",
  },
  {
    name: "tls-ca",
    type: "string",
    env: "MAGLEV_TLS_CA",
    valueName: "FILE",
    help:
      "talk TLS to the daemon, trusting this CA for its certificate (its --grpc-tls-cert)",
  },
  {
    name: "tls-cert",
    type: "string",
    env: "MAGLEV_TLS_CERT",
    valueName: "FILE",
    help:
      "a client certificate for mTLS (with --tls-key): one the daemon's --grpc-client-ca signed may change things",
  },
  {
    name: "tls-key",
    type: "string",
    env: "MAGLEV_TLS_KEY",
    valueName: "FILE",
    help: "the private key of --tls-cert",
  },
  {
    name: "color",
    type: "string",
    default: "auto",
    valueName: "WHEN",
    help:
      "auto (on when stdout is a terminal and NO_COLOR is unset), always or never",
  },
  {
    name: "output",
    type: "string",
    default: "auto",
    choices: ["auto", "text", "json"],
    valueName: "FORMAT",
    help:
      "text (tables for people), json (API messages, for scripts) or auto (text, but watch events as JSON lines when stdout is not a terminal)",
  },
  { name: "help", type: "boolean", help: "show this help" },
];

/** Help text of `maglev ctl --help`. */
export function ctlHelp(): string {
  return [
    "Usage: maglev ctl [flags] [command words...]",
    "",
    "Without words: an interactive shell (Tab completes, ? lists what may come",
    "next). With words: runs one command and exits 0 on success, 1 when it",
    "failed, 2 for a usage error.",
    "",
    "Flags:",
    formatFlagHelp(CTL_FLAGS),
    "",
    "Commands (words may be shortened to a unique prefix):",
    renderCommandList(PLAIN, listCommands()),
  ].join("\n");
}

const COLOR_WORDS = new Set(["auto", "always", "never"]);
const VALUE_FLAGS = new Set(
  CTL_FLAGS.filter((f) => f.type === "string" && f.name !== "color").map((f) =>
    f.name
  ),
);

/**
 * `--color` alone means always (the Go tool's `-color` was a boolean), and
 * true/false are accepted for `-color=false`.
 */
function normalizeColorArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      out.push(...args.slice(i));
      break;
    }
    if (a === "--color" || a === "-color") {
      const next = args[i + 1];
      if (
        next === undefined ||
        !(COLOR_WORDS.has(next) || parseBool(next) !== undefined)
      ) {
        out.push("--color=always");
        continue;
      }
      out.push(a, next);
      i++;
      continue;
    }
    if (!a.startsWith("-")) {
      out.push(...args.slice(i));
      break;
    }
    out.push(a);
    // A string flag without "=" takes the next word as its value.
    const name = a.replace(/^--?/, "");
    if (VALUE_FLAGS.has(name) && i + 1 < args.length) out.push(args[++i]);
  }
  return out;
}

/** Resolves `--color` to on/off for a stream. */
export function colorFor(
  when: string,
  isTerminal: boolean,
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  if (when === "always") return true;
  if (when === "never") return false;
  return isTerminal && !env.NO_COLOR;
}

function colorWhen(value: string): string {
  const v = value.toLowerCase();
  if (COLOR_WORDS.has(v)) return v;
  const b = parseBool(v);
  if (b === undefined) {
    throw new UsageError(
      `--color must be one of auto, always, never, not "${value}"`,
    );
  }
  return b ? "always" : "never";
}

/** Terminals and environment `runCtl` looks at; injectable for tests. */
export interface CtlEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdoutIsTerminal: boolean;
  readonly stderrIsTerminal: boolean;
  readonly output: Output;
}

function realEnvironment(): CtlEnvironment {
  return {
    env: Deno.env.toObject(),
    stdoutIsTerminal: Deno.stdout.isTerminal(),
    stderrIsTerminal: Deno.stderr.isTerminal(),
    output: stdOutput(),
  };
}

/**
 * Runs `maglev ctl` with the words after "ctl"; returns the exit status.
 * Never throws for operator mistakes or an unreachable daemon.
 */
export async function runCtl(
  args: readonly string[],
  environment: CtlEnvironment = realEnvironment(),
): Promise<number> {
  const { env, output } = environment;
  let flags;
  let when: string;
  try {
    flags = parseFlags(CTL_FLAGS, normalizeColorArgs(args), env, {
      stopAtPositional: true,
    });
    when = colorWhen(String(flags.values.color));
    const server = String(flags.values.server);
    // unix:/path is a daemon's unix socket (its --grpc-addr unix:PATH).
    if (!server.startsWith("unix:/")) parseHostPort(server);
  } catch (e) {
    if (e instanceof UsageError || e instanceof RangeError) {
      output.err(`maglev ctl: ${e.message}; see maglev ctl --help`);
      return CTL_EXIT.usage;
    }
    throw e;
  }
  if (flags.values.help) {
    output.out(ctlHelp());
    return CTL_EXIT.ok;
  }
  const json = flags.values.output === "json";
  // maglevc printed events as protojson lines; scripts piping `watch events`
  // keep working unless the operator asked for text.
  const eventsJson = json ||
    (flags.values.output === "auto" && !environment.stdoutIsTerminal);
  const style: Style = {
    color: !json && colorFor(when, environment.stdoutIsTerminal, env),
  };
  const errStyle: Style = {
    color: colorFor(when, environment.stderrIsTerminal, env),
  };
  const server = String(flags.values.server);
  // `maglev ctl 'show backends'` is the same as `maglev ctl show backends`.
  const words = splitWords(flags.positionals.join(" "));

  let token: string | undefined;
  const tokenFile = (flags.values["token-file"] as string | undefined)?.trim();
  if (tokenFile) {
    try {
      token = readTokenFile(tokenFile)[0];
    } catch (e) {
      output.err(`maglev ctl: --token-file: ${(e as Error).message}`);
      return CTL_EXIT.usage;
    }
  }
  let tls;
  try {
    tls = readClientTls("tls-", {
      ca: flags.values["tls-ca"] as string | undefined,
      cert: flags.values["tls-cert"] as string | undefined,
      key: flags.values["tls-key"] as string | undefined,
    });
  } catch (e) {
    output.err(`maglev ctl: ${(e as Error).message}`);
    return CTL_EXIT.usage;
  }
  const conn = connectMaglev(server, { token, tls });
  try {
    const names = new NameCache(conn.client);
    const ctx: CtlContext = {
      client: conn.client,
      server,
      output,
      style,
      errStyle,
      json,
      eventsJson,
    };
    if (words.length === 0) {
      const home = env.HOME;
      return await runShell({
        ctx,
        names,
        historyPath: home ? `${home}/.maglev_history` : undefined,
      });
    }
    // `maglev ctl show ?` (quote the ? in a shell): the `?` help, then exit.
    const last = words[words.length - 1];
    if (last.endsWith("?")) {
      const line = [...words.slice(0, -1), last.slice(0, -1)].join(" ") +
        (last === "?" ? " " : "");
      const h = await helpAt(line.trimStart(), names);
      if (h.error) {
        output.err(errorLine(errStyle, h.error));
        return CTL_EXIT.usage;
      }
      output.out(renderHelpEntries(style, h.entries));
      return CTL_EXIT.ok;
    }
    let cmd;
    try {
      cmd = parseCommand(words);
    } catch (e) {
      if (e instanceof CommandError) {
        output.err(errorLine(errStyle, e.message));
        return CTL_EXIT.usage;
      }
      throw e;
    }
    if (!cmd) return CTL_EXIT.ok;
    if (cmd.action !== "watch-events") {
      return (await execute(cmd, ctx)).code;
    }
    return await oneShotWatch(cmd, ctx);
  } finally {
    conn.close();
  }
}

/**
 * `watch events` outside the shell still stops on any key (stdin in raw
 * mode, when it is a terminal) or Ctrl-C (SIGINT), and closes its stream.
 */
async function oneShotWatch(
  cmd: NonNullable<ReturnType<typeof parseCommand>>,
  ctx: CtlContext,
): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  const raw = Deno.stdin.isTerminal();
  if (raw) {
    Deno.stdin.setRaw(true);
    const buf = new Uint8Array(64);
    Deno.stdin.read(buf).then(() => stop.abort(), () => {});
  }
  try {
    return (await execute(cmd, { ...ctx, signal: stop.signal })).code;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    if (raw) Deno.stdin.setRaw(false);
  }
}
