// userfaultfd ioctl errno rules the host-kernel oracle cannot express (they need a second process, seals, memory
// exhaustion or 65530 VMAs), and a COPY whose source waits, with async threads. The list of rules with where
// each is tested: tests/conformance/README-uffd-rows.md.
import { describe, it, expect } from "vitest";
import { boot, RW, ANON, PAGE, A, expectErrno } from "../helpers/kernel.js";
import { CAP_SYS_PTRACE, FillError, OutOfMemoryError, Userfaultfd, type Process } from "../../host-ts/index.js";

const MISSING = A.UFFDIO_REGISTER_MODE_MISSING;

/** A raw fill ioctl with the out-field preset to 0x1234: the return value and the out-field after. */
function raw(p: Process, fd: number, req: number, size: number, outOff: number, words: bigint[]): { ret: bigint; out: bigint } {
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  words.forEach((w, i) => dv.setBigUint64(8 * i, w, true));
  dv.setBigUint64(outOff, 0x1234n, true);
  const { ret, bytes } = p.ioctl(fd, req, b);
  return { ret, out: new DataView(bytes.buffer).getBigInt64(outOff, true) };
}

describe("the address space is gone (checked after the range and mode checks)", () => {
  it("REGISTER and UNREGISTER: ENOMEM; COPY and ZEROPAGE: ESRCH with the out-field untouched; WAKE succeeds", async () => {
    const { k, p } = await boot();
    const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    uffd.api();
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    uffd.register(a, PAGE, MISSING);
    const child = p.fork(); // inherits the fd; the ctx still serves the parent's mm
    p.exit(0);
    const cu = new Userfaultfd(child, uffd.fd);
    expectErrno(() => cu.register(a + PAGE, PAGE, MISSING), "ENOMEM");
    expectErrno(() => cu.unregister(a, PAGE), "ENOMEM");
    expect(raw(child, uffd.fd, A.UFFDIO_COPY, A.uffdio_copy.SIZEOF, A.uffdio_copy.copy, [BigInt(a), BigInt(a + PAGE), BigInt(PAGE), 0n])).toEqual({ ret: -BigInt(A.ESRCH), out: 0x1234n });
    expect(raw(child, uffd.fd, A.UFFDIO_ZEROPAGE, A.uffdio_zeropage.SIZEOF, A.uffdio_zeropage.zeropage, [BigInt(a), BigInt(PAGE), 0n])).toEqual({ ret: -BigInt(A.ESRCH), out: 0x1234n });
    cu.wake(a, PAGE);
    // argument checks still come first: a bad range is EINVAL, not ESRCH
    expect(raw(child, uffd.fd, A.UFFDIO_COPY, A.uffdio_copy.SIZEOF, A.uffdio_copy.copy, [BigInt(a + 1), BigInt(a + PAGE), BigInt(PAGE), 0n])).toEqual({ ret: -BigInt(A.EINVAL), out: 0x1234n });
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("REGISTER: no VM_MAYWRITE is EPERM", () => {
  it("a write-sealed memfd mapped MAP_SHARED read-only: MISSING, WP and MINOR all EPERM; mode 0 is still EINVAL first", async () => {
    const { k, p } = await boot();
    const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    uffd.api();
    const fd = p.memfdCreate("sealed", A.MFD_ALLOW_SEALING);
    p.ftruncate(fd, PAGE);
    p.fcntl(fd, A.F_ADD_SEALS, A.F_SEAL_WRITE);
    const m = p.mmap(0, PAGE, A.PROT_READ, A.MAP_SHARED, fd, 0);
    for (const mode of [MISSING, A.UFFDIO_REGISTER_MODE_WP, A.UFFDIO_REGISTER_MODE_MINOR]) expectErrno(() => uffd.register(m, PAGE, mode), "EPERM");
    expectErrno(() => uffd.register(m, PAGE, 0), "EINVAL");
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("COPY: allocation failure is ENOMEM", () => {
  it("with every frame in use COPY fails with ENOMEM (copy = -12) and changes nothing; it succeeds once memory is freed", async () => {
    const { k, p } = await boot({ memoryBytes: A.MIN_MEM_BYTES });
    const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    uffd.api();
    const dst = p.mmap(0, 2 * PAGE, RW, ANON);
    uffd.register(dst, 2 * PAGE, MISSING);
    const src = p.mmap(0, PAGE, RW, ANON);
    p.thread.fill(src, 0x42, PAGE);
    expect(uffd.zeropage(dst + PAGE, PAGE)).toBe(BigInt(PAGE)); // dst's page table exists now
    // Use up every frame.
    const hogPages = A.MIN_MEM_BYTES / PAGE;
    const hog = p.mmap(0, hogPages * PAGE, RW, ANON);
    let used = 0;
    try {
      for (; used < hogPages; used++) p.thread.store8(hog + used * PAGE, 1);
    } catch (e) {
      expect(e).toBeInstanceOf(OutOfMemoryError);
    }
    expect(used).toBeLessThan(hogPages);
    let err: unknown = null;
    try { uffd.copy(dst, src, PAGE); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(FillError);
    expect([(err as FillError).code, (err as FillError).bytes]).toEqual(["ENOMEM", -BigInt(A.ENOMEM)]);
    expect(k.checkInvariants()).toBe(true);
    p.munmap(hog, hogPages * PAGE);
    expect(uffd.copy(dst, src, PAGE)).toBe(BigInt(PAGE));
    expect(p.thread.load8(dst + 100)).toBe(0x42);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("COPY whose source page userfaults", () => {
  // Linux (mfill_atomic): the copy from the source with page faults disabled fails, the locks are
  // dropped, the copy is redone with faults enabled — it waits in the source's userfault — and
  // the fill goes on where it stopped: COPY of 2 pages returns 0 with copy = 8192.
  it("a 2-page COPY whose 2nd source page is MISSING-registered waits for it and completes (copy = 8192)", async () => {
    const { k } = await boot();
    const p = k.spawn({ caps: CAP_SYS_PTRACE });
    const uffd = p.userfaultfd(A.O_NONBLOCK); // not USER_MODE_ONLY: the kernel's own access waits
    uffd.api();
    const dst = p.mmap(0, 2 * PAGE, RW, ANON);
    const src = p.mmap(0, 2 * PAGE, RW, ANON);
    const fill = p.mmap(0, PAGE, RW, ANON);
    p.thread.fill(src, 7, PAGE);
    p.thread.fill(fill, 9, PAGE);
    uffd.register(dst, 2 * PAGE, MISSING);
    uffd.register(src + PAGE, PAGE, MISSING);
    const [caller, handler] = [p.newThread(), p.newThread()];
    const cu = new Userfaultfd(p, uffd.fd, caller);
    const hu = new Userfaultfd(p, uffd.fd, handler);
    let res: unknown = null;
    await k.run(3, [
      [caller, async (t) => { try { res = await t.op(() => cu.copy(dst, src, 2 * PAGE)); } catch (e) { res = e; } }],
      [handler, async (t) => {
        for (let i = 0; i < 1000; i++) {
          const m = hu.read();
          if (m.length) { expect(m).toEqual([{ event: "pagefault", flags: 0n, address: src + PAGE, ptid: 0 }]); hu.copy(src + PAGE, fill, PAGE); return; }
          await t.yield();
        }
        throw new Error("no message");
      }],
    ]);
    expect(k.checkInvariants()).toBe(true);
    expect(res).toBe(BigInt(2 * PAGE));
    expect([p.thread.load8(dst), p.thread.load8(dst + PAGE)]).toEqual([7, 9]);
  });
});

describe("REGISTER / UNREGISTER: a split beyond vm.max_map_count is ENOMEM", () => {
  it("with 65530 VMAs, REGISTER or mprotect of a page inside a VMA fails with ENOMEM; whole VMAs and single splits still work", async () => {
    const { k, p } = await boot({ memoryBytes: 64 << 20 });
    const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    uffd.api();
    // 65526 single pages with gaps (MAP_FIXED, descending: cheap to insert), then 4-page VMAs.
    const top = 0x6000_0000_0000;
    const big = top + 0x10_0000;
    p.mmap(big, 4 * PAGE, RW, ANON | A.MAP_FIXED);
    let count = p.vmas().length;
    for (let i = 0; count < A.DEFAULT_MAX_MAP_COUNT - 1; i++, count++) p.mmap(top - 2 * i * PAGE, PAGE, RW, ANON | A.MAP_FIXED);
    // One split still fits (map_count 65529 → 65530)...
    uffd.register(big, PAGE, MISSING);
    // ...then a split is ENOMEM, for REGISTER, UNREGISTER of part of a VMA and mprotect alike.
    expectErrno(() => uffd.register(big + 2 * PAGE, PAGE, MISSING), "ENOMEM");
    expectErrno(() => p.mprotect(big + 2 * PAGE, PAGE, A.PROT_READ), "ENOMEM");
    uffd.register(big + PAGE, 3 * PAGE, MISSING); // the whole rest of the VMA: no split
    expectErrno(() => uffd.unregister(big + 2 * PAGE, PAGE), "ENOMEM");
    uffd.unregister(big, 4 * PAGE); // merges back into one VMA: map_count 65529
    expectErrno(() => uffd.register(big + 2 * PAGE, PAGE, MISSING), "ENOMEM"); // the second of its two splits (the first stays, as in Linux)
    expectErrno(() => uffd.register(big + 3 * PAGE, PAGE, MISSING), "ENOMEM");
    p.munmap(top, PAGE); // one VMA fewer: room for one split
    uffd.register(big + 3 * PAGE, PAGE, MISSING);
    p.thread.store8(big + 2 * PAGE, 1); // not registered: no userfault
    expect(k.checkInvariants()).toBe(true);
  });
});
