// The waiters of a userfaultfd (fs/userfaultfd.c: handle_userfault, userfaultfd_wake_function,
// __wake_userfault, the blocking read's wait on fd_wqh) and the ctx's lifetime.
//
// Nothing blocks inside the kernel. A task that must wait puts its own wait_queue_entry
// (task_uwq, kernel/wait.ts; Linux's uwq on the stack) on one of the ctx's queues, holding a
// ctx reference, parks (set_task_waiting) and returns VM_FAULT_RETRY (an access: ACCESS_RETRY)
// or -ERESTARTSYS (a system call). A faulting task goes on fault_pending_wqh; read() moves its
// entry to fault_wqh; a fill, WAKE, UNREGISTER or the release wakes the entries whose address is
// in the range and takes them off (userfaultfd_wake_function: the range filter, then
// autoremove). A blocking read() waits on fd_wqh with the pollers, and wake_up(fd_wqh) unparks
// it. A task that enters the kernel again while its entry is still queued gave up its wait (as a
// signal ends the sleep): userfaultfd_cancel_wait takes it off (kernel/fork.ts abandon_wait).
import { task_struct } from "../kernel/types";
import { K, CACHE_UFFD_CTX } from "../init/state";
import { kmem_cache_free } from "../mm/slab";
import { mmdrop } from "../kernel/fork";
import { mm_struct, vm_fault, vm_area_struct, VM_FAULT_SIGBUS, VM_FAULT_RETRY, FAULT_FLAG_WRITE, FAULT_FLAG_USER, FAULT_FLAG_ALLOW_RETRY,
  FAULT_FLAG_RETRY_NOWAIT } from "../mm/types";
import { VM_UFFD_WP, VM_UFFD_MINOR } from "../abi/kernel";
import * as U from "../abi/uapi";
import { userfaultfd_ctx, CTX } from "../mm/userfaultfd_k";
import { file } from "./types";
import { wait_queue_entry, task_uwq, __add_wait_queue, wait_queue_unlink, wait_queue_first, wait_queue_next, wait_queue_last, set_task_waiting,
  wake_up_process, wake_up, add_wait_queue, WQ_REF_FILE, WQ_REF_UFFD_CTX } from "../kernel/wait";
import { VM_BUG_ON } from "../lib/bug";

/** task_uwq(t).state */
export const UWQ_NONE: u32 = 0;
/** a userfault whose message is unread (fault_pending_wqh) */
const UWQ_PENDING: u32 = 1;
/** a userfault whose message was read (fault_wqh) */
const UWQ_FAULT: u32 = 2;
/** a blocking read() (fd_wqh) */
const UWQ_READER: u32 = 3;

// @ts-ignore: decorator
@inline function current(): task_struct { return changetype<task_struct>(<usize>K().current); }
// @ts-ignore: decorator
@inline function TASK(e: wait_queue_entry): task_struct { return changetype<task_struct>(<usize>e.task); }
// @ts-ignore: decorator
@inline function q_pending(ctx: userfaultfd_ctx): usize { return changetype<usize>(ctx) + offsetof<userfaultfd_ctx>("fault_pending_wqh"); }
// @ts-ignore: decorator
@inline function q_faults(ctx: userfaultfd_ctx): usize { return changetype<usize>(ctx) + offsetof<userfaultfd_ctx>("fault_wqh"); }
// @ts-ignore: decorator
@inline function q_fd_wqh(ctx: userfaultfd_ctx): usize { return changetype<usize>(ctx) + offsetof<userfaultfd_ctx>("fd_wqh"); }

// ---- lifetime ------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline export function userfaultfd_ctx_get(ctx: userfaultfd_ctx): void { ctx.refcount++; }

export function userfaultfd_ctx_put(ctx: userfaultfd_ctx): void {
  if (--ctx.refcount > 0) return;
  let mm = changetype<mm_struct>(<usize>ctx.mm);
  kmem_cache_free(CACHE_UFFD_CTX, changetype<usize>(ctx));
  mmdrop(mm);
}

// ---- queueing and waking -------------------------------------------------------------------

/** Queue `t`'s own entry on `head` of `ctx` in `state`, holding a ctx reference, and park `t`. */
function uwq_queue(t: task_struct, ctx: userfaultfd_ctx, head: usize, state: u32, address: u64, flags: u32): void {
  let e = task_uwq(t);
  VM_BUG_ON(e.state != UWQ_NONE); // one wait at a time: an entry cancels the previous one first
  userfaultfd_ctx_get(ctx);
  e.ref = changetype<u32>(ctx);
  e.ref_kind = WQ_REF_UFFD_CTX;
  e.key = address;
  e.key_flags = flags;
  e.state = state;
  __add_wait_queue(head, e, t);
  set_task_waiting(t);
}

/** Take `e` off its queue, unpark its task and drop the entry's ctx reference. */
function uwq_dequeue_wake(ctx: userfaultfd_ctx, e: wait_queue_entry): void {
  if (e.state == UWQ_PENDING) ctx.nr_pending--;
  wait_queue_unlink(e);
  e.state = UWQ_NONE;
  e.ref = 0;
  wake_up_process(TASK(e));
  userfaultfd_ctx_put(ctx);
}

/** Whether `t` waits on a userfaultfd queue (its own entry is queued). */
// @ts-ignore: decorator
@inline export function userfaultfd_waiting(t: task_struct): bool { return t.uwq_state != UWQ_NONE; }

