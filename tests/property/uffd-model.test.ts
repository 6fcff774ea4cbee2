/**
 * Property tests for userfaultfd: random sequences of faults, fills (COPY, ZEROPAGE, CONTINUE,
 * POISON, WRITEPROTECT, WAKE), read(), REGISTER / UNREGISTER, close() and the non-cooperative
 * events' producers (MADV_DONTNEED / MADV_REMOVE, munmap, mremap, fork), run on the uffdlab kernel
 * and on a deliberately simple model of what each page holds, which threads are blocked and which
 * events are queued. (tests/property/uffd-target.ts is the uffdlab target of the *mm* model tests;
 * this file has its own model, since the mm model knows nothing of userfaultfd.)
 *
 * The memory is 4 pages, one VMA, registered as a whole: private anonymous (MISSING, WP or both),
 * or a memfd mapped MAP_SHARED (MISSING, MINOR or both) with an unregistered alias mapping through
 * which the page cache is filled without userfaults. Three faulting threads behave as the
 * scheduler's async threads do: an access that must wait leaves its thread blocked (the kernel
 * queued it: its wait word is 1) until a fill, WAKE, UNREGISTER or close() wakes it (wait word 0);
 * the thread's next step then retries the same access, which may block again with a new message.
 *
 * Non-cooperative events: each run enables a random subset of EVENT_REMOVE / UNMAP / REMAP / FORK. A
 * fourth thread, the producer, makes the calls that send them: madvise on part of the region,
 * munmap of it (then mapped again, unregistered), mremap of it into a spare hole, fork (the child
 * exits once fork has returned). A call that sent an event blocks until the event is read (mremap:
 * REMAP, then the source's UNMAP); meanwhile every fill ioctl is EAGAIN with -EAGAIN in its
 * out-field and WRITEPROTECT is EAGAIN, while WAKE, REGISTER and UNREGISTER work; read() returns the
 * page faults first, then the events; the producer's next step reissues the call, which returns its
 * result exactly once after the read (or after close(), which drops the events and wakes it), or
 * makes another call instead (it gave up: its events go unread).
 *
 * After every step the kernel and the model must agree on the step's result (value, errno,
 * out-field, signal), on every thread's blocked state, on the number of live events and ctxs
 * (k.stats()) and, for read(), on the messages and their order; the invariant checker runs too.
 * After the sequence the uffd is closed (every thread must be runnable) and the process exits: no
 * frame, inode or task may be left.
 *
 * Adding a command: one entry in COMMANDS with its arbitrary and one `run` that performs it on the
 * kernel and on the model and returns both outcomes.
 *
 * Seeds: FIXED_SEEDS["uffd-model"] in tests/helpers/seeds.ts (shmem adds 1), or $UFFDLAB_SEED.
 * Environment: UFFD_MODEL_RUNS (default 1500), UFFD_MODEL_STEPS (default 40),
 * UFFD_MODEL_COUNTS=1 (print how often each command and situation was reached).
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { assertProperty, testSeed } from "../helpers/seeds.js";
import { CAP_SYS_PTRACE, Kernel, FillError, SystemError, SignalError, WouldBlockError, type Process, type Thread, type Userfaultfd, type UffdMsg } from "../../host-ts/index.js";
import * as A from "../../host-ts/abi.gen.js";

const RUNS = Number(process.env.UFFD_MODEL_RUNS ?? 1500);
const STEPS = Number(process.env.UFFD_MODEL_STEPS ?? 40);
const SEED = testSeed("uffd-model");

const PAGE = 4096;
const NPAGES = 4;
const NTHREADS = 3;
const MISSING = 1;
const WP = 2;
const srcByte = (j: number) => 0x11 * (j + 1);
const F_WRITE = Number(A.UFFD_PAGEFAULT_FLAG_WRITE);
const F_WP = Number(A.UFFD_PAGEFAULT_FLAG_WP);
const F_MINOR = Number(A.UFFD_PAGEFAULT_FLAG_MINOR);
const MINOR = 4;

// ---- the model ----

type PageState = { kind: "none" } | { kind: "zero" } | { kind: "data"; byte: number } | { kind: "poison" };
interface Access { page: number; write: boolean; value: number }
interface MThread { pending: Access | null; blocked: boolean }
interface Msg { page: number; flags: number; tid: number }

type Pte = "none" | "present" | "poison";
interface Features { remove: boolean; unmap: boolean; remap: boolean; fork: boolean }
/**
 * A producer's system call (madvise, munmap, mremap) that prepared events: it is blocked until
 * the last one is read (or the ctx released), then its reissue returns `ret` and `finish` runs
 * (the model's part of what the call does after its wait).
 */
interface Prod { nr: number; args: number[]; rest: string[]; blocked: boolean; ret: number; finish: () => void }

class Model {
  constructor(readonly shmem: boolean) {}
  // anonymous memory: what each page is
  pages: PageState[] = Array.from({ length: NPAGES }, () => ({ kind: "none" }) as PageState);
  // shmem: the page cache (a byte, or null for a hole) and what the registered mapping's PTE is
  cache: (number | null)[] = new Array(NPAGES).fill(null);
  pte: Pte[] = new Array(NPAGES).fill("none");
  wp: boolean[] = new Array(NPAGES).fill(false);
  mode = 0; // registration of the whole VMA (0: none)
  open = true;
  threads: MThread[] = Array.from({ length: NTHREADS }, () => ({ pending: null, blocked: false }));
  unread: Msg[] = [];
  /** non-cooperative events: the features this run enabled */
  features: Features = { remove: false, unmap: false, remap: false, fork: false };
  /** a FORK event's child ctx: held by the event, then by the userfaultfd read() installs */
  childCtx = 0;
  /** the region is mapped (false between an munmap and the producer's re-mmap) */
  mapped = true;
  /** ctx.mmap_changing: events prepared and not yet read */
  changing = 0;
  /** events delivered to the ctx and unread (one producer: at most one) */
  events: string[] = [];
  /** the producer thread's call in progress */
  prod: Prod | null = null;

