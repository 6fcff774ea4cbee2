// /proc/pid/maps records (fs/proc/task_mmu.c show_map_vma), as raw records; the host formats.
import { find_task, task_bounce, task_in_slot } from "../kernel/sched";
import { MAX_TASKS } from "../abi/kernel";
import { mm_struct } from "./types";
import { maps_record, BOUNCE_SIZE } from "../abi/kernel";
import { VMA, vma_inode } from "./vma";
import { count_present } from "./memory";
import { S_KERNEL_FILE } from "../fs/types";
import { inode_name } from "../fs/inode";

/**
 * Whether thread group `tgid` still has a live thread: then /proc/<tgid> stays, its leader a
 * zombie whose maps read empty (the leader's exit_mm dropped its mm), as on Linux.
 */
function thread_group_alive(tgid: i32): bool {
  for (let i = 0; i < MAX_TASKS; i++) {
    let o = task_in_slot(i);
    if (o && o.tgid == tgid) return true;
  }
  return false;
}

/**
 * Records for the VMAs from index `first` on, as many as fit the bounce page: the count
 * (0 for an exited leader whose threads live), or -1 for no such task.
 */
export function dump_vmas(tid: i32, first: i32): i32 {
  let t = find_task(tid);
  if (!t) return thread_group_alive(tid) ? 0 : -1;
  if (t.mm == 0) return -1;
  let mm = changetype<mm_struct>(<usize>t.mm);
  let out = task_bounce(t);
  let max = BOUNCE_SIZE / <i32>offsetof<maps_record>();
  let p = mm.mmap;
  let i = 0;
  let n = 0;
  while (p != 0 && n < max) {
    let v = VMA(p);
    p = v.vm_next;
    if (i++ < first) continue;
    let r = changetype<maps_record>(out + <usize>n * offsetof<maps_record>());
    r.vm_start = v.vm_start;
    r.vm_end = v.vm_end;
    r.vm_pgoff = v.vm_pgoff;
    r.vm_flags = v.vm_flags;
    let ino = vma_inode(v);
    r.ino = ino ? ino.i_ino : 0;
    r.kind = v.vm_ops;
    r.rss = count_present(mm, v.vm_start, v.vm_end);
    n++;
  }
  return n;
}

/**
 * The name of the file behind VMA number `index` (show_map_vma's path): writes the memfd
 * name (without "memfd:") to the bounce page and returns its length; -2 for the internal
 * file of shared anonymous memory ("/dev/zero (deleted)"); -1 for no file or no such VMA.
 */
export function vma_file_name(tid: i32, index: i32): i32 {
  let t = find_task(tid);
  if (!t || t.mm == 0) return -1;
  let p = changetype<mm_struct>(<usize>t.mm).mmap;
  for (let i = 0; p != 0 && i < index; i++) p = VMA(p).vm_next;
  if (p == 0) return -1;
  let ino = vma_inode(VMA(p));
  if (!ino) return -1;
  if (ino.i_flags & S_KERNEL_FILE) return -2;
  memory.copy(task_bounce(t), inode_name(ino), ino.name_len);
  return <i32>ino.name_len;
}
