/**
 * A tiny HTTP server to run as a separate process (e.g. inside a test
 * namespace with `ip netns exec`). Prints `LISTENING <port>` when ready and
 * exits when its stdin closes, so it never outlives the test that started it.
 *
 * Usage: deno run --allow-net http_server_main.ts [hostname] [port] [body]
 */
const hostname = Deno.args[0] ?? "127.0.0.1";
const port = Number(Deno.args[1] ?? "0");
const body = new TextEncoder().encode(Deno.args[2] ?? "OK from netns\n");
const head = new TextEncoder().encode(
  `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n` +
    "Connection: close\r\n\r\n",
);

const listener = Deno.listen({ hostname, port });
console.log(`LISTENING ${(listener.addr as Deno.NetAddr).port}`);

(async () => {
  // Exit with the parent: stdin reaches EOF when the test closes or dies.
  const buf = new Uint8Array(64);
  while ((await Deno.stdin.read(buf)) !== null) { /* ignore */ }
  Deno.exit(0);
})();

for await (const conn of listener) {
  (async () => {
    try {
      const buf = new Uint8Array(8192);
      let seen = "";
      while (!seen.includes("\r\n\r\n")) {
        const n = await conn.read(buf);
        if (n === null) return;
        seen += new TextDecoder().decode(buf.subarray(0, n));
      }
      await conn.write(head);
      await conn.write(body);
    } catch {
      // client went away
    } finally {
      try {
        conn.close();
      } catch {
        // closed
      }
    }
  })();
}
