// An strace-like line per system call: `[pid 1/1] mmap(0, 4096, PROT_READ|PROT_WRITE,
// MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7effff000`, errors as `= -1 EINVAL`.
import * as A from "../abi.gen.js";
import { errnoName } from "../errors.js";
import type { Num } from "../thread.js";

/** Where `Kernel.boot({ trace })` sends each strace-like line (without a newline); `true` means console.log. */
export type TraceSink = (line: string) => void;

type ArgKind = "hex" | "dec" | "fd" | "prot" | "map" | "madv" | "mremap" | "ptr" | "mfd" | "fcntl" | "falloc";

const SIG: Record<number, [string, ArgKind[]]> = {
  [A.__NR_read]: ["read", ["fd", "ptr", "dec"]],
  [A.__NR_write]: ["write", ["fd", "ptr", "dec"]],
  [A.__NR_lseek]: ["lseek", ["fd", "dec", "dec"]],
  [A.__NR_open]: ["open", ["ptr", "hex", "hex"]],
  [A.__NR_openat]: ["openat", ["fd", "ptr", "hex", "hex"]],
  [A.__NR_close]: ["close", ["fd"]],
  [A.__NR_fstat]: ["fstat", ["fd", "ptr"]],
  [A.__NR_mmap]: ["mmap", ["hex", "dec", "prot", "map", "fd", "hex"]],
  [A.__NR_mprotect]: ["mprotect", ["hex", "dec", "prot"]],
  [A.__NR_munmap]: ["munmap", ["hex", "dec"]],
  [A.__NR_pread64]: ["pread64", ["fd", "ptr", "dec", "dec"]],
  [A.__NR_pwrite64]: ["pwrite64", ["fd", "ptr", "dec", "dec"]],
  [A.__NR_pipe2]: ["pipe2", ["ptr", "hex"]],
  [A.__NR_mremap]: ["mremap", ["hex", "dec", "dec", "mremap", "hex"]],
  [A.__NR_madvise]: ["madvise", ["hex", "dec", "madv"]],
  [A.__NR_dup]: ["dup", ["fd"]],
  [A.__NR_ioctl]: ["ioctl", ["fd", "hex", "ptr"]],
  [A.__NR_poll]: ["poll", ["ptr", "dec", "dec"]],
  [A.__NR_userfaultfd]: ["userfaultfd", ["hex"]],
  [A.__NR_mlock]: ["mlock", ["hex", "dec"]],
  [A.__NR_munlock]: ["munlock", ["hex", "dec"]],
  [A.__NR_mlock2]: ["mlock2", ["hex", "dec", "hex"]],
  [A.__NR_mlockall]: ["mlockall", ["hex"]],
  [A.__NR_munlockall]: ["munlockall", []],
  [A.__NR_fork]: ["fork", []],
  [A.__NR_fcntl]: ["fcntl", ["fd", "fcntl", "hex"]],
  [A.__NR_ftruncate]: ["ftruncate", ["fd", "dec"]],
  [A.__NR_fallocate]: ["fallocate", ["fd", "falloc", "dec", "dec"]],
  [A.__NR_memfd_create]: ["memfd_create", ["ptr", "mfd"]],
  [A.__NR_exit_group]: ["exit_group", ["dec"]],
  [A.__NR_exit]: ["exit", ["dec"]],
};

function bits(v: bigint, table: [string, number][], zero: string): string {
  const names: string[] = [];
  let rest = v;
  for (const [n, b] of table) {
    if (b !== 0 && (rest & BigInt(b)) === BigInt(b)) {
      names.push(n);
      rest &= ~BigInt(b);
    }
  }
  if (rest) names.push(`0x${rest.toString(16)}`);
  return names.length ? names.join("|") : zero;
}

