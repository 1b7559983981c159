/**
 * Incremental, bounded HTTP/1.x response reader for health checks: fed the
 * bytes as they arrive, it finds the status and, only when the check needs
 * the body, de-frames up to 64 KiB of it (Content-Length, chunked, or until
 * close). It never buffers more than 16 KiB of headers or 64 KiB of body,
 * whatever the server sends.
 */

/** Largest response head (status line + headers) accepted. */
export const MAX_HEAD_BYTES = 16 * 1024;
/** Most body bytes kept for matching; reading stops there. */
export const MAX_BODY_BYTES = 64 * 1024;
/**
 * Most body bytes read past and dropped to reach the end of a response
 * (`frameBody`); a longer one ends the read and its connection.
 */
export const MAX_DRAIN_BYTES = 1024 * 1024;
/** Longest captured header value kept; the rest is cut. */
export const MAX_HEADER_VALUE = 256;

/**
 * Reader states: waiting for the end of the head; reading the body; done
 * (verdict possible, no more input needed); malformed (`error` says why).
 */
export type ReadState = "head" | "body" | "done" | "error";

// Body framing.
const LENGTH = 0;
const CHUNKED = 1;
const CLOSE = 2;

// Chunked decoder states.
const C_SIZE = 0;
const C_EXT = 1;
const C_DATA = 2;
const C_DATA_END = 3;
const C_TRAILER = 4;

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;
const COLON = 58;
const MAX_CHUNK_EXT = 1024;

/** Options of one response read. */
export interface ReaderOptions {
  /** The request was HEAD: a response never has a body. */
  readonly head: boolean;
  /** The verdict needs the body (a response-regexp is set). */
  readonly keepBody: boolean;
  /** Lower-case name of a header whose first value `headerValue` keeps. */
  readonly captureHeader?: string;
  /**
   * Read to the end of the response as framed (body dropped unless
   * `keepBody`, a chunked body's trailers too), so that the connection can
   * carry another request; `reusable` then says whether it can.
   */
  readonly frameBody?: boolean;
}

/**
 * Reads one response. Call `push` with each chunk until it returns true,
 * and `end` at end of stream; then look at `state`, `status`, `error` and
 * `body()`.
 */
export class ResponseReader {
  state: ReadState = "head";
  /** Final status code, once the head is read. */
  status = 0;
  /** Why the response is malformed (state Error). */
  error = "";
  /** Any byte received at all. */
  receivedAny = false;
  /** First value of the `captureHeader` header (at most 256 characters). */
  headerValue: string | undefined = undefined;

  readonly #opts: ReaderOptions;
  #acc: Uint8Array | undefined;
  #accLen = 0;
  #scanFrom = 0;
  #framing = CLOSE;
  #remaining = 0;
  #chunk = C_SIZE;
  #chunkDigits = 0;
  #chunkExt = 0;
  #body: Uint8Array | undefined;
  #bodyLen = 0;
  // Header values seen while parsing the head.
  #contentLength = -1;
  #chunked = false;
  #otherCoding = false;
  // What decides whether the connection can carry another request.
  #http10 = false;
  #connectionClose = false;
  #noBody = false;
  #extraBytes = false;
  #cutShort = false;
  #ended = false;
  #dropped = 0;
  #trailerBytes = 0;
  #lineLen = 0;

  constructor(opts: ReaderOptions) {
    this.#opts = opts;
  }

  /** Feeds bytes; returns true when no more input is needed. */
  push(bytes: Uint8Array): boolean {
    if (bytes.length > 0) this.receivedAny = true;
    if (this.state === "head") this.#pushHead(bytes);
    else if (this.state === "body") this.#pushBody(bytes);
    return this.state === "done" || this.state === "error";
  }

