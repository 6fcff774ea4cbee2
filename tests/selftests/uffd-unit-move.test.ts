// Port of tools/testing/selftests/mm/uffd-unit-tests.c `move`, `move-pmd` and `move-pmd-split`
// (with uffd-common.c's helper move_page), memory type anon (the only one the tests name).
//
// As upstream: the source is MADV_DONTFORK (pages mapped once), the destination is registered
// MISSING, a monitor thread resolves every MISSING fault with UFFDIO_MOVE (ALLOW_SRC_HOLES) of the
// chunk around the fault — a failure is acceptable only with move == -EEXIST (then a wake), success
// needs move == len — and the main thread, chunk by chunk, checks the source counters, faults the
// destination in and checks it, and checks the source now reads 0. Then missing faults == chunks
// and minor faults == 0.
//
// uffdlab has no transparent huge pages: `move-pmd` and `move-pmd-split` run with PMD-sized
// (2 MiB), PMD-aligned chunks of base pages, and MADV_HUGEPAGE / MADV_NOHUGEPAGE are accepted and
// change nothing else, so the split path is the base-page path. Differences from upstream, both
// stricter: the area is 8 MiB (upstream 32 MiB), and page i's counter is i + 1 (upstream: all 1), so
// a page moved to the wrong place is caught. The monitor is `for await` over Userfaultfd.messages();
// it ends when the main thread closes the fd (upstream writes to a pipe).
import { describe, it, expect } from "vitest";
import { Kernel, Userfaultfd, FillError } from "../../host-ts/index.js";
import * as A from "../../host-ts/abi.gen.js";

const PAGE = 4096;
const PMD = 2 << 20;
const NR_PAGES = 2048;
const BYTES = NR_PAGES * PAGE;
/** Where each page keeps its counter: after a 40-byte pthread_mutex_t, as uffd-common.c lays it out. */
const COUNT_OFF = 40;

type Advice = { src?: number; dst?: number };

async function moveTest(chunk: number, advice: Advice, seed: number) {
  const k = await Kernel.boot({ memoryBytes: 64 << 20, build: "debug" });
  const p = k.spawn();
  const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
  const { features } = uffd.api(A.UFFD_FEATURE_MOVE); // uffd_feature_required = UFFD_FEATURE_MOVE
  expect(features & A.UFFD_FEATURE_MOVE).toBe(A.UFFD_FEATURE_MOVE);
  const rw = A.PROT_READ | A.PROT_WRITE;
  let areaSrc = p.mmap(0, BYTES, rw, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
  let areaDst = p.mmap(0, BYTES, rw, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
  // post_alloc: prevent_hugepages / request_hugepages on the source, before it is populated;
  // the pmd tests' own madvise on the destination
  if (advice.src !== undefined) p.madvise(areaSrc, BYTES, advice.src);
  if (advice.dst !== undefined) p.madvise(areaDst, BYTES, advice.dst);
  const countVerify: bigint[] = [];
  for (let nr = 0; nr < NR_PAGES; nr++) {
    countVerify.push(BigInt(nr + 1));
    p.thread.store64(areaSrc + nr * PAGE + COUNT_OFF, BigInt(nr + 1));
    p.thread.store64(areaSrc + nr * PAGE + COUNT_OFF + 8, 1n); // the non-zero placeholder
  }

  // Prevent source pages from being mapped more than once
  p.madvise(areaSrc, BYTES, A.MADV_DONTFORK);
  uffd.register(areaDst, BYTES, A.UFFDIO_REGISTER_MODE_MISSING);

  const stepSize = chunk / PAGE;
  let stepCount = NR_PAGES / stepSize;
  let srcOffs = 0;
  if (chunk > PAGE) {
    const alignedSrc = Math.ceil(areaSrc / chunk) * chunk;
    const alignedDst = Math.ceil(areaDst / chunk) * chunk;
    if (alignedSrc !== areaSrc || alignedDst !== areaDst) {
      srcOffs = (alignedSrc - areaSrc) / PAGE;
      stepCount--;
    }
    areaSrc = alignedSrc;
    areaDst = alignedDst;
  }

  const stats = { missing: 0, minor: 0, eexist: 0 };
  const monitor = new Userfaultfd(p, uffd.fd, p.newThread());
  const main = p.newThread();
  const count = (t: { load64(a: number): Promise<bigint> }, area: number, nr: number) => t.load64(area + nr * PAGE + COUNT_OFF);

  await k.run(seed, [
    [main, async (t) => {
      for (let nr = 0; nr < stepCount * stepSize; nr += stepSize) {
        for (let i = 0; i < stepSize; i++) expect(await count(t, areaSrc, nr + i)).toBe(countVerify[srcOffs + nr + i]);
        // faulting into area_dst moves the page (or the PMD-sized chunk)
        for (let i = 0; i < stepSize; i++) expect(await count(t, areaDst, nr + i)).toBe(countVerify[srcOffs + nr + i]);
        for (let i = 0; i < stepSize; i++) expect(await count(t, areaSrc, nr + i)).toBe(0n);
      }
      await t.op(() => uffd.close()); // ends the monitor's iteration
    }],
    [monitor.thread, async (t) => {
      for await (const msg of monitor.messages(t)) {
        if (msg.event !== "pagefault") throw new Error(`unexpected msg event ${msg.event}`);
        if (msg.flags & (A.UFFD_PAGEFAULT_FLAG_WP | A.UFFD_PAGEFAULT_FLAG_MINOR | A.UFFD_PAGEFAULT_FLAG_WRITE)) {
          throw new Error(`unexpected fault type ${msg.flags}`);
        }
        const offset = (msg.address - areaDst) & ~(chunk - 1);
        if (offset < 0 || offset >= BYTES) throw new Error(`unexpected offset ${offset}`);
        // move_page (uffd-common.c)
        try {
          const moved = await t.op(() => monitor.move(areaDst + offset, areaSrc + offset, chunk, A.UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES));
          if (moved !== BigInt(chunk)) throw new Error(`UFFDIO_MOVE error: ${moved}`);
          stats.missing++;
        } catch (e) {
          if (!(e instanceof FillError) || e.bytes !== -BigInt(A.EEXIST)) throw e;
          stats.eexist++;
          await t.op(() => monitor.wake(areaDst + offset, chunk));
        }
      }
    }],
  ]);
  expect(stats.missing).toBe(stepCount);
  expect(stats.minor).toBe(0);
  expect(k.checkInvariants()).toBe(true);
  return { stepCount, stats };
}

describe("uffd-unit-tests move (anon)", () => {
  it("move: page-sized moves, MADV_NOHUGEPAGE on the source", async () => {
    const { stepCount } = await moveTest(PAGE, { src: A.MADV_NOHUGEPAGE }, 1);
    expect(stepCount).toBe(NR_PAGES);
  });

  it("move-pmd: PMD-sized aligned chunks, MADV_HUGEPAGE on source and destination (no THP: chunks of base pages)", async () => {
    const { stepCount } = await moveTest(PMD, { src: A.MADV_HUGEPAGE, dst: A.MADV_HUGEPAGE }, 2);
    expect(stepCount).toBeGreaterThanOrEqual(NR_PAGES / (PMD / PAGE) - 1);
  });

  it("move-pmd-split: PMD-sized chunks, MADV_HUGEPAGE on the source, MADV_NOHUGEPAGE on the destination", async () => {
    const { stepCount } = await moveTest(PMD, { src: A.MADV_HUGEPAGE, dst: A.MADV_NOHUGEPAGE }, 3);
    expect(stepCount).toBeGreaterThanOrEqual(NR_PAGES / (PMD / PAGE) - 1);
  });
});
