// fstat(2) (fs/stat.c with shmem_getattr / pipe inode attributes).
import { task_struct, files_struct } from "../kernel/types";
import { stat, S_IFIFO, PAGE_SIZE } from "../abi/uapi";
import { EBADF } from "../abi/errno";
import { fget, file_inode } from "./file";
import { INODE_PIPE, INODE_GMEM, S_KERNEL_FILE } from "./types";
import { f_op_getattr } from "./file_ops";
import { copy_to_user } from "../mm/uaccess";
import { task_scratch } from "../kernel/sched";

/** Device numbers of the pseudo file systems, as 6.18 reports them for shmem ("tmpfs") and pipes. */
const SHMEM_DEV: u64 = 1;
const PIPEFS_DEV: u64 = 0xd;
const ANON_INODE_DEV: u64 = 0xe;

export function sys_fstat(t: task_struct, fd: i64, ubuf: u64): i64 {
  let f = fget(changetype<files_struct>(<usize>t.files), fd);
  if (!f) return -EBADF;
  let st = changetype<stat>(task_scratch(t));
  memory.fill(changetype<usize>(st), 0, offsetof<stat>());
  st.st_blksize = PAGE_SIZE;
  if (f_op_getattr(f, st)) {
    // the file's own attributes (/dev/kvm)
  } else if (f.f_inode == 0) {
    // anonymous-inode files (userfaultfd, kvm): one shared inode, mode 0600
    st.st_dev = ANON_INODE_DEV;
    st.st_ino = 1;
    st.st_nlink = 1;
    st.st_mode = 0o600;
  } else {
    let ino = file_inode(f);
    st.st_ino = ino.i_ino;
    st.st_mode = ino.i_mode;
    st.st_size = ino.i_size;
    if (ino.i_kind == INODE_PIPE) {
      st.st_dev = PIPEFS_DEV;
      st.st_nlink = 1;
      st.st_mode = <u32>S_IFIFO | 0o600;
      st.st_size = 0;
    } else if (ino.i_kind == INODE_GMEM) {
      // guest_memfd: a secure anonymous inode; no block accounting (st_blocks stays 0).
      st.st_dev = ANON_INODE_DEV;
      st.st_nlink = 1;
    } else {
      st.st_dev = SHMEM_DEV;
      st.st_nlink = (ino.i_flags & S_KERNEL_FILE) ? 1 : 0;
      st.st_blocks = <i64>ino.nrpages * 8;
    }
  }
  return copy_to_user(t, ubuf, changetype<usize>(st), offsetof<stat>());
}
