// struct file and struct inode (include/linux/fs.h), as far as uffdlab's files need them.

/** What a file is: selects the file-operation dispatch in fs/file.ts. */
export const FILE_SHMEM: u32 = 1;
export const FILE_PIPE: u32 = 2;
export const FILE_UFFD: u32 = 3;
export const FILE_GMEM: u32 = 4;
export const FILE_KVM: u32 = 5;
export const FILE_KVM_VM: u32 = 6;
export const FILE_DEV_UFFD: u32 = 7;

export const FMODE_READ: u32 = 1 << 0;
export const FMODE_WRITE: u32 = 1 << 1;

// struct file
//   f_kind     FILE_*
//   f_flags    O_* flags given at open (O_ACCMODE, O_NONBLOCK, O_LARGEFILE)
//   f_mode     FMODE_*
//   f_count    references: fd-table slots, VMAs (vm_file), in-flight operations
//   f_inode    struct inode (shmem, guest_memfd, pipe), else 0
//   private_data  per-kind object (userfaultfd ctx, pipe buffer, ...)
@unmanaged export class file {
  f_kind: u32;
  f_flags: u32;
  f_mode: u32;
  f_count: i32;
  f_inode: u32;
  private_data: u32;
  f_pos: u64;
}

// ---- what a file is (Linux compares file->f_op with the operations of its kind) ----------
// The only tests of f_kind outside fs/file_ops.ts's dispatchers.

/** shmem_file(): a memfd or another shmem file. */
// @ts-ignore: decorator
@inline export function shmem_file(f: file): bool { return f.f_kind == FILE_SHMEM; }
/** get_pipe_info(): a pipe end. */
// @ts-ignore: decorator
@inline export function pipe_file(f: file): bool { return f.f_kind == FILE_PIPE; }
/** A userfaultfd (file->f_op == &userfaultfd_fops). */
// @ts-ignore: decorator
@inline export function userfaultfd_file(f: file): bool { return f.f_kind == FILE_UFFD; }
/** A guest_memfd (file->f_op == &kvm_gmem_fops). */
// @ts-ignore: decorator
@inline export function gmem_file(f: file): bool { return f.f_kind == FILE_GMEM; }
/** A KVM VM (file->f_op == &kvm_vm_fops). */
// @ts-ignore: decorator
@inline export function kvm_vm_file(f: file): bool { return f.f_kind == FILE_KVM_VM; }

/** Inode kinds: which address-space operations apply. */
export const INODE_SHMEM: u32 = 1;
export const INODE_PIPE: u32 = 2;
export const INODE_GMEM: u32 = 3;
export const INODE_ANON: u32 = 4;

/** Inode flags. */
export const S_NOEXEC_SEALED: u32 = 1 << 0;
/** shared anonymous memory: an internal shmem file (shmem_zero_setup), not a memfd */
export const S_KERNEL_FILE: u32 = 1 << 1;
/** memfd created with MFD_ALLOW_SEALING (otherwise F_SEAL_SEAL is preset) */
export const S_MEMFD: u32 = 1 << 2;

// struct inode (with struct shmem_inode_info folded in)
//   i_pages_height, i_pages_node   the page cache: radix root, offset (pages) -> struct page
//   i_mmap          first VMA mapping this inode (vm_area_struct.shared_next list)
//   i_mmap_writable writable shared mappings (for F_SEAL_WRITE: mapping_map_writable)
//   nrpages         pages in the page cache (st_blocks = 8 * nrpages)
//   seals           F_SEAL_* bits
//   i_count         references: open files, kernel users
@unmanaged export class inode {
  i_ino: u64;
  i_size: i64;
  i_mode: u32;
  i_kind: u32;
  i_flags: u32;
  seals: u32;
  i_pages_height: u32;
  i_pages_node: u32;
  i_mmap: u32;
  i_mmap_writable: i32;
  nrpages: u32;
  i_count: i32;
  i_sb_next: u32;
  i_sb_prev: u32;
  /** kind-specific: guest_memfd flags, pipe buffer, ... */
  i_private: u32;
  i_private2: u32;
  /** name length, then up to 256 bytes of name ("memfd:" is not stored) */
  name_len: u32;
  _pad: u32;
}
/** Offset of the name bytes after the inode header; the inode cache objects are this big. */
export const INODE_NAME_MAX: u32 = 256;
