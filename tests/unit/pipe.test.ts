// Pipes as Linux 6.18 has them (fs/pipe.c; the numbers were measured on the host): a ring of
// 16 page buffers, blocking writes that return the whole count, O_NONBLOCK writes of what fits
// (PIPE_BUF atomic), merging of small writes, reads of what is there, short counts only at a
// fault, F_SETPIPE_SZ / F_GETPIPE_SZ, FIONREAD, and page frames that come back on close.
import { describe, it, expect } from "vitest";
import { boot, RW, ANON, PAGE, A, rawErrno } from "../helpers/kernel.js";
import { CAP_SYS_PTRACE, CAP_SYS_RESOURCE, CAP_SYS_ADMIN, Userfaultfd, WouldBlockError, type Process, type Thread } from "../../host-ts/index.js";

const KiB = 1024;
const MiB = 1024 * KiB;

/** Bytes that differ from one offset to the next (a lost, doubled or reordered byte shows). */
function pattern(n: number, seed = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 12) * 13 + seed) & 255;
  return b;
}

/** A private anonymous buffer of `pages` pages holding `data` at its start. */
function buffer(p: Process, pages: number, data?: Uint8Array): number {
  const a = p.mmap(0, pages * PAGE, RW, ANON);
  if (data) p.thread.write(a, data);
  return a;
}

/** Byte-for-byte equality of two (possibly large) arrays. */
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

const sys = (t: Thread | Process, nr: number, ...args: (number | bigint)[]) => rawErrno(t.syscall(nr, ...args));
const write = (p: Process | Thread, fd: number, a: number, n: number) => sys(p, A.__NR_write, fd, a, n);
const read = (p: Process | Thread, fd: number, a: number, n: number) => sys(p, A.__NR_read, fd, a, n);
const fcntl = (p: Process, fd: number, cmd: number, arg: number | bigint) => sys(p, A.__NR_fcntl, fd, cmd, arg);

/** FIONREAD of `fd` (the int it stores). */
function fionread(p: Process, fd: number): number | string {
  const r = p.thread.syscall(A.__NR_ioctl, fd, A.FIONREAD, A.HOST_STAGING_BASE);
  if (r < 0n) return rawErrno(r) as string;
  return new DataView(p.thread.bounce.buffer, p.thread.bounce.byteOffset).getInt32(0, true);
}

/** Read everything buffered (O_NONBLOCK read end) into a fresh buffer; the bytes. */
function drain(p: Process, fd: number, max: number): Uint8Array {
  const pages = Math.ceil(max / PAGE) + 1;
  const a = buffer(p, pages);
  const n = p.thread.syscall(A.__NR_read, fd, a, max);
  expect(n).toBeGreaterThanOrEqual(0n);
  const out = p.thread.read(a, Number(n));
  p.munmap(a, pages * PAGE);
  return out;
}

