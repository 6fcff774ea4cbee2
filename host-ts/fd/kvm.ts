// Typed KVM over the raw ioctl interface: /dev/kvm (Kvm), a VM fd (Vm), a guest_memfd
// (GuestMemfd), and a vCPU-like accessor of guest memory (Vcpu). Each method builds the exact
// Linux structure, issues one ioctl and maps -errno to SystemError; all policy is the kernel's.
import * as A from "../abi.gen.js";
import { SystemError, WouldBlockError } from "../errors.js";
import type { Process } from "../process.js";
import { waitForWake, type Thread } from "../thread.js";

const ERESTARTSYS = -A.ERESTARTSYS;
const EMPTY = new Uint8Array(0);

function struct(size: number, fields: [number, bigint | number, 4 | 8][]): Uint8Array {
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  for (const [o, v, w] of fields) {
    if (w === 8) dv.setBigUint64(o, BigInt.asUintN(64, BigInt(v)), true);
    else dv.setUint32(o, Number(BigInt.asUintN(32, BigInt(v))), true);
  }
  return b;
}

function check(r: bigint, name: string): number {
  if (r < 0n) throw new SystemError(Number(-r), `ioctl ${name}`);
  return Number(r);
}

/**
 * The /dev/kvm device: an open fd of it in a process. Every method is one ioctl(2) on that fd;
 * a failure throws {@link SystemError} with Linux's errno and `syscall` "ioctl KVM_…".
 */
export class Kvm {
  /**
   * @param proc - the process holding the fd (its ioctls run on `proc.thread`)
   * @param fd - an fd of /dev/kvm in `proc` ({@link Kvm.open} opens one)
   */
  constructor(
    /** The process the fd belongs to. */
    readonly proc: Process,
    /** The /dev/kvm fd. */
    readonly fd: number,
  ) {}

  /** open("/dev/kvm", O_RDWR | flags). */
  static open(proc: Process, flags = 0): Kvm {
    return new Kvm(proc, proc.open("/dev/kvm", A.O_RDWR | flags));
  }

  /** KVM_GET_API_VERSION: 12. */
  apiVersion(): number { return check(this.proc.syscall(A.__NR_ioctl, this.fd, A.KVM_GET_API_VERSION, 0), "KVM_GET_API_VERSION"); }
  /** KVM_CHECK_EXTENSION on /dev/kvm. */
  checkExtension(cap: number | bigint): number { return check(this.proc.syscall(A.__NR_ioctl, this.fd, A.KVM_CHECK_EXTENSION, cap), "KVM_CHECK_EXTENSION"); }
  /** KVM_CREATE_VM of `type` (only KVM_X86_DEFAULT_VM exists): the VM. */
  createVm(type: number | bigint = A.KVM_X86_DEFAULT_VM): Vm {
    return new Vm(this.proc, check(this.proc.syscall(A.__NR_ioctl, this.fd, A.KVM_CREATE_VM, type), "KVM_CREATE_VM"));
  }
  /** close(2) of the fd (through its process; EBADF if closed already). */
  close(): void { this.proc.close(this.fd); }
  /** `using`: {@link close}. */
  [Symbol.dispose](): void { this.close(); }
}

/** One memslot as KVM_SET_USER_MEMORY_REGION2 takes it (struct kvm_userspace_memory_region2). */
export interface MemoryRegion {
  /** The slot number (`slot`: address space in the upper 16 bits, as Linux's). */
  slot: number;
  /** KVM_MEM_* flags, e.g. KVM_MEM_GUEST_MEMFD; default 0. */
  flags?: number;
  /** The guest-physical address of the slot's first byte (page-aligned). */
  guestPhysAddr: number | bigint;
  /** The slot's size in bytes (page-aligned); 0 deletes the slot. */
  memorySize: number | bigint;
  /** The VMM's mapping of the slot (`userspace_addr`, page-aligned); default 0. */
  userspaceAddr?: number | bigint;
  /** With KVM_MEM_GUEST_MEMFD: the offset of the slot in the guest_memfd (page-aligned); default 0. */
  guestMemfdOffset?: number | bigint;
  /** With KVM_MEM_GUEST_MEMFD: the guest_memfd's fd; default 0. */
  guestMemfd?: number;
}

