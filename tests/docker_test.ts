/**
 * Keeps ./Dockerfile, .dockerignore and deploy/compose.yaml true to the
 * program.
 *
 * Where a Docker engine answers (`docker info`), the image is built and
 * `maglev version` and `maglev daemon --check` run in it. Most machines that
 * run this suite (CI included) have no engine, and there the tests are a
 * lint and are named so: dockerfile-utils (the validator behind the VS Code
 * Docker extension; hadolint is neither on npm nor in Debian 12) checks the
 * syntax, and the structural rules below check what a build or a container
 * start would only reveal much later — unpinned bases, a root USER, shell-form
 * ENTRYPOINT, a COPY of something .dockerignore leaves out, flags the program
 * does not know, a config the daemon refuses.
 */
import assert from "node:assert/strict";
import { validate } from "dockerfile-utils";
import { parse } from "yaml";
import { parseHostPort } from "../src/cli/addr.ts";
import { parseCommand } from "../src/ctl/parse.ts";
import type { FlagSpec } from "../src/cli/flags.ts";
import { CTL_FLAGS } from "../src/ctl/mod.ts";
import { DAEMON_FLAGS } from "../src/daemon/flags.ts";
import { parseWebOptions, WEB_FLAGS } from "../src/web/flags.ts";
import { PROGRAM_LINKS, RELEASE_LAYOUT } from "../tools/bundle.ts";
import { MAGLEV_ROOT, runMaglev } from "./helpers/maglev.ts";

const ROOT = MAGLEV_ROOT;
const DOCKERFILE = await Deno.readTextFile(`${ROOT}Dockerfile`);
const DOCKERIGNORE = await Deno.readTextFile(`${ROOT}.dockerignore`);
const COMPOSE_PATH = "deploy/compose.yaml";
const COMPOSE_TEXT = await Deno.readTextFile(`${ROOT}${COMPOSE_PATH}`);
const BUNDLE_SOURCE = await Deno.readTextFile(`${ROOT}tools/bundle.ts`);
/** Where the Dockerfile puts the release directory of tools/bundle.ts. */
const RELEASE_DIR = "/usr/lib/vpp-maglev";

// ---------------------------------------------------------------- parsing

/** One Dockerfile instruction, continuation lines joined. */
interface Instruction {
  readonly keyword: string;
  readonly args: string;
  /** 1-based line where it starts, for messages. */
  readonly line: number;
}

/** One build stage: its FROM and what follows until the next FROM. */
interface Stage {
  readonly image: string;
  readonly name?: string;
  readonly from: Instruction;
  readonly body: readonly Instruction[];
}

/**
 * Splits a Dockerfile into instructions the way the builder does: `\` at the
 * end of a line continues it, and comment lines inside a continuation are
 * dropped. (The escape directive is not used here; the lint refuses it.)
 */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split("\n");
  let current: { parts: string[]; line: number } | undefined;
  lines.forEach((raw, i) => {
    const line = raw.trimEnd();
    if (current === undefined) {
      if (line.trim() === "" || line.trimStart().startsWith("#")) return;
      current = { parts: [], line: i + 1 };
    } else if (line.trimStart().startsWith("#")) {
      return;
    }
    const continued = line.endsWith("\\");
    current.parts.push(continued ? line.slice(0, -1) : line);
    if (!continued) {
      const joined = current.parts.join(" ").trim();
      const m = /^(\S+)\s*([\s\S]*)$/.exec(joined);
      assert.ok(m, `line ${current.line}: cannot parse "${joined}"`);
      out.push({
        keyword: m[1].toUpperCase(),
        args: m[2].trim(),
        line: current.line,
      });
      current = undefined;
    }
  });
  assert.equal(current, undefined, "the Dockerfile ends inside a continuation");
  return out;
}

function stages(all: readonly Instruction[]): Stage[] {
  const out: Stage[] = [];
  let body: Instruction[] = [];
  for (const ins of all) {
    if (ins.keyword === "FROM") {
      const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      assert.ok(m, `line ${ins.line}: cannot parse FROM ${ins.args}`);
      body = [];
      out.push({ image: m[1], name: m[2], from: ins, body });
    } else {
      assert.ok(out.length > 0, `line ${ins.line}: ${ins.keyword} before FROM`);
      body.push(ins);
    }
  }
  return out;
}

