// The userfaultfd file (fs/userfaultfd.c): creating one, read(), poll, fdinfo, the ioctl
// parser (API, REGISTER, UNREGISTER, COPY, ZEROPAGE, MOVE, WRITEPROTECT, CONTINUE, POISON,
// WAKE) and the release. The waiters (handle_userfault, the wakes) are fs/userfaultfd_wait.ts,
// the non-cooperative events fs/userfaultfd_event.ts; this file re-exports what mm/ and
// kernel/ call of them.
//
// Never walks page tables itself: filling ranges is mm/userfaultfd.ts (mfill_*), and the
// per-memory-type decisions are the vm_uffd_ops dispatchers in mm/vm_ops.ts.
//
// A call that must wait returns -ERESTARTSYS with the task parked (a copy from or to a user
// page that is itself a userfault, a blocking read): nothing is done yet, and the host reissues
// it after the wake. A fill whose work is done when its out-field write must wait, and a COPY
// whose source faulted after some pages, record a restart block (kernel/restart.ts) so that
// the reissue resumes instead of filling again.
import { task_struct, files_struct, RESTART_UFFD_OUTFIELD, RESTART_UFFD_COPY } from "../kernel/types";
import { task_frame, task_scratch } from "../kernel/sched";
import { mm_struct } from "../mm/types";
import { VM_UFFD_MISSING, VM_UFFD_WP, VM_UFFD_MINOR, VM_MAYWRITE, CAP_SYS_PTRACE } from "../abi/kernel";
import { userfaultfd_ctx, CTX, UFFD_FEATURE_INITIALIZED, uffd_event } from "../mm/userfaultfd_k";
import * as U from "../abi/uapi";
import { EPERM, EINVAL, EFAULT, ENOMEM, EBUSY, EAGAIN, ESRCH, ERESTARTSYS, EBADF } from "../abi/errno";
import { CACHE_UFFD_CTX } from "../init/state";
import { kmem_cache_alloc, kmem_cache_free } from "../mm/slab";
import { file, FILE_UFFD, FMODE_READ } from "./types";
import { fget, get_file, fput, alloc_file, get_unused_fd_flags, put_unused_fd, fd_install } from "./file";
import { userfaultfd_file } from "./file_ops";
import { restart_set, restart_clear } from "../kernel/restart";
import { copy_from_user, copy_to_user } from "../mm/uaccess";
import { VMA, find_vma, vma_modify, vma_try_merge } from "../mm/vma";
import { vma_can_userfault } from "../mm/vm_ops";
import { mfill_atomic_copy, mfill_atomic_zeropage, mfill_atomic_continue, mfill_atomic_poison, mwriteprotect_range, uffd_wp_range,
  move_pages, mfill_resume_offset, MFILL_ATOMIC_ZEROPAGE, MFILL_ATOMIC_CONTINUE, MFILL_ATOMIC_POISON } from "../mm/userfaultfd";
import { seq_puts, seq_put_decimal, seq_put_hex } from "../lib/seq_buf";
import { userfaultfd_wake_range, userfaultfd_wait_readable, userfaultfd_fault_pending, userfaultfd_oldest_pending, userfaultfd_fault_read, userfaultfd_nr_read_faults } from "./userfaultfd_wait";
import { userfaultfd_release_ctx, userfaultfd_event_complete, userfaultfd_oldest_event, userfaultfd_newest_event,
  userfaultfd_event_pending } from "./userfaultfd_event";
export { userfaultfd_ctx, CTX, UFFD_FEATURE_INITIALIZED };
export { handle_userfault, userfaultfd_cancel_wait, userfaultfd_wake_range, userfaultfd_ctx_get, userfaultfd_ctx_put, userfaultfd_poll_wait,
  userfaultfd_wait_readable } from "./userfaultfd_wait";
export { userfaultfd_events_complete, userfaultfd_events_wait, userfaultfd_events_pending, userfaultfd_events_abandon, userfaultfd_events_wait_again,
  userfaultfd_unmap_prep, mremap_userfaultfd_prep, mremap_userfaultfd_complete, userfaultfd_remove, dup_userfaultfd } from "./userfaultfd_event";

// @ts-ignore: decorator
@inline function ctx_initialized(ctx: userfaultfd_ctx): bool { return (ctx.features & UFFD_FEATURE_INITIALIZED) != 0; }
// @ts-ignore: decorator
@inline function MMOF(ctx: userfaultfd_ctx): mm_struct { return changetype<mm_struct>(<usize>ctx.mm); }

/** userfaultfd_release: the last reference to the file went. */
export function userfaultfd_release(f: file): void {
  userfaultfd_release_ctx(CTX(f.private_data));
}

