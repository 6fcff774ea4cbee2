// Filling ranges for userfaultfd (mm/userfaultfd.c, RFC structure): the ladder
//   mfill_atomic_copy / _zeropage / _continue / _poison  (thin wrappers per mode)
//   -> mfill_atomic                (validate, find the VMA: mfill_get_vma / mfill_put_vma)
//   -> mfill_atomic_pte            (per page, dispatch per mode and VMA kind)
//   -> mfill_atomic_install_pte    (the one place that installs a PTE)
// with one struct mfill_state carrying the operation. A COPY whose source is not mapped
// yet drops its locks, copies with faults enabled and looks the VMA up again
// (mfill_copy_folio_retry); if the source is itself a userfault the task waits and the call
// resumes where it stopped (fs/userfaultfd.ts keeps the progress). UFFDIO_MOVE is
// move_pages -> move_pages_pte, which moves PTEs between two anonymous VMAs. Knows nothing of fds or messages:
// the caller (fs/userfaultfd.ts) turns the result into the out-field and wakes faulters.
// Memory types are reached only through the vm_uffd_ops dispatchers (mm/vm_ops.ts).
import { task_struct } from "../kernel/types";
import { task_scratch } from "../kernel/sched";
import { mm_struct, vm_area_struct } from "./types";
import { VM_SHARED, VM_WRITE, VM_UFFD_WP, VM_READ, VM_EXEC, VM_LOCKED, VMA_OPS_GMEM } from "../abi/kernel";
import { PAGE_SIZE, UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES } from "../abi/uapi";
import { ENOENT, EINVAL, EEXIST, ENOMEM, EFAULT, EIO, EAGAIN, EBUSY, ERESTARTSYS } from "../abi/errno";
import { page, page_address, put_page, zero_page_pa, mm_forbids_zeropage, PG_anon, PG_anon_exclusive, PG_hwpoison } from "./page_alloc";
import { pte_offset_alloc, set_pte, pte_none, is_pte_marker, pte_marker_get, make_pte_marker, mk_pte, pte_mkdirty, pte_mkyoung,
  _PAGE_PRESENT, _PAGE_USER, _PAGE_SPECIAL, _PAGE_UFFD_WP, PTE_MARKER_UFFD_WP, PTE_MARKER_POISONED } from "./pgtable";
import { VMA, vma_lookup, find_vma, vma_is_anonymous, linear_page_index, anon_vma_prepare, vma_inode, __VM_UFFD_FLAGS } from "./vma";
import { uffd_ops_alloc_folio, uffd_ops_filemap_add, uffd_ops_filemap_remove, uffd_ops_get_folio_noalloc, vma_has_get_folio_noalloc,
  vma_uffd_ops, UFFD_OPS_NONE, UFFD_OPS_GMEM } from "./vm_ops";
import { copy_from_user, copy_from_user_nofault } from "./uaccess";
import { size_pages } from "./shmem";
// UFFDIO_WRITEPROTECT (mwriteprotect_range / uffd_wp_range), UFFDIO_MOVE (move_pages)
import { pte_offset, pte_present, pte_special, pte_table_end, pte_walk_next, _PAGE_RW, _PAGE_DIRTY, _PAGE_SOFT_DIRTY } from "./pgtable";
import { can_change_pte_writable } from "./mprotect";
import { pte_page, page_add_new_anon_rmap } from "./memory";
import { userfaultfd_wp_unpopulated, CTX } from "./userfaultfd_k";

/**
 * Whether EOF is the memory type's own business (7.1 hooks: alloc_folio / get_folio_noalloc
 * have nothing there) rather than refused first with 6.18's errno, as shmem does.
 */
// @ts-ignore: decorator
@inline function vma_uffd_ops_eof_is_alloc(v: vm_area_struct): bool { return vma_uffd_ops(v) == UFFD_OPS_GMEM; }

/** Fill modes (uffd_flags_t). */
export const MFILL_ATOMIC_COPY: u32 = 0;
export const MFILL_ATOMIC_ZEROPAGE: u32 = 1;
export const MFILL_ATOMIC_CONTINUE: u32 = 2;
export const MFILL_ATOMIC_POISON: u32 = 3;
export const MFILL_ATOMIC_WP: u32 = 0x4;

