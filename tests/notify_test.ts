/**
 * systemd's notify protocol as systemd would see it: a real daemon process
 * with NOTIFY_SOCKET pointing at a fake notify socket, checking readiness
 * order, watchdog pings, the notify-reload handshake on SIGHUP and
 * STOPPING=1 on SIGTERM. A stalled scheduler is covered by the unit tests
 * of src/daemon/notify.ts, where the clock can be driven.
 */
import assert from "node:assert/strict";
import { connectMaglev } from "../src/api/client.ts";
import {
  formatNotify,
  monotonicUsec,
  notifySocketAddress,
  unixDatagramTransport,
} from "../src/daemon/notify.ts";
import { freePort, startDaemonProcess } from "./helpers/maglev.ts";
import { NotifyListener } from "./helpers/notify_listener.ts";

function config(port: number): string {
  return `maglev:
  healthchecks:
    web:
      type: http
      port: ${port}
      interval: 100ms
      timeout: 80ms
      # Only widens the watchdog's stall threshold (to 2 × (2s + 80ms)), so a
      # loaded CI machine cannot make a healthy daemon look stalled; the
      # backend stays up, so probes still run every 100 ms.
      down-interval: 2s
      rise: 1
      fall: 1
      params: { path: /healthz }
  backends:
    one: { address: 127.0.0.1, healthcheck: web }
  frontends:
    www:
      address: 192.0.2.1
      port: 80
      pools:
        - name: primary
          backends:
            one: {}
`;
}

