// userfaultfd write protection: UFFDIO_WRITEPROTECT, WP faults, WP_UNPOPULATED, WP_ASYNC,
// and how fork, COPY_MODE_WP, UNREGISTER, mprotect and MADV_DONTNEED treat the protection
// (the wp-unpopulated, wp-fork and minor-wp cases of uffd-unit-tests cover part of it on Linux).
import { describe, it, expect } from "vitest";
import { boot, RW, ANON, PAGE, A, expectErrno } from "../helpers/kernel.js";
import { CAP_SYS_PTRACE, Userfaultfd, WouldBlockError, type Process, type Kernel } from "../../host-ts/index.js";

const WP = A.UFFDIO_REGISTER_MODE_WP;
const MISSING = A.UFFDIO_REGISTER_MODE_MISSING;
const PROTECT = A.UFFDIO_WRITEPROTECT_MODE_WP;
const DONTWAKE = A.UFFDIO_WRITEPROTECT_MODE_DONTWAKE;
const WP_WRITE = BigInt(A.UFFD_PAGEFAULT_FLAG_WP | A.UFFD_PAGEFAULT_FLAG_WRITE);

async function setup(opts: { mode?: bigint; features?: bigint; pages?: number; shmem?: boolean } = {}) {
  const { k, p } = await boot();
  const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
  uffd.api(opts.features ?? 0n);
  const n = opts.pages ?? 4;
  let a: number;
  let fd = -1;
  if (opts.shmem) {
    fd = p.memfdCreate("wp");
    p.ftruncate(fd, n * PAGE);
    a = p.mmap(0, n * PAGE, RW, A.MAP_SHARED, fd, 0);
  } else {
    a = p.mmap(0, n * PAGE, RW, ANON);
  }
  return { k, p, uffd, a, fd, n, ioctls: uffd.register(a, n * PAGE, opts.mode ?? WP) };
}

/** A write from a fresh thread that must block on a userfault: returns the message(s). */
function expectBlockedWrite(p: Process, uffd: Userfaultfd, addr: number) {
  const t = p.newThread();
  expect(() => t.store8(addr, 0x5a)).toThrow(WouldBlockError);
  return { t, msgs: uffd.read() };
}

function ok(k: Kernel) { expect(k.checkInvariants()).toBe(true); }

/** The handler side of k.run: yield until messages arrive (bounded, so a bug fails instead of spinning). */
async function nextMsgs(hu: Userfaultfd, t: { yield(): Promise<void> }) {
  for (let i = 0; i < 1000; i++) {
    const m = hu.read();
    if (m.length) return m;
    await t.yield();
  }
  throw new Error("no userfaultfd message");
}

