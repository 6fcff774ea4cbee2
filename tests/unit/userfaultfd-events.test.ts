// userfaultfd non-cooperative events (fs/userfaultfd.c userfaultfd_event_wait_completion): FORK, REMAP,
// REMOVE and UNMAP; the producer waits until its event is read, and its reissued call returns
// the recorded result instead of running again; mmap_changing; release while events are
// pending; fdinfo; the three ways of waiting (a synchronous call throws WouldBlockError, async
// threads under k.run, worker threads).
import { describe, it, expect } from "vitest";
import { boot, RW, ANON, PAGE, A, expectErrno } from "../helpers/kernel.js";
import { CAP_SYS_PTRACE, FillError, SegmentationFault, Userfaultfd, WouldBlockError, runInWorker, type AsyncThread, type Kernel, type Process, type Thread } from "../../host-ts/index.js";

const MISSING = A.UFFDIO_REGISTER_MODE_MISSING;
const WP = A.UFFDIO_REGISTER_MODE_WP;
const EV_ALL = A.UFFD_FEATURE_EVENT_FORK | A.UFFD_FEATURE_EVENT_REMAP | A.UFFD_FEATURE_EVENT_REMOVE | A.UFFD_FEATURE_EVENT_UNMAP;
const EAGAIN = -BigInt(A.EAGAIN);

/** A privileged process $p whose userfaultfd (non-blocking, kernel faults too) is read by a second thread `mon`. */
async function setup(features: bigint = EV_ALL) {
  const { k } = await boot();
  const p = k.spawn({ caps: CAP_SYS_PTRACE });
  const mon = p.newThread();
  const uffd = new Userfaultfd(p, p.userfaultfd(A.O_NONBLOCK).fd, mon);
  uffd.api(features);
  const a = p.mmap(0, 4 * PAGE, RW, ANON);
  uffd.register(a, 4 * PAGE, MISSING);
  const src = p.mmap(0, PAGE, RW, ANON);
  p.thread.fill(src, 0x5a, PAGE);
  return { k, p, mon, uffd, a, src };
}

/** `fn` must wait for an event: the synchronous API throws WouldBlockError. */
function blocks(fn: () => unknown): void {
  expect(fn).toThrow(WouldBlockError);
}

function ok(k: Kernel): void {
  expect(k.checkInvariants()).toBe(true);
}

/** Every fill ioctl fails with EAGAIN and stores -EAGAIN in its out-field; WRITEPROTECT EAGAIN. An unread event is checked before anything else. */
function expectMmapChanging(uffd: Userfaultfd, a: number, src: number): void {
  const fills: [string, () => unknown][] = [
    ["copy", () => uffd.copy(a, src, PAGE)],
    ["zeropage", () => uffd.zeropage(a, PAGE)],
    ["move", () => uffd.move(a, src, PAGE)],
    ["continue", () => uffd.continue(a, PAGE)],
    ["poison", () => uffd.poison(a, PAGE)],
  ];
  for (const [name, f] of fills) {
    let e: unknown;
    try { f(); } catch (x) { e = x; }
    expect(e, name).toBeInstanceOf(FillError);
    expect((e as FillError).code, name).toBe("EAGAIN");
    expect((e as FillError).bytes, name).toBe(EAGAIN);
  }
  expectErrno(() => uffd.writeProtect(a, PAGE, A.UFFDIO_WRITEPROTECT_MODE_WP), "EAGAIN");
}

