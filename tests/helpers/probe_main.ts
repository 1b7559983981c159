/**
 * Runs one probe in a separate process and prints the result as JSON, for
 * tests that need different privileges (setpriv) or a different namespace
 * (ip netns exec) than the test runner.
 *
 * Usage: deno run -A probe_main.ts '<json {target, check, netns?}>'
 */
import { probeOnce } from "../../src/probe/mod.ts";
import type { ProbeTarget } from "../../src/probe/types.ts";
import type { HealthCheckConfig } from "../../src/config/types.ts";

interface Request {
  readonly target: ProbeTarget;
  readonly check: HealthCheckConfig;
  readonly netns?: string;
}

const req = JSON.parse(Deno.args[0]) as Request;
const result = await probeOnce(req.target, req.check, { netns: req.netns });
console.log(JSON.stringify(result));
