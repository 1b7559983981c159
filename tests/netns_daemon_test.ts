/**
 * The daemon probing from inside a network namespace, as a real process:
 * from source and from the one-file bundle (whose netns worker is started
 * from the bundle itself).
 */
import assert from "node:assert/strict";
import {
  freePort,
  MAGLEV_ROOT,
  MaglevProcess,
  runMaglev,
} from "./helpers/maglev.ts";
import { requireIproute2, TestNetns } from "./helpers/netns.ts";

const BUNDLE_TIMEOUT_MS = 120_000;

function netnsConfig(ns: string, port: number): string {
  return `maglev:
  healthchecker:
    netns: ${ns}
  healthchecks:
    web:
      type: http
      port: ${port}
      interval: 200ms
      timeout: 150ms
      rise: 1
      fall: 1
    ping:
      type: icmp
      interval: 200ms
      timeout: 150ms
  backends:
    inside: { address: 127.0.0.1, healthcheck: web }
    pinged: { address: 127.0.0.1, healthcheck: ping }
`;
}

async function probeInNamespace(main?: string): Promise<void> {
  await requireIproute2();
  await using ns = await TestNetns.create();
  await using server = await ns.startHttpServer("127.0.0.1", 0, "OK");
  const dir = await Deno.makeTempDir({ prefix: "maglev-netns-" });
  const path = `${dir}/maglev.yaml`;
  await Deno.writeTextFile(path, netnsConfig(ns.name, server.port));
  // Same port in the root namespace: nothing listens there, so "up" proves
  // the probe ran inside the namespace.
  const p = new MaglevProcess(
    [
      "daemon",
      "--config",
      path,
      "--grpc-addr",
      `127.0.0.1:${freePort()}`,
      "--vpp=false",
      "--metrics-addr",
      "",
      "--log-format",
      "json",
    ],
    {},
    main,
  );
  try {
    for (const b of ["inside", "pinged"]) {
      await p.waitForRecord(
        (r) =>
          r.msg === "backend-transition" && r.backend === b && r.to === "up",
        `${b} up inside ${ns.name}`,
        15_000,
      );
    }
    const { status } = await p.stop();
    assert.equal(status.code, 0);
  } finally {
    await p.stop("SIGKILL");
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("netns: the daemon from source probes inside the namespace", async () => {
  await probeInNamespace();
});

Deno.test({
  name: "bundle: one file runs version, --check and a netns-probing daemon",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "maglev-bundle-" });
    const out = `${dir}/release/maglev.js`;
    try {
      const build = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${MAGLEV_ROOT}tools/bundle.ts`,
          "--out-dir",
          `${dir}/release`,
        ],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(BUNDLE_TIMEOUT_MS),
      }).output();
      assert.ok(build.success, new TextDecoder().decode(build.stderr));
      const v = await runMaglev(["version"], {}, out);
      assert.equal(v.code, 0, v.stderr);
      assert.match(
        v.stdout,
        /^maglev \S+ \(commit [0-9a-f]{12}(-dirty)?, built \d{4}-/,
      );
      const cfg = `${dir}/ok.yaml`;
      await Deno.writeTextFile(cfg, netnsConfig("x", 80));
      const c = await runMaglev(
        ["daemon", "--check", "--vpp=false", "--config", cfg],
        {},
        out,
      );
      assert.equal(c.code, 0, c.stderr);
      await probeInNamespace(out);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
