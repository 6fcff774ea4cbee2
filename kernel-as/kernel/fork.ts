// Processes and threads: creation (kernel/fork.c) and teardown (kernel/exit.c).
import { task_struct, files_struct, TASK_DEAD, RESTART_UFFD_EVENTS, RESTART_RW } from "./types";
import { alloc_task, free_task, find_task, task_in_slot } from "./sched";
import { mm_struct } from "../mm/types";
import { CACHE_MM } from "../init/state";
import { kmem_cache_alloc, kmem_cache_free } from "../mm/slab";
import { pgd_alloc, pgd_free } from "../mm/pgtable";
import { VMA, vm_area_dup, vm_area_free, vma_link } from "../mm/vma";
import { copy_page_range } from "../mm/memory";
import { exit_mmap, MMAP_BASE } from "../mm/mmap";
import { files_alloc, files_dup, files_put } from "../fs/file";
import { VM_DONTCOPY, VM_LOCKED, VM_LOCKONFAULT, MAX_TASKS } from "../abi/kernel";
import { ENOMEM, EAGAIN } from "../abi/errno";
import { userfaultfd_cancel_wait, dup_userfaultfd, userfaultfd_events_abandon, userfaultfd_events_complete } from "../fs/userfaultfd";
import { restart_clear } from "./restart";
import { finish_wait, wake_up_process } from "./wait";
import { rw_abandon } from "../fs/read_write";
import { file } from "../fs/types";
import { fput } from "../fs/file";
import { __NR_fork } from "../abi/uapi";

/** mm_alloc: an empty address space with one user, or null. */
export function mm_alloc(): mm_struct | null {
  let p = kmem_cache_alloc(CACHE_MM);
  if (p == 0) return null;
  let mm = changetype<mm_struct>(p);
  let pgd = pgd_alloc();
  if (pgd == 0) {
    kmem_cache_free(CACHE_MM, p);
    return null;
  }
  mm.pgd = <u32>pgd;
  mm.mm_users = 1;
  mm.mm_count = 1;
  mm.mmap_base = MMAP_BASE;
  return mm;
}

/** mmdrop: release the struct once no user and no other reference remain. */
export function mmdrop(mm: mm_struct): void {
  if (--mm.mm_count > 0) return;
  kmem_cache_free(CACHE_MM, changetype<usize>(mm));
}

/** mmput: a user goes; the last one tears the address space down (exit_mmap). */
export function mmput(mm: mm_struct): void {
  if (--mm.mm_users > 0) return;
  exit_mmap(mm);
  pgd_free(<usize>mm.pgd);
  mm.pgd = 0;
  mm.dead = 1;
  mmdrop(mm);
}

/**
 * dup_mmap: the child's copy of `old` (private memory copy-on-write). Registered VMAs go
 * through dup_userfaultfd: with EVENT_FORK they point at a new child ctx (and `t` gets a FORK
 * event per parent ctx), otherwise they lose their registration and uffd-wp bits.
 */
function dup_mm(t: task_struct, old: mm_struct): mm_struct | null {
  let mm = mm_alloc();
  if (!mm) return null;
  mm.mmap_base = old.mmap_base;
  let p = old.mmap;
  while (p != 0) {
    let v = VMA(p);
    p = v.vm_next;
    if (v.vm_flags & VM_DONTCOPY) continue;
    let n = vm_area_dup(v);
    if (!n) {
      mmput(mm);
      return null;
    }
    // Locks are not inherited (dup_mmap); nor is mm->def_flags (a new mm starts with none).
    n.vm_flags &= ~(VM_LOCKED | VM_LOCKONFAULT);
    if (dup_userfaultfd(t, n, mm) < 0) {
      vm_area_free(n);
      mmput(mm);
      return null;
    }
    vma_link(mm, n);
    if (!copy_page_range(mm, old, v)) {
      mmput(mm);
      return null;
    }
  }
  mm.total_vm = old.total_vm;
  return mm;
}

/**
 * A new process with an empty address space and fd table, capabilities `caps` and device
 * permissions `perm`: returns its tid, or -errno.
 */
