// Errors the host API throws: system-call failures shaped like Node's SystemError, and the
// signals a simulated thread can receive.
import { ERRNO_NAMES, SIGSEGV, SIGBUS, SEGV_MAPERR, SEGV_ACCERR, BUS_ADRERR, BUS_MCEERR_AR } from "./abi.gen.js";

const ERRNO_TEXT: Record<string, string> = {
  EPERM: "operation not permitted", ENOENT: "no such file or directory", ESRCH: "no such process",
  EINTR: "interrupted system call", EIO: "i/o error", EBADF: "bad file descriptor", EAGAIN: "resource temporarily unavailable",
  ENOMEM: "cannot allocate memory", EACCES: "permission denied", EFAULT: "bad address", EBUSY: "resource busy or locked",
  EEXIST: "file already exists", ENODEV: "no such device", EINVAL: "invalid argument", EMFILE: "too many open files",
  ENOTTY: "inappropriate ioctl for device", EFBIG: "file too large", ENOSPC: "no space left on device",
  ESPIPE: "invalid seek", EPIPE: "broken pipe", ENOSYS: "function not implemented", EOVERFLOW: "value too large for defined data type",
  EOPNOTSUPP: "operation not supported on socket", EHWPOISON: "memory page has hardware error",
};

/** The name of an errno value ("EINVAL"), or "E<number>" for an unknown one. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}

/**
 * A failed system call, shaped like Node's SystemError: `code` is the errno name, `errno` the
 * Linux number (positive), `syscall` what failed; the message reads "EINVAL: invalid argument, mmap".
 */
export class SystemError extends Error {
  /** The errno name ("EINVAL", "EEXIST", ...; "E<number>" for one without a name). */
  readonly code: string;
  /** The Linux errno value, positive (EINVAL is 22). */
  readonly errno: number;
  /** The call that failed: a system call's name ("mmap"), "ioctl UFFDIO_COPY", "syscall <nr>", ... */
  readonly syscall: string;
  constructor(errno: number, syscall: string) {
    const code = errnoName(errno);
    super(`${code}: ${ERRNO_TEXT[code] ?? "error"}, ${syscall}`);
    this.name = "SystemError";
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
  }
}

/** A signal delivered to a simulated thread by a memory access. */
export class SignalError extends Error {
  /** SIGSEGV (11) or SIGBUS (7) */
  readonly signo: number;
  /** si_code: SEGV_MAPERR, SEGV_ACCERR, BUS_ADRERR, BUS_MCEERR_AR */
  readonly si_code: number;
  /** the faulting address */
  readonly addr: number;
  constructor(name: string, signo: number, si_code: number, addr: number) {
    super(`${name} (${codeName(signo, si_code)}) at 0x${addr.toString(16)}`);
    this.name = name;
    this.signo = signo;
    this.si_code = si_code;
    this.addr = addr;
  }
}
/** SIGSEGV from an access: `si_code` SEGV_MAPERR (no mapping) or SEGV_ACCERR (not permitted). */
export class SegmentationFault extends SignalError {
  constructor(si_code: number, addr: number) { super("SIGSEGV", SIGSEGV, si_code, addr); }
}
/** SIGBUS from an access: `si_code` BUS_ADRERR (e.g. beyond a file's end, or a userfaultfd with SIGBUS mode) or BUS_MCEERR_AR (a poisoned page). */
export class BusError extends SignalError {
  constructor(si_code: number, addr: number) { super("SIGBUS", SIGBUS, si_code, addr); }
}
/** The fault path ran out of simulated physical memory (VM_FAULT_OOM). */
export class OutOfMemoryError extends Error {
  constructor(
    /** The faulting address. */
    readonly addr: number,
  ) { super(`out of memory handling a fault at 0x${addr.toString(16)}`); this.name = "OutOfMemoryError"; }
}
/**
 * The access needs to wait (a userfault is pending) and was made through a synchronous
 * API that cannot wait, with no inline handler (Thread.onFault) that could serve it. Set
 * one, or use the thread's async API, or a worker thread. Not thrown on the hot path: the
 * kernel's "must wait" is a status until it reaches the API's edge.
 */
export class WouldBlockError extends Error {
  constructor(
    /** The address of the access (0 for a system call that must wait). */
    readonly addr: number,
  ) {
    super(`access at 0x${addr.toString(16)} would block`);
    this.name = "WouldBlockError";
  }
}
/** Every runnable thread is blocked and nothing can wake them. */
export class DeadlockError extends Error {
  constructor(
    /** The tids of the threads left blocked (every one not done). */
    readonly tids: number[],
  ) { super(`deadlock: threads ${tids.join(", ")} are blocked and nothing can wake them`); this.name = "DeadlockError"; }
}

/**
 * The kernel is dead. An entry trapped (a kernel bug: `unreachable`, an out-of-bounds access)
 * while it held the big kernel lock, so the kernel's state is not to be trusted and the lock is
 * never released; from then on every entry, from every thread, throws this instead of running
 * (or spinning). Boot a new Kernel.
 */
export class KernelPanic extends Error {
  constructor(
    /** the trap's message ("unreachable", "memory access out of bounds") */
    readonly trap: string,
    /** the kernel export that trapped ("syscall", "uaccess_load", ...) */
    readonly entry: string,
    /** the task it ran for (0: none) */
    readonly tid: number,
    /** for entry "syscall": the system call's number, else -1 */
    readonly nr: number,
    /** for entry "syscall": the system call's name ("getpid"), else null */
    readonly syscall: string | null,
  ) {
    const where = syscall !== null ? `system call ${syscall} (${nr})` : entry;
    super(`kernel panic: ${trap} in ${where}${tid ? ` of task ${tid}` : ""}; the kernel is dead, boot a new one`);
    this.name = "KernelPanic";
  }
}
/**
 * Debug builds: an entry gave up waiting for the big kernel lock, which `holder` kept for the
 * whole spin bound (seconds: its host thread died inside the kernel, or loops there). Nothing
 * ran; the kernel is not declared dead.
 */
export class KernelLockTimeout extends Error {
  constructor(
    /** the task the holder's entry runs for (low 16 bits of its id; 0: an entry for no task) */
    readonly holder: number,
    /** the export that gave up */
    readonly entry: string,
  ) {
    super(`${entry}: gave up waiting for the big kernel lock, held by ${holder ? `task ${holder}` : "an entry for no task"} (its thread died or loops inside the kernel)`);
    this.name = "KernelLockTimeout";
  }
}

function codeName(signo: number, code: number): string {
  if (signo === SIGSEGV) return code === SEGV_MAPERR ? "SEGV_MAPERR" : code === SEGV_ACCERR ? "SEGV_ACCERR" : `code ${code}`;
  return code === BUS_ADRERR ? "BUS_ADRERR" : code === BUS_MCEERR_AR ? "BUS_MCEERR_AR" : `code ${code}`;
}
