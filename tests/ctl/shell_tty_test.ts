/**
 * The interactive shell on a real pseudo-terminal: tmux runs `maglev ctl`
 * against a fixture daemon, the test types with `send-keys` and reads the
 * screen with `capture-pane`, always waiting for content with a deadline.
 * Each test has its own tmux server (socket), killed in `finally`.
 */
import assert from "node:assert/strict";
import { startDaemon } from "../helpers/fixture.ts";
import { MAIN } from "../helpers/maglev.ts";
import { mustRun, runCommand } from "../helpers/command.ts";
import { waitFor } from "../helpers/wait.ts";

/** Where deno keeps its cache: the shell runs with another HOME. */
function denoDir(): string {
  const env = Deno.env.toObject();
  return env.DENO_DIR ??
    `${env.XDG_CACHE_HOME ?? `${env.HOME ?? "/root"}/.cache`}/deno`;
}

/**
 * One tmux server running one command in a 200x50 window. Its socket is a
 * file in `dir`, unique per test and removed with it.
 */
class Tmux {
  readonly socket: string;

  constructor(dir: string) {
    this.socket = `${dir}/tmux-${crypto.randomUUID().slice(0, 8)}`;
  }

  async start(command: string): Promise<void> {
    await mustRun("tmux", [
      "-S",
      this.socket,
      "-f",
      "/dev/null",
      "new-session",
      "-d",
      "-x",
      "200",
      "-y",
      "50",
      command,
    ]);
  }

  /** Types text literally (no key names). */
  async type(text: string): Promise<void> {
    await mustRun("tmux", ["-S", this.socket, "send-keys", "-l", text]);
  }

  /** Presses named keys: Tab, Enter, C-c, C-l, ... */
  async keys(...names: string[]): Promise<void> {
    await mustRun("tmux", ["-S", this.socket, "send-keys", ...names]);
  }

  /** The visible screen, trailing blank lines dropped. */
  async screen(): Promise<string> {
    const out = await mustRun("tmux", [
      "-S",
      this.socket,
      "capture-pane",
      "-p",
    ]);
    return out.replace(/\n+$/, "");
  }

  /** Waits until the screen matches; fails showing the last screen. */
  async waitFor(
    re: RegExp,
    what: string,
    deadlineMs = 15_000,
  ): Promise<string> {
    let last = "";
    try {
      return await waitFor(
        what,
        async () => {
          last = await this.screen();
          return re.test(last) ? last : undefined;
        },
        deadlineMs,
        50,
      );
    } catch (e) {
      throw new Error(
        `${e instanceof Error ? e.message : e}\n--- screen ---\n${last}`,
      );
    }
  }

  /** Clears the screen (Ctrl-U empties the line, Ctrl-L redraws). */
  async clear(): Promise<void> {
    await this.keys("C-u", "C-l");
    await this.waitFor(/^maglev> ?$/, "an empty screen with only the prompt");
  }

  async kill(): Promise<void> {
    await runCommand("tmux", ["-S", this.socket, "kill-server"]);
  }
}

function ctlCommand(home: string, args: string): string {
  return `env HOME=${home} DENO_DIR=${denoDir()} NO_COLOR= ${Deno.execPath()} run -A ${MAIN} ctl ${args}; echo "ctl exited $?"; sleep 600`;
}

