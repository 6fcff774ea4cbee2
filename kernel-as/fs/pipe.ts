// Pipes (fs/pipe.c). A struct pipe_inode_info (the inode's i_private, Linux's inode->i_pipe)
// holds a ring of struct pipe_buffer slots, each a page frame with an offset and a length, and
// Linux's wait queues rd_wait and wr_wait.
//
// Sizes: PIPE_DEF_BUFFERS (16) slots by default; F_SETPIPE_SZ rounds to a power of two of pages
// (round_pipe_size), refuses a size above pipe-max-size (1 MiB, fixed) without CAP_SYS_RESOURCE
// and a ring too small for the slots in use (EBUSY). The slots of all pipes are accounted to
// the one simulated user (kernel_state.pipe_user_bufs): past pipe-user-pages-soft (16384) a
// task without CAP_SYS_RESOURCE or CAP_SYS_ADMIN gets new pipes of 2 slots and cannot grow
// one (EPERM), as Linux's too_many_pipe_buffers_soft; pipe-user-pages-hard is unset.
//
// A write first appends its last `count % PAGE_SIZE` bytes' worth to the last buffer when they
// fit there (pipe_buf_can_merge: small writes share a page), then fills one new page per slot,
// and a slot goes into the ring only once its page is copied whole (6.15+). A blocking write
// waits on wr_wait for a free slot as often as needed until every byte is written; O_NONBLOCK
// writes what fits (EAGAIN if nothing). So a write of up to PIPE_BUF bytes goes in whole or
// not at all. A read takes what is buffered, up to its count, and waits on rd_wait only while
// it has nothing. A source or destination byte that faults ends the call with the bytes moved
// before the page that faulted (EFAULT if none); the bytes of a copied-in page that faulted
// part way are dropped.
//
// pipe->mutex: nothing sleeps inside the kernel, so the mutex is only visible while a read or
// write waits for a userfault on its user buffer (Linux sleeps in the fault holding it). That
// task then owns the pipe (`mutex`), with the page it is filling and the bytes of the current
// page already copied; other reads, writes, FIONREAD and F_{GET,SET}PIPE_SZ wait on
// `mutex_wait` until the owner's reissue completes the copy or it abandons the call
// (pipe_mutex_abandon). Waits for data or room release it, as pipe_read / pipe_write unlock
// before sleeping. Reissues resume where the call stopped (RESTART_RW, restart_a = bytes moved).
import { alloc_page, alloc_kernel_page, free_page, page_address, virt_to_page, PG_kernel } from "../mm/page_alloc";
import { kmem_cache_alloc, kmem_cache_free } from "../mm/slab";
import { CACHE_SMALL, K } from "../init/state";
import { file, inode, FMODE_READ } from "./types";
import { PAGE_SIZE, POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDNORM, POLLWRNORM, O_NONBLOCK, F_SETPIPE_SZ, F_GETPIPE_SZ } from "../abi/uapi";
import { CAP_SYS_RESOURCE, CAP_SYS_ADMIN } from "../abi/kernel";
import { EAGAIN, EPIPE, EFAULT, ENOMEM, EINVAL, EPERM, EBUSY, ERESTARTSYS } from "../abi/errno";
import { wake_up, add_wait_queue, set_task_waiting, WQ_REF_INODE } from "../kernel/wait";
import { task_struct, RESTART_RW } from "../kernel/types";
import { copy_from_user, copy_to_user, copy_user_partial } from "../mm/uaccess";

/** Writes of up to PIPE_BUF bytes are atomic. */
export const PIPE_BUF: u32 = <u32>PAGE_SIZE;
export const PIPE_DEF_BUFFERS: u32 = 16;
const PIPE_MIN_DEF_BUFFERS: u32 = 2;
/** /proc/sys/fs/pipe-max-size (its default; not settable here) */
export const PIPE_MAX_SIZE: u32 = 1048576;
/** /proc/sys/fs/pipe-user-pages-soft: PIPE_DEF_BUFFERS * INR_OPEN_CUR */
const PIPE_USER_PAGES_SOFT: u32 = PIPE_DEF_BUFFERS * 1024;
/** rw_verify_area: one read or write moves at most MAX_RW_COUNT bytes (INT_MAX & PAGE_MASK). */
export const MAX_RW_COUNT: u64 = 0x7ffff000;

