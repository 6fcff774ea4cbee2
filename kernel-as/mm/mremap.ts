// mremap(2) (mm/mremap.c, 6.18 structure: check_mremap_params, check_prep_vma,
// mremap_at / mremap_to, expand_vma, move_vma).
import { vm_area_struct, mm_struct } from "./types";
import { VM_SHARED, VM_MAYSHARE, VM_DONTEXPAND, VM_LOCKED, VM_LOCKONFAULT } from "../abi/kernel";
import { MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP, MAP_FIXED, MAP_SHARED, PAGE_SIZE, TASK_SIZE, DEFAULT_MAX_MAP_COUNT } from "../abi/uapi";
import { EINVAL, ENOMEM, EFAULT } from "../abi/errno";
import { PAGE_ALIGN, offset_in_page } from "../lib/bitops";
import { vma_lookup, vm_area_dup, vm_area_free, vma_link, vma_try_merge, find_vma, vma_is_anonymous } from "./vma";
import { get_unmapped_area, do_munmap_range, do_munmap_uf, find_vma_intersection } from "./mmap";
import { pte_offset, pte_offset_alloc, pte_table_end, pte_hole_end, set_pte, free_pgtables, is_pte_marker, pte_marker_get, _PAGE_UFFD_WP, PTE_MARKER_UFFD_WP, pte_present } from "./pgtable";
import { task_struct } from "../kernel/types";
import { K } from "../init/state";
import { VM_UFFD_MISSING, VM_UFFD_WP, VM_UFFD_MINOR } from "../abi/kernel";
import { mremap_userfaultfd_prep, mremap_userfaultfd_complete, userfaultfd_events_complete } from "../fs/userfaultfd";

/** Delivery order of the events of one mremap (Linux's uf_unmap_early, uf, uf_unmap lists). */
const UF_UNMAP_EARLY: u32 = 0;
const UF_REMAP: u32 = 1;
const UF_UNMAP: u32 = 2;

// @ts-ignore: decorator
@inline function current(): task_struct { return changetype<task_struct>(<usize>K().current); }
// @ts-ignore: decorator
@inline function userfaultfd_armed(v: vm_area_struct): bool { return (v.vm_flags & (VM_UFFD_MISSING | VM_UFFD_WP | VM_UFFD_MINOR)) != 0; }

// @ts-ignore: decorator
@inline function MMOF(t: task_struct): mm_struct { return changetype<mm_struct>(<usize>t.mm); }

/**
 * move_ptes: carry the entries of [old, old + len) to [new_addr, ...). `clear_wp`: the moved
 * VMA lost its uffd-wp registration (no EVENT_REMAP), so uffd-wp bits and markers do not move
 * with it. Returns false on OOM.
 */
function move_page_tables(mm: mm_struct, old: u64, new_addr: u64, len: u64, clear_wp: bool = false): bool {
  let pgd = <usize>mm.pgd;
  let end = old + len;
  let addr = old;
  while (addr < end) {
    let tend = pte_table_end(addr, end);
    let sp = pte_offset(pgd, addr);
    if (sp == 0) {
      addr = pte_hole_end(pgd, addr, end);
      continue;
    }
    for (; addr < tend; addr += PAGE_SIZE, sp += 8) {
      let pte = load<u64>(sp);
      if (pte == 0) continue;
      if (clear_wp) {
        if (is_pte_marker(pte) && pte_marker_get(pte) == PTE_MARKER_UFFD_WP) {
          set_pte(sp, 0);
          continue;
        }
        if (pte_present(pte)) pte &= ~_PAGE_UFFD_WP;
      }
      let dp = pte_offset_alloc(pgd, new_addr + (addr - old));
      if (dp == 0) return false;
      // The source table may not move: pte_offset_alloc never frees. Re-read is unnecessary.
      set_pte(sp, 0);
      set_pte(dp, pte);
    }
  }
  free_pgtables(pgd, old, end);
  return true;
}

/**
 * move_vma: map [new_addr, new_addr + new_len) with the backing of `v` at `addr`, move
 * the page tables of the first old_len bytes, then unmap the old range (unless DONTUNMAP).
 */
