/**
 * Builds the dashboard SPA: bundles web/main.tsx and web/app.css with esbuild
 * (minified) and writes them, with index.html, into src/web/_assets.gen.ts
 * (gitignored) so `maglev web` serves them from the executable. Works offline
 * (esbuild runs from the npm cache).
 *
 *   deno run -A tools/web_build.ts [--force]
 *
 * Every task that runs the product runs this first, so it must be cheap and
 * silent on stdout (`deno task -q maglev ctl --output json … | jq` reads
 * stdout): it rebuilds only when a fingerprint of its inputs changed, and
 * reports (the gzipped size of JS + CSS) on stderr.
 */
import * as esbuild from "esbuild";

const root = new URL("../", import.meta.url);
const OUT = new URL("src/web/_assets.gen.ts", root);

/** One embedded file, as `maglev web` serves it. */
export interface Asset {
  type: string;
  body: string;
  encoding: "utf8" | "base64";
}

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>maglev</title>
<link rel="icon" href="favicon.ico" sizes="32x32">
<link rel="icon" href="favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="app.css">
</head>
<body>
<div id="app"><noscript>The maglev dashboard needs JavaScript.</noscript></div>
<script type="module" src="app.js"></script>
</body>
</html>
`;

/**
 * Bundles the SPA and returns the assets keyed by URL path; exported so the
 * browser tests can build in-process.
 */
export async function buildAssets(): Promise<Record<string, Asset>> {
  try {
    const res = await esbuild.build({
      entryPoints: {
        app: new URL("web/main.tsx", root).pathname,
        "app-style": new URL("web/app.css", root).pathname,
      },
      bundle: true,
      minify: true,
      write: false,
      outdir: "/out",
      format: "esm",
      target: ["es2022", "chrome110", "firefox115", "safari16"],
      jsx: "automatic",
      jsxImportSource: "preact",
      legalComments: "none",
      logLevel: "warning",
      absWorkingDir: new URL(".", root).pathname,
      nodePaths: [new URL("node_modules", root).pathname],
    });
    const assets: Record<string, Asset> = {
      "/index.html": {
        type: "text/html; charset=utf-8",
        body: INDEX_HTML,
        encoding: "utf8",
      },
    };
    for (const f of res.outputFiles) {
      if (f.path.endsWith("/app.js")) {
        assets["/app.js"] = {
          type: "text/javascript; charset=utf-8",
          body: f.text,
          encoding: "utf8",
        };
      } else if (f.path.endsWith("/app-style.css")) {
        assets["/app.css"] = {
          type: "text/css; charset=utf-8",
          body: f.text,
          encoding: "utf8",
        };
      }
    }
    if (!assets["/app.js"] || !assets["/app.css"]) {
      throw new Error("esbuild produced no app.js or app.css");
    }
    return assets;
  } finally {
    await esbuild.stop();
  }
}

async function gzipSize(text: string): Promise<number> {
  const stream = new Blob([text]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

/** Files whose content decides the bundle: the SPA, this builder, the lock. */
async function inputFiles(): Promise<string[]> {
  const out = [
    new URL("tools/web_build.ts", root).pathname,
    new URL("deno.lock", root).pathname,
  ];
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (e.isFile) out.push(p);
    }
  };
  await walk(new URL("web", root).pathname);
  return out.sort();
}

/**
 * A SHA-256 over the names and contents of the inputs: content, not mtimes,
 * because a fresh clone or a checkout gives every file a new mtime.
 */
export async function inputFingerprint(): Promise<string> {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const p of await inputFiles()) {
    parts.push(enc.encode(`${p.slice(root.pathname.length)}\0`));
    parts.push(await Deno.readFile(p));
    parts.push(enc.encode("\0"));
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const digest = await crypto.subtle.digest("SHA-256", all);
  return [...new Uint8Array(digest)]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The fingerprint line of a generated module. */
function fingerprintLine(fingerprint: string): string {
  return `// inputs: ${fingerprint}`;
}

/** Whether the generated module on disk was built from these inputs. */
async function upToDate(fingerprint: string): Promise<boolean> {
  try {
    const head = (await Deno.readTextFile(OUT)).slice(0, 400).split("\n");
    return head[1] === fingerprintLine(fingerprint);
  } catch {
    return false;
  }
}

/** Renders the generated module (stable output: same input, same file). */
export function renderModule(
  assets: Record<string, Asset>,
  fingerprint = "",
): string {
  return `// Generated by tools/web_build.ts from web/. DO NOT EDIT, DO NOT COMMIT.
${fingerprintLine(fingerprint)}
// deno-fmt-ignore-file
// deno-lint-ignore-file

/** The dashboard's static files, keyed by URL path under /view/ and /admin/. */
export const ASSETS: Record<
  string,
  { type: string; body: string; encoding: "utf8" | "base64" }
> = ${JSON.stringify(assets, null, 1)};
`;
}

if (import.meta.main) {
  const fingerprint = await inputFingerprint();
  if (!Deno.args.includes("--force") && await upToDate(fingerprint)) {
    Deno.exit(0);
  }
  const assets = await buildAssets();
  // Write beside and rename: tests that build the bundle run in parallel
  // with tests that import this module, and must never see half a file.
  const tmp = `${OUT.pathname}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(tmp, renderModule(assets, fingerprint));
  await Deno.rename(tmp, OUT);
  const js = assets["/app.js"].body;
  const css = assets["/app.css"].body;
  const gz = await gzipSize(js + css);
  console.error(
    `wrote ${OUT.pathname}: app.js ${js.length} B, app.css ${css.length} B, ` +
      `gzipped JS+CSS ${(gz / 1024).toFixed(1)} KB (target < 60 KB)`,
  );
}
