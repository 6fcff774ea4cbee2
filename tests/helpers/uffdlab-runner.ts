/**
 * uffdlab runner: executes a scenario (tests/helpers/scenario.ts) on a fresh uffdlab kernel and prints
 * the same normalised result lines as the native oracle (tests/oracle/mm_oracle.c), so that
 *
 *   expect((await runUffdlab(steps)).map((r) => r.line)).toEqual(runNative(steps).map((r) => r.line));
 *
 * compares the two kernels errno for errno.
 *
 * How each step runs (mirroring mm_oracle.c):
 *   - every system call is a raw `thread.syscall(nr, ...)` with the resolved 64-bit arguments, so that
 *     garbage (wrapping lengths, high bits, kernel addresses, fd -1) reaches the kernel unchanged;
 *   - string and struct arguments (the memfd name, struct stat, the pipe's int[2], the reopen path, the
 *     read/write buffer) live in ordinary user memory of the simulated process — the runner's own
 *     "scratch" mapping at SELF_BASE — never in the host staging window, exactly as the C oracle passes
 *     pointers into its own .bss; a second runner mapping stands for the oracle's stack (SELF_RANGES);
 *   - load/store/fork-check go through the thread's simulated MMU (Thread.read/fill) and report the first
 *     inaccessible byte as the fault address (a SignalError); fork-check forks with p.fork(), loads in the
 *     child and ends it;
 *   - fds 0, 1 and 2 are taken before the first step (a pipe and a dup of its write end, like the
 *     oracle's stdin/stdout/stderr pipes under spawnSync), so fds are numbered as on the host: the first
 *     memfd is fd 3, and `bad refused: fd N belongs to the oracle` applies to the same values;
 *   - the oracle's refusals are reproduced where they keep the two comparable: ranges that touch the
 *     runner's own memory (SELF_RANGES: the scratch low down, the "stack" above the mmap area, like the
 *     oracle's binary and stack), fds 0–2, the 256 MiB / 1 GiB allocation budgets, access
 *     lengths and bytes out of range, unsupported fcntl commands, unbound names. Their texts are the
 *     oracle's, word for word;
 *   - a read/write of a blocking pipe that must wait (the synchronous API's WouldBlockError) is reported as
 *     the oracle reports the call it interrupted after 1 s (`bad blocked: …`); the runner's thread gives
 *     up the wait by making its next call, as the oracle's interrupted call ends it.
 *
 * After every step the debug build's invariant checker runs (`k.checkInvariants()`); a violation throws
 * out of runUffdlab with the step and the results so far — it is never turned into a result line.
 */
import { Kernel, SignalError, SystemError, WouldBlockError, type Process, type Thread } from '../../host-ts/index.js';
import * as A from '../../host-ts/abi.gen.js';
import {
  describeAddress,
  describeFault,
  digestOf,
  formatStep,
  parseRef,
  parseResult,
  resolveValue,
  type MemfdName,
  type Step,
  type StepResult,
  type Value,
} from './scenario.js';

// ── limits: the oracle's (mm_oracle.c) ────────────────────────────────────────────────────────────────
const ACCESS_MAX = 64n << 20n;
const IO_MAX = 1n << 20n;
const STEP_BUDGET = 256n << 20n;
const TOTAL_BUDGET = 1n << 30n;
const PAGE = 4096n;
const U64 = (1n << 64n) - 1n;

// ── the runner's own memory in the simulated process ──────────────────────────────────────────────────
// Laid out like the oracle's own memory on the host, so that the same ranges are refused on both sides:
// an "image" low in the address space (the oracle's binary and .bss: here the scratch buffers) and a
// "stack" above the mmap area with 8 MiB of protected room below it (mm_oracle.c's STACK_MARGIN).
/** The scratch mapping (RW): where string/struct arguments and I/O buffers live. */
export const SELF_BASE = 0x555555554000n;
const NAME_AT = SELF_BASE; // memfd names: up to 4096 bytes + NUL (2 pages)
const STAT_AT = SELF_BASE + 0x2000n; // struct stat (144 bytes)
const PIPE_AT = SELF_BASE + 0x2200n; // int[2]
const PATH_AT = SELF_BASE + 0x2400n; // "/proc/self/fd/N"
const IO_AT = SELF_BASE + 0x3000n; // read/write buffer, IO_MAX bytes
/** End of the scratch mapping (exclusive). */
export const SELF_END = IO_AT + IO_MAX;
/** The "stack": a 132 KiB RW mapping ending here (above uffdlab's mmap_base, 0x7f0000000000). */
export const STACK_TOP = 0x7ffd00000000n;
const STACK_SIZE = 0x21000n;
const STACK_MARGIN = 8n << 20n;
/** The protected ranges [start, end): every step touching one is refused, as the oracle refuses. */
export const SELF_RANGES: readonly (readonly [bigint, bigint])[] = [
  [SELF_BASE, SELF_END],
  [STACK_TOP - STACK_SIZE - STACK_MARGIN, STACK_TOP],
];