describe("UFFDIO_WRITEPROTECT argument checks", () => {
  it("WP|DONTWAKE and unknown mode bits are EINVAL; bad ranges are EINVAL", async () => {
    const { k, uffd, a } = await setup();
    expect(uffd.register(a, PAGE, WP)).toBe(0x17cn);
    expectErrno(() => uffd.writeProtect(a, PAGE, PROTECT | DONTWAKE), "EINVAL");
    expectErrno(() => uffd.writeProtect(a, PAGE, 4), "EINVAL");
    expectErrno(() => uffd.writeProtect(a + 1, PAGE, PROTECT), "EINVAL");
    expectErrno(() => uffd.writeProtect(a, 0, PROTECT), "EINVAL");
    expectErrno(() => uffd.writeProtect(a, PAGE + 1, PROTECT), "EINVAL");
    uffd.writeProtect(a, PAGE, PROTECT);
    uffd.writeProtect(a, PAGE, DONTWAKE);
    uffd.writeProtect(a, PAGE, 0);
    ok(k);
  });

  it("a MISSING-only VMA is ENOENT; a range with no VMA is ENOENT", async () => {
    const { k, p, uffd, a } = await setup({ mode: MISSING });
    expectErrno(() => uffd.writeProtect(a, PAGE, PROTECT), "ENOENT");
    expectErrno(() => uffd.writeProtect(a, PAGE, 0), "ENOENT");
    const hole = p.mmap(0, PAGE, RW, ANON);
    p.munmap(hole, PAGE);
    expectErrno(() => uffd.writeProtect(hole, PAGE, PROTECT), "ENOENT");
    ok(k);
  });

  it("the struct is 24 bytes and nothing but UFFDIO_API works before UFFDIO_API", async () => {
    const { p } = await boot();
    expect(A.uffdio_writeprotect.SIZEOF).toBe(24);
    const u = p.userfaultfd(A.UFFD_USER_MODE_ONLY);
    expectErrno(() => u.writeProtect(0x10000, PAGE, PROTECT), "EINVAL");
  });

  it("not atomic: [WP][unregistered] protects the first page; [unregistered][WP] protects nothing", async () => {
    const { k, p } = await boot();
    const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    uffd.api();
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    p.thread.store8(a, 1);
    p.thread.store8(a + PAGE, 1);
    uffd.register(a, PAGE, WP);
    expectErrno(() => uffd.writeProtect(a, 2 * PAGE, PROTECT), "ENOENT");
    expect(expectBlockedWrite(p, uffd, a).msgs).toEqual([{ event: "pagefault", flags: WP_WRITE, address: a, ptid: 0 }]);

    const b = p.mmap(0, 2 * PAGE, RW, ANON);
    p.thread.store8(b, 1);
    p.thread.store8(b + PAGE, 1);
    uffd.register(b + PAGE, PAGE, WP);
    expectErrno(() => uffd.writeProtect(b, 2 * PAGE, PROTECT), "ENOENT");
    p.newThread().store8(b + PAGE, 2); // not protected
    expect(uffd.read()).toEqual([]);
    ok(k);
  });

  it("holes inside the range are skipped; another userfaultfd of the same mm may protect", async () => {
    const { k, p, uffd, a } = await setup();
    p.thread.store8(a + 3 * PAGE, 1);
    uffd.writeProtect(a, 4 * PAGE, PROTECT); // a registered range with PTE holes
    const u2 = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    u2.api();
    u2.writeProtect(a, 4 * PAGE, 0);
    u2.writeProtect(a, 4 * PAGE, PROTECT);
    const b = p.mmap(0, 3 * PAGE, RW, ANON);
    uffd.register(b, PAGE, WP);
    uffd.register(b + 2 * PAGE, PAGE, WP);
    p.munmap(b + PAGE, PAGE);
    uffd.writeProtect(b, 3 * PAGE, PROTECT); // a VMA hole is skipped
    ok(k);
  });

  it("mm gone: ESRCH", async () => {
    const { k } = await boot();
    const c = k.spawn();
    const u = c.userfaultfd(A.UFFD_USER_MODE_ONLY);
    u.api();
    const a = c.mmap(0, PAGE, RW, ANON);
    u.register(a, PAGE, WP);
    // the fork child's copy of the fd outlives the creator and still serves its (now dead) mm
    const child = c.fork();
    c.exit(0);
    const cu = new Userfaultfd(child, u.fd);
    expectErrno(() => cu.writeProtect(a, PAGE, PROTECT), "ESRCH");
    expectErrno(() => cu.writeProtect(a, PAGE, 0), "ESRCH");
    expectErrno(() => cu.writeProtect(a, PAGE, PROTECT | DONTWAKE), "EINVAL"); // mode checks come first
    ok(k);
  });
});

