/**
 * The one walker over the command tree: parsing a command, completing the
 * word under the cursor and listing what may come next (`?`) all start from
 * `walk`, so they can never disagree about what a line means.
 */
import {
  type Action,
  type Args,
  type CmdNode,
  COMMAND_TREE,
  type NameSource,
  nodeLabel,
} from "./tree.ts";

/** Why a line is not a command; `message` is the one line to print. */
export class CommandError extends Error {
  override name = "CommandError";
  constructor(
    message: string,
    readonly kind: "unknown" | "ambiguous" | "invalid" | "incomplete",
    /** 1-based word position the problem is at (0: the line as a whole). */
    readonly position: number,
  ) {
    super(message);
  }
}

/** Where a walk over some words ended. */
export interface Walked {
  /** Arguments collected so far (slot values and keyword flags). */
  readonly args: Args;
  /** The command these words select, if any yet. */
  readonly action?: Action;
  /** Nodes that may match the next word. */
  readonly next: readonly CmdNode[];
  /** True when the words form a command that can run as is. */
  readonly complete: boolean;
  /** The words with keyword prefixes expanded. */
  readonly canonical: readonly string[];
}

/** A command ready to execute. */
export interface ParsedCommand {
  readonly action: Action;
  readonly args: Args;
  readonly canonical: readonly string[];
}

interface Frame {
  readonly owner: CmdNode;
  readonly used: Set<CmdNode>;
}

/** Candidates for the next word: required children, else open options. */
function nextNodes(
  node: CmdNode | undefined,
  frames: readonly Frame[],
  tree: readonly CmdNode[],
): { nodes: CmdNode[]; required: boolean; frameOf: Map<CmdNode, Frame> } {
  const frameOf = new Map<CmdNode, Frame>();
  const required = node ? node.children ?? [] : tree;
  if (required.length > 0) {
    return { nodes: [...required], required: true, frameOf };
  }
  const nodes: CmdNode[] = [];
  for (let i = frames.length - 1; i >= 0; i--) {
    const f = frames[i];
    for (const o of f.owner.options ?? []) {
      if (!f.used.has(o) && !frameOf.has(o)) {
        nodes.push(o);
        frameOf.set(o, f);
      }
    }
  }
  return { nodes, required: false, frameOf };
}

function expectedList(nodes: readonly CmdNode[]): string {
  return nodes.map(nodeLabel).join(", ");
}

interface Match {
  readonly node: CmdNode;
  readonly value?: string;
}

/**
 * Matches one word against the candidates. Several results only for a
 * keyword prefix shared by several keywords; the caller decides by what
 * follows. Throws a CommandError when nothing matches.
 */
function matchWord(
  word: string,
  nodes: readonly CmdNode[],
  position: number,
): Match[] {
  const lower = word.toLowerCase();
  const keywords = nodes.filter((n) => n.kind === "keyword");
  const exact = keywords.find((k) =>
    k.word === lower || (k.aliases ?? []).includes(lower)
  );
  if (exact) return [{ node: exact }];
  const prefixed = keywords.filter((k) => k.word.startsWith(lower));
  // Where a name may stand, a keyword must be written in full: a frontend
  // called "d" must not turn into "dry-run".
  const slot = nodes.find((n) => n.kind !== "keyword");
  if (slot?.kind === "dynamic") return [{ node: slot, value: word }];
  let invalid: string | undefined;
  if (slot?.kind === "value") {
    const v = slot.validate(word);
    if ("value" in v) return [{ node: slot, value: v.value }];
    invalid = v.error;
  }
  if (prefixed.length > 0) return prefixed.map((node) => ({ node }));
  if (invalid !== undefined) {
    throw new CommandError(invalid, "invalid", position);
  }
  if (nodes.length === 0) {
    throw new CommandError(
      `unexpected word "${word}" at position ${position}: the command is complete without it`,
      "unknown",
      position,
    );
  }
  throw new CommandError(
    `unknown word "${word}" at position ${position}; expected one of: ${
      expectedList(nodes)
    }`,
    "unknown",
    position,
  );
}

interface State {
  node?: CmdNode;
  frames: Frame[];
  args: Record<string, string>;
  canonical: string[];
  action?: Action;
}

function advance(s: State, m: Match, frame: Frame | undefined): State {
  const frames = s.frames.map((f) => ({
    owner: f.owner,
    used: new Set(f.used),
  }));
  if (frame) frames[s.frames.indexOf(frame)].used.add(m.node);
  const node = m.node;
  const next: State = {
    node,
    frames,
    args: { ...s.args, ...node.set ?? {} },
    canonical: [...s.canonical],
    action: node.action ?? s.action,
  };
  if (node.kind === "keyword") {
    next.canonical.push(node.word);
  } else {
    next.args[node.key] = m.value ?? "";
    next.canonical.push(m.value ?? "");
  }
  if (node.options?.length) next.frames.push({ owner: node, used: new Set() });
  return next;
}

