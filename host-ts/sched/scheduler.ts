// The deterministic scheduler for async threads (one JS thread, reproducible by seed).
//
// Each simulated thread runs an async body. Every operation of an AsyncThread first waits
// for its turn; the scheduler grants one turn at a time, choosing among the ready threads
// with a seeded PRNG, so a seed fixes the interleaving. A thread whose access must wait
// (ACCESS_RETRY: the kernel queued it, wait word = 1; -ERESTARTSYS for a system call) leaves
// the ready set until the kernel clears its wait word, then retries the access: the status
// parks the body, no exception is thrown. If no thread is ready and none can be
// woken, run() rejects with DeadlockError instead of hanging — unless one of them waits with
// a timeout (poll): time is virtual, turns take none, and when nothing can run it jumps to the
// earliest deadline, which times that wait out. Works on a browser main thread: nothing here
// blocks.
import * as A from "../abi.gen.js";
import type { Kernel } from "../kernel.js";
import { Thread, accessFailed, type Num } from "../thread.js";
import { WouldBlockError, DeadlockError, RunTimeoutError, TurnLimitError, RUN_LAST_TURNS, SystemError, type RunContext, type RunThreadState } from "../errors.js";
import { syscallName } from "../debug/strace.js";
import { syscallNumber, InvalidArgTypeError, OutOfRangeError } from "../args.js";
import type { Process } from "../process.js";
import { mulberry32 } from "./prng.js";

/** Options of {@link Scheduler.run} and {@link Kernel.run}: how a run may end early. */
export interface KernelRunOptions {
  /** Aborting it ends the run: it rejects with the signal's reason (its `run` field set when it is an object). */
  signal?: AbortSignal;
  /** Wall-clock milliseconds the run may take; then it rejects with RunTimeoutError. */
  timeoutMs?: number;
  /** Turns the run may grant; one more turn wanted rejects with TurnLimitError. */
  maxTurns?: number;
}

/**
 * Turns granted back to back (microtasks only) before the run loop yields to the event loop
 * with a macrotask, so that timers, I/O and an AbortSignal can run during a long run.
 */
export const YIELD_EVERY_TURNS = 1024;

/** A macrotask: setImmediate where it exists (Node), else a zero timeout. */
const macrotask = (): Promise<void> =>
  new Promise<void>((r) => (typeof setImmediate === "function" ? setImmediate(r) : setTimeout(r, 0)));

/**
 * The async body of one simulated thread under the deterministic scheduler
 * ({@link Kernel.run}, {@link Scheduler.run}): it runs the thread's operations through the
 * {@link AsyncThread} it is given, each awaited; its promise settling ends the thread.
 */
export type ThreadBody = (t: AsyncThread) => Promise<void>;

/**
 * Where an {@link AsyncThread} is in a run: "running" (it has the turn, or has not reached its
 * first scheduling point), "ready" (waits for a turn), "blocked" (the kernel queued it on a
 * userfault or a waiting system call, until woken or timed out), "done" (its body settled).
 */
export type AsyncThreadState = "running" | "ready" | "blocked" | "done";

/** -ERESTARTSYS: the system call must wait (see Thread.syscall). */
const ERESTARTSYS = -BigInt(A.ERESTARTSYS);


/** A Thread whose operations are scheduling points. */
export class AsyncThread {
  /** Where the thread is in the run (written by the scheduler; read it, do not set it). */
  state: AsyncThreadState = "running";
  /** @internal The pending turn's resolver, set while the thread waits at a scheduling point. */
  grant: (() => void) | null = null;
  /** While blocked in a wait with a timeout: the scheduler's virtual time it runs out at. */
  deadline = Infinity;
  /** While blocked in an access: the address whose userfault it waits in, else -1. */
  blockedAddr = -1;
  /** While blocked in a system call: its number, else -1. */
  blockedNr = -1;
  private readonly word: Int32Array;

  /** @internal The promise executors of a turn and of a park, made once (a turn allocates less). */
  readonly toReady = (grant: () => void): void => this.sched.arrive(this, "ready", grant);
  /** @internal See toReady. */
  readonly toBlocked = (grant: () => void): void => this.sched.arrive(this, "blocked", grant);

