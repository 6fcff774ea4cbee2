/**
 * Property tests for userfaultfd: random sequences of faults, fills (COPY, ZEROPAGE, CONTINUE,
 * POISON, WRITEPROTECT, WAKE), read(), REGISTER / UNREGISTER, MADV_DONTNEED and close(), run on the uffdlab kernel
 * and on a deliberately simple model of what each page holds and which threads are blocked.
 * (tests/property/uffd-target.ts is the uffdlab target of the *mm* model tests; this file has its
 * own model, since the mm model knows nothing of userfaultfd.)
 *
 * The memory is 4 pages, one VMA, registered as a whole: private anonymous (MISSING, WP or both),
 * or a memfd mapped MAP_SHARED (MISSING, MINOR or both) with an unregistered alias mapping through
 * which the page cache is filled without userfaults. MADV_DONTNEED zaps PTEs (and markers).
 * Three faulting threads behave as the scheduler's async threads do: an access that must wait
 * leaves its thread blocked (the kernel queued it: its wait word is 1) until a fill, WAKE,
 * UNREGISTER or close() wakes it (wait word 0); the thread's next step then retries the same
 * access, which may block again with a new message. After every step the kernel and the model must
 * agree on the step's result (value, errno, out-field, signal), on every thread's blocked state
 * and, for read(), on the messages and their order. The invariant checker runs after every step;
 * after the sequence the uffd is closed (every thread must be runnable) and the process exits:
 * no frame, inode or task may be left.
 *
 * Adding a command (an event, say): one entry in COMMANDS with its arbitrary and one `run`
 * that performs it on the kernel and on the model and returns both outcomes.
 *
 * Environment: UFFD_MODEL_RUNS (default 1500), UFFD_MODEL_STEPS (default 40), UFFD_MODEL_SEED.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Kernel, FillError, SystemError, SignalError, WouldBlockError, type Process, type Thread, type Userfaultfd } from "../../host-ts/index.js";
import * as A from "../../host-ts/abi.gen.js";

const RUNS = Number(process.env.UFFD_MODEL_RUNS ?? 1500);
const STEPS = Number(process.env.UFFD_MODEL_STEPS ?? 40);
const SEED = process.env.UFFD_MODEL_SEED === undefined ? undefined : Number(process.env.UFFD_MODEL_SEED);

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

  present(i: number): boolean {
    return this.shmem ? this.pte[i] === "present" : this.pages[i].kind === "zero" || this.pages[i].kind === "data";
  }

  /** Wake the blocked threads whose fault page lies in [first, first + n); their unread messages go. */
  wake(first: number, n: number): void {
    this.threads.forEach((t, tid) => {
      if (t.blocked && t.pending && t.pending.page >= first && t.pending.page < first + n) t.blocked = false;
    });
    this.unread = this.unread.filter((m) => !(m.page >= first && m.page < first + n));
  }

  /** An access by thread `tid`: its result, or "blocked" (a message is queued). */
  access(tid: number, a: Access): Outcome {
    const p = this.pages[a.page];
    const block = (flags: number): Outcome => {
      this.threads[tid].blocked = true;
      this.threads[tid].pending = a;
      this.unread.push({ page: a.page, flags, tid });
      return "blocked";
    };
    if (this.shmem) {
      // §8.2: hole + MISSING → MISSING; cached + MINOR → MINOR; otherwise the normal shmem fault
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

  /** The per-page part of COPY / ZEROPAGE / POISON (§7.1 steps 5–8): bytes done, or the errno. */
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

const ERRNO: Record<string, number> = { ENOENT: A.ENOENT, EEXIST: A.EEXIST, EINVAL: A.EINVAL, EAGAIN: A.EAGAIN, EFAULT: A.EFAULT };

/** What a step produced: a loaded value, "ok" (a store), "blocked", a signal, or an ioctl result. */
type Outcome = number | "ok" | "blocked" | "SIGBUS" | "SIGSEGV" | { errno?: string; out?: number } | { msgs: string[] };

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
  | { op: "dontneed"; page: number; n: number };

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
      if (m.mode && c.wp && !(m.mode & WP)) want = { errno: "EINVAL", out: -A.EINVAL };
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
      const want = m.shmem ? m.fill(c.page, c.n, (i) => shmemFill(m, i, 0), c.dontwake) : m.fill(c.page, c.n, (i) => {
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
      // Anonymous memory has no page cache to continue from (§7.7). shmem: not cached → EFAULT,
      // a PTE already there → EEXIST, a poison marker is overwritten.
      const want: Outcome = !m.shmem
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
      const want = m.fill(c.page, c.n, (i) => {
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
      if (c.protect && c.dontwake) want = { errno: "EINVAL" };
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
      const got = s.uffd.read().map((x) => (x.event === "pagefault" ? fmt((x.address - s.dst) / PAGE, Number(x.flags)) : x.event));
      const want = m.unread.map((x) => fmt(x.page, x.flags));
      m.unread = [];
      return { got: { msgs: got }, want: { msgs: want } };
    },
  } as Command<Extract<Cmd, { op: "read" }>>,
  {
    weight: 1,
    arb: fc.record({ op: fc.constant("register" as const), mode: fc.constantFrom(MISSING, WP, MISSING | WP, MINOR, MISSING | MINOR) }),
    run(s, m, c) {
      if (!m.open || m.mode || !modesFor(m.shmem).includes(c.mode)) return null;
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
      if (!m.open) return null;
      const got = plainResult(() => s.uffd.unregister(s.dst, NPAGES * PAGE));
      // Only a MISSING registration wakes its faulters (§7.3); the uffd-wp bits go.
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
      if (!m.open) return null;
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
    weight: 1,
    arb: fc.record({ op: fc.constant("dontneed" as const), r: range }).map(({ op, r }) => ({ op, ...r })),
    run(s, m, c) {
      // MADV_DONTNEED zaps the range's PTEs, poison markers included (§7.8); the page cache stays.
      const got = plainResult(() => s.p.madvise(s.dst + c.page * PAGE, c.n * PAGE, A.MADV_DONTNEED));
      for (let i = c.page; i < c.page + c.n; i++) {
        if (m.shmem) m.pte[i] = "none";
        else m.pages[i] = { kind: "none" };
        m.wp[i] = false;
      }
      return { got, want: {} };
    },
  } as Command<Extract<Cmd, { op: "dontneed" }>>,
];

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

/** close(): the ctx is released — everything unregistered, every waiter woken (§8.7). */
function closeModel(m: Model): void {
  m.open = false;
  m.mode = 0;
  m.wp.fill(false);
  m.threads.forEach((t) => (t.blocked = false));
  m.unread = [];
}

const cmdArb = fc.oneof(...COMMANDS.map((c) => ({ arbitrary: c.arb, weight: c.weight })));
const OPS = COMMANDS.map((c) => (fc.sample(c.arb, 1)[0] as Cmd).op);
const commandFor = (c: Cmd): Command => COMMANDS[OPS.indexOf(c.op)];

// ---- running a sequence ----

interface Baseline { frames: number; inodes: number; tasks: number }
let kernel: Kernel | null = null;
let base: Baseline | null = null;
const counts = new Map<string, number>();

async function runSequence(shmem: boolean, initialMode: number, cmds: Cmd[]): Promise<void> {
  if (!kernel) {
    kernel = await Kernel.boot({ memoryBytes: 16 << 20 });
    const st = kernel.stats();
    base = { frames: st.freeFrames + st.slabFrames, inodes: st.inodes, tasks: st.tasks };
  }
  const k = kernel;
  const p = k.spawn();
  const trace: string[] = [];
  try {
    const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    uffd.api();
    let dst: number;
    let alias = 0;
    if (shmem) {
      const fd = p.memfdCreate("model");
      p.ftruncate(fd, NPAGES * PAGE);
      dst = p.mmap(0, NPAGES * PAGE, A.PROT_READ | A.PROT_WRITE, A.MAP_SHARED, fd, 0);
      alias = p.mmap(0, NPAGES * PAGE, A.PROT_READ | A.PROT_WRITE, A.MAP_SHARED, fd, 0);
      p.close(fd);
    } else {
      dst = p.mmap(0, NPAGES * PAGE, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
    }
    const src = p.mmap(0, NPAGES * PAGE, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
    for (let j = 0; j < NPAGES; j++) p.thread.fill(src + j * PAGE, srcByte(j), PAGE);
    const threads = Array.from({ length: NTHREADS }, () => p.newThread());
    const words = threads.map((t) => new Int32Array(t.frame.buffer, t.frame.byteOffset + A.host_frame.wait_word, 1));
    const s: Sut = { k, p, uffd, dst, src, alias, threads, words };
    const m = new Model(shmem);
    if (initialMode && modesFor(shmem).includes(initialMode)) {
      uffd.register(dst, NPAGES * PAGE, initialMode);
      m.mode = initialMode;
    }
    const check = (what: string) => {
      const blocked = words.map((w) => Atomics.load(w, 0) === 1);
      const want = m.threads.map((t) => t.blocked);
      if (JSON.stringify(blocked) !== JSON.stringify(want)) throw new Error(`${what}: blocked threads ${JSON.stringify(blocked)}, model ${JSON.stringify(want)}`);
      k.checkInvariants();
    };
    for (const c of cmds) {
      const r = commandFor(c).run(s, m, c);
      if (!r) continue;
      const line = `${JSON.stringify(c)} → ${JSON.stringify(r.got)}`;
      trace.push(line);
      counts.set(c.op, (counts.get(c.op) ?? 0) + 1);
      if (r.got === "blocked") counts.set("blocked", (counts.get("blocked") ?? 0) + 1);
      if (JSON.stringify(r.got) !== JSON.stringify(r.want)) throw new Error(`step ${trace.length}: ${JSON.stringify(c)}: kernel ${JSON.stringify(r.got)}, model ${JSON.stringify(r.want)}`);
      check(`after step ${trace.length}`);
    }
    if (m.open) {
      uffd.close();
      closeModel(m);
    }
    check("after close()");
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
    it(`${what}: ${RUNS} random sequences of faults, fills, read, register/unregister and close agree with the model`, { timeout: 300_000 }, async () => {
      counts.clear();
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(0, ...modesFor(shmem)), fc.array(cmdArb, { minLength: 1, maxLength: STEPS }), async (mode, cmds) => {
          await runSequence(shmem, mode, cmds);
        }),
        { numRuns: RUNS, seed: SEED },
      );
      // The sequences reached every command that applies, and threads really blocked and resumed.
      const ops = OPS.filter((op) => !(op === "alias" && !shmem));
      for (const op of [...ops, "blocked"]) expect(counts.get(op) ?? 0, op).toBeGreaterThan(0);
    });
  }
});
