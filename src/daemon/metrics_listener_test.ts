import assert from "node:assert/strict";
import { MetricsListener } from "./metrics_listener.ts";

function body(text: string): () => ReadableStream<Uint8Array> {
  return () =>
    new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(text));
        c.close();
      },
    });
}

/** Reads a connection to its end (bounded by the listener's deadlines). */
async function readAll(c: Deno.Conn): Promise<string> {
  let out = "";
  const buf = new Uint8Array(4096);
  for (let i = 0; i < 10_000; i++) {
    const n = await c.read(buf).catch(() => null);
    if (n === null) break;
    out += new TextDecoder().decode(buf.subarray(0, n));
  }
  return out;
}

Deno.test("metrics listener: GET and HEAD of /metrics, 404 elsewhere, 405 for other methods", async () => {
  const l = MetricsListener.listen({
    addr: { hostname: "127.0.0.1", port: 0 },
    contentType: "text/plain; version=0.0.4",
    render: body("m 1\n"),
  });
  try {
    const base = `http://127.0.0.1:${l.addr.port}`;
    const r = await fetch(`${base}/metrics`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "text/plain; version=0.0.4");
    assert.equal(await r.text(), "m 1\n");
    const h = await fetch(`${base}/metrics`, { method: "HEAD" });
    assert.equal(h.status, 200);
    await h.body?.cancel();
    const nf = await fetch(`${base}/other`);
    assert.equal(nf.status, 404);
    assert.equal(await nf.text(), "not found: try /metrics\n");
    const m = await fetch(`${base}/metrics`, { method: "POST" });
    assert.equal(m.status, 405);
    assert.equal(m.headers.get("allow"), "GET, HEAD");
    await m.body?.cancel();
  } finally {
    await l.close();
  }
});

Deno.test("metrics listener: a request head not finished in time is cut; beyond the connection cap, closed at once; an oversized head is refused", async () => {
  const refused: string[] = [];
  const l = MetricsListener.listen({
    addr: { hostname: "127.0.0.1", port: 0 },
    contentType: "text/plain",
    render: body("m 1\n"),
    headDeadlineMs: 300,
    maxConnections: 2,
    onRefused: (r) => refused.push(r),
  });
  const conns: Deno.Conn[] = [];
  try {
    const port = l.addr.port;
    // Two slowloris connections: half a request head each.
    for (let i = 0; i < 2; i++) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      await c.write(new TextEncoder().encode("GET /metrics HTTP/1.1\r\n"));
      conns.push(c);
    }
    // A third: the cap is reached, closed without an answer.
    const third = await Deno.connect({ hostname: "127.0.0.1", port });
    conns.push(third);
    assert.equal(await readAll(third), "");
    // The slow ones end by the deadline.
    const t0 = performance.now();
    assert.equal(await readAll(conns[0]), "");
    assert.equal(await readAll(conns[1]), "");
    assert.ok(performance.now() - t0 < 5000, "cut within the deadline");
    // Room again: a real scrape works.
    const ok = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(await ok.text(), "m 1\n");
    // A head larger than 16 KiB.
    const big = await Deno.connect({ hostname: "127.0.0.1", port });
    conns.push(big);
    await big.write(
      new TextEncoder().encode(
        `GET /metrics HTTP/1.1\r\nx: ${"y".repeat(20_000)}\r\n\r\n`,
      ),
    ).catch(() => 0);
    assert.match(await readAll(big), /^HTTP\/1\.1 431 /);
    assert.deepEqual(refused.sort(), ["busy", "oversized", "slow", "slow"]);
  } finally {
    for (const c of conns) {
      try {
        c.close();
      } catch {
        // closed
      }
    }
    await l.close();
  }
});
