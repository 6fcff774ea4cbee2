// The async mode on a browser's main thread: tests/browser/page.ts, bundled for the browser
// by esbuild, runs in headless Debian Chromium (driven by playwright-core) from a page on a
// loopback server. Once cross-origin isolated (COOP/COEP: SharedArrayBuffer exposed), once
// not (no COOP/COEP: Chromium still creates the shared Wasm memory, but the page is
// single-threaded by necessity). Both must give the same deterministic results.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import type { PageResult, RunResult } from "./page.js";

const CHROMIUM = "/usr/bin/chromium";
const root = fileURLToPath(new URL("../../", import.meta.url));
/** TOOLCHAIN.md's flags: headless as root, and no background connections on a closed network. */
const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run", "--disable-quic",
];
const RESULT_TIMEOUT_MS = 30_000;

const INDEX_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>uffdlab browser test</title></head>
<body><pre id="result">running…</pre><script type="module" src="/page.js"></script></body></html>
`;

/** A loopback server for the page, its bundle and build/*.wasm; COOP/COEP when `isolated`. */
async function serve(bundleDir: string, isolated: boolean): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const headers: Record<string, string> = { "Cache-Control": "no-store" };
    if (isolated) {
      headers["Cross-Origin-Opener-Policy"] = "same-origin";
      headers["Cross-Origin-Embedder-Policy"] = "require-corp";
    }
    let body: Buffer | string | null = null;
    if (path === "/favicon.ico") {
      res.writeHead(204, headers).end();
      return;
    }
    if (path === "/" || path === "/index.html") {
      headers["Content-Type"] = "text/html; charset=utf-8";
      body = INDEX_HTML;
    } else if (path === "/page.js" || path === "/page.js.map") {
      headers["Content-Type"] = path.endsWith(".js") ? "text/javascript; charset=utf-8" : "application/json";
      body = readFileSync(join(bundleDir, path.slice(1)));
    } else if (/^\/build\/uffdlab\.(debug|release)\.wasm$/.test(path)) {
      const f = join(root, path.slice(1));
      if (existsSync(f)) {
        headers["Content-Type"] = "application/wasm";
        body = readFileSync(f);
      }
    }
    if (body === null) {
      res.writeHead(404, { ...headers, "Content-Type": "text/plain" }).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, headers).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

/** Load the page in a fresh context; resolve with window.__uffdlab_result and what the page logged. */
async function loadPage(browser: Browser, url: string): Promise<{ result: PageResult; log: string[]; ms: number }> {
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
    const result = (await page.evaluate(() => window.__uffdlab_result)) as PageResult;
    const dom = await page.textContent("#result");
    expect(JSON.parse(dom ?? "null"), "the DOM copy of the result").toEqual(result);
    return { result, log, ms: Date.now() - t0 };
  } finally {
    await ctx.close();
  }
}

/** Replay a schedule against the page's thread body: the racy counter it must leave. */
function replayCounter(run: RunResult): number {
  let counter = 0;
  const pc = new Map<number, number>();
  const seen = new Map<number, number>();
  for (const tid of run.schedule) {
    const step = pc.get(tid) ?? 0;
    pc.set(tid, step + 1);
    if (step % 3 === 0) seen.set(tid, counter);
    else if (step % 3 === 1) counter = seen.get(tid)! + 1;
  }
  return counter;
}

/** Every assertion that holds whether or not the page is cross-origin isolated. */
function expectWorkingPage(r: PageResult, log: string[]): void {
  expect(r.error, `page failed:\n${JSON.stringify(r.error, null, 2)}\n${log.join("\n")}`).toBeUndefined();
  expect(r.ok).toBe(true);
  // The kernel's memory is shared, and the main thread cannot block on it.
  expect(r.env.memoryBufferTag).toBe("[object SharedArrayBuffer]");
  expect(r.env.atomicsWaitOnMainThread).toBe("threw TypeError");

  const [a, b, c] = r.runs;
  expect(r.runs).toHaveLength(3);
  expect(a.seed).toBe(b.seed);
  expect(c.seed).not.toBe(a.seed);
  // One turn per operation: 3 per iteration per thread, and both threads took turns.
  for (const run of r.runs) {
    expect(run.tids).toHaveLength(2);
    expect(run.schedule).toHaveLength(3 * r.iter * 2);
    for (const tid of run.tids) expect(run.schedule.filter((x) => x === tid)).toHaveLength(3 * r.iter);
    // memory: each private log exactly, the racy counter as the schedule explains it
    for (const tid of run.tids) expect(run.logs[tid]).toEqual(Array.from({ length: r.iter }, (_, n) => (tid << 16) | n));
    expect(run.counter).toBe(replayCounter(run));
    expect(run.counter).toBeGreaterThanOrEqual(r.iter);
    expect(run.counter).toBeLessThanOrEqual(2 * r.iter);
  }
  expect(b.schedule).toEqual(a.schedule);
  expect(b.counter).toBe(a.counter);
  expect(c.schedule).not.toEqual(a.schedule);

  // SIGSEGV arrives as the host's SegmentationFault, both from the sync API and through k.run.
  const { sync, async: asy } = r.segv!;
  for (const [s, code] of [[sync, 1], [asy, 2]] as const) {
    expect(s.caught).toBe(true);
    expect(s.isSegmentationFault).toBe(true);
    expect(s.isSignalError).toBe(true);
    expect(s.name).toBe("SIGSEGV");
    expect(s.signo).toBe(11);
    expect(s.si_code).toBe(code); // SEGV_MAPERR (unmapped), SEGV_ACCERR (read-only)
    expect(s.addr).toBe(s.expectedAddr);
  }
  expect(r.invariants).toBe(true);
  // The host's own loader works in a browser too (fetch relative to the bundle).
  expect(r.loadKernelModule).toEqual({ ok: true });
}

const haveChromium = existsSync(CHROMIUM);
const SKIP_REASON = `no ${CHROMIUM} (apt-get install chromium)`;

describe.skipIf(!haveChromium)(`browser main thread (Debian Chromium via playwright-core)${haveChromium ? "" : ` — skipped: ${SKIP_REASON}`}`, () => {
  let browser: Browser | undefined;
  let bundleDir: string | undefined;
  const servers: Server[] = [];
  let isolatedUrl = "";
  let plainUrl = "";

  beforeAll(async () => {
    const wasm = join(root, "build/uffdlab.debug.wasm");
    if (!existsSync(wasm)) throw new Error(`${wasm} is missing: run node scripts/build.mjs first`);
    bundleDir = mkdtempSync(join(tmpdir(), "uffdlab-browser-"));
    const esbuild = await import("esbuild");
    await esbuild.build({
      entryPoints: [join(root, "tests/browser/page.ts")],
      outfile: join(bundleDir, "page.js"),
      bundle: true,
      platform: "browser",
      format: "esm",
      target: "es2022",
      external: ["node:*"],
      sourcemap: true,
      logLevel: "warning",
    });
    for (const isolated of [true, false]) {
      const { server, url } = await serve(bundleDir, isolated);
      servers.push(server);
      if (isolated) isolatedUrl = url;
      else plainUrl = url;
    }
    const { chromium } = await import("playwright-core");
    // launch() gives the browser a fresh temporary user-data dir of its own (and refuses
    // --user-data-dir in args); every page below also gets a fresh context.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true, timeout: 30_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all(servers.map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); })));
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  });

  it("cross-origin isolated (COOP/COEP): async threads, deterministic schedules, SIGSEGV, invariants", async () => {
    const { result, log } = await loadPage(browser!, isolatedUrl);
    expectWorkingPage(result, log);
    expect(result.env.crossOriginIsolated).toBe(true);
    expect(result.env.sharedArrayBufferGlobal).toBe(true);
  });

  it("not isolated (no COOP/COEP): still a shared memory, still runs single-threaded, same results", async () => {
    const { result, log } = await loadPage(browser!, plainUrl);
    expectWorkingPage(result, log);
    expect(result.env.crossOriginIsolated).toBe(false);
    // The SharedArrayBuffer constructor is hidden, yet the Wasm memory's buffer is one.
    expect(result.env.sharedArrayBufferGlobal).toBe(false);
    // Deterministic across pages as well: the scheduler depends on the seed alone.
    const iso = await loadPage(browser!, isolatedUrl);
    expect(result.runs.map((r) => r.schedule)).toEqual(iso.result.runs.map((r) => r.schedule));
  });
});
if (!haveChromium) console.warn(`tests/browser skipped: ${SKIP_REASON}`);
