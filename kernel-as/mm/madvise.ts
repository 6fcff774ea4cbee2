// madvise(2) (mm/madvise.c). uffdlab has no swap, no huge pages and no page merging: the
// pure hints return Linux's results and change only the VMA flags Linux changes.
import { vm_area_struct, mm_struct } from "./types";
import { VM_READ, VM_WRITE, VM_SHARED, VM_MAYWRITE, VM_LOCKED, VM_DONTCOPY, VM_WIPEONFORK, VM_DONTDUMP,
  VM_HUGEPAGE, VM_NOHUGEPAGE, VM_MERGEABLE, VM_SEQ_READ, VM_RAND_READ, VM_DROPPABLE, VMA_OPS_GMEM } from "../abi/kernel";
import * as U from "../abi/uapi";
import { EINVAL, ENOMEM, EACCES, EPERM, ERESTARTSYS } from "../abi/errno";
import { PAGE_ALIGN, offset_in_page } from "../lib/bitops";
import { find_vma, vma_lookup, vma_modify, vma_try_merge, vma_is_anonymous } from "./vma";
import { zap_page_range, ZAP_ALL, ZAP_KEEP_WP_MARKER, userfaultfd_wp } from "./memory";
import { populate_range } from "./mmap";
import { free_pgtables, pte_offset, pte_offset_alloc, pte_table_end, pte_hole_end, set_pte, make_pte_marker, is_pte_marker, pte_marker_get, PTE_MARKER_GUARD } from "./pgtable";
import { task_struct, RESTART_MADVISE } from "../kernel/types";
import { task_frame } from "../kernel/sched";
import { restart_set, restart_clear } from "../kernel/restart";
import { file } from "../fs/types";
import { get_file, fput } from "../fs/file";
import { userfaultfd_remove, userfaultfd_events_wait } from "../fs/userfaultfd";

// @ts-ignore: decorator
@inline function task_struct_mm(t: task_struct): u32 { return t.mm; }
import { vfs_fallocate } from "../fs/open";

function madvise_behavior_valid(b: i32): bool {
  switch (b) {
    case U.MADV_NORMAL: case U.MADV_RANDOM: case U.MADV_SEQUENTIAL: case U.MADV_WILLNEED:
    case U.MADV_DONTNEED: case U.MADV_DONTNEED_LOCKED: case U.MADV_FREE: case U.MADV_REMOVE:
    case U.MADV_DONTFORK: case U.MADV_DOFORK: case U.MADV_DONTDUMP: case U.MADV_DODUMP:
    case U.MADV_WIPEONFORK: case U.MADV_KEEPONFORK: case U.MADV_COLD: case U.MADV_PAGEOUT:
    case U.MADV_POPULATE_READ: case U.MADV_POPULATE_WRITE: case U.MADV_MERGEABLE: case U.MADV_UNMERGEABLE:
    case U.MADV_HUGEPAGE: case U.MADV_NOHUGEPAGE: case U.MADV_COLLAPSE:
    case U.MADV_GUARD_INSTALL: case U.MADV_GUARD_REMOVE:
    case U.MADV_HWPOISON: case U.MADV_SOFT_OFFLINE:
      return true;
  }
  return false;
}

/** Give [start, end) of `v` new flags, splitting and merging (madvise_update_vma). */
function madvise_update_vma(mm: mm_struct, v: vm_area_struct, start: u64, end: u64, newflags: u64): i32 {
  if (newflags == v.vm_flags) return 0;
  let m = vma_modify(mm, v, start, end);
  if (!m) return -ENOMEM;
  m.vm_flags = newflags;
  vma_try_merge(mm, m);
  return 0;
}

/** can_madv_lru_vma */
// @ts-ignore: decorator
@inline function can_madv_lru(v: vm_area_struct): bool { return (v.vm_flags & VM_LOCKED) == 0; }

