// KVM's records (include/linux/kvm_host.h), in miniature: the VM, its memslots, and the
// stand-in for its guest page tables. All live in CACHE_SMALL slab objects (64 bytes) or
// one kernel page per VM.

// struct kvm
//   users_count   references: the VM file, and every guest_memfd file created on it
//                 (kvm_get_kvm); the last kvm_put_kvm destroys the VM
//   mm            the creator's address space (an mm_count reference): KVM ioctls from any
//                 other mm fail with EIO, and KVM's userspace accesses use it
//   memslots      first struct kvm_memory_slot (unordered list; one address space)
//   nr_memslots   slots in the list
//   mmu           kernel page: KVM_MMU_ENTRIES x kvm_mmu_entry (gfn -> frame), the stand-in
//                 for the SPTEs guest accesses through guest_memfd install. Like SPTEs they
//                 hold no page reference, so every change of the backing must zap them
//                 (kvm_mmu_unmap_gfn_range: hole punch, slot deletion, guest_memfd release)
@unmanaged export class kvm {
  users_count: i32;
  mm: u32;
  memslots: u32;
  nr_memslots: u32;
  mmu: u32;
  vm_type: u32;
}

// struct kvm_memory_slot
//   next            next slot of the VM
//   id              (address space << 16) | slot id, as userspace numbers it
//   flags           KVM_MEM_* as given, plus KVM_MEMSLOT_GMEM_ONLY
//   gmem_file       the bound guest_memfd file (slot->gmem.file), 0 once that file was
//                   released; no reference is held, as in Linux
//   base_gfn, npages, userspace_addr   the guest-physical range and its userspace mapping
//   gmem_pgoff      first page of the bound range in the guest_memfd (slot->gmem.pgoff)
@unmanaged export class kvm_memory_slot {
  next: u32;
  id: u32;
  flags: u32;
  gmem_file: u32;
  base_gfn: u64;
  npages: u64;
  userspace_addr: u64;
  gmem_pgoff: u64;
}

/** Internal memslot flag: the guest_memfd has MMAP, so guest faults are served from it alone. */
export const KVM_MEMSLOT_GMEM_ONLY: u32 = 1 << 17;

// One cached translation: gfn + 1 (0 = empty) and the frame's linear address.
@unmanaged export class kvm_mmu_entry {
  gfn1: u64;
  pa: u32;
  _pad: u32;
}
export const KVM_MMU_ENTRIES: u32 = 256;

// @ts-ignore: decorator
@inline export function KVM(p: u32): kvm { return changetype<kvm>(<usize>p); }
// @ts-ignore: decorator
@inline export function SLOT(p: u32): kvm_memory_slot { return changetype<kvm_memory_slot>(<usize>p); }