describe("UNMAP", () => {
  it("munmap waits for its event; the retry before the read still waits; after the read it returns once", async () => {
    const { k, p, mon, uffd, a, src } = await setup();
    blocks(() => p.munmap(a, 4 * PAGE));
    blocks(() => p.munmap(a, 4 * PAGE)); // reissued before the event is read: still waiting
    // the unmap itself is done already: the range is free, and a new mapping may take it
    expect(p.vmas().some((v) => v.start <= a && a < v.end)).toBe(false);
    const other = p.newThread();
    const b = Number(other.syscall(A.__NR_mmap, a, PAGE, RW, ANON | A.MAP_FIXED, -1, 0));
    expect(b).toBe(a);
    other.store8(a, 9);
    expectMmapChanging(uffd, a + PAGE, src);
    uffd.wake(a, PAGE); // WAKE, REGISTER and UNREGISTER ignore mmap_changing
    expect(mon.syscall(A.__NR_poll, mon.stage(new Uint8Array([uffd.fd, 0, 0, 0, A.POLLIN, 0, 0, 0])), 1, 0)).toBe(1n);
    expect(uffd.read()).toEqual([{ event: "unmap", start: a, end: a + 4 * PAGE }]);
    p.munmap(a, 4 * PAGE); // the reissue returns the recorded result ...
    expect(other.load8(a)).toBe(9); // ... without unmapping the new mapping
    expect(k.stats().uffdEvents).toBe(0);
    expect(uffd.read()).toEqual([]);
    ok(k);
  });

  it("the payload is the range given, not clipped; identical (ctx, start, end) once; without the feature nothing", async () => {
    const { k, p, uffd, a } = await setup(A.UFFD_FEATURE_EVENT_UNMAP);
    uffd.unregister(a, PAGE);
    uffd.register(a + 2 * PAGE, PAGE, WP); // three VMAs now, two registered with this ctx
    const before = p.mmap(0, 6 * PAGE, RW, ANON);
    p.munmap(before, 6 * PAGE); // an unregistered range: no event, no wait
    blocks(() => p.munmap(a + PAGE, PAGE * 3));
    expect(uffd.read()).toEqual([{ event: "unmap", start: a + PAGE, end: a + 4 * PAGE }]);
    p.munmap(a + PAGE, PAGE * 3);
    const q = (await setup(A.UFFD_FEATURE_EVENT_REMOVE)); // no EVENT_UNMAP
    q.p.munmap(q.a, 4 * PAGE);
    expect(q.uffd.read()).toEqual([]);
    ok(k);
  });

  it("mmap(MAP_FIXED) over a registered range reports the replaced range", async () => {
    const { k, p, uffd, a } = await setup();
    blocks(() => p.mmap(a + PAGE, 2 * PAGE, RW, ANON | A.MAP_FIXED));
    expect(uffd.read()).toEqual([{ event: "unmap", start: a + PAGE, end: a + 3 * PAGE }]);
    expect(p.mmap(a + PAGE, 2 * PAGE, RW, ANON | A.MAP_FIXED)).toBe(a + PAGE);
    ok(k);
  });

  it("a producer that exits while waiting: its event goes, mmap_changing drops, nothing leaks", async () => {
    const { k, p, uffd, a, src } = await setup();
    const t = p.newThread();
    expect(() => t.syscall(A.__NR_munmap, a, PAGE)).toThrow(WouldBlockError);
    expect(k.stats().uffdEvents).toBe(1);
    t.syscall(A.__NR_exit, 0);
    expect(k.stats().uffdEvents).toBe(0);
    expect(uffd.read()).toEqual([]);
    expect(uffd.copy(a + PAGE, src, PAGE)).toBe(BigInt(PAGE));
    ok(k);
  });

  it("a producer that makes another call instead of the reissue gave up: its event is dropped", async () => {
    const { k, p, uffd, a, src } = await setup();
    blocks(() => p.munmap(a, PAGE));
    expect(p.thread.syscall(A.__NR_getpid)).toBe(BigInt(p.pid));
    expect(uffd.read()).toEqual([]);
    expect(uffd.copy(a + PAGE, src, PAGE)).toBe(BigInt(PAGE));
    // the munmap had been done: it is not done again by a later, new munmap call either
    p.munmap(a, PAGE);
    expect(k.stats().uffdEvents).toBe(0);
    ok(k);
  });

  it("release while the producer waits: the event is dropped and the reissue returns", async () => {
    const { k, p, uffd, a } = await setup();
    blocks(() => p.munmap(a, PAGE));
    uffd.close();
    p.munmap(a, PAGE);
    expect(k.stats()).toMatchObject({ uffdEvents: 0, uffdCtxs: 0 });
    ok(k);
  });
});