Deno.test("ctl shell on a terminal: completion, ? help, commands, watch and quit", async () => {
  await using d = await startDaemon();
  const home = await Deno.makeTempDir({ prefix: "maglev-ctl-home-" });
  const tmux = new Tmux(home);
  try {
    await tmux.start(ctlCommand(home, `--server ${d.grpcAddr}`));
    await tmux.waitFor(
      new RegExp(
        `connected to maglev daemon at ${d.grpcAddr}[^\\n]*\\n[^\\n]*\\nmaglev> ?$`,
      ),
      "the banner and the prompt",
    );
    assert.match(
      await tmux.screen(),
      /^maglev ctl \d+\.\d+\.\d+ /m,
      "client version",
    );

    // sh + Tab: the only candidate, completed with a space.
    await tmux.type("sh");
    await tmux.keys("Tab");
    await tmux.waitFor(/^maglev> show$/m, "sh completed to show");
    await tmux.type("b");
    await tmux.waitFor(/^maglev> show b$/m, "a space after show");

    // show b + Tab: both candidates listed, the common prefix completed.
    await tmux.keys("Tab");
    await tmux.waitFor(
      /^backend +backends\nmaglev> show backend$/m,
      "backend and backends listed",
    );

    // show backend + space + Tab: live names from the daemon.
    await tmux.clear();
    await tmux.type("show backend ");
    await tmux.keys("Tab");
    await tmux.waitFor(/^a +b +c\nmaglev> show backend$/m, "backend names");

    // ?: the line is echoed, then the next words with help; ? is not inserted.
    await tmux.clear();
    await tmux.type("show ?");
    const help = await tmux.waitFor(
      /^maglev> show \?\n(?: {2}\S+ +\S.*\n)+maglev> show$/m,
      "? help after show",
    );
    assert.match(help, /^ {2}backends +every backend/m);
    assert.match(help, /^ {2}backend +one backend/m);
    assert.match(help, /^ {2}vpp +the VPP dataplane/m);

    // A command runs and the prompt comes back (Ctrl-L keeps the line).
    await tmux.keys("C-l");
    await tmux.waitFor(/^maglev> show$/, "the line kept after Ctrl-L");
    await tmux.type("backends");
    await tmux.keys("Enter");
    const table = await tmux.waitFor(
      /^BACKEND +ADDRESS +STATE[^\n]*\n(?:[abc] +127\.0\.3\.\d[^\n]*\n){3}maglev> ?$/m,
      "the backends table and a new prompt",
    );
    assert.match(table, /^a +127\.0\.3\.1 +up /m);

    // An error does not end the shell.
    await tmux.clear();
    await tmux.type("shw");
    await tmux.keys("Enter");
    await tmux.waitFor(
      /^error: unknown word "shw" at position 1; expected one of: show, [^\n]*\nmaglev> ?$/m,
      "a one-line error and the prompt",
    );

    // watch events runs until Ctrl-C, then the prompt is back.
    await tmux.clear();
    await tmux.type("watch events");
    await tmux.keys("Enter");
    await tmux.waitFor(/frontend {2}web {2}\w+ → \w+/, "the snapshot");
    await tmux.keys("C-c");
    await tmux.waitFor(
      /frontend {2}web[^\n]*\nmaglev> ?$/m,
      "the prompt after Ctrl-C",
    );

    // History: Up brings back the last command.
    await tmux.clear();
    await tmux.keys("Up");
    await tmux.waitFor(
      /^maglev> watch events$/m,
      "the last command from history",
    );
    await tmux.keys("C-u");

    await tmux.type("quit");
    await tmux.keys("Enter");
    await tmux.waitFor(/^ctl exited 0$/m, "the shell to exit 0");
    const history = await Deno.readTextFile(`${home}/.maglev_history`);
    assert.deepEqual(history.trim().split("\n"), [
      "show backends",
      "shw",
      "watch events",
      "quit",
    ]);
  } finally {
    await tmux.kill();
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
});

Deno.test("ctl one-shot watch events on a terminal stops on any key", async () => {
  await using d = await startDaemon();
  const home = await Deno.makeTempDir({ prefix: "maglev-ctl-home-" });
  const tmux = new Tmux(home);
  try {
    await tmux.start(ctlCommand(home, `--server ${d.grpcAddr} watch events`));
    await tmux.waitFor(/frontend {2}web/, "the snapshot");
    await tmux.type("x");
    await tmux.waitFor(/^ctl exited 0$/m, "watch to end with status 0");
  } finally {
    await tmux.kill();
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
});
