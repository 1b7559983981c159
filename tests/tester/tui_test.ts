/**
 * The live view of `maglev tester`, run in a real terminal: a tmux session
 * of our own (its own server socket in a temp dir, no user config), read
 * with `capture-pane`. Backends are processes sharing one loopback address
 * and port (SO_REUSEPORT), as in json_test.ts.
 */
import assert from "node:assert/strict";
import { mustRun, requireTools, runCommand } from "../helpers/command.ts";
import { MAIN } from "../helpers/maglev.ts";
import { tempDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";
import { randomLoopback, Vip } from "./backends.ts";
import { testConfig } from "./helpers.ts";

/** Single-quotes a word for the shell tmux runs the command with. */
function sh(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A detached tmux session on a server of its own; `kill()` ends it all. */
class TmuxSession {
  readonly socket: string;
  readonly name = `maglev-tester-${crypto.randomUUID().slice(0, 8)}`;

  constructor(dir: string) {
    this.socket = `${dir}/tmux.sock`;
  }

  #args(args: string[]): string[] {
    return ["-S", this.socket, "-f", "/dev/null", ...args];
  }

  /** Starts `command` in a 160×50 window. */
  async start(command: string): Promise<void> {
    await mustRun(
      "tmux",
      this.#args([
        "new-session",
        "-d",
        "-s",
        this.name,
        "-x",
        "160",
        "-y",
        "50",
        command,
      ]),
    );
  }

  /** What the window shows now, as text. */
  async pane(): Promise<string> {
    const r = await runCommand(
      "tmux",
      this.#args(["capture-pane", "-p", "-t", this.name]),
      { timeoutMs: 10_000 },
    );
    if (r.code !== 0) throw new Error(r.stderr);
    return r.stdout;
  }

  /** Waits (bounded) until the window shows something matching `re`. */
  waitForPane(what: string, test: (s: string) => boolean): Promise<string> {
    return waitFor(
      what,
      async () => {
        const s = await this.pane();
        return test(s) ? s : undefined;
      },
      20_000,
      100,
    );
  }

  /** Types keys (tmux key names, e.g. "q", "C-c"). */
  async keys(...keys: string[]): Promise<void> {
    await mustRun("tmux", this.#args(["send-keys", "-t", this.name, ...keys]));
  }

  /** The pid of the program the window's shell runs (the tester). */
  async childPid(): Promise<number> {
    const r = await mustRun(
      "tmux",
      this.#args(["display-message", "-p", "-t", this.name, "#{pane_pid}"]),
    );
    const shell = r.trim();
    return await waitFor("the tester process", async () => {
      const kids = await Deno.readTextFile(
        `/proc/${shell}/task/${shell}/children`,
      );
      const pid = Number(kids.trim().split(/\s+/)[0]);
      return pid > 0 ? pid : undefined;
    });
  }

  /** Ends the server: the session, the tester if still running, the shell. */
  async kill(): Promise<void> {
    await runCommand("tmux", this.#args(["kill-server"]), {
      timeoutMs: 10_000,
    });
  }
}

/** The shell command running the tester against `config`, pane kept after. */
function testerCommand(config: string, port: number): string {
  return [
    Deno.execPath(),
    "run",
    "-A",
    MAIN,
    "tester",
    "--config",
    config,
    "--http-ports",
    String(port),
    "--header",
    "X-Backend",
    "--interval",
    "20ms",
  ].map(sh).join(" ") +
    // Keep the pane after the tester ends, to read what it left behind.
    '; echo "tester exited $?"; sleep 60';
}

/** A config with one VIP served by backends `names`, and a session for it. */
async function setUp(dir: string, names: string[]) {
  const host = randomLoopback();
  const vip = await Vip.start(host, names);
  const config = `${dir}/maglev.yaml`;
  try {
    await Deno.writeTextFile(
      config,
      testConfig([{ name: "web", address: host, port: vip.port }]),
    );
  } catch (e) {
    await vip[Symbol.asyncDispose]();
    throw e;
  }
  const key = `http://${host}:${vip.port}`;
  return {
    vip,
    key,
    keyRe: key.replaceAll(".", "\\."),
    command: testerCommand(config, vip.port),
  };
}

Deno.test("tester tui: the VIP, its tally, a backend drained and back, and q restores the terminal", async () => {
  requireTools(["tmux"]);
  await using dir = await tempDir("maglev-tester-tui-");
  const { vip, key, keyRe, command } = await setUp(dir.path, ["b1", "b2"]);
  await using _vip = vip;
  const tmux = new TmuxSession(dir.path);
  try {
    await tmux.start(command);
    let screen = await tmux.waitForPane(
      "the VIP and both backends receiving",
      (s) => s.includes(key) && /b1 \d+ \d+%/.test(s) && /b2 \d+ \d+%/.test(s),
    );
    assert.match(screen, /^maglev tester · 1 VIP · every 20ms/m);
    assert.match(screen, new RegExp(`${keyRe} +web +\\d+ +\\d+ +HTTP 200`));
    assert.match(screen, /Anomalies \(newest first\)/);
    // b2 dies: the view shows it drained while b1 takes every answer.
    await vip.get("b2").kill();
    await tmux.waitForPane(
      "b2 drained and b1 at 100%",
      (s) => /b2 \d+ drained \d+/.test(s) && /b1 \d+ 100%/.test(s),
    );
    // b2 comes back and receives again.
    await vip.add("b2");
    await tmux.waitForPane("b2 receiving again", (s) => /b2 \d+ \d+%/.test(s));
    // q quits; the normal screen is back, with the summary on it.
    await tmux.keys("q");
    screen = await tmux.waitForPane(
      "the tester to exit",
      (s) => s.includes("tester exited"),
    );
    assert.match(screen, /tester exited 0/);
    assert.doesNotMatch(screen, /Anomalies/, "the live view is gone");
    assert.match(
      screen,
      new RegExp(
        `${keyRe} \\(web\\): \\d+ probes, \\d+ failed; X-Backend: b1 \\d+, b2 \\d+`,
      ),
    );
  } finally {
    await tmux.kill();
  }
});

for (const how of ["Ctrl-C", "SIGTERM"] as const) {
  Deno.test(`tester tui: ${how} stops it cleanly and restores the terminal`, async () => {
    requireTools(["tmux"]);
    await using dir = await tempDir("maglev-tester-tui-");
    const { vip, key, command } = await setUp(dir.path, ["b1"]);
    await using _vip = vip;
    const tmux = new TmuxSession(dir.path);
    try {
      await tmux.start(command);
      await tmux.waitForPane(
        "the view",
        (s) => s.includes(key) && /b1 \d+ 100%/.test(s),
      );
      if (how === "Ctrl-C") await tmux.keys("C-c");
      else Deno.kill(await tmux.childPid(), "SIGTERM");
      const screen = await tmux.waitForPane(
        "the tester to exit",
        (s) => s.includes("tester exited"),
      );
      assert.match(screen, /tester exited 0/);
      assert.doesNotMatch(screen, /Anomalies/, "the live view is gone");
      assert.match(screen, /\(web\): \d+ probes, 0 failed; X-Backend: b1 \d+/);
    } finally {
      await tmux.kill();
    }
  });
}
