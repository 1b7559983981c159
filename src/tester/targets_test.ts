import assert from "node:assert/strict";
import { parseConfigText } from "../config/load.ts";
import type { Config } from "../config/types.ts";
import { checkFor, probeTargetOf } from "./check.ts";
import {
  buildTargets,
  type ConfigSource,
  schemeFor,
  targetKey,
  type TargetRules,
} from "./targets.ts";

/** A config with a VIP of every kind and backends on other addresses. */
const CONFIG = `maglev:
  healthchecks:
    hc: { type: http, port: 8080 }
  backends:
    be1: { address: 198.51.100.1, healthcheck: hc }
    be2: { address: 198.51.100.2, healthcheck: hc }
    be6: { address: 2001:db8:99::1, healthcheck: hc }
  frontends:
    web: { address: 192.0.2.1, port: 80, pools: [{ name: p, backends: { be1: {}, be2: {} } }] }
    web-tls: { address: 192.0.2.1, port: 443, pools: [{ name: p, backends: { be1: {} } }] }
    smtp: { address: 192.0.2.2, port: 25, pools: [{ name: p, backends: { be2: {} } }] }
    v6: { address: "2001:db8::1", port: 80, pools: [{ name: p, backends: { be6: {} } }] }
    dns: { address: 192.0.2.53, protocol: udp, port: 53, pools: [{ name: p, backends: { be1: {} } }] }
    all: { address: 192.0.2.64, protocol: any, pools: [{ name: p, backends: { be1: {} } }] }
    net: { address: 192.0.2.128/28, port: 80, pools: [{ name: p, backends: { be1: {} } }] }
`;

/** The same web VIP under another name, as on a second load balancer. */
const CONFIG_B = `maglev:
  healthchecks:
    hc: { type: tcp, port: 80 }
  backends:
    be3: { address: 198.51.100.3, healthcheck: hc }
  frontends:
    www: { address: 192.0.2.1, port: 80, pools: [{ name: p, backends: { be3: {} } }] }
`;

function load(text: string, file: string): ConfigSource & { config: Config } {
  const r = parseConfigText(text, file, { vppEnabled: false });
  assert.ok(r.ok, JSON.stringify(r));
  return { file, frontends: r.config.frontends, config: r.config };
}

const RULES: TargetRules = {
  httpPorts: new Set([80]),
  httpsPorts: new Set([443]),
};

Deno.test("targets: only frontend VIPs, never a backend address", () => {
  const a = load(CONFIG, "a.yaml");
  const b = load(CONFIG_B, "b.yaml");
  const { targets } = buildTargets([a, b], { ...RULES, anyPort: 22 });
  const vipAddresses = new Set(
    [a, b].flatMap((s) => [...s.frontends.values()].map((f) => f.address)),
  );
  const backendAddresses = new Set(
    [a, b].flatMap((s) =>
      [...s.config.backends.values()].map((x) => x.address)
    ),
  );
  assert.ok(targets.length > 0);
  for (const t of targets) {
    assert.ok(vipAddresses.has(t.address), `${t.key} is no frontend's VIP`);
    assert.ok(!backendAddresses.has(t.address), `${t.key} is a backend`);
    // What reaches the prober is that address and nothing else.
    assert.equal(probeTargetOf(t).address, t.address);
    assert.equal(
      checkFor(t, {
        uri: "/",
        timeoutMs: 100,
        insecure: false,
      }).port,
      t.port,
    );
  }
});

Deno.test("targets: scheme by port, skipped kinds, one target per VIP", () => {
  const a = load(CONFIG, "a.yaml");
  const b = load(CONFIG_B, "b.yaml");
  const { targets, skipped } = buildTargets([a, b], RULES);
  assert.deepEqual(
    targets.map((t) => [t.key, t.frontends.join(",")]),
    [
      ["http://192.0.2.1:80", "web,www"],
      ["https://192.0.2.1:443", "web-tls"],
      ["tcp://192.0.2.2:25", "smtp"],
      ["http://[2001:db8::1]:80", "v6"],
    ],
  );
  assert.deepEqual(
    skipped.map((s) => [s.frontend, s.file]),
    [["dns", "a.yaml"], ["all", "a.yaml"], ["net", "a.yaml"]],
  );
  assert.match(skipped[0].reason, /UDP/);
  assert.match(skipped[1].reason, /--any-port/);
  assert.match(skipped[2].reason, /prefix/);
  assert.equal(skipped[2].vip, "192.0.2.128/28 tcp port 80");
});

Deno.test("targets: --any-port probes all-port VIPs on that port", () => {
  const { targets, skipped } = buildTargets([load(CONFIG, "a.yaml")], {
    ...RULES,
    anyPort: 443,
  });
  assert.ok(targets.some((t) => t.key === "https://192.0.2.64:443"));
  assert.deepEqual(skipped.map((s) => s.frontend), ["dns", "net"]);
});

Deno.test("targets: --filter matches frontend names, unanchored", () => {
  const { targets, skipped } = buildTargets([load(CONFIG, "a.yaml")], {
    ...RULES,
    filter: /^web/,
  });
  assert.deepEqual(targets.map((t) => t.frontends[0]), ["web", "web-tls"]);
  assert.deepEqual(skipped, [], "filtered-out frontends are not 'skipped'");
  const none = buildTargets([load(CONFIG, "a.yaml")], {
    ...RULES,
    filter: /nothing/,
  });
  assert.equal(none.targets.length, 0);
});

Deno.test("targets: port lists decide the scheme; keys bracket IPv6", () => {
  const rules = { httpPorts: new Set([80, 8080]), httpsPorts: new Set([443]) };
  assert.equal(schemeFor(8080, rules), "http");
  assert.equal(schemeFor(443, rules), "https");
  assert.equal(schemeFor(22, rules), "tcp");
  assert.equal(targetKey("tcp", "::1", 22), "tcp://[::1]:22");
});

Deno.test("check: GET of the URI with the Host and TLS settings, or a connect", () => {
  const { targets } = buildTargets([load(CONFIG, "a.yaml")], RULES);
  const s = { uri: "/hz", host: "www.example", timeoutMs: 700, insecure: true };
  const https = checkFor(targets[1], s);
  assert.equal(https.type, "https");
  assert.equal(https.port, 443);
  assert.equal(https.timeoutMs, 700);
  assert.equal(https.params.path, "/hz");
  assert.equal(https.params.host, "www.example");
  assert.equal(https.params.serverName, "www.example");
  assert.equal(https.params.insecureSkipVerify, true);
  assert.equal(https.params.method, "GET");
  assert.deepEqual(https.params.responseCodes, [], "2xx and 3xx succeed");
  const tcp = checkFor(targets[2], { uri: "/", timeoutMs: 1, insecure: false });
  assert.equal(tcp.type, "tcp");
  assert.equal(tcp.params.tls, false);
});
