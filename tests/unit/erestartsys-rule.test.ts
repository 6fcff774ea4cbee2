// The -ERESTARTSYS rule (ARCHITECTURE.md "Blocking"): a user copy that hits a userfault parks
// the task, and the call returns -ERESTARTSYS as it is (never EFAULT): nothing done yet, the
// host reissues it after the wake, and the reissue succeeds, as on Linux, where the copy itself
// sleeps in handle_userfault and then completes.
import { describe, it, expect } from "vitest";
import { A, PAGE, RW, ANON } from "../helpers/kernel.js";
import { bootVm } from "../helpers/kvm.js";
import { WouldBlockError, createGuestMemfdBytes } from "../../host-ts/index.js";

describe("a system call whose argument copy hits a userfault waits and is reissued (no EFAULT)", () => {
  it("KVM_CREATE_GUEST_MEMFD with its argument on a MISSING-registered page: waits, then creates the guest_memfd", async () => {
    const { k, p, vm } = await bootVm();
    const uffd = p.userfaultfd(A.O_NONBLOCK);
    uffd.api();
    const a = p.mmap(0, PAGE, RW, ANON);
    uffd.register(a, PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
    const src = p.mmap(0, PAGE, RW, ANON);
    p.thread.write(src, createGuestMemfdBytes(PAGE, 0));
    const t = p.newThread();
    const call = () => t.syscall(A.__NR_ioctl, vm.fd, A.KVM_CREATE_GUEST_MEMFD, a);
    expect(call).toThrow(WouldBlockError);
    expect(uffd.read()).toMatchObject([{ event: "pagefault", address: a }]);
    expect(uffd.copy(a, src, PAGE)).toBe(BigInt(PAGE));
    const fd = call();
    expect(fd).toBeGreaterThan(0n);
    expect(p.fstat(Number(fd)).size).toBe(BigInt(PAGE));
    k.checkInvariants();
  });

  it("poll() whose pollfd array is on a write-protected page: the result write waits, then revents arrive", async () => {
    const { k, p } = await bootVm();
    const uffd = p.userfaultfd(A.O_NONBLOCK);
    uffd.api();
    const a = p.mmap(0, PAGE, RW, ANON);
    p.thread.fill(a, 0, PAGE);
    uffd.register(a, PAGE, A.UFFDIO_REGISTER_MODE_WP);
    // One pollfd { fd: the userfaultfd, events: POLLIN }; the page then becomes write-protected.
    p.thread.store32(a, uffd.fd);
    p.thread.store16(a + 4, A.POLLIN);
    uffd.writeProtect(a, PAGE, A.UFFDIO_WRITEPROTECT_MODE_WP);
    const t = p.newThread();
    const call = () => t.syscall(A.__NR_poll, a, 1, 0);
    expect(call).toThrow(WouldBlockError);
    const msgs = uffd.read();
    expect(msgs).toMatchObject([{ event: "pagefault", address: a }]);
    uffd.writeProtect(a, PAGE, 0);
    expect(call()).toBe(0n);
    expect(p.thread.load16(a + 6)).toBe(0);
    k.checkInvariants();
  });
});
