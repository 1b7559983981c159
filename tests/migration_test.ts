/**
 * Drop-in migration: what an operator of the Go maglevd has (their
 * maglev.yaml, /etc/default/vpp-maglev, a report script calling `maglevc`,
 * Prometheus rules on maglevd's metric names) runs unchanged against maglev.
 *
 * The fixture tree is tests/migration/original/, laid out like the host it
 * came from. The test plays systemd and the operator: it reads the default
 * file the way EnvironmentFile= does, starts `maglevd` and
 * `maglevd-frontend` with the original units' command lines, runs the script
 * with `maglevc` on PATH, and feeds what /metrics really says to
 * `promtool test rules` with the operator's rules. Two things are relocated,
 * never edited: paths under /etc/ point into a copy of the tree, and the
 * daemon's state file (the original had none) goes to that copy too.
 */
import assert from "node:assert/strict";
import { MaglevProcess, MAIN } from "./helpers/maglev.ts";
import { requireTools, runCommand } from "./helpers/command.ts";
import { type TempDir, tempDir } from "./helpers/tmp.ts";
import { waitFor } from "./helpers/wait.ts";
import { expandExec, parseEnvironmentFile } from "./helpers/systemd.ts";

const FIXTURE = new URL("./migration/original/", import.meta.url).pathname;

/** The original units' ExecStart lines, as systemd would run them. */
const DAEMON_EXEC = "maglevd --config ${MAGLEV_CONFIG}";
const FRONTEND_EXEC = "maglevd-frontend $MAGLEV_FRONTEND_ARGS";

/** Copies the fixture tree; returns the copy's root. */
async function copyFixture(tmp: TempDir): Promise<string> {
  const root = `${tmp.path}/root`;
  const r = await runCommand("cp", ["-a", FIXTURE, root]);
  assert.equal(r.code, 0, r.stderr);
  return root;
}

/** `maglevd`, `maglevc`, `maglevd-frontend` as the release launcher makes them. */
async function writeLaunchers(dir: string): Promise<void> {
  await Deno.mkdir(dir);
  for (const name of ["maglevd", "maglevc", "maglevd-frontend"]) {
    const path = `${dir}/${name}`;
    await Deno.writeTextFile(
      path,
      `#!/bin/sh\nMAGLEV_ARGV0=${name} exec "${Deno.execPath()}" run -A --quiet "${MAIN}" "$@"\n`,
    );
    await Deno.chmod(path, 0o755);
  }
}

/** The loopback backends the fixture's config names, on its fixed ports. */
function startBackends(): { close(): Promise<void> } {
  const healthy = new Set(["127.77.0.10", "127.77.0.12"]);
  const servers = ["127.77.0.10", "127.77.0.11", "127.77.0.12"].map((ip) =>
    Deno.serve(
      { hostname: ip, port: 18080, onListen: () => {} },
      (req) =>
        new URL(req.url).pathname === "/healthz" && healthy.has(ip)
          ? new Response("ok\n")
          : new Response("sick\n", { status: 503 }),
    )
  );
  const tcp = Deno.listen({ hostname: "::1", port: 18081 });
  const accepting = (async () => {
    try {
      for await (const conn of tcp) conn.close();
    } catch {
      // closed
    }
  })();
  return {
    async close() {
      tcp.close();
      await accepting;
      await Promise.all(servers.map((s) => s.shutdown()));
    },
  };
}

/** One sample of the text exposition. */
interface Sample {
  readonly name: string;
  readonly labels: string;
  readonly value: string;
}

function samples(exposition: string, names: ReadonlySet<string>): Sample[] {
  const out: Sample[] = [];
  for (const line of exposition.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && names.has(m[1])) {
      out.push({ name: m[1], labels: m[2] ?? "", value: m[3] });
    }
  }
  return out;
}

/**
 * A promtool test whose input is what /metrics said (held for 15 minutes),
 * run against the operator's rules file: the alerts and recordings expected
 * of the fixture's backends, on maglev's real label sets.
 */
