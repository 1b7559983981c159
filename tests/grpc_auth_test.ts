/**
 * Who may change things through the API: from a namespace the test creates
 * (a remote peer), reads work and changes are refused without the token;
 * with it they work.
 */
import assert from "node:assert/strict";
import {
  freePort,
  MAIN,
  runMaglev,
  startDaemonProcess,
} from "./helpers/maglev.ts";
import { requireIproute2, TestNetns } from "./helpers/netns.ts";
import { tempDir } from "./helpers/tmp.ts";
import { runCommand } from "./helpers/command.ts";
import { makeTestCerts } from "./helpers/certs.ts";

const TOKEN = "test-token-0123456789abcdef";

/** A config with one backend, written to `dir`; returns its path. */
async function oneBackendConfig(dir: string): Promise<string> {
  const cfg = `${dir}/maglev.yaml`;
  await Deno.writeTextFile(
    cfg,
    `maglev:
  healthchecks:
    hc: { type: tcp, port: ${freePort()}, interval: 1s, timeout: 500ms }
  backends:
    a: { address: 127.0.0.1, healthcheck: hc }
`,
  );
  return cfg;
}

/**
 * A namespace linked to the host on a random 10.213.X.0/30: the host end
 * X.1 (where the daemon listens), the namespace X.2 (the remote peer).
 */
async function remotePeer(ns: TestNetns): Promise<string> {
  const x = 1 + Math.floor(Math.random() * 250);
  await ns.linkToHost(`10.213.${x}.1/30`, `10.213.${x}.2/30`);
  return `10.213.${x}.1`;
}

/** `maglev ctl --server server …` run inside the namespace (bounded). */
function ctlIn(ns: TestNetns, server: string) {
  return (...args: string[]) =>
    runCommand("ip", [
      "netns",
      "exec",
      ns.name,
      Deno.execPath(),
      "run",
      "-A",
      MAIN,
      "ctl",
      "--server",
      server,
      ...args,
    ], { timeoutMs: 30_000 });
}

Deno.test({
  name:
    "grpc auth: a remote peer (in a namespace) reads, but needs the daemon's token to change anything; a wrong token is refused",
  sanitizeResources: false,
  async fn() {
    await requireIproute2();
    await using tmp = await tempDir("maglev-auth-");
    await using ns = await TestNetns.create();
    const hostIp = await remotePeer(ns);
    const cfg = await oneBackendConfig(tmp.path);
    const tokens = `${tmp.path}/tokens`;
    await Deno.writeTextFile(tokens, `${TOKEN}\n`);
    const wrong = `${tmp.path}/wrong`;
    await Deno.writeTextFile(wrong, "some-other-token-0123456789\n");
    const port = freePort();
    // On the link's host address only. (Changes from loopback without a
    // token are what every other gRPC test does.)
    const d = startDaemonProcess(cfg, {
      grpcAddr: `${hostIp}:${port}`,
      extra: ["--grpc-token-file", tokens],
    });
    try {
      await d.waitForRecord((r) => r.msg === "ready", "ready");
      const ctl = ctlIn(ns, `${hostIp}:${port}`);
      // Reads are open.
      const show = await ctl("show", "backends");
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, /\ba\b/);
      // A change without the token: PERMISSION_DENIED, saying what to do.
      const denied = await ctl("set", "backend", "a", "pause");
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr + denied.stdout, /permission/i);
      assert.match(denied.stderr + denied.stdout, /bearer token is needed/);
      // A wrong token: refused too.
      const bad = await ctl(
        "--token-file",
        wrong,
        "set",
        "backend",
        "a",
        "pause",
      );
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr + bad.stdout, /not one of the daemon's/);
      // The right one: done.
      const ok = await ctl(
        "--token-file",
        tokens,
        "set",
        "backend",
        "a",
        "pause",
      );
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /paused/);
    } finally {
      await d.stop("SIGTERM");
    }
  },
});

Deno.test("grpc auth: a unix socket listener (mode 0660) takes changes from whoever may open it; ctl reaches it", async () => {
  await using tmp = await tempDir("maglev-auth-");
  const cfg = await oneBackendConfig(tmp.path);
  const sock = `${tmp.path}/grpc.sock`;
  // A socket left behind by a daemon that died is replaced.
  const stale = Deno.listen({ transport: "unix", path: sock });
  stale.close();
  const d = startDaemonProcess(cfg, { grpcAddr: `unix:${sock}` });
  try {
    const ready = await d.waitForRecord(
      (r) => r.msg === "grpc-listening",
      "listening",
    );
    assert.equal(ready.addr, `unix:${sock}`);
    const st = await Deno.lstat(sock);
    assert.equal(st.isSocket, true);
    assert.equal((st.mode ?? 0) & 0o777, 0o660);
    const server = `unix:${sock}`;
    const show = await runMaglev([
      "ctl",
      "--server",
      server,
      "show",
      "backends",
    ]);
    assert.equal(show.code, 0, show.stderr);
    const pause = await runMaglev([
      "ctl",
      "--server",
      server,
      "set",
      "backend",
      "a",
      "pause",
    ]);
    assert.equal(pause.code, 0, pause.stderr);
    assert.match(pause.stdout, /paused/);
  } finally {
    await d.stop("SIGTERM");
  }
});

Deno.test({
  name:
    "grpc auth: over TLS, a remote client with a certificate the client CA signed may change things (mTLS); without one it reads only",
  sanitizeResources: false,
  async fn() {
    await requireIproute2();
    await using tmp = await tempDir("maglev-auth-");
    await using ns = await TestNetns.create();
    const hostIp = await remotePeer(ns);
    await using certs = await makeTestCerts({ serverSan: `IP:${hostIp}` });
    const file = async (name: string, text: string) => {
      const p = `${tmp.path}/${name}`;
      await Deno.writeTextFile(p, text);
      return p;
    };
    const ca = await file("ca.pem", certs.caCert);
    const cert = await file("server.pem", certs.server.cert);
    const key = await file("server.key", certs.server.key);
    const clientCert = await file("client.pem", certs.client.cert);
    const clientKey = await file("client.key", certs.client.key);
    const cfg = await oneBackendConfig(tmp.path);
    const port = freePort();
    const d = startDaemonProcess(cfg, {
      grpcAddr: `${hostIp}:${port}`,
      extra: [
        "--grpc-tls-cert",
        cert,
        "--grpc-tls-key",
        key,
        "--grpc-client-ca",
        ca,
      ],
    });
    try {
      await d.waitForRecord((r) => r.msg === "ready", "ready");
      const inNs = ctlIn(ns, `${hostIp}:${port}`);
      const ctl = (...args: string[]) => inNs("--tls-ca", ca, ...args);
      const show = await ctl("show", "backends");
      assert.equal(show.code, 0, show.stderr);
      const denied = await ctl("set", "backend", "a", "pause");
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr + denied.stdout, /permission/i);
      const ok = await ctl(
        "--tls-cert",
        clientCert,
        "--tls-key",
        clientKey,
        "set",
        "backend",
        "a",
        "pause",
      );
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /paused/);
    } finally {
      await d.stop("SIGTERM");
    }
  },
});
