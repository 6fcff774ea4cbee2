// The userfaultfd file (fs/userfaultfd.c): contexts, the wait queues, handle_userfault,
// read(), the ioctl parser (COPY, ZEROPAGE, MOVE, WRITEPROTECT, CONTINUE, POISON, WAKE),
// registration, release.
//
// Never walks page tables itself: filling ranges is mm/userfaultfd.ts (mfill_*), and the
// per-memory-type decisions are the vm_uffd_ops dispatchers in mm/vm_ops.ts.
//
// Waiting. Nothing blocks inside the kernel. A task that must wait is put on one of the
// ctx's queues (linked through task.wq_next), its host frame's wait_word is set to 1, and
// the entry returns VM_FAULT_RETRY (an access: ACCESS_RETRY) or -ERESTARTSYS (a system
// call). A wake clears wait_word (and notifies it, for workers parked in Atomics.wait); the
// host then retries the access or reissues the call. A task that re-enters the kernel while
// still queued has abandoned its wait (like a signal ending the sleep): it is dequeued first.
import { task_struct, files_struct, TASK_RUNNING } from "../kernel/types";
import { task_frame, task_scratch, find_task } from "../kernel/sched";
import { vm_fault, mm_struct, vm_area_struct, VM_FAULT_SIGBUS, VM_FAULT_RETRY, FAULT_FLAG_WRITE, FAULT_FLAG_USER,
  FAULT_FLAG_ALLOW_RETRY, FAULT_FLAG_RETRY_NOWAIT } from "../mm/types";
import { VM_UFFD_MISSING, VM_UFFD_WP, VM_UFFD_MINOR, VM_MAYWRITE, CAP_SYS_PTRACE, host_frame } from "../abi/kernel";
import { mmdrop } from "../kernel/fork";
import { userfaultfd_ctx, CTX, UFFD_FEATURE_INITIALIZED } from "../mm/userfaultfd_k";
export { userfaultfd_ctx, CTX, UFFD_FEATURE_INITIALIZED };
import * as U from "../abi/uapi";
import { EPERM, EINVAL, EFAULT, ENOMEM, EBUSY, EAGAIN, ESRCH, ENOTTY, ERESTARTSYS, EBADF } from "../abi/errno";
import { K, CACHE_UFFD_CTX } from "../init/state";
import { kmem_cache_alloc, kmem_cache_free } from "../mm/slab";
import { file, FILE_UFFD, FMODE_READ } from "./types";
import { install_new_file, fget } from "./file";
import { copy_from_user, copy_to_user } from "../mm/uaccess";
import { VMA, find_vma, vma_modify, vma_try_merge } from "../mm/vma";
import { vma_can_userfault } from "../mm/vm_ops";
import { mfill_atomic_copy, mfill_atomic_zeropage, mfill_atomic_continue, mfill_atomic_poison, mwriteprotect_range, uffd_wp_range,
  move_pages, mfill_resume_offset, MFILL_ATOMIC_ZEROPAGE, MFILL_ATOMIC_CONTINUE, MFILL_ATOMIC_POISON } from "../mm/userfaultfd";

/** wq_state of a queued task */
const WQ_NONE: u32 = 0;
const WQ_PENDING: u32 = 1;
const WQ_FAULT: u32 = 2;
const WQ_READER: u32 = 3;

// @ts-ignore: decorator
@inline function TASK(p: u32): task_struct { return changetype<task_struct>(<usize>p); }
// @ts-ignore: decorator
@inline function current(): task_struct { return changetype<task_struct>(<usize>K().current); }
// @ts-ignore: decorator
@inline function ctx_initialized(ctx: userfaultfd_ctx): bool { return (ctx.features & UFFD_FEATURE_INITIALIZED) != 0; }
// @ts-ignore: decorator
@inline function MMOF(ctx: userfaultfd_ctx): mm_struct { return changetype<mm_struct>(<usize>ctx.mm); }

// ---- wait queues ---------------------------------------------------------------------------

/** Park `t`: the host waits on its wait word. */
function set_waiting(t: task_struct): void {
  let w = changetype<usize>(task_frame(t)) + offsetof<host_frame>("wait_word");
  if (ASC_FEATURE_THREADS) atomic.store<i32>(w, 1);
  else store<i32>(w, 1);
}

