/**
 * The garbage-syscall fuzzer: random system calls, memory accesses and host-export calls with
 * garbage arguments against a debug kernel, from a seeded PRNG (the same seed replays the same
 * calls). Expected outcomes are any return value, `SegmentationFault` / `BusError` /
 * `OutOfMemoryError` from an access, and `WouldBlockError` (the task waits; its next call, or a
 * reissue of the same call, ends or resumes the wait). Failures are:
 *   - a trap (`WebAssembly.RuntimeError`, or a kernel panic that reports one): the kernel reboots;
 *   - an invariant violation (`k.checkInvariants()`, every `checkEvery` calls and at the end);
 *   - a leak: after every process exited, frames, slab objects, inodes, tasks and userfaultfd
 *     contexts/events are back at their level after boot (checked at the end of each epoch);
 *   - any other exception from the host API (an error that is not one of the expected ones).
 * Each failure string starts `seed S call I` (and the options other than calls and seed that were
 * given): the run with the same options and `calls: I + 1` makes the same calls up to the failure.
 * The last REPLAY_LOG calls follow.
 *
 * No test-framework import: scripts can bundle this module and call fuzzSyscalls.
 */
import { Kernel, CAP_SYS_PTRACE } from "../../host-ts/kernel.js";
import type { Thread } from "../../host-ts/thread.js";
import { BusError, OutOfMemoryError, SegmentationFault, SystemError, WouldBlockError } from "../../host-ts/errors.js";
import { readVmas } from "../../host-ts/debug/maps.js";
import * as A from "../../host-ts/abi.gen.js";

export interface FuzzOptions {
  /** System calls and other operations to make. */
  calls: number;
  seed: number;
  /** Progress and failure lines. */
  log?: (line: string) => void;
  /** Run the invariant checker every this many calls (default 1000). */
  checkEvery?: number;
  /** Tear down, check for leaks and boot again every this many calls (default 50,000). */
  epoch?: number;
  /** Simulated memory per kernel (default 32 MiB: small, so that ENOMEM paths run too). */
  memoryBytes?: number;
  /** Fill an fd table to the brim now and then (dup until EMFILE, then a call that makes an fd:
   *  userfaultfd, USERFAULTFD_IOC_NEW, KVM_CREATE_VM, any ioctl). Default true. Otherwise the
   *  fuzzer keeps each table below FD_CAP open fds (it also trims a table back after a fill). */
  fillFdTable?: boolean;
  /** The compiled debug kernel to use (default: build/uffdlab.debug.wasm). */
  module?: WebAssembly.Module;
}

export interface FuzzResult {
  calls: number;
  traps: number;
  violations: number;
  leaks: number;
  /** Exceptions from the host API that are none of the expected outcomes. */
  errors: number;
  /** One entry per failure: seed, call index, what, and the replay log. */
  failures: string[];
  /** How often each outcome came: "mmap ok", "ioctl EINVAL", "read waits", "load8 SegmentationFault", … */
  outcomes: Map<string, number>;
}

/** Calls kept for a failure's replay log. */
export const REPLAY_LOG = 20;

const PAGE = 4096;
const PAGEn = 4096n;
const U64 = (1n << 64n) - 1n;
const MAX_PROCS = 6;
const MAX_THREADS = 4;
/** Task creations per kernel before an early epoch end (task ids must not wrap: 32768). */
const MAX_TASK_CREATIONS = 20_000;
const RESYNC_EVERY = 4000;
/** Open fds per table before the fuzzer closes some. */
const FD_CAP = 64;

const NR = {
  read: 0, write: 1, open: 2, close: 3, fstat: 5, poll: 7, lseek: 8, mmap: 9, mprotect: 10, munmap: 11, ioctl: 16,
  pread64: 17, pwrite64: 18, pipe: 22, mremap: 25, madvise: 28, dup: 32, getpid: 39, fork: 57, exit: 60, fcntl: 72,
  ftruncate: 77, mlock: 149, munlock: 150, mlockall: 151, munlockall: 152, gettid: 186, exit_group: 231, openat: 257,
  fallocate: 285, pipe2: 293, memfd_create: 319, userfaultfd: 323, mlock2: 325,
} as const;
const NAME_OF = new Map<number, string>(Object.entries(NR).map(([k, v]) => [v, k]));
const KNOWN = new Set<number>(Object.values(NR));

// Weights of the known calls (exit and exit_group rarer: they end tasks).
const CALLS: [number, number][] = [
  [NR.read, 6], [NR.write, 6], [NR.open, 3], [NR.openat, 2], [NR.close, 4], [NR.fstat, 2], [NR.poll, 4], [NR.lseek, 2],
  [NR.mmap, 10], [NR.mprotect, 5], [NR.munmap, 5], [NR.ioctl, 18], [NR.pread64, 2], [NR.pwrite64, 2], [NR.pipe, 1],
  [NR.pipe2, 2], [NR.mremap, 5], [NR.madvise, 6], [NR.dup, 2], [NR.getpid, 1], [NR.fork, 1], [NR.fcntl, 4],
  [NR.ftruncate, 2], [NR.mlock, 2], [NR.munlock, 2], [NR.mlockall, 1], [NR.munlockall, 1], [NR.gettid, 1],
  [NR.fallocate, 3], [NR.memfd_create, 2], [NR.userfaultfd, 2], [NR.mlock2, 2],
];
const CALL_TOTAL = CALLS.reduce((s, [, w]) => s + w, 0);

const IOCTLS = [A.UFFDIO_API, A.UFFDIO_REGISTER, A.UFFDIO_UNREGISTER, A.UFFDIO_WAKE, A.UFFDIO_COPY, A.UFFDIO_ZEROPAGE,
  A.UFFDIO_MOVE, A.UFFDIO_WRITEPROTECT, A.UFFDIO_CONTINUE, A.UFFDIO_POISON, A.USERFAULTFD_IOC_NEW, A.KVM_GET_API_VERSION,
  A.KVM_CREATE_VM, A.KVM_CHECK_EXTENSION, A.KVM_SET_USER_MEMORY_REGION, A.KVM_SET_USER_MEMORY_REGION2, A.KVM_CREATE_GUEST_MEMFD];
const IOCTL_NAMES = new Map<number, string>(Object.entries(A).filter(([k, v]) => /^(UFFDIO_[A-Z]+|USERFAULTFD_IOC_NEW|KVM_[A-Z_0-9]+)$/.test(k) &&
  typeof v === "number" && IOCTLS.includes(v)).map(([k, v]) => [v as number, k]));
/** Argument structure sizes of the ioctls above (0: a plain integer argument). */
const IOCTL_SIZE = new Map<number, number>([
  [A.UFFDIO_API, 24], [A.UFFDIO_REGISTER, 32], [A.UFFDIO_UNREGISTER, 16], [A.UFFDIO_WAKE, 16], [A.UFFDIO_COPY, 40],
  [A.UFFDIO_ZEROPAGE, 32], [A.UFFDIO_MOVE, 40], [A.UFFDIO_WRITEPROTECT, 24], [A.UFFDIO_CONTINUE, 32], [A.UFFDIO_POISON, 32],
  [A.KVM_SET_USER_MEMORY_REGION, 32], [A.KVM_SET_USER_MEMORY_REGION2, 160], [A.KVM_CREATE_GUEST_MEMFD, 64],
]);
/** ioctls whose success is a new fd. */
const FD_IOCTLS = new Set<number>([A.USERFAULTFD_IOC_NEW, A.KVM_CREATE_VM, A.KVM_CREATE_GUEST_MEMFD]);
const MADVICES = [0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 100, 101, 102, 103];
const FCNTLS = [0, 1, 2, 3, 4, 1030, 1031, 1032, 1033, 1034, 5, 6, 7, 1024, 1025, 1026];
const PATHS = ["/dev/userfaultfd", "/dev/kvm", "/proc/self/fd/3", "/proc/self/fd/4", "/proc/self/fd/5", "/proc/self/fd/0",
  "/proc/self/fd/99999999999", "/proc/self/fd/", "/proc/self/fd/-1", "/dev/null", "", "/", "/proc/self/fdinfo/3", "/dev/kvm/"];