/** userfaultfd(2) and USERFAULTFD_IOC_NEW: a new ctx serving the caller's address space. */
function new_userfaultfd(t: task_struct, flags: i32): i64 {
  if (flags & ~(U.O_CLOEXEC | U.O_NONBLOCK | U.UFFD_USER_MODE_ONLY)) return -EINVAL;
  let fs = changetype<files_struct>(<usize>t.files);
  let fd = get_unused_fd_flags(fs, (flags & U.O_CLOEXEC) != 0);
  if (fd < 0) return fd;
  let p = kmem_cache_alloc(CACHE_UFFD_CTX);
  if (p == 0) {
    put_unused_fd(fs, fd);
    return -ENOMEM;
  }
  let f = alloc_file(FILE_UFFD, null, <u32>(U.O_RDONLY | (flags & U.O_NONBLOCK)), FMODE_READ);
  if (!f) {
    kmem_cache_free(CACHE_UFFD_CTX, p);
    put_unused_fd(fs, fd);
    return -ENOMEM;
  }
  let ctx = changetype<userfaultfd_ctx>(p);
  ctx.refcount = 1;
  ctx.flags = <u32>flags;
  ctx.mm = t.mm;
  changetype<mm_struct>(<usize>t.mm).mm_count++;
  f.private_data = <u32>p;
  fd_install(fs, fd, f);
  return fd;
}

export function sys_userfaultfd(t: task_struct, flags: i32): i64 {
  // The permission check comes first (userfaultfd_syscall_allowed): vm.unprivileged_userfaultfd is 0.
  if (!(flags & U.UFFD_USER_MODE_ONLY) && !(t.caps & CAP_SYS_PTRACE)) return -EPERM;
  return new_userfaultfd(t, flags);
}

/** ioctl on /dev/userfaultfd. */
export function dev_userfaultfd_ioctl(t: task_struct, cmd: u32, arg: u64): i64 {
  if (cmd != U.USERFAULTFD_IOC_NEW) return -EINVAL;
  return new_userfaultfd(t, <i32>arg);
}

// ---- read ------------------------------------------------------------------------------------

/** read(2) on a userfaultfd: whole 32-byte messages, page faults first, then events (each FIFO). */
export function userfaultfd_read(t: task_struct, f: file, ubuf: u64, count: u64): i64 {
  let ctx = CTX(f.private_data);
  if (!ctx_initialized(ctx)) return -EINVAL;
  if (count < <u64>U.UFFD_MSG_SIZE) return -EINVAL;
  let done: u64 = 0;
  let msg = changetype<U.uffd_msg>(task_scratch(t));
  // Completing an event lets its producer deliver the next one; in Linux the producer must
  // run first, so events delivered during this read are left for the next one.
  let ev_last = userfaultfd_newest_event(ctx);
  while (count - done >= <u64>U.UFFD_MSG_SIZE) {
    let w = userfaultfd_oldest_pending(ctx);
    if (w) {
      memory.fill(changetype<usize>(msg), 0, U.UFFD_MSG_SIZE);
      msg.event = U.UFFD_EVENT_PAGEFAULT;
      msg.arg0 = <u64>w.key_flags;
      msg.arg1 = w.key;
      if (ctx.features & U.UFFD_FEATURE_THREAD_ID) msg.arg2 = <u64><u32>changetype<task_struct>(<usize>w.task).tid;
      let r = copy_to_user(t, ubuf + done, changetype<usize>(msg), U.UFFD_MSG_SIZE);
      if (r < 0) return done > 0 ? <i64>done : <i64>r;
      // The waiter moves to the read-but-unresolved queue.
      userfaultfd_fault_read(ctx, w);
    } else if (ev_last && userfaultfd_event_pending(ctx)) {
      let e = userfaultfd_oldest_event(ctx)!;
      let last = e == ev_last;
      let r = read_event(t, ctx, e, ubuf + done, msg);
      if (r < 0) return done > 0 ? <i64>done : r;
      if (last) ev_last = null;
    } else {
      break;
    }
    done += <u64>U.UFFD_MSG_SIZE;
  }
  if (done > 0) return <i64>done;
  if ((f.f_flags & U.O_NONBLOCK) || ctx.released) return -EAGAIN;
  // Block until a message arrives: the host waits and reissues the read.
  userfaultfd_wait_readable(t, f);
  return -ERESTARTSYS;
}

/**
 * Copy event `ev` to the reader and complete it. A FORK event becomes a new userfaultfd in
 * the reader's fd table (read-only, the child ctx's O_CLOEXEC / O_NONBLOCK), its number in
 * fork.ufd (resolve_userfault_fork); if that fails the event stays queued. The message is
 * copied before anything changes, so a copy that must wait for a userfault is simply retried.
 */
