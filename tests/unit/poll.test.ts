// poll(2) on userfaultfds and other files (fs/userfaultfd.c userfaultfd_poll), and the pipe wait queues it sleeps on
// (kernel/wait.ts, fs/pipe.ts): a poll sleeps on every file of its set that can become ready; a
// blocking pipe read or write waits for data, room or the other end's close.
import { describe, it, expect } from "vitest";
import { boot, RW, ANON, PAGE, A, expectErrno } from "../helpers/kernel.js";
import { Userfaultfd, WouldBlockError, Scheduler, runInWorker, type Kernel, type Process, type Thread } from "../../host-ts/index.js";

/** Whether `t` is parked (its wait word is 1). */
const parked = (t: Thread) => Atomics.load(new Int32Array(t.frame.buffer, t.frame.byteOffset + A.host_frame.wait_word, 1), 0) === 1;

/** poll by `t` with timeout -1 must wait: the synchronous API throws WouldBlockError and `t` is parked. */
function pollWaits(p: Process, t: Thread, fds: { fd: number; events: number }[]): void {
  expect(() => p.poll(fds, -1, t)).toThrow(WouldBlockError);
  expect(parked(t)).toBe(true);
}

/** A non-blocking userfaultfd with a MISSING-registered page, and a pipe. */
async function uffdAndPipe(pipeFlags = 0) {
  const { k, p } = await boot();
  const u = p.userfaultfd(A.UFFD_USER_MODE_ONLY | A.O_NONBLOCK);
  u.api();
  const a = p.mmap(0, PAGE, RW, ANON);
  u.register(a, PAGE, 1);
  const [r, w] = p.pipe(pipeFlags);
  return { k, p, u, a, r, w };
}

const slab = (k: Kernel) => k.stats().slabFrames;

