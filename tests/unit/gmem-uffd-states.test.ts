// The per-page state machine of a guest_memfd mapping registered with userfaultfd, as data:
// one row object per transition (per registration mode it applies to), each run as a test.
// Linux 7.1 behaviour (with the guest_memfd userfaultfd series); 6.18 refuses these registrations
// with EINVAL (tests/scenarios/kvm/userfaultfd-on-guest-memfd.json).
//
// Page P (file page 1) of a 4-page MMAP|INIT_SHARED guest_memfd; V = the registered mapping,
// W = an unregistered alias. States are observed without disturbing them: V's PTE by its
// VMA's rss; the page cache by a throw-away probe mapping registered MISSING on a second
// userfaultfd (a hole raises a message there, a cached page maps silently).
import { describe, it, expect } from "vitest";
import { A, PAGE, RW, ANON, expectSignal } from "../helpers/kernel.js";
import { bootVm, gmem, GMEM, MMAP, SHARED } from "../helpers/kvm.js";
import { FillError, SystemError, Userfaultfd, WouldBlockError, type Thread } from "../../host-ts/index.js";

type State = "HOLE" | "CACHED" | "MAPPED";
type Mode = "MISSING" | "MINOR" | "WP" | "MISSING|MINOR";
type Action =
  | "read" | "write" | "copy" | "zeropage" | "continue" | "poison" | "write-other-mapping" | "fallocate" | "kvm-access"
  | "dontneed" | "punch" | "madv-remove" | "wake" | "release" | "read-beyond-eof";
interface Expect {
  /** the state afterwards */
  to?: State;
  /** a waiter is left blocked on P */
  waiter?: true;
  /** messages on the registered uffd: PAGEFAULT flags, or REMOVE; [] = none */
  messages?: (bigint | "remove")[];
  /** the fill ioctl's result: bytes, or an errno name with the out-field value */
  result?: number | { errno: string; out: number };
  /** what a later read of P through V gives (after any waiter was resolved) */
  reads?: number;
  /** a later access through V is SIGBUS */
  sigbus?: true;
  /** the waiter's retry succeeded and read this byte */
  waiterReads?: number;
}
interface Row {
  from: State;
  /** a waiter is blocked on P before the action (reading through V) */
  waiter?: true;
  action: Action;
  modes: Mode[];
  expect: Expect;
}

const R = 0n;
const W = BigInt(A.UFFD_PAGEFAULT_FLAG_WRITE);
const MINOR = BigInt(A.UFFD_PAGEFAULT_FLAG_MINOR);
const ALL: Mode[] = ["MISSING", "MINOR", "WP", "MISSING|MINOR"];