/** Unpark `t` (wake_up): clear the wait word and notify a worker parked on it. */
function wake_task(t: task_struct): void {
  t.wq_state = WQ_NONE;
  t.wq_ctx = 0;
  t.wq_next = 0;
  let w = changetype<usize>(task_frame(t)) + offsetof<host_frame>("wait_word");
  if (ASC_FEATURE_THREADS) {
    atomic.store<i32>(w, 0);
    atomic.notify(w, 1);
  } else {
    store<i32>(w, 0);
  }
}

function enqueue(head: usize, tail: usize, t: task_struct): void {
  t.wq_next = 0;
  let tp = changetype<u32>(t);
  if (tail != 0 && load<u32>(tail) != 0) store<u32>(<usize>load<u32>(tail) + offsetof<task_struct>("wq_next"), tp);
  else store<u32>(head, tp);
  if (tail != 0) store<u32>(tail, tp);
}

/** Remove `t` from the list at `head` (tail maintained if given). Returns whether it was there. */
function unlink(head: usize, tail: usize, t: task_struct): bool {
  let prev: u32 = 0;
  let p = load<u32>(head);
  let tp = changetype<u32>(t);
  while (p != 0) {
    if (p == tp) {
      let next = TASK(p).wq_next;
      if (prev == 0) store<u32>(head, next);
      else TASK(prev).wq_next = next;
      if (tail != 0 && load<u32>(tail) == tp) store<u32>(tail, prev);
      t.wq_next = 0;
      return true;
    }
    prev = p;
    p = TASK(p).wq_next;
  }
  return false;
}

// @ts-ignore: decorator
@inline function q_pending(ctx: userfaultfd_ctx): usize { return changetype<usize>(ctx) + offsetof<userfaultfd_ctx>("pending_head"); }
// @ts-ignore: decorator
@inline function q_pending_tail(ctx: userfaultfd_ctx): usize { return changetype<usize>(ctx) + offsetof<userfaultfd_ctx>("pending_tail"); }
// @ts-ignore: decorator
@inline function q_faults(ctx: userfaultfd_ctx): usize { return changetype<usize>(ctx) + offsetof<userfaultfd_ctx>("faults_head"); }
// @ts-ignore: decorator
@inline function q_faults_tail(ctx: userfaultfd_ctx): usize { return changetype<usize>(ctx) + offsetof<userfaultfd_ctx>("faults_tail"); }
// @ts-ignore: decorator
@inline function q_readers(ctx: userfaultfd_ctx): usize { return changetype<usize>(ctx) + offsetof<userfaultfd_ctx>("readers_head"); }

/**
 * A task entering the kernel while still queued gave up its wait (the host stopped waiting,
 * as a signal would end the sleep): take it off whatever queue holds it.
 */
export function userfaultfd_cancel_wait(t: task_struct): void {
  if (t.wq_state == WQ_NONE) return;
  let ctx = CTX(t.wq_ctx);
  if (t.wq_state == WQ_PENDING) {
    if (unlink(q_pending(ctx), q_pending_tail(ctx), t)) ctx.nr_pending--;
  } else if (t.wq_state == WQ_FAULT) {
    unlink(q_faults(ctx), q_faults_tail(ctx), t);
  } else {
    unlink(q_readers(ctx), 0, t);
  }
  wake_task(t);
  userfaultfd_ctx_put(ctx);
}

/** Wake the tasks in read() (a message arrived, or the ctx is going away). */
function wake_readers(ctx: userfaultfd_ctx): void {
  let p = ctx.readers_head;
  ctx.readers_head = 0;
  while (p != 0) {
    let t = TASK(p);
    p = t.wq_next;
    wake_task(t);
    userfaultfd_ctx_put(ctx);
  }
}

/** Wake faulting tasks on the list at head/tail whose address lies in [start, start + len); len 0 = all. */
function wake_list(ctx: userfaultfd_ctx, head: usize, tail: usize, start: u64, len: u64, pending: bool): void {
  let prev: u32 = 0;
  let p = load<u32>(head);
  while (p != 0) {
    let t = TASK(p);
    let next = t.wq_next;
    let a = t.wq_address;
    if (len == 0 || (a >= start && a - start < len)) {
      if (prev == 0) store<u32>(head, next);
      else TASK(prev).wq_next = next;
      if (load<u32>(tail) == p) store<u32>(tail, prev);
      if (pending) ctx.nr_pending--;
      wake_task(t);
      userfaultfd_ctx_put(ctx);
    } else {
      prev = p;
    }
    p = next;
  }
}

