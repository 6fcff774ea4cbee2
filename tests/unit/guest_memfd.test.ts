// The guest_memfd file without userfaultfd (virt/kvm/guest_memfd.c): creation, mmap, the user-mapping
// fault, fallocate and the file operations, as measured on Linux 6.18 (the reference wherever the
// guest_memfd userfaultfd series changes nothing).
import { describe, it, expect } from "vitest";
import { A, PAGE, RW, expectErrno, expectSignal } from "../helpers/kernel.js";
import { bootVm, gmem, errno, MMAP, INIT_SHARED, SHARED } from "../helpers/kvm.js";

const KEEP = A.FALLOC_FL_KEEP_SIZE;
const PUNCH = A.FALLOC_FL_PUNCH_HOLE | A.FALLOC_FL_KEEP_SIZE;

describe("mmap", () => {
  it("without MMAP (flags 0, or INIT_SHARED alone): ENODEV; MAP_PRIVATE: ENODEV before EINVAL", async () => {
    const { vm } = await bootVm();
    for (const f of [0, INIT_SHARED]) {
      const g = gmem(vm, 4, f);
      expectErrno(() => g.mmap(PAGE), "ENODEV");
      expectErrno(() => g.mmap(4 * PAGE), "ENODEV");
      expectErrno(() => g.mmap(PAGE, RW, 0, A.MAP_PRIVATE), "ENODEV");
      expectErrno(() => g.mmap(PAGE, A.PROT_NONE), "ENODEV");
    }
  });

  it("with MMAP: MAP_PRIVATE is EINVAL; MAP_SHARED_VALIDATE and read-only mappings work", async () => {
    const { vm } = await bootVm();
    const g = gmem(vm, 4, SHARED);
    expectErrno(() => g.mmap(PAGE, RW, 0, A.MAP_PRIVATE), "EINVAL");
    expectErrno(() => g.mmap(PAGE, A.PROT_READ, 0, A.MAP_PRIVATE), "EINVAL");
    expect(g.mmap(PAGE, RW, 0, A.MAP_SHARED_VALIDATE)).toBeGreaterThan(0);
    expect(g.mmap(PAGE, A.PROT_READ)).toBeGreaterThan(0);
  });

  it("PROT_EXEC → EPERM (even before ENODEV); mprotect adding PROT_EXEC → EACCES", async () => {
    const { p, vm } = await bootVm();
    const g = gmem(vm, 4, SHARED);
    expectErrno(() => g.mmap(PAGE, RW | A.PROT_EXEC), "EPERM");
    expectErrno(() => g.mmap(PAGE, RW | A.PROT_EXEC, 0, A.MAP_PRIVATE), "EPERM");
    expectErrno(() => gmem(vm, 1, 0).mmap(PAGE, RW | A.PROT_EXEC), "EPERM");
    const a = g.mmap(PAGE);
    expectErrno(() => p.mprotect(a, PAGE, RW | A.PROT_EXEC), "EACCES");
    expectErrno(() => p.mprotect(a, PAGE, A.PROT_EXEC), "EACCES");
    p.mprotect(a, PAGE, A.PROT_READ);
    p.mprotect(a, PAGE, A.PROT_NONE);
  });

  it("MMAP|INIT_SHARED: first read is 0; reads and writes work; the pages are shared between mappings", async () => {
    const { p, vm } = await bootVm();
    const g = gmem(vm, 4, SHARED);
    const a = g.mmap(4 * PAGE);
    const b = g.mmap(4 * PAGE);
    expect(p.thread.load32(a + 3 * PAGE)).toBe(0);
    p.thread.fill(a, 0xaa, 4 * PAGE);
    expect(p.thread.read(b, 4 * PAGE).every((x) => x === 0xaa)).toBe(true);
  });

  it("MMAP without INIT_SHARED: read, write, and read after fallocate all SIGBUS", async () => {
    const { p, vm } = await bootVm();
    const g = gmem(vm, 4, MMAP);
    const a = g.mmap(4 * PAGE);
    expectSignal(() => p.thread.load8(a), "SIGBUS");
    expectSignal(() => p.thread.store8(a + PAGE, 1), "SIGBUS");
    g.allocate(0, PAGE);
    expectSignal(() => p.thread.load8(a), "SIGBUS");
  });

  it("a mapping twice the size: at/after EOF SIGBUS, below it intact; a mapping at an offset beyond the size SIGBUSes", async () => {
    const { p, vm } = await bootVm();
    const g = gmem(vm, 4, SHARED);
    const a = g.mmap(8 * PAGE);
    p.thread.fill(a, 0x11, 4 * PAGE);
    const e = expectSignal(() => p.thread.load8(a + 4 * PAGE), "SIGBUS");
    expect(e.si_code).toBe(A.BUS_ADRERR);
    expectSignal(() => p.thread.store8(a + 7 * PAGE, 1), "SIGBUS");
    expect(p.thread.load8(a + 4 * PAGE - 1)).toBe(0x11);
    const b = g.mmap(PAGE, RW, 8 * PAGE);
    expectSignal(() => p.thread.load8(b), "SIGBUS");
  });

  it("madvise: DONTNEED keeps the page cached (old contents), REMOVE punches it, HUGEPAGE 0, COLLAPSE EINVAL, FREE EINVAL", async () => {
    const { k, p, vm } = await bootVm();
    const g = gmem(vm, 4, SHARED);
    const a = g.mmap(4 * PAGE);
    p.thread.fill(a, 0xaa, 4 * PAGE);
    p.madvise(a, PAGE, A.MADV_DONTNEED);
    expect(p.thread.load8(a)).toBe(0xaa);
    p.madvise(a + PAGE, PAGE, A.MADV_REMOVE);
    expect(p.thread.load8(a + PAGE)).toBe(0);
    expect(p.thread.load8(a + 2 * PAGE)).toBe(0xaa);
    p.madvise(a, 4 * PAGE, A.MADV_HUGEPAGE);
    expectErrno(() => p.madvise(a, 4 * PAGE, A.MADV_COLLAPSE), "EINVAL");
    expectErrno(() => p.madvise(a, PAGE, A.MADV_FREE), "EINVAL");
    k.checkInvariants();
  });
});

