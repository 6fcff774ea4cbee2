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
  /** the userfaultfd wait queue entry: ctx it waits on, fault address, next in queue */
  wq_ctx: u32;
  wq_next: u32;
  wq_address: u64;
  wq_flags: u32;
  wq_state: u32;
  /**
   * restart_block of a UFFDIO_COPY that waited for its source's userfault (-ERESTARTSYS
   * after some pages): the file and user argument of the call, its argument as first copied
   * in, and the bytes already copied. The reissued call resumes there instead of starting
   * over. restart_file 0 = none; any other entry into the kernel drops it (kernel/entry.ts).
   */
  restart_file: u32;
  _pad0: u32;
  restart_arg: u64;
  restart_dst: u64;
  restart_src: u64;
  restart_len: u64;
  restart_mode: u64;
  restart_done: u64;
}
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
