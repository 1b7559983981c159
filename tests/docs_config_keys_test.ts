/**
 * Keeps docs/config-guide.md true to the loader: the key list in
 * src/config/keys.ts is checked against what the loader accepts and rejects,
 * the guide must document every key, and its complete example (and its
 * sample `--check` output) must match what the program really does.
 */
import assert from "node:assert/strict";
import { parse, stringify } from "yaml";
import { formatConfigErrors } from "../src/config/format.ts";
import {
  CONFIG_KEY_TABLE,
  CONFIG_KEYS,
  PARAMS_KEYS,
} from "../src/config/keys.ts";
import { parseConfigText } from "../src/config/load.ts";
import type { HealthCheckType, LoadResult } from "../src/config/types.ts";
import { runMaglev } from "./helpers/maglev.ts";

const GUIDE_URL = new URL("../docs/config-guide.md", import.meta.url);
const guide = await Deno.readTextFile(GUIDE_URL);

type Json = { [key: string]: unknown };
const TYPES = Object.keys(PARAMS_KEYS) as HealthCheckType[];
const ALL_PARAMS = [...new Set(Object.values(PARAMS_KEYS).flat())];
const MADE_UP = "zz-made-up";

/** A valid config (VPP on) with one entry at every location of CONFIG_KEY_TABLE. */
function baseConfig(): Json {
  return {
    maglev: {
      healthchecker: { "transition-history": 5 },
      vpp: {
        lb: {
          "ipv4-src-address": "192.0.2.254",
          "ipv6-src-address": "2001:db8::254",
        },
      },
      healthchecks: { hc: { type: "tcp", port: 80, params: { tls: true } } },
      backends: { b1: { address: "198.51.100.10", healthcheck: "hc" } },
      frontends: {
        web: {
          address: "192.0.2.1",
          port: 80,
          pools: [{ name: "p", backends: { b1: { weight: 100 } } }],
        },
      },
    },
  };
}

function obj(value: unknown): Json {
  assert.ok(
    typeof value === "object" && value !== null,
    "expected a mapping",
  );
  return value as Json;
}

const m = (c: Json) => obj(c.maglev);
const pool = (c: Json) =>
  obj((obj(obj(m(c).frontends).web).pools as unknown[])[0]);

/** Where each location of CONFIG_KEY_TABLE is in baseConfig, and its error path. */
const LOCATIONS: Record<string, { at: (c: Json) => Json; path: string }> = {
  "": { at: (c) => c, path: "" },
  "maglev": { at: m, path: "maglev" },
  "maglev.healthchecker": {
    at: (c) => obj(m(c).healthchecker),
    path: "maglev.healthchecker",
  },
  "maglev.vpp": { at: (c) => obj(m(c).vpp), path: "maglev.vpp" },
  "maglev.vpp.lb": { at: (c) => obj(obj(m(c).vpp).lb), path: "maglev.vpp.lb" },
  "maglev.healthchecks.<name>": {
    at: (c) => obj(obj(m(c).healthchecks).hc),
    path: "maglev.healthchecks.hc",
  },
  "maglev.backends.<name>": {
    at: (c) => obj(obj(m(c).backends).b1),
    path: "maglev.backends.b1",
  },
  "maglev.frontends.<name>": {
    at: (c) => obj(obj(m(c).frontends).web),
    path: "maglev.frontends.web",
  },
  "maglev.frontends.<name>.pools[]": {
    at: pool,
    path: "maglev.frontends.web.pools[0]",
  },
  "maglev.frontends.<name>.pools[].backends.<name>": {
    at: (c) => obj(obj(pool(c).backends).b1),
    path: "maglev.frontends.web.pools[0].backends.b1",
  },
};

/** Valid values for the keys baseConfig leaves out. */
const SAMPLES: Record<string, Json> = {
  "maglev.healthchecker": { netns: "dataplane" },
  "maglev.vpp.lb": {
    "sync-interval": "1m30s",
    "sticky-buckets-per-core": 1024,
    "flow-timeout": "60s",
    "startup-min-delay": 0,
    "startup-max-delay": "45s",
  },
  "maglev.healthchecks.<name>": {
    interval: "5s",
    "fast-interval": "500ms",
    "down-interval": "30s",
    timeout: "500ms",
    rise: 3,
    fall: 2,
  },
  "maglev.backends.<name>": { enabled: false },
  "maglev.frontends.<name>": {
    description: "public web",
    protocol: "udp",
    "src-ip-sticky": true,
    "flush-on-down": false,
    "min-healthy": "50%",
  },
};

