// poll(2) on userfaultfds and other files (spec §8.5).
import { describe, it, expect } from "vitest";
import { boot, RW, ANON, PAGE, A } from "../helpers/kernel.js";
import { Userfaultfd, WouldBlockError } from "../../host-ts/index.js";

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
});
