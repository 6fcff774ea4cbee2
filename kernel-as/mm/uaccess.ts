// User-memory access: the simulated MMU (arch/x86/mm/fault.c do_user_addr_fault) and the
// kernel's copy_{from,to}_user.
//
// translate() is the hot path: a four-level walk that succeeds when the PTE is present,
// user-accessible and (for writes) writable. Anything else goes to the slow path, which
// checks the VMA like do_user_addr_fault, calls handle_mm_fault and walks again.
import { task_struct } from "../kernel/types";
import { task_frame, task_vmf, task_bounce } from "../kernel/sched";
import { mm_struct, VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_FAULT_SIGSEGV, VM_FAULT_HWPOISON, VM_FAULT_RETRY,
  FAULT_FLAG_WRITE, FAULT_FLAG_USER, FAULT_FLAG_ALLOW_RETRY, FAULT_FLAG_KILLABLE, FAULT_FLAG_INTERRUPTIBLE, FAULT_FLAG_TRIED } from "./types";
import { VM_READ, VM_WRITE, VM_EXEC, ACCESS_SIGSEGV, ACCESS_SIGBUS, ACCESS_OOM, ACCESS_RETRY, HOST_STAGING_BASE, BOUNCE_SIZE } from "../abi/kernel";
import { SIGSEGV, SIGBUS, SEGV_MAPERR, SEGV_ACCERR, BUS_ADRERR, BUS_MCEERR_AR, PAGE_SIZE, TASK_SIZE } from "../abi/uapi";
import { EFAULT, ERESTARTSYS } from "../abi/errno";
import { pte_offset, _PAGE_PRESENT, _PAGE_USER, _PAGE_RW, PTE_PFN_MASK } from "./pgtable";
import { find_vma } from "./vma";
import { handle_mm_fault } from "./memory";

/** x86 do_sigbus(): CONFIG_MEMORY_FAILURE of the reference 6.18.44 kernel (not set). */
const CONFIG_MEMORY_FAILURE = false;
/** si_code of SIGBUS for VM_FAULT_HWPOISON: BUS_MCEERR_AR if CONFIG_MEMORY_FAILURE=y, which the reference kernel is not. */
const POISON_SI_CODE: i32 = CONFIG_MEMORY_FAILURE ? BUS_MCEERR_AR : BUS_ADRERR;

// @ts-ignore: decorator
@inline function MMOF(t: task_struct): mm_struct { return changetype<mm_struct>(<usize>t.mm); }

/** The fast path: linear address of the byte at `addr`, or 0 if the PTE does not allow it. */
// @ts-ignore: decorator
@inline export function translate_fast(pgd: usize, addr: u64, write: bool): usize {
  if (addr >= TASK_SIZE) return 0;
  let ptep = pte_offset(pgd, addr);
  if (ptep == 0) return 0;
  let pte = load<u64>(ptep);
  let need: u64 = write ? (_PAGE_PRESENT | _PAGE_USER | _PAGE_RW) : (_PAGE_PRESENT | _PAGE_USER);
  if ((pte & need) != need) return 0;
  return <usize>(pte & PTE_PFN_MASK) + <usize>(addr & (PAGE_SIZE - 1));
}

function raise(t: task_struct, signo: i32, code: i32, addr: u64): i64 {
  let f = task_frame(t);
  f.si_signo = signo;
  f.si_code = code;
  f.si_addr = addr;
  return signo == SIGSEGV ? <i64>ACCESS_SIGSEGV : <i64>ACCESS_SIGBUS;
}

/**
 * Translate `addr` for an access, faulting as needed: the linear address, or a negative
 * ACCESS_* code (signal details in the host frame). `user` says whether the access is the
 * program's own (signals) or the kernel's on its behalf (callers turn failures into EFAULT).
 */
export function translate(t: task_struct, addr: u64, write: bool, user: bool): i64 {
  let mm = MMOF(t);
  let pgd = <usize>mm.pgd;
  let pa = translate_fast(pgd, addr, write);
  if (pa != 0) return <i64>pa;
  let flags: u32 = FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE | FAULT_FLAG_INTERRUPTIBLE;
  if (write) flags |= FAULT_FLAG_WRITE;
  if (user) flags |= FAULT_FLAG_USER;
  // x86-64 (4-level paging): an address in neither canonical half is no page fault but a #GP,
  // which the program sees as SIGSEGV with si_code SI_KERNEL (0x80) and no fault address.
  if (addr >= 0x800000000000 && addr < 0xffff800000000000) return raise(t, SIGSEGV, 0x80, 0);
  // A fault may need more than one pass (e.g. a read maps the zero page, then nothing
  // else); bound the loop so that a bug cannot hang the host.
  for (let attempt = 0; attempt < 4; attempt++) {
    let v = find_vma(mm, addr);
    if (!v || v.vm_start > addr || addr >= TASK_SIZE) return raise(t, SIGSEGV, SEGV_MAPERR, addr);
    // access_error(): write needs VM_WRITE; any other access needs some permission
    // (x86-64: write and execute imply read).
    if (write ? !(v.vm_flags & VM_WRITE) : !(v.vm_flags & (VM_READ | VM_WRITE | VM_EXEC))) {
      return raise(t, SIGSEGV, SEGV_ACCERR, addr);
    }
    let ret = handle_mm_fault(task_vmf(t), v, addr, flags);
    if (ret & VM_FAULT_RETRY) return <i64>ACCESS_RETRY;
    if (ret & VM_FAULT_OOM) return <i64>ACCESS_OOM;
    // do_sigbus(): BUS_MCEERR_AR only with CONFIG_MEMORY_FAILURE; the reference 6.18.44 kernel
    // lacks it and reports a poisoned marker (UFFDIO_POISON) as BUS_ADRERR (measured).
    if (ret & VM_FAULT_HWPOISON) return raise(t, SIGBUS, POISON_SI_CODE, addr);
    if (ret & VM_FAULT_SIGBUS) return raise(t, SIGBUS, BUS_ADRERR, addr);
    if (ret & VM_FAULT_SIGSEGV) return raise(t, SIGSEGV, SEGV_ACCERR, addr);
    pa = translate_fast(pgd, addr, write);
    if (pa != 0) return <i64>pa;
    flags |= FAULT_FLAG_TRIED;
  }
  return raise(t, SIGSEGV, SEGV_ACCERR, addr);
}

