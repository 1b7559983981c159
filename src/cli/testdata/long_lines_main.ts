/** Writes 50 log lines of 100 KB each through stderrLine (log_test.ts reads them slowly). */
import { stderrLine } from "../log.ts";

for (let i = 0; i < 50; i++) {
  stderrLine(JSON.stringify({ i, pad: "x".repeat(100_000) }));
}
