// Entering the kernel on behalf of a task (the role of the syscall/exception entry code):
// find the task, make it `current`, and cancel a wait it abandoned.
import { task_struct } from "./types";
import { find_task_handle, task_frame } from "./sched";
import { K } from "../init/state";
import { abandon_wait } from "./fork";

/**
 * The task of handle `h`, now current; null if the handle is stale. `syscall`: the entry is a system call
 * (which may be the reissue of a call with a restart block: kernel/sys.ts decides); any other
 * entry abandons a pending restart.
 */
export function task_enter(h: f64, syscall: bool = false): task_struct | null {
  let t = find_task_handle(h);
  if (!t) return null;
  K().current = changetype<u32>(t);
  task_frame(t).wait_timeout_ms = -1; // a wait that ends after a time says so again

  // Still queued means the host stopped waiting for it (as a signal ends the sleep).
  if (t.uwq_state != 0 || t.wait_head != 0 || (!syscall && (t.restart_fn != 0 || t.ev_head != 0))) abandon_wait(t, !syscall);
  return t;
}
