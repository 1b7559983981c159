import assert from "node:assert/strict";
import { classifyLibraryText } from "./run.ts";

Deno.test("run: connect-node's report of a stream the daemon dropped is debug; other failures warn", () => {
  assert.deepEqual(
    classifyLibraryText(
      "handler for rpc WatchEvents of maglev.Maglev failed ConnectError: [internal] Stream closed with error code NGHTTP2_ENHANCE_YOUR_CALM",
    ),
    { level: "debug", msg: "grpc-stream-reset" },
  );
  assert.deepEqual(
    classifyLibraryText(
      "handler for rpc ListBackends of maglev.Maglev failed TypeError: boom",
    ),
    { level: "warn", msg: "grpc-handler-failed" },
  );
  assert.deepEqual(classifyLibraryText("(node) something"), {
    level: "warn",
    msg: "library-message",
  });
});