export function create_process(caps: u32, perm: u32): i32 {
  let t = alloc_task();
  if (!t) return -EAGAIN;
  let mm = mm_alloc();
  let fs = files_alloc();
  if (!mm || !fs) {
    if (mm) mmput(mm);
    if (fs) files_put(fs);
    free_task(t);
    return -ENOMEM;
  }
  t.mm = changetype<u32>(mm);
  t.files = changetype<u32>(fs);
  t.mm = changetype<u32>(mm);
  mm.owner = t.tgid;
  t.caps = caps;
  t.perm = perm;
  return t.tid;
}

/**
 * fork(2): a child process; returns the child's pid to the parent, once its FORK events
 * (if any) were read (dup_userfaultfd_complete). If the fork fails after dup_userfaultfd,
 * its events go unsent (dup_userfaultfd_fail).
 */
export function sys_fork(t: task_struct): i64 {
  let c = alloc_task();
  if (!c) return -EAGAIN;
  let mm = dup_mm(t, changetype<mm_struct>(<usize>t.mm));
  if (!mm) {
    userfaultfd_events_abandon(t);
    free_task(c);
    return -ENOMEM;
  }
  let fs = files_dup(changetype<files_struct>(<usize>t.files));
  if (!fs) {
    mmput(mm);
    userfaultfd_events_abandon(t);
    free_task(c);
    return -ENOMEM;
  }
  c.mm = changetype<u32>(mm);
  c.files = changetype<u32>(fs);
  c.ppid = t.tgid;
  c.caps = t.caps;
  c.perm = t.perm;
  mm.owner = c.tgid;
  return userfaultfd_events_complete(t, c.tid);
}

/** clone(CLONE_VM | CLONE_FILES | CLONE_THREAD): another thread of t's process. */
export function clone_thread(t: task_struct): i32 {
  let c = alloc_task();
  if (!c) return -EAGAIN;
  c.tgid = t.tgid;
  c.ppid = t.ppid;
  c.caps = t.caps;
  c.perm = t.perm;
  c.mm = t.mm;
  c.files = t.files;
  changetype<mm_struct>(<usize>t.mm).mm_users++;
  changetype<files_struct>(<usize>t.files).count++;
  return c.tid;
}

/** do_exit for one task: drop its address space and fd table, free the slot. */
export function do_exit(t: task_struct, code: i32): void {
  // A task that dies while it waits leaves every queue and drops its restart block first.
  abandon_wait(t, true);
  t.exit_code = code;
  t.state = TASK_DEAD;
  let mm = t.mm;
  let fs = t.files;
  t.mm = 0;
  t.files = 0;
  if (fs) files_put(changetype<files_struct>(<usize>fs));
  if (mm) mmput(changetype<mm_struct>(<usize>mm));
  free_task(t);
}

/** exit_group(2): every thread of the process exits. */
export function do_group_exit(t: task_struct, code: i32): void {
  let tgid = t.tgid;
  for (let i = 0; i < MAX_TASKS; i++) {
    let o = task_in_slot(i);
    if (o && o.tgid == tgid && o != t) do_exit(o, code);
  }
  do_exit(t, code);
}

/**
 * The task gave up its wait, as a fatal signal ends a sleep: it entered the kernel again while
 * still queued (the host stopped waiting), or it exits. It leaves the userfaultfd queues and the
 * generic wait queues; with `restart`, a pending restart block goes too (restart_abandon).
 */
export function abandon_wait(t: task_struct, restart: bool): void {
  if (t.uwq_state != 0) userfaultfd_cancel_wait(t);
  if (t.wait_head != 0) finish_wait(t);
  if (restart && (t.restart_fn != 0 || t.ev_head != 0)) restart_abandon(t);
}

/**
 * A task with a restart block that enters with anything but the reissue of its call gave up
 * the wait (as a fatal signal would end it): its events go unread, the rest is forgotten.
 */
export function restart_abandon(t: task_struct): void {
  // A fork given up while its FORK events were unread fails (copy_process sees the fatal
  // signal): the child, complete but never returned to anyone, goes.
  let child: task_struct | null = null;
  if (t.restart_fn == RESTART_UFFD_EVENTS && t.restart_nr == __NR_fork && t.restart_ret > 0) child = find_task(<i32>t.restart_ret);
  userfaultfd_events_abandon(t);
  if (t.restart_fn == RESTART_RW) rw_abandon(t);
  if (t.restart_file != 0) {
    fput(changetype<file>(<usize>t.restart_file));
    t.restart_file = 0;
  }
  restart_clear(t);
  wake_up_process(t);
  if (child) do_exit(child, 0);
}
