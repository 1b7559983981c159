/**
 * HTTP probes against real listeners on 127.0.0.1 and ::1: every verdict's
 * code, and that it arrives within the timeout (+100 ms).
 */
import assert from "node:assert/strict";
import { createProber } from "../../src/probe/mod.ts";
import type { ProbeResult } from "../../src/probe/types.ts";
import { type CheckOverrides, makeCheck } from "../helpers/checks.ts";
import {
  closeAfter,
  familyOf,
  type Handler,
  httpResponse,
  hugeBody,
  LOOPBACKS,
  refusedPort,
  reply,
  serve,
  serveResetting,
  silent,
  trickle,
  writeAll,
} from "../helpers/listeners.ts";
import { USER_AGENT } from "../../src/probe/mod.ts";
import { probeWithin } from "../helpers/probe.ts";

const TIMEOUT = 400;

/** Probes `host:port` with an http check (deadline asserted). */
async function probe(
  host: string,
  port: number,
  overrides: CheckOverrides = {},
): Promise<ProbeResult> {
  const check = makeCheck("http", { port, timeoutMs: TIMEOUT, ...overrides });
  const prober = createProber();
  try {
    return await probeWithin(prober, host, check);
  } finally {
    prober.close();
  }
}

/** Starts a server with `handler` on `host`, probes it, stops it. */
async function probeServer(
  host: string,
  handler: Handler,
  overrides: CheckOverrides = {},
) {
  await using server = serve({ hostname: host, handler });
  const result = await probe(host, server.port, overrides);
  return { result, server };
}

