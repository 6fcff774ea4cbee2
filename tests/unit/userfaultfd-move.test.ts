import { describe, it, expect } from "vitest";
import { boot, RW, ANON, PAGE, A, expectErrno } from "../helpers/kernel.js";
import { FillError } from "../../host-ts/index.js";

describe("smoke", () => {
  it("moves", async () => {
    const { k, p } = await boot();
    const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    uffd.api();
    const d = p.mmap(0, 4 * PAGE, RW, ANON);
    const s = p.mmap(0, 4 * PAGE, RW, ANON);
    uffd.register(d, 4 * PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
    p.thread.fill(s, 0x5a, 2 * PAGE);
    expect(uffd.move(d, s, 2 * PAGE)).toBe(8192n);
    expect(p.thread.load8(d + 5)).toBe(0x5a);
    expect(p.thread.load8(s + 5)).toBe(0);
    k.checkInvariants();
  });
});
