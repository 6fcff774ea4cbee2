// A port of tools/testing/selftests/mm/uffd-common.c over uffdlab's host API.
//
// Used on the main JS thread (unit tests, async scheduler threads) and inside worker threads (the
// stress test bundles this file with esbuild), so it depends only on a Thread, a Userfaultfd bound
// to that thread, and the area description — never on module state.
//
// Page layout (uffd-common.h area_mutex / area_count): every page of the test areas holds
//   +0   the page's lock word: pthread_mutex_t modelled as a futex word (0 free, 1 locked,
//        2 locked with waiters), taken with Atomics on the shared Wasm memory at the page's
//        simulated physical address (Thread.translate). Taking it first *reads* the word
//        through the simulated MMU — glibc reads the mutex type before any locked operation,
//        which is why a MISSING fault must never carry the WRITE flag — then translates for
//        a write, which raises the uffd-wp fault the locked cmpxchg would raise on Linux.
//   +8   the 64-bit counter, read and written through the simulated MMU;
//   +16  a non-zero placeholder (1).
// The shadow `count_verify[]` is a Float64Array (on a SharedArrayBuffer in the stress test).
import { Userfaultfd, FillError, SystemError, type AsyncThread, type Process, type Thread, type UffdMsg } from "../../host-ts/index.js";
import * as A from "../../host-ts/abi.gen.js";

export const PAGE = 4096;
export const MUTEX_OFF = 0;
export const COUNT_OFF = 8;
export const PLACEHOLDER_OFF = 16;

export type MemType = "anon" | "shmem" | "shmem-private";
export const MEM_TYPES: readonly MemType[] = ["anon", "shmem", "shmem-private"];
/** The selftest's hugetlb memory types: out of scope for uffdlab (no hugetlbfs). */
export const HUGETLB_SKIP = "hugetlb is out of scope for uffdlab: no hugetlbfs, no MFD_HUGETLB";

/** Where a test's memory is (addresses in the test process). Alias fields are 0 when there is none. */
export interface UffdArea {
  memType: MemType;
  nrPages: number;
  src: number;
  srcAlias: number;
  dst: number;
  dstAlias: number;
  /** the memfd behind src/dst (shmem types), or -1 */
  memFd: number;
  /** the file offsets of src and dst (shmem types) */
  srcOff: number;
  dstOff: number;
}

/** Per-handler counters (struct uffd_args). */
export interface UffdArgs {
  applyWp: boolean;
  missingFaults: number;
  wpFaults: number;
  minorFaults: number;
  /** fills that found the page already there (then woke it) */
  eexist: number;
  /** a custom fault handler (args->handle_fault), e.g. the poison test's */
  handleFault?: (msg: Extract<UffdMsg, { event: "pagefault" }>, args: UffdArgs, c: UffdCommon) => void;
}

export function newArgs(applyWp = false): UffdArgs {
  return { applyWp, missingFaults: 0, wpFaults: 0, minorFaults: 0, eexist: 0 };
}

export class SelftestError extends Error {
  constructor(msg: string) { super(msg); this.name = "SelftestError"; }
}
/** err() of the selftests. */
export function err(msg: string): never { throw new SelftestError(msg); }

const RW = A.PROT_READ | A.PROT_WRITE;

/** Bits of uffdio_register.ioctls: 1 << _UFFDIO_* (include/uapi/linux/userfaultfd.h). */
export const IOCTL_BIT = { WAKE: 1n << 2n, COPY: 1n << 3n, ZEROPAGE: 1n << 4n, MOVE: 1n << 5n, WRITEPROTECT: 1n << 6n, CONTINUE: 1n << 7n, POISON: 1n << 8n } as const;

/**
 * Allocate src and dst (uffd_test_ctx_init + *_allocate_area): anon = two private anonymous
 * mappings; shmem = a 2 × bytes memfd (fallocate PUNCH_HOLE|KEEP_SIZE over all of it) with src at
 * offset 0 and dst at offset bytes, each mapped MAP_SHARED twice (area and alias), every mapping
 * separated from the next by an unmapped gap so no two VMAs can merge; shmem-private = the same
 * memfd mapped MAP_PRIVATE (no alias: an alias of a private mapping would see the file, not the
 * private pages, so the retry-on-alias check would not mean what it means for shmem).
 * Then count_verify[] and the src pages are initialised (lock free, counter 1, placeholder 1) and
 * dst is released.
 */