/** restart_b of a pipe write's RESTART_RW: past its merge step (the reissue does not merge). */
export const PIPE_RW_IN_LOOP: u64 = 1;

// struct pipe_buffer, 8 bytes: the page (kernel address), where its bytes start, how many.
// Every buffer is an anonymous pipe page that later writes may append to (PIPE_BUF_FLAG_CAN_MERGE).
@unmanaged class pipe_buffer {
  page: u32;
  offset: u16;
  len: u16;
}
const BUF_SIZE: u32 = 8;
/** Slots in one page of the ring array; a bigger ring has a directory page of leaf pages. */
const SLOTS_PER_PAGE: u32 = <u32>PAGE_SIZE / BUF_SIZE;

//   rd_wait, wr_wait   wait queue heads (kernel/wait.ts)
//   mutex_wait         tasks waiting for `mutex`
//   mutex              the task that holds pipe->mutex across a userfault wait, or 0
//   mutex_page         its write's page not yet in the ring (0: a merge into the last buffer, or a read)
//   mutex_done         bytes of its current copy done before the fault
//   readers, writers   open read / write ends
//   head, tail         free-running slot counters (head - tail slots in use)
//   max_usage, ring_size  slots the ring may use / has (equal: no watch queues)
//   nr_accounted       slots accounted to the user
//   tmp_page0, tmp_page1  spare pages (anon_pipe_get_page's cache)
//   bufs               the ring: a page of pipe_buffers, or (ring_size > SLOTS_PER_PAGE) a page of leaf-page addresses
@unmanaged export class pipe_inode_info {
  rd_wait: u32;
  wr_wait: u32;
  mutex_wait: u32;
  mutex: u32;
  mutex_page: u32;
  mutex_done: u32;
  readers: u32;
  writers: u32;
  head: u32;
  tail: u32;
  max_usage: u32;
  ring_size: u32;
  nr_accounted: u32;
  tmp_page0: u32;
  tmp_page1: u32;
  bufs: u32;
}

// @ts-ignore: decorator
@inline export function PIPE(ino: inode): pipe_inode_info { return changetype<pipe_inode_info>(<usize>ino.i_private); }
// @ts-ignore: decorator
@inline export function pipe_rd_wait(pipe: pipe_inode_info): usize { return changetype<usize>(pipe) + offsetof<pipe_inode_info>("rd_wait"); }
// @ts-ignore: decorator
@inline export function pipe_wr_wait(pipe: pipe_inode_info): usize { return changetype<usize>(pipe) + offsetof<pipe_inode_info>("wr_wait"); }
// @ts-ignore: decorator
@inline function pipe_mutex_wait(pipe: pipe_inode_info): usize { return changetype<usize>(pipe) + offsetof<pipe_inode_info>("mutex_wait"); }
// @ts-ignore: decorator
@inline export function file_pipe(f: file): pipe_inode_info { return PIPE(changetype<inode>(<usize>f.f_inode)); }

// @ts-ignore: decorator
@inline function pipe_empty(head: u32, tail: u32): bool { return head == tail; }
// @ts-ignore: decorator
@inline function pipe_full(head: u32, tail: u32, limit: u32): bool { return head - tail >= limit; }

/** Slot `n` (any counter value: masked here) of the ring `bufs` of `ring_size` slots. */
function ring_slot(bufs: u32, ring_size: u32, n: u32): pipe_buffer {
  let i = n & (ring_size - 1);
  if (ring_size <= SLOTS_PER_PAGE) return changetype<pipe_buffer>(<usize>bufs + <usize>(i * BUF_SIZE));
  let leaf = <usize>load<u32>(<usize>bufs + <usize>((i / SLOTS_PER_PAGE) << 2));
  return changetype<pipe_buffer>(leaf + <usize>((i % SLOTS_PER_PAGE) * BUF_SIZE));
}

// @ts-ignore: decorator
@inline function pipe_buf(pipe: pipe_inode_info, n: u32): pipe_buffer { return ring_slot(pipe.bufs, pipe.ring_size, n); }

