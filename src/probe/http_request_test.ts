import assert from "node:assert/strict";
import {
  hostHeader,
  requestBytes,
  requestText,
  USER_AGENT,
} from "./http_request.ts";
import { PROJECT_URL, VERSION } from "../version.ts";
import type { HealthCheckConfig } from "../config/types.ts";

const v4 = { address: "192.0.2.10", family: 4 } as const;
const v6 = { address: "2001:db8::10", family: 6 } as const;

function check(
  type: "http" | "https",
  port: number,
  params: Partial<HealthCheckConfig["params"]> = {},
): HealthCheckConfig {
  return {
    name: "c",
    type,
    port,
    intervalMs: 1000,
    fastIntervalMs: 1000,
    downIntervalMs: 1000,
    timeoutMs: 500,
    rise: 2,
    fall: 3,
    params: {
      path: "/healthz",
      method: "GET",
      responseCodes: [[200, 399]],
      tls: false,
      insecureSkipVerify: false,
      ...params,
    },
  };
}

Deno.test("host header: address, brackets, default ports", () => {
  assert.equal(hostHeader(v4, 80, false), "192.0.2.10");
  assert.equal(hostHeader(v4, 8080, false), "192.0.2.10:8080");
  assert.equal(hostHeader(v4, 443, true), "192.0.2.10");
  assert.equal(hostHeader(v4, 80, true), "192.0.2.10:80");
  assert.equal(hostHeader(v6, 80, false), "[2001:db8::10]");
  assert.equal(hostHeader(v6, 8443, true), "[2001:db8::10]:8443");
  assert.equal(
    hostHeader(v6, 8443, true, "www.example.com"),
    "www.example.com",
  );
});

Deno.test("request text", () => {
  assert.equal(USER_AGENT, `maglev/${VERSION} (+${PROJECT_URL})`);
  assert.equal(
    requestText(v6, check("http", 8080, { method: "HEAD" })),
    "HEAD /healthz HTTP/1.1\r\nHost: [2001:db8::10]:8080\r\n" +
      `User-Agent: maglev/${VERSION} (+${PROJECT_URL})\r\nAccept: */*\r\nConnection: close\r\n\r\n`,
  );
});

Deno.test("keep-alive request (client tools) leaves out Connection: close", () => {
  const c = check("http", 80);
  const t = requestText(v4, c, true);
  assert.equal(t, requestText(v4, c).replace("Connection: close\r\n", ""));
  assert.ok(t.endsWith("Accept: */*\r\n\r\n"));
  assert.equal(requestBytes(v4, c, true), requestBytes(v4, c, true));
  assert.notEqual(requestBytes(v4, c, true), requestBytes(v4, c));
});

Deno.test("request cannot be split by path or host", () => {
  const t = requestText(
    v4,
    check("http", 80, { path: "/a b\r\nX: y", host: "h\r\nEvil: 1" }),
  );
  assert.equal(t.split("\r\n")[0], "GET /a%20b%0D%0AX:%20y HTTP/1.1");
  assert.equal(t.split("\r\n")[1], "Host: hEvil: 1");
});

Deno.test("request bytes are cached per check and address", () => {
  const c = check("http", 80);
  assert.equal(requestBytes(v4, c), requestBytes(v4, c));
  assert.notEqual(requestBytes(v4, c), requestBytes(v6, c));
});

Deno.test("the User-Agent's URL is debian/control's Homepage", async () => {
  const control = await Deno.readTextFile(
    new URL("../../debian/control", import.meta.url),
  );
  const homepages = [...control.matchAll(/^Homepage: (\S+)$/gm)].map((m) =>
    m[1]
  );
  assert.ok(homepages.length > 0, "debian/control has a Homepage");
  for (const h of homepages) assert.equal(h, PROJECT_URL);
});