/** wake_userfault / __wake_userfault: wake faulters (read or not) in the range. */
export function userfaultfd_wake_range(ctx: userfaultfd_ctx, start: u64, len: u64): void {
  wake_list(ctx, q_pending(ctx), q_pending_tail(ctx), start, len, true);
  wake_list(ctx, q_faults(ctx), q_faults_tail(ctx), start, len, false);
}

// ---- lifetime ------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline function userfaultfd_ctx_get(ctx: userfaultfd_ctx): void { ctx.refcount++; }

export function userfaultfd_ctx_put(ctx: userfaultfd_ctx): void {
  if (--ctx.refcount > 0) return;
  let mm = MMOF(ctx);
  kmem_cache_free(CACHE_UFFD_CTX, changetype<usize>(ctx));
  mmdrop(mm);
}

/**
 * userfaultfd_release: the last reference to the file went. Unregister every VMA that
 * points at the ctx, then wake everyone waiting on it (§8.7).
 */
export function userfaultfd_release(f: file): void {
  let ctx = CTX(f.private_data);
  ctx.released = 1;
  let mm = MMOF(ctx);
  if (!mm.dead) {
    let p = mm.mmap;
    while (p != 0) {
      let v = VMA(p);
      p = v.vm_next;
      if (v.uffd_ctx != changetype<u32>(ctx)) continue;
      if (v.vm_flags & VM_UFFD_WP) uffd_wp_range(mm, v, v.vm_start, v.vm_end, false);
      v.vm_flags &= ~(VM_UFFD_MISSING | VM_UFFD_WP | VM_UFFD_MINOR);
      v.uffd_ctx = 0;
      let m = vma_try_merge(mm, v);
      p = m.vm_next;
    }
  }
  userfaultfd_wake_range(ctx, 0, 0);
  wake_readers(ctx);
  userfaultfd_ctx_put(ctx);
}

/** userfaultfd(2) and USERFAULTFD_IOC_NEW: a new ctx serving the caller's address space. */
function new_userfaultfd(t: task_struct, flags: i32): i64 {
  if (flags & ~(U.O_CLOEXEC | U.O_NONBLOCK | U.UFFD_USER_MODE_ONLY)) return -EINVAL;
  let p = kmem_cache_alloc(CACHE_UFFD_CTX);
  if (p == 0) return -ENOMEM;
  let ctx = changetype<userfaultfd_ctx>(p);
  ctx.refcount = 1;
  ctx.flags = <u32>flags;
  ctx.mm = t.mm;
  changetype<mm_struct>(<usize>t.mm).mm_count++;
  let fs = changetype<files_struct>(<usize>t.files);
  let fd = install_new_file(fs, FILE_UFFD, null, <u32>(U.O_RDONLY | (flags & U.O_NONBLOCK)), FMODE_READ, (flags & U.O_CLOEXEC) != 0);
  if (fd < 0) {
    userfaultfd_ctx_put(ctx);
    return fd;
  }
  fget(fs, fd)!.private_data = <u32>p;
  return fd;
}

export function sys_userfaultfd(t: task_struct, flags: i32): i64 {
  // The permission check comes first (§6.1): vm.unprivileged_userfaultfd is 0.
  if (!(flags & U.UFFD_USER_MODE_ONLY) && !(t.caps & CAP_SYS_PTRACE)) return -EPERM;
  return new_userfaultfd(t, flags);
}

/** ioctl on /dev/userfaultfd. */
export function dev_userfaultfd_ioctl(t: task_struct, cmd: u32, arg: u64): i64 {
  if (cmd != U.USERFAULTFD_IOC_NEW) return -EINVAL;
  return new_userfaultfd(t, <i32>arg);
}

// ---- handle_userfault ----------------------------------------------------------------------

/**
 * handle_userfault (§8.3): queue a PAGEFAULT message for the current task and return
 * VM_FAULT_RETRY; the task waits until a fill, WAKE, UNREGISTER or release wakes it.
 */
