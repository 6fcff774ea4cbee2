// mm/pgtable.ts and mm/access.ts: the four-level page tables and the simulated MMU.
//
// Table boundaries (a new PTE, PMD or PUD table on each side), the top of the user address
// space, accesses that span two pages (faulted in together, atomic on failure), and page
// tables given back when they empty.
import { describe, it, expect } from "vitest";
import type { Kernel, Process } from "../../host-ts/index.js";
import { boot, RW, ANON, PAGE, A, expectSignal, expectErrno } from "../helpers/kernel.js";

const FIXED = ANON | A.MAP_FIXED;
const TASK_SIZE = Number(A.TASK_SIZE);
const MiB = 1 << 20;
const GiB = 2 ** 30;

/** A store of `size` bytes of `v` through the matching Thread method. */
function storeN(p: Process, addr: number, size: number, v: bigint): void {
  const t = p.thread;
  if (size === 1) t.store8(addr, Number(v));
  else if (size === 2) t.store16(addr, Number(v));
  else if (size === 4) t.store32(addr, Number(v));
  else t.store64(addr, v);
}
function loadN(p: Process, addr: number, size: number): bigint {
  const t = p.thread;
  if (size === 1) return BigInt(t.load8(addr));
  if (size === 2) return BigInt(t.load16(addr));
  if (size === 4) return BigInt(t.load32(addr));
  return t.load64(addr);
}
/** Bytes at [addr, addr + len) read one load8 at a time (no page-spanning access involved). */
function bytesAt(p: Process, addr: number, len: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < len; i++) out.push(p.thread.load8(addr + i));
  return out;
}
const VALUES: Record<number, bigint> = { 2: 0xa1b2n, 4: 0xa1b2c3d4n, 8: 0xa1b2c3d4e5f60718n };
function leBytes(v: bigint, size: number): number[] {
  return Array.from({ length: size }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn));
}

/** Free frames, after the caches have what a few VMAs need (so slab growth is not counted). */
function warm(k: Kernel, p: Process): number {
  const a = p.mmap(0, 4 * PAGE, RW, ANON);
  p.mprotect(a + PAGE, PAGE, A.PROT_READ);
  p.munmap(a, 4 * PAGE);
  return k.stats().freeFrames;
}