describe("WP faults", () => {
  it("a write to a protected page blocks with WP|WRITE; reads never fault; resolving lets it through", async () => {
    const { k, p, uffd, a } = await setup();
    p.thread.store8(a, 7);
    uffd.writeProtect(a, PAGE, PROTECT);
    const r = p.newThread();
    expect(r.load8(a)).toBe(7);
    expect(uffd.read()).toEqual([]);
    const { t, msgs } = expectBlockedWrite(p, uffd, a + 5);
    expect(msgs).toEqual([{ event: "pagefault", flags: WP_WRITE, address: a, ptid: 0 }]);
    ok(k);
    uffd.writeProtect(a, PAGE, 0);
    t.store8(a + 5, 9);
    expect(p.thread.load8(a)).toBe(7);
    expect(p.thread.load8(a + 5)).toBe(9);
    // resolved: further writes need no fault
    p.newThread().store8(a + 6, 1);
    expect(uffd.read()).toEqual([]);
    ok(k);
  });

  it("the zero page can be protected; resolving leaves it read-only and a write copies it", async () => {
    const { k, p, uffd, a } = await setup();
    expect(p.thread.load8(a)).toBe(0); // zero page
    uffd.writeProtect(a, PAGE, PROTECT);
    expect(expectBlockedWrite(p, uffd, a).msgs[0]).toMatchObject({ flags: WP_WRITE, address: a });
    ok(k);
    uffd.writeProtect(a, PAGE, 0);
    p.newThread().store8(a, 3);
    expect(p.thread.load8(a)).toBe(3);
    ok(k);
  });

  it("async threads: the writer blocks until the handler unprotects", async () => {
    const { k, p, uffd, a } = await setup();
    p.thread.store32(a + PAGE, 0x11223344);
    uffd.writeProtect(a, 4 * PAGE, PROTECT);
    const [w, h] = [p.newThread(), p.newThread()];
    const hu = new Userfaultfd(p, uffd.fd, h);
    const seen: unknown[] = [];
    await k.run(4, [
      [w, async (t) => { await t.store8(a + PAGE + 1, 0xee); }],
      [h, async (t) => {
        seen.push(...await nextMsgs(hu, t));
        await t.op(() => hu.writeProtect(a + PAGE, PAGE, 0));
      }],
    ]);
    expect(seen).toEqual([{ event: "pagefault", flags: WP_WRITE, address: a + PAGE, ptid: 0 }]);
    expect(p.thread.load32(a + PAGE)).toBe(0x1122ee44);
    ok(k);
  });

  it("async threads: DONTWAKE resolves without waking; an explicit WAKE then lets the writer go", async () => {
    const { k, p, uffd, a } = await setup();
    p.thread.store8(a, 1);
    uffd.writeProtect(a, PAGE, PROTECT);
    const [w, h] = [p.newThread(), p.newThread()];
    const hu = new Userfaultfd(p, uffd.fd, h);
    let done = false;
    let doneAtWake: boolean | undefined;
    await k.run(11, [
      [w, async (t) => { await t.store8(a, 2); done = true; }],
      [h, async (t) => {
        await nextMsgs(hu, t);
        await t.op(() => hu.writeProtect(a, PAGE, DONTWAKE));
        for (let i = 0; i < 10; i++) await t.yield();
        doneAtWake = done;
        hu.wake(a, PAGE);
      }],
    ]);
    expect(doneAtWake).toBe(false);
    expect(done).toBe(true);
    expect(p.thread.load8(a)).toBe(2);
    ok(k);
  });

  it("a fault nobody resolves is a DeadlockError", async () => {
    const { k, p, uffd, a } = await setup();
    p.thread.store8(a, 1);
    uffd.writeProtect(a, PAGE, PROTECT);
    await expect(k.run(3, [[p.newThread(), async (x) => { await x.store8(a, 2); }]])).rejects.toThrow(/deadlock/);
  });

  it("a system call writing into a protected buffer waits like any other fault (EFAULT with USER_MODE_ONLY)", async () => {
    const { k } = await boot();
    const p = k.spawn({ caps: CAP_SYS_PTRACE });
    const uffd = p.userfaultfd(A.O_NONBLOCK);
    uffd.api();
    const a = p.mmap(0, PAGE, RW, ANON);
    uffd.register(a, PAGE, WP);
    p.thread.store8(a, 1);
    uffd.writeProtect(a, PAGE, PROTECT);
    {
      const um = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
      um.api();
      const b = p.mmap(0, PAGE, RW, ANON);
      um.register(b, PAGE, WP);
      p.thread.store8(b, 1);
      um.writeProtect(b, PAGE, PROTECT);
      const mf = p.memfdCreate("src");
      p.pwrite(mf, new Uint8Array([1]), 0);
      expect(p.syscall(A.__NR_pread64, mf, b, 1, 0)).toBe(-BigInt(A.EFAULT));
      expect(um.read()).toEqual([]);
    }
    // (a pipe would lose its bytes: pipe reads consume before the copy, see the report)
    const rfd = p.memfdCreate("src");
    p.pwrite(rfd, new Uint8Array([4, 5, 6]), 0);
    const [r, h] = [p.newThread(), p.newThread()];
    const hu = new Userfaultfd(p, uffd.fd, h);
    let n = 0n;
    await k.run(5, [
      [r, async (t) => { n = await t.syscall(A.__NR_pread64, rfd, a, 3, 0); }],
      [h, async (t) => {
        const m = await nextMsgs(hu, t);
        expect(m[0]).toMatchObject({ flags: WP_WRITE, address: a });
        hu.writeProtect(a, PAGE, 0);
      }],
    ]);
    expect(n).toBe(3n);
    expect([p.thread.load8(a), p.thread.load8(a + 2)]).toEqual([4, 6]);
    ok(k);
  });
});