export function handle_userfault(vmf: vm_fault, reason: u64): u32 {
  let vma = VMA(vmf.vma);
  if (vma.uffd_ctx == 0) return VM_FAULT_SIGBUS;
  let ctx = CTX(vma.uffd_ctx);
  if (ctx.features & U.UFFD_FEATURE_SIGBUS) return VM_FAULT_SIGBUS;
  if (!(vmf.flags & FAULT_FLAG_USER) && (ctx.flags & U.UFFD_USER_MODE_ONLY)) return VM_FAULT_SIGBUS;
  if (!(vmf.flags & FAULT_FLAG_ALLOW_RETRY)) return VM_FAULT_SIGBUS;
  if (vmf.flags & FAULT_FLAG_RETRY_NOWAIT) return VM_FAULT_RETRY;
  if (ctx.released) return VM_FAULT_RETRY;
  let t = current();
  let addr = (ctx.features & U.UFFD_FEATURE_EXACT_ADDRESS) ? vmf.real_address : vmf.address;
  let mflags: u64 = 0;
  if (vmf.flags & FAULT_FLAG_WRITE) mflags |= U.UFFD_PAGEFAULT_FLAG_WRITE;
  if (reason == VM_UFFD_WP) mflags |= U.UFFD_PAGEFAULT_FLAG_WP;
  if (reason == VM_UFFD_MINOR) mflags |= U.UFFD_PAGEFAULT_FLAG_MINOR;
  userfaultfd_ctx_get(ctx);
  t.wq_ctx = changetype<u32>(ctx);
  t.wq_address = addr;
  t.wq_flags = <u32>mflags;
  t.wq_state = WQ_PENDING;
  enqueue(q_pending(ctx), q_pending_tail(ctx), t);
  ctx.nr_pending++;
  set_waiting(t);
  wake_readers(ctx);
  return VM_FAULT_RETRY;
}

// ---- read ------------------------------------------------------------------------------------

/** read(2) on a userfaultfd: whole 32-byte messages, page faults first (FIFO). */
export function userfaultfd_read(t: task_struct, f: file, ubuf: u64, count: u64): i64 {
  let ctx = CTX(f.private_data);
  if (!ctx_initialized(ctx)) return -EINVAL;
  if (count < <u64>U.UFFD_MSG_SIZE) return -EINVAL;
  let done: u64 = 0;
  let msg = changetype<U.uffd_msg>(task_scratch(t));
  while (count - done >= <u64>U.UFFD_MSG_SIZE && ctx.pending_head != 0) {
    let w = TASK(ctx.pending_head);
    memory.fill(changetype<usize>(msg), 0, U.UFFD_MSG_SIZE);
    msg.event = U.UFFD_EVENT_PAGEFAULT;
    msg.arg0 = <u64>w.wq_flags;
    msg.arg1 = w.wq_address;
    if (ctx.features & U.UFFD_FEATURE_THREAD_ID) msg.arg2 = <u64><u32>w.tid;
    let r = copy_to_user(t, ubuf + done, changetype<usize>(msg), U.UFFD_MSG_SIZE);
    if (r < 0) return done > 0 ? <i64>done : <i64>r;
    // Move the waiter to the read-but-unresolved queue.
    unlink(q_pending(ctx), q_pending_tail(ctx), w);
    ctx.nr_pending--;
    w.wq_state = WQ_FAULT;
    enqueue(q_faults(ctx), q_faults_tail(ctx), w);
    done += <u64>U.UFFD_MSG_SIZE;
  }
  if (done > 0) return <i64>done;
  if ((f.f_flags & U.O_NONBLOCK) || ctx.released) return -EAGAIN;
  // Block until a message arrives: the host waits and reissues the read.
  userfaultfd_wait_readable(t, f);
  return -ERESTARTSYS;
}

// ---- ioctl -------------------------------------------------------------------------------------

/** validate_unaligned_range (§6.9). */
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
  { let e = copy_from_user(t, changetype<usize>(a), arg, offsetof<U.uffdio_api>()); if (e < 0) return e; } // a userfault on the argument: wait, then reissue
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
    if (copy_to_user(t, arg, changetype<usize>(a), offsetof<U.uffdio_api>()) < 0) return -EFAULT;
    return err;
  }
  a.api = U.UFFD_API;
  a.features = U.UFFD_API_FEATURES;
  a.ioctls = U.UFFD_API_IOCTLS;
  if (copy_to_user(t, arg, changetype<usize>(a), offsetof<U.uffdio_api>()) < 0) return -EFAULT;
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
  { let e = copy_from_user(t, changetype<usize>(r), arg, 24); if (e < 0) return e; } // a userfault on the argument: wait, then reissue
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
  store<u64>(task_scratch(t) + 64, ioctls);
  if (copy_to_user(t, arg + 24, task_scratch(t) + 64, 8) < 0) return -EFAULT;
  return 0;
}