  constructor(
    /** The scheduler that grants this thread its turns. */
    readonly sched: Scheduler,
    /** The simulated thread the operations run on (its `scheduled` flag is set). */
    readonly thread: Thread,
  ) {
    this.word = new Int32Array(thread.frame.buffer, thread.frame.byteOffset + A.host_frame.wait_word, 1);
    thread.scheduled = true;
  }

  /** The thread's tid (`thread.tid`). */
  get tid(): number { return this.thread.tid; }
  /** Whether the kernel has cleared this thread's wait word. */
  woken(): boolean { return Atomics.load(this.word, 0) === 0; }

  /** Give other threads a chance to run. */
  yield(): Promise<void> { return this.sched.turn(this); }

  /** Run `op` in a turn; if it must wait for the kernel, wait and run it again. */
  async op<T>(op: () => T): Promise<T> {
    await this.sched.turn(this);
    for (;;) {
      try {
        return op();
      } catch (e) {
        if (!(e instanceof WouldBlockError)) throw e;
        if (this.woken()) {
          // The kernel queued another task: `op` made a synchronous call on another Thread.
          throw new Error(`task ${this.tid}: ${e.message}; not this thread's task: t.op() can wait only for calls made on its own thread (use await t.madvise(...), t.munmap(...), t.syscall(...), ... on the thread that makes the call)`);
        }
        await this.park(A.ACCESS_RETRY, e.addr, e.nr);
      }
    }
  }

  /**
   * A status < 0 of an access at `addr` (or of system call `nr`, when >= 0): park until the
   * kernel wakes the task (ACCESS_RETRY), or throw the signal.
   */
  private async park(status: number, addr: number, nr = -1): Promise<void> {
    if (status !== A.ACCESS_RETRY) accessFailed(this.thread, status, addr);
    if (this.woken()) throw new Error(`task ${this.tid}: fault returned RETRY but the kernel did not queue the task`);
    this.blockedAddr = nr < 0 ? addr : -1;
    this.blockedNr = nr;
    try {
      await this.sched.block(this);
    } finally {
      this.blockedAddr = -1;
      this.blockedNr = -1;
    }
  }

  /** A load of `size` bytes in a turn (8: the value is left in the frame); waits on the status. */
  private async load(addr: number, size: number): Promise<number> {
    await this.sched.turn(this);
    const t = this.thread;
    for (;;) {
      const r = t.k.uaccess_load(t.handle, addr, size);
      if (r >= 0) return r;
      await this.park(r, addr);
    }
  }

  /** A store of `size` bytes of `v` (8: from the frame) in a turn; waits on the status. */
  private async store(addr: number, size: number, v: number, v64?: bigint): Promise<void> {
    await this.sched.turn(this);
    const t = this.thread;
    for (;;) {
      if (v64 !== undefined) {
        t.checkAlive("store64");
        t.frame.setBigUint64(A.host_frame.value, BigInt.asUintN(64, v64), true);
      }
      const r = t.k.uaccess_store(t.handle, addr, size, v);
      if (r >= 0) return;
      await this.park(r, addr);
    }
  }

