/**
 * Scenario vocabulary shared by every runner of mm scenarios.
 *
 * A scenario is a `Step[]`. Each step is one memory-management action (a system call, or a memory access
 * made by the program itself), and running it yields exactly one `StepResult`. Two runners exist or are
 * planned (the uffdlab one is host-ts/conform/uffdlab.ts, adapted by tests/helpers/uffdlab-runner.ts):
 *   - the native oracle (tests/helpers/native-oracle.ts → tests/oracle/oracle.c) runs the steps on the
 *     host Linux kernel (Linux 6.18 x86-64, the reference);
 *   - the uffdlab runner runs the same steps on the mini-kernel.
 * Both must print the same normalised result line for the same behaviour, so a scenario can be run on
 * both and the lines compared one for one. This file owns the two text formats (steps → lines, lines →
 * results) and the normalisation rules; the C program implements the same grammar.
 *
 * ## Values
 *
 * Every numeric argument is a `Value`:
 *   - an integer (`number` or `bigint`): anything from -2^63 to 2^64-1. Negative values are passed as
 *     their two's complement in 64 bits (so `-1` and `0xffffffffffffffffn` are the same argument);
 *   - a reference `'$NAME'`, `'$NAME+OFF'` or `'$NAME-OFF'` (OFF decimal or 0x-hex) to an address or fd
 *     bound by an earlier step's `as`. Arithmetic wraps modulo 2^64. Using an unbound name is a scenario
 *     error (`bad unbound name $NAME`). NAME matches `[A-Za-z_][A-Za-z0-9_]{0,31}`; binding a name again
 *     replaces it. A failing step binds nothing.
 *
 * ## Line format of a step (what `formatStep` produces; whitespace-separated tokens)
 *
 *   mmap addr len prot flags fd off [as NAME]         → ok ADDR                (binds the address)
 *   munmap addr len                                   → ok
 *   mprotect addr len prot                            → ok
 *   mremap old oldlen newlen flags [newaddr] [as NAME] → ok ADDR
 *   madvise addr len advice                           → ok
 *   mlock addr len / munlock addr len                 → ok
 *   memfd_create MNAME flags [as NAME]                → ok fd                  (binds the fd)
 *       MNAME: "text" (a literal name, no whitespace) | *N (N 'a' characters, N ≤ 4096)
 *              | NULL (a NULL name pointer) | @value (this raw pointer, e.g. @$A for unmapped memory)
 *   ftruncate fd len                                  → ok
 *   fallocate fd mode off len                         → ok
 *   fstat fd                                          → ok type=reg mode=0777 size=N blocks=N blksize=N nlink=N
 *   close fd                                          → ok
 *   fcntl fd cmd arg    (cmd ∈ F_GETFD, F_GETFL, F_ADD_SEALS, F_GET_SEALS) → ok 0xHEX (the return value)
 *   pipe [as R W]                                     → ok fd fd               (binds read end, write end)
 *   reopen fd flags [as NAME]   (openat("/proc/self/fd/<fd>", flags): a second open file of the same
 *                                file with other access flags, e.g. O.RDONLY)   → ok fd
 *   write fd len byte / pwrite fd len off byte        → ok COUNT   (len ≤ 1 MiB bytes of value `byte`)
 *   read fd len / pread fd len off                    → ok COUNT [digest=… first=… nonzero=…] (if COUNT > 0)
 *   load addr [len=1]                                 → ok digest=HEX16 first=0xHH nonzero=N
 *   store addr byte [len=1]                           → ok
 *   fork-check addr [len=1]   (fork; the child loads and reports; the parent waits) → like load
 *
 * Blank lines and lines starting with `#` are not steps (they produce no result line); `formatStep`
 * never produces them.
 *
 * ## Result lines (what `parseResult` accepts)
 *
 *   result := "ok" {SP word} | "err" SP ERRNO | "sig" SP SIGNAL SP CODE SP "at=" ADDR | "bad" SP reason
 *   word   := token | key "=" value
 *
 *   - ERRNO is the errno name (EINVAL, ENOMEM, …; `E<n>` for a number without a name). EOPNOTSUPP is
 *     spelled EOPNOTSUPP (Linux's ENOTSUP is the same number).
 *   - SIGNAL is SIGSEGV or SIGBUS; CODE is the si_code name (SEGV_MAPERR, SEGV_ACCERR, BUS_ADRERR, …,
 *     SI_KERNEL for a non-canonical address; a number if it has no name).
 *   - Numbers in results are decimal, except fcntl results (hex, they are flag sets), `mode` (octal
 *     permission bits; the file type is in `type`) and digests (16 hex digits).
 *
 * ## Normalisation: nothing that depends on where the kernel put things is printed
 *
 *   - ADDR of mmap/mremap (`describeAddress`): if the returned address equals an address argument of the
 *     same step (mmap: addr; mremap: old, then newaddr) it is printed as that argument was written —
 *     `$A`, `$A+0x1000`, `$A-0x1000` (canonical: hex offset, omitted when 0), or `0x…` if the scenario
 *     gave an absolute number. Otherwise the word `addr` (the kernel chose a new place).
 *   - The fault address of a `sig` line (`describeFault`) is written relative to the name that the access
 *     address was based on (`at=$M+0x1000`), or absolute (`at=0x…`) if the access address was a number.
 *     With CODE SI_KERNEL (a non-canonical address: the kernel reports no fault address) it is `at=?`.
 *   - fds are printed as the word `fd`, never as numbers.
 *   - Memory contents are a digest (`digestOf`): FNV-1a 64 over the bytes, the first byte, and the count
 *     of non-zero bytes.
 *
 * ## Access semantics
 *
 * load/store/fork-check touch the bytes one at a time in ascending address order. A store that faults
 * has written every byte before the fault address; the fault address is the first inaccessible byte.
 * Length 1..64 MiB; a range that wraps past 2^64 is a scenario error.
 *
 * ## Scenario errors and refusals (`bad …`)
 *
 * Unknown op, wrong argument count, malformed value, unbound name, over-long line (> 4096 bytes) or more
 * than 16 tokens give `bad <reason>` and the scenario continues. The native oracle also refuses (with
 * `bad refused: …`) steps that would damage itself — unmapping/remapping/reprotecting/advising/storing
 * into its own memory, using fds 0–2 — or ask the kernel for more than 256 MiB in one step / 1 GiB in
 * all (fallocate, populate, mlock, stores, writes); and it interrupts a read/write/fork-check that
 * blocks for more than 1 s (`bad blocked: …`). A scenario meant for comparison has no `bad` lines.
 */
