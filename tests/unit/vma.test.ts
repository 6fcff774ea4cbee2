// mm/vma.ts, mm/mmap.ts, mm/mprotect.ts, mm/mremap.ts: VMA split and merge, seen through
// p.vmas() and p.maps(). Contents are checked alongside the layout: a split or a merge must
// never lose or move data.
import { describe, it, expect } from "vitest";
import type { Process } from "../../host-ts/index.js";
import { boot, RW, ANON, PAGE, A, expectSignal, expectErrno } from "../helpers/kernel.js";

const FIXED = ANON | A.MAP_FIXED;
const SHANON = A.MAP_SHARED | A.MAP_ANONYMOUS;
/** A fixed, otherwise empty part of the address space for the tests to lay VMAs out in. */
const BASE = 0x1_0000_0000;

/** [start, end, perms] of every VMA, relative to `base`, in pages. */
function layout(p: Process, base = BASE): [number, number, string][] {
  return p.vmas().map((v) => [(v.start - base) / PAGE, (v.end - base) / PAGE, perms(v.flags)]);
}
function perms(f: bigint): string {
  return (f & A.VM_READ ? "r" : "-") + (f & A.VM_WRITE ? "w" : "-") + (f & A.VM_EXEC ? "x" : "-") + (f & A.VM_MAYSHARE ? "s" : "p");
}
/** Tag every page of [a, a + pages) with its page number. */
function tag(p: Process, a: number, pages: number, salt = 0): void {
  for (let i = 0; i < pages; i++) p.thread.store32(a + i * PAGE, 0x1000 * (salt + 1) + i);
}
function tagOf(i: number, salt = 0): number {
  return 0x1000 * (salt + 1) + i;
}

