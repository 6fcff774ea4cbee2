// open(2) / openat(2) (fs/namei.c, fs/open.c), for the few paths uffdlab has.
//
// uffdlab has no file system. The paths that exist are the ones programs use around
// memfds and (later) userfaultfd and KVM:
//   /proc/self/fd/N, /proc/<pid>/fd/N   reopen an open memfd with new access flags
//                                        (a new struct file on the same inode)
//   /dev/userfaultfd                    the userfaultfd misc device (USERFAULTFD_IOC_NEW)
//   /dev/kvm                            KVM (virt/kvm/kvm_main.ts)
// Every other path: ENOENT.
import { task_struct, files_struct } from "../kernel/types";
import { ENOENT, EFAULT, ENAMETOOLONG, ENXIO, EACCES, ENOMEM, ERESTARTSYS } from "../abi/errno";
import { O_ACCMODE, O_RDONLY, O_WRONLY, O_RDWR, O_CLOEXEC, O_NONBLOCK, O_LARGEFILE, O_TRUNC, PATH_MAX } from "../abi/uapi";
import { file, inode, FILE_SHMEM, FILE_DEV_UFFD, FILE_KVM, FMODE_READ, FMODE_WRITE } from "./types";
import { shmem_file } from "./file_ops";
import { fget, file_inode, alloc_file, get_unused_fd_flags, put_unused_fd, fd_install } from "./file";
import { ihold, iput } from "./inode";
import { PERM_DEV_USERFAULTFD } from "../abi/kernel";
import { strncpy_from_user } from "../mm/uaccess";
import { task_scratch } from "../kernel/sched";
import { shmem_set_size } from "../mm/shmem";

/** Parse a decimal number at [p, end); -1 if empty or not a number. */
function parse_uint(p: usize, end: usize): i64 {
  if (p >= end) return -1;
  let v: i64 = 0;
  for (let q = p; q < end; q++) {
    let c = <i32>load<u8>(q);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
    if (v > 0x7fffffff) return -1;
  }
  return v;
}

/** Whether the bytes at p start with the ASCII string s (given as a static array of codes). */
function starts_with(p: usize, end: usize, s: string): bool {
  let n = s.length;
  if (<usize>n > end - p) return false;
  for (let i = 0; i < n; i++) if (<i32>load<u8>(p + <usize>i) != s.charCodeAt(i)) return false;
  return true;
}

export function sys_openat(t: task_struct, dfd: i64, upath: u64, flags: i32, mode: i32): i64 {
  let buf = task_scratch(t) + 1024; // 2 KiB of the scratch page; longer paths cannot exist here
  let len = strncpy_from_user(t, buf, upath, 2048);
  if (len < 0) return len == -ERESTARTSYS ? len : -EFAULT;
  if (len > <i64>PATH_MAX) return -ENAMETOOLONG;
  if (len == 1) return -ENOENT;
  // do_sys_openat2: the fd first, then the lookup.
  let fs = changetype<files_struct>(<usize>t.files);
  let fd = get_unused_fd_flags(fs, (flags & O_CLOEXEC) != 0);
  if (fd < 0) return fd;
  let f = len > 2048 ? -ENOENT : do_filp_open(t, buf, buf + <usize>len - 1, flags);
  if (f < 0) {
    put_unused_fd(fs, fd);
    return f;
  }
  fd_install(fs, fd, changetype<file>(<usize>f));
  return fd;
}

/** The open file for the path at [p, end) (its address), or -errno. */
function do_filp_open(t: task_struct, p: usize, end: usize, flags: i32): i64 {
  let acc = flags & O_ACCMODE;
  let fm: u32 = acc == O_RDONLY ? FMODE_READ : acc == O_WRONLY ? FMODE_WRITE : FMODE_READ | FMODE_WRITE;
  if (end - p == 16 && starts_with(p, end, "/dev/userfaultfd")) {
    // The misc device (mode 0600, root's): its only use is ioctl(USERFAULTFD_IOC_NEW).
    if (!(t.perm & PERM_DEV_USERFAULTFD)) return -EACCES;
    return new_file(FILE_DEV_UFFD, null, <u32>(flags & (O_ACCMODE | O_NONBLOCK)), fm);
  }
  if (end - p == 8 && starts_with(p, end, "/dev/kvm")) {
    return new_file(FILE_KVM, null, <u32>(flags & (O_ACCMODE | O_NONBLOCK) | O_LARGEFILE), fm);
  }
  if (starts_with(p, end, "/proc/self/fd/")) p += 14;
  else if (starts_with(p, end, "/proc/")) {
    let q = p + 6;
    while (q < end && load<u8>(q) != 47) q++;
    if (parse_uint(p + 6, q) != <i64>t.tgid || !starts_with(q, end, "/fd/")) return -ENOENT;
    p = q + 4;
  } else {
    return -ENOENT;
  }
  let fd = parse_uint(p, end);
  if (fd < 0) return -ENOENT;
  let f = fget(changetype<files_struct>(<usize>t.files), fd);
  if (!f) return -ENOENT;
  if (!shmem_file(f)) return -ENXIO;
  if (acc == 3) acc = O_RDWR;
  let fmode: u32 = acc == O_RDONLY ? FMODE_READ : acc == O_WRONLY ? FMODE_WRITE : FMODE_READ | FMODE_WRITE;
  let ino = file_inode(f);
  ihold(ino);
  let r = new_file(FILE_SHMEM, ino, <u32>(acc | (flags & O_NONBLOCK) | O_LARGEFILE), fmode);
  if (r >= 0 && (flags & O_TRUNC) && (fmode & FMODE_WRITE)) shmem_set_size(ino, 0);
  return r;
}

/** alloc_file, as an address or -ENOMEM (then the inode reference is dropped). */
function new_file(kind: u32, ino: inode | null, flags: u32, mode: u32): i64 {
  let f = alloc_file(kind, ino, flags, mode);
  if (!f) {
    if (ino) iput(ino);
    return -ENOMEM;
  }
  return <i64>changetype<usize>(f);
}