/** `--name=value` flags at the start of COPY/HEALTHCHECK arguments, and the rest. */
function splitFlags(
  args: string,
): { flags: Map<string, string>; rest: string } {
  const flags = new Map<string, string>();
  let rest = args;
  for (;;) {
    const m = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest);
    if (!m) break;
    flags.set(m[1], m[2] ?? "true");
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

/** The JSON (exec) form of an instruction's arguments, or undefined for shell form. */
function execForm(args: string): string[] | undefined {
  if (!args.startsWith("[")) return undefined;
  try {
    const v: unknown = JSON.parse(args);
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) {
      return v as string[];
    }
  } catch {
    // Looks like JSON but is not: the builder would run it as a shell string.
  }
  return undefined;
}

const ALL = instructions(DOCKERFILE);
const STAGES = stages(ALL);
const FINAL = STAGES[STAGES.length - 1];

/** The environment the runtime stage's ENV instructions set (`KEY=value` form). */
function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of FINAL.body.filter((i) => i.keyword === "ENV")) {
    const pairs = [...ins.args.matchAll(/(\w+)=("[^"]*"|\S*)/g)];
    assert.ok(pairs.length > 0, `line ${ins.line}: write ENV KEY=value`);
    for (const [, key, value] of pairs) env[key] = value.replace(/^"|"$/g, "");
  }
  return env;
}

function only(stage: Stage, keyword: string): Instruction {
  const found = stage.body.filter((i) => i.keyword === keyword);
  assert.equal(
    found.length,
    1,
    `expected exactly one ${keyword} in the stage FROM ${stage.image}`,
  );
  return found[0];
}

// ---------------------------------------------------------- .dockerignore

/**
 * The .dockerignore rules as the builder applies them: the last matching
 * rule wins, `!` re-includes, a rule that matches a directory covers
 * everything below it, `*` and `?` stay within one path element and `**`
 * spans any number.
 */
function ignoreRules(text: string): { re: RegExp; include: boolean }[] {
  return text.split("\n").map((l) => l.trim()).filter((l) =>
    l !== "" && !l.startsWith("#")
  ).map((l) => {
    const include = l.startsWith("!");
    const pattern = (include ? l.slice(1) : l).replace(/^\/+/, "")
      .replace(/\/+$/, "");
    let re = "";
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i];
      if (c === "*" && pattern[i + 1] === "*") {
        re += pattern[i + 2] === "/" ? "(?:.*/)?" : ".*";
        i += pattern[i + 2] === "/" ? 2 : 1;
      } else if (c === "*") re += "[^/]*";
      else if (c === "?") re += "[^/]";
      else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
    }
    return { re: new RegExp(`^${re}$`), include };
  });
}

const IGNORE = ignoreRules(DOCKERIGNORE);

/** Whether `path` (relative to the repository root) is left out of the build context. */
function ignored(path: string): boolean {
  const parts = path.replace(/^\.\//, "").split("/");
  let out = false;
  for (const rule of IGNORE) {
    for (let n = 1; n <= parts.length; n++) {
      if (rule.re.test(parts.slice(0, n).join("/"))) {
        out = !rule.include;
        break;
      }
    }
  }
  return out;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Local files in the module graph of `entry` (repository-relative). */
async function localModules(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(
    out.success,
    `deno info ${entry}: ${new TextDecoder().decode(out.stderr)}`,
  );
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  const root = new URL(ROOT, "file:///").href;
  return info.modules.map((m) => m.specifier)
    .filter((s) => s.startsWith(root))
    .map((s) => decodeURIComponent(s.slice(root.length)));
}

// ------------------------------------------------------------- the program

/** Each command's flag table: what its --help prints, without running it. */
const FLAG_TABLES: Record<"daemon" | "ctl" | "web", readonly FlagSpec[]> = {
  daemon: DAEMON_FLAGS,
  ctl: CTL_FLAGS,
  web: WEB_FLAGS,
};

/** The `--flags` of `maglev <command>`. */
function helpFlags(command: keyof typeof FLAG_TABLES): Set<string> {
  return new Set(FLAG_TABLES[command].map((f) => `--${f.name}`));
}

/** The `MAGLEV_*` variables `maglev <command>` reads (its --help names them). */
function helpEnv(command: keyof typeof FLAG_TABLES): Set<string> {
  return new Set(
    FLAG_TABLES[command].flatMap((f) => [
      ...(f.env ? [f.env] : []),
      ...f.help.match(/\bMAGLEV_[A-Z_]+/g) ?? [],
    ]),
  );
}

/** Each `--flag` (or `-flag`) in a command line, without its value. */
function flagsIn(args: readonly string[]): string[] {
  return args.filter((a) => /^--?[a-z]/.test(a)).map((a) =>
    `--${a.replace(/^--?/, "").replace(/=.*$/, "")}`
  );
}

/** The value given to `--name` in an argument list. */
function flagValue(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === `--${name}` || a === `-${name}`) return args[i + 1];
    const m = new RegExp(`^--?${name}=(.*)$`).exec(a);
    if (m) return m[1];
  }
  return undefined;
}