/** System calls the vocabulary needs that host-ts's ABI may not name (x86-64 numbers). */
const NR = {
  read: 0, write: 1, close: 3, fstat: 5, mmap: 9, mprotect: 10, munmap: 11, pread64: 17, pwrite64: 18,
  mremap: 25, madvise: 28, dup: 32, fcntl: 72, ftruncate: 77, mlock: 149, munlock: 150, openat: 257,
  fallocate: 285, pipe2: 293, memfd_create: 319,
} as const;
const AT_FDCWD = -100;

const K_MAP_FIXED = 0x10n;
const K_MAP_ANONYMOUS = 0x20n;
const K_MAP_LOCKED = 0x2000n;
const K_MAP_POPULATE = 0x8000n;
const K_MAP_FIXED_NOREPLACE = 0x100000n;
const K_MREMAP_MAYMOVE = 0x1n;
const K_MREMAP_FIXED = 0x2n;
const K_MADV_POPULATE_READ = 22n;
const K_MADV_POPULATE_WRITE = 23n;
const K_FALLOC_FL_PUNCH_HOLE = 0x2n;
const FCNTL_CMDS = new Set([1n, 3n, 1033n, 1034n]);

// errno and si_code names exactly as mm_oracle.c spells them (first match wins: EOPNOTSUPP, not ENOTSUP)
const ERRNAMES: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 4: 'EINTR', 5: 'EIO', 6: 'ENXIO', 7: 'E2BIG', 8: 'ENOEXEC', 9: 'EBADF',
  10: 'ECHILD', 11: 'EAGAIN', 12: 'ENOMEM', 13: 'EACCES', 14: 'EFAULT', 15: 'ENOTBLK', 16: 'EBUSY', 17: 'EEXIST',
  18: 'EXDEV', 19: 'ENODEV', 20: 'ENOTDIR', 21: 'EISDIR', 22: 'EINVAL', 23: 'ENFILE', 24: 'EMFILE', 25: 'ENOTTY',
  26: 'ETXTBSY', 27: 'EFBIG', 28: 'ENOSPC', 29: 'ESPIPE', 30: 'EROFS', 31: 'EMLINK', 32: 'EPIPE', 33: 'EDOM',
  34: 'ERANGE', 35: 'EDEADLK', 36: 'ENAMETOOLONG', 37: 'ENOLCK', 38: 'ENOSYS', 39: 'ENOTEMPTY', 40: 'ELOOP',
  61: 'ENODATA', 75: 'EOVERFLOW', 77: 'EBADFD', 95: 'EOPNOTSUPP', 110: 'ETIMEDOUT', 126: 'ENOKEY', 133: 'EHWPOISON',
};
const errname = (e: number): string => ERRNAMES[e] ?? `E${e}`;

const SI_KERNEL = 0x80;
const SEGV_CODES = ['', 'SEGV_MAPERR', 'SEGV_ACCERR', 'SEGV_BNDERR', 'SEGV_PKUERR', 'SEGV_ACCADI', 'SEGV_ADIDERR',
  'SEGV_ADIPERR', 'SEGV_MTEAERR', 'SEGV_MTESERR', 'SEGV_CPERR'];
const BUS_CODES = ['', 'BUS_ADRALN', 'BUS_ADRERR', 'BUS_OBJERR', 'BUS_MCEERR_AR', 'BUS_MCEERR_AO'];
function codename(sig: number, code: number): string {
  if (sig === A.SIGSEGV && code > 0 && code < SEGV_CODES.length) return SEGV_CODES[code];
  if (sig === A.SIGBUS && code > 0 && code < BUS_CODES.length) return BUS_CODES[code];
  if (code === SI_KERNEL) return 'SI_KERNEL';
  if (code === 0) return 'SI_USER';
  if (code === -6) return 'SI_TKILL';
  return String(code);
}

