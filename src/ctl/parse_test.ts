import assert from "node:assert/strict";
import {
  CommandError,
  complete,
  helpAt,
  listCommands,
  parseCommand,
  RUN_ENTRY,
  splitWords,
  walk,
} from "./parse.ts";
import type { NameSource } from "./tree.ts";

const parse = (line: string) => parseCommand(splitWords(line));

function parseError(line: string): CommandError {
  try {
    parse(line);
  } catch (e) {
    assert.ok(e instanceof CommandError, String(e));
    return e;
  }
  throw new Error(`"${line}" parsed`);
}

/** Names as a daemon with frontend web (pools primary a,b; backup c) has them. */
const NAMES: NameSource = {
  frontends: () => Promise.resolve(["web", "www"]),
  backends: () => Promise.resolve(["a", "b", "c"]),
  healthChecks: () => Promise.resolve(["hc-a", "hc-b"]),
  pools: (f) => Promise.resolve(f === "web" ? ["primary", "backup"] : []),
  poolBackends: (f, p) =>
    Promise.resolve(
      f === "web"
        ? (p === "primary" ? ["a", "b"] : p === "backup" ? ["c"] : [])
        : [],
    ),
};

Deno.test("parse: every command of the tree, in full", () => {
  const cases: [string, string, Record<string, string>][] = [
    ["show version", "show-version", {}],
    ["show frontends", "show-frontends", {}],
    ["show frontend web", "show-frontend", { frontend: "web" }],
    ["show backends", "show-backends", {}],
    ["show backend a", "show-backend", { backend: "a" }],
    ["show healthchecks", "show-healthchecks", {}],
    ["show healthcheck hc-a", "show-healthcheck", { healthcheck: "hc-a" }],
    ["show vpp info", "show-vpp-info", {}],
    ["show vpp lb state", "show-vpp-lb-state", {}],
    ["show vpp lb counters", "show-vpp-lb-counters", {}],
    ["sync vpp lb state", "sync-vpp-lb-state", {}],
    ["sync vpp lb state web", "sync-vpp-lb-state", { frontend: "web" }],
    ["sync vpp lb state --dry-run", "sync-vpp-lb-state", { dryRun: "true" }],
    ["sync vpp lb state web dry-run", "sync-vpp-lb-state", {
      frontend: "web",
      dryRun: "true",
    }],
    ["sync vpp lb state dry-run web", "sync-vpp-lb-state", {
      frontend: "web",
      dryRun: "true",
    }],
    ["set backend a pause", "set-backend", { backend: "a", op: "pause" }],
    ["set backend a resume", "set-backend", { backend: "a", op: "resume" }],
    ["set backend a enable", "set-backend", { backend: "a", op: "enable" }],
    ["set backend a disable", "set-backend", { backend: "a", op: "disable" }],
    [
      "set frontend web pool primary backend a weight 7",
      "set-weight",
      { frontend: "web", pool: "primary", backend: "a", weight: "7" },
    ],
    ["watch events", "watch-events", {}],
    [
      "watch events num 3 log level warn backend frontend",
      "watch-events",
      {
        num: "3",
        log: "true",
        level: "warn",
        backend: "true",
        frontend: "true",
      },
    ],
    ["watch events frontend num 1", "watch-events", {
      frontend: "true",
      num: "1",
    }],
    ["config check", "config-check", {}],
    ["config reload", "config-reload", {}],
    ["help", "help", {}],
    ["quit", "quit", {}],
    ["exit", "quit", {}],
  ];
  for (const [line, action, args] of cases) {
    const c = parse(line);
    assert.equal(c?.action, action, line);
    assert.deepEqual(c?.args, args, line);
  }
  assert.equal(parse(""), undefined);
  assert.equal(parse("   "), undefined);
});

Deno.test("parse: unique prefixes, and the rest of the line decides between shared ones", () => {
  assert.deepEqual(parse("sh ba")?.canonical, ["show", "backends"]);
  assert.deepEqual(parse("sh ba a")?.canonical, ["show", "backend", "a"]);
  assert.deepEqual(parse("sh fr")?.canonical, ["show", "frontends"]);
  assert.deepEqual(parse("sh hea hc-a")?.canonical, [
    "show",
    "healthcheck",
    "hc-a",
  ]);
  assert.deepEqual(parse("w e n 2 l")?.args, { num: "2", log: "true" });
  assert.deepEqual(parse("se ba a pa")?.args, { backend: "a", op: "pause" });
  assert.deepEqual(parse("conf rel")?.canonical, ["config", "reload"]);
  assert.deepEqual(parse("SHOW Backends")?.canonical, ["show", "backends"]);
});

