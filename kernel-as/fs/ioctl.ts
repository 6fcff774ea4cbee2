// ioctl(2) (fs/ioctl.c): dispatch to the file's ioctl handler. Files without one → ENOTTY.
import { task_struct, files_struct } from "../kernel/types";
import { EBADF, ENOTTY } from "../abi/errno";
import { fget } from "./file";
import { FILE_UFFD, FILE_DEV_UFFD, FILE_KVM, FILE_KVM_VM } from "./types";
import { userfaultfd_ioctl, dev_userfaultfd_ioctl } from "./userfaultfd";
import { kvm_dev_ioctl, kvm_vm_ioctl } from "../virt/kvm/kvm_main";
import { task_scratch } from "../kernel/sched";

export function sys_ioctl(t: task_struct, fd: i64, cmd: u32, arg: u64): i64 {
  let f = fget(changetype<files_struct>(<usize>t.files), fd);
  if (!f) return -EBADF;
  if (f.f_kind == FILE_UFFD) return userfaultfd_ioctl(t, f, cmd, arg);
  if (f.f_kind == FILE_DEV_UFFD) return dev_userfaultfd_ioctl(t, cmd, arg);
  if (f.f_kind == FILE_KVM) return kvm_dev_ioctl(t, cmd, arg);
  if (f.f_kind == FILE_KVM_VM) return kvm_vm_ioctl(t, f, cmd, arg, task_scratch(t));
  return -ENOTTY;
}
