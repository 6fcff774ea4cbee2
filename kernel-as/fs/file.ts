// struct file lifetime and the fd table (fs/file.c, fs/file_table.c).
import { CACHE_FILE, CACHE_FILES } from "../init/state";
import { kmem_cache_alloc, kmem_cache_free } from "../mm/slab";
import { alloc_kernel_page, free_page, page_address, virt_to_page } from "../mm/page_alloc";
import { file, inode } from "./types";
import { files_struct, FILES_CLOEXEC_OFFSET } from "../kernel/types";
import { EBADF, EMFILE } from "../abi/errno";
import { NR_OPEN_DEFAULT } from "../abi/uapi";
import { iput } from "./inode";
import { f_op_release, file_has_private } from "./file_ops";
import { VM_BUG_ON } from "../lib/bug";

// @ts-ignore: decorator
@inline export function FILE(p: u32): file { return changetype<file>(<usize>p); }
// @ts-ignore: decorator
@inline export function file_inode(f: file): inode { return changetype<inode>(<usize>f.f_inode); }

/** A new file with one reference, or null (ENOMEM). Takes over the caller's inode reference. */
export function alloc_file(kind: u32, ino: inode | null, flags: u32, mode: u32): file | null {
  let p = kmem_cache_alloc(CACHE_FILE);
  if (p == 0) return null;
  let f = changetype<file>(p);
  f.f_kind = kind;
  f.f_flags = flags;
  f.f_mode = mode;
  f.f_count = 1;
  f.f_inode = ino ? changetype<u32>(ino) : 0;
  return f;
}

// @ts-ignore: decorator
@inline export function get_file(f: file): void { f.f_count++; }

/** Drop a reference; the last one releases the file (__fput). */
export function fput(f: file): void {
  VM_BUG_ON(f.f_count <= 0);
  if (--f.f_count > 0) return;
  f_op_release(f);
  let ino = f.f_inode;
  kmem_cache_free(CACHE_FILE, changetype<usize>(f));
  if (ino) iput(changetype<inode>(<usize>ino));
}

// ---- fd tables -------------------------------------------------------------------------

// @ts-ignore: decorator
@inline function fd_slot(fs: files_struct, fd: i32): usize {
  return <usize>fs.fd_array + (<usize>fd << 2);
}

export function files_alloc(): files_struct | null {
  let p = kmem_cache_alloc(CACHE_FILES);
  if (p == 0) return null;
  let pg = alloc_kernel_page();
  if (!pg) {
    kmem_cache_free(CACHE_FILES, p);
    return null;
  }
  let fs = changetype<files_struct>(p);
  fs.count = 1;
  fs.fd_array = <u32>page_address(pg);
  fs.next_fd = 0;
  return fs;
}

/** dup_fd: a copy of `old` for a forked child; every open file gains a reference. */
export function files_dup(old: files_struct): files_struct | null {
  let fs = files_alloc();
  if (!fs) return null;
  for (let fd = 0; fd < NR_OPEN_DEFAULT; fd++) {
    // A slot reserved by a call still under way stays free in the copy (dup_fd).
    let f = load<u32>(fd_slot(old, fd));
    if (f <= FD_RESERVED) continue;
    get_file(FILE(f));
    store<u32>(fd_slot(fs, fd), f);
  }
  memory.copy(changetype<usize>(fs) + FILES_CLOEXEC_OFFSET, changetype<usize>(old) + FILES_CLOEXEC_OFFSET, NR_OPEN_DEFAULT / 8);
  fs.next_fd = old.next_fd;
  return fs;
}

/** Drop a reference to the table; the last one closes every fd. */
export function files_put(fs: files_struct): void {
  if (--fs.count > 0) return;
  for (let fd = 0; fd < NR_OPEN_DEFAULT; fd++) {
    let f = load<u32>(fd_slot(fs, fd));
    if (f <= FD_RESERVED) continue;
    store<u32>(fd_slot(fs, fd), 0);
    fput(FILE(f));
  }
  free_page(virt_to_page(<usize>fs.fd_array));
  kmem_cache_free(CACHE_FILES, changetype<usize>(fs));
}

