// host-ts/sched/scheduler.ts through Kernel.run: the deterministic scheduler of async thread
// bodies. A seed fixes the interleaving; the returned schedule (one tid per granted turn)
// explains the final memory contents exactly.
import { describe, it, expect } from "vitest";
import type { Kernel, Process, Thread, AsyncThread } from "../../host-ts/index.js";
import { SignalError, SystemError, Kvm } from "../../host-ts/index.js";
import { boot, RW, ANON, PAGE, A } from "../helpers/kernel.js";

const ITER = 12;

/**
 * Racy log appends: read the shared index, bump it, write the tid at the slot read. Three
 * turns per iteration, so the schedule decides which appends are lost.
 */
function appender(base: number) {
  return async (t: AsyncThread): Promise<void> => {
    for (let n = 0; n < ITER; n++) {
      const i = await t.load32(base);
      await t.store32(base, i + 1);
      await t.store32(base + 4 + 4 * i, t.tid);
    }
  };
}

/** Replay `schedule` against a model of appender(): the index and log it must leave. */
function replay(schedule: number[]): { index: number; log: Map<number, number> } {
  let index = 0;
  const log = new Map<number, number>();
  const pc = new Map<number, number>();
  const seen = new Map<number, number>();
  for (const tid of schedule) {
    const step = pc.get(tid) ?? 0;
    pc.set(tid, step + 1);
    switch (step % 3) {
      case 0: seen.set(tid, index); break;
      case 1: index = seen.get(tid)! + 1; break;
      case 2: log.set(seen.get(tid)!, tid); break;
    }
  }
  return { index, log };
}

async function setup(nthreads = 3): Promise<{ k: Kernel; p: Process; threads: Thread[]; a: number }> {
  const { k, p } = await boot();
  const a = p.mmap(0, 4 * PAGE, RW, ANON);
  const threads = [p.thread];
  while (threads.length < nthreads) threads.push(p.newThread());
  return { k, p, threads, a };
}

async function runAppenders(seed: number, nthreads = 3) {
  const { k, p, threads, a } = await setup(nthreads);
  const schedule = await k.run(seed, threads.map((t) => [t, appender(a)]));
  const index = p.thread.load32(a);
  const log = new Map<number, number>();
  for (let i = 0; i < ITER * nthreads; i++) {
    const v = p.thread.load32(a + 4 + 4 * i);
    if (v !== 0) log.set(i, v);
  }
  return { k, threads, schedule, index, log };
}

