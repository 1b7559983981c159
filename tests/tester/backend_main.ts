/**
 * One backend of a VIP simulated on loopback for the tester's system tests,
 * run as a process of its own so a test can kill it like a crashing server.
 * It listens with SO_REUSEPORT, so several of them share one address and
 * port and the kernel hashes each new connection to one of them, as Maglev
 * hashes each new flow to a backend. Every HTTP request is answered with
 * `X-Backend: NAME`; a connection stays open for more requests unless the
 * request asks to close it. Each event is one line on stdout, for the test
 * to count: `listening PORT`, `conn` (a connection accepted), `served` (a
 * response written). It exits when its stdin closes, so it never outlives
 * the test.
 *
 * Usage: deno run --unstable-net --allow-net backend_main.ts HOST PORT NAME
 */
const [hostname, portText, name] = Deno.args;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const body = encoder.encode(`${name}\n`);
const response = encoder.encode(
  `HTTP/1.1 200 OK\r\nX-Backend: ${name}\r\nContent-Type: text/plain\r\n` +
    `Content-Length: ${body.length}\r\n\r\n`,
);
const closing = encoder.encode(
  `HTTP/1.1 200 OK\r\nX-Backend: ${name}\r\nContent-Type: text/plain\r\n` +
    `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
);

const listener = Deno.listen({
  hostname,
  port: Number(portText),
  reusePort: true,
});
console.log(`listening ${(listener.addr as Deno.NetAddr).port}`);

(async () => {
  const buf = new Uint8Array(64);
  while ((await Deno.stdin.read(buf)) !== null) { /* ignore */ }
  Deno.exit(0);
})();

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

async function serve(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(16384);
  let pending = "";
  try {
    for (let requests = 0; requests < 1_000_000; requests++) {
      let end: number;
      while ((end = pending.indexOf("\r\n\r\n")) < 0) {
        const n = await conn.read(buf);
        if (n === null) return;
        pending += decoder.decode(buf.subarray(0, n));
        if (pending.length > 65536) return;
      }
      const head = pending.slice(0, end);
      pending = pending.slice(end + 4);
      const close = /^connection:\s*close\s*$/im.test(head);
      await writeAll(conn, close ? closing : response);
      await writeAll(conn, body);
      console.log("served");
      if (close) return;
    }
  } catch {
    // The client went away.
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

for await (const conn of listener) {
  console.log("conn");
  serve(conn);
}
