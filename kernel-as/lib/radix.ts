// A radix index from u64 keys to u32 values, for the page cache (the role of lib/xarray.c).
//
// Nodes are page frames of 1024 u32 slots (10 bits of the key per level). The root is two
// u32 words embedded in the owner: { height, node }. Height 0 means empty; height h covers
// keys below 2^(10h). A node's struct page counts its non-zero slots in `next` so that empty
// nodes are freed as soon as they empty. The hot lookup is a loop of `height` loads.
import { alloc_zeroed_page, free_page, page_address, virt_to_page, PG_radix } from "../mm/page_alloc";

const SHIFT: u64 = 10;
const SLOTS: u64 = 1024;
const MASK: u64 = SLOTS - 1;
const MAX_HEIGHT: u32 = 7; // 70 bits > 64

// @ts-ignore: decorator
@inline function root_height(root: usize): u32 { return load<u32>(root); }
// @ts-ignore: decorator
@inline function root_node(root: usize): usize { return <usize>load<u32>(root, 4); }

// @ts-ignore: decorator
@inline function max_key(height: u32): u64 {
  return height >= 7 ? <u64>-1 : (<u64>1 << (SHIFT * <u64>height)) - 1;
}

function node_alloc(): usize {
  let p = alloc_zeroed_page();
  if (!p) return 0;
  p.flags = PG_radix;
  p.next = 0;
  return page_address(p);
}

/** The value stored at `key`, 0 if none. */
export function radix_lookup(root: usize, key: u64): u32 {
  let h = root_height(root);
  if (h == 0 || key > max_key(h)) return 0;
  let node = root_node(root);
  for (let level = h - 1; ; level--) {
    let v = load<u32>(node + (<usize>((key >> (SHIFT * <u64>level)) & MASK) << 2));
    if (level == 0) return v;
    if (v == 0) return 0;
    node = <usize>v;
  }
  return 0;
}

/** Store `val` (non-zero) at `key`. Returns false when out of memory (nothing changed then
 *  except possibly a taller, still-consistent tree). */
export function radix_insert(root: usize, key: u64, val: u32): bool {
  let h = root_height(root);
  if (h == 0) {
    let n = node_alloc();
    if (n == 0) return false;
    // Start an empty tree at the height `key` needs: growing it below would hang empty
    // nodes under slot 0 that no deletion ever frees.
    h = 1;
    while (key > max_key(h) && h < MAX_HEIGHT) h++;
    store<u32>(root, h);
    store<u32>(root, <u32>n, 4);
  }
  while (key > max_key(h) && h < MAX_HEIGHT) {
    let n = node_alloc();
    if (n == 0) return false;
    store<u32>(n, <u32>root_node(root));
    virt_to_page(n).next = 1;
    store<u32>(root, <u32>n, 4);
    h++;
    store<u32>(root, h);
  }
  let node = root_node(root);
  for (let level = h - 1; ; level--) {
    let slot = node + (<usize>((key >> (SHIFT * <u64>level)) & MASK) << 2);
    let v = load<u32>(slot);
    if (level == 0) {
      if (v == 0) virt_to_page(node).next++;
      store<u32>(slot, val);
      return true;
    }
    if (v == 0) {
      let n = node_alloc();
      if (n == 0) {
        // Free the nodes this insert left empty, or nothing would ever free them.
        if (prune_in(root_node(root), h - 1, key)) {
          store<u32>(root, 0);
          store<u32>(root, 0, 4);
        }
        return false;
      }
      store<u32>(slot, <u32>n);
      virt_to_page(node).next++;
      v = <u32>n;
    }
    node = <usize>v;
  }
  return false;
}

/** After a failed insert: free the empty nodes on `key`'s path, bottom-up (true: `node` went). */
function prune_in(node: usize, level: u32, key: u64): bool {
  let np = virt_to_page(node);
  if (level > 0) {
    let slot = node + (<usize>((key >> (SHIFT * <u64>level)) & MASK) << 2);
    let v = load<u32>(slot);
    if (v != 0 && prune_in(<usize>v, level - 1, key)) {
      store<u32>(slot, 0);
      np.next--;
    }
  }
  if (np.next != 0) return false;
  free_page(np);
  return true;
}

function delete_in(node: usize, level: u32, key: u64): bool {
  // Returns true when `node` became empty and was freed.
  let slot = node + (<usize>((key >> (SHIFT * <u64>level)) & MASK) << 2);
  let v = load<u32>(slot);
  if (v == 0) return false;
  if (level > 0) {
    if (!delete_in(<usize>v, level - 1, key)) return false;
  }
  store<u32>(slot, 0);
  let np = virt_to_page(node);
  if (--np.next == 0) {
    free_page(np);
    return true;
  }
  return false;
}

/** Remove `key`; returns the value that was there (0 if none). */
export function radix_delete(root: usize, key: u64): u32 {
  let h = root_height(root);
  if (h == 0 || key > max_key(h)) return 0;
  let old = radix_lookup(root, key);
  if (old == 0) return 0;
  if (delete_in(root_node(root), h - 1, key)) {
    store<u32>(root, 0);
    store<u32>(root, 0, 4);
  }
  return old;
}

function next_in(node: usize, level: u32, key: u64, out: usize): u32 {
  let shift = SHIFT * <u64>level;
  let i = (key >> shift) & MASK;
  let base = key & ~((<u64>1 << (shift + SHIFT)) - 1);
  if (shift + SHIFT >= 64) base = 0;
  for (; i < SLOTS; i++) {
    let v = load<u32>(node + (<usize>i << 2));
    if (v == 0) continue;
    let lo = base | (i << shift);
    if (level == 0) {
      store<u64>(out, lo);
      return v;
    }
    let from = lo > key ? lo : key;
    let r = next_in(<usize>v, level - 1, from, out);
    if (r != 0) return r;
  }
  return 0;
}

/**
 * The first entry with key >= `key`: its value, with the key stored at `out`; 0 if none.
 * Used by truncation, hole punching and teardown to visit only populated offsets.
 */
export function radix_next(root: usize, key: u64, out: usize): u32 {
  let h = root_height(root);
  if (h == 0 || key > max_key(h)) return 0;
  return next_in(root_node(root), h - 1, key, out);
}
