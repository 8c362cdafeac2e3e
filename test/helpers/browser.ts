/**
 * A headless Chromium for the web UI tests: the one `@sparticuz/chromium` ships inside its npm
 * package (unpacked to the OS temp dir on first use), or a system one named by
 * `REELAY_CHROMIUM_PATH`. Driven by `playwright-core`, so `npm ci` is all a machine needs.
 */
import chromium from "@sparticuz/chromium";
import { type Browser, chromium as playwright } from "playwright-core";

export async function launchBrowser(): Promise<Browser> {
  const executablePath = process.env.REELAY_CHROMIUM_PATH || (await chromium.executablePath());
  return playwright.launch({
    executablePath,
    headless: true,
    // No update checks, field trials or other calls home: tests talk to loopback only.
    args: [...chromium.args, "--disable-background-networking"],
  });
}
