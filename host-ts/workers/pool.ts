// Worker threads on one shared Wasm memory (Node): each runs a script on one simulated
// thread. The kernel is entered from several workers at once under its big kernel lock.
// The protocol is run.ts's; this is Node's worker_threads under it (web.ts is the browser's).
import type { Kernel } from "../kernel.js";
import type { Thread } from "../thread.js";
import { runOnWorker, type RunOptions, type WorkerReply } from "./run.js";
export type { WorkerInit, RunOptions, WorkerScript } from "./run.js";

/**
 * Run `script` (a path or a file: URL) in a worker thread on simulated thread `t`. Resolves with
 * what the script's function returned (structured-cloned), rejects with its error.
 */
export async function runInWorker<R = unknown>(k: Kernel, t: Thread, script: string | URL, data?: unknown, opts: RunOptions = {}): Promise<R> {
  opts.signal?.throwIfAborted();
  const { Worker } = await import("node:worker_threads");
  // Bundled, this module is dist/index.js and the entry sits beside it; from the sources
  // (tests), host-ts/workers/pool.ts, it is ../../dist/worker.js.
  const workerUrl = import.meta.url.includes("/dist/") ? new URL("./worker.js", import.meta.url) : new URL("../../dist/worker.js", import.meta.url);
  return runOnWorker<R>(k, t, String(script), data, opts, (init) => {
    const w = new Worker(workerUrl, { workerData: init });
    return {
      onReply: (cb) => void w.once("message", (m: WorkerReply) => cb(m)),
      onError: (cb) => void w.once("error", cb),
      onExit: (cb) => void w.once("exit", cb),
      terminate: async () => void (await w.terminate()),
    };
  });
}
