/**
 * The release directory of `deno task bundle` as an operator gets it: built
 * once into a temp dir, then used only through its own files (the launcher,
 * the argv[0] symlinks, the shipped deno), from a directory that is not the
 * repository and without HOME, the way a system service runs. Also: the
 * compile task's error when its runtime base is missing.
 */
import assert from "node:assert/strict";
import { type CommandOutput, runCommand } from "./helpers/command.ts";
import { serve } from "./helpers/listeners.ts";
import { freePort, MAGLEV_ROOT, MaglevProcess } from "./helpers/maglev.ts";
import { VERSION } from "../src/version.ts";

const BUILD_TIMEOUT_MS = 120_000;
const RUN_TIMEOUT_MS = 30_000;
const COMMIT = "testcommit123";
const BUILD_DATE = "2026-01-02T03:04:05Z";
const VERSION_LINE =
  `maglev ${VERSION} (commit ${COMMIT}, built ${BUILD_DATE})`;
const LINKS = ["maglevd", "maglevc", "maglevd-frontend", "maglevt"];

/**
 * The artefact's whole environment: PATH (the launcher uses basename,
 * dirname, readlink) and nothing else of ours; in particular no HOME.
 */
function bareEnv(): Record<string, string> {
  return { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", NO_COLOR: "1" };
}

/** Starts a long-running artefact program from `cwd` with the bare env. */
function artefact(exe: string, args: string[], cwd: string): MaglevProcess {
  return MaglevProcess.exec(exe, args, { cwd, clearEnv: true, env: bareEnv() });
}

/** Runs an artefact program to completion from `cwd` with the bare env. */
function run(exe: string, args: string[], cwd: string): Promise<CommandOutput> {
  return runCommand(exe, args, {
    cwd,
    clearEnv: true,
    env: bareEnv(),
    timeoutMs: RUN_TIMEOUT_MS,
  });
}

function daemonConfig(tcpPort: number): string {
  return `maglev:
  healthchecks:
    tcp-check:
      type: tcp
      port: ${tcpPort}
      interval: 100ms
      timeout: 80ms
      rise: 1
      fall: 1
    ping:
      type: icmp
      interval: 100ms
      timeout: 80ms
      rise: 1
      fall: 1
  backends:
    listener: { address: 127.0.0.1, healthcheck: tcp-check }
    pinged: { address: 127.0.0.1, healthcheck: ping }
`;
}

async function text(url: string): Promise<{ res: Response; body: string }> {
  const res = await fetch(url);
  return { res, body: await res.text() };
}

Deno.test("release: the bundle directory runs from anywhere through its launcher and links", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "maglev-release-" });
  const dir = `${tmp}/release`;
  // Where the programs run: not the repository.
  const cwd = `${tmp}/elsewhere`;
  try {
    await Deno.mkdir(cwd);
    const build = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${MAGLEV_ROOT}tools/bundle.ts`, "--out-dir", dir],
      cwd: tmp,
      env: { MAGLEV_COMMIT: COMMIT, MAGLEV_BUILD_DATE: BUILD_DATE },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(BUILD_TIMEOUT_MS),
    }).output();
    const buildOut = new TextDecoder().decode(build.stdout);
    assert.ok(build.success, new TextDecoder().decode(build.stderr));
    assert.match(buildOut, new RegExp(`commit ${COMMIT}, built ${BUILD_DATE}`));
    // Deno looks for a config from the script's directory upwards, and a
    // broken one there stops a plain `deno run`: the launcher must ignore it.
    for (const f of ["deno.json", "package.json"]) {
      await Deno.writeTextFile(`${tmp}/${f}`, "{ not json");
    }

    await t.step(
      "layout: maglev.js, deno, launcher and relative links",
      async () => {
        const names = [];
        for await (const e of Deno.readDir(dir)) names.push(e.name);
        assert.deepEqual(
          names.sort(),
          ["deno", "maglev", "maglev.js", ...LINKS].sort(),
        );
        assert.equal((await Deno.stat(`${dir}/deno`)).mode! & 0o777, 0o755);
        assert.equal((await Deno.stat(`${dir}/maglev`)).mode! & 0o777, 0o755);
        assert.match(
          await Deno.readTextFile(`${dir}/maglev`),
          /^#!\/bin\/sh\n/,
        );
        for (const l of LINKS) {
          assert.equal(await Deno.readLink(`${dir}/${l}`), "maglev");
        }
      },
    );

    await t.step(
      "version: stamped commit and date, from the launcher and via argv[0]",
      async () => {
        for (const args of [["version"], ["--version"]]) {
          const r = await run(`${dir}/maglev`, args, cwd);
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stdout.trim(), VERSION_LINE);
        }
        // Through a symlink elsewhere to a link: the name, not the target,
        // picks the command.
        await Deno.mkdir(`${tmp}/bin`);
        await Deno.symlink(`${dir}/maglevd`, `${tmp}/bin/maglevd`);
        const help = await run(`${tmp}/bin/maglevd`, ["--help"], cwd);
        assert.equal(help.code, 0, help.stderr);
        assert.match(help.stdout, /^Usage: maglev daemon/);
        const d = await run(`${dir}/maglevd`, ["--version"], cwd);
        assert.equal(d.stdout.trim(), VERSION_LINE);
      },
    );

    await t.step(
      "maglevd --check: a valid config passes, an invalid one names its file",
      async () => {
        const good = `${tmp}/good.yaml`;
        await Deno.writeTextFile(good, daemonConfig(80));
        const ok = await run(
          `${dir}/maglevd`,
          ["--check", "-config", good, "--vpp=false"],
          cwd,
        );
        assert.equal(ok.code, 0, ok.stderr);
        assert.match(ok.stdout, /good\.yaml: OK \(2 healthchecks, 2 backends/);
        const bad = `${tmp}/bad.yaml`;
        await Deno.writeTextFile(
          bad,
          daemonConfig(80).replace("healthcheck: ping", "healthcheck: nope"),
        );
        const no = await run(
          `${dir}/maglevd`,
          ["--check", "-config", bad, "--vpp=false"],
          cwd,
        );
        assert.equal(no.code, 2, no.stdout + no.stderr);
        assert.ok(no.stderr.includes(bad), no.stderr);
        assert.match(no.stderr, /nope/);
      },
    );

    await t.step(
      "maglevd, maglevc and maglevd-frontend work together",
      async () => {
        // Accepts and closes: a tcp check's target.
        const target = serve({
          hostname: "127.0.0.1",
          handler: async () => {},
        });
        const config = `${tmp}/maglev.yaml`;
        await Deno.writeTextFile(config, daemonConfig(target.port));
        const grpc = `127.0.0.1:${freePort()}`;
        const metrics = `127.0.0.1:${freePort()}`;
        const daemon = artefact(`${dir}/maglevd`, [
          "--config",
          config,
          "--vpp=false",
          "--grpc-addr",
          grpc,
          "--metrics-addr",
          metrics,
          "--log-format",
          "json",
        ], cwd);
        let web: MaglevProcess | undefined;
        try {
          const started = await daemon.waitForRecord(
            (r) => r.msg === "starting",
            "the daemon's starting record",
          );
          assert.equal(started.commit, COMMIT);
          // tcp proves the probes run; icmp that FFI (raw sockets) works
          // from the bundle.
          for (const b of ["listener", "pinged"]) {
            await daemon.waitForRecord(
              (r) =>
                r.msg === "backend-transition" && r.backend === b &&
                r.to === "up",
              `${b} up`,
              15_000,
            );
          }
          await daemon.waitForRecord((r) => r.msg === "ready", "ready");

          const backends = await run(
            `${dir}/maglevc`,
            ["-server", grpc, "show", "backends"],
            cwd,
          );
          assert.equal(backends.code, 0, backends.stderr);
          assert.match(backends.stdout, /^listener\s+127\.0\.0\.1\s+up\b/m);
          assert.match(backends.stdout, /^pinged\s+127\.0\.0\.1\s+up\b/m);

          for (
            const [exe, args] of [
              [`${dir}/maglevc`, ["-server", grpc, "show", "version"]],
              [`${dir}/maglev`, ["ctl", "--server", grpc, "show", "version"]],
            ] as const
          ) {
            const v = await run(exe, [...args], cwd);
            assert.equal(v.code, 0, v.stderr);
            assert.ok(
              v.stdout.includes(`${VERSION_LINE} at ${grpc}`),
              `no daemon version in:\n${v.stdout}`,
            );
          }

          const m = await text(`http://${metrics}/metrics`);
          assert.equal(m.res.status, 200);
          assert.match(m.body, /backend="listener"/);

          const webPort = freePort();
          web = artefact(`${dir}/maglevd-frontend`, [
            "--listen",
            `127.0.0.1:${webPort}`,
            "--server",
            grpc,
            "--log-format",
            "json",
          ], cwd);
          await web.waitForRecord(
            (r) => r.msg === "ready",
            "the dashboard ready",
          );
          const base = `http://127.0.0.1:${webPort}`;
          const health = await text(`${base}/healthz`);
          assert.equal(health.res.status, 200);
          assert.equal(health.body, "ok\n");
          const page = await text(`${base}/view/`);
          assert.equal(page.res.status, 200);
          assert.match(
            page.res.headers.get("content-type") ?? "",
            /text\/html/,
          );
          const script = /src="([^"]+\.js)"/.exec(page.body)?.[1];
          assert.ok(script, `no script in /view/:\n${page.body}`);
          assert.match(page.body, /href="[^"]+\.css"/);
          const asset = await text(new URL(script, `${base}/view/`).href);
          assert.equal(asset.res.status, 200);
          assert.match(
            asset.res.headers.get("content-type") ?? "",
            /javascript/,
          );
          assert.ok(asset.body.length > 1000, "the embedded app.js is empty");

          assert.equal((await web.stop()).status.code, 0, web.tail());
          assert.equal((await daemon.stop()).status.code, 0, daemon.tail());
        } finally {
          await web?.stop("SIGKILL");
          await daemon.stop("SIGKILL");
          await target.close();
        }
      },
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("release: deno task compile without a usable DENORT_BIN fails and says how to fix it", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "maglev-compile-test-" });
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["task", "compile", "--out-dir", `${tmp}/out`],
      cwd: MAGLEV_ROOT,
      env: { DENORT_BIN: `${tmp}/no-such/denort`, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
    }).output();
    const stderr = new TextDecoder().decode(r.stderr);
    assert.notEqual(r.code, 0);
    assert.match(stderr, /DENORT_BIN=\S*no-such\/denort/);
    assert.match(stderr, /deno task bundle/);
    await assert.rejects(Deno.stat(`${tmp}/out/maglev`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