  /** Thread.load8 as a scheduling point: a userfault parks the body until it is resolved. */
  load8(a: number): Promise<number> { return this.load(a, 1); }
  /** Thread.load16 as a scheduling point. */
  load16(a: number): Promise<number> { return this.load(a, 2); }
  /** Thread.load32 as a scheduling point. */
  load32(a: number): Promise<number> { return this.load(a, 4); }
  /** Thread.load64 as a scheduling point. */
  async load64(a: number): Promise<bigint> {
    await this.load(a, 8);
    return this.thread.frame.getBigUint64(A.host_frame.value, true);
  }
  /** Thread.store8 as a scheduling point. */
  store8(a: number, v: number): Promise<void> { return this.store(a, 1, v & 0xff); }
  /** Thread.store16 as a scheduling point. */
  store16(a: number, v: number): Promise<void> { return this.store(a, 2, v & 0xffff); }
  /** Thread.store32 as a scheduling point. */
  store32(a: number, v: number): Promise<void> { return this.store(a, 4, v >>> 0); }
  /** Thread.store64 as a scheduling point. */
  store64(a: number, v: bigint): Promise<void> { return this.store(a, 8, 0, v); }
  /** Thread.read as a scheduling point. */
  read(a: number, len: number): Promise<Uint8Array> { return this.op(() => this.thread.read(a, len)); }
  /** Thread.write as a scheduling point. */
  write(a: number, data: Uint8Array): Promise<void> { return this.op(() => this.thread.write(a, data)); }
  /** Thread.syscall as a scheduling point: a call that must wait parks the body, then is reissued. */
  syscall(nr: Num, ...args: Num[]): Promise<bigint> { return this.raw(nr, args, null); }

  /** The system call in a turn (after `stage`, if given, filled the bounce page); waits while it must. */
  private async raw(nr: Num, args: Num[], stage: (() => void) | null): Promise<bigint> {
    await this.sched.turn(this);
    const n = syscallNumber(nr);
    const t = this.thread;
    if (stage !== null) stage();
    for (;;) {
      const r = t.kernel.syscallRaw(t, n, args);
      if (r !== ERESTARTSYS) return r;
      await this.park(A.ACCESS_RETRY, 0, n);
    }
  }

  /**
   * The call as {@link AsyncThread.syscall}; a failure throws SystemError named `name`, as
   * Process's methods do, with `args[0]` as its address when `at` is set.
   */
  private async call(name: string, nr: number, args: Num[], stage: (() => void) | null = null, at = false): Promise<bigint> {
    const r = await this.raw(nr, args, stage);
    if (r < 0n && r > -4096n) throw new SystemError(Number(-r), name, at ? { address: Number(args[0]) } : {});
    return r;
  }

  // Typed system calls, as Process's methods of the same names (arguments, results, SystemError),
  // made on this thread as scheduling points: a call that must wait (a producer of a
  // non-cooperative userfaultfd event until the event is read, a fault on a user buffer) parks
  // the body until woken, then is reissued.

  /** Process.mmap on this thread as a scheduling point; returns the mapping's address. */
  async mmap(addr: Num, len: Num, prot: number, flags: number, fd: Num = -1, offset: Num = 0): Promise<number> {
    return Number(await this.call("mmap", A.__NR_mmap, [addr, len, prot, flags, fd, offset]));
  }
  /** Process.munmap on this thread as a scheduling point (waits until its UNMAP event is read). */
  async munmap(addr: Num, len: Num): Promise<void> { await this.call("munmap", A.__NR_munmap, [addr, len], null, true); }
  /** Process.mprotect on this thread as a scheduling point. */
  async mprotect(addr: Num, len: Num, prot: number): Promise<void> { await this.call("mprotect", A.__NR_mprotect, [addr, len, prot], null, true); }
  /** Process.madvise on this thread as a scheduling point (MADV_DONTNEED / MADV_REMOVE wait until their REMOVE event is read). */
  async madvise(addr: Num, len: Num, advice: number): Promise<void> { await this.call("madvise", A.__NR_madvise, [addr, len, advice], null, true); }
  /** Process.mremap on this thread as a scheduling point (waits until its REMAP event is read); returns the (new) address. */
  async mremap(addr: Num, oldLen: Num, newLen: Num, flags: number, newAddr: Num = 0): Promise<number> {
    return Number(await this.call("mremap", A.__NR_mremap, [addr, oldLen, newLen, flags, newAddr], null, true));
  }
  /** Process.fork from this thread as a scheduling point (waits until its FORK event is read); the child. */
  async fork(): Promise<Process> {
    const pid = Number(await this.call("fork", A.__NR_fork, []));
    return this.thread.kernel.adopt(pid);
  }
  /** Process.close on this thread as a scheduling point. */
  async close(fd: Num): Promise<void> { await this.call("close", A.__NR_close, [fd]); }
  /** Process.read (read(2) of an fd, at most BOUNCE_SIZE bytes) as a scheduling point; the bytes read. */
  async readFd(fd: Num, len: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(len) || len < 0 || len > A.BOUNCE_SIZE) throw new RangeError(`readFd: len must be an integer in [0, BOUNCE_SIZE], got ${len}`);
    const n = Number(await this.call("read", A.__NR_read, [fd, A.HOST_STAGING_BASE, len]));
    return this.thread.bounce.slice(0, n);
  }
  /** Process.write (write(2) to an fd, at most BOUNCE_SIZE bytes) as a scheduling point; the bytes written. */
  async writeFd(fd: Num, data: Uint8Array): Promise<number> {
    if (data.length > A.BOUNCE_SIZE) throw new RangeError("writeFd: at most BOUNCE_SIZE bytes per call");
    return Number(await this.call("write", A.__NR_write, [fd, A.HOST_STAGING_BASE, data.length], () => this.thread.stage(data)));
  }
}

