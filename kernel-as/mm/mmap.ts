// mmap, munmap and the address-space layout (mm/mmap.c, mm/vma.c, mm/util.c).
import { vm_area_struct, mm_struct, VM_FAULT_ERROR, VM_FAULT_RETRY, VM_FAULT_OOM, VM_FAULT_HWPOISON, FAULT_FLAG_WRITE } from "./types";
import { VM_READ, VM_WRITE, VM_EXEC, VM_SHARED, VM_MAYREAD, VM_MAYWRITE, VM_MAYEXEC, VM_MAYSHARE, VM_GROWSDOWN,
  VM_LOCKED, VM_LOCKONFAULT, VM_NORESERVE, VM_DROPPABLE, VM_WIPEONFORK, VM_NOHUGEPAGE, VM_ACCOUNT, VMA_OPS_ANON, VMA_OPS_SHMEM, VMA_OPS_GMEM } from "../abi/kernel";
import { PROT_READ, PROT_WRITE, PROT_EXEC, MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE, MAP_DROPPABLE, MAP_TYPE,
  MAP_FIXED, MAP_ANONYMOUS, MAP_GROWSDOWN, MAP_LOCKED, MAP_NORESERVE, MAP_POPULATE, MAP_NONBLOCK, MAP_STACK,
  MAP_HUGETLB, MAP_FIXED_NOREPLACE, MAP_DENYWRITE, MAP_EXECUTABLE, MAP_UNINITIALIZED, 
  PAGE_SIZE, TASK_SIZE, MMAP_MIN_ADDR, MAX_LFS_FILESIZE, DEFAULT_MAX_MAP_COUNT, F_SEAL_WRITE, F_SEAL_FUTURE_WRITE } from "../abi/uapi";
import { EINVAL, ENOMEM, EOVERFLOW, EEXIST, EBADF, EACCES, ENODEV, EOPNOTSUPP, EPERM, EAGAIN, EFAULT } from "../abi/errno";
import { PAGE_ALIGN, offset_in_page } from "../lib/bitops";
import { VMA, find_vma, vma_lookup, vm_area_alloc, vm_area_free, vma_link, vma_unlink, split_vma, vma_try_merge } from "./vma";
import { unmap_region, handle_mm_fault } from "./memory";
import { file, FILE_SHMEM, FMODE_READ, FMODE_WRITE, shmem_file, gmem_file } from "../fs/types";
import { file_inode, get_file, fput, alloc_file } from "../fs/file";
import { shmem_new_inode } from "./shmem";
import { kvm_gmem_mmap } from "../virt/kvm/guest_memfd";
import { iput } from "../fs/inode";
import { task_struct, files_struct } from "../kernel/types";
import { task_vmf } from "../kernel/sched";
import { fget } from "../fs/file";
import { S_KERNEL_FILE } from "../fs/types";
import { userfaultfd_unmap_prep, userfaultfd_events_complete } from "../fs/userfaultfd";

/** Default top of the top-down mmap area (mm->mmap_base); deterministic, no ASLR. */
export const MMAP_BASE: u64 = 0x7f0000000000;

/** LEGACY_MAP_MASK: the flags MAP_SHARED_VALIDATE accepts for every file. */
const LEGACY_MAP_MASK: i32 = MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE | MAP_EXECUTABLE |
  MAP_UNINITIALIZED | MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB;

// @ts-ignore: decorator
@inline export function calc_vm_prot_bits(prot: i32): u64 {
  return ((prot & PROT_READ) ? VM_READ : 0) | ((prot & PROT_WRITE) ? VM_WRITE : 0) | ((prot & PROT_EXEC) ? VM_EXEC : 0);
}

function calc_vm_flag_bits(flags: i32): u64 {
  return ((flags & MAP_GROWSDOWN) ? VM_GROWSDOWN : 0) | ((flags & MAP_LOCKED) ? VM_LOCKED : 0) |
    ((flags & MAP_STACK) ? VM_NOHUGEPAGE : 0);
}

