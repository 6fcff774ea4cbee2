/**
 * Run a scenario (docs/scenarios.md) on a fresh uffdlab kernel and print the same normalised result
 * lines as the native oracle (tests/oracle/oracle.c), step for step.
 *
 * How each step runs (mirroring oracle.c):
 *   - system calls are raw `thread.syscall(nr, ...)` with the resolved 64-bit arguments, so garbage
 *     (wrapping lengths, high bits, kernel addresses, fd -1) reaches the kernel unchanged;
 *   - string and struct arguments live in ordinary user memory of the simulated process — the runner's
 *     "scratch" mapping at SELF_BASE — as the C oracle passes pointers into its own .bss; a second
 *     runner mapping stands for the oracle's stack (SELF_RANGES); steps touching either are refused;
 *   - fds 0, 1 and 2 are taken before the first step, so fds are numbered as on the host;
 *   - accesses go through the simulated MMU; a fault is `sig …` at the first inaccessible byte; an
 *     access or call that must wait for a userfault is `blocked` (the host's guard timer);
 *   - a scenario with `tfault`, `tioctl` or `tsys` runs under the deterministic scheduler (seed 1):
 *     the steps on one simulated thread, each tfault access, tioctl ioctl or tsys call on its own
 *     (a call that waits is reissued after the wake); `readwait`, `tjoin`, `tioctljoin` and
 *     `tsjoin` yield (at most WAIT_TURNS turns) where the host waits at most BLOCK_MS, and so does
 *     `tsbusy` until the call returned or a userfaultfd is readable; `tsys fork`'s child lives
 *     until `childexit`; `poll FD MS` yields while it waits, and a timeout the host would wait out
 *     (1..BLOCK_MS) runs out when nobody woke it (task_timeout);
 *   - the process has CAP_SYS_PTRACE (the oracle runs as root) unless the first step is `nopriv`.
 *
 * After every step the debug build's invariant checker runs; a violation throws out of runUffdlab.
 */
import { Kernel, CAP_SYS_PTRACE } from "../kernel.js";
import type { Process } from "../process.js";
import type { Thread } from "../thread.js";
import { SignalError, WouldBlockError, DeadlockError } from "../errors.js";
import * as A from "../abi.gen.js";
import { clean, codename, digestOf, errname, formatRelative, SI_KERNEL } from "./format.js";

// ── limits: the oracle's ───────────────────────────────────────────────────────────────────────────
const ACCESS_MAX = 64n << 20n;
const IO_MAX = 1n << 20n;
const STEP_BUDGET = 256n << 20n;
const TOTAL_BUDGET = 1n << 30n;
const PAGE = 4096n;
const U64 = (1n << 64n) - 1n;
const MAX_TOKENS = 24;
const MAX_NAME = 31;
const MAX_BINDINGS = 128;
const MAX_MEMFD_NAME = 4096;
const MAX_THREADS = 4;
/** Turns a `readwait` or `tjoin` yields before it reports `blocked`. */
export const WAIT_TURNS = 2000;
/** The oracle's bound on a wait (ms): a `poll FD MS` with a longer or negative timeout is cut there. */
const BLOCK_MS = 1000;
/** Most fds of a `tsys poll`. */
const MAX_POLL = 4;

// ── the runner's own memory in the simulated process (laid out like the oracle's on the host) ───────
export const SELF_BASE = 0x555555554000n;
const NAME_AT = SELF_BASE; // memfd names: up to 4096 bytes + NUL (2 pages)
const STAT_AT = SELF_BASE + 0x2000n; // struct stat (144 bytes)
const PIPE_AT = SELF_BASE + 0x2200n; // int[2]
const PATH_AT = SELF_BASE + 0x2400n; // "/proc/self/fd/N", "/dev/userfaultfd"
const POLL_AT = SELF_BASE + 0x2600n; // struct pollfd
const KVM_AT = SELF_BASE + 0x2800n; // KVM ioctl argument structures (at most 160 bytes)
const IO_AT = SELF_BASE + 0x3000n; // read/write buffer, IO_MAX bytes
export const SELF_END = IO_AT + IO_MAX;
export const STACK_TOP = 0x7ffd00000000n;
const STACK_SIZE = 0x21000n;
const STACK_MARGIN = 8n << 20n;
export const SELF_RANGES: readonly (readonly [bigint, bigint])[] = [
  [SELF_BASE, SELF_END],
  [STACK_TOP - STACK_SIZE - STACK_MARGIN, STACK_TOP],
];

const NR = {
  read: A.__NR_read, write: A.__NR_write, open: A.__NR_open, close: A.__NR_close, fstat: A.__NR_fstat, poll: A.__NR_poll,
  mmap: A.__NR_mmap, mprotect: A.__NR_mprotect, munmap: A.__NR_munmap, ioctl: A.__NR_ioctl, pread64: A.__NR_pread64,
  pwrite64: A.__NR_pwrite64, mremap: A.__NR_mremap, madvise: A.__NR_madvise, dup: A.__NR_dup, fcntl: A.__NR_fcntl,
  ftruncate: A.__NR_ftruncate, mlock: A.__NR_mlock, munlock: A.__NR_munlock, openat: A.__NR_openat,
  mlockall: A.__NR_mlockall, munlockall: A.__NR_munlockall,
  fallocate: A.__NR_fallocate, pipe2: A.__NR_pipe2, userfaultfd: A.__NR_userfaultfd, memfd_create: A.__NR_memfd_create,
  lseek: A.__NR_lseek, fork: A.__NR_fork,
} as const;
const AT_FDCWD = -100n;
const { MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT } = A;
const K_MAP_FIXED = BigInt(A.MAP_FIXED), K_MAP_ANONYMOUS = BigInt(A.MAP_ANONYMOUS), K_MAP_LOCKED = BigInt(A.MAP_LOCKED);
const K_MAP_POPULATE = BigInt(A.MAP_POPULATE), K_MAP_FIXED_NOREPLACE = BigInt(A.MAP_FIXED_NOREPLACE);
const K_MREMAP_MAYMOVE = BigInt(A.MREMAP_MAYMOVE), K_MREMAP_FIXED = BigInt(A.MREMAP_FIXED);
const K_MADV_POPULATE_READ = BigInt(A.MADV_POPULATE_READ), K_MADV_POPULATE_WRITE = BigInt(A.MADV_POPULATE_WRITE);
const K_FALLOC_FL_PUNCH_HOLE = BigInt(A.FALLOC_FL_PUNCH_HOLE);
const RW = BigInt(A.PROT_READ | A.PROT_WRITE), ANON_PRIVATE = BigInt(A.MAP_PRIVATE | A.MAP_ANONYMOUS);
/** The fcntl commands the scenario language allows (the oracle refuses others). */
const FCNTL_CMDS = new Set([A.F_GETFD, A.F_GETFL, A.F_SETPIPE_SZ, A.F_GETPIPE_SZ, A.F_ADD_SEALS, A.F_GET_SEALS].map(BigInt));

const IOCTLS: Record<string, number> = {
  API: A.UFFDIO_API, REGISTER: A.UFFDIO_REGISTER, UNREGISTER: A.UFFDIO_UNREGISTER, WAKE: A.UFFDIO_WAKE, COPY: A.UFFDIO_COPY,
  ZEROPAGE: A.UFFDIO_ZEROPAGE, MOVE: A.UFFDIO_MOVE, WRITEPROTECT: A.UFFDIO_WRITEPROTECT, CONTINUE: A.UFFDIO_CONTINUE,
  POISON: A.UFFDIO_POISON,
};

/** A step that cannot produce a normal result: its line (`bad …` or `blocked`). */
class Bad extends Error {
  constructor(readonly line: string) {
    super(line);
  }
}

interface Arg { v: bigint; named: boolean; base: string; basev: bigint }

/** An mm verb: [min args, max args, names after `as`, argument 0 is a memfd name]. */
const OPS: Record<string, [number, number, number, boolean]> = {
  mmap: [6, 6, 1, false], munmap: [2, 2, 0, false], mprotect: [3, 3, 0, false], mremap: [4, 5, 1, false],
  madvise: [3, 3, 0, false], mlock: [2, 2, 0, false], munlock: [2, 2, 0, false], memfd_create: [2, 2, 1, true],
  mlockall: [1, 1, 0, false], munlockall: [0, 0, 0, false],
  ftruncate: [2, 2, 0, false], fallocate: [4, 4, 0, false], fstat: [1, 1, 0, false], close: [1, 1, 0, false],
  fcntl: [3, 3, 0, false], pipe: [0, 0, 2, false], reopen: [2, 2, 1, false], write: [2, 3, 0, false],
  pwrite: [4, 4, 0, false], read: [2, 2, 1, false], pread: [3, 3, 0, false], load: [1, 2, 0, false],
  store: [2, 3, 0, false], "fork-check": [1, 2, 0, false], fill: [3, 3, 0, false], writefrom: [3, 3, 0, false],
  readto: [3, 3, 0, false],
};

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/;
const isErr = (r: bigint) => r < 0n && r > -4096n;

