/**
 * VppLb's dumps through REAL Deno FFI against the stand-in
 * libvppapiclient.so (tests/vpp/fakevpp/), which answers a filtered
 * lb_as_v2_dump the way VPP 26.10 does: per-VIP dumps must work there
 * without falling back, and never fill the client's receive queue.
 */

import assert from "node:assert/strict";
import { openFakeVpp } from "../../tests/helpers/fakevpp.ts";
import { openVppLibrary, vacTransport } from "./ffi.ts";
import { VppClient } from "./client.ts";
import { VppLb } from "./lb.ts";

Deno.test("ffi: dump() reads ASes VIP by VIP, pipelined, with no more than half the receive queue outstanding", async () => {
  await using fake = await openFakeVpp({
    knobs: { timeout_scale_ms: 40, quiet: 1 },
  });
  const VIPS = 20, ASES = 100;
  for (let i = 0; i < VIPS; i++) {
    fake.ctl.must(`vip_add 10.0.${i}.1/32 tcp 80 sticky=${i % 2}`);
    for (let j = 0; j < ASES; j++) {
      fake.ctl.must(`as_add 10.0.${i}.1/32 tcp 80 172.16.${i}.${j + 1} 100`);
    }
  }
  // Someone else's VIP of a protocol maglev does not manage, with an AS.
  fake.ctl.must("vip_add 192.0.2.9/32 0 8080");
  fake.ctl.must("as_add 192.0.2.9/32 0 8080 198.51.100.9 100");
  const warnings: string[] = [];
  const client = new VppClient({
    transport: vacTransport(openVppLibrary(fake.path)),
    requestTimeoutMs: 5000,
  });
  const lb = new VppLb(client, {
    logger: { debug() {}, warn: (msg) => warnings.push(msg) },
  });
  client.start();
  try {
    await client.waitConnected(5000);
    const state = await lb.dump();
    assert.equal(lb.asDumpFilter, "works");
    assert.equal(state.vips.length, VIPS);
    assert.deepEqual(
      state.vips.map((v) => v.srcIpSticky),
      Array.from({ length: VIPS }, (_, i) => i % 2 === 1),
    );
    assert.equal(state.ases.length, VIPS * ASES);
    assert.deepEqual(
      state.ases.slice(0, 2).map((a) => [a.vip.prefix, a.address]),
      [["10.0.0.1/32", "172.16.0.1"], ["10.0.0.1/32", "172.16.0.2"]],
    );
    const s = fake.ctl.state();
    assert.equal(
      s.calls.by_message.lb_as_v2_dump,
      VIPS,
      "one per VIP, none for the foreign one, no all-AS dump",
    );
    // 100 ASes per VIP (known from the CLI): 5 dumps in flight at most.
    const high = fake.ctl.get("rx_high_water");
    assert.ok(high <= 512, `receive queue high water ${high}`);
    assert.deepEqual(warnings, ["vpp-vip-unsupported"]);
  } finally {
    lb.dispose();
    await client.close();
  }
  assert.deepEqual(fake.ctl.state().misuse, []);
});
