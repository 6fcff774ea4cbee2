// User-visible ABI: system call numbers, flags and structure layouts, as Linux x86-64
// defines them (include/uapi/...). Single source for kernel and host: the host's copy,
// host-ts/abi.gen.ts, is generated from this file by scripts/gen-abi.mjs.

// ---- system call numbers (arch/x86/entry/syscalls/syscall_64.tbl) -------------------
export const __NR_read: i32 = 0;
export const __NR_write: i32 = 1;
export const __NR_lseek: i32 = 8;
export const __NR_open: i32 = 2;
export const __NR_close: i32 = 3;
export const __NR_fstat: i32 = 5;
export const __NR_poll: i32 = 7;
export const __NR_mmap: i32 = 9;
export const __NR_mprotect: i32 = 10;
export const __NR_munmap: i32 = 11;
export const __NR_ioctl: i32 = 16;
export const __NR_pread64: i32 = 17;
export const __NR_pwrite64: i32 = 18;
export const __NR_pipe: i32 = 22;
export const __NR_mremap: i32 = 25;
export const __NR_madvise: i32 = 28;
export const __NR_dup: i32 = 32;
export const __NR_getpid: i32 = 39;
export const __NR_mlock: i32 = 149;
export const __NR_munlock: i32 = 150;
export const __NR_mlockall: i32 = 151;
export const __NR_munlockall: i32 = 152;
export const __NR_fork: i32 = 57;
export const __NR_exit: i32 = 60;
export const __NR_fcntl: i32 = 72;
export const __NR_ftruncate: i32 = 77;
export const __NR_gettid: i32 = 186;
export const __NR_exit_group: i32 = 231;
export const __NR_openat: i32 = 257;
export const __NR_fallocate: i32 = 285;
export const __NR_pipe2: i32 = 293;
export const __NR_memfd_create: i32 = 319;
export const __NR_userfaultfd: i32 = 323;
export const __NR_mlock2: i32 = 325;

export const MLOCK_ONFAULT: i32 = 0x01;
export const MCL_CURRENT: i32 = 1;
export const MCL_FUTURE: i32 = 2;
export const MCL_ONFAULT: i32 = 4;

// ---- signals ---------------------------------------------------------------------
export const SIGBUS: i32 = 7;
export const SIGSEGV: i32 = 11;
export const SEGV_MAPERR: i32 = 1;
export const SEGV_ACCERR: i32 = 2;
export const BUS_ADRERR: i32 = 2;
export const BUS_MCEERR_AR: i32 = 4;

// ---- mmap / mprotect (include/uapi/asm-generic/mman-common.h, linux/mman.h) ---------
export const PROT_NONE: i32 = 0x0;
export const PROT_READ: i32 = 0x1;
export const PROT_WRITE: i32 = 0x2;
export const PROT_EXEC: i32 = 0x4;
export const PROT_SEM: i32 = 0x8;
export const PROT_GROWSDOWN: i32 = 0x01000000;
export const PROT_GROWSUP: i32 = 0x02000000;

export const MAP_SHARED: i32 = 0x01;
export const MAP_PRIVATE: i32 = 0x02;
export const MAP_SHARED_VALIDATE: i32 = 0x03;
export const MAP_DROPPABLE: i32 = 0x08;
export const MAP_TYPE: i32 = 0x0f;
export const MAP_FIXED: i32 = 0x10;
export const MAP_ANONYMOUS: i32 = 0x20;
export const MAP_32BIT: i32 = 0x40;
export const MAP_GROWSDOWN: i32 = 0x0100;
export const MAP_DENYWRITE: i32 = 0x0800;
export const MAP_EXECUTABLE: i32 = 0x1000;
export const MAP_LOCKED: i32 = 0x2000;
export const MAP_NORESERVE: i32 = 0x4000;
export const MAP_POPULATE: i32 = 0x8000;
export const MAP_NONBLOCK: i32 = 0x10000;
export const MAP_STACK: i32 = 0x20000;
export const MAP_HUGETLB: i32 = 0x40000;
export const MAP_SYNC: i32 = 0x80000;
export const MAP_FIXED_NOREPLACE: i32 = 0x100000;
export const MAP_UNINITIALIZED: i32 = 0x4000000;

export const MREMAP_MAYMOVE: i32 = 1;
export const MREMAP_FIXED: i32 = 2;
export const MREMAP_DONTUNMAP: i32 = 4;

