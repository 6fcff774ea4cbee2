// userfaultfd's waits on kernel/wait.ts queues (fs/userfaultfd_wait.ts): messages are read oldest
// first; a WAKE wakes and removes only the faulters whose address is in its range (Linux's
// userfaultfd_wake_function), the others stay queued; a task that enters the kernel again leaves
// its queue; a blocking read() waits on fd_wqh and a fault wakes it; nothing leaks.
import { describe, it, expect } from "vitest";
import { boot, RW, ANON, PAGE, A } from "../helpers/kernel.js";
import { CAP_SYS_PTRACE, WouldBlockError } from "../../host-ts/index.js";

async function spawn() {
  const { k } = await boot();
  return { k, p: k.spawn({ caps: CAP_SYS_PTRACE }) };
}

async function setup() {
  const { k, p } = await spawn();
  const uffd = p.userfaultfd(A.O_NONBLOCK);
  uffd.api();
  const a = p.mmap(0, 4 * PAGE, RW, ANON);
  uffd.register(a, 4 * PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
  return { k, p, uffd, a };
}

const counts = (s: string) => s.match(/^pending:\t(\d+)\ntotal:\t(\d+)\n/)!.slice(1).map(Number);

describe("userfaultfd wait queues", () => {
  it("messages come oldest first; WAKE of one page wakes only its faulter; re-entry leaves the queue", async () => {
    const { k, p, uffd, a } = await setup();
    const ts = [p.newThread(), p.newThread(), p.newThread()];
    const pages = [0, 2, 1];
    ts.forEach((t, i) => expect(() => t.load8(a + pages[i] * PAGE)).toThrow(WouldBlockError));
    expect(counts(p.fdinfo(uffd.fd))).toEqual([3, 3]);
    expect(uffd.read().map((m) => (m as { address: number }).address)).toEqual(pages.map((n) => a + n * PAGE));
    expect(counts(p.fdinfo(uffd.fd))).toEqual([0, 3]);
    // WAKE [page 2, page 3): only the second thread's fault leaves the queue.
    uffd.wake(a + 2 * PAGE, PAGE);
    expect(counts(p.fdinfo(uffd.fd))).toEqual([0, 2]);
    // Its retry faults again: a new message, pending.
    expect(() => ts[1].load8(a + 2 * PAGE)).toThrow(WouldBlockError);
    expect(counts(p.fdinfo(uffd.fd))).toEqual([1, 3]);
    // The first thread gives up its wait (it enters the kernel for something else).
    ts[0].syscall(A.__NR_getpid);
    expect(counts(p.fdinfo(uffd.fd))).toEqual([1, 2]);
    // A fill of the whole range wakes the rest.
    uffd.zeropage(a, 4 * PAGE);
    expect(counts(p.fdinfo(uffd.fd))).toEqual([0, 0]);
    expect(ts[1].load8(a + 2 * PAGE)).toBe(0);
    expect(ts[2].load8(a + PAGE)).toBe(0);
    uffd.close();
    expect(k.stats().uffdCtxs).toBe(0);
    k.checkInvariants();
  });

  it("a blocking read() waits on fd_wqh; a fault wakes it and its reissue reads the message", async () => {
    const { k, p } = await spawn();
    const uffd = p.userfaultfd(0); // blocking
    uffd.api();
    const a = p.mmap(0, PAGE, RW, ANON);
    uffd.register(a, PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
    const reader = p.newThread();
    const buf = p.mmap(0, PAGE, RW, ANON);
    p.thread.fill(buf, 0, PAGE);
    const read = () => reader.syscall(A.__NR_read, uffd.fd, buf, A.UFFD_MSG_SIZE);
    expect(read).toThrow(WouldBlockError);
    expect(() => p.newThread().load8(a)).toThrow(WouldBlockError);
    expect(read()).toBe(BigInt(A.UFFD_MSG_SIZE));
    expect(p.thread.load8(buf)).toBe(A.UFFD_EVENT_PAGEFAULT);
    expect(p.thread.load64(buf + 16)).toBe(BigInt(a));
    uffd.close();
    expect(k.stats().uffdCtxs).toBe(0); // the release woke the faulter and dropped its ctx reference
    k.checkInvariants();
  });
});
