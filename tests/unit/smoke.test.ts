import { describe, it, expect } from "vitest";
import { boot, RW, ANON, PAGE, A, expectSignal, expectErrno } from "../helpers/kernel.js";

describe("smoke", () => {
  it("maps anonymous memory, faults it in, forks copy-on-write", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 4 * PAGE, RW, ANON);
    expect(p.thread.load32(a)).toBe(0);
    p.thread.store32(a, 0xdeadbeef);
    const c = p.fork();
    c.thread.store32(a, 7);
    expect(p.thread.load32(a)).toBe(0xdeadbeef);
    expect(c.thread.load32(a)).toBe(7);
    expect(k.checkInvariants()).toBe(true);
    p.mprotect(a, PAGE, A.PROT_READ);
    expectSignal(() => p.thread.store8(a, 1), "SIGSEGV");
    c.exit();
    p.exit();
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("kernel counters", () => {
  it("slabCaches counts live objects per slab cache: a memfd is one file and one inode until closed", async () => {
    const { k, p } = await boot();
    const before = k.slabCaches();
    expect(Object.keys(before)).toEqual(["vma", "mm", "file", "inode", "files", "uffd_ctx", "small", "uffd_event"]);
    const fd = p.memfdCreate("x");
    const u = p.userfaultfd(A.UFFD_USER_MODE_ONLY);
    const open = k.slabCaches();
    expect(open.file - before.file).toBe(2);
    expect(open.inode - before.inode).toBe(1);
    expect(open.uffd_ctx - before.uffd_ctx).toBe(1);
    p.close(fd);
    u.close();
    expect(k.slabCaches()).toEqual(before);
    p.exit();
    expect(k.slabCaches().mm).toBe(before.mm - 1);
  });
});

describe("open /proc/self/fd/N", () => {
  it("reopens a memfd read-only: a shared writable mapping is EACCES, reads work", async () => {
    const { k, p } = await boot();
    const fd = p.memfdCreate("x");
    p.ftruncate(fd, PAGE);
    p.pwrite(fd, new Uint8Array([7]), 0);
    const ro = p.open(`/proc/self/fd/${fd}`, A.O_RDONLY);
    expect(ro).not.toBe(fd);
    expectErrno(() => p.mmap(0, PAGE, RW, A.MAP_SHARED, ro, 0), "EACCES");
    const m = p.mmap(0, PAGE, A.PROT_READ, A.MAP_SHARED, ro, 0);
    expect(p.thread.load8(m)).toBe(7);
    expectErrno(() => p.mprotect(m, PAGE, RW), "EACCES");
    expectErrno(() => p.ftruncate(ro, 0), "EINVAL");
    expectErrno(() => p.open("/etc/passwd"), "ENOENT");
    expectErrno(() => p.open(`/proc/self/fd/999`), "ENOENT");
    expect(k.checkInvariants()).toBe(true);
  });
});
