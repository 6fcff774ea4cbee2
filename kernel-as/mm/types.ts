// Core mm records (include/linux/mm_types.h) and kernel-internal fault codes (include/linux/mm_types.h
// vm_fault_t, include/linux/mm.h FAULT_FLAG_*). All records live in slab objects.

// struct vm_area_struct
//   vm_start, vm_end  [start, end) page-aligned user range
//   vm_pgoff          offset in the file, in pages (anonymous: vm_start >> 12 at creation)
//   vm_flags          VM_* (abi/kernel.ts)
//   vm_mm             owning mm_struct
//   vm_next, vm_prev  the mm's VMA list, sorted by address (mm.mmap is the head)
//   vm_ops            VMA_OPS_* memory type: selects every ops dispatch (vm_ops.ts)
//   vm_file           struct file for file-backed and shared anonymous VMAs, else 0
//   shared_next/prev  the inode's i_mmap list (mappings to zap on truncate / hole punch)
//   uffd_ctx          vm_userfaultfd_ctx: the userfaultfd context it is registered with
//   anon_vma          identity of the anon_vma its anonymous pages hang off (0 until the
//                     first anonymous page, anon_vma_prepare); uffdlab keeps no reverse map,
//                     only the identity, because it decides which VMAs may merge
@unmanaged export class vm_area_struct {
  vm_start: u64;
  vm_end: u64;
  vm_pgoff: u64;
  vm_flags: u64;
  vm_mm: u32;
  vm_next: u32;
  vm_prev: u32;
  vm_ops: u32;
  vm_file: u32;
  shared_next: u32;
  shared_prev: u32;
  uffd_ctx: u32;
  anon_vma: u32;
}

// struct mm_struct
//   pgd            top-level page table (linear address)
//   mmap           first VMA (lowest address)
//   map_count      number of VMAs
//   mm_users       tasks using this address space
//   mm_count       references to the struct (mm_users counts as one); a userfaultfd ctx holds one
//   vmacache       last VMA found by find_vma (the old per-mm vmacache)
//   mmap_base      top of the top-down mmap area
//   owner          tgid of the owning process
//   dead           set when the last user exited (exit_mmap ran); the struct may live on
@unmanaged export class mm_struct {
  pgd: u32;
  mmap: u32;
  map_count: i32;
  mm_users: i32;
  mm_count: i32;
  vmacache: u32;
  mmap_base: u64;
  owner: i32;
  dead: i32;
  total_vm: u64;
  /** VM_* flags every new mapping gets (mlockall(MCL_FUTURE): VM_LOCKED, VM_LOCKONFAULT). */
  def_flags: u64;
}

// struct vm_fault: one per fault, travels down the fault path.
@unmanaged export class vm_fault {
  vma: u32;
  flags: u32;
  address: u64;
  real_address: u64;
  pgoff: u64;
  /** pointer to the PTE (0 until established) */
  pte: u32;
  _pad: u32;
  /** the PTE value seen at fault entry */
  orig_pte: u64;
  /** the page the ->fault handler found (struct page address) */
  page: u32;
  /** copy-on-write target page */
  cow_page: u32;
}

// ---- vm_fault_t (include/linux/mm_types.h) ---------------------------------------------
export const VM_FAULT_OOM: u32 = 0x000001;
export const VM_FAULT_SIGBUS: u32 = 0x000002;
export const VM_FAULT_MAJOR: u32 = 0x000004;
export const VM_FAULT_HWPOISON: u32 = 0x000010;
export const VM_FAULT_HWPOISON_LARGE: u32 = 0x000020;
export const VM_FAULT_SIGSEGV: u32 = 0x000040;
export const VM_FAULT_NOPAGE: u32 = 0x000100;
export const VM_FAULT_LOCKED: u32 = 0x000200;
export const VM_FAULT_RETRY: u32 = 0x000400;
export const VM_FAULT_FALLBACK: u32 = 0x000800;
export const VM_FAULT_DONE_COW: u32 = 0x001000;
export const VM_FAULT_COMPLETED: u32 = 0x004000;
export const VM_FAULT_ERROR: u32 = 0x000873;
/** RFC: the memory type reports a MINOR userfault. */
export const VM_FAULT_UFFD_MINOR: u32 = 0x008000;
/**
 * RFC: the memory type reports a MISSING userfault. Linux's value 0x010000 overlaps
 * VM_FAULT_HINDEX_MASK; uffdlab has no huge pages and never uses the HINDEX field, but
 * keeps the two apart anyway by using the next free bit.
 */
export const VM_FAULT_UFFD_MISSING: u32 = 0x100000;

// ---- fault flags (enum fault_flag, include/linux/mm_types.h) ---------------------------
export const FAULT_FLAG_WRITE: u32 = 1 << 0;
export const FAULT_FLAG_MKWRITE: u32 = 1 << 1;
export const FAULT_FLAG_ALLOW_RETRY: u32 = 1 << 2;
export const FAULT_FLAG_RETRY_NOWAIT: u32 = 1 << 3;
export const FAULT_FLAG_KILLABLE: u32 = 1 << 4;
export const FAULT_FLAG_TRIED: u32 = 1 << 5;
export const FAULT_FLAG_USER: u32 = 1 << 6;
export const FAULT_FLAG_REMOTE: u32 = 1 << 7;
export const FAULT_FLAG_INSTRUCTION: u32 = 1 << 8;
export const FAULT_FLAG_INTERRUPTIBLE: u32 = 1 << 9;
export const FAULT_FLAG_UNSHARE: u32 = 1 << 10;
export const FAULT_FLAG_ORIG_PTE_VALID: u32 = 1 << 11;
