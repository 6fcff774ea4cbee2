// KVM and guest_memfd UAPI (include/uapi/linux/kvm.h), x86-64 values.
// scripts/gen-abi.mjs turns this file into part of host-ts/abi.gen.ts.

export const KVMIO: u32 = 0xae;
export const KVM_API_VERSION: i32 = 12;

// ---- ioctls on /dev/kvm ----
export const KVM_GET_API_VERSION: u32 = 0xae00;
export const KVM_CREATE_VM: u32 = 0xae01;
export const KVM_CHECK_EXTENSION: u32 = 0xae03;

// ---- ioctls on a VM fd ----
/** _IOW(KVMIO, 0x46, struct kvm_userspace_memory_region): the older form, 32 bytes. */
export const KVM_SET_USER_MEMORY_REGION: u32 = 0x4020ae46;
/** _IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2), 160 bytes. */
export const KVM_SET_USER_MEMORY_REGION2: u32 = 0x40a0ae49;
/** _IOWR(KVMIO, 0xd4, struct kvm_create_guest_memfd), 64 bytes. */
export const KVM_CREATE_GUEST_MEMFD: u32 = 0xc040aed4;

// ---- VM types (x86) ----
export const KVM_X86_DEFAULT_VM: u32 = 0;

// ---- capabilities (KVM_CHECK_EXTENSION arguments) ----
export const KVM_CAP_USER_MEMORY: u32 = 3;
export const KVM_CAP_NR_MEMSLOTS: u32 = 10;
export const KVM_CAP_DESTROY_MEMORY_REGION_WORKS: u32 = 21;
export const KVM_CAP_JOIN_MEMORY_REGIONS_WORKS: u32 = 30;
export const KVM_CAP_CHECK_EXTENSION_VM: u32 = 105;
export const KVM_CAP_MULTI_ADDRESS_SPACE: u32 = 118;
export const KVM_CAP_USER_MEMORY2: u32 = 231;
export const KVM_CAP_MEMORY_ATTRIBUTES: u32 = 233;
export const KVM_CAP_GUEST_MEMFD: u32 = 234;
export const KVM_CAP_VM_TYPES: u32 = 235;
export const KVM_CAP_GUEST_MEMFD_FLAGS: u32 = 244;

// ---- guest_memfd creation flags ----
export const GUEST_MEMFD_FLAG_MMAP: u64 = 1 << 0;
export const GUEST_MEMFD_FLAG_INIT_SHARED: u64 = 1 << 1;

// ---- memslot flags ----
export const KVM_MEM_LOG_DIRTY_PAGES: u32 = 1 << 0;
export const KVM_MEM_READONLY: u32 = 1 << 1;
export const KVM_MEM_GUEST_MEMFD: u32 = 1 << 2;

/** KVM_USER_MEM_SLOTS on x86: slot ids 0..32763 (KVM_CAP_NR_MEMSLOTS). */
export const KVM_USER_MEM_SLOTS: u32 = 32764;
/** KVM_MEM_MAX_NR_PAGES on x86. */
export const KVM_MEM_MAX_NR_PAGES: u64 = 0x7fffffff;

// struct kvm_create_guest_memfd, 64 bytes: size, flags, reserved[6] (not validated).
@unmanaged export class kvm_create_guest_memfd {
  size: u64;
  flags: u64;
  reserved0: u64;
  reserved1: u64;
  reserved2: u64;
  reserved3: u64;
  reserved4: u64;
  reserved5: u64;
}

// struct kvm_userspace_memory_region, 32 bytes (KVM_SET_USER_MEMORY_REGION).
@unmanaged export class kvm_userspace_memory_region {
  slot: u32;
  flags: u32;
  guest_phys_addr: u64;
  memory_size: u64;
  userspace_addr: u64;
}

// struct kvm_userspace_memory_region2, 160 bytes: the first 32 as above, then the
// guest_memfd binding and padding (pad1, pad2[14]; not validated).
@unmanaged export class kvm_userspace_memory_region2 {
  slot: u32;
  flags: u32;
  guest_phys_addr: u64;
  memory_size: u64;
  userspace_addr: u64;
  guest_memfd_offset: u64;
  guest_memfd: u32;
  pad1: u32;
  pad2_0: u64;
  pad2_1: u64;
  pad2_2: u64;
  pad2_3: u64;
  pad2_4: u64;
  pad2_5: u64;
  pad2_6: u64;
  pad2_7: u64;
  pad2_8: u64;
  pad2_9: u64;
  pad2_10: u64;
  pad2_11: u64;
  pad2_12: u64;
  pad2_13: u64;
}

// ---- uffdlab's vCPU accessor (kvm_vcpu_access export; not Linux UAPI) ----
/** The access writes guest memory (else it reads). */
export const KVM_ACCESS_WRITE: i32 = 1 << 0;
/**
 * KVM touches the guest page through the memslot's userspace mapping (kvm_read_guest /
 * kvm_write_guest: copy_{from,to}_user at userspace_addr), as kvmclock or PV EOI do. Without
 * it the access is the guest's own (a guest fault: guest_memfd-only slots are served by
 * kvm_gmem_get_pfn, other slots by the userspace mapping, as hva_to_pfn does).
 */
export const KVM_ACCESS_HVA: i32 = 1 << 1;
