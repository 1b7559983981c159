/**
 * The dashboard's static files, embedded in the executable by
 * tools/web_build.ts (which writes `_assets.gen.ts`), served with strong
 * ETags so reloads revalidate cheaply and a new build is picked up at once.
 */
import { ASSETS } from "./_assets.gen.ts";

/** One embedded file, as the build writes it. */
export interface Asset {
  readonly type: string;
  readonly body: string;
  readonly encoding: "utf8" | "base64";
}

interface Prepared {
  readonly type: string;
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly etag: string;
}

/** Serves a fixed set of embedded files. */
export class AssetStore {
  #files = new Map<string, Prepared>();

  /** Decodes and digests every file once, at start-up. */
  static async create(
    assets: Readonly<Record<string, Asset>> = ASSETS,
  ): Promise<AssetStore> {
    const store = new AssetStore();
    for (const [path, a] of Object.entries(assets)) {
      const bytes = a.encoding === "base64"
        ? Uint8Array.from(atob(a.body), (c) => c.charCodeAt(0))
        : new TextEncoder().encode(a.body);
      const digest = new Uint8Array(
        await crypto.subtle.digest("SHA-256", bytes),
      );
      const etag = `"${
        Array.from(digest.slice(0, 12), (b) => b.toString(16).padStart(2, "0"))
          .join("")
      }"`;
      store.#files.set(path, { type: a.type, bytes, etag });
    }
    return store;
  }

  /** Whether `path` (e.g. "/app.js") is an embedded file. */
  has(path: string): boolean {
    return this.#files.has(path);
  }

  /**
   * The response for `path`, or undefined when there is no such file.
   * index.html is never cached without revalidation (it names the
   * current build); other files may be cached briefly.
   */
  serve(req: Request, path: string): Response | undefined {
    const f = this.#files.get(path);
    if (!f) return undefined;
    const headers = new Headers({
      "content-type": f.type,
      etag: f.etag,
      "cache-control": path.endsWith(".html")
        ? "no-cache"
        : "public, max-age=300, must-revalidate",
      "x-content-type-options": "nosniff",
    });
    if (path.endsWith(".html")) {
      headers.set("referrer-policy", "same-origin");
      headers.set("x-frame-options", "DENY");
    }
    const inm = req.headers.get("if-none-match");
    if (inm && inm.split(",").some((t) => t.trim() === f.etag)) {
      return new Response(null, { status: 304, headers });
    }
    headers.set("content-length", String(f.bytes.length));
    return new Response(req.method === "HEAD" ? null : f.bytes, { headers });
  }
}
