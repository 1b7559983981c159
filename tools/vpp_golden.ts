/**
 * Maintains the VPP wire vectors the codec tests read from
 * tests/vpp/golden/ (the repository must pass its tests wherever it is
 * cloned, so the bytes live here, not in a reference folder beside it).
 *
 *   deno run -A tools/vpp_golden.ts import DIR
 *       copies DIR/golden/*.json and DIR/layouts.json (a VPP reference
 *       capture) into tests/vpp/golden/ and tests/vpp/layouts.json, keeping the facts (bytes, fields,
 *       CRCs, ids) and dropping the explanatory prose keys.
 *
 * Run `deno fmt tests/vpp/` afterwards.
 */
import { GOLDEN_DIR, LAYOUTS_FILE } from "../src/vpp/_golden.ts";

/** Keys that carry a human explanation rather than a wire fact. */
const PROSE_KEYS = new Set([
  "note",
  "explanation",
  "truncated_explanation",
  "unknown_explanation",
  "cli_explanation",
  "traffic_note",
  "dump_sequence",
  "title",
]);

/** A JSON value with the prose keys removed at every depth. */
export function withoutProse(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutProse);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (!PROSE_KEYS.has(k)) out[k] = withoutProse(x);
    }
    return out;
  }
  return v;
}

async function importFrom(dir: string): Promise<void> {
  const src = dir.endsWith("/") ? dir : `${dir}/`;
  await Deno.mkdir(GOLDEN_DIR, { recursive: true });
  let n = 0;
  for await (const e of Deno.readDir(`${src}golden`)) {
    if (!e.isFile || !e.name.endsWith(".json")) continue;
    const v = JSON.parse(await Deno.readTextFile(`${src}golden/${e.name}`));
    await Deno.writeTextFile(
      new URL(e.name, GOLDEN_DIR),
      JSON.stringify(withoutProse(v), null, 1) + "\n",
    );
    n++;
  }
  const layouts = JSON.parse(await Deno.readTextFile(`${src}layouts.json`));
  await Deno.writeTextFile(
    LAYOUTS_FILE,
    JSON.stringify(withoutProse(layouts), null, 1) + "\n",
  );
  console.error(`imported ${n} vectors and layouts.json into ${GOLDEN_DIR}`);
}

if (import.meta.main) {
  const [cmd, ...rest] = Deno.args;
  if (cmd === "import" && rest.length === 1) {
    await importFrom(rest[0]);
  } else {
    console.error("usage: vpp_golden.ts import DIR");
    Deno.exit(2);
  }
}
