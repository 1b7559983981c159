/**
 * Typed access to the YAML AST that remembers where every value came from,
 * so each parse error and each later semantic error can name its line:col
 * and key path. Readers never throw; they record a parse error and return
 * undefined, letting the walk go on and report everything in one pass.
 */
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
  type Scalar,
} from "yaml";
import { parsePrefix } from "./address.ts";
import { parseDuration } from "./duration.ts";
import type { RawAddress } from "./_raw.ts";
import { suggest } from "./_suggest.ts";
import type { ConfigError } from "./types.ts";

/**
 * No duration setting may exceed a day: a probe interval or delay of weeks
 * makes no sense, and JavaScript timers overflow past 2^31-1 ms (24.8 days),
 * firing at once instead (a down backend probed a thousand times a second).
 */
export const MAX_DURATION_MS = 24 * 3600 * 1000;

/** A 1-based source position. */
export interface Loc {
  readonly line: number;
  readonly col: number;
}

/** Where something is: its position and its key path. */
export interface Where {
  readonly loc: Loc;
  readonly path: string;
}

/** A value read from the file together with where it was written. */
export interface Field<T> extends Where {
  readonly value: T;
}

/** One key/value of a mapping (or one item of a list, keyed by its index). */
export interface Entry extends Where {
  readonly key: string;
  readonly keyLoc: Loc;
  /** The value with aliases resolved; null when nothing was written (`key:`). */
  readonly node: Node | null;
}

/** Joins a key onto a path: `maglev` + `backends` → `maglev.backends`. */
export function childPath(parent: string, key: string): string {
  return parent === "" ? key : `${parent}.${key}`;
}

/** Joins a list index onto a path: `…pools` + 1 → `…pools[1]`. */
export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** Names the CLI can complete: no spaces, quotes or leading punctuation. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Enough for any real config; stops alias bombs (`a: &a [*a, *a]` style
 * fan-out) from turning a small file into an endless walk.
 */
const MAX_ALIASES = 10_000;

