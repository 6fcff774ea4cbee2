// Worker-thread entry (bundled as dist/worker.js). A worker attaches one more instance of
// the kernel module to the shared memory, takes over one simulated thread, and runs the
// user's script on it. Its accesses block for real: ACCESS_RETRY spins, then Atomics.wait.
import { parentPort, workerData } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import { Kernel } from "../kernel.js";
import type { WorkerInit } from "./pool.js";

async function main(): Promise<void> {
  const init = workerData as WorkerInit;
  const k = Kernel.attach(init.module, init.memory, init.build, new Int32Array(init.gate));
  const t = k.threadFor(init.tid, init.pid, init.handle);
  t.waitMode = "atomics";
  const href = init.script.startsWith("file:") ? init.script : pathToFileURL(init.script).href;
  const mod = await import(href);
  const fn = mod.default ?? mod.run;
  if (typeof fn !== "function") throw new Error(`${init.script}: no default export function (thread, data) => result`);
  const result = await fn(t, init.data);
  parentPort!.postMessage({ ok: true, result });
}

main().catch((e: unknown) => {
  const err = e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : { name: "Error", message: String(e) };
  parentPort!.postMessage({ ok: false, error: err });
});