function userfaultfd_unregister(t: task_struct, ctx: userfaultfd_ctx, arg: u64): i64 {
  let r = changetype<U.uffdio_range>(task_scratch(t));
  { let e = copy_from_user(t, changetype<usize>(r), arg, 16); if (e < 0) return e; } // a userfault on the argument: wait, then reissue
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
    // userfaultfd_clear_vma: the uffd-wp bits and markers of the range go (§7.3); WP-only
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
  { let e = copy_from_user(t, changetype<usize>(r), arg, 16); if (e < 0) return e; } // a userfault on the argument: wait, then reissue
  if (!validate_range(r.start, r.len)) return -EINVAL;
  userfaultfd_wake_range(ctx, r.start, r.len);
  return 0;
}

/**
 * The fill-ioctl protocol (§7.1) around one mfill operation: `outoff` is the out-field's
 * offset in the user structure; `done_or_err` the operation's result (bytes, or -errno).
 */
function fill_result(t: task_struct, ctx: userfaultfd_ctx, arg: u64, outoff: u64, res: i64, dst: u64, len: u64, dontwake: bool): i64 {
  store<i64>(task_scratch(t) + 120, res);
  if (copy_to_user(t, arg + outoff, task_scratch(t) + 120, 8) < 0) return -EFAULT;
  if (res < 0) return res;
  if (!dontwake) userfaultfd_wake_range(ctx, dst, <u64>res);
  return <u64>res == len ? 0 : -EAGAIN;
}

function mmap_changing_eagain(t: task_struct, arg: u64, outoff: u64): i64 {
  store<i64>(task_scratch(t) + 120, -EAGAIN);
  if (copy_to_user(t, arg + outoff, task_scratch(t) + 120, 8) < 0) return -EFAULT;
  return -EAGAIN;
}

/**
 * UFFDIO_COPY (§7.5). A copy whose source is a userfault returns -ERESTARTSYS with the task
 * queued there (the seed's retry path, mm/userfaultfd.ts); the progress and the argument go
 * to the task's restart_block, and the reissued call resumes after the pages already copied,
 * so the caller sees one call that completed once the source fault was served, as on Linux.
 */
function userfaultfd_copy(t: task_struct, f: file, ctx: userfaultfd_ctx, arg: u64): i64 {
  let c = changetype<U.uffdio_copy>(task_scratch(t));
  let done: u64 = 0;
  if (t.restart_file == changetype<u32>(f) && t.restart_arg == arg) {
    // A reissue after the wait: the same call, unless the argument changed meanwhile.
    let e = copy_from_user(t, changetype<usize>(c), arg, 32);
    if (e == -ERESTARTSYS) return e; // the argument itself waits: keep the restart state
    t.restart_file = 0;
    if (e < 0) return e;
    if (c.dst == t.restart_dst && c.src == t.restart_src && c.len == t.restart_len && c.mode == t.restart_mode) done = t.restart_done;
  }
  if (done == 0) {
    t.restart_file = 0;
    if (ctx.mmap_changing) return mmap_changing_eagain(t, arg, 32);
    { let e = copy_from_user(t, changetype<usize>(c), arg, 32); if (e < 0) return e; } // a userfault on the argument: wait, then reissue
    if (!validate_range(c.dst, c.len) || !validate_unaligned_range(c.src, c.len)) return -EINVAL;
    if (c.mode & ~(U.UFFDIO_COPY_MODE_DONTWAKE | U.UFFDIO_COPY_MODE_WP)) return -EINVAL;
  }
  let mm = MMOF(ctx);
  let dst = c.dst, src = c.src, len = c.len, mode = c.mode;
  if (mm.dead && done == 0) return -ESRCH;
  let res = mm.dead ? <i64>done : mfill_atomic_copy(t, changetype<u32>(ctx), mm, dst, src, len, (mode & U.UFFDIO_COPY_MODE_WP) != 0, done);
  if (res == -ERESTARTSYS) {
    t.restart_file = changetype<u32>(f);
    t.restart_arg = arg;
    t.restart_dst = dst;
    t.restart_src = src;
    t.restart_len = len;
    t.restart_mode = mode;
    t.restart_done = mfill_resume_offset(t);
    return res;
  }
  return fill_result(t, ctx, arg, 32, res, dst, len, (mode & U.UFFDIO_COPY_MODE_DONTWAKE) != 0);
}