describe("REMAP", () => {
  it("mremap of a registered VMA: REMAP {from, to, len}, UNMAP of the source; the new place is registered", async () => {
    const { k, p, uffd, a, src } = await setup();
    const to = p.mmap(0, 4 * PAGE, RW, ANON);
    const flags = A.MREMAP_MAYMOVE | A.MREMAP_FIXED;
    blocks(() => p.mremap(a, 4 * PAGE, 4 * PAGE, flags, to));
    expect(uffd.read()).toEqual([{ event: "remap", from: a, to, len: 4 * PAGE }]);
    blocks(() => p.mremap(a, 4 * PAGE, 4 * PAGE, flags, to)); // the UNMAP of the source is next
    expect(uffd.read()).toEqual([{ event: "unmap", start: a, end: a + 4 * PAGE }]);
    expect(p.mremap(a, 4 * PAGE, 4 * PAGE, flags, to)).toBe(to);
    expect(uffd.copy(to, src, PAGE)).toBe(BigInt(PAGE));
    ok(k);
  });

  it("without EVENT_REMAP the moved VMA loses its registration (and its uffd-wp bits)", async () => {
    const { k, p, uffd, a, src } = await setup(0n);
    uffd.unregister(a, 4 * PAGE);
    uffd.register(a, 4 * PAGE, MISSING | WP);
    uffd.copy(a, src, PAGE, A.UFFDIO_COPY_MODE_WP); // a write-protected page
    const dst = p.mmap(0, 4 * PAGE, RW, ANON);
    const to = p.mremap(a, 4 * PAGE, 4 * PAGE, A.MREMAP_MAYMOVE | A.MREMAP_FIXED, dst);
    expect(to).toBe(dst);
    expectErrno(() => uffd.copy(to + PAGE, src, PAGE), "ENOENT");
    p.thread.store8(to, 1); // no WP fault: the bit did not move along
    expect(uffd.read()).toEqual([]);
    ok(k);
  });

  it("a registered VMA moves only alone: MREMAP_FIXED across it and another VMA is EFAULT", async () => {
    const { k, p, uffd, a } = await setup();
    uffd.unregister(a + 2 * PAGE, 2 * PAGE);
    const to = p.mmap(0, 4 * PAGE, RW, ANON);
    expectErrno(() => p.mremap(a, 4 * PAGE, 4 * PAGE, A.MREMAP_MAYMOVE | A.MREMAP_FIXED, to), "EFAULT");
    ok(k);
  });
});

