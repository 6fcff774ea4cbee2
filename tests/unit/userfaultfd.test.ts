// userfaultfd: creation, UFFDIO_API, REGISTER, and faults that block until a fill wakes them,
// in both thread modes.
import { describe, it, expect } from "vitest";
import { boot, RW, ANON, PAGE, A, expectErrno } from "../helpers/kernel.js";
import { CAP_SYS_PTRACE, FillError, Userfaultfd, runInWorker, WouldBlockError } from "../../host-ts/index.js";

const O_NONBLOCK = A.O_NONBLOCK;

async function setup(mode: bigint = A.UFFDIO_REGISTER_MODE_MISSING) {
  const { k, p } = await boot();
  const uffd = p.userfaultfd(O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
  uffd.api();
  const a = p.mmap(0, 4 * PAGE, RW, ANON);
  const ioctls = uffd.register(a, 4 * PAGE, mode);
  return { k, p, uffd, a, ioctls };
}

describe("creation and UFFDIO_API", () => {
  it("checks permission before flags, and flags after", async () => {
    const { k, p } = await boot();
    expectErrno(() => p.userfaultfd(0), "EPERM");
    expectErrno(() => p.userfaultfd(0x40), "EPERM");
    expectErrno(() => p.userfaultfd(A.UFFD_USER_MODE_ONLY | 0x40), "EINVAL");
    const priv = k.spawn({ caps: CAP_SYS_PTRACE });
    expectErrno(() => priv.userfaultfd(0x40), "EINVAL");
    const u = priv.userfaultfd(A.O_CLOEXEC);
    expect(priv.fcntl(u.fd, A.F_GETFD)).toBe(A.FD_CLOEXEC);
    expect(priv.fcntl(u.fd, A.F_GETFL) & A.O_ACCMODE).toBe(A.O_RDONLY);
    expectErrno(() => priv.write(u.fd, new Uint8Array(8)), "EBADF");
    expect(k.checkInvariants()).toBe(true);
  });

  it("reports 0x1ffff and the API ioctls; a second call fails with a zeroed structure", async () => {
    const { p } = await boot();
    const u = p.userfaultfd(A.UFFD_USER_MODE_ONLY);
    expectErrno(() => u.wake(0x10000, PAGE), "EINVAL"); // nothing but UFFDIO_API before it
    const bad = p.ioctl(u.fd, A.UFFDIO_API, new Uint8Array(24).fill(0xab));
    expect(bad.ret).toBe(-BigInt(A.EINVAL));
    expect([...bad.bytes]).toEqual(new Array(24).fill(0));
    expect(u.api(A.UFFD_FEATURE_WP_ASYNC)).toEqual({ features: 0x1ffffn, ioctls: 0x8000000000000003n });
    const again = new Uint8Array(24);
    new DataView(again.buffer).setBigUint64(0, 0xaan, true);
    const r = p.ioctl(u.fd, A.UFFDIO_API, again);
    expect(r.ret).toBe(-BigInt(A.EINVAL));
    expect([...r.bytes]).toEqual(new Array(24).fill(0));
    // the privilege check (EVENT_FORK without CAP_SYS_PTRACE: EPERM) comes before the already-initialised one
    expectErrno(() => u.api(A.UFFD_FEATURE_EVENT_FORK), "EPERM");
    expectErrno(() => u.api(), "EINVAL");
  });

  it("refuses EVENT_FORK without CAP_SYS_PTRACE, and unknown feature bits", async () => {
    const { p } = await boot();
    const u = p.userfaultfd(A.UFFD_USER_MODE_ONLY);
    expectErrno(() => u.api(A.UFFD_FEATURE_EVENT_FORK), "EPERM");
    expectErrno(() => u.api(1n << 63n), "EINVAL");
    expect(u.api().features).toBe(0x1ffffn); // the failed calls left it uninitialised
  });

  it("read() before UFFDIO_API is EINVAL; a short buffer is EINVAL; nothing pending is EAGAIN", async () => {
    const { p } = await boot();
    const u = p.userfaultfd(A.UFFD_USER_MODE_ONLY | O_NONBLOCK);
    const buf = p.mmap(0, PAGE, RW, ANON);
    expect(p.syscall(A.__NR_read, u.fd, buf, 32)).toBe(-BigInt(A.EINVAL));
    u.api();
    expect(p.syscall(A.__NR_read, u.fd, buf, 16)).toBe(-BigInt(A.EINVAL));
    expect(p.syscall(A.__NR_read, u.fd, buf, 32)).toBe(-BigInt(A.EAGAIN));
    expect(u.read()).toEqual([]);
  });
});

describe("UFFDIO_REGISTER", () => {
  it.each([
    [1, 0x13cn, 0x13cn], [2, 0x17cn, 0x17cn], [3, 0x17cn, 0x17cn], [4, "EINVAL", 0x1bcn],
    [5, "EINVAL", 0x1bcn], [6, "EINVAL", 0x1fcn], [7, "EINVAL", 0x1fcn],
  ] as const)("mode %i: anon %s, shmem %s", async (mode, anon, shmem) => {
    const { k, p } = await boot();
    const u = p.userfaultfd(A.UFFD_USER_MODE_ONLY);
    u.api();
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    const fd = p.memfdCreate("m");
    p.ftruncate(fd, 2 * PAGE);
    const s = p.mmap(0, 2 * PAGE, RW, A.MAP_SHARED, fd, 0);
    if (typeof anon === "string") expectErrno(() => u.register(a, 2 * PAGE, mode), anon);
    else expect(u.register(a, 2 * PAGE, mode)).toBe(anon);
    expect(u.register(s, 2 * PAGE, mode)).toBe(shmem);
    expect(k.checkInvariants()).toBe(true);
  });

  it("rejects bad modes and ranges, needs a VMA, allows holes, EBUSY for another ctx, EPERM without VM_MAYWRITE", async () => {
    const { p } = await boot();
    const u = p.userfaultfd(A.UFFD_USER_MODE_ONLY);
    u.api();
    const a = p.mmap(0, 4 * PAGE, RW, ANON);
    expectErrno(() => u.register(a, PAGE, 0), "EINVAL");
    expectErrno(() => u.register(a, PAGE, 8), "EINVAL");
    expectErrno(() => u.register(a + 1, PAGE, 1), "EINVAL");
    expectErrno(() => u.register(a, 0, 1), "EINVAL");
    p.munmap(a + PAGE, PAGE);
    expect(u.register(a, 4 * PAGE, 1)).toBe(0x13cn);
    expectErrno(() => u.register(a + PAGE, PAGE, 1), "EINVAL"); // only a hole
    const u2 = p.userfaultfd(A.UFFD_USER_MODE_ONLY);
    u2.api();
    expectErrno(() => u2.register(a, PAGE, 1), "EBUSY");
    expectErrno(() => u2.unregister(a, PAGE), "EINVAL");
    const fd = p.memfdCreate("ro");
    p.ftruncate(fd, PAGE);
    const ro = p.open(`/proc/self/fd/${fd}`, A.O_RDONLY);
    const m = p.mmap(0, PAGE, A.PROT_READ, A.MAP_SHARED, ro, 0);
    expectErrno(() => u.register(m, PAGE, 1), "EPERM");
    // registration splits VMAs at the range edges and UNREGISTER merges them back
    const b = p.mmap(0, 3 * PAGE, RW, ANON);
    u.register(b + PAGE, PAGE, 1);
    expect(p.vmas().filter((v) => v.start >= b && v.end <= b + 3 * PAGE)).toHaveLength(3);
    u.unregister(b, 3 * PAGE);
    expect(p.vmas().filter((v) => v.start >= b && v.end <= b + 3 * PAGE)).toHaveLength(1);
  });
});

describe("COPY and ZEROPAGE", () => {
  it("COPY resolves a page; again is EEXIST (copy = -17); a partial copy is EAGAIN with the bytes done", async () => {
    const { k, p, uffd, a } = await setup();
    const src = p.mmap(0, 4 * PAGE, RW, ANON);
    p.thread.fill(src, 0x5a, 4 * PAGE);
    expect(uffd.copy(a, src, PAGE)).toBe(BigInt(PAGE));
    expect(p.thread.load8(a + 100)).toBe(0x5a);
    const e = (() => { try { uffd.copy(a, src, PAGE); } catch (x) { return x as FillError; } })()!;
    expect(e.code).toBe("EEXIST");
    expect(e.bytes).toBe(-17n);
    uffd.copy(a + 3 * PAGE, src, PAGE);
    const part = (() => { try { uffd.copy(a + 2 * PAGE, src, 2 * PAGE); } catch (x) { return x as FillError; } })()!;
    expect(part.code).toBe("EAGAIN");
    expect(part.bytes).toBe(BigInt(PAGE));
    expect(k.checkInvariants()).toBe(true);
  });

  it("COPY to an unregistered page is ENOENT; from an unmapped source EFAULT; bad mode EINVAL with the out-field untouched", async () => {
    const { p, uffd, a } = await setup();
    const plain = p.mmap(0, PAGE, RW, ANON);
    const src = p.mmap(0, PAGE, RW, ANON);
    const e1 = (() => { try { uffd.copy(plain, src, PAGE); } catch (x) { return x as FillError; } })()!;
    expect([e1.code, e1.bytes]).toEqual(["ENOENT", -2n]);
    const e2 = (() => { try { uffd.copy(a, 0x10000, PAGE); } catch (x) { return x as FillError; } })()!;
    expect([e2.code, e2.bytes]).toEqual(["EFAULT", -14n]);
    const raw = new Uint8Array(40);
    const dv = new DataView(raw.buffer);
    dv.setBigUint64(0, BigInt(a), true); dv.setBigUint64(8, BigInt(src), true); dv.setBigUint64(16, BigInt(PAGE), true);
    dv.setBigUint64(24, 8n, true); dv.setBigInt64(32, 0x1234n, true);
    const r = p.ioctl(uffd.fd, A.UFFDIO_COPY, raw);
    expect(r.ret).toBe(-BigInt(A.EINVAL));
    expect(new DataView(r.bytes.buffer).getBigInt64(32, true)).toBe(0x1234n);
  });

  it("ZEROPAGE maps the zero page; again is EEXIST; a later write copies it without a userfault", async () => {
    const { k, p, uffd, a } = await setup();
    expect(uffd.zeropage(a, PAGE)).toBe(BigInt(PAGE));
    expect(p.thread.load32(a)).toBe(0);
    const e = (() => { try { uffd.zeropage(a, PAGE); } catch (x) { return x as FillError; } })()!;
    expect([e.code, e.bytes]).toEqual(["EEXIST", -17n]);
    p.thread.store32(a, 9);
    expect(p.thread.load32(a)).toBe(9);
    expect(uffd.read()).toEqual([]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("shmem: COPY inserts into the page cache (st_blocks), at/after EOF is EFAULT", async () => {
    const { k, p } = await boot();
    const u = p.userfaultfd(A.UFFD_USER_MODE_ONLY);
    u.api();
    const fd = p.memfdCreate("s");
    p.ftruncate(fd, PAGE);
    const s = p.mmap(0, 2 * PAGE, RW, A.MAP_SHARED, fd, 0);
    u.register(s, 2 * PAGE, 1);
    const src = p.mmap(0, PAGE, RW, ANON);
    p.thread.fill(src, 7, PAGE);
    expect(u.copy(s, src, PAGE)).toBe(BigInt(PAGE));
    expect(p.fstat(fd).blocks).toBe(8n);
    expect(p.pread(fd, 1, 0)[0]).toBe(7);
    const e = (() => { try { u.copy(s + PAGE, src, PAGE); } catch (x) { return x as FillError; } })()!;
    expect([e.code, e.bytes]).toEqual(["EFAULT", -14n]);
    const z = (() => { try { u.zeropage(s + PAGE, PAGE); } catch (x) { return x as FillError; } })()!;
    expect([z.code, z.bytes]).toEqual(["EFAULT", -14n]);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("blocking faults", () => {
  it("async threads: a read fault blocks, the handler reads the message and COPYs, the reader resumes", async () => {
    const { k, p, uffd, a } = await setup();
    const src = p.mmap(0, PAGE, RW, ANON);
    p.thread.fill(src, 0x42, PAGE);
    const faulter = p.newThread();
    const handler = p.newThread();
    const hu = new Userfaultfd(p, uffd.fd, handler);
    const seen: unknown[] = [];
    let got = -1;
    const schedule = await k.run(1, [
      [faulter, async (t) => { got = await t.load8(a + PAGE + 5); }],
      [handler, async (t) => {
        for (;;) {
          const msgs = hu.read();
          if (msgs.length) {
            seen.push(...msgs);
            await t.op(() => hu.copy(a + PAGE, src, PAGE));
            return;
          }
          await t.yield();
        }
      }],
    ]);
    expect(got).toBe(0x42);
    expect(seen).toEqual([{ event: "pagefault", flags: 0n, address: a + PAGE, ptid: 0 }]);
    expect(schedule.length).toBeGreaterThan(2);
    expect(k.checkInvariants()).toBe(true);
  });

  it("the synchronous API throws WouldBlockError; a write fault's message has the WRITE flag; WAKE lets it retry", async () => {
    const { k, p, uffd, a } = await setup();
    const t = p.newThread();
    expect(() => t.store8(a, 1)).toThrow(WouldBlockError);
    const msgs = uffd.read();
    expect(msgs).toEqual([{ event: "pagefault", flags: BigInt(A.UFFD_PAGEFAULT_FLAG_WRITE), address: a, ptid: 0 }]);
    // Re-entering abandons the old wait (as a signal would); the retried access queues anew.
    expect(() => t.store8(a, 1)).toThrow(WouldBlockError);
    expect(uffd.read()).toHaveLength(1);
    uffd.zeropage(a, PAGE);
    t.store8(a, 1);
    expect(t.load8(a)).toBe(1);
    expect(k.checkInvariants()).toBe(true);
  });

  it("two threads faulting on one page give two messages; one COPY wakes both", async () => {
    const { k, p, uffd, a } = await setup();
    const src = p.mmap(0, PAGE, RW, ANON);
    p.thread.fill(src, 3, PAGE);
    const [t1, t2, h] = [p.newThread(), p.newThread(), p.newThread()];
    const hu = new Userfaultfd(p, uffd.fd, h);
    const vals: number[] = [];
    let nmsg = 0;
    await k.run(7, [
      [t1, async (t) => { vals.push(await t.load8(a)); }],
      [t2, async (t) => { vals.push(await t.load8(a + 9)); }],
      [h, async (t) => {
        while (nmsg < 2) { nmsg += hu.read().length; await t.yield(); }
        hu.copy(a, src, PAGE);
      }],
    ]);
    expect(nmsg).toBe(2);
    expect(vals).toEqual([3, 3]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a fault nobody resolves is a DeadlockError, not a hang", async () => {
    const { k, p, a } = await setup();
    const t = p.newThread();
    await expect(k.run(3, [[t, async (x) => { await x.load8(a); }]])).rejects.toThrow(/deadlock/);
  });

  it("UNREGISTER wakes faulters of a MISSING-registered range; they retry against the plain VMA", async () => {
    const { k, p, uffd, a } = await setup();
    const t = p.newThread();
    const h = p.newThread();
    const hu = new Userfaultfd(p, uffd.fd, h);
    let v = -1;
    await k.run(5, [
      [t, async (x) => { v = await x.load8(a); }],
      [h, async (x) => { while (hu.read().length === 0) await x.yield(); hu.unregister(a, 4 * PAGE); }],
    ]);
    expect(v).toBe(0);
    expect(k.checkInvariants()).toBe(true);
  });

  it("close() releases the ctx: registrations go and blocked faulters are woken", async () => {
    const { k, p, uffd, a } = await setup();
    const t = p.newThread();
    const h = p.newThread();
    let v = -1;
    await k.run(9, [
      [t, async (x) => { v = await x.load8(a + 2 * PAGE); }],
      [h, async (x) => { while (uffd.read().length === 0) await x.yield(); uffd.close(); }],
    ]);
    expect(v).toBe(0);
    expect(p.vmas().every((m) => (m.flags & A.VM_UFFD_MISSING) === 0n)).toBe(true);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a blocking read() waits for a message (async threads)", async () => {
    const { k, p } = await boot();
    const u = p.userfaultfd(A.UFFD_USER_MODE_ONLY); // blocking fd
    u.api();
    const a = p.mmap(0, PAGE, RW, ANON);
    u.register(a, PAGE, 1);
    const [reader, faulter] = [p.newThread(), p.newThread()];
    const buf = p.mmap(0, PAGE, RW, ANON);
    p.thread.store8(buf, 0); // fault the buffer in before anything is registered near it
    let n = 0n;
    await k.run(2, [
      [reader, async (t) => {
        n = await t.syscall(A.__NR_read, u.fd, buf, 32);
        new Userfaultfd(p, u.fd, t.thread).zeropage(a, PAGE);
      }],
      [faulter, async (t) => { await t.load8(a); }],
    ]);
    expect(n).toBe(32n);
    expect(p.thread.load8(buf)).toBe(A.UFFD_EVENT_PAGEFAULT);
    expect(k.checkInvariants()).toBe(true);
    expect(() => p.thread.syscall(A.__NR_read, u.fd, buf, 32)).toThrow(WouldBlockError);
  });

  it("worker threads: a worker's fault parks it in Atomics.wait until the main thread COPYs", async () => {
    const { k, p, uffd, a } = await setup();
    const src = p.mmap(0, PAGE, RW, ANON);
    p.thread.store32(src, 0xc0ffee);
    const w = runInWorker<number>(k, p.newThread(), new URL("./fixtures/worker-fault.mjs", import.meta.url), { addr: a });
    let msgs: ReturnType<Userfaultfd["read"]> = [];
    const deadline = Date.now() + 10_000;
    while (msgs.length === 0 && Date.now() < deadline) {
      msgs = uffd.read();
      if (!msgs.length) await new Promise((r) => setTimeout(r, 1));
    }
    expect(msgs).toHaveLength(1);
    uffd.copy(a, src, PAGE);
    expect(await w).toBe(0xc0ffee);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("WAKE", () => {
  it("rejects len 0 and succeeds on an unmapped range", async () => {
    const { uffd } = await setup();
    expectErrno(() => uffd.wake(0x10000, 0), "EINVAL");
    uffd.wake(0x10000, PAGE);
  });
});

describe("system calls touching registered memory: the kernel's user copy waits for the userfault like a user access", () => {
  it("read() from a pipe into a registered buffer waits for the fault and loses no data", async () => {
    // Kernel-mode faults reach a ctx only without UFFD_USER_MODE_ONLY, which needs CAP_SYS_PTRACE.
    const { k } = await boot();
    const p = k.spawn({ caps: CAP_SYS_PTRACE });
    const uffd = p.userfaultfd(A.O_NONBLOCK);
    uffd.api();
    const a = p.mmap(0, PAGE, RW, ANON);
    uffd.register(a, PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
    const [r, w] = p.pipe();
    p.write(w, new Uint8Array([1, 2, 3]));
    const [reader, handler] = [p.newThread(), p.newThread()];
    const hu = new Userfaultfd(p, uffd.fd, handler);
    let n = 0n;
    const msgs: unknown[] = [];
    await k.run(11, [
      [reader, async (t) => { n = await t.syscall(A.__NR_read, r, a, 3); }],
      [handler, async (t) => {
        for (let i = 0; i < 1000; i++) {
          const m = hu.read();
          if (m.length) { msgs.push(...m); hu.zeropage(a, PAGE); return; }
          await t.yield();
        }
        throw new Error("no message arrived");
      }],
    ]);
    expect(n).toBe(3n);
    expect([...p.thread.read(a, 3)]).toEqual([1, 2, 3]);
    // the kernel writes into the buffer: the message carries the WRITE flag
    expect(msgs).toEqual([{ event: "pagefault", flags: BigInt(A.UFFD_PAGEFAULT_FLAG_WRITE), address: a, ptid: 0 }]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("with UFFD_USER_MODE_ONLY the same read() fails with EFAULT and queues no message", async () => {
    const { k, p, uffd, a } = await setup();
    const [r, w] = p.pipe();
    p.write(w, new Uint8Array([1, 2, 3]));
    expect(p.syscall(A.__NR_read, r, a, 3)).toBe(-BigInt(A.EFAULT));
    expect(uffd.read()).toEqual([]);
    expect([...p.read(r, 3)]).toEqual([1, 2, 3]); // the failed read consumed nothing
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("an ioctl argument in registered memory", () => {
  it("waits for its page like any kernel access, then the reissued call completes", async () => {
    const { k } = await boot();
    const p = k.spawn({ caps: CAP_SYS_PTRACE });
    const uffd = p.userfaultfd(A.O_NONBLOCK);
    uffd.api();
    const r = p.mmap(0, 2 * PAGE, RW, ANON);
    uffd.register(r, 2 * PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
    // The page the handler will install: a struct uffdio_range { start, len } for WAKE.
    const src = p.mmap(0, PAGE, RW, ANON);
    p.thread.store64(src, BigInt(r));
    p.thread.store64(src + 8, BigInt(PAGE));
    const [caller, handler] = [p.newThread(), p.newThread()];
    const hu = new Userfaultfd(p, uffd.fd, handler);
    let ret = -1n;
    const seen: unknown[] = [];
    await k.run(13, [
      [caller, async (t) => { ret = await t.syscall(A.__NR_ioctl, uffd.fd, A.UFFDIO_WAKE, r + PAGE); }],
      [handler, async (t) => {
        for (let i = 0; i < 1000; i++) {
          const m = hu.read();
          if (m.length) { seen.push(...m); hu.copy(r + PAGE, src, PAGE); return; }
          await t.yield();
        }
        throw new Error("no message arrived");
      }],
    ]);
    expect(ret).toBe(0n);
    expect(seen).toEqual([{ event: "pagefault", flags: 0n, address: r + PAGE, ptid: 0 }]);
    expect(k.checkInvariants()).toBe(true);
  });
});
