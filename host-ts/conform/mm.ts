/**
 * The mm verbs (docs/scenarios.md, "Memory management" and "Memory accesses"): each a raw system
 * call, or an access through the simulated MMU, with the oracle's refusals and budget.
 */
import { SignalError, WouldBlockError } from "../errors.js";
import type { Thread } from "../thread.js";
import * as A from "../abi.gen.js";
import { clean, codename, digestOf, SI_KERNEL } from "./format.js";
import { AT_FDCWD, Bad, FCNTL_CMDS, K_FALLOC_FL_PUNCH_HOLE, K_MADV_POPULATE_READ, K_MADV_POPULATE_WRITE, K_MAP_ANONYMOUS, K_MAP_FIXED, K_MAP_FIXED_NOREPLACE, K_MAP_LOCKED, K_MAP_POPULATE, K_MREMAP_FIXED, K_MREMAP_MAYMOVE, MAX_MEMFD_NAME, NAME_AT, NR, PAGE, PATH_AT, Runner, STAT_AT, U64, cstring, isErr, parseUint, status } from "./runner.js";
import type { Arg, ArgsHandler, MmStep } from "./runner.js";

const { MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT } = A;

function op_mmap(u: Runner, s: MmStep) {
  const { a, x, names } = s;
  const [addr, len, prot, flags, fd, off] = x;
  if (flags & K_MAP_FIXED && !(flags & K_MAP_FIXED_NOREPLACE)) u.refuseSelf(addr, len);
  if (!(flags & K_MAP_ANONYMOUS)) u.refuseFd(fd);
  if (flags & (K_MAP_POPULATE | K_MAP_LOCKED) || u.mclFuturePopulates) u.charge(len);
  const r = u.sys(NR.mmap, addr, len, prot, flags, fd, off);
  if (isErr(r)) return status(r);
  const out = `ok ${u.addrForm(r, [a[0]])}`;
  if (names.length) u.bind(names[0], r, (len + PAGE - 1n) & ~(PAGE - 1n) & U64);
  return out;
}

function op_munmap(u: Runner, s: MmStep) {
  const { x } = s;
  u.refuseSelf(x[0], x[1]);
  return status(u.sys(NR.munmap, x[0], x[1]));
}

function op_mprotect(u: Runner, s: MmStep) {
  const { x } = s;
  u.refuseSelf(x[0], x[1]);
  return status(u.sys(NR.mprotect, x[0], x[1], x[2]));
}

function op_mremap(u: Runner, s: MmStep) {
  const { a, x, names } = s;
  const [old, oldLen, newLen, flags] = x;
  const newAddr = x.length > 4 ? x[4] : 0n;
  u.refuseSelf(old, oldLen);
  if ((flags & (K_MREMAP_MAYMOVE | K_MREMAP_FIXED)) === (K_MREMAP_MAYMOVE | K_MREMAP_FIXED)) u.refuseSelf(newAddr, newLen);
  if (newLen > oldLen) u.charge(newLen - oldLen);
  const r = u.sys(NR.mremap, old, oldLen, newLen, flags, newAddr);
  if (isErr(r)) return status(r);
  const out = `ok ${u.addrForm(r, [a[0], a[4]])}`;
  if (names.length) u.bind(names[0], r, (newLen + PAGE - 1n) & ~(PAGE - 1n) & U64);
  return out;
}

function op_madvise(u: Runner, s: MmStep) {
  const { x } = s;
  u.refuseSelf(x[0], x[1]);
  if (x[2] === K_MADV_POPULATE_READ || x[2] === K_MADV_POPULATE_WRITE) u.charge(x[1]);
  return status(u.sys(NR.madvise, x[0], x[1], x[2]));
}

function op_mlock(u: Runner, s: MmStep) {
  const { x } = s;
  u.charge(x[1]);
  return status(u.sys(NR.mlock, x[0], x[1]));
}

function op_munlock(u: Runner, s: MmStep) {
  const { x } = s;
  return status(u.sys(NR.munlock, x[0], x[1]));
}