describe("REMOVE", () => {
  it("MADV_DONTNEED: the event comes before the zap; the reissue zaps once", async () => {
    const { k, p, mon, uffd, a, src } = await setup();
    uffd.copy(a, src, PAGE);
    blocks(() => p.madvise(a, 2 * PAGE, A.MADV_DONTNEED));
    expect(mon.load8(a)).toBe(0x5a); // not zapped yet
    expect(uffd.read()).toEqual([{ event: "remove", start: a, end: a + 2 * PAGE }]);
    expect(mon.load8(a)).toBe(0x5a); // still not: the producer zaps when it runs again
    p.madvise(a, 2 * PAGE, A.MADV_DONTNEED);
    expect(() => p.newThread().load8(a)).toThrow(WouldBlockError); // missing again: a userfault
    expect(uffd.read()).toMatchObject([{ event: "pagefault", address: a }]);
    uffd.copy(a, src, PAGE);
    blocks(() => p.madvise(a, 2 * PAGE, A.MADV_DONTNEED)); // another call: another event
    expect(uffd.read()).toEqual([{ event: "remove", start: a, end: a + 2 * PAGE }]);
    p.madvise(a, 2 * PAGE, A.MADV_DONTNEED);
    expect(k.stats().uffdEvents).toBe(0);
    ok(k);
  });

  it("MADV_REMOVE on shmem: REMOVE, then the hole punch; fallocate(PUNCH_HOLE) and ftruncate send nothing", async () => {
    const { k } = await boot();
    const p = k.spawn({ caps: CAP_SYS_PTRACE });
    const mon = p.newThread();
    const uffd = new Userfaultfd(p, p.userfaultfd(A.O_NONBLOCK).fd, mon);
    uffd.api(EV_ALL);
    const fd = p.memfdCreate("ev");
    p.ftruncate(fd, 4 * PAGE);
    const m = p.mmap(0, 4 * PAGE, RW, A.MAP_SHARED, fd);
    p.thread.fill(m, 7, 4 * PAGE);
    uffd.register(m, 4 * PAGE, MISSING);
    p.fallocate(fd, A.FALLOC_FL_PUNCH_HOLE | A.FALLOC_FL_KEEP_SIZE, 0, PAGE);
    p.ftruncate(fd, 3 * PAGE);
    expect(uffd.read()).toEqual([]);
    blocks(() => p.madvise(m + PAGE, PAGE, A.MADV_REMOVE));
    expect(mon.load8(m + PAGE)).toBe(7);
    expect(uffd.read()).toEqual([{ event: "remove", start: m + PAGE, end: m + 2 * PAGE }]);
    p.madvise(m + PAGE, PAGE, A.MADV_REMOVE);
    expect(p.fstat(fd).blocks).toBe(8n); // one page left in the file (of 3; one punched before)
    ok(k);
  });

  it("MADV_FREE sends REMOVE too; on shared memory it fails with EINVAL only after the event (as Linux 6.18)", async () => {
    const { k, p, uffd, a } = await setup();
    blocks(() => p.madvise(a, PAGE, A.MADV_FREE));
    expect(uffd.read()).toEqual([{ event: "remove", start: a, end: a + PAGE }]);
    p.madvise(a, PAGE, A.MADV_FREE);
    const s = p.mmap(0, PAGE, RW, A.MAP_SHARED | A.MAP_ANONYMOUS);
    uffd.register(s, PAGE, MISSING);
    // madvise_free_single_vma refuses non-anonymous memory after userfaultfd_remove
    blocks(() => p.madvise(s, PAGE, A.MADV_FREE));
    expect(uffd.read()).toEqual([{ event: "remove", start: s, end: s + PAGE }]);
    expectErrno(() => p.madvise(s, PAGE, A.MADV_FREE), "EINVAL");
    expect(uffd.read()).toEqual([]);
    ok(k);
  });
});

describe("reading events: read(), poll() and fdinfo", () => {
  it("page faults come before events; poll says POLLIN for an event alone; fdinfo counts page faults", async () => {
    const { k, p, mon, uffd, a } = await setup();
    const f = p.newThread();
    expect(p.fdinfo(uffd.fd)).toBe("pending:\t0\ntotal:\t0\nAPI:\taa:8000004e:80000000000001ff\n");
    blocks(() => p.munmap(a + 3 * PAGE, PAGE));
    const pollIn = () => Number(mon.syscall(A.__NR_poll, mon.stage(new Uint8Array([uffd.fd, 0, 0, 0, A.POLLIN, 0, 0, 0])), 1, 0));
    expect(pollIn()).toBe(1);
    expect(() => f.load8(a)).toThrow(WouldBlockError);
    expect(p.fdinfo(uffd.fd)).toMatch(/^pending:\t1\ntotal:\t1\n/);
    const msgs = uffd.read();
    expect(msgs.map((m) => m.event)).toEqual(["pagefault", "unmap"]);
    expect(p.fdinfo(uffd.fd)).toMatch(/^pending:\t0\ntotal:\t1\n/);
    expect(pollIn()).toBe(0);
    p.munmap(a + 3 * PAGE, PAGE);
    ok(k);
  });

  it("a blocking read() waits for an event and is woken by its delivery", async () => {
    const { k } = await boot();
    const p = k.spawn({ caps: CAP_SYS_PTRACE });
    const u = p.userfaultfd(0);
    u.api(EV_ALL);
    const a = p.mmap(0, PAGE, RW, ANON);
    u.register(a, PAGE, MISSING);
    const [reader, producer] = [p.newThread(), p.newThread()];
    const buf = p.mmap(0, PAGE, RW, ANON);
    let n = 0n;
    await k.run(3, [
      [reader, async (t) => { n = await t.syscall(A.__NR_read, u.fd, buf, 64); }],
      [producer, async (t) => { expect(await t.syscall(A.__NR_munmap, a, PAGE)).toBe(0n); }],
    ]);
    expect(n).toBe(32n);
    expect(p.thread.load8(buf)).toBe(A.UFFD_EVENT_UNMAP);
    ok(k);
  });
});