describe("table boundaries", () => {
  // [name, boundary address b, frames used by touching the pages b - 4096 and b in a fresh mm]
  // Each side of a boundary at level L needs its own table at every level below L.
  const cases: [string, number, number][] = [
    ["inside one PTE table", 0x1_0000_0000 + 0x100000, 2 + 3],
    ["2 MiB (PTE table) boundary", 0x1_0000_0000 + 2 * MiB, 2 + 1 + 1 + 2],
    ["1 GiB (PMD table) boundary", 0x1_0000_0000 + GiB, 2 + 1 + 2 + 2],
    ["512 GiB (PUD table) boundary", 512 * GiB, 2 + 2 + 2 + 2],
    ["512 GiB boundary, high", 0x7f80_0000_0000, 2 + 2 + 2 + 2],
  ];

  it.each(cases)("%s: both sides map distinct frames; exact table cost; all freed by munmap", async (_n, b, frames) => {
    const { k, p } = await boot();
    const base = warm(k, p);
    const a = p.mmap(b - PAGE, 2 * PAGE, RW, FIXED);
    expect(a).toBe(b - PAGE);
    expect(k.stats().freeFrames).toBe(base);
    p.thread.store64(b - 8, 0x1111222233334444n);
    p.thread.store64(b, 0x5555666677778888n);
    expect(base - k.stats().freeFrames).toBe(frames);
    expect(p.thread.load64(b - 8)).toBe(0x1111222233334444n);
    expect(p.thread.load64(b)).toBe(0x5555666677778888n);
    const pa1 = p.thread.translate(b - PAGE);
    const pa2 = p.thread.translate(b);
    expect(pa1 % PAGE).toBe(0);
    expect(pa2 % PAGE).toBe(0);
    expect(pa1).not.toBe(pa2);
    expect(p.thread.translate(b - 8)).toBe(pa1 + PAGE - 8);
    // An access spanning the boundary itself spans two tables.
    p.thread.store32(b - 2, 0xdeadbeef);
    expect(p.thread.load32(b - 2)).toBe(0xdeadbeef);
    expect(bytesAt(p, b - 2, 4)).toEqual([0xef, 0xbe, 0xad, 0xde]);
    expect(p.vmas().map((v) => [v.start, v.end, v.rss])).toEqual([[b - PAGE, b + PAGE, 2]]);
    expect(k.checkInvariants()).toBe(true);
    p.munmap(a, 2 * PAGE);
    expect(k.stats().freeFrames).toBe(base);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a fault on one side of a boundary does not touch the other side's tables", async () => {
    const { k, p } = await boot();
    const base = warm(k, p);
    const b = 512 * GiB;
    p.mmap(b - PAGE, 2 * PAGE, RW, FIXED);
    p.thread.store8(b - 1, 1);
    expect(base - k.stats().freeFrames).toBe(4); // PUD + PMD + PTE + page
    expect(p.vmas()[0].rss).toBe(1);
    expect(p.thread.load8(b)).toBe(0); // zero page: tables only
    expect(base - k.stats().freeFrames).toBe(7);
    expect(p.vmas()[0].rss).toBe(2);
    p.munmap(b - PAGE, 2 * PAGE);
    expect(k.stats().freeFrames).toBe(base);
    expect(k.checkInvariants()).toBe(true);
  });

  it("partial munmap frees exactly the tables that emptied", async () => {
    const { k, p } = await boot();
    const base = warm(k, p);
    const b = 0x2_0000_0000 + 2 * MiB;
    p.mmap(b - PAGE, 3 * PAGE, RW, FIXED);
    for (let i = -1; i < 2; i++) p.thread.store32(b + i * PAGE, i + 10);
    expect(base - k.stats().freeFrames).toBe(3 + 1 + 1 + 2); // 3 pages, PUD, PMD, 2 PTE tables
    // [b, b + 2 pages) is all of the second PTE table's entries: it goes, with its 2 pages.
    p.munmap(b, 2 * PAGE);
    expect(base - k.stats().freeFrames).toBe(1 + 1 + 1 + 1);
    expect(p.thread.load32(b - PAGE)).toBe(9);
    expect(k.checkInvariants()).toBe(true);
    p.munmap(b - PAGE, PAGE);
    expect(k.stats().freeFrames).toBe(base);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a PTE table shared by two VMAs survives unmapping one of them", async () => {
    const { k, p } = await boot();
    const base = warm(k, p);
    const a = 0x3_0000_0000;
    p.mmap(a, PAGE, RW, FIXED);
    p.mmap(a + 2 * PAGE, PAGE, A.PROT_READ, FIXED);
    p.thread.store32(a, 7);
    expect(p.thread.load32(a + 2 * PAGE)).toBe(0);
    expect(base - k.stats().freeFrames).toBe(1 + 3);
    p.munmap(a, PAGE);
    expect(base - k.stats().freeFrames).toBe(3); // tables stay: the other VMA's PTE is in them
    expect(p.thread.load32(a + 2 * PAGE)).toBe(0);
    expect(k.checkInvariants()).toBe(true);
    p.munmap(a + 2 * PAGE, PAGE);
    expect(k.stats().freeFrames).toBe(base);
    expect(k.checkInvariants()).toBe(true);
  });

  it("process exit frees every table and page, including the top-level table", async () => {
    const { k } = await boot();
    const warmup = k.spawn();
    warm(k, warmup);
    warmup.exit();
    const base = k.stats().freeFrames;
    const slab = k.stats().slabFrames;
    const p = k.spawn();
    for (const b of [0x10000, 2 * MiB, GiB, 512 * GiB, TASK_SIZE - PAGE]) {
      p.mmap(b, PAGE, RW, FIXED);
      p.thread.store8(b, 1);
    }
    expect(k.stats().freeFrames).toBeLessThan(base - 10);
    p.exit();
    expect(k.stats().slabFrames).toBe(slab);
    expect(k.stats().freeFrames).toBe(base);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("range walks skip empty upper-level tables", () => {
  // A 64 TiB PROT_NONE reservation with one page behind it: fork (copy_page_range), exit (zap),
  // maps (count_present), mprotect, MADV_DONTNEED, MADV_GUARD_REMOVE, uffd WRITEPROTECT and munmap walk the whole
  // range. Walking it 2 MiB at a time is 2^25 steps per walk (seconds); skipping empty PUDs and
  // P4Ds as Linux does is a few hundred. Hundreds of walks here finish at once only with the skip.
  it("300 rounds of fork, maps, mprotect, madvise and exit over a 64 TiB reservation; guard removal; uffd-wp", async () => {
    const { k, p } = await boot();
    const len = 64 * 1024 * GiB;
    const a = p.mmap(0, len, A.PROT_NONE, ANON | A.MAP_NORESERVE);
    p.mprotect(a + len / 2, PAGE, A.PROT_READ | A.PROT_WRITE);
    p.thread.store8(a + len / 2, 7);
    for (let i = 0; i < 300; i++) {
      const c = p.fork();
      expect(c.vmas().filter((v) => v.start >= a && v.end <= a + len).reduce((n, v) => n + v.rss, 0)).toBe(1);
      p.mprotect(a, len, A.PROT_READ);
      p.mprotect(a, len, A.PROT_NONE);
      p.madvise(a, len / 2, A.MADV_DONTNEED);
      c.exit();
    }
    // MADV_GUARD_REMOVE of the whole reservation (with one guard page in it) once walked it page by page
    p.madvise(a + len / 4, PAGE, A.MADV_GUARD_INSTALL);
    for (let i = 0; i < 100; i++) p.madvise(a, len, A.MADV_GUARD_REMOVE);
    const u = p.userfaultfd(A.UFFD_USER_MODE_ONLY);
    u.api(A.UFFD_FEATURE_PAGEFAULT_FLAG_WP);
    u.register(a, len, A.UFFDIO_REGISTER_MODE_WP);
    for (let i = 0; i < 100; i++) u.writeProtect(a, len, i % 2 ? 0 : A.UFFDIO_WRITEPROTECT_MODE_WP);
    u.close();
    p.munmap(a, len);
    k.checkInvariants();
  });
});

describe("the top and bottom of user space", () => {
  it("maps, writes and reads the last user page (TASK_SIZE - 4096)", async () => {
    const { k, p } = await boot();
    const top = TASK_SIZE - PAGE;
    expect(top).toBe(0x7fff_ffff_e000);
    expect(p.mmap(top, PAGE, RW, FIXED)).toBe(top);
    p.thread.store64(TASK_SIZE - 8, 0x0123456789abcdefn);
    p.thread.store8(top, 0x42);
    expect(p.thread.load64(TASK_SIZE - 8)).toBe(0x0123456789abcdefn);
    expect(p.thread.load8(top)).toBe(0x42);
    expect(p.thread.load8(TASK_SIZE - 1)).toBe(0x01);
    expect(p.maps()).toMatch(/^7fffffffe000-7ffffffff000 rw-p /);
    // One byte further is outside user space.
    const e = expectSignal(() => p.thread.load8(TASK_SIZE), "SIGSEGV");
    expect(e.si_code).toBe(A.SEGV_MAPERR);
    expect(e.addr).toBe(TASK_SIZE);
    // An access that runs off the top faults at TASK_SIZE and changes nothing below it.
    const s = expectSignal(() => p.thread.store64(TASK_SIZE - 4, 0xffffffffffffffffn), "SIGSEGV");
    expect(s.si_code).toBe(A.SEGV_MAPERR);
    expect(s.addr).toBe(TASK_SIZE);
    expect(p.thread.load64(TASK_SIZE - 8)).toBe(0x0123456789abcdefn);
    expect(k.checkInvariants()).toBe(true);
  });

  it.each([
    ["the page at TASK_SIZE", TASK_SIZE, PAGE],
    ["two pages ending past TASK_SIZE", TASK_SIZE - PAGE, 2 * PAGE],
    ["2^47", 2 ** 47, PAGE],
    ["a range that wraps", TASK_SIZE - PAGE, 2 ** 64 - PAGE],
  ])("MAP_FIXED at %s is ENOMEM", async (_n, addr, len) => {
    const { k, p } = await boot();
    expectErrno(() => p.mmap(addr, BigInt(len), RW, FIXED), "ENOMEM");
    expect(p.vmas()).toEqual([]);
    expect(k.checkInvariants()).toBe(true);
  });

  it.each([
    ["2^62", 2n ** 62n],
    ["2^47 (all of user space)", 2n ** 47n],
    ["SIZE_MAX", 2n ** 64n - 1n],
    ["SIZE_MAX - 4095 (rounds up past the top)", 2n ** 64n - 4095n],
  ])("an mmap length that cannot be placed (%s) is ENOMEM", async (_n, len) => {
    const { k, p } = await boot();
    expectErrno(() => p.mmap(0, len, RW, ANON), "ENOMEM");
    expect(p.vmas()).toEqual([]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("the top-down allocator fills the space under the mmap base without overlaps, then reuses holes", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 3 * PAGE, RW, ANON);
    const b = p.mmap(0, PAGE, A.PROT_READ, ANON);
    const c = p.mmap(0, 2 * PAGE, RW, A.MAP_SHARED | A.MAP_ANONYMOUS);
    expect(b).toBe(a - PAGE);
    expect(c).toBe(b - 2 * PAGE);
    p.munmap(b, PAGE);
    expect(p.mmap(0, PAGE, A.PROT_EXEC, ANON)).toBe(b); // the highest hole that fits
    expect(p.mmap(0, 2 * PAGE, A.PROT_EXEC, ANON)).toBe(c - 2 * PAGE); // too big for nothing else
    // A free hint is honoured exactly; an unaligned one is rounded down to its page
    // (round_hint_to_min).
    expect(p.mmap(0x5_0000_0000, PAGE, RW, ANON)).toBe(0x5_0000_0000);
    expect(p.mmap(0x6_0000_0123, PAGE, RW, ANON)).toBe(0x6_0000_0000);
    // A hint that collides is not an error: the mapping goes elsewhere.
    const d = p.mmap(0x5_0000_0000, PAGE, RW, ANON);
    expect(d).not.toBe(0x5_0000_0000);
    expect(k.checkInvariants()).toBe(true);
  });

  it.each([TASK_SIZE, TASK_SIZE + PAGE, 2 ** 47, 2 ** 47 + 123, 2 ** 52])("an access at 0x%s (at or above TASK_SIZE) is SIGSEGV", async (addr) => {
    const { k, p } = await boot();
    p.mmap(TASK_SIZE - PAGE, PAGE, RW, FIXED);
    expectSignal(() => p.thread.load8(addr), "SIGSEGV");
    expectSignal(() => p.thread.store32(addr, 1), "SIGSEGV");
    expectSignal(() => p.thread.read(addr, 16), "SIGSEGV");
    expect(k.checkInvariants()).toBe(true);
  });

  it("maps at mmap_min_addr (0x10000), and the top-down allocator never hands out a page below it", async () => {
    const { k, p } = await boot();
    expect(p.mmap(0x10000, PAGE, RW, FIXED)).toBe(0x10000);
    p.thread.store32(0x10000, 5);
    expect(p.thread.load32(0x10000)).toBe(5);
    const e = expectSignal(() => p.thread.load8(0x10000 - 1), "SIGSEGV");
    expect(e.addr).toBe(0xffff);
    expect(e.si_code).toBe(A.SEGV_MAPERR);
    // A hint below mmap_min_addr is raised to it (or placed elsewhere), never honoured below it.
    const h = p.mmap(0x1000, PAGE, RW, ANON);
    expect(h).toBeGreaterThanOrEqual(0x10000);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("accesses spanning two pages", () => {
  // [size, bytes of the access in the first page]
  const spans: [number, number][] = [];
  for (const size of [2, 4, 8]) for (let first = 1; first < size; first++) spans.push([size, first]);

  it.each(spans)("%d-byte access with %d byte(s) in the first page: little-endian across the boundary", async (size, first) => {
    const { k, p } = await boot();
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    const b = a + PAGE;
    const at = b - first;
    const v = VALUES[size];
    storeN(p, at, size, v);
    expect(loadN(p, at, size)).toBe(v);
    expect(bytesAt(p, at, size)).toEqual(leBytes(v, size));
    // Neighbouring bytes are untouched.
    expect(p.thread.load8(at - 1)).toBe(0);
    expect(p.thread.load8(at + size)).toBe(0);
    // Both pages got their own frames from the one store.
    expect(p.vmas()[0].rss).toBe(2);
    expect(p.thread.translate(a)).not.toBe(p.thread.translate(b));
    expect(k.checkInvariants()).toBe(true);
  });

  it.each(spans)("%d-byte load with %d byte(s) in the first page faults both pages in", async (size, first) => {
    const { k, p } = await boot();
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    expect(loadN(p, a + PAGE - first, size)).toBe(0n);
    expect(p.vmas()[0].rss).toBe(2);
    const faults = k.stats().faults;
    // Both are present now: the same load needs no further fault.
    expect(loadN(p, a + PAGE - first, size)).toBe(0n);
    expect(k.stats().faults).toBe(faults);
    expect(k.checkInvariants()).toBe(true);
  });

  it.each(spans)("%d-byte store (%d in the first page) into an unmapped second page: SIGSEGV at the page start, first page unchanged", async (size, first) => {
    const { k, p } = await boot();
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    const b = a + PAGE;
    p.thread.fill(a, 0x5a, PAGE);
    p.munmap(b, PAGE);
    const e = expectSignal(() => storeN(p, b - first, size, VALUES[size]), "SIGSEGV");
    expect(e.si_code).toBe(A.SEGV_MAPERR);
    expect(e.addr).toBe(b);
    expect(bytesAt(p, b - 8, 8)).toEqual(Array(8).fill(0x5a));
    expectSignal(() => loadN(p, b - first, size), "SIGSEGV");
    expect(p.vmas().map((v) => v.end)).toEqual([b]);
    expect(k.checkInvariants()).toBe(true);
  });

  it.each(spans)("%d-byte store (%d in the first page) onto a read-only second page: SEGV_ACCERR, neither page changed", async (size, first) => {
    const { k, p } = await boot();
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    const b = a + PAGE;
    p.thread.fill(a, 0x11, 2 * PAGE);
    p.mprotect(b, PAGE, A.PROT_READ);
    const e = expectSignal(() => storeN(p, b - first, size, VALUES[size]), "SIGSEGV");
    expect(e.si_code).toBe(A.SEGV_ACCERR);
    expect(e.addr).toBe(b);
    expect(bytesAt(p, b - 8, 16)).toEqual(Array(16).fill(0x11));
    // The load is allowed.
    expect(loadN(p, b - first, size)).toBe(BigInt("0x" + "11".repeat(size)));
    expect(k.checkInvariants()).toBe(true);
  });

  it.each(spans)("%d-byte store (%d in the first page) from an unmapped first page: SIGSEGV at the access address, second page unchanged", async (size, first) => {
    const { k, p } = await boot();
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    const b = a + PAGE;
    p.thread.fill(b, 0x77, PAGE);
    p.munmap(a, PAGE);
    const e = expectSignal(() => storeN(p, b - first, size, VALUES[size]), "SIGSEGV");
    expect(e.si_code).toBe(A.SEGV_MAPERR);
    expect(e.addr).toBe(b - first);
    expect(bytesAt(p, b, 8)).toEqual(Array(8).fill(0x77));
    expect(k.checkInvariants()).toBe(true);
  });

  it.each(spans)("%d-byte store (%d in the first page) whose second page is PROT_NONE: SEGV_ACCERR; load too", async (size, first) => {
    const { k, p } = await boot();
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    const b = a + PAGE;
    p.thread.fill(a, 0x22, 2 * PAGE);
    p.mprotect(b, PAGE, A.PROT_NONE);
    expect(expectSignal(() => storeN(p, b - first, size, VALUES[size]), "SIGSEGV").si_code).toBe(A.SEGV_ACCERR);
    expect(expectSignal(() => loadN(p, b - first, size), "SIGSEGV").si_code).toBe(A.SEGV_ACCERR);
    p.mprotect(b, PAGE, RW);
    expect(bytesAt(p, b - 8, 16)).toEqual(Array(16).fill(0x22));
    expect(k.checkInvariants()).toBe(true);
  });

  it("a store spanning into a shared memfd page beyond EOF: SIGBUS, and the file's last page is unchanged", async () => {
    const { k, p } = await boot();
    const fd = p.memfdCreate("span");
    p.ftruncate(fd, PAGE);
    p.pwrite(fd, new Uint8Array(PAGE).fill(0x33), 0);
    const a = p.mmap(0, 2 * PAGE, RW, A.MAP_SHARED, fd, 0);
    const e = expectSignal(() => p.thread.store64(a + PAGE - 4, 0n), "SIGBUS");
    expect(e.si_code).toBe(A.BUS_ADRERR);
    expect(e.addr).toBe(a + PAGE);
    expect(Array.from(p.pread(fd, 8, PAGE - 8))).toEqual(Array(8).fill(0x33));
    expect(p.fstat(fd).size).toBe(BigInt(PAGE));
    expect(k.checkInvariants()).toBe(true);
  });

  it("a store spanning a copy-on-write boundary copies both pages and leaves the other process alone", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    const b = a + PAGE;
    p.thread.fill(a, 0x44, 2 * PAGE);
    const c = p.fork();
    c.thread.store64(b - 3, 0n);
    expect(bytesAt(c, b - 4, 10)).toEqual([0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0x44]);
    expect(bytesAt(p, b - 4, 10)).toEqual(Array(10).fill(0x44));
    expect(c.thread.translate(a)).not.toBe(p.thread.translate(a));
    expect(c.thread.translate(b)).not.toBe(p.thread.translate(b));
    expect(k.checkInvariants()).toBe(true);
    c.exit();
    expect(k.checkInvariants()).toBe(true);
  });
});
