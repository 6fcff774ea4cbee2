// Physical page frames and their metadata (mm/page_alloc.c, include/linux/mm_types.h).
//
// Frames are 4 KiB pieces of linear memory; a frame's "physical address" is its linear
// address, which is what page-table entries hold. Each frame has a struct page in mem_map.
import { PAGE_SIZE } from "../abi/uapi";
import { K } from "../init/state";
import { MEM_MAP_ADDR } from "../init/layout";

// struct page, 32 bytes:
//   +0  flags      u32   PG_* bits
//   +4  _refcount  i32   references: one per PTE mapping it, one for the page cache, pins
//   +8  _mapcount  i32   PTEs mapping it (0-based, unlike Linux's -1 base)
//   +12 mapping    u32   owning inode for page-cache pages, 0 for anonymous pages
//   +16 index      u64   page offset in the file (page cache), or the anon fault address >> 12
//   +24 next       u32   free list / radix-node count / slab free count
//   +28 priv       u32   slab: its kmem_cache id; page table: live entry count;
//                        anonymous page: the anon_vma identity it hangs off (folio->mapping)
@unmanaged export class page {
  flags: u32;
  _refcount: i32;
  _mapcount: i32;
  mapping: u32;
  index: u64;
  next: u32;
  priv: u32;
}

export const PG_free: u32 = 1 << 0;
export const PG_reserved: u32 = 1 << 1;
export const PG_slab: u32 = 1 << 2;
export const PG_table: u32 = 1 << 3;
export const PG_anon: u32 = 1 << 4;
export const PG_dirty: u32 = 1 << 5;
export const PG_uptodate: u32 = 1 << 6;
export const PG_locked: u32 = 1 << 7;
export const PG_radix: u32 = 1 << 8;
export const PG_zero: u32 = 1 << 9;
export const PG_hwpoison: u32 = 1 << 10;
/** A frame the kernel uses for its own records (fd arrays, pipe buffers). */
export const PG_kernel: u32 = 1 << 11;
/**
 * PageAnonExclusive: this anonymous page is mapped by exactly one process and may be written
 * (or moved by UFFDIO_MOVE) without a copy. Set when the page is created or reused after a
 * write fault; cleared when fork shares it.
 */
export const PG_anon_exclusive: u32 = 1 << 12;
/** Bits 16..31 of flags are scratch for the invariant checker's mapping count. */
export const PG_CHECK_SHIFT: u32 = 16;

// @ts-ignore: decorator
@inline export function pfn_to_page(pfn: u32): page {
  return changetype<page>(MEM_MAP_ADDR + <usize>pfn * offsetof<page>());
}
// @ts-ignore: decorator
@inline export function page_to_pfn(p: page): u32 {
  return <u32>((changetype<usize>(p) - MEM_MAP_ADDR) / offsetof<page>());
}
/** The frame's linear address ("page_address"). */
// @ts-ignore: decorator
@inline export function page_address(p: page): usize {
  return <usize>K().pa_frames_base + (<usize>page_to_pfn(p) << 12);
}
/** The struct page of the frame at linear address `pa` (any address inside the frame). */
// @ts-ignore: decorator
@inline export function virt_to_page(pa: usize): page {
  return pfn_to_page(<u32>((pa - <usize>K().pa_frames_base) >> 12));
}
/** Whether `pa` is inside the frame area (for the invariant checker and PTE sanity). */
export function pa_valid(pa: u64): bool {
  let k = K();
  let base = <u64>k.pa_frames_base;
  return pa >= base && pa < base + (<u64>k.pa_nr_frames << 12);
}

/**
 * Set up mem_map and the free list for `mem_bytes` of linear memory.
 * Precondition: the memory is zero-filled (a fresh WebAssembly.Memory).
 */
export function page_alloc_init(mem_bytes: usize): void {
  let k = K();
  // Each frame costs PAGE_SIZE + sizeof(struct page).
  let avail = mem_bytes - MEM_MAP_ADDR - <usize>PAGE_SIZE;
  let nr = <u32>(avail / (<usize>PAGE_SIZE + offsetof<page>()));
  let base = (MEM_MAP_ADDR + <usize>nr * offsetof<page>() + <usize>PAGE_SIZE - 1) & ~(<usize>PAGE_SIZE - 1);
  while (base + (<usize>nr << 12) > mem_bytes) nr--;
  k.pa_frames_base = <u32>base;
  k.pa_nr_frames = nr;
  // Free list in ascending order: frame 0 first.
  k.pa_free_head = 0;
  for (let i: i32 = <i32>nr - 1; i >= 0; i--) {
    let p = pfn_to_page(<u32>i);
    p.flags = PG_free;
    p.next = k.pa_free_head;
    k.pa_free_head = changetype<u32>(p);
  }
  k.pa_nr_free = nr;
  // The shared zero page: reserved, stays zero, never freed.
  let z = alloc_page()!;
  z.flags = PG_reserved | PG_zero;
  k.pa_zero_page = <u32>page_address(z);
}

/** Take one frame. Returns null when memory is exhausted (the caller gives ENOMEM / VM_FAULT_OOM). */
export function alloc_page(): page | null {
  let k = K();
  let head = k.pa_free_head;
  if (head == 0) return null;
  let p = changetype<page>(<usize>head);
  k.pa_free_head = p.next;
  k.pa_nr_free--;
  p.flags = 0;
  p._refcount = 1;
  p._mapcount = 0;
  p.mapping = 0;
  p.index = 0;
  p.next = 0;
  p.priv = 0;
  return p;
}

/** Take one frame and zero it. */
export function alloc_zeroed_page(): page | null {
  let p = alloc_page();
  if (p) memory.fill(page_address(p), 0, PAGE_SIZE);
  return p;
}

/** A zeroed frame for a kernel record (not user memory), or null. */
export function alloc_kernel_page(): page | null {
  let p = alloc_zeroed_page();
  if (p) p.flags = PG_kernel;
  return p;
}

/** Give a frame back. Precondition: nothing refers to it any more. */
export function free_page(p: page): void {
  let k = K();
  p.flags = PG_free;
  p._refcount = 0;
  p._mapcount = 0;
  p.mapping = 0;
  p.priv = 0;
  p.next = k.pa_free_head;
  k.pa_free_head = changetype<u32>(p);
  k.pa_nr_free++;
}

// @ts-ignore: decorator
@inline export function get_page(p: page): void { p._refcount++; }

/** Drop a reference; the frame is freed when the last one goes. */
export function put_page(p: page): void {
  if (p.flags & PG_reserved) return;
  if (--p._refcount == 0) free_page(p);
}

// @ts-ignore: decorator
@inline export function zero_page_pa(): usize { return <usize>K().pa_zero_page; }

/** mm_forbids_zeropage: whether private anonymous memory must get its own zeroed pages (BOOT_NO_ZERO_PAGE). */
// @ts-ignore: decorator
@inline export function mm_forbids_zeropage(): bool { return K().mm_no_zero_page != 0; }
