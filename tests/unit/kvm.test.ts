// A minimal KVM: /dev/kvm, VMs, memslots (KVM_SET_USER_MEMORY_REGION2 with guest_memfd), and
// the vCPU-like accessor's two paths; KVM's own access fills the page cache and never raises a
// userfault.
import { describe, it, expect } from "vitest";
import { boot, A, PAGE, RW, ANON, expectErrno } from "../helpers/kernel.js";
import { bootVm, gmem, setRegion, errno, MMAP, INIT_SHARED, SHARED, GMEM } from "../helpers/kvm.js";
import { fileURLToPath } from "node:url";
import { Kvm, Userfaultfd, WouldBlockError, runInWorker, memoryRegion2Bytes, createGuestMemfdBytes, type MemoryRegion } from "../../host-ts/index.js";

const GPA = 0x1_0000_0000; // 4 GiB, as test_guest_memfd_guest uses

describe("ABI", () => {
  it("structure sizes and ioctl numbers match include/uapi/linux/kvm.h", () => {
    expect(A.kvm_create_guest_memfd.SIZEOF).toBe(64);
    expect(A.kvm_userspace_memory_region2.SIZEOF).toBe(160);
    expect(A.kvm_userspace_memory_region2.guest_memfd).toBe(40);
    expect(A.kvm_userspace_memory_region.SIZEOF).toBe(32);
    expect(A.KVM_CREATE_GUEST_MEMFD).toBe(0xc040aed4);
    expect(A.KVM_SET_USER_MEMORY_REGION2).toBe(0x40a0ae49);
    expect(A.KVM_SET_USER_MEMORY_REGION).toBe(0x4020ae46);
    // _IOWR/_IOW encode the structure size: 64 and 160 bytes.
    expect((A.KVM_CREATE_GUEST_MEMFD >>> 16) & 0x3fff).toBe(64);
    expect((A.KVM_SET_USER_MEMORY_REGION2 >>> 16) & 0x3fff).toBe(160);
  });
});

