// shmem: memory-backed files (mm/shmem.c). memfd_create files and shared anonymous memory
// are shmem inodes; their pages live in the inode's page cache (a radix index
// page offset -> struct page), each cached page holding one reference.
import { inode, INODE_SHMEM } from "../fs/types";
import { vm_fault, VM_FAULT_SIGBUS, VM_FAULT_OOM, VM_FAULT_UFFD_MINOR, VM_FAULT_UFFD_MISSING, VM_FAULT_LOCKED } from "./types";
import { page, alloc_zeroed_page, page_address, put_page, get_page, PG_uptodate, PG_dirty } from "./page_alloc";
import { radix_lookup, radix_insert, radix_delete, radix_next } from "../lib/radix";
import { PAGE_SIZE, S_IFREG } from "../abi/uapi";
import { ENOMEM } from "../abi/errno";
import { VMA, vma_inode } from "./vma";
import { unmap_mapping_range, userfaultfd_missing, userfaultfd_minor } from "./memory";
import { new_inode } from "../fs/inode";
import { KSCRATCH_ADDR } from "../init/state";

/** Intent of a page-cache lookup (enum sgp_type). */
export const SGP_READ: i32 = 0;
export const SGP_NOALLOC: i32 = 1;
export const SGP_CACHE: i32 = 2;
export const SGP_WRITE: i32 = 3;
export const SGP_FALLOC: i32 = 4;

// @ts-ignore: decorator
@inline function i_pages(ino: inode): usize { return changetype<usize>(ino) + offsetof<inode>("i_pages_height"); }
// @ts-ignore: decorator
@inline function PAGE(p: u32): page { return changetype<page>(<usize>p); }

/** Pages needed to hold i_size bytes: the first page offset beyond EOF. */
// @ts-ignore: decorator
@inline export function size_pages(ino: inode): u64 { return (<u64>ino.i_size + PAGE_SIZE - 1) >> 12; }

/** A new, empty shmem inode (mode 0777 regular file), or null. */
export function shmem_new_inode(): inode | null {
  let ino = new_inode(INODE_SHMEM);
  if (!ino) return null;
  ino.i_mode = <u32>S_IFREG | 0o777;
  return ino;
}

/** The cached page at `index`, or null (find_lock_entry without the lock). */
export function filemap_get(ino: inode, index: u64): page | null {
  let p = radix_lookup(i_pages(ino), index);
  return p == 0 ? null : PAGE(p);
}

/** Add a page to the cache at `index` (filemap_add_folio); takes the caller's reference. */
export function filemap_add_folio(ino: inode, p: page, index: u64): bool {
  if (!radix_insert(i_pages(ino), index, changetype<u32>(p))) return false;
  p.mapping = changetype<u32>(ino);
  p.index = index;
  ino.nrpages++;
  return true;
}

/** filemap_add_folio for shmem, whose new pages are zeroed and so up to date at once. */
export function shmem_add_to_page_cache(ino: inode, p: page, index: u64): bool {
  if (!filemap_add_folio(ino, p, index)) return false;
  p.flags |= PG_uptodate;
  return true;
}

/** Take a page out of the cache and drop the cache's reference (filemap_remove_folio). */
export function shmem_delete_from_page_cache(ino: inode, p: page): void {
  radix_delete(i_pages(ino), p.index);
  p.mapping = 0;
  ino.nrpages--;
  put_page(p);
}

/**
 * shmem_get_folio: the page at `index` with a reference for the caller, allocating a
 * zeroed one when the intent allows. null with *err = 0 means a hole the intent does not
 * fill; null with *err = -ENOMEM means allocation failed.
 */
export function shmem_get_folio(ino: inode, index: u64, sgp: i32, err: usize): page | null {
  store<i32>(err, 0);
  let p = filemap_get(ino, index);
  if (p) {
    get_page(p);
    return p;
  }
  if (sgp == SGP_READ || sgp == SGP_NOALLOC) return null;
  let np = alloc_zeroed_page();
  if (!np) {
    store<i32>(err, -ENOMEM);
    return null;
  }
  if (!shmem_add_to_page_cache(ino, np, index)) {
    put_page(np);
    store<i32>(err, -ENOMEM);
    return null;
  }
  // The cache now holds the allocation reference; give the caller its own.
  get_page(np);
  return np;
}

