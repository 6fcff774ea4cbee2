// VMAs: the per-mm ordered set, split and merge (mm/vma.c, mm/mmap.c).
//
// The set is a doubly linked list sorted by address with a one-entry lookup cache: simple,
// allocation-free, and O(1) for the repeated lookups of the fault path. Invariant (checked
// by mm/debug.ts): VMAs are non-empty, page-aligned, sorted and never overlap.
import { CACHE_VMA, K } from "../init/state";
import { kmem_cache_alloc, kmem_cache_free } from "./slab";
import { vm_area_struct, mm_struct } from "./types";
import { file, inode } from "../fs/types";
import { get_file, fput } from "../fs/file";
import { DEFAULT_MAX_MAP_COUNT } from "../abi/uapi";
import { VMA_OPS_ANON, VM_UFFD_MISSING, VM_UFFD_WP, VM_UFFD_MINOR, VM_SHARED, VM_MAYWRITE, VM_READ, VM_WRITE, VM_EXEC, VM_SOFTDIRTY } from "../abi/kernel";

export const __VM_UFFD_FLAGS: u64 = VM_UFFD_MISSING | VM_UFFD_WP | VM_UFFD_MINOR;

// @ts-ignore: decorator
@inline export function VMA(p: u32): vm_area_struct { return changetype<vm_area_struct>(<usize>p); }
// @ts-ignore: decorator
@inline export function vma_is_anonymous(v: vm_area_struct): bool { return v.vm_ops == VMA_OPS_ANON; }
// @ts-ignore: decorator
@inline export function vma_pages(v: vm_area_struct): u64 { return (v.vm_end - v.vm_start) >> 12; }
/** The file page offset of `addr` in `v` (linear_page_index). */
// @ts-ignore: decorator
@inline export function linear_page_index(v: vm_area_struct, addr: u64): u64 {
  return ((addr - v.vm_start) >> 12) + v.vm_pgoff;
}
// @ts-ignore: decorator
@inline export function vma_inode(v: vm_area_struct): inode | null {
  if (v.vm_file == 0) return null;
  return changetype<inode>(<usize>changetype<file>(<usize>v.vm_file).f_inode);
}

/** A zeroed VMA, or null when out of memory. */
export function vm_area_alloc(mm: mm_struct): vm_area_struct | null {
  let p = kmem_cache_alloc(CACHE_VMA);
  if (p == 0) return null;
  let v = changetype<vm_area_struct>(p);
  v.vm_mm = changetype<u32>(mm);
  return v;
}

/** A copy of `orig` not linked anywhere; takes its own file reference. */
export function vm_area_dup(orig: vm_area_struct): vm_area_struct | null {
  let p = kmem_cache_alloc(CACHE_VMA);
  if (p == 0) return null;
  memory.copy(p, changetype<usize>(orig), offsetof<vm_area_struct>());
  let v = changetype<vm_area_struct>(p);
  v.vm_next = 0;
  v.vm_prev = 0;
  v.shared_next = 0;
  v.shared_prev = 0;
  if (v.vm_file) get_file(changetype<file>(<usize>v.vm_file));
  return v;
}

/** Free an unlinked VMA and drop its file reference. */
export function vm_area_free(v: vm_area_struct): void {
  let f = v.vm_file;
  kmem_cache_free(CACHE_VMA, changetype<usize>(v));
  if (f) fput(changetype<file>(<usize>f));
}

/** find_vma: the first VMA with vm_end > addr, or null. */
export function find_vma(mm: mm_struct, addr: u64): vm_area_struct | null {
  let c = mm.vmacache;
  if (c != 0) {
    let v = VMA(c);
    if (v.vm_start <= addr && addr < v.vm_end) return v;
  }
  let p = mm.mmap;
  while (p != 0) {
    let v = VMA(p);
    if (v.vm_end > addr) {
      mm.vmacache = p;
      return v;
    }
    p = v.vm_next;
  }
  return null;
}

/** The VMA containing addr, or null (vma_lookup). */
export function vma_lookup(mm: mm_struct, addr: u64): vm_area_struct | null {
  let v = find_vma(mm, addr);
  if (v && v.vm_start <= addr) return v;
  return null;
}