function parseUint(s: string): bigint | undefined {
  if (/^0[xX][0-9a-fA-F]+$/.test(s) || /^[0-9]+$/.test(s)) {
    const v = BigInt(s);
    return v > U64 ? undefined : v;
  }
  return undefined;
}

/** One extra thread of a scenario (tfault). */
interface FThread {
  name: string; thread: Thread; go: boolean; done: boolean; addr: number; write: boolean; byte: number;
  where: Arg; result: string;
  /** tioctl: the ioctl this thread makes instead of an access */
  call?: { fd: bigint; cmd: number; words: bigint[] };
  /** tsys: the mm call (fork, poll) this thread makes instead; its raw return value lands in `ret` */
  sys?: Call;
}

/** A producer's call (tsys): the verb, its parsed arguments and `as` name, the raw result (poll: and the revents; read: whether the fd was a userfaultfd, the bytes). */
interface Call { verb: string; a: Arg[]; name: string; ret: bigint; revents: number[]; uffd?: boolean; data?: Uint8Array }

export interface UffdlabRunOptions {
  /** Simulated memory for the kernel (default 64 MiB). */
  memoryBytes?: number;
  /** Run the invariant checker after every step (default true). */
  checkEveryStep?: boolean;
  /** Kernel.boot's zeroPage (default true): false mirrors a host with the zero page off (native.ts hostZeroPage). */
  zeroPage?: boolean;
}

/**
 * What runUffdlab throws when running a scenario throws (a Wasm trap, an invariant violation, a
 * runner bug): the step that was running (-1: before the first), its text, and the lines before it.
 */
export class UffdlabStepError extends Error {
  constructor(readonly step: number, readonly text: string | undefined, readonly lines: string[], override readonly cause: unknown) {
    const why = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`uffdlab threw ${step < 0 ? "before the first step" : `at step ${step} (${text})`}: ${why}`);
    this.name = "UffdlabStepError";
  }
}

/**
 * Run the steps on a fresh uffdlab kernel (debug build); one result line per step (comments and
 * blank lines excluded). Anything thrown on the way comes out as an UffdlabStepError.
 */
