/**
 * The flags of `maglev tester` and their validation. Kept apart from the
 * runner so they can be tested, and compared with the man page, without
 * probing anything.
 */
import {
  type FlagSpec,
  formatFlagHelp,
  parseFlags,
  UsageError,
} from "../cli/flags.ts";
import { parseDuration } from "../config/duration.ts";
import type { TargetRules } from "./targets.ts";

/** Exit statuses of `maglev tester`. */
export const TESTER_EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** The daemon's config: what a bare `maglevt` on a maglev host reads. */
export const DEFAULT_CONFIG = "/etc/vpp-maglev/maglev.yaml";

/** The health URI the original tool probed. */
export const DEFAULT_URI = "/.well-known/ipng/healthz";

/** Flag table of `maglev tester`: drives parsing and `--help`. */
export const TESTER_FLAGS: readonly FlagSpec[] = [
  {
    name: "config",
    type: "string",
    multiple: true,
    default: DEFAULT_CONFIG,
    env: "MAGLEV_CONFIG",
    valueName: "FILE",
    help: "a maglev.yaml whose frontends' VIPs to probe",
  },
  {
    name: "filter",
    type: "string",
    valueName: "REGEX",
    help: "only frontends whose name matches this regular expression",
  },
  {
    name: "uri",
    type: "string",
    default: DEFAULT_URI,
    valueName: "PATH",
    help: "path requested from HTTP and HTTPS VIPs",
  },
  {
    name: "host",
    type: "string",
    valueName: "NAME",
    help:
      "Host header and TLS server name of HTTP(S) probes (default: the VIP address)",
  },
  {
    name: "header",
    type: "string",
    valueName: "NAME",
    help:
      "response header to tally per VIP, e.g. one naming the backend that answered",
  },
  {
    name: "keepalive",
    type: "boolean",
    default: false,
    help:
      "reuse HTTP(S) connections (default: a new connection per probe, so the load balancer picks a backend afresh each time)",
  },
  {
    name: "interval",
    type: "string",
    default: "100ms",
    valueName: "DURATION",
    help: "time between the probes of a VIP (±10% jitter)",
  },
  {
    name: "timeout",
    type: "string",
    default: "1s",
    valueName: "DURATION",
    help: "give up on a probe after this long",
  },
  {
    name: "insecure",
    type: "boolean",
    default: false,
    help: "accept any certificate from HTTPS VIPs",
  },
  {
    name: "http-ports",
    type: "string",
    default: "80",
    valueName: "PORT[,...]",
    help: "VIP ports probed with HTTP (other TCP ports: a connect)",
  },
  {
    name: "https-ports",
    type: "string",
    default: "443",
    valueName: "PORT[,...]",
    help: "VIP ports probed with HTTPS",
  },
  {
    name: "any-port",
    type: "string",
    valueName: "PORT",
    help:
      "port to probe on VIPs that cover all ports (protocol any); without it they are skipped",
  },
  {
    name: "output",
    type: "string",
    default: "auto",
    choices: ["auto", "tui", "json"],
    valueName: "FORMAT",
    help:
      "tui (live full-screen view), json (one line per VIP per report interval) or auto (tui on a terminal, else json)",
  },
  {
    name: "report-interval",
    type: "string",
    default: "1s",
    valueName: "DURATION",
    help: "how often JSON output reports each VIP",
  },
  {
    name: "duration",
    type: "string",
    valueName: "DURATION",
    help: "stop after this long (default: run until q, Ctrl-C or SIGTERM)",
  },
  { name: "help", type: "boolean", default: false, help: "show this help" },
];

/** What `maglev tester` was asked to do, validated. */
export interface TesterOptions {
  readonly help: boolean;
  /** Config files in command-line order, duplicates removed. */
  readonly configs: readonly string[];
  readonly rules: TargetRules;
  readonly uri: string;
  readonly host?: string;
  readonly header?: string;
  readonly keepAlive: boolean;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly insecure: boolean;
  readonly output: "auto" | "tui" | "json";
  readonly reportIntervalMs: number;
  /** Undefined: until stopped. */
  readonly durationMs?: number;
}

/** Shortest probe interval: 1 ms, a busy loop beyond that. */
const MIN_INTERVAL_MS = 1;
/** Shortest JSON report interval. */
const MIN_REPORT_MS = 10;
/** Header names are HTTP tokens. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parses and validates the command line and environment. Every operator
 * mistake is a UsageError with one line saying what to fix.
 */
