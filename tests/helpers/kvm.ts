// KVM test helpers: a VM and guest_memfds on a fresh kernel.
import { A, PAGE } from "./kernel.js";
import { Kernel, Kvm, CAP_SYS_PTRACE, type Vm, type GuestMemfd, type Process } from "../../host-ts/index.js";

export const MMAP = A.GUEST_MEMFD_FLAG_MMAP;
export const INIT_SHARED = A.GUEST_MEMFD_FLAG_INIT_SHARED;
export const SHARED = MMAP | INIT_SHARED;
export const GMEM = A.KVM_MEM_GUEST_MEMFD;

/**
 * A kernel, a process, /dev/kvm and one default VM. The process has CAP_SYS_PTRACE, so its
 * userfaultfds may handle kernel-mode faults (KVM's accesses to the userspace mapping are
 * kernel faults; without the capability only UFFD_USER_MODE_ONLY is allowed).
 */
export async function bootVm(): Promise<{ k: Kernel; p: Process; kvm: Kvm; vm: Vm }> {
  const k = await Kernel.boot({ memoryBytes: 32 << 20 });
  const p = k.spawn({ caps: CAP_SYS_PTRACE });
  const kvm = Kvm.open(p);
  return { k, p, kvm, vm: kvm.createVm() };
}

/** A guest_memfd of `pages` pages with `flags` on `vm`. */
export function gmem(vm: Vm, pages = 4, flags: number | bigint = SHARED): GuestMemfd {
  return vm.createGuestMemfd(pages * PAGE, flags);
}

/** Raw ioctl result (value or -errno) of KVM_SET_USER_MEMORY_REGION2. */
export function setRegion(p: Process, vm: Vm, bytes: Uint8Array, req: number = A.KVM_SET_USER_MEMORY_REGION2): bigint {
  return p.ioctl(vm.fd, req, bytes).ret;
}

export function errno(name: string): bigint {
  return -BigInt((A as unknown as Record<string, number>)[name]);
}