// ---- kernel access to user memory (system-call arguments) ---------------------------------

/** Whether [addr, addr + len) lies in the host staging window (see abi/kernel.ts). */
// @ts-ignore: decorator
@inline function in_staging(addr: u64, len: u64): bool {
  return addr >= HOST_STAGING_BASE && len <= <u64>BOUNCE_SIZE && addr - HOST_STAGING_BASE <= <u64>BOUNCE_SIZE - len;
}

/** access_ok: whether [addr, addr + len) is a user range (or the staging window). */
export function access_ok(addr: u64, len: u64): bool {
  if (in_staging(addr, len)) return true;
  return len <= TASK_SIZE && addr <= TASK_SIZE - len;
}

/**
 * Copy between kernel memory `k` and user memory `u`. Returns 0, -EFAULT, or -ERESTARTSYS
 * when a userfault blocked the task (the host waits and reissues the system call).
 */
/** Bytes the last failed copy_user moved before the page it could not fault in (x86's copy stops at the faulting byte). */
let copy_partial: u64 = 0;
export function copy_user_partial(): u64 { return copy_partial; }

function copy_user(t: task_struct, k: usize, u: u64, len: u64, to_user: bool): i32 {
  copy_partial = 0;
  if (len == 0) return 0;
  if (in_staging(u, len)) {
    let b = task_bounce(t) + <usize>(u - HOST_STAGING_BASE);
    if (to_user) memory.copy(b, k, <usize>len);
    else memory.copy(k, b, <usize>len);
    return 0;
  }
  if (u + len < u || u + len > TASK_SIZE) return -EFAULT;
  let done: u64 = 0;
  while (done < len) {
    let at = u + done;
    let n = <u64>PAGE_SIZE - (at & (PAGE_SIZE - 1));
    if (n > len - done) n = len - done;
    let pa = translate(t, at, to_user, false);
    if (pa < 0) {
      // Kernel-mode faults raise no signal: the system call fails instead.
      task_frame(t).si_signo = 0;
      copy_partial = done;
      if (pa == <i64>ACCESS_RETRY) return -ERESTARTSYS;
      // Out of memory while faulting for the kernel is EFAULT for the system call, as in Linux.
      return -EFAULT;
    }
    if (to_user) memory.copy(<usize>pa, k + <usize>done, <usize>n);
    else memory.copy(k + <usize>done, <usize>pa, <usize>n);
    done += n;
  }
  return 0;
}

export function copy_from_user(t: task_struct, dst: usize, src: u64, len: u64): i32 { return copy_user(t, dst, src, len, false); }
export function copy_to_user(t: task_struct, dst: u64, src: usize, len: u64): i32 { return copy_user(t, src, dst, len, true); }

/**
 * copy_from_user with page faults disabled (pagefault_disable + __copy_from_user_inatomic):
 * only what the page tables already allow; 0, or -EFAULT at the first page that would fault.
 */
export function copy_from_user_nofault(t: task_struct, dst: usize, src: u64, len: u64): i32 {
  if (in_staging(src, len)) return copy_user(t, dst, src, len, false);
  if (src + len < src || src + len > TASK_SIZE) return -EFAULT;
  let pgd = <usize>MMOF(t).pgd;
  let done: u64 = 0;
  while (done < len) {
    let at = src + done;
    let n = <u64>PAGE_SIZE - (at & (PAGE_SIZE - 1));
    if (n > len - done) n = len - done;
    let pa = translate_fast(pgd, at, false);
    if (pa == 0) return -EFAULT;
    memory.copy(dst + <usize>done, pa, <usize>n);
    done += n;
  }
  return 0;
}

/**
 * strnlen_user: length of the NUL-terminated user string at `u` including the NUL, at most
 * `max` (a result > max... is max + 1 when no NUL was found within max bytes); 0 on a fault.
 * The bytes are copied to `dst` (which has room for `max` bytes).
 */
export function strncpy_from_user(t: task_struct, dst: usize, u: u64, max: u32): i64 {
  for (let i: u32 = 0; i < max; i++) {
    let r = copy_from_user(t, dst + i, u + i, 1);
    if (r < 0) return r;
    if (load<u8>(dst + i) == 0) return i + 1;
  }
  return <i64>max + 1;
}