/** A zeroed ring array for `nr_slots` slots (a power of two), or 0 (no memory). */
function bufs_alloc(nr_slots: u32): u32 {
  let dir = alloc_kernel_page();
  if (!dir) return 0;
  let d = <u32>page_address(dir);
  if (nr_slots <= SLOTS_PER_PAGE) return d;
  let leaves = nr_slots / SLOTS_PER_PAGE;
  for (let i: u32 = 0; i < leaves; i++) {
    let leaf = alloc_kernel_page();
    if (!leaf) {
      bufs_free_dir(d, i);
      return 0;
    }
    store<u32>(<usize>d + <usize>(i << 2), <u32>page_address(leaf));
  }
  return d;
}

/** Free a directory page and its first `leaves` leaf pages. */
function bufs_free_dir(dir: u32, leaves: u32): void {
  for (let i: u32 = 0; i < leaves; i++) free_page(virt_to_page(<usize>load<u32>(<usize>dir + <usize>(i << 2))));
  free_page(virt_to_page(<usize>dir));
}

/** Free the ring array `bufs` of `nr_slots` slots. */
function bufs_free(bufs: u32, nr_slots: u32): void {
  bufs_free_dir(bufs, nr_slots > SLOTS_PER_PAGE ? nr_slots / SLOTS_PER_PAGE : 0);
}

/** anon_pipe_get_page: a spare page, or a new frame (null: no memory). */
function anon_pipe_get_page(pipe: pipe_inode_info): u32 {
  let p = pipe.tmp_page0;
  if (p) { pipe.tmp_page0 = 0; return p; }
  p = pipe.tmp_page1;
  if (p) { pipe.tmp_page1 = 0; return p; }
  let pg = alloc_page();
  if (!pg) return 0;
  pg.flags = PG_kernel;
  return <u32>page_address(pg);
}

/** anon_pipe_put_page: keep up to two spare pages, free the rest. */
function anon_pipe_put_page(pipe: pipe_inode_info, p: u32): void {
  if (!pipe.tmp_page0) pipe.tmp_page0 = p;
  else if (!pipe.tmp_page1) pipe.tmp_page1 = p;
  else free_page(virt_to_page(<usize>p));
}

// ---- accounting (account_pipe_buffers) ----------------------------------------------------

function account_pipe_buffers(old: u32, nw: u32): u32 {
  let k = K();
  k.pipe_user_bufs = k.pipe_user_bufs - old + nw;
  return k.pipe_user_bufs;
}

// @ts-ignore: decorator
@inline function too_many_pipe_buffers_soft(user_bufs: u32): bool { return user_bufs > PIPE_USER_PAGES_SOFT; }
// @ts-ignore: decorator
@inline function pipe_is_unprivileged_user(t: task_struct): bool { return (t.caps & (CAP_SYS_RESOURCE | CAP_SYS_ADMIN)) == 0; }

/** alloc_pipe_info for the current task into `ino`; false: no memory. */
export function pipe_init_inode(ino: inode): bool {
  let t = changetype<task_struct>(<usize>K().current);
  let p = kmem_cache_alloc(CACHE_SMALL);
  if (p == 0) return false;
  let pipe_bufs = PIPE_DEF_BUFFERS;
  if (pipe_bufs * <u32>PAGE_SIZE > PIPE_MAX_SIZE && !(t.caps & CAP_SYS_RESOURCE)) pipe_bufs = PIPE_MAX_SIZE / <u32>PAGE_SIZE;
  let user_bufs = account_pipe_buffers(0, pipe_bufs);
  if (too_many_pipe_buffers_soft(user_bufs) && pipe_is_unprivileged_user(t)) {
    account_pipe_buffers(pipe_bufs, PIPE_MIN_DEF_BUFFERS);
    pipe_bufs = PIPE_MIN_DEF_BUFFERS;
  }
  let bufs = bufs_alloc(pipe_bufs);
  if (!bufs) {
    account_pipe_buffers(pipe_bufs, 0);
    kmem_cache_free(CACHE_SMALL, p);
    return false;
  }
  memory.fill(p, 0, offsetof<pipe_inode_info>());
  let pipe = changetype<pipe_inode_info>(p);
  pipe.readers = 1;
  pipe.writers = 1;
  pipe.max_usage = pipe_bufs;
  pipe.ring_size = pipe_bufs;
  pipe.nr_accounted = pipe_bufs;
  pipe.bufs = bufs;
  ino.i_private = <u32>p;
  return true;
}

