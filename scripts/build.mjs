// The whole build, run by `npm start` and `npm test` (and `npm run build`):
//   1. host-ts/abi.gen.ts from kernel-as/abi (scripts/gen-abi.mjs)
//   2. the kernel, twice (the targets of asconfig.json), through asc's JS API in this process:
//        build/uffdlab.debug.wasm    CONFIG_DEBUG_VM=1: invariant checker, assertions
//        build/uffdlab.release.wasm  -O3, checks compiled out
//   3. the host, bundled by esbuild: dist/index.js (library), dist/cli.js (the uffdlab bin),
//      dist/worker.js (worker-thread entry); dist/browser.js (the library for browsers: no node:*
//      imports; kernel-bytes.browser.ts and workers/web.ts stand in for their Node modules) with
//      dist/kernel-{debug,release}.wasm.js (each kernel as base64, imported by it on demand) and
//      dist/web-worker.src.js (the Web Worker entry as a string, for a blob: URL); and
//      the library's declarations, dist/types/**.d.ts, emitted by tsc from host-ts (tsconfig.types.json)
//   4. the playground (`uffdlab serve`): playground/ built by Vite into dist/playground/, its
//      `uffdlab` imports bound to dist/browser.js — the page runs the browser build as a user's would
// Steps whose inputs have not changed since the last build are skipped.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync, existsSync, mkdirSync, readdirSync, chmodSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { generateAbi } from "./gen-abi.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const force = process.argv.includes("--force");

function walk(dir, exts) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, exts));
    else if (exts.some((x) => e.name.endsWith(x))) out.push(p);
  }
  return out.sort();
}

function digest(files, extra = "") {
  const h = createHash("sha256");
  h.update(extra);
  for (const f of files) h.update(f).update(readFileSync(f));
  return h.digest("hex");
}

function upToDate(stamp, hash, outputs) {
  if (force) return false;
  const p = join(root, "build", `.${stamp}.stamp`);
  return existsSync(p) && readFileSync(p, "utf8") === hash && outputs.every((o) => existsSync(join(root, o)));
}
function stampDone(stamp, hash) {
  writeFileSync(join(root, "build", `.${stamp}.stamp`), hash);
}

/** The two kernel builds: targets of asconfig.json (which holds every compiler option). */
const KERNELS = [
  { target: "debug", out: "build/uffdlab.debug.wasm" },
  { target: "release", out: "build/uffdlab.release.wasm" },
];

async function buildKernels() {
  const sources = walk(join(root, "kernel-as"), [".ts"]);
  const asc = await import("assemblyscript/asc");
  const hash = digest([...sources, join(root, "asconfig.json")], JSON.stringify([KERNELS, asc.version]));
  if (upToDate("kernel", hash, KERNELS.map((k) => k.out))) return false;
  for (const k of KERNELS) {
    let stderr = "";
    const { error } = await asc.main(["--config", "asconfig.json", "--target", k.target], {
      stdout: { write: () => true },
      stderr: { write: (s) => { stderr += s; return true; } },
      baseDir: root,
    });
    if (error) {
      process.stderr.write(stderr);
      throw new Error(`asc failed for ${k.out}: ${error.message}`);
    }
  }
  stampDone("kernel", hash);
  return true;
}

