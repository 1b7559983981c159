import assert from "node:assert/strict";
import { ENTER_SCREEN, frameText, isQuitKey, LEAVE_SCREEN } from "./screen.ts";

Deno.test("screen: a frame homes the cursor, clears each line's tail and below", () => {
  assert.equal(
    frameText(["a", "b"]),
    "\x1b[H" + "a\x1b[K\r\nb\x1b[K" + "\x1b[J",
  );
});

Deno.test("screen: the alternate screen is entered and left, cursor hidden then shown", () => {
  assert.equal(ENTER_SCREEN, "\x1b[?1049h\x1b[?25l");
  assert.equal(LEAVE_SCREEN, "\x1b[?25h\x1b[?1049l");
});

Deno.test("screen: q, Q, Ctrl-C and Ctrl-D quit; other keys do not", () => {
  const k = (s: string) => isQuitKey(new TextEncoder().encode(s));
  assert.ok(k("q"));
  assert.ok(k("Q"));
  assert.ok(k("\x03"));
  assert.ok(k("\x04"));
  assert.ok(k("xq"));
  assert.ok(!k("x"));
  assert.ok(!k("\x1b[A"));
});