function read_event(t: task_struct, ctx: userfaultfd_ctx, ev: uffd_event, u: u64, msg: U.uffd_msg): i64 {
  memory.fill(changetype<usize>(msg), 0, U.UFFD_MSG_SIZE);
  msg.event = <u8>ev.event;
  if (ev.event != U.UFFD_EVENT_FORK) {
    msg.arg0 = ev.arg0;
    msg.arg1 = ev.arg1;
    msg.arg2 = ev.arg2;
    let r = copy_to_user(t, u, changetype<usize>(msg), U.UFFD_MSG_SIZE);
    if (r < 0) return r;
  } else {
    // resolve_userfault_fork: the fd first; any failure gives it back and leaves the event queued.
    let fs = changetype<files_struct>(<usize>t.files);
    let nc = CTX(ev.new_ctx);
    let fd = get_unused_fd_flags(fs, (nc.flags & U.O_CLOEXEC) != 0);
    if (fd < 0) return fd;
    msg.arg0 = <u64><u32>fd;
    let r = copy_to_user(t, u, changetype<usize>(msg), U.UFFD_MSG_SIZE);
    let nf: file | null = r < 0 ? null : alloc_file(FILE_UFFD, null, <u32>(U.O_RDONLY | (nc.flags & U.O_NONBLOCK)), FMODE_READ);
    if (!nf) {
      put_unused_fd(fs, fd);
      return r < 0 ? r : -ENOMEM;
    }
    // The event's reference to the child ctx becomes the file's.
    nf.private_data = ev.new_ctx;
    ev.new_ctx = 0;
    fd_install(fs, fd, nf);
  }
  userfaultfd_event_complete(ctx, ev);
  return 0;
}

// ---- ioctl -------------------------------------------------------------------------------------
//
// Each ioctl copies its argument record (without the out-field) into the task's scratch at +0
// (copy_arg) and reads it there; out-fields are written through put_user64, which stages the
// word after the largest argument record. A copy that hits a userfault returns -ERESTARTSYS
// with the task parked: nothing was done, and the reissue starts over.

/** The staging word of put_user64 in the task's scratch (after a uffdio_move, the largest argument). */
const PUT_USER_SLOT: usize = offsetof<U.uffdio_move>();

/** copy_from_user of the argument's first `len` bytes to the task's scratch: 0, -EFAULT or -ERESTARTSYS. */
// @ts-ignore: decorator
@inline function copy_arg(t: task_struct, arg: u64, len: usize): i32 { return copy_from_user(t, task_scratch(t), arg, <u64>len); }

/** put_user of a 64-bit word at `uaddr`: 0, -EFAULT or -ERESTARTSYS. */
function put_user64(t: task_struct, uaddr: u64, v: u64): i32 {
  store<u64>(task_scratch(t) + PUT_USER_SLOT, v);
  return copy_to_user(t, uaddr, task_scratch(t) + PUT_USER_SLOT, 8);
}

/** validate_unaligned_range: len a non-zero page multiple, the range inside TASK_SIZE. */
function validate_unaligned_range(start: u64, len: u64): bool {
  if (len & (<u64>U.PAGE_SIZE - 1)) return false;
  if (len == 0) return false;
  if (start >= U.TASK_SIZE) return false;
  if (len > U.TASK_SIZE - start) return false;
  return true;
}
function validate_range(start: u64, len: u64): bool {
  if (start & (<u64>U.PAGE_SIZE - 1)) return false;
  return validate_unaligned_range(start, len);
}

function userfaultfd_api(t: task_struct, ctx: userfaultfd_ctx, arg: u64): i64 {
  let a = changetype<U.uffdio_api>(task_scratch(t));
  { let e = copy_arg(t, arg, offsetof<U.uffdio_api>()); if (e < 0) return e; }
  let err: i64 = 0;
  let features = a.features;
  if (a.api != U.UFFD_API) err = -EINVAL;
  else if ((features & U.UFFD_FEATURE_EVENT_FORK) && !(t.caps & CAP_SYS_PTRACE)) err = -EPERM;
  else {
    if (features & U.UFFD_FEATURE_WP_ASYNC) features |= U.UFFD_FEATURE_WP_UNPOPULATED;
    if (features & ~U.UFFD_API_FEATURES) err = -EINVAL;
    else if (ctx_initialized(ctx)) err = -EINVAL;
  }
  if (err != 0) {
    memory.fill(changetype<usize>(a), 0, offsetof<U.uffdio_api>());
    // A userfault on the structure: wait, then reissue (nothing changed yet).
    let w = copy_to_user(t, arg, changetype<usize>(a), offsetof<U.uffdio_api>());
    if (w < 0) return w == -ERESTARTSYS ? w : -EFAULT;
    return err;
  }
  a.api = U.UFFD_API;
  a.features = U.UFFD_API_FEATURES;
  a.ioctls = U.UFFD_API_IOCTLS;
  { let w = copy_to_user(t, arg, changetype<usize>(a), offsetof<U.uffdio_api>()); if (w < 0) return w == -ERESTARTSYS ? w : -EFAULT; } // the features are set after: a reissue is safe
  ctx.features = features | UFFD_FEATURE_INITIALIZED;
  return 0;
}

