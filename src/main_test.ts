import assert from "node:assert/strict";
import {
  argv0FromCmdline,
  CONFIG_WORKER_PREFIX,
  NETNS_WORKER_PREFIX,
  programName,
  resolveCommand,
} from "./main.ts";
import { NETNS_WORKER_PREFIX as PROBE_PREFIX } from "./probe/netns_worker.ts";
import {
  CONFIG_WORKER_PREFIX as LOADER_PREFIX,
  loadConfigInWorker,
} from "./config/load_worker.ts";

Deno.test("main: worker prefixes match the prober's and the loader's", () => {
  assert.equal(NETNS_WORKER_PREFIX, PROBE_PREFIX);
  assert.equal(CONFIG_WORKER_PREFIX, LOADER_PREFIX);
});

Deno.test("main: a config loaded on a worker started from main.ts is the same config", async () => {
  const dir = await Deno.makeTempDir({ prefix: "maglev-main-test-" });
  try {
    const path = `${dir}/maglev.yaml`;
    await Deno.writeTextFile(
      path,
      "maglev:\n  healthchecks:\n    hc: { type: tcp, port: 80 }\n  backends:\n    b: { address: 10.0.0.1, healthcheck: hc }\n",
    );
    const entry = new URL("./main.ts", import.meta.url);
    const r = await loadConfigInWorker(entry, path, { vppEnabled: false });
    assert.equal(r.ok, true, JSON.stringify(r));
    if (r.ok) assert.equal(r.config.backends.get("b")?.address, "10.0.0.1");
    await Deno.writeTextFile(path, "maglev:\n  nope: 1\n");
    const bad = await loadConfigInWorker(entry, path, { vppEnabled: false });
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.match(bad.errors[0].message, /nope/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main: dispatch on argv[0] for the original tools' names, else the first word", () => {
  assert.deepEqual(resolveCommand("/usr/sbin/maglevd", ["--check"]), {
    command: "daemon",
    rest: ["--check"],
  });
  assert.equal(resolveCommand("maglevc", []).command, "ctl");
  assert.equal(resolveCommand("/x/maglevd-frontend", []).command, "web");
  assert.deepEqual(resolveCommand("/usr/bin/maglevt", ["--duration", "1s"]), {
    command: "tester",
    rest: ["--duration", "1s"],
  });
  assert.deepEqual(resolveCommand("/usr/bin/deno", ["ctl", "show"]), {
    command: "ctl",
    rest: ["show"],
  });
});

Deno.test("main: argv[0] is the first field of /proc/self/cmdline", () => {
  const enc = new TextEncoder();
  assert.equal(
    argv0FromCmdline(enc.encode("/usr/sbin/maglevd\0--check\0")),
    "/usr/sbin/maglevd",
  );
  assert.equal(argv0FromCmdline(enc.encode("maglevc")), "maglevc");
  assert.equal(argv0FromCmdline(enc.encode("")), undefined);
  assert.equal(argv0FromCmdline(enc.encode("\0x\0")), undefined);
});

Deno.test("main: program name from the launcher, else argv[0], else the executable", () => {
  const cmdline = () => new TextEncoder().encode("maglevd\0-config\0x\0");
  const noProc = (): Uint8Array => {
    throw new Deno.errors.NotFound("/proc/self/cmdline");
  };
  assert.equal(programName("maglevc", cmdline), "maglevc");
  assert.equal(programName(undefined, cmdline), "maglevd");
  assert.equal(programName("", cmdline), "maglevd");
  assert.equal(programName(undefined, noProc), Deno.execPath());
  // This very process: `deno test` has argv[0] "deno" (or its path), which
  // names no command, so the first word still decides.
  const self = programName(undefined);
  assert.equal(resolveCommand(self, ["ctl"]).command, "ctl");
});
