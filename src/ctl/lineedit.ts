/**
 * The shell's line editor as a pure state machine: terminal bytes become
 * keys, keys change a buffer, a cursor and the history, and come back as
 * actions (redraw, submit, complete, help, ...) that shell.ts carries out on
 * the terminal. Nothing here touches a TTY, so every key is unit-tested.
 */

/** A decoded key press. */
export type Key =
  | { readonly name: "text"; readonly text: string }
  | {
    readonly name:
      | "enter"
      | "tab"
      | "backspace"
      | "delete"
      | "left"
      | "right"
      | "up"
      | "down"
      | "home"
      | "end"
      | "word-left"
      | "word-right"
      | "ctrl-a"
      | "ctrl-b"
      | "ctrl-c"
      | "ctrl-d"
      | "ctrl-e"
      | "ctrl-f"
      | "ctrl-k"
      | "ctrl-l"
      | "ctrl-n"
      | "ctrl-p"
      | "ctrl-u"
      | "ctrl-w"
      | "escape"
      | "unknown";
  };

/** Key names other than text. */
export type KeyName = Exclude<Key, { name: "text" }>["name"];

const CONTROL: Record<number, KeyName> = {
  0x01: "ctrl-a",
  0x02: "ctrl-b",
  0x03: "ctrl-c",
  0x04: "ctrl-d",
  0x05: "ctrl-e",
  0x06: "ctrl-f",
  0x08: "backspace",
  0x09: "tab",
  0x0a: "enter",
  0x0b: "ctrl-k",
  0x0c: "ctrl-l",
  0x0d: "enter",
  0x0e: "ctrl-n",
  0x10: "ctrl-p",
  0x15: "ctrl-u",
  0x17: "ctrl-w",
  0x7f: "backspace",
};

/** `ESC [ <params> <final>` sequences, by params + final byte. */
const CSI: Record<string, KeyName> = {
  A: "up",
  B: "down",
  C: "right",
  D: "left",
  H: "home",
  F: "end",
  "1~": "home",
  "7~": "home",
  "4~": "end",
  "8~": "end",
  "3~": "delete",
  "1;5C": "word-right",
  "1;5D": "word-left",
  "1;3C": "word-right",
  "1;3D": "word-left",
};

/**
 * Turns the bytes a terminal sends into keys. Keeps state between chunks:
 * a UTF-8 character or an escape sequence split across two reads still
 * decodes as one key.
 */
export class KeyDecoder {
  #text = new TextDecoder("utf-8", { fatal: false });
  #pending = "";

  /** Decodes one chunk read from the terminal. */
  feed(bytes: Uint8Array): Key[] {
    const s = this.#pending + this.#text.decode(bytes, { stream: true });
    this.#pending = "";
    const keys: Key[] = [];
    let text = "";
    const flush = () => {
      if (text) keys.push({ name: "text", text });
      text = "";
    };
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x1b) {
        flush();
        const rest = s.slice(i + 1);
        if (rest === "") {
          // A lone ESC at the end of a read: the Escape key.
          keys.push({ name: "escape" });
          continue;
        }
        const m = /^(?:\[([0-9;]*)([A-Za-z~])|O([A-Za-z])|([bf]))/.exec(rest);
        if (!m) {
          if (/^(\[[0-9;]*|O)$/.test(rest)) {
            this.#pending = s.slice(i); // sequence continues in the next read
            break;
          }
          keys.push({ name: "escape" });
          continue;
        }
        let name: KeyName;
        if (m[2] !== undefined) {
          // Unknown modifiers (shift-right = "1;2C") fall back to the plain key.
          name = CSI[`${m[1]}${m[2]}`] ??
            (m[2] === "~" ? undefined : CSI[m[2]]) ?? "unknown";
        } else if (m[3] !== undefined) {
          name = CSI[m[3]] ?? "unknown";
        } else {
          name = m[4] === "b" ? "word-left" : "word-right";
        }
        keys.push({ name });
        i += m[0].length;
        continue;
      }
      if (c < 0x20 || c === 0x7f) {
        flush();
        // CR LF from a paste is one Enter.
        if (c === 0x0a && s.charCodeAt(i - 1) === 0x0d) continue;
        keys.push({ name: CONTROL[c] ?? "unknown" });
        continue;
      }
      if (s[i] === "?") {
        // "?" is a key of its own: help, never part of the line.
        flush();
        keys.push({ name: "text", text: "?" });
        continue;
      }
      text += s[i];
    }
    flush();
    return keys;
  }
}

/** What the shell must do after a key. */
export type EditAction =
  | { readonly type: "none" }
  | { readonly type: "redraw" }
  | { readonly type: "bell" }
  | { readonly type: "submit"; readonly line: string }
  | { readonly type: "complete" }
  | { readonly type: "help" }
  | { readonly type: "interrupt" }
  | { readonly type: "eof" }
  | { readonly type: "clear-screen" };

const isSpace = (c: string | undefined) => c !== undefined && /\s/.test(c);

/**
 * Buffer, cursor and history of one prompt. The buffer is kept as code
 * points so the cursor never splits a character.
 */
export class LineEditor {
  #chars: string[] = [];
  #cursor = 0;
  readonly #history: string[];
  readonly #maxHistory: number;
  /** Index into history while browsing; history.length = the new line. */
  #browse: number;
  #draft: string[] = [];

  constructor(history: readonly string[] = [], maxHistory = 1000) {
    this.#maxHistory = maxHistory;
    this.#history = history.slice(-maxHistory);
    this.#browse = this.#history.length;
  }

  /** The line as typed so far. */
  get line(): string {
    return this.#chars.join("");
  }

  /** Cursor position in code points. */
  get cursor(): number {
    return this.#cursor;
  }

