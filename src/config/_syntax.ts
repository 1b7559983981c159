/**
 * YAML syntax errors, reworded for operators and placed at a useful spot
 * with a best-effort key path taken from the partly built tree.
 */
import { type Document, isMap, isScalar, isSeq, type YAMLError } from "yaml";
import { childPath, indexPath, type Loc, type Reader } from "./_reader.ts";

type Ranged = { range?: [number, number, number] | null } | null | undefined;

/** Config paths are at most ~8 levels deep; deeper is junk not worth spelling out. */
const MAX_DEPTH = 12;

/**
 * One broken line can make the YAML library report every token after it.
 * Past this many lines with errors the rest is almost surely that cascade.
 */
const MAX_LINES = 20;

/**
 * Records the syntax errors of `doc` as parse errors: the first per line,
 * and for at most MAX_LINES lines, then one summary of what was left out.
 */
export function reportSyntaxErrors(r: Reader, doc: Document): void {
  const lines = new Set<number>();
  let skipped = 0;
  let firstSkipped: Loc | undefined;
  for (const e of doc.errors) {
    // Past the cap only a count is reported: locating every error walks the
    // document each time, quadratic in a file of thousands of broken lines.
    if (lines.size >= MAX_LINES) {
      skipped++;
      firstSkipped ??= r.locAt(e.pos[0]);
      continue;
    }
    const found = e.code === "MULTIPLE_DOCS"
      ? { path: "" }
      : locate(doc.contents, e.pos[0], "", 0);
    // The library places an unclosed quote at the end of the file; its opening is where to look.
    const unclosed = /missing closing .?quote/i.test(e.message) &&
      found.start !== undefined;
    const loc = r.locAt(unclosed ? found.start ?? e.pos[0] : e.pos[0]);
    if (lines.has(loc.line)) continue;
    lines.add(loc.line);
    r.fail({ loc, path: found.path }, message(e));
  }
  if (firstSkipped !== undefined) {
    r.fail(
      { loc: firstSkipped, path: "" },
      `${skipped} more YAML syntax errors from here on, most likely caused by the ones above: fix those and check again`,
    );
  }
}

/** The key path of the innermost node around `offset`, and where that node starts. */
function locate(
  node: unknown,
  offset: number,
  path: string,
  depth: number,
): { path: string; start?: number } {
  const here = { path, start: (node as Ranged)?.range?.[0] };
  if (depth > MAX_DEPTH) return here;
  if (isMap(node)) {
    for (const pair of node.items) {
      const start = (pair.key as Ranged)?.range?.[0];
      const end = ((pair.value as Ranged)?.range ?? (pair.key as Ranged)?.range)
        ?.[2];
      if (
        start === undefined || end === undefined || offset < start ||
        offset > end
      ) continue;
      const name = isScalar(pair.key) ? String(pair.key.value) : "";
      // A broken file can make a whole run of lines look like one key; stop at the last real one.
      if (!/^[^\s:]{1,64}$/.test(name)) return here;
      return locate(pair.value, offset, childPath(path, name), depth + 1);
    }
  } else if (isSeq(node)) {
    for (const [i, item] of node.items.entries()) {
      const range = (item as Ranged)?.range;
      if (range && offset >= range[0] && offset <= range[2]) {
        return locate(item, offset, indexPath(path, i), depth + 1);
      }
    }
  }
  return here;
}

/** Rewrites the YAML library's messages into advice for an operator. */
function message(e: YAMLError): string {
  switch (e.code) {
    case "MULTIPLE_DOCS":
      return "the file holds more than one YAML document: remove the --- line and what follows, or merge them";
    case "TAB_AS_INDENT":
      return "tabs are not allowed for indentation in YAML: indent with spaces";
    case "NON_STRING_KEY":
      return "keys must be plain words, not lists or mappings";
  }
  const text = e.message.replace(/\s+/g, " ").trim();
  if (/stack/i.test(text)) {
    return "the YAML is nested too deeply: a config needs only a few levels";
  }
  return `invalid YAML: ${text.charAt(0).toLowerCase()}${
    text.slice(1)
  }; check indentation, colons and quotes here`;
}
