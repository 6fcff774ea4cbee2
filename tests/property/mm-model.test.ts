/**
 * Property tests: random sequences of mm system calls and memory accesses, run on the uffdlab kernel
 * and on the reference model (tests/helpers/model.ts), compared after every step.
 *
 * Each sequence runs in a fresh process (plus its forked children) on a kernel that is reused across
 * sequences; after each step the test compares the step's result (value, errno name or signal name),
 * runs the kernel's invariant checker, and checks every live process's VMAs against the model (which
 * pages are mapped, protection, sharing, file and file offset, fork flags). When the sequence ends all
 * processes exit and the kernel must be back at its baseline: invariants hold, no frame leaked (free +
 * slab frames unchanged), no inode or task left behind.
 *
 * Addresses come mostly from a 64-page arena at 0x100000000 so that ranges collide often; mappings the
 * kernel places itself (top-down below mmap_base) are reached through "the n-th mapped page".
 *
 * Environment: MM_MODEL_RUNS (runs per property, default 1000), MM_MODEL_SEED (fast-check seed),
 * MM_MODEL_VERBOSE=1 (print each failing trace as it is found, before shrinking finishes).
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Kernel, SignalError, SystemError, type Process, type VmaInfo } from "../../host-ts/index.js";
import * as A from "../../host-ts/abi.gen.js";
import {
  MmModel, PAGE, MADV, MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED, MREMAP_FIXED, MREMAP_MAYMOVE, MREMAP_DONTUNMAP,
  FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, PROT_EXEC as X, PROT_READ as R, PROT_WRITE as W,
  ok, err, sig, showOutcome, sameOutcome, type Outcome, type Signal, type MPage,
} from "../helpers/model.js";

const ARENA = 0x100000000;
const ARENA_PAGES = 64;
const MAX_PROCS = 3;
const RUNS = Number(process.env.MM_MODEL_RUNS ?? 1000);
const SEED = process.env.MM_MODEL_SEED === undefined ? undefined : Number(process.env.MM_MODEL_SEED);
const VERBOSE = process.env.MM_MODEL_VERBOSE === "1";
const BAD_FD = 99;
const MAX_STEPS = Number(process.env.MM_MODEL_STEPS ?? 60);

// ---- commands -------------------------------------------------------------------------------------

/**
 * An address: an arena page (+ a byte delta for unaligned cases), or the m-th mapped page of the
 * process (sorted by address) moved by dpg pages — so that ranges start on, next to, or just before
 * existing mappings, wherever the kernel put them.
 */
type Addr = { pg: number; delta?: number } | { m: number; dpg: number };
/** A length: pages * PAGE - minus (minus > 0 exercises rounding up). */
type Len = { pages: number; minus: number };
type Kind = "anon" | "shanon" | "memfd-shared" | "memfd-private";
type Place = "hint" | "fixed" | "noreplace" | "any";

type Cmd =
  | { op: "mmap"; proc: number; kind: Kind; place: Place; at: Addr; len: Len; prot: number; fd: number; off: number; offDelta: number }
  | { op: "munmap"; proc: number; at: Addr; len: Len }
  | { op: "mprotect"; proc: number; at: Addr; len: Len; prot: number }
  | { op: "mremap"; proc: number; at: Addr; oldLen: Len; newLen: Len; sameLen: boolean; flags: number; to: Addr }
  | { op: "madvise"; proc: number; at: Addr; len: Len; advice: number }
  | { op: "ftruncate"; proc: number; fd: number; size: number }
  | { op: "fallocate"; proc: number; fd: number; mode: number; off: number; len: number }
  | { op: "fstat"; proc: number; fd: number }
  | { op: "memfd"; proc: number }
  | { op: "close"; proc: number; fd: number }
  | { op: "fork"; proc: number }
  | { op: "exit"; proc: number }
  | { op: "access"; proc: number; at: Addr; off: number; size: 1 | 4; write: boolean; value: number };

