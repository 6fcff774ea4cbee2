// A full fd table (fs/file.c): every call that makes a file reserves its fd first
// (get_unused_fd_flags), builds the object and the file, then installs it (fd_install), so a
// full table gives EMFILE before anything is made, and nothing half-made reaches a release.
// Errno order as measured on Linux 6.18 with RLIMIT_NOFILE reached.
import { describe, it, expect } from "vitest";
import { A, PAGE, RW, ANON, rawErrno } from "../helpers/kernel.js";
import { Kernel, Kvm, CAP_SYS_PTRACE, type Process } from "../../host-ts/index.js";

const enc = new TextEncoder();

/** A NUL-terminated string in `p`'s staging window at `offset`. */
function cstr(p: Process, s: string, offset = 0): bigint {
  const b = new Uint8Array(s.length + 1);
  b.set(enc.encode(s));
  return p.thread.stage(b, offset);
}

/** dup(fd) until the table is full: the new fds (the table then holds NR_OPEN_DEFAULT). */
function fill(p: Process, fd: number): number[] {
  const out: number[] = [];
  for (;;) {
    const r = p.syscall(A.__NR_dup, fd);
    if (r < 0n) {
      expect(rawErrno(r)).toBe("EMFILE");
      return out;
    }
    out.push(Number(r));
  }
}

/** Counters that every object made and freed must leave as they were. */
function usage(k: Kernel) {
  const s = k.stats();
  return { inodes: s.inodes, uffdCtxs: s.uffdCtxs, objects: s.slabObjects, pages: s.freeFrames + s.slabFrames };
}

/** Every way of making a file, on a full table: each returns `expected` and changes nothing. */
function everyCreate(p: Process, kvm: Kvm, vmfd: number, devUffd: number, memfd: number): [string, bigint][] {
  const gmem = (size: number) => {
    const b = new Uint8Array(A.kvm_create_guest_memfd.SIZEOF);
    new DataView(b.buffer).setBigUint64(A.kvm_create_guest_memfd.size, BigInt(size), true);
    return p.ioctl(vmfd, A.KVM_CREATE_GUEST_MEMFD, b).ret;
  };
  return [
    ["userfaultfd", p.syscall(A.__NR_userfaultfd, 0)],
    ["userfaultfd(UFFD_USER_MODE_ONLY)", p.syscall(A.__NR_userfaultfd, A.UFFD_USER_MODE_ONLY)],
    ["USERFAULTFD_IOC_NEW", p.syscall(A.__NR_ioctl, devUffd, A.USERFAULTFD_IOC_NEW, A.O_CLOEXEC)],
    ["KVM_CREATE_VM", p.syscall(A.__NR_ioctl, kvm.fd, A.KVM_CREATE_VM, 0)],
    // The fd comes before kvm_create_vm looks at the type.
    ["KVM_CREATE_VM(99)", p.syscall(A.__NR_ioctl, kvm.fd, A.KVM_CREATE_VM, 99)],
    ["KVM_CREATE_GUEST_MEMFD", gmem(4 * PAGE)],
    ["memfd_create", p.syscall(A.__NR_memfd_create, cstr(p, "m"), 0)],
    ["pipe2", p.syscall(A.__NR_pipe2, A.HOST_STAGING_BASE + 64n, 0)],
    // The fds come before the copy to the user's int[2].
    ["pipe2(bad pointer)", p.syscall(A.__NR_pipe2, 8, 0)],
    ["open /proc/self/fd/N", p.syscall(A.__NR_open, cstr(p, `/proc/self/fd/${memfd}`), A.O_RDWR, 0)],
    ["open /dev/userfaultfd", p.syscall(A.__NR_open, cstr(p, "/dev/userfaultfd"), A.O_RDWR, 0)],
    ["open /dev/kvm", p.syscall(A.__NR_open, cstr(p, "/dev/kvm"), A.O_RDWR, 0)],
    // The fd comes before the path lookup.
    ["open /nonexistent", p.syscall(A.__NR_open, cstr(p, "/nonexistent"), A.O_RDONLY, 0)],
    ["dup", p.syscall(A.__NR_dup, memfd)],
    ["F_DUPFD", p.syscall(A.__NR_fcntl, memfd, A.F_DUPFD, 0)],
    ["F_DUPFD_CLOEXEC", p.syscall(A.__NR_fcntl, memfd, A.F_DUPFD_CLOEXEC, 10)],
  ];
}

