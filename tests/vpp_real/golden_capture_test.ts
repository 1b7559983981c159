/**
 * The golden wire vectors (tests/vpp/golden/) re-captured from a real VPP
 * with `tools/vpp_golden.ts capture`: the codec tests trust those bytes, so
 * they must be what the VPP maglev runs with actually sends.
 *
 * The tool runs as a child process: libvppapiclient allows one connection
 * per process, and test modules running in parallel share one.
 */
import assert from "node:assert/strict";
import { VPP } from "../helpers/realvpp.ts";
import { tempDir } from "../helpers/tmp.ts";
import {
  GOLDEN_DIR,
  type Json,
  type JsonObject,
} from "../../src/vpp/_golden.ts";
import type { CaptureReport, VectorResult } from "../../tools/vpp_capture.ts";

const TOOL = new URL("../../tools/vpp_golden.ts", import.meta.url).pathname;

async function capture(
  args: string[],
): Promise<{ code: number; report: CaptureReport }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", TOOL, "capture", "--json", ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // SIGTERM, not SIGKILL: the tool then still stops its VPP.
  const timer = setTimeout(() => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
  }, 120_000);
  const out = await child.output();
  clearTimeout(timer);
  const stderr = new TextDecoder().decode(out.stderr);
  const stdout = new TextDecoder().decode(out.stdout);
  assert.ok(
    out.code === 0 || out.code === 1,
    `capture exited ${out.code}:\n${stderr}`,
  );
  return { code: out.code, report: JSON.parse(stdout) };
}

function byVector(report: CaptureReport): Map<string, VectorResult> {
  return new Map(report.results.map((r) => [r.vector, r]));
}

/** The run's VPP is gone with its directory and /dev/shm segments. */
async function assertCleanedUp(report: CaptureReport): Promise<void> {
  const gone = async (path: string) => {
    try {
      await Deno.stat(path);
      return false;
    } catch (e) {
      return e instanceof Deno.errors.NotFound;
    }
  };
  const { dir, prefix, pid } = report.vpp;
  assert.ok(await gone(dir), `${dir} removed`);
  for (const f of ["vpe-api", "global_vm"]) {
    assert.ok(await gone(`/dev/shm/${prefix}-${f}`), `${prefix}-${f} removed`);
  }
  if (pid !== undefined) assert.ok(await gone(`/proc/${pid}`), "VPP exited");
}

/**
 * Every stored vector VPP sent: the reply files, and the entries of the list
 * files with a reply, details bytes or decoded details.
 */
function replyVectors(): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(GOLDEN_DIR)) {
    if (!e.name.endsWith(".json")) continue;
    const v = JSON.parse(Deno.readTextFileSync(new URL(e.name, GOLDEN_DIR)));
    if (Array.isArray(v)) {
      v.forEach((o: JsonObject, i) => {
        const r = o.result as JsonObject | undefined;
        if (
          "reply_hex" in o || "details_hex" in o || "details" in o ||
          (r && "reply_hex" in r)
        ) out.push(`${e.name}[${i}]`);
      });
    } else if ("captured_from_live_vpp" in v) out.push(e.name);
  }
  return out.sort();
}

Deno.test({
  name:
    "real VPP: every golden reply the capture script reaches is byte for byte what VPP sends",
  ignore: VPP === undefined,
  async fn() {
    const { code, report } = await capture([]);
    const results = byVector(report);
    const differ = report.results.filter((r) => r.status === "differs");
    assert.deepEqual(
      differ.map((r) => `${r.vector}: ${r.detail.join(", ")}`),
      [],
      "no vector differs",
    );
    assert.equal(code, 0);
    // Not captured must never hide a reply vector.
    const replies = replyVectors();
    assert.ok(replies.length >= 40, `only ${replies.length} reply vectors`);
    for (const v of replies) {
      assert.equal(results.get(v)?.status, "same", `${v} captured and same`);
    }
    // Requests are replayed, not captured: each one is sent.
    assert.match(
      results.get("lb_add_del_vip_v2.json")?.detail.join() ?? "",
      /replayed/,
    );
    await assertCleanedUp(report);
  },
});

Deno.test({
  name:
    "real VPP: capture --write names the fields of tampered vectors and restores VPP's bytes, keeping varying fields",
  ignore: VPP === undefined,
  async fn() {
    await using dir = await tempDir("maglev-golden-");
    const original = new Map<string, string>();
    for (const e of Deno.readDirSync(GOLDEN_DIR)) {
      const text = Deno.readTextFileSync(new URL(e.name, GOLDEN_DIR));
      original.set(e.name, text);
      Deno.writeTextFileSync(`${dir.path}/${e.name}`, text);
    }
    const edit = <T extends Json>(file: string, f: (v: T) => void) => {
      const v = JSON.parse(original.get(file)!) as T;
      f(v);
      Deno.writeTextFileSync(`${dir.path}/${file}`, JSON.stringify(v));
    };
    const hexText = (s: string) =>
      Array.from(
        new TextEncoder().encode(s),
        (b) => b.toString(16).padStart(2, "0"),
      ).join("");
    edit<JsonObject>("lb_vip_details.json", (v) => {
      // flow_table_length 1024 → 1025, in the bytes and the fields.
      v.hex = String(v.hex).slice(0, -4) + "0401";
      v.hex_msgid_zeroed = String(v.hex_msgid_zeroed).slice(0, -4) + "0401";
      (v.fields as JsonObject).flow_table_length = 1025;
    });
    edit<JsonObject>("cli_inband_reply.json", (v) => {
      v.hex = String(v.hex).replace(
        hexText("new_size:1024"),
        hexText("new_size:2048"),
      );
    });
    edit<JsonObject>("ip_route_lookup_reply.json", (v) => {
      const h = String(v.hex);
      v.hex = h.slice(0, 28) + "09" + h.slice(30); // route.stats_index 8 → 9
    });
    edit<JsonObject[]>("errors.json", (v) => {
      const c = v[1];
      c.reply_hex = String(c.reply_hex).slice(0, -2) + "aa";
    });
    edit<JsonObject[]>("quirks.json", (v) => {
      (v[5].details_of_deleted_as as JsonObject).weight = 51;
    });
    edit<JsonObject>("control_ping_reply.json", (v) => {
      // vpe_pid varies per run: neither a difference nor rewritten.
      v.hex = String(v.hex).slice(0, -4) + "1234";
    });
    const tampered = Deno.readTextFileSync(
      `${dir.path}/control_ping_reply.json`,
    );

    const { code, report } = await capture(["--write", "--golden", dir.path]);
    assert.equal(code, 1, "something differed");
    const results = byVector(report);
    const differ = Object.fromEntries(
      report.results.filter((r) => r.status === "differs").map((
        r,
      ) => [r.vector, r.detail]),
    );
    assert.deepEqual(differ, {
      "lb_vip_details.json": ["flow_table_length"],
      "cli_inband_reply.json": ["reply"],
      "ip_route_lookup_reply.json": ["route.stats_index"],
      "errors.json[1]": ["retval"],
      "quirks.json[5]": ["details_of_deleted_as.weight"],
    });
    assert.equal(results.get("control_ping_reply.json")?.status, "same");
    assert.ok(results.get("lb_vip_details.json")?.decoded);
    await assertCleanedUp(report);

    // Repaired to the very text of the stored vectors; the rest untouched.
    for (const [name, text] of original) {
      const now = Deno.readTextFileSync(`${dir.path}/${name}`);
      if (name === "control_ping_reply.json") {
        assert.equal(now, tampered, name);
      } else assert.equal(now, text, name);
    }
  },
});
