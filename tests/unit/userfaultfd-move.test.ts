// UFFDIO_MOVE (mm/userfaultfd.c move_pages), the COPY source-fault path (mfill_atomic's retry) and the
// Userfaultfd host API (messages(), poll(), close / Symbol.dispose). The errno rows the host kernel
// can express are also checked differentially in tests/scenarios/uffd/move.json; this file
// holds what the oracle cannot do (another process, page identity, invariants, handlers).
import { describe, it, expect } from "vitest";
import { boot, RW, ANON, PAGE, A, expectErrno } from "../helpers/kernel.js";
import { CAP_SYS_PTRACE, FillError, Userfaultfd, WouldBlockError, runInWorker, type Process } from "../../host-ts/index.js";

const MISSING = A.UFFDIO_REGISTER_MODE_MISSING;
const HOLES = A.UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES;

/** $a: `pages` registered (MISSING) anon pages; $s: `pages` source pages, page i filled with i + 1. */
async function setup(pages = 4, opts: { caps?: number } = {}) {
  const { k } = await boot();
  const p = k.spawn(opts);
  const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
  uffd.api(); // features 0: MOVE needs no feature bit
  const a = p.mmap(0, pages * PAGE, RW, ANON);
  const s = p.mmap(0, pages * PAGE, RW, ANON);
  uffd.register(a, pages * PAGE, MISSING);
  for (let i = 0; i < pages; i++) p.thread.fill(s + i * PAGE, i + 1, PAGE);
  return { k, p, uffd, a, s };
}

/** The raw ioctl with the out-field preset to a marker: [ret, out-field]. */
function rawMove(p: Process, fd: number, dst: number, src: number, len: number, mode = 0): [bigint, bigint] {
  const b = new Uint8Array(A.uffdio_move.SIZEOF);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(A.uffdio_move.dst, BigInt(dst), true);
  dv.setBigUint64(A.uffdio_move.src, BigInt(src), true);
  dv.setBigUint64(A.uffdio_move.len, BigInt(len), true);
  dv.setBigUint64(A.uffdio_move.mode, BigInt(mode), true);
  dv.setBigInt64(A.uffdio_move.move, 0x77n, true);
  const { ret, bytes } = p.ioctl(fd, A.UFFDIO_MOVE, b);
  return [ret, new DataView(bytes.buffer, bytes.byteOffset).getBigInt64(A.uffdio_move.move, true)];
}

function expectFill(fn: () => unknown, code: string, bytes: bigint): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(FillError);
  expect((err as FillError).code).toBe(code);
  expect((err as FillError).bytes).toBe(bytes);
}