describe("poll", () => {
  it("a userfaultfd: POLLERR before UFFDIO_API and when blocking, POLLIN with an unread fault, 0 once read", async () => {
    const { k, p } = await boot();
    const u = p.userfaultfd(A.UFFD_USER_MODE_ONLY);
    expect(p.poll([{ fd: u.fd, events: A.POLLIN }])).toEqual([A.POLLERR]);
    u.api();
    expect(p.poll([{ fd: u.fd, events: A.POLLIN }])).toEqual([A.POLLERR]); // blocking fd
    p.fcntl(u.fd, A.F_SETFL, A.O_NONBLOCK);
    expect(p.poll([{ fd: u.fd, events: A.POLLIN }])).toEqual([0]);
    const a = p.mmap(0, PAGE, RW, ANON);
    u.register(a, PAGE, 1);
    const t = p.newThread();
    expect(() => t.load8(a)).toThrow(WouldBlockError);
    const t2 = p.newThread();
    // t's wait was abandoned only if t re-enters; its message is still unread here.
    expect(p.poll([{ fd: u.fd, events: A.POLLIN }], 0, t2)).toEqual([A.POLLIN]);
    expect(u.read()).toHaveLength(1);
    expect(p.poll([{ fd: u.fd, events: A.POLLIN }], 0, t2)).toEqual([0]); // read but unresolved: not counted
    u.zeropage(a, PAGE);
    expect(t.load8(a)).toBe(0);
    expect(k.checkInvariants()).toBe(true);
  });

  it("POLLNVAL for a closed fd, negative fds are ignored, memfds are always ready, pipes by content", async () => {
    const { p } = await boot();
    const fd = p.memfdCreate("m");
    const [r, w] = p.pipe();
    expect(p.poll([{ fd: 999, events: A.POLLIN }, { fd: -1, events: A.POLLIN }, { fd, events: A.POLLIN | A.POLLOUT }])).toEqual([A.POLLNVAL, 0, A.POLLIN | A.POLLOUT]);
    expect(p.poll([{ fd: r, events: A.POLLIN }, { fd: w, events: A.POLLOUT }])).toEqual([0, A.POLLOUT]);
    p.write(w, new Uint8Array([1]));
    expect(p.poll([{ fd: r, events: A.POLLIN }])).toEqual([A.POLLIN]);
    expect(p.syscall(A.__NR_poll, 0x10, 1, 0)).toBe(-BigInt(A.EFAULT));
  });

  it("a poll with a timeout waits for a fault message (async threads)", async () => {
    const { k, p } = await boot();
    const u = p.userfaultfd(A.UFFD_USER_MODE_ONLY | A.O_NONBLOCK);
    u.api();
    const a = p.mmap(0, PAGE, RW, ANON);
    u.register(a, PAGE, 1);
    const [poller, faulter] = [p.newThread(), p.newThread()];
    let rev: number[] = [];
    await k.run(4, [
      [poller, async (t) => {
        rev = await t.op(() => p.poll([{ fd: u.fd, events: A.POLLIN }], -1, t.thread));
        const hu = new Userfaultfd(p, u.fd, t.thread);
        expect(hu.read()).toHaveLength(1);
        hu.zeropage(a, PAGE);
      }],
      [faulter, async (t) => { await t.load8(a); }],
    ]);
    expect(rev).toEqual([A.POLLIN]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a poll of a userfaultfd and a pipe sleeps on both: a pipe write wakes it (the selftests' poll thread)", async () => {
    const { k, p, u, r, w } = await uffdAndPipe();
    const t = p.newThread();
    const fds = [{ fd: u.fd, events: A.POLLIN }, { fd: r, events: A.POLLIN }];
    pollWaits(p, t, fds);
    p.write(w, new Uint8Array([7]));
    expect(parked(t)).toBe(false);
    expect(p.poll(fds, -1, t)).toEqual([0, A.POLLIN]); // the reissue
    expect(k.checkInvariants()).toBe(true);
  });

  it("... and so does a fault on the userfaultfd", async () => {
    const { k, p, u, a, r } = await uffdAndPipe();
    const [t, f] = [p.newThread(), p.newThread()];
    const fds = [{ fd: r, events: A.POLLIN }, { fd: u.fd, events: A.POLLIN }];
    pollWaits(p, t, fds);
    expect(() => f.load8(a)).toThrow(WouldBlockError);
    expect(parked(t)).toBe(false);
    expect(p.poll(fds, -1, t)).toEqual([0, A.POLLIN]);
    u.zeropage(a, PAGE);
    expect(f.load8(a)).toBe(0);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a pipe read end: POLLHUP once the last writer closes, which wakes a sleeping poll", async () => {
    const { k, p, r, w } = await uffdAndPipe();
    const t = p.newThread();
    pollWaits(p, t, [{ fd: r, events: A.POLLIN }]);
    const w2 = p.dup(w);
    p.close(w);
    expect(parked(t)).toBe(true); // a writer is left
    p.close(w2);
    expect(parked(t)).toBe(false);
    expect(p.poll([{ fd: r, events: A.POLLIN }], -1, t)).toEqual([A.POLLHUP]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a pipe write end: POLLOUT when there is room (a read wakes the poll), POLLERR once the reader closes", async () => {
    const { k, p, r, w } = await uffdAndPipe(A.O_NONBLOCK);
    expect(p.syscall(A.__NR_fcntl, w, A.F_SETPIPE_SZ, 4096)).toBe(4096n); // one buffer
    for (let i = 0; i < 4; i++) expect(p.write(w, new Uint8Array(1024))).toBe(1024);
    expectErrno(() => p.write(w, new Uint8Array([1])), "EAGAIN"); // full
    const t = p.newThread();
    pollWaits(p, t, [{ fd: w, events: A.POLLOUT }]);
    expect(p.read(r, 10)).toHaveLength(10);
    expect(parked(t)).toBe(true); // the buffer still holds bytes: no free slot, no wake
    expect(p.read(r, 4096)).toHaveLength(4086);
    expect(parked(t)).toBe(false);
    expect(p.poll([{ fd: w, events: A.POLLOUT }], -1, t)).toEqual([A.POLLOUT]);
    p.close(r);
    expect(p.poll([{ fd: w, events: A.POLLOUT }], -1, t)).toEqual([A.POLLOUT | A.POLLERR]);
    expectErrno(() => p.write(w, new Uint8Array([1])), "EPIPE");
    expect(k.checkInvariants()).toBe(true);
  });

  it("a set with nothing that can become ready returns 0 at once (no clock); memfds are always ready", async () => {
    const { p } = await boot();
    const fd = p.memfdCreate("m");
    expect(p.poll([{ fd, events: 0 }], -1)).toEqual([0]); // nothing to wait on: no WouldBlockError
    expect(p.poll([{ fd, events: A.POLLIN }], -1)).toEqual([A.POLLIN]);
  });

  it("abandoned and repeated waits leak nothing", async () => {
    const { k, p, u, r, w } = await uffdAndPipe();
    const t = p.newThread();
    const fds = [{ fd: u.fd, events: A.POLLIN }, { fd: r, events: A.POLLIN }];
    pollWaits(p, t, fds);
    t.syscall(A.__NR_getpid);
    const before = slab(k);
    for (let i = 0; i < 200; i++) {
      pollWaits(p, t, fds);
      if (i % 2) t.syscall(A.__NR_getpid);
    }
    p.write(w, new Uint8Array([1]));
    expect(p.poll(fds, -1, t)).toEqual([0, A.POLLIN]);
    expect(slab(k)).toBe(before);
    expect(k.checkInvariants()).toBe(true);
  });

  it("worker threads: a worker parked in poll() wakes when the main thread writes the pipe", async () => {
    const { k, p, u, r, w } = await uffdAndPipe();
    const wt = p.newThread();
    const b = new Uint8Array(2 * A.pollfd.SIZEOF);
    const dv = new DataView(b.buffer);
    [u.fd, r].forEach((fd, i) => {
      dv.setInt32(i * A.pollfd.SIZEOF + A.pollfd.fd, fd, true);
      dv.setInt16(i * A.pollfd.SIZEOF + A.pollfd.events, A.POLLIN, true);
    });
    const at = wt.stage(b);
    const done = runInWorker<string>(k, wt, new URL("./fixtures/worker-syscall.mjs", import.meta.url), { nr: A.__NR_poll, args: [at, 2, -1] });
    const deadline = Date.now() + 10_000;
    while (!parked(wt) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 1));
    expect(parked(wt)).toBe(true);
    p.write(w, new Uint8Array([1]));
    expect(await done).toBe("1");
    expect(new DataView(wt.bounce.buffer, wt.bounce.byteOffset).getInt16(A.pollfd.SIZEOF + A.pollfd.revents, true)).toBe(A.POLLIN);
    expect(k.checkInvariants()).toBe(true);
  });
});

/** pollfds for a raw poll(2): each fd with POLLIN, staged in `t`'s bounce page. */
function stagePoll(t: Thread, fds: number[]): bigint {
  const b = new Uint8Array(fds.length * A.pollfd.SIZEOF);
  const dv = new DataView(b.buffer);
  fds.forEach((fd, i) => {
    dv.setInt32(i * A.pollfd.SIZEOF + A.pollfd.fd, fd, true);
    dv.setInt16(i * A.pollfd.SIZEOF + A.pollfd.events, A.POLLIN, true);
  });
  return t.stage(b);
}
const reventsOf = (t: Thread, n: number) =>
  Array.from({ length: n }, (_, i) => new DataView(t.bounce.buffer, t.bounce.byteOffset).getInt16(i * A.pollfd.SIZEOF + A.pollfd.revents, true));

/**
 * A userfaultfd with a faulter blocked on its registered page (the fault read, so the fd does not
 * poll ready), and a pipe: what a close() of the userfaultfd would release shows in `f`.
 */
async function blockedFaulter() {
  const s = await uffdAndPipe();
  const f = s.p.newThread();
  expect(() => f.load8(s.a)).toThrow(WouldBlockError);
  expect(s.u.read()).toHaveLength(1); // read but unresolved: poll says 0
  return { ...s, f };
}

describe("a poll holds its files (__pollwait's reference: a close() during the poll shows no hang-up)", () => {
  it("a close() by another thread wakes nobody and releases nothing; at the poll's timeout POLLNVAL, then the release", async () => {
    const { k, p, u, a, r, f } = await blockedFaulter();
    const t = p.newThread();
    const poll = () => t.syscall(A.__NR_poll, stagePoll(t, [u.fd, r]), 2, 1000);
    expect(poll).toThrow(WouldBlockError);
    expect(t.waitTimeoutMs()).toBe(1000);
    u.close(); // the descriptor's reference: the poll's entry still holds the file
    expect(parked(t)).toBe(true);
    expect(parked(f)).toBe(true); // still registered, the faulter still blocked
    expect(k.stats().uffdCtxs).toBe(1);
    expect(p.poll([{ fd: u.fd, events: A.POLLIN }], -1)).toEqual([A.POLLNVAL]); // a poll started after the close: at once
    expect(t.timeout()).toBe(true); // the host's timer runs out
    expect(poll()).toBe(1n);
    expect(reventsOf(t, 2)).toEqual([A.POLLNVAL, 0]);
    // The poll let go of the file: released, the faulter woken, and the range unregistered.
    expect(k.stats().uffdCtxs).toBe(0);
    expect(parked(f)).toBe(false);
    expect(f.load8(a)).toBe(0);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a wake by another file of the set ends the sleep: POLLNVAL for the closed one, released as the poll returns", async () => {
    const { k, p, u, r, w, f } = await blockedFaulter();
    const t = p.newThread();
    const fds = [{ fd: u.fd, events: A.POLLIN }, { fd: r, events: A.POLLIN }];
    pollWaits(p, t, fds);
    const dup = p.dup(u.fd);
    u.close();
    p.close(dup); // the last descriptor: still nothing, the poll holds the file
    expect(parked(t)).toBe(true);
    expect(parked(f)).toBe(true);
    p.write(w, new Uint8Array([1]));
    expect(parked(t)).toBe(false);
    expect(k.stats().uffdCtxs).toBe(1); // the entries go when the task runs again
    expect(p.poll(fds, -1, t)).toEqual([A.POLLNVAL, A.POLLIN]);
    expect(k.stats().uffdCtxs).toBe(0);
    expect(parked(f)).toBe(false);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a poller that gives up (its next call is another one) lets go of its files just the same", async () => {
    const { k, p, u, r, f } = await blockedFaulter();
    const t = p.newThread();
    pollWaits(p, t, [{ fd: u.fd, events: A.POLLIN }, { fd: r, events: A.POLLIN }]);
    u.close();
    expect(parked(f)).toBe(true);
    expect(k.stats().uffdCtxs).toBe(1);
    expect(t.syscall(A.__NR_getpid)).toBe(BigInt(p.pid));
    expect(k.stats().uffdCtxs).toBe(0);
    expect(parked(f)).toBe(false);
    // A pipe end polled and closed: its inode stays until the poll lets go.
    const [r2, w2] = p.pipe();
    const inodes = k.stats().inodes;
    pollWaits(p, t, [{ fd: r2, events: A.POLLIN }]);
    p.close(r2);
    p.close(w2);
    expect(k.stats().inodes).toBe(inodes);
    expect(t.syscall(A.__NR_getpid)).toBe(BigInt(p.pid));
    expect(k.stats().inodes).toBe(inodes - 1);
    expect(k.checkInvariants()).toBe(true);
  });

  it("async threads: the poller sleeps its whole (virtual) timeout after the close, then POLLNVAL; the faulter is released after", async () => {
    for (const seed of [1, 2, 3, 4]) {
      const { k, p, u, a, r } = await uffdAndPipe();
      const [poller, faulter, closer] = [p.newThread(), p.newThread(), p.newThread()];
      const order: string[] = [];
      let read = false;
      const sched = new Scheduler(k, seed);
      await sched.run([
        [poller, async (t) => {
          expect(await t.op(() => p.poll([{ fd: u.fd, events: A.POLLIN }], -1, t.thread))).toEqual([A.POLLIN]);
          expect(new Userfaultfd(p, u.fd, t.thread).read()).toHaveLength(1);
          read = true;
          const rev = await t.op(() => p.poll([{ fd: u.fd, events: A.POLLIN }, { fd: r, events: A.POLLIN }], 500, t.thread));
          order.push(`poll ${rev.join(" ")} at ${sched.now}`);
        }],
        [faulter, async (t) => {
          expect(await t.load8(a)).toBe(0);
          order.push(`faulter at ${sched.now}`);
        }],
        [closer, async (t) => {
          while (!(read && parked(poller))) await t.yield();
          await t.op(() => u.close());
          expect(parked(poller)).toBe(true);
          expect(parked(faulter)).toBe(true);
          expect(k.stats().uffdCtxs).toBe(1);
          order.push("closed");
        }],
      ]);
      expect(order).toEqual(["closed", `poll ${A.POLLNVAL} 0 at 500`, "faulter at 500"]);
      expect(k.stats().uffdCtxs).toBe(0);
      expect(k.checkInvariants()).toBe(true);
    }
  });

  it("worker threads: a worker parked in poll() stays parked across the close, and its timeout reports POLLNVAL", async () => {
    const { k, p, u, r, f } = await blockedFaulter();
    const wt = p.newThread();
    const at = stagePoll(wt, [u.fd, r]);
    const done = runInWorker<string>(k, wt, new URL("./fixtures/worker-syscall.mjs", import.meta.url), { nr: A.__NR_poll, args: [at, 2, 300] });
    const deadline = Date.now() + 10_000;
    while (!parked(wt) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 1));
    expect(parked(wt)).toBe(true);
    u.close();
    await new Promise((res) => setTimeout(res, 20));
    expect(parked(wt)).toBe(true);
    expect(parked(f)).toBe(true);
    expect(k.stats().uffdCtxs).toBe(1);
    expect(await done).toBe("1");
    expect(reventsOf(wt, 2)).toEqual([A.POLLNVAL, 0]);
    expect(k.stats().uffdCtxs).toBe(0);
    expect(parked(f)).toBe(false);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("blocking pipes (fs/pipe.ts)", () => {
  it("a read of an empty pipe waits for a write, and its reissue returns the bytes", async () => {
    const { k, p } = await boot();
    const [r, w] = p.pipe();
    const t = p.newThread();
    const read = () => t.syscall(A.__NR_read, r, A.HOST_STAGING_BASE, 8);
    expect(read).toThrow(WouldBlockError);
    expect(parked(t)).toBe(true);
    p.write(w, new Uint8Array([1, 2, 3]));
    expect(parked(t)).toBe(false);
    expect(read()).toBe(3n);
    expect([...t.bounce.slice(0, 3)]).toEqual([1, 2, 3]);
    expect(read).toThrow(WouldBlockError); // empty again
    p.close(w); // the last writer: end of file
    expect(parked(t)).toBe(false);
    expect(read()).toBe(0n);
    expect(k.checkInvariants()).toBe(true);
  });

  it("a write that does not fit waits for room (up to PIPE_BUF bytes are never split); EPIPE once the reader is gone", async () => {
    const { k, p } = await boot();
    const [r, w] = p.pipe();
    expect(p.syscall(A.__NR_fcntl, w, A.F_SETPIPE_SZ, 4096)).toBe(4096n); // one buffer
    for (let i = 0; i < 3; i++) expect(p.write(w, new Uint8Array(1024).fill(i))).toBe(1024);
    expect(p.write(w, new Uint8Array(1000).fill(3))).toBe(1000); // 24 bytes of room left in the buffer
    const t = p.newThread();
    const write = () => t.syscall(A.__NR_write, w, t.stage(new Uint8Array(100).fill(9)), 100);
    expect(write).toThrow(WouldBlockError); // does not fit the last buffer, no free slot: nothing written
    expect(p.read(r, 50)).toHaveLength(50); // the buffer still holds bytes: no slot freed, no wake
    expect(parked(t)).toBe(true);
    expect(write).toThrow(WouldBlockError);
    expect(p.read(r, 4096)).toHaveLength(4022); // the slot is free: a wake
    expect(parked(t)).toBe(false);
    expect(write()).toBe(100n);
    expect(p.write(w, new Uint8Array(3996))).toBe(3996); // merges: full again
    expect(write).toThrow(WouldBlockError);
    p.close(r);
    expect(parked(t)).toBe(false);
    expect(write()).toBe(-BigInt(A.EPIPE));
    expect(k.checkInvariants()).toBe(true);
  });

  it("O_NONBLOCK: EAGAIN instead of a wait, for reads and for writes that do not fit", async () => {
    const { p } = await boot();
    const [r, w] = p.pipe(A.O_NONBLOCK);
    expect(p.syscall(A.__NR_fcntl, w, A.F_SETPIPE_SZ, 4096)).toBe(4096n); // one buffer
    expectErrno(() => p.read(r, 1), "EAGAIN");
    for (let i = 0; i < 3; i++) p.write(w, new Uint8Array(1024));
    p.write(w, new Uint8Array(1000));
    expectErrno(() => p.write(w, new Uint8Array(100)), "EAGAIN");
    expect(p.write(w, new Uint8Array(24))).toBe(24);
    p.fcntl(r, A.F_SETFL, 0); // the flag is per open file: the read end now blocks ...
    expect(p.read(r, 10)).toHaveLength(10);
    p.close(w);
    expect(p.read(r, 4096)).toHaveLength(4086); // ... until the buffer is drained and no writer is left
  });

  it("a process that exits with threads waiting in poll() and on a pipe leaves nothing behind", async () => {
    const { k } = await boot();
    const before = k.stats();
    const p = k.spawn();
    const u = p.userfaultfd(A.UFFD_USER_MODE_ONLY | A.O_NONBLOCK);
    u.api();
    const [r, w] = p.pipe();
    const [t1, t2] = [p.newThread(), p.newThread()];
    pollWaits(p, t1, [{ fd: u.fd, events: A.POLLIN }, { fd: r, events: A.POLLIN }]);
    expect(() => t2.syscall(A.__NR_read, r, A.HOST_STAGING_BASE, 1)).toThrow(WouldBlockError);
    void w;
    p.exit(0);
    const after = k.stats();
    expect({ inodes: after.inodes, uffdCtxs: after.uffdCtxs, tasks: after.tasks, frames: after.freeFrames + after.slabFrames })
      .toEqual({ inodes: before.inodes, uffdCtxs: before.uffdCtxs, tasks: before.tasks, frames: before.freeFrames + before.slabFrames });
    expect(k.checkInvariants()).toBe(true);
  });

  it("async threads: a reader waits for a writer under the scheduler", async () => {
    const { k, p } = await boot();
    const [r, w] = p.pipe();
    const [rt, wt] = [p.newThread(), p.newThread()];
    const got: bigint[] = [];
    await k.run(5, [
      [rt, async (t) => {
        for (let i = 0; i < 3; i++) got.push(await t.syscall(A.__NR_read, r, A.HOST_STAGING_BASE, 16));
      }],
      [wt, async (t) => {
        for (let i = 0; i < 2; i++) {
          await t.yield();
          await t.syscall(A.__NR_write, w, t.thread.stage(new Uint8Array([i, i])), 2);
        }
        await t.syscall(A.__NR_close, w);
      }],
    ]);
    expect(got).toEqual([2n, 2n, 0n]);
    expect(k.checkInvariants()).toBe(true);
  });
});

describe("poll timeouts (the host keeps the time: task_timeout)", () => {
  it("synchronous API: a positive timeout with nothing ready returns 0 instead of throwing or hanging", async () => {
    const { k, p, u, r } = await uffdAndPipe();
    expect(p.poll([{ fd: u.fd, events: A.POLLIN }, { fd: r, events: A.POLLIN }], 20)).toEqual([0, 0]);
    expect(parked(p.thread)).toBe(false);
    // Nothing left queued: a later wake-up finds no sleeper, and nothing leaked.
    const before = slab(k);
    expect(p.poll([{ fd: u.fd, events: A.POLLIN }], 5)).toEqual([0]);
    expect(slab(k)).toBe(before);
    // A set with nothing that can become ready sleeps for the timeout, then returns 0.
    expect(p.poll([{ fd: -1, events: A.POLLIN }], 5)).toEqual([0]);
    expect(p.poll([], 5)).toEqual([]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("synchronous API: what is ready when the call starts is returned at once, whatever the timeout", async () => {
    const { p, u, r, w } = await uffdAndPipe();
    p.write(w, new Uint8Array([7]));
    expect(p.poll([{ fd: u.fd, events: A.POLLIN }, { fd: r, events: A.POLLIN }], 60_000)).toEqual([0, A.POLLIN]);
  });

  it("async threads: with nobody to wake it, a poll times out in virtual time and returns 0 (no DeadlockError)", async () => {
    const { k, p, u } = await boot().then(async ({ k, p }) => {
      const u = p.userfaultfd(A.UFFD_USER_MODE_ONLY | A.O_NONBLOCK);
      u.api();
      return { k, p, u };
    });
    const th = p.newThread();
    let rev: number[] | undefined;
    const sched = new Scheduler(k, 1);
    await sched.run([[th, async (t) => { rev = await t.op(() => p.poll([{ fd: u.fd, events: A.POLLIN }], 250, t.thread)); }]]);
    expect(rev).toEqual([0]);
    expect(sched.now).toBe(250);
    expect(th.scheduled).toBe(false);
    // Without a timeout the same wait is a deadlock, as before.
    await expect(k.run(1, [[th, async (t) => { await t.op(() => p.poll([{ fd: u.fd, events: A.POLLIN }], -1, t.thread)); }]])).rejects.toThrow(/deadlock/i);
  });

  it("async threads: a fault before the timeout wakes the poll with POLLIN; the earliest of two timeouts runs out first", async () => {
    const { k, p, u, a } = await uffdAndPipe();
    const [poller, faulter, sleeper] = [p.newThread(), p.newThread(), p.newThread()];
    const order: string[] = [];
    await k.run(3, [
      [poller, async (t) => {
        const rev = await t.op(() => p.poll([{ fd: u.fd, events: A.POLLIN }], 10_000, t.thread));
        order.push(`poller ${rev[0]}`);
        const hu = new Userfaultfd(p, u.fd, t.thread);
        expect(hu.read()).toHaveLength(1);
        hu.zeropage(a, PAGE);
      }],
      [sleeper, async (t) => {
        const rev = await t.op(() => p.poll([{ fd: -1, events: 0 }], 100, t.thread));
        order.push(`sleeper ${rev[0]}`);
        await t.load8(a); // the fault comes only after the sleeper's 100 ms: the poller is still waiting
      }],
      [faulter, async (t) => { await t.yield(); }],
    ]);
    expect(order).toEqual(["sleeper 0", `poller ${A.POLLIN}`]);
    expect(k.checkInvariants()).toBe(true);
  });

  it("worker threads: a poll with a timeout parks the worker and returns 0 when the time runs out", async () => {
    const { k, p, u } = await uffdAndPipe();
    const wt = p.newThread();
    const b = new Uint8Array(A.pollfd.SIZEOF);
    const dv = new DataView(b.buffer);
    dv.setInt32(A.pollfd.fd, u.fd, true);
    dv.setInt16(A.pollfd.events, A.POLLIN, true);
    const at = wt.stage(b);
    const done = runInWorker<string>(k, wt, new URL("./fixtures/worker-syscall.mjs", import.meta.url), { nr: A.__NR_poll, args: [at, 1, 30] });
    expect(await done).toBe("0");
    expect(parked(wt)).toBe(false);
    expect(k.checkInvariants()).toBe(true);
  });
});