// The digest of a load/read result is the runner's own (host-ts/conform/format.ts), so the
// tests and `uffdlab conform` cannot drift apart.
import { fnv1a64, digestOf } from '../../host-ts/conform/format.js';

// ─────────────────────────────────────────────────────────────────────────────────────────────────────
// Values
// ─────────────────────────────────────────────────────────────────────────────────────────────────────

/** A reference to a bound name, optionally with a byte offset: `'$A'`, `'$A+0x1000'`, `'$F'`. */
export type Ref = `$${string}`;

/** A step argument: an integer in [-2^63, 2^64-1], or a reference. */
export type Value = number | bigint | Ref;

/** How memfd_create's name argument is given. */
export type MemfdName =
  | string // a literal name (no whitespace); '' is the empty name
  | { repeat: number } // `repeat` 'a' characters (0..4096)
  | { ptr: Value }; // this raw pointer as the name argument; { ptr: 0 } is a NULL name

/** A NULL name pointer for memfd_create (→ EFAULT). */
export const NULL_NAME: MemfdName = { ptr: 0 };

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/;
const REF_RE = /^\$([A-Za-z_][A-Za-z0-9_]{0,31})(?:([+-])(0[xX][0-9a-fA-F]+|[0-9]+))?$/;
const U64 = (1n << 64n) - 1n;

