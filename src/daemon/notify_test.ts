import assert from "node:assert/strict";
import { Logger, type LogRecord } from "../cli/log.ts";
import {
  type BackendView,
  formatNotify,
  monotonicUsec,
  Notifier,
  notifySocketAddress,
  type NotifyTransport,
  progressThresholdMs,
  type SchedulerProgress,
  schedulerProgress,
  statusSummary,
  unixDatagramTransport,
  Watchdog,
  watchdogShouldPing,
  watchdogTimeoutMs,
} from "./notify.ts";
import {
  NotifyListener,
  parseNotify,
} from "../../tests/helpers/notify_listener.ts";
import { waitFor } from "../../tests/helpers/wait.ts";

function capture(): { log: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const log = new Logger({
    level: "error",
    format: "json",
    writeLine: () => {},
  });
  log.addSink({ level: "debug", write: (r) => records.push(r) });
  return { log, records };
}

/** A transport that records datagrams, or fails every send with `fail`. */
function fakeTransport(fail?: string) {
  const sent: Map<string, string>[] = [];
  const t: NotifyTransport & { closed: boolean } = {
    closed: false,
    send(d) {
      if (this.closed) return "closed";
      if (fail) return fail;
      sent.push(parseNotify(new TextDecoder().decode(d)));
      return undefined;
    },
    close() {
      this.closed = true;
    },
  };
  return { t, sent };
}

const dec = new TextDecoder();

Deno.test("notifySocketAddress: filesystem path, NUL-terminated", () => {
  const a = notifySocketAddress("/run/systemd/notify");
  assert.ok(a instanceof Uint8Array);
  assert.equal(new DataView(a.buffer).getUint16(0, true), 1, "AF_UNIX");
  assert.equal(a.length, 2 + "/run/systemd/notify".length + 1);
  assert.equal(dec.decode(a.subarray(2, a.length - 1)), "/run/systemd/notify");
  assert.equal(a[a.length - 1], 0);
});

Deno.test("notifySocketAddress: @name is abstract: leading NUL, exact length", () => {
  const a = notifySocketAddress("@maglev/notify");
  assert.ok(a instanceof Uint8Array);
  assert.deepEqual([...a.subarray(0, 3)], [1, 0, 0]);
  assert.equal(dec.decode(a.subarray(3)), "maglev/notify");
  assert.equal(a.length, 2 + 1 + "maglev/notify".length, "no trailing NUL");
});

Deno.test("notifySocketAddress: refuses relative, empty abstract, too long", () => {
  assert.match(notifySocketAddress("notify") as string, /unsupported/);
  assert.match(notifySocketAddress("@") as string, /unsupported/);
  assert.match(notifySocketAddress("vsock:2:1234") as string, /unsupported/);
  assert.match(
    notifySocketAddress("/" + "x".repeat(107)) as string,
    /longer than 107 bytes/,
  );
  assert.ok(notifySocketAddress("/" + "x".repeat(106)) instanceof Uint8Array);
  assert.ok(notifySocketAddress("@" + "x".repeat(107)) instanceof Uint8Array);
  assert.match(notifySocketAddress("@" + "x".repeat(108)) as string, /longer/);
});

Deno.test("formatNotify: KEY=value lines in order; newlines cannot forge fields", () => {
  assert.equal(
    formatNotify({ READY: 1, STATUS: "probing 2 backends, 1 up", MAINPID: 42 }),
    "READY=1\nSTATUS=probing 2 backends, 1 up\nMAINPID=42\n",
  );
  assert.equal(
    formatNotify({ RELOADING: 1, MONOTONIC_USEC: 12345678901234n }),
    "RELOADING=1\nMONOTONIC_USEC=12345678901234\n",
  );
  assert.equal(
    formatNotify({ STATUS: "bad\nREADY=1\r\nx" }),
    "STATUS=bad READY=1 x\n",
  );
});

