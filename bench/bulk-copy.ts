// Scenario: UFFDIO_COPY throughput, in 64 KiB and 2 MiB chunks.
//
// One operation = one UFFDIO_COPY of a whole chunk into a MISSING-registered private anonymous
// region from a resident source (no fault: nothing touches the region while it fills). mmap,
// register and munmap happen between regions, outside the timer. What handlers that prefetch
// (REAP, a post-copy migration's background stream) spend most of their time in. The host does
// the same in bench/native/uffd_bench.c (bulk_copy_64k, bulk_copy_2m).
import { Kernel, abi as A } from "../host-ts/index.js";
import { summarize, nowNs, warmUp, type Measured, type Params } from "./measure.js";

const PAGE = A.PAGE_SIZE;
const PATTERN = 0x5a;

async function bulk(p: Params, chunk: number): Promise<Measured> {
  const len = p.bulkRegionPages * PAGE;
  if (len % chunk) throw new RangeError("bulkRegionPages must be a multiple of the chunk");
  const kernel = await Kernel.boot({ build: "release", memoryBytes: 2 * len + 2 * chunk + (16 << 20) });
  const proc = kernel.spawn();
  const uffd = proc.userfaultfd(A.UFFD_USER_MODE_ONLY);
  uffd.api();
  const src = proc.mmap(0, chunk, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
  proc.thread.fill(src, PATTERN, chunk);
  let bad = 0;
  const region = (out: Float64Array | null, n: number): number => {
    const a = proc.mmap(0, len, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
    uffd.register(a, len, A.UFFDIO_REGISTER_MODE_MISSING);
    for (let off = 0; off < len && (!out || n < out.length); off += chunk) {
      const t0 = nowNs();
      uffd.copy(a + off, src, chunk);
      const t1 = nowNs();
      if (out) {
        out[n++] = t1 - t0;
        if (proc.thread.load8(a + off) !== PATTERN || proc.thread.load8(a + off + chunk - 1) !== PATTERN) bad++;
      }
    }
    proc.munmap(a, len);
    return n;
  };
  warmUp(p.warmupMs, () => void region(null, 0));
  const ns = new Float64Array(p.bulkSamples);
  for (let n = 0; n < p.bulkSamples; ) n = region(ns, n);
  proc.exit();
  const k = chunk >= 1 << 20 ? `${chunk >> 20}m` : `${chunk >> 10}k`;
  return {
    id: `bulk_copy_${k}`,
    name: `bulk UFFDIO_COPY ${chunk >= 1 << 20 ? `${chunk >> 20} MiB` : `${chunk >> 10} KiB`}`,
    what: `one UFFDIO_COPY of ${chunk} bytes into a MISSING-registered anonymous region (no fault)`,
    host: chunk >= 1 << 20 ? "uffd_bulk_copy_2m" : "uffd_bulk_copy_64k",
    uffdlab: summarize(ns, 1),
    checks: { badValues: bad },
    expect: { badValues: 0 },
    bytesPerOp: chunk,
  };
}

export async function bulkCopy(p: Params): Promise<Measured[]> {
  return [await bulk(p, 64 << 10), await bulk(p, 2 << 20)];
}