/** free_pipe_info: the buffers' pages, the spare pages, the ring, the accounting. */
export function pipe_evict_inode(ino: inode): void {
  if (!ino.i_private) return;
  let pipe = PIPE(ino);
  account_pipe_buffers(pipe.nr_accounted, 0);
  for (let n = pipe.tail; n != pipe.head; n++) free_page(virt_to_page(<usize>pipe_buf(pipe, n).page));
  if (pipe.tmp_page0) free_page(virt_to_page(<usize>pipe.tmp_page0));
  if (pipe.tmp_page1) free_page(virt_to_page(<usize>pipe.tmp_page1));
  bufs_free(pipe.bufs, pipe.ring_size);
  kmem_cache_free(CACHE_SMALL, changetype<usize>(pipe));
  ino.i_private = 0;
}

/** A pipe end goes away: count down readers or writers and wake both sides (pipe_release). */
export function pipe_release(f: file): void {
  let pipe = file_pipe(f);
  if (f.f_mode & FMODE_READ) pipe.readers--;
  else pipe.writers--;
  wake_up(pipe_rd_wait(pipe));
  wake_up(pipe_wr_wait(pipe));
}

/** pipe_poll: the read end is readable with data, hung up without writers; the write end writable with a free slot, in error without readers. */
export function pipe_poll(f: file): i32 {
  let pipe = file_pipe(f);
  if (f.f_mode & FMODE_READ) return (!pipe_empty(pipe.head, pipe.tail) ? POLLIN | POLLRDNORM : 0) | (pipe.writers == 0 ? POLLHUP : 0);
  return (!pipe_full(pipe.head, pipe.tail, pipe.max_usage) ? POLLOUT | POLLWRNORM : 0) | (pipe.readers == 0 ? POLLERR : 0);
}

// ---- the mutex ----------------------------------------------------------------------------

/**
 * Queue `t` on `head` (holding the pipe's inode) and park it: -ERESTARTSYS, or -ENOMEM. A
 * read or write records `done` (bytes already moved) and `in_loop` for its reissue.
 */
function pipe_sleep(t: task_struct, head: usize, f: file, done: u64, in_loop: bool): i64 {
  if (!add_wait_queue(t, head, WQ_REF_INODE, f.f_inode)) return done > 0 ? <i64>done : -ENOMEM;
  set_task_waiting(t);
  t.restart_a = done;
  t.restart_b = in_loop ? PIPE_RW_IN_LOOP : 0;
  return -ERESTARTSYS;
}

/** Whether another task owns the pipe's mutex (the caller must wait on mutex_wait). */
// @ts-ignore: decorator
@inline function pipe_locked_by_other(pipe: pipe_inode_info, t: task_struct): bool {
  return pipe.mutex != 0 && pipe.mutex != changetype<u32>(t);
}

/** The owner's copy faulted on a userfault: keep the mutex across the wait. */
function pipe_hold(pipe: pipe_inode_info, t: task_struct, page: u32, done: u32, moved: u64, in_loop: bool): i64 {
  pipe.mutex = changetype<u32>(t);
  pipe.mutex_page = page;
  pipe.mutex_done = done;
  t.restart_a = moved;
  t.restart_b = in_loop ? PIPE_RW_IN_LOOP : 0;
  return -ERESTARTSYS; // the fault path queued the task on the userfaultfd
}

function pipe_unlock(pipe: pipe_inode_info): void {
  pipe.mutex = 0;
  pipe.mutex_page = 0;
  pipe.mutex_done = 0;
  wake_up(pipe_mutex_wait(pipe));
}

/**
 * The call of `t` on pipe file `f` was abandoned (RESTART_RW given up): if it owned the mutex,
 * the page it was filling goes back and the mutex is free, as when Linux's call ends on a signal.
 */
export function pipe_mutex_abandon(t: task_struct, f: file): void {
  let pipe = file_pipe(f);
  if (pipe.mutex != changetype<u32>(t)) return;
  if (pipe.mutex_page) anon_pipe_put_page(pipe, pipe.mutex_page);
  pipe_unlock(pipe);
}

/**
 * The invariant checker's view of a pipe: its accounted slots, or -1 if the ring is not a power
 * of two accounted as such, more slots are in use than allowed, a slot in use has no kernel page
 * or no bytes or bytes past its page, a spare page is no kernel page, or the mutex's owner is not
 * waiting in a read or write of this pipe.
 */
