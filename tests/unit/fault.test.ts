// mm/memory.ts and mm/uaccess.ts: the page-fault path. Zero page, write after read,
// permission checks and signals, copy-on-write across fork, private and shared file
// mappings, shared anonymous memory, and the fork-time madvise flags.
import { describe, it, expect } from "vitest";
import type { Kernel, Process } from "../../host-ts/index.js";
import { boot, RW, ANON, PAGE, A, expectSignal } from "../helpers/kernel.js";

const SHANON = A.MAP_SHARED | A.MAP_ANONYMOUS;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** Free frames after the caches and the page tables of the region around `a` exist. */
function settle(k: Kernel, p: Process, a: number): number {
  p.thread.load8(a); // page tables for a's 2 MiB region
  return k.stats().freeFrames;
}

describe("anonymous faults", () => {
  it("a read fault maps the shared zero page: reads 0, counts in rss, costs no frame", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 8 * PAGE, RW, ANON);
    const free = settle(k, p, a);
    for (let i = 1; i < 8; i++) expect(p.thread.load32(a + i * PAGE + 4 * i)).toBe(0);
    expect(k.stats().freeFrames).toBe(free);
    expect(p.vmas()[0].rss).toBe(8);
    // Every one of them is the same frame.
    const zero = p.thread.translate(a);
    for (let i = 1; i < 8; i++) expect(p.thread.translate(a + i * PAGE)).toBe(zero);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a write after a read allocates a private zeroed page, leaving the zero page zero", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    const free = settle(k, p, a);
    expect(p.thread.load32(a + PAGE)).toBe(0);
    const zero = p.thread.translate(a + PAGE);
    p.thread.store32(a + PAGE + 8, 0xfeedface);
    expect(k.stats().freeFrames).toBe(free - 1);
    const pa = p.thread.translate(a + PAGE);
    expect(pa).not.toBe(zero);
    expect(p.thread.load32(a + PAGE + 8)).toBe(0xfeedface);
    expect(Array.from(p.thread.read(a + PAGE, 8))).toEqual(Array(8).fill(0));
    // The other page still maps the zero page, which is still all zeros.
    expect(p.thread.translate(a)).toBe(zero);
    expect(p.thread.read(a, PAGE).every((b) => b === 0)).toBe(true);
    expect(p.vmas()[0].rss).toBe(2);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a first write allocates one frame directly (no zero page)", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    const free = settle(k, p, a);
    const faults = k.stats().faults;
    p.thread.store8(a + PAGE, 1);
    expect(k.stats().faults).toBe(faults + 1);
    expect(k.stats().freeFrames).toBe(free - 1);
    expect(k.checkInvariants()).toBe(true);
  });

  // [name, prot, readable, writable]
  it.each([
    ["PROT_READ", A.PROT_READ, true, false],
    ["PROT_WRITE only", A.PROT_WRITE, true, true],
    ["PROT_EXEC only", A.PROT_EXEC, true, false],
    ["PROT_WRITE | PROT_EXEC", A.PROT_WRITE | A.PROT_EXEC, true, true],
    ["PROT_READ | PROT_WRITE", RW, true, true],
    ["PROT_NONE", A.PROT_NONE, false, false],
  ])("an anonymous %s page: read %s, write %s", async (_n, prot, readable, writable) => {
    const { k, p } = await boot();
    const a = p.mmap(0, PAGE, prot, ANON);
    if (readable) expect(p.thread.load32(a + 12)).toBe(0);
    else {
      const e = expectSignal(() => p.thread.load32(a + 12), "SIGSEGV");
      expect(e.si_code).toBe(A.SEGV_ACCERR);
      expect(e.addr).toBe(a + 12);
    }
    if (writable) {
      p.thread.store32(a + 12, 0x12345678);
      expect(p.thread.load32(a + 12)).toBe(0x12345678);
    } else {
      const e = expectSignal(() => p.thread.store32(a + 20, 1), "SIGSEGV");
      expect(e.si_code).toBe(A.SEGV_ACCERR);
      expect(e.addr).toBe(a + 20);
    }
    expect(k.checkInvariants()).toBe(true);
  });

  it("PROT_NONE over populated memory: SEGV_ACCERR at the exact address; contents come back with PROT_READ", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    p.thread.store32(a + 0x123, 0xcafe);
    p.mprotect(a, 2 * PAGE, A.PROT_NONE);
    for (const [fn, addr] of [
      [() => p.thread.load8(a + 0x123), a + 0x123],
      [() => p.thread.store16(a + PAGE + 0x7, 1), a + PAGE + 7],
      [() => p.thread.read(a + 0x10, 4), a + 0x10],
    ] as const) {
      const e = expectSignal(fn, "SIGSEGV");
      expect(e.si_code).toBe(A.SEGV_ACCERR);
      expect(e.addr).toBe(addr);
    }
    expect(p.vmas()[0].rss).toBe(1); // the written page is kept, only inaccessible
    p.mprotect(a, 2 * PAGE, A.PROT_READ);
    expect(p.thread.load32(a + 0x123)).toBe(0xcafe);
    expect(expectSignal(() => p.thread.store8(a, 1), "SIGSEGV").si_code).toBe(A.SEGV_ACCERR);
    expect(k.checkInvariants()).toBe(true);
  });

  it.each([
    ["NULL", () => 0],
    ["just below mmap_min_addr", () => 0xffff],
    ["a hole between two mappings", (a: number) => a + PAGE + 0x321],
    ["the page after the last mapping", (a: number) => a + 3 * PAGE],
    ["an unmapped page (after munmap)", (a: number) => a + 2 * PAGE + 9],
  ])("an access to %s is SIGSEGV / SEGV_MAPERR at exactly that address", async (_n, where) => {
    const { k, p } = await boot();
    const a = 0x4_0000_0000;
    p.mmap(a, PAGE, RW, ANON | A.MAP_FIXED);
    p.mmap(a + 2 * PAGE, PAGE, RW, ANON | A.MAP_FIXED);
    p.thread.store8(a + 2 * PAGE, 1);
    p.munmap(a + 2 * PAGE, PAGE);
    const addr = where(a);
    for (const fn of [() => p.thread.load8(addr), () => p.thread.store32(addr, 5), () => p.thread.load64(addr)]) {
      const e = expectSignal(fn, "SIGSEGV");
      expect(e.si_code).toBe(A.SEGV_MAPERR);
      expect(e.addr).toBe(addr);
    }
    expect(k.checkInvariants()).toBe(true);
  });

  it("a block copy that runs into an unmapped page faults at its first byte, after copying the bytes before it", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    p.munmap(a + PAGE, PAGE);
    const e = expectSignal(() => p.thread.fill(a + PAGE - 16, 0xee, 64), "SIGSEGV");
    expect(e.addr).toBe(a + PAGE);
    expect(e.si_code).toBe(A.SEGV_MAPERR);
    expect(Array.from(p.thread.read(a + PAGE - 17, 17))).toEqual([0, ...Array(16).fill(0xee)]);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("copy-on-write across fork", () => {
  it("the child sees the parent's data; a write by either side is private to it", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 4 * PAGE, RW, ANON);
    for (let i = 0; i < 4; i++) p.thread.store32(a + i * PAGE, 100 + i);
    const c = p.fork();
    for (let i = 0; i < 4; i++) expect(c.thread.load32(a + i * PAGE)).toBe(100 + i);
    // Parent writes page 0, child writes page 1.
    p.thread.store32(a, 1);
    c.thread.store32(a + PAGE, 2);
    expect([p.thread.load32(a), p.thread.load32(a + PAGE)]).toEqual([1, 101]);
    expect([c.thread.load32(a), c.thread.load32(a + PAGE)]).toEqual([100, 2]);
    // Untouched pages are still one frame for both.
    expect(c.thread.translate(a + 2 * PAGE)).toBe(p.thread.translate(a + 2 * PAGE));
    expect(c.thread.translate(a)).not.toBe(p.thread.translate(a));
    expect(k.checkInvariants()).toBe(true);
    c.exit();
    expect(k.checkInvariants()).toBe(true);
    for (let i = 2; i < 4; i++) expect(p.thread.load32(a + i * PAGE)).toBe(100 + i);
  });

  it("copies only on the first write; the last sharer reuses its page without copying", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 4 * PAGE, RW, ANON);
    for (let i = 0; i < 4; i++) p.thread.store32(a + i * PAGE, i);
    const c = p.fork();
    c.thread.load8(a); // the child's page tables
    const free = k.stats().freeFrames;
    c.thread.store32(a, 7); // copy
    expect(k.stats().freeFrames).toBe(free - 1);
    const pa = p.thread.translate(a);
    p.thread.store32(a, 8); // the parent is now the page's only user: reuse
    expect(k.stats().freeFrames).toBe(free - 1);
    expect(p.thread.translate(a)).toBe(pa);
    c.exit();
    const free2 = k.stats().freeFrames;
    for (let i = 1; i < 4; i++) p.thread.store32(a + i * PAGE, 50 + i); // exclusive again after the exit
    expect(k.stats().freeFrames).toBe(free2);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a page that was only read (the zero page) before fork: each side's write gets its own page", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, PAGE, RW, ANON);
    expect(p.thread.load32(a)).toBe(0);
    const c = p.fork();
    c.thread.store32(a, 3);
    expect(p.thread.load32(a)).toBe(0);
    p.thread.store32(a, 4);
    expect(c.thread.load32(a)).toBe(3);
    expect(p.thread.load32(a)).toBe(4);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a three-level fork chain keeps every generation's writes apart", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 4 * PAGE, RW, ANON);
    p.thread.store32(a, 0xa0);
    p.thread.store32(a + PAGE, 0xa1);
    const c1 = p.fork();
    c1.thread.store32(a + PAGE, 0xb1);
    c1.thread.store32(a + 2 * PAGE, 0xb2);
    const c2 = c1.fork();
    c2.thread.store32(a + 2 * PAGE, 0xc2);
    c2.thread.store32(a + 3 * PAGE, 0xc3);
    p.thread.store32(a, 0xa9);
    const view = (q: Process) => [0, 1, 2, 3].map((i) => q.thread.load32(a + i * PAGE));
    expect(view(p)).toEqual([0xa9, 0xa1, 0, 0]);
    expect(view(c1)).toEqual([0xa0, 0xb1, 0xb2, 0]);
    expect(view(c2)).toEqual([0xa0, 0xb1, 0xc2, 0xc3]);
    // Page 0 of c1 and c2 is still the one frame the parent had before it wrote.
    expect(c1.thread.translate(a)).toBe(c2.thread.translate(a));
    expect(k.checkInvariants()).toBe(true);
    // Tear down from the middle: the others keep their views.
    c1.exit();
    expect(k.checkInvariants()).toBe(true);
    expect(view(c2)).toEqual([0xa0, 0xb1, 0xc2, 0xc3]);
    c2.thread.store32(a, 0xc0);
    expect(view(p)).toEqual([0xa9, 0xa1, 0, 0]);
    c2.exit();
    expect(view(p)).toEqual([0xa9, 0xa1, 0, 0]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("mprotect(PROT_WRITE) on a copy-on-write page does not let a write skip the copy", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, PAGE, RW, ANON);
    p.thread.store32(a, 1);
    const c = p.fork();
    p.mprotect(a, PAGE, A.PROT_READ);
    p.mprotect(a, PAGE, RW);
    p.thread.store32(a, 2);
    expect(c.thread.load32(a)).toBe(1);
    expect(p.thread.load32(a)).toBe(2);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("MAP_PRIVATE memfd mappings", () => {
  async function setup() {
    const { k, p } = await boot();
    const fd = p.memfdCreate("priv");
    p.ftruncate(fd, 3 * PAGE);
    p.pwrite(fd, enc("file page 0"), 0);
    p.pwrite(fd, enc("file page 1"), PAGE);
    const a = p.mmap(0, 3 * PAGE, RW, A.MAP_PRIVATE, fd, 0);
    return { k, p, fd, a };
  }

  it("sees the file's data, and file writes until the page is privately written", async () => {
    const { k, p, fd, a } = await setup();
    expect(dec(p.thread.read(a, 11))).toBe("file page 0");
    expect(dec(p.thread.read(a + PAGE, 11))).toBe("file page 1");
    p.pwrite(fd, enc("FILE"), 0);
    expect(dec(p.thread.read(a, 11))).toBe("FILE page 0");
    // The private write copies the page; the file does not change.
    p.thread.write(a + 5, enc("PRIV"));
    expect(dec(p.thread.read(a, 11))).toBe("FILE PRIV 0");
    expect(dec(p.pread(fd, 11, 0))).toBe("FILE page 0");
    // From now on, file writes to that page are not visible through the private mapping...
    p.pwrite(fd, enc("late"), 0);
    expect(dec(p.thread.read(a, 11))).toBe("FILE PRIV 0");
    expect(dec(p.pread(fd, 11, 0))).toBe("late page 0");
    // ...but other, unwritten pages keep following the file.
    p.pwrite(fd, enc("LATE"), PAGE);
    expect(dec(p.thread.read(a + PAGE, 11))).toBe("LATE page 1");
    expect(k.checkInvariants()).toBe(true);
  });

  it("a write to a page never read before copies the file's data, not zeroes", async () => {
    const { k, p, fd, a } = await setup();
    p.thread.store8(a + PAGE + 10, 0x21); // "!"
    expect(dec(p.thread.read(a + PAGE, 11))).toBe("file page !");
    expect(dec(p.pread(fd, 11, PAGE))).toBe("file page 1");
    expect(p.fstat(fd).size).toBe(BigInt(3 * PAGE));
    expect(k.checkInvariants()).toBe(true);
  });

  it("a shared mapping of the same file never sees the private copy", async () => {
    const { k, p, fd, a } = await setup();
    const s = p.mmap(0, 3 * PAGE, RW, A.MAP_SHARED, fd, 0);
    p.thread.write(a, enc("private"));
    expect(dec(p.thread.read(s, 11))).toBe("file page 0");
    p.thread.write(s, enc("shared!"));
    expect(dec(p.thread.read(a, 11))).toBe("privatege 0");
    expect(dec(p.thread.read(a + PAGE, 4))).toBe("file");
    p.thread.write(s + PAGE, enc("SHAR"));
    expect(dec(p.thread.read(a + PAGE, 4))).toBe("SHAR");
    expect(k.checkInvariants()).toBe(true);
  });

  it("is SIGBUS beyond EOF, private write or not", async () => {
    const { k, p, fd } = await setup();
    const a = p.mmap(0, 5 * PAGE, RW, A.MAP_PRIVATE, fd, 0);
    for (const fn of [() => p.thread.load8(a + 3 * PAGE), () => p.thread.store8(a + 4 * PAGE + 1, 1)]) {
      const e = expectSignal(fn, "SIGBUS");
      expect(e.si_code).toBe(A.BUS_ADRERR);
    }
    expect(expectSignal(() => p.thread.load8(a + 3 * PAGE + 7), "SIGBUS").addr).toBe(a + 3 * PAGE + 7);
    expect(k.checkInvariants()).toBe(true);
  });

  it("private copies are inherited copy-on-write by a child", async () => {
    const { k, p, a } = await setup();
    p.thread.write(a, enc("mine"));
    const c = p.fork();
    expect(dec(c.thread.read(a, 4))).toBe("mine");
    c.thread.write(a, enc("kids"));
    expect(dec(p.thread.read(a, 4))).toBe("mine");
    expect(dec(c.thread.read(a, 4))).toBe("kids");
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("MAP_SHARED memfd mappings", () => {
  it("writes through one mapping are visible through a second one and through pread; pwrite is visible in both", async () => {
    const { k, p } = await boot();
    const fd = p.memfdCreate("shared");
    p.ftruncate(fd, 4 * PAGE);
    const m1 = p.mmap(0, 4 * PAGE, RW, A.MAP_SHARED, fd, 0);
    const m2 = p.mmap(0, 2 * PAGE, RW, A.MAP_SHARED, fd, 2 * PAGE); // file pages 2..3
    p.thread.write(m1 + 2 * PAGE + 100, enc("hello"));
    expect(dec(p.thread.read(m2 + 100, 5))).toBe("hello");
    expect(dec(p.pread(fd, 5, 2 * PAGE + 100))).toBe("hello");
    p.pwrite(fd, enc("world"), 3 * PAGE);
    expect(dec(p.thread.read(m1 + 3 * PAGE, 5))).toBe("world");
    expect(dec(p.thread.read(m2 + PAGE, 5))).toBe("world");
    // The mappings share frames.
    expect(p.thread.translate(m1 + 2 * PAGE)).toBe(p.thread.translate(m2));
    expect(p.fstat(fd).size).toBe(BigInt(4 * PAGE));
    expect(k.checkInvariants()).toBe(true);
  });

  it("a read fault on a hole allocates a file page (st_blocks grows) that reads 0", async () => {
    const { k, p } = await boot();
    const fd = p.memfdCreate("hole");
    p.ftruncate(fd, 2 * PAGE);
    const m = p.mmap(0, 2 * PAGE, A.PROT_READ, A.MAP_SHARED, fd, 0);
    expect(p.fstat(fd).blocks).toBe(0n);
    expect(p.thread.load32(m + PAGE)).toBe(0);
    expect(p.fstat(fd).blocks).toBe(8n);
    expect(k.checkInvariants()).toBe(true);
  });

  it("is shared with a forked child in both directions, and outlives the fd", async () => {
    const { k, p } = await boot();
    const fd = p.memfdCreate("fork");
    p.ftruncate(fd, PAGE);
    const m = p.mmap(0, PAGE, RW, A.MAP_SHARED, fd, 0);
    p.close(fd);
    const c = p.fork();
    c.thread.store32(m, 11);
    expect(p.thread.load32(m)).toBe(11);
    p.thread.store32(m + 4, 22);
    expect(c.thread.load32(m + 4)).toBe(22);
    p.exit();
    expect(c.thread.load32(m)).toBe(11);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("shared anonymous memory", () => {
  it("is shared across fork in both directions; the first read allocates a real page", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 2 * PAGE, RW, SHANON);
    expect(p.thread.load32(a)).toBe(0);
    expect(p.vmas()[0].kind).toBe("shmem");
    expect(p.vmas()[0].flags & A.VM_SHARED).toBe(A.VM_SHARED);
    const c = p.fork();
    c.thread.store32(a, 0x600d);
    expect(p.thread.load32(a)).toBe(0x600d);
    p.thread.store32(a + PAGE, 0xbeef);
    expect(c.thread.load32(a + PAGE)).toBe(0xbeef);
    expect(c.thread.translate(a)).toBe(p.thread.translate(a));
    const g = c.fork();
    g.thread.store32(a + 8, 3);
    expect(p.thread.load32(a + 8)).toBe(3);
    expect(k.checkInvariants()).toBe(true);
    p.exit();
    c.exit();
    expect(g.thread.load32(a)).toBe(0x600d);
    g.exit();
    expect(k.stats().inodes).toBe(0);
    expect(k.checkInvariants()).toBe(true);
  });

  it("is not shared with a mapping made after the fork", async () => {
    const { k, p } = await boot();
    const c = p.fork();
    const a = p.mmap(0, PAGE, RW, SHANON);
    p.thread.store32(a, 1);
    expectSignal(() => c.thread.load32(a), "SIGSEGV");
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("fork-time madvise flags", () => {
  it("MADV_DONTFORK: the child has no mapping there (SIGSEGV); the parent keeps it", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 3 * PAGE, RW, ANON);
    for (let i = 0; i < 3; i++) p.thread.store32(a + i * PAGE, i + 1);
    p.madvise(a + PAGE, PAGE, A.MADV_DONTFORK);
    const c = p.fork();
    const e = expectSignal(() => c.thread.load32(a + PAGE + 4), "SIGSEGV");
    expect(e.si_code).toBe(A.SEGV_MAPERR);
    expect(e.addr).toBe(a + PAGE + 4);
    expect(c.vmas().map((v) => [v.start, v.end])).toEqual([[a, a + PAGE], [a + 2 * PAGE, a + 3 * PAGE]]);
    expect(c.thread.load32(a)).toBe(1);
    expect(c.thread.load32(a + 2 * PAGE)).toBe(3);
    expect(p.thread.load32(a + PAGE)).toBe(2);
    expect(k.checkInvariants()).toBe(true);
  });

  it("MADV_DONTFORK on shared anonymous memory and on a memfd mapping", async () => {
    const { k, p } = await boot();
    const fd = p.memfdCreate("df");
    p.ftruncate(fd, PAGE);
    const m = p.mmap(0, PAGE, RW, A.MAP_SHARED, fd, 0);
    const s = p.mmap(0, PAGE, RW, SHANON);
    p.thread.store8(m, 1);
    p.thread.store8(s, 2);
    p.madvise(m, PAGE, A.MADV_DONTFORK);
    p.madvise(s, PAGE, A.MADV_DONTFORK);
    const c = p.fork();
    expectSignal(() => c.thread.load8(m), "SIGSEGV");
    expectSignal(() => c.thread.load8(s), "SIGSEGV");
    expect(c.vmas()).toEqual([]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("MADV_DOFORK undoes MADV_DONTFORK", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, PAGE, RW, ANON);
    p.thread.store32(a, 9);
    p.madvise(a, PAGE, A.MADV_DONTFORK);
    p.madvise(a, PAGE, A.MADV_DOFORK);
    const c = p.fork();
    expect(c.thread.load32(a)).toBe(9);
    expect(k.checkInvariants()).toBe(true);
  });

  it("MADV_WIPEONFORK: the child reads 0 (and can write), the parent keeps its data; grandchildren are wiped too", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 3 * PAGE, RW, ANON);
    for (let i = 0; i < 3; i++) p.thread.store32(a + i * PAGE, i + 1);
    p.madvise(a, 2 * PAGE, A.MADV_WIPEONFORK);
    const c = p.fork();
    expect(c.thread.load32(a)).toBe(0);
    expect(c.thread.load32(a + PAGE)).toBe(0);
    expect(c.thread.load32(a + 2 * PAGE)).toBe(3); // outside the advised range
    const cv = c.vmas();
    expect(cv.map((v) => [v.start, v.end, v.rss])).toEqual([[a, a + 2 * PAGE, 2], [a + 2 * PAGE, a + 3 * PAGE, 1]]);
    expect(cv[0].flags & A.VM_WIPEONFORK).toBe(A.VM_WIPEONFORK);
    c.thread.store32(a, 0x77);
    expect(p.thread.load32(a)).toBe(1);
    expect(p.thread.load32(a + PAGE)).toBe(2);
    const g = c.fork();
    expect(g.thread.load32(a)).toBe(0);
    expect(k.checkInvariants()).toBe(true);
    // MADV_KEEPONFORK clears it again.
    p.madvise(a, 2 * PAGE, A.MADV_KEEPONFORK);
    const c2 = p.fork();
    expect(c2.thread.load32(a + PAGE)).toBe(2);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("MADV_DONTNEED, as the next fault sees it", () => {
  it.each([
    ["private anonymous", "anon", 0],
    ["shared anonymous", "shanon", 0x5a],
    ["shared memfd", "shared", 0x5a],
    ["private memfd (file contents show again)", "private", 0x33],
  ] as const)("%s memory reads %s afterwards", async (_n, kind, after) => {
    const { k, p } = await boot();
    const fd = p.memfdCreate("dn");
    p.ftruncate(fd, 2 * PAGE);
    p.pwrite(fd, new Uint8Array(8).fill(0x33), 0);
    const a =
      kind === "anon" ? p.mmap(0, 2 * PAGE, RW, ANON)
      : kind === "shanon" ? p.mmap(0, 2 * PAGE, RW, SHANON)
      : p.mmap(0, 2 * PAGE, RW, kind === "shared" ? A.MAP_SHARED : A.MAP_PRIVATE, fd, 0);
    p.thread.fill(a, 0x5a, 8);
    p.madvise(a, 2 * PAGE, A.MADV_DONTNEED);
    expect(p.vmas().find((v) => v.start === a)!.rss).toBe(0);
    expect(Array.from(p.thread.read(a, 8))).toEqual(Array(8).fill(after));
    expect(k.checkInvariants()).toBe(true);
  });
});
