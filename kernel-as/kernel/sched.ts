// Task slots (kernel/pid.c + the bits of kernel/sched that uffdlab needs).
//
// A task is a simulated thread. Its slot holds task_struct, the host frame through which
// the host passes system-call arguments and receives results, a per-task vm_fault, scratch
// space for in-kernel records, and the bounce page for user data.
import { MAX_TASKS, host_frame } from "../abi/kernel";
import { K } from "../init/state";
import { TASKS_ADDR, TASK_SLOT_SIZE } from "../init/layout";
import { task_struct, TASK_UNUSED, TASK_RUNNING, TASK_FRAME_OFFSET, TASK_VMF_OFFSET, TASK_SCRATCH_OFFSET } from "./types";
import { vm_fault } from "../mm/types";
import { PAGE_SIZE } from "../abi/uapi";

// @ts-ignore: decorator
@inline export function task_slot(i: i32): task_struct {
  return changetype<task_struct>(TASKS_ADDR + <usize>i * TASK_SLOT_SIZE);
}
// @ts-ignore: decorator
@inline export function task_frame(t: task_struct): host_frame {
  return changetype<host_frame>(changetype<usize>(t) + TASK_FRAME_OFFSET);
}
// @ts-ignore: decorator
@inline export function task_vmf(t: task_struct): vm_fault {
  return changetype<vm_fault>(changetype<usize>(t) + TASK_VMF_OFFSET);
}
/** 3 KiB of per-task scratch for records that must not live on a (nonexistent) stack. */
// @ts-ignore: decorator
@inline export function task_scratch(t: task_struct): usize {
  return changetype<usize>(t) + TASK_SCRATCH_OFFSET;
}
// @ts-ignore: decorator
@inline export function task_bounce(t: task_struct): usize {
  return changetype<usize>(t) + <usize>PAGE_SIZE;
}

/**
 * Task ids are slot numbers + 1, so find_task is O(1). Linux pids are not reused this
 * way, but nothing a program can observe depends on their values.
 */
export function find_task(tid: i32): task_struct | null {
  if (tid < 1 || tid > MAX_TASKS) return null;
  let t = task_slot(tid - 1);
  if (t.state == TASK_UNUSED) return null;
  return t;
}

/** A fresh task slot in TASK_RUNNING state, or null when all MAX_TASKS are in use. */
export function alloc_task(): task_struct | null {
  let k = K();
  for (let n = 0; n < MAX_TASKS; n++) {
    let i = (k.next_pid + n) % MAX_TASKS;
    let t = task_slot(i);
    if (t.state != TASK_UNUSED) continue;
    memory.fill(changetype<usize>(t), 0, TASK_SLOT_SIZE);
    t.tid = i + 1;
    t.tgid = i + 1;
    t.state = TASK_RUNNING;
    let f = task_frame(t);
    f.bounce = <u32>task_bounce(t);
    k.next_pid = (i + 1) % MAX_TASKS;
    k.nr_tasks++;
    return t;
  }
  return null;
}

export function free_task(t: task_struct): void {
  t.state = TASK_UNUSED;
  K().nr_tasks--;
}
