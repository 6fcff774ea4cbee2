// Four-level page tables, x86-64 style (arch/x86/include/asm/pgtable*.h, mm/pgtable-generic.c).
//
// Knows nothing of VMAs: it maps addresses to entries and keeps table frames alive.
// A table is one frame of 512 u64 entries. Its struct page has PG_table and counts its
// non-zero entries in `priv`, so a table that becomes empty can be freed.
//
// Present PTE (bit 0 set):
//   63 NX | 51..12 frame address | 11 soft-dirty | 10 UFFD_WP | 9 SPECIAL | 6 D | 5 A | 2 U | 1 RW | 0 P
// Non-present, non-zero PTE: a "swap entry"; uffdlab has no swap, so the only type in use
// is the PTE marker (include/linux/swapops.h):
//   63..12 marker bits (PTE_MARKER_*) | 6..1 swap type | 0 = 0
import { alloc_zeroed_page, free_page, page_address, virt_to_page, PG_table } from "./page_alloc";
import { VM_BUG_ON } from "../lib/bug";

export const _PAGE_PRESENT: u64 = 1 << 0;
export const _PAGE_RW: u64 = 1 << 1;
export const _PAGE_USER: u64 = 1 << 2;
export const _PAGE_ACCESSED: u64 = 1 << 5;
export const _PAGE_DIRTY: u64 = 1 << 6;
/** _PAGE_BIT_SOFTW1: a special mapping (the shared zero page); no struct page refcounting. */
export const _PAGE_SPECIAL: u64 = 1 << 9;
/** _PAGE_BIT_SOFTW2: userfaultfd write-protected. */
export const _PAGE_UFFD_WP: u64 = 1 << 10;
export const _PAGE_SOFT_DIRTY: u64 = 1 << 11;
export const _PAGE_NX: u64 = 1 << 63;
export const PTE_PFN_MASK: u64 = 0x000ffffffffff000;

export const SWP_TYPE_SHIFT: u64 = 1;
export const SWP_TYPE_MASK: u64 = 0x3f;
/** Swap type of PTE markers (SWP_PTE_MARKER). */
export const SWP_PTE_MARKER: u64 = 0x3f;
export const PTE_MARKER_UFFD_WP: u64 = 1 << 0;
export const PTE_MARKER_POISONED: u64 = 1 << 1;
export const PTE_MARKER_GUARD: u64 = 1 << 2;

export const PTRS_PER_TABLE: u64 = 512;

// @ts-ignore: decorator
@inline export function pte_present(pte: u64): bool { return (pte & _PAGE_PRESENT) != 0; }
// @ts-ignore: decorator
@inline export function pte_none(pte: u64): bool { return pte == 0; }
// @ts-ignore: decorator
@inline export function pte_write(pte: u64): bool { return (pte & _PAGE_RW) != 0; }
// @ts-ignore: decorator
@inline export function pte_special(pte: u64): bool { return (pte & _PAGE_SPECIAL) != 0; }
// @ts-ignore: decorator
@inline export function pte_uffd_wp(pte: u64): bool { return (pte & _PAGE_UFFD_WP) != 0; }
// @ts-ignore: decorator
@inline export function pte_pa(pte: u64): usize { return <usize>(pte & PTE_PFN_MASK); }
// @ts-ignore: decorator
@inline export function pte_mkwrite(pte: u64): u64 { return pte | _PAGE_RW; }
// @ts-ignore: decorator
@inline export function pte_wrprotect(pte: u64): u64 { return pte & ~_PAGE_RW; }
// @ts-ignore: decorator
@inline export function pte_mkdirty(pte: u64): u64 { return pte | _PAGE_DIRTY | _PAGE_SOFT_DIRTY; }
// @ts-ignore: decorator
@inline export function pte_mkyoung(pte: u64): u64 { return pte | _PAGE_ACCESSED; }

/** A present user PTE for frame `pa`. */
// @ts-ignore: decorator
@inline export function mk_pte(pa: usize, writable: bool): u64 {
  return (<u64>pa & PTE_PFN_MASK) | _PAGE_PRESENT | _PAGE_USER | (writable ? _PAGE_RW : 0);
}

// @ts-ignore: decorator
@inline export function make_pte_marker(marker: u64): u64 {
  return (marker << 12) | (SWP_PTE_MARKER << SWP_TYPE_SHIFT);
}
// @ts-ignore: decorator
@inline export function is_pte_marker(pte: u64): bool {
  return !pte_present(pte) && pte != 0 && ((pte >> SWP_TYPE_SHIFT) & SWP_TYPE_MASK) == SWP_PTE_MARKER;
}
// @ts-ignore: decorator
@inline export function pte_marker_get(pte: u64): u64 { return pte >> 12; }

// @ts-ignore: decorator
@inline function table_index(addr: u64, level: i32): usize {
  // level 3 = PGD (bits 47..39), 2 = PUD, 1 = PMD, 0 = PTE (bits 20..12)
  return <usize>((addr >> (12 + 9 * <u64>level)) & 511);
}

