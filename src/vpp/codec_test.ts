import assert from "node:assert/strict";
import { CodecError, decode, encode, peekContext, peekId } from "./codec.ts";
import {
  type FieldDef,
  type MessageDef,
  type MessageInput,
  type MessageName,
  MESSAGES,
  type WireRecord,
  type WireValue,
} from "./messages.ts";
import {
  asObject,
  fromHex,
  goldenFiles,
  type Json,
  type JsonObject,
  toHex,
} from "./_golden.ts";

const GOLDEN = goldenFiles();
const CONTEXT = 0x01020304;

function isMessageName(name: string): name is MessageName {
  return Object.hasOwn(MESSAGES, name);
}

function fieldOf(name: MessageName, field: string): FieldDef | undefined {
  return MESSAGES[name].fields.find((f: FieldDef) => f.name === field);
}

/** Message ids of the captured build, name_crc → id, and the reverse. */
const BUILD_IDS = asObject(
  asObject(GOLDEN.get("_msg_ids_this_build.json"), "ids file").ids,
  "ids",
);
const NAME_BY_BUILD_ID = new Map<number, MessageName>();
for (const [key, id] of Object.entries(BUILD_IDS)) {
  const name = key.replace(/_[0-9a-f]{8}$/, "");
  if (typeof id === "number" && id >= 0 && isMessageName(name)) {
    NAME_BY_BUILD_ID.set(id, name);
  }
}

/**
 * The golden request files describe values for people: "6 (tcp)",
 * "LB_API_ENCAP_TYPE_GRE4 (0)", "all zero (...)", nested pfx_matcher, and
 * derived fields (`pfx.address.af`, `cmd.length`). This turns them into
 * codec input. Fields a file leaves out (the .del variants omit dscp, type,
 * target_port, node_port) are 0/false: the byte-exact hex comparison proves
 * that is what the vector holds.
 */
function requestInput(name: MessageName, fields: JsonObject): WireRecord {
  const input: Record<string, WireValue> = {};
  const flat: [string, Json][] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v)) flat.push([`${k}.${k2}`, v2]);
    } else flat.push([k, v]);
  }
  const derived: [string, Json][] = [];
  for (const [key, raw] of flat) {
    const f = fieldOf(name, key);
    if (f === undefined) {
      derived.push([key, raw]);
      continue;
    }
    input[key] = humanValue(f, raw);
  }
  for (const f of MESSAGES[name].fields as readonly FieldDef[]) {
    if (f.header || f.name in input) continue;
    input[f.name] = f.type === "bool" ? false : 0;
  }
  // Derived fields must agree with what we encode.
  for (const [key, raw] of derived) {
    if (key.endsWith(".length")) {
      const text = input[key.slice(0, -".length".length)];
      assert.equal(typeof text, "string", `${name}: ${key} without its string`);
      assert.equal(new TextEncoder().encode(text as string).length, raw, key);
    } else if (key.endsWith(".address.af")) {
      const pfx = input[key.slice(0, -".address.af".length)] as string;
      assert.equal(pfx.includes(":") ? 1 : 0, humanNumber(raw), key);
    } else {
      assert.fail(`${name}: golden field "${key}" is not in the table`);
    }
  }
  return input;
}