// ── the PRNG: sfc32 seeded by splitmix32 ──────────────────────────────────────────────────────────
class Rng {
  private a: number; private b: number; private c: number; private d: number;
  constructor(seed: number) {
    let s = seed >>> 0;
    const sm = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = sm(); this.b = sm(); this.c = sm(); this.d = sm();
    for (let i = 0; i < 12; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }
  below(n: number): number { return n <= 1 ? 0 : Math.floor((this.u32() / 0x100000000) * n); }
  chance(p: number): boolean { return this.u32() < p * 0x100000000; }
  pick<T>(a: readonly T[]): T { return a[this.below(a.length)]; }
  u64(): bigint { return (BigInt(this.u32()) << 32n) | BigInt(this.u32()); }
}

// ── the simulated world ──────────────────────────────────────────────────────────────────────────
/** An fd table (shared by a process's threads): the fds the fuzzer knows are open, with a kind. */
interface Files { fds: Map<number, string>; dirty: boolean; lastSync: number }
/** `blocked`: the call that waits (nr -1: a store at args[0] that waits for a userfault). */
interface FThread { t: Thread; proc: FProc; alive: boolean; blocked?: { nr: number; args: bigint[] } }
interface FProc {
  pid: number; threads: FThread[]; files: Files; caps: number;
  /** The process's VMAs [start, end) as last read, and whether a call may have changed them. */
  vmas: [number, number][]; vmasStale: boolean; vmasAt: number;
  /** Ranges the fuzzer registered with a userfaultfd (start, end, the userfaultfd, the mode), for targeted fills. */
  uffdRanges: [number, number, number, number][];
  scratch: number;
}
interface CallRec { i: number; n: number; tid: number; what: string; nr: number; args: bigint[]; ret: string; bytes?: Uint8Array }

class Trap extends Error {
  constructor(readonly cause: unknown) { super(String(cause)); }
}

const isTrap = (e: unknown): boolean =>
  e instanceof WebAssembly.RuntimeError || (e instanceof Error && (e.name === "KernelPanic" || e.cause instanceof WebAssembly.RuntimeError));
const expectedAccessError = (e: unknown): boolean =>
  e instanceof SegmentationFault || e instanceof BusError || e instanceof OutOfMemoryError || e instanceof WouldBlockError;

export async function fuzzSyscalls(opts: FuzzOptions): Promise<FuzzResult> {
  const f = new Fuzzer(opts);
  await f.run();
  return f.result;
}

class Fuzzer {
  readonly result: FuzzResult = { calls: 0, traps: 0, violations: 0, leaks: 0, errors: 0, failures: [], outcomes: new Map() };
  private readonly rng: Rng;
  private readonly log: (line: string) => void;
  private readonly checkEvery: number;
  private readonly epoch: number;
  private readonly fill: boolean;
  private k!: Kernel;
  private base!: ReturnType<Kernel["stats"]>;
  private baseSlab!: Record<string, number>;
  private procs: FProc[] = [];
  /** Threads whose task exited: their handles are stale (ESRCH), even once the slot is reused. */
  private dead: Thread[] = [];
  private creations = 0;
  private i = 0;
  private readonly ring: CallRec[] = [];
  private recorded = 0;

  constructor(readonly o: FuzzOptions) {
    this.rng = new Rng(o.seed);
    this.log = o.log ?? (() => {});
    this.checkEvery = o.checkEvery ?? 1000;
    this.epoch = o.epoch ?? 50_000;
    this.fill = o.fillFdTable ?? true;
  }

  // ── driver ─────────────────────────────────────────────────────────────────────────────────────
  async run(): Promise<void> {
    await this.boot();
    let epochStart = 0;
    for (this.i = 0; this.i < this.o.calls; this.i++) {
      try {
        this.step();
        if ((this.i + 1) % this.checkEvery === 0) this.checkInvariants();
      } catch (e) {
        await this.failed(e);
        epochStart = this.i + 1;
        continue;
      }
      if (this.i + 1 - epochStart >= this.epoch || this.creations >= MAX_TASK_CREATIONS) {
        await this.endEpoch();
        epochStart = this.i + 1;
      }
    }
    this.result.calls = this.o.calls;
    try {
      this.checkInvariants();
      this.teardown();
    } catch (e) {
      await this.failed(e, false);
    }
    this.log(`fuzz: seed ${this.o.seed}: ${this.o.calls} calls, ${this.result.traps} traps, ${this.result.violations} invariant violations, ${this.result.leaks} leaks, ${this.result.errors} errors`);
  }

  private async boot(): Promise<void> {
    this.k = await Kernel.boot({ memoryBytes: this.o.memoryBytes ?? 32 << 20, build: "debug", module: this.o.module });
    this.base = this.k.stats();
    this.baseSlab = this.k.slabCaches();
    this.procs = [];
    this.dead = [];
    this.creations = 0;
    this.ring.length = 0;
    this.spawn(CAP_SYS_PTRACE);
    this.spawn(0);
    for (const p of this.procs) this.newThread(p);
  }

  private async endEpoch(): Promise<void> {
    try {
      this.checkInvariants();
      this.teardown();
    } catch (e) {
      await this.failed(e);
      return;
    }
    await this.boot();
  }

  /** Record a failure and boot a fresh kernel (a trap or a violation leaves the old one unusable). */
  private async failed(e: unknown, reboot = true): Promise<void> {
    const inner = e instanceof Trap ? e.cause : e;
    let what: string;
    if (e instanceof Trap || isTrap(e)) {
      this.result.traps++;
      what = "trap";
    } else if (e instanceof Error && e.message.startsWith("kernel invariant violated")) {
      this.result.violations++;
      what = "invariant violation";
    } else if (e instanceof Error && e.message.startsWith("leak:")) {
      this.result.leaks++;
      what = "leak";
    } else {
      this.result.errors++;
      what = "unexpected error";
    }
    const msg = inner instanceof Error ? `${inner.name}: ${inner.message}` : String(inner);
    const stack = inner instanceof Error && what !== "leak" && what !== "invariant violation" ? `\n  at: ${(inner.stack ?? "").split("\n").slice(1, 4).map((s) => s.trim()).join(" | ")}` : "";
    const f = `seed ${this.o.seed} call ${this.i}${this.optionsNote()}: ${what}: ${msg}${stack}\n  last ${this.ring.length} calls (oldest first):\n${this.replayLog()}`;
    this.result.failures.push(f);
    this.log(f);
    if (reboot) await this.boot();
  }

  /** The options besides calls and seed that shape the run (a replay needs them too). */
  private optionsNote(): string {
    const o = { checkEvery: this.o.checkEvery, epoch: this.o.epoch, memoryBytes: this.o.memoryBytes, fillFdTable: this.o.fillFdTable };
    const set = Object.entries(o).filter(([, v]) => v !== undefined);
    return set.length ? ` (${set.map(([k, v]) => `${k} ${v}`).join(", ")})` : "";
  }

  private replayLog(): string {
    return [...this.ring].sort((a, b) => a.n - b.n).map((r) => `    #${r.i} tid ${r.tid}: ${r.what}${r.what === "syscall" ? ` ${NAME_OF.get(r.nr) ?? r.nr}(${r.args.map(hex).join(", ")})` : `(${r.args.map(hex).join(", ")})`} = ${r.ret}${r.bytes ? ` [${hexBytes(r.bytes)}]` : ""}`).join("\n");
  }

  private count(what: string): void {
    const o = this.result.outcomes;
    o.set(what, (o.get(what) ?? 0) + 1);
  }

  private record(tid: number, what: string, nr: number, args: bigint[], bytes?: Uint8Array): CallRec {
    const r: CallRec = { i: this.i, n: this.recorded, tid, what, nr, args, ret: "…", bytes };
    if (this.ring.length < REPLAY_LOG) this.ring.push(r);
    else this.ring[this.recorded % REPLAY_LOG] = r;
    this.recorded++;
    return r;
  }

  private checkInvariants(): void {
    try {
      this.k.checkInvariants();
    } catch (e) {
      if (isTrap(e)) throw new Trap(e);
      throw e;
    }
  }

  /** Every process exits; then everything the kernel counts must be back at its level after boot. */
  private teardown(): void {
    for (const p of this.procs) {
      const t = p.threads.find((x) => x.alive);
      if (!t) continue;
      this.sys(t, NR.exit_group, [0n]);
    }
    this.procs = [];
    this.checkInvariants();
    const s = this.k.stats();
    const b = this.base;
    const diffs: string[] = [];
    const cmp = (name: string, now: number, then: number) => { if (now !== then) diffs.push(`${name} ${now} (after boot: ${then})`); };
    cmp("free+slab frames", s.freeFrames + s.slabFrames, b.freeFrames + b.slabFrames);
    cmp("tasks", s.tasks, b.tasks);
    cmp("inodes", s.inodes, b.inodes);
    cmp("uffd ctxs", s.uffdCtxs, b.uffdCtxs);
    cmp("uffd events", s.uffdEvents, b.uffdEvents);
    const slab = this.k.slabCaches();
    for (const n of Object.keys(slab)) cmp(`slab ${n}`, slab[n], this.baseSlab[n]);
    if (diffs.length) throw new Error(`leak: after every process exited: ${diffs.join(", ")}`);
  }