/** A step that cannot produce a normal result: its `bad …` line. */
class Bad extends Error {
  constructor(readonly line: string) {
    super(line);
  }
}

export interface UffdlabRunOptions {
  /** Simulated memory for the kernel (default 64 MiB). */
  memoryBytes?: number;
  /** Called after each step with the kernel, e.g. to inspect maps; must not change anything. */
  afterStep?: (k: Kernel, p: Process, index: number, result: StepResult) => void;
}

/** Run the steps on a fresh uffdlab kernel (debug build); one result per step, in order. */
export async function runUffdlab(steps: Step[], opts: UffdlabRunOptions = {}): Promise<StepResult[]> {
  const k = await Kernel.boot({ memoryBytes: opts.memoryBytes ?? 64 << 20, build: 'debug' });
  const r = new Runner(k, k.spawn());
  const out: StepResult[] = [];
  for (let i = 0; i < steps.length; i++) {
    const line = r.run(steps[i]);
    const res = parseResult(line);
    out.push(res);
    try {
      if (!k.checkInvariants()) throw new Error('the debug build has no invariant checker');
    } catch (e) {
      const trace = steps.slice(0, i + 1).map((s, j) => `  ${formatStep(s)}  →  ${out[j].line}`).join('\n');
      throw new Error(`uffdlab: ${(e as Error).message} after step ${i} (${formatStep(steps[i])})\n${trace}`);
    }
    opts.afterStep?.(k, r.p, i, res);
  }
  return out;
}

class Runner {
  private readonly names = new Map<string, bigint>();
  private budgetUsed = 0n;
  private readonly t: Thread;

  constructor(readonly k: Kernel, readonly p: Process) {
    this.t = p.thread;
    this.setup();
  }

  /** The scratch mapping and fds 0–2, made with raw calls; any failure here is a runner bug. */
  private setup(): void {
    const must = (what: string, r: bigint): bigint => {
      if (r < 0n && r > -4096n) throw new Error(`uffdlab runner setup: ${what} failed: ${errname(Number(-r))}`);
      return r;
    };
    const len = SELF_END - SELF_BASE;
    const a = must('mmap scratch', this.sys(NR.mmap, SELF_BASE, len, 3n, 0x22n | K_MAP_FIXED_NOREPLACE, U64, 0n));
    if (a !== SELF_BASE) throw new Error(`uffdlab runner setup: scratch mapped at 0x${a.toString(16)}`);
    const st = STACK_TOP - STACK_SIZE;
    if (must('mmap stack', this.sys(NR.mmap, st, STACK_SIZE, 3n, 0x22n | K_MAP_FIXED_NOREPLACE, U64, 0n)) !== st) {
      throw new Error('uffdlab runner setup: stack not mapped where asked');
    }
    must('pipe2', this.sys(NR.pipe2, PIPE_AT, 0n));
    const fds = this.readUser(PIPE_AT, 8);
    const dv = new DataView(fds.buffer);
    if (dv.getInt32(0, true) !== 0 || dv.getInt32(4, true) !== 1) throw new Error('uffdlab runner setup: pipe is not fds 0, 1');
    if (must('dup', this.sys(NR.dup, 1n)) !== 2n) throw new Error('uffdlab runner setup: dup is not fd 2');
    this.k.checkInvariants();
  }

  private sys(nr: number, ...args: bigint[]): bigint {
    return this.t.syscall(nr, ...args);
  }

  private lookup = (name: string): bigint | undefined => this.names.get(name);

  private bind(name: string | undefined, v: bigint): void {
    if (name !== undefined) this.names.set(name, BigInt.asUintN(64, v));
  }

  /** Resolve a value the way the oracle parses it: an unbound name is `bad unbound name $X`. */
  private v(x: Value): bigint {
    if (typeof x === 'string') {
      const { name } = parseRef(x);
      if (!this.names.has(name)) throw new Bad(`bad unbound name $${name}`);
    }
    return resolveValue(x, this.lookup);
  }

  // ── the oracle's refusals ──────────────────────────────────────────────────────────────────────────
  private bytesTouchSelf(start: bigint, end: bigint): boolean {
    return SELF_RANGES.some(([s, e]) => start < e && s < end);
  }
  private callTouchesSelf(addr: bigint, len: bigint): boolean {
    if (len === 0n || (addr & (PAGE - 1n)) !== 0n) return false;
    const end = (addr + len) & U64;
    if (end < addr || ((end + PAGE - 1n) & U64) < end) return false;
    return this.bytesTouchSelf(addr, (end + PAGE - 1n) & ~(PAGE - 1n));
  }
  private refuseSelf(addr: bigint, len: bigint): void {
    if (this.callTouchesSelf(addr, len)) throw new Bad("bad refused: range touches the oracle's own memory");
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
    if (addr + len > U64) throw new Bad('bad access range wraps around');
  }

