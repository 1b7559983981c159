/**
 * Structured logging shared by the three commands.
 *
 * Records are plain objects so they can be written as JSON lines (the
 * default when not on a terminal, e.g. under systemd), as `key=value` text
 * for people, and forwarded to extra sinks (the daemon's event bus feeds
 * WatchEvents subscribers, who pick their own level independent of
 * `--log-level`).
 */

import type { FlagSpec } from "./flags.ts";

/** Severity, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Every level in ascending order of severity. */
export const LOG_LEVELS: readonly LogLevel[] = [
  "debug",
  "info",
  "warn",
  "error",
];

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** One log record. `msg` is a stable kebab-case event name. */
export interface LogRecord {
  readonly timeMs: number;
  readonly level: LogLevel;
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** Output format of the primary sink. */
export type LogFormat = "json" | "text";

/** A consumer of records at or above `level`. */
export interface LogSink {
  level: LogLevel;
  write(record: LogRecord): void;
}

/** Renders a record as one JSON line (no trailing newline). */
export function formatJson(r: LogRecord): string {
  return JSON.stringify({
    time: new Date(r.timeMs).toISOString(),
    level: r.level,
    msg: r.msg,
    ...r.fields,
  }, jsonSafe);
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return value.message;
  return value;
}

/** Renders a record as `time LEVEL msg key=value ...` for a terminal. */
export function formatText(r: LogRecord): string {
  const parts = [
    new Date(r.timeMs).toISOString(),
    r.level.toUpperCase().padEnd(5),
    r.msg,
  ];
  for (const [k, v] of Object.entries(r.fields)) {
    if (v === undefined) continue;
    let s = v instanceof Error
      ? v.message
      : typeof v === "string"
      ? v
      : JSON.stringify(v, jsonSafe);
    if (/[\s"=]/.test(s) || s === "") s = JSON.stringify(s);
    parts.push(`${k}=${s}`);
  }
  return parts.join(" ");
}

const encoder = new TextEncoder();

/** How long one line may wait for a reader that does not keep up. */
const WRITE_PATIENCE_MS = 2000;
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes a log line to stdout whole, ignoring a closed pipe: logging must
 * never kill the daemon. stdout, as the Go maglevd's slog handler did, so a
 * wrapper that reads the JSON records there keeps working; stderr is left to
 * what goes wrong before a logger exists (usage errors, a refused start). Lines logged in one turn of the event loop go out in one
 * write at its end (a 1,000-VIP dataplane change logs 1,000 lines at once,
 * and a write per line was a tenth of its CPU); 64 KB forces a write, and so
 * do `Deno.exit` and an uncaught error.
 */
export function logLine(line: string): void {
  if (!flushHooked) {
    flushHooked = true;
    globalThis.addEventListener("unload", flushLog);
    globalThis.addEventListener("error", flushLog);
    globalThis.addEventListener("unhandledrejection", flushLog);
  }
  pendingLines.push(line);
  pendingBytes += line.length + 1;
  if (pendingBytes >= FLUSH_BYTES) {
    flushLog();
  } else if (!flushQueued) {
    flushQueued = true;
    queueMicrotask(flushLog);
  }
}

const FLUSH_BYTES = 65_536;
let pendingLines: string[] = [];
let pendingBytes = 0;
let flushQueued = false;
let flushHooked = false;

/** Writes what logLine holds now. */
export function flushLog(): void {
  flushQueued = false;
  if (pendingLines.length === 0) return;
  const text = pendingLines.join("\n") + "\n";
  pendingLines = [];
  pendingBytes = 0;
  writeWhole(encoder.encode(text));
}

/**
 * A pipe whose reader falls behind takes only part of a long write; the
 * rest is written after it, or the next record would run into a half line
 * (a broken JSON record). A reader that takes nothing for WRITE_PATIENCE_MS
 * loses the rest.
 */
function writeWhole(bytes: Uint8Array): void {
  let off = 0;
  const giveUp = performance.now() + WRITE_PATIENCE_MS;
  while (off < bytes.length) {
    let n = 0;
    try {
      n = Deno.stdout.writeSync(bytes.subarray(off));
    } catch (e) {
      // stdout gone (closed terminal, broken pipe): nothing sensible to do.
      if (!(e instanceof Deno.errors.WouldBlock)) return;
    }
    off += n;
    if (n === 0) {
      if (performance.now() > giveUp) return;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/** Options for a Logger's primary sink. */
export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Where formatted lines go; stdout by default. */
  writeLine?: (line: string) => void;
  /** Clock, injectable for tests. */
  now?: () => number;
}

/** Level-filtered structured logger with additional sinks. */
export class Logger {
  #level: LogLevel;
  #format: LogFormat;
  #writeLine: (line: string) => void;
  #now: () => number;
  #sinks = new Set<LogSink>();
  #min = 0;

  constructor(opts: LoggerOptions) {
    this.#level = opts.level;
    this.#format = opts.format;
    this.#writeLine = opts.writeLine ?? logLine;
    this.#now = opts.now ?? Date.now;
    this.#recompute();
  }

  /** The primary sink's level. */
  get level(): LogLevel {
    return this.#level;
  }

  /** True when a record at `level` would reach any sink; lets hot paths skip building fields. */
  enabled(level: LogLevel): boolean {
    return RANK[level] >= this.#min;
  }

  /** Adds a sink (e.g. a WatchEvents subscriber); returns its removal. */
  addSink(sink: LogSink): () => void {
    this.#sinks.add(sink);
    this.#recompute();
    return () => {
      this.#sinks.delete(sink);
      this.#recompute();
    };
  }

  /** Re-reads sink levels after a sink changed its level in place. */
  refresh(): void {
    this.#recompute();
  }

  #recompute(): void {
    let min = RANK[this.#level];
    for (const s of this.#sinks) min = Math.min(min, RANK[s.level]);
    this.#min = min;
  }

  /** Emits a record at `level`. */
  log(
    level: LogLevel,
    msg: string,
    fields: Record<string, unknown> = {},
  ): void {
    const rank = RANK[level];
    if (rank < this.#min) return;
    const record: LogRecord = { timeMs: this.#now(), level, msg, fields };
    if (rank >= RANK[this.#level]) {
      this.#writeLine(
        this.#format === "json" ? formatJson(record) : formatText(record),
      );
    }
    for (const s of this.#sinks) {
      if (rank >= RANK[s.level]) s.write(record);
    }
  }

  /** Debug-level record (probes, VPP messages). */
  debug(msg: string, fields?: Record<string, unknown>): void {
    this.log("debug", msg, fields);
  }
  /** Info-level record (transitions, reloads, dataplane changes). */
  info(msg: string, fields?: Record<string, unknown>): void {
    this.log("info", msg, fields);
  }
  /** Warning: something is wrong but the daemon carries on. */
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log("warn", msg, fields);
  }
  /** Error: an operation failed. */
  error(msg: string, fields?: Record<string, unknown>): void {
    this.log("error", msg, fields);
  }
}

/**
 * Default format: JSON when stdout is not a terminal (systemd, containers,
 * pipes), text on a terminal.
 */
export function defaultLogFormat(): LogFormat {
  try {
    return Deno.stdout.isTerminal() ? "text" : "json";
  } catch {
    return "json";
  }
}

/**
 * The `--log-level` / `--log-format` flags every long-running command takes
 * (same names, env vars and choices); `levelHelp` says what the levels mean
 * for that command.
 */
export function logFlags(levelHelp: string): readonly FlagSpec[] {
  return [
    {
      name: "log-level",
      type: "string",
      default: "info",
      env: "MAGLEV_LOG_LEVEL",
      choices: [...LOG_LEVELS],
      valueName: "LEVEL",
      help: levelHelp,
    },
    {
      name: "log-format",
      type: "string",
      env: "MAGLEV_LOG_FORMAT",
      choices: ["json", "text"],
      valueName: "FORMAT",
      help: "json or text (default: text on a terminal, json otherwise)",
    },
  ];
}

/**
 * Sends what libraries print with `console.error` / `console.warn` through
 * `log`, one record each, so the daemon's output stays one structured record
 * per line (connect-node prints a failed handler with its stack trace on
 * its own). An error argument becomes its name and message; the stack only
 * at debug level. Returns a function that puts the console back.
 */
export function routeConsoleTo(
  log: Logger,
  classify: (text: string) => { level: LogLevel; msg: string } = () => ({
    level: "warn",
    msg: "library-message",
  }),
): () => void {
  const saved = { error: console.error, warn: console.warn };
  const route = (args: unknown[]) => {
    const text = args.map((a) =>
      a instanceof Error ? `${a.name}: ${a.message}` : String(a)
    ).join(" ");
    const { level, msg } = classify(text);
    const stack = args.find((a): a is Error => a instanceof Error)?.stack;
    log.log(level, msg, {
      text,
      ...(stack && log.enabled("debug") ? { stack } : {}),
    });
  };
  console.error = (...args: unknown[]) => route(args);
  console.warn = (...args: unknown[]) => route(args);
  return () => {
    console.error = saved.error;
    console.warn = saved.warn;
  };
}
