// A minimal KVM (virt/kvm/kvm_main.c): /dev/kvm, VMs, memslots, and the guest's memory
// accesses. There are no vCPUs that run code: the host drives guest memory accesses through
// the kvm_vcpu_access export (kvm_guest_access below), in the two ways KVM touches guest
// memory: through guest_memfd (kvm_gmem_get_pfn, never a userfault) or
// through the memslot's userspace mapping (copy_{from,to}_user, which faults like any access
// and so raises userfaults and blocks).
import { task_struct, files_struct } from "../../kernel/types";
import { task_bounce } from "../../kernel/sched";
import { file, FILE_KVM_VM, kvm_vm_file, FMODE_READ, FMODE_WRITE } from "../../fs/types";
import { fget, alloc_file, get_unused_fd_flags, put_unused_fd, fd_install } from "../../fs/file";
import { mm_struct } from "../../mm/types";
import { mmdrop } from "../../kernel/fork";
import { kmem_cache_alloc, kmem_cache_free } from "../../mm/slab";
import { alloc_kernel_page, free_page, page_address, virt_to_page } from "../../mm/page_alloc";
import { copy_from_user, copy_to_user } from "../../mm/uaccess";
import { CACHE_SMALL } from "../../init/state";
import { EINVAL, EBADF, EEXIST, EFAULT, ENOMEM, ENOTTY, EIO } from "../../abi/errno";
import { O_RDWR, PAGE_SIZE, TASK_SIZE } from "../../abi/uapi";
import { BOUNCE_SIZE } from "../../abi/kernel";
import * as K from "../../abi/kvm";
import { kvm, kvm_memory_slot, kvm_mmu_entry, KVM, SLOT, KVM_MEMSLOT_GMEM_ONLY, KVM_MMU_ENTRIES } from "./kvm_host";
import { kvm_gmem_create, kvm_gmem_bind, kvm_gmem_get_pfn } from "./guest_memfd";

// @ts-ignore: decorator
@inline function FILES(t: task_struct): files_struct { return changetype<files_struct>(<usize>t.files); }

// ---- VM lifetime -------------------------------------------------------------------------

// @ts-ignore: decorator
@inline export function kvm_get_kvm(vm: kvm): void { vm.users_count++; }

/** kvm_put_kvm: the last reference destroys the VM (kvm_destroy_vm): its memslots, its MMU, its mm reference. */
export function kvm_put_kvm(vm: kvm): void {
  if (--vm.users_count > 0) return;
  let p = vm.memslots;
  while (p != 0) {
    let next = SLOT(p).next;
    kmem_cache_free(CACHE_SMALL, <usize>p);
    p = next;
  }
  free_page(virt_to_page(<usize>vm.mmu));
  mmdrop(changetype<mm_struct>(<usize>vm.mm));
  kmem_cache_free(CACHE_SMALL, changetype<usize>(vm));
}

/** The VM file's last reference went (kvm_vm_release). */
export function kvm_vm_release(f: file): void { kvm_put_kvm(KVM(f.private_data)); }

/** kvm_create_vm: a VM of `type` (only the default type exists) with one reference, or -errno. */
function kvm_create_vm(t: task_struct, type: u64): i64 {
  if (type != <u64>K.KVM_X86_DEFAULT_VM) return -EINVAL;
  let p = kmem_cache_alloc(CACHE_SMALL);
  if (p == 0) return -ENOMEM;
  let mmu = alloc_kernel_page();
  if (!mmu) {
    kmem_cache_free(CACHE_SMALL, p);
    return -ENOMEM;
  }
  let vm = changetype<kvm>(p);
  vm.users_count = 1;
  vm.mmu = <u32>page_address(mmu);
  vm.vm_type = <u32>type;
  let mm = changetype<mm_struct>(<usize>t.mm);
  mm.mm_count++;
  vm.mm = changetype<u32>(mm);
  return <i64>p;
}

/** kvm_dev_ioctl_create_vm: the fd (O_CLOEXEC) first, then the VM and its file. */
function kvm_dev_ioctl_create_vm(t: task_struct, type: u64): i64 {
  let fs = FILES(t);
  let fd = get_unused_fd_flags(fs, true);
  if (fd < 0) return fd;
  let r = kvm_create_vm(t, type);
  if (r < 0) {
    put_unused_fd(fs, fd);
    return r;
  }
  let vm = changetype<kvm>(<usize>r);
  let f = alloc_file(FILE_KVM_VM, null, <u32>O_RDWR, FMODE_READ | FMODE_WRITE);
  if (!f) {
    kvm_put_kvm(vm);
    put_unused_fd(fs, fd);
    return -ENOMEM;
  }
  f.private_data = changetype<u32>(vm);
  fd_install(fs, fd, f);
  return fd;
}