  present(i: number): boolean {
    return this.shmem ? this.pte[i] === "present" : this.pages[i].kind === "zero" || this.pages[i].kind === "data";
  }

  /** Wake the blocked threads whose fault page lies in [first, first + n); their unread messages go. */
  wake(first: number, n: number): void {
    this.threads.forEach((t) => {
      if (t.blocked && t.pending && t.pending.page >= first && t.pending.page < first + n) t.blocked = false;
    });
    this.unread = this.unread.filter((m) => !(m.page >= first && m.page < first + n));
  }

  /** An access by thread `tid`: its result, or "blocked" (a message is queued). */
  access(tid: number, a: Access): Outcome {
    if (!this.mapped) return this.done(tid, "SIGSEGV");
    const p = this.pages[a.page];
    const block = (flags: number): Outcome => {
      this.threads[tid].blocked = true;
      this.threads[tid].pending = a;
      this.unread.push({ page: a.page, flags, tid });
      return "blocked";
    };
    if (this.shmem) {
      // shmem_fault's userfault decision: hole + MISSING → MISSING; cached + MINOR → MINOR; otherwise the normal fault
      const i = a.page;
      if (this.pte[i] === "poison") return this.done(tid, "SIGBUS");
      if (this.pte[i] === "none") {
        const w = a.write ? F_WRITE : 0;
        if (this.cache[i] === null && this.mode & MISSING) return block(w);
        if (this.cache[i] !== null && this.mode & MINOR) return block(F_MINOR | w);
        if (this.cache[i] === null) this.cache[i] = 0;
        this.pte[i] = "present";
      }
      if (!a.write) return this.done(tid, this.cache[i]!);
      this.cache[i] = a.value;
      return this.done(tid, "ok");
    }
    if (p.kind === "poison") return this.done(tid, "SIGBUS");
    if (p.kind === "none") {
      if (this.mode & MISSING) return block(a.write ? F_WRITE : 0);
      this.pages[a.page] = a.write ? { kind: "data", byte: a.value } : { kind: "zero" };
      return this.done(tid, a.write ? "ok" : 0);
    }
    if (!a.write) return this.done(tid, p.kind === "zero" ? 0 : (p as { byte: number }).byte);
    if (this.wp[a.page] && this.mode & WP) return block(F_WP | F_WRITE);
    this.pages[a.page] = { kind: "data", byte: a.value };
    return this.done(tid, "ok");
  }
  private done(tid: number, r: Outcome): Outcome {
    this.threads[tid].pending = null;
    return r;
  }

  /** The per-page part of COPY / ZEROPAGE / POISON: bytes done (EAGAIN if 0 < done < len), or the errno. */
  fill(first: number, n: number, each: (i: number) => string | null, dontwake: boolean): Outcome {
    if (!this.mode) return { errno: "ENOENT", out: -A.ENOENT };
    let done = 0;
    let err: string | null = null;
    for (let i = first; i < first + n; i++) {
      err = each(i);
      if (err) break;
      done++;
    }
    if (done && !dontwake) this.wake(first, done);
    if (done === n) return { out: done * PAGE };
    if (done) return { errno: "EAGAIN", out: done * PAGE };
    return { errno: err!, out: -ERRNO[err!] };
  }
}

/** A fill ioctl while an event is unread (mmap_changing, checked first): EAGAIN, -EAGAIN in the out-field. */
const EAGAIN_FILL: Outcome = { errno: "EAGAIN", out: -A.EAGAIN };

const ERRNO: Record<string, number> = { ENOENT: A.ENOENT, EEXIST: A.EEXIST, EINVAL: A.EINVAL, EAGAIN: A.EAGAIN, EFAULT: A.EFAULT };

/** What a step produced: a loaded value, "ok" (a store), "blocked", a signal, or an ioctl result. */
type Outcome = number | "ok" | "wrong pid" | "blocked" | "SIGBUS" | "SIGSEGV" | { errno?: string; out?: number } | { msgs: string[] };

// ---- the system under test ----

interface Sut {
  k: Kernel;
  p: Process;
  uffd: Userfaultfd;
  dst: number;
  src: number;
  /** shmem: an unregistered MAP_SHARED alias of dst's memfd (0 for anon) */
  alias: number;
  threads: Thread[];
  words: Int32Array[];
  /** the thread that makes the event-producing calls, and its wait word */
  prod: Thread;
  prodWord: Int32Array;
  /** an unmapped hole of NPAGES that mremap moves the region to (the old place becomes the next hole) */
  spare: number;
  /** shmem: the memfd, mapped again after an munmap */
  memfd: number;
  /** the child's userfaultfd a FORK message installed (-1: none), and the child (0: none) */
  forkUfd: number;
  childPid: number;
}

function kernelAccess(s: Sut, tid: number, a: Access): Outcome {
  const t = s.threads[tid];
  const addr = s.dst + a.page * PAGE;
  try {
    if (a.write) {
      t.store8(addr, a.value);
      return "ok";
    }
    return t.load8(addr);
  } catch (e) {
    if (e instanceof WouldBlockError) return "blocked";
    if (e instanceof SignalError) return e.name as "SIGBUS" | "SIGSEGV";
    throw e;
  }
}

