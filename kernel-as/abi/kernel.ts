// The kernel <-> host ABI that is not Linux UAPI: the per-task host frame, access status
// codes, the /proc/pid/maps record, and the VM_* flags that record carries. Like the rest
// of abi/, scripts/gen-abi.mjs generates the host's copy (host-ts/abi.gen.ts).

// ---- per-task host frame ---------------------------------------------------------------
// Every task owns one. The host writes a system call's number and arguments here and calls
// the `syscall` export once; the kernel writes the result (value or -errno) to `ret`.
// Memory accesses report faults here (signal, si_code, address).
//
//   +0   nr        i32      system call number
//   +4   status    i32      access status (ACCESS_*) of the last access
//   +8   args[6]   u64 x 6  system call arguments (rdi, rsi, rdx, r10, r8, r9)
//   +56  ret       i64      result: value, or -errno
//   +64  value     u64      u64 load/store slot
//   +72  si_addr   u64      faulting address of the last signal
//   +80  si_signo  i32      SIGSEGV / SIGBUS, 0 if none
//   +84  si_code   i32      SEGV_MAPERR, SEGV_ACCERR, BUS_ADRERR, ...
//   +88  wait_word i32      futex word: the host parks a blocked thread on it
//   +92  bounce    u32      linear address of the task's bounce page (BOUNCE_SIZE bytes)
@unmanaged export class host_frame {
  nr: i32;
  status: i32;
  arg0: u64;
  arg1: u64;
  arg2: u64;
  arg3: u64;
  arg4: u64;
  arg5: u64;
  ret: i64;
  value: u64;
  si_addr: u64;
  si_signo: i32;
  si_code: i32;
  wait_word: i32;
  bounce: u32;
  /**
   * Set with wait_word by a wait that ends after a time (poll with a positive timeout): the
   * milliseconds the host may wait before calling task_timeout; -1: wait until woken.
   */
  wait_timeout_ms: i32;
  _pad0: i32;
  /**
   * The handle of the task that owns this slot (see kernel/sched.ts task handles): a host
   * Thread compares it with its own before it writes the frame or the bounce page.
   */
  handle: f64;
}

/** Bytes in each task's bounce page (user data crossing the boundary). */
export const BOUNCE_SIZE: i32 = 4096;
/**
 * The host staging window. A system-call pointer argument inside
 * [HOST_STAGING_BASE, HOST_STAGING_BASE + BOUNCE_SIZE) refers to the calling task's bounce
 * page instead of user memory, so that the typed host API can pass a name or receive a
 * struct stat without mapping anything in the simulated process. It lies in the kernel
 * half of the address space (like the vsyscall page), so no user mapping can collide.
 */
export const HOST_STAGING_BASE: u64 = 0xffffffffff700000;

// ---- access status codes (returned by the uaccess_* exports) --------------------------
export const ACCESS_OK: i32 = 0;
/** SIGSEGV was raised; details in host_frame.si_*. */
export const ACCESS_SIGSEGV: i32 = -1;
/** SIGBUS was raised; details in host_frame.si_*. */
export const ACCESS_SIGBUS: i32 = -2;
/** The fault path ran out of memory (VM_FAULT_OOM). */
export const ACCESS_OOM: i32 = -3;
/** The fault returned VM_FAULT_RETRY with the thread queued: wait on wait_word, retry. */
export const ACCESS_RETRY: i32 = -4;
/** Bad arguments to the access itself (size, length, a task without an address space). */
export const ACCESS_EINVAL: i32 = -5;
/** The task handle is stale: its task exited (its slot may hold another task now). */
export const ACCESS_ESRCH: i32 = -6;

// ---- refused entries, the big kernel lock, the panic record ----------------------------
// Every export that takes the big kernel lock returns one of these (whatever its return type)
// when it did not enter; no errno, ACCESS_* or count is ever this negative.
/** The kernel is dead: an entry trapped (panic_record.state != PANIC_NONE). Nothing ran. */
export const ENTRY_PANICKED: i32 = -0x100000;
/**
 * Debug builds: the entry gave up spinning on the big kernel lock (a holder that died or loops
 * inside the kernel). The value is ENTRY_LOCK_TIMEOUT - holder (see LOCK_HELD). Nothing ran.
 */
