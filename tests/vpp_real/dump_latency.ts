/**
 * How long a full lb dump holds VPP's main thread: the old way (one
 * lb_as_v2_dump of every AS) against VppLb.dump() (one per VIP), on a real
 * VPP with N VIPs × M ASes. While each dump runs, a separate process runs
 * `vppctl show version` in a loop (at most 3,000 times); VPP answers the
 * CLI on the same main thread as the API, so the slowest of those calls is
 * the longest stall. VPP's own measure is printed too: the longest single
 * run of its API process (`api-rx-from-ring` in `show runtime max`, which
 * is cleared before each row), converted from clocks with `show cpu`'s base
 * frequency. It includes any time VPP spent blocked on a full receive
 * queue, and the time a CLI command sent through `cli_inband` took. That
 * counter has 32 bits: a run of more than 2^32 clocks (1.65 s at 2.6 GHz)
 * wraps and shows as less, the `vppctl` column does not.
 *
 * ```sh
 * MAGLEV_TEST_VPP=/opt/maglev-vpp/vpp-runtime \
 *   deno run -A tests/vpp_real/dump_latency.ts --vips 1000 --ases 16 --reps 5 --vpp-nice=-15
 * ```
 *
 * `--vpp-nice=N` runs VPP and the `vppctl` loop at niceness N (needs root),
 * this process staying at its own: on a busy host that keeps the
 * scheduler's delays out of the figures and leaves what a production VPP
 * with its own core would see, the time VPP itself is busy or blocked on
 * the client. `--in-flight N` and `--details N` set VppLb's
 * `maxAsDumpsInFlight` and `maxAsDetailsInFlight`, and
 * `--rx-qlen N` the client's receive queue (VPP blocks while it is full, so
 * with a queue smaller than the AS count the old dump holds VPP until
 * maglev has read all but a queue's worth).
 *
 * Not a test: the name does not end in `_test.ts`. Stops its VPP and
 * removes its files on every exit path.
 * @module
 */
import { parseArgs } from "node:util";
import { RealVpp } from "../helpers/realvpp.ts";
import { createVpp } from "../../src/vpp/create.ts";
import { VppLb } from "../../src/vpp/lb.ts";
import type { VipKey } from "../../src/vpp/types.ts";

const { values: flags } = parseArgs({
  options: {
    vips: { type: "string", default: "1000" },
    ases: { type: "string", default: "16" },
    reps: { type: "string", default: "5" },
    "in-flight": { type: "string", default: "32" },
    "details": { type: "string", default: "512" },
    "vpp-nice": { type: "string" },
    "rx-qlen": { type: "string" },
  },
});
const NV = Number(flags.vips), NA = Number(flags.ases);
const REPS = Number(flags.reps);

/** Runs `pending` for each item, `n` at a time. */
async function pool<T>(
  items: readonly T[],
  n: number,
  pending: (t: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await pending(items[next++]);
    }),
  );
}

const LOOP = `i=0
while [ ! -e "$3" ] && [ $i -lt 3000 ]; do
  t0=$(date +%s%N); "$1" -s "$2" show version >/dev/null 2>&1; t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000 )); i=$((i + 1))
done`;

interface Sample {
  readonly opMs: number[];
  readonly cliMs: number[];
  /** Longest run of VPP's API process, ms. */
  readonly apiMaxMs: number;
}

let ghz = 0;

/** `api-rx-from-ring`'s Max Node Clocks in ms, then clears the runtime stats. */
async function apiMaxMs(v: RealVpp): Promise<number> {
  const text = await v.ctl("show", "runtime", "max");
  const m = /^api-rx-from-ring\s+(\S+)/m.exec(text);
  await v.ctl("clear", "runtime");
  return m ? Number(m[1]) / ghz / 1e6 : NaN;
}

