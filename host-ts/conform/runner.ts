/**
 * The scenario runner's core (see uffdlab.ts): the simulated process, the names a scenario binds,
 * the oracle's refusals and budget, and the helpers every verb family uses. The verbs themselves are
 * in mm.ts, pipes.ts, uffd.ts, threads.ts and kvm.ts; their arities in verbs.ts.
 */
import type { Kernel } from "../kernel.js";
import type { Process } from "../process.js";
import type { Thread } from "../thread.js";
import { WouldBlockError } from "../errors.js";
import * as A from "../abi.gen.js";
import { clean, errname, formatRelative } from "./format.js";

// ── limits: the oracle's ───────────────────────────────────────────────────────────────────────────
export const ACCESS_MAX = 64n << 20n;
export const IO_MAX = 1n << 20n;
export const STEP_BUDGET = 256n << 20n;
export const TOTAL_BUDGET = 1n << 30n;
export const PAGE = 4096n;
export const U64 = (1n << 64n) - 1n;
export const MAX_TOKENS = 24;
export const MAX_NAME = 31;
export const MAX_BINDINGS = 128;
export const MAX_MEMFD_NAME = 4096;
export const MAX_THREADS = 4;
/** Turns a `readwait` or `tjoin` yields before it reports `blocked`. */
export const WAIT_TURNS = 2000;
/** The oracle's bound on a wait (ms): a `poll FD MS` with a longer or negative timeout is cut there. */
export const BLOCK_MS = 1000;

// ── the runner's own memory in the simulated process (laid out like the oracle's on the host) ───────
export const SELF_BASE = 0x555555554000n;
export const NAME_AT = SELF_BASE; // memfd names: up to 4096 bytes + NUL (2 pages)
export const STAT_AT = SELF_BASE + 0x2000n; // struct stat (144 bytes)
export const PIPE_AT = SELF_BASE + 0x2200n; // int[2]
export const PATH_AT = SELF_BASE + 0x2400n; // "/proc/self/fd/N", "/dev/userfaultfd"
export const POLL_AT = SELF_BASE + 0x2600n; // struct pollfd
export const KVM_AT = SELF_BASE + 0x2800n; // KVM ioctl argument structures (at most 160 bytes)
export const IO_AT = SELF_BASE + 0x3000n; // read/write buffer, IO_MAX bytes
export const SELF_END = IO_AT + IO_MAX;
export const STACK_TOP = 0x7ffd00000000n;
export const STACK_SIZE = 0x21000n;
export const STACK_MARGIN = 8n << 20n;
export const SELF_RANGES: readonly (readonly [bigint, bigint])[] = [
  [SELF_BASE, SELF_END],
  [STACK_TOP - STACK_SIZE - STACK_MARGIN, STACK_TOP],
];

export const NR = {
  read: A.__NR_read, write: A.__NR_write, open: A.__NR_open, close: A.__NR_close, fstat: A.__NR_fstat, poll: A.__NR_poll,
  mmap: A.__NR_mmap, mprotect: A.__NR_mprotect, munmap: A.__NR_munmap, ioctl: A.__NR_ioctl, pread64: A.__NR_pread64,
  pwrite64: A.__NR_pwrite64, mremap: A.__NR_mremap, madvise: A.__NR_madvise, dup: A.__NR_dup, fcntl: A.__NR_fcntl,
  ftruncate: A.__NR_ftruncate, mlock: A.__NR_mlock, munlock: A.__NR_munlock, openat: A.__NR_openat,
  mlockall: A.__NR_mlockall, munlockall: A.__NR_munlockall,
  fallocate: A.__NR_fallocate, pipe2: A.__NR_pipe2, userfaultfd: A.__NR_userfaultfd, memfd_create: A.__NR_memfd_create,
  lseek: A.__NR_lseek, fork: A.__NR_fork,
} as const;
export const AT_FDCWD = -100n;
export const K_MAP_FIXED = BigInt(A.MAP_FIXED), K_MAP_ANONYMOUS = BigInt(A.MAP_ANONYMOUS), K_MAP_LOCKED = BigInt(A.MAP_LOCKED);
export const K_MAP_POPULATE = BigInt(A.MAP_POPULATE), K_MAP_FIXED_NOREPLACE = BigInt(A.MAP_FIXED_NOREPLACE);
export const K_MREMAP_MAYMOVE = BigInt(A.MREMAP_MAYMOVE), K_MREMAP_FIXED = BigInt(A.MREMAP_FIXED);
export const K_MADV_POPULATE_READ = BigInt(A.MADV_POPULATE_READ), K_MADV_POPULATE_WRITE = BigInt(A.MADV_POPULATE_WRITE);
export const K_FALLOC_FL_PUNCH_HOLE = BigInt(A.FALLOC_FL_PUNCH_HOLE);
export const RW = BigInt(A.PROT_READ | A.PROT_WRITE), ANON_PRIVATE = BigInt(A.MAP_PRIVATE | A.MAP_ANONYMOUS);
/** The fcntl commands the scenario language allows (the oracle refuses others). */
export const FCNTL_CMDS = new Set([A.F_GETFD, A.F_GETFL, A.F_SETPIPE_SZ, A.F_GETPIPE_SZ, A.F_ADD_SEALS, A.F_GET_SEALS].map(BigInt));

