// A blocking read() or write() holds its file while it waits (Linux's fdget in
// a shared fd table): a close() of the last descriptor by another thread releases nothing, the
// call goes on with its file and returns the next message or bytes, and the release happens as
// it returns (RESTART_RW, fs/read_write.ts).
import { describe, it, expect } from "vitest";
import { boot, RW, ANON, PAGE, A } from "../helpers/kernel.js";
import { WouldBlockError, Scheduler, runInWorker, type Thread } from "../../host-ts/index.js";

const parked = (t: Thread) => Atomics.load(new Int32Array(t.frame.buffer, t.frame.byteOffset + A.host_frame.wait_word, 1), 0) === 1;
const event = (t: Thread) => new DataView(t.bounce.buffer, t.bounce.byteOffset).getUint8(0);
const address = (t: Thread) => Number(new DataView(t.bounce.buffer, t.bounce.byteOffset).getBigUint64(16, true));

/** A blocking userfaultfd with two MISSING-registered pages. */
async function blockingUffd() {
  const { k } = await boot();
  const p = k.spawn();
  const u = p.userfaultfd(A.UFFD_USER_MODE_ONLY);
  u.api();
  const a = p.mmap(0, 2 * PAGE, RW, ANON);
  u.register(a, 2 * PAGE, 1);
  return { k, p, u, a };
}

describe("a blocking read() holds its file across another thread's close()", () => {
  it("userfaultfd: no release at the close; the reader returns the next fault; released as it returns", async () => {
    const { k, p, u, a } = await blockingUffd();
    const r = p.newThread();
    const read = () => r.syscall(A.__NR_read, u.fd, A.HOST_STAGING_BASE, A.UFFD_MSG_SIZE);
    expect(read).toThrow(WouldBlockError);
    u.close(); // the last descriptor
    expect(k.stats().uffdCtxs).toBe(1);
    expect(parked(r)).toBe(true);
    const f = p.newThread();
    expect(() => f.load8(a + PAGE)).toThrow(WouldBlockError); // still registered
    expect(parked(r)).toBe(false);
    expect(read()).toBe(BigInt(A.UFFD_MSG_SIZE));
    expect(event(r)).toBe(A.UFFD_EVENT_PAGEFAULT);
    expect(address(r)).toBe(a + PAGE);
    // The read let go of the file: released, the faulter woken, the range unregistered.
    expect(k.stats().uffdCtxs).toBe(0);
    expect(parked(f)).toBe(false);
    expect(f.load8(a + PAGE)).toBe(0);
    expect(p.thread.load8(a)).toBe(0);
    expect(r.syscall(A.__NR_read, u.fd, A.HOST_STAGING_BASE, A.UFFD_MSG_SIZE)).toBe(-BigInt(A.EBADF));
    expect(k.checkInvariants()).toBe(true);
  });

  it("a reader that gives up (its next call is another one) releases the file then", async () => {
    const { k, p, u, a } = await blockingUffd();
    const r = p.newThread();
    expect(() => r.syscall(A.__NR_read, u.fd, A.HOST_STAGING_BASE, A.UFFD_MSG_SIZE)).toThrow(WouldBlockError);
    u.close();
    expect(k.stats().uffdCtxs).toBe(1);
    expect(r.syscall(A.__NR_getpid)).toBe(BigInt(p.pid));
    expect(k.stats().uffdCtxs).toBe(0);
    expect(p.thread.load8(a)).toBe(0); // unregistered
    expect(k.checkInvariants()).toBe(true);
  });

  it("pipe: a read whose read end is closed by another thread still returns the bytes written next", async () => {
    const { k } = await boot();
    const p = k.spawn();
    const [rd, wr] = p.pipe();
    const r = p.newThread();
    const read = () => r.syscall(A.__NR_read, rd, A.HOST_STAGING_BASE, 8);
    expect(read).toThrow(WouldBlockError);
    const inodes = k.stats().inodes;
    p.close(rd);
    p.write(wr, new Uint8Array([7, 8])); // the held read end is still a reader: no EPIPE
    expect(read()).toBe(2n);
    expect(Array.from(r.bounce.subarray(0, 2))).toEqual([7, 8]);
    p.close(wr);
    expect(k.stats().inodes).toBe(inodes - 1);
    expect(k.checkInvariants()).toBe(true);
  });

  it("async threads: the closer's close() releases nothing; the reader gets the fault", async () => {
    for (const seed of [1, 2, 3]) {
      const { k, p, u, a } = await blockingUffd();
      const [reader, closer, faulter] = [p.newThread(), p.newThread(), p.newThread()];
      let closed = false;
      const order: string[] = [];
      await new Scheduler(k, seed).run([
        [reader, async (t) => {
          const n = await t.syscall(A.__NR_read, u.fd, A.HOST_STAGING_BASE, A.UFFD_MSG_SIZE);
          order.push(`read ${n} ${address(reader) - a} closed ${closed}`);
          expect(k.stats().uffdCtxs).toBe(0); // released as the read returned
        }],
        [closer, async (t) => {
          while (!parked(reader)) await t.yield();
          await t.op(() => u.close());
          closed = true;
          expect(k.stats().uffdCtxs).toBe(1);
        }],
        [faulter, async (t) => {
          while (!closed) await t.yield();
          expect(await t.load8(a + PAGE)).toBe(0); // woken by the release
          order.push("faulter");
        }],
      ]);
      expect(order).toEqual([`read ${A.UFFD_MSG_SIZE} ${PAGE} closed true`, "faulter"]);
      expect(k.checkInvariants()).toBe(true);
    }
  });

  it("worker threads: a worker parked in read() stays parked across the close and returns the fault", async () => {
    const { k, p, u, a } = await blockingUffd();
    const wt = p.newThread();
    const done = runInWorker<string>(k, wt, new URL("./fixtures/worker-syscall.mjs", import.meta.url), { nr: A.__NR_read, args: [u.fd, A.HOST_STAGING_BASE, A.UFFD_MSG_SIZE] });
    const deadline = Date.now() + 10_000;
    while (!parked(wt) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 1));
    expect(parked(wt)).toBe(true);
    u.close();
    await new Promise((res) => setTimeout(res, 20));
    expect(parked(wt)).toBe(true);
    expect(k.stats().uffdCtxs).toBe(1);
    const f = p.newThread();
    expect(() => f.load8(a)).toThrow(WouldBlockError);
    expect(await done).toBe(String(A.UFFD_MSG_SIZE));
    expect(address(wt)).toBe(a);
    expect(k.stats().uffdCtxs).toBe(0);
    expect(f.load8(a)).toBe(0);
    expect(k.checkInvariants()).toBe(true);
  });
});
