/**
 * Two runners of the userfaultfd step language of tests/oracle/uffd_oracle.c (its header is the
 * grammar): `runUffdNative` runs the steps on the host kernel through the C oracle, `runUffdUffdlab`
 * on a fresh uffdlab kernel through host-ts (Process.ioctl with the raw argument bytes, raw read/write
 * syscalls, Thread.fill/read, and k.run for the second thread). Both print the same normalised lines.
 *
 * uffdlab specifics: the process is spawned with CAP_SYS_PTRACE (the host oracle runs as root) unless
 * the first step is `nopriv`, which spawns it without capabilities. A scenario with `tfault`, `tioctl`
 * or `tsys` runs under the deterministic scheduler: the steps run on one simulated thread, the
 * faulting access (or the `tioctl` ioctl, which may wait in the kernel and is then reissued after
 * the wake) on a second one, the producer's call (`tsys`) on a third; `readwait` (until
 * poll(fd, POLLIN, 0) reports anything, as the oracle's poll), `tjoin`, `tioctljoin` and `tsjoin`
 * yield, at most WAIT_TURNS turns, where the host waits at most 3 s; `tsbusy` yields 50 turns where
 * the host sleeps 100 ms. `tsys fork`'s child exists only in the kernel until `childexit` exits it;
 * `fork`'s child (a Process) until `reap`. Threads still blocked after the last step are left
 * blocked, as the oracle leaves its own.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CAP_SYS_PTRACE, DeadlockError, Kernel, SignalError, type Process, type Thread } from '../../host-ts/index.js';
import * as A from '../../host-ts/abi.gen.js';
import { digestOf } from '../helpers/scenario.js';

const SOURCE = fileURLToPath(new URL('../oracle/uffd_oracle.c', import.meta.url));
const PAGE = 4096n;
const WAIT_TURNS = 2000;

// ── native ─────────────────────────────────────────────────────────────────────────────────────────
let built: { ok: true; bin: string } | { ok: false; reason: string } | undefined;

/** Build the oracle once and check the host has what it needs; the reason to skip otherwise. */
export function uffdNativeAvailable(): { ok: true } | { ok: false; reason: string } {
  built ??= (() => {
    if (process.platform !== 'linux' || process.arch !== 'x64') return { ok: false as const, reason: `host is ${process.platform}/${process.arch}, not Linux x86-64` };
    if (!existsSync(SOURCE)) return { ok: false as const, reason: `oracle source missing: ${SOURCE}` };
    if (!existsSync('/dev/userfaultfd')) return { ok: false as const, reason: 'host has no /dev/userfaultfd' };
    const dir = mkdtempSync(join(tmpdir(), `uffdlab-uffd-oracle-${process.pid}-`));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const bin = join(dir, 'uffd_oracle');
    const cc = spawnSync('cc', ['-O1', '-Wall', '-pthread', '-o', bin, SOURCE], { encoding: 'utf8', timeout: 120_000 });
    if (cc.error) return { ok: false as const, reason: `no usable C compiler: ${cc.error.message}` };
    if (cc.status !== 0) return { ok: false as const, reason: `cc failed: ${cc.stderr.trim().split('\n').slice(0, 6).join('\n')}` };
    const probe = spawnSync(bin, [], { input: 'uffd U 1\n', encoding: 'utf8', timeout: 10_000 });
    if (probe.stdout.trim() !== 'ok fd') return { ok: false as const, reason: `host userfaultfd(UFFD_USER_MODE_ONLY) fails: ${probe.stdout.trim() || probe.stderr.trim()} (syscall missing or forbidden)` };
    return { ok: true as const, bin };
  })();
  return built.ok ? { ok: true } : { ok: false, reason: built.reason };
}

/** The oracle can also drive the host's /dev/kvm (a default VM and a guest_memfd with MMAP|INIT_SHARED); the reason to skip otherwise. */
export function kvmNativeAvailable(): { ok: true } | { ok: false; reason: string } {
  const u = uffdNativeAvailable();
  if (!u.ok) return u;
  if (!existsSync('/dev/kvm')) return { ok: false, reason: 'host has no /dev/kvm' };
  const got = runUffdNative(['kvm K', 'vm V $K 0', 'gmem G $V 4096 3']);
  if (got.join('|') !== 'ok fd|ok fd|ok fd') return { ok: false, reason: `host /dev/kvm unusable for guest_memfd MMAP|INIT_SHARED: ${got.join(' / ')}` };
  return { ok: true };
}