/** Walk state: the document, its line index and the errors found so far. */
export class Reader {
  readonly errors: ConfigError[] = [];
  #aliasesLeft = MAX_ALIASES;
  /** Spots (position + path) whose value is an alias that could not be resolved. */
  readonly #broken = new Set<string>();
  /** Mappings whose merge keys are being expanded, to stop `<<` cycles. */
  readonly #merging = new Set<Node>();

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly file: string,
  ) {}

  /** Position of a character offset in the file. */
  locAt(offset: number): Loc {
    const { line, col } = this.lines.linePos(offset);
    return { line: Math.max(1, line), col: Math.max(1, col) };
  }

  /** Position where a node starts, or `fallback` for nodes without one. */
  locOf(node: Node | null | undefined, fallback: Loc): Loc {
    const range = node?.range;
    return range ? this.locAt(range[0]) : fallback;
  }

  /** Records a parse error. */
  fail(where: Where, message: string): void {
    // A broken alias was reported once; what its absence causes downstream is noise.
    if (this.#broken.has(spot(where))) return;
    this.errors.push({
      kind: "parse",
      file: this.file,
      line: where.loc.line,
      col: where.loc.col,
      path: where.path,
      message,
    });
  }

  /** Follows aliases to the node they name; null for nothing or a broken alias. */
  resolve(node: unknown, where: Where): Node | null {
    let current = node;
    while (isAlias(current)) {
      if (--this.#aliasesLeft < 0) {
        if (this.#aliasesLeft === -1) {
          this.fail(
            where,
            `more than ${MAX_ALIASES} alias uses: expand the aliases (*name) by hand`,
          );
        }
        this.#broken.add(spot(where));
        return null;
      }
      const target = current.resolve(this.doc);
      if (target === undefined) {
        this.fail(
          where,
          `unknown alias *${current.source}: define the anchor &${current.source} before using it`,
        );
        this.#broken.add(spot(where));
        return null;
      }
      current = target;
    }
    return isMap(current) || isSeq(current) || isScalar(current)
      ? current
      : null;
  }

  /**
   * The entries of a mapping, in file order, duplicates reported and dropped.
   * Undefined (with an error) when `node` is not a mapping; an empty list for
   * nothing (`key:`), which callers treat as an empty section. Merge keys
   * (`<<: *base`, as Go's yaml.v3 reads them) add the keys the mapping does
   * not set itself.
   */
  mapEntries(node: Node | null, where: Where): Entry[] | undefined {
    if (node === null || isNull(node)) return [];
    if (!isMap(node)) {
      this.fail(
        where,
        `expected a mapping (key: value lines), got ${describe(node)}`,
      );
      return undefined;
    }
    const seen = new Map<string, Loc>();
    const entries: Entry[] = [];
    const merges: Where[] = [];
    const merged: unknown[] = [];
    for (const pair of node.items) {
      const keyNode = this.resolve(pair.key, where);
      const keyLoc = this.locOf(
        isAlias(pair.key) ? pair.key : keyNode,
        where.loc,
      );
      if (!isScalar(keyNode) || typeof keyNode.value === "object") {
        this.fail(
          { loc: keyLoc, path: where.path },
          "keys must be plain words, e.g. interval:",
        );
        continue;
      }
      const key = String(keyNode.value);
      const path = childPath(where.path, key);
      // Where the value is written (for an alias: where it is used, not where the anchor is).
      const written = pair.value as Node | null;
      const loc = written === null || isEmpty(written)
        ? keyLoc
        : this.locOf(written, keyLoc);
      if (key === "<<" && keyNode.type === "PLAIN") {
        merges.push({ loc, path });
        merged.push(written);
        continue;
      }
      const first = seen.get(key);
      if (first !== undefined) {
        this.fail(
          { loc: keyLoc, path },
          `duplicate key "${key}" (first at line ${first.line}): remove or rename one`,
        );
        continue;
      }
      seen.set(key, keyLoc);
      const value = this.resolve(written, { loc, path });
      entries.push({ key, keyLoc, node: value, loc, path });
    }
    merges.forEach((at, i) => {
      for (const e of this.#mergeSources(merged[i], at, where, node)) {
        if (seen.has(e.key)) continue;
        seen.set(e.key, e.keyLoc);
        entries.push(e);
      }
    });
    return entries;
  }

  /** Entries contributed by one `<<` value: a mapping or a list of mappings. */
  #mergeSources(value: unknown, at: Where, parent: Where, into: Node): Entry[] {
    const target = this.resolve(value, at);
    const sources = isSeq(target)
      ? target.items.map((item) => this.resolve(item, at))
      : [target];
    const out: Entry[] = [];
    for (const source of sources) {
      if (!isMap(source)) {
        this.fail(
          at,
          "<< must refer to a mapping or a list of mappings, e.g. <<: *defaults",
        );
        continue;
      }
      if (source === into || this.#merging.has(source)) {
        this.fail(
          at,
          "<< refers to the mapping it is in: merge a different anchor",
        );
        continue;
      }
      this.#merging.add(source);
      out.push(...(this.mapEntries(source, parent) ?? []));
      this.#merging.delete(source);
    }
    return out;
  }

  /** Reports keys outside `allowed`; returns the entries that are allowed. */
  known(entries: readonly Entry[], allowed: readonly string[]): Entry[] {
    return entries.filter((e) => {
      if (allowed.includes(e.key)) return true;
      this.unknownKey(e, allowed);
      return false;
    });
  }

  /** Reports one key that does not belong here, listing what does. */
  unknownKey(e: Entry, allowed: readonly string[], why?: string): void {
    const where = { loc: e.keyLoc, path: e.path };
    if (allowed.length === 0) {
      this.fail(
        where,
        `unknown key "${e.key}": ${
          why ?? "nothing is allowed here"
        }; remove it`,
      );
      return;
    }
    const hint = suggest(e.key, allowed);
    const did = hint === undefined ? "" : ` (did you mean "${hint}"?)`;
    const reason = why === undefined ? `unknown key "${e.key}"${did}` : why;
    this.fail(where, `${reason}; allowed keys here: ${allowed.join(", ")}`);
  }

  /** The items of a list as entries keyed by index; undefined (with an error) for a non-list. */
  seqItems(node: Node | null, where: Where): Entry[] | undefined {
    if (node === null || isNull(node)) return [];
    if (!isSeq(node)) {
      this.fail(
        where,
        `expected a list ("- item" lines), got ${describe(node)}`,
      );
      return undefined;
    }
    return node.items.map((item, index) => {
      const path = indexPath(where.path, index);
      const loc = this.locOf(item as Node | null, where.loc);
      const value = this.resolve(item, { loc, path });
      return { key: String(index), keyLoc: loc, node: value, loc, path };
    });
  }

  /** An integer (decimal, 0x, 0o), never a float or a quoted number. */
  int(e: Entry): Field<number> | undefined {
    const v = this.#scalar(e, "an integer");
    if (v === undefined) return undefined;
    if (typeof v.value === "number" && isIntegerSource(v)) {
      if (!Number.isSafeInteger(v.value)) {
        this.fail(e, `the integer ${v.source} is too large`);
        return undefined;
      }
      return { value: v.value + 0, loc: e.loc, path: e.path }; // + 0 turns -0 into 0
    }
    const quoted = typeof v.value === "string" &&
      /^[-+]?[0-9]+$/.test(v.value.trim());
    const hint = quoted ? ": remove the quotes" : "";
    this.fail(e, `expected an integer, got ${describe(v)}${hint}`);
    return undefined;
  }

  /** `true` or `false` (YAML 1.2: `yes`/`no`/`on`/`off` are strings). */
  bool(e: Entry): Field<boolean> | undefined {
    const v = this.#scalar(e, "true or false");
    if (v === undefined) return undefined;
    if (typeof v.value === "boolean") {
      return { value: v.value, loc: e.loc, path: e.path };
    }
    this.fail(e, `expected true or false, got ${describe(v)}`);
    return undefined;
  }

  /** Any scalar as text: `description: 2024` is the string "2024". */
  string(e: Entry): Field<string> | undefined {
    const v = this.#scalar(e, "a string");
    if (v === undefined) return undefined;
    const text = typeof v.value === "string"
      ? v.value
      : v.type === "PLAIN" && typeof v.source === "string"
      ? v.source
      : String(v.value);
    return { value: text, loc: e.loc, path: e.path };
  }

  /** A Go-style duration string in ms; a bare `0` is accepted as an integer too. */
  duration(e: Entry): Field<number> | undefined {
    const v = this.#scalar(e, 'a duration like "2s"');
    if (v === undefined) return undefined;
    if (typeof v.value === "number") {
      if (v.value === 0) return { value: 0, loc: e.loc, path: e.path };
      const n = v.source ?? String(v.value);
      this.fail(e, `duration ${n} has no unit: write e.g. "${n}s" or "${n}ms"`);
      return undefined;
    }
    if (typeof v.value !== "string") {
      this.fail(e, `expected a duration like "2s", got ${describe(v)}`);
      return undefined;
    }
    let ms: number;
    try {
      ms = parseDuration(v.value);
    } catch (err) {
      this.fail(e, errorText(err));
      return undefined;
    }
    if (ms > MAX_DURATION_MS) {
      this.fail(
        e,
        `duration ${v.value} is longer than 24h, the longest any setting takes (timers cannot wait much longer)`,
      );
      return undefined;
    }
    return { value: ms, loc: e.loc, path: e.path };
  }

  /** An IP address or `addr/len` prefix; whether a length is allowed is a semantic question. */
  address(e: Entry): Field<RawAddress> | undefined {
    const s = this.string(e);
    if (s === undefined) return undefined;
    try {
      const parsed = parsePrefix(s.value);
      return {
        value: { text: s.value, parsed, hasLength: s.value.includes("/") },
        loc: e.loc,
        path: e.path,
      };
    } catch (err) {
      this.fail(e, errorText(err));
      return undefined;
    }
  }

  /** One of a fixed set of words, compared exactly. */
  oneOf<T extends string>(
    e: Entry,
    values: readonly T[],
  ): Field<T> | undefined {
    const s = this.string(e);
    if (s === undefined) return undefined;
    const found = values.find((v) => v === s.value);
    if (found !== undefined) return { value: found, loc: e.loc, path: e.path };
    const hint = suggest(s.value, values);
    const did = hint === undefined ? "" : ` (did you mean "${hint}"?)`;
    this.fail(
      e,
      `invalid ${e.key} "${s.value}"${did}: use one of ${values.join(", ")}`,
    );
    return undefined;
  }

  /** Checks that a map key names something the CLI can complete. */
  checkName(e: Entry, what: string): boolean {
    if (NAME.test(e.key)) return true;
    this.fail(
      { loc: e.keyLoc, path: e.path },
      `invalid ${what} name "${e.key}": start with a letter or digit and use only letters, digits, ".", "_" and "-"`,
    );
    return false;
  }

  /** Checks the same rule for a name given as a value (pool names). */
  checkNameValue(f: Field<string>, what: string): boolean {
    if (NAME.test(f.value)) return true;
    this.fail(
      f,
      `invalid ${what} name "${f.value}": start with a letter or digit and use only letters, digits, ".", "_" and "-"`,
    );
    return false;
  }

  #scalar(e: Entry, expected: string): Scalar | undefined {
    if (e.node === null || isNull(e.node)) {
      this.fail(
        e,
        `${e.key} has no value: write ${expected}, or remove the key to use the default`,
      );
      return undefined;
    }
    if (!isScalar(e.node)) {
      this.fail(e, `expected ${expected}, got ${describe(e.node)}`);
      return undefined;
    }
    return e.node;
  }
}

function spot(where: Where): string {
  return `${where.loc.line}:${where.loc.col}:${where.path}`;
}

/** True for `~`, `null` and an empty value. */
export function isNull(node: Node | null): boolean {
  return node === null || (isScalar(node) && node.value === null);
}

/** True for a value that was not written at all (`key:`), as opposed to `~`. */
function isEmpty(node: Node): boolean {
  return isScalar(node) && node.value === null && (node.source ?? "") === "";
}

function isIntegerSource(v: Scalar): boolean {
  if (v.format === "HEX" || v.format === "OCT") return true;
  return !/[.eEnN]/.test(v.source ?? String(v.value));
}

/** Names a node's type for "expected X, got Y" messages. */
export function describe(node: Node | null): string {
  if (node === null) return "nothing";
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (!isScalar(node)) return "an alias";
  const v = node.value;
  if (v === null) return "nothing (null)";
  if (typeof v === "string") return `the string ${JSON.stringify(clip(v))}`;
  if (typeof v === "number") return `the number ${node.source ?? v}`;
  if (typeof v === "boolean") return `${v}`;
  return "an unsupported value";
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** The message of a thrown value. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
