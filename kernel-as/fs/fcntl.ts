// fcntl, dup, close, pipe2 (fs/fcntl.c, fs/file.c, fs/pipe.c).
import { task_struct, files_struct } from "../kernel/types";
import { EBADF, EINVAL, ENOMEM, EFAULT, ERESTARTSYS } from "../abi/errno";
import { F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_ADD_SEALS, F_GET_SEALS, F_SETPIPE_SZ, F_GETPIPE_SZ, FD_CLOEXEC, O_NONBLOCK, O_CLOEXEC, O_RDONLY, O_WRONLY, NR_OPEN_DEFAULT, S_IFIFO } from "../abi/uapi";
import { fget, get_file, fput, close_fd, alloc_fd, put_unused_fd, fd_install, get_close_on_exec, set_close_on_exec, alloc_file } from "./file";
import { memfd_fcntl } from "../mm/memfd";
import { new_inode, iput } from "./inode";
import { INODE_PIPE, FILE_PIPE, FMODE_READ, FMODE_WRITE } from "./types";
import { pipe_init_inode, pipe_fcntl } from "./pipe";
import { pipe_file } from "./file_ops";
import { copy_to_user } from "../mm/uaccess";
import { task_scratch } from "../kernel/sched";

// @ts-ignore: decorator
@inline function FILES(t: task_struct): files_struct { return changetype<files_struct>(<usize>t.files); }

export function sys_close(t: task_struct, fd: i64): i64 { return close_fd(FILES(t), fd); }

function dupfd(fs: files_struct, fd: i64, from: i64, cloexec: bool): i64 {
  let f = fget(fs, fd);
  if (!f) return -EBADF;
  if (from < 0 || from >= NR_OPEN_DEFAULT) return -EINVAL;
  let r = alloc_fd(fs, <i32>from, cloexec);
  if (r < 0) return r;
  get_file(f);
  fd_install(fs, r, f);
  return r;
}

export function sys_dup(t: task_struct, fd: i64): i64 { return dupfd(FILES(t), fd, 0, false); }

export function sys_fcntl(t: task_struct, fd: i64, cmd: i32, arg: u64): i64 {
  let fs = FILES(t);
  let f = fget(fs, fd);
  if (!f) return -EBADF;
  // do_fcntl: the commands here take the argument as an int (argi), its low 32 bits.
  let argi = <i32>arg;
  switch (cmd) {
    case F_DUPFD: return dupfd(fs, fd, argi, false);
    case F_DUPFD_CLOEXEC: return dupfd(fs, fd, argi, true);
    case F_GETFD: return get_close_on_exec(fs, <i32>fd) ? FD_CLOEXEC : 0;
    case F_SETFD: set_close_on_exec(fs, <i32>fd, (arg & FD_CLOEXEC) != 0); return 0;
    case F_GETFL: return <i64>f.f_flags;
    case F_SETFL: f.f_flags = (f.f_flags & ~O_NONBLOCK) | (<u32>arg & O_NONBLOCK); return 0;
    case F_ADD_SEALS: return memfd_fcntl(f, true, arg);
    case F_GET_SEALS: return memfd_fcntl(f, false, arg);
    // pipe_fcntl takes the argument as unsigned int; other files are EBADF there.
    case F_SETPIPE_SZ: case F_GETPIPE_SZ: return pipe_file(f) ? pipe_fcntl(t, f, cmd, <u32>arg) : -EBADF;
  }
  return -EINVAL;
}

/** pipe2(2): two fds written to the user's int[2]. */
export function sys_pipe2(t: task_struct, ufds: u64, flags: i32): i64 {
  if (flags & ~(O_CLOEXEC | O_NONBLOCK)) return -EINVAL;
  let fs = FILES(t);
  let ino = new_inode(INODE_PIPE);
  if (!ino) return -ENOMEM;
  ino.i_mode = <u32>S_IFIFO | 0o600;
  if (!pipe_init_inode(ino)) {
    iput(ino);
    return -ENOMEM;
  }
  ino.i_count = 2;
  let r = alloc_file(FILE_PIPE, ino, <u32>(O_RDONLY | (flags & O_NONBLOCK)), FMODE_READ);
  if (!r) { iput(ino); iput(ino); return -ENOMEM; }
  let w = alloc_file(FILE_PIPE, ino, <u32>(O_WRONLY | (flags & O_NONBLOCK)), FMODE_WRITE);
  if (!w) { fput(r); iput(ino); return -ENOMEM; }
  // __do_pipe_flags: both fds, then the copy to the user; the files go in only after it.
  let cloexec = (flags & O_CLOEXEC) != 0;
  let rfd = alloc_fd(fs, 0, cloexec);
  let wfd = rfd < 0 ? rfd : alloc_fd(fs, 0, cloexec);
  let c: i32 = wfd;
  if (wfd >= 0) {
    let buf = task_scratch(t);
    store<i32>(buf, rfd);
    store<i32>(buf, wfd, 4);
    c = copy_to_user(t, ufds, buf, 8);
    if (c < 0 && c != -ERESTARTSYS) c = -EFAULT;
  }
  if (c < 0) {
    if (wfd >= 0) put_unused_fd(fs, wfd);
    if (rfd >= 0) put_unused_fd(fs, rfd);
    fput(r);
    fput(w);
    return c;
  }
  fd_install(fs, rfd, r);
  fd_install(fs, wfd, w);
  return 0;
}
