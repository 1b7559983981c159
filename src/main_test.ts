import assert from "node:assert/strict";
import { NETNS_WORKER_PREFIX, resolveCommand } from "./main.ts";
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
