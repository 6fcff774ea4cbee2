// read, write, pread64, pwrite64 (fs/read_write.c; shmem_file_read_iter / shmem_file_write_iter;
// pipe_read / pipe_write in fs/pipe.ts).
import { task_struct, files_struct } from "../kernel/types";
import { EBADF, EINVAL, ESPIPE, ERESTARTSYS } from "../abi/errno";
import { __NR_write, SEEK_MAX } from "../abi/uapi";
import { file, FMODE_READ, FMODE_WRITE } from "./types";
import { fget, get_file, fput } from "./file";
import { restart_set, restart_clear } from "../kernel/restart";
import { RESTART_NONE, RESTART_RW } from "../kernel/types";
import { PIPE_RW_IN_LOOP } from "./pipe";
import { task_frame } from "../kernel/sched";
import { f_op_read, f_op_write, f_op_llseek, f_op_rw_abandon, file_can_pread, file_rw_can_wait, pipe_file } from "./file_ops";

// @ts-ignore: decorator
@inline function FILES(t: task_struct): files_struct { return changetype<files_struct>(<usize>t.files); }

/**
 * vfs_read: `moved` is what a pipe read moved before it waited (its reissue, RESTART_RW).
 */
function do_read(t: task_struct, f: file, ubuf: u64, count: u64, pos: u64, use_pos: bool, moved: u64 = 0): i64 {
  if (!(f.f_mode & FMODE_READ)) return -EBADF;
  return f_op_read(t, f, ubuf, count, pos, use_pos, moved);
}

/** vfs_write: `moved` / `in_loop` as for a pipe write's reissue (fs/pipe.ts). */
function do_write(t: task_struct, f: file, ubuf: u64, count: u64, pos: u64, use_pos: bool, moved: u64 = 0, in_loop: bool = false): i64 {
  if (!(f.f_mode & FMODE_WRITE)) return -EBADF;
  return f_op_write(t, f, ubuf, count, pos, use_pos, moved, in_loop);
}

/**
 * A read() or write() of a userfaultfd or a pipe that must wait holds its file for the wait
 * (RESTART_RW): the reissue goes on with that file even if another thread closed the
 * descriptor meanwhile, and the file's last reference (its release) goes when the call
 * returns or is abandoned (tests/unit/read-holds-file.test.ts), as Linux's fdget in a shared fd table keeps it.
 */
function rw_wait_hold(t: task_struct, f: file, r: i64): i64 {
  if (r == -ERESTARTSYS && t.restart_fn == RESTART_NONE && file_rw_can_wait(f)) {
    restart_set(t, RESTART_RW, 0);
    if (!pipe_file(f)) { t.restart_a = 0; t.restart_b = 0; } // a pipe's call set its progress
    get_file(f);
    t.restart_file = changetype<u32>(f);
  }
  return r;
}

/**
 * The reissue of a read() / write() that waited holding its file: the call again, on that file,
 * from where it stopped (a pipe's bytes already moved).
 */
export function rw_restart(t: task_struct): i64 {
  let f = changetype<file>(<usize>t.restart_file);
  let fr = task_frame(t);
  let moved = t.restart_a;
  let in_loop = t.restart_b == PIPE_RW_IN_LOOP;
  restart_clear(t);
  t.restart_file = 0;
  let r = fr.nr == __NR_write ? do_write(t, f, fr.arg1, fr.arg2, 0, false, moved, in_loop) : do_read(t, f, fr.arg1, fr.arg2, 0, false, moved);
  r = rw_wait_hold(t, f, r);
  fput(f); // a last reference releases the file here, as when Linux's read or write returns
  return r;
}

/** A RESTART_RW given up (restart_abandon): a pipe call lets go of the pipe's mutex. */
export function rw_abandon(t: task_struct): void {
  f_op_rw_abandon(t, changetype<file>(<usize>t.restart_file));
}

export function sys_read(t: task_struct, fd: i64, ubuf: u64, count: u64): i64 {
  let f = fget(FILES(t), fd);
  if (!f) return -EBADF;
  return rw_wait_hold(t, f, do_read(t, f, ubuf, count, 0, false));
}

export function sys_write(t: task_struct, fd: i64, ubuf: u64, count: u64): i64 {
  let f = fget(FILES(t), fd);
  if (!f) return -EBADF;
  return rw_wait_hold(t, f, do_write(t, f, ubuf, count, 0, false));
}

export function sys_pread64(t: task_struct, fd: i64, ubuf: u64, count: u64, pos: i64): i64 {
  // ksys_pread64 checks the position before looking the fd up.
  if (pos < 0) return -EINVAL;
  let f = fget(FILES(t), fd);
  if (!f) return -EBADF;
  // Files without FMODE_PREAD (pipes, guest_memfd) refuse positioned I/O before anything else.
  if (!file_can_pread(f)) return -ESPIPE;
  return do_read(t, f, ubuf, count, <u64>pos, true);
}

export function sys_pwrite64(t: task_struct, fd: i64, ubuf: u64, count: u64, pos: i64): i64 {
  if (pos < 0) return -EINVAL;
  let f = fget(FILES(t), fd);
  if (!f) return -EBADF;
  if (!file_can_pread(f)) return -ESPIPE;
  return do_write(t, f, ubuf, count, <u64>pos, true);
}

/**
 * lseek(2): the whence check, then the file's ->llseek (fs/file_ops.ts).
 */
export function sys_lseek(t: task_struct, fd: i64, offset: i64, whence: u32): i64 {
  let f = fget(FILES(t), fd);
  if (!f) return -EBADF;
  // ksys_lseek refuses an unknown whence before vfs_llseek looks at FMODE_LSEEK.
  if (whence > SEEK_MAX) return -EINVAL;
  return f_op_llseek(f, offset, whence);
}
