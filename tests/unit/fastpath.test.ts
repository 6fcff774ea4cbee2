// The userfaultfd fast path: an inline fault handler (Thread.onFault) serves a fault inside the
// faulting access, Userfaultfd.serveAll resolves every pending fault with one policy, the
// kernel's dedicated entries for the hot ioctls (bad arguments → errno, a stale handle → ESRCH,
// a trap → KernelPanic), the async scheduler parks on a status, and the BigInt-free system-call
// path fills the same registers as the exact one.
import { describe, it, expect, vi } from "vitest";
import { boot, RW, ANON, PAGE, A, expectErrno } from "../helpers/kernel.js";
import { CAP_SYS_PTRACE, FillError, KernelPanic, Thread, Userfaultfd, WouldBlockError, type UffdMsg } from "../../host-ts/index.js";

const MISSING = A.UFFDIO_REGISTER_MODE_MISSING;

/** A process, a userfaultfd served on its main thread, a MISSING-registered region of `pages`, and a faulting thread. */
async function setup(pages = 4, opts: { features?: bigint; build?: "debug" | "release" } = {}) {
  const { k } = await boot({ build: opts.build });
  const p = k.spawn({ caps: CAP_SYS_PTRACE });
  const uffd = p.userfaultfd(A.O_NONBLOCK);
  uffd.api(opts.features ?? 0n);
  const a = p.mmap(0, pages * PAGE, RW, ANON);
  uffd.register(a, pages * PAGE, MISSING);
  const src = p.mmap(0, pages * PAGE, RW, ANON);
  for (let i = 0; i < pages; i++) p.thread.fill(src + i * PAGE, 0x10 + i, PAGE);
  const f = p.newThread();
  return { k, p, uffd, a, src, f };
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

describe("Thread.onFault: the inline fault handler", () => {
  it("serves the fault inside the access: the load returns the copied byte, one handler call and one message per page", async () => {
    const { k, p, uffd, a, src, f } = await setup(4);
    const calls: number[] = [];
    let served = 0;
    f.onFault = (addr, t) => {
      expect(t).toBe(f);
      calls.push(addr);
      served += uffd.serveAll({ copyFrom: src, base: a });
    };
    const mustWait = vi.spyOn(Thread.prototype, "mustWait");
    for (let i = 0; i < 4; i++) expect(f.load8(a + i * PAGE + 7)).toBe(0x10 + i);
    expect(mustWait).toHaveBeenCalledTimes(4); // one status each, served without a throw
    mustWait.mockRestore();
    expect(calls).toEqual([0, 1, 2, 3].map((i) => a + i * PAGE + 7));
    expect(served).toBe(4);
    for (let i = 0; i < 4; i++) expect(f.load8(a + i * PAGE)).toBe(0x10 + i); // resident now: no handler call
    expect(calls.length).toBe(4);
    expect(p.fdinfo(uffd.fd)).toMatch(/pending:\s*0/);
    expect(k.checkInvariants()).toBe(true);
  });

  it("stores, 64-bit loads and bulk reads are served the same way", async () => {
    const { p, uffd, a, src, f } = await setup(3);
    f.onFault = () => void uffd.serveAll({ copyFrom: src, base: a });
    f.store32(a + 4, 0xdeadbeef);
    expect(p.thread.load32(a + 4)).toBe(0xdeadbeef);
    expect(p.thread.load8(a)).toBe(0x10);
    expect(f.load64(a + PAGE)).toBe(0x1111111111111111n);
    expect([...f.read(a + 2 * PAGE, 4)]).toEqual([0x12, 0x12, 0x12, 0x12]);
  });

  it("without a handler, or when the handler serves nothing, the access throws WouldBlockError as before", async () => {
    const { uffd, a, src, f } = await setup(2);
    expect(() => f.load8(a)).toThrow(WouldBlockError);
    expect(uffd.serveAll({ copyFrom: src })).toBe(1); // the message of that fault
    expect(f.load8(a)).toBe(0x10);
    let calls = 0;
    f.onFault = () => void calls++;
    expect(() => f.load8(a + PAGE)).toThrow(WouldBlockError);
    expect(calls).toBe(1);
    expect(uffd.read()).toEqual([{ event: "pagefault", flags: 0n, address: a + PAGE, ptid: 0 }]);
  });

  it("serves a system call that faults on a registered page (write(2) from it), reissued in the same call", async () => {
    const { p, uffd, a, src, f } = await setup(1);
    const [r, w] = p.pipe();
    f.onFault = () => void uffd.serveAll({ copyFrom: src });
    expect(f.syscall(A.__NR_write, w, a, 3)).toBe(3n);
    expect([...p.read(r, 3)]).toEqual([0x10, 0x10, 0x10]);
  });
});

describe("Userfaultfd.serveAll", () => {
  it("COPY with a base: every pending fault gets its own source page; returns the count, 0 when none", async () => {
    const { uffd, a, src, p } = await setup(4);
    const ts = [p.newThread(), p.newThread(), p.newThread()];
    ts.forEach((t, i) => expect(() => t.load8(a + (3 - i) * PAGE)).toThrow(WouldBlockError));
    expect(uffd.serveAll({ copyFrom: src, base: a })).toBe(3);
    expect(uffd.serveAll({ copyFrom: src, base: a })).toBe(0);
    ts.forEach((t, i) => expect(t.load8(a + (3 - i) * PAGE)).toBe(0x10 + 3 - i));
  });

  it("two faults on one page: the second fill is EEXIST, woken with UFFDIO_WAKE; both loads complete", async () => {
    const { uffd, a, src, p } = await setup(1);
    const t1 = p.newThread(), t2 = p.newThread();
    expect(() => t1.load8(a)).toThrow(WouldBlockError);
    expect(() => t2.load8(a + 100)).toThrow(WouldBlockError);
    expect(uffd.serveAll({ copyFrom: src })).toBe(2);
    expect(Atomics.load(t1.waitWord, 0)).toBe(0);
    expect(Atomics.load(t2.waitWord, 0)).toBe(0);
    expect(t1.load8(a)).toBe(0x10);
    expect(t2.load8(a + 100)).toBe(0x10);
  });

  it("ZEROPAGE and CONTINUE policies", async () => {
    const { uffd, a, f } = await setup(2);
    f.onFault = () => void uffd.serveAll({ zeropage: true });
    expect(f.load8(a + PAGE + 9)).toBe(0);

    // MINOR on a memfd: the page is in the page cache (written through another mapping).
    const { p } = await setup(1);
    const m = p.memfdCreate("minor");
    p.ftruncate(m, 2 * PAGE);
    const alias = p.mmap(0, 2 * PAGE, RW, A.MAP_SHARED, m, 0);
    p.thread.fill(alias, 0x77, 2 * PAGE);
    const view = p.mmap(0, 2 * PAGE, RW, A.MAP_SHARED, m, 0);
    const u2 = p.userfaultfd(A.O_NONBLOCK);
    u2.api(A.UFFD_FEATURE_MINOR_SHMEM);
    u2.register(view, 2 * PAGE, A.UFFDIO_REGISTER_MODE_MINOR);
    const g = p.newThread();
    g.onFault = () => void u2.serveAll({ continue: true });
    expect(g.load8(view + PAGE + 1)).toBe(0x77);
    expect(g.load8(view)).toBe(0x77);
  });

  it("messages that are not faults go to onEvent, or are kept for the next read()", async () => {
    const { uffd, a, src, p } = await setup(4, { features: A.UFFD_FEATURE_EVENT_UNMAP });
    const other = p.newThread();
    expect(() => other.syscall(A.__NR_munmap, a + 2 * PAGE, PAGE)).toThrow(WouldBlockError); // waits for its UNMAP event
    const f = p.newThread();
    expect(() => f.load8(a)).toThrow(WouldBlockError);
    expect(uffd.serveAll({ copyFrom: src })).toBe(1);
    expect(f.load8(a)).toBe(0x10);
    expect(uffd.read()).toEqual([{ event: "unmap", start: a + 2 * PAGE, end: a + 3 * PAGE }]);
    expect(uffd.read()).toEqual([]);

    const seen: UffdMsg[] = [];
    expect(other.syscall(A.__NR_munmap, a + 2 * PAGE, PAGE)).toBe(0n); // the reissue after the read
    expect(() => other.syscall(A.__NR_munmap, a + 3 * PAGE, PAGE)).toThrow(WouldBlockError);
    expect(uffd.serveAll({ copyFrom: src, onEvent: (m) => seen.push(m) })).toBe(0);
    expect(seen).toEqual([{ event: "unmap", start: a + 3 * PAGE, end: a + 4 * PAGE }]);
    expect(uffd.read()).toEqual([]);
  });

  it("an onEvent that throws: the error propagates and the messages after it stay for read(), one read(max) at a time", async () => {
    const { uffd, src, a, p } = await setup(4, { features: A.UFFD_FEATURE_EVENT_UNMAP });
    const t1 = p.newThread(), t2 = p.newThread();
    expect(() => t1.syscall(A.__NR_munmap, a + 2 * PAGE, PAGE)).toThrow(WouldBlockError);
    expect(() => t2.syscall(A.__NR_munmap, a + 3 * PAGE, PAGE)).toThrow(WouldBlockError);
    const boom = new Error("boom");
    expect(() => uffd.serveAll({ copyFrom: src, onEvent: () => { throw boom; } })).toThrow(boom);
    expect(uffd.read(5)).toEqual([{ event: "unmap", start: a + 3 * PAGE, end: a + 4 * PAGE }]);
    expect(uffd.read()).toEqual([]);
  });

  it("a policy with no kind or two kinds is a TypeError; bad numbers a RangeError; a failing fill throws FillError", async () => {
    const { uffd, a, src, f } = await setup(1);
    expect(() => uffd.serveAll({})).toThrow(TypeError);
    expect(() => uffd.serveAll({ copyFrom: src, zeropage: true })).toThrow(TypeError);
    expect(() => uffd.serveAll({ zeropage: true, continue: true })).toThrow(TypeError);
    expect(() => uffd.serveAll({ copyFrom: -4096 })).toThrow(RangeError);
    expect(() => uffd.serveAll({ copyFrom: src, base: 1.5 })).toThrow(RangeError);
    expect(() => uffd.serveAll({ copyFrom: src, mode: 2 ** 60 })).toThrow(RangeError);
    expect(() => f.load8(a)).toThrow(WouldBlockError);
    // CONTINUE of an anonymous page: EINVAL (Linux: CONTINUE is for shmem/hugetlb)
    const e = thrown(() => uffd.serveAll({ continue: true }));
    expect(e).toBeInstanceOf(FillError);
    expect((e as FillError).code).toBe("EINVAL");
    expect(uffd.serveAll({ copyFrom: src })).toBe(0); // the message was consumed by the failed attempt
  });
});

describe("the dedicated kernel entries", () => {
  it("bad arguments are errno values, never traps", async () => {
    const { k, uffd, a, src, f } = await setup(1);
    const x = k.exports;
    const h = f.handle;
    for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 54]) {
      expect(x.uffdio_copy(h, uffd.fd, bad, src, PAGE, 0)).toBe(-A.EINVAL);
      expect(x.uffdio_copy(h, uffd.fd, a, src, PAGE, bad)).toBe(-A.EINVAL);
      expect(x.uffdio_zeropage(h, uffd.fd, a, bad, 0)).toBe(-A.EINVAL);
      expect(x.uffdio_continue(h, uffd.fd, bad, PAGE, 0)).toBe(-A.EINVAL);
      expect(x.uffdio_wake(h, uffd.fd, a, bad)).toBe(-A.EINVAL);
    }
    expect(x.uffdio_copy(h, 999, a, src, PAGE, 0)).toBe(-A.EBADF);
    expect(x.uffdio_copy(h, -1, a, src, PAGE, 0)).toBe(-A.EBADF);
    expect(x.uffdio_copy(h, uffd.fd, a + 1, src, PAGE, 0)).toBe(-A.EINVAL); // unaligned, as Linux
    expect(x.uffdio_zeropage(h, uffd.fd, a, PAGE, 0x80)).toBe(-A.EINVAL); // unknown mode bit
    expect(x.uffd_read_msgs(h, uffd.fd, 0)).toBe(-A.EINVAL);
    expect(x.uffd_read_msgs(h, uffd.fd, A.BOUNCE_SIZE / A.UFFD_MSG_SIZE + 1)).toBe(-A.EINVAL);
    expect(x.uffd_read_msgs(h, uffd.fd, 1)).toBe(-A.EAGAIN);
    expect(x.uffd_read_msgs(h, 999, 1)).toBe(-A.EBADF);
    // Through the typed API: the same errno the raw ioctl path gives.
    expectErrno(() => uffd.copy(a + 1, src, PAGE), "EINVAL");
    expectErrno(() => uffd.wake(a, 1), "EINVAL");
    expect(uffd.copy(a, src, PAGE)).toBe(BigInt(PAGE));
    const e = thrown(() => uffd.copy(a, src, PAGE));
    expect(e).toBeInstanceOf(FillError);
    expect((e as FillError).code).toBe("EEXIST");
    expect((e as FillError).bytes).toBe(-BigInt(A.EEXIST));
    expect(k.checkInvariants()).toBe(true);
  });

  it("the typed calls give the same results through the dedicated entries and through the raw ioctl (strace on)", async () => {
    const run = async (trace: boolean) => {
      const { k, uffd, a, src, f } = await setup(3);
      if (trace) k.trace = () => {};
      const out: unknown[] = [];
      expect(() => f.load8(a)).toThrow(WouldBlockError);
      out.push(uffd.read(1));
      out.push(uffd.copy(a, src, PAGE));
      out.push(uffd.zeropage(a + PAGE, PAGE));
      out.push(thrown(() => uffd.zeropage(a + PAGE, PAGE)));
      out.push(uffd.wake(a, PAGE));
      out.push(uffd.read());
      out.push(f.load8(a), f.load8(a + PAGE));
      return out;
    };
    const fast = await run(false);
    const raw = await run(true);
    expect(fast).toEqual(raw);
  });

  it("a stale handle is ESRCH", async () => {
    const { k, p, uffd, a, src } = await setup(1);
    const t = p.newThread();
    const h = t.handle;
    const u = new Userfaultfd(p, uffd.fd, t);
    expect(t.syscall(A.__NR_exit, 0)).toBe(0n);
    for (const r of [
      k.exports.uffdio_copy(h, uffd.fd, a, src, PAGE, 0), k.exports.uffdio_zeropage(h, uffd.fd, a, PAGE, 0),
      k.exports.uffdio_continue(h, uffd.fd, a, PAGE, 0), k.exports.uffdio_wake(h, uffd.fd, a, PAGE), k.exports.uffd_read_msgs(h, uffd.fd, 1),
    ]) expect(r).toBe(-A.ESRCH);
    expectErrno(() => u.copy(a, src, PAGE), "ESRCH");
    expectErrno(() => u.read(), "ESRCH");
    expectErrno(() => u.serveAll({ zeropage: true }), "ESRCH");
  });

  it("a trap inside one is a KernelPanic naming the entry and its system call; every entry then throws it", async () => {
    const { k, uffd, a, src } = await setup(1);
    expect(k.exports.debug_trap(uffd.thread.handle)).toBe(0);
    const e = thrown(() => uffd.copy(a, src, PAGE));
    expect(e).toBeInstanceOf(KernelPanic);
    const p = e as KernelPanic;
    expect({ entry: p.entry, nr: p.nr, syscall: p.syscall, trap: p.trap }).toEqual({ entry: "uffdio_copy", nr: A.__NR_ioctl, syscall: "ioctl", trap: "unreachable" });
    for (const f of [() => uffd.read(), () => uffd.wake(a, PAGE), () => uffd.zeropage(a, PAGE), () => uffd.continue(a, PAGE), () => uffd.serveAll({ zeropage: true })]) {
      expect(thrown(f)).toBeInstanceOf(KernelPanic);
    }
  });
});