// struct mfill_state, in the calling task's scratch page (after the ioctl argument).
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
  // struct mfill_retry_state: what the destination VMA was when the locks were dropped
  retry_flags: u64;
  retry_pgoff: u64;
  retry_ops: u32;
  retry_file: u32;
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
  // Re-checked under the lock: an event may have started while the locks were dropped.
  if (CTX(s.ctx).mmap_changing) return -EAGAIN;
  if ((s.flags & MFILL_ATOMIC_WP) && !(v.vm_flags & VM_UFFD_WP)) return -EINVAL;
  if (vma_uffd_ops(v) == UFFD_OPS_NONE) return -EINVAL;
  // CONTINUE needs ->get_folio_noalloc: anonymous memory has none (measured EINVAL).
  if (mode_of(s) == MFILL_ATOMIC_CONTINUE && !vma_has_get_folio_noalloc(v)) return -EINVAL;
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
  // vm_page_prot of a PROT_NONE VMA: no _PAGE_USER (uffdlab's PROT_NONE PTE, as change_protection makes it).
  if (!(v.vm_flags & (VM_READ | VM_WRITE | VM_EXEC))) e &= ~_PAGE_USER;
  if (s.flags & MFILL_ATOMIC_WP) e = (e & ~(<u64>2)) | _PAGE_UFFD_WP;
  if (!page_in_cache && newly_allocated) {
    anon_vma_prepare(v);
    page_add_new_anon_rmap(p, v, s.dst_addr);
  }
  p._mapcount++;
  set_pte(ptep, e);
  return 0;
}

/**
 * mfill_copy_folio_locked: copy one page from the caller's memory at s.src_addr into `p`
 * with page faults disabled (the locks are held). -EFAULT if the source is not mapped yet.
 */
function mfill_copy_folio_locked(t: task_struct, s: mfill_state, p: page): i32 {
  return copy_from_user_nofault(t, page_address(p), s.src_addr, PAGE_SIZE);
}

/** Snapshot the destination VMA before the locks are dropped (struct mfill_retry_state). */
function mfill_retry_state_save(s: mfill_state): void {
  let v = VMA(s.vma);
  s.retry_ops = v.vm_ops;
  s.retry_file = v.vm_file;
  s.retry_flags = v.vm_flags & (__VM_UFFD_FLAGS | VM_SHARED);
  s.retry_pgoff = linear_page_index(v, s.dst_addr);
}

/** Whether the destination VMA found again differs from the snapshot (memory type, file, uffd mode, offset). */
function mfill_retry_state_changed(s: mfill_state): bool {
  let v = VMA(s.vma);
  return v.vm_ops != s.retry_ops || v.vm_file != s.retry_file ||
    (v.vm_flags & (__VM_UFFD_FLAGS | VM_SHARED)) != s.retry_flags || linear_page_index(v, s.dst_addr) != s.retry_pgoff;
}

/**
 * mfill_copy_folio_retry (RFC patch 05): the source page faulted with the locks held. Drop
 * them (mfill_put_vma), copy with page faults enabled, then look the destination VMA up
 * again (mfill_get_vma). A source that is itself a userfault queues the task:
 * -ERESTARTSYS, and the call resumes at s.dst_addr once the fault is served. An
 * unreadable source → EFAULT. The VMA found again: for guest_memfd (7.1) any change of
 * memory type, file, uffd mode or offset → EAGAIN; anonymous and shmem memory keep 6.18's
 * rule (tests/unit/gmem-uffd-states.test.ts): whatever registered VMA is there now is filled.
 */
function mfill_copy_folio_retry(t: task_struct, s: mfill_state, mm: mm_struct, p: page): i32 {
  mfill_retry_state_save(s);
  mfill_put_vma(s);
  let r = copy_from_user(t, page_address(p), s.src_addr, PAGE_SIZE);
  if (r == -ERESTARTSYS) return r;
  if (r < 0) return -EFAULT;
  r = mfill_get_vma(s, mm);
  if (r < 0) return r;
  if (s.retry_ops == VMA_OPS_GMEM && mfill_retry_state_changed(s)) return -EAGAIN;
  return 0;
}