function op_mlockall(u: Runner, s: MmStep) {
  const { x } = s;
  // MCL_CURRENT populates every mapping: charged as the named mappings' total length.
  const fl = Number(BigInt.asIntN(32, x[0]));
  const valid = fl !== 0 && !(fl & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) && fl !== MCL_ONFAULT;
  if (valid && (fl & (MCL_CURRENT | MCL_ONFAULT)) === MCL_CURRENT) {
    let total = 0n;
    for (const b of u.names.values()) total += b.len;
    u.charge(total);
  }
  const r = u.sys(NR.mlockall, x[0]);
  if (r === 0n) u.mclFuturePopulates = (fl & (MCL_FUTURE | MCL_ONFAULT)) === MCL_FUTURE;
  return status(r);
}

function op_munlockall(u: Runner) {
  const r = u.sys(NR.munlockall);
  if (r === 0n) u.mclFuturePopulates = false;
  return status(r);
}

function op_memfd_create(u: Runner, s: MmStep) {
  const { x, raw, names } = s;
  const ptr = memfdName(u, raw[0]);
  const r = u.sys(NR.memfd_create, ptr, x[1]);
  if (isErr(r)) return status(r);
  if (names.length) u.bind(names[0], r);
  return "ok fd";
}

function op_ftruncate(u: Runner, s: MmStep) {
  const { x } = s;
  u.refuseFd(x[0]);
  return status(u.sys(NR.ftruncate, x[0], x[1]));
}

function op_fallocate(u: Runner, s: MmStep) {
  const { x } = s;
  const [fd, mode, off, len] = x;
  u.refuseFd(fd);
  const soff = BigInt.asIntN(64, off), slen = BigInt.asIntN(64, len);
  if (!(mode & K_FALLOC_FL_PUNCH_HOLE) && soff >= 0n && slen > 0n && off + len <= (1n << 63n) - 1n) u.charge(len);
  return status(u.sys(NR.fallocate, fd, mode, off, len));
}

function op_fstat(u: Runner, s: MmStep) {
  const { x } = s;
  u.writeUser(STAT_AT, new Uint8Array(A.stat.SIZEOF));
  const r = u.sys(NR.fstat, x[0], STAT_AT);
  if (isErr(r)) return status(r);
  const b = u.readUser(STAT_AT, A.stat.SIZEOF);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const mode = dv.getUint32(A.stat.st_mode, true);
  return `ok type=${ftype(mode)} mode=0${(mode & 0o7777).toString(8).padStart(3, "0")} ` +
    `size=${dv.getBigInt64(A.stat.st_size, true)} blocks=${dv.getBigInt64(A.stat.st_blocks, true)} ` +
    `blksize=${dv.getBigInt64(A.stat.st_blksize, true)} nlink=${dv.getBigUint64(A.stat.st_nlink, true)}`;
}

function op_close(u: Runner, s: MmStep) {
  const { x } = s;
  u.refuseFd(x[0]);
  const r = u.sys(NR.close, x[0]);
  if (r === 0n) u.uffds.delete(x[0] & 0xffffffffn);
  return status(r);
}

function op_fcntl(u: Runner, s: MmStep) {
  const { x } = s;
  const [fd, cmd, arg] = x;
  if (!FCNTL_CMDS.has(cmd)) return `bad fcntl cmd ${cmd} not supported (F_GETFD 1, F_GETFL 3, F_SETPIPE_SZ 1031, F_GETPIPE_SZ 1032, F_ADD_SEALS 1033, F_GET_SEALS 1034)`;
  u.refuseFd(fd);
  const r = u.sys(NR.fcntl, fd, cmd, arg);
  if (isErr(r)) return status(r);
  return `ok 0x${BigInt.asUintN(64, r).toString(16)}`;
}

function op_reopen(u: Runner, s: MmStep) {
  const { x, names } = s;
  u.refuseFd(x[0]);
  u.writeUser(PATH_AT, cstring(`/proc/self/fd/${BigInt.asIntN(64, x[0])}`));
  const r = u.sys(NR.openat, BigInt.asUintN(64, AT_FDCWD), PATH_AT, x[1], 0n);
  if (isErr(r)) return status(r);
  if (names.length) u.bind(names[0], r);
  return "ok fd";
}

