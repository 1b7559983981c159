/**
 * The Debian packages vpp-maglev (client tools) and vpp-maglevd (daemon,
 * dashboard, units, config) of `deno task pkg-deb` and debian/. Quick checks
 * of the inputs first (example config, /etc/default file and units read the
 * way systemd reads them, with our variables and the original's, man pages
 * against the flag tables, maintainer scripts, control stanzas), then one
 * end-to-end test: build both .debs, lintian, their contents and control
 * data, then in a throwaway root: the client package alone, the daemon
 * package beside it, the installed programs (the daemon also as the
 * unprivileged maglevd user, the way the unit runs it), the postinst's
 * start logic under a simulated systemd, `systemd-analyze verify` of the
 * installed units, removal and purge, and the upgrade from the single
 * 0.1.0 package (simulated) by dpkg, by apt, and in two steps. Finally: the
 * machine is as the test found it.
 *
 * The throwaway root: this file runs itself again in private mount and pid
 * namespaces where /etc, /usr, /var and /tmp are overlays of the real ones
 * writing to a tmpfs, and /run is an empty tmpfs. Packages, user, group,
 * conffiles, caches and temporary files exist only there and vanish with the
 * namespaces, even when the test fails or is killed.
 *
 * Needs root (for the namespaces and mounts), overlayfs, and these Debian
 * packages: dpkg, apt, lintian, systemd (systemctl, systemd-analyze; systemd
 * need not be running), man-db, binutils (readelf), adduser, util-linux
 * (setpriv, unshare), mount, init-system-helpers. A missing one fails the
 * test with its name; nothing is skipped.
 */
import assert from "node:assert/strict";
import { CTL_FLAGS } from "../src/ctl/mod.ts";
import { DAEMON_FLAGS } from "../src/daemon/flags.ts";
import { type Io, runDaemon } from "../src/daemon/run.ts";
import { parseConfigText } from "../src/config/load.ts";
import type { FlagSpec } from "../src/cli/flags.ts";
import { VERSION } from "../src/version.ts";
import { loadCredentials } from "../src/web/auth.ts";
import {
  parseWebOptions,
  WEB_FLAGS,
  withFrontendEnv,
} from "../src/web/flags.ts";
import { PROGRAM_LINKS } from "../tools/bundle.ts";
import { TESTER_FLAGS } from "../src/tester/flags.ts";
import {
  BIN_LINKS,
  binaryControl,
  checkCommandNames,
  CLIENT,
  DAEMON,
  MAINTAINER_SCRIPTS,
  MAN_LINKS,
  MAN_PAGES,
  type PackageName,
  PACKAGES,
  parseChangelogHead,
  parseControlStanzas,
  SBIN_LINKS,
  shlibsDepends,
  SOURCE,
  UNIT_ALIASES,
  UNITS,
} from "../tools/pkg_deb.ts";
import {
  type CommandOutput,
  requireTools,
  runCommand,
} from "./helpers/command.ts";
import { freePort } from "./helpers/maglev.ts";
import {
  expandExec,
  parseEnvironmentFile,
  unitSection,
} from "./helpers/systemd.ts";
import { waitFor } from "./helpers/wait.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const DEBIAN = `${ROOT}debian`;
const BUILD_TIMEOUT_MS = 600_000;
const DEFAULT_FILE = "/etc/default/vpp-maglev";
const CONFIG_FILE = "/etc/vpp-maglev/maglev.yaml";
const CONFFILES = [DEFAULT_FILE, CONFIG_FILE];
/** The version that split the single package: Breaks/Replaces name it. */
const SPLIT_VERSION = "0.2.0";
/** The single package before the split, which the upgrade steps simulate. */
const OLD_VERSION = "0.1.0";
const UNIT_DIR = "/usr/lib/systemd/system";
const WANTS = "/etc/systemd/system/multi-user.target.wants";
const DSH = "/var/lib/systemd/deb-systemd-helper-enabled";
const DAEMON_UNIT = "vpp-maglev.service";
const WEB_UNIT = "vpp-maglev-frontend.service";
/** The dashboard's unit in 0.1.0; now an alias (UNIT_ALIASES). */
const OLD_WEB_UNIT = "vpp-maglev-web.service";
/** The original's /etc/default/vpp-maglev, from the migration fixture. */
const ORIGINAL_DEFAULT =
  `${ROOT}tests/migration/original/etc/default/vpp-maglev`;

