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

/** Optional context of a {@link SystemError}: the address the call was about, a hint. */
export interface SystemErrorContext {
  /** The address the call was given (the range's start), shown in the message in hex. */
  address?: number;
  /** What the errno most likely means here; default: the hint Linux's errno is known to need, if any. */
  hint?: string;
}

const FILLS = "UFFDIO_COPY|UFFDIO_ZEROPAGE|UFFDIO_CONTINUE|UFFDIO_POISON|UFFDIO_MOVE";
/**
 * Hints for the errnos Linux's userfaultfd returns that say little by themselves: [code, the
 * failed call (a pattern of SystemError.syscall), the hint]. The first that matches applies.
 */
const HINTS: [string, RegExp, string][] = [
  ["ENOENT", /^ioctl UFFDIO_MOVE$/, "range not registered with this userfaultfd (unmapped, remapped or unregistered meanwhile?), or a source page is missing (UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES allows that)"],
  ["ENOENT", new RegExp(`^ioctl (${FILLS})$`), "range not registered with this userfaultfd (unmapped, remapped or unregistered meanwhile?)"],
  ["EEXIST", new RegExp(`^ioctl (${FILLS})$`), "a page of the range is already filled (another fill won the race): UFFDIO_WAKE the range so its faulting threads retry"],
  ["EAGAIN", new RegExp(`^ioctl (${FILLS}|UFFDIO_WRITEPROTECT)$`), "a non-cooperative event (REMOVE, UNMAP, REMAP, FORK) is unread: read the events, then retry"],
  ["EPERM", /^ioctl UFFDIO_API$/, "UFFD_FEATURE_EVENT_FORK needs CAP_SYS_PTRACE"],
  ["EPERM", /^userfaultfd$/, "userfaultfd(2) without UFFD_USER_MODE_ONLY needs CAP_SYS_PTRACE"],
  ["EINVAL", /^ioctl UFFDIO_API$/, "UFFDIO_API was already done on this fd, or the api version or a feature is not supported"],
  ["EINVAL", /^ioctl UFFDIO_/, "every ioctl but UFFDIO_API is EINVAL until UFFDIO_API succeeded; else an argument is unaligned, out of range or has unknown mode bits"],
];

/** The hint {@link SystemError} gives for `code` from `syscall` by default, or undefined. */
export function errnoHint(code: string, syscall: string): string | undefined {
  for (const [c, re, hint] of HINTS) if (c === code && re.test(syscall)) return hint;
  return undefined;
}

/**
 * A failed system call, shaped like Node's SystemError: `code` is the errno name, `errno` the
 * Linux number (positive), `syscall` what failed; the message reads "EINVAL: invalid argument,
 * mmap", followed by the address the call was about (`address`, when known) and a hint where
 * Linux's errno says little by itself (`hint`: ENOENT from a fill ioctl is "range not
 * registered", EPERM from UFFDIO_API "UFFD_FEATURE_EVENT_FORK needs CAP_SYS_PTRACE", ...).
 */
export class SystemError extends Error {
  /** The errno name ("EINVAL", "EEXIST", ...; "E<number>" for one without a name). */
  readonly code: string;
  /** The Linux errno value, positive (EINVAL is 22). */
  readonly errno: number;
  /** The call that failed: a system call's name ("mmap"), "ioctl UFFDIO_COPY", "syscall <nr>", ... */
  readonly syscall: string;
  /** The address the call was about, when the caller said. */
  readonly address?: number;
  /** What the errno most likely means for this call, when it is known to say little by itself. */
  readonly hint?: string;
  constructor(errno: number, syscall: string, context: SystemErrorContext = {}) {
    const code = errnoName(errno);
    const hint = context.hint ?? errnoHint(code, syscall);
    const at = context.address !== undefined ? ` 0x${context.address.toString(16)}` : "";
    super(`${code}: ${ERRNO_TEXT[code] ?? "error"}, ${syscall}${at}${hint !== undefined ? ` (${hint})` : ""}`);
    this.name = "SystemError";
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    if (context.address !== undefined) this.address = context.address;
    if (hint !== undefined) this.hint = hint;
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
    /** A message saying what to do instead (default: "access at 0x… would block"). */
    message?: string,
    /** For a system call that must wait: its number, else -1. */
    readonly nr = -1,
  ) {
    super(message ?? `access at 0x${addr.toString(16)} would block`);
    this.name = "WouldBlockError";
  }
}

