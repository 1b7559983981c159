import assert from "node:assert/strict";
import { loadConfigFile, MAX_CONFIG_BYTES, parseConfigText } from "./load.ts";
import { FULL_EXAMPLE, loadOk, MINIMAL, NO_VPP } from "./_testdata.ts";
import type { HealthCheckParams } from "./types.ts";

const DEFAULT_PARAMS: HealthCheckParams = {
  path: "/",
  method: "GET",
  responseCodes: [[200, 399]],
  tls: false,
  insecureSkipVerify: false,
};

Deno.test("full example loads with exact typed values", () => {
  const config = loadOk(FULL_EXAMPLE);

  assert.deepEqual(config.healthchecker, {
    transitionHistory: 7,
    netns: "dataplane",
  });
  assert.deepEqual(config.vpp, {
    lb: {
      ipv4SrcAddress: "192.0.2.254",
      ipv6SrcAddress: "2001:db8::254",
      syncIntervalMs: 90_000,
      stickyBucketsPerCore: 1024,
      flowTimeoutMs: 60_000,
      startupMinDelayMs: 0,
      startupMaxDelayMs: 45_000,
    },
  });

  assert.deepEqual([...config.healthchecks.keys()], [
    "http-health",
    "tls-health",
    "tcp-health",
    "ping",
  ]);
  assert.deepEqual(config.healthchecks.get("http-health"), {
    name: "http-health",
    type: "http",
    port: 8080,
    intervalMs: 2000,
    fastIntervalMs: 500,
    downIntervalMs: 10_000,
    timeoutMs: 1000,
    rise: 2,
    fall: 3,
    params: {
      path: "/healthz",
      host: "www.example.com",
      method: "HEAD",
      responseCodes: [[200, 200], [300, 302], [204, 204], [205, 205]],
      responseRegexp: "^OK",
      tls: false,
      serverName: "www.example.com",
      insecureSkipVerify: false,
    },
  });
  assert.deepEqual(config.healthchecks.get("tls-health"), {
    name: "tls-health",
    type: "https",
    port: 443,
    intervalMs: 2000,
    fastIntervalMs: 2000,
    downIntervalMs: 2000,
    timeoutMs: 1000,
    rise: 2,
    fall: 3,
    params: {
      ...DEFAULT_PARAMS,
      serverName: "api.example.com",
      insecureSkipVerify: true,
    },
  });
  assert.deepEqual(config.healthchecks.get("tcp-health"), {
    name: "tcp-health",
    type: "tcp",
    port: 443,
    intervalMs: 2000,
    fastIntervalMs: 2000,
    downIntervalMs: 2000,
    timeoutMs: 250,
    rise: 2,
    fall: 3,
    params: { ...DEFAULT_PARAMS, tls: true },
  });
  assert.deepEqual(config.healthchecks.get("ping"), {
    name: "ping",
    type: "icmp",
    port: 0,
    intervalMs: 1000,
    fastIntervalMs: 1000,
    downIntervalMs: 1000,
    timeoutMs: 500,
    rise: 2,
    fall: 3,
    params: DEFAULT_PARAMS,
  });

  assert.deepEqual([...config.backends.values()], [
    {
      name: "nginx0-ams",
      address: "198.51.100.10",
      family: 4,
      healthcheck: "http-health",
      enabled: true,
    },
    {
      name: "nginx1-ams",
      address: "198.51.100.11",
      family: 4,
      healthcheck: "http-health",
      enabled: true,
    },
    {
      name: "nginx0-fra",
      address: "198.51.100.20",
      family: 4,
      healthcheck: "ping",
      enabled: false,
    },
    {
      name: "api6",
      address: "2001:db8::10",
      family: 6,
      healthcheck: "tls-health",
      enabled: true,
    },
  ]);
  assert.deepEqual([...config.backends.keys()], [
    "nginx0-ams",
    "nginx1-ams",
    "nginx0-fra",
    "api6",
  ]);

  assert.deepEqual([...config.frontends.keys()], ["web", "api"]);
  assert.deepEqual(config.frontends.get("web"), {
    name: "web",
    description: "public web",
    prefix: "192.0.2.1/32",
    address: "192.0.2.1",
    prefixLength: 32,
    family: 4,
    backendFamily: 4,
    protocol: "tcp",
    port: 80,
    srcIpSticky: true,
    flushOnDown: false,
    pools: [
      {
        name: "primary",
        members: [{ backend: "nginx0-ams", weight: 100 }, {
          backend: "nginx1-ams",
          weight: 100,
        }],
      },
      { name: "fallback", members: [{ backend: "nginx0-fra", weight: 100 }] },
    ],
  });
  assert.deepEqual(config.frontends.get("api"), {
    name: "api",
    description: "",
    prefix: "2001:db8:1::/64",
    address: "2001:db8:1::",
    prefixLength: 64,
    family: 6,
    backendFamily: 6,
    protocol: "any",
    port: 0,
    srcIpSticky: false,
    flushOnDown: true,
    pools: [{ name: "only", members: [{ backend: "api6", weight: 0 }] }],
  });
});

