/**
 * `deno task proto`: regenerates src/api/gen/ from proto/ with Debian's
 * `protoc` and the pinned `protoc-gen-es`. The output is committed; a test
 * (tests/proto_fresh_test.ts) fails when it is stale.
 *
 * `--out DIR` writes elsewhere (the freshness test compares that with the
 * committed code).
 */
const root = new URL("../", import.meta.url).pathname;
const outFlag = Deno.args.indexOf("--out");
const out = outFlag >= 0 ? Deno.args[outFlag + 1] : `${root}src/api/gen`;

/** Every .proto file the API is built from, relative to proto/. */
export const PROTO_FILES = [
  "maglev/v1/maglev.proto",
  "grpc/reflection/v1/reflection.proto",
  "grpc/reflection/v1alpha/reflection.proto",
];

if (import.meta.main) {
  await Deno.mkdir(out, { recursive: true });
  let result;
  try {
    result = await new Deno.Command("protoc", {
      args: [
        `--plugin=protoc-gen-es=${root}tools/protoc-gen-es`,
        `--es_out=${out}`,
        "--es_opt=target=ts,import_extension=ts",
        `-I${root}proto`,
        ...PROTO_FILES,
      ],
      cwd: root,
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      console.error(
        "protoc not found: install Debian's protobuf-compiler (apt-get install protobuf-compiler)",
      );
      Deno.exit(1);
    }
    throw e;
  }
  const err = new TextDecoder().decode(result.stderr);
  if (!result.success) {
    console.error(err || "protoc failed");
    Deno.exit(1);
  }
  // Generated code follows the project's formatting, so `deno fmt --check` passes.
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", out],
    cwd: root,
  }).output();
  console.log(`generated ${PROTO_FILES.length} files into ${out}`);
}
