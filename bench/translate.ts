// Scenario: an access to a page that is already faulted in (the MMU's hit path).
//
// Two ways in, one row each, both over the same resident pages:
//   load32     Thread.load32 in a dependent pointer chase (each load's value is the offset
//              of the next slot), so a load cannot start before the previous one returns:
//              the public API's hot path — one Wasm call, a four-level walk, the load.
//   translate  Thread.translate over the same slots: the walk alone, returning the
//              simulated physical address, with no data access.
// The host kernel's row is a plain pointer-chase load from a resident page
// (bench/native/fault_bench.c, resident_load): what the hardware MMU (TLB hit) costs.
import { Kernel, abi as A } from "../host-ts/index.js";
import { summarize, nowNs, warmUp, chaseLayout, type Measured, type Params } from "./measure.js";

const PAGE = A.PAGE_SIZE;
/** Where translate results go, so the loop's result is observable. */
let _blackhole = 0;

export async function residentAccess(p: Params): Promise<Measured[]> {
  const kernel = await Kernel.boot({ build: "release", memoryBytes: 32 << 20 });
  const proc = kernel.spawn();
  const t = proc.thread;
  const base = proc.mmap(0, p.chasePages * PAGE, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
  const slots = chaseLayout(p.chasePages, PAGE);
  // Each slot holds the offset of the next one; writing them faults every page in.
  for (let k = 0; k < slots.length; k++) t.store32(base + slots[k], slots[(k + 1) % slots.length]);
  const addrs = slots.map((s) => base + s);

  const chase = (off: number, n: number): number => {
    for (let i = 0; i < n; i++) off = t.load32(base + off);
    return off;
  };
  const walk = (j: number, n: number): number => {
    let sink = 0;
    for (let i = 0; i < n; i++) {
      sink ^= t.translate(addrs[j]);
      j = j + 1 === addrs.length ? 0 : j + 1;
    }
    return sink;
  };

  // Each timed loop follows an untimed warm-up of itself (JIT, caches).
  let off = slots[0];
  let sink = 0;
  const faults = () => kernel.stats().faults;
  const loadFaults0 = faults();
  warmUp(p.warmupMs, () => { off = chase(off, p.loadBatch); });
  // The chase must still be on its cycle (a wrong value would wander off the slots).
  if (!slots.includes(off)) throw new Error(`resident chase left its slots (offset ${off})`);
  const loadNs = new Float64Array(p.loadSamples);
  for (let n = 0; n < p.loadSamples; n++) {
    const t0 = nowNs();
    off = chase(off, p.loadBatch);
    loadNs[n] = nowNs() - t0;
  }
  const loadFaults = faults() - loadFaults0;
  warmUp(p.warmupMs, () => { sink ^= walk(0, p.loadBatch); });
  const walkNs = new Float64Array(p.loadSamples);
  for (let n = 0; n < p.loadSamples; n++) {
    const t0 = nowNs();
    sink ^= walk(n % addrs.length, p.loadBatch);
    walkNs[n] = nowNs() - t0;
  }
  const walkFaults = faults() - loadFaults0 - loadFaults;
  _blackhole ^= sink;
  proc.exit();

  // Faults per op are counted over warm-up and timed loop alike; anything but 0 is a bug.
  const ops = p.loadSamples * p.loadBatch;
  return [
    {
      id: "resident_load32",
      name: "resident load32",
      what: "Thread.load32 of a resident page, dependent pointer chase over " + p.chasePages + " pages",
      host: "resident_load",
      uffdlab: summarize(loadNs, p.loadBatch),
      checks: { faultsPerOp: loadFaults / ops },
    },
    {
      id: "resident_translate",
      name: "resident translate",
      what: "Thread.translate (read) of a resident page, cycling over the same " + p.chasePages + " pages",
      host: "resident_load",
      uffdlab: summarize(walkNs, p.loadBatch),
      checks: { faultsPerOp: walkFaults / ops },
    },
  ];
}