Deno.test("defaults fill every omitted key", () => {
  const config = loadOk(
    `maglev:
  healthchecks:
    h:
      type: http
    s:
      type: https
      interval: 5s
      params:
        host: example.org
  backends:
    b:
      address: 10.0.0.1
      healthcheck: h
  frontends:
    f:
      address: 192.0.2.1
      port: 80
      pools:
        - name: p
          backends:
            b:
`,
    NO_VPP,
  );
  assert.deepEqual(config.healthchecker, { transitionHistory: 5 });
  assert.deepEqual(config.vpp.lb, {
    syncIntervalMs: 30_000,
    stickyBucketsPerCore: 65_536,
    flowTimeoutMs: 40_000,
    startupMinDelayMs: 5_000,
    startupMaxDelayMs: 30_000,
  });
  const h = config.healthchecks.get("h");
  assert.deepEqual(h, {
    name: "h",
    type: "http",
    port: 80,
    intervalMs: 2000,
    fastIntervalMs: 2000,
    downIntervalMs: 2000,
    timeoutMs: 1000,
    rise: 2,
    fall: 3,
    params: DEFAULT_PARAMS,
  });
  const s = config.healthchecks.get("s");
  assert.equal(s?.port, 443);
  assert.equal(s?.fastIntervalMs, 5000, "fast-interval defaults to interval");
  assert.equal(s?.downIntervalMs, 5000, "down-interval defaults to interval");
  assert.equal(
    s?.params.serverName,
    "example.org",
    "server-name defaults to host",
  );
  assert.deepEqual(config.backends.get("b"), {
    name: "b",
    address: "10.0.0.1",
    family: 4,
    healthcheck: "h",
    enabled: true,
  });
  assert.deepEqual(config.frontends.get("f"), {
    name: "f",
    description: "",
    prefix: "192.0.2.1/32",
    address: "192.0.2.1",
    prefixLength: 32,
    family: 4,
    backendFamily: 4,
    protocol: "tcp",
    port: 80,
    srcIpSticky: false,
    flushOnDown: true,
    pools: [{ name: "p", members: [{ backend: "b", weight: 100 }] }],
  });
});

Deno.test("sections may be omitted or empty; pool members may be ~, empty or {}", () => {
  const empty = loadOk(
    "maglev:\n  healthchecks:\n  backends: {}\n  frontends: ~\n",
    NO_VPP,
  );
  assert.equal(empty.healthchecks.size, 0);
  assert.equal(empty.backends.size, 0);
  assert.equal(empty.frontends.size, 0);
  assert.equal(loadOk("maglev: {}\n", NO_VPP).frontends.size, 0);

  const config = loadOk(
    `maglev:
  healthchecks:
    h: { type: icmp }
  backends:
    a: { address: 10.0.0.1, healthcheck: h }
    b: { address: 10.0.0.2, healthcheck: h }
    c: { address: 10.0.0.3, healthcheck: h }
    d: { address: 10.0.0.4, healthcheck: h }
  frontends:
    f:
      address: 192.0.2.1
      port: 53
      protocol: udp
      pools:
        - name: p
          backends:
            a: ~
            b:
            c: {}
            d: { weight: 7 }
`,
    NO_VPP,
  );
  assert.deepEqual(config.frontends.get("f")?.pools[0].members, [
    { backend: "a", weight: 100 },
    { backend: "b", weight: 100 },
    { backend: "c", weight: 100 },
    { backend: "d", weight: 7 },
  ]);
});

Deno.test("a health check that no backend uses is fine", () => {
  const config = loadOk(
    `maglev:
  healthchecks:
    unused: { type: icmp }
`,
    NO_VPP,
  );
  assert.equal(config.healthchecks.get("unused")?.type, "icmp");
});

Deno.test("the minimal fixture is valid with VPP on", () => {
  const config = loadOk(MINIMAL);
  assert.equal(config.vpp.lb.ipv6SrcAddress, "2001:db8::254");
});

Deno.test("YAML conveniences: aliases, hex integers, quoted strings, integer-looking names", () => {
  const config = loadOk(
    `maglev:
  healthchecks:
    base: &base
      type: tcp
      port: 0x50
    copy: *base
  backends:
    "1":
      address: "10.0.0.1"
      healthcheck: copy
  frontends:
    "2024":
      description: 2024
      address: 192.0.2.1
      port: 80
      pools:
        - name: 1
          backends:
            1:
`,
    NO_VPP,
  );
  assert.equal(config.healthchecks.get("copy")?.port, 80);
  assert.equal(config.frontends.get("2024")?.description, "2024");
  assert.equal(config.frontends.get("2024")?.pools[0].name, "1");
  assert.equal(config.frontends.get("2024")?.pools[0].members[0].backend, "1");
});