/** Every tool the end-to-end test runs (command.ts knows their packages). */
const TOOLS = [
  "dpkg",
  "dpkg-deb",
  "apt-get",
  "lintian",
  "systemctl",
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

/** What run and mustRun take besides the command. */
interface RunOptions {
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
  readonly stdin?: string;
}

/** Runs a command to completion; never throws on a non-zero exit. */
function run(
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<CommandOutput> {
  return runCommand(cmd, args, { timeoutMs: 120_000, ...opts });
}

/** Like run, but fails the test with the output on a non-zero exit. */
async function mustRun(
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
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
  assertPageMatchesFlags("maglev-tester.8", TESTER_FLAGS);
});

Deno.test("debian: every man page renders without groff or man warnings", async () => {
  assert.ok(
    exists("/usr/bin/man"),
    'man not found: install the Debian package "man-db"',
  );
  for (const page of PACKAGES.flatMap((p) => MAN_PAGES[p])) {
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
    // Installed and started as is (VPP on), it must probe nothing and claim
    // no VIP: the daemon then adds and deletes nothing in VPP.
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

/** The words of a unit's ExecStart= line in debian/. */
function execStart(unit: string): string {
  const s = unitSection(Deno.readTextFileSync(`${DEBIAN}/${unit}`), "Service");
  const lines = s.get("ExecStart") ?? [];
  assert.equal(lines.length, 1, `${unit}: one ExecStart=`);
  return lines[0];
}

/** The MAGLEV_* variables the units' ExecStart= lines expand. */
function execVariables(): Set<string> {
  return new Set(
    UNITS.flatMap((u) =>
      [...execStart(u).matchAll(/\$\{?(MAGLEV_[A-Z_]+)/g)].map((m) => m[1])
    ),
  );
}

/**
 * The name of ours that withFrontendEnv (the dashboard's reading of its
 * environment) fills from `name`, an original's MAGLEV_FRONTEND_* variable;
 * undefined when it maps `name` to nothing.
 */
function frontendAliasTarget(name: string): string | undefined {
  const mapped = withFrontendEnv({ [name]: "probe-value" });
  return Object.entries(mapped).find(([k, v]) =>
    k !== name && v === "probe-value"
  )?.[0];
}

Deno.test("debian: /etc/default/vpp-maglev is plain NAME=value and names only real variables", async () => {
  const text = Deno.readTextFileSync(`${DEBIAN}/default`);
  // Real: a flag's variable, a variable a unit's ExecStart= expands, or the
  // dashboard's credentials, each shown to be read below.
  const known = new Set<string>([
    ...[...DAEMON_FLAGS, ...WEB_FLAGS].flatMap((f) => f.env ? [f.env] : []),
    ...execVariables(),
  ]);
  const creds = await loadCredentials({
    MAGLEV_WEB_USER: "u",
    MAGLEV_WEB_PASSWORD: "p",
  });
  assert.deepEqual(creds, { user: "u", password: "p" });
  known.add("MAGLEV_WEB_USER").add("MAGLEV_WEB_PASSWORD");
  const active: string[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    // systemd and the postinst's parser both read exactly this form.
    assert.match(line, /^MAGLEV_[A-Z_]+=("[^"$`\\]*"|[^\s"'$`\\]*)$/);
    active.push(line.split("=")[0]);
  }
  const names = new Set(
    [...text.matchAll(/\bMAGLEV_[A-Z_]*[A-Z]\b/g)].map((m) => m[0]),
  );
  for (const name of names) {
    if (known.has(name)) continue;
    // The original's dashboard variables are real when the dashboard reads
    // them as one of ours.
    const ours = frontendAliasTarget(name);
    assert.ok(
      ours !== undefined && known.has(ours),
      `unknown variable ${name}`,
    );
  }
  // The original's names the issue asks for are all documented here.
  for (
    const name of [
      "MAGLEV_CONFIG",
      "MAGLEV_GRPC_ADDR",
      "MAGLEV_METRICS_ADDR",
      "MAGLEV_VPP_API_ADDR",
      "MAGLEV_VPP_STATS_ADDR",
      "MAGLEV_LOG_LEVEL",
      "MAGLEV_FRONTEND_ARGS",
      "MAGLEV_FRONTEND_USER",
      "MAGLEV_FRONTEND_PASSWORD",
      "MAGLEV_FRONTEND_LISTEN",
      "MAGLEV_FRONTEND_SERVER",
      "MAGLEV_FRONTEND_SERVERS",
    ]
  ) {
    assert.ok(names.has(name), `${name} is not mentioned`);
  }
  // Nothing is set but the two extra-flag lists: VPP stays on.
  assert.deepEqual(active.sort(), ["MAGLEV_DAEMON_ARGS", "MAGLEV_WEB_ARGS"]);
});

/** Io that collects what a command prints. */
function captureIo(): Io & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    out: (l) => lines.push(l),
    err: (l) => lines.push(l),
  };
}

Deno.test("debian: the shipped /etc/default/vpp-maglev and maglev.yaml pass the daemon's --check with VPP on", async () => {
  const env = parseEnvironmentFile(Deno.readTextFileSync(`${DEBIAN}/default`));
  const [exe, command, ...args] = expandExec(execStart(UNITS[0]), env);
  assert.deepEqual([exe, command, args], ["/usr/bin/maglev", "daemon", []]);
  const io = captureIo();
  const code = await runDaemon(["--check", ...args], {
    ...env,
    MAGLEV_CONFIG: `${DEBIAN}/maglev.yaml`,
  }, io);
  assert.equal(code, 0, io.lines.join("\n"));
  assert.match(
    io.lines[0],
    /maglev\.yaml: OK \(0 healthchecks, 0 backends, 0 frontends\)$/,
  );
  // VPP is on: a config that would pass only without VPP is refused.
  const noVpp = await Deno.makeTempFile({ prefix: "maglev-deb-novpp-" });
  try {
    Deno.writeTextFileSync(
      noVpp,
      "maglev:\n  healthchecker:\n    transition-history: 5\n",
    );
    const io2 = captureIo();
    const refused = await runDaemon(["--check", ...args], {
      ...env,
      MAGLEV_CONFIG: noVpp,
    }, io2);
    assert.equal(refused, 2, io2.lines.join("\n"));
    assert.match(io2.lines.join("\n"), /ipv4-src-address is required/);
  } finally {
    Deno.removeSync(noVpp);
  }
});

Deno.test("debian: the units run the original's /etc/default/vpp-maglev as the original's units did", async () => {
  const env = parseEnvironmentFile(Deno.readTextFileSync(ORIGINAL_DEFAULT));
  // The dashboard: the original's MAGLEV_FRONTEND_ARGS in Go spelling, and
  // its MAGLEV_FRONTEND_* variables.
  const [exe, command, ...webArgs] = expandExec(execStart(WEB_UNIT), env);
  assert.deepEqual([exe, command], ["/usr/bin/maglev", "web"]);
  assert.deepEqual(webArgs, (env.MAGLEV_FRONTEND_ARGS ?? "").split(" "));
  const webEnv = withFrontendEnv(env);
  const web = parseWebOptions(webArgs, webEnv);
  assert.deepEqual(web.listen, { hostname: "127.77.0.1", port: 18088 });
  assert.deepEqual(web.servers, ["127.77.0.1:19090"]);
  assert.deepEqual(await loadCredentials(webEnv, web.credentialsFile), {
    user: env.MAGLEV_FRONTEND_USER,
    password: env.MAGLEV_FRONTEND_PASSWORD,
  });
  // Ours come after the original's on the command line, so they win.
  const both = expandExec(execStart(WEB_UNIT), {
    ...env,
    MAGLEV_WEB_ARGS: "--listen 127.0.0.1:8081",
  }).slice(2);
  assert.deepEqual(parseWebOptions(both, webEnv).listen, {
    hostname: "127.0.0.1",
    port: 8081,
  });

  // The daemon: MAGLEV_CONFIG names the config without a --config in
  // ExecStart=, and the empty MAGLEV_VPP_API_ADDR turns VPP off, so a config
  // without vpp.lb passes.
  const [, , ...daemonArgs] = expandExec(execStart(DAEMON_UNIT), env);
  assert.deepEqual(daemonArgs, []);
  const noVpp = await Deno.makeTempFile({ prefix: "maglev-deb-novpp-" });
  try {
    Deno.writeTextFileSync(
      noVpp,
      "maglev:\n  healthchecker:\n    transition-history: 5\n",
    );
    const io = captureIo();
    const code = await runDaemon(["--check", ...daemonArgs], {
      ...env,
      MAGLEV_CONFIG: noVpp,
    }, io);
    assert.equal(code, 0, io.lines.join("\n"));
    assert.ok(io.lines[0].startsWith(`${noVpp}: OK`), io.lines.join("\n"));
  } finally {
    Deno.removeSync(noVpp);
  }
});

Deno.test("debian: the units keep the settings the daemon and the dashboard depend on", () => {
  const read = (u: string) => Deno.readTextFileSync(`${DEBIAN}/${u}`);
  const d = unitSection(read(DAEMON_UNIT), "Service");
  const one = (m: Map<string, string[]>, k: string) => m.get(k)?.join(" ");
  assert.equal(one(d, "Type"), "notify");
  assert.equal(one(d, "NotifyAccess"), "main");
  assert.ok(d.has("WatchdogSec"));
  assert.equal(one(d, "User"), "maglevd");
  // /usr/bin/maglev is vpp-maglev's, which vpp-maglevd depends on.
  assert.equal(
    one(d, "ExecStart"),
    "/usr/bin/maglev daemon $MAGLEV_DAEMON_ARGS",
  );
  assert.ok(BIN_LINKS.includes("maglev"));
  assert.equal(one(d, "ExecReload"), "/bin/kill -HUP $MAINPID");
  assert.equal(one(d, "AmbientCapabilities"), "CAP_NET_RAW CAP_SYS_ADMIN");
  assert.equal(one(d, "CapabilityBoundingSet"), "CAP_NET_RAW CAP_SYS_ADMIN");
  // setns(CLONE_NEWNET) into healthchecker.netns must stay possible.
  assert.equal(one(d, "RestrictNamespaces"), "net");
  assert.equal(one(d, "CacheDirectory"), "vpp-maglev");
  // The daemon's default --state-file lives here.
  assert.equal(one(d, "StateDirectory"), "vpp-maglev");
  const w = unitSection(read(WEB_UNIT), "Service");
  assert.equal(
    one(w, "ExecStart"),
    "/usr/bin/maglev web $MAGLEV_FRONTEND_ARGS $MAGLEV_WEB_ARGS",
  );
  assert.equal(one(w, "DynamicUser"), "yes");
  assert.equal(one(w, "CapabilityBoundingSet"), "");
  assert.equal(one(w, "CacheDirectory"), "vpp-maglev-frontend");
  for (const unit of [d, w]) {
    // V8 JIT-compiles: W^X memory would kill it at start.
    assert.ok(!unit.has("MemoryDenyWriteExecute"));
    assert.deepEqual(unit.get("EnvironmentFile")?.[0], `-${DEFAULT_FILE}`);
  }
  assert.deepEqual(
    unitSection(read(WEB_UNIT), "Service").get("EnvironmentFile"),
    [`-${DEFAULT_FILE}`, "-/etc/vpp-maglev/web.env"],
  );
  // The alias is a symlink, not Alias= (which exists only while enabled).
  assert.deepEqual(UNIT_ALIASES, { [OLD_WEB_UNIT]: WEB_UNIT });
  assert.ok(!unitSection(read(WEB_UNIT), "Install").has("Alias"));
  assert.deepEqual(UNITS, [DAEMON_UNIT, WEB_UNIT]);
});

Deno.test("debian: maintainer scripts are POSIX sh with set -e", async () => {
  for (const pkg of PACKAGES) {
    for (const script of MAINTAINER_SCRIPTS[pkg]) {
      const name = `${pkg}.${script}`;
      const text = Deno.readTextFileSync(`${DEBIAN}/${name}`);
      assert.ok(text.startsWith("#!/bin/sh\n"), `${name}: #!/bin/sh`);
      assert.match(text, /^set -e$/m, `${name}: set -e`);
      assert.ok(!text.includes("#DEBHELPER#"), `${name}: no debhelper token`);
      const r = await run("dash", ["-n", `${DEBIAN}/${name}`]);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    }
  }
  // The client package sets nothing up: no account, no unit, no service.
  const client = Deno.readTextFileSync(`${DEBIAN}/${CLIENT}.postinst`);
  assert.doesNotMatch(client, /adduser|useradd|deb-systemd-|systemctl/);
});

Deno.test("debian: pkg_deb reads the changelog, the control stanzas and the Deno binary's needs", () => {
  const head = parseChangelogHead(
    Deno.readTextFileSync(`${DEBIAN}/changelog`),
  );
  assert.equal(head.package, SOURCE);
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

  const stanzas = parseControlStanzas(
    Deno.readTextFileSync(`${DEBIAN}/control`),
  );
  assert.deepEqual([...stanzas.keys()], [...PACKAGES]);
  const daemon = binaryControl(stanzas.get(DAEMON) as string, {
    version: "9.9",
    arch: "arm64",
    installedSize: 7,
  });
  assert.match(
    daemon,
    /^Package: vpp-maglevd\nSource: vpp-maglev\nVersion: 9\.9\nArchitecture: arm64\nInstalled-Size: 7\n/,
  );
  assert.match(daemon, /^Depends: vpp-maglev \(= 9\.9\), adduser$/m);
  // The split's version, not the package's: it must never move.
  for (const f of ["Breaks", "Replaces"]) {
    assert.match(
      daemon,
      new RegExp(`^${f}: vpp-maglev \\(<< ${SPLIT_VERSION}\\)$`, "m"),
    );
  }
  assert.throws(
    () =>
      binaryControl(stanzas.get(CLIENT) as string, {
        version: "9.9",
        arch: "amd64",
        installedSize: 7,
      }),
    /\$\{shlibs:Depends\} is not substituted in the stanza of vpp-maglev/,
  );
  assert.throws(
    () => parseControlStanzas("Package: a\n\nPackage: a\n"),
    /two stanzas for a/,
  );

  // Every name the program answers to is a command of one package, and the
  // client's commands are the ones people type.
  checkCommandNames();
  assert.deepEqual(
    [...BIN_LINKS, ...SBIN_LINKS].sort(),
    ["maglev", ...PROGRAM_LINKS].sort(),
  );
  assert.deepEqual([...BIN_LINKS], ["maglev", "maglevc", "maglevt"]);
  assert.deepEqual([...SBIN_LINKS], ["maglevd", "maglevd-frontend"]);
});

// ---------------------------------------------------------------------------
// The packages end to end.

/** Every path a package holds: mode string and symlink target. */
function expectedContents(pkg: PackageName): Map<string, string> {
  const m = new Map<string, string>();
  const dir = (p: string) => m.set(p, "drwxr-xr-x");
  const file = (p: string, mode = "-rw-r--r--") => m.set(p, mode);
  const link = (p: string, target: string) =>
    m.set(p, `lrwxrwxrwx -> ${target}`);
  const doc = `usr/share/doc/${pkg}`;
  for (
    const d of [
      "usr",
      "usr/lib",
      "usr/share",
      "usr/share/doc",
      doc,
      "usr/share/man",
      "usr/share/man/man8",
    ]
  ) dir(d);
  file(`${doc}/copyright`);
  file(`${doc}/changelog.gz`);
  for (const p of MAN_PAGES[pkg]) file(`usr/share/man/man8/${p}.gz`);
  for (const [l, t] of Object.entries(MAN_LINKS[pkg])) {
    link(`usr/share/man/man8/${l}`, t);
  }
  if (pkg === CLIENT) {
    for (
      const d of [
        "usr/bin",
        "usr/lib/vpp-maglev",
        "usr/share/lintian",
        "usr/share/lintian/overrides",
      ]
    ) dir(d);
    file("usr/lib/vpp-maglev/maglev.js");
    file("usr/lib/vpp-maglev/deno", "-rwxr-xr-x");
    file("usr/lib/vpp-maglev/maglev", "-rwxr-xr-x");
    for (const l of PROGRAM_LINKS) link(`usr/lib/vpp-maglev/${l}`, "maglev");
    for (const l of BIN_LINKS) link(`usr/bin/${l}`, `../lib/vpp-maglev/${l}`);
    // The guides, once, for both packages.
    file(`${doc}/README.md.gz`);
    for (const e of Deno.readDirSync(`${ROOT}docs`)) {
      if (e.isFile && e.name.endsWith(".md")) file(`${doc}/${e.name}.gz`);
    }
    file("usr/share/lintian/overrides/vpp-maglev");
  } else {
    for (
      const d of [
        "etc",
        "etc/default",
        "etc/vpp-maglev",
        "usr/lib/systemd",
        "usr/lib/systemd/system",
        "usr/sbin",
      ]
    ) dir(d);
    for (const c of CONFFILES) file(c.slice(1));
    for (const u of UNITS) file(`usr/lib/systemd/system/${u}`);
    for (const [alias, unit] of Object.entries(UNIT_ALIASES)) {
      link(`usr/lib/systemd/system/${alias}`, unit);
    }
    for (const l of SBIN_LINKS) {
      link(`usr/sbin/${l}`, `../lib/vpp-maglev/${l}`);
    }
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

/** Removes installed (or half-removed) packages, such as the host's. */
async function purgeIfPresent(
  pkgs: readonly string[] = [DAEMON, CLIENT],
): Promise<void> {
  for (const pkg of pkgs) {
    const s = await run("dpkg-query", ["-W", "-f=${db:Status-Status}", pkg]);
    if (s.code === 0 && s.stdout.trim() !== "not-installed") {
      await mustRun("dpkg", ["--purge", pkg]);
    }
  }
}

/** `dpkg-query -W -f=<format> <pkg>`, trimmed, or "" when dpkg knows none. */
async function query(pkg: string, format: string): Promise<string> {
  const r = await run("dpkg-query", ["-W", `-f=${format}`, pkg]);
  return r.code === 0 ? r.stdout.trim() : "";
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
  // under systemd with ExecStart=/usr/bin/maglev.
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
    const ctl = await mustRun("/usr/bin/maglevc", [
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
 * Runs vpp-maglevd's installed postinst as dpkg would, but as if systemd
 * were running: in a private mount namespace with a tmpfs /run holding
 * /run/systemd/system, and with deb-systemd-invoke and systemctl replaced by
 * loggers. Returns the calls they got and the script's stderr.
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
      'mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && PATH="$1:$PATH" exec /var/lib/dpkg/info/vpp-maglevd.postinst configure "$2"',
      "sh",
      bin,
      previousVersion,
    ], {
      env: {
        DPKG_MAINTSCRIPT_PACKAGE: DAEMON,
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
 * Copies the directories systemd's and deb-systemd-helper's enablement
 * state live in: `restore` puts them back exactly (as often as needed),
 * `discard` deletes the copy.
 */
async function saveEnablement(): Promise<
  { restore(): Promise<void>; discard(): Promise<void> }
> {
  const dirs = ["/etc/systemd/system", DSH];
  const copy = await Deno.makeTempDir({ prefix: "maglev-deb-enablement-" });
  for (const [i, d] of dirs.entries()) {
    if (exists(d)) await mustRun("cp", ["-a", d, `${copy}/${i}`]);
  }
  return {
    async restore() {
      for (const [i, d] of dirs.entries()) {
        await Deno.remove(d, { recursive: true }).catch(() => {});
        if (exists(`${copy}/${i}`)) {
          await mustRun("cp", ["-a", `${copy}/${i}`, d]);
        }
      }
    },
    async discard() {
      await Deno.remove(copy, { recursive: true });
    },
  };
}

/**
 * The postinst's start logic: a first install starts the daemon, an upgrade
 * restarts it (and try-restarts the dashboard), taking over from 0.1.0
 * restarts it and moves an enabled dashboard to its new unit, and a config
 * that fails the check with the unit's environment (from
 * /etc/default/vpp-maglev: VPP on unless it says otherwise,
 * MAGLEV_DAEMON_ARGS) is neither started nor restarted.
 */
async function postinstUnderSystemd(): Promise<void> {
  const defaults = Deno.readTextFileSync(DEFAULT_FILE);
  const config = Deno.readTextFileSync(CONFIG_FILE);
  const invokes = (calls: string[]) =>
    calls.filter((c) => c.startsWith("deb-systemd-invoke "));
  const daemonInvokes = (calls: string[]) =>
    invokes(calls).filter((c) => c.endsWith(` ${DAEMON_UNIT}`));
  const enablement = await saveEnablement();
  try {
    // A first install: no package has handled the daemon's unit before.
    await Deno.remove(`${DSH}/${DAEMON_UNIT}.dsh-also`);
    let r = await runPostinst("");
    assert.deepEqual(invokes(r.calls), [
      `deb-systemd-invoke start ${DAEMON_UNIT}`,
    ], r.stderr);
    assert.ok(
      r.calls.indexOf("systemctl --system daemon-reload") <
        r.calls.indexOf(`deb-systemd-invoke start ${DAEMON_UNIT}`),
      `no daemon-reload before the start: ${r.calls}`,
    );
    await enablement.restore();

    // An upgrade of vpp-maglevd.
    r = await runPostinst(`${SPLIT_VERSION}~rc1`);
    assert.deepEqual(invokes(r.calls), [
      `deb-systemd-invoke restart ${DAEMON_UNIT}`,
      `deb-systemd-invoke try-restart ${WEB_UNIT}`,
    ], r.stderr);

    // Taking over from vpp-maglev 0.1.0 (a first install of vpp-maglevd,
    // but the unit is known and its daemon may run), whose dashboard unit
    // the admin had enabled: restarted, stopped under the old name, enabled
    // and started under the new one. (Enabled through `systemctl preset`,
    // a logger here: the upgrade steps check the links.)
    await Deno.remove(`${DSH}/${WEB_UNIT}.dsh-also`);
    Deno.writeTextFileSync(
      `${DSH}/${OLD_WEB_UNIT}.dsh-also`,
      `${WANTS}/${OLD_WEB_UNIT}\n`,
    );
    Deno.symlinkSync(`${UNIT_DIR}/${OLD_WEB_UNIT}`, `${WANTS}/${OLD_WEB_UNIT}`);
    r = await runPostinst("");
    assert.deepEqual(invokes(r.calls), [
      `deb-systemd-invoke stop ${OLD_WEB_UNIT}`,
      `deb-systemd-invoke restart ${DAEMON_UNIT}`,
      `deb-systemd-invoke start ${WEB_UNIT}`,
    ], r.stderr);
    assert.ok(!exists(`${WANTS}/${OLD_WEB_UNIT}`), "old link kept");
    assert.ok(!exists(`${DSH}/${OLD_WEB_UNIT}.dsh-also`), "old state kept");
    assert.ok(
      r.calls.includes(
        `systemctl --root=/ --system --preset-mode=enable-only preset ${WEB_UNIT}`,
      ),
      `${WEB_UNIT} was not enabled: ${r.calls}`,
    );
    await enablement.restore();

    // VPP is on by default: a config valid only without VPP is not
    // (re)started, and the postinst says why.
    Deno.writeTextFileSync(
      CONFIG_FILE,
      "maglev:\n  healthchecker:\n    transition-history: 5\n",
    );
    r = await runPostinst(`${SPLIT_VERSION}~rc1`);
    assert.deepEqual(daemonInvokes(r.calls), [], "restarted an invalid config");
    assert.match(r.stderr, /ipv4-src-address is required/);
    assert.match(r.stderr, /vpp-maglev\.service not \(re\)started/);
    // The check applies /etc/default/vpp-maglev, ours and the original's
    // way of turning VPP off alike.
    for (const line of ["MAGLEV_VPP=false", "MAGLEV_VPP_API_ADDR="]) {
      Deno.writeTextFileSync(DEFAULT_FILE, `${defaults}${line}\n`);
      r = await runPostinst(`${SPLIT_VERSION}~rc1`);
      assert.deepEqual(daemonInvokes(r.calls), [
        `deb-systemd-invoke restart ${DAEMON_UNIT}`,
      ], `${line} was not applied: ${r.stderr}`);
    }

    // Extra flags come from MAGLEV_DAEMON_ARGS, split at spaces like systemd.
    Deno.writeTextFileSync(CONFIG_FILE, config);
    Deno.writeTextFileSync(
      DEFAULT_FILE,
      defaults.replace(
        '\nMAGLEV_DAEMON_ARGS=""\n',
        '\nMAGLEV_DAEMON_ARGS="--log-level debug --config /etc/vpp-maglev/absent.yaml"\n',
      ),
    );
    r = await runPostinst(`${SPLIT_VERSION}~rc1`);
    assert.deepEqual(daemonInvokes(r.calls), [], "started a missing config");
    assert.match(r.stderr, /absent\.yaml: cannot read config/);
  } finally {
    Deno.writeTextFileSync(DEFAULT_FILE, defaults);
    Deno.writeTextFileSync(CONFIG_FILE, config);
    await enablement.restore();
    await enablement.discard();
  }
}

// ---------------------------------------------------------------------------
// The single package of 0.1.0, simulated.

/** 0.1.0's /etc/default/vpp-maglev, as far as the upgrade cares. */
const OLD_DEFAULT =
  'MAGLEV_VPP=false\nMAGLEV_DAEMON_ARGS=""\nMAGLEV_WEB_ARGS=""\n';
/** 0.1.0's example config (nothing probed, VPP off). */
const OLD_CONFIG = "maglev:\n  healthchecker:\n    transition-history: 5\n";

/**
 * 0.1.0's maintainer scripts, as far as they run without a running systemd
 * (the throwaway root has none): the account, and the enablement state of
 * both units. Its prerm and postrm acted on "remove" and "purge" only, so an
 * upgrade runs nothing of them; they are left out.
 */
const OLD_POSTINST = `#!/bin/sh
set -e
if [ "$1" = configure ]; then
	getent passwd maglevd >/dev/null ||
		adduser --system --group --no-create-home --home /nonexistent \\
			--shell /usr/sbin/nologin --quiet maglevd
	if deb-systemd-helper --quiet was-enabled ${DAEMON_UNIT}; then
		deb-systemd-helper enable ${DAEMON_UNIT} >/dev/null || true
	else
		deb-systemd-helper update-state ${DAEMON_UNIT} >/dev/null || true
	fi
	deb-systemd-helper update-state ${OLD_WEB_UNIT} >/dev/null || true
fi
exit 0
`;

/**
 * Builds `vpp-maglev_0.1.0_amd64.deb` in `dir` with the single package's
 * layout, made from the new packages' files: both trees in one package,
 * /usr/sbin/maglev and /usr/sbin/maglevc instead of /usr/bin, the dashboard
 * unit under its old name, 0.1.0's conffile contents, control fields
 * (Conflicts/Replaces: vpp-maglevd, the original's daemon package) and
 * postinst. The program itself is a stub: the upgrade replaces it unrun.
 */
async function buildOldSinglePackage(
  dir: string,
  client: string,
  daemon: string,
): Promise<string> {
  const root = `${dir}/old-root`;
  await Deno.mkdir(root);
  for (const deb of [client, daemon]) {
    await mustRun("dpkg-deb", ["--extract", deb, root]);
  }
  const lib = `${root}/usr/lib/vpp-maglev`;
  Deno.writeTextFileSync(`${lib}/deno`, "#!/bin/sh\nexit 1\n");
  Deno.writeTextFileSync(`${lib}/maglev.js`, "// 0.1.0\n");
  for (const name of BIN_LINKS) {
    Deno.renameSync(`${root}/usr/bin/${name}`, `${root}/usr/sbin/${name}`);
  }
  Deno.removeSync(`${root}/usr/bin`);
  const units = `${root}${UNIT_DIR}`;
  Deno.removeSync(`${units}/${OLD_WEB_UNIT}`);
  Deno.renameSync(`${units}/${WEB_UNIT}`, `${units}/${OLD_WEB_UNIT}`);
  Deno.removeSync(`${root}/usr/share/doc/${DAEMON}`, { recursive: true });
  Deno.writeTextFileSync(`${root}${DEFAULT_FILE}`, OLD_DEFAULT);
  Deno.writeTextFileSync(`${root}${CONFIG_FILE}`, OLD_CONFIG);
  const control = `${root}/DEBIAN`;
  Deno.mkdirSync(control);
  Deno.writeTextFileSync(
    `${control}/control`,
    [
      `Package: ${CLIENT}`,
      `Version: ${OLD_VERSION}`,
      "Architecture: amd64",
      "Maintainer: maglev tests <tests@example.org>",
      "Depends: adduser",
      `Conflicts: ${DAEMON}`,
      `Replaces: ${DAEMON}`,
      "Description: vpp-maglev 0.1.0, simulated by tests/debian_test.ts",
      " The single package before the split.",
      "",
    ].join("\n"),
  );
  Deno.writeTextFileSync(`${control}/conffiles`, CONFFILES.join("\n") + "\n");
  Deno.writeTextFileSync(`${control}/postinst`, OLD_POSTINST);
  Deno.chmodSync(`${control}/postinst`, 0o755);
  const deb = `${dir}/${CLIENT}_${OLD_VERSION}_amd64.deb`;
  // Uncompressed: built and unpacked in a moment.
  await mustRun("dpkg-deb", [
    "-Znone",
    "--root-owner-group",
    "--build",
    root,
    deb,
  ]);
  await Deno.remove(root, { recursive: true });
  return deb;
}

/** A line the admin added to 0.1.0's /etc/default/vpp-maglev. */
const ADMIN_EDIT = "MAGLEV_GRPC_ADDR=127.0.0.1:9090";

/**
 * Installs the simulated 0.1.0 as an admin would have left it: the default
 * file edited, the dashboard enabled, the daemon enabled or (when
 * `daemonDisabled`) disabled.
 */
async function installOld(
  old: string,
  opts: { daemonDisabled?: boolean } = {},
): Promise<void> {
  await mustRun("dpkg", ["--install", old]);
  assert.equal(await query(CLIENT, "${Version}"), OLD_VERSION);
  Deno.writeTextFileSync(DEFAULT_FILE, `${OLD_DEFAULT}${ADMIN_EDIT}\n`);
  // No systemd runs here: systemctl edits the links offline.
  await mustRun("systemctl", ["--root=/", "enable", OLD_WEB_UNIT]);
  if (opts.daemonDisabled) {
    await mustRun("systemctl", ["--root=/", "disable", DAEMON_UNIT]);
  }
  assert.ok(exists(`${WANTS}/${OLD_WEB_UNIT}`));
  assert.equal(exists(`${WANTS}/${DAEMON_UNIT}`), !opts.daemonDisabled);
}

/**
 * Both packages are installed at this version and hold what 0.1.0 left as
 * the daemon package's: the conffiles (the admin's edit kept, ours beside it
 * as .dpkg-dist; the unedited config replaced by ours), the daemon's
 * enablement as the admin left it, and the dashboard's under its new name.
 */
async function assertUpgraded(
  opts: { daemonDisabled?: boolean } = {},
): Promise<void> {
  for (const pkg of PACKAGES) {
    assert.equal(
      await query(pkg, "${db:Status-Abbrev}${Version}"),
      `ii ${VERSION}`,
    );
  }
  for (const c of CONFFILES) {
    const owner = await mustRun("dpkg-query", ["--search", c]);
    assert.equal(owner.stdout.trim(), `${DAEMON}: ${c}`);
  }
  const conffiles = await query(DAEMON, "${Conffiles}");
  for (const c of CONFFILES) {
    assert.match(conffiles, new RegExp(`^ ?${c} [0-9a-f]{32}$`, "m"));
  }
  assert.equal(
    Deno.readTextFileSync(DEFAULT_FILE),
    `${OLD_DEFAULT}${ADMIN_EDIT}\n`,
  );
  assert.equal(
    Deno.readTextFileSync(`${DEFAULT_FILE}.dpkg-dist`),
    Deno.readTextFileSync(`${DEBIAN}/default`),
  );
  assert.equal(
    Deno.readTextFileSync(CONFIG_FILE),
    Deno.readTextFileSync(`${DEBIAN}/maglev.yaml`),
  );
  for (const name of BIN_LINKS) {
    assert.ok(exists(`/usr/bin/${name}`), `/usr/bin/${name}`);
    assert.ok(!exists(`/usr/sbin/${name}`), `/usr/sbin/${name} is left`);
  }
  for (const name of SBIN_LINKS) assert.ok(exists(`/usr/sbin/${name}`));
  assert.equal(exists(`${WANTS}/${DAEMON_UNIT}`), !opts.daemonDisabled);
  assert.ok(exists(`${WANTS}/${WEB_UNIT}`), "the dashboard is not enabled");
  assert.ok(!exists(`${WANTS}/${OLD_WEB_UNIT}`), "0.1.0's link is left");
  assert.ok(!exists(`${DSH}/${OLD_WEB_UNIT}.dsh-also`), "0.1.0's state");
  const v = await mustRun("/usr/bin/maglev", ["version"]);
  assert.match(
    v.stdout,
    new RegExp(`^maglev ${VERSION.replaceAll(".", "\\.")} `),
  );
}

/** Purges both packages and checks that nothing of them is left. */
async function purgeAndCheck(): Promise<void> {
  await mustRun("dpkg", ["--purge", DAEMON, CLIENT]);
  for (const pkg of PACKAGES) {
    assert.equal(await query(pkg, "${db:Status-Status}"), "", `${pkg} known`);
  }
  for (const p of LEFTOVER_PATHS) {
    assert.ok(!exists(p), `${p} is still there after dpkg -P`);
  }
}

/** What could be left of the packages after a purge, old names included. */
const LEFTOVER_PATHS = [
  ...CONFFILES,
  `${DEFAULT_FILE}.dpkg-dist`,
  "/etc/vpp-maglev",
  "/usr/lib/vpp-maglev",
  "/usr/share/doc/vpp-maglev",
  "/usr/share/doc/vpp-maglevd",
  ...BIN_LINKS.map((n) => `/usr/bin/${n}`),
  ...["maglev", ...PROGRAM_LINKS].map((n) => `/usr/sbin/${n}`),
  ...[...UNITS, OLD_WEB_UNIT].flatMap((u) => [
    `${UNIT_DIR}/${u}`,
    `${WANTS}/${u}`,
    `${DSH}/${u}.dsh-also`,
  ]),
  "/var/lib/vpp-maglev",
  "/var/cache/vpp-maglev",
  "/var/cache/private/vpp-maglev-frontend",
  "/var/cache/private/vpp-maglev-web",
];

// ---------------------------------------------------------------------------
// The throwaway root the package is installed in.

/** Directories the throwaway root overlays; writes to them stay in it. */
const OVERLAID = ["etc", "usr", "var", "tmp"];

/** The .debs the install test works with. */
interface Debs {
  readonly client: string;
  readonly daemon: string;
  /** The simulated single package of 0.1.0 (see buildOldSinglePackage). */
  readonly old: string;
}

/**
 * Set, to the .debs as JSON, only inside the throwaway root: there this file
 * runs the install test instead of the build test.
 */
const THROWAWAY_DEBS_VAR = "MAGLEV_DEB_TEST_THROWAWAY_DEBS";
const throwawayDebsJson = Deno.env.get(THROWAWAY_DEBS_VAR);
const THROWAWAY_TEST =
  "debian: in a throwaway root, the packages install, run, upgrade, remove and purge";
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
  /** `dpkg-query -W` of each package: exit code and status. */
  readonly packages: string[];
  readonly passwd: string;
  readonly group: string;
  /** Those of the packages' paths that exist. */
  readonly paths: string[];
  /** Temporary directories of this file and of tools/pkg_deb.ts. */
  readonly tempDirs: string[];
}

/** Paths the packages, their scripts or their units create. */
const PACKAGE_PATHS = [
  ...LEFTOVER_PATHS,
  "/usr/share/man/man8/maglev.8.gz",
  "/usr/share/man/man8/maglev-daemon.8.gz",
  "/usr/share/lintian/overrides/vpp-maglev",
  ...PACKAGES.map((p) => `/var/lib/dpkg/info/${p}.list`),
];

/** This machine's state as far as the package test could change it. */
async function hostState(): Promise<HostState> {
  const packages: string[] = [];
  for (const pkg of PACKAGES) {
    const r = await run("dpkg-query", [
      "-W",
      "-f=${db:Status-Abbrev} ${Version}",
      pkg,
    ]);
    packages.push(`${pkg}: exit ${r.code}: ${r.stdout.trim()}`);
  }
  const passwd = await run("getent", ["passwd", "maglevd"]);
  const group = await run("getent", ["group", "maglevd"]);
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  return {
    packages,
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
    "debian: pkg-deb builds two lintian-clean packages that install, run, upgrade, remove and purge",
  // Filtered out in the throwaway root anyway; this makes sure it never
  // starts itself again from there.
  ignore: throwawayDebsJson !== undefined,
  async fn(t) {
    requireTools(TOOLS);
    assert.equal(
      Deno.uid(),
      0,
      "the Debian package test mounts a throwaway root to install the packages in: run it as root",
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
      const debs = built.stdout.trim().split("\n");
      assert.deepEqual(
        debs,
        PACKAGES.map((p) => `${out}/${p}_${VERSION}_amd64.deb`),
      );
      const debOf = (pkg: PackageName) => debs[PACKAGES.indexOf(pkg)];

      await t.step("lintian reports no errors and no warnings", async () => {
        for (const deb of debs) {
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
          // Warnings are allowed, but none is expected today: show any new
          // one.
          assert.deepEqual(
            tags.filter((l) => l.startsWith("W: ")),
            [],
            `new lintian warnings for ${deb}`,
          );
        }
      });

      await t.step("contents: every path, mode, owner and link", async () => {
        const files = new Map<string, PackageName>();
        for (const pkg of PACKAGES) {
          const r = await mustRun("dpkg-deb", ["--contents", debOf(pkg)]);
          const got = parseContents(r.stdout);
          const want = expectedContents(pkg);
          assert.deepEqual(
            [...got.keys()].sort(),
            [...want.keys()].sort(),
            `paths in ${pkg}`,
          );
          for (const [path, mode] of want) {
            assert.equal(got.get(path), mode, `${pkg}: ${path}`);
            if (mode.startsWith("d")) continue;
            // dpkg refuses a file two packages both ship.
            assert.equal(files.get(path), undefined, `${path} in both`);
            files.set(path, pkg);
          }
        }
        // The client holds nothing of the daemon's: no unit, no /etc.
        for (const path of expectedContents(CLIENT).keys()) {
          assert.doesNotMatch(path, /^etc\/|systemd|^usr\/sbin/, path);
        }
      });

      await t.step("control: fields, conffiles, scripts", async () => {
        const field = async (pkg: PackageName, name: string) =>
          (await mustRun("dpkg-deb", ["--field", debOf(pkg), name])).stdout
            .trim();
        for (const pkg of PACKAGES) {
          assert.equal(await field(pkg, "Package"), pkg);
          assert.equal(await field(pkg, "Version"), VERSION);
          assert.equal(await field(pkg, "Architecture"), "amd64");
          assert.equal(await field(pkg, "Section"), "net");
          assert.equal(await field(pkg, "Priority"), "optional");
          // No Conflicts: vpp-maglevd is no longer someone else's package.
          assert.equal(await field(pkg, "Conflicts"), "");
          const info = (await mustRun("dpkg-deb", ["--info", debOf(pkg)]))
            .stdout;
          const scripts = ["preinst", "postinst", "prerm", "postrm"].filter(
            (s) => new RegExp(`\\d+ lines\\s+\\*\\s+${s}\\s`).test(info),
          );
          assert.deepEqual(scripts, MAINTAINER_SCRIPTS[pkg], pkg);
        }
        // The client: the Deno runtime's libraries only, no account.
        assert.match(
          await field(CLIENT, "Depends"),
          /^libc6 \(>= 2\.\d+\), libgcc-s1$/,
        );
        assert.equal(await field(CLIENT, "Replaces"), "");
        assert.equal(await field(CLIENT, "Breaks"), "");
        assert.ok(Number(await field(CLIENT, "Installed-Size")) > 50_000);
        const noConffiles = await run("dpkg-deb", [
          "--info",
          debOf(CLIENT),
          "conffiles",
        ]);
        assert.notEqual(noConffiles.code, 0, "the client has conffiles");
        // The daemon: exactly this version of the client.
        assert.equal(await field(DAEMON, "Source"), SOURCE);
        assert.equal(
          await field(DAEMON, "Depends"),
          `${CLIENT} (= ${VERSION}), adduser`,
        );
        assert.equal(
          await field(DAEMON, "Breaks"),
          `${CLIENT} (<< ${SPLIT_VERSION})`,
        );
        assert.equal(
          await field(DAEMON, "Replaces"),
          `${CLIENT} (<< ${SPLIT_VERSION})`,
        );
        assert.ok(Number(await field(DAEMON, "Installed-Size")) < 1000);
        const conffiles = await mustRun("dpkg-deb", [
          "--info",
          debOf(DAEMON),
          "conffiles",
        ]);
        assert.deepEqual(conffiles.stdout.trim().split("\n"), CONFFILES);
      });

      await t.step(
        "in a throwaway root: install, run, upgrade from 0.1.0, remove, purge",
        async () => {
          const old = await buildOldSinglePackage(
            out,
            debOf(CLIENT),
            debOf(DAEMON),
          );
          const scratch = `${out}/throwaway`;
          await Deno.mkdir(scratch);
          // This file again, in the throwaway root: the install test's
          // steps, as Deno tests, with the .debs from above. Type-checked
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
            [THROWAWAY_DEBS_VAR]: JSON.stringify(
              {
                client: debOf(CLIENT),
                daemon: debOf(DAEMON),
                old,
              } satisfies Debs,
            ),
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
        assert.deepEqual(now.packages, host.packages, "dpkg-query -W");
        assert.equal(now.passwd, host.passwd, "getent passwd maglevd");
        assert.equal(now.group, host.group, "getent group maglevd");
        assert.deepEqual(now.paths, host.paths, "the packages' paths");
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
 * Installs, runs, removes, purges and upgrades the packages on the system
 * this process sees: called only in the throwaway root, where that system
 * is a copy.
 */
async function installRunRemovePurge(
  t: Deno.TestContext,
  debs: Debs,
): Promise<void> {
  // Packages the host has installed show through the overlays.
  await purgeIfPresent();
  // The postinst puts maglevd into group vpp when VPP made that group. No
  // cleanup afterwards, of it or of the packages: the root is thrown away.
  if ((await run("getent", ["group", "vpp"])).code !== 0) {
    await mustRun("groupadd", ["--system", "vpp"]);
  }
  const paths = (pkg: PackageName) =>
    [...expectedContents(pkg).entries()]
      .filter(([, mode]) => !mode.startsWith("d"))
      .map(([p]) => `/${p}`);

  await t.step(
    "vpp-maglev alone: the client tools, and nothing of the daemon",
    async () => {
      const passwd = (await run("getent", ["passwd", "maglevd"])).stdout;
      const r = await mustRun("dpkg", ["--install", debs.client]);
      assert.doesNotMatch(
        r.stderr,
        /vpp-maglevd/,
        "a notice on a fresh install",
      );
      for (const p of paths(CLIENT)) assert.ok(exists(p), p);
      // No account, no unit, no configuration, no daemon's name.
      assert.equal(
        (await run("getent", ["passwd", "maglevd"])).stdout,
        passwd,
      );
      for (
        const p of [
          "/etc/vpp-maglev",
          DEFAULT_FILE,
          ...UNITS.map((u) => `${UNIT_DIR}/${u}`),
          `${UNIT_DIR}/${OLD_WEB_UNIT}`,
          `${WANTS}/${DAEMON_UNIT}`,
          `${DSH}/${DAEMON_UNIT}.dsh-also`,
          ...SBIN_LINKS.map((n) => `/usr/sbin/${n}`),
        ]
      ) {
        assert.ok(!exists(p), `${p} exists with the client package alone`);
      }
      const env = { PATH: "/usr/sbin:/usr/bin:/bin", NO_COLOR: "1" };
      const maglevc = await mustRun("maglevc", ["--help"], { env });
      assert.match(maglevc.stdout, /^Usage: maglev ctl/);
      const ctl = await mustRun("maglev", ["ctl", "--help"], { env });
      assert.equal(ctl.stdout, maglevc.stdout);
      const v = await mustRun("maglev", ["version"], { env });
      assert.equal(
        v.stdout.trim(),
        `maglev ${VERSION} (commit debtest, built 2026-01-02T03:04:05Z)`,
      );
      // Nobody listens: a clear error, not a crash.
      const down = await run("maglevc", [
        `--server=127.0.0.1:${freePort()}`,
        "show",
        "version",
      ], { env });
      assert.notEqual(down.code, 0);
      assert.match(down.stderr, /cannot reach maglev daemon/);
      const maglevt = await mustRun("maglevt", ["--help"], { env });
      assert.match(maglevt.stdout, /^Usage: maglev tester/);
      for (
        const page of [
          "maglev",
          "maglev-ctl",
          "maglevc",
          "maglev-tester",
          "maglevt",
        ]
      ) {
        await mustRun("man", ["-w", "8", page]);
      }
    },
  );

  await t.step(
    "vpp-maglevd beside it: account, units, conffiles, enablement",
    async () => {
      const r = await mustRun("dpkg", ["--install", debs.daemon]);
      assert.doesNotMatch(r.stderr, /not \(re\)started/);
      for (const p of paths(DAEMON)) assert.ok(exists(p), p);
      const groups = (await mustRun("id", ["-nG", "maglevd"])).stdout;
      assert.deepEqual(groups.trim().split(" ").sort(), ["maglevd", "vpp"]);
      const pw = (await mustRun("getent", ["passwd", "maglevd"])).stdout;
      assert.match(
        pw,
        /^maglevd:x:\d+:\d+:[^:]*:\/nonexistent:\/usr\/sbin\/nologin$/m,
      );
      await mustRun("getent", ["group", "maglevd"]);
      // Enabled (the symlink deb-systemd-helper made), the dashboard not,
      // under either name.
      assert.ok(exists(`${WANTS}/${DAEMON_UNIT}`));
      assert.ok(!exists(`${WANTS}/${WEB_UNIT}`));
      assert.ok(!exists(`${WANTS}/${OLD_WEB_UNIT}`));
      // The old name resolves to the new unit.
      assert.equal(
        Deno.realPathSync(`${UNIT_DIR}/${OLD_WEB_UNIT}`),
        Deno.realPathSync(`${UNIT_DIR}/${WEB_UNIT}`),
      );
    },
  );

  await t.step("the daemon's commands and their man pages", async () => {
    const check = await mustRun("/usr/bin/maglev", [
      "daemon",
      "--check",
      "-config",
      CONFIG_FILE,
    ]);
    assert.match(check.stdout, /maglev\.yaml: OK/);
    // maglevd: the daemon, with the packaged config as its default, passing
    // the check with VPP on (the default: no MAGLEV_VPP here).
    const compat = await mustRun("maglevd", ["--check"], {
      env: { PATH: "/usr/sbin:/usr/bin:/bin" },
    });
    assert.match(compat.stdout, /\/etc\/vpp-maglev\/maglev\.yaml: OK/);
    const web = await mustRun("/usr/sbin/maglevd-frontend", ["--help"]);
    assert.match(web.stdout, /^Usage: maglev web/);
    for (
      const page of [
        "maglevd",
        "maglevd-frontend",
        "maglev-web",
        "maglev-daemon",
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
      // Documentation=, so it runs against the installed packages.
      const r = await run("systemd-analyze", [
        "verify",
        ...UNITS.map((u) => `${UNIT_DIR}/${u}`),
      ]);
      // It exits 0 on unknown keys but says so on stderr.
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.trim(), "", r.stderr);
    },
  );

  await t.step(
    "dpkg -r vpp-maglev is refused while vpp-maglevd needs it",
    async () => {
      const r = await run("dpkg", ["--remove", CLIENT]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /dependency problems/);
      assert.equal(await query(CLIENT, "${db:Status-Status}"), "installed");
      // dpkg noted the wish to remove it; take that back.
      await mustRun("dpkg", ["--set-selections"], {
        stdin: `${CLIENT} install\n`,
      });
      assert.equal(await query(CLIENT, "${db:Status-Abbrev}"), "ii");
    },
  );

  await t.step(
    "dpkg -r vpp-maglevd keeps the conffiles and the client tools",
    async () => {
      await mustRun("dpkg", ["--remove", DAEMON]);
      for (const p of paths(DAEMON)) {
        if (CONFFILES.includes(p)) continue;
        assert.ok(!exists(p), `${p} is still there after dpkg -r`);
      }
      for (const c of CONFFILES) assert.ok(exists(c), `${c} removed`);
      assert.equal(await query(DAEMON, "${db:Status-Abbrev}"), "rc");
      const ctl = await mustRun("/usr/bin/maglevc", ["--help"]);
      assert.match(ctl.stdout, /^Usage: maglev ctl/);
    },
  );

  await t.step(
    "dpkg -P leaves nothing behind but the system user",
    async () => {
      // The units' caches, as systemd would have made them: the purge
      // must take them along.
      const caches = [
        "/var/cache/vpp-maglev",
        "/var/cache/private/vpp-maglev-frontend",
      ];
      for (const c of caches) {
        await Deno.mkdir(`${c}/deno`, { recursive: true });
      }
      // The daemon's state (StateDirectory=): purged with the package.
      await Deno.mkdir("/var/lib/vpp-maglev", { recursive: true });
      await Deno.writeTextFile("/var/lib/vpp-maglev/state.json", "{}\n");
      await mustRun("dpkg", ["--purge", DAEMON]);
      for (
        const p of [
          ...CONFFILES,
          "/etc/vpp-maglev",
          ...caches,
          "/var/lib/vpp-maglev",
          `${WANTS}/${DAEMON_UNIT}`,
          ...[DAEMON_UNIT, WEB_UNIT].map((u) => `${DSH}/${u}.dsh-also`),
        ]
      ) {
        assert.ok(!exists(p), `${p} is still there after dpkg -P`);
      }
      await mustRun("dpkg", ["--purge", CLIENT]);
      await purgeAndCheck();
      // Kept on purpose (see debian/vpp-maglevd.postrm).
      await mustRun("getent", ["passwd", "maglevd"]);
    },
  );

  await t.step(
    "upgrade from the single 0.1.0 package: dpkg -i of both, client first",
    async () => {
      await installOld(debs.old);
      const r = await mustRun("dpkg", [
        "--force-confold",
        "--install",
        debs.client,
        debs.daemon,
      ]);
      // Both were configured together: no notice about the daemon's move.
      assert.doesNotMatch(r.stderr, /moved\s+to the package vpp-maglevd/);
      await assertUpgraded();
      await purgeAndCheck();
    },
  );

  await t.step(
    "upgrade from the single 0.1.0 package: apt, in its own order",
    async () => {
      await installOld(debs.old);
      // 0.1.0 conflicts with vpp-maglevd (then the original's package):
      // apt has to upgrade vpp-maglev first, whatever order it is given.
      await mustRun("apt-get", [
        "install",
        "--yes",
        "-o",
        "Dpkg::Options::=--force-confold",
        debs.daemon,
        debs.client,
      ], { env: { DEBIAN_FRONTEND: "noninteractive" }, timeoutMs: 300_000 });
      await assertUpgraded();
      await purgeAndCheck();
    },
  );

  await t.step(
    "upgrade from the single 0.1.0 package: vpp-maglev alone, vpp-maglevd later",
    async () => {
      await installOld(debs.old, { daemonDisabled: true });
      // What `apt upgrade` does: the new vpp-maglev only.
      const r = await mustRun("dpkg", [
        "--force-confold",
        "--install",
        debs.client,
      ]);
      assert.match(r.stderr, /moved\s+to the package vpp-maglevd/);
      assert.match(r.stderr, /apt install vpp-maglevd/);
      // The daemon's files are gone, its configuration is kept.
      assert.ok(!exists(`${UNIT_DIR}/${DAEMON_UNIT}`));
      assert.ok(!exists("/usr/sbin/maglevd"));
      assert.equal(
        Deno.readTextFileSync(DEFAULT_FILE),
        `${OLD_DEFAULT}${ADMIN_EDIT}\n`,
      );
      assert.equal(Deno.readTextFileSync(CONFIG_FILE), OLD_CONFIG);
      await mustRun("dpkg", ["--force-confold", "--install", debs.daemon]);
      // The admin's choice to keep the daemon disabled survives the move.
      await assertUpgraded({ daemonDisabled: true });
      await purgeAndCheck();
    },
  );
}

if (throwawayDebsJson !== undefined) {
  Deno.test({
    name: THROWAWAY_TEST,
    // fetch() keep-alive connections to the daemon are closed by its exit.
    sanitizeResources: false,
    async fn(t) {
      assertInThrowawayRoot();
      await installRunRemovePurge(t, JSON.parse(throwawayDebsJson) as Debs);
    },
  });
}