/** The uffd VM flags for REGISTER mode bits. */
function vm_flags_of_mode(mode: u64): u64 {
  return ((mode & U.UFFDIO_REGISTER_MODE_MISSING) ? VM_UFFD_MISSING : 0) |
    ((mode & U.UFFDIO_REGISTER_MODE_WP) ? VM_UFFD_WP : 0) |
    ((mode & U.UFFDIO_REGISTER_MODE_MINOR) ? VM_UFFD_MINOR : 0);
}

/**
 * Give [start, end) of every VMA in the range the uffd flags `uflags` and ctx `c`, splitting
 * at the edges and merging afterwards (userfaultfd_register_range / _clear_vma).
 */
function set_uffd_range(mm: mm_struct, start: u64, end: u64, uflags: u64, c: u32, only_ctx: u32): i32 {
  let addr = start;
  while (addr < end) {
    let v = find_vma(mm, addr);
    if (!v || v.vm_start >= end) break;
    if (only_ctx != 0 && v.uffd_ctx != only_ctx) {
      addr = v.vm_end;
      continue;
    }
    // REGISTER: a VMA already registered with this ctx for (at least) these modes is left alone,
    // neither split nor narrowed (userfaultfd_register_range's "nothing to do").
    if (only_ctx == 0 && c != 0 && v.uffd_ctx == c && (v.vm_flags & uflags) == uflags) {
      addr = v.vm_end;
      continue;
    }
    let nflags = (v.vm_flags & ~(VM_UFFD_MISSING | VM_UFFD_WP | VM_UFFD_MINOR)) | uflags;
    if (nflags != v.vm_flags || v.uffd_ctx != c) {
      let m = vma_modify(mm, v, start > v.vm_start ? start : v.vm_start, end < v.vm_end ? end : v.vm_end);
      if (!m) return -ENOMEM;
      m.vm_flags = nflags;
      m.uffd_ctx = c;
      v = vma_try_merge(mm, m);
    }
    addr = v.vm_end;
  }
  return 0;
}

function userfaultfd_register(t: task_struct, ctx: userfaultfd_ctx, arg: u64): i64 {
  let r = changetype<U.uffdio_register>(task_scratch(t));
  { let e = copy_arg(t, arg, offsetof<U.uffdio_register>("ioctls")); if (e < 0) return e; }
  let mode = r.mode;
  if (mode == 0 || (mode & ~(U.UFFDIO_REGISTER_MODE_MISSING | U.UFFDIO_REGISTER_MODE_WP | U.UFFDIO_REGISTER_MODE_MINOR))) return -EINVAL;
  if (!validate_range(r.start, r.len)) return -EINVAL;
  let mm = MMOF(ctx);
  if (mm.dead) return -ENOMEM;
  let start = r.start;
  let end = r.start + r.len;
  let uflags = vm_flags_of_mode(mode);
  let first = find_vma(mm, start);
  if (!first || first.vm_start >= end) return -EINVAL;
  // Check every VMA before changing any.
  let p = changetype<u32>(first);
  while (p != 0 && VMA(p).vm_start < end) {
    let v = VMA(p);
    if (!vma_can_userfault(v, uflags, ctx.features)) return -EINVAL;
    if (!(v.vm_flags & VM_MAYWRITE)) return -EPERM;
    if (v.uffd_ctx != 0 && v.uffd_ctx != changetype<u32>(ctx)) return -EBUSY;
    p = v.vm_next;
  }
  let e = set_uffd_range(mm, start, end, uflags, changetype<u32>(ctx), 0);
  if (e < 0) return e;
  let ioctls = U.UFFD_API_RANGE_IOCTLS;
  if (!(mode & U.UFFDIO_REGISTER_MODE_WP)) ioctls &= ~U._UFFDIO_WRITEPROTECT_BIT;
  if (!(mode & U.UFFDIO_REGISTER_MODE_MINOR)) ioctls &= ~U._UFFDIO_CONTINUE_BIT;
  // A userfault on the ioctls word: wait and reissue (registering again gives the same result).
  { let w = put_user64(t, arg + offsetof<U.uffdio_register>("ioctls"), ioctls); if (w < 0) return w == -ERESTARTSYS ? w : -EFAULT; }
  return 0;
}