const proc = fc.nat({ max: 5 });
const pageNo = fc.integer({ min: 0, max: ARENA_PAGES - 1 });
const mappedAddr: fc.Arbitrary<Addr> = fc.record({
  m: fc.nat({ max: 1 << 16 }),
  dpg: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 2 }) }),
});
const addr: fc.Arbitrary<Addr> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ pg: pageNo }) },
  { weight: 5, arbitrary: mappedAddr },
  { weight: 1, arbitrary: fc.record({ pg: pageNo, delta: fc.integer({ min: 1, max: PAGE - 1 }) }) },
);
const accessAddr: fc.Arbitrary<Addr> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ pg: pageNo }) },
  { weight: 3, arbitrary: mappedAddr },
);
const pages = (min: number) =>
  fc.oneof(
    { weight: 12, arbitrary: fc.integer({ min: Math.max(1, min), max: 8 }) },
    { weight: 1, arbitrary: fc.integer({ min: 9, max: 20 }) },
    ...(min === 0 ? [{ weight: 1, arbitrary: fc.constant(0) }] : []),
  );
const len = (min = 0): fc.Arbitrary<Len> =>
  fc.record({
    pages: pages(min),
    minus: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: PAGE - 1 }) }),
  });
const prot = fc.constantFrom(0, R, R | W, R | W, R | W, R | W, R | X, W, X, R | W | X);
const fdPick = fc.oneof({ weight: 12, arbitrary: fc.nat({ max: 7 }) }, { weight: 1, arbitrary: fc.constant(-1) });

const cmdMmap = fc.record({
  op: fc.constant("mmap" as const),
  proc,
  kind: fc.constantFrom<Kind>("anon", "anon", "shanon", "memfd-shared", "memfd-shared", "memfd-private", "memfd-private"),
  place: fc.constantFrom<Place>("fixed", "fixed", "fixed", "noreplace", "hint", "hint", "any"),
  at: addr,
  len: len(0),
  prot,
  fd: fdPick,
  off: fc.integer({ min: 0, max: 6 }),
  offDelta: fc.oneof({ weight: 20, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(100) }),
});
const cmdMunmap = fc.record({ op: fc.constant("munmap" as const), proc, at: addr, len: len(0) });
const cmdMprotect = fc.record({ op: fc.constant("mprotect" as const), proc, at: addr, len: len(0), prot });
const cmdMremap = fc.record({
  op: fc.constant("mremap" as const),
  proc,
  at: addr,
  oldLen: len(1),
  newLen: len(0),
  sameLen: fc.boolean(),
  flags: fc.oneof(
    { weight: 2, arbitrary: fc.constant(0) },
    { weight: 3, arbitrary: fc.constant(MREMAP_MAYMOVE) },
    { weight: 4, arbitrary: fc.constant(MREMAP_MAYMOVE | MREMAP_FIXED) },
    { weight: 2, arbitrary: fc.constant(MREMAP_MAYMOVE | MREMAP_DONTUNMAP) },
    { weight: 2, arbitrary: fc.constant(MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED) },
    { weight: 1, arbitrary: fc.constantFrom(MREMAP_FIXED, MREMAP_DONTUNMAP, 8) },
  ),
  to: addr,
});
const cmdMadvise = fc.record({
  op: fc.constant("madvise" as const),
  proc,
  at: addr,
  len: len(0),
  advice: fc.constantFrom(
    MADV.DONTNEED, MADV.DONTNEED, MADV.REMOVE, MADV.REMOVE, MADV.DONTFORK, MADV.DOFORK, MADV.WIPEONFORK, MADV.WIPEONFORK,
    MADV.KEEPONFORK, MADV.POPULATE_READ, MADV.POPULATE_WRITE, MADV.POPULATE_WRITE, MADV.WILLNEED, MADV.NORMAL, 1234,
  ),
});
const byteish = (max: number) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max }).map((p) => p * PAGE) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max }), fc.integer({ min: 1, max: PAGE - 1 })).map(([p, d]) => p * PAGE + d) },
  );
