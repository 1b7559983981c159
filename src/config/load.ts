/**
 * Loads `maglev.yaml`: parse stage, then (only on a clean parse) the semantic
 * stage. Never throws: every problem, including an unreadable file or a bug
 * in this module, comes back as a positioned ConfigError.
 */
import { parseStage } from "./_parse.ts";
import { semanticStage } from "./_semantic.ts";
import type { ConfigError, ConfigErrorKind, LoadResult } from "./types.ts";

/** Options for loading a config. */
export interface LoadOptions {
  /**
   * VPP integration is on (the default): the GRE source addresses under
   * `maglev.vpp.lb` are then required. `--vpp=false` passes false.
   */
  readonly vppEnabled?: boolean;
}

/**
 * Parses and validates config text. `file` is only used in error reports.
 *
 * @example
 * ```ts
 * const result = parseConfigText(text, "maglev.yaml", { vppEnabled: false });
 * if (!result.ok) console.error(formatConfigErrors(result.errors));
 * ```
 */
export function parseConfigText(
  text: string,
  file: string,
  opts: LoadOptions = {},
): LoadResult {
  try {
    if (typeof text !== "string") {
      return failed("parse", [
        fileError(String(file), "the config text is not a string"),
      ]);
    }
    const parsed = parseStage(text, file);
    if (parsed.raw === undefined) return failed("parse", parsed.errors);
    const checked = semanticStage(parsed.raw, file, opts.vppEnabled ?? true);
    if (checked.config === undefined) return failed("semantic", checked.errors);
    return { ok: true, config: checked.config };
  } catch (err) {
    return failed("parse", [fileError(String(file), unexpected(err))]);
  }
}

/**
 * Reads and validates a config file. A missing or unreadable file is one
 * parse error at line 0.
 */
export async function loadConfigFile(
  path: string,
  opts: LoadOptions = {},
): Promise<LoadResult> {
  let text: string;
  try {
    // A FIFO (or a device) would block the read for ever, and every later
    // reload with it; /dev/zero would fill the memory.
    const info = await Deno.stat(path);
    if (info.isDirectory) throw new Deno.errors.IsADirectory(path);
    if (!info.isFile) {
      return failed("parse", [
        fileError(
          path,
          "cannot read config: it is not a regular file (a FIFO, socket or device); --config names the maglev.yaml file itself",
        ),
      ]);
    }
    if (info.size > MAX_CONFIG_BYTES) {
      return failed("parse", [
        fileError(
          path,
          `cannot read config: it is ${info.size} bytes, more than the ${
            MAX_CONFIG_BYTES / 1024 / 1024
          } MiB a config may have`,
        ),
      ]);
    }
    const bytes = await Deno.readFile(path, {
      signal: AbortSignal.timeout(READ_DEADLINE_MS),
    });
    if (bytes.length > MAX_CONFIG_BYTES) {
      throw new Error(`it grew past ${MAX_CONFIG_BYTES} bytes while read`);
    }
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (err) {
    return failed("parse", [
      fileError(path, `cannot read config: ${readFailure(err)}`),
    ]);
  }
  return parseConfigText(text, path, opts);
}

/** The largest config file read: real ones are kilobytes. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
/** A read that takes longer (a hung network file system) fails. */
const READ_DEADLINE_MS = 10_000;

/**
 * Why a config file could not be read, with what the operator should do:
 * the path itself was given (flag, environment or default), so the hint is
 * about the file, not about passing one.
 */
function readFailure(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) {
    return "the file does not exist; check the path given with --config (or MAGLEV_CONFIG)";
  }
  if (err instanceof Deno.errors.IsADirectory) {
    return "it is a directory; --config names the maglev.yaml file itself";
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return "permission denied; the daemon's user must be able to read it";
  }
  if (err instanceof DOMException && err.name === "TimeoutError") {
    return `no data within ${READ_DEADLINE_MS / 1000} s (a hung file system?)`;
  }
  if (err instanceof TypeError) return "the file is not valid UTF-8 text";
  return err instanceof Error
    ? err.message.replace(/: (readfile|open) '.*'$/, "")
    : String(err);
}

function failed(
  kind: ConfigErrorKind,
  errors: readonly ConfigError[],
): LoadResult {
  const sorted = [...errors].sort((a, b) => a.line - b.line || a.col - b.col);
  return { ok: false, kind, errors: sorted };
}

function fileError(file: string, message: string): ConfigError {
  return { kind: "parse", file, line: 0, col: 0, path: "", message };
}

function unexpected(err: unknown): string {
  if (err instanceof Deno.errors.NotCapable) {
    // The yaml package reads LOG_TOKENS / LOG_STREAM from the environment.
    return `cannot parse YAML without environment access (${err.message}): run with --allow-env`;
  }
  const why = err instanceof Error ? err.message : String(err);
  return `internal error while reading the config (${why}); please report this as a bug`;
}
