import { describe, it, expect } from "vitest";
import { boot, RW, ANON, PAGE, A, expectSignal } from "../helpers/kernel.js";

describe("smoke", () => {
  it("maps anonymous memory, faults it in, forks copy-on-write", async () => {
    const { k, p } = await boot();
    const a = p.mmap(0, 4 * PAGE, RW, ANON);
    expect(p.thread.load32(a)).toBe(0);
    p.thread.store32(a, 0xdeadbeef);
    const c = p.fork();
    c.thread.store32(a, 7);
    expect(p.thread.load32(a)).toBe(0xdeadbeef);
    expect(c.thread.load32(a)).toBe(7);
    expect(k.checkInvariants()).toBe(true);
    p.mprotect(a, PAGE, A.PROT_READ);
    expectSignal(() => p.thread.store8(a, 1), "SIGSEGV");
    c.exit();
    p.exit();
    expect(k.checkInvariants()).toBe(true);
  });
});