describe("/dev/kvm", () => {
  it("opens; API version 12; its fstat is the misc character device 10:232", async () => {
    const { p } = await boot();
    const kvm = Kvm.open(p);
    expect(kvm.apiVersion()).toBe(12);
    expect(p.syscall(A.__NR_ioctl, kvm.fd, A.KVM_GET_API_VERSION, 1)).toBe(errno("EINVAL"));
    const st = p.fstat(kvm.fd);
    expect(st.mode).toBe(A.S_IFCHR | 0o660);
    expect(p.fcntl(kvm.fd, A.F_GETFL)).toBe(A.O_RDWR | A.O_LARGEFILE);
  });

  it("KVM_CHECK_EXTENSION: GUEST_MEMFD 1, GUEST_MEMFD_FLAGS MMAP|INIT_SHARED, memslot caps; unknown 0", async () => {
    const { kvm, vm } = await bootVm();
    for (const c of [kvm, vm]) {
      expect(c.checkExtension(A.KVM_CAP_GUEST_MEMFD)).toBe(1);
      expect(c.checkExtension(A.KVM_CAP_GUEST_MEMFD_FLAGS)).toBe(Number(MMAP | INIT_SHARED));
      expect(c.checkExtension(A.KVM_CAP_USER_MEMORY2)).toBe(1);
      expect(c.checkExtension(A.KVM_CAP_NR_MEMSLOTS)).toBe(32764);
      expect(c.checkExtension(A.KVM_CAP_VM_TYPES)).toBe(1);
      expect(c.checkExtension(A.KVM_CAP_MULTI_ADDRESS_SPACE)).toBe(0);
      expect(c.checkExtension(A.KVM_CAP_MEMORY_ATTRIBUTES)).toBe(0);
      expect(c.checkExtension(1000)).toBe(0);
      expect(c.checkExtension(234n + (1n << 32n))).toBe(0);
    }
  });

  it("KVM_CREATE_VM: the default type only; the VM fd is O_RDWR and close-on-exec", async () => {
    const { p, kvm, vm } = await bootVm();
    expectErrno(() => kvm.createVm(1), "EINVAL");
    expectErrno(() => kvm.createVm(99), "EINVAL");
    expect(p.fcntl(vm.fd, A.F_GETFL)).toBe(A.O_RDWR);
    expect(p.fcntl(vm.fd, A.F_GETFD)).toBe(A.FD_CLOEXEC);
    expect(p.fstat(vm.fd).mode).toBe(0o600);
  });

  it("unknown ioctls: EINVAL on /dev/kvm, ENOTTY on a VM fd and on a guest_memfd", async () => {
    const { p, kvm, vm } = await bootVm();
    const g = gmem(vm);
    expect(p.syscall(A.__NR_ioctl, kvm.fd, 0xaeff, 0)).toBe(errno("EINVAL"));
    expect(p.syscall(A.__NR_ioctl, kvm.fd, A.KVM_SET_USER_MEMORY_REGION2, 0)).toBe(errno("EINVAL"));
    expect(p.syscall(A.__NR_ioctl, vm.fd, 0xaeff, 0)).toBe(errno("ENOTTY"));
    expect(p.syscall(A.__NR_ioctl, vm.fd, A.KVM_GET_API_VERSION, 0)).toBe(errno("ENOTTY"));
    expect(p.syscall(A.__NR_ioctl, vm.fd, A.KVM_CREATE_VM, 0)).toBe(errno("ENOTTY"));
    expect(p.syscall(A.__NR_ioctl, g.fd, A.KVM_CHECK_EXTENSION, 234)).toBe(errno("ENOTTY"));
    // The size is part of the number: a 72-byte KVM_CREATE_GUEST_MEMFD is another ioctl.
    expect(p.ioctl(vm.fd, 0xc048aed4, new Uint8Array(72)).ret).toBe(errno("ENOTTY"));
  });

  it("read/write/fallocate/ftruncate/mmap on /dev/kvm and the VM fd fail as on Linux; lseek is a no-op", async () => {
    const { p, kvm, vm } = await bootVm();
    for (const fd of [kvm.fd, vm.fd]) {
      expect(p.syscall(A.__NR_read, fd, A.HOST_STAGING_BASE, 8)).toBe(errno("EINVAL"));
      expect(p.syscall(A.__NR_write, fd, A.HOST_STAGING_BASE, 8)).toBe(errno("EINVAL"));
      expect(p.syscall(A.__NR_fallocate, fd, 3, 0, PAGE)).toBe(errno("ENODEV"));
      expect(p.syscall(A.__NR_ftruncate, fd, 0)).toBe(errno("EINVAL"));
      expect(p.syscall(A.__NR_mmap, 0, PAGE, RW, A.MAP_SHARED, fd, 0)).toBe(errno("ENODEV"));
      expect(p.lseek(fd, 5, A.SEEK_SET)).toBe(0n);
    }
  });

  it("a VM ioctl from another process (another mm) is EIO", async () => {
    const { p, vm } = await bootVm();
    const child = p.fork();
    expect(child.syscall(A.__NR_ioctl, vm.fd, A.KVM_CHECK_EXTENSION, 234)).toBe(errno("EIO"));
    expect(p.syscall(A.__NR_ioctl, vm.fd, A.KVM_CHECK_EXTENSION, 234)).toBe(1n);
  });
});

describe("KVM_CREATE_GUEST_MEMFD", () => {
  it("flags: only bits 0 and 1 (each of 0..63 tried); sizes: > 0 and page-aligned", async () => {
    const { p, vm } = await bootVm();
    for (let bit = 0n; bit < 64n; bit++) {
      const r = p.ioctl(vm.fd, A.KVM_CREATE_GUEST_MEMFD, createGuestMemfdBytes(PAGE, 1n << bit)).ret;
      if (bit < 2n) {
        expect(r >= 0n).toBe(true);
        p.close(r);
      } else expect(r).toBe(errno("EINVAL"));
    }
    for (const f of [0, 2, 3]) gmem(vm, 1, f).close();
    for (const f of [4, 5, 6, 7]) expectErrno(() => gmem(vm, 1, f), "EINVAL");
    for (const size of [0n, 1n, 4095n, BigInt(PAGE + 1), -4096n, 1n << 63n]) {
      expect(p.ioctl(vm.fd, A.KVM_CREATE_GUEST_MEMFD, createGuestMemfdBytes(size, 0)).ret).toBe(errno("EINVAL"));
    }
    // Large sizes cost nothing until used.
    vm.createGuestMemfd(1n << 40n, SHARED).close();
    vm.createGuestMemfd(0x7ffffffffffff000n, 0).close();
  });

  it("reserved fields are not validated; a bad pointer is EFAULT; on the /dev/kvm fd it is EINVAL", async () => {
    const { p, kvm, vm } = await bootVm();
    vm.createGuestMemfd(PAGE, 0, [1]).close();
    vm.createGuestMemfd(PAGE, 0, [0, 0, 0, 0, 0, 0xffff]).close();
    expect(p.syscall(A.__NR_ioctl, vm.fd, A.KVM_CREATE_GUEST_MEMFD, 8)).toBe(errno("EFAULT"));
    expect(p.ioctl(kvm.fd, A.KVM_CREATE_GUEST_MEMFD, createGuestMemfdBytes(PAGE, 0)).ret).toBe(errno("EINVAL"));
  });
});

