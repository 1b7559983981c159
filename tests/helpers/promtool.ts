/** `promtool check metrics` (Debian package `prometheus`) on an exposition text. */
import assert from "node:assert/strict";

/** Fails the test with promtool's complaints unless the text is clean. */
export async function assertPromtoolClean(text: string): Promise<void> {
  let child;
  try {
    child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new Error(`promtool not found (${e}): apt-get install prometheus`);
  }
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const out = await child.output();
  const dec = new TextDecoder();
  assert.equal(
    out.code,
    0,
    `promtool: ${dec.decode(out.stdout)}${dec.decode(out.stderr)}`,
  );
}
