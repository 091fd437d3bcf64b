/**
 * Chromium for the page tests: Debian's build, driven by playwright-core. Playwright probes
 * `/proc/sys/fs/binfmt_misc/WSLInterop` to detect WSL, a path Deno opens only under
 * `--allow-all`; the probe is answered "no" here, so the tests keep their explicit permissions.
 */
import fs from "node:fs";
import type { Browser } from "playwright-core";

/** Where Debian's `apt-get install chromium` puts it. */
export const chromiumPath = "/usr/bin/chromium";

const exists = fs.existsSync;
fs.existsSync = (path: fs.PathLike) => String(path).startsWith("/proc/sys/") ? false : exists(path);

/** Starts a headless chromium, or fails with how to install it. */
export async function launchBrowser(): Promise<Browser> {
  try {
    await Deno.stat(chromiumPath);
  } catch {
    throw new Error(
      `no chromium at ${chromiumPath}: install it with 'apt-get install -y chromium'`,
    );
  }
  const { chromium } = await import("playwright-core");
  return await chromium.launch({
    executablePath: chromiumPath,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
