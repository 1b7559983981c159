/**
 * `maglev web` as a real process against real daemons: state, SSE with
 * replay, admin auth and actions, signals.
 */
import assert from "node:assert/strict";
import { connectMaglev } from "../../src/api/client.ts";
import { startDaemon } from "../helpers/fixture.ts";
import { freePort, runMaglev, startWebProcess } from "../helpers/maglev.ts";
import type { ActivityEvent } from "../../src/web/types.ts";
import { waitFor } from "../helpers/wait.ts";

interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** Reads SSE frames from a live response until closed. */
class SseReader {
  readonly events: SseEvent[] = [];
  #waiters = new Set<() => void>();
  #ac = new AbortController();
  #done: Promise<void>;
  response!: Response;

  private constructor(readonly url: string, readonly lastId?: string) {
    this.#done = Promise.resolve();
  }

  static async open(url: string, lastId?: string): Promise<SseReader> {
    const r = new SseReader(url, lastId);
    r.response = await fetch(url, {
      headers: lastId ? { "last-event-id": lastId } : {},
      signal: r.#ac.signal,
    });
    r.#done = r.#pump();
    return r;
  }

  async #pump(): Promise<void> {
    const reader = this.response.body!.pipeThrough(new TextDecoderStream())
      .getReader();
    let buf = "";
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const ev: SseEvent = { event: "message", data: "" };
          let hasData = false;
          for (const line of block.split("\n")) {
            if (line.startsWith("id: ")) ev.id = line.slice(4);
            else if (line.startsWith("event: ")) ev.event = line.slice(7);
            else if (line.startsWith("data: ")) {
              ev.data += line.slice(6);
              hasData = true;
            }
          }
          if (hasData) this.events.push(ev);
          for (const w of this.#waiters) w();
        }
      }
    } catch {
      // aborted
    }
  }

  wait(
    pred: (e: SseEvent) => boolean,
    what: string,
    timeoutMs = 10_000,
  ): Promise<SseEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const e = this.events.find(pred);
        if (e) {
          cleanup();
          resolve(e);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  async close(): Promise<void> {
    this.#ac.abort();
    await this.#done;
  }
}

interface ScopeJson {
  scope: { id: string; connected: boolean; error?: string };
  backends: { name: string; state: string }[];
  frontends: { name: string }[];
  vppError?: string;
}

