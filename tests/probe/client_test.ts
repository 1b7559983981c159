/**
 * The client-tool extras of the prober (maglev tester): the HTTP status and
 * a response header in the result, and keep-alive through a KeepAliveSlot,
 * against real listeners on 127.0.0.1 and ::1, plain and TLS. Health-check
 * results (no options) must not change shape.
 */
import assert from "node:assert/strict";
import {
  createClientProber,
  createProber,
  KeepAliveSlot,
} from "../../src/probe/mod.ts";
import { makeTestCerts } from "../helpers/certs.ts";
import { makeCheck } from "../helpers/checks.ts";
import {
  type Handler,
  httpResponse,
  LOOPBACKS,
  reply,
  serve,
  writeAll,
} from "../helpers/listeners.ts";
import { target } from "../helpers/probe.ts";

const TIMEOUT = 1000;
const certs = await makeTestCerts();

/** Answers every request on a connection with `X-Backend: name` until EOF. */
function keepAliveHandler(name: string, closeAfterEach = false): Handler {
  return async (conn, ctx) => {
    for (let i = 0; i < 1000; i++) {
      const head = await ctx.readRequest();
      if (head === "") return;
      await writeAll(
        conn,
        `HTTP/1.1 200 OK\r\nX-Backend: ${name}\r\nContent-Length: 2\r\n\r\nok`,
      );
      if (closeAfterEach) return;
    }
  };
}

for (const host of LOOPBACKS) {
  for (const tls of [false, true]) {
    const type = tls ? "https" : "http";
    const t = (name: string, fn: () => Promise<void>) =>
      Deno.test(`client probe ${type} ${host}: ${name}`, fn);

    const check = (port: number) =>
      makeCheck(type, { port, timeoutMs: TIMEOUT });
    const prober = () =>
      createClientProber({ caCerts: tls ? [certs.caCert] : undefined });
    const pair = tls ? certs.server : undefined;

    t("keep-alive: one connection carries every probe", async () => {
      await using server = serve({
        hostname: host,
        tls: pair,
        handler: keepAliveHandler("b1"),
      });
      const p = prober();
      const slot = new KeepAliveSlot();
      try {
        for (let i = 0; i < 5; i++) {
          const r = await p.probe(target(host), check(server.port), {
            header: "x-BACKEND",
            keepAlive: slot,
          });
          assert.equal(r.code, "L7OK", r.text);
          assert.equal(r.status, 200);
          assert.equal(r.header, "b1");
          assert.equal(slot.holding, true);
        }
        assert.equal(server.accepted(), 1);
        assert.equal(server.requests.length, 5);
        assert.ok(
          server.requests.every((q) => !/connection: close/i.test(q)),
          "a keep-alive request does not ask to close",
        );
      } finally {
        slot.close();
        p.close();
      }
    });

    t(
      "keep-alive: a connection the server closed is replaced at once",
      async () => {
        await using server = serve({
          hostname: host,
          tls: pair,
          handler: keepAliveHandler("b2", true),
        });
        const p = prober();
        const slot = new KeepAliveSlot();
        try {
          for (let i = 0; i < 4; i++) {
            const r = await p.probe(target(host), check(server.port), {
              header: "X-Backend",
              keepAlive: slot,
            });
            assert.equal(r.code, "L7OK", `probe ${i}: ${r.text}`);
            assert.equal(r.header, "b2");
          }
          assert.equal(server.accepted(), 4);
        } finally {
          slot.close();
          p.close();
        }
      },
    );

    t(
      "without keep-alive: a new connection per probe, status and header reported",
      async () => {
        await using server = serve({
          hostname: host,
          tls: pair,
          handler: reply(httpResponse(503, "no", { "X-Backend": "b3" })),
        });
        const p = prober();
        try {
          for (let i = 0; i < 3; i++) {
            const r = await p.probe(target(host), check(server.port), {
              header: "X-Backend",
            });
            assert.equal(r.code, "L7STS");
            assert.equal(r.text, "HTTP 503");
            assert.equal(r.status, 503);
            assert.equal(r.header, "b3");
          }
          assert.equal(server.accepted(), 3);
          assert.ok(server.requests.every((q) => /Connection: close/.test(q)));
          // A header the server does not send is simply absent.
          const r = await p.probe(target(host), check(server.port), {
            header: "X-Missing",
          });
          assert.equal(r.status, 503);
          assert.equal("header" in r, false);
        } finally {
          p.close();
        }
      },
    );
  }
}

Deno.test("client probe: health-check results keep their shape (no status, no header)", async () => {
  await using server = serve({
    hostname: "127.0.0.1",
    handler: reply(httpResponse(200, "OK", { "X-Backend": "b1" })),
  });
  const p = createProber();
  try {
    const r = await p.probe(
      target("127.0.0.1"),
      makeCheck("http", {
        port: server.port,
        timeoutMs: TIMEOUT,
      }),
    );
    assert.deepEqual(Object.keys(r).sort(), [
      "code",
      "durationMs",
      "ok",
      "text",
    ]);
  } finally {
    p.close();
  }
});

Deno.test("client probe: tcp VIPs ignore the options", async () => {
  await using server = serve({
    hostname: "127.0.0.1",
    handler: keepAliveHandler("x"),
  });
  const p = createClientProber();
  const slot = new KeepAliveSlot();
  try {
    const r = await p.probe(
      target("127.0.0.1"),
      makeCheck("tcp", { port: server.port, timeoutMs: TIMEOUT }),
      { header: "X-Backend", keepAlive: slot },
    );
    assert.equal(r.code, "L4OK");
    assert.equal(slot.holding, false);
  } finally {
    slot.close();
    p.close();
  }
});
