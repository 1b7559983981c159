/** Parse stage for `maglev.healthchecks.<name>` and its `params`. */
import { isScalar } from "yaml";
import {
  type Entry,
  errorText,
  type Field,
  isNull,
  type Reader,
} from "./_reader.ts";
import type { RawHealthCheck, RawParams, RawResponseCodes } from "./_raw.ts";
import { parseStatusCodes } from "./_status_codes.ts";
import type { HealthCheckType, StatusRange } from "./types.ts";
import { CONFIG_KEY_TABLE, PARAMS_KEYS } from "./keys.ts";

const TYPES: readonly HealthCheckType[] = ["icmp", "tcp", "http", "https"];

const KEYS = CONFIG_KEY_TABLE["maglev.healthchecks.<name>"];

/** Every `params` key of any type, to tell "wrong type" from "unknown". */
const ALL_PARAMS = [...new Set(Object.values(PARAMS_KEYS).flat())];

/** Header values and paths go on the wire verbatim: no spaces or control characters. */
const TOKEN = /^[^\s\p{Cc}]+$/u;

/** Reads one health check; undefined when it is unusable (errors recorded). */
export function parseHealthCheck(
  r: Reader,
  e: Entry,
): RawHealthCheck | undefined {
  r.checkName(e, "healthcheck");
  if (isNull(e.node)) {
    r.fail(
      e,
      `healthcheck ${e.key} is empty: add at least type: ${TYPES.join(" | ")}`,
    );
    return undefined;
  }
  const entries = r.mapEntries(e.node, e);
  if (entries === undefined) return undefined;

  type NumberKey = Exclude<(typeof KEYS)[number], "type" | "params">;
  const out: Partial<Record<NumberKey, Field<number>>> = {};
  let type: Field<HealthCheckType> | undefined;
  let params: Entry | undefined;
  for (const f of r.known(entries, KEYS)) {
    switch (f.key) {
      case "type":
        type = r.oneOf(f, TYPES);
        break;
      case "params":
        params = f;
        break;
      case "interval":
      case "fast-interval":
      case "down-interval":
      case "timeout":
        out[f.key] = r.duration(f);
        break;
      default:
        out[f.key as NumberKey] = r.int(f);
    }
  }
  if (!entries.some((f) => f.key === "type")) {
    r.fail(
      { loc: e.loc, path: `${e.path}.type` },
      `missing key type: add type: ${TYPES.join(" | ")}`,
    );
  }
  const parsedParams = parseParams(r, params, type?.value);
  if (type === undefined) return undefined;
  return {
    name: e.key,
    loc: e.loc,
    path: e.path,
    type,
    port: out.port,
    interval: out.interval,
    fastInterval: out["fast-interval"],
    downInterval: out["down-interval"],
    timeout: out.timeout,
    rise: out.rise,
    fall: out.fall,
    params: parsedParams,
  };
}

/**
 * Reads `params`. With an unknown type every key any type understands is
 * accepted, so a typo in `type` does not bury the file in params errors.
 */
function parseParams(
  r: Reader,
  e: Entry | undefined,
  type: HealthCheckType | undefined,
): RawParams {
  if (e === undefined) return {};
  const entries = r.mapEntries(e.node, e);
  if (entries === undefined) return {};
  const allowed = type === undefined ? ALL_PARAMS : PARAMS_KEYS[type];
  const out: {
    -readonly [K in keyof RawParams]: RawParams[K];
  } = {};
  for (const f of entries) {
    if (!allowed.includes(f.key)) {
      if (type === "icmp") {
        r.unknownKey(f, allowed, "icmp checks take no params");
      } else if (type !== undefined && ALL_PARAMS.includes(f.key)) {
        r.unknownKey(
          f,
          allowed,
          `params key "${f.key}" does not apply to ${type} checks`,
        );
      } else r.unknownKey(f, allowed);
      continue;
    }
    switch (f.key) {
      case "path":
        out.path = token(
          r,
          f,
          "a path like /healthz",
          (v) => v.startsWith("/"),
        );
        break;
      case "host":
        out.host = token(r, f, "a host name like www.example.com");
        break;
      case "server-name":
        out.serverName = token(r, f, "a host name like www.example.com");
        break;
      case "method":
        out.method = r.oneOf(f, ["GET", "HEAD"] as const);
        break;
      case "response-code":
        out.responseCodes = responseCodes(r, f);
        break;
      case "response-regexp":
        out.responseRegexp = regexp(r, f);
        break;
      case "tls":
        out.tls = r.bool(f);
        break;
      case "insecure-skip-verify":
        out.insecureSkipVerify = r.bool(f);
        break;
    }
  }
  return out;
}

/** A string sent on the wire (path, Host, SNI). */
function token(
  r: Reader,
  f: Entry,
  expected: string,
  extra: (v: string) => boolean = () => true,
): Field<string> | undefined {
  const s = r.string(f);
  if (s === undefined) return undefined;
  if (TOKEN.test(s.value) && extra(s.value)) return s;
  r.fail(f, `invalid ${f.key} "${s.value}": write ${expected}, without spaces`);
  return undefined;
}

function regexp(r: Reader, f: Entry): Field<string> | undefined {
  const s = r.string(f);
  if (s === undefined) return undefined;
  try {
    new RegExp(s.value);
    return s;
  } catch (err) {
    const why = errorText(err);
    r.fail(
      f,
      `invalid response-regexp: ${why}; write a JavaScript regular expression, e.g. "^OK"`,
    );
    return undefined;
  }
}

/** `200`, `"200-399"`, `"200,204,300-399"`, or a list of any of these. */
function responseCodes(r: Reader, f: Entry): RawResponseCodes | undefined {
  if (isNull(f.node)) {
    r.fail(
      f,
      "response-code has no value: write e.g. 200-399, or remove the key to use the default",
    );
    return undefined;
  }
  const items = isScalar(f.node) ? [f] : r.seqItems(f.node, f);
  if (items === undefined) return undefined;
  if (items.length === 0) {
    r.fail(
      f,
      "response-code is an empty list: list at least one code or range, e.g. [200, 300-399]",
    );
    return undefined;
  }
  const ranges: Field<StatusRange>[] = [];
  let ok = true;
  for (const item of items) {
    const found = codesOf(r, item);
    if (found === undefined) {
      ok = false;
      continue;
    }
    for (const value of found) {
      ranges.push({ value, loc: item.loc, path: item.path });
    }
  }
  return ok ? { loc: f.loc, path: f.path, ranges } : undefined;
}

function codesOf(r: Reader, item: Entry): StatusRange[] | undefined {
  const node = item.node;
  if (isScalar(node) && typeof node.value === "number") {
    const n = r.int(item);
    return n === undefined ? undefined : [[n.value, n.value]];
  }
  if (!isScalar(node) || typeof node.value !== "string") {
    r.fail(
      item,
      "expected a status code (200), a range (200-399) or a list (200,204,300-399)",
    );
    return undefined;
  }
  try {
    return parseStatusCodes(node.value);
  } catch (err) {
    r.fail(item, errorText(err));
    return undefined;
  }
}