export function runUffdNative(steps: string[]): string[] {
  uffdNativeAvailable();
  if (!built?.ok) throw new Error('uffd oracle unavailable');
  const r = spawnSync(built.bin, [], { input: steps.join('\n') + '\n', encoding: 'utf8', timeout: 10_000, killSignal: 'SIGKILL' });
  if (r.error || r.status !== 0) throw new Error(`uffd oracle failed (status ${r.status}, signal ${r.signal}): ${r.error?.message ?? r.stderr}\n${r.stdout}`);
  return r.stdout.replace(/\n$/, '').split('\n');
}

// ── uffdlab ────────────────────────────────────────────────────────────────────────────────────────
const IOCTLS: Record<string, number> = {
  API: A.UFFDIO_API, REGISTER: A.UFFDIO_REGISTER, UNREGISTER: A.UFFDIO_UNREGISTER, WAKE: A.UFFDIO_WAKE,
  COPY: A.UFFDIO_COPY, ZEROPAGE: A.UFFDIO_ZEROPAGE, WRITEPROTECT: A.UFFDIO_WRITEPROTECT,
  CONTINUE: A.UFFDIO_CONTINUE, POISON: A.UFFDIO_POISON, MOVE: A.UFFDIO_MOVE,
};
const ename = (e: number): string => (A.ERRNO_NAMES as Record<number, string>)[e] ?? `E${e}`;
const isErr = (r: bigint) => r < 0n && r > -4096n;
const word = (v: bigint): string => {
  const s = BigInt.asIntN(64, v);
  return s < 0n && s >= -4095n ? ` ${s}` : ` 0x${BigInt.asUintN(64, v).toString(16)}`;
};

class Bad extends Error {}

/** The second thread's access (tfault), and how far it got. */
interface Fault {
  addr: number; write: boolean; byte: number; go: boolean; done: boolean; result: number; tid: number;
  /** tioctl: the call the second thread makes instead of an access, and its result line */
  ioctl?: { fd: bigint; cmd: number; words: bigint[] }; line: string;
}
/** The third thread's system call (tsys), and its result. */
interface Call { verb: string; name: string; args: bigint[]; go: boolean; done: boolean; ret: bigint; revents?: number[] }

class UffdlabRunner {
  private readonly names = new Map<string, { val: bigint; len: bigint }>();
  /** The thread that runs the steps (p.thread, or a second thread under k.run). */
  t: Thread;
  wait: () => Promise<void> = async () => { throw new Bad('bad timeout'); };
  fault?: Fault;
  call?: Call;
  /** the `tsys fork` child's pid (kept until `childexit`) */
  child = -1;
  /** the `fork` child (kept until `reap`) */
  forked?: Process;

  constructor(readonly k: Kernel, readonly p: Process) {
    this.t = p.thread;
  }

  private v(tok: string | undefined): bigint {
    if (tok === undefined) throw new Bad('bad wrong argument count');
    const m = /^\$([A-Za-z_][A-Za-z0-9_]*)(?:([+-])(0x[0-9a-fA-F]+|[0-9]+))?$/.exec(tok);
    if (m) {
      const b = this.names.get(m[1]);
      if (!b) throw new Bad('bad unbound name');
      const off = m[3] ? BigInt(m[3]) : 0n;
      return BigInt.asUintN(64, m[2] === '-' ? b.val - off : b.val + off);
    }
    if (!/^-?(0x[0-9a-fA-F]+|[0-9]+)$/.test(tok)) throw new Bad('bad malformed value');
    return BigInt.asUintN(64, tok.startsWith('-') ? -BigInt(tok.slice(1)) : BigInt(tok));
  }

  private addrName(a: bigint): string {
    for (const [n, b] of this.names) {
      if (b.len > 0n && a >= b.val && a - b.val < b.len) return a === b.val ? `$${n}` : `$${n}+0x${(a - b.val).toString(16)}`;
    }
    return `0x${a.toString(16)}`;
  }

  /** An end address: the end of a mapping is $NAME+len (the oracle's put_end). */
  private endName(a: bigint): string {
    for (const [n, b] of this.names) {
      if (b.len > 0n && a > b.val && a - b.val <= b.len) return `$${n}+0x${(a - b.val).toString(16)}`;
    }
    return this.addrName(a);
  }

  /** VERB ARGS of madvise / mremap / mmapfix / tsys (the oracle's parse_verb). */
  parseCall(tok: string[]): Call {
    const verb = tok[0];
    const need: Record<string, number> = { munmap: 2, madvise: 3, mmapfix: 3, mremap: 4, fork: 0, poll: 2 };
    if (!(verb in need)) throw new Bad('bad unknown call');
    const first = verb === 'mremap' ? 2 : 1;
    const name = verb === 'mremap' ? (tok[1] ?? '') : '';
    if (tok.length - first < need[verb]) throw new Bad('bad wrong argument count');
    const args = tok.slice(first, first + 6).map((t) => this.v(t));
    while (args.length < 6) args.push(0n);
    return { verb, name, args, go: false, done: false, ret: 0n };
  }

