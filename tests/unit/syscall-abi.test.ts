// The system-call ABI: how each register is narrowed (Linux's SYSCALL_DEFINE parameter types),
// the system-call number (the low 32 bits of rax), and the registers the host accepts.
import { describe, it, expect } from "vitest";
import { boot, RW, ANON, PAGE, A, rawErrno } from "../helpers/kernel.js";
import type { Kernel, Process } from "../../host-ts/index.js";

type Kind = "int" | "uint" | "umode";
/** A call set up in a fresh process: its registers, which of them are narrowed and how, and what to observe after. */
interface Call { nr: number; args: bigint[]; narrow: [number, Kind][]; observe?: () => unknown }

const enc = new TextEncoder();
const u64 = (v: number | bigint) => BigInt.asUintN(64, BigInt(v));
const G = [0xdeadbeefn, 0xffffffffn, 1n]; // garbage upper halves

/** The same register with garbage above the bits the parameter's type keeps. */
function garble(v: bigint, kind: Kind, g: bigint): bigint {
  if (kind === "umode") return u64((g << 16n) | (v & 0xffffn));
  return u64((g << 32n) | (v & 0xffffffffn));
}

function memfd(p: Process, size = 2 * PAGE): number {
  const fd = p.memfdCreate("w", A.MFD_ALLOW_SEALING);
  p.ftruncate(fd, size);
  p.pwrite(fd, new Uint8Array([1, 2, 3, 4]), 0);
  return fd;
}
function userBuf(p: Process, bytes?: Uint8Array): number {
  const a = p.mmap(0, PAGE, RW, ANON);
  if (bytes) p.thread.write(a, bytes);
  return a;
}
const cstr = (s: string) => enc.encode(s + "\0");