  /** End of stream: a body read until close is complete, a head is not. */
  end(): void {
    this.#ended = true;
    if (this.state === "head") {
      this.#fail(
        this.receivedAny
          ? "connection closed before end of headers"
          : "connection closed without a response",
      );
    } else if (this.state === "body") {
      this.state = "done";
    }
  }

  /**
   * With `frameBody`: the response ended exactly where its framing says, the
   * server did not ask to close (HTTP/1.1, no `Connection: close`) and sent
   * nothing more, so the connection can carry the next request.
   */
  get reusable(): boolean {
    return this.#opts.frameBody === true && this.state === "done" &&
      !this.#ended && !this.#extraBytes && !this.#cutShort &&
      !this.#http10 && !this.#connectionClose &&
      (this.#noBody || this.#framing !== CLOSE);
  }

  /** The body bytes kept (at most MAX_BODY_BYTES; empty unless keepBody). */
  body(): Uint8Array {
    return this.#body
      ? this.#body.subarray(0, this.#bodyLen)
      : new Uint8Array();
  }

  #fail(why: string): void {
    this.state = "error";
    this.error = why;
  }

  #pushHead(bytes: Uint8Array): void {
    if (this.#accLen === 0) {
      // Common case: the whole head arrives in one read; parse in place.
      const end = findHeadEnd(bytes, 0, Math.min(bytes.length, MAX_HEAD_BYTES));
      if (end !== -1) {
        this.#headDone(bytes, end, bytes.subarray(end));
        return;
      }
      if (bytes.length >= MAX_HEAD_BYTES) {
        this.#fail("response headers larger than 16 KiB");
        return;
      }
    }
    this.#acc ??= new Uint8Array(MAX_HEAD_BYTES);
    const take = Math.min(bytes.length, MAX_HEAD_BYTES - this.#accLen);
    this.#acc.set(bytes.subarray(0, take), this.#accLen);
    this.#accLen += take;
    const end = findHeadEnd(this.#acc, this.#scanFrom, this.#accLen);
    if (end === -1) {
      if (this.#accLen >= MAX_HEAD_BYTES) {
        this.#fail("response headers larger than 16 KiB");
      } else {
        this.#scanFrom = Math.max(0, this.#accLen - 2);
      }
      return;
    }
    const fromAcc = this.#acc.subarray(end, this.#accLen);
    const fromBytes = bytes.subarray(take);
    let rest = fromAcc;
    if (fromBytes.length > 0) {
      rest = new Uint8Array(fromAcc.length + fromBytes.length);
      rest.set(fromAcc);
      rest.set(fromBytes, fromAcc.length);
    }
    this.#headDone(this.#acc, end, rest);
  }

  #headDone(buf: Uint8Array, end: number, rest: Uint8Array): void {
    const why = this.#parseHead(buf, end);
    if (why !== undefined) {
      this.#fail(why);
      return;
    }
    const s = this.status;
    if (s >= 100 && s < 200 && s !== 101) {
      // Interim response (100 Continue, 103 Early Hints): the real one follows.
      const copy = rest.slice();
      this.#accLen = 0;
      this.#scanFrom = 0;
      this.#contentLength = -1;
      this.#chunked = false;
      this.#otherCoding = false;
      this.#connectionClose = false;
      this.headerValue = undefined;
      this.status = 0;
      if (copy.length > 0) this.#pushHead(copy);
      return;
    }
    this.#accLen = 0;
    const noBody = this.#opts.head || s < 200 || s === 204 || s === 304;
    if ((!this.#opts.keepBody && this.#opts.frameBody !== true) || noBody) {
      this.#noBody = noBody;
      if (rest.length > 0) this.#extraBytes = true;
      this.state = "done";
      return;
    }
    if (this.#chunked) {
      this.#framing = CHUNKED;
    } else if (this.#otherCoding || this.#contentLength < 0) {
      this.#framing = CLOSE;
    } else {
      this.#framing = LENGTH;
      this.#remaining = this.#contentLength;
    }
    this.state = "body";
    if (this.#framing === LENGTH && this.#remaining === 0) {
      if (rest.length > 0) this.#extraBytes = true;
      this.state = "done";
      return;
    }
    if (rest.length > 0) this.#pushBody(rest);
  }

  /** Parses status line and headers in `buf[0, end)`; returns an error or undefined. */
  #parseHead(buf: Uint8Array, end: number): string | undefined {
    let lineEnd = indexOfLF(buf, 0, end);
    const statusEnd = lineEnd > 0 && buf[lineEnd - 1] === CR
      ? lineEnd - 1
      : lineEnd;
    const status = parseStatusLine(buf, 0, statusEnd);
    if (status < 0) return "malformed status line";
    this.status = status;
    this.#http10 = buf[7] === 48; // "HTTP/1.0"
    let pos = lineEnd + 1;
    while (pos < end) {
      lineEnd = indexOfLF(buf, pos, end);
      let e = lineEnd;
      if (e > pos && buf[e - 1] === CR) e--;
      if (e === pos) break; // blank line: end of head
      const first = buf[pos];
      if (first !== SP && first !== HT) {
        const why = this.#header(buf, pos, e);
        if (why !== undefined) return why;
      }
      pos = lineEnd + 1;
    }
    return undefined;
  }

  #header(buf: Uint8Array, start: number, end: number): string | undefined {
    let colon = start;
    while (colon < end && buf[colon] !== COLON) colon++;
    if (colon === end || colon === start) return "malformed header line";
    const nameLen = colon - start;
    let vs = colon + 1;
    let ve = end;
    while (vs < ve && (buf[vs] === SP || buf[vs] === HT)) vs++;
    while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HT)) ve--;
    const capture = this.#opts.captureHeader;
    if (
      capture !== undefined && this.headerValue === undefined &&
      nameLen === capture.length && nameIs(buf, start, capture)
    ) {
      this.headerValue = latin1(buf, vs, Math.min(ve, vs + MAX_HEADER_VALUE));
    }
    if (nameLen === 10 && nameIs(buf, start, "connection")) {
      const tokens = latin1(buf, vs, ve).toLowerCase().split(",");
      if (tokens.some((t) => t.trim() === "close")) {
        this.#connectionClose = true;
      }
    } else if (nameLen === 14 && nameIs(buf, start, "content-length")) {
      const n = parseDecimal(buf, vs, ve);
      if (n < 0) return "invalid Content-Length";
      if (this.#contentLength >= 0 && this.#contentLength !== n) {
        return "conflicting Content-Length headers";
      }
      this.#contentLength = n;
    } else if (nameLen === 17 && nameIs(buf, start, "transfer-encoding")) {
      const codings = latin1(buf, vs, ve).toLowerCase().split(",");
      const last = codings[codings.length - 1].trim();
      if (last === "chunked") {
        this.#chunked = true;
        this.#otherCoding = false;
      } else {
        this.#chunked = false;
        this.#otherCoding = true;
      }
    }
    return undefined;
  }

  #pushBody(bytes: Uint8Array): void {
    if (this.#framing === LENGTH) {
      const take = Math.min(bytes.length, this.#remaining);
      if (take < bytes.length) this.#extraBytes = true;
      this.#remaining -= take;
      this.#keep(bytes, 0, take);
      if (this.#remaining === 0) this.state = "done";
      return;
    }
    if (this.#framing === CLOSE) {
      this.#keep(bytes, 0, bytes.length);
      return;
    }
    this.#pushChunked(bytes);
  }

  #pushChunked(b: Uint8Array): void {
    let i = 0;
    const n = b.length;
    while (i < n && this.state === "body") {
      switch (this.#chunk) {
        case C_SIZE: {
          const c = b[i++];
          const v = hexValue(c);
          if (v >= 0) {
            if (++this.#chunkDigits > 8) {
              return this.#fail("invalid chunk size");
            }
            this.#remaining = this.#remaining * 16 + v;
          } else if (this.#chunkDigits === 0) {
            return this.#fail("invalid chunk size");
          } else if (c === LF) {
            this.#sizeLineDone();
          } else if (c === CR || c === SP || c === HT || c === 59 /* ; */) {
            this.#chunk = C_EXT;
            this.#chunkExt = 0;
          } else {
            return this.#fail("invalid chunk size");
          }
          break;
        }
        case C_EXT: {
          const c = b[i++];
          if (c === LF) this.#sizeLineDone();
          else if (++this.#chunkExt > MAX_CHUNK_EXT) {
            return this.#fail("chunk extension too long");
          }
          break;
        }
        case C_DATA: {
          const take = Math.min(n - i, this.#remaining);
          this.#keep(b, i, i + take);
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#chunk = C_DATA_END;
          break;
        }
        case C_DATA_END: {
          const c = b[i++];
          if (c === LF) {
            this.#chunk = C_SIZE;
            this.#chunkDigits = 0;
            this.#remaining = 0;
          } else if (c !== CR) {
            return this.#fail("malformed chunked body");
          }
          break;
        }
        case C_TRAILER: {
          // Trailer lines up to an empty one (frameBody only).
          const c = b[i++];
          if (c === LF) {
            if (this.#lineLen === 0) this.state = "done";
            this.#lineLen = 0;
          } else if (c !== CR) {
            this.#lineLen++;
            if (++this.#trailerBytes > MAX_HEAD_BYTES) {
              return this.#fail("trailers larger than 16 KiB");
            }
          }
          break;
        }
      }
    }
    if (this.state === "done" && i < n) this.#extraBytes = true;
  }

  #sizeLineDone(): void {
    if (this.#remaining === 0) {
      // Last chunk. Trailers are of no interest, but a connection kept for
      // another request must be read past them.
      if (this.#opts.frameBody === true) {
        this.#chunk = C_TRAILER;
        this.#lineLen = 0;
      } else {
        this.state = "done";
      }
    } else {
      this.#chunk = C_DATA;
    }
  }

  #keep(b: Uint8Array, start: number, end: number): void {
    if (this.state !== "body") return;
    if (!this.#opts.keepBody) {
      // frameBody alone: count and drop.
      this.#dropped += end - start;
      if (this.#dropped > MAX_DRAIN_BYTES) {
        this.#cutShort = true;
        this.state = "done";
      }
      return;
    }
    const room = MAX_BODY_BYTES - this.#bodyLen;
    const take = Math.min(end - start, room);
    if (take > 0) {
      const need = this.#bodyLen + take;
      if (!this.#body || this.#body.length < need) {
        let size = this.#body ? this.#body.length * 2 : this.#initialBodySize();
        while (size < need) size *= 2;
        const grown = new Uint8Array(Math.min(size, MAX_BODY_BYTES));
        if (this.#body) grown.set(this.#body.subarray(0, this.#bodyLen));
        this.#body = grown;
      }
      this.#body.set(b.subarray(start, start + take), this.#bodyLen);
      this.#bodyLen += take;
    }
    if (this.#bodyLen >= MAX_BODY_BYTES) {
      this.#cutShort = true;
      this.state = "done";
    }
  }

  #initialBodySize(): number {
    if (this.#framing === LENGTH) {
      return Math.max(16, Math.min(this.#contentLength, MAX_BODY_BYTES));
    }
    return 4096;
  }
}

/**
 * Index just past the blank line ending a response head in `b[from, len)`,
 * or -1. Accepts CRLF and bare LF line ends.
 */
export function findHeadEnd(b: Uint8Array, from: number, len: number): number {
  for (
    let i = b.indexOf(LF, from);
    i !== -1 && i < len;
    i = b.indexOf(LF, i + 1)
  ) {
    let j = i + 1;
    if (j < len && b[j] === CR) j++;
    if (j < len && b[j] === LF) return j + 1;
  }
  return -1;
}

function indexOfLF(b: Uint8Array, from: number, end: number): number {
  const i = b.indexOf(LF, from);
  return i === -1 || i >= end ? end : i;
}

/**
 * Status code of `HTTP/1.x NNN[ reason]` in `b[start, end)`, or -1.
 */
export function parseStatusLine(
  b: Uint8Array,
  start: number,
  end: number,
): number {
  // "HTTP/1.1 200" is the shortest valid form.
  if (end - start < 12) return -1;
  if (
    b[start] !== 72 || b[start + 1] !== 84 || b[start + 2] !== 84 ||
    b[start + 3] !== 80 || b[start + 4] !== 47 || b[start + 5] !== 49 ||
    b[start + 6] !== 46 || !isDigit(b[start + 7]) || b[start + 8] !== SP
  ) return -1;
  const d0 = b[start + 9], d1 = b[start + 10], d2 = b[start + 11];
  if (!isDigit(d0) || !isDigit(d1) || !isDigit(d2)) return -1;
  if (end - start > 12 && b[start + 12] !== SP) return -1;
  const code = (d0 - 48) * 100 + (d1 - 48) * 10 + (d2 - 48);
  return code < 100 ? -1 : code;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Case-insensitive compare of an ASCII header name with a lower-case one. */
function nameIs(b: Uint8Array, start: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    const c = b[start + i];
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function parseDecimal(b: Uint8Array, start: number, end: number): number {
  if (end === start || end - start > 15) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    if (!isDigit(b[i])) return -1;
    n = n * 10 + (b[i] - 48);
  }
  return n;
}

function latin1(b: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i]);
  return s;
}
