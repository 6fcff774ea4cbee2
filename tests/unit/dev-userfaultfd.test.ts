// /dev/userfaultfd is the misc device node root:root 0600: whether a process may open it is
// the node's mode, modelled per process by Kernel.spawn({ openDevUserfaultfd }) (default: yes,
// the process runs as root). A process kept out gets EACCES from open(); a forked child and
// every thread share the permission. userfaultfd(2) itself is not the node's business.
import { describe, it, expect } from "vitest";
import { A, PAGE, RW, ANON, rawErrno } from "../helpers/kernel.js";
import { Kernel, Kvm, CAP_SYS_PTRACE, Userfaultfd, type Process, type Thread } from "../../host-ts/index.js";

const enc = new TextEncoder();

function openRaw(p: Process, path: string, flags: number, t: Thread = p.thread): bigint {
  const b = new Uint8Array(path.length + 1);
  b.set(enc.encode(path));
  return t.syscall(A.__NR_open, t.stage(b), flags, 0);
}

describe("/dev/userfaultfd permission", () => {
  it("a default process (root) opens it; USERFAULTFD_IOC_NEW gives a working userfaultfd", async () => {
    const k = await Kernel.boot({ memoryBytes: 16 << 20 });
    const p = k.spawn();
    const dev = Number(openRaw(p, "/dev/userfaultfd", A.O_RDWR | A.O_CLOEXEC));
    expect(dev).toBeGreaterThanOrEqual(0);
    expect(p.fcntl(dev, A.F_GETFD)).toBe(A.FD_CLOEXEC);
    const fd = Number(p.syscall(A.__NR_ioctl, dev, A.USERFAULTFD_IOC_NEW, A.O_NONBLOCK));
    expect(fd).toBeGreaterThanOrEqual(0);
    const u = new Userfaultfd(p, fd);
    u.api();
    const a = p.mmap(0, PAGE, RW, ANON);
    u.register(a, PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
    // Without CAP_SYS_PTRACE a /dev/userfaultfd uffd still handles kernel-mode faults: that is the point of the node's mode.
    expect(rawErrno(p.syscall(A.__NR_userfaultfd, 0))).toBe("EPERM");
    expect(openRaw(p, "/dev/userfaultfd", A.O_RDONLY)).toBeGreaterThanOrEqual(0n);
    expect(k.checkInvariants()).toBe(true);
  });

  it("openDevUserfaultfd: false → EACCES in every access mode; the fd table and counters are unchanged", async () => {
    const k = await Kernel.boot({ memoryBytes: 16 << 20 });
    const p = k.spawn({ caps: CAP_SYS_PTRACE, openDevUserfaultfd: false });
    const before = k.stats();
    for (const mode of [A.O_RDONLY, A.O_WRONLY, A.O_RDWR, A.O_RDWR | A.O_CLOEXEC | A.O_NONBLOCK]) {
      expect(rawErrno(openRaw(p, "/dev/userfaultfd", mode))).toBe("EACCES");
    }
    expect(k.stats().slabObjects).toBe(before.slabObjects);
    // The lowest fd is still free: nothing was left reserved.
    expect(p.memfdCreate("m")).toBe(0);
    // The rest of the process is not affected: userfaultfd(2) (its own rules) and /dev/kvm.
    const u = p.userfaultfd(A.O_NONBLOCK);
    u.api();
    Kvm.open(p).createVm();
    // Errors that come before the permission check still win: a full table is EMFILE.
    const fillers: number[] = [];
    for (let r = p.syscall(A.__NR_dup, 0); r >= 0n; r = p.syscall(A.__NR_dup, 0)) fillers.push(Number(r));
    expect(rawErrno(openRaw(p, "/dev/userfaultfd", A.O_RDWR))).toBe("EMFILE");
    for (const fd of fillers) p.close(fd);
    expect(k.checkInvariants()).toBe(true);
  });

  it("is inherited: by threads and by fork, both ways", async () => {
    const k = await Kernel.boot({ memoryBytes: 16 << 20 });
    const denied = k.spawn({ openDevUserfaultfd: false });
    const allowed = k.spawn();
    expect(rawErrno(openRaw(denied, "/dev/userfaultfd", A.O_RDWR, denied.newThread()))).toBe("EACCES");
    expect(rawErrno(openRaw(denied.fork(), "/dev/userfaultfd", A.O_RDWR))).toBe("EACCES");
    const child = allowed.fork();
    expect(openRaw(child, "/dev/userfaultfd", A.O_RDWR)).toBeGreaterThanOrEqual(0n);
    expect(openRaw(allowed, "/dev/userfaultfd", A.O_RDWR, allowed.newThread())).toBeGreaterThanOrEqual(0n);
    expect(k.checkInvariants()).toBe(true);
  });
});
