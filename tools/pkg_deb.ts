/**
 * `deno task pkg-deb`: the two Debian packages,
 * `dist/vpp-maglev_<version>_<arch>.deb` (the client tools) and
 * `dist/vpp-maglevd_<version>_<arch>.deb` (the daemon, the dashboard, their
 * units and config), split as the original Go tools ship them.
 *
 * ```sh
 * deno run -A tools/pkg_deb.ts [--arch amd64|arm64] [--out-dir DIR] [--deno PATH]
 * ```
 *
 * Built with dpkg-deb alone (no debhelper, no source package): debian/ holds
 * every input (control with one stanza per package, conffiles, maintainer
 * scripts, units, the example config, man pages), tools/bundle.ts writes the
 * program directory, and this file assembles one tree per package, computes
 * what dpkg-gencontrol would (Depends of the Deno binary, ${binary:Version},
 * Installed-Size), writes md5sums and runs `dpkg-deb --build
 * --root-owner-group`. debian/README.md says which file goes where.
 *
 * `--arch` defaults to the build machine's. For another architecture the
 * matching Deno runtime is fetched with `npm pack @deno/linux-<cpu>-glibc@<this
 * Deno's version>`, unless `--deno` names one. Needs dpkg-deb (dpkg), readelf
 * (binutils) and gzip; npm only for a foreign --arch.
 *
 * MAGLEV_COMMIT and MAGLEV_BUILD_DATE are passed to the bundle (see
 * tools/bundle.ts). Every file's timestamp is set to SOURCE_DATE_EPOCH, by
 * default the date of the newest debian/changelog entry: with MAGLEV_COMMIT
 * and MAGLEV_BUILD_DATE fixed, two builds of one tree give the same packages.
 * @module
 */
import { VERSION } from "../src/version.ts";
import {
  absolute,
  buildRelease,
  parseToolArgs,
  PROGRAM_LINKS,
} from "./bundle.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const DEBIAN = `${ROOT}debian`;

/**
 * The source's name: the one debian/changelog is written for, and the name
 * of the program directory and of the documentation the packages share.
 */
export const SOURCE = "vpp-maglev";

/** The client tools' package: the program and the commands people type. */
export const CLIENT = "vpp-maglev";

/** The daemon's package: units, config, account and the daemon's names. */
export const DAEMON = "vpp-maglevd";

/** A package this tool builds. */
export type PackageName = typeof CLIENT | typeof DAEMON;

/** Both packages, in the order they are built and listed. */
export const PACKAGES: readonly PackageName[] = [CLIENT, DAEMON];

/** Where the program directory of tools/bundle.ts is installed (client). */
export const LIB_DIR = `usr/lib/${SOURCE}`;

/** Commands in /usr/bin (client package), each a symlink into LIB_DIR. */
export const BIN_LINKS: readonly string[] = ["maglev", "maglevc", "maglevt"];

/**
 * The original daemon's and dashboard's names, in /usr/sbin as the original
 * had them (daemon package), each a symlink into LIB_DIR.
 */
export const SBIN_LINKS: readonly string[] = ["maglevd", "maglevd-frontend"];

/** Man pages in debian/man/, by package, installed gzipped in section 8. */
export const MAN_PAGES: Readonly<Record<PackageName, readonly string[]>> = {
  [CLIENT]: ["maglev.8", "maglev-ctl.8", "maglev-tester.8"],
  [DAEMON]: ["maglev-daemon.8", "maglev-web.8"],
};

/** The compatibility names' pages: symlinks to the command's page. */
export const MAN_LINKS: Readonly<
  Record<PackageName, Readonly<Record<string, string>>>
> = {
  [CLIENT]: {
    "maglevc.8.gz": "maglev-ctl.8.gz",
    "maglevt.8.gz": "maglev-tester.8.gz",
  },
  [DAEMON]: {
    "maglevd.8.gz": "maglev-daemon.8.gz",
    "maglevd-frontend.8.gz": "maglev-web.8.gz",
  },
};

