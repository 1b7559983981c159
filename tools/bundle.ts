/**
 * `deno task bundle`: the whole program as one JavaScript file,
 * `dist/maglev.js`, that `deno run -A dist/maglev.js <command>` runs exactly
 * like `deno task maglev <command>`. Works offline (no runtime download).
 * Stamps the git commit and build date into the version constants.
 */
const root = new URL("../", import.meta.url).pathname;
const outFlag = Deno.args.indexOf("--output");
const out = outFlag >= 0 && Deno.args[outFlag + 1]
  ? Deno.args[outFlag + 1]
  : `${root}dist/maglev.js`;

async function git(args: string[]): Promise<string | undefined> {
  try {
    const r = await new Deno.Command("git", { args, cwd: root, stderr: "null" })
      .output();
    return r.success ? new TextDecoder().decode(r.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

// The dashboard's assets are generated (and git-ignored): build them first
// so the bundle embeds the current web/ app.
const web = await new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", `${root}tools/web_build.ts`],
  cwd: root,
  stdout: "null",
  stderr: "inherit",
}).output();
if (!web.success) {
  console.error("web build failed");
  Deno.exit(1);
}

const bundled = await new Deno.Command(Deno.execPath(), {
  args: [
    "bundle",
    "--quiet",
    "--platform",
    "deno",
    "--output",
    out,
    `${root}src/main.ts`,
  ],
  cwd: root,
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (!bundled.success) {
  console.error("deno bundle failed");
  Deno.exit(1);
}

const commit = Deno.env.get("MAGLEV_COMMIT") ??
  (await git(["rev-parse", "--short=12", "HEAD"])) ?? "unknown";
const dirty = (await git(["status", "--porcelain", "--untracked-files=no"]))
  ? "-dirty"
  : "";
const date = Deno.env.get("MAGLEV_BUILD_DATE") ??
  new Date().toISOString().replace(/\.\d+Z$/, "Z");
let text = await Deno.readTextFile(out);
const stamp = (name: string, value: string) => {
  const re = new RegExp(`(\\b${name}\\s*=\\s*)"unknown"`);
  if (!re.test(text)) {
    console.error(`bundle: cannot find the ${name} constant to stamp`);
    Deno.exit(1);
  }
  text = text.replace(re, `$1${JSON.stringify(value)}`);
};
stamp("COMMIT", commit + dirty);
stamp("BUILD_DATE", date);
await Deno.writeTextFile(out, text);
console.log(`wrote ${out} (commit ${commit}${dirty}, built ${date})`);
