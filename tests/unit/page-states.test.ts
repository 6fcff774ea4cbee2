// Process.pageStates (the proc_page_states export): one state byte per page — none, zero page,
// present, in the page cache only, uffd-wp (PTE or marker), poisoned — read in bulk without faulting.
import { describe, it, expect } from "vitest";
import { boot, A, PAGE, RW, ANON } from "../helpers/kernel.js";

const { PAGE_STATE_NONE: NONE, PAGE_STATE_ZERO: ZERO, PAGE_STATE_PRESENT: PRESENT, PAGE_STATE_CACHED: CACHED,
  PAGE_STATE_WP: WP, PAGE_STATE_POISONED: POISONED } = A;

describe("Process.pageStates", () => {
  it("anonymous memory: none, the zero page, present, uffd-wp, poisoned", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 8 * PAGE, RW, ANON);
    p.thread.load8(a + PAGE);                  // read fault: the zero page
    p.thread.store8(a + 2 * PAGE, 1);          // write fault: a page
    p.thread.store8(a + 3 * PAGE, 1);
    const uffd = p.userfaultfd(A.UFFD_USER_MODE_ONLY);
    uffd.api();
    uffd.register(a, 8 * PAGE, A.UFFDIO_REGISTER_MODE_MISSING | A.UFFDIO_REGISTER_MODE_WP);
    uffd.writeProtect(a + 3 * PAGE, PAGE, A.UFFDIO_WRITEPROTECT_MODE_WP);
    uffd.poison(a + 4 * PAGE, PAGE);
    expect([...p.pageStates(a, 8)]).toEqual([NONE, ZERO, PRESENT, WP, POISONED, NONE, NONE, NONE]);
    expect(k.stats().faults).toBe(3);          // the view itself never faults
    expect(p.pageStates(a, 0).length).toBe(0);
  });

  it("shmem: a page only in the page cache is CACHED in a mapping that has no PTE for it", async () => {
    const { p } = await boot();
    const fd = p.memfdCreate("m");
    p.ftruncate(fd, 4 * PAGE);
    const a = p.mmap(0, 4 * PAGE, RW, A.MAP_SHARED, fd, 0);
    const b = p.mmap(0, 4 * PAGE, RW, A.MAP_SHARED, fd, 0);
    p.thread.store8(a + PAGE, 7);              // in the cache, mapped in a only
    p.thread.load8(b + 2 * PAGE);              // a shmem read fault allocates a page (no zero page for files)
    expect([...p.pageStates(a, 4)]).toEqual([NONE, PRESENT, CACHED, NONE]);
    expect([...p.pageStates(b, 4)]).toEqual([NONE, CACHED, PRESENT, NONE]);
    // uffd-wp markers on a file mapping's empty PTEs (UFFDIO_WRITEPROTECT over the range).
    const uffd = p.userfaultfd(A.UFFD_USER_MODE_ONLY);
    uffd.api();
    uffd.register(b, 4 * PAGE, A.UFFDIO_REGISTER_MODE_WP);
    uffd.writeProtect(b, 4 * PAGE, A.UFFDIO_WRITEPROTECT_MODE_WP);
    expect([...p.pageStates(b, 4)]).toEqual([WP, WP, WP, WP]);
  });

  it("spans more than one bounce page of states, and checks its arguments", async () => {
    const { p } = await boot();
    const n = A.BOUNCE_SIZE + 10;
    const a = p.mmap(0, n * PAGE, RW, ANON);
    p.thread.store8(a + (n - 1) * PAGE, 1);
    const st = p.pageStates(a, n);
    expect(st.length).toBe(n);
    expect(st[n - 1]).toBe(PRESENT);
    expect(st.subarray(0, n - 1).every((s) => s === NONE)).toBe(true);
    expect(() => p.pageStates(a + 1, 1)).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(() => p.pageStates(a, -1)).toThrow(RangeError);
  });
});
