/**
 * Configuration: `maglev.yaml` → a validated, typed {@link Config}.
 *
 * @example
 * ```ts
 * import { formatConfigErrors, loadConfigFile } from "./config/mod.ts";
 * const result = await loadConfigFile("/etc/vpp-maglev/maglev.yaml");
 * if (!result.ok) {
 *   console.error(formatConfigErrors(result.errors));
 *   Deno.exit(result.kind === "parse" ? 1 : 2);
 * }
 * ```
 * @module
 */
export type * from "./types.ts";
export { loadConfigFile, type LoadOptions, parseConfigText } from "./load.ts";
export { formatConfigError, formatConfigErrors } from "./format.ts";
export { formatDuration, parseDuration } from "./duration.ts";
export {
  compareAddresses,
  isIPv4,
  isIPv6,
  parseAddress,
  type ParsedAddress,
  type ParsedPrefix,
  parsePrefix,
} from "./address.ts";