/** Whether [start, end) intersects any VMA. */
export function find_vma_intersection(mm: mm_struct, start: u64, end: u64): vm_area_struct | null {
  let v = find_vma(mm, start);
  if (v && v.vm_start < end) return v;
  return null;
}

/**
 * Top-down search for a free range of `len` bytes below mm.mmap_base
 * (vm_unmapped_area with VM_UNMAPPED_AREA_TOPDOWN). Returns -ENOMEM when nothing fits.
 */
function unmapped_area_topdown(mm: mm_struct, len: u64): i64 {
  let high = mm.mmap_base;
  let low = MMAP_MIN_ADDR;
  if (len > high - low) return -ENOMEM;
  let q = mm.mmap;
  if (q == 0) return <i64>(high - len);
  while (VMA(q).vm_next != 0) q = VMA(q).vm_next;
  // Skip VMAs wholly above the area; one that straddles its top bounds the first gap.
  while (q != 0 && VMA(q).vm_start >= high) q = VMA(q).vm_prev;
  let gap_end = high;
  if (q != 0 && VMA(q).vm_end > high) {
    gap_end = VMA(q).vm_start;
    q = VMA(q).vm_prev;
  }
  while (gap_end > low) {
    let gap_start = low;
    if (q != 0 && VMA(q).vm_end > low) gap_start = VMA(q).vm_end;
    if (gap_end > gap_start && gap_end - gap_start >= len) return <i64>(gap_end - len);
    if (q == 0) break;
    gap_end = VMA(q).vm_start;
    q = VMA(q).vm_prev;
  }
  return -ENOMEM;
}

/** get_unmapped_area: choose where a mapping of `len` bytes goes (arch_get_unmapped_area_topdown). */
export function get_unmapped_area(mm: mm_struct, addr: u64, len: u64, flags: i32): i64 {
  if (len > TASK_SIZE) return -ENOMEM;
  if (flags & MAP_FIXED) {
    if (addr > TASK_SIZE - len) return -ENOMEM;
    if (offset_in_page(addr)) return -EINVAL;
    return <i64>addr;
  }
  if (addr != 0) {
    addr = PAGE_ALIGN(addr);
    if (addr >= MMAP_MIN_ADDR && TASK_SIZE - len >= addr && !find_vma_intersection(mm, addr, addr + len)) return <i64>addr;
  }
  return unmapped_area_topdown(mm, len);
}

// ---- munmap ---------------------------------------------------------------------------------

/**
 * do_vmi_align_munmap: remove every mapping in [start, end), splitting VMAs at the edges.
 * Returns 0 or -ENOMEM (a split failed or would exceed vm.max_map_count; nothing changed).
 */
export function do_munmap_range(mm: mm_struct, start: u64, end: u64): i32 {
  let v = find_vma(mm, start);
  if (!v || v.vm_start >= end) return 0;
  // Splitting a VMA in the middle adds one VMA.
  if (v.vm_start < start && v.vm_end > end && mm.map_count >= DEFAULT_MAX_MAP_COUNT) return -ENOMEM;
  if (v.vm_start < start) {
    let n = split_vma(mm, v, start);
    if (!n) return -ENOMEM;
    v = n;
  }
  // Now v starts at or after `start`. Split the last one at `end`.
  let p = changetype<u32>(v);
  while (p != 0) {
    let cur = VMA(p);
    if (cur.vm_start >= end) break;
    if (cur.vm_end > end) {
      if (!split_vma(mm, cur, end)) return -ENOMEM;
    }
    let next = cur.vm_next;
    unmap_region(mm, cur.vm_start, cur.vm_end);
    vma_unlink(mm, cur);
    vm_area_free(cur);
    p = next;
  }
  return 0;
}