export function pipe_check(ino: inode): i32 {
  if (!ino.i_private) return 0;
  let pipe = PIPE(ino);
  let size = pipe.ring_size;
  if (size == 0 || (size & (size - 1)) != 0 || pipe.max_usage != size || pipe.nr_accounted != size) return -1;
  if (pipe.head - pipe.tail > pipe.max_usage) return -1;
  for (let n = pipe.tail; n != pipe.head; n++) {
    let buf = pipe_buf(pipe, n);
    if (!buf.page || !(virt_to_page(<usize>buf.page).flags & PG_kernel)) return -1;
    if (buf.len == 0 || <u32>buf.offset + <u32>buf.len > <u32>PAGE_SIZE) return -1;
  }
  if (pipe.tmp_page0 && !(virt_to_page(<usize>pipe.tmp_page0).flags & PG_kernel)) return -1;
  if (pipe.tmp_page1 && !(virt_to_page(<usize>pipe.tmp_page1).flags & PG_kernel)) return -1;
  if (pipe.mutex) {
    let t = changetype<task_struct>(<usize>pipe.mutex);
    if (t.restart_fn != RESTART_RW || !t.restart_file) return -1;
    if (changetype<file>(<usize>t.restart_file).f_inode != changetype<u32>(ino)) return -1;
  }
  return <i32>size;
}

// ---- read and write -----------------------------------------------------------------------

/**
 * pipe_read: up to `total` bytes to `ubuf`; `done` bytes of this call were already delivered
 * (a reissue). Returns the bytes read (0 at end of file), -errno, or -ERESTARTSYS with the task
 * queued (t.restart_a: bytes delivered so far).
 */
export function pipe_read(t: task_struct, f: file, ubuf: u64, total: u64, done: u64): i64 {
  if (total == 0) return 0;
  let pipe = file_pipe(f);
  if (pipe_locked_by_other(pipe, t)) return pipe_sleep(t, pipe_mutex_wait(pipe), f, done, false);
  if (total > MAX_RW_COUNT) total = MAX_RW_COUNT;
  let ret: i64 = <i64>done;
  let freed = false;
  let sleep = false;
  let resume = pipe.mutex != 0; // ours: the copy of the tail buffer stopped at a userfault
  if (resume && pipe_empty(pipe.head, pipe.tail)) {
    pipe_unlock(pipe);
    resume = false;
  }
  for (;;) {
    let tail = pipe.tail;
    if (pipe_empty(pipe.head, tail)) {
      if (pipe.writers != 0 && ret == 0) {
        if (f.f_flags & O_NONBLOCK) ret = -EAGAIN;
        else sleep = true; // nothing read: wait for a writer
      }
      break;
    }
    let buf = pipe_buf(pipe, tail);
    let chars = <u64>buf.len;
    if (chars > total - <u64>ret) chars = total - <u64>ret;
    let skip: u64 = resume ? <u64>pipe.mutex_done : 0;
    let r = copy_to_user(t, ubuf + <u64>ret + skip, <usize>buf.page + <usize>buf.offset + <usize>skip, chars - skip);
    if (r == -ERESTARTSYS) return pipe_hold(pipe, t, 0, <u32>(skip + copy_user_partial()), <u64>ret, false);
    if (resume) {
      pipe_unlock(pipe);
      resume = false;
    }
    if (r < 0) {
      // The bytes before the faulting page reached the user but stay buffered.
      if (ret == 0) ret = -EFAULT;
      break;
    }
    ret += <i64>chars;
    buf.offset += <u16>chars;
    buf.len -= <u16>chars;
    if (buf.len == 0) {
      anon_pipe_put_page(pipe, buf.page);
      buf.page = 0;
      buf.offset = 0;
      pipe.tail = tail + 1;
      freed = true;
    }
    if (<u64>ret == total) break;
  }
  if (sleep) return pipe_sleep(t, pipe_rd_wait(pipe), f, 0, false);
  if (freed) wake_up(pipe_wr_wait(pipe));
  return ret;
}

/**
 * pipe_write: `total` bytes from `ubuf`; `done` bytes of this call were already written (a
 * reissue; `in_loop`: past the merge step). Returns the bytes written, -errno (EPIPE without
 * readers, EAGAIN: O_NONBLOCK and no room, EFAULT, ENOMEM), or -ERESTARTSYS with the task
 * queued (t.restart_a: bytes written so far).
 */