describe("UFFDIO_MOVE moves PTEs", () => {
  it("maps the source's own frames at the destination, in order; the source is left empty", async () => {
    const { k, p, uffd, a, s } = await setup();
    const frames = [0, 1, 2].map((i) => p.thread.translate(s + i * PAGE));
    expect(uffd.move(a, s, 3 * PAGE)).toBe(BigInt(3 * PAGE));
    expect([0, 1, 2].map((i) => p.thread.translate(a + i * PAGE))).toEqual(frames);
    for (let i = 0; i < 3; i++) expect(p.thread.read(a + i * PAGE, PAGE).every((b) => b === i + 1)).toBe(true);
    // the source pages are gone: reading them maps the zero page, not the moved frames
    const zero = p.thread.translate(s);
    expect(frames).not.toContain(zero);
    expect(p.thread.translate(s + PAGE)).toBe(zero);
    expect(p.thread.load8(s + 3 * PAGE)).toBe(4); // the page not moved stayed
    expect(k.checkInvariants()).toBe(true);
  });

  it("moves a zero-page PTE as a zero-page PTE", async () => {
    const { k, p, uffd, a } = await setup();
    const z = p.mmap(0, PAGE, RW, ANON);
    const zero = p.thread.translate(z); // a read fault maps the shared zero page
    expect(uffd.move(a, z, PAGE)).toBe(BigInt(PAGE));
    expect(p.thread.translate(a)).toBe(zero);
    p.thread.store8(a, 9); // the destination's write fault gets its own page
    expect(p.thread.translate(a)).not.toBe(zero);
    expect(k.checkInvariants()).toBe(true);
  });

  it("re-homes the page in the destination VMA's anon_vma: fork, COW and the invariant checker agree", async () => {
    const { k, p, uffd, a, s } = await setup();
    expect(uffd.move(a, s, 2 * PAGE)).toBe(BigInt(2 * PAGE));
    expect(k.checkInvariants()).toBe(true); // INV_ANON_VMA: each moved page hangs off $a's anon_vma
    const child = p.fork();
    expect(child.thread.load8(a + PAGE)).toBe(2);
    child.thread.store8(a, 0x55); // COW in the child
    expect(p.thread.load8(a)).toBe(1);
    expect(k.checkInvariants()).toBe(true);
    // shared with the child now: not exclusive, EBUSY, out-field -EBUSY
    const back = p.mmap(0, 2 * PAGE, RW, ANON);
    uffd.register(back, 2 * PAGE, MISSING);
    expectFill(() => uffd.move(back, a + PAGE, PAGE), "EBUSY", -BigInt(A.EBUSY));
    // the page the parent wrote after the child's COW is exclusive again only after its own write
    expectFill(() => uffd.move(back, a, PAGE), "EBUSY", -BigInt(A.EBUSY));
    p.thread.store8(a, 1);
    expect(uffd.move(back, a, PAGE)).toBe(BigInt(PAGE));
    child.exit(0);
    expect(k.checkInvariants()).toBe(true);
  });

  it("moves from an MADV_DONTFORK source after fork (what the selftest relies on)", async () => {
    const { k, p, uffd, a, s } = await setup();
    p.madvise(s, 4 * PAGE, A.MADV_DONTFORK);
    const child = p.fork();
    expect(uffd.move(a, s, 4 * PAGE)).toBe(BigInt(4 * PAGE));
    child.exit(0);
    expect(k.checkInvariants()).toBe(true);
  });

  it("the source page's uffd-wp protection does not travel; the destination PTE is writable", async () => {
    const { k, p, uffd, a } = await setup();
    const w = p.mmap(0, PAGE, RW, ANON);
    p.thread.store8(w, 3);
    uffd.register(w, PAGE, A.UFFDIO_REGISTER_MODE_WP);
    uffd.writeProtect(w, PAGE, A.UFFDIO_WRITEPROTECT_MODE_WP);
    expect(uffd.move(a, w, PAGE)).toBe(BigInt(PAGE));
    p.thread.store8(a, 4); // no WP fault, no COW: the same frame stays
    expect(p.thread.load8(a)).toBe(4);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("UFFDIO_MOVE errors", () => {
  it("a process other than the creator: EINVAL with the out-field untouched, even after the creator exited", async () => {
    const { p, uffd, a, s } = await setup(4, { caps: CAP_SYS_PTRACE });
    const child = p.fork(); // inherits the fd
    expect(rawMove(child, uffd.fd, a, s, PAGE)).toEqual([-BigInt(A.EINVAL), 0x77n]);
    // COPY from another process is allowed (it fills the creator's page from the caller's memory)
    const c = new Userfaultfd(child, uffd.fd);
    expect(c.copy(a, s, PAGE)).toBe(BigInt(PAGE));
    p.exit(0);
    expect(rawMove(child, uffd.fd, a, s, PAGE)).toEqual([-BigInt(A.EINVAL), 0x77n]);
    expectErrno(() => c.copy(a + PAGE, s, PAGE), "ESRCH");
  });

  it("a memfd MAP_PRIVATE VMA (not anonymous) as dst or src: EINVAL (-22)", async () => {
    const { k, p, uffd, a, s } = await setup();
    const fd = p.memfdCreate("m");
    p.ftruncate(fd, 2 * PAGE);
    const m = p.mmap(0, 2 * PAGE, RW, A.MAP_PRIVATE, fd);
    uffd.register(m, PAGE, MISSING);
    expect(rawMove(p, uffd.fd, m, s, PAGE)).toEqual([-BigInt(A.EINVAL), -BigInt(A.EINVAL)]);
    p.thread.store8(m + PAGE, 1); // COW: an anonymous page, but the VMA is still a file VMA
    expect(rawMove(p, uffd.fd, a, m + PAGE, PAGE)).toEqual([-BigInt(A.EINVAL), -BigInt(A.EINVAL)]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("checks in Linux's order: dst VMA, src VMA, then VM_SHARED, range ends, areas", async () => {
    const { p, uffd, a, s } = await setup();
    const sh = p.mmap(0, 2 * PAGE, RW, A.MAP_SHARED | A.MAP_ANONYMOUS);
    const hole = p.mmap(0, PAGE, RW, ANON);
    p.munmap(hole, PAGE);
    expect(rawMove(p, uffd.fd, hole, hole, PAGE)).toEqual([-BigInt(A.ENOENT), -BigInt(A.ENOENT)]);
    expect(rawMove(p, uffd.fd, a, hole, PAGE)).toEqual([-BigInt(A.ENOENT), -BigInt(A.ENOENT)]);
    expect(rawMove(p, uffd.fd, sh, hole, PAGE)).toEqual([-BigInt(A.ENOENT), -BigInt(A.ENOENT)]);
    // VM_SHARED src before the dst's registration is looked at
    expect(rawMove(p, uffd.fd, s, sh, PAGE)).toEqual([-BigInt(A.EINVAL), -BigInt(A.EINVAL)]);
    // a src range crossing its VMA end comes before the dst checks
    expect(rawMove(p, uffd.fd, sh, s + 3 * PAGE, 2 * PAGE)).toEqual([-BigInt(A.EINVAL), -BigInt(A.EINVAL)]);
  });

  it("stops at the first page that fails: EAGAIN with the bytes moved, or the errno when none moved", async () => {
    const { k, p, uffd, a, s } = await setup();
    uffd.zeropage(a + 2 * PAGE, PAGE);
    expectFill(() => uffd.move(a, s, 4 * PAGE), "EAGAIN", BigInt(2 * PAGE));
    expect(p.thread.load8(a + PAGE)).toBe(2);
    expect(p.thread.load8(s + 2 * PAGE)).toBe(3); // page 3 was not moved
    expectFill(() => uffd.move(a + 2 * PAGE, s + 2 * PAGE, 2 * PAGE), "EEXIST", -BigInt(A.EEXIST));
    expect(k.checkInvariants()).toBe(true);
  });

  it("mmap_changing: EAGAIN first (before the mode and range checks), -EAGAIN in the out-field, nothing moved", async () => {
    const { k } = await boot();
    const p = k.spawn();
    const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    uffd.api(A.UFFD_FEATURE_EVENT_REMOVE);
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    const s = p.mmap(0, PAGE, RW, ANON);
    uffd.register(a, 2 * PAGE, MISSING);
    p.thread.fill(s, 7, PAGE);
    const frame = p.thread.translate(s);
    const prod = p.newThread();
    const dontneed = () => prod.syscall(A.__NR_madvise, a, PAGE, A.MADV_DONTNEED);
    expect(dontneed).toThrow(WouldBlockError); // REMOVE delivered and unread: mmap_changing
    const EAGAIN = -BigInt(A.EAGAIN);
    expect(rawMove(p, uffd.fd, a + PAGE, s, PAGE)).toEqual([EAGAIN, EAGAIN]);
    expect(rawMove(p, uffd.fd, a + PAGE, s, PAGE, 0x80)).toEqual([EAGAIN, EAGAIN]); // bad mode bits
    expect(rawMove(p, uffd.fd, a + 1, s, PAGE)).toEqual([EAGAIN, EAGAIN]); // misaligned dst
    expectFill(() => uffd.move(a + PAGE, s, PAGE), "EAGAIN", EAGAIN);
    expect(p.thread.translate(s)).toBe(frame); // the source page did not move
    expect(uffd.read()).toEqual([{ event: "remove", start: a, end: a + PAGE }]);
    expect(dontneed()).toBe(0n);
    expect(uffd.move(a + PAGE, s, PAGE)).toBe(BigInt(PAGE)); // no EEXIST: nothing had moved
    expect(p.thread.translate(a + PAGE)).toBe(frame);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("a fault-driven MOVE handler", () => {
  it("serves every MISSING fault by moving the source page (ALLOW_SRC_HOLES), EEXIST → wake", async () => {
    const { k, p, uffd, a, s } = await setup(8);
    p.madvise(s, 8 * PAGE, A.MADV_DONTFORK);
    const faulter = p.newThread(), handler = p.newThread();
    let faults = 0;
    let finished = false;
    await k.run(4, [
      [faulter, async (t) => {
        for (let i = 0; i < 8; i++) expect(await t.load8(a + i * PAGE + 17)).toBe(i + 1);
        finished = true;
        await t.op(() => uffd.wake(a, 8 * PAGE)); // let the handler's poll see the end
      }],
      [handler, async (t) => {
        const h = new Userfaultfd(p, uffd.fd, handler);
        while (!finished) {
          const [msg] = await t.op(() => h.read(1));
          if (!msg) { await t.yield(); continue; }
          if (msg.event !== "pagefault") throw new Error(`unexpected ${msg.event}`);
          expect(msg.flags).toBe(0n); // a read: neither WRITE nor WP nor MINOR
          const off = msg.address - a;
          try {
            expect(await t.op(() => h.move(a + off, s + off, PAGE, HOLES))).toBe(BigInt(PAGE));
            faults++;
          } catch (e) {
            if (!(e instanceof FillError) || e.code !== "EEXIST") throw e;
            await t.op(() => h.wake(a + off, PAGE));
          }
        }
      }],
    ]);
    expect(faults).toBe(8);
    for (let i = 0; i < 8; i++) expect(p.thread.load8(s + i * PAGE)).toBe(0);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("COPY whose source faults: the locks are dropped, the source faulted in, the COPY retried", () => {
  /** A privileged fd (no UFFD_USER_MODE_ONLY): kernel-mode faults on registered memory wait. */
  async function srcSetup() {
    const { k } = await boot();
    const p = k.spawn({ caps: CAP_SYS_PTRACE });
    const uffd = p.userfaultfd(A.O_NONBLOCK);
    uffd.api();
    const a = p.mmap(0, 4 * PAGE, RW, ANON);
    const s = p.mmap(0, 4 * PAGE, RW, ANON);
    const b = p.mmap(0, 4 * PAGE, RW, ANON);
    uffd.register(a, 4 * PAGE, MISSING);
    uffd.register(s, 4 * PAGE, MISSING);
    p.thread.fill(b, 0x33, 4 * PAGE);
    uffd.copy(s, b, PAGE); // source page 0 present, pages 1.. missing
    return { k, p, uffd, a, s, b };
  }

  it("synchronous API: the COPY throws WouldBlockError, and the same call reissued after the wake completes it", async () => {
    const { k, p, uffd, a, s, b } = await srcSetup();
    const t = p.newThread();
    const caller = new Userfaultfd(p, uffd.fd, t);
    expect(() => caller.copy(a, s, 2 * PAGE)).toThrow(WouldBlockError);
    expect(uffd.read()).toEqual([{ event: "pagefault", flags: 0n, address: s + PAGE, ptid: 0 }]);
    expect(p.thread.translate(a) > 0).toBe(true); // page 0 was installed before the wait
    uffd.copy(s + PAGE, b, PAGE); // serve the source fault: wakes the caller
    expect(caller.copy(a, s, 2 * PAGE)).toBe(BigInt(2 * PAGE)); // resumed, page 0 not refilled (no EEXIST)
    expect(p.thread.load8(a + PAGE)).toBe(0x33);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a worker thread's COPY waits in Atomics.wait for its source fault, then completes (0x2000)", async () => {
    const { k, p, uffd, a, s, b } = await srcSetup();
    const w = runInWorker<[string, string]>(k, p.newThread(), new URL("./fixtures/worker-copy.mjs", import.meta.url),
      { fd: uffd.fd, dst: a, src: s, len: 2 * PAGE });
    let msgs: ReturnType<Userfaultfd["read"]> = [];
    for (const deadline = Date.now() + 10_000; msgs.length === 0 && Date.now() < deadline;) {
      msgs = uffd.read();
      if (!msgs.length) await new Promise((r) => setTimeout(r, 1));
    }
    expect(msgs).toEqual([{ event: "pagefault", flags: 0n, address: s + PAGE, ptid: 0 }]);
    uffd.copy(s + PAGE, b, PAGE);
    expect(await w).toEqual(["0", String(2 * PAGE)]);
    expect(p.thread.load8(a + PAGE)).toBe(0x33);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a call abandoned while waiting starts over when issued again: EEXIST at its first page", async () => {
    const { p, uffd, a, s, b } = await srcSetup();
    const t = p.newThread();
    const caller = new Userfaultfd(p, uffd.fd, t);
    expect(() => caller.copy(a, s, 2 * PAGE)).toThrow(WouldBlockError);
    t.syscall(A.__NR_getpid); // re-entering while still queued abandons the wait (as a signal would)
    uffd.copy(s + PAGE, b, PAGE);
    expectFill(() => caller.copy(a, s, 2 * PAGE), "EEXIST", -BigInt(A.EEXIST));
  });

  it("the waiting COPY's restart block holds the userfaultfd: close() releases it only once the call is abandoned", async () => {
    const { k, p, uffd, a, s } = await srcSetup();
    const t = p.newThread();
    const caller = new Userfaultfd(p, uffd.fd, t);
    expect(() => caller.copy(a, s, 2 * PAGE)).toThrow(WouldBlockError);
    expect(k.stats().uffdCtxs).toBe(1);
    uffd.close(); // the ioctl still holds the file (Linux's fdget): no release, the copy keeps waiting
    expect(k.stats().uffdCtxs).toBe(1);
    // the reissue finds the fd closed: not the same call; the restart is dropped, then the ctx
    expectErrno(() => caller.copy(a, s, 2 * PAGE), "EBADF");
    expect(k.stats().uffdCtxs).toBe(0);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a resumed COPY whose out-field then hits a userfault waits again, and its reissue only writes the out-field", async () => {
    const { k, p, uffd, a, s, b } = await srcSetup();
    const t = p.newThread();
    // the argument straddles two pages of $b: its 32 bytes at the end of page 2, the out-field on page 3,
    // which is then registered and dropped so that writing it faults
    const arg = b + 3 * PAGE - 32;
    [BigInt(a), BigInt(s), BigInt(2 * PAGE), 0n].forEach((w, i) => t.store64(arg + 8 * i, w));
    uffd.register(b + 3 * PAGE, PAGE, MISSING);
    p.madvise(b + 3 * PAGE, PAGE, A.MADV_DONTNEED);
    const copy = () => t.syscall(A.__NR_ioctl, uffd.fd, A.UFFDIO_COPY, arg);
    expect(copy).toThrow(WouldBlockError); // the source's page 1 is a userfault
    expect(uffd.read()).toEqual([{ event: "pagefault", flags: 0n, address: s + PAGE, ptid: 0 }]);
    uffd.copy(s + PAGE, b, PAGE);
    expect(copy).toThrow(WouldBlockError); // resumed at page 1, done; now the out-field's page faults
    expect(uffd.read()).toEqual([{ event: "pagefault", flags: 1n, address: b + 3 * PAGE, ptid: 0 }]);
    uffd.zeropage(b + 3 * PAGE, PAGE);
    expect(copy()).toBe(0n); // not EEXIST: neither page is filled again
    expect(p.thread.load64(arg + 32)).toBe(BigInt(2 * PAGE));
    expect(p.thread.load8(a + PAGE)).toBe(0x33);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a different COPY from the same staging address after the wake is a new call, not a resumption", async () => {
    const { p, uffd, a, s, b } = await srcSetup();
    const t = p.newThread();
    const caller = new Userfaultfd(p, uffd.fd, t);
    expect(() => caller.copy(a, s, 2 * PAGE)).toThrow(WouldBlockError);
    uffd.copy(s + PAGE, b, PAGE);
    expect(caller.copy(a + 2 * PAGE, b, PAGE)).toBe(BigInt(PAGE));
    expect(caller.copy(a + PAGE, s + PAGE, PAGE)).toBe(BigInt(PAGE));
  });
});

describe("Userfaultfd host API", () => {
  it("for await over messages(at) serves faults and ends when the fd is closed", async () => {
    const { k, p, uffd, a, s } = await setup(3);
    const h = new Userfaultfd(p, uffd.fd, p.newThread());
    const seen: number[] = [];
    let ended = false;
    const faulter = p.newThread();
    await k.run(8, [
      [faulter, async (t) => {
        for (let i = 0; i < 3; i++) expect(await t.load8(a + i * PAGE)).toBe(i + 1);
        await t.op(() => uffd.close()); // wakes no poll (the poll holds the file): the monitor's next poll timeout sees POLLNVAL
      }],
      [h.thread, async (t) => {
        for await (const msg of h.messages(t)) {
          if (msg.event !== "pagefault") continue;
          seen.push(msg.address - a);
          await t.op(() => h.copy(msg.address, s + (msg.address - a), PAGE));
        }
        ended = true;
      }],
    ]);
    expect(seen).toEqual([0, PAGE, 2 * PAGE]);
    expect(ended).toBe(true);
  });

  it("messages() on a blocking fd waits in read(); another thread's close() ends nothing (the read holds the file); the loop body's close() ends it", async () => {
    const { k } = await boot();
    const p = k.spawn();
    const uffd = p.userfaultfd(A.UFFD_USER_MODE_ONLY); // blocking
    uffd.api();
    expect(uffd.poll()).toBe(A.POLLERR); // a blocking userfaultfd polls as POLLERR (userfaultfd_poll)
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    uffd.register(a, 2 * PAGE, MISSING);
    const h = new Userfaultfd(p, uffd.fd, p.newThread());
    const parked = () => Atomics.load(new Int32Array(h.thread.frame.buffer, h.thread.frame.byteOffset + A.host_frame.wait_word, 1), 0) === 1;
    const got: number[] = [];
    await k.run(3, [
      [p.newThread(), async (t) => {
        expect(await t.load8(a)).toBe(0);
        while (!parked()) await t.yield(); // the monitor waits in read() again
        await t.op(() => uffd.close());
        expect(k.stats().uffdCtxs).toBe(1); // the read holds the file
        expect(await t.load8(a + PAGE)).toBe(0); // still registered; woken by the release as the read returns
      }],
      [h.thread, async (t) => {
        for await (const msg of h.messages(t)) {
          if (msg.event !== "pagefault") throw new Error(`unexpected ${msg.event}`);
          got.push(msg.address - a);
          if (got.length === 2) break; // the fd is gone: nothing to serve it with
          await t.op(() => h.zeropage(msg.address, PAGE));
        }
      }],
    ]);
    expect(got).toEqual([0, PAGE]);
    expect(k.stats().uffdCtxs).toBe(0);
    // The iterating side closes from the loop body: the iteration ends.
    const u2 = p.userfaultfd(A.UFFD_USER_MODE_ONLY);
    u2.api();
    const b = p.mmap(0, PAGE, RW, ANON);
    u2.register(b, PAGE, MISSING);
    const h2 = new Userfaultfd(p, u2.fd, p.newThread());
    let ended = false;
    await k.run(4, [
      [p.newThread(), async (t) => { expect(await t.load8(b)).toBe(0); }],
      [h2.thread, async (t) => {
        for await (const msg of h2.messages(t)) {
          if (msg.event !== "pagefault") throw new Error(`unexpected ${msg.event}`);
          expect(msg.address).toBe(b);
          await t.op(() => h2.zeropage(msg.address, PAGE));
          h2.close();
        }
        ended = true;
      }],
    ]);
    expect(ended).toBe(true);
    expect(k.checkInvariants()).toBe(true);
  });

  it("`for await (const msg of uffd)` on the main thread serves worker threads' faults (Atomics.waitAsync)", async () => {
    const { k, p, uffd, a, s } = await setup(2);
    const url = new URL("./fixtures/worker-fault.mjs", import.meta.url);
    p.thread.store32(s, 0xc0ffee);
    p.thread.store32(s + PAGE, 0xbeef);
    const w1 = runInWorker<number>(k, p.newThread(), url, { addr: a });
    const w2 = runInWorker<number>(k, p.newThread(), url, { addr: a + PAGE });
    const served: number[] = [];
    const done = Promise.all([w1, w2]).then((r) => { uffd.close(); return r; }); // ends the iteration
    for await (const msg of uffd) {
      if (msg.event !== "pagefault") continue;
      served.push(msg.address - a);
      uffd.move(msg.address, s + (msg.address - a), PAGE);
    }
    expect(await done).toEqual([0xc0ffee, 0xbeef]);
    expect(served.sort((x, y) => x - y)).toEqual([0, PAGE]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("poll() says POLLIN while a fault is unread", async () => {
    const { k, p, uffd, a } = await setup(1);
    expect(uffd.poll()).toBe(0);
    const t = p.newThread();
    expect(() => t.load8(a)).toThrow(WouldBlockError);
    expect(uffd.poll()).toBe(A.POLLIN);
    uffd.read();
    expect(uffd.poll()).toBe(0);
    uffd.zeropage(a, PAGE);
    expect(k.checkInvariants()).toBe(true);
  });

  it("`using` closes the fd at the end of the block; close() is idempotent; Symbol.dispose is native", async () => {
    expect(typeof Symbol.dispose).toBe("symbol");
    const { p } = await boot();
    let fd: number;
    {
      using u = p.userfaultfd(A.UFFD_USER_MODE_ONLY);
      fd = u.fd;
      expect(p.fcntl(fd, A.F_GETFL) & A.O_ACCMODE).toBe(A.O_RDONLY);
    }
    expectErrno(() => p.fcntl(fd, A.F_GETFL), "EBADF");
    const u2 = p.userfaultfd(A.UFFD_USER_MODE_ONLY);
    u2.close();
    u2.close();
    u2[Symbol.dispose]();
  });
});
