/**
 * Who may change things through the gRPC API. Reading is open, as in the
 * original system. Pausing, disabling, reweighting, reloading, syncing or
 * adopting needs a local peer (loopback) or a bearer token from the token
 * file; `--grpc-allow-remote-mutations` restores the original's openness.
 * Pure, apart from reading the token file.
 */

/**
 * Set by the server on every request (whatever the client sent): "1" when
 * the peer may call a mutating RPC, else the reason it may not.
 */
export const MAY_MUTATE_HEADER = "x-maglev-may-mutate";

/** What decides whether a peer may mutate. */
export interface MutationPolicy {
  /** Accepted bearer tokens; empty: none. */
  readonly tokens: readonly string[];
  /** Anyone may (the original's behaviour). */
  readonly allowRemote: boolean;
}

/** Whether an address is the host's own loopback (127/8, ::1, mapped 127/8). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.toLowerCase().replace(/^::ffff:/, "");
  return a === "::1" || /^127\.\d+\.\d+\.\d+$/.test(a);
}

/** The token of an `Authorization: Bearer <token>` header, if any. */
export function bearerOf(header: string | undefined): string | undefined {
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return m ? m[1] : undefined;
}

/** Compares without leaking, through timing, how much of a guess was right. */
function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  }
  return diff === 0;
}

/**
 * "1" when `peer` (with its `authorization` header) may mutate, else why
 * not, in words for the PERMISSION_DENIED message.
 */
export function mutationVerdict(
  policy: MutationPolicy,
  peer: string | undefined,
  authorization: string | undefined,
): string {
  if (policy.allowRemote || isLoopback(peer)) return "1";
  const token = bearerOf(authorization);
  if (token !== undefined) {
    if (policy.tokens.some((t) => sameSecret(t, token))) return "1";
    return "the bearer token is not one of the daemon's (--grpc-token-file)";
  }
  return policy.tokens.length > 0
    ? "a bearer token is needed from a remote peer (maglev ctl --token-file, maglev web --grpc-token-file)"
    : "the daemon accepts changes only from loopback: give it --grpc-token-file and the client the same token, or run the command on the host";
}

/**
 * Tokens from a file: one per line, blank lines and `#` comments ignored.
 * Throws with a message saying what is wrong (unreadable, empty, a token
 * with spaces or shorter than 16 characters).
 */
export function readTokenFile(path: string): string[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new Error(
      `cannot read token file ${path}: ${e instanceof Error ? e.message : e}`,
    );
  }
  const tokens: string[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (/\s/.test(line) || line.length < 16) {
      throw new Error(
        `${path}:${
          i + 1
        }: a token is one word of at least 16 characters (e.g. from: openssl rand -hex 32)`,
      );
    }
    tokens.push(line);
  }
  if (tokens.length === 0) throw new Error(`${path}: no token in the file`);
  return tokens;
}
