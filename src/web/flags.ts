/**
 * The flags of `maglev web`. Kept apart from run.ts so they can be tested
 * (and listed in docs) without starting anything.
 */
import { DEFAULT_SERVER } from "../api/client.ts";
import { type HostPort, parseHostPort } from "../cli/addr.ts";
import { type FlagSpec, parseFlags, UsageError } from "../cli/flags.ts";
import { logFlags, type LogFormat, type LogLevel } from "../cli/log.ts";
import { parseAddress } from "../config/address.ts";

/** Flag table of `maglev web`: drives parsing, env lookup and `--help`. */
export const WEB_FLAGS: readonly FlagSpec[] = [
  {
    name: "listen",
    type: "string",
    default: ":8080",
    env: "MAGLEV_WEB_LISTEN",
    valueName: "ADDR",
    help: "HTTP listen address of the dashboard",
  },
  {
    name: "server",
    type: "string",
    env: "MAGLEV_WEB_SERVER",
    valueName: "HOST:PORT[,...]",
    help:
      `maglev daemons to watch, comma-separated (default "${DEFAULT_SERVER}"; also env MAGLEV_SERVER)`,
  },
  {
    name: "credentials-file",
    type: "string",
    env: "MAGLEV_WEB_CREDENTIALS_FILE",
    valueName: "FILE",
    help:
      "file with one user:password line enabling /admin/ (or env MAGLEV_WEB_USER + MAGLEV_WEB_PASSWORD)",
  },
  {
    name: "grpc-token-file",
    type: "string",
    env: "MAGLEV_WEB_GRPC_TOKEN_FILE",
    valueName: "FILE",
    help:
      "the bearer token the daemons accept (their --grpc-token-file), for admin actions on daemons of another host",
  },
  {
    name: "grpc-tls-ca",
    type: "string",
    env: "MAGLEV_WEB_GRPC_TLS_CA",
    valueName: "FILE",
    help: "talk TLS to the daemons, trusting this CA for their certificates",
  },
  {
    name: "grpc-tls-cert",
    type: "string",
    env: "MAGLEV_WEB_GRPC_TLS_CERT",
    valueName: "FILE",
    help:
      "a client certificate for mTLS (with --grpc-tls-key), for admin actions on daemons that ask for one",
  },
  {
    name: "grpc-tls-key",
    type: "string",
    env: "MAGLEV_WEB_GRPC_TLS_KEY",
    valueName: "FILE",
    help: "the private key of --grpc-tls-cert",
  },
  {
    name: "trusted-proxies",
    type: "string",
    default: "",
    env: "MAGLEV_WEB_TRUSTED_PROXIES",
    valueName: "ADDR[,...]",
    help:
      "reverse proxies (client addresses) whose X-Forwarded-Host/-Proto are believed by the admin page's same-origin check; empty: none",
  },
  ...logFlags("minimum level of log records"),
  {
    name: "version",
    type: "boolean",
    default: false,
    help: "print version, commit and build date, then exit",
  },
  { name: "help", type: "boolean", default: false, help: "show this help" },
];

/** What `maglev web` was asked to do, validated. */
export interface WebOptions {
  readonly help: boolean;
  readonly version: boolean;
  readonly listen: HostPort;
  /** Daemon addresses in command-line order, duplicates removed. */
  readonly servers: readonly string[];
  readonly credentialsFile?: string;
  /** The bearer token file for the daemons, if any. */
  readonly grpcTokenFile?: string;
  /** TLS files for the daemons (paths, unread). */
  readonly grpcTls: { ca?: string; cert?: string; key?: string };
  /** Canonical addresses of reverse proxies whose forwarded headers count. */
  readonly trustedProxies: readonly string[];
  readonly logLevel: LogLevel;
  readonly logFormat?: LogFormat;
}

/**
 * Parses and validates the command line and environment. Every operator
 * mistake becomes a UsageError with one line that says what to fix.
 */
export function parseWebOptions(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): WebOptions {
  const flags = parseFlags(WEB_FLAGS, args, env);
  if (flags.positionals.length > 0) {
    throw new UsageError(
      `unexpected argument "${flags.positionals[0]}" (web takes only flags)`,
    );
  }
  const v = flags.values;
  let listen: HostPort;
  try {
    listen = parseHostPort(v.listen as string);
  } catch (e) {
    throw new UsageError(`--listen: ${(e as Error).message}`);
  }
  const serverText = (v.server as string | undefined) ??
    env.MAGLEV_SERVER ?? DEFAULT_SERVER;
  const servers = parseServerList(serverText);
  const cf = (v["credentials-file"] as string | undefined)?.trim();
  return {
    help: v.help === true,
    version: v.version === true,
    listen,
    servers,
    credentialsFile: cf ? cf : undefined,
    grpcTokenFile: (v["grpc-token-file"] as string | undefined)?.trim() ||
      undefined,
    grpcTls: {
      ca: v["grpc-tls-ca"] as string | undefined,
      cert: v["grpc-tls-cert"] as string | undefined,
      key: v["grpc-tls-key"] as string | undefined,
    },
    trustedProxies: parseProxyList(v["trusted-proxies"] as string),
    logLevel: v["log-level"] as LogLevel,
    logFormat: v["log-format"] as LogFormat | undefined,
  };
}

/** `--trusted-proxies`: addresses, comma-separated, canonical. */
export function parseProxyList(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split(",")) {
    const s = part.trim();
    if (s === "") continue;
    try {
      const a = parseAddress(s).address;
      if (!out.includes(a)) out.push(a);
    } catch (e) {
      throw new UsageError(`--trusted-proxies: ${(e as Error).message}`);
    }
  }
  return out;
}

/** Splits `a:1,b:2`, checking each address so a typo fails at start. */
export function parseServerList(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split(",")) {
    const s = part.trim();
    if (s === "") continue;
    if (s.startsWith("unix:/")) {
      // A daemon's unix socket (its --grpc-addr unix:PATH).
      if (!out.includes(s)) out.push(s);
      continue;
    }
    try {
      parseHostPort(s);
    } catch (e) {
      throw new UsageError(`--server: ${(e as Error).message}`);
    }
    if (!out.includes(s)) out.push(s);
  }
  if (out.length === 0) {
    throw new UsageError("--server: give at least one daemon address");
  }
  return out;
}

/**
 * The original dashboard's (maglevd-frontend) environment names, mapped to
 * ours: an operator's /etc/default keeps working after the switch. Ours win
 * when both are set.
 */
const FRONTEND_ENV: readonly [string, string][] = [
  ["MAGLEV_FRONTEND_LISTEN", "MAGLEV_WEB_LISTEN"],
  ["MAGLEV_FRONTEND_SERVERS", "MAGLEV_WEB_SERVER"],
  ["MAGLEV_FRONTEND_SERVER", "MAGLEV_WEB_SERVER"],
  ["MAGLEV_FRONTEND_USER", "MAGLEV_WEB_USER"],
  ["MAGLEV_FRONTEND_PASSWORD", "MAGLEV_WEB_PASSWORD"],
  ["MAGLEV_FRONTEND_LOG_LEVEL", "MAGLEV_LOG_LEVEL"],
];

/** `env` with the original's MAGLEV_FRONTEND_* names filled in as ours. */
export function withFrontendEnv(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env };
  for (const [theirs, ours] of FRONTEND_ENV) {
    if (out[ours] === undefined && env[theirs] !== undefined) {
      out[ours] = env[theirs];
    }
  }
  return out;
}
