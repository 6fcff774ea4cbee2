// Kernel.boot({ zeroPage: false }): Linux's mm_forbids_zeropage(), as on hosts booted with the zero
// page off. A read fault of private anonymous memory allocates a page and the VMA's anon_vma (so
// later VMA merges follow the anon_vma rules), and UFFDIO_ZEROPAGE installs a zeroed page.
import { describe, it, expect } from "vitest";
import { Kernel } from "../../host-ts/index.js";
import { boot, RW, ANON, PAGE, A } from "../helpers/kernel.js";

describe("zeroPage: false (mm_forbids_zeropage)", () => {
  for (const zeroPage of [true, false]) {
    it(`zeroPage ${zeroPage}: a read fault ${zeroPage ? "maps the zero page" : "allocates a writable page"}`, async () => {
      const { k, p } = await boot({ zeroPage });
      const a = p.mmap(0, 4 * PAGE, RW, ANON);
      p.thread.store8(a, 1); // page tables for the region
      const free = k.stats().freeFrames;
      expect(p.thread.load32(a + PAGE)).toBe(0);
      expect(p.thread.load32(a + 2 * PAGE)).toBe(0);
      expect(k.stats().freeFrames).toBe(zeroPage ? free : free - 2);
      expect(p.thread.translate(a + PAGE) === p.thread.translate(a + 2 * PAGE)).toBe(zeroPage);
      // The write after the read: a copy-on-write fault from the zero page, or none at all.
      const faults = k.stats().faults;
      p.thread.store32(a + PAGE, 0xabcd);
      expect(k.stats().faults - faults).toBe(zeroPage ? 1 : 0);
      expect(p.thread.load32(a + PAGE)).toBe(0xabcd);
      expect(p.thread.load32(a + 2 * PAGE)).toBe(0);
      expect(k.checkInvariants()).toBe(true);
    });

    it(`zeroPage ${zeroPage}: the read-faulted VMA ${zeroPage ? "has no anon_vma and merges" : "has an anon_vma and does not merge"} after mremap(DONTUNMAP) onto its neighbour`, async () => {
      const { k, p } = await boot({ zeroPage });
      const a = p.mmap(0, 2 * PAGE, RW, ANON);
      p.thread.load8(a);
      const b = p.mremap(a, PAGE, PAGE, A.MREMAP_MAYMOVE | A.MREMAP_FIXED | A.MREMAP_DONTUNMAP, a + PAGE);
      expect(b).toBe(a + PAGE);
      // Stock Linux: [a, a+2 pages) again. With the zero page off the moved VMA keeps its anon_vma
      // and page offset, so it cannot merge with the emptied source.
      const vmas = p.vmas().filter((v) => v.start >= a && v.end <= a + 2 * PAGE);
      expect(vmas.length).toBe(zeroPage ? 1 : 2);
      expect(k.checkInvariants()).toBe(true);
    });

    it(`zeroPage ${zeroPage}: UFFDIO_ZEROPAGE ${zeroPage ? "maps the zero page" : "installs a zeroed page"}`, async () => {
      const { k, p } = await boot({ zeroPage });
      const a = p.mmap(0, 4 * PAGE, RW, ANON);
      p.thread.store8(a, 1);
      const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
      uffd.api();
      uffd.register(a + PAGE, 2 * PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
      const free = k.stats().freeFrames;
      expect(uffd.zeropage(a + PAGE, 2 * PAGE)).toBe(BigInt(2 * PAGE));
      expect(k.stats().freeFrames).toBe(zeroPage ? free : free - 2);
      expect(p.thread.load32(a + PAGE)).toBe(0);
      p.thread.store8(a + 2 * PAGE, 7);
      expect(p.thread.load8(a + 2 * PAGE)).toBe(7);
      uffd.close();
      expect(k.checkInvariants()).toBe(true);
    });
  }

  it("rejects a non-boolean zeroPage", async () => {
    await expect(Kernel.boot({ memoryBytes: 16 << 20, zeroPage: 0 as unknown as boolean })).rejects.toThrow(TypeError);
  });
});