function madvise_remove(t: task_struct, v: vm_area_struct, start: u64, end: u64): i32 {
  if (v.vm_flags & VM_LOCKED) return -EINVAL;
  if (v.vm_file == 0 || vma_is_anonymous(v)) return -EINVAL;
  if ((v.vm_flags & (VM_SHARED | VM_MAYWRITE)) != (VM_SHARED | VM_MAYWRITE)) return -EACCES;
  let off = ((start - v.vm_start) >> 12) + v.vm_pgoff;
  return vfs_fallocate(changetype<file>(<usize>v.vm_file), U.FALLOC_FL_PUNCH_HOLE | U.FALLOC_FL_KEEP_SIZE, <i64>(off << 12), <i64>(end - start));
}

function madvise_guard_install(mm: mm_struct, v: vm_area_struct, start: u64, end: u64): i32 {
  if (v.vm_flags & (VM_LOCKED | VM_DROPPABLE)) return -EINVAL;
  zap_page_range(mm, start, end, ZAP_ALL);
  for (let a = start; a < end; a += U.PAGE_SIZE) {
    let p = pte_offset_alloc(<usize>mm.pgd, a);
    if (p == 0) return -ENOMEM;
    set_pte(p, make_pte_marker(PTE_MARKER_GUARD));
  }
  return 0;
}

function madvise_guard_remove(mm: mm_struct, start: u64, end: u64): void {
  let pgd = <usize>mm.pgd;
  let a = start;
  while (a < end) {
    let tend = pte_table_end(a, end);
    let p = pte_offset(pgd, a);
    if (p == 0) {
      a = pte_hole_end(pgd, a, end);
      continue;
    }
    for (; a < tend; a += U.PAGE_SIZE, p += 8) {
      let pte = load<u64>(p);
      if (is_pte_marker(pte) && (pte_marker_get(pte) & PTE_MARKER_GUARD)) set_pte(p, 0);
    }
  }
  free_pgtables(pgd, start, end);
}

/** madvise_vma_behavior: apply `b` to [start, end) inside `v`. */
function madvise_vma(t: task_struct, mm: mm_struct, v: vm_area_struct, start: u64, end: u64, b: i32): i32 {
  let f = v.vm_flags;
  switch (b) {
    case U.MADV_NORMAL: return madvise_update_vma(mm, v, start, end, f & ~(VM_SEQ_READ | VM_RAND_READ));
    case U.MADV_RANDOM: return madvise_update_vma(mm, v, start, end, (f & ~VM_SEQ_READ) | VM_RAND_READ);
    case U.MADV_SEQUENTIAL: return madvise_update_vma(mm, v, start, end, (f & ~VM_RAND_READ) | VM_SEQ_READ);
    case U.MADV_WILLNEED: return 0;
    case U.MADV_COLD: case U.MADV_PAGEOUT:
      return can_madv_lru(v) ? 0 : -EINVAL;
    case U.MADV_DONTNEED: case U.MADV_DONTNEED_LOCKED: {
      if (b == U.MADV_DONTNEED && !can_madv_lru(v)) return -EINVAL;
      // Shared memory keeps its pages in the file; private copies and anonymous pages go.
      // In file memory a uffd-wp protected page leaves a WP marker behind (and WP markers
      // stay); a zap of anonymous memory drops everything, markers too
      // (zap_install_uffd_wp_if_needed). Poison markers are removed.
      zap_page_range(mm, start, end, userfaultfd_wp(v) && !vma_is_anonymous(v) ? ZAP_KEEP_WP_MARKER : ZAP_ALL);
      free_pgtables(<usize>mm.pgd, start, end);
      return 0;
    }
    case U.MADV_FREE:
      if (!vma_is_anonymous(v)) return -EINVAL;
      // Lazy free: without memory pressure the pages keep their contents.
      return 0;
    case U.MADV_REMOVE: return madvise_remove(t, v, start, end);
    case U.MADV_DONTFORK: return madvise_update_vma(mm, v, start, end, f | VM_DONTCOPY);
    case U.MADV_DOFORK: return madvise_update_vma(mm, v, start, end, f & ~VM_DONTCOPY);
    case U.MADV_WIPEONFORK:
      if (v.vm_file != 0 || (f & VM_SHARED)) return -EINVAL;
      return madvise_update_vma(mm, v, start, end, f | VM_WIPEONFORK);
    case U.MADV_KEEPONFORK:
      if (f & VM_DROPPABLE) return -EINVAL;
      return madvise_update_vma(mm, v, start, end, f & ~VM_WIPEONFORK);
    case U.MADV_DONTDUMP: return madvise_update_vma(mm, v, start, end, f | VM_DONTDUMP);
    case U.MADV_DODUMP:
      if (f & VM_DROPPABLE) return -EINVAL; // a droppable mapping is never dumped
      return madvise_update_vma(mm, v, start, end, f & ~VM_DONTDUMP);
    case U.MADV_MERGEABLE:
      if (f & VM_SHARED) return 0;
      return madvise_update_vma(mm, v, start, end, f | VM_MERGEABLE);
    case U.MADV_UNMERGEABLE: return madvise_update_vma(mm, v, start, end, f & ~VM_MERGEABLE);
    case U.MADV_HUGEPAGE: return madvise_update_vma(mm, v, start, end, (f & ~VM_NOHUGEPAGE) | VM_HUGEPAGE);
    case U.MADV_NOHUGEPAGE: return madvise_update_vma(mm, v, start, end, (f & ~VM_HUGEPAGE) | VM_NOHUGEPAGE);
    // No THP here; guest_memfd can never be collapsed (its folios are order 0): EINVAL.
    case U.MADV_COLLAPSE: return v.vm_ops == VMA_OPS_GMEM ? -EINVAL : 0;
    case U.MADV_POPULATE_READ: case U.MADV_POPULATE_WRITE: {
      let write = b == U.MADV_POPULATE_WRITE;
      // GUP's check_vma_flags: reading needs VM_READ itself (a PROT_WRITE- or PROT_EXEC-only
      // mapping is EINVAL here, though the CPU may read it).
      if (write ? !(f & VM_WRITE) : !(f & VM_READ)) return -EINVAL;
      return populate_range(t, mm, start, end, write);
    }
    case U.MADV_GUARD_INSTALL: return madvise_guard_install(mm, v, start, end);
    case U.MADV_GUARD_REMOVE:
      madvise_guard_remove(mm, start, end);
      return 0;
  }
  return -EINVAL;
}

