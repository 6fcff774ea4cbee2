// Kernel counters for the host (the role of /proc/meminfo and /proc/vmstat).
import { K, kmem_cache_of, CACHE_UFFD_CTX, CACHE_UFFD_EVENT, NR_CACHES } from "../init/state";
import { KSTAT_NR_FRAMES, KSTAT_NR_FREE, KSTAT_NR_FAULTS, KSTAT_NR_SYSCALLS, KSTAT_NR_TASKS, KSTAT_NR_INODES, KSTAT_SLAB_FRAMES, KSTAT_MEM_BYTES, KSTAT_UFFD_CTXS, KSTAT_UFFD_EVENTS, KSTAT_SLAB_OBJECTS, KSTAT_SLAB_ACTIVE } from "../abi/kernel";
import { slab_frames } from "./slab";

export function kernel_stat(which: i32): f64 {
  let k = K();
  switch (which) {
    case KSTAT_NR_FRAMES: return <f64>k.pa_nr_frames;
    case KSTAT_NR_FREE: return <f64>k.pa_nr_free;
    case KSTAT_NR_FAULTS: return <f64>k.nr_faults;
    case KSTAT_NR_SYSCALLS: return <f64>k.nr_syscalls;
    case KSTAT_NR_TASKS: return <f64>k.nr_tasks;
    case KSTAT_NR_INODES: return <f64>k.nr_inodes;
    case KSTAT_SLAB_FRAMES: return <f64>slab_frames();
    case KSTAT_MEM_BYTES: return <f64>k.mem_bytes;
    case KSTAT_UFFD_CTXS: return <f64>kmem_cache_of(CACHE_UFFD_CTX).active;
    case KSTAT_UFFD_EVENTS: return <f64>kmem_cache_of(CACHE_UFFD_EVENT).active;
    case KSTAT_SLAB_OBJECTS: {
      let n: u32 = 0;
      for (let i = 0; i < NR_CACHES; i++) n += kmem_cache_of(i).active;
      return <f64>n;
    }
  }
  if (which >= KSTAT_SLAB_ACTIVE && which < KSTAT_SLAB_ACTIVE + NR_CACHES) return <f64>kmem_cache_of(which - KSTAT_SLAB_ACTIVE).active;
  return -1;
}
