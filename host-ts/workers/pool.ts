// Worker threads on one shared Wasm memory (Node): each runs a script on one simulated
// thread. The kernel is entered from several workers at once under its big kernel lock.
// The protocol is run.ts's; this is Node's worker_threads under it (web.ts is the browser's).
import type { Kernel } from "../kernel.js";
import type { Thread } from "../thread.js";
// Types the TSDoc below links to ({@link}): used by the documentation only.
// eslint-disable-next-line @typescript-eslint/no-unused-vars
import type { KernelPanic } from "../errors.js";
// eslint-disable-next-line @typescript-eslint/no-unused-vars
import type { WorkerScript } from "./run.js";
import { runOnWorker, type RunOptions, type WorkerReply } from "./run.js";
export type { WorkerInit, RunOptions, WorkerScript } from "./run.js";

/**
 * Run `script` in another host thread on simulated thread `t`, sharing `k`'s memory: a Node
 * worker thread here, a Web Worker in the browser build (which needs a cross-origin isolated page
 * and says which headers are missing otherwise). The script is an ES module whose default export
 * is a {@link WorkerScript}: it gets a {@link Thread} for `t` whose accesses block for real in a
 * userfault (Atomics.wait) until a handler — on this thread, under `k.run`, or in another worker —
 * serves it. Resolves with what the script returned (structured-cloned), rejects with what it
 * threw (a {@link KernelPanic} if the kernel died). Any number may run at once; the kernel is
 * entered from each under its big kernel lock.
 *
 * @param k - the kernel
 * @param t - the simulated thread the script runs on (e.g. `p.newThread()`); use it nowhere else meanwhile
 * @param script - Node: a path or a file: URL; browser: a URL, resolved against the page
 * @param data - the script's second argument (structured-cloned)
 * @param opts - `signal`: an abort terminates the worker safely and exits `t` ({@link RunOptions})
 * @typeParam R - what the script returns
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