const cmdFtruncate = fc.record({
  op: fc.constant("ftruncate" as const),
  proc,
  fd: fdPick,
  size: fc.oneof({ weight: 20, arbitrary: byteish(8) }, { weight: 1, arbitrary: fc.constant(-1) }),
});
const cmdFallocate = fc.record({
  op: fc.constant("fallocate" as const),
  proc,
  fd: fdPick,
  mode: fc.constantFrom(0, 0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE),
  off: byteish(8),
  len: byteish(6),
});
const cmdFstat = fc.record({ op: fc.constant("fstat" as const), proc, fd: fdPick });
const cmdMemfd = fc.record({ op: fc.constant("memfd" as const), proc });
const cmdClose = fc.record({ op: fc.constant("close" as const), proc, fd: fdPick });
const cmdFork = fc.record({ op: fc.constant("fork" as const), proc });
const cmdExit = fc.record({ op: fc.constant("exit" as const), proc });
const cmdAccess = fc
  .record({
    op: fc.constant("access" as const),
    proc,
    at: accessAddr,
    size: fc.constantFrom<1 | 4>(1, 4),
    offPick: fc.nat({ max: 4 }),
    write: fc.boolean(),
    value: fc.integer({ min: 1, max: 0xffffffff }),
  })
  .map(({ offPick, ...c }): Cmd => ({
    ...c,
    // size 4 at 4094 spans two pages
    off: c.size === 1 ? [0, 1, 2049, 4095, 7][offPick] : [0, 4, 2048, 4092, 4094][offPick],
    value: c.size === 1 ? c.value & 0xff : c.value,
  }));

function commands(forky: boolean): fc.Arbitrary<Cmd[]> {
  const cmd: fc.Arbitrary<Cmd> = fc.oneof(
    { weight: 30, arbitrary: cmdAccess },
    { weight: 14, arbitrary: cmdMmap },
    { weight: 5, arbitrary: cmdMunmap },
    { weight: 7, arbitrary: cmdMprotect },
    { weight: 10, arbitrary: cmdMremap },
    { weight: 11, arbitrary: cmdMadvise },
    { weight: 4, arbitrary: cmdFtruncate },
    { weight: 4, arbitrary: cmdFallocate },
    { weight: 2, arbitrary: cmdFstat },
    { weight: 1, arbitrary: cmdMemfd },
    { weight: 1, arbitrary: cmdClose },
    { weight: forky ? 6 : 1, arbitrary: cmdFork },
    { weight: forky ? 3 : 1, arbitrary: cmdExit },
  );
  return fc.array(cmd, { minLength: 1, maxLength: MAX_STEPS, size: "max" });
}

// ---- running a sequence ------------------------------------------------------------------------------

class Mismatch extends Error {}

const hex = (n: number) => (n < 0 ? "-0x" + (-n).toString(16) : "0x" + n.toString(16));
const toOutcome = (r: bigint): Outcome => (r < 0n && r > -4096n ? err(A.ERRNO_NAMES[Number(-r)] ?? `E${-r}`) : ok(Number(r)));

interface Live {
  p: Process;
}

/** Outcome counts per operation ("mmap ok", "load8 sig SIGBUS", "madvise err ENOMEM", ...). */
type Stats = Map<string, number>;

class Runner {
  readonly m = new MmModel();
  readonly live: Live[] = [];
  readonly trace: string[] = [];

  constructor(readonly k: Kernel, readonly stats: Stats) {}

  fail(msg: string): never {
    throw new Mismatch(`${msg}\n--- trace (step: command => kernel result) ---\n${this.trace.join("\n")}`);
  }

  pick(n: number): Live {
    return this.live[n % this.live.length];
  }