function fillResult(fn: () => bigint): Outcome {
  try {
    return { out: Number(fn()) };
  } catch (e) {
    if (e instanceof FillError) return { errno: e.code, out: Number(e.bytes) };
    if (e instanceof SystemError) return { errno: e.code };
    throw e;
  }
}
function plainResult(fn: () => void): Outcome {
  try {
    fn();
    return {};
  } catch (e) {
    if (e instanceof SystemError) return { errno: e.code };
    throw e;
  }
}

// ---- commands ----

type Cmd =
  | { op: "access"; tid: number; page: number; write: boolean; value: number }
  | { op: "copy"; page: number; n: number; src: number; dontwake: boolean; wp: boolean }
  | { op: "zeropage"; page: number; n: number; dontwake: boolean }
  | { op: "continue"; page: number; n: number }
  | { op: "poison"; page: number; n: number }
  | { op: "writeprotect"; page: number; n: number; protect: boolean; dontwake: boolean }
  | { op: "wake"; page: number; n: number }
  | { op: "read" }
  | { op: "register"; mode: number }
  | { op: "unregister" }
  | { op: "close" }
  | { op: "alias"; page: number; value: number }
  | { op: "madvise"; page: number; n: number; remove: boolean }
  | { op: "munmap" }
  | { op: "mremap" }
  | { op: "fork" }
  | { op: "abandon" };

const range = fc.integer({ min: 0, max: NPAGES - 1 }).chain((page) => fc.record({ page: fc.constant(page), n: fc.integer({ min: 1, max: NPAGES - page }) }));

interface Command<C extends Cmd = Cmd> {
  arb: fc.Arbitrary<C>;
  weight: number;
  /** Perform `c` on the kernel and on the model; null when it does not apply now (a skipped step). */
  run(s: Sut, m: Model, c: C): { got: Outcome; want: Outcome } | null;
}