const PROT: [string, number][] = [["PROT_READ", A.PROT_READ], ["PROT_WRITE", A.PROT_WRITE], ["PROT_EXEC", A.PROT_EXEC], ["PROT_SEM", A.PROT_SEM], ["PROT_GROWSDOWN", A.PROT_GROWSDOWN], ["PROT_GROWSUP", A.PROT_GROWSUP]];
const MAPF: [string, number][] = [["MAP_FIXED", A.MAP_FIXED], ["MAP_ANONYMOUS", A.MAP_ANONYMOUS], ["MAP_GROWSDOWN", A.MAP_GROWSDOWN], ["MAP_LOCKED", A.MAP_LOCKED], ["MAP_NORESERVE", A.MAP_NORESERVE], ["MAP_POPULATE", A.MAP_POPULATE], ["MAP_NONBLOCK", A.MAP_NONBLOCK], ["MAP_STACK", A.MAP_STACK], ["MAP_HUGETLB", A.MAP_HUGETLB], ["MAP_SYNC", A.MAP_SYNC], ["MAP_FIXED_NOREPLACE", A.MAP_FIXED_NOREPLACE]];
const MAPTYPE: Record<number, string> = { 1: "MAP_SHARED", 2: "MAP_PRIVATE", 3: "MAP_SHARED_VALIDATE", 8: "MAP_DROPPABLE" };
const MREMAP: [string, number][] = [["MREMAP_MAYMOVE", A.MREMAP_MAYMOVE], ["MREMAP_FIXED", A.MREMAP_FIXED], ["MREMAP_DONTUNMAP", A.MREMAP_DONTUNMAP]];
const MFD: [string, number][] = [["MFD_CLOEXEC", A.MFD_CLOEXEC], ["MFD_ALLOW_SEALING", A.MFD_ALLOW_SEALING], ["MFD_HUGETLB", A.MFD_HUGETLB], ["MFD_NOEXEC_SEAL", A.MFD_NOEXEC_SEAL], ["MFD_EXEC", A.MFD_EXEC]];
const FALLOC: [string, number][] = [["FALLOC_FL_KEEP_SIZE", A.FALLOC_FL_KEEP_SIZE], ["FALLOC_FL_PUNCH_HOLE", A.FALLOC_FL_PUNCH_HOLE], ["FALLOC_FL_COLLAPSE_RANGE", A.FALLOC_FL_COLLAPSE_RANGE], ["FALLOC_FL_ZERO_RANGE", A.FALLOC_FL_ZERO_RANGE], ["FALLOC_FL_INSERT_RANGE", A.FALLOC_FL_INSERT_RANGE]];

const MADV = new Map<number, string>();
const FCNTL = new Map<number, string>();
for (const [k, v] of Object.entries(A)) {
  if (typeof v !== "number") continue;
  if (k.startsWith("MADV_")) MADV.set(v, k);
  if (k.startsWith("F_") && !k.startsWith("F_SEAL") && !k.startsWith("FALLOC")) FCNTL.set(v, k);
}

function arg(kind: ArgKind, v: Num): string {
  const b = typeof v === "bigint" ? v : BigInt(v);
  const u = BigInt.asUintN(64, b);
  const i = BigInt.asIntN(64, b);
  switch (kind) {
    case "dec": return i.toString();
    case "fd": return BigInt.asIntN(32, b).toString();
    case "hex": case "ptr": return u === A.HOST_STAGING_BASE ? "<staged>" : `0x${u.toString(16)}`;
    case "prot": return bits(u, PROT, "PROT_NONE");
    case "map": {
      const type = Number(u & 0xfn);
      return [MAPTYPE[type] ?? `0x${type.toString(16)}`, bits(u & ~0xfn, MAPF, "")].filter(Boolean).join("|");
    }
    case "madv": return MADV.get(Number(i)) ?? i.toString();
    case "fcntl": return FCNTL.get(Number(i)) ?? i.toString();
    case "mremap": return bits(u, MREMAP, "0");
    case "mfd": return bits(u, MFD, "0");
    case "falloc": return bits(u, FALLOC, "0");
  }
}

/** Linux's name of system call `nr` ("getpid"), or "syscall_<nr>" for a number it does not have. */
export function syscallName(nr: number): string {
  if (!NR_NAMES) {
    NR_NAMES = new Map();
    for (const [k, v] of Object.entries(A)) if (k.startsWith("__NR_") && typeof v === "number") NR_NAMES.set(v, k.slice(5));
  }
  return NR_NAMES.get(nr) ?? `syscall_${nr}`;
}
let NR_NAMES: Map<number, string> | null = null;

/**
 * One strace-like line: `[pid P/T] name(args…) = result`, the arguments decoded by kind (fds,
 * PROT_*, MAP_*, MADV_*, … flag names) and errors as `= -1 ENAME`.
 * @param pid - the process id
 * @param tid - the thread id
 * @param nr - the system-call number (abi.__NR_*); unknown ones print as `syscall_N`
 * @param args - the arguments as passed
 * @param ret - the return value (a negative errno for an error)
 */
export function formatSyscall(pid: number, tid: number, nr: number, args: Num[], ret: bigint): string {
  const [name, kinds] = SIG[nr] ?? [`syscall_${nr}`, args.map(() => "hex" as ArgKind)];
  const shown = kinds.map((k, i) => arg(k, args[i] ?? 0)).join(", ");
  const res = ret < 0n && ret > -4096n ? `-1 ${errnoName(Number(-ret))}` : nr === A.__NR_mmap || nr === A.__NR_mremap ? `0x${ret.toString(16)}` : ret.toString();
  return `[pid ${pid}/${tid}] ${name}(${shown}) = ${res}`;
}
