import assert from "node:assert/strict";
import { colorFor, type CtlEnvironment, ctlHelp, runCtl } from "./mod.ts";

function env(vars: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const e: CtlEnvironment = {
    env: vars,
    stdoutIsTerminal: false,
    stderrIsTerminal: false,
    output: { out: (t) => out.push(t), err: (t) => err.push(t) },
  };
  return { e, out, err };
}

Deno.test("runCtl: usage errors are one line and status 2, before any call", async () => {
  const cases: [string[], RegExp][] = [
    [
      ["--output", "yaml", "show", "backends"],
      /--output must be one of auto, text, json/,
    ],
    [["--server", "bogus", "show", "backends"], /"bogus" is not an address/],
    [
      ["--color=loud", "show", "backends"],
      /--color must be one of auto, always, never/,
    ],
    [["--nope", "show"], /unknown flag --nope/],
    [
      ["--server", "127.0.0.1:1", "shw"],
      /^error: unknown word "shw" at position 1; expected one of: show, set, sync, adopt, watch, config, help, quit, exit$/,
    ],
    [[
      "--server",
      "127.0.0.1:1",
      "set",
      "frontend",
      "web",
      "pool",
      "p",
      "backend",
      "a",
      "weight",
      "101",
    ], /^error: weight must be 0\.\.100$/],
    [["--server", "127.0.0.1:1", "show"], /^error: incomplete command "show"/],
  ];
  for (const [args, re] of cases) {
    const { e, out, err } = env();
    assert.equal(await runCtl(args, e), 2, args.join(" "));
    assert.equal(err.length, 1, args.join(" "));
    assert.match(err[0], re);
    assert.deepEqual(out, []);
  }
});

Deno.test("runCtl: --help lists flags and the command tree", async () => {
  const { e, out } = env();
  assert.equal(await runCtl(["--help"], e), 0);
  assert.equal(out[0], ctlHelp());
  assert.match(out[0], /--server HOST:PORT .*env MAGLEV_SERVER/);
  assert.match(
    out[0],
    /watch events \[num <n>\] \[log \[level <level>\]\] \[backend\] \[frontend\]/,
  );
});

Deno.test("runCtl: help and a quoted ? need no daemon", async () => {
  const { e, out } = env();
  assert.equal(await runCtl(["--server", "127.0.0.1:1", "help"], e), 0);
  assert.match(out[0], /set backend <name> pause\|resume\|enable\|disable/);
  const q = env();
  assert.equal(
    await runCtl(["--server", "127.0.0.1:1", "config", "?"], q.e),
    0,
  );
  assert.match(q.out[0], /^ {2}check +validate/m);
  assert.match(q.out[0], /^ {2}reload +re-read/m);
});

Deno.test("colorFor: auto follows the terminal and NO_COLOR; always/never win", () => {
  assert.equal(colorFor("auto", true, {}), true);
  assert.equal(colorFor("auto", false, {}), false);
  assert.equal(colorFor("auto", true, { NO_COLOR: "1" }), false);
  assert.equal(colorFor("auto", true, { NO_COLOR: "" }), true);
  assert.equal(colorFor("always", false, { NO_COLOR: "1" }), true);
  assert.equal(colorFor("never", true, {}), false);
});

Deno.test("runCtl: Go-style -color=false and a bare --color are accepted", async () => {
  for (
    const args of [["-color=false", "help"], ["--color", "help"], [
      "--color",
      "never",
      "help",
    ]]
  ) {
    const { e } = env();
    assert.equal(
      await runCtl(["--server", "127.0.0.1:1", ...args], e),
      0,
      args.join(" "),
    );
  }
  const { e, out } = env();
  await runCtl(["--server", "127.0.0.1:1", "--color", "help"], e);
  assert.ok(out[0].includes("\x1b["), "bare --color forces colour");
});

Deno.test("runCtl: quoted words are split like typed ones", async () => {
  const { e, out } = env();
  assert.equal(
    await runCtl(["--server", "127.0.0.1:1", "set backend ?"], e),
    0,
  );
  assert.deepEqual(out, ["  <name>  backend name"]);
  const u = env();
  assert.equal(await runCtl(["--server", "127.0.0.1:1", "sh bogus"], u.e), 2);
  assert.match(u.err[0], /unknown word "bogus" at position 2/);
});
