import assert from "node:assert/strict";
import { waitFor } from "../../tests/helpers/wait.ts";
import { Logger } from "../cli/log.ts";
import { AssetStore } from "./assets.ts";
import { BasicAuth, LoginThrottle } from "./auth.ts";
import { Broker } from "./broker.ts";
import { FAVICON_ICO, FAVICON_SVG } from "./favicon.ts";
import { createHandler, parseAction } from "./server.ts";
import { DaemonWatcher } from "./watcher.ts";
import { BUILD_DATE, COMMIT, VERSION } from "../version.ts";

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

/** Serves `handler` on an ephemeral loopback port until `fn` is done. */
async function withServer(
  handler: (req: Request, info: Deno.ServeHandlerInfo) => Promise<Response>,
  fn: (base: string) => Promise<void>,
): Promise<void> {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    handler,
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    ac.abort();
    await server.finished;
  }
}

Deno.test("server: /api/state/{name} is one daemon's state (names URL-decoded), unknown names 404 listing the known ones; /api/maglevds and /api/version", async () => {
  const log = new Logger({ level: "error", format: "json", writeLine() {} });
  const broker = new Broker({ heartbeatMs: 0 });
  // Watchers that are never started: each is a daemon not (yet) connected.
  const ids = [
    "127.0.0.1:9090",
    "[::1]:9090",
    "unix:/run/vpp-maglev/maglev.sock",
  ];
  const watchers = ids.map((id) =>
    new DaemonWatcher(id, { publish: () => {}, log })
  );
  const handler = createHandler({
    watchers,
    broker,
    assets: await AssetStore.create({}),
    log,
    auth: new BasicAuth({ user: "ops", password: "pw" }),
  });
  const auth = { authorization: "Basic " + btoa("ops:pw") };
  try {
    await withServer(handler, async (base) => {
      const getJson = async (path: string, headers: HeadersInit = {}) => {
        const r = await fetch(`${base}${path}`, { headers });
        assert.equal(
          r.headers.get("content-type"),
          "application/json; charset=utf-8",
          path,
        );
        assert.equal(r.headers.get("cache-control"), "no-store", path);
        return { status: r.status, body: await r.json() };
      };

      // Each name, raw or percent-encoded, gives that daemon's ScopeState:
      // the same sub-document /api/state holds for it.
      const all = await getJson("/view/api/state");
      for (const [i, id] of ids.entries()) {
        for (
          const path of [
            `/view/api/state/${id}`,
            `/view/api/state/${encodeURIComponent(id)}`,
            `/admin/api/state/${encodeURIComponent(id)}`,
          ]
        ) {
          const { status, body } = await getJson(
            path,
            path.startsWith("/admin/") ? auth : {},
          );
          assert.equal(status, 200, path);
          assert.deepEqual(
            Object.keys(body).sort(),
            Object.keys(all.body.scopes[i]).sort(),
            path,
          );
          assert.deepEqual(body.scope, all.body.scopes[i].scope, path);
          assert.equal(body.scope.id, id);
          assert.equal(body.scope.connected, false);
          assert.deepEqual(body.frontends, []);
          assert.deepEqual(body.backends, []);
          assert.equal(typeof body.atMs, "number");
        }
      }

      // Unknown: 404 naming the daemons there are.
      for (const name of ["lb9:9090", "", "127.0.0.1%3A1"]) {
        const { status, body } = await getJson(`/view/api/state/${name}`);
        assert.equal(status, 404, name);
        assert.deepEqual(body.known, ids);
        assert.equal(
          body.error,
          `no daemon "${decodeURIComponent(name)}"; known: ${ids.join(", ")}`,
        );
      }
      const bad = await getJson("/view/api/state/%E0%A4%A");
      assert.equal(bad.status, 400);
      assert.match(bad.body.error, /URL encoding/);

      // The daemon list, in --server order.
      const list = await getJson("/view/api/maglevds");
      assert.equal(list.status, 200);
      assert.deepEqual(
        list.body.maglevds.map((
          d: { name: string; address: string; connected: boolean },
        ) => [d.name, d.address, d.connected]),
        ids.map((id) => [id, id, false]),
      );
      for (const d of list.body.maglevds) {
        assert.equal(d.error, "connecting");
        assert.equal(typeof d.sinceMs, "number");
      }
      assert.deepEqual(
        (await getJson("/admin/api/maglevds", auth)).body,
        list.body,
      );

      // The dashboard's own version.
      const version = await getJson("/view/api/version");
      assert.equal(version.status, 200);
      assert.deepEqual(version.body, {
        program: "maglev web",
        version: VERSION,
        commit: COMMIT,
        buildDate: BUILD_DATE,
      });
      assert.deepEqual(
        (await getJson("/admin/api/version", auth)).body,
        version.body,
      );

      // Behind the login like the rest of /admin/; read-only methods only.
      for (const p of ["maglevds", "version", "state/127.0.0.1:9090"]) {
        const r = await fetch(`${base}/admin/api/${p}`);
        assert.equal(r.status, 401, p);
        await r.body?.cancel();
        const post = await fetch(`${base}/view/api/${p}`, { method: "POST" });
        assert.equal(post.status, 405, p);
        await post.body?.cancel();
      }
    });
  } finally {
    broker.close();
  }
});

Deno.test("server: /favicon.ico is our ICO and /favicon.svg our SVG, at the root and under /view/ and /admin/, with ETags", async () => {
  const log = new Logger({ level: "error", format: "json", writeLine() {} });
  const broker = new Broker({ heartbeatMs: 0 });
  const handler = createHandler({
    watchers: [],
    broker,
    assets: await AssetStore.create({}),
    log,
    auth: new BasicAuth({ user: "ops", password: "pw" }),
  });
  const auth = { authorization: "Basic " + btoa("ops:pw") };
  try {
    await withServer(handler, async (base) => {
      for (const prefix of ["", "/view", "/admin"]) {
        const headers = prefix === "/admin" ? auth : {};
        const ico = await fetch(`${base}${prefix}/favicon.ico`, { headers });
        assert.equal(ico.status, 200, prefix);
        assert.equal(ico.headers.get("content-type"), "image/x-icon");
        assert.match(ico.headers.get("cache-control")!, /max-age=86400/);
        const bytes = new Uint8Array(await ico.arrayBuffer());
        assert.deepEqual(bytes, FAVICON_ICO);
        // An ICO: reserved 0, type 1 (icon), two images.
        assert.deepEqual([...bytes.slice(0, 6)], [0, 0, 1, 0, 2, 0]);
        assert.equal(
          Number(ico.headers.get("content-length")),
          bytes.length,
        );
        const etag = ico.headers.get("etag")!;
        const again = await fetch(`${base}${prefix}/favicon.ico`, {
          headers: { ...headers, "if-none-match": etag },
        });
        assert.equal(again.status, 304);
        await again.body?.cancel();

        const svg = await fetch(`${base}${prefix}/favicon.svg`, { headers });
        assert.equal(svg.status, 200);
        assert.equal(svg.headers.get("content-type"), "image/svg+xml");
        const text = await svg.text();
        assert.equal(text, FAVICON_SVG);
        assert.match(text, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      }
      const head = await fetch(`${base}/favicon.ico`, { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(await head.text(), "");
      const post = await fetch(`${base}/favicon.ico`, { method: "POST" });
      assert.equal(post.status, 405);
      await post.body?.cancel();
      // Without the login /admin/ keeps its icon to itself, like the rest.
      const anon = await fetch(`${base}/admin/favicon.ico`);
      assert.equal(anon.status, 401);
      await anon.body?.cancel();
    });
  } finally {
    broker.close();
  }
});