/**
 * The deterministic scheduler: runs async {@link ThreadBody}s on one JS thread, one turn at a
 * time, each operation of an {@link AsyncThread} a scheduling point; the next thread is drawn
 * from the ready ones by a PRNG seeded with `seed`, so a seed fixes the interleaving (see
 * `trace`). A thread that must wait for the kernel leaves the ready set until woken; when no
 * thread can run, the earliest wait with a timeout times out (virtual time, `now`), else run()
 * rejects with {@link DeadlockError}. Never blocks, so it works on a browser main thread.
 * Subclasses may override `choose` (other strategies, replayed schedules).
 */
export class Scheduler {
  private readonly rand: () => number;
  private readonly threads: AsyncThread[] = [];
  private kick: (() => void) | null = null;
  /** The tids in the order their turns were granted (the schedule a seed produced). */
  readonly trace: number[] = [];
  /**
   * Virtual milliseconds. Turns take no time; when every live thread is blocked, time jumps
   * to the earliest deadline of a wait with a timeout (poll), which then times out.
   */
  now = 0;
  /**
   * Called before each turn is granted, with the thread picked and every thread of the run; the
   * turn waits for the promise it returns (a stepping debugger, a view repainting between turns).
   * The pick is made before the call, so the hook cannot change the schedule; it must not run
   * operations on the scheduled threads.
   */
  onTurn: ((pick: AsyncThread, threads: readonly AsyncThread[]) => void | Promise<void>) | null = null;

  constructor(
    /** The kernel whose threads are scheduled. */
    readonly kernel: Kernel,
    /** The PRNG seed (taken as a 32-bit unsigned integer) that fixes the interleaving. */
    readonly seed: number,
  ) {
    this.rand = mulberry32(seed);
  }

  /**
   * The thread that gets the next turn, among the ready ones (in the order the bodies were given):
   * a uniformly random one from the seeded generator. Subclasses choose otherwise (the explorer's
   * strategies, a replayed schedule); throwing ends the run with that error.
   */
  protected choose(ready: readonly AsyncThread[]): AsyncThread {
    return ready[Math.floor(this.rand() * ready.length)];
  }

  /** Called by a thread that wants its next turn. */
  turn(t: AsyncThread): Promise<void> {
    return new Promise<void>(t.toReady);
  }

  /** Called by a thread whose access must wait for the kernel. */
  block(t: AsyncThread): Promise<void> {
    const ms = t.thread.waitTimeoutMs();
    t.deadline = ms >= 0 ? this.now + ms : Infinity;
    return new Promise<void>(t.toBlocked);
  }

  /** @internal Thread `t` reached a scheduling point in `state` and waits for `grant`. */
  arrive(t: AsyncThread, state: "ready" | "blocked", grant: () => void): void {
    t.state = state;
    t.grant = grant;
    this.poke();
  }

