import assert from "node:assert/strict";
import { type FlagSpec, parseFlags, UsageError } from "./flags.ts";

const specs: FlagSpec[] = [
  {
    name: "config",
    type: "string",
    default: "/etc/x.yaml",
    env: "T_CONFIG",
    help: "c",
  },
  { name: "vpp", type: "boolean", default: true, env: "T_VPP", help: "v" },
  { name: "log-format", type: "string", choices: ["json", "text"], help: "f" },
  { name: "check", type: "boolean", default: false, help: "k" },
];

Deno.test("flags: defaults, env, and flags winning over env", () => {
  let p = parseFlags(specs, []);
  assert.equal(p.values.config, "/etc/x.yaml");
  assert.equal(p.values.vpp, true);
  p = parseFlags(specs, [], { T_CONFIG: "/env.yaml", T_VPP: "false" });
  assert.equal(p.values.config, "/env.yaml");
  assert.equal(p.values.vpp, false);
  p = parseFlags(specs, ["--config", "/flag.yaml", "--vpp"], {
    T_CONFIG: "/env.yaml",
    T_VPP: "false",
  });
  assert.equal(p.values.config, "/flag.yaml");
  assert.equal(p.values.vpp, true);
  assert.ok(p.explicit.has("config"));
});

Deno.test("flags: --bool=false, Go-style single dash, = values", () => {
  const p = parseFlags(specs, ["-config=/a.yaml", "--vpp=false", "-check"]);
  assert.equal(p.values.config, "/a.yaml");
  assert.equal(p.values.vpp, false);
  assert.equal(p.values.check, true);
});

Deno.test("flags: clear errors for unknown flags, bad bools, bad choices", () => {
  assert.throws(
    () => parseFlags(specs, ["--nope"]),
    (e: unknown) =>
      e instanceof UsageError && /unknown flag --nope/.test(e.message),
  );
  assert.throws(() => parseFlags(specs, ["--vpp=maybe"]), UsageError);
  assert.throws(
    () => parseFlags(specs, ["--log-format", "xml"]),
    (e: unknown) => e instanceof UsageError && /json, text/.test(e.message),
  );
  assert.throws(
    () => parseFlags(specs, ["--config"]),
    (e: unknown) =>
      e instanceof UsageError && /--config needs a value/.test(e.message),
  );
  assert.throws(() => parseFlags(specs, [], { T_VPP: "maybe" }), UsageError);
});

Deno.test("flags: stopAtPositional leaves command words alone", () => {
  const p = parseFlags(specs, ["--config", "a", "show", "--vpp", "x"], {}, {
    stopAtPositional: true,
  });
  assert.deepEqual(p.positionals, ["show", "--vpp", "x"]);
  assert.equal(p.values.vpp, true); // default, not the word after "show"
  assert.ok(!p.explicit.has("vpp"));
});

Deno.test("flags: a multiple flag keeps every value in order, else env, else default", () => {
  const multi: FlagSpec[] = [
    {
      name: "config",
      type: "string",
      multiple: true,
      default: "/etc/x.yaml",
      env: "T_CONFIG",
      help: "c",
    },
    { name: "filter", type: "string", multiple: true, help: "f" },
    { name: "other", type: "string", help: "o" },
  ];
  let p = parseFlags(multi, ["--config", "/a", "-config=/b", "--config=/c"]);
  assert.deepEqual(p.lists.config, ["/a", "/b", "/c"]);
  assert.equal(p.values.config, "/c");
  assert.ok(p.explicit.has("config"));
  p = parseFlags(multi, [], { T_CONFIG: "/env.yaml" });
  assert.deepEqual(p.lists.config, ["/env.yaml"]);
  p = parseFlags(multi, []);
  assert.deepEqual(p.lists.config, ["/etc/x.yaml"]);
  assert.deepEqual(p.lists.filter, []);
  assert.equal("other" in p.lists, false, "single flags have no list");
  // A single flag given twice still takes the last, as before.
  p = parseFlags(multi, ["--other", "1", "--other", "2"]);
  assert.equal(p.values.other, "2");
});
