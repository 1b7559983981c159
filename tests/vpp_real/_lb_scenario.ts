/**
 * Child process of lb_real_test.ts: one VppLb scenario against a real VPP
 * the parent started, with the assertions inside. It runs in its own
 * process because libvppapiclient allows one connection per process (test
 * modules running in parallel share one) and so that a crash of the library
 * fails the test instead of killing the runner; the parent owns the VPP, so
 * the VPP is stopped and its files removed whatever happens here.
 *
 * Usage: deno run -A _lb_scenario.ts SCENARIO JSON_ARGS
 * JSON_ARGS: {lib, prefix, statsSocket, cliSocket, vppctl}
 * Prints `RESULT ok` last and exits 0 when every check passed.
 */
import assert from "node:assert/strict";
import { parseVips, type VppVip } from "../helpers/realvpp.ts";
import { runCommand } from "../helpers/command.ts";
import { openFakeVpp } from "../helpers/fakevpp.ts";
import { createVpp, type Vpp } from "../../src/vpp/create.ts";
import { openVppLibrary, vacTransport } from "../../src/vpp/ffi.ts";
import type { VacTransport } from "../../src/vpp/transport.ts";
import { decode, encode, peekContext } from "../../src/vpp/codec.ts";
import {
  type DumpName,
  type MessageInput,
  type MessageName,
  MESSAGES,
  nameCrc,
  type RequestName,
  type WireRecord,
} from "../../src/vpp/messages.ts";
import { parseAddress } from "../../src/config/address.ts";
import type { As, Vip, VipKey } from "../../src/vpp/types.ts";

/** The parent's VPP, as far as a scenario needs it. */
interface Vpp0 {
  readonly install: { readonly lib: string };
  readonly prefix: string;
  readonly statsSocket: string;
  /** Runs one vppctl command; throws on failure. */
  ctl(...cmd: string[]): Promise<string>;
  /** `show lb vips verbose`, parsed. */
  vips(): Promise<VppVip[]>;
}

const SCENARIOS: Record<string, (v: Vpp0) => Promise<void>> = {};

interface Logged {
  readonly msg: string;
  readonly fields?: Record<string, unknown>;
}

/** A connected client + VppLb on `v`; closed by the returned disposer. */
async function connect(
  v: Vpp0,
): Promise<Vpp & { warnings: Logged[] } & AsyncDisposable> {
  const warnings: Logged[] = [];
  const vpp = createVpp({
    libPath: v.install.lib,
    apiPrefix: v.prefix,
    statsSocket: v.statsSocket,
    logger: {
      debug() {},
      warn: (msg, fields) => warnings.push({ msg, fields }),
    },
  });
  vpp.client.start();
  try {
    await vpp.client.waitConnected(20_000);
  } catch (e) {
    await vpp.close();
    throw e;
  }
  return { ...vpp, warnings, [Symbol.asyncDispose]: () => vpp.close() };
}

const K4: VipKey = { prefix: "192.0.2.1/32", protocol: 6, port: 80 };
const V4: Vip = {
  ...K4,
  encap: "gre4",
  srcIpSticky: true,
  flowTableLength: 1024,
};

/** ASes sorted by VIP then address, for order-free comparisons. */
function sorted(ases: readonly As[]): As[] {
  const k = (a: As) =>
    `${a.vip.prefix} ${a.vip.protocol} ${a.vip.port} ${a.address}`;
  return [...ases].sort((a, b) => k(a).localeCompare(k(b)));
}

