// Kernel.run's ending (signal, timeoutMs, maxTurns, the context every run error carries) and
// AsyncThread's typed system calls (host-ts/sched/scheduler.ts): producers of non-cooperative
// userfaultfd events wait, as faults do, until a handler body reads their event.
import { describe, it, expect } from "vitest";
import {
  CAP_SYS_PTRACE, DeadlockError, RunTimeoutError, TurnLimitError, RunError, RUN_LAST_TURNS, SystemError, Userfaultfd,
  WouldBlockError, Scheduler, type AsyncThread, type Kernel, type Process, type Thread, type UffdMsg,
} from "../../host-ts/index.js";
import { boot, expectSignal, RW, ANON, PAGE, A } from "../helpers/kernel.js";
import { within } from "../helpers/hang.js";

const EV_ALL = A.UFFD_FEATURE_EVENT_FORK | A.UFFD_FEATURE_EVENT_REMAP | A.UFFD_FEATURE_EVENT_REMOVE | A.UFFD_FEATURE_EVENT_UNMAP;

/** A body that never ends: it takes turns forever (a handler loop that never sees its fd close). */
const forever = async (t: AsyncThread): Promise<void> => {
  for (;;) await t.yield();
};

async function spinning(): Promise<{ k: Kernel; p: Process; threads: Thread[] }> {
  const { k, p } = await boot();
  return { k, p, threads: [p.thread, p.newThread()] };
}

/** The rejection of `run`, which must reject (within the hang guard). */
async function rejection(run: Promise<unknown>, what: string): Promise<unknown> {
  try {
    await within(run, what);
  } catch (e) {
    return e;
  }
  throw new Error(`${what}: resolved, expected a rejection`);
}