Deno.test({
  name: "web: two scopes (one down), SSE, replay, admin, signals",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using d = await startDaemon();
    const dead = `127.0.0.1:${freePort()}`;
    const { web, base } = startWebProcess([d.grpcAddr, dead], {
      MAGLEV_WEB_USER: "ops",
      MAGLEV_WEB_PASSWORD: "pw",
    });
    const auth = { authorization: "Basic " + btoa("ops:pw") };
    const readers: SseReader[] = [];
    try {
      await web.waitForRecord((r) => r.msg === "ready", "web ready");

      await t.step("healthz", async () => {
        const r = await fetch(`${base}/healthz`);
        assert.equal(r.status, 200);
        assert.equal(await r.text(), "ok\n");
      });

      await t.step(
        "state shows both scopes, one down with an error",
        async () => {
          const doc = await waitFor(
            "connected scope with backends and VPP info",
            async () => {
              const r = await fetch(`${base}/view/api/state`);
              const j = await r.json() as {
                admin: boolean;
                scopes: ScopeJson[];
              };
              const live = j.scopes.find((s) => s.scope.id === d.grpcAddr);
              // Backends come with the event stream's snapshot; the VPP info
              // with the refresh that follows it.
              return live?.scope.connected && live.backends.length === 3 &&
                  live.vppError !== undefined
                ? j
                : undefined;
            },
            10_000,
          );
          assert.equal(doc.admin, false);
          assert.equal(doc.scopes.length, 2);
          const live = doc.scopes[0];
          assert.deepEqual(live.backends.map((b) => b.name), ["a", "b", "c"]);
          assert.deepEqual(live.frontends.map((f) => f.name), ["web"]);
          assert.match(live.vppError ?? "", /\S/); // daemon runs --vpp=false
          const down = doc.scopes[1];
          assert.equal(down.scope.id, dead);
          assert.equal(down.scope.connected, false);
          assert.match(down.scope.error ?? "", /connection refused/);
        },
      );

      await t.step(
        "one daemon's state, the daemon list, the version, the icon",
        async () => {
          const jsonOf = async (r: Response) => {
            assert.equal(
              r.headers.get("content-type"),
              "application/json; charset=utf-8",
              r.url,
            );
            return await r.json();
          };
          const one = await fetch(
            `${base}/view/api/state/${encodeURIComponent(d.grpcAddr)}`,
          );
          assert.equal(one.status, 200);
          const live = await jsonOf(one) as ScopeJson;
          assert.equal(live.scope.id, d.grpcAddr);
          assert.equal(live.scope.connected, true);
          assert.deepEqual(live.backends.map((b) => b.name), ["a", "b", "c"]);
          assert.deepEqual(live.frontends.map((f) => f.name), ["web"]);
          const down = await jsonOf(
            await fetch(`${base}/view/api/state/${dead}`),
          ) as ScopeJson;
          assert.equal(down.scope.id, dead);
          assert.equal(down.scope.connected, false);

          const unknown = await fetch(`${base}/view/api/state/lb9:9090`);
          assert.equal(unknown.status, 404);
          assert.deepEqual(await jsonOf(unknown), {
            error: `no daemon "lb9:9090"; known: ${d.grpcAddr}, ${dead}`,
            known: [d.grpcAddr, dead],
          });

          const list = await fetch(`${base}/view/api/maglevds`);
          assert.equal(list.status, 200);
          const { maglevds } = await jsonOf(list) as {
            maglevds: {
              name: string;
              address: string;
              connected: boolean;
              error?: string;
              version?: string;
            }[];
          };
          assert.deepEqual(
            maglevds.map((m) => [m.name, m.address, m.connected]),
            [[d.grpcAddr, d.grpcAddr, true], [dead, dead, false]],
          );
          assert.equal(maglevds[0].error, undefined);
          assert.match(maglevds[1].error ?? "", /connection refused/);

          const version = await fetch(`${base}/view/api/version`);
          assert.equal(version.status, 200);
          const v = await jsonOf(version);
          assert.equal(v.program, "maglev web");
          assert.match(v.version, /^\d+\.\d+\.\d+/);
          assert.deepEqual(Object.keys(v).sort(), [
            "buildDate",
            "commit",
            "program",
            "version",
          ]);

          const icon = await fetch(`${base}/favicon.ico`);
          assert.equal(icon.status, 200);
          assert.equal(icon.headers.get("content-type"), "image/x-icon");
          const bytes = new Uint8Array(await icon.arrayBuffer());
          assert.deepEqual([...bytes.slice(0, 4)], [0, 0, 1, 0]);

          // The same under /admin/, behind the login.
          for (
            const p of [
              `api/state/${d.grpcAddr}`,
              "api/maglevds",
              "api/version",
              "favicon.ico",
            ]
          ) {
            const anon = await fetch(`${base}/admin/${p}`);
            assert.equal(anon.status, 401, p);
            await anon.body?.cancel();
            const ok = await fetch(`${base}/admin/${p}`, { headers: auth });
            assert.equal(ok.status, 200, p);
            await ok.body?.cancel();
          }
        },
      );

      let backendEventId = "";
      await t.step("SSE delivers a backend transition", async () => {
        const sse = await SseReader.open(`${base}/view/api/events`);
        readers.push(sse);
        assert.equal(
          sse.response.headers.get("content-type"),
          "text/event-stream; charset=utf-8",
        );
        assert.equal(sse.response.headers.get("x-accel-buffering"), "no");
        assert.match(sse.response.headers.get("cache-control")!, /no-cache/);
        d.backends.get("b")!.healthy = false;
        const ev = await sse.wait((e) => {
          if (e.event !== "backend") return false;
          const j = JSON.parse(e.data);
          return j.scope === d.grpcAddr &&
            j.event.transition?.to === "down" && j.event.backend === "b";
        }, "backend b down");
        assert.match(ev.id!, /^\d+-\d+$/);
        backendEventId = ev.id!;
        // Its new effective weight (100 → 0 in the primary pool) follows as
        // a frontend event: from the daemon if the frontend's state changed,
        // else from the lb-state fetch, for that frontend only.
        const after = sse.events.indexOf(ev);
        await sse.wait((e) => {
          if (e.event !== "frontend" || sse.events.indexOf(e) < after) {
            return false;
          }
          const j = JSON.parse(e.data) as {
            event: {
              from?: string;
              to?: string;
              info?: {
                pools?: {
                  backends?: { name?: string; effectiveWeight?: number }[];
                }[];
              };
            };
          };
          const b = j.event.info?.pools?.flatMap((p) => p.backends ?? [])
            .find((m) => m.name === "b");
          return b !== undefined && (b.effectiveWeight ?? 0) === 0;
        }, "frontend web with b at weight 0");
        // Probes arrive summed up as activity events, not one log each.
        const act = await sse.wait((e) => {
          if (e.event !== "activity") return false;
          const j = JSON.parse(e.data) as ActivityEvent;
          return j.scope === d.grpcAddr && j.probed.length > 0;
        }, "probe activity");
        const probed = (JSON.parse(act.data) as ActivityEvent).probed;
        assert.ok(
          probed.every((b) => ["a", "b", "c"].includes(b)),
          probed.join(),
        );
        assert.ok(
          !sse.events.some((e) =>
            e.event === "log" && /"probe-(start|done)"/.test(e.data)
          ),
          "no probe log events reach browsers",
        );
      });

      await t.step("reconnect with Last-Event-ID replays", async () => {
        const [epoch, seq] = backendEventId.split("-");
        const before = `${epoch}-${Number(seq) - 1}`;
        const again = await SseReader.open(`${base}/view/api/events`, before);
        readers.push(again);
        const ev = await again.wait((e) => e.id === backendEventId, "replayed");
        assert.equal(ev.event, "backend");
        assert.ok(!again.events.some((e) => e.event === "resync"));
        // The page's first connect: ?since= the state document's id.
        const fresh = await SseReader.open(
          `${base}/view/api/events?since=${before}`,
        );
        readers.push(fresh);
        assert.equal(
          (await fresh.wait((e) => e.id === backendEventId, "since")).event,
          "backend",
        );
        const doc = await (await fetch(`${base}/view/api/state`)).json();
        assert.match(doc.lastEventId, /^\d+-\d+$/);
        const stale = await SseReader.open(`${base}/view/api/events`, "1-1");
        readers.push(stale);
        await stale.wait((e) => e.event === "resync", "resync");
      });

      await t.step("admin: 401 without or with wrong credentials", async () => {
        for (
          const h of [{}, {
            authorization: "Basic " + btoa("ops:nope"),
          }] as Record<string, string>[]
        ) {
          const r = await fetch(`${base}/admin/`, { headers: h });
          assert.equal(r.status, 401);
          assert.equal(
            r.headers.get("www-authenticate"),
            'Basic realm="maglev", charset="UTF-8"',
          );
          assert.equal(await r.text(), "unauthorized\n");
        }
        const ok = await fetch(`${base}/admin/`, { headers: auth });
        assert.equal(ok.status, 200);
        assert.match(ok.headers.get("content-type")!, /text\/html/);
        await ok.body?.cancel();
        const st = await fetch(`${base}/admin/api/state`, { headers: auth });
        assert.equal((await st.json()).admin, true);
      });

      await t.step("admin: same-origin pause reaches the daemon", async () => {
        const r = await fetch(`${base}/admin/api/action`, {
          method: "POST",
          headers: {
            ...auth,
            origin: base,
            "content-type": "application/json",
          },
          body: JSON.stringify({
            scope: d.grpcAddr,
            action: "pause",
            backend: "a",
          }),
        });
        const j = await r.json();
        assert.equal(r.status, 200, JSON.stringify(j));
        assert.equal(j.ok, true);
        assert.equal(j.result.name, "a");
        const conn = connectMaglev(d.grpcAddr);
        try {
          const b = await conn.client.getBackend({ name: "a" });
          assert.equal(b.state, "paused");
        } finally {
          conn.close();
        }
        // Errors from the daemon come back as one line.
        const bad = await fetch(`${base}/admin/api/action`, {
          method: "POST",
          headers: { ...auth, "sec-fetch-site": "same-origin" },
          body: JSON.stringify({
            scope: d.grpcAddr,
            action: "pause",
            backend: "nosuch",
          }),
        });
        assert.equal(bad.status, 404);
        const bj = await bad.json();
        assert.equal(bj.ok, false);
        assert.match(bj.error, /nosuch/);
        // The dead scope says so.
        const down = await fetch(`${base}/admin/api/action`, {
          method: "POST",
          headers: { ...auth, origin: base },
          body: JSON.stringify({ scope: dead, action: "pause", backend: "a" }),
        });
        assert.equal(down.status, 503);
        await down.body?.cancel();
      });

      await t.step("admin: cross-origin POST is 403", async () => {
        for (
          const h of [
            { origin: "http://evil.example" },
            { "sec-fetch-site": "cross-site", origin: base },
            {},
          ] as Record<string, string>[]
        ) {
          const r = await fetch(`${base}/admin/api/action`, {
            method: "POST",
            headers: { ...auth, ...h },
            body: JSON.stringify({
              scope: d.grpcAddr,
              action: "disable",
              backend: "b",
            }),
          });
          assert.equal(r.status, 403);
          await r.body?.cancel();
        }
        const conn = connectMaglev(d.grpcAddr);
        try {
          assert.notEqual(
            (await conn.client.getBackend({ name: "b" })).state,
            "disabled",
          );
        } finally {
          conn.close();
        }
      });

      await t.step("unknown paths 404, / redirects", async () => {
        const r = await fetch(`${base}/nope`);
        assert.equal(r.status, 404);
        await r.body?.cancel();
        const root = await fetch(`${base}/`, { redirect: "manual" });
        assert.equal(root.status, 302);
        assert.equal(root.headers.get("location"), "/view/");
      });

      await t.step(
        "SIGHUP is ignored; SIGTERM exits 0 within 2 s",
        async () => {
          web.child.kill("SIGHUP");
          await web.waitForRecord((r) => r.msg === "sighup-ignored", "sighup");
          const r = await fetch(`${base}/healthz`);
          assert.equal(r.status, 200);
          await r.body?.cancel();
          const { status, ms } = await web.stop("SIGTERM");
          assert.equal(status.code, 0);
          assert.ok(ms < 2000, `took ${ms} ms`);
        },
      );
    } finally {
      for (const r of readers) await r.close();
      await web.stop("SIGKILL");
    }
  },
});