Deno.test("watchdogTimeoutMs: WATCHDOG_USEC for us only, validated", () => {
  assert.equal(watchdogTimeoutMs({}, 7), undefined);
  assert.equal(watchdogTimeoutMs({ WATCHDOG_USEC: "30000000" }, 7), 30_000);
  assert.equal(
    watchdogTimeoutMs({ WATCHDOG_USEC: "400000", WATCHDOG_PID: "7" }, 7),
    400,
  );
  assert.equal(
    watchdogTimeoutMs({ WATCHDOG_USEC: "400000", WATCHDOG_PID: "8" }, 7),
    undefined,
    "another process is watched",
  );
  assert.match(
    watchdogTimeoutMs({ WATCHDOG_USEC: "30s" }, 7) as string,
    /not a positive number/,
  );
  assert.match(watchdogTimeoutMs({ WATCHDOG_USEC: "0" }, 7) as string, /not/);
});

Deno.test("watchdogShouldPing: fresh progress pings, stale skips, no backends pings", () => {
  assert.equal(watchdogShouldPing(3, 1000, 1500, 1000), true, "fresh");
  assert.equal(watchdogShouldPing(3, 1000, 2000, 1000), true, "at the edge");
  assert.equal(watchdogShouldPing(3, 1000, 2001, 1000), false, "stale");
  assert.equal(
    watchdogShouldPing(0, 0, 1e9, 1000),
    true,
    "nothing to probe: alive when the event loop runs",
  );
});

Deno.test("progressThresholdMs: twice the longest cycle, at least the watchdog timeout", () => {
  assert.equal(progressThresholdMs(30_000, 2_000), 30_000);
  assert.equal(progressThresholdMs(30_000, 61_000), 122_000);
  assert.equal(progressThresholdMs(400, 180), 400);
});

function backend(
  state: string,
  probing: boolean,
  ms: Partial<BackendView["check"]> = {},
): BackendView {
  return {
    health: { state, probing } as BackendView["health"],
    check: {
      intervalMs: 2000,
      fastIntervalMs: 500,
      downIntervalMs: 10_000,
      timeoutMs: 1000,
      ...ms,
    },
  };
}

Deno.test("schedulerProgress and statusSummary read the checker's view", () => {
  const bs = [
    backend("up", true),
    backend("down", true, { downIntervalMs: 30_000 }),
    backend("paused", false, { intervalMs: 60_000, timeoutMs: 5_000 }),
  ];
  assert.deepEqual(schedulerProgress(bs, 123), {
    probing: 2,
    lastProgressMs: 123,
    // Paused backends count: resuming one must not make the watchdog stricter.
    longestCycleMs: 65_000,
  });
  assert.equal(
    statusSummary(bs),
    "probing 2 backends, 1 up, 1 paused or disabled",
  );
  assert.equal(statusSummary([backend("up", true)]), "probing 1 backend, 1 up");
  assert.equal(statusSummary([]), "no backends configured");
  // An overloaded checker says so first.
  assert.equal(
    statusSummary([backend("up", true)], 2.25),
    "overloaded: probe intervals ×2.25; probing 1 backend, 1 up",
  );
  assert.equal(
    statusSummary([backend("up", true)], 1),
    "probing 1 backend, 1 up",
  );
});

/** A watchdog on a fake clock and a scheduler the test moves by hand. */
function fakeWatchdog(timeoutMs = 1000) {
  let now = 10_000;
  const sched = { probing: 1, lastProgressMs: now, longestCycleMs: 300 };
  const { log, records } = capture();
  let pings = 0;
  const wd = new Watchdog({
    timeoutMs,
    source: (): SchedulerProgress => ({ ...sched }),
    ping: () => pings++,
    log,
    now: () => now,
  });
  return {
    wd,
    sched,
    records,
    pings: () => pings,
    advance: (ms: number) => now += ms,
  };
}

Deno.test("Watchdog: a stalled scheduler stops the pings; progress brings them back", () => {
  const f = fakeWatchdog(1000); // threshold max(1000, 2*300) = 1000
  assert.equal(f.wd.tick(), true);
  f.advance(500);
  f.sched.lastProgressMs += 500; // probes keep finishing
  assert.equal(f.wd.tick(), true);
  f.advance(1000); // 1000 ms since the last probe: still within
  assert.equal(f.wd.tick(), true);
  f.advance(1);
  assert.equal(f.wd.tick(), false, "stalled");
  f.advance(500);
  assert.equal(f.wd.tick(), false, "still stalled");
  assert.equal(f.pings(), 3);
  const stalled = f.records.filter((r) => r.msg === "watchdog-stalled");
  assert.equal(stalled.length, 1, "logged once per stall");
  assert.equal(stalled[0].level, "error");
  f.sched.lastProgressMs = f.advance(10);
  assert.equal(f.wd.tick(), true);
  assert.equal(f.pings(), 4);
  assert.ok(f.records.some((r) => r.msg === "watchdog-recovered"));
});

