// The restart block (include/linux/restart_block.h, kernel/signal.c): how a system call
// that must wait *after* doing its work finishes when the host reissues it.
//
// Nothing blocks inside the kernel: a call that must wait returns -ERESTARTSYS with the task
// queued, and the host reissues the same call after the wake. A call that copies its
// arguments and then waits simply starts over. A call whose effects are already done (an
// munmap that now waits for its UNMAP event to be read, an ioctl whose out-field write
// faulted, a UFFDIO_COPY that copied some pages before its source faulted) must not redo
// them: it records a restart_fn, its return value and what it still has to do in the task;
// the reissue runs that instead (kernel/sys.ts do_syscall). The reissue is the call with the
// same number and arguments; for COPY also the same file and argument contents, since the
// host stages every typed call's structure at one address. Any other entry by the task
// (another call, a memory access) means the wait was abandoned, as a fatal signal would end
// it: the pending state is dropped (restart_abandon).
import { task_struct, RESTART_NONE } from "./types";
import { task_frame } from "./sched";

/** Record that the current call (the frame's number and arguments) resumes with `fn`. */
export function restart_set(t: task_struct, fn: u32, ret: i64): void {
  let f = task_frame(t);
  t.restart_fn = fn;
  t.restart_nr = f.nr;
  t.restart_args0 = f.arg0;
  t.restart_args1 = f.arg1;
  t.restart_args2 = f.arg2;
  t.restart_args3 = f.arg3;
  t.restart_args4 = f.arg4;
  t.restart_args5 = f.arg5;
  t.restart_ret = ret;
}

/** Whether the call in the frame is the reissue of the one that set the restart block. */
export function restart_matches(t: task_struct): bool {
  let f = task_frame(t);
  return f.nr == t.restart_nr && f.arg0 == t.restart_args0 && f.arg1 == t.restart_args1 && f.arg2 == t.restart_args2 &&
    f.arg3 == t.restart_args3 && f.arg4 == t.restart_args4 && f.arg5 == t.restart_args5;
}

export function restart_clear(t: task_struct): void {
  t.restart_fn = RESTART_NONE;
  t.restart_a = 0;
  t.restart_b = 0;
  t.restart_c = 0;
  t.restart_d = 0;
}