export function set_close_on_exec(fs: files_struct, fd: i32, on: bool): void {
  let w = changetype<usize>(fs) + FILES_CLOEXEC_OFFSET + (<usize>(fd >> 5) << 2);
  let bit: u32 = 1 << <u32>(fd & 31);
  store<u32>(w, on ? load<u32>(w) | bit : load<u32>(w) & ~bit);
}

export function get_close_on_exec(fs: files_struct, fd: i32): bool {
  let w = changetype<usize>(fs) + FILES_CLOEXEC_OFFSET + (<usize>(fd >> 5) << 2);
  return (load<u32>(w) & (1 << <u32>(fd & 31))) != 0;
}

// An fd is made in two steps, as in Linux: get_unused_fd_flags / alloc_fd reserve the lowest
// free slot (FD_RESERVED: taken, no file yet), the caller builds its object and its file, and
// fd_install puts the file there, which cannot fail. A caller that fails after the reservation
// gives the slot back with put_unused_fd. So a full table is EMFILE before anything is made,
// and no half-made file ever reaches fput.

/** The mark of a reserved slot (no struct file is at address 1). fget sees no file there. */
const FD_RESERVED: u32 = 1;

/** alloc_fd: reserve the lowest free fd >= `start` (close-on-exec as asked), or -EMFILE. */
export function alloc_fd(fs: files_struct, start: i32, cloexec: bool): i32 {
  let fd = start < fs.next_fd ? fs.next_fd : start;
  for (; fd < NR_OPEN_DEFAULT; fd++) {
    if (load<u32>(fd_slot(fs, fd)) != 0) continue;
    store<u32>(fd_slot(fs, fd), FD_RESERVED);
    set_close_on_exec(fs, fd, cloexec);
    if (start <= fs.next_fd) fs.next_fd = fd + 1;
    return fd;
  }
  return -EMFILE;
}

/**
 * For the invariant checker: the first fd of `fs` that is still reserved (no call is under
 * way when it runs) or holds a file that is not whole (no reference, or a userfaultfd, VM or
 * guest_memfd file without its object); -1 if there is none.
 */
export function fd_table_check(fs: files_struct): i32 {
  for (let fd = 0; fd < NR_OPEN_DEFAULT; fd++) {
    let p = load<u32>(fd_slot(fs, fd));
    if (p == 0) continue;
    if (p == FD_RESERVED) return fd;
    let f = FILE(p);
    if (f.f_count < 1) return fd;
    if (file_has_private(f) && f.private_data == 0) return fd;
  }
  return -1;
}

/** get_unused_fd_flags: reserve the lowest free fd, or -EMFILE. */
export function get_unused_fd_flags(fs: files_struct, cloexec: bool): i32 {
  return alloc_fd(fs, 0, cloexec);
}

/** put_unused_fd: give back a reserved fd that no file was installed at. */
export function put_unused_fd(fs: files_struct, fd: i32): void {
  store<u32>(fd_slot(fs, fd), 0);
  set_close_on_exec(fs, fd, false);
  if (fd < fs.next_fd) fs.next_fd = fd;
}

/** fd_install: put `f` at the reserved `fd` (the table takes the caller's reference). */
export function fd_install(fs: files_struct, fd: i32, f: file): void {
  store<u32>(fd_slot(fs, fd), changetype<u32>(f));
}

/** The file at `fd` without taking a reference (the big kernel lock keeps it alive). */
export function fget(fs: files_struct, fd: i64): file | null {
  if (fd < 0 || fd >= NR_OPEN_DEFAULT) return null;
  let f = load<u32>(fd_slot(fs, <i32>fd));
  return f <= FD_RESERVED ? null : FILE(f);
}

/** close(2): remove the fd and drop its reference. */
export function close_fd(fs: files_struct, fd: i64): i32 {
  let f = fget(fs, fd);
  if (!f) return -EBADF;
  store<u32>(fd_slot(fs, <i32>fd), 0);
  set_close_on_exec(fs, <i32>fd, false);
  if (<i32>fd < fs.next_fd) fs.next_fd = <i32>fd;
  fput(f);
  return 0;
}