/** A new, empty top-level table; 0 when out of memory. */
export function pgd_alloc(): usize {
  let p = alloc_zeroed_page();
  if (!p) return 0;
  p.flags = PG_table;
  p.priv = 0;
  return page_address(p);
}

/** Store `val` into the entry at `ptep`, keeping the owning table's entry count. */
// @ts-ignore: decorator
@inline export function set_pte(ptep: usize, val: u64): void {
  let old = load<u64>(ptep);
  if ((old == 0) != (val == 0)) {
    let t = virt_to_page(ptep);
    if (old == 0) t.priv++;
    else t.priv--;
  }
  store<u64>(ptep, val);
}

/**
 * The address of the PTE for `addr`, or 0 if an intermediate table is missing.
 * The hot path: a plain four-level walk, no allocation.
 */
export function pte_offset(pgd: usize, addr: u64): usize {
  let t = pgd;
  for (let level = 3; level > 0; level--) {
    let e = load<u64>(t + (table_index(addr, level) << 3));
    if (e == 0) return 0;
    t = <usize>(e & PTE_PFN_MASK);
  }
  return t + (table_index(addr, 0) << 3);
}

/** Like pte_offset, allocating missing tables; 0 when out of memory (__pte_alloc). */
export function pte_offset_alloc(pgd: usize, addr: u64): usize {
  let t = pgd;
  for (let level = 3; level > 0; level--) {
    let ep = t + (table_index(addr, level) << 3);
    let e = load<u64>(ep);
    if (e == 0) {
      let nt = pgd_alloc();
      if (nt == 0) return 0;
      set_pte(ep, (<u64>nt & PTE_PFN_MASK) | _PAGE_PRESENT | _PAGE_RW | _PAGE_USER);
      e = load<u64>(ep);
    }
    t = <usize>(e & PTE_PFN_MASK);
  }
  return t + (table_index(addr, 0) << 3);
}

/**
 * The PTE-range walk (walk_page_range down to the PTE level), written once: the first address
 * in [addr, end) whose PTE table exists, crossing empty PMDs, PUDs and P4Ds in one step each
 * (pte_hole_end); `end` if none. Range walkers loop over one table at a time:
 *
 *   for (let addr = start; (addr = pte_walk_next(pgd, addr, end)) < end; ) {
 *     let ptep = pte_offset(pgd, addr);
 *     for (let tend = pte_table_end(addr, end); addr < tend; addr += PAGE_SIZE, ptep += 8) { ... }
 *   }
 */
export function pte_walk_next(pgd: usize, addr: u64, end: u64): u64 {
  VM_BUG_ON((addr & 0xfff) != 0 || pgd == 0);
  while (addr < end && pte_offset(pgd, addr) == 0) addr = pte_hole_end(pgd, addr, end);
  return addr;
}

/**
 * End of the hole at `addr` that pte_offset found (no PTE table there), clamped to `end`: the end
 * of what the highest missing entry covers (2 MiB, 1 GiB or 512 GiB), so that range walkers
 * cross an empty PMD, PUD or P4D in one step, as Linux's p4d/pud/pmd_none skips do.
 */
export function pte_hole_end(pgd: usize, addr: u64, end: u64): u64 {
  let t = pgd;
  let level = 3;
  for (; level > 0; level--) {
    let e = load<u64>(t + (table_index(addr, level) << 3));
    if (e == 0) break;
    t = <usize>(e & PTE_PFN_MASK);
  }
  let size: u64 = <u64>1 << <u64>(12 + 9 * level);
  let next = (addr + size) & ~(size - 1);
  return next == 0 || next > end ? end : next;
}

/**
 * End of the PTE table that covers `addr` (exclusive), clamped to `end`: lets range walkers
 * skip a whole missing table at once.
 */
// @ts-ignore: decorator
@inline export function pte_table_end(addr: u64, end: u64): u64 {
  let next = (addr + (1 << 21)) & ~(<u64>(1 << 21) - 1);
  return next == 0 || next > end ? end : next;
}

/** Free every intermediate table under `table` (at `level`) that has no live entry. */
function free_empty_tables(table: usize, level: i32, start: u64, end: u64, base: u64): void {
  let span: u64 = <u64>1 << (12 + 9 * <u64>level);
  let i0 = start <= base ? 0 : <i32>((start - base) / span);
  for (let i = i0; i < 512; i++) {
    let lo = base + <u64>i * span;
    if (lo >= end) break;
    let ep = table + (<usize>i << 3);
    let e = load<u64>(ep);
    if (e == 0) continue;
    let child = <usize>(e & PTE_PFN_MASK);
    if (level > 1) free_empty_tables(child, level - 1, start, end, lo);
    let cp = virt_to_page(child);
    if (cp.priv == 0) {
      set_pte(ep, 0);
      free_page(cp);
    }
  }
}

/** free_pgtables: release tables in [start, end) left empty by zapping. */
export function free_pgtables(pgd: usize, start: u64, end: u64): void {
  free_empty_tables(pgd, 3, start, end, 0);
}

/** Free the top-level table. Precondition: every entry below it is gone. */
export function pgd_free(pgd: usize): void {
  free_pgtables(pgd, 0, <u64>1 << 48);
  free_page(virt_to_page(pgd));
}
