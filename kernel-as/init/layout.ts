// Where the kernel keeps its state in linear memory.
//
// Everything the kernel knows lives at fixed places in the (shared) linear memory, never
// in Wasm globals: every worker instantiates the module anew, and each instance has its own
// globals. Only constants may be globals.
//
//   0x0000_0000  +--------------------------------+
//                | null guard (never touched)     |
//   KSTATE_ADDR  +--------------------------------+  0x1000
//                | struct kernel_state            |  locks, allocator heads, caches
//   TASKS_ADDR   +--------------------------------+  0x10000
//                | MAX_TASKS task slots           |  TASK_SLOT_SIZE each: task_struct,
//                |                                |  host frame, bounce page
//                +--------------------------------+
//                | mem_map: struct page[nr_frames]|
//                +--------------------------------+  page aligned
//                | page frames                    |  page tables, slabs, user pages
//                +--------------------------------+  memory size chosen at boot
import { MAX_TASKS } from "../abi/kernel";

export const KSTATE_ADDR: usize = 0x1000;
export const TASKS_ADDR: usize = 0x10000;
/** Bytes per task slot: task_struct and host frame in the first page, bounce page second. */
export const TASK_SLOT_SIZE: usize = 8192;
export const MEM_MAP_ADDR: usize = TASKS_ADDR + <usize>MAX_TASKS * TASK_SLOT_SIZE;