describe("FORK: the event, the child's userfaultfd, and releases while it is unread", () => {
  /** P (creator) forks a monitor M that inherits the uffd; P registers $a, then forks C with EVENT_FORK. */
  async function forkSetup() {
    const { k } = await boot();
    const p = k.spawn({ caps: CAP_SYS_PTRACE });
    const u = p.userfaultfd(A.O_NONBLOCK);
    u.api(A.UFFD_FEATURE_EVENT_FORK | A.UFFD_FEATURE_EVENT_UNMAP);
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    const src = p.mmap(0, PAGE, RW, ANON);
    p.thread.fill(src, 0x33, PAGE);
    const m = p.fork(); // the monitor: no registration yet, so no event
    const mu = new Userfaultfd(m, u.fd);
    u.register(a, 2 * PAGE, MISSING);
    return { k, p, u, a, src, m, mu };
  }

  it("fork waits for the FORK event; read() installs the child's userfaultfd in the reader's table", async () => {
    const { k, p, u, a, src, m, mu } = await forkSetup();
    const fork = () => Number(p.syscall(A.__NR_fork));
    blocks(fork);
    expectErrno(() => mu.copy(a, src, PAGE), "EAGAIN"); // mmap_changing on the parent ctx
    const [ev] = mu.read();
    expect(ev).toMatchObject({ event: "fork" });
    const ufd = (ev as { ufd: number }).ufd;
    expect(m.fcntl(ufd, A.F_GETFL) & (A.O_ACCMODE | A.O_NONBLOCK)).toBe(A.O_RDONLY | A.O_NONBLOCK);
    // the reader's table, not the forker's (asked on another thread: the forker's next call must be its fork)
    expect(p.newThread().syscall(A.__NR_fcntl, ufd, A.F_GETFD)).toBe(-BigInt(A.EBADF));
    const cpid = fork();
    expect(cpid).toBeGreaterThan(0);
    const c = k.adopt(cpid);
    // the child's copy of $a is registered with the new ctx: its fault is read from ufd
    const cu = new Userfaultfd(m, ufd);
    expect(m.fdinfo(ufd)).toBe("pending:\t0\ntotal:\t0\nAPI:\taa:80000042:80000000000001ff\n");
    expect(() => c.thread.load8(a)).toThrow(WouldBlockError);
    expect(cu.read()).toMatchObject([{ event: "pagefault", address: a }]);
    expect(u.read()).toEqual([]); // nothing on the parent's
    cu.zeropage(a, PAGE);
    expect(c.thread.load8(a)).toBe(0);
    expect(u.copy(a, src, PAGE)).toBe(BigInt(PAGE)); // the parent's own page
    expect(c.thread.load8(a)).toBe(0);
    c.exit();
    cu.close();
    ok(k);
  });

  it("a FORK event that finds the reader's fd table full: EMFILE, the event stays queued until a read can install it", async () => {
    const { k, p, u, m, mu } = await forkSetup();
    const fillers: number[] = [];
    for (;;) {
      const r = Number(m.syscall(A.__NR_dup, u.fd));
      if (r < 0) break;
      fillers.push(r);
    }
    blocks(() => p.syscall(A.__NR_fork));
    expectErrno(() => mu.read(), "EMFILE");
    expectErrno(() => mu.read(), "EMFILE");
    m.close(fillers.pop()!);
    const [ev] = mu.read();
    expect(ev).toMatchObject({ event: "fork" });
    k.adopt(Number(p.syscall(A.__NR_fork))).exit();
    ok(k);
  });

  it("without EVENT_FORK the child is not registered: its accesses fill normally and nobody hears of them", async () => {
    const { k, p, a } = await setup(A.UFFD_FEATURE_EVENT_UNMAP);
    const c = p.fork();
    expect(c.thread.load8(a)).toBe(0);
    c.thread.store8(a + PAGE, 1);
    expect(c.vmas().every((v) => (v.flags & BigInt(A.VM_UFFD_MISSING)) === 0n)).toBe(true);
    ok(k);
  });

  it("release of the parent ctx while FORK is unread: fork returns and neither range stays registered", async () => {
    const { k, p, u, a, src, m } = await forkSetup();
    u.close(); // the creator's descriptor: M's is now the last
    blocks(() => p.syscall(A.__NR_fork));
    expect(k.stats().uffdCtxs).toBe(2); // the parent ctx and the child's, held by the event
    m.exit(); // the last reference: release
    const cpid = Number(p.syscall(A.__NR_fork));
    expect(cpid).toBeGreaterThan(0);
    const c = k.adopt(cpid);
    expect(k.stats()).toMatchObject({ uffdCtxs: 0, uffdEvents: 0 });
    for (const q of [p, c]) expect(q.vmas().every((v) => (v.flags & BigInt(A.VM_UFFD_MISSING)) === 0n)).toBe(true);
    expect(c.thread.load8(a)).toBe(0);
    expect(p.thread.load8(a + PAGE)).toBe(0);
    void src;
    ok(k);
  });

  it("close() by the forking process while FORK is unread is no release: the child holds the file; reading ends the wait", async () => {
    const { k, p, u, m, mu } = await forkSetup();
    const t = p.newThread();
    expect(() => t.syscall(A.__NR_fork)).toThrow(WouldBlockError);
    u.close();
    expect(k.stats().uffdCtxs).toBe(2);
    expect(() => t.syscall(A.__NR_fork)).toThrow(WouldBlockError); // still waiting
    const [ev] = mu.read();
    expect(ev.event).toBe("fork");
    const cpid = Number(t.syscall(A.__NR_fork));
    k.adopt(cpid).exit();
    m.close((ev as { ufd: number }).ufd);
    ok(k);
  });

  it("a fork given up while FORK is unread fails: the event and the child's ctx go, and so does the child", async () => {
    const { k, p, mu } = await forkSetup();
    const tasks = k.stats().tasks;
    blocks(() => p.syscall(A.__NR_fork));
    expect(k.stats()).toMatchObject({ tasks: tasks + 1, uffdEvents: 1, uffdCtxs: 2 });
    expect(p.syscall(A.__NR_getpid)).toBe(BigInt(p.pid)); // not the reissue: the wait is abandoned
    expect(k.stats()).toMatchObject({ tasks, uffdEvents: 0, uffdCtxs: 1 });
    expect(mu.read()).toEqual([]);
    ok(k);
  });

  it("wp-fork: uffd-wp bits are dropped in a child without EVENT_FORK and kept with it", async () => {
    for (const withEvent of [false, true]) {
      const { k } = await boot();
      const p = k.spawn({ caps: CAP_SYS_PTRACE });
      const mon = p.newThread();
      const u = new Userfaultfd(p, p.userfaultfd(A.O_NONBLOCK).fd, mon);
      u.api(withEvent ? A.UFFD_FEATURE_EVENT_FORK : 0n);
      const a = p.mmap(0, PAGE, RW, ANON);
      p.thread.store8(a, 1);
      u.register(a, PAGE, WP);
      u.writeProtect(a, PAGE, A.UFFDIO_WRITEPROTECT_MODE_WP);
      let cpid: number;
      if (withEvent) {
        blocks(() => p.syscall(A.__NR_fork));
        const [ev] = u.read();
        cpid = Number(p.syscall(A.__NR_fork));
        const c = k.adopt(cpid);
        const cu = new Userfaultfd(p, (ev as { ufd: number }).ufd, mon);
        expect(() => c.thread.store8(a, 2)).toThrow(WouldBlockError); // the child's PTE is still protected
        expect(cu.read()).toMatchObject([{ event: "pagefault", address: a, flags: BigInt(A.UFFD_PAGEFAULT_FLAG_WP | A.UFFD_PAGEFAULT_FLAG_WRITE) }]);
        cu.writeProtect(a, PAGE, 0);
        c.thread.store8(a, 2);
        expect(c.thread.load8(a)).toBe(2);
      } else {
        const c = p.fork();
        c.thread.store8(a, 2); // no bit in the child
        expect(c.thread.load8(a)).toBe(2);
      }
      expect(() => p.thread.store8(a, 3)).toThrow(WouldBlockError); // the parent keeps its bit
      ok(k);
    }
  });
});