/**
 * What one thread of a {@link Kernel.run} was doing when the run ended with an error: its tid,
 * its state ("running", "ready", "blocked", "done") and, for a blocked thread, what it waits in:
 * a userfault at `addr`, or the system call `syscall` (number `nr`).
 */
export interface RunThreadState {
  /** The thread's tid. */
  tid: number;
  /** Where the thread was in the run. */
  state: "running" | "ready" | "blocked" | "done";
  /** For a thread blocked in an access: the userfault's address (the access's, unaligned). */
  addr?: number;
  /** For a thread blocked in a system call: its number. */
  nr?: number;
  /** For a thread blocked in a system call: its name ("madvise", "read", ...). */
  syscall?: string;
}

/**
 * The context of a {@link Kernel.run} that ended with an error: the seed that replays it, the
 * last turns granted (tids, oldest first; at most {@link RUN_LAST_TURNS}), the number of turns,
 * and every thread's state. The `run` field of every error a run ends with by itself
 * ({@link DeadlockError}, {@link RunTimeoutError}, {@link TurnLimitError}), and of an abort's
 * reason when that is an object.
 */
export interface RunContext {
  /** The scheduler's seed. */
  seed: number;
  /**
   * Whether the seed fixed the schedule; false when a Scheduler subclass's `choose` picked the
   * turns (the explorer's strategies, a replay), which then name the schedule instead.
   */
  seeded: boolean;
  /** The turns granted in the whole run. */
  turns: number;
  /** The last turns granted, oldest first: the tid of each. */
  lastTurns: number[];
  /** Every thread of the run, in the order the bodies were given. */
  threads: RunThreadState[];
}

/** How many of the last turns a {@link RunContext} keeps. */
export const RUN_LAST_TURNS = 32;

/** One line per thread of `ctx`, for an error message. */
export function describeRun(ctx: RunContext): string {
  const lines = [`${ctx.seeded ? `seed ${ctx.seed}` : "schedule of a custom choose()"}, ${ctx.turns} turns; last turns (tids): ${ctx.lastTurns.join(" ") || "none"}`];
  for (const t of ctx.threads) {
    let what: string = t.state;
    if (t.state === "blocked") {
      if (t.syscall !== undefined) what = `blocked in ${t.syscall}(2) (nr ${t.nr})`;
      else if (t.addr !== undefined) what = `blocked in a userfault at 0x${t.addr.toString(16)}`;
    }
    lines.push(`tid ${t.tid}: ${what}`);
  }
  return lines.join("\n  ");
}

/**
 * A {@link Kernel.run} that ended by itself with an error: the base of {@link DeadlockError},
 * {@link RunTimeoutError} and {@link TurnLimitError}. `run` says where it stood; the message's
 * first line says why, the next ones the seed, the last turns and each thread's state.
 */
export class RunError extends Error {
  constructor(
    why: string,
    /** Where the run stood: seed, last turns, each thread's state. */
    readonly run: RunContext,
  ) {
    super(`${why}\n  ${describeRun(run)}`);
    this.name = "RunError";
  }
  /** The run's seed (`run.seed`). */
  get seed(): number { return this.run.seed; }
  /** The last turns granted, tids oldest first (`run.lastTurns`). */
  get lastTurns(): number[] { return this.run.lastTurns; }
  /** Every thread's state (`run.threads`). */
  get threads(): RunThreadState[] { return this.run.threads; }
}

/** Every runnable thread is blocked and nothing can wake them. */
export class DeadlockError extends RunError {
  constructor(
    /** The tids of the threads left blocked (every one not done). */
    readonly tids: number[],
    run: RunContext = { seed: 0, seeded: false, turns: 0, lastTurns: [], threads: [] },
  ) {
    super(`deadlock: threads ${tids.join(", ")} are blocked and nothing can wake them`, run);
    this.name = "DeadlockError";
  }
}

/** A {@link Kernel.run} outlived its `timeoutMs` (wall-clock milliseconds). */
export class RunTimeoutError extends RunError {
  constructor(
    /** The timeout, in milliseconds. */
    readonly timeoutMs: number,
    run: RunContext,
  ) {
    super(`run timed out after ${timeoutMs} ms (timeoutMs)`, run);
    this.name = "RunTimeoutError";
  }
}

/** A {@link Kernel.run} used up its `maxTurns` budget before every body ended (a livelock, or raise it). */
export class TurnLimitError extends RunError {
  constructor(
    /** The turn budget. */
    readonly maxTurns: number,
    run: RunContext,
  ) {
    super(`run did not end within ${maxTurns} turns (maxTurns): a livelock, or raise maxTurns`, run);
    this.name = "TurnLimitError";
  }
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