describe("the async scheduler parks on a status", () => {
  it("a userfault parks the body without WouldBlockError; a handler body's serveAll resumes it", async () => {
    const { k, uffd, a, src, p } = await setup(8);
    const h = p.newThread();
    const hu = new Userfaultfd(p, uffd.fd, h);
    const f = p.newThread();
    const mustWait = vi.spyOn(Thread.prototype, "mustWait");
    const got: number[] = [];
    let served = 0;
    await k.run(7, [
      [f, async (t) => {
        for (let i = 0; i < 8; i++) got.push(await t.load8(a + i * PAGE));
        await t.store64(a + 8, 0x0102030405060708n);
        got.push(Number(await t.load64(a + 8)));
      }],
      [h, async (t) => {
        while (served < 8) {
          const n = hu.serveAll({ copyFrom: src, base: a });
          served += n;
          if (n === 0) await t.yield();
        }
      }],
    ]);
    expect(mustWait).not.toHaveBeenCalled();
    mustWait.mockRestore();
    expect(got).toEqual([...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => 0x10 + i), 0x0102030405060708]);
  });

  it("a system call that must wait parks the body and is reissued after the wake", async () => {
    const { k, uffd, a, src, p } = await setup(1);
    const [r, w] = p.pipe();
    const f = p.newThread(), h = p.newThread();
    const hu = new Userfaultfd(p, uffd.fd, h);
    let ret = -1n;
    await k.run(3, [
      [f, async (t) => { ret = await t.syscall(A.__NR_write, w, a, 2); }],
      [h, async (t) => { while (hu.serveAll({ copyFrom: src }) === 0) await t.yield(); }],
    ]);
    expect(ret).toBe(2n);
    expect([...p.read(r, 2)]).toEqual([0x10, 0x10]);
  });
});