// ---- madvise ---------------------------------------------------------------------
export const MADV_NORMAL: i32 = 0;
export const MADV_RANDOM: i32 = 1;
export const MADV_SEQUENTIAL: i32 = 2;
export const MADV_WILLNEED: i32 = 3;
export const MADV_DONTNEED: i32 = 4;
export const MADV_FREE: i32 = 8;
export const MADV_REMOVE: i32 = 9;
export const MADV_DONTFORK: i32 = 10;
export const MADV_DOFORK: i32 = 11;
export const MADV_MERGEABLE: i32 = 12;
export const MADV_UNMERGEABLE: i32 = 13;
export const MADV_HUGEPAGE: i32 = 14;
export const MADV_NOHUGEPAGE: i32 = 15;
export const MADV_DONTDUMP: i32 = 16;
export const MADV_DODUMP: i32 = 17;
export const MADV_WIPEONFORK: i32 = 18;
export const MADV_KEEPONFORK: i32 = 19;
export const MADV_COLD: i32 = 20;
export const MADV_PAGEOUT: i32 = 21;
export const MADV_POPULATE_READ: i32 = 22;
export const MADV_POPULATE_WRITE: i32 = 23;
export const MADV_DONTNEED_LOCKED: i32 = 24;
export const MADV_COLLAPSE: i32 = 25;
export const MADV_GUARD_INSTALL: i32 = 102;
export const MADV_GUARD_REMOVE: i32 = 103;
export const MADV_HWPOISON: i32 = 100;
export const MADV_SOFT_OFFLINE: i32 = 101;

// ---- memfd, seals, fcntl, open flags -----------------------------------------------
export const MFD_CLOEXEC: i32 = 0x1;
export const MFD_ALLOW_SEALING: i32 = 0x2;
export const MFD_HUGETLB: i32 = 0x4;
export const MFD_NOEXEC_SEAL: i32 = 0x8;
export const MFD_EXEC: i32 = 0x10;
/** Longest memfd name, without the terminating NUL (NAME_MAX - strlen("memfd:")). */
export const MFD_NAME_MAX_LEN: i32 = 249;

export const AT_FDCWD: i32 = -100;
/** PATH_MAX, including the terminating NUL. */
export const PATH_MAX: i32 = 4096;
export const F_DUPFD: i32 = 0;
export const F_GETFD: i32 = 1;
export const F_SETFD: i32 = 2;
export const F_GETFL: i32 = 3;
export const F_SETFL: i32 = 4;
export const F_DUPFD_CLOEXEC: i32 = 1030;
export const F_SETPIPE_SZ: i32 = 1031;
export const F_GETPIPE_SZ: i32 = 1032;
export const F_ADD_SEALS: i32 = 1033;
export const F_GET_SEALS: i32 = 1034;
export const FD_CLOEXEC: i32 = 1;
/** ioctl(fd, FIONREAD, int *): bytes ready to read (a pipe's buffered bytes; a regular file's size - pos) */
export const FIONREAD: u32 = 0x541b;

export const F_SEAL_SEAL: i32 = 0x1;
export const F_SEAL_SHRINK: i32 = 0x2;
export const F_SEAL_GROW: i32 = 0x4;
export const F_SEAL_WRITE: i32 = 0x8;
export const F_SEAL_FUTURE_WRITE: i32 = 0x10;
export const F_SEAL_EXEC: i32 = 0x20;

export const O_RDONLY: i32 = 0x0;
export const O_WRONLY: i32 = 0x1;
export const O_RDWR: i32 = 0x2;
export const O_ACCMODE: i32 = 0x3;
export const O_CREAT: i32 = 0x40;
export const O_EXCL: i32 = 0x80;
export const O_TRUNC: i32 = 0x200;
export const O_APPEND: i32 = 0x400;
export const O_NONBLOCK: i32 = 0x800;
export const O_LARGEFILE: i32 = 0x8000;
export const O_CLOEXEC: i32 = 0x80000;

export const FALLOC_FL_KEEP_SIZE: i32 = 0x01;
export const FALLOC_FL_PUNCH_HOLE: i32 = 0x02;
export const FALLOC_FL_NO_HIDE_STALE: i32 = 0x04;
export const FALLOC_FL_COLLAPSE_RANGE: i32 = 0x08;
export const FALLOC_FL_ZERO_RANGE: i32 = 0x10;
export const FALLOC_FL_INSERT_RANGE: i32 = 0x20;
export const FALLOC_FL_UNSHARE_RANGE: i32 = 0x40;

export const S_IFMT: i32 = 0o170000;
export const S_IFREG: i32 = 0o100000;
export const S_IFIFO: i32 = 0o010000;
export const S_IFCHR: i32 = 0o020000;

