import assert from "node:assert/strict";
import {
  bearerOf,
  isLoopback,
  mutationVerdict,
  readTokenFile,
} from "./auth.ts";

const TOKEN = "0123456789abcdef0123";

Deno.test("auth: loopback peers, bearer tokens, and why a change is refused", () => {
  for (const a of ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"]) {
    assert.equal(isLoopback(a), true, a);
  }
  for (const a of ["10.0.0.1", "::ffff:10.0.0.1", "fe80::1", "", undefined]) {
    assert.equal(isLoopback(a), false, String(a));
  }
  assert.equal(bearerOf("Bearer abc"), "abc");
  assert.equal(bearerOf("bearer  abc "), "abc");
  assert.equal(bearerOf("Basic abc"), undefined);
  assert.equal(bearerOf(undefined), undefined);

  const none = { tokens: [], allowRemote: false };
  const withToken = { tokens: [TOKEN], allowRemote: false };
  assert.equal(mutationVerdict(none, "127.0.0.1", undefined), "1");
  assert.match(
    mutationVerdict(none, "10.0.0.2", undefined),
    /only from loopback/,
  );
  assert.match(
    mutationVerdict(withToken, "10.0.0.2", undefined),
    /a bearer token is needed/,
  );
  assert.match(
    mutationVerdict(withToken, "10.0.0.2", "Bearer wrong-token-of-length"),
    /not one of the daemon's/,
  );
  assert.equal(mutationVerdict(withToken, "10.0.0.2", `Bearer ${TOKEN}`), "1");
  assert.equal(
    mutationVerdict({ tokens: [], allowRemote: true }, "10.0.0.2", undefined),
    "1",
  );
});

Deno.test("auth: token files: one per line, comments, clear errors", async () => {
  const dir = await Deno.makeTempDir({ prefix: "maglev-token-" });
  try {
    const f = `${dir}/tokens`;
    await Deno.writeTextFile(f, `# ops\n${TOKEN}\n\nsecond-token-1234567\n`);
    assert.deepEqual(readTokenFile(f), [TOKEN, "second-token-1234567"]);
    await Deno.writeTextFile(f, "short\n");
    assert.throws(
      () => readTokenFile(f),
      /:1: a token is one word of at least 16/,
    );
    await Deno.writeTextFile(f, "# nothing\n");
    assert.throws(() => readTokenFile(f), /no token in the file/);
    assert.throws(() => readTokenFile(`${dir}/nope`), /cannot read token file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
