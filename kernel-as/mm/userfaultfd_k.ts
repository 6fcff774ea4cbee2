// VMA-side userfaultfd definitions (include/linux/userfaultfd_k.h): the context record and
// the predicates the fault and fill paths ask of a VMA. Both fs/userfaultfd.ts (the fd) and
// mm/ (faults, fills) use these; mm/ never imports fs/userfaultfd.ts for them.
import { vm_area_struct } from "./types";
import { VM_UFFD_MISSING, VM_UFFD_WP, VM_UFFD_MINOR } from "../abi/kernel";
import { UFFD_FEATURE_WP_UNPOPULATED, UFFD_FEATURE_WP_ASYNC } from "../abi/uapi";

// struct userfaultfd_ctx (§5.4). Queues are singly linked lists of tasks (task.wq_next):
//   pending: faulting tasks whose message is unread (fault_pending_wqh)
//   faults:  faulting tasks whose message was read, not yet woken (fault_wqh)
//   readers: tasks waiting in read() for a message (fd_wqh)
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
  pending_head: u32;
  pending_tail: u32;
  faults_head: u32;
  faults_tail: u32;
  readers_head: u32;
  nr_pending: u32;
}

export const UFFD_FEATURE_INITIALIZED: u64 = 0x80000000;

// @ts-ignore: decorator
@inline export function CTX(p: u32): userfaultfd_ctx { return changetype<userfaultfd_ctx>(<usize>p); }

// @ts-ignore: decorator
@inline export function userfaultfd_missing(v: vm_area_struct): bool { return (v.vm_flags & VM_UFFD_MISSING) != 0; }
// @ts-ignore: decorator
@inline export function userfaultfd_minor(v: vm_area_struct): bool { return (v.vm_flags & VM_UFFD_MINOR) != 0; }
// @ts-ignore: decorator
@inline export function userfaultfd_wp(v: vm_area_struct): bool { return (v.vm_flags & VM_UFFD_WP) != 0; }

/** userfaultfd_wp_unpopulated: the VMA's ctx enabled WP_UNPOPULATED (WP_ASYNC implies it, §6.7). */
export function userfaultfd_wp_unpopulated(v: vm_area_struct): bool {
  return v.uffd_ctx != 0 && (CTX(v.uffd_ctx).features & UFFD_FEATURE_WP_UNPOPULATED) != 0;
}
/** userfaultfd_wp_async: the VMA's ctx resolves WP faults in the kernel (UFFD_FEATURE_WP_ASYNC). */
export function userfaultfd_wp_async(v: vm_area_struct): bool {
  return v.uffd_ctx != 0 && (CTX(v.uffd_ctx).features & UFFD_FEATURE_WP_ASYNC) != 0;
}