function liveRulesTest(scraped: Sample[]): string {
  const series = scraped.map((s) =>
    `      - series: '${s.name}${s.labels}'\n        values: '${s.value}x15'`
  ).join("\n");
  return `rule_files:
  - maglev.rules.yml
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
${series}
    alert_rule_test:
      - eval_time: 2m
        alertname: MaglevBackendDown
        exp_alerts:
          - exp_labels: { severity: page, backend: web1, state: down }
            exp_annotations: { summary: "maglev backend web1 is down" }
      - eval_time: 11m
        alertname: MaglevBackendDisabled
        exp_alerts:
          - exp_labels: { severity: ticket, backend: web2 }
            exp_annotations: { summary: "maglev backend web2 is disabled" }
    promql_expr_test:
      - expr: frontend:maglev_frontend_pool_backend_weight:sum
        eval_time: 1m
        exp_samples:
          - labels: 'frontend:maglev_frontend_pool_backend_weight:sum{frontend="dns"}'
            value: 100
          - labels: 'frontend:maglev_frontend_pool_backend_weight:sum{frontend="web"}'
            value: 250
          - labels: 'frontend:maglev_frontend_pool_backend_weight:sum{frontend="web6"}'
            value: 100
`;
}

const EXPECTED_STATES: Record<string, string> = {
  web0: "up",
  web1: "down",
  web2: "disabled",
  dns0: "up",
  "web6-0": "up",
};