for (const host of LOOPBACKS) {
  const t = (name: string, fn: () => Promise<void>) =>
    Deno.test(`http ${host}: ${name}`, fn);

  t("healthy → L7OK", async () => {
    const { result } = await probeServer(host, reply(httpResponse(200, "OK")));
    assert.equal(result.code, "L7OK");
    assert.equal(result.text, "HTTP 200");
  });

  t("refused → L4CON", async () => {
    const r = await probe(host, refusedPort(host));
    assert.equal(r.code, "L4CON");
    assert.match(r.text, /refused/);
  });

  t("reset mid status line → L7RSP", async () => {
    await using server = await serveResetting(host, "HTTP/1.1 2");
    const result = await probe(host, server.port);
    assert.equal(result.code, "L7RSP");
    assert.match(result.text, /reset/);
  });

  t(
    "reset right after accept → L7RSP every time (the connect succeeded)",
    async () => {
      await using server = await serveResetting(host, undefined);
      const codes = new Map<string, number>();
      for (let i = 0; i < 40; i++) {
        const r = await probe(host, server.port);
        codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
      }
      assert.deepEqual(Object.fromEntries(codes), { L7RSP: 40 });
    },
  );

  t("reset mid body with regexp → L7RSP", async () => {
    await using server = await serveResetting(
      host,
      "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nOK",
    );
    const result = await probe(host, server.port, {
      params: { responseRegexp: "^OK" },
    });
    assert.equal(result.code, "L7RSP");
  });

  t("closed mid headers → L7RSP", async () => {
    const { result } = await probeServer(
      host,
      closeAfter("HTTP/1.1 200 OK\r\nContent-Le"),
    );
    assert.equal(result.code, "L7RSP");
    assert.match(result.text, /closed before end of headers/);
  });

  t("closed without a byte → L7RSP", async () => {
    const { result } = await probeServer(host, closeAfter(""));
    assert.equal(result.code, "L7RSP");
  });

  t("not HTTP → L7RSP", async () => {
    const { result } = await probeServer(
      host,
      reply("SSH-2.0-OpenSSH_9.2\r\n\r\n"),
    );
    assert.equal(result.code, "L7RSP");
    assert.match(result.text, /malformed status line/);
  });

  t("headers over 16 KiB → L7RSP", async () => {
    const { result } = await probeServer(
      host,
      reply(httpResponse(200, "OK", { "X-Big": "a".repeat(17000) })),
    );
    assert.equal(result.code, "L7RSP");
    assert.match(result.text, /16 KiB/);
  });

  t("accepts but never answers → L7TOUT", async () => {
    const { result } = await probeServer(host, silent());
    assert.equal(result.code, "L7TOUT");
    assert.match(result.text, /timeout after 400ms/);
  });

  t("one byte per second → L7TOUT", async () => {
    const { result } = await probeServer(
      host,
      trickle(httpResponse(200, "OK"), 1000),
    );
    assert.equal(result.code, "L7TOUT");
  });

  t("10 MB body with regexp → L7OK fast, stops reading", async () => {
    const written = { bytes: 0 };
    const { result } = await probeServer(
      host,
      hugeBody(200, 10 * 1024 * 1024, "OK", written),
      { params: { responseRegexp: "^OK" } },
    );
    assert.equal(result.code, "L7OK", result.text);
    assert.ok(
      written.bytes < 5 * 1024 * 1024,
      `server wrote ${written.bytes} bytes`,
    );
  });

  t("10 MB body without regexp → L7OK", async () => {
    const written = { bytes: 0 };
    const { result } = await probeServer(
      host,
      hugeBody(200, 10 * 1024 * 1024, "", written),
    );
    assert.equal(result.code, "L7OK", result.text);
  });

  t("wrong status → L7STS", async () => {
    const { result } = await probeServer(
      host,
      reply(httpResponse(503, "down")),
    );
    assert.equal(result.code, "L7STS");
    assert.equal(result.text, "HTTP 503");
  });

  t("status list: 503 accepted when configured", async () => {
    const { result } = await probeServer(
      host,
      reply(httpResponse(503, "down")),
      { params: { responseCodes: [[200, 200], [500, 503]] } },
    );
    assert.equal(result.code, "L7OK");
  });

  t("wrong body → L7STS", async () => {
    const { result } = await probeServer(
      host,
      reply(httpResponse(200, "FAIL\n")),
      { params: { responseRegexp: "^OK" } },
    );
    assert.equal(result.code, "L7STS");
    assert.equal(result.text, "body does not match /^OK/");
  });

  t("right body → L7OK", async () => {
    const { result } = await probeServer(
      host,
      reply(httpResponse(200, "OK all good\n")),
      { params: { responseRegexp: "^OK" } },
    );
    assert.equal(result.code, "L7OK");
  });

  t("redirect is not followed", async () => {
    const { result, server } = await probeServer(
      host,
      reply(httpResponse(301, "", { Location: `http://${host}/elsewhere` })),
      { params: { responseCodes: [[200, 299]] } },
    );
    assert.equal(result.code, "L7STS");
    assert.equal(result.text, "HTTP 301");
    assert.equal(server.accepted(), 1);
    assert.equal(server.requests.length, 1);
  });

  t("redirect accepted by the default 200-399", async () => {
    const { result, server } = await probeServer(
      host,
      reply(httpResponse(302, "", { Location: "/x" })),
    );
    assert.equal(result.code, "L7OK");
    assert.equal(server.accepted(), 1);
  });

  t("HEAD sends HEAD and reads no body", async () => {
    const { result, server } = await probeServer(
      host,
      // Content-Length promises a body that never comes: a reader that
      // waited for it would time out.
      reply(
        "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n",
      ),
      { params: { method: "HEAD", responseRegexp: "^never" } },
    );
    assert.equal(result.code, "L7OK", result.text);
    assert.match(server.requests[0], /^HEAD \/ HTTP\/1\.1\r\n/);
  });

  t("request line, Host, User-Agent seen by the server", async () => {
    const { server } = await probeServer(
      host,
      reply(httpResponse(200, "OK")),
      { params: { path: "/healthz?x=1" } },
    );
    const req = server.requests[0];
    const lines = req.split("\r\n");
    assert.equal(lines[0], "GET /healthz?x=1 HTTP/1.1");
    const bracketed = familyOf(host) === 6 ? `[${host}]` : host;
    assert.ok(lines.includes(`Host: ${bracketed}:${server.port}`), req);
    assert.ok(lines.includes(`User-Agent: ${USER_AGENT}`), req);
    assert.match(USER_AGENT, /^maglev\/\S+ \(\+https:\/\/\S+\)$/);
    assert.ok(lines.includes("Connection: close"), req);
    assert.ok(lines.includes("Accept: */*"), req);
  });

  t("configured Host header", async () => {
    const { server } = await probeServer(
      host,
      reply(httpResponse(200, "OK")),
      { params: { host: "www.example.com" } },
    );
    assert.ok(server.requests[0].includes("\r\nHost: www.example.com\r\n"));
  });

  t("chunked body with regexp", async () => {
    const chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "3\r\nst:\r\n8\r\n healthy\r\n0\r\n\r\n";
    const ok = await probeServer(host, reply(chunked), {
      params: { responseRegexp: "^st: healthy$" },
    });
    assert.equal(ok.result.code, "L7OK", ok.result.text);
    const bad = await probeServer(host, reply(chunked), {
      params: { responseRegexp: "sick" },
    });
    assert.equal(bad.result.code, "L7STS");
  });

  t("chunked body split over slow writes", async () => {
    const handler: Handler = async (conn, ctx) => {
      await ctx.readRequest();
      const parts = [
        "HTTP/1.1 200 OK\r\nTransfer-",
        "Encoding: chunked\r\n\r\n4\r",
        "\nWi",
        "ki\r\n0\r\n\r\n",
      ];
      for (const p of parts) await writeAll(conn, p);
    };
    const { result } = await probeServer(host, handler, {
      params: { responseRegexp: "^Wiki$" },
    });
    assert.equal(result.code, "L7OK", result.text);
  });

  t("body read until close", async () => {
    const { result } = await probeServer(
      host,
      reply("HTTP/1.0 200 OK\r\n\r\nOK then close"),
      { params: { responseRegexp: "then close$" } },
    );
    assert.equal(result.code, "L7OK", result.text);
  });
}

Deno.test("http: one prober, many concurrent probes, one connection each", async () => {
  await using server = serve({
    hostname: "127.0.0.1",
    handler: reply(httpResponse(200, "OK")),
  });
  const prober = createProber();
  try {
    const check = makeCheck("http", { port: server.port, timeoutMs: 2000 });
    const results = await Promise.all(
      Array.from(
        { length: 200 },
        () => prober.probe({ address: "127.0.0.1", family: 4 }, check),
      ),
    );
    for (const r of results) assert.equal(r.code, "L7OK", r.text);
    assert.equal(server.accepted(), 200);
    assert.equal(server.requests.length, 200);
  } finally {
    prober.close();
  }
});
