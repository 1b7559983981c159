import assert from "node:assert/strict";
import { waitFor } from "../../tests/helpers/wait.ts";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  BackendInfoSchema,
  type Event,
  EventSchema,
} from "../api/gen/maglev/v1/maglev_pb.ts";
import {
  type CtlContext,
  describeError,
  execute,
  type MaglevClient,
  NameCache,
} from "./commands.ts";
import { parseCommand, splitWords } from "./parse.ts";
import { PLAIN } from "./render.ts";

function refused(): ConnectError {
  const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), {
    code: "ECONNREFUSED",
  });
  return new ConnectError(
    "connect ECONNREFUSED 127.0.0.1:1",
    Code.Unavailable,
    undefined,
    undefined,
    cause,
  );
}

Deno.test("describeError: network trouble names the address and what to check", () => {
  assert.equal(
    describeError(refused(), "localhost:9090"),
    "cannot reach maglev daemon at localhost:9090 (connection refused): is it running? check --server / MAGLEV_SERVER",
  );
  assert.match(
    describeError(
      new ConnectError("getaddrinfo ENOTFOUND nope", Code.Unavailable),
      "nope:9090",
    ),
    /^cannot reach maglev daemon at nope:9090 \(host not found\)/,
  );
  assert.match(
    describeError(new ConnectError("slow", Code.DeadlineExceeded), "h:1"),
    /^maglev daemon at h:1 did not answer within \d+s/,
  );
});

Deno.test("describeError: the daemon's own message, without the code prefix", () => {
  const e = new ConnectError(
    'no backend "x" (see: show backends)',
    Code.NotFound,
  );
  assert.equal(e.message, '[not_found] no backend "x" (see: show backends)');
  assert.equal(describeError(e, "h:1"), 'no backend "x" (see: show backends)');
  assert.equal(
    describeError(
      new ConnectError(
        "VPP integration is off (daemon started with --vpp=false)",
        Code.Unavailable,
      ),
      "h:1",
    ),
    "VPP integration is off (daemon started with --vpp=false)",
  );
  assert.match(
    describeError(
      new ConnectError("stream reset: ENHANCE_YOUR_CALM", Code.Internal),
      "h:1",
    ),
    /dropped this event stream/,
  );
  assert.equal(describeError(new Error("one\ntwo"), "h:1"), "one");
});

/** Records output lines. */
function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    output: {
      out: (t: string) => out.push(t),
      err: (t: string) => err.push(t),
    },
  };
}

function ctxWith(client: Partial<MaglevClient>, signal?: AbortSignal) {
  const io = capture();
  const ctx: CtlContext = {
    client: client as MaglevClient,
    server: "h:1",
    output: io.output,
    style: PLAIN,
    errStyle: PLAIN,
    json: false,
    signal,
    now: () => 0,
  };
  return { ctx, ...io };
}

const cmd = (line: string) => parseCommand(splitWords(line))!;

Deno.test("NameCache: one call per ~2 s, failures are not cached", async () => {
  let t = 0;
  let calls = 0;
  let fail = false;
  const client = {
    listBackends: () => {
      calls++;
      if (fail) return Promise.reject(new Error("down"));
      return Promise.resolve({ backends: [{ name: "a" }, { name: "b" }] });
    },
    listFrontends: () =>
      Promise.resolve({
        frontends: [{
          name: "web",
          pools: [{ name: "primary", backends: [{ name: "a" }] }],
        }],
      }),
  } as unknown as MaglevClient;
  const names = new NameCache(client, 2000, () => t);
  assert.deepEqual(await names.backends(), ["a", "b"]);
  assert.deepEqual(await names.backends(), ["a", "b"]);
  assert.equal(calls, 1);
  t = 2500;
  fail = true;
  await assert.rejects(names.backends());
  fail = false;
  assert.deepEqual(await names.backends(), ["a", "b"]);
  assert.equal(calls, 3);
  assert.deepEqual(await names.pools("web"), ["primary"]);
  assert.deepEqual(await names.poolBackends("web", "primary"), ["a"]);
  assert.deepEqual(await names.pools("nope"), []);
});

