// userfaultfd MINOR faults, UFFDIO_CONTINUE and UFFDIO_POISON on shmem and anonymous memory, with
// Linux 6.18's errnos at/after EOF (uffd-unit-tests "minor" and "poison"; the differential
// cases are in tests/scenarios/uffd/continue-poison-writeprotect.json).
import { describe, it, expect } from "vitest";
import { boot, RW, ANON, PAGE, A, expectSignal } from "../helpers/kernel.js";
import { BusError, FillError, Userfaultfd, WouldBlockError, type Process } from "../../host-ts/index.js";

const MISSING = A.UFFDIO_REGISTER_MODE_MISSING;
const WP = A.UFFDIO_REGISTER_MODE_WP;
const MINOR = A.UFFDIO_REGISTER_MODE_MINOR;
const F_WRITE = BigInt(A.UFFD_PAGEFAULT_FLAG_WRITE);
const F_MINOR = BigInt(A.UFFD_PAGEFAULT_FLAG_MINOR);

/** Run a fill and return the FillError it throws (fails the test if it succeeds). */
function fillErr(fn: () => unknown): FillError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FillError);
    return e as FillError;
  }
  throw new Error("expected the fill to fail");
}

/**
 * A memfd of `size` pages (bytes 0x10 + page index), mapped twice: `alias` unregistered
 * MAP_SHARED (to populate the cache), `m` with `flags`, registered `mode` on a non-blocking
 * uffd; `mapLen` pages of `m` may extend past EOF.
 */
async function setup(mode: bigint, opts: { size?: number; mapLen?: number; flags?: number; populate?: boolean } = {}) {
  const { k, p } = await boot();
  const size = opts.size ?? 4;
  const mapLen = opts.mapLen ?? size;
  const fd = p.memfdCreate("minor");
  p.ftruncate(fd, size * PAGE);
  if (opts.populate ?? true) for (let i = 0; i < size; i++) p.pwrite(fd, new Uint8Array(PAGE).fill(0x10 + i), i * PAGE);
  const alias = p.mmap(0, size * PAGE, RW, A.MAP_SHARED, fd, 0);
  const m = p.mmap(0, mapLen * PAGE, RW, opts.flags ?? A.MAP_SHARED, fd, 0);
  const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
  uffd.api();
  const ioctls = uffd.register(m, mapLen * PAGE, mode);
  return { k, p, fd, alias, m, uffd, ioctls };
}

/** Raw ioctl with the out-field (at 24) preset to `marker`; returns ret and the out-field. */
function raw(p: Process, fd: number, req: number, start: number, len: number, mode: bigint, marker = 0x1234n) {
  const b = new Uint8Array(32);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, BigInt(start), true);
  dv.setBigUint64(8, BigInt(len), true);
  dv.setBigUint64(16, mode, true);
  dv.setBigInt64(24, marker, true);
  const r = p.ioctl(fd, req, b);
  return { ret: r.ret, out: new DataView(r.bytes.buffer, r.bytes.byteOffset).getBigInt64(24, true) };
}

describe("ABI", () => {
  it("struct uffdio_continue / uffdio_poison are 32 bytes with the out-field at 24; mode bits", () => {
    expect(A.uffdio_continue.SIZEOF).toBe(32);
    expect(A.uffdio_continue.mapped).toBe(24);
    expect(A.uffdio_poison.SIZEOF).toBe(32);
    expect(A.uffdio_poison.updated).toBe(24);
    expect([A.UFFDIO_CONTINUE_MODE_DONTWAKE, A.UFFDIO_CONTINUE_MODE_WP, A.UFFDIO_POISON_MODE_DONTWAKE]).toEqual([1n, 2n, 1n]);
  });
});