function finish(s: State, tree: readonly CmdNode[]): Walked {
  const { nodes, required } = nextNodes(s.node, s.frames, tree);
  return {
    args: s.args,
    action: s.action,
    next: nodes,
    complete: !required && s.action !== undefined,
    canonical: s.canonical,
  };
}

function incomplete(w: Walked, position: number): CommandError {
  return new CommandError(
    `incomplete command "${w.canonical.join(" ")}"; expected one of: ${
      expectedList(w.next)
    }`,
    "incomplete",
    position,
  );
}

function walkFrom(
  s: State,
  words: readonly string[],
  i: number,
  tree: readonly CmdNode[],
  requireComplete: boolean,
): Walked {
  if (i === words.length) {
    const w = finish(s, tree);
    if (requireComplete && !w.complete) throw incomplete(w, i + 1);
    return w;
  }
  const { nodes, frameOf } = nextNodes(s.node, s.frames, tree);
  const matches = matchWord(words[i], nodes, i + 1);
  const go = (m: Match) =>
    walkFrom(
      advance(s, m, frameOf.get(m.node)),
      words,
      i + 1,
      tree,
      requireComplete,
    );
  if (matches.length === 1) return go(matches[0]);
  // A prefix of several keywords ("show ba"): keep the readings under
  // which the rest of the line still makes sense.
  const ok: Walked[] = [];
  const failed: CommandError[] = [];
  for (const m of matches) {
    try {
      ok.push(go(m));
    } catch (e) {
      if (!(e instanceof CommandError)) throw e;
      failed.push(e);
    }
  }
  if (ok.length === 1) return ok[0];
  // None fits: if one reading got further than all others, its error is
  // the helpful one ("sh ba x y": y is extra after "show backend x").
  const far = Math.max(...failed.map((e) => e.position));
  const farthest = failed.filter((e) => e.position === far);
  if (ok.length === 0 && farthest.length === 1) throw farthest[0];
  throw new CommandError(
    `ambiguous word "${words[i]}" at position ${i + 1}; could be: ${
      expectedList(matches.map((m) => m.node))
    }`,
    "ambiguous",
    i + 1,
  );
}

/**
 * Walks `words` through the tree. Throws a CommandError at the first word
 * that matches nothing, is an invalid value, or is a prefix of several
 * keywords that the words after it do not tell apart. With
 * `requireComplete`, the words must also form a whole command, which is
 * what tells `show ba` (backends) from `show ba x` (backend x).
 */
export function walk(
  words: readonly string[],
  tree: readonly CmdNode[] = COMMAND_TREE,
  requireComplete = false,
): Walked {
  return walkFrom(
    { frames: [], args: {}, canonical: [] },
    words,
    0,
    tree,
    requireComplete,
  );
}

/** Splits a line into words (names never contain spaces). */
export function splitWords(line: string): string[] {
  return line.split(/\s+/).filter((w) => w !== "");
}

/**
 * Parses a whole command. Returns undefined for an empty line; throws a
 * CommandError for anything that is not a complete command.
 */
export function parseCommand(
  words: readonly string[],
  tree: readonly CmdNode[] = COMMAND_TREE,
): ParsedCommand | undefined {
  if (words.length === 0) return undefined;
  const w = walk(words, tree, true);
  if (!w.action) throw incomplete(w, words.length + 1);
  return { action: w.action, args: w.args, canonical: w.canonical };
}

/** The word being typed: where it starts in the line, and the words before. */
interface Cursor {
  readonly before: string[];
  readonly partial: string;
  readonly start: number;
}

function cursorWord(line: string): Cursor {
  const tokens = [...line.matchAll(/\S+/g)];
  const endsInWord = line.length > 0 && !/\s/.test(line[line.length - 1]);
  if (endsInWord) {
    const last = tokens[tokens.length - 1];
    return {
      before: tokens.slice(0, -1).map((t) => t[0]),
      partial: last[0],
      start: last.index ?? 0,
    };
  }
  return { before: tokens.map((t) => t[0]), partial: "", start: line.length };
}

/** Result of completing the last word of a line. */
export interface Completion {
  /** Index in the line where the word being completed starts. */
  readonly start: number;
  /** The part of the word already typed. */
  readonly prefix: string;
  /** Full words that fit, in tree order, without duplicates. */
  readonly candidates: readonly string[];
  /** Set when the words before the cursor are already wrong. */
  readonly error?: string;
}