const COMMANDS: Command[] = [
  {
    weight: 6,
    arb: fc.record({ op: fc.constant("access" as const), tid: fc.integer({ min: 0, max: NTHREADS - 1 }), page: fc.integer({ min: 0, max: NPAGES - 1 }), write: fc.boolean(), value: fc.integer({ min: 1, max: 255 }) }),
    run(s, m, c) {
      const t = m.threads[c.tid];
      if (t.blocked) return null;
      // A woken thread retries the access it was blocked in (as an async thread does).
      const a: Access = t.pending ?? { page: c.page, write: c.write, value: c.value };
      return { got: kernelAccess(s, c.tid, a), want: m.access(c.tid, a) };
    },
  } as Command<Extract<Cmd, { op: "access" }>>,
  {
    weight: 3,
    arb: fc.record({ op: fc.constant("copy" as const), r: range, src: fc.integer({ min: 0, max: NPAGES - 1 }), dontwake: fc.boolean(), wp: fc.boolean() })
      .map(({ op, r, src, dontwake, wp }) => ({ op, page: r.page, n: Math.min(r.n, NPAGES - src), src, dontwake, wp })),
    run(s, m, c) {
      if (!m.open) return null;
      const mode = (c.dontwake ? Number(A.UFFDIO_COPY_MODE_DONTWAKE) : 0) | (c.wp ? Number(A.UFFDIO_COPY_MODE_WP) : 0);
      const got = fillResult(() => s.uffd.copy(s.dst + c.page * PAGE, s.src + c.src * PAGE, c.n * PAGE, mode));
      let want: Outcome;
      if (m.changing) want = EAGAIN_FILL;
      else if (m.mode && c.wp && !(m.mode & WP)) want = { errno: "EINVAL", out: -A.EINVAL };
      else if (m.shmem) want = m.fill(c.page, c.n, (i) => shmemFill(m, i, srcByte(c.src + i - c.page)), c.dontwake);
      else {
        want = m.fill(c.page, c.n, (i) => {
          if (m.present(i)) return "EEXIST";
          m.pages[i] = { kind: "data", byte: srcByte(c.src + i - c.page) };
          m.wp[i] = c.wp;
          return null;
        }, c.dontwake);
      }
      return { got, want };
    },
  } as Command<Extract<Cmd, { op: "copy" }>>,
  {
    weight: 2,
    arb: fc.record({ op: fc.constant("zeropage" as const), r: range, dontwake: fc.boolean() }).map(({ op, r, dontwake }) => ({ op, ...r, dontwake })),
    run(s, m, c) {
      if (!m.open) return null;
      const got = fillResult(() => s.uffd.zeropage(s.dst + c.page * PAGE, c.n * PAGE, c.dontwake ? A.UFFDIO_ZEROPAGE_MODE_DONTWAKE : 0));
      const want = m.changing ? EAGAIN_FILL : m.shmem ? m.fill(c.page, c.n, (i) => shmemFill(m, i, 0), c.dontwake) : m.fill(c.page, c.n, (i) => {
        if (m.pages[i].kind !== "none") return "EEXIST"; // markers (poison) are not overwritten on a private VMA
        m.pages[i] = { kind: "zero" };
        m.wp[i] = false;
        return null;
      }, c.dontwake);
      return { got, want };
    },
  } as Command<Extract<Cmd, { op: "zeropage" }>>,
  {
    weight: 1,
    arb: fc.record({ op: fc.constant("continue" as const), r: range }).map(({ op, r }) => ({ op, ...r })),
    run(s, m, c) {
      if (!m.open) return null;
      const got = fillResult(() => s.uffd.continue(s.dst + c.page * PAGE, c.n * PAGE));
      // Anonymous memory has no page cache to continue from (EINVAL). shmem: not cached → EFAULT,
      // a PTE already there → EEXIST, a poison marker is overwritten.
      const want: Outcome = m.changing ? EAGAIN_FILL : !m.shmem
        ? (m.mode ? { errno: "EINVAL", out: -A.EINVAL } : { errno: "ENOENT", out: -A.ENOENT })
        : m.fill(c.page, c.n, (i) => {
          if (m.cache[i] === null) return "EFAULT";
          if (m.pte[i] === "present") return "EEXIST";
          m.pte[i] = "present";
          return null;
        }, false);
      return { got, want };
    },
  } as Command<Extract<Cmd, { op: "continue" }>>,
  {
    weight: 1,
    arb: fc.record({ op: fc.constant("poison" as const), r: range }).map(({ op, r }) => ({ op, ...r })),
    run(s, m, c) {
      if (!m.open) return null;
      const got = fillResult(() => s.uffd.poison(s.dst + c.page * PAGE, c.n * PAGE));
      const want = m.changing ? EAGAIN_FILL : m.fill(c.page, c.n, (i) => {
        if (m.shmem) {
          if (m.pte[i] !== "none") return "EEXIST";
          m.pte[i] = "poison"; // in the page table only: the cache and the alias are unaffected
          return null;
        }
        if (m.pages[i].kind !== "none") return "EEXIST";
        m.pages[i] = { kind: "poison" };
        m.wp[i] = false;
        return null;
      }, false);
      return { got, want };
    },
  } as Command<Extract<Cmd, { op: "poison" }>>,
  {
    weight: 2,
    arb: fc.record({ op: fc.constant("writeprotect" as const), r: range, protect: fc.boolean(), dontwake: fc.boolean() })
      .map(({ op, r, protect, dontwake }) => ({ op, ...r, protect, dontwake })),
    run(s, m, c) {
      if (!m.open) return null;
      const mode = (c.protect ? Number(A.UFFDIO_WRITEPROTECT_MODE_WP) : 0) | (c.dontwake ? Number(A.UFFDIO_WRITEPROTECT_MODE_DONTWAKE) : 0);
      const got = plainResult(() => s.uffd.writeProtect(s.dst + c.page * PAGE, c.n * PAGE, mode));
      let want: Outcome = {};
      if (m.changing) want = { errno: "EAGAIN" }; // an unread event is checked first, before the mode check
      else if (c.protect && c.dontwake) want = { errno: "EINVAL" };
      else if (!(m.mode & WP)) want = { errno: "ENOENT" };
      else {
        // Present pages get (or lose) the uffd-wp bit; holes and poison markers are left alone
        // (anonymous memory without WP_UNPOPULATED has no markers).
        for (let i = c.page; i < c.page + c.n; i++) if (m.present(i)) m.wp[i] = c.protect;
        if (!c.protect && !c.dontwake) m.wake(c.page, c.n);
      }
      return { got, want };
    },
  } as Command<Extract<Cmd, { op: "writeprotect" }>>,
  {
    weight: 1,
    arb: fc.record({ op: fc.constant("wake" as const), r: range }).map(({ op, r }) => ({ op, ...r })),
    run(s, m, c) {
      if (!m.open) return null;
      const got = plainResult(() => s.uffd.wake(s.dst + c.page * PAGE, c.n * PAGE));
      m.wake(c.page, c.n);
      return { got, want: {} };
    },
  } as Command<Extract<Cmd, { op: "wake" }>>,
  {
    weight: 2,
    arb: fc.constant({ op: "read" as const }),
    run(s, m) {
      if (!m.open) return null;
      const fmt = (page: number, flags: number) => `page ${page} flags ${flags}`;
      const got = s.uffd.read().map((x) => {
        if (x.event === "fork") s.forkUfd = x.ufd;
        return x.event === "pagefault" ? fmt((x.address - s.dst) / PAGE, Number(x.flags)) : showEvent(x);
      });
      // Page faults first, then the events that were queued when the read began (FIFO); reading an
      // event lets its producer deliver its next one (for the next read) or wakes it.
      const want = [...m.unread.map((x) => fmt(x.page, x.flags)), ...m.events];
      if (m.unread.length && m.events.length) count("faults and an event in one read");
      if (m.events.includes("fork")) count("FORK read");
      m.unread = [];
      const evs = m.events.length;
      m.events = [];
      for (let i = 0; i < evs; i++) {
        m.changing--;
        const pr = m.prod!;
        if (pr.rest.length) m.events.push(pr.rest.shift()!);
        else pr.blocked = false;
      }
      return { got: { msgs: got }, want: { msgs: want } };
    },
  } as Command<Extract<Cmd, { op: "read" }>>,
  {
    weight: 1,
    arb: fc.record({ op: fc.constant("register" as const), mode: fc.constantFrom(MISSING, WP, MISSING | WP, MINOR, MISSING | MINOR) }),
    run(s, m, c) {
      if (!m.open || m.mode || !m.mapped || !modesFor(m.shmem).includes(c.mode)) return null;
      let got: Outcome;
      try {
        got = { out: Number(s.uffd.register(s.dst, NPAGES * PAGE, c.mode)) };
      } catch (e) {
        if (!(e instanceof SystemError)) throw e;
        got = { errno: e.code };
      }
      m.mode = c.mode;
      return { got, want: { out: c.mode & WP ? 0x17c : c.mode & MINOR ? 0x1bc : 0x13c } };
    },
  } as Command<Extract<Cmd, { op: "register" }>>,
  {
    weight: 1,
    arb: fc.constant({ op: "unregister" as const }),
    run(s, m) {
      if (!m.open || !m.mapped) return null;
      const got = plainResult(() => s.uffd.unregister(s.dst, NPAGES * PAGE));
      // Only a MISSING registration wakes its faulters (userfaultfd_unregister); the uffd-wp bits go.
      if (m.mode & MISSING) m.wake(0, NPAGES);
      m.mode = 0;
      m.wp.fill(false);
      return { got, want: {} };
    },
  } as Command<Extract<Cmd, { op: "unregister" }>>,
  {
    weight: 1,
    arb: fc.constant({ op: "close" as const }),
    run(s, m) {
      // While fork is in progress the child holds a copy of the descriptor: close() is no release
      // then (tests/unit/userfaultfd-events.test.ts covers that case); the model does not close.
      if (!m.open || m.prod?.nr === A.__NR_fork) return null;
      const got = plainResult(() => s.uffd.close());
      closeModel(m);
      return { got, want: {} };
    },
  } as Command<Extract<Cmd, { op: "close" }>>,
  {
    weight: 2,
    arb: fc.record({ op: fc.constant("alias" as const), page: fc.integer({ min: 0, max: NPAGES - 1 }), value: fc.integer({ min: 1, max: 255 }) }),
    run(s, m, c) {
      // shmem: a write through the unregistered alias fills the page cache without any userfault
      if (!m.shmem) return null;
      s.p.thread.store8(s.alias + c.page * PAGE, c.value);
      m.cache[c.page] = c.value;
      return { got: "ok", want: "ok" };
    },
  } as Command<Extract<Cmd, { op: "alias" }>>,
  {
    weight: 2,
    arb: fc.record({ op: fc.constant("madvise" as const), r: range, remove: fc.boolean() }).map(({ op, r, remove }) => ({ op, ...r, remove })),
    run(s, m, c) {
      // MADV_DONTNEED zaps the range's PTEs, poison markers included; the page cache stays.
      // MADV_REMOVE (shmem only; EINVAL on private anonymous memory, before any event) punches
      // the hole in the file too. With EVENT_REMOVE on a registered range the producer delivers
      // REMOVE and waits for its read first; the zap is done by its reissue.
      if (m.prod) return reissue(s, m);
      if (!m.mapped) return null;
      const start = s.dst + c.page * PAGE;
      const end = start + c.n * PAGE;
      if (c.remove && !m.shmem) return { got: produce(s, m, A.__NR_madvise, [start, c.n * PAGE, A.MADV_REMOVE]), want: { errno: "EINVAL" } };
      const evs = m.open && m.mode && m.features.remove ? [`remove ${hex(start)}-${hex(end)}`] : [];
      const finish = () => {
        for (let i = c.page; i < c.page + c.n; i++) {
          // the hole punch zaps the pages of every mapping but keeps PTE markers (measured on 6.18:
          // a poisoned page still SIGBUSes after MADV_REMOVE; MADV_DONTNEED drops the marker)
          if (c.remove) {
            m.cache[i] = null;
            if (m.pte[i] === "present") m.pte[i] = "none";
          } else if (m.shmem) m.pte[i] = "none";
          else m.pages[i] = { kind: "none" };
          m.wp[i] = false;
        }
      };
      const args = [start, c.n * PAGE, c.remove ? A.MADV_REMOVE : A.MADV_DONTNEED];
      return { got: produce(s, m, A.__NR_madvise, args), want: issue(m, A.__NR_madvise, args, evs, 0, () => {}, finish) };
    },
  } as Command<Extract<Cmd, { op: "madvise" }>>,
  {
    weight: 1,
    arb: fc.constant({ op: "munmap" as const }),
    run(s, m) {
      // munmap of the whole region: UNMAP {start, end} if it was registered and EVENT_UNMAP is on;
      // the unmap is done before the wait. When the call has returned, the producer maps the region
      // again (MAP_FIXED, unregistered; shmem: the same memfd, whose page cache stays).
      if (m.prod) return reissue(s, m);
      if (!m.mapped) return null;
      const evs = m.open && m.mode && m.features.unmap ? [`unmap ${hex(s.dst)}-${hex(s.dst + NPAGES * PAGE)}`] : [];
      const args = [s.dst, NPAGES * PAGE];
      const got = produce(s, m, A.__NR_munmap, args);
      const want = issue(m, A.__NR_munmap, args, evs, 0, () => {
        m.mapped = false;
        m.mode = 0;
        m.wp.fill(false);
      }, () => {
        m.mapped = true;
        m.pages = m.pages.map(() => ({ kind: "none" }));
        m.pte.fill("none");
      });
      if (got !== "blocked") remapRegion(s, m);
      return { got, want };
    },
  } as Command<Extract<Cmd, { op: "munmap" }>>,
  {
    weight: 1,
    arb: fc.constant({ op: "mremap" as const }),
    run(s, m) {
      // mremap(MAYMOVE|FIXED) of the whole region into the spare hole: with EVENT_REMAP the
      // registration and the uffd-wp bits move along and REMAP {from, to, len} is sent, without
      // it the moved VMA is unregistered; the source's UNMAP follows (EVENT_UNMAP). Each event
      // waits for its read. Faulting threads wait by address: none may be blocked at the old one.
      if (m.prod) return reissue(s, m);
      if (!m.mapped || m.threads.some((t) => t.blocked)) return null;
      const [from, to] = [s.dst, s.spare];
      const evs: string[] = [];
      if (m.open && m.mode && m.features.remap) evs.push(`remap ${hex(from)} → ${hex(to)} len ${NPAGES}`);
      if (m.open && m.mode && m.features.unmap) evs.push(`unmap ${hex(from)}-${hex(from + NPAGES * PAGE)}`);
      const args = [from, NPAGES * PAGE, NPAGES * PAGE, A.MREMAP_MAYMOVE | A.MREMAP_FIXED, to];
      const got = produce(s, m, A.__NR_mremap, args);
      const want = issue(m, A.__NR_mremap, args, evs, to, () => {
        if (!m.features.remap) {
          m.mode = 0;
          m.wp.fill(false);
        }
      }, () => {});
      if (got === "blocked" || (typeof got === "object" && "out" in got && got.out === to)) [s.dst, s.spare] = [to, from];
      return { got, want };
    },
  } as Command<Extract<Cmd, { op: "mremap" }>>,
  {
    weight: 1,
    arb: fc.constant({ op: "fork" as const }),
    run(s, m) {
      // fork: with EVENT_FORK a registered region gets a child ctx, and FORK waits for its read
      // (which installs the child's userfaultfd in the reader's table). The parent's own state
      // is unchanged. When fork has returned the child exits and its userfaultfd is closed.
      if (m.prod) return reissue(s, m);
      const evs = m.open && m.mode && m.features.fork ? ["fork"] : [];
      const got = produce(s, m, A.__NR_fork, []);
      const want = issue(m, A.__NR_fork, [], evs, CHILD, () => (m.childCtx = evs.length), () => {});
      if (got !== "blocked") endFork(s, m);
      return { got, want };
    },
  } as Command<Extract<Cmd, { op: "fork" }>>,
  {
    weight: 1,
    arb: fc.constant({ op: "abandon" as const }),
    run(s, m) {
      // The producer makes another call instead of the reissue: it gave up its wait (as a fatal
      // signal would end it, kernel/restart.ts). Its events go unread — off the ctx's queue, and
      // mmap_changing drops — and what was left to do is forgotten (madvise's zap); what was done
      // stays (munmap's unmap, after which the region is mapped again; mremap's move). A fork
      // given up fails and takes its child along: tests/unit/userfaultfd-events.test.ts.
      const pr = m.prod;
      if (!pr || pr.nr === A.__NR_fork) return null;
      const got: Outcome = s.prod.syscall(A.__NR_getpid) === BigInt(s.p.pid) ? "ok" : "wrong pid";
      m.changing -= m.events.length + pr.rest.length;
      m.events = [];
      m.prod = null;
      if (pr.nr === A.__NR_munmap) {
        remapRegion(s, m);
        m.mapped = true;
        m.pages = m.pages.map(() => ({ kind: "none" }));
        m.pte.fill("none");
      }
      return { got, want: "ok" };
    },
  } as Command<Extract<Cmd, { op: "abandon" }>>,
];

