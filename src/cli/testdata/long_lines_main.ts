/** Writes 50 log lines of 100 KB each through logLine (log_test.ts reads them slowly). */
import { logLine } from "../log.ts";

for (let i = 0; i < 50; i++) {
  logLine(JSON.stringify({ i, pad: "x".repeat(100_000) }));
}