/** Split a reference into its name and its (signed) offset. Throws on a malformed reference. */
export function parseRef(ref: string): { name: string; off: bigint } {
  const m = REF_RE.exec(ref);
  if (!m) throw new Error(`malformed reference '${ref}' (want $NAME, $NAME+OFF or $NAME-OFF)`);
  const mag = m[3] === undefined ? 0n : BigInt(m[3]);
  if (mag > U64) throw new Error(`offset in '${ref}' does not fit in 64 bits`);
  return { name: m[1], off: m[2] === '-' ? -mag : mag };
}

/**
 * The 64-bit value of an argument, as the kernel receives it (two's complement, wrapped modulo 2^64).
 * `lookup` gives the value bound to a name (undefined if unbound, which throws).
 */
export function resolveValue(v: Value, lookup: (name: string) => bigint | undefined): bigint {
  if (typeof v === 'string') {
    const { name, off } = parseRef(v);
    const base = lookup(name);
    if (base === undefined) throw new Error(`unbound name $${name}`);
    return BigInt.asUintN(64, base + off);
  }
  return BigInt.asUintN(64, checkInteger(v));
}

function checkInteger(v: number | bigint): bigint {
  if (typeof v === 'number' && !Number.isSafeInteger(v)) {
    throw new Error(`value ${v} is not a safe integer; use a bigint`);
  }
  const b = BigInt(v);
  if (b < -(1n << 63n) || b > U64) throw new Error(`value ${b} is outside [-2^63, 2^64-1]`);
  return b;
}

/** A value as a token: references as written, integers in decimal (hex from 0x10000 up). */
export function formatValue(v: Value): string {
  if (typeof v === 'string') {
    parseRef(v);
    return v;
  }
  const b = checkInteger(v);
  return b >= 0x10000n ? `0x${b.toString(16)}` : b.toString(10);
}

function formatName(name: string): string {
  if (!NAME_RE.test(name)) throw new Error(`invalid binding name '${name}'`);
  return name;
}

function formatMemfdName(n: MemfdName): string {
  if (typeof n === 'string') {
    if (/[\s\0]/.test(n)) throw new Error(`memfd name '${n}' may not contain whitespace or NUL`);
    return `"${n}"`;
  }
  if ('repeat' in n) {
    if (!Number.isInteger(n.repeat) || n.repeat < 0 || n.repeat > 4096) {
      throw new Error(`memfd name repeat ${n.repeat} is outside 0..4096`);
    }
    return `*${n.repeat}`;
  }
  return `@${formatValue(n.ptr)}`;
}

// ─────────────────────────────────────────────────────────────────────────────────────────────────────
// Steps
// ─────────────────────────────────────────────────────────────────────────────────────────────────────

/** One scenario step. Field names follow the system call's parameters. */
export type Step =
  | { op: 'mmap'; addr: Value; len: Value; prot: Value; flags: Value; fd: Value; off: Value; as?: string }
  | { op: 'munmap'; addr: Value; len: Value }
  | { op: 'mprotect'; addr: Value; len: Value; prot: Value }
  | { op: 'mremap'; old: Value; oldLen: Value; newLen: Value; flags: Value; newAddr?: Value; as?: string }
  | { op: 'madvise'; addr: Value; len: Value; advice: Value }
  | { op: 'mlock'; addr: Value; len: Value }
  | { op: 'munlock'; addr: Value; len: Value }
  | { op: 'memfd_create'; name: MemfdName; flags: Value; as?: string }
  | { op: 'ftruncate'; fd: Value; len: Value }
  | { op: 'fallocate'; fd: Value; mode: Value; off: Value; len: Value }
  | { op: 'fstat'; fd: Value }
  | { op: 'close'; fd: Value }
  | { op: 'fcntl'; fd: Value; cmd: Value; arg: Value }
  | { op: 'pipe'; as?: [read: string, write: string] }
  | { op: 'reopen'; fd: Value; flags: Value; as?: string }
  | { op: 'write'; fd: Value; len: Value; byte: Value }
  | { op: 'pwrite'; fd: Value; len: Value; off: Value; byte: Value }
  | { op: 'read'; fd: Value; len: Value }
  | { op: 'pread'; fd: Value; len: Value; off: Value }
  | { op: 'load'; addr: Value; len?: Value }
  | { op: 'store'; addr: Value; byte: Value; len?: Value }
  | { op: 'fork-check'; addr: Value; len?: Value };

