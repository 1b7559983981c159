/**
 * `deno task pkg-deb`: the Debian package, `dist/vpp-maglev_<version>_<arch>.deb`.
 *
 * ```sh
 * deno run -A tools/pkg_deb.ts [--arch amd64|arm64] [--out-dir DIR] [--deno PATH]
 * ```
 *
 * Built with dpkg-deb alone (no debhelper, no source package): debian/ holds
 * every input (control, conffiles, maintainer scripts, units, the example
 * config, man pages), tools/bundle.ts writes the program directory, and this
 * file assembles the tree, computes what dpkg-gencontrol would (Depends of
 * the Deno binary, Installed-Size), writes md5sums and runs
 * `dpkg-deb --build --root-owner-group`.
 *
 * `--arch` defaults to the build machine's. For another architecture the
 * matching Deno runtime is fetched with `npm pack @deno/linux-<cpu>-glibc@<this
 * Deno's version>`, unless `--deno` names one. Needs dpkg-deb (dpkg), readelf
 * (binutils) and gzip; npm only for a foreign --arch.
 *
 * MAGLEV_COMMIT and MAGLEV_BUILD_DATE are passed to the bundle (see
 * tools/bundle.ts). Every file's timestamp is set to SOURCE_DATE_EPOCH, by
 * default the date of the newest debian/changelog entry: with MAGLEV_COMMIT
 * and MAGLEV_BUILD_DATE fixed, two builds of one tree give the same package.
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

/** The Debian package name; also the name of its directories. */
export const PACKAGE = "vpp-maglev";

/** Where the program directory of tools/bundle.ts is installed. */
export const LIB_DIR = `usr/lib/${PACKAGE}`;

/** Architectures the package is built for, by Debian name. */
export type DebArch = "amd64" | "arm64";

/** Debian architecture → npm package of the Deno runtime and ELF e_machine. */
const ARCHES: Record<DebArch, { npm: string; elfMachine: number }> = {
  amd64: { npm: "@deno/linux-x64-glibc", elfMachine: 62 }, // EM_X86_64
  arm64: { npm: "@deno/linux-arm64-glibc", elfMachine: 183 }, // EM_AARCH64
};

/** Names under /usr/sbin, each a symlink into LIB_DIR. */
export const SBIN_LINKS: readonly string[] = ["maglev", ...PROGRAM_LINKS];

/** Man pages in debian/man/, installed gzipped in section 8. */
export const MAN_PAGES: readonly string[] = [
  "maglev.8",
  "maglev-daemon.8",
  "maglev-ctl.8",
  "maglev-web.8",
];

/** The compatibility names' pages: symlinks to the command's page. */
export const MAN_LINKS: Readonly<Record<string, string>> = {
  "maglevd.8.gz": "maglev-daemon.8.gz",
  "maglevc.8.gz": "maglev-ctl.8.gz",
  "maglevd-frontend.8.gz": "maglev-web.8.gz",
};

/** The units, installed in /usr/lib/systemd/system. */
export const UNITS: readonly string[] = [
  "vpp-maglev.service",
  "vpp-maglev-web.service",
];

/** The maintainer scripts in debian/, installed as DEBIAN/<name>. */
export const MAINTAINER_SCRIPTS: readonly string[] = [
  "postinst",
  "prerm",
  "postrm",
];

/** A failure with a message for the operator (no stack trace). */
export class PkgError extends Error {}

