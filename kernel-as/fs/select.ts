// poll(2) (fs/select.c do_sys_poll), over the files uffdlab has.
//
// uffdlab has no clock: a zero timeout polls once; any other timeout waits until some
// entry is ready. The wait is on the first pollable userfaultfd in the set (the only file
// that becomes ready by itself); a set without one cannot become ready and returns 0.
import { task_struct, files_struct } from "../kernel/types";
import { task_scratch } from "./../kernel/sched";
import { EINVAL, EFAULT, ERESTARTSYS } from "../abi/errno";
import { pollfd, POLLIN, POLLOUT, POLLERR, POLLHUP, POLLNVAL, POLLRDNORM, POLLWRNORM, DEFAULT_POLLMASK, NR_OPEN_DEFAULT, PAGE_SIZE } from "../abi/uapi";
import { fget, file_inode } from "./file";
import { file, FILE_UFFD, FILE_PIPE, FMODE_READ } from "./types";
import { copy_from_user, copy_to_user } from "../mm/uaccess";
import { userfaultfd_poll, userfaultfd_wait_readable } from "./userfaultfd";

/** f_op->poll */
function vfs_poll(f: file): i32 {
  if (f.f_kind == FILE_UFFD) return userfaultfd_poll(f);
  if (f.f_kind == FILE_PIPE) {
    let ino = file_inode(f);
    let used = <i32>ino.i_size;
    let writers = <i32>(ino.i_private2 & 0xffff);
    let readers = <i32>(ino.i_private2 >> 16);
    if (f.f_mode & FMODE_READ) return (used > 0 ? POLLIN | POLLRDNORM : 0) | (writers == 0 ? POLLHUP : 0);
    return (used < PAGE_SIZE ? POLLOUT | POLLWRNORM : 0) | (readers == 0 ? POLLERR : 0);
  }
  return DEFAULT_POLLMASK;
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
  let waitable: file | null = null;
  for (let i = 0; i < n; i++) {
    let p = changetype<pollfd>(buf + <usize>i * offsetof<pollfd>());
    p.revents = 0;
    if (p.fd < 0) continue;
    let f = fget(fs, p.fd);
    let mask: i32;
    if (!f) mask = POLLNVAL;
    else {
      mask = vfs_poll(f) & (<i32>p.events | POLLERR | POLLHUP);
      if (mask == 0 && f.f_kind == FILE_UFFD && !waitable && userfaultfd_poll(f) == 0) waitable = f;
    }
    p.revents = <i16>mask;
    if (mask != 0) ready++;
  }
  if (ready == 0 && timeout != 0 && waitable) {
    userfaultfd_wait_readable(t, waitable!);
    return -ERESTARTSYS;
  }
  if (copy_to_user(t, ufds, buf, size) < 0) return -EFAULT;
  return ready;
}