// Every syscall uffdlab implements with an int / unsigned int / umode_t parameter, that parameter's index and type.
const CASES: [string, (p: Process) => Call][] = [
  ["read(unsigned int fd)", (p) => { const fd = memfd(p); const b = userBuf(p); return { nr: A.__NR_read, args: [u64(fd), u64(b), 16n], narrow: [[0, "uint"]], observe: () => p.thread.read(b, 4) }; }],
  ["write(unsigned int fd)", (p) => { const fd = memfd(p); const b = userBuf(p, new Uint8Array([9, 9])); return { nr: A.__NR_write, args: [u64(fd), u64(b), 2n], narrow: [[0, "uint"]], observe: () => p.pread(fd, 4, 0) }; }],
  ["lseek(unsigned int fd, off_t, unsigned int whence)", (p) => { const fd = memfd(p); return { nr: A.__NR_lseek, args: [u64(fd), 16n, u64(A.SEEK_END)], narrow: [[0, "uint"], [2, "uint"]] }; }],
  ["open(path, int flags, umode_t mode)", (p) => { const fd = memfd(p); const b = userBuf(p, cstr(`/proc/self/fd/${fd}`)); return { nr: A.__NR_open, args: [u64(b), u64(A.O_RDONLY | A.O_CLOEXEC), 0o600n], narrow: [[1, "int"], [2, "umode"]], observe: () => p.syscall(A.__NR_fcntl, 4, A.F_GETFD) }; }],
  ["openat(int dfd, path, int flags, umode_t mode)", (p) => { const fd = memfd(p); const b = userBuf(p, cstr(`/proc/self/fd/${fd}`)); return { nr: A.__NR_openat, args: [u64(-100), u64(b), u64(A.O_RDWR), 0n], narrow: [[0, "int"], [2, "int"], [3, "umode"]] }; }],
  ["close(unsigned int fd)", (p) => { const fd = memfd(p); return { nr: A.__NR_close, args: [u64(fd)], narrow: [[0, "uint"]], observe: () => p.syscall(A.__NR_fcntl, fd, A.F_GETFD) }; }],
  ["fstat(unsigned int fd)", (p) => { const fd = memfd(p); const b = userBuf(p); return { nr: A.__NR_fstat, args: [u64(fd), u64(b)], narrow: [[0, "uint"]], observe: () => p.thread.read(b + A.stat.st_size, 8) }; }],
  ["mmap(..., unsigned long fd) through fget(unsigned int)", (p) => { const fd = memfd(p); return { nr: A.__NR_mmap, args: [0n, u64(PAGE), u64(RW), u64(A.MAP_SHARED), u64(fd), 0n], narrow: [[4, "uint"]], observe: () => p.vmas().map((v) => [v.start, v.end, v.flags, v.kind, v.path]) }; }],
  ["pread64(unsigned int fd)", (p) => { const fd = memfd(p); const b = userBuf(p); return { nr: A.__NR_pread64, args: [u64(fd), u64(b), 8n, 1n], narrow: [[0, "uint"]], observe: () => p.thread.read(b, 4) }; }],
  ["pwrite64(unsigned int fd)", (p) => { const fd = memfd(p); const b = userBuf(p, new Uint8Array([7])); return { nr: A.__NR_pwrite64, args: [u64(fd), u64(b), 1n, 5n], narrow: [[0, "uint"]], observe: () => p.pread(fd, 8, 0) }; }],
  ["pipe2(fds, int flags)", (p) => { const b = userBuf(p); return { nr: A.__NR_pipe2, args: [u64(b), u64(A.O_NONBLOCK)], narrow: [[1, "int"]], observe: () => p.syscall(A.__NR_fcntl, 0, A.F_GETFL) }; }],
  ["madvise(start, len, int behavior)", (p) => { const a = userBuf(p, new Uint8Array([5])); return { nr: A.__NR_madvise, args: [u64(a), u64(PAGE), u64(A.MADV_DONTNEED)], narrow: [[2, "int"]], observe: () => p.thread.load8(a) }; }],
  ["dup(unsigned int fildes)", (p) => { const fd = memfd(p); return { nr: A.__NR_dup, args: [u64(fd)], narrow: [[0, "uint"]] }; }],
  ["mlock2(start, len, int flags)", (p) => { const a = userBuf(p); return { nr: A.__NR_mlock2, args: [u64(a), u64(PAGE), u64(A.MLOCK_ONFAULT)], narrow: [[2, "int"]], observe: () => p.vmas().map((v) => v.flags) }; }],
  ["mlockall(int flags)", (p) => { userBuf(p); return { nr: A.__NR_mlockall, args: [u64(A.MCL_CURRENT | A.MCL_ONFAULT)], narrow: [[0, "int"]], observe: () => p.vmas().map((v) => v.flags) }; }],
  ["poll(fds, unsigned int nfds, int timeout)", (p) => {
    const [r, w] = p.pipe();
    p.write(w, new Uint8Array([1]));
    const pfd = new Uint8Array(16);
    const dv = new DataView(pfd.buffer);
    dv.setInt32(0, r, true); dv.setInt16(4, A.POLLIN, true); dv.setInt32(8, w, true); dv.setInt16(12, A.POLLOUT, true);
    const b = userBuf(p, pfd);
    return { nr: A.__NR_poll, args: [u64(b), 2n, 0n], narrow: [[1, "uint"], [2, "int"]], observe: () => p.thread.read(b, 16) };
  }],
  ["ioctl(unsigned int fd, unsigned int cmd)", (p) => {
    const u = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    const b = userBuf(p);
    p.thread.store64(b, BigInt(A.UFFD_API));
    return { nr: A.__NR_ioctl, args: [u64(u.fd), u64(A.UFFDIO_API), u64(b)], narrow: [[0, "uint"], [1, "uint"]], observe: () => p.thread.read(b, 24) };
  }],
  ["userfaultfd(int flags)", (p) => ({ nr: A.__NR_userfaultfd, args: [u64(A.O_NONBLOCK | A.O_CLOEXEC | A.UFFD_USER_MODE_ONLY)], narrow: [[0, "int"]], observe: () => [p.syscall(A.__NR_fcntl, 0, A.F_GETFL), p.syscall(A.__NR_fcntl, 0, A.F_GETFD)] })],
  ["fcntl(unsigned int fd, unsigned int cmd, F_DUPFD's int)", (p) => { const fd = memfd(p); return { nr: A.__NR_fcntl, args: [u64(fd), u64(A.F_DUPFD), 7n], narrow: [[0, "uint"], [1, "uint"], [2, "int"]] }; }],
  ["fcntl(F_ADD_SEALS's int)", (p) => { const fd = memfd(p); return { nr: A.__NR_fcntl, args: [u64(fd), u64(A.F_ADD_SEALS), u64(A.F_SEAL_GROW)], narrow: [[2, "int"]], observe: () => p.syscall(A.__NR_fcntl, fd, A.F_GET_SEALS) }; }],
  ["ftruncate(unsigned int fd, off_t)", (p) => { const fd = memfd(p); return { nr: A.__NR_ftruncate, args: [u64(fd), 100n], narrow: [[0, "uint"]], observe: () => p.fstat(fd).size }; }],
  ["fallocate(int fd, int mode, loff_t, loff_t)", (p) => { const fd = memfd(p); return { nr: A.__NR_fallocate, args: [u64(fd), u64(A.FALLOC_FL_PUNCH_HOLE | A.FALLOC_FL_KEEP_SIZE), 0n, u64(PAGE)], narrow: [[0, "int"], [1, "int"]], observe: () => p.pread(fd, 4, 0) }; }],
  ["memfd_create(name, unsigned int flags)", (p) => { const b = userBuf(p, cstr("m")); return { nr: A.__NR_memfd_create, args: [u64(b), u64(A.MFD_CLOEXEC | A.MFD_ALLOW_SEALING)], narrow: [[1, "uint"]], observe: () => p.syscall(A.__NR_fcntl, 0, A.F_GETFD) }; }],
];