export function pipe_write(t: task_struct, f: file, ubuf: u64, total: u64, done: u64, in_loop: bool): i64 {
  if (total == 0) return 0;
  let pipe = file_pipe(f);
  if (pipe_locked_by_other(pipe, t)) return pipe_sleep(t, pipe_mutex_wait(pipe), f, done, in_loop);
  if (total > MAX_RW_COUNT) total = MAX_RW_COUNT;
  let ret: i64 = <i64>done;
  let added = false;
  let resume = pipe.mutex != 0; // ours: a copy stopped at a userfault
  if (resume && pipe.mutex_page == 0) {
    // The merge into the last buffer goes on (the mutex kept that buffer as it was).
    let chars = total & (<u64>PAGE_SIZE - 1);
    let buf = pipe_buf(pipe, pipe.head - 1);
    let at = <usize>buf.page + <usize>buf.offset + <usize>buf.len;
    let skip = <u64>pipe.mutex_done;
    let r = copy_from_user(t, at + <usize>skip, ubuf + skip, chars - skip);
    if (r == -ERESTARTSYS) return pipe_hold(pipe, t, 0, <u32>(skip + copy_user_partial()), 0, false);
    pipe_unlock(pipe);
    resume = false;
    if (r < 0) return -EFAULT;
    buf.len += <u16>chars;
    ret = <i64>chars;
    wake_up(pipe_rd_wait(pipe));
    if (<u64>ret == total) return ret;
    in_loop = true;
  } else if (!resume && !in_loop) {
    if (pipe.readers == 0) return -EPIPE; // (and SIGPIPE, which uffdlab does not deliver)
    // Merge the tail of the write into the last buffer when it fits there.
    let head = pipe.head;
    let chars = total & (<u64>PAGE_SIZE - 1);
    if (chars != 0 && !pipe_empty(head, pipe.tail)) {
      let buf = pipe_buf(pipe, head - 1);
      let offset = <u64>buf.offset + <u64>buf.len;
      if (offset + chars <= <u64>PAGE_SIZE) {
        let r = copy_from_user(t, <usize>buf.page + <usize>offset, ubuf, chars);
        if (r == -ERESTARTSYS) return pipe_hold(pipe, t, 0, <u32>copy_user_partial(), 0, false);
        if (r < 0) return -EFAULT;
        buf.len += <u16>chars;
        ret = <i64>chars;
        added = true;
        if (<u64>ret == total) {
          wake_up(pipe_rd_wait(pipe));
          return ret;
        }
      }
    }
  }
  for (;;) {
    let page: u32;
    let skip: u64 = 0;
    if (resume) {
      page = pipe.mutex_page;
      skip = <u64>pipe.mutex_done;
    } else {
      if (pipe.readers == 0) {
        if (ret == 0) ret = -EPIPE;
        break;
      }
      if (pipe_full(pipe.head, pipe.tail, pipe.max_usage)) {
        if (f.f_flags & O_NONBLOCK) {
          if (ret == 0) ret = -EAGAIN;
          break;
        }
        // Wait for a free slot; readers see what was written so far.
        if (added) wake_up(pipe_rd_wait(pipe));
        return pipe_sleep(t, pipe_wr_wait(pipe), f, <u64>ret, true);
      }
      page = anon_pipe_get_page(pipe);
      if (!page) {
        if (ret == 0) ret = -ENOMEM;
        break;
      }
    }
    let n = total - <u64>ret;
    if (n > <u64>PAGE_SIZE) n = <u64>PAGE_SIZE;
    let r = copy_from_user(t, <usize>page + <usize>skip, ubuf + <u64>ret + skip, n - skip);
    // Linux sleeps in the fault holding the mutex, before any wake-up for what it wrote.
    if (r == -ERESTARTSYS) return pipe_hold(pipe, t, page, <u32>(skip + copy_user_partial()), <u64>ret, true);
    if (resume) {
      pipe_unlock(pipe); // the page is this call's again
      resume = false;
    }
    if (r < 0) {
      anon_pipe_put_page(pipe, page);
      if (ret == 0) ret = -EFAULT;
      break;
    }
    let buf = pipe_buf(pipe, pipe.head);
    buf.page = page;
    buf.offset = 0;
    buf.len = <u16>n;
    pipe.head++;
    ret += <i64>n;
    added = true;
    if (<u64>ret == total) break;
  }
  if (added) wake_up(pipe_rd_wait(pipe));
  return ret;
}