Deno.test("YAML merge keys (<<) fill in what the mapping does not set", () => {
  const config = loadOk(
    `maglev:
  healthchecks:
    base: &base
      type: http
      interval: 5s
      port: 81
    web:
      <<: *base
      port: 8080
    more:
      <<: [*base, { rise: 7 }]
`,
    NO_VPP,
  );
  const web = config.healthchecks.get("web");
  assert.deepEqual([web?.type, web?.intervalMs, web?.port], [
    "http",
    5000,
    8080,
  ]);
  const more = config.healthchecks.get("more");
  assert.deepEqual([more?.type, more?.port, more?.rise], ["http", 81, 7]);
});

Deno.test("loadConfigFile reads a file and reports a missing one at line 0", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/maglev.yaml`;
    await Deno.writeTextFile(path, FULL_EXAMPLE);
    const ok = await loadConfigFile(path);
    assert.equal(ok.ok, true);

    const missing = await loadConfigFile(`${dir}/nope.yaml`);
    assert.equal(missing.ok, false);
    if (missing.ok) return;
    assert.equal(missing.kind, "parse");
    assert.equal(missing.errors.length, 1);
    const e = missing.errors[0];
    assert.deepEqual({ file: e.file, line: e.line, col: e.col, path: e.path }, {
      file: `${dir}/nope.yaml`,
      line: 0,
      col: 0,
      path: "",
    });
    assert.match(
      e.message,
      /^cannot read config: the file does not exist; check the path given with --config/,
    );

    const isDir = await loadConfigFile(dir);
    assert.equal(isDir.ok, false);
    if (!isDir.ok) {
      assert.match(
        isDir.errors[0].message,
        /^cannot read config: it is a directory; --config names the maglev.yaml file/,
      );
    }

    // A FIFO would block the read (and every later reload) for ever.
    const fifo = `${dir}/fifo.yaml`;
    const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.equal(mk.code, 0);
    const f = await loadConfigFile(fifo);
    assert.equal(f.ok, false);
    if (!f.ok) {
      assert.match(
        f.errors[0].message,
        /^cannot read config: it is not a regular file \(a FIFO, socket or device\)/,
      );
    }
    const dev = await loadConfigFile("/dev/zero");
    assert.equal(dev.ok, false, "a device is refused before any read");

    // Larger than any real config: refused without reading it.
    const big = `${dir}/big.yaml`;
    const file = await Deno.open(big, { write: true, create: true });
    await file.truncate(MAX_CONFIG_BYTES + 1);
    file.close();
    const b = await loadConfigFile(big);
    assert.equal(b.ok, false);
    if (!b.ok) {
      assert.match(
        b.errors[0].message,
        /more than the 16 MiB a config may have/,
      );
    }

    await Deno.writeFile(path, new Uint8Array([0x6d, 0xff, 0xfe, 0x0a]));
    const binary = await loadConfigFile(path);
    assert.equal(binary.ok, false);
    if (!binary.ok) assert.match(binary.errors[0].message, /not valid UTF-8/);

    await Deno.writeTextFile(
      path,
      "maglev:\n  backends:\n    b: {address: 1.2.3.4}\n",
    );
    const bad = await loadConfigFile(path, NO_VPP);
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.equal(bad.errors[0].file, path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseConfigText never throws on hostile input", () => {
  const inputs = [
    "\u0000",
    "maglev: &a [*a]",
    "a: &a\n  b: *a\n",
    "maglev:\n  backends: &b\n    x: *b\n",
    "%YAML 1.2\n---\nmaglev: {}\n",
    "!!map {maglev: {}}",
    "maglev: !!str {}",
    "? [a]\n: b\n",
    "maglev:\n  frontends:\n    f:\n      pools: [[[[[[]]]]]]\n",
    "maglev: " + "[".repeat(2000),
    "\uFEFFmaglev: {}\n",
  ];
  for (const text of inputs) {
    const result = parseConfigText(text, "x.yaml", NO_VPP);
    if (!result.ok) {
      for (const e of result.errors) {
        assert.ok(e.message.length > 0);
        assert.doesNotMatch(
          e.message,
          /internal error/,
          `${JSON.stringify(text)}: ${e.message}`,
        );
      }
    }
  }
  // Not a string at all (a JavaScript caller's mistake).
  const result = parseConfigText(42 as unknown as string, "x.yaml");
  assert.equal(result.ok, false);
});

Deno.test("vppEnabled defaults to true", () => {
  const text = "maglev: {}\n";
  assert.equal(parseConfigText(text, "m.yaml").ok, false);
  assert.equal(parseConfigText(text, "m.yaml", {}).ok, false);
  assert.equal(parseConfigText(text, "m.yaml", { vppEnabled: false }).ok, true);
});
