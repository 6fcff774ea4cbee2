// mm/page_alloc.ts: boot sizing, frame accounting, exhaustion and recovery.
//
// Exhaustion must always surface as the typed OutOfMemoryError (a fault) or ENOMEM (a system
// call), never as a WebAssembly trap (RuntimeError), and every frame must come back when the
// memory that used it is released.
import { describe, it, expect } from "vitest";
import { Kernel, OutOfMemoryError, SystemError, type Process } from "../../host-ts/index.js";
import { boot, RW, ANON, PAGE, A } from "../helpers/kernel.js";

const MiB = 1 << 20;
/** Bytes each frame costs: the frame plus its 32-byte struct page. */
const FRAME_COST = PAGE + 32;

/** Write-fault pages of [a, a + len) one by one until the fault path runs out of memory. */
function faultUntilOom(p: Process, a: number, len: number): { pages: number; err: unknown } {
  let pages = 0;
  let err: unknown = null;
  try {
    for (; pages * PAGE < len; pages++) p.thread.store32(a + pages * PAGE, 0x1000 + pages);
  } catch (e) {
    err = e;
  }
  return { pages, err };
}

function expectNotTrap(err: unknown): void {
  expect(err).not.toBeInstanceOf(WebAssembly.RuntimeError);
}

describe("boot sizes", () => {
  it.each([
    [0, "zero"],
    [A.MIN_MEM_BYTES - 1, "one byte below the minimum"],
    [A.MIN_MEM_BYTES - 64 * 1024, "one Wasm page below the minimum"],
    [A.MIN_MEM_BYTES + 0.5, "not an integer"],
    [-A.MIN_MEM_BYTES, "negative"],
    [0x1_0000_0000, "4 GiB (more than a 32-bit memory)"],
  ])("rejects memoryBytes = %d (%s) with RangeError", async (bytes) => {
    await expect(Kernel.boot({ memoryBytes: bytes })).rejects.toBeInstanceOf(RangeError);
  });

  it("boots in exactly the 8 MiB minimum", async () => {
    const k = await Kernel.boot({ memoryBytes: A.MIN_MEM_BYTES });
    const s = k.stats();
    expect(s.memBytes).toBe(8 * MiB);
    // Everything after the fixed kernel area is frames + mem_map; nothing is wasted beyond a page or so.
    expect(s.frames * FRAME_COST).toBeLessThanOrEqual(s.memBytes);
    expect(s.frames).toBeGreaterThan(1400);
    // Only the zero page is taken at boot.
    expect(s.freeFrames).toBe(s.frames - 1);
    expect(s.tasks).toBe(0);
    const p = k.spawn();
    const a = p.mmap(0, PAGE, RW, ANON);
    p.thread.store32(a, 42);
    expect(p.thread.load32(a)).toBe(42);
    expect(k.checkInvariants()).toBe(true);
  });

  it("defaults to 256 MiB", async () => {
    const k = await Kernel.boot();
    const s = k.stats();
    expect(s.memBytes).toBe(A.DEFAULT_MEM_BYTES);
    expect(s.memBytes).toBe(256 * MiB);
    expect(k.memory.buffer.byteLength).toBe(256 * MiB);
    expect(s.frames).toBeGreaterThan(0.98 * ((256 * MiB) / PAGE) * (PAGE / FRAME_COST));
    expect(s.frames * FRAME_COST).toBeLessThanOrEqual(s.memBytes);
    expect(s.freeFrames).toBe(s.frames - 1);
    expect(k.checkInvariants()).toBe(true);
  });

  it("rounds a size that is not a multiple of 64 KiB up to whole Wasm pages", async () => {
    const k = await Kernel.boot({ memoryBytes: 8 * MiB + 1 });
    expect(k.stats().memBytes).toBe(8 * MiB + 64 * 1024);
    expect(k.checkInvariants()).toBe(true);
  });

  it("boots a 2 GiB kernel with ~524k frames", async (ctx) => {
    let k: Kernel;
    try {
      k = await Kernel.boot({ memoryBytes: 2 ** 31 });
    } catch (e) {
      if (e instanceof RangeError && /memory/i.test(String(e.message)) && !/memoryBytes/.test(e.message)) {
        ctx.skip(`this machine cannot allocate a 2 GiB shared WebAssembly.Memory: ${e.message}`);
      }
      throw e;
    }
    const s = k.stats();
    expect(s.memBytes).toBe(2 ** 31);
    // 2^31 / 4096 = 524288 pages of memory; the kernel area and mem_map take a bit under 1%.
    expect(s.frames).toBeGreaterThan(0.98 * 524288);
    expect(s.frames).toBeLessThan(524288);
    expect(s.frames * FRAME_COST).toBeLessThanOrEqual(s.memBytes);
    expect(s.freeFrames).toBe(s.frames - 1);
    // Frames near the top of a 2 GiB memory work (addresses above 2^31 - 1 as u32).
    const p = k.spawn();
    const len = 64 * MiB;
    const a = p.mmap(0, len, RW, ANON);
    for (let off = 0; off < len; off += 2 * MiB) p.thread.store32(a + off, off ^ 0x5a5a5a5a);
    for (let off = 0; off < len; off += 2 * MiB) expect(p.thread.load32(a + off)).toBe((off ^ 0x5a5a5a5a) >>> 0);
    expect(k.checkInvariants()).toBe(true);
    p.munmap(a, len);
    expect(k.checkInvariants()).toBe(true);
  }, 120_000);
});