/** The last VMA with vm_start < addr, or null. */
export function find_vma_prev_of(mm: mm_struct, addr: u64): vm_area_struct | null {
  let p = mm.mmap;
  let prev: u32 = 0;
  while (p != 0) {
    let v = VMA(p);
    if (v.vm_start >= addr) break;
    prev = p;
    p = v.vm_next;
  }
  return prev == 0 ? null : VMA(prev);
}

// @ts-ignore: decorator
@inline function vma_is_shared_maywrite(v: vm_area_struct): bool {
  return (v.vm_flags & (VM_SHARED | VM_MAYWRITE)) == (VM_SHARED | VM_MAYWRITE);
}

function i_mmap_insert(v: vm_area_struct): void {
  let ino = vma_inode(v);
  if (!ino) return;
  if (vma_is_shared_maywrite(v)) ino.i_mmap_writable++;
  v.shared_prev = 0;
  v.shared_next = ino.i_mmap;
  if (ino.i_mmap) VMA(ino.i_mmap).shared_prev = changetype<u32>(v);
  ino.i_mmap = changetype<u32>(v);
}

function i_mmap_remove(v: vm_area_struct): void {
  let ino = vma_inode(v);
  if (!ino) return;
  if (vma_is_shared_maywrite(v)) ino.i_mmap_writable--;
  if (v.shared_prev) VMA(v.shared_prev).shared_next = v.shared_next;
  else ino.i_mmap = v.shared_next;
  if (v.shared_next) VMA(v.shared_next).shared_prev = v.shared_prev;
  v.shared_next = 0;
  v.shared_prev = 0;
}

/** Insert `v` into the sorted list (and its inode's i_mmap). Precondition: no overlap. */
export function vma_link(mm: mm_struct, v: vm_area_struct): void {
  let prev = find_vma_prev_of(mm, v.vm_start);
  let vp = changetype<u32>(v);
  if (prev) {
    v.vm_prev = changetype<u32>(prev);
    v.vm_next = prev.vm_next;
    prev.vm_next = vp;
  } else {
    v.vm_prev = 0;
    v.vm_next = mm.mmap;
    mm.mmap = vp;
  }
  if (v.vm_next) VMA(v.vm_next).vm_prev = vp;
  v.vm_mm = changetype<u32>(mm);
  mm.map_count++;
  i_mmap_insert(v);
}

/** Remove `v` from the list and i_mmap; does not free it. */
export function vma_unlink(mm: mm_struct, v: vm_area_struct): void {
  if (v.vm_prev) VMA(v.vm_prev).vm_next = v.vm_next;
  else mm.mmap = v.vm_next;
  if (v.vm_next) VMA(v.vm_next).vm_prev = v.vm_prev;
  if (mm.vmacache == changetype<u32>(v)) mm.vmacache = 0;
  v.vm_next = 0;
  v.vm_prev = 0;
  mm.map_count--;
  i_mmap_remove(v);
}

/**
 * split_vma: cut `v` at `addr` (strictly inside it). `v` keeps [vm_start, addr); the new
 * VMA, linked after it, gets [addr, vm_end). Returns the new VMA, or null (ENOMEM).
 */
export function split_vma(mm: mm_struct, v: vm_area_struct, addr: u64): vm_area_struct | null {
  let n = vm_area_dup(v);
  if (!n) return null;
  n.vm_start = addr;
  n.vm_pgoff = v.vm_pgoff + ((addr - v.vm_start) >> 12);
  v.vm_end = addr;
  // Link right after v without a search.
  n.vm_prev = changetype<u32>(v);
  n.vm_next = v.vm_next;
  if (v.vm_next) VMA(v.vm_next).vm_prev = changetype<u32>(n);
  v.vm_next = changetype<u32>(n);
  n.vm_mm = changetype<u32>(mm);
  mm.map_count++;
  i_mmap_insert(n);
  return n;
}

/** is_mergeable_anon_vma: either side without anonymous pages, or the same anon_vma. */
// @ts-ignore: decorator
@inline function mergeable_anon_vma(a: u32, b: u32): bool { return a == 0 || b == 0 || a == b; }

/**
 * vma_modify (the split half of Linux's vma_modify_flags): make [start, end) — a range inside
 * `v` — a VMA of its own, splitting at either edge. Returns that VMA, or null (ENOMEM; a split
 * already made stays, as in Linux). The caller changes it and then calls vma_try_merge.
 */