// ---- capabilities ---------------------------------------------------------------------

/** kvm_gmem_get_supported_flags: MMAP always; INIT_SHARED unless the VM has private memory (never here). */
export function kvm_gmem_supported_flags(_vm: kvm | null): u64 {
  return K.GUEST_MEMFD_FLAG_MMAP | K.GUEST_MEMFD_FLAG_INIT_SHARED;
}

/**
 * kvm_vm_ioctl_check_extension_generic, for the capabilities that concern memory (values of
 * 6.18 x86-64 with a default VM, measured). Every other capability reports 0: uffdlab's
 * KVM has no vCPUs, irqchips, dirty logging or the rest.
 */
function kvm_check_extension(vm: kvm | null, cap: u64): i64 {
  if (cap > 0xffffffff) return 0;
  switch (<u32>cap) {
    case K.KVM_CAP_USER_MEMORY: case K.KVM_CAP_DESTROY_MEMORY_REGION_WORKS: case K.KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
    case K.KVM_CAP_CHECK_EXTENSION_VM: case K.KVM_CAP_USER_MEMORY2: case K.KVM_CAP_GUEST_MEMFD:
      return 1;
    case K.KVM_CAP_NR_MEMSLOTS: return <i64>K.KVM_USER_MEM_SLOTS;
    case K.KVM_CAP_VM_TYPES: return 1 << K.KVM_X86_DEFAULT_VM;
    case K.KVM_CAP_GUEST_MEMFD_FLAGS: return <i64>kvm_gmem_supported_flags(vm);
  }
  return 0;
}

// ---- /dev/kvm ---------------------------------------------------------------------------

/** kvm_dev_ioctl: ioctls on the /dev/kvm fd; anything else is EINVAL (not ENOTTY). */
export function kvm_dev_ioctl(t: task_struct, cmd: u32, arg: u64): i64 {
  switch (cmd) {
    case K.KVM_GET_API_VERSION: return arg != 0 ? -EINVAL : K.KVM_API_VERSION;
    case K.KVM_CREATE_VM: return kvm_dev_ioctl_create_vm(t, arg);
    case K.KVM_CHECK_EXTENSION: return kvm_check_extension(null, arg);
  }
  return -EINVAL;
}

// ---- memslots ---------------------------------------------------------------------------

function id_to_memslot(vm: kvm, id: u32): kvm_memory_slot | null {
  let p = vm.memslots;
  while (p != 0) {
    if (SLOT(p).id == id) return SLOT(p);
    p = SLOT(p).next;
  }
  return null;
}

/** The slot containing `gfn` (gfn_to_memslot), or null. */
export function gfn_to_memslot(vm: kvm, gfn: u64): kvm_memory_slot | null {
  let p = vm.memslots;
  while (p != 0) {
    let s = SLOT(p);
    if (gfn >= s.base_gfn && gfn - s.base_gfn < s.npages) return s;
    p = s.next;
  }
  return null;
}

/** kvm_check_memslot_overlap: another slot of the address space covers part of [start, end). */
function kvm_check_memslot_overlap(vm: kvm, id: u32, start: u64, end: u64): bool {
  let p = vm.memslots;
  while (p != 0) {
    let s = SLOT(p);
    p = s.next;
    if (s.id == id) continue;
    if (s.base_gfn < end && start < s.base_gfn + s.npages) return true;
  }
  return false;
}

// @ts-ignore: decorator
@inline function mmu_entry(vm: kvm, i: u32): kvm_mmu_entry {
  return changetype<kvm_mmu_entry>(<usize>vm.mmu + <usize>i * offsetof<kvm_mmu_entry>());
}

/** kvm_mmu_unmap_gfn_range: drop the guest mappings of gfns [start, end). */
export function kvm_mmu_unmap_gfn_range(vm: kvm, start: u64, end: u64): void {
  for (let i: u32 = 0; i < KVM_MMU_ENTRIES; i++) {
    let e = mmu_entry(vm, i);
    if (e.gfn1 == 0) continue;
    let gfn = e.gfn1 - 1;
    if (gfn >= start && gfn < end) {
      e.gfn1 = 0;
      e.pa = 0;
    }
  }
}

/** check_memory_region_flags: guest_memfd excludes dirty logging and read-only slots. */
function check_memory_region_flags(flags: u32): bool {
  let valid = K.KVM_MEM_LOG_DIRTY_PAGES | K.KVM_MEM_GUEST_MEMFD;
  if (flags & K.KVM_MEM_GUEST_MEMFD) valid &= ~K.KVM_MEM_LOG_DIRTY_PAGES;
  else valid |= K.KVM_MEM_READONLY;
  return (flags & ~valid) == 0;
}

