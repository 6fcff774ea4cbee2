// The userfaultfd file (fs/userfaultfd.c): contexts, the wait queues, handle_userfault,
// read(), poll, fdinfo, the ioctl parser (COPY, ZEROPAGE, MOVE, WRITEPROTECT, CONTINUE,
// POISON, WAKE), registration, release, and the non-cooperative events (FORK, REMAP, REMOVE,
// UNMAP) with the hooks mm/ and kernel/fork call.
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
// An event producer, or a COPY whose source faulted after some pages, waits the same way,
// but part of its effect is already done: its reissue resumes from the task's restart block
// (kernel/restart.ts) instead of running the call again.
import { task_struct, files_struct, TASK_RUNNING } from "../kernel/types";
import { task_frame, task_scratch, find_task } from "../kernel/sched";
import { vm_fault, mm_struct, vm_area_struct, VM_FAULT_SIGBUS, VM_FAULT_RETRY, FAULT_FLAG_WRITE, FAULT_FLAG_USER,
  FAULT_FLAG_ALLOW_RETRY, FAULT_FLAG_RETRY_NOWAIT } from "../mm/types";
import { VM_UFFD_MISSING, VM_UFFD_WP, VM_UFFD_MINOR, VM_MAYWRITE, CAP_SYS_PTRACE, host_frame } from "../abi/kernel";
import { mmdrop } from "../kernel/fork";
import { userfaultfd_ctx, CTX, UFFD_FEATURE_INITIALIZED, uffd_event, EVT } from "../mm/userfaultfd_k";
export { userfaultfd_ctx, CTX, UFFD_FEATURE_INITIALIZED };
import * as U from "../abi/uapi";
import { EPERM, EINVAL, EFAULT, ENOMEM, EBUSY, EAGAIN, ESRCH, ENOTTY, ERESTARTSYS, EBADF } from "../abi/errno";
import { K, CACHE_UFFD_CTX, CACHE_UFFD_EVENT } from "../init/state";
import { kmem_cache_alloc, kmem_cache_free } from "../mm/slab";
import { file, FILE_UFFD, FMODE_READ } from "./types";
import { fget, get_file, fput, alloc_file, get_unused_fd_flags, put_unused_fd, fd_install } from "./file";
import { userfaultfd_file } from "./file_ops";
import { restart_set, restart_clear } from "../kernel/restart";
import { add_wait_queue, set_task_waiting, wake_up_process, wake_up, WQ_REF_FILE } from "../kernel/wait";
import { RESTART_UFFD_EVENTS, RESTART_UFFD_OUTFIELD, RESTART_UFFD_COPY } from "../kernel/types";
import { copy_from_user, copy_to_user } from "../mm/uaccess";
import { VMA, find_vma, vma_modify, vma_try_merge, __VM_UFFD_FLAGS } from "../mm/vma";
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
// @ts-ignore: decorator
@inline function set_waiting(t: task_struct): void { set_task_waiting(t); }

