// Scenario: first-touch write fault on private anonymous memory.
//
// One operation = Thread.store8 of one byte to a page of a MAP_PRIVATE | MAP_ANONYMOUS
// mapping that has never been touched: the simulated MMU misses, do_anonymous_page takes a
// zeroed frame, installs the PTE, and the store completes — all inside one Wasm call.
// mmap and munmap happen between batches, outside the timer. The host kernel does the same
// in bench/native/fault_bench.c (anon_write_fault).
import { Kernel, abi as A } from "../host-ts/index.js";
import { summarize, nowNs, warmUp, type Measured, type Params } from "./measure.js";

const PAGE = A.PAGE_SIZE;

export async function anonWriteFault(p: Params): Promise<Measured> {
  const regionBytes = p.regionPages * PAGE;
  if (p.regionPages % p.faultBatch !== 0) throw new RangeError("regionPages must be a multiple of faultBatch");
  // Room for a region's frames plus page tables and kernel records.
  const kernel = await Kernel.boot({ build: "release", memoryBytes: 2 * regionBytes + (16 << 20) });
  const proc = kernel.spawn();
  const t = proc.thread;
  const prot = A.PROT_READ | A.PROT_WRITE;
  const flags = A.MAP_PRIVATE | A.MAP_ANONYMOUS;

  // Warm-up, untimed: JIT the loop, and let the frames the measured regions get back from
  // the free list be touched by the host before (the first write to each page of the Wasm
  // memory is itself a host page fault, which is not what this row measures).
  warmUp(p.warmupMs, () => {
    const a = proc.mmap(0, regionBytes, prot, flags);
    for (let i = 0; i < p.regionPages; i++) t.store8(a + i * PAGE, 1);
    proc.munmap(a, regionBytes);
  });

  const batchNs = new Float64Array(p.faultSamples);
  const faults0 = kernel.stats().faults;
  for (let n = 0; n < p.faultSamples; ) {
    const a = proc.mmap(0, regionBytes, prot, flags);
    for (let b = 0; b < p.regionPages && n < p.faultSamples; b += p.faultBatch, n++) {
      const base = a + b * PAGE;
      const t0 = nowNs();
      for (let i = 0; i < p.faultBatch; i++) t.store8(base + i * PAGE, 1);
      batchNs[n] = nowNs() - t0;
    }
    proc.munmap(a, regionBytes);
  }
  const faults = kernel.stats().faults - faults0;
  proc.exit();

  return {
    id: "anon_write_fault",
    name: "anon write fault",
    what: "first-touch write of one byte to a private anonymous page (Thread.store8)",
    host: "anon_write_fault",
    uffdlab: summarize(batchNs, p.faultBatch),
    checks: { faultsPerOp: faults / (p.faultSamples * p.faultBatch) },
  };
}