describe.each([16, 64])("a full fd table with a %d MiB kernel", (mib) => {
  async function setup() {
    const k = await Kernel.boot({ memoryBytes: mib << 20 });
    const p = k.spawn({ caps: CAP_SYS_PTRACE });
    const kvm = Kvm.open(p);
    const vm = kvm.createVm();
    const devUffd = Number(p.syscall(A.__NR_open, cstr(p, "/dev/userfaultfd"), A.O_RDWR, 0));
    expect(devUffd).toBeGreaterThanOrEqual(0);
    const memfd = p.memfdCreate("table");
    return { k, p, kvm, vm, devUffd, memfd };
  }

  it("every call that makes a file gives EMFILE; invariants hold; closing everything leaks nothing", async () => {
    const { k, p, kvm, vm, devUffd, memfd } = await setup();
    const before = usage(k);
    const fillers = fill(p, memfd);
    expect(fillers.length + 4).toBe(A.NR_OPEN_DEFAULT);
    const results = everyCreate(p, kvm, vm.fd, devUffd, memfd);
    expect(results.map(([n, r]) => [n, rawErrno(r)])).toEqual(results.map(([n]) => [n, "EMFILE"]));
    expect(k.checkInvariants()).toBe(true);
    // Errors that come before the fd is reserved keep their errno.
    expect(rawErrno(p.syscall(A.__NR_userfaultfd, 0x1000))).toBe("EINVAL");
    expect(rawErrno(p.syscall(A.__NR_ioctl, devUffd, A.USERFAULTFD_IOC_NEW, 0x1000))).toBe("EINVAL");
    expect(rawErrno(p.syscall(A.__NR_memfd_create, 8, 0))).toBe("EFAULT");
    expect(rawErrno(p.syscall(A.__NR_pipe2, A.HOST_STAGING_BASE, 1))).toBe("EINVAL");
    expect(rawErrno(p.syscall(A.__NR_dup, A.NR_OPEN_DEFAULT - 1 + 1))).toBe("EBADF");
    expect(rawErrno(p.syscall(A.__NR_fcntl, memfd, A.F_DUPFD, A.NR_OPEN_DEFAULT))).toBe("EINVAL");
    expect(k.checkInvariants()).toBe(true);
    // The table is as it was: the last fd still refers to the memfd, nothing else appeared.
    expect(p.fstat(fillers[fillers.length - 1]!).ino).toBe(p.fstat(memfd).ino);

    // One free fd: pipe2 needs two, so it fails and leaves the free one free.
    const freed = fillers.pop()!;
    p.close(freed);
    expect(rawErrno(p.syscall(A.__NR_pipe2, A.HOST_STAGING_BASE + 64n, 0))).toBe("EMFILE");
    expect(p.dup(memfd)).toBe(freed);
    fillers.push(freed);
    expect(k.checkInvariants()).toBe(true);

    // The kernel goes on: with the fillers closed every call works again, and a call that
    // fails after reserving its fd gives it back (the invariant checker sees no reserved slot).
    for (const fd of fillers) p.close(fd);
    const lowest = fillers[0]!;
    expect(rawErrno(p.syscall(A.__NR_open, cstr(p, "/nonexistent"), A.O_RDONLY, 0))).toBe("ENOENT");
    expect(rawErrno(p.syscall(A.__NR_open, cstr(p, "/proc/self/fd/999"), A.O_RDONLY, 0))).toBe("ENOENT");
    expect(rawErrno(p.syscall(A.__NR_pipe2, 8, 0))).toBe("EFAULT");
    expect(rawErrno(p.syscall(A.__NR_ioctl, kvm.fd, A.KVM_CREATE_VM, 99))).toBe("EINVAL");
    expect(k.checkInvariants()).toBe(true);
    expect(p.dup(memfd)).toBe(lowest);
    p.close(lowest);
    const u = p.userfaultfd(A.O_NONBLOCK);
    u.api();
    const a = p.mmap(0, PAGE, RW, ANON);
    u.register(a, PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
    const vm2 = kvm.createVm();
    const g = vm2.createGuestMemfd(4 * PAGE, A.GUEST_MEMFD_FLAG_MMAP | A.GUEST_MEMFD_FLAG_INIT_SHARED);
    const [r, w] = p.pipe();
    const reopened = p.open(`/proc/self/fd/${memfd}`, A.O_RDWR);
    const iocNew = Number(p.syscall(A.__NR_ioctl, devUffd, A.USERFAULTFD_IOC_NEW, 0));
    expect(iocNew).toBeGreaterThanOrEqual(0);
    for (const fd of [u.fd, g.fd, vm2.fd, r, w, reopened, iocNew]) p.close(fd);
    p.munmap(a, PAGE);
    expect(k.checkInvariants()).toBe(true);
    expect(usage(k)).toEqual(before);
    // And everything the setup made goes too.
    for (const fd of [vm.fd, kvm.fd, devUffd, memfd]) p.close(fd);
    p.exit();
    expect(k.checkInvariants()).toBe(true);
  });

  it("a full table, many times over: the free lists stay sound", async () => {
    const { k, p, kvm, vm, devUffd, memfd } = await setup();
    const before = usage(k);
    const fillers = fill(p, memfd);
    for (let i = 0; i < 50; i++) everyCreate(p, kvm, vm.fd, devUffd, memfd);
    expect(k.checkInvariants()).toBe(true);
    expect(usage(k)).toEqual(before);
    for (const fd of fillers) p.close(fd);
    // The slab objects the failed calls did not take are all still free and usable.
    const made = Array.from({ length: 64 }, () => vm.createGuestMemfd(PAGE).fd);
    for (const fd of made) p.close(fd);
    expect(usage(k)).toEqual(before);
    expect(k.checkInvariants()).toBe(true);
  });
});
