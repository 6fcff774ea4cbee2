// A simulated thread: its host frame, memory access through the simulated MMU, and raw
// system calls. One Wasm call per access; faults arrive as typed signal errors. An access
// that must wait for a userfault is a status (ACCESS_RETRY) until it reaches the API's edge:
// served inline by the thread's onFault handler, waited for (waitMode "atomics"), or thrown
// as WouldBlockError when nothing can serve it.
import * as A from "./abi.gen.js";
import type { KernelExports } from "./wasm.js";
import { SegmentationFault, BusError, OutOfMemoryError, WouldBlockError, SystemError } from "./errors.js";
import type { Kernel } from "./kernel.js";
import { syscallName } from "./debug/strace.js";
import { syscallNumber } from "./args.js";

/**
 * A 64-bit register or address value: a number (an integer; exact below 2^53) or a bigint.
 * System-call arguments accept integers in [-2^63, 2^64), negative ones as two's complement.
 */
export type Num = number | bigint;

/**
 * An inline fault handler (see {@link Thread.onFault}): called with the faulting address and
 * the thread whose access (or system call) must wait for a userfault. It serves the fault
 * from another thread of the process (typically `uffd.serveAll(policy)`); when the faulting
 * thread has been woken by the time it returns, the access is retried in the same call.
 */
export type FaultHandler = (addr: number, thread: Thread) => void;

/** -ERESTARTSYS: the kernel's "this call must wait; reissue it after the wake". */
const ERESTARTSYS = -BigInt(A.ERESTARTSYS);

/**
 * Block the calling (worker) thread until the kernel clears its wait word: spin first
 * (a cross-thread wake costs ~0.5 µs spinning, ~40 µs from sleep), then Atomics.wait.
 * The kernel sets the word to 1 when it queues the thread and to 0 when it wakes it.
 */
export function waitForWake(t: Thread, spins: number): void {
  const i32 = t.waitWord;
  // Another thread may already have resolved the fault and woken this one between the
  // access returning RETRY and this check: then the word is 0 and the retry proceeds.
  for (let i = 0; i < spins; i++) if (Atomics.load(i32, 0) === 0) return;
  const ms = t.waitTimeoutMs();
  if (ms < 0) {
    // Each second, look whether the kernel died (KernelPanic): then no wake ever comes.
    while (Atomics.load(i32, 0) !== 0) if (Atomics.wait(i32, 0, 1, 1000) === "timed-out") alive(t);
    return;
  }
  // A wait with a timeout (poll): the timer is the host's. When it runs out first, tell the
  // kernel, whose reissued call then returns without waiting again.
  const deadline = performance.now() + ms;
  for (;;) {
    if (Atomics.load(i32, 0) === 0) return;
    const left = deadline - performance.now();
    if (left <= 0) break;
    if (Atomics.wait(i32, 0, 1, Math.min(left, 1000)) === "timed-out") alive(t);
  }
  t.timeout();
}

/** Throw the kernel's panic if it died while `t` waited. */
function alive(t: Thread): void {
  const p = t.kernel.panicked();
  if (p) throw p;
}

/**
 * The synchronous API's wait for a call with a timeout: block the JS thread for at most the
 * timeout where that is allowed (Node; a worker), then time the call out. On a browser main
 * thread, where Atomics.wait throws, the timeout runs out at once.
 */
export function waitForTimeout(t: Thread): void {
  try {
    waitForWake(t, 0);
  } catch {
    t.timeout();
  }
}

/**
 * Wait without blocking the JS thread until the kernel clears `t`'s wait word (for a thread
 * that cannot block, e.g. the main thread handling faults of workers): Atomics.waitAsync,
 * re-checked at least every `pollMs` in case a wake came without a notify. A wait with a
 * timeout (poll) that runs out first is timed out (task_timeout), as waitForWake does.
 */