/**
 * shmem_fault: the ->fault of shmem VMAs. Beyond EOF is SIGBUS, before any userfaultfd
 * decision (Linux 6.18: SIGBUS and no message). A cached page on a MINOR-registered VMA, or a
 * hole on a MISSING-registered one, is reported to the generic fault path, which calls
 * handle_userfault (the RFC series' structure: the memory type decides, mm/ reports).
 */
export function shmem_fault(vmf: vm_fault): u32 {
  let vma = VMA(vmf.vma);
  let ino = vma_inode(vma)!;
  if (vmf.pgoff >= size_pages(ino)) return VM_FAULT_SIGBUS;
  let p = filemap_get(ino, vmf.pgoff);
  if (p) {
    if (userfaultfd_minor(vma)) return VM_FAULT_UFFD_MINOR;
    get_page(p);
    vmf.page = changetype<u32>(p);
    return VM_FAULT_LOCKED;
  }
  if (userfaultfd_missing(vma)) return VM_FAULT_UFFD_MISSING;
  let err = task_scratch_err();
  let np = shmem_get_folio(ino, vmf.pgoff, SGP_CACHE, err);
  if (!np) return VM_FAULT_OOM;
  np.flags |= PG_dirty;
  vmf.page = changetype<u32>(np);
  return VM_FAULT_LOCKED;
}

// A word of scratch for error out-parameters; the big kernel lock makes one enough.
// @ts-ignore: decorator
@inline function task_scratch_err(): usize { return KSCRATCH_ADDR; }

/**
 * shmem_undo_range: drop cached pages wholly inside [lstart, lend] (bytes, inclusive)
 * and zero the covered parts of partial pages at either edge. Mappings must already have
 * been zapped by the caller.
 */
export function shmem_undo_range(ino: inode, lstart: u64, lend: u64): void {
  if (lend < lstart) return;
  let first = lstart >> 12;
  let last = lend >> 12;
  let head = <usize>(lstart & (PAGE_SIZE - 1));
  let tail_end = <usize>(lend & (PAGE_SIZE - 1)) + 1; // bytes of the last page covered
  let start = first;
  let end = last + 1; // exclusive
  if (first == last) {
    if (head != 0 || tail_end != PAGE_SIZE) {
      let p = filemap_get(ino, first);
      if (p) memory.fill(page_address(p) + head, 0, tail_end - head);
      return;
    }
  } else {
    if (head != 0) {
      let p = filemap_get(ino, first);
      if (p) memory.fill(page_address(p) + head, 0, PAGE_SIZE - head);
      start = first + 1;
    }
    if (tail_end != PAGE_SIZE) {
      let p = filemap_get(ino, last);
      if (p) memory.fill(page_address(p), 0, tail_end);
      end = last;
    }
  }
  let out = KSCRATCH_ADDR + 8;
  let idx = start;
  while (idx < end) {
    let v = radix_next(i_pages(ino), idx, out);
    if (v == 0) break;
    let key = load<u64>(out);
    if (key >= end) break;
    shmem_delete_from_page_cache(ino, PAGE(v));
    idx = key + 1;
  }
}

/**
 * Change i_size (shmem_setattr). Shrinking unmaps and frees everything beyond the new EOF
 * (private copies included) and zeroes the tail of the new last page.
 */
export function shmem_set_size(ino: inode, newsize: i64): void {
  let old = ino.i_size;
  // As shmem_setattr: truncate whenever newsize <= oldsize, so that the same size too frees
  // pages allocated beyond EOF (FALLOC_FL_KEEP_SIZE) and zeroes the last page after EOF.
  if (newsize <= old) {
    let holebegin = (<u64>newsize + PAGE_SIZE - 1) & ~(<u64>PAGE_SIZE - 1);
    unmap_mapping_range(ino, holebegin >> 12, <u64>-1 >> 12, true);
    ino.i_size = newsize;
    shmem_undo_range(ino, <u64>newsize, <u64>-1);
    unmap_mapping_range(ino, holebegin >> 12, <u64>-1 >> 12, true);
  } else {
    ino.i_size = newsize;
  }
}