SCENARIOS["foreign-vip"] = async (v) => {
  // No "protocol" keyword: the CLI stores protocol 0 with port 8080.
  await v.ctl("lb", "vip", "192.0.2.9/32", "port", "8080", "encap", "gre4");
  await v.ctl("lb", "as", "192.0.2.9/32", "port", "8080", "198.51.100.9");
  const foreign = (await v.vips()).find((x) => x.prefix === "192.0.2.9/32");
  assert.equal(foreign?.protocol, 0, "VPP holds a protocol-0 VIP");
  assert.equal(foreign?.ases.length, 1);

  await using vpp = await connect(v);
  await vpp.lb.addVip(V4);
  await vpp.lb.addAs(K4, "198.51.100.10", 100);
  for (let i = 0; i < 2; i++) {
    const state = await vpp.lb.dump();
    assert.deepEqual(state.vips, [V4]);
    assert.deepEqual(state.ases, [
      { vip: K4, address: "198.51.100.10", weight: 100, numBuckets: 1024 },
    ]);
  }
  const unsupported = vpp.warnings.filter((w) =>
    w.msg === "vpp-vip-unsupported"
  );
  assert.equal(unsupported.length, 1, "one warning, not one per dump");
  assert.equal(unsupported[0].fields?.protocol, 0);
  assert.equal(unsupported[0].fields?.port, 8080);
};

/** Requests and dumps straight over a `VacTransport`, one at a time. */
class RawVac implements AsyncDisposable {
  readonly #t: VacTransport;
  #ctx = 0;
  #connected = false;

  constructor(libPath: string) {
    this.#t = vacTransport(openVppLibrary(libPath));
  }

  async connect(prefix: string | null): Promise<void> {
    assert.equal(await this.#t.connect("maglev-test", prefix, 1024), 0);
    this.#connected = true;
  }

  #send(name: MessageName, values: WireRecord, context: number): void {
    const id = this.#t.msgIndex(nameCrc(name));
    assert.ok(id > 0, `${name} is known`);
    const bytes = encode(name, values as MessageInput<MessageName>, {
      id,
      context,
    });
    assert.equal(this.#t.write(bytes), 0);
  }

  async #next(context: number): Promise<Uint8Array> {
    for (;;) {
      const r = await this.#t.read(5);
      assert.equal(r.rv, 0, "a reply within 5 s");
      if (peekContext(r.data!) === context) return r.data!;
    }
  }

