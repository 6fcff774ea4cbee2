// Task slots (kernel/pid.c + the bits of kernel/sched that uffdlab needs).
//
// A task is a simulated thread. Its slot holds task_struct, the host frame through which
// the host passes system-call arguments and receives results, a per-task vm_fault, scratch
// space for in-kernel records, and the bounce page for user data.
import { MAX_TASKS, PID_MAX_DEFAULT, host_frame } from "../abi/kernel";
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
 * Task ids (pids) count up like Linux's and wrap at PID_MAX_DEFAULT; a task lives in slot
 * (tid - 1) % MAX_TASKS, so find_task is O(1) and an id whose task exited finds nothing
 * until the id comes round again (after PID_MAX_DEFAULT more tasks).
 */
export function find_task(tid: i32): task_struct | null {
  if (tid < 1 || tid > PID_MAX_DEFAULT) return null;
  let t = task_slot((tid - 1) % MAX_TASKS);
  if (t.state == TASK_UNUSED || t.tid != tid) return null;
  return t;
}

// Task handles. The host names a task by a handle that is never reused: the slot's
// generation (counted up each time the slot gets a task) above the 16 bits of the tid. Every
// export that takes a task checks it (find_task_handle: one 64-bit compare), so a host
// Thread kept past its task's exit gets ESRCH even after the tid came round to another task.
// Handles are integers below 2^53 (exact as a JS number): 2^37 tasks per slot.

/** The task whose handle is `h`, or null (a stale or invalid handle). */
export function find_task_handle(h: f64): task_struct | null {
  if (!(h >= 1 && h <= 9007199254740991)) return null;
  let v = <u64>h;
  let tid = <i32>(v & 0xffff);
  if (tid < 1 || tid > PID_MAX_DEFAULT) return null;
  let t = task_slot((tid - 1) % MAX_TASKS);
  if (t.handle != v || t.state == TASK_UNUSED || <f64>v != h) return null;
  return t;
}

// @ts-ignore: decorator
@inline export function task_handle(t: task_struct): f64 { return <f64>t.handle; }

/** The tid of a well-formed handle (live or not), or 0. */
export function handle_tid(h: f64): i32 {
  if (!(h >= 1 && h <= 9007199254740991) || <f64>(<u64>h) != h) return 0;
  let tid = <i32>(<u64>h & 0xffff);
  return tid <= PID_MAX_DEFAULT ? tid : 0;
}

/** The task slot i, or null if it is free (for walks over every task). */
export function task_in_slot(i: i32): task_struct | null {
  let t = task_slot(i);
  return t.state == TASK_UNUSED ? null : t;
}

/**
 * A fresh task in TASK_RUNNING state with the next free id, or null when all MAX_TASKS
 * slots are in use. k.next_pid is the last id handed out.
 */
export function alloc_task(): task_struct | null {
  let k = K();
  for (let n = 1; n <= MAX_TASKS; n++) {
    let tid = (k.next_pid + n - 1) % PID_MAX_DEFAULT + 1;
    let t = task_slot((tid - 1) % MAX_TASKS);
    if (t.state != TASK_UNUSED) continue;
    let gen = (t.handle >> 16) + 1;
    memory.fill(changetype<usize>(t), 0, TASK_SLOT_SIZE);
    t.tid = tid;
    t.tgid = tid;
    t.state = TASK_RUNNING;
    t.handle = (gen << 16) | <u64>tid;
    let f = task_frame(t);
    f.bounce = <u32>task_bounce(t);
    f.handle = <f64>t.handle;
    k.next_pid = tid;
    k.nr_tasks++;
    return t;
  }
  return null;
}

export function free_task(t: task_struct): void {
  t.state = TASK_UNUSED;
  K().nr_tasks--;
}
