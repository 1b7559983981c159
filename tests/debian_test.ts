/**
 * The Debian package (`deno task pkg-deb`, debian/). Quick checks of the
 * inputs first (example config, /etc/default file, units, man pages against
 * the flag tables, maintainer scripts), then one end-to-end test: build the
 * amd64 .deb, lintian, its contents and control data, then `dpkg -i`, the
 * installed program (also as the unprivileged maglevd user, the way the unit
 * runs it), `systemd-analyze verify` of the installed units, `dpkg -r` and
 * `dpkg -P`, all in a throwaway root, and finally that the machine is as the
 * test found it.
 *
 * The throwaway root: this file runs itself again in private mount and pid
 * namespaces where /etc, /usr, /var and /tmp are overlays of the real ones
 * writing to a tmpfs, and /run is an empty tmpfs. Package, user, group,
 * conffiles, caches and temporary files exist only there and vanish with the
 * namespaces, even when the test fails or is killed.
 *
 * Needs root (for the namespaces and mounts), overlayfs, and these Debian
 * packages: dpkg, lintian, systemd (systemd-analyze; systemd need not be
 * running), man-db, binutils (readelf), adduser, util-linux (setpriv,
 * unshare), mount, init-system-helpers. A missing one fails the test with its
 * name; nothing is skipped.
 */
import assert from "node:assert/strict";
import { CTL_FLAGS } from "../src/ctl/mod.ts";
import { DAEMON_FLAGS } from "../src/daemon/flags.ts";
import { parseConfigText } from "../src/config/load.ts";
import type { FlagSpec } from "../src/cli/flags.ts";
import { VERSION } from "../src/version.ts";
import { WEB_FLAGS } from "../src/web/flags.ts";
import {
  MAN_LINKS,
  MAN_PAGES,
  PACKAGE,
  parseChangelogHead,
  SBIN_LINKS,
  shlibsDepends,
  UNITS,
} from "../tools/pkg_deb.ts";
import {
  type CommandOutput,
  requireTools,
  runCommand,
} from "./helpers/command.ts";
import { freePort } from "./helpers/maglev.ts";
import { waitFor } from "./helpers/wait.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const DEBIAN = `${ROOT}debian`;
const BUILD_TIMEOUT_MS = 600_000;
const CONFFILES = ["/etc/default/vpp-maglev", "/etc/vpp-maglev/maglev.yaml"];

/** Every tool the end-to-end test runs (command.ts knows their packages). */
const TOOLS = [
  "dpkg",
  "dpkg-deb",
  "lintian",
  "systemd-analyze",
  "man",
  "readelf",
  "adduser",
  "setpriv",
  "unshare",
  "mount",
  "deb-systemd-helper",
  "gzip",
];