describe("Kernel.run always ends", () => {
  it("maxTurns: an endless run rejects with TurnLimitError after exactly that many turns, with its context", async () => {
    const { k, threads } = await spinning();
    const e = await rejection(k.run(11, threads.map((t) => [t, forever]), { maxTurns: 5000 }), "maxTurns");
    expect(e).toBeInstanceOf(TurnLimitError);
    expect(e).toBeInstanceOf(RunError);
    const err = e as TurnLimitError;
    expect(err.maxTurns).toBe(5000);
    expect(err.seed).toBe(11);
    expect(err.run.turns).toBe(5000);
    expect(err.lastTurns).toHaveLength(RUN_LAST_TURNS);
    for (const tid of err.lastTurns) expect(threads.map((t) => t.tid)).toContain(tid);
    expect(err.threads.map((t) => t.tid)).toEqual(threads.map((t) => t.tid));
    for (const t of err.threads) expect(t.state).toBe("ready");
    expect(err.message).toMatch(/^run did not end within 5000 turns \(maxTurns\)/);
    expect(err.message).toContain("seed 11");
    // The same seed, the same last turns (by thread index: the new threads have other tids).
    const more = [k.spawn().thread, k.spawn().thread];
    const again = (await rejection(k.run(11, more.map((t) => [t, forever]), { maxTurns: 5000 }), "again")) as TurnLimitError;
    expect(again.run.turns).toBe(5000);
    const byIndex = (tids: number[], ts: Thread[]) => tids.map((tid) => ts.findIndex((t) => t.tid === tid));
    expect(byIndex(again.lastTurns, more)).toEqual(byIndex(err.lastTurns, threads));
  });

  it("maxTurns: a run that ends within the budget resolves as before", async () => {
    const { k, threads } = await spinning();
    const body = async (t: AsyncThread) => { for (let i = 0; i < 10; i++) await t.yield(); };
    const schedule = await within(k.run(3, threads.map((t) => [t, body]), { maxTurns: 20 }), "within budget");
    expect(schedule).toHaveLength(20);
    const e = await rejection(k.run(3, [[k.spawn().thread, body], [k.spawn().thread, body]], { maxTurns: 19 }), "one short");
    expect(e).toBeInstanceOf(TurnLimitError);
  });

  it("timeoutMs: an endless run rejects with RunTimeoutError (the run yields to the event loop, so the timer fires)", async () => {
    const { k, threads } = await spinning();
    const e = await rejection(k.run(5, threads.map((t) => [t, forever]), { timeoutMs: 50 }), "timeoutMs");
    expect(e).toBeInstanceOf(RunTimeoutError);
    const err = e as RunTimeoutError;
    expect(err.timeoutMs).toBe(50);
    expect(err.seed).toBe(5);
    expect(err.run.turns).toBeGreaterThan(0);
    expect(err.lastTurns.length).toBeGreaterThan(0);
    expect(err.message).toMatch(/^run timed out after 50 ms/);
  });

  it("signal: aborting rejects with the signal's reason, which gets the run's context; an aborted signal never starts", async () => {
    const { k, threads } = await spinning();
    const ac = new AbortController();
    const reason = new Error("stop the run");
    setTimeout(() => ac.abort(reason), 1);
    const e = await rejection(k.run(8, threads.map((t) => [t, forever]), { signal: ac.signal }), "abort");
    expect(e).toBe(reason);
    const ctx = (e as Error & { run: RunError["run"] }).run;
    expect(ctx.seed).toBe(8);
    expect(ctx.threads.map((t) => t.tid)).toEqual(threads.map((t) => t.tid));
    expect(ctx.lastTurns.length).toBeGreaterThan(0);

    let ran = false;
    const body = async (t: AsyncThread) => { ran = true; await t.yield(); };
    const pre = AbortSignal.abort();
    const e2 = await rejection(k.run(1, [[k.spawn().thread, body]], { signal: pre }), "pre-aborted");
    expect(e2).toBe(pre.reason);
    expect((e2 as DOMException).name).toBe("AbortError");
    expect(ran).toBe(false);
  });

  it("options are checked Node-style", async () => {
    const { k, threads } = await spinning();
    const bodies: [Thread, (t: AsyncThread) => Promise<void>][] = [[threads[0], async (t) => { await t.yield(); }]];
    await expect(k.run(1, bodies, { maxTurns: -1 })).rejects.toMatchObject({ name: "RangeError", code: "ERR_OUT_OF_RANGE" });
    await expect(k.run(1, bodies, { maxTurns: 1.5 })).rejects.toMatchObject({ code: "ERR_OUT_OF_RANGE" });
    await expect(k.run(1, bodies, { timeoutMs: NaN })).rejects.toMatchObject({ code: "ERR_OUT_OF_RANGE" });
    await expect(k.run(1, bodies, { timeoutMs: "5" as unknown as number })).rejects.toMatchObject({ name: "TypeError", code: "ERR_INVALID_ARG_TYPE" });
    await expect(k.run(1, bodies, { signal: {} as AbortSignal })).rejects.toMatchObject({ code: "ERR_INVALID_ARG_TYPE" });
  });

  it("a deadlock says what each thread waits in: a userfault's address, a producer's system call", async () => {
    const { k } = await boot();
    const p = k.spawn({ caps: CAP_SYS_PTRACE });
    const uffd = p.userfaultfd(A.O_NONBLOCK);
    uffd.api(EV_ALL);
    const a = p.mmap(0, 4 * PAGE, RW, ANON);
    uffd.register(a, 4 * PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
    const faulter = p.newThread();
    const producer = p.newThread();
    const e = await rejection(k.run(2, [
      [faulter, async (t) => { await t.load8(a + PAGE + 5); }],
      [producer, async (t) => { await t.madvise(a + 2 * PAGE, PAGE, A.MADV_DONTNEED); }],
    ]), "deadlock");
    expect(e).toBeInstanceOf(DeadlockError);
    const err = e as DeadlockError;
    expect(err.tids).toEqual([faulter.tid, producer.tid]);
    expect(err.seed).toBe(2);
    expect(err.run.seeded).toBe(true);
    expect(err.threads).toEqual([
      { tid: faulter.tid, state: "blocked", addr: a + PAGE + 5 },
      { tid: producer.tid, state: "blocked", nr: A.__NR_madvise, syscall: "madvise" },
    ]);
    expect(err.lastTurns.slice().sort()).toEqual([faulter.tid, producer.tid].sort());
    expect(err.message.split("\n")[0]).toBe(`deadlock: threads ${faulter.tid}, ${producer.tid} are blocked and nothing can wake them`);
    expect(err.message).toContain(`tid ${faulter.tid}: blocked in a userfault at 0x${(a + PAGE + 5).toString(16)}`);
    expect(err.message).toContain(`tid ${producer.tid}: blocked in madvise(2)`);
  });
});

describe("Scheduler subclasses", () => {
  it("a run whose turns a subclass's choose() picked says so instead of naming a seed", async () => {
    class First extends Scheduler {
      protected override choose(ready: readonly AsyncThread[]): AsyncThread { return ready[0]; }
    }
    const { k, p } = await boot();
    const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    uffd.api();
    const a = p.mmap(0, PAGE, RW, ANON);
    uffd.register(a, PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
    const e = await rejection(new First(k, 9).run([[p.newThread(), async (t) => { await t.load8(a); }]]), "custom");
    expect(e).toBeInstanceOf(DeadlockError);
    expect((e as DeadlockError).run.seeded).toBe(false);
    expect((e as Error).message).toContain("schedule of a custom choose(), 1 turns");
  });
});

describe("AsyncThread's typed system calls", () => {
  /** $p with a non-blocking userfaultfd (every event on) over 8 registered pages, read by thread `mon`. */
  async function setup() {
    const { k } = await boot();
    const p = k.spawn({ caps: CAP_SYS_PTRACE });
    const mon = p.newThread();
    const uffd = new Userfaultfd(p, p.userfaultfd(A.O_NONBLOCK).fd, mon);
    uffd.api(EV_ALL);
    const a = p.mmap(0, 8 * PAGE, RW, ANON);
    uffd.register(a, 8 * PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
    return { k, p, mon, uffd, a };
  }

  for (const seed of [1, 2, 3, 4]) {
    it(`madvise, mremap, munmap and fork each wait until a handler body reads their event (seed ${seed})`, async () => {
      const { k, p, mon, uffd, a } = await setup();
      const log: string[] = [];
      const producer = p.newThread();
      let to = 0;
      let child: Process | null = null;
      const want = 5; // REMOVE, REMAP and UNMAP of mremap's source, UNMAP, FORK
      const got: UffdMsg[] = [];
      await within(k.run(seed, [
        [mon, async (t) => {
          for await (const m of uffd.messages(t)) {
            got.push(m);
            log.push(`read ${m.event}`);
            if (got.length === want) break;
          }
        }],
        [producer, async (t) => {
          await t.madvise(a, 2 * PAGE, A.MADV_DONTNEED);
          log.push("madvise returned");
          to = await t.mremap(a + 2 * PAGE, 2 * PAGE, 2 * PAGE, A.MREMAP_MAYMOVE | A.MREMAP_FIXED, a + 16 * PAGE);
          log.push("mremap returned");
          await t.munmap(a + 4 * PAGE, 4 * PAGE);
          log.push("munmap returned");
          child = await t.fork();
          log.push("fork returned");
        }],
      ]), "producers");
      // Each producer returned only after its event was read.
      expect(log).toEqual([
        "read remove", "madvise returned", "read remap", "read unmap", "mremap returned", "read unmap", "munmap returned", "read fork", "fork returned",
      ]);
      expect(to).toBe(a + 16 * PAGE);
      expect(got.slice(0, 4)).toEqual([
        { event: "remove", start: a, end: a + 2 * PAGE },
        { event: "remap", from: a + 2 * PAGE, to, len: 2 * PAGE },
        { event: "unmap", start: a + 2 * PAGE, end: a + 4 * PAGE },
        { event: "unmap", start: a + 4 * PAGE, end: a + 8 * PAGE },
      ]);
      expect(got[4].event).toBe("fork");
      expect(child!.pid).toBeGreaterThan(0);
      expect(k.stats().uffdEvents).toBe(0);
      expect(k.checkInvariants()).toBe(true);
    });
  }

  it("errors are SystemErrors named after the call, as Process's methods throw", async () => {
    const { k, p } = await boot();
    const t1 = p.newThread();
    let err: unknown;
    await within(k.run(1, [[t1, async (t) => {
      try { await t.munmap(1, PAGE); } catch (e) { err = e; }
    }]]), "munmap EINVAL");
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: "EINVAL", errno: A.EINVAL, syscall: "munmap", address: 1 });
    expect((err as Error).message).toBe("EINVAL: invalid argument, munmap 0x1");
  });

  it("mmap, mprotect, writeFd, readFd and close: readFd on an empty pipe waits for the writer's turn", async () => {
    const { k, p } = await boot();
    const [r, w] = p.pipe();
    const reader = p.newThread();
    const writer = p.newThread();
    let data: Uint8Array | null = null;
    let addr = 0;
    let closedErr: unknown;
    const log: string[] = [];
    await within(k.run(6, [
      [reader, async (t) => {
        data = await t.readFd(r, 16);
        log.push("read");
        await t.close(r);
        try { await t.readFd(r, 1); } catch (e) { closedErr = e; }
      }],
      [writer, async (t) => {
        addr = await t.mmap(0, PAGE, RW, ANON);
        await t.store8(addr, 7);
        await t.mprotect(addr, PAGE, A.PROT_READ);
        log.push("write");
        expect(await t.writeFd(w, new Uint8Array([1, 2, 3]))).toBe(3);
      }],
    ]), "pipe");
    expect(log).toEqual(["write", "read"]);
    expect(Array.from(data!)).toEqual([1, 2, 3]);
    expect(closedErr).toMatchObject({ code: "EBADF", syscall: "read" });
    expect(p.thread.load8(addr)).toBe(7);
    expect(expectSignal(() => p.thread.store8(addr, 1), "SIGSEGV").si_code).toBe(A.SEGV_ACCERR); // mprotect(PROT_READ) took
  });

  it("a blocking Process method called in a body on the body's own thread names the AsyncThread call to use", async () => {
    const { k, p, mon, uffd, a } = await setup();
    void mon;
    void uffd;
    const e = await rejection(k.run(1, [[p.thread, async () => { p.madvise(a, PAGE, A.MADV_DONTNEED); }]]), "misuse");
    expect(e).toBeInstanceOf(WouldBlockError);
    expect((e as Error).message).toMatch(/^madvise would block: task \d+ runs in Kernel\.run/);
    expect((e as Error).message).toContain("await t.madvise(...)");
  });

  it("the same call on another thread (p.thread outside the run) says what would block, plainly or inside t.op()", async () => {
    const { k, p, a } = await setup();
    const e = await rejection(k.run(1, [[p.newThread(), async () => { p.madvise(a, PAGE, A.MADV_DONTNEED); }]]), "other thread");
    expect(e).toBeInstanceOf(WouldBlockError);
    expect((e as WouldBlockError).nr).toBe(A.__NR_madvise);
    expect((e as Error).message).toMatch(/^madvise would block: task \d+ must wait/);
    // The same, wrapped in t.op(): the wait is not this thread's, so op cannot wait for it.
    const { k: k2, p: p2, a: a2 } = await setup();
    const e2 = await rejection(k2.run(1, [[p2.newThread(), async (t) => { await t.op(() => p2.madvise(a2, PAGE, A.MADV_DONTNEED)); }]]), "op other thread");
    expect((e2 as Error).message).toMatch(/madvise would block.*not this thread's task: t\.op\(\) can wait only for calls made on its own thread/);
  });
});

describe("SystemError context", () => {
  it("without context the message is Node's; a hint only where Linux's errno says little by itself", () => {
    expect(new SystemError(A.EINVAL, "mmap").message).toBe("EINVAL: invalid argument, mmap");
    expect(new SystemError(A.EINVAL, "mmap").hint).toBeUndefined();
    expect(new SystemError(A.ENOENT, "ioctl UFFDIO_COPY", { address: 0x7000 }).message)
      .toBe("ENOENT: no such file or directory, ioctl UFFDIO_COPY 0x7000 (range not registered with this userfaultfd (unmapped, remapped or unregistered meanwhile?))");
    expect(new SystemError(A.EIO, "read", { hint: "the pipe broke" })).toMatchObject({ hint: "the pipe broke", code: "EIO" });
  });

  it("userfaultfd's opaque errnos explain themselves: ENOENT from COPY, EPERM from api(), EINVAL before api(), EEXIST", async () => {
    const { k } = await boot();
    const p = k.spawn(); // no CAP_SYS_PTRACE
    const u = p.userfaultfd(A.UFFD_USER_MODE_ONLY);
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    const src = p.mmap(0, PAGE, RW, ANON);
    const thrown = (f: () => unknown): SystemError => {
      try { f(); } catch (e) { return e as SystemError; }
      throw new Error("expected a SystemError");
    };
    const before = thrown(() => u.register(a, 2 * PAGE, A.UFFDIO_REGISTER_MODE_MISSING));
    expect(before).toMatchObject({ code: "EINVAL", syscall: "ioctl UFFDIO_REGISTER" });
    expect(before.hint).toMatch(/until UFFDIO_API succeeded/);
    const perm = thrown(() => u.api(A.UFFD_FEATURE_EVENT_FORK));
    expect(perm).toMatchObject({ code: "EPERM", hint: "UFFD_FEATURE_EVENT_FORK needs CAP_SYS_PTRACE" });
    expect(perm.message).toContain("(UFFD_FEATURE_EVENT_FORK needs CAP_SYS_PTRACE)");
    u.api();
    const noent = thrown(() => u.copy(a, src, PAGE)); // nothing registered yet
    expect(noent).toMatchObject({ code: "ENOENT", syscall: "ioctl UFFDIO_COPY" });
    expect(noent.message).toMatch(/range not registered/);
    u.register(a, 2 * PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
    u.copy(a, src, PAGE);
    const exist = thrown(() => u.copy(a, src, PAGE));
    expect(exist.code).toBe("EEXIST");
    expect(exist.hint).toMatch(/UFFDIO_WAKE/);
    const priv = thrown(() => k.spawn().userfaultfd(0));
    expect(priv).toMatchObject({ code: "EPERM", syscall: "userfaultfd" });
    expect(priv.hint).toMatch(/UFFD_USER_MODE_ONLY needs CAP_SYS_PTRACE/);
  });
});
