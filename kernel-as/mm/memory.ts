// The page-fault path and page-table range operations (mm/memory.c).
//
//   handle_mm_fault -> __handle_mm_fault -> handle_pte_fault
//       pte none, anonymous VMA  -> do_anonymous_page
//       pte none, file VMA       -> do_fault -> do_read_fault / do_cow_fault / do_shared_fault
//       pte marker               -> handle_pte_marker
//       present, write, RO pte   -> do_wp_page -> wp_page_reuse / wp_page_copy / wp_page_shared
// One struct vm_fault (the task's) travels down; results are VM_FAULT_* codes. A memory
// type's ->fault handler may report VM_FAULT_UFFD_MINOR / VM_FAULT_UFFD_MISSING; __do_fault
// then calls handle_userfault with the matching reason (the RFC series' structure).
import { vm_area_struct, mm_struct, vm_fault, VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_FAULT_SIGSEGV, VM_FAULT_HWPOISON,
  VM_FAULT_UFFD_MINOR, VM_FAULT_UFFD_MISSING, VM_FAULT_ERROR, VM_FAULT_RETRY, VM_FAULT_NOPAGE, FAULT_FLAG_WRITE } from "./types";
import { VM_WRITE, VM_SHARED, VM_UFFD_MISSING, VM_UFFD_MINOR, VM_UFFD_WP, VM_WIPEONFORK } from "../abi/kernel";
import { PAGE_SIZE } from "../abi/uapi";
import { page, alloc_zeroed_page, alloc_page, page_address, virt_to_page, put_page, get_page, zero_page_pa, mm_forbids_zeropage, PG_anon, PG_anon_exclusive } from "./page_alloc";
import { pte_offset, pte_offset_alloc, set_pte, pte_present, pte_none, pte_write, pte_special, pte_pa, mk_pte, pte_mkdirty,
  pte_mkyoung, pte_wrprotect, pte_mkwrite, is_pte_marker, pte_marker_get, make_pte_marker, pte_table_end, pte_walk_next, free_pgtables,
  _PAGE_SPECIAL, _PAGE_PRESENT, _PAGE_USER, _PAGE_RW, _PAGE_UFFD_WP, PTE_MARKER_POISONED, PTE_MARKER_GUARD, PTE_MARKER_UFFD_WP } from "./pgtable";
import { VMA, find_vma, vma_is_anonymous, linear_page_index, anon_vma_prepare } from "./vma";
import { vma_ops_fault } from "./vm_ops";
import { handle_userfault } from "../fs/userfaultfd";
import { userfaultfd_missing, userfaultfd_minor, userfaultfd_wp, userfaultfd_wp_async } from "./userfaultfd_k";
export { userfaultfd_missing, userfaultfd_minor, userfaultfd_wp };
import { inode } from "../fs/types";
import { K } from "../init/state";
import { VM_BUG_ON } from "../lib/bug";

// @ts-ignore: decorator
@inline function MM(v: vm_area_struct): mm_struct { return changetype<mm_struct>(<usize>v.vm_mm); }

/** Account a new PTE mapping of `p` (the caller already holds the reference it transfers). */
// @ts-ignore: decorator
@inline function page_add_rmap(p: page): void { p._mapcount++; }

/**
 * page_add_new_anon_rmap (folio_add_new_anon_rmap): `p` becomes an exclusive anonymous page of
 * `vma` at `addr` — its anon_vma identity and linear index. Precondition: anon_vma_prepare(vma).
 */
export function page_add_new_anon_rmap(p: page, vma: vm_area_struct, addr: u64): void {
  p.flags |= PG_anon | PG_anon_exclusive;
  p.priv = vma.anon_vma;
  p.index = linear_page_index(vma, addr);
}

/** Undo one PTE mapping of `p`: mapcount and the mapping's reference. */
// @ts-ignore: decorator
@inline export function page_remove_rmap_put(p: page): void {
  VM_BUG_ON(p._mapcount <= 0);
  p._mapcount--;
  put_page(p);
}

/** The page a present, non-special PTE maps. */
// @ts-ignore: decorator
@inline export function pte_page(pte: u64): page { return virt_to_page(pte_pa(pte)); }