export type Op = Step['op'];

/** Serialise one step to its line (without the newline). Throws on a malformed step. */
export function formatStep(step: Step): string {
  const v = formatValue;
  const as = (name: string | undefined) => (name === undefined ? [] : ['as', formatName(name)]);
  const opt = (x: Value | undefined) => (x === undefined ? [] : [v(x)]);
  let t: string[];
  switch (step.op) {
    case 'mmap':
      t = [v(step.addr), v(step.len), v(step.prot), v(step.flags), v(step.fd), v(step.off), ...as(step.as)];
      break;
    case 'munmap':
    case 'mlock':
    case 'munlock':
      t = [v(step.addr), v(step.len)];
      break;
    case 'mprotect':
      t = [v(step.addr), v(step.len), v(step.prot)];
      break;
    case 'mremap':
      t = [v(step.old), v(step.oldLen), v(step.newLen), v(step.flags), ...opt(step.newAddr), ...as(step.as)];
      break;
    case 'madvise':
      t = [v(step.addr), v(step.len), v(step.advice)];
      break;
    case 'memfd_create':
      t = [formatMemfdName(step.name), v(step.flags), ...as(step.as)];
      break;
    case 'ftruncate':
      t = [v(step.fd), v(step.len)];
      break;
    case 'fallocate':
      t = [v(step.fd), v(step.mode), v(step.off), v(step.len)];
      break;
    case 'fstat':
    case 'close':
      t = [v(step.fd)];
      break;
    case 'fcntl':
      t = [v(step.fd), v(step.cmd), v(step.arg)];
      break;
    case 'pipe':
      t = step.as === undefined ? [] : ['as', formatName(step.as[0]), formatName(step.as[1])];
      break;
    case 'reopen':
      t = [v(step.fd), v(step.flags), ...as(step.as)];
      break;
    case 'write':
      t = [v(step.fd), v(step.len), v(step.byte)];
      break;
    case 'pwrite':
      t = [v(step.fd), v(step.len), v(step.off), v(step.byte)];
      break;
    case 'read':
      t = [v(step.fd), v(step.len)];
      break;
    case 'pread':
      t = [v(step.fd), v(step.len), v(step.off)];
      break;
    case 'load':
    case 'fork-check':
      t = [v(step.addr), ...opt(step.len)];
      break;
    case 'store':
      // store addr byte [len]: len comes last, so a default len needs no placeholder
      t = [v(step.addr), v(step.byte), ...opt(step.len)];
      break;
    default: {
      const never: never = step;
      throw new Error(`unknown step ${JSON.stringify(never)}`);
    }
  }
  return [step.op, ...t].join(' ');
}

// ─────────────────────────────────────────────────────────────────────────────────────────────────────
// Results
// ─────────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * The parsed form of one result line. `line` is the canonical text: compare runners by `line`.
 *   ok:  `words` are the bare tokens after "ok" (e.g. ['$A+0x1000'], ['addr'], ['fd'], ['4096'], ['0x1']);
 *        `fields` are the key=value tokens (digest/first/nonzero, or type/mode/size/blocks/blksize/nlink).
 *   err: `errno` is the errno name.
 *   sig: `signal` (SIGSEGV | SIGBUS), `code` (si_code name), `at` (normalised fault address).
 *   bad: `reason` is free text: the step was not run as intended (see the header).
 */
