/**
 * Admin access for `maglev web`: HTTP basic auth with a constant-time
 * check, and a same-origin rule for requests that change something (basic
 * auth alone is sent by browsers on cross-site requests too, so without it
 * any page could make an operator's browser pause a backend).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** One admin user. */
export interface Credentials {
  readonly user: string;
  readonly password: string;
}

/** A credentials problem found at start-up; printed as one line. */
export class CredentialsError extends Error {
  override name = "CredentialsError";
}

/**
 * Reads admin credentials: the file (one `user:password` line; blank lines
 * and `#` comments ignored) when given, else `MAGLEV_WEB_USER` +
 * `MAGLEV_WEB_PASSWORD`. Undefined means admin is off. A half-configured
 * setup is an error rather than silently off, so a typo does not hide
 * `/admin/`.
 */
export async function loadCredentials(
  env: Readonly<Record<string, string | undefined>>,
  file?: string,
): Promise<Credentials | undefined> {
  if (file !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      throw new CredentialsError(
        `cannot read credentials file ${file}: ${
          e instanceof Deno.errors.NotFound
            ? "no such file"
            : e instanceof Deno.errors.PermissionDenied
            ? "permission denied"
            : (e as Error).message
        }`,
      );
    }
    const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) =>
      l !== "" && !l.startsWith("#")
    );
    if (lines.length !== 1) {
      throw new CredentialsError(
        `credentials file ${file}: expected exactly one user:password line, found ${lines.length}`,
      );
    }
    return splitPair(lines[0], `credentials file ${file}`);
  }
  const user = env.MAGLEV_WEB_USER;
  const password = env.MAGLEV_WEB_PASSWORD;
  if (user === undefined && password === undefined) return undefined;
  if (!user || !password) {
    throw new CredentialsError(
      "set both MAGLEV_WEB_USER and MAGLEV_WEB_PASSWORD (non-empty) to enable /admin/, or neither",
    );
  }
  if (user.includes(":")) {
    throw new CredentialsError("MAGLEV_WEB_USER must not contain ':'");
  }
  return { user, password };
}

function splitPair(line: string, where: string): Credentials {
  const i = line.indexOf(":");
  const user = i < 0 ? "" : line.slice(0, i);
  const password = i < 0 ? "" : line.slice(i + 1);
  if (user === "" || password === "") {
    throw new CredentialsError(
      `${where}: expected user:password with both parts non-empty`,
    );
  }
  return { user, password };
}

/** Why a request was refused, as an HTTP response without detail. */
export function unauthorized(): Response {
  return new Response("unauthorized\n", {
    status: 401,
    headers: {
      "www-authenticate": 'Basic realm="maglev", charset="UTF-8"',
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store",
    },
  });
}

/**
 * Checks basic-auth headers against the configured user. Both parts are
 * compared as HMACs under a per-process random key, so the comparison has
 * a fixed length and takes the same path whatever was sent (no early exit
 * on length or first differing byte, no short-circuit between user and
 * password).
 */
export class BasicAuth {
  #key = randomBytes(32);
  #user: Buffer;
  #password: Buffer;
  /** Digest comparisons made; lets tests see the constant-time path ran. */
  comparisons = 0;

  constructor(creds: Credentials) {
    this.#user = this.#mac(creds.user);
    this.#password = this.#mac(creds.password);
  }

  #mac(s: string): Buffer {
    return createHmac("sha256", this.#key).update(s, "utf8").digest();
  }

  /** Fixed-length, constant-time equality of two secrets. */
  #equal(expected: Buffer, given: string): boolean {
    this.comparisons++;
    return timingSafeEqual(expected, this.#mac(given));
  }

  /** True when `authorization` carries the right user and password. */
  check(authorization: string | null): boolean {
    const pair = parseBasic(authorization);
    // Compare something even for a malformed header, so every refusal
    // costs the same.
    const user = pair?.user ?? "";
    const password = pair?.password ?? "";
    const u = this.#equal(this.#user, user);
    const p = this.#equal(this.#password, password);
    return pair !== undefined && (Number(u) & Number(p)) === 1;
  }
}