/** Install `p` at vmf.pte (finish_fault / set_pte_range). Consumes the caller's reference. */
function install_page(vmf: vm_fault, p: page, writable: bool, dirty: bool): void {
  let e = mk_pte(page_address(p), writable) | _PAGE_PRESENT;
  e = pte_mkyoung(e);
  if (dirty) e = pte_mkdirty(e);
  // A uffd-wp marker was here: the new PTE stays protected (set_pte_range's pte_mkuffd_wp).
  if (vmf_orig_pte_uffd_wp(vmf)) e = (e & ~_PAGE_RW) | _PAGE_UFFD_WP;
  page_add_rmap(p);
  set_pte(<usize>vmf.pte, e);
}

/** The fault replaces a uffd-wp marker (vmf_orig_pte_uffd_wp): the new PTE keeps the protection. */
// @ts-ignore: decorator
@inline function vmf_orig_pte_uffd_wp(vmf: vm_fault): bool {
  return is_pte_marker(vmf.orig_pte) && (pte_marker_get(vmf.orig_pte) & PTE_MARKER_UFFD_WP) != 0;
}

// ---- anonymous memory ------------------------------------------------------------------

function do_anonymous_page(vmf: vm_fault): u32 {
  let vma = VMA(vmf.vma);
  if (!(vmf.flags & FAULT_FLAG_WRITE) && !mm_forbids_zeropage()) {
    // Read fault: map the shared zero page, unless userfaultfd wants to know.
    if (userfaultfd_missing(vma)) return handle_userfault(vmf, VM_UFFD_MISSING);
    let e = (<u64>zero_page_pa()) | _PAGE_PRESENT | _PAGE_USER | _PAGE_SPECIAL;
    if (vmf_orig_pte_uffd_wp(vmf)) e |= _PAGE_UFFD_WP;
    set_pte(<usize>vmf.pte, pte_mkyoung(e));
    return 0;
  }
  // vmf_anon_prepare comes first (6.18): the VMA has its anon_vma even if the fault then goes
  // to userfaultfd.
  anon_vma_prepare(vma);
  if (userfaultfd_missing(vma)) return handle_userfault(vmf, VM_UFFD_MISSING);
  let p = alloc_zeroed_page();
  if (!p) return VM_FAULT_OOM;
  page_add_new_anon_rmap(p, vma, vmf.address);
  let writable = (vma.vm_flags & VM_WRITE) != 0;
  install_page(vmf, p, writable, writable);
  return 0;
}

// ---- file-backed memory ------------------------------------------------------------------

/** Call the memory type's ->fault; on success vmf.page holds a referenced page. */
function __do_fault(vmf: vm_fault): u32 {
  vmf.page = 0;
  let ret = vma_ops_fault(vmf);
  if (ret & VM_FAULT_UFFD_MINOR) return handle_userfault(vmf, VM_UFFD_MINOR);
  if (ret & VM_FAULT_UFFD_MISSING) return handle_userfault(vmf, VM_UFFD_MISSING);
  return ret;
}

function do_read_fault(vmf: vm_fault): u32 {
  let ret = __do_fault(vmf);
  if (ret & (VM_FAULT_ERROR | VM_FAULT_RETRY | VM_FAULT_NOPAGE)) return ret;
  let vma = VMA(vmf.vma);
  // Shared writable shmem needs no write notification, so its PTEs start writable.
  let writable = (vma.vm_flags & (VM_SHARED | VM_WRITE)) == (VM_SHARED | VM_WRITE) && !userfaultfd_wp(vma);
  install_page(vmf, changetype<page>(<usize>vmf.page), writable, false);
  return ret;
}

function do_cow_fault(vmf: vm_fault): u32 {
  // vmf_anon_prepare before ->fault (6.18): even a fault that ends in SIGBUS leaves the VMA its
  // anon_vma, which then decides merges.
  anon_vma_prepare(VMA(vmf.vma));
  let np = alloc_page();
  if (!np) return VM_FAULT_OOM;
  let ret = __do_fault(vmf);
  if (ret & (VM_FAULT_ERROR | VM_FAULT_RETRY | VM_FAULT_NOPAGE)) {
    put_page(np);
    return ret;
  }
  let src = changetype<page>(<usize>vmf.page);
  memory.copy(page_address(np), page_address(src), PAGE_SIZE);
  put_page(src);
  page_add_new_anon_rmap(np, VMA(vmf.vma), vmf.address);
  install_page(vmf, np, true, true);
  return ret;
}

