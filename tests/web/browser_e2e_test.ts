/**
 * The dashboard end to end in a real headless Chromium (Debian's, driven by
 * playwright-core): real daemons, a real `maglev web` process, the built SPA.
 */
import assert from "node:assert/strict";
import { connectMaglev } from "../../src/api/client.ts";
import { buildFakeVpp, fakeVppFiles } from "../helpers/fakevpp.ts";
import { startDaemon, STEADY_PROBES } from "../helpers/fixture.ts";
import { freePort, startWebProcess } from "../helpers/maglev.ts";
import { waitFor } from "../helpers/wait.ts";
import type { BrowserContext, Page } from "playwright-core";
import { launchBrowser } from "./_browser.ts";

/** Where the dashboard keeps the cards an operator opened. */
const ZIPPY_COOKIE = "maglev_zippy_open";

/**
 * Opens a frontend's card the way an operator does, with a click on its
 * head: cards start closed unless the cookie says otherwise.
 */
async function openCard(page: Page, frontend = "web"): Promise<void> {
  const zippy = page.locator(`[data-frontend="${frontend}"] button.zippy`);
  await zippy.waitFor();
  if (await zippy.getAttribute("aria-expanded") !== "true") {
    await zippy.click();
  }
  await page.locator(`[data-frontend="${frontend}"] .card-body`).waitFor();
}

/** The open/closed cards the page remembered, from its cookie. */
async function zippyCookie(
  ctx: BrowserContext,
  base: string,
): Promise<Record<string, boolean> | undefined> {
  const c = (await ctx.cookies(base)).find((c) => c.name === ZIPPY_COOKIE);
  return c === undefined ? undefined : JSON.parse(decodeURIComponent(c.value));
}

Deno.test({
  name:
    "browser: two daemons live, a transition without reload, admin auth, pause through the dialog, CSRF refused",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using one = await startDaemon();
    await using two = await startDaemon({ backends: ["x", "y"] });
    const { web, base } = startWebProcess([one.grpcAddr, two.grpcAddr], {
      MAGLEV_WEB_USER: "ops",
      MAGLEV_WEB_PASSWORD: "s3cret",
    });
    const browser = await launchBrowser();
    try {
      await web.waitForRecord((r) => r.msg === "ready", "web ready");

      // The view: both daemons as tabs, the first one's frontend card.
      const page = await browser.newPage();
      await page.goto(`${base}/view/`);
      await page.waitForSelector(`[role=tab]:has-text("${one.grpcAddr}")`);
      await page.waitForSelector(`[role=tab]:has-text("${two.grpcAddr}")`);
      await openCard(page);
      const row = (b: string) =>
        page.locator(`[data-frontend="web"] tr[data-backend="${b}"] .c-state`);
      await waitFor(
        "backend c up in the page",
        async () =>
          (await row("c").textContent())?.includes("up") ? true : undefined,
      );

      // A transition caused by the test appears without a reload.
      one.backends.get("c")!.healthy = false;
      await waitFor(
        "backend c down in the page",
        async () =>
          (await row("c").textContent())?.includes("down") ? true : undefined,
      );
      assert.equal(
        await page.locator("[data-action]").count(),
        0,
        "no actions in /view/",
      );

      // /admin/ needs the login.
      const anon = await fetch(`${base}/admin/`);
      assert.equal(anon.status, 401);
      assert.equal((await anon.text()).includes("s3cret"), false);
      const ctx = await browser.newContext({
        httpCredentials: { username: "ops", password: "s3cret" },
      });
      const admin = await ctx.newPage();
      await admin.goto(`${base}/admin/`);
      await openCard(admin);
      const pause = admin.locator(
        `[data-frontend="web"] tr[data-backend="a"] [data-action="pause"]`,
      );
      await pause.waitFor();
      await pause.click();
      const dialog = admin.locator("dialog.confirm[open]");
      await dialog.waitFor();
      const text = await dialog.locator("#confirm-text").textContent() ?? "";
      // It says in words what happens to traffic.
      assert.match(
        text,
        /^Pause a: health checks stop .*keeps its current weight/,
      );
      await dialog.locator("button[type=submit]").click();
      const { client, close } = connectMaglev(one.grpcAddr);
      try {
        await waitFor(
          "a paused on the daemon",
          async () =>
            (await client.getBackend({ name: "a" })).state === "paused"
              ? true
              : undefined,
        );
      } finally {
        close();
      }

      // A cross-origin POST with valid credentials is refused.
      const csrf = await fetch(`${base}/admin/api/action`, {
        method: "POST",
        headers: {
          authorization: "Basic " + btoa("ops:s3cret"),
          origin: "http://evil.example",
          "content-type": "application/json",
        },
        body: JSON.stringify({
          scope: one.grpcAddr,
          action: "disable",
          backend: "b",
        }),
      });
      assert.equal(csrf.status, 403);
      await csrf.body?.cancel();
      // Nor does a forged X-Forwarded-Host make it same-origin: this
      // client is not one of --trusted-proxies.
      const forged = await fetch(`${base}/admin/api/action`, {
        method: "POST",
        headers: {
          authorization: "Basic " + btoa("ops:s3cret"),
          origin: "http://evil.example",
          "x-forwarded-host": "evil.example",
          "content-type": "application/json",
        },
        body: JSON.stringify({
          scope: one.grpcAddr,
          action: "disable",
          backend: "b",
        }),
      });
      assert.equal(forged.status, 403);
      await forged.body?.cancel();
      await ctx.close();
    } finally {
      await browser.close();
      await web.stop("SIGTERM");
    }
  },
});

