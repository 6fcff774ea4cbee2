// A simulated process: typed system calls (Linux names, numbers and errno), its threads,
// and debug views. Each method is a thin marshalling layer over Thread.syscall; all
// policy lives in the kernel.
import * as A from "./abi.gen.js";
import type { Kernel } from "./kernel.js";
import { SystemError, WouldBlockError } from "./errors.js";
import { Thread, waitForTimeout, type Num } from "./thread.js";
import { readVmas, formatMaps, type VmaInfo } from "./debug/maps.js";
import { Userfaultfd } from "./fd/userfaultfd.js";

/** The fields of struct stat that {@link Process.fstat} returns (fstat(2)). */
export interface Stat {
  /** st_dev: the device the file lives on. */
  dev: bigint;
  /** st_ino: the inode number. */
  ino: bigint;
  /** st_nlink: the number of hard links. */
  nlink: bigint;
  /** st_mode: file type and permission bits (S_IFREG, S_IFIFO, ... and 0o777). */
  mode: number;
  /** st_uid: the owner's user id. */
  uid: number;
  /** st_gid: the owner's group id. */
  gid: number;
  /** st_size: the size in bytes (of a memfd: its length, as ftruncate set it). */
  size: bigint;
  /** st_blksize: the preferred I/O block size, in bytes. */
  blksize: bigint;
  /** st_blocks: 512-byte blocks allocated to the file. */
  blocks: bigint;
}

const enc = new TextEncoder();
/** pagemap entry bit 63: the page is present (see {@link Process.pagemap}). */
export const PM_PRESENT = 1n << 63n;
/** pagemap entry bit 57: the PTE is uffd-wp write-protected, or a uffd-wp marker (see {@link Process.pagemap}). */
export const PM_UFFD_WP = 1n << 57n;

/**
 * A simulated process: an address space, an fd table and its threads. Its methods are the
 * Linux system calls of the same names, made on the main thread: they return the call's
 * result and throw SystemError (`code` the errno name, e.g. "EINVAL"; `syscall` the call's
 * name) when it fails. Addresses and lengths are {@link Num}s (bytes). Methods that pass a
 * buffer (write, pread, ...) go through the thread's bounce page: at most `abi.BOUNCE_SIZE`
 * (4096) bytes per call, else RangeError. Get one from Kernel.spawn, fork or Kernel.adopt;
 * Disposable: `using p = k.spawn()` exits it.
 */
export class Process {
  /** The main thread (tid == pid); system calls made on the process use it. */
  readonly thread: Thread;
  /** Every Thread object made for this process: the main thread, then those of newThread. */
  readonly threads: Thread[] = [];
  /** Set once {@link Process.exit} (or dispose) ended the process. */
  exited = false;

  /** The process `pid` (its main thread's handle, when known). */
  constructor(
    /** The kernel the process lives in. */
    readonly kernel: Kernel,
    /** The process id (the main thread's tid). */
    readonly pid: number,
    handle?: number,
  ) {
    this.thread = new Thread(kernel, pid, pid, handle);
    this.threads.push(this.thread);
  }

  /** Another thread in this process (shares the address space and fd table). */
  newThread(): Thread {
    const h = this.kernel.exports.thread_create(this.thread.handle);
    if (h < 0) throw new SystemError(-h, "clone");
    const t = new Thread(this.kernel, h % 65536, this.pid, h);
    this.threads.push(t);
    return t;
  }

  private call(name: string, nr: number, ...args: Num[]): bigint {
    return this.kernel.syscallOrThrow(this.thread, name, nr, args);
  }

  /** A raw system call on the main thread: value or -errno, never throws. */
  syscall(nr: Num, ...args: Num[]): bigint {
    return this.thread.syscall(nr, ...args);
  }

  // ---- memory ----