function do_shared_fault(vmf: vm_fault): u32 {
  let ret = __do_fault(vmf);
  if (ret & (VM_FAULT_ERROR | VM_FAULT_RETRY | VM_FAULT_NOPAGE)) return ret;
  install_page(vmf, changetype<page>(<usize>vmf.page), true, true);
  return ret;
}

function do_fault(vmf: vm_fault): u32 {
  let vma = VMA(vmf.vma);
  if (!(vmf.flags & FAULT_FLAG_WRITE)) return do_read_fault(vmf);
  if (!(vma.vm_flags & VM_SHARED)) return do_cow_fault(vmf);
  return do_shared_fault(vmf);
}

// ---- write-protect faults -----------------------------------------------------------------

function wp_page_copy(vmf: vm_fault, old: page | null): u32 {
  let np = old ? alloc_page() : alloc_zeroed_page();
  if (!np) return VM_FAULT_OOM;
  if (old) memory.copy(page_address(np), page_address(old), PAGE_SIZE);
  anon_vma_prepare(VMA(vmf.vma));
  page_add_new_anon_rmap(np, VMA(vmf.vma), vmf.address);
  set_pte(<usize>vmf.pte, 0);
  if (old) page_remove_rmap_put(old);
  install_page(vmf, np, true, true);
  return 0;
}

/** wp_can_reuse_anon_folio: an anonymous page nobody else holds may be written in place (no COW). */
// @ts-ignore: decorator
@inline export function wp_can_reuse_anon_folio(p: page): bool { return (p.flags & PG_anon) != 0 && p._refcount == 1; }

function do_wp_page(vmf: vm_fault): u32 {
  let vma = VMA(vmf.vma);
  let pte = vmf.orig_pte;
  if (userfaultfd_wp(vma) && (pte & _PAGE_UFFD_WP)) {
    if (!userfaultfd_wp_async(vma)) return handle_userfault(vmf, VM_UFFD_WP);
    // WP_ASYNC: the kernel resolves it, no message: drop the bit, then the usual COW/reuse.
    pte &= ~_PAGE_UFFD_WP;
    set_pte(<usize>vmf.pte, pte);
    vmf.orig_pte = pte;
  }
  if (pte_special(pte)) {
    // The zero page: private memory gets its own zeroed page.
    return wp_page_copy(vmf, null);
  }
  let p = pte_page(pte);
  if (vma.vm_flags & VM_SHARED) {
    // wp_page_shared: the page stays, the PTE becomes writable and dirty.
    set_pte(<usize>vmf.pte, pte_mkdirty(pte_mkyoung(pte_mkwrite(pte))));
    return 0;
  }
  if (wp_can_reuse_anon_folio(p)) {
    // wp_page_reuse: nobody else holds this anonymous page; it is exclusive again.
    p.flags |= PG_anon_exclusive;
    set_pte(<usize>vmf.pte, pte_mkdirty(pte_mkyoung(pte_mkwrite(pte))));
    return 0;
  }
  return wp_page_copy(vmf, p);
}

// ---- markers ---------------------------------------------------------------------------

function handle_pte_marker(vmf: vm_fault): u32 {
  let m = pte_marker_get(vmf.orig_pte);
  if (m & PTE_MARKER_POISONED) return VM_FAULT_HWPOISON;
  if (m & PTE_MARKER_GUARD) return VM_FAULT_SIGSEGV;
  if (m & PTE_MARKER_UFFD_WP) {
    // pte_marker_handle_uffd_wp: a leftover marker in a VMA no longer WP-registered is just
    // cleared; otherwise the fault proceeds as for pte_none (a MISSING VMA reports MISSING)
    // and the new PTE keeps the protection (vmf.orig_pte still holds the marker), so a write
    // then retries into do_wp_page and its WP userfault.
    let vma = VMA(vmf.vma);
    if (!userfaultfd_wp(vma)) {
      set_pte(<usize>vmf.pte, 0);
      vmf.orig_pte = 0;
      return 0;
    }
    return vma_is_anonymous(vma) ? do_anonymous_page(vmf) : do_fault(vmf);
  }
  return VM_FAULT_SIGBUS;
}

