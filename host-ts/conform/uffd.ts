/**
 * The userfaultfd verbs (docs/scenarios.md, "userfaultfd"): making userfaultfds, their ioctls, reading
 * and printing their messages, poll and the fd flags.
 */
import { WouldBlockError } from "../errors.js";
import type { Thread } from "../thread.js";
import * as A from "../abi.gen.js";
import { clean, digestOf, errname } from "./format.js";
import { AT_FDCWD, BLOCK_MS, Bad, IOCTLS, IO_AT, IO_MAX, NAME_AT, NAME_RE, NR, PAGE, PATH_AT, POLL_AT, Runner, U64, WAIT_TURNS, cstring, err, isErr } from "./runner.js";
import type { TokensHandler } from "./runner.js";

function op_nopriv(u: Runner) {
  if (u.stepsRun !== 1) return "bad nopriv must be the first step";
  return "ok"; // applied at spawn
}

function op_uffd(u: Runner, tok: string[]) {
  const r = u.sys(NR.userfaultfd, u.v(tok[2]));
  if (isErr(r)) return err(r);
  u.bind(tok[1], r);
  u.uffds.add(r);
  return "ok fd";
}

function op_devnew(u: Runner, tok: string[]) {
  const cmd = u.v(tok[2]), fl = u.v(tok[3]);
  const dev = openDev(u, A.O_RDWR | A.O_CLOEXEC);
  if (isErr(dev)) return `bad open /dev/userfaultfd: ${errname(Number(-dev))}`;
  const r = u.sys(NR.ioctl, dev, cmd, fl);
  u.sys(NR.close, dev);
  if (isErr(r)) return err(r);
  u.bind(tok[1], r);
  u.uffds.add(r);
  return "ok fd";
}

function op_anon(u: Runner, tok: string[]) {
  const op = tok[0];
  const pages = u.v(tok[2]), prot = u.v(tok[3]);
  const len = (pages * PAGE) & U64;
  u.charge(len);
  const fl = A.MAP_ANONYMOUS | (op === "sanon" ? A.MAP_SHARED : A.MAP_PRIVATE);
  const r = u.sys(NR.mmap, 0n, len, BigInt.asUintN(32, prot), BigInt(fl), U64, 0n);
  if (isErr(r)) return err(r);
  u.bind(tok[1], r, len);
  return "ok";
}

function op_memfd(u: Runner, tok: string[]) {
  const pages = u.v(tok[2]);
  u.writeUser(NAME_AT, cstring("uffd_oracle"));
  const fd = u.sys(NR.memfd_create, NAME_AT, 0n);
  if (isErr(fd)) return err(fd);
  const r = u.sys(NR.ftruncate, fd, (pages * PAGE) & U64);
  if (isErr(r)) return err(r);
  u.bind(tok[1], fd);
  u.uffds.delete(fd);
  return "ok fd";
}

function op_mapfd(u: Runner, tok: string[]) {
  let fd = u.v(tok[2]);
  const pages = u.v(tok[3]), prot = u.v(tok[4]);
  u.refuseFd(fd);
  const len = (pages * PAGE) & U64;
  if (tok.length > 5 && tok[5] === "ro") {
    u.writeUser(PATH_AT, cstring(`/proc/self/fd/${Number(BigInt.asIntN(32, fd))}`));
    fd = u.sys(NR.openat, BigInt.asUintN(64, AT_FDCWD), PATH_AT, BigInt(A.O_RDONLY), 0n);
    if (isErr(fd)) return err(fd);
    u.uffds.delete(fd);
  }
  const r = u.sys(NR.mmap, 0n, len, BigInt.asUintN(32, prot), BigInt(A.MAP_SHARED), BigInt.asUintN(32, fd), 0n);
  if (isErr(r)) return err(r);
  u.bind(tok[1], r, len);
  return "ok";
}

function op_ioctl(u: Runner, tok: string[]) {
  const x = ioctlArgs(u, tok);
  if (typeof x === "string") return x;
  u.refuseFd(x.fd);
  try {
    return ioctlLine(u.t, x.fd, x.cmd, x.words);
  } catch (e) {
    if (e instanceof WouldBlockError) return "blocked";
    throw e;
  }
}

