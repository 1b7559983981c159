/**
 * The terminal side of the live view, kept as thin as possible: alternate
 * screen and hidden cursor while running, one write per frame (cursor home,
 * each line cleared to its end, the rest of the screen cleared), raw
 * keyboard input for `q` and Ctrl-C, and the terminal put back however the
 * view ends.
 */
import type { Size } from "./render.ts";

/** Switches to the alternate screen and hides the cursor. */
export const ENTER_SCREEN = "\x1b[?1049h\x1b[?25l";
/** Shows the cursor and returns to the normal screen. */
export const LEAVE_SCREEN = "\x1b[?25h\x1b[?1049l";

/**
 * The bytes that draw a frame over the previous one without flicker: no
 * full clear, each line overwritten and its tail erased.
 */
export function frameText(lines: readonly string[]): string {
  return "\x1b[H" + lines.map((l) => l + "\x1b[K").join("\r\n") + "\x1b[J";
}

/** Bytes of keyboard input that stop the view: q, Q, Ctrl-C, Ctrl-D. */
export function isQuitKey(bytes: Uint8Array): boolean {
  return bytes.some((b) => b === 0x71 || b === 0x51 || b === 3 || b === 4);
}

const encoder = new TextEncoder();

/** Writes all of `text` to stdout, synchronously. */
export function writeStdout(text: string): void {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
}

/** The terminal while the live view runs. */
export class Screen {
  #open = false;
  #raw = false;

  /** Enters the alternate screen; with a terminal on stdin, raw keys too. */
  open(): void {
    writeStdout(ENTER_SCREEN);
    this.#open = true;
    if (Deno.stdin.isTerminal()) {
      Deno.stdin.setRaw(true);
      this.#raw = true;
    }
  }

  /** The terminal's size; 80×24 when it cannot be asked. */
  size(): Size {
    try {
      return Deno.consoleSize();
    } catch {
      return { columns: 80, rows: 24 };
    }
  }

  /** Draws one frame. */
  draw(lines: readonly string[]): void {
    if (this.#open) writeStdout(frameText(lines));
  }

  /**
   * Calls `onQuit` when a quit key is typed (raw mode only; otherwise
   * Ctrl-C arrives as SIGINT).
   */
  watchKeys(onQuit: () => void): void {
    if (!this.#raw) return;
    const buf = new Uint8Array(64);
    const next = (): void => {
      Deno.stdin.read(buf).then((n) => {
        if (n === null) return;
        if (isQuitKey(buf.subarray(0, n))) onQuit();
        else if (this.#raw) next();
      }, () => {});
    };
    next();
  }

  /** Puts the terminal back as it was; safe to call more than once. */
  close(): void {
    if (this.#raw) {
      this.#raw = false;
      try {
        Deno.stdin.setRaw(false);
      } catch {
        // stdin went away
      }
    }
    if (this.#open) {
      this.#open = false;
      writeStdout(LEAVE_SCREEN);
    }
  }
}