async function buildHost() {
  const sources = [...walk(join(root, "host-ts"), [".ts"]), ...walk(join(root, "bench"), [".ts"])];
  const hash = digest(sources);
  const outputs = ["dist/index.js", "dist/cli.js", "dist/worker.js", "dist/browser.js", "dist/web-worker.src.js", "dist/types/index.d.ts"];
  if (upToDate("host", hash, outputs)) return false;
  const esbuild = await import("esbuild");
  const common = { bundle: true, platform: "node", format: "esm", target: "node20", sourcemap: true, logLevel: "warning",
    packages: "external" };
  await esbuild.build({ ...common, entryPoints: { index: "host-ts/index.ts", cli: "host-ts/cli.ts", worker: "host-ts/workers/worker.ts" },
    outdir: "dist", absWorkingDir: root, banner: { js: "" } });
  await esbuild.build({ ...common, platform: "browser", target: "es2022", packages: undefined, entryPoints: { browser: "host-ts/index.ts" },
    outdir: "dist", absWorkingDir: root, plugins: [browserModules] });
  // The Web Worker entry, as a string module that workers/web.ts starts from a blob: URL.
  const ww = await esbuild.build({ ...common, platform: "browser", target: "es2022", packages: undefined, sourcemap: false, write: false,
    entryPoints: ["host-ts/workers/web-worker.ts"], absWorkingDir: root, plugins: [browserModules] });
  writeFileSync(join(root, "dist/web-worker.src.js"),
    `// host-ts/workers/web-worker.ts bundled (scripts/build.mjs), started by dist/browser.js from a blob: URL.\nexport default ${JSON.stringify(ww.outputFiles[0].text)};\n`);
  const cli = join(root, "dist/cli.js");
  writeFileSync(cli, "#!/usr/bin/env node\n" + readFileSync(cli, "utf8").replace(/^#!.*\n/, ""));
  chmodSync(cli, 0o755);
  const tsc = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.types.json"],
    { cwd: root, encoding: "utf8" });
  if (tsc.status !== 0) throw new Error(`tsc (declarations) failed:\n${tsc.stdout}${tsc.stderr}`);
  stampDone("host", hash);
  return true;
}

/**
 * The browser build's module swaps: a Node module `X.js` of host-ts with a browser twin is
 * replaced by it, and the kernel bytes' modules stay runtime imports beside dist/browser.js.
 */
const BROWSER_TWINS = { "./kernel-bytes.js": "host-ts/kernel-bytes.browser.ts", "./workers/pool.js": "host-ts/workers/web.ts" };
const browserModules = {
  name: "uffdlab-browser",
  setup(b) {
    b.onResolve({ filter: /^\.\/(kernel-bytes|workers\/pool)\.js$/ }, (a) =>
      a.importer.startsWith(join(root, "host-ts")) && dirname(a.importer) === join(root, "host-ts") ? { path: join(root, BROWSER_TWINS[a.path]) } : undefined);
    b.onResolve({ filter: /^\.\/(kernel-(debug|release)\.wasm|web-worker\.src)\.js$/ }, (a) => ({ path: a.path, external: true }));
    b.onResolve({ filter: /^node:/ }, (a) => ({ errors: [{ text: `the browser build imports ${a.path} (from ${a.importer})` }] }));
  },
};

/** dist/kernel-<build>.wasm.js: the kernel as base64, for the browser build. */
function writeKernelModules() {
  for (const k of KERNELS) {
    const out = join(root, "dist", `kernel-${k.target}.wasm.js`);
    const b64 = readFileSync(join(root, k.out)).toString("base64");
    writeFileSync(out, `// ${k.out} as base64 (scripts/build.mjs), loaded by dist/browser.js.\nexport default "${b64}";\n`);
  }
}

/** dist/playground/: the page of `uffdlab serve`, built by Vite from playground/ over dist/browser.js. */
async function buildPlayground() {
  const inputs = [...walk(join(root, "playground"), [".ts", ".html", ".css"]), join(root, "dist/browser.js"), fileURLToPath(import.meta.url),
    ...KERNELS.map((k) => join(root, "dist", `kernel-${k.target}.wasm.js`))];
  const viteVersion = JSON.parse(readFileSync(join(root, "node_modules/vite/package.json"), "utf8")).version;
  const hash = digest(inputs, viteVersion);
  if (upToDate("playground", hash, ["dist/playground/index.html"])) return false;
  const vite = await import("vite");
  const entry = join(root, "host-ts/index.ts");
  await vite.build({
    configFile: false, root: join(root, "playground"), base: "./", logLevel: "warn", publicDir: false,
    build: { outDir: join(root, "dist/playground"), emptyOutDir: true, target: "es2022", reportCompressedSize: false, chunkSizeWarningLimit: 2048 },
    plugins: [{
      name: "uffdlab-playground",
      enforce: "pre",
      async resolveId(source, importer) {
        // The engine imports the library's sources (so Node runs it as is); the page gets the browser build.
        if (!importer || !source.endsWith("host-ts/index.js")) return null;
        return join(dirname(importer), source).replace(/\.js$/, ".ts") === entry ? join(root, "dist/browser.js") : null;
      },
    }],
  });
  stampDone("playground", hash);
  return true;
}

mkdirSync(join(root, "build"), { recursive: true });
const t0 = Date.now();
generateAbi(root);
const k = await buildKernels();
const h = await buildHost();
if (k || h || KERNELS.some((x) => !existsSync(join(root, "dist", `kernel-${x.target}.wasm.js`)))) writeKernelModules();
const pg = await buildPlayground();
if (k || h || pg) console.error(`uffdlab build: ${[k && "kernel", h && "host", pg && "playground"].filter(Boolean).join(" + ")} in ${Date.now() - t0} ms`);