function humanNumber(raw: Json): number {
  if (typeof raw === "number") return raw;
  if (typeof raw === "string") {
    const m = /^(\d+) \(|\((\d+)\)$/.exec(raw);
    if (m) return Number(m[1] ?? m[2]);
  }
  throw new Error(`not a number: ${JSON.stringify(raw)}`);
}

function humanValue(f: FieldDef, raw: Json): WireValue {
  if (f.type === "bool") return raw as boolean;
  if (f.type === "prefix" && typeof raw === "string" && /^all zero/.test(raw)) {
    return "0.0.0.0/0";
  }
  if (
    typeof raw === "string" &&
    ["prefix", "address", "ip4", "ip6", "string", "vstring"].includes(f.type)
  ) {
    return raw;
  }
  return humanNumber(raw);
}

/** Checks decoded reply values against a golden file's `fields`. */
function assertReplyFields(
  file: string,
  name: MessageName,
  decoded: WireRecord,
  fields: JsonObject,
): void {
  for (const [key, want] of Object.entries(fields)) {
    const where = `${file}: ${key}`;
    if (key === "context") {
      assert.equal(decoded.context, Number(want), where);
    } else if (key === "client_index" && typeof want === "string") {
      // "raw bytes 00000000 = host-order u32 0 (0x0)"
      const m = /host-order u32 (\d+)/.exec(want);
      assert.ok(m, where);
      assert.equal(decoded.client_index, Number(m[1]), where);
    } else if (
      /\.(address\.)?af$/.test(key) && fieldOf(name, key) === undefined
    ) {
      const base = key.replace(/\.(address\.)?af$/, "");
      const text = decoded[base];
      assert.equal(typeof text, "string", where);
      assert.equal((text as string).includes(":") ? 1 : 0, want, where);
    } else if (key.endsWith(".length") && fieldOf(name, key) === undefined) {
      const text = decoded[key.slice(0, -".length".length)] as string;
      assert.equal(new TextEncoder().encode(text).length, want, where);
    } else if (Array.isArray(want)) {
      const items = decoded[key] as readonly WireRecord[];
      assert.equal(items.length, want.length, where);
      want.forEach((w, i) => {
        for (const [k, v] of Object.entries(asObject(w, where))) {
          const m = /^(.*)\(hex\)$/.exec(k);
          if (m) {
            assert.equal(
              toHex(items[i][m[1]] as Uint8Array),
              v,
              `${where}[${i}].${k}`,
            );
          } else assert.deepEqual(items[i][k], v, `${where}[${i}].${k}`);
        }
      });
    } else {
      assert.ok(fieldOf(name, key), `${where}: not a field of ${name}`);
      assert.deepEqual(decoded[key], want, where);
    }
  }
}

/** Re-encodes decoded values; must give back the exact bytes. */
function reencode(name: MessageName, decoded: WireRecord): Uint8Array {
  return encode(name, decoded as MessageInput<MessageName>, {
    id: decoded._vl_msg_id as number,
    context: decoded.context as number,
  });
}

// ---------------------------------------------------------------------------

Deno.test("golden: every request vector encodes byte for byte", () => {
  let count = 0;
  for (const [file, json] of GOLDEN) {
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      continue;
    }
    if (!("placeholders" in json)) continue;
    const name = String(json.message);
    assert.ok(isMessageName(name), `${file}: ${name} not in the table`);
    assert.equal(MESSAGES[name].kind, "request", file);
    assert.equal(`0x${MESSAGES[name].crc}`, json.crc, `${file}: crc`);
    const ph = asObject(json.placeholders, file);
    assert.equal(ph.client_index, 0, file);
    const bytes = encode(
      name,
      requestInput(name, asObject(json.fields, file)) as MessageInput<
        typeof name
      >,
      { id: Number(ph._vl_msg_id), context: Number(ph.context) },
    );
    assert.equal(bytes.length, json.length, `${file}: length`);
    assert.equal(toHex(bytes), json.hex, file);
    count++;
  }
  // 16 request files (README §4.1); fewer means files moved.
  assert.ok(count >= 16, `only ${count} request vectors found`);
});

Deno.test("golden: every captured reply decodes to its recorded fields", () => {
  let count = 0;
  for (const [file, json] of GOLDEN) {
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      continue;
    }
    if (!("captured_from_live_vpp" in json)) continue;
    const name = String(json.message);
    assert.ok(isMessageName(name), `${file}: ${name} not in the table`);
    assert.notEqual(MESSAGES[name].kind, "request", file);
    assert.equal(`0x${MESSAGES[name].crc}`, json.crc, `${file}: crc`);
    const bytes = fromHex(String(json.hex));
    const decoded = decode(name, bytes) as WireRecord;
    assert.equal(decoded._vl_msg_id, json.msg_id_in_this_build, `${file}: id`);
    assert.equal(decoded.context, CONTEXT, `${file}: context`);
    assert.equal(peekId(bytes), json.msg_id_in_this_build);
    assert.equal(peekContext(bytes), CONTEXT);
    assertReplyFields(file, name, decoded, asObject(json.fields, file));
    // The id-zeroed copy decodes the same apart from the id.
    const zeroed = decode(
      name,
      fromHex(String(json.hex_msgid_zeroed)),
    ) as WireRecord;
    assert.deepEqual(
      { ...zeroed, _vl_msg_id: decoded._vl_msg_id },
      decoded,
      file,
    );
    assert.equal(
      toHex(reencode(name, decoded)),
      json.hex,
      `${file}: re-encode`,
    );
    count++;
  }
  assert.ok(count >= 20, `only ${count} reply vectors found`);
});