/**
 * The units (daemon package), installed in /usr/lib/systemd/system under the
 * original's names.
 */
export const UNITS: readonly string[] = [
  "vpp-maglev.service",
  "vpp-maglev-frontend.service",
];

/**
 * Unit aliases shipped as symlinks beside the units: the dashboard's name in
 * the 0.1.0 package. A symlink, unlike Alias= in [Install], works while the
 * unit is not enabled, which is how the package leaves the dashboard.
 */
export const UNIT_ALIASES: Readonly<Record<string, string>> = {
  "vpp-maglev-web.service": "vpp-maglev-frontend.service",
};

/** The maintainer scripts, debian/<package>.<name> → DEBIAN/<name>. */
export const MAINTAINER_SCRIPTS: Readonly<
  Record<PackageName, readonly string[]>
> = {
  [CLIENT]: ["postinst"],
  [DAEMON]: ["postinst", "prerm", "postrm"],
};

/** Architectures the packages are built for, by Debian name. */
export type DebArch = "amd64" | "arm64";

/** Debian architecture → npm package of the Deno runtime and ELF e_machine. */
const ARCHES: Record<DebArch, { npm: string; elfMachine: number }> = {
  amd64: { npm: "@deno/linux-x64-glibc", elfMachine: 62 }, // EM_X86_64
  arm64: { npm: "@deno/linux-arm64-glibc", elfMachine: 183 }, // EM_AARCH64
};

/** A failure with a message for the operator (no stack trace). */
export class PkgError extends Error {}

/** Options of `buildDebs`. */
export interface DebOptions {
  readonly arch: DebArch;
  /** Directory the .debs are written to. */
  readonly outDir: string;
  /** Deno runtime to ship; default: this one, or npm's for a foreign arch. */
  readonly deno?: string;
}

/** The Debian architecture of the machine this runs on. */
export function hostArch(): DebArch | undefined {
  switch (Deno.build.arch) {
    case "x86_64":
      return "amd64";
    case "aarch64":
      return "arm64";
    default:
      return undefined;
  }
}

/** Checks an --arch value. */
export function parseArch(text: string): DebArch {
  if (text === "amd64" || text === "arm64") return text;
  throw new PkgError(`--arch must be amd64 or arm64, not "${text}"`);
}

/** Version and date of the newest debian/changelog entry. */
export interface ChangelogHead {
  readonly package: string;
  readonly version: string;
  /** Seconds since the epoch, from the trailer line. */
  readonly epochSeconds: number;
}

/** Reads the first entry of a Debian changelog. */
export function parseChangelogHead(text: string): ChangelogHead {
  const head = /^(\S+) \(([^)]+)\) [^;]+; urgency=\w+$/m.exec(text);
  const trailer = /^ -- .+ <[^>]+> {2}(.+)$/m.exec(text);
  if (!head || !trailer) {
    throw new PkgError(
      "debian/changelog: the first entry is not in Debian changelog format",
    );
  }
  const ms = Date.parse(trailer[1]);
  if (Number.isNaN(ms)) {
    throw new PkgError(
      `debian/changelog: cannot read the date "${trailer[1]}"`,
    );
  }
  return {
    package: head[1],
    version: head[2],
    epochSeconds: Math.floor(ms / 1000),
  };
}

/** Shared objects the Deno runtime may need → the Debian package with them. */
const LIBC_SONAMES = new Set([
  "libc.so.6",
  "libm.so.6",
  "libdl.so.2",
  "librt.so.1",
  "libpthread.so.0",
  "ld-linux-x86-64.so.2",
  "ld-linux-aarch64.so.1",
]);
const OTHER_SONAMES: Readonly<Record<string, string>> = {
  "libgcc_s.so.1": "libgcc-s1",
};

/** Orders dotted version numbers ("2.27" < "2.34"). */
function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The Depends an ELF binary needs, from `readelf --dynamic` and
 * `readelf --version-info` output: libc6 at the newest GLIBC_ symbol version
 * referenced, plus the package of every other NEEDED library. An unknown
 * library is an error rather than a silently missing dependency.
 */