export async function waitForWakeAsync(t: Thread, pollMs = 20): Promise<void> {
  const i32 = t.waitWord;
  const waitAsync = (Atomics as unknown as { waitAsync?: (a: Int32Array, i: number, v: number, ms: number) => { async: boolean; value: unknown } }).waitAsync;
  const ms = t.waitTimeoutMs();
  const deadline = ms < 0 ? Infinity : performance.now() + ms;
  while (Atomics.load(i32, 0) !== 0) {
    const left = deadline - performance.now();
    if (left <= 0) {
      t.timeout();
      return;
    }
    const r = waitAsync?.(i32, 0, 1, Math.min(pollMs, left));
    if (r?.async) await r.value;
    else if (!r) await new Promise((res) => setTimeout(res, 1));
    alive(t);
  }
}

/** The typed AsyncThread calls, by system-call name (the others: `t.syscall(nr, ...)`). */
const ASYNC_CALLS: Record<string, string> = {
  mmap: "mmap", munmap: "munmap", mprotect: "mprotect", madvise: "madvise", mremap: "mremap",
  fork: "fork", close: "close", read: "readFd", write: "writeFd",
};

/** The message of a synchronous system call that must wait, made on a thread Kernel.run drives. */
function scheduledMisuse(tid: number, nr: Num): string {
  const n = syscallNumber(nr);
  const name = syscallName(n);
  const call = ASYNC_CALLS[name];
  const use = call ? `await t.${call}(...)` : `await t.syscall(${n}, ...)`;
  return `${name} would block: task ${tid} runs in Kernel.run, where a synchronous call cannot wait; make it through the body's AsyncThread: ${use}`;
}

/** Throw the error an access status stands for (never returns for status < 0). */
export function accessFailed(t: Thread, status: number, addr: number): never {
  const f = t.frame;
  switch (status) {
    case A.ACCESS_SIGSEGV: throw new SegmentationFault(f.getInt32(A.host_frame.si_code, true), u64At(f, A.host_frame.si_addr));
    case A.ACCESS_SIGBUS: throw new BusError(f.getInt32(A.host_frame.si_code, true), u64At(f, A.host_frame.si_addr));
    case A.ACCESS_OOM: throw new OutOfMemoryError(addr);
    case A.ACCESS_RETRY: throw new WouldBlockError(addr);
    case A.ACCESS_ESRCH: throw new SystemError(A.ESRCH, `access by task ${t.tid}`);
    case A.ACCESS_EINVAL: throw new RangeError(`bad access at 0x${addr.toString(16)}: task ${t.tid} has no address space (exited?) or the size is not 1, 2, 4 or 8`);
    default: throw new RangeError(`bad access (status ${status}) at 0x${addr.toString(16)}`);
  }
}

/** The u64 at `o` of `dv` as a number (exact below 2^53), read as two 32-bit halves. */
export function u64At(dv: DataView, o: number): number {
  return dv.getUint32(o + 4, true) * 4294967296 + dv.getUint32(o, true);
}

/** The i64 at `o` of `dv` as a number (exact within ±2^53), read as two 32-bit halves. */
export function s64At(dv: DataView, o: number): number {
  return dv.getInt32(o + 4, true) * 4294967296 + dv.getUint32(o, true);
}

/**
 * A simulated thread (a kernel task) as the host drives it: loads and stores through the
 * simulated MMU (one kernel entry each), bulk reads and writes through its bounce page,
 * and raw system calls. A fault the kernel cannot resolve throws SegmentationFault or
 * BusError (SignalError), OutOfMemoryError on VM_FAULT_OOM; an access that must wait for a
 * userfault is served by {@link Thread.onFault}, waited for (`waitMode` "atomics") or
 * thrown as WouldBlockError. Once the task exited, every call throws SystemError ESRCH.
 * Get one from Process.thread or Process.newThread.
 */
