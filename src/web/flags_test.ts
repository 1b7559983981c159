import assert from "node:assert/strict";
import { UsageError } from "../cli/flags.ts";
import { parseServerList, parseWebOptions, withFrontendEnv } from "./flags.ts";

Deno.test("web flags: defaults", () => {
  const o = parseWebOptions([], {});
  assert.deepEqual(o.listen, { hostname: undefined, port: 8080 });
  assert.deepEqual(o.servers, ["localhost:9090"]);
  assert.equal(o.credentialsFile, undefined);
  assert.equal(o.logLevel, "info");
  assert.equal(o.help, false);
});

Deno.test("web flags: flags beat MAGLEV_WEB_* beat MAGLEV_SERVER", () => {
  const env = {
    MAGLEV_WEB_LISTEN: "127.0.0.1:9000",
    MAGLEV_WEB_SERVER: "a:1,b:2",
    MAGLEV_SERVER: "c:3",
    MAGLEV_WEB_CREDENTIALS_FILE: "/etc/x",
  };
  let o = parseWebOptions([], env);
  assert.deepEqual(o.listen, { hostname: "127.0.0.1", port: 9000 });
  assert.deepEqual(o.servers, ["a:1", "b:2"]);
  assert.equal(o.credentialsFile, "/etc/x");
  o = parseWebOptions([], { MAGLEV_SERVER: "c:3" });
  assert.deepEqual(o.servers, ["c:3"]);
  o = parseWebOptions(["--listen", ":1", "-server=d:4, e:5,d:4"], env);
  assert.deepEqual(o.listen, { hostname: undefined, port: 1 });
  assert.deepEqual(o.servers, ["d:4", "e:5"]);
});

Deno.test("web flags: mistakes are usage errors", () => {
  assert.throws(() => parseWebOptions(["--listen", "nope"], {}), UsageError);
  assert.throws(() => parseWebOptions(["--server", "a:1,b"], {}), /--server/);
  assert.throws(() => parseServerList(" , "), /at least one/);
  assert.throws(() => parseWebOptions(["extra"], {}), /unexpected argument/);
  assert.throws(() => parseWebOptions(["--bogus"], {}), /unknown flag/);
  assert.throws(
    () => parseWebOptions(["--log-level", "loud"], {}),
    /must be one of/,
  );
});

Deno.test("web flags: --trusted-proxies is a list of addresses, canonical; none by default", () => {
  assert.deepEqual(parseWebOptions([], {}).trustedProxies, []);
  assert.deepEqual(
    parseWebOptions(
      ["--trusted-proxies", "127.0.0.1, 2001:DB8::1,127.0.0.1"],
      {},
    )
      .trustedProxies,
    ["127.0.0.1", "2001:db8::1"],
  );
  assert.deepEqual(
    parseWebOptions([], { MAGLEV_WEB_TRUSTED_PROXIES: "10.0.0.1" })
      .trustedProxies,
    ["10.0.0.1"],
  );
  assert.throws(
    () => parseWebOptions(["--trusted-proxies", "proxy.example"], {}),
    (e: unknown) =>
      e instanceof UsageError && /--trusted-proxies/.test(e.message),
  );
});

Deno.test("web flags: the original dashboard's MAGLEV_FRONTEND_* variables work; ours win", () => {
  const env = withFrontendEnv({
    MAGLEV_FRONTEND_LISTEN: "127.0.0.1:9100",
    MAGLEV_FRONTEND_SERVERS: "a:1,b:2",
    MAGLEV_FRONTEND_USER: "ops",
    MAGLEV_FRONTEND_PASSWORD: "pw",
    MAGLEV_FRONTEND_LOG_LEVEL: "debug",
  });
  const o = parseWebOptions([], env);
  assert.deepEqual(o.listen, { hostname: "127.0.0.1", port: 9100 });
  assert.deepEqual(o.servers, ["a:1", "b:2"]);
  assert.equal(o.logLevel, "debug");
  assert.equal(env.MAGLEV_WEB_USER, "ops");
  assert.equal(env.MAGLEV_WEB_PASSWORD, "pw");
  const ours = withFrontendEnv({
    MAGLEV_FRONTEND_LISTEN: "127.0.0.1:9100",
    MAGLEV_WEB_LISTEN: "127.0.0.1:9200",
  });
  assert.equal(parseWebOptions([], ours).listen.port, 9200);
});
