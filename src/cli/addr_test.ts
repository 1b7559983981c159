import assert from "node:assert/strict";
import { formatHostPort, parseHostPort } from "./addr.ts";

Deno.test("addr: the forms operators type", () => {
  assert.deepEqual(parseHostPort(":9090"), { hostname: undefined, port: 9090 });
  assert.deepEqual(parseHostPort("127.0.0.1:1"), {
    hostname: "127.0.0.1",
    port: 1,
  });
  assert.deepEqual(parseHostPort("[::1]:9091"), {
    hostname: "::1",
    port: 9091,
  });
  assert.deepEqual(parseHostPort("localhost:8080"), {
    hostname: "localhost",
    port: 8080,
  });
  assert.equal(formatHostPort({ hostname: "::1", port: 5 }), "[::1]:5");
  assert.equal(formatHostPort({ port: 5 }), ":5");
});

Deno.test("addr: clear errors", () => {
  for (
    const bad of [
      "9090",
      "::1:9090",
      "[::1]9090",
      "host:",
      "host:0",
      "h:70000",
      "h:x",
    ]
  ) {
    assert.throws(() => parseHostPort(bad), RangeError, bad);
  }
});