describe("Kernel.run", () => {
  it("returns one tid per turn: every thread gets exactly as many turns as it made operations", async () => {
    const { k, threads, schedule } = await runAppenders(1);
    expect(schedule).toHaveLength(3 * ITER * threads.length);
    for (const t of threads) expect(schedule.filter((x) => x === t.tid)).toHaveLength(3 * ITER);
    expect(new Set(schedule)).toEqual(new Set(threads.map((t) => t.tid)));
    expect(k.checkInvariants()).toBe(true);
  });

  it("the same seed gives the same schedule and the same memory, on a fresh kernel", async () => {
    const r1 = await runAppenders(42);
    const r2 = await runAppenders(42);
    expect(r2.schedule).toEqual(r1.schedule);
    expect(r2.index).toBe(r1.index);
    expect([...r2.log]).toEqual([...r1.log]);
    expect(r1.k.checkInvariants()).toBe(true);
    expect(r2.k.checkInvariants()).toBe(true);
  });

  it("different seeds give different schedules", async () => {
    const a = await runAppenders(1);
    const b = await runAppenders(2);
    expect(b.schedule).not.toEqual(a.schedule);
    const seen = new Set<string>();
    for (let seed = 100; seed < 110; seed++) seen.add((await runAppenders(seed)).schedule.join(","));
    expect(seen.size).toBe(10);
  });

  it.each([1, 2, 3, 7, 1234, 0xdeadbeef])("seed %d: the final index and log are exactly what the schedule implies", async (seed) => {
    const { k, schedule, index, log } = await runAppenders(seed);
    const want = replay(schedule);
    expect(index).toBe(want.index);
    expect([...log].sort((x, y) => x[0] - y[0])).toEqual([...want.log].sort((x, y) => x[0] - y[0]));
    expect(k.checkInvariants()).toBe(true);
  });

  it("the interleavings really interleave: some seeds lose appends, and the outcome varies with the seed", async () => {
    const finals = new Set<number>();
    for (let seed = 1; seed <= 12; seed++) finals.add((await runAppenders(seed)).index);
    expect(Math.min(...finals)).toBeLessThan(3 * ITER); // a lost update happened
    expect(finals.size).toBeGreaterThan(1);
  });

  it("threads of different processes sharing memory interleave the same way", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, PAGE, RW, A.MAP_SHARED | A.MAP_ANONYMOUS);
    const c = p.fork();
    const schedule = await k.run(5, [[p.thread, appender(a)], [c.thread, appender(a)]]);
    const want = replay(schedule);
    expect(p.thread.load32(a)).toBe(want.index);
    expect(c.thread.load32(a)).toBe(want.index);
    for (const [i, tid] of want.log) expect(c.thread.load32(a + 4 + 4 * i)).toBe(tid);
    expect(k.checkInvariants()).toBe(true);
  });

  it("copy-on-write faults taken inside a schedule keep each process's memory private", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 8 * PAGE, RW, ANON);
    for (let i = 0; i < 8; i++) p.thread.store32(a + i * PAGE, 1000 + i);
    const c = p.fork();
    const body = (salt: number) => async (t: AsyncThread) => {
      for (let i = 0; i < 8; i++) {
        const v = await t.load32(a + i * PAGE);
        await t.store32(a + i * PAGE, v + salt);
      }
    };
    await k.run(9, [[p.thread, body(1)], [c.thread, body(2)]]);
    for (let i = 0; i < 8; i++) {
      expect(p.thread.load32(a + i * PAGE)).toBe(1001 + i);
      expect(c.thread.load32(a + i * PAGE)).toBe(1002 + i);
    }
    expect(k.checkInvariants()).toBe(true);
  });

  it("yield() is a turn too", async () => {
    const { k, threads } = await setup(2);
    const schedule = await k.run(3, threads.map((t) => [t, async (at: AsyncThread) => {
      for (let i = 0; i < 5; i++) await at.yield();
    }]));
    expect(schedule).toHaveLength(10);
    expect(k.checkInvariants()).toBe(true);
  });

  it("an error thrown in one body rejects run() with that error", async () => {
    const { k, threads, a } = await setup(3);
    const boom = new Error("boom in body 2");
    const p = k.run(11, [
      [threads[0], appender(a)],
      [threads[1], async (t) => { await t.store32(a + PAGE, 1); throw boom; }],
      [threads[2], appender(a)],
    ]);
    await expect(p).rejects.toBe(boom);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a signal in one body rejects run() with the SignalError", async () => {
    const { k, threads, a } = await setup(2);
    const run = k.run(4, [
      [threads[0], appender(a)],
      [threads[1], async (t) => { await t.load32(a); await t.load32(0x9_0000_0000); }],
    ]);
    const err = await run.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(SignalError);
    expect((err as SignalError).name).toBe("SIGSEGV");
    expect((err as SignalError).si_code).toBe(A.SEGV_MAPERR);
    expect((err as SignalError).addr).toBe(0x9_0000_0000);
    expect(k.checkInvariants()).toBe(true);
  });

  it("an empty body list and bodies with no operations finish with an empty schedule", async () => {
    const { k, threads } = await setup(2);
    expect(await k.run(1, [])).toEqual([]);
    expect(await k.run(1, threads.map((t) => [t, async () => {}]))).toEqual([]);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("task ids", () => {
  it("count up and are not reused at once: a stale Thread of an exited task reaches nothing, even in its reused slot", async () => {
    const { k } = await boot();
    const old = k.spawn();
    const stale = old.thread;
    const a = old.mmap(0, PAGE, RW, ANON);
    stale.store32(a, 0x1234);
    old.exit();
    // Enough processes that the round-robin slot allocator hands out the exited task's slot again.
    const procs: Process[] = [];
    for (let i = 0; i < A.MAX_TASKS + 2; i++) {
      const p = k.spawn();
      if (p.thread.tid % A.MAX_TASKS === stale.tid % A.MAX_TASKS) procs.push(p);
      else p.exit();
    }
    expect(procs.length).toBeGreaterThan(0);
    const reuser = procs[0]!;
    expect(reuser.thread.tid).not.toBe(stale.tid);
    expect(reuser.thread.tid).toBeGreaterThan(stale.tid);
    const b = reuser.mmap(0, PAGE, RW, ANON);
    reuser.thread.store32(b, 0x5678);
    expect(() => stale.load32(b)).toThrow(/ESRCH/);
    expect(() => stale.syscall(A.__NR_getpid)).toThrow(/ESRCH/);
    expect(reuser.thread.load32(b)).toBe(0x5678);
    for (const p of procs) p.exit();
    expect(k.checkInvariants()).toBe(true);
  });

  it("wrap at 32768: a stale Thread whose tid now names a task of another process gets ESRCH for everything and touches nothing", async () => {
    const { k } = await boot();
    const victim = k.spawn();
    const stale = victim.newThread();
    const vm = Kvm.open(victim).createVm();
    const vcpu = vm.vcpu(stale);
    expect(stale.syscall(A.__NR_exit, 0)).toBe(0n);

    // Create and exit threads of another process until the tid comes round again.
    const other = k.spawn();
    let owner: Thread | null = null;
    for (let n = 0; n < A.PID_MAX_DEFAULT + A.MAX_TASKS && !owner; n++) {
      const h = k.exports.thread_create(other.thread.handle);
      expect(h).toBeGreaterThan(0);
      const t = k.threadFor(h % 65536, other.pid, h);
      if (t.tid === stale.tid) owner = t;
      else expect(t.syscall(A.__NR_exit, 0)).toBe(0n);
    }
    expect(owner).not.toBeNull();
    const t = owner!;
    expect(t.tid).toBe(stale.tid);
    expect(t.handle).not.toBe(stale.handle);
    // Same slot, same frame: the views the stale Thread holds are the new owner's.
    expect(t.frame.byteOffset).toBe(stale.frame.byteOffset);

    const a = other.mmap(0, PAGE, RW, ANON);
    t.store32(a, 0x1234);
    t.bounce.fill(0x77, 0, 16);
    const esrch = (fn: () => unknown) => {
      let err: unknown;
      try { fn(); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(SystemError);
      expect((err as SystemError).code).toBe("ESRCH");
    };
    esrch(() => stale.syscall(A.__NR_getpid));
    esrch(() => stale.syscall(A.__NR_munmap, a, PAGE));
    esrch(() => stale.load32(a));
    esrch(() => stale.load64(a));
    esrch(() => stale.store32(a, 0xdead));
    esrch(() => stale.store64(a, 0xdeadn));
    esrch(() => stale.read(a, 8));
    esrch(() => stale.write(a, new Uint8Array(8).fill(1)));
    esrch(() => stale.fill(a, 2, 8));
    esrch(() => stale.translate(a, true));
    esrch(() => stale.stage(new Uint8Array(4)));
    esrch(() => vcpu.read(0, 4));
    expect(stale.timeout()).toBe(false);
    // The raw exports, past the host's own check, refuse the stale handle too.
    expect(k.exports.syscall(stale.handle)).toBe(-A.ESRCH);
    expect(k.exports.uaccess_store(stale.handle, a, 4, 0xdead)).toBe(A.ACCESS_ESRCH);
    expect(k.exports.uaccess_load(stale.handle, a, 4)).toBe(A.ACCESS_ESRCH);
    expect(k.exports.uaccess_write(stale.handle, a, 4)).toBe(A.ACCESS_ESRCH);
    expect(k.exports.thread_create(stale.handle)).toBe(-A.ESRCH);
    expect(k.exports.mm_dump_vmas(stale.handle, 0)).toBe(-A.ESRCH);
    expect(k.exports.proc_fdinfo(stale.handle, 0)).toBe(-A.ESRCH);
    expect(k.exports.task_frame_addr(stale.handle)).toBe(0);
    // The new owner's memory, frame and bounce page are as it left them; its munmap did not run.
    expect(t.load32(a)).toBe(0x1234);
    expect([...t.bounce.subarray(0, 16)]).toEqual(new Array(16).fill(0x77));
    expect(t.syscall(A.__NR_gettid)).toBe(BigInt(t.tid));
    expect(other.vmas().some((v) => v.start === a)).toBe(true);
    expect(k.checkInvariants()).toBe(true);
  });

  it("wrap at 32768: adopt(pid) of a pid that now names a new process gives a new Process, not the stale one", async () => {
    const { k } = await boot();
    const gone = k.spawn();
    expect(gone.thread.syscall(A.__NR_exit_group, 0)).toBe(0n); // exits behind the Process object's back
    let h = 0;
    for (let n = 0; n < A.PID_MAX_DEFAULT + A.MAX_TASKS; n++) {
      h = k.exports.process_create(0, 0);
      expect(h).toBeGreaterThan(0);
      if (h % 65536 === gone.pid) break;
      expect(k.threadFor(h % 65536, h % 65536, h).syscall(A.__NR_exit_group, 0)).toBe(0n);
    }
    expect(h % 65536).toBe(gone.pid);
    const p = k.adopt(gone.pid);
    expect(p).not.toBe(gone);
    expect(p.thread.handle).toBe(h);
    expect(p.syscall(A.__NR_getpid)).toBe(BigInt(gone.pid));
    expect(() => gone.syscall(A.__NR_getpid)).toThrow(/ESRCH/);
    expect(k.checkInvariants()).toBe(true);
  });
});