export function do_munmap(mm: mm_struct, start: u64, len: u64): i32 {
  if (offset_in_page(start) || start > TASK_SIZE || len > TASK_SIZE - start) return -EINVAL;
  let end = start + PAGE_ALIGN(len);
  if (end == start) return -EINVAL;
  return do_munmap_range(mm, start, end);
}

/**
 * The unmap of [start, end) by a system call that reports it (munmap, mmap over a range,
 * mremap): UNMAP events are prepared first (userfaultfd_unmap_prep), and delivered when
 * the call is done (userfaultfd_events_complete).
 */
export function do_munmap_uf(t: task_struct, mm: mm_struct, start: u64, end: u64, order: u32): i32 {
  if (find_vma_intersection(mm, start, end)) {
    let r = userfaultfd_unmap_prep(t, mm, start, end, order);
    if (r < 0) return r;
  }
  return do_munmap_range(mm, start, end);
}

// ---- mmap -----------------------------------------------------------------------------------

/** i_mmap_writable accounting and seals for a new shared mapping of a memfd (shmem_mmap). */
function shmem_mmap_check(f: file, vm_flags: u64): i64 {
  let ino = file_inode(f);
  if (ino.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) {
    if ((vm_flags & VM_SHARED) && (vm_flags & VM_WRITE)) return -EPERM;
    if (vm_flags & VM_SHARED) return <i64>(vm_flags & ~VM_MAYWRITE);
  }
  return <i64>vm_flags;
}

/** Fault in [start, end) the way MAP_POPULATE / MADV_POPULATE_* do. Returns 0, -EFAULT, -ENOMEM. */
export function populate_range(t: task_struct, mm: mm_struct, start: u64, end: u64, write: bool): i32 {
  let vmf = task_vmf(t);
  for (let addr = start; addr < end; addr += PAGE_SIZE) {
    let v = vma_lookup(mm, addr);
    if (!v) return -ENOMEM;
    let ret = handle_mm_fault(vmf, v, addr, write ? FAULT_FLAG_WRITE : 0);
    if (ret & VM_FAULT_RETRY) return -EAGAIN;
    if (ret & VM_FAULT_OOM) return -ENOMEM;
    if (ret & (VM_FAULT_ERROR | VM_FAULT_HWPOISON)) return -EFAULT;
  }
  return 0;
}

/**
 * mmap_region: unmap whatever is in [addr, addr + len), then create (or merge into)
 * a VMA. Returns addr or -errno.
 */
function mmap_region(t: task_struct, mm: mm_struct, f: file | null, addr: u64, len: u64, vm_flags: u64, pgoff: u64, ops: u32): i64 {
  let end = addr + len;
  // accountable_mapping: private writable memory is charged to the commit and marked VM_ACCOUNT
  // (no accounting here, but the flag takes part in VMA merging exactly as on Linux).
  if ((vm_flags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) == VM_WRITE) vm_flags |= VM_ACCOUNT;
  if (find_vma_intersection(mm, addr, end)) {
    let r = do_munmap_uf(t, mm, addr, end, 0);
    if (r < 0) return r;
  }
  if (mm.map_count >= DEFAULT_MAX_MAP_COUNT) return -ENOMEM;
  let v = vm_area_alloc(mm);
  if (!v) return -ENOMEM;
  v.vm_start = addr;
  v.vm_end = end;
  v.vm_pgoff = pgoff;
  v.vm_flags = vm_flags;
  v.vm_ops = ops;
  if (f) {
    get_file(f);
    v.vm_file = changetype<u32>(f);
  }
  vma_link(mm, v);
  vma_try_merge(mm, v);
  mm.total_vm += len >> 12;
  return <i64>addr;
}

/** shmem_zero_setup: the internal shmem file behind MAP_SHARED | MAP_ANONYMOUS. */
function shmem_zero_setup(len: u64): file | null {
  let ino = shmem_new_inode();
  if (!ino) return null;
  ino.i_size = <i64>len;
  ino.i_flags |= S_KERNEL_FILE;
  let f = alloc_file(FILE_SHMEM, ino, 2, FMODE_READ | FMODE_WRITE);
  if (!f) {
    iput(ino);
    return null;
  }
  return f;
}