describe("split", () => {
  it("munmap of a middle page splits one VMA into two; both sides keep their data", async () => {
    const { k, p } = await boot();
    const a = p.mmap(BASE, 3 * PAGE, RW, FIXED);
    tag(p, a, 3);
    p.munmap(a + PAGE, PAGE);
    expect(layout(p)).toEqual([[0, 1, "rw-p"], [2, 3, "rw-p"]]);
    expect(p.vmas().map((v) => v.rss)).toEqual([1, 1]);
    expect(p.thread.load32(a)).toBe(tagOf(0));
    expect(p.thread.load32(a + 2 * PAGE)).toBe(tagOf(2));
    const e = expectSignal(() => p.thread.load8(a + PAGE + 5), "SIGSEGV");
    expect(e.si_code).toBe(A.SEGV_MAPERR);
    expect(e.addr).toBe(a + PAGE + 5);
    // Both halves stay usable, and their file offsets (anonymous: the page index) stay right.
    p.thread.store32(a + 4, 1);
    p.thread.store32(a + 2 * PAGE + 4, 2);
    expect(p.vmas().map((v) => v.offset)).toEqual([a, a + 2 * PAGE]);
    expect(k.checkInvariants()).toBe(true);
  });

  it.each([
    ["the first page", 0, 1, [[1, 4, "rw-p"]]],
    ["the last page", 3, 1, [[0, 3, "rw-p"]]],
    ["len = 1 (the whole page)", 1, 1 / PAGE, [[0, 1, "rw-p"], [2, 4, "rw-p"]]],
    ["everything", 0, 4, []],
    ["more than everything", 0, 6, []],
  ] as const)("munmap of %s", async (_n, off, pages, expected) => {
    const { k, p } = await boot();
    const a = p.mmap(BASE, 4 * PAGE, RW, FIXED);
    tag(p, a, 4);
    p.munmap(a + off * PAGE, Math.round(pages * PAGE));
    expect(layout(p)).toEqual(expected);
    for (const [s, e] of expected) for (let i = s; i < e; i++) expect(p.thread.load32(a + i * PAGE)).toBe(tagOf(i));
    expect(k.checkInvariants()).toBe(true);
  });

  it("munmap across several VMAs and holes removes every mapped part", async () => {
    const { k, p } = await boot();
    p.mmap(BASE, 2 * PAGE, RW, FIXED);
    p.mmap(BASE + 3 * PAGE, 2 * PAGE, A.PROT_READ, FIXED);
    p.mmap(BASE + 6 * PAGE, 2 * PAGE, RW, FIXED);
    tag(p, BASE, 2);
    tag(p, BASE + 6 * PAGE, 2, 1);
    p.munmap(BASE + PAGE, 6 * PAGE);
    expect(layout(p)).toEqual([[0, 1, "rw-p"], [7, 8, "rw-p"]]);
    expect(p.thread.load32(BASE)).toBe(tagOf(0));
    expect(p.thread.load32(BASE + 7 * PAGE)).toBe(tagOf(1, 1));
    expect(k.checkInvariants()).toBe(true);
  });

  it("mprotect of a middle page gives three VMAs; mprotect back merges them into one", async () => {
    const { k, p } = await boot();
    const a = p.mmap(BASE, 3 * PAGE, RW, FIXED);
    tag(p, a, 3);
    p.mprotect(a + PAGE, PAGE, A.PROT_READ);
    expect(layout(p)).toEqual([[0, 1, "rw-p"], [1, 2, "r--p"], [2, 3, "rw-p"]]);
    expect(p.vmas().map((v) => v.rss)).toEqual([1, 1, 1]);
    const e = expectSignal(() => p.thread.store8(a + PAGE, 0), "SIGSEGV");
    expect(e.si_code).toBe(A.SEGV_ACCERR);
    expect(p.thread.load32(a + PAGE)).toBe(tagOf(1));
    p.thread.store32(a, 9);
    p.thread.store32(a + 2 * PAGE, 10);
    expect(k.checkInvariants()).toBe(true);

    p.mprotect(a + PAGE, PAGE, RW);
    expect(layout(p)).toEqual([[0, 3, "rw-p"]]);
    expect(p.vmas()[0].rss).toBe(3);
    p.thread.store32(a + PAGE, 11);
    expect([0, 1, 2].map((i) => p.thread.load32(a + i * PAGE))).toEqual([9, 11, 10]);
    expect(k.checkInvariants()).toBe(true);
  });

  it.each([
    ["PROT_NONE", A.PROT_NONE, "---p"],
    ["PROT_READ | PROT_EXEC", A.PROT_READ | A.PROT_EXEC, "r-xp"],
    ["PROT_EXEC", A.PROT_EXEC, "--xp"],
    ["PROT_WRITE", A.PROT_WRITE, "-w-p"],
  ])("mprotect of the first two pages to %s splits at the right place, and back merges", async (_n, prot, perm) => {
    const { k, p } = await boot();
    const a = p.mmap(BASE, 4 * PAGE, RW, FIXED);
    tag(p, a, 4);
    p.mprotect(a, 2 * PAGE, prot);
    expect(layout(p)).toEqual([[0, 2, perm], [2, 4, "rw-p"]]);
    expect(k.checkInvariants()).toBe(true);
    p.mprotect(a, 2 * PAGE, RW);
    expect(layout(p)).toEqual([[0, 4, "rw-p"]]);
    for (let i = 0; i < 4; i++) expect(p.thread.load32(a + i * PAGE)).toBe(tagOf(i));
    expect(k.checkInvariants()).toBe(true);
  });

  it("mprotect over a range that spans VMAs changes each part and merges what matches", async () => {
    const { k, p } = await boot();
    p.mmap(BASE, 2 * PAGE, A.PROT_READ, FIXED);
    p.mmap(BASE + 2 * PAGE, 2 * PAGE, RW, FIXED);
    p.mmap(BASE + 4 * PAGE, 2 * PAGE, A.PROT_NONE, FIXED);
    expect(layout(p)).toEqual([[0, 2, "r--p"], [2, 4, "rw-p"], [4, 6, "---p"]]);
    p.mprotect(BASE + PAGE, 4 * PAGE, RW);
    expect(layout(p)).toEqual([[0, 1, "r--p"], [1, 5, "rw-p"], [5, 6, "---p"]]);
    p.mprotect(BASE, 6 * PAGE, A.PROT_READ);
    expect(layout(p)).toEqual([[0, 6, "r--p"]]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("mprotect that hits a hole changes the part before it and returns ENOMEM", async () => {
    const { k, p } = await boot();
    p.mmap(BASE, 2 * PAGE, RW, FIXED);
    p.mmap(BASE + 3 * PAGE, 2 * PAGE, RW, FIXED);
    expectErrno(() => p.mprotect(BASE + PAGE, 4 * PAGE, A.PROT_READ), "ENOMEM");
    expect(layout(p)).toEqual([[0, 1, "rw-p"], [1, 2, "r--p"], [3, 5, "rw-p"]]);
    expectErrno(() => p.mprotect(BASE + 2 * PAGE, 2 * PAGE, A.PROT_READ), "ENOMEM");
    expect(layout(p)).toEqual([[0, 1, "rw-p"], [1, 2, "r--p"], [3, 5, "rw-p"]]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("madvise(MADV_DONTFORK) on a middle page splits; MADV_DOFORK merges back", async () => {
    const { k, p } = await boot();
    const a = p.mmap(BASE, 3 * PAGE, RW, FIXED);
    p.madvise(a + PAGE, PAGE, A.MADV_DONTFORK);
    const v = p.vmas();
    expect(v.map((x) => [(x.start - BASE) / PAGE, (x.end - BASE) / PAGE])).toEqual([[0, 1], [1, 2], [2, 3]]);
    expect(v.map((x) => (x.flags & A.VM_DONTCOPY) !== 0n)).toEqual([false, true, false]);
    p.madvise(a + PAGE, PAGE, A.MADV_DOFORK);
    expect(layout(p)).toEqual([[0, 3, "rw-p"]]);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("merge", () => {
  it("adjacent anonymous MAP_FIXED mappings with the same protection merge (either order)", async () => {
    const { k, p } = await boot();
    p.mmap(BASE + 2 * PAGE, 2 * PAGE, RW, FIXED);
    p.mmap(BASE, 2 * PAGE, RW, FIXED);
    expect(layout(p)).toEqual([[0, 4, "rw-p"]]);
    p.mmap(BASE + 4 * PAGE, PAGE, RW, FIXED);
    expect(layout(p)).toEqual([[0, 5, "rw-p"]]);
    // A gap filled in the middle joins three into one.
    p.mmap(BASE + 6 * PAGE, PAGE, RW, FIXED);
    expect(layout(p)).toEqual([[0, 5, "rw-p"], [6, 7, "rw-p"]]);
    p.mmap(BASE + 5 * PAGE, PAGE, RW, FIXED);
    expect(layout(p)).toEqual([[0, 7, "rw-p"]]);
    tag(p, BASE, 7);
    for (let i = 0; i < 7; i++) expect(p.thread.load32(BASE + i * PAGE)).toBe(tagOf(i));
    expect(k.checkInvariants()).toBe(true);
  });

  it("consecutive top-down anonymous mmaps land next to each other and merge", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    const b = p.mmap(0, 3 * PAGE, RW, ANON);
    expect(b).toBe(a - 3 * PAGE);
    expect(p.vmas().map((v) => [v.start, v.end])).toEqual([[b, a + 2 * PAGE]]);
    expect(k.checkInvariants()).toBe(true);
  });

  it.each([
    ["different protection", RW, A.PROT_READ, ANON],
    ["a shared anonymous neighbour", RW, RW, SHANON],
  ])("adjacent mappings with %s do not merge", async (_n, prot1, prot2, flags2) => {
    const { k, p } = await boot();
    p.mmap(BASE, PAGE, prot1, FIXED);
    p.mmap(BASE + PAGE, PAGE, prot2, flags2 | A.MAP_FIXED);
    expect(p.vmas()).toHaveLength(2);
    expect(k.checkInvariants()).toBe(true);
  });

  it("two shared anonymous mappings never merge (each is its own object)", async () => {
    const { k, p } = await boot();
    p.mmap(BASE, PAGE, RW, SHANON | A.MAP_FIXED);
    p.mmap(BASE + PAGE, PAGE, RW, SHANON | A.MAP_FIXED);
    const v = p.vmas();
    expect(v).toHaveLength(2);
    expect(v[0].ino).not.toBe(v[1].ino);
    expect(k.checkInvariants()).toBe(true);
  });

  it("adjacent mappings of consecutive offsets of one memfd merge; non-consecutive offsets do not", async () => {
    const { k, p } = await boot();
    const fd = p.memfdCreate("m");
    p.ftruncate(fd, 8 * PAGE);
    p.mmap(BASE, PAGE, RW, A.MAP_SHARED | A.MAP_FIXED, fd, 0);
    p.mmap(BASE + PAGE, PAGE, RW, A.MAP_SHARED | A.MAP_FIXED, fd, PAGE);
    expect(p.vmas().map((v) => [(v.start - BASE) / PAGE, (v.end - BASE) / PAGE, v.offset])).toEqual([[0, 2, 0]]);
    p.mmap(BASE + 2 * PAGE, PAGE, RW, A.MAP_SHARED | A.MAP_FIXED, fd, 5 * PAGE);
    expect(p.vmas().map((v) => [(v.start - BASE) / PAGE, (v.end - BASE) / PAGE, v.offset])).toEqual([[0, 2, 0], [2, 3, 5 * PAGE]]);
    expect(p.vmas().every((v) => v.kind === "shmem")).toBe(true);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("MAP_FIXED over existing mappings", () => {
  it("a MAP_FIXED mapping with another protection over the middle: three VMAs, the middle reads 0", async () => {
    const { k, p } = await boot();
    const a = p.mmap(BASE, 3 * PAGE, RW, FIXED);
    tag(p, a, 3);
    expect(p.mmap(a + PAGE, PAGE, A.PROT_READ, FIXED)).toBe(a + PAGE);
    expect(layout(p)).toEqual([[0, 1, "rw-p"], [1, 2, "r--p"], [2, 3, "rw-p"]]);
    expect(p.vmas().map((v) => v.rss)).toEqual([1, 0, 1]);
    expect(p.thread.load32(a + PAGE)).toBe(0);
    expect(p.thread.load32(a)).toBe(tagOf(0));
    expect(p.thread.load32(a + 2 * PAGE)).toBe(tagOf(2));
    expect(k.checkInvariants()).toBe(true);
  });

  it("a MAP_FIXED mapping with the same protection over the middle merges back into one VMA with fresh zeroes", async () => {
    const { k, p } = await boot();
    const a = p.mmap(BASE, 3 * PAGE, RW, FIXED);
    tag(p, a, 3);
    const free = k.stats().freeFrames;
    p.mmap(a + PAGE, PAGE, RW, FIXED);
    expect(layout(p)).toEqual([[0, 3, "rw-p"]]);
    expect(p.vmas()[0].rss).toBe(2);
    expect(k.stats().freeFrames).toBe(free + 1); // the old middle page was freed
    expect([0, 1, 2].map((i) => p.thread.load32(a + i * PAGE))).toEqual([tagOf(0), 0, tagOf(2)]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a MAP_FIXED mapping spanning parts of two VMAs and the hole between them", async () => {
    const { k, p } = await boot();
    p.mmap(BASE, 2 * PAGE, RW, FIXED);
    p.mmap(BASE + 3 * PAGE, 2 * PAGE, RW, FIXED);
    tag(p, BASE, 2);
    tag(p, BASE + 3 * PAGE, 2, 1);
    p.mmap(BASE + PAGE, 3 * PAGE, A.PROT_READ, FIXED);
    expect(layout(p)).toEqual([[0, 1, "rw-p"], [1, 4, "r--p"], [4, 5, "rw-p"]]);
    expect(p.thread.load32(BASE)).toBe(tagOf(0));
    expect(p.thread.load32(BASE + PAGE)).toBe(0);
    expect(p.thread.load32(BASE + 3 * PAGE)).toBe(0);
    expect(p.thread.load32(BASE + 4 * PAGE)).toBe(tagOf(1, 1));
    expect(k.checkInvariants()).toBe(true);
  });

  it("MAP_FIXED_NOREPLACE over any mapped page is EEXIST and changes nothing", async () => {
    const { k, p } = await boot();
    p.mmap(BASE + PAGE, PAGE, RW, FIXED);
    for (const [off, len] of [[0, 2], [1, 1], [1, 3], [0, 8]]) {
      expectErrno(() => p.mmap(BASE + off * PAGE, len * PAGE, RW, ANON | A.MAP_FIXED_NOREPLACE), "EEXIST");
    }
    expect(layout(p)).toEqual([[1, 2, "rw-p"]]);
    expect(p.mmap(BASE + 2 * PAGE, PAGE, A.PROT_READ, ANON | A.MAP_FIXED_NOREPLACE)).toBe(BASE + 2 * PAGE);
    expect(layout(p)).toEqual([[1, 2, "rw-p"], [2, 3, "r--p"]]);
    // On a free range it is placed at exactly that address, and an unaligned one is EINVAL
    // (it is not a hint).
    expect(p.mmap(BASE + 40 * PAGE, PAGE, RW, ANON | A.MAP_FIXED_NOREPLACE)).toBe(BASE + 40 * PAGE);
    expectErrno(() => p.mmap(BASE + 50 * PAGE + 1, PAGE, RW, ANON | A.MAP_FIXED_NOREPLACE), "EINVAL");
    expect(layout(p)).toEqual([[1, 2, "rw-p"], [2, 3, "r--p"], [40, 41, "rw-p"]]);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("mremap", () => {
  it("grows in place when the following pages are free; the new pages read 0", async () => {
    const { k, p } = await boot();
    const a = p.mmap(BASE, 2 * PAGE, RW, FIXED);
    tag(p, a, 2);
    expect(p.mremap(a, 2 * PAGE, 4 * PAGE, 0)).toBe(a);
    expect(layout(p)).toEqual([[0, 4, "rw-p"]]);
    expect([0, 1, 2, 3].map((i) => p.thread.load32(a + i * PAGE))).toEqual([tagOf(0), tagOf(1), 0, 0]);
    p.thread.store32(a + 3 * PAGE, 5);
    expect(k.checkInvariants()).toBe(true);
  });

  it("growing in place up to a neighbour with the same flags merges with it (only one side written)", async () => {
    const { k, p } = await boot();
    p.mmap(BASE, PAGE, RW, FIXED);
    p.mmap(BASE + 2 * PAGE, PAGE, RW, FIXED);
    tag(p, BASE, 1);
    expect(p.mremap(BASE, PAGE, 2 * PAGE, 0)).toBe(BASE);
    expect(layout(p)).toEqual([[0, 3, "rw-p"]]);
    expect(p.thread.load32(BASE)).toBe(tagOf(0));
    expect(p.thread.load32(BASE + 2 * PAGE)).toBe(0);
    expect(k.checkInvariants()).toBe(true);
  });

  // Linux merges two anonymous VMAs only if at most one of them has an anon_vma, or both the
  // same one. Written while apart (not adjacent), each got its own anon_vma, so growing one up
  // to the other leaves two VMAs (measured on 6.18: two lines in /proc/pid/maps). uffdlab has
  // no anon_vma and merges them.
  it("two anonymous VMAs written while apart do not merge when mremap makes them adjacent", async () => {
    const { k, p } = await boot();
    p.mmap(BASE, PAGE, RW, FIXED);
    p.mmap(BASE + 2 * PAGE, PAGE, RW, FIXED);
    tag(p, BASE, 1);
    tag(p, BASE + 2 * PAGE, 1, 1);
    expect(p.mremap(BASE, PAGE, 2 * PAGE, 0)).toBe(BASE);
    expect(layout(p)).toEqual([[0, 2, "rw-p"], [2, 3, "rw-p"]]);
    expect(k.checkInvariants()).toBe(true);
  });

  // Adjacent neighbours that differ only in protection share an anon_vma when written
  // (find_mergeable_anon_vma), so they do merge once the protections agree (6.18: one line).
  it("adjacent anonymous VMAs written with different protections merge once mprotect makes them equal", async () => {
    const { k, p } = await boot();
    p.mmap(BASE, PAGE, RW, FIXED);
    p.mmap(BASE + PAGE, PAGE, RW | A.PROT_EXEC, FIXED);
    expect(layout(p)).toEqual([[0, 1, "rw-p"], [1, 2, "rwxp"]]);
    tag(p, BASE, 2);
    p.mprotect(BASE + PAGE, PAGE, RW);
    expect(layout(p)).toEqual([[0, 2, "rw-p"]]);
    expect([0, 1].map((i) => p.thread.load32(BASE + i * PAGE))).toEqual([tagOf(0), tagOf(1)]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("cannot grow in place over a mapped page without MREMAP_MAYMOVE (ENOMEM, nothing changes)", async () => {
    const { k, p } = await boot();
    p.mmap(BASE, 2 * PAGE, RW, FIXED);
    p.mmap(BASE + 2 * PAGE, PAGE, A.PROT_READ, FIXED);
    tag(p, BASE, 2);
    expectErrno(() => p.mremap(BASE, 2 * PAGE, 3 * PAGE, 0), "ENOMEM");
    expect(layout(p)).toEqual([[0, 2, "rw-p"], [2, 3, "r--p"]]);
    expect(p.thread.load32(BASE + PAGE)).toBe(tagOf(1));
    expect(k.checkInvariants()).toBe(true);
  });

  it("moves with MREMAP_MAYMOVE when it cannot grow in place: contents and frames move, the old range is unmapped", async () => {
    const { k, p } = await boot();
    p.mmap(BASE, 2 * PAGE, RW, FIXED);
    p.mmap(BASE + 2 * PAGE, PAGE, A.PROT_READ, FIXED);
    tag(p, BASE, 2);
    const pa = [p.thread.translate(BASE), p.thread.translate(BASE + PAGE)];
    const free = k.stats().freeFrames;
    const n = p.mremap(BASE, 2 * PAGE, 5 * PAGE, A.MREMAP_MAYMOVE);
    expect(n).not.toBe(BASE);
    expect(n % PAGE).toBe(0);
    const v = p.vmas();
    expect(v.map((x) => [x.start, x.end])).toContainEqual([n, n + 5 * PAGE]);
    expect(v.find((x) => x.start === n)!.rss).toBe(2);
    expect(layout(p).filter(([s]) => s >= 0 && s < 3)).toEqual([[2, 3, "r--p"]]);
    expect(p.thread.load32(n)).toBe(tagOf(0));
    expect(p.thread.load32(n + PAGE)).toBe(tagOf(1));
    expect(p.thread.load32(n + 4 * PAGE)).toBe(0);
    // The same frames, now at the new address: nothing was copied.
    expect([p.thread.translate(n), p.thread.translate(n + PAGE)]).toEqual(pa);
    expect(k.stats().freeFrames).toBe(free);
    expectSignal(() => p.thread.load8(BASE), "SIGSEGV");
    expect(k.checkInvariants()).toBe(true);
  });

  it("moving the middle of a VMA leaves the two outer parts behind", async () => {
    const { k, p } = await boot();
    p.mmap(BASE, 4 * PAGE, RW, FIXED);
    tag(p, BASE, 4);
    const n = p.mremap(BASE + PAGE, PAGE, 3 * PAGE, A.MREMAP_MAYMOVE);
    expect(n).not.toBe(BASE + PAGE);
    expect(layout(p).filter(([s]) => s >= 0 && s < 4)).toEqual([[0, 1, "rw-p"], [2, 4, "rw-p"]]);
    expect(p.thread.load32(n)).toBe(tagOf(1));
    expect(p.thread.load32(BASE)).toBe(tagOf(0));
    expect(p.thread.load32(BASE + 2 * PAGE)).toBe(tagOf(2));
    expect(k.checkInvariants()).toBe(true);
  });

  it.each([
    ["to a prefix of the VMA", 4, 2, [[0, 2, "rw-p"]]],
    ["by less than a page (rounds up)", 4, PAGE + 1, [[0, 2, "rw-p"]]],
  ] as const)("shrinks %s at the same address", async (_n, oldPages, newLen, expected) => {
    const { k, p } = await boot();
    p.mmap(BASE, oldPages * PAGE, RW, FIXED);
    tag(p, BASE, oldPages);
    const nl = newLen > 100 ? newLen : newLen * PAGE;
    expect(p.mremap(BASE, oldPages * PAGE, nl, 0)).toBe(BASE);
    expect(layout(p)).toEqual(expected);
    expect(p.thread.load32(BASE + PAGE)).toBe(tagOf(1));
    expectSignal(() => p.thread.load8(BASE + 2 * PAGE), "SIGSEGV");
    expect(k.checkInvariants()).toBe(true);
  });

  it("shrinking an old range in the middle of a VMA unmaps just its tail", async () => {
    const { k, p } = await boot();
    p.mmap(BASE, 4 * PAGE, RW, FIXED);
    tag(p, BASE, 4);
    expect(p.mremap(BASE, 2 * PAGE, PAGE, 0)).toBe(BASE);
    expect(layout(p)).toEqual([[0, 1, "rw-p"], [2, 4, "rw-p"]]);
    expect(p.thread.load32(BASE + 3 * PAGE)).toBe(tagOf(3));
    expect(k.checkInvariants()).toBe(true);
  });

  it("same size returns the old address and changes nothing, even across a hole", async () => {
    const { k, p } = await boot();
    p.mmap(BASE, PAGE, RW, FIXED);
    p.mmap(BASE + 2 * PAGE, PAGE, RW, FIXED);
    expect(p.mremap(BASE, 3 * PAGE, 3 * PAGE, 0)).toBe(BASE);
    expect(layout(p)).toEqual([[0, 1, "rw-p"], [2, 3, "rw-p"]]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("MREMAP_FIXED onto a mapped target discards the target's pages and moves the contents", async () => {
    const { k, p } = await boot();
    p.mmap(BASE, 2 * PAGE, RW, FIXED);
    p.mmap(BASE + 8 * PAGE, 4 * PAGE, A.PROT_READ, FIXED);
    tag(p, BASE, 2);
    p.mprotect(BASE + 8 * PAGE, 4 * PAGE, RW);
    tag(p, BASE + 8 * PAGE, 4, 1);
    p.mprotect(BASE + 8 * PAGE, 4 * PAGE, A.PROT_READ);
    const free = k.stats().freeFrames;
    expect(p.mremap(BASE, 2 * PAGE, 2 * PAGE, A.MREMAP_MAYMOVE | A.MREMAP_FIXED, BASE + 9 * PAGE)).toBe(BASE + 9 * PAGE);
    expect(layout(p)).toEqual([[8, 9, "r--p"], [9, 11, "rw-p"], [11, 12, "r--p"]]);
    expect(k.stats().freeFrames).toBe(free + 2); // the two target pages it replaced
    expect(p.thread.load32(BASE + 9 * PAGE)).toBe(tagOf(0));
    expect(p.thread.load32(BASE + 10 * PAGE)).toBe(tagOf(1));
    expect(p.thread.load32(BASE + 8 * PAGE)).toBe(tagOf(0, 1));
    expect(p.thread.load32(BASE + 11 * PAGE)).toBe(tagOf(3, 1));
    expectSignal(() => p.thread.load8(BASE), "SIGSEGV");
    expect(k.checkInvariants()).toBe(true);
  });

  it("MREMAP_FIXED onto a range overlapping the old one is EINVAL", async () => {
    const { k, p } = await boot();
    p.mmap(BASE, 2 * PAGE, RW, FIXED);
    expectErrno(() => p.mremap(BASE, 2 * PAGE, 2 * PAGE, A.MREMAP_MAYMOVE | A.MREMAP_FIXED, BASE + PAGE), "EINVAL");
    expect(layout(p)).toEqual([[0, 2, "rw-p"]]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("MREMAP_DONTUNMAP moves the pages and leaves the old range mapped, reading 0", async () => {
    const { k, p } = await boot();
    p.mmap(BASE, 2 * PAGE, RW, FIXED);
    tag(p, BASE, 2);
    const n = p.mremap(BASE, 2 * PAGE, 2 * PAGE, A.MREMAP_MAYMOVE | A.MREMAP_DONTUNMAP, BASE + 4 * PAGE);
    expect(n).toBe(BASE + 4 * PAGE);
    expect(layout(p)).toEqual([[0, 2, "rw-p"], [4, 6, "rw-p"]]);
    expect(p.vmas().map((v) => v.rss)).toEqual([0, 2]);
    expect(p.thread.load32(BASE)).toBe(0);
    expect(p.thread.load32(n + PAGE)).toBe(tagOf(1));
    expect(k.checkInvariants()).toBe(true);
  });

  it.each([
    ["an unmapped old address", 0x9_0000_0000, PAGE, 2 * PAGE, 0, "EFAULT"],
    ["growing an old range that spans two VMAs", BASE, 3 * PAGE, 4 * PAGE, A.MREMAP_MAYMOVE, "EFAULT"],
    ["old size 0 on a private mapping", BASE, 0, PAGE, A.MREMAP_MAYMOVE, "EINVAL"],
    ["new size 0", BASE, PAGE, 0, 0, "EINVAL"],
    ["an unaligned old address", BASE + 1, PAGE, 2 * PAGE, 0, "EINVAL"],
    ["an unknown flag", BASE, PAGE, 2 * PAGE, 8, "EINVAL"],
    ["MREMAP_FIXED without MREMAP_MAYMOVE", BASE, PAGE, PAGE, A.MREMAP_FIXED, "EINVAL"],
    ["MREMAP_DONTUNMAP with a size change", BASE, PAGE, 2 * PAGE, A.MREMAP_MAYMOVE | A.MREMAP_DONTUNMAP, "EINVAL"],
  ])("%s is %s and changes nothing", async (_n, addr, oldLen, newLen, flags, code) => {
    const { k, p } = await boot();
    p.mmap(BASE, PAGE, RW, FIXED);
    p.mmap(BASE + PAGE, 2 * PAGE, A.PROT_READ, FIXED);
    const before = layout(p);
    expectErrno(() => p.mremap(addr, oldLen, newLen, flags, BASE + 32 * PAGE), code);
    expect(layout(p)).toEqual(before);
    expect(k.checkInvariants()).toBe(true);
  });

  it("old size 0 on shared anonymous memory makes a second mapping of the same pages", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 2 * PAGE, RW, SHANON);
    p.thread.store32(a + PAGE, 0xabcd);
    const b = p.mremap(a, 0, 2 * PAGE, A.MREMAP_MAYMOVE);
    expect(b).not.toBe(a);
    expect(p.thread.load32(b + PAGE)).toBe(0xabcd);
    p.thread.store32(b, 77);
    expect(p.thread.load32(a)).toBe(77);
    expect(p.vmas()).toHaveLength(2);
    expect(new Set(p.vmas().map((v) => v.ino)).size).toBe(1);
    expect(k.checkInvariants()).toBe(true);
  });

  it("growing shared anonymous memory: the object keeps its size, so the new part is SIGBUS", async () => {
    const { k, p } = await boot();
    const a = p.mmap(BASE, 2 * PAGE, RW, SHANON | A.MAP_FIXED);
    p.thread.store32(a + PAGE, 5);
    expect(p.mremap(a, 2 * PAGE, 4 * PAGE, 0)).toBe(a);
    expect(layout(p)).toEqual([[0, 4, "rw-s"]]);
    expect(p.thread.load32(a + PAGE)).toBe(5);
    const e = expectSignal(() => p.thread.store8(a + 2 * PAGE, 1), "SIGBUS");
    expect(e.si_code).toBe(A.BUS_ADRERR);
    expect(e.addr).toBe(a + 2 * PAGE);
    expect(k.checkInvariants()).toBe(true);
  });

  it("MREMAP_DONTUNMAP on shared anonymous memory: both ranges show the same object", async () => {
    const { k, p } = await boot();
    const a = p.mmap(BASE, 2 * PAGE, RW, SHANON | A.MAP_FIXED);
    p.thread.store32(a, 0x51);
    const n = p.mremap(a, 2 * PAGE, 2 * PAGE, A.MREMAP_MAYMOVE | A.MREMAP_DONTUNMAP, BASE + 8 * PAGE);
    expect(n).toBe(BASE + 8 * PAGE);
    expect(p.thread.load32(n)).toBe(0x51);
    expect(p.thread.load32(a)).toBe(0x51); // refaulted from the shared object
    p.thread.store32(a + PAGE, 0x52);
    expect(p.thread.load32(n + PAGE)).toBe(0x52);
    expect(k.checkInvariants()).toBe(true);
  });

  it("MREMAP_DONTUNMAP on a MAP_PRIVATE memfd: the private copies move, the old range shows the file again", async () => {
    const { k, p } = await boot();
    const fd = p.memfdCreate("du");
    p.pwrite(fd, new Uint8Array(4).fill(0x61), 0);
    p.ftruncate(fd, 2 * PAGE);
    const a = p.mmap(BASE, 2 * PAGE, RW, A.MAP_PRIVATE | A.MAP_FIXED, fd, 0);
    p.thread.store8(a, 0x62);
    const n = p.mremap(a, 2 * PAGE, 2 * PAGE, A.MREMAP_MAYMOVE | A.MREMAP_DONTUNMAP, BASE + 8 * PAGE);
    expect(p.thread.load8(n)).toBe(0x62);
    expect(p.thread.load8(a)).toBe(0x61);
    expect(p.pread(fd, 1, 0)[0]).toBe(0x61);
    expect(k.checkInvariants()).toBe(true);
  });

  it("MREMAP_FIXED with a larger size moves to exactly the target and grows there", async () => {
    const { k, p } = await boot();
    p.mmap(BASE, 2 * PAGE, RW, FIXED);
    tag(p, BASE, 2);
    expect(p.mremap(BASE, 2 * PAGE, 3 * PAGE, A.MREMAP_MAYMOVE | A.MREMAP_FIXED, BASE + 16 * PAGE)).toBe(BASE + 16 * PAGE);
    expect(layout(p)).toEqual([[16, 19, "rw-p"]]);
    expect([0, 1, 2].map((i) => p.thread.load32(BASE + (16 + i) * PAGE))).toEqual([tagOf(0), tagOf(1), 0]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("growing a memfd mapping in place past EOF succeeds; the part beyond EOF is SIGBUS", async () => {
    const { k, p } = await boot();
    const fd = p.memfdCreate("grow");
    p.ftruncate(fd, PAGE);
    const a = p.mmap(BASE, PAGE, RW, A.MAP_SHARED | A.MAP_FIXED, fd, 0);
    p.thread.store32(a, 1);
    expect(p.mremap(a, PAGE, 3 * PAGE, 0)).toBe(a);
    expect(layout(p)).toEqual([[0, 3, "rw-s"]]);
    expect(p.thread.load32(a)).toBe(1);
    expect(expectSignal(() => p.thread.load8(a + PAGE), "SIGBUS").addr).toBe(a + PAGE);
    p.ftruncate(fd, 3 * PAGE);
    p.thread.store32(a + 2 * PAGE, 3);
    expect(p.pread(fd, 1, 2 * PAGE)[0]).toBe(3);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("maps() text", () => {
  it("formats each VMA like /proc/pid/maps: range, perms, offset, device, inode, and a name column for files", async () => {
    const { k, p } = await boot();
    p.mmap(BASE, 2 * PAGE, RW, FIXED);
    p.mmap(BASE + 2 * PAGE, PAGE, A.PROT_READ | A.PROT_EXEC, FIXED);
    p.mmap(BASE + 4 * PAGE, PAGE, A.PROT_NONE, FIXED);
    const fd = p.memfdCreate("named");
    p.ftruncate(fd, 4 * PAGE);
    p.mmap(BASE + 8 * PAGE, 2 * PAGE, RW, A.MAP_SHARED | A.MAP_FIXED, fd, 2 * PAGE);
    const ino = p.fstat(fd).ino;
    const lines = p.maps().split("\n");
    expect(lines).toHaveLength(4);
    // (trimEnd: the trailing space Linux prints is checked by its own case below)
    expect(lines[0].trimEnd()).toBe("100000000-100002000 rw-p 00000000 00:00 0");
    expect(lines[1].trimEnd()).toBe("100002000-100003000 r-xp 00000000 00:00 0");
    expect(lines[2].trimEnd()).toBe("100004000-100005000 ---p 00000000 00:00 0");
    const head = `100008000-10000a000 rw-s 00002000 00:01 ${ino}`;
    expect(lines[3].startsWith(head + " ")).toBe(true);
    // Linux pads the header to 73 columns before the name (seq_pad in show_map_vma).
    expect(lines[3]).toBe(head.padEnd(73) + "/memfd:named (deleted)");
    expect(lines[3].length - lines[3].slice(73).length).toBe(73);
    expect(lines[3][72]).toBe(" ");
    expect(lines[3][73]).toBe("/");
    // Shared anonymous memory shows as the deleted /dev/zero it is in Linux.
    p.mmap(BASE + 12 * PAGE, PAGE, RW, SHANON | A.MAP_FIXED);
    const sh = p.maps().split("\n")[4];
    const shIno = p.vmas()[4].ino;
    expect(sh).toBe(`10000c000-10000d000 rw-s 00000000 00:01 ${shIno}`.padEnd(73) + "/dev/zero (deleted)");
    // Short addresses are zero-padded to 8 hex digits, as %08lx prints them.
    p.mmap(0x10000, PAGE, A.PROT_READ, FIXED);
    expect(p.maps().split("\n")[0].trimEnd()).toBe("00010000-00011000 r--p 00000000 00:00 0");
    expect(k.checkInvariants()).toBe(true);
  });

  // show_vma_header_prefix() ends every header with seq_putc(m, ' '), so a line without a
  // name (anonymous memory) ends in a space in /proc/pid/maps (checked with cat -A on 6.18).
  it("an anonymous line ends with the space Linux prints after the inode number", async () => {
    const { k, p } = await boot();
    p.mmap(BASE, PAGE, RW, FIXED);
    expect(p.maps()).toBe("100000000-100001000 rw-p 00000000 00:00 0 ");
    expect(k.checkInvariants()).toBe(true);
  });

  it("is empty for an empty address space and lists VMAs in address order", async () => {
    const { k, p } = await boot();
    expect(p.maps()).toBe("");
    p.mmap(BASE + 4 * PAGE, PAGE, RW, FIXED);
    p.mmap(BASE, PAGE, A.PROT_READ, FIXED);
    const starts = p.maps().split("\n").map((l) => parseInt(l.split("-")[0], 16));
    expect(starts).toEqual([BASE, BASE + 4 * PAGE]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("lists more VMAs than fit one record page", async () => {
    const { k, p } = await boot();
    const n = 200; // a maps record is 48 bytes: 85 per bounce page
    for (let i = 0; i < n; i++) p.mmap(BASE + 2 * i * PAGE, PAGE, i % 2 ? RW : A.PROT_READ, FIXED);
    const v = p.vmas();
    expect(v).toHaveLength(n);
    expect(v.map((x) => x.start)).toEqual(Array.from({ length: n }, (_, i) => BASE + 2 * i * PAGE));
    expect(p.maps().split("\n")).toHaveLength(n);
    expect(k.checkInvariants()).toBe(true);
  });
});