/** Runs a command to completion; never throws on a non-zero exit. */
function run(
  cmd: string,
  args: readonly string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CommandOutput> {
  return runCommand(cmd, args, { timeoutMs: 120_000, ...opts });
}

/** Like run, but fails the test with the output on a non-zero exit. */
async function mustRun(
  cmd: string,
  args: readonly string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CommandOutput> {
  const r = await run(cmd, args, opts);
  assert.equal(
    r.code,
    0,
    `${cmd} ${args.join(" ")} exited ${r.code}:\n${r.stdout}\n${r.stderr}`,
  );
  return r;
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Inputs in debian/, no build needed.

/** Text of an OPTIONS-like section of a man page: .SH NAME up to the next .SH. */
function manSection(page: string, name: string): string {
  const start = page.indexOf(`\n.SH ${name}\n`);
  assert.ok(start >= 0, `no .SH ${name} section`);
  const end = page.indexOf("\n.SH ", start + 1);
  return page.slice(start, end < 0 ? undefined : end);
}

/** Flag names on the .TP tag lines of a man page section. */
function taggedFlags(section: string): string[] {
  const lines = section.split("\n");
  const out: string[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    if (lines[i] !== ".TP") continue;
    for (const m of lines[i + 1].matchAll(/\\-\\-([a-z]+(?:\\-[a-z]+)*)/g)) {
      out.push(m[1].replaceAll("\\-", "-"));
    }
  }
  return out;
}

/** Each flag (and its env var) is documented, and nothing else is. */
function assertPageMatchesFlags(
  pageName: string,
  flags: readonly FlagSpec[],
): void {
  const page = Deno.readTextFileSync(`${DEBIAN}/man/${pageName}`);
  const options = manSection(page, "OPTIONS");
  const documented = new Set(taggedFlags(options));
  for (const f of flags) {
    assert.ok(
      documented.has(f.name),
      `${pageName}: flag --${f.name} is missing from OPTIONS`,
    );
    if (f.env) {
      assert.ok(
        page.includes(f.env),
        `${pageName}: environment variable ${f.env} (of --${f.name}) is not mentioned`,
      );
    }
  }
  const known = new Set(flags.map((f) => f.name));
  for (const name of documented) {
    assert.ok(
      known.has(name),
      `${pageName}: OPTIONS documents --${name}, which the command does not have`,
    );
  }
}

Deno.test("debian: man pages document exactly the flags of each command", () => {
  assertPageMatchesFlags("maglev-daemon.8", DAEMON_FLAGS);
  assertPageMatchesFlags("maglev-ctl.8", CTL_FLAGS);
  assertPageMatchesFlags("maglev-web.8", WEB_FLAGS);
});

Deno.test("debian: every man page renders without groff or man warnings", async () => {
  assert.ok(
    exists("/usr/bin/man"),
    'man not found: install the Debian package "man-db"',
  );
  for (const page of MAN_PAGES) {
    const r = await run("man", [
      "--warnings",
      "-E",
      "UTF-8",
      "-l",
      "-Tutf8",
      "-Z",
      `${DEBIAN}/man/${page}`,
    ], {
      env: { LC_ALL: "C.UTF-8", MANROFFSEQ: "", MANWIDTH: "80" },
    });
    assert.equal(r.code, 0, `man ${page}: exit ${r.code}: ${r.stderr}`);
    assert.equal(r.stderr, "", `man ${page} warns:\n${r.stderr}`);
    assert.ok(r.stdout.length > 500, `man ${page} rendered almost nothing`);
  }
});

/** The commented example at the end of debian/maglev.yaml, made live. */
function uncommentedExample(text: string): string {
  const marker = text.indexOf("# A complete example");
  assert.ok(marker >= 0, "debian/maglev.yaml lost its commented example");
  const active = text.slice(0, marker).split("\n").filter((l) =>
    !/^ {2}(healthchecks|backends|frontends): \{\}$/.test(l)
  );
  const example = text.slice(marker).split("\n")
    .filter((l) => l.startsWith("#  "))
    .map((l) => l.slice(1));
  return [...active, ...example].join("\n") + "\n";
}

Deno.test("debian: the example config passes --check with VPP on and off, and so does its commented example", () => {
  const text = Deno.readTextFileSync(`${DEBIAN}/maglev.yaml`);
  for (const vppEnabled of [true, false]) {
    const r = parseConfigText(text, "maglev.yaml", { vppEnabled });
    assert.ok(r.ok, `vpp=${vppEnabled}: ${JSON.stringify(r)}`);
    // Installed and started as is, it must probe nothing and program nothing.
    assert.equal(r.config.backends.size, 0);
    assert.equal(r.config.frontends.size, 0);
    const ex = parseConfigText(uncommentedExample(text), "example", {
      vppEnabled,
    });
    assert.ok(ex.ok, `example, vpp=${vppEnabled}: ${JSON.stringify(ex)}`);
    assert.equal(ex.config.healthchecks.size, 2);
    assert.equal(ex.config.backends.size, 3);
    assert.equal(ex.config.frontends.size, 1);
  }
});

Deno.test("debian: /etc/default/vpp-maglev is plain NAME=value and names only real variables", () => {
  const text = Deno.readTextFileSync(`${DEBIAN}/default`);
  const known = new Set<string>([
    ...[...DAEMON_FLAGS, ...WEB_FLAGS].flatMap((f) => f.env ? [f.env] : []),
    "MAGLEV_DAEMON_ARGS",
    "MAGLEV_WEB_ARGS",
    "MAGLEV_WEB_USER",
    "MAGLEV_WEB_PASSWORD",
    "MAGLEV_SERVER",
  ]);
  const active: string[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    // systemd and the postinst's parser both read exactly this form.
    assert.match(line, /^MAGLEV_[A-Z_]+=("[^"$`\\]*"|[^\s"'$`\\]*)$/);
    active.push(line.split("=")[0]);
  }
  for (const m of text.matchAll(/\bMAGLEV_[A-Z_]+/g)) {
    assert.ok(known.has(m[0]), `unknown variable ${m[0]}`);
  }
  // Shipped with VPP programming off (see debian/maglev.yaml).
  assert.ok(text.includes("\nMAGLEV_VPP=false\n"));
  assert.deepEqual(active.sort(), [
    "MAGLEV_DAEMON_ARGS",
    "MAGLEV_VPP",
    "MAGLEV_WEB_ARGS",
  ]);
});

/** Key → values of one section of a unit file (repeated keys accumulate). */
function unitSection(path: string, section: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = "";
  for (const raw of Deno.readTextFileSync(path).split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      current = s[1];
      continue;
    }
    if (current !== section) continue;
    const eq = line.indexOf("=");
    const key = line.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

Deno.test("debian: the units keep the settings the daemon and the dashboard depend on", () => {
  const d = unitSection(`${DEBIAN}/vpp-maglev.service`, "Service");
  const one = (m: Map<string, string[]>, k: string) => m.get(k)?.join(" ");
  assert.equal(one(d, "Type"), "notify");
  assert.equal(one(d, "NotifyAccess"), "main");
  assert.ok(d.has("WatchdogSec"));
  assert.equal(one(d, "User"), "maglevd");
  assert.equal(
    one(d, "ExecStart"),
    "/usr/sbin/maglev daemon $MAGLEV_DAEMON_ARGS",
  );
  assert.equal(one(d, "ExecReload"), "/bin/kill -HUP $MAINPID");
  assert.equal(one(d, "AmbientCapabilities"), "CAP_NET_RAW CAP_SYS_ADMIN");
  assert.equal(one(d, "CapabilityBoundingSet"), "CAP_NET_RAW CAP_SYS_ADMIN");
  // setns(CLONE_NEWNET) into healthchecker.netns must stay possible.
  assert.equal(one(d, "RestrictNamespaces"), "net");
  assert.equal(one(d, "CacheDirectory"), "vpp-maglev");
  // The daemon's default --state-file lives here.
  assert.equal(one(d, "StateDirectory"), "vpp-maglev");
  const w = unitSection(`${DEBIAN}/vpp-maglev-web.service`, "Service");
  assert.equal(one(w, "ExecStart"), "/usr/sbin/maglev web $MAGLEV_WEB_ARGS");
  assert.equal(one(w, "DynamicUser"), "yes");
  assert.equal(one(w, "CapabilityBoundingSet"), "");
  for (const unit of [d, w]) {
    // V8 JIT-compiles: W^X memory would kill it at start.
    assert.ok(!unit.has("MemoryDenyWriteExecute"));
    assert.deepEqual(
      unit.get("EnvironmentFile")?.[0],
      "-/etc/default/vpp-maglev",
    );
  }
});

Deno.test("debian: maintainer scripts are POSIX sh with set -e", async () => {
  for (const script of ["postinst", "prerm", "postrm"]) {
    const text = Deno.readTextFileSync(`${DEBIAN}/${script}`);
    assert.ok(text.startsWith("#!/bin/sh\n"), `${script}: #!/bin/sh`);
    assert.match(text, /^set -e$/m, `${script}: set -e`);
    assert.ok(!text.includes("#DEBHELPER#"), `${script}: no debhelper token`);
    const r = await run("dash", ["-n", `${DEBIAN}/${script}`]);
    assert.equal(r.code, 0, `${script}: ${r.stderr}`);
  }
});

Deno.test("debian: pkg_deb reads the changelog and the Deno binary's needs", () => {
  const head = parseChangelogHead(
    Deno.readTextFileSync(`${DEBIAN}/changelog`),
  );
  assert.equal(head.package, PACKAGE);
  assert.equal(
    head.version,
    VERSION,
    "debian/changelog needs an entry for src/version.ts's VERSION",
  );
  assert.equal(
    shlibsDepends(
      " 0x1 (NEEDED) Shared library: [libgcc_s.so.1]\n" +
        " 0x1 (NEEDED) Shared library: [libc.so.6]\n" +
        " 0x1 (NEEDED) Shared library: [libm.so.6]\n",
      "  0x0010: Name: GLIBC_2.18 Flags: none\n" +
        "  0x0020: Name: GLIBC_2.27 Flags: none\n" +
        "  0x0030: Name: GLIBC_2.3.4 Flags: none\n",
    ),
    "libc6 (>= 2.27), libgcc-s1",
  );
  assert.throws(
    () => shlibsDepends(" (NEEDED) Shared library: [libssl.so.3]\n", ""),
    /libssl\.so\.3/,
  );
});

// ---------------------------------------------------------------------------
// The package end to end.

/** Every path the package holds: mode string and symlink target. */
function expectedContents(): Map<string, string> {
  const m = new Map<string, string>();
  const dir = (p: string) => m.set(p, "drwxr-xr-x");
  const file = (p: string, mode = "-rw-r--r--") => m.set(p, mode);
  const link = (p: string, target: string) =>
    m.set(p, `lrwxrwxrwx -> ${target}`);
  for (
    const d of [
      "etc",
      "etc/default",
      "etc/vpp-maglev",
      "usr",
      "usr/lib",
      "usr/lib/systemd",
      "usr/lib/systemd/system",
      "usr/lib/vpp-maglev",
      "usr/sbin",
      "usr/share",
      "usr/share/doc",
      "usr/share/doc/vpp-maglev",
      "usr/share/lintian",
      "usr/share/lintian/overrides",
      "usr/share/man",
      "usr/share/man/man8",
    ]
  ) dir(d);
  file("etc/default/vpp-maglev");
  file("etc/vpp-maglev/maglev.yaml");
  for (const u of UNITS) file(`usr/lib/systemd/system/${u}`);
  file("usr/lib/vpp-maglev/maglev.js");
  file("usr/lib/vpp-maglev/deno", "-rwxr-xr-x");
  file("usr/lib/vpp-maglev/maglev", "-rwxr-xr-x");
  for (const l of ["maglevd", "maglevc", "maglevd-frontend"]) {
    link(`usr/lib/vpp-maglev/${l}`, "maglev");
  }
  for (const l of SBIN_LINKS) link(`usr/sbin/${l}`, `../lib/vpp-maglev/${l}`);
  const doc = "usr/share/doc/vpp-maglev";
  file(`${doc}/copyright`);
  file(`${doc}/changelog.gz`);
  file(`${doc}/README.md.gz`);
  for (const e of Deno.readDirSync(`${ROOT}docs`)) {
    if (e.isFile && e.name.endsWith(".md")) file(`${doc}/${e.name}.gz`);
  }
  file("usr/share/lintian/overrides/vpp-maglev");
  for (const p of MAN_PAGES) file(`usr/share/man/man8/${p}.gz`);
  for (const [l, t] of Object.entries(MAN_LINKS)) {
    link(`usr/share/man/man8/${l}`, t);
  }
  return m;
}

/** `dpkg-deb --contents` as path → "mode[ -> target]", owners checked. */
function parseContents(listing: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of listing.split("\n")) {
    if (line.trim() === "") continue;
    const f = /^(\S+) (\S+)\s+\d+ \S+ \S+ \.\/(\S*?)\/?(?: -> (\S+))?$/.exec(
      line,
    );
    assert.ok(f, `cannot read contents line: ${line}`);
    assert.equal(f[2], "root/root", `${f[3]} is owned by ${f[2]}`);
    if (f[3] === "") continue;
    m.set(f[3], f[4] ? `${f[1]} -> ${f[4]}` : f[1]);
  }
  return m;
}

/** Removes an installed (or half-removed) vpp-maglev, such as the host's. */
async function purgeIfPresent(): Promise<void> {
  const s = await run("dpkg-query", ["-W", "-f=${db:Status-Status}", PACKAGE]);
  if (s.code === 0 && s.stdout.trim() !== "not-installed") {
    await mustRun("dpkg", ["--purge", PACKAGE]);
  }
}

/** Runs the installed daemon as the maglevd user, like the unit, and probes it. */
async function smokeAsMaglevd(): Promise<void> {
  const cache = await Deno.makeTempDir({ prefix: "maglev-deb-cache-" });
  try {
    await mustRun("chown", ["maglevd:maglevd", cache]);
    await probeDaemonAsMaglevd(cache);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
}

/** smokeAsMaglevd with `cache`, owned by maglevd, as $CACHE_DIRECTORY. */
async function probeDaemonAsMaglevd(cache: string): Promise<void> {
  const grpc = freePort();
  const metrics = freePort();
  // setpriv execs (no fork), so the spawned pid is the daemon's pid, as
  // under systemd with ExecStart=/usr/sbin/maglev.
  const child = new Deno.Command("setpriv", {
    args: [
      "--reuid=maglevd",
      "--regid=maglevd",
      "--init-groups",
      "--",
      "/usr/sbin/maglevd",
      "--vpp=false",
      `--grpc-addr=127.0.0.1:${grpc}`,
      `--metrics-addr=127.0.0.1:${metrics}`,
    ],
    cwd: "/",
    clearEnv: true,
    env: {
      PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
      HOME: "/nonexistent",
      CACHE_DIRECTORY: cache,
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let status: Deno.CommandStatus | undefined;
  try {
    // The launcher exec'd deno: NotifyAccess=main holds for the unit.
    const exe = await waitFor(
      "the launcher to exec deno",
      () => {
        const e = Deno.readLinkSync(`/proc/${child.pid}/exe`);
        return e === "/usr/lib/vpp-maglev/deno" ? e : undefined;
      },
      10_000,
    );
    assert.equal(exe, "/usr/lib/vpp-maglev/deno");
    const uid = Deno.readTextFileSync(`/proc/${child.pid}/status`)
      .match(/^Uid:\s+(\d+)/m)?.[1];
    const maglevd = (await mustRun("id", ["-u", "maglevd"])).stdout.trim();
    assert.equal(uid, maglevd);
    await waitFor(
      "/metrics of the installed daemon",
      async () => {
        const r = await fetch(`http://127.0.0.1:${metrics}/metrics`);
        const body = await r.text();
        return r.ok && body.includes("maglev_") ? body : undefined;
      },
      20_000,
      100,
    );
    const ctl = await mustRun("/usr/sbin/maglevc", [
      `--server=127.0.0.1:${grpc}`,
      "show",
      "version",
    ], { env: { NO_COLOR: "1" } });
    assert.match(ctl.stdout, new RegExp(VERSION.replaceAll(".", "\\.")));
    child.kill("SIGTERM");
    status = await child.status;
    assert.equal(status.code, 0, `daemon exit:\n${await stderr}`);
    // The launcher gave Deno the unit's cache directory.
    assert.ok(
      [...Deno.readDirSync(`${cache}/deno`)].length > 0,
      "Deno wrote nothing into $CACHE_DIRECTORY/deno",
    );
  } finally {
    if (!status) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
    }
    await stderr;
  }
}

/**
 * Runs the installed postinst as dpkg would, but as if systemd were running:
 * in a private mount namespace with a tmpfs /run holding /run/systemd/system,
 * and with deb-systemd-invoke and systemctl replaced by loggers. Returns the
 * calls they got and the script's stderr.
 */
async function runPostinst(
  previousVersion: string,
): Promise<{ calls: string[]; stderr: string }> {
  const bin = await Deno.makeTempDir({ prefix: "maglev-deb-fakebin-" });
  try {
    for (const tool of ["deb-systemd-invoke", "systemctl"]) {
      Deno.writeTextFileSync(
        `${bin}/${tool}`,
        `#!/bin/sh\necho "${tool} $*" >>"${bin}/calls"\n`,
      );
      Deno.chmodSync(`${bin}/${tool}`, 0o755);
    }
    const r = await run("unshare", [
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      'mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && PATH="$1:$PATH" exec /var/lib/dpkg/info/vpp-maglev.postinst configure "$2"',
      "sh",
      bin,
      previousVersion,
    ], {
      env: {
        DPKG_MAINTSCRIPT_PACKAGE: PACKAGE,
        DPKG_MAINTSCRIPT_NAME: "postinst",
      },
    });
    assert.equal(r.code, 0, `postinst exit ${r.code}: ${r.stderr}`);
    const calls = exists(`${bin}/calls`)
      ? Deno.readTextFileSync(`${bin}/calls`).trim().split("\n")
      : [];
    return { calls, stderr: r.stderr };
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
}

/**
 * The postinst's start logic: a first install starts the daemon, an upgrade
 * restarts it (and try-restarts the dashboard), and a config that fails the
 * check with the unit's environment (MAGLEV_VPP, MAGLEV_DAEMON_ARGS from
 * /etc/default/vpp-maglev) is neither started nor restarted.
 */
async function postinstUnderSystemd(): Promise<void> {
  const defaults = Deno.readTextFileSync("/etc/default/vpp-maglev");
  const config = Deno.readTextFileSync("/etc/vpp-maglev/maglev.yaml");
  const daemonCalls = (calls: string[]) =>
    calls.filter((c) => c.endsWith(" vpp-maglev.service"));
  try {
    let r = await runPostinst("");
    assert.deepEqual(r.calls, [
      "systemctl --system daemon-reload",
      "deb-systemd-invoke start vpp-maglev.service",
    ], r.stderr);

    r = await runPostinst("0.0.1");
    assert.deepEqual(r.calls, [
      "systemctl --system daemon-reload",
      "deb-systemd-invoke restart vpp-maglev.service",
      "deb-systemd-invoke try-restart vpp-maglev-web.service",
    ], r.stderr);

    // Valid only while VPP is off: the postinst must apply MAGLEV_VPP.
    Deno.writeTextFileSync(
      "/etc/vpp-maglev/maglev.yaml",
      "maglev:\n  healthchecker:\n    transition-history: 5\n",
    );
    r = await runPostinst("0.0.1");
    assert.deepEqual(daemonCalls(r.calls), [
      "deb-systemd-invoke restart vpp-maglev.service",
    ], `MAGLEV_VPP=false was not applied: ${r.stderr}`);
    Deno.writeTextFileSync(
      "/etc/default/vpp-maglev",
      defaults.replace("\nMAGLEV_VPP=false\n", "\nMAGLEV_VPP=true\n"),
    );
    r = await runPostinst("0.0.1");
    assert.deepEqual(daemonCalls(r.calls), [], "restarted an invalid config");
    assert.match(r.stderr, /ipv4-src-address is required/);
    assert.match(r.stderr, /vpp-maglev\.service not \(re\)started/);

    // Extra flags come from MAGLEV_DAEMON_ARGS, split at spaces like systemd.
    Deno.writeTextFileSync("/etc/vpp-maglev/maglev.yaml", config);
    Deno.writeTextFileSync(
      "/etc/default/vpp-maglev",
      defaults.replace(
        '\nMAGLEV_DAEMON_ARGS=""\n',
        '\nMAGLEV_DAEMON_ARGS="--log-level debug --config /etc/vpp-maglev/absent.yaml"\n',
      ),
    );
    r = await runPostinst("");
    assert.deepEqual(daemonCalls(r.calls), [], "started a missing config");
    assert.match(r.stderr, /absent\.yaml: cannot read config/);
  } finally {
    Deno.writeTextFileSync("/etc/default/vpp-maglev", defaults);
    Deno.writeTextFileSync("/etc/vpp-maglev/maglev.yaml", config);
  }
}

// ---------------------------------------------------------------------------
// The throwaway root the package is installed in.

/** Directories the throwaway root overlays; writes to them stay in it. */
const OVERLAID = ["etc", "usr", "var", "tmp"];

/**
 * Set, to the .deb, only inside the throwaway root: there this file runs the
 * install test instead of the build test.
 */
const THROWAWAY_DEB_VAR = "MAGLEV_DEB_TEST_THROWAWAY_DEB";
const throwawayDeb = Deno.env.get(THROWAWAY_DEB_VAR);
const THROWAWAY_TEST =
  "debian: in a throwaway root, the package installs, runs, removes and purges";
const THROWAWAY_TIMEOUT_MS = 600_000;

/**
 * Run by unshare as pid 1 of new mount and pid namespaces: `$1` is an empty
 * directory, the rest the command to run. Upper and work directories live in
 * a tmpfs mounted on `$1` in this namespace only, so every write to the
 * overlaid directories disappears with the namespace, also when the test is
 * killed midway; the host never sees one of these mounts.
 */
const THROWAWAY_ROOT_SH = `set -eu
scratch=$(realpath "$1")
shift
mount -t tmpfs -o mode=0700 maglev-throwaway "$scratch"
overlay() {
	mkdir "$scratch/$1" "$scratch/$1.work"
	# The merged directory has the upper one's owner and mode (/tmp is 1777).
	chmod --reference="/$1" "$scratch/$1"
	chown --reference="/$1" "$scratch/$1"
	mount -t overlay \\
		-o "lowerdir=/$1,upperdir=$scratch/$1,workdir=$scratch/$1.work" \\
		"maglev-throwaway-$1" "/$1"
}
# The directory holding the scratch tmpfs goes last: once overlaid, its path
# leads into the overlay, which cannot hold another overlay's upper layer.
last=
for d in ${OVERLAID.join(" ")}; do
	case "$scratch/" in
	"/$d/"*) last=$d ;;
	*) overlay "$d" ;;
	esac
done
[ -z "$last" ] || overlay "$last"
# Empty rather than overlaid: without /run/systemd/system the maintainer
# scripts see no running systemd, so they never reach the host's.
mount -t tmpfs -o mode=0755 maglev-throwaway-run /run
mkdir -m 1777 /run/lock
# A child rather than exec'd: pid 1 gets no default signal actions and has
# to reap the orphans of the maintainer scripts, which Deno does not.
status=0
"$@" || status=$?
exit "$status"
`;

/**
 * Runs `cmd` in a throwaway root (see THROWAWAY_ROOT_SH) on the empty
 * directory `scratch`. The pid namespace ends every process the command
 * left behind (a daemon, say) with it, so nothing keeps the mounts alive.
 * After `timeoutMs` unshare gets SIGKILL: it ignores SIGTERM while it waits,
 * and --kill-child takes the namespace down with it.
 */
async function runInThrowawayRoot(
  scratch: string,
  cmd: readonly string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<CommandOutput> {
  const child = new Deno.Command("unshare", {
    args: [
      "--mount",
      "--propagation",
      "private",
      "--pid",
      "--fork",
      "--kill-child",
      "--mount-proc",
      "--",
      "sh",
      "-c",
      THROWAWAY_ROOT_SH,
      "sh",
      scratch,
      ...cmd,
    ],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  try {
    const out = await child.output();
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr) +
        (timedOut ? `\nkilled after ${timeoutMs} ms` : ""),
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Throws unless this process is in the throwaway root: the install test
 * must never install anything on the real system, whoever sets its variable.
 */
function assertInThrowawayRoot(): void {
  // Mount point → "fstype source"; a later line is mounted over an earlier.
  const mounts = new Map<string, string>();
  for (
    const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")
  ) {
    const [before, after] = line.split(" - ");
    if (after === undefined) continue;
    const [fstype, source] = after.split(" ");
    mounts.set(before.split(" ")[4], `${fstype} ${source}`);
  }
  for (const d of OVERLAID) {
    assert.equal(
      mounts.get(`/${d}`),
      `overlay maglev-throwaway-${d}`,
      `/${d} is not the throwaway root's overlay: refusing to install`,
    );
  }
  assert.equal(mounts.get("/run"), "tmpfs maglev-throwaway-run");
}

/** What the package test could leave on the machine if it leaked. */
interface HostState {
  /** `dpkg-query -W` of the package: exit code and status. */
  readonly package: string;
  readonly passwd: string;
  readonly group: string;
  /** Those of the package's paths that exist. */
  readonly paths: string[];
  /** Temporary directories of this file and of tools/pkg_deb.ts. */
  readonly tempDirs: string[];
}

/** Paths the package, its scripts or its units create. */
const PACKAGE_PATHS = [
  "/etc/vpp-maglev",
  "/etc/default/vpp-maglev",
  "/etc/systemd/system/multi-user.target.wants/vpp-maglev.service",
  "/usr/lib/vpp-maglev",
  "/usr/sbin/maglev",
  "/usr/share/doc/vpp-maglev",
  "/var/lib/vpp-maglev",
  "/var/cache/vpp-maglev",
  "/var/cache/private/vpp-maglev-web",
  "/var/lib/systemd/deb-systemd-helper-enabled/vpp-maglev.service.dsh-also",
  "/var/lib/dpkg/info/vpp-maglev.list",
];

/** This machine's state as far as the package test could change it. */
async function hostState(): Promise<HostState> {
  const pkg = await run("dpkg-query", [
    "-W",
    "-f=${db:Status-Abbrev} ${Version}",
    PACKAGE,
  ]);
  const passwd = await run("getent", ["passwd", "maglevd"]);
  const group = await run("getent", ["group", "maglevd"]);
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  return {
    package: `exit ${pkg.code}: ${pkg.stdout.trim()}`,
    passwd: passwd.stdout.trim(),
    group: group.stdout.trim(),
    paths: PACKAGE_PATHS.filter(exists),
    tempDirs: [...Deno.readDirSync(tmp)]
      .map((e) => `${tmp}/${e.name}`)
      .filter((p) => /\/maglev-deb-[^/]*$/.test(p))
      .sort(),
  };
}

Deno.test({
  name:
    "debian: pkg-deb builds a lintian-clean package that installs, runs, removes and purges",
  // Filtered out in the throwaway root anyway; this makes sure it never
  // starts itself again from there.
  ignore: throwawayDeb !== undefined,
  async fn(t) {
    requireTools(TOOLS);
    assert.equal(
      Deno.uid(),
      0,
      "the Debian package test mounts a throwaway root to install the package in: run it as root",
    );
    const host = await hostState();
    const out = await Deno.makeTempDir({ prefix: "maglev-deb-test-" });
    try {
      // The build's and lintian's temporary files go below `out`, so even
      // a build killed by its timeout (no finally of its own) leaves none.
      const tmp = `${out}/tmp`;
      await Deno.mkdir(tmp);
      const built = await run(Deno.execPath(), [
        "run",
        "-A",
        `${ROOT}tools/pkg_deb.ts`,
        "--out-dir",
        out,
      ], {
        timeoutMs: BUILD_TIMEOUT_MS,
        env: {
          MAGLEV_COMMIT: "debtest",
          MAGLEV_BUILD_DATE: "2026-01-02T03:04:05Z",
          TMPDIR: tmp,
        },
      });
      assert.equal(built.code, 0, `pkg_deb failed:\n${built.stderr}`);
      const deb = built.stdout.trim().split("\n").pop() ?? "";
      assert.equal(deb, `${out}/${PACKAGE}_${VERSION}_amd64.deb`);

      await t.step("lintian reports no errors", async () => {
        const r = await run("lintian", ["--tag-display-limit", "0", deb], {
          timeoutMs: 300_000,
          env: { TMPDIR: tmp },
        });
        const tags = r.stdout.split("\n").filter((l) => /^[EWIPX]: /.test(l));
        const errors = tags.filter((l) => l.startsWith("E: "));
        assert.deepEqual(errors, [], `lintian:\n${r.stdout}${r.stderr}`);
        assert.equal(
          r.code,
          0,
          `lintian exit ${r.code}:\n${r.stdout}${r.stderr}`,
        );
        // Warnings are allowed, but none is expected today: show any new one.
        assert.deepEqual(
          tags.filter((l) => l.startsWith("W: ")),
          [],
          "new lintian warnings",
        );
      });

      await t.step("contents: every path, mode, owner and link", async () => {
        const r = await mustRun("dpkg-deb", ["--contents", deb]);
        const got = parseContents(r.stdout);
        const want = expectedContents();
        assert.deepEqual(
          [...got.keys()].sort(),
          [...want.keys()].sort(),
          "paths in the package",
        );
        for (const [path, mode] of want) {
          assert.equal(got.get(path), mode, path);
        }
      });

      await t.step("control: fields, conffiles, scripts", async () => {
        const field = async (name: string) =>
          (await mustRun("dpkg-deb", ["--field", deb, name])).stdout.trim();
        assert.equal(await field("Package"), PACKAGE);
        assert.equal(await field("Version"), VERSION);
        assert.equal(await field("Architecture"), "amd64");
        assert.equal(await field("Section"), "net");
        assert.equal(await field("Priority"), "optional");
        // Takes over from the original Go tools' daemon package.
        assert.equal(await field("Conflicts"), "vpp-maglevd");
        assert.equal(await field("Replaces"), "vpp-maglevd");
        assert.match(await field("Depends"), /^libc6 \(>= 2\.\d+\), .*adduser/);
        assert.ok(Number(await field("Installed-Size")) > 50_000);
        const conffiles = await mustRun("dpkg-deb", [
          "--info",
          deb,
          "conffiles",
        ]);
        assert.deepEqual(conffiles.stdout.trim().split("\n"), CONFFILES);
        const info = (await mustRun("dpkg-deb", ["--info", deb])).stdout;
        for (const s of ["postinst", "prerm", "postrm"]) {
          assert.match(info, new RegExp(`\\d+ lines\\s+\\*\\s+${s}\\s`));
        }
      });

      await t.step(
        "dpkg -i, the installed program, dpkg -r and dpkg -P, in a throwaway root",
        async () => {
          const scratch = `${out}/throwaway`;
          await Deno.mkdir(scratch);
          // This file again, in the throwaway root: the install test's
          // steps, as Deno tests, with the .deb from above. Type-checked
          // already by this run.
          const r = await runInThrowawayRoot(scratch, [
            Deno.execPath(),
            "test",
            "-A",
            "--no-check",
            "--filter",
            THROWAWAY_TEST,
            new URL(import.meta.url).pathname,
          ], {
            [THROWAWAY_DEB_VAR]: deb,
            // Its own temporary directories land in the overlaid /tmp
            // whatever TMPDIR says here.
            TMPDIR: "/tmp",
            NO_COLOR: "1",
          }, THROWAWAY_TIMEOUT_MS);
          const report = `${r.stdout}\n${r.stderr}`;
          assert.equal(
            r.code,
            0,
            `the install test in the throwaway root failed:\n${report}`,
          );
          // Not exit 0 alone: a filter that matches nothing passes too.
          assert.match(
            r.stdout,
            /^ok \| 1 passed \(\d+ steps\) \| 0 failed/m,
            report,
          );
          console.log(
            r.stdout.split("\n").filter((l) => / \.\.\. ok\b/.test(l))
              .join("\n"),
          );
        },
      );
    } finally {
      await Deno.remove(out, { recursive: true });
      // A step, so that it is reported next to whatever failed before it.
      await t.step("the host is as the test found it", async () => {
        const now = await hostState();
        assert.equal(now.package, host.package, "dpkg-query -W vpp-maglev");
        assert.equal(now.passwd, host.passwd, "getent passwd maglevd");
        assert.equal(now.group, host.group, "getent group maglevd");
        assert.deepEqual(now.paths, host.paths, "the package's paths");
        assert.deepEqual(
          now.tempDirs,
          host.tempDirs,
          "temporary directories",
        );
      });
    }
  },
});

/**
 * Installs, runs, removes and purges the package on the system this process
 * sees: called only in the throwaway root, where that system is a copy.
 */
async function installRunRemovePurge(
  t: Deno.TestContext,
  deb: string,
): Promise<void> {
  // A vpp-maglev the host has installed shows through the overlays.
  await purgeIfPresent();
  // The postinst puts maglevd into group vpp when VPP made that group. No
  // cleanup afterwards, of it or of the package: the root is thrown away.
  if ((await run("getent", ["group", "vpp"])).code !== 0) {
    await mustRun("groupadd", ["--system", "vpp"]);
  }
  await t.step("dpkg -i without a running systemd", async () => {
    const r = await mustRun("dpkg", ["--install", deb]);
    const groups = (await mustRun("id", ["-nG", "maglevd"])).stdout;
    assert.deepEqual(groups.trim().split(" ").sort(), ["maglevd", "vpp"]);
    assert.doesNotMatch(r.stderr, /not \(re\)started/);
    const pw = (await mustRun("getent", ["passwd", "maglevd"])).stdout;
    assert.match(
      pw,
      /^maglevd:x:\d+:\d+:[^:]*:\/nonexistent:\/usr\/sbin\/nologin$/m,
    );
    await mustRun("getent", ["group", "maglevd"]);
    // Enabled (the symlink deb-systemd-helper made), the web unit not.
    assert.ok(
      exists(
        "/etc/systemd/system/multi-user.target.wants/vpp-maglev.service",
      ),
    );
    assert.ok(
      !exists(
        "/etc/systemd/system/multi-user.target.wants/vpp-maglev-web.service",
      ),
    );
  });

  await t.step("the installed program and its compat names", async () => {
    const v = await mustRun("/usr/sbin/maglev", ["version"]);
    assert.equal(
      v.stdout.trim(),
      `maglev ${VERSION} (commit debtest, built 2026-01-02T03:04:05Z)`,
    );
    const check = await mustRun("/usr/sbin/maglev", [
      "daemon",
      "--check",
      "-config",
      "/etc/vpp-maglev/maglev.yaml",
    ]);
    assert.match(check.stdout, /maglev\.yaml: OK/);
    // maglevd: the daemon, with the packaged config as its default.
    const compat = await mustRun("maglevd", ["--check"], {
      env: { PATH: "/usr/sbin:/usr/bin:/bin" },
    });
    assert.match(compat.stdout, /\/etc\/vpp-maglev\/maglev\.yaml: OK/);
    const ctl = await mustRun("/usr/sbin/maglevc", ["--help"]);
    assert.match(ctl.stdout, /^Usage: maglev ctl/);
    const web = await mustRun("/usr/sbin/maglevd-frontend", ["--help"]);
    assert.match(web.stdout, /^Usage: maglev web/);
    for (
      const page of [
        "maglev",
        "maglevd",
        "maglevc",
        "maglevd-frontend",
        "maglev-web",
      ]
    ) {
      await mustRun("man", ["-w", "8", page]);
    }
  });

  await t.step(
    "postinst under systemd starts only a config that passes --check",
    async () => {
      await postinstUnderSystemd();
    },
  );

  await t.step(
    "the daemon runs as maglevd, as the unit runs it",
    async () => {
      await smokeAsMaglevd();
    },
  );

  await t.step(
    "systemd-analyze verify accepts both installed units",
    async () => {
      // verify needs ExecStart's binary and the man pages of
      // Documentation=, so it runs against the installed package.
      const r = await run("systemd-analyze", [
        "verify",
        ...UNITS.map((u) => `/usr/lib/systemd/system/${u}`),
      ]);
      // It exits 0 on unknown keys but says so on stderr.
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.trim(), "", r.stderr);
    },
  );

  await t.step(
    "dpkg -r keeps the conffiles and nothing else",
    async () => {
      await mustRun("dpkg", ["--remove", PACKAGE]);
      for (const path of expectedContents().keys()) {
        const abs = `/${path}`;
        if (
          CONFFILES.includes(abs) || abs === "/etc/vpp-maglev"
        ) continue;
        if (!path.includes("vpp-maglev") && !path.includes("maglev")) {
          continue; // shared directories such as /usr/share/man
        }
        assert.ok(!exists(abs), `${abs} is still there after dpkg -r`);
      }
      for (const c of CONFFILES) assert.ok(exists(c), `${c} removed`);
      const s = await mustRun("dpkg-query", [
        "-W",
        "-f=${db:Status-Abbrev}",
        PACKAGE,
      ]);
      assert.equal(s.stdout.trim(), "rc");
    },
  );

  await t.step(
    "dpkg -P leaves nothing behind but the system user",
    async () => {
      // The units' caches, as systemd would have made them: the purge
      // must take them along.
      const caches = [
        "/var/cache/vpp-maglev",
        "/var/cache/private/vpp-maglev-web",
      ];
      for (const c of caches) {
        await Deno.mkdir(`${c}/deno`, { recursive: true });
      }
      // The daemon's state (StateDirectory=): purged with the package.
      await Deno.mkdir("/var/lib/vpp-maglev", { recursive: true });
      await Deno.writeTextFile("/var/lib/vpp-maglev/state.json", "{}\n");
      caches.push("/var/lib/vpp-maglev");
      await mustRun("dpkg", ["--purge", PACKAGE]);
      for (
        const p of [
          ...CONFFILES,
          "/etc/vpp-maglev",
          "/usr/lib/vpp-maglev",
          "/usr/share/doc/vpp-maglev",
          ...caches,
          "/etc/systemd/system/multi-user.target.wants/vpp-maglev.service",
          "/var/lib/systemd/deb-systemd-helper-enabled/vpp-maglev.service.dsh-also",
          "/var/lib/systemd/deb-systemd-helper-enabled/vpp-maglev-web.service.dsh-also",
        ]
      ) {
        assert.ok(!exists(p), `${p} is still there after dpkg -P`);
      }
      const q = await run("dpkg-query", ["-W", PACKAGE]);
      assert.notEqual(q.code, 0, "dpkg still knows the package");
      // Kept on purpose (see debian/postrm).
      await mustRun("getent", ["passwd", "maglevd"]);
    },
  );
}

if (throwawayDeb !== undefined) {
  Deno.test({
    name: THROWAWAY_TEST,
    // fetch() keep-alive connections to the daemon are closed by its exit.
    sanitizeResources: false,
    async fn(t) {
      assertInThrowawayRoot();
      await installRunRemovePurge(t, throwawayDeb);
    },
  });
}