/** FALLOC_FL_PUNCH_HOLE over bytes [off, off + len): unmap, then free or zero. */
export function shmem_punch_hole(ino: inode, off: u64, len: u64): void {
  let end = off + len; // exclusive, caller checked overflow
  let first = (off + PAGE_SIZE - 1) >> 12;
  let last_excl = end >> 12;
  if (last_excl > first) unmap_mapping_range(ino, first, last_excl - 1, false);
  shmem_undo_range(ino, off, end - 1);
  if (last_excl > first) unmap_mapping_range(ino, first, last_excl - 1, false);
}

/** fallocate mode 0 / KEEP_SIZE: allocate every page of [off, off + len). */
export function shmem_fallocate_alloc(ino: inode, off: u64, len: u64, keep_size: bool): i32 {
  let first = off >> 12;
  let last = (off + len - 1) >> 12;
  let err = task_scratch_err();
  for (let i = first; i <= last; i++) {
    let p = shmem_get_folio(ino, i, SGP_FALLOC, err);
    if (!p) return load<i32>(err);
    put_page(p);
    if (i == <u64>-1) break;
  }
  if (!keep_size && <i64>(off + len) > ino.i_size) ino.i_size = <i64>(off + len);
  return 0;
}

/** Copy file bytes [pos, pos + len) to kernel address `dst`; holes read as zeros. */
export function shmem_read(ino: inode, pos: u64, dst: usize, len: u32): void {
  let done: u32 = 0;
  while (done < len) {
    let at = pos + done;
    let off = <u32>(at & (PAGE_SIZE - 1));
    let n = <u32>PAGE_SIZE - off;
    if (n > len - done) n = len - done;
    let p = filemap_get(ino, at >> 12);
    if (p) memory.copy(dst + done, page_address(p) + off, n);
    else memory.fill(dst + done, 0, n);
    done += n;
  }
}

/**
 * What a write leaves behind when copying its first bytes from user memory failed: Linux's
 * generic_perform_write calls shmem_write_begin (which allocates the page at `pos`) before it
 * copies, and shmem_write_end with nothing copied still raises i_size to `pos`.
 */
export function shmem_write_failed(ino: inode, pos: u64): void {
  let p = shmem_get_folio(ino, pos >> 12, SGP_WRITE, task_scratch_err());
  if (p) put_page(p);
  if (<i64>pos > ino.i_size) ino.i_size = <i64>pos;
}

/** Copy kernel bytes to file [pos, pos + len), allocating pages; returns bytes or -ENOMEM. */
export function shmem_write(ino: inode, pos: u64, src: usize, len: u32): i32 {
  let done: u32 = 0;
  let err = task_scratch_err();
  while (done < len) {
    let at = pos + done;
    let off = <u32>(at & (PAGE_SIZE - 1));
    let n = <u32>PAGE_SIZE - off;
    if (n > len - done) n = len - done;
    let p = shmem_get_folio(ino, at >> 12, SGP_WRITE, err);
    if (!p) return done > 0 ? <i32>done : load<i32>(err);
    memory.copy(page_address(p) + off, src + done, n);
    p.flags |= PG_dirty;
    put_page(p);
    done += n;
  }
  if (<i64>(pos + len) > ino.i_size) ino.i_size = <i64>(pos + len);
  return <i32>done;
}

/** Free every cached page of a dying inode (shmem_evict_inode). */
export function shmem_evict_inode(ino: inode): void {
  shmem_undo_range(ino, 0, <u64>-1);
}

/**
 * SEEK_DATA / SEEK_HOLE from `pos` (< size): the first byte at or after it that is in a cached
 * page (data) or in a hole (a hole always exists at EOF). -1: no data before EOF.
 */
export function shmem_seek_hole_data(ino: inode, pos: i64, size: i64, data: bool): i64 {
  let idx = <u64>pos >> 12;
  if (data) {
    let out = KSCRATCH_ADDR + 8;
    if (radix_next(i_pages(ino), idx, out) == 0) return -1;
    let at = <i64>(load<u64>(out) << 12);
    if (at >= size) return -1;
    return at > pos ? at : pos;
  }
  while (filemap_get(ino, idx) != null) idx++;
  let at = <i64>(idx << 12);
  if (at >= size) return size;
  return at > pos ? at : pos;
}