Deno.test("execute: a failed call is one error line and status 1", async () => {
  const { ctx, out, err } = ctxWith({
    getBackend: () =>
      Promise.reject(
        new ConnectError('no backend "x" (see: show backends)', Code.NotFound),
      ),
  });
  const r = await execute(cmd("show backend x"), ctx);
  assert.equal(r.code, 1);
  assert.deepEqual(out, []);
  assert.deepEqual(err, ['error: no backend "x" (see: show backends)']);
});

Deno.test("execute: set backend pause reports the new state", async () => {
  const { ctx, out } = ctxWith({
    pauseBackend: (req: { name: string }) =>
      Promise.resolve(create(BackendInfoSchema, {
        name: req.name,
        state: "paused",
        pausedFrom: "up",
      })),
  } as unknown as Partial<MaglevClient>);
  assert.equal((await execute(cmd("set backend a pause"), ctx)).code, 0);
  assert.deepEqual(out, [
    "backend a: paused (paused from up; its weight stays as it was)",
  ]);
  assert.deepEqual(await execute(cmd("quit"), ctx), { code: 0, quit: true });
});

function snapshotEvent(seq: number): Event {
  return create(EventSchema, {
    seq: BigInt(seq),
    event: {
      case: "frontend",
      value: { frontend: `f${seq}`, from: "up", to: "up" },
    },
  });
}

/** A WatchEvents that sends `n` events, then ends, fails, or waits to be cancelled. */
function watchClient(n: number, then: "end" | "reset" | "wait") {
  const state = {
    cancelled: false,
    signal: undefined as AbortSignal | undefined,
  };
  const client = {
    watchEvents(_req: unknown, opts: { signal: AbortSignal }) {
      state.signal = opts.signal;
      return (async function* () {
        for (let i = 1; i <= n; i++) yield snapshotEvent(i);
        if (then === "end") return;
        if (then === "reset") {
          throw new ConnectError("read ECONNRESET", Code.Unavailable);
        }
        await new Promise<void>((_, reject) => {
          const stop = () => {
            state.cancelled = true;
            reject(new ConnectError("canceled", Code.Canceled));
          };
          if (opts.signal.aborted) stop();
          opts.signal.addEventListener("abort", stop);
        });
      })();
    },
  } as unknown as MaglevClient;
  return { client, state };
}

Deno.test("watch events: stops after num events and cancels the call", async () => {
  const w = watchClient(5, "wait");
  const { ctx, out } = ctxWith(w.client);
  assert.equal((await execute(cmd("watch events num 2"), ctx)).code, 0);
  assert.equal(out.length, 2);
  assert.match(out[0], /frontend {2}f1 {2}up → up/);
  assert.equal(w.state.signal?.aborted, true, "the call is cancelled");
});

Deno.test("watch events: a key press (the signal) ends it with status 0", async () => {
  const w = watchClient(3, "wait");
  const stop = new AbortController();
  const { ctx, out, err } = ctxWith(w.client, stop.signal);
  const running = execute(cmd("watch events"), ctx);
  await waitFor("three events printed", () => out.length >= 3 || undefined);
  stop.abort();
  assert.equal((await running).code, 0);
  assert.equal(w.state.cancelled, true);
  assert.deepEqual(err, []);
});

Deno.test("watch events: the daemon ending the stream or going away is one line, status 1", async () => {
  const ended = ctxWith(watchClient(1, "end").client);
  assert.equal((await execute(cmd("watch events"), ended.ctx)).code, 1);
  assert.deepEqual(ended.err, [
    "error: maglev daemon at h:1 ended the event stream (stopping or restarting?)",
  ]);
  const reset = ctxWith(watchClient(2, "reset").client);
  assert.equal((await execute(cmd("watch events"), reset.ctx)).code, 1);
  assert.deepEqual(reset.err, [
    "error: lost the event stream from maglev daemon at h:1 (connection reset)",
  ]);
});

Deno.test("watch events --output json: one protobuf JSON object per line", async () => {
  const { ctx, out } = ctxWith(watchClient(2, "wait").client);
  await execute(cmd("watch events num 2"), { ...ctx, json: true });
  assert.equal(out.length, 2);
  assert.equal(JSON.parse(out[1]).frontend.frontend, "f2");
});
