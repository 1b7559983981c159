/**
 * The generated API code in src/api/gen/ is committed; this fails when it no
 * longer matches proto/ (run `deno task proto` and commit the result).
 */
import assert from "node:assert/strict";
import { MAGLEV_ROOT } from "./helpers/maglev.ts";

async function files(dir: string, base = dir): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) {
      for (const [k, v] of await files(p, base)) out.set(k, v);
    } else out.set(p.slice(base.length + 1), await Deno.readTextFile(p));
  }
  return out;
}

Deno.test("proto: committed generated code matches proto/", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "maglev-proto-" });
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${MAGLEV_ROOT}tools/proto.ts`, "--out", tmp],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(r.success, new TextDecoder().decode(r.stderr));
    const fresh = await files(tmp);
    const committed = await files(`${MAGLEV_ROOT}src/api/gen`);
    assert.deepEqual([...committed.keys()].sort(), [...fresh.keys()].sort());
    for (const [name, text] of fresh) {
      assert.ok(
        committed.get(name) === text,
        `src/api/gen/${name} is stale: run "deno task proto" and commit it`,
      );
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