  /** Issue the call on thread `t` (the raw syscall: -errno or a value). */
  static callOn(t: Thread, c: Call): bigint {
    const a = c.args;
    switch (c.verb) {
      case 'poll': {
        // poll({a0, POLLIN}, {a1, POLLIN}, -1): uffdlab has no clock; a wait nobody ends is tsjoin's timeout
        const pfd = new Uint8Array(2 * A.pollfd.SIZEOF);
        const dv = new DataView(pfd.buffer);
        for (let i = 0; i < 2; i++) {
          dv.setInt32(i * A.pollfd.SIZEOF + A.pollfd.fd, Number(BigInt.asIntN(32, a[i])), true);
          dv.setInt16(i * A.pollfd.SIZEOF + A.pollfd.events, A.POLLIN, true);
        }
        const r = t.syscall(A.__NR_poll, t.stage(pfd), 2n, BigInt.asUintN(64, -1n));
        const out = new DataView(t.bounce.buffer, t.bounce.byteOffset);
        c.revents = [0, 1].map((i) => out.getInt16(i * A.pollfd.SIZEOF + A.pollfd.revents, true));
        return r;
      }
      case 'munmap': return t.syscall(A.__NR_munmap, a[0], a[1] * PAGE);
      case 'madvise': return t.syscall(A.__NR_madvise, a[0], a[1] * PAGE, a[2]);
      case 'mremap': return t.syscall(A.__NR_mremap, a[0], a[1] * PAGE, a[2] * PAGE, a[3], a[4]);
      case 'mmapfix': {
        const r = t.syscall(A.__NR_mmap, a[0], a[1] * PAGE, a[2], BigInt(A.MAP_FIXED | A.MAP_PRIVATE | A.MAP_ANONYMOUS), BigInt.asUintN(64, -1n), 0n);
        return isErr(r) ? r : 0n;
      }
      case 'fork': return t.syscall(A.__NR_fork);
    }
    throw new Bad('bad unknown call');
  }

  callResult(c: Call): string {
    if (isErr(c.ret)) return `err ${ename(Number(-c.ret))}`;
    if (c.verb === 'mremap') this.names.set(c.name, { val: c.ret, len: c.args[2] * PAGE });
    if (c.verb === 'fork') {
      this.child = Number(c.ret);
      return 'ok child';
    }
    if (c.verb === 'poll') return `ok ${c.ret} revents=${c.revents!.map((r) => `0x${r.toString(16)}`).join(' ')}`;
    return 'ok';
  }

  private sys(nr: number, ...args: bigint[]): bigint {
    return this.t.syscall(nr, ...args);
  }

  /** poll(fd, POLLIN, 0) with the struct pollfd in the staging window. */
  private pollRaw(fd: bigint): { ret: bigint; revents: number } {
    const pfd = new Uint8Array(8);
    const dv = new DataView(pfd.buffer);
    dv.setInt32(0, Number(BigInt.asIntN(32, fd)), true);
    dv.setInt16(4, A.POLLIN, true);
    const ret = this.sys(A.__NR_poll, this.t.stage(pfd), 1n, 0n);
    return { ret, revents: new DataView(this.t.bounce.buffer, this.t.bounce.byteOffset).getUint16(6, true) };
  }

  private pollOnce(fd: bigint): number {
    const r = this.pollRaw(fd);
    return isErr(r.ret) ? 1 : r.revents;
  }

  async step(line: string): Promise<string> {
    try {
      return await this.stepInner(line.trim().split(/\s+/));
    } catch (e) {
      if (e instanceof Bad) return e.message;
      throw e;
    }
  }

  /** The `ioctl FD CMD W0 …` operands; the argument is _IOC_SIZE(CMD) bytes. */
  private ioctlArgs(tok: string[]): { fd: bigint; cmd: number; words: bigint[] } {
    const fd = this.v(tok[1]);
    const cmd = IOCTLS[tok[2]] ?? Number(this.v(tok[2]));
    const nw = ((cmd >>> 16) & 0x3fff) / 8;
    if (tok.length - 3 > nw) throw new Bad('bad too many words');
    const words = Array.from({ length: nw }, (_, i) => (i + 3 < tok.length ? this.v(tok[i + 3]) : 0n));
    return { fd, cmd, words };
  }

