// Fixed-size object caches carved out of page frames (mm/slab.h, in miniature).
// Objects are zeroed on allocation; frames are never returned to the page allocator
// (the caches are small compared to user memory), which the invariant checker knows.
import { PAGE_SIZE } from "../abi/uapi";
import { kmem_cache, kmem_cache_of, NR_CACHES } from "../init/state";
import { alloc_page, page_address, PG_slab } from "./page_alloc";

export function kmem_cache_init(id: i32, size: u32): void {
  let c = kmem_cache_of(id);
  c.size = (size + 7) & ~7;
  c.freelist = 0;
  c.active = 0;
  c.nr_slabs = 0;
}

function cache_grow(c: kmem_cache, id: i32): bool {
  let p = alloc_page();
  if (!p) return false;
  p.flags = PG_slab;
  p.priv = <u32>id;
  let base = page_address(p);
  let n = <u32>PAGE_SIZE / c.size;
  for (let i: i32 = <i32>n - 1; i >= 0; i--) {
    let obj = base + <usize>i * c.size;
    store<u32>(obj, c.freelist);
    c.freelist = <u32>obj;
  }
  c.nr_slabs++;
  return true;
}

/** A zeroed object from cache `id`, or 0 when memory is exhausted. */
export function kmem_cache_alloc(id: i32): usize {
  let c = kmem_cache_of(id);
  if (c.freelist == 0 && !cache_grow(c, id)) return 0;
  let obj = <usize>c.freelist;
  c.freelist = load<u32>(obj);
  memory.fill(obj, 0, c.size);
  c.active++;
  return obj;
}

export function kmem_cache_free(id: i32, obj: usize): void {
  let c = kmem_cache_of(id);
  // Poison the object so a use after free shows up in the debug build's checks.
  memory.fill(obj, 0x6b, c.size);
  store<u32>(obj, c.freelist);
  c.freelist = <u32>obj;
  c.active--;
}

/** Number of frames held by all slab caches (for accounting and the invariant checker). */
export function slab_frames(): u32 {
  let n: u32 = 0;
  for (let i = 0; i < NR_CACHES; i++) n += kmem_cache_of(i).nr_slabs;
  return n;
}
