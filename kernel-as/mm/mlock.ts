// mlock(2), mlock2(2), munlock(2), mlockall(2), munlockall(2) (mm/mlock.c). uffdlab has no
// reclaim, so a lock changes only VM_LOCKED / VM_LOCKONFAULT (which other calls consult:
// MADV_DONTNEED refuses locked memory) and faults the range in, as Linux does; mlockall's
// MCL_FUTURE puts the bits in mm->def_flags, which every new mapping takes (do_mmap).
// Processes are privileged (CAP_IPC_LOCK), so RLIMIT_MEMLOCK never applies: no EPERM, and
// mlockall(MCL_CURRENT) is never ENOMEM.
import { mm_struct } from "./types";
import { VM_LOCKED, VM_LOCKONFAULT, VM_WRITE, VM_SHARED, VM_READ, VM_EXEC, VM_DROPPABLE } from "../abi/kernel";
import { MLOCK_ONFAULT, MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT, PAGE_SIZE } from "../abi/uapi";
import { EINVAL, ENOMEM, EAGAIN, EFAULT } from "../abi/errno";
import { PAGE_ALIGN, offset_in_page } from "../lib/bitops";
import { vma_lookup, find_vma, vma_modify, vma_try_merge } from "./vma";
import { populate_range } from "./mmap";
import { task_struct } from "../kernel/types";

export const VM_LOCKED_MASK: u64 = VM_LOCKED | VM_LOCKONFAULT;

/** apply_vma_lock_flags: set the lock bits of every VMA in [start, end); ENOMEM on a hole. */
function apply_vma_lock_flags(mm: mm_struct, start: u64, end: u64, flags: u64): i32 {
  if (end < start) return -EINVAL;
  if (end == start) return 0;
  let v = vma_lookup(mm, start);
  if (!v) return -ENOMEM;
  let tmp = v.vm_start;
  let nstart = start;
  while (true) {
    let cur = find_vma(mm, nstart);
    if (!cur || cur.vm_start >= end) break;
    if (cur.vm_start > tmp) return -ENOMEM;
    let newflags = (cur.vm_flags & ~VM_LOCKED_MASK) | flags;
    let cend = cur.vm_end < end ? cur.vm_end : end;
    // mlock_fixup: droppable memory is never locked.
    if (newflags != cur.vm_flags && !(cur.vm_flags & VM_DROPPABLE)) {
      let m = vma_modify(mm, cur, nstart, cend);
      if (!m) return -ENOMEM;
      m.vm_flags = newflags;
      vma_try_merge(mm, m);
    }
    tmp = cend;
    nstart = cend;
    if (nstart >= end) break;
  }
  if (tmp < end) return -ENOMEM;
  return 0;
}