Deno.test("daemon under NOTIFY_SOCKET: READY after listeners, watchdog pings, RELOADING/READY on SIGHUP, STOPPING on SIGTERM", async () => {
  const backend = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("OK"),
  );
  await using notify = await NotifyListener.start();
  const dir = await Deno.makeTempDir({ prefix: "maglev-notify-test-" });
  const path = `${dir}/maglev.yaml`;
  await Deno.writeTextFile(path, config(backend.addr.port));
  const grpcAddr = `127.0.0.1:${freePort()}`;
  const p = startDaemonProcess(path, {
    grpcAddr,
    env: { NOTIFY_SOCKET: notify.address, WATCHDOG_USEC: "400000" },
  });
  try {
    const readyAt = await notify.waitFor(
      (m) => m.fields.get("READY") === "1",
      "READY=1",
    );
    // Listeners are bound before READY=1 goes out: the API answers at once,
    // no retries.
    // The client is closed before the daemon stops: a GOAWAY arriving on a
    // still-open session can trip an nghttp2 assertion in the test runner.
    const { client, close } = connectMaglev(grpcAddr);
    try {
      const version = await client.getVersion({});
      assert.match(version.version, /^\d+\.\d+\.\d+/);
    } finally {
      close();
    }
    assert.equal(readyAt, 0, "READY=1 is the first message");
    const ready = notify.messages[0];
    assert.equal(ready.fields.get("MAINPID"), String(p.child.pid));
    assert.equal(ready.pid, p.child.pid, "sent by the main process");
    assert.match(
      ready.fields.get("STATUS") ?? "",
      /^probing 1 backend, \d up$/,
    );
    assert.ok(p.records.some((r) => r.msg === "config-loaded"));

    // Pings every WATCHDOG_USEC/2 = 200 ms while probes keep finishing.
    let i = readyAt;
    for (let n = 0; n < 4; n++) {
      i = await notify.waitFor(
        (m) => m.fields.get("WATCHDOG") === "1",
        `watchdog ping #${n + 1}`,
        i + 1,
        3000,
      );
    }
    assert.ok(!p.records.some((r) => r.msg === "watchdog-stalled"));
    // STATUS= follows backend transitions (coalesced within a second).
    await notify.waitFor(
      (m) => m.fields.get("STATUS") === "probing 1 backend, 1 up",
      "STATUS with the backend up",
    );

    const before = monotonicUsec();
    const hupFrom = notify.messages.length;
    p.child.kill("SIGHUP");
    const reloading = await notify.waitFor(
      (m) => m.fields.get("RELOADING") === "1",
      "RELOADING=1",
      hupFrom,
    );
    const usec = BigInt(
      notify.messages[reloading].fields.get("MONOTONIC_USEC") ?? "-1",
    );
    assert.ok(
      usec >= before && usec <= monotonicUsec(),
      `MONOTONIC_USEC ${usec} is CLOCK_MONOTONIC at the reload`,
    );
    const readyAgain = await notify.waitFor(
      (m) => m.fields.get("READY") === "1",
      "READY=1 after the reload",
      reloading + 1,
    );
    assert.match(
      notify.messages[readyAgain].fields.get("STATUS") ?? "",
      /^probing 1 backend/,
    );
    await p.waitForRecord((r) => r.msg === "config-reloaded", "reload");
    // Pings go on after the reload.
    await notify.waitFor(
      (m) => m.fields.get("WATCHDOG") === "1",
      "watchdog ping after the reload",
      readyAgain + 1,
      3000,
    );

    // A refused reload still ends with READY=1, and STATUS= says why.
    await Deno.writeTextFile(path, "maglev:\n  nonsense: 1\n");
    const badFrom = notify.messages.length;
    p.child.kill("SIGHUP");
    const reloadingBad = await notify.waitFor(
      (m) => m.fields.get("RELOADING") === "1",
      "RELOADING=1 for the bad file",
      badFrom,
    );
    const readyBad = await notify.waitFor(
      (m) => m.fields.get("READY") === "1",
      "READY=1 after the refused reload",
      reloadingBad + 1,
    );
    assert.match(
      notify.messages[readyBad].fields.get("STATUS") ?? "",
      /^probing 1 backend, \d up; last reload refused: parse errors in /,
    );

    const stopFrom = notify.messages.length;
    const { status } = await p.stop("SIGTERM");
    assert.equal(status.code, 0);
    assert.ok(!p.records.some((r) => r.msg === "watchdog-stalled"));
    assert.ok(!p.records.some((r) => r.msg === "systemd-notify-failed"));
    const stopping = await notify.waitFor(
      (m) => m.fields.get("STOPPING") === "1",
      "STOPPING=1",
      stopFrom,
    );
    // The daemon is gone; a marker sent now arrives after anything it sent,
    // so the listener has relayed everything once the marker is in.
    const addr = notifySocketAddress(notify.address);
    assert.ok(typeof addr !== "string", addr as string);
    const marker = unixDatagramTransport(addr);
    try {
      assert.equal(
        marker.send(new TextEncoder().encode(formatNotify({ MARKER: 1 }))),
        undefined,
      );
    } finally {
      marker.close();
    }
    const end = await notify.waitFor(
      (m) => m.fields.get("MARKER") === "1",
      "the test's marker",
      stopping + 1,
    );
    assert.deepEqual(
      notify.messages.slice(stopping + 1, end).map((m) => m.data),
      [],
      "nothing after STOPPING=1 (the watchdog timer is gone)",
    );
  } finally {
    await p.stop("SIGKILL");
    await backend.shutdown();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("daemon with zero backends: the watchdog pings as long as the event loop runs", async () => {
  await using notify = await NotifyListener.start();
  const dir = await Deno.makeTempDir({ prefix: "maglev-notify-test-" });
  const path = `${dir}/maglev.yaml`;
  await Deno.writeTextFile(path, "maglev:\n  backends: {}\n");
  const p = startDaemonProcess(path, {
    env: { NOTIFY_SOCKET: notify.address, WATCHDOG_USEC: "200000" },
  });
  try {
    const ready = await notify.waitFor(
      (m) => m.fields.get("READY") === "1",
      "READY=1",
    );
    assert.equal(
      notify.messages[ready].fields.get("STATUS"),
      "no backends configured",
    );
    // Nothing to probe: alive as long as the event loop runs.
    let i = ready;
    for (let n = 0; n < 3; n++) {
      i = await notify.waitFor(
        (m) => m.fields.get("WATCHDOG") === "1",
        `watchdog ping #${n + 1}`,
        i + 1,
        3000,
      );
    }
    const { status } = await p.stop("SIGTERM");
    assert.equal(status.code, 0);
  } finally {
    await p.stop("SIGKILL");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
