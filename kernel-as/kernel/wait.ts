// Wait queues (include/linux/wait.h, kernel/sched/wait.c): every wait of a task on something
// other tasks do — a userfault or a blocking userfaultfd read() (fs/userfaultfd_wait.ts), poll()
// on a set of files (fs/select.ts), blocking pipe reads and writes (fs/pipe.ts), and a producer of
// non-cooperative userfaultfd events, whose delivered events are entries on the ctx's event_wqh
// (fs/userfaultfd_event.ts; the producer stays parked until its last event is read).
//
// A wait_queue_head is one u32 word inside its owner (pipe_inode_info.rd_wait / wr_wait,
// userfaultfd_ctx.fd_wqh): the first entry. An entry is a CACHE_SMALL slab object on one queue
// and on its task's list (task_struct.wait_head); it holds a reference that keeps the queue
// alive: a poll entry holds the polled *file*, as Linux's __pollwait does (get_file), a blocking
// pipe read or write the pipe's inode. So a close() by another thread while a poll sleeps on the
// file releases nothing and wakes nobody (tests/unit/poll.test.ts): the poll sleeps until its timeout or
// another wake, and its reissue reports POLLNVAL for the number no longer open. Nothing sleeps in
// the kernel: the caller queues its entries, parks the task (wait word 1) and returns
// -ERESTARTSYS; wake_up() unparks every task queued on a head and leaves the entries; the task's
// next entry into the kernel (the host's reissue, another call, exit) or the end of its timeout
// takes all of its entries off (finish_wait), which drops their references — the last one of a
// file releases it there (fput: userfaultfd_release wakes its faulters), as when Linux's poll
// returns — and a reissued call looks again. One task can wait on several heads at once (poll).
// A blocking pipe read or write also holds its file in its restart block (RESTART_RW,
// fs/read_write.ts), so its reissue goes on with that file after another thread's close().
import { task_struct } from "./types";
import { task_frame } from "./sched";
import { host_frame } from "../abi/kernel";
import { CACHE_SMALL, K } from "../init/state";
import { kmem_cache_alloc, kmem_cache_free } from "../mm/slab";
import { inode, file } from "../fs/types";
import { ihold, iput } from "../fs/inode";
import { get_file, fput } from "../fs/file";
import { VM_BUG_ON } from "../lib/bug";

/** What an entry holds a reference to (wait_queue_entry.ref_kind). */
export const WQ_REF_INODE: u32 = 1;
export const WQ_REF_FILE: u32 = 2;

//   +0  next       the next entry on the same queue (newest first)
//   +4  head       the wait_queue_head word this entry is on (0: on none)
//   +8  task       the waiting task
//   +12 task_next  the next entry of the same task (task_struct.wait_head list)
//   +16 ref        what the entry holds a reference to (the polled file, a pipe's inode, a
//                  userfaultfd ctx); ref_kind: WQ_REF_*
//   +24 key        what the waiter waits for, matched on a filtered wake (a userfault's address)
//   +32 key_flags  what the waiter reports (a userfault's UFFD_PAGEFAULT_FLAG_*)
//   +36 state      the owner's state of the entry (userfaultfd: UWQ_*)
// A slab entry (add_wait_queue) is on its task's list and leaves at finish_wait. The task's own
// entry (task_uwq, embedded in task_struct) never fails to exist and is managed by its one user,
// userfaultfd (fs/userfaultfd_wait.ts): __add_wait_queue / wait_queue_unlink.
@unmanaged export class wait_queue_entry {
  next: u32;
  head: u32;
  task: u32;
  task_next: u32;
  ref: u32;
  ref_kind: u32;
  key: u64;
  key_flags: u32;
  state: u32;
}

/** An entry that holds a userfaultfd ctx (the task's own entry only; its user drops the reference). */
export const WQ_REF_UFFD_CTX: u32 = 3;

/** The task's own entry, embedded in task_struct at uwq_next. */
// @ts-ignore: decorator
@inline export function task_uwq(t: task_struct): wait_queue_entry {
  // The embedded fields must lay out as wait_queue_entry (constant-folded away when they do).
  if (offsetof<task_struct>("uwq_key") - offsetof<task_struct>("uwq_next") != offsetof<wait_queue_entry>("key") ||
    offsetof<task_struct>("uwq_state") - offsetof<task_struct>("uwq_next") != offsetof<wait_queue_entry>("state")) unreachable();
  return changetype<wait_queue_entry>(changetype<usize>(t) + offsetof<task_struct>("uwq_next"));
}

/** __add_wait_queue: put `e` (of task `t`) first on the queue at `head`; no allocation, no reference. */
export function __add_wait_queue(head: usize, e: wait_queue_entry, t: task_struct): void {
  e.head = <u32>head;
  e.task = changetype<u32>(t);
  e.next = load<u32>(head);
  store<u32>(head, changetype<u32>(e));
}

/** The first (newest) entry on the queue at `head`, or null. */
// @ts-ignore: decorator
@inline export function wait_queue_first(head: usize): wait_queue_entry | null {
  let p = load<u32>(head);
  return p == 0 ? null : changetype<wait_queue_entry>(<usize>p);
}