describe("markers: WP_UNPOPULATED, shmem (uffd-unit-tests wp-unpopulated)", () => {
  it("without WP_UNPOPULATED an empty anonymous PTE is not protected", async () => {
    const { k, p, uffd, a } = await setup();
    uffd.writeProtect(a, PAGE, PROTECT);
    p.newThread().store8(a, 1);
    expect(uffd.read()).toEqual([]);
    ok(k);
  });

  it("with WP_UNPOPULATED an empty PTE gets a marker: a write is a WP fault, a read maps the zero page", async () => {
    const { k, p, uffd, a } = await setup({ features: A.UFFD_FEATURE_WP_UNPOPULATED });
    uffd.writeProtect(a, 2 * PAGE, PROTECT);
    ok(k);
    expect(p.newThread().load8(a + PAGE)).toBe(0); // no block
    expect(uffd.read()).toEqual([]);
    const { t, msgs } = expectBlockedWrite(p, uffd, a);
    expect(msgs).toEqual([{ event: "pagefault", flags: WP_WRITE, address: a, ptid: 0 }]);
    // the zero page mapped by the read kept the protection
    expect(expectBlockedWrite(p, uffd, a + PAGE).msgs[0]).toMatchObject({ flags: WP_WRITE, address: a + PAGE });
    uffd.writeProtect(a, 2 * PAGE, 0);
    t.store8(a, 3);
    p.newThread().store8(a + PAGE, 4);
    expect([p.thread.load8(a), p.thread.load8(a + PAGE)]).toEqual([3, 4]);
    ok(k);
  });

  it("unprotect removes the marker; MADV_DONTNEED on anonymous memory drops markers and protected pages", async () => {
    const { k, p, uffd, a } = await setup({ features: A.UFFD_FEATURE_WP_UNPOPULATED });
    uffd.writeProtect(a, PAGE, PROTECT);
    uffd.writeProtect(a, PAGE, 0);
    p.newThread().store8(a, 1);
    expect(uffd.read()).toEqual([]);
    uffd.writeProtect(a, 2 * PAGE, PROTECT); // a protected page and a marker
    p.madvise(a, 2 * PAGE, A.MADV_DONTNEED);
    ok(k);
    p.newThread().store8(a, 1);
    p.newThread().store8(a + PAGE, 1);
    expect(uffd.read()).toEqual([]);
    ok(k);
  });

  it("MISSING|WP: a read of a marker is a MISSING fault (flags 0); a write to a hole reports WRITE only", async () => {
    const { k, p, uffd, a } = await setup({ mode: MISSING | WP, features: A.UFFD_FEATURE_WP_UNPOPULATED });
    uffd.writeProtect(a, PAGE, PROTECT);
    const r = p.newThread();
    expect(() => r.load8(a)).toThrow(WouldBlockError);
    expect(uffd.read()).toEqual([{ event: "pagefault", flags: 0n, address: a, ptid: 0 }]);
    expect(expectBlockedWrite(p, uffd, a + PAGE).msgs).toEqual([{ event: "pagefault", flags: BigInt(A.UFFD_PAGEFAULT_FLAG_WRITE), address: a + PAGE, ptid: 0 }]);
    ok(k);
  });

  it("shmem: empty PTEs get markers without any feature; populated pages are protected; unprotect makes them writable", async () => {
    const { k, p, uffd, a, fd } = await setup({ shmem: true });
    p.thread.store8(a + PAGE, 8); // populated
    uffd.writeProtect(a, 2 * PAGE, PROTECT);
    ok(k);
    expect(p.fstat(fd).blocks).toBe(8n);
    expect(expectBlockedWrite(p, uffd, a).msgs).toEqual([{ event: "pagefault", flags: WP_WRITE, address: a, ptid: 0 }]);
    // as on 6.18 (measured): the write to the marker first allocated the page, mapped protected
    expect(p.fstat(fd).blocks).toBe(16n);
    expect(expectBlockedWrite(p, uffd, a + PAGE).msgs).toEqual([{ event: "pagefault", flags: WP_WRITE, address: a + PAGE, ptid: 0 }]);
    expect(p.newThread().load8(a + PAGE)).toBe(8);
    uffd.writeProtect(a, 2 * PAGE, 0);
    p.newThread().store8(a, 1);
    p.newThread().store8(a + PAGE, 2);
    expect(uffd.read()).toEqual([]);
    expect([...p.pread(fd, 1, 0), ...p.pread(fd, 1, PAGE)]).toEqual([1, 2]);
    ok(k);
  });

  it("shmem: MADV_DONTNEED keeps the protection (a marker replaces the PTE)", async () => {
    const { k, p, uffd, a } = await setup({ shmem: true });
    p.thread.store8(a, 8);
    uffd.writeProtect(a, 2 * PAGE, PROTECT);
    p.madvise(a, 2 * PAGE, A.MADV_DONTNEED);
    ok(k);
    expect(p.newThread().load8(a)).toBe(8);
    expect(expectBlockedWrite(p, uffd, a).msgs[0]).toMatchObject({ flags: WP_WRITE, address: a });
    expect(expectBlockedWrite(p, uffd, a + PAGE).msgs[0]).toMatchObject({ flags: WP_WRITE, address: a + PAGE });
    ok(k);
  });
});

