// struct kernel_state: the kernel's global variables, at KSTATE_ADDR.
//
// Each subsystem owns its fields (named with its prefix); nobody else writes them.
// Protected by: the big kernel lock (`lock`), except `lock` itself and `booted`.
// The page also holds the panic record (PANIC_ADDR), the scratch area and the slab caches.
import { KSTATE_ADDR } from "./layout";

@unmanaged export class kmem_cache {
  /** object size in bytes (multiple of 8) */
  size: u32;
  /** free objects, linked through their first word */
  freelist: u32;
  /** objects handed out and not freed */
  active: u32;
  /** frames taken from the page allocator */
  nr_slabs: u32;
}

@unmanaged export class kernel_state {
  /** the big kernel lock: every exported entry point holds it (lib/spinlock) */
  lock: i32;
  /** 1 once start_kernel has run; a second instance on the same memory must not boot */
  booted: i32;
  /**
   * 1 once more than one host thread may enter the kernel (a worker attached). Until then
   * the big kernel lock is elided: entries cannot overlap on one JS thread. Set only from
   * the thread that owns the kernel, outside any entry, before the second thread exists;
   * never cleared.
   */
  smp: i32;
  /** bytes of linear memory the kernel was booted with */
  mem_bytes: u32;
  // ---- page_alloc ----
  /** linear address of the first page frame */
  pa_frames_base: u32;
  /** number of page frames */
  pa_nr_frames: u32;
  /** head of the free list (struct page address, 0 if empty) */
  pa_free_head: u32;
  pa_nr_free: u32;
  /** the shared zero page (read-only, never freed) */
  pa_zero_page: u32;
  // ---- processes (kernel/) ----
  next_pid: i32;
  nr_tasks: i32;
  // ---- inodes (fs/) ----
  next_ino: u64;
  nr_inodes: u32;
  /** every live inode, linked through inode.i_sb_next (for the invariant checker) */
  inode_list: u32;
  /** pipe buffer slots accounted to the one simulated user (fs/pipe.c account_pipe_buffers) */
  pipe_user_bufs: u32;
  // ---- anon_vma identities (mm/rmap) ----
  next_anon_vma: u32;
  /** the task whose entry is running (the big kernel lock makes one enough): `current` */
  current: u32;
  // ---- statistics ----
  nr_faults: u64;
  nr_syscalls: u64;
  // ---- mm ----
  /** 1 when booted with BOOT_NO_ZERO_PAGE: read faults never map the zero page (mm_forbids_zeropage) */
  mm_no_zero_page: i32;
  /** debug builds: the task whose next system call traps inside the kernel (debug_trap), or 0 */
  debug_trap_tid: i32;
  /** debug builds: iterations a spinner on `lock` waits before its entry gives up (0: never) */
  lock_spin_limit: u64;
}

/**
 * The panic record (abi/kernel.ts panic_record, then its text): every entry reads its state
 * word before taking the lock. Written by the host, never under the lock (its writer's entry
 * trapped while holding it).
 */
export const PANIC_ADDR: usize = KSTATE_ADDR + 0x600;

/** 256 bytes of scratch for out-parameters of kernel functions; protected by the kernel lock. */
export const KSCRATCH_ADDR: usize = KSTATE_ADDR + 0x700;

/** The slab caches sit in an array after kernel_state (see kmem_cache_of). */
export const KCACHES_ADDR: usize = KSTATE_ADDR + 0x800;
export const CACHE_VMA: i32 = 0;
export const CACHE_MM: i32 = 1;
export const CACHE_FILE: i32 = 2;
export const CACHE_INODE: i32 = 3;
export const CACHE_FILES: i32 = 4;
export const CACHE_UFFD_CTX: i32 = 5;
/** 64-byte objects: struct kvm and struct kvm_memory_slot (virt/kvm/kvm_host.ts). */
export const CACHE_SMALL: i32 = 6;
export const CACHE_UFFD_EVENT: i32 = 7;
export const NR_CACHES: i32 = 8;

// @ts-ignore: decorator
@inline export function kmem_cache_of(id: i32): kmem_cache {
  return changetype<kmem_cache>(KCACHES_ADDR + <usize>id * offsetof<kmem_cache>());
}

// @ts-ignore: decorator
@inline export function K(): kernel_state { return changetype<kernel_state>(KSTATE_ADDR); }
