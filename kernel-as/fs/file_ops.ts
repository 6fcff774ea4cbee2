// The file operations (struct file_operations, include/linux/fs.h): one dispatcher per
// operation, switching on the file's kind (file.f_kind, FILE_*), as mm/vm_ops.ts does for
// VMAs — AssemblyScript function references are managed objects, so the table is a switch.
// Everything that depends on what a file is goes through here; the system calls (fs/read_write.ts,
// fs/select.ts, fs/ioctl.ts, fs/stat.ts, fs/proc.ts, fs/file.ts) do the generic steps around
// them. A new kind of file adds one case per operation it has.
//
//   kind            read   write  llseek  poll  ioctl  release  getattr  show_fdinfo
//   FILE_SHMEM      yes    yes    shmem   -     FIONREAD -      inode    -
//   FILE_PIPE       yes    yes    ESPIPE  yes   FIONREAD yes    inode    -
//   FILE_UFFD       yes    -      noop    yes   yes    yes      anon     yes
//   FILE_DEV_UFFD   -      -      noop    -     yes    -        anon     -
//   FILE_GMEM       EINVAL EINVAL ESPIPE  -     -      yes      inode    -
//   FILE_KVM        EINVAL EINVAL noop    -     yes    -        /dev/kvm -
//   FILE_KVM_VM     EINVAL EINVAL noop    -     yes    yes      anon     -
import { task_struct } from "../kernel/types";
import { task_scratch } from "../kernel/sched";
import { EINVAL, ESPIPE, ENOTTY, EFAULT, ENOMEM } from "../abi/errno";
import { FIONREAD, DEFAULT_POLLMASK, stat, S_IFCHR } from "../abi/uapi";
import { file, FILE_SHMEM, FILE_PIPE, FILE_UFFD, FILE_DEV_UFFD, FILE_GMEM, FILE_KVM, FILE_KVM_VM, FMODE_READ } from "./types";
import { access_ok, copy_to_user } from "../mm/uaccess";
import { add_wait_queue, WQ_REF_FILE } from "../kernel/wait";
import { pipe_read, pipe_write, pipe_poll, pipe_release, pipe_nread, pipe_mutex_abandon, pipe_rd_wait, pipe_wr_wait, file_pipe } from "./pipe";
import { shmem_file_read, shmem_file_write, shmem_file_llseek, shmem_file_nread } from "./shmem_file";
import { userfaultfd_read, userfaultfd_poll, userfaultfd_poll_wait, userfaultfd_ioctl, dev_userfaultfd_ioctl, userfaultfd_release,
  userfaultfd_show_fdinfo } from "./userfaultfd";
import { kvm_dev_ioctl, kvm_vm_ioctl, kvm_vm_release } from "../virt/kvm/kvm_main";
import { kvm_gmem_release } from "../virt/kvm/guest_memfd";

// ---- what a file is: the predicates live beside the kinds (fs/types.ts) --------------------
export { shmem_file, pipe_file, userfaultfd_file, gmem_file, kvm_vm_file } from "./types";

/** Files whose private_data is their object (ctx, VM): a whole one has it (fd_table_check). */
export function file_has_private(f: file): bool {
  let k = f.f_kind;
  return k == FILE_UFFD || k == FILE_GMEM || k == FILE_KVM_VM;
}

/** FMODE_PREAD / FMODE_PWRITE: pipes and guest_memfd refuse positioned I/O (ESPIPE). */
export function file_can_pread(f: file): bool { return f.f_kind != FILE_PIPE && f.f_kind != FILE_GMEM; }

/** Whether a read or write of `f` can wait (and then holds the file, RESTART_RW). */
export function file_rw_can_wait(f: file): bool { return f.f_kind == FILE_UFFD || f.f_kind == FILE_PIPE; }

/**
 * FMODE_CAN_READ / FMODE_CAN_WRITE: files without read/write operations (guest_memfd, /dev/kvm,
 * VM fds) refuse both with EINVAL, before the buffer is looked at.
 */
// @ts-ignore: decorator
@inline function file_can_rw(f: file): bool { return f.f_kind != FILE_GMEM && f.f_kind != FILE_KVM && f.f_kind != FILE_KVM_VM; }

// ---- the operations --------------------------------------------------------------------

/**
 * ->read (after the FMODE_READ check): `pos` with `use_pos` for pread64; `moved` is what a
 * pipe read moved before it waited (its reissue).
 */
export function f_op_read(t: task_struct, f: file, ubuf: u64, count: u64, pos: u64, use_pos: bool, moved: u64): i64 {
  if (!file_can_rw(f)) return -EINVAL;
  // userfaultfd_read_iter looks at the count before the buffer.
  if (f.f_kind == FILE_UFFD) return use_pos ? -ESPIPE : userfaultfd_read(t, f, ubuf, count);
  if (!access_ok(ubuf, count)) return -EFAULT;
  if (count == 0) return 0;
  switch (f.f_kind) {
    case FILE_PIPE: return use_pos ? -ESPIPE : pipe_read(t, f, ubuf, count, moved);
    case FILE_SHMEM: return shmem_file_read(t, f, ubuf, count, pos, use_pos);
  }
  return -EINVAL;
}