// ---- fcntl, ioctl ---------------------------------------------------------------------------

/** round_pipe_size: a power of two of pages, at least one page; 0 above 2 GiB. */
function round_pipe_size(size: u32): u32 {
  if (size > (<u32>1 << 31)) return 0;
  if (size < <u32>PAGE_SIZE) return <u32>PAGE_SIZE;
  return <u32>1 << (32 - clz<u32>(size - 1));
}

/** pipe_resize_ring: move the buffers in use to a new ring of `nr_slots` slots (EBUSY: more in use). */
function pipe_resize_ring(pipe: pipe_inode_info, nr_slots: u32): i64 {
  let bufs = bufs_alloc(nr_slots);
  if (!bufs) return -ENOMEM;
  let n = pipe.head - pipe.tail;
  if (nr_slots < n) {
    bufs_free(bufs, nr_slots);
    return -EBUSY;
  }
  // The ring wraps: the new one starts at slot 0.
  for (let i: u32 = 0; i < n; i++) {
    let from = pipe_buf(pipe, pipe.tail + i);
    let to = ring_slot(bufs, nr_slots, i);
    to.page = from.page;
    to.offset = from.offset;
    to.len = from.len;
  }
  bufs_free(pipe.bufs, pipe.ring_size);
  pipe.bufs = bufs;
  pipe.ring_size = nr_slots;
  pipe.max_usage = nr_slots;
  pipe.nr_accounted = nr_slots;
  pipe.tail = 0;
  pipe.head = n;
  // This might have made room for writers.
  wake_up(pipe_wr_wait(pipe));
  return 0;
}

/** pipe_set_size: F_SETPIPE_SZ; the new size in bytes, or -errno. */
function pipe_set_size(t: task_struct, pipe: pipe_inode_info, arg: u32): i64 {
  let size = round_pipe_size(arg);
  let nr_slots = size / <u32>PAGE_SIZE;
  if (nr_slots == 0) return -EINVAL;
  // Growing past pipe-max-size needs CAP_SYS_RESOURCE; shrinking is always allowed.
  if (nr_slots > pipe.max_usage && size > PIPE_MAX_SIZE && !(t.caps & CAP_SYS_RESOURCE)) return -EPERM;
  let user_bufs = account_pipe_buffers(pipe.nr_accounted, nr_slots);
  if (nr_slots > pipe.max_usage && too_many_pipe_buffers_soft(user_bufs) && pipe_is_unprivileged_user(t)) {
    account_pipe_buffers(nr_slots, pipe.nr_accounted);
    return -EPERM;
  }
  let old = pipe.nr_accounted;
  let r = pipe_resize_ring(pipe, nr_slots);
  if (r < 0) {
    account_pipe_buffers(nr_slots, old);
    return r;
  }
  return <i64>pipe.max_usage * PAGE_SIZE;
}

/** pipe_fcntl: F_SETPIPE_SZ / F_GETPIPE_SZ of a pipe (the caller gives EBADF for other files). */
export function pipe_fcntl(t: task_struct, f: file, cmd: i32, arg: u32): i64 {
  let pipe = file_pipe(f);
  if (pipe_locked_by_other(pipe, t)) return pipe_sleep(t, pipe_mutex_wait(pipe), f, 0, false);
  if (cmd == F_SETPIPE_SZ) return pipe_set_size(t, pipe, arg);
  if (cmd == F_GETPIPE_SZ) return <i64>pipe.max_usage * PAGE_SIZE;
  return -EINVAL;
}

/** FIONREAD of a pipe: the bytes buffered, or -ERESTARTSYS (waiting for another task's mutex). */
export function pipe_nread(t: task_struct, f: file): i64 {
  let pipe = file_pipe(f);
  if (pipe_locked_by_other(pipe, t)) return pipe_sleep(t, pipe_mutex_wait(pipe), f, 0, false);
  let count: u32 = 0;
  for (let n = pipe.tail; n != pipe.head; n++) count += pipe_buf(pipe, n).len;
  return <i64>count;
}
