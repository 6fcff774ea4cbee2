// runInWorker in the browser build (scripts/build.mjs puts this module in place of pool.ts).
// Worker threads there are Web Workers sharing the kernel's memory, which a page may hand to a
// worker only when it is cross-origin isolated.
import type { Kernel } from "../kernel.js";
import type { Thread } from "../thread.js";
import type { RunOptions } from "./pool.js";
export type { WorkerInit, RunOptions } from "./pool.js";

export async function runInWorker<R = unknown>(_k: Kernel, _t: Thread, _script: string | URL, _data?: unknown, opts: RunOptions = {}): Promise<R> {
  opts.signal?.throwIfAborted();
  if (!(globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated) {
    throw new Error("uffdlab: runInWorker needs a cross-origin isolated page to share the kernel's memory with a Web Worker: " +
      "serve it with `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`. " +
      "Async threads (k.run) work without them.");
  }
  throw new Error("uffdlab: runInWorker with Web Workers is not in the browser build yet; use async threads (k.run)");
}
