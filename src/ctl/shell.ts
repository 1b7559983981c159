/**
 * The interactive shell: terminal glue around the line editor. Puts the
 * TTY in raw mode, turns key actions into screen updates, runs commands
 * while still listening for keys (any key ends `watch events`, Ctrl-C
 * cancels a slow call), and restores the terminal on every way out.
 * Without a terminal on stdin it reads commands line by line instead.
 */
import { versionLine } from "../version.ts";
import {
  type CommandResult,
  type CtlContext,
  describeError,
  execute,
  type Output,
} from "./commands.ts";
import {
  commonPrefix,
  KeyDecoder,
  LineEditor,
  renderPromptLine,
} from "./lineedit.ts";
import {
  CommandError,
  complete,
  helpAt,
  parseCommand,
  splitWords,
} from "./parse.ts";
import { errorLine, renderHelpEntries, visibleWidth } from "./render.ts";
import type { NameSource } from "./tree.ts";

/** The prompt, as tests and operators see it. */
export const PROMPT = "maglev> ";

/** Most lines kept in memory and in the history file. */
export const HISTORY_LIMIT = 1000;

/** What the shell needs besides the terminal. */
export interface ShellOptions {
  /** Context for commands; its signal is set per command by the shell. */
  readonly ctx: Omit<CtlContext, "signal">;
  readonly names: NameSource;
  /** `$HOME/.maglev_history`, or undefined to keep history in memory only. */
  readonly historyPath?: string;
}

/** A byte source like Deno.stdin. */
interface Reader {
  read(p: Uint8Array): Promise<number | null>;
}

/**
 * Reads the terminal continuously into a queue, so a command can wait for
 * "a key was pressed" without eating keys typed ahead for the next prompt.
 */
class InputPump {
  readonly #queue: Uint8Array[] = [];
  #eof = false;
  #wake: (() => void)[] = [];

  constructor(reader: Reader) {
    void this.#loop(reader);
  }

  async #loop(reader: Reader): Promise<void> {
    const buf = new Uint8Array(4096);
    while (!this.#eof) {
      let n: number | null;
      try {
        n = await reader.read(buf);
      } catch {
        n = null;
      }
      if (n === null) {
        this.close();
        return;
      }
      this.#queue.push(buf.slice(0, n));
      this.#notify();
    }
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = [];
    for (const f of w) f();
  }

  /** Ends input (EOF or a terminating signal); wakes every waiter. */
  close(): void {
    this.#eof = true;
    this.#notify();
  }

  /** Resolves once there is input, or at EOF. */
  available(): Promise<void> {
    if (this.#queue.length > 0 || this.#eof) return Promise.resolve();
    return new Promise((resolve) => this.#wake.push(resolve));
  }

  /** The next chunk without taking it. */
  peek(): Uint8Array | undefined {
    return this.#queue[0];
  }

  /** Takes the next chunk; null at EOF. */
  take(): Uint8Array | null {
    return this.#queue.shift() ?? null;
  }

  /** Waits for and takes the next chunk; null at EOF. */
  async next(): Promise<Uint8Array | null> {
    await this.available();
    return this.take();
  }
}

const encoder = new TextEncoder();

function writeAll(text: string): void {
  const data = encoder.encode(text);
  let off = 0;
  while (off < data.length) off += Deno.stdout.writeSync(data.subarray(off));
}

function loadHistory(path: string | undefined): string[] {
  if (!path) return [];
  try {
    return Deno.readTextFileSync(path).split("\n").filter((l) => l.trim())
      .slice(-HISTORY_LIMIT);
  } catch {
    return [];
  }
}

/** Lays words out in columns that fit the terminal, sorted. */
export function columns(words: readonly string[], width: number): string {
  const sorted = [...words].sort();
  const cell = Math.max(...sorted.map((w) => visibleWidth(w))) + 2;
  const perRow = Math.max(1, Math.floor(width / cell));
  const rows: string[] = [];
  for (let i = 0; i < sorted.length; i += perRow) {
    rows.push(
      sorted.slice(i, i + perRow).map((w) => w.padEnd(cell)).join("").trimEnd(),
    );
  }
  return rows.join("\n");
}

function terminalWidth(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 80;
  }
}

/** A stdout/stderr Output for one-shot commands and scripts. */
export function stdOutput(): Output {
  return {
    out: (text) => writeAll(text + "\n"),
    err: (text) => {
      const data = encoder.encode(text + "\n");
      let off = 0;
      while (off < data.length) {
        off += Deno.stderr.writeSync(data.subarray(off));
      }
    },
  };
}

/**
 * Runs the shell until quit, Ctrl-D or end of input. Returns 0, or for a
 * script on stdin the highest exit status of its commands.
 */
export async function runShell(opts: ShellOptions): Promise<number> {
  if (!Deno.stdin.isTerminal()) return await runScript(opts);
  return await runInteractive(opts);
}

/** Commands from a pipe or file, one per line; no prompt, no editing. */
async function runScript(opts: ShellOptions): Promise<number> {
  let worst = 0;
  const decoder = new TextDecoder();
  let buf = "";
  const runLine = async (line: string): Promise<boolean> => {
    const r = await runOne(line, opts, undefined);
    worst = Math.max(worst, r.code);
    return r.quit === true;
  };
  for await (const chunk of Deno.stdin.readable) {
    buf += decoder.decode(chunk, { stream: true });
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (await runLine(line)) return worst;
    }
  }
  buf += decoder.decode();
  if (buf.trim()) await runLine(buf);
  return worst;
}

