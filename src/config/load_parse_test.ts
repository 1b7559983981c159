/** One test per parse-stage rule: kind, path, line:col and message substance. */
import assert from "node:assert/strict";
import { parseConfigText } from "./load.ts";
import { expectError, expectErrors, NO_VPP } from "./_testdata.ts";

const parse = "parse" as const;

Deno.test("parse: YAML syntax errors are all reported with positions", () => {
  expectErrors("maglev:\n  backends: {a: 1\n  frontends:\n    f: [1, 2\n", [
    {
      kind: parse,
      path: "maglev.backends",
      line: 3,
      col: 3,
      message:
        /invalid YAML: flow map .* must be sufficiently indented and end with a \}; check indentation/,
    },
    {
      kind: parse,
      path: "maglev.frontends.f[1]",
      line: 5,
      col: 1,
      message: /invalid YAML: flow sequence/,
    },
  ]);
  expectErrors(
    'maglev:\n  healthchecks:\n    h: "unterminated\n  backends:\n\tb: {}\n',
    [
      // The quote swallows the rest of the file; the error points at where it opens.
      {
        kind: parse,
        path: "maglev.healthchecks.h",
        line: 3,
        col: 8,
        message: /invalid YAML: missing closing "quote/,
      },
    ],
  );
  expectError("maglev:\n\tbackends: {}\n", {
    kind: parse,
    path: "",
    line: 2,
    col: 1,
    message: /tabs are not allowed.*indent with spaces/,
  });
  expectError("maglev:\n  backends: b: c\n", {
    kind: parse,
    path: "maglev.backends.b",
    line: 2,
    col: 13,
    message: /invalid YAML: nested mappings are not allowed.*check indentation/,
  });
  expectError("maglev: {}\n---\nmaglev: {}\n", {
    kind: parse,
    path: "",
    line: 2,
    col: 1,
    message: /more than one YAML document/,
  });
});

