/**
 * Test support: reads the VPP wire vectors (golden messages captured from a
 * real VPP, and the message layouts) kept in tests/vpp/golden/. They live in
 * the repository so that a clone anywhere passes its tests;
 * tools/vpp_golden.ts maintains them.
 */

/** tests/vpp/golden/, seen from this file. */
export const GOLDEN_DIR = new URL("../../tests/vpp/golden/", import.meta.url);

/** The message layouts (offsets, sizes, wire types, CRCs), beside golden/. */
export const LAYOUTS_FILE = new URL("../layouts.json", GOLDEN_DIR);

/** A parsed JSON value. */
export type Json =
  | null
  | boolean
  | number
  | string
  | Json[]
  | { [key: string]: Json };

/** A JSON object. */
export type JsonObject = { [key: string]: Json };

function missing(what: URL, e: unknown): Error {
  return new Error(
    `VPP reference data not found at ${what.pathname} (${
      e instanceof Error ? e.message : e
    }): the VPP codec tests read their vectors from tests/vpp/golden/ in this repository; restore it with git (git checkout -- tests/vpp/golden)`,
  );
}

/** Reads and parses a JSON file, failing with a message that names the missing directory. */
export function readJson(url: URL): Json {
  let text: string;
  try {
    text = Deno.readTextFileSync(url);
  } catch (e) {
    throw missing(url, e);
  }
  return JSON.parse(text) as Json;
}

/** Every golden file, name → parsed content, sorted by name. */
export function goldenFiles(): Map<string, Json> {
  let names: string[];
  try {
    names = [...Deno.readDirSync(GOLDEN_DIR)]
      .filter((e) => e.isFile && e.name.endsWith(".json"))
      .map((e) => e.name)
      .sort();
  } catch (e) {
    throw missing(GOLDEN_DIR, e);
  }
  if (names.length === 0) throw missing(GOLDEN_DIR, "no .json files");
  return new Map(names.map((n) => [n, readJson(new URL(n, GOLDEN_DIR))]));
}

/** Hex text → bytes. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || /[^0-9a-f]/i.test(hex)) {
    throw new Error(`not a hex string: ${hex.slice(0, 40)}…`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/** Bytes → lowercase hex text. */
export function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Narrows a JSON value to an object (throws otherwise). */
export function asObject(v: Json | undefined, what: string): JsonObject {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new Error(`${what}: expected a JSON object`);
  }
  return v;
}