Deno.test("golden: errors.json requests re-encode and replies carry the retval", () => {
  const cases = GOLDEN.get("errors.json");
  assert.ok(Array.isArray(cases));
  let count = 0;
  for (const c of cases) {
    const o = asObject(c, "errors.json case");
    if (typeof o.request_hex !== "string") continue;
    const name = String(o.request_message);
    assert.ok(isMessageName(name), name);
    const req = fromHex(o.request_hex);
    const decoded = decode(name, req) as WireRecord;
    assert.equal(decoded.context, CONTEXT);
    assert.equal(toHex(reencode(name, decoded)), o.request_hex, String(o.case));
    const reply = fromHex(String(o.reply_hex));
    const replyName = NAME_BY_BUILD_ID.get(peekId(reply)!);
    assert.equal(
      replyName,
      (MESSAGES[name] as MessageDef).reply,
      String(o.case),
    );
    const r = decode(replyName!, reply) as WireRecord;
    assert.equal(r.retval, o.retval, String(o.case));
    assert.equal(r.context, CONTEXT);
    count++;
  }
  assert.ok(count >= 14, `only ${count} error cases`);
});

Deno.test("golden: quirks.json details and the malformed cli reply decode", () => {
  const cases = GOLDEN.get("quirks.json");
  assert.ok(Array.isArray(cases));
  const byCase = new Map(
    cases.map((c) => asObject(c, "quirk")).map((c) => [String(c.case), c]),
  );
  const details = (label: string) => {
    const c = byCase.get(label);
    assert.ok(c, label);
    const bytes = fromHex(String(c.details_hex));
    const name = NAME_BY_BUILD_ID.get(peekId(bytes)!)!;
    return { c, d: decode(name, bytes) as WireRecord };
  };
  {
    const { d } = details(
      "VIP 192.0.2.2/32 tcp 443 with new_flows_table_length 65536",
    );
    assert.equal(d.flow_table_length, 0); // u16 truncation
    assert.equal(d["vip.pfx"], "192.0.2.2/32");
  }
  {
    const { d } = details(
      "all-port VIP 192.0.2.3/32 sent with protocol 6, port 0",
    );
    assert.equal(d["vip.protocol"], 255);
    assert.equal(d["vip.port"], 0);
  }
  {
    const label =
      "AS 198.51.100.11 added (weight 50) then deleted, then lb_as_v2_dump";
    const { c, d } = details(label);
    assertReplyFields(
      label,
      "lb_as_v2_details",
      d,
      asObject(c.details_of_deleted_as, label),
    );
  }
  {
    const m = asObject(byCase.get("malformed requests"), "malformed");
    const cli = asObject(
      m.cli_inband_length_field_100_but_12_bytes_sent,
      "cli",
    );
    const r = decode("cli_inband_reply", fromHex(String(cli.reply_hex)));
    assert.equal(r.retval, -1);
    assert.equal(r.reply, "");
  }
});

Deno.test("golden: the crash request (new_flows_table_length 0) decodes as such", () => {
  const crash = asObject(
    GOLDEN.get("crash_new_flows_table_length_0.json"),
    "crash",
  );
  const hex = String(crash.request_hex);
  const d = decode("lb_add_del_vip_v2", fromHex(hex));
  assert.equal(d.new_flows_table_length, 0);
  assert.equal(toHex(reencode("lb_add_del_vip_v2", d)), hex);
});

// ---------------------------------------------------------------------------