/** Relative luminance (0 black .. 1 white) of a CSS `rgb(...)` colour. */
function luminance(css: string): number {
  const m = /rgba?\((\d+), (\d+), (\d+)/.exec(css);
  if (!m) throw new Error(`not an rgb colour: ${css}`);
  const [r, g, b] = m.slice(1, 4).map((v) => Number(v) / 255);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

Deno.test({
  name:
    "browser: phone width without sideways scrolling, dark mode, scope and card cookies, a daemon down at start",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using one = await startDaemon();
    // Nothing listens there: the daemon is "down at start".
    const dead = `127.0.0.1:${freePort()}`;
    const { web, base } = startWebProcess([one.grpcAddr, dead]);
    const browser = await launchBrowser();
    try {
      await web.waitForRecord((r) => r.msg === "ready", "web ready");
      const stateOf = (page: Page, b: string) =>
        page.locator(`[data-frontend="web"] tr[data-backend="${b}"] .c-state`);

      // A phone: every backend row readable, nothing wider than the screen.
      const phone = await browser.newContext({
        viewport: { width: 375, height: 740 },
        deviceScaleFactor: 2,
        isMobile: true,
        hasTouch: true,
      });
      const p = await phone.newPage();
      await p.goto(`${base}/view/`);
      await openCard(p);
      await waitFor(
        "rows rendered on the phone",
        async () =>
          (await stateOf(p, "c").textContent())?.includes("up")
            ? true
            : undefined,
      );
      const widths = await p.evaluate(
        `[document.documentElement.scrollWidth, window.innerWidth]`,
      ) as [number, number];
      assert.ok(
        widths[0] <= widths[1],
        `page is ${widths[0]} px wide on a ${widths[1]} px screen`,
      );
      for (const b of ["a", "b", "c"]) {
        const box = await stateOf(p, b).boundingBox();
        assert.ok(box, `state of ${b} is visible`);
        assert.ok(
          box.x >= 0 && box.x + box.width <= widths[1],
          `state of ${b} fits the screen: ${JSON.stringify(box)}`,
        );
      }
      // Each pool's caption stays on one line, not squeezed to a word (or a
      // letter) a line.
      const captions = await p.evaluate(
        `[...document.querySelectorAll("[data-frontend=web] .pool caption")]
          .map((c) => c.getBoundingClientRect().height)`,
      ) as number[];
      assert.equal(captions.length, 2);
      for (const h of captions) {
        assert.ok(h < 40, `a pool caption is ${h} px high on the phone`);
      }
      await phone.close();

      // Dark mode follows the system setting, with readable contrast.
      const colours = async (scheme: "light" | "dark") => {
        const ctx = await browser.newContext({ colorScheme: scheme });
        const page = await ctx.newPage();
        await page.goto(`${base}/view/`);
        await page.locator("[data-frontend]").first().waitFor();
        const [bg, fg] = await page.evaluate(
          `(() => { const s = getComputedStyle(document.body);
            return [s.backgroundColor, s.color]; })()`,
        ) as [string, string];
        await ctx.close();
        return { bg: luminance(bg), fg: luminance(fg) };
      };
      const light = await colours("light");
      const dark = await colours("dark");
      assert.ok(light.bg > 0.8 && light.fg < 0.2, JSON.stringify(light));
      assert.ok(dark.bg < 0.2 && dark.fg > 0.6, JSON.stringify(dark));

      // The chosen daemon and a collapsed card survive a reload (cookies);
      // the daemon that is down says so.
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await page.goto(`${base}/view/`);
      const deadTab = page.locator(`[role=tab]:has-text("${dead}")`);
      await deadTab.waitFor();
      assert.match(await deadTab.textContent() ?? "", /disconnected/);
      // Keyboard: arrow right from the first tab selects the second.
      await page.locator(`[role=tab]:has-text("${one.grpcAddr}")`).focus();
      await page.keyboard.press("ArrowRight");
      await waitFor(
        "dead daemon's tab selected",
        async () =>
          await deadTab.getAttribute("aria-selected") === "true"
            ? true
            : undefined,
      );
      await page.getByText(`Daemon ${dead} is unreachable`).waitFor();
      await page.reload();
      await page.getByText(`Daemon ${dead} is unreachable`).waitFor();
      assert.equal(await deadTab.getAttribute("aria-selected"), "true");
      const cookies = await ctx.cookies(base);
      assert.equal(
        decodeURIComponent(
          cookies.find((c) => c.name === "maglev_scope")?.value ?? "",
        ),
        dead,
      );

      // Cards start closed, as in the original dashboard; the cookie keeps
      // the ones the operator opened (and closed again).
      await page.locator(`[role=tab]:has-text("${one.grpcAddr}")`).click();
      const zippy = page.locator(`[data-frontend="web"] button.zippy`);
      await zippy.waitFor();
      assert.equal(await zippy.getAttribute("aria-expanded"), "false");
      assert.equal(await stateOf(page, "a").count(), 0, "closed at first");
      assert.equal(await zippyCookie(ctx, base), undefined);
      await zippy.click();
      assert.equal(await zippy.getAttribute("aria-expanded"), "true");
      await stateOf(page, "a").waitFor();
      const card = `${one.grpcAddr}/web`;
      assert.deepEqual(await zippyCookie(ctx, base), { [card]: true });
      // Without VPP (--vpp=false) there are no LB buckets to show.
      assert.equal(
        await page.locator(
          `[data-frontend="web"] tr[data-backend="a"] .c-buckets`,
        ).textContent(),
        "–",
      );
      await page.reload();
      await zippy.waitFor();
      assert.equal(await zippy.getAttribute("aria-expanded"), "true");
      await stateOf(page, "a").waitFor();
      await zippy.click();
      assert.equal(await zippy.getAttribute("aria-expanded"), "false");
      assert.equal(await stateOf(page, "a").count(), 0, "collapsed card");
      assert.deepEqual(await zippyCookie(ctx, base), { [card]: false });
      await page.reload();
      await zippy.waitFor();
      assert.equal(await zippy.getAttribute("aria-expanded"), "false");
      assert.equal(await stateOf(page, "a").count(), 0, "still collapsed");
      await ctx.close();
    } catch (e) {
      throw new Error(`${e}\nmaglev web's log:\n${web.tail(40)}`);
    } finally {
      await browser.close();
      await web.stop("SIGTERM");
    }
  },
});

Deno.test({
  name:
    "browser: a tripped min-healthy guard is a banner; an admin confirms the failures through the dialog",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using one = await startDaemon({ minHealthy: "60%" });
    const { web, base } = startWebProcess([one.grpcAddr], {
      MAGLEV_WEB_USER: "ops",
      MAGLEV_WEB_PASSWORD: "s3cret",
    });
    const browser = await launchBrowser();
    const { client, close } = connectMaglev(one.grpcAddr);
    try {
      await web.waitForRecord((r) => r.msg === "ready", "web ready");
      const ctx = await browser.newContext({
        httpCredentials: { username: "ops", password: "s3cret" },
      });
      const page = await ctx.newPage();
      await page.goto(`${base}/admin/`);
      await openCard(page);
      const effective = async () =>
        Object.fromEntries(
          (await client.getFrontend({ name: "web" })).pools.flatMap((p) =>
            p.backends.map((b) => [b.name, b.effectiveWeight])
          ),
        );
      await waitFor(
        "a and b serving",
        async () => {
          const w = await effective();
          return w.a === 100 && w.b === 100 ? true : undefined;
        },
        15_000,
      );
      // a and b stop answering at once: timeouts, not refusals.
      one.backends.get("a")!.hang = true;
      one.backends.get("b")!.hang = true;
      const banner = page.locator(
        `[data-frontend="web"] [data-guard="tripped"]`,
      );
      await banner.waitFor({ timeout: 20_000 });
      // One goes down first, then the other: the banner follows.
      const text = await waitFor(
        "the banner holding a and b",
        async () => {
          const t = await banner.textContent() ?? "";
          return t.includes("holding a, b") ? t : undefined;
        },
        10_000,
      );
      assert.match(
        text,
        /Mass-failure guard holding a, b at their last good weights/,
      );
      assert.match(text, /min-healthy 60%/);
      // Held in the daemon too: down by their checks, serving by the guard.
      const held = await client.getFrontend({ name: "web" });
      assert.equal(held.guard?.tripped, true);
      assert.deepEqual(held.guard?.heldBackends, ["a", "b"]);
      assert.deepEqual(await effective(), { a: 100, b: 100, c: 0 });

      await banner.locator(`[data-action="confirm-guard"]`).click();
      const dialog = page.locator("dialog.confirm[open]");
      await dialog.waitFor();
      assert.match(
        await dialog.locator("#confirm-text").textContent() ?? "",
        /^Let the failures through in frontend web: a, b lose the weight/,
      );
      await dialog.locator("button[type=submit]").click();
      await banner.waitFor({ state: "detached", timeout: 10_000 });
      await waitFor(
        "a and b out, c serving",
        async () => {
          const w = await effective();
          return w.a === 0 && w.b === 0 && w.c === 100 ? true : undefined;
        },
      );
      assert.equal(
        (await client.getFrontend({ name: "web" })).guard?.tripped,
        false,
      );
      await ctx.close();
    } finally {
      close();
      await browser.close();
      await web.stop("SIGTERM");
    }
  },
});