function move_vma(mm: mm_struct, v: vm_area_struct, addr: u64, old_len: u64, new_addr: u64, new_len: u64, dontunmap: bool): i64 {
  if (mm.map_count >= DEFAULT_MAX_MAP_COUNT - 3) return -ENOMEM;
  let n = vm_area_dup(v);
  if (!n) return -ENOMEM;
  n.vm_pgoff = v.vm_pgoff + ((addr - v.vm_start) >> 12);
  // copy_vma: an anonymous VMA that never had a page takes the pgoff of its new place, the
  // better to merge there.
  if (vma_is_anonymous(v) && v.anon_vma == 0) n.vm_pgoff = new_addr >> 12;
  n.vm_start = new_addr;
  n.vm_end = new_addr + new_len;
  // mremap_userfaultfd_prep: a REMAP event, or the moved VMA is no longer registered.
  let was_wp = (n.vm_flags & VM_UFFD_WP) != 0;
  if (mremap_userfaultfd_prep(current(), n, UF_REMAP) < 0) {
    vm_area_free(n);
    return -ENOMEM;
  }
  vma_link(mm, n);
  let moved = old_len < new_len ? old_len : new_len;
  if (!move_page_tables(mm, addr, new_addr, moved, was_wp && !(n.vm_flags & VM_UFFD_WP))) {
    // Put back what moved, then drop the new VMA.
    move_page_tables(mm, new_addr, addr, moved);
    do_munmap_range(mm, new_addr, new_addr + new_len);
    return -ENOMEM;
  }
  if (!dontunmap && old_len > 0) do_munmap_uf(current(), mm, addr, addr + old_len, UF_UNMAP);
  let nv = vma_lookup(mm, new_addr);
  if (nv) vma_try_merge(mm, nv);
  if (dontunmap) {
    // dontunmap_complete (6.18, measured): the old VMA — all of it, unsplit — loses VM_LOCKED and
    // VM_LOCKONFAULT (VM_ACCOUNT stays); if it was exactly the moved range (and the new VMA did
    // not merge into it) it gives up its anon_vma, all its pages having moved.
    let ov = vma_lookup(mm, addr);
    if (ov) {
      ov.vm_flags &= ~(VM_LOCKED | VM_LOCKONFAULT);
      if (ov.vm_start == addr && ov.vm_end == addr + old_len) ov.anon_vma = 0;
    }
  }
  return <i64>new_addr;
}

/** vma_expandable: whether `v` can grow by `delta` bytes in place. */
function vma_expandable(mm: mm_struct, v: vm_area_struct, delta: u64): bool {
  let end = v.vm_end + delta;
  if (end < v.vm_end || end > TASK_SIZE) return false;
  return !find_vma_intersection(mm, v.vm_end, end);
}

/**
 * remap_move (6.17+): MREMAP_FIXED with equal sizes moves every VMA in the range — with or
 * without MREMAP_DONTUNMAP (vrm_move_only does not look at it).
 */
function remap_move(mm: mm_struct, addr: u64, len: u64, new_addr: u64, dontunmap: bool): i64 {
  let first = vma_lookup(mm, addr);
  if (!first) return -EFAULT;
  let end = addr + len;
  let cur = addr;
  while (cur < end) {
    let v = find_vma(mm, cur);
    if (!v || v.vm_start >= end) break;
    let s = v.vm_start > cur ? v.vm_start : cur;
    let e = v.vm_end < end ? v.vm_end : end;
    // vma_multi_allowed: a registered VMA moves only alone (its events need the lock dropped).
    if (userfaultfd_armed(v) && (cur != addr || v.vm_end < end)) return -EFAULT;
    // Each piece replaces only its own target range (mremap_to per VMA): the target of a gap
    // in the source keeps whatever is mapped there. The unmap may split v: look it up again.
    let to = new_addr + (s - addr);
    let r = do_munmap_uf(current(), mm, to, to + (e - s), UF_UNMAP_EARLY);
    if (r < 0) return r;
    v = vma_lookup(mm, s);
    if (!v) return -EFAULT;
    if (dontunmap && (v.vm_flags & VM_DONTEXPAND)) return -EINVAL;
    let res = move_vma(mm, v, s, e - s, to, e - s, dontunmap);
    if (res < 0) return res;
    cur = e;
  }
  return <i64>new_addr;
}

/**
 * mremap(2). `flags_hi` is bits 32..63 of the flags argument (unsigned long in Linux):
 * undefined flags. Its events go out in Linux's order: UNMAP of a MREMAP_FIXED target, REMAP,
 * UNMAP of a removed tail or of the moved-from range.
 */
export function sys_mremap(t: task_struct, addr: u64, old_len: u64, new_len: u64, flags: i32, new_addr: u64, flags_hi: u32 = 0): i64 {
  let r = do_mremap(t, addr, old_len, new_len, flags, new_addr, flags_hi);
  mremap_userfaultfd_complete(t, addr, r, PAGE_ALIGN(old_len));
  return userfaultfd_events_complete(t, r);
}

