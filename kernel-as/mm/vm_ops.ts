// Per-memory-type operations (struct vm_operations_struct), as dispatch over vma.vm_ops.
//
// AssemblyScript function references would need managed objects, so each operation is a
// switch on the VMA's memory type (VMA_OPS_*). Adding a memory type means one case in each
// dispatcher here; callers never test the type themselves.
import { vm_fault, VM_FAULT_SIGBUS } from "./types";
import { VMA_OPS_SHMEM } from "../abi/kernel";
import { VMA } from "./vma";
import { shmem_fault } from "./shmem";

/** ->fault: find or create the page for vmf.pgoff; on success vmf.page is referenced. */
export function vma_ops_fault(vmf: vm_fault): u32 {
  let ops = VMA(vmf.vma).vm_ops;
  if (ops == VMA_OPS_SHMEM) return shmem_fault(vmf);
  return VM_FAULT_SIGBUS;
}