/** mfill_atomic_pte_copy / _zeroed_folio: a new folio filled from the source or with zeros. */
function mfill_atomic_pte_folio(t: task_struct, s: mfill_state, mm: mm_struct, zero: bool): i32 {
  let v = VMA(s.vma);
  let shared = (v.vm_flags & VM_SHARED) != 0;
  // shmem keeps 6.18's EFAULT at/after EOF (tests/unit/gmem-uffd-states.test.ts), before asking alloc_folio;
  // guest_memfd leaves it to alloc_folio, which has nothing there: ENOMEM (7.1, row 4).
  let ino = vma_inode(v);
  if (ino && !vma_uffd_ops_eof_is_alloc(v) && linear_page_index(v, s.dst_addr) >= size_pages(ino)) return -EFAULT;
  let p = uffd_ops_alloc_folio(v, s.dst_addr, shared);
  if (!p) return -ENOMEM;
  if (!zero && mfill_copy_folio_locked(t, s, p) < 0) {
    let r = mfill_copy_folio_retry(t, s, mm, p);
    if (r < 0) {
      put_page(p);
      return r;
    }
    // The VMA found again may be another one: fill it (6.18), re-checking EOF.
    v = VMA(s.vma);
    shared = (v.vm_flags & VM_SHARED) != 0;
    ino = vma_inode(v);
    if (ino && linear_page_index(v, s.dst_addr) >= size_pages(ino)) {
      put_page(p);
      return -EFAULT;
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
  // Markers are not overwritten here.
  if (!pte_none(load<u64>(ptep))) return -EEXIST;
  let ino = vma_inode(v);
  if (ino && linear_page_index(v, s.dst_addr) >= size_pages(ino)) return -EFAULT;
  let user = (v.vm_flags & (VM_READ | VM_WRITE | VM_EXEC)) != 0 ? _PAGE_USER : 0; // PROT_NONE VMA: no _PAGE_USER
  set_pte(ptep, pte_mkyoung(<u64>zero_page_pa() | _PAGE_PRESENT | user | _PAGE_SPECIAL));
  return 0;
}

/**
 * mfill_atomic_pte_continue: map the page already in the page cache. shmem at/after
 * EOF → EINVAL (6.18; checked before the lookup); not cached → EFAULT; poisoned
 * page → EIO; a present PTE → EEXIST (install_pte; a poison or uffd-wp marker is overwritten).
 * Read-only for a private mapping of the file, writable for shared + VM_WRITE (install_pte).
 */
function mfill_atomic_pte_continue(s: mfill_state, mm: mm_struct): i32 {
  let v = VMA(s.vma);
  let ino = vma_inode(v);
  if (!ino) return -EINVAL;
  // guest_memfd: the lookup finds nothing at/after EOF, so EFAULT below (7.1).
  if (!vma_uffd_ops_eof_is_alloc(v) && linear_page_index(v, s.dst_addr) >= size_pages(ino)) return -EINVAL;
  let p = uffd_ops_get_folio_noalloc(v, s.dst_addr);
  if (!p) return -EFAULT;
  // A hardware-poisoned cache page → EIO (unreachable today: nothing sets PG_hwpoison).
  if (p.flags & PG_hwpoison) {
    put_page(p);
    return -EIO;
  }
  let r = mfill_atomic_install_pte(s, mm, p, false);
  if (r < 0) {
    put_page(p);
    return r;
  }
  return 0;
}

/**
 * mfill_atomic_pte_poison: a PTE_MARKER_POISONED on an empty PTE. At/after EOF of a
 * file → EFAULT (checked first, and before any page table is allocated); any non-empty PTE,
 * even a uffd-wp marker → EEXIST.
 */
function mfill_atomic_pte_poison(s: mfill_state, mm: mm_struct): i32 {
  let v = VMA(s.vma);
  let ino = vma_inode(v);
  if (ino && linear_page_index(v, s.dst_addr) >= size_pages(ino)) return -EFAULT;
  let ptep = pte_offset_alloc(<usize>mm.pgd, s.dst_addr);
  if (ptep == 0) return -ENOMEM;
  if (!pte_none(load<u64>(ptep))) return -EEXIST;
  set_pte(ptep, make_pte_marker(PTE_MARKER_POISONED));
  return 0;
}

/** mfill_atomic_pte: one page, dispatched per mode and VMA kind. */
function mfill_atomic_pte(t: task_struct, s: mfill_state, mm: mm_struct): i32 {
  let v = VMA(s.vma);
  let mode = mode_of(s);
  if (mode == MFILL_ATOMIC_COPY) return mfill_atomic_pte_folio(t, s, mm, false);
  if (mode == MFILL_ATOMIC_ZEROPAGE) {
    if (!(v.vm_flags & VM_SHARED) && !mm_forbids_zeropage()) return mfill_atomic_pte_zeropage(s, mm);
    return mfill_atomic_pte_folio(t, s, mm, true);
  }
  if (mode == MFILL_ATOMIC_CONTINUE) return mfill_atomic_pte_continue(s, mm);
  if (mode == MFILL_ATOMIC_POISON) return mfill_atomic_pte_poison(s, mm);
  return -EINVAL;
}

/**
 * mfill_atomic: the page loop, starting `done` bytes in (a resumed COPY). Returns bytes done
 * (> 0, counting those before the resumption), or -errno when nothing was done, or
 * -ERESTARTSYS with the task queued on a source userfault: mfill_resume_offset(t) then says
 * where to resume. `resumed`: this is that reissue, and the retry snapshot of mfill_state
 * (still in the task's scratch page) describes the destination VMA as it was when the call
 * waited: Linux re-takes its locks at this point, after the wait inside copy_from_user.
 */
function mfill_atomic(t: task_struct, ctx: u32, mm: mm_struct, dst: u64, src: u64, len: u64, flags: u32, done: u64, resumed: bool = false): i64 {
  let s = mfill_state_of(t);
  s.ctx = ctx;
  s.flags = flags;
  s.dst_start = dst;
  s.src_start = src;
  s.len = len;
  s.dst_addr = dst + done;
  s.src_addr = src + done;
  s.vma = 0;
  let err = mfill_get_vma(s, mm);
  // guest_memfd (7.1; tests/unit/gmem-uffd-states.test.ts): the VMA changed while the call waited → EAGAIN.
  if (err == 0 && resumed && s.retry_ops == VMA_OPS_GMEM && mfill_retry_state_changed(s)) {
    mfill_put_vma(s);
    err = -EAGAIN;
  }
  if (err < 0) return done > 0 ? <i64>done : <i64>err;
  while (done < len) {
    err = mfill_atomic_pte(t, s, mm);
    if (err < 0) break;
    done += PAGE_SIZE;
    s.dst_addr += PAGE_SIZE;
    s.src_addr += PAGE_SIZE;
  }
  mfill_put_vma(s);
  if (err == -ERESTARTSYS) return err;
  return done > 0 ? <i64>done : <i64>err;
}

/** Bytes a COPY that returned -ERESTARTSYS had done (where its reissue resumes). */
export function mfill_resume_offset(t: task_struct): u64 {
  let s = mfill_state_of(t);
  return s.dst_addr - s.dst_start;
}

/** UFFDIO_COPY; `resumed` (after `done` bytes) continues a copy that waited for its source. */
export function mfill_atomic_copy(t: task_struct, ctx: u32, mm: mm_struct, dst: u64, src: u64, len: u64, wp: bool, done: u64, resumed: bool = false): i64 {
  return mfill_atomic(t, ctx, mm, dst, src, len, MFILL_ATOMIC_COPY | (wp ? MFILL_ATOMIC_WP : 0), done, resumed);
}

export function mfill_atomic_zeropage(t: task_struct, ctx: u32, mm: mm_struct, start: u64, len: u64): i64 {
  return mfill_atomic(t, ctx, mm, start, 0, len, MFILL_ATOMIC_ZEROPAGE, 0);
}

// ---- write protection -----------------------------------------------------------------

/**
 * userfaultfd_wp_use_markers: does protecting an empty PTE of `v` leave a uffd-wp marker?
 * File memory (shmem, private or shared) always; anonymous memory with WP_UNPOPULATED
 * (which WP_ASYNC implies).
 */
function userfaultfd_wp_use_markers(v: vm_area_struct): bool {
  if (!(v.vm_flags & VM_UFFD_WP)) return false;
  if (!vma_is_anonymous(v)) return true;
  return userfaultfd_wp_unpopulated(v);
}

/**
 * uffd_wp_range: change_protection with MM_CP_UFFD_WP (enable) or MM_CP_UFFD_WP_RESOLVE over
 * [start, end) of `v`. Protect: present PTEs lose RW and carry _PAGE_UFFD_WP; empty PTEs get
 * a uffd-wp marker where the VMA uses markers (page tables are allocated for them).
 * Resolve: the bit goes, and RW comes back where the VMA is writable and the page may be
 * written without a COW (shared memory, an exclusive anonymous page; never the zero page);
 * uffd-wp markers go. Also used by UNREGISTER and release (userfaultfd_clear_vma).
 */
export function uffd_wp_range(mm: mm_struct, v: vm_area_struct, start: u64, end: u64, enable: bool): i32 {
  let pgd = <usize>mm.pgd;
  let markers = enable && userfaultfd_wp_use_markers(v);
  let writable = (v.vm_flags & VM_WRITE) != 0;
  // Markers go into empty PTEs too: that walk allocates the tables instead of skipping holes.
  for (let addr = start; (addr = markers ? addr : pte_walk_next(pgd, addr, end)) < end; ) {
    let ptep = markers ? pte_offset_alloc(pgd, addr) : pte_offset(pgd, addr);
    if (ptep == 0) return -ENOMEM;
    for (let tend = pte_table_end(addr, end); addr < tend; addr += PAGE_SIZE, ptep += 8) {
      let pte = load<u64>(ptep);
      if (pte_none(pte)) {
        if (markers) set_pte(ptep, make_pte_marker(PTE_MARKER_UFFD_WP));
        continue;
      }
      if (!pte_present(pte)) {
        if (!enable && is_pte_marker(pte) && (pte_marker_get(pte) & PTE_MARKER_UFFD_WP)) {
          let m = pte_marker_get(pte) & ~PTE_MARKER_UFFD_WP;
          set_pte(ptep, m != 0 ? make_pte_marker(m) : 0);
        }
        continue;
      }
      let e = pte;
      if (enable) {
        e = (e & ~_PAGE_RW) | _PAGE_UFFD_WP;
      } else if (e & _PAGE_UFFD_WP) {
        e &= ~_PAGE_UFFD_WP;
        if (writable && can_change_pte_writable(v.vm_flags, e)) e |= _PAGE_RW;
      }
      if (e != pte) set_pte(ptep, e);
    }
  }
  return 0;
}

/**
 * mwriteprotect_range: UFFDIO_WRITEPROTECT over [start, start + len). VMAs are processed in
 * address order (holes skipped); the first one not registered for WP ends the call with
 * ENOENT, keeping what was done before it (no rollback, as mwriteprotect_range). No VMA at all → ENOENT.
 * Only the VMA's WP registration counts, not which userfaultfd made it.
 */
export function mwriteprotect_range(mm: mm_struct, start: u64, len: u64, enable: bool): i32 {
  let end = start + len;
  let err: i32 = -ENOENT;
  let v = find_vma(mm, start);
  while (v && v.vm_start < end) {
    if (!(v.vm_flags & VM_UFFD_WP)) return -ENOENT;
    let s = v.vm_start > start ? v.vm_start : start;
    let e = v.vm_end < end ? v.vm_end : end;
    err = uffd_wp_range(mm, v, s, e, enable);
    if (err < 0) return err;
    v = v.vm_next != 0 ? VMA(v.vm_next) : null;
  }
  return err;
}

export function mfill_atomic_continue(t: task_struct, ctx: u32, mm: mm_struct, start: u64, len: u64, wp: bool): i64 {
  return mfill_atomic(t, ctx, mm, start, 0, len, MFILL_ATOMIC_CONTINUE | (wp ? MFILL_ATOMIC_WP : 0), 0);
}

export function mfill_atomic_poison(t: task_struct, ctx: u32, mm: mm_struct, start: u64, len: u64): i64 {
  return mfill_atomic(t, ctx, mm, start, 0, len, MFILL_ATOMIC_POISON, 0);
}

// ---- UFFDIO_MOVE ---------------------------------------------------------------------

/**
 * validate_move_areas: both VMAs private and anonymous with the same access flags (hence
 * the same page protection) and mlock state, the source writable, the destination
 * registered with this very ctx. (No VMA in uffdlab is PFNMAP, IO, hugetlb, MIXEDMAP or a
 * shadow stack, so vma_move_compatible always holds.)
 */
function validate_move_areas(ctx: u32, sv: vm_area_struct, dv: vm_area_struct): i32 {
  if ((sv.vm_flags & (VM_READ | VM_WRITE | VM_EXEC)) != (dv.vm_flags & (VM_READ | VM_WRITE | VM_EXEC))) return -EINVAL;
  if ((sv.vm_flags & VM_LOCKED) != (dv.vm_flags & VM_LOCKED)) return -EINVAL;
  if (!(sv.vm_flags & VM_WRITE)) return -EINVAL;
  if (dv.uffd_ctx == 0 || dv.uffd_ctx != ctx) return -EINVAL;
  if (!vma_is_anonymous(sv) || !vma_is_anonymous(dv)) return -EINVAL;
  return 0;
}

/**
 * move_present_pte: the source PTE maps an exclusive anonymous page; it moves to the
 * destination (no copy), the page is re-homed in the destination VMA (folio_move_anon_rmap
 * and its index), and the new PTE is writable, soft-dirty, and dirty if the old one was.
 * Mapcount and refcount do not change: one mapping before, one after.
 */
function move_present_pte(dv: vm_area_struct, dst_addr: u64, dp: usize, sp: usize, spte: u64, p: page): void {
  set_pte(sp, 0);
  p.priv = dv.anon_vma;
  p.index = linear_page_index(dv, dst_addr);
  let e = pte_mkyoung(mk_pte(page_address(p), true)) | _PAGE_SOFT_DIRTY;
  if (spte & _PAGE_DIRTY) e |= _PAGE_DIRTY;
  set_pte(dp, e);
}

/** move_zeropage_pte: a zero-page PTE moves as a zero-page PTE (no soft-dirty bit). */
function move_zeropage_pte(dp: usize, sp: usize): void {
  set_pte(sp, 0);
  set_pte(dp, pte_mkyoung(<u64>zero_page_pa() | _PAGE_PRESENT | _PAGE_USER | _PAGE_SPECIAL));
}

/**
 * move_pages_pte: move one page from `sp` (src_addr) to `dp` (dst_addr). A non-empty
 * destination → EEXIST (checked first, markers included); an empty source → ENOENT, or 0
 * (a hole moved) with ALLOW_SRC_HOLES; a page that is not exclusively this process's (shared
 * with a fork child) → EBUSY; a PTE marker (uffd-wp, poison: uffdlab has no swap or
 * migration entries) → EFAULT. Pins and swap are not modelled, so their EBUSY rows cannot occur.
 */
function move_pages_pte(dv: vm_area_struct, dp: usize, sp: usize, dst_addr: u64, mode: u64): i32 {
  if (!pte_none(load<u64>(dp))) return -EEXIST;
  let spte = load<u64>(sp);
  if (pte_none(spte)) return (mode & UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES) ? 0 : -ENOENT;
  if (!pte_present(spte)) return -EFAULT;
  if (pte_special(spte)) {
    move_zeropage_pte(dp, sp);
    return 0;
  }
  let p = pte_page(spte);
  if (!(p.flags & PG_anon) || !(p.flags & PG_anon_exclusive)) return -EBUSY;
  move_present_pte(dv, dst_addr, dp, sp, spte, p);
  return 0;
}

/**
 * move_pages (UFFDIO_MOVE): move [src_start, src_start + len) to dst_start in `mm`, page by
 * page in ascending order with no overlap check, each step seeing the previous one's result.
 * Returns bytes moved (> 0, a hole counting as moved with ALLOW_SRC_HOLES) or -errno when
 * nothing moved. Lookup order as Linux's uffd_move_lock: the destination (ENOENT; its
 * anon_vma is prepared), then the source (ENOENT); then mmap_changing (EAGAIN), VM_SHARED
 * and range-crossing checks (EINVAL), validate_move_areas.
 */
export function move_pages(ctx: u32, mm: mm_struct, dst_start: u64, src_start: u64, len: u64, mode: u64): i64 {
  let dv = vma_lookup(mm, dst_start);
  if (!dv) return -ENOENT;
  if (!(dv.vm_flags & VM_SHARED)) anon_vma_prepare(dv);
  let sv = vma_lookup(mm, src_start);
  if (!sv) return -ENOENT;
  if (CTX(ctx).mmap_changing) return -EAGAIN;
  if (sv.vm_flags & VM_SHARED) return -EINVAL;
  if (src_start + len > sv.vm_end) return -EINVAL;
  if (dv.vm_flags & VM_SHARED) return -EINVAL;
  if (dst_start + len > dv.vm_end) return -EINVAL;
  let err = validate_move_areas(ctx, sv, dv);
  if (err < 0) return err;
  let pgd = <usize>mm.pgd;
  let moved: u64 = 0;
  while (moved < len) {
    let src_addr = src_start + moved;
    let dst_addr = dst_start + moved;
    // No page table over the source: a hole (Linux: no PMD, or pmd_none).
    let sp = pte_offset(pgd, src_addr);
    if (sp == 0) {
      if (!(mode & UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES)) { err = -ENOENT; break; }
      sp = pte_offset_alloc(pgd, src_addr);
      if (sp == 0) { err = -ENOMEM; break; }
    }
    let dp = pte_offset_alloc(pgd, dst_addr);
    if (dp == 0) { err = -ENOMEM; break; }
    err = move_pages_pte(dv, dp, sp, dst_addr, mode);
    if (err < 0) break;
    moved += PAGE_SIZE;
  }
  return moved > 0 ? <i64>moved : <i64>err;
}