/** The transitions of page P between HOLE, CACHED and MAPPED, with their visible results. */
const TABLE: Row[] = [
  { from: "HOLE", action: "read", modes: ["MISSING", "MISSING|MINOR"], expect: { to: "HOLE", waiter: true, messages: [R] } },
  { from: "HOLE", action: "write", modes: ["MISSING", "MISSING|MINOR"], expect: { to: "HOLE", waiter: true, messages: [W] } },
  { from: "HOLE", action: "read", modes: ["MINOR", "WP"], expect: { to: "MAPPED", messages: [], reads: 0 } },
  { from: "HOLE", action: "copy", modes: ALL, expect: { to: "MAPPED", result: PAGE, reads: 0xab } },
  { from: "HOLE", waiter: true, action: "copy", modes: ["MISSING", "MISSING|MINOR"], expect: { to: "MAPPED", result: PAGE, waiterReads: 0xab } },
  { from: "HOLE", action: "zeropage", modes: ALL, expect: { to: "MAPPED", result: PAGE, reads: 0 } },
  { from: "HOLE", action: "continue", modes: ALL, expect: { to: "HOLE", result: { errno: "EFAULT", out: -14 } } },
  { from: "HOLE", action: "poison", modes: ALL, expect: { to: "HOLE", result: PAGE, sigbus: true } },
  { from: "HOLE", action: "write-other-mapping", modes: ALL, expect: { to: "CACHED", messages: [] } },
  { from: "HOLE", action: "fallocate", modes: ALL, expect: { to: "CACHED", messages: [] } },
  { from: "HOLE", action: "kvm-access", modes: ALL, expect: { to: "CACHED", messages: [] } },
  // KVM's own access never raises a userfault, whatever P's state: it fills the page cache only.
  { from: "CACHED", action: "kvm-access", modes: ALL, expect: { to: "CACHED", messages: [] } },
  { from: "MAPPED", action: "kvm-access", modes: ALL, expect: { to: "MAPPED", messages: [] } },
  { from: "CACHED", action: "read", modes: ["MINOR", "MISSING|MINOR"], expect: { to: "CACHED", waiter: true, messages: [MINOR] } },
  { from: "CACHED", action: "write", modes: ["MINOR", "MISSING|MINOR"], expect: { to: "CACHED", waiter: true, messages: [MINOR | W] } },
  { from: "CACHED", action: "read", modes: ["MISSING", "WP"], expect: { to: "MAPPED", messages: [], reads: 0x5a } },
  { from: "CACHED", action: "continue", modes: ALL, expect: { to: "MAPPED", result: PAGE, reads: 0x5a } },
  { from: "CACHED", waiter: true, action: "continue", modes: ["MINOR", "MISSING|MINOR"], expect: { to: "MAPPED", result: PAGE, waiterReads: 0x5a } },
  { from: "CACHED", action: "copy", modes: ALL, expect: { to: "CACHED", result: { errno: "EEXIST", out: -17 } } },
  { from: "CACHED", action: "zeropage", modes: ALL, expect: { to: "CACHED", result: { errno: "EEXIST", out: -17 } } },
  { from: "MAPPED", action: "read", modes: ALL, expect: { to: "MAPPED", messages: [], reads: 0x5a } },
  { from: "MAPPED", action: "copy", modes: ALL, expect: { to: "MAPPED", result: { errno: "EEXIST", out: -17 } } },
  { from: "MAPPED", action: "zeropage", modes: ALL, expect: { to: "MAPPED", result: { errno: "EEXIST", out: -17 } } },
  { from: "MAPPED", action: "continue", modes: ALL, expect: { to: "MAPPED", result: { errno: "EEXIST", out: -17 } } },
  { from: "MAPPED", action: "poison", modes: ALL, expect: { to: "MAPPED", result: { errno: "EEXIST", out: -17 } } },
  // Without EVENT_REMOVE (these rows), no message; with it, see "REMOVE events" below.
  { from: "MAPPED", action: "dontneed", modes: ALL, expect: { to: "CACHED", messages: [] } },
  { from: "CACHED", action: "punch", modes: ALL, expect: { to: "HOLE", messages: [] } },
  { from: "MAPPED", action: "punch", modes: ALL, expect: { to: "HOLE", messages: [] } },
  { from: "CACHED", action: "madv-remove", modes: ALL, expect: { to: "HOLE", messages: [] } },
  { from: "MAPPED", action: "madv-remove", modes: ALL, expect: { to: "HOLE", messages: [] } },
  // WAKE without resolving: no message at once; the waiter's retry raises a new one (checked by the engine).
  { from: "HOLE", waiter: true, action: "wake", modes: ["MISSING", "MISSING|MINOR"], expect: { to: "HOLE", waiter: true, messages: [] } },
  { from: "CACHED", waiter: true, action: "wake", modes: ["MINOR", "MISSING|MINOR"], expect: { to: "CACHED", waiter: true, messages: [] } },
  { from: "HOLE", waiter: true, action: "release", modes: ["MISSING", "MISSING|MINOR"], expect: { to: "MAPPED", waiterReads: 0 } },
  { from: "CACHED", waiter: true, action: "release", modes: ["MINOR", "MISSING|MINOR"], expect: { to: "MAPPED", waiterReads: 0x5a } },
  { from: "HOLE", action: "read-beyond-eof", modes: ALL, expect: { sigbus: true, messages: [] } },
];

const MODE_BITS: Record<Mode, bigint> = {
  MISSING: A.UFFDIO_REGISTER_MODE_MISSING,
  MINOR: A.UFFDIO_REGISTER_MODE_MINOR,
  WP: A.UFFDIO_REGISTER_MODE_WP,
  "MISSING|MINOR": A.UFFDIO_REGISTER_MODE_MISSING | A.UFFDIO_REGISTER_MODE_MINOR,
};

