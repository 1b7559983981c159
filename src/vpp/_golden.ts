/**
 * Test support: reads the shared VPP reference files (golden vectors and
 * layouts) at test time, so the tests follow them rather than a copy.
 */

/** `/work/shared/vpp/` seen from this file (src/vpp/ → ../../../shared/vpp/). */
export const SHARED_VPP_DIR = new URL("../../../shared/vpp/", import.meta.url);

/** The golden directory. */
export const GOLDEN_DIR = new URL("golden/", SHARED_VPP_DIR);

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
    }): the tests read /work/shared/vpp/ (README.md, layouts.json, golden/) relative to the repository; check it out beside the repo`,
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
