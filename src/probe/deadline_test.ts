import assert from "node:assert/strict";
import {
  errorText,
  PHASE_L4,
  PHASE_L6,
  PHASE_L7,
  runWithDeadline,
} from "./deadline.ts";

Deno.test("errorText: short, lower-case, no os error number", () => {
  assert.equal(
    errorText(
      new Deno.errors.ConnectionRefused("Connection refused (os error 111)"),
    ),
    "connection refused",
  );
  assert.equal(errorText(new Error("TLS alert")), "TLS alert");
  assert.equal(errorText("plain string"), "plain string");
  assert.equal(errorText(new TypeError("")), "TypeError");
});

Deno.test("deadline: the body's verdict wins when in time", async () => {
  const r = await runWithDeadline(
    1000,
    PHASE_L4,
    () => Promise.resolve({ code: "L4OK", text: "connected" }),
  );
  assert.deepEqual([r.ok, r.code, r.text], [true, "L4OK", "connected"]);
});

Deno.test("deadline: timeout code follows the phase and closes the resource", async () => {
  let closed = false;
  const r = await runWithDeadline(30, PHASE_L4, (run) => {
    run.phase = PHASE_L6;
    run.resource = { close: () => (closed = true) };
    return new Promise(() => {}); // never settles on its own
  });
  assert.equal(r.code, "L6TOUT");
  assert.equal(r.ok, false);
  assert.match(r.text, /^timeout after 30ms in TLS handshake$/);
  assert.ok(closed);
  assert.ok(r.durationMs >= 25);
});

Deno.test("deadline: the connect signal is aborted at the deadline", async () => {
  let signal: AbortSignal | undefined;
  const r = await runWithDeadline(20, PHASE_L4, (run) => {
    signal = run.signal;
    return new Promise(() => {});
  });
  assert.equal(r.code, "L4TOUT");
  assert.equal(signal?.aborted, true);
});

Deno.test("deadline: exceptions become the phase's failure", async () => {
  const thrown = await runWithDeadline(1000, PHASE_L7, () => {
    throw new Error("Boom");
  });
  assert.deepEqual([thrown.code, thrown.text], ["L7RSP", "boom"]);
  const rejected = await runWithDeadline(
    1000,
    PHASE_L4,
    () => Promise.reject(new Error("nope")),
  );
  assert.deepEqual([rejected.code, rejected.text], ["L4CON", "nope"]);
});

Deno.test("deadline: a late verdict after the timeout is ignored", async () => {
  let finishLate!: () => void;
  const r = await runWithDeadline(10, PHASE_L7, () =>
    new Promise((resolve) => {
      finishLate = () => resolve({ code: "L7OK", text: "late" });
    }));
  assert.equal(r.code, "L7TOUT");
  finishLate(); // must not throw or change anything
});

Deno.test("deadline: after an event-loop stall, an answer that already arrived wins over the late timer", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const accepting = listener.accept().then((c) => c.close());
  const result = runWithDeadline(50, PHASE_L4, async (run) => {
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port,
      signal: run.signal,
    });
    conn.close();
    return { code: "L4OK", text: "connected" };
  });
  // Stall the loop well past the deadline: the connect completes meanwhile.
  const until = performance.now() + 200;
  while (performance.now() < until) { /* busy */ }
  const r = await result;
  await accepting;
  listener.close();
  assert.equal(r.code, "L4OK", r.text);
});