export const ENTRY_LOCK_TIMEOUT: i32 = -0x200000;
/**
 * The lock word (kernel_state +0): 0 when free, else LOCK_HELD | holder, where holder is the
 * low 16 bits of the task id the entry runs for (0: an entry for no task, e.g. process_create).
 */
export const LOCK_HELD: i32 = 0x10000;

/**
 * The panic record (at the address the kernel_panic_addr export returns), written by the host
 * that caught a trap thrown by an entry, read by every host thread whose entry is refused
 * with ENTRY_PANICKED. PANIC_TEXT_MAX bytes of UTF-8 follow it: the export's name, a newline,
 * the trap's message.
 */
@unmanaged export class panic_record {
  /** PANIC_NONE, PANIC_RECORDING or PANIC_DEAD; every entry refuses once it is not PANIC_NONE */
  state: i32;
  /** the task the trapped entry ran for (its first argument), 0 for none */
  tid: i32;
  /** the system call number when the entry was `syscall`, else -1 */
  nr: i32;
  /** bytes of text */
  len: i32;
}
export const PANIC_NONE: i32 = 0;
/** a host thread is writing the record; it becomes PANIC_DEAD right after */
export const PANIC_RECORDING: i32 = 1;
export const PANIC_DEAD: i32 = 2;
export const PANIC_TEXT_MAX: i32 = 240;

// ---- kernel configuration limits ------------------------------------------------------
export const MAX_TASKS: i32 = 256;
/** Linux's default pid_max (32768); task ids wrap there. A multiple of MAX_TASKS. */
export const PID_MAX_DEFAULT: i32 = 32768;
export const DEFAULT_MEM_BYTES: i32 = 256 * 1024 * 1024;
/** Smallest memory the kernel boots in. */
export const MIN_MEM_BYTES: i32 = 8 * 1024 * 1024;

/**
 * kernel_boot flags. BOOT_NO_ZERO_PAGE: mm_forbids_zeropage() is true, as on hosts that run with
 * the zero page off (e.g. paravirtualised guests booted with pvm_no_zero_page=1): a read fault of
 * private anonymous memory allocates a page (and the VMA's anon_vma) instead of mapping the shared
 * zero page, and UFFDIO_ZEROPAGE installs a zeroed page.
 */
export const BOOT_NO_ZERO_PAGE: u32 = 1;

// ---- VM_* flags (include/linux/mm.h), carried by the maps record ----------------------
export const VM_READ: u64 = 0x00000001;
export const VM_WRITE: u64 = 0x00000002;
export const VM_EXEC: u64 = 0x00000004;
export const VM_SHARED: u64 = 0x00000008;
export const VM_MAYREAD: u64 = 0x00000010;
export const VM_MAYWRITE: u64 = 0x00000020;
export const VM_MAYEXEC: u64 = 0x00000040;
export const VM_MAYSHARE: u64 = 0x00000080;
export const VM_GROWSDOWN: u64 = 0x00000100;
export const VM_UFFD_MISSING: u64 = 0x00000200;
export const VM_UFFD_WP: u64 = 0x00001000;
export const VM_LOCKED: u64 = 0x00002000;
export const VM_SEQ_READ: u64 = 0x00008000;
export const VM_LOCKONFAULT: u64 = 0x00080000;
export const VM_RAND_READ: u64 = 0x00010000;
export const VM_DONTCOPY: u64 = 0x00020000;
export const VM_DONTEXPAND: u64 = 0x00040000;
export const VM_ACCOUNT: u64 = 0x00100000;
export const VM_NORESERVE: u64 = 0x00200000;
export const VM_WIPEONFORK: u64 = 0x02000000;
export const VM_SOFTDIRTY: u64 = 0x08000000;
export const VM_DONTDUMP: u64 = 0x04000000;
export const VM_HUGEPAGE: u64 = 0x20000000;
export const VM_NOHUGEPAGE: u64 = 0x40000000;
export const VM_MERGEABLE: u64 = 0x80000000;
export const VM_DROPPABLE: u64 = 0x10000000000;
export const VM_UFFD_MINOR: u64 = 0x20000000000;

