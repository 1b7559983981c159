import assert from "node:assert/strict";
import { parseConfigText } from "./load.ts";
import type { Config } from "./types.ts";
import { configWarnings, slowestFirstVerdict } from "./warnings.ts";

function config(lb: string, checks: string): Config {
  const r = parseConfigText(
    `maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      ipv6-src-address: 2001:db8::254
${lb}
  healthchecks:
${checks}
  backends:
    a: { address: 10.0.0.1, healthcheck: slow }
    b: { address: 10.0.0.2, healthcheck: fast }
    c: { address: 10.0.0.3, healthcheck: slower }
    d: { address: 10.0.0.4, healthcheck: slower, enabled: false }
  frontends:
    web:
      address: 192.0.2.1
      port: 80
      pools:
        - name: p
          backends: { a: {}, b: {}, d: {} }
`,
    "t.yaml",
  );
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

const CHECKS = `    fast: { type: tcp, port: 80, interval: 1s, timeout: 500ms }
    slow: { type: tcp, port: 80, interval: 60s, fast-interval: 45s, timeout: 2s }
    slower: { type: tcp, port: 80, interval: 90s, fast-interval: 90s, timeout: 5s }`;

Deno.test("config warnings: startup-max-delay shorter than a backend's first verdict", () => {
  // c (slower) is in no frontend and d is disabled: a (slow) is the worst.
  const c = config("", CHECKS);
  assert.deepEqual(slowestFirstVerdict(c), { backend: "a", ms: 47_000 });
  const w = configWarnings(c);
  assert.equal(w.length, 1);
  assert.equal(w[0].path, "vpp.lb.startup-max-delay");
  assert.match(
    w[0].message,
    /^30s is shorter than backend "a" can take to its first verdict \(fast-interval 45s \+ timeout 2s\); the warmup waits up to 47s for it/,
  );
  // Long enough, or no warmup at all: nothing to say.
  assert.deepEqual(
    configWarnings(config("      startup-max-delay: 47s", CHECKS)),
    [],
  );
  assert.deepEqual(
    configWarnings(
      config(
        "      startup-min-delay: 0s\n      startup-max-delay: 0s",
        CHECKS,
      ),
    ),
    [],
  );
  // max 0 with a min: the warmup ends at min, which is what counts.
  assert.deepEqual(
    configWarnings(
      config(
        "      startup-min-delay: 50s\n      startup-max-delay: 0s",
        CHECKS,
      ),
    ),
    [],
  );
});