async function liveNames(
  node: CmdNode,
  names: NameSource,
  args: Args,
): Promise<readonly string[]> {
  if (node.kind === "dynamic") {
    try {
      return await node.complete(names, args);
    } catch {
      return []; // daemon unreachable: nothing to offer, no noise
    }
  }
  if (node.kind === "value") return node.choices ?? [];
  return [];
}

/**
 * Completes the word at the end of `line` (the text before the cursor):
 * keywords from the tree, live names from `names` for dynamic slots.
 */
export async function complete(
  line: string,
  names: NameSource,
  tree: readonly CmdNode[] = COMMAND_TREE,
): Promise<Completion> {
  const c = cursorWord(line);
  let w: Walked;
  try {
    w = walk(c.before, tree);
  } catch (e) {
    if (!(e instanceof CommandError)) throw e;
    return {
      start: c.start,
      prefix: c.partial,
      candidates: [],
      error: e.message,
    };
  }
  const lower = c.partial.toLowerCase();
  const out: string[] = [];
  for (const n of w.next) {
    const words = n.kind === "keyword"
      ? [n.word].filter((x) => x.startsWith(lower))
      : (await liveNames(n, names, w.args)).filter((x) =>
        x.startsWith(c.partial)
      );
    for (const x of words) if (!out.includes(x)) out.push(x);
  }
  return { start: c.start, prefix: c.partial, candidates: out };
}

/** One line of `?` help. */
export interface HelpEntry {
  readonly word: string;
  readonly help: string;
}

/** The `?` entry that says the command can run as typed. */
export const RUN_ENTRY: HelpEntry = { word: "<cr>", help: "run the command" };

/**
 * What may come at the cursor, with one-line help, birdc style: after a
 * space every possible next word (placeholders for names and values, plus
 * `<cr>` when the command is complete); inside a word the words it may
 * become. `error` is set when the words before are already wrong.
 */
export async function helpAt(
  line: string,
  names: NameSource,
  tree: readonly CmdNode[] = COMMAND_TREE,
): Promise<{ entries: HelpEntry[]; error?: string }> {
  const c = cursorWord(line);
  let w: Walked;
  try {
    w = walk(c.before, tree);
  } catch (e) {
    if (!(e instanceof CommandError)) throw e;
    return { entries: [], error: e.message };
  }
  const entries: HelpEntry[] = [];
  const lower = c.partial.toLowerCase();
  for (const n of w.next) {
    if (n.kind === "keyword") {
      if (n.word.startsWith(lower)) {
        entries.push({ word: n.word, help: n.help });
      }
      continue;
    }
    if (c.partial === "") {
      entries.push({ word: n.label, help: n.help });
      continue;
    }
    const live = (await liveNames(n, names, w.args)).filter((x) =>
      x.startsWith(c.partial)
    );
    if (live.length === 0 && n.kind === "value" && !n.choices) {
      entries.push({ word: n.label, help: n.help });
    }
    for (const x of live) entries.push({ word: x, help: n.help });
  }
  if (c.partial === "" && w.complete) entries.push(RUN_ENTRY);
  return { entries };
}

/** One line of the `help` listing. */
export interface CommandSummary {
  /** Full syntax, e.g. `set backend <name> pause|resume|enable|disable`. */
  readonly syntax: string;
  readonly summary: string;
}

function tail(node: CmdNode): string {
  const parts: string[] = [];
  const kids = node.children ?? [];
  if (kids.length === 1) {
    parts.push([nodeLabel(kids[0]), tail(kids[0])].filter(Boolean).join(" "));
  } else if (kids.length > 1) {
    parts.push(kids.map(nodeLabel).join("|"));
  }
  for (const o of node.options ?? []) {
    parts.push(`[${[nodeLabel(o), tail(o)].filter(Boolean).join(" ")}]`);
  }
  return parts.join(" ");
}

/** Every command with its full syntax and summary, for `help`. */
export function listCommands(
  tree: readonly CmdNode[] = COMMAND_TREE,
): CommandSummary[] {
  const out: CommandSummary[] = [];
  const visit = (nodes: readonly CmdNode[], path: readonly string[]) => {
    for (const n of nodes) {
      const here = [...path, nodeLabel(n)];
      if (n.summary !== undefined) {
        out.push({
          syntax: [...here, tail(n)].filter(Boolean).join(" "),
          summary: n.summary,
        });
      } else {
        visit(n.children ?? [], here);
      }
    }
  };
  visit(tree, []);
  return out;
}