export type StepResult =
  | { kind: 'ok'; line: string; words: string[]; fields: Record<string, string> }
  | { kind: 'err'; line: string; errno: string }
  | { kind: 'sig'; line: string; signal: string; code: string; at: string }
  | { kind: 'blocked'; line: string }
  | { kind: 'bad'; line: string; reason: string };

/** Parse one result line. Throws if the line does not follow the result grammar. */
export function parseResult(line: string): StepResult {
  const tokens = line.split(' ');
  const fail = (why: string): never => {
    throw new Error(`malformed result line '${line}': ${why}`);
  };
  if (tokens.some((t) => t === '')) fail('empty token');
  switch (tokens[0]) {
    case 'ok': {
      const words: string[] = [];
      const fields: Record<string, string> = {};
      for (const t of tokens.slice(1)) {
        const eq = t.indexOf('=');
        if (eq < 0) words.push(t);
        else if (eq === 0) fail(`field without a key in '${t}'`);
        else fields[t.slice(0, eq)] = t.slice(eq + 1);
      }
      return { kind: 'ok', line, words, fields };
    }
    case 'err':
      if (tokens.length !== 2 || !/^E[A-Z0-9]+$/.test(tokens[1])) fail('want "err ERRNO"');
      return { kind: 'err', line, errno: tokens[1] };
    case 'sig':
      if (tokens.length !== 4 || !tokens[3].startsWith('at=')) fail('want "sig SIGNAL CODE at=ADDR"');
      return { kind: 'sig', line, signal: tokens[1], code: tokens[2], at: tokens[3].slice(3) };
    case 'blocked':
      if (tokens.length !== 1) fail('want "blocked"');
      return { kind: 'blocked', line };
    case 'bad':
      if (tokens.length < 2) fail('bad without a reason');
      return { kind: 'bad', line, reason: tokens.slice(1).join(' ') };
    default:
      return fail('unknown result kind');
  }
}

// ─────────────────────────────────────────────────────────────────────────────────────────────────────
// Normalisation helpers (the oracle's C code does the same; a simulator runner should use these)
// ─────────────────────────────────────────────────────────────────────────────────────────────────────

/** `$NAME`, `$NAME+0xD` or `$NAME-0xD` for addr, given the name's value. */
export function formatRelative(name: string, base: bigint, addr: bigint): string {
  const d = BigInt.asIntN(64, BigInt.asUintN(64, addr - base));
  if (d === 0n) return `$${name}`;
  return d > 0n ? `$${name}+0x${d.toString(16)}` : `$${name}-0x${(-d).toString(16)}`;
}

function describeAs(written: Value, addr: bigint, lookup: (name: string) => bigint | undefined): string {
  if (typeof written === 'string') {
    const { name } = parseRef(written);
    const base = lookup(name);
    if (base === undefined) throw new Error(`unbound name $${name}`);
    return formatRelative(name, base, addr);
  }
  return `0x${BigInt.asUintN(64, addr).toString(16)}`;
}

/**
 * The ADDR word of an mmap/mremap result: the first candidate argument (mmap: [addr]; mremap:
 * [old, newAddr]) whose value equals `result`, written like that argument; otherwise 'addr'.
 * Call it before binding the step's own `as` name.
 */
export function describeAddress(
  result: bigint,
  candidates: (Value | undefined)[],
  lookup: (name: string) => bigint | undefined,
): string {
  for (const c of candidates) {
    if (c !== undefined && resolveValue(c, lookup) === BigInt.asUintN(64, result)) {
      return describeAs(c, result, lookup);
    }
  }
  return 'addr';
}

/**
 * The `at=` part of a sig line: the fault address relative to the access argument's name. Pass
 * `undefined` for a fault without an address (si_code SI_KERNEL) to get `at=?`.
 */