describe("the restart block (kernel/restart.ts)", () => {
  it("a COPY whose out-field lies on a missing registered page waits for it, and does not copy twice", async () => {
    const { k, p, mon, uffd, a, src } = await setup();
    // the argument straddles two pages: its first 32 bytes on a plain page, the out-field on $a+PAGE
    const arg = a + PAGE - 32;
    uffd.unregister(a, PAGE);
    const t = p.newThread();
    const words = [BigInt(a + 2 * PAGE), BigInt(src), BigInt(PAGE), 0n];
    words.forEach((w, i) => t.store64(arg + 8 * i, w));
    const copy = () => t.syscall(A.__NR_ioctl, uffd.fd, A.UFFDIO_COPY, arg);
    expect(copy).toThrow(WouldBlockError); // the copy was done; writing the out-field faults
    const msgs = uffd.read();
    expect(msgs).toMatchObject([{ event: "pagefault", address: a + PAGE, flags: 1n }]);
    uffd.zeropage(a + PAGE, PAGE);
    expect(copy()).toBe(0n); // not EEXIST: the reissue only wrote the out-field
    expect(mon.load64(arg + 32)).toBe(BigInt(PAGE));
    expect(mon.load8(a + 2 * PAGE)).toBe(0x5a);
    ok(k);
  });
});