describe("fallocate", () => {
  it("mode rules: KEEP_SIZE required; only KEEP_SIZE and PUNCH_HOLE; vfs checks first", async () => {
    const { p, vm } = await bootVm();
    const g = gmem(vm, 4, SHARED);
    const fa = (mode: number, off: number | bigint, len: number | bigint) => p.syscall(A.__NR_fallocate, g.fd, mode, off, len);
    expect(fa(0, 0, PAGE)).toBe(errno("EOPNOTSUPP"));
    expect(fa(A.FALLOC_FL_PUNCH_HOLE, 0, PAGE)).toBe(errno("EOPNOTSUPP"));
    expect(fa(A.FALLOC_FL_ZERO_RANGE | KEEP, 0, PAGE)).toBe(errno("EOPNOTSUPP"));
    expect(fa(A.FALLOC_FL_ZERO_RANGE, 0, PAGE)).toBe(errno("EOPNOTSUPP"));
    expect(fa(A.FALLOC_FL_COLLAPSE_RANGE, 0, PAGE)).toBe(errno("EOPNOTSUPP"));
    expect(fa(A.FALLOC_FL_INSERT_RANGE, 0, PAGE)).toBe(errno("EOPNOTSUPP"));
    expect(fa(KEEP, 0, 0)).toBe(errno("EINVAL"));
    expect(fa(KEEP, -PAGE, PAGE)).toBe(errno("EINVAL"));
    expect(fa(KEEP, 0x7ffffffffffff000n, 0x2000)).toBe(errno("EFBIG"));
    expect(fa(PUNCH, 0x7ffffffffffff000n, 0x2000)).toBe(errno("EFBIG"));
  });

  it("allocate: inside ok; at or straddling EOF, unaligned offset or length: EINVAL; first read is 0; st_blocks stays 0", async () => {
    const { p, vm } = await bootVm();
    const g = gmem(vm, 4, SHARED);
    const fa = (mode: number, off: number, len: number) => p.syscall(A.__NR_fallocate, g.fd, mode, off, len);
    expect(fa(KEEP, 0, PAGE)).toBe(0n);
    expect(fa(KEEP, 4 * PAGE, PAGE)).toBe(errno("EINVAL"));
    expect(fa(KEEP, 3 * PAGE, 2 * PAGE)).toBe(errno("EINVAL"));
    expect(fa(KEEP, 1, PAGE)).toBe(errno("EINVAL"));
    expect(fa(KEEP, 0, PAGE - 1)).toBe(errno("EINVAL"));
    expect(fa(KEEP, 0, 4 * PAGE)).toBe(0n);
    expect(p.fstat(g.fd).blocks).toBe(0n);
    const a = g.mmap(4 * PAGE);
    expect(p.thread.load32(a)).toBe(0);
  });

  it("punch: at/after/straddling EOF succeeds; the misaligned pairs of invalid_punch_hole are EINVAL", async () => {
    const { p, vm } = await bootVm();
    const g = gmem(vm, 4, SHARED);
    const fa = (off: number, len: number) => p.syscall(A.__NR_fallocate, g.fd, PUNCH, off, len);
    expect(fa(4 * PAGE, PAGE)).toBe(0n);
    expect(fa(3 * PAGE, 2 * PAGE)).toBe(0n);
    expect(fa(1 << 30, PAGE)).toBe(0n);
    for (const [o, l] of [[0, 1], [0, PAGE - 1], [0, PAGE + 1], [1, PAGE], [PAGE, 1], [PAGE, PAGE - 1], [PAGE, PAGE + 1]]) {
      expect(fa(o, l)).toBe(errno("EINVAL"));
    }
  });

  it("punching page 0 of a mapped file of 0xaa: page 0 reads 0, the rest 0xaa; page 0 can be rewritten; no block accounting", async () => {
    const { k, p, vm } = await bootVm();
    const g = gmem(vm, 4, SHARED);
    const a = g.mmap(4 * PAGE);
    p.thread.fill(a, 0xaa, 4 * PAGE);
    expect(p.fstat(g.fd).blocks).toBe(0n);
    g.punchHole(0, PAGE);
    expect(p.thread.read(a, PAGE).every((x) => x === 0)).toBe(true);
    expect(p.thread.read(a + PAGE, 3 * PAGE).every((x) => x === 0xaa)).toBe(true);
    p.thread.fill(a, 0x77, PAGE);
    expect(p.thread.load8(a + PAGE - 1)).toBe(0x77);
    expect(p.fstat(g.fd).blocks).toBe(0n);
    k.checkInvariants();
  });

  it("punch zaps every user mapping of the page", async () => {
    const { p, vm } = await bootVm();
    const g = gmem(vm, 2, SHARED);
    const a = g.mmap(2 * PAGE);
    const b = g.mmap(2 * PAGE);
    p.thread.store8(a, 9);
    expect(p.thread.load8(b)).toBe(9);
    g.punchHole(0, 2 * PAGE);
    expect(p.vmas().filter((v) => v.kind === "guest_memfd").map((v) => v.rss)).toEqual([0, 0]);
    expect(p.thread.load8(b)).toBe(0);
  });
});

