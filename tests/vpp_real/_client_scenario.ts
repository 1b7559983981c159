/**
 * Child process of client_real_test.ts: one VppClient scenario against a
 * real VPP, with the assertions inside. It runs in its own process because
 * libvppapiclient allows one connection per process (test modules running
 * in parallel share one) and so that a blocked event loop or a crash fails
 * the test instead of hanging or killing the runner.
 *
 * Usage: deno run -A _client_scenario.ts SCENARIO JSON_ARGS
 * JSON_ARGS: {lib, prefix, statsSocket, cliSocket, vppctl, pid}
 * Prints progress lines and, last, `RESULT {json}`; exits 0 when every
 * check passed.
 */

import assert from "node:assert/strict";
import { createVpp } from "../../src/vpp/create.ts";
import {
  VppClient,
  type VppClientEvent,
  type VppClientOptions,
} from "../../src/vpp/client.ts";
import { openVppLibrary, vacTransport } from "../../src/vpp/ffi.ts";
import type { VacTransport } from "../../src/vpp/transport.ts";
import type { VipKey } from "../../src/vpp/types.ts";
import { waitFor } from "../helpers/wait.ts";
import { runCommand } from "../helpers/command.ts";

interface Args {
  readonly lib: string;
  readonly prefix: string;
  readonly statsSocket: string;
  readonly cliSocket: string;
  readonly vppctl: string;
  readonly pid: number;
}

const [scenario, json] = Deno.args;
const args: Args = JSON.parse(json);
const T0 = performance.now();
const since = () => Math.round(performance.now() - T0);
const note = (what: string, fields: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ t: since(), what, ...fields }));

/** A 10 ms timer's worst lateness: how long the event loop was blocked. */
class LoopWatch {
  maxLateMs = 0;
  ticks = 0;
  #last = performance.now();
  #timer = setInterval(() => {
    const now = performance.now();
    this.maxLateMs = Math.max(this.maxLateMs, now - this.#last - 10);
    this.#last = now;
    this.ticks++;
  }, 10);
  reset(): void {
    this.maxLateMs = 0;
    this.ticks = 0;
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}