export const IOCTLS: Record<string, number> = {
  API: A.UFFDIO_API, REGISTER: A.UFFDIO_REGISTER, UNREGISTER: A.UFFDIO_UNREGISTER, WAKE: A.UFFDIO_WAKE, COPY: A.UFFDIO_COPY,
  ZEROPAGE: A.UFFDIO_ZEROPAGE, MOVE: A.UFFDIO_MOVE, WRITEPROTECT: A.UFFDIO_WRITEPROTECT, CONTINUE: A.UFFDIO_CONTINUE,
  POISON: A.UFFDIO_POISON,
};

/** A step that cannot produce a normal result: its line (`bad …` or `blocked`). */
export class Bad extends Error {
  constructor(readonly line: string) {
    super(line);
  }
}

/** A parsed value: its 64-bit value, and the name it is relative to (for printing addresses). */
export interface Arg { v: bigint; named: boolean; base: string; basev: bigint }

export const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/;
export const isErr = (r: bigint) => r < 0n && r > -4096n;

export function parseUint(s: string): bigint | undefined {
  if (/^0[xX][0-9a-fA-F]+$/.test(s) || /^[0-9]+$/.test(s)) {
    const v = BigInt(s);
    return v > U64 ? undefined : v;
  }
  return undefined;
}

/** One extra thread of a scenario (tfault). */
export interface FThread {
  name: string; thread: Thread; go: boolean; done: boolean; addr: number; write: boolean; byte: number;
  where: Arg; result: string;
  /** tioctl: the ioctl this thread makes instead of an access */
  call?: { fd: bigint; cmd: number; words: bigint[] };
  /** tsys: the mm call (fork, poll) this thread makes instead; its raw return value lands in `ret` */
  sys?: Call;
}

/** A producer's call (tsys): the verb, its parsed arguments and `as` name, the raw result (poll: and the revents; read: whether the fd was a userfaultfd, the bytes). */
export interface Call { verb: string; a: Arg[]; name: string; ret: bigint; revents: number[]; uffd?: boolean; data?: Uint8Array }

/** The line of a raw result: `ok`, `ok N` or `err E`. */
export function status(r: bigint): string {
  if (isErr(r)) return `err ${errname(Number(-r))}`;
  return r === 0n ? "ok" : `ok ${r}`;
}
/** The line of an error result. */
export const err = (r: bigint) => `err ${errname(Number(-r))}`;
/** The parsed arguments of an "args" verb (verbs.ts): their values, tokens, and the names after `as`. */
export interface MmStep { op: string; a: Arg[]; x: bigint[]; raw: string[]; names: string[] }
export type ArgsHandler = (u: Runner, s: MmStep) => string | Promise<string>;
export type TokensHandler = (u: Runner, tok: string[]) => string | Promise<string>;

/** One scenario run: its process and threads, the names it bound, what it was charged. */
export class Runner {
  readonly names = new Map<string, { val: bigint; len: bigint }>();
  budgetUsed = 0n;
  /** mlockall(MCL_FUTURE) without MCL_ONFAULT is in force: every mmap populates (and is charged). */
  mclFuturePopulates = false;
  readonly uffds = new Set<bigint>();
  stepsRun = 0;
  t: Thread;
  threads: FThread[] = [];
  /** the `fork` child, kept until `reap` */
  child?: Process;
  /** the pid of `tsys fork`'s child, kept until `childexit` */
  sysChild = -1;
  wait: () => Promise<void> = async () => { throw new Bad("blocked"); };
  /** Whether other threads run (under the scheduler): `wait` yields to them. */
  threaded = false;

  constructor(readonly k: Kernel, readonly p: Process) {
    this.t = p.thread;
    this.setup();
  }

  /** The scratch mapping and fds 0–2, made with raw calls; any failure here is a runner bug. */
  setup(): void {
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
    const [rfd, wfd] = this.pipeFds();
    if (rfd !== 0 || wfd !== 1) throw new Error("uffdlab runner setup: pipe is not fds 0, 1");
    if (must("dup", this.sys(NR.dup, 1n)) !== 2n) throw new Error("uffdlab runner setup: dup is not fd 2");
  }

  sys(nr: number, ...args: bigint[]): bigint {
    try {
      return this.t.syscall(nr, ...args);
    } catch (e) {
      if (e instanceof WouldBlockError) throw new Bad("blocked");
      throw e;
    }
  }

  // ── names and values ─────────────────────────────────────────────────────────────────────────────
  bind(name: string, v: bigint, len = 0n): void {
    if (this.names.has(name) || (this.names.size < MAX_BINDINGS && name.length <= MAX_NAME)) {
      this.names.set(name, { val: BigInt.asUintN(64, v), len });
    }
  }

