/** One test per semantic-stage rule: kind, path, line:col and message substance. */
import assert from "node:assert/strict";
import { parseConfigText } from "./load.ts";
import { configWarnings } from "./warnings.ts";
import {
  expectError,
  expectErrors,
  loadOk,
  MINIMAL,
  NO_VPP,
} from "./_testdata.ts";

const semantic = "semantic" as const;

/** Health checks and backends shared by the frontend tests (lines 1-13). */
const BACKENDS = `maglev:
  healthchecks:
    hc: { type: icmp }
  backends:
    v4a: { address: 10.0.0.1, healthcheck: hc }
    v4b: { address: 10.0.0.2, healthcheck: hc }
    v4c: { address: 10.0.0.3, healthcheck: hc }
    dup: { address: 10.0.0.1, healthcheck: hc }
    v6a: { address: "2001:db8::1", healthcheck: hc }
    v6b: { address: "2001:db8::2", healthcheck: hc }
    v6c: { address: "2001:db8::3", healthcheck: hc }
    v6dup: { address: "2001:db8:0::1", healthcheck: hc }
  frontends:
`;

Deno.test("semantic: backend.healthcheck must name a health check", () => {
  expectError(
    `maglev:
  healthchecks:
    http-check: { type: http }
    ping: { type: icmp }
  backends:
    b:
      address: 10.0.0.1
      healthcheck: http-chek
`,
    {
      kind: semantic,
      path: "maglev.backends.b.healthcheck",
      line: 8,
      col: 20,
      message:
        /unknown healthcheck "http-chek" \(did you mean "http-check"\?\): define it under maglev.healthchecks, or use one of: http-check, ping/,
    },
    NO_VPP,
  );
});

Deno.test("semantic: pool members must name backends", () => {
  expectError(
    BACKENDS + `    f:
      address: 192.0.2.1
      port: 80
      pools:
        - name: p
          backends:
            v4a: {}
            nginx9: {}
`,
    {
      kind: semantic,
      path: "maglev.frontends.f.pools[0].backends.nginx9",
      line: 21,
      col: 13,
      message:
        /unknown backend "nginx9": define it under maglev.backends, or use one of: v4a, v4b/,
    },
    NO_VPP,
  );
});

Deno.test("semantic: transition-history >= 1", () => {
  expectError("maglev:\n  healthchecker:\n    transition-history: 0\n", {
    kind: semantic,
    path: "maglev.healthchecker.transition-history",
    line: 3,
    col: 25,
    message: /transition-history must be at least 1.*got 0/,
  }, NO_VPP);
});

