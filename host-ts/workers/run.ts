// Running a script on a simulated thread in another host thread, whatever the platform: the
// starter's side (runOnWorker: start, wait, abort safely) and the worker's side (workerMain:
// attach to the kernel, take the thread, run the script). pool.ts gives it Node's
// worker_threads, web.ts the browser's Web Workers; worker.ts and web-worker.ts are the entries.
import { Kernel } from "../kernel.js";
import type { Thread } from "../thread.js";
import type { Build } from "../wasm.js";
import * as A from "../abi.gen.js";
import { KernelPanic, SystemError } from "../errors.js";
import { closeGate } from "../entry.js";

/**
 * The contract of a script run by {@link runInWorker}: an ES module whose default export (or,
 * failing that, an export named `run`) is this function. It is called once, in the worker, with
 * a {@link Thread} attached to the starter's kernel — the simulated thread passed to
 * `runInWorker`, whose memory accesses block for real (`Atomics.wait`) in a userfault until a
 * handler serves it — and with `data`, structured-cloned from the starter. What it returns (or
 * resolves to) is structured-cloned back and resolves `runInWorker`'s promise; what it throws
 * rejects it (as an `Error` with the same `name`, `message` and `stack`; a `KernelPanic` as the
 * kernel's own panic). The script needs no import of uffdlab: everything comes with `t`.
 *
 * ```ts
 * // my-thread.ts, compiled to my-thread.js
 * import type { WorkerScript } from "uffdlab";
 * const script: WorkerScript<{ addr: number }, number> = (t, d) => t.load32(d.addr);
 * export default script;
 * ```
 *
 * @typeParam D - the `data` argument of `runInWorker`: anything structured-clone can copy
 * @typeParam R - the result: anything structured-clone can copy
 */
export type WorkerScript<D = unknown, R = unknown> = (t: Thread, data: D) => R | Promise<R>;

/** What the starter sends a new worker (internal: the platform's worker entry takes it). */
export interface WorkerInit {
  /** The compiled kernel (instantiated once more in the worker). */
  module: WebAssembly.Module;
  /** The kernel's shared memory. */
  memory: WebAssembly.Memory;
  /** Which kernel build `module` is. */
  build: Build;
  /** The simulated thread's id. */
  tid: number;
  /** Its process's id. */
  pid: number;
  /** the task's handle (Thread.handle) */
  handle: number;
  /** the URL (or, in Node, path) of an ES module whose default export is (thread, data) => result */
  script: string;
  /** The script's `data` (structured-cloned). */
  data: unknown;
  /** the worker's entry gate (host-ts/entry.ts): one Int32 */
  gate: SharedArrayBuffer;
}

/** Options of {@link runInWorker}. */
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

/** What a worker posts back once: its script's result, or its error. */
export type WorkerReply = { ok: true; result: unknown } | { ok: false; error: { name: string; message: string; stack?: string } };

/** A started worker, as the platform gives it. */
export interface WorkerPort {
  /** Called once with the worker's reply, an error it could not post, or its exit with a code. */
  onReply(cb: (m: WorkerReply) => void): void;
  onError(cb: (e: unknown) => void): void;
  onExit(cb: (code: number) => void): void;
  terminate(): Promise<void>;
}

/** How long an abort waits for a worker to leave a kernel entry (a hang guard, never hit). */
const ABORT_GRACE_MS = 20_000;

/**
 * The starter's side of runInWorker: `start` makes the platform's worker with `init`. Resolves
 * with what the script returned, rejects with its error (a KernelPanic when the kernel died).
 */
export async function runOnWorker<R>(k: Kernel, t: Thread, script: string, data: unknown, opts: RunOptions, start: (init: WorkerInit) => WorkerPort): Promise<R> {
  opts.signal?.throwIfAborted();
  // Another host thread is about to enter the kernel: switch the big kernel lock on.
  k.exports.kernel_enable_smp();
  const gate = new SharedArrayBuffer(4);
  const init: WorkerInit = { module: k.module, memory: k.memory, build: k.build, tid: t.tid, pid: t.pid, handle: t.handle, script, data, gate };
  const w = start(init);
  type Outcome = { ok: true; value: R } | { ok: false; error: unknown; aborted?: boolean };
  let onAbort: (() => void) | null = null;
  let stopped = false;
  try {
    const o = await new Promise<Outcome>((settle) => {
      w.onReply((m) => {
        if (m.ok) return settle({ ok: true, value: m.result as R });
        // A trap in the worker's entry: the panic is in shared memory, as a KernelPanic here.
        const panic = m.error.name === "KernelPanic" ? k.panicked() : null;
        if (panic) return settle({ ok: false, error: panic });
        const e = new Error(m.error.message);
        e.name = m.error.name;
        e.stack = m.error.stack;
        settle({ ok: false, error: e });
      });
      w.onError((error) => settle({ ok: false, error }));
      w.onExit((code) => { if (code !== 0) settle({ ok: false, error: new Error(`worker exited with code ${code}`) }); });
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

/**
 * The worker's side: attach one more instance of the kernel module to the shared memory (with
 * the entry gate), take over the thread, import the script (`load`: the platform's import of
 * init.script) and run its default export; `post` sends the one reply.
 */
export async function workerMain(init: WorkerInit, load: (script: string) => Promise<Record<string, unknown>>, post: (m: WorkerReply) => void): Promise<void> {
  try {
    const k = Kernel.attach(init.module, init.memory, init.build, new Int32Array(init.gate));
    const t = k.threadFor(init.tid, init.pid, init.handle);
    // Accesses block for real: ACCESS_RETRY spins, then Atomics.wait.
    t.waitMode = "atomics";
    const mod = await load(init.script);
    const fn = mod.default ?? mod.run;
    if (typeof fn !== "function") throw new Error(`${init.script}: no default export function (thread, data) => result`);
    post({ ok: true, result: await (fn as (t: Thread, d: unknown) => unknown)(t, init.data) });
  } catch (e) {
    post({ ok: false, error: e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : { name: "Error", message: String(e) } });
  }
}
