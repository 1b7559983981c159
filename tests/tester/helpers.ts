/**
 * Configs and runs of `maglev tester` for its system tests.
 */
import { MaglevProcess } from "../helpers/maglev.ts";

/** One frontend of a test config. */
export interface TestFrontend {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly protocol?: "tcp" | "udp" | "any";
}

/**
 * A maglev.yaml with `frontends`, whose one backend is `backend` with a
 * health check on `hcPort`: the tester must never send anything there.
 */
export function testConfig(
  frontends: readonly TestFrontend[],
  backend = "192.0.2.10",
  hcPort = 80,
): string {
  const fe = frontends.map((f) =>
    `    ${f.name}:\n      address: "${f.address}"\n` +
    (f.protocol ? `      protocol: ${f.protocol}\n` : "") +
    (f.protocol === "any" ? "" : `      port: ${f.port}\n`) +
    "      pools:\n        - name: main\n          backends: { be: {} }\n"
  ).join("");
  return "maglev:\n" +
    `  healthchecks:\n    hc: { type: tcp, port: ${hcPort} }\n` +
    `  backends:\n    be: { address: "${backend}", healthcheck: hc }\n` +
    `  frontends:\n${fe}`;
}

/** A JSON report line of the tester (the fields the tests read). */
export interface Report {
  readonly time: string;
  readonly frontends: string[];
  readonly vip: string;
  readonly port: number;
  readonly scheme: string;
  readonly interval_ms: number;
  readonly probes: number;
  readonly failures: number;
  readonly total_probes: number;
  readonly total_failures: number;
  readonly latency_ms: Record<string, number> | null;
  readonly last: { code: string; status?: number; header?: string } | null;
  readonly tally?: Record<string, number>;
  readonly tally_total?: Record<string, number>;
  readonly anomalies: Record<string, number>;
  readonly final?: boolean;
}

/** The report lines a tester process printed so far. */
export function reports(p: MaglevProcess): Report[] {
  return p.records.filter((r) =>
    typeof r.vip === "string"
  ) as unknown as Report[];
}

/** Starts `maglev tester` with JSON output. */
export function startTester(args: string[]): MaglevProcess {
  return new MaglevProcess(["tester", "--output", "json", ...args]);
}
