// The kernel's only exports: numbers in, a value or a negative code out. Each entry takes
// the big kernel lock and dispatches to one helper; nothing else lives here.
//
// Addresses cross the boundary as f64 (user addresses are 48-bit, exact in a double, and
// a double costs no BigInt conversion); system-call arguments travel in the task's host
// frame (abi/kernel.ts). Tasks are named by their handle (an f64, never reused: see
// kernel/sched.ts), which every entry checks: a stale one is -ESRCH / ACCESS_ESRCH.
import { K } from "./init/state";
import { start_kernel } from "./init/main";
import { spin_lock, spin_unlock } from "./lib/spinlock";
import { find_task, find_task_handle, handle_tid, task_handle as __task_handle, task_frame, task_bounce } from "./kernel/sched";
import { create_process as __create_process, clone_thread as __clone_thread, do_group_exit } from "./kernel/fork";
import { do_syscall } from "./kernel/sys";
import { user_load, user_store, user_read, user_write, user_translate } from "./mm/access";
import { dump_vmas, vma_file_name } from "./mm/maps";
import { check_invariants, CHECK_DETAIL_ADDR } from "./mm/debug";
import { kernel_stat as __kernel_stat } from "./mm/stat";
import { ESRCH, ERESTARTSYS } from "./abi/errno";
import { task_enter } from "./kernel/entry";
import { proc_fdinfo as __proc_fdinfo, proc_pagemap as __proc_pagemap } from "./fs/proc";
import { ACCESS_RETRY } from "./abi/kernel";
import { host_frame, maps_record } from "./abi/kernel";
import { stat } from "./abi/uapi";
import { KSTATE_ADDR } from "./init/layout";
import { kvm_guest_access } from "./virt/kvm/kvm_main";
import { poll_timeout } from "./fs/select";

/** kernel_state.smp, at a fixed offset (see init/state.ts). */
const SMP_ADDR: usize = KSTATE_ADDR + 8;

// @ts-ignore: decorator
@inline function lock(): void { if (load<i32>(SMP_ADDR)) spin_lock(KSTATE_ADDR); }
// @ts-ignore: decorator
@inline function unlock(): void { if (load<i32>(SMP_ADDR)) spin_unlock(KSTATE_ADDR); }

/** Boot the kernel in the first `mem_bytes` of memory with BOOT_* `flags`. Exactly one instance calls it. */
export function kernel_boot(mem_bytes: u32, flags: u32): i32 {
  lock();
  let r = start_kernel(<usize>mem_bytes, flags);
  unlock();
  return r;
}

export function kernel_booted(): i32 { return load<i32>(KSTATE_ADDR + 4); }

/**
 * From now on more than one host thread may enter the kernel: take the big kernel lock
 * in every entry. Call before starting a second thread, from outside any entry.
 */
export function kernel_enable_smp(): void {
  if (ASC_FEATURE_THREADS) atomic.store<i32>(SMP_ADDR, 1);
  else store<i32>(SMP_ADDR, 1);
}

/**
 * A new process (empty mm, empty fd table) with capability bits `caps` and device-node
 * permissions `perm` (PERM_*): its main thread's handle (the pid is its low 16 bits), or -errno.
 */
export function process_create(caps: u32, perm: u32): f64 {
  lock();
  let r = __create_process(caps, perm);
  let h = r < 0 ? <f64>r : __task_handle(find_task(r)!);
  unlock();
  return h;
}

/** Another thread in the process of task `h`: the new thread's handle, or -errno. */
export function thread_create(h: f64): f64 {
  lock();
  let t = find_task_handle(h);
  let r = t ? __clone_thread(t) : -ESRCH;
  let nh = r < 0 ? <f64>r : __task_handle(find_task(r)!);
  unlock();
  return nh;
}

/** The handle of the live task `tid` (a pid just returned by fork), or -ESRCH. */
export function task_handle(tid: i32): f64 {
  lock();
  let t = find_task(tid);
  let h = t ? __task_handle(t) : <f64>-ESRCH;
  unlock();
  return h;
}

/** Linear address of the host frame of task `h`, or 0. */
export function task_frame_addr(h: f64): u32 {
  let t = find_task_handle(h);
  return t ? <u32>changetype<usize>(task_frame(t)) : 0;
}

/** Run the system call described by the task's host frame; the result goes to frame.ret. */
export function syscall(h: f64): i32 {
  lock();
  let t = task_enter(h, true);
  if (!t) {
    unlock();
    return -ESRCH;
  }
  let f = task_frame(t);
  f.si_signo = 0;
  let r = do_syscall(t);
  // A call that must wait returns -ERESTARTSYS with the task queued: the host waits on the
  // frame's wait word and reissues the call (userspace never sees ERESTARTSYS).
  f.status = r == -ERESTARTSYS ? ACCESS_RETRY : 0;
  f.ret = r;
  unlock();
  return 0;
}

/**
 * The host's timer for the task's waiting system call ran out (host_frame.wait_timeout_ms):
 * 1 if the call was still waiting and now returns on its reissue, 0 if it was woken first.
 */
export function task_timeout(h: f64): i32 {
  lock();
  let t = find_task_handle(h);
  let r = t ? (poll_timeout(t) ? 1 : 0) : -ESRCH;
  unlock();
  return r;
}