export async function runUffdlab(lines: string[], opts: UffdlabRunOptions = {}): Promise<string[]> {
  const steps = lines.map((l) => l.replace(/\r$/, "")).filter((l) => !/^[ \t]*(#|$)/.test(l));
  const pos = { step: -1, out: [] as string[] };
  try {
    return await runSteps(steps, opts, pos);
  } catch (e) {
    throw new UffdlabStepError(pos.step, steps[pos.step], pos.out.slice(0, Math.max(pos.step, 0)), e);
  }
}

async function runSteps(steps: string[], opts: UffdlabRunOptions, pos: { step: number; out: string[] }): Promise<string[]> {
  const k = await Kernel.boot({ memoryBytes: opts.memoryBytes ?? 64 << 20, build: "debug", zeroPage: opts.zeroPage });
  const first = steps[0]?.trim().split(/[ \t]+/)[0];
  const p = k.spawn(first === "nopriv" ? {} : { caps: CAP_SYS_PTRACE });
  const r = new Runner(k, p);
  const out = pos.out;
  const check = (i: number) => {
    if (opts.checkEveryStep === false && i < steps.length - 1) return;
    try {
      if (!k.checkInvariants()) throw new Error("the debug build has no invariant checker");
    } catch (e) {
      const trace = steps.slice(0, i + 1).map((s, j) => `  ${s}  →  ${out[j]}`).join("\n");
      throw new Error(`uffdlab: ${(e as Error).message} after step ${i} (${steps[i]})\n${trace}`);
    }
  };
  if (!steps.some((s) => /^[ \t]*(tfault|tioctl|tsys)[ \t]/.test(s))) {
    for (let i = 0; i < steps.length; i++) {
      pos.step = i;
      out.push(await r.step(steps[i]));
      check(i);
    }
    r.reap();
    return out;
  }
  // with extra threads: under the deterministic scheduler
  const main = p.newThread();
  r.t = main;
  let finished = false;
  for (let i = 0; i < MAX_THREADS; i++) {
    r.threads.push({ name: "", thread: p.newThread(), go: false, done: false, addr: 0, write: false, byte: 0,
      where: { v: 0n, named: false, base: "", basev: 0n }, result: "" });
  }
  const bodies: [Thread, (t: import("../sched/scheduler.js").AsyncThread) => Promise<void>][] = [
    [main, async (at) => {
      r.wait = () => at.yield();
      r.threaded = true;
      try {
        for (let i = 0; i < steps.length; i++) {
          pos.step = i;
          out.push(await r.step(steps[i]));
          check(i);
        }
      } finally {
        finished = true;
      }
    }],
  ];
  for (const f of r.threads) {
    bodies.push([f.thread, async (at) => {
      for (;;) {
        while (!f.go && !finished) await at.yield();
        if (!f.go) return;
        f.result = await r.threadAccess(at, f);
        f.go = false;
        f.done = true;
      }
    }]);
  }
  try {
    await k.run(1, bodies);
  } catch (e) {
    // threads still waiting for a userfault when the steps ran out: the host's child just exits
    if (!(e instanceof DeadlockError && finished)) throw e;
  }
  r.reap();
  return out;
}

class Runner {
  private readonly names = new Map<string, { val: bigint; len: bigint }>();
  private budgetUsed = 0n;
  /** mlockall(MCL_FUTURE) without MCL_ONFAULT is in force: every mmap populates (and is charged). */
  private mclFuturePopulates = false;
  private readonly uffds = new Set<bigint>();
  private stepsRun = 0;
  t: Thread;
  threads: FThread[] = [];
  /** the `fork` child, kept until `reap` */
  private child?: Process;
  /** the pid of `tsys fork`'s child, kept until `childexit` */
  private sysChild = -1;
  wait: () => Promise<void> = async () => { throw new Bad("blocked"); };
  /** Whether other threads run (under the scheduler): `wait` yields to them. */
  threaded = false;

  constructor(readonly k: Kernel, readonly p: Process) {
    this.t = p.thread;
    this.setup();
  }

  /** The scratch mapping and fds 0–2, made with raw calls; any failure here is a runner bug. */
  private setup(): void {
    const must = (what: string, r: bigint): bigint => {
      if (isErr(r)) throw new Error(`uffdlab runner setup: ${what} failed: ${errname(Number(-r))}`);
      return r;
    };
    const len = SELF_END - SELF_BASE;
    const a = must("mmap scratch", this.sys(NR.mmap, SELF_BASE, len, RW, ANON_PRIVATE | K_MAP_FIXED_NOREPLACE, U64, 0n));
    if (a !== SELF_BASE) throw new Error(`uffdlab runner setup: scratch mapped at 0x${a.toString(16)}`);
    const st = STACK_TOP - STACK_SIZE;
    if (must("mmap stack", this.sys(NR.mmap, st, STACK_SIZE, RW, ANON_PRIVATE | K_MAP_FIXED_NOREPLACE, U64, 0n)) !== st) {
      throw new Error("uffdlab runner setup: stack not mapped where asked");
    }
    must("pipe2", this.sys(NR.pipe2, PIPE_AT, 0n));
    const dv = new DataView(this.readUser(PIPE_AT, 8).buffer);
    if (dv.getInt32(0, true) !== 0 || dv.getInt32(4, true) !== 1) throw new Error("uffdlab runner setup: pipe is not fds 0, 1");
    if (must("dup", this.sys(NR.dup, 1n)) !== 2n) throw new Error("uffdlab runner setup: dup is not fd 2");
  }

  private sys(nr: number, ...args: bigint[]): bigint {
    try {
      return this.t.syscall(nr, ...args);
    } catch (e) {
      if (e instanceof WouldBlockError) throw new Bad("blocked");
      throw e;
    }
  }

  // ── names and values ─────────────────────────────────────────────────────────────────────────────
  private bind(name: string, v: bigint, len = 0n): void {
    if (this.names.has(name) || (this.names.size < MAX_BINDINGS && name.length <= MAX_NAME)) {
      this.names.set(name, { val: BigInt.asUintN(64, v), len });
    }
  }

  /** The oracle's parse_value, with its `bad …` texts. */
  private arg(tok: string): Arg {
    if (tok.startsWith("$")) {
      const p = tok.slice(1);
      let n = 0;
      while (n < p.length && p[n] !== "+" && p[n] !== "-" && n <= MAX_NAME) n++;
      if (n === 0 || n > MAX_NAME) throw new Bad(`bad malformed reference '${clean(tok)}'`);
      const base = p.slice(0, n);
      if (!NAME_RE.test(base)) throw new Bad(`bad malformed reference '${clean(tok)}'`);
      const b = this.names.get(base);
      if (!b) throw new Bad(`bad unbound name $${base}`);
      let off = 0n;
      if (n < p.length) {
        const o = parseUint(p.slice(n + 1));
        if (o === undefined) throw new Bad(`bad malformed offset in '${clean(tok)}'`);
        off = o;
      }
      return { v: BigInt.asUintN(64, p[n] === "-" ? b.val - off : b.val + off), named: true, base, basev: b.val };
    }
    if (tok.startsWith("-")) {
      const m = parseUint(tok.slice(1));
      if (m === undefined || m > 1n << 63n) throw new Bad(`bad malformed integer '${clean(tok)}'`);
      return { v: BigInt.asUintN(64, -m), named: false, base: "", basev: 0n };
    }
    const m = parseUint(tok);
    if (m === undefined) throw new Bad(`bad malformed integer '${clean(tok)}'`);
    return { v: m, named: false, base: "", basev: 0n };
  }
  private v(tok: string | undefined): bigint {
    if (tok === undefined) throw new Bad("bad wrong argument count");
    return this.arg(tok).v;
  }

  private expr(a: Arg, v: bigint): string {
    return a.named ? formatRelative(a.base, a.basev, v) : `0x${BigInt.asUintN(64, v).toString(16)}`;
  }
  /** A returned address: as the first candidate argument it equals, else "addr". */
  private addrForm(r: bigint, cands: (Arg | undefined)[]): string {
    for (const c of cands) if (c && c.v === BigInt.asUintN(64, r)) return this.expr(c, r);
    return "addr";
  }
  /** An address in a uffd_msg: relative to the first named mapping containing it. */
  private msgAddr(a: bigint): string {
    for (const [n, b] of this.names) {
      if (b.len > 0n && a >= b.val && a - b.val < b.len) return a === b.val ? `$${n}` : `$${n}+0x${(a - b.val).toString(16)}`;
    }
    return `0x${a.toString(16)}`;
  }

  // ── the oracle's refusals ────────────────────────────────────────────────────────────────────────
  private bytesTouchSelf(start: bigint, end: bigint): boolean {
    return SELF_RANGES.some(([s, e]) => start < e && s < end);
  }
  private refuseSelf(addr: bigint, len: bigint): void {
    if (len === 0n || (addr & (PAGE - 1n)) !== 0n) return;
    const end = (addr + len) & U64;
    if (end < addr || ((end + PAGE - 1n) & U64) < end) return;
    if (this.bytesTouchSelf(addr, (end + PAGE - 1n) & ~(PAGE - 1n))) throw new Bad("bad refused: range touches the oracle's own memory");
  }
  private refuseFd(fd: bigint): void {
    const low = fd & 0xffffffffn;
    if (low <= 2n) throw new Bad(`bad refused: fd ${low} belongs to the oracle`);
  }
  private charge(len: bigint): void {
    if (len > STEP_BUDGET || len > TOTAL_BUDGET - this.budgetUsed) {
      throw new Bad("bad refused: step would allocate more than the oracle's memory budget");
    }
    this.budgetUsed += len;
  }
  private accessArgsOk(addr: bigint, len: bigint): void {
    if (len === 0n || len > ACCESS_MAX) throw new Bad(`bad access length must be 1..${ACCESS_MAX}`);
    if (addr + len > U64) throw new Bad("bad access range wraps around");
  }

  private readUser(addr: bigint, len: number): Uint8Array {
    return this.t.read(Number(addr), len);
  }
  private writeUser(addr: bigint, bytes: Uint8Array): void {
    this.t.write(Number(addr), bytes);
  }
  private static status(r: bigint): string {
    if (isErr(r)) return `err ${errname(Number(-r))}`;
    return r === 0n ? "ok" : `ok ${r}`;
  }
  private ptid(ptid: number): string {
    const f = this.threads.find((x) => x.name !== "" && x.thread.tid === ptid);
    return ptid !== 0 && f ? f.name : String(ptid);
  }
  /** An end address (REMOVE / UNMAP messages): the end of a named mapping is $NAME+len. */
  private msgEnd(a: bigint): string {
    for (const [n, b] of this.names) if (b.len > 0n && a > b.val && a - b.val <= b.len) return `$${n}+0x${(a - b.val).toString(16)}`;
    return this.msgAddr(a);
  }
  /** The messages of a userfaultfd read, as the oracle's put_uffd_msgs; `as` binds a FORK message's fd. */
  private msgs(b: Uint8Array, r: number, as?: string): string {
    let line = "";
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let o = 0; o + 32 <= r; o += 32) {
      let zero = 1;
      const zeroed = (from: number, to: number) => { for (let i = from; i < to; i++) if (b[o + i] !== 0) zero = 0; };
      zeroed(1, 8);
      const w = (i: number) => dv.getBigUint64(o + 8 + 8 * i, true);
      if (b[o] === A.UFFD_EVENT_FORK) {
        zeroed(12, 32);
        const ufd = BigInt(dv.getUint32(o + 8, true));
        const ok = !isErr(this.sys(NR.fcntl, ufd, BigInt(A.F_GETFD), 0n));
        if (ok && as !== undefined) {
          this.bind(as, ufd);
          this.uffds.add(ufd);
        }
        line += ` ev=0x13 ufd=${ok ? "fd" : "bad"} zero=${zero}`;
        continue;
      }
      if (b[o] === A.UFFD_EVENT_REMAP) {
        zeroed(28, 32);
        line += ` ev=0x14 from=${this.msgAddr(w(0))} to=${this.msgAddr(w(1))} len=0x${w(2).toString(16)} zero=${zero}`;
        continue;
      }
      if (b[o] === A.UFFD_EVENT_REMOVE || b[o] === A.UFFD_EVENT_UNMAP) {
        zeroed(24, 32);
        line += ` ev=0x${b[o].toString(16).padStart(2, "0")} start=${this.msgAddr(w(0))} end=${this.msgEnd(w(1))} zero=${zero}`;
        continue;
      }
      zeroed(28, 32);
      line += ` ev=0x${b[o].toString(16).padStart(2, "0")} flags=0x${dv.getBigUint64(o + 8, true).toString(16)}`;
      line += ` addr=${this.msgAddr(dv.getBigUint64(o + 16, true))} ptid=${this.ptid(dv.getUint32(o + 24, true))} zero=${zero}`;
    }
    return line;
  }

  /** What a read(2) returned after `ok N` (the oracle's put_read_data): a userfaultfd's messages, else the bytes' digest. */
  private readData(uffd: boolean, b: Uint8Array, as?: string): string {
    if (uffd) return this.msgs(b, b.length, as);
    return b.length > 0 ? ` ${digestOf(b)}` : "";
  }

  /** One step → one result line. */
  async step(line: string): Promise<string> {
    this.stepsRun++;
    try {
      return await this.run(line);
    } catch (e) {
      if (e instanceof Bad) return e.line;
      throw e;
    }
  }

  private async run(line: string): Promise<string> {
    const tok = line.split(/[ \t]+/).filter((t) => t !== "");
    if (tok.length > MAX_TOKENS) return `bad too many tokens (at most ${MAX_TOKENS})`;
    const def = OPS[tok[0]];
    if (!def) return this.ustep(tok);
    const [min, max, maxNames, firstIsMname] = def;
    const args: string[] = [];
    const names: string[] = [];
    let i = 1;
    for (; i < tok.length && tok[i] !== "as"; i++) args.push(tok[i]);
    if (i < tok.length) {
      for (i++; i < tok.length; i++) {
        if (names.length === maxNames) return `bad ${tok[0]} binds at most ${maxNames} name(s)`;
        names.push(tok[i]);
      }
      if (names.length === 0) return "bad 'as' without a name";
    }
    if (args.length < min || args.length > max) {
      return min === max ? `bad ${tok[0]} takes ${min} argument(s), got ${args.length}` : `bad ${tok[0]} takes ${min} to ${max} arguments, got ${args.length}`;
    }
    let fresh = 0;
    for (const n of names) {
      if (!NAME_RE.test(n)) return `bad invalid name '${clean(n)}'`;
      if (!this.names.has(n)) fresh++;
    }
    if (this.names.size + fresh > MAX_BINDINGS) return `bad too many names (at most ${MAX_BINDINGS})`;
    const a: Arg[] = [];
    for (let j = 0; j < args.length; j++) a.push(firstIsMname && j === 0 ? { v: 0n, named: false, base: "", basev: 0n } : this.arg(args[j]));
    return this.mm(tok[0], a, args, names);
  }

  private mm(op: string, a: Arg[], raw: string[], names: string[]): string | Promise<string> {
    const x = a.map((y) => y.v);
    switch (op) {
      case "mmap": {
        const [addr, len, prot, flags, fd, off] = x;
        if (flags & K_MAP_FIXED && !(flags & K_MAP_FIXED_NOREPLACE)) this.refuseSelf(addr, len);
        if (!(flags & K_MAP_ANONYMOUS)) this.refuseFd(fd);
        if (flags & (K_MAP_POPULATE | K_MAP_LOCKED) || this.mclFuturePopulates) this.charge(len);
        const r = this.sys(NR.mmap, addr, len, prot, flags, fd, off);
        if (isErr(r)) return Runner.status(r);
        const out = `ok ${this.addrForm(r, [a[0]])}`;
        if (names.length) this.bind(names[0], r, (len + PAGE - 1n) & ~(PAGE - 1n) & U64);
        return out;
      }
      case "munmap":
        this.refuseSelf(x[0], x[1]);
        return Runner.status(this.sys(NR.munmap, x[0], x[1]));
      case "mprotect":
        this.refuseSelf(x[0], x[1]);
        return Runner.status(this.sys(NR.mprotect, x[0], x[1], x[2]));
      case "mremap": {
        const [old, oldLen, newLen, flags] = x;
        const newAddr = x.length > 4 ? x[4] : 0n;
        this.refuseSelf(old, oldLen);
        if ((flags & (K_MREMAP_MAYMOVE | K_MREMAP_FIXED)) === (K_MREMAP_MAYMOVE | K_MREMAP_FIXED)) this.refuseSelf(newAddr, newLen);
        if (newLen > oldLen) this.charge(newLen - oldLen);
        const r = this.sys(NR.mremap, old, oldLen, newLen, flags, newAddr);
        if (isErr(r)) return Runner.status(r);
        const out = `ok ${this.addrForm(r, [a[0], a[4]])}`;
        if (names.length) this.bind(names[0], r, (newLen + PAGE - 1n) & ~(PAGE - 1n) & U64);
        return out;
      }
      case "madvise":
        this.refuseSelf(x[0], x[1]);
        if (x[2] === K_MADV_POPULATE_READ || x[2] === K_MADV_POPULATE_WRITE) this.charge(x[1]);
        return Runner.status(this.sys(NR.madvise, x[0], x[1], x[2]));
      case "mlock":
        this.charge(x[1]);
        return Runner.status(this.sys(NR.mlock, x[0], x[1]));
      case "munlock":
        return Runner.status(this.sys(NR.munlock, x[0], x[1]));
      case "mlockall": {
        // MCL_CURRENT populates every mapping: charged as the named mappings' total length.
        const fl = Number(BigInt.asIntN(32, x[0]));
        const valid = fl !== 0 && !(fl & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) && fl !== MCL_ONFAULT;
        if (valid && (fl & (MCL_CURRENT | MCL_ONFAULT)) === MCL_CURRENT) {
          let total = 0n;
          for (const b of this.names.values()) total += b.len;
          this.charge(total);
        }
        const r = this.sys(NR.mlockall, x[0]);
        if (r === 0n) this.mclFuturePopulates = (fl & (MCL_FUTURE | MCL_ONFAULT)) === MCL_FUTURE;
        return Runner.status(r);
      }
      case "munlockall": {
        const r = this.sys(NR.munlockall);
        if (r === 0n) this.mclFuturePopulates = false;
        return Runner.status(r);
      }
      case "memfd_create": {
        const ptr = this.memfdName(raw[0]);
        const r = this.sys(NR.memfd_create, ptr, x[1]);
        if (isErr(r)) return Runner.status(r);
        if (names.length) this.bind(names[0], r);
        return "ok fd";
      }
      case "ftruncate":
        this.refuseFd(x[0]);
        return Runner.status(this.sys(NR.ftruncate, x[0], x[1]));
      case "fallocate": {
        const [fd, mode, off, len] = x;
        this.refuseFd(fd);
        const soff = BigInt.asIntN(64, off), slen = BigInt.asIntN(64, len);
        if (!(mode & K_FALLOC_FL_PUNCH_HOLE) && soff >= 0n && slen > 0n && off + len <= (1n << 63n) - 1n) this.charge(len);
        return Runner.status(this.sys(NR.fallocate, fd, mode, off, len));
      }
      case "fstat": {
        this.writeUser(STAT_AT, new Uint8Array(A.stat.SIZEOF));
        const r = this.sys(NR.fstat, x[0], STAT_AT);
        if (isErr(r)) return Runner.status(r);
        const b = this.readUser(STAT_AT, A.stat.SIZEOF);
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        const mode = dv.getUint32(A.stat.st_mode, true);
        return `ok type=${ftype(mode)} mode=0${(mode & 0o7777).toString(8).padStart(3, "0")} ` +
          `size=${dv.getBigInt64(A.stat.st_size, true)} blocks=${dv.getBigInt64(A.stat.st_blocks, true)} ` +
          `blksize=${dv.getBigInt64(A.stat.st_blksize, true)} nlink=${dv.getBigUint64(A.stat.st_nlink, true)}`;
      }
      case "close": {
        this.refuseFd(x[0]);
        const r = this.sys(NR.close, x[0]);
        if (r === 0n) this.uffds.delete(x[0] & 0xffffffffn);
        return Runner.status(r);
      }
      case "fcntl": {
        const [fd, cmd, arg] = x;
        if (!FCNTL_CMDS.has(cmd)) return `bad fcntl cmd ${cmd} not supported (F_GETFD 1, F_GETFL 3, F_SETPIPE_SZ 1031, F_GETPIPE_SZ 1032, F_ADD_SEALS 1033, F_GET_SEALS 1034)`;
        this.refuseFd(fd);
        const r = this.sys(NR.fcntl, fd, cmd, arg);
        if (isErr(r)) return Runner.status(r);
        return `ok 0x${BigInt.asUintN(64, r).toString(16)}`;
      }
      case "pipe": {
        if (names.length !== 0 && names.length !== 2) return "bad pipe takes 'as R W' or nothing";
        const r = this.sys(NR.pipe2, PIPE_AT, 0n);
        if (isErr(r)) return Runner.status(r);
        const dv = new DataView(this.readUser(PIPE_AT, 8).buffer);
        if (names.length) {
          this.bind(names[0], BigInt(dv.getInt32(0, true)));
          this.bind(names[1], BigInt(dv.getInt32(4, true)));
        }
        return "ok fd fd";
      }
      case "reopen": {
        this.refuseFd(x[0]);
        this.writeUser(PATH_AT, cstring(`/proc/self/fd/${BigInt.asIntN(64, x[0])}`));
        const r = this.sys(NR.openat, BigInt.asUintN(64, AT_FDCWD), PATH_AT, x[1], 0n);
        if (isErr(r)) return Runner.status(r);
        if (names.length) this.bind(names[0], r);
        return "ok fd";
      }
      case "write":
      case "pwrite":
      case "read":
      case "pread":
        return this.io(op, x, names[0]);
      case "writefrom":
      case "readto": {
        // write(2) from / read(2) into the scenario's own memory
        const [fd, addr, len] = x;
        this.refuseFd(fd);
        if (len > IO_MAX) return `bad io length must be at most ${IO_MAX}`;
        if (addr + len > U64 || this.bytesTouchSelf(addr, addr + len)) return "bad refused: range touches the oracle's own memory";
        this.charge(len);
        const r = this.sys(op === "writefrom" ? NR.write : NR.read, fd, addr, len);
        return isErr(r) ? Runner.status(r) : `ok ${r}`;
      }
      case "load": {
        const [addr] = x;
        const len = x.length > 1 ? x[1] : 1n;
        this.accessArgsOk(addr, len);
        this.charge(len);
        return this.access(this.t, addr, len, a[0], null);
      }
      case "store":
      case "fill": {
        const [addr, byte, len] = op === "store" ? [x[0], x[1], x.length > 2 ? x[2] : 1n] : [x[0], x[2], x[1]];
        if (byte > 255n) return "bad byte must be 0..255";
        this.accessArgsOk(addr, len);
        this.charge(len);
        if (this.bytesTouchSelf(addr, addr + len)) return "bad refused: range touches the oracle's own memory";
        return this.access(this.t, addr, len, a[0], Number(byte));
      }
      case "fork-check": {
        const [addr] = x;
        const len = x.length > 1 ? x[1] : 1n;
        this.accessArgsOk(addr, len);
        this.charge(len);
        const child = this.p.fork();
        try {
          return this.access(child.thread, addr, len, a[0], null);
        } finally {
          child.exit(0);
        }
      }
    }
    return `bad unknown op '${clean(op)}'`;
  }

  /** The pointer argument of memfd_create: "text", *N, NULL or @value, as the oracle reads it. */
  private memfdName(t: string): bigint {
    if (t === "NULL") return 0n;
    if (t.startsWith("@")) return this.arg(t.slice(1)).v;
    if (t.startsWith("*")) {
      const n = parseUint(t.slice(1));
      if (n === undefined || n > BigInt(MAX_MEMFD_NAME)) throw new Bad(`bad memfd name '*N' needs N in 0..${MAX_MEMFD_NAME}`);
      const b = new Uint8Array(Number(n) + 1).fill(0x61);
      b[Number(n)] = 0;
      this.writeUser(NAME_AT, b);
      return NAME_AT;
    }
    if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) {
      this.writeUser(NAME_AT, cstring(t.slice(1, -1)));
      return NAME_AT;
    }
    throw new Bad(`bad memfd name must be "text", *N, NULL or @value, not '${clean(t)}'`);
  }

  /**
   * A call that may wait (a read of an empty blocking userfaultfd): where the host's call sleeps
   * until another thread's fault queues a message (at most BLOCK_MS), yield and reissue it, at most
   * WAIT_TURNS times; without extra threads nothing can come, so it is `blocked` at once.
   */
  private async waitingSys(nr: number, ...args: bigint[]): Promise<bigint> {
    for (let i = 0; ; i++) {
      try {
        return this.sys(nr, ...args);
      } catch (e) {
        if (!(e instanceof Bad) || e.line !== "blocked" || i >= WAIT_TURNS) throw e;
        await this.wait();
      }
    }
  }

  private async io(op: string, x: bigint[], as?: string): Promise<string> {
    const isWrite = op === "write" || op === "pwrite";
    const hasOff = op === "pwrite" || op === "pread";
    const [fd, len] = x;
    const off = hasOff ? x[2] : 0n;
    this.refuseFd(fd);
    if (len > IO_MAX) return `bad io length must be at most ${IO_MAX}`;
    if (isWrite) {
      const byte = x.length > (hasOff ? 3 : 2) ? x[hasOff ? 3 : 2] : 0n;
      if (byte > 255n) return "bad byte must be 0..255";
      this.charge(len);
      if (len > 0n) this.t.fill(Number(IO_AT), Number(byte), Number(len));
    }
    const nr = isWrite ? (hasOff ? NR.pwrite64 : NR.write) : hasOff ? NR.pread64 : NR.read;
    const uffd = this.uffds.has(fd & 0xffffffffn);
    // a blocking pipe with nothing to read (or no room) must wait: `blocked` (this.sys), as the host's
    // interrupted call; the thread gives up that wait with its next call
    const r = hasOff ? this.sys(nr, fd, IO_AT, len, off) : uffd && !isWrite ? await this.waitingSys(nr, fd, IO_AT, len) : this.sys(nr, fd, IO_AT, len);
    if (isErr(r)) return Runner.status(r);
    return isWrite ? `ok ${r}` : `ok ${r}${this.readData(!hasOff && uffd, this.readUser(IO_AT, Number(r)), as)}`;
  }

  /** load (byte === null) or store of [addr, addr + len) by thread `t`: the result line. */
  private access(t: Thread, addr: bigint, len: bigint, written: Arg, byte: number | null): string {
    const a = Number(addr);
    if (BigInt(a) !== addr) return `bad unsupported: access address 0x${addr.toString(16)} is not exact in a double`;
    try {
      if (byte === null) return `ok ${digestOf(t.read(a, Number(len)))}`;
      t.fill(a, byte, Number(len));
      return "ok";
    } catch (e) {
      return this.accessError(e, written);
    }
  }
  private accessError(e: unknown, written: Arg): string {
    if (e instanceof WouldBlockError) return "blocked";
    if (!(e instanceof SignalError)) throw e;
    const at = e.si_code === SI_KERNEL ? "at=?" : `at=${this.expr(written, BigInt(e.addr))}`;
    return `sig ${e.signo === A.SIGSEGV ? "SIGSEGV" : e.signo === A.SIGBUS ? "SIGBUS" : "SIG?"} ${codename(e.signo, e.si_code)} ${at}`;
  }

  /** Kill the `fork` child, if any (`reap`, and at the end of the scenario). */
  reap(): void {
    this.child?.exit(0);
    this.child = undefined;
  }

  /** `ioctl FD CMD W0 …`: its operands (the argument is _IOC_SIZE(CMD) bytes). */
  private ioctlArgs(tok: string[]): { fd: bigint; cmd: number; words: bigint[]; nw: number } | string {
    const fd = this.v(tok[1]);
    const cmd = IOCTLS[tok[2]] ?? Number(BigInt.asUintN(32, this.v(tok[2])));
    const nw = ((cmd >>> 16) & 0x3fff) >>> 3;
    if (nw > 16 || tok.length - 3 > nw) return "bad too many words";
    const words: bigint[] = [];
    for (let i = 0; i < nw; i++) words.push(i + 3 < tok.length ? this.v(tok[i + 3]) : 0n);
    return { fd, cmd, words, nw };
  }

  /**
   * Issue the ioctl on thread `t`, its argument in the thread's staging window (filling it enters no
   * kernel code, so a reissued UFFDIO_COPY keeps its restart state); the result line. Throws
   * WouldBlockError if the call must wait.
   */
  private ioctlLine(t: Thread, fd: bigint, cmd: number, words: bigint[]): string {
    const inb = new Uint8Array(Math.max(words.length * 8, 8));
    const dv = new DataView(inb.buffer);
    words.forEach((w, i) => dv.setBigUint64(i * 8, w, true));
    const ret = t.syscall(NR.ioctl, BigInt.asUintN(32, fd), BigInt(cmd), t.stage(inb));
    const bytes = t.bounce.slice(0, inb.length);
    const odv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    let line = isErr(ret) ? `err ${errname(Number(-ret))}` : ret === 0n ? "ok" : `ok ${ret}`;
    for (let i = 0; i < words.length; i++) {
      const b = odv.getBigUint64(i * 8, true);
      if (words[i] === b) line += " =";
      else {
        const sv = BigInt.asIntN(64, b);
        line += sv < 0n && sv >= -4095n ? ` ${sv}` : ` 0x${b.toString(16)}`;
      }
    }
    return line;
  }

  /** The access (or the ioctl) of an extra thread; it may wait, yielding, until a userfault is resolved. */
  async threadAccess(at: import("../sched/scheduler.js").AsyncThread, f: FThread): Promise<string> {
    const call = f.call;
    if (call) return at.op(() => this.ioctlLine(f.thread, call.fd, call.cmd, call.words));
    const sc = f.sys;
    if (sc) {
      sc.ret = await at.op(() => this.callOn(f.thread, sc));
      return "done";
    }
    try {
      if (f.write) await at.store8(f.addr, f.byte);
      const v = await at.load8(f.addr);
      return `ok 0x${v.toString(16).padStart(2, "0")}`;
    } catch (e) {
      return this.accessError(e, f.where);
    }
  }

  /** poll(fd, POLLIN, 0) with the struct pollfd in the scratch mapping. */
  private pollRaw(fd: bigint): { ret: bigint; revents: number } {
    this.pollSet(fd);
    return this.pollGet(this.sys(NR.poll, POLL_AT, 1n, 0n));
  }
  private pollSet(fd: bigint): void {
    const pfd = new Uint8Array(8);
    const dv = new DataView(pfd.buffer);
    dv.setInt32(0, Number(BigInt.asIntN(32, fd)), true);
    dv.setInt16(4, A.POLLIN, true);
    this.writeUser(POLL_AT, pfd);
  }
  private pollGet(ret: bigint): { ret: bigint; revents: number } {
    const b = this.readUser(POLL_AT, 8);
    return { ret, revents: new DataView(b.buffer, b.byteOffset).getUint16(6, true) };
  }

  /**
   * `poll FD MS` with MS ≠ 0, as the oracle's: while it must wait, yield to the other threads (at
   * most WAIT_TURNS turns, where the host waits at most MS or BLOCK_MS) and reissue it after a wake;
   * with nobody to wake it a timeout of 1..BLOCK_MS runs out (task_timeout: the reissue returns),
   * a longer or negative one is `blocked` (the thread gives up the wait with its next call). The
   * reissue touches no user memory first: a memory access would abandon the pending restart.
   */
  private async pollTimed(fd: bigint, ms: number): Promise<{ ret: bigint; revents: number }> {
    const word = () => this.t.frame.getInt32(A.host_frame.wait_word, true);
    this.pollSet(fd);
    for (let i = 0; ; i++) {
      try {
        return this.pollGet(this.sys(NR.poll, POLL_AT, 1n, BigInt.asUintN(64, BigInt(ms))));
      } catch (e) {
        if (!(e instanceof Bad) || e.line !== "blocked") throw e;
      }
      for (; this.threaded && word() !== 0 && i < WAIT_TURNS; i++) await this.wait();
      if (word() === 0) {
        if (i >= WAIT_TURNS) throw new Bad("blocked"); // woken, and waiting again, for too long
        continue; // woken: look again
      }
      if (ms < 0 || ms > BLOCK_MS || !this.t.timeout()) throw new Bad("blocked");
    }
  }

  private openDev(flags: number): bigint {
    this.writeUser(PATH_AT, cstring("/dev/userfaultfd"));
    return this.sys(NR.open, PATH_AT, BigInt(flags), 0n);
  }

  /** A new fd (not a userfaultfd) bound to `name`: `ok fd`, or the error. */
  private bindFd(name: string, r: bigint): string {
    if (isErr(r)) return `err ${errname(Number(-r))}`;
    this.bind(name, r);
    this.uffds.delete(r);
    return "ok fd";
  }

  /** `tsys VERB ARGS [as NAME]` (the oracle's parse_call): munmap, madvise, mremap, mmap with the mm verbs' arguments, fork, poll FD..., or read FD LEN */
  private parseCall(tok: string[]): Call {
    const calls: Record<string, [number, number, number]> = {
      munmap: [2, 2, 0], madvise: [3, 3, 0], mremap: [4, 5, 1], mmap: [6, 6, 1], fork: [0, 0, 0], poll: [1, MAX_POLL, 0], read: [2, 2, 0],
      write: [3, 3, 0],
    };
    const def = Object.hasOwn(calls, tok[0]) ? calls[tok[0]] : undefined;
    if (!def) throw new Bad("bad tsys takes munmap, madvise, mremap, mmap, fork, poll, read or write");
    const a: Arg[] = [];
    let name = "";
    for (let i = 1; i < tok.length; i++) {
      if (tok[i] === "as") {
        if (i !== tok.length - 2 || !def[2]) throw new Bad(`bad ${tok[0]} binds at most ${def[2]} name(s)`);
        if (!NAME_RE.test(tok[i + 1])) throw new Bad(`bad invalid name '${clean(tok[i + 1])}'`);
        name = tok[i + 1];
        break;
      }
      if (a.length === 6) throw new Bad("bad wrong argument count");
      a.push(this.arg(tok[i]));
    }
    if (a.length < def[0] || a.length > def[1]) throw new Bad("bad wrong argument count");
    const x = a.map((y) => y.v);
    if (tok[0] === "munmap" || tok[0] === "madvise" || tok[0] === "mremap") this.refuseSelf(x[0], x[1]);
    if (tok[0] === "madvise" && (x[2] === K_MADV_POPULATE_READ || x[2] === K_MADV_POPULATE_WRITE)) this.charge(x[1]);
    if (tok[0] === "mremap") {
      if ((x[3] & (K_MREMAP_MAYMOVE | K_MREMAP_FIXED)) === (K_MREMAP_MAYMOVE | K_MREMAP_FIXED)) this.refuseSelf(x[4] ?? 0n, x[2]);
      if (x[2] > x[1]) this.charge(x[2] - x[1]);
    }
    if (tok[0] === "mmap") {
      if (x[3] & K_MAP_FIXED && !(x[3] & K_MAP_FIXED_NOREPLACE)) this.refuseSelf(x[0], x[1]);
      if (!(x[3] & K_MAP_ANONYMOUS)) this.refuseFd(x[4]);
      if (x[3] & (K_MAP_POPULATE | K_MAP_LOCKED)) this.charge(x[1]);
    }
    if (tok[0] === "poll") for (const fd of x) this.refuseFd(fd);
    if (tok[0] === "read") {
      this.refuseFd(x[0]);
      if (x[1] > BigInt(A.BOUNCE_SIZE)) throw new Bad(`bad tsys read length must be at most ${A.BOUNCE_SIZE}`);
      return { verb: "read", a, name, ret: 0n, revents: [], uffd: this.uffds.has(x[0] & 0xffffffffn) };
    }
    if (tok[0] === "write") {
      this.refuseFd(x[0]);
      if (x[2] > IO_MAX) throw new Bad(`bad io length must be at most ${IO_MAX}`);
      if (x[1] + x[2] > U64 || this.bytesTouchSelf(x[1], x[1] + x[2])) throw new Bad("bad refused: range touches the oracle's own memory");
      this.charge(x[2]);
    }
    return { verb: tok[0], a, name, ret: 0n, revents: [] };
  }

  /** The producer's raw call on thread `t` (may throw WouldBlockError: the scheduler reissues it). */
  private callOn(t: Thread, c: Call): bigint {
    const x = c.a.map((y) => y.v);
    while (x.length < 6) x.push(0n);
    switch (c.verb) {
      case "munmap": return t.syscall(NR.munmap, x[0], x[1]);
      case "madvise": return t.syscall(NR.madvise, x[0], x[1], x[2]);
      case "mremap": return t.syscall(NR.mremap, x[0], x[1], x[2], x[3], x[4]);
      case "mmap": return t.syscall(NR.mmap, x[0], x[1], x[2], x[3], x[4], x[5]);
      case "write": return t.syscall(NR.write, x[0], x[1], x[2]);
      case "read": {
        // into the thread's bounce page (tsys read reads at most BOUNCE_SIZE bytes)
        const r = t.syscall(NR.read, x[0], A.HOST_STAGING_BASE, x[1]);
        c.data = isErr(r) ? undefined : t.bounce.slice(0, Number(r));
        return r;
      }
      case "poll": {
        // poll({fd, POLLIN}..., -1), the entries in the thread's staging window (restaged on a reissue)
        const n = c.a.length;
        const P = A.pollfd;
        const b = new Uint8Array(n * P.SIZEOF);
        const dv = new DataView(b.buffer);
        for (let i = 0; i < n; i++) {
          dv.setInt32(i * P.SIZEOF + P.fd, Number(BigInt.asIntN(32, x[i])), true);
          dv.setInt16(i * P.SIZEOF + P.events, A.POLLIN, true);
        }
        const r = t.syscall(NR.poll, t.stage(b), BigInt(n), U64);
        const out = new DataView(t.bounce.buffer, t.bounce.byteOffset, b.length);
        c.revents = c.a.map((_, i) => out.getUint16(i * P.SIZEOF + P.revents, true));
        return r;
      }
      default: return t.syscall(NR.fork);
    }
  }

  /** `tsjoin`: the producer's call as its mm verb prints it (`ok child` for fork). */
  private callResult(c: Call): string {
    if (isErr(c.ret)) return Runner.status(c.ret);
    if (c.verb === "fork") {
      this.sysChild = Number(c.ret);
      return "ok child";
    }
    if (c.verb === "read") {
      return `ok ${c.ret}${this.readData(c.uffd === true, c.data ?? new Uint8Array(0))}`;
    }
    if (c.verb === "poll") return `ok ${c.ret} revents=${c.revents.map((r) => `0x${r.toString(16)}`).join(" ")}`;
    if (c.verb === "mremap" || c.verb === "mmap") {
      const mr = c.verb === "mremap";
      const len = mr ? c.a[2].v : c.a[1].v;
      const out = `ok ${this.addrForm(c.ret, [c.a[0], mr ? c.a[4] : undefined])}`;
      if (c.name) this.bind(c.name, c.ret, (len + PAGE - 1n) & ~(PAGE - 1n) & U64);
      return out;
    }
    return Runner.status(c.ret);
  }

  /** The userfaultfd language (oracle.c's ustep). */
  private async ustep(tok: string[]): Promise<string> {
    const need = (k: number) => { if (tok.length < k) throw new Bad("bad wrong argument count"); };
    const op = tok[0];
    const err = (r: bigint) => `err ${errname(Number(-r))}`;
    switch (op) {
      case "nopriv":
        if (this.stepsRun !== 1) return "bad nopriv must be the first step";
        return "ok"; // applied at spawn
      case "uffd": {
        need(3);
        const r = this.sys(NR.userfaultfd, this.v(tok[2]));
        if (isErr(r)) return err(r);
        this.bind(tok[1], r);
        this.uffds.add(r);
        return "ok fd";
      }
      case "devnew": {
        need(4);
        const cmd = this.v(tok[2]), fl = this.v(tok[3]);
        const dev = this.openDev(A.O_RDWR | A.O_CLOEXEC);
        if (isErr(dev)) return `bad open /dev/userfaultfd: ${errname(Number(-dev))}`;
        const r = this.sys(NR.ioctl, dev, cmd, fl);
        this.sys(NR.close, dev);
        if (isErr(r)) return err(r);
        this.bind(tok[1], r);
        this.uffds.add(r);
        return "ok fd";
      }
      case "anon":
      case "sanon": {
        need(4);
        const pages = this.v(tok[2]), prot = this.v(tok[3]);
        const len = (pages * PAGE) & U64;
        this.charge(len);
        const fl = A.MAP_ANONYMOUS | (op === "sanon" ? A.MAP_SHARED : A.MAP_PRIVATE);
        const r = this.sys(NR.mmap, 0n, len, BigInt.asUintN(32, prot), BigInt(fl), U64, 0n);
        if (isErr(r)) return err(r);
        this.bind(tok[1], r, len);
        return "ok";
      }
      case "memfd": {
        need(3);
        const pages = this.v(tok[2]);
        this.writeUser(NAME_AT, cstring("uffd_oracle"));
        const fd = this.sys(NR.memfd_create, NAME_AT, 0n);
        if (isErr(fd)) return err(fd);
        const r = this.sys(NR.ftruncate, fd, (pages * PAGE) & U64);
        if (isErr(r)) return err(r);
        this.bind(tok[1], fd);
        this.uffds.delete(fd);
        return "ok fd";
      }
      case "mapfd": {
        need(5);
        let fd = this.v(tok[2]);
        const pages = this.v(tok[3]), prot = this.v(tok[4]);
        this.refuseFd(fd);
        const len = (pages * PAGE) & U64;
        if (tok.length > 5 && tok[5] === "ro") {
          this.writeUser(PATH_AT, cstring(`/proc/self/fd/${Number(BigInt.asIntN(32, fd))}`));
          fd = this.sys(NR.openat, BigInt.asUintN(64, AT_FDCWD), PATH_AT, BigInt(A.O_RDONLY), 0n);
          if (isErr(fd)) return err(fd);
          this.uffds.delete(fd);
        }
        const r = this.sys(NR.mmap, 0n, len, BigInt.asUintN(32, prot), BigInt(A.MAP_SHARED), BigInt.asUintN(32, fd), 0n);
        if (isErr(r)) return err(r);
        this.bind(tok[1], r, len);
        return "ok";
      }
      case "ioctl": {
        need(3);
        const x = this.ioctlArgs(tok);
        if (typeof x === "string") return x;
        this.refuseFd(x.fd);
        try {
          return this.ioctlLine(this.t, x.fd, x.cmd, x.words);
        } catch (e) {
          if (e instanceof WouldBlockError) return "blocked";
          throw e;
        }
      }
      case "ioctl0": {
        need(3);
        const fd = this.v(tok[1]);
        const cmd = IOCTLS[tok[2]] ?? Number(BigInt.asUintN(32, this.v(tok[2])));
        this.refuseFd(fd);
        const r = this.sys(NR.ioctl, BigInt.asUintN(32, fd), BigInt(cmd), 0n);
        return isErr(r) ? err(r) : "ok";
      }
      case "readwait": {
        let as: string | undefined;
        if (tok.length >= 5 && tok[tok.length - 2] === "as") {
          as = tok[tok.length - 1];
          tok = tok.slice(0, -2);
          if (!NAME_RE.test(as)) return `bad invalid name '${clean(as)}'`;
        }
        need(3);
        const fd = this.v(tok[1]), len = this.v(tok[2]);
        this.refuseFd(fd);
        if (len > IO_MAX) return "bad read length";
        let ready = false;
        for (let i = 0; ; i++) {
          const p = this.pollRaw(fd);
          ready = isErr(p.ret) || p.ret > 0n;
          if (ready || i >= WAIT_TURNS) break;
          await this.wait();
        }
        if (!ready) return "blocked";
        this.t.fill(Number(IO_AT), 0xee, Number(len));
        const r = await this.waitingSys(NR.read, fd, IO_AT, len);
        if (isErr(r)) return err(r);
        return `ok ${r}${this.readData(this.uffds.has(fd & 0xffffffffn), this.readUser(IO_AT, Number(r)), as)}`;
      }
      case "fdflags": {
        need(2);
        const fd = this.v(tok[1]);
        const fdf = this.sys(NR.fcntl, fd, BigInt(A.F_GETFD), 0n);
        if (isErr(fdf)) return err(fdf);
        const fl = this.sys(NR.fcntl, fd, BigInt(A.F_GETFL), 0n);
        if (isErr(fl)) return err(fl);
        const n = Number(fl);
        return `ok cloexec=${(Number(fdf) & A.FD_CLOEXEC) !== 0 ? 1 : 0} acc=${n & A.O_ACCMODE} nonblock=${(n & A.O_NONBLOCK) !== 0 ? 1 : 0}`;
      }
      case "setfl": {
        need(3);
        const fd = this.v(tok[1]), fl = this.v(tok[2]);
        this.refuseFd(fd);
        const r = this.sys(NR.fcntl, fd, BigInt(A.F_SETFL), BigInt.asUintN(32, fl));
        return isErr(r) ? err(r) : "ok";
      }
      case "poll": {
        need(2);
        const fd = this.v(tok[1]);
        const ms = tok.length > 2 ? Number(BigInt.asIntN(32, this.v(tok[2]))) : 0;
        const r = ms === 0 ? this.pollRaw(fd) : await this.pollTimed(fd, ms);
        if (isErr(r.ret)) return err(r.ret);
        return `ok ${r.ret} revents=0x${r.revents.toString(16)}`;
      }
      case "devopen": {
        need(2);
        const dev = this.openDev(A.O_RDWR);
        if (isErr(dev)) return err(dev);
        this.bind(tok[1], dev);
        this.uffds.delete(dev);
        return "ok fd";
      }
      case "tfault": {
        need(3);
        let n = tok.length;
        let tn = "T";
        if (n >= 5 && tok[n - 2] === "as") { tn = tok[n - 1]; n -= 2; }
        if (!NAME_RE.test(tn)) return `bad invalid name '${clean(tn)}'`;
        if (tok[2][0] !== "r" && tok[2][0] !== "w") return "bad tfault takes r or w";
        const where = this.arg(tok[1]);
        const b = n > 3 ? this.v(tok[3]) : 0n;
        if (b > 255n) return "bad byte must be 0..255";
        if (tok[2][0] === "w" && this.bytesTouchSelf(where.v, where.v + 1n)) return "bad refused: range touches the oracle's own memory";
        if (this.threads.length === 0) return "bad internal: no threads";
        let f = this.threads.find((x) => x.name === tn);
        if (f && f.result !== "") return `bad thread ${tn} is already running`;
        f ??= this.threads.find((x) => x.name === "");
        if (!f) return `bad at most ${MAX_THREADS} threads`;
        f.name = tn;
        f.call = undefined;
        f.addr = Number(where.v);
        f.where = where;
        f.write = tok[2][0] === "w";
        f.byte = Number(b);
        f.done = false;
        f.result = "pending";
        f.go = true;
        return "ok";
      }
      case "tjoin": {
        const tn = tok.length > 1 ? tok[1] : "T";
        const f = this.threads.find((x) => x.name === tn && x.result !== "");
        if (!f) return "bad no faulting thread";
        for (let i = 0; !f.done && i < WAIT_TURNS; i++) await this.wait();
        if (!f.done) return "blocked";
        const res = f.result;
        f.result = "";
        return res;
      }
      case "tioctl": {
        need(3);
        let f = this.threads.find((x) => x.name === "C");
        if (f && f.result !== "") return "bad a calling thread is already running";
        const x = this.ioctlArgs(tok);
        if (typeof x === "string") return x;
        this.refuseFd(x.fd);
        f ??= this.threads.find((y) => y.name === "");
        if (!f) return `bad at most ${MAX_THREADS} threads`;
        f.name = "C";
        f.call = { fd: x.fd, cmd: x.cmd, words: x.words };
        f.done = false;
        f.result = "pending";
        f.go = true;
        return "ok";
      }
      case "tioctljoin": {
        const f = this.threads.find((x) => x.name === "C" && x.result !== "");
        if (!f) return "bad no calling thread";
        for (let i = 0; !f.done && i < WAIT_TURNS; i++) await this.wait();
        if (!f.done) return "blocked";
        const res = f.result;
        f.result = "";
        return res;
      }
      case "tsys": {
        need(2);
        let f = this.threads.find((x) => x.name === "P");
        if (f && f.result !== "") return "bad a producer thread is already running";
        if (tok[1] === "fork" && this.sysChild >= 0) return "bad a child is already running";
        const c = this.parseCall(tok.slice(1));
        f ??= this.threads.find((y) => y.name === "");
        if (!f) return `bad at most ${MAX_THREADS} threads`;
        f.name = "P";
        f.call = undefined;
        f.sys = c;
        f.done = false;
        f.result = "pending";
        f.go = true;
        return "ok";
      }
      case "tsbusy": {
        const f = this.threads.find((x) => x.name === "P" && x.result !== "");
        if (!f) return "bad no producer thread";
        // until the call returned or a userfaultfd has a message (the producer's event), bounded
        const readable = () => [...this.uffds].some((fd) => {
          const r = this.pollRaw(fd);
          return !isErr(r.ret) && (r.revents & A.POLLIN) !== 0;
        });
        for (let i = 0; i < WAIT_TURNS && !f.done && !readable(); i++) await this.wait();
        return f.done ? "ok done" : "ok blocked";
      }
      case "tsjoin": {
        const f = this.threads.find((x) => x.name === "P" && x.result !== "");
        if (!f || !f.sys) return "bad no producer thread";
        for (let i = 0; !f.done && i < WAIT_TURNS; i++) await this.wait();
        if (!f.done) return "blocked";
        f.result = "";
        return this.callResult(f.sys);
      }
      case "childexit":
        if (this.sysChild < 0) return "bad no child";
        this.k.adopt(this.sysChild).exit(0);
        this.sysChild = -1;
        return "ok";
      case "fdinfo": {
        need(2);
        let text: string;
        try {
          text = this.p.fdinfo(Number(BigInt.asIntN(32, this.v(tok[1]))));
        } catch {
          return "err ENOENT";
        }
        const get = (k: string) => new RegExp(`^${k}:\\t(.*)$`, "m").exec(text)?.[1]?.slice(0, k === "API" ? 90 : 30) ?? "?";
        return `ok pending=${get("pending")} total=${get("total")} api=${get("API")}`;
      }
      // ── KVM and guest_memfd (the guest_memfd file itself is used with the mm verbs) ──
      case "kvm": {
        need(2);
        this.writeUser(PATH_AT, cstring("/dev/kvm"));
        return this.bindFd(tok[1], this.sys(NR.openat, BigInt.asUintN(64, AT_FDCWD), PATH_AT, BigInt(A.O_RDWR), 0n));
      }
      case "vm": {
        need(4);
        const kfd = this.v(tok[2]), type = this.v(tok[3]);
        this.refuseFd(kfd);
        return this.bindFd(tok[1], this.sys(NR.ioctl, BigInt.asUintN(32, kfd), BigInt(A.KVM_CREATE_VM), type));
      }
      case "cap":
      case "ioctlv": {
        const cap = op === "cap";
        need(cap ? 3 : 4);
        const fd = this.v(tok[1]), cmd = cap ? BigInt(A.KVM_CHECK_EXTENSION) : this.v(tok[2]), arg = this.v(tok[cap ? 2 : 3]);
        this.refuseFd(fd);
        const r = this.sys(NR.ioctl, BigInt.asUintN(32, fd), BigInt.asUintN(32, cmd), arg);
        return isErr(r) ? err(r) : `ok ${r}`;
      }
      case "gmem": {
        need(5);
        const G = A.kvm_create_guest_memfd;
        const vfd = this.v(tok[2]);
        const b = le(G.SIZEOF, [[G.size, this.v(tok[3]), 8], [G.flags, this.v(tok[4]), 8],
          [G.reserved0, tok.length > 5 ? this.v(tok[5]) : 0n, 8], [G.reserved5, tok.length > 6 ? this.v(tok[6]) : 0n, 8]]);
        this.refuseFd(vfd);
        this.writeUser(KVM_AT, b);
        return this.bindFd(tok[1], this.sys(NR.ioctl, BigInt.asUintN(32, vfd), BigInt(A.KVM_CREATE_GUEST_MEMFD), KVM_AT));
      }
      case "slot":
      case "slot1": {
        const two = op === "slot";
        need(two ? 9 : 7);
        const M = A.kvm_userspace_memory_region2;
        const vfd = this.v(tok[1]);
        const f: [number, bigint, 4 | 8][] = [[M.slot, this.v(tok[2]), 4], [M.flags, this.v(tok[3]), 4], [M.guest_phys_addr, this.v(tok[4]), 8],
          [M.memory_size, this.v(tok[5]), 8], [M.userspace_addr, this.v(tok[6]), 8]];
        if (two) f.push([M.guest_memfd, this.v(tok[7]), 4], [M.guest_memfd_offset, this.v(tok[8]), 8], [M.pad1, tok.length > 9 ? this.v(tok[9]) : 0n, 4]);
        this.refuseFd(vfd);
        this.writeUser(KVM_AT, le(two ? M.SIZEOF : A.kvm_userspace_memory_region.SIZEOF, f));
        const r = this.sys(NR.ioctl, BigInt.asUintN(32, vfd), BigInt(two ? A.KVM_SET_USER_MEMORY_REGION2 : A.KVM_SET_USER_MEMORY_REGION), KVM_AT);
        return isErr(r) ? err(r) : "ok";
      }
      case "sameino": {
        need(3);
        const a = this.v(tok[1]), b = this.v(tok[2]);
        const ino = (fd: bigint): bigint => {
          const r = this.sys(NR.fstat, BigInt.asUintN(32, fd), STAT_AT);
          if (isErr(r)) throw new Bad(err(r));
          return new DataView(this.readUser(STAT_AT, A.stat.SIZEOF).buffer).getBigUint64(A.stat.st_ino, true);
        };
        const ia = ino(a), ib = ino(b);
        return `ok ${ia === ib ? "same" : "differ"}`;
      }
      case "lseek": {
        need(4);
        const fd = this.v(tok[1]), off = this.v(tok[2]), wh = this.v(tok[3]);
        this.refuseFd(fd);
        const r = this.sys(NR.lseek, fd, off, wh);
        return isErr(r) ? err(r) : `ok ${r}`;
      }
      case "fork":
        if (this.child) return "bad a child is already running";
        this.child = this.p.fork();
        return "ok";
      case "reap":
        if (!this.child) return "bad no child";
        this.reap();
        return "ok";
    }
    return `bad unknown op '${clean(op)}'`;
  }
}

/** A little-endian structure of `size` bytes with the given [offset, value, width] fields. */
function le(size: number, fields: [number, bigint, 4 | 8][]): Uint8Array {
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  for (const [o, v, w] of fields) {
    if (w === 8) dv.setBigUint64(o, BigInt.asUintN(64, v), true);
    else dv.setUint32(o, Number(BigInt.asUintN(32, v)), true);
  }
  return b;
}

function cstring(s: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  const z = new Uint8Array(b.length + 1);
  z.set(b);
  return z;
}

function ftype(mode: number): string {
  switch (mode & 0o170000) {
    case 0o100000: return "reg";
    case 0o040000: return "dir";
    case 0o010000: return "fifo";
    case 0o020000: return "chr";
    case 0o060000: return "blk";
    case 0o120000: return "lnk";
    case 0o140000: return "sock";
    default: return "unknown";
  }
}
