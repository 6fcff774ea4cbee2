// Scenario: post-copy restore of a guest_memfd, the series' use case, end to end.
//
// A guest_memfd (MMAP | INIT_SHARED) of `restoreBytes` (1 GiB in the full run, 64 MiB in --quick)
// is mapped and registered MISSING; one thread touches every page in order, and the handler (the
// same JS thread, sync mode, as the faulting thread's inline handler Thread.onFault) serves each
// fault from a 2 MiB snapshot window:
//   4 KiB faults  read() → UFFDIO_COPY of the faulting page → the load retried
//   batched       read() → UFFDIO_COPY of the faulting page's whole 2 MiB chunk → the load retried
//                 (the next 511 touches find their pages present)
// One operation = one page restored (per-batch p50 over 4096 pages); the table shows the run's
// GiB/s. The host cannot do this (6.18 refuses userfaultfd on guest_memfd), so it has no column.
import { Kernel, Kvm, CAP_SYS_PTRACE, abi as A } from "../host-ts/index.js";
import { summarize, nowNs, type Measured, type Params } from "./measure.js";

const PAGE = A.PAGE_SIZE;
const CHUNK = 2 << 20;
const PATTERN = 0x5a;
const BATCH = 4096;

async function restore(p: Params, batched: boolean): Promise<Measured> {
  const bytes = p.restoreBytes;
  const pages = bytes / PAGE;
  const kernel = await Kernel.boot({ build: "release", memoryBytes: bytes + (bytes >> 6) + CHUNK + (32 << 20) });
  const proc = kernel.spawn({ caps: CAP_SYS_PTRACE });
  const vm = Kvm.open(proc).createVm();
  const uffd = proc.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
  uffd.api();
  const src = proc.mmap(0, CHUNK, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
  proc.thread.fill(src, PATTERN, CHUNK);
  const g = vm.createGuestMemfd(bytes, A.GUEST_MEMFD_FLAG_MMAP | A.GUEST_MEMFD_FLAG_INIT_SHARED);
  const a = g.mmap(bytes);
  uffd.register(a, bytes, A.UFFDIO_REGISTER_MODE_MISSING);
  const guest = proc.newThread();
  let messages = 0, bad = 0;
  guest.onFault = () => {
    for (const m of uffd.read()) {
      if (m.event !== "pagefault") continue;
      messages++;
      const pg = m.address - (m.address % PAGE);
      if (batched) {
        const start = pg - ((pg - a) % CHUNK);
        uffd.copy(start, src, Math.min(CHUNK, a + bytes - start));
      } else {
        uffd.copy(pg, src + ((pg - a) % CHUNK), PAGE);
      }
    }
  };
  const ns = new Float64Array(pages / BATCH);
  const t0 = nowNs();
  for (let b = 0; b < pages / BATCH; b++) {
    const s = nowNs();
    for (let i = b * BATCH; i < (b + 1) * BATCH; i++) {
      if (guest.load8(a + i * PAGE) !== PATTERN) bad++;
    }
    ns[b] = nowNs() - s;
  }
  const totalNs = nowNs() - t0;
  proc.exit();
  const size = bytes >= 1 << 30 ? `${bytes / (1 << 30)} GiB` : `${bytes >> 20} MiB`;
  return {
    id: batched ? "gmem_restore_batched" : "gmem_restore_4k",
    name: `gmem restore ${size}${batched ? " (2 MiB COPYs)" : " (4 KiB faults)"}`,
    what: `post-copy restore of a ${size} guest_memfd, one page restored per operation; ${batched ? "each fault COPYs its 2 MiB chunk" : "each fault COPYs its page"}`,
    host: null,
    uffdlab: summarize(ns, BATCH),
    checks: { badValues: bad, messagesPerPage: messages / pages, seconds: totalNs / 1e9 },
    expect: { badValues: 0, messagesPerPage: batched ? Math.ceil(bytes / CHUNK) / pages : 1 },
    bytesPerOp: PAGE,
  };
}

export async function gmemRestore(p: Params): Promise<Measured[]> {
  return [await restore(p, false), await restore(p, true)];
}
