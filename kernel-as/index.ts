// The kernel's only exports: numbers in, a value or a negative code out. Each entry takes
// the big kernel lock and dispatches to one helper; nothing else lives here.
//
// Addresses cross the boundary as f64 (user addresses are 48-bit, exact in a double, and
// a double costs no BigInt conversion); system-call arguments travel in the task's host
// frame (abi/kernel.ts). Tasks are named by their handle (an f64, never reused: see
// kernel/sched.ts), which every entry checks: a stale one is -ESRCH / ACCESS_ESRCH.
//
// An entry that cannot take the lock returns ENTRY_PANICKED (an earlier entry trapped: the
// panic record is set and the lock is lost with its holder) or, in debug builds,
// ENTRY_LOCK_TIMEOUT - holder (abi/kernel.ts), having done nothing.
import { K, kernel_state, PANIC_ADDR } from "./init/state";
import { start_kernel } from "./init/main";
import { spin_lock, spin_unlock, spin_lock_holder } from "./lib/spinlock";
import { find_task, find_task_handle, handle_tid, task_handle as __task_handle, task_frame, task_bounce } from "./kernel/sched";
import { create_process as __create_process, clone_thread as __clone_thread } from "./kernel/fork";
import { do_syscall } from "./kernel/sys";
import { user_load, user_store, user_read, user_write, user_translate } from "./mm/access";
import { dump_vmas, vma_file_name } from "./mm/maps";
import { check_invariants, CHECK_DETAIL_ADDR } from "./mm/debug";
import { kernel_stat as __kernel_stat } from "./mm/stat";
import { ESRCH, ERESTARTSYS, ENOSYS } from "./abi/errno";
import { task_enter } from "./kernel/entry";
import { proc_fdinfo as __proc_fdinfo, proc_pagemap as __proc_pagemap, proc_page_states as __proc_page_states } from "./fs/proc";
import { ACCESS_RETRY } from "./abi/kernel";
import { host_frame, maps_record, ENTRY_PANICKED, ENTRY_LOCK_TIMEOUT, LOCK_HELD } from "./abi/kernel";
import { stat, uffdio_copy as __uffdio_copy, uffdio_zeropage as __uffdio_zeropage, uffdio_continue as __uffdio_continue,
  uffdio_range, UFFDIO_COPY, UFFDIO_ZEROPAGE, UFFDIO_CONTINUE, UFFDIO_WAKE, UFFD_MSG_SIZE, __NR_ioctl, __NR_read } from "./abi/uapi";
import { EINVAL } from "./abi/errno";
import { HOST_STAGING_BASE, BOUNCE_SIZE } from "./abi/kernel";
import { task_struct } from "./kernel/types";
import { KSTATE_ADDR } from "./init/layout";
import { kvm_guest_access } from "./virt/kvm/kvm_main";
import { poll_timeout } from "./fs/select";

/** kernel_state.smp, at a fixed offset (see init/state.ts). */
const SMP_ADDR: usize = KSTATE_ADDR + 8;
/** kernel_state.lock_spin_limit (debug builds: read only by a spinner). */
const SPIN_LIMIT_ADDR: usize = KSTATE_ADDR + offsetof<kernel_state>("lock_spin_limit");

/**
 * Enter for the task with id `tid` (0: no task): 0 with the big kernel lock held, or the
 * refusal to return (ENTRY_*) with nothing held. The panic record's state word comes first:
 * an entry that trapped never released the lock, and the kernel it left is not to be trusted.
 */
// @ts-ignore: decorator
@inline function lock(tid: i32): i32 {
  if (!load<i32>(SMP_ADDR)) return load<i32>(PANIC_ADDR) != 0 ? ENTRY_PANICKED : 0;
  if (atomic.load<i32>(PANIC_ADDR) != 0) return ENTRY_PANICKED;
  let r = spin_lock(KSTATE_ADDR, LOCK_HELD | (tid & 0xffff), PANIC_ADDR, SPIN_LIMIT_ADDR);
  if (r == 0) return 0;
  return r < 0 ? ENTRY_PANICKED : ENTRY_LOCK_TIMEOUT - (r & 0xffff);
}
/** The task id a handle names (its low 16 bits), for the lock word; 0 for a malformed one. */
// @ts-ignore: decorator
@inline function htid(h: f64): i32 { return h >= 1 && h <= 9007199254740991 ? <i32>(<u64>h & 0xffff) : 0; }
// @ts-ignore: decorator
@inline function unlock(): void { if (load<i32>(SMP_ADDR)) spin_unlock(KSTATE_ADDR); }