  fdOf(l: Live, pick: number): number {
    const fds = [...this.m.proc(l.p.pid).fds.keys()].sort((a, b) => a - b);
    return pick < 0 || fds.length === 0 ? BAD_FD : fds[pick % fds.length];
  }

  resolve(l: Live, a: Addr): number {
    if ("pg" in a) return ARENA + a.pg * PAGE + (a.delta ?? 0);
    const mapped = [...this.m.proc(l.p.pid).pages.keys()].sort((x, y) => x - y);
    return mapped.length === 0 ? ARENA + (a.m % ARENA_PAGES) * PAGE : (mapped[a.m % mapped.length] + a.dpg) * PAGE;
  }

  bytes(l: Len): number {
    return l.pages === 0 ? 0 : l.pages * PAGE - l.minus;
  }

  /** Compare and record one step. */
  expectSame(desc: string, kernel: Outcome, model: Outcome): void {
    this.trace.push(`${this.trace.length}: ${desc} => ${showOutcome(kernel)}`);
    const key = `${desc.split(" ")[0]} ${"ok" in kernel ? "ok" : showOutcome(kernel)}`;
    this.stats.set(key, (this.stats.get(key) ?? 0) + 1);
    if (!sameOutcome(kernel, model)) this.fail(`step ${this.trace.length - 1} (${desc}): kernel ${showOutcome(kernel)}, model ${showOutcome(model)}`);
  }

  kernelAccess(l: Live, a: number, size: 1 | 4, value?: number): Outcome {
    const t = l.p.thread;
    try {
      if (value === undefined) return ok(size === 1 ? t.load8(a) : t.load32(a));
      if (size === 1) t.store8(a, value);
      else t.store32(a, value);
      return ok(0);
    } catch (e) {
      if (e instanceof SignalError) return sig(e.name as Signal);
      throw e;
    }
  }

  memfdCreate(l: Live): void {
    let kr: Outcome;
    try {
      kr = ok(l.p.memfdCreate("prop"));
    } catch (e) {
      if (!(e instanceof SystemError)) throw e;
      kr = err(e.code);
    }
    const [mr, id] = this.m.memfdCreate(l.p.pid);
    this.expectSame(`memfd_create pid=${l.p.pid}`, kr, mr);
    const ino = Number(l.p.fstat((kr as { ok: number }).ok).ino);
    for (const f of this.m.files.values()) if (f.ino === ino) this.fail(`memfd got inode ${ino}, already used by live file ${f.id}`);
    this.m.files.get(id)!.ino = ino;
  }

