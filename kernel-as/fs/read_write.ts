// read, write, pread64, pwrite64 (fs/read_write.c; shmem_file_read_iter / shmem_file_write_iter;
// pipe_read / pipe_write).
import { task_struct, files_struct } from "../kernel/types";
import { EBADF, EINVAL, ESPIPE, EPERM, EFBIG } from "../abi/errno";
import { F_SEAL_WRITE, F_SEAL_FUTURE_WRITE, F_SEAL_GROW, MAX_LFS_FILESIZE } from "../abi/uapi";
import { file, FILE_SHMEM, FILE_PIPE, FMODE_READ, FMODE_WRITE, INODE_SHMEM } from "./types";
import { fget, file_inode } from "./file";
import { shmem_read, shmem_write } from "../mm/shmem";
import { pipe_read, pipe_write } from "./pipe";
import { copy_from_user, copy_to_user } from "../mm/uaccess";
import { task_scratch } from "../kernel/sched";

const CHUNK: u32 = 1024;

// @ts-ignore: decorator
@inline function FILES(t: task_struct): files_struct { return changetype<files_struct>(<usize>t.files); }

function do_read(t: task_struct, f: file, ubuf: u64, count: u64, pos: u64, use_pos: bool): i64 {
  if (!(f.f_mode & FMODE_READ)) return -EBADF;
  if (count == 0) return 0;
  let buf = task_scratch(t);
  if (f.f_kind == FILE_PIPE) {
    if (use_pos) return -ESPIPE;
    let n = pipe_read(file_inode(f), buf, count < CHUNK ? <u32>count : CHUNK);
    if (n <= 0) return n;
    let r = copy_to_user(t, ubuf, buf, n);
    return r < 0 ? <i64>r : <i64>n;
  }
  if (f.f_kind != FILE_SHMEM) return -EINVAL;
  let ino = file_inode(f);
  let at = use_pos ? pos : f.f_pos;
  let size = <u64>ino.i_size;
  if (at >= size) return 0;
  if (count > size - at) count = size - at;
  let done: u64 = 0;
  while (done < count) {
    let n = count - done < CHUNK ? <u32>(count - done) : CHUNK;
    shmem_read(ino, at + done, buf, n);
    let r = copy_to_user(t, ubuf + done, buf, n);
    if (r < 0) {
      if (done > 0) break;
      return r;
    }
    done += n;
  }
  if (!use_pos) f.f_pos = at + done;
  return <i64>done;
}

function do_write(t: task_struct, f: file, ubuf: u64, count: u64, pos: u64, use_pos: bool): i64 {
  if (!(f.f_mode & FMODE_WRITE)) return -EBADF;
  if (count == 0) return 0;
  let buf = task_scratch(t);
  if (f.f_kind == FILE_PIPE) {
    if (use_pos) return -ESPIPE;
    let n = count < CHUNK ? <u32>count : CHUNK;
    let r = copy_from_user(t, buf, ubuf, n);
    if (r < 0) return r;
    return pipe_write(file_inode(f), buf, n);
  }
  if (f.f_kind != FILE_SHMEM) return -EINVAL;
  let ino = file_inode(f);
  let at = use_pos ? pos : f.f_pos;
  if (ino.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) return -EPERM;
  if (at > <u64>MAX_LFS_FILESIZE) return -EFBIG;
  if (count > <u64>MAX_LFS_FILESIZE - at) count = <u64>MAX_LFS_FILESIZE - at;
  if ((ino.seals & F_SEAL_GROW) && at + count > <u64>ino.i_size) return -EPERM;
  let done: u64 = 0;
  while (done < count) {
    let n = count - done < CHUNK ? <u32>(count - done) : CHUNK;
    let r = copy_from_user(t, buf, ubuf + done, n);
    if (r < 0) {
      if (done > 0) break;
      return r;
    }
    let w = shmem_write(ino, at + done, buf, n);
    if (w < 0) {
      if (done > 0) break;
      return w;
    }
    done += <u64>w;
  }
  if (!use_pos) f.f_pos = at + done;
  return <i64>done;
}

export function sys_read(t: task_struct, fd: i64, ubuf: u64, count: u64): i64 {
  let f = fget(FILES(t), fd);
  if (!f) return -EBADF;
  return do_read(t, f, ubuf, count, 0, false);
}

export function sys_write(t: task_struct, fd: i64, ubuf: u64, count: u64): i64 {
  let f = fget(FILES(t), fd);
  if (!f) return -EBADF;
  return do_write(t, f, ubuf, count, 0, false);
}

export function sys_pread64(t: task_struct, fd: i64, ubuf: u64, count: u64, pos: i64): i64 {
  let f = fget(FILES(t), fd);
  if (!f) return -EBADF;
  if (pos < 0) return -EINVAL;
  return do_read(t, f, ubuf, count, <u64>pos, true);
}

export function sys_pwrite64(t: task_struct, fd: i64, ubuf: u64, count: u64, pos: i64): i64 {
  let f = fget(FILES(t), fd);
  if (!f) return -EBADF;
  if (pos < 0) return -EINVAL;
  return do_write(t, f, ubuf, count, <u64>pos, true);
}
