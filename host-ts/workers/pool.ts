// Worker threads on one shared Wasm memory (Node): each runs a script on one simulated
// thread. The kernel is entered from several workers at once under its big kernel lock.
import type { Kernel } from "../kernel.js";
import type { Thread } from "../thread.js";
import type { Build } from "../wasm.js";
import * as A from "../abi.gen.js";
import { KernelPanic, SystemError } from "../errors.js";
import { closeGate } from "../entry.js";

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
  /** the worker's entry gate (host-ts/entry.ts): one Int32 */
  gate: SharedArrayBuffer;
}

export interface RunOptions {
  /**
   * Aborting terminates the worker (even one parked in Atomics.wait), exits its simulated
   * thread and rejects with the signal's reason: a watchdog's way out of a hang. The worker is
   * terminated only outside the kernel (one inside an entry is let finish it and refused
   * further entries), so the big kernel lock never dies with it. Exiting the thread releases
   * what it held, as a killed thread's exit does on Linux: a fault it waited in, a blocking
   * read()'s file (the last reference of a userfaultfd releases it and wakes its faulters),
   * poll entries.
   */
  signal?: AbortSignal;
}

/** How long an abort waits for a worker to leave a kernel entry (a hang guard, never hit). */
const ABORT_GRACE_MS = 20_000;

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
  const gate = new SharedArrayBuffer(4);
  const init: WorkerInit = { module: k.module, memory: k.memory, build: k.build, tid: t.tid, pid: t.pid, handle: t.handle, script: String(script), data, gate };
  const w = new Worker(workerUrl, { workerData: init });
  type Outcome = { ok: true; value: R } | { ok: false; error: unknown; aborted?: boolean };
  let onAbort: (() => void) | null = null;
  let stopped = false;
  try {
    const o = await new Promise<Outcome>((settle) => {
      w.once("message", (m: { ok: boolean; result?: R; error?: { name: string; message: string; stack?: string } }) => {
        if (m.ok) return settle({ ok: true, value: m.result as R });
        // A trap in the worker's entry: the panic is in shared memory, as a KernelPanic here.
        const panic = m.error!.name === "KernelPanic" ? k.panicked() : null;
        if (panic) return settle({ ok: false, error: panic });
        const e = new Error(m.error!.message);
        e.name = m.error!.name;
        e.stack = m.error!.stack;
        settle({ ok: false, error: e });
      });
      w.once("error", (error) => settle({ ok: false, error }));
      w.once("exit", (code) => { if (code !== 0) settle({ ok: false, error: new Error(`worker exited with code ${code}`) }); });
      if (opts.signal) {
        onAbort = () => settle({ ok: false, error: opts.signal!.reason, aborted: true });
        opts.signal.addEventListener("abort", onAbort, { once: true });
        if (opts.signal.aborted) onAbort(); // aborted while the worker was being set up
      }
    });
    if (o.ok) return o.value;
    if (o.aborted) {
      // Terminate only outside the kernel, then exit the simulated thread.
      const out = await closeGate(new Int32Array(gate), ABORT_GRACE_MS);
      await w.terminate();
      stopped = true;
      // A worker that never left its entry took the big kernel lock with it: the kernel is dead.
      if (!out) throw k.entry.declarePanic(`the aborted worker did not leave the kernel in ${ABORT_GRACE_MS} ms and was terminated`, "runInWorker", t.handle);
      exitThread(t);
    }
    throw o.error;
  } finally {
    if (onAbort) opts.signal!.removeEventListener("abort", onAbort);
    if (!stopped) await w.terminate();
  }
}

/** exit(2) on an aborted worker's task, unless it is gone already or the kernel is dead. */
function exitThread(t: Thread): void {
  try {
    t.syscall(A.__NR_exit, 0);
  } catch (e) {
    if (!(e instanceof KernelPanic) && !(e instanceof SystemError && e.errno === A.ESRCH)) throw e;
  }
}
