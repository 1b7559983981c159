/**
 * Launches Debian's headless Chromium through playwright-core for the browser
 * tests and the screenshot tool. Playwright gives every launch a fresh
 * temporary user-data dir; all network stays on 127.0.0.1.
 */
import { type Browser, chromium } from "playwright-core";

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM = Deno.env.get("MAGLEV_CHROMIUM") ?? "/usr/bin/chromium";

/** Starts headless Chromium with everything that phones home turned off. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
