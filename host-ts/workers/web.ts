// runInWorker in the browser build (scripts/build.mjs puts this module in place of pool.ts):
// Web Workers sharing the kernel's memory, which a page may hand to a worker only when it is
// cross-origin isolated. The worker's code travels with the library (dist/web-worker.src.js,
// imported on first use) and starts from a blob: URL, so no bundler has to find a worker file.
import type { Kernel } from "../kernel.js";
import type { Thread } from "../thread.js";
import { runOnWorker, type RunOptions, type WorkerReply } from "./run.js";
export type { WorkerInit, RunOptions, WorkerScript } from "./run.js";

let workerUrl: string | null = null;

async function webWorkerUrl(): Promise<string> {
  if (workerUrl === null) {
    // @ts-expect-error: generated beside dist/browser.js at build time
    const m = (await import("./web-worker.src.js")) as { default: string };
    workerUrl = URL.createObjectURL(new Blob([m.default], { type: "text/javascript" }));
  }
  return workerUrl;
}

/**
 * Run `script` (a URL, resolved against the page) in a Web Worker on simulated thread `t`.
 * Resolves with what the script's default export returned (structured-cloned), rejects with its
 * error. Needs a cross-origin isolated page (COOP/COEP); says which headers otherwise.
 */
export async function runInWorker<R = unknown>(k: Kernel, t: Thread, script: string | URL, data?: unknown, opts: RunOptions = {}): Promise<R> {
  opts.signal?.throwIfAborted();
  if (!(globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated) {
    throw new Error("uffdlab: runInWorker needs a cross-origin isolated page to share the kernel's memory with a Web Worker: " +
      "serve it with `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`. " +
      "Async threads (k.run) work without them.");
  }
  const url = await webWorkerUrl();
  const href = new URL(String(script), (globalThis as { location?: { href: string } }).location?.href).href;
  return runOnWorker<R>(k, t, href, data, opts, (init) => {
    const w = new Worker(url, { type: "module", name: `uffdlab task ${t.tid}` });
    w.postMessage(init);
    return {
      onReply: (cb) => w.addEventListener("message", (ev: MessageEvent) => cb(ev.data as WorkerReply), { once: true }),
      onError: (cb) => w.addEventListener("error", (ev: ErrorEvent) => cb(new Error(`Web Worker for task ${t.tid}: ${ev.message || "failed to start"}`)), { once: true }),
      onExit: () => {}, // a Web Worker has no exit event: it ends by its reply, an error or terminate()
      terminate: async () => w.terminate(),
    };
  });
}
