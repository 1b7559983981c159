/**
 * VppLb (src/vpp/lb.ts) through real Deno FFI against a real VPP, and the
 * stand-in (tests/vpp/fakevpp/) against the same VPP: one VPP per test,
 * started here (tests/helpers/realvpp.ts); the scenario itself, with its
 * assertions, runs in a child process (_lb_scenario.ts) because
 * libvppapiclient allows one connection per process. Run with
 * `MAGLEV_TEST_VPP=/opt/maglev-vpp/vpp-runtime deno test -A tests/vpp_real/`;
 * without a VPP the tests are reported as ignored.
 */
import assert from "node:assert/strict";
import { RealVpp, runVppScenario, VPP } from "../helpers/realvpp.ts";

const SCENARIO = new URL("./_lb_scenario.ts", import.meta.url);

async function scenario(v: RealVpp, name: string): Promise<void> {
  assert.equal(await runVppScenario(SCENARIO, v, name), "ok");
}

Deno.test({
  name:
    "real VPP: a foreign VIP with protocol 0 (made with vppctl) and its AS are skipped with one warning; dump() works",
  ignore: VPP === undefined,
  async fn() {
    await using v = await RealVpp.start();
    await scenario(v, "foreign-vip");
  },
});

Deno.test({
  name:
    "real VPP vs stand-in: the same operations get the same retvals, dumps and CLI text",
  ignore: VPP === undefined,
  async fn() {
    await using v = await RealVpp.start();
    await scenario(v, "vs-stand-in");
  },
});

Deno.test({
  name:
    "real VPP: per-VIP AS dumps find exactly the live ASes of each VIP (the filter is verified, no fallback)",
  ignore: VPP === undefined,
  async fn() {
    await using v = await RealVpp.start();
    await scenario(v, "per-vip-dumps");
  },
});