  /**
   * mmap(2): map `len` bytes at `addr` (a hint, or the place with MAP_FIXED) with `prot`
   * (PROT_*) and `flags` (MAP_*), of file `fd` at `offset` (-1 and 0 for anonymous memory).
   * Returns the mapping's address.
   */
  mmap(addr: Num, len: Num, prot: number, flags: number, fd: Num = -1, offset: Num = 0): number {
    return Number(this.call("mmap", A.__NR_mmap, addr, len, prot, flags, fd, offset));
  }
  /** munmap(2): unmap the pages of [addr, addr + len). */
  munmap(addr: Num, len: Num): void { this.call("munmap", A.__NR_munmap, addr, len); }
  /** mprotect(2): set the protection (PROT_*) of the pages of [addr, addr + len). */
  mprotect(addr: Num, len: Num, prot: number): void { this.call("mprotect", A.__NR_mprotect, addr, len, prot); }
  /**
   * mremap(2): resize the mapping at `addr` from `oldLen` to `newLen` bytes (MREMAP_MAYMOVE,
   * MREMAP_FIXED with `newAddr`, MREMAP_DONTUNMAP). Returns the mapping's (new) address.
   */
  mremap(addr: Num, oldLen: Num, newLen: Num, flags: number, newAddr: Num = 0): number {
    return Number(this.call("mremap", A.__NR_mremap, addr, oldLen, newLen, flags, newAddr));
  }
  /** mlock(2): lock the pages of [addr, addr + len) in memory, faulting them in. */
  mlock(addr: Num, len: Num): void { this.call("mlock", A.__NR_mlock, addr, len); }
  /** mlock2(2): mlock with `flags` (MLOCK_ONFAULT: lock pages as they fault in). */
  mlock2(addr: Num, len: Num, flags: number): void { this.call("mlock2", A.__NR_mlock2, addr, len, flags); }
  /** munlock(2): unlock the pages of [addr, addr + len). */
  munlock(addr: Num, len: Num): void { this.call("munlock", A.__NR_munlock, addr, len); }
  /** mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT): lock every mapping, now and/or to come. */
  mlockall(flags: number): void { this.call("mlockall", A.__NR_mlockall, flags); }
  /** munlockall(2): unlock every mapping and clear mlockall's MCL_FUTURE. */
  munlockall(): void { this.call("munlockall", A.__NR_munlockall); }
  /** madvise(2): give `advice` (MADV_DONTNEED, MADV_REMOVE, ...) for [addr, addr + len). */
  madvise(addr: Num, len: Num, advice: number): void { this.call("madvise", A.__NR_madvise, addr, len, advice); }

  // ---- files ----

  /** memfd_create(name, flags): the fd. The name is passed through the staging window. */
  memfdCreate(name: string, flags = 0): number {
    const bytes = enc.encode(name);
    if (bytes.length + 1 > A.BOUNCE_SIZE) throw new RangeError("memfd name too long for the staging page");
    const z = new Uint8Array(bytes.length + 1);
    z.set(bytes);
    return Number(this.call("memfd_create", A.__NR_memfd_create, this.thread.stage(z), flags));
  }
  /** open(path, flags): only /proc/self/fd/N (reopen a memfd with other access flags) exists. */
  open(path: string, flags = 0): number {
    const bytes = enc.encode(path);
    if (bytes.length + 1 > A.BOUNCE_SIZE) throw new RangeError("path too long for the staging page");
    const z = new Uint8Array(bytes.length + 1);
    z.set(bytes);
    return Number(this.call("open", A.__NR_open, this.thread.stage(z), flags, 0));
  }
  /** ftruncate(2): set file `fd`'s size to `length` bytes. */
  ftruncate(fd: Num, length: Num): void { this.call("ftruncate", A.__NR_ftruncate, fd, length); }
  /** fallocate(2): allocate, or with FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE free, `len` bytes of `fd` at `offset`. */
  fallocate(fd: Num, mode: number, offset: Num, len: Num): void { this.call("fallocate", A.__NR_fallocate, fd, mode, offset, len); }
  /** close(2): close file descriptor `fd`. */
  close(fd: Num): void { this.call("close", A.__NR_close, fd); }
  /** lseek(2): move `fd`'s file offset (`whence`: SEEK_SET, SEEK_CUR, SEEK_END); returns the new offset. */
  lseek(fd: Num, offset: Num, whence: number): bigint { return this.call("lseek", A.__NR_lseek, fd, offset, whence); }
  /** dup(2): a new fd (the lowest free) for the same open file. */
  dup(fd: Num): number { return Number(this.call("dup", A.__NR_dup, fd)); }
  /** fcntl(2): command `cmd` (F_GETFL, F_SETFL, F_DUPFD, F_ADD_SEALS, ...) on `fd`; returns the call's value. */
  fcntl(fd: Num, cmd: number, arg: Num = 0): number { return Number(this.call("fcntl", A.__NR_fcntl, fd, cmd, arg)); }

