/**
 * Pieces of the CPU-starvation tests: loopback backends that pass every tcp
 * probe, a config with aggressive timing, and busy loops pinned to the
 * daemon's CPU at a higher priority.
 */
import { freePort, MaglevProcess, MAIN } from "./maglev.ts";

/** Loopback listeners that accept and close, one address each (127.0.4.x). */
export function listeners(n: number) {
  const ls = Array.from(
    { length: n },
    (_, i) => Deno.listen({ hostname: `127.0.4.${i + 1}`, port: 0 }),
  );
  const loops = ls.map(async (l) => {
    try {
      for await (const c of l) c.close();
    } catch {
      // closed
    }
  });
  return {
    addresses: ls.map((_, i) => `127.0.4.${i + 1}`),
    ports: ls.map((l) => (l.addr as Deno.NetAddr).port),
    async close() {
      for (const l of ls) l.close();
      await Promise.all(loops);
    },
  };
}

/**
 * One frontend over `ports` (backend i on 127.0.4.i+1), tcp checks every
 * 100 ms with a 40 ms timeout and fall 1: a single false timeout would be a
 * transition. `vpp` is YAML under `maglev:` (e.g. a vpp.lb section).
 */
export function overloadConfig(ports: readonly number[], vpp = ""): string {
  const checks = ports.map((p, i) =>
    `    hc${i}: { type: tcp, port: ${p}, interval: 100ms, fast-interval: 100ms, down-interval: 100ms, timeout: 40ms, rise: 1, fall: 1 }`
  ).join("\n");
  const backends = ports.map((_, i) =>
    `    b${i}: { address: 127.0.4.${i + 1}, healthcheck: hc${i} }`
  ).join("\n");
  const members = ports.map((_, i) => `            b${i}: {}`).join("\n");
  return `maglev:
${vpp}  healthchecks:
${checks}
  backends:
${backends}
  frontends:
    web:
      address: 192.0.2.1
      protocol: tcp
      port: 80
      pools:
        - name: p
          backends:
${members}
`;
}

/**
 * `maglev daemon` from the source tree pinned to CPU 0 (with taskset), JSON
 * logs, state in memory, plus `flags`.
 */
export function pinnedDaemon(
  config: string,
  metricsAddr: string,
  flags: readonly string[] = [],
): MaglevProcess {
  return MaglevProcess.exec("taskset", [
    "-c",
    "0",
    Deno.execPath(),
    "run",
    "-A",
    MAIN,
    "daemon",
    "--config",
    config,
    "--grpc-addr",
    `127.0.0.1:${freePort()}`,
    "--metrics-addr",
    metricsAddr,
    "--log-format",
    "json",
    "--state-file",
    "",
    ...flags,
  ]);
}

/** `n` busy loops on CPU `cpu` at nice -10 (above the daemon's 0). */
export function busyLoops(n: number, cpu: number) {
  const children = Array.from({ length: n }, () =>
    new Deno.Command("taskset", {
      args: [
        "-c",
        String(cpu),
        "nice",
        "-n",
        "-10",
        "sh",
        "-c",
        "while :; do :; done",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn());
  return {
    async stop() {
      for (const c of children) {
        try {
          c.kill("SIGKILL");
        } catch {
          // gone
        }
        await c.status;
      }
    },
  };
}

/** The sum of a metric family's samples in Prometheus text. */
export function sumMetric(text: string, name: string): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return total;
}