export class Thread {
  /** The task's host frame (abi/kernel.ts host_frame) as a DataView. */
  readonly frame: DataView;
  /** The task's bounce page. */
  readonly bounce: Uint8Array;
  /**
   * The bounce page as a DataView, made once with the thread (the kernel's memory never grows:
   * it is created at its maximum size), for reading structures the kernel left there.
   */
  readonly bounceView: DataView;
  /** The frame's wait word (1 while the kernel has the task queued, 0 once woken). */
  readonly waitWord: Int32Array;
  /**
   * The kernel's name for this task, never reused (the tid's slot generation above its 16
   * bits). Every kernel entry checks it: once the task has exited, this Thread's calls and
   * accesses fail with ESRCH, even after the tid belongs to another task.
   */
  readonly handle: number;
  /** @internal The kernel's guarded exports (the scheduler and typed fds call them directly). */
  readonly k: KernelExports;

  /** The thread of the live task `tid` (or of the task `handle` names, when given). */
  constructor(
    /** The kernel the task lives in. */
    readonly kernel: Kernel,
    /** The task's thread id (the main thread's equals `pid`). */
    readonly tid: number,
    /** The id of the process (thread group) the task belongs to. */
    readonly pid: number,
    handle?: number,
  ) {
    this.k = kernel.exports;
    const h = handle ?? this.k.task_handle(tid);
    const fa = h > 0 && h % 65536 === tid ? this.k.task_frame_addr(h) : 0;
    if (fa === 0) throw new Error(`no task ${tid}`);
    this.handle = h;
    const buf = kernel.memory.buffer as ArrayBuffer;
    this.frame = new DataView(buf, fa, A.host_frame.SIZEOF);
    this.bounce = new Uint8Array(buf, this.frame.getUint32(A.host_frame.bounce, true), A.BOUNCE_SIZE);
    this.bounceView = new DataView(buf, this.bounce.byteOffset, A.BOUNCE_SIZE);
    this.waitWord = new Int32Array(buf, fa + A.host_frame.wait_word, 1);
  }

  /**
   * Throw ESRCH (as `syscall`) if this Thread's task has exited and its slot was given to
   * another: called before writing the frame or the bounce page, which the new task owns.
   */
  checkAlive(syscall: string): void {
    if (this.frame.getFloat64(A.host_frame.handle, true) !== this.handle) throw new SystemError(A.ESRCH, syscall);
  }

  // ---- loads and stores (the hot path: one call each) ----

  /** Load the unsigned byte at user address `addr`; faults as a user access would (see the class). */
  load8(addr: number): number { return this.load(addr, 1); }
  /** Load the unsigned little-endian 16-bit value at `addr`. */
  load16(addr: number): number { return this.load(addr, 2); }
  /** Load the unsigned little-endian 32-bit value at `addr`. */
  load32(addr: number): number { return this.load(addr, 4); }
  /** Load the unsigned little-endian 64-bit value at `addr`, as a bigint. */
  load64(addr: number): bigint {
    let r = this.k.uaccess_load(this.handle, addr, 8);
    while (r < 0) {
      this.slowPath(r, addr);
      r = this.k.uaccess_load(this.handle, addr, 8);
    }
    return this.frame.getBigUint64(A.host_frame.value, true);
  }
  /** Store the low 8 bits of `v` at user address `addr`; a write fault (CoW, uffd-wp) is taken as a user store would. */
  store8(addr: number, v: number): void { this.store(addr, 1, v & 0xff); }
  /** Store the low 16 bits of `v` at `addr`, little-endian. */
  store16(addr: number, v: number): void { this.store(addr, 2, v & 0xffff); }
  /** Store the low 32 bits of `v` at `addr`, little-endian. */
  store32(addr: number, v: number): void { this.store(addr, 4, v >>> 0); }
  /** Store `v` modulo 2^64 at `addr`, little-endian. */
  store64(addr: number, v: bigint): void {
    this.checkAlive("store64");
    this.frame.setBigUint64(A.host_frame.value, BigInt.asUintN(64, v), true);
    let r = this.k.uaccess_store(this.handle, addr, 8, 0);
    while (r < 0) {
      this.slowPath(r, addr);
      r = this.k.uaccess_store(this.handle, addr, 8, 0);
    }
  }