Deno.test("decode: a short reply is an error naming the message", () => {
  const ok = fromHex("00640102030400000000");
  assert.throws(
    () => decode("lb_add_del_as_v2_reply", ok.subarray(0, 9)),
    (e: unknown) =>
      e instanceof CodecError &&
      /lb_add_del_as_v2_reply: message too short: 9 bytes/.test(e.message),
  );
  assert.throws(
    () => decode("lb_add_del_as_v2_reply", new Uint8Array([...ok, 0])),
    /lb_add_del_as_v2_reply: length mismatch: 11 bytes received, layout says 10/,
  );
});

Deno.test("decode: a variable tail longer than the bytes is an error", () => {
  // cli_inband_reply announcing 20 bytes with 3 present.
  const b = fromHex("0076010203040000000000000014616263");
  assert.throws(
    () => decode("cli_inband_reply", b),
    /cli_inband_reply: message too short: "reply" announces 20 bytes but only 3 follow/,
  );
  // ip_route_lookup_reply with n_paths 1 and no path bytes.
  const golden = asObject(GOLDEN.get("ip_route_lookup_reply.json"), "f");
  const full = fromHex(String(golden.hex));
  assert.throws(
    () => decode("ip_route_lookup_reply", full.subarray(0, 37)),
    /ip_route_lookup_reply: message too short: "route.n_paths" is 1/,
  );
});

Deno.test("decode: unknown address family is an error", () => {
  const golden = fromHex(
    String(asObject(GOLDEN.get("lb_as_v2_details.json"), "f").hex),
  );
  golden[27] = 7;
  assert.throws(
    () => decode("lb_as_v2_details", golden),
    /lb_as_v2_details: field "app_srv" has unknown address family 7/,
  );
});

Deno.test("encode: missing and out-of-range values name the field", () => {
  const base = {
    pfx: "192.0.2.1/32",
    protocol: 6,
    port: 80,
    as_address: "198.51.100.10",
    weight: 100,
    is_del: false,
    is_flush: false,
  };
  const header = { id: 1, context: 2 };
  assert.equal(encode("lb_add_del_as_v2", base, header).length, 51);
  const { weight: _w, ...noWeight } = base;
  assert.throws(
    () => encode("lb_add_del_as_v2", noWeight as typeof base, header),
    /lb_add_del_as_v2: field "weight" is missing/,
  );
  assert.throws(
    () => encode("lb_add_del_as_v2", { ...base, weight: 256 }, header),
    /field "weight" \(u8\) must be an integer 0..255, got 256/,
  );
  assert.throws(
    () => encode("lb_add_del_as_v2", { ...base, port: 1.5 }, header),
    /field "port" \(u16\)/,
  );
  assert.throws(
    () => encode("lb_add_del_as_v2", { ...base, as_address: "nope" }, header),
    /lb_add_del_as_v2: field "as_address": /,
  );
  assert.throws(
    () =>
      encode("lb_conf", {
        ip4_src_address: "2001:db8::1",
        ip6_src_address: "::",
        sticky_buckets_per_core: 1,
        flow_timeout: 1,
      }, header),
    /field "ip4_src_address" needs an IPv4 address/,
  );
  assert.throws(
    () => encode("control_ping", {}, { id: 70000, context: 1 }),
    /field "_vl_msg_id" \(u16\)/,
  );
});

Deno.test("encode: IPv4 goes in union bytes 0..3, IPv6 fills the union", () => {
  const v4 = encode("lb_as_v2_dump", {
    pfx: "192.0.2.1/32",
    protocol: 6,
    port: 80,
  }, { id: 0, context: 0 });
  assert.equal(
    toHex(v4.subarray(10, 28)),
    "00c0000201000000000000000000000000" + "20",
  );
  const v6 = encode("lb_as_v2_dump", {
    pfx: "2001:db8::1/128",
    protocol: 17,
    port: 53,
  }, { id: 0, context: 0 });
  assert.equal(
    toHex(v6.subarray(10, 28)),
    "0120010db8000000000000000000000001" + "80",
  );
});

