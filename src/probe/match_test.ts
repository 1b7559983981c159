import assert from "node:assert/strict";
import { bodyMatches, cachedRegExp, statusAccepted } from "./match.ts";

Deno.test("status ranges", () => {
  const ranges = [[200, 299], [301, 301], [404, 404]] as const;
  assert.equal(statusAccepted(200, ranges), true);
  assert.equal(statusAccepted(299, ranges), true);
  assert.equal(statusAccepted(300, ranges), false);
  assert.equal(statusAccepted(301, ranges), true);
  assert.equal(statusAccepted(404, ranges), true);
  assert.equal(statusAccepted(503, ranges), false);
});

Deno.test("empty range list means 200-399", () => {
  assert.equal(statusAccepted(200, []), true);
  assert.equal(statusAccepted(399, []), true);
  assert.equal(statusAccepted(400, []), false);
  assert.equal(statusAccepted(199, []), false);
});

Deno.test("regexps are compiled once per source", () => {
  const a = cachedRegExp("^OK");
  const b = cachedRegExp("^OK");
  assert.ok(a instanceof RegExp);
  assert.equal(a, b);
});

Deno.test("invalid regexp gives the error text", () => {
  const r = cachedRegExp("(unclosed");
  assert.equal(typeof r, "string");
});

Deno.test("body matching is stateless across calls", () => {
  const re = cachedRegExp("OK") as RegExp;
  const body = new TextEncoder().encode("all OK here");
  for (let i = 0; i < 3; i++) assert.equal(bodyMatches(re, body), true);
  assert.equal(bodyMatches(re, new TextEncoder().encode("nope")), false);
  assert.equal(
    bodyMatches(cachedRegExp("^$") as RegExp, new Uint8Array()),
    true,
  );
});
