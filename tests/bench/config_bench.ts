/**
 * `deno bench -A tests/bench/config_bench.ts`: how long judging a config
 * takes, broken or large. A SIGHUP parses on the daemon's event loop, so this
 * time is time without probes.
 */
import { parseConfigText } from "../../src/config/load.ts";

/** 32,000 tab-indented lines: 32,000 YAML syntax errors. */
const BROKEN = `maglev:\n${
  Array.from({ length: 32_000 }, (_, i) => `\tk${i}: 1`).join("\n")
}\n`;

/** 5,000 backends with their own health checks, one frontend each per 10. */
const LARGE = (() => {
  const n = 5000;
  const checks = Array.from(
    { length: n },
    (_, i) => `    hc${i}: { type: tcp, port: ${20000 + i} }`,
  );
  const backends = Array.from(
    { length: n },
    (_, i) =>
      `    b${i}: { address: 10.${(i >> 8) & 255}.${
        i & 255
      }.1, healthcheck: hc${i} }`,
  );
  const frontends = Array.from(
    { length: n / 10 },
    (_, f) =>
      `    f${f}:\n      address: 192.0.${f >> 8}.${
        f & 255
      }\n      port: 80\n      pools:\n        - name: p\n          backends: { ${
        Array.from({ length: 10 }, (_, k) => `b${f * 10 + k}: {}`).join(", ")
      } }`,
  );
  return `maglev:\n  healthchecks:\n${checks.join("\n")}\n  backends:\n${
    backends.join("\n")
  }\n  frontends:\n${frontends.join("\n")}\n`;
})();

Deno.bench("config: 32,000 broken lines judged", () => {
  const r = parseConfigText(BROKEN, "broken.yaml", { vppEnabled: false });
  if (r.ok) throw new Error("a broken file loaded");
});

Deno.bench("config: 5,000 backends and health checks, 500 frontends", () => {
  const r = parseConfigText(LARGE, "large.yaml", { vppEnabled: false });
  if (!r.ok) throw new Error(JSON.stringify(r.errors.slice(0, 2)));
});
