/**
 * Extra threads and processes (docs/scenarios.md, "Extra threads and processes"): faulting threads
 * (tfault), a calling thread (tioctl), a producer thread (tsys) and forked children. They run under
 * the deterministic scheduler (uffdlab.ts); a wait yields to them at most WAIT_TURNS times.
 */
import type { Thread } from "../thread.js";
import * as A from "../abi.gen.js";
import { clean } from "./format.js";
import { Bad, IO_MAX, K_MADV_POPULATE_READ, K_MADV_POPULATE_WRITE, K_MAP_ANONYMOUS, K_MAP_FIXED, K_MAP_FIXED_NOREPLACE, K_MAP_LOCKED, K_MAP_POPULATE, K_MREMAP_FIXED, K_MREMAP_MAYMOVE, MAX_THREADS, NAME_RE, NR, PAGE, Runner, U64, WAIT_TURNS, isErr, status } from "./runner.js";
import type { Arg, Call, FThread, TokensHandler } from "./runner.js";
import { accessError } from "./mm.js";
import { readData, ioctlArgs, ioctlLine, pollRaw } from "./uffd.js";
import { TSYS_CALLS } from "./verbs.js";

function op_tfault(u: Runner, tok: string[]) {
  let n = tok.length;
  let tn = "T";
  if (n >= 5 && tok[n - 2] === "as") { tn = tok[n - 1]; n -= 2; }
  if (!NAME_RE.test(tn)) return `bad invalid name '${clean(tn)}'`;
  if (tok[2][0] !== "r" && tok[2][0] !== "w") return "bad tfault takes r or w";
  const where = u.arg(tok[1]);
  const b = n > 3 ? u.v(tok[3]) : 0n;
  if (b > 255n) return "bad byte must be 0..255";
  if (tok[2][0] === "w" && u.bytesTouchSelf(where.v, where.v + 1n)) return "bad refused: range touches the oracle's own memory";
  if (u.threads.length === 0) return "bad internal: no threads";
  let f = u.threads.find((x) => x.name === tn);
  if (f && f.result !== "") return `bad thread ${tn} is already running`;
  f ??= u.threads.find((x) => x.name === "");
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

async function op_tjoin(u: Runner, tok: string[]) {
  const tn = tok.length > 1 ? tok[1] : "T";
  const f = u.threads.find((x) => x.name === tn && x.result !== "");
  if (!f) return "bad no faulting thread";
  for (let i = 0; !f.done && i < WAIT_TURNS; i++) await u.wait();
  if (!f.done) return "blocked";
  const res = f.result;
  f.result = "";
  return res;
}

function op_tioctl(u: Runner, tok: string[]) {
  let f = u.threads.find((x) => x.name === "C");
  if (f && f.result !== "") return "bad a calling thread is already running";
  const x = ioctlArgs(u, tok);
  if (typeof x === "string") return x;
  u.refuseFd(x.fd);
  f ??= u.threads.find((y) => y.name === "");
  if (!f) return `bad at most ${MAX_THREADS} threads`;
  f.name = "C";
  f.call = { fd: x.fd, cmd: x.cmd, words: x.words };
  f.done = false;
  f.result = "pending";
  f.go = true;
  return "ok";
}

async function op_tioctljoin(u: Runner) {
  const f = u.threads.find((x) => x.name === "C" && x.result !== "");
  if (!f) return "bad no calling thread";
  for (let i = 0; !f.done && i < WAIT_TURNS; i++) await u.wait();
  if (!f.done) return "blocked";
  const res = f.result;
  f.result = "";
  return res;
}

function op_tsys(u: Runner, tok: string[]) {
  let f = u.threads.find((x) => x.name === "P");
  if (f && f.result !== "") return "bad a producer thread is already running";
  if (tok[1] === "fork" && u.sysChild >= 0) return "bad a child is already running";
  const c = parseCall(u, tok.slice(1));
  f ??= u.threads.find((y) => y.name === "");
  if (!f) return `bad at most ${MAX_THREADS} threads`;
  f.name = "P";
  f.call = undefined;
  f.sys = c;
  f.done = false;
  f.result = "pending";
  f.go = true;
  return "ok";
}

async function op_tsbusy(u: Runner) {
  const f = u.threads.find((x) => x.name === "P" && x.result !== "");
  if (!f) return "bad no producer thread";
  // until the call returned or a userfaultfd has a message (the producer's event), bounded
  const readable = () => [...u.uffds].some((fd) => {
    const r = pollRaw(u, fd);
    return !isErr(r.ret) && (r.revents & A.POLLIN) !== 0;
  });
  for (let i = 0; i < WAIT_TURNS && !f.done && !readable(); i++) await u.wait();
  return f.done ? "ok done" : "ok blocked";
}

async function op_tsjoin(u: Runner) {
  const f = u.threads.find((x) => x.name === "P" && x.result !== "");
  if (!f || !f.sys) return "bad no producer thread";
  for (let i = 0; !f.done && i < WAIT_TURNS; i++) await u.wait();
  if (!f.done) return "blocked";
  f.result = "";
  return callResult(u, f.sys);
}

function op_childexit(u: Runner) {
  if (u.sysChild < 0) return "bad no child";
  u.k.adopt(u.sysChild).exit(0);
  u.sysChild = -1;
  return "ok";
}

function op_fork(u: Runner) {
  if (u.child) return "bad a child is already running";
  u.child = u.p.fork();
  return "ok";
}

function op_reap(u: Runner) {
  if (!u.child) return "bad no child";
  u.reap();
  return "ok";
}

/** The access (or the ioctl) of an extra thread; it may wait, yielding, until a userfault is resolved. */
export async function threadAccess(u: Runner, at: import("../sched/scheduler.js").AsyncThread, f: FThread): Promise<string> {
  const call = f.call;
  if (call) return at.op(() => ioctlLine(f.thread, call.fd, call.cmd, call.words));
  const sc = f.sys;
  if (sc) {
    sc.ret = await at.op(() => callOn(f.thread, sc));
    return "done";
  }
  try {
    if (f.write) await at.store8(f.addr, f.byte);
    const v = await at.load8(f.addr);
    return `ok 0x${v.toString(16).padStart(2, "0")}`;
  } catch (e) {
    return accessError(u, e, f.where);
  }
}

/** `tsys VERB ARGS [as NAME]` (the oracle's parse_call): munmap, madvise, mremap, mmap with the mm verbs' arguments, fork, poll FD..., or read FD LEN */
export function parseCall(u: Runner, tok: string[]): Call {
  const def = TSYS_CALLS.get(tok[0]);
  if (!def) throw new Bad("bad tsys takes munmap, madvise, mremap, mmap, fork, poll, read or write");
  const a: Arg[] = [];
  let name = "";
  for (let i = 1; i < tok.length; i++) {
    if (tok[i] === "as") {
      if (i !== tok.length - 2 || !def.names) throw new Bad(`bad ${tok[0]} binds at most ${def.names} name(s)`);
      if (!NAME_RE.test(tok[i + 1])) throw new Bad(`bad invalid name '${clean(tok[i + 1])}'`);
      name = tok[i + 1];
      break;
    }
    if (a.length === 6) throw new Bad("bad wrong argument count");
    a.push(u.arg(tok[i]));
  }
  if (a.length < def.min || a.length > def.max) throw new Bad("bad wrong argument count");
  const x = a.map((y) => y.v);
  if (tok[0] === "munmap" || tok[0] === "madvise" || tok[0] === "mremap") u.refuseSelf(x[0], x[1]);
  if (tok[0] === "madvise" && (x[2] === K_MADV_POPULATE_READ || x[2] === K_MADV_POPULATE_WRITE)) u.charge(x[1]);
  if (tok[0] === "mremap") {
    if ((x[3] & (K_MREMAP_MAYMOVE | K_MREMAP_FIXED)) === (K_MREMAP_MAYMOVE | K_MREMAP_FIXED)) u.refuseSelf(x[4] ?? 0n, x[2]);
    if (x[2] > x[1]) u.charge(x[2] - x[1]);
  }
  if (tok[0] === "mmap") {
    if (x[3] & K_MAP_FIXED && !(x[3] & K_MAP_FIXED_NOREPLACE)) u.refuseSelf(x[0], x[1]);
    if (!(x[3] & K_MAP_ANONYMOUS)) u.refuseFd(x[4]);
    if (x[3] & (K_MAP_POPULATE | K_MAP_LOCKED)) u.charge(x[1]);
  }
  if (tok[0] === "poll") for (const fd of x) u.refuseFd(fd);
  if (tok[0] === "read") {
    u.refuseFd(x[0]);
    if (x[1] > BigInt(A.BOUNCE_SIZE)) throw new Bad(`bad tsys read length must be at most ${A.BOUNCE_SIZE}`);
    return { verb: "read", a, name, ret: 0n, revents: [], uffd: u.uffds.has(x[0] & 0xffffffffn) };
  }
  if (tok[0] === "write") {
    u.refuseFd(x[0]);
    if (x[2] > IO_MAX) throw new Bad(`bad io length must be at most ${IO_MAX}`);
    if (x[1] + x[2] > U64 || u.bytesTouchSelf(x[1], x[1] + x[2])) throw new Bad("bad refused: range touches the oracle's own memory");
    u.charge(x[2]);
  }
  return { verb: tok[0], a, name, ret: 0n, revents: [] };
}

/** The producer's raw call on thread `t` (may throw WouldBlockError: the scheduler reissues it). */
export function callOn(t: Thread, c: Call): bigint {
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
export function callResult(u: Runner, c: Call): string {
  if (isErr(c.ret)) return status(c.ret);
  if (c.verb === "fork") {
    u.sysChild = Number(c.ret);
    return "ok child";
  }
  if (c.verb === "read") {
    return `ok ${c.ret}${readData(u, c.uffd === true, c.data ?? new Uint8Array(0))}`;
  }
  if (c.verb === "poll") return `ok ${c.ret} revents=${c.revents.map((r) => `0x${r.toString(16)}`).join(" ")}`;
  if (c.verb === "mremap" || c.verb === "mmap") {
    const mr = c.verb === "mremap";
    const len = mr ? c.a[2].v : c.a[1].v;
    const out = `ok ${u.addrForm(c.ret, [c.a[0], mr ? c.a[4] : undefined])}`;
    if (c.name) u.bind(c.name, c.ret, (len + PAGE - 1n) & ~(PAGE - 1n) & U64);
    return out;
  }
  return status(c.ret);
}

/** The thread and process verbs, by name. */
export const threadVerbs: Record<string, TokensHandler> = {
  tfault: op_tfault,
  tjoin: op_tjoin,
  tioctl: op_tioctl,
  tioctljoin: op_tioctljoin,
  tsys: op_tsys,
  tsbusy: op_tsbusy,
  tsjoin: op_tsjoin,
  childexit: op_childexit,
  fork: op_fork,
  reap: op_reap,
};