  step(c: Cmd): void {
    const l = this.pick(c.proc);
    const pid = l.p.pid;
    const S = A;
    switch (c.op) {
      case "access": {
        const a = this.resolve(l, c.at) + c.off;
        const v = c.write ? c.value : undefined;
        const d = `${c.write ? "store" : "load"}${c.size * 8} pid=${pid} ${hex(a)}${c.write ? " " + hex(c.value) : ""}`;
        this.expectSame(d, this.kernelAccess(l, a, c.size, v), this.m.access(pid, a, c.size, v));
        return;
      }
      case "mmap": {
        const anon = c.kind === "anon" || c.kind === "shanon";
        const shared = c.kind === "shanon" || c.kind === "memfd-shared";
        const place = c.place === "fixed" ? MAP_FIXED : c.place === "noreplace" ? MAP_FIXED_NOREPLACE : 0;
        const flags = (shared ? MAP_SHARED : MAP_PRIVATE) | (anon ? MAP_ANONYMOUS : 0) | place;
        const a = c.place === "any" ? 0 : this.resolve(l, c.at);
        const fd = anon ? -1 : this.fdOf(l, c.fd);
        const off = c.off * PAGE + c.offDelta;
        const n = this.bytes(c.len);
        const d = `mmap pid=${pid} ${hex(a)} len=${hex(n)} prot=${c.prot} flags=${hex(flags)} fd=${fd} off=${hex(off)}`;
        this.expectSame(d, toOutcome(l.p.syscall(S.__NR_mmap, a, n, c.prot, flags, fd, off)), this.m.mmap(pid, a, n, c.prot, flags, fd, off));
        return;
      }
      case "munmap": {
        const a = this.resolve(l, c.at), n = this.bytes(c.len);
        this.expectSame(`munmap pid=${pid} ${hex(a)} ${hex(n)}`, toOutcome(l.p.syscall(S.__NR_munmap, a, n)), this.m.munmap(pid, a, n));
        return;
      }
      case "mprotect": {
        const a = this.resolve(l, c.at), n = this.bytes(c.len);
        this.expectSame(`mprotect pid=${pid} ${hex(a)} ${hex(n)} prot=${c.prot}`, toOutcome(l.p.syscall(S.__NR_mprotect, a, n, c.prot)), this.m.mprotect(pid, a, n, c.prot));
        return;
      }
      case "mremap": {
        const a = this.resolve(l, c.at), to = this.resolve(l, c.to);
        const o = this.bytes(c.oldLen), n = c.sameLen ? o : this.bytes(c.newLen);
        const vmas = l.p.vmas();
        const vmaAt = (x: number) => vmas.find((v) => v.start <= x && x < v.end) ?? null;
        const d = `mremap[${c.flags}] pid=${pid} ${hex(a)} old=${hex(o)} new=${hex(n)} to=${hex(to)}`;
        const mr = this.m.mremap(pid, a, o, n, c.flags, to, vmaAt);
        this.expectSame(d, toOutcome(l.p.syscall(S.__NR_mremap, a, o, n, c.flags, to)), mr);
        return;
      }
      case "madvise": {
        const a = this.resolve(l, c.at), n = this.bytes(c.len);
        this.expectSame(`madvise pid=${pid} ${hex(a)} ${hex(n)} advice=${c.advice}`, toOutcome(l.p.syscall(S.__NR_madvise, a, n, c.advice)), this.m.madvise(pid, a, n, c.advice));
        return;
      }
      case "ftruncate": {
        const fd = this.fdOf(l, c.fd);
        this.expectSame(`ftruncate pid=${pid} fd=${fd} ${hex(c.size)}`, toOutcome(l.p.syscall(S.__NR_ftruncate, fd, c.size)), this.m.ftruncate(pid, fd, c.size));
        return;
      }
      case "fallocate": {
        const fd = this.fdOf(l, c.fd);
        this.expectSame(`fallocate pid=${pid} fd=${fd} mode=${c.mode} off=${hex(c.off)} len=${hex(c.len)}`,
          toOutcome(l.p.syscall(S.__NR_fallocate, fd, c.mode, c.off, c.len)), this.m.fallocate(pid, fd, c.mode, c.off, c.len));
        return;
      }
      case "fstat": {
        const fd = this.fdOf(l, c.fd);
        let kr: string;
        try {
          const st = l.p.fstat(fd);
          kr = `size=${st.size} blocks=${st.blocks}`;
        } catch (e) {
          if (!(e instanceof SystemError)) throw e;
          kr = `err ${e.code}`;
        }
        const ms = this.m.fstat(pid, fd);
        const mr = ms ? `size=${ms.size} blocks=${ms.blocks}` : "err EBADF";
        this.trace.push(`${this.trace.length}: fstat pid=${pid} fd=${fd} => ${kr}`);
        if (kr !== mr) this.fail(`step ${this.trace.length - 1} (fstat fd=${fd}): kernel ${kr}, model ${mr}`);
        return;
      }
      case "memfd":
        if (this.m.proc(pid).fds.size < 6) this.memfdCreate(l);
        return;
      case "close": {
        const fd = this.fdOf(l, c.fd);
        this.expectSame(`close pid=${pid} fd=${fd}`, toOutcome(l.p.syscall(S.__NR_close, fd)), this.m.close(pid, fd));
        return;
      }
      case "fork": {
        if (this.live.length >= MAX_PROCS) return;
        const child = l.p.fork();
        this.m.fork(pid, child.pid);
        this.live.push({ p: child });
        this.trace.push(`${this.trace.length}: fork pid=${pid} => child ${child.pid}`);
        return;
      }
      case "exit": {
        if (this.live.length < 2) return;
        const victim = this.live[1 + (c.proc % (this.live.length - 1))]; // never the first process
        victim.p.exit(0);
        this.m.exit(victim.p.pid);
        this.live.splice(this.live.indexOf(victim), 1);
        this.trace.push(`${this.trace.length}: exit pid=${victim.p.pid}`);
        return;
      }
    }
  }

