// Pipes (fs/pipe.c), small: a one-page ring buffer in a struct pipe_inode_info (the inode's
// i_private, Linux's inode->i_pipe) with Linux's wait queues rd_wait and wr_wait. Readers and
// pollers of the read end wait on rd_wait (woken by a write and by the last writer's close),
// writers and pollers of the write end on wr_wait (woken by a read and by the last reader's
// close). A blocking read of an empty pipe with writers, and a blocking write that does not fit,
// wait there (kernel/wait.ts); O_NONBLOCK gives EAGAIN instead.
import { alloc_kernel_page, free_page, page_address, virt_to_page } from "../mm/page_alloc";
import { kmem_cache_alloc, kmem_cache_free } from "../mm/slab";
import { CACHE_SMALL } from "../init/state";
import { file, inode, FMODE_READ } from "./types";
import { PAGE_SIZE, POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDNORM, POLLWRNORM } from "../abi/uapi";
import { EAGAIN, EPIPE } from "../abi/errno";
import { wake_up } from "../kernel/wait";

/** The buffer holds one page; writes of up to PIPE_BUF bytes are atomic. */
export const PIPE_BUF: u32 = <u32>PAGE_SIZE;

//   rd_wait, wr_wait   wait queue heads (kernel/wait.ts)
//   readers, writers   open read / write ends
//   head               ring offset of the first buffered byte
//   len                bytes buffered
//   buf                the ring page (kernel address)
@unmanaged export class pipe_inode_info {
  rd_wait: u32;
  wr_wait: u32;
  readers: u32;
  writers: u32;
  head: u32;
  len: u32;
  buf: u32;
}

// @ts-ignore: decorator
@inline export function PIPE(ino: inode): pipe_inode_info { return changetype<pipe_inode_info>(<usize>ino.i_private); }
// @ts-ignore: decorator
@inline export function pipe_rd_wait(pipe: pipe_inode_info): usize { return changetype<usize>(pipe) + offsetof<pipe_inode_info>("rd_wait"); }
// @ts-ignore: decorator
@inline export function pipe_wr_wait(pipe: pipe_inode_info): usize { return changetype<usize>(pipe) + offsetof<pipe_inode_info>("wr_wait"); }

export function pipe_init_inode(ino: inode): bool {
  let p = kmem_cache_alloc(CACHE_SMALL);
  if (p == 0) return false;
  let pg = alloc_kernel_page();
  if (!pg) {
    kmem_cache_free(CACHE_SMALL, p);
    return false;
  }
  let pipe = changetype<pipe_inode_info>(p);
  pipe.rd_wait = 0;
  pipe.wr_wait = 0;
  pipe.readers = 1;
  pipe.writers = 1;
  pipe.head = 0;
  pipe.len = 0;
  pipe.buf = <u32>page_address(pg);
  ino.i_private = <u32>p;
  return true;
}

export function pipe_evict_inode(ino: inode): void {
  if (!ino.i_private) return;
  let pipe = PIPE(ino);
  free_page(virt_to_page(<usize>pipe.buf));
  kmem_cache_free(CACHE_SMALL, changetype<usize>(pipe));
  ino.i_private = 0;
}

/** A pipe end goes away: count down readers or writers and wake both sides (pipe_release). */
export function pipe_release(f: file): void {
  let pipe = PIPE(changetype<inode>(<usize>f.f_inode));
  if (f.f_mode & FMODE_READ) pipe.readers--;
  else pipe.writers--;
  wake_up(pipe_rd_wait(pipe));
  wake_up(pipe_wr_wait(pipe));
}

/** pipe_poll: the read end is readable with data, hung up without writers; the write end writable with room, in error without readers. */
export function pipe_poll(f: file): i32 {
  let pipe = PIPE(changetype<inode>(<usize>f.f_inode));
  if (f.f_mode & FMODE_READ) return (pipe.len > 0 ? POLLIN | POLLRDNORM : 0) | (pipe.writers == 0 ? POLLHUP : 0);
  return (pipe.len < <u32>PAGE_SIZE ? POLLOUT | POLLWRNORM : 0) | (pipe.readers == 0 ? POLLERR : 0);
}

/**
 * Copy up to `len` buffered bytes to `dst` (kernel address) without consuming them: the
 * caller consumes with pipe_consume once the bytes reached the user (a copy that faults
 * must not lose data). Returns bytes, 0 at end of file, or -EAGAIN (empty, writers open).
 */
export function pipe_peek(pipe: pipe_inode_info, dst: usize, len: u32): i32 {
  let avail = pipe.len;
  if (avail == 0) return pipe.writers == 0 ? 0 : -EAGAIN;
  let n = len < avail ? len : avail;
  let head = pipe.head;
  for (let i: u32 = 0; i < n; i++) {
    store<u8>(dst + i, load<u8>(<usize>pipe.buf + ((head + i) & (PAGE_SIZE - 1))));
  }
  return <i32>n;
}

/** Drop `n` bytes from the front of the buffer (after a pipe_peek): room for writers. */
export function pipe_consume(pipe: pipe_inode_info, n: u32): void {
  pipe.head = (pipe.head + n) & (PAGE_SIZE - 1);
  pipe.len -= n;
  wake_up(pipe_wr_wait(pipe));
}

/**
 * Append `len` bytes from `src` (kernel address): -EPIPE without readers; a write of up to
 * PIPE_BUF bytes goes in whole or not at all (-EAGAIN: not enough room now).
 */
export function pipe_write(pipe: pipe_inode_info, src: usize, len: u32): i32 {
  if (pipe.readers == 0) return -EPIPE;
  let room = <u32>PAGE_SIZE - pipe.len;
  if (room < len) return -EAGAIN;
  let tail = pipe.head + pipe.len;
  for (let i: u32 = 0; i < len; i++) {
    store<u8>(<usize>pipe.buf + ((tail + i) & (PAGE_SIZE - 1)), load<u8>(src + i));
  }
  pipe.len += len;
  wake_up(pipe_rd_wait(pipe));
  return <i32>len;
}
