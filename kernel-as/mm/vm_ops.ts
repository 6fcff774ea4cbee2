// Per-memory-type operations, as dispatch over vma.vm_ops: vm_operations_struct (->fault)
// and the series' vm_uffd_ops (can_userfault, get_folio_noalloc, alloc_folio, filemap_add,
// filemap_remove, as the guest_memfd userfaultfd series adds them).
//
// AssemblyScript function references would need managed objects, so each operation is a
// switch on the VMA's memory type (VMA_OPS_*). Adding a memory type means one case in each
// dispatcher here; callers never test the type themselves.
import { vm_fault, vm_area_struct, VM_FAULT_SIGBUS } from "./types";
import { VMA_OPS_ANON, VMA_OPS_SHMEM, VMA_OPS_GMEM, VM_DROPPABLE, VM_UFFD_MISSING, VM_UFFD_WP, VM_UFFD_MINOR } from "../abi/kernel";
import { UFFD_FEATURE_WP_ASYNC } from "../abi/uapi";
import { EEXIST, ENOMEM } from "../abi/errno";
import { VMA, vma_inode, linear_page_index } from "./vma";
import { page, alloc_zeroed_page, get_page, PG_dirty } from "./page_alloc";
import { shmem_fault, shmem_add_to_page_cache, shmem_delete_from_page_cache, filemap_get, size_pages, shmem_get_folio, SGP_NOALLOC } from "./shmem";
import { KSCRATCH_ADDR } from "../init/state";
import { kvm_gmem_fault_user_mapping, kvm_gmem_can_userfault, kvm_gmem_get_folio_noalloc, kvm_gmem_alloc_folio } from "../virt/kvm/guest_memfd";

/** ->fault: find or create the page for vmf.pgoff; on success vmf.page is referenced. */
export function vma_ops_fault(vmf: vm_fault): u32 {
  let ops = VMA(vmf.vma).vm_ops;
  if (ops == VMA_OPS_SHMEM) return shmem_fault(vmf);
  if (ops == VMA_OPS_GMEM) return kvm_gmem_fault_user_mapping(vmf);
  return VM_FAULT_SIGBUS;
}

// ---- vm_uffd_ops ---------------------------------------------------------------------------

/** Which vm_uffd_ops a VMA has (vma_uffd_ops): anonymous VMAs use the internal anon ops. */
export const UFFD_OPS_NONE: u32 = 0;
export const UFFD_OPS_ANON: u32 = 1;
export const UFFD_OPS_SHMEM: u32 = 2;
/** guest_memfd's uffd_ops (v2 patch 13; virt/kvm/guest_memfd.ts). */
export const UFFD_OPS_GMEM: u32 = 3;

export function vma_uffd_ops(v: vm_area_struct): u32 {
  if (v.vm_ops == VMA_OPS_ANON) return UFFD_OPS_ANON;
  if (v.vm_ops == VMA_OPS_SHMEM) return UFFD_OPS_SHMEM;
  if (v.vm_ops == VMA_OPS_GMEM) return UFFD_OPS_GMEM;
  return UFFD_OPS_NONE;
}

/** ->can_userfault(vma, flags). */
function uffd_ops_can_userfault(ops: u32, v: vm_area_struct, uflags: u64): bool {
  if (ops == UFFD_OPS_ANON) return !(uflags & VM_UFFD_MINOR); // anonymous memory has no MINOR mode
  if (ops == UFFD_OPS_SHMEM) return true;
  if (ops == UFFD_OPS_GMEM) return kvm_gmem_can_userfault(v);
  return false;
}

/** Whether the ops implement ->get_folio_noalloc (every file type uffdlab has does). */
// @ts-ignore: decorator
@inline function uffd_ops_has_get_folio_noalloc(ops: u32): bool { return ops == UFFD_OPS_SHMEM || ops == UFFD_OPS_GMEM; }