describe("KVM_SET_USER_MEMORY_REGION2 with a guest_memfd", () => {
  async function setup() {
    const { k, p, vm } = await bootVm();
    const g = gmem(vm, 4, SHARED);
    const set = (r: Partial<MemoryRegion>) =>
      setRegion(p, vm, memoryRegion2Bytes({ slot: 0, flags: GMEM, guestPhysAddr: 0, memorySize: 2 * PAGE, guestMemfd: g.fd, ...r }));
    return { k, p, vm, g, set };
  }

  it("bind with userspace_addr 0, and a guest_memfd without MMAP: succeed", async () => {
    const { vm, set } = await setup();
    expect(set({})).toBe(0n);
    const g0 = gmem(vm, 2, 0);
    expect(set({ slot: 1, guestPhysAddr: 0x100000, guestMemfd: g0.fd })).toBe(0n);
  });

  it("guest_memfd not open / not a guest_memfd / another VM's: EBADF / EINVAL / EINVAL", async () => {
    const { p, set } = await setup();
    expect(set({ guestMemfd: 999 })).toBe(errno("EBADF"));
    expect(set({ guestMemfd: 0xffffffff })).toBe(errno("EBADF"));
    const mfd = p.memfdCreate("x");
    p.ftruncate(mfd, 4 * PAGE);
    expect(set({ guestMemfd: mfd })).toBe(errno("EINVAL"));
    const other = Kvm.open(p).createVm();
    const og = gmem(other);
    expect(set({ guestMemfd: og.fd })).toBe(errno("EINVAL"));
  });

  it("offset unaligned, beyond the size, or wrapping; size or userspace_addr unaligned: EINVAL", async () => {
    const { set } = await setup();
    expect(set({ guestMemfdOffset: 1 })).toBe(errno("EINVAL"));
    expect(set({ guestMemfdOffset: 3 * PAGE })).toBe(errno("EINVAL"));
    expect(set({ guestMemfdOffset: 0xfffffffffffff000n })).toBe(errno("EINVAL"));
    expect(set({ memorySize: PAGE + 1 })).toBe(errno("EINVAL"));
    expect(set({ userspaceAddr: 0x1001 })).toBe(errno("EINVAL"));
    expect(set({ guestPhysAddr: 0x1001 })).toBe(errno("EINVAL"));
    expect(set({ guestPhysAddr: 0xfffffffffffff000n })).toBe(errno("EINVAL"));
    expect(set({ userspaceAddr: 0x7ffffffff000 })).toBe(errno("EINVAL")); // beyond the user address space
    expect(set({ slot: 32764 })).toBe(errno("EINVAL"));
    expect(set({ slot: 0x10000 })).toBe(errno("EINVAL")); // address space 1: none without SMM
    expect(set({ slot: 32763 })).toBe(0n);
  });

  it("overlapping file range → EINVAL; overlapping guest-physical range → EEXIST; adjacent ranges and other files bind", async () => {
    const { vm, set } = await setup();
    expect(set({})).toBe(0n);
    expect(set({ slot: 1, guestPhysAddr: 0x100000, guestMemfdOffset: PAGE })).toBe(errno("EINVAL"));
    expect(set({ slot: 1, guestPhysAddr: PAGE, guestMemfdOffset: 2 * PAGE })).toBe(errno("EEXIST"));
    // EEXIST comes before the guest_memfd is even looked at.
    expect(set({ slot: 1, guestPhysAddr: PAGE, guestMemfd: 999 })).toBe(errno("EEXIST"));
    expect(set({ slot: 1, guestPhysAddr: 0x100000, guestMemfdOffset: 2 * PAGE })).toBe(0n);
    const g2 = gmem(vm);
    expect(set({ slot: 2, guestPhysAddr: 0x200000, guestMemfd: g2.fd })).toBe(0n);
  });

  it("with KVM_MEM_READONLY or KVM_MEM_LOG_DIRTY_PAGES, or an unknown flag: EINVAL", async () => {
    const { set } = await setup();
    expect(set({ flags: GMEM | A.KVM_MEM_READONLY })).toBe(errno("EINVAL"));
    expect(set({ flags: GMEM | A.KVM_MEM_LOG_DIRTY_PAGES })).toBe(errno("EINVAL"));
    expect(set({ flags: 8 })).toBe(errno("EINVAL"));
  });

  it("guest_memfd slots are immutable: moved, identical, or without the flag → EINVAL; delete and rebind work", async () => {
    const { set } = await setup();
    expect(set({})).toBe(0n);
    expect(set({ guestPhysAddr: 0x100000 })).toBe(errno("EINVAL"));
    expect(set({})).toBe(errno("EINVAL"));
    expect(set({ flags: 0 })).toBe(errno("EINVAL"));
    expect(set({ memorySize: 0 })).toBe(0n);
    expect(set({ memorySize: 0 })).toBe(errno("EINVAL")); // no such slot any more
    expect(set({ slot: 5, guestPhysAddr: 0x100000 })).toBe(0n); // the same file range again
  });

  it("the padding is not validated", async () => {
    const { p, vm, g } = await setup();
    const b = memoryRegion2Bytes({ slot: 0, flags: GMEM, guestPhysAddr: 0, memorySize: 2 * PAGE, guestMemfd: g.fd });
    b[A.kvm_userspace_memory_region2.pad1] = 1;
    b[A.kvm_userspace_memory_region2.pad2_3] = 1;
    expect(setRegion(p, vm, b)).toBe(0n);
  });

  it("delete a slot after its guest_memfd was closed: succeeds", async () => {
    const { g, set } = await setup();
    expect(set({})).toBe(0n);
    g.close();
    expect(set({ memorySize: 0 })).toBe(0n);
  });

  it("plain slots: identical again is 0, move with the same hva is fine, changing hva or size is EINVAL", async () => {
    const { set } = await setup();
    const plain = { slot: 6, flags: 0, guestPhysAddr: 0x100000, userspaceAddr: 0x10000, memorySize: 2 * PAGE, guestMemfd: 0 };
    expect(set(plain)).toBe(0n);
    expect(set(plain)).toBe(0n);
    expect(set({ ...plain, userspaceAddr: 0x20000 })).toBe(errno("EINVAL"));
    expect(set({ ...plain, memorySize: 4 * PAGE })).toBe(errno("EINVAL"));
    expect(set({ ...plain, flags: A.KVM_MEM_READONLY })).toBe(errno("EINVAL"));
    expect(set({ ...plain, flags: A.KVM_MEM_LOG_DIRTY_PAGES })).toBe(0n);
    expect(set({ ...plain, guestPhysAddr: 0x200000 })).toBe(0n);
    expect(set({ slot: 7, flags: 0, guestPhysAddr: 0x200000, userspaceAddr: 0, memorySize: PAGE })).toBe(errno("EEXIST"));
  });

  it("KVM_MEM_GUEST_MEMFD through the older KVM_SET_USER_MEMORY_REGION: EINVAL", async () => {
    const { p, vm, g } = await setup();
    const b = memoryRegion2Bytes({ slot: 8, flags: GMEM, guestPhysAddr: 0x300000, memorySize: PAGE, guestMemfd: g.fd }).slice(0, 32);
    expect(setRegion(p, vm, b, A.KVM_SET_USER_MEMORY_REGION)).toBe(errno("EINVAL"));
    const ok = memoryRegion2Bytes({ slot: 8, guestPhysAddr: 0x300000, memorySize: PAGE, userspaceAddr: 0x10000 }).slice(0, 32);
    expect(setRegion(p, vm, ok, A.KVM_SET_USER_MEMORY_REGION)).toBe(0n);
    expect(p.syscall(A.__NR_ioctl, vm.fd, A.KVM_SET_USER_MEMORY_REGION2, 0)).toBe(errno("EFAULT"));
  });
});

