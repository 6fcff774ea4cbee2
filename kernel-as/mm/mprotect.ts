// mprotect(2) (mm/mprotect.c).
import { vm_area_struct, mm_struct } from "./types";
import { VM_READ, VM_WRITE, VM_EXEC, VM_SHARED, VM_GROWSDOWN, VM_ACCOUNT, VM_NORESERVE } from "../abi/kernel";
import { PROT_READ, PROT_WRITE, PROT_EXEC, PROT_SEM, PROT_GROWSDOWN, PROT_GROWSUP, PAGE_SIZE } from "../abi/uapi";
import { EINVAL, ENOMEM, EACCES } from "../abi/errno";
import { PAGE_ALIGN, offset_in_page } from "../lib/bitops";
import { VMA, find_vma, vma_modify, vma_try_merge, vma_is_anonymous } from "./vma";
import { calc_vm_prot_bits } from "./mmap";
import { pte_offset, pte_table_end, pte_walk_next, set_pte, pte_present, pte_special, _PAGE_USER, _PAGE_RW, _PAGE_UFFD_WP } from "./pgtable";
import { pte_page, wp_can_reuse_anon_folio } from "./memory";
import { task_struct } from "../kernel/types";

const VM_ACCESS_FLAGS: u64 = VM_READ | VM_WRITE | VM_EXEC;

/**
 * change_protection: make the present PTEs of [start, end) agree with `newflags`.
 * No access at all clears _PAGE_USER (uffdlab's PROT_NONE PTE); losing write clears RW;
 * gaining write upgrades only PTEs that could be written without a fault anyway (shared
 * memory, exclusive anonymous pages), never uffd-wp protected ones.
 */
export function change_protection(mm: mm_struct, v: vm_area_struct, start: u64, end: u64, newflags: u64): void {
  let access = (newflags & VM_ACCESS_FLAGS) != 0;
  let write = (newflags & VM_WRITE) != 0;
  for (let addr = start; (addr = pte_walk_next(<usize>mm.pgd, addr, end)) < end; ) {
    let ptep = pte_offset(<usize>mm.pgd, addr);
    for (let tend = pte_table_end(addr, end); addr < tend; addr += PAGE_SIZE, ptep += 8) {
      let pte = load<u64>(ptep);
      if (!pte_present(pte)) continue;
      let e = access ? pte | _PAGE_USER : pte & ~_PAGE_USER;
      if (!write) e &= ~_PAGE_RW;
      else if (!(e & _PAGE_RW) && can_change_pte_writable(newflags, e)) e |= _PAGE_RW;
      if (e != pte) set_pte(ptep, e);
    }
  }
}

/**
 * can_change_pte_writable: whether present PTE `pte` of a writable VMA with flags `vm_flags`
 * may gain RW without a write fault: an accessible PTE (not PROT_NONE), not uffd-wp protected,
 * not the zero page, and shared memory or an anonymous page that only this PTE holds
 * (mprotect's upgrade, and resolving uffd-wp).
 */
export function can_change_pte_writable(vm_flags: u64, pte: u64): bool {
  if (!(pte & _PAGE_USER) || (pte & _PAGE_UFFD_WP) || pte_special(pte)) return false;
  return (vm_flags & VM_SHARED) != 0 || wp_can_reuse_anon_folio(pte_page(pte));
}

/** mprotect_fixup: give [start, end) of `v` the flags `newflags`, splitting as needed. */
function mprotect_fixup(mm: mm_struct, v: vm_area_struct, start: u64, end: u64, newflags: u64): i32 {
  if (newflags == v.vm_flags) return 0;
  // VM_ACCOUNT as Linux keeps it: gained when private memory becomes writable, lost again only by
  // anonymous memory that never had a page (it takes part in VMA merging).
  if (newflags & VM_WRITE) {
    if (!(v.vm_flags & (VM_ACCOUNT | VM_WRITE | VM_SHARED | VM_NORESERVE))) newflags |= VM_ACCOUNT;
  } else if ((v.vm_flags & VM_ACCOUNT) && vma_is_anonymous(v) && v.anon_vma == 0) {
    newflags &= ~VM_ACCOUNT;
  }
  let m = vma_modify(mm, v, start, end);
  if (!m) return -ENOMEM;
  m.vm_flags = newflags;
  change_protection(mm, m, m.vm_start, m.vm_end, newflags);
  vma_try_merge(mm, m);
  return 0;
}

/** `prot_hi` is bits 32..63 of the prot argument (unsigned long in Linux): undefined prot bits. */
export function sys_mprotect(t: task_struct, start: u64, len: u64, prot: i32, prot_hi: u32 = 0): i64 {
  let mm = changetype<mm_struct>(<usize>t.mm);
  let grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
  prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
  if (grows == (PROT_GROWSDOWN | PROT_GROWSUP)) return -EINVAL;
  if (offset_in_page(start)) return -EINVAL;
  if (len == 0) return 0;
  len = PAGE_ALIGN(len);
  let end = start + len;
  if (end <= start) return -ENOMEM;
  if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) || prot_hi) return -EINVAL;
  let v = find_vma(mm, start);
  if (!v) return -ENOMEM;
  if (grows & PROT_GROWSDOWN) {
    if (v.vm_start >= end) return -ENOMEM;
    start = v.vm_start;
    if (!(v.vm_flags & VM_GROWSDOWN)) return -EINVAL;
  } else {
    if (v.vm_start > start) return -ENOMEM;
    // x86-64 has no grows-up stacks (VM_GROWSUP is 0): PROT_GROWSUP always fails here.
    if (grows & PROT_GROWSUP) return -EINVAL;
  }
  let newprot = calc_vm_prot_bits(prot);
  let tmp = v.vm_start < start ? start : v.vm_start;
  let p = changetype<u32>(v);
  while (p != 0 && VMA(p).vm_start < end) {
    let cur = VMA(p);
    if (cur.vm_start > tmp) return -ENOMEM;
    let newflags = newprot | (cur.vm_flags & ~VM_ACCESS_FLAGS);
    // VM_MAY* sit 4 bits above VM_*: every requested access needs its VM_MAY* bit.
    if ((newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS) return -EACCES;
    let cend = cur.vm_end < end ? cur.vm_end : end;
    let next = cur.vm_next;
    let cstart = tmp;
    let r = mprotect_fixup(mm, cur, cstart, cend, newflags);
    if (r < 0) return r;
    tmp = cend;
    // mprotect_fixup may have merged `cur` away; continue from the first VMA at or after tmp.
    let nv = find_vma(mm, tmp);
    p = nv ? changetype<u32>(nv) : 0;
    if (tmp >= end) break;
  }
  if (tmp < end) return -ENOMEM;
  return 0;
}
