// poll(2) (fs/select.c do_sys_poll), over the files uffdlab has.
//
// uffdlab has no clock: a zero timeout polls once; any other timeout waits until some entry
// is ready. When nothing is, the task is queued (kernel/wait.ts) on the wait queue of every
// file in the set that can become ready — a userfaultfd's fd_wqh, a pipe read end's rd_wait, a
// pipe write end's wr_wait — and the call returns -ERESTARTSYS; the first wake_up on any of
// them wakes it and the reissue looks again. A set with nothing that can become ready returns
// 0 at once (Linux would sleep for the timeout).
import { task_struct, files_struct } from "../kernel/types";
import { task_scratch } from "./../kernel/sched";
import { EINVAL, EFAULT, ENOMEM, ERESTARTSYS } from "../abi/errno";
import { pollfd, POLLERR, POLLHUP, POLLNVAL, DEFAULT_POLLMASK, NR_OPEN_DEFAULT } from "../abi/uapi";
import { fget, file_inode } from "./file";
import { file, FILE_UFFD, FILE_PIPE, FMODE_READ } from "./types";
import { copy_from_user, copy_to_user } from "../mm/uaccess";
import { userfaultfd_poll, userfaultfd_poll_wait } from "./userfaultfd";
import { PIPE, pipe_poll, pipe_rd_wait, pipe_wr_wait } from "./pipe";
import { add_wait_queue, finish_wait, set_task_waiting, WQ_REF_INODE } from "../kernel/wait";

/** f_op->poll */
function vfs_poll(f: file): i32 {
  if (f.f_kind == FILE_UFFD) return userfaultfd_poll(f);
  if (f.f_kind == FILE_PIPE) return pipe_poll(f);
  return DEFAULT_POLLMASK;
}

/**
 * poll_wait: queue `t` where `f`'s readiness changes. 1: queued; 0: `f` never changes (always
 * ready); -ENOMEM.
 */
function vfs_poll_wait(t: task_struct, f: file): i32 {
  let ok: bool;
  if (f.f_kind == FILE_UFFD) ok = userfaultfd_poll_wait(t, f);
  else if (f.f_kind == FILE_PIPE) {
    let pipe = PIPE(file_inode(f));
    ok = add_wait_queue(t, f.f_mode & FMODE_READ ? pipe_rd_wait(pipe) : pipe_wr_wait(pipe), WQ_REF_INODE, f.f_inode);
  } else return 0;
  return ok ? 1 : -ENOMEM;
}

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
    let mask = f ? vfs_poll(f) & (<i32>p.events | POLLERR | POLLHUP) : POLLNVAL;
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
      let r = vfs_poll_wait(t, fget(fs, p.fd)!);
      if (r < 0) {
        finish_wait(t);
        return r;
      }
      if (r > 0) queued = true;
    }
    if (queued) {
      set_task_waiting(t);
      return -ERESTARTSYS;
    }
  }
  if (copy_to_user(t, ufds, buf, size) < 0) return -EFAULT;
  return ready;
}
