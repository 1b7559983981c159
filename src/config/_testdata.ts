/** Shared fixtures and assertions for the config tests. */
import assert from "node:assert/strict";
import { parseConfigText } from "./load.ts";
import type { Config, ConfigError, ConfigErrorKind } from "./types.ts";
import type { LoadOptions } from "./load.ts";

/** The product spec's example, completed: every key, every section. */
export const FULL_EXAMPLE = `# maglev example configuration
maglev:
  healthchecker:
    transition-history: 7
    netns: dataplane
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      ipv6-src-address: 2001:DB8:0::254
      sync-interval: 1m30s
      sticky-buckets-per-core: 1024
      flow-timeout: 60s
      startup-min-delay: 0
      startup-max-delay: 45s
  healthchecks:
    http-health:
      type: http
      port: 8080
      interval: 2s
      fast-interval: 500ms
      down-interval: 10s
      timeout: 1s
      rise: 2
      fall: 3
      params:
        path: /healthz
        host: www.example.com
        method: HEAD
        response-code: [200, "300-302", "204,205"]
        response-regexp: "^OK"
    tls-health:
      type: https
      params:
        server-name: api.example.com
        insecure-skip-verify: true
    tcp-health:
      type: tcp
      port: 443
      timeout: 250ms
      params:
        tls: true
    ping:
      type: icmp
      interval: 1s
      timeout: 500ms
  backends:
    nginx0-ams:
      address: 198.51.100.10
      healthcheck: http-health
      enabled: true
    nginx1-ams:
      address: 198.51.100.11
      healthcheck: http-health
    nginx0-fra:
      address: 198.51.100.20
      healthcheck: ping
      enabled: false
    api6:
      address: 2001:db8:0:0:0:0:0:10
      healthcheck: tls-health
  frontends:
    web:
      description: "public web"
      address: 192.0.2.1
      protocol: tcp
      port: 80
      src-ip-sticky: true
      flush-on-down: false
      pools:
        - name: primary
          backends:
            nginx0-ams: { weight: 100 }
            nginx1-ams: {}
        - name: fallback
          backends:
            nginx0-fra:
    api:
      address: 2001:db8:1::/64
      protocol: any
      pools:
        - name: only
          backends:
            api6: { weight: 0 }
`;

/** The smallest useful config (VPP on), used as a base for one-rule tests. */
export const MINIMAL = `maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      ipv6-src-address: 2001:db8::254
  healthchecks:
    hc:
      type: tcp
      port: 80
  backends:
    b1:
      address: 10.0.0.1
      healthcheck: hc
  frontends:
    web:
      address: 192.0.2.1
      port: 80
      pools:
        - name: p
          backends:
            b1: ~
`;

/** What a test expects of one error; `message` is matched, not compared. */
export interface Expected {
  readonly kind: ConfigErrorKind;
  readonly path: string;
  readonly line: number;
  readonly col: number;
  readonly message: RegExp;
}

/** Loads `text` and asserts that it is valid. */
export function loadOk(text: string, opts?: LoadOptions): Config {
  const result = parseConfigText(text, "maglev.yaml", opts);
  if (!result.ok) {
    assert.fail(
      `expected a valid config, got:\n${
        result.errors.map((e) => `${e.line}:${e.col} ${e.path}: ${e.message}`)
          .join("\n")
      }`,
    );
  }
  return result.config;
}

/** Loads `text` and asserts exactly these errors, in this order. */
export function expectErrors(
  text: string,
  expected: readonly Expected[],
  opts?: LoadOptions,
): readonly ConfigError[] {
  const result = parseConfigText(text, "maglev.yaml", opts);
  assert.equal(result.ok, false, "expected errors, the config loaded");
  if (result.ok) return [];
  const shown = result.errors.map((e) =>
    `${e.kind} ${e.line}:${e.col} ${e.path}: ${e.message}`
  ).join("\n");
  assert.equal(
    result.errors.length,
    expected.length,
    `wrong number of errors:\n${shown}`,
  );
  assert.equal(result.kind, expected[0].kind, shown);
  expected.forEach((want, i) => {
    const got = result.errors[i];
    assert.equal(got.file, "maglev.yaml");
    assert.deepEqual(
      { kind: got.kind, path: got.path, line: got.line, col: got.col },
      { kind: want.kind, path: want.path, line: want.line, col: want.col },
      `error ${i}:\n${shown}`,
    );
    assert.match(got.message, want.message, `error ${i}:\n${shown}`);
  });
  return result.errors;
}

/** Loads `text` and asserts exactly this one error. */
export function expectError(
  text: string,
  expected: Expected,
  opts?: LoadOptions,
): ConfigError {
  return expectErrors(text, [expected], opts)[0];
}

/** Shorthand for the many tests that do not care about VPP. */
export const NO_VPP: LoadOptions = { vppEnabled: false };