Deno.test("parse: an exact word wins over a longer keyword it is a prefix of", () => {
  assert.deepEqual(parse("show backend a")?.canonical, [
    "show",
    "backend",
    "a",
  ]);
  assert.deepEqual(parse("show frontend web")?.canonical, [
    "show",
    "frontend",
    "web",
  ]);
  // "show backend" alone is not "show backends": it wants a name.
  const e = parseError("show backend");
  assert.equal(e.kind, "incomplete");
  assert.match(
    e.message,
    /incomplete command "show backend"; expected one of: <name>/,
  );
});

Deno.test("parse: ambiguous prefixes list the candidates", () => {
  const e = parseError("s vpp lb state");
  assert.equal(e.kind, "ambiguous");
  assert.equal(
    e.message,
    'ambiguous word "s" at position 1; could be: show, set, sync',
  );
  // ... unless only one reading makes sense of the whole line.
  assert.deepEqual(parse("s backends")?.canonical, ["show", "backends"]);
  assert.equal(parseError("s").kind, "ambiguous");
  // Both readings of "ba" fail at the same place: still ambiguous.
  assert.match(
    parseError("show ba a b").message,
    /unexpected word "b" at position 4/,
  );
});

Deno.test("parse: unknown words say where and what was expected", () => {
  assert.equal(
    parseError("shw").message,
    'unknown word "shw" at position 1; expected one of: show, set, sync, adopt, watch, config, help, quit, exit',
  );
  assert.equal(
    parseError("show vpp lb foo").message,
    'unknown word "foo" at position 4; expected one of: state, counters',
  );
  assert.equal(
    parseError("set backend a stop").message,
    'unknown word "stop" at position 4; expected one of: pause, resume, enable, disable',
  );
  assert.equal(
    parseError("quit now").message,
    'unexpected word "now" at position 2: the command is complete without it',
  );
  // An option can be given only once.
  assert.match(
    parseError("watch events backend backend").message,
    /position 4/,
  );
});

Deno.test("parse: values are validated", () => {
  for (const w of ["101", "-1", "x", "1.5"]) {
    const e = parseError(`set frontend web pool primary backend a weight ${w}`);
    assert.equal(e.kind, "invalid");
    assert.equal(e.message, "weight must be 0..100");
  }
  assert.equal(
    parse("set frontend web pool primary backend a weight 0")?.args.weight,
    "0",
  );
  assert.equal(
    parse("set frontend web pool primary backend a weight 100")?.args.weight,
    "100",
  );
  assert.equal(
    parseError("watch events num 0").message,
    "num must be 1 or more",
  );
  assert.equal(parse("watch events log level deb")?.args.level, "debug");
  assert.equal(
    parseError("watch events log level loud").message,
    "level must be one of debug, info, warn, error",
  );
});

Deno.test("parse: where a name may stand, only a full keyword is a keyword", () => {
  assert.deepEqual(parse("sync vpp lb state dry")?.args, { frontend: "dry" });
  assert.deepEqual(parse("sync vpp lb state web dry")?.args, {
    frontend: "web",
    dryRun: "true",
  });
  // Names are taken as typed, even when they look like keywords.
  assert.deepEqual(parse("show backend backends")?.args, {
    backend: "backends",
  });
});

Deno.test("walk: reports what may come next and whether the command is complete", () => {
  const w = walk(["watch", "events", "log"]);
  assert.equal(w.complete, true);
  assert.deepEqual(
    w.next.map((n) => n.kind === "keyword" ? n.word : n.label),
    ["level", "num", "backend", "frontend"],
  );
  assert.equal(walk(["show"]).complete, false);
  assert.throws(() => walk(["show", "nope"]), CommandError);
});

