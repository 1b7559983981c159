/**
 * VPP's per-VIP counters from its stats segment, mapped to frontends by
 * the daemon: traffic made with VPP's packet generator must show up under
 * the right frontend, exactly as VPP's own CLI counts it, in `maglev ctl
 * show vpp lb counters` and in /metrics.
 */
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { connectMaglev } from "../../src/api/client.ts";
import { runMaglev } from "../helpers/maglev.ts";
import { describeVips, RealVpp, VPP, type VppVip } from "../helpers/realvpp.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  A,
  B,
  C,
  reload,
  sameWeights,
  startOn,
  WEB,
  weightsIn,
  withFrontend,
} from "./_helpers.ts";

/** A frontend's counters, as the daemon reports them. */
interface Counts {
  next: number;
  first: number;
  untracked: number;
  noServer: number;
  routePackets: number;
  routeBytes: number;
}

const FRONTENDS = {
  web: { prefix: WEB, port: 80 },
  api: { prefix: "198.51.100.7/32", port: 443 },
  idle: { prefix: "198.51.100.9/32", port: 80 },
} as const;
type Frontend = keyof typeof FRONTENDS;

/** What VPP itself counts for each frontend's VIP and route. */
async function vppCounts(vpp: RealVpp): Promise<Record<Frontend, Counts>> {
  const vips = await vpp.vips();
  const out = {} as Record<Frontend, Counts>;
  for (const [name, f] of Object.entries(FRONTENDS)) {
    const v: VppVip | undefined = vips.find((x) =>
      x.prefix === f.prefix && x.port === f.port
    );
    if (!v) throw new Error(`no VIP of ${name} in ${describeVips(vips)}`);
    const route = await vpp.routeCounters(f.prefix);
    if (!route) throw new Error(`no FIB entry for ${f.prefix}`);
    out[name as Frontend] = {
      next: v.counters["packet from existing sessions"],
      first: v.counters["first session packet"],
      untracked: v.counters["untracked packet"],
      noServer: v.counters["no server configured"],
      routePackets: route.packets,
      routeBytes: route.bytes,
    };
  }
  return out;
}

/** The daemon's counters by frontend, from any of its representations. */
function byFrontend(
  vips: readonly {
    frontend: string;
    next: bigint | string;
    first: bigint | string;
    untracked: bigint | string;
    noServer: bigint | string;
    routePackets: bigint | string;
    routeBytes: bigint | string;
  }[],
): Record<string, Counts> {
  return Object.fromEntries(vips.map((v) => [v.frontend, {
    next: Number(v.next),
    first: Number(v.first),
    untracked: Number(v.untracked),
    noServer: Number(v.noServer),
    routePackets: Number(v.routePackets),
    routeBytes: Number(v.routeBytes),
  }]));
}

/** The `maglev_vip_*` series of a /metrics page, as Counts per frontend. */
function fromMetrics(text: string): Record<string, Counts> {
  const out: Record<string, Counts> = {};
  const kinds: Record<string, keyof Counts> = {
    next: "next",
    first: "first",
    untracked: "untracked",
    "no-server": "noServer",
  };
  const at = (f: string) =>
    out[f] ??= {
      next: NaN,
      first: NaN,
      untracked: NaN,
      noServer: NaN,
      routePackets: NaN,
      routeBytes: NaN,
    };
  for (const line of text.split("\n")) {
    const m = /^(maglev_vip_\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries(
      [...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]),
    );
    const value = Number(m[3]);
    if (m[1] === "maglev_vip_packets_total") {
      at(labels.frontend)[kinds[labels.kind]] = value;
    } else if (m[1] === "maglev_vip_route_packets_total") {
      at(labels.frontend).routePackets = value;
    } else if (m[1] === "maglev_vip_route_bytes_total") {
      at(labels.frontend).routeBytes = value;
    }
  }
  return out;
}