  /** Issue the ioctl on thread `t`; the oracle's result line. */
  ioctlLine(fd: bigint, cmd: number, words: bigint[], t: Thread): string {
    const inb = new Uint8Array(Math.max(words.length * 8, 8));
    const dv = new DataView(inb.buffer);
    words.forEach((w, i) => dv.setBigUint64(i * 8, w, true));
    const { ret, bytes } = this.p.ioctl(fd, cmd, inb, t);
    const odv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    let line = isErr(ret) ? `err ${ename(Number(-ret))}` : ret === 0n ? 'ok' : `ok ${ret}`;
    for (let i = 0; i < words.length; i++) line += words[i] === odv.getBigUint64(i * 8, true) ? ' =' : word(odv.getBigUint64(i * 8, true));
    return line;
  }

  private async stepInner(tok: string[]): Promise<string> {
    const [op] = tok;
    const err = (r: bigint) => `err ${ename(Number(-r))}`;
    switch (op) {
      case 'nopriv':
        return 'ok'; // applied at spawn (first step only)
      case 'uffd': {
        const r = this.sys(A.__NR_userfaultfd, this.v(tok[2]));
        if (isErr(r)) return err(r);
        this.names.set(tok[1], { val: r, len: 0n });
        return 'ok fd';
      }
      case 'devnew': {
        const cmd = this.v(tok[2]), fl = this.v(tok[3]);
        const path = new TextEncoder().encode('/dev/userfaultfd\0');
        const dev = this.sys(A.__NR_open, this.t.stage(path), BigInt(A.O_RDWR | A.O_CLOEXEC), 0n);
        if (isErr(dev)) return `bad open /dev/userfaultfd: ${ename(Number(-dev))}`;
        const r = this.sys(A.__NR_ioctl, dev, cmd, fl);
        this.sys(A.__NR_close, dev);
        if (isErr(r)) return err(r);
        this.names.set(tok[1], { val: r, len: 0n });
        return 'ok fd';
      }
      case 'anon':
      case 'sanon': {
        const len = this.v(tok[2]) * PAGE;
        const fl = A.MAP_ANONYMOUS | (op === 'sanon' ? A.MAP_SHARED : A.MAP_PRIVATE);
        const r = this.sys(A.__NR_mmap, 0n, len, this.v(tok[3]), BigInt(fl), BigInt.asUintN(64, -1n), 0n);
        if (isErr(r)) return err(r);
        this.names.set(tok[1], { val: r, len });
        return 'ok';
      }
      case 'memfd': {
        const fd = this.p.memfdCreate('uffd_oracle');
        this.p.ftruncate(fd, this.v(tok[2]) * PAGE);
        this.names.set(tok[1], { val: BigInt(fd), len: 0n });
        return 'ok fd';
      }
      case 'mapfd': {
        let fd = this.v(tok[2]);
        const len = this.v(tok[3]) * PAGE;
        if (tok[5] === 'ro') fd = BigInt(this.p.open(`/proc/self/fd/${fd}`, A.O_RDONLY));
        const r = this.sys(A.__NR_mmap, 0n, len, this.v(tok[4]), BigInt(A.MAP_SHARED), fd, 0n);
        if (isErr(r)) return err(r);
        this.names.set(tok[1], { val: r, len });
        return 'ok';
      }
      case 'munmap': {
        const r = this.sys(A.__NR_munmap, this.v(tok[1]), this.v(tok[2]) * PAGE);
        return isErr(r) ? err(r) : 'ok';
      }
      case 'fill':
        this.t.fill(Number(this.v(tok[1])), Number(this.v(tok[3])), Number(this.v(tok[2])));
        return 'ok';
      case 'load':
        return `ok ${digestOf(this.t.read(Number(this.v(tok[1])), Number(this.v(tok[2]))))}`;
      case 'ioctl': {
        const { fd, cmd, words } = this.ioctlArgs(tok);
        return this.ioctlLine(fd, cmd, words, this.t);
      }
      case 'ioctl0': {
        const r = this.sys(A.__NR_ioctl, this.v(tok[1]), BigInt(IOCTLS[tok[2]] ?? Number(this.v(tok[2]))), 0n);
        return isErr(r) ? err(r) : 'ok';
      }
      case 'readwait':
      case 'read': {
        const fd = this.v(tok[1]), len = this.v(tok[2]);
        if (len > BigInt(A.BOUNCE_SIZE)) return 'bad read length';
        if (op === 'readwait') {
          // as the oracle's poll(fd, POLLIN, 3 s): wait (yielding) until poll reports anything
          let ready = false;
          for (let i = 0; !(ready = this.pollOnce(fd) !== 0) && i < WAIT_TURNS; i++) await this.wait();
          if (!ready) return 'bad timeout';
        }
        const r = this.sys(A.__NR_read, fd, BigInt(A.HOST_STAGING_BASE), len);
        if (isErr(r)) return err(r);
        let line = `ok ${r}`;
        const b = this.t.bounce;
        const dv = new DataView(b.buffer, b.byteOffset, Number(r));
        for (let o = 0; o + 32 <= Number(r); o += 32) {
          let zero = 1;
          for (const i of [1, 2, 3, 4, 5, 6, 7, 28, 29, 30, 31]) if (b[o + i] !== 0) zero = 0;
          const ev = b[o];
          if (ev !== A.UFFD_EVENT_PAGEFAULT) {
            const w = (i: number) => dv.getBigUint64(o + 8 + 8 * i, true);
            if (ev === A.UFFD_EVENT_FORK) {
              for (let i = 12; i < 32; i++) if (b[o + i] !== 0) zero = 0;
              const ufd = BigInt(dv.getUint32(o + 8, true));
              if (tok[3] !== undefined) this.names.set(tok[3], { val: ufd, len: 0n });
              const ok = !isErr(this.sys(A.__NR_fcntl, ufd, BigInt(A.F_GETFD), 0n));
              line += ` ev=0x13 ufd=${ok ? 'fd' : 'bad'} zero=${zero}`;
            } else if (ev === A.UFFD_EVENT_REMAP) {
              line += ` ev=0x14 from=${this.addrName(w(0))} to=${this.addrName(w(1))} len=0x${w(2).toString(16)} zero=${zero}`;
            } else {
              for (let i = 24; i < 32; i++) if (b[o + i] !== 0) zero = 0;
              line += ` ev=0x${ev.toString(16).padStart(2, '0')} start=${this.addrName(w(0))} end=${this.endName(w(1))} zero=${zero}`;
            }
            continue;
          }
          line += ` ev=0x${b[o].toString(16).padStart(2, '0')} flags=0x${dv.getBigUint64(o + 8, true).toString(16)}`;
          const ptid = dv.getUint32(o + 24, true);
          line += ` addr=${this.addrName(dv.getBigUint64(o + 16, true))} ptid=${ptid !== 0 && ptid === this.fault?.tid ? 'T' : ptid} zero=${zero}`;
        }
        return line;
      }
      case 'write': {
        const r = this.sys(A.__NR_write, this.v(tok[1]), BigInt(A.HOST_STAGING_BASE), this.v(tok[2]));
        return isErr(r) ? err(r) : `ok ${r}`;
      }
      case 'fdflags': {
        const fd = this.v(tok[1]);
        const fdf = this.sys(A.__NR_fcntl, fd, BigInt(A.F_GETFD), 0n);
        if (isErr(fdf)) return err(fdf);
        const fl = this.sys(A.__NR_fcntl, fd, BigInt(A.F_GETFL), 0n);
        if (isErr(fl)) return err(fl);
        const n = Number(fl);
        return `ok cloexec=${(Number(fdf) & A.FD_CLOEXEC) !== 0 ? 1 : 0} acc=${n & A.O_ACCMODE} nonblock=${(n & A.O_NONBLOCK) !== 0 ? 1 : 0}`;
      }
      case 'setfl': {
        const r = this.sys(A.__NR_fcntl, this.v(tok[1]), BigInt(A.F_SETFL), this.v(tok[2]));
        return isErr(r) ? err(r) : 'ok';
      }
      case 'poll': {
        const r = this.pollRaw(this.v(tok[1]));
        if (isErr(r.ret)) return err(r.ret);
        return `ok ${r.ret} revents=0x${r.revents.toString(16)}`;
      }
      case 'pipe': {
        const r = this.sys(A.__NR_pipe2, BigInt(A.HOST_STAGING_BASE), 0n);
        if (isErr(r)) return err(r);
        const dv = new DataView(this.t.bounce.buffer, this.t.bounce.byteOffset, 8);
        this.names.set(tok[1], { val: BigInt(dv.getInt32(0, true)), len: 0n });
        this.names.set(tok[2], { val: BigInt(dv.getInt32(4, true)), len: 0n });
        return 'ok fd fd';
      }
      case 'devopen': {
        const path = new TextEncoder().encode('/dev/userfaultfd\0');
        const dev = this.sys(A.__NR_open, this.t.stage(path), BigInt(A.O_RDWR), 0n);
        if (isErr(dev)) return err(dev);
        this.names.set(tok[1], { val: dev, len: 0n });
        return 'ok fd';
      }
      case 'close': {
        const r = this.sys(A.__NR_close, this.v(tok[1]));
        return isErr(r) ? err(r) : 'ok';
      }
      case 'tfault': {
        if (!this.fault) return 'bad no faulting thread in this mode';
        if (this.fault.go && !this.fault.done) return 'bad a faulting thread is already running';
        this.fault.addr = Number(this.v(tok[1]));
        this.fault.write = tok[2] === 'w';
        this.fault.byte = tok[3] === undefined ? 0 : Number(this.v(tok[3]));
        this.fault.ioctl = undefined;
        this.fault.done = false;
        this.fault.go = true;
        return 'ok';
      }
      case 'tioctl': {
        if (!this.fault) return 'bad no calling thread in this mode';
        if (this.fault.go && !this.fault.done) return 'bad a calling thread is already running';
        this.fault.ioctl = this.ioctlArgs(tok);
        this.fault.done = false;
        this.fault.go = true;
        return 'ok';
      }
      case 'tioctljoin': {
        if (!this.fault?.go || !this.fault.ioctl) return 'bad no calling thread';
        for (let i = 0; !this.fault.done && i < WAIT_TURNS; i++) await this.wait();
        if (!this.fault.done) return 'bad timeout';
        this.fault.go = false;
        this.fault.ioctl = undefined;
        return this.fault.line;
      }
      case 'madvise':
      case 'mremap':
      case 'mmapfix': {
        const c = this.parseCall(tok);
        c.ret = UffdlabRunner.callOn(this.t, c);
        return this.callResult(c);
      }
      case 'tsys': {
        if (!this.call) return 'bad no producer thread in this mode';
        if (this.call.go && !this.call.done) return 'bad a producer thread is already running';
        const c = this.parseCall(tok.slice(1));
        Object.assign(this.call, { verb: c.verb, name: c.name, args: c.args, done: false, go: true });
        return 'ok';
      }
      case 'tsbusy': {
        if (!this.call?.go) return 'bad no producer thread';
        for (let i = 0; i < 50 && !this.call.done; i++) await this.wait();
        return this.call.done ? 'ok done' : 'ok blocked';
      }
      case 'tsjoin': {
        if (!this.call?.go) return 'bad no producer thread';
        for (let i = 0; !this.call.done && i < WAIT_TURNS; i++) await this.wait();
        if (!this.call.done) return 'bad timeout';
        this.call.go = false;
        return this.callResult(this.call);
      }
      case 'childexit': {
        if (this.child < 0) return 'bad no child';
        this.k.adopt(this.child).exit(0);
        this.child = -1;
        return 'ok';
      }
      case 'fdinfo': {
        let text: string;
        try {
          text = this.p.fdinfo(Number(this.v(tok[1])));
        } catch {
          return 'err EBADF';
        }
        const get = (k: string) => new RegExp(`^${k}:\\t(.*)$`, 'm').exec(text)?.[1] ?? '?';
        return `ok pending=${get('pending')} total=${get('total')} api=${get('API')}`;
      }
      case 'tjoin': {
        if (!this.fault?.go) return 'bad no faulting thread';
        for (let i = 0; !this.fault.done && i < WAIT_TURNS; i++) await this.wait();
        if (!this.fault.done) return 'bad timeout';
        this.fault.go = false;
        return `ok 0x${this.fault.result.toString(16).padStart(2, '0')}`;
      }
      // verbs for UFFDIO_MOVE (madvise is the call verb above)
      case 'mprotect': {
        const r = this.sys(A.__NR_mprotect, this.v(tok[1]), this.v(tok[2]) * PAGE, this.v(tok[3]));
        return isErr(r) ? err(r) : 'ok';
      }
      case 'mlock': {
        const r = this.sys(A.__NR_mlock, this.v(tok[1]), this.v(tok[2]) * PAGE);
        return isErr(r) ? err(r) : 'ok';
      }
      case 'fork':
        if (this.forked) return 'bad a child is already running';
        this.forked = this.p.fork();
        return 'ok';
      case 'reap':
        if (!this.forked) return 'bad no child';
        this.forked.exit(0);
        this.forked = undefined;
        return 'ok';
      default:
        return this.kvmStep(tok) ?? `bad unknown op '${op}'`;
    }
  }