/** Boot the kernel in the first `mem_bytes` of memory with BOOT_* `flags`. Exactly one instance calls it. */
export function kernel_boot(mem_bytes: u32, flags: u32): i32 {
  let e = lock(0);
  if (e) return e;
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
  let e = lock(0);
  if (e) return <f64>e;
  let r = __create_process(caps, perm);
  let h = r < 0 ? <f64>r : __task_handle(find_task(r)!);
  unlock();
  return h;
}

/** Another thread in the process of task `h`: the new thread's handle, or -errno. */
export function thread_create(h: f64): f64 {
  let e = lock(htid(h));
  if (e) return <f64>e;
  let t = find_task_handle(h);
  let r = t ? __clone_thread(t) : -ESRCH;
  let nh = r < 0 ? <f64>r : __task_handle(find_task(r)!);
  unlock();
  return nh;
}

/** The handle of the live task `tid` (a pid just returned by fork), or -ESRCH. */
export function task_handle(tid: i32): f64 {
  let e = lock(tid);
  if (e) return <f64>e;
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
  let e = lock(htid(h));
  if (e) return e;
  let t = task_enter(h, true);
  if (!t) {
    unlock();
    return -ESRCH;
  }
  let f = task_frame(t);
  f.si_signo = 0;
  if (CONFIG_DEBUG_VM && K().debug_trap_tid == t.tid) {
    K().debug_trap_tid = 0;
    unreachable(); // debug_trap: a kernel bug on demand, with the lock held
  }
  let r = do_syscall(t);
  // A call that must wait returns -ERESTARTSYS with the task queued: the host waits on the
  // frame's wait word and reissues the call (userspace never sees ERESTARTSYS).
  f.status = r == -ERESTARTSYS ? ACCESS_RETRY : 0;
  f.ret = r;
  unlock();
  return 0;
}

// ---- the userfaultfd handler's hot calls ----
//
// Each is the system call the typed host API would make (ioctl(fd, UFFDIO_*, &struct) with
// the structure staged in the task's bounce page, or read(fd, staging, n)), with the frame and
// the structure filled here from plain numbers instead of by the host: the same call through
// do_syscall, so restart, tracing of the frame and every errno are the raw path's. The
// result is the call's return value (the out-field stays in the bounce page at its offset);
// -ERESTARTSYS means the task waits (wait word), and the reissue is the same entry with the
// same arguments. Numbers that are not integers in [0, 2^53] are -EINVAL.

/** Whether `x` is an integer in [0, 2^53] (a u64 field the host passes as a number). */
// @ts-ignore: decorator
@inline function u53(x: f64): bool { return x >= 0 && x <= 9007199254740992 && floor(x) == x; }

/**
 * Run system call `nr` with arguments (a0, a1, a2) for task `t` (lock held, task entered),
 * as the `syscall` entry runs the frame's call.
 */
function frame_syscall(t: task_struct, nr: i32, a0: u64, a1: u64, a2: u64): i64 {
  let f = task_frame(t);
  f.nr = nr;
  f.arg0 = a0;
  f.arg1 = a1;
  f.arg2 = a2;
  f.arg3 = 0;
  f.arg4 = 0;
  f.arg5 = 0;
  f.si_signo = 0;
  if (CONFIG_DEBUG_VM && K().debug_trap_tid == t.tid) {
    K().debug_trap_tid = 0;
    unreachable(); // debug_trap, as in `syscall`
  }
  let r = do_syscall(t);
  f.status = r == -ERESTARTSYS ? ACCESS_RETRY : 0;
  f.ret = r;
  return r;
}

/** ioctl(fd, cmd, staging) for task `h` with the structure the caller wrote into its bounce page. */
// @ts-ignore: decorator
@inline function staged_ioctl(t: task_struct, fd: i32, cmd: u32): i32 {
  return <i32>frame_syscall(t, __NR_ioctl, <u64><u32>fd, <u64>cmd, HOST_STAGING_BASE);
}

/**
 * ioctl(fd, UFFDIO_COPY, {dst, src, len, mode}) for task `h`: 0 or -errno; the out-field
 * `copy` (bytes copied, or -errno) is left in the bounce page.
 */
export function uffdio_copy(h: f64, fd: i32, dst: f64, src: f64, len: f64, mode: f64): i32 {
  let e = lock(htid(h));
  if (e) return e;
  let t = task_enter(h, true);
  let r = -ESRCH;
  if (t) {
    if (u53(dst) && u53(src) && u53(len) && u53(mode)) {
      let b = changetype<__uffdio_copy>(task_bounce(t));
      b.dst = <u64>dst;
      b.src = <u64>src;
      b.len = <u64>len;
      b.mode = <u64>mode;
      b.copy = 0;
      r = staged_ioctl(t, fd, UFFDIO_COPY);
    } else r = -EINVAL;
  }
  unlock();
  return r;
}