  /**
   * A thread reached a scheduling point or ended. Once every thread has (none is running), the
   * next turn is granted here, synchronously (no hop through the run loop), unless an onTurn
   * hook must be awaited first or the run is over: then the run loop is woken.
   */
  private poke(): void {
    const k = this.kick;
    if (k === null || !this.settled()) return;
    if (this.onTurn === null && !this.ended && this.sinceYield < YIELD_EVERY_TURNS) {
      let pick: AsyncThread | null;
      try {
        pick = this.next();
      } catch (e) {
        this.errors.push(e);
        this.ended = true;
        pick = null;
      }
      if (pick !== null) {
        this.grantTurn(pick);
        return;
      }
    }
    this.kick = null;
    k();
  }

  private settled(): boolean {
    const ts = this.threads;
    for (let i = 0; i < ts.length; i++) if (ts[i].state === "running") return false;
    return true;
  }

  /** The first error of a body (or the deadlock), which run() rejects with. */
  private readonly errors: unknown[] = [];
  /** Set once no turn will be granted any more (all done, an error, a deadlock). */
  private ended = false;
  /** Turns granted since the run loop last yielded to the event loop. */
  private sinceYield = 0;
  /** The turn budget of the run (KernelRunOptions.maxTurns). */
  private turnBudget = Infinity;

  /** Where the run stands now: seed, turns, the last turns, each thread's state (for errors). */
  context(): RunContext {
    const tr = this.trace;
    const threads = this.threads.map((t): RunThreadState => {
      const st: RunThreadState = { tid: t.tid, state: t.state };
      if (t.state === "blocked" && t.blockedNr >= 0) {
        st.nr = t.blockedNr;
        st.syscall = syscallName(t.blockedNr);
      } else if (t.state === "blocked" && t.blockedAddr >= 0) {
        st.addr = t.blockedAddr;
      }
      return st;
    });
    return { seed: this.seed, seeded: this.choose === Scheduler.prototype.choose, turns: tr.length, lastTurns: tr.slice(-RUN_LAST_TURNS), threads };
  }

  /** End the run with `e` (unless it already ended with an error): no turn is granted any more. */
  private fail(e: unknown): void {
    this.errors.push(e);
    this.ended = true;
  }