export function shlibsDepends(dynamic: string, versions: string): string {
  const needed = [
    ...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g),
  ]
    .map((m) => m[1]);
  if (needed.length === 0) {
    throw new PkgError("readelf found no NEEDED libraries in the Deno binary");
  }
  let glibc = "";
  for (const m of versions.matchAll(/Name: GLIBC_([0-9.]+)/g)) {
    if (compareVersions(m[1], glibc || "0") > 0) glibc = m[1];
  }
  const deps: string[] = [];
  if (needed.some((n) => LIBC_SONAMES.has(n))) {
    deps.push(glibc ? `libc6 (>= ${glibc})` : "libc6");
  }
  for (const n of needed) {
    if (LIBC_SONAMES.has(n)) continue;
    const pkg = OTHER_SONAMES[n];
    if (!pkg) {
      throw new PkgError(
        `the Deno binary needs ${n}, whose Debian package tools/pkg_deb.ts does not know: add it to OTHER_SONAMES`,
      );
    }
    if (!deps.includes(pkg)) deps.push(pkg);
  }
  return deps.join(", ");
}

/**
 * Installed-Size in KiB the way dpkg-gencontrol counts it: each regular file
 * rounded up to a KiB, every other entry (directory, symlink) one KiB.
 */
export async function installedSizeKiB(root: string): Promise<number> {
  let total = 0;
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      if (dir === root && e.name === "DEBIAN") continue;
      const p = `${dir}/${e.name}`;
      if (e.isFile) {
        total += Math.ceil((await Deno.lstat(p)).size / 1024);
      } else {
        total += 1;
        if (e.isDirectory) await walk(p);
      }
    }
  };
  await walk(root);
  return total;
}

/** Runs a tool; throws with its stderr, naming the package when missing. */
async function run(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: Record<string, string>; pkg: string },
): Promise<string> {
  let out;
  try {
    out = await new Deno.Command(cmd, {
      args: [...args],
      cwd: opts.cwd,
      env: opts.env,
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new PkgError(
        `${cmd} not found: install the Debian package "${opts.pkg}"`,
      );
    }
    throw e;
  }
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr).trim();
    throw new PkgError(
      `${cmd} ${args.join(" ")} failed (exit ${out.code}): ${stderr || stdout}`,
    );
  }
  return stdout;
}

/** ELF e_machine of a file, or undefined when it is not a 64-bit ELF file. */
async function elfMachine(path: string): Promise<number | undefined> {
  const f = await Deno.open(path);
  try {
    const head = new Uint8Array(20);
    const n = await f.read(head);
    if (
      n !== 20 || head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c ||
      head[3] !== 0x46 || head[4] !== 2
    ) {
      return undefined;
    }
    return new DataView(head.buffer).getUint16(18, head[5] === 1);
  } finally {
    f.close();
  }
}

/**
 * The Deno runtime for `arch`, fetched from npm into `tmp`: the same release
 * as the Deno running this build, so the bundle runs on what it was built by.
 */
async function fetchDeno(arch: DebArch, tmp: string): Promise<string> {
  const spec = `${ARCHES[arch].npm}@${Deno.version.deno}`;
  let tgz;
  try {
    // npm prints the tarball's name last on stdout.
    tgz = (await run("npm", ["pack", "--loglevel=error", spec], {
      cwd: tmp,
      pkg: "npm",
    })).trim().split("\n").pop();
  } catch (e) {
    const why = (e as Error).message.split("\n")
      .filter((l) => /npm (error|ERR!)/.test(l)).slice(0, 3).join("; ");
    throw new PkgError(
      `cannot fetch the ${arch} Deno runtime with "npm pack ${spec}"` +
        (why ? ` (${why})` : `: ${(e as Error).message}`) +
        `. The package must ship the Deno release it was built with; pass --deno with a deno ${Deno.version.deno} binary for ${arch}`,
    );
  }
  if (!tgz?.endsWith(".tgz")) {
    throw new PkgError(`npm pack ${spec} did not name a tarball`);
  }
  await run("tar", ["-xzf", `${tmp}/${tgz}`, "-C", tmp], {
    pkg: "tar",
  });
  const path = `${tmp}/package/deno`;
  await Deno.chmod(path, 0o755);
  return path;
}