/**
 * ioctl(fd, cmd, {start, len, mode}) for UFFDIO_ZEROPAGE and UFFDIO_CONTINUE, whose structures
 * share one layout (a range, the mode, then the out-field): 0 or -errno; the out-field in the bounce page.
 */
function range_mode_ioctl(h: f64, fd: i32, start: f64, len: f64, mode: f64, cmd: u32): i32 {
  if (offsetof<__uffdio_continue>("mapped") != offsetof<__uffdio_zeropage>("zeropage")) unreachable();
  let e = lock(htid(h));
  if (e) return e;
  let t = task_enter(h, true);
  let r = -ESRCH;
  if (t) {
    if (u53(start) && u53(len) && u53(mode)) {
      let b = changetype<__uffdio_zeropage>(task_bounce(t));
      b.start = <u64>start;
      b.len = <u64>len;
      b.mode = <u64>mode;
      b.zeropage = 0;
      r = staged_ioctl(t, fd, cmd);
    } else r = -EINVAL;
  }
  unlock();
  return r;
}

/** ioctl(fd, UFFDIO_ZEROPAGE, {start, len, mode}): 0 or -errno; out-field `zeropage` in the bounce page. */
export function uffdio_zeropage(h: f64, fd: i32, start: f64, len: f64, mode: f64): i32 {
  return range_mode_ioctl(h, fd, start, len, mode, UFFDIO_ZEROPAGE);
}

/** ioctl(fd, UFFDIO_CONTINUE, {start, len, mode}): 0 or -errno; out-field `mapped` in the bounce page. */
export function uffdio_continue(h: f64, fd: i32, start: f64, len: f64, mode: f64): i32 {
  return range_mode_ioctl(h, fd, start, len, mode, UFFDIO_CONTINUE);
}

/** ioctl(fd, UFFDIO_WAKE, {start, len}): 0 or -errno. */
export function uffdio_wake(h: f64, fd: i32, start: f64, len: f64): i32 {
  let e = lock(htid(h));
  if (e) return e;
  let t = task_enter(h, true);
  let r = -ESRCH;
  if (t) {
    if (u53(start) && u53(len)) {
      let b = changetype<uffdio_range>(task_bounce(t));
      b.start = <u64>start;
      b.len = <u64>len;
      r = staged_ioctl(t, fd, UFFDIO_WAKE);
    } else r = -EINVAL;
  }
  unlock();
  return r;
}

/**
 * read(fd, staging, n * sizeof(struct uffd_msg)) for task `h`: up to `n` (1 ..
 * BOUNCE_SIZE / UFFD_MSG_SIZE) messages into the bounce page; the bytes read, or -errno
 * (-EAGAIN: none pending on an O_NONBLOCK fd; -ERESTARTSYS: a blocking fd waits).
 */
export function uffd_read_msgs(h: f64, fd: i32, n: i32): i32 {
  let e = lock(htid(h));
  if (e) return e;
  let t = task_enter(h, true);
  let r = -ESRCH;
  if (t) {
    if (n >= 1 && n <= BOUNCE_SIZE / UFFD_MSG_SIZE) r = <i32>frame_syscall(t, __NR_read, <u64><u32>fd, HOST_STAGING_BASE, <u64>(n * UFFD_MSG_SIZE));
    else r = -EINVAL;
  }
  unlock();
  return r;
}

/**
 * The host's timer for the task's waiting system call ran out (host_frame.wait_timeout_ms):
 * 1 if the call was still waiting and now returns on its reissue, 0 if it was woken first.
 */
export function task_timeout(h: f64): i32 {
  let e = lock(htid(h));
  if (e) return e;
  let t = find_task_handle(h);
  let r = t ? (poll_timeout(t) ? 1 : 0) : -ESRCH;
  unlock();
  return r;
}

/** Load 1, 2 or 4 bytes (as an unsigned number) or 8 bytes (into frame.value, returns 0). */
export function uaccess_load(h: f64, addr: f64, size: i32): f64 {
  let e = lock(htid(h));
  if (e) return <f64>e;
  let r = user_load(h, addr, size);
  unlock();
  return r;
}

/** Store 1, 2 or 4 bytes of `value`, or 8 bytes from frame.value. ACCESS_* status. */
export function uaccess_store(h: f64, addr: f64, size: i32, value: f64): i32 {
  let e = lock(htid(h));
  if (e) return e;
  let r = user_store(h, addr, size, value);
  unlock();
  return r;
}

/** Copy `len` (<= BOUNCE_SIZE) user bytes into the bounce page: bytes copied, or ACCESS_*. */
export function uaccess_read(h: f64, addr: f64, len: i32): i32 {
  let e = lock(htid(h));
  if (e) return e;
  let r = user_read(h, addr, len);
  unlock();
  return r;
}

