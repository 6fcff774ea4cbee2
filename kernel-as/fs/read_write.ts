// read, write, pread64, pwrite64 (fs/read_write.c; shmem_file_read_iter / shmem_file_write_iter;
// pipe_read / pipe_write in fs/pipe.ts).
import { task_struct, files_struct } from "../kernel/types";
import { EBADF, EINVAL, ESPIPE, EPERM, EFBIG, EFAULT, ENXIO, ERESTARTSYS } from "../abi/errno";
import { F_SEAL_WRITE, F_SEAL_FUTURE_WRITE, F_SEAL_GROW, MAX_LFS_FILESIZE, PAGE_SIZE, __NR_write } from "../abi/uapi";
import { userfaultfd_read } from "./userfaultfd";
import { file, FILE_UFFD, FILE_SHMEM, FILE_PIPE, FILE_GMEM, FILE_KVM, FILE_KVM_VM, FMODE_READ, FMODE_WRITE, INODE_SHMEM } from "./types";
import { fget, file_inode, get_file, fput } from "./file";
import { restart_set, restart_clear } from "../kernel/restart";
import { RESTART_NONE, RESTART_RW } from "../kernel/types";
import { shmem_read, shmem_write, shmem_write_failed, shmem_seek_hole_data } from "../mm/shmem";
import { SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE, SEEK_MAX } from "../abi/uapi";
import { pipe_read, pipe_write, pipe_mutex_abandon, PIPE_RW_IN_LOOP } from "./pipe";
import { copy_from_user, copy_to_user, access_ok, copy_user_partial } from "../mm/uaccess";
import { task_scratch, task_frame } from "../kernel/sched";

const CHUNK: u32 = 1024;

// @ts-ignore: decorator
@inline function FILES(t: task_struct): files_struct { return changetype<files_struct>(<usize>t.files); }

/**
 * FMODE_CAN_READ / FMODE_CAN_WRITE: files without read/write operations (guest_memfd, /dev/kvm,
 * VM fds) refuse both with EINVAL, before the buffer is looked at.
 */
// @ts-ignore: decorator
@inline function file_can_rw(f: file): bool { return f.f_kind != FILE_GMEM && f.f_kind != FILE_KVM && f.f_kind != FILE_KVM_VM; }

/** FMODE_PREAD / FMODE_PWRITE: pipes and guest_memfd refuse positioned I/O (ESPIPE). */
// @ts-ignore: decorator
@inline function file_can_pread(f: file): bool { return f.f_kind != FILE_PIPE && f.f_kind != FILE_GMEM; }

/**
 * `moved`: bytes a pipe read or write moved before it waited (its reissue, RESTART_RW);
 * `in_loop`: the write is past its merge step (fs/pipe.ts).
 */
function do_read(t: task_struct, f: file, ubuf: u64, count: u64, pos: u64, use_pos: bool, moved: u64 = 0): i64 {
  if (!(f.f_mode & FMODE_READ)) return -EBADF;
  if (!file_can_rw(f)) return -EINVAL;
  if (f.f_kind == FILE_UFFD) return use_pos ? -ESPIPE : userfaultfd_read(t, f, ubuf, count);
  if (!access_ok(ubuf, count)) return -EFAULT;
  if (count == 0) return 0;
  if (f.f_kind == FILE_PIPE) return use_pos ? -ESPIPE : pipe_read(t, f, ubuf, count, moved);
  let buf = task_scratch(t);
  if (f.f_kind != FILE_SHMEM) return -EINVAL;
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

function do_write(t: task_struct, f: file, ubuf: u64, count: u64, pos: u64, use_pos: bool, moved: u64 = 0, in_loop: bool = false): i64 {
  if (!(f.f_mode & FMODE_WRITE)) return -EBADF;
  if (!file_can_rw(f)) return -EINVAL;
  if (!access_ok(ubuf, count)) return -EFAULT;
  if (count == 0) return 0;
  if (f.f_kind == FILE_PIPE) return use_pos ? -ESPIPE : pipe_write(t, f, ubuf, count, moved, in_loop);
  let buf = task_scratch(t);
  if (f.f_kind != FILE_SHMEM) return -EINVAL;
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

/**
 * A read() or write() of a userfaultfd or a pipe that must wait holds its file for the wait
 * (RESTART_RW): the reissue goes on with that file even if another thread closed the
 * descriptor meanwhile, and the file's last reference (its release) goes when the call
 * returns or is abandoned (§8.7), as Linux's fdget in a shared fd table keeps it.
 */
function rw_wait_hold(t: task_struct, f: file, r: i64): i64 {
  if (r == -ERESTARTSYS && t.restart_fn == RESTART_NONE && (f.f_kind == FILE_UFFD || f.f_kind == FILE_PIPE)) {
    restart_set(t, RESTART_RW, 0);
    if (f.f_kind != FILE_PIPE) { t.restart_a = 0; t.restart_b = 0; } // a pipe's call set its progress
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
  let f = changetype<file>(<usize>t.restart_file);
  if (f.f_kind == FILE_PIPE) pipe_mutex_abandon(t, f);
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
 * lseek(2). Pipes and guest_memfd cannot seek (ESPIPE); userfaultfd, /dev/kvm and VM fds use
 * noop_llseek (0, nothing moves); shmem is shmem_file_llseek: SEEK_SET/CUR/END, and
 * SEEK_DATA/SEEK_HOLE over the page cache (ENXIO at/after EOF).
 */
export function sys_lseek(t: task_struct, fd: i64, offset: i64, whence: u32): i64 {
  let f = fget(FILES(t), fd);
  if (!f) return -EBADF;
  // ksys_lseek refuses an unknown whence before vfs_llseek looks at FMODE_LSEEK.
  if (whence > SEEK_MAX) return -EINVAL;
  if (f.f_kind == FILE_PIPE || f.f_kind == FILE_GMEM) return -ESPIPE;
  if (f.f_kind != FILE_SHMEM) return <i64>f.f_pos;
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
