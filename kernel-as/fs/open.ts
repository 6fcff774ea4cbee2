// ftruncate and fallocate (fs/open.c: do_ftruncate, vfs_fallocate; mm/shmem.c: shmem_setattr,
// shmem_fallocate).
import { file, inode, FMODE_WRITE, INODE_SHMEM, INODE_GMEM } from "./types";
import { pipe_file } from "./file_ops";
import { kvm_gmem_fallocate } from "../virt/kvm/guest_memfd";
import { fget, file_inode } from "./file";
import { EINVAL, EBADF, EPERM, EFBIG, ESPIPE, ENODEV, EOPNOTSUPP } from "../abi/errno";
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_ZERO_RANGE,
  FALLOC_FL_INSERT_RANGE, FALLOC_FL_UNSHARE_RANGE, MAX_LFS_FILESIZE, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE,
  F_SEAL_FUTURE_WRITE, S_IFMT, S_IFREG } from "../abi/uapi";
import { shmem_set_size, shmem_punch_hole, shmem_fallocate_alloc } from "../mm/shmem";
import { task_struct, files_struct } from "../kernel/types";

/** FALLOC_FL_WRITE_ZEROES (6.17+), part of FALLOC_FL_MODE_MASK. */
const FALLOC_FL_WRITE_ZEROES: i32 = 0x80;
const FALLOC_FL_MODE_MASK: i32 = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_ZERO_RANGE |
  FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_WRITE_ZEROES;

// @ts-ignore: decorator
@inline function FILES(t: task_struct): files_struct { return changetype<files_struct>(<usize>t.files); }

// @ts-ignore: decorator
@inline function is_reg(f: file): bool {
  return f.f_inode != 0 && (file_inode(f).i_mode & <u32>S_IFMT) == <u32>S_IFREG;
}

export function sys_ftruncate(t: task_struct, fd: i64, length: i64): i64 {
  if (length < 0) return -EINVAL;
  let f = fget(FILES(t), fd);
  if (!f) return -EBADF;
  if (!is_reg(f) || !(f.f_mode & FMODE_WRITE)) return -EINVAL;
  let ino = file_inode(f);
  if (ino.i_kind != INODE_SHMEM) return -EINVAL; // guest_memfd refuses size changes
  if (length > MAX_LFS_FILESIZE) return -EFBIG;
  if ((length < ino.i_size && (ino.seals & F_SEAL_SHRINK)) || (length > ino.i_size && (ino.seals & F_SEAL_GROW))) return -EPERM;
  shmem_set_size(ino, length);
  return 0;
}

/** vfs_fallocate. */
export function vfs_fallocate(f: file, mode: i32, offset: i64, len: i64): i32 {
  if (offset < 0 || len <= 0) return -EINVAL;
  if (mode & ~(FALLOC_FL_MODE_MASK | FALLOC_FL_KEEP_SIZE)) return -EOPNOTSUPP;
  let m = mode & FALLOC_FL_MODE_MASK;
  if (m == 0 || m == FALLOC_FL_UNSHARE_RANGE || m == FALLOC_FL_ZERO_RANGE) {
    // allocate, unshare, zero: fine here
  } else if (m == FALLOC_FL_PUNCH_HOLE) {
    if (!(mode & FALLOC_FL_KEEP_SIZE)) return -EOPNOTSUPP;
  } else if (m == FALLOC_FL_COLLAPSE_RANGE || m == FALLOC_FL_INSERT_RANGE || m == FALLOC_FL_WRITE_ZEROES) {
    if (mode & FALLOC_FL_KEEP_SIZE) return -EOPNOTSUPP;
  } else {
    return -EOPNOTSUPP;
  }
  if (!(f.f_mode & FMODE_WRITE)) return -EBADF;
  if (pipe_file(f)) return -ESPIPE;
  if (!is_reg(f)) return -ENODEV;
  if (offset + len > MAX_LFS_FILESIZE || offset + len < 0) return -EFBIG;
  let ino = file_inode(f);
  if (ino.i_kind == INODE_GMEM) return kvm_gmem_fallocate(f, mode, offset, len);
  if (ino.i_kind != INODE_SHMEM) return -EOPNOTSUPP;
  return shmem_fallocate(ino, mode, offset, len);
}

function shmem_fallocate(ino: inode, mode: i32, offset: i64, len: i64): i32 {
  if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) return -EOPNOTSUPP;
  if (mode & FALLOC_FL_PUNCH_HOLE) {
    if (ino.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) return -EPERM;
    shmem_punch_hole(ino, <u64>offset, <u64>len);
    return 0;
  }
  if ((ino.seals & F_SEAL_GROW) && offset + len > ino.i_size) return -EPERM;
  return shmem_fallocate_alloc(ino, <u64>offset, <u64>len, (mode & FALLOC_FL_KEEP_SIZE) != 0);
}

export function sys_fallocate(t: task_struct, fd: i64, mode: i32, offset: i64, len: i64): i64 {
  let f = fget(FILES(t), fd);
  if (!f) return -EBADF;
  return vfs_fallocate(f, mode, offset, len);
}
