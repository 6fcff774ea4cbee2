// host-ts/workers: runInWorker runs a script on a simulated thread in a Node worker, all
// workers entering one kernel on one shared memory. Concurrent writers fault the same pages
// at the same time; every word must end up exactly as its writer left it.
import { describe, it, expect } from "vitest";
import { fileURLToPath } from "node:url";
import { runInWorker, type Kernel, type Process, type Thread } from "../../host-ts/index.js";
import * as H from "../../host-ts/abi.gen.js";
import { boot, RW, ANON, PAGE, A } from "../helpers/kernel.js";
// @ts-expect-error: a plain JS fixture without type declarations
import { pattern } from "./fixtures/worker-writer.mjs";

const SCRIPT = fileURLToPath(new URL("./fixtures/worker-writer.mjs", import.meta.url));
const pat = pattern as (slot: number, i: number, r: number) => number;

interface Result { tid: number; written: number; bad: number }

function writers(k: Kernel, threads: Thread[], base: number, words: number, stride: number, rounds: number, extra: object = {}) {
  return threads.map((t, slot) => runInWorker<Result>(k, t, SCRIPT, { base, words, slot, stride, rounds, ...extra }));
}

/** Every word i (from `from`) of [base, base + 4 * words) holds the last value of the worker owning it. */
function verify(p: Process, base: number, words: number, stride: number, rounds: number, slotOf = (i: number) => i % stride, from = 0): void {
  const bytes = p.thread.read(base, 4 * words);
  const dv = new DataView(bytes.buffer);
  let bad = 0;
  let first = -1;
  for (let i = from; i < words; i++) {
    if (dv.getUint32(4 * i, true) !== pat(slotOf(i), i, rounds - 1)) {
      if (first < 0) first = i;
      bad++;
    }
  }
  expect(bad, `first wrong word: ${first}`).toBe(0);
}