/** Copies `from` to `to` (creating its directory) with exactly `mode`. */
async function installFile(
  from: string,
  to: string,
  mode: number,
): Promise<void> {
  await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
  await Deno.copyFile(from, to);
  await Deno.chmod(to, mode);
}

/** gzip -9n: no name or time in the header, so builds are reproducible. */
async function gzipInto(from: string, to: string): Promise<void> {
  await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
  const out = await new Deno.Command("gzip", {
    args: ["-9n", "-c", from],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new PkgError(
      `gzip ${from}: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  await Deno.writeFile(to, out.stdout);
  await Deno.chmod(to, 0o644);
}

/** Every regular file below `root` except DEBIAN/, relative, sorted. */
async function regularFiles(root: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      if (rel === "" && e.name === "DEBIAN") continue;
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory) await walk(`${dir}/${e.name}`, r);
      else if (e.isFile) files.push(r);
    }
  };
  await walk(root, "");
  return files.sort();
}

/** md5sums of every file except the conffiles (dpkg tracks those itself). */
async function md5sums(
  root: string,
  conffiles: readonly string[],
): Promise<string> {
  const files = (await regularFiles(root)).filter((f) =>
    !conffiles.includes(`/${f}`)
  );
  // md5sum is in coreutils (Essential); one call for all files.
  return await run("md5sum", ["--", ...files], {
    cwd: root,
    pkg: "coreutils",
  });
}

/** Directories get 0755 whatever the umask made of them. */
async function fixDirModes(dir: string): Promise<void> {
  await Deno.chmod(dir, 0o755);
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) await fixDirModes(`${dir}/${e.name}`);
  }
}

/**
 * The stanzas of debian/control by package name. Each is a complete binary
 * package stanza (no Source stanza: there is no source package), separated
 * from the next by a blank line.
 */
export function parseControlStanzas(text: string): Map<string, string> {
  const stanzas = new Map<string, string>();
  for (const block of text.split(/\n\s*\n/)) {
    const stanza = block.trim();
    if (stanza === "") continue;
    const name = /^Package: (\S+)$/m.exec(stanza)?.[1];
    if (!name) {
      throw new PkgError("debian/control: a stanza without a Package field");
    }
    if (stanzas.has(name)) {
      throw new PkgError(`debian/control: two stanzas for ${name}`);
    }
    stanzas.set(name, stanza);
  }
  return stanzas;
}

/**
 * A stanza of debian/control made into DEBIAN/control the way
 * dpkg-gencontrol would: substitution variables replaced, and Version,
 * Architecture and Installed-Size put after Package (and Source). Throws
 * when a variable is left that it does not know.
 */
export function binaryControl(
  stanza: string,
  fields: {
    readonly version: string;
    readonly arch: string;
    readonly installedSize: number;
    readonly shlibsDepends?: string;
  },
): string {
  let text = stanza.trim()
    .replaceAll("${binary:Version}", fields.version);
  if (fields.shlibsDepends !== undefined) {
    text = text.replaceAll("${shlibs:Depends}", fields.shlibsDepends);
  }
  const left = /\$\{[^}]*\}/.exec(text);
  if (left) {
    throw new PkgError(
      `debian/control: ${left[0]} is not substituted in the stanza of ${
        /^Package: (\S+)$/m.exec(text)?.[1]
      }`,
    );
  }
  const added =
    `Version: ${fields.version}\nArchitecture: ${fields.arch}\nInstalled-Size: ${fields.installedSize}`;
  text = /^Source: .*$/m.test(text)
    ? text.replace(/^(Source: .*)$/m, `$1\n${added}`)
    : text.replace(/^(Package: .*)$/m, `$1\n${added}`);
  return text + "\n";
}

/** The lines of debian/<pkg>.conffiles, or none when there is no such file. */
async function readConffiles(pkg: PackageName): Promise<string[]> {
  let text;
  try {
    text = await Deno.readTextFile(`${DEBIAN}/${pkg}.conffiles`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

/** True when debian/NAME exists. */
async function inputExists(name: string): Promise<boolean> {
  try {
    await Deno.lstat(`${DEBIAN}/${name}`);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Throws unless every name the program directory answers to (its launcher
 * and PROGRAM_LINKS) is a command of exactly one package, so a name added to
 * tools/bundle.ts is never silently left out of both.
 */
export function checkCommandNames(): void {
  const shipped = [...BIN_LINKS, ...SBIN_LINKS].sort();
  const program = ["maglev", ...PROGRAM_LINKS].sort();
  if (JSON.stringify(shipped) !== JSON.stringify(program)) {
    throw new PkgError(
      `the packages' commands (${
        shipped.join(", ")
      }) are not the program's names (${
        program.join(", ")
      }): put each in BIN_LINKS or SBIN_LINKS`,
    );
  }
}

/** The files both packages carry in /usr/share/doc/<package>. */
async function installDocBasics(root: string, pkg: PackageName) {
  const doc = `${root}/usr/share/doc/${pkg}`;
  await installFile(`${DEBIAN}/copyright`, `${doc}/copyright`, 0o644);
  // A native package (no Debian revision): its changelog is changelog.gz.
  await gzipInto(`${DEBIAN}/changelog`, `${doc}/changelog.gz`);
  return doc;
}

/** Installs the man pages of `pkg` and its compatibility links. */
async function installManPages(root: string, pkg: PackageName): Promise<void> {
  const man = `${root}/usr/share/man/man8`;
  for (const page of MAN_PAGES[pkg]) {
    await gzipInto(`${DEBIAN}/man/${page}`, `${man}/${page}.gz`);
  }
  for (const [link, target] of Object.entries(MAN_LINKS[pkg])) {
    await Deno.symlink(target, `${man}/${link}`);
  }
}

/** The client package's tree: the program and the commands people type. */
async function clientTree(root: string, deno: string): Promise<void> {
  // The release directory, exactly as `deno task bundle` writes it
  // (modes included: never left to the build's umask).
  await Deno.mkdir(`${root}/usr/lib`, { recursive: true });
  await buildRelease({ outDir: `${root}/${LIB_DIR}`, deno });
  // /usr/bin → ../lib/vpp-maglev/NAME: relative, as policy wants within
  // /usr; the launcher resolves its directory with readlink -f and keeps
  // the name it was called by.
  await Deno.mkdir(`${root}/usr/bin`, { recursive: true });
  for (const name of BIN_LINKS) {
    await Deno.symlink(`../lib/${SOURCE}/${name}`, `${root}/usr/bin/${name}`);
  }
  const doc = await installDocBasics(root, CLIENT);
  // The guides, for both packages: the daemon's depends on this one.
  await gzipInto(`${ROOT}README.md`, `${doc}/README.md.gz`);
  for await (const e of Deno.readDir(`${ROOT}docs`)) {
    if (e.isFile && e.name.endsWith(".md")) {
      await gzipInto(`${ROOT}docs/${e.name}`, `${doc}/${e.name}.gz`);
    }
  }
  await installManPages(root, CLIENT);
}

/** The daemon package's tree: units, config and the daemon's names. */
async function daemonTree(root: string): Promise<void> {
  // Same links as the client's, to the program directory vpp-maglev
  // installs: this package depends on exactly its version.
  await Deno.mkdir(`${root}/usr/sbin`, { recursive: true });
  for (const name of SBIN_LINKS) {
    await Deno.symlink(`../lib/${SOURCE}/${name}`, `${root}/usr/sbin/${name}`);
  }
  await installFile(
    `${DEBIAN}/maglev.yaml`,
    `${root}/etc/vpp-maglev/maglev.yaml`,
    0o644,
  );
  await installFile(
    `${DEBIAN}/default`,
    `${root}/etc/default/vpp-maglev`,
    0o644,
  );
  // /usr/lib/systemd/system rather than /lib: lintian accepts both,
  // systemd and deb-systemd-helper search both, and with the merged /usr
  // of bookworm this is where units end up from trixie on, so the package
  // never has to move them (moving files between / and /usr is what
  // DEP 17 warns about).
  const units = `${root}/usr/lib/systemd/system`;
  for (const unit of UNITS) {
    await installFile(`${DEBIAN}/${unit}`, `${units}/${unit}`, 0o644);
  }
  for (const [alias, unit] of Object.entries(UNIT_ALIASES)) {
    await Deno.symlink(unit, `${units}/${alias}`);
  }
  await installDocBasics(root, DAEMON);
  await installManPages(root, DAEMON);
}

/**
 * Makes DEBIAN/ of the tree `root` and builds `<outDir>/<pkg>_<version>_<arch>.deb`
 * from it; returns the path.
 */
async function finishPackage(
  pkg: PackageName,
  root: string,
  opts: {
    readonly arch: DebArch;
    readonly stanza: string;
    readonly shlibsDepends?: string;
    readonly epoch: string;
    readonly outDir: string;
  },
): Promise<string> {
  // Only for the unmodified Deno binary (client) or what else lintian
  // cannot know; each override says why.
  if (await inputExists(`${pkg}.lintian-overrides`)) {
    await installFile(
      `${DEBIAN}/${pkg}.lintian-overrides`,
      `${root}/usr/share/lintian/overrides/${pkg}`,
      0o644,
    );
  }
  await fixDirModes(root);

  const control = `${root}/DEBIAN`;
  await Deno.mkdir(control);
  await Deno.chmod(control, 0o755);
  const conffiles = await readConffiles(pkg);
  for (const c of conffiles) {
    await Deno.lstat(`${root}${c}`).catch(() => {
      throw new PkgError(
        `debian/${pkg}.conffiles names ${c}, which ${pkg} does not contain`,
      );
    });
  }
  if (conffiles.length > 0) {
    await Deno.writeTextFile(
      `${control}/conffiles`,
      conffiles.join("\n") + "\n",
    );
    await Deno.chmod(`${control}/conffiles`, 0o644);
  }
  for (const script of MAINTAINER_SCRIPTS[pkg]) {
    await installFile(
      `${DEBIAN}/${pkg}.${script}`,
      `${control}/${script}`,
      0o755,
    );
  }
  const text = binaryControl(opts.stanza, {
    version: VERSION,
    arch: opts.arch,
    installedSize: await installedSizeKiB(root),
    shlibsDepends: opts.shlibsDepends,
  });
  await Deno.writeTextFile(`${control}/control`, text);
  await Deno.chmod(`${control}/control`, 0o644);
  await Deno.writeTextFile(
    `${control}/md5sums`,
    await md5sums(root, conffiles),
  );
  await Deno.chmod(`${control}/md5sums`, 0o644);

  // Every timestamp the same, links included (dpkg-deb only clamps those
  // newer than SOURCE_DATE_EPOCH), so the archive depends on content alone.
  await run("find", [
    root,
    "-exec",
    "touch",
    "--no-dereference",
    `--date=@${opts.epoch}`,
    "{}",
    "+",
  ], { pkg: "findutils" });

  const deb = `${opts.outDir}/${pkg}_${VERSION}_${opts.arch}.deb`;
  await run("dpkg-deb", ["--root-owner-group", "--build", root, deb], {
    pkg: "dpkg",
    env: { SOURCE_DATE_EPOCH: opts.epoch },
  });
  return deb;
}

/** Builds both .debs; returns their paths in the order of PACKAGES. */
export async function buildDebs(opts: DebOptions): Promise<string[]> {
  const { arch } = opts;
  checkCommandNames();
  const changelogText = await Deno.readTextFile(`${DEBIAN}/changelog`);
  const head = parseChangelogHead(changelogText);
  if (head.package !== SOURCE || head.version !== VERSION) {
    throw new PkgError(
      `debian/changelog starts with ${head.package} ${head.version}, but src/version.ts says ${VERSION}: add a changelog entry for ${SOURCE} (${VERSION}) first`,
    );
  }
  const stanzas = parseControlStanzas(
    await Deno.readTextFile(`${DEBIAN}/control`),
  );
  for (const pkg of PACKAGES) {
    if (!stanzas.has(pkg)) {
      throw new PkgError(`debian/control has no stanza for ${pkg}`);
    }
  }
  if (stanzas.size !== PACKAGES.length) {
    throw new PkgError(
      `debian/control describes ${[...stanzas.keys()].join(", ")}; ` +
        `tools/pkg_deb.ts builds ${PACKAGES.join(", ")}`,
    );
  }
  const clientStanza = stanzas.get(CLIENT) as string;
  if (!clientStanza.includes("${shlibs:Depends}")) {
    throw new PkgError(
      `debian/control: the Depends of ${CLIENT}, which ships the Deno binary, must contain \${shlibs:Depends}`,
    );
  }
  const epoch = Deno.env.get("SOURCE_DATE_EPOCH") ?? String(head.epochSeconds);

  const tmp = await Deno.makeTempDir({ prefix: "maglev-deb-" });
  try {
    let deno = opts.deno ?? (arch === hostArch() ? Deno.execPath() : undefined);
    deno ??= await fetchDeno(arch, tmp);
    const machine = await elfMachine(deno);
    if (machine !== ARCHES[arch].elfMachine) {
      throw new PkgError(
        `${deno} is not a Linux ${arch} executable (ELF machine ${
          machine ?? "none"
        })`,
      );
    }
    const dynamic = await run("readelf", ["--wide", "--dynamic", deno], {
      pkg: "binutils",
    });
    const versions = await run("readelf", ["--wide", "--version-info", deno], {
      pkg: "binutils",
    });

    await Deno.mkdir(opts.outDir, { recursive: true });
    const debs: string[] = [];
    for (const pkg of PACKAGES) {
      const root = `${tmp}/${pkg}`;
      await Deno.mkdir(root);
      if (pkg === CLIENT) await clientTree(root, deno);
      else await daemonTree(root);
      debs.push(
        await finishPackage(pkg, root, {
          arch,
          stanza: stanzas.get(pkg) as string,
          shlibsDepends: pkg === CLIENT
            ? shlibsDepends(dynamic, versions)
            : undefined,
          epoch,
          outDir: opts.outDir,
        }),
      );
    }
    return debs;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

if (import.meta.main) {
  try {
    const args = parseToolArgs(Deno.args, ["arch", "out-dir", "deno"]);
    if (args.help) {
      console.log(
        "Usage: deno task pkg-deb [--arch amd64|arm64] [--out-dir DIR] [--deno PATH]\n\n" +
          `Writes ${
            PACKAGES.map((p) => `DIR/${p}_${VERSION}_<arch>.deb`).join(" and ")
          } (default DIR: dist/)\nand prints their paths, one per line.\n` +
          "--arch: default the build machine's; another one fetches its Deno runtime with npm pack.\n" +
          "--deno: the Deno executable to ship instead.",
      );
      Deno.exit(0);
    }
    const archText = args.values.get("arch") ?? hostArch();
    if (!archText) {
      throw new PkgError(
        `no Debian architecture for ${Deno.build.arch}: pass --arch`,
      );
    }
    const deno = args.values.get("deno");
    const debs = await buildDebs({
      arch: parseArch(archText),
      outDir: absolute(args.values.get("out-dir") ?? `${ROOT}dist`),
      deno: deno ? absolute(deno) : undefined,
    });
    console.log(debs.join("\n"));
  } catch (e) {
    console.error(`pkg-deb: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
