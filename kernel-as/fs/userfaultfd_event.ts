// The non-cooperative events of a userfaultfd (fs/userfaultfd.c: dup_userfaultfd,
// mremap_userfaultfd_prep / _complete, userfaultfd_remove, userfaultfd_unmap_prep,
// userfaultfd_event_wait_completion) and the release of a ctx, which drops its unread events.
import { task_struct, RESTART_UFFD_EVENTS } from "../kernel/types";
import { mm_struct, vm_area_struct } from "../mm/types";
import { VM_UFFD_WP } from "../abi/kernel";
import * as U from "../abi/uapi";
import { ENOMEM, ERESTARTSYS } from "../abi/errno";
import { CACHE_UFFD_CTX, CACHE_UFFD_EVENT } from "../init/state";
import { kmem_cache_alloc, kmem_cache_free } from "../mm/slab";
import { userfaultfd_ctx, CTX, uffd_event, EVT } from "../mm/userfaultfd_k";
import { VMA, find_vma, vma_try_merge, __VM_UFFD_FLAGS } from "../mm/vma";
import { uffd_wp_range } from "../mm/userfaultfd";
import { restart_set } from "../kernel/restart";
import { wait_queue_entry, __add_wait_queue, wait_queue_unlink, wait_queue_first, wait_queue_last, set_task_waiting, wake_up_process,
  WQ_REF_UFFD_CTX } from "../kernel/wait";
import { userfaultfd_ctx_get, userfaultfd_ctx_put, userfaultfd_wake_range, userfaultfd_wake_readers } from "./userfaultfd_wait";

// @ts-ignore: decorator
@inline function TASK(p: u32): task_struct { return changetype<task_struct>(<usize>p); }
// @ts-ignore: decorator
@inline function q_event(ctx: userfaultfd_ctx): usize { return changetype<usize>(ctx) + offsetof<userfaultfd_ctx>("event_wqh"); }

/** A delivered event is a wait_queue_entry on its ctx's event_wqh. */
// @ts-ignore: decorator
@inline function event_wq(ev: uffd_event): wait_queue_entry {
  // The shared fields must lay out as wait_queue_entry's (constant-folded away when they do).
  if (offsetof<uffd_event>("head") != offsetof<wait_queue_entry>("head") || offsetof<uffd_event>("task") != offsetof<wait_queue_entry>("task") ||
    offsetof<uffd_event>("ctx") != offsetof<wait_queue_entry>("ref") || offsetof<uffd_event>("ref_kind") != offsetof<wait_queue_entry>("ref_kind")) unreachable();
  return changetype<wait_queue_entry>(ev);
}

/** The oldest delivered, unread event of `ctx` (read() takes it), or null. */
export function userfaultfd_oldest_event(ctx: userfaultfd_ctx): uffd_event | null {
  let e = wait_queue_last(q_event(ctx));
  return e ? changetype<uffd_event>(e) : null;
}

/** The newest delivered event (a read stops after it: later ones wait for the next read), or null. */
export function userfaultfd_newest_event(ctx: userfaultfd_ctx): uffd_event | null {
  let e = wait_queue_first(q_event(ctx));
  return e ? changetype<uffd_event>(e) : null;
}

/** Whether an event is delivered and unread. */
// @ts-ignore: decorator
@inline export function userfaultfd_event_pending(ctx: userfaultfd_ctx): bool { return load<u32>(q_event(ctx)) != 0; }

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
  ev.ref_kind = WQ_REF_UFFD_CTX;
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

/**
 * Forget an event nobody read (the fork failed, the ctx was released, the producer gave up):
 * off its ctx's queue, mmap_changing and the references dropped; a FORK event's child ctx is
 * released, so the child's VMAs end up unregistered (userfaultfd_event_wait_completion).
 * The caller has taken it off the producer's list.
 */
function userfaultfd_event_drop(ev: uffd_event): void {
  let ctx = CTX(ev.ctx);
  wait_queue_unlink(event_wq(ev));
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
    __add_wait_queue(q_event(ctx), event_wq(ev), t);
    userfaultfd_wake_readers(ctx);
    return true;
  }
  wake_up_process(t);
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
  set_task_waiting(t);
  return -ERESTARTSYS;
}

/** Deliver `t`'s events and wait without setting a restart (the caller set its own). */
export function userfaultfd_events_wait(t: task_struct): bool {
  if (!userfaultfd_events_deliver_or_wake(t)) return false;
  set_task_waiting(t);
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
export function userfaultfd_event_complete(ctx: userfaultfd_ctx, ev: uffd_event): void {
  wait_queue_unlink(event_wq(ev));
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

/** The reissue of a call whose events are still unread: wait on. */
export function userfaultfd_events_wait_again(t: task_struct): i64 {
  set_task_waiting(t);
  return -ERESTARTSYS;
}

// ---- release ---------------------------------------------------------------------------------

/**
 * Step 2 of the release (userfaultfd_release): every VMA of the ctx's mm that points at it loses its uffd
 * flags, its uffd-wp bits and the ctx (neighbours may merge).
 */
function userfaultfd_clear_vmas(ctx: userfaultfd_ctx): void {
  let mm = changetype<mm_struct>(<usize>ctx.mm);
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
 * userfaultfd_release: the last reference to the file went. In order: mark the ctx
 * released, unregister its VMAs, wake every faulter, drop the unread events (their producers
 * go on), wake the readers and pollers.
 */

export function userfaultfd_release_ctx(ctx: userfaultfd_ctx): void {
  ctx.released = 1;
  userfaultfd_clear_vmas(ctx);
  userfaultfd_wake_range(ctx, 0, 0);
  // Producers waiting on an unread event: the event goes, the producer delivers its next
  // one or is woken (userfaultfd_event_wait_completion sees ctx->released).
  while (userfaultfd_event_pending(ctx)) {
    let ev = userfaultfd_oldest_event(ctx)!;
    let t = TASK(ev.task);
    task_events_unlink(t, ev);
    userfaultfd_event_drop(ev);
    userfaultfd_events_deliver_or_wake(t);
  }
  userfaultfd_wake_readers(ctx);
  userfaultfd_ctx_put(ctx);
}