  /** The reply's retval (and text, for cli_inband). */
  async rpc(
    name: RequestName,
    values: WireRecord,
  ): Promise<{ retval: number; reply?: string }> {
    const context = ++this.#ctx;
    this.#send(name, values, context);
    const reply = (MESSAGES[name] as { reply: MessageName }).reply;
    const v = decode(reply, await this.#next(context)) as WireRecord;
    return {
      retval: v.retval as number,
      ...(typeof v.reply === "string" ? { reply: v.reply } : {}),
    };
  }

  async dump(name: DumpName, values: WireRecord): Promise<WireRecord[]> {
    const context = ++this.#ctx;
    this.#send(name, values, context);
    this.#send("control_ping", {}, context);
    const details = (MESSAGES[name] as { details: MessageName }).details;
    const out: WireRecord[] = [];
    for (;;) {
      const m = await this.#next(context);
      if (m.length === MESSAGES.control_ping_reply.size) return out;
      const { _vl_msg_id: _, context: __, ...rest } = decode(
        details,
        m,
      ) as WireRecord;
      out.push(rest);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#connected) await this.#t.disconnect();
    this.#connected = false;
  }
}

type Op = readonly [RequestName, WireRecord];

function vipOp(
  prefix: string,
  protocol: number,
  port: number,
  o: {
    encap?: number;
    dscp?: number;
    type?: number;
    targetPort?: number;
    len?: number;
    sticky?: boolean;
    del?: boolean;
  } = {},
): Op {
  return ["lb_add_del_vip_v2", {
    pfx: prefix,
    protocol,
    port,
    encap: o.encap ?? (prefix.includes(":") ? 1 : 0),
    dscp: o.dscp ?? 0,
    type: o.type ?? 0,
    target_port: o.targetPort ?? 0,
    node_port: 0,
    new_flows_table_length: o.len ?? 1024,
    src_ip_sticky: o.sticky ?? false,
    is_del: o.del ?? false,
  }];
}

function asOp(
  vip: readonly [string, number, number],
  address: string,
  o: { weight?: number; del?: boolean } = {},
): Op {
  return ["lb_add_del_as_v2", {
    pfx: vip[0],
    protocol: vip[1],
    port: vip[2],
    as_address: address,
    weight: o.weight ?? 100,
    is_del: o.del ?? false,
    is_flush: o.del ?? false,
  }];
}

function weightOp(
  vip: readonly [string, number, number],
  address: string,
  weight: number,
): Op {
  return ["lb_as_set_weight", {
    pfx: vip[0],
    protocol: vip[1],
    port: vip[2],
    as_address: address,
    weight,
    is_flush: false,
  }];
}

const T4 = ["192.0.2.1/32", 6, 80] as const;
const P0 = ["192.0.2.9/32", 0, 8080] as const;
const N24 = ["198.18.0.0/24", 6, 80] as const;
const N25 = ["198.18.0.0/25", 6, 80] as const;
const U6 = ["2001:db8::1/128", 17, 53] as const;
const ALLPORT = ["192.0.2.3/32", 255, 0] as const;
const TIE_A = ["203.0.113.1/32", 6, 80] as const;
const TIE_B = ["203.0.113.2/32", 6, 80] as const;

/**
 * The scenario both VPPs run, with the retval the real VPP answered
 * (docs/vpp.md, "Measured on a real VPP").
 */
const SCENARIO: readonly (readonly [Op, number])[] = [
  [vipOp(...T4, { sticky: true }), 0],
  [asOp(T4, "198.51.100.10", { weight: 30 }), 0],
  [asOp(T4, "198.51.100.11", { weight: 40 }), 0],
  [asOp(T4, "198.51.100.10", { del: true }), 0],
  // A deleted AS cannot be re-weighted, but deleted again...
  [weightOp(T4, "198.51.100.10", 5), -6],
  [asOp(T4, "198.51.100.10", { del: true }), 0],
  // ...and re-added: the add's weight wins.
  [asOp(T4, "198.51.100.10", { weight: 77 }), 0],
  [asOp(T4, "198.51.100.11", { weight: 40 }), -81],
  // Protocol 0 with a port is a VIP like any other.
  [vipOp(...P0), 0],
  [asOp(P0, "198.51.100.9"), 0],
  [vipOp(...N24), 0],
  [asOp(N24, "10.0.0.24"), 0],
  [vipOp(...N25), 0],
  [asOp(N25, "10.0.0.25"), 0],
  [vipOp(...U6), 0],
  [asOp(U6, "2001:db8:1::10"), 0],
  [asOp(U6, "198.51.100.1"), -97],
  [vipOp(...ALLPORT, { len: 2048 }), 0],
  [asOp(ALLPORT, "10.1.0.1"), 0],
  [vipOp(...ALLPORT, { del: true }), 0],
  [vipOp(...ALLPORT, { del: true }), -6],
  // Three equal weights, added in two orders.
  [vipOp(...TIE_A), 0],
  [asOp(TIE_A, "10.0.0.1"), 0],
  [asOp(TIE_A, "10.0.0.2"), 0],
  [asOp(TIE_A, "10.0.0.3"), 0],
  [vipOp(...TIE_B), 0],
  [asOp(TIE_B, "10.0.0.3"), 0],
  [asOp(TIE_B, "10.0.0.2"), 0],
  [asOp(TIE_B, "10.0.0.1"), 0],
  // Encap → type as the API handler maps it; the l3dsr dscp is masked.
  [vipOp("2001:db8::7/128", 6, 1, { encap: 2 }), 0],
  [vipOp("2001:db8::7/128", 6, 2, { encap: 3 }), 0],
  [vipOp("2001:db8::7/128", 6, 3, { encap: 7 }), 0],
  [vipOp("192.0.2.5/32", 6, 80, { encap: 5 }), -97],
  [vipOp("192.0.2.6/32", 6, 80, { encap: 2, dscp: 65 }), 0],
  [vipOp("192.0.2.6/32", 6, 81, { encap: 0 }), -73],
  [vipOp("192.0.2.8/32", 6, 80, { encap: 3, type: 1, targetPort: 8080 }), 0],
  [vipOp("192.0.2.7/32", 6, 80, { len: 1000 }), -70],
  [vipOp(...T4), -81],
];

/** An AS filter in VPP's internal form (see asDumpFilter in src/vpp/lb.ts). */
function ip46Filter(vip: readonly [string, number, number]): WireRecord {
  const [addr, len] = vip[0].split("/");
  const v4 = !addr.includes(":");
  const b = parseAddress(addr).bytes;
  const groups = v4
    ? [
      "",
      "",
      `${((b[0] << 8) | b[1]).toString(16)}`,
      `${((b[2] << 8) | b[3]).toString(16)}`,
    ]
    : [addr];
  return {
    pfx: `${v4 ? `::${groups[2]}:${groups[3]}` : groups[0]}/${
      Number(len) + (v4 ? 96 : 0)
    }`,
    protocol: vip[1],
    port: vip[2],
  };
}

/** What the two VPPs must agree on (details without in_use_since and, but for the ties, buckets). */
async function observe(vac: RawVac): Promise<Record<string, unknown>> {
  const ALL = { pfx: "0.0.0.0/0", protocol: 0, port: 0 };
  const tie = (d: WireRecord) => String(d["vip.pfx"]).startsWith("203.0.113.");
  const ases = (ds: WireRecord[]) =>
    ds.map(({ in_use_since: _, num_buckets, ...d }) =>
      tie(d) ? { ...d, num_buckets } : d
    );
  const out: Record<string, unknown> = {
    vips: await vac.dump("lb_vip_dump", {
      ...ALL,
      "pfx_matcher.le": 0,
      "pfx_matcher.ge": 0,
    }),
    ases: ases(await vac.dump("lb_as_v2_dump", ALL)),
    conf: await vac.rpc("lb_conf_get", {}),
    showLb: await vac.rpc("cli_inband", { cmd: "show lb" }),
    showVips: await vac.rpc("cli_inband", { cmd: "show lb vips" }),
    showVipsVerbose: await vac.rpc("cli_inband", {
      cmd: "show lb vips verbose",
    })
      .then((r) => ({
        ...r,
        // Buckets (Maglev fill vs proportional split) and dpo numbers differ by design.
        reply: r.reply?.replace(/buckets:\d+ flows:\d+ dpo:\d+/g, "…"),
      })),
    unknownCli: await vac.rpc("cli_inband", { cmd: "show nothing" }),
  };
  for (const v of [T4, P0, N24, U6, ALLPORT]) {
    out[`filtered ${v.join(" ")}`] = ases(
      await vac.dump("lb_as_v2_dump", ip46Filter(v)),
    );
  }
  out["filtered, IPv4 encoded normally"] = await vac.dump("lb_as_v2_dump", {
    pfx: T4[0],
    protocol: T4[1],
    port: T4[2],
  });
  return out;
}

SCENARIOS["vs-stand-in"] = async (v) => {
  await using fake = await openFakeVpp({ knobs: { quiet: 1 } });
  const results: Record<string, unknown>[] = [];
  for (
    const [lib, prefix] of [[v.install.lib, v.prefix], [
      fake.path,
      null,
    ]] as const
  ) {
    await using vac = new RawVac(lib);
    await vac.connect(prefix);
    const retvals = [];
    for (const [[name, values]] of SCENARIO) {
      retvals.push((await vac.rpc(name, values)).retval);
    }
    results.push({ retvals, ...await observe(vac) });
  }
  const [real, standIn] = results;
  assert.deepEqual(real.retvals, SCENARIO.map(([, rv]) => rv), "real VPP");
  assert.deepEqual(standIn, real);
  const s = fake.ctl.state();
  assert.deepEqual(s.misuse, []);
};

SCENARIOS["per-vip-dumps"] = async (v) => {
  await using vpp = await connect(v);
  const { lb } = vpp;
  const vips: Vip[] = [
    V4,
    { ...V4, prefix: "198.18.0.0/24", srcIpSticky: false },
    { ...V4, prefix: "198.18.0.0/25", srcIpSticky: false },
    { ...V4, prefix: "192.0.2.3/32", protocol: 255, port: 0 },
    { ...V4, port: 443 },
    {
      prefix: "2001:db8::1/128",
      protocol: 17,
      port: 53,
      encap: "gre6",
      srcIpSticky: false,
      flowTableLength: 1024,
    },
    { ...V4, prefix: "192.0.2.20/32" }, // no ASes
  ];
  for (const [i, vip] of vips.entries()) {
    await lb.addVip(vip);
    const v6 = vip.encap === "gre6";
    for (let j = 1; j <= (i === vips.length - 1 ? 0 : 3); j++) {
      await lb.addAs(
        vip,
        v6 ? `2001:db8:1::${i}:${j}` : `10.${i}.0.${j}`,
        10 * j,
      );
    }
  }
  // A deleted AS (flags 0), and a VIP deleted and made again: VPP's dump
  // of its address also lists the old VIP's ASes.
  await lb.delAs(V4, "10.0.0.1", true);
  const again = vips[4];
  await lb.delVip(again);
  await lb.addVip(again);
  await lb.addAs(again, "10.4.0.9", 100);
  // Someone else's VIP: not asked for, not returned.
  await v.ctl("lb", "vip", "192.0.2.9/32", "port", "8080", "encap", "gre4");
  await v.ctl("lb", "as", "192.0.2.9/32", "port", "8080", "198.51.100.9");

  const all = (await vpp.client.dump("lb_as_v2_dump", {
    pfx: "0.0.0.0/0",
    protocol: 0,
    port: 0,
  })).filter((d) => d.flags & 1 && d["vip.protocol"] !== 0).map((d) => ({
    vip: {
      prefix: d["vip.pfx"],
      protocol: d["vip.protocol"],
      port: d["vip.port"],
    },
    address: d.app_srv,
    weight: d.weight,
    numBuckets: d.num_buckets,
  } as As));
  const state = await lb.dump();
  assert.equal(lb.asDumpFilter, "works");
  assert.equal(state.vips.length, vips.length);
  assert.deepEqual(sorted(state.ases), sorted(all));
  assert.equal(state.ases.length, 3 * 6 - 1 - 3 + 1);
  assert.deepEqual(
    await lb.dumpAses([vips[2], vips[1]]),
    [
      ...all.filter((a) => a.vip.prefix === "198.18.0.0/25"),
      ...all.filter((a) => a.vip.prefix === "198.18.0.0/24"),
    ],
  );
  assert.deepEqual(await lb.dumpAses([{ ...V4, port: 1 }]), []);
  assert.deepEqual(
    vpp.warnings.map((w) => w.msg),
    ["vpp-vip-unsupported"],
  );
};

const [name, json] = Deno.args;
const args: {
  lib: string;
  prefix: string;
  statsSocket: string;
  cliSocket: string;
  vppctl: string;
} = JSON.parse(json);
const v: Vpp0 = {
  install: { lib: args.lib },
  prefix: args.prefix,
  statsSocket: args.statsSocket,
  async ctl(...cmd) {
    const r = await runCommand(args.vppctl, ["-s", args.cliSocket, ...cmd], {
      timeoutMs: 20_000,
    });
    if (r.code !== 0) throw new Error(`vppctl ${cmd.join(" ")}: ${r.stderr}`);
    return r.stdout.replaceAll("\r\n", "\n");
  },
  async vips() {
    return parseVips(await this.ctl("show", "lb", "vips", "verbose"));
  },
};
const run = SCENARIOS[name];
if (!run) throw new Error(`no scenario "${name}"`);
await run(v);
console.log("RESULT ok");