/**
 * do_mmap. `f` is the file for non-anonymous mappings (already looked up). `flags_hi` is bits
 * 32..63 of the flags argument (undefined bits: only MAP_SHARED_VALIDATE looks at them).
 */
export function do_mmap(t: task_struct, mm: mm_struct, f: file | null, addr: u64, len: u64, prot: i32, flags: i32, pgoff: u64, flags_hi: u32 = 0): i64 {
  if (len == 0) return -EINVAL;
  // MAP_FIXED_NOREPLACE places the mapping exactly at addr, like MAP_FIXED.
  if (flags & MAP_FIXED_NOREPLACE) flags |= MAP_FIXED;
  if (!(flags & MAP_FIXED)) {
    // round_hint_to_min: an unaligned hint is rounded down to its page, not up.
    addr &= ~(<u64>PAGE_SIZE - 1);
    if (addr != 0 && addr < MMAP_MIN_ADDR) addr = MMAP_MIN_ADDR;
  }
  len = PAGE_ALIGN(len);
  if (len == 0) return -ENOMEM;
  if (pgoff + (len >> 12) < pgoff) return -EOVERFLOW;
  if (mm.map_count > DEFAULT_MAX_MAP_COUNT) return -ENOMEM;
  let a = get_unmapped_area(mm, addr, len, flags);
  if (a < 0) return a;
  addr = <u64>a;
  if (flags & MAP_FIXED_NOREPLACE) {
    if (find_vma_intersection(mm, addr, addr + len)) return -EEXIST;
  }
  let vm_flags = calc_vm_prot_bits(prot) | calc_vm_flag_bits(flags) | mm.def_flags | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if (flags & MAP_NORESERVE) vm_flags |= VM_NORESERVE; // overcommit mode 0 honours it
  let ops = VMA_OPS_ANON;
  let type = flags & MAP_TYPE;
  if (f) {
    // file_mmap_ok
    if (len > <u64>MAX_LFS_FILESIZE || pgoff > ((<u64>MAX_LFS_FILESIZE - len) >> 12)) return -EOVERFLOW;
    let mappable = shmem_file(f);
    if (type == MAP_SHARED || type == MAP_SHARED_VALIDATE) {
      if (type == MAP_SHARED) flags &= LEGACY_MAP_MASK;
      else if ((flags & ~LEGACY_MAP_MASK) || flags_hi) return -EOPNOTSUPP;
      if (prot & PROT_WRITE) {
        if (!(f.f_mode & FMODE_WRITE)) return -EACCES;
      }
      vm_flags |= VM_SHARED | VM_MAYSHARE;
      if (!(f.f_mode & FMODE_WRITE)) vm_flags &= ~(VM_MAYWRITE | VM_SHARED);
    } else if (type != MAP_PRIVATE) {
      return -EINVAL;
    }
    if (!(f.f_mode & FMODE_READ)) return -EACCES;
    if (gmem_file(f)) {
      // guest_memfd's pseudo file system is noexec (path_noexec): PROT_EXEC → EPERM, and
      // without VM_MAYEXEC a later mprotect adding PROT_EXEC is EACCES.
      if (vm_flags & VM_EXEC) return -EPERM;
      vm_flags &= ~VM_MAYEXEC;
      if (vm_flags & VM_GROWSDOWN) return -EINVAL;
      let r = kvm_gmem_mmap(f, vm_flags);
      if (r < 0) return r;
      return finish_mmap(t, mm, f, addr, len, <u64>r, pgoff, VMA_OPS_GMEM, flags);
    }
    if (!mappable) return -ENODEV;
    if (vm_flags & VM_GROWSDOWN) return -EINVAL;
    if (shmem_file(f)) {
      let r = shmem_mmap_check(f, vm_flags);
      if (r < 0) return r;
      vm_flags = <u64>r;
      ops = VMA_OPS_SHMEM;
    }
    return finish_mmap(t, mm, f, addr, len, vm_flags, pgoff, ops, flags);
  }
  if (type == MAP_SHARED) {
    if (vm_flags & VM_GROWSDOWN) return -EINVAL;
    vm_flags |= VM_SHARED | VM_MAYSHARE;
    let sf = shmem_zero_setup(len);
    if (!sf) return -ENOMEM;
    let r = finish_mmap(t, mm, sf, addr, len, vm_flags, 0, VMA_OPS_SHMEM, flags);
    fput(sf);
    return r;
  }
  if (type == MAP_DROPPABLE) {
    // a locked or stack area makes no sense to be droppable (do_mmap)
    if ((flags & MAP_LOCKED) || (vm_flags & VM_GROWSDOWN)) return -EINVAL;
    vm_flags |= VM_DROPPABLE | VM_WIPEONFORK | VM_NORESERVE;
  } else if (type != MAP_PRIVATE) {
    return -EINVAL;
  }
  return finish_mmap(t, mm, null, addr, len, vm_flags, addr >> 12, VMA_OPS_ANON, flags);
}

