/**
 * Keeps the `maglev ctl` command table of docs/user-guide.md true to the
 * command tree (src/ctl/tree.ts).
 *
 * The rule: every command of the tree — every path from a root word to a
 * node that runs an action, written with the tree's own placeholders and
 * its optional phrases (`watch events [num <n>] [log [level <level>]] …`) —
 * is a row of the guide's Commands table, and every row is such a command.
 * A row may join sibling words with `|` (`pause|resume|enable|disable`),
 * which stands for one command per word. The syntax is derived here from
 * the tree directly, not from the `help` listing, so a listing bug does not
 * hide a documentation gap.
 */
import assert from "node:assert/strict";
import { type CmdNode, COMMAND_TREE, nodeLabel } from "../src/ctl/tree.ts";

const GUIDE_URL = new URL("../docs/user-guide.md", import.meta.url);
const guide = await Deno.readTextFile(GUIDE_URL);

/**
 * An optional phrase as the docs write it, without its brackets: the
 * option's word, the one required continuation (if any), then its own
 * options, e.g. `log [level <level>]`.
 */
function phrase(node: CmdNode): string {
  const parts = [nodeLabel(node)];
  const kids = node.children ?? [];
  assert.ok(
    kids.length <= 1,
    `option ${nodeLabel(node)} branches; extend this test's notation`,
  );
  if (kids.length === 1) parts.push(phrase(kids[0]));
  for (const o of node.options ?? []) parts.push(`[${phrase(o)}]`);
  return parts.join(" ");
}

/** Every command of the tree, as its syntax line. */
function treeCommands(): string[] {
  const out: string[] = [];
  const visit = (nodes: readonly CmdNode[], path: readonly string[]) => {
    for (const node of nodes) {
      const here = [...path, nodeLabel(node)];
      if (node.action) {
        out.push(
          [...here, ...(node.options ?? []).map((o) => `[${phrase(o)}]`)]
            .join(" "),
        );
      }
      visit(node.children ?? [], here);
    }
  };
  visit(COMMAND_TREE, []);
  return out;
}

/** Expands `a|b` words into one line per alternative. */
function expand(syntax: string): string[] {
  let lines = [""];
  for (const word of syntax.split(/\s+/)) {
    const alternatives = word.split("|");
    lines = lines.flatMap((l) =>
      alternatives.map((a) => (l === "" ? a : `${l} ${a}`))
    );
  }
  return lines;
}

/** The code spans of the first cell of each row of the guide's Commands table. */
function documentedCommands(): { row: string; commands: string[] }[] {
  const ctl = guide.indexOf("\n## `maglev ctl`\n");
  assert.ok(ctl >= 0, "no ## `maglev ctl` section in the user guide");
  const at = guide.indexOf("\n### Commands\n", ctl);
  assert.ok(at >= 0, "no ### Commands table under ## `maglev ctl`");
  const rows = guide.slice(at).split("\n").slice(2);
  const table: string[] = [];
  for (const line of rows) {
    if (line.trim() === "" && table.length === 0) continue;
    if (!line.startsWith("|")) break;
    table.push(line);
  }
  assert.ok(table.length > 2, "the Commands table is empty");
  const [header, rule, ...body] = table;
  assert.match(header, /^\|\s*command\s*\|/, "first column is not `command`");
  assert.match(rule, /^\|\s*-+/);
  return body.map((line) => {
    // Cells split on unescaped pipes; `\|` is a pipe inside a code span.
    const first = line.slice(1).split(/(?<!\\)\|/)[0].trim();
    const spans = [...first.matchAll(/`([^`]+)`/g)].map((m) =>
      m[1].replaceAll("\\|", "|")
    );
    assert.ok(spans.length > 0, `row without a command: ${line}`);
    return { row: first, commands: spans.flatMap(expand) };
  });
}

Deno.test("ctl tree: the test sees every action of the tree", () => {
  const commands = treeCommands();
  // Sanity: the walk reaches deep leaves and options, so the rule is not
  // trivially satisfied by a short list.
  assert.ok(commands.includes("show vpp lb counters"), commands.join("\n"));
  assert.ok(commands.includes("set backend <name> disable"));
  assert.ok(
    commands.includes(
      "watch events [num <n>] [log [level <level>]] [backend] [frontend]",
    ),
  );
  assert.ok(commands.length >= 20, `only ${commands.length} commands`);
});

Deno.test("user guide: every ctl command is a row of the Commands table", () => {
  const documented = new Set(documentedCommands().flatMap((r) => r.commands));
  const missing = treeCommands().filter((c) => !documented.has(c));
  assert.deepEqual(
    missing,
    [],
    "commands of src/ctl/tree.ts missing from the Commands table of docs/user-guide.md (write them exactly so, `a|b` may join siblings)",
  );
});

Deno.test("user guide: every row of the Commands table is a ctl command", () => {
  const real = new Set(treeCommands());
  const stale = documentedCommands().flatMap((r) =>
    r.commands.filter((c) => !real.has(c)).map((c) => `${c} (row: ${r.row})`)
  );
  assert.deepEqual(
    stale,
    [],
    "rows of the Commands table that src/ctl/tree.ts does not have",
  );
});

Deno.test("user guide: every option of watch events is explained", () => {
  const watch = COMMAND_TREE.find((n) => nodeLabel(n) === "watch")
    ?.children?.find((n) => nodeLabel(n) === "events");
  assert.ok(watch?.options, "no watch events options in the tree");
  const explained = (n: CmdNode): string[] => {
    const self = [nodeLabel(n), ...(n.children ?? []).map(nodeLabel)].join(
      " ",
    );
    return [self, ...(n.options ?? []).flatMap(explained)];
  };
  const missing = watch.options.flatMap(explained).filter((o) =>
    !new RegExp(`^\\|\\s*\`${o.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\``, "m")
      .test(guide)
  );
  assert.deepEqual(missing, [], "watch events options without a table row");
});