Deno.test("Watchdog: the threshold follows the slowest health check", () => {
  const f = fakeWatchdog(1000);
  f.sched.longestCycleMs = 5000; // threshold 10 s
  f.advance(9_999);
  assert.equal(f.wd.tick(), true);
  f.advance(2);
  assert.equal(f.wd.tick(), false);
});

Deno.test("Watchdog: nothing to probe pings, and work arriving later is not 'stalled'", () => {
  const f = fakeWatchdog(1000);
  f.sched.probing = 0;
  f.advance(60_000);
  assert.equal(f.wd.tick(), true, "idle daemon is alive");
  // A backend resumed after a long idle spell: its first probe is still due.
  f.sched.probing = 1;
  f.advance(400);
  assert.equal(f.wd.tick(), true);
  // A reload counts as progress too (a new, slower cadence starts now).
  f.advance(900);
  f.wd.reset();
  f.advance(900);
  assert.equal(f.wd.tick(), true);
  f.advance(200);
  assert.equal(f.wd.tick(), false);
});

Deno.test("Notifier: without NOTIFY_SOCKET every call is a no-op", () => {
  const { t, sent } = fakeTransport();
  const { log, records } = capture();
  const n = new Notifier({
    env: { WATCHDOG_USEC: "1000" },
    log,
    transport: t,
  });
  assert.equal(n.enabled, false);
  n.ready("x", () => ({ probing: 0, lastProgressMs: 0, longestCycleMs: 0 }));
  assert.equal(n.watchdogRunning, false);
  n.reloading();
  n.reloaded("y");
  n.statusSoon(() => "z");
  n.stopping();
  n.close();
  assert.equal(n.send({ STATUS: "q" }), false);
  assert.deepEqual(sent, []);
  assert.deepEqual(records, []);
});

Deno.test("Notifier: READY, RELOADING/READY with MONOTONIC_USEC, STOPPING, nothing after close", () => {
  const { t, sent } = fakeTransport();
  const { log } = capture();
  const n = new Notifier({
    env: { NOTIFY_SOCKET: "@fake" },
    log,
    pid: 4242,
    transport: t,
    monotonicUsec: () => 987654321n,
  });
  assert.equal(n.enabled, true);
  assert.equal(n.watchdogTimeoutMs, undefined);
  // A SIGHUP before startup finished must not announce readiness.
  n.reloading();
  n.reloaded("early");
  assert.deepEqual(sent, []);

  n.ready("probing 1 backend, 0 up");
  n.ready("again");
  n.reloading();
  n.reloaded("probing 2 backends, 0 up");
  n.stopping();
  n.reloading();
  n.reloaded("late");
  n.close();
  n.send({ STATUS: "after close" });
  assert.deepEqual(sent.map((m) => Object.fromEntries(m)), [
    { READY: "1", STATUS: "probing 1 backend, 0 up", MAINPID: "4242" },
    {
      RELOADING: "1",
      MONOTONIC_USEC: "987654321",
      STATUS: "reloading config",
    },
    { READY: "1", STATUS: "probing 2 backends, 0 up" },
    { STOPPING: "1", STATUS: "stopping" },
  ]);
  assert.equal(t.closed, true);
});

Deno.test("Notifier: send errors are logged once and never thrown", () => {
  const { t } = fakeTransport("sendto: Connection refused");
  const { log, records } = capture();
  const n = new Notifier({ env: { NOTIFY_SOCKET: "/x" }, log, transport: t });
  n.ready("a");
  n.reloading();
  n.reloaded("b");
  n.stopping();
  n.close();
  const warns = records.filter((r) => r.msg === "systemd-notify-failed");
  assert.equal(warns.length, 1);
  assert.equal(warns[0].level, "warn");
  assert.equal(warns[0].fields.error, "sendto: Connection refused");
  assert.equal(warns[0].fields.socket, "/x");
});