/**
 * UFFDIO_MOVE (§7.10): the §7.1 protocol with MOVE's own rules. mmap_changing → EAGAIN
 * (out-field -EAGAIN) before the copy-in; then, leaving the out-field untouched: copy-in
 * EFAULT, a caller whose address space is not the ctx's EINVAL, range checks of dst and src
 * and the mode bits EINVAL, address space gone ESRCH. Needs no feature bit.
 */
function userfaultfd_move(t: task_struct, ctx: userfaultfd_ctx, arg: u64): i64 {
  if (ctx.mmap_changing) return mmap_changing_eagain(t, arg, 32);
  let m = changetype<U.uffdio_move>(task_scratch(t));
  { let e = copy_from_user(t, changetype<usize>(m), arg, 32); if (e < 0) return e; } // a userfault on the argument: wait, then reissue
  if (ctx.mm != t.mm) return -EINVAL;
  if (!validate_range(m.dst, m.len) || !validate_range(m.src, m.len)) return -EINVAL;
  if (m.mode & ~(U.UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES | U.UFFDIO_MOVE_MODE_DONTWAKE)) return -EINVAL;
  let mm = MMOF(ctx);
  if (mm.dead) return -ESRCH;
  let dst = m.dst, len = m.len, mode = m.mode;
  let res = move_pages(changetype<u32>(ctx), mm, dst, m.src, len, mode);
  return fill_result(t, ctx, arg, 32, res, dst, len, (mode & U.UFFDIO_MOVE_MODE_DONTWAKE) != 0);
}

/**
 * ZEROPAGE (§7.6), CONTINUE (§7.7) and POISON (§7.8) share one argument layout,
 * { range, mode, out-field at 24 }, and the §7.1 protocol; `mode` selects the fill.
 * DONTWAKE is bit 0 in all three.
 */
function userfaultfd_range_fill(t: task_struct, ctx: userfaultfd_ctx, arg: u64, fill: u32, allowed: u64): i64 {
  if (ctx.mmap_changing) return mmap_changing_eagain(t, arg, 24);
  let z = changetype<U.uffdio_zeropage>(task_scratch(t));
  { let e = copy_from_user(t, changetype<usize>(z), arg, 24); if (e < 0) return e; } // a userfault on the argument: wait, then reissue
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
  return fill_result(t, ctx, arg, 24, res, start, len, (mode & 1) != 0);
}

/**
 * UFFDIO_WRITEPROTECT (§7.9): no out-field. mmap_changing → EAGAIN first; WP|DONTWAKE →
 * EINVAL; mm gone → ESRCH. Resolving (mode without WP) wakes the range unless DONTWAKE.
 */
function userfaultfd_writeprotect(t: task_struct, ctx: userfaultfd_ctx, arg: u64): i64 {
  if (ctx.mmap_changing) return -EAGAIN;
  let w = changetype<U.uffdio_writeprotect>(task_scratch(t));
  { let e = copy_from_user(t, changetype<usize>(w), arg, offsetof<U.uffdio_writeprotect>()); if (e < 0) return e; } // a userfault on the argument: wait, then reissue
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
 * userfaultfd_poll (§8.5): EPOLLERR before UFFDIO_API and on a blocking fd (a fault may be
 * woken before it is read, so only non-blocking fds are pollable); EPOLLIN while a page
 * fault is unread. Never a hang-up.
 */
export function userfaultfd_poll(f: file): i32 {
  let ctx = CTX(f.private_data);
  if (!ctx_initialized(ctx)) return U.POLLERR;
  if (!(f.f_flags & U.O_NONBLOCK)) return U.POLLERR;
  return ctx.pending_head != 0 ? U.POLLIN : 0;
}

/** Park `t` on the fd's wait queue until a message arrives (blocking read or poll). */
export function userfaultfd_wait_readable(t: task_struct, f: file): void {
  let ctx = CTX(f.private_data);
  userfaultfd_ctx_get(ctx);
  t.wq_ctx = changetype<u32>(ctx);
  t.wq_state = WQ_READER;
  t.wq_next = ctx.readers_head;
  ctx.readers_head = changetype<u32>(t);
  set_waiting(t);
}
