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
import { WouldBlockError, DeadlockError } from "../errors.js";
import { mulberry32 } from "./prng.js";

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
        if (this.woken()) throw new Error(`task ${this.tid}: fault returned RETRY but the kernel did not queue the task`);
        await this.sched.block(this);
      }
    }
  }

  /** A status < 0 of an access: park until the kernel wakes the task (ACCESS_RETRY), or throw the signal. */
  private park(status: number, addr: number): Promise<void> {
    if (status !== A.ACCESS_RETRY) accessFailed(this.thread, status, addr);
    if (this.woken()) throw new Error(`task ${this.tid}: fault returned RETRY but the kernel did not queue the task`);
    return this.sched.block(this);
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
  async syscall(nr: Num, ...args: Num[]): Promise<bigint> {
    await this.sched.turn(this);
    const t = this.thread;
    for (;;) {
      const r = t.kernel.syscallRaw(t, nr, args);
      if (r !== ERESTARTSYS) return r;
      await this.park(A.ACCESS_RETRY, 0);
    }
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
    if (this.onTurn === null && !this.ended) {
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
        errors.push(new DeadlockError(ts.filter((t) => t.state !== "done").map((t) => t.tid)));
        this.ended = true;
        return null;
      }
      this.now = first.deadline;
      first.deadline = Infinity;
      first.thread.timeout();
      first.state = "ready";
      return this.choose([first]);
    }
    // A subclass's choice gets the ready threads as an array; the seeded default picks the k-th
    // ready thread in start order without building one (the same draw, the same thread).
    if (this.choose !== Scheduler.prototype.choose) return this.choose(ts.filter((t) => t.state === "ready"));
    let k = Math.floor(this.rand() * ready);
    for (let i = 0; ; i++) if (ts[i].state === "ready" && k-- === 0) return ts[i];
  }

  private grantTurn(pick: AsyncThread): void {
    pick.state = "running";
    this.trace.push(pick.tid);
    const g = pick.grant!;
    pick.grant = null;
    g();
  }

  /** Run every body to completion under this scheduler. Rejects with the first error. */
  async run(bodies: [Thread, ThreadBody][]): Promise<void> {
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
