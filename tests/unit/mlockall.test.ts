// mlockall(2) / munlockall(2) (mm/mlock.c): MCL_CURRENT locks and populates every mapping,
// MCL_FUTURE puts the lock in mm->def_flags for every new one, MCL_ONFAULT leaves the pages
// to their faults; a fork's child inherits no lock.
import { describe, it, expect } from "vitest";
import { boot, RW, ANON, PAGE, A, expectErrno } from "../helpers/kernel.js";
import { PM_PRESENT, type Process } from "../../host-ts/index.js";

const LOCK = BigInt(A.VM_LOCKED), ONFAULT = BigInt(A.VM_LOCKONFAULT);
const lockBits = (p: Process, addr: number) => {
  const v = p.vmas().find((x) => x.start <= addr && addr < x.end);
  if (!v) throw new Error(`no VMA at ${addr.toString(16)}`);
  return v.flags & (LOCK | ONFAULT);
};
const rss = (p: Process, addr: number) => p.vmas().find((x) => x.start <= addr && addr < x.end)!.rss;

describe("mlockall", () => {
  it("rejects 0, MCL_ONFAULT alone and unknown bits with EINVAL", async () => {
    const { p } = await boot();
    for (const f of [0, A.MCL_ONFAULT, 8, A.MCL_CURRENT | 8, 0x80000000]) expectErrno(() => p.mlockall(f), "EINVAL");
  });

  it("MCL_CURRENT locks and populates every mapping (PROT_NONE ones stay empty), not later ones", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 4 * PAGE, RW, ANON);
    const n = p.mmap(0, 2 * PAGE, A.PROT_NONE, ANON);
    p.mlockall(A.MCL_CURRENT);
    expect(lockBits(p, a)).toBe(LOCK);
    expect(rss(p, a)).toBe(4);
    expect(lockBits(p, n)).toBe(LOCK);
    expect(rss(p, n)).toBe(0);
    expectErrno(() => p.madvise(a, PAGE, A.MADV_DONTNEED), "EINVAL");
    const b = p.mmap(0, PAGE, RW, ANON);
    expect(lockBits(p, b)).toBe(0n);
    expect(rss(p, b)).toBe(0);
    expect(k.checkInvariants()).toBe(true);
  });

  it("MCL_FUTURE: new mappings are locked and populated; MCL_ONFAULT: locked, not populated (even MAP_POPULATE)", async () => {
    const { k, p } = await boot();
    const old = p.mmap(0, PAGE, RW, ANON);
    p.mlockall(A.MCL_FUTURE);
    expect(lockBits(p, old)).toBe(0n);
    const a = p.mmap(0, 3 * PAGE, RW, ANON);
    expect(lockBits(p, a)).toBe(LOCK);
    expect(rss(p, a)).toBe(3);
    p.mlockall(A.MCL_FUTURE | A.MCL_ONFAULT);
    const b = p.mmap(0, 2 * PAGE, RW, ANON | A.MAP_POPULATE);
    expect(lockBits(p, b)).toBe(LOCK | ONFAULT);
    expect(rss(p, b)).toBe(0);
    expect(lockBits(p, a)).toBe(LOCK); // only new mappings change
    p.mlockall(A.MCL_CURRENT | A.MCL_ONFAULT); // no MCL_FUTURE: def_flags cleared, all VMAs lock-on-fault
    expect(lockBits(p, old)).toBe(LOCK | ONFAULT);
    expect(lockBits(p, p.mmap(0, PAGE, RW, ANON))).toBe(0n);
    expect(k.checkInvariants()).toBe(true);
  });

  it("munlockall unlocks everything and ends MCL_FUTURE", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    p.mlockall(A.MCL_CURRENT | A.MCL_FUTURE);
    p.munlockall();
    expect(lockBits(p, a)).toBe(0n);
    const b = p.mmap(0, PAGE, RW, ANON);
    expect(lockBits(p, b)).toBe(0n);
    expect(p.pagemap(b) & PM_PRESENT).toBe(0n);
    p.madvise(a, 2 * PAGE, A.MADV_DONTNEED);
    expect(k.checkInvariants()).toBe(true);
  });

  it("locking a whole VMA merges it with a locked neighbour, as mlock_fixup does", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    p.mlock(a, PAGE); // two VMAs: locked and not
    expect(p.vmas().length).toBe(2);
    p.mlockall(A.MCL_CURRENT);
    expect(p.vmas().length).toBe(1);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a fork's child inherits neither locked VMAs nor MCL_FUTURE", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, PAGE, RW, ANON);
    p.mlockall(A.MCL_CURRENT | A.MCL_FUTURE);
    const c = p.fork();
    expect(lockBits(c, a)).toBe(0n);
    c.madvise(a, PAGE, A.MADV_DONTNEED);
    const b = c.mmap(0, PAGE, RW, ANON);
    expect(lockBits(c, b)).toBe(0n);
    expect(lockBits(p, a)).toBe(LOCK);
    c.exit();
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("/proc/<pid>/maps after the main thread's exit", () => {
  it("reads empty while other threads live (the zombie leader has no mm); a live thread's view shows the mappings", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, PAGE, RW, ANON);
    const t = p.newThread();
    p.thread.syscall(A.__NR_exit, 0);
    expect(p.maps()).toBe("");
    expect(p.vmas()).toEqual([]);
    expect(p.vmas(t).map((v) => v.start)).toEqual([a]);
    expect(p.maps(t)).toContain(a.toString(16));
    t.syscall(A.__NR_exit, 0); // the last thread: the group is gone
    expect(() => p.maps()).toThrow(/no address space/);
    expect(k.checkInvariants()).toBe(true);
  });
});