/**
 * vma_can_userfault (with the series' v2 get_folio_noalloc step): may `v` be registered with
 * the uffd flags `uflags` by a ctx with `features`?
 */
export function vma_can_userfault(v: vm_area_struct, uflags: u64, features: u64): bool {
  if (v.vm_flags & VM_DROPPABLE) return false;
  uflags &= VM_UFFD_MISSING | VM_UFFD_WP | VM_UFFD_MINOR;
  if ((features & UFFD_FEATURE_WP_ASYNC) && uflags == VM_UFFD_WP) return true;
  let ops = vma_uffd_ops(v);
  if (ops == UFFD_OPS_NONE) return false;
  // x86-64 has uffd-wp PTE markers: step 5 never refuses here.
  if (ops != UFFD_OPS_ANON && (uflags & (VM_UFFD_MISSING | VM_UFFD_MINOR)) && !uffd_ops_has_get_folio_noalloc(ops)) return false;
  return uffd_ops_can_userfault(ops, v, uflags);
}

/**
 * ->get_folio_noalloc(inode, pgoff): the page-cache page at `addr`'s file offset with a
 * reference for the caller, or null when nothing is cached (never allocates). Used by
 * CONTINUE; shmem's callers check EOF first (6.18's EINVAL), guest_memfd's
 * do not (nothing is cached there: EFAULT, row 6).
 */
export function uffd_ops_get_folio_noalloc(v: vm_area_struct, addr: u64): page | null {
  let ops = vma_uffd_ops(v);
  if (ops == UFFD_OPS_GMEM) return kvm_gmem_get_folio_noalloc(vma_inode(v)!, linear_page_index(v, addr));
  if (!uffd_ops_has_get_folio_noalloc(ops)) return null;
  return shmem_get_folio(vma_inode(v)!, linear_page_index(v, addr), SGP_NOALLOC, KSCRATCH_ADDR);
}

/** Whether `v`'s ops have ->get_folio_noalloc (CONTINUE refuses with EINVAL otherwise). */
export function vma_has_get_folio_noalloc(v: vm_area_struct): bool {
  return uffd_ops_has_get_folio_noalloc(vma_uffd_ops(v));
}

/**
 * ->alloc_folio(vma, addr): a new zeroed page with one reference, or null. For a private
 * VMA (anonymous memory, or a private file mapping) the anonymous ops allocate; shmem
 * returns nothing at/after EOF (its fill path has already refused such offsets), nor
 * does guest_memfd (whose fill path has not: COPY there is ENOMEM).
 */
export function uffd_ops_alloc_folio(v: vm_area_struct, addr: u64, shared: bool): page | null {
  if (vma_uffd_ops(v) == UFFD_OPS_GMEM) return kvm_gmem_alloc_folio(v, addr);
  if (shared && vma_uffd_ops(v) == UFFD_OPS_SHMEM) {
    let ino = vma_inode(v)!;
    if (linear_page_index(v, addr) >= size_pages(ino)) return null;
  }
  return alloc_zeroed_page();
}

/**
 * ->filemap_add(folio, vma, addr): insert into the page cache; the cache takes its own
 * reference. shmem and guest_memfd share the page-cache code, so one body serves both.
 */
export function uffd_ops_filemap_add(v: vm_area_struct, p: page, addr: u64): i32 {
  let ino = vma_inode(v)!;
  let idx = linear_page_index(v, addr);
  if (filemap_get(ino, idx)) return -EEXIST;
  get_page(p);
  if (!shmem_add_to_page_cache(ino, p, idx)) {
    p._refcount--;
    return -ENOMEM;
  }
  p.flags |= PG_dirty;
  return 0;
}

/** ->filemap_remove(folio, vma): undo filemap_add after a failed PTE install. */
export function uffd_ops_filemap_remove(v: vm_area_struct, p: page): void {
  shmem_delete_from_page_cache(vma_inode(v)!, p);
}
