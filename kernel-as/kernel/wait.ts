// Wait queues (include/linux/wait.h, kernel/sched/wait.c) for the waits that are not
// userfaultfd's own fault / reader / event queues: poll() on a set of files (fs/select.ts) and
// blocking pipe read / write (fs/pipe.ts).
//
// A wait_queue_head is one u32 word inside its owner (pipe_inode_info.rd_wait / wr_wait,
// userfaultfd_ctx.fd_wqh): the first entry. An entry is a CACHE_SMALL slab object on one queue
// and on its task's list (task_struct.wait_head); it holds a reference that keeps the queue
// alive: a poll entry holds the polled *file*, as Linux's __pollwait does (get_file), a blocking
// pipe read or write the pipe's inode. So a close() by another thread while a poll sleeps on the
// file releases nothing and wakes nobody (§8.5, §8.7): the poll sleeps until its timeout or
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

/** What an entry holds a reference to (wait_queue_entry.ref_kind). */
export const WQ_REF_INODE: u32 = 1;
export const WQ_REF_FILE: u32 = 2;

//   next       the next entry on the same queue
//   head       the wait_queue_head word this entry is on
//   task       the waiting task
//   task_next  the next entry of the same task
//   ref        what the entry holds a reference to (the polled file, a pipe's inode); ref_kind: WQ_REF_*
@unmanaged export class wait_queue_entry {
  next: u32;
  head: u32;
  task: u32;
  task_next: u32;
  ref: u32;
  ref_kind: u32;
}

// @ts-ignore: decorator
@inline function WQE(p: u32): wait_queue_entry { return changetype<wait_queue_entry>(<usize>p); }

/** Park `t`: the host waits on its wait word after the -ERESTARTSYS. */
export function set_task_waiting(t: task_struct): void {
  let w = changetype<usize>(task_frame(t)) + offsetof<host_frame>("wait_word");
  if (ASC_FEATURE_THREADS) atomic.store<i32>(w, 1);
  else store<i32>(w, 1);
}

/** wake_up_process: clear the wait word and notify a worker parked on it. */
export function wake_up_process(t: task_struct): void {
  let w = changetype<usize>(task_frame(t)) + offsetof<host_frame>("wait_word");
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

/** Take entry `e` off its queue. */
function wait_queue_unlink(e: wait_queue_entry): void {
  let head = <usize>e.head;
  let me = changetype<u32>(e);
  let prev: u32 = 0;
  let q = load<u32>(head);
  while (q != 0 && q != me) {
    prev = q;
    q = WQE(q).next;
  }
  if (q == 0) return;
  if (prev == 0) store<u32>(head, e.next);
  else WQE(prev).next = e.next;
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
