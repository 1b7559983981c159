/**
 * `deno task screenshots`: regenerates docs/dashboard-view.png and
 * docs/dashboard-admin.png from a live dashboard — two daemons with test
 * backends on loopback (one backend failing), `maglev web`, headless
 * Chromium (Debian's /usr/bin/chromium through playwright-core).
 */
import { startDaemon } from "../tests/helpers/fixture.ts";
import { startWebProcess } from "../tests/helpers/maglev.ts";
import type { Page } from "playwright-core";
import { waitFor } from "../tests/helpers/wait.ts";
import { launchBrowser } from "../tests/web/_browser.ts";

const root = new URL("../", import.meta.url).pathname;
const one = await startDaemon();
const two = await startDaemon({ backends: ["x", "y", "z"] });
const { web, base } = startWebProcess([one.grpcAddr, two.grpcAddr], {
  MAGLEV_WEB_USER: "ops",
  MAGLEV_WEB_PASSWORD: "screenshots",
});
const browser = await launchBrowser();
try {
  await web.waitForRecord((r) => r.msg === "ready", "web ready");
  one.backends.get("b")!.healthy = false;
  const shoot = async (
    path: string,
    file: string,
    auth: boolean,
    live?: (page: Page) => Promise<void>,
  ) => {
    const ctx = await browser.newContext({
      viewport: { width: 1200, height: 900 },
      httpCredentials: auth
        ? { username: "ops", password: "screenshots" }
        : undefined,
    });
    const page = await ctx.newPage();
    await page.goto(`${base}${path}`);
    // Cards start closed: open each, as an operator would (the page keeps
    // them open in its cookie).
    await page.locator("[data-frontend] button.zippy").first().waitFor();
    for (
      const zippy of await page.locator("[data-frontend] button.zippy").all()
    ) {
      if (await zippy.getAttribute("aria-expanded") !== "true") {
        await zippy.click();
      }
    }
    const b = page.locator(
      `[data-frontend="web"] tr[data-backend="b"] .c-state`,
    );
    await waitFor(
      "backend b shown down",
      async () => (await b.textContent())?.includes("down") ? true : undefined,
      15_000,
    );
    await live?.(page);
    await page.screenshot({ path: `${root}docs/${file}`, fullPage: true });
    await ctx.close();
    console.log(`wrote docs/${file}`);
  };
  await shoot("/view/", "dashboard-view.png", false);
  // The admin shot shows the event log: a recovery that happens while the
  // page is open.
  await shoot("/admin/", "dashboard-admin.png", true, async (page) => {
    one.backends.get("b")!.healthy = true;
    await page.locator(".log-lines li", { hasText: "backend b: down → up" })
      .waitFor({ timeout: 15_000 });
  });
} finally {
  await browser.close();
  await web.stop("SIGTERM");
  await one.close();
  await two.close();
}
