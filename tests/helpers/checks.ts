/**
 * Health-check configs for tests: the defaults the config loader would fill
 * in, overridable field by field.
 */
import type {
  HealthCheckConfig,
  HealthCheckParams,
  HealthCheckType,
} from "../../src/config/types.ts";

/** Overrides for `makeCheck`: any top-level field, params merged. */
export type CheckOverrides =
  & Partial<Omit<HealthCheckConfig, "params">>
  & { readonly params?: Partial<HealthCheckParams> };

/** A complete HealthCheckConfig of `type` with loader defaults. */
export function makeCheck(
  type: HealthCheckType,
  overrides: CheckOverrides = {},
): HealthCheckConfig {
  const { params, ...rest } = overrides;
  return {
    name: `test-${type}`,
    type,
    port: type === "https" ? 443 : type === "icmp" ? 0 : 80,
    intervalMs: 2000,
    fastIntervalMs: 2000,
    downIntervalMs: 2000,
    timeoutMs: 1000,
    rise: 2,
    fall: 3,
    ...rest,
    params: {
      path: "/",
      method: "GET",
      responseCodes: [[200, 399]],
      tls: false,
      insecureSkipVerify: false,
      ...params,
    },
  };
}
