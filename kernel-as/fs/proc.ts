// The bits of /proc uffdlab has: fdinfo's file-specific lines (fs/proc/fd.c) and the
// pagemap entry of one page (fs/proc/task_mmu.c).
import { files_struct } from "../kernel/types";
import { find_task, task_bounce } from "../kernel/sched";
import { fget } from "./file";
import { f_op_show_fdinfo } from "./file_ops";
import { EBADF, EINVAL } from "../abi/errno";
import { mm_struct } from "../mm/types";
import { TASK_SIZE } from "../abi/uapi";
import { pte_offset, pte_present, pte_uffd_wp, pte_special, is_pte_marker, pte_marker_get, PTE_MARKER_UFFD_WP, PTE_MARKER_POISONED } from "../mm/pgtable";
import { find_vma, vma_inode, linear_page_index } from "../mm/vma";
import { filemap_get } from "../mm/shmem";
import { BOUNCE_SIZE } from "../abi/kernel";
import { PAGE_STATE_NONE, PAGE_STATE_ZERO, PAGE_STATE_PRESENT, PAGE_STATE_CACHED, PAGE_STATE_WP, PAGE_STATE_POISONED } from "../abi/kernel";

/** seq_show's ->show_fdinfo part for fd `fd` of task `tid`, into its bounce page: the length, or -EBADF. */
export function proc_fdinfo(tid: i32, fd: i32): i32 {
  let t = find_task(tid);
  if (!t || t.files == 0) return -EBADF;
  let f = fget(changetype<files_struct>(<usize>t.files), fd);
  if (!f) return -EBADF;
  return f_op_show_fdinfo(f, task_bounce(t));
}

/** pagemap_pte_range's view of one PTE, compressed: PM_* bits below (the host builds the u64 entry). */
export const PAGEMAP_PRESENT: i32 = 1;
export const PAGEMAP_UFFD_WP: i32 = 2;

/**
 * /proc/<pid>/pagemap for the page at `addr` of task `tid`: PAGEMAP_PRESENT for a present
 * PTE, PAGEMAP_UFFD_WP for a uffd-wp protected PTE or a uffd-wp marker; -EINVAL for no task.
 */
export function proc_pagemap(tid: i32, addr: u64): i32 {
  let t = find_task(tid);
  if (!t || t.mm == 0) return -EINVAL;
  let mm = changetype<mm_struct>(<usize>t.mm);
  if (mm.pgd == 0 || addr >= TASK_SIZE) return 0;
  let ptep = pte_offset(<usize>mm.pgd, addr);
  if (ptep == 0) return 0;
  let pte = load<u64>(ptep);
  if (pte == 0) return 0;
  if (pte_present(pte)) return PAGEMAP_PRESENT | (pte_uffd_wp(pte) ? PAGEMAP_UFFD_WP : 0);
  if (is_pte_marker(pte) && (pte_marker_get(pte) & PTE_MARKER_UFFD_WP)) return PAGEMAP_UFFD_WP;
  return 0;
}

/**
 * The state of `n` pages from `addr` (page aligned) of task `tid`, one PAGE_STATE_* byte each,
 * into its bounce page: what a debugger would read from pagemap, the page cache (mincore) and
 * the PTE markers together. Returns n, or -EINVAL (no task, unaligned, n out of [0, BOUNCE_SIZE]).
 */
export function proc_page_states(tid: i32, addr: u64, n: i32): i32 {
  let t = find_task(tid);
  if (!t || t.mm == 0 || (addr & 0xfff) != 0 || n < 0 || n > BOUNCE_SIZE) return -EINVAL;
  let mm = changetype<mm_struct>(<usize>t.mm);
  let out = task_bounce(t);
  for (let i = 0; i < n; i++) {
    let a = addr + (<u64>i << 12);
    let s = PAGE_STATE_NONE;
    let pte: u64 = 0;
    if (mm.pgd != 0 && a < TASK_SIZE) {
      let ptep = pte_offset(<usize>mm.pgd, a);
      if (ptep != 0) pte = load<u64>(ptep);
    }
    if (pte_present(pte)) {
      s = pte_uffd_wp(pte) ? PAGE_STATE_WP : pte_special(pte) ? PAGE_STATE_ZERO : PAGE_STATE_PRESENT;
    } else if (is_pte_marker(pte) && (pte_marker_get(pte) & PTE_MARKER_POISONED)) {
      s = PAGE_STATE_POISONED;
    } else if (a < TASK_SIZE) {
      let v = find_vma(mm, a);
      if (v && v.vm_start <= a) {
        let ino = vma_inode(v);
        if (ino && filemap_get(ino, linear_page_index(v, a))) s = PAGE_STATE_CACHED;
      }
      if (is_pte_marker(pte) && (pte_marker_get(pte) & PTE_MARKER_UFFD_WP)) s = PAGE_STATE_WP;
    }
    store<u8>(out + <usize>i, <u8>s);
  }
  return n;
}
