// Filling ranges for userfaultfd (mm/userfaultfd.c, RFC structure): the ladder
//   mfill_atomic_copy / _zeropage  (thin wrappers per mode)
//   -> mfill_atomic                (validate, find the VMA: mfill_get_vma / mfill_put_vma)
//   -> mfill_atomic_pte            (per page, dispatch per mode and VMA kind)
//   -> mfill_atomic_install_pte    (the one place that installs a PTE)
// with one struct mfill_state carrying the operation. Knows nothing of fds or messages:
// the caller (fs/userfaultfd.ts) turns the result into the out-field and wakes faulters.
// Memory types are reached only through the vm_uffd_ops dispatchers (mm/vm_ops.ts).
import { task_struct } from "../kernel/types";
import { task_scratch } from "../kernel/sched";
import { mm_struct, vm_area_struct } from "./types";
import { VM_SHARED, VM_WRITE, VM_UFFD_WP } from "../abi/kernel";
import { PAGE_SIZE } from "../abi/uapi";
import { ENOENT, EINVAL, EEXIST, ENOMEM, EFAULT } from "../abi/errno";
import { page, page_address, put_page, zero_page_pa, PG_anon } from "./page_alloc";
import { pte_offset_alloc, set_pte, pte_none, is_pte_marker, pte_marker_get, mk_pte, pte_mkdirty, pte_mkyoung,
  _PAGE_PRESENT, _PAGE_USER, _PAGE_SPECIAL, _PAGE_UFFD_WP, PTE_MARKER_UFFD_WP, PTE_MARKER_POISONED } from "./pgtable";
import { VMA, vma_lookup, vma_is_anonymous, linear_page_index, anon_vma_prepare, vma_inode } from "./vma";
import { uffd_ops_alloc_folio, uffd_ops_filemap_add, uffd_ops_filemap_remove, vma_uffd_ops, UFFD_OPS_NONE } from "./vm_ops";
import { copy_from_user } from "./uaccess";
import { size_pages } from "./shmem";

/** Fill modes (uffd_flags_t, §5.3). */
export const MFILL_ATOMIC_COPY: u32 = 0;
export const MFILL_ATOMIC_ZEROPAGE: u32 = 1;
export const MFILL_ATOMIC_CONTINUE: u32 = 2;
export const MFILL_ATOMIC_POISON: u32 = 3;
export const MFILL_ATOMIC_WP: u32 = 0x4;

// struct mfill_state (§5.9), in the calling task's scratch page (after the ioctl argument).
@unmanaged export class mfill_state {
  ctx: u32;
  flags: u32;
  src_start: u64;
  dst_start: u64;
  len: u64;
  /** the destination VMA while "locked"; 0 while no locks are held */
  vma: u32;
  _pad: u32;
  src_addr: u64;
  dst_addr: u64;
}

// @ts-ignore: decorator
@inline function mfill_state_of(t: task_struct): mfill_state { return changetype<mfill_state>(task_scratch(t) + 256); }
// @ts-ignore: decorator
@inline function mode_of(s: mfill_state): u32 { return s.flags & 3; }

/**
 * mfill_get_vma: the registered destination VMA covering the whole range, or -errno
 * (ENOENT: none, not registered, or the range leaves it; EINVAL: WP on a non-WP VMA or a
 * type without uffd ops).
 */
function mfill_get_vma(s: mfill_state, mm: mm_struct): i32 {
  let v = vma_lookup(mm, s.dst_start);
  if (!v) return -ENOENT;
  if (s.dst_start + s.len > v.vm_end) return -ENOENT;
  // The destination must be registered, with any userfaultfd of this address space.
  if (v.uffd_ctx == 0) return -ENOENT;
  if ((s.flags & MFILL_ATOMIC_WP) && !(v.vm_flags & VM_UFFD_WP)) return -EINVAL;
  if (vma_uffd_ops(v) == UFFD_OPS_NONE) return -EINVAL;
  s.vma = changetype<u32>(v);
  return 0;
}

// @ts-ignore: decorator
@inline function mfill_put_vma(s: mfill_state): void { s.vma = 0; }

/**
 * mfill_atomic_install_pte: map `p` (a referenced page, from alloc_folio or the page cache)
 * at s.dst_addr. The PTE must be empty or a uffd marker (overwritten); anything else → EEXIST.
 * A file-backed destination at/after EOF → EFAULT. On success the mapping owns the reference.
 */
function mfill_atomic_install_pte(s: mfill_state, mm: mm_struct, p: page, newly_allocated: bool): i32 {
  let v = VMA(s.vma);
  let ptep = pte_offset_alloc(<usize>mm.pgd, s.dst_addr);
  if (ptep == 0) return -ENOMEM;
  let old = load<u64>(ptep);
  if (!pte_none(old) && !(is_pte_marker(old) && (pte_marker_get(old) & (PTE_MARKER_UFFD_WP | PTE_MARKER_POISONED)))) return -EEXIST;
  let ino = vma_inode(v);
  if (ino && linear_page_index(v, s.dst_addr) >= size_pages(ino)) return -EFAULT;
  let page_in_cache = p.mapping != 0;
  let writable = (v.vm_flags & VM_WRITE) != 0 && !(page_in_cache && !(v.vm_flags & VM_SHARED));
  let e = pte_mkyoung(pte_mkdirty(mk_pte(page_address(p), writable)));
  if (s.flags & MFILL_ATOMIC_WP) e = (e & ~(<u64>2)) | _PAGE_UFFD_WP;
  if (!page_in_cache && newly_allocated) {
    anon_vma_prepare(v);
    p.flags |= PG_anon;
    p.index = s.dst_addr >> 12;
  }
  p._mapcount++;
  set_pte(ptep, e);
  return 0;
}