describe("blocking writes return the whole count", () => {
  for (const n of [4096, 8192, 65536]) {
    it(`a write of ${n} bytes to an empty pipe returns ${n}; the reader gets them in order`, async () => {
      const { k, p } = await boot();
      const [r, w] = p.pipe();
      const data = pattern(n, n);
      const src = buffer(p, n / PAGE, data);
      expect(write(p, w, src, n)).toBe(BigInt(n));
      expect(fionread(p, r)).toBe(n);
      const dst = buffer(p, n / PAGE);
      expect(read(p, r, dst, n)).toBe(BigInt(n));
      expect(p.thread.read(dst, n)).toEqual(data);
      expect(k.checkInvariants()).toBe(true);
    });
  }

  it("a write of 65537 bytes to an empty pipe waits after 65536 until a reader drains, then returns 65537", async () => {
    const { k, p } = await boot();
    const [r, w] = p.pipe();
    const data = pattern(65537, 3);
    const src = buffer(p, 17, data);
    const wt = p.newThread();
    expect(() => wt.syscall(A.__NR_write, w, src, 65537)).toThrow(WouldBlockError);
    expect(fionread(p, r)).toBe(65536); // 16 pages went in before the wait
    const dst = buffer(p, 17);
    expect(read(p, r, dst, 4096)).toBe(4096n); // frees one slot
    expect(wt.syscall(A.__NR_write, w, src, 65537)).toBe(65537n); // the reissue writes the last byte only
    expect(read(p, r, dst + 4096, 65536)).toBe(61441n);
    expect(p.thread.read(dst, 65537)).toEqual(data);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a writer and a reader on async threads move 300,000 bytes intact, whatever the interleaving", async () => {
    const n = 300_000;
    for (const seed of [1, 2, 3, 4]) {
      const { k, p } = await boot();
      const [r, w] = p.pipe();
      const data = pattern(n, seed);
      const pages = Math.ceil(n / PAGE);
      const src = buffer(p, pages, data);
      const dst = buffer(p, pages);
      const [writer, reader] = [p.newThread(), p.newThread()];
      let wrote = 0n;
      const reads: bigint[] = [];
      await k.run(seed, [
        [writer, async (t) => { wrote = await t.syscall(A.__NR_write, w, src, n); }],
        [reader, async (t) => {
          let got = 0;
          while (got < n) {
            const c = await t.syscall(A.__NR_read, r, dst + got, Math.min(5000 + got % 7000, n - got));
            expect(c).toBeGreaterThan(0n);
            reads.push(c);
            got += Number(c);
          }
        }],
      ]);
      expect(wrote).toBe(BigInt(n));
      expect(same(p.thread.read(dst, n), data)).toBe(true);
      expect(reads.length).toBeGreaterThan(1);
      expect(k.checkInvariants()).toBe(true);
    }
  });

  it("writes of PIPE_BUF bytes from two writers never interleave inside a record", async () => {
    const { k, p } = await boot();
    const [r, w] = p.pipe();
    const records = 24;
    const a = buffer(p, 1, new Uint8Array(PAGE).fill(0xaa));
    const b = buffer(p, 1, new Uint8Array(PAGE).fill(0xbb));
    const dst = buffer(p, 2 * records);
    let got = 0;
    await k.run(7, [
      [p.newThread(), async (t) => { for (let i = 0; i < records; i++) expect(await t.syscall(A.__NR_write, w, a, PAGE)).toBe(BigInt(PAGE)); }],
      [p.newThread(), async (t) => { for (let i = 0; i < records; i++) expect(await t.syscall(A.__NR_write, w, b, PAGE)).toBe(BigInt(PAGE)); }],
      [p.newThread(), async (t) => {
        while (got < 2 * records * PAGE) got += Number(await t.syscall(A.__NR_read, r, dst + got, 3000));
      }],
    ]);
    const all = p.thread.read(dst, got);
    for (let i = 0; i < all.length; i += PAGE) {
      const rec = all.subarray(i, i + PAGE);
      expect(rec.every((x) => x === rec[0])).toBe(true);
    }
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("O_NONBLOCK and PIPE_BUF", () => {
  it("a write of 65537 bytes writes 65536; then a 1-byte write is EAGAIN", async () => {
    const { k, p } = await boot();
    const [r, w] = p.pipe(A.O_NONBLOCK);
    const src = buffer(p, 17, pattern(65537));
    expect(write(p, w, src, 65537)).toBe(65536n);
    expect(write(p, w, src, 1)).toBe("EAGAIN");
    expect(drain(p, r, 100_000)).toEqual(pattern(65536));
    expect(read(p, r, src, 1)).toBe("EAGAIN");
    expect(k.checkInvariants()).toBe(true);
  });

  it("16 writes of 1 byte share one buffer: 15 slots stay free (61440 more bytes), F_SETPIPE_SZ 4096 fits", async () => {
    const { k, p } = await boot();
    const [r, w] = p.pipe(A.O_NONBLOCK);
    const src = buffer(p, 16, pattern(65536));
    for (let i = 0; i < 16; i++) expect(write(p, w, src, 1)).toBe(1n);
    expect(write(p, w, src, 65536)).toBe(61440n);
    expect(fcntl(p, w, A.F_SETPIPE_SZ, 4096)).toBe("EBUSY"); // 16 slots in use now
    expect(drain(p, r, 100_000).length).toBe(16 + 61440);
    for (let i = 0; i < 16; i++) write(p, w, src, 1);
    expect(fcntl(p, w, A.F_SETPIPE_SZ, 4096)).toBe(4096n); // one slot in use
    expect(write(p, w, src, 4096)).toBe("EAGAIN"); // a whole page does not merge: atomic, all or nothing
    expect(write(p, w, src, 100)).toBe(100n); // merges into the last buffer of a full ring
    expect(fionread(p, r)).toBe(116);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a write's tail merges into the last buffer first, then whole pages fill free slots (61640 after 100)", async () => {
    const { k, p } = await boot();
    const [r, w] = p.pipe(A.O_NONBLOCK);
    const src = buffer(p, 17, pattern(65736, 9));
    expect(write(p, w, src, 100)).toBe(100n);
    expect(write(p, w, src, 65736)).toBe(61640n);
    const got = drain(p, r, 100_000);
    expect(got.length).toBe(61740);
    expect(got.subarray(100)).toEqual(pattern(65736, 9).subarray(0, 61640));
    expect(k.checkInvariants()).toBe(true);
  });

  it("a full 2-slot ring: a PIPE_BUF write is EAGAIN, a write that merges goes in", async () => {
    const { k, p } = await boot();
    const [, w] = p.pipe(A.O_NONBLOCK);
    expect(fcntl(p, w, A.F_SETPIPE_SZ, 8192)).toBe(8192n);
    const src = buffer(p, 2, pattern(8192));
    expect(write(p, w, src, 1)).toBe(1n);
    expect(write(p, w, src, 4096)).toBe(4096n);
    expect(write(p, w, src, 4095)).toBe("EAGAIN");
    expect(write(p, w, src, 1)).toBe("EAGAIN"); // the last buffer is full
    expect(k.checkInvariants()).toBe(true);
  });

  it("a blocking write of at most PIPE_BUF bytes that does not fit waits and then goes in whole", async () => {
    const { k, p } = await boot();
    const [r, w] = p.pipe();
    expect(fcntl(p, w, A.F_SETPIPE_SZ, 4096)).toBe(4096n);
    const src = buffer(p, 2, pattern(8192));
    expect(write(p, w, src, 4000)).toBe(4000n);
    const wt = p.newThread();
    expect(() => wt.syscall(A.__NR_write, w, src, 200)).toThrow(WouldBlockError); // 96 bytes of room: none written
    expect(fionread(p, r)).toBe(4000);
    expect(drain(p, r, 10).length).toBe(10); // frees nothing: the buffer still holds 3990
    expect(() => wt.syscall(A.__NR_write, w, src, 200)).toThrow(WouldBlockError);
    drain(p, r, 4000);
    expect(wt.syscall(A.__NR_write, w, src, 200)).toBe(200n);
    expect(fionread(p, r)).toBe(200);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("reads return what is there", () => {
  it("a read of more than is buffered returns what there is without waiting", async () => {
    const { k, p } = await boot();
    const [r, w] = p.pipe();
    const src = buffer(p, 3, pattern(9000));
    expect(write(p, w, src, 9000)).toBe(9000n);
    const dst = buffer(p, 5);
    expect(read(p, r, dst, 16384)).toBe(9000n);
    expect(p.thread.read(dst, 9000)).toEqual(pattern(9000));
    const rt = p.newThread();
    expect(() => rt.syscall(A.__NR_read, r, dst, 16384)).toThrow(WouldBlockError); // empty, a writer open
    expect(write(p, w, src, 5)).toBe(5n);
    expect(rt.syscall(A.__NR_read, r, dst, 16384)).toBe(5n);
    p.close(w);
    expect(read(p, r, dst, 1)).toBe(0n); // end of file
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("faults end a call with the bytes before the faulting page", () => {
  it("a write of 8192 bytes whose second source page is unmapped returns 4096", async () => {
    const { k, p } = await boot();
    const [r, w] = p.pipe(A.O_NONBLOCK);
    const src = buffer(p, 3, pattern(3 * PAGE));
    p.munmap(src + PAGE, PAGE);
    expect(write(p, w, src, 8192)).toBe(4096n);
    expect(fionread(p, r)).toBe(4096);
    expect(write(p, w, src + 100, 8192)).toBe("EFAULT"); // the first page copied only in part: dropped
    expect(write(p, w, src + 4050, 100)).toBe("EFAULT"); // the merge into the last buffer faults
    expect(drain(p, r, 100_000)).toEqual(pattern(PAGE));
    expect(write(p, w, src + 100, 4096)).toBe("EFAULT");
    expect(fionread(p, r)).toBe(0); // nothing buffered, no empty slot left behind
    expect(read(p, r, src, 1)).toBe("EAGAIN");
    expect(k.checkInvariants()).toBe(true);
  });

  it("a read into a buffer whose second page is unmapped returns the first buffer only; the rest stays", async () => {
    const { k, p } = await boot();
    const [r, w] = p.pipe(A.O_NONBLOCK);
    const src = buffer(p, 2, pattern(8192, 5));
    expect(write(p, w, src, 8192)).toBe(8192n);
    const dst = buffer(p, 3);
    p.munmap(dst + PAGE, PAGE);
    expect(read(p, r, dst, 8192)).toBe(4096n);
    expect(read(p, r, dst + PAGE - 10, 4096)).toBe("EFAULT"); // 10 bytes reached the user, none consumed
    expect(fionread(p, r)).toBe(4096);
    expect(drain(p, r, 8192)).toEqual(pattern(8192, 5).subarray(4096));
    expect(k.checkInvariants()).toBe(true);
  });

  it("a userfault on the second source page waits (holding the pipe), then the write completes with 8192", async () => {
    const { k } = await boot();
    const p = k.spawn({ caps: CAP_SYS_PTRACE }); // a uffd that handles kernel-mode faults
    const uffd = p.userfaultfd(A.O_NONBLOCK);
    uffd.api();
    const src = buffer(p, 2, pattern(PAGE, 1));
    uffd.register(src + PAGE, PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
    const fill = buffer(p, 1, pattern(PAGE, 2));
    const [r, w] = p.pipe();
    const [writer, other, handler] = [p.newThread(), p.newThread(), p.newThread()];
    expect(() => writer.syscall(A.__NR_write, w, src, 8192)).toThrow(WouldBlockError);
    const hu = new Userfaultfd(p, uffd.fd, handler);
    expect(hu.read()).toEqual([{ event: "pagefault", flags: 0n, address: src + PAGE, ptid: 0 }]);
    expect(k.checkInvariants()).toBe(true); // the mutex's owner waits in its write
    // The writer sleeps in the fault holding pipe->mutex: readers, FIONREAD and fcntl wait.
    const dst = buffer(p, 2);
    expect(() => other.syscall(A.__NR_read, r, dst, 8192)).toThrow(WouldBlockError);
    expect(() => other.syscall(A.__NR_fcntl, r, A.F_GETPIPE_SZ, 0)).toThrow(WouldBlockError);
    hu.copy(src + PAGE, fill, PAGE);
    expect(writer.syscall(A.__NR_write, w, src, 8192)).toBe(8192n);
    expect(other.syscall(A.__NR_read, r, dst, 8192)).toBe(8192n);
    expect(p.thread.read(dst, 8192)).toEqual(new Uint8Array([...pattern(PAGE, 1), ...pattern(PAGE, 2)]));
    expect(k.checkInvariants()).toBe(true);
  });

  it("the same write on async threads with a handler thread returns 8192", async () => {
    const { k } = await boot();
    const p = k.spawn({ caps: CAP_SYS_PTRACE });
    const uffd = p.userfaultfd(A.O_NONBLOCK);
    uffd.api();
    const src = buffer(p, 2, pattern(PAGE, 1));
    uffd.register(src + PAGE, PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
    const fill = buffer(p, 1, pattern(PAGE, 2));
    const [r, w] = p.pipe();
    const dst = buffer(p, 2);
    const [writer, reader, handler] = [p.newThread(), p.newThread(), p.newThread()];
    const hu = new Userfaultfd(p, uffd.fd, handler);
    let wrote = 0n;
    let got = 0;
    await k.run(5, [
      [writer, async (t) => { wrote = await t.syscall(A.__NR_write, w, src, 8192); }],
      [reader, async (t) => { while (got < 8192) got += Number(await t.syscall(A.__NR_read, r, dst + got, 8192 - got)); }],
      [handler, async (t) => {
        for (;;) {
          const m = hu.read();
          if (m.length) { hu.copy(src + PAGE, fill, PAGE); return; }
          await t.yield();
        }
      }],
    ]);
    expect(wrote).toBe(8192n);
    expect(p.thread.read(dst, 8192)).toEqual(new Uint8Array([...pattern(PAGE, 1), ...pattern(PAGE, 2)]));
    expect(k.checkInvariants()).toBe(true);
  });

  it("a writer that gives up its userfault wait lets go of the pipe: the first page stays, the partial one does not", async () => {
    const { k } = await boot();
    const p = k.spawn({ caps: CAP_SYS_PTRACE });
    const uffd = p.userfaultfd(A.O_NONBLOCK);
    uffd.api();
    const src = buffer(p, 3, pattern(2 * PAGE, 4));
    uffd.register(src + 2 * PAGE, PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
    const [r, w] = p.pipe(A.O_NONBLOCK);
    const writer = p.newThread();
    expect(() => writer.syscall(A.__NR_write, w, src + 100, 3 * PAGE - 100)).toThrow(WouldBlockError);
    expect(() => p.thread.syscall(A.__NR_read, r, A.HOST_STAGING_BASE, 1)).toThrow(WouldBlockError);
    expect(writer.syscall(A.__NR_getpid)).toBe(BigInt(p.pid)); // abandons the write
    expect(drain(p, r, 3 * PAGE)).toEqual(pattern(2 * PAGE, 4).subarray(100, 100 + PAGE));
    expect(k.checkInvariants()).toBe(true);
  });

  it("with UFFD_USER_MODE_ONLY the kernel's copy is not a userfault: the write returns 4096", async () => {
    const { k, p } = await boot();
    const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    uffd.api();
    const src = buffer(p, 2, pattern(PAGE));
    uffd.register(src + PAGE, PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
    const [r, w] = p.pipe();
    expect(write(p, w, src, 8192)).toBe(4096n);
    expect(fionread(p, r)).toBe(4096);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a userfault on the destination of a read waits, then the read returns all 8192 bytes", async () => {
    const { k } = await boot();
    const p = k.spawn({ caps: CAP_SYS_PTRACE });
    const uffd = p.userfaultfd(A.O_NONBLOCK);
    uffd.api();
    const [r, w] = p.pipe();
    const src = buffer(p, 2, pattern(8192, 6));
    expect(write(p, w, src, 8192)).toBe(8192n);
    const dst = buffer(p, 2);
    uffd.register(dst + PAGE, PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
    const [reader, handler] = [p.newThread(), p.newThread()];
    expect(() => reader.syscall(A.__NR_read, r, dst, 8192)).toThrow(WouldBlockError);
    expect(() => fionread(p, r)).toThrow(WouldBlockError); // the reader holds pipe->mutex
    const hu = new Userfaultfd(p, uffd.fd, handler);
    expect(hu.read()).toMatchObject([{ event: "pagefault", address: dst + PAGE }]);
    hu.zeropage(dst + PAGE, PAGE);
    expect(reader.syscall(A.__NR_read, r, dst, 8192)).toBe(8192n);
    expect(p.thread.read(dst, 8192)).toEqual(pattern(8192, 6));
    expect(fionread(p, r)).toBe(0);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("F_SETPIPE_SZ and F_GETPIPE_SZ", () => {
  it("round to a power of two of pages; refuse above 1 MiB without CAP_SYS_RESOURCE and above 2 GiB; take an unsigned int", async () => {
    const { k, p } = await boot();
    const rows: [number | bigint, bigint | string][] = [
      [0, 4096n], [1, 4096n], [4095, 4096n], [4096, 4096n], [4097, 8192n], [12288, 16384n], [MiB, BigInt(MiB)],
      [MiB + 1, "EPERM"], [2 ** 31, "EPERM"], [2 ** 31 + 1, "EINVAL"], [0xffffffff, "EINVAL"],
      [(1n << 32n) | 8192n, 8192n], [-1n, "EINVAL"],
    ];
    for (const [arg, want] of rows) {
      const [r, w] = p.pipe();
      expect(fcntl(p, r, A.F_GETPIPE_SZ, 0)).toBe(65536n);
      expect([arg, fcntl(p, r, A.F_SETPIPE_SZ, arg)]).toEqual([arg, want]);
      expect(fcntl(p, w, A.F_GETPIPE_SZ, 0)).toBe(typeof want === "bigint" ? want : 65536n);
      p.close(r);
      p.close(w);
    }
    const m = p.memfdCreate("m");
    expect(fcntl(p, m, A.F_GETPIPE_SZ, 0)).toBe("EBADF");
    expect(fcntl(p, m, A.F_SETPIPE_SZ, 4096)).toBe("EBADF");
    expect(k.checkInvariants()).toBe(true);
  });

  it("EBUSY below the slots in use; a shrink or growth keeps the bytes in order across the ring's wrap", async () => {
    const { k, p } = await boot();
    const [r, w] = p.pipe(A.O_NONBLOCK);
    const data = pattern(20 * PAGE, 8);
    const src = buffer(p, 20, data);
    expect(write(p, w, src, 14 * PAGE)).toBe(BigInt(14 * PAGE));
    expect(drain(p, r, 12 * PAGE)).toEqual(data.subarray(0, 12 * PAGE)); // tail at slot 12
    expect(write(p, w, src + 14 * PAGE, 5 * PAGE)).toBe(BigInt(5 * PAGE)); // wraps: 7 slots in use
    expect(fcntl(p, w, A.F_SETPIPE_SZ, 4 * PAGE)).toBe("EBUSY");
    expect(fcntl(p, w, A.F_SETPIPE_SZ, 8 * PAGE)).toBe(BigInt(8 * PAGE));
    expect(write(p, w, src + 19 * PAGE, PAGE)).toBe(BigInt(PAGE));
    expect(write(p, w, src, 1)).toBe("EAGAIN");
    expect(fcntl(p, w, A.F_SETPIPE_SZ, 64 * PAGE)).toBe(BigInt(64 * PAGE));
    expect(drain(p, r, 20 * PAGE)).toEqual(data.subarray(12 * PAGE));
    expect(k.checkInvariants()).toBe(true);
  });

  it("with CAP_SYS_RESOURCE a pipe grows past 1 MiB (a 4 MiB ring of 1024 slots) and holds that much", async () => {
    const { k } = await boot({ memoryBytes: 64 << 20 });
    const p = k.spawn({ caps: CAP_SYS_RESOURCE });
    const [r, w] = p.pipe(A.O_NONBLOCK);
    expect(fcntl(p, w, A.F_SETPIPE_SZ, 3 * MiB)).toBe(BigInt(4 * MiB));
    const data = pattern(4 * MiB + PAGE, 11);
    const src = buffer(p, 4 * MiB / PAGE + 1, data);
    expect(write(p, w, src, 4 * MiB + PAGE)).toBe(BigInt(4 * MiB));
    expect(fionread(p, r)).toBe(4 * MiB);
    expect(same(drain(p, r, 5 * MiB), data.subarray(0, 4 * MiB))).toBe(true);
    expect(fcntl(p, w, A.F_SETPIPE_SZ, 2 ** 31)).toBe(BigInt(2 ** 31)); // the ring only: pages come with data
    expect(k.checkInvariants()).toBe(true);
  });

  it("the user's soft limit: past 16384 slots an unprivileged task cannot grow a pipe and gets 2-slot pipes", async () => {
    const { k, p } = await boot();
    const pipes: number[][] = [];
    for (let i = 0; i < 64; i++) {
      const [r, w] = p.pipe();
      pipes.push([r, w]);
      expect(fcntl(p, w, A.F_SETPIPE_SZ, MiB)).toBe(BigInt(MiB)); // 64 x 256 slots = 16384
    }
    const [r, w] = p.pipe(); // 16400 slots now: over the limit, it gets 2
    expect(fcntl(p, w, A.F_GETPIPE_SZ, 0)).toBe(8192n);
    expect(fcntl(p, w, A.F_SETPIPE_SZ, 16384)).toBe("EPERM");
    expect(fcntl(p, w, A.F_SETPIPE_SZ, 4096)).toBe(4096n); // shrinking is always allowed
    const admin = k.spawn({ caps: CAP_SYS_ADMIN });
    const [ar, aw] = admin.pipe();
    expect(fcntl(admin, aw, A.F_GETPIPE_SZ, 0)).toBe(65536n);
    admin.close(ar);
    admin.close(aw);
    p.close(r);
    p.close(w);
    p.close(pipes[0][0]);
    p.close(pipes[0][1]); // back under the limit
    const [, w2] = p.pipe();
    expect(fcntl(p, w2, A.F_GETPIPE_SZ, 0)).toBe(65536n);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("FIONREAD", () => {
  it("a pipe's buffered bytes on either end; a memfd's size minus the position; ENOTTY for other pipe ioctls", async () => {
    const { k, p } = await boot();
    const [r, w] = p.pipe();
    p.write(w, new Uint8Array([1, 2, 3]));
    expect(fionread(p, r)).toBe(3);
    expect(fionread(p, w)).toBe(3);
    expect(sys(p, A.__NR_ioctl, r, A.FIONREAD, 0)).toBe("EFAULT");
    expect(sys(p, A.__NR_ioctl, r, 0x5401, A.HOST_STAGING_BASE)).toBe("ENOTTY");
    const m = p.memfdCreate("m");
    p.ftruncate(m, 10000);
    expect(sys(p, A.__NR_lseek, m, 100, A.SEEK_SET)).toBe(100n);
    expect(fionread(p, m)).toBe(9900);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("pipe memory", () => {
  it("buffers are page frames: taken as data arrives, all back when both ends close", async () => {
    const { k, p } = await boot();
    const src = buffer(p, 16, pattern(65536));
    const dst = buffer(p, 16, new Uint8Array(65536)); // faulted in before counting
    const before = k.stats();
    const [r, w] = p.pipe();
    expect(write(p, w, src, 65536)).toBe(65536n);
    expect(k.stats().freeFrames).toBeLessThanOrEqual(before.freeFrames - 17); // 16 buffers and the ring
    expect(read(p, r, dst, 65536)).toBe(65536n);
    expect(fcntl(p, w, A.F_SETPIPE_SZ, 8192)).toBe(8192n);
    expect(write(p, w, src, 5000)).toBe(5000n);
    p.close(r);
    p.close(w);
    const after = k.stats();
    expect(after.freeFrames + (after.slabFrames - before.slabFrames)).toBe(before.freeFrames);
    expect(k.checkInvariants()).toBe(true);
  });

  it("no memory for a buffer: the write returns what it wrote, then ENOMEM; nothing leaks", async () => {
    const { k, p } = await boot({ memoryBytes: 16 << 20 });
    const src = buffer(p, 16, pattern(65536));
    const dst = buffer(p, 4, new Uint8Array(4 * PAGE));
    const before = k.stats();
    const [r, w] = p.pipe(A.O_NONBLOCK);
    // Take free frames until 3 are left.
    const pages = before.freeFrames;
    const hog = p.mmap(0, pages * PAGE, RW, ANON);
    for (let i = 0; k.stats().freeFrames > 3; i++) p.thread.store8(hog + i * PAGE, 1);
    expect(write(p, w, src, 65536)).toBe(3n * BigInt(PAGE));
    expect(write(p, w, src, 4096)).toBe("ENOMEM");
    expect(read(p, r, dst, 4 * PAGE)).toBe(3n * BigInt(PAGE));
    expect(p.thread.read(dst, 3 * PAGE)).toEqual(pattern(3 * PAGE));
    p.munmap(hog, pages * PAGE);
    p.close(r);
    p.close(w);
    const after = k.stats();
    expect(after.freeFrames + (after.slabFrames - before.slabFrames)).toBe(before.freeFrames);
    expect(k.checkInvariants()).toBe(true);
  });
});
