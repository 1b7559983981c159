import assert from "node:assert/strict";
import {
  commonPrefix,
  type EditAction,
  type Key,
  KeyDecoder,
  LineEditor,
  renderPromptLine,
} from "./lineedit.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

/** Feeds terminal input to an editor; returns the actions. */
function type(ed: LineEditor, input: string): EditAction[] {
  const d = new KeyDecoder();
  return d.feed(bytes(input)).map((k) => ed.handle(k));
}

Deno.test("KeyDecoder: text, control keys and escape sequences", () => {
  const d = new KeyDecoder();
  const names = (s: string) =>
    d.feed(bytes(s)).map((k: Key) =>
      k.name === "text" ? `"${k.text}"` : k.name
    );
  assert.deepEqual(names("show"), ['"show"']);
  assert.deepEqual(names("\t\r\x7f\x08\x03\x04"), [
    "tab",
    "enter",
    "backspace",
    "backspace",
    "ctrl-c",
    "ctrl-d",
  ]);
  assert.deepEqual(names("\x01\x05\x0b\x15\x17\x0c\x10\x0e"), [
    "ctrl-a",
    "ctrl-e",
    "ctrl-k",
    "ctrl-u",
    "ctrl-w",
    "ctrl-l",
    "ctrl-p",
    "ctrl-n",
  ]);
  assert.deepEqual(names("\x1b[A\x1b[B\x1b[C\x1b[D"), [
    "up",
    "down",
    "right",
    "left",
  ]);
  assert.deepEqual(names("\x1b[H\x1b[F\x1bOH\x1bOF\x1b[1~\x1b[4~\x1b[3~"), [
    "home",
    "end",
    "home",
    "end",
    "home",
    "end",
    "delete",
  ]);
  assert.deepEqual(names("\x1b[1;5D\x1b[1;5C\x1bb\x1bf\x1b[1;2C"), [
    "word-left",
    "word-right",
    "word-left",
    "word-right",
    "right",
  ]);
  assert.deepEqual(names("ab?cd"), ['"ab"', '"?"', '"cd"']);
  assert.deepEqual(names("x\r\n"), ['"x"', "enter"]);
  assert.deepEqual(names("\x1b[99~"), ["unknown"]);
});

Deno.test("KeyDecoder: sequences and characters split across reads", () => {
  const d = new KeyDecoder();
  assert.deepEqual(d.feed(bytes("\x1b[")), []);
  assert.deepEqual(d.feed(bytes("D")), [{ name: "left" }]);
  const e = bytes("é→");
  assert.deepEqual(d.feed(e.subarray(0, 1)), []);
  assert.deepEqual(d.feed(e.subarray(1)), [{ name: "text", text: "é→" }]);
});

Deno.test("LineEditor: typing, cursor movement, home/end, delete", () => {
  const ed = new LineEditor();
  type(ed, "show backends");
  assert.equal(ed.line, "show backends");
  assert.equal(ed.cursor, 13);
  type(ed, "\x1b[D\x1b[D\x7f"); // left, left, backspace
  assert.equal(ed.line, "show backeds");
  assert.equal(ed.cursor, 10);
  type(ed, "n");
  assert.equal(ed.line, "show backends");
  type(ed, "\x01"); // ctrl-a
  assert.equal(ed.cursor, 0);
  type(ed, "\x1b[3~"); // delete
  assert.equal(ed.line, "how backends");
  type(ed, "s\x05"); // insert, ctrl-e
  assert.equal(ed.cursor, 13);
  type(ed, "\x1b[H"); // home
  assert.equal(ed.cursor, 0);
  type(ed, "\x1b[F"); // end
  assert.equal(ed.cursor, 13);
  assert.deepEqual(type(ed, "\x1b[C"), [{ type: "bell" }]); // right at end
  type(ed, "\x1b[1;5D"); // word left
  assert.equal(ed.cursor, 5);
  type(ed, "\x1b[1;5C"); // word right
  assert.equal(ed.cursor, 13);
});