Deno.test("semantic: rise >= 1 and fall >= 1", () => {
  expectErrors(
    `maglev:
  healthchecks:
    h:
      type: icmp
      rise: 0
      fall: -2
`,
    [
      {
        kind: semantic,
        path: "maglev.healthchecks.h.rise",
        line: 5,
        col: 13,
        message: /rise must be at least 1 .*got 0/,
      },
      {
        kind: semantic,
        path: "maglev.healthchecks.h.fall",
        line: 6,
        col: 13,
        message: /fall must be at least 1 .*got -2/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("semantic: interval, fast-interval, down-interval and timeout > 0", () => {
  expectErrors(
    `maglev:
  healthchecks:
    h:
      type: icmp
      interval: 0s
      fast-interval: 0
      down-interval: 0ms
      timeout: 0s
`,
    [
      {
        kind: semantic,
        path: "maglev.healthchecks.h.interval",
        line: 5,
        col: 17,
        message: /interval must be greater than 0/,
      },
      {
        kind: semantic,
        path: "maglev.healthchecks.h.fast-interval",
        line: 6,
        col: 22,
        message: /fast-interval must be greater than 0/,
      },
      {
        kind: semantic,
        path: "maglev.healthchecks.h.down-interval",
        line: 7,
        col: 22,
        message: /down-interval must be greater than 0/,
      },
      {
        kind: semantic,
        path: "maglev.healthchecks.h.timeout",
        line: 8,
        col: 16,
        message: /timeout must be greater than 0/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("semantic: a timeout at or above the interval is accepted, as in the original (interval 2s, timeout 3s), with a --check warning", () => {
  const c = loadOk(
    `maglev:
  healthchecks:
    a:
      type: icmp
      interval: 2s
      timeout: 3s
    b:
      type: icmp
      interval: 1s
`,
    NO_VPP,
  );
  assert.equal(c.healthchecks.get("a")?.timeoutMs, 3000);
  const w = configWarnings(c, { vppEnabled: false });
  assert.deepEqual(w.map((x) => x.path), [
    "healthchecks.a.timeout",
    "healthchecks.b.timeout",
  ]);
  assert.match(
    w[0].message,
    /^3s is not shorter than interval 2s: a probe never overlaps the previous one, so a backend that hangs is probed every 5s/,
  );
});

Deno.test("semantic: port 1..65535 for tcp/http/https, required for tcp", () => {
  expectErrors(
    `maglev:
  healthchecks:
    t:
      type: tcp
    h:
      type: http
      port: 0
    s:
      type: https
      port: 65536
`,
    [
      {
        kind: semantic,
        path: "maglev.healthchecks.t.port",
        line: 4,
        col: 7,
        message: /port is required for tcp checks: add port: 1..65535/,
      },
      {
        kind: semantic,
        path: "maglev.healthchecks.h.port",
        line: 7,
        col: 13,
        message: /port 0 is out of range: use 1..65535/,
      },
      {
        kind: semantic,
        path: "maglev.healthchecks.s.port",
        line: 10,
        col: 13,
        message: /port 65536 is out of range/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("semantic: icmp checks take no port", () => {
  expectError(
    "maglev:\n  healthchecks:\n    p:\n      type: icmp\n      port: 0\n",
    {
      kind: semantic,
      path: "maglev.healthchecks.p.port",
      line: 5,
      col: 13,
      message: /icmp checks have no port: remove port/,
    },
    NO_VPP,
  );
});

Deno.test("semantic: status codes within 100..599, low <= high", () => {
  expectErrors(
    `maglev:
  healthchecks:
    a:
      type: http
      params:
        response-code: 99
    b:
      type: https
      params:
        response-code: "200,300-600"
    c:
      type: http
      params:
        response-code:
          - 204
          - 399-300
`,
    [
      {
        kind: semantic,
        path: "maglev.healthchecks.a.params.response-code",
        line: 6,
        col: 24,
        message:
          /status code 99 is out of range: HTTP status codes are 100..599/,
      },
      {
        kind: semantic,
        path: "maglev.healthchecks.b.params.response-code",
        line: 10,
        col: 24,
        message: /status code 300-600 is out of range/,
      },
      {
        kind: semantic,
        path: "maglev.healthchecks.c.params.response-code[1]",
        line: 16,
        col: 13,
        message: /range 399-300 is reversed: write 300-399/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("semantic: server-name / insecure-skip-verify on tcp need tls: true", () => {
  expectErrors(
    `maglev:
  healthchecks:
    a:
      type: tcp
      port: 443
      params:
        server-name: example.com
        insecure-skip-verify: false
    b:
      type: tcp
      port: 443
      params:
        tls: false
        insecure-skip-verify: true
    ok:
      type: tcp
      port: 443
      params: { tls: true, server-name: example.com, insecure-skip-verify: true }
`,
    [
      {
        kind: semantic,
        path: "maglev.healthchecks.a.params.server-name",
        line: 7,
        col: 22,
        message:
          /server-name only applies to a tcp check with tls: true: add tls: true to params, or remove server-name/,
      },
      {
        kind: semantic,
        path: "maglev.healthchecks.a.params.insecure-skip-verify",
        line: 8,
        col: 31,
        message: /insecure-skip-verify only applies .* tls: true/,
      },
      {
        kind: semantic,
        path: "maglev.healthchecks.b.params.insecure-skip-verify",
        line: 14,
        col: 31,
        message: /insecure-skip-verify only applies/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("semantic: a backend address is a host address without a prefix length", () => {
  expectErrors(
    `maglev:
  healthchecks:
    hc: { type: icmp }
  backends:
    a: { address: 10.0.0.1/32, healthcheck: hc }
    b: { address: "2001:db8::/64", healthcheck: hc }
`,
    [
      {
        kind: semantic,
        path: "maglev.backends.a.address",
        line: 5,
        col: 19,
        message: /single host address without a prefix length: write 10.0.0.1/,
      },
      {
        kind: semantic,
        path: "maglev.backends.b.address",
        line: 6,
        col: 19,
        message: /write 2001:db8::$/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("semantic: a frontend prefix has no host bits set", () => {
  expectError(
    BACKENDS + `    f:
      address: 192.0.2.1/28
      port: 80
      pools: [{ name: p, backends: { v4a: {} } }]
`,
    {
      kind: semantic,
      path: "maglev.frontends.f.address",
      line: 15,
      col: 16,
      message:
        /192.0.2.1\/28 has host bits set: write the network address 192.0.2.0\/28, or 192.0.2.1 alone/,
    },
    NO_VPP,
  );
  const config = loadOk(
    BACKENDS + `    f:
      address: 192.0.2.16/28
      port: 80
      pools: [{ name: p, backends: { v6a: {} } }]
`,
    NO_VPP,
  );
  const f = config.frontends.get("f");
  assert.equal(f?.prefix, "192.0.2.16/28");
  assert.equal(f?.family, 4);
  assert.equal(
    f?.backendFamily,
    6,
    "the VIP family may differ from the backend family",
  );
});

Deno.test("semantic: protocol any requires port 0", () => {
  expectError(
    BACKENDS + `    f:
      address: 192.0.2.1
      protocol: any
      port: 80
      pools: [{ name: p, backends: { v4a: {} } }]
`,
    {
      kind: semantic,
      path: "maglev.frontends.f.port",
      line: 17,
      col: 13,
      message: /protocol any covers all ports and needs port 0/,
    },
    NO_VPP,
  );
  const config = loadOk(
    BACKENDS + `    f:
      address: 192.0.2.1
      protocol: any
      port: 0
      pools: [{ name: p, backends: { v4a: {} } }]
`,
    NO_VPP,
  );
  assert.equal(config.frontends.get("f")?.port, 0);
});

Deno.test("semantic: tcp and udp frontends need port 1..65535", () => {
  expectErrors(
    BACKENDS + `    missing:
      address: 192.0.2.1
      pools: [{ name: p, backends: { v4a: {} } }]
    zero:
      address: 192.0.2.2
      protocol: udp
      port: 0
      pools: [{ name: p, backends: { v4a: {} } }]
    big:
      address: 192.0.2.3
      port: 65536
      pools: [{ name: p, backends: { v4a: {} } }]
`,
    [
      {
        kind: semantic,
        path: "maglev.frontends.missing.port",
        line: 15,
        col: 7,
        message:
          /port is required for tcp frontends: add port: 1..65535 \(or use protocol: any with port 0\)/,
      },
      {
        kind: semantic,
        path: "maglev.frontends.zero.port",
        line: 20,
        col: 13,
        message:
          /port 0 is out of range for udp: use 1..65535 \(port 0 means all ports and needs protocol: any\)/,
      },
      {
        kind: semantic,
        path: "maglev.frontends.big.port",
        line: 24,
        col: 13,
        message: /port 65536 is out of range for tcp/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("semantic: pools must be a non-empty list", () => {
  expectErrors(
    BACKENDS + `    a:
      address: 192.0.2.1
      port: 80
    b:
      address: 192.0.2.2
      port: 80
      pools: []
    c:
      address: 192.0.2.3
      port: 80
      pools:
`,
    [
      {
        kind: semantic,
        path: "maglev.frontends.a.pools",
        line: 15,
        col: 7,
        message: /pools is missing: add a list with at least one pool/,
      },
      {
        kind: semantic,
        path: "maglev.frontends.b.pools",
        line: 20,
        col: 14,
        message: /pools must be a non-empty list/,
      },
      {
        kind: semantic,
        path: "maglev.frontends.c.pools",
        line: 24,
        col: 7,
        message: /pools must be a non-empty list/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("semantic: every pool needs a non-empty name, unique within the frontend", () => {
  expectErrors(
    BACKENDS + `    f:
      address: 192.0.2.1
      port: 80
      pools:
        - backends: { v4a: {} }
        - name: ""
          backends: { v4b: {} }
        - name: main
          backends: { v4c: {} }
        - name: main
          backends: { v6a: {} }
    g:
      address: 192.0.2.2
      port: 80
      pools:
        - name: main
          backends: { v4a: {} }
`,
    [
      {
        kind: semantic,
        path: "maglev.frontends.f.pools[0].name",
        line: 18,
        col: 11,
        message: /this pool needs a name/,
      },
      {
        kind: semantic,
        path: "maglev.frontends.f.pools[1].name",
        line: 19,
        col: 17,
        message: /pool name is empty/,
      },
      {
        kind: semantic,
        path: "maglev.frontends.f.pools[3].name",
        line: 23,
        col: 17,
        message:
          /duplicate pool name "main" \(first at maglev.frontends.f.pools\[2\]\): give each pool of frontend f its own name/,
      },
      // v6a in pools[3] is still checked: it breaks the family rule.
      {
        kind: semantic,
        path: "maglev.frontends.f.pools[3].backends.v6a",
        line: 24,
        col: 23,
        message: /backend v6a is IPv6 but backend v4a is IPv4/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("semantic: every pool needs a non-empty backends map", () => {
  expectErrors(
    BACKENDS + `    f:
      address: 192.0.2.1
      port: 80
      pools:
        - name: a
        - name: b
          backends: {}
        - name: c
          backends:
`,
    [
      {
        kind: semantic,
        path: "maglev.frontends.f.pools[0].backends",
        line: 18,
        col: 11,
        message: /pool a has no backends: add backends:/,
      },
      {
        kind: semantic,
        path: "maglev.frontends.f.pools[1].backends",
        line: 20,
        col: 21,
        message: /pool b has no backends: list at least one/,
      },
      {
        kind: semantic,
        path: "maglev.frontends.f.pools[2].backends",
        line: 22,
        col: 11,
        message: /pool c has no backends/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("semantic: weight 0..100", () => {
  expectErrors(
    BACKENDS + `    f:
      address: 192.0.2.1
      port: 80
      pools:
        - name: p
          backends:
            v4a: { weight: 101 }
            v4b: { weight: -1 }
            v4c: { weight: 0 }
`,
    [
      {
        kind: semantic,
        path: "maglev.frontends.f.pools[0].backends.v4a.weight",
        line: 20,
        col: 28,
        message: /weight 101 is out of range: use 0..100/,
      },
      {
        kind: semantic,
        path: "maglev.frontends.f.pools[0].backends.v4b.weight",
        line: 21,
        col: 28,
        message: /weight -1 is out of range/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("semantic: a backend may appear in only one pool of a frontend", () => {
  expectError(
    BACKENDS + `    f:
      address: 192.0.2.1
      port: 80
      pools:
        - name: primary
          backends: { v4a: {}, v4b: {} }
        - name: fallback
          backends: { v4c: {}, v4a: {} }
`,
    {
      kind: semantic,
      path: "maglev.frontends.f.pools[1].backends.v4a",
      line: 21,
      col: 32,
      message:
        /backend v4a is already in pool primary of frontend f: .*only one pool of a frontend \(VPP has one AS per address per VIP\)/,
    },
    NO_VPP,
  );
  // The same backend in two frontends is fine.
  loadOk(
    BACKENDS + `    f:
      address: 192.0.2.1
      port: 80
      pools: [{ name: p, backends: { v4a: {} } }]
    g:
      address: 192.0.2.1
      port: 443
      pools: [{ name: p, backends: { v4a: {} } }]
`,
    NO_VPP,
  );
});

Deno.test("semantic: two backends of one frontend may not share an address", () => {
  expectErrors(
    BACKENDS + `    f:
      address: 192.0.2.1
      port: 80
      pools:
        - name: primary
          backends: { v4a: {}, v6a: {} }
        - name: fallback
          backends: { dup: {} }
    g:
      address: "2001:db8::80"
      port: 80
      pools:
        - name: p
          backends: { v6a: {}, v6dup: {} }
`,
    [
      {
        kind: semantic,
        path: "maglev.frontends.f.pools[0].backends.v6a",
        line: 19,
        col: 32,
        message: /backend v6a is IPv6 but backend v4a is IPv4/,
      },
      {
        kind: semantic,
        path: "maglev.frontends.f.pools[1].backends.dup",
        line: 21,
        col: 23,
        message:
          /backends v4a and dup of frontend f have the same address 10.0.0.1: VPP has one AS per address per VIP/,
      },
      {
        kind: semantic,
        path: "maglev.frontends.g.pools[0].backends.v6dup",
        line: 27,
        col: 32,
        message:
          /backends v6a and v6dup of frontend g have the same address 2001:db8::1/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("semantic: all backends of a frontend share one family", () => {
  expectErrors(
    BACKENDS + `    f:
      address: 192.0.2.1
      port: 80
      pools:
        - name: primary
          backends: { v6a: {}, v6b: {} }
        - name: fallback
          backends: { v4a: {}, v6c: {}, v4b: {} }
`,
    [
      {
        kind: semantic,
        path: "maglev.frontends.f.pools[1].backends.v4a",
        line: 21,
        col: 23,
        message:
          /backend v4a is IPv4 but backend v6a is IPv6: all backends of frontend f must share one address family \(the GRE encap follows it\)/,
      },
      {
        kind: semantic,
        path: "maglev.frontends.f.pools[1].backends.v4b",
        line: 21,
        col: 41,
        message: /backend v4b is IPv4 but backend v6a is IPv6/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("semantic: two frontends may not be the same VIP (prefix, protocol, port)", () => {
  expectError(
    BACKENDS + `    web:
      address: 192.0.2.1
      port: 80
      pools: [{ name: p, backends: { v4a: {} } }]
    web-again:
      address: 192.0.2.1/32
      port: 80
      pools: [{ name: p, backends: { v4b: {} } }]
    web-udp:
      address: 192.0.2.1
      protocol: udp
      port: 80
      pools: [{ name: p, backends: { v4c: {} } }]
`,
    {
      kind: semantic,
      path: "maglev.frontends.web-again.address",
      line: 19,
      col: 16,
      message:
        /frontends web and web-again are the same VIP \(192.0.2.1\/32 tcp port 80\): VPP has one VIP per prefix, protocol and port/,
    },
    NO_VPP,
  );
});

Deno.test("semantic: GRE source addresses must have the right family", () => {
  expectErrors(
    `maglev:
  vpp:
    lb:
      ipv4-src-address: 2001:db8::1
      ipv6-src-address: 192.0.2.1
`,
    [
      {
        kind: semantic,
        path: "maglev.vpp.lb.ipv4-src-address",
        line: 4,
        col: 25,
        message:
          /ipv4-src-address must be an IPv4 address, got the IPv6 address 2001:db8::1/,
      },
      {
        kind: semantic,
        path: "maglev.vpp.lb.ipv6-src-address",
        line: 5,
        col: 25,
        message:
          /ipv6-src-address must be an IPv6 address, got the IPv4 address 192.0.2.1/,
      },
    ],
  );
  expectError(
    "maglev:\n  vpp:\n    lb:\n      ipv4-src-address: 192.0.2.0/24\n",
    {
      kind: semantic,
      path: "maglev.vpp.lb.ipv4-src-address",
      line: 4,
      col: 25,
      message: /without a prefix length/,
    },
    NO_VPP,
  );
  // With VPP off they are optional, but still checked when given.
  expectError("maglev:\n  vpp:\n    lb:\n      ipv6-src-address: 192.0.2.1\n", {
    kind: semantic,
    path: "maglev.vpp.lb.ipv6-src-address",
    line: 4,
    col: 25,
    message: /must be an IPv6 address/,
  }, NO_VPP);
});

Deno.test("semantic: GRE source addresses are required when VPP is on", () => {
  expectErrors(
    `maglev:
  vpp:
    lb:
      sync-interval: 10s
`,
    [
      {
        kind: semantic,
        path: "maglev.vpp.lb.ipv4-src-address",
        line: 4,
        col: 7,
        message:
          /ipv4-src-address is required: VPP needs it as the outer source address of GRE4 encapsulation.*or run with --vpp=false/,
      },
      {
        kind: semantic,
        path: "maglev.vpp.lb.ipv6-src-address",
        line: 4,
        col: 7,
        message: /ipv6-src-address is required: .*GRE6.*--vpp=false/,
      },
    ],
  );
  // No vpp section at all: the errors point at the maglev mapping.
  const errors = expectErrors("# c\nmaglev:\n  healthchecks: {}\n", [
    {
      kind: semantic,
      path: "maglev.vpp.lb.ipv4-src-address",
      line: 3,
      col: 3,
      message: /required/,
    },
    {
      kind: semantic,
      path: "maglev.vpp.lb.ipv6-src-address",
      line: 3,
      col: 3,
      message: /required/,
    },
  ]);
  assert.equal(errors.length, 2);
  loadOk("maglev:\n  healthchecks: {}\n", NO_VPP);
});

Deno.test("semantic: sticky-buckets-per-core is a power of two in 1..2^31", () => {
  for (const ok of [1, 2, 1024, 65536, 2 ** 31]) {
    const config = loadOk(
      `maglev:\n  vpp:\n    lb:\n      sticky-buckets-per-core: ${ok}\n`,
      NO_VPP,
    );
    assert.equal(config.vpp.lb.stickyBucketsPerCore, ok);
  }
  for (const bad of [0, 3, 1000, -4, 2 ** 32]) {
    expectError(
      `maglev:\n  vpp:\n    lb:\n      sticky-buckets-per-core: ${bad}\n`,
      {
        kind: semantic,
        path: "maglev.vpp.lb.sticky-buckets-per-core",
        line: 4,
        col: 32,
        message: new RegExp(
          `must be a power of two from 1 to 2147483648 \\(e.g. 65536\\), got ${bad}`,
        ),
      },
      NO_VPP,
    );
  }
});

Deno.test("semantic: flow-timeout is whole seconds in 1s..120s", () => {
  for (
    const [text, ms] of [["1s", 1000], ["2m", 120_000], [
      "40000ms",
      40_000,
    ]] as const
  ) {
    assert.equal(
      loadOk(`maglev:\n  vpp:\n    lb:\n      flow-timeout: ${text}\n`, NO_VPP)
        .vpp.lb.flowTimeoutMs,
      ms,
    );
  }
  const at = {
    kind: semantic,
    path: "maglev.vpp.lb.flow-timeout",
    line: 4,
    col: 21,
  };
  expectError("maglev:\n  vpp:\n    lb:\n      flow-timeout: 1500ms\n", {
    ...at,
    message: /whole seconds .*got 1.5s/,
  }, NO_VPP);
  expectError("maglev:\n  vpp:\n    lb:\n      flow-timeout: 0s\n", {
    ...at,
    message: /between 1s and 120s, got 0s/,
  }, NO_VPP);
  expectError("maglev:\n  vpp:\n    lb:\n      flow-timeout: 121s\n", {
    ...at,
    message: /between 1s and 120s, got 2m1s/,
  }, NO_VPP);
});

Deno.test("semantic: sync-interval > 0", () => {
  expectError("maglev:\n  vpp:\n    lb:\n      sync-interval: 0s\n", {
    kind: semantic,
    path: "maglev.vpp.lb.sync-interval",
    line: 4,
    col: 22,
    message: /sync-interval must be greater than 0/,
  }, NO_VPP);
});

Deno.test("semantic: startup-min-delay <= startup-max-delay unless max is 0", () => {
  expectError(
    "maglev:\n  vpp:\n    lb:\n      startup-min-delay: 1m\n      startup-max-delay: 30s\n",
    {
      kind: semantic,
      path: "maglev.vpp.lb.startup-min-delay",
      line: 4,
      col: 26,
      message: /startup-min-delay 1m must not exceed startup-max-delay 30s/,
    },
    NO_VPP,
  );
  // Against the default max (30s): the error still points at the min.
  expectError("maglev:\n  vpp:\n    lb:\n      startup-min-delay: 31s\n", {
    kind: semantic,
    path: "maglev.vpp.lb.startup-min-delay",
    line: 4,
    col: 26,
    message: /must not exceed startup-max-delay 30s/,
  }, NO_VPP);
  // Against the default min (5s): the error points at the max.
  expectError("maglev:\n  vpp:\n    lb:\n      startup-max-delay: 1s\n", {
    kind: semantic,
    path: "maglev.vpp.lb.startup-max-delay",
    line: 4,
    col: 26,
    message: /startup-min-delay 5s must not exceed startup-max-delay 1s/,
  }, NO_VPP);
  const disabled = loadOk(
    "maglev:\n  vpp:\n    lb:\n      startup-min-delay: 1m\n      startup-max-delay: 0\n",
    NO_VPP,
  );
  assert.deepEqual([
    disabled.vpp.lb.startupMinDelayMs,
    disabled.vpp.lb.startupMaxDelayMs,
  ], [60_000, 0]);
  const zero = loadOk(
    "maglev:\n  vpp:\n    lb:\n      startup-min-delay: 0s\n      startup-max-delay: 0s\n",
    NO_VPP,
  );
  assert.equal(zero.vpp.lb.startupMinDelayMs, 0);
});

Deno.test("semantic: a file with several problems reports all of them, in file order", () => {
  const result = parseConfigText(
    `maglev:
  healthchecker:
    transition-history: 0
  vpp:
    lb:
      sticky-buckets-per-core: 1000
  healthchecks:
    h:
      type: tcp
      interval: 1s
      timeout: 2s
  backends:
    a: { address: 10.0.0.1, healthcheck: h }
    b: { address: 10.0.0.2, healthcheck: nope }
  frontends:
    f:
      address: 192.0.2.1/24
      port: 80
      pools:
        - name: p
          backends: { a: { weight: 200 }, ghost: {} }
`,
    "maglev.yaml",
  );
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.kind, "semantic");
  assert.deepEqual(result.errors.map((e) => [e.line, e.path]), [
    [3, "maglev.healthchecker.transition-history"],
    [6, "maglev.vpp.lb.ipv4-src-address"],
    [6, "maglev.vpp.lb.ipv6-src-address"],
    [6, "maglev.vpp.lb.sticky-buckets-per-core"],
    [9, "maglev.healthchecks.h.port"],
    [14, "maglev.backends.b.healthcheck"],
    [17, "maglev.frontends.f.address"],
    [21, "maglev.frontends.f.pools[0].backends.a.weight"],
    [21, "maglev.frontends.f.pools[0].backends.ghost"],
  ]);
  for (const e of result.errors) {
    assert.equal(e.kind, "semantic");
    assert.equal(e.file, "maglev.yaml");
    assert.ok(e.col > 0);
  }
});

Deno.test("semantic: VIPs VPP would refuse on a shared prefix", () => {
  const base = (extra: string) =>
    parseConfigText(
      `maglev:
  healthchecks:
    hc: { type: tcp, port: 80 }
  backends:
    a: { address: 10.0.0.1, healthcheck: hc }
    b: { address: 2001:db8::1, healthcheck: hc }
  frontends:
    web:
      address: 192.0.2.1
      port: 80
      pools: [{ name: p, backends: { a: {} } }]
${extra}`,
      "t.yaml",
      { vppEnabled: false },
    );
  let r = base(`    all:
      address: 192.0.2.1
      protocol: any
      port: 0
      pools: [{ name: p, backends: { a: {} } }]
`);
  assert.equal(r.ok, false);
  assert.match(
    !r.ok ? r.errors.map((e) => e.message).join("\n") : "",
    /share prefix 192\.0\.2\.1\/32, but one covers all ports/,
  );
  r = base(`    v6:
      address: 192.0.2.1
      port: 443
      pools: [{ name: p, backends: { b: {} } }]
`);
  assert.equal(r.ok, false);
  assert.match(
    !r.ok ? r.errors.map((e) => e.message).join("\n") : "",
    /IPv4 and IPv6 backends: VPP needs one encapsulation/,
  );
  r = base(`    tls:
      address: 192.0.2.1
      port: 443
      pools: [{ name: p, backends: { a: {} } }]
`);
  assert.equal(r.ok, true, "same prefix, other port, same family is fine");
});

Deno.test("semantic: min-healthy is a percentage from 1% to 100%", () => {
  const with_ = (v: string) =>
    MINIMAL.replace(
      "      port: 80\n      pools:",
      `      port: 80\n      min-healthy: ${v}\n      pools:`,
    );
  assert.equal(loadOk(with_("50%")).frontends.get("web")?.minHealthy, 0.5);
  assert.equal(loadOk(with_('"100 %"')).frontends.get("web")?.minHealthy, 1);
  assert.equal(loadOk(MINIMAL).frontends.get("web")?.minHealthy, undefined);
  for (const bad of ["0%", "101%", "half", '"50"']) {
    expectError(with_(bad), {
      kind: semantic,
      path: "maglev.frontends.web.min-healthy",
      line: 18,
      col: 20,
      message: /min-healthy must be a percentage from 1% to 100%/,
    });
  }
});

Deno.test("durations: at most 24h, so no timer overflows (down-interval: 1000h was accepted)", () => {
  const with_ = (v: string) =>
    MINIMAL.replace(
      "      port: 80\n  backends:",
      `      port: 80\n      down-interval: ${v}\n  backends:`,
    );
  assert.equal(
    loadOk(with_("24h")).healthchecks.get("hc")?.downIntervalMs,
    86_400_000,
  );
  expectError(with_("1000h"), {
    kind: "parse",
    path: "maglev.healthchecks.hc.down-interval",
    line: 10,
    col: 22,
    message: /duration 1000h is longer than 24h/,
  });
});
