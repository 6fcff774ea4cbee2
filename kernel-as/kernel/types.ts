// struct task_struct and struct files_struct (include/linux/sched.h, fdtable.h).

/** Task states. */
export const TASK_UNUSED: i32 = 0;
export const TASK_RUNNING: i32 = 1;
/** blocked in a fault (VM_FAULT_RETRY): the host waits on the frame's wait_word */
export const TASK_BLOCKED: i32 = 2;
export const TASK_DEAD: i32 = 3;

// struct task_struct, at the start of its task slot (init/layout.ts); its host frame
// (abi/kernel.ts host_frame) follows at TASK_FRAME_OFFSET, its bounce page at +4096.
@unmanaged export class task_struct {
  tid: i32;
  tgid: i32;
  state: i32;
  exit_code: i32;
  mm: u32;
  files: u32;
  ppid: i32;
  /** capabilities (CAP_* bits) this task has, for EPERM rules */
  caps: u32;
  // The task's own wait_queue_entry (kernel/wait.ts; Linux's handle_userfault keeps it on the
  // stack): the entry of a userfault or of a blocking userfaultfd read(), on one of its ctx's
  // queues. Same fields, same order and offsets as wait_queue_entry (task_uwq checks); uwq_head
  // is 0 when the task is on no such queue.
  uwq_next: u32;
  uwq_head: u32;
  uwq_task: u32;
  uwq_task_next: u32;
  /** the ctx (a reference) */
  uwq_ref: u32;
  uwq_ref_kind: u32;
  /** the fault address reported in the message (matched by range on wake) */
  uwq_key: u64;
  /** UFFD_PAGEFAULT_FLAG_* of the message */
  uwq_key_flags: u32;
  /** UWQ_* (fs/userfaultfd_wait.ts): which queue */
  uwq_state: u32;
  // The restart block (Linux's restart_block): a system call that returned -ERESTARTSYS
  // with effects already done records how to finish. The host reissues the same call; the
  // entry (kernel/sys.ts) resumes from here instead of starting over. See ARCHITECTURE.md.
  /** RESTART_* (0: none) */
  restart_fn: u32;
  /** the call being resumed: its number and arguments, to recognise the reissue */
  restart_nr: i32;
  restart_args0: u64;
  restart_args1: u64;
  restart_args2: u64;
  restart_args3: u64;
  restart_args4: u64;
  restart_args5: u64;
  /** the result the call returns once its wait is over */
  restart_ret: i64;
  /** per-RESTART_* state */
  restart_a: u64;
  restart_b: u64;
  restart_c: u64;
  restart_d: u64;
  /** a file the restart holds a reference to (dropped when the restart ends or is abandoned) */
  restart_file: u32;
  /** non-cooperative events this task produced and waits for (uffd_event list, in order) */
  ev_head: u32;
  ev_tail: u32;
  /** the wait queues this task waits on (kernel/wait.ts: poll, pipes), its wait_queue_entry list */
  wait_head: u32;
  /** device nodes this task may open (PERM_* bits: what the node's mode grants it) */
  perm: u32;
  /** the host's handle of this task: (slot generation << 16) | tid (kernel/sched.ts) */
  handle: u64;
}

/** restart_fn values */
export const RESTART_NONE: u32 = 0;
/** wait until the task's userfaultfd events are read, then return restart_ret */
export const RESTART_UFFD_EVENTS: u32 = 1;
/**
 * madvise: a REMOVE event was delivered; drop [restart_a, restart_b) and walk on (MADV_REMOVE:
 * restart_c is the file offset, restart_file the file)
 */
export const RESTART_MADVISE: u32 = 2;
/** a fill ioctl did its work but writing the out-field faulted: write restart_b at restart_a */
export const RESTART_UFFD_OUTFIELD: u32 = 3;
/**
 * UFFDIO_COPY whose source is a userfault: resume after restart_ret bytes; restart_a..d are
 * the argument as first copied in (dst, src, len, mode), restart_file the userfaultfd
 */
export const RESTART_UFFD_COPY: u32 = 4;
/** poll() whose timeout expired while it waited (task_timeout): look once more, never wait */
export const RESTART_POLL_TIMEOUT: u32 = 5;
/**
 * a blocking read() / write() of a userfaultfd or a pipe waits: restart_file is the file, which
 * the call holds (Linux's fdget), so a close() by another thread meanwhile releases nothing;
 * for a pipe, restart_a is the bytes the call already moved (the reissue goes on from there)
 * and restart_b is 1 once a write is past its merge step (fs/pipe.ts)
 */
export const RESTART_RW: u32 = 6;
export const TASK_FRAME_OFFSET: usize = 256;
export const TASK_VMF_OFFSET: usize = 512;
export const TASK_SCRATCH_OFFSET: usize = 1024;

// struct files_struct: the fd table. Slots are struct file addresses; the close-on-exec
// bit of fd n is bit (n & 31) of cloexec[n >> 5].
@unmanaged export class files_struct {
  count: i32;
  /** a page frame of NR_OPEN_DEFAULT u32 slots */
  fd_array: u32;
  /** lowest possibly free fd */
  next_fd: i32;
  _pad: i32;
}
export const FILES_CLOEXEC_OFFSET: usize = 16;
export const FILES_STRUCT_SIZE: u32 = 16 + 128;
