/**
 * TLS for https and tcp+tls probes, against real TLS listeners on 127.0.0.1
 * and ::1 with certificates made by openssl at test time: trust through an
 * injected CA, verification names, SNI, skip-verify, and non-TLS peers.
 */
import assert from "node:assert/strict";
import { createProber } from "../../src/probe/mod.ts";
import type { ProbeResult } from "../../src/probe/types.ts";
import { makeTestCerts } from "../helpers/certs.ts";
import { type CheckOverrides, makeCheck } from "../helpers/checks.ts";
import {
  answerAnything,
  type Handler,
  httpResponse,
  hugeBody,
  LOOPBACKS,
  reply,
  serve,
  serveResetting,
  serveTlsRecordingSni,
  silent,
} from "../helpers/listeners.ts";
import { probeWithin } from "../helpers/probe.ts";

const TIMEOUT = 500;
const certs = await makeTestCerts();
const OK = httpResponse(200, "OK");

interface TlsCase {
  readonly pair?: { readonly cert: string; readonly key: string };
  readonly handler?: Handler;
  readonly trustCa?: boolean;
}

/** Serves TLS (or plain, with `pair: undefined` and a handler) and probes. */
async function probeTls(
  host: string,
  type: "https" | "tcp",
  c: TlsCase,
  overrides: CheckOverrides = {},
): Promise<ProbeResult> {
  await using server = serve({
    hostname: host,
    tls: c.pair,
    handler: c.handler ?? reply(OK),
  });
  const prober = createProber({
    caCerts: c.trustCa === false ? undefined : [certs.caCert],
  });
  try {
    const check = makeCheck(type, {
      port: server.port,
      timeoutMs: TIMEOUT,
      ...overrides,
      params: { tls: type === "tcp", ...overrides.params },
    });
    return await probeWithin(prober, host, check);
  } finally {
    prober.close();
  }
}

