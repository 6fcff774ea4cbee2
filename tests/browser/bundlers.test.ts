// The package in a browser, loaded every way a web app loads it, with no configuration: the
// packed tarball extracted into an app's node_modules, one small page (a fault, a userfault
// served with UFFDIO_COPY, the invariants), then (1) unbundled with an import map, (2) bundled by
// esbuild for the browser, (3) built by Vite, (4) served by Vite's dev server (which pre-bundles
// dependencies). Each runs in headless Chromium and must give the same result.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { CHROMIUM_MISSING, file, haveChromium, html, launchChromium, loadResult, serve } from "../helpers/browser.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

const MAIN = `
import { Kernel, WouldBlockError, abi as A } from "uffdlab";
const r = {};
try {
  const k = await Kernel.boot({ memoryBytes: 16 << 20 });
  const p = k.spawn();
  const a = p.mmap(0, 8 * 4096, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
  const src = a + 4 * 4096;
  p.thread.store32(src, 0xc0ffee);
  const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
  uffd.api();
  uffd.register(a, 4096, A.UFFDIO_REGISTER_MODE_MISSING);
  const t = p.newThread(); // the faulter; the main thread handles
  try { t.load32(a); } catch (e) { r.blocked = e instanceof WouldBlockError; }
  r.msg = uffd.read().map((m) => m.event + "@" + (m.address - a));
  r.copied = Number(uffd.copy(a, src, 4096));
  r.value = t.load32(a);
  r.invariants = k.checkInvariants();
} catch (e) {
  r.error = String((e && e.stack) || e);
}
window.__uffdlab_result = r;
`;
const EXPECTED = { blocked: true, msg: ["pagefault@0"], copied: 4096, value: 0xc0ffee, invariants: true };
const page = (head: string, script: string) =>
  `<!doctype html><html><head><meta charset="utf-8">${head}</head><body><pre id="result"></pre><script type="module" src="${script}"></script></body></html>`;

describe.skipIf(!haveChromium)(`the package in a browser: import map, esbuild, Vite build, Vite dev${haveChromium ? "" : ` — skipped: ${CHROMIUM_MISSING}`}`, () => {
  let dir = "";
  let app = "";
  let browser: Browser;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "uffdlab-bundlers-"));
    const pack = spawnSync("npm", ["pack", "--json", "--pack-destination", dir], { cwd: root, encoding: "utf8", timeout: 300_000 });
    if (pack.status !== 0) throw new Error(`npm pack failed: ${pack.stderr}`);
    const tgz = join(dir, (JSON.parse(pack.stdout) as { filename: string }[])[0].filename);
    app = join(dir, "app");
    const pkg = join(app, "node_modules", "uffdlab");
    mkdirSync(pkg, { recursive: true });
    const tar = spawnSync("tar", ["xzf", tgz, "-C", pkg, "--strip-components=1"], { encoding: "utf8" });
    if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    writeFileSync(join(app, "main.js"), MAIN);
    writeFileSync(join(app, "index.html"), page("", "/main.js"));
    browser = await launchChromium();
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(closers.map((c) => c()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function check(url: string) {
    const { result, log } = await loadResult<Record<string, unknown>>(browser, url);
    expect(result, log.join("\n")).toEqual(EXPECTED);
  }

  it("unbundled, with an import map", async () => {
    const importMap = `<script type="importmap">${JSON.stringify({ imports: { uffdlab: "/node_modules/uffdlab/dist/browser.js" } })}</script>`;
    const { url, close } = await serve((p) => (p === "/" ? html(page(importMap, "/main.js")) : file(join(app, p))), { isolated: false });
    closers.push(close);
    await check(url);
  });

  it("bundled by esbuild for the browser (no externals, no options beyond --bundle)", async () => {
    const esbuild = await import("esbuild");
    const out = join(dir, "esbuild");
    await esbuild.build({ entryPoints: [join(app, "main.js")], outdir: out, bundle: true, platform: "browser", format: "esm", logLevel: "silent", absWorkingDir: app });
    const { url, close } = await serve((p) => (p === "/" ? html(page("", "/main.js")) : file(join(out, p))), { isolated: true });
    closers.push(close);
    await check(url);
  });

  it("built by Vite (no config file)", async () => {
    const vite = await import("vite");
    const out = join(dir, "vite-dist");
    await vite.build({ root: app, configFile: false, logLevel: "silent", build: { outDir: out, emptyOutDir: true, target: "es2022" } });
    const { url, close } = await serve((p) => file(join(out, p === "/" ? "index.html" : p)), { isolated: false });
    closers.push(close);
    await check(url);
  }, 120_000);

  it("served by Vite's dev server (dependencies pre-bundled; no config file)", async () => {
    const vite = await import("vite");
    const server = await vite.createServer({ root: app, configFile: false, logLevel: "silent", server: { host: "127.0.0.1", port: 0, strictPort: false } });
    await server.listen();
    closers.push(() => server.close());
    const addr = server.httpServer!.address() as { port: number };
    await check(`http://127.0.0.1:${addr.port}/`);
  }, 120_000);
});