Deno.test("Notifier: a bad NOTIFY_SOCKET or WATCHDOG_USEC is a warning, not a crash", () => {
  let { log, records } = capture();
  let n = new Notifier({ env: { NOTIFY_SOCKET: "relative" }, log });
  assert.equal(n.enabled, false);
  n.ready("a");
  assert.match(String(records[0]?.fields.error), /unsupported NOTIFY_SOCKET/);
  ({ log, records } = capture());
  const { t, sent } = fakeTransport();
  n = new Notifier({
    env: { NOTIFY_SOCKET: "@x", WATCHDOG_USEC: "soon" },
    log,
    transport: t,
  });
  n.ready("a", () => ({ probing: 0, lastProgressMs: 0, longestCycleMs: 0 }));
  assert.equal(n.watchdogRunning, false);
  assert.equal(sent.length, 1, "READY still sent");
  assert.match(String(records[0]?.fields.error), /WATCHDOG_USEC "soon"/);
  n.close();
});

Deno.test("Notifier: watchdog pings on a timer from READY until STOPPING", async () => {
  const { t, sent } = fakeTransport();
  const { log } = capture();
  const n = new Notifier({
    env: { NOTIFY_SOCKET: "@x", WATCHDOG_USEC: "20000", WATCHDOG_PID: "77" },
    log,
    pid: 77,
    transport: t,
  });
  assert.equal(n.watchdogTimeoutMs, 20);
  n.ready("a", () => ({ probing: 0, lastProgressMs: 0, longestCycleMs: 0 }));
  assert.equal(n.watchdogRunning, true);
  assert.equal(sent[0].get("READY"), "1");
  assert.equal(sent[1].get("WATCHDOG"), "1", "first ping right after READY");
  await waitFor(
    "three more pings",
    () => sent.filter((m) => m.has("WATCHDOG")).length >= 4 ? true : undefined,
    5000,
    5,
  );
  n.stopping();
  assert.equal(n.watchdogRunning, false);
  const count = sent.length;
  assert.equal(sent[count - 1].get("STOPPING"), "1");
  n.close();
  // Deno's test sanitizer fails this test if a timer were still pending.
});

Deno.test("monotonicUsec is CLOCK_MONOTONIC in µs and moves with real time", () => {
  const p0 = performance.now();
  const a = monotonicUsec();
  while (performance.now() - p0 < 20) {
    // busy-wait: measure the clock, not the timer queue
  }
  const b = monotonicUsec();
  const p1 = performance.now();
  const elapsedUs = Number(b - a);
  assert.ok(a > 0n);
  assert.ok(
    elapsedUs >= 19_000 && elapsedUs <= (p1 - p0) * 1000 + 1000,
    `elapsed ${elapsedUs}µs`,
  );
});

Deno.test("unixDatagramTransport: reaches a real socket, path and abstract; errors are returned", async () => {
  await using fsSock = await NotifyListener.start();
  const abstractName = `@maglev-test-${Deno.pid}-${crypto.randomUUID()}`;
  await using abstract = await NotifyListener.start(abstractName);
  for (const l of [fsSock, abstract]) {
    const addr = notifySocketAddress(l.address);
    assert.ok(addr instanceof Uint8Array);
    const t = unixDatagramTransport(addr);
    const payload = formatNotify({ STATUS: `hello ${l.address}`, READY: 1 });
    assert.equal(t.send(new TextEncoder().encode(payload)), undefined);
    assert.equal(t.send(new TextEncoder().encode("WATCHDOG=1\n")), undefined);
    await l.waitFor((m) => m.fields.has("WATCHDOG"), "second datagram");
    assert.equal(l.messages[0].data, payload);
    assert.equal(l.messages[0].pid, Deno.pid, "sent by this very process");
    t.close();
    assert.match(t.send(new Uint8Array(1)) ?? "", /closed/);
  }
  const nowhere = notifySocketAddress(`${fsSock.address}.missing`);
  assert.ok(nowhere instanceof Uint8Array);
  const t = unixDatagramTransport(nowhere);
  assert.match(t.send(new Uint8Array(1)) ?? "", /^sendto: No such file/);
  t.close();
});
