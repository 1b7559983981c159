/**
 * The one request an HTTP probe sends, as bytes. Built once per (check,
 * backend) and reused for every probe of that pair.
 */
import type { HealthCheckConfig } from "../config/types.ts";
import { PROJECT_URL, VERSION } from "../version.ts";
import type { ProbeTarget } from "./types.ts";

/**
 * The User-Agent every HTTP probe sends: version and project URL, as the
 * original's did, in the "(+URL)" form log readers know from crawlers.
 */
export const USER_AGENT = `maglev/${VERSION} (+${PROJECT_URL})`;

/**
 * Host header value: the configured host, else the backend address (IPv6 in
 * brackets) with `:port` unless it is the scheme's default port.
 */
export function hostHeader(
  target: ProbeTarget,
  port: number,
  tls: boolean,
  host?: string,
): string {
  if (host !== undefined && host !== "") return host;
  const addr = target.family === 6 || target.address.includes(":")
    ? `[${target.address}]`
    : target.address;
  return port === (tls ? 443 : 80) ? addr : `${addr}:${port}`;
}

/** Removes characters that would split the request line or a header. */
function clean(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/[\x00-\x20\x7f]/g, (c) => encodeURIComponent(c));
}

/** Removes line breaks from a header value. */
function cleanValue(s: string): string {
  return s.replace(/[\r\n]/g, "");
}

/**
 * The complete request text for one check against one backend. A health
 * check closes its connection (`Connection: close`); `keepAlive` (maglev
 * tester) leaves HTTP/1.1's default, a persistent connection.
 */
export function requestText(
  target: ProbeTarget,
  check: HealthCheckConfig,
  keepAlive = false,
): string {
  const p = check.params;
  const path = p.path === "" ? "/" : clean(p.path);
  const host = hostHeader(target, check.port, check.type === "https", p.host);
  return `${p.method} ${path} HTTP/1.1\r\n` +
    `Host: ${cleanValue(host)}\r\n` +
    `User-Agent: ${USER_AGENT}\r\n` +
    "Accept: */*\r\n" +
    (keepAlive ? "\r\n" : "Connection: close\r\n\r\n");
}

const encoder = new TextEncoder();
const cache = new WeakMap<HealthCheckConfig, Map<string, Uint8Array>>();

/** Request bytes, cached per check object, backend address and keep-alive. */
export function requestBytes(
  target: ProbeTarget,
  check: HealthCheckConfig,
  keepAlive = false,
): Uint8Array {
  let perCheck = cache.get(check);
  if (!perCheck) {
    perCheck = new Map();
    cache.set(check, perCheck);
  }
  const key = keepAlive ? `${target.address} keep-alive` : target.address;
  let bytes = perCheck.get(key);
  if (!bytes) {
    bytes = encoder.encode(requestText(target, check, keepAlive));
    perCheck.set(key, bytes);
  }
  return bytes;
}