describe("WP_ASYNC", () => {
  it("the kernel resolves WP faults itself: no message, the page becomes writable", async () => {
    const { k, p, uffd, a } = await setup({ features: A.UFFD_FEATURE_WP_ASYNC });
    p.thread.store8(a, 1);
    expect(p.thread.load8(a + PAGE)).toBe(0); // zero page
    uffd.writeProtect(a, 4 * PAGE, PROTECT); // + markers on the empty PTEs (WP_ASYNC implies WP_UNPOPULATED)
    ok(k);
    const t = p.newThread();
    t.store8(a, 2);
    t.store8(a + PAGE, 3);
    t.store8(a + 2 * PAGE, 4);
    expect(uffd.read()).toEqual([]);
    expect([t.load8(a), t.load8(a + PAGE), t.load8(a + 2 * PAGE)]).toEqual([2, 3, 4]);
    ok(k);
  });

  it("async threads never block on a WP_ASYNC range", async () => {
    const { k, p, uffd, a } = await setup({ features: A.UFFD_FEATURE_WP_ASYNC, shmem: true });
    uffd.writeProtect(a, 4 * PAGE, PROTECT);
    const body = (i: number) => async (t: { store8(a: number, v: number): Promise<void> }) => {
      for (let j = 0; j < 4; j++) await t.store8(a + j * PAGE + i, 1 + i);
    };
    await k.run(6, [[p.newThread(), body(0)], [p.newThread(), body(1)]]);
    expect(uffd.read()).toEqual([]);
    expect([p.thread.load8(a + 3 * PAGE), p.thread.load8(a + 3 * PAGE + 1)]).toEqual([1, 2]);
    ok(k);
  });
});