function do_mremap(t: task_struct, addr: u64, old_len: u64, new_len: u64, flags: i32, new_addr: u64, flags_hi: u32): i64 {
  let mm = MMOF(t);
  old_len = PAGE_ALIGN(old_len);
  new_len = PAGE_ALIGN(new_len);
  // check_mremap_params
  if ((flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP)) || flags_hi) return -EINVAL;
  if (offset_in_page(addr)) return -EINVAL;
  if (new_len == 0) return -EINVAL;
  if (new_len > TASK_SIZE) return -EINVAL;
  let implies_new_addr = (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) != 0;
  if (implies_new_addr) {
    if (new_addr > TASK_SIZE - new_len) return -EINVAL;
    if (offset_in_page(new_addr)) return -EINVAL;
    if (!(flags & MREMAP_MAYMOVE)) return -EINVAL;
    if ((flags & MREMAP_DONTUNMAP) && old_len != new_len) return -EINVAL;
    // vrm_overlaps: also a DONTUNMAP hint may not overlap the old range.
    if (new_addr < addr + old_len && addr < new_addr + new_len) return -EINVAL;
    if (mm.map_count + 2 >= DEFAULT_MAX_MAP_COUNT - 3) return -ENOMEM;
  }
  // vrm_move_only
  if ((flags & MREMAP_FIXED) && old_len == new_len) {
    return remap_move(mm, addr, old_len, new_addr, (flags & MREMAP_DONTUNMAP) != 0);
  }
  // check_prep_vma
  let v = vma_lookup(mm, addr);
  if (!v) return -EFAULT;
  let expand = new_len > old_len;
  if (!implies_new_addr) new_addr = addr;
  if (expand || implies_new_addr) {
    if (old_len == 0 && !(v.vm_flags & (VM_SHARED | VM_MAYSHARE))) return -EINVAL;
    if ((flags & MREMAP_DONTUNMAP) && (v.vm_flags & VM_DONTEXPAND)) return -EINVAL;
    // A shrink may cross VMA ends (the tail is just unmapped): only what stays must fit.
    if ((new_len < old_len ? new_len : old_len) > v.vm_end - addr) return -EFAULT;
    if (new_len != old_len) {
      let pgoff = ((addr - v.vm_start) >> 12) + v.vm_pgoff;
      if (pgoff + (new_len >> 12) < pgoff) return -EINVAL;
      if (v.vm_flags & VM_DONTEXPAND) return -EFAULT;
    }
  }
  if (implies_new_addr) return mremap_to(mm, v, addr, old_len, new_len, flags, new_addr);
  // mremap_at
  if (new_len == old_len) return <i64>addr;
  if (new_len < old_len) {
    let r = do_munmap_uf(t, mm, addr + new_len, addr + old_len, UF_UNMAP);
    return r < 0 ? <i64>r : <i64>addr;
  }
  // expand_vma
  let delta = new_len - old_len;
  if (addr + old_len == v.vm_end && vma_expandable(mm, v, delta)) {
    v.vm_end += delta;
    vma_try_merge(mm, v);
    return <i64>addr;
  }
  if (!(flags & MREMAP_MAYMOVE)) return -ENOMEM;
  let map_flags = (v.vm_flags & VM_MAYSHARE) ? MAP_SHARED : 0;
  let na = get_unmapped_area(mm, new_addr, new_len, map_flags);
  if (na < 0) return na;
  return move_vma(mm, v, addr, old_len, <u64>na, new_len, false);
}

function mremap_to(mm: mm_struct, v: vm_area_struct, addr: u64, old_len: u64, new_len: u64, flags: i32, new_addr: u64): i64 {
  if (flags & MREMAP_FIXED) {
    let r = do_munmap_uf(current(), mm, new_addr, new_addr + new_len, UF_UNMAP_EARLY);
    if (r < 0) return r;
    let nv = vma_lookup(mm, addr);
    if (!nv) return -EFAULT;
    v = nv;
  }
  if (new_len < old_len) {
    let r = do_munmap_uf(current(), mm, addr + new_len, addr + old_len, UF_UNMAP);
    if (r < 0) return r;
    old_len = new_len;
    let nv = vma_lookup(mm, addr);
    if (!nv) return -EFAULT;
    v = nv;
  }
  let map_flags = ((flags & MREMAP_FIXED) ? MAP_FIXED : 0) | ((v.vm_flags & VM_MAYSHARE) ? MAP_SHARED : 0);
  let na = get_unmapped_area(mm, new_addr, new_len, map_flags);
  if (na < 0) return na;
  return move_vma(mm, v, addr, old_len, <u64>na, new_len, (flags & MREMAP_DONTUNMAP) != 0);
}