/** ->write (after the FMODE_WRITE check); `moved` / `in_loop`: a pipe write's reissue (fs/pipe.ts). */
export function f_op_write(t: task_struct, f: file, ubuf: u64, count: u64, pos: u64, use_pos: bool, moved: u64, in_loop: bool): i64 {
  if (!file_can_rw(f)) return -EINVAL;
  if (!access_ok(ubuf, count)) return -EFAULT;
  if (count == 0) return 0;
  switch (f.f_kind) {
    case FILE_PIPE: return use_pos ? -ESPIPE : pipe_write(t, f, ubuf, count, moved, in_loop);
    case FILE_SHMEM: return shmem_file_write(t, f, ubuf, count, pos, use_pos);
  }
  return -EINVAL;
}

/** A read or write of `f` that waited was abandoned: a pipe call lets go of the pipe's mutex. */
export function f_op_rw_abandon(t: task_struct, f: file): void {
  if (f.f_kind == FILE_PIPE) pipe_mutex_abandon(t, f);
}

/**
 * ->llseek (whence already checked): pipes and guest_memfd cannot seek (ESPIPE); userfaultfd,
 * /dev/kvm and VM fds use noop_llseek (the position, nothing moves); shmem_file_llseek.
 */
export function f_op_llseek(f: file, offset: i64, whence: u32): i64 {
  switch (f.f_kind) {
    case FILE_PIPE: case FILE_GMEM: return -ESPIPE;
    case FILE_SHMEM: return shmem_file_llseek(f, offset, whence);
  }
  return <i64>f.f_pos;
}

/** ->poll: the ready mask (DEFAULT_POLLMASK for files without the operation). */
export function f_op_poll(f: file): i32 {
  switch (f.f_kind) {
    case FILE_UFFD: return userfaultfd_poll(f);
    case FILE_PIPE: return pipe_poll(f);
  }
  return DEFAULT_POLLMASK;
}

/**
 * ->poll's poll_wait: queue `t` where `f`'s readiness changes, the entry holding the file.
 * 1: queued; 0: `f` never changes (always ready); -ENOMEM.
 */
export function f_op_poll_wait(t: task_struct, f: file): i32 {
  let ok: bool;
  switch (f.f_kind) {
    case FILE_UFFD: ok = userfaultfd_poll_wait(t, f); break;
    case FILE_PIPE: {
      let pipe = file_pipe(f);
      ok = add_wait_queue(t, f.f_mode & FMODE_READ ? pipe_rd_wait(pipe) : pipe_wr_wait(pipe), WQ_REF_FILE, changetype<usize>(f));
      break;
    }
    default: return 0;
  }
  return ok ? 1 : -ENOMEM;
}

/**
 * ->unlocked_ioctl, after do_vfs_ioctl's generic commands: FIONREAD of a regular file (memfd)
 * is its size minus the position, of a pipe the bytes buffered; files without the operation ENOTTY.
 */
export function f_op_ioctl(t: task_struct, f: file, cmd: u32, arg: u64): i64 {
  switch (f.f_kind) {
    case FILE_SHMEM: return cmd == FIONREAD ? put_int(t, arg, shmem_file_nread(f)) : -ENOTTY;
    case FILE_PIPE: {
      if (cmd != FIONREAD) return -ENOTTY; // pipe_ioctl: -ENOIOCTLCMD
      let n = pipe_nread(t, f);
      if (n < 0) return n;
      return put_int(t, arg, <i32>n);
    }
    case FILE_UFFD: return userfaultfd_ioctl(t, f, cmd, arg);
    case FILE_DEV_UFFD: return dev_userfaultfd_ioctl(t, cmd, arg);
    case FILE_KVM: return kvm_dev_ioctl(t, cmd, arg);
    case FILE_KVM_VM: return kvm_vm_ioctl(t, f, cmd, arg, task_scratch(t));
  }
  return -ENOTTY;
}

/** put_user of an int: 0, -EFAULT, or -ERESTARTSYS (a userfault: wait, then reissue). */
function put_int(t: task_struct, arg: u64, v: i32): i64 {
  let buf = task_scratch(t);
  store<i32>(buf, v);
  return copy_to_user(t, arg, buf, 4);
}

/** ->release: the last reference went (__fput); the inode reference is the caller's. */
export function f_op_release(f: file): void {
  switch (f.f_kind) {
    case FILE_PIPE: pipe_release(f); break;
    case FILE_UFFD: userfaultfd_release(f); break;
    case FILE_GMEM: kvm_gmem_release(f); break;
    case FILE_KVM_VM: kvm_vm_release(f); break;
  }
}

/** devtmpfs, where /dev/kvm lives, and KVM's misc device number (10:232). */
const DEVTMPFS_DEV: u64 = 0x6;
const KVM_RDEV: u64 = 0xae8;
const KVM_DEV_INO: u64 = 0x52;

/** ->getattr of a file without an inode of its own: true if it filled `st` (/dev/kvm). */
export function f_op_getattr(f: file, st: stat): bool {
  if (f.f_kind != FILE_KVM) return false;
  st.st_dev = DEVTMPFS_DEV;
  st.st_ino = KVM_DEV_INO;
  st.st_nlink = 1;
  st.st_mode = <u32>S_IFCHR | 0o660;
  st.st_rdev = KVM_RDEV;
  return true;
}

/** ->show_fdinfo: the file-specific lines at `buf`; their length (0: none). */
export function f_op_show_fdinfo(f: file, buf: usize): i32 {
  if (f.f_kind == FILE_UFFD) return userfaultfd_show_fdinfo(f, buf);
  return 0;
}
