// A trap inside a kernel entry (a kernel bug) marks the kernel dead: the entry held the big
// kernel lock and left the kernel half-way, so every later entry, from every thread, throws
// KernelPanic with the trap's message and the system call that trapped — never a hang. The
// debug build's `debug_trap` export makes a task's next system call trap. Every wait here is
// bounded by a deadline that fails the test (a hang guard, never a timing assertion).
import { describe, it, expect } from "vitest";
import { fileURLToPath } from "node:url";
import { KernelPanic, KernelLockTimeout, runInWorker, type Kernel, type Thread } from "../../host-ts/index.js";
import { boot, RW, ANON, PAGE, A } from "../helpers/kernel.js";
import { within, until } from "../helpers/hang.js";

const BUSY = fileURLToPath(new URL("./fixtures/worker-busy.mjs", import.meta.url));
const NR = { mmap: A.__NR_mmap, mprotect: A.__NR_mprotect, munmap: A.__NR_munmap, getpid: A.__NR_getpid };



/** What `fn` threw (it must throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

/** The panic of a trap in system call getpid of task `tid`. */
function expectGetpidPanic(e: unknown, tid: number): void {
  expect(e).toBeInstanceOf(KernelPanic);
  const p = e as KernelPanic;
  expect(p.trap).toBe("unreachable");
  expect({ entry: p.entry, tid: p.tid, nr: p.nr, syscall: p.syscall }).toEqual({ entry: "syscall", tid, nr: A.__NR_getpid, syscall: "getpid" });
  expect(p.message).toMatch(/unreachable.*getpid \(39\)/);
}

/** Every kind of entry, from thread `t`, throws the kernel's panic. */
function expectDead(k: Kernel, t: Thread, tid: number): void {
  expectGetpidPanic(thrown(() => t.syscall(A.__NR_getpid)), tid);
  expectGetpidPanic(thrown(() => t.load8(0x1000)), tid);
  expectGetpidPanic(thrown(() => t.store32(0x1000, 1)), tid);
  expectGetpidPanic(thrown(() => t.read(0x1000, 8)), tid);
  expectGetpidPanic(thrown(() => t.translate(0x1000)), tid);
  expectGetpidPanic(thrown(() => k.checkInvariants()), tid);
  expectGetpidPanic(thrown(() => k.spawn()), tid);
}