function userfaultfd_unregister(t: task_struct, ctx: userfaultfd_ctx, arg: u64): i64 {
  let r = changetype<U.uffdio_range>(task_scratch(t));
  { let e = copy_arg(t, arg, offsetof<U.uffdio_range>()); if (e < 0) return e; }
  if (!validate_range(r.start, r.len)) return -EINVAL;
  let mm = MMOF(ctx);
  if (mm.dead) return -ENOMEM;
  let start = r.start;
  let end = r.start + r.len;
  let first = find_vma(mm, start);
  if (!first || first.vm_start >= end) return -EINVAL;
  let p = changetype<u32>(first);
  while (p != 0 && VMA(p).vm_start < end) {
    let v = VMA(p);
    if (v.uffd_ctx != 0 && v.uffd_ctx != changetype<u32>(ctx)) return -EINVAL;
    if (v.uffd_ctx != 0 && !vma_can_userfault(v, v.vm_flags & (VM_UFFD_MISSING | VM_UFFD_WP | VM_UFFD_MINOR), ctx.features)) return -EINVAL;
    p = v.vm_next;
  }
  // Faulters of MISSING-registered VMAs are woken (all of them in the VMA's part of the range).
  p = changetype<u32>(first);
  while (p != 0 && VMA(p).vm_start < end) {
    let v = VMA(p);
    if (v.uffd_ctx == changetype<u32>(ctx) && (v.vm_flags & VM_UFFD_MISSING)) {
      let s = v.vm_start > start ? v.vm_start : start;
      let e = v.vm_end < end ? v.vm_end : end;
      userfaultfd_wake_range(ctx, s, e - s);
    }
    // userfaultfd_clear_vma: the uffd-wp bits and markers of the range go; WP-only
    // faulters are not woken.
    if (v.uffd_ctx == changetype<u32>(ctx) && (v.vm_flags & VM_UFFD_WP)) {
      let s = v.vm_start > start ? v.vm_start : start;
      let e = v.vm_end < end ? v.vm_end : end;
      uffd_wp_range(mm, v, s, e, false);
    }
    p = v.vm_next;
  }
  return set_uffd_range(mm, start, end, 0, 0, changetype<u32>(ctx));
}

function userfaultfd_wake(t: task_struct, ctx: userfaultfd_ctx, arg: u64): i64 {
  let r = changetype<U.uffdio_range>(task_scratch(t));
  { let e = copy_arg(t, arg, offsetof<U.uffdio_range>()); if (e < 0) return e; }
  if (!validate_range(r.start, r.len)) return -EINVAL;
  userfaultfd_wake_range(ctx, r.start, r.len);
  return 0;
}

/**
 * The fill-ioctl protocol (out-field = bytes done or -errno; all done 0, short -EAGAIN) around one mfill operation: `outoff` is the out-field's
 * offset in the user structure; `done_or_err` the operation's result (bytes, or -errno).
 */
function fill_result(t: task_struct, ctx: userfaultfd_ctx, arg: u64, outoff: u64, res: i64, dst: u64, len: u64, dontwake: bool): i64 {
  let e = put_user64(t, arg + outoff, <u64>res);
  if (e == -ERESTARTSYS) {
    // The fill is done; only the out-field waits for a userfault on its page. The reissue
    // must not fill again: it resumes at the out-field write (userfaultfd_outfield_restart).
    restart_set(t, RESTART_UFFD_OUTFIELD, <i64>len);
    t.restart_a = arg + outoff;
    t.restart_b = <u64>res;
    t.restart_c = dst | (dontwake ? 1 : 0);
    return e;
  }
  if (e < 0) return -EFAULT;
  return fill_finish(ctx, res, dst, len, dontwake);
}

function fill_finish(ctx: userfaultfd_ctx, res: i64, dst: u64, len: u64, dontwake: bool): i64 {
  if (res < 0) return res;
  if (!dontwake) userfaultfd_wake_range(ctx, dst, <u64>res);
  return <u64>res == len ? 0 : -EAGAIN;
}