  /** fstat(2): the file's status (see {@link Stat}). */
  fstat(fd: Num): Stat {
    this.call("fstat", A.__NR_fstat, fd, A.HOST_STAGING_BASE);
    const b = this.thread.bounce;
    const dv = new DataView(b.buffer, b.byteOffset, A.stat.SIZEOF);
    return {
      dev: dv.getBigUint64(A.stat.st_dev, true),
      ino: dv.getBigUint64(A.stat.st_ino, true),
      nlink: dv.getBigUint64(A.stat.st_nlink, true),
      mode: dv.getUint32(A.stat.st_mode, true),
      uid: dv.getUint32(A.stat.st_uid, true),
      gid: dv.getUint32(A.stat.st_gid, true),
      size: dv.getBigInt64(A.stat.st_size, true),
      blksize: dv.getBigInt64(A.stat.st_blksize, true),
      blocks: dv.getBigInt64(A.stat.st_blocks, true),
    };
  }

  /** pipe2(flags): [read end, write end]. */
  pipe(flags = 0): [number, number] {
    this.call("pipe2", A.__NR_pipe2, A.HOST_STAGING_BASE, flags);
    const dv = new DataView(this.thread.bounce.buffer, this.thread.bounce.byteOffset, 8);
    return [dv.getInt32(0, true), dv.getInt32(4, true)];
  }

  /** write(fd, data) through the staging window (at most one bounce page per call). */
  write(fd: Num, data: Uint8Array): number {
    if (data.length > A.BOUNCE_SIZE) throw new RangeError("write: at most BOUNCE_SIZE bytes per call; write from user memory with syscall()");
    return Number(this.call("write", A.__NR_write, fd, this.thread.stage(data), data.length));
  }
  /** pwrite64(2): write `data` (at most BOUNCE_SIZE bytes) to `fd` at `offset`; returns the bytes written. */
  pwrite(fd: Num, data: Uint8Array, offset: Num): number {
    if (data.length > A.BOUNCE_SIZE) throw new RangeError("pwrite: at most BOUNCE_SIZE bytes per call");
    return Number(this.call("pwrite64", A.__NR_pwrite64, fd, this.thread.stage(data), data.length, offset));
  }
  /** read(2): up to `len` (at most BOUNCE_SIZE) bytes from `fd`; returns a copy of those read. */
  read(fd: Num, len: number): Uint8Array {
    if (len > A.BOUNCE_SIZE) throw new RangeError("read: at most BOUNCE_SIZE bytes per call");
    const n = Number(this.call("read", A.__NR_read, fd, A.HOST_STAGING_BASE, len));
    return this.thread.bounce.slice(0, n);
  }
  /** pread64(2): up to `len` (at most BOUNCE_SIZE) bytes from `fd` at `offset`; returns a copy of those read. */
  pread(fd: Num, len: number, offset: Num): Uint8Array {
    if (len > A.BOUNCE_SIZE) throw new RangeError("pread: at most BOUNCE_SIZE bytes per call");
    const n = Number(this.call("pread64", A.__NR_pread64, fd, A.HOST_STAGING_BASE, len, offset));
    return this.thread.bounce.slice(0, n);
  }

  // ---- ioctl and userfaultfd ----

  /**
   * ioctl(fd, request, bytes): the argument structure's exact bytes go in through the staging
   * window; returns the raw result (value or -errno) and the structure as the kernel left it.
   */
  ioctl(fd: Num, request: number, bytes: Uint8Array, t: Thread = this.thread): {
    /** The raw result: the ioctl's value, or -errno (no SystemError is thrown). */
    ret: bigint;
    /** A copy of the argument structure after the call (out fields filled in). */
    bytes: Uint8Array;
  } {
    const ptr = t.stage(bytes);
    const ret = t.syscall(A.__NR_ioctl, fd, request, ptr);
    return { ret, bytes: t.bounce.slice(0, bytes.length) };
  }

  /**
   * poll(fds, timeout): the revents of each entry. Timeout 0 polls once, a negative one waits
   * until an entry is ready, a positive one at most that many milliseconds (the host keeps the
   * time: kernel-as/fs/select.ts). On a thread in "throw" wait mode (the default) a positive
   * timeout blocks the JS thread for up to the timeout (a browser main thread, which cannot
   * block, times out at once); a negative one throws WouldBlockError when it would wait.
   */
  poll(fds: { fd: number; events: number }[], timeout = 0, t: Thread = this.thread): number[] {
    const b = new Uint8Array(fds.length * A.pollfd.SIZEOF);
    const dv = new DataView(b.buffer);
    fds.forEach((p, i) => {
      dv.setInt32(i * A.pollfd.SIZEOF + A.pollfd.fd, p.fd, true);
      dv.setInt16(i * A.pollfd.SIZEOF + A.pollfd.events, p.events, true);
    });
    let r: bigint;
    for (;;) {
      try {
        r = t.syscall(A.__NR_poll, t.stage(b), fds.length, timeout);
        break;
      } catch (e) {
        if (!(e instanceof WouldBlockError) || t.waitTimeoutMs() < 0 || t.scheduled) throw e;
        waitForTimeout(t);
      }
    }
    if (r < 0n) throw new SystemError(Number(-r), "poll");
    const out = new DataView(t.bounce.buffer, t.bounce.byteOffset, b.length);
    return fds.map((_, i) => out.getInt16(i * A.pollfd.SIZEOF + A.pollfd.revents, true));
  }