/** The producer thread makes a call: its result, or "blocked" (it waits for an event's read). */
function produce(s: Sut, m: Model, nr: number, args: number[]): Outcome {
  try {
    const r = Number(s.prod.syscall(nr, ...args));
    if (nr === A.__NR_fork && r > 0) {
      s.childPid = r; // the pid is not the model's business
      return { out: CHILD };
    }
    return r < 0 ? { errno: A.ERRNO_NAMES[-r] } : { out: r };
  } catch (e) {
    if (e instanceof WouldBlockError) return "blocked";
    throw e;
  }
}

/**
 * The model of a producer's call that prepares the events `evs` (in delivery order): none → it
 * does everything and returns `ret`; otherwise `before` runs (what is done before the wait), the
 * first event is delivered, and the producer waits (until the last is read, or the release).
 */
function issue(m: Model, nr: number, args: number[], evs: string[], ret: number, before: () => void, finish: () => void): Outcome {
  before();
  if (!evs.length) {
    finish();
    return { out: ret };
  }
  m.changing += evs.length;
  m.events.push(evs[0]);
  m.prod = { nr, args, rest: evs.slice(1), blocked: true, ret, finish };
  return "blocked";
}

/** The producer reissues its waiting call: still blocked, or it returns the recorded result once. */
function reissue(s: Sut, m: Model): { got: Outcome; want: Outcome } {
  const pr = m.prod!;
  const got = produce(s, m, pr.nr, pr.args);
  if (pr.blocked) return { got, want: "blocked" };
  count(m.open ? "producer returned after the read" : "producer returned after the release");
  m.prod = null;
  pr.finish();
  if (pr.nr === A.__NR_munmap && got !== "blocked") remapRegion(s, m);
  if (pr.nr === A.__NR_fork) endFork(s, m);
  return { got, want: { out: pr.ret } };
}

