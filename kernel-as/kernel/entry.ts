// Entering the kernel on behalf of a task (the role of the syscall/exception entry code):
// find the task, make it `current`, and cancel a wait it abandoned.
import { task_struct } from "./types";
import { find_task, task_frame } from "./sched";
import { K } from "../init/state";
import { userfaultfd_cancel_wait } from "../fs/userfaultfd";
import { __NR_ioctl, UFFDIO_COPY } from "../abi/uapi";

/**
 * The task `tid`, now current; null if there is none. `syscall`: the entry runs the system
 * call in the host frame, which may be the reissue of one that waited.
 */
export function task_enter(tid: i32, syscall: bool = false): task_struct | null {
  let t = find_task(tid);
  if (!t) return null;
  K().current = changetype<u32>(t);
  if (t.wq_state != 0) {
    // Still queued means the host stopped waiting for it (as a signal ends the sleep): the
    // interrupted call is abandoned with its restart state.
    userfaultfd_cancel_wait(t);
    t.restart_file = 0;
  } else if (t.restart_file != 0) {
    // Only the same UFFDIO_COPY, reissued, may resume (fs/userfaultfd.ts checks the rest).
    let f = task_frame(t);
    if (!syscall || f.nr != __NR_ioctl || <u32>f.arg1 != UFFDIO_COPY || f.arg2 != t.restart_arg) t.restart_file = 0;
  }
  return t;
}
