// The debug build's invariant checker (mm/debug.c, CONFIG_DEBUG_VM). Tests call it through
// the mm_check_invariants export after every step; the release build compiles it out.
//
// Checked: each mm's VMA list (sorted, aligned, non-empty, non-overlapping, counted, linked
// both ways); each page table's live-entry count; every present PTE lies inside a VMA and
// is no more permissive than it; an anonymous page's anon_vma is its VMA's; every user page's _mapcount equals the PTEs that map it and
// its _refcount equals mappings + page-cache reference; each inode's page cache agrees
// with its pages (mapping, index, nrpages); the free list has pa_nr_free free frames; no
// fd table keeps a reserved slot or a file that is not whole.
import { INV_OK, INV_NOT_COMPILED, INV_VMA_ORDER, INV_VMA_COUNT, INV_MAPCOUNT, INV_REFCOUNT, INV_PTE_OUTSIDE_VMA,
  INV_PAGECACHE, INV_FREE_LIST, INV_PGTABLE_COUNT, INV_PTE_PERMS, INV_ANON_VMA, INV_FD_TABLE, INV_PIPE, MAX_TASKS, VM_WRITE, VM_READ, VM_EXEC } from "../abi/kernel";
import { K, KSCRATCH_ADDR } from "../init/state";
import { task_slot } from "../kernel/sched";
import { TASK_UNUSED } from "../kernel/types";
import { mm_struct } from "./types";
import { VMA, find_vma } from "./vma";
import { page, pfn_to_page, virt_to_page, pa_valid, PG_anon, PG_free, PG_slab, PG_table, PG_radix, PG_reserved, PG_kernel, PG_CHECK_SHIFT } from "./page_alloc";
import { PTE_PFN_MASK, pte_present, pte_special, _PAGE_RW, _PAGE_USER } from "./pgtable";
import { inode, INODE_PIPE } from "../fs/types";
import { pipe_check } from "../fs/pipe";
import { radix_next } from "../lib/radix";
import { fd_table_check } from "../fs/file";
import { files_struct } from "../kernel/types";
import { PAGE_SIZE } from "../abi/uapi";

/** Where the checker reports the first violation: code, then the address involved. */
export const CHECK_DETAIL_ADDR: usize = KSCRATCH_ADDR + 0x80;

function fail(code: i32, detail: u64): i32 {
  store<u64>(CHECK_DETAIL_ADDR, detail);
  return code;
}

function check_vmas(mm: mm_struct): i32 {
  let n = 0;
  let prev_end: u64 = 0;
  let prev: u32 = 0;
  let p = mm.mmap;
  while (p != 0) {
    let v = VMA(p);
    if (v.vm_prev != prev || v.vm_mm != changetype<u32>(mm)) return fail(INV_VMA_ORDER, v.vm_start);
    if (v.vm_start >= v.vm_end || (v.vm_start & (PAGE_SIZE - 1)) || (v.vm_end & (PAGE_SIZE - 1))) return fail(INV_VMA_ORDER, v.vm_start);
    if (v.vm_start < prev_end) return fail(INV_VMA_ORDER, v.vm_start);
    prev_end = v.vm_end;
    prev = p;
    p = v.vm_next;
    if (++n > 1 << 20) return fail(INV_VMA_ORDER, 0);
  }
  if (n != mm.map_count) return fail(INV_VMA_COUNT, <u64>n);
  return INV_OK;
}

/** Walk a table at `level`; count PTE mappings into the pages' check counters. */
function check_table(mm: mm_struct, table: usize, level: i32, base: u64): i32 {
  let tp = virt_to_page(table);
  if (!(tp.flags & PG_table)) return fail(INV_PGTABLE_COUNT, <u64>table);
  let live: u32 = 0;
  let span: u64 = <u64>1 << (12 + 9 * <u64>level);
  for (let i = 0; i < 512; i++) {
    let e = load<u64>(table + (<usize>i << 3));
    if (e == 0) continue;
    live++;
    let addr = base + <u64>i * span;
    if (level > 0) {
      let r = check_table(mm, <usize>(e & PTE_PFN_MASK), level - 1, addr);
      if (r != INV_OK) return r;
      continue;
    }
    if (!pte_present(e)) continue; // markers need no page
    let v = find_vma(mm, addr);
    if (!v || v.vm_start > addr) return fail(INV_PTE_OUTSIDE_VMA, addr);
    if ((e & _PAGE_RW) && !(v.vm_flags & VM_WRITE)) return fail(INV_PTE_PERMS, addr);
    if ((e & _PAGE_USER) && !(v.vm_flags & (VM_READ | VM_WRITE | VM_EXEC))) return fail(INV_PTE_PERMS, addr);
    if (pte_special(e)) {
      if (<u32>(e & PTE_PFN_MASK) != K().pa_zero_page || (e & _PAGE_RW)) return fail(INV_PTE_PERMS, addr);
      continue;
    }
    let pa = e & PTE_PFN_MASK;
    if (!pa_valid(pa)) return fail(INV_MAPCOUNT, addr);
    let p = virt_to_page(<usize>pa);
    if (p.flags & (PG_free | PG_slab | PG_table | PG_radix | PG_reserved | PG_kernel)) return fail(INV_MAPCOUNT, addr);
    // An anonymous page hangs off the anon_vma of every VMA that maps it (fork shares the
    // identity; UFFDIO_MOVE re-homes the page with folio_move_anon_rmap).
    if ((p.flags & PG_anon) && p.priv != v.anon_vma) return fail(INV_ANON_VMA, addr);
    p.flags += 1 << PG_CHECK_SHIFT;
  }
  if (live != tp.priv) return fail(INV_PGTABLE_COUNT, base);
  return INV_OK;
}

