// ioctl(2) (fs/ioctl.c): the file's ioctl operation (fs/file_ops.ts); files without one → ENOTTY.
import { task_struct, files_struct } from "../kernel/types";
import { EBADF } from "../abi/errno";
import { fget } from "./file";
import { f_op_ioctl } from "./file_ops";

export function sys_ioctl(t: task_struct, fd: i64, cmd: u32, arg: u64): i64 {
  let f = fget(changetype<files_struct>(<usize>t.files), fd);
  if (!f) return -EBADF;
  return f_op_ioctl(t, f, cmd, arg);
}
