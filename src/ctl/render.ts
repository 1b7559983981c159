/**
 * How `maglev ctl` shows API messages: aligned tables and key/value blocks
 * for people (state words coloured when colour is on), and protobuf JSON for
 * scripts. Everything here is a pure function of its inputs (the clock is
 * passed in), so the output is unit-tested byte for byte.
 */
import {
  type DescMessage,
  type MessageShape,
  toJson,
} from "@bufbuild/protobuf";
import type {
  BackendInfo,
  CheckConfigResponse,
  ConfigErrorInfo,
  Event,
  FrontendInfo,
  HealthCheckInfo,
  ReloadConfigResponse,
  SyncVPPLBStateResponse,
  VersionInfo,
  VPPInfo,
  VPPLBCounters,
  VPPLBState,
} from "../api/gen/maglev/v1/maglev_pb.ts";

/** Whether to emit ANSI colour codes. */
export interface Style {
  readonly color: boolean;
}

/** No colour: pipes, files, JSON. */
export const PLAIN: Style = { color: false };

const SGR = {
  bold: "1",
  red: "31",
  green: "32",
  yellow: "33",
  blue: "34",
  grey: "90",
} as const;

/** A colour name known to `paint`. */
export type Colour = keyof typeof SGR;

/** Wraps `text` in an ANSI colour when the style has colour on. */
export function paint(style: Style, colour: Colour, text: string): string {
  if (!style.color || text === "") return text;
  return `\x1b[${SGR[colour]}m${text}\x1b[0m`;
}

// deno-lint-ignore no-control-regex
const ANSI_RE = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;

/** Removes ANSI escape sequences. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI_RE, "");
}

/** Columns `text` takes on a terminal: colour codes count for nothing. */
export function visibleWidth(text: string): number {
  return [...stripAnsi(text)].length;
}

/** Pads to `width` visible columns. */
export function padVisible(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - visibleWidth(text)));
}

const STATE_COLOUR: Record<string, Colour> = {
  up: "green",
  down: "red",
  unknown: "yellow",
  paused: "yellow",
  disabled: "grey",
  removed: "grey",
};

/** A backend or frontend state word in its colour. */
export function stateWord(style: Style, state: string): string {
  const c = STATE_COLOUR[state];
  return c ? paint(style, c, state) : state;
}

/** The one-line form of every error `maglev ctl` reports. */
export function errorLine(style: Style, message: string): string {
  return paint(style, "red", `error: ${message}`);
}

/**
 * An aligned table: a header row, then one row per entry, columns two
 * spaces apart, no trailing blanks. Widths ignore colour codes.
 */
export function table(
  style: Style,
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  indent = "",
): string {
  const widths = headers.map((h, i) =>
    Math.max(visibleWidth(h), ...rows.map((r) => visibleWidth(r[i] ?? "")))
  );
  const line = (cells: readonly string[]) =>
    indent +
    cells.map((c, i) => i === cells.length - 1 ? c : padVisible(c, widths[i]))
      .join("  ").trimEnd();
  return [
    line(headers.map((h) => paint(style, "bold", h))),
    ...rows.map(line),
  ].join("\n");
}

/** Labels and values, aligned; labels in blue when colour is on. */
export function keyValues(
  style: Style,
  pairs: readonly (readonly [string, string])[],
  indent = "",
): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) =>
    `${indent}${paint(style, "blue", k.padEnd(width))}  ${v}`.trimEnd()
  ).join("\n");
}

const yesNo = (b: boolean) => b ? "yes" : "no";

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

