/**
 * Interop with a gRPC client this project did not write: Debian's
 * python3-grpcio, using message classes that Debian's protoc generates from
 * proto/ at test time.
 */
import assert from "node:assert/strict";
import { MAGLEV_ROOT } from "./helpers/maglev.ts";
import { startDaemon } from "./helpers/fixture.ts";
import { waitFor } from "./helpers/wait.ts";
import { connectMaglev } from "../src/api/client.ts";
import { PROTO_FILES } from "../tools/proto.ts";

/** Debian's interpreter, where python3-grpcio is installed. */
const PYTHON = "/usr/bin/python3";

async function run(cmd: string, args: string[]): Promise<string> {
  let out;
  try {
    out = await new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "piped",
    })
      .output();
  } catch (e) {
    throw new Error(
      `${cmd} not found (${e}); install Debian's python3-grpcio and protobuf-compiler`,
    );
  }
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed:\n${dec.decode(out.stderr)}`,
    );
  }
  return dec.decode(out.stdout);
}

Deno.test("grpc interop: python grpcio lists, gets, pauses, watches, reflects", async () => {
  const gen = await Deno.makeTempDir({ prefix: "maglev-py-" });
  try {
    // The reflection protos live under grpc/ in proto/, which in Python
    // would shadow the grpc package itself: give them another module path
    // (the proto package, and so the wire names, stay the same).
    const src = `${gen}/proto`;
    const files: string[] = [];
    for (const f of PROTO_FILES) {
      const to = f.replace(/^grpc\/reflection\//, "reflection_");
      await Deno.mkdir(`${src}/${to.slice(0, to.lastIndexOf("/"))}`, {
        recursive: true,
      });
      await Deno.copyFile(`${MAGLEV_ROOT}proto/${f}`, `${src}/${to}`);
      files.push(to);
    }
    await run("protoc", [`--python_out=${gen}`, `-I${src}`, ...files]);
    await using d = await startDaemon();
    const { client, close } = connectMaglev(d.grpcAddr);
    try {
      await waitFor(
        "backends up",
        async () =>
          (await client.listBackends({})).backends.every((b) =>
              b.state === "up"
            )
            ? true
            : undefined,
      );
    } finally {
      close();
    }
    const out = JSON.parse(
      await run(PYTHON, [
        `${MAGLEV_ROOT}tests/interop/grpc_client.py`,
        gen,
        d.grpcAddr,
        "b",
      ]),
    );
    assert.deepEqual(out.frontends, ["web"]);
    assert.deepEqual(out.backends, { a: "up", b: "up", c: "up" });
    assert.equal(out.get_backend_state, "up");
    assert.equal(out.not_found[0], "NOT_FOUND");
    assert.match(out.not_found[1], /no backend "no-such-backend"/);
    assert.equal(out.pause_state, "paused");
    // Snapshot (from == to) first, then the transition the client caused.
    assert.deepEqual(out.events.slice(0, 4), [
      ["backend", "a", "up", "up"],
      ["backend", "b", "up", "up"],
      ["backend", "c", "up", "up"],
      ["frontend", "web", "up", "up"],
    ]);
    assert.deepEqual(out.events.at(-1), ["backend", "b", "up", "paused"]);
    for (const v of ["v1alpha", "v1"]) {
      const r = out[`reflection_${v}`];
      assert.ok(r.services.includes("maglev.Maglev"), JSON.stringify(r));
      assert.ok(r.services.includes(`grpc.reflection.${v}.ServerReflection`));
      assert.equal(r.file, "maglev/v1/maglev.proto");
      assert.ok(r.methods.includes("WatchEvents"));
      assert.equal(r.missing_error, 5);
    }
  } finally {
    await Deno.remove(gen, { recursive: true });
  }
});