describe("argument write-backs that hit a userfault wait for it (no EFAULT)", () => {
  it("REGISTER's ioctls word on a missing registered page: the call waits, then returns the ioctls", async () => {
    const { k, p, mon, uffd, a } = await setup();
    uffd.unregister(a, PAGE);
    const arg = a + PAGE - 24; // start, len, mode on a plain page; ioctls on the registered $a+PAGE
    const t = p.newThread();
    const other = p.mmap(0, PAGE, RW, ANON);
    [BigInt(other), BigInt(PAGE), MISSING].forEach((w, i) => t.store64(arg + 8 * i, w));
    const reg = () => t.syscall(A.__NR_ioctl, uffd.fd, A.UFFDIO_REGISTER, arg);
    expect(reg).toThrow(WouldBlockError);
    expect(uffd.read()).toMatchObject([{ event: "pagefault", address: a + PAGE, flags: 1n }]);
    uffd.zeropage(a + PAGE, PAGE);
    expect(reg()).toBe(0n);
    expect(mon.load64(arg + 24)).toBe(0x13cn);
    ok(k);
  });
});

describe("thread modes", () => {
  it("async threads: a producer blocked in munmap under k.run resumes when a monitor thread reads", async () => {
    const { k, p, uffd, a } = await setup();
    const [prod, monT] = [p.newThread(), p.newThread()];
    const mu = new Userfaultfd(p, uffd.fd, monT);
    const seen: string[] = [];
    let ret = -1n;
    await k.run(11, [
      [prod, async (t) => { ret = await t.syscall(A.__NR_munmap, a, 4 * PAGE); seen.push("returned"); }],
      [monT, async (t) => {
        for (let i = 0; i < 1000 && seen.length === 0; i++) {
          const msgs = await t.op(() => mu.read());
          for (const m of msgs) seen.push(m.event);
          if (!msgs.length) await t.yield();
        }
      }],
    ]);
    expect(seen).toEqual(["unmap", "returned"]);
    expect(ret).toBe(0n);
    expect(k.stats().uffdEvents).toBe(0);
    ok(k);
  });

  it("worker threads: a worker blocked in munmap parks until the main thread reads its event", async () => {
    const { k, p, uffd, a } = await setup();
    const w = runInWorker<string>(k, p.newThread(), new URL("./fixtures/worker-syscall.mjs", import.meta.url), { nr: A.__NR_munmap, args: [a, 4 * PAGE] });
    let msgs: ReturnType<Userfaultfd["read"]> = [];
    const deadline = Date.now() + 10_000;
    while (msgs.length === 0 && Date.now() < deadline) {
      msgs = uffd.read();
      if (!msgs.length) await new Promise((r) => setTimeout(r, 1));
    }
    expect(msgs).toEqual([{ event: "unmap", start: a, end: a + 4 * PAGE }]);
    expect(await w).toBe("0");
    ok(k);
  });
});