/** The reissue of a fill ioctl whose out-field write waited: write it, wake, return. */
export function userfaultfd_outfield_restart(t: task_struct): i64 {
  let res = <i64>t.restart_b;
  let e = put_user64(t, t.restart_a, <u64>res);
  if (e == -ERESTARTSYS) return e;
  let len = <u64>t.restart_ret;
  let dst = t.restart_c & ~(<u64>1);
  let dontwake = (t.restart_c & 1) != 0;
  restart_clear(t);
  if (e < 0) return -EFAULT;
  let f = fget(changetype<files_struct>(<usize>t.files), <i64><i32>task_frame(t).arg0);
  if (!f || !userfaultfd_file(f)) return -EBADF;
  return fill_finish(CTX(f.private_data), res, dst, len, dontwake);
}

function mmap_changing_eagain(t: task_struct, arg: u64, outoff: u64): i64 {
  let w = put_user64(t, arg + outoff, <u64>-EAGAIN);
  if (w < 0) return w == -ERESTARTSYS ? w : -EFAULT; // a reissue checks mmap_changing again
  return -EAGAIN;
}

/**
 * UFFDIO_COPY. A copy whose source is a userfault returns -ERESTARTSYS with the task
 * queued there (the seed's retry path, mm/userfaultfd.ts); the bytes done and the argument
 * go to the task's restart block (RESTART_UFFD_COPY), and the reissued call resumes after the
 * pages already copied (userfaultfd_copy_restart), so the caller sees one call that completed
 * once the source fault was served, as on Linux.
 */
function userfaultfd_copy(t: task_struct, f: file, ctx: userfaultfd_ctx, arg: u64): i64 {
  if (ctx.mmap_changing) return mmap_changing_eagain(t, arg, offsetof<U.uffdio_copy>("copy"));
  let c = changetype<U.uffdio_copy>(task_scratch(t));
  { let e = copy_arg(t, arg, offsetof<U.uffdio_copy>("copy")); if (e < 0) return e; }
  if (!validate_range(c.dst, c.len) || !validate_unaligned_range(c.src, c.len)) return -EINVAL;
  if (c.mode & ~(U.UFFDIO_COPY_MODE_DONTWAKE | U.UFFDIO_COPY_MODE_WP)) return -EINVAL;
  if (MMOF(ctx).dead) return -ESRCH;
  return userfaultfd_copy_from(t, f, ctx, arg, c.dst, c.src, c.len, c.mode, 0, false);
}

/**
 * The page loop of a COPY from `done` bytes in, and the fill-ioctl result; a source userfault
 * records the restart. `resumed`: this is the reissue after that wait (userfaultfd_copy_restart),
 * so mfill_atomic compares the destination VMA with its retry snapshot (guest_memfd: EAGAIN
 * if it changed).
 */
function userfaultfd_copy_from(t: task_struct, f: file, ctx: userfaultfd_ctx, arg: u64, dst: u64, src: u64, len: u64, mode: u64, done: u64, resumed: bool): i64 {
  let mm = MMOF(ctx);
  let res: i64;
  if (mm.dead) {
    if (done == 0) return -ESRCH;
    res = <i64>done;
  } else {
    res = mfill_atomic_copy(t, changetype<u32>(ctx), mm, dst, src, len, (mode & U.UFFDIO_COPY_MODE_WP) != 0, done, resumed);
  }
  if (res == -ERESTARTSYS) {
    restart_set(t, RESTART_UFFD_COPY, <i64>mfill_resume_offset(t));
    t.restart_a = dst;
    t.restart_b = src;
    t.restart_c = len;
    t.restart_d = mode;
    get_file(f);
    t.restart_file = changetype<u32>(f);
    return res;
  }
  return fill_result(t, ctx, arg, offsetof<U.uffdio_copy>("copy"), res, dst, len, (mode & U.UFFDIO_COPY_MODE_DONTWAKE) != 0);
}

/**
 * Whether the call in the frame (already known to be ioctl(fd, UFFDIO_COPY, arg) with the
 * recorded numbers) is the reissue of the COPY that recorded RESTART_UFFD_COPY: the same
 * file, and an argument that still reads as first copied in. 1 yes, 0 no (a new call), or
 * -ERESTARTSYS if reading the argument must wait for a userfault (the restart is kept).
 */
export function userfaultfd_copy_is_reissue(t: task_struct): i64 {
  let f = fget(changetype<files_struct>(<usize>t.files), <i64><i32>t.restart_args0);
  if (!f || changetype<u32>(f) != t.restart_file) return 0;
  let c = changetype<U.uffdio_copy>(task_scratch(t));
  let e = copy_arg(t, t.restart_args2, offsetof<U.uffdio_copy>("copy"));
  if (e == -ERESTARTSYS) return e;
  if (e < 0) return 0; // starting over fails with the same EFAULT
  return c.dst == t.restart_a && c.src == t.restart_b && c.len == t.restart_c && c.mode == t.restart_d ? 1 : 0;
}