  // ── user memory of the runner (never faults: the scratch mapping is RW and refused to every step) ──
  private readUser(addr: bigint, len: number): Uint8Array {
    return this.t.read(Number(addr), len);
  }
  private writeUser(addr: bigint, bytes: Uint8Array): void {
    this.t.write(Number(addr), bytes);
  }

  // ── results ────────────────────────────────────────────────────────────────────────────────────────
  private static isErr(r: bigint): boolean {
    return r < 0n && r > -4096n;
  }
  private static status(r: bigint): string {
    if (Runner.isErr(r)) return `err ${errname(Number(-r))}`;
    return r === 0n ? 'ok' : `ok ${r}`;
  }

  /** One step → one result line. */
  run(step: Step): string {
    try {
      return this.step(step);
    } catch (e) {
      if (e instanceof Bad) return e.line;
      throw e;
    }
  }

  private step(s: Step): string {
    switch (s.op) {
      case 'mmap': {
        const addr = this.v(s.addr), len = this.v(s.len), prot = this.v(s.prot), flags = this.v(s.flags);
        const fd = this.v(s.fd), off = this.v(s.off);
        if (flags & K_MAP_FIXED && !(flags & K_MAP_FIXED_NOREPLACE)) this.refuseSelf(addr, len);
        if (!(flags & K_MAP_ANONYMOUS)) this.refuseFd(fd);
        if (flags & (K_MAP_POPULATE | K_MAP_LOCKED)) this.charge(len);
        const r = this.sys(NR.mmap, addr, len, prot, flags, fd, off);
        if (Runner.isErr(r)) return Runner.status(r);
        const line = `ok ${describeAddress(r, [s.addr], this.lookup)}`;
        this.bind(s.as, r);
        return line;
      }
      case 'munmap': {
        const addr = this.v(s.addr), len = this.v(s.len);
        this.refuseSelf(addr, len);
        return Runner.status(this.sys(NR.munmap, addr, len));
      }
      case 'mprotect': {
        const addr = this.v(s.addr), len = this.v(s.len), prot = this.v(s.prot);
        this.refuseSelf(addr, len);
        return Runner.status(this.sys(NR.mprotect, addr, len, prot));
      }
      case 'mremap': {
        const old = this.v(s.old), oldLen = this.v(s.oldLen), newLen = this.v(s.newLen), flags = this.v(s.flags);
        const newAddr = s.newAddr === undefined ? 0n : this.v(s.newAddr);
        this.refuseSelf(old, oldLen);
        if ((flags & (K_MREMAP_MAYMOVE | K_MREMAP_FIXED)) === (K_MREMAP_MAYMOVE | K_MREMAP_FIXED)) this.refuseSelf(newAddr, newLen);
        if (newLen > oldLen) this.charge(newLen - oldLen);
        const r = this.sys(NR.mremap, old, oldLen, newLen, flags, newAddr);
        if (Runner.isErr(r)) return Runner.status(r);
        const line = `ok ${describeAddress(r, [s.old, s.newAddr], this.lookup)}`;
        this.bind(s.as, r);
        return line;
      }
      case 'madvise': {
        const addr = this.v(s.addr), len = this.v(s.len), advice = this.v(s.advice);
        this.refuseSelf(addr, len);
        if (advice === K_MADV_POPULATE_READ || advice === K_MADV_POPULATE_WRITE) this.charge(len);
        return Runner.status(this.sys(NR.madvise, addr, len, advice));
      }
      case 'mlock': {
        const addr = this.v(s.addr), len = this.v(s.len);
        this.charge(len);
        return Runner.status(this.sys(NR.mlock, addr, len));
      }
      case 'munlock': {
        const addr = this.v(s.addr), len = this.v(s.len);
        return Runner.status(this.sys(NR.munlock, addr, len));
      }
      case 'memfd_create': {
        const flags = this.v(s.flags);
        const ptr = this.memfdName(s.name);
        const r = this.sys(NR.memfd_create, ptr, flags);
        if (Runner.isErr(r)) return Runner.status(r);
        this.bind(s.as, r);
        return 'ok fd';
      }
      case 'ftruncate': {
        const fd = this.v(s.fd), len = this.v(s.len);
        this.refuseFd(fd);
        return Runner.status(this.sys(NR.ftruncate, fd, len));
      }
      case 'fallocate': {
        const fd = this.v(s.fd), mode = this.v(s.mode), off = this.v(s.off), len = this.v(s.len);
        this.refuseFd(fd);
        const soff = BigInt.asIntN(64, off), slen = BigInt.asIntN(64, len);
        if (!(mode & K_FALLOC_FL_PUNCH_HOLE) && soff >= 0n && slen > 0n && off + len <= (1n << 63n) - 1n) this.charge(len);
        return Runner.status(this.sys(NR.fallocate, fd, mode, off, len));
      }
      case 'fstat': {
        const fd = this.v(s.fd);
        this.writeUser(STAT_AT, new Uint8Array(A.stat.SIZEOF));
        const r = this.sys(NR.fstat, fd, STAT_AT);
        if (Runner.isErr(r)) return Runner.status(r);
        const b = this.readUser(STAT_AT, A.stat.SIZEOF);
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        const mode = dv.getUint32(A.stat.st_mode, true);
        return `ok type=${ftype(mode)} mode=0${(mode & 0o7777).toString(8).padStart(3, '0')} ` +
          `size=${dv.getBigInt64(A.stat.st_size, true)} blocks=${dv.getBigInt64(A.stat.st_blocks, true)} ` +
          `blksize=${dv.getBigInt64(A.stat.st_blksize, true)} nlink=${dv.getBigUint64(A.stat.st_nlink, true)}`;
      }
      case 'close': {
        const fd = this.v(s.fd);
        this.refuseFd(fd);
        return Runner.status(this.sys(NR.close, fd));
      }
      case 'fcntl': {
        const fd = this.v(s.fd), cmd = this.v(s.cmd), arg = this.v(s.arg);
        if (!FCNTL_CMDS.has(cmd)) {
          return `bad fcntl cmd ${cmd} not supported (F_GETFD 1, F_GETFL 3, F_ADD_SEALS 1033, F_GET_SEALS 1034)`;
        }
        this.refuseFd(fd);
        const r = this.sys(NR.fcntl, fd, cmd, arg);
        if (Runner.isErr(r)) return Runner.status(r);
        return `ok 0x${BigInt.asUintN(64, r).toString(16)}`;
      }
      case 'pipe': {
        const r = this.sys(NR.pipe2, PIPE_AT, 0n);
        if (Runner.isErr(r)) return Runner.status(r);
        const b = this.readUser(PIPE_AT, 8);
        const dv = new DataView(b.buffer, b.byteOffset, 8);
        if (s.as) {
          this.bind(s.as[0], BigInt(dv.getInt32(0, true)));
          this.bind(s.as[1], BigInt(dv.getInt32(4, true)));
        }
        return 'ok fd fd';
      }
      case 'reopen': {
        const fd = this.v(s.fd), flags = this.v(s.flags);
        this.refuseFd(fd);
        this.writeUser(PATH_AT, cstring(`/proc/self/fd/${BigInt.asIntN(64, fd)}`));
        const r = this.sys(NR.openat, BigInt(AT_FDCWD), PATH_AT, flags, 0n);
        if (Runner.isErr(r)) return Runner.status(r);
        this.bind(s.as, r);
        return 'ok fd';
      }
      case 'write':
      case 'pwrite':
      case 'read':
      case 'pread':
        return this.io(s);
      case 'load': {
        const addr = this.v(s.addr), len = s.len === undefined ? 1n : this.v(s.len);
        this.accessArgsOk(addr, len);
        this.charge(len);
        return this.access(this.t, addr, len, s.addr, null);
      }
      case 'store': {
        const addr = this.v(s.addr), byte = this.v(s.byte), len = s.len === undefined ? 1n : this.v(s.len);
        if (byte > 255n) return 'bad byte must be 0..255';
        this.accessArgsOk(addr, len);
        this.charge(len);
        if (this.bytesTouchSelf(addr, addr + len)) return "bad refused: range touches the oracle's own memory";
        return this.access(this.t, addr, len, s.addr, Number(byte));
      }
      case 'fork-check': {
        const addr = this.v(s.addr), len = s.len === undefined ? 1n : this.v(s.len);
        this.accessArgsOk(addr, len);
        this.charge(len);
        let child: Process;
        try {
          child = this.p.fork();
        } catch (e) {
          if (e instanceof SystemError) return `bad internal: fork failed: ${e.code}`;
          throw e;
        }
        try {
          return this.access(child.thread, addr, len, s.addr, null);
        } finally {
          child.exit(0);
        }
      }
      default: {
        const never: never = s;
        return `bad unknown op '${(never as { op: string }).op}'`;
      }
    }
  }