describe("exhaustion", () => {
  it("write faults end in OutOfMemoryError (not a trap); munmap returns every frame; faults work again", async () => {
    const { k, p } = await boot({ memoryBytes: 8 * MiB });
    const len = 64 * MiB; // far more than the machine has
    const a = p.mmap(0, len, RW, ANON);
    const before = k.stats();
    const { pages, err } = faultUntilOom(p, a, len);
    expectNotTrap(err);
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect((err as OutOfMemoryError).addr).toBe(a + pages * PAGE);
    const full = k.stats();
    expect(full.freeFrames).toBe(0);
    // Every page that was faulted in before the failure still holds its data.
    for (let i = 0; i < pages; i += 97) expect(p.thread.load32(a + i * PAGE)).toBe(0x1000 + i);
    // Nearly every free frame became a user page (the rest are page tables).
    expect(pages).toBeGreaterThan(before.freeFrames - 16);
    expect(p.vmas()[0].rss).toBe(pages);
    expect(k.checkInvariants()).toBe(true);

    // A failed fault leaves the page unmapped, and retrying fails the same way.
    expect(() => p.thread.store8(a + pages * PAGE, 1)).toThrow(OutOfMemoryError);

    p.munmap(a, len);
    const after = k.stats();
    expect(after.freeFrames).toBe(before.freeFrames);
    expect(k.checkInvariants()).toBe(true);

    // New faults succeed, and the address space can be filled again to the same point.
    const b = p.mmap(0, len, RW, ANON);
    const again = faultUntilOom(p, b, len);
    expect(again.err).toBeInstanceOf(OutOfMemoryError);
    expect(again.pages).toBe(pages);
    p.munmap(b, len);
    expect(k.stats().freeFrames).toBe(before.freeFrames);
    expect(k.checkInvariants()).toBe(true);
  });

  it("system calls give ENOMEM, not a trap, while memory is exhausted", async () => {
    const { k, p } = await boot({ memoryBytes: 8 * MiB });
    const fd = p.memfdCreate("x");
    const len = 64 * MiB;
    const a = p.mmap(0, len, RW, ANON);
    const { err } = faultUntilOom(p, a, len);
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect(k.stats().freeFrames).toBe(0);

    // Each call either succeeds (a slab object was still free) or fails with ENOMEM.
    const tryCall = (fn: () => unknown): void => {
      try {
        fn();
      } catch (e) {
        expectNotTrap(e);
        expect(e).toBeInstanceOf(SystemError);
        expect((e as SystemError).code).toBe("ENOMEM");
      }
    };
    expectErrnoIs(() => p.pwrite(fd, new Uint8Array(16).fill(7), 0), "ENOMEM");
    expectErrnoIs(() => p.fallocate(fd, 0, 0, 4 * PAGE), "ENOMEM");
    expectErrnoIs(() => p.fork(), "ENOMEM");
    tryCall(() => p.memfdCreate("y"));
    for (let i = 0; i < 200; i++) tryCall(() => p.mmap(0, PAGE, RW, ANON));
    tryCall(() => p.mprotect(a + PAGE, PAGE, A.PROT_READ)); // splits: needs VMA objects
    expect(k.checkInvariants()).toBe(true);

    p.munmap(a, len);
    p.close(fd);
    expect(k.checkInvariants()).toBe(true);
    // With memory back, the same calls work.
    const fd2 = p.memfdCreate("z");
    expect(p.pwrite(fd2, new Uint8Array(16).fill(7), 0)).toBe(16);
    p.fallocate(fd2, 0, 0, 4 * PAGE);
    expect(p.fstat(fd2).blocks).toBe(32n);
    const c = p.fork();
    c.exit();
    expect(k.checkInvariants()).toBe(true);
  });

  it("copy-on-write after fork runs out of memory cleanly, and the child's exit frees its copies", async () => {
    const { k, p } = await boot({ memoryBytes: 8 * MiB });
    const len = 4 * MiB;
    const a = p.mmap(0, len, RW, ANON);
    for (let off = 0; off < len; off += PAGE) p.thread.store32(a + off, off);
    const c = p.fork();
    const beforeCow = k.stats().freeFrames;
    expect(beforeCow).toBeLessThan(len / PAGE); // not enough memory to copy everything
    const { pages, err } = faultUntilOom(c, a, len);
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect(pages).toBeGreaterThan(0);
    expect(k.checkInvariants()).toBe(true);
    // The child's copies hold its writes; the parent still sees its own data everywhere.
    for (let i = 0; i < pages; i += 31) expect(c.thread.load32(a + i * PAGE)).toBe(0x1000 + i);
    for (let off = 0; off < len; off += 37 * PAGE) expect(p.thread.load32(a + off)).toBe(off);
    c.exit();
    expect(k.stats().freeFrames).toBeGreaterThanOrEqual(beforeCow);
    expect(k.checkInvariants()).toBe(true);
    // Alone again, the parent writes without copying (its pages are exclusive): no frame is used.
    const free = k.stats().freeFrames;
    for (let off = 0; off < len; off += PAGE) p.thread.store32(a + off, ~off);
    expect(k.stats().freeFrames).toBe(free);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a memfd that filled memory gives every frame back (pages and index nodes) when closed", async () => {
    const { k, p } = await boot({ memoryBytes: 8 * MiB });
    // Warm the slab caches so that only page-cache frames are counted below.
    p.close(p.memfdCreate("warm"));
    const base = k.stats().freeFrames;
    const fd = p.memfdCreate("big");
    const chunk = new Uint8Array(PAGE).fill(0xab);
    let n = 0;
    let err: unknown = null;
    try {
      // Sparse offsets force several radix levels.
      for (;; n++) p.pwrite(fd, chunk, n * 1024 * PAGE + (n % 3) * PAGE);
    } catch (e) {
      err = e;
    }
    expectNotTrap(err);
    expect((err as SystemError).code).toBe("ENOMEM");
    expect(n).toBeGreaterThan(100);
    expect(p.fstat(fd).blocks).toBe(BigInt(n * 8));
    expect(k.checkInvariants()).toBe(true);
    p.close(fd);
    expect(k.stats().freeFrames).toBe(base);
    expect(k.stats().inodes).toBe(0);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("page-cache index under memory pressure", () => {
  // A memfd with pages at 0 and 4 GiB has a three-level index; a page at 8 GiB needs the
  // page itself, a new middle node and a new leaf node. With 1, 2 or 3 frames left the
  // write fails at a different allocation each time (or succeeds): whatever happened, closing
  // the memfd must give every frame back.
  it.each([1, 2, 3, 4])("a write that fails with %d free frame(s) leaks no index node", async (leave) => {
    const { k, p } = await boot({ memoryBytes: 8 * MiB });
    p.close(p.memfdCreate("warm"));
    const len = 64 * MiB;
    const a = p.mmap(0, len, RW, ANON);
    p.munmap(a, len);
    const base = k.stats().freeFrames;
    const fd = p.memfdCreate("x");
    p.pwrite(fd, new Uint8Array([1]), 0);
    p.pwrite(fd, new Uint8Array([2]), 2 ** 32);
    const b = p.mmap(0, len, RW, ANON);
    for (let i = 0; k.stats().freeFrames > leave; i++) p.thread.store8(b + i * PAGE, 1);
    expect(k.stats().freeFrames).toBe(leave);
    let ok = true;
    try {
      p.pwrite(fd, new Uint8Array([3]), 2 ** 33);
    } catch (e) {
      expectNotTrap(e);
      expect((e as SystemError).code).toBe("ENOMEM");
      ok = false;
    }
    expect(ok).toBe(leave >= 3);
    expect(k.checkInvariants()).toBe(true);
    p.munmap(b, len);
    // The file is intact either way.
    expect(p.pread(fd, 1, 0)[0]).toBe(1);
    expect(p.pread(fd, 1, 2 ** 32)[0]).toBe(2);
    // A failed write leaves the size alone: nothing to read at 8 GiB then.
    expect(p.fstat(fd).size).toBe(ok ? 2n ** 33n + 1n : 2n ** 32n + 1n);
    expect(Array.from(p.pread(fd, 1, 2 ** 33))).toEqual(ok ? [3] : []);
    expect(p.fstat(fd).blocks).toBe(ok ? 24n : 16n);
    p.close(fd);
    expect(k.stats().freeFrames).toBe(base);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("lazy allocation", () => {
  it("maps a region far larger than memory without using frames; touching pages uses one each", async () => {
    const { k, p } = await boot({ memoryBytes: 8 * MiB });
    p.munmap(p.mmap(0, PAGE, RW, ANON), PAGE); // warm the VMA cache
    const before = k.stats().freeFrames;
    const len = 2 ** 40; // 1 TiB
    const a = p.mmap(0, len, RW, ANON);
    expect(a % PAGE).toBe(0);
    expect(k.stats().freeFrames).toBe(before);
    const v = p.vmas();
    expect(v).toHaveLength(1);
    expect(v[0].end - v[0].start).toBe(len);
    expect(v[0].rss).toBe(0);
    // Touch pages spread over the whole range: each costs its page plus (new) page tables.
    const offs = [0, PAGE, 2 ** 21, 2 ** 30, 2 ** 39, len - PAGE];
    for (const o of offs) p.thread.store32(a + o, o / PAGE);
    for (const o of offs) expect(p.thread.load32(a + o)).toBe(o / PAGE);
    const used = before - k.stats().freeFrames;
    expect(used).toBeGreaterThanOrEqual(offs.length);
    expect(used).toBeLessThan(offs.length * 4);
    expect(p.vmas()[0].rss).toBe(offs.length);
    expect(k.checkInvariants()).toBe(true);
    p.munmap(a, len);
    expect(k.stats().freeFrames).toBe(before);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a huge shared anonymous mapping and a huge sparse memfd are lazy too", async () => {
    const { k, p } = await boot({ memoryBytes: 8 * MiB });
    const fd = p.memfdCreate("sparse");
    p.close(p.memfdCreate("warm"));
    p.munmap(p.mmap(0, PAGE, RW, A.MAP_SHARED | A.MAP_ANONYMOUS), PAGE);
    const before = k.stats().freeFrames;
    const len = 2 ** 36; // 64 GiB
    p.ftruncate(fd, len);
    expect(k.stats().freeFrames).toBe(before);
    const m = p.mmap(0, len, RW, A.MAP_SHARED, fd, 0);
    const s = p.mmap(0, len, RW, A.MAP_SHARED | A.MAP_ANONYMOUS);
    expect(before - k.stats().freeFrames).toBeLessThanOrEqual(1); // at most a slab frame
    p.thread.store32(m + len - PAGE, 1);
    p.thread.store32(s + len - PAGE, 2);
    expect(p.fstat(fd).blocks).toBe(8n);
    expect(p.pread(fd, 4, len - PAGE)).toEqual(new Uint8Array([1, 0, 0, 0]));
    expect(k.checkInvariants()).toBe(true);
    p.munmap(m, len);
    p.munmap(s, len);
    p.close(fd);
    expect(k.stats().freeFrames).toBe(before);
    expect(k.stats().inodes).toBe(0);
    expect(k.checkInvariants()).toBe(true);
  });
});

function expectErrnoIs(fn: () => unknown, code: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expectNotTrap(err);
  expect(err, `expected ${code}`).toBeInstanceOf(SystemError);
  expect((err as SystemError).code).toBe(code);
}
