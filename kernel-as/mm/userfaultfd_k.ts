// VMA-side userfaultfd definitions (include/linux/userfaultfd_k.h): the context record and
// the predicates the fault and fill paths ask of a VMA. Both fs/userfaultfd.ts (the fd) and
// mm/ (faults, fills) use these; mm/ never imports fs/userfaultfd.ts for them.
import { vm_area_struct } from "./types";
import { VM_UFFD_MISSING, VM_UFFD_WP, VM_UFFD_MINOR } from "../abi/kernel";
import { UFFD_FEATURE_WP_UNPOPULATED, UFFD_FEATURE_WP_ASYNC } from "../abi/uapi";

// struct userfaultfd_ctx. The wait queues are kernel/wait.ts heads (fs/userfaultfd_wait.ts):
//   fault_pending_wqh  faulting tasks whose message is unread (newest first)
//   fault_wqh          faulting tasks whose message was read, not yet woken
//   fd_wqh             tasks in a blocking read() and in poll()
//   event_wqh          delivered, unread non-cooperative events (uffd_event, newest first)
@unmanaged export class userfaultfd_ctx {
  refcount: i32;
  /** O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY given at creation */
  flags: u32;
  /** enabled features; bit 31 = UFFD_FEATURE_INITIALIZED */
  features: u64;
  released: i32;
  mmap_changing: i32;
  /** the address space served: the creator's (holds an mm_count reference) */
  mm: u32;
  fault_pending_wqh: u32;
  fault_wqh: u32;
  /** entries on fault_pending_wqh (the pending: line of fdinfo) */
  nr_pending: u32;
  event_wqh: u32;
  fd_wqh: u32;
}

// A non-cooperative event (the userfaultfd_wait_queue a producer puts on event_wqh). Linux
// keeps it on the producer's stack; here it is a slab object on the producer's list
// (task.ev_head, in delivery order) and, once delivered, a kernel/wait.ts entry on its ctx's
// event_wqh: its first six fields are a wait_queue_entry's (fs/userfaultfd_event.ts checks).
//   +0  next        event_wqh (wait_queue_entry.next)
//   +4  head        the event_wqh it is on once delivered, else 0
//   +8  task        the producer (task_struct address)
//   +12 task_next   the producer's list
//   +16 ctx         the ctx it is for (wait_queue_entry.ref): holds a reference and one count
//                   of ctx.mmap_changing
//   +20 ref_kind    WQ_REF_UFFD_CTX
//   new_ctx     FORK: the child's ctx (holds its only reference until read() gives it a file)
//   event, arg0..arg2   the uffd_msg: event code and the 24-byte union
@unmanaged export class uffd_event {
  next: u32;
  head: u32;
  task: u32;
  task_next: u32;
  ctx: u32;
  ref_kind: u32;
  new_ctx: u32;
  event: u32;
  /** delivery phase within one call (mremap: UNMAP of the target, REMAP, UNMAP of tail/source) */
  order: u32;
  arg0: u64;
  arg1: u64;
  arg2: u64;
}

export const UFFD_FEATURE_INITIALIZED: u64 = 0x80000000;

// @ts-ignore: decorator
@inline export function EVT(p: u32): uffd_event { return changetype<uffd_event>(<usize>p); }

// @ts-ignore: decorator
@inline export function CTX(p: u32): userfaultfd_ctx { return changetype<userfaultfd_ctx>(<usize>p); }

// @ts-ignore: decorator
@inline export function userfaultfd_missing(v: vm_area_struct): bool { return (v.vm_flags & VM_UFFD_MISSING) != 0; }
// @ts-ignore: decorator
@inline export function userfaultfd_minor(v: vm_area_struct): bool { return (v.vm_flags & VM_UFFD_MINOR) != 0; }
// @ts-ignore: decorator
@inline export function userfaultfd_wp(v: vm_area_struct): bool { return (v.vm_flags & VM_UFFD_WP) != 0; }

/** userfaultfd_wp_unpopulated: the VMA's ctx enabled WP_UNPOPULATED (WP_ASYNC implies it, userfaultfd_api). */
export function userfaultfd_wp_unpopulated(v: vm_area_struct): bool {
  return v.uffd_ctx != 0 && (CTX(v.uffd_ctx).features & UFFD_FEATURE_WP_UNPOPULATED) != 0;
}
/** userfaultfd_wp_async: the VMA's ctx resolves WP faults in the kernel (UFFD_FEATURE_WP_ASYNC). */
export function userfaultfd_wp_async(v: vm_area_struct): bool {
  return v.uffd_ctx != 0 && (CTX(v.uffd_ctx).features & UFFD_FEATURE_WP_ASYNC) != 0;
}