/**
 * kvm_set_memory_region (+ __kvm_set_memory_region): create, delete, move or re-flag a slot,
 * with Linux's checks in Linux's order (kvm_set_memory_region, check_memory_region_flags). guest_memfd slots are immutable: only
 * deletion (size 0) is allowed.
 */
function kvm_set_memory_region(t: task_struct, vm: kvm, m: K.kvm_userspace_memory_region2): i64 {
  if ((m.slot & 0xffff) >= K.KVM_USER_MEM_SLOTS) return -EINVAL;
  if (!check_memory_region_flags(m.flags)) return -EINVAL;
  let as_id = m.slot >> 16;
  let size = m.memory_size;
  if (size & (PAGE_SIZE - 1)) return -EINVAL;
  if (m.guest_phys_addr & (PAGE_SIZE - 1)) return -EINVAL;
  let ua = m.userspace_addr;
  if ((ua & (PAGE_SIZE - 1)) || size > TASK_SIZE || ua > TASK_SIZE - size) return -EINVAL;
  if ((m.flags & K.KVM_MEM_GUEST_MEMFD) && ((m.guest_memfd_offset & (PAGE_SIZE - 1)) || m.guest_memfd_offset + size < m.guest_memfd_offset)) return -EINVAL;
  // One address space (no SMM): KVM_CAP_MULTI_ADDRESS_SPACE is 0.
  if (as_id >= 1) return -EINVAL;
  if (m.guest_phys_addr + size < m.guest_phys_addr) return -EINVAL;
  if ((size >> 12) > K.KVM_MEM_MAX_NR_PAGES) return -EINVAL;
  let old = id_to_memslot(vm, m.slot);
  if (size == 0) {
    if (!old) return -EINVAL;
    kvm_delete_memslot(vm, old);
    return 0;
  }
  let base_gfn = m.guest_phys_addr >> 12;
  let npages = size >> 12;
  if (old) {
    if (m.flags & K.KVM_MEM_GUEST_MEMFD) return -EINVAL;
    if (ua != old.userspace_addr || npages != old.npages || ((m.flags ^ old.flags) & (K.KVM_MEM_READONLY | K.KVM_MEM_GUEST_MEMFD))) return -EINVAL;
    if (base_gfn == old.base_gfn) {
      // KVM_MR_FLAGS_ONLY, or nothing to change.
      old.flags = m.flags;
      return 0;
    }
  }
  if (kvm_check_memslot_overlap(vm, m.slot, base_gfn, base_gfn + npages)) return -EEXIST;
  if (old) {
    // KVM_MR_MOVE: the guest's view of the old range goes.
    kvm_mmu_unmap_gfn_range(vm, old.base_gfn, old.base_gfn + old.npages);
    old.base_gfn = base_gfn;
    return 0;
  }
  let p = kmem_cache_alloc(CACHE_SMALL);
  if (p == 0) return -ENOMEM;
  let s = changetype<kvm_memory_slot>(p);
  s.id = m.slot;
  s.flags = m.flags;
  s.base_gfn = base_gfn;
  s.npages = npages;
  s.userspace_addr = ua;
  if (m.flags & K.KVM_MEM_GUEST_MEMFD) {
    let r = kvm_gmem_bind(t, vm, s, m.guest_memfd, m.guest_memfd_offset);
    if (r < 0) {
      kmem_cache_free(CACHE_SMALL, p);
      return r;
    }
  }
  s.next = vm.memslots;
  vm.memslots = <u32>p;
  vm.nr_memslots++;
  return 0;
}

/** KVM_MR_DELETE: zap the slot's guest mappings, unbind it (kvm_gmem_unbind), free it. */
function kvm_delete_memslot(vm: kvm, s: kvm_memory_slot): void {
  kvm_mmu_unmap_gfn_range(vm, s.base_gfn, s.base_gfn + s.npages);
  let pp = changetype<usize>(vm) + offsetof<kvm>("memslots");
  while (load<u32>(pp) != changetype<u32>(s)) pp = <usize>load<u32>(pp) + offsetof<kvm_memory_slot>("next");
  store<u32>(pp, s.next);
  vm.nr_memslots--;
  kmem_cache_free(CACHE_SMALL, changetype<usize>(s));
}

// ---- VM ioctls ----------------------------------------------------------------------------

