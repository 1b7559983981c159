import assert from "node:assert/strict";
import { formatConfigError, formatConfigErrors } from "./format.ts";
import { parseConfigText } from "./load.ts";
import type { ConfigError } from "./types.ts";

const base: ConfigError = {
  kind: "semantic",
  file: "/etc/vpp-maglev/maglev.yaml",
  line: 12,
  col: 7,
  path: "maglev.frontends.web.pools[1].backends.x",
  message: 'unknown backend "x": define it under maglev.backends',
};

Deno.test("formatConfigError: file:line:col: path: message", () => {
  assert.equal(
    formatConfigError(base),
    '/etc/vpp-maglev/maglev.yaml:12:7: maglev.frontends.web.pools[1].backends.x: unknown backend "x": define it under maglev.backends',
  );
});

Deno.test("formatConfigError: no position at line 0, no path when empty", () => {
  assert.equal(
    formatConfigError({
      ...base,
      line: 0,
      col: 0,
      path: "",
      message: "cannot read config: denied",
    }),
    "/etc/vpp-maglev/maglev.yaml: cannot read config: denied",
  );
  assert.equal(
    formatConfigError({ ...base, path: "" }),
    `/etc/vpp-maglev/maglev.yaml:12:7: ${base.message}`,
  );
});

Deno.test("formatConfigErrors: one line per error, in order", () => {
  const result = parseConfigText(
    "maglev:\n  backends:\n    a: {}\n    b: 5\n",
    "m.yaml",
    { vppEnabled: false },
  );
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(
    formatConfigErrors(result.errors),
    [
      "m.yaml:3:8: maglev.backends.a.address: missing key address: add the backend's IP address, e.g. address: 198.51.100.10",
      "m.yaml:3:8: maglev.backends.a.healthcheck: missing key healthcheck: add the name of an entry of maglev.healthchecks",
      "m.yaml:4:8: maglev.backends.b: expected a mapping (key: value lines), got the number 5",
    ].join("\n"),
  );
  assert.equal(formatConfigErrors([]), "");
});
