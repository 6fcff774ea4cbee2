// shmem's file operations (mm/shmem.c: shmem_file_read_iter, shmem_file_write_iter,
// shmem_file_llseek), reached through fs/file_ops.ts; the page cache is mm/shmem.ts.
import { task_struct } from "../kernel/types";
import { task_scratch } from "../kernel/sched";
import { EINVAL, EPERM, EFBIG, EFAULT, ENXIO } from "../abi/errno";
import { F_SEAL_WRITE, F_SEAL_FUTURE_WRITE, F_SEAL_GROW, MAX_LFS_FILESIZE, PAGE_SIZE, SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA,
  SEEK_HOLE } from "../abi/uapi";
import { file } from "./types";
import { file_inode } from "./file";
import { shmem_read, shmem_write, shmem_write_failed, shmem_seek_hole_data } from "../mm/shmem";
import { copy_from_user, copy_to_user, copy_user_partial } from "../mm/uaccess";

/** Bytes per copy through the task's scratch area. */
const CHUNK: u32 = 1024;

/**
 * shmem_file_read_iter from `pos` (pread64) or the file position. A copy that fails after some
 * bytes gives a short read; before any, its error (-EFAULT, or -ERESTARTSYS: nothing was done,
 * the call is reissued after the userfault is served).
 */
export function shmem_file_read(t: task_struct, f: file, ubuf: u64, count: u64, pos: u64, use_pos: bool): i64 {
  let buf = task_scratch(t);
  let ino = file_inode(f);
  let at = use_pos ? pos : f.f_pos;
  // rw_verify_area: a range whose end overflows loff_t is EINVAL.
  if (<i64>count >= 0 && <i64>(at + count) < 0) return -EINVAL;
  let size = <u64>ino.i_size;
  if (at >= size) return 0;
  if (count > size - at) count = size - at;
  let done: u64 = 0;
  while (done < count) {
    let n = count - done < CHUNK ? <u32>(count - done) : CHUNK;
    shmem_read(ino, at + done, buf, n);
    let r = copy_to_user(t, ubuf + done, buf, n);
    if (r < 0) {
      // The bytes before the faulting page reached the user: a short read, as on Linux.
      if (r == -EFAULT) done += copy_user_partial();
      if (done > 0) break;
      return r;
    }
    done += n;
  }
  if (!use_pos) f.f_pos = at + done;
  return <i64>done;
}

/** shmem_file_write_iter from `pos` (pwrite64) or the file position; short and failed copies as for a read. */
export function shmem_file_write(t: task_struct, f: file, ubuf: u64, count: u64, pos: u64, use_pos: bool): i64 {
  let buf = task_scratch(t);
  let ino = file_inode(f);
  let at = use_pos ? pos : f.f_pos;
  // rw_verify_area: a range whose end overflows loff_t is EINVAL.
  if (<i64>count >= 0 && <i64>(at + count) < 0) return -EINVAL;
  if (ino.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) return -EPERM;
  if (at > <u64>MAX_LFS_FILESIZE) return -EFBIG;
  if (count > <u64>MAX_LFS_FILESIZE - at) count = <u64>MAX_LFS_FILESIZE - at;
  if ((ino.seals & F_SEAL_GROW) && at + count > <u64>ino.i_size) {
    // shmem_write_begin refuses each page-sized chunk that would end beyond EOF: the write
    // stops after the last chunk that fits (a short count), EPERM if not even the first does.
    let fits: u64 = 0;
    while (fits < count) {
      let n = <u64>PAGE_SIZE - ((at + fits) & (<u64>PAGE_SIZE - 1));
      if (n > count - fits) n = count - fits;
      if (at + fits + n > <u64>ino.i_size) break;
      fits += n;
    }
    if (fits == 0) return -EPERM;
    count = fits;
  }
  let done: u64 = 0;
  while (done < count) {
    let n = count - done < CHUNK ? <u32>(count - done) : CHUNK;
    let r = copy_from_user(t, buf, ubuf + done, n);
    if (r < 0) {
      // Linux copies up to the faulting byte: what was read before it goes to the file. The
      // page at the failing position was prepared (allocated) before the copy (6.18).
      let part = r == -EFAULT ? <u32>copy_user_partial() : 0;
      if (part > 0) {
        let w = shmem_write(ino, at + done, buf, part);
        if (w > 0) done += <u64>w;
      }
      shmem_write_failed(ino, at + done);
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

/** FIONREAD of a regular file: its size minus the position, as an int. */
export function shmem_file_nread(f: file): i32 { return <i32>(file_inode(f).i_size - <i64>f.f_pos); }

/** shmem_file_llseek: SEEK_SET/CUR/END, and SEEK_DATA/SEEK_HOLE over the page cache (ENXIO at/after EOF). */
export function shmem_file_llseek(f: file, offset: i64, whence: u32): i64 {
  let ino = file_inode(f);
  let size = ino.i_size;
  let pos: i64;
  switch (whence) {
    case SEEK_SET: pos = offset; break;
    case SEEK_CUR: pos = <i64>f.f_pos + offset; break;
    case SEEK_END: pos = size + offset; break;
    case SEEK_DATA: case SEEK_HOLE: {
      if (offset < 0 || offset >= size) return -ENXIO;
      pos = shmem_seek_hole_data(ino, offset, size, whence == SEEK_DATA);
      if (pos < 0) return -ENXIO;
      break;
    }
    default: return -EINVAL;
  }
  if (pos < 0) return -EINVAL;
  f.f_pos = <u64>pos;
  return pos;
}