  private load(addr: number, size: number): number {
    let r = this.k.uaccess_load(this.handle, addr, size);
    while (r < 0) {
      this.slowPath(r, addr);
      r = this.k.uaccess_load(this.handle, addr, size);
    }
    return r;
  }
  private store(addr: number, size: number, v: number): void {
    let r = this.k.uaccess_store(this.handle, addr, size, v);
    while (r < 0) {
      this.slowPath(r, addr);
      r = this.k.uaccess_store(this.handle, addr, size, v);
    }
  }

  /**
   * How this thread waits when a fault must wait (ACCESS_RETRY): "throw" (the default, for
   * the synchronous API on a thread that must not block: WouldBlockError), or "atomics" (a
   * worker thread: spin briefly on the frame's wait word, then park with Atomics.wait).
   */
  waitMode: "throw" | "atomics" = "throw";
  /**
   * Set while an AsyncThread of the deterministic scheduler drives this thread: its waits,
   * timeouts included, are the scheduler's (no convenience method blocks the JS thread).
   */
  scheduled = false;
  /** Spins before parking in "atomics" mode. */
  spinLimit = 2000;
  /**
   * The inline fault handler, or null (the default). When an access or a system call of this
   * thread must wait for a userfault, it is called first (not while the deterministic
   * scheduler drives the thread: there a handler body serves); if it woke this thread, the
   * access is retried inside the same call, with no exception and no wait. Otherwise the
   * thread waits as `waitMode` says (in "throw" mode: WouldBlockError, as without a handler).
   * It must serve from another thread of the process (the faulting task is queued), e.g.
   *
   * ```ts
   * const uffd = proc.userfaultfd(abi.O_NONBLOCK); // served on proc.thread
   * const t = proc.newThread();
   * t.onFault = () => uffd.serveAll({ copyFrom: src, base: region });
   * t.load8(region + 5 * 4096); // fault → read → COPY → retried load, one call
   * ```
   *
   * A handler that wakes the thread without resolving its fault (a bare UFFDIO_WAKE) makes
   * the access fault, and call it, again.
   */
  onFault: FaultHandler | null = null;

  /** A failed access: wait and return (so the caller retries), or throw the signal. */
  private slowPath(status: number, addr: number): void {
    if (status !== A.ACCESS_RETRY) accessFailed(this, status, addr);
    this.mustWait(addr);
  }

  /**
   * @internal A call of this thread returned "must wait" (ACCESS_RETRY / -ERESTARTSYS, the
   * task queued): returns once the caller may reissue it — the inline handler woke the task,
   * or it was waited for ("atomics") — or throws WouldBlockError ("throw", nothing served it).
   */
  mustWait(addr: number, nr = -1): void {
    const h = this.onFault;
    if (h !== null && !this.scheduled) {
      h(addr, this);
      if (Atomics.load(this.waitWord, 0) === 0) return;
    }
    if (this.scheduled) {
      throw new WouldBlockError(addr, `access at 0x${addr.toString(16)} would block: task ${this.tid} runs in Kernel.run, where a synchronous access cannot wait; make it through the body's AsyncThread (await t.load8(...), t.store32(...), t.read(...), ...)`);
    }
    if (this.waitMode === "throw") {
      if (nr < 0) throw new WouldBlockError(addr);
      throw new WouldBlockError(0, `${syscallName(nr)} would block: task ${this.tid} must wait (for a userfault to be resolved, an event to be read, data) and nothing serves it (waitMode "throw", no onFault); in a Kernel.run body make the call through the body's AsyncThread, or run it in a worker`, nr);
    }
    waitForWake(this, this.spinLimit);
  }

