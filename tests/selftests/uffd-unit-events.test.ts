// Port of the event-related cases of tools/testing/selftests/mm/uffd-unit-tests.c:
// `events`, `events-wp`, `mmap-changing`, `wp-fork`, `wp-fork-with-event`, `wp-fork-pin`,
// `wp-fork-pin-with-event`, `sigbus`, `sigbus-wp`, for the memory types anon, shmem and
// shmem-private; hugetlb rows are skipped with their reason. Self-contained: the areas, the
// monitor thread (uffd_poll_thread), copy_page and faulting_process are ported here (from uffd-common.c and uffd-unit-tests.c),
// with a small area (16 pages) instead of 32 MiB.
//
// Threads: the monitor and the faulting child run as async threads under k.run (the fork itself
// waits for the monitor to read the FORK event, so it runs under k.run too).
import { describe, it, expect } from "vitest";
import {
  Kernel, CAP_SYS_PTRACE, FillError, BusError, Userfaultfd, WouldBlockError, PM_UFFD_WP,
  type Process, type Thread, type AsyncThread, type UffdMsg,
} from "../../host-ts/index.js";
import * as A from "../../host-ts/abi.gen.js";

const PAGE = 4096;
const NR_PAGES = 16;
const BYTES = NR_PAGES * PAGE;
const RW = A.PROT_READ | A.PROT_WRITE;

type MemType = "anon" | "shmem" | "shmem-private";
const MEM_ALL: MemType[] = ["anon", "shmem", "shmem-private"];
const HUGETLB_REASON = "hugetlb is out of scope (hugetlb internals are not modelled; MAP_HUGETLB gives ENOMEM)";

/** uffd_test_ctx_init's areas: src and dst (for shmem: offsets 0 and BYTES of one memfd, punched). */
interface Ctx {
  k: Kernel;
  p: Process;
  mon: Thread;
  uffd: Userfaultfd;
  mem: MemType;
  shared: boolean;
  src: number;
  dst: number;
  countVerify: bigint[];
}

