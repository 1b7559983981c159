/**
 * VppStats against a real VPP: concurrent reads, disconnects and VPP
 * restarts must never crash the process. libvppapiclient keeps the stats
 * client in one global (`stat_client_main`): a `stat_segment_connect` on
 * one thread zeroes it while a `stat_segment_ls` runs on another, and
 * `stat_segment_disconnect` unmaps the segment under a running dump. The
 * hammering runs in a child process (_stats_hammer.ts) so that a SIGSEGV
 * fails the test instead of killing the runner.
 */

import assert from "node:assert/strict";
import { RealVpp, VPP } from "../helpers/realvpp.ts";
import { waitFor } from "../helpers/wait.ts";

const HAMMER = new URL("./_stats_hammer.ts", import.meta.url).pathname;

interface Progress {
  readonly round?: number;
  readonly done?: number;
  readonly ok: number;
  readonly failed: number;
  readonly lastError: string;
}

/** The hammer child: its progress lines as they come, and its exit. */
class Hammer implements AsyncDisposable {
  readonly lines: Progress[] = [];
  readonly status: Promise<Deno.CommandStatus>;
  #child: Deno.ChildProcess;
  #stderr = "";
  #stdin: WritableStreamDefaultWriter<Uint8Array>;

  constructor(lib: string, socket: string, rounds: number) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", HAMMER, lib, socket, String(rounds)],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    const lines = async () => {
      let buf = "";
      for await (
        const t of this.#child.stdout.pipeThrough(new TextDecoderStream())
      ) {
        buf += t;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          this.lines.push(JSON.parse(buf.slice(0, nl)));
          buf = buf.slice(nl + 1);
        }
      }
    };
    const errs = async () => {
      for await (
        const t of this.#child.stderr.pipeThrough(new TextDecoderStream())
      ) this.#stderr += t;
    };
    const outDone = lines();
    const errDone = errs();
    this.status = this.#child.status.then(async (s) => {
      await outDone;
      await errDone;
      return s;
    });
  }

  get stderr(): string {
    return this.#stderr;
  }

  get last(): Progress | undefined {
    return this.lines.at(-1);
  }

  /** Asks the child to finish its current round and exit. */
  async finish(): Promise<void> {
    await this.#stdin.close().catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.finish();
    const t = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, 30_000);
    await this.status;
    clearTimeout(t);
  }
}

function assertClean(status: Deno.CommandStatus, h: Hammer): Progress {
  assert.equal(
    status.signal,
    null,
    `the hammer died of ${status.signal}; stderr:\n${h.stderr.slice(-2000)}`,
  );
  assert.equal(status.code, 0, `stderr:\n${h.stderr.slice(-2000)}`);
  const done = h.last;
  assert.ok(done?.done !== undefined, "the hammer printed its summary");
  return done;
}

/** A few VIPs so that the lb counters exist and reads copy real vectors. */
async function someVips(v: RealVpp): Promise<void> {
  await v.ctl("lb", "conf", "ip4-src-address", "10.255.0.1");
  for (let i = 1; i <= 4; i++) {
    await v.ctl(
      "lb",
      "vip",
      `192.0.2.${i}/32`,
      "protocol",
      "tcp",
      "port",
      "80",
      "encap",
      "gre4",
    );
    await v.ctl(
      "lb",
      "as",
      `192.0.2.${i}/32`,
      "protocol",
      "tcp",
      "port",
      "80",
      `10.0.0.${i}`,
    );
  }
}

Deno.test({
  name:
    "real VPP: concurrent stats reads, heartbeats and disconnects never crash",
  ignore: VPP === undefined,
  async fn() {
    await using v = await RealVpp.start();
    await someVips(v);
    await using h = new Hammer(v.install.lib, v.statsSocket, 300);
    const status = await h.status;
    const done = assertClean(status, h);
    assert.equal(done.done, 300);
    assert.ok(done.ok > 300 * 6 * 0.9, JSON.stringify(done));
  },
});

Deno.test({
  name: "real VPP: stats reads across VPP kills and restarts never crash",
  ignore: VPP === undefined,
  async fn() {
    await using v = await RealVpp.start();
    await someVips(v);
    await using h = new Hammer(v.install.lib, v.statsSocket, 100_000);
    for (const signal of ["SIGKILL", "SIGTERM", "SIGKILL"] as const) {
      const before = h.last?.ok ?? 0;
      await waitFor(
        "reads succeed",
        () => (h.last?.ok ?? 0) > before + 50 ? true : undefined,
        30_000,
      );
      await v.restart(signal);
      await someVips(v);
    }
    const before = h.last?.ok ?? 0;
    await waitFor(
      "reads succeed after the last restart",
      () => (h.last?.ok ?? 0) > before + 50 ? true : undefined,
      30_000,
    );
    await h.finish();
    assertClean(await h.status, h);
  },
});
