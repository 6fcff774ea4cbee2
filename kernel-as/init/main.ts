// start_kernel (init/main.c): lay out memory, set up the allocators and caches.
import { K, kernel_state, PANIC_ADDR, KSCRATCH_ADDR, CACHE_VMA, CACHE_MM, CACHE_FILE, CACHE_INODE, CACHE_FILES, CACHE_UFFD_CTX, CACHE_SMALL, CACHE_UFFD_EVENT } from "./state";
import { KSTATE_ADDR } from "./layout";
import { page_alloc_init } from "../mm/page_alloc";
import { kmem_cache_init } from "../mm/slab";
import { vm_area_struct, mm_struct } from "../mm/types";
import { file, inode, INODE_NAME_MAX } from "../fs/types";
import { FILES_STRUCT_SIZE, task_struct, TASK_FRAME_OFFSET } from "../kernel/types";
import { uffd_event } from "../mm/userfaultfd_k";
import { MIN_MEM_BYTES, BOOT_NO_ZERO_PAGE, panic_record, PANIC_TEXT_MAX } from "../abi/kernel";
import { EINVAL, EBUSY } from "../abi/errno";
import { SPIN_LIMIT } from "../lib/spinlock";

/** Boot in `mem_bytes` of linear memory (already provided by the host) with BOOT_* `flags`. 0 or -errno. */
export function start_kernel(mem_bytes: usize, flags: u32): i32 {
  let k = K();
  if (k.booted) return -EBUSY;
  // kernel-as/index.ts reads kernel_state.smp at this fixed offset.
  if (offsetof<kernel_state>("smp") != 8) unreachable();
  // kernel_state must end before the panic record, the record's text before the scratch area.
  if (KSTATE_ADDR + offsetof<kernel_state>() > PANIC_ADDR) unreachable();
  if (PANIC_ADDR + offsetof<panic_record>() + <usize>PANIC_TEXT_MAX > KSCRATCH_ADDR) unreachable();
  if (mem_bytes < <usize>MIN_MEM_BYTES || mem_bytes > <usize>(memory.size() << 16)) return -EINVAL;
  if (flags & ~BOOT_NO_ZERO_PAGE) return -EINVAL;
  k.mem_bytes = <u32>mem_bytes;
  k.mm_no_zero_page = (flags & BOOT_NO_ZERO_PAGE) != 0 ? 1 : 0;
  page_alloc_init(mem_bytes);
  kmem_cache_init(CACHE_VMA, <u32>offsetof<vm_area_struct>());
  kmem_cache_init(CACHE_MM, <u32>offsetof<mm_struct>());
  kmem_cache_init(CACHE_FILE, <u32>offsetof<file>());
  kmem_cache_init(CACHE_INODE, <u32>offsetof<inode>() + INODE_NAME_MAX);
  kmem_cache_init(CACHE_FILES, FILES_STRUCT_SIZE);
  kmem_cache_init(CACHE_UFFD_CTX, 128);
  kmem_cache_init(CACHE_SMALL, 64);
  kmem_cache_init(CACHE_UFFD_EVENT, <u32>offsetof<uffd_event>());
  // The task record must leave room for the host frame that follows it in the slot.
  if (offsetof<task_struct>() > TASK_FRAME_OFFSET) unreachable();
  k.next_pid = 0;
  k.next_ino = 0x1000;
  k.lock_spin_limit = SPIN_LIMIT;
  k.booted = 1;
  return 0;
}