describe("guest accesses (the vCPU-like accessor)", () => {
  async function guest(flags: number | bigint = SHARED) {
    const { k, p, vm } = await bootVm();
    const g = gmem(vm, 4, flags);
    const hva = Number(flags) & Number(MMAP) ? g.mmap(4 * PAGE) : 0;
    vm.setUserMemoryRegion2({ slot: 1, flags: GMEM, guestPhysAddr: GPA, memorySize: 4 * PAGE, userspaceAddr: hva, guestMemfd: g.fd });
    return { k, p, vm, g, hva, cpu: vm.vcpu() };
  }

  it("test_guest_memfd_guest: host writes 0xaa, the guest sees it and writes 0xff, the host sees 0xff", async () => {
    const { k, p, hva, cpu } = await guest();
    p.thread.fill(hva, 0xaa, PAGE);
    expect(cpu.read(GPA, PAGE).every((b) => b === 0xaa)).toBe(true);
    cpu.write(GPA, new Uint8Array(PAGE).fill(0xff));
    expect(p.thread.read(hva, PAGE).every((b) => b === 0xff)).toBe(true);
    k.checkInvariants();
  });

  it("the guest's own path uses guest_memfd even with userspace_addr 0, and even for private memory", async () => {
    const { p, vm } = await bootVm();
    const g = gmem(vm, 2, MMAP); // not INIT_SHARED: the host mapping SIGBUSes, the guest is fine
    vm.setUserMemoryRegion2({ slot: 1, flags: GMEM, guestPhysAddr: GPA, memorySize: 2 * PAGE, guestMemfd: g.fd });
    const cpu = vm.vcpu();
    expect(cpu.read(GPA + 10, 4)).toEqual(new Uint8Array(4));
    cpu.write(GPA + PAGE, new Uint8Array([7, 8, 9]));
    expect(cpu.read(GPA + PAGE, 3)).toEqual(new Uint8Array([7, 8, 9]));
    // KVM's access through the (absent) userspace mapping fails.
    expectErrno(() => cpu.kvmRead(GPA, 4), "EFAULT");
    expect(p.fstat(g.fd).blocks).toBe(0n);
  });

  it("no memslot at the gpa: EFAULT; accesses cross pages and slots", async () => {
    const { p, hva, cpu } = await guest();
    expectErrno(() => cpu.read(0, 1), "EFAULT");
    expectErrno(() => cpu.read(GPA + 4 * PAGE, 1), "EFAULT");
    cpu.write(GPA + PAGE - 2, new Uint8Array([1, 2, 3, 4]));
    expect(p.thread.read(hva + PAGE - 2, 4)).toEqual(new Uint8Array([1, 2, 3, 4]));
    expect(cpu.kvmRead(GPA + PAGE - 2, 4)).toEqual(new Uint8Array([1, 2, 3, 4]));
  });

  it("PUNCH_HOLE zaps the guest's mappings: the guest then reads zeros, not the freed page", async () => {
    const { k, p, g, cpu } = await guest();
    cpu.write(GPA, new Uint8Array(PAGE).fill(0xaa));
    expect(cpu.read(GPA, 1)[0]).toBe(0xaa);
    g.punchHole(0, PAGE);
    // Reuse the freed frame for something else, so a stale translation would show it.
    const junk = p.mmap(0, 8 * PAGE, RW, ANON);
    p.thread.fill(junk, 0x55, 8 * PAGE);
    expect(cpu.read(GPA, 1)[0]).toBe(0);
    k.checkInvariants();
  });

  it("deleting the slot, or closing the guest_memfd, zaps the guest's mappings (EFAULT afterwards)", async () => {
    const { p, vm, g, hva, cpu } = await guest();
    cpu.write(GPA, new Uint8Array([1]));
    vm.setUserMemoryRegion2({ slot: 1, flags: GMEM, guestPhysAddr: GPA, memorySize: 0 });
    expectErrno(() => cpu.read(GPA, 1), "EFAULT");
    const g2 = gmem(vm, 4);
    vm.setUserMemoryRegion2({ slot: 2, flags: GMEM, guestPhysAddr: GPA, memorySize: PAGE, guestMemfd: g2.fd });
    cpu.write(GPA, new Uint8Array([2]));
    g2.close();
    expectErrno(() => cpu.read(GPA, 1), "EFAULT");
    // The first file's memory stayed with its inode.
    expect(p.thread.load8(hva)).toBe(1);
    void g;
  });

  it("a plain (non-guest_memfd) slot is accessed through its userspace mapping", async () => {
    const { p, vm } = await bootVm();
    const m = p.mmap(0, 2 * PAGE, RW, ANON);
    vm.setUserMemoryRegion2({ slot: 0, guestPhysAddr: 0, memorySize: 2 * PAGE, userspaceAddr: m });
    const cpu = vm.vcpu();
    cpu.write(PAGE, new Uint8Array([5, 6]));
    expect(p.thread.read(m + PAGE, 2)).toEqual(new Uint8Array([5, 6]));
    vm.setUserMemoryRegion2({ slot: 9, flags: A.KVM_MEM_READONLY, guestPhysAddr: 0x100000, memorySize: PAGE, userspaceAddr: m });
    expectErrno(() => cpu.write(0x100000, new Uint8Array([1])), "EFAULT");
  });

  it("the VM fd closed: guest_memfd keeps working (mmap, access, fallocate)", async () => {
    const { k, p, vm } = await bootVm();
    const g = gmem(vm);
    vm.close();
    const a = g.mmap(4 * PAGE);
    p.thread.store8(a, 3);
    g.allocate(PAGE, PAGE);
    g.punchHole(0, PAGE);
    expect(p.thread.load8(a)).toBe(0);
    g.close();
    p.munmap(a, 4 * PAGE);
    k.checkInvariants();
  });

  it("a process exiting with its VM, slots, guest_memfds and mappings open frees them all", async () => {
    const { k, p } = await boot();
    const before = k.stats();
    const vmm = k.spawn();
    const vm = Kvm.open(vmm).createVm();
    const g = gmem(vm, 8);
    const a = g.mmap(8 * PAGE);
    vm.setUserMemoryRegion2({ slot: 1, flags: GMEM, guestPhysAddr: GPA, memorySize: 8 * PAGE, userspaceAddr: a, guestMemfd: g.fd });
    vmm.thread.fill(a, 1, 8 * PAGE);
    vm.vcpu().write(GPA, new Uint8Array([2]));
    const child = vmm.fork();
    child.exit();
    vmm.exit();
    const after = k.stats();
    expect(after.inodes).toBe(before.inodes);
    expect(after.tasks).toBe(before.tasks);
    expect(after.freeFrames + (after.slabFrames - before.slabFrames)).toBe(before.freeFrames);
    k.checkInvariants();
    void p;
  });

  it("nothing leaks: VM, slots and guest_memfd pages are freed when the last reference goes", async () => {
    const { k, p } = await boot();
    const before = k.stats();
    const kvm = Kvm.open(p);
    const vm = kvm.createVm();
    const g = gmem(vm, 8);
    const a = g.mmap(8 * PAGE);
    vm.setUserMemoryRegion2({ slot: 1, flags: GMEM, guestPhysAddr: GPA, memorySize: 8 * PAGE, userspaceAddr: a, guestMemfd: g.fd });
    p.thread.fill(a, 1, 8 * PAGE);
    vm.vcpu().read(GPA, PAGE);
    g.close();
    vm.close();
    kvm.close();
    p.munmap(a, 8 * PAGE);
    const after = k.stats();
    expect(after.inodes).toBe(before.inodes);
    expect(after.freeFrames + (after.slabFrames - before.slabFrames)).toBe(before.freeFrames);
    k.checkInvariants();
  });
});