describe("Kernel.syscallRaw: the BigInt-free path fills the registers the exact path does", () => {
  const values = [0, 1, -0, -1, 7, 0x7fffffff, -0x80000000, 0x80000000, 0xffffffff, 2 ** 32, 2 ** 32 + 5, 2 ** 48 - 4096, 2 ** 53 - 1,
    2 ** 53, 2 ** 53 + 2, -0x80000001, -(2 ** 40), 2 ** 63, -(2 ** 63), 2 ** 64 - 2048, 1n, -1n, (1n << 64n) - 1n];
  it("every argument register, for numbers and bigints of every range", async () => {
    const { p } = await boot();
    const t = p.thread;
    for (let i = 0; i < values.length; i += 6) {
      const args = values.slice(i, i + 6);
      expect(t.syscall(A.__NR_getpid, ...args)).toBe(BigInt(p.pid));
      for (let j = 0; j < 6; j++) {
        const v = j < args.length ? args[j] : 0;
        const want = BigInt.asUintN(64, typeof v === "bigint" ? v : BigInt(v));
        expect(t.frame.getBigUint64(A.host_frame.arg0 + 8 * j, true), `${String(v)}`).toBe(want);
      }
    }
  });
  it("non-integers, out-of-range values and other types still throw Node's errors", async () => {
    const { p } = await boot();
    const t = p.thread;
    for (const bad of [1.5, -0.5, NaN, Infinity, 2 ** 64, -(2 ** 63) - 4096]) {
      const e = thrown(() => t.syscall(A.__NR_getpid, bad)) as RangeError & { code: string };
      expect(e).toBeInstanceOf(RangeError);
      expect(e.code).toBe("ERR_OUT_OF_RANGE");
    }
    const e = thrown(() => t.syscall(A.__NR_getpid, "1" as unknown as number)) as TypeError & { code: string };
    expect(e.code).toBe("ERR_INVALID_ARG_TYPE");
  });
});
