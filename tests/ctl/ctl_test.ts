/**
 * `maglev ctl` one-shot commands as a real process against a real daemon:
 * outputs, exit statuses, one-line errors, JSON, colour, MAGLEV_SERVER, and
 * `watch events` ending by count or because the daemon went away.
 */
import assert from "node:assert/strict";
import { connectMaglev } from "../../src/api/client.ts";
import { startDaemon } from "../helpers/fixture.ts";
import { freePort, MAIN, runMaglev } from "../helpers/maglev.ts";
import { waitFor } from "../helpers/wait.ts";
import { ctl, CtlChild } from "./helpers.ts";

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[/;

async function allUp(server: string): Promise<void> {
  const { client, close } = connectMaglev(server);
  try {
    await waitFor("all backends up", async () => {
      const r = await client.listBackends({});
      return r.backends.every((b) => b.state === "up") ? true : undefined;
    }, 10_000);
  } finally {
    close();
  }
}

Deno.test("ctl: one-shot commands against a daemon", async (t) => {
  await using d = await startDaemon();
  const s = d.grpcAddr;
  await allUp(s);

  await t.step("show backends prints an aligned table, exit 0", async () => {
    const r = await ctl(s, ["show", "backends"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    const lines = r.stdout.trimEnd().split("\n");
    assert.match(
      lines[0],
      /^BACKEND +ADDRESS +STATE +HEALTH +CHECK +LAST PROBE/,
    );
    assert.equal(lines.length, 4);
    const stateCol = lines[0].indexOf("STATE");
    for (const [i, name] of ["a", "b", "c"].entries()) {
      assert.match(
        lines[i + 1],
        new RegExp(
          `^${name} +127\\.0\\.3\\.${
            i + 1
          } +up +2/2 +hc-${name} +L7OK HTTP 200`,
        ),
      );
      assert.equal(lines[i + 1].indexOf("up"), stateCol, "columns align");
    }
  });

  await t.step("unique prefixes: sh ba = show backends", async () => {
    const r = await ctl(s, ["sh", "ba"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^BACKEND /);
  });

  await t.step(
    "piped output has no ANSI codes unless --color=always",
    async () => {
      const plain = await ctl(s, ["show", "backends"], { NO_COLOR: "" });
      assert.doesNotMatch(plain.stdout, ANSI);
      const forced = await ctl(s, ["--color=always", "show", "backends"]);
      assert.ok(forced.stdout.includes("\x1b[32mup\x1b[0m"), forced.stdout);
    },
  );

  await t.step("--output json prints the API messages", async () => {
    const r = await ctl(s, ["--output", "json", "show", "backends"], {
      NO_COLOR: "",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, ANSI);
    const msg = JSON.parse(r.stdout);
    assert.deepEqual(msg.backends.map((b: { name: string }) => b.name), [
      "a",
      "b",
      "c",
    ]);
    assert.equal(msg.backends[0].state, "up");
    const fe = JSON.parse(
      (await ctl(s, ["--output", "json", "show", "frontend", "web"])).stdout,
    );
    assert.equal(fe.activePool, "primary");
    assert.equal(fe.pools[1].backends[0].effectiveWeight, 0);
    const hc = JSON.parse(
      (await ctl(s, ["--output=json", "show", "healthcheck", "hc-a"])).stdout,
    );
    assert.equal(hc.path, "/healthz");
    const v = JSON.parse(
      (await ctl(s, ["--output", "json", "show", "version"])).stdout,
    );
    assert.match(v.client.version, /^\d+\.\d+\.\d+/);
    assert.equal(v.daemon.version, v.client.version);
  });

  await t.step("show frontend shows the pools hierarchically", async () => {
    const r = await ctl(s, ["show", "frontend", "web"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^state +up$/m);
    assert.match(r.stdout, /^flush-on-down +yes$/m);
    assert.match(r.stdout, /^src-ip-sticky +no$/m);
    assert.match(
      r.stdout,
      /^pool primary \(active\)\n {2}BACKEND +STATE +WEIGHT +EFFECTIVE +FLUSH\n {2}a +up +100 +100 +no\n {2}b +up +100 +100 +no\npool backup\n/m,
    );
  });

  await t.step("show version names client and daemon", async () => {
    const r = await ctl(s, ["show", "version"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^client +maglev \d+\.\d+\.\d+ /m);
    assert.match(r.stdout, new RegExp(`^daemon +maglev .* at ${s}$`, "m"));
  });

  await t.step(
    "set backend a pause, then show backend a shows paused",
    async () => {
      const p = await ctl(s, ["set", "backend", "a", "pause"]);
      assert.equal(p.code, 0, p.stderr);
      assert.match(p.stdout, /^backend a: paused/);
      const b = await ctl(s, ["show", "backend", "a"]);
      assert.match(b.stdout, /^state +paused \(paused from up\)/m);
      assert.match(b.stdout, /^ {2}\S+ \S+ +up +paused +NONE/m, "history");
      const r = await ctl(s, ["set", "backend", "a", "resume"]);
      assert.equal(r.code, 0, r.stderr);
    },
  );

  await t.step("set frontend weight; the override is marked", async () => {
    const r = await ctl(s, [
      "set",
      "frontend",
      "web",
      "pool",
      "primary",
      "backend",
      "b",
      "weight",
      "7",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /weight 7/);
    const f = await ctl(s, ["show", "frontend", "web"]);
    assert.match(f.stdout, /^ {2}b +up +7\* +7 +no$/m);
  });

  await t.step("a bad weight is one line, exit 2, and no call", async () => {
    const r = await ctl(s, [
      "set",
      "frontend",
      "web",
      "pool",
      "primary",
      "backend",
      "a",
      "weight",
      "101",
    ]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, "error: weight must be 0..100\n");
  });

  await t.step("an unknown name is the daemon's one line, exit 1", async () => {
    const r = await ctl(s, ["show", "backend", "zz"]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, 'error: no backend "zz" (see: show backends)\n');
    const p = await ctl(s, [
      "set",
      "frontend",
      "web",
      "pool",
      "nope",
      "backend",
      "a",
      "weight",
      "1",
    ]);
    assert.equal(p.code, 1);
    assert.match(p.stderr, /^error: .*no pool "nope".*\n$/);
  });

  await t.step("an unknown word is a targeted error, exit 2", async () => {
    const r = await ctl(s, ["shw", "backends"]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'error: unknown word "shw" at position 1; expected one of: show, set, sync, adopt, watch, config, help, quit, exit\n',
    );
  });

  await t.step(
    "VPP commands show the daemon's UNAVAILABLE message",
    async () => {
      for (
        const args of [
          ["show", "vpp", "info"],
          ["show", "vpp", "lb", "state"],
          ["sync", "vpp", "lb", "state", "--dry-run"],
        ]
      ) {
        const r = await ctl(s, args);
        assert.equal(r.code, 1, args.join(" "));
        assert.equal(
          r.stderr,
          "error: VPP integration is off (daemon started with --vpp=false)\n",
        );
      }
    },
  );

  await t.step("config check and reload", async () => {
    const c = await ctl(s, ["config", "check"]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout, "config OK\n");
    const r = await ctl(s, ["config", "reload"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}backends unchanged +3$/m);
  });

  await t.step(
    "MAGLEV_SERVER is used without --server; the flag wins",
    async () => {
      const env = await runCtlEnv(["show", "frontends"], { MAGLEV_SERVER: s });
      assert.equal(env.code, 0, env.stderr);
      assert.match(env.stdout, /^web +192\.0\.2\.1\/32 +tcp +80 +up +primary/m);
      const closed = `127.0.0.1:${freePort()}`;
      const flag = await ctl(s, ["show", "frontends"], {
        MAGLEV_SERVER: closed,
      });
      assert.equal(flag.code, 0, flag.stderr);
      const go = await runCtlEnv(["-server", s, "show", "frontends"], {
        MAGLEV_SERVER: closed,
      });
      assert.equal(go.code, 0, go.stderr);
    },
  );

  await t.step(
    "watch events off a terminal prints compact JSON lines, as maglevc did",
    async () => {
      const r = await ctl(s, ["watch", "events", "num", "2"]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trimEnd().split("\n");
      assert.equal(lines.length, 2);
      const events = lines.map((l) =>
        JSON.parse(l) as {
          backend?: {
            backend: string;
            transition: { from: string; to: string };
          };
        }
      );
      assert.deepEqual(events.map((e) => e.backend?.backend), ["a", "b"]);
      const t0 = events[0].backend!.transition;
      assert.equal(t0.from, t0.to, "the snapshot is from == to");
      assert.doesNotMatch(lines[0], /\n|": /, "one compact line");
    },
  );

  await t.step(
    "watch events --output text prints human lines off a terminal too",
    async () => {
      const r = await ctl(s, [
        "--output",
        "text",
        "watch",
        "events",
        "num",
        "2",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trimEnd().split("\n");
      assert.equal(lines.length, 2);
      assert.match(
        lines[0],
        /^\S+ \S+ {2}backend {3}a {2}(\w+) → \1 {2}.*snapshot/,
      );
      assert.match(lines[1], /backend {3}b /);
    },
  );

  await t.step("watch events shows a live transition", async () => {
    const w = new CtlChild([
      "--server",
      s,
      "--output",
      "text",
      "watch",
      "events",
      "num",
      "4",
      "backend",
    ]);
    await w.waitLines(3); // the snapshot of a, b, c
    d.backends.get("c")!.healthy = false;
    const { code, stderr } = await w.done();
    assert.equal(code, 0, stderr);
    assert.match(
      w.lines[3] ?? "",
      /backend {3}c {2}up → down {2}L7STS HTTP 503/,
    );
    d.backends.get("c")!.healthy = true;
  });

  await t.step("commands from a pipe run one per line", async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "ctl", "--server", s],
      env: { NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(
      new TextEncoder().encode(
        "show frontends\nshow bogus\nquit\nshow backends\n",
      ),
    );
    await w.close();
    const out = await child.output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.match(stdout, /^FRONTEND /);
    assert.doesNotMatch(stdout, /BACKEND/, "nothing after quit");
    assert.match(new TextDecoder().decode(out.stderr), /unknown word "bogus"/);
    assert.equal(out.code, 2, "the worst status of the script");
  });
});

/** `maglev ctl` without --server: the address comes from MAGLEV_SERVER. */
function runCtlEnv(args: string[], env: Record<string, string>) {
  return runMaglev(["ctl", ...args], env);
}

Deno.test("ctl: an unreachable server is one line naming the address", async () => {
  const addr = `127.0.0.1:${freePort()}`;
  for (
    const args of [["show", "backends"], ["watch", "events"], [
      "set",
      "backend",
      "a",
      "pause",
    ]]
  ) {
    const r = await ctl(addr, args);
    assert.equal(r.code, 1, args.join(" "));
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      `error: cannot reach maglev daemon at ${addr} (connection refused): is it running? check --server / MAGLEV_SERVER\n`,
    );
  }
  const env = await runCtlEnv(["show", "backends"], { MAGLEV_SERVER: addr });
  assert.match(
    env.stderr,
    new RegExp(`^error: cannot reach maglev daemon at ${addr} `),
  );
});

Deno.test("ctl: a daemon stopping mid-watch ends the watch with one line, exit 1", async () => {
  const d = await startDaemon();
  try {
    const w = new CtlChild(["--server", d.grpcAddr, "watch", "events"]);
    await w.waitLines(4);
    await d.process.stop("SIGTERM");
    const { code, stderr } = await w.done();
    assert.equal(code, 1);
    assert.equal(
      stderr,
      `error: maglev daemon at ${d.grpcAddr} ended the event stream (stopping or restarting?)\n`,
    );
  } finally {
    await d.close();
  }
});

Deno.test("ctl: a daemon killed mid-watch ends the watch with one line, exit 1", async () => {
  const d = await startDaemon();
  try {
    const w = new CtlChild(["--server", d.grpcAddr, "watch", "events"]);
    await w.waitLines(4);
    await d.process.stop("SIGKILL");
    const { code, stderr } = await w.done();
    assert.equal(code, 1);
    assert.equal(stderr.split("\n").filter(Boolean).length, 1, stderr);
    assert.equal(
      stderr,
      `error: lost the event stream from maglev daemon at ${d.grpcAddr} (connection closed)\n`,
    );
  } finally {
    await d.close();
  }
});

Deno.test("ctl: `deno task -q maglev ctl --output json` prints only JSON on stdout", async () => {
  await using d = await startDaemon({ backends: ["a"] });
  // Through the task, as an operator's script would: the task's own steps
  // (the dashboard build check) must keep stdout for the command.
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "task",
      "-q",
      "maglev",
      "ctl",
      "--server",
      d.grpcAddr,
      "--output",
      "json",
      "show",
      "backends",
    ],
    cwd: new URL("../../", import.meta.url).pathname,
    stdin: "null",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const doc = JSON.parse(stdout) as { backends?: { name: string }[] };
  assert.deepEqual(doc.backends?.map((b) => b.name), ["a"]);
});
