// The async mode on a browser's main thread: tests/browser/page.ts, bundled for the browser
// by esbuild, runs in headless Debian Chromium (driven by playwright-core) from a page on a
// loopback server. Once cross-origin isolated (COOP/COEP: SharedArrayBuffer exposed), once
// not (no COOP/COEP: Chromium still creates the shared Wasm memory, but the page is
// single-threaded by necessity). Both must give the same deterministic results.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import type { PageResult, RunResult } from "./page.js";
import { CHROMIUM_MISSING, file, haveChromium, html, launchChromium, loadResult, serve } from "../helpers/browser.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

const INDEX_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>uffdlab browser test</title></head>
<body><pre id="result">running…</pre><script type="module" src="/page.js"></script></body></html>
`;

/** The page, its bundle, and build/*.wasm (for the loader's fetch by URL). */
function route(bundleDir: string) {
  return (path: string) => {
    if (path === "/" || path === "/index.html") return html(INDEX_HTML);
    if (path === "/page.js" || path === "/page.js.map") return file(join(bundleDir, path.slice(1)));
    if (/^\/build\/uffdlab\.(debug|release)\.wasm$/.test(path)) return file(join(root, path.slice(1)));
    return null;
  };
}

async function loadPage(browser: Browser, url: string): Promise<{ result: PageResult; log: string[]; ms: number }> {
  const r = await loadResult<PageResult>(browser, url);
  expect(JSON.parse(r.dom ?? "null"), "the DOM copy of the result").toEqual(r.result);
  return r;
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
  // The loader: both bundled kernels, a kernel fetched by URL, and a clear error for a URL that is not there.
  expect(r.loadKernelModule).toEqual({
    bundled: [true, true], byUrl: true,
    missing: expect.stringMatching(/^uffdlab: cannot load the kernel module from http:\/\/127\.0\.0\.1:\d+\/build\/no-such\.wasm: HTTP 404 Not Found$/),
  });
}

const SKIP_REASON = CHROMIUM_MISSING;

describe.skipIf(!haveChromium)(`browser main thread (Debian Chromium via playwright-core)${haveChromium ? "" : ` — skipped: ${SKIP_REASON}`}`, () => {
  let browser: Browser | undefined;
  let bundleDir: string | undefined;
  const closers: (() => Promise<void>)[] = [];
  let isolatedUrl = "";
  let plainUrl = "";

  beforeAll(async () => {
    bundleDir = mkdtempSync(join(tmpdir(), "uffdlab-browser-"));
    const esbuild = await import("esbuild");
    // As a user bundles it: no externals, so a node:* import anywhere in the browser build fails here.
    await esbuild.build({
      entryPoints: [join(root, "tests/browser/page.ts")],
      outfile: join(bundleDir, "page.js"),
      bundle: true,
      platform: "browser",
      format: "esm",
      target: "es2022",
      sourcemap: true,
      logLevel: "warning",
    });
    for (const isolated of [true, false]) {
      const { url, close } = await serve(route(bundleDir), { isolated });
      closers.push(close);
      if (isolated) isolatedUrl = url;
      else plainUrl = url;
    }
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all(closers.map((c) => c()));
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