Deno.test({
  name: "web: /admin/ is 404 without credentials",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { web, base } = startWebProcess([`127.0.0.1:${freePort()}`]);
    try {
      await web.waitForRecord((r) => r.msg === "ready", "web ready");
      for (const p of ["/admin/", "/admin/api/state", "/admin/api/action"]) {
        const r = await fetch(`${base}${p}`, {
          headers: { authorization: "Basic " + btoa("ops:pw") },
        });
        assert.equal(r.status, 404, p);
        await r.body?.cancel();
      }
      const v = await fetch(`${base}/view/`);
      assert.equal(v.status, 200);
      assert.match(await v.text(), /<html/i);
    } finally {
      const { status } = await web.stop("SIGTERM");
      assert.equal(status.code, 0);
    }
  },
});

Deno.test("web: bad credentials file is a clear start-up error", async () => {
  const r = await runMaglev([
    "web",
    "--credentials-file",
    "/nonexistent/creds",
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot read credentials file \/nonexistent\/creds/);
  const u = await runMaglev(["web", "--server", "x"]);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /--server/);
});

Deno.test({
  name: "web: a daemon that goes away is shown as down",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const d = await startDaemon();
    const { web, base } = startWebProcess([d.grpcAddr]);
    let sse: SseReader | undefined;
    try {
      await web.waitForRecord((r) => r.msg === "daemon-connected", "connect");
      sse = await SseReader.open(`${base}/view/api/events`);
      await d.close();
      const ev = await sse.wait((e) => {
        if (e.event !== "scope") return false;
        const j = JSON.parse(e.data);
        return j.id === d.grpcAddr && j.connected === false;
      }, "scope down");
      assert.match(JSON.parse(ev.data).error, /\S/);
      const st = await (await fetch(`${base}/view/api/state`)).json();
      assert.equal(st.scopes[0].scope.connected, false);
    } finally {
      await sse?.close();
      await d.close();
      const { status } = await web.stop("SIGTERM");
      assert.equal(status.code, 0);
    }
  },
});