/** The result and the observation of one call in a fresh process. */
function run(k: Kernel, make: (p: Process) => Call, edit?: (args: bigint[]) => void): [string | bigint, unknown] {
  const p = k.spawn();
  try {
    const c = make(p);
    const args = [...c.args];
    edit?.(args);
    const r = rawErrno(p.syscall(c.nr, ...args));
    return [r, c.observe?.()];
  } finally {
    p.exit();
  }
}

describe("argument widths (SYSCALL_DEFINE types)", () => {
  it.each(CASES)("%s: a garbage upper half gives the clean value's result", async (_name, make) => {
    const { k } = await boot();
    const clean = run(k, make);
    const narrow = make(k.spawn()).narrow;
    expect(narrow.length).toBeGreaterThan(0);
    for (const [i, kind] of narrow) {
      for (const g of G) {
        const got = run(k, make, (args) => { args[i] = garble(args[i], kind, g); });
        expect({ arg: i, g: g.toString(16), got }).toEqual({ arg: i, g: g.toString(16), got: clean });
      }
    }
    expect(k.checkInvariants()).toBe(true);
  });

  it("read/write of fd | 1 << 32 reach the fd (was EBADF)", async () => {
    const { p } = await boot();
    const [r, w] = p.pipe();
    const b = userBuf(p, new Uint8Array([42]));
    expect(p.syscall(A.__NR_write, (1n << 32n) | BigInt(w), b, 1)).toBe(1n);
    expect(p.syscall(A.__NR_read, (0xdeadbeefn << 32n) | BigInt(r), b + 8, 1)).toBe(1n);
    expect(p.thread.load8(b + 8)).toBe(42);
  });

  // size_t, unsigned long, off_t and loff_t keep all 64 bits: the upper half changes the call.
  it.each<[string, (p: Process) => [bigint, bigint]]>([
    ["read's size_t count", (p) => { const fd = memfd(p); const b = p.mmap(0, 4 * PAGE, RW, ANON); return [p.syscall(A.__NR_read, fd, b, 16), p.syscall(A.__NR_pread64, fd, b, (1n << 32n) | 16n, 0)]; }],
    ["munmap's size_t len", (p) => { const a = userBuf(p); return [p.syscall(A.__NR_mprotect, a, PAGE, A.PROT_READ), p.syscall(A.__NR_mprotect, a, (1n << 47n) | BigInt(PAGE), A.PROT_READ)]; }],
    ["mprotect's unsigned long prot", (p) => { const a = userBuf(p); return [p.syscall(A.__NR_mprotect, a, PAGE, 1), p.syscall(A.__NR_mprotect, a, PAGE, (1n << 32n) | 1n)]; }],
    ["mremap's unsigned long flags", (p) => { const a = userBuf(p); return [p.syscall(A.__NR_mremap, a, PAGE, PAGE, 0), p.syscall(A.__NR_mremap, a, PAGE, PAGE, 1n << 32n)]; }],
    ["ftruncate's off_t length", (p) => { const fd = memfd(p); return [p.syscall(A.__NR_ftruncate, fd, 0x2000), p.syscall(A.__NR_ftruncate, fd, 0xdeadbeef00002000n)]; }],
    ["lseek's off_t offset", (p) => { const fd = memfd(p); return [p.syscall(A.__NR_lseek, fd, 16, A.SEEK_SET), p.syscall(A.__NR_lseek, fd, (1n << 32n) | 16n, A.SEEK_SET)]; }],
  ])("%s keeps its upper half", async (_name, pair) => {
    const { p } = await boot();
    const [clean, wide] = pair(p);
    expect(wide).not.toBe(clean);
  });
});

