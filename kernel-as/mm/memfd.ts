// memfd_create(2) and file seals (mm/memfd.c).
import { task_struct, files_struct } from "../kernel/types";
import { MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_HUGETLB, MFD_NOEXEC_SEAL, MFD_EXEC, MFD_NAME_MAX_LEN,
  F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE, F_SEAL_FUTURE_WRITE, F_SEAL_EXEC, O_RDWR, O_LARGEFILE } from "../abi/uapi";
import { EINVAL, EFAULT, EPERM, EBUSY, ENOMEM, ERESTARTSYS } from "../abi/errno";
import { file, FILE_SHMEM, shmem_file, FMODE_READ, FMODE_WRITE, S_MEMFD, S_NOEXEC_SEALED } from "../fs/types";
import { alloc_file, file_inode, get_unused_fd_flags, put_unused_fd, fd_install } from "../fs/file";
import { inode_name, iput } from "../fs/inode";
import { shmem_new_inode } from "./shmem";
import { strncpy_from_user } from "./uaccess";
import { task_scratch } from "../kernel/sched";

const MFD_ALL_FLAGS: i32 = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC;
const F_ALL_SEALS: u32 = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC;

export function sys_memfd_create(t: task_struct, uname: u64, flags: i32): i64 {
  if (flags & ~MFD_ALL_FLAGS) return -EINVAL;
  // hugetlbfs is outside uffdlab's scope.
  if (flags & MFD_HUGETLB) return -EINVAL;
  if ((flags & MFD_EXEC) && (flags & MFD_NOEXEC_SEAL)) return -EINVAL;
  // memfd_alloc_name: the name (with its NUL) must fit in MFD_NAME_MAX_LEN + 1 bytes.
  let buf = task_scratch(t);
  let len = strncpy_from_user(t, buf, uname, <u32>MFD_NAME_MAX_LEN + 2);
  if (len < 0) return len == -ERESTARTSYS ? len : -EFAULT;
  if (len > <i64>MFD_NAME_MAX_LEN + 1) return -EINVAL;
  let fs = changetype<files_struct>(<usize>t.files);
  let fd = get_unused_fd_flags(fs, (flags & MFD_CLOEXEC) != 0);
  if (fd < 0) return fd;
  let ino = shmem_new_inode();
  if (!ino) {
    put_unused_fd(fs, fd);
    return -ENOMEM;
  }
  let n = <u32>len - 1;
  ino.name_len = n;
  memory.copy(inode_name(ino), buf, n);
  ino.i_flags |= S_MEMFD;
  ino.seals = F_SEAL_SEAL;
  if (flags & MFD_NOEXEC_SEAL) {
    ino.i_mode &= ~0o111;
    ino.seals = F_SEAL_EXEC;
    ino.i_flags |= S_NOEXEC_SEALED;
  } else if (flags & MFD_ALLOW_SEALING) {
    ino.seals = 0;
  }
  let f = alloc_file(FILE_SHMEM, ino, O_RDWR | O_LARGEFILE, FMODE_READ | FMODE_WRITE);
  if (!f) {
    iput(ino);
    put_unused_fd(fs, fd);
    return -ENOMEM;
  }
  fd_install(fs, fd, f);
  return fd;
}

/** F_GET_SEALS / F_ADD_SEALS (memfd_fcntl). */
export function memfd_fcntl(f: file, add: bool, arg: u64): i64 {
  if (!shmem_file(f)) return -EINVAL;
  let ino = file_inode(f);
  if (!(ino.i_flags & S_MEMFD)) return -EINVAL;
  if (!add) return <i64>ino.seals;
  if (!(f.f_mode & FMODE_WRITE)) return -EPERM;
  // memfd_fcntl takes the seals as an unsigned int: the upper half of the argument is ignored.
  let seals = <u32>arg;
  if (seals & ~F_ALL_SEALS) return -EINVAL;
  if (ino.seals & F_SEAL_SEAL) return -EPERM;
  // SEAL_EXEC on an executable file implies the write seals (W^X from the start).
  if ((seals & F_SEAL_EXEC) && (ino.i_mode & 0o111)) seals |= F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
  if ((seals & F_SEAL_WRITE) && !(ino.seals & F_SEAL_WRITE)) {
    // mapping_deny_writable: no writable shared mapping may exist.
    if (ino.i_mmap_writable > 0) return -EBUSY;
  }
  ino.seals |= seals;
  return 0;
}