/** __mm_populate without ignoring errors, mapped to mlock's errno (__mlock_posix_error_return). */
function mm_populate(t: task_struct, mm: mm_struct, start: u64, end: u64): i32 {
  let addr = start;
  while (addr < end) {
    let v = find_vma(mm, addr);
    if (!v || v.vm_start >= end) break;
    let s = v.vm_start > addr ? v.vm_start : addr;
    let e = v.vm_end < end ? v.vm_end : end;
    // PROT_NONE memory is locked, but faulting it in fails (get_user_pages without FOLL_FORCE:
    // -EFAULT, which mlock reports as ENOMEM; checked on the host kernel).
    if (!(v.vm_flags & (VM_READ | VM_WRITE | VM_EXEC))) return -ENOMEM;
    let write = (v.vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE;
    let r = populate_range(t, mm, s, e, write);
    if (r == -EFAULT) return -ENOMEM;
    if (r == -ENOMEM) return -EAGAIN;
    if (r < 0) return r;
    addr = e;
  }
  return 0;
}

function do_mlock(t: task_struct, start: u64, len: u64, flags: u64): i64 {
  let mm = changetype<mm_struct>(<usize>t.mm);
  len = PAGE_ALIGN(len + offset_in_page(start));
  start &= ~(<u64>PAGE_SIZE - 1);
  let end = start + len;
  let r = apply_vma_lock_flags(mm, start, end, flags);
  if (r < 0) return r;
  if (flags & VM_LOCKONFAULT) return 0;
  return mm_populate(t, mm, start, end);
}

export function sys_mlock(t: task_struct, start: u64, len: u64): i64 {
  return do_mlock(t, start, len, VM_LOCKED);
}

export function sys_mlock2(t: task_struct, start: u64, len: u64, flags: i32): i64 {
  if (flags & ~MLOCK_ONFAULT) return -EINVAL;
  return do_mlock(t, start, len, (flags & MLOCK_ONFAULT) ? VM_LOCKED | VM_LOCKONFAULT : VM_LOCKED);
}

export function sys_munlock(t: task_struct, start: u64, len: u64): i64 {
  let mm = changetype<mm_struct>(<usize>t.mm);
  len = PAGE_ALIGN(len + offset_in_page(start));
  start &= ~(<u64>PAGE_SIZE - 1);
  return apply_vma_lock_flags(mm, start, start + len, 0);
}

/**
 * apply_mlockall_flags: the MCL_* flags (0 from munlockall) into mm->def_flags and, with
 * MCL_CURRENT, onto every VMA; without it every VMA is unlocked. Failures to split or merge
 * are ignored, as Linux ignores mlock_fixup's errors here.
 */
function apply_mlockall_flags(mm: mm_struct, flags: i32): void {
  mm.def_flags &= ~VM_LOCKED_MASK;
  if (flags & MCL_FUTURE) {
    mm.def_flags |= VM_LOCKED;
    if (flags & MCL_ONFAULT) mm.def_flags |= VM_LOCKONFAULT;
    if (!(flags & MCL_CURRENT)) return;
  }
  let to_add: u64 = 0;
  if (flags & MCL_CURRENT) {
    to_add = VM_LOCKED;
    if (flags & MCL_ONFAULT) to_add |= VM_LOCKONFAULT;
  }
  let addr: u64 = 0;
  while (true) {
    let cur = find_vma(mm, addr);
    if (!cur) break;
    let end = cur.vm_end;
    let newflags = (cur.vm_flags & ~VM_LOCKED_MASK) | to_add;
    // mlock_fixup: droppable memory is never locked.
    if (newflags != cur.vm_flags && !(cur.vm_flags & VM_DROPPABLE)) {
      let m = vma_modify(mm, cur, cur.vm_start, end);
      if (m) {
        m.vm_flags = newflags;
        vma_try_merge(mm, m);
      }
    }
    addr = end;
  }
}

export function sys_mlockall(t: task_struct, flags: i32): i64 {
  if (!flags || (flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) || flags == MCL_ONFAULT) return -EINVAL;
  let mm = changetype<mm_struct>(<usize>t.mm);
  apply_mlockall_flags(mm, flags);
  if (flags & MCL_CURRENT) mm_populate_all(t, mm);
  return 0;
}

export function sys_munlockall(t: task_struct): i64 {
  apply_mlockall_flags(changetype<mm_struct>(<usize>t.mm), 0);
  return 0;
}

/**
 * mm_populate(0, TASK_SIZE) with errors ignored: every locked VMA faulted in except
 * lock-on-fault and PROT_NONE ones (populate_vma_page_range).
 */
function mm_populate_all(t: task_struct, mm: mm_struct): void {
  let addr: u64 = 0;
  while (true) {
    let v = find_vma(mm, addr);
    if (!v) break;
    let s = v.vm_start, e = v.vm_end, fl = v.vm_flags;
    if ((fl & VM_LOCKED_MASK) == VM_LOCKED && (fl & (VM_READ | VM_WRITE | VM_EXEC))) {
      populate_range(t, mm, s, e, (fl & (VM_WRITE | VM_SHARED)) == VM_WRITE);
    }
    addr = e;
  }
}