describe("UFFDIO_CONTINUE", () => {
  it("maps the cached page; again is EEXIST (mapped = -17); a partial range is EAGAIN with the bytes done", async () => {
    const { k, p, fd, m, uffd, ioctls } = await setup(MINOR);
    expect(ioctls).toBe(0x1bcn);
    expect(uffd.continue(m, PAGE)).toBe(BigInt(PAGE));
    expect(p.thread.load8(m + 7)).toBe(0x10);
    const e = fillErr(() => uffd.continue(m, PAGE));
    expect([e.code, e.bytes]).toEqual(["EEXIST", -17n]);
    uffd.continue(m + 3 * PAGE, PAGE);
    const part = fillErr(() => uffd.continue(m + 2 * PAGE, 2 * PAGE));
    expect([part.code, part.bytes]).toEqual(["EAGAIN", BigInt(PAGE)]);
    expect(p.thread.load8(m + 2 * PAGE)).toBe(0x12);
    // shared + VM_WRITE: the mapping is writable and writes reach the file
    p.thread.store8(m + 1, 0xee);
    expect(p.pread(fd, 2, 0)[1]).toBe(0xee);
    expect(uffd.read()).toEqual([]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("anonymous VMA → EINVAL (mapped = -22); unregistered → ENOENT (-2)", async () => {
    const { k, p } = await boot();
    const u = p.userfaultfd(A.UFFD_USER_MODE_ONLY);
    u.api();
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    u.register(a, 2 * PAGE, MISSING);
    const e = fillErr(() => u.continue(a, PAGE));
    expect([e.code, e.bytes]).toEqual(["EINVAL", -22n]);
    const plain = p.mmap(0, PAGE, RW, ANON);
    const e2 = fillErr(() => u.continue(plain, PAGE));
    expect([e2.code, e2.bytes]).toEqual(["ENOENT", -2n]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("hole inside EOF → EFAULT (-14); at/after EOF → EINVAL (-22), checked before the lookup (6.18's errno)", async () => {
    const { k, p, fd, m, uffd } = await setup(MINOR, { size: 2, mapLen: 3, populate: false });
    p.pwrite(fd, new Uint8Array([1]), 0); // page 0 cached, page 1 a hole, page 2 beyond EOF
    const hole = fillErr(() => uffd.continue(m + PAGE, PAGE));
    expect([hole.code, hole.bytes]).toEqual(["EFAULT", -14n]);
    const eof = fillErr(() => uffd.continue(m + 2 * PAGE, PAGE));
    expect([eof.code, eof.bytes]).toEqual(["EINVAL", -22n]);
    // a page cached beyond EOF (FALLOC_FL_KEEP_SIZE) is still EINVAL
    p.fallocate(fd, A.FALLOC_FL_KEEP_SIZE, 2 * PAGE, PAGE);
    const eof2 = fillErr(() => uffd.continue(m + 2 * PAGE, PAGE));
    expect([eof2.code, eof2.bytes]).toEqual(["EINVAL", -22n]);
    expect(uffd.continue(m, PAGE)).toBe(BigInt(PAGE));
    expect(p.fstat(fd).blocks).toBe(16n); // nothing allocated by the failed CONTINUEs
    expect(k.checkInvariants()).toBe(true);
  });

  it("bad mode, bad range, before UFFDIO_API: EINVAL with the out-field untouched; unreadable argument EFAULT", async () => {
    const { k, p, m, uffd } = await setup(MINOR);
    for (const [start, len, mode] of [[m, PAGE, 4n], [m, PAGE, 8n], [m + 1, PAGE, 0n], [m, 0, 0n], [m, PAGE + 1, 0n]] as const) {
      const r = raw(p, uffd.fd, A.UFFDIO_CONTINUE, start, len, mode);
      expect(r).toEqual({ ret: -BigInt(A.EINVAL), out: 0x1234n });
    }
    const u2 = p.userfaultfd(A.UFFD_USER_MODE_ONLY);
    expect(raw(p, u2.fd, A.UFFDIO_CONTINUE, m, PAGE, 0n)).toEqual({ ret: -BigInt(A.EINVAL), out: 0x1234n });
    // an unreadable argument is EFAULT
    expect(p.syscall(A.__NR_ioctl, uffd.fd, A.UFFDIO_CONTINUE, 0x10000)).toBe(-BigInt(A.EFAULT));
    expect(raw(p, uffd.fd, A.UFFDIO_CONTINUE, m, PAGE, 0n)).toEqual({ ret: 0n, out: BigInt(PAGE) });
    expect(k.checkInvariants()).toBe(true);
  });

  it("CONTINUE_MODE_WP on a VMA not registered WP → EINVAL (-22); on a WP|MINOR VMA the PTE is write-protected", async () => {
    const { k, m, uffd } = await setup(MINOR);
    const e = fillErr(() => uffd.continue(m, PAGE, A.UFFDIO_CONTINUE_MODE_WP));
    expect([e.code, e.bytes]).toEqual(["EINVAL", -22n]);
    const s2 = await setup(MINOR | WP);
    expect(s2.ioctls).toBe(0x1fcn);
    expect(s2.uffd.continue(s2.m, PAGE, A.UFFDIO_CONTINUE_MODE_WP)).toBe(BigInt(PAGE));
    expect(s2.p.thread.load8(s2.m)).toBe(0x10);
    const t = s2.p.newThread();
    expect(() => t.store8(s2.m, 1)).toThrow(WouldBlockError);
    expect(s2.uffd.read()).toEqual([{ event: "pagefault", flags: F_WRITE | BigInt(A.UFFD_PAGEFAULT_FLAG_WP), address: s2.m, ptid: 0 }]);
    expect(k.checkInvariants()).toBe(true);
    expect(s2.k.checkInvariants()).toBe(true);
  });

  it("works on a MISSING-only range too, and from another userfaultfd of the same mm", async () => {
    const { k, p, m, uffd, ioctls } = await setup(MISSING);
    expect(ioctls).toBe(0x13cn);
    // MISSING-only, page cached: a read maps it without a message, so continue on page 1 first
    expect(uffd.continue(m + PAGE, PAGE)).toBe(BigInt(PAGE));
    const u2 = p.userfaultfd(A.UFFD_USER_MODE_ONLY);
    u2.api();
    expect(u2.continue(m + 2 * PAGE, PAGE)).toBe(BigInt(PAGE));
    expect(p.thread.load8(m + 2 * PAGE)).toBe(0x12);
    expect(p.thread.load8(m)).toBe(0x10);
    expect(uffd.read()).toEqual([]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("after the creating process exited: ESRCH, out-field untouched (CONTINUE and POISON)", async () => {
    const { k, p, m, uffd } = await setup(MINOR);
    const child = p.fork();
    p.exit(0);
    expect(raw(child, uffd.fd, A.UFFDIO_CONTINUE, m, PAGE, 0n)).toEqual({ ret: -BigInt(A.ESRCH), out: 0x1234n });
    expect(raw(child, uffd.fd, A.UFFDIO_POISON, m, PAGE, 0n)).toEqual({ ret: -BigInt(A.ESRCH), out: 0x1234n });
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("MINOR faults end to end", () => {
  it("a read of a cached page faults MINOR (async threads); CONTINUE resolves it and wakes the faulter", async () => {
    const { k, p, m, uffd, alias } = await setup(MINOR);
    const [faulter, handler] = [p.newThread(), p.newThread()];
    const hu = new Userfaultfd(p, uffd.fd, handler);
    const seen: unknown[] = [];
    let got = -1;
    await k.run(11, [
      [faulter, async (t) => { got = await t.load8(m + PAGE + 3); }],
      [handler, async (t) => {
        for (;;) {
          const msgs = hu.read();
          if (msgs.length) {
            seen.push(...msgs);
            // the monitor edits the page through the unregistered alias, then CONTINUEs
            await t.store8(alias + PAGE + 3, 0x77);
            await t.op(() => hu.continue(m + PAGE, PAGE));
            return;
          }
          await t.yield();
        }
      }],
    ]);
    expect(seen).toEqual([{ event: "pagefault", flags: F_MINOR, address: m + PAGE, ptid: 0 }]);
    expect(got).toBe(0x77);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a write fault's message is MINOR|WRITE; the write lands in the file after CONTINUE", async () => {
    const { k, p, fd, m, uffd } = await setup(MINOR);
    const [faulter, handler] = [p.newThread(), p.newThread()];
    const hu = new Userfaultfd(p, uffd.fd, handler);
    const seen: unknown[] = [];
    await k.run(4, [
      [faulter, async (t) => { await t.store8(m + 2 * PAGE, 0xab); }],
      [handler, async (t) => {
        while (seen.length === 0) { seen.push(...hu.read()); await t.yield(); }
        hu.continue(m + 2 * PAGE, PAGE);
      }],
    ]);
    expect(seen).toEqual([{ event: "pagefault", flags: F_MINOR | F_WRITE, address: m + 2 * PAGE, ptid: 0 }]);
    expect(p.pread(fd, 2, 2 * PAGE)).toEqual(new Uint8Array([0xab, 0x12]));
    expect(k.checkInvariants()).toBe(true);
  });

  it("DONTWAKE leaves the faulter queued until WAKE", async () => {
    const { k, p, m, uffd } = await setup(MINOR);
    const t = p.newThread();
    expect(() => t.load8(m)).toThrow(WouldBlockError);
    expect(uffd.read()).toHaveLength(1);
    expect(uffd.continue(m, PAGE, A.UFFDIO_CONTINUE_MODE_DONTWAKE)).toBe(BigInt(PAGE));
    const [faulter, handler] = [p.newThread(), p.newThread()];
    let v = -1;
    let woke = false;
    await k.run(6, [
      [faulter, async (x) => { v = await x.load8(m + PAGE); }],
      [handler, async (x) => {
        while (uffd.read().length === 0) await x.yield();
        uffd.continue(m + PAGE, PAGE, A.UFFDIO_CONTINUE_MODE_DONTWAKE);
        for (let i = 0; i < 5; i++) await x.yield();
        woke = v !== -1;
        uffd.wake(m + PAGE, PAGE);
      }],
    ]);
    expect(woke).toBe(false);
    expect(v).toBe(0x11);
    expect(k.checkInvariants()).toBe(true);
  });

  it.each([
    ["MINOR", MINOR, "allocates", "MINOR"],
    ["MISSING", MISSING, "MISSING", "maps"],
    ["MISSING|MINOR", MISSING | MINOR, "MISSING", "MINOR"],
    ["WP", WP, "allocates", "maps"],
  ] as const)("registration %s: hole → %s, cached → %s", async (_n, mode, hole, cached) => {
    const { k, p, fd, m, uffd } = await setup(mode, { size: 2, populate: false });
    p.pwrite(fd, new Uint8Array([0x5c]), PAGE); // page 0 a hole, page 1 cached
    const t = p.newThread();
    if (hole === "MISSING") {
      expect(() => t.load8(m)).toThrow(WouldBlockError);
      expect(uffd.read()).toEqual([{ event: "pagefault", flags: 0n, address: m, ptid: 0 }]);
    } else {
      expect(t.load8(m)).toBe(0);
      expect(p.fstat(fd).blocks).toBe(16n); // shmem allocated a zero page
    }
    if (cached === "MINOR") {
      expect(() => t.load8(m + PAGE)).toThrow(WouldBlockError);
      expect(uffd.read()).toEqual([{ event: "pagefault", flags: F_MINOR, address: m + PAGE, ptid: 0 }]);
      uffd.continue(m + PAGE, PAGE);
    }
    expect(t.load8(m + PAGE)).toBe(0x5c);
    expect(uffd.read()).toEqual([]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("beyond EOF, MINOR or MISSING|MINOR: SIGBUS and no message (the size check comes before the userfault decision)", async () => {
    for (const mode of [MINOR, MISSING | MINOR]) {
      const { k, p, m, uffd } = await setup(mode, { size: 1, mapLen: 2 });
      expectSignal(() => p.thread.load8(m + PAGE), "SIGBUS");
      expectSignal(() => p.thread.store8(m + PAGE, 1), "SIGBUS");
      expect(uffd.read()).toEqual([]);
      expect(k.checkInvariants()).toBe(true);
    }
  });

  it("MAP_PRIVATE memfd: CONTINUE maps the cache page read-only; a write COWs privately, the file is unchanged", async () => {
    const { k, p, fd, m, uffd, alias, ioctls } = await setup(MINOR, { flags: A.MAP_PRIVATE });
    expect(ioctls).toBe(0x1bcn);
    const t = p.newThread();
    expect(() => t.load8(m)).toThrow(WouldBlockError);
    expect(uffd.read()).toEqual([{ event: "pagefault", flags: F_MINOR, address: m, ptid: 0 }]);
    expect(uffd.continue(m, PAGE)).toBe(BigInt(PAGE));
    expect(t.load8(m)).toBe(0x10);
    // the PTE maps the page-cache page itself (same frame as the shared alias), read-only
    expect(p.thread.translate(m)).toBe(p.thread.translate(alias));
    p.thread.store8(m, 0x99); // COW, no userfault
    expect(uffd.read()).toEqual([]);
    expect(p.thread.load8(m)).toBe(0x99);
    expect(p.thread.translate(m, true)).not.toBe(p.thread.translate(alias));
    expect(p.pread(fd, 1, 0)[0]).toBe(0x10);
    expect(p.thread.load8(alias)).toBe(0x10);
    // a write fault on a cached page of the private mapping is MINOR|WRITE too
    expect(() => t.store8(m + PAGE, 1)).toThrow(WouldBlockError);
    expect(uffd.read()).toEqual([{ event: "pagefault", flags: F_MINOR | F_WRITE, address: m + PAGE, ptid: 0 }]);
    uffd.continue(m + PAGE, PAGE);
    t.store8(m + PAGE, 1);
    expect(p.pread(fd, 1, PAGE)[0]).toBe(0x11);
    expect(k.checkInvariants()).toBe(true);
  });

  it("MAP_PRIVATE memfd, MISSING|MINOR: a write to a hole is MISSING|WRITE and is resolved privately (measured on 6.18.44)", async () => {
    const { k, p, fd, m, uffd } = await setup(MISSING | MINOR, { size: 1, flags: A.MAP_PRIVATE, populate: false });
    const t = p.newThread();
    expect(() => t.store8(m, 0x55)).toThrow(WouldBlockError);
    expect(uffd.read()).toEqual([{ event: "pagefault", flags: F_WRITE, address: m, ptid: 0 }]);
    expect(fillErr(() => uffd.continue(m, PAGE)).bytes).toBe(-14n); // nothing cached
    uffd.zeropage(m, PAGE);
    t.store8(m, 0x55);
    expect(p.pread(fd, 1, 0)[0]).toBe(0);
    expect(p.thread.load8(m)).toBe(0x55);
    expect(k.checkInvariants()).toBe(true);
  });

  it("uffd-unit-tests 'minor': pages edited through the alias become visible after CONTINUE", async () => {
    const n = 8;
    const { k, p, m, uffd, alias } = await setup(MINOR, { size: n });
    const [faulter, handler] = [p.newThread(), p.newThread()];
    const hu = new Userfaultfd(p, uffd.fd, handler);
    const vals: number[] = [];
    let msgs = 0;
    await k.run(21, [
      [faulter, async (t) => { for (let i = 0; i < n; i++) vals.push(await t.load8(m + i * PAGE + 100)); }],
      [handler, async (t) => {
        while (msgs < n) {
          for (const msg of hu.read()) {
            if (msg.event !== "pagefault") throw new Error("unexpected event");
            expect(msg.flags & F_MINOR).toBe(F_MINOR);
            msgs++;
            const page = msg.address - m;
            await t.store8(alias + page + 100, 0xf0 + page / PAGE); // the "modify the page" step
            hu.continue(msg.address, PAGE);
            // the helper repeats CONTINUE and requires EEXIST, then still wakes
            expect(fillErr(() => hu.continue(msg.address, PAGE)).bytes).toBe(-17n);
            hu.wake(msg.address, PAGE);
          }
          await t.yield();
        }
      }],
    ]);
    expect(vals).toEqual(Array.from({ length: n }, (_, i) => 0xf0 + i));
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("UFFDIO_POISON", () => {
  async function anonSetup() {
    const { k, p } = await boot();
    const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    uffd.api(); // features = 0: POISON needs no feature bit
    const a = p.mmap(0, 4 * PAGE, RW, ANON);
    uffd.register(a, 4 * PAGE, MISSING);
    return { k, p, uffd, a };
  }

  it("poisons empty PTEs; a read or write is SIGBUS at the address (BUS_ADRERR, as the reference 6.18.44 measured), no message; populated → EEXIST", async () => {
    const { k, p, uffd, a } = await anonSetup();
    expect(uffd.poison(a, 2 * PAGE)).toBe(BigInt(2 * PAGE));
    const r = expectSignal(() => p.thread.load8(a + 5), "SIGBUS");
    expect(r).toBeInstanceOf(BusError);
    expect([r.si_code, r.addr]).toEqual([A.BUS_ADRERR, a + 5]);
    const w = expectSignal(() => p.thread.store8(a + PAGE, 1), "SIGBUS");
    expect(w.si_code).toBe(A.BUS_ADRERR);
    expect(uffd.read()).toEqual([]);
    const again = fillErr(() => uffd.poison(a, PAGE));
    expect([again.code, again.bytes]).toEqual(["EEXIST", -17n]);
    uffd.zeropage(a + 2 * PAGE, PAGE);
    const pop = fillErr(() => uffd.poison(a + 2 * PAGE, PAGE));
    expect([pop.code, pop.bytes]).toEqual(["EEXIST", -17n]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a partial range is EAGAIN with the bytes done", async () => {
    const { k, p } = await boot();
    const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    uffd.api();
    const a = p.mmap(0, 3 * PAGE, RW, ANON);
    uffd.register(a, 3 * PAGE, MISSING);
    uffd.zeropage(a + PAGE, PAGE);
    const part = fillErr(() => uffd.poison(a, 3 * PAGE));
    expect([part.code, part.bytes]).toEqual(["EAGAIN", BigInt(PAGE)]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("bad mode / bad range: EINVAL, out-field untouched; unregistered: ENOENT (-2)", async () => {
    const { k, p, uffd, a } = await anonSetup();
    for (const [start, len, mode] of [[a, PAGE, 2n], [a, PAGE, 8n], [a + 1, PAGE, 0n], [a, 0, 0n]] as const) {
      expect(raw(p, uffd.fd, A.UFFDIO_POISON, start, len, mode)).toEqual({ ret: -BigInt(A.EINVAL), out: 0x1234n });
    }
    const plain = p.mmap(0, PAGE, RW, ANON);
    expect(raw(p, uffd.fd, A.UFFDIO_POISON, plain, PAGE, 0n)).toEqual({ ret: -BigInt(A.ENOENT), out: -2n });
    expect(raw(p, uffd.fd, A.UFFDIO_POISON, a, PAGE, 1n)).toEqual({ ret: 0n, out: BigInt(PAGE) });
    expect(k.checkInvariants()).toBe(true);
  });

  it("COPY overwrites the marker; ZEROPAGE on a private VMA is EEXIST; MADV_DONTNEED removes it (next access is MISSING)", async () => {
    const { k, p, uffd, a } = await anonSetup();
    const src = p.mmap(0, PAGE, RW, ANON);
    p.thread.fill(src, 0x3c, PAGE);
    uffd.poison(a, 3 * PAGE);
    expect(uffd.copy(a, src, PAGE)).toBe(BigInt(PAGE));
    expect(p.thread.load8(a)).toBe(0x3c);
    const z = fillErr(() => uffd.zeropage(a + PAGE, PAGE));
    expect([z.code, z.bytes]).toEqual(["EEXIST", -17n]);
    expectSignal(() => p.thread.load8(a + PAGE), "SIGBUS");
    p.madvise(a + PAGE, 2 * PAGE, A.MADV_DONTNEED);
    const t = p.newThread();
    expect(() => t.load8(a + 2 * PAGE)).toThrow(WouldBlockError);
    expect(uffd.read()).toEqual([{ event: "pagefault", flags: 0n, address: a + 2 * PAGE, ptid: 0 }]);
    uffd.zeropage(a + 2 * PAGE, PAGE);
    expect(t.load8(a + 2 * PAGE)).toBe(0);
    expect(k.checkInvariants()).toBe(true);
  });

  it("shmem: the marker is in the page table only (the alias reads the page); CONTINUE and shared ZEROPAGE overwrite it", async () => {
    const { k, p, fd, m, uffd, alias } = await setup(MISSING | MINOR, { size: 3 });
    expect(uffd.poison(m, 3 * PAGE)).toBe(BigInt(3 * PAGE));
    expectSignal(() => p.thread.load8(m), "SIGBUS");
    expect(p.thread.load8(alias)).toBe(0x10);
    expect(uffd.continue(m, PAGE)).toBe(BigInt(PAGE));
    expect(p.thread.load8(m)).toBe(0x10);
    p.fallocate(fd, A.FALLOC_FL_PUNCH_HOLE | A.FALLOC_FL_KEEP_SIZE, PAGE, PAGE);
    expect(uffd.zeropage(m + PAGE, PAGE)).toBe(BigInt(PAGE));
    expect(p.thread.load8(m + PAGE)).toBe(0);
    expectSignal(() => p.thread.store8(m + 2 * PAGE, 1), "SIGBUS");
    expect(uffd.read()).toEqual([]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a uffd-wp marker is refused (EEXIST) by POISON but overwritten by CONTINUE (measured on 6.18.44)", async () => {
    const { k, p, m, uffd } = await setup(MINOR | WP, { size: 2 });
    expect(uffd.continue(m, PAGE, A.UFFDIO_CONTINUE_MODE_WP)).toBe(BigInt(PAGE));
    p.madvise(m, PAGE, A.MADV_DONTNEED); // shmem + uffd-wp: a WP marker stays
    const e = fillErr(() => uffd.poison(m, PAGE));
    expect([e.code, e.bytes]).toEqual(["EEXIST", -17n]);
    expect(uffd.continue(m, PAGE)).toBe(BigInt(PAGE));
    expect(p.thread.load8(m)).toBe(0x10);
    expect(k.checkInvariants()).toBe(true);
  });

  it("at/after EOF: shmem shared and memfd MAP_PRIVATE → EFAULT (-14)", async () => {
    for (const flags of [A.MAP_SHARED, A.MAP_PRIVATE]) {
      const { k, p, m, uffd } = await setup(MISSING, { size: 1, mapLen: 2, flags });
      const e = fillErr(() => uffd.poison(m + PAGE, PAGE));
      expect([e.code, e.bytes]).toEqual(["EFAULT", -14n]);
      expect(uffd.poison(m, PAGE)).toBe(BigInt(PAGE));
      expectSignal(() => p.thread.load8(m), "SIGBUS");
      expect(k.checkInvariants()).toBe(true);
    }
  });

  it("a faulter blocked on the page is woken by POISON and gets SIGBUS (async threads)", async () => {
    const { k, p, uffd, a } = await anonSetup();
    const [faulter, handler] = [p.newThread(), p.newThread()];
    const hu = new Userfaultfd(p, uffd.fd, handler);
    let sig: unknown = null;
    await k.run(13, [
      [faulter, async (t) => { try { await t.load8(a + PAGE); } catch (e) { sig = e; } }],
      [handler, async (t) => {
        while (hu.read().length === 0) await t.yield();
        hu.poison(a + PAGE, PAGE);
      }],
    ]);
    expect(sig).toBeInstanceOf(BusError);
    expect((sig as BusError).si_code).toBe(A.BUS_ADRERR);
    expect(k.checkInvariants()).toBe(true);
  });

  it("uffd-unit-tests 'poison': one SIGBUS per poisoned page, others resolved by COPY", async () => {
    const n = 8;
    const { k, p } = await boot();
    const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    uffd.api(A.UFFD_FEATURE_POISON);
    const a = p.mmap(0, n * PAGE, RW, ANON);
    uffd.register(a, n * PAGE, MISSING);
    const src = p.mmap(0, PAGE, RW, ANON);
    p.thread.fill(src, 0x61, PAGE);
    const [faulter, handler] = [p.newThread(), p.newThread()];
    const hu = new Userfaultfd(p, uffd.fd, handler);
    let sigbus = 0;
    let ok = 0;
    let handled = 0;
    await k.run(17, [
      [faulter, async (t) => {
        for (let i = 0; i < n; i++) {
          try { if ((await t.load8(a + i * PAGE)) === 0x61) ok++; } catch (e) { if (e instanceof BusError) sigbus++; else throw e; }
        }
      }],
      [handler, async (t) => {
        while (handled < n) {
          for (const msg of hu.read()) {
            if (msg.event !== "pagefault") continue;
            handled++;
            if (((msg.address - a) / PAGE) % 2) hu.poison(msg.address, PAGE);
            else hu.copy(msg.address, src, PAGE);
          }
          await t.yield();
        }
      }],
    ]);
    expect([sigbus, ok]).toEqual([n / 2, n / 2]);
    expect(k.checkInvariants()).toBe(true);
  });
});