Deno.test("complete: keywords, prefixes and live names", async () => {
  const c = async (line: string) => (await complete(line, NAMES)).candidates;
  assert.deepEqual(await c(""), [
    "show",
    "set",
    "sync",
    "adopt",
    "watch",
    "config",
    "help",
    "quit",
    "exit",
  ]);
  assert.deepEqual(await c("sh"), ["show"]);
  assert.deepEqual(await c("s"), ["show", "set", "sync"]);
  assert.deepEqual(await c("show b"), ["backends", "backend"]);
  assert.deepEqual(await c("show backend"), ["backends", "backend"]);
  assert.deepEqual(await c("show backend "), ["a", "b", "c"]);
  assert.deepEqual(await c("show frontend w"), ["web", "www"]);
  assert.deepEqual(await c("show healthcheck hc-"), ["hc-a", "hc-b"]);
  assert.deepEqual(await c("set frontend web pool "), ["primary", "backup"]);
  assert.deepEqual(await c("set frontend web pool backup backend "), ["c"]);
  assert.deepEqual(await c("set frontend www pool "), []);
  assert.deepEqual(await c("watch events log level "), [
    "debug",
    "info",
    "warn",
    "error",
  ]);
  assert.deepEqual(await c("watch events log "), [
    "level",
    "num",
    "backend",
    "frontend",
  ]);
  assert.deepEqual(await c("sync vpp lb state "), ["web", "www", "dry-run"]);
  assert.deepEqual(await c("quit "), []);
  const r = await complete("show ba", NAMES);
  assert.equal(r.start, 5);
  assert.equal(r.prefix, "ba");
  const bad = await complete("shw ", NAMES);
  assert.deepEqual(bad.candidates, []);
  assert.match(bad.error ?? "", /unknown word "shw"/);
});

Deno.test("complete: a daemon that cannot be reached offers no names, and no error", async () => {
  const down: NameSource = {
    ...NAMES,
    backends: () => Promise.reject(new Error("connection refused")),
  };
  const r = await complete("show backend ", down);
  assert.deepEqual(r.candidates, []);
  assert.equal(r.error, undefined);
});

Deno.test("help (?): next words with one-line help, <cr> when runnable", async () => {
  const h = await helpAt("", NAMES);
  assert.deepEqual(h.entries.map((e) => e.word), [
    "show",
    "set",
    "sync",
    "adopt",
    "watch",
    "config",
    "help",
    "quit",
    "exit",
  ]);
  assert.ok(h.entries.every((e) => e.help.length > 0));
  const show = await helpAt("show ", NAMES);
  assert.ok(show.entries.some((e) => e.word === "backends"));
  assert.ok(!show.entries.includes(RUN_ENTRY));
  assert.deepEqual((await helpAt("show backend ", NAMES)).entries, [
    { word: "<name>", help: "backend name" },
  ]);
  // Inside a word: what it may become, live names included.
  assert.deepEqual(
    (await helpAt("show backend b", NAMES)).entries.map((e) => e.word),
    ["b"],
  );
  assert.deepEqual(
    (await helpAt("show ba", NAMES)).entries.map((e) => e.word),
    ["backends", "backend"],
  );
  const we = await helpAt("watch events ", NAMES);
  assert.deepEqual(we.entries.at(-1), RUN_ENTRY);
  assert.deepEqual(
    (await helpAt("set frontend web pool primary backend a weight ", NAMES))
      .entries,
    [{ word: "<0-100>", help: "weight 0..100 (0 drains it)" }],
  );
  const bad = await helpAt("show bogus ", NAMES);
  assert.match(bad.error ?? "", /unknown word "bogus" at position 2/);
});

Deno.test("listCommands: the whole tree as the spec writes it", () => {
  const syntax = listCommands().map((c) => c.syntax);
  assert.deepEqual(syntax, [
    "show version",
    "show frontends",
    "show frontend <name>",
    "show backends",
    "show backend <name>",
    "show healthchecks",
    "show healthcheck <name>",
    "show vpp info",
    "show vpp lb state",
    "show vpp lb counters",
    "set backend <name> pause|resume|enable|disable",
    "set frontend <name> guard confirm",
    "set frontend <name> pool <pool> backend <name> weight <0-100>",
    "sync vpp lb state [<frontend>] [dry-run]",
    "adopt vpp lb vip <prefix> <protocol> <port>",
    "watch events [num <n>] [log [level <level>]] [backend] [frontend]",
    "config check",
    "config reload",
    "help",
    "quit",
    "exit",
  ]);
  // Every listed command parses once its placeholders are filled in.
  for (const s of syntax) {
    let line = s;
    while (/\[[^[\]]*\]/.test(line)) line = line.replace(/\[[^[\]]*\]/g, "");
    line = line.replace(/\|\S+/g, "").replace("<0-100>", "5")
      .replace("<prefix>", "192.0.2.1/32").replace("<protocol>", "tcp")
      .replace("<port>", "80").replace(/<[^>]+>/g, "x");
    assert.ok(parse(line), s);
  }
});