  /** userfaultfd(flags): a Userfaultfd serving this process's address space. */
  userfaultfd(flags = 0): Userfaultfd {
    return new Userfaultfd(this, Number(this.call("userfaultfd", A.__NR_userfaultfd, flags)));
  }

  // ---- processes ----

  /** fork(): the child process (its memory is a copy-on-write copy of this one's). */
  fork(): Process {
    const pid = Number(this.call("fork", A.__NR_fork));
    return this.kernel.adopt(pid);
  }

  /** exit_group(code): every thread ends, the address space and fds go. */
  exit(code = 0): void {
    if (this.exited) return;
    this.kernel.syscallRaw(this.thread, A.__NR_exit_group, [code]);
    this.exited = true;
    this.kernel.released(this.pid);
  }

  /** Exit the process with code 0, as {@link Process.exit} (for `using`). */
  [Symbol.dispose](): void { this.exit(0); }

  // ---- debug ----

  /**
   * /proc/<pid>/fdinfo/<fd>: the file-specific lines (for a userfaultfd `pending`, `total` and
   * `API`, as fs/userfaultfd.c userfaultfd_show_fdinfo; "" for other files). Throws EBADF for a closed fd.
   */
  fdinfo(fd: number): string {
    const n = this.kernel.exports.proc_fdinfo(this.thread.handle, fd);
    if (n < 0) throw new SystemError(-n, "fdinfo");
    return new TextDecoder().decode(this.thread.bounce.subarray(0, n));
  }

  /**
   * The /proc/<pid>/pagemap entry of the page at `addr`, as Linux encodes it for an
   * unprivileged reader: bit 63 present, bit 57 uffd-wp (a protected PTE or a uffd-wp marker);
   * no PFN.
   */
  pagemap(addr: number): bigint {
    const r = this.kernel.exports.proc_pagemap(this.thread.handle, addr);
    if (r < 0) throw new SystemError(-r, "pagemap");
    return (r & 1 ? PM_PRESENT : 0n) | (r & 2 ? PM_UFFD_WP : 0n);
  }

  /**
   * The state of `pages` pages from `addr` (page aligned), one byte each: `abi.PAGE_STATE_NONE`
   * (no PTE, nothing cached), `_ZERO` (the zero page), `_PRESENT`, `_CACHED` (no PTE, the file's
   * page cache holds it), `_WP` (uffd-wp PTE or marker), `_POISONED` (UFFDIO_POISON marker) — what
   * pagemap, mincore and the PTE markers say together. A bulk view for visualisers: it reads
   * through `thread`'s bounce page, BOUNCE_SIZE pages per kernel call, and never faults.
   */
  pageStates(addr: number, pages: number, thread: Thread = this.thread): Uint8Array {
    if (!Number.isSafeInteger(pages) || pages < 0) throw new RangeError(`pages must be a non-negative integer, got ${pages}`);
    const out = new Uint8Array(pages);
    for (let i = 0; i < pages; i += A.BOUNCE_SIZE) {
      const n = Math.min(A.BOUNCE_SIZE, pages - i);
      const r = this.kernel.exports.proc_page_states(thread.handle, addr + i * 4096, n);
      if (r < 0) throw new SystemError(-r, "page_states");
      out.set(thread.bounce.subarray(0, n), i);
    }
    return out;
  }

  /**
   * The VMAs, as records: /proc/<pid>/maps, or /proc/<pid>/task/<tid>/maps for `thread`. As on
   * Linux, after the main thread's exit(2) /proc/<pid>/maps reads empty while other threads
   * live (the zombie leader has no mm); a live thread's view still shows the address space.
   */
  vmas(thread: Thread = this.thread): VmaInfo[] { return readVmas(this.kernel, thread); }
  /** /proc/<pid>/maps text (/proc/<pid>/task/<tid>/maps for `thread`). */
  maps(thread: Thread = this.thread): string { return formatMaps(this.vmas(thread)); }
}