/** Copy `len` (<= BOUNCE_SIZE) bytes from the bounce page to user memory: bytes, or ACCESS_*. */
export function uaccess_write(h: f64, addr: f64, len: i32): i32 {
  let e = lock(htid(h));
  if (e) return e;
  let r = user_write(h, addr, len);
  unlock();
  return r;
}

/** Resolve `addr` for an access (faulting as needed): the linear address, or ACCESS_*. */
export function uaccess_translate(h: f64, addr: f64, write: i32): f64 {
  let e = lock(htid(h));
  if (e) return <f64>e;
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
  let e = lock(htid(h));
  if (e) return e;
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
  let e = lock(htid(h));
  if (e) return e;
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
  let e = lock(htid(h));
  if (e) return e;
  let t = find_task_handle(h);
  let r = t ? vma_file_name(t.tid, index) : -ESRCH;
  unlock();
  return r;
}

/**
 * /proc/<pid>/fdinfo/<fd>, the file-specific lines (a userfaultfd's pending/total/API, as fs/userfaultfd.c userfaultfd_show_fdinfo;
 * nothing for other files), written to the task's bounce page: their length, or -EBADF.
 */
export function proc_fdinfo(h: f64, fd: i32): i32 {
  let e = lock(htid(h));
  if (e) return e;
  let t = find_task_handle(h);
  let r = t ? __proc_fdinfo(t.tid, fd) : -ESRCH;
  unlock();
  return r;
}

/** /proc/<pid>/pagemap of the page at `addr`: 1 present, 2 uffd-wp (see fs/proc.ts), or -errno. */
export function proc_pagemap(h: f64, addr: f64): i32 {
  let e = lock(htid(h));
  if (e) return e;
  let t = find_task_handle(h);
  let r = t ? __proc_pagemap(t.tid, <u64>addr) : -ESRCH;
  unlock();
  return r;
}

/** `n` pages' PAGE_STATE_* bytes from `addr` into the task's bounce page (see fs/proc.ts): n, or -errno. */
export function proc_page_states(h: f64, addr: f64, n: i32): i32 {
  let e = lock(htid(h));
  if (e) return e;
  let t = find_task_handle(h);
  let r = t ? __proc_page_states(t.tid, <u64>addr, n) : -ESRCH;
  unlock();
  return r;
}

/** The invariant checker (debug builds): INV_OK or the first violation's code. */
export function mm_check_invariants(): i32 {
  let e = lock(0);
  if (e) return e;
  let r = check_invariants();
  unlock();
  return r;
}

/** Address that holds the detail (u64) of the last invariant violation. */
export function mm_check_detail_addr(): u32 { return <u32>CHECK_DETAIL_ADDR; }

/** A kernel counter (KSTAT_*). */
export function kernel_stat(which: i32): f64 { return __kernel_stat(which); }

/** Address of the panic record (abi/kernel.ts panic_record). Takes no lock. */
export function kernel_panic_addr(): u32 { return <u32>PANIC_ADDR; }

/**
 * Who holds the big kernel lock: -1 nobody, else the low 16 bits of the task id its entry
 * runs for (0: an entry for no task). Takes no lock; a snapshot.
 */
export function kernel_lock_holder(): i32 {
  let w = spin_lock_holder(KSTATE_ADDR);
  return w == 0 ? -1 : w & 0xffff;
}

/**
 * Debug builds only: the next system call of task `h` executes `unreachable` inside the
 * kernel with the big kernel lock held, as a kernel bug would (for testing the panic path).
 * 0, -ESRCH, or -ENOSYS in release builds.
 */
export function debug_trap(h: f64): i32 {
  if (!CONFIG_DEBUG_VM) return -ENOSYS;
  let e = lock(htid(h));
  if (e) return e;
  let t = find_task_handle(h);
  if (t) K().debug_trap_tid = t.tid;
  unlock();
  return t ? 0 : -ESRCH;
}

/**
 * Debug builds only: take the big kernel lock for task id `tid` and keep it, as an entry whose
 * host thread died inside the kernel would (for testing the bounded spin); `tid` < 0 releases
 * it. `spins` > 0 first sets how long spinners wait before giving up
 * (kernel_state.lock_spin_limit). 0, an ENTRY_* refusal, or -ENOSYS in release builds.
 */
export function debug_hold_lock(tid: i32, spins: f64): i32 {
  if (!CONFIG_DEBUG_VM) return -ENOSYS;
  if (spins >= 1) store<u64>(SPIN_LIMIT_ADDR, <u64>spins);
  if (tid < 0) {
    spin_unlock(KSTATE_ADDR);
    return 0;
  }
  return lock(tid);
}

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
