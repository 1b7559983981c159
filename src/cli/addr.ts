/**
 * `host:port` handling for listen and dial addresses, in the forms operators
 * type: `:9090`, `0.0.0.0:9090`, `[::1]:9090`, `localhost:9090`.
 */

/** A parsed address. `hostname` is undefined for `:port` (all interfaces). */
export interface HostPort {
  readonly hostname?: string;
  readonly port: number;
}

/** Parses `host:port`; throws a RangeError that says what is expected. */
export function parseHostPort(text: string): HostPort {
  const t = text.trim();
  let host: string;
  let port: string;
  if (t.startsWith("[")) {
    const end = t.indexOf("]");
    if (end < 0 || t[end + 1] !== ":") {
      throw new RangeError(
        `"${text}" is not an address: use [IPv6]:port, e.g. [::1]:9090`,
      );
    }
    host = t.slice(1, end);
    port = t.slice(end + 2);
  } else {
    const i = t.lastIndexOf(":");
    if (i < 0 || t.indexOf(":") !== i) {
      throw new RangeError(
        `"${text}" is not an address: use host:port, :port or [IPv6]:port`,
      );
    }
    host = t.slice(0, i);
    port = t.slice(i + 1);
  }
  const n = Number(port);
  if (!/^\d+$/.test(port) || n < 1 || n > 65535) {
    throw new RangeError(`"${text}": port must be 1..65535`);
  }
  return { hostname: host === "" ? undefined : host, port: n };
}

/** Formats for humans and URLs: IPv6 hosts get brackets. */
export function formatHostPort(hp: HostPort): string {
  const h = hp.hostname ?? "";
  return (h.includes(":") ? `[${h}]` : h) + ":" + hp.port;
}

/**
 * Starts `Deno.serve` on a listen address. `:port` means every interface,
 * both families; on hosts without IPv6 it falls back to IPv4 only.
 */
export function serveOn(
  addr: HostPort,
  handler: Deno.ServeHandler,
  signal?: AbortSignal,
): Deno.HttpServer<Deno.NetAddr> {
  const opts = { port: addr.port, signal, onListen() {} };
  if (addr.hostname !== undefined) {
    return Deno.serve({ ...opts, hostname: addr.hostname }, handler);
  }
  try {
    return Deno.serve({ ...opts, hostname: "::" }, handler);
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) throw e;
    return Deno.serve({ ...opts, hostname: "0.0.0.0" }, handler);
  }
}