/** fork's result in the model: some pid > 0 */
const CHILD = 1;

/** After fork has returned: the child exits, the userfaultfd its FORK message installed is closed. */
function endFork(s: Sut, m: Model): void {
  if (s.childPid > 0) s.k.adopt(s.childPid).exit(0);
  s.childPid = 0;
  if (s.forkUfd >= 0) s.p.close(s.forkUfd);
  s.forkUfd = -1;
  m.childCtx = 0;
}

/** After an munmap: map the region again at the same place, unregistered. */
function remapRegion(s: Sut, m: Model): void {
  const len = NPAGES * PAGE;
  const flags = A.MAP_FIXED | (m.shmem ? A.MAP_SHARED : A.MAP_PRIVATE | A.MAP_ANONYMOUS);
  const r = s.p.mmap(s.dst, len, A.PROT_READ | A.PROT_WRITE, flags, m.shmem ? s.memfd : -1, 0);
  if (r !== s.dst) throw new Error(`re-mmap at ${hex(s.dst)} gave ${hex(r)}`);
}

/** The registration modes each memory type takes in this model. */
const modesFor = (shmem: boolean) => (shmem ? [MISSING, MINOR, MISSING | MINOR] : [MISSING, WP, MISSING | WP]);

/**
 * A shared-VMA fill of one page (COPY, or ZEROPAGE's zeroed folio): a PTE there → EEXIST (a poison
 * marker is overwritten); a page already in the cache → EEXIST (the cache insertion fails).
 */
