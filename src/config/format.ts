/**
 * Turns config errors into the one-line `file:line:col: path: message` form
 * that editors and CI logs recognise as a jump target.
 */
import type { ConfigError } from "./types.ts";

/**
 * Formats one error. `:line:col` is left out when the error has no position
 * (line 0), and `path: ` when the error is not about a key.
 *
 * @example
 * ```ts
 * formatConfigError(err); // "maglev.yaml:12:7: maglev.backends.b1.address: invalid IPv4 address ..."
 * ```
 */
export function formatConfigError(e: ConfigError): string {
  const position = e.line > 0 ? `:${e.line}:${e.col}` : "";
  const path = e.path === "" ? "" : `${e.path}: `;
  return `${e.file}${position}: ${path}${e.message}`;
}

/** Formats every error, one per line, in the given order. */
export function formatConfigErrors(errors: readonly ConfigError[]): string {
  return errors.map(formatConfigError).join("\n");
}