async function ctxInit(mem: MemType, features: bigint): Promise<Ctx> {
  const k = await Kernel.boot({ memoryBytes: 32 << 20, build: "debug" });
  // EVENT_FORK needs CAP_SYS_PTRACE at UFFDIO_API; the selftests run as root.
  const p = k.spawn({ caps: CAP_SYS_PTRACE });
  const mon = p.newThread();
  const shared = mem === "shmem";
  let src: number, dst: number;
  if (mem === "anon") {
    src = p.mmap(0, BYTES, RW, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
    dst = p.mmap(0, BYTES, RW, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
  } else {
    const fd = p.memfdCreate("uffd-unit");
    p.ftruncate(fd, 2 * BYTES);
    p.fallocate(fd, A.FALLOC_FL_PUNCH_HOLE | A.FALLOC_FL_KEEP_SIZE, 0, 2 * BYTES);
    const fl = shared ? A.MAP_SHARED : A.MAP_PRIVATE;
    src = p.mmap(0, BYTES, RW, fl, fd, 0);
    dst = p.mmap(0, BYTES, RW, fl, fd, BYTES);
  }
  // Each source page: a non-zero placeholder at 0, its counter at 8 (count_verify[] shadows it).
  const countVerify: bigint[] = [];
  for (let nr = 0; nr < NR_PAGES; nr++) {
    p.thread.store8(src + nr * PAGE, 1);
    countVerify.push(BigInt(nr + 1));
    p.thread.store64(src + nr * PAGE + 8, countVerify[nr]);
  }
  // The selftests' uffd is blocking until a test sets O_NONBLOCK; the tests here all do.
  const uffd = new Userfaultfd(p, p.userfaultfd(A.O_NONBLOCK).fd, mon);
  uffd.api(features);
  return { k, p, mon, uffd, mem, shared, src, dst, countVerify };
}

/** uffd_register(uffd, addr, len, miss, wp, minor) */
function register(u: Userfaultfd, addr: number, len: number, miss: boolean, wp: boolean, minor = false): void {
  u.register(addr, len, (miss ? A.UFFDIO_REGISTER_MODE_MISSING : 0n) | (wp ? A.UFFDIO_REGISTER_MODE_WP : 0n) | (minor ? A.UFFDIO_REGISTER_MODE_MINOR : 0n));
}

/** wp_range(ufd, start, len, wp) */
function wpRange(u: Userfaultfd, start: number, len: number, wp: boolean): void {
  u.writeProtect(start, len, wp ? A.UFFDIO_WRITEPROTECT_MODE_WP : 0n);
}

/** release_pages: MADV_REMOVE for shared shmem, MADV_DONTNEED otherwise (raw, on thread `t`). */
function releaseAdvice(c: Ctx): number {
  return c.shared ? A.MADV_REMOVE : A.MADV_DONTNEED;
}

/**
 * __copy_page: COPY one page from src; only -EEXIST is an acceptable failure (then WAKE).
 * Returns whether this call copied it.
 */
function copyPage(u: Userfaultfd, dst: number, src: number, offset: number, wp: boolean): boolean {
  try {
    expect(u.copy(dst + offset, src + offset, PAGE, wp ? A.UFFDIO_COPY_MODE_WP : 0n)).toBe(BigInt(PAGE));
    return true;
  } catch (e) {
    if (!(e instanceof FillError) || e.bytes !== -BigInt(A.EEXIST)) throw e;
    u.wake(dst + offset, PAGE);
    return false;
  }
}

/** uffd_poll_thread + uffd_handle_page_fault: the monitor, as an async thread. */
class Monitor {
  missingFaults = 0;
  wpFaults = 0;
  minorFaults = 0;
  /** PAGEFAULT messages seen (the sigbus tests' `userfaults`) */
  userfaults = 0;
  stop = false;
  childUffd = -1;

  constructor(readonly c: Ctx, public uffd: Userfaultfd, public dst: number, readonly applyWp: boolean) {}

  async run(at: AsyncThread): Promise<void> {
    while (!this.stop) {
      const msgs = await at.op(() => this.uffd.read());
      if (msgs.length === 0) {
        await at.yield();
        continue;
      }
      for (const m of msgs) await at.op(() => this.handle(m));
    }
  }

  private handle(m: UffdMsg): void {
    switch (m.event) {
      case "pagefault": {
        this.userfaults++;
        const off = Math.floor((m.address - this.dst) / PAGE) * PAGE;
        if (m.flags & BigInt(A.UFFD_PAGEFAULT_FLAG_WP)) {
          wpRange(this.uffd, m.address - (m.address % PAGE), PAGE, false);
          this.wpFaults++;
        } else if (m.flags & BigInt(A.UFFD_PAGEFAULT_FLAG_MINOR)) {
          throw new Error("unexpected MINOR fault");
        } else {
          // The first touch of every page is a read (the counter): never a write fault.
          expect(m.flags & BigInt(A.UFFD_PAGEFAULT_FLAG_WRITE)).toBe(0n);
          copyPage(this.uffd, this.dst, this.c.src, off, this.applyWp);
          this.missingFaults++;
        }
        return;
      }
      case "fork":
        this.uffd = new Userfaultfd(this.c.p, m.ufd, this.c.mon);
        this.childUffd = m.ufd;
        return;
      case "remove":
        this.uffd.unregister(m.start, m.end - m.start);
        return;
      case "remap":
        this.dst = m.to;
        return;
    }
    throw new Error(`unexpected message ${JSON.stringify(m)}`);
  }
}

/** fork() in `c.p` while `mon` serves the FORK event; returns the child. */
async function forkServed(c: Ctx, mon: Monitor, seed: number): Promise<Process> {
  let pid = -1;
  await c.k.run(seed, [
    [c.p.thread, async (t) => {
      pid = Number(await t.syscall(A.__NR_fork));
      mon.stop = true;
    }],
    [c.mon, (t) => mon.run(t)],
  ]);
  expect(pid).toBeGreaterThan(0);
  mon.stop = false;
  return c.k.adopt(pid);
}

/** faulting_process(0, wp) in the child `ct`, with the monitor serving; the child's area_dst is `dst`. */
async function faultingProcess0(c: Ctx, ct: Thread, mon: Monitor, seed: number): Promise<void> {
  const split = Math.floor((NR_PAGES + 1) / 2);
  await c.k.run(seed, [
    [ct, async (t) => {
      let dst = c.dst;
      let nr = 0;
      for (; nr < split; nr++) {
        const count = await t.load64(dst + nr * PAGE + 8);
        expect(count, `nr ${nr} memory corruption`).toBe(c.countVerify[nr]);
        await t.store64(dst + nr * PAGE + 8, count); // triggers write protection, if any
      }
      dst = Number(await t.syscall(A.__NR_mremap, dst, BYTES, BYTES, A.MREMAP_MAYMOVE | A.MREMAP_FIXED, c.src));
      expect(dst).toBe(c.src);
      for (; nr < NR_PAGES; nr++) {
        const count = await t.load64(dst + nr * PAGE + 8);
        expect(count, `nr ${nr} memory corruption`).toBe(c.countVerify[nr]);
        await t.store64(dst + nr * PAGE + 8, count);
      }
      expect(await t.syscall(A.__NR_madvise, dst, BYTES, releaseAdvice(c))).toBe(0n);
      const all = await t.read(dst, BYTES);
      expect(all.findIndex((b) => b !== 0), "page not zero after release").toBe(-1);
      mon.stop = true;
    }],
    [c.mon, (t) => mon.run(t)],
  ]);
}

function eventsTest(mem: MemType, wp: boolean) {
  return async () => {
    const features = A.UFFD_FEATURE_EVENT_FORK | A.UFFD_FEATURE_EVENT_REMAP | A.UFFD_FEATURE_EVENT_REMOVE |
      (wp ? A.UFFD_FEATURE_PAGEFAULT_FLAG_WP | A.UFFD_FEATURE_WP_HUGETLBFS_SHMEM : 0n);
    const c = await ctxInit(mem, features);
    register(c.uffd, c.dst, BYTES, true, wp);
    const mon = new Monitor(c, c.uffd, c.dst, wp);
    const child = await forkServed(c, mon, 7);
    expect(mon.childUffd).toBeGreaterThanOrEqual(0);
    await faultingProcess0(c, child.thread, mon, 8);
    child.exit(0);
    expect(mon.missingFaults, "Fault counts wrong").toBe(NR_PAGES);
    if (wp) expect(mon.wpFaults).toBe(NR_PAGES);
    expect(c.k.stats().uffdEvents).toBe(0);
    expect(c.k.checkInvariants()).toBe(true);
  };
}

/**
 * faulting_process(1 or 2, wp) on thread `t` (synchronous; SIGBUS arrives as BusError, where the
 * selftest's handler siglongjmps). Returns `signalled`.
 */
function faultingProcessSignal(c: Ctx, t: Thread, u: Userfaultfd, signalTest: 1 | 2, wp: boolean): number {
  const split = Math.floor((NR_PAGES + 1) / 2);
  let signalled = 0;
  let lastnr = -1;
  for (let nr = 0; nr < split; nr++) {
    let steps = 1;
    const off = nr * PAGE;
    for (;;) {
      try {
        const count = t.load64(c.dst + off + 8);
        expect(count, `nr ${nr} memory corruption`).toBe(c.countVerify[nr]);
        t.store64(c.dst + off + 8, count);
        break;
      } catch (e) {
        if (!(e instanceof BusError)) throw e;
        if (steps === 1 && nr === lastnr) throw new Error("Signal repeated");
        lastnr = nr;
        if (signalTest === 1) {
          if (steps === 1) {
            steps++; // a MISSING request
            if (copyPage(u, c.dst, c.src, off, wp)) signalled++;
          } else {
            expect(steps).toBe(2); // a WP request
            wpRange(u, c.dst + off, PAGE, false);
          }
        } else {
          signalled++;
          break;
        }
      }
    }
  }
  return signalled;
}

function sigbusTest(mem: MemType, wp: boolean) {
  return async () => {
    const features = A.UFFD_FEATURE_SIGBUS | A.UFFD_FEATURE_EVENT_FORK |
      (wp ? A.UFFD_FEATURE_PAGEFAULT_FLAG_WP | A.UFFD_FEATURE_WP_HUGETLBFS_SHMEM : 0n);
    const c = await ctxInit(mem, features);
    register(c.uffd, c.dst, BYTES, true, wp);
    const split = Math.floor((NR_PAGES + 1) / 2);
    expect(faultingProcessSignal(c, c.p.thread, c.uffd, 1, wp), "faulting process failed").toBe(split);
    expect(c.p.syscall(A.__NR_madvise, c.dst, BYTES, releaseAdvice(c))).toBe(0n);
    const mon = new Monitor(c, c.uffd, c.dst, wp);
    const child = await forkServed(c, mon, 5);
    // the child's accesses: SIGBUS each (its ctx has the SIGBUS feature too), no message
    let signalled = 0;
    await c.k.run(6, [
      [child.thread, async (t) => {
        signalled = await t.op(() => faultingProcessSignal(c, child.thread, mon.uffd, 2, wp));
        mon.stop = true;
      }],
      [c.mon, (t) => mon.run(t)],
    ]);
    expect(signalled, "faulting process failed").toBe(split);
    expect(mon.userfaults, "Signal test failed").toBe(0);
    child.exit(0);
    expect(c.k.checkInvariants()).toBe(true);
  };
}

/** mmap-changing: a thread blocked in MADV_REMOVE (REMOVE unread) makes every fill ioctl EAGAIN with -EAGAIN stored. */
async function mmapChangingTest(): Promise<void> {
  const c = await ctxInit("shmem", A.UFFD_FEATURE_EVENT_REMOVE | A.UFFD_FEATURE_POISON | A.UFFD_FEATURE_MINOR_SHMEM);
  register(c.uffd, c.dst, BYTES, true, false, true);
  const t = c.p.newThread();
  const remove = () => t.syscall(A.__NR_madvise, c.dst, BYTES, A.MADV_REMOVE);
  expect(remove).toThrow(WouldBlockError); // the thread now sleeps on the event (state D)
  const calls: [string, () => bigint][] = [
    ["COPY copy", () => c.uffd.copy(c.dst, c.src, PAGE)],
    ["ZEROPAGE zeropage", () => c.uffd.zeropage(c.dst, PAGE)],
    // MOVE: EAGAIN comes before everything, so the shmem destination's EINVAL is never reached
    ["MOVE move", () => c.uffd.move(c.dst, c.src, PAGE)],
    ["POISON updated", () => c.uffd.poison(c.dst, PAGE)],
    ["CONTINUE mapped", () => c.uffd.continue(c.dst, PAGE)],
  ];
  for (const [name, f] of calls) {
    let err: unknown;
    try { f(); } catch (e) { err = e; }
    expect(err, name).toBeInstanceOf(FillError);
    expect((err as FillError).code, name).toBe("EAGAIN");
    expect((err as FillError).bytes, name).toBe(-BigInt(A.EAGAIN));
  }
  expect(c.uffd.read()).toEqual([{ event: "remove", start: c.dst, end: c.dst + BYTES }]);
  expect(remove()).toBe(0n); // unblocked
  expect(c.uffd.zeropage(c.dst, PAGE)).toBe(BigInt(PAGE));
  expect(c.k.checkInvariants()).toBe(true);
}

/**
 * pagemap_test_fork: fork (a thread consumes FORK when `withEvent`); the child's PTE at dst must
 * carry the uffd-wp bit exactly when the event was enabled.
 */
function pagemapTestFork(c: Ctx, withEvent: boolean): void {
  let child: Process;
  let childUffd = -1;
  if (withEvent) {
    expect(() => c.p.syscall(A.__NR_fork)).toThrow(WouldBlockError);
    const [ev] = c.uffd.read(); // fork_event_consumer
    expect(ev.event).toBe("fork");
    childUffd = (ev as { ufd: number }).ufd;
    child = c.k.adopt(Number(c.p.syscall(A.__NR_fork)));
  } else {
    child = c.p.fork();
  }
  expect((child.pagemap(c.dst) & PM_UFFD_WP) !== 0n, `child uffd-wp bit (with_event=${withEvent})`).toBe(withEvent);
  child.exit(0);
  // After waitpid: closing the child's userfaultfd releases its ctx.
  if (childUffd >= 0) c.p.close(childUffd);
}

function wpForkTest(mem: MemType, withEvent: boolean) {
  return async () => {
    const c = await ctxInit(mem, A.UFFD_FEATURE_PAGEFAULT_FLAG_WP | A.UFFD_FEATURE_WP_HUGETLBFS_SHMEM | (withEvent ? A.UFFD_FEATURE_EVENT_FORK : 0n));
    register(c.uffd, c.dst, BYTES, false, true);
    c.p.thread.store8(c.dst, 1); // touch the page
    wpRange(c.uffd, c.dst, PAGE, true);
    expect(c.p.pagemap(c.dst) & PM_UFFD_WP).toBe(PM_UFFD_WP);
    pagemapTestFork(c, withEvent); // a present PTE
    // Zap the page table to expose markers: DONTNEED for shared; PAGEOUT for private (uffdlab
    // has no swap, so PAGEOUT leaves the page present, as a page that could not be paged out).
    expect(c.p.syscall(A.__NR_madvise, c.dst, PAGE, c.shared ? A.MADV_DONTNEED : A.MADV_PAGEOUT)).toBe(0n);
    expect(c.p.pagemap(c.dst) & PM_UFFD_WP, "uffd-wp should persist even swapped out").toBe(PM_UFFD_WP);
    pagemapTestFork(c, withEvent); // a zapped PTE (shared: a uffd-wp marker)
    wpRange(c.uffd, c.dst, PAGE, false);
    expect(c.p.pagemap(c.dst) & PM_UFFD_WP).toBe(0n);
    c.p.thread.store8(c.dst, 2); // fault the page back in
    expect(c.p.pagemap(c.dst) & PM_UFFD_WP).toBe(0n);
    c.uffd.unregister(c.dst, BYTES);
    expect(c.k.checkInvariants()).toBe(true);
  };
}

const PIN_REASON = "needs the kernel's GUP test interface (CONFIG_GUP_TEST: /sys/kernel/debug/gup_test, PIN_LONGTERM_TEST_START) to take a long-term pin; uffdlab has no pinning interface, and the selftest itself skips without it";

describe("uffd-unit-tests: events", () => {
  for (const mem of MEM_ALL) {
    it(`events on ${mem}`, eventsTest(mem, false));
    it(`events-wp on ${mem}`, eventsTest(mem, true));
    it(`sigbus on ${mem}`, sigbusTest(mem, false));
    it(`sigbus-wp on ${mem}`, sigbusTest(mem, true));
    it(`wp-fork on ${mem}`, wpForkTest(mem, false));
    it(`wp-fork-with-event on ${mem}`, wpForkTest(mem, true));
    it.skip(`wp-fork-pin on ${mem}: ${PIN_REASON}`, () => {});
    it.skip(`wp-fork-pin-with-event on ${mem}: ${PIN_REASON}`, () => {});
  }
  it("mmap-changing on shmem", mmapChangingTest);
  for (const mem of ["hugetlb", "hugetlb-private"]) {
    for (const name of ["events", "events-wp", "sigbus", "sigbus-wp", "wp-fork", "wp-fork-with-event", "wp-fork-pin", "wp-fork-pin-with-event"]) {
      it.skip(`${name} on ${mem}: ${HUGETLB_REASON}`, () => {});
    }
  }
});
