// runInWorker in a browser: Web Workers sharing the kernel's memory (the browser build's
// workers/web.ts, the same protocol as Node's worker_threads). On a cross-origin isolated page a
// worker faults on a userfaultfd-registered page and blocks (Atomics.wait in the worker) while the
// page's main thread reads the message and COPYs; an AbortSignal ends a worker blocked for good,
// exits its thread, and the kernel stays usable. Without isolation, runInWorker says which
// headers are missing. The package is loaded unbundled with an import map.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { CHROMIUM_MISSING, file, haveChromium, html, launchChromium, loadResult, serve } from "../helpers/browser.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

const WORKER_SCRIPT = `export default (t, d) => t.load32(d.addr);\n`;

const MAIN = `
import { Kernel, runInWorker, abi as A } from "uffdlab";
const r = {};
const tick = () => new Promise((res) => setTimeout(res, 1));
try {
  const k = await Kernel.boot({ memoryBytes: 32 << 20 });
  const p = k.spawn();
  const a = p.mmap(0, 8 * 4096, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
  const src = a + 4 * 4096;
  p.thread.store32(src, 0xc0ffee);
  const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
  uffd.api();
  uffd.register(a, 2 * 4096, A.UFFDIO_REGISTER_MODE_MISSING);
  r.crossOriginIsolated = crossOriginIsolated;
  if (!crossOriginIsolated) {
    r.runInWorkerError = await runInWorker(k, p.newThread(), "/worker-script.js", { addr: a }).then(() => "resolved", (e) => e.message);
    r.afterError = p.thread.load32(src);
  } else {
    // 1. A worker faults on page 0 and blocks; the main thread serves it.
    const done = runInWorker(k, p.newThread(), "/worker-script.js", { addr: a });
    let msgs = [];
    for (let i = 0; i < 10000 && msgs.length === 0; i++) { msgs = uffd.read(); if (!msgs.length) await tick(); }
    r.msgs = msgs.map((m) => m.event + "@" + (m.address - a));
    r.copied = Number(uffd.copy(a, src, 4096));
    r.value = await done;
    // 2. A worker blocked on page 1, never served, is aborted: its thread exits, the kernel lives on.
    const ac = new AbortController();
    const t2 = p.newThread();
    const blocked = runInWorker(k, t2, "/worker-script.js", { addr: a + 4096 }, { signal: ac.signal });
    for (let i = 0; i < 10000 && uffd.read().length === 0; i++) await tick();
    ac.abort(new Error("watchdog"));
    r.aborted = await blocked.then(() => "resolved", (e) => e.message);
    r.afterAbort = p.thread.load32(src);
  }
  r.invariants = k.checkInvariants();
} catch (e) {
  r.error = String((e && e.stack) || e);
}
window.__uffdlab_result = r;
`;

const page = `<!doctype html><html><head><meta charset="utf-8">
<script type="importmap">${JSON.stringify({ imports: { uffdlab: "/dist/browser.js" } })}</script>
</head><body><pre id="result"></pre><script type="module" src="/main.js"></script></body></html>`;

function route(path: string) {
  if (path === "/") return html(page);
  if (path === "/main.js") return { body: MAIN, type: "text/javascript; charset=utf-8" };
  if (path === "/worker-script.js") return { body: WORKER_SCRIPT, type: "text/javascript; charset=utf-8" };
  if (/^\/dist\/[\w.-]+\.js$/.test(path)) return file(join(root, path.slice(1)));
  return null;
}

describe.skipIf(!haveChromium)(`runInWorker with Web Workers in Chromium${haveChromium ? "" : ` — skipped: ${CHROMIUM_MISSING}`}`, () => {
  let browser: Browser;
  const closers: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all(closers.map((c) => c()));
  });

  it("cross-origin isolated: a worker blocks in a userfault and is served by the page; an abort ends a blocked worker", async () => {
    const { url, close } = await serve(route, { isolated: true });
    closers.push(close);
    const { result, log } = await loadResult<Record<string, unknown>>(browser, url);
    expect(result, log.join("\n")).toEqual({
      crossOriginIsolated: true, msgs: ["pagefault@0"], copied: 4096, value: 0xc0ffee,
      aborted: "watchdog", afterAbort: 0xc0ffee, invariants: true,
    });
  });

  it("not isolated: runInWorker names the missing headers; nothing else changes", async () => {
    const { url, close } = await serve(route, { isolated: false });
    closers.push(close);
    const { result, log } = await loadResult<Record<string, unknown>>(browser, url);
    expect(result.error, log.join("\n")).toBeUndefined();
    expect(result.crossOriginIsolated).toBe(false);
    expect(result.afterError).toBe(0xc0ffee);
    expect(result.invariants).toBe(true);
    expect(result.runInWorkerError).toMatch(/cross-origin isolated.*Cross-Origin-Opener-Policy: same-origin.*Cross-Origin-Embedder-Policy: require-corp/);
  });
});