/**
 * madvise_populate: fault in [start, end) in address order, stopping at the first problem — a
 * hole (ENOMEM), a VMA without the needed access (EINVAL), a SIGBUS/SIGSEGV fault (EFAULT).
 * Unlike the other advice it does not skip holes (faultin_page_range with FOLL_MADV_POPULATE).
 */
function madvise_populate(t: task_struct, mm: mm_struct, start: u64, end: u64, write: bool): i32 {
  let cur = start;
  while (cur < end) {
    let v = find_vma(mm, cur);
    if (!v || v.vm_start > cur) return -ENOMEM;
    let e = v.vm_end < end ? v.vm_end : end;
    let r = madvise_vma(t, mm, v, cur, e, write ? U.MADV_POPULATE_WRITE : U.MADV_POPULATE_READ);
    if (r < 0) return r;
    cur = e;
  }
  return 0;
}

export function sys_madvise(t: task_struct, start: u64, len_in: u64, b: i32): i64 {
  let mm = changetype<mm_struct>(<usize>t.mm);
  if (!madvise_behavior_valid(b)) return -EINVAL;
  if (offset_in_page(start)) return -EINVAL;
  let len = PAGE_ALIGN(len_in);
  if (len_in != 0 && len == 0) return -EINVAL;
  let end = start + len;
  if (end < start) return -EINVAL;
  if (end == start) return 0;
  if (b == U.MADV_HWPOISON || b == U.MADV_SOFT_OFFLINE) {
    // Memory-failure injection needs CAP_SYS_ADMIN; uffdlab's processes never have it.
    return -EPERM;
  }
  if (b == U.MADV_POPULATE_READ || b == U.MADV_POPULATE_WRITE) return madvise_populate(t, mm, start, end, b == U.MADV_POPULATE_WRITE);
  return madvise_walk(t, mm, start, end, b, 0);
}

/** The advice that drops pages and so sends REMOVE events first (madvise_dontneed_free, madvise_remove). */
// @ts-ignore: decorator
@inline function madvise_removes(b: i32): bool {
  return b == U.MADV_DONTNEED || b == U.MADV_DONTNEED_LOCKED || b == U.MADV_FREE || b == U.MADV_REMOVE;
}

