// ioctl(2) (fs/ioctl.c): FIONREAD of a regular file, then the file's ioctl handler. Files
// without one → ENOTTY.
import { task_struct, files_struct } from "../kernel/types";
import { EBADF, ENOTTY } from "../abi/errno";
import { FIONREAD } from "../abi/uapi";
import { fget, file_inode } from "./file";
import { file, FILE_UFFD, FILE_DEV_UFFD, FILE_KVM, FILE_KVM_VM, FILE_SHMEM, FILE_PIPE } from "./types";
import { pipe_nread } from "./pipe";
import { copy_to_user } from "../mm/uaccess";
import { userfaultfd_ioctl, dev_userfaultfd_ioctl } from "./userfaultfd";
import { kvm_dev_ioctl, kvm_vm_ioctl } from "../virt/kvm/kvm_main";
import { task_scratch } from "../kernel/sched";

export function sys_ioctl(t: task_struct, fd: i64, cmd: u32, arg: u64): i64 {
  let f = fget(changetype<files_struct>(<usize>t.files), fd);
  if (!f) return -EBADF;
  // do_vfs_ioctl: FIONREAD of a regular file (memfd) is its size minus the position, as an int.
  if (cmd == FIONREAD && f.f_kind == FILE_SHMEM) return put_int(t, arg, <i32>(file_inode(f).i_size - <i64>f.f_pos));
  if (f.f_kind == FILE_PIPE) return pipe_ioctl(t, f, cmd, arg);
  if (f.f_kind == FILE_UFFD) return userfaultfd_ioctl(t, f, cmd, arg);
  if (f.f_kind == FILE_DEV_UFFD) return dev_userfaultfd_ioctl(t, cmd, arg);
  if (f.f_kind == FILE_KVM) return kvm_dev_ioctl(t, cmd, arg);
  if (f.f_kind == FILE_KVM_VM) return kvm_vm_ioctl(t, f, cmd, arg, task_scratch(t));
  return -ENOTTY;
}

/** put_user of an int. */
function put_int(t: task_struct, arg: u64, v: i32): i64 {
  let buf = task_scratch(t);
  store<i32>(buf, v);
  return copy_to_user(t, arg, buf, 4);
}

/** pipe_ioctl: FIONREAD, the bytes buffered; anything else ENOTTY (-ENOIOCTLCMD). */
function pipe_ioctl(t: task_struct, f: file, cmd: u32, arg: u64): i64 {
  if (cmd != FIONREAD) return -ENOTTY;
  let n = pipe_nread(t, f);
  if (n < 0) return n;
  return put_int(t, arg, <i32>n);
}
