// Pipes (fs/pipe.c), minimal: a one-page ring buffer, never blocking (an empty read or a
// full write returns EAGAIN). They exist so that programs can hold an fd that is not
// mappable, truncatable or seekable, and get Linux's errno for trying.
import { alloc_kernel_page, free_page, page_address, virt_to_page } from "../mm/page_alloc";
import { file, inode } from "./types";
import { PAGE_SIZE } from "../abi/uapi";
import { EAGAIN, EPIPE } from "../abi/errno";

// inode.i_private = buffer frame; i_private2 = readers << 16 | writers;
// inode.i_size = bytes buffered; f_pos of the inode's ring: head kept in nrpages.

export function pipe_init_inode(ino: inode): bool {
  let p = alloc_kernel_page();
  if (!p) return false;
  ino.i_private = <u32>page_address(p);
  ino.i_private2 = (1 << 16) | 1;
  return true;
}

export function pipe_evict_inode(ino: inode): void {
  if (ino.i_private) free_page(virt_to_page(<usize>ino.i_private));
  ino.i_private = 0;
}

/** A pipe end goes away: count down readers or writers. */
export function pipe_release(f: file): void {
  let ino = changetype<inode>(<usize>f.f_inode);
  if (f.f_mode & 1) ino.i_private2 -= 1 << 16;
  else ino.i_private2 -= 1;
}

/**
 * Copy up to `len` buffered bytes to `dst` (kernel address) without consuming them: the
 * caller consumes with pipe_consume once the bytes reached the user (a copy that faults
 * must not lose data). Returns bytes, 0 at end of file, or -EAGAIN.
 */
export function pipe_peek(ino: inode, dst: usize, len: u32): i32 {
  let avail = <u32>ino.i_size;
  if (avail == 0) return (ino.i_private2 & 0xffff) == 0 ? 0 : -EAGAIN;
  let n = len < avail ? len : avail;
  let head = ino.nrpages;
  for (let i: u32 = 0; i < n; i++) {
    store<u8>(dst + i, load<u8>(<usize>ino.i_private + ((head + i) & (PAGE_SIZE - 1))));
  }
  return <i32>n;
}

/** Drop `n` bytes from the front of the buffer (after a pipe_peek). */
export function pipe_consume(ino: inode, n: u32): void {
  ino.nrpages = (ino.nrpages + n) & (PAGE_SIZE - 1);
  ino.i_size -= n;
}

export function pipe_write(ino: inode, src: usize, len: u32): i32 {
  if ((ino.i_private2 >> 16) == 0) return -EPIPE;
  let used = <u32>ino.i_size;
  let room = <u32>PAGE_SIZE - used;
  if (room == 0) return -EAGAIN;
  let n = len < room ? len : room;
  let tail = ino.nrpages + used;
  for (let i: u32 = 0; i < n; i++) {
    store<u8>(<usize>ino.i_private + ((tail + i) & (PAGE_SIZE - 1)), load<u8>(src + i));
  }
  ino.i_size += n;
  return <i32>n;
}