// ---- limits --------------------------------------------------------------------------
export const PAGE_SHIFT: i32 = 12;
export const PAGE_SIZE: i32 = 4096;
/** Top of the user address space (x86-64, 4-level paging). */
export const TASK_SIZE: u64 = 0x7ffffffff000;
/** vm.mmap_min_addr default. */
export const MMAP_MIN_ADDR: u64 = 0x10000;
/** MAX_LFS_FILESIZE on 64-bit. */
export const MAX_LFS_FILESIZE: i64 = 0x7fffffffffffffff;
/** vm.max_map_count default. */
export const DEFAULT_MAX_MAP_COUNT: i32 = 65530;
/** RLIMIT_NOFILE soft default: fds 0..NR_OPEN_DEFAULT-1. */
export const NR_OPEN_DEFAULT: i32 = 1024;

// ---- struct stat (arch/x86/include/uapi/asm/stat.h), 144 bytes ------------------------
@unmanaged export class stat {
  st_dev: u64;
  st_ino: u64;
  st_nlink: u64;
  st_mode: u32;
  st_uid: u32;
  st_gid: u32;
  __pad0: u32;
  st_rdev: u64;
  st_size: i64;
  st_blksize: i64;
  st_blocks: i64;
  st_atime: u64;
  st_atime_nsec: u64;
  st_mtime: u64;
  st_mtime_nsec: u64;
  st_ctime: u64;
  st_ctime_nsec: u64;
  __unused0: i64;
  __unused1: i64;
  __unused2: i64;
}

// ---- userfaultfd (include/uapi/linux/userfaultfd.h) ------------------------------------------
export const UFFD_API: u64 = 0xaa;
export const UFFD_USER_MODE_ONLY: i32 = 1;
export const USERFAULTFD_IOC_NEW: u32 = 0xaa00;
export const UFFDIO_REGISTER: u32 = 0xc020aa00;
export const UFFDIO_UNREGISTER: u32 = 0x8010aa01;
export const UFFDIO_WAKE: u32 = 0x8010aa02;
export const UFFDIO_COPY: u32 = 0xc028aa03;
export const UFFDIO_ZEROPAGE: u32 = 0xc020aa04;
export const UFFDIO_MOVE: u32 = 0xc028aa05;
export const UFFDIO_WRITEPROTECT: u32 = 0xc018aa06;
export const UFFDIO_CONTINUE: u32 = 0xc020aa07;
export const UFFDIO_POISON: u32 = 0xc020aa08;
export const UFFDIO_API: u32 = 0xc018aa3f;

export const UFFD_API_IOCTLS: u64 = 0x8000000000000003;
export const UFFD_API_RANGE_IOCTLS: u64 = 0x1fc;
export const UFFD_API_RANGE_IOCTLS_BASIC: u64 = 0x1cc;
/** ioctl bits (1 << _UFFDIO_*) inside the masks above */
export const _UFFDIO_WRITEPROTECT_BIT: u64 = 0x40;
export const _UFFDIO_CONTINUE_BIT: u64 = 0x80;

export const UFFDIO_REGISTER_MODE_MISSING: u64 = 0x1;
export const UFFDIO_REGISTER_MODE_WP: u64 = 0x2;
export const UFFDIO_REGISTER_MODE_MINOR: u64 = 0x4;
export const UFFDIO_COPY_MODE_DONTWAKE: u64 = 0x1;
export const UFFDIO_COPY_MODE_WP: u64 = 0x2;
export const UFFDIO_ZEROPAGE_MODE_DONTWAKE: u64 = 0x1;
export const UFFDIO_WRITEPROTECT_MODE_WP: u64 = 0x1;
export const UFFDIO_WRITEPROTECT_MODE_DONTWAKE: u64 = 0x2;
export const UFFDIO_CONTINUE_MODE_DONTWAKE: u64 = 0x1;
export const UFFDIO_CONTINUE_MODE_WP: u64 = 0x2;
export const UFFDIO_POISON_MODE_DONTWAKE: u64 = 0x1;
export const UFFDIO_MOVE_MODE_DONTWAKE: u64 = 0x1;
export const UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES: u64 = 0x2;

export const UFFD_EVENT_PAGEFAULT: u8 = 0x12;
export const UFFD_EVENT_FORK: u8 = 0x13;
export const UFFD_EVENT_REMAP: u8 = 0x14;
export const UFFD_EVENT_REMOVE: u8 = 0x15;
export const UFFD_EVENT_UNMAP: u8 = 0x16;
export const UFFD_PAGEFAULT_FLAG_WRITE: u64 = 0x1;
export const UFFD_PAGEFAULT_FLAG_WP: u64 = 0x2;
export const UFFD_PAGEFAULT_FLAG_MINOR: u64 = 0x4;