Deno.test("LineEditor: Ctrl-K, Ctrl-U, Ctrl-W kill text", () => {
  const ed = new LineEditor();
  type(ed, "set backend a pause");
  type(ed, "\x17"); // ctrl-w: previous word
  assert.equal(ed.line, "set backend a ");
  type(ed, "\x17");
  assert.equal(ed.line, "set backend ");
  type(ed, "\x1b[D\x1b[D\x1b[D\x0b"); // three left, ctrl-k
  assert.equal(ed.line, "set backe");
  type(ed, "\x1b[D\x15"); // left, ctrl-u
  assert.equal(ed.line, "e");
  assert.equal(ed.cursor, 0);
});

Deno.test("LineEditor: Enter submits and remembers; Up/Down browse history with the draft kept", () => {
  const ed = new LineEditor(["show version"]);
  assert.deepEqual(type(ed, "show backends\r"), [
    { type: "redraw" },
    { type: "submit", line: "show backends" },
  ]);
  ed.reset();
  type(ed, "sh");
  type(ed, "\x1b[A");
  assert.equal(ed.line, "show backends");
  type(ed, "\x1b[A");
  assert.equal(ed.line, "show version");
  assert.deepEqual(type(ed, "\x1b[A"), [{ type: "bell" }]);
  type(ed, "\x1b[B\x1b[B");
  assert.equal(ed.line, "sh", "back to the draft");
  // Blank lines and repeats are not remembered.
  ed.remember("   ");
  ed.remember("sh");
  ed.remember("sh");
  assert.deepEqual(ed.history, ["show version", "show backends", "sh"]);
});

Deno.test("LineEditor: history is bounded", () => {
  const ed = new LineEditor(["a", "b", "c"], 3);
  ed.remember("d");
  assert.deepEqual(ed.history, ["b", "c", "d"]);
});

Deno.test("LineEditor: Tab, ?, Ctrl-C, Ctrl-D and Ctrl-L become actions", () => {
  const ed = new LineEditor();
  assert.deepEqual(type(ed, "sh\t"), [{ type: "redraw" }, {
    type: "complete",
  }]);
  assert.deepEqual(type(ed, "?"), [{ type: "help" }]);
  assert.equal(ed.line, "sh", "? is not inserted");
  assert.deepEqual(type(ed, "\x03"), [{ type: "interrupt" }]);
  assert.equal(ed.line, "", "Ctrl-C clears the line");
  assert.deepEqual(type(ed, "\x04"), [{ type: "eof" }]);
  type(ed, "ab\x01");
  assert.deepEqual(type(ed, "\x04"), [{ type: "redraw" }], "Ctrl-D deletes");
  assert.equal(ed.line, "b");
  assert.deepEqual(type(ed, "\x0c"), [{ type: "clear-screen" }]);
});

Deno.test("LineEditor: completion replaces the word before the cursor", () => {
  const ed = new LineEditor();
  type(ed, "show ba");
  ed.replaceBeforeCursor(5, "backends ");
  assert.equal(ed.line, "show backends ");
  assert.equal(ed.cursor, 14);
  ed.setLine("sh x");
  type(ed, "\x1b[D\x1b[D");
  ed.replaceBeforeCursor(0, "show");
  assert.equal(ed.line, "show x");
  assert.equal(ed.cursor, 4);
  assert.equal(ed.beforeCursor, "show");
});

Deno.test("commonPrefix", () => {
  assert.equal(commonPrefix(["backend", "backends"]), "backend");
  assert.equal(commonPrefix(["show", "set", "sync"]), "s");
  assert.equal(commonPrefix(["a"]), "a");
  assert.equal(commonPrefix([]), "");
});

Deno.test("renderPromptLine: redraws the line and puts the cursor back", () => {
  assert.equal(
    renderPromptLine("maglev> ", "show", 4),
    "\rmaglev> show\x1b[K",
  );
  assert.equal(
    renderPromptLine("maglev> ", "show", 1),
    "\rmaglev> show\x1b[K\x1b[3D",
  );
});