async function measure(
  v: RealVpp,
  op: () => Promise<unknown>,
): Promise<Sample> {
  const stop = `${v.dir}/stop-${crypto.randomUUID()}`;
  const nice = flags["vpp-nice"];
  const child = new Deno.Command(nice ? "nice" : "sh", {
    args: [
      ...(nice ? ["-n", nice, "sh"] : []),
      "-c",
      LOOP,
      "loop",
      v.install.vppctl,
      v.cliSocket,
      stop,
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    // Let the loop get going before the first dump.
    await new Promise((r) => setTimeout(r, 200));
    await apiMaxMs(v);
    const opMs: number[] = [];
    for (let i = 0; i < REPS; i++) {
      const t0 = performance.now();
      await op();
      opMs.push(performance.now() - t0);
    }
    const apiMax = await apiMaxMs(v);
    await Deno.writeTextFile(stop, "");
    const out = new TextDecoder().decode((await child.output()).stdout);
    const cliMs = out.trim().split("\n").filter(Boolean).map((x) =>
      Number(x) / 1000
    );
    return { opMs, cliMs, apiMaxMs: apiMax };
  } finally {
    await Deno.writeTextFile(stop, "").catch(() => {});
    await child.status;
  }
}

function summary(what: string, s: Sample): string {
  const c = [...s.cliMs].sort((a, b) => a - b);
  const pct = (p: number) =>
    c[Math.min(c.length - 1, Math.floor(c.length * p))];
  const ops = s.opMs.map((x) => x.toFixed(0)).join(", ");
  const api = Number.isNaN(s.apiMaxMs) ? "-" : s.apiMaxMs.toFixed(1);
  return `| ${what} | ${ops} | ${api} | ${c.length} | ${
    pct(0.5).toFixed(1)
  } | ${pct(0.99).toFixed(1)} | ${c.at(-1)!.toFixed(1)} |`;
}

await using v = await RealVpp.start();
if (flags["vpp-nice"]) {
  const r = await new Deno.Command("renice", {
    args: ["-n", flags["vpp-nice"], "-p", String(v.pid)],
    stdout: "null",
  }).output();
  if (!r.success) throw new Error(`renice of VPP (pid ${v.pid}) failed`);
}
const vpp = createVpp({
  libPath: v.install.lib,
  apiPrefix: v.prefix,
  client: {
    requestTimeoutMs: 60_000,
    ...(flags["rx-qlen"] ? { rxQlen: Number(flags["rx-qlen"]) } : {}),
  },
});
const lb = new VppLb(vpp.client, {
  maxAsDumpsInFlight: Number(flags["in-flight"]),
  maxAsDetailsInFlight: Number(flags.details),
});
try {
  vpp.client.start();
  await vpp.client.waitConnected(20_000);
  const { client } = vpp;
  const keys: VipKey[] = Array.from({ length: NV }, (_, i) => ({
    prefix: `10.${(i >> 8) & 255}.${i & 255}.1/32`,
    protocol: 6,
    port: 80,
  }));
  const t0 = performance.now();
  await pool(keys, 64, (k) =>
    lb.addVip({
      ...k,
      encap: "gre4",
      srcIpSticky: false,
      flowTableLength: 1024,
    }));
  const ases = keys.flatMap((k, i) =>
    Array.from(
      { length: NA },
      (_, j) => [k, `172.${16 + (i >> 8)}.${i & 255}.${j + 1}`] as const,
    )
  );
  await pool(ases, 64, ([k, a]) => lb.addAs(k, a, 100));
  console.log(
    `created ${NV} VIPs × ${NA} ASes through VppLb (64 in flight) in ${
      (performance.now() - t0).toFixed(0)
    } ms`,
  );

  ghz = Number(
    /Base frequency:\s+([\d.]+) GHz/.exec(
      await v.ctl("show", "cpu"),
    )?.[1],
  );
  const ALL = { pfx: "0.0.0.0/0", protocol: 0, port: 0 };
  /** What dump() did before: the same reads, all ASes in one dump. */
  const oldDump = async () => {
    await lb.getConf();
    await client.dump("lb_vip_dump", {
      ...ALL,
      "pfx_matcher.le": 0,
      "pfx_matcher.ge": 0,
    });
    await lb.cli("show lb vips verbose");
    return await client.dump("lb_as_v2_dump", ALL);
  };
  const check = [(await oldDump()).length, (await lb.dump()).ases.length];
  console.log(`AS count old/new: ${check.join("/")}`);
  console.log(
    `\n| ${REPS}× | dump ms | VPP API max run ms | vppctl calls | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|`,
  );
  console.log(
    summary(
      "idle (no dump)",
      await measure(v, () => new Promise((r) => setTimeout(r, 400))),
    ),
  );
  console.log(
    summary("old: all ASes in one lb_as_v2_dump", await measure(v, oldDump)),
  );
  console.log(
    summary(
      "new: VppLb.dump(), one per VIP",
      await measure(v, () => lb.dump()),
    ),
  );
  console.log(
    summary(
      "new, the per-VIP AS dumps alone (dumpAses)",
      await measure(v, () => lb.dumpAses(keys)),
    ),
  );
  console.log(
    summary(
      "lb_as_v2_dump of all ASes alone",
      await measure(v, () => client.dump("lb_as_v2_dump", ALL)),
    ),
  );
  console.log(
    summary(
      "show lb vips verbose alone",
      await measure(v, () => lb.cli("show lb vips verbose")),
    ),
  );
  console.log(`\nfilter mode: ${lb.asDumpFilter}`);
} finally {
  lb.dispose();
  await vpp.close();
}
