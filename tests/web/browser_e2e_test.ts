/**
 * The dashboard end to end in a real headless Chromium (Debian's, driven by
 * playwright-core): real daemons, a real `maglev web` process, the built SPA.
 */
import assert from "node:assert/strict";
import { connectMaglev } from "../../src/api/client.ts";
import { startDaemon } from "../helpers/fixture.ts";
import { freePort, MaglevProcess } from "../helpers/maglev.ts";
import { waitFor } from "../helpers/wait.ts";
import { launchBrowser } from "./_browser.ts";

Deno.test({
  name:
    "browser: two daemons live, a transition without reload, admin auth, pause through the dialog, CSRF refused",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using one = await startDaemon();
    await using two = await startDaemon({ backends: ["x", "y"] });
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const web = new MaglevProcess([
      "web",
      "--listen",
      `127.0.0.1:${port}`,
      "--server",
      `${one.grpcAddr},${two.grpcAddr}`,
      "--log-format",
      "json",
    ], { MAGLEV_WEB_USER: "ops", MAGLEV_WEB_PASSWORD: "s3cret" });
    const browser = await launchBrowser();
    try {
      await web.waitForRecord((r) => r.msg === "ready", "web ready");

      // The view: both daemons as tabs, the first one's frontend card.
      const page = await browser.newPage();
      await page.goto(`${base}/view/`);
      await page.waitForSelector(`[role=tab]:has-text("${one.grpcAddr}")`);
      await page.waitForSelector(`[role=tab]:has-text("${two.grpcAddr}")`);
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
      const pause = admin.locator(
        `[data-frontend="web"] tr[data-backend="a"] [data-action="pause"]`,
      );
      await pause.waitFor();
      await pause.click();
      const dialog = admin.locator("dialog.confirm[open]");
      await dialog.waitFor();
      const text = await dialog.locator("#confirm-text").textContent() ?? "";
      assert.ok(text.length > 20, `the dialog explains the effect: "${text}"`);
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
      await ctx.close();
    } finally {
      await browser.close();
      await web.stop("SIGTERM");
    }
  },
});
