import assert from "node:assert/strict";
import { waitFor } from "../../tests/helpers/wait.ts";
import { Logger } from "../cli/log.ts";
import { AssetStore } from "./assets.ts";
import { BasicAuth, LoginThrottle } from "./auth.ts";
import { Broker } from "./broker.ts";
import { createHandler, parseAction } from "./server.ts";

Deno.test("server: action bodies are validated against the contract", () => {
  assert.deepEqual(parseAction({ scope: "s", action: "pause", backend: "a" }), {
    scope: "s",
    action: "pause",
    backend: "a",
  });
  assert.match(
    parseAction({ scope: "s", action: "reboot", backend: "a" }) as string,
    /action must be/,
  );
  assert.match(parseAction(null) as string, /object/);
  assert.match(
    parseAction({
      scope: "s",
      action: "set-weight",
      frontend: "f",
      pool: "p",
      backend: "a",
      weight: 101,
    }) as string,
    /0\.\.100/,
  );
});

Deno.test("server: assets get ETags and 304s", async () => {
  const assets = await AssetStore.create({
    "/index.html": { type: "text/html", body: "<html>", encoding: "utf8" },
    "/x.bin": {
      type: "application/octet-stream",
      body: "AAE=",
      encoding: "base64",
    },
  });
  const h = createHandler({
    watchers: [],
    broker: new Broker({ heartbeatMs: 0 }),
    assets,
    log: new Logger({ level: "error", format: "json", writeLine: () => {} }),
  });
  const r = await h(new Request("http://x/view/"));
  assert.equal(await r.text(), "<html>");
  const etag = r.headers.get("etag")!;
  const again = await h(
    new Request("http://x/view/", { headers: { "if-none-match": etag } }),
  );
  assert.equal(again.status, 304);
  const bin = await h(new Request("http://x/view/x.bin"));
  assert.deepEqual(
    new Uint8Array(await bin.arrayBuffer()),
    new Uint8Array([0, 1]),
  );
  assert.equal((await h(new Request("http://x/admin/"))).status, 404);
});

Deno.test({
  name: "server: a browser that never reads is dropped over a real socket",
  async fn() {
    const broker = new Broker({ heartbeatMs: 0, maxQueueBytes: 64 * 1024 });
    const handler = createHandler({
      watchers: [],
      broker,
      assets: await AssetStore.create({}),
      log: new Logger({ level: "error", format: "json", writeLine: () => {} }),
    });
    const ac = new AbortController();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
      handler,
    );
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.addr.port,
    });
    try {
      await conn.write(
        new TextEncoder().encode(
          "GET /view/api/events HTTP/1.1\r\nhost: x\r\n\r\n",
        ),
      );
      await waitFor(
        "the SSE client subscribed",
        () => broker.clientCount === 1 ? true : undefined,
      );
      const pad = "x".repeat(16 * 1024);
      for (let i = 0; i < 4000 && broker.dropped === 0; i++) {
        broker.publish("log", { i, pad });
        if (i % 50 === 0) await new Promise((r) => setTimeout(r, 1));
      }
      assert.equal(broker.dropped, 1);
      assert.equal(broker.clientCount, 0);
    } finally {
      conn.close();
      broker.close();
      ac.abort();
      await server.finished;
    }
  },
});

Deno.test("server: past maxEventStreams an event stream is refused with 429 and Retry-After, counted in the log", async () => {
  const broker = new Broker({ heartbeatMs: 0 });
  const records: string[] = [];
  const log = new Logger({ level: "error", format: "json", writeLine() {} });
  log.addSink({ level: "debug", write: (r) => records.push(r.msg) });
  const h = createHandler({
    watchers: [],
    broker,
    assets: await AssetStore.create({}),
    log,
    maxEventStreams: 2,
  });
  const open = () => h(new Request("http://x/view/api/events"));
  const a = await open();
  const b = await open();
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  const c = await open();
  assert.equal(c.status, 429);
  assert.equal(c.headers.get("retry-after"), "10");
  await c.body?.cancel();
  assert.deepEqual(records, ["sse-client-refused"]);
  // A closed stream frees its place.
  await a.body?.cancel();
  const d = await open();
  assert.equal(d.status, 200);
  await b.body?.cancel();
  await d.body?.cancel();
  broker.close();
});

Deno.test("server: wrong admin logins are throttled (429 with Retry-After); a browser's first credential-less request is not counted", async () => {
  let now = 0;
  const records: string[] = [];
  const log = new Logger({ level: "error", format: "json", writeLine() {} });
  log.addSink({ level: "debug", write: (r) => records.push(r.msg) });
  const broker = new Broker({ heartbeatMs: 0 });
  const h = createHandler({
    watchers: [],
    broker,
    assets: await AssetStore.create({}),
    log,
    auth: new BasicAuth({ user: "ops", password: "right" }),
    loginThrottle: new LoginThrottle({ maxFailures: 3, now: () => now }),
  });
  const get = (pw?: string) =>
    h(
      new Request("http://x/admin/api/state", {
        headers: pw === undefined
          ? {}
          : { authorization: "Basic " + btoa(`ops:${pw}`) },
      }),
    );
  for (let i = 0; i < 5; i++) {
    const r = await get();
    assert.equal(r.status, 401, "no credentials: the login prompt");
    await r.body?.cancel();
  }
  for (let i = 0; i < 3; i++) {
    const r = await get("wrong");
    assert.equal(r.status, 401);
    await r.body?.cancel();
  }
  const locked = await get("right");
  assert.equal(locked.status, 429, "even the right password waits");
  assert.equal(locked.headers.get("retry-after"), "60");
  await locked.body?.cancel();
  assert.deepEqual(records, ["admin-login-throttled"]);
  now = 61_000;
  const ok = await get("right");
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
  broker.close();
});
