/**
 * Every key the config loader accepts, listed by where it may appear. The
 * parser reads its allowed keys from here, so this is the one list;
 * `tests/docs_config_keys_test.ts` checks that `docs/config-guide.md`
 * documents every key and that the loader really accepts each one.
 */
import type { HealthCheckType } from "./types.ts";

/**
 * Keys by location. `<name>` stands for a name the operator chooses, `[]`
 * for any item of a list; `""` is the top level of the file.
 */
export const CONFIG_KEY_TABLE: Readonly<Record<string, readonly string[]>> = {
  "": ["maglev"],
  "maglev": ["healthchecker", "vpp", "healthchecks", "backends", "frontends"],
  "maglev.healthchecker": ["transition-history", "netns"],
  "maglev.vpp": ["lb"],
  "maglev.vpp.lb": [
    "ipv4-src-address",
    "ipv6-src-address",
    "sync-interval",
    "sticky-buckets-per-core",
    "flow-timeout",
    "startup-min-delay",
    "startup-max-delay",
  ],
  "maglev.healthchecks.<name>": [
    "type",
    "port",
    "interval",
    "fast-interval",
    "down-interval",
    "timeout",
    "rise",
    "fall",
    "params",
  ],
  "maglev.backends.<name>": ["address", "healthcheck", "enabled"],
  "maglev.frontends.<name>": [
    "description",
    "address",
    "protocol",
    "port",
    "src-ip-sticky",
    "flush-on-down",
    "min-healthy",
    "pools",
  ],
  "maglev.frontends.<name>.pools[]": ["name", "backends"],
  "maglev.frontends.<name>.pools[].backends.<name>": ["weight"],
};

/** The `params` keys each health check type accepts. */
export const PARAMS_KEYS: Readonly<Record<HealthCheckType, readonly string[]>> =
  {
    icmp: [],
    tcp: ["tls", "server-name", "insecure-skip-verify"],
    http: ["path", "host", "method", "response-code", "response-regexp"],
    https: [
      "path",
      "host",
      "method",
      "response-code",
      "response-regexp",
      "server-name",
      "insecure-skip-verify",
    ],
  };

/** Every key name, each once: the table's keys, then the `params` keys. */
export const CONFIG_KEYS: readonly string[] = [
  ...new Set([
    ...Object.values(CONFIG_KEY_TABLE).flat(),
    ...Object.values(PARAMS_KEYS).flat(),
  ]),
];