const PARAM_SAMPLES: Json = {
  path: "/healthz",
  host: "www.example.com",
  method: "HEAD",
  "response-code": "200-299,301",
  "response-regexp": "^OK",
  tls: true,
  "server-name": "www.example.com",
  "insecure-skip-verify": true,
};

/** A health check of `type` with the given params (tcp gets tls: true). */
function checkOf(type: HealthCheckType, params: Json): Json {
  return {
    type,
    ...(type === "tcp" ? { port: 443 } : {}),
    params: type === "tcp" ? { tls: true, ...params } : params,
  };
}

function load(config: Json, vppEnabled = true): LoadResult {
  return parseConfigText(stringify(config), "maglev.yaml", { vppEnabled });
}

function assertLoads(result: LoadResult, what: string): void {
  if (!result.ok) {
    assert.fail(`${what}:\n${formatConfigErrors(result.errors)}`);
  }
}

/** The keys the loader lists in its "unknown key" error for `MADE_UP`. */
function allowedKeysFor(result: LoadResult, path: string): string[] {
  assert.equal(result.ok, false, `${path}: a made-up key was accepted`);
  if (result.ok) return [];
  assert.equal(result.kind, "parse");
  const errorPath = path === "" ? MADE_UP : `${path}.${MADE_UP}`;
  assert.equal(
    result.errors.length,
    1,
    `${path}: expected only the unknown-key error:\n${
      formatConfigErrors(result.errors)
    }`,
  );
  const [e] = result.errors;
  assert.equal(e.path, errorPath);
  assert.match(e.message, new RegExp(`^unknown key "${MADE_UP}"`));
  if (/checks take no params/.test(e.message)) return [];
  const listed = /allowed keys here: (.+)$/.exec(e.message);
  assert.ok(listed, `no list of allowed keys in: ${e.message}`);
  return listed[1].split(", ");
}

const sorted = (keys: readonly string[]) => [...keys].sort();

Deno.test("keys.ts: every location is exercised by this test", () => {
  assert.deepEqual(
    sorted(Object.keys(CONFIG_KEY_TABLE)),
    sorted(Object.keys(LOCATIONS)),
  );
  assert.deepEqual(sorted(TYPES), ["http", "https", "icmp", "tcp"]);
  assertLoads(load(baseConfig()), "the base config");
});

Deno.test("keys.ts: the loader accepts every listed key where it is listed", () => {
  for (const [location, keys] of Object.entries(CONFIG_KEY_TABLE)) {
    for (const key of keys) {
      const config = baseConfig();
      const target = LOCATIONS[location].at(config);
      const sample = SAMPLES[location]?.[key];
      if (sample !== undefined) target[key] = sample;
      assert.ok(key in target, `${location}.${key}: no sample value`);
      assertLoads(load(config), `${location}.${key}`);
    }
  }
  for (const type of TYPES) {
    for (const key of PARAMS_KEYS[type]) {
      const config = baseConfig();
      obj(m(config).healthchecks).hc = checkOf(type, {
        [key]: PARAM_SAMPLES[key],
      });
      assertLoads(load(config), `params.${key} on a ${type} check`);
    }
  }
});

Deno.test("keys.ts: a made-up key is rejected as unknown, and the loader allows exactly the listed keys", () => {
  for (const [location, keys] of Object.entries(CONFIG_KEY_TABLE)) {
    const config = baseConfig();
    const { at, path } = LOCATIONS[location];
    at(config)[MADE_UP] = 1;
    assert.deepEqual(
      sorted(allowedKeysFor(load(config), path)),
      sorted(keys),
      `keys at ${location}`,
    );
  }
  for (const type of TYPES) {
    const config = baseConfig();
    obj(m(config).healthchecks).hc = checkOf(type, { [MADE_UP]: 1 });
    const allowed = allowedKeysFor(
      load(config),
      "maglev.healthchecks.hc.params",
    );
    // tcp's params here include tls: true, which is not the made-up key.
    assert.deepEqual(sorted(allowed), sorted(PARAMS_KEYS[type]), type);
  }
});