function shmemFill(m: Model, i: number, byte: number): string | null {
  if (m.pte[i] === "present" || m.cache[i] !== null) return "EEXIST";
  m.cache[i] = byte;
  m.pte[i] = "present";
  return null;
}

/** close(): the ctx is released — everything unregistered, every waiter woken (userfaultfd_release). */
function closeModel(m: Model): void {
  m.open = false;
  m.mode = 0;
  m.wp.fill(false);
  m.threads.forEach((t) => (t.blocked = false));
  m.unread = [];
  // the unread and undelivered events are dropped and the producer is woken
  m.events = [];
  m.changing = 0;
  // an unread FORK event's child ctx goes with it; one already read lives in its own descriptor
  if (m.prod?.nr === A.__NR_fork && m.prod.blocked) m.childCtx = 0;
  if (m.prod) {
    m.prod.rest = [];
    m.prod.blocked = false;
  }
}

const hex = (n: number) => "0x" + n.toString(16);
function showEvent(x: UffdMsg): string {
  if (x.event === "remap") return `remap ${hex(x.from)} → ${hex(x.to)} len ${x.len / PAGE}`;
  if (x.event === "remove" || x.event === "unmap") return `${x.event} ${hex(x.start)}-${hex(x.end)}`;
  return x.event;
}

const cmdArb = fc.oneof(...COMMANDS.map((c) => ({ arbitrary: c.arb, weight: c.weight })));
const OPS = COMMANDS.map((c) => (fc.sample(c.arb, { numRuns: 1, seed: 0 })[0] as Cmd).op);
const commandFor = (c: Cmd): Command => COMMANDS[OPS.indexOf(c.op)];

// ---- running a sequence ----

interface Baseline { frames: number; inodes: number; tasks: number }
let kernel: Kernel | null = null;
let base: Baseline | null = null;
const counts = new Map<string, number>();
const count = (what: string) => counts.set(what, (counts.get(what) ?? 0) + 1);