  /** The oracle's parse_value, with its `bad …` texts. */
  arg(tok: string): Arg {
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
  v(tok: string | undefined): bigint {
    if (tok === undefined) throw new Bad("bad wrong argument count");
    return this.arg(tok).v;
  }

  expr(a: Arg, v: bigint): string {
    return a.named ? formatRelative(a.base, a.basev, v) : `0x${BigInt.asUintN(64, v).toString(16)}`;
  }
  /** A returned address: as the first candidate argument it equals, else "addr". */
  addrForm(r: bigint, cands: (Arg | undefined)[]): string {
    for (const c of cands) if (c && c.v === BigInt.asUintN(64, r)) return this.expr(c, r);
    return "addr";
  }
  /** An address in a uffd_msg: relative to the first named mapping containing it. */
  msgAddr(a: bigint): string {
    for (const [n, b] of this.names) {
      if (b.len > 0n && a >= b.val && a - b.val < b.len) return a === b.val ? `$${n}` : `$${n}+0x${(a - b.val).toString(16)}`;
    }
    return `0x${a.toString(16)}`;
  }

  // ── the oracle's refusals ────────────────────────────────────────────────────────────────────────
  bytesTouchSelf(start: bigint, end: bigint): boolean {
    return SELF_RANGES.some(([s, e]) => start < e && s < end);
  }
  refuseSelf(addr: bigint, len: bigint): void {
    if (len === 0n || (addr & (PAGE - 1n)) !== 0n) return;
    const end = (addr + len) & U64;
    if (end < addr || ((end + PAGE - 1n) & U64) < end) return;
    if (this.bytesTouchSelf(addr, (end + PAGE - 1n) & ~(PAGE - 1n))) throw new Bad("bad refused: range touches the oracle's own memory");
  }
  refuseFd(fd: bigint): void {
    const low = fd & 0xffffffffn;
    if (low <= 2n) throw new Bad(`bad refused: fd ${low} belongs to the oracle`);
  }
  charge(len: bigint): void {
    if (len > STEP_BUDGET || len > TOTAL_BUDGET - this.budgetUsed) {
      throw new Bad("bad refused: step would allocate more than the oracle's memory budget");
    }
    this.budgetUsed += len;
  }
  accessArgsOk(addr: bigint, len: bigint): void {
    if (len === 0n || len > ACCESS_MAX) throw new Bad(`bad access length must be 1..${ACCESS_MAX}`);
    if (addr + len > U64) throw new Bad("bad access range wraps around");
  }

  readUser(addr: bigint, len: number): Uint8Array {
    return this.t.read(Number(addr), len);
  }
  writeUser(addr: bigint, bytes: Uint8Array): void {
    this.t.write(Number(addr), bytes);
  }
  ptid(ptid: number): string {
    const f = this.threads.find((x) => x.name !== "" && x.thread.tid === ptid);
    return ptid !== 0 && f ? f.name : String(ptid);
  }
  /** An end address (REMOVE / UNMAP messages): the end of a named mapping is $NAME+len. */
  msgEnd(a: bigint): string {
    for (const [n, b] of this.names) if (b.len > 0n && a > b.val && a - b.val <= b.len) return `$${n}+0x${(a - b.val).toString(16)}`;
    return this.msgAddr(a);
  }
  /** The messages of a userfaultfd read, as the oracle's put_uffd_msgs; `as` binds a FORK message's fd. */

  /**
   * A call that may wait (a read of an empty blocking userfaultfd): where the host's call sleeps
   * until another thread's fault queues a message (at most BLOCK_MS), yield and reissue it, at most
   * WAIT_TURNS times; without extra threads nothing can come, so it is `blocked` at once.
   */
  async waitingSys(nr: number, ...args: bigint[]): Promise<bigint> {
    for (let i = 0; ; i++) {
      try {
        return this.sys(nr, ...args);
      } catch (e) {
        if (!(e instanceof Bad) || e.line !== "blocked" || i >= WAIT_TURNS) throw e;
        await this.wait();
      }
    }
  }

  /** The two fds pipe2(2) left in the int[2] at PIPE_AT. */
  pipeFds(): [number, number] {
    const I = Int32Array.BYTES_PER_ELEMENT;
    const dv = new DataView(this.readUser(PIPE_AT, 2 * I).buffer);
    return [dv.getInt32(0, true), dv.getInt32(I, true)];
  }

  /** Kill the `fork` child, if any (`reap`, and at the end of the scenario). */
  reap(): void {
    this.child?.exit(0);
    this.child = undefined;
  }

  /** A new fd (not a userfaultfd) bound to `name`: `ok fd`, or the error. */
  bindFd(name: string, r: bigint): string {
    if (isErr(r)) return `err ${errname(Number(-r))}`;
    this.bind(name, r);
    this.uffds.delete(r);
    return "ok fd";
  }
}

export function cstring(s: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  const z = new Uint8Array(b.length + 1);
  z.set(b);
  return z;
}
