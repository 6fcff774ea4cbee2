// guest_memfd (virt/kvm/guest_memfd.c): guest memory as a file. Its pages live in the inode's
// page cache (the same radix index as shmem); the inode remembers the creation flags
// (inode.i_private). The file's private_data is its VM (the file holds a VM reference).
//
// Reached from mm/ only through the dispatchers of mm/vm_ops.ts (->fault and vm_uffd_ops);
// like shmem, the fault handler reports userfaults as VM_FAULT_UFFD_MINOR / _MISSING and
// never calls into fs/userfaultfd (the structure of the RFC guest_memfd userfaultfd series).
import { file, inode, FILE_GMEM, gmem_file, INODE_GMEM, FMODE_READ, FMODE_WRITE } from "../../fs/types";
import { fget, file_inode, alloc_file, get_unused_fd_flags, put_unused_fd, fd_install } from "../../fs/file";
import { new_inode, iput } from "../../fs/inode";
import { files_struct, task_struct } from "../../kernel/types";
import { vm_fault, vm_area_struct, VM_FAULT_SIGBUS, VM_FAULT_OOM, VM_FAULT_LOCKED, VM_FAULT_UFFD_MINOR, VM_FAULT_UFFD_MISSING } from "../../mm/types";
import { VM_SHARED, VM_MAYWRITE } from "../../abi/kernel";
import { EINVAL, EBADF, ENODEV, EOPNOTSUPP, ENOMEM, EFAULT } from "../../abi/errno";
import { PAGE_SIZE, S_IFREG, O_RDWR, O_LARGEFILE, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from "../../abi/uapi";
import { GUEST_MEMFD_FLAG_MMAP, GUEST_MEMFD_FLAG_INIT_SHARED } from "../../abi/kvm";
import { page, alloc_zeroed_page, page_address, get_page, put_page, PG_uptodate, PG_dirty } from "../../mm/page_alloc";
import { VMA, vma_inode, linear_page_index } from "../../mm/vma";
import { userfaultfd_minor, userfaultfd_missing } from "../../mm/userfaultfd_k";
import { filemap_get, filemap_add_folio, shmem_punch_hole, size_pages } from "../../mm/shmem";
import { kvm, kvm_memory_slot, KVM, SLOT, KVM_MEMSLOT_GMEM_ONLY } from "./kvm_host";
import { kvm_get_kvm, kvm_put_kvm, kvm_mmu_unmap_gfn_range, kvm_gmem_supported_flags } from "./kvm_main";

// @ts-ignore: decorator
@inline function gmem_flags(ino: inode): u64 { return <u64>ino.i_private; }
// @ts-ignore: decorator
@inline export function kvm_gmem_supports_mmap(ino: inode): bool { return (gmem_flags(ino) & GUEST_MEMFD_FLAG_MMAP) != 0; }
// @ts-ignore: decorator
@inline export function kvm_gmem_is_shared(ino: inode): bool { return (gmem_flags(ino) & GUEST_MEMFD_FLAG_INIT_SHARED) != 0; }
// @ts-ignore: decorator
@inline function FILES(t: task_struct): files_struct { return changetype<files_struct>(<usize>t.files); }

/**
 * kvm_gmem_create: KVM_CREATE_GUEST_MEMFD. Flags outside the VM's supported mask, and a size
 * that is not positive or not page-aligned, are EINVAL; the reserved fields are not looked at
 * (measured on 6.18). Returns the new fd (without O_CLOEXEC).
 */
export function kvm_gmem_create(t: task_struct, vm: kvm, size: i64, flags: u64): i64 {
  if (flags & ~kvm_gmem_supported_flags(vm)) return -EINVAL;
  if (size <= 0 || (size & (PAGE_SIZE - 1))) return -EINVAL;
  // __kvm_gmem_create: the fd first, then the inode and the file.
  let fs = FILES(t);
  let fd = get_unused_fd_flags(fs, false);
  if (fd < 0) return fd;
  let ino = new_inode(INODE_GMEM);
  if (!ino) {
    put_unused_fd(fs, fd);
    return -ENOMEM;
  }
  ino.i_mode = <u32>S_IFREG | 0o600;
  ino.i_size = size;
  ino.i_private = <u32>flags;
  let f = alloc_file(FILE_GMEM, ino, <u32>(O_RDWR | O_LARGEFILE), FMODE_READ | FMODE_WRITE);
  if (!f) {
    iput(ino);
    put_unused_fd(fs, fd);
    return -ENOMEM;
  }
  kvm_get_kvm(vm);
  f.private_data = changetype<u32>(vm);
  fd_install(fs, fd, f);
  return fd;
}

/**
 * kvm_gmem_mmap (after do_mmap's generic file checks): no MMAP flag → ENODEV, a private (COW)
 * mapping → EINVAL. Returns the vm_flags or -errno.
 */
export function kvm_gmem_mmap(f: file, vm_flags: u64): i64 {
  if (!kvm_gmem_supports_mmap(file_inode(f))) return -ENODEV;
  // is_cow_mapping: private and may be written.
  if ((vm_flags & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE) return -EINVAL;
  return <i64>vm_flags;
}

/**
 * kvm_gmem_get_folio: the cached page at `index`, or a new zeroed one inserted into the cache
 * (not yet up to date: callers zero-and-mark on first use, __kvm_gmem_prepare_folio). The
 * caller gets its own reference. null: out of memory.
 */
function kvm_gmem_get_folio(ino: inode, index: u64): page | null {
  let p = filemap_get(ino, index);
  if (!p) {
    p = alloc_zeroed_page();
    if (!p) return null;
    if (!filemap_add_folio(ino, p, index)) {
      put_page(p);
      return null;
    }
  }
  get_page(p);
  return p;
}

/** Zero a folio that is not up to date and mark it (the first use of an fallocate'd page). */
function kvm_gmem_mark_prepared(p: page): void {
  if (p.flags & PG_uptodate) return;
  memory.fill(page_address(p), 0, PAGE_SIZE);
  p.flags |= PG_uptodate;
}

/**
 * kvm_gmem_fault_user_mapping: the ->fault of guest_memfd VMAs. At/after EOF and on
 * memory that is not shared (no INIT_SHARED) → SIGBUS, before any userfault decision
 * (so no message is queued there, as shmem on 6.18). Then, as shmem_fault: a cached page on a
 * MINOR-registered VMA → VM_FAULT_UFFD_MINOR; a hole on a MISSING-registered VMA →
 * VM_FAULT_UFFD_MISSING; otherwise the page, allocated if needed and zeroed on first use.
 */
export function kvm_gmem_fault_user_mapping(vmf: vm_fault): u32 {
  let vma = VMA(vmf.vma);
  let ino = vma_inode(vma)!;
  if (vmf.pgoff >= size_pages(ino)) return VM_FAULT_SIGBUS;
  if (!kvm_gmem_is_shared(ino)) return VM_FAULT_SIGBUS;
  let p = filemap_get(ino, vmf.pgoff);
  if (p) {
    if (userfaultfd_minor(vma)) return VM_FAULT_UFFD_MINOR;
  } else if (userfaultfd_missing(vma)) {
    return VM_FAULT_UFFD_MISSING;
  }
  let np = kvm_gmem_get_folio(ino, vmf.pgoff);
  if (!np) return VM_FAULT_OOM;
  kvm_gmem_mark_prepared(np);
  np.flags |= PG_dirty;
  vmf.page = changetype<u32>(np);
  return VM_FAULT_LOCKED;
}

// ---- vm_uffd_ops (v2 patch 13) ---------------------------------------------------------------

/** ->can_userfault: any mode, if and only if the memory is shared from the start (INIT_SHARED). */
export function kvm_gmem_can_userfault(v: vm_area_struct): bool {
  return kvm_gmem_is_shared(vma_inode(v)!);
}

/**
 * ->get_folio_noalloc: the cached page at `index` with a reference, or null (never creates).
 * A page fallocate left not up to date is zeroed here, so CONTINUE maps zeros.
 */
export function kvm_gmem_get_folio_noalloc(ino: inode, index: u64): page | null {
  let p = filemap_get(ino, index);
  if (!p) return null;
  kvm_gmem_mark_prepared(p);
  get_page(p);
  return p;
}

/** ->alloc_folio: nothing at/after EOF (so COPY and ZEROPAGE there are ENOMEM); else a zeroed page. */
export function kvm_gmem_alloc_folio(v: vm_area_struct, addr: u64): page | null {
  if (linear_page_index(v, addr) >= size_pages(vma_inode(v)!)) return null;
  return alloc_zeroed_page();
}

// ---- fallocate --------------------------------------------------------------------------------

/** The VM of a guest_memfd file. */
// @ts-ignore: decorator
@inline function gmem_kvm(f: file): kvm { return KVM(f.private_data); }

/**
 * kvm_gmem_invalidate_begin: zap the guest mappings of file pages [start, end) in every
 * memslot bound to `f` (kvm_mmu_unmap_gfn_range over the overlapping gfns).
 */
function kvm_gmem_invalidate(f: file, start: u64, end: u64): void {
  let vm = gmem_kvm(f);
  let p = vm.memslots;
  while (p != 0) {
    let s = SLOT(p);
    p = s.next;
    if (s.gmem_file != changetype<u32>(f)) continue;
    let a = s.gmem_pgoff > start ? s.gmem_pgoff : start;
    let b = s.gmem_pgoff + s.npages < end ? s.gmem_pgoff + s.npages : end;
    if (a >= b) continue;
    kvm_mmu_unmap_gfn_range(vm, s.base_gfn + (a - s.gmem_pgoff), s.base_gfn + (b - s.gmem_pgoff));
  }
}

/** kvm_gmem_punch_hole: invalidate guest mappings, then truncate the range (which zaps user mappings). */
function kvm_gmem_punch_hole(f: file, offset: u64, len: u64): i32 {
  kvm_gmem_invalidate(f, offset >> 12, (offset + len) >> 12);
  shmem_punch_hole(file_inode(f), offset, len);
  return 0;
}

/** kvm_gmem_allocate: pages are added to the cache, not zeroed or marked up to date (zeroed on first use). */
function kvm_gmem_allocate(ino: inode, offset: u64, len: u64): i32 {
  if (offset + len > <u64>ino.i_size) return -EINVAL;
  let end = (offset + len) >> 12;
  for (let i = offset >> 12; i < end; i++) {
    let p = kvm_gmem_get_folio(ino, i);
    if (!p) return -ENOMEM;
    put_page(p);
  }
  return 0;
}

/** kvm_gmem_fallocate: after vfs_fallocate's generic checks (fs/open.ts). */
export function kvm_gmem_fallocate(f: file, mode: i32, offset: i64, len: i64): i32 {
  if (!(mode & FALLOC_FL_KEEP_SIZE)) return -EOPNOTSUPP;
  if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) return -EOPNOTSUPP;
  if ((offset & (PAGE_SIZE - 1)) || (len & (PAGE_SIZE - 1))) return -EINVAL;
  if (mode & FALLOC_FL_PUNCH_HOLE) return kvm_gmem_punch_hole(f, <u64>offset, <u64>len);
  return kvm_gmem_allocate(file_inode(f), <u64>offset, <u64>len);
}

// ---- memslot binding ----------------------------------------------------------------------

/**
 * kvm_gmem_bind: bind file pages [offset, offset + npages) of the guest_memfd `fd` to `slot`.
 * Not an open file → EBADF; not a guest_memfd, another VM's, offset unaligned or negative,
 * range beyond the size, or a range overlapping another slot's → EINVAL.
 */
export function kvm_gmem_bind(t: task_struct, vm: kvm, slot: kvm_memory_slot, fd: u32, offset: u64): i32 {
  let f = fget(FILES(t), <i64>fd);
  if (!f) return -EBADF;
  if (!gmem_file(f)) return -EINVAL;
  if (f.private_data != changetype<u32>(vm)) return -EINVAL;
  let ino = file_inode(f);
  let size = slot.npages << 12;
  if (<i64>offset < 0 || (offset & (PAGE_SIZE - 1)) || <i64>(offset + size) > ino.i_size) return -EINVAL;
  let start = offset >> 12;
  let end = start + slot.npages;
  let p = vm.memslots;
  while (p != 0) {
    let s = SLOT(p);
    p = s.next;
    if (s.gmem_file != changetype<u32>(f)) continue;
    if (s.gmem_pgoff < end && start < s.gmem_pgoff + s.npages) return -EINVAL;
  }
  slot.gmem_file = changetype<u32>(f);
  slot.gmem_pgoff = start;
  if (kvm_gmem_supports_mmap(ino)) slot.flags |= KVM_MEMSLOT_GMEM_ONLY;
  return 0;
}

/** kvm_gmem_release: the file's last reference went: unbind its slots, zap their guest mappings, drop the VM. */
export function kvm_gmem_release(f: file): void {
  let vm = gmem_kvm(f);
  kvm_gmem_invalidate(f, 0, <u64>-1);
  let p = vm.memslots;
  while (p != 0) {
    let s = SLOT(p);
    p = s.next;
    if (s.gmem_file == changetype<u32>(f)) s.gmem_file = 0;
  }
  kvm_put_kvm(vm);
}

/**
 * kvm_gmem_get_pfn: the frame behind `gfn` of a guest_memfd slot for a guest access. Uses
 * the page cache only (never userspace page tables, so never a userfault):
 * an absent page is allocated, one not up to date is zeroed. Returns the page's linear
 * address, or -EFAULT (the file was released), -ENOMEM.
 */
export function kvm_gmem_get_pfn(slot: kvm_memory_slot, gfn: u64): i64 {
  if (slot.gmem_file == 0) return -EFAULT;
  let f = changetype<file>(<usize>slot.gmem_file);
  let ino = file_inode(f);
  let index = slot.gmem_pgoff + (gfn - slot.base_gfn);
  if (index >= size_pages(ino)) return -EFAULT;
  let p = kvm_gmem_get_folio(ino, index);
  if (!p) return -ENOMEM;
  kvm_gmem_mark_prepared(p);
  p.flags |= PG_dirty;
  let pa = page_address(p);
  // The cache's reference keeps the page; KVM's mappings hold none (they are zapped instead).
  put_page(p);
  return <i64>pa;
}