export function parseTesterOptions(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): TesterOptions {
  const flags = parseFlags(TESTER_FLAGS, args, env);
  if (flags.positionals.length > 0) {
    throw new UsageError(
      `unexpected argument "${
        flags.positionals[0]
      }" (tester takes only flags; several configs: repeat --config)`,
    );
  }
  const v = flags.values;
  const str = (name: string) => {
    const s = v[name];
    return typeof s === "string" && s.trim() !== "" ? s.trim() : undefined;
  };
  const configs = [...new Set(flags.lists.config ?? [])];
  if (configs.length === 0) throw new UsageError("--config needs a file");
  let filter: RegExp | undefined;
  const f = str("filter");
  if (f !== undefined) {
    try {
      filter = new RegExp(f);
    } catch (e) {
      throw new UsageError(`--filter: ${(e as Error).message}`);
    }
  }
  const uri = str("uri") ?? DEFAULT_URI;
  if (!uri.startsWith("/")) {
    throw new UsageError(
      `--uri must be a path starting with "/", not "${uri}"`,
    );
  }
  const header = str("header");
  if (header !== undefined && !TOKEN.test(header)) {
    throw new UsageError(`--header "${header}" is not a header name`);
  }
  const intervalMs = duration("interval", v.interval as string);
  if (intervalMs < MIN_INTERVAL_MS) {
    throw new UsageError("--interval must be at least 1ms");
  }
  const timeoutMs = duration("timeout", v.timeout as string);
  if (timeoutMs <= 0) throw new UsageError("--timeout must be more than 0");
  const reportIntervalMs = duration(
    "report-interval",
    v["report-interval"] as string,
  );
  if (reportIntervalMs < MIN_REPORT_MS) {
    throw new UsageError("--report-interval must be at least 10ms");
  }
  const d = str("duration");
  let durationMs: number | undefined;
  if (d !== undefined) {
    durationMs = duration("duration", d);
    if (durationMs <= 0) throw new UsageError("--duration must be more than 0");
  }
  const httpPorts = portList("http-ports", v["http-ports"] as string);
  const httpsPorts = portList("https-ports", v["https-ports"] as string);
  for (const p of httpPorts) {
    if (httpsPorts.has(p)) {
      throw new UsageError(
        `port ${p} is in both --http-ports and --https-ports`,
      );
    }
  }
  const ap = str("any-port");
  const anyPort = ap === undefined ? undefined : port("any-port", ap);
  return {
    help: v.help === true,
    configs,
    rules: { filter, httpPorts, httpsPorts, anyPort },
    uri,
    host: str("host"),
    header,
    keepAlive: v.keepalive === true,
    intervalMs,
    timeoutMs,
    insecure: v.insecure === true,
    output: v.output as TesterOptions["output"],
    reportIntervalMs,
    durationMs,
  };
}

function duration(flag: string, text: string): number {
  try {
    return parseDuration(text.trim());
  } catch (e) {
    throw new UsageError(`--${flag}: ${(e as Error).message}`);
  }
}

function port(flag: string, text: string): number {
  const t = text.trim();
  const n = /^\d{1,5}$/.test(t) ? Number(t) : NaN;
  if (!(n >= 1 && n <= 65535)) {
    throw new UsageError(`--${flag}: "${t}" is not a port (1..65535)`);
  }
  return n;
}

/** A comma-separated port list; empty text is an empty list. */
function portList(flag: string, text: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    if (part.trim() === "") continue;
    out.add(port(flag, part));
  }
  return out;
}

/** Help text of `maglev tester --help`. */
export function testerHelp(): string {
  return [
    "Usage: maglev tester [flags]    (also: maglevt [flags])",
    "",
    "Probes every VIP of the given configs from outside the load balancer,",
    "without a daemon: HTTP(S) GETs on --http-ports/--https-ports, a TCP",
    "connect on other ports; UDP, prefix and (without --any-port) all-port",
    "VIPs are skipped. On a terminal: a live view (q quits); otherwise, or",
    "with --output json: one JSON line per VIP per --report-interval. Exits 0",
    "when stopped, 1 for an unreadable or invalid config, 2 for a usage",
    "error.",
    "",
    "Flags:",
    formatFlagHelp(TESTER_FLAGS),
  ].join("\n");
}