  /**
   * With every thread at a scheduling point: the thread to run next (the seeded PRNG's choice
   * among the ready ones, after waking those the kernel woke and, if none is ready, timing out
   * the earliest wait with a timeout), or null when the run is over (sets `ended`).
   */
  private next(): AsyncThread | null {
    const errors = this.errors;
    if (errors.length) {
      this.ended = true;
      return null;
    }
    // One pass, no arrays (a turn allocates nothing but its promises): wake the threads the
    // kernel woke and count the live and the ready ones.
    const ts = this.threads;
    let live = 0, ready = 0;
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i];
      if (t.state === "done") continue;
      live++;
      if (t.state === "blocked" && t.woken()) t.state = "ready";
      if (t.state === "ready") ready++;
    }
    if (live === 0) {
      this.ended = true;
      return null;
    }
    if (ready === 0) {
      // Nobody can run: the earliest timeout (the first thread started, on a tie) runs out.
      let first: AsyncThread | undefined;
      for (const t of ts) if (t.state === "blocked" && t.deadline < (first?.deadline ?? Infinity)) first = t;
      if (!first) {
        errors.push(new DeadlockError(ts.filter((t) => t.state !== "done").map((t) => t.tid), this.context()));
        this.ended = true;
        return null;
      }
      if (this.overBudget()) return null;
      this.now = first.deadline;
      first.deadline = Infinity;
      first.thread.timeout();
      first.state = "ready";
      return this.choose([first]);
    }
    if (this.overBudget()) return null;
    // A subclass's choice gets the ready threads as an array; the seeded default picks the k-th
    // ready thread in start order without building one (the same draw, the same thread).
    if (this.choose !== Scheduler.prototype.choose) return this.choose(ts.filter((t) => t.state === "ready"));
    let k = Math.floor(this.rand() * ready);
    for (let i = 0; ; i++) if (ts[i].state === "ready" && k-- === 0) return ts[i];
  }

  /** Whether the turn budget is used up (then the run ends with TurnLimitError). */
  private overBudget(): boolean {
    if (this.trace.length < this.turnBudget) return false;
    this.fail(new TurnLimitError(this.turnBudget, this.context()));
    return true;
  }

  private grantTurn(pick: AsyncThread): void {
    this.sinceYield++;
    pick.state = "running";
    this.trace.push(pick.tid);
    const g = pick.grant!;
    pick.grant = null;
    g();
  }

  /**
   * Run every body to completion under this scheduler. Rejects with the first error: a body's,
   * {@link DeadlockError}, or, as `opts` say, {@link TurnLimitError}, {@link RunTimeoutError}
   * or the abort signal's reason (the errors of the run itself carry {@link RunContext} as
   * `run`). Every {@link YIELD_EVERY_TURNS} turns it yields to the event loop, so timers and the
   * signal run even while the bodies never end.
   */
  async run(bodies: [Thread, ThreadBody][], opts: KernelRunOptions = {}): Promise<void> {
    const { signal, timeoutMs, maxTurns } = opts;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgTypeError("options.signal", "an instance of AbortSignal", signal);
    if (timeoutMs !== undefined) {
      if (typeof timeoutMs !== "number") throw new InvalidArgTypeError("options.timeoutMs", "of type number", timeoutMs);
      if (!(timeoutMs >= 0)) throw new OutOfRangeError("options.timeoutMs", ">= 0", timeoutMs);
    }
    if (maxTurns !== undefined) {
      if (typeof maxTurns !== "number") throw new InvalidArgTypeError("options.maxTurns", "of type number", maxTurns);
      if (!(maxTurns === Infinity || (Number.isSafeInteger(maxTurns) && maxTurns >= 0))) throw new OutOfRangeError("options.maxTurns", "an integer >= 0, or Infinity", maxTurns);
    }
    this.turnBudget = maxTurns ?? Infinity;
    // An abort or the timeout ends the run at once: the run loop, woken, grants nothing more.
    const stop = (e: unknown): void => {
      if (this.ended) return;
      this.fail(e);
      const k = this.kick;
      this.kick = null;
      k?.();
    };
    const onAbort = (): void => stop(this.withContext(signal!.reason));
    if (signal?.aborted) throw this.withContext(signal.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const timer = timeoutMs !== undefined && timeoutMs !== Infinity
      ? setTimeout(() => stop(new RunTimeoutError(timeoutMs, this.context())), timeoutMs)
      : undefined;
    try {
      await this.runBodies(bodies);
    } finally {
      signal?.removeEventListener("abort", onAbort);
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  /** An abort's `reason`, with this run's context as its `run` field when it is an extensible object. */
  private withContext(reason: unknown): unknown {
    if (typeof reason === "object" && reason !== null && Object.isExtensible(reason) && !("run" in reason)) {
      Object.defineProperty(reason, "run", { value: this.context(), configurable: true, writable: true });
    }
    return reason;
  }

  private async runBodies(bodies: [Thread, ThreadBody][]): Promise<void> {
    const errors = this.errors;
    const all = bodies.map(([th, body]) => {
      const at = new AsyncThread(this, th);
      this.threads.push(at);
      return (async () => {
        try {
          await body(at);
        } catch (e) {
          errors.push(e);
        } finally {
          at.state = "done";
          th.scheduled = false;
          this.poke();
        }
      })();
    });
    for (;;) {
      // Without a hook, poke() grants the turns and wakes this loop only when the run is over.
      await new Promise<void>((r) => {
        this.kick = r;
        this.poke();
      });
      if (this.ended) break;
      if (this.sinceYield >= YIELD_EVERY_TURNS) {
        // A long run: let timers, I/O and the abort signal run, then carry on.
        this.sinceYield = 0;
        await macrotask();
        if (this.ended) break;
      }
      const pick = this.next();
      if (pick === null) break;
      if (this.onTurn) await this.onTurn(pick, this.threads);
      this.grantTurn(pick);
    }
    if (errors.length) {
      // Let the remaining bodies finish failing: grant nothing more, but do not leave
      // dangling promises holding the event loop.
      throw errors[0];
    }
    await Promise.all(all);
  }
}