/** Decodes `Basic base64(user:password)`; undefined when malformed. */
export function parseBasic(
  authorization: string | null,
): { user: string; password: string } | undefined {
  if (!authorization) return undefined;
  const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
  if (!m) return undefined;
  let text: string;
  try {
    const bin = atob(m[1]);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  const i = text.indexOf(":");
  if (i < 0) return undefined;
  return { user: text.slice(0, i), password: text.slice(i + 1) };
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * True when a request may change state: safe methods always; otherwise the
 * browser must say it came from this origin (`Sec-Fetch-Site: same-origin`,
 * or an `Origin` equal to the request's own origin). A request with
 * neither header is refused: every browser that could be tricked into a
 * cross-site POST sends at least one of them.
 */
export function sameOrigin(req: Request, trustForwarded = false): boolean {
  if (SAFE_METHODS.has(req.method)) return true;
  const site = req.headers.get("sec-fetch-site");
  if (site !== null) return site === "same-origin";
  const origin = req.headers.get("origin");
  if (origin === null || origin === "null") return false;
  return ownOrigins(req, trustForwarded).includes(origin);
}

/**
 * Origins the request was addressed to: its URL and Host, and what a proxy
 * says in X-Forwarded-Host / -Proto, but only when `trustForwarded` (the
 * peer is one of --trusted-proxies): anyone else could forge them.
 */
function ownOrigins(req: Request, trustForwarded: boolean): string[] {
  const url = new URL(req.url);
  const out = [url.origin];
  const forwarded = (name: string) =>
    trustForwarded ? req.headers.get(name) : null;
  const host = forwarded("x-forwarded-host") ?? req.headers.get("host");
  const proto = forwarded("x-forwarded-proto")?.split(",")[0].trim();
  if (host) {
    out.push(`${url.protocol}//${host}`);
    if (proto === "http" || proto === "https") out.push(`${proto}://${host}`);
  }
  return out;
}

/**
 * Failed admin logins per client, so guessing the password is slow: after
 * `maxFailures` wrong ones within `windowMs`, a client is refused (429) until
 * the window has passed since its first failure; a right login clears it.
 * Bounded: at most `maxClients` clients are tracked (the oldest go first).
 */
export class LoginThrottle {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #maxClients: number;
  readonly #now: () => number;
  readonly #failures = new Map<string, { since: number; count: number }>();

  constructor(
    opts: {
      maxFailures?: number;
      windowMs?: number;
      maxClients?: number;
      now?: () => number;
    } = {},
  ) {
    this.#max = opts.maxFailures ?? 10;
    this.#windowMs = opts.windowMs ?? 60_000;
    this.#maxClients = opts.maxClients ?? 10_000;
    this.#now = opts.now ?? (() => performance.now());
  }

  /** Seconds `client` must wait before trying again, or 0 if it may try. */
  waitSeconds(client: string): number {
    const f = this.#failures.get(client);
    if (!f) return 0;
    const left = f.since + this.#windowMs - this.#now();
    if (left <= 0) {
      this.#failures.delete(client);
      return 0;
    }
    return f.count >= this.#max ? Math.ceil(left / 1000) : 0;
  }

  /** Records a wrong login; true when it just locked the client out. */
  failed(client: string): boolean {
    const now = this.#now();
    let f = this.#failures.get(client);
    if (!f || now - f.since >= this.#windowMs) {
      f = { since: now, count: 0 };
      this.#failures.delete(client);
      if (this.#failures.size >= this.#maxClients) {
        const oldest = this.#failures.keys().next().value;
        if (oldest !== undefined) this.#failures.delete(oldest);
      }
      this.#failures.set(client, f);
    }
    f.count++;
    return f.count === this.#max;
  }

  /** A right login: the client starts afresh. */
  succeeded(client: string): void {
    this.#failures.delete(client);
  }
}