for (const host of LOOPBACKS) {
  for (const type of ["https", "tcp"] as const) {
    const okCode = type === "https" ? "L7OK" : "L6OK";
    const t = (name: string, fn: () => Promise<void>) =>
      Deno.test(`${type === "tcp" ? "tcp+tls" : "https"} ${host}: ${name}`, fn);

    t(`trusted CA, server-name localhost → ${okCode}`, async () => {
      const r = await probeTls(host, type, { pair: certs.server }, {
        params: { serverName: "localhost" },
      });
      assert.equal(r.code, okCode, r.text);
    });

    t(
      `trusted CA, no server-name: certificate must name the address → ${okCode}`,
      async () => {
        const r = await probeTls(host, type, { pair: certs.server });
        assert.equal(r.code, okCode, r.text);
      },
    );

    t("CA not trusted (no caCerts) → L6RSP", async () => {
      const r = await probeTls(host, type, {
        pair: certs.server,
        trustCa: false,
      }, { params: { serverName: "localhost" } });
      assert.equal(r.code, "L6RSP");
      assert.match(r.text, /not issued by a trusted CA/);
    });

    t("untrusted self-signed → L6RSP", async () => {
      const r = await probeTls(host, type, { pair: certs.selfSigned }, {
        params: { serverName: "localhost" },
      });
      assert.equal(r.code, "L6RSP");
      assert.match(r.text, /self-signed/);
    });

    t(`self-signed with insecure-skip-verify → ${okCode}`, async () => {
      const r = await probeTls(host, type, { pair: certs.selfSigned }, {
        params: { serverName: "localhost", insecureSkipVerify: true },
      });
      assert.equal(r.code, okCode, r.text);
    });

    t("expired → L6RSP; with insecure-skip-verify → OK", async () => {
      const bad = await probeTls(host, type, { pair: certs.expired }, {
        params: { serverName: "localhost" },
      });
      assert.equal(bad.code, "L6RSP");
      assert.match(bad.text, /expired/i);
      const ok = await probeTls(host, type, { pair: certs.expired }, {
        params: { serverName: "localhost", insecureSkipVerify: true },
      });
      assert.equal(ok.code, okCode, ok.text);
    });

    t("wrong server name → L6RSP; with insecure-skip-verify → OK", async () => {
      const bad = await probeTls(host, type, { pair: certs.server }, {
        params: { serverName: "wrong.example" },
      });
      assert.equal(bad.code, "L6RSP");
      assert.match(bad.text, /does not name "wrong\.example"/);
      const ok = await probeTls(host, type, { pair: certs.server }, {
        params: { serverName: "wrong.example", insecureSkipVerify: true },
      });
      assert.equal(ok.code, okCode, ok.text);
    });

    t(
      "certificate for another name: fails by address, passes by name",
      async () => {
        const byAddress = await probeTls(host, type, { pair: certs.other });
        assert.equal(byAddress.code, "L6RSP");
        const byName = await probeTls(host, type, { pair: certs.other }, {
          params: { serverName: "other.example" },
        });
        assert.equal(byName.code, okCode, byName.text);
      },
    );

    t("TLS to a plain HTTP server that answers → L6RSP", async () => {
      const r = await probeTls(host, type, {
        handler: answerAnything(
          "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        ),
      });
      assert.equal(r.code, "L6RSP");
    });

    t("TLS to a plain server that never answers → L6TOUT", async () => {
      const r = await probeTls(host, type, { handler: silent() });
      assert.equal(r.code, "L6TOUT");
      assert.match(r.text, /TLS handshake/);
    });
  }

  Deno.test(`https ${host}: wrong status over TLS → L7STS`, async () => {
    const r = await probeTls(host, "https", {
      pair: certs.server,
      handler: reply(httpResponse(500, "boom")),
    });
    assert.equal(r.code, "L7STS");
    assert.equal(r.text, "HTTP 500");
  });

  Deno.test(`https ${host}: body regexp over TLS`, async () => {
    const handler = reply(httpResponse(200, "status: OK"));
    const ok = await probeTls(host, "https", { pair: certs.server, handler }, {
      params: { responseRegexp: "OK$" },
    });
    assert.equal(ok.code, "L7OK", ok.text);
    const bad = await probeTls(host, "https", { pair: certs.server, handler }, {
      params: { responseRegexp: "^FAIL" },
    });
    assert.equal(bad.code, "L7STS");
  });

  Deno.test(`https ${host}: 10 MB body over TLS stops at 64 KiB`, async () => {
    const written = { bytes: 0 };
    const r = await probeTls(host, "https", {
      pair: certs.server,
      handler: hugeBody(200, 10 * 1024 * 1024, "OK", written),
    }, { params: { responseRegexp: "^OK" } });
    assert.equal(r.code, "L7OK", r.text);
    assert.ok(written.bytes < 5 * 1024 * 1024, `wrote ${written.bytes}`);
  });

  Deno.test(`https ${host}: server that never answers after handshake → L7TOUT`, async () => {
    const r = await probeTls(host, "https", {
      pair: certs.server,
      handler: silent(),
    });
    assert.equal(r.code, "L7TOUT");
  });

  Deno.test(`https ${host}: Host header and request over TLS`, async () => {
    await using server = serve({
      hostname: host,
      tls: certs.server,
      handler: reply(OK),
    });
    const prober = createProber({ caCerts: [certs.caCert] });
    try {
      const check = makeCheck("https", {
        port: server.port,
        timeoutMs: TIMEOUT,
        params: { path: "/tls", serverName: "localhost" },
      });
      const r = await probeWithin(prober, host, check);
      assert.equal(r.code, "L7OK", r.text);
      const addr = host.includes(":") ? `[${host}]` : host;
      assert.match(server.requests[0], /^GET \/tls HTTP\/1\.1\r\n/);
      assert.ok(
        server.requests[0].includes(`\r\nHost: ${addr}:${server.port}\r\n`),
      );
    } finally {
      prober.close();
    }
  });

  Deno.test(`https ${host}: SNI is the server name, and absent without one`, async () => {
    await using server = await serveTlsRecordingSni(host, certs.server, OK);
    const prober = createProber({ caCerts: [certs.caCert] });
    try {
      const named = makeCheck("https", {
        port: server.port,
        timeoutMs: TIMEOUT,
        params: { serverName: "localhost" },
      });
      const r1 = await probeWithin(prober, host, named);
      assert.equal(r1.code, "L7OK", r1.text);
      const unnamed = makeCheck("https", {
        port: server.port,
        timeoutMs: TIMEOUT,
      });
      const r2 = await probeWithin(prober, host, unnamed);
      assert.equal(r2.code, "L7OK", r2.text);
      assert.deepEqual(server.names, ["localhost", null]);
    } finally {
      prober.close();
    }
  });
}

for (const host of LOOPBACKS) {
  Deno.test(`https ${host}: reset right after accept → L6RSP (the connect succeeded)`, async () => {
    await using server = await serveResetting(host, undefined);
    const prober = createProber();
    try {
      const r = await probeWithin(
        prober,
        host,
        makeCheck("https", { port: server.port, timeoutMs: TIMEOUT }),
      );
      assert.equal(r.code, "L6RSP", r.text);
    } finally {
      prober.close();
    }
  });
}
