/**
 * `deno task demo`: a self-contained look at maglev on one machine.
 *
 * Starts demo backends on loopback addresses (127.0.1.x, all on `lo`), one
 * of which flaps between healthy and failing, writes a config for them and
 * runs the daemon with VPP off. Ctrl-C stops everything.
 */
import { runDaemon } from "../src/daemon/run.ts";
import { runWeb } from "../src/web/run.ts";

const FLAP_SECONDS = 8;

/** Finds a port that is free on every demo address. */
function pickPort(addrs: string[]): number {
  for (let attempt = 0; attempt < 20; attempt++) {
    const probe = Deno.listen({ hostname: addrs[0], port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    try {
      for (const a of addrs) Deno.listen({ hostname: a, port }).close();
      return port;
    } catch {
      // Taken on one of the addresses; try another.
    }
  }
  throw new Error("no free port on the 127.0.1.x demo addresses");
}

const healthy = ["127.0.1.1", "127.0.1.2", "127.0.1.3"];
const flapping = "127.0.1.4";
const standby = "127.0.1.5";
const dead = "127.0.1.6"; // nothing listens here: always down
const port = pickPort([...healthy, flapping, standby]);
const started = Date.now();

const servers: Deno.HttpServer[] = [];
for (const addr of [...healthy, standby]) {
  servers.push(Deno.serve(
    { hostname: addr, port, onListen() {} },
    () => new Response(`OK from ${addr}\n`),
  ));
}
servers.push(Deno.serve({ hostname: flapping, port, onListen() {} }, () => {
  const phase = Math.floor((Date.now() - started) / 1000 / FLAP_SECONDS) % 2;
  return phase === 0
    ? new Response(`OK from ${flapping}\n`)
    : new Response("overloaded\n", { status: 503 });
}));

const config = `maglev:
  healthchecker:
    transition-history: 10
  healthchecks:
    http-demo:
      type: http
      port: ${port}
      interval: 2s
      fast-interval: 500ms
      down-interval: 4s
      timeout: 400ms
      rise: 2
      fall: 2
      params:
        path: /healthz
        response-code: 200
        response-regexp: "^OK"
    tcp-demo:
      type: tcp
      port: ${port}
      interval: 1s
      timeout: 300ms
  backends:
    web1: { address: ${healthy[0]}, healthcheck: http-demo }
    web2: { address: ${healthy[1]}, healthcheck: http-demo }
    web3: { address: ${healthy[2]}, healthcheck: http-demo }
    flappy: { address: ${flapping}, healthcheck: http-demo }
    spare: { address: ${standby}, healthcheck: tcp-demo }
    gone: { address: ${dead}, healthcheck: tcp-demo }
  frontends:
    www:
      description: "demo web service"
      address: 192.0.2.1
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends:
            web1: {}
            web2: { weight: 50 }
            flappy: {}
        - name: fallback
          backends:
            spare: {}
    api:
      description: "demo api, its only primary backend is dead"
      address: 2001:db8::1
      protocol: tcp
      port: 443
      pools:
        - name: primary
          backends:
            gone: {}
        - name: fallback
          backends:
            web3: {}
`;
const dir = await Deno.makeTempDir({ prefix: "maglev-demo-" });
const configPath = `${dir}/maglev.yaml`;
await Deno.writeTextFile(configPath, config);

function freeLocalPort(preferred: number): number {
  try {
    Deno.listen({ hostname: "127.0.0.1", port: preferred }).close();
    return preferred;
  } catch {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const p = (l.addr as Deno.NetAddr).port;
    l.close();
    return p;
  }
}
const metricsPort = freeLocalPort(9091);
const grpcPort = freeLocalPort(9090);
const webPort = freeLocalPort(8080);
// The demo's admin login; a real deployment sets its own (docs/dashboard.md).
const webUser = "admin";
const webPassword = "demo";

console.log(`maglev demo
  backends:  ${
  healthy.join(", ")
}, ${standby} (healthy), ${flapping} (flaps every ${FLAP_SECONDS}s), ${dead} (dead), port ${port}
  config:    ${configPath}
  dashboard: http://127.0.0.1:${webPort}/view/   (admin: http://127.0.0.1:${webPort}/admin/, ${webUser} / ${webPassword})
  metrics:   http://127.0.0.1:${metricsPort}/metrics
  gRPC:      127.0.0.1:${grpcPort}   (try: deno task maglev ctl --server 127.0.0.1:${grpcPort})
  reload:    edit the config, then: kill -HUP ${Deno.pid}
  VPP:       off (--vpp=false)
Press Ctrl-C to stop.
`);

const web = runWeb(
  [
    "--listen",
    `127.0.0.1:${webPort}`,
    "--server",
    `127.0.0.1:${grpcPort}`,
    "--log-format",
    "text",
    "--log-level",
    "warn",
  ],
  { MAGLEV_WEB_USER: webUser, MAGLEV_WEB_PASSWORD: webPassword },
);
const code = await runDaemon([
  "--config",
  configPath,
  "--vpp=false",
  "--metrics-addr",
  `127.0.0.1:${metricsPort}`,
  "--grpc-addr",
  `127.0.0.1:${grpcPort}`,
  "--log-format",
  "text",
  // The demo keeps pauses and weights in memory: nothing under /var/lib.
  "--state-file",
  "",
]);
await web;
await Promise.all(servers.map((s) => s.shutdown()));
await Deno.remove(dir, { recursive: true });
Deno.exit(code);
