import assert from "node:assert/strict";
import {
  BasicAuth,
  CredentialsError,
  loadCredentials,
  LoginThrottle,
  parseBasic,
  sameOrigin,
} from "./auth.ts";

const basic = (s: string) =>
  "Basic " + btoa(String.fromCharCode(...new TextEncoder().encode(s)));

Deno.test("auth: right credentials pass, wrong ones fail", () => {
  const a = new BasicAuth({ user: "ops", password: "s3cret:x" });
  assert.equal(a.check(basic("ops:s3cret:x")), true);
  assert.equal(a.check(basic("ops:s3cret:y")), false);
  assert.equal(a.check(basic("opz:s3cret:x")), false);
  assert.equal(a.check(basic("ops:")), false);
  assert.equal(a.check("basic " + btoa("ops:s3cret:x")), true);
});

Deno.test("auth: malformed headers fail without throwing", () => {
  const a = new BasicAuth({ user: "ops", password: "pw" });
  for (
    const h of [
      null,
      "",
      "Bearer abc",
      "Basic",
      "Basic !!!",
      "Basic " + btoa("no-colon"),
      "Basic " + btoa("\xff\xfe:pw"),
    ]
  ) {
    assert.equal(a.check(h), false, String(h));
  }
  assert.equal(parseBasic("Basic " + btoa("no-colon")), undefined);
});

Deno.test("auth: unequal lengths take the same constant-time path", () => {
  const a = new BasicAuth({ user: "ops", password: "pw" });
  const before = a.comparisons;
  assert.equal(a.check(basic("o:p")), false);
  assert.equal(a.comparisons - before, 2);
  assert.equal(a.check(basic("a-much-longer-user:" + "p".repeat(500))), false);
  assert.equal(a.comparisons - before, 4);
  // Even a malformed header compares both parts.
  assert.equal(a.check("Basic ###"), false);
  assert.equal(a.comparisons - before, 6);
});

function req(
  method: string,
  headers: Record<string, string>,
  url = "http://dash.example:8080/admin/api/action",
): Request {
  return new Request(url, { method, headers });
}

Deno.test("auth: same-origin rule for mutating requests", () => {
  assert.equal(sameOrigin(req("GET", {})), true);
  assert.equal(sameOrigin(req("POST", {})), false);
  assert.equal(
    sameOrigin(req("POST", { "sec-fetch-site": "same-origin" })),
    true,
  );
  assert.equal(
    sameOrigin(req("POST", { "sec-fetch-site": "cross-site" })),
    false,
  );
  assert.equal(
    sameOrigin(req("POST", {
      "sec-fetch-site": "same-site",
      origin: "http://dash.example:8080",
    })),
    false,
  );
  assert.equal(
    sameOrigin(req("POST", { origin: "http://dash.example:8080" })),
    true,
  );
  assert.equal(
    sameOrigin(req("POST", { origin: "http://evil.example" })),
    false,
  );
  assert.equal(sameOrigin(req("POST", { origin: "null" })), false);
  // Behind a TLS-terminating proxy the operator named (--trusted-proxies).
  const proxied = {
    origin: "https://dash.example",
    host: "dash.example",
    "x-forwarded-proto": "https",
  };
  assert.equal(sameOrigin(req("POST", proxied), true), true);
  // From anyone else the forwarded headers count for nothing.
  assert.equal(sameOrigin(req("POST", proxied), false), false);
  const forged = {
    origin: "http://evil.example",
    "x-forwarded-host": "evil.example",
  };
  assert.equal(sameOrigin(req("POST", forged)), false);
  assert.equal(sameOrigin(req("POST", forged), true), true);
});

Deno.test("auth: credentials from env, file, or none", async () => {
  assert.equal(await loadCredentials({}), undefined);
  assert.deepEqual(
    await loadCredentials({ MAGLEV_WEB_USER: "u", MAGLEV_WEB_PASSWORD: "p" }),
    { user: "u", password: "p" },
  );
  await assert.rejects(
    loadCredentials({ MAGLEV_WEB_USER: "u" }),
    CredentialsError,
  );
  const dir = await Deno.makeTempDir();
  try {
    const f = `${dir}/creds`;
    await Deno.writeTextFile(f, "# admin\n\nops:pa:ss\n");
    assert.deepEqual(await loadCredentials({}, f), {
      user: "ops",
      password: "pa:ss",
    });
    await Deno.writeTextFile(f, "nocolon\n");
    await assert.rejects(loadCredentials({}, f), /user:password/);
    await Deno.writeTextFile(f, "a:b\nc:d\n");
    await assert.rejects(loadCredentials({}, f), /exactly one/);
    await assert.rejects(
      loadCredentials({}, `${dir}/missing`),
      /cannot read credentials file .*no such file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("auth: wrong logins are throttled per client, for a window; a right one clears", () => {
  let now = 0;
  const t = new LoginThrottle({
    maxFailures: 3,
    windowMs: 60_000,
    now: () => now,
  });
  assert.equal(t.waitSeconds("a"), 0);
  assert.equal(t.failed("a"), false);
  assert.equal(t.failed("a"), false);
  assert.equal(t.failed("a"), true, "the third locks");
  assert.equal(t.waitSeconds("a"), 60);
  assert.equal(t.waitSeconds("b"), 0, "other clients are not affected");
  now = 30_000;
  assert.equal(t.waitSeconds("a"), 30);
  now = 60_000;
  assert.equal(t.waitSeconds("a"), 0, "the window passed");
  t.failed("b");
  t.succeeded("b");
  t.failed("b");
  t.failed("b");
  assert.equal(t.waitSeconds("b"), 0, "counted afresh after a right login");
  // Bounded memory.
  const small = new LoginThrottle({
    maxFailures: 1,
    maxClients: 2,
    now: () => now,
  });
  small.failed("x");
  small.failed("y");
  small.failed("z");
  assert.equal(small.waitSeconds("x"), 0, "the oldest was forgotten");
  assert.ok(small.waitSeconds("z") > 0);
});