  // ── KVM and guest_memfd verbs (the oracle's kvm_step block) ──────────────────────────────────────
  private kvmStep(tok: string[]): string | null {
    const [op] = tok;
    const err = (r: bigint) => `err ${ename(Number(-r))}`;
    const res = (r: bigint, ok = 'ok') => (isErr(r) ? err(r) : ok);
    const bindFd = (r: bigint) => {
      if (isErr(r)) return err(r);
      this.names.set(tok[1], { val: r, len: 0n });
      return 'ok fd';
    };
    const le = (size: number, fields: [number, bigint, 4 | 8][]) => {
      const b = new Uint8Array(size);
      const dv = new DataView(b.buffer);
      for (const [o, v, w] of fields) {
        if (w === 8) dv.setBigUint64(o, v, true);
        else dv.setUint32(o, Number(BigInt.asUintN(32, v)), true);
      }
      return b;
    };
    const sig = (e: unknown) => {
      if (e instanceof SignalError) return `sig ${e.name}`;
      throw e;
    };
    switch (op) {
      case 'kvm': {
        const path = new TextEncoder().encode('/dev/kvm\0');
        return bindFd(this.sys(A.__NR_open, this.t.stage(path), BigInt(A.O_RDWR), 0n));
      }
      case 'vm':
        return bindFd(this.sys(A.__NR_ioctl, this.v(tok[2]), BigInt(A.KVM_CREATE_VM), this.v(tok[3])));
      case 'cap': {
        const r = this.sys(A.__NR_ioctl, this.v(tok[1]), BigInt(A.KVM_CHECK_EXTENSION), this.v(tok[2]));
        return res(r, `ok ${r}`);
      }
      case 'ioctlv': {
        const r = this.sys(A.__NR_ioctl, this.v(tok[1]), this.v(tok[2]), this.v(tok[3]));
        return res(r, `ok ${r}`);
      }
      case 'gmem': {
        const G = A.kvm_create_guest_memfd;
        const b = le(G.SIZEOF, [[G.size, this.v(tok[3]), 8], [G.flags, this.v(tok[4]), 8],
          [G.reserved0, tok[5] ? this.v(tok[5]) : 0n, 8], [G.reserved5, tok[6] ? this.v(tok[6]) : 0n, 8]]);
        return bindFd(this.p.ioctl(this.v(tok[2]), A.KVM_CREATE_GUEST_MEMFD, b, this.t).ret);
      }
      case 'slot':
      case 'slot1': {
        const M = A.kvm_userspace_memory_region2;
        if (tok.length < (op === 'slot' ? 9 : 7)) return 'bad wrong argument count';
        const f: [number, bigint, 4 | 8][] = [[M.slot, this.v(tok[2]), 4], [M.flags, this.v(tok[3]), 4], [M.guest_phys_addr, this.v(tok[4]), 8],
          [M.memory_size, this.v(tok[5]), 8], [M.userspace_addr, this.v(tok[6]), 8]];
        if (op === 'slot') f.push([M.guest_memfd, this.v(tok[7]), 4], [M.guest_memfd_offset, this.v(tok[8]), 8], [M.pad1, tok[9] ? this.v(tok[9]) : 0n, 4]);
        const b = le(op === 'slot' ? M.SIZEOF : A.kvm_userspace_memory_region.SIZEOF, f);
        return res(this.p.ioctl(this.v(tok[1]), op === 'slot' ? A.KVM_SET_USER_MEMORY_REGION2 : A.KVM_SET_USER_MEMORY_REGION, b, this.t).ret);
      }
      case 'fallocate':
        return res(this.sys(A.__NR_fallocate, this.v(tok[1]), this.v(tok[2]), this.v(tok[3]), this.v(tok[4])));
      case 'ftruncate':
        return res(this.sys(A.__NR_ftruncate, this.v(tok[1]), this.v(tok[2])));
      case 'fstat':
      case 'sameino': {
        const st = (fd: bigint) => {
          const r = this.sys(A.__NR_fstat, fd, BigInt(A.HOST_STAGING_BASE));
          if (isErr(r)) return r;
          const b = this.t.bounce;
          return new DataView(b.buffer.slice(b.byteOffset, b.byteOffset + A.stat.SIZEOF) as ArrayBuffer);
        };
        const a = st(this.v(tok[1]));
        if (typeof a === 'bigint') return err(a);
        if (op === 'sameino') {
          const b = st(this.v(tok[2]));
          if (typeof b === 'bigint') return err(b);
          return `ok ${a.getBigUint64(A.stat.st_ino, true) === b.getBigUint64(A.stat.st_ino, true) ? 'same' : 'differ'}`;
        }
        return `ok size=${a.getBigInt64(A.stat.st_size, true)} blksize=${a.getBigInt64(A.stat.st_blksize, true)} blocks=${a.getBigInt64(A.stat.st_blocks, true)}` +
          ` mode=0${a.getUint32(A.stat.st_mode, true).toString(8)} nlink=${a.getBigUint64(A.stat.st_nlink, true)}`;
      }
      case 'pread':
      case 'pwrite': {
        const r = this.sys(op === 'pread' ? A.__NR_pread64 : A.__NR_pwrite64, this.v(tok[1]), BigInt(A.HOST_STAGING_BASE), this.v(tok[2]), this.v(tok[3]));
        return res(r, `ok ${r}`);
      }
      case 'lseek': {
        const r = this.sys(A.__NR_lseek, this.v(tok[1]), this.v(tok[2]), this.v(tok[3]));
        return res(r, `ok ${r}`);
      }
      case 'getfl': {
        const r = this.sys(A.__NR_fcntl, this.v(tok[1]), BigInt(A.F_GETFL), 0n);
        return res(r, `ok 0x${r.toString(16)}`);
      }
      case 'mapgmem': {
        const len = this.v(tok[3]) * PAGE;
        const r = this.sys(A.__NR_mmap, 0n, len, this.v(tok[4]), this.v(tok[5]), this.v(tok[2]), this.v(tok[6]) * PAGE);
        if (isErr(r)) return err(r);
        this.names.set(tok[1], { val: r, len });
        return 'ok';
      }
      case 'touch': {
        const a = Number(this.v(tok[1]));
        try {
          if (tok[2] === 'w') this.t.store8(a, Number(tok[3] ? this.v(tok[3]) : 0n));
          return `ok 0x${this.t.load8(a).toString(16).padStart(2, '0')}`;
        } catch (e) {
          return sig(e);
        }
      }
      case 'memset': {
        const a = Number(this.v(tok[1]));
        try {
          this.t.fill(a, Number(this.v(tok[3])), Number(this.v(tok[2])));
          return 'ok';
        } catch (e) {
          if (e instanceof SignalError) return `sig ${e.name} at +0x${(e.addr - a).toString(16)}`;
          throw e;
        }
      }
    }
    return null;
  }
}

