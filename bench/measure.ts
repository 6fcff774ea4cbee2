// What every scenario shares: the run sizes, the per-batch timing method, and the
// statistics (hdr-histogram over per-batch per-op costs). The host kernel's samples
// (bench/native.ts) go through the same summarize(), so both sides are read alike.
import type { build as BuildHistogram } from "hdr-histogram-js";

// hdr-histogram-js is loaded when a benchmark runs (loadStatistics), not when the CLI starts:
// `uffdlab --version`, `conform` or `serve` never pay for it.
let buildHistogram: typeof BuildHistogram | null = null;

/** Load the histogram library; runBenchmarks does, before any summarize(). */
export async function loadStatistics(): Promise<void> {
  buildHistogram ??= (await import("hdr-histogram-js")).build;
}

/** Sizes of one run. uffdlab and the host kernel are measured with the same numbers. */
export interface Params {
  quick: boolean;
  /** Pages mapped per anonymous region (the region is munmapped when used up). */
  regionPages: number;
  /** First-touch faults per timed sample. */
  faultBatch: number;
  /** Timed fault samples. */
  faultSamples: number;
  /** Pages in the resident pointer chase. */
  chasePages: number;
  /** Loads (or translations) per timed sample. */
  loadBatch: number;
  /** Timed load samples. */
  loadSamples: number;
  /** userfaultfd round trips: pages per MISSING-registered region (mmap + register, untimed). */
  uffdRegionPages: number;
  /** Round trips (faults in a row) per timed sample. */
  uffdBatch: number;
  /** Timed round-trip samples, per uffd row. */
  uffdSamples: number;
  /** Untimed run of the same loop right before each timed one, at least this long. */
  warmupMs: number;
  /** Bulk UFFDIO_COPY rows: pages per MISSING-registered region filled chunk by chunk. */
  bulkRegionPages: number;
  /** Timed chunks per bulk row (one chunk per sample). */
  bulkSamples: number;
  /** Bytes of guest_memfd the restore rows restore (a multiple of 4096 pages). */
  restoreBytes: number;
}

export function params(quick: boolean): Params {
  // A 4 MiB region (4 batches): small enough that the frames the allocator hands back stay
  // cache-warm on both sides, as a running process's recycled pages are. With 32 MiB regions
  // both rows get slower and uffdlab's takes far longer to settle (see README.md).
  return quick
    ? { quick, regionPages: 1024, faultBatch: 256, faultSamples: 256, chasePages: 8, loadBatch: 4096, loadSamples: 256, uffdRegionPages: 256, uffdBatch: 64, uffdSamples: 64, warmupMs: 100, bulkRegionPages: 4096, bulkSamples: 32, restoreBytes: 64 << 20 }
    : { quick, regionPages: 1024, faultBatch: 256, faultSamples: 4096, chasePages: 8, loadBatch: 4096, loadSamples: 4096, uffdRegionPages: 256, uffdBatch: 64, uffdSamples: 1024, warmupMs: 300, bulkRegionPages: 4096, bulkSamples: 256, restoreBytes: 1 << 30 };
}

/** Statistics of one side of one scenario, in ns per operation. */
export interface Summary {
  /** Timed samples (batches). */
  samples: number;
  /** Operations per sample: p50/p99 are of per-batch averages, not of single operations. */
  opsPerSample: number;
  /** Total time / total operations. */
  mean: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Histogram resolution: values are recorded in picoseconds, so sub-ns loads keep 3 digits. */
const PS_PER_NS = 1000;

/** Summarize per-batch durations (ns per whole batch of `opsPerSample` operations). */
export function summarize(batchNs: ArrayLike<number>, opsPerSample: number): Summary {
  if (batchNs.length === 0) throw new RangeError("summarize: no samples");
  if (!buildHistogram) throw new Error("summarize: call loadStatistics() first");
  const h = buildHistogram({ numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, autoResize: true });
  let total = 0;
  for (let i = 0; i < batchNs.length; i++) {
    total += batchNs[i];
    h.recordValue(Math.max(1, Math.round((batchNs[i] / opsPerSample) * PS_PER_NS)));
  }
  const at = (p: number) => h.getValueAtPercentile(p) / PS_PER_NS;
  const s: Summary = {
    samples: batchNs.length,
    opsPerSample,
    mean: total / (batchNs.length * opsPerSample),
    min: h.minNonZeroValue / PS_PER_NS,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    max: h.maxValue / PS_PER_NS,
  };
  h.destroy();
  return s;
}

/** Run `body` repeatedly, untimed, until at least `ms` have passed (and at least once). */
export function warmUp(ms: number, body: () => void): void {
  const end = performance.now() + ms;
  do body(); while (performance.now() < end);
}

/** Nanoseconds since an arbitrary origin (performance.now() is µs-or-better in Node). */
export function nowNs(): number {
  return performance.now() * 1e6;
}

/**
 * The pointer-chase layout both sides use (bench/native/fault_bench.c builds the same one):
 * `pages` pages visited in a fixed shuffled order, one slot per page, each at a different
 * cache line. Returns the byte offset of the k-th slot from the start of the mapping.
 */
export function chaseLayout(pages: number, pageSize: number): number[] {
  const order = Array.from({ length: pages }, (_, i) => i);
  let seed = 12345;
  for (let i = pages - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const j = (seed >>> 8) % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.map((p) => p * pageSize + ((p * 64) % pageSize));
}

/** The host kernel scenario a uffdlab row is compared with (keys of fault_bench.c's output). */
export type HostScenario =
  | "anon_write_fault" | "resident_load"
  // bench/native/uffd_bench.c: the real userfaultfd round trip (see its header)
  | "uffd_copy_same_cpu" | "uffd_zeropage_same_cpu" | "uffd_copy_cross_cpu"
  // the same on a memfd: the host's comparison for the guest_memfd rows (6.18 cannot register guest_memfd)
  | "uffd_shmem_copy_same_cpu" | "uffd_shmem_continue_same_cpu"
  // UFFDIO_COPY throughput, one chunk per operation
  | "uffd_bulk_copy_64k" | "uffd_bulk_copy_2m";

/** One row of the report, as a scenario file returns it (index.ts adds the host side). */
export interface Measured {
  /** Stable key for JSON consumers. */
  id: string;
  /** Row label. */
  name: string;
  /** One line: what a single operation is. */
  what: string;
  /** The host measurement this row is divided by; null when the host cannot do it. */
  host: HostScenario | null;
  uffdlab: Summary;
  /** Sanity counters from outside the timer (e.g. faults per timed write, expected 1). */
  checks: Record<string, number>;
  /** The value each of `checks` must have (a warning is printed otherwise); when absent, the fault counter rule of index.ts applies. */
  expect?: Record<string, number>;
  /** Bytes one operation moves: the table adds GiB/s for such rows. */
  bytesPerOp?: number;
}