function op_ioctl0(u: Runner, tok: string[]) {
  const fd = u.v(tok[1]);
  const cmd = IOCTLS[tok[2]] ?? Number(BigInt.asUintN(32, u.v(tok[2])));
  u.refuseFd(fd);
  const r = u.sys(NR.ioctl, BigInt.asUintN(32, fd), BigInt(cmd), 0n);
  return isErr(r) ? err(r) : "ok";
}

async function op_readwait(u: Runner, tok: string[]) {
  let as: string | undefined;
  if (tok.length >= 5 && tok[tok.length - 2] === "as") {
    as = tok[tok.length - 1];
    tok = tok.slice(0, -2);
    if (!NAME_RE.test(as)) return `bad invalid name '${clean(as)}'`;
  }
  const fd = u.v(tok[1]), len = u.v(tok[2]);
  u.refuseFd(fd);
  if (len > IO_MAX) return "bad read length";
  let ready = false;
  for (let i = 0; ; i++) {
    const p = pollRaw(u, fd);
    ready = isErr(p.ret) || p.ret > 0n;
    if (ready || i >= WAIT_TURNS) break;
    await u.wait();
  }
  if (!ready) return "blocked";
  u.t.fill(Number(IO_AT), 0xee, Number(len));
  const r = await u.waitingSys(NR.read, fd, IO_AT, len);
  if (isErr(r)) return err(r);
  return `ok ${r}${readData(u, u.uffds.has(fd & 0xffffffffn), u.readUser(IO_AT, Number(r)), as)}`;
}

function op_fdflags(u: Runner, tok: string[]) {
  const fd = u.v(tok[1]);
  const fdf = u.sys(NR.fcntl, fd, BigInt(A.F_GETFD), 0n);
  if (isErr(fdf)) return err(fdf);
  const fl = u.sys(NR.fcntl, fd, BigInt(A.F_GETFL), 0n);
  if (isErr(fl)) return err(fl);
  const n = Number(fl);
  return `ok cloexec=${(Number(fdf) & A.FD_CLOEXEC) !== 0 ? 1 : 0} acc=${n & A.O_ACCMODE} nonblock=${(n & A.O_NONBLOCK) !== 0 ? 1 : 0}`;
}

function op_setfl(u: Runner, tok: string[]) {
  const fd = u.v(tok[1]), fl = u.v(tok[2]);
  u.refuseFd(fd);
  const r = u.sys(NR.fcntl, fd, BigInt(A.F_SETFL), BigInt.asUintN(32, fl));
  return isErr(r) ? err(r) : "ok";
}

async function op_poll(u: Runner, tok: string[]) {
  const fd = u.v(tok[1]);
  const ms = tok.length > 2 ? Number(BigInt.asIntN(32, u.v(tok[2]))) : 0;
  const r = ms === 0 ? pollRaw(u, fd) : await pollTimed(u, fd, ms);
  if (isErr(r.ret)) return err(r.ret);
  return `ok ${r.ret} revents=0x${r.revents.toString(16)}`;
}

function op_devopen(u: Runner, tok: string[]) {
  const dev = openDev(u, A.O_RDWR);
  if (isErr(dev)) return err(dev);
  u.bind(tok[1], dev);
  u.uffds.delete(dev);
  return "ok fd";
}

function op_fdinfo(u: Runner, tok: string[]) {
  let text: string;
  try {
    text = u.p.fdinfo(Number(BigInt.asIntN(32, u.v(tok[1]))));
  } catch {
    return "err ENOENT";
  }
  const get = (k: string) => new RegExp(`^${k}:\\t(.*)$`, "m").exec(text)?.[1]?.slice(0, k === "API" ? 90 : 30) ?? "?";
  return `ok pending=${get("pending")} total=${get("total")} api=${get("API")}`;
}

/**
 * struct uffd_msg (include/uapi/linux/userfaultfd.h) over the generated record: the event byte, the
 * reserved bytes, then a union of three 64-bit words whose arms are below. `zero=` checks the
 * reserved bytes and the union's bytes after the arm's last field, as the oracle's put_uffd_msgs.
 */
