/**
 * What counts as a healthy HTTP answer: status in the configured ranges and,
 * optionally, a body matching the configured regular expression. Regexps are
 * compiled once per source, not once per probe.
 */
import type { StatusRange } from "../config/types.ts";

/** Status codes accepted when the check lists none. */
export const DEFAULT_RESPONSE_CODES: readonly StatusRange[] = [[200, 399]];

/** Whether `status` falls in one of `ranges` (default 200-399 when empty). */
export function statusAccepted(
  status: number,
  ranges: readonly StatusRange[],
): boolean {
  const rs = ranges.length === 0 ? DEFAULT_RESPONSE_CODES : ranges;
  for (let i = 0; i < rs.length; i++) {
    if (status >= rs[i][0] && status <= rs[i][1]) return true;
  }
  return false;
}

const regexps = new Map<string, RegExp | string>();
const MAX_CACHED = 1024;

/**
 * The compiled regexp for `source`, or the compile error text. Compiled
 * without flags, so `test` keeps no state between probes.
 */
export function cachedRegExp(source: string): RegExp | string {
  let re = regexps.get(source);
  if (re === undefined) {
    try {
      re = new RegExp(source);
    } catch (e) {
      re = e instanceof Error ? e.message : String(e);
    }
    // Sources come from the config, so the map stays small; the cap only
    // guards against a pathological caller.
    if (regexps.size >= MAX_CACHED) regexps.clear();
    regexps.set(source, re);
  }
  return re;
}

const decoder = new TextDecoder();

/** Whether the body (UTF-8, invalid bytes replaced) matches the regexp. */
export function bodyMatches(re: RegExp, body: Uint8Array): boolean {
  return re.test(body.length === 0 ? "" : decoder.decode(body));
}
