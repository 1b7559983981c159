/**
 * Property test: whatever an editor, a merge or a bad paste does to a valid
 * file, the loader answers (ok, or positioned errors) and never throws.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseConfigText } from "./load.ts";
import { FULL_EXAMPLE } from "./_testdata.ts";

type Mutation =
  | { readonly kind: "delete"; readonly line: number }
  | { readonly kind: "duplicate"; readonly line: number }
  | { readonly kind: "swap"; readonly a: number; readonly b: number }
  | {
    readonly kind: "insert";
    readonly line: number;
    readonly col: number;
    readonly text: string;
  }
  | { readonly kind: "indent"; readonly line: number; readonly delta: number }
  | { readonly kind: "scalar"; readonly line: number; readonly value: string }
  | { readonly kind: "truncate"; readonly at: number };

/** Characters that mean something to YAML, plus a few that mean nothing. */
const NOISE = fc.constantFrom(..."\t\n :-{}[]#&*!|>'\"%@`,?~0aZ.é\u0000\u00b5");

/** Values of every type, to put where another type belongs. */
const SCALARS = fc.constantFrom(
  "",
  "~",
  "0",
  "-1",
  "1.5",
  "0x10",
  "99999999999999999999",
  "true",
  "no",
  '"quoted"',
  "'single'",
  "[1, 2]",
  "{a: 1}",
  "{}",
  "[]",
  "2s",
  "-5s",
  "::1",
  "10.0.0.1/8",
  "&anchor x",
  "*anchor",
  "*missing",
  "!!str 5",
  "|\n  block",
);

const line = fc.nat({ max: 200 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("delete" as const), line }),
  fc.record({ kind: fc.constant("duplicate" as const), line }),
  fc.record({ kind: fc.constant("swap" as const), a: line, b: line }),
  fc.record({
    kind: fc.constant("insert" as const),
    line,
    col: fc.nat({ max: 60 }),
    text: fc.oneof(
      fc.string({ unit: NOISE, minLength: 1, maxLength: 4 }),
      fc.string({ minLength: 1, maxLength: 3 }),
    ),
  }),
  fc.record({
    kind: fc.constant("indent" as const),
    line,
    delta: fc.integer({ min: -4, max: 4 }),
  }),
  fc.record({ kind: fc.constant("scalar" as const), line, value: SCALARS }),
  fc.record({
    kind: fc.constant("truncate" as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
);

function apply(text: string, m: Mutation): string {
  const lines = text.split("\n");
  const at = (n: number) => n % lines.length;
  switch (m.kind) {
    case "delete":
      lines.splice(at(m.line), 1);
      break;
    case "duplicate":
      lines.splice(at(m.line), 0, lines[at(m.line)]);
      break;
    case "swap": {
      const [a, b] = [at(m.a), at(m.b)];
      [lines[a], lines[b]] = [lines[b], lines[a]];
      break;
    }
    case "insert": {
      const l = lines[at(m.line)];
      const col = Math.min(m.col, l.length);
      lines[at(m.line)] = l.slice(0, col) + m.text + l.slice(col);
      break;
    }
    case "indent": {
      const l = lines[at(m.line)];
      lines[at(m.line)] = m.delta >= 0
        ? " ".repeat(m.delta) + l
        : l.replace(new RegExp(`^ {0,${-m.delta}}`), "");
      break;
    }
    case "scalar": {
      // Replace the value of the first `key: value` line at or after the chosen one.
      for (let i = 0; i < lines.length; i++) {
        const n = at(m.line + i);
        const match = /^(\s*[\w.-]+:)\s+\S.*$/.exec(lines[n]);
        if (match) {
          lines[n] = `${match[1]} ${m.value}`;
          break;
        }
      }
      break;
    }
    case "truncate":
      return text.slice(0, Math.floor(text.length * m.at));
  }
  return lines.join("\n");
}

Deno.test("property: mutated configs never throw and always explain themselves", () => {
  let failures = 0;
  fc.assert(
    fc.property(
      fc.array(mutation, { minLength: 1, maxLength: 5 }),
      fc.boolean(),
      (mutations, vppEnabled) => {
        const text = mutations.reduce(apply, FULL_EXAMPLE);
        const lineCount = text.split("\n").length;
        const result = parseConfigText(text, "fuzz.yaml", { vppEnabled });
        if (result.ok) return;
        failures++;
        assert.ok(
          result.errors.length > 0,
          "a failed load has at least one error",
        );
        for (const e of result.errors) {
          assert.equal(
            e.kind,
            result.kind,
            "all errors come from the reported stage",
          );
          assert.equal(e.file, "fuzz.yaml");
          assert.ok(e.message.trim().length > 0, "every error has a message");
          assert.doesNotMatch(e.message, /internal error/);
          assert.ok(Number.isInteger(e.line) && e.line >= 0);
          if (e.line > 0) {
            assert.ok(
              e.line <= lineCount,
              `line ${e.line} is past the end (${lineCount} lines): ${e.message}`,
            );
            assert.ok(e.col >= 1, `col ${e.col}: ${e.message}`);
          }
        }
      },
    ),
    { numRuns: 400 },
  );
  assert.ok(failures > 0, "mutations do break configs");
});