const M = A.uffd_msg;
const U32 = Uint32Array.BYTES_PER_ELEMENT, U64W = BigUint64Array.BYTES_PER_ELEMENT;
const PF = { flags: M.arg0, address: M.arg1, ptid: M.arg2, end: M.arg2 + U32 }; // pagefault {flags, address, feat.ptid (u32)}
const FORK = { ufd: M.arg0, end: M.arg0 + U32 }; // fork {ufd (u32)}
const REMAP = { from: M.arg0, to: M.arg1, len: M.arg2, end: M.arg2 + U32 }; // remap {from, to, len}: the oracle checks len's high half
const REMOVE = { start: M.arg0, end_: M.arg1, end: M.arg1 + U64W }; // remove / unmap {start, end}

/** The messages of a userfaultfd read, as the oracle's put_uffd_msgs; `as` binds a FORK message's fd. */
export function msgs(u: Runner, b: Uint8Array, r: number, as?: string): string {
  let line = "";
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let o = 0; o + M.SIZEOF <= r; o += M.SIZEOF) {
    let zero = 1;
    const zeroed = (from: number) => { for (let i = from; i < M.SIZEOF; i++) if (b[o + i] !== 0) zero = 0; };
    for (let i = M.reserved1; i < M.arg0; i++) if (b[o + i] !== 0) zero = 0;
    const u64 = (off: number) => dv.getBigUint64(o + off, true);
    const ev = ` ev=0x${b[o + M.event].toString(16).padStart(2, "0")}`;
    if (b[o + M.event] === A.UFFD_EVENT_FORK) {
      zeroed(FORK.end);
      const ufd = BigInt(dv.getUint32(o + FORK.ufd, true));
      const ok = !isErr(u.sys(NR.fcntl, ufd, BigInt(A.F_GETFD), 0n));
      if (ok && as !== undefined) {
        u.bind(as, ufd);
        u.uffds.add(ufd);
      }
      line += `${ev} ufd=${ok ? "fd" : "bad"} zero=${zero}`;
      continue;
    }
    if (b[o + M.event] === A.UFFD_EVENT_REMAP) {
      zeroed(REMAP.end);
      line += `${ev} from=${u.msgAddr(u64(REMAP.from))} to=${u.msgAddr(u64(REMAP.to))} len=0x${u64(REMAP.len).toString(16)} zero=${zero}`;
      continue;
    }
    if (b[o + M.event] === A.UFFD_EVENT_REMOVE || b[o + M.event] === A.UFFD_EVENT_UNMAP) {
      zeroed(REMOVE.end);
      line += `${ev} start=${u.msgAddr(u64(REMOVE.start))} end=${u.msgEnd(u64(REMOVE.end_))} zero=${zero}`;
      continue;
    }
    zeroed(PF.end);
    line += `${ev} flags=0x${u64(PF.flags).toString(16)}`;
    line += ` addr=${u.msgAddr(u64(PF.address))} ptid=${u.ptid(dv.getUint32(o + PF.ptid, true))} zero=${zero}`;
  }
  return line;
}

/** What a read(2) returned after `ok N` (the oracle's put_read_data): a userfaultfd's messages, else the bytes' digest. */
export function readData(u: Runner, uffd: boolean, b: Uint8Array, as?: string): string {
  if (uffd) return msgs(u, b, b.length, as);
  return b.length > 0 ? ` ${digestOf(b)}` : "";
}

/** `ioctl FD CMD W0 …`: its operands (the argument is _IOC_SIZE(CMD) bytes). */
export function ioctlArgs(u: Runner, tok: string[]): { fd: bigint; cmd: number; words: bigint[]; nw: number } | string {
  const fd = u.v(tok[1]);
  const cmd = IOCTLS[tok[2]] ?? Number(BigInt.asUintN(32, u.v(tok[2])));
  const nw = ((cmd >>> 16) & 0x3fff) >>> 3;
  if (nw > 16 || tok.length - 3 > nw) return "bad too many words";
  const words: bigint[] = [];
  for (let i = 0; i < nw; i++) words.push(i + 3 < tok.length ? u.v(tok[i + 3]) : 0n);
  return { fd, cmd, words, nw };
}

/**
 * Issue the ioctl on thread `t`, its argument in the thread's staging window (filling it enters no
 * kernel code, so a reissued UFFDIO_COPY keeps its restart state); the result line. Throws
 * WouldBlockError if the call must wait.
 */