export const UFFD_FEATURE_PAGEFAULT_FLAG_WP: u64 = 1 << 0;
export const UFFD_FEATURE_EVENT_FORK: u64 = 1 << 1;
export const UFFD_FEATURE_EVENT_REMAP: u64 = 1 << 2;
export const UFFD_FEATURE_EVENT_REMOVE: u64 = 1 << 3;
export const UFFD_FEATURE_MISSING_HUGETLBFS: u64 = 1 << 4;
export const UFFD_FEATURE_MISSING_SHMEM: u64 = 1 << 5;
export const UFFD_FEATURE_EVENT_UNMAP: u64 = 1 << 6;
export const UFFD_FEATURE_SIGBUS: u64 = 1 << 7;
export const UFFD_FEATURE_THREAD_ID: u64 = 1 << 8;
export const UFFD_FEATURE_MINOR_HUGETLBFS: u64 = 1 << 9;
export const UFFD_FEATURE_MINOR_SHMEM: u64 = 1 << 10;
export const UFFD_FEATURE_EXACT_ADDRESS: u64 = 1 << 11;
export const UFFD_FEATURE_WP_HUGETLBFS_SHMEM: u64 = 1 << 12;
export const UFFD_FEATURE_WP_UNPOPULATED: u64 = 1 << 13;
export const UFFD_FEATURE_POISON: u64 = 1 << 14;
export const UFFD_FEATURE_WP_ASYNC: u64 = 1 << 15;
export const UFFD_FEATURE_MOVE: u64 = 1 << 16;
/** UFFD_API_FEATURES on x86-64 6.18 (all mainline bits). */
export const UFFD_API_FEATURES: u64 = 0x1ffff;
export const UFFD_MSG_SIZE: i32 = 32;

/** struct uffd_msg (packed, 32 bytes), pagefault view of the union. */
@unmanaged export class uffd_msg {
  event: u8;
  reserved1: u8;
  reserved2: u16;
  reserved3: u32;
  arg0: u64;
  arg1: u64;
  arg2: u64;
}
@unmanaged export class uffdio_api {
  api: u64;
  features: u64;
  ioctls: u64;
}
@unmanaged export class uffdio_range {
  start: u64;
  len: u64;
}
@unmanaged export class uffdio_register {
  start: u64;
  len: u64;
  mode: u64;
  ioctls: u64;
}
@unmanaged export class uffdio_copy {
  dst: u64;
  src: u64;
  len: u64;
  mode: u64;
  copy: i64;
}
@unmanaged export class uffdio_zeropage {
  start: u64;
  len: u64;
  mode: u64;
  zeropage: i64;
}
/** struct uffdio_writeprotect (24 bytes, no out-field). */
@unmanaged export class uffdio_writeprotect {
  start: u64;
  len: u64;
  mode: u64;
}
/** struct uffdio_continue (32 bytes): range, mode, out-field `mapped` at 24. */
@unmanaged export class uffdio_continue {
  start: u64;
  len: u64;
  mode: u64;
  mapped: i64;
}
/** struct uffdio_move (40 bytes): dst, src, len, mode, out-field `move` at 32. */
@unmanaged export class uffdio_move {
  dst: u64;
  src: u64;
  len: u64;
  mode: u64;
  move: i64;
}
/** struct uffdio_poison (32 bytes): range, mode, out-field `updated` at 24. */
@unmanaged export class uffdio_poison {
  start: u64;
  len: u64;
  mode: u64;
  updated: i64;
}

// ---- poll ------------------------------------------------------------------------------------
export const POLLIN: i32 = 0x0001;
export const POLLPRI: i32 = 0x0002;
export const POLLOUT: i32 = 0x0004;
export const POLLERR: i32 = 0x0008;
export const POLLHUP: i32 = 0x0010;
export const POLLNVAL: i32 = 0x0020;
export const POLLRDNORM: i32 = 0x0040;
export const POLLWRNORM: i32 = 0x0100;
/** DEFAULT_POLLMASK: what a file without ->poll reports. */
export const DEFAULT_POLLMASK: i32 = 0x0145;
@unmanaged export class pollfd {
  fd: i32;
  events: i16;
  revents: i16;
}

// ---- lseek whence ----
export const SEEK_SET: u32 = 0;
export const SEEK_CUR: u32 = 1;
export const SEEK_END: u32 = 2;
export const SEEK_DATA: u32 = 3;
export const SEEK_HOLE: u32 = 4;
export const SEEK_MAX: u32 = 4;