  // ── processes, threads, fds ────────────────────────────────────────────────────────────────────
  private spawn(caps: number): FProc | undefined {
    const h = this.k.exports.process_create(caps, this.rng.chance(0.8) ? A.PERM_DEV_USERFAULTFD : 0);
    if (h < 0) return undefined;
    this.creations++;
    const p = this.adopt(h % 65536, { fds: new Map(), dirty: false, lastSync: this.i }, caps, h);
    const t = p.threads[0];
    // a scratch mapping for structures and strings
    const r = this.sys(t, NR.mmap, [0n, 4n * PAGEn, 3n, 0x22n, U64, 0n]);
    p.scratch = r > 0n && r < A.TASK_SIZE ? Number(r) : 0;
    return p;
  }

  private adopt(pid: number, files: Files, caps: number, handle?: number): FProc {
    const p: FProc = { pid, threads: [], files, caps, vmas: [], vmasStale: true, vmasAt: -1, uffdRanges: [], scratch: 0 };
    p.threads.push({ t: this.k.threadFor(pid, pid, handle), proc: p, alive: true });
    this.procs.push(p);
    return p;
  }

  private newThread(p: FProc): void {
    const live = p.threads.filter((x) => x.alive);
    if (live.length === 0 || live.length >= MAX_THREADS) return;
    const h = this.k.exports.thread_create(live[0].t.handle);
    this.record(live[0].t.tid, "thread_create", -2, [], undefined).ret = String(h);
    if (h < 0) return;
    this.creations++;
    p.threads.push({ t: this.k.threadFor(h % 65536, p.pid, h), proc: p, alive: true });
  }

  private liveThreads(): FThread[] {
    const out: FThread[] = [];
    for (const p of this.procs) for (const t of p.threads) if (t.alive) out.push(t);
    return out;
  }

  /** The fds of a table as the kernel has them (F_GETFD on each), when the fuzzer may have lost count. */
  private resync(th: FThread): void {
    const files = th.proc.files;
    const seen = new Map<number, string>();
    const rec = this.record(th.t.tid, "resync (fcntl F_GETFD of every fd)", -2, []);
    th.blocked = undefined; // the first call abandons a wait
    for (let fd = 0; fd < A.NR_OPEN_DEFAULT; fd++) {
      let r: bigint;
      try {
        r = th.t.syscall(NR.fcntl, fd, A.F_GETFD, 0);
      } catch (e) {
        rec.ret = `(threw ${(e as Error).name} at fd ${fd})`;
        if (isTrap(e)) throw new Trap(e);
        throw e;
      }
      if (r >= 0n) seen.set(fd, files.fds.get(fd) ?? "?");
    }
    rec.ret = `${seen.size} open`;
    files.fds = seen;
    files.dirty = false;
    files.lastSync = this.i;
  }

  /** Keep the table well below full before a call that may make an fd (see FuzzOptions.fillFdTable). */
  private roomForFd(th: FThread): void {
    const files = th.proc.files;
    if (files.dirty || this.i - files.lastSync > RESYNC_EVERY || files.fds.size >= FD_CAP) this.resync(th);
    if (files.fds.size < FD_CAP) return;
    for (const fd of [...files.fds.keys()]) {
      if (fd > 2 && this.rng.chance(0.5)) this.sys(th, NR.close, [BigInt(fd)]);
    }
  }

  // ── one step ───────────────────────────────────────────────────────────────────────────────────
  private step(): void {
    if (this.procs.length === 0) {
      this.spawn(this.rng.chance(0.5) ? CAP_SYS_PTRACE : 0);
      return;
    }
    if (this.procs.length < 2 && this.rng.chance(0.01)) this.spawn(this.rng.chance(0.5) ? CAP_SYS_PTRACE : 0);
    const live = this.liveThreads();
    if (live.length === 0) {
      this.procs = [];
      return;
    }
    // a waiting thread's next call abandons its wait: mostly let waits last until a reissue
    let th = this.rng.pick(live);
    if (th.blocked && this.rng.chance(0.7)) th = this.rng.pick(live);
    const r = this.rng.below(1000);
    if (r < 600) this.knownCall(th);
    else if (r < 640) this.unknownCall(th);
    else if (r < 740) this.access(th);
    else if (r < 860) this.sequence(th);
    else if (r < 900) this.handler(th);
    else if (r < 960) this.reissue(th);
    else if (r < 970) this.timeout(th);
    else if (r < 975) this.stale();
    else this.hostExport(th);
  }

  /** A raw system call with bookkeeping: WouldBlockError leaves the task waiting. */
  private sys(th: FThread, nr: number, args: bigint[], bytes?: Uint8Array): bigint {
    const rec = this.record(th.t.tid, "syscall", nr, args, bytes);
    let ret: bigint;
    try {
      ret = th.t.syscall(nr, ...args);
    } catch (e) {
      if (e instanceof WouldBlockError) {
        rec.ret = "(waits)";
        this.count(`${NAME_OF.get(nr) ?? "unknown"} waits`);
        th.blocked = { nr, args };
        return -BigInt(A.ERESTARTSYS);
      }
      rec.ret = `(threw ${(e as Error).name})`;
      if (isTrap(e)) throw new Trap(e);
      throw e;
    }
    rec.ret = ret < 0n && ret > -4096n ? `-${A.ERRNO_NAMES[Number(-ret)] ?? -ret}` : hex(ret);
    const name = nr === NR.ioctl ? `ioctl ${IOCTL_NAMES.get(Number(args[1] & 0xffffffffn)) ?? "other"}` : NAME_OF.get(nr) ?? "unknown";
    this.count(`${name} ${ret < 0n && ret > -4096n ? A.ERRNO_NAMES[Number(-ret)] ?? -ret : "ok"}`);
    th.blocked = undefined;
    this.after(th, nr, args, ret);
    return ret;
  }

  /** What a finished call changed in the fuzzer's picture of the world. */
  private after(th: FThread, nr: number, args: bigint[], ret: bigint): void {
    const p = th.proc;
    const files = p.files;
    const ok = ret >= 0n;
    const fdArg = Number(BigInt.asIntN(32, args[0] ?? 0n));
    switch (nr) {
      case NR.mmap: case NR.munmap: case NR.mremap: case NR.mprotect: case NR.madvise:
        p.vmasStale = true;
        break;
      case NR.open: case NR.openat: case NR.memfd_create: case NR.userfaultfd:
        if (ok) files.fds.set(Number(ret), nr === NR.memfd_create ? "memfd" : nr === NR.userfaultfd ? "uffd" : "open");
        break;
      case NR.dup:
        if (ok) files.fds.set(Number(ret), files.fds.get(fdArg) ?? "?");
        break;
      case NR.fcntl:
        if (ok && (args[1] & 0xffffffffn) !== BigInt(A.F_GETFD) && (args[1] & 0xffffffffn) !== BigInt(A.F_GETFL)) files.dirty = true;
        break;
      case NR.ioctl:
        if (ok && FD_IOCTLS.has(Number(args[1] & 0xffffffffn))) files.fds.set(Number(ret), "ioctl");
        break;
      case NR.pipe: case NR.pipe2:
        if (ok) files.dirty = true;
        break;
      case NR.read:
        // a userfaultfd's FORK message installs an fd in the reader's table
        if (ret >= 32n && files.fds.get(fdArg) !== "pipe") files.dirty = true;
        break;
      case NR.close:
        if (ret === 0n) {
          files.fds.delete(fdArg);
          if (p.uffdRanges.some((r) => r[2] === fdArg)) p.uffdRanges = p.uffdRanges.filter((r) => r[2] !== fdArg);
        }
        break;
      case NR.fork:
        if (ret > 0n) {
          this.creations++;
          const c = this.adopt(Number(ret), { fds: new Map(files.fds), dirty: files.dirty, lastSync: files.lastSync }, p.caps);
          c.scratch = p.scratch;
        }
        break;
      case NR.exit:
        this.died(th);
        break;
      case NR.exit_group:
        for (const x of p.threads) if (x.alive) this.died(x);
        break;
    }
  }

