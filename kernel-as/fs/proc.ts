// The bits of /proc uffdlab has (fs/proc/fd.c): fdinfo's file-specific lines.
import { files_struct } from "../kernel/types";
import { find_task, task_bounce } from "../kernel/sched";
import { fget } from "./file";
import { FILE_UFFD } from "./types";
import { EBADF } from "../abi/errno";
import { userfaultfd_show_fdinfo } from "./userfaultfd";

/** seq_show's ->show_fdinfo part for fd `fd` of task `tid`, into its bounce page: the length, or -EBADF. */
export function proc_fdinfo(tid: i32, fd: i32): i32 {
  let t = find_task(tid);
  if (!t || t.files == 0) return -EBADF;
  let f = fget(changetype<files_struct>(<usize>t.files), fd);
  if (!f) return -EBADF;
  if (f.f_kind == FILE_UFFD) return userfaultfd_show_fdinfo(f, task_bounce(t));
  return 0;
}