function finish_mmap(t: task_struct, mm: mm_struct, f: file | null, addr: u64, len: u64, vm_flags: u64, pgoff: u64, ops: u32, flags: i32): i64 {
  let r = mmap_region(t, mm, f, addr, len, vm_flags, pgoff, ops);
  if (r < 0) return r;
  if ((vm_flags & VM_LOCKED) || (flags & (MAP_POPULATE | MAP_NONBLOCK)) == MAP_POPULATE) {
    // mm_populate: errors are ignored; private writable memory is faulted for write; a
    // lock-on-fault mapping (mlockall(MCL_FUTURE | MCL_ONFAULT)) is left to its faults.
    let write = (vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE;
    if ((vm_flags & (VM_READ | VM_WRITE | VM_EXEC)) && !(vm_flags & VM_LOCKONFAULT)) populate_range(t, mm, addr, addr + len, write);
  }
  return r;
}

/** mmap(2): addr, len, prot, flags, fd, offset. */
export function sys_mmap(t: task_struct, addr: u64, len: u64, prot: i32, flags: i32, fd: i64, off: u64, flags_hi: u32 = 0): i64 {
  if (off & (<u64>PAGE_SIZE - 1)) return -EINVAL;
  let mm = changetype<mm_struct>(<usize>t.mm);
  let f: file | null = null;
  if (!(flags & MAP_ANONYMOUS)) {
    f = fget(changetype<files_struct>(<usize>t.files), fd);
    if (!f) return -EBADF;
  }
  if (flags & MAP_HUGETLB) {
    // hugetlb is outside uffdlab's scope: no huge pages are reserved.
    return -ENOMEM;
  }
  return userfaultfd_events_complete(t, do_mmap(t, mm, f, addr, len, prot, flags, off >> 12, flags_hi));
}

export function sys_munmap(t: task_struct, addr: u64, len: u64): i64 {
  let mm = changetype<mm_struct>(<usize>t.mm);
  if (offset_in_page(addr) || addr > TASK_SIZE || len > TASK_SIZE - addr) return -EINVAL;
  let end = addr + PAGE_ALIGN(len);
  if (end == addr) return -EINVAL;
  return userfaultfd_events_complete(t, do_munmap_uf(t, mm, addr, end, 0));
}

/** exit_mmap: tear down the whole address space. */
export function exit_mmap(mm: mm_struct): void {
  let p = mm.mmap;
  while (p != 0) {
    let v = VMA(p);
    p = v.vm_next;
    unmap_region(mm, v.vm_start, v.vm_end);
    vma_unlink(mm, v);
    vm_area_free(v);
  }
}