// ---- /proc/pid/maps record (mm_dump_vmas writes an array of these to the bounce page) --
@unmanaged export class maps_record {
  vm_start: u64;
  vm_end: u64;
  vm_pgoff: u64;
  vm_flags: u64;
  ino: u64;
  /** 0 anonymous, 1 shmem (memfd or shared anonymous), 2 guest_memfd */
  kind: u32;
  /** pages of this VMA present in the page tables */
  rss: u32;
}
/** Memory types a VMA can have (vm_area_struct.vm_ops): selects every ops dispatch. */
export const VMA_OPS_ANON: u32 = 0;
export const VMA_OPS_SHMEM: u32 = 1;
export const VMA_OPS_GMEM: u32 = 2;

// ---- invariant checker (debug builds) ---------------------------------------------------
/** mm_check_invariants result: 0 when everything holds, else one of these. */
export const INV_OK: i32 = 0;
export const INV_NOT_COMPILED: i32 = 1;
export const INV_VMA_ORDER: i32 = 2;
export const INV_VMA_COUNT: i32 = 3;
export const INV_MAPCOUNT: i32 = 4;
export const INV_REFCOUNT: i32 = 5;
export const INV_PTE_OUTSIDE_VMA: i32 = 6;
export const INV_PAGECACHE: i32 = 7;
export const INV_FREE_LIST: i32 = 8;
export const INV_PGTABLE_COUNT: i32 = 9;
export const INV_PTE_PERMS: i32 = 10;
/** An anonymous page mapped by a VMA whose anon_vma is not the page's (folio_move_anon_rmap missed). */
export const INV_ANON_VMA: i32 = 11;
/** an fd slot left reserved after a call, or a file in a table that is not whole (detail: fd) */
export const INV_FD_TABLE: i32 = 12;
/** a pipe's ring, buffers, mutex owner or the user's pipe-buffer accounting (detail: the inode address) */
export const INV_PIPE: i32 = 13;

// ---- kernel counters (kernel_stat export) ------------------------------------------------
export const KSTAT_NR_FRAMES: i32 = 0;
export const KSTAT_NR_FREE: i32 = 1;
export const KSTAT_NR_FAULTS: i32 = 2;
export const KSTAT_NR_SYSCALLS: i32 = 3;
export const KSTAT_NR_TASKS: i32 = 4;
export const KSTAT_NR_INODES: i32 = 5;
export const KSTAT_SLAB_FRAMES: i32 = 6;
export const KSTAT_MEM_BYTES: i32 = 7;
/** live userfaultfd contexts and undelivered-or-unread non-cooperative events (leak checks) */
export const KSTAT_UFFD_CTXS: i32 = 8;
export const KSTAT_UFFD_EVENTS: i32 = 9;
/** objects allocated from every slab cache (files, inodes, VMAs, VMs, ...: leak checks) */
export const KSTAT_SLAB_OBJECTS: i32 = 10;
/** Live objects of slab cache `id` (init/state.ts CACHE_*) are KSTAT_SLAB_ACTIVE + id (leak checks). */
export const KSTAT_SLAB_ACTIVE: i32 = 16;

// ---- page states (proc_page_states export: one byte per page, a debugger's view) ------------
/** No PTE, and no page in the file's page cache (or no VMA). */
export const PAGE_STATE_NONE: i32 = 0;
/** A present PTE mapping the shared zero page. */
export const PAGE_STATE_ZERO: i32 = 1;
/** A present PTE mapping a page. */
export const PAGE_STATE_PRESENT: i32 = 2;
/** No PTE, but the file's page cache holds the page (a MINOR fault would be reported). */
export const PAGE_STATE_CACHED: i32 = 3;
/** A present PTE, or a PTE marker, with uffd-wp set. */
export const PAGE_STATE_WP: i32 = 4;
/** A poisoned PTE marker (UFFDIO_POISON): an access is SIGBUS. */
export const PAGE_STATE_POISONED: i32 = 5;

// ---- capabilities (include/uapi/linux/capability.h bit numbers) --------------------------
export const CAP_IPC_LOCK: u32 = 1 << 14;
export const CAP_SYS_PTRACE: u32 = 1 << 19;
export const CAP_SYS_ADMIN: u32 = 1 << 21;

// ---- device nodes a process may open (on Linux the node's mode and owner decide) ------------
/** /dev/userfaultfd (mode 0600, root's): the process runs as root, or the node was opened up to it */
export const PERM_DEV_USERFAULTFD: u32 = 1;

export const CAP_SYS_RESOURCE: u32 = 1 << 24;