describe("KernelPanic", () => {
  it("a trap in a system call: KernelPanic there and on every later entry of this thread and the others", async () => {
    const { k, p } = await boot();
    const other = k.spawn();
    expect(k.panicked()).toBe(null);
    expect(k.exports.debug_trap(p.thread.handle)).toBe(0);
    expectGetpidPanic(thrown(() => p.syscall(A.__NR_getpid)), p.pid);
    expectGetpidPanic(k.panicked(), p.pid);
    expectDead(k, p.thread, p.pid);
    expectDead(k, other.thread, p.pid);
    expectGetpidPanic(thrown(() => p.newThread()), p.pid);
    expectGetpidPanic(thrown(() => p.mmap(0, PAGE, RW, ANON)), p.pid);
  });

  it("from another async thread under the scheduler", async () => {
    const { k, p } = await boot();
    const [t1, t2] = [p.newThread(), p.newThread()];
    const seen: unknown[] = [];
    let trapped = false;
    await within(k.run(3, [
      [t1, async (t) => {
        await t.yield();
        await t.yield();
        k.exports.debug_trap(t1.handle);
        seen.push(await t.syscall(A.__NR_getpid).catch((e: unknown) => e));
        trapped = true;
      }],
      [t2, async (t) => {
        expect(await t.syscall(A.__NR_getpid)).toBe(BigInt(p.pid));
        while (!trapped) await t.yield();
        seen.push(await t.syscall(A.__NR_getpid).catch((e: unknown) => e));
        seen.push(await t.load32(0x1000).catch((e: unknown) => e));
      }],
    ]), "k.run");
    expect(seen).toHaveLength(3);
    for (const e of seen) expectGetpidPanic(e, t1.tid);
  });

  it("from a worker thread: a worker in a syscall loop gets KernelPanic when the main thread's entry traps", async () => {
    const { k, p } = await boot();
    const counter = new SharedArrayBuffer(4);
    const run = runInWorker(k, p.newThread(), BUSY, { counter, nr: NR });
    await until(() => Atomics.load(new Int32Array(counter), 0) >= 2, "the worker runs");
    k.exports.debug_trap(p.thread.handle);
    expectGetpidPanic(thrown(() => p.syscall(A.__NR_getpid)), p.pid);
    // The worker's next entry (or its spin on the lock the trap kept) is refused.
    const e = await within(run.then(() => null, (x: unknown) => x), "the worker's run");
    expectGetpidPanic(e, p.pid);
    expect(k.exports.kernel_lock_holder()).toBe(p.pid); // the dead entry's lock is never released
    expectDead(k, p.thread, p.pid);
  });

  it("a trap inside a worker's entry: its run rejects with KernelPanic, and so does every other thread, never a hang", async () => {
    const { k, p } = await boot();
    const [ta, tb] = [p.newThread(), p.newThread()];
    const [ca, cb] = [new SharedArrayBuffer(4), new SharedArrayBuffer(4)];
    const runA = runInWorker(k, ta, BUSY, { counter: ca, nr: NR });
    const runB = runInWorker(k, tb, BUSY, { counter: cb, nr: NR });
    await until(() => Atomics.load(new Int32Array(ca), 0) >= 2 && Atomics.load(new Int32Array(cb), 0) >= 2, "both workers run");
    k.exports.debug_trap(ta.handle); // A's next system call traps
    const [ea, eb] = await within(Promise.all([runA.then(() => null, (x: unknown) => x), runB.then(() => null, (x: unknown) => x)]), "the workers' runs");
    // The worker's trap happened in its next system call, whichever it was.
    expect(ea).toBeInstanceOf(KernelPanic);
    expect({ entry: (ea as KernelPanic).entry, tid: (ea as KernelPanic).tid, trap: (ea as KernelPanic).trap }).toEqual({ entry: "syscall", tid: ta.tid, trap: "unreachable" });
    expect([A.__NR_mmap, A.__NR_mprotect, A.__NR_munmap, A.__NR_getpid]).toContain((ea as KernelPanic).nr);
    expect(eb).toBeInstanceOf(KernelPanic);
    expect((eb as KernelPanic).message).toBe((ea as KernelPanic).message);
    expect((thrown(() => p.syscall(A.__NR_getpid)) as KernelPanic).message).toBe((ea as KernelPanic).message);
    expect(k.panicked()?.message).toBe((ea as KernelPanic).message);
  });

  it("a worker parked on a userfault when the kernel dies: its run rejects with KernelPanic, no hang", async () => {
    const { k, p } = await boot();
    const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    uffd.api();
    const a = p.mmap(0, PAGE, RW, ANON);
    uffd.register(a, PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
    const run = runInWorker(k, p.newThread(), new URL("./fixtures/worker-fault.mjs", import.meta.url), { addr: a });
    let msgs = uffd.read();
    await until(() => (msgs = msgs.length ? msgs : uffd.read()).length > 0, "the worker faults");
    k.exports.debug_trap(p.thread.handle);
    expect(() => p.syscall(A.__NR_getpid)).toThrow(KernelPanic);
    const e = await within(run.then(() => null, (x: unknown) => x), "the parked worker's run");
    expectGetpidPanic(e, p.pid);
  });

  it("an aborted worker of a dead kernel: the abort still completes", async () => {
    const { k, p } = await boot();
    const counter = new SharedArrayBuffer(4);
    const ac = new AbortController();
    const t = p.newThread();
    const run = runInWorker(k, t, BUSY, { counter, nr: NR, swallow: true }, { signal: ac.signal });
    await until(() => Atomics.load(new Int32Array(counter), 0) >= 2, "the worker runs");
    k.exports.debug_trap(p.thread.handle);
    expect(() => p.syscall(A.__NR_getpid)).toThrow(KernelPanic);
    const reason = new Error("abort after the panic");
    ac.abort(reason);
    await expect(within(run, "abort")).rejects.toBe(reason);
  });

  it("the release build has no debug_trap", async () => {
    const { k } = await boot({ build: "release" });
    expect(k.exports.debug_trap(k.spawn().thread.handle)).toBe(-A.ENOSYS);
    expect(k.exports.debug_hold_lock(1, 0)).toBe(-A.ENOSYS);
  });
});

describe("the big kernel lock", () => {
  it("records its holder; a spinner gives up (debug builds) with an error naming the holder", async () => {
    const { k, p } = await boot();
    k.exports.kernel_enable_smp(); // as runInWorker does: entries take the lock
    expect(k.exports.kernel_lock_holder()).toBe(-1);
    // An entry for task 77 that never left (its thread died inside the kernel).
    expect(k.exports.debug_hold_lock(77, 1_000_000)).toBe(0);
    expect(k.exports.kernel_lock_holder()).toBe(77);
    const e = thrown(() => p.syscall(A.__NR_getpid));
    expect(e).toBeInstanceOf(KernelLockTimeout);
    expect((e as KernelLockTimeout).holder).toBe(77);
    expect((e as KernelLockTimeout).message).toMatch(/task 77/);
    expect(thrown(() => p.thread.load8(0x1000))).toBeInstanceOf(KernelLockTimeout);
    expect(k.panicked()).toBe(null); // a stuck lock is reported, not declared a panic
    expect(k.exports.debug_hold_lock(-1, 0)).toBe(0);
    expect(p.syscall(A.__NR_getpid)).toBe(BigInt(p.pid));
    expect(k.exports.kernel_lock_holder()).toBe(-1);
  });

  it("a worker spinning on a lock whose holder's entry trapped gives up with KernelPanic", async () => {
    const { k, p } = await boot();
    const counter = new SharedArrayBuffer(4);
    const run = runInWorker(k, p.newThread(), BUSY, { counter, nr: NR });
    await until(() => Atomics.load(new Int32Array(counter), 0) >= 2, "the worker runs");
    // The main thread holds the lock with no bound on the spinners, so the worker spins until
    // the panic is declared (as by a trap whose host thread records it later).
    expect(k.exports.debug_hold_lock(5, 2 ** 53)).toBe(0);
    expect(k.entry.declarePanic("unreachable", "syscall", 5)).toBeInstanceOf(KernelPanic);
    const e = await within(run.then(() => null, (x: unknown) => x), "the worker's run");
    expect(e).toBeInstanceOf(KernelPanic);
    expect((e as KernelPanic).tid).toBe(5);
  });
});