/** Run the steps on a fresh uffdlab kernel; one line per step. */
export async function runUffdUffdlab(steps: string[]): Promise<string[]> {
  const k = await Kernel.boot({ memoryBytes: 32 << 20, build: 'debug' });
  const p = k.spawn(steps[0]?.trim() === 'nopriv' ? {} : { caps: CAP_SYS_PTRACE });
  const r = new UffdlabRunner(k, p);
  const out: string[] = [];
  if (!steps.some((s) => /^(tfault|tioctl|tsys)\b/.test(s.trim()))) {
    for (const s of steps) out.push(await r.step(s));
  } else {
    const fault: Fault = { addr: 0, write: false, byte: 0, go: false, done: false, result: -1, tid: -1, line: '' };
    const call: Call = { verb: '', name: '', args: [], go: false, done: false, ret: 0n };
    r.fault = fault;
    r.call = call;
    const [ft, ht, st] = [p.newThread(), p.newThread(), p.newThread()];
    fault.tid = ft.tid;
    r.t = ht;
    let finished = false;
    await k.run(1, [
      [ht, async (at) => {
        r.wait = () => at.yield();
        for (const s of steps) out.push(await r.step(s));
        finished = true;
      }],
      [st, async (at) => {
        // The producer: one call per tsys, which may block on its event (the oracle's tsys thread).
        for (;;) {
          for (let i = 0; !(call.go && !call.done) && !finished && i < 100 * WAIT_TURNS; i++) await at.yield();
          if (!(call.go && !call.done)) return;
          call.ret = await at.op(() => UffdlabRunner.callOn(st, call));
          call.done = true;
        }
      }],
      [ft, async (at) => {
        // one access (or tioctl call) per tfault / tioctl, after the previous one's join, until the steps end
        for (;;) {
          for (let i = 0; !(fault.go && !fault.done) && !finished && i < 100 * WAIT_TURNS; i++) await at.yield();
          if (!fault.go || fault.done) return;
          const c = fault.ioctl;
          if (c) fault.line = await at.op(() => r.ioctlLine(c.fd, c.cmd, c.words, ft));
          else {
            if (fault.write) await at.store8(fault.addr, fault.byte);
            fault.result = await at.load8(fault.addr);
          }
          fault.done = true;
        }
      }],
    ]).catch((e: unknown) => {
      // Threads still blocked once every step ran (a producer whose event nobody read, a
      // faulter nobody resolved) are left blocked, as the oracle leaves its threads.
      if (!(finished && e instanceof DeadlockError)) throw e;
    });
  }
  try {
    if (!k.checkInvariants()) throw new Error('the debug build has no invariant checker');
  } catch (e) {
    throw new Error(`uffdlab: ${(e as Error).message} after the scenario\n${steps.map((s, i) => `  ${s}  →  ${out[i]}`).join('\n')}`);
  }
  return out;
}
