/** Semantic stage for one health check: ranges, timing rules, defaults. */
import type { Checker } from "./_checker.ts";
import { DEFAULTS } from "./_defaults.ts";
import type { Field } from "./_reader.ts";
import type { RawHealthCheck, RawParams } from "./_raw.ts";
import type {
  HealthCheckConfig,
  HealthCheckParams,
  HealthCheckType,
  StatusRange,
} from "./types.ts";

/** Validates a health check and returns it with defaults filled in. */
export function buildHealthCheck(
  c: Checker,
  h: RawHealthCheck,
): HealthCheckConfig {
  const type = h.type.value;
  const intervalMs = positive(c, h.interval, "interval") ?? DEFAULTS.intervalMs;
  const fastIntervalMs = positive(c, h.fastInterval, "fast-interval") ??
    intervalMs;
  const downIntervalMs = positive(c, h.downInterval, "down-interval") ??
    intervalMs;
  const timeoutMs = positive(c, h.timeout, "timeout") ?? DEFAULTS.timeoutMs;
  // A timeout at or above the interval is allowed, as in the original
  // system (its own example has interval 2s, timeout 3s): a probe never
  // overlaps itself, the next one starts `interval` after the previous
  // ended. `--check` warns about it (warnings.ts).
  return {
    name: h.name,
    type,
    port: port(c, h, type),
    intervalMs,
    fastIntervalMs,
    downIntervalMs,
    timeoutMs,
    rise: atLeastOne(c, h.rise, "rise", "passes needed to go up") ??
      DEFAULTS.rise,
    fall: atLeastOne(c, h.fall, "fall", "failures needed to go down") ??
      DEFAULTS.fall,
    params: params(c, h, type),
  };
}

function positive(
  c: Checker,
  f: Field<number> | undefined,
  key: string,
): number | undefined {
  if (f !== undefined && f.value <= 0) {
    c.fail(f, `${key} must be greater than 0: write e.g. 2s`);
  }
  return f?.value;
}

function atLeastOne(
  c: Checker,
  f: Field<number> | undefined,
  key: string,
  what: string,
): number | undefined {
  if (f !== undefined && f.value < 1) {
    c.fail(
      f,
      `${key} must be at least 1 (the number of ${what}), got ${f.value}`,
    );
  }
  return f?.value;
}

function port(c: Checker, h: RawHealthCheck, type: HealthCheckType): number {
  if (type === "icmp") {
    if (h.port !== undefined) {
      c.fail(h.port, "icmp checks have no port: remove port");
    }
    return 0;
  }
  if (h.port === undefined) {
    if (type === "tcp") {
      c.missing(
        h,
        "port",
        "port is required for tcp checks: add port: 1..65535",
      );
      return 0;
    }
    return type === "http" ? DEFAULTS.httpPort : DEFAULTS.httpsPort;
  }
  if (h.port.value < 1 || h.port.value > 65535) {
    c.fail(h.port, `port ${h.port.value} is out of range: use 1..65535`);
  }
  return h.port.value;
}

function params(
  c: Checker,
  h: RawHealthCheck,
  type: HealthCheckType,
): HealthCheckParams {
  const p: RawParams = h.params;
  const tls = p.tls?.value ?? false;
  if (type === "tcp" && !tls) {
    for (const f of [p.serverName, p.insecureSkipVerify]) {
      if (f === undefined) continue;
      const key = f.path.slice(f.path.lastIndexOf(".") + 1);
      c.fail(
        f,
        `${key} only applies to a tcp check with tls: true: add tls: true to params, or remove ${key}`,
      );
    }
  }
  const responseCodes: StatusRange[] = [];
  for (const range of p.responseCodes?.ranges ?? []) {
    const [low, high] = range.value;
    if (low < 100 || high > 599 || low > 599 || high < 100) {
      const shown = low === high ? `${low}` : `${low}-${high}`;
      c.fail(
        range,
        `status code ${shown} is out of range: HTTP status codes are 100..599`,
      );
    } else if (low > high) {
      c.fail(
        range,
        `status code range ${low}-${high} is reversed: write ${high}-${low}`,
      );
    }
    responseCodes.push(range.value);
  }
  const host = p.host?.value;
  const serverName = p.serverName?.value ?? host;
  const responseRegexp = p.responseRegexp?.value;
  // Optional fields are left out rather than set to undefined, so configs compare cleanly.
  return {
    path: p.path?.value ?? DEFAULTS.path,
    ...(host === undefined ? {} : { host }),
    method: p.method?.value ?? DEFAULTS.method,
    responseCodes: p.responseCodes === undefined
      ? DEFAULTS.responseCodes.map(([low, high]): StatusRange => [low, high])
      : responseCodes,
    ...(responseRegexp === undefined ? {} : { responseRegexp }),
    tls,
    ...(serverName === undefined ? {} : { serverName }),
    insecureSkipVerify: p.insecureSkipVerify?.value ?? false,
  };
}