/** Unix ns → local `YYYY-MM-DD HH:MM:SS.mmm`; "-" for 0 (never). */
export function formatTime(ns: bigint): string {
  if (ns <= 0n) return "-";
  const d = new Date(Number(ns / 1_000_000n));
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${
    pad2(d.getHours())
  }:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${
    String(d.getMilliseconds()).padStart(3, "0")
  }`;
}

/** A duration for people: `80ms`, `1.5s`, `12s`, `3m05s`, `2h10m`, `4d03h`. */
export function formatDuration(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 10) return `${Number(s.toFixed(1))}s`;
  if (s < 60) return `${Math.floor(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${pad2(Math.floor(s % 60))}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${pad2(m % 60)}m`;
  return `${Math.floor(h / 24)}d${pad2(h % 24)}h`;
}

/** How long ago `ns` was, e.g. `3m05s ago`; "-" for 0. */
export function formatAge(ns: bigint, nowMs: number): string {
  if (ns <= 0n) return "-";
  return `${formatDuration(nowMs - Number(ns / 1_000_000n))} ago`;
}

/** Pretty protobuf JSON of one API message, for `--output json`. */
export function jsonText<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
): string {
  return JSON.stringify(
    toJson(schema, message, { alwaysEmitImplicit: true }),
    null,
    2,
  );
}

/** Compact protobuf JSON on one line, for streams (`watch events`). */
export function jsonLine<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
): string {
  return JSON.stringify(toJson(schema, message, { alwaysEmitImplicit: true }));
}

// ------------------------------------------------------------- version

/** Build identity of this client. */
export interface ClientVersion {
  readonly version: string;
  readonly commit: string;
  readonly buildDate: string;
}

function versionText(v: ClientVersion | VersionInfo): string {
  return `maglev ${v.version} (commit ${v.commit}, built ${v.buildDate})`;
}

/** `show version`: this client, and the daemon when it answered. */
export function renderVersion(
  style: Style,
  client: ClientVersion,
  server: string,
  daemon?: VersionInfo,
): string {
  const pairs: [string, string][] = [["client", versionText(client)]];
  if (daemon) pairs.push(["daemon", `${versionText(daemon)} at ${server}`]);
  return keyValues(style, pairs);
}

// ----------------------------------------------------------- frontends

function upCount(f: FrontendInfo): string {
  const states = new Map<string, string>();
  for (const p of f.pools) {
    for (const b of p.backends) states.set(b.name, b.state);
  }
  const up = [...states.values()].filter((s) => s === "up").length;
  return `${up}/${states.size}`;
}

function portText(port: number): string {
  return port === 0 ? "all" : String(port);
}

/** `show frontends`. */
export function renderFrontends(
  style: Style,
  frontends: readonly FrontendInfo[],
): string {
  if (frontends.length === 0) return "no frontends configured";
  return table(
    style,
    [
      "FRONTEND",
      "ADDRESS",
      "PROTO",
      "PORT",
      "STATE",
      "ACTIVE POOL",
      "UP",
      "DESCRIPTION",
    ],
    frontends.map((f) => [
      f.name,
      f.address,
      f.protocol,
      portText(f.port),
      stateWord(style, f.state),
      f.activePool || "-",
      upCount(f),
      f.description,
    ]),
  );
}

/** `show frontend <name>`: the frontend, then each pool and its members. */
export function renderFrontend(style: Style, f: FrontendInfo): string {
  const pairs: [string, string][] = [["frontend", f.name]];
  if (f.description) pairs.push(["description", f.description]);
  pairs.push(
    ["address", f.address],
    ["protocol", f.protocol],
    ["port", portText(f.port)],
    ["encap", f.encap],
    ["state", stateWord(style, f.state)],
    ["active pool", f.activePool || "none"],
    ["src-ip-sticky", yesNo(f.srcIpSticky)],
    ["flush-on-down", yesNo(f.flushOnDown)],
  );
  if (f.guard) {
    const pct = (x: number) => `${Math.round(x * 100)}%`;
    pairs.push([
      "guard",
      f.guard.tripped
        ? paint(
          style,
          "red",
          `HOLDING ${
            f.guard.heldBackends.join(", ")
          } at their last good weights (the wave would have left ${
            pct(f.guard.share)
          }, min-healthy ${
            pct(f.guard.minHealthy)
          }); confirm with: set frontend ${f.name} guard confirm`,
        )
        : `min-healthy ${pct(f.guard.minHealthy)}`,
    ]);
  }
  const parts = [keyValues(style, pairs)];
  let overridden = false;
  for (const p of f.pools) {
    const active = p.name === f.activePool;
    parts.push(
      `${paint(style, "blue", "pool")} ${p.name}${active ? " (active)" : ""}`,
    );
    if (p.backends.length === 0) {
      parts.push("  no backends");
      continue;
    }
    parts.push(table(
      style,
      ["BACKEND", "STATE", "WEIGHT", "EFFECTIVE", "FLUSH"],
      p.backends.map((b) => {
        overridden ||= b.weightOverridden;
        return [
          b.name,
          stateWord(style, b.state),
          `${b.weight}${b.weightOverridden ? "*" : ""}`,
          String(b.effectiveWeight),
          yesNo(b.flush),
        ];
      }),
      "  ",
    ));
  }
  if (overridden) {
    parts.push("* weight set at run time (set frontend ... weight)");
  }
  return parts.join("\n");
}

// ------------------------------------------------------------ backends

function probeText(b: BackendInfo): string {
  const p = b.lastProbe;
  if (!p) return "-";
  return [p.code, p.text].filter(Boolean).join(" ");
}

function lastChange(b: BackendInfo): bigint {
  return b.transitions.at(-1)?.atUnixNs ?? 0n;
}

function healthText(b: BackendInfo): string {
  return `${b.healthCounter}/${Math.max(0, b.rise + b.fall - 1)}`;
}

/** `show backends`. */
export function renderBackends(
  style: Style,
  backends: readonly BackendInfo[],
  nowMs: number,
): string {
  if (backends.length === 0) return "no backends configured";
  return table(
    style,
    [
      "BACKEND",
      "ADDRESS",
      "STATE",
      "HEALTH",
      "CHECK",
      "LAST PROBE",
      "PROBED",
      "SINCE",
      "FRONTENDS",
    ],
    backends.map((b) => [
      b.name,
      b.address,
      stateWord(style, b.state),
      healthText(b),
      b.healthcheck,
      probeText(b),
      b.lastProbe ? formatAge(b.lastProbe.atUnixNs, nowMs) : "-",
      formatAge(lastChange(b), nowMs),
      b.frontends.join(",") || "-",
    ]),
  );
}

/** `show backend <name>`: details, last probe and transition history. */
export function renderBackend(
  style: Style,
  b: BackendInfo,
  nowMs: number,
): string {
  let state = stateWord(style, b.state);
  if (b.pausedFrom) state += ` (paused from ${stateWord(style, b.pausedFrom)})`;
  const since = lastChange(b);
  if (since > 0n) {
    state += `, since ${formatTime(since)} (${formatAge(since, nowMs)})`;
  }
  const pairs: [string, string][] = [
    ["backend", b.name],
    ["address", b.address],
    ["state", state],
    ["enabled", yesNo(b.enabled)],
    ["healthcheck", b.healthcheck],
    [
      "health",
      `${
        healthText(b)
      } (rise ${b.rise}, fall ${b.fall}; up at ${b.rise} or more)`,
    ],
    ["probing now", yesNo(b.probing)],
    ["frontends", b.frontends.join(", ") || "none"],
  ];
  const p = b.lastProbe;
  pairs.push([
    "last probe",
    p
      ? `${paint(style, p.ok ? "green" : "red", p.ok ? "ok" : "failed")} ${
        probeText(b)
      }, at ${formatTime(p.atUnixNs)} (${formatAge(p.atUnixNs, nowMs)})`
      : "none yet",
  ]);
  const parts = [keyValues(style, pairs)];
  if (b.transitions.length === 0) {
    parts.push(`${paint(style, "blue", "transitions")}  none`);
  } else {
    parts.push(`${paint(style, "blue", "transitions")} (oldest first)`);
    parts.push(table(
      style,
      ["TIME", "FROM", "TO", "CODE", "REASON"],
      b.transitions.map((t) => [
        formatTime(t.atUnixNs),
        stateWord(style, t.from),
        stateWord(style, t.to),
        t.code,
        t.reason,
      ]),
      "  ",
    ));
  }
  return parts.join("\n");
}

// ------------------------------------------------------- health checks

/** `show healthchecks`. */
export function renderHealthChecks(
  style: Style,
  checks: readonly HealthCheckInfo[],
): string {
  if (checks.length === 0) return "no health checks configured";
  return table(
    style,
    [
      "HEALTHCHECK",
      "TYPE",
      "PORT",
      "INTERVAL",
      "FAST",
      "DOWN",
      "TIMEOUT",
      "RISE",
      "FALL",
      "BACKENDS",
    ],
    checks.map((c) => [
      c.name,
      c.type + (c.tls ? "+tls" : ""),
      c.type === "icmp" ? "-" : String(c.port),
      formatDuration(c.intervalMs),
      formatDuration(c.fastIntervalMs),
      formatDuration(c.downIntervalMs),
      formatDuration(c.timeoutMs),
      String(c.rise),
      String(c.fall),
      c.backends.join(",") || "-",
    ]),
  );
}

/** `show healthcheck <name>`: every parameter that applies to its type. */
export function renderHealthCheck(style: Style, c: HealthCheckInfo): string {
  const pairs: [string, string][] = [
    ["healthcheck", c.name],
    ["type", c.type + (c.tls ? " (tls)" : "")],
  ];
  if (c.type !== "icmp") pairs.push(["port", String(c.port)]);
  pairs.push(
    ["interval", formatDuration(c.intervalMs)],
    ["fast-interval", formatDuration(c.fastIntervalMs)],
    ["down-interval", formatDuration(c.downIntervalMs)],
    ["timeout", formatDuration(c.timeoutMs)],
    ["rise", String(c.rise)],
    ["fall", String(c.fall)],
  );
  if (c.type === "http" || c.type === "https") {
    pairs.push(
      ["method", c.method],
      ["path", c.path],
      ["host", c.host || "(backend address)"],
      ["response-code", c.responseCode],
      ["response-regexp", c.responseRegexp || "(any body)"],
    );
  }
  if (c.type === "https" || c.tls) {
    pairs.push(
      ["server-name", c.serverName || "(none)"],
      ["insecure-skip-verify", yesNo(c.insecureSkipVerify)],
    );
  }
  pairs.push(["backends", c.backends.join(", ") || "none"]);
  return keyValues(style, pairs);
}

// ----------------------------------------------------------------- VPP

/** `show vpp info`. */
export function renderVppInfo(
  style: Style,
  v: VPPInfo,
  nowMs: number,
): string {
  const when = (ns: bigint) =>
    ns > 0n ? `${formatTime(ns)} (${formatAge(ns, nowMs)})` : "-";
  return keyValues(style, [
    [
      "connected",
      v.connected ? paint(style, "green", "yes") : paint(style, "red", "no"),
    ],
    ["version", v.version || "-"],
    ["build-date", v.buildDate || "-"],
    ["build-directory", v.buildDirectory || "-"],
    ["pid", v.pid ? String(v.pid) : "-"],
    ["boottime", when(v.boottimeNs)],
    ["connected at", when(v.connecttimeNs)],
  ]);
}

/** `show vpp lb state`: global conf, then each VIP with its ASes. */
export function renderVppLbState(style: Style, s: VPPLBState): string {
  const parts: string[] = [];
  if (s.conf) {
    parts.push(keyValues(style, [
      ["ipv4-src-address", s.conf.ipv4SrcAddress || "-"],
      ["ipv6-src-address", s.conf.ipv6SrcAddress || "-"],
      ["sticky-buckets-per-core", String(s.conf.stickyBucketsPerCore)],
      ["flow-timeout", `${s.conf.flowTimeout}s`],
    ]));
  }
  if (s.vips.length === 0) parts.push("no VIPs in VPP");
  for (const v of s.vips) {
    parts.push(
      `${paint(style, "blue", "vip")} ${v.prefix} ${v.protocol}/${
        portText(v.port)
      } ${v.encap}${
        v.srcIpSticky ? " src-ip-sticky" : ""
      } flow-table ${v.flowTableLength}${
        v.frontend
          ? ` (frontend ${v.frontend})`
          : v.managed
          ? " (no frontend)"
          : " (foreign: not maglev's, left alone)"
      }`,
    );
    if (v.ases.length === 0) {
      parts.push("  no application servers");
      continue;
    }
    parts.push(table(
      style,
      ["AS", "WEIGHT", "BUCKETS", "BACKEND"],
      v.ases.map((a) => [
        a.address,
        String(a.weight),
        String(a.buckets),
        a.backend || "-",
      ]),
      "  ",
    ));
  }
  return parts.join("\n");
}

/** `show vpp lb counters`. */
export function renderVppLbCounters(style: Style, c: VPPLBCounters): string {
  if (c.vips.length === 0) return "no VIP counters";
  return [
    table(
      style,
      [
        "FRONTEND",
        "VIP",
        "PROTO",
        "PORT",
        "NEXT",
        "FIRST",
        "UNTRACKED",
        "NO-SERVER",
        "ROUTE PKTS",
        "ROUTE BYTES",
      ],
      c.vips.map((v) => [
        v.frontend || "-",
        v.prefix,
        v.protocol,
        portText(v.port),
        String(v.next),
        String(v.first),
        String(v.untracked),
        String(v.noServer),
        String(v.routePackets),
        String(v.routeBytes),
      ]),
    ),
    `read at ${formatTime(c.atUnixNs)}`,
  ].join("\n");
}

/** `sync vpp lb state`: the operations sent (or that would be). */
export function renderSync(style: Style, r: SyncVPPLBStateResponse): string {
  if (r.operations.length === 0) return "VPP is in sync: no operations needed";
  // The daemon lists refused operations as "FAILED: ..." after the others.
  const failed = r.operations.filter((o) => o.startsWith("FAILED: "));
  const n = r.operations.length - failed.length;
  const plural = (k: number) => `${k} operation${k === 1 ? "" : "s"}`;
  const head = r.dryRun
    ? `dry run: would send ${plural(n)}:`
    : `sent ${plural(n)}${
      failed.length ? `, ${failed.length} refused by VPP` : ""
    }:`;
  return [
    head,
    ...r.operations.map((o) =>
      o.startsWith("FAILED: ") ? `  ${paint(style, "red", o)}` : `  ${o}`
    ),
  ].join("\n");
}

// -------------------------------------------------------------- config

/** Config problems, one `file:line:col: path: message` line each. */
export function configErrorLines(
  r: CheckConfigResponse | ReloadConfigResponse,
): string[] {
  const text = [r.parseError, r.semanticError].filter(Boolean).join("\n");
  if (text) return text.split("\n").filter(Boolean);
  return r.errors.map((e: ConfigErrorInfo) =>
    `${e.file}:${e.line}:${e.col}: ${e.path}: ${e.message}`
  );
}

/** `config reload` success: what changed. */
export function renderReload(_style: Style, r: ReloadConfigResponse): string {
  const list = (xs: readonly string[]) => xs.length ? xs.join(", ") : "none";
  return [
    "config reloaded",
    keyValues(PLAIN, [
      ["backends added", list(r.backendsAdded)],
      ["backends removed", list(r.backendsRemoved)],
      ["backends changed", list(r.backendsChanged)],
      ["backends unchanged", String(r.backendsUnchanged)],
      ["frontends added", list(r.frontendsAdded)],
      ["frontends removed", list(r.frontendsRemoved)],
    ], "  "),
  ].join("\n");
}

// -------------------------------------------------------------- events

function attrsText(attrs: Readonly<Record<string, string>>): string {
  return Object.entries(attrs).map(([k, v]) =>
    `${k}=${/[\s"=]/.test(v) || v === "" ? JSON.stringify(v) : v}`
  ).join(" ");
}

/**
 * One event as one line: time, kind, name, from → to, then the reason or
 * the log record's fields.
 */
export function renderEvent(style: Style, e: Event): string {
  const ev = e.event;
  switch (ev.case) {
    case "backend": {
      const t = ev.value.transition;
      const reason = [
        t?.code && t.code !== "NONE" ? t.code : "",
        t?.reason ?? "",
      ]
        .filter(Boolean).join(" ");
      return [
        formatTime(t?.atUnixNs ?? 0n),
        "backend ",
        ev.value.backend,
        `${stateWord(style, t?.from ?? "?")} → ${
          stateWord(style, t?.to ?? "?")
        }`,
        reason,
      ].filter(Boolean).join("  ");
    }
    case "frontend": {
      const v = ev.value;
      const pool = v.info?.activePool ? `active pool ${v.info.activePool}` : "";
      return [
        formatTime(v.atUnixNs),
        "frontend",
        v.frontend,
        `${stateWord(style, v.from)} → ${stateWord(style, v.to)}`,
        v.from === v.to ? "snapshot" : "",
        pool,
      ].filter(Boolean).join("  ");
    }
    case "log": {
      const v = ev.value;
      const colour: Colour | undefined = v.level === "error"
        ? "red"
        : v.level === "warn"
        ? "yellow"
        : v.level === "debug"
        ? "grey"
        : undefined;
      const level = v.level.padEnd(5);
      return [
        formatTime(v.atUnixNs),
        "log     ",
        colour ? paint(style, colour, level) : level,
        v.msg,
        attrsText(v.attrs),
      ].filter(Boolean).join("  ");
    }
    default:
      return `event #${e.seq} of an unknown kind`;
  }
}

/** The `help` listing: syntax and summary, aligned. */
export function renderCommandList(
  style: Style,
  commands: readonly { syntax: string; summary: string }[],
): string {
  const width = Math.max(...commands.map((c) => c.syntax.length));
  return commands.map((c) =>
    `  ${paint(style, "bold", c.syntax.padEnd(width))}  ${c.summary}`
  ).join("\n");
}

/** `?` help entries: word and one-line help, aligned and indented. */
export function renderHelpEntries(
  style: Style,
  entries: readonly { word: string; help: string }[],
): string {
  if (entries.length === 0) return "  (nothing fits here)";
  const width = Math.max(...entries.map((e) => e.word.length));
  return entries.map((e) =>
    `  ${paint(style, "bold", e.word.padEnd(width))}  ${e.help}`
  ).join("\n");
}