  /** The pointer argument of memfd_create: the name written into the runner's memory, or a raw value. */
  private memfdName(n: MemfdName): bigint {
    if (typeof n === 'string') {
      this.writeUser(NAME_AT, cstring(n));
      return NAME_AT;
    }
    if ('repeat' in n) {
      const b = new Uint8Array(n.repeat + 1).fill(0x61);
      b[n.repeat] = 0;
      this.writeUser(NAME_AT, b);
      return NAME_AT;
    }
    return this.v(n.ptr);
  }

  private io(s: Extract<Step, { op: 'write' | 'pwrite' | 'read' | 'pread' }>): string {
    const isWrite = s.op === 'write' || s.op === 'pwrite';
    const hasOff = s.op === 'pwrite' || s.op === 'pread';
    const fd = this.v(s.fd), len = this.v(s.len);
    const off = s.op === 'pwrite' || s.op === 'pread' ? this.v(s.off) : 0n;
    const byte = s.op === 'write' || s.op === 'pwrite' ? this.v(s.byte) : 0n;
    this.refuseFd(fd);
    if (len > IO_MAX) return `bad io length must be at most ${IO_MAX}`;
    if (isWrite) {
      if (byte > 255n) return 'bad byte must be 0..255';
      this.charge(len);
      if (len > 0n) this.t.fill(Number(IO_AT), Number(byte), Number(len));
    }
    const nr = isWrite ? (hasOff ? NR.pwrite64 : NR.write) : hasOff ? NR.pread64 : NR.read;
    let r: bigint;
    try {
      r = hasOff ? this.sys(nr, fd, IO_AT, len, off) : this.sys(nr, fd, IO_AT, len);
    } catch (e) {
      // a blocking pipe with nothing to read (or no room): the oracle interrupts the call after 1 s
      if (e instanceof WouldBlockError) return 'bad blocked: call did not complete within 1 s';
      throw e;
    }
    if (Runner.isErr(r)) return Runner.status(r);
    let line = `ok ${r}`;
    if (!isWrite && r > 0n) line += ` ${digestOf(this.readUser(IO_AT, Number(r)))}`;
    return line;
  }