describe("faults, fills and events racing (async threads, several seeds)", () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}: no lost wake-up, no deadlock, no leak, invariants hold`, async () => {
      const { k, p, uffd, a, src } = await setup(A.UFFD_FEATURE_EVENT_UNMAP | A.UFFD_FEATURE_EVENT_REMOVE | A.UFFD_FEATURE_EVENT_REMAP);
      const [f1, f2, prod, monT] = [p.newThread(), p.newThread(), p.newThread(), p.newThread()];
      const mu = new Userfaultfd(p, uffd.fd, monT);
      const pu = new Userfaultfd(p, uffd.fd, prod);
      let rnd = seed * 2654435761 >>> 0;
      const next = (n: number) => { rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0; return rnd % n; };
      let running = 3;
      let copies = 0;
      const events: string[] = [];
      const faulter = async (t: AsyncThread) => {
        for (let i = 0; i < 40; i++) {
          try { await t.load8(a + next(4) * PAGE); } catch (e) { if (!(e instanceof SegmentationFault)) throw e; }
        }
        running--;
      };
      await k.run(seed, [
        [f1, faulter],
        [f2, faulter],
        [prod, async (t) => {
          for (let i = 0; i < 12; i++) {
            const pg = a + next(4) * PAGE;
            if (next(2) === 0) {
              await t.syscall(A.__NR_madvise, pg, PAGE, A.MADV_DONTNEED);
            } else {
              await t.syscall(A.__NR_munmap, pg, PAGE);
              await t.syscall(A.__NR_mmap, pg, PAGE, RW, ANON | A.MAP_FIXED, -1, 0);
              await t.op(() => pu.register(pg, PAGE, MISSING));
            }
          }
          running--;
        }],
        [monT, async (t) => {
          const pending = new Set<number>();
          while (running > 0 || pending.size > 0) {
            for (const m of await t.op(() => mu.read())) {
              if (m.event === "pagefault") pending.add(m.address);
              else events.push(m.event);
            }
            for (const addr of [...pending]) {
              try {
                await t.op(() => mu.copy(addr, src, PAGE));
                pending.delete(addr);
                copies++;
              } catch (e) {
                if (!(e instanceof FillError)) throw e;
                if (e.code === "EAGAIN") continue; // an event is unread: read it first, then retry
                await t.op(() => mu.wake(addr, PAGE)); // EEXIST, or ENOENT: the page went away
                pending.delete(addr);
              }
            }
            await t.yield();
          }
        }],
      ]);
      expect(events.length).toBeGreaterThan(0);
      expect(copies).toBeGreaterThan(0);
      expect(k.stats().uffdEvents).toBe(0);
      ok(k);
      uffd.close();
      expect(k.stats()).toMatchObject({ uffdCtxs: 0, uffdEvents: 0 });
    });
  }
});

void ({} as Process | Thread | undefined);