Deno.test("keys.ts: params keys of other types are parse errors", () => {
  for (const type of TYPES) {
    for (
      const key of ALL_PARAMS.filter((k) => !PARAMS_KEYS[type].includes(k))
    ) {
      const config = baseConfig();
      obj(m(config).healthchecks).hc = {
        ...checkOf(type, {}),
        params: { [key]: PARAM_SAMPLES[key] },
      };
      const result = load(config);
      assert.equal(result.ok, false, `params.${key} on ${type} was accepted`);
      if (result.ok) continue;
      assert.equal(result.kind, "parse");
      assert.ok(
        result.errors.some((e) =>
          e.path === `maglev.healthchecks.hc.params.${key}`
        ),
        formatConfigErrors(result.errors),
      );
    }
  }
});

/** The cells of every markdown table in the guide, header first. */
function tables(markdown: string): string[][][] {
  const out: string[][][] = [];
  let current: string[][] | undefined;
  for (const line of markdown.split("\n")) {
    if (!line.startsWith("|")) {
      current = undefined;
      continue;
    }
    const cells = line.slice(1, line.lastIndexOf("|")).split(/(?<!\\)\|/)
      .map((c) => c.trim());
    if (cells.every((c) => /^-+$/.test(c))) continue;
    if (current === undefined) out.push(current = []);
    current.push(cells);
  }
  return out;
}

const KEY_CELL = /^`([^`]+)`$/;

Deno.test("guide: every key appears in backticks", () => {
  const missing = CONFIG_KEYS.filter((k) => !guide.includes(`\`${k}\``));
  assert.deepEqual(missing, [], "keys not mentioned in docs/config-guide.md");
});

Deno.test("guide: the key tables list exactly the loader's keys", () => {
  const documented = new Set<string>();
  for (const [header, ...rows] of tables(guide)) {
    if (header[0] !== "key") continue;
    for (const row of rows) {
      const key = KEY_CELL.exec(row[0])?.[1];
      assert.ok(key, `not a key cell: ${row[0]}`);
      assert.ok(
        CONFIG_KEYS.includes(key),
        `documented key not accepted: ${key}`,
      );
      documented.add(key);
    }
  }
  assert.deepEqual(
    CONFIG_KEYS.filter((k) => !documented.has(k)),
    [],
    "keys without a row in a key table",
  );
});

Deno.test("guide: the params table says which type takes which key", () => {
  const table = tables(guide).find(([h]) =>
    h[0] === "key" && TYPES.every((t) => h.includes(t))
  );
  assert.ok(table, "no params table with a column per check type");
  const [header, ...rows] = table;
  assert.deepEqual(
    sorted(rows.map((r) => KEY_CELL.exec(r[0])?.[1] ?? r[0])),
    sorted(ALL_PARAMS),
  );
  for (const row of rows) {
    const key = KEY_CELL.exec(row[0])?.[1] as string;
    for (const type of TYPES) {
      const cell = row[header.indexOf(type)];
      assert.equal(
        cell !== "",
        PARAMS_KEYS[type].includes(key),
        `params.${key} for ${type}: the guide says "${cell}"`,
      );
    }
  }
});

/** The first yaml block after the "Complete example" heading. */
function exampleConfig(): string {
  const at = guide.indexOf("\n## Complete example\n");
  assert.ok(at >= 0, "no ## Complete example heading");
  const block = /\n```yaml\n([\s\S]*?)\n```\n/.exec(guide.slice(at));
  assert.ok(block, "no yaml block after ## Complete example");
  return `${block[1]}\n`;
}