/** Copy one page from the caller's memory at s.src_addr into `p` (mfill_copy_folio_locked). */
function mfill_copy_folio(t: task_struct, s: mfill_state, p: page): i32 {
  return copy_from_user(t, page_address(p), s.src_addr, PAGE_SIZE) < 0 ? -EFAULT : 0;
}

/** mfill_atomic_pte_copy / _zeroed_folio: a new folio filled from the source or with zeros. */
function mfill_atomic_pte_folio(t: task_struct, s: mfill_state, mm: mm_struct, zero: bool): i32 {
  let v = VMA(s.vma);
  let shared = (v.vm_flags & VM_SHARED) != 0;
  // shmem keeps 6.18's EFAULT at/after EOF (spec §2.2 row 3), before asking alloc_folio.
  let ino = vma_inode(v);
  if (ino && linear_page_index(v, s.dst_addr) >= size_pages(ino)) return -EFAULT;
  let p = uffd_ops_alloc_folio(v, s.dst_addr, shared);
  if (!p) return -ENOMEM;
  if (!zero) {
    let r = mfill_copy_folio(t, s, p);
    if (r < 0) {
      put_page(p);
      return r;
    }
  }
  if (shared) {
    let r = uffd_ops_filemap_add(v, p, s.dst_addr);
    if (r < 0) {
      put_page(p);
      return r;
    }
  }
  let r = mfill_atomic_install_pte(s, mm, p, true);
  if (r < 0) {
    if (shared) uffd_ops_filemap_remove(v, p);
    put_page(p);
    return r;
  }
  // The allocation's reference now belongs to the mapping, filemap_add's to the cache.
  return 0;
}

/** mfill_atomic_pte_zeropage: the shared zero page, for private VMAs. */
function mfill_atomic_pte_zeropage(s: mfill_state, mm: mm_struct): i32 {
  let v = VMA(s.vma);
  let ptep = pte_offset_alloc(<usize>mm.pgd, s.dst_addr);
  if (ptep == 0) return -ENOMEM;
  // Markers are not overwritten here (§7.6).
  if (!pte_none(load<u64>(ptep))) return -EEXIST;
  let ino = vma_inode(v);
  if (ino && linear_page_index(v, s.dst_addr) >= size_pages(ino)) return -EFAULT;
  set_pte(ptep, pte_mkyoung(<u64>zero_page_pa() | _PAGE_PRESENT | _PAGE_USER | _PAGE_SPECIAL));
  return 0;
}

/** mfill_atomic_pte: one page, dispatched per mode and VMA kind. */
function mfill_atomic_pte(t: task_struct, s: mfill_state, mm: mm_struct): i32 {
  let v = VMA(s.vma);
  let mode = mode_of(s);
  if (mode == MFILL_ATOMIC_COPY) return mfill_atomic_pte_folio(t, s, mm, false);
  if (mode == MFILL_ATOMIC_ZEROPAGE) {
    if (!(v.vm_flags & VM_SHARED)) return mfill_atomic_pte_zeropage(s, mm);
    return mfill_atomic_pte_folio(t, s, mm, true);
  }
  return -EINVAL;
}

/** mfill_atomic: the page loop. Returns bytes done (> 0), or -errno when nothing was done. */
function mfill_atomic(t: task_struct, ctx: u32, mm: mm_struct, dst: u64, src: u64, len: u64, flags: u32): i64 {
  let s = mfill_state_of(t);
  s.ctx = ctx;
  s.flags = flags;
  s.dst_start = dst;
  s.src_start = src;
  s.len = len;
  s.dst_addr = dst;
  s.src_addr = src;
  s.vma = 0;
  let err = mfill_get_vma(s, mm);
  if (err < 0) return err;
  let done: u64 = 0;
  while (done < len) {
    err = mfill_atomic_pte(t, s, mm);
    if (err < 0) break;
    done += PAGE_SIZE;
    s.dst_addr += PAGE_SIZE;
    s.src_addr += PAGE_SIZE;
  }
  mfill_put_vma(s);
  return done > 0 ? <i64>done : <i64>err;
}

export function mfill_atomic_copy(t: task_struct, ctx: u32, mm: mm_struct, dst: u64, src: u64, len: u64, wp: bool): i64 {
  return mfill_atomic(t, ctx, mm, dst, src, len, MFILL_ATOMIC_COPY | (wp ? MFILL_ATOMIC_WP : 0));
}

export function mfill_atomic_zeropage(t: task_struct, ctx: u32, mm: mm_struct, start: u64, len: u64): i64 {
  return mfill_atomic(t, ctx, mm, start, 0, len, MFILL_ATOMIC_ZEROPAGE);
}