Deno.test({
  name: "web: browsers that go away mid-stream never take the server down",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // Fast probes: activity events go out every 0.5 s, so some of the
    // disconnects below land while an event is being written to them.
    await using d = await startDaemon({ interval: "10ms" });
    const { web, base } = startWebProcess([d.grpcAddr]);
    try {
      await web.waitForRecord((r) => r.msg === "ready", "web ready");
      let exited = false;
      void web.exited.then(() => exited = true);
      // A browser that stays, to see each activity event go out.
      const watcher = await SseReader.open(`${base}/view/api/events`);
      try {
        // Rounds of 50 browsers that connect, then all leave at once; the
        // next activity event (0.5 s) is written to connections that are
        // gone before the server has noticed.
        for (let round = 0; round < 8 && !exited; round++) {
          const gone = await Promise.all(
            Array.from({ length: 50 }, async () => {
              const ac = new AbortController();
              const res = await fetch(`${base}/view/api/events`, {
                signal: ac.signal,
              });
              const reader = res.body!.getReader();
              await reader.read();
              return { ac, reader };
            }),
          );
          for (const { ac, reader } of gone) {
            ac.abort();
            await reader.cancel().catch(() => {});
          }
          const seen = watcher.events.length;
          await watcher.wait(
            (e) => e.event === "activity" && watcher.events.indexOf(e) >= seen,
            "the next activity event",
          ).catch((e) => {
            if (!exited) throw e;
          });
        }
      } finally {
        await watcher.close();
      }
      assert.equal(exited, false, `maglev web died:\n${web.tail()}`);
      const h = await fetch(`${base}/healthz`);
      assert.equal(h.status, 200);
      await h.body?.cancel();
    } finally {
      const { status } = await web.stop("SIGTERM");
      assert.equal(status.code, 0, web.tail());
    }
  },
});

Deno.test("web: the original's MAGLEV_FRONTEND_USER/PASSWORD turn /admin/ on after a switch", async () => {
  const dead = `127.0.0.1:${freePort()}`;
  const { web, base } = startWebProcess([dead], {
    MAGLEV_FRONTEND_USER: "ops",
    MAGLEV_FRONTEND_PASSWORD: "s3cret-pw",
  });
  try {
    await web.waitForRecord((r) => r.msg === "ready", "web ready");
    const anon = await fetch(`${base}/admin/`);
    assert.equal(anon.status, 401, "admin is on (404 would mean off)");
    await anon.body?.cancel();
    const ok = await fetch(`${base}/admin/api/state`, {
      headers: { authorization: "Basic " + btoa("ops:s3cret-pw") },
    });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  } finally {
    await web.stop("SIGTERM");
  }
});