  /**
   * load (byte === null) or store of [addr, addr + len) by thread `t`, in ascending order; the result
   * line. A fault reports the first inaccessible byte (accessibility is per page, and the simulated MMU
   * copies page by page, stopping at the first page that faults after finishing the ones before it).
   */
  private access(t: Thread, addr: bigint, len: bigint, written: Value, byte: number | null): string {
    const a = Number(addr);
    if (BigInt(a) !== addr) throw new Bad(`bad unsupported: access address 0x${addr.toString(16)} is not exact in a double`);
    try {
      if (byte === null) {
        const bytes = t.read(a, Number(len));
        return `ok ${digestOf(bytes)}`;
      }
      t.fill(a, byte, Number(len));
      return 'ok';
    } catch (e) {
      if (!(e instanceof SignalError)) throw new Bad(`bad internal: ${(e as Error).name}: ${(e as Error).message}`);
      const at = e.si_code === SI_KERNEL ? 'at=?' : describeFault(BigInt(e.addr), written, this.lookup);
      return `sig ${e.signo === A.SIGSEGV ? 'SIGSEGV' : e.signo === A.SIGBUS ? 'SIGBUS' : 'SIG?'} ${codename(e.signo, e.si_code)} ${at}`;
    }
  }
}

function cstring(s: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  const z = new Uint8Array(b.length + 1);
  z.set(b);
  return z;
}

function ftype(mode: number): string {
  switch (mode & 0o170000) {
    case 0o100000: return 'reg';
    case 0o040000: return 'dir';
    case 0o010000: return 'fifo';
    case 0o020000: return 'chr';
    case 0o060000: return 'blk';
    case 0o120000: return 'lnk';
    case 0o140000: return 'sock';
    default: return 'unknown';
  }
}