/** Parses and runs one line; parse errors print one line (status 2). */
async function runOne(
  line: string,
  opts: ShellOptions,
  signal: AbortSignal | undefined,
): Promise<CommandResult> {
  const { ctx } = opts;
  let cmd;
  try {
    cmd = parseCommand(splitWords(line));
  } catch (e) {
    if (!(e instanceof CommandError)) throw e;
    ctx.output.err(errorLine(ctx.errStyle, e.message));
    return { code: 2 };
  }
  if (!cmd) return { code: 0 };
  return await execute(cmd, { ...ctx, signal });
}

async function runInteractive(opts: ShellOptions): Promise<number> {
  const { ctx, names } = opts;
  let historyPath = opts.historyPath;
  const editor = new LineEditor(loadHistory(historyPath), HISTORY_LIMIT);
  const decoder = new KeyDecoder();
  const pump = new InputPump(Deno.stdin);
  let current: AbortController | undefined;
  const draw = () =>
    writeAll(renderPromptLine(PROMPT, editor.line, editor.cursor));

  writeAll(`${versionLine("maglev ctl")}\n`);
  try {
    const v = await ctx.client.getVersion({}, { timeoutMs: 3000 });
    writeAll(
      `connected to maglev daemon at ${ctx.server} (maglev ${v.version})\n`,
    );
  } catch (e) {
    ctx.output.err(errorLine(ctx.errStyle, describeError(e, ctx.server)));
  }
  writeAll(
    "Type help for the commands, ? for what may come next, Tab to complete; quit or Ctrl-D leaves.\n",
  );

  // A signal must not leave the terminal in raw mode.
  const onSignal = () => {
    current?.abort();
    pump.close();
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);

  const saveHistory = () => {
    if (!historyPath) return;
    try {
      Deno.writeTextFileSync(
        historyPath,
        editor.history.slice(-HISTORY_LIMIT).join("\n") + "\n",
        { mode: 0o600 },
      );
    } catch {
      historyPath = undefined; // not writable: keep it in memory only
    }
  };

  const runCommand = async (line: string): Promise<CommandResult> => {
    let isWatch = false;
    try {
      isWatch = parseCommand(splitWords(line))?.action === "watch-events";
    } catch {
      // runOne reports it
    }
    const ac = new AbortController();
    current = ac;
    let finished = false;
    const task = runOne(line, opts, ac.signal).finally(() => {
      finished = true;
    });
    // While it runs: any key ends a watch, Ctrl-C cancels anything else;
    // other keys stay queued for the next prompt.
    const keys = (async () => {
      while (!finished) {
        await Promise.race([pump.available(), task.catch(() => {})]);
        if (finished) return;
        const chunk = pump.peek();
        if (!chunk) return; // EOF
        if (isWatch || chunk.includes(0x03)) {
          pump.take();
          ac.abort();
        }
        return;
      }
    })();
    try {
      return await task;
    } finally {
      current = undefined;
      await keys;
    }
  };

  const doComplete = async () => {
    const before = editor.beforeCursor;
    const r = await complete(before, names);
    const start = [...before.slice(0, r.start)].length;
    if (r.candidates.length === 0) {
      writeAll("\x07");
      return;
    }
    if (r.candidates.length === 1) {
      editor.replaceBeforeCursor(start, r.candidates[0] + " ");
      draw();
      return;
    }
    const common = commonPrefix(r.candidates);
    if (common.length > r.prefix.length) {
      editor.replaceBeforeCursor(start, common);
    }
    writeAll(`\r\n${columns(r.candidates, terminalWidth())}\r\n`);
    draw();
  };

  const doHelp = async () => {
    const before = editor.beforeCursor;
    const after = editor.line.slice(before.length);
    // Echo the line with the "?" where it was typed, birdc style.
    writeAll(`\r${PROMPT}${before}?${after}\x1b[K\r\n`);
    const h = await helpAt(before, names);
    writeAll(
      (h.error
        ? errorLine(ctx.errStyle, h.error)
        : renderHelpEntries(ctx.style, h.entries)) + "\n",
    );
    draw();
  };

  Deno.stdin.setRaw(true);
  try {
    draw();
    for (;;) {
      const chunk = await pump.next();
      if (chunk === null) {
        writeAll("\r\n");
        return 0;
      }
      for (const key of decoder.feed(chunk)) {
        const act = editor.handle(key);
        switch (act.type) {
          case "none":
            break;
          case "redraw":
            draw();
            break;
          case "bell":
            writeAll("\x07");
            break;
          case "complete":
            await doComplete();
            break;
          case "help":
            await doHelp();
            break;
          case "interrupt":
            writeAll("^C\r\n");
            draw();
            break;
          case "clear-screen":
            writeAll("\x1b[H\x1b[2J");
            draw();
            break;
          case "eof":
            writeAll("\r\n");
            return 0;
          case "submit": {
            writeAll("\r\n");
            saveHistory();
            const r = await runCommand(act.line);
            if (r.quit) return 0;
            editor.reset();
            draw();
            break;
          }
        }
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
}
