// poll(2) (fs/select.c do_sys_poll), over the files uffdlab has.
//
// A zero timeout polls once. Otherwise, when nothing is ready, the task is queued
// (kernel/wait.ts) on the wait queue of every file in the set that can become ready — a
// userfaultfd's fd_wqh, a pipe read end's rd_wait, a pipe write end's wr_wait — and the call
// returns -ERESTARTSYS; the first wake_up on any of them wakes it and the reissue looks again.
// Each entry holds a reference to its file, as __pollwait's get_file: a close() by another
// thread meanwhile releases nothing and wakes nobody (tests/unit/poll.test.ts); when the entries go (finish_wait:
// at the reissue, the timeout, another call, exit), a last reference releases the file, and
// the reissue reports POLLNVAL for the number no longer open.
// The kernel has no clock: the timer is the host's. A positive timeout is left in the frame
// (wait_timeout_ms); when it runs out before a wake, the host calls task_timeout
// (poll_timeout below), and the reissue looks once more and returns (RESTART_POLL_TIMEOUT), as
// do_poll does after schedule_hrtimeout_range. The timeout is not shortened across wake-ups
// that find nothing ready. A set with nothing that can become ready sleeps for a positive
// timeout; with a negative (infinite) one it returns 0 at once (Linux would sleep forever).
import { task_struct, files_struct } from "../kernel/types";
import { task_scratch } from "./../kernel/sched";
import { EINVAL, ERESTARTSYS } from "../abi/errno";
import { pollfd, POLLERR, POLLHUP, POLLNVAL, NR_OPEN_DEFAULT } from "../abi/uapi";
import { fget } from "./file";
import { f_op_poll, f_op_poll_wait } from "./file_ops";
import { copy_from_user, copy_to_user } from "../mm/uaccess";
import { finish_wait, set_task_waiting, task_parked, wake_up_process } from "../kernel/wait";
import { __NR_poll } from "../abi/uapi";
import { task_frame } from "../kernel/sched";
import { restart_set } from "../kernel/restart";
import { RESTART_POLL_TIMEOUT } from "../kernel/types";

export function sys_poll(t: task_struct, ufds: u64, nfds: u64, timeout: i32): i64 {
  if (nfds > <u64>NR_OPEN_DEFAULT) return -EINVAL;
  let n = <i32>nfds;
  let size = <u64>n * offsetof<pollfd>();
  let buf = task_scratch(t) + 1024; // up to 2 KiB of entries in this chunk
  if (size > 2048) return -EINVAL;
  { let e = copy_from_user(t, buf, ufds, size); if (e < 0) return e; } // a userfault on the argument: wait, then reissue
  let fs = changetype<files_struct>(<usize>t.files);
  let ready = 0;
  for (let i = 0; i < n; i++) {
    let p = changetype<pollfd>(buf + <usize>i * offsetof<pollfd>());
    p.revents = 0;
    if (p.fd < 0) continue;
    let f = fget(fs, p.fd);
    let mask = f ? f_op_poll(f) & (<i32>p.events | POLLERR | POLLHUP) : POLLNVAL;
    p.revents = <i16>mask;
    if (mask != 0) ready++;
  }
  if (ready == 0 && timeout != 0) {
    // Nothing is ready: wait on every file that can become ready (nothing changed since the
    // masks were taken: the kernel lock is held).
    let queued = false;
    for (let i = 0; i < n; i++) {
      let p = changetype<pollfd>(buf + <usize>i * offsetof<pollfd>());
      if (p.fd < 0) continue;
      let r = f_op_poll_wait(t, fget(fs, p.fd)!);
      if (r < 0) {
        finish_wait(t);
        return r;
      }
      if (r > 0) queued = true;
    }
    if (queued || timeout > 0) {
      if (timeout > 0) task_frame(t).wait_timeout_ms = timeout;
      set_task_waiting(t);
      return -ERESTARTSYS;
    }
  }
  // A userfault on the result (a write-protected pollfd page): -ERESTARTSYS, and the reissue
  // looks again (poll changes nothing).
  { let e = copy_to_user(t, ufds, buf, size); if (e < 0) return e; }
  return ready;
}

/**
 * The host's timer for a waiting poll() ran out (the task_timeout export): if `t` is still
 * parked in poll, take it off its queues, unpark it and record that the reissue must not wait
 * again. False if it was woken first (the reissue then looks again as usual).
 */
export function poll_timeout(t: task_struct): bool {
  let f = task_frame(t);
  if (!task_parked(t) || f.nr != __NR_poll || f.wait_timeout_ms < 0) return false;
  finish_wait(t);
  restart_set(t, RESTART_POLL_TIMEOUT, 0);
  wake_up_process(t);
  return true;
}
