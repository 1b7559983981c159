import assert from "node:assert/strict";
import {
  findHeadEnd,
  MAX_BODY_BYTES,
  MAX_HEAD_BYTES,
  parseStatusLine,
  ResponseReader,
} from "./http_response.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (s: string) => enc.encode(s);

/** Feeds `parts` in order; returns the reader and whether it finished early. */
function feed(
  parts: (string | Uint8Array)[],
  opts = { head: false, keepBody: true },
  eof = true,
): ResponseReader {
  const r = new ResponseReader(opts);
  for (const p of parts) {
    if (r.push(typeof p === "string" ? bytes(p) : p)) return r;
  }
  if (eof) r.end();
  return r;
}

/** Feeds `text` one byte at a time. */
function feedBytewise(text: string, opts = { head: false, keepBody: true }) {
  return feed([...bytes(text)].map((b) => new Uint8Array([b])), opts);
}

Deno.test("status line: valid forms", () => {
  const s = (t: string) => parseStatusLine(bytes(t), 0, t.length);
  assert.equal(s("HTTP/1.1 200 OK"), 200);
  assert.equal(s("HTTP/1.0 503 Service Unavailable"), 503);
  assert.equal(s("HTTP/1.1 204"), 204);
  assert.equal(s("HTTP/1.1 404 "), 404);
});

Deno.test("status line: invalid forms", () => {
  const s = (t: string) => parseStatusLine(bytes(t), 0, t.length);
  for (
    const t of [
      "",
      "HTTP/1.1",
      "HTTP/1.1 20",
      "HTTP/1.1 2000",
      "HTTP/2 200 OK",
      "http/1.1 200 OK",
      "HTTP/1.1 abc OK",
      "SSH-2.0-OpenSSH_9.2",
      "HTTP/1.1  200 OK",
      "HTTP/1.1 099 x",
    ]
  ) assert.equal(s(t), -1, t);
});

Deno.test("head end: CRLF, bare LF, split", () => {
  assert.equal(findHeadEnd(bytes("A\r\n\r\nbody"), 0, 9), 5);
  assert.equal(findHeadEnd(bytes("A\n\nbody"), 0, 7), 3);
  assert.equal(findHeadEnd(bytes("A\r\nB: c\r\n"), 0, 9), -1);
  assert.equal(findHeadEnd(bytes("A\r\n\r"), 0, 4), -1);
});

