// A faulting thread of the playground's "Web Workers" mode: a runInWorker script (its contract
// is uffdlab's WorkerScript<FaulterData, FaulterResult>, see playground/engine.ts). It runs in a
// Web Worker (a worker thread in Node) on a simulated thread of the page's kernel, makes its
// accesses in order and blocks for real (Atomics.wait) in each userfault until the handler on
// the main thread serves it. It imports nothing: everything it needs comes with the Thread.

/**
 * @param {import("../host-ts/index.js").Thread} t the simulated thread this worker runs on
 * @param {{ region: number, accesses: { page: number, write: boolean }[] }} d
 * @returns {{ sigbus: number, latenciesUs: number[] }}
 */
export default function faulter(t, d) {
  const latenciesUs = [];
  let sigbus = 0;
  const value = 0xa5 ^ (t.tid & 0xff); // what the async mode's faulter stores, so the memory matches
  for (const a of d.accesses) {
    const addr = d.region + a.page * 4096 + ((a.page * 64) & 0xfff);
    const t0 = performance.now();
    try {
      if (a.write) t.store8(addr, value);
      else t.load8(addr);
    } catch (e) {
      if (!(e instanceof Error) || e.name !== "SIGBUS") throw e; // a poisoned page (UFFDIO_POISON)
      sigbus++;
    }
    latenciesUs.push(Math.round((performance.now() - t0) * 1000));
  }
  return { sigbus, latenciesUs };
}
