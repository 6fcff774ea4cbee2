// The system-call table (arch/x86/entry/syscall_64.c): number -> sys_* with the host
// frame's six arguments. Unknown numbers give ENOSYS, as Linux does.
//
// The number is the low 32 bits of rax (do_syscall_64 takes an int; the host stores those
// bits in host_frame.nr); numbers outside the table, negative ones included, are ENOSYS.
// The six argument registers arrive whole (64 bits each); each case narrows them as the
// Linux prototype it names does (the SYSCALL_DEFINE wrappers cast each register to the
// declared type), through the arg_* helpers below and nowhere else.
import { task_struct } from "./types";
import { task_frame } from "./sched";
import * as U from "../abi/uapi";
import { ENOSYS } from "../abi/errno";
import { sys_mmap, sys_munmap } from "../mm/mmap";
import { sys_mprotect } from "../mm/mprotect";
import { sys_mremap } from "../mm/mremap";
import { sys_madvise } from "../mm/madvise";
import { sys_memfd_create } from "../mm/memfd";
import { sys_ftruncate, sys_fallocate } from "../fs/open";
import { sys_fstat } from "../fs/stat";
import { sys_read, sys_write, sys_pread64, sys_pwrite64, sys_lseek, rw_restart } from "../fs/read_write";
import { sys_close, sys_dup, sys_fcntl, sys_pipe2 } from "../fs/fcntl";
import { sys_fork, do_exit, do_group_exit, restart_abandon } from "./fork";
import { K } from "../init/state";
import { sys_openat } from "../fs/namei";
import { sys_ioctl } from "../fs/ioctl";
import { sys_poll } from "../fs/select";
import { sys_userfaultfd, userfaultfd_events_pending, userfaultfd_events_wait_again, userfaultfd_outfield_restart,
  userfaultfd_copy_is_reissue, userfaultfd_copy_restart } from "../fs/userfaultfd";
import { madvise_restart } from "../mm/madvise";
import { restart_matches, restart_clear } from "./restart";
import { RESTART_MADVISE, RESTART_UFFD_OUTFIELD, RESTART_UFFD_COPY, RESTART_POLL_TIMEOUT, RESTART_RW } from "./types";
import { sys_mlock, sys_mlock2, sys_munlock, sys_mlockall, sys_munlockall } from "../mm/mlock";

/** The reissue of a call that recorded a restart block (kernel/restart.ts). */
function do_restart(t: task_struct): i64 {
  // Still waiting for an event to be read: keep waiting.
  if (userfaultfd_events_pending(t)) return userfaultfd_events_wait_again(t);
  let fn = t.restart_fn;
  if (fn == RESTART_MADVISE) return madvise_restart(t);
  if (fn == RESTART_UFFD_OUTFIELD) return userfaultfd_outfield_restart(t);
  if (fn == RESTART_UFFD_COPY) return userfaultfd_copy_restart(t);
  if (fn == RESTART_RW) return rw_restart(t);
  if (fn == RESTART_POLL_TIMEOUT) {
    restart_clear(t);
    let f = task_frame(t);
    return sys_poll(t, f.arg0, arg_uint(f.arg1), 0);
  }
  let r = t.restart_ret;
  restart_clear(t);
  return r;
}

/**
 * Whether the call in the frame is the reissue of the one with the restart block: 1 yes, 0
 * no, or -ERESTARTSYS when telling must itself wait (a COPY's argument on a userfault).
 */
function restart_reissue(t: task_struct): i64 {
  if (!restart_matches(t)) return 0;
  if (t.restart_fn == RESTART_UFFD_COPY) return userfaultfd_copy_is_reissue(t);
  return 1;
}

// ---- argument decoding: one helper per C parameter type ---------------------------------
// `int`: the low 32 bits, sign-extended (fds, flags, advice, timeouts, exit codes).
// @ts-ignore: decorator
@inline function arg_int(a: u64): i32 { return <i32>a; }
// `unsigned int`: the low 32 bits (fds taken by fdget(unsigned int), nfds, ioctl/fcntl cmd).
// @ts-ignore: decorator
@inline function arg_uint(a: u64): u32 { return <u32>a; }
// `umode_t` (unsigned short): the low 16 bits.
// @ts-ignore: decorator
@inline function arg_umode(a: u64): i32 { return <i32><u16>a; }
// `off_t` / `loff_t` (signed 64-bit): the whole register.
// @ts-ignore: decorator
@inline function arg_loff(a: u64): i64 { return <i64>a; }
// `unsigned long`, `size_t` and pointers are the whole register (the u64 itself).