/** The bytes of struct kvm_userspace_memory_region2. */
export function memoryRegion2Bytes(r: MemoryRegion): Uint8Array {
  const S = A.kvm_userspace_memory_region2;
  return struct(S.SIZEOF, [
    [S.slot, r.slot, 4], [S.flags, r.flags ?? 0, 4], [S.guest_phys_addr, r.guestPhysAddr, 8],
    [S.memory_size, r.memorySize, 8], [S.userspace_addr, r.userspaceAddr ?? 0, 8],
    [S.guest_memfd_offset, r.guestMemfdOffset ?? 0, 8], [S.guest_memfd, r.guestMemfd ?? 0, 4],
  ]);
}

/** The bytes of struct kvm_create_guest_memfd (reserved fields as given, default 0). */
export function createGuestMemfdBytes(size: number | bigint, flags: number | bigint, reserved: (number | bigint)[] = []): Uint8Array {
  const S = A.kvm_create_guest_memfd;
  const fields: [number, bigint | number, 8][] = [[S.size, size, 8], [S.flags, flags, 8]];
  reserved.forEach((v, i) => fields.push([S.reserved0 + 8 * i, v, 8]));
  return struct(S.SIZEOF, fields);
}

/** A VM fd (from {@link Kvm.createVm}). Each method is one ioctl(2); failures throw {@link SystemError}. */
export class Vm {
  /**
   * @param proc - the process holding the fd
   * @param fd - the VM's fd in `proc`
   */
  constructor(
    /** The process the fd belongs to (the VMM). */
    readonly proc: Process,
    /** The VM fd. */
    readonly fd: number,
  ) {}

  /** KVM_CHECK_EXTENSION on the VM. */
  checkExtension(cap: number | bigint): number { return check(this.proc.syscall(A.__NR_ioctl, this.fd, A.KVM_CHECK_EXTENSION, cap), "KVM_CHECK_EXTENSION"); }

  /** KVM_CREATE_GUEST_MEMFD: a guest_memfd of `size` bytes with GUEST_MEMFD_FLAG_* `flags`. */
  createGuestMemfd(size: number | bigint, flags: number | bigint = 0, reserved: (number | bigint)[] = []): GuestMemfd {
    const { ret } = this.proc.ioctl(this.fd, A.KVM_CREATE_GUEST_MEMFD, createGuestMemfdBytes(size, flags, reserved));
    return new GuestMemfd(this.proc, check(ret, "KVM_CREATE_GUEST_MEMFD"));
  }

  /** KVM_SET_USER_MEMORY_REGION2 (memorySize 0 deletes the slot). */
  setUserMemoryRegion2(r: MemoryRegion): void {
    check(this.proc.ioctl(this.fd, A.KVM_SET_USER_MEMORY_REGION2, memoryRegion2Bytes(r)).ret, "KVM_SET_USER_MEMORY_REGION2");
  }

  /** KVM_SET_USER_MEMORY_REGION: the older 32-byte form (no guest_memfd fields). */
  setUserMemoryRegion(r: MemoryRegion): void {
    check(this.proc.ioctl(this.fd, A.KVM_SET_USER_MEMORY_REGION, memoryRegion2Bytes(r).slice(0, A.kvm_userspace_memory_region.SIZEOF)).ret, "KVM_SET_USER_MEMORY_REGION");
  }

  /** A vCPU-like accessor of this VM's memory, run by `thread` (a thread of the VM's process). */
  vcpu(thread: Thread = this.proc.thread): Vcpu { return new Vcpu(this, thread); }

  /** close(2) of the fd (through its process; EBADF if closed already). */
  close(): void { this.proc.close(this.fd); }
  /** `using`: {@link close}. */
  [Symbol.dispose](): void { this.close(); }
}

/**
 * A guest_memfd (from {@link Vm.createGuestMemfd}). File operations (mmap, fallocate, fstat,
 * close) go through its process as the system calls. With GUEST_MEMFD_FLAG_MMAP its mapping
 * takes UFFDIO_REGISTER like shmem: MISSING, MINOR and WP, and MINOR is served by
 * UFFDIO_CONTINUE from its page cache (the "uffd support in guest_memfd" series, Linux 7.1).
 */