/** Every key used in a config document, by location (params: all types together). */
function keysUsed(doc: Json): Map<string, Set<string>> {
  const used = new Map<string, Set<string>>();
  const add = (location: string, value: unknown) => {
    const set = used.get(location) ?? new Set<string>();
    used.set(location, set);
    for (const key of Object.keys(obj(value ?? {}))) set.add(key);
  };
  add("", doc);
  const mg = obj(doc.maglev);
  add("maglev", mg);
  add("maglev.healthchecker", mg.healthchecker);
  add("maglev.vpp", mg.vpp);
  add("maglev.vpp.lb", obj(mg.vpp ?? {}).lb);
  for (const hc of Object.values(obj(mg.healthchecks ?? {}))) {
    add("maglev.healthchecks.<name>", hc);
    add("params", obj(hc).params);
  }
  for (const b of Object.values(obj(mg.backends ?? {}))) {
    add("maglev.backends.<name>", b);
  }
  for (const f of Object.values(obj(mg.frontends ?? {}))) {
    add("maglev.frontends.<name>", f);
    for (const p of (obj(f).pools ?? []) as unknown[]) {
      add("maglev.frontends.<name>.pools[]", p);
      for (const member of Object.values(obj(obj(p).backends ?? {}))) {
        add("maglev.frontends.<name>.pools[].backends.<name>", member);
      }
    }
  }
  return used;
}

Deno.test("guide: the complete example is valid with VPP on and off", () => {
  const text = exampleConfig();
  assertLoads(
    parseConfigText(text, "config-guide.md", { vppEnabled: true }),
    "example, VPP on",
  );
  assertLoads(
    parseConfigText(text, "config-guide.md", { vppEnabled: false }),
    "example, --vpp=false",
  );
});

Deno.test("guide: the complete example uses every key", () => {
  const used = keysUsed(obj(parse(exampleConfig())));
  for (const [location, keys] of Object.entries(CONFIG_KEY_TABLE)) {
    const missing = keys.filter((k) => !used.get(location)?.has(k));
    assert.deepEqual(missing, [], `example lacks keys at ${location}`);
  }
  const missing = ALL_PARAMS.filter((k) => !used.get("params")?.has(k));
  assert.deepEqual(missing, [], "example lacks params keys");
});

Deno.test("guide: maglev daemon --check behaves as documented", async () => {
  const dir = await Deno.makeTempDir({ prefix: "maglev-config-guide-" });
  try {
    const file = `${dir}/maglev.yaml`;
    const check = async (text: string, ...flags: string[]) => {
      await Deno.writeTextFile(file, text);
      const r = await runMaglev([
        "daemon",
        "--check",
        ...flags,
        "--config",
        file,
      ]);
      return { ...r, stderr: r.stderr.replaceAll(file, "maglev.yaml") };
    };
    const example = exampleConfig();

    for (const vpp of ["--vpp=true", "--vpp=false"]) {
      const ok = await check(example, vpp);
      assert.equal(ok.code, 0, `${vpp}: ${ok.stderr}`);
      assert.match(
        ok.stdout,
        /: OK \(4 healthchecks, 9 backends, 6 frontends\)/,
      );
    }

    // The sample output in the guide: the example with two parse errors.
    const broken = example.replace(/^( +port:) 8080\b/m, '$1 "8080"')
      .replace(/^( +)interval: 1s$/m, "$1intervall: 1s");
    assert.notEqual(broken, example);
    const parseErrors = await check(broken, "--vpp=true");
    assert.equal(parseErrors.code, 1, parseErrors.stderr);
    const sample = /\n```text\n([\s\S]*?)\n```\n/.exec(guide)?.[1];
    assert.equal(
      parseErrors.stderr.trim(),
      sample,
      "sample output in the guide",
    );

    // A missing GRE source address: semantic with VPP on, fine without.
    const noV4 = example.replace(/^ +ipv4-src-address:.*\n/m, "");
    assert.notEqual(noV4, example);
    const semantic = await check(noV4, "--vpp=true");
    assert.equal(semantic.code, 2, semantic.stderr);
    assert.match(
      semantic.stderr,
      /^maglev\.yaml:\d+:\d+: maglev\.vpp\.lb\.ipv4-src-address: ipv4-src-address is required/m,
    );
    assert.equal((await check(noV4, "--vpp=false")).code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