  /** The line up to the cursor: what completion and `?` look at. */
  get beforeCursor(): string {
    return this.#chars.slice(0, this.#cursor).join("");
  }

  /** Submitted lines, oldest first (bounded). */
  get history(): readonly string[] {
    return this.#history;
  }

  /** Starts a fresh empty line (after submit or Ctrl-C). */
  reset(): void {
    this.#chars = [];
    this.#cursor = 0;
    this.#browse = this.#history.length;
    this.#draft = [];
  }

  /** Inserts text at the cursor. */
  insert(text: string): void {
    const add = [...text];
    this.#chars.splice(this.#cursor, 0, ...add);
    this.#cursor += add.length;
  }

  /**
   * Replaces code points [start, cursor) with `text` (completion); `start`
   * is a code-point index into the line.
   */
  replaceBeforeCursor(start: number, text: string): void {
    const add = [...text];
    this.#chars.splice(start, this.#cursor - start, ...add);
    this.#cursor = start + add.length;
  }

  /** Sets the whole line, cursor at its end. */
  setLine(line: string): void {
    this.#chars = [...line];
    this.#cursor = this.#chars.length;
  }

  /** Adds a line to the history (not blanks, not a repeat of the last). */
  remember(line: string): void {
    const l = line.trim();
    if (l && this.#history.at(-1) !== l) {
      this.#history.push(l);
      if (this.#history.length > this.#maxHistory) {
        this.#history.splice(0, this.#history.length - this.#maxHistory);
      }
    }
    this.#browse = this.#history.length;
  }

  #historyMove(delta: number): EditAction {
    const to = this.#browse + delta;
    if (to < 0 || to > this.#history.length) return { type: "bell" };
    if (this.#browse === this.#history.length) this.#draft = [...this.#chars];
    this.#browse = to;
    this.#chars = to === this.#history.length
      ? [...this.#draft]
      : [...this.#history[to]];
    this.#cursor = this.#chars.length;
    return { type: "redraw" };
  }

  #wordStartBefore(pos: number): number {
    let i = pos;
    while (i > 0 && isSpace(this.#chars[i - 1])) i--;
    while (i > 0 && !isSpace(this.#chars[i - 1])) i--;
    return i;
  }

  #wordEndAfter(pos: number): number {
    let i = pos;
    while (i < this.#chars.length && isSpace(this.#chars[i])) i++;
    while (i < this.#chars.length && !isSpace(this.#chars[i])) i++;
    return i;
  }

  /** Applies one key; returns what the terminal side must do. */
  handle(key: Key): EditAction {
    const redraw: EditAction = { type: "redraw" };
    switch (key.name) {
      case "text":
        // "?" never goes into the line: it asks for help at the cursor.
        if (key.text === "?") return { type: "help" };
        this.insert(key.text);
        return redraw;
      case "enter": {
        const line = this.line;
        this.remember(line);
        return { type: "submit", line };
      }
      case "tab":
        return { type: "complete" };
      case "backspace":
        if (this.#cursor === 0) return { type: "bell" };
        this.#chars.splice(this.#cursor - 1, 1);
        this.#cursor--;
        return redraw;
      case "delete":
        if (this.#cursor >= this.#chars.length) return { type: "bell" };
        this.#chars.splice(this.#cursor, 1);
        return redraw;
      case "ctrl-d":
        if (this.#chars.length === 0) return { type: "eof" };
        if (this.#cursor >= this.#chars.length) return { type: "bell" };
        this.#chars.splice(this.#cursor, 1);
        return redraw;
      case "left":
      case "ctrl-b":
        if (this.#cursor === 0) return { type: "bell" };
        this.#cursor--;
        return redraw;
      case "right":
      case "ctrl-f":
        if (this.#cursor >= this.#chars.length) return { type: "bell" };
        this.#cursor++;
        return redraw;
      case "home":
      case "ctrl-a":
        this.#cursor = 0;
        return redraw;
      case "end":
      case "ctrl-e":
        this.#cursor = this.#chars.length;
        return redraw;
      case "word-left":
        this.#cursor = this.#wordStartBefore(this.#cursor);
        return redraw;
      case "word-right":
        this.#cursor = this.#wordEndAfter(this.#cursor);
        return redraw;
      case "ctrl-k":
        this.#chars.splice(this.#cursor);
        return redraw;
      case "ctrl-u":
        this.#chars.splice(0, this.#cursor);
        this.#cursor = 0;
        return redraw;
      case "ctrl-w": {
        const start = this.#wordStartBefore(this.#cursor);
        if (start === this.#cursor) return { type: "bell" };
        this.#chars.splice(start, this.#cursor - start);
        this.#cursor = start;
        return redraw;
      }
      case "up":
      case "ctrl-p":
        return this.#historyMove(-1);
      case "down":
      case "ctrl-n":
        return this.#historyMove(1);
      case "ctrl-c":
        this.reset();
        return { type: "interrupt" };
      case "ctrl-l":
        return { type: "clear-screen" };
      case "escape":
      case "unknown":
        return { type: "none" };
    }
  }
}

/** Longest common prefix of some words ("" for none). */
export function commonPrefix(words: readonly string[]): string {
  if (words.length === 0) return "";
  let p = words[0];
  for (const w of words.slice(1)) {
    let i = 0;
    while (i < p.length && i < w.length && p[i] === w[i]) i++;
    p = p.slice(0, i);
  }
  return p;
}

/**
 * What a terminal needs to show the prompt and line with the cursor in
 * place: return to column 0, prompt, line, clear the rest, move back.
 */
export function renderPromptLine(
  prompt: string,
  line: string,
  cursor: number,
): string {
  const back = [...line].length - cursor;
  return `\r${prompt}${line}\x1b[K${back > 0 ? `\x1b[${back}D` : ""}`;
}
