// Scenario: userfaultfd round trips on guest_memfd (the series), one JS thread (sync mode).
//
//   MISSING + COPY     a guest_memfd (MMAP|INIT_SHARED) mapped MAP_SHARED and registered
//                      MISSING: the load of a hole calls the thread's inline handler
//                      (Userfaultfd.serveAll: read → UFFDIO_COPY of one page) → the load retried
//   MINOR + CONTINUE   the guest_memfd written through an unregistered alias first (untimed),
//                      the other mapping registered MINOR: each first load is a MINOR message
//                      → serveAll: read → UFFDIO_CONTINUE → the load retried
//
// A fresh guest_memfd per region (create, mmap, register, and for MINOR the populating
// writes are outside the timer; each timed batch is `uffdBatch` faults in a row). The host
// column is the host kernel's round trip on a memfd (bench/native/uffd_bench.c shmem_*):
// Linux 6.18 cannot register guest_memfd for MISSING or MINOR, so shmem is the nearest
// thing it can measure.
import { Kernel, Kvm, CAP_SYS_PTRACE, abi as A, type Userfaultfd, type Vm } from "../host-ts/index.js";
import { summarize, nowNs, warmUp, type Measured, type Params } from "./measure.js";

const PAGE = A.PAGE_SIZE;
const RW = A.PROT_READ | A.PROT_WRITE;
const PATTERN = 0x5a;

async function gmemSync(p: Params, minor: boolean): Promise<Measured> {
  const bytes = p.uffdRegionPages * PAGE;
  const kernel = await Kernel.boot({ build: "release", memoryBytes: 3 * bytes + (16 << 20) });
  const proc = kernel.spawn({ caps: CAP_SYS_PTRACE });
  const vm: Vm = Kvm.open(proc).createVm();
  const uffd: Userfaultfd = proc.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
  uffd.api();
  const src = proc.mmap(0, PAGE, RW, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
  proc.thread.fill(src, PATTERN, PAGE);
  const f = proc.newThread();
  let messages = 0, bad = 0;
  const policy = minor ? { continue: true } : { copyFrom: src };
  f.onFault = () => void (messages += uffd.serveAll(policy));
  const touch = (addr: number): void => {
    if (f.load8(addr) !== PATTERN) bad++;
  };
  const one = (out: Float64Array | null, n: number): number => {
    const g = vm.createGuestMemfd(bytes, A.GUEST_MEMFD_FLAG_MMAP | A.GUEST_MEMFD_FLAG_INIT_SHARED);
    const a = g.mmap(bytes);
    let alias = 0;
    if (minor) {
      alias = g.mmap(bytes);
      proc.thread.fill(alias, PATTERN, bytes);
    }
    uffd.register(a, bytes, minor ? A.UFFDIO_REGISTER_MODE_MINOR : A.UFFDIO_REGISTER_MODE_MISSING);
    for (let b = 0; b < p.uffdRegionPages && (!out || n < out.length); b += p.uffdBatch) {
      const base = a + b * PAGE;
      const t0 = nowNs();
      for (let i = 0; i < p.uffdBatch; i++) touch(base + i * PAGE);
      if (out) out[n++] = nowNs() - t0;
    }
    proc.munmap(a, bytes);
    if (alias) proc.munmap(alias, bytes);
    g.close();
    return n;
  };
  warmUp(p.warmupMs, () => void one(null, 0));
  messages = bad = 0;
  const batchNs = new Float64Array(p.uffdSamples);
  for (let n = 0; n < p.uffdSamples; ) n = one(batchNs, n);
  proc.exit();
  const faults = p.uffdSamples * p.uffdBatch;
  return {
    id: minor ? "gmem_minor_continue_sync" : "gmem_missing_copy_sync",
    name: minor ? "gmem MINOR+CONTINUE (sync)" : "gmem MISSING+COPY (sync)",
    what: minor
      ? "Thread.load8 of a cached guest_memfd page on a MINOR-registered mapping calls Thread.onFault → serveAll: read → UFFDIO_CONTINUE → the load retried in the same call"
      : "Thread.load8 of a guest_memfd hole on a MISSING-registered mapping calls Thread.onFault → serveAll: read → UFFDIO_COPY of one page → the load retried in the same call",
    host: minor ? "uffd_shmem_continue_same_cpu" : "uffd_shmem_copy_same_cpu",
    uffdlab: summarize(batchNs, p.uffdBatch),
    checks: { messagesPerOp: messages / faults, badValues: bad },
    expect: { messagesPerOp: 1, badValues: 0 },
  };
}

export async function gmemRoundTrip(p: Params): Promise<Measured[]> {
  return [await gmemSync(p, false), await gmemSync(p, true)];
}