Deno.test("encode/decode: round trip of a reply with a path array and strings", () => {
  const paths = [{
    sw_if_index: 0xffffffff,
    table_id: 0,
    rpf_id: 0,
    weight: 1,
    preference: 0,
    type: 0,
    flags: 0,
    proto: 1,
    "nh.address": new Uint8Array(16),
    "nh.via_label": 0,
    "nh.obj_id": 0,
    "nh.classify_table_index": 0,
    n_labels: 0,
    label_stack: new Uint8Array(112),
  }];
  const bytes = encode("ip_route_lookup_reply", {
    retval: 0,
    "route.table_id": 0,
    "route.stats_index": 10,
    "route.prefix": "2001:db8::1/128",
    "route.n_paths": 2,
    "route.paths": [...paths, ...paths],
  }, { id: 401, context: 9 });
  assert.equal(bytes.length, 37 + 2 * 167);
  const d = decode("ip_route_lookup_reply", bytes);
  assert.equal(d["route.stats_index"], 10);
  assert.equal(d["route.paths"].length, 2);
  assert.throws(
    () =>
      encode("ip_route_lookup_reply", {
        retval: 0,
        "route.table_id": 0,
        "route.stats_index": 10,
        "route.prefix": "2001:db8::1/128",
        "route.n_paths": 1,
        "route.paths": [],
      }, { id: 401, context: 9 }),
    /"route.n_paths" is 1 but "route.paths" has 0 elements/,
  );
  const sv = encode("show_version_reply", {
    retval: 0,
    program: "vpe",
    version: "26.10",
    build_date: "today",
    build_directory: "",
  }, { id: 846, context: 1 });
  assert.equal(decode("show_version_reply", sv).version, "26.10");
  assert.throws(
    () =>
      encode("show_version_reply", {
        retval: 0,
        program: "x".repeat(32),
        version: "",
        build_date: "",
        build_directory: "",
      }, { id: 846, context: 1 }),
    /field "program" holds at most 31 bytes, got 32/,
  );
});

Deno.test("encode: cli_inband carries a BE length and no NUL", () => {
  const b = encode("cli_inband", { cmd: "show lb" }, { id: 116, context: 5 });
  assert.equal(
    toHex(b),
    "0074" + "00000000" + "00000005" + "00000007" +
      toHex(new TextEncoder().encode("show lb")),
  );
});

Deno.test("golden: no file with message bytes is left untested", () => {
  const byOtherTests = new Set([
    "errors.json",
    "quirks.json",
    "crash_new_flows_table_length_0.json",
    "vac_semantics.json",
  ]);
  const untested: string[] = [];
  let requests = 0;
  let replies = 0;
  for (const [file, json] of GOLDEN) {
    const text = JSON.stringify(json);
    if (!/"(\w+_)?hex"/.test(text)) continue;
    const o = !Array.isArray(json) && typeof json === "object" && json !== null
      ? json
      : undefined;
    if (o && "placeholders" in o) requests++;
    else if (o && "captured_from_live_vpp" in o) replies++;
    else if (!byOtherTests.has(file)) untested.push(file);
  }
  assert.deepEqual(untested, []);
  assert.equal(requests, 16, "request vectors (README §4.1)");
  assert.equal(replies, 20, "reply vectors (README §4.2)");
});

Deno.test("golden: vac_semantics.json — client_index is host order, context echoed verbatim", () => {
  const cases = GOLDEN.get("vac_semantics.json");
  assert.ok(Array.isArray(cases));
  const c = cases.map((x) => asObject(x, "case")).find((x) =>
    String(x.test).startsWith("client_index stamping")
  );
  assert.ok(c);
  const r = asObject(c.result, "result");
  const d = decode("control_ping_reply", fromHex(String(r.reply_hex)));
  assert.equal(d.client_index, r.as_host_u32); // 256: bytes 00 01 00 00
  assert.equal(d.context, Number(`0x${r.reply_context_raw}`));
  assert.equal(d.retval, 0);
  assert.equal(d.vpe_pid, 27375);
  assert.equal(toHex(reencode("control_ping_reply", d)), r.reply_hex);
});