describe("file operations", () => {
  it("fstat: st_size, st_blksize, regular file 0600, nlink 1; every file has its own st_ino", async () => {
    const { p, vm } = await bootVm();
    const g1 = gmem(vm, 4, 0);
    const g2 = gmem(vm, 2, 0);
    const s1 = p.fstat(g1.fd);
    const s2 = p.fstat(g2.fd);
    expect(s1.size).toBe(16384n);
    expect(s2.size).toBe(8192n);
    expect(s1.blksize).toBe(4096n);
    expect(s1.mode).toBe(A.S_IFREG | 0o600);
    expect(s1.nlink).toBe(1n);
    expect(s1.blocks).toBe(0n);
    expect(s1.ino).not.toBe(s2.ino);
    expect(p.fstat(g1.fd).size).toBe(16384n);
  });

  it("read/write EINVAL (even for 0 bytes or a bad buffer); pread/pwrite/lseek ESPIPE; ftruncate EINVAL; F_GETFL O_RDWR", async () => {
    const { p, vm } = await bootVm();
    for (const f of [0, MMAP, SHARED]) {
      const g = gmem(vm, 4, f);
      expect(p.syscall(A.__NR_read, g.fd, A.HOST_STAGING_BASE, 8)).toBe(errno("EINVAL"));
      expect(p.syscall(A.__NR_write, g.fd, A.HOST_STAGING_BASE, 8)).toBe(errno("EINVAL"));
      expect(p.syscall(A.__NR_read, g.fd, 0, 0)).toBe(errno("EINVAL"));
      expect(p.syscall(A.__NR_write, g.fd, 1, 8)).toBe(errno("EINVAL"));
      expect(p.syscall(A.__NR_pread64, g.fd, A.HOST_STAGING_BASE, 1, 0)).toBe(errno("ESPIPE"));
      expect(p.syscall(A.__NR_pwrite64, g.fd, A.HOST_STAGING_BASE, 1, 0)).toBe(errno("ESPIPE"));
      expect(p.syscall(A.__NR_lseek, g.fd, 0, A.SEEK_SET)).toBe(errno("ESPIPE"));
      expect(p.syscall(A.__NR_ftruncate, g.fd, 0)).toBe(errno("EINVAL"));
      expect(p.syscall(A.__NR_ftruncate, g.fd, 4 * PAGE)).toBe(errno("EINVAL"));
      expect(p.syscall(A.__NR_ftruncate, g.fd, 8 * PAGE)).toBe(errno("EINVAL"));
      expect(p.fcntl(g.fd, A.F_GETFL) & A.O_ACCMODE).toBe(A.O_RDWR);
      expect(p.fcntl(g.fd, A.F_GETFL)).toBe(A.O_RDWR | A.O_LARGEFILE);
      expect(p.fcntl(g.fd, A.F_GETFD)).toBe(0);
      expect(p.syscall(A.__NR_open, p.thread.stage(new TextEncoder().encode(`/proc/self/fd/${g.fd}\0`)), A.O_RDWR, 0)).toBe(errno("ENXIO"));
    }
  });

  it("a mapping keeps the file (and its VM) alive after close; fork shares the pages", async () => {
    const { k, p, vm } = await bootVm();
    const g = gmem(vm, 2, SHARED);
    const a = g.mmap(2 * PAGE);
    g.close();
    vm.close();
    p.thread.store8(a, 5);
    const child = p.fork();
    child.thread.store8(a + 1, 6);
    expect(p.thread.read(a, 2)).toEqual(new Uint8Array([5, 6]));
    child.exit();
    p.munmap(a, 2 * PAGE);
    k.checkInvariants();
  });
});