/** Unpark `t` (wake_up): off the ctx's queues, then clear the wait word and notify a worker parked on it. */
function wake_task(t: task_struct): void {
  t.wq_state = WQ_NONE;
  t.wq_ctx = 0;
  t.wq_next = 0;
  wake_up_process(t);
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
// @ts-ignore: decorator
@inline function q_fd_wqh(ctx: userfaultfd_ctx): usize { return changetype<usize>(ctx) + offsetof<userfaultfd_ctx>("fd_wqh"); }

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

/** Wake the tasks in read() and in poll() (a message arrived, or the ctx is going away). */
function wake_readers(ctx: userfaultfd_ctx): void {
  wake_up(q_fd_wqh(ctx));
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
@inline export function userfaultfd_ctx_get(ctx: userfaultfd_ctx): void { ctx.refcount++; }

export function userfaultfd_ctx_put(ctx: userfaultfd_ctx): void {
  if (--ctx.refcount > 0) return;
  let mm = MMOF(ctx);
  kmem_cache_free(CACHE_UFFD_CTX, changetype<usize>(ctx));
  mmdrop(mm);
}

/**
 * Step 2 of the release (§8.7): every VMA of the ctx's mm that points at it loses its uffd
 * flags, its uffd-wp bits and the ctx (neighbours may merge).
 */
function userfaultfd_clear_vmas(ctx: userfaultfd_ctx): void {
  let mm = MMOF(ctx);
  if (mm.dead) return;
  let p = mm.mmap;
  while (p != 0) {
    let v = VMA(p);
    p = v.vm_next;
    if (v.uffd_ctx != changetype<u32>(ctx)) continue;
    if (v.vm_flags & VM_UFFD_WP) uffd_wp_range(mm, v, v.vm_start, v.vm_end, false);
    v.vm_flags &= ~__VM_UFFD_FLAGS;
    v.uffd_ctx = 0;
    let m = vma_try_merge(mm, v);
    p = m.vm_next;
  }
}

/**
 * userfaultfd_release: the last reference to the file went (§8.7). In order: mark the ctx
 * released, unregister its VMAs, wake every faulter, drop the unread events (their producers
 * go on), wake the readers and pollers.
 */
export function userfaultfd_release(f: file): void {
  userfaultfd_release_ctx(CTX(f.private_data));
}

function userfaultfd_release_ctx(ctx: userfaultfd_ctx): void {
  ctx.released = 1;
  userfaultfd_clear_vmas(ctx);
  userfaultfd_wake_range(ctx, 0, 0);
  // Producers waiting on an unread event: the event goes, the producer delivers its next
  // one or is woken (userfaultfd_event_wait_completion sees ctx->released).
  while (ctx.events_head != 0) {
    let ev = EVT(ctx.events_head);
    let t = TASK(ev.task);
    task_events_unlink(t, ev);
    userfaultfd_event_drop(ev);
    userfaultfd_events_deliver_or_wake(t);
  }
  wake_readers(ctx);
  userfaultfd_ctx_put(ctx);
}

// ---- non-cooperative events (§8.6) -----------------------------------------------------------
//
// A producer (munmap, mmap over a range, mremap, madvise, fork) prepares one uffd_event per
// ctx that wants one: the event takes a ctx reference and raises ctx.mmap_changing, and goes
// on the producer's list (task.ev_head, in delivery order). When the operation is done the
// producer delivers the first event (queued on its ctx, readers woken) and waits; reading an
// event completes it (mmap_changing drops) and delivers the producer's next one, and the last
// one wakes the producer. The producer's system call then returns the result it recorded
// (RESTART_UFFD_EVENTS, kernel/restart.ts), without redoing anything.

/** Prepare an event of `t` for `ctx` (FIFO among events of the same `order`). Null: ENOMEM. */
function userfaultfd_event_alloc(t: task_struct, ctx: userfaultfd_ctx, event: u32, order: u32): uffd_event | null {
  let p = kmem_cache_alloc(CACHE_UFFD_EVENT);
  if (p == 0) return null;
  let ev = changetype<uffd_event>(p);
  ev.ctx = changetype<u32>(ctx);
  ev.task = changetype<u32>(t);
  ev.event = event;
  ev.order = order;
  userfaultfd_ctx_get(ctx);
  ctx.mmap_changing++;
  // Insert after the last event whose order is not greater.
  let prev: u32 = 0;
  let q = t.ev_head;
  while (q != 0 && EVT(q).order <= order) {
    prev = q;
    q = EVT(q).task_next;
  }
  ev.task_next = q;
  if (prev == 0) t.ev_head = p;
  else EVT(prev).task_next = <u32>p;
  if (q == 0) t.ev_tail = <u32>p;
  return ev;
}

/** Take `ev` off its producer's list. */
function task_events_unlink(t: task_struct, ev: uffd_event): void {
  let prev: u32 = 0;
  let q = t.ev_head;
  let e = changetype<u32>(ev);
  while (q != 0 && q != e) {
    prev = q;
    q = EVT(q).task_next;
  }
  if (q == 0) return;
  if (prev == 0) t.ev_head = ev.task_next;
  else EVT(prev).task_next = ev.task_next;
  if (t.ev_tail == e) t.ev_tail = prev;
  ev.task_next = 0;
}

/** Take a delivered `ev` off its ctx's queue. */
function ctx_events_unlink(ctx: userfaultfd_ctx, ev: uffd_event): void {
  let prev: u32 = 0;
  let q = ctx.events_head;
  let e = changetype<u32>(ev);
  while (q != 0 && q != e) {
    prev = q;
    q = EVT(q).next;
  }
  if (q == 0) return;
  if (prev == 0) ctx.events_head = ev.next;
  else EVT(prev).next = ev.next;
  if (ctx.events_tail == e) ctx.events_tail = prev;
  ev.next = 0;
  ev.queued = 0;
}

/**
 * Forget an event nobody read (the fork failed, the ctx was released, the producer gave up):
 * off its ctx's queue, mmap_changing and the references dropped; a FORK event's child ctx is
 * released, so the child's VMAs end up unregistered (userfaultfd_event_wait_completion).
 * The caller has taken it off the producer's list.
 */
function userfaultfd_event_drop(ev: uffd_event): void {
  let ctx = CTX(ev.ctx);
  if (ev.queued) ctx_events_unlink(ctx, ev);
  ctx.mmap_changing--;
  let n = ev.new_ctx;
  kmem_cache_free(CACHE_UFFD_EVENT, changetype<usize>(ev));
  if (n != 0) userfaultfd_release_ctx(CTX(n));
  userfaultfd_ctx_put(ctx);
}

/**
 * Deliver `t`'s next event (events for a released ctx are dropped); with none left, wake
 * `t`. Returns whether an event is now queued and `t` keeps waiting.
 */
function userfaultfd_events_deliver_or_wake(t: task_struct): bool {
  while (t.ev_head != 0) {
    let ev = EVT(t.ev_head);
    let ctx = CTX(ev.ctx);
    if (ctx.released) {
      task_events_unlink(t, ev);
      userfaultfd_event_drop(ev);
      continue;
    }
    ev.queued = 1;
    ev.next = 0;
    if (ctx.events_tail != 0) EVT(ctx.events_tail).next = changetype<u32>(ev);
    else ctx.events_head = changetype<u32>(ev);
    ctx.events_tail = changetype<u32>(ev);
    wake_readers(ctx);
    return true;
  }
  wake_task(t);
  return false;
}

/**
 * The end of a system call that prepared events: deliver them and wait until they are read
 * (the call then returns `ret` on its reissue), or return `ret` if there are none.
 */
export function userfaultfd_events_complete(t: task_struct, ret: i64): i64 {
  if (t.ev_head == 0) return ret;
  if (!userfaultfd_events_deliver_or_wake(t)) return ret;
  restart_set(t, RESTART_UFFD_EVENTS, ret);
  set_waiting(t);
  return -ERESTARTSYS;
}

/** Deliver `t`'s events and wait without setting a restart (the caller set its own). */
export function userfaultfd_events_wait(t: task_struct): bool {
  if (!userfaultfd_events_deliver_or_wake(t)) return false;
  set_waiting(t);
  return true;
}

/** Whether `t` still waits for one of its events to be read. */
export function userfaultfd_events_pending(t: task_struct): bool { return t.ev_head != 0; }

/** The producer gave up waiting (another entry, exit): its events go unread. */
export function userfaultfd_events_abandon(t: task_struct): void {
  while (t.ev_head != 0) {
    let ev = EVT(t.ev_head);
    task_events_unlink(t, ev);
    userfaultfd_event_drop(ev);
  }
}

/**
 * read() took event `ev` (the head of its producer's list): it is done. mmap_changing drops
 * and the producer delivers its next event, or wakes up.
 */
function userfaultfd_event_complete(ctx: userfaultfd_ctx, ev: uffd_event): void {
  ctx_events_unlink(ctx, ev);
  let t = TASK(ev.task);
  task_events_unlink(t, ev);
  ctx.mmap_changing--;
  kmem_cache_free(CACHE_UFFD_EVENT, changetype<usize>(ev));
  userfaultfd_events_deliver_or_wake(t);
  userfaultfd_ctx_put(ctx);
}

/**
 * userfaultfd_unmap_prep: [start, end) is about to leave the address space. One UNMAP event
 * per ctx with EVENT_UNMAP among the VMAs there; identical (ctx, start, end) only once.
 */
export function userfaultfd_unmap_prep(t: task_struct, mm: mm_struct, start: u64, end: u64, order: u32): i32 {
  let v = find_vma(mm, start);
  while (v && v.vm_start < end) {
    let c = v.uffd_ctx;
    if (c != 0 && (CTX(c).features & U.UFFD_FEATURE_EVENT_UNMAP) && !has_unmap_event(t, c, start, end)) {
      let ev = userfaultfd_event_alloc(t, CTX(c), U.UFFD_EVENT_UNMAP, order);
      if (!ev) return -ENOMEM;
      ev.arg0 = start;
      ev.arg1 = end;
    }
    v = v.vm_next ? VMA(v.vm_next) : null;
  }
  return 0;
}

function has_unmap_event(t: task_struct, c: u32, start: u64, end: u64): bool {
  let q = t.ev_head;
  while (q != 0) {
    let e = EVT(q);
    if (e.event == U.UFFD_EVENT_UNMAP && e.ctx == c && e.arg0 == start && e.arg1 == end) return true;
    q = e.task_next;
  }
  return false;
}

/**
 * mremap_userfaultfd_prep: `n` is the moved copy of a registered VMA. With EVENT_REMAP a
 * REMAP event is prepared (its payload set by mremap_userfaultfd_complete); without it the
 * moved VMA loses its registration.
 */
export function mremap_userfaultfd_prep(t: task_struct, n: vm_area_struct, order: u32): i32 {
  let c = n.uffd_ctx;
  if (c == 0) return 0;
  if (CTX(c).features & U.UFFD_FEATURE_EVENT_REMAP) {
    if (find_event(t, U.UFFD_EVENT_REMAP, c) != null) return 0;
    return userfaultfd_event_alloc(t, CTX(c), U.UFFD_EVENT_REMAP, order) ? 0 : -ENOMEM;
  }
  n.vm_flags &= ~__VM_UFFD_FLAGS;
  n.uffd_ctx = 0;
  return 0;
}

/** mremap_userfaultfd_complete: the REMAP payload; a failed mremap sends none. */
export function mremap_userfaultfd_complete(t: task_struct, from: u64, ret: i64, len: u64): void {
  let q = t.ev_head;
  while (q != 0) {
    let e = EVT(q);
    q = e.task_next;
    if (e.event != U.UFFD_EVENT_REMAP) continue;
    if (ret < 0) {
      task_events_unlink(t, e);
      userfaultfd_event_drop(e);
      continue;
    }
    e.arg0 = from;
    e.arg1 = <u64>ret;
    e.arg2 = len;
  }
}

function find_event(t: task_struct, event: u32, c: u32): uffd_event | null {
  let q = t.ev_head;
  while (q != 0) {
    let e = EVT(q);
    if (e.event == event && e.ctx == c) return e;
    q = e.task_next;
  }
  return null;
}

/**
 * userfaultfd_remove: madvise is about to drop [start, end) of `v`. With EVENT_REMOVE a
 * REMOVE event is prepared (the caller delivers it and waits *before* zapping) and true is
 * returned; false means no event (Linux returns the opposite: whether the lock is still held).
 */
export function userfaultfd_remove(t: task_struct, v: vm_area_struct, start: u64, end: u64): bool {
  let c = v.uffd_ctx;
  if (c == 0 || !(CTX(c).features & U.UFFD_FEATURE_EVENT_REMOVE) || CTX(c).released) return false;
  let ev = userfaultfd_event_alloc(t, CTX(c), U.UFFD_EVENT_REMOVE, 0);
  if (!ev) return false; // Linux's event lives on the stack and cannot fail: no event then
  ev.arg0 = start;
  ev.arg1 = end;
  return true;
}

/**
 * dup_userfaultfd: at fork, `n` is the child's copy of a parent VMA. Its parent ctx with
 * EVENT_FORK gets one child ctx (same flags and features, serving `child`) and one FORK event
 * per fork; `n` points at the child ctx. Without EVENT_FORK `n` loses its registration.
 */
export function dup_userfaultfd(t: task_struct, n: vm_area_struct, child: mm_struct): i32 {
  let c = n.uffd_ctx;
  if (c == 0 || !(CTX(c).features & U.UFFD_FEATURE_EVENT_FORK)) {
    n.vm_flags &= ~__VM_UFFD_FLAGS;
    n.uffd_ctx = 0;
    return 0;
  }
  let ev = find_event(t, U.UFFD_EVENT_FORK, c);
  if (!ev) {
    let p = kmem_cache_alloc(CACHE_UFFD_CTX);
    if (p == 0) return -ENOMEM;
    let nc = changetype<userfaultfd_ctx>(p);
    nc.refcount = 1;
    nc.flags = CTX(c).flags;
    nc.features = CTX(c).features;
    nc.mm = changetype<u32>(child);
    child.mm_count++;
    ev = userfaultfd_event_alloc(t, CTX(c), U.UFFD_EVENT_FORK, 0);
    if (!ev) {
      userfaultfd_ctx_put(nc);
      return -ENOMEM;
    }
    ev.new_ctx = <u32>p;
  }
  n.uffd_ctx = ev.new_ctx;
  return 0;
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

/** read(2) on a userfaultfd: whole 32-byte messages, page faults first, then events (each FIFO). */
export function userfaultfd_read(t: task_struct, f: file, ubuf: u64, count: u64): i64 {
  let ctx = CTX(f.private_data);
  if (!ctx_initialized(ctx)) return -EINVAL;
  if (count < <u64>U.UFFD_MSG_SIZE) return -EINVAL;
  let done: u64 = 0;
  let msg = changetype<U.uffd_msg>(task_scratch(t));
  // Completing an event lets its producer deliver the next one; in Linux the producer must
  // run first, so events delivered during this read are left for the next one.
  let ev_last = ctx.events_tail;
  while (count - done >= <u64>U.UFFD_MSG_SIZE) {
    if (ctx.pending_head != 0) {
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
    } else if (ctx.events_head != 0 && ev_last != 0) {
      let e = ctx.events_head;
      let r = read_event(t, ctx, EVT(e), ubuf + done, msg);
      if (r < 0) return done > 0 ? <i64>done : r;
      if (e == ev_last) ev_last = 0;
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
  // A userfault on the ioctls word: wait and reissue (registering again gives the same result).
  { let w = copy_to_user(t, arg + 24, task_scratch(t) + 64, 8); if (w < 0) return w == -ERESTARTSYS ? w : -EFAULT; }
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
  let e = copy_to_user(t, arg + outoff, task_scratch(t) + 120, 8);
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
  store<i64>(task_scratch(t) + 120, res);
  let e = copy_to_user(t, t.restart_a, task_scratch(t) + 120, 8);
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

/** The reissue of a call whose events are still unread: wait on. */
export function userfaultfd_events_wait_again(t: task_struct): i64 {
  set_waiting(t);
  return -ERESTARTSYS;
}

function mmap_changing_eagain(t: task_struct, arg: u64, outoff: u64): i64 {
  store<i64>(task_scratch(t) + 120, -EAGAIN);
  let w = copy_to_user(t, arg + outoff, task_scratch(t) + 120, 8);
  if (w < 0) return w == -ERESTARTSYS ? w : -EFAULT; // a reissue checks mmap_changing again
  return -EAGAIN;
}

/**
 * UFFDIO_COPY (§7.5). A copy whose source is a userfault returns -ERESTARTSYS with the task
 * queued there (the seed's retry path, mm/userfaultfd.ts); the bytes done and the argument
 * go to the task's restart block (RESTART_UFFD_COPY), and the reissued call resumes after the
 * pages already copied (userfaultfd_copy_restart), so the caller sees one call that completed
 * once the source fault was served, as on Linux.
 */
function userfaultfd_copy(t: task_struct, f: file, ctx: userfaultfd_ctx, arg: u64): i64 {
  if (ctx.mmap_changing) return mmap_changing_eagain(t, arg, 32);
  let c = changetype<U.uffdio_copy>(task_scratch(t));
  { let e = copy_from_user(t, changetype<usize>(c), arg, 32); if (e < 0) return e; } // a userfault on the argument: wait, then reissue
  if (!validate_range(c.dst, c.len) || !validate_unaligned_range(c.src, c.len)) return -EINVAL;
  if (c.mode & ~(U.UFFDIO_COPY_MODE_DONTWAKE | U.UFFDIO_COPY_MODE_WP)) return -EINVAL;
  if (MMOF(ctx).dead) return -ESRCH;
  return userfaultfd_copy_from(t, f, ctx, arg, c.dst, c.src, c.len, c.mode, 0, false);
}

/**
 * The page loop of a COPY from `done` bytes in, and the §7.1 result; a source userfault
 * records the restart. `resumed`: this is the reissue after that wait (userfaultfd_copy_restart),
 * so mfill_atomic compares the destination VMA with its retry snapshot (guest_memfd: EAGAIN
 * if it changed, spec §2.2 row 9).
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
  return fill_result(t, ctx, arg, 32, res, dst, len, (mode & U.UFFDIO_COPY_MODE_DONTWAKE) != 0);
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
  let e = copy_from_user(t, changetype<usize>(c), t.restart_args2, 32);
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
 * fault or an event is unread. Never a hang-up.
 */
export function userfaultfd_poll(f: file): i32 {
  let ctx = CTX(f.private_data);
  if (!ctx_initialized(ctx)) return U.POLLERR;
  if (!(f.f_flags & U.O_NONBLOCK)) return U.POLLERR;
  return ctx.pending_head != 0 || ctx.events_head != 0 ? U.POLLIN : 0;
}

/**
 * poll_wait on the ctx's fd_wqh (poll() of several files, fs/select.ts); the entry holds the
 * file (§8.7: a poll in progress keeps the ctx from being released). False: no memory.
 */
export function userfaultfd_poll_wait(t: task_struct, f: file): bool {
  let ctx = CTX(f.private_data);
  return add_wait_queue(t, q_fd_wqh(ctx), WQ_REF_FILE, changetype<usize>(f));
}

/** Park `t` on the ctx's reader queue until a message arrives (a blocking read). */
export function userfaultfd_wait_readable(t: task_struct, f: file): void {
  let ctx = CTX(f.private_data);
  userfaultfd_ctx_get(ctx);
  t.wq_ctx = changetype<u32>(ctx);
  t.wq_state = WQ_READER;
  t.wq_next = ctx.readers_head;
  ctx.readers_head = changetype<u32>(t);
  set_waiting(t);
}

// ---- fdinfo ------------------------------------------------------------------------------------

/** Append `v` in base 10 or 16 (lower case, no prefix) at `p`; returns the new end. */
function put_num(p: usize, v: u64, hex: bool): usize {
  let base: u64 = hex ? 16 : 10;
  let n: i32 = 0;
  let x = v;
  do { n++; x /= base; } while (x != 0);
  let q = p + <usize>n;
  x = v;
  do {
    let d = <u32>(x % base);
    q--;
    store<u8>(q, <u8>(d < 10 ? 48 + d : 87 + d));
    x /= base;
  } while (x != 0);
  return p + <usize>n;
}

function put_str(p: usize, s: string): usize {
  for (let i = 0; i < s.length; i++) store<u8>(p + <usize>i, <u8>s.charCodeAt(i));
  return p + <usize>s.length;
}

/**
 * userfaultfd_show_fdinfo (§8.5): the three lines /proc/<pid>/fdinfo/<fd> shows for a
 * userfaultfd, written at `buf`; returns their length. pending = unread page faults, total =
 * unread + read-but-unresolved; the features word includes the internal bit 31.
 */
export function userfaultfd_show_fdinfo(f: file, buf: usize): i32 {
  let ctx = CTX(f.private_data);
  let total: u64 = 0;
  let p = ctx.faults_head;
  while (p != 0) { total++; p = TASK(p).wq_next; }
  total += <u64>ctx.nr_pending;
  let q = put_str(buf, "pending:\t");
  q = put_num(q, <u64>ctx.nr_pending, false);
  q = put_str(q, "\ntotal:\t");
  q = put_num(q, total, false);
  q = put_str(q, "\nAPI:\t");
  q = put_num(q, U.UFFD_API, true);
  q = put_str(q, ":");
  q = put_num(q, ctx.features & 0xffffffff, true);
  q = put_str(q, ":");
  q = put_num(q, U.UFFD_API_IOCTLS | U.UFFD_API_RANGE_IOCTLS, true);
  q = put_str(q, "\n");
  return <i32>(q - buf);
}