Deno.test({
  name:
    "real VPP: packet-generator traffic is counted per frontend, as VPP counts it",
  ignore: VPP === undefined,
  async fn() {
    await using vpp = await RealVpp.start();
    await using d = await startOn(vpp);
    const base = await Deno.readTextFile(d.configPath);
    // api carries traffic on its own; idle's only AS has weight 0, so its
    // new flows find no server.
    await reload(
      d,
      withFrontend(
        base,
        `    api:
      address: 198.51.100.7
      port: 443
      pools:
        - name: only
          backends: { c: {} }
    idle:
      address: 198.51.100.9
      port: 80
      pools:
        - name: only
          backends: { c: { weight: 0 } }
`,
      ),
    );
    await vpp.waitVips(
      "web, api and idle programmed",
      (vs) =>
        sameWeights(weightsIn(vs), { [A]: 100, [B]: 100, [C]: 0 }) &&
        sameWeights(weightsIn(vs, FRONTENDS.api.prefix, 443), { [C]: 100 }) &&
        sameWeights(weightsIn(vs, FRONTENDS.idle.prefix, 80), { [C]: 0 }),
      15_000,
    );

    // Different amounts per VIP, so a frontend mapped to another's VIP
    // shows. Packets are 64 bytes.
    await vpp.sendTcp({ dst: "192.0.2.1", dport: 80, packets: 100 });
    await vpp.sendTcp({
      dst: "198.51.100.7",
      dport: 443,
      packets: 37,
      flows: 5,
    });
    await vpp.sendTcp({ dst: "198.51.100.9", dport: 80, packets: 7 });
    const truth = await vppCounts(vpp);
    // The traffic itself, before comparing anything with the daemon. VPP
    // splits idle's serverless packets between "no server configured" and
    // "untracked packet" by how they fell into its vectors.
    const { noServer, untracked, ...idle } = truth.idle;
    assert.equal(noServer + untracked, 7, JSON.stringify(truth.idle));
    assert.deepEqual({ ...truth, idle }, {
      web: {
        next: 99,
        first: 1,
        untracked: 0,
        noServer: 0,
        routePackets: 100,
        routeBytes: 6400,
      },
      api: {
        next: 32,
        first: 5,
        untracked: 0,
        noServer: 0,
        routePackets: 37,
        routeBytes: 2368,
      },
      idle: {
        next: 0,
        first: 0,
        routePackets: 7,
        routeBytes: 448,
      },
    });

    // The daemon reads the stats segment every 5 s.
    const { client, close } = connectMaglev(d.grpcAddr);
    try {
      let last: Record<string, Counts> = {};
      await waitFor(
        "the daemon's counters equal VPP's",
        async () => {
          last = byFrontend((await client.getVPPLBCounters({})).vips);
          return isDeepStrictEqual(last, truth) ? true : undefined;
        },
        15_000,
        250,
      ).catch((e) => {
        throw new Error(
          `${(e as Error).message}\ndaemon: ${JSON.stringify(last)}\nVPP:    ${
            JSON.stringify(truth)
          }`,
        );
      });
    } finally {
      close();
    }

    const ctl = await runMaglev([
      "ctl",
      "--server",
      d.grpcAddr,
      "--output",
      "json",
      "show",
      "vpp",
      "lb",
      "counters",
    ]);
    assert.equal(ctl.code, 0, ctl.stderr);
    const shown = JSON.parse(ctl.stdout) as {
      vips: Parameters<typeof byFrontend>[0] & { prefix: string }[];
    };
    assert.deepEqual(byFrontend(shown.vips), truth);
    for (const v of shown.vips) {
      assert.equal(
        v.prefix,
        FRONTENDS[v.frontend as Frontend].prefix,
        `${v.frontend}'s VIP`,
      );
    }

    const metrics = await (await fetch(`http://${d.metricsAddr}/metrics`))
      .text();
    assert.deepEqual(fromMetrics(metrics), truth);
    // The original's VIP labels beside the frontend's name.
    assert.match(
      metrics,
      /^maglev_vip_packets_total\{frontend="web",prefix="192\.0\.2\.1\/32",protocol="tcp",port="80",kind="first"\} /m,
    );
  },
});