describe("the system-call number", () => {
  it("is the low 32 bits of rax, as do_syscall_64 takes it", async () => {
    const { p } = await boot();
    expect(p.syscall(2 ** 32 + A.__NR_getpid)).toBe(BigInt(p.pid));
    expect(p.syscall((0xdeadbeefn << 32n) | BigInt(A.__NR_gettid))).toBe(BigInt(p.pid));
    expect(p.syscall(-(2 ** 32) + A.__NR_getpid)).toBe(BigInt(p.pid));
  });

  it("unknown, negative and -1 numbers are ENOSYS", async () => {
    const { p } = await boot();
    for (const nr of [-1, -(2 ** 31), 2 ** 31 - 1, 1000, A.__NR_gettid + 10000, 0xffffffff, 2n ** 64n - 1n, 0x40000000 + A.__NR_getpid]) {
      expect(rawErrno(p.syscall(nr)), String(nr)).toBe("ENOSYS");
    }
  });

  it("rejects what is no register value, as Node rejects arguments", async () => {
    const { p } = await boot();
    const before = p.kernel.stats().syscalls;
    for (const nr of [NaN, 0.5, Infinity, -Infinity, 2 ** 64, -(2 ** 63) - 4096, 2n ** 64n, -(2n ** 63n) - 1n]) {
      expect(() => p.syscall(nr as number), String(nr)).toThrow(expect.objectContaining({ name: "RangeError", code: "ERR_OUT_OF_RANGE" }));
    }
    for (const nr of ["0", null, undefined, {}, true]) {
      expect(() => p.syscall(nr as unknown as number), String(nr)).toThrow(expect.objectContaining({ name: "TypeError", code: "ERR_INVALID_ARG_TYPE" }));
    }
    expect(p.kernel.stats().syscalls).toBe(before); // nothing reached the kernel
  });
});

describe("system-call arguments", () => {
  it("are passed exactly: negative numbers in two's complement, bigints to 2^64 - 1", async () => {
    const { p } = await boot();
    const a = p.mmap(0, PAGE, RW, ANON);
    const fd = memfd(p);
    // mmap's offset is unsigned long: -4096 is 0xfffffffffffff000, which file_mmap_ok refuses (a mapping at offset 0 if it were cut)
    const off = rawErrno(p.syscall(A.__NR_mmap, 0, PAGE, RW, A.MAP_SHARED, fd, -4096));
    expect(off).toBe("EOVERFLOW");
    expect(rawErrno(p.syscall(A.__NR_mmap, 0, PAGE, RW, A.MAP_SHARED, fd, 2n ** 64n - 4096n))).toBe(off);
    expect(p.syscall(A.__NR_munmap, a, 2 ** 53)).toBe(p.syscall(A.__NR_munmap, a, 2n ** 53n));
    expect(rawErrno(p.syscall(A.__NR_munmap, a, 2n ** 64n - 1n))).toBe("EINVAL");
    expect(rawErrno(p.syscall(A.__NR_close, -1))).toBe("EBADF");
  });

  it("reject non-integers, out-of-range values, non-numbers and a seventh argument", async () => {
    const { p } = await boot();
    const before = p.kernel.stats().syscalls;
    for (const v of [NaN, 1.5, 2 ** 64, -(2 ** 64), 2n ** 64n, -(2n ** 63n) - 1n]) {
      expect(() => p.syscall(A.__NR_close, v), String(v)).toThrow(expect.objectContaining({ name: "RangeError", code: "ERR_OUT_OF_RANGE" }));
    }
    for (const v of ["3", null, undefined, [1]]) {
      expect(() => p.syscall(A.__NR_close, v as unknown as number), String(v)).toThrow(expect.objectContaining({ name: "TypeError", code: "ERR_INVALID_ARG_TYPE" }));
    }
    expect(() => p.syscall(A.__NR_getpid, 0, 0, 0, 0, 0, 0, 0)).toThrow(expect.objectContaining({ code: "ERR_OUT_OF_RANGE" }));
    expect(p.kernel.stats().syscalls).toBe(before);
    expect(p.syscall(A.__NR_getpid, 0, 0, 0, 0, 0, 0)).toBe(BigInt(p.pid));
  });
});
