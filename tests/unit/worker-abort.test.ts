// runInWorker's AbortSignal: the worker is terminated only outside the kernel (its entry gate,
// host-ts/entry.ts), so the big kernel lock never dies with it, and its simulated thread is
// exited, releasing what it held (a blocking read()'s userfaultfd: its faulters are woken as
// on Linux when the handler dies). Every wait is bounded by a deadline that fails the test
// (a hang guard, never a timing assertion).
import { describe, it, expect } from "vitest";
import { fileURLToPath } from "node:url";
import { runInWorker, Kernel } from "../../host-ts/index.js";
import { closeGate, WorkerAbortedError, GATE_OUT, GATE_IN, GATE_CLOSING, GATE_CLOSED } from "../../host-ts/entry.js";
import { boot, RW, ANON, PAGE, A } from "../helpers/kernel.js";
import { within, until, HANG_MS } from "../helpers/hang.js";

const BUSY = fileURLToPath(new URL("./fixtures/worker-busy.mjs", import.meta.url));
const READER = fileURLToPath(new URL("./fixtures/worker-uffd-reader.mjs", import.meta.url));
const FAULT = fileURLToPath(new URL("./fixtures/worker-fault.mjs", import.meta.url));
const NR = { mmap: A.__NR_mmap, mprotect: A.__NR_mprotect, munmap: A.__NR_munmap, getpid: A.__NR_getpid, read: A.__NR_read };