describe("COPY_MODE_WP, fork, UNREGISTER, mprotect, close", () => {
  it("COPY with COPY_MODE_WP installs a protected page", async () => {
    const { k, p, uffd, a } = await setup({ mode: MISSING | WP });
    const src = p.mmap(0, PAGE, RW, ANON);
    p.thread.fill(src, 0x42, PAGE);
    uffd.copy(a, src, PAGE, A.UFFDIO_COPY_MODE_WP);
    expect(p.newThread().load8(a + 9)).toBe(0x42);
    expect(expectBlockedWrite(p, uffd, a).msgs).toEqual([{ event: "pagefault", flags: WP_WRITE, address: a, ptid: 0 }]);
    uffd.writeProtect(a, PAGE, 0);
    p.newThread().store8(a, 1);
    expect(p.thread.load8(a)).toBe(1);
    // COPY_MODE_WP needs a WP-registered VMA
    const m = p.mmap(0, PAGE, RW, ANON);
    uffd.register(m, PAGE, MISSING);
    expectErrno(() => uffd.copy(m, src, PAGE, A.UFFDIO_COPY_MODE_WP), "EINVAL");
    ok(k);
  });

  it("fork without EVENT_FORK: the child's PTEs lose the uffd-wp bits and markers; the parent keeps them", async () => {
    const { k, p, uffd, a } = await setup({ features: A.UFFD_FEATURE_WP_UNPOPULATED });
    p.thread.store8(a, 5);
    uffd.writeProtect(a, 2 * PAGE, PROTECT); // a protected page and a marker
    const c = p.fork();
    ok(k);
    // the child registers WP itself: no leftover bit or marker may make its writes fault
    const cu = c.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    cu.api(A.UFFD_FEATURE_WP_UNPOPULATED);
    cu.register(a, 2 * PAGE, WP);
    c.newThread().store8(a, 6);
    c.newThread().store8(a + PAGE, 7);
    expect(cu.read()).toEqual([]);
    expect(c.thread.load8(a)).toBe(6);
    // the parent is still protected and unchanged
    expect(p.thread.load8(a)).toBe(5);
    expect(expectBlockedWrite(p, uffd, a).msgs[0]).toMatchObject({ flags: WP_WRITE, address: a });
    expect(expectBlockedWrite(p, uffd, a + PAGE).msgs[0]).toMatchObject({ flags: WP_WRITE, address: a + PAGE });
    ok(k);
  });

  it("fork without EVENT_FORK: a page table holding only uffd-wp markers forks cleanly, the child never sees them", async () => {
    const { k, p } = await boot();
    const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    uffd.api(A.UFFD_FEATURE_WP_UNPOPULATED);
    const big = p.mmap(0, 8 << 20, RW, ANON);
    const a = (Math.ceil(big / (2 << 20)) + 1) * (2 << 20); // a 2 MiB table nothing else uses
    uffd.register(a, 4 * PAGE, WP);
    uffd.writeProtect(a, 4 * PAGE, PROTECT);
    const c = p.fork();
    ok(k);
    const cu = c.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    cu.api();
    cu.register(a, 4 * PAGE, WP);
    c.newThread().store8(a, 1);
    expect(cu.read()).toEqual([]);
    expect(expectBlockedWrite(p, uffd, a).msgs[0]).toMatchObject({ flags: WP_WRITE, address: a });
    ok(k);
  });

  it("UNREGISTER clears the bits and markers and does not wake WP-only faulters; WAKE does", async () => {
    const { k, p, uffd, a } = await setup({ features: A.UFFD_FEATURE_WP_UNPOPULATED });
    p.thread.store8(a, 1);
    uffd.writeProtect(a, 4 * PAGE, PROTECT);
    const [w, h] = [p.newThread(), p.newThread()];
    const hu = new Userfaultfd(p, uffd.fd, h);
    let done = false;
    let doneAfterUnregister: boolean | undefined;
    await k.run(8, [
      [w, async (t) => { await t.store8(a, 2); done = true; }],
      [h, async (t) => {
        await nextMsgs(hu, t);
        await t.op(() => hu.unregister(a, 4 * PAGE));
        for (let i = 0; i < 10; i++) await t.yield();
        doneAfterUnregister = done;
        hu.wake(a, PAGE);
      }],
    ]);
    expect(doneAfterUnregister).toBe(false);
    expect(p.thread.load8(a)).toBe(2);
    // registering WP again: nothing is left protected
    uffd.register(a, 4 * PAGE, WP);
    p.newThread().store8(a, 3);
    p.newThread().store8(a + PAGE, 3);
    expect(uffd.read()).toEqual([]);
    ok(k);
  });

  it("UNREGISTER of a MISSING|WP range wakes the WP writer", async () => {
    const { k, p, uffd, a } = await setup({ mode: MISSING | WP });
    uffd.zeropage(a, PAGE);
    uffd.writeProtect(a, PAGE, PROTECT);
    const [w, h] = [p.newThread(), p.newThread()];
    const hu = new Userfaultfd(p, uffd.fd, h);
    await k.run(2, [
      [w, async (t) => { await t.store8(a, 9); }],
      [h, async (t) => { await nextMsgs(hu, t); hu.unregister(a, 4 * PAGE); }],
    ]);
    expect(p.thread.load8(a)).toBe(9);
    ok(k);
  });

  it("mprotect never removes the protection; unprotect in a read-only VMA leaves PTEs read-only", async () => {
    const { k, p, uffd, a } = await setup();
    p.thread.store8(a, 1);
    uffd.writeProtect(a, PAGE, PROTECT);
    p.mprotect(a, PAGE, A.PROT_READ);
    p.mprotect(a, PAGE, RW);
    ok(k);
    expect(expectBlockedWrite(p, uffd, a).msgs[0]).toMatchObject({ flags: WP_WRITE, address: a });
    p.mprotect(a, 2 * PAGE, A.PROT_READ);
    uffd.writeProtect(a, 2 * PAGE, 0);
    ok(k); // no RW in a VMA without VM_WRITE
    p.mprotect(a, 2 * PAGE, RW);
    p.newThread().store8(a, 2);
    expect(p.thread.load8(a)).toBe(2);
    ok(k);
  });

  it("unprotect of a page shared with a fork child stays copy-on-write", async () => {
    const { k, p, uffd, a } = await setup();
    p.thread.store8(a, 1);
    const c = p.fork();
    uffd.writeProtect(a, PAGE, PROTECT);
    uffd.writeProtect(a, PAGE, 0);
    ok(k);
    p.newThread().store8(a, 2);
    expect(c.thread.load8(a)).toBe(1);
    expect(p.thread.load8(a)).toBe(2);
    ok(k);
  });

  it("close() clears the protection with the registration", async () => {
    const { k, p, uffd, a } = await setup({ features: A.UFFD_FEATURE_WP_UNPOPULATED });
    p.thread.store8(a, 1);
    uffd.writeProtect(a, 4 * PAGE, PROTECT);
    uffd.close();
    ok(k);
    const u2 = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    u2.api(A.UFFD_FEATURE_WP_UNPOPULATED);
    u2.register(a, 4 * PAGE, WP);
    p.newThread().store8(a, 2);
    p.newThread().store8(a + PAGE, 2);
    expect(u2.read()).toEqual([]);
    ok(k);
  });
});
