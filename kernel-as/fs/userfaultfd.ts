// The userfaultfd file: contexts, message queues, handle_userfault (fs/userfaultfd.c).
//
// The foundation has no way to register a VMA yet (UFFDIO_REGISTER arrives with the
// userfaultfd issue), so no VMA carries VM_UFFD_* and handle_userfault is unreachable.
// It is wired into the fault path already so that the memory types report userfaults
// the way the series does; until a ctx exists, Linux's answer for a VMA without a ctx
// applies: VM_FAULT_SIGBUS.
import { vm_fault, VM_FAULT_SIGBUS } from "../mm/types";

export function handle_userfault(vmf: vm_fault, reason: u64): u32 {
  return VM_FAULT_SIGBUS;
}