/**
 * A VMM with a guest_memfd of `pages` pages (MMAP|INIT_SHARED) mapped at `hva` (and at `alias`,
 * unregistered), bound to slot 1 at GPA with userspace_addr = hva, `hva` registered `mode` on an
 * O_NONBLOCK userfaultfd created with `uffdFlags`.
 */
async function registeredSlot(pages: number, mode: bigint, uffdFlags = 0) {
  const { k, p, vm } = await bootVm();
  const g = gmem(vm, pages, SHARED);
  const hva = g.mmap(pages * PAGE);
  const alias = g.mmap(pages * PAGE);
  vm.setUserMemoryRegion2({ slot: 1, flags: GMEM, guestPhysAddr: GPA, memorySize: pages * PAGE, userspaceAddr: hva, guestMemfd: g.fd });
  const uffd = p.userfaultfd(A.O_NONBLOCK | uffdFlags);
  uffd.api();
  uffd.register(hva, pages * PAGE, mode);
  const src = p.mmap(0, PAGE, RW, ANON);
  p.thread.fill(src, 0xab, PAGE);
  return { k, p, vm, g, hva, alias, uffd, src };
}

describe("KVM touching guest memory through the userspace mapping raises userfaults (why the series exists)", () => {
  it("kvmRead of a MISSING-registered page: a PAGEFAULT message; the access waits; COPY resolves it", async () => {
    const { k, p, vm, hva, uffd, src } = await registeredSlot(4, A.UFFDIO_REGISTER_MODE_MISSING);
    const cpu = vm.vcpu(p.newThread());
    // The guest's own access (kvm_gmem_get_pfn) never raises a userfault...
    expect(cpu.read(GPA + 2 * PAGE, 1)[0]).toBe(0);
    expect(uffd.read()).toEqual([]);
    // ...but KVM reading through the userspace mapping does, and blocks.
    expect(() => cpu.kvmRead(GPA + PAGE + 8, 8)).toThrow(WouldBlockError);
    const msgs = uffd.read();
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toMatchObject({ event: "pagefault", flags: 0n, address: hva + PAGE });
    expect(uffd.copy(hva + PAGE, src, PAGE)).toBe(BigInt(PAGE));
    expect(cpu.kvmRead(GPA + PAGE + 8, 8)).toEqual(new Uint8Array(8).fill(0xab));
    expect(uffd.read()).toEqual([]);
    k.checkInvariants();
  });

  it("with UFFD_USER_MODE_ONLY the kernel-mode fault is not handled: kvmRead fails with EFAULT, no message", async () => {
    const { vm, uffd } = await registeredSlot(2, A.UFFDIO_REGISTER_MODE_MISSING, A.UFFD_USER_MODE_ONLY);
    expectErrno(() => vm.vcpu().kvmRead(GPA, 4), "EFAULT");
    expect(uffd.read()).toEqual([]);
  });

  it("kvmWrite of a MINOR-registered cached page: a MINOR|WRITE message; CONTINUE resolves it", async () => {
    const { p, vm, hva, alias, uffd } = await registeredSlot(4, A.UFFDIO_REGISTER_MODE_MINOR);
    p.thread.fill(alias + PAGE, 0xcd, PAGE);
    const cpu = vm.vcpu(p.newThread());
    expect(() => cpu.kvmWrite(GPA + PAGE, new Uint8Array([1]))).toThrow(WouldBlockError);
    const [m] = uffd.read();
    expect(m).toMatchObject({ event: "pagefault", address: hva + PAGE });
    expect((m as { flags: bigint }).flags).toBe(BigInt(A.UFFD_PAGEFAULT_FLAG_MINOR | A.UFFD_PAGEFAULT_FLAG_WRITE));
    expect(uffd.continue(hva + PAGE, PAGE)).toBe(BigInt(PAGE));
    cpu.kvmWrite(GPA + PAGE, new Uint8Array([1]));
    expect(p.thread.read(alias + PAGE, 2)).toEqual(new Uint8Array([1, 0xcd]));
  });

  it("an async-thread vCPU blocks in kvmRead until the handler body's COPY wakes it", async () => {
    const { k, p, vm, hva, uffd, src } = await registeredSlot(2, A.UFFDIO_REGISTER_MODE_MISSING);
    const order: string[] = [];
    const handler = p.newThread();
    const hu = new Userfaultfd(p, uffd.fd, handler);
    await k.run(7, [
      [p.newThread(), async (t) => {
        const cpu = vm.vcpu(t.thread);
        const b = await t.op(() => cpu.kvmRead(GPA, 4));
        order.push(`vcpu read ${b[0]}`);
      }],
      [handler, async (t) => {
        for (;;) {
          const msgs = await t.op(() => hu.read());
          if (msgs.length) {
            order.push("fault");
            await t.op(() => hu.copy(hva, src, PAGE));
            return;
          }
          await t.yield();
        }
      }],
    ]);
    expect(order).toEqual(["fault", "vcpu read 171"]);
  });

  it("a vCPU in a worker thread blocks in kvmRead (Atomics.wait) until the main thread's COPY wakes it", async () => {
    const { k, p, vm, hva, uffd, src } = await registeredSlot(2, A.UFFDIO_REGISTER_MODE_MISSING);
    const script = fileURLToPath(new URL("./fixtures/worker-vcpu.mjs", import.meta.url));
    const done = runInWorker<number[]>(k, p.newThread(), script, { vmfd: vm.fd, gpa: GPA + PAGE });
    let msgs: ReturnType<typeof uffd.read> = [];
    const deadline = Date.now() + 20_000;
    while (msgs.length === 0 && Date.now() < deadline) {
      msgs = uffd.read();
      if (msgs.length === 0) await new Promise((r) => setTimeout(r, 1));
    }
    expect(msgs).toMatchObject([{ event: "pagefault", address: hva + PAGE }]);
    uffd.copy(hva + PAGE, src, PAGE);
    expect(await done).toEqual([0xab, 0xab, 0xab, 0xab]);
  });
});