function check_page_cache(ino: inode): i32 {
  let root = changetype<usize>(ino) + offsetof<inode>("i_pages_height");
  let out = KSCRATCH_ADDR + 0x90;
  let n: u32 = 0;
  let key: u64 = 0;
  while (true) {
    let v = radix_next(root, key, out);
    if (v == 0) break;
    let k = load<u64>(out);
    let p = changetype<page>(<usize>v);
    if (p.mapping != changetype<u32>(ino) || p.index != k) return fail(INV_PAGECACHE, k);
    n++;
    if (k == <u64>-1) break;
    key = k + 1;
  }
  if (n != ino.nrpages) return fail(INV_PAGECACHE, <u64>n);
  return INV_OK;
}

function check_mms_and_caches(): i32 {
  // 1. VMAs and page tables of every live address space (each mm once).
  for (let i = 0; i < MAX_TASKS; i++) {
    let t = task_slot(i);
    if (t.state == TASK_UNUSED || t.mm == 0) continue;
    let seen = false;
    for (let j = 0; j < i; j++) {
      let o = task_slot(j);
      if (o.state != TASK_UNUSED && o.mm == t.mm) { seen = true; break; }
    }
    if (seen) continue;
    let mm = changetype<mm_struct>(<usize>t.mm);
    let r = check_vmas(mm);
    if (r != INV_OK) return r;
    r = check_table(mm, <usize>mm.pgd, 3, 0);
    if (r != INV_OK) return r;
  }
  // 2. fd tables (each once).
  for (let i = 0; i < MAX_TASKS; i++) {
    let t = task_slot(i);
    if (t.state == TASK_UNUSED || t.files == 0) continue;
    let seen = false;
    for (let j = 0; j < i; j++) {
      let o = task_slot(j);
      if (o.state != TASK_UNUSED && o.files == t.files) { seen = true; break; }
    }
    if (seen) continue;
    let fd = fd_table_check(changetype<files_struct>(<usize>t.files));
    if (fd >= 0) return fail(INV_FD_TABLE, <u64>fd);
  }
  // 3. Page caches; pipes (no page cache) have their ring checked, and their slots add up to
  // the user's accounting.
  let ip = K().inode_list;
  let pipe_bufs: u32 = 0;
  while (ip != 0) {
    let ino = changetype<inode>(<usize>ip);
    let r = INV_OK;
    if (ino.i_kind == INODE_PIPE) {
      let n = pipe_check(ino);
      if (n < 0) r = fail(INV_PIPE, <u64>ip);
      else pipe_bufs += <u32>n;
    } else r = check_page_cache(ino);
    if (r != INV_OK) return r;
    ip = ino.i_sb_next;
  }
  if (pipe_bufs != K().pipe_user_bufs) return fail(INV_PIPE, 0);
  return INV_OK;
}

function do_check(): i32 {
  let k = K();
  let result = check_mms_and_caches();
  // 4. Every frame: counters against what the walk saw; always clears the scratch bits.
  let free: u32 = 0;
  for (let pfn: u32 = 0; pfn < k.pa_nr_frames; pfn++) {
    let p = pfn_to_page(pfn);
    let seen = p.flags >> PG_CHECK_SHIFT;
    p.flags &= (1 << PG_CHECK_SHIFT) - 1;
    if (result != INV_OK) continue;
    if (p.flags & PG_free) { free++; continue; }
    if (p.flags & (PG_slab | PG_table | PG_radix | PG_reserved | PG_kernel)) continue;
    if (<u32>p._mapcount != seen) result = fail(INV_MAPCOUNT, <u64>pfn << 12);
    else if (p._refcount != p._mapcount + (p.mapping != 0 ? 1 : 0)) result = fail(INV_REFCOUNT, <u64>pfn << 12);
  }
  if (result != INV_OK) return result;
  if (free != k.pa_nr_free) return fail(INV_FREE_LIST, <u64>free);
  return INV_OK;
}

/** 0 when every invariant holds; else an INV_* code with a detail at CHECK_DETAIL_ADDR. */
export function check_invariants(): i32 {
  if (!CONFIG_DEBUG_VM) return INV_NOT_COMPILED;
  return do_check();
}
