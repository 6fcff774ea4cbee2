// Inode lifetime (fs/inode.c). Every live inode is on K().inode_list for the checker.
import { CACHE_INODE, K } from "../init/state";
import { kmem_cache_alloc, kmem_cache_free } from "../mm/slab";
import { inode, INODE_SHMEM, INODE_GMEM, INODE_PIPE } from "./types";
import { shmem_evict_inode } from "../mm/shmem";
import { pipe_evict_inode } from "./pipe";

// @ts-ignore: decorator
@inline export function INODE(p: u32): inode { return changetype<inode>(<usize>p); }
// @ts-ignore: decorator
@inline export function inode_name(ino: inode): usize { return changetype<usize>(ino) + offsetof<inode>(); }

/** A new inode with one reference and a fresh inode number, or null (ENOMEM). */
export function new_inode(kind: u32): inode | null {
  let p = kmem_cache_alloc(CACHE_INODE);
  if (p == 0) return null;
  let k = K();
  let ino = changetype<inode>(p);
  ino.i_kind = kind;
  ino.i_ino = ++k.next_ino;
  ino.i_count = 1;
  ino.i_sb_prev = 0;
  ino.i_sb_next = k.inode_list;
  if (k.inode_list) INODE(k.inode_list).i_sb_prev = <u32>p;
  k.inode_list = <u32>p;
  k.nr_inodes++;
  return ino;
}

// @ts-ignore: decorator
@inline export function ihold(ino: inode): void { ino.i_count++; }

/** Drop a reference; the last one evicts the inode and frees its pages. */
export function iput(ino: inode): void {
  if (--ino.i_count > 0) return;
  let kind = ino.i_kind;
  if (kind == INODE_SHMEM || kind == INODE_GMEM) shmem_evict_inode(ino);
  else if (kind == INODE_PIPE) pipe_evict_inode(ino);
  let k = K();
  if (ino.i_sb_prev) INODE(ino.i_sb_prev).i_sb_next = ino.i_sb_next;
  else k.inode_list = ino.i_sb_next;
  if (ino.i_sb_next) INODE(ino.i_sb_next).i_sb_prev = ino.i_sb_prev;
  k.nr_inodes--;
  kmem_cache_free(CACHE_INODE, changetype<usize>(ino));
}