function port(addr: string): number {
  return parseHostPort(addr).port;
}

function defaultOf(
  flags: readonly { name: string; default?: string | boolean }[],
  name: string,
): string {
  const f = flags.find((x) => x.name === name);
  assert.ok(f && typeof f.default === "string", `no default for --${name}`);
  return f.default;
}

/**
 * `maglev daemon --check` on an argument list meant for the container, with
 * the container's `MAGLEV_*` environment (it decides --vpp, and with it
 * whether GRE source addresses are required) and `--config` pointed at the
 * repository file that ends up at that path.
 */
async function checkDaemonArgs(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  repoFileFor: (containerPath: string) => string | undefined,
  what: string,
): Promise<void> {
  assert.equal(args[0], "daemon", `${what}: not a daemon command`);
  const config = flagValue(args, "config");
  assert.ok(config, `${what}: no --config`);
  const local = repoFileFor(config);
  assert.ok(local, `${what}: nothing in the repository becomes ${config}`);
  const rest = args.slice(1).map((a) => a === config ? `${ROOT}${local}` : a);
  const maglevEnv = Object.fromEntries(
    Object.entries(env).filter(([k]) => k.startsWith("MAGLEV_")),
  );
  const r = await runMaglev(["daemon", "--check", ...rest], maglevEnv);
  assert.equal(
    r.code,
    0,
    `${what}: ${JSON.stringify(maglevEnv)} maglev daemon --check ${
      rest.join(" ")
    }\n${r.stdout}${r.stderr}`,
  );
  for (const name of ["grpc-addr", "metrics-addr"]) {
    const v = flagValue(args, name);
    if (v) parseHostPort(v);
  }
}

// ------------------------------------------------------------- the engine