async function vppctl(...cmd: string[]): Promise<string> {
  const r = await runCommand(args.vppctl, ["-s", args.cliSocket, ...cmd], {
    timeoutMs: 20_000,
  });
  if (r.code !== 0) throw new Error(`vppctl ${cmd.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

function setup(client: Partial<VppClientOptions>) {
  const logs: { level: string; msg: string; fields?: unknown }[] = [];
  const vpp = createVpp({
    libPath: args.lib,
    apiPrefix: args.prefix,
    statsSocket: args.statsSocket,
    logger: {
      debug() {},
      info: (msg, fields) => {
        logs.push({ level: "info", msg, fields });
        note(`log ${msg}`, { fields });
      },
      warn: (msg, fields) => {
        logs.push({ level: "warn", msg, fields });
        note(`log ${msg}`, { fields });
      },
      enabled: () => false,
    },
    client,
  });
  const events: VppClientEvent[] = [];
  vpp.client.on((e) => {
    events.push(e);
    note(`event ${e.type}`, { e });
  });
  return { vpp, logs, events };
}

const scenarios: Record<string, () => Promise<Record<string, unknown>>> = {
  /**
   * 1,000 VIPs × 16 ASes, then dumps of all 16,000 ASes with deadlines far
   * shorter than a dump: the client must neither fail them nor declare VPP
   * dead behind them.
   */
  async "long-dumps"() {
    // Programming 17,000 operations is not under test: default deadlines
    // (a loaded machine can leave VPP silent for 300 ms while it works).
    const setupVpp = setup({}).vpp;
    try {
      setupVpp.client.start();
      await setupVpp.client.waitConnected(20_000);
      await setupVpp.lb.setConf({
        ipv4SrcAddress: "10.255.0.1",
        ipv6SrcAddress: "2001:db8:ff::1",
        stickyBucketsPerCore: 1024,
        flowTimeoutSeconds: 40,
      });
      const inFlight: Promise<void>[] = [];
      for (let i = 0; i < 1000; i++) {
        const key: VipKey = {
          prefix: `10.${1 + (i >> 8)}.${i & 255}.1/32`,
          protocol: 6,
          port: 80,
        };
        await setupVpp.lb.addVip({
          ...key,
          encap: "gre4",
          srcIpSticky: false,
          flowTableLength: 1024,
        });
        for (let j = 0; j < 16; j++) {
          inFlight.push(
            setupVpp.lb.addAs(
              key,
              `172.${16 + (i >> 8)}.${i & 255}.${j + 1}`,
              100,
            ),
          );
          if (inFlight.length >= 64) await inFlight.shift();
        }
      }
      await Promise.all(inFlight);
      note("programmed 1000 x 16");
    } finally {
      await setupVpp.close();
    }

    // A second connection of the same process (README §1.12), with every
    // deadline shorter than a dump of 16,000 ASes (0.25–6 s measured here),
    // and longer than the silences between two messages of a dump (up to
    // 0.17 s on a loaded machine; recorded below).
    const base = vacTransport(openVppLibrary(args.lib));
    let lastRx = 0;
    let maxGapMs = 0;
    let measuring = false;
    const transport: VacTransport = {
      ...base,
      async read(timeoutS) {
        const r = await base.read(timeoutS);
        if (r.rv === 0) {
          const now = performance.now();
          if (measuring) maxGapMs = Math.max(maxGapMs, now - lastRx);
          lastRx = now;
        }
        return r;
      },
    };
    const DEADLINE_MS = 400;
    const events: VppClientEvent[] = [];
    const timeouts: unknown[] = [];
    const client = new VppClient({
      transport,
      apiPrefix: args.prefix,
      requestTimeoutMs: DEADLINE_MS,
      keepaliveIntervalMs: 50,
      keepaliveTimeoutMs: DEADLINE_MS,
      logger: {
        debug() {},
        warn: (msg, fields) => {
          note(`log ${msg}`, { fields });
          if (msg === "vpp-api-timeout") timeouts.push(fields);
        },
        enabled: () => false,
      },
    });
    client.on((e) => events.push(e));
    try {
      client.start();
      await client.waitConnected(20_000);
      const times: number[] = [];
      for (let rep = 0; rep < 3; rep++) {
        const t = performance.now();
        lastRx = t;
        measuring = true;
        // Eight at once: one dump alone now takes less than a deadline
        // (70-100 ms here); the last of eight waits for the seven before it.
        const all = await Promise.all(
          Array.from({ length: 8 }, () =>
            client.dump("lb_as_v2_dump", {
              pfx: "0.0.0.0/0",
              protocol: 0,
              port: 0,
            })),
        );
        measuring = false;
        times.push(Math.round(performance.now() - t));
        for (const a of all) assert.equal(a.length, 16_000);
      }
      note("dumps", { times, maxGapMs });
      assert.ok(
        times.some((t) => t > DEADLINE_MS),
        `eight dumps outlasted the ${DEADLINE_MS} ms deadlines (${times})`,
      );
      assert.deepEqual(
        events.map((e) => e.type),
        ["connected"],
        "never disconnected",
      );
      assert.deepEqual(timeouts, []);
      return { dumpMs: times, maxGapMs: Math.round(maxGapMs) };
    } finally {
      await client.close();
    }
  },

  /**
   * VPP stopped (SIGSTOP) while requests keep coming: the event loop never
   * blocks, the link is declared stalled, nothing reconnects, and SIGCONT
   * brings it back on the same registration.
   */
  async "sigstop"() {
    // Requests outlive the stop: what is measured is the client's blocking,
    // not the handling of 3,000 timeouts at once.
    const { vpp, events, logs } = setup({
      requestTimeoutMs: 30_000,
      keepaliveIntervalMs: 500,
      keepaliveTimeoutMs: 1000,
    });
    const watch = new LoopWatch();
    let writes = 0;
    let slowestWriteMs = 0;
    try {
      vpp.client.start();
      await vpp.client.waitConnected(20_000);
      await vpp.stats.readVipCounters(new Map());
      const before = await vppctl("show", "api", "clients");
      note("clients before", { before });

      watch.reset();
      Deno.kill(args.pid, "SIGSTOP");
      note("SIGSTOP");
      // Drive writes: far more than VPP's 1,024-message input queue. Each
      // request() call is timed: a blocking vac_write would show here.
      const calls: Promise<string>[] = [];
      for (let i = 0; i < 3000; i++) {
        const w = performance.now();
        calls.push(
          vpp.client.request("control_ping", {}).then(
            () => "answered",
            (e: Error) => e.name,
          ),
        );
        slowestWriteMs = Math.max(slowestWriteMs, performance.now() - w);
        writes++;
        if (i % 100 === 99) await new Promise((r) => setTimeout(r, 1));
      }
      // A stats read while VPP is stopped must not block the loop either.
      const statsRead = vpp.stats.readVipCounters(new Map()).then(
        () => "read",
        (e: Error) => e.message,
      );
      const stalled = await waitFor(
        "the link declared stalled",
        () => events.find((e) => e.type === "disconnected"),
        15_000,
      );
      assert.ok(stalled.type === "disconnected");
      assert.match(
        stalled.reason,
        /^VPP stalled: keepalive control_ping failed: .* its process \d+ is stopped \(SIGSTOP\?\): keeping the registration/,
      );
      // The stall dropped the stats mapping (createVpp): mapping it again
      // needs VPP to answer on its stats socket, which a stopped VPP does
      // not. The read waits off the event loop until SIGCONT.
      assert.equal(vpp.stats.connected, false);
      const remap = vpp.stats.readVipCounters(new Map()).then(
        () => "read",
        (e: Error) => e.message,
      );
      const outcomes = await Promise.all(calls);
      const failedFast = outcomes.filter((o) => o !== "answered").length;
      note("requests while stopped", { failed: failedFast, writes });
      assert.equal(failedFast, 3000, "no answer while VPP is stopped");
      assert.ok(
        outcomes.every((o) => o === "VppUnavailableError"),
        "failed by the stall, not by their own deadline",
      );
      // Stay stopped a while: no reconnect attempt may happen.
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal(
        events.filter((e) => e.type === "connect-failed").length,
        0,
        "no vac_connect to a stopped VPP",
      );
      const stoppedLateMs = Math.round(watch.maxLateMs);
      note("loop while stopped", {
        maxLateMs: stoppedLateMs,
        ticks: watch.ticks,
      });
      // A blocking vac_write would hold the loop for the whole stop (3 s
      // and more); the bound leaves room for a loaded machine.
      assert.ok(
        stoppedLateMs < 1000,
        `the event loop was blocked for ${stoppedLateMs} ms`,
      );

      Deno.kill(args.pid, "SIGCONT");
      note("SIGCONT");
      const back = await waitFor(
        "connected again",
        () => events.filter((e) => e.type === "connected")[1],
        15_000,
      );
      assert.ok(back.type === "connected");
      assert.ok(logs.some((l) => l.msg === "vpp-resumed"));
      assert.equal((await vpp.client.request("control_ping", {})).retval, 0);
      const statsOutcome = await statsRead;
      const remapOutcome = await remap;
      note("stats reads during the stop", {
        mapped: statsOutcome,
        remap: remapOutcome,
      });
      assert.equal(remapOutcome, "read");
      await vpp.stats.readVipCounters(new Map());
      const after = await vppctl("show", "api", "clients");
      note("clients after", { after });
      const ours = after.split("\n").filter((l) => /^\s*maglev\s/.test(l));
      assert.equal(
        ours.length,
        1,
        `one registration, no stale ones:\n${after}`,
      );
      return {
        stoppedLateMs,
        slowestWriteMs: Math.round(slowestWriteMs),
        stats: statsOutcome,
        statsRemap: remapOutcome,
      };
    } finally {
      watch.stop();
      try {
        Deno.kill(args.pid, "SIGCONT");
      } catch {
        // gone
      }
      await vpp.close();
    }
  },

  /**
   * Replies already queued are read on the event loop in batches (the queue
   * address comes from `show api clients`): far fewer helper-thread reads
   * than replies, every reply to the right caller, in order, dumps whole.
   */
  async "batched-reads"() {
    const setupVpp = setup({}).vpp;
    const key: VipKey = { prefix: "10.9.0.1/32", protocol: 6, port: 80 };
    try {
      setupVpp.client.start();
      await setupVpp.client.waitConnected(20_000);
      await setupVpp.lb.addVip({
        ...key,
        encap: "gre4",
        srcIpSticky: false,
        flowTableLength: 1024,
      });
      for (let j = 0; j < 20; j++) {
        await setupVpp.lb.addAs(key, `172.16.9.${j + 1}`, 100);
      }
    } finally {
      await setupVpp.close();
    }
    const base = vacTransport(openVppLibrary(args.lib));
    let asyncReads = 0;
    let batched = 0;
    const transport: VacTransport = {
      ...base,
      read(timeoutS) {
        asyncReads++;
        return base.read(timeoutS);
      },
      readQueued() {
        const r = base.readQueued!();
        if (r?.rv === 0) batched++;
        return r;
      },
    };
    const client = new VppClient({ transport, apiPrefix: args.prefix });
    try {
      client.start();
      await client.waitConnected(20_000);
      assert.equal(client.batchedReads, true, "batched reads enabled");
      const before = asyncReads;
      // Pings and dumps interleaved: a details message handed to the wrong
      // caller, or a dump cut short, shows up as a wrong count or a reject.
      const pings: Promise<unknown>[] = [];
      const dumps: Promise<unknown[]>[] = [];
      for (let i = 0; i < 4_000; i++) {
        pings.push(client.request("control_ping", {}));
        if (i % 400 === 0) {
          dumps.push(
            client.dump("lb_as_v2_dump", {
              pfx: "0.0.0.0/0",
              protocol: 0,
              port: 0,
            }),
          );
        }
      }
      const replies = await Promise.all(pings);
      const vips = await Promise.all(dumps);
      for (const r of replies) {
        assert.equal((r as { vpe_pid: number }).vpe_pid, args.pid);
      }
      for (const v of vips) assert.equal(v.length, 20, "each dump whole");
      const reads = asyncReads - before;
      note("reads", { reads, batched, replies: replies.length });
      assert.ok(batched > 0, "some replies were read in batches");
      assert.ok(
        reads < replies.length / 2,
        `${reads} helper-thread reads for ${replies.length} replies`,
      );
      return { asyncReads: reads, batched };
    } finally {
      await client.close();
    }
  },
};

const run = scenarios[scenario];
if (!run) throw new Error(`unknown scenario ${scenario}`);
const result = await run();
console.log(`RESULT ${JSON.stringify(result)}`);
Deno.exit(0);