  /** After each step: kernel invariants, then each live process's VMAs against the model. */
  check(): void {
    try {
      this.k.checkInvariants();
    } catch (e) {
      this.fail(`after step ${this.trace.length - 1}: ${(e as Error).message}`);
    }
    for (const l of this.live) this.compareVmas(l);
  }

  compareVmas(l: Live): void {
    const mp = this.m.proc(l.p.pid);
    const vmas = l.p.vmas();
    const show = (v: VmaInfo) => `${hex(v.start)}-${hex(v.end)} flags=${hex(Number(v.flags))} ${v.kind} ino=${v.ino} off=${hex(v.offset)}`;
    const bad = (what: string, v: VmaInfo, a: number, e?: MPage): never =>
      this.fail(`after step ${this.trace.length - 1}, pid ${l.p.pid}: ${what} at ${hex(a)} (kernel VMA ${show(v)}; model ${e ? JSON.stringify({ ...e, priv: undefined }) : "unmapped"})\nkernel maps:\n${l.p.maps()}`);
    let n = 0;
    for (const v of vmas) {
      for (let a = v.start; a < v.end; a += PAGE) {
        const e = mp.pages.get(a / PAGE);
        if (!e) bad("kernel maps a page the model does not", v, a);
        if (Number(v.flags & 7n) !== e.prot) bad("protection differs", v, a, e);
        const shared = (v.flags & A.VM_SHARED) !== 0n, mayshare = (v.flags & A.VM_MAYSHARE) !== 0n;
        if (shared !== e.shared || mayshare !== e.shared) bad("sharing differs", v, a, e);
        if (v.kind !== (e.file === null ? "anon" : "shmem")) bad("memory type differs", v, a, e);
        if (e.file !== null) {
          const f = this.m.files.get(e.file)!;
          if (f.ino === undefined) {
            for (const o of this.m.files.values()) if (o.ino === v.ino) bad(`inode ${v.ino} already belongs to model file ${o.id}`, v, a, e);
            f.ino = v.ino;
          } else if (f.ino !== v.ino) bad(`inode differs (model file ${f.id} is inode ${f.ino})`, v, a, e);
          if (v.offset / PAGE + (a - v.start) / PAGE !== e.pgoff) bad("file offset differs", v, a, e);
        }
        if (((v.flags & A.VM_DONTCOPY) !== 0n) !== e.dontfork) bad("VM_DONTCOPY differs", v, a, e);
        if (((v.flags & A.VM_WIPEONFORK) !== 0n) !== e.wipeonfork) bad("VM_WIPEONFORK differs", v, a, e);
        n++;
      }
    }
    if (n !== mp.pages.size) {
      const missing = [...mp.pages.keys()].filter((vpn) => !vmas.some((v) => v.start <= vpn * PAGE && vpn * PAGE < v.end));
      this.fail(`after step ${this.trace.length - 1}, pid ${l.p.pid}: model maps pages the kernel does not: ${missing.slice(0, 8).map((x) => hex(x * PAGE)).join(" ")}\nkernel maps:\n${l.p.maps()}`);
    }
  }