/** The reissue of a COPY that waited for its source: go on after the bytes already copied. */
export function userfaultfd_copy_restart(t: task_struct): i64 {
  let f = changetype<file>(<usize>t.restart_file);
  let arg = t.restart_args2, done = <u64>t.restart_ret;
  let dst = t.restart_a, src = t.restart_b, len = t.restart_c, mode = t.restart_d;
  restart_clear(t);
  t.restart_file = 0;
  let r = userfaultfd_copy_from(t, f, CTX(f.private_data), arg, dst, src, len, mode, done, true);
  fput(f);
  return r;
}

/**
 * UFFDIO_MOVE: the fill-ioctl protocol with MOVE's own rules. mmap_changing → EAGAIN
 * (out-field -EAGAIN) before the copy-in; then, leaving the out-field untouched: copy-in
 * EFAULT, a caller whose address space is not the ctx's EINVAL, range checks of dst and src
 * and the mode bits EINVAL, address space gone ESRCH. Needs no feature bit.
 */
function userfaultfd_move(t: task_struct, ctx: userfaultfd_ctx, arg: u64): i64 {
  if (ctx.mmap_changing) return mmap_changing_eagain(t, arg, offsetof<U.uffdio_move>("move"));
  let m = changetype<U.uffdio_move>(task_scratch(t));
  { let e = copy_arg(t, arg, offsetof<U.uffdio_move>("move")); if (e < 0) return e; }
  if (ctx.mm != t.mm) return -EINVAL;
  if (!validate_range(m.dst, m.len) || !validate_range(m.src, m.len)) return -EINVAL;
  if (m.mode & ~(U.UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES | U.UFFDIO_MOVE_MODE_DONTWAKE)) return -EINVAL;
  let mm = MMOF(ctx);
  if (mm.dead) return -ESRCH;
  let dst = m.dst, len = m.len, mode = m.mode;
  let res = move_pages(changetype<u32>(ctx), mm, dst, m.src, len, mode);
  return fill_result(t, ctx, arg, offsetof<U.uffdio_move>("move"), res, dst, len, (mode & U.UFFDIO_MOVE_MODE_DONTWAKE) != 0);
}

/**
 * ZEROPAGE, CONTINUE and POISON share one argument layout,
 * { range, mode, out-field at 24 }, and the fill-ioctl protocol; `mode` selects the fill.
 * DONTWAKE is bit 0 in all three.
 */
function userfaultfd_range_fill(t: task_struct, ctx: userfaultfd_ctx, arg: u64, fill: u32, allowed: u64): i64 {
  if (ctx.mmap_changing) return mmap_changing_eagain(t, arg, offsetof<U.uffdio_zeropage>("zeropage"));
  let z = changetype<U.uffdio_zeropage>(task_scratch(t));
  { let e = copy_arg(t, arg, offsetof<U.uffdio_zeropage>("zeropage")); if (e < 0) return e; }
  if (!validate_range(z.start, z.len)) return -EINVAL;
  if (z.mode & ~allowed) return -EINVAL;
  let mm = MMOF(ctx);
  if (mm.dead) return -ESRCH;
  let start = z.start, len = z.len, mode = z.mode;
  let c = changetype<u32>(ctx);
  let res: i64;
  if (fill == MFILL_ATOMIC_ZEROPAGE) res = mfill_atomic_zeropage(t, c, mm, start, len);
  // (CONTINUE: Linux issues smp_wmb() first; the big kernel lock orders the monitor's writes.)
  else if (fill == MFILL_ATOMIC_CONTINUE) res = mfill_atomic_continue(t, c, mm, start, len, (mode & U.UFFDIO_CONTINUE_MODE_WP) != 0);
  else res = mfill_atomic_poison(t, c, mm, start, len);
  return fill_result(t, ctx, arg, offsetof<U.uffdio_zeropage>("zeropage"), res, start, len, (mode & 1) != 0);
}

/**
 * UFFDIO_WRITEPROTECT: no out-field. mmap_changing → EAGAIN first; WP|DONTWAKE →
 * EINVAL; mm gone → ESRCH. Resolving (mode without WP) wakes the range unless DONTWAKE.
 */
