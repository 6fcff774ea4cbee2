// Entering the kernel on behalf of a task (the role of the syscall/exception entry code):
// find the task, make it `current`, and cancel a wait it abandoned.
import { task_struct } from "./types";
import { find_task } from "./sched";
import { K } from "../init/state";
import { userfaultfd_cancel_wait } from "../fs/userfaultfd";

/** The task `tid`, now current; null if there is none. */
export function task_enter(tid: i32): task_struct | null {
  let t = find_task(tid);
  if (!t) return null;
  K().current = changetype<u32>(t);
  // Still queued means the host stopped waiting for it (as a signal ends the sleep).
  if (t.wq_state != 0) userfaultfd_cancel_wait(t);
  return t;
}