export function vma_modify(mm: mm_struct, v: vm_area_struct, start: u64, end: u64): vm_area_struct | null {
  // Each split needs map_count below vm.max_map_count, as Linux's split_vma checks (munmap checks
  // on its own and splits without it). Linux tries a merge with a neighbour first, which needs no
  // split; uffdlab splits, then merges, so at the very limit such a merge-only change is ENOMEM here.
  if (v.vm_start < start) {
    if (mm.map_count >= DEFAULT_MAX_MAP_COUNT) return null;
    let n = split_vma(mm, v, start);
    if (!n) return null;
    v = n;
  }
  if (v.vm_end > end) {
    if (mm.map_count >= DEFAULT_MAX_MAP_COUNT) return null;
    if (!split_vma(mm, v, end)) return null;
  }
  return v;
}

/** Whether `a` (below) and `b` (above, adjacent) may become one VMA. */
export function can_vma_merge(a: vm_area_struct, b: vm_area_struct): bool {
  if (a.vm_end != b.vm_start) return false;
  if (a.vm_flags != b.vm_flags || a.vm_ops != b.vm_ops || a.uffd_ctx != b.uffd_ctx) return false;
  if (a.vm_pgoff + vma_pages(a) != b.vm_pgoff) return false;
  if (!mergeable_anon_vma(a.anon_vma, b.anon_vma)) return false;
  if (a.vm_file != b.vm_file) {
    // Two files may merge only if they are the same inode opened twice? Linux requires
    // the same struct file; keep that.
    return false;
  }
  return true;
}

/**
 * Merge `v` with its neighbours where possible (vma_merge). Returns the surviving VMA. The left
 * neighbour comes first, as in Linux's vma_merge_existing_range / vma_merge_new_range: when `v`
 * could join either but prev and next are incompatible (two different anon_vmas), it joins prev.
 */
export function vma_try_merge(mm: mm_struct, v: vm_area_struct): vm_area_struct {
  if (v.vm_prev && can_vma_merge(VMA(v.vm_prev), v)) v = vma_absorb(mm, VMA(v.vm_prev), v);
  if (v.vm_next && can_vma_merge(v, VMA(v.vm_next))) vma_absorb(mm, v, VMA(v.vm_next));
  return v;
}

/** Extend `a` over its adjacent, mergeable successor `b`, which goes away. Returns `a`. */
function vma_absorb(mm: mm_struct, a: vm_area_struct, b: vm_area_struct): vm_area_struct {
  a.vm_end = b.vm_end;
  if (a.anon_vma == 0) a.anon_vma = b.anon_vma;
  vma_unlink(mm, b);
  vm_area_free(b);
  return a;
}

/** Flags that may differ between VMAs sharing an anon_vma (find_mergeable_anon_vma). */
const ANON_VMA_IGNORED_FLAGS: u64 = VM_READ | VM_WRITE | VM_EXEC | VM_SOFTDIRTY;

// @ts-ignore: decorator
@inline function anon_vma_compatible(a: vm_area_struct, b: vm_area_struct): bool {
  return a.vm_end == b.vm_start && a.vm_file == b.vm_file && a.vm_ops == b.vm_ops &&
    (a.vm_flags & ~ANON_VMA_IGNORED_FLAGS) == (b.vm_flags & ~ANON_VMA_IGNORED_FLAGS) &&
    a.vm_pgoff + vma_pages(a) == b.vm_pgoff;
}

/**
 * anon_vma_prepare: give `v` an anon_vma before its first anonymous page — a compatible
 * neighbour's if it has one (find_mergeable_anon_vma), else a new identity.
 */
export function anon_vma_prepare(v: vm_area_struct): void {
  if (v.anon_vma != 0) return;
  if (v.vm_prev) {
    let p = VMA(v.vm_prev);
    if (p.anon_vma != 0 && anon_vma_compatible(p, v)) { v.anon_vma = p.anon_vma; return; }
  }
  if (v.vm_next) {
    let n = VMA(v.vm_next);
    if (n.anon_vma != 0 && anon_vma_compatible(v, n)) { v.anon_vma = n.anon_vma; return; }
  }
  v.anon_vma = ++K().next_anon_vma;
}
