/**
 * The checker with the real prober against real loopback listeners: one
 * backend hangs, one answers; the hanging one must never delay the other.
 */
import assert from "node:assert/strict";
import { Logger } from "../src/cli/log.ts";
import { parseConfigText } from "../src/config/load.ts";
import { Checker } from "../src/daemon/checker.ts";
import { EventBus } from "../src/daemon/events.ts";
import { createProber } from "../src/probe/mod.ts";
import { httpResponse, reply, serve, silent } from "./helpers/listeners.ts";
import { waitFor } from "./helpers/wait.ts";

Deno.test("checker: a hanging backend never delays another backend's probes", async () => {
  await using healthy = serve({
    hostname: "127.0.0.1",
    handler: reply(httpResponse(200, "OK")),
  });
  await using hanging = serve({ hostname: "127.0.0.1", handler: silent() });
  const text = `maglev:
  healthchecks:
    fast:
      type: http
      port: ${healthy.port}
      interval: 40ms
      timeout: 30ms
      rise: 1
      fall: 1
    slow:
      type: http
      port: ${hanging.port}
      interval: 1s
      timeout: 600ms
      rise: 1
      fall: 1
  backends:
    ok: { address: 127.0.0.1, healthcheck: fast }
    stuck: { address: 127.0.0.1, healthcheck: slow }
`;
  const loaded = parseConfigText(text, "t.yaml", { vppEnabled: false });
  assert.ok(loaded.ok);
  const prober = createProber();
  const okProbes: number[] = [];
  const stuckDone: number[] = [];
  const checker = new Checker({
    config: loaded.config,
    prober,
    bus: new EventBus(),
    log: new Logger({ level: "error", format: "json", writeLine: () => {} }),
    observer: {
      onProbe(backend, _check, result) {
        const t = performance.now();
        if (backend === "ok") okProbes.push(t);
        else {
          assert.equal(result.code, "L7TOUT");
          stuckDone.push(t);
        }
      },
      onTransition() {},
    },
  });
  checker.start();
  try {
    // Wait until the hanging backend has timed out twice (≥ 1.2 s of hanging).
    await waitFor(
      "two timeouts of the hanging backend",
      () => stuckDone.length >= 2 ? true : undefined,
      10_000,
    );
    const from = stuckDone[0] - 600; // when its first probe started, roughly
    const during = okProbes.filter((t) => t >= from && t <= stuckDone[1]);
    // At a 40 ms interval the healthy backend gets ~30 probes in that window;
    // if it waited behind the hanging one it would get at most 2.
    assert.ok(
      during.length >= 10,
      `healthy backend got only ${during.length} probes while the other hung`,
    );
    assert.equal(checker.backend("stuck")?.health.state, "down");
    assert.equal(checker.backend("ok")?.health.state, "up");
  } finally {
    checker.stop();
    prober.close();
  }
});