  run(cmds: Cmd[]): void {
    const root = this.k.spawn();
    this.m.spawn(root.pid);
    this.live.push({ p: root });
    this.trace.push(`spawn pid=${root.pid}`);
    // Preamble: two memfds, 4 pages and 2 pages + 100 bytes.
    this.memfdCreate(this.live[0]);
    this.memfdCreate(this.live[0]);
    for (const [i, size] of [[0, 4 * PAGE], [1, 2 * PAGE + 100]] as const) this.step({ op: "ftruncate", proc: 0, fd: i, size });
    this.check();
    for (const c of cmds) {
      this.step(c);
      this.check();
    }
  }

  /** Every process exits (children first); the kernel must keep its invariants after each exit. */
  teardown(): void {
    while (this.live.length > 0) {
      const l = this.live.pop()!;
      l.p.exit(0);
      this.m.exit(l.p.pid);
      this.trace.push(`${this.trace.length}: exit pid=${l.p.pid}`);
      try {
        this.k.checkInvariants();
      } catch (e) {
        this.fail(`after teardown exit of ${l.p.pid}: ${(e as Error).message}`);
      }
    }
  }
}

// ---- the properties -----------------------------------------------------------------------------------

interface Baseline {
  frames: number;
  inodes: number;
  tasks: number;
}

/** One kernel per property; a failed run leaves it in an unknown state, so the next run boots a new one. */
class KernelPool {
  private k: Kernel | null = null;
  private base: Baseline | null = null;
  sequences = 0;
  steps = 0;
  readonly stats: Stats = new Map();

  async get(): Promise<[Kernel, Baseline]> {
    if (!this.k) {
      this.k = await Kernel.boot({ memoryBytes: 16 << 20, build: "debug" });
      const s = this.k.stats();
      this.base = { frames: s.freeFrames + s.slabFrames, inodes: s.inodes, tasks: s.tasks };
    }
    return [this.k, this.base!];
  }

  discard(): void {
    this.k = null;
  }
}

async function runSequence(pool: KernelPool, cmds: Cmd[]): Promise<void> {
  const [k, base] = await pool.get();
  const r = new Runner(k, pool.stats);
  try {
    r.run(cmds);
    r.teardown();
    const s = k.stats();
    const now = { frames: s.freeFrames + s.slabFrames, inodes: s.inodes, tasks: s.tasks };
    if (now.frames !== base.frames || now.inodes !== base.inodes || now.tasks !== base.tasks) {
      r.fail(`leak after every process exited: free+slab frames ${now.frames} (baseline ${base.frames}), inodes ${now.inodes} (${base.inodes}), tasks ${now.tasks} (${base.tasks})`);
    }
    pool.sequences++;
    pool.steps += r.trace.length;
  } catch (e) {
    pool.discard();
    if (VERBOSE) console.error((e as Error).message);
    throw e;
  }
}

describe("mm model (property)", () => {
  for (const [name, forky, off] of [["one process", false, 0], ["fork family", true, 1]] as const) {
    it(`${name}: ${RUNS} random sequences agree with the model`, async () => {
      const pool = new KernelPool();
      const t0 = performance.now();
      await fc.assert(
        fc.asyncProperty(commands(forky), (cmds) => runSequence(pool, cmds)),
        { numRuns: RUNS, seed: SEED === undefined ? undefined : SEED + off },
      );
      const ms = performance.now() - t0;
      console.log(`mm-model ${name}: ${pool.sequences} sequences, ${pool.steps} steps, ${(ms / 1000).toFixed(1)} s`);
      if (process.env.MM_MODEL_STATS === "1") console.log([...pool.stats].sort().map(([k, v]) => `  ${k}: ${v}`).join("\n"));
      expect(pool.sequences).toBeGreaterThanOrEqual(RUNS);
    }, 120_000);
  }
});