Deno.test({
  name:
    "browser: LB buckets show the bucket counts VPP reports (stand-in VPP), the share beside them; the page links our icon",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const lib = await buildFakeVpp();
    await using files = await fakeVppFiles({ timeout_scale_ms: 100 });
    await using one = await startDaemon({
      probe: STEADY_PROBES,
      vpp: { lib, env: files.env },
    });
    // VPP's buckets per backend as the daemon reports them, once a and b
    // carry the VIP; steady probes keep them there for the test.
    const { client, close } = connectMaglev(one.grpcAddr);
    let buckets: Record<string, number>;
    try {
      buckets = await waitFor(
        "VPP buckets for a and b",
        async () => {
          const st = await client.getVPPLBState({});
          const vip = st.vips.find((v) => v.frontend === "web");
          const m = Object.fromEntries(
            (vip?.ases ?? []).map((a) => [a.backend, a.buckets]),
          );
          return m.a > 0 && m.b > 0 ? m : undefined;
        },
        15_000,
      );
    } finally {
      close();
    }
    const total = Object.values(buckets).reduce((s, n) => s + n, 0);
    const { web, base } = startWebProcess([one.grpcAddr]);
    const browser = await launchBrowser();
    try {
      await web.waitForRecord((r) => r.msg === "ready", "web ready");
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await page.goto(`${base}/view/`);
      await openCard(page);
      const cell = (b: string) =>
        page.locator(
          `[data-frontend="web"] tr[data-backend="${b}"] .c-buckets`,
        );
      assert.equal(
        await page.locator(`[data-frontend="web"] thead th`).nth(4)
          .textContent(),
        "LB buckets",
      );
      for (const b of ["a", "b", "c"]) {
        const want = String(buckets[b] ?? 0);
        await waitFor(
          `${b}'s LB buckets shown`,
          async () =>
            await cell(b).locator(".buckets").textContent() === want
              ? true
              : undefined,
        );
        const share = `${Math.round(((buckets[b] ?? 0) * 100) / total)}%`;
        assert.equal(await cell(b).locator(".share").textContent(), share);
        assert.equal(
          await cell(b).getAttribute("title"),
          `${share} of the VIP's ${total} buckets in VPP`,
        );
      }
      assert.equal(buckets.c ?? 0, 0, "the backup pool has no buckets");

      // The page names our icon, and the browser can load both forms.
      const icons = await page.evaluate(
        `Promise.all([...document.querySelectorAll("link[rel=icon]")].map(
          async (l) => {
            const r = await fetch(l.href);
            return [new URL(l.href).pathname, r.status,
              r.headers.get("content-type")];
          }))`,
      );
      assert.deepEqual(icons, [
        ["/view/favicon.ico", 200, "image/x-icon"],
        ["/view/favicon.svg", 200, "image/svg+xml"],
      ]);
      await ctx.close();
    } catch (e) {
      throw new Error(`${e}\nmaglev web's log:\n${web.tail(40)}`);
    } finally {
      await browser.close();
      await web.stop("SIGTERM");
    }
  },
});
