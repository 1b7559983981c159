import assert from "node:assert/strict";
import {
  findHeadEnd,
  MAX_BODY_BYTES,
  MAX_DRAIN_BYTES,
  MAX_HEAD_BYTES,
  MAX_HEADER_VALUE,
  parseStatusLine,
  type ReaderOptions,
  ResponseReader,
} from "./http_response.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (s: string) => enc.encode(s);

/** Feeds `parts` in order; returns the reader and whether it finished early. */
function feed(
  parts: (string | Uint8Array)[],
  opts: ReaderOptions = { head: false, keepBody: true },
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
function feedBytewise(
  text: string,
  opts: ReaderOptions = { head: false, keepBody: true },
) {
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

// ---- Client tools: a captured header and connection reuse ------------------

const FRAMED = { head: false, keepBody: false, frameBody: true } as const;

Deno.test("captureHeader: first value, any case, trimmed, cut at 256", () => {
  const r = feed(
    [
      "HTTP/1.1 200 OK\r\nX-Backend:  b1 \r\nx-backend: b2\r\nContent-Length: 0\r\n\r\n",
    ],
    { head: false, keepBody: false, captureHeader: "x-backend" },
    false,
  );
  assert.equal(r.headerValue, "b1");
  const long = feed(
    [`HTTP/1.1 200 OK\r\nX-Backend: ${"v".repeat(1000)}\r\n\r\n`],
    { head: false, keepBody: false, captureHeader: "x-backend" },
    false,
  );
  assert.equal(long.headerValue?.length, MAX_HEADER_VALUE);
  const absent = feed(
    ["HTTP/1.1 200 OK\r\nX-Other: 1\r\n\r\n"],
    { head: false, keepBody: false, captureHeader: "x-backend" },
    false,
  );
  assert.equal(absent.headerValue, undefined);
});

Deno.test("captureHeader: an interim response's header is not the answer's", () => {
  const r = feedBytewise(
    "HTTP/1.1 103 Early\r\nX-Backend: early\r\n\r\nHTTP/1.1 200 OK\r\nX-Backend: b3\r\nContent-Length: 0\r\n\r\n",
    { head: false, keepBody: false, captureHeader: "x-backend" },
  );
  assert.equal(r.headerValue, "b3");
});

Deno.test("frameBody: a Content-Length body read exactly leaves a reusable connection", () => {
  const text = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
  for (
    const r of [
      feed([text], FRAMED, false),
      feed([text.slice(0, 30), text.slice(30)], FRAMED, false),
    ]
  ) {
    assert.equal(r.state, "done");
    assert.equal(r.reusable, true);
    assert.equal(r.body().length, 0, "the body is dropped without keepBody");
  }
  // Health checks never ask: never reusable.
  const plain = feed([text], { head: false, keepBody: false }, false);
  assert.equal(plain.reusable, false);
});

Deno.test("frameBody: not reusable when the server closes, lies or sends more", () => {
  const cases = [
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
    "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA",
    "HTTP/1.1 204 OK\r\n\r\nEXTRA",
  ];
  for (const c of cases) {
    const r = feed([c], FRAMED, false);
    assert.equal(r.state, "done", c);
    assert.equal(r.reusable, false, c);
  }
  // Until close: complete only at EOF, and then the connection is gone.
  const untilClose = feed(["HTTP/1.1 200 OK\r\n\r\nabc"], FRAMED, true);
  assert.equal(untilClose.state, "done");
  assert.equal(untilClose.reusable, false);
  // EOF before the announced length.
  const short = feed(
    ["HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc"],
    FRAMED,
  );
  assert.equal(short.reusable, false);
});

Deno.test("frameBody: a chunked body is read past its trailers", () => {
  const head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  const text = head + "3\r\nabc\r\n0\r\nT: x\r\n\r\n";
  const r = feedBytewise(text, FRAMED);
  assert.equal(r.state, "done", r.error);
  assert.equal(r.reusable, true);
  // Without the blank line after the trailers it is not over yet.
  const open = feed([head + "3\r\nabc\r\n0\r\nT: x\r\n"], FRAMED, false);
  assert.equal(open.state, "body");
  // A health check stops at the last chunk, as before.
  const check = feed([head + "0\r\n"], { head: false, keepBody: true }, false);
  assert.equal(check.state, "done");
  // Bytes after the end: not reusable.
  const extra = feed([text + "X"], FRAMED, false);
  assert.equal(extra.reusable, false);
  // Endless trailers are refused.
  const endless = feed(
    [head + "0\r\n" + "T: x\r\n".repeat(5000)],
    FRAMED,
    false,
  );
  assert.equal(endless.state, "error");
});

Deno.test("frameBody: bodiless answers (HEAD, 204, 304) are reusable", () => {
  const head = feed(
    ["HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"],
    { ...FRAMED, head: true },
    false,
  );
  assert.equal(head.reusable, true);
  for (const s of [204, 304]) {
    const r = feed([`HTTP/1.1 ${s} X\r\n\r\n`], FRAMED, false);
    assert.equal(r.reusable, true, String(s));
  }
});

Deno.test("frameBody: very long bodies end the read and the connection", () => {
  const r = new ResponseReader(FRAMED);
  r.push(bytes("HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n"));
  const chunk = new Uint8Array(65536);
  let pushes = 0;
  while (!r.push(chunk)) {
    pushes++;
    assert.ok(pushes < 100, "should stop at MAX_DRAIN_BYTES");
  }
  assert.ok(pushes * chunk.length <= MAX_DRAIN_BYTES + chunk.length);
  assert.equal(r.reusable, false);
  // With keepBody too, the 64 KiB cap ends it the same way.
  const kept = new ResponseReader({ ...FRAMED, keepBody: true });
  kept.push(bytes("HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n"));
  for (let i = 0; i < 10 && !kept.push(chunk); i++);
  assert.equal(kept.state, "done");
  assert.equal(kept.body().length, MAX_BODY_BYTES);
  assert.equal(kept.reusable, false);
});