Deno.test("parse: duplicate keys name the first occurrence", () => {
  expectErrors(
    `maglev:
  backends:
    b1: { address: 10.0.0.1, healthcheck: h }
    b1: { address: 10.0.0.2, healthcheck: h }
  healthchecks:
    h:
      type: icmp
      type: tcp
`,
    [
      {
        kind: parse,
        path: "maglev.backends.b1",
        line: 4,
        col: 5,
        message: /duplicate key "b1" \(first at line 3\): remove or rename one/,
      },
      {
        kind: parse,
        path: "maglev.healthchecks.h.type",
        line: 8,
        col: 7,
        message: /duplicate key "type" \(first at line 7\)/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("parse: the top level is a mapping with exactly the key maglev", () => {
  expectError("- maglev\n", {
    kind: parse,
    path: "",
    line: 1,
    col: 1,
    message: /top level must be a mapping with the single key maglev/,
  });
  expectErrors("maglev: {}\nhealthchecks: {}\n", [
    {
      kind: parse,
      path: "healthchecks",
      line: 2,
      col: 1,
      message: /unknown key "healthchecks"; allowed keys here: maglev$/,
    },
  ], NO_VPP);
  expectErrors("backends: {}\n", [
    {
      kind: parse,
      path: "backends",
      line: 1,
      col: 1,
      message: /unknown key "backends"/,
    },
    {
      kind: parse,
      path: "maglev",
      line: 1,
      col: 1,
      message: /missing key maglev: put the whole configuration under/,
    },
  ]);
  expectError("maglev: [a]\n", {
    kind: parse,
    path: "maglev",
    line: 1,
    col: 9,
    message: /expected a mapping.*got a list/,
  });
});

Deno.test("parse: an empty file or an empty maglev: is an error", () => {
  for (const text of ["", "\n", "# nothing but a comment\n"]) {
    expectError(text, {
      kind: parse,
      path: "",
      line: 1,
      col: 1,
      message:
        /the file is empty: put the configuration under a top-level maglev: key/,
    });
  }
  expectError("maglev:\n", {
    kind: parse,
    path: "maglev",
    line: 1,
    col: 1,
    message: /maglev is empty: add the healthchecks, backends and frontends/,
  });
  expectError("# config\nmaglev: ~\n", {
    kind: parse,
    path: "maglev",
    line: 2,
    col: 9,
    message: /maglev is empty/,
  });
});

Deno.test("parse: unknown keys anywhere list the allowed keys", () => {
  expectErrors(
    `maglev:
  healthcheckers: {}
  healthchecks:
    h:
      type: http
      timout: 1s
  backends:
    b:
      address: 10.0.0.1
      healthcheck: h
      weight: 100
  frontends:
    f:
      address: 192.0.2.1
      port: 80
      pools:
        - name: p
          backends:
            b: { wieght: 5 }
          extra: true
`,
    [
      {
        kind: parse,
        path: "maglev.healthcheckers",
        line: 2,
        col: 3,
        message:
          /unknown key "healthcheckers" \(did you mean "healthchecker"\?\); allowed keys here: healthchecker, vpp, healthchecks, backends, frontends/,
      },
      {
        kind: parse,
        path: "maglev.healthchecks.h.timout",
        line: 6,
        col: 7,
        message:
          /unknown key "timout" \(did you mean "timeout"\?\); allowed keys here: type, port, interval, fast-interval, down-interval, timeout, rise, fall, params/,
      },
      {
        kind: parse,
        path: "maglev.backends.b.weight",
        line: 11,
        col: 7,
        message:
          /unknown key "weight"; allowed keys here: address, healthcheck, enabled/,
      },
      {
        kind: parse,
        path: "maglev.frontends.f.pools[0].backends.b.wieght",
        line: 19,
        col: 18,
        message:
          /unknown key "wieght" \(did you mean "weight"\?\); allowed keys here: weight/,
      },
      {
        kind: parse,
        path: "maglev.frontends.f.pools[0].extra",
        line: 20,
        col: 11,
        message: /unknown key "extra"; allowed keys here: name, backends/,
      },
    ],
    NO_VPP,
  );
  expectError("maglev:\n  vpp:\n    lb:\n      src: 1.2.3.4\n", {
    kind: parse,
    path: "maglev.vpp.lb.src",
    line: 4,
    col: 7,
    message:
      /allowed keys here: ipv4-src-address, ipv6-src-address, sync-interval, sticky-buckets-per-core, flow-timeout, startup-min-delay, startup-max-delay/,
  });
  expectError("maglev:\n  vpp:\n    dpdk: {}\n", {
    kind: parse,
    path: "maglev.vpp.dpdk",
    line: 3,
    col: 5,
    message: /allowed keys here: lb$/,
  });
});

Deno.test("parse: wrong types; integers must be integers", () => {
  expectErrors(
    `maglev:
  healthchecker:
    transition-history: "5"
  vpp:
    lb:
      sticky-buckets-per-core: 1.5
  healthchecks:
    h:
      type: tcp
      port: eighty
      rise: 2.0
      fall: [3]
      params:
        tls: "yes"
  backends:
    b:
      address: 10.0.0.1
      healthcheck: { name: h }
      enabled: yes
  frontends:
    f:
      address: 192.0.2.1
      port: 1e2
      src-ip-sticky: 1
      pools:
        name: p
`,
    [
      {
        kind: parse,
        path: "maglev.healthchecker.transition-history",
        line: 3,
        col: 25,
        message: /expected an integer, got the string "5": remove the quotes/,
      },
      {
        kind: parse,
        path: "maglev.vpp.lb.sticky-buckets-per-core",
        line: 6,
        col: 32,
        message: /expected an integer, got the number 1.5/,
      },
      {
        kind: parse,
        path: "maglev.healthchecks.h.port",
        line: 10,
        col: 13,
        message: /expected an integer, got the string "eighty"/,
      },
      {
        kind: parse,
        path: "maglev.healthchecks.h.rise",
        line: 11,
        col: 13,
        message: /expected an integer, got the number 2.0/,
      },
      {
        kind: parse,
        path: "maglev.healthchecks.h.fall",
        line: 12,
        col: 13,
        message: /expected an integer, got a list/,
      },
      {
        kind: parse,
        path: "maglev.healthchecks.h.params.tls",
        line: 14,
        col: 14,
        message: /expected true or false, got the string "yes"/,
      },
      {
        kind: parse,
        path: "maglev.backends.b.healthcheck",
        line: 18,
        col: 20,
        message: /expected a string, got a mapping/,
      },
      {
        kind: parse,
        path: "maglev.backends.b.enabled",
        line: 19,
        col: 16,
        message: /expected true or false, got the string "yes"/,
      },
      {
        kind: parse,
        path: "maglev.frontends.f.port",
        line: 23,
        col: 13,
        message: /expected an integer, got the number 1e2/,
      },
      {
        kind: parse,
        path: "maglev.frontends.f.src-ip-sticky",
        line: 24,
        col: 22,
        message: /expected true or false, got the number 1/,
      },
      {
        kind: parse,
        path: "maglev.frontends.f.pools",
        line: 26,
        col: 9,
        message: /expected a list \("- item" lines\), got a mapping/,
      },
    ],
    NO_VPP,
  );
  expectError(
    "maglev:\n  healthchecks:\n    h:\n      type: tcp\n      port:\n",
    {
      kind: parse,
      path: "maglev.healthchecks.h.port",
      line: 5,
      col: 7,
      message:
        /port has no value: write an integer, or remove the key to use the default/,
    },
  );
  expectError(
    "maglev:\n  healthchecks:\n    h:\n      type: tcp\n      port: 99999999999999999999\n",
    {
      kind: parse,
      path: "maglev.healthchecks.h.port",
      line: 5,
      col: 13,
      message: /too large/,
    },
  );
  expectError("maglev:\n  healthchecks: [a]\n", {
    kind: parse,
    path: "maglev.healthchecks",
    line: 2,
    col: 17,
    message: /expected a mapping/,
  });
});

Deno.test("parse: bad duration syntax", () => {
  expectErrors(
    `maglev:
  vpp:
    lb:
      sync-interval: 30
      flow-timeout: -40s
  healthchecks:
    h:
      type: icmp
      interval: 2 s
      fast-interval: 2d
      timeout: true
`,
    [
      {
        kind: parse,
        path: "maglev.vpp.lb.sync-interval",
        line: 4,
        col: 22,
        message: /duration 30 has no unit: write e.g. "30s"/,
      },
      {
        kind: parse,
        path: "maglev.vpp.lb.flow-timeout",
        line: 5,
        col: 21,
        message: /negative duration "-40s"/,
      },
      {
        kind: parse,
        path: "maglev.healthchecks.h.interval",
        line: 9,
        col: 17,
        message: /unknown unit " s" in duration "2 s"/,
      },
      {
        kind: parse,
        path: "maglev.healthchecks.h.fast-interval",
        line: 10,
        col: 22,
        message: /unknown unit "d".*use ns, us, ms, s, m or h/,
      },
      {
        kind: parse,
        path: "maglev.healthchecks.h.timeout",
        line: 11,
        col: 16,
        message: /expected a duration like "2s", got true/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("parse: bad address and prefix syntax", () => {
  expectErrors(
    `maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.256
      ipv6-src-address: "[2001:db8::1]"
  backends:
    a: { address: 01.2.3.4, healthcheck: h }
    b: { address: "fe80::1%eth0", healthcheck: h }
    c: { address: www.example.com, healthcheck: h }
  frontends:
    f:
      address: 192.0.2.0/33
    g:
      address: 2001:db8::/x
`,
    [
      {
        kind: parse,
        path: "maglev.vpp.lb.ipv4-src-address",
        line: 4,
        col: 25,
        message: /256 is above 255/,
      },
      {
        kind: parse,
        path: "maglev.vpp.lb.ipv6-src-address",
        line: 5,
        col: 25,
        message: /brackets/,
      },
      {
        kind: parse,
        path: "maglev.backends.a.address",
        line: 7,
        col: 19,
        message: /"01" has a leading zero/,
      },
      {
        kind: parse,
        path: "maglev.backends.b.address",
        line: 8,
        col: 19,
        message: /zone id/,
      },
      {
        kind: parse,
        path: "maglev.backends.c.address",
        line: 9,
        col: 19,
        message: /not an IP address: host names are not accepted/,
      },
      {
        kind: parse,
        path: "maglev.frontends.f.address",
        line: 12,
        col: 16,
        message: /invalid prefix length "33".*use 0..32/,
      },
      {
        kind: parse,
        path: "maglev.frontends.g.address",
        line: 14,
        col: 16,
        message: /invalid prefix length "x".*use 0..128/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("parse: bad enum values (type, protocol, method)", () => {
  expectErrors(
    `maglev:
  healthchecks:
    h:
      type: HTTP
      params:
        method: POST
  frontends:
    f:
      address: 192.0.2.1
      protocol: sctp
`,
    [
      {
        kind: parse,
        path: "maglev.healthchecks.h.type",
        line: 4,
        col: 13,
        message:
          /invalid type "HTTP" \(did you mean "http"\?\): use one of icmp, tcp, http, https/,
      },
      {
        kind: parse,
        path: "maglev.healthchecks.h.params.method",
        line: 6,
        col: 17,
        message: /invalid method "POST": use one of GET, HEAD/,
      },
      {
        kind: parse,
        path: "maglev.frontends.f.protocol",
        line: 10,
        col: 17,
        message:
          /invalid protocol "sctp" \(did you mean "tcp"\?\): use one of tcp, udp, any/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("parse: params keys must belong to the check's type", () => {
  expectErrors(
    `maglev:
  healthchecks:
    web:
      type: http
      params:
        path: /
        server-name: example.com
        tls: true
    secure:
      type: https
      params:
        server-name: example.com
        insecure-skip-verify: true
        tls: true
    port:
      type: tcp
      port: 25
      params:
        tls: true
        path: /
    ping:
      type: icmp
      params:
        host: example.com
`,
    [
      {
        kind: parse,
        path: "maglev.healthchecks.web.params.server-name",
        line: 7,
        col: 9,
        message:
          /params key "server-name" does not apply to http checks; allowed keys here: path, host, method, response-code, response-regexp$/,
      },
      {
        kind: parse,
        path: "maglev.healthchecks.web.params.tls",
        line: 8,
        col: 9,
        message: /"tls" does not apply to http checks/,
      },
      {
        kind: parse,
        path: "maglev.healthchecks.secure.params.tls",
        line: 14,
        col: 9,
        message:
          /"tls" does not apply to https checks; allowed keys here: path, host, method, response-code, response-regexp, server-name, insecure-skip-verify$/,
      },
      {
        kind: parse,
        path: "maglev.healthchecks.port.params.path",
        line: 20,
        col: 9,
        message:
          /"path" does not apply to tcp checks; allowed keys here: tls, server-name, insecure-skip-verify$/,
      },
      {
        kind: parse,
        path: "maglev.healthchecks.ping.params.host",
        line: 24,
        col: 9,
        message: /icmp checks take no params; remove it/,
      },
    ],
    NO_VPP,
  );
  // An empty params block is fine for every type, icmp included.
  assert.equal(
    parseConfigText(
      "maglev:\n  healthchecks:\n    p: { type: icmp, params: {} }\n",
      "m.yaml",
      NO_VPP,
    ).ok,
    true,
  );
});

Deno.test("parse: malformed response-code", () => {
  expectErrors(
    `maglev:
  healthchecks:
    a:
      type: http
      params:
        response-code: 2xx
    b:
      type: http
      params:
        response-code: "200,,300"
    c:
      type: http
      params:
        response-code: [200, "300-", 2.5, { x: 1 }]
    d:
      type: http
      params:
        response-code: []
`,
    [
      {
        kind: parse,
        path: "maglev.healthchecks.a.params.response-code",
        line: 6,
        col: 24,
        message:
          /malformed response-code "2xx": use a code \(200\), a range \(200-399\) or a list \(200,204,300-399\)/,
      },
      {
        kind: parse,
        path: "maglev.healthchecks.b.params.response-code",
        line: 10,
        col: 24,
        message: /malformed response-code "200,,300" \(an empty part\)/,
      },
      {
        kind: parse,
        path: "maglev.healthchecks.c.params.response-code[1]",
        line: 14,
        col: 30,
        message: /malformed response-code "300-"/,
      },
      {
        kind: parse,
        path: "maglev.healthchecks.c.params.response-code[2]",
        line: 14,
        col: 38,
        message: /expected an integer, got the number 2.5/,
      },
      {
        kind: parse,
        path: "maglev.healthchecks.c.params.response-code[3]",
        line: 14,
        col: 43,
        message: /expected a status code/,
      },
      {
        kind: parse,
        path: "maglev.healthchecks.d.params.response-code",
        line: 18,
        col: 24,
        message: /empty list/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("parse: invalid response-regexp", () => {
  expectError(
    `maglev:
  healthchecks:
    h:
      type: https
      params:
        response-regexp: "^(OK"
`,
    {
      kind: parse,
      path: "maglev.healthchecks.h.params.response-regexp",
      line: 6,
      col: 26,
      message:
        /invalid response-regexp: Invalid regular expression: .*Unterminated group; write a JavaScript regular expression/,
    },
    NO_VPP,
  );
});

Deno.test("parse: invalid path, host and server-name values", () => {
  expectErrors(
    `maglev:
  healthchecks:
    h:
      type: https
      params:
        path: healthz
        host: "a b"
        server-name: ""
`,
    [
      {
        kind: parse,
        path: "maglev.healthchecks.h.params.path",
        line: 6,
        col: 15,
        message: /invalid path "healthz": write a path like \/healthz/,
      },
      {
        kind: parse,
        path: "maglev.healthchecks.h.params.host",
        line: 7,
        col: 15,
        message: /invalid host "a b"/,
      },
      {
        kind: parse,
        path: "maglev.healthchecks.h.params.server-name",
        line: 8,
        col: 22,
        message: /invalid server-name ""/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("parse: names must be completable words", () => {
  expectErrors(
    `maglev:
  healthchecks:
    "http check": { type: icmp }
  backends:
    -b1: { address: 10.0.0.1, healthcheck: x }
  frontends:
    "web/1":
      address: 192.0.2.1
      pools:
        - name: "prim ary"
          backends:
            "b 2":
`,
    [
      {
        kind: parse,
        path: "maglev.healthchecks.http check",
        line: 3,
        col: 5,
        message:
          /invalid healthcheck name "http check": start with a letter or digit and use only letters, digits, ".", "_" and "-"/,
      },
      {
        kind: parse,
        path: "maglev.backends.-b1",
        line: 5,
        col: 5,
        message: /invalid backend name "-b1"/,
      },
      {
        kind: parse,
        path: "maglev.frontends.web/1",
        line: 7,
        col: 5,
        message: /invalid frontend name "web\/1"/,
      },
      {
        kind: parse,
        path: "maglev.frontends.web/1.pools[0].name",
        line: 10,
        col: 17,
        message: /invalid pool name "prim ary"/,
      },
      {
        kind: parse,
        path: "maglev.frontends.web/1.pools[0].backends.b 2",
        line: 12,
        col: 13,
        message: /invalid backend name "b 2"/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("parse: required keys (type, address, healthcheck) point at the mapping", () => {
  expectErrors(
    `maglev:
  healthchecks:
    h:
      port: 80
  backends:
    b:
      enabled: true
    c:
  frontends:
    f:
      port: 80
`,
    [
      {
        kind: parse,
        path: "maglev.healthchecks.h.type",
        line: 4,
        col: 7,
        message: /missing key type: add type: icmp \| tcp \| http \| https/,
      },
      {
        kind: parse,
        path: "maglev.backends.b.address",
        line: 7,
        col: 7,
        message: /missing key address/,
      },
      {
        kind: parse,
        path: "maglev.backends.b.healthcheck",
        line: 7,
        col: 7,
        message:
          /missing key healthcheck: add the name of an entry of maglev.healthchecks/,
      },
      {
        kind: parse,
        path: "maglev.backends.c",
        line: 8,
        col: 5,
        message: /backend c is empty: add address: and healthcheck:/,
      },
      {
        kind: parse,
        path: "maglev.frontends.f.address",
        line: 11,
        col: 7,
        message: /missing key address: add the VIP/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("parse: pool members are {weight}, ~ or nothing; aliases must resolve", () => {
  expectErrors(
    `maglev:
  frontends:
    f:
      address: 192.0.2.1
      pools:
        - name: p
          backends:
            b1: 100
            b2: *nowhere
`,
    [
      {
        kind: parse,
        path: "maglev.frontends.f.pools[0].backends.b1",
        line: 8,
        col: 17,
        message:
          /expected \{ weight: N \} or nothing, got the number 100: write b1: \{ weight: 100 \}/,
      },
      {
        kind: parse,
        path: "maglev.frontends.f.pools[0].backends.b2",
        line: 9,
        col: 17,
        message: /unknown alias \*nowhere/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("parse: with parse errors, semantic checks do not run", () => {
  // Both an unknown key (parse) and a dangling reference and a bad weight (semantic).
  expectError(
    `maglev:
  backends:
    b: { address: 10.0.0.1, healthcheck: missing, colour: red }
  frontends:
    f:
      address: 192.0.2.1
      port: 80
      pools:
        - name: p
          backends:
            b: { weight: 1000 }
`,
    {
      kind: parse,
      path: "maglev.backends.b.colour",
      line: 3,
      col: 51,
      message: /unknown key "colour"/,
    },
  );
});

Deno.test("parse: merge keys must name mappings, and not their own", () => {
  expectErrors(
    `maglev:
  healthchecks:
    a:
      <<: 5
      type: icmp
    b: &b
      <<: *b
      type: icmp
`,
    [
      {
        kind: "parse",
        path: "maglev.healthchecks.a.<<",
        line: 4,
        col: 11,
        message: /<< must refer to a mapping or a list of mappings/,
      },
      {
        kind: "parse",
        path: "maglev.healthchecks.b.<<",
        line: 7,
        col: 11,
        message: /<< refers to the mapping it is in/,
      },
    ],
    NO_VPP,
  );
});

Deno.test("parse: past 20 syntax errors only a count, from where the first untold one is", () => {
  const lines = Array.from({ length: 1000 }, (_, i) => `\tk${i}: 1`);
  const r = parseConfigText(`maglev:\n${lines.join("\n")}\n`, "m.yaml");
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.errors.length, 21);
  const last = r.errors[20];
  assert.equal(last.line, 22);
  assert.match(last.message, /^980 more YAML syntax errors from here on/);
});