/** Load 1, 2 or 4 bytes (as an unsigned number) or 8 bytes (into frame.value, returns 0). */
export function uaccess_load(h: f64, addr: f64, size: i32): f64 {
  lock();
  let r = user_load(h, addr, size);
  unlock();
  return r;
}

/** Store 1, 2 or 4 bytes of `value`, or 8 bytes from frame.value. ACCESS_* status. */
export function uaccess_store(h: f64, addr: f64, size: i32, value: f64): i32 {
  lock();
  let r = user_store(h, addr, size, value);
  unlock();
  return r;
}

/** Copy `len` (<= BOUNCE_SIZE) user bytes into the bounce page: bytes copied, or ACCESS_*. */
export function uaccess_read(h: f64, addr: f64, len: i32): i32 {
  lock();
  let r = user_read(h, addr, len);
  unlock();
  return r;
}

/** Copy `len` (<= BOUNCE_SIZE) bytes from the bounce page to user memory: bytes, or ACCESS_*. */
export function uaccess_write(h: f64, addr: f64, len: i32): i32 {
  lock();
  let r = user_write(h, addr, len);
  unlock();
  return r;
}

/** Resolve `addr` for an access (faulting as needed): the linear address, or ACCESS_*. */
export function uaccess_translate(h: f64, addr: f64, write: i32): f64 {
  lock();
  let r = user_translate(h, addr, write != 0);
  unlock();
  return r;
}

/**
 * A guest memory access by a vCPU thread (task `h`) of the VM `vmfd` (KVM_ACCESS_* flags): `len`
 * (<= BOUNCE_SIZE) bytes at guest-physical `gpa` to or from the bounce page. Returns len, or
 * -errno; -ERESTARTSYS means the task waits for a userfault (wait word): repeat after the wake.
 */
export function kvm_vcpu_access(h: f64, vmfd: i32, gpa: f64, len: i32, flags: i32): i32 {
  lock();
  let t = task_enter(h);
  let r: i64 = -ESRCH;
  if (t && t.mm != 0) {
    r = kvm_guest_access(t, <i64>vmfd, !(gpa >= 0) || gpa >= 1.8446744073709552e19 ? <u64>-1 : <u64>gpa, len, flags);
    task_frame(t).si_signo = 0;
  }
  unlock();
  return <i32>r;
}

/** Write maps records for VMAs from index `first` into the bounce page: the count. */
export function mm_dump_vmas(h: f64, first: i32): i32 {
  lock();
  let t = find_task_handle(h);
  // A leader that exited before its threads: the zombie's maps (mm/maps.ts) while no newer
  // task has its id.
  let tid = t ? t.tid : handle_tid(h);
  let r = t || (tid != 0 && !find_task(tid)) ? dump_vmas(tid, first) : -ESRCH;
  unlock();
  return r;
}

/** The file name behind VMA `index` of task `h` (see mm/maps.ts vma_file_name). */
export function mm_vma_name(h: f64, index: i32): i32 {
  lock();
  let t = find_task_handle(h);
  let r = t ? vma_file_name(t.tid, index) : -ESRCH;
  unlock();
  return r;
}

/**
 * /proc/<pid>/fdinfo/<fd>, the file-specific lines (a userfaultfd's pending/total/API, §8.5;
 * nothing for other files), written to the task's bounce page: their length, or -EBADF.
 */
export function proc_fdinfo(h: f64, fd: i32): i32 {
  lock();
  let t = find_task_handle(h);
  let r = t ? __proc_fdinfo(t.tid, fd) : -ESRCH;
  unlock();
  return r;
}

/** /proc/<pid>/pagemap of the page at `addr`: 1 present, 2 uffd-wp (see fs/proc.ts), or -errno. */
export function proc_pagemap(h: f64, addr: f64): i32 {
  lock();
  let t = find_task_handle(h);
  let r = t ? __proc_pagemap(t.tid, <u64>addr) : -ESRCH;
  unlock();
  return r;
}

/** The invariant checker (debug builds): INV_OK or the first violation's code. */
export function mm_check_invariants(): i32 {
  lock();
  let r = check_invariants();
  unlock();
  return r;
}

/** Address that holds the detail (u64) of the last invariant violation. */
export function mm_check_detail_addr(): u32 { return <u32>CHECK_DETAIL_ADDR; }

/** A kernel counter (KSTAT_*). */
export function kernel_stat(which: i32): f64 { return __kernel_stat(which); }

/** Whether this build has CONFIG_DEBUG_VM. */
export function kernel_debug(): i32 { return CONFIG_DEBUG_VM ? 1 : 0; }

/** Sizes of the ABI records, so that a test can compare them with the generated host copy. */
export function abi_sizeof(which: i32): i32 {
  switch (which) {
    case 0: return <i32>offsetof<host_frame>();
    case 1: return <i32>offsetof<maps_record>();
    case 2: return <i32>offsetof<stat>();
    case 3: return <i32>offsetof<host_frame>("si_addr");
    case 4: return <i32>offsetof<host_frame>("bounce");
    case 5: return <i32>offsetof<stat>("st_blocks");
    case 6: return <i32>offsetof<maps_record>("rss");
  }
  return -1;
}