async function runSequence(shmem: boolean, initialMode: number, features: Features, cmds: Cmd[]): Promise<void> {
  if (!kernel) {
    kernel = await Kernel.boot({ memoryBytes: 16 << 20 });
    const st = kernel.stats();
    base = { frames: st.freeFrames + st.slabFrames, inodes: st.inodes, tasks: st.tasks };
  }
  const k = kernel;
  const p = k.spawn({ caps: CAP_SYS_PTRACE }); // EVENT_FORK needs it
  const trace: string[] = [];
  try {
    const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    uffd.api((features.remove ? A.UFFD_FEATURE_EVENT_REMOVE : 0n) | (features.unmap ? A.UFFD_FEATURE_EVENT_UNMAP : 0n) |
      (features.remap ? A.UFFD_FEATURE_EVENT_REMAP : 0n) | (features.fork ? A.UFFD_FEATURE_EVENT_FORK : 0n));
    let dst: number;
    let alias = 0;
    let memfd = -1;
    if (shmem) {
      memfd = p.memfdCreate("model");
      p.ftruncate(memfd, NPAGES * PAGE);
      dst = p.mmap(0, NPAGES * PAGE, A.PROT_READ | A.PROT_WRITE, A.MAP_SHARED, memfd, 0);
      alias = p.mmap(0, NPAGES * PAGE, A.PROT_READ | A.PROT_WRITE, A.MAP_SHARED, memfd, 0);
    } else {
      dst = p.mmap(0, NPAGES * PAGE, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
    }
    const src = p.mmap(0, NPAGES * PAGE, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
    for (let j = 0; j < NPAGES; j++) p.thread.fill(src + j * PAGE, srcByte(j), PAGE);
    const threads = Array.from({ length: NTHREADS }, () => p.newThread());
    const words = threads.map((t) => new Int32Array(t.frame.buffer, t.frame.byteOffset + A.host_frame.wait_word, 1));
    const prod = p.newThread();
    const prodWord = new Int32Array(prod.frame.buffer, prod.frame.byteOffset + A.host_frame.wait_word, 1);
    const spare = p.mmap(0, NPAGES * PAGE, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
    p.munmap(spare, NPAGES * PAGE);
    const s: Sut = { k, p, uffd, dst, src, alias, threads, words, prod, prodWord, spare, memfd, forkUfd: -1, childPid: 0 };
    const m = new Model(shmem);
    m.features = features;
    if (initialMode && modesFor(shmem).includes(initialMode)) {
      uffd.register(dst, NPAGES * PAGE, initialMode);
      m.mode = initialMode;
    }
    const check = (what: string) => {
      const blocked = words.map((w) => Atomics.load(w, 0) === 1);
      const want = m.threads.map((t) => t.blocked);
      if (JSON.stringify(blocked) !== JSON.stringify(want)) throw new Error(`${what}: blocked threads ${JSON.stringify(blocked)}, model ${JSON.stringify(want)}`);
      const prodBlocked = Atomics.load(prodWord, 0) === 1;
      if (prodBlocked !== (m.prod?.blocked ?? false)) throw new Error(`${what}: producer blocked ${prodBlocked}, model ${!prodBlocked}`);
      // every prepared event is one kernel object until it is read or dropped; the ctx lives until close
      const st = k.stats();
      const ctxs = (m.open ? 1 : 0) + m.childCtx;
      if (st.uffdEvents !== m.changing || st.uffdCtxs !== ctxs) throw new Error(`${what}: ${st.uffdEvents} events, ${st.uffdCtxs} ctxs; model ${m.changing}, ${ctxs}`);
      k.checkInvariants();
    };
    for (const c of cmds) {
      const r = commandFor(c).run(s, m, c);
      if (!r) continue;
      const line = `${JSON.stringify(c)} → ${JSON.stringify(r.got)}`;
      trace.push(line);
      counts.set(c.op, (counts.get(c.op) ?? 0) + 1);
      if (r.got === "blocked") counts.set("blocked", (counts.get("blocked") ?? 0) + 1);
      if (m.changing) counts.set("event pending", (counts.get("event pending") ?? 0) + 1);
      if (JSON.stringify(r.want) === JSON.stringify(EAGAIN_FILL)) counts.set("EAGAIN", (counts.get("EAGAIN") ?? 0) + 1);
      if (c.op === "read" && (r.want as { msgs: string[] }).msgs.some((x) => !x.startsWith("page"))) counts.set("event read", (counts.get("event read") ?? 0) + 1);
      if (JSON.stringify(r.got) !== JSON.stringify(r.want)) throw new Error(`step ${trace.length}: ${JSON.stringify(c)}: kernel ${JSON.stringify(r.got)}, model ${JSON.stringify(r.want)}`);
      check(`after step ${trace.length}`);
    }
    // A fork in progress: read its FORK event, and fork returns.
    if (m.prod?.nr === A.__NR_fork) {
      for (const op of ["read", "fork"] as const) {
        const r = commandFor({ op }).run(s, m, { op })!;
        if (JSON.stringify(r.got) !== JSON.stringify(r.want)) throw new Error(`finishing fork, ${op}: kernel ${JSON.stringify(r.got)}, model ${JSON.stringify(r.want)}`);
        check(`finishing fork, after ${op}`);
      }
    }
    if (m.open) {
      uffd.close();
      closeModel(m);
    }
    check("after close()");
    // A producer woken by the release returns its result once.
    if (m.prod) {
      const r = reissue(s, m);
      if (JSON.stringify(r.got) !== JSON.stringify(r.want)) throw new Error(`producer reissue after close: kernel ${JSON.stringify(r.got)}, model ${JSON.stringify(r.want)}`);
      check("after the producer's reissue");
    }
    // Every woken thread can finish its access now that nothing is registered.
    m.threads.forEach((t, tid) => {
      if (t.pending) {
        const got = kernelAccess(s, tid, t.pending);
        const want = m.access(tid, t.pending);
        if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`retry after close, thread ${tid}: kernel ${JSON.stringify(got)}, model ${JSON.stringify(want)}`);
      }
    });
    p.exit(0);
    k.checkInvariants();
    const st = k.stats();
    const now = { frames: st.freeFrames + st.slabFrames, inodes: st.inodes, tasks: st.tasks };
    if (JSON.stringify(now) !== JSON.stringify(base)) throw new Error(`leak after exit: ${JSON.stringify(now)} vs baseline ${JSON.stringify(base)}`);
  } catch (e) {
    kernel = null; // the next run boots a fresh kernel
    (e as Error).message += `\ntrace:\n  ${trace.join("\n  ")}`;
    throw e;
  }
}

describe("userfaultfd model (property, uffdlab kernel)", () => {
  for (const shmem of [false, true]) {
    const what = shmem ? "shmem (memfd MAP_SHARED + alias)" : "anonymous memory";
    it(`${what}: ${RUNS} random sequences of faults, fills, events, read, register/unregister and close agree with the model`, { timeout: 300_000 }, async () => {
      counts.clear();
      await assertProperty(
        fc.asyncProperty(fc.constantFrom(0, ...modesFor(shmem)), fc.record({ remove: fc.boolean(), unmap: fc.boolean(), remap: fc.boolean(), fork: fc.boolean() }), fc.array(cmdArb, { minLength: 1, maxLength: STEPS, size: "max" }), async (mode, features, cmds) => {
          await runSequence(shmem, mode, features, cmds);
        }),
        { numRuns: RUNS, seed: SEED + (shmem ? 1 : 0) },
        import.meta.url, { seed: SEED, testName: what },
      );
      if (process.env.UFFD_MODEL_COUNTS) console.log(Object.fromEntries(counts));
      // The sequences reached every command that applies, and threads really blocked and resumed.
      const ops = OPS.filter((op) => !(op === "alias" && !shmem));
      const events = ["event pending", "event read", "EAGAIN", "faults and an event in one read", "FORK read", "producer returned after the read", "producer returned after the release"];
      for (const op of [...ops, "blocked", ...events]) expect(counts.get(op) ?? 0, op).toBeGreaterThan(0);
    });
  }
});