/** Whether `b` may drop pages of `v` (madvise_dontneed_free_valid_vma, madvise_remove's checks); 0 or -errno.
 *  MADV_FREE of non-anonymous memory passes: Linux refuses it (madvise_free_single_vma) after the REMOVE event. */
function madvise_remove_valid(v: vm_area_struct, b: i32): i32 {
  if (b == U.MADV_DONTNEED && !can_madv_lru(v)) return -EINVAL;
  if (b == U.MADV_REMOVE) {
    if (v.vm_flags & VM_LOCKED) return -EINVAL;
    if (v.vm_file == 0 || vma_is_anonymous(v)) return -EINVAL;
    if ((v.vm_flags & (VM_SHARED | VM_MAYWRITE)) != (VM_SHARED | VM_MAYWRITE)) return -EACCES;
  }
  return 0;
}

/**
 * madvise_walk_vmas over [cur, end). Advice that drops pages of a VMA registered with
 * EVENT_REMOVE delivers a REMOVE event for that VMA's part and waits before dropping anything
 * (as userfaultfd_remove does): the call returns -ERESTARTSYS with RESTART_MADVISE set, and its reissue resumes in
 * madvise_restart, which drops the pages and walks on.
 */
function madvise_walk(t: task_struct, mm: mm_struct, cur: u64, end: u64, b: i32, unmapped_error: i32): i64 {
  while (cur < end) {
    let v = find_vma(mm, cur);
    if (!v || v.vm_start >= end) {
      unmapped_error = -ENOMEM;
      break;
    }
    if (v.vm_start > cur) {
      unmapped_error = -ENOMEM;
      cur = v.vm_start;
    }
    let e = v.vm_end < end ? v.vm_end : end;
    if (madvise_removes(b) && madvise_remove_valid(v, b) == 0 && userfaultfd_remove(t, v, cur, e)) {
      restart_set(t, RESTART_MADVISE, unmapped_error);
      t.restart_a = cur;
      t.restart_b = e;
      if (b == U.MADV_REMOVE) {
        // madvise_remove computes the file range and holds the file before the lock drops.
        let f = changetype<file>(<usize>v.vm_file);
        get_file(f);
        t.restart_file = changetype<u32>(f);
        t.restart_c = (((cur - v.vm_start) >> 12) + v.vm_pgoff) << 12;
      }
      if (userfaultfd_events_wait(t)) return -ERESTARTSYS;
      // The event's ctx went away before delivery: nothing to wait for.
      return madvise_restart(t);
    }
    let r = madvise_vma(t, mm, v, cur, e, b);
    if (r < 0) return r;
    cur = e;
  }
  return unmapped_error;
}

/** The reissue of a madvise whose REMOVE event was read: drop [restart_a, restart_b), walk on. */
export function madvise_restart(t: task_struct): i64 {
  let mm = changetype<mm_struct>(<usize>task_struct_mm(t));
  let f = task_frame(t);
  let b = <i32>f.arg2;
  let end = f.arg0 + PAGE_ALIGN(f.arg1);
  let cur = t.restart_a, e = t.restart_b, off = t.restart_c;
  let unmapped_error = <i32>t.restart_ret;
  let rf = t.restart_file;
  restart_clear(t);
  t.restart_file = 0;
  if (b == U.MADV_REMOVE) {
    let r = vfs_fallocate(changetype<file>(<usize>rf), U.FALLOC_FL_PUNCH_HOLE | U.FALLOC_FL_KEEP_SIZE, <i64>off, <i64>(e - cur));
    fput(changetype<file>(<usize>rf));
    if (r < 0) return r;
  } else {
    // The lock was dropped: look the VMA up again (madvise_dontneed_free).
    let v = vma_lookup(mm, cur);
    if (!v) return -ENOMEM;
    let err = madvise_remove_valid(v, b);
    if (err < 0) return err;
    if (e > v.vm_end) e = v.vm_end;
    let r = madvise_vma(t, mm, v, cur, e, b);
    if (r < 0) return r;
  }
  return madvise_walk(t, mm, e, end, b, unmapped_error);
}
