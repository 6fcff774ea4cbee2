/**
 * Headless Debian Chromium for the browser tests, driven by playwright-core (which downloads no
 * browser of its own), and a loopback server for their pages.
 *
 *   const { url, close } = await serve((path) => path === "/" ? page("<p>hi</p>") : null, { isolated: true });
 *   const browser = await launchChromium();
 *   const { result, log } = await loadResult<MyResult>(browser, url);   // waits for window.__uffdlab_result
 */
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname } from "node:path";
import type { Browser } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const haveChromium = existsSync(CHROMIUM);
export const CHROMIUM_MISSING = `no ${CHROMIUM} (apt-get install chromium)`;
/** Headless as root, and no background connections on a closed network. */
const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run", "--disable-quic",
];
const RESULT_TIMEOUT_MS = 30_000;

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  // launch() gives the browser a fresh temporary user-data dir; every page below gets a fresh context.
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true, timeout: 30_000 });
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".map": "application/json", ".json": "application/json", ".wasm": "application/wasm", ".css": "text/css",
};

/** A response body with its content type; `file()` reads one from disk (null when missing). */
export type Body = { body: Buffer | string; type: string };
export const html = (text: string): Body => ({ body: text, type: TYPES[".html"] });
export function file(path: string): Body | null {
  return existsSync(path) ? { body: readFileSync(path), type: TYPES[extname(path)] ?? "application/octet-stream" } : null;
}

/** A loopback server answering `route(pathname)` (404 for null); COOP/COEP headers when `isolated`. */
export async function serve(route: (path: string) => Body | null, opts: { isolated: boolean }): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const headers: Record<string, string> = { "Cache-Control": "no-store" };
    if (opts.isolated) {
      headers["Cross-Origin-Opener-Policy"] = "same-origin";
      headers["Cross-Origin-Embedder-Policy"] = "require-corp";
    }
    if (path === "/favicon.ico") return void res.writeHead(204, headers).end();
    const r = route(path);
    if (!r) return void res.writeHead(404, { ...headers, "Content-Type": "text/plain" }).end(`not found: ${path}`);
    res.writeHead(200, { ...headers, "Content-Type": r.type }).end(r.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

declare global {
  interface Window { __uffdlab_result?: unknown }
}

/** Load `url` in a fresh context and wait for window.__uffdlab_result; also what the page logged. */
export async function loadResult<T>(browser: Browser, url: string): Promise<{ result: T; log: string[]; ms: number; dom: string | null }> {
  const ctx = await browser.newContext();
  const log: string[] = [];
  try {
    const page = await ctx.newPage();
    page.on("console", (m) => log.push(`console.${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));
    page.on("requestfailed", (r) => log.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
    const t0 = Date.now();
    await page.goto(url, { waitUntil: "load" });
    try {
      await page.waitForFunction(() => window.__uffdlab_result !== undefined, null, { timeout: RESULT_TIMEOUT_MS });
    } catch (e) {
      throw new Error(`no window.__uffdlab_result within ${RESULT_TIMEOUT_MS} ms at ${url}\n${log.join("\n")}\n${(e as Error).message}`);
    }
    const result = (await page.evaluate(() => window.__uffdlab_result)) as T;
    return { result, log, ms: Date.now() - t0, dom: await page.textContent("#result").catch(() => null) };
  } finally {
    await ctx.close();
  }
}