export function allocateAreas(p: Process, memType: MemType, nrPages: number): UffdArea {
  const bytes = nrPages * PAGE;
  // Reserve one span and carve it, leaving a page of gap between the mappings.
  const slots = memType === "shmem" ? 4 : 2;
  const span = slots * (bytes + PAGE);
  const base = p.mmap(0, span, A.PROT_NONE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
  p.munmap(base, span);
  const at = (i: number) => base + i * (bytes + PAGE);
  const area: UffdArea = { memType, nrPages, src: 0, srcAlias: 0, dst: 0, dstAlias: 0, memFd: -1, srcOff: 0, dstOff: bytes };
  if (memType === "anon") {
    area.src = p.mmap(at(0), bytes, RW, A.MAP_PRIVATE | A.MAP_ANONYMOUS | A.MAP_FIXED);
    area.dst = p.mmap(at(1), bytes, RW, A.MAP_PRIVATE | A.MAP_ANONYMOUS | A.MAP_FIXED);
  } else {
    const fd = p.memfdCreate("uffd-test");
    p.ftruncate(fd, 2 * bytes);
    p.fallocate(fd, A.FALLOC_FL_PUNCH_HOLE | A.FALLOC_FL_KEEP_SIZE, 0, 2 * bytes);
    area.memFd = fd;
    const flags = (memType === "shmem" ? A.MAP_SHARED : A.MAP_PRIVATE) | A.MAP_FIXED;
    area.src = p.mmap(at(0), bytes, RW, flags, fd, 0);
    area.dst = p.mmap(at(1), bytes, RW, flags, fd, bytes);
    if (memType === "shmem") {
      area.srcAlias = p.mmap(at(2), bytes, RW, A.MAP_SHARED | A.MAP_FIXED, fd, 0);
      area.dstAlias = p.mmap(at(3), bytes, RW, A.MAP_SHARED | A.MAP_FIXED, fd, bytes);
    }
  }
  return area;
}

/** Initialise src pages and the shadow (uffd_test_ctx_init), then release dst. */
export function initCounters(p: Process, area: UffdArea, countVerify: Float64Array): void {
  const t = p.thread;
  for (let nr = 0; nr < area.nrPages; nr++) {
    const pg = area.src + nr * PAGE;
    t.store32(pg + MUTEX_OFF, 0);
    t.store64(pg + COUNT_OFF, 1n);
    t.store64(pg + PLACEHOLDER_OFF, 1n);
    countVerify[nr] = 1;
  }
  releasePages(p, area, area.dst);
}

/**
 * release_pages: anon MADV_DONTNEED; shmem MADV_REMOVE (punches the file); shmem-private
 * MADV_DONTNEED of the private pages and a punch of the file range behind them, so that no page
 * cache page is left to be mapped without a MISSING fault.
 */
export function releasePages(p: Process, area: UffdArea, rel: number): void {
  const bytes = area.nrPages * PAGE;
  if (area.memType === "anon") p.madvise(rel, bytes, A.MADV_DONTNEED);
  else if (area.memType === "shmem") p.madvise(rel, bytes, A.MADV_REMOVE);
  else {
    p.madvise(rel, bytes, A.MADV_DONTNEED);
    const off = rel === area.src ? area.srcOff : area.dstOff;
    p.fallocate(area.memFd, A.FALLOC_FL_PUNCH_HOLE | A.FALLOC_FL_KEEP_SIZE, off, bytes);
  }
}

/** Swap src and dst (and their aliases and offsets) for the next bounce. */
export function swapAreas(a: UffdArea): void {
  [a.src, a.dst] = [a.dst, a.src];
  [a.srcAlias, a.dstAlias] = [a.dstAlias, a.srcAlias];
  [a.srcOff, a.dstOff] = [a.dstOff, a.srcOff];
}

export function freeAreas(p: Process, a: UffdArea): void {
  const bytes = a.nrPages * PAGE;
  for (const x of [a.src, a.srcAlias, a.dst, a.dstAlias]) if (x) p.munmap(x, bytes);
  if (a.memFd >= 0) p.close(a.memFd);
}

/**
 * userfaultfd_open: the system call first, /dev/userfaultfd + USERFAULTFD_IOC_NEW as the fallback
 * (or only that with `dev`); then UFFDIO_API with `features`. Returns the fd and the features the
 * kernel reported.
 */
export function userfaultfdOpen(p: Process, features: bigint, flags: number, opts: { dev?: boolean } = {}): { uffd: Userfaultfd; features: bigint } {
  let fd = -1;
  if (!opts.dev) {
    const r = p.syscall(A.__NR_userfaultfd, flags);
    if (r >= 0n) fd = Number(r);
  }
  if (fd < 0) fd = uffdOpenDev(p, flags);
  const uffd = new Userfaultfd(p, fd);
  const got = uffd.api(features);
  return { uffd, features: got.features };
}

/** uffd_open_dev: open /dev/userfaultfd, USERFAULTFD_IOC_NEW(flags), close the device. */
export function uffdOpenDev(p: Process, flags: number): number {
  const dev = p.open("/dev/userfaultfd", A.O_RDWR | A.O_CLOEXEC);
  try {
    const r = p.syscall(A.__NR_ioctl, dev, A.USERFAULTFD_IOC_NEW, flags);
    if (r < 0n) throw new SystemError(Number(-r), "ioctl USERFAULTFD_IOC_NEW");
    return Number(r);
  } finally {
    p.close(dev);
  }
}

/** The handler side: one Userfaultfd on one thread, plus the area it serves. */
export class UffdCommon {
  constructor(readonly uffd: Userfaultfd, readonly t: Thread, readonly area: UffdArea) {}

  /** uffd_register(uffd, addr, len, miss, wp, minor): the ioctls, or -errno (uffd_register_with_ioctls). */
  register(addr: number, len: number, miss: boolean, wp: boolean, minor: boolean): bigint {
    let mode = 0n;
    if (miss) mode |= A.UFFDIO_REGISTER_MODE_MISSING;
    if (wp) mode |= A.UFFDIO_REGISTER_MODE_WP;
    if (minor) mode |= A.UFFDIO_REGISTER_MODE_MINOR;
    try {
      return this.uffd.register(addr, len, mode);
    } catch (e) {
      if (e instanceof SystemError) return -BigInt(e.errno);
      throw e;
    }
  }

  unregister(addr: number, len: number): void { this.uffd.unregister(addr, len); }

  /** wp_range: protect (wp) or unprotect-and-wake. */
  wpRange(start: number, len: number, wp: boolean): void {
    try {
      this.uffd.writeProtect(start, len, wp ? A.UFFDIO_WRITEPROTECT_MODE_WP : 0);
    } catch (e) {
      err(`${wp ? "set" : "clear"} WP failed: address=0x${start.toString(16)}: ${(e as Error).message}`);
    }
  }

  /** continue_range: CONTINUE, then deliberately again: that must fail with mapped == -EEXIST. */
  continueRange(start: number, len: number, wp: boolean): void {
    const mode = wp ? A.UFFDIO_CONTINUE_MODE_WP : 0;
    try {
      this.uffd.continue(start, len, mode);
    } catch (e) {
      err(`UFFDIO_CONTINUE failed for address 0x${start.toString(16)}: ${(e as Error).message}`);
    }
    let mapped: bigint | null = null;
    try {
      this.uffd.continue(start, len, mode);
    } catch (e) {
      if (e instanceof FillError) mapped = e.bytes;
      else throw e;
    }
    if (mapped !== -BigInt(A.EEXIST)) err(`failed to exercise UFFDIO_CONTINUE error handling, mapped=${mapped}`);
  }

  /** wake_range */
  wake(addr: number, len: number): void { this.uffd.wake(addr, len); }

  /**
   * uffd_read_msg: one 32-byte message, or null when there is none now (EAGAIN; EINTR cannot
   * happen here). On a blocking fd in a worker ("atomics" wait mode) this waits for a message.
   */
  readMsg(): UffdMsg | null {
    const m = this.uffd.read(1);
    return m.length ? m[0] : null;
  }

  /**
   * __copy_page: COPY one page from src to dst at `offset` (MODE_WP with `wp`). A failure is
   * acceptable only with copy == -EEXIST, and is followed by a WAKE of the page; success needs
   * copy == page size. With `retry`, the same COPY is then issued on the alias (dst for anon and
   * shmem-private) and must fail with -EEXIST. Returns whether this call filled the page.
   */
  copyPage(offset: number, wp: boolean, retry = false, args?: UffdArgs): boolean {
    const a = this.area;
    if (offset >= a.nrPages * PAGE) err(`unexpected offset ${offset}`);
    const dst = a.dst + offset;
    const mode = wp ? A.UFFDIO_COPY_MODE_WP : 0;
    let copied: bigint;
    try {
      copied = this.uffd.copy(dst, a.src + offset, PAGE, mode);
    } catch (e) {
      if (!(e instanceof FillError) || e.bytes !== -BigInt(A.EEXIST)) err(`UFFDIO_COPY error: ${(e as Error).message}${e instanceof FillError ? ` (copy ${e.bytes})` : ""}`);
      if (args) args.eexist++;
      this.wake(dst, PAGE);
      return false;
    }
    if (copied !== BigInt(PAGE)) err(`UFFDIO_COPY error: copy ${copied}`);
    if (retry) this.retryCopyPage(offset, mode);
    return true;
  }

  /** retry_copy_page: the COPY again, on the alias mapping: it must fail with -EEXIST. */
  private retryCopyPage(offset: number, mode: bigint | number): void {
    const a = this.area;
    const dst = (a.dstAlias || a.dst) + offset;
    try {
      const c = this.uffd.copy(dst, a.src + offset, PAGE, mode);
      err(`UFFDIO_COPY retry unexpected: ${c}`);
    } catch (e) {
      if (!(e instanceof FillError) || e.bytes !== -BigInt(A.EEXIST)) throw e instanceof SelftestError ? e : new SelftestError(`UFFDIO_COPY retry error: ${(e as Error).message}`);
    }
  }

  /**
   * uffd_handle_page_fault: WP → unprotect (wpFaults); MINOR → bit-flip the page through the
   * non-registered mapping (dst, the fault being on dstAlias), then CONTINUE (minorFaults);
   * MISSING → must not carry WRITE, COPY from src (missingFaults, when this COPY filled it).
   */
  handlePageFault(msg: UffdMsg, args: UffdArgs): void {
    if (msg.event !== "pagefault") err(`unexpected msg event ${msg.event}`);
    if (args.handleFault) return args.handleFault(msg, args, this);
    const a = this.area;
    if (msg.flags & BigInt(A.UFFD_PAGEFAULT_FLAG_WP)) {
      this.wpRange(msg.address, PAGE, false);
      args.wpFaults++;
    } else if (msg.flags & BigInt(A.UFFD_PAGEFAULT_FLAG_MINOR)) {
      const plain = a.dst + (msg.address - a.dstAlias);
      const b = this.t.read(plain, PAGE);
      for (let i = 0; i < PAGE; i++) b[i] = ~b[i];
      this.t.write(plain, b);
      this.continueRange(msg.address, PAGE, args.applyWp);
      args.minorFaults++;
    } else {
      if (msg.flags & BigInt(A.UFFD_PAGEFAULT_FLAG_WRITE)) err(`unexpected write fault at 0x${msg.address.toString(16)}`);
      const offset = (msg.address - a.dst) & ~(PAGE - 1);
      if (this.copyPage(offset, args.applyWp, false, args)) args.missingFaults++;
    }
  }
}

/**
 * uffd_poll_thread for async scheduler threads: poll(-1) on the userfaultfd and the pipe, which
 * sleeps until either is ready; the pipe first (written when the test is done: the thread
 * leaves); PAGEFAULT → the handler; REMOVE → UNREGISTER; other events are an error here (the
 * event helpers add FORK and REMAP).
 */
export async function uffdPollThread(at: AsyncThread, c: UffdCommon, pipeRd: number, args: UffdArgs, p: Process): Promise<void> {
  for (;;) {
    const [ur, pr] = await at.op(() => p.poll([{ fd: c.uffd.fd, events: A.POLLIN }, { fd: pipeRd, events: A.POLLIN }], -1, at.thread));
    if (pr) {
      if (!(pr & A.POLLIN)) err(`pollfd[1].revents ${pr}`);
      const r = at.thread.syscall(A.__NR_read, pipeRd, A.HOST_STAGING_BASE, 1);
      if (r !== 1n) err("read pipefd error");
      return;
    }
    if (ur) {
      if (!(ur & A.POLLIN)) err(`pollfd[0].revents ${ur}`);
      const msg = c.readMsg();
      if (msg) {
        if (msg.event === "pagefault") c.handlePageFault(msg, args);
        else if (msg.event === "remove") c.unregister(msg.start, msg.end - msg.start);
        else err(`unexpected msg event ${msg.event}`);
      }
    }
  }
}