/** kvm_vm_ioctl. The argument structures are read through the task's scratch page. */
export function kvm_vm_ioctl(t: task_struct, f: file, cmd: u32, arg: u64, scratch: usize): i64 {
  let vm = KVM(f.private_data);
  if (vm.mm != t.mm) return -EIO;
  switch (cmd) {
    case K.KVM_CHECK_EXTENSION: return kvm_check_extension(vm, arg);
    case K.KVM_CREATE_GUEST_MEMFD: {
      let a = changetype<K.kvm_create_guest_memfd>(scratch);
      // A userfault on the argument: -ERESTARTSYS, the call is reissued after the wake.
      { let e = copy_from_user(t, scratch, arg, offsetof<K.kvm_create_guest_memfd>()); if (e < 0) return e; }
      return kvm_gmem_create(t, vm, <i64>a.size, a.flags);
    }
    case K.KVM_SET_USER_MEMORY_REGION: case K.KVM_SET_USER_MEMORY_REGION2: {
      let m = changetype<K.kvm_userspace_memory_region2>(scratch);
      let n = cmd == K.KVM_SET_USER_MEMORY_REGION2 ? offsetof<K.kvm_userspace_memory_region2>() : offsetof<K.kvm_userspace_memory_region>();
      memory.fill(scratch, 0, offsetof<K.kvm_userspace_memory_region2>());
      { let e = copy_from_user(t, scratch, arg, n); if (e < 0) return e; }
      // The older structure has no guest_memfd fields: only the old flags are allowed there.
      if (cmd == K.KVM_SET_USER_MEMORY_REGION && (m.flags & ~(K.KVM_MEM_LOG_DIRTY_PAGES | K.KVM_MEM_READONLY))) return -EINVAL;
      return kvm_set_memory_region(t, vm, m);
    }
  }
  return -ENOTTY;
}

// ---- guest memory accesses (the vCPU-like accessor) -----------------------------------------

/**
 * The frame behind `gfn` for a guest access through guest_memfd: the cached translation
 * (the "SPTE"), or kvm_gmem_get_pfn, whose result is then cached until an invalidation.
 */
function kvm_gmem_translate(vm: kvm, s: kvm_memory_slot, gfn: u64): i64 {
  let e = mmu_entry(vm, <u32>(gfn & (KVM_MMU_ENTRIES - 1)));
  if (e.gfn1 == gfn + 1) return <i64>e.pa;
  let pa = kvm_gmem_get_pfn(s, gfn);
  if (pa < 0) return pa;
  e.gfn1 = gfn + 1;
  e.pa = <u32>pa;
  return pa;
}

/**
 * One guest memory access of `len` bytes (≤ BOUNCE_SIZE) at `gpa`, to or from the task's
 * bounce page. With KVM_ACCESS_HVA, or on a slot that is not guest_memfd-only, the access goes
 * through the slot's userspace mapping in the VMM's address space (kvm_read_guest /
 * hva_to_pfn: copy_{from,to}_user), so it faults, raises userfaults and may block
 * (-ERESTARTSYS: the host waits and repeats the access). Otherwise it goes through
 * kvm_gmem_get_pfn and never raises a userfault. Returns `len`, or -errno: EBADF/EINVAL (not
 * a VM fd), EIO (another process's VM), EFAULT (no slot, or the mapping cannot be accessed).
 */
export function kvm_guest_access(t: task_struct, vmfd: i64, gpa: u64, len: i32, flags: i32): i64 {
  let f = fget(FILES(t), vmfd);
  if (!f) return -EBADF;
  if (!kvm_vm_file(f) || len < 0 || len > BOUNCE_SIZE) return -EINVAL;
  let vm = KVM(f.private_data);
  if (vm.mm != t.mm) return -EIO;
  let write = (flags & K.KVM_ACCESS_WRITE) != 0;
  let buf = task_bounce(t);
  let done: i32 = 0;
  while (done < len) {
    let at = gpa + <u64>done;
    let n = <i32>PAGE_SIZE - <i32>(at & (PAGE_SIZE - 1));
    if (n > len - done) n = len - done;
    let gfn = at >> 12;
    let s = gfn_to_memslot(vm, gfn);
    if (!s) return -EFAULT;
    if (!(flags & K.KVM_ACCESS_HVA) && (s.flags & KVM_MEMSLOT_GMEM_ONLY)) {
      let pa = kvm_gmem_translate(vm, s, gfn);
      if (pa < 0) return pa;
      let k = <usize>pa + <usize>(at & (PAGE_SIZE - 1));
      if (write) memory.copy(k, buf + <usize>done, <usize>n);
      else memory.copy(buf + <usize>done, k, <usize>n);
    } else {
      if (write && (s.flags & K.KVM_MEM_READONLY)) return -EFAULT;
      let hva = s.userspace_addr + ((gfn - s.base_gfn) << 12) + (at & (PAGE_SIZE - 1));
      let r = write ? copy_to_user(t, hva, buf + <usize>done, <u64>n) : copy_from_user(t, buf + <usize>done, hva, <u64>n);
      if (r < 0) return r;
    }
    done += n;
  }
  return <i64>done;
}