describe("lseek on memfds (added with guest_memfd's ESPIPE)", () => {
  it("SEEK_SET/CUR/END; SEEK_DATA/SEEK_HOLE over the page cache; ENXIO at EOF; bad whence EINVAL", async () => {
    const { p } = await bootVm();
    const fd = p.memfdCreate("x");
    p.ftruncate(fd, 3 * PAGE);
    p.pwrite(fd, new Uint8Array([1]), PAGE);
    expect(p.lseek(fd, 0, A.SEEK_DATA)).toBe(BigInt(PAGE));
    expect(p.lseek(fd, 0, A.SEEK_HOLE)).toBe(0n);
    expect(p.lseek(fd, PAGE, A.SEEK_HOLE)).toBe(BigInt(2 * PAGE));
    expect(p.syscall(A.__NR_lseek, fd, 5 * PAGE, A.SEEK_DATA)).toBe(errno("ENXIO"));
    expect(p.syscall(A.__NR_lseek, fd, 2 * PAGE, A.SEEK_DATA)).toBe(errno("ENXIO"));
    expect(p.syscall(A.__NR_lseek, fd, -1, A.SEEK_SET)).toBe(errno("EINVAL"));
    expect(p.syscall(A.__NR_lseek, fd, 0, 9)).toBe(errno("EINVAL"));
    expect(p.lseek(fd, 10, A.SEEK_END)).toBe(BigInt(3 * PAGE + 10));
    expect(p.lseek(fd, 10, A.SEEK_CUR)).toBe(BigInt(3 * PAGE + 20));
    const [r] = p.pipe();
    expect(p.syscall(A.__NR_lseek, r, 0, A.SEEK_SET)).toBe(errno("ESPIPE"));
    expect(p.syscall(A.__NR_lseek, r, 0, 5)).toBe(errno("EINVAL")); // whence first
    const uffd = p.userfaultfd(0);
    expect(p.lseek(uffd.fd, 0, A.SEEK_SET)).toBe(0n);
  });
});