describe("runInWorker", () => {
  it("two workers write interleaved words of the same fresh pages concurrently; every word is right", async () => {
    const { k, p } = await boot();
    const pages = 32;
    const words = (pages * PAGE) / 4;
    const a = p.mmap(0, pages * PAGE, RW, ANON);
    const threads = [p.newThread(), p.newThread()];
    const results = await Promise.all(writers(k, threads, a, words, 2, 3));
    expect(results.map((r) => r.tid)).toEqual(threads.map((t) => t.tid));
    for (const r of results) {
      expect(r.written).toBe(3 * (words / 2));
      expect(r.bad).toBe(0);
    }
    verify(p, a, words, 2, 3);
    // Each page was faulted exactly once: one frame each, whoever got there first.
    expect(p.vmas()[0].rss).toBe(pages);
    expect(k.checkInvariants()).toBe(true);
  });

  it("four workers write disjoint blocks of one mapping; the main thread verifies every word", async () => {
    const { k, p } = await boot();
    const n = 4;
    const pagesEach = 16;
    const wordsEach = (pagesEach * PAGE) / 4;
    const a = p.mmap(0, n * pagesEach * PAGE, RW, ANON);
    const threads = Array.from({ length: n }, () => p.newThread());
    // Worker `slot` owns words [slot * wordsEach, (slot + 1) * wordsEach): base shifted, stride 1.
    const results = await Promise.all(
      threads.map((t, slot) => runInWorker<Result>(k, t, SCRIPT, { base: a + slot * pagesEach * PAGE, words: wordsEach, slot: 0, stride: 1, rounds: 2 })),
    );
    for (const r of results) expect(r).toMatchObject({ written: 2 * wordsEach, bad: 0 });
    // Every worker used slot 0 in its own block: the pattern depends on the word index within the block.
    for (let w = 0; w < n; w++) verify(p, a + w * pagesEach * PAGE, wordsEach, 1, 2);
    expect(p.vmas()[0].rss).toBe(n * pagesEach);
    expect(k.checkInvariants()).toBe(true);
  });

  it("the main thread keeps writing its own stripe while the workers run", async () => {
    const { k, p } = await boot();
    const stride = 3; // slots 0, 1: workers; slot 2: the main thread
    const words = (16 * PAGE) / 4;
    const rounds = 8;
    const a = p.mmap(0, 16 * PAGE, RW, ANON);
    const flag = p.mmap(0, PAGE, RW, ANON);
    const threads = [p.newThread(), p.newThread()];
    const running = writers(k, threads, a, words, stride, rounds, { flag });
    // Wait (letting the event loop start the workers) until both report they are running.
    const deadline = Date.now() + 20_000;
    while (p.thread.load32(flag) === 0 || p.thread.load32(flag + 4) === 0) {
      if (Date.now() > deadline) throw new Error("workers did not start");
      await new Promise((r) => setTimeout(r, 1));
    }
    for (let r = 0; r < rounds; r++) for (let i = 2; i < words; i += stride) p.thread.store32(a + 4 * i, pat(2, i, r));
    const results = await Promise.all(running);
    for (const r of results) expect(r.bad).toBe(0);
    verify(p, a, words, stride, rounds);
    expect(k.checkInvariants()).toBe(true);
  });

  it("workers in two processes write a shared anonymous mapping; the parent sees both", async () => {
    const { k, p } = await boot();
    const words = (8 * PAGE) / 4;
    const a = p.mmap(0, 8 * PAGE, RW, A.MAP_SHARED | A.MAP_ANONYMOUS);
    const c = p.fork();
    const results = await Promise.all(writers(k, [p.newThread(), c.newThread()], a, words, 2, 2));
    for (const r of results) expect(r.bad).toBe(0);
    verify(p, a, words, 2, 2);
    verify(c, a, words, 2, 2);
    expect(k.checkInvariants()).toBe(true);
  });

  it("workers writing private memory after fork each take their own copies", async () => {
    const { k, p } = await boot();
    const words = (8 * PAGE) / 4;
    const a = p.mmap(0, 8 * PAGE, RW, ANON);
    p.thread.fill(a, 0xab, 8 * PAGE);
    const c = p.fork();
    const [rp, rc] = await Promise.all([
      runInWorker<Result>(k, p.newThread(), SCRIPT, { base: a, words, slot: 0, stride: 1, rounds: 1 }),
      runInWorker<Result>(k, c.newThread(), SCRIPT, { base: a, words, slot: 1, stride: 1, rounds: 1 }),
    ]);
    expect([rp.bad, rc.bad]).toEqual([0, 0]);
    verify(p, a, words, 1, 1, () => 0);
    // The child's worker wrote words 1.. (its stripe starts at its slot); word 0 is still
    // the data inherited from the parent, not the parent worker's later write.
    expect(c.thread.load32(a)).toBe(0xabababab);
    verify(c, a, words, 1, 1, () => 1, 1);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a signal in a worker rejects runInWorker with the signal's name; the kernel stays consistent", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, PAGE, RW, ANON);
    const t = p.newThread();
    const err = await runInWorker(k, t, SCRIPT, { base: a, words: 16, slot: 0, stride: 1, faultAt: 0x9_0000_0000 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe("SIGSEGV");
    expect((err as Error).message).toMatch(/SEGV_MAPERR.*0x900000000/);
    // The same thread can still be used.
    const ok = await runInWorker<Result>(k, t, SCRIPT, { base: a, words: 16, slot: 0, stride: 1 });
    expect(ok.bad).toBe(0);
    expect(k.checkInvariants()).toBe(true);
  });

  it("an aborted run terminates a worker parked in Atomics.wait on a userfault and rejects with the reason", async () => {
    const { k, p } = await boot();
    const uffd = p.userfaultfd(H.O_NONBLOCK | H.UFFD_USER_MODE_ONLY);
    uffd.api();
    const a = p.mmap(0, PAGE, RW, ANON);
    uffd.register(a, PAGE, H.UFFDIO_REGISTER_MODE_MISSING);
    const ac = new AbortController();
    const run = runInWorker(k, p.newThread(), new URL("./fixtures/worker-fault.mjs", import.meta.url), { addr: a }, { signal: ac.signal });
    const deadline = Date.now() + 10_000;
    let msgs = uffd.read();
    while (msgs.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1));
      msgs = uffd.read();
    }
    expect(msgs).toHaveLength(1); // the worker is parked: nobody will resolve its fault
    ac.abort(new Error("watchdog"));
    await expect(run).rejects.toThrow("watchdog");
    // An already-aborted signal refuses to start a worker.
    await expect(runInWorker(k, p.newThread(), new URL("./fixtures/worker-fault.mjs", import.meta.url), { addr: a }, { signal: ac.signal })).rejects.toThrow("watchdog");
    uffd.close(); // releases the ctx (the aborted task left its queue as it exited)
    expect(k.checkInvariants()).toBe(true);
  });
});