export function describeFault(
  fault: bigint | undefined,
  accessAddr: Value,
  lookup: (name: string) => bigint | undefined,
): string {
  return fault === undefined ? 'at=?' : `at=${describeAs(accessAddr, fault, lookup)}`;
}

export { fnv1a64, digestOf };

/** `len` bytes of value `byte` (what `store addr byte len` writes). */
export function filled(byte: number, len: number): Uint8Array {
  return new Uint8Array(len).fill(byte);
}

/** The result line of a load (or fork-check) that reads exactly these bytes. */
export function loadOk(bytes: Uint8Array): string {
  return `ok ${digestOf(bytes)}`;
}

// ─────────────────────────────────────────────────────────────────────────────────────────────────────
// Constants (Linux x86-64 values, from the kernel's uapi headers)
// ─────────────────────────────────────────────────────────────────────────────────────────────────────

export const PAGE = 4096;

export const PROT = { NONE: 0, READ: 0x1, WRITE: 0x2, EXEC: 0x4, RW: 0x3, GROWSDOWN: 0x01000000 } as const;

export const MAP = {
  SHARED: 0x1,
  PRIVATE: 0x2,
  SHARED_VALIDATE: 0x3,
  DROPPABLE: 0x8,
  FIXED: 0x10,
  ANONYMOUS: 0x20,
  GROWSDOWN: 0x100,
  LOCKED: 0x2000,
  NORESERVE: 0x4000,
  POPULATE: 0x8000,
  HUGETLB: 0x40000,
  SYNC: 0x80000,
  FIXED_NOREPLACE: 0x100000,
} as const;

export const MREMAP = { MAYMOVE: 0x1, FIXED: 0x2, DONTUNMAP: 0x4 } as const;

export const MADV = {
  NORMAL: 0,
  RANDOM: 1,
  SEQUENTIAL: 2,
  WILLNEED: 3,
  DONTNEED: 4,
  FREE: 8,
  REMOVE: 9,
  DONTFORK: 10,
  DOFORK: 11,
  MERGEABLE: 12,
  UNMERGEABLE: 13,
  HUGEPAGE: 14,
  NOHUGEPAGE: 15,
  DONTDUMP: 16,
  DODUMP: 17,
  WIPEONFORK: 18,
  KEEPONFORK: 19,
  COLD: 20,
  PAGEOUT: 21,
  POPULATE_READ: 22,
  POPULATE_WRITE: 23,
  COLLAPSE: 25,
} as const;

export const MFD = { CLOEXEC: 0x1, ALLOW_SEALING: 0x2, HUGETLB: 0x4, NOEXEC_SEAL: 0x8, EXEC: 0x10 } as const;

/** fcntl commands the vocabulary supports. */
export const F = { GETFD: 1, GETFL: 3, ADD_SEALS: 1033, GET_SEALS: 1034 } as const;

export const SEAL = { SEAL: 0x1, SHRINK: 0x2, GROW: 0x4, WRITE: 0x8, FUTURE_WRITE: 0x10, EXEC: 0x20 } as const;

export const FALLOC = { KEEP_SIZE: 0x1, PUNCH_HOLE: 0x2, COLLAPSE_RANGE: 0x8, ZERO_RANGE: 0x10, INSERT_RANGE: 0x20 } as const;

/** open(2) flags for `reopen` (x86-64). O_LARGEFILE is what F_GETFL reports for a memfd. */
export const O = { RDONLY: 0, WRONLY: 1, RDWR: 2, LARGEFILE: 0x8000, CLOEXEC: 0x80000 } as const;

/** Private anonymous memory: MAP_PRIVATE | MAP_ANONYMOUS. */
export const ANON_PRIVATE = MAP.PRIVATE | MAP.ANONYMOUS;
/** Shared anonymous memory (shmem): MAP_SHARED | MAP_ANONYMOUS. */
export const ANON_SHARED = MAP.SHARED | MAP.ANONYMOUS;