async function engineAnswers(): Promise<boolean> {
  try {
    const r = await new Deno.Command("docker", {
      args: ["info", "--format", "{{.ServerVersion}}"],
      stdout: "null",
      stderr: "null",
    }).output();
    return r.success;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function docker(...args: string[]): Promise<string> {
  const r = await new Deno.Command("docker", {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assert.ok(
    r.success,
    `docker ${args.join(" ")} failed:\n${dec.decode(r.stderr)}`,
  );
  return dec.decode(r.stdout);
}

// Without an engine (the usual case in CI) Deno reports this test as
// ignored, not passed; the lint tests below still run.
Deno.test({
  name:
    "docker: the image builds, and maglev version and daemon --check run in it",
  ignore: !(await engineAnswers()),
  async fn() {
    const tag = `vpp-maglev-test:${Date.now()}`;
    await docker("build", "--build-arg", "MAGLEV_COMMIT=test", "-t", tag, ".");
    try {
      const version = await docker("run", "--rm", tag, "version");
      assert.match(version, /^maglev \S+ \(commit test, built /);
      const check = await docker(
        "run",
        "--rm",
        tag,
        "daemon",
        "--check",
        "--config",
        "/etc/vpp-maglev/maglev.yaml",
      );
      assert.match(check, /: OK \(/);
      const user = await docker(
        "run",
        "--rm",
        "--entrypoint",
        "id",
        tag,
        "-u",
      );
      assert.notEqual(user.trim(), "0", "the image runs as root");
    } finally {
      await docker("rmi", tag).catch(() => {});
    }
  },
});

// ------------------------------------------------------- Dockerfile lint

Deno.test("Dockerfile lint: dockerfile-utils finds no problem", () => {
  const problems = validate(DOCKERFILE).map((d) =>
    `line ${d.range.start.line + 1}: ${d.message}`
  );
  assert.deepEqual(problems, []);
  assert.ok(
    !/^#\s*escape\s*=/im.test(DOCKERFILE),
    "the escape directive is not supported by this lint",
  );
});

Deno.test("Dockerfile lint: every base image is pinned, and all are Debian 12", () => {
  const names = new Set<string>();
  for (const s of STAGES) {
    if (s.name) names.add(s.name.toLowerCase());
  }
  for (const s of STAGES) {
    const at = `line ${s.from.line}: FROM ${s.image}`;
    assert.ok(!s.image.includes("$"), `${at}: write the image literally`);
    if (names.has(s.image.toLowerCase())) continue;
    const [ref, digest] = s.image.split("@");
    const slash = ref.lastIndexOf("/");
    const colon = ref.lastIndexOf(":");
    const tag = colon > slash ? ref.slice(colon + 1) : undefined;
    assert.ok(tag !== undefined || digest, `${at}: no tag or digest`);
    assert.notEqual(tag, "latest", `${at}: "latest" is not a pin`);
    // The Deno binary is copied from the build stage into the runtime
    // stage: both must carry the same glibc, i.e. the same Debian release.
    assert.match(
      tag ?? "",
      /(^|-)(bookworm|12)(-|$|\.)/,
      `${at}: not a Debian 12 (bookworm) image`,
    );
  }
});

Deno.test("Dockerfile lint: no ADD, and apt-get installs lean and cleans up", () => {
  for (const ins of ALL) {
    assert.notEqual(
      ins.keyword,
      "ADD",
      `line ${ins.line}: use COPY (ADD fetches URLs and unpacks archives)`,
    );
    if (ins.keyword !== "RUN" || !/apt-get\s+install/.test(ins.args)) continue;
    const at = `line ${ins.line}`;
    assert.match(ins.args, /apt-get\s+update/, `${at}: update in the same RUN`);
    assert.match(ins.args, /--no-install-recommends/, `${at}: recommends`);
    assert.match(ins.args, /apt-get\s+install\s+(\S+\s+)*-y\b/, `${at}: -y`);
    assert.match(
      ins.args,
      /rm -rf \/var\/lib\/apt\/lists\/\*/,
      `${at}: remove /var/lib/apt/lists/* in the same RUN`,
    );
  }
});

Deno.test("Dockerfile lint: the Deno version is the one running these tests", () => {
  const arg = /^DENO_VERSION=(\S+)$/m.exec(
    ALL.filter((i) => i.keyword === "ARG").map((i) => i.args).join("\n"),
  );
  assert.ok(arg, "no ARG DENO_VERSION=…");
  assert.equal(
    arg[1],
    Deno.version.deno,
    "ARG DENO_VERSION differs from the Deno running the tests (and .ci/run)",
  );
  const install = STAGES[0].body.find((i) =>
    i.keyword === "RUN" && /npm install -g/.test(i.args)
  );
  assert.ok(install, "the build stage does not install Deno with npm");
  assert.match(install.args, /"?deno@\$\{DENO_VERSION\}"?/);
});

Deno.test("Dockerfile lint: the runtime stage runs maglev as a non-root user, in exec form", () => {
  const body = FINAL.body;
  const user = body.filter((i) => i.keyword === "USER").at(-1);
  assert.ok(user, "the final stage has no USER");
  assert.ok(
    !["root", "0"].includes(user.args.split(":")[0]),
    `line ${user.line}: USER ${user.args} is root`,
  );
  const entrypoint = only(FINAL, "ENTRYPOINT");
  assert.ok(
    body.indexOf(user) < body.indexOf(entrypoint),
    "USER must come before ENTRYPOINT",
  );
  assert.deepEqual(
    execForm(entrypoint.args),
    ["/usr/local/bin/maglev"],
    `line ${entrypoint.line}: ENTRYPOINT must be ["/usr/local/bin/maglev"] (exec form: signals reach maglev)`,
  );
  const cmd = only(FINAL, "CMD");
  assert.ok(execForm(cmd.args), `line ${cmd.line}: CMD is not in exec form`);
  // The user the image names must be created in it (useradd's last word).
  const created = body.flatMap((i) =>
    i.keyword === "RUN"
      ? [...i.args.matchAll(/useradd\b[^&;]*\s(\S+)\s*(?:&&|;|$)/g)]
        .map((m) => m[1])
      : []
  );
  assert.ok(
    created.includes(user.args.split(":")[0]),
    `no RUN useradd creates ${user.args} (created: ${created.join(", ")})`,
  );
});

Deno.test("Dockerfile lint: the entrypoint and the original tools' names are links to the release directory", () => {
  const copy = FINAL.body.find((i) =>
    i.keyword === "COPY" && splitFlags(i.args).flags.has("from")
  );
  assert.ok(copy, "the runtime stage copies nothing from the build stage");
  const [src, dest] = splitFlags(copy.args).rest.split(/\s+/);
  // The build stage must write exactly what is copied: tools/bundle.ts's
  // release directory (launcher, runtime, maglev.js, links).
  const bundle = STAGES[0].body.find((i) =>
    i.keyword === "RUN" && /tools\/bundle\.ts/.test(i.args)
  );
  assert.ok(bundle, "the build stage does not run tools/bundle.ts");
  const outDir = /--out-dir[ =](\S+)/.exec(bundle.args)?.[1];
  assert.ok(outDir, "tools/bundle.ts runs without --out-dir");
  assert.equal(src.replace(/\/$/, ""), outDir, "COPY --from source");
  assert.match(BUNDLE_SOURCE, /"out-dir"/, "tools/bundle.ts has no --out-dir");
  assert.equal(dest.replace(/\/$/, ""), RELEASE_DIR, "COPY --from destination");

  const links = FINAL.body.filter((i) => i.keyword === "RUN").map((i) => i.args)
    .join("\n");
  const dir = dest.replace(/\/$/, "");
  assert.match(
    links,
    new RegExp(`ln -s ${dir}/maglev /usr/local/bin/maglev\\b`),
    "no /usr/local/bin/maglev link to the launcher",
  );
  const loop =
    /for name in ([^;]+);\s*do\s+ln -s maglev "\/usr\/local\/bin\/\$\{name\}"/
      .exec(links);
  assert.ok(loop, "no links for the original tools' names");
  assert.deepEqual(
    loop[1].trim().split(/\s+/),
    [...PROGRAM_LINKS],
    "the links in /usr/local/bin differ from tools/bundle.ts PROGRAM_LINKS",
  );
});

Deno.test("Dockerfile lint: everything COPY takes from the context is there and not in .dockerignore", async () => {
  for (const stage of STAGES) {
    for (const ins of stage.body.filter((i) => i.keyword === "COPY")) {
      const { flags, rest } = splitFlags(ins.args);
      if (flags.has("from")) continue;
      const words = execForm(rest) ?? rest.split(/\s+/);
      for (const src of words.slice(0, -1)) {
        const at = `line ${ins.line}: COPY ${src}`;
        assert.ok(!/[*?[]/.test(src), `${at}: this lint does not expand globs`);
        assert.ok(await exists(`${ROOT}${src}`), `${at}: no such file`);
        if (src !== ".") {
          assert.ok(!ignored(src), `${at}: excluded by .dockerignore`);
        }
      }
    }
  }
  // `COPY . .` hands the build the whole context: every module the bundle
  // and the dashboard build load must be in it. The dashboard's generated
  // assets are the exception: tools/bundle.ts writes them first.
  const generated = new Set(["src/web/_assets.gen.ts"]);
  const needed = new Set<string>([
    "deno.json",
    "deno.lock",
    "web/app.css",
    ...await localModules("src/main.ts"),
    ...await localModules("tools/bundle.ts"),
    ...await localModules("tools/web_build.ts"),
    ...await localModules("web/main.tsx"),
  ]);
  const missing = [...needed].filter((p) => !generated.has(p) && ignored(p));
  assert.deepEqual(
    missing,
    [],
    "needed by the build, excluded by .dockerignore",
  );
  // And what must never be sent: host builds and the repository itself.
  for (const p of ["node_modules/x", ".git/HEAD", "dist/maglev/deno"]) {
    assert.ok(ignored(p), `.dockerignore lets ${p} into the build context`);
  }
});

/** Where a file of the repository ends up in the image, by COPY. */
function copiedTo(containerPath: string): string | undefined {
  for (const ins of FINAL.body.filter((i) => i.keyword === "COPY")) {
    const { flags, rest } = splitFlags(ins.args);
    if (flags.has("from")) continue;
    const words = execForm(rest) ?? rest.split(/\s+/);
    if (words.length === 2 && words[1] === containerPath) return words[0];
  }
  return undefined;
}

Deno.test("Dockerfile lint: CMD is a daemon command line the program accepts, with a valid config", async () => {
  const cmd = execForm(only(FINAL, "CMD").args);
  assert.ok(cmd, "CMD is not in exec form");
  const known = helpFlags("daemon");
  for (const f of flagsIn(cmd)) {
    assert.ok(known.has(f), `CMD uses ${f}, which maglev daemon --help lacks`);
  }
  await checkDaemonArgs(cmd, imageEnv(), copiedTo, "CMD");
  // As the Debian package: a container started without asking for VPP
  // never touches it (a full sync deletes VIPs the config does not claim).
  assert.equal(imageEnv().MAGLEV_VPP, "false", "ENV MAGLEV_VPP=false");
});

Deno.test("Dockerfile lint: EXPOSE lists the default ports of daemon and web", () => {
  const exposed = FINAL.body.filter((i) => i.keyword === "EXPOSE")
    .flatMap((i) => i.args.split(/\s+/)).map((p) => Number(p.split("/")[0]))
    .sort();
  const defaults = [
    port(defaultOf(DAEMON_FLAGS, "grpc-addr")),
    port(defaultOf(DAEMON_FLAGS, "metrics-addr")),
    port(defaultOf(WEB_FLAGS, "listen")),
  ].sort();
  assert.deepEqual(
    exposed,
    defaults,
    "EXPOSE differs from the default --grpc-addr, --metrics-addr and web --listen ports",
  );
});

Deno.test("Dockerfile lint: HEALTHCHECK runs a real maglev ctl command in exec form", () => {
  const hc = only(FINAL, "HEALTHCHECK");
  const { rest } = splitFlags(hc.args);
  assert.match(rest, /^CMD\s+\[/, `line ${hc.line}: HEALTHCHECK CMD [...]`);
  const argv = execForm(rest.replace(/^CMD\s+/, ""));
  assert.ok(argv, `line ${hc.line}: HEALTHCHECK CMD is not in exec form`);
  assert.deepEqual(argv.slice(0, 2), ["/usr/local/bin/maglev", "ctl"]);
  const words = argv.slice(2).filter((w) => !w.startsWith("-"));
  assert.ok(parseCommand(words), `not a ctl command: ${words.join(" ")}`);
});

// ---------------------------------------------------------- compose lint

type Json = { [key: string]: unknown };

function obj(value: unknown, what: string): Json {
  assert.ok(
    typeof value === "object" && value !== null && !Array.isArray(value),
    `${COMPOSE_PATH}: ${what} is not a mapping`,
  );
  return value as Json;
}

function strings(value: unknown, what: string): string[] {
  assert.ok(
    Array.isArray(value) && value.every((x) => typeof x === "string"),
    `${COMPOSE_PATH}: ${what} is not a list of strings (use the list form: no shell)`,
  );
  return value as string[];
}

const COMPOSE = obj(parse(COMPOSE_TEXT), "the document");
const SERVICES = obj(COMPOSE.services, "services");
const DAEMON = obj(SERVICES.maglev, "services.maglev");
const WEB = obj(SERVICES["maglev-web"], "services.maglev-web");

/** Host path (repository-relative) of a bind mount onto `target`, if any. */
function mountedFrom(service: Json, target: string): string | undefined {
  for (const v of (service.volumes ?? []) as unknown[]) {
    let source: string | undefined;
    let to: string | undefined;
    if (typeof v === "string") [source, to] = v.split(":");
    else {
      const m = obj(v, "a volume");
      source = m.source as string;
      to = m.target as string;
    }
    if (to === target && source?.startsWith(".")) {
      return new URL(source, `file://${ROOT}deploy/`).pathname.slice(
        ROOT.length,
      );
    }
  }
  return undefined;
}

Deno.test("compose lint: both services build this Dockerfile into one image", async () => {
  for (const [name, s] of [["maglev", DAEMON], ["maglev-web", WEB]] as const) {
    const build = obj(s.build, `services.${name}.build`);
    const context = new URL(`${build.context}/`, `file://${ROOT}deploy/`)
      .pathname;
    assert.equal(context, ROOT, `services.${name}.build.context`);
    assert.equal(
      build.dockerfile,
      "Dockerfile",
      `services.${name}.build.dockerfile`,
    );
    assert.ok(await exists(`${context}Dockerfile`));
    assert.equal(
      s.image,
      DAEMON.image,
      `services.${name}.image: both services run the image built here`,
    );
  }
});

Deno.test("compose lint: the daemon's command, environment and mounts fit the program", async () => {
  const command = strings(DAEMON.command, "services.maglev.command");
  const known = helpFlags("daemon");
  for (const f of flagsIn(command)) {
    assert.ok(known.has(f), `maglev command uses ${f}, unknown to the daemon`);
  }
  const env = obj(DAEMON.environment, "services.maglev.environment");
  await checkDaemonArgs(
    command,
    {
      ...imageEnv(),
      ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, `${v}`])),
    },
    (p) => mountedFrom(DAEMON, p),
    "services.maglev.command",
  );
  // Variables the daemon (or ctl, for the HEALTHCHECK and `exec`) reads.
  const envNames = new Set([
    ...helpEnv("daemon"),
    ...helpEnv("ctl"),
  ]);
  for (const key of Object.keys(env).filter((k) => k.startsWith("MAGLEV_"))) {
    assert.ok(envNames.has(key), `services.maglev.environment.${key}: unknown`);
  }
  // The HEALTHCHECK asks MAGLEV_SERVER: it must be where the API listens.
  const grpc = flagValue(command, "grpc-addr") ??
    defaultOf(DAEMON_FLAGS, "grpc-addr");
  assert.equal(
    port(String(env.MAGLEV_SERVER)),
    port(grpc),
    `MAGLEV_SERVER ${env.MAGLEV_SERVER} is not the daemon's --grpc-addr ${grpc}`,
  );
  // The library path lies in a mounted directory.
  const lib = String(env.MAGLEV_VPP_LIB);
  const libDir = lib.slice(0, lib.lastIndexOf("/"));
  assert.ok(
    ((DAEMON.volumes ?? []) as unknown[]).some((v) =>
      typeof v === "string" && v.split(":")[1] === libDir
    ),
    `MAGLEV_VPP_LIB ${lib}: ${libDir} is not mounted`,
  );
  assert.equal(DAEMON.network_mode, "host");
  assert.equal(
    DAEMON.ipc,
    "host",
    "VPP's API segment is in the host's /dev/shm",
  );
  assert.deepEqual(DAEMON.cap_drop, ["ALL"]);
  assert.deepEqual(
    [...strings(DAEMON.cap_add, "cap_add")].sort(),
    ["NET_RAW", "SYS_ADMIN"],
  );
});

Deno.test("compose lint: the dashboard's command fits maglev web and reaches the daemon", () => {
  const command = strings(WEB.command, "services.maglev-web.command");
  assert.equal(command[0], "web");
  const known = helpFlags("web");
  for (const f of flagsIn(command)) {
    assert.ok(known.has(f), `maglev-web command uses ${f}, unknown to web`);
  }
  const options = parseWebOptions(command.slice(1), {});
  const grpc = flagValue(strings(DAEMON.command, "command"), "grpc-addr") ??
    defaultOf(DAEMON_FLAGS, "grpc-addr");
  assert.deepEqual(
    options.servers.map(port),
    [port(grpc)],
    `maglev-web --server ${options.servers} is not the daemon's --grpc-addr ${grpc}`,
  );
  // The credentials file is the compose secret of that name.
  const secret = /^\/run\/secrets\/(.+)$/.exec(options.credentialsFile ?? "");
  assert.ok(secret, "--credentials-file is not a compose secret");
  assert.ok(
    strings(WEB.secrets, "services.maglev-web.secrets").includes(secret[1]),
  );
  assert.ok(obj(COMPOSE.secrets, "secrets")[secret[1]], "secret not defined");
  // Its health check asks the port the dashboard listens on.
  const test = strings(obj(WEB.healthcheck, "healthcheck").test, "test");
  assert.equal(test[0], "CMD");
  assert.ok(
    test.some((w) => w.includes(`:${options.listen.port}/healthz`)),
    `healthcheck does not ask :${options.listen.port}/healthz`,
  );
  const program = test[1].slice(RELEASE_DIR.length + 1);
  assert.ok(
    test[1].startsWith(`${RELEASE_DIR}/`) && RELEASE_LAYOUT.includes(program),
    `healthcheck runs ${test[1]}, which is not in the release directory`,
  );
});