  /** Read `len` bytes at `addr` (a copy). Faults part-way throw after the bytes before them were read. */
  read(addr: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let done = 0; done < len; ) {
      const n = Math.min(A.BOUNCE_SIZE, len - done);
      const r = this.k.uaccess_read(this.handle, addr + done, n);
      if (r < 0) {
        this.slowPath(r, addr + done);
        continue;
      }
      out.set(this.bounce.subarray(0, n), done);
      done += n;
    }
    return out;
  }

  /** Write `data` at `addr`. A fault part-way leaves the bytes before it written, as memcpy would. */
  write(addr: number, data: Uint8Array): void {
    this.checkAlive("write");
    for (let done = 0; done < data.length; ) {
      const n = Math.min(A.BOUNCE_SIZE, data.length - done);
      this.bounce.set(data.subarray(done, done + n));
      const r = this.k.uaccess_write(this.handle, addr + done, n);
      if (r < 0) {
        this.slowPath(r, addr + done);
        continue;
      }
      done += n;
    }
  }

  /** Fill `len` bytes at `addr` with `byte`. */
  fill(addr: number, byte: number, len: number): void {
    this.checkAlive("fill");
    this.bounce.fill(byte & 0xff);
    for (let done = 0; done < len; ) {
      const n = Math.min(A.BOUNCE_SIZE, len - done);
      const r = this.k.uaccess_write(this.handle, addr + done, n);
      if (r < 0) {
        this.slowPath(r, addr + done);
        this.bounce.fill(byte & 0xff);
        continue;
      }
      done += n;
    }
  }

  /**
   * The simulated physical address (linear-memory offset) an access at `addr` resolves to,
   * faulting it in as needed (a userfault waits like any access, per `waitMode`). For
   * debugging, for measuring translation, and for atomics on simulated memory (a futex word
   * in a user page: Atomics on the shared memory at the returned offset).
   */
  translate(addr: number, write = false): number {
    let r = this.k.uaccess_translate(this.handle, addr, write ? 1 : 0);
    while (r < 0) {
      this.slowPath(r, addr);
      r = this.k.uaccess_translate(this.handle, addr, write ? 1 : 0);
    }
    return r;
  }

  /**
   * A raw system call: Linux's number and up to six arguments; returns the kernel's value
   * (>= 0) or -errno as a bigint, never throws for a failed call. The number and the
   * arguments are 64-bit register values: integers in [-2^63, 2^64) as numbers or bigints
   * (negative ones in two's complement); anything else throws TypeError / RangeError with
   * Node's codes. The kernel uses the number's low 32 bits, as x86-64 Linux does. A call
   * that must wait is served by `onFault` if set, else waits as `waitMode` says (in "throw"
   * mode: WouldBlockError).
   */
  syscall(nr: Num, ...args: Num[]): bigint {
    for (;;) {
      const r = this.kernel.syscallRaw(this, nr, args);
      if (r !== ERESTARTSYS) return r;
      // A thread Kernel.run drives waits only through its AsyncThread: a synchronous call
      // (Process's methods use this path) cannot, so say which call to make instead.
      if (this.scheduled) throw new WouldBlockError(0, scheduledMisuse(this.tid, nr), syscallNumber(nr));
      // The call must wait (e.g. read() on an empty blocking userfaultfd, or a copy from a
      // registered page): the kernel queued the task. Serve or wait for the wake, then reissue.
      this.mustWait(0, syscallNumber(nr));
    }
  }

  /**
   * The milliseconds the task's current wait may last (poll with a positive timeout), or -1:
   * until woken. Meaningful after a call returned "must wait".
   */
  waitTimeoutMs(): number {
    return this.frame.getInt32(A.host_frame.wait_timeout_ms, true);
  }

  /**
   * The timeout of the task's current wait ran out: the kernel unparks it, and the reissued
   * call returns without waiting again (poll returns 0 or what became ready). Returns whether
   * the call was still waiting (false: a wake came first).
   */
  timeout(): boolean {
    return this.k.task_timeout(this.handle) === 1;
  }

  /** Bytes written into the bounce page, reachable by system calls at HOST_STAGING_BASE. */
  stage(bytes: Uint8Array, offset = 0): bigint {
    if (offset + bytes.length > A.BOUNCE_SIZE) throw new RangeError("staged data larger than the bounce page");
    this.checkAlive("stage");
    this.bounce.set(bytes, offset);
    return A.HOST_STAGING_BASE + BigInt(offset);
  }
}
