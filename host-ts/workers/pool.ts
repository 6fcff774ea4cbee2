// Worker threads on one shared Wasm memory (Node): each runs a script on one simulated
// thread. The kernel is entered from several workers at once under its big kernel lock.
import type { Kernel } from "../kernel.js";
import type { Thread } from "../thread.js";
import type { Build } from "../wasm.js";

export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  build: Build;
  tid: number;
  pid: number;
  /** the task's handle (Thread.handle) */
  handle: number;
  /** path or file: URL of an ES module whose default export is (thread, data) => result */
  script: string;
  data: unknown;
}

export interface RunOptions {
  /**
   * Aborting terminates the worker (even one parked in Atomics.wait) and rejects with the
   * signal's reason: a watchdog's way out of a hang. The simulated thread is left as the
   * worker left it (possibly queued on a userfaultfd).
   */
  signal?: AbortSignal;
}

/**
 * Run `script` in a worker thread on simulated thread `t`. Resolves with what the script's
 * function returned (structured-cloned), rejects with its error.
 */
export async function runInWorker<R = unknown>(k: Kernel, t: Thread, script: string | URL, data?: unknown, opts: RunOptions = {}): Promise<R> {
  opts.signal?.throwIfAborted();
  const { Worker } = await import("node:worker_threads");
  // Bundled, this module is dist/index.js and the entry sits beside it; from the sources
  // (tests), host-ts/workers/pool.ts, it is ../../dist/worker.js.
  const workerUrl = import.meta.url.includes("/dist/") ? new URL("./worker.js", import.meta.url) : new URL("../../dist/worker.js", import.meta.url);
  // Another host thread is about to enter the kernel: switch the big kernel lock on.
  k.exports.kernel_enable_smp();
  const init: WorkerInit = { module: k.module, memory: k.memory, build: k.build, tid: t.tid, pid: t.pid, handle: t.handle, script: String(script), data };
  const w = new Worker(workerUrl, { workerData: init });
  let onAbort: (() => void) | null = null;
  try {
    return await new Promise<R>((resolve, reject) => {
      w.once("message", (m: { ok: boolean; result?: R; error?: { name: string; message: string; stack?: string } }) => {
        if (m.ok) resolve(m.result as R);
        else {
          const e = new Error(m.error!.message);
          e.name = m.error!.name;
          e.stack = m.error!.stack;
          reject(e);
        }
      });
      w.once("error", reject);
      w.once("exit", (code) => { if (code !== 0) reject(new Error(`worker exited with code ${code}`)); });
      if (opts.signal) {
        onAbort = () => reject(opts.signal!.reason);
        opts.signal.addEventListener("abort", onAbort, { once: true });
      }
    });
  } finally {
    if (onAbort) opts.signal!.removeEventListener("abort", onAbort);
    await w.terminate();
  }
}