function handle_pte_fault(vmf: vm_fault): u32 {
  let pte = vmf.orig_pte;
  let vma = VMA(vmf.vma);
  if (pte_none(pte)) return vma_is_anonymous(vma) ? do_anonymous_page(vmf) : do_fault(vmf);
  if (!pte_present(pte)) {
    if (is_pte_marker(pte)) return handle_pte_marker(vmf);
    return VM_FAULT_SIGBUS;
  }
  if ((vmf.flags & FAULT_FLAG_WRITE) && !pte_write(pte)) return do_wp_page(vmf);
  // Spurious fault: the PTE already allows the access.
  let e = pte_mkyoung(pte);
  if (vmf.flags & FAULT_FLAG_WRITE) e = pte_mkdirty(e);
  set_pte(<usize>vmf.pte, e);
  return 0;
}

/**
 * handle_mm_fault: resolve a fault at `address` in `vma`. Preconditions: the VMA contains
 * the address and permits the access (the caller checked, as do_user_addr_fault does).
 */
export function handle_mm_fault(vmf: vm_fault, vma: vm_area_struct, address: u64, flags: u32): u32 {
  let mm = MM(vma);
  K().nr_faults++;
  vmf.vma = changetype<u32>(vma);
  vmf.flags = flags;
  vmf.real_address = address;
  vmf.address = address & ~(<u64>PAGE_SIZE - 1);
  vmf.pgoff = linear_page_index(vma, vmf.address);
  vmf.page = 0;
  vmf.cow_page = 0;
  let ptep = pte_offset_alloc(<usize>mm.pgd, vmf.address);
  if (ptep == 0) return VM_FAULT_OOM;
  vmf.pte = <u32>ptep;
  vmf.orig_pte = load<u64>(ptep);
  return handle_pte_fault(vmf);
}

// ---- range operations -----------------------------------------------------------------------

/** What zap_pte_range should spare. */
export const ZAP_ALL: u32 = 0;
/** unmap_mapping_range without even_cows: keep private (anonymous) copies. */
export const ZAP_SKIP_ANON: u32 = 1;
/** MADV_DONTNEED on a uffd-wp VMA: leave a WP marker where a protected page was. */
export const ZAP_KEEP_WP_MARKER: u32 = 2;
/** Keep PTE markers (poison, uffd-wp) — used by hole punch and DONTNEED. */
export const ZAP_KEEP_MARKERS: u32 = 4;

/** Clear the PTEs of [start, end) in `mm` and drop what they mapped. */
export function zap_page_range(mm: mm_struct, start: u64, end: u64, how: u32): void {
  let pgd = <usize>mm.pgd;
  for (let addr = start; (addr = pte_walk_next(pgd, addr, end)) < end; ) {
    let ptep = pte_offset(pgd, addr);
    for (let tend = pte_table_end(addr, end); addr < tend; addr += PAGE_SIZE, ptep += 8) {
      let pte = load<u64>(ptep);
      if (pte == 0) continue;
      if (!pte_present(pte)) {
        if (how & ZAP_KEEP_MARKERS) continue;
        // A uffd-wp marker of file memory survives a zap that keeps WP markers.
        if ((how & ZAP_KEEP_WP_MARKER) && is_pte_marker(pte) && (pte_marker_get(pte) & PTE_MARKER_UFFD_WP)) continue;
        set_pte(ptep, 0);
        continue;
      }
      if (pte_special(pte)) {
        set_pte(ptep, (how & ZAP_KEEP_WP_MARKER) && (pte & _PAGE_UFFD_WP) ? make_pte_marker(PTE_MARKER_UFFD_WP) : 0);
        continue;
      }
      let p = pte_page(pte);
      if ((how & ZAP_SKIP_ANON) && (p.flags & PG_anon)) continue;
      set_pte(ptep, (how & ZAP_KEEP_WP_MARKER) && (pte & _PAGE_UFFD_WP) ? make_pte_marker(PTE_MARKER_UFFD_WP) : 0);
      page_remove_rmap_put(p);
    }
  }
}

/** unmap_vmas + free_pgtables for one VMA range. */
export function unmap_region(mm: mm_struct, start: u64, end: u64): void {
  zap_page_range(mm, start, end, ZAP_ALL);
  free_pgtables(<usize>mm.pgd, start, end);
}