export class GuestMemfd {
  /**
   * @param proc - the process holding the fd
   * @param fd - the guest_memfd's fd in `proc`
   */
  constructor(
    /** The process the fd belongs to. */
    readonly proc: Process,
    /** The guest_memfd's fd. */
    readonly fd: number,
  ) {}
  /** mmap(MAP_SHARED) of `len` bytes at file `offset`. */
  mmap(len: number, prot = A.PROT_READ | A.PROT_WRITE, offset = 0, flags = A.MAP_SHARED, addr = 0): number {
    return this.proc.mmap(addr, len, prot, flags, this.fd, offset);
  }
  /** fallocate(FALLOC_FL_KEEP_SIZE): allocate [offset, offset + len). */
  allocate(offset: number, len: number): void { this.proc.fallocate(this.fd, A.FALLOC_FL_KEEP_SIZE, offset, len); }
  /** fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE). */
  punchHole(offset: number, len: number): void { this.proc.fallocate(this.fd, A.FALLOC_FL_PUNCH_HOLE | A.FALLOC_FL_KEEP_SIZE, offset, len); }
  /** fstat(2)'s `st_size`: the size given at creation. */
  size(): bigint { return this.proc.fstat(this.fd).size; }
  /** close(2) of the fd (through its process; EBADF if closed already). */
  close(): void { this.proc.close(this.fd); }
  /** `using`: {@link close}. */
  [Symbol.dispose](): void { this.close(); }
}

/**
 * Guest memory as a vCPU thread sees it. `read`/`write` are the guest's own accesses (a guest
 * fault: a guest_memfd-only slot is served by kvm_gmem_get_pfn, which never raises a
 * userfault; other slots go through their userspace mapping). `kvmRead`/`kvmWrite` are KVM
 * touching guest memory through the memslot's userspace mapping (kvm_read_guest /
 * kvm_write_guest, as kvmclock or PV EOI do): the VMM's page tables are walked with the
 * normal fault path, so registered memory raises userfaults, and the access waits like any
 * other (thread.waitMode "throw" gives WouldBlockError; "atomics" waits for the wake).
 *
 * Accesses of any length are made in pieces of at most `abi.BOUNCE_SIZE` (4096) bytes, the
 * thread's bounce page; a failure part-way leaves the pieces before it done. A guest-physical
 * address outside every memslot fails with EFAULT.
 */
export class Vcpu {
  /**
   * @param vm - the VM whose memslots the addresses are in
   * @param thread - the thread that makes the accesses (one of the VM's process); {@link Vm.vcpu} makes one
   */
  constructor(
    /** The VM. */
    readonly vm: Vm,
    /** The thread the accesses run on: it blocks (or throws WouldBlockError) in a userfault. */
    readonly thread: Thread,
  ) {}

  /** The guest reads `len` bytes at guest-physical `gpa` (a guest access: never a userfault on a guest_memfd-only slot). */
  read(gpa: number, len: number): Uint8Array { return this.access(gpa, len, 0, null); }
  /** The guest writes `data` at guest-physical `gpa` (a guest access). */
  write(gpa: number, data: Uint8Array): void { this.access(gpa, data.length, A.KVM_ACCESS_WRITE, data); }
  /** KVM reads `len` bytes at `gpa` through the slot's userspace mapping (kvm_read_guest): faults like a VMM access. */
  kvmRead(gpa: number, len: number): Uint8Array { return this.access(gpa, len, A.KVM_ACCESS_HVA, null); }
  /** KVM writes `data` at `gpa` through the slot's userspace mapping (kvm_write_guest): faults like a VMM access. */
  kvmWrite(gpa: number, data: Uint8Array): void { this.access(gpa, data.length, A.KVM_ACCESS_HVA | A.KVM_ACCESS_WRITE, data); }

  private access(gpa: number, len: number, flags: number, data: Uint8Array | null): Uint8Array {
    const t = this.thread;
    const k = t.kernel.exports;
    const out = data ? EMPTY : new Uint8Array(len);
    for (let done = 0; done < len; ) {
      const n = Math.min(A.BOUNCE_SIZE, len - done);
      if (data) t.bounce.set(data.subarray(done, done + n));
      const r = k.kvm_vcpu_access(t.handle, this.vm.fd, gpa + done, n, flags);
      if (r === ERESTARTSYS) {
        if (t.waitMode === "throw") throw new WouldBlockError(gpa + done);
        waitForWake(t, t.spinLimit);
        continue;
      }
      if (r < 0) throw new SystemError(-r, flags & A.KVM_ACCESS_HVA ? (data ? "kvm_write_guest" : "kvm_read_guest") : "guest access");
      if (!data) out.set(t.bounce.subarray(0, n), done);
      done += n;
    }
    return out;
  }
}