function userfaultfd_writeprotect(t: task_struct, ctx: userfaultfd_ctx, arg: u64): i64 {
  if (ctx.mmap_changing) return -EAGAIN;
  let w = changetype<U.uffdio_writeprotect>(task_scratch(t));
  { let e = copy_arg(t, arg, offsetof<U.uffdio_writeprotect>()); if (e < 0) return e; }
  if (!validate_range(w.start, w.len)) return -EINVAL;
  let mode = w.mode;
  if (mode & ~(U.UFFDIO_WRITEPROTECT_MODE_WP | U.UFFDIO_WRITEPROTECT_MODE_DONTWAKE)) return -EINVAL;
  let wp = (mode & U.UFFDIO_WRITEPROTECT_MODE_WP) != 0;
  let dontwake = (mode & U.UFFDIO_WRITEPROTECT_MODE_DONTWAKE) != 0;
  if (wp && dontwake) return -EINVAL;
  let mm = MMOF(ctx);
  if (mm.dead) return -ESRCH;
  let start = w.start, len = w.len;
  let r = mwriteprotect_range(mm, start, len, wp);
  if (r < 0) return r;
  if (!wp && !dontwake) userfaultfd_wake_range(ctx, start, len);
  return 0;
}

/** userfaultfd_ioctl: dispatch; nothing but UFFDIO_API before UFFDIO_API succeeded. */
export function userfaultfd_ioctl(t: task_struct, f: file, cmd: u32, arg: u64): i64 {
  let ctx = CTX(f.private_data);
  if (cmd != U.UFFDIO_API && !ctx_initialized(ctx)) return -EINVAL;
  switch (cmd) {
    case U.UFFDIO_API: return userfaultfd_api(t, ctx, arg);
    case U.UFFDIO_REGISTER: return userfaultfd_register(t, ctx, arg);
    case U.UFFDIO_UNREGISTER: return userfaultfd_unregister(t, ctx, arg);
    case U.UFFDIO_WAKE: return userfaultfd_wake(t, ctx, arg);
    case U.UFFDIO_COPY: return userfaultfd_copy(t, f, ctx, arg);
    case U.UFFDIO_MOVE: return userfaultfd_move(t, ctx, arg);
    case U.UFFDIO_ZEROPAGE: return userfaultfd_range_fill(t, ctx, arg, MFILL_ATOMIC_ZEROPAGE, U.UFFDIO_ZEROPAGE_MODE_DONTWAKE);
    case U.UFFDIO_WRITEPROTECT: return userfaultfd_writeprotect(t, ctx, arg);
    case U.UFFDIO_CONTINUE: return userfaultfd_range_fill(t, ctx, arg, MFILL_ATOMIC_CONTINUE, U.UFFDIO_CONTINUE_MODE_DONTWAKE | U.UFFDIO_CONTINUE_MODE_WP);
    case U.UFFDIO_POISON: return userfaultfd_range_fill(t, ctx, arg, MFILL_ATOMIC_POISON, U.UFFDIO_POISON_MODE_DONTWAKE);
  }
  return -EINVAL;
}

// ---- poll --------------------------------------------------------------------------------------

/**
 * userfaultfd_poll: EPOLLERR before UFFDIO_API and on a blocking fd (a fault may be
 * woken before it is read, so only non-blocking fds are pollable); EPOLLIN while a page
 * fault or an event is unread. Never a hang-up.
 */
export function userfaultfd_poll(f: file): i32 {
  let ctx = CTX(f.private_data);
  if (!ctx_initialized(ctx)) return U.POLLERR;
  if (!(f.f_flags & U.O_NONBLOCK)) return U.POLLERR;
  return userfaultfd_fault_pending(ctx) || userfaultfd_event_pending(ctx) ? U.POLLIN : 0;
}

// ---- fdinfo ------------------------------------------------------------------------------------

/**
 * userfaultfd_show_fdinfo: the three lines /proc/<pid>/fdinfo/<fd> shows for a
 * userfaultfd, written at `buf`; returns their length. pending = unread page faults, total =
 * unread + read-but-unresolved; the features word includes the internal bit 31.
 */
export function userfaultfd_show_fdinfo(f: file, buf: usize): i32 {
  let ctx = CTX(f.private_data);
  let q = seq_puts(buf, "pending:\t");
  q = seq_put_decimal(q, <u64>ctx.nr_pending);
  q = seq_puts(q, "\ntotal:\t");
  q = seq_put_decimal(q, <u64>ctx.nr_pending + userfaultfd_nr_read_faults(ctx));
  q = seq_puts(q, "\nAPI:\t");
  q = seq_put_hex(q, U.UFFD_API);
  q = seq_puts(q, ":");
  q = seq_put_hex(q, ctx.features & 0xffffffff);
  q = seq_puts(q, ":");
  q = seq_put_hex(q, U.UFFD_API_IOCTLS | U.UFFD_API_RANGE_IOCTLS);
  q = seq_puts(q, "\n");
  return <i32>(q - buf);
}
