import assert from "node:assert/strict";
import {
  argv0FromCmdline,
  NETNS_WORKER_PREFIX,
  programName,
  resolveCommand,
} from "./main.ts";
import { NETNS_WORKER_PREFIX as PROBE_PREFIX } from "./probe/netns_worker.ts";

Deno.test("main: worker prefix matches the prober's", () => {
  assert.equal(NETNS_WORKER_PREFIX, PROBE_PREFIX);
});

Deno.test("main: dispatch on argv[0] for the original tools' names, else the first word", () => {
  assert.deepEqual(resolveCommand("/usr/sbin/maglevd", ["--check"]), {
    command: "daemon",
    rest: ["--check"],
  });
  assert.equal(resolveCommand("maglevc", []).command, "ctl");
  assert.equal(resolveCommand("/x/maglevd-frontend", []).command, "web");
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