describe("garbage in, errno out", () => {
  it("random ioctls on /dev/kvm, VM and guest_memfd fds and random guest accesses never trap or break an invariant", async () => {
    const { k, p, kvm, vm } = await bootVm();
    const g = gmem(vm, 4, SHARED);
    const hva = g.mmap(4 * PAGE);
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const pick = <T,>(a: T[]): T => a[Math.floor(rnd() * a.length)];
    const big = () => BigInt(Math.floor(rnd() * 2 ** 32)) << BigInt(pick([0, 0, 12, 32])) | BigInt(Math.floor(rnd() * 2 ** 32));
    const cmds = [A.KVM_GET_API_VERSION, A.KVM_CREATE_VM, A.KVM_CHECK_EXTENSION, A.KVM_CREATE_GUEST_MEMFD,
      A.KVM_SET_USER_MEMORY_REGION, A.KVM_SET_USER_MEMORY_REGION2, 0xaeff, 0];
    const fds = [kvm.fd, vm.fd, g.fd, 999, -1];
    let ok = 0;
    for (let i = 0; i < 3000; i++) {
      const bytes = new Uint8Array(160).map(() => (rnd() < 0.7 ? 0 : Math.floor(rnd() * 256)));
      // Keep the memslot fields plausible half the time, so the deep checks are reached.
      if (rnd() < 0.5) {
        const dv = new DataView(bytes.buffer);
        dv.setUint32(0, Math.floor(rnd() * 4), true);
        dv.setUint32(4, pick([0, 1, 2, 4, 5, 6, 8]), true);
        dv.setBigUint64(8, BigInt(pick([0, PAGE, 0x100000, 0x1001])), true);
        dv.setBigUint64(16, BigInt(pick([0, PAGE, 2 * PAGE, 4 * PAGE, 8 * PAGE])), true);
        dv.setBigUint64(24, BigInt(pick([0, hva, hva + PAGE])), true);
        dv.setBigUint64(32, BigInt(pick([0, PAGE, 3 * PAGE, 1])), true);
        dv.setUint32(40, pick([g.fd, vm.fd, 999]), true);
      }
      const cmd = pick(cmds);
      const fd = pick(fds);
      const r = rnd() < 0.8 ? p.ioctl(fd, cmd, bytes).ret : p.syscall(A.__NR_ioctl, fd, cmd, big());
      if (r >= 0n) ok++;
      if ((cmd === A.KVM_CREATE_VM || cmd === A.KVM_CREATE_GUEST_MEMFD) && r > 2n && r !== BigInt(g.fd)) p.close(r);
      try {
        const cpu = vm.vcpu();
        const gpa = Number(pick([0n, BigInt(PAGE), 0x100000n, big()]));
        if (rnd() < 0.5) cpu.read(gpa, Math.floor(rnd() * 9000));
        else cpu.kvmWrite(gpa, new Uint8Array(Math.floor(rnd() * 64)));
      } catch (e) {
        expect((e as Error).name).toBe("SystemError");
      }
    }
    expect(ok).toBeGreaterThan(100);
    // the raw export with nonsense arguments
    expect(k.exports.kvm_vcpu_access(p.thread.handle, vm.fd, NaN, -5, 0)).toBe(-A.EINVAL);
    expect(k.exports.kvm_vcpu_access(p.thread.handle, 12345, 0, 4, 0)).toBe(-A.EBADF);
    for (const h of [99999, p.thread.tid, NaN, -1, Infinity, p.thread.handle + 0.5, 2 ** 64]) {
      expect(k.exports.kvm_vcpu_access(h, vm.fd, 0, 4, 0)).toBe(-A.ESRCH);
    }
    expect(k.exports.kvm_vcpu_access(p.thread.handle, kvm.fd, 0, 4, 0)).toBe(-A.EINVAL);
    k.checkInvariants();
  });
});