Deno.test({
  name:
    "migration: the Go system's config, /etc/default, script and Prometheus rules run unchanged",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    requireTools(["promtool", "jq", "cp"]);
    await using tmp = await tempDir("maglev-migration-");
    const root = await copyFixture(tmp);
    const bin = `${tmp.path}/bin`;
    await writeLaunchers(bin);

    // The default file, as systemd hands it to both units; /etc is the copy.
    const defaults = parseEnvironmentFile(
      await Deno.readTextFile(`${root}/etc/default/vpp-maglev`),
    );
    for (const [k, v] of Object.entries(defaults)) {
      if (v.startsWith("/etc/")) defaults[k] = root + v;
    }
    const env = {
      ...defaults,
      PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
      MAGLEV_STATE_FILE: `${root}/state.json`,
    };

    const backends = startBackends();
    const [daemonExe, ...daemonArgs] = expandExec(DAEMON_EXEC, env);
    const daemon = MaglevProcess.exec(`${bin}/${daemonExe}`, daemonArgs, {
      env,
    });
    const [webExe, ...webArgs] = expandExec(FRONTEND_EXEC, env);
    let web: MaglevProcess | undefined;
    try {
      await daemon.waitForRecord(
        (r) => r.msg === "ready",
        "daemon ready",
        20_000,
      );
      for (const [name, state] of Object.entries(EXPECTED_STATES)) {
        if (state === "disabled") continue;
        await daemon.waitForRecord(
          (r) =>
            r.msg === "backend-transition" && r.backend === name &&
            r.to === state,
          `${name} ${state}`,
          15_000,
        );
      }

      await t.step(
        "their config with a typo or a wrong type is still refused",
        async () => {
          const good = await Deno.readTextFile(defaults.MAGLEV_CONFIG);
          for (
            const [bad, why] of [
              [
                good.replace("flush-on-down: true", "flush-on-dwn: true"),
                /flush-on-dwn/,
              ],
              [good.replace("rise: 2", "rise: two"), /rise/],
            ] as const
          ) {
            const path = `${root}/bad.yaml`;
            await Deno.writeTextFile(path, bad);
            const r = await runCommand(`${bin}/maglevd`, [
              "--check",
              "--config",
              path,
            ], { env });
            assert.equal(r.code, 1, r.stderr);
            assert.match(r.stderr, why);
          }
        },
      );

      await t.step("the report script and its maglevc calls", async () => {
        const r = await runCommand(
          `${root}/usr/local/bin/maglev-report`,
          [],
          {
            env: { ...env, MAGLEV_SERVER: defaults.MAGLEV_GRPC_ADDR },
            timeoutMs: 60_000,
          },
        );
        assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
        const [table, states] = r.stdout.split("== states\n");
        for (const name of Object.keys(EXPECTED_STATES)) {
          assert.match(table, new RegExp(`^\\s*${name}\\s`, "m"), table);
        }
        const seen = Object.fromEntries(
          states.trim().split("\n").map((l) => l.split(" ")),
        );
        assert.deepEqual(seen, EXPECTED_STATES, r.stdout);
      });

      await t.step("the operator's rules, on what /metrics says", async () => {
        const text = await (await fetch(
          `http://${defaults.MAGLEV_METRICS_ADDR}/metrics`,
        )).text();
        const scraped = samples(
          text,
          new Set([
            "maglev_backend_state",
            "maglev_backend_enabled",
            "maglev_frontend_pool_backend_weight",
          ]),
        );
        assert.ok(scraped.length > 0, text.slice(0, 2000));
        const dir = `${root}/etc/prometheus`;
        // Their own test first, unchanged.
        let r = await runCommand("promtool", [
          "test",
          "rules",
          "maglev.rules_test.yml",
        ], {
          cwd: dir,
        });
        assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
        await Deno.writeTextFile(
          `${dir}/live_test.yml`,
          liveRulesTest(scraped),
        );
        r = await runCommand("promtool", ["test", "rules", "live_test.yml"], {
          cwd: dir,
        });
        assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
      });

      await t.step(
        "maglevd-frontend with MAGLEV_FRONTEND_ARGS and its user",
        async () => {
          web = MaglevProcess.exec(`${bin}/${webExe}`, webArgs, { env });
          await web.waitForRecord(
            (r) => r.msg === "ready",
            "dashboard ready",
            20_000,
          );
          const base = `http://127.77.0.1:18088`;
          const auth = "Basic " +
            btoa(
              `${defaults.MAGLEV_FRONTEND_USER}:${defaults.MAGLEV_FRONTEND_PASSWORD}`,
            );
          let res = await fetch(`${base}/admin/`);
          await res.body?.cancel();
          assert.equal(res.status, 401, "admin needs the user");
          res = await fetch(`${base}/admin/`, {
            headers: { authorization: auth },
          });
          await res.body?.cancel();
          assert.equal(res.status, 200);
          const state = await waitFor(
            "the dashboard's state of the daemon",
            async () => {
              const s = await (await fetch(`${base}/view/api/state`))
                .json() as unknown;
              const text = JSON.stringify(s);
              return text.includes('"web6"') && text.includes('"dns0"')
                ? text
                : undefined;
            },
            15_000,
            100,
          );
          assert.match(state, /"web"/);
          // The original's other routes: one daemon, the list, the version, the icon.
          const daemonAddr = defaults.MAGLEV_GRPC_ADDR;
          const one = await fetch(
            `${base}/view/api/state/${encodeURIComponent(daemonAddr)}`,
          );
          assert.equal(one.status, 200);
          assert.match(JSON.stringify(await one.json()), /"web6"/);
          const list = await (await fetch(`${base}/view/api/maglevds`))
            .json() as {
              maglevds: { name: string; connected: boolean }[];
            };
          assert.deepEqual(list.maglevds.map((d) => [d.name, d.connected]), [[
            daemonAddr,
            true,
          ]]);
          const version = await (await fetch(`${base}/view/api/version`))
            .json() as {
              version: string;
            };
          assert.match(version.version, /^\d+\.\d+\.\d+/);
          const icon = await fetch(`${base}/favicon.ico`);
          await icon.body?.cancel();
          assert.equal(icon.status, 200);
        },
      );
    } finally {
      await web?.stop();
      await daemon.stop();
      await backends.close();
    }
  },
});