/**
 * A task entering the kernel while still queued gave up its wait (the host stopped waiting,
 * as a signal would end the sleep): take it off whatever queue holds it.
 */
export function userfaultfd_cancel_wait(t: task_struct): void {
  let e = task_uwq(t);
  if (e.state == UWQ_NONE) return;
  uwq_dequeue_wake(CTX(e.ref), e);
}

/** userfaultfd_wake_function over one queue: wake and remove the entries whose address is in [start, start + len); len 0 = all. */
function wake_queue_range(ctx: userfaultfd_ctx, head: usize, start: u64, len: u64): void {
  let e = wait_queue_first(head);
  while (e) {
    let n = wait_queue_next(e);
    let a = e.key;
    if (len == 0 || (a >= start && a - start < len)) uwq_dequeue_wake(ctx, e);
    e = n;
  }
}

/** wake_userfault / __wake_userfault: wake faulters (read or not) in the range. */
export function userfaultfd_wake_range(ctx: userfaultfd_ctx, start: u64, len: u64): void {
  wake_queue_range(ctx, q_pending(ctx), start, len);
  wake_queue_range(ctx, q_faults(ctx), start, len);
}

/** Wake the tasks in read() and in poll() (a message arrived, or the ctx is going away). */
export function userfaultfd_wake_readers(ctx: userfaultfd_ctx): void {
  wake_up(q_fd_wqh(ctx));
}

// ---- the fault side ------------------------------------------------------------------------

/**
 * handle_userfault: queue a PAGEFAULT message for the current task and return
 * VM_FAULT_RETRY; the task waits until a fill, WAKE, UNREGISTER or release wakes it.
 */
export function handle_userfault(vmf: vm_fault, reason: u64): u32 {
  let vma = changetype<vm_area_struct>(<usize>vmf.vma);
  if (vma.uffd_ctx == 0) return VM_FAULT_SIGBUS;
  let ctx = CTX(vma.uffd_ctx);
  if (ctx.features & U.UFFD_FEATURE_SIGBUS) return VM_FAULT_SIGBUS;
  if (!(vmf.flags & FAULT_FLAG_USER) && (ctx.flags & U.UFFD_USER_MODE_ONLY)) return VM_FAULT_SIGBUS;
  if (!(vmf.flags & FAULT_FLAG_ALLOW_RETRY)) return VM_FAULT_SIGBUS;
  if (vmf.flags & FAULT_FLAG_RETRY_NOWAIT) return VM_FAULT_RETRY;
  if (ctx.released) return VM_FAULT_RETRY;
  let addr = (ctx.features & U.UFFD_FEATURE_EXACT_ADDRESS) ? vmf.real_address : vmf.address;
  let mflags: u64 = 0;
  if (vmf.flags & FAULT_FLAG_WRITE) mflags |= U.UFFD_PAGEFAULT_FLAG_WRITE;
  if (reason == VM_UFFD_WP) mflags |= U.UFFD_PAGEFAULT_FLAG_WP;
  if (reason == VM_UFFD_MINOR) mflags |= U.UFFD_PAGEFAULT_FLAG_MINOR;
  uwq_queue(current(), ctx, q_pending(ctx), UWQ_PENDING, addr, <u32>mflags);
  ctx.nr_pending++;
  userfaultfd_wake_readers(ctx);
  return VM_FAULT_RETRY;
}

/** Whether a page fault's message is unread. */
// @ts-ignore: decorator
@inline export function userfaultfd_fault_pending(ctx: userfaultfd_ctx): bool { return load<u32>(q_pending(ctx)) != 0; }

/** The oldest unread fault (find_userfault: the last entry, as entries go in first), or null. */
export function userfaultfd_oldest_pending(ctx: userfaultfd_ctx): wait_queue_entry | null { return wait_queue_last(q_pending(ctx)); }

/** The message of pending fault `e` was read: it moves to fault_wqh until a wake. */
export function userfaultfd_fault_read(ctx: userfaultfd_ctx, e: wait_queue_entry): void {
  VM_BUG_ON(e.state != UWQ_PENDING || ctx.nr_pending == 0);
  wait_queue_unlink(e);
  ctx.nr_pending--;
  e.state = UWQ_FAULT;
  __add_wait_queue(q_faults(ctx), e, TASK(e));
}

/** Faults read but not yet woken (fdinfo's total is these plus the pending ones). */
export function userfaultfd_nr_read_faults(ctx: userfaultfd_ctx): u64 {
  let n: u64 = 0;
  let e = wait_queue_first(q_faults(ctx));
  while (e) {
    n++;
    e = wait_queue_next(e);
  }
  return n;
}

// ---- the reader side -----------------------------------------------------------------------

/** Park `t` on the ctx's fd_wqh until a message arrives (a blocking read). */
export function userfaultfd_wait_readable(t: task_struct, f: file): void {
  let ctx = CTX(f.private_data);
  uwq_queue(t, ctx, q_fd_wqh(ctx), UWQ_READER, 0, 0);
}

/**
 * poll_wait on the ctx's fd_wqh (poll() of several files, fs/select.ts); the entry holds the
 * file, so a poll in progress keeps the ctx from being released. False: no memory.
 */
export function userfaultfd_poll_wait(t: task_struct, f: file): bool {
  let ctx = CTX(f.private_data);
  return add_wait_queue(t, q_fd_wqh(ctx), WQ_REF_FILE, changetype<usize>(f));
}