  private died(th: FThread): void {
    th.alive = false;
    this.dead.push(th.t);
    if (this.dead.length > 16) this.dead.shift();
    const p = th.proc;
    if (p.threads.every((x) => !x.alive)) {
      this.procs = this.procs.filter((x) => x !== p);
      this.k.released(p.pid);
    }
  }

  // ── argument pools ─────────────────────────────────────────────────────────────────────────────
  private vmasOf(p: FProc): [number, number][] {
    if (p.vmasStale && this.i - p.vmasAt >= 16) {
      p.vmasAt = this.i;
      const t = p.threads.find((x) => x.alive);
      p.vmas = [];
      if (t) {
        try {
          p.vmas = readVmas(this.k, t.t).map((v) => [v.start, v.end]);
        } catch (e) {
          if (isTrap(e)) throw new Trap(e);
          // a task whose address space went (the leader exited): no VMAs to aim at
        }
      }
      p.vmasStale = false;
    }
    return p.vmas;
  }

  /** An address: mapped, registered, unmapped, NULL, kernel half, staging, or with garbage upper bits. */
  private addr(p: FProc): bigint {
    const g = this.rng;
    const r = g.below(100);
    if (r < 45) {
      const v = this.vmasOf(p);
      if (v.length) {
        const [s, e] = g.pick(v);
        const pages = Math.max(1, Math.floor((e - s) / PAGE));
        const a = BigInt(s) + BigInt(g.below(pages + 1)) * PAGEn;
        return g.chance(0.1) ? a + BigInt(g.below(PAGE)) : g.chance(0.05) ? a - PAGEn : a;
      }
    }
    if (r < 55 && p.uffdRanges.length) {
      const [s, e] = g.pick(p.uffdRanges);
      return BigInt(s + g.below(Math.max(1, (e - s) / PAGE)) * PAGE);
    }
    if (r < 60 && p.scratch) return BigInt(p.scratch);
    switch (g.below(12)) {
      case 0: return 0n;
      case 1: return BigInt(g.below(0x10000));
      case 2: return A.TASK_SIZE - PAGEn * BigInt(g.below(3));
      case 3: return A.TASK_SIZE + BigInt(g.below(3)) * PAGEn;
      case 4: return 0xffff800000000000n + BigInt(g.u32()) * PAGEn;
      case 5: return A.HOST_STAGING_BASE + BigInt(g.below(2 * PAGE));
      case 6: return U64 - BigInt(g.below(2 * PAGE));
      case 7: return (BigInt(g.u32()) << 32n) | (BigInt(g.u32()) & ~0xfffn);
      case 8: return g.u64();
      case 9: return 1n << BigInt(g.below(64));
      default: return BigInt(g.below(1 << 20)) * PAGEn * 16n; // unmapped low memory, page aligned
    }
  }

  private len(): bigint {
    const g = this.rng;
    switch (g.below(14)) {
      case 0: return 0n;
      case 1: return 1n;
      case 2: return BigInt(g.below(3 * PAGE));
      case 3: case 4: case 5: return BigInt(1 + g.below(16)) * PAGEn;
      case 6: return BigInt(1 + g.below(16)) * PAGEn + (g.chance(0.5) ? 1n : -1n);
      case 7: return BigInt(1 + g.below(1024)) * PAGEn;
      case 8: return 1n << BigInt(g.below(64));
      case 9: return U64 - BigInt(g.below(PAGE * 2));
      case 10: return A.TASK_SIZE + BigInt(g.below(3) - 1) * PAGEn;
      case 11: return (BigInt(g.u32()) << 32n) | BigInt(g.below(8) * PAGE);
      case 12: return 0x7fffffffffffffffn - BigInt(g.below(PAGE));
      default: return g.u64();
    }
  }

  private fd(p: FProc): bigint {
    const g = this.rng;
    const r = g.below(100);
    const known = p.files.fds;
    if (r < 65 && known.size) {
      const keys = [...known.keys()];
      const fd = BigInt(g.pick(keys));
      return g.chance(0.05) ? (BigInt(g.u32()) << 32n) | fd : fd;
    }
    switch (g.below(8)) {
      case 0: return U64; // -1
      case 1: return BigInt(A.NR_OPEN_DEFAULT - 1);
      case 2: return BigInt(A.NR_OPEN_DEFAULT);
      case 3: return 0x7fffffffn;
      case 4: return 0x80000000n;
      case 5: return g.u64();
      case 6: return BigInt(g.below(3));
      default: return BigInt(g.below(64));
    }
  }

  /** Flag words: known bits, random bits, garbage upper halves. */
  private flags(known: number): bigint {
    const g = this.rng;
    let v = BigInt((g.u32() & known) >>> 0);
    if (g.chance(0.15)) v |= BigInt(1 << g.below(31)) & 0x7fffffffn;
    if (g.chance(0.05)) v = BigInt(g.u32());
    if (g.chance(0.05)) v |= BigInt(g.u32()) << 32n;
    return v;
  }

  private small(): bigint {
    const g = this.rng;
    switch (g.below(6)) {
      case 0: return 0n;
      case 1: return BigInt(g.below(8));
      case 2: return U64 - BigInt(g.below(4));
      case 3: return BigInt(g.u32());
      case 4: return g.u64();
      default: return BigInt(g.below(256));
    }
  }

  /**
   * A pointer to `bytes` for the kernel to read: in the staging window, in user memory (the
   * scratch mapping), or a bad pointer (the bytes go nowhere).
   */
  private ptrTo(th: FThread, bytes: Uint8Array): bigint {
    const g = this.rng;
    const r = g.below(100);
    if (r < 10) return this.addr(th.proc);
    if (r < 55 && bytes.length <= A.BOUNCE_SIZE) return th.t.stage(bytes);
    const p = th.proc;
    const at = p.scratch + (bytes.length <= 2 * PAGE ? g.below(2 * PAGE) & ~7 : 0);
    if (p.scratch && this.userWrite(th, at, bytes)) return BigInt(at);
    return th.t.stage(bytes.subarray(0, A.BOUNCE_SIZE));
  }

  /** Write into user memory; false when the access faulted or would wait (then the scratch moves). */
  private userWrite(th: FThread, at: number, bytes: Uint8Array): boolean {
    const rec = this.record(th.t.tid, "write-user", -2, [BigInt(at), BigInt(bytes.length)]);
    try {
      th.t.write(at, bytes);
      th.blocked = undefined;
      rec.ret = "ok";
      return true;
    } catch (e) {
      rec.ret = `(threw ${(e as Error).name})`;
      if (isTrap(e)) throw new Trap(e);
      if (!expectedAccessError(e)) throw e;
      th.blocked = undefined;
      const r = this.sys(th, NR.mmap, [0n, 4n * PAGEn, 3n, 0x22n, U64, 0n]);
      if (r > 0n && r < A.TASK_SIZE) th.proc.scratch = Number(r);
      return false;
    }
  }