function op_load(u: Runner, s: MmStep) {
  const { a, x } = s;
  const [addr] = x;
  const len = x.length > 1 ? x[1] : 1n;
  u.accessArgsOk(addr, len);
  u.charge(len);
  return access(u, u.t, addr, len, a[0], null);
}

function op_store(u: Runner, s: MmStep) {
  const { op, a, x } = s;
  const [addr, byte, len] = op === "store" ? [x[0], x[1], x.length > 2 ? x[2] : 1n] : [x[0], x[2], x[1]];
  if (byte > 255n) return "bad byte must be 0..255";
  u.accessArgsOk(addr, len);
  u.charge(len);
  if (u.bytesTouchSelf(addr, addr + len)) return "bad refused: range touches the oracle's own memory";
  return access(u, u.t, addr, len, a[0], Number(byte));
}

function op_fork_check(u: Runner, s: MmStep) {
  const { a, x } = s;
  const [addr] = x;
  const len = x.length > 1 ? x[1] : 1n;
  u.accessArgsOk(addr, len);
  u.charge(len);
  const child = u.p.fork();
  try {
    return access(u, child.thread, addr, len, a[0], null);
  } finally {
    child.exit(0);
  }
}

/** The pointer argument of memfd_create: "text", *N, NULL or @value, as the oracle reads it. */
export function memfdName(u: Runner, t: string): bigint {
  if (t === "NULL") return 0n;
  if (t.startsWith("@")) return u.arg(t.slice(1)).v;
  if (t.startsWith("*")) {
    const n = parseUint(t.slice(1));
    if (n === undefined || n > BigInt(MAX_MEMFD_NAME)) throw new Bad(`bad memfd name '*N' needs N in 0..${MAX_MEMFD_NAME}`);
    const b = new Uint8Array(Number(n) + 1).fill(0x61);
    b[Number(n)] = 0;
    u.writeUser(NAME_AT, b);
    return NAME_AT;
  }
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) {
    u.writeUser(NAME_AT, cstring(t.slice(1, -1)));
    return NAME_AT;
  }
  throw new Bad(`bad memfd name must be "text", *N, NULL or @value, not '${clean(t)}'`);
}

/** load (byte === null) or store of [addr, addr + len) by thread `t`: the result line. */
export function access(u: Runner, t: Thread, addr: bigint, len: bigint, written: Arg, byte: number | null): string {
  const a = Number(addr);
  if (BigInt(a) !== addr) return `bad unsupported: access address 0x${addr.toString(16)} is not exact in a double`;
  try {
    if (byte === null) return `ok ${digestOf(t.read(a, Number(len)))}`;
    t.fill(a, byte, Number(len));
    return "ok";
  } catch (e) {
    return accessError(u, e, written);
  }
}

export function accessError(u: Runner, e: unknown, written: Arg): string {
  if (e instanceof WouldBlockError) return "blocked";
  if (!(e instanceof SignalError)) throw e;
  const at = e.si_code === SI_KERNEL ? "at=?" : `at=${u.expr(written, BigInt(e.addr))}`;
  return `sig ${e.signo === A.SIGSEGV ? "SIGSEGV" : e.signo === A.SIGBUS ? "SIGBUS" : "SIG?"} ${codename(e.signo, e.si_code)} ${at}`;
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


/** The mm and access verbs, by name. */
export const mmVerbs: Record<string, ArgsHandler> = {
  mmap: op_mmap,
  munmap: op_munmap,
  mprotect: op_mprotect,
  mremap: op_mremap,
  madvise: op_madvise,
  mlock: op_mlock,
  munlock: op_munlock,
  mlockall: op_mlockall,
  munlockall: op_munlockall,
  memfd_create: op_memfd_create,
  ftruncate: op_ftruncate,
  fallocate: op_fallocate,
  fstat: op_fstat,
  close: op_close,
  fcntl: op_fcntl,
  reopen: op_reopen,
  load: op_load,
  store: op_store,
  fill: op_store,
  "fork-check": op_fork_check,
};
