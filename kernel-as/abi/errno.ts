// Linux errno values (x86-64, include/uapi/asm-generic/errno-base.h and errno.h).
// Kernel functions return -errno; the host maps the number to a code name.
// This file is the single source: scripts/gen-abi.mjs turns it into host-ts/abi.gen.ts.

export const EPERM: i32 = 1;
export const ENOENT: i32 = 2;
export const ESRCH: i32 = 3;
export const EINTR: i32 = 4;
export const EIO: i32 = 5;
export const ENXIO: i32 = 6;
export const E2BIG: i32 = 7;
export const EBADF: i32 = 9;
export const ECHILD: i32 = 10;
export const EAGAIN: i32 = 11;
export const ENOMEM: i32 = 12;
export const EACCES: i32 = 13;
export const EFAULT: i32 = 14;
export const EBUSY: i32 = 16;
export const EEXIST: i32 = 17;
export const ENODEV: i32 = 19;
export const ENOTDIR: i32 = 20;
export const EISDIR: i32 = 21;
export const EINVAL: i32 = 22;
export const ENFILE: i32 = 23;
export const EMFILE: i32 = 24;
export const ENOTTY: i32 = 25;
export const EFBIG: i32 = 27;
export const ENOSPC: i32 = 28;
export const ESPIPE: i32 = 29;
export const EPIPE: i32 = 32;
export const ENAMETOOLONG: i32 = 36;
export const ERANGE: i32 = 34;
export const ENOSYS: i32 = 38;
export const EOVERFLOW: i32 = 75;
export const EOPNOTSUPP: i32 = 95;
export const EHWPOISON: i32 = 133;
/** Kernel-internal; never returned to user space. */
export const ERESTARTSYS: i32 = 512;