  private randomBytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.rng.u32();
      for (let j = 0; j < 4 && i + j < n; j++) b[i + j] = (v >>> (8 * j)) & 0xff;
    }
    return b;
  }

  /** A C string: a known path, random bytes, or one with no NUL within the page. */
  private str(th: FThread, choices: readonly string[]): bigint {
    const g = this.rng;
    if (g.chance(0.1)) return this.ptrTo(th, this.randomBytes(1 + g.below(64)));
    if (g.chance(0.03)) return this.ptrTo(th, new Uint8Array(A.BOUNCE_SIZE).fill(0x61));
    const s = new TextEncoder().encode(g.pick(choices));
    const z = new Uint8Array(s.length + 1);
    z.set(s);
    return this.ptrTo(th, z);
  }

  /** An ioctl argument structure for `cmd`: plausible fields, sometimes with random bytes over them. */
  private ioctlStruct(p: FProc, cmd: number): Uint8Array {
    const g = this.rng;
    const size = IOCTL_SIZE.get(cmd) ?? 8 * (1 + g.below(20));
    const b = new Uint8Array(size);
    const dv = new DataView(b.buffer);
    const w = (o: number, v: bigint) => { if (o + 8 <= size) dv.setBigUint64(o, BigInt.asUintN(64, v), true); };
    const w32 = (o: number, v: number) => { if (o + 4 <= size) dv.setUint32(o, v >>> 0, true); };
    const range = (): [bigint, bigint] => {
      if (p.uffdRanges.length && g.chance(0.6)) {
        const [s, e] = g.pick(p.uffdRanges);
        const pages = Math.max(1, (e - s) / PAGE);
        const a = g.below(pages);
        return [BigInt(s + a * PAGE), BigInt((1 + g.below(pages - a)) * PAGE)];
      }
      return [this.addr(p), this.len()];
    };
    switch (cmd) {
      case A.UFFDIO_API:
        w(0, g.chance(0.8) ? A.UFFD_API : this.small());
        w(8, g.chance(0.7) ? BigInt(g.u32()) & A.UFFD_API_FEATURES : this.flags(0x7fffffff));
        w(16, this.small());
        break;
      case A.UFFDIO_REGISTER: {
        const [s, l] = range();
        w(0, s); w(8, l); w(16, g.chance(0.8) ? BigInt(1 + g.below(7)) : this.flags(7)); w(24, this.small());
        break;
      }
      case A.UFFDIO_UNREGISTER: case A.UFFDIO_WAKE: {
        const [s, l] = range();
        w(0, s); w(8, l);
        break;
      }
      case A.UFFDIO_COPY: case A.UFFDIO_MOVE: {
        const [s, l] = range();
        w(0, s); w(8, g.chance(0.6) && p.scratch ? BigInt(p.scratch) : this.addr(p)); w(16, g.chance(0.7) ? l : this.len());
        w(24, g.chance(0.7) ? BigInt(g.below(4)) : this.flags(3)); w(32, g.chance(0.5) ? 0x77n : this.small());
        break;
      }
      case A.UFFDIO_ZEROPAGE: case A.UFFDIO_CONTINUE: case A.UFFDIO_POISON: {
        const [s, l] = range();
        w(0, s); w(8, l); w(16, g.chance(0.7) ? BigInt(g.below(4)) : this.flags(3)); w(24, this.small());
        break;
      }
      case A.UFFDIO_WRITEPROTECT: {
        const [s, l] = range();
        w(0, s); w(8, l); w(16, g.chance(0.7) ? BigInt(g.below(4)) : this.flags(3));
        break;
      }
      case A.KVM_SET_USER_MEMORY_REGION: case A.KVM_SET_USER_MEMORY_REGION2: {
        const [s, l] = range();
        w32(0, g.chance(0.7) ? g.below(4) : g.u32()); w32(4, g.chance(0.7) ? g.below(8) : g.u32());
        w(8, g.chance(0.7) ? BigInt(g.below(64)) * PAGEn : this.addr(p)); w(16, g.chance(0.7) ? l : this.len()); w(24, s);
        w(32, g.chance(0.7) ? BigInt(g.below(8)) * PAGEn : this.len()); w32(40, Number(this.fd(p) & 0xffffffffn));
        if (g.chance(0.1)) w32(44, g.u32());
        if (g.chance(0.1)) w(48 + 8 * g.below(14), g.u64());
        break;
      }
      case A.KVM_CREATE_GUEST_MEMFD:
        w(0, g.chance(0.7) ? BigInt(1 + g.below(16)) * PAGEn : this.len());
        w(8, g.chance(0.8) ? BigInt(g.below(4)) : this.flags(3));
        if (g.chance(0.1)) w(16 + 8 * g.below(6), g.u64());
        break;
      default:
        return this.randomBytes(size);
    }
    if (g.chance(0.1)) b[g.below(size)] = g.u32() & 0xff;
    return b;
  }

  // ── operations ─────────────────────────────────────────────────────────────────────────────────
  private knownCall(th: FThread): void {
    const g = this.rng;
    let x = g.below(CALL_TOTAL);
    let nr = CALLS[0][0];
    for (const [n, w] of CALLS) {
      if (x < w) { nr = n; break; }
      x -= w;
    }
    if (g.chance(0.002)) nr = g.chance(0.5) ? NR.exit : NR.exit_group;
    this.call(th, nr);
  }

  private call(th: FThread, nr: number): void {
    const g = this.rng;
    const p = th.proc;
    if (nr === NR.fork && (this.procs.length >= MAX_PROCS || this.creations >= MAX_TASK_CREATIONS)) nr = NR.getpid;
    if (nr === NR.open || nr === NR.openat || nr === NR.memfd_create || nr === NR.userfaultfd || nr === NR.dup || nr === NR.pipe ||
        nr === NR.pipe2 || nr === NR.ioctl || nr === NR.fcntl || nr === NR.read) this.roomForFd(th);
    const S = (v: bigint | number) => BigInt(v);
    switch (nr) {
      case NR.read: case NR.write: {
        const len = g.chance(0.8) ? S(g.below(2 * PAGE)) : this.len();
        const buf = g.chance(0.5) ? A.HOST_STAGING_BASE : this.addr(p);
        this.sys(th, nr, [this.fd(p), buf, len]);
        return;
      }
      case NR.pread64: case NR.pwrite64:
        this.sys(th, nr, [this.fd(p), g.chance(0.5) ? A.HOST_STAGING_BASE : this.addr(p), g.chance(0.8) ? S(g.below(2 * PAGE)) : this.len(),
          g.chance(0.7) ? S(g.below(16 * PAGE)) : this.len()]);
        return;
      case NR.open:
        this.sys(th, nr, [this.str(th, PATHS), this.flags(0x80000 | 0x800 | 0xc3 | 0x200 | 0x400), this.small()]);
        return;
      case NR.openat:
        this.sys(th, nr, [g.chance(0.7) ? S(A.AT_FDCWD) & U64 : this.fd(p), this.str(th, PATHS), this.flags(0x80000 | 0x800 | 0xc3), this.small()]);
        return;
      case NR.close: case NR.dup:
        this.sys(th, nr, [this.fd(p)]);
        return;
      case NR.fstat:
        this.sys(th, nr, [this.fd(p), g.chance(0.5) ? A.HOST_STAGING_BASE : this.addr(p)]);
        return;
      case NR.poll: {
        const n = g.chance(0.8) ? 1 + g.below(6) : g.below(300);
        const b = new Uint8Array(Math.max(8, Math.min(n, 512) * 8));
        const dv = new DataView(b.buffer);
        for (let i = 0; i + 8 <= b.length; i += 8) {
          dv.setInt32(i, Number(BigInt.asIntN(32, this.fd(p))), true);
          dv.setInt16(i + 4, g.chance(0.8) ? (A.POLLIN | A.POLLOUT) & g.u32() : g.u32() & 0xffff, true);
        }
        const timeout = g.chance(0.7) ? 0n : g.chance(0.5) ? U64 : BigInt(g.below(100));
        this.sys(th, nr, [this.ptrTo(th, b), g.chance(0.95) ? S(n) : this.small(), timeout], b);
        return;
      }
      case NR.lseek:
        this.sys(th, nr, [this.fd(p), g.chance(0.5) ? S(g.below(8 * PAGE)) : this.len(), g.chance(0.9) ? S(g.below(5)) : this.small()]);
        return;
      case NR.mmap: {
        const fd = g.chance(0.5) ? U64 : this.fd(p);
        const fl = g.chance(0.7) ? S(g.pick([0x22, 0x21, 0x01, 0x02, 0x03]) | (g.u32() & (0x10 | 0x8000 | 0x100000 | 0x2000 | 0x4000 | 0x40000)))
          : this.flags(0x1fffff);
        const len = g.chance(0.8) ? S(1 + g.below(32)) * PAGEn : this.len();
        this.sys(th, nr, [g.chance(0.5) ? 0n : this.addr(p), len, g.chance(0.8) ? S(g.below(8)) : this.flags(0x3000007), fl, fd,
          g.chance(0.8) ? S(g.below(8)) * PAGEn : this.len()]);
        return;
      }
      case NR.mprotect:
        this.sys(th, nr, [this.addr(p), g.chance(0.5) ? S(1 + g.below(8)) * PAGEn : this.len(), g.chance(0.8) ? S(g.below(8)) : this.flags(0x3000007)]);
        return;
      case NR.munmap:
        this.sys(th, nr, [this.addr(p), g.chance(0.6) ? S(1 + g.below(8)) * PAGEn : this.len()]);
        return;
      case NR.mremap:
        this.sys(th, nr, [this.addr(p), g.chance(0.6) ? S(1 + g.below(8)) * PAGEn : this.len(), g.chance(0.6) ? S(1 + g.below(8)) * PAGEn : this.len(),
          g.chance(0.8) ? S(g.below(8)) : this.flags(7), this.addr(p)]);
        return;
      case NR.madvise: {
        // MADV_HUGEPAGE and MADV_COLLAPSE (14, 25) only change flags here: uffdlab has no THP
        this.sys(th, nr, [this.addr(p), g.chance(0.6) ? S(1 + g.below(8)) * PAGEn : this.len(), g.chance(0.9) ? S(g.pick(MADVICES)) : this.small()]);
        return;
      }
      case NR.mlock: case NR.munlock:
        this.sys(th, nr, [this.addr(p), g.chance(0.6) ? S(1 + g.below(8)) * PAGEn : this.len()]);
        return;
      case NR.mlock2:
        this.sys(th, nr, [this.addr(p), g.chance(0.6) ? S(1 + g.below(8)) * PAGEn : this.len(), this.flags(1)]);
        return;
      case NR.mlockall:
        this.sys(th, nr, [this.flags(7)]);
        return;
      case NR.ioctl: {
        const cmd = g.chance(0.85) ? g.pick(IOCTLS) : g.chance(0.5) ? (g.pick(IOCTLS) ^ (1 << g.below(32))) >>> 0 : g.u32();
        let arg: bigint;
        let bytes: Uint8Array | undefined;
        if (IOCTL_SIZE.has(cmd) || (g.chance(0.3) && cmd !== A.USERFAULTFD_IOC_NEW && cmd !== A.KVM_CREATE_VM && cmd !== A.KVM_CHECK_EXTENSION)) {
          bytes = this.ioctlStruct(p, cmd);
          arg = this.ptrTo(th, bytes);
        } else {
          arg = cmd === A.KVM_CHECK_EXTENSION && g.chance(0.7) ? S(g.pick([3, 10, 21, 30, 105, 118, 233, 234, 235, 244, 0, 1000]))
            : cmd === A.USERFAULTFD_IOC_NEW && g.chance(0.7) ? S(g.pick([0, 1, 0x800, 0x80000, 0x801]))
            : this.small();
        }
        const fd = g.chance(0.1) ? this.fd(p) : this.fdOfKind(p, cmd);
        this.sys(th, nr, [fd, g.chance(0.03) ? (BigInt(g.u32()) << 32n) | S(cmd) : S(cmd), arg], bytes);
        return;
      }
      case NR.pipe:
        this.sys(th, nr, [g.chance(0.7) ? A.HOST_STAGING_BASE : this.addr(p)]);
        return;
      case NR.pipe2:
        this.sys(th, nr, [g.chance(0.7) ? A.HOST_STAGING_BASE : this.addr(p), g.chance(0.8) ? S(g.pick([0, 0x800, 0x80000, 0x4000])) : this.flags(0x80800)]);
        return;
      case NR.fcntl: {
        const cmd = g.chance(0.9) ? S(g.pick(FCNTLS)) : this.small();
        const arg = cmd === 1033n && g.chance(0.7) ? S(g.below(64)) : cmd === 1031n ? S(g.pick([0, 4096, 65536, 1 << 20, 1 << 31])) : this.small();
        this.sys(th, nr, [this.fd(p), cmd, arg]);
        return;
      }
      case NR.ftruncate:
        this.sys(th, nr, [this.fd(p), g.chance(0.7) ? S(g.below(32)) * PAGEn : this.len()]);
        return;
      case NR.fallocate:
        this.sys(th, nr, [this.fd(p), g.chance(0.7) ? S(g.pick([0, 1, 3, 0x10, 0x20, 0x8, 0x40])) : this.flags(0x7f),
          g.chance(0.7) ? S(g.below(16)) * PAGEn : this.len(), g.chance(0.7) ? S(1 + g.below(16)) * PAGEn : this.len()]);
        return;
      case NR.memfd_create:
        this.sys(th, nr, [this.str(th, ["fz", "", "a".repeat(249), "a".repeat(250), "x/y"]), g.chance(0.8) ? S(g.below(8) | (g.chance(0.2) ? 0x10 : 0)) : this.flags(0x1f)]);
        return;
      case NR.userfaultfd:
        this.sys(th, nr, [g.chance(0.8) ? S(g.pick([0, 1, 0x800, 0x801, 0x80000, 0x80801])) : this.flags(0x80801)]);
        return;
      case NR.fork:
        if (this.procs.length < MAX_PROCS) this.sys(th, nr, []);
        return;
      case NR.exit: case NR.exit_group:
        this.sys(th, nr, [this.small()]);
        return;
      default:
        this.sys(th, nr, [this.small(), this.small(), this.small(), this.small(), this.small(), this.small()]);
    }
  }

  /** An fd that suits the ioctl (a userfaultfd for UFFDIO_*, /dev/kvm for KVM_CREATE_VM, ...), else any. */
  private fdOfKind(p: FProc, cmd: number): bigint {
    const want = cmd === A.USERFAULTFD_IOC_NEW ? "devuffd" : cmd === A.KVM_CREATE_VM || cmd === A.KVM_GET_API_VERSION ? "kvm"
      : (cmd & 0xff00) === 0xae00 ? "vm" : "uffd";
    const fit: number[] = [];
    for (const [fd, kind] of p.files.fds) if (kind === want || (want === "uffd" && kind === "ioctl")) fit.push(fd);
    if (want === "vm" || want === "kvm") for (const [fd, kind] of p.files.fds) if (kind === "ioctl" || kind === "open") fit.push(fd);
    return fit.length ? BigInt(this.rng.pick(fit)) : this.fd(p);
  }

  private unknownCall(th: FThread): void {
    const g = this.rng;
    let nr: number;
    do {
      switch (g.below(4)) {
        case 0: nr = g.below(460); break;
        case 1: nr = g.u32() | 0; break;
        case 2: nr = g.pick([-1, 0x7fffffff, -0x80000000, 0x40000000, 0x40000000 | 1, 512, 335, 336, 1000]); break;
        default: nr = 326 + g.below(140);
      }
    } while (KNOWN.has(nr));
    this.sys(th, nr, [this.small(), this.small(), this.small(), this.small(), this.small(), this.small()]);
  }

  /** A memory access with a random address: a signal, a wait or OOM are outcomes, never a trap. */
  private access(th: FThread): void {
    const g = this.rng;
    const a = Number(this.addr(th.proc));
    const t = th.t;
    const kind = g.below(9);
    const rec = this.record(t.tid, ["load8", "load32", "load64", "store8", "store64", "read", "write", "fill", "translate"][kind], -2, [BigInt(Math.min(a, 2 ** 64 - 1))]);
    try {
      switch (kind) {
        case 0: t.load8(a); break;
        case 1: t.load32(a); break;
        case 2: t.load64(a); break;
        case 3: t.store8(a, g.u32()); break;
        case 4: t.store64(a, g.u64()); break;
        case 5: t.read(a, 1 + g.below(2 * PAGE)); break;
        case 6: t.write(a, this.randomBytes(1 + g.below(2 * PAGE))); break;
        case 7: t.fill(a, g.u32(), 1 + g.below(3 * PAGE)); break;
        default: t.translate(a, g.chance(0.5)); break;
      }
      rec.ret = "ok";
      this.count(`${rec.what} ok`);
      th.blocked = undefined;
    } catch (e) {
      rec.ret = `(threw ${(e as Error).name})`;
      this.count(`${rec.what} ${(e as Error).name}`);
      if (isTrap(e)) throw new Trap(e);
      if (e instanceof WouldBlockError) { // the task waits for the fault: its next entry retries or abandons it
        th.blocked = { nr: -1, args: [BigInt(a)] };
        return;
      }
      th.blocked = undefined;
      if (expectedAccessError(e)) return;
      throw e;
    }
  }

  /** Valid sequences: userfaultfd set-ups, memfds, pipes, KVM, forks, exits, unmapping everything. */
  private sequence(th: FThread): void {
    const g = this.rng;
    const p = th.proc;
    const S = (v: number) => BigInt(v);
    switch (g.below(13)) {
      case 0: case 1: { // userfaultfd + API + REGISTER on a fresh mapping (anonymous or shmem)
        this.roomForFd(th);
        const flags0 = S(g.pick([0x801, 0x1, 0x801, 0x800, 0]));
        let u: bigint;
        if (g.chance(0.3)) {
          const dev = this.sys(th, NR.openat, [S(A.AT_FDCWD) & U64, this.str(th, ["/dev/userfaultfd"]), S(A.O_RDWR | A.O_CLOEXEC), 0n]);
          if (dev < 0n) return;
          p.files.fds.set(Number(dev), "devuffd");
          u = this.sys(th, NR.ioctl, [dev, S(A.USERFAULTFD_IOC_NEW), flags0]);
          if (g.chance(0.5)) this.sys(th, NR.close, [dev]);
        } else {
          u = this.sys(th, NR.userfaultfd, [flags0]);
        }
        if (u < 0n) return;
        const feats = g.chance(0.5) ? A.UFFD_API_FEATURES : g.chance(0.5) ? 0n : BigInt(g.u32()) & A.UFFD_API_FEATURES;
        const api = new Uint8Array(24);
        new DataView(api.buffer).setBigUint64(0, A.UFFD_API, true);
        new DataView(api.buffer).setBigUint64(8, feats, true);
        this.sys(th, NR.ioctl, [u, S(A.UFFDIO_API), th.t.stage(api)], api);
        const pages = 1 + g.below(16);
        let fd = U64, flags = 0x22n;
        if (g.chance(0.4)) {
          const m = this.sys(th, NR.memfd_create, [this.str(th, ["uffd-shmem"]), 0n]);
          if (m >= 0n) {
            this.sys(th, NR.ftruncate, [m, S(pages * PAGE)]);
            fd = m;
            flags = 0x01n;
          }
        }
        const a = this.sys(th, NR.mmap, [0n, S(pages * PAGE), 3n, flags, fd, 0n]);
        if (a < 0n || a >= A.TASK_SIZE) return;
        const reg = new Uint8Array(32);
        const dv = new DataView(reg.buffer);
        dv.setBigUint64(0, a, true);
        dv.setBigUint64(8, S(pages * PAGE), true);
        const mode = g.pick([1, 1, 2, 3, 4, 5]);
        dv.setBigUint64(16, S(mode), true);
        if (this.sys(th, NR.ioctl, [u, S(A.UFFDIO_REGISTER), th.t.stage(reg)], reg) === 0n) {
          p.uffdRanges.push([Number(a), Number(a) + pages * PAGE, Number(u), mode]);
          if (p.uffdRanges.length > 8) p.uffdRanges.shift();
        }
        return;
      }
      case 2: { // memfd + mmap + touch
        this.roomForFd(th);
        const m = this.sys(th, NR.memfd_create, [this.str(th, ["fz"]), S(g.pick([0, 2, 3]))]);
        if (m < 0n) return;
        const pages = 1 + g.below(8);
        this.sys(th, NR.ftruncate, [m, S(pages * PAGE)]);
        const a = this.sys(th, NR.mmap, [0n, S(pages * PAGE), 3n, S(g.pick([1, 2])), m, 0n]);
        if (a > 0n && a < A.TASK_SIZE) this.touch(th, Number(a) + g.below(pages) * PAGE);
        return;
      }
      case 3: { // pipe, write, read
        this.roomForFd(th);
        if (this.sys(th, NR.pipe2, [A.HOST_STAGING_BASE, S(g.pick([0x800, 0x800, 0]))]) !== 0n) return;
        const dv = new DataView(th.t.bounce.buffer, th.t.bounce.byteOffset, 8);
        const r = dv.getInt32(0, true), w = dv.getInt32(4, true);
        p.files.fds.set(r, "pipe");
        p.files.fds.set(w, "pipe");
        this.sys(th, NR.write, [S(w), g.chance(0.5) ? A.HOST_STAGING_BASE : this.addr(p), S(g.below(3 * PAGE))]);
        this.sys(th, NR.read, [S(r), g.chance(0.5) ? A.HOST_STAGING_BASE : this.addr(p), S(g.below(3 * PAGE))]);
        return;
      }
      case 4: { // KVM: /dev/kvm, a VM, a guest_memfd, a slot, guest accesses
        this.roomForFd(th);
        const kvm = this.sys(th, NR.open, [this.str(th, ["/dev/kvm"]), 2n, 0n]);
        if (kvm < 0n) return;
        p.files.fds.set(Number(kvm), "kvm");
        const vm = this.sys(th, NR.ioctl, [kvm, S(A.KVM_CREATE_VM), 0n]);
        if (vm < 0n) return;
        p.files.fds.set(Number(vm), "vm");
        const pages = 1 + g.below(8);
        const gm = new Uint8Array(64);
        new DataView(gm.buffer).setBigUint64(0, S(pages * PAGE), true);
        new DataView(gm.buffer).setBigUint64(8, S(g.pick([3, 3, 1, 0])), true);
        const gfd = this.sys(th, NR.ioctl, [vm, S(A.KVM_CREATE_GUEST_MEMFD), th.t.stage(gm)], gm);
        if (gfd < 0n) return;
        p.files.fds.set(Number(gfd), "gmem");
        const a = this.sys(th, NR.mmap, [0n, S(pages * PAGE), 3n, 1n, gfd, 0n]);
        const r2 = new Uint8Array(160);
        const dv = new DataView(r2.buffer);
        dv.setUint32(0, g.below(4), true);
        dv.setUint32(4, A.KVM_MEM_GUEST_MEMFD, true);
        dv.setBigUint64(8, S(g.below(16) * PAGE), true);
        dv.setBigUint64(16, S(pages * PAGE), true);
        dv.setBigUint64(24, a > 0n && a < A.TASK_SIZE ? a : this.addr(p), true);
        dv.setUint32(40, Number(gfd), true);
        this.sys(th, NR.ioctl, [vm, S(A.KVM_SET_USER_MEMORY_REGION2), th.t.stage(r2)], r2);
        for (let j = g.below(4); j > 0; j--) this.vcpu(th, vm);
        return;
      }
      case 5: // fork
        if (this.procs.length < MAX_PROCS && this.creations < MAX_TASK_CREATIONS) this.sys(th, NR.fork, []);
        return;
      case 6: // a new thread
        if (this.creations < MAX_TASK_CREATIONS) this.newThread(p);
        return;
      case 7: // a process or a thread exits
        if (g.chance(0.3)) this.sys(th, g.chance(0.5) ? NR.exit : NR.exit_group, [0n]);
        return;
      case 8: // unmap everything (the scratch too)
        if (g.chance(0.2)) this.sys(th, NR.munmap, [0n, A.TASK_SIZE]);
        return;
      case 9: // sometimes close a random half of the fds (with fillFdTable: first fill the table, then make an fd)
        if (this.fill && g.chance(0.2)) {
          while (this.sys(th, NR.dup, [0n]) >= 0n);
          const kind = g.below(4);
          if (kind === 0) this.sys(th, NR.userfaultfd, [S(g.pick([0, 1, 0x800]))]);
          else if (kind === 1) this.sys(th, NR.ioctl, [this.fdOfKind(p, A.USERFAULTFD_IOC_NEW), S(A.USERFAULTFD_IOC_NEW), 0n]);
          else if (kind === 2) this.sys(th, NR.ioctl, [this.fdOfKind(p, A.KVM_CREATE_VM), S(A.KVM_CREATE_VM), 0n]);
          else this.call(th, NR.ioctl);
          this.resync(th);
        }
        if (g.chance(0.2)) for (const fd of [...p.files.fds.keys()]) if (g.chance(0.5)) this.sys(th, NR.close, [S(fd)]);
        return;
      default: { // serve a registered range: fault from one thread, fill from another
        if (!p.uffdRanges.length) return;
        const [s, e, ufd, mode] = g.pick(p.uffdRanges);
        const at = s + g.below(Math.max(1, (e - s) / PAGE)) * PAGE;
        this.touch(th, at);
        const other = g.pick(p.threads.filter((x) => x.alive));
        // the fill that fits the mode, mostly: MISSING → COPY, ZEROPAGE, MOVE; WP → WRITEPROTECT; MINOR → CONTINUE
        const fits = [mode & 1 ? [A.UFFDIO_COPY, A.UFFDIO_ZEROPAGE, A.UFFDIO_MOVE, A.UFFDIO_POISON] : [], mode & 2 ? [A.UFFDIO_WRITEPROTECT] : [],
          mode & 4 ? [A.UFFDIO_CONTINUE] : []].flat();
        const cmd = g.chance(0.8) && fits.length ? g.pick(fits) : g.pick([A.UFFDIO_COPY, A.UFFDIO_ZEROPAGE, A.UFFDIO_WAKE, A.UFFDIO_CONTINUE,
          A.UFFDIO_MOVE, A.UFFDIO_WRITEPROTECT, A.UFFDIO_POISON]);
        const b = new Uint8Array(IOCTL_SIZE.get(cmd)!);
        const dv = new DataView(b.buffer);
        const len = S(g.chance(0.8) ? PAGE : (1 + g.below(4)) * PAGE);
        dv.setBigUint64(0, S(at), true);
        if (cmd === A.UFFDIO_COPY || cmd === A.UFFDIO_MOVE) {
          let src = p.scratch + g.below(4) * PAGE;
          if (cmd === A.UFFDIO_MOVE && p.scratch && !this.userWrite(other, src, new Uint8Array([1]))) src = p.scratch;
          dv.setBigUint64(8, S(src), true);
          dv.setBigUint64(16, len, true);
          dv.setBigUint64(24, S(cmd === A.UFFDIO_MOVE ? g.pick([0, 2, 3]) : g.pick([0, 0, 1, 2])), true);
        } else {
          dv.setBigUint64(8, len, true);
          if (b.length >= 24) dv.setBigUint64(16, S(cmd === A.UFFDIO_WRITEPROTECT ? g.pick([0, 1, 2]) : g.pick([0, 0, 1, 2])), true);
        }
        const rr = this.sys(other, NR.ioctl, [S(g.chance(0.9) ? ufd : Number(this.fdOfKind(p, A.UFFDIO_COPY))), S(cmd), other.t.stage(b)], b);
        this.count(`serve ${IOCTL_NAMES.get(cmd)} ${rr < 0n ? A.ERRNO_NAMES[Number(-rr)] : "ok"}`);
        if (th.alive && th.blocked === undefined) this.touch(th, at);
        return;
      }
    }
  }

  private touch(th: FThread, at: number): void {
    const rec = this.record(th.t.tid, "store8", -2, [BigInt(at)]);
    try {
      th.t.store8(at, 0x5a);
      rec.ret = "ok";
      th.blocked = undefined;
    } catch (e) {
      rec.ret = `(threw ${(e as Error).name})`;
      if (isTrap(e)) throw new Trap(e);
      if (e instanceof WouldBlockError) {
        th.blocked = { nr: -1, args: [BigInt(at)] };
        return;
      }
      th.blocked = undefined;
      if (!expectedAccessError(e)) throw e;
    }
  }

  private vcpu(th: FThread, vmfd: bigint): void {
    const g = this.rng;
    const gpa = g.chance(0.8) ? g.below(32) * PAGE + g.below(PAGE) : Number(this.addr(th.proc));
    const len = g.chance(0.8) ? 1 + g.below(PAGE) : g.below(1 << 20);
    const fl = g.below(4);
    const rec = this.record(th.t.tid, "kvm_vcpu_access", -2, [vmfd, BigInt(Math.min(gpa, 2 ** 64 - 1)), BigInt(len), BigInt(fl)]);
    try {
      const r = this.k.exports.kvm_vcpu_access(th.t.handle, Number(BigInt.asIntN(32, vmfd)), gpa, Math.min(len, A.BOUNCE_SIZE), fl);
      rec.ret = String(r);
      this.count(`kvm_vcpu_access ${r >= 0 ? "ok" : A.ERRNO_NAMES[-r] ?? r}`);
    } catch (e) {
      rec.ret = `(threw ${(e as Error).name})`;
      if (isTrap(e)) throw new Trap(e);
      throw e;
    }
    // -ERESTARTSYS: the task waits like a system call; its next entry abandons the wait
  }

  /** A handler: read a userfaultfd's messages (events, faults) on some thread, then reissue a waiting call. */
  private handler(th: FThread): void {
    const g = this.rng;
    const p = th.proc;
    const ufds = [...new Set(p.uffdRanges.map((r) => r[2]))];
    const ufd = ufds.length && g.chance(0.8) ? BigInt(g.pick(ufds)) : this.fdOfKind(p, A.UFFDIO_API);
    const idle = p.threads.filter((x) => x.alive && !x.blocked);
    const reader = idle.length ? g.pick(idle) : th;
    this.roomForFd(reader);
    this.sys(reader, NR.read, [ufd, A.HOST_STAGING_BASE, BigInt(32 * (1 + g.below(4)))]);
    this.reissue(th);
  }

  /** Reissue the call a waiting thread made (the restart path), or a fresh call instead. */
  private reissue(th: FThread): void {
    const waiting = this.liveThreads().filter((x) => x.blocked);
    if (!waiting.length) {
      this.knownCall(th);
      return;
    }
    // mostly a woken one (its wait word is back to 0): its reissue completes or resumes
    const woken = waiting.filter((x) => x.t.frame.getInt32(A.host_frame.wait_word, true) === 0);
    const w = this.rng.pick(woken.length && this.rng.chance(0.8) ? woken : waiting);
    const b = w.blocked!;
    if (b.nr < 0) { // an access that waited for a userfault: retry it
      this.touch(w, Number(b.args[0]));
      this.count(`retry access ${w.blocked ? "waits" : "done"}`);
      return;
    }
    const r = this.sys(w, b.nr, b.args);
    this.count(`reissue ${NAME_OF.get(b.nr) ?? "unknown"} ${r === -BigInt(A.ERESTARTSYS) && w.blocked ? "waits" : r < 0n && r > -4096n ? A.ERRNO_NAMES[Number(-r)] : "ok"}`);
  }

  /** A call or an access through the handle of a task that exited: ESRCH, nothing else. */
  private stale(): void {
    if (!this.dead.length) return;
    const g = this.rng;
    const t = g.pick(this.dead);
    const kind = g.below(4);
    const rec = this.record(t.tid, ["stale syscall", "stale load8", "stale thread_create", "stale task_timeout"][kind], -2, []);
    try {
      if (kind === 0) t.syscall(g.pick(CALLS)[0], this.small(), this.small(), this.small());
      else if (kind === 1) t.load8(p0(this.procs[0]?.scratch));
      else if (kind === 2) {
        const h = this.k.exports.thread_create(t.handle);
        if (h !== -A.ESRCH) throw new Error(`thread_create of a stale handle gave ${h}, not -ESRCH`);
      } else if (t.timeout()) throw new Error("task_timeout of a stale handle found a waiting task");
      rec.ret = kind >= 2 ? "ESRCH" : "ok?";
      if (kind < 2) throw new Error(`a ${rec.what} did not fail with ESRCH`);
    } catch (e) {
      if (isTrap(e)) throw new Trap(e);
      if (!(e instanceof SystemError && e.code === "ESRCH")) throw e;
      rec.ret = "(ESRCH)";
    }
    this.count(`${rec.what} ${rec.ret}`);
  }

  /** The host's timer runs out for a waiting thread (task_timeout). */
  private timeout(th: FThread): void {
    const t = this.rng.chance(0.7) ? this.liveThreads().find((x) => x.blocked) ?? th : th;
    const rec = this.record(t.t.tid, "task_timeout", -2, []);
    try {
      rec.ret = String(t.t.timeout());
    } catch (e) {
      if (isTrap(e)) throw new Trap(e);
      throw e;
    }
  }

  /** The debug exports with random arguments: fdinfo, pagemap, the VMA dump. */
  private hostExport(th: FThread): void {
    const g = this.rng;
    const k = this.k.exports;
    const tid = th.t.handle;
    const which = g.below(3);
    const fd = Number(BigInt.asIntN(32, this.fd(th.proc)));
    const addr = Number(this.addr(th.proc));
    const rec = this.record(th.t.tid, ["proc_fdinfo", "proc_pagemap", "mm_dump_vmas"][which], -2, [BigInt(which === 0 ? fd : which === 1 ? Math.min(addr, 2 ** 64 - 1) : 0)]);
    try {
      const r = which === 0 ? k.proc_fdinfo(tid, fd) : which === 1 ? k.proc_pagemap(tid, addr) : k.mm_dump_vmas(tid, g.below(4));
      rec.ret = String(r);
    } catch (e) {
      rec.ret = `(threw ${(e as Error).name})`;
      if (isTrap(e)) throw new Trap(e);
      throw e;
    }
  }
}

const p0 = (a: number | undefined): number => a ?? 0;
const hex = (v: bigint): string => (v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`);
const hexBytes = (b: Uint8Array): string => Array.from(b.subarray(0, 64), (x) => x.toString(16).padStart(2, "0")).join("") + (b.length > 64 ? "…" : "");