/** Options of `buildDeb`. */
export interface DebOptions {
  readonly arch: DebArch;
  /** Directory the .deb is written to. */
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

/** Builds the .deb; returns its path. */
export async function buildDeb(opts: DebOptions): Promise<string> {
  const { arch } = opts;
  const changelogText = await Deno.readTextFile(`${DEBIAN}/changelog`);
  const head = parseChangelogHead(changelogText);
  if (head.package !== PACKAGE || head.version !== VERSION) {
    throw new PkgError(
      `debian/changelog starts with ${head.package} ${head.version}, but src/version.ts says ${VERSION}: add a changelog entry for ${PACKAGE} (${VERSION}) first`,
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

    const root = `${tmp}/root`;
    const lib = `${root}/${LIB_DIR}`;
    await Deno.mkdir(`${root}/usr/lib`, { recursive: true });
    // The release directory, exactly as `deno task bundle` writes it
    // (modes included: never left to the build's umask).
    await buildRelease({ outDir: lib, deno });

    // /usr/sbin → ../lib/vpp-maglev/NAME: relative, as policy wants within
    // /usr; the launcher resolves its directory with readlink -f and keeps
    // the name it was called by.
    await Deno.mkdir(`${root}/usr/sbin`, { recursive: true });
    for (const name of SBIN_LINKS) {
      await Deno.symlink(
        `../lib/${PACKAGE}/${name}`,
        `${root}/usr/sbin/${name}`,
      );
    }

    await installFile(
      `${DEBIAN}/maglev.yaml`,
      `${root}/etc/${PACKAGE}/maglev.yaml`,
      0o644,
    );
    await installFile(
      `${DEBIAN}/default`,
      `${root}/etc/default/${PACKAGE}`,
      0o644,
    );
    // /usr/lib/systemd/system rather than /lib: lintian accepts both,
    // systemd and deb-systemd-helper search both, and with the merged /usr
    // of bookworm this is where units end up from trixie on, so the package
    // never has to move them (moving files between / and /usr is what
    // DEP 17 warns about).
    for (const unit of UNITS) {
      await installFile(
        `${DEBIAN}/${unit}`,
        `${root}/usr/lib/systemd/system/${unit}`,
        0o644,
      );
    }

    const doc = `${root}/usr/share/doc/${PACKAGE}`;
    await installFile(`${DEBIAN}/copyright`, `${doc}/copyright`, 0o644);
    // A native package (no Debian revision): its changelog is changelog.gz.
    await gzipInto(`${DEBIAN}/changelog`, `${doc}/changelog.gz`);
    await gzipInto(`${ROOT}README.md`, `${doc}/README.md.gz`);
    for await (const e of Deno.readDir(`${ROOT}docs`)) {
      if (e.isFile && e.name.endsWith(".md")) {
        await gzipInto(`${ROOT}docs/${e.name}`, `${doc}/${e.name}.gz`);
      }
    }

    // Only for the unmodified Deno binary; each override says why.
    await installFile(
      `${DEBIAN}/${PACKAGE}.lintian-overrides`,
      `${root}/usr/share/lintian/overrides/${PACKAGE}`,
      0o644,
    );

    const man = `${root}/usr/share/man/man8`;
    for (const page of MAN_PAGES) {
      await gzipInto(`${DEBIAN}/man/${page}`, `${man}/${page}.gz`);
    }
    for (const [link, target] of Object.entries(MAN_LINKS)) {
      await Deno.symlink(target, `${man}/${link}`);
    }

    await fixDirModes(root);

    const control = `${root}/DEBIAN`;
    await Deno.mkdir(control);
    await Deno.chmod(control, 0o755);
    const conffiles = (await Deno.readTextFile(`${DEBIAN}/conffiles`))
      .split("\n").map((l) => l.trim()).filter((l) => l !== "");
    for (const c of conffiles) {
      await Deno.lstat(`${root}${c}`).catch(() => {
        throw new PkgError(
          `debian/conffiles names ${c}, which is not packaged`,
        );
      });
    }
    await Deno.writeTextFile(
      `${control}/conffiles`,
      conffiles.join("\n") + "\n",
    );
    for (const script of MAINTAINER_SCRIPTS) {
      await installFile(`${DEBIAN}/${script}`, `${control}/${script}`, 0o755);
    }
    const dynamic = await run("readelf", ["--wide", "--dynamic", deno], {
      pkg: "binutils",
    });
    const versions = await run("readelf", ["--wide", "--version-info", deno], {
      pkg: "binutils",
    });
    const fields = await Deno.readTextFile(`${DEBIAN}/control`);
    if (!fields.includes("${shlibs:Depends}")) {
      throw new PkgError(
        "debian/control: Depends must contain ${shlibs:Depends}",
      );
    }
    const size = await installedSizeKiB(root);
    // Version, Architecture and Installed-Size go after Package, where
    // dpkg-gencontrol puts them.
    const text = fields.trimEnd()
      .replace("${shlibs:Depends}", shlibsDepends(dynamic, versions))
      .replace(
        /^(Package: .*)$/m,
        `$1\nVersion: ${VERSION}\nArchitecture: ${arch}\nInstalled-Size: ${size}`,
      ) + "\n";
    await Deno.writeTextFile(`${control}/control`, text);
    await Deno.chmod(`${control}/control`, 0o644);
    await Deno.writeTextFile(
      `${control}/md5sums`,
      await md5sums(root, conffiles),
    );
    await Deno.chmod(`${control}/md5sums`, 0o644);
    await Deno.chmod(`${control}/conffiles`, 0o644);

    // Every timestamp the same, links included (dpkg-deb only clamps those
    // newer than SOURCE_DATE_EPOCH), so the archive depends on content alone.
    await run("find", [
      root,
      "-exec",
      "touch",
      "--no-dereference",
      `--date=@${epoch}`,
      "{}",
      "+",
    ], { pkg: "findutils" });

    await Deno.mkdir(opts.outDir, { recursive: true });
    const deb = `${opts.outDir}/${PACKAGE}_${VERSION}_${arch}.deb`;
    await run("dpkg-deb", ["--root-owner-group", "--build", root, deb], {
      pkg: "dpkg",
      env: { SOURCE_DATE_EPOCH: epoch },
    });
    return deb;
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
          `Writes DIR/${PACKAGE}_${VERSION}_<arch>.deb (default DIR: dist/).\n` +
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
    const deb = await buildDeb({
      arch: parseArch(archText),
      outDir: absolute(args.values.get("out-dir") ?? `${ROOT}dist`),
      deno: deno ? absolute(deno) : undefined,
    });
    console.log(deb);
  } catch (e) {
    console.error(`pkg-deb: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
