/**
 * Default values, in one place so the docs, the loader and the tests agree.
 * Durations are milliseconds.
 */
export const DEFAULTS = {
  transitionHistory: 5,
  intervalMs: 2_000,
  timeoutMs: 1_000,
  rise: 2,
  fall: 3,
  httpPort: 80,
  httpsPort: 443,
  path: "/",
  method: "GET",
  responseCodes: [[200, 399]],
  enabled: true,
  description: "",
  protocol: "tcp",
  srcIpSticky: false,
  flushOnDown: true,
  weight: 100,
  syncIntervalMs: 30_000,
  stickyBucketsPerCore: 65_536,
  flowTimeoutMs: 40_000,
  startupMinDelayMs: 5_000,
  startupMaxDelayMs: 30_000,
} as const;
