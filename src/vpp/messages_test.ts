import assert from "node:assert/strict";
import {
  FIB_PATH,
  type FieldDef,
  fieldSize,
  MESSAGE_NAMES,
  type MessageDef,
  MESSAGES,
  nameCrc,
} from "./messages.ts";
import { asObject, type Json, LAYOUTS_FILE, readJson } from "./_golden.ts";

const LAYOUTS = asObject(
  readJson(LAYOUTS_FILE),
  "layouts.json",
);

type Row = [offset: number, size: number, type: string, field: string];

function rows(json: Json | undefined, what: string): Row[] {
  assert.ok(Array.isArray(json), `${what}: rows`);
  return json.map((r) => {
    assert.ok(Array.isArray(r));
    return [Number(r[0]), Number(r[1]), String(r[2]), String(r[3])];
  });
}

/** The layout rows one table field stands for (layouts.json splits addresses and strings). */
function expand(f: FieldDef): Row[] {
  const at = f.offset;
  switch (f.type) {
    case "address":
      return [
        [at, 1, "address_family (enum, u8)", `${f.name}.af`],
        [at + 1, 16, "address_union (union)", `${f.name}.un`],
      ];
    case "prefix":
      return [
        [at, 1, "address_family (enum, u8)", `${f.name}.address.af`],
        [at + 1, 16, "address_union (union)", `${f.name}.address.un`],
        [at + 17, 1, "u8", `${f.name}.len`],
      ];
    case "vstring":
      return [
        [at, 4, "u32", `${f.name}.length`],
        [at + 4, 0, "u8[length]", `${f.name}.buf`],
      ];
    case "array":
      return [[
        at,
        0,
        `${f.element?.name}[${f.count?.replace(/^.*\./, "")}]`,
        f.name,
      ]];
    case "ip4":
      return [[at, 4, "ip4_address (alias u8[4])", f.name]];
    case "ip6":
      return [[at, 16, "ip6_address (alias u8[16])", f.name]];
    case "enum8":
      return [[at, 1, `${f.enum} (enum, u8)`, f.name]];
    case "enum32":
      return [[at, 4, `${f.enum} (enum, u32)`, f.name]];
    case "string":
      return [[at, fieldSize(f), `string[${f.size}]`, f.name]];
    case "u32host":
      return [[at, 4, "u32", f.name]];
    case "bytes":
      return [[at, fieldSize(f), "(raw bytes)", f.name]];
    default:
      return [[at, fieldSize(f), f.type, f.name]];
  }
}

Deno.test("messages: every table entry matches layouts.json (crc, size, offsets, types)", () => {
  const layoutMessages = LAYOUTS.messages;
  assert.ok(Array.isArray(layoutMessages));
  const byName = new Map(
    layoutMessages.map((m) => {
      const o = asObject(m, "layout message");
      return [String(o.message), o];
    }),
  );
  for (const name of MESSAGE_NAMES) {
    const def: MessageDef = MESSAGES[name];
    const layout = byName.get(name);
    assert.ok(layout, `${name} is not in layouts.json`);
    assert.equal(`0x${def.crc}`, layout.crc, `${name}: crc`);
    assert.equal(nameCrc(name), layout.name_crc, `${name}: name_crc`);
    assert.equal(def.size, layout.fixed_size, `${name}: fixed size`);
    const want = rows(layout.rows, name);
    const got = def.fields.flatMap(expand);
    assert.equal(got.length, want.length, `${name}: number of rows`);
    got.forEach((g, i) => {
      const w = want[i];
      assert.equal(g[3], w[3], `${name}: row ${i} name`);
      assert.equal(g[0], w[0], `${name}.${w[3]}: offset`);
      assert.equal(g[1], w[1], `${name}.${w[3]}: size`);
      assert.equal(g[2], w[2], `${name}.${w[3]}: type`);
    });
  }
});

Deno.test("messages: fib_path matches the layouts.json type", () => {
  const types = LAYOUTS.types;
  assert.ok(Array.isArray(types));
  const layout = types.map((t) => asObject(t, "type")).find((t) =>
    t.type === "fib_path"
  );
  assert.ok(layout);
  assert.equal(FIB_PATH.size, layout.size);
  const want = rows(layout.rows, "fib_path");
  const got = FIB_PATH.fields.flatMap((f) => expand(f));
  assert.equal(got.length, want.length);
  got.forEach((g, i) => {
    assert.equal(g[3], want[i][3]);
    assert.equal(g[0], want[i][0], `fib_path.${g[3]} offset`);
    assert.equal(g[1], want[i][1], `fib_path.${g[3]} size`);
    if (g[2] !== "(raw bytes)") assert.equal(g[2], want[i][2]);
  });
});

Deno.test("messages: fields are contiguous and end at the fixed size", () => {
  const check = (what: string, size: number, fields: readonly FieldDef[]) => {
    let at = 0;
    for (const f of fields) {
      assert.equal(f.offset, at, `${what}.${f.name}: offset`);
      at += fieldSize(f);
      if (f.type === "vstring" || f.type === "array") {
        assert.equal(f, fields.at(-1), `${what}.${f.name}: must be last`);
      }
    }
    assert.equal(at, size, `${what}: fields end at ${at}, size ${size}`);
  };
  for (const name of MESSAGE_NAMES) {
    check(name, MESSAGES[name].size, MESSAGES[name].fields);
  }
  check("fib_path", FIB_PATH.size, FIB_PATH.fields);
});

Deno.test("messages: headers by kind, replies and details exist", () => {
  for (const name of MESSAGE_NAMES) {
    const def: MessageDef = MESSAGES[name];
    const head = def.fields.filter((f) => f.header).map((f) => f.name);
    if (def.kind === "request") {
      assert.deepEqual(head, ["_vl_msg_id", "client_index", "context"], name);
      assert.ok(
        (def.reply === undefined) !== (def.details === undefined),
        `${name}: exactly one of reply/details`,
      );
      const answer = (def.reply ?? def.details)!;
      assert.ok(Object.hasOwn(MESSAGES, answer), `${name} → ${answer}`);
    } else {
      assert.deepEqual(head, ["_vl_msg_id", "context"], name);
      assert.equal(
        def.fields[2]?.name === "retval",
        def.kind === "reply",
        `${name}: retval at offset 6 iff reply`,
      );
    }
    assert.match(def.crc, /^[0-9a-f]{8}$/, name);
  }
  // The dump trick needs control_ping in the table.
  assert.ok(MESSAGES.control_ping.reply === "control_ping_reply");
});

Deno.test("messages: the table covers every message maglev uses", () => {
  const used = [
    "control_ping",
    "show_version",
    "cli_inband",
    "lb_conf",
    "lb_conf_get",
    "lb_add_del_vip_v2",
    "lb_add_del_as_v2",
    "lb_as_set_weight",
    "ip_route_lookup",
  ];
  for (const n of used) {
    assert.ok(MESSAGE_NAMES.includes(n as never), n);
    assert.ok(MESSAGE_NAMES.includes(`${n}_reply` as never), `${n}_reply`);
  }
  for (
    const n of [
      "lb_vip_dump",
      "lb_vip_details",
      "lb_as_v2_dump",
      "lb_as_v2_details",
    ]
  ) {
    assert.ok(MESSAGE_NAMES.includes(n as never), n);
  }
});