/** mulberry32: a seeded PRNG for the abort points. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const parked = (t: { frame: DataView }) => Atomics.load(new Int32Array(t.frame.buffer, t.frame.byteOffset + A.host_frame.wait_word, 1), 0) === 1;

describe("runInWorker abort", () => {
  it("aborting a syscall-heavy worker 100 times leaves the kernel usable every time and leaks nothing", async () => {
    const { k, p } = await boot();
    const probe = (i: number) => {
      // Nobody holds the big kernel lock, the kernel lives, and a syscall and a fault work.
      expect(k.exports.kernel_lock_holder(), `run ${i}: lock holder`).toBe(-1);
      expect(k.panicked()).toBe(null);
      expect(p.syscall(A.__NR_getpid)).toBe(BigInt(p.pid));
      const m = p.mmap(0, PAGE, RW, ANON);
      p.thread.store32(m, i + 1);
      expect(p.thread.load32(m)).toBe(i + 1);
      p.munmap(m, PAGE);
      expect(k.checkInvariants()).toBe(true);
    };
    probe(-1);
    const base = k.stats();
    const rand = prng(9);
    for (let i = 0; i < 100; i++) {
      const c = k.spawn();
      const t = c.newThread();
      const counter = new SharedArrayBuffer(4);
      // Some runs ignore their cancellation (every entry then refuses, the loop goes on), some
      // stop entering the kernel and loop in JS (terminated from outside the kernel at once).
      const data = { counter, nr: NR, swallow: i % 3 === 1, spinAt: i % 5 === 4 ? 3 : undefined };
      const ac = new AbortController();
      const reason = new Error(`abort ${i}`);
      const run = runInWorker(k, t, BUSY, data, { signal: ac.signal });
      const rounds = 1 + Math.floor(rand() * 8);
      await until(() => Atomics.load(new Int32Array(counter), 0) >= Math.min(rounds, data.spinAt ?? rounds), `run ${i}: progress`, run);
      ac.abort(reason);
      await expect(within(run, `run ${i}: abort`)).rejects.toBe(reason);
      // The aborted thread exited; its process still lives.
      expect(k.exports.task_frame_addr(t.handle), `run ${i}: task ${t.tid} exited`).toBe(0);
      expect(c.syscall(A.__NR_getpid)).toBe(BigInt(c.pid));
      probe(i);
      c.exit(0);
    }
    const end = k.stats();
    expect({ free: end.freeFrames, tasks: end.tasks, inodes: end.inodes, slab: end.slabObjects, uffd: end.uffdCtxs }).toEqual({
      free: base.freeFrames, tasks: base.tasks, inodes: base.inodes, slab: base.slabObjects, uffd: base.uffdCtxs,
    });
  });

  it("an aborted handler blocked in read() drops its userfaultfd: the last reference releases it and wakes the faulter", async () => {
    const { k, p } = await boot();
    const u = p.userfaultfd(A.UFFD_USER_MODE_ONLY); // blocking
    u.api();
    const a = p.mmap(0, PAGE, RW, ANON);
    u.register(a, PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
    const counter = new SharedArrayBuffer(4);
    const h = p.newThread();
    const ac = new AbortController();
    const handler = runInWorker(k, h, READER, { counter, nr: NR, fd: u.fd, staging: A.HOST_STAGING_BASE, size: A.UFFD_MSG_SIZE }, { signal: ac.signal });
    await until(() => parked(h), "the handler blocks in read()", handler);
    // A faulter whose message the handler reads and never serves.
    const f = p.newThread();
    const faulter = runInWorker<number>(k, f, FAULT, { addr: a });
    await until(() => Atomics.load(new Int32Array(counter), 0) === 1 && parked(h) && parked(f), "the fault is read, the handler blocks again", handler);
    u.close(); // the last descriptor; the handler's read() still holds the file
    expect(k.stats().uffdCtxs).toBe(1);
    expect(parked(f)).toBe(true);
    const reason = new Error("handler watchdog");
    ac.abort(reason);
    await expect(within(handler, "handler abort")).rejects.toBe(reason);
    // The handler's exit dropped the file: released, the range unregistered, the faulter woken;
    // its retried read fault maps the zero page.
    expect(k.stats().uffdCtxs).toBe(0);
    expect(await within(faulter, "the faulter is woken")).toBe(0);
    expect(k.exports.task_frame_addr(h.handle)).toBe(0);
    expect(p.thread.load32(a)).toBe(0);
    expect(k.checkInvariants()).toBe(true);
  });

  it("an aborted handler that is not the last holder of the userfaultfd releases nothing", async () => {
    const { k, p } = await boot();
    const u = p.userfaultfd(A.UFFD_USER_MODE_ONLY);
    u.api();
    const counter = new SharedArrayBuffer(4);
    const h = p.newThread();
    const ac = new AbortController();
    const handler = runInWorker(k, h, READER, { counter, nr: NR, fd: u.fd, staging: A.HOST_STAGING_BASE, size: A.UFFD_MSG_SIZE }, { signal: ac.signal });
    await until(() => parked(h), "the handler blocks in read()", handler);
    ac.abort(new Error("stop"));
    await expect(within(handler, "handler abort")).rejects.toThrow("stop");
    expect(k.exports.task_frame_addr(h.handle)).toBe(0);
    expect(k.stats().uffdCtxs).toBe(1); // the fd still refers to it
    expect(p.fdinfo(u.fd)).toMatch(/pending:\s*0/);
    u.close();
    expect(k.stats().uffdCtxs).toBe(0);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("the entry gate (host-ts/entry.ts)", () => {
  it("closes at once on a worker outside the kernel; every later entry is refused without entering", async () => {
    const { k, p } = await boot();
    const g = new Int32Array(new SharedArrayBuffer(4));
    const k2 = Kernel.attach(k.module, k.memory, k.build, g);
    const t = k2.threadFor(p.pid, p.pid, p.thread.handle);
    expect(t.syscall(A.__NR_getpid)).toBe(BigInt(p.pid));
    expect(Atomics.load(g, 0)).toBe(GATE_OUT);
    expect(await closeGate(g, HANG_MS)).toBe(true);
    expect(Atomics.load(g, 0)).toBe(GATE_CLOSED);
    const calls = k.stats().syscalls;
    expect(() => t.syscall(A.__NR_getpid)).toThrow(WorkerAbortedError);
    expect(() => t.load8(0x1000)).toThrow(WorkerAbortedError);
    expect(k.stats().syscalls).toBe(calls);
    expect(p.syscall(A.__NR_getpid)).toBe(BigInt(p.pid)); // other instances are not gated
  });

  it("waits for a worker inside an entry, which closes the gate as it leaves", async () => {
    const g = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(g, 0, GATE_IN);
    let done: boolean | null = null;
    const closing = closeGate(g, HANG_MS).then((v) => { done = v; });
    expect(Atomics.load(g, 0)).toBe(GATE_CLOSING);
    await new Promise((r) => setTimeout(r, 5));
    expect(done).toBe(null);
    // What the worker's guard does when it leaves and finds CLOSING.
    Atomics.store(g, 0, GATE_CLOSED);
    Atomics.notify(g, 0);
    await within(closing, "closeGate");
    expect(done).toBe(true);
  });

  it("gives up after its grace period when the worker never leaves", async () => {
    const g = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(g, 0, GATE_IN);
    expect(await closeGate(g, 20)).toBe(false);
    expect(Atomics.load(g, 0)).toBe(GATE_CLOSING);
  });
});