async function setup(mode: Mode, eventRemove: boolean) {
  const { k, p, vm } = await bootVm();
  const g = gmem(vm, 4, SHARED);
  const V = g.mmap(8 * PAGE); // 4 pages past EOF, for the last row
  const Wm = g.mmap(4 * PAGE);
  const P = PAGE;
  vm.setUserMemoryRegion2({ slot: 1, flags: GMEM, guestPhysAddr: 0, memorySize: 4 * PAGE, userspaceAddr: V, guestMemfd: g.fd });
  const uffd = p.userfaultfd(A.O_NONBLOCK);
  uffd.api(eventRemove ? A.UFFD_FEATURE_EVENT_REMOVE : 0n);
  uffd.register(V, 8 * PAGE, MODE_BITS[mode]);
  const src = p.mmap(0, PAGE, RW, ANON);
  p.thread.fill(src, 0xab, PAGE);
  const faulter = p.newThread();
  const probeThread = p.newThread();
  const rss = () => p.vmas().find((v) => v.start === V)!.rss;
  /** Is P in the page cache? (A MISSING-registered probe mapping: a hole raises a message there.) */
  const cached = (): boolean => {
    const X = g.mmap(4 * PAGE);
    const u2 = p.userfaultfd(A.O_NONBLOCK);
    u2.api();
    u2.register(X, 4 * PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
    let hit = true;
    try {
      probeThread.load8(X + P);
    } catch (e) {
      if (!(e instanceof WouldBlockError)) throw e;
      hit = false;
    }
    expect(u2.read().length).toBe(hit ? 0 : 1);
    u2.close();
    p.munmap(X, 4 * PAGE);
    return hit;
  };
  const state = (): State => (rss() > 0 ? "MAPPED" : cached() ? "CACHED" : "HOLE");
  return { k, p, vm, g, V, Wm, P, uffd, src, faulter, state, rss };
}

function access(t: Thread, addr: number, write: boolean): void {
  if (write) t.store8(addr, 0x33);
  else t.load8(addr);
}

function fill(fn: () => bigint): number | { errno: string; out: number } {
  try {
    return Number(fn());
  } catch (e) {
    if (!(e instanceof FillError)) throw e;
    return { errno: e.code, out: Number(e.bytes) };
  }
}

async function runRow(row: Row, mode: Mode): Promise<void> {
  const c = await setup(mode, false);
  const { p, g, V, Wm, P, uffd, faulter } = c;
  const minorReg = mode.includes("MINOR");
  // Bring P into the row's start state.
  if (row.from !== "HOLE") p.thread.fill(Wm + P, 0x5a, PAGE);
  if (row.from === "MAPPED") {
    if (minorReg) uffd.continue(V + P, PAGE);
    else p.thread.load8(V + P);
  }
  expect(c.state()).toBe(row.from);
  if (row.waiter) {
    expect(() => faulter.load8(V + P)).toThrow(WouldBlockError);
    expect(uffd.read()).toHaveLength(1);
  }
  // The action.
  let result: number | { errno: string; out: number } | undefined;
  let sigbus = false;
  let blocked = false;
  const act = row.action;
  if (act === "read" || act === "write") {
    try {
      access(faulter, V + P, act === "write");
    } catch (e) {
      if (!(e instanceof WouldBlockError)) throw e;
      blocked = true;
    }
  } else if (act === "read-beyond-eof") {
    expectSignal(() => faulter.load8(V + 5 * PAGE), "SIGBUS");
    sigbus = true;
  } else if (act === "copy") result = fill(() => uffd.copy(V + P, c.src, PAGE));
  else if (act === "zeropage") result = fill(() => uffd.zeropage(V + P, PAGE));
  else if (act === "continue") result = fill(() => uffd.continue(V + P, PAGE));
  else if (act === "poison") result = fill(() => uffd.poison(V + P, PAGE));
  else if (act === "write-other-mapping") p.thread.fill(Wm + P, 0x5a, PAGE);
  else if (act === "fallocate") g.allocate(P, PAGE);
  else if (act === "kvm-access") expect(c.vm.vcpu().read(P, 1)[0]).toBe(row.from === "HOLE" ? 0 : 0x5a);
  else if (act === "dontneed") p.madvise(V + P, PAGE, A.MADV_DONTNEED);
  else if (act === "punch") g.punchHole(P, PAGE);
  else if (act === "madv-remove") p.madvise(V + P, PAGE, A.MADV_REMOVE);
  else if (act === "wake") uffd.wake(V + P, PAGE);
  else if (act === "release") uffd.close();
  const e = row.expect;
  if (e.result !== undefined) expect(result).toEqual(e.result);
  if (e.waiter && (act === "read" || act === "write")) expect(blocked).toBe(true);
  if (!e.waiter && (act === "read" || act === "write")) expect(blocked).toBe(false);
  if (e.messages) {
    const msgs = act === "release" ? [] : uffd.read();
    expect(msgs.map((m) => (m.event === "pagefault" ? m.flags : m.event))).toEqual(e.messages);
    for (const m of msgs) if (m.event === "pagefault") expect(m.address).toBe(V + P);
  }
  if (e.waiterReads !== undefined || (row.waiter && !e.waiter)) {
    // The woken waiter's retry succeeds.
    expect(faulter.load8(V + P)).toBe(e.waiterReads);
  }
  if (e.waiter && row.waiter && act === "wake") {
    // Woken without a resolution: its retry raises a new message (checked above) and blocks again.
    expect(() => faulter.load8(V + P)).toThrow(WouldBlockError);
    expect(uffd.read()).toHaveLength(1);
  }
  if (e.to) expect(c.state()).toBe(e.to);
  if (e.reads !== undefined) expect(p.thread.load8(V + P)).toBe(e.reads);
  if (e.sigbus && !sigbus) expectSignal(() => p.thread.load8(V + P), "SIGBUS");
  if (!sigbus) c.k.checkInvariants();
}

describe("per-page state machine (guest_memfd MMAP|INIT_SHARED, 7.1 semantics)", () => {
  for (const row of TABLE) {
    for (const mode of row.modes) {
      const name = `${row.from}${row.waiter ? "+waiter" : ""} --${row.action}--> ${row.expect.to ?? "-"} [${mode}]`;
      it(name, () => runRow(row, mode));
    }
  }
});

describe("REMOVE events (UFFD_FEATURE_EVENT_REMOVE): madvise DONTNEED / REMOVE send them as on shmem, fallocate does not", () => {
  const REMOVES = [
    { from: "MAPPED", advice: "MADV_DONTNEED", to: "CACHED" },
    { from: "MAPPED", advice: "MADV_DONTNEED_LOCKED", to: "CACHED" },
    { from: "CACHED", advice: "MADV_REMOVE", to: "HOLE" },
    { from: "MAPPED", advice: "MADV_REMOVE", to: "HOLE" },
  ] as const;
  for (const { from, advice, to } of REMOVES) {
    for (const mode of ALL) {
      it(`${from} --${advice}--> ${to} [${mode}]: REMOVE {V+P, V+2P} before the drop; fills EAGAIN while unread; the reissue drops once`, async () => {
        const c = await setup(mode, true);
        const { p, V, P, uffd } = c;
        p.thread.fill(c.Wm + P, 0x5a, PAGE);
        if (from === "MAPPED") {
          if (mode.includes("MINOR")) uffd.continue(V + P, PAGE);
          else p.thread.load8(V + P);
        }
        expect(c.state()).toBe(from);
        const producer = p.newThread();
        const madv = () => producer.syscall(A.__NR_madvise, V + P, PAGE, A[advice]);
        expect(madv).toThrow(WouldBlockError);
        // Delivered before anything is dropped: P is untouched, and mmap_changing is set.
        expect(c.state()).toBe(from);
        expect(fill(() => uffd.zeropage(V + 2 * P, PAGE))).toEqual({ errno: "EAGAIN", out: -11 });
        expect(uffd.read()).toEqual([{ event: "remove", start: V + P, end: V + 2 * P }]);
        expect(c.state()).toBe(from); // still: the producer drops when it runs again
        expect(madv()).toBe(0n);
        expect(c.state()).toBe(to);
        expect(uffd.read()).toEqual([]);
        expect(c.k.stats().uffdEvents).toBe(0);
        // The guest sees the same file: after MADV_REMOVE the page is gone for it too.
        expect(c.vm.vcpu().read(P, 1)[0]).toBe(to === "HOLE" ? 0 : 0x5a);
        c.k.checkInvariants();
      });
    }
  }

  it("fallocate(PUNCH_HOLE) sends no REMOVE; MADV_FREE sends REMOVE, then is EINVAL (not anonymous memory)", async () => {
    const c = await setup("MISSING", true);
    const { p, V, P, uffd } = c;
    p.thread.fill(c.Wm + P, 0x5a, 2 * PAGE);
    p.thread.load8(V + P);
    c.g.punchHole(P, PAGE);
    expect(c.state()).toBe("HOLE");
    expect(uffd.read()).toEqual([]);
    // As for shared anonymous memory on Linux 6.18 (tests/scenarios/events/found-by-random.json):
    // madvise_dontneed_free delivers the event; madvise_free_single_vma then refuses the VMA.
    const producer = p.newThread();
    const free = () => producer.syscall(A.__NR_madvise, V + 2 * P, PAGE, A.MADV_FREE);
    expect(free).toThrow(WouldBlockError);
    expect(uffd.read()).toEqual([{ event: "remove", start: V + 2 * P, end: V + 3 * P }]);
    expect(free()).toBe(-BigInt(A.EINVAL));
    expect(uffd.read()).toEqual([]);
    expect(c.k.stats().uffdEvents).toBe(0);
    // The page left the cache, so the next access through V is a MISSING fault again.
    expect(() => c.faulter.load8(V + P)).toThrow(WouldBlockError);
    expect(uffd.read()).toMatchObject([{ event: "pagefault", flags: 0n, address: V + P }]);
    c.k.checkInvariants();
  });
});

describe("registration of a guest_memfd mapping", () => {
  it("REGISTER returns the 7.1 ioctl masks (those of shmem: guest_memfd is not hugetlb): MISSING 0x13c, MINOR 0x1bc, WP 0x17c, WP|MINOR 0x1fc", async () => {
    const { p, vm } = await bootVm();
    const g = gmem(vm, 4, SHARED);
    const V = g.mmap(4 * PAGE);
    const uffd = p.userfaultfd(A.O_NONBLOCK);
    uffd.api();
    expect(uffd.register(V, 4 * PAGE, A.UFFDIO_REGISTER_MODE_MISSING)).toBe(0x13cn);
    expect(uffd.register(V, 4 * PAGE, A.UFFDIO_REGISTER_MODE_MINOR)).toBe(0x1bcn);
    expect(uffd.register(V, 4 * PAGE, A.UFFDIO_REGISTER_MODE_WP)).toBe(0x17cn);
    expect(uffd.register(V, 4 * PAGE, A.UFFDIO_REGISTER_MODE_MISSING | A.UFFDIO_REGISTER_MODE_MINOR)).toBe(0x1bcn);
    expect(uffd.register(V, 4 * PAGE, A.UFFDIO_REGISTER_MODE_WP | A.UFFDIO_REGISTER_MODE_MINOR)).toBe(0x1fcn);
  });

  it("without INIT_SHARED every mode is EINVAL, except WP alone with WP_ASYNC (0x17c, as on 6.18)", async () => {
    const { p, vm } = await bootVm();
    const g = gmem(vm, 4, MMAP);
    const V = g.mmap(4 * PAGE);
    const uffd = p.userfaultfd(A.O_NONBLOCK);
    uffd.api();
    for (const m of Object.values(MODE_BITS)) {
      try {
        uffd.register(V, 4 * PAGE, m);
        throw new Error("registered");
      } catch (e) {
        expect((e as SystemError).code).toBe("EINVAL");
      }
    }
    const wa = p.userfaultfd(A.O_NONBLOCK);
    wa.api(A.UFFD_FEATURE_WP_ASYNC);
    expect(wa.register(V, 4 * PAGE, A.UFFDIO_REGISTER_MODE_WP)).toBe(0x17cn);
  });
});

describe("edge cases: EOF, hole punching, DONTNEED, plain WP, a COPY whose source faults", () => {
  it("COPY and ZEROPAGE at/after EOF: ENOMEM (alloc_folio has nothing); CONTINUE there: EFAULT", async () => {
    const c = await setup("MISSING|MINOR", false);
    expect(fill(() => c.uffd.copy(c.V + 4 * PAGE, c.src, PAGE))).toEqual({ errno: "ENOMEM", out: -12 });
    expect(fill(() => c.uffd.zeropage(c.V + 5 * PAGE, PAGE))).toEqual({ errno: "ENOMEM", out: -12 });
    expect(fill(() => c.uffd.continue(c.V + 4 * PAGE, PAGE))).toEqual({ errno: "EFAULT", out: -14 });
    // A range that starts inside and runs past EOF stops at EOF with the bytes done.
    expect(c.uffd.copy(c.V + 3 * PAGE, c.src, PAGE)).toBe(BigInt(PAGE));
    c.k.checkInvariants();
  });

  it("PUNCH_HOLE after a COPY: the next access is a MISSING fault again", async () => {
    const c = await setup("MISSING", false);
    c.uffd.copy(c.V + c.P, c.src, PAGE);
    expect(c.faulter.load8(c.V + c.P)).toBe(0xab);
    c.g.punchHole(c.P, PAGE);
    expect(() => c.faulter.load8(c.V + c.P)).toThrow(WouldBlockError);
    expect(c.uffd.read()).toMatchObject([{ event: "pagefault", flags: 0n }]);
  });

  it("MADV_DONTNEED: MISSING-only sees nothing afterwards, MINOR sees a MINOR fault", async () => {
    for (const [mode, msgs] of [["MISSING", 0], ["MINOR", 1]] as const) {
      const c = await setup(mode, false);
      c.p.thread.fill(c.Wm + c.P, 0x5a, PAGE);
      if (mode === "MINOR") c.uffd.continue(c.V + c.P, PAGE);
      else c.p.thread.load8(c.V + c.P);
      c.p.madvise(c.V + c.P, PAGE, A.MADV_DONTNEED);
      try {
        c.faulter.load8(c.V + c.P);
      } catch (e) {
        expect(e).toBeInstanceOf(WouldBlockError);
      }
      expect(c.uffd.read()).toHaveLength(msgs);
    }
  });

  it("plain (synchronous) WP on guest_memfd, accepted by 7.1: a write to a protected page is a WP message until resolved", async () => {
    const c = await setup("WP", false);
    c.p.thread.store8(c.V + c.P, 1);
    c.uffd.writeProtect(c.V + c.P, PAGE, A.UFFDIO_WRITEPROTECT_MODE_WP);
    expect(c.faulter.load8(c.V + c.P)).toBe(1); // reads are fine
    expect(() => c.faulter.store8(c.V + c.P, 2)).toThrow(WouldBlockError);
    expect(c.uffd.read()).toMatchObject([{ event: "pagefault", flags: BigInt(A.UFFD_PAGEFAULT_FLAG_WP | A.UFFD_PAGEFAULT_FLAG_WRITE), address: c.V + c.P }]);
    c.uffd.writeProtect(c.V + c.P, PAGE, 0);
    c.faulter.store8(c.V + c.P, 2);
    expect(c.p.thread.load8(c.Wm + c.P)).toBe(2);
    c.k.checkInvariants();
  });

  it("COPY whose source faults (7.1): resumes if the guest_memfd VMA is unchanged, EAGAIN if its uffd mode changed", async () => {
    for (const change of [false, true]) {
      const c = await setup("MISSING", false);
      // A source region that is itself MISSING-registered, page 0 present, page 1 a hole.
      const s = c.p.mmap(0, 2 * PAGE, RW, ANON);
      c.uffd.register(s, 2 * PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
      c.uffd.copy(s, c.src, PAGE);
      const caller = new Userfaultfd(c.p, c.uffd.fd, c.p.newThread());
      expect(() => caller.copy(c.V + c.P, s + PAGE, PAGE)).toThrow(WouldBlockError);
      expect(c.uffd.read()).toMatchObject([{ event: "pagefault", address: s + PAGE }]);
      if (change) {
        c.uffd.unregister(c.V, 8 * PAGE);
        c.uffd.register(c.V, 8 * PAGE, A.UFFDIO_REGISTER_MODE_MINOR);
      }
      c.uffd.copy(s + PAGE, c.src, PAGE); // serve the source fault: wakes the caller
      if (change) {
        expect(fill(() => caller.copy(c.V + c.P, s + PAGE, PAGE))).toEqual({ errno: "EAGAIN", out: -11 });
        expect(c.state()).toBe("HOLE");
      } else {
        expect(caller.copy(c.V + c.P, s + PAGE, PAGE)).toBe(BigInt(PAGE));
        expect(c.p.thread.load8(c.V + c.P)).toBe(0xab);
      }
      c.k.checkInvariants();
    }
  });

  it("filemap_remove after a failed install: COPY onto a guard marker is EEXIST and leaves P a hole", async () => {
    const c = await setup("MISSING", false);
    c.p.madvise(c.V + c.P, PAGE, A.MADV_GUARD_INSTALL);
    // alloc_folio and filemap_add succeed; the PTE install finds the guard marker: EEXIST,
    // and the page is taken out of the cache again (the probe sees a hole).
    expect(fill(() => c.uffd.copy(c.V + c.P, c.src, PAGE))).toEqual({ errno: "EEXIST", out: -17 });
    c.p.madvise(c.V + c.P, PAGE, A.MADV_GUARD_REMOVE);
    expect(c.state()).toBe("HOLE");
    c.k.checkInvariants();
  });
});