/** The last (oldest) entry on the queue at `head`, or null (list_last_entry; a walk here). */
export function wait_queue_last(head: usize): wait_queue_entry | null {
  let e = wait_queue_first(head);
  if (!e) return null;
  let n = wait_queue_next(e);
  while (n) {
    e = n;
    n = wait_queue_next(e);
  }
  return e;
}

/** The entry after `e` on its queue, or null. */
// @ts-ignore: decorator
@inline export function wait_queue_next(e: wait_queue_entry): wait_queue_entry | null {
  return e.next == 0 ? null : changetype<wait_queue_entry>(<usize>e.next);
}

// @ts-ignore: decorator
@inline function WQE(p: u32): wait_queue_entry { return changetype<wait_queue_entry>(<usize>p); }

// The park / unpark protocol, kernel side (the only code that touches the wait word): a task
// that must wait is parked (word 1) before its entry returns VM_FAULT_RETRY / ACCESS_RETRY or
// -ERESTARTSYS; the host waits until the word is 0 (an async thread leaves the ready set, a
// worker parks in Atomics.wait on it) and then retries the access or reissues the call. Any
// wake unparks: word 0, then atomic.notify for a parked worker.

// @ts-ignore: decorator
@inline function wait_word(t: task_struct): usize { return changetype<usize>(task_frame(t)) + offsetof<host_frame>("wait_word"); }

/** Park `t`: the host waits on its wait word after the -ERESTARTSYS. */
export function set_task_waiting(t: task_struct): void {
  let w = wait_word(t);
  if (ASC_FEATURE_THREADS) atomic.store<i32>(w, 1);
  else store<i32>(w, 1);
}

/** Whether `t` is parked (its wake has not come yet). */
export function task_parked(t: task_struct): bool {
  let w = wait_word(t);
  return (ASC_FEATURE_THREADS ? atomic.load<i32>(w) : load<i32>(w)) != 0;
}

/** wake_up_process: clear the wait word and notify a worker parked on it. */
export function wake_up_process(t: task_struct): void {
  let w = wait_word(t);
  if (ASC_FEATURE_THREADS) {
    atomic.store<i32>(w, 0);
    if (K().smp) atomic.notify(w, 1); // no other host thread can be parked on it without smp
  } else {
    store<i32>(w, 0);
  }
}

/**
 * add_wait_queue for `t` on the queue at `head` (the address of the head word), taking a
 * reference to `ref` of kind `ref_kind` (WQ_REF_*), which keeps the queue alive. False: no memory.
 */
export function add_wait_queue(t: task_struct, head: usize, ref_kind: u32, ref: usize): bool {
  VM_BUG_ON(ref_kind != WQ_REF_INODE && ref_kind != WQ_REF_FILE);
  let p = kmem_cache_alloc(CACHE_SMALL);
  if (p == 0) return false;
  let e = changetype<wait_queue_entry>(p);
  e.head = <u32>head;
  e.task = changetype<u32>(t);
  e.next = load<u32>(head);
  store<u32>(head, <u32>p);
  e.task_next = t.wait_head;
  t.wait_head = <u32>p;
  e.ref = <u32>ref;
  e.ref_kind = ref_kind;
  if (ref_kind == WQ_REF_INODE) ihold(changetype<inode>(ref));
  else get_file(changetype<file>(ref));
  return true;
}

/** Take entry `e` off its queue (if it is on one). */
export function wait_queue_unlink(e: wait_queue_entry): void {
  let head = <usize>e.head;
  if (head == 0) return;
  let me = changetype<u32>(e);
  let prev: u32 = 0;
  let q = load<u32>(head);
  while (q != 0 && q != me) {
    prev = q;
    q = WQE(q).next;
  }
  if (q != 0) {
    if (prev == 0) store<u32>(head, e.next);
    else WQE(prev).next = e.next;
  }
  e.next = 0;
  e.head = 0;
}

/**
 * finish_wait for every queue `t` is on: the entries go, with their references. A last file
 * reference releases the file here (fput: pipe_release, userfaultfd_release), which may wake
 * other tasks; each entry is off its queue before its reference goes. The wait word is
 * cleared (a wait the host gave up on).
 */
export function finish_wait(t: task_struct): void {
  while (t.wait_head != 0) {
    let e = WQE(t.wait_head);
    t.wait_head = e.task_next;
    wait_queue_unlink(e);
    let ref = <usize>e.ref;
    let kind = e.ref_kind;
    kmem_cache_free(CACHE_SMALL, changetype<usize>(e));
    if (kind == WQ_REF_INODE) iput(changetype<inode>(ref));
    else fput(changetype<file>(ref));
  }
  wake_up_process(t);
}

/** wake_up: unpark every task queued on `head` (their entries stay until they run). */
export function wake_up(head: usize): void {
  let q = load<u32>(head);
  while (q != 0) {
    let e = WQE(q);
    wake_up_process(changetype<task_struct>(<usize>e.task));
    q = e.next;
  }
}

/** Whether anyone waits on `head`. */
// @ts-ignore: decorator
@inline export function waitqueue_active(head: usize): bool { return load<u32>(head) != 0; }