/**
 * unmap_mapping_range: zap every user mapping of file pages [first, last] (page offsets,
 * inclusive) of `ino`. With even_cows, private copies in MAP_PRIVATE mappings go too
 * (truncation); without, they stay (hole punch).
 */
export function unmap_mapping_range(ino: inode, first: u64, last: u64, even_cows: bool): void {
  let p = ino.i_mmap;
  while (p != 0) {
    let v = VMA(p);
    p = v.shared_next;
    let vfirst = v.vm_pgoff;
    let vlast = v.vm_pgoff + ((v.vm_end - v.vm_start) >> 12) - 1;
    if (vlast < first || vfirst > last) continue;
    let a = first > vfirst ? first : vfirst;
    let b = last < vlast ? last : vlast;
    let start = v.vm_start + ((a - v.vm_pgoff) << 12);
    let end = v.vm_start + ((b - v.vm_pgoff + 1) << 12);
    let how = (even_cows || (v.vm_flags & VM_SHARED)) ? ZAP_ALL : ZAP_SKIP_ANON;
    zap_page_range(MM(v), start, end, how | ZAP_KEEP_MARKERS);
  }
}

/**
 * copy_page_range: at fork, give the child `dst` the parent's PTEs for `vma`. Private
 * writable pages become copy-on-write in both; shared pages are shared.
 * Returns false when the child's page tables could not be allocated.
 */
export function copy_page_range(dst: mm_struct, src: mm_struct, vma: vm_area_struct): bool {
  if (vma.vm_flags & VM_WIPEONFORK) return true;
  let shared = (vma.vm_flags & VM_SHARED) != 0;
  // uffd-wp bits and markers are kept only if the child's VMA is still WP-registered
  // (userfaultfd_wp(dst_vma), i.e. with EVENT_FORK); the child's VMA is already linked.
  let dvma = find_vma(dst, vma.vm_start);
  let child_wp = dvma != null && dvma.vm_start == vma.vm_start && (dvma.vm_flags & VM_UFFD_WP) != 0;
  let end = vma.vm_end;
  for (let addr = vma.vm_start; (addr = pte_walk_next(<usize>src.pgd, addr, end)) < end; ) {
    let sp = pte_offset(<usize>src.pgd, addr);
    for (let tend = pte_table_end(addr, end); addr < tend; addr += PAGE_SIZE, sp += 8) {
      let pte = load<u64>(sp);
      if (pte == 0) continue;
      // A uffd-wp marker the child does not keep must not leave it an empty table.
      if (!pte_present(pte) && !child_wp && !(pte_marker_get(pte) & PTE_MARKER_POISONED)) continue;
      let dp = pte_offset_alloc(<usize>dst.pgd, addr);
      if (dp == 0) return false;
      if (!pte_present(pte)) {
        // Markers: poison is inherited; uffd-wp markers only when the child keeps uffd-wp.
        let m = pte_marker_get(pte);
        if (m & PTE_MARKER_POISONED) set_pte(dp, pte);
        else if ((m & PTE_MARKER_UFFD_WP) && child_wp) set_pte(dp, pte);
        continue;
      }
      let child = pte;
      if (!child_wp) child &= ~_PAGE_UFFD_WP;
      if (!pte_special(pte)) {
        let p = pte_page(pte);
        get_page(p);
        p._mapcount++;
        // folio_try_dup_anon_rmap: a shared anonymous page is no longer exclusive.
        if (!shared) p.flags &= ~PG_anon_exclusive;
        if (!shared && pte_write(pte)) {
          set_pte(sp, pte_wrprotect(pte));
          child = pte_wrprotect(child);
        }
      }
      set_pte(dp, child);
    }
  }
  return true;
}

/** Count present PTEs in [start, end) (for the maps record's rss). */
export function count_present(mm: mm_struct, start: u64, end: u64): u32 {
  let n: u32 = 0;
  for (let addr = start; (addr = pte_walk_next(<usize>mm.pgd, addr, end)) < end; ) {
    let ptep = pte_offset(<usize>mm.pgd, addr);
    for (let tend = pte_table_end(addr, end); addr < tend; addr += PAGE_SIZE, ptep += 8) if (pte_present(load<u64>(ptep))) n++;
  }
  return n;
}
