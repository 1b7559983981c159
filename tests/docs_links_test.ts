/**
 * Keeps the documentation's links whole: every relative link in README.md
 * and docs/*.md points at a file that exists (and, with `#anchor`, at a
 * heading that exists there), and README.md links to every page in docs/.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/** Repository-relative paths of the pages checked. */
async function pages(): Promise<string[]> {
  const out = ["README.md"];
  for await (const e of Deno.readDir(new URL("docs/", ROOT))) {
    if (e.isFile && e.name.endsWith(".md")) out.push(`docs/${e.name}`);
  }
  return out.sort();
}

/** The text outside fenced code blocks and code spans, where links live. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, "")
    .replace(/`[^`\n]*`/g, "");
}

/** Every link target: `[text](target)`, `![alt](target)`, `[ref]: target`. */
function linkTargets(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\)/g)]
    .map((m) => m[1]);
  const refs = [...text.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/gm)].map((m) => m[1]);
  return [...inline, ...refs];
}

/**
 * The anchors GitHub gives a page's headings: the heading text without
 * markup, lower-cased, punctuation dropped, spaces as hyphens; repeats get
 * -1, -2, ….
 */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  const text = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, "");
  for (const m of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const plain = m[1].replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/[`*_]/g, "");
    const slug = plain.toLowerCase().replace(/[^\p{L}\p{N}\s-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

const isExternal = (t: string) => /^[a-z][a-z0-9+.-]*:/i.test(t);

Deno.test("docs: every relative link points at an existing file and heading", async () => {
  const broken: string[] = [];
  for (const page of await pages()) {
    const text = await Deno.readTextFile(new URL(page, ROOT));
    for (const target of linkTargets(text)) {
      if (isExternal(target)) continue;
      const [path, anchor] = target.split("#", 2);
      const file = path === ""
        ? new URL(page, ROOT)
        : new URL(path, new URL(page, ROOT));
      let body: string;
      try {
        const info = await Deno.stat(file);
        if (!info.isFile) {
          // A directory link is fine on GitHub; no anchor can be checked.
          if (anchor) broken.push(`${page}: ${target} (a directory)`);
          continue;
        }
        body = await Deno.readTextFile(file);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
        broken.push(`${page}: ${target} (no such file)`);
        continue;
      }
      if (anchor && file.pathname.endsWith(".md")) {
        if (!anchors(body).has(decodeURIComponent(anchor))) {
          broken.push(`${page}: ${target} (no such heading)`);
        }
      }
    }
  }
  assert.deepEqual(broken, [], "broken links");
});

Deno.test("docs: README.md links to every page in docs/", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const linked = new Set(
    linkTargets(readme).filter((t) => !isExternal(t)).map((t) =>
      t.split("#")[0].replace(/^\.\//, "")
    ),
  );
  const missing = (await pages()).filter((p) =>
    p.startsWith("docs/") && !linked.has(p)
  );
  assert.deepEqual(missing, [], "pages in docs/ that README.md never links");
});

Deno.test("docs links: the checker sees links and anchors the way GitHub does", () => {
  assert.deepEqual(
    linkTargets(
      'a [x](docs/a.md) ![i](p.png) `[no](code.md)` [y](b.md#c "t")\n\n```\n[z](in-code.md)\n```\n[r]: ref.md\n',
    ),
    ["docs/a.md", "p.png", "b.md#c", "ref.md"],
  );
  assert.deepEqual(
    [...anchors(
      "# User guide\n## `maglev ctl`\n### `vpp.lb`\n## Flags\n## Flags\n",
    )],
    ["user-guide", "maglev-ctl", "vpplb", "flags", "flags-1"],
  );
});