export function do_syscall(t: task_struct): i64 {
  if (t.restart_fn != 0) {
    let m = restart_reissue(t);
    if (m < 0) return m;
    if (m > 0) return do_restart(t);
    restart_abandon(t);
  }
  let f = task_frame(t);
  let a0 = f.arg0, a1 = f.arg1, a2 = f.arg2, a3 = f.arg3, a4 = f.arg4, a5 = f.arg5;
  K().nr_syscalls++;
  switch (f.nr) {
    // read/write(unsigned int fd, char *buf, size_t count)
    case U.__NR_read: return sys_read(t, arg_uint(a0), a1, a2);
    case U.__NR_write: return sys_write(t, arg_uint(a0), a1, a2);
    // lseek(unsigned int fd, off_t offset, unsigned int whence)
    case U.__NR_lseek: return sys_lseek(t, arg_uint(a0), arg_loff(a1), arg_uint(a2));
    // open(const char *filename, int flags, umode_t mode); openat(int dfd, ...same)
    case U.__NR_open: return sys_openat(t, U.AT_FDCWD, a0, arg_int(a1), arg_umode(a2));
    case U.__NR_openat: return sys_openat(t, arg_int(a0), a1, arg_int(a2), arg_umode(a3));
    // close(unsigned int fd); newfstat(unsigned int fd, struct stat *statbuf)
    case U.__NR_close: return sys_close(t, arg_uint(a0));
    case U.__NR_fstat: return sys_fstat(t, arg_uint(a0), a1);
    // mmap(unsigned long addr, len, prot, flags, fd, off) (arch/x86/kernel/sys_x86_64.c): every
    // argument is unsigned long; the fd reaches fget(unsigned int), so its low 32 bits count.
    // mmap flags, mprotect prot and mremap flags keep bits above 31 (undefined bits, which some
    // checks reject); unknown prot bits of mmap are ignored.
    case U.__NR_mmap: return sys_mmap(t, a0, a1, <i32>a2, <i32>a3, arg_uint(a4), a5, <u32>(a3 >> 32));
    // mprotect(unsigned long start, size_t len, unsigned long prot)
    case U.__NR_mprotect: return sys_mprotect(t, a0, a1, <i32>a2, <u32>(a2 >> 32));
    // munmap(unsigned long addr, size_t len)
    case U.__NR_munmap: return sys_munmap(t, a0, a1);
    // pread64/pwrite64(unsigned int fd, char *buf, size_t count, loff_t pos)
    case U.__NR_pread64: return sys_pread64(t, arg_uint(a0), a1, a2, arg_loff(a3));
    case U.__NR_pwrite64: return sys_pwrite64(t, arg_uint(a0), a1, a2, arg_loff(a3));
    // pipe(int *fildes); pipe2(int *fildes, int flags)
    case U.__NR_pipe: return sys_pipe2(t, a0, 0);
    case U.__NR_pipe2: return sys_pipe2(t, a0, arg_int(a1));
    // mremap(unsigned long addr, old_len, new_len, flags, new_addr)
    case U.__NR_mremap: return sys_mremap(t, a0, a1, a2, <i32>a3, a4, <u32>(a3 >> 32));
    // madvise(unsigned long start, size_t len, int behavior)
    case U.__NR_madvise: return sys_madvise(t, a0, a1, arg_int(a2));
    // dup(unsigned int fildes)
    case U.__NR_dup: return sys_dup(t, arg_uint(a0));
    // mlock/munlock(unsigned long start, size_t len); mlock2(..., int flags)
    case U.__NR_mlock: return sys_mlock(t, a0, a1);
    case U.__NR_munlock: return sys_munlock(t, a0, a1);
    case U.__NR_mlock2: return sys_mlock2(t, a0, a1, arg_int(a2));
    // mlockall(int flags); munlockall(void)
    case U.__NR_mlockall: return sys_mlockall(t, arg_int(a0));
    case U.__NR_munlockall: return sys_munlockall(t);
    // poll(struct pollfd *ufds, unsigned int nfds, int timeout_msecs)
    case U.__NR_poll: return sys_poll(t, a0, arg_uint(a1), arg_int(a2));
    // ioctl(unsigned int fd, unsigned int cmd, unsigned long arg)
    case U.__NR_ioctl: return sys_ioctl(t, arg_uint(a0), arg_uint(a1), a2);
    // userfaultfd(int flags)
    case U.__NR_userfaultfd: return sys_userfaultfd(t, arg_int(a0));
    case U.__NR_getpid: return t.tgid;
    case U.__NR_gettid: return t.tid;
    case U.__NR_fork: return sys_fork(t);
    // fcntl(unsigned int fd, unsigned int cmd, unsigned long arg)
    case U.__NR_fcntl: return sys_fcntl(t, arg_uint(a0), <i32>arg_uint(a1), a2);
    // ftruncate(unsigned int fd, off_t length)
    case U.__NR_ftruncate: return sys_ftruncate(t, arg_uint(a0), arg_loff(a1));
    // fallocate(int fd, int mode, loff_t offset, loff_t len)
    case U.__NR_fallocate: return sys_fallocate(t, arg_int(a0), arg_int(a1), arg_loff(a2), arg_loff(a3));
    // memfd_create(const char *uname, unsigned int flags)
    case U.__NR_memfd_create: return sys_memfd_create(t, a0, <i32>arg_uint(a1));
    // exit(int error_code); exit_group(int error_code)
    case U.__NR_exit: do_exit(t, arg_int(a0)); return 0;
    case U.__NR_exit_group: do_group_exit(t, arg_int(a0)); return 0;
  }
  return -ENOSYS;
}