Deno.test("status only, no body needed: done after head", () => {
  const r = new ResponseReader({ head: false, keepBody: false });
  assert.equal(
    r.push(bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")),
    true,
  );
  assert.equal(r.state, "done");
  assert.equal(r.status, 200);
  assert.equal(r.body().length, 0);
});

Deno.test("content-length body, in one chunk and byte by byte", () => {
  const text = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhelloEXTRA";
  for (const r of [feed([text], undefined, false), feedBytewise(text)]) {
    assert.equal(r.state, "done");
    assert.equal(dec.decode(r.body()), "hello");
  }
});

Deno.test("content-length 0 is done without reading", () => {
  const r = feed(
    ["HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"],
    undefined,
    false,
  );
  assert.equal(r.state, "done");
  assert.equal(r.body().length, 0);
});

Deno.test("body until close", () => {
  const r = feed(["HTTP/1.0 200 OK\r\n\r\nab", "cd"]);
  assert.equal(r.state, "done");
  assert.equal(dec.decode(r.body()), "abcd");
});

Deno.test("chunked body with extensions and trailers", () => {
  const text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "4;name=val\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nT: x\r\n\r\n";
  for (const r of [feed([text], undefined, false), feedBytewise(text)]) {
    assert.equal(r.state, "done", r.error);
    assert.equal(dec.decode(r.body()), "Wikipedia in\r\n\r\nchunks.");
  }
});

Deno.test("chunked takes precedence over content-length", () => {
  const r = feed(
    [
      "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nOK\r\n0\r\n\r\n",
    ],
    undefined,
    false,
  );
  assert.equal(r.state, "done");
  assert.equal(dec.decode(r.body()), "OK");
});

Deno.test("chunked: bad size is an error", () => {
  for (const body of ["zz\r\n", "123456789\r\n", "\r\n", "2\r\nOKX"]) {
    const r = feed([
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body,
    ]);
    assert.equal(r.state, "error", body);
  }
});

Deno.test("body is capped at 64 KiB and reading stops", () => {
  const r = new ResponseReader({ head: false, keepBody: true });
  r.push(bytes("HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n"));
  const chunk = new Uint8Array(16384).fill(97);
  let pushes = 0;
  while (!r.push(chunk)) {
    pushes++;
    assert.ok(pushes < 10, "should stop at 64 KiB");
  }
  assert.equal(r.state, "done");
  assert.equal(r.body().length, MAX_BODY_BYTES);
});

Deno.test("chunked body capped at 64 KiB too", () => {
  const r = new ResponseReader({ head: false, keepBody: true });
  r.push(bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const data = "a".repeat(40000);
  const chunk = bytes(`${(40000).toString(16)}\r\n${data}\r\n`);
  let done = false;
  for (let i = 0; i < 5 && !done; i++) done = r.push(chunk);
  assert.equal(done, true);
  assert.equal(r.body().length, MAX_BODY_BYTES);
});

Deno.test("HEAD: no body even with content-length", () => {
  const r = new ResponseReader({ head: true, keepBody: true });
  assert.equal(
    r.push(bytes("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n")),
    true,
  );
  assert.equal(r.state, "done");
});

Deno.test("204 and 304 have no body", () => {
  for (const s of [204, 304]) {
    const r = new ResponseReader({ head: false, keepBody: true });
    assert.equal(
      r.push(bytes(`HTTP/1.1 ${s} X\r\nContent-Length: 9\r\n\r\n`)),
      true,
    );
    assert.equal(r.status, s);
  }
});

Deno.test("interim 100 Continue is skipped", () => {
  const text =
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Busy\r\nContent-Length: 2\r\n\r\nno";
  for (const r of [feed([text], undefined, false), feedBytewise(text)]) {
    assert.equal(r.status, 503);
    assert.equal(dec.decode(r.body()), "no");
  }
});

Deno.test("bare LF line endings are accepted", () => {
  const r = feed(
    ["HTTP/1.1 200 OK\nContent-Length: 2\n\nOK"],
    undefined,
    false,
  );
  assert.equal(r.state, "done");
  assert.equal(dec.decode(r.body()), "OK");
});

Deno.test("header name case and whitespace", () => {
  const r = feed(
    ["HTTP/1.1 200 OK\r\ncOnTeNt-LeNgTh:   3  \r\n\r\nabcdef"],
    undefined,
    false,
  );
  assert.equal(dec.decode(r.body()), "abc");
});

Deno.test("malformed heads are errors", () => {
  const cases = [
    "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    "garbage\r\n\r\n",
  ];
  for (const c of cases) {
    const r = feed([c]);
    assert.equal(r.state, "error", c);
    assert.ok(r.error.length > 0);
  }
});

Deno.test("headers over 16 KiB are rejected, in one chunk or many", () => {
  const big = "HTTP/1.1 200 OK\r\nX: " + "a".repeat(MAX_HEAD_BYTES) +
    "\r\n\r\n";
  const one = feed([big]);
  assert.equal(one.state, "error");
  assert.match(one.error, /16 KiB/);
  const parts: string[] = [];
  for (let i = 0; i < big.length; i += 1000) parts.push(big.slice(i, i + 1000));
  const many = feed(parts);
  assert.equal(many.state, "error");
  assert.match(many.error, /16 KiB/);
});

Deno.test("head just under 16 KiB split across reads is fine", () => {
  const filler = "a".repeat(MAX_HEAD_BYTES - 100);
  const text = `HTTP/1.1 200 OK\r\nX: ${filler}\r\nContent-Length: 2\r\n\r\nOK`;
  const r = feed([text.slice(0, 9000), text.slice(9000)], undefined, false);
  assert.equal(r.state, "done", r.error);
  assert.equal(dec.decode(r.body()), "OK");
});

Deno.test("EOF before headers end", () => {
  const none = feed([]);
  assert.equal(none.state, "error");
  assert.match(none.error, /without a response/);
  const half = feed(["HTTP/1.1 20"]);
  assert.equal(half.state, "error");
  assert.match(half.error, /before end of headers/);
});

Deno.test("EOF mid-body ends the body", () => {
  const r = feed(["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"]);
  assert.equal(r.state, "done");
  assert.equal(dec.decode(r.body()), "abc");
});
