/**
 * The verbs that move bytes through fds (docs/scenarios.md, "Memory management"): pipe, read and
 * write (positional or not, from the runner's buffer or the scenario's own memory).
 */
import { IO_AT, IO_MAX, NR, PIPE_AT, Runner, U64, isErr, status } from "./runner.js";
import type { ArgsHandler, MmStep } from "./runner.js";
import { readData } from "./uffd.js";

function op_pipe(u: Runner, s: MmStep) {
  const { names } = s;
  if (names.length !== 0 && names.length !== 2) return "bad pipe takes 'as R W' or nothing";
  const r = u.sys(NR.pipe2, PIPE_AT, 0n);
  if (isErr(r)) return status(r);
  const [rfd, wfd] = u.pipeFds();
  if (names.length) {
    u.bind(names[0], BigInt(rfd));
    u.bind(names[1], BigInt(wfd));
  }
  return "ok fd fd";
}

function op_write(u: Runner, s: MmStep) {
  const { op, x, names } = s;
  return io(u, op, x, names[0]);
}

function op_writefrom(u: Runner, s: MmStep) {
  const { op, x } = s;
  // write(2) from / read(2) into the scenario's own memory
  const [fd, addr, len] = x;
  u.refuseFd(fd);
  if (len > IO_MAX) return `bad io length must be at most ${IO_MAX}`;
  if (addr + len > U64 || u.bytesTouchSelf(addr, addr + len)) return "bad refused: range touches the oracle's own memory";
  u.charge(len);
  const r = u.sys(op === "writefrom" ? NR.write : NR.read, fd, addr, len);
  return isErr(r) ? status(r) : `ok ${r}`;
}

export async function io(u: Runner, op: string, x: bigint[], as?: string): Promise<string> {
  const isWrite = op === "write" || op === "pwrite";
  const hasOff = op === "pwrite" || op === "pread";
  const [fd, len] = x;
  const off = hasOff ? x[2] : 0n;
  u.refuseFd(fd);
  if (len > IO_MAX) return `bad io length must be at most ${IO_MAX}`;
  if (isWrite) {
    const byte = x.length > (hasOff ? 3 : 2) ? x[hasOff ? 3 : 2] : 0n;
    if (byte > 255n) return "bad byte must be 0..255";
    u.charge(len);
    if (len > 0n) u.t.fill(Number(IO_AT), Number(byte), Number(len));
  }
  const nr = isWrite ? (hasOff ? NR.pwrite64 : NR.write) : hasOff ? NR.pread64 : NR.read;
  const uffd = u.uffds.has(fd & 0xffffffffn);
  // a blocking pipe with nothing to read (or no room) must wait: `blocked` (u.sys), as the host's
  // interrupted call; the thread gives up that wait with its next call
  const r = hasOff ? u.sys(nr, fd, IO_AT, len, off) : uffd && !isWrite ? await u.waitingSys(nr, fd, IO_AT, len) : u.sys(nr, fd, IO_AT, len);
  if (isErr(r)) return status(r);
  return isWrite ? `ok ${r}` : `ok ${r}${readData(u, !hasOff && uffd, u.readUser(IO_AT, Number(r)), as)}`;
}

/** The pipe and I/O verbs, by name. */
export const pipeVerbs: Record<string, ArgsHandler> = {
  pipe: op_pipe,
  write: op_write,
  pwrite: op_write,
  read: op_write,
  pread: op_write,
  writefrom: op_writefrom,
  readto: op_writefrom,
};
