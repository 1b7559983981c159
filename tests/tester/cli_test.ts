/**
 * `maglev tester` as scripts see it: help, exit statuses for usage and
 * config mistakes, and the `maglevt` name.
 */
import assert from "node:assert/strict";
import { runMaglev } from "../helpers/maglev.ts";
import { tempDir } from "../helpers/tmp.ts";
import { TESTER_FLAGS } from "../../src/tester/flags.ts";
import { testConfig } from "./helpers.ts";

Deno.test("tester cli: --help lists every flag and exits 0, also as maglevt", async () => {
  for (
    const [args, env] of [
      [["tester", "--help"], {}],
      [["--help"], { MAGLEV_ARGV0: "/usr/sbin/maglevt" }],
    ] as const
  ) {
    const r = await runMaglev([...args], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Usage: maglev tester/);
    for (const f of TESTER_FLAGS) {
      assert.ok(r.stdout.includes(`--${f.name}`), `--${f.name}`);
    }
  }
  const top = await runMaglev(["--help"]);
  assert.match(top.stdout, /^ {2}tester +probe the VIPs/m);
});

Deno.test("tester cli: usage errors exit 2 with one line", async () => {
  for (
    const [args, re] of [
      [["--nope"], /unknown flag --nope/],
      [["--interval", "soon"], /--interval: /],
      [["--filter", "(["], /--filter: /],
      [["extra"], /unexpected argument "extra"/],
    ] as const
  ) {
    const r = await runMaglev(["tester", ...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.match(r.stderr, /see maglev tester --help/);
    assert.equal(r.stdout, "");
  }
});

Deno.test("tester cli: an unreadable or invalid config exits 1 and says where", async () => {
  await using dir = await tempDir("maglev-tester-cli-");
  const missing = await runMaglev([
    "tester",
    "--config",
    `${dir.path}/none.yaml`,
  ]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /none\.yaml.*does not exist/);
  const bad = `${dir.path}/bad.yaml`;
  await Deno.writeTextFile(bad, "maglev:\n  frontends:\n    x: { port: 80 }\n");
  const good = `${dir.path}/good.yaml`;
  await Deno.writeTextFile(
    good,
    testConfig([{ name: "web", address: "127.0.0.1", port: 80 }]),
  );
  // One bad file among good ones: nothing is probed.
  const r = await runMaglev(["tester", "--config", good, "--config", bad]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad\.yaml:\d+:\d+/);
  assert.equal(r.stdout, "");
});

Deno.test("tester cli: nothing to probe exits 1 and says why", async () => {
  await using dir = await tempDir("maglev-tester-cli-");
  const path = `${dir.path}/maglev.yaml`;
  await Deno.writeTextFile(
    path,
    testConfig([
      { name: "dns", address: "127.0.0.1", port: 53, protocol: "udp" },
      { name: "web", address: "127.0.0.1", port: 80 },
    ]),
  );
  const udp = await runMaglev(["tester", "--config", path, "--filter", "dns"]);
  assert.equal(udp.code, 1);
  assert.match(udp.stderr, /skipping frontend dns .*UDP/);
  assert.match(
    udp.stderr,
    /nothing to probe: no frontend matching --filter dns/,
  );
  const none = await runMaglev(["tester", "--config", path, "--filter", "^x"]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /nothing to probe/);
});