export function ioctlLine(t: Thread, fd: bigint, cmd: number, words: bigint[]): string {
  const inb = new Uint8Array(Math.max(words.length, 1) * U64W);
  const dv = new DataView(inb.buffer);
  words.forEach((w, i) => dv.setBigUint64(i * U64W, w, true));
  const ret = t.syscall(NR.ioctl, BigInt.asUintN(32, fd), BigInt(cmd), t.stage(inb));
  const bytes = t.bounce.slice(0, inb.length);
  const odv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let line = isErr(ret) ? `err ${errname(Number(-ret))}` : ret === 0n ? "ok" : `ok ${ret}`;
  for (let i = 0; i < words.length; i++) {
    const b = odv.getBigUint64(i * U64W, true);
    if (words[i] === b) line += " =";
    else {
      const sv = BigInt.asIntN(64, b);
      line += sv < 0n && sv >= -4095n ? ` ${sv}` : ` 0x${b.toString(16)}`;
    }
  }
  return line;
}

/** poll(fd, POLLIN, 0) with the struct pollfd in the scratch mapping. */
export function pollRaw(u: Runner, fd: bigint): { ret: bigint; revents: number } {
  pollSet(u, fd);
  return pollGet(u, u.sys(NR.poll, POLL_AT, 1n, 0n));
}

export function pollSet(u: Runner, fd: bigint): void {
  const pfd = new Uint8Array(A.pollfd.SIZEOF);
  const dv = new DataView(pfd.buffer);
  dv.setInt32(A.pollfd.fd, Number(BigInt.asIntN(32, fd)), true);
  dv.setInt16(A.pollfd.events, A.POLLIN, true);
  u.writeUser(POLL_AT, pfd);
}

export function pollGet(u: Runner, ret: bigint): { ret: bigint; revents: number } {
  const b = u.readUser(POLL_AT, A.pollfd.SIZEOF);
  return { ret, revents: new DataView(b.buffer, b.byteOffset).getUint16(A.pollfd.revents, true) };
}

/**
 * `poll FD MS` with MS ≠ 0, as the oracle's: while it must wait, yield to the other threads (at
 * most WAIT_TURNS turns, where the host waits at most MS or BLOCK_MS) and reissue it after a wake;
 * with nobody to wake it a timeout of 1..BLOCK_MS runs out (task_timeout: the reissue returns),
 * a longer or negative one is `blocked` (the thread gives up the wait with its next call). The
 * reissue touches no user memory first: a memory access would abandon the pending restart.
 */
export async function pollTimed(u: Runner, fd: bigint, ms: number): Promise<{ ret: bigint; revents: number }> {
  const word = () => u.t.frame.getInt32(A.host_frame.wait_word, true);
  pollSet(u, fd);
  for (let i = 0; ; i++) {
    try {
      return pollGet(u, u.sys(NR.poll, POLL_AT, 1n, BigInt.asUintN(64, BigInt(ms))));
    } catch (e) {
      if (!(e instanceof Bad) || e.line !== "blocked") throw e;
    }
    for (; u.threaded && word() !== 0 && i < WAIT_TURNS; i++) await u.wait();
    if (word() === 0) {
      if (i >= WAIT_TURNS) throw new Bad("blocked"); // woken, and waiting again, for too long
      continue; // woken: look again
    }
    if (ms < 0 || ms > BLOCK_MS || !u.t.timeout()) throw new Bad("blocked");
  }
}

export function openDev(u: Runner, flags: number): bigint {
  u.writeUser(PATH_AT, cstring("/dev/userfaultfd"));
  return u.sys(NR.open, PATH_AT, BigInt(flags), 0n);
}

/** The userfaultfd verbs, by name. */
export const uffdVerbs: Record<string, TokensHandler> = {
  nopriv: op_nopriv,
  uffd: op_uffd,
  devnew: op_devnew,
  anon: op_anon,
  sanon: op_anon,
  memfd: op_memfd,
  mapfd: op_mapfd,
  ioctl: op_ioctl,
  ioctl0: op_ioctl0,
  readwait: op_readwait,
  fdflags: op_fdflags,
  setfl: op_setfl,
  poll: op_poll,
  devopen: op_devopen,
  fdinfo: op_fdinfo,
};
