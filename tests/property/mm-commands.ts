/**
 * The command language, generators and runner of the mm model property tests.
 *
 * A sequence of commands runs against a Target (the uffdlab kernel in mm-model.test.ts, the host
 * Linux kernel in mm-model-host.test.ts) and against the reference model (tests/helpers/model.ts).
 * After every step the Runner compares the step's result (value, errno name or signal name), runs the
 * target's invariant checker, and checks every live process's VMAs against the model: which pages are
 * mapped, protection, sharing, memory type, file and file offset, fork flags (where the target shows
 * them). Any difference throws with the whole trace of the sequence.
 *
 * Addresses come mostly from a 64-page arena at 0x100000000 so that ranges collide often; mappings the
 * kernel places itself are reached through "the n-th mapped page". Commands never refer to state
 * directly (process, fd and address picks are resolved when the step runs), so every subsequence of a
 * generated sequence is valid and fast-check can shrink a failure to a few steps.
 */
import fc from "fast-check";
import {
  MmModel, PAGE, MADV, MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, MREMAP_FIXED, MREMAP_MAYMOVE, MREMAP_DONTUNMAP,
  FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE, F_SEAL_FUTURE_WRITE,
  F_SEAL_EXEC, MFD_ALLOW_SEALING, PROT_EXEC as X, PROT_READ as R, PROT_WRITE as W,
  ok, err, showOutcome, sameOutcome, type Outcome, type MPage,
} from "../helpers/model.js";

export const ARENA = 0x100000000;
export const ARENA_PAGES = 64;
export const MAX_PROCS = 3;
/** A descriptor number no process has open (the model's "bad fd"). */
export const BAD_FD = 99;
export const F_ADD_SEALS = 1033, F_GET_SEALS = 1034;

// ---- commands -------------------------------------------------------------------------------------

/**
 * An address: an arena page (+ a byte delta for unaligned cases), or the m-th mapped page of the
 * process (sorted by address) moved by dpg pages — so that ranges start on, next to, or just before
 * existing mappings, wherever the kernel put them.
 */
export type Addr = { pg: number; delta?: number } | { m: number; dpg: number };
/** A length: pages * PAGE - minus (minus > 0 exercises rounding up). */
export type Len = { pages: number; minus: number };
export type Kind = "anon" | "shanon" | "memfd-shared" | "memfd-private";
export type Place = "hint" | "fixed" | "noreplace" | "any";

export type Cmd =
  | { op: "mmap"; proc: number; kind: Kind; place: Place; at: Addr; len: Len; prot: number; fd: number; off: number; offDelta: number; populate: boolean }
  | { op: "munmap"; proc: number; at: Addr; len: Len }
  | { op: "mprotect"; proc: number; at: Addr; len: Len; prot: number }
  | { op: "mremap"; proc: number; at: Addr; oldLen: Len; newLen: Len; sameLen: boolean; flags: number; to: Addr }
  | { op: "madvise"; proc: number; at: Addr; len: Len; advice: number }
  | { op: "ftruncate"; proc: number; fd: number; size: number }
  | { op: "fallocate"; proc: number; fd: number; mode: number; off: number; len: number }
  | { op: "fstat"; proc: number; fd: number }
  | { op: "pwrite"; proc: number; fd: number; off: number; data: number[] }
  | { op: "pread"; proc: number; fd: number; off: number; len: number }
  /** pwrite from / pread into user memory: the kernel's own accesses to a process's pages */
  | { op: "pwritem" | "preadm"; proc: number; fd: number; off: number; at: Addr; boff: number; len: number }
  | { op: "memfd"; proc: number; sealing: boolean }
  /** F_ADD_SEALS, then F_GET_SEALS */
  | { op: "seal"; proc: number; fd: number; seals: number }
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
const prot = fc.constantFrom(0, R, R | W, R | W, R | W, R | W, R | W, R | W, R | W, R | X, W, X, R | W | X);
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
  populate: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});
const cmdMunmap = fc.record({ op: fc.constant("munmap" as const), proc, at: addr, len: len(0) });
const cmdMprotect = fc.record({ op: fc.constant("mprotect" as const), proc, at: addr, len: len(0), prot });
const cmdMremap = fc.record({
  op: fc.constant("mremap" as const),
  proc,
  at: addr,
  oldLen: fc.oneof({ weight: 20, arbitrary: len(1) }, { weight: 1, arbitrary: fc.constant({ pages: 0, minus: 0 }) }),
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
/** A file offset near the interesting places of a page (its start, middle, last word, last byte). */
const fileOff = fc.tuple(fc.integer({ min: 0, max: 8 }), fc.constantFrom(0, 1, 2048, 4092, 4095)).map(([p, d]) => p * PAGE + d);
const cmdPwrite = fc.record({
  op: fc.constant("pwrite" as const), proc, fd: fdPick, off: fileOff,
  data: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 6 }),
});
const cmdPread = fc.record({ op: fc.constant("pread" as const), proc, fd: fdPick, off: fileOff, len: fc.integer({ min: 1, max: 6 }) });
const cmdUserIo = fc
  .record({
    op: fc.constantFrom("pwritem" as const, "preadm" as const),
    proc, fd: fdPick, off: fileOff, at: accessAddr,
    // from 4090, more than 6 bytes run into the next page
    boff: fc.constantFrom(0, 100, 4090, 4090), len: fc.integer({ min: 1, max: 12 }),
  });
const cmdMemfd = fc.record({ op: fc.constant("memfd" as const), proc, sealing: fc.boolean() });
const cmdSeal = fc.record({
  op: fc.constant("seal" as const),
  proc,
  fd: fdPick,
  seals: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE, F_SEAL_FUTURE_WRITE, F_SEAL_SHRINK | F_SEAL_GROW) },
    { weight: 1, arbitrary: fc.constantFrom(F_SEAL_EXEC, F_SEAL_SEAL, F_SEAL_WRITE | F_SEAL_SEAL, 0x100) },
  ),
});
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

/**
 * Deterministic placement: only MAP_FIXED / MAP_FIXED_NOREPLACE mappings and mremap without a
 * kernel-chosen destination (in place, or MREMAP_FIXED), so that every address a sequence uses is the
 * same on every kernel, and two kernels' VMA layouts can be compared directly.
 */
const cmdMmapFixed = cmdMmap.map((c): Cmd => ({ ...c, place: c.place === "noreplace" ? "noreplace" : "fixed" }));
const cmdMremapFixed = cmdMremap.map((c): Cmd => ({
  ...c,
  flags: c.flags === MREMAP_MAYMOVE ? 0 : c.flags === (MREMAP_MAYMOVE | MREMAP_DONTUNMAP) ? c.flags | MREMAP_FIXED : c.flags,
}));

/** PROT_EXEC-only becomes PROT_READ|PROT_EXEC (see `commands`). */
const noExecOnly = <C extends { prot: number }>(c: C): C => (c.prot === X ? { ...c, prot: R | X } : c);

/**
 * Random command sequences; `forky` adds fork and exit (up to MAX_PROCS live processes);
 * `deterministic` keeps every address kernel-independent (see cmdMmapFixed); `noExecOnly` never
 * asks for PROT_EXEC-only memory — on a CPU with protection keys Linux gives such VMAs the
 * execute-only pkey, whose vm_flags bits then take part in VMA merging.
 */
export function commands(forky: boolean, maxSteps: number, opts: { deterministic?: boolean; noExecOnly?: boolean } = {}): fc.Arbitrary<Cmd[]> {
  const det = opts.deterministic ?? false;
  const mm = det ? cmdMmapFixed : cmdMmap;
  const mp = cmdMprotect as fc.Arbitrary<Cmd>;
  const cmd: fc.Arbitrary<Cmd> = fc.oneof(
    { weight: 30, arbitrary: cmdAccess },
    { weight: 14, arbitrary: opts.noExecOnly ? mm.map((c) => noExecOnly(c as Extract<Cmd, { op: "mmap" }>)) : mm },
    { weight: 5, arbitrary: cmdMunmap },
    { weight: 7, arbitrary: opts.noExecOnly ? mp.map((c) => noExecOnly(c as Extract<Cmd, { op: "mprotect" }>)) : mp },
    { weight: 10, arbitrary: det ? cmdMremapFixed : cmdMremap },
    { weight: 11, arbitrary: cmdMadvise },
    { weight: 4, arbitrary: cmdFtruncate },
    { weight: 4, arbitrary: cmdFallocate },
    { weight: 2, arbitrary: cmdFstat },
    { weight: 3, arbitrary: cmdPwrite },
    { weight: 3, arbitrary: cmdPread },
    { weight: 4, arbitrary: cmdUserIo },
    { weight: 1, arbitrary: cmdMemfd },
    { weight: 2, arbitrary: cmdSeal },
    { weight: 1, arbitrary: cmdClose },
    ...(forky ? [{ weight: 6, arbitrary: cmdFork }, { weight: 3, arbitrary: cmdExit }] : []),
  );
  return fc.array(cmd, { minLength: 1, maxLength: maxSteps, size: "max" });
}

// ---- targets --------------------------------------------------------------------------------------

/** One VMA (or the part of one a harness may look at) as the target reports it. */
export interface TVma {
  start: number;
  end: number;
  /** PROT_* bits */
  prot: number;
  /** VM_SHARED / 's' in /proc/pid/maps */
  shared: boolean;
  kind: "anon" | "shmem";
  ino: number;
  /** vm_pgoff in bytes */
  offset: number;
  /** VM_DONTCOPY / VM_WIPEONFORK / VM_MAYWRITE, where the target shows them */
  dontfork?: boolean;
  wipeonfork?: boolean;
  maywrite?: boolean;
}

/** "refused": a host harness will not run a step that could damage the harness itself. */
export type Result = Outcome | "refused";
export type SysOp = "mmap" | "munmap" | "mprotect" | "mremap" | "madvise" | "ftruncate" | "fallocate" | "close";

export interface TProc {
  /** The pid the model knows this process by (unique among live processes). */
  readonly pid: number;
  sys(op: SysOp, args: number[]): Result;
  memfd(flags: number): Outcome;
  /** fcntl(fd, F_ADD_SEALS | F_GET_SEALS, arg) */
  fcntl(fd: number, cmd: number, arg: number): Outcome;
  fstat(fd: number): { size: number; blocks: number; ino: number } | Outcome;
  pwrite(fd: number, data: number[], off: number): Outcome;
  pread(fd: number, len: number, off: number): number[] | Outcome;
  /** pwrite64 / pread64 with a buffer in the process's own memory. */
  pwriteFrom(fd: number, src: number, len: number, off: number): Result;
  preadTo(fd: number, dst: number, len: number, off: number): Result;
  access(addr: number, size: 1 | 4, value?: number): Result;
  fork(): TProc;
  exit(): void;
  vmas(): TVma[];
  /** /proc/pid/maps-like text, for failure messages. */
  maps(): string;
}

export interface Target {
  /** Whether fd numbers must equal the model's (lowest free descriptor); else they are translated. */
  readonly exactFds: boolean;
  /** Pages the target occupies for itself (the model counts them as taken). */
  reserved(vpn: number): boolean;
  /**
   * Addresses the kernel chooses itself (no MAP_FIXED, a taken hint, mremap moves): false — they must
   * be what the model's top-down rule gives; true (a kernel with ASLR) — the model adopts the
   * target's address after checking that it was free and page-aligned.
   */
  readonly adoptPlacement: boolean;
  /** Whether PROT_EXEC-only memory is readable (see MmModel.execOnlyReadable). */
  readonly execOnlyReadable: boolean;
  spawn(): TProc;
  /** null when every invariant holds (or the target has no checker), else the violation. */
  checkInvariants(): string | null;
}

// ---- running a sequence ------------------------------------------------------------------------------

export class Mismatch extends Error {}

export const hex = (n: number) => (n < 0 ? "-0x" + (-n).toString(16) : "0x" + n.toString(16));

interface Live {
  p: TProc;
  /** model fd -> target fd (identity for exactFds targets) */
  fdx: Map<number, number>;
}

/** Outcome counts per operation ("mmap ok", "load8 sig SIGBUS", "madvise err ENOMEM", ...). */
export type Stats = Map<string, number>;

export class Runner {
  readonly m = new MmModel();
  readonly live: Live[] = [];
  readonly trace: string[] = [];
  /** The address the target returned in the current step, for adoptPlacement targets. */
  private placed: number | null = null;
  /**
   * When set, after every step: each live process's VMAs inside [lo, hi) as text (boundaries,
   * protection, sharing), one entry per step — to compare two kernels' layouts.
   */
  layout: { lo: number; hi: number; steps: string[] } | null = null;

  constructor(readonly target: Target, readonly stats: Stats) {
    this.m.reserved = (vpn) => target.reserved(vpn);
    this.m.execOnlyReadable = target.execOnlyReadable;
    if (target.adoptPlacement) {
      this.m.place = (pid, len) => {
        const a = this.placed;
        // The target failed: any free range lets the model reach its own verdict (an error as well,
        // or a mismatch).
        if (a === null) return this.m.topdown(pid, len);
        if (a % PAGE !== 0 || this.m.intersects(this.m.proc(pid), a, len)) {
          this.fail(`the target placed ${hex(len)} bytes at ${hex(a)}, which is not a free page-aligned range`);
        }
        return a;
      };
    }
  }

  fail(msg: string): never {
    throw new Mismatch(`${msg}\n--- trace (step: command => target result) ---\n${this.trace.join("\n")}`);
  }

  private count(key: string): void {
    this.stats.set(key, (this.stats.get(key) ?? 0) + 1);
  }

  pick(n: number): Live {
    return this.live[n % this.live.length];
  }

  /** A model fd of the process (or BAD_FD), and the number to pass to the target. */
  fdOf(l: Live, pick: number): [number, number] {
    const fds = [...this.m.proc(l.p.pid).fds.keys()].sort((a, b) => a - b);
    const fd = pick < 0 || fds.length === 0 ? BAD_FD : fds[pick % fds.length];
    return [fd, l.fdx.get(fd) ?? (this.target.exactFds ? fd : 999)];
  }

  resolve(l: Live, a: Addr): number {
    if ("pg" in a) return ARENA + a.pg * PAGE + (a.delta ?? 0);
    const mapped = [...this.m.proc(l.p.pid).pages.keys()].sort((x, y) => x - y);
    return mapped.length === 0 ? ARENA + (a.m % ARENA_PAGES) * PAGE : (mapped[a.m % mapped.length] + a.dpg) * PAGE;
  }

  bytes(l: Len): number {
    return l.pages === 0 ? 0 : l.pages * PAGE - l.minus;
  }

  private record(desc: string, got: string): void {
    this.trace.push(`${this.trace.length}: ${desc} => ${got}`);
  }

  /** Compare and record one step; `model` runs only if the target did not refuse the step. */
  expectSame(desc: string, got: Result, model: () => Outcome): void {
    if (got === "refused") {
      this.record(desc, "refused (not run on the model)");
      this.count("refused");
      return;
    }
    this.placed = "ok" in got ? got.ok : null;
    const want = model();
    this.placed = null;
    this.record(desc, showOutcome(got));
    this.count(`${desc.split(" ")[0]} ${"ok" in got ? "ok" : showOutcome(got)}`);
    if (!sameOutcome(got, want)) this.fail(`step ${this.trace.length - 1} (${desc}): target ${showOutcome(got)}, model ${showOutcome(want)}`);
  }

  private expectText(desc: string, got: string, want: string): void {
    this.record(desc, got);
    this.count(`${desc.split(" ")[0]} ${got.startsWith("err") ? got : "ok"}`);
    if (got !== want) this.fail(`step ${this.trace.length - 1} (${desc}): target ${got}, model ${want}`);
  }

  memfdCreate(l: Live, flags: number): void {
    const got = l.p.memfd(flags);
    const [want, id] = this.m.memfdCreate(l.p.pid, flags);
    const fd = (want as { ok: number }).ok;
    if (this.target.exactFds) this.expectSame(`memfd_create pid=${l.p.pid}`, got, () => want);
    else {
      if (!("ok" in got)) this.fail(`memfd_create failed on the target: ${showOutcome(got)}`);
      this.record(`memfd_create pid=${l.p.pid}`, `ok ${got.ok} (model fd ${fd})`);
      l.fdx.set(fd, got.ok);
    }
    const st = l.p.fstat(l.fdx.get(fd) ?? fd);
    if (!("ino" in st)) this.fail(`fstat of a new memfd failed: ${showOutcome(st)}`);
    for (const f of this.m.files.values()) if (f.ino === st.ino) this.fail(`memfd got inode ${st.ino}, already used by live file ${f.id}`);
    this.m.files.get(id)!.ino = st.ino;
  }

  step(c: Cmd): void {
    const l = this.pick(c.proc);
    const p = l.p, pid = p.pid;
    switch (c.op) {
      case "access": {
        const a = this.resolve(l, c.at) + c.off;
        const v = c.write ? c.value : undefined;
        const d = `${c.write ? "store" : "load"}${c.size * 8} pid=${pid} ${hex(a)}${c.write ? " " + hex(c.value) : ""}`;
        this.expectSame(d, p.access(a, c.size, v), () => this.m.access(pid, a, c.size, v));
        return;
      }
      case "mmap": {
        const anon = c.kind === "anon" || c.kind === "shanon";
        const shared = c.kind === "shanon" || c.kind === "memfd-shared";
        const place = c.place === "fixed" ? MAP_FIXED : c.place === "noreplace" ? MAP_FIXED_NOREPLACE : 0;
        const flags = (shared ? MAP_SHARED : MAP_PRIVATE) | (anon ? MAP_ANONYMOUS : 0) | place | (c.populate ? MAP_POPULATE : 0);
        const a = c.place === "any" ? 0 : this.resolve(l, c.at);
        const [fd, tfd] = anon ? [-1, -1] : this.fdOf(l, c.fd);
        const off = c.off * PAGE + c.offDelta;
        const n = this.bytes(c.len);
        const d = `mmap pid=${pid} ${hex(a)} len=${hex(n)} prot=${c.prot} flags=${hex(flags)} fd=${fd} off=${hex(off)}`;
        this.expectSame(d, p.sys("mmap", [a, n, c.prot, flags, tfd, off]), () => this.m.mmap(pid, a, n, c.prot, flags, fd, off));
        return;
      }
      case "munmap": {
        const a = this.resolve(l, c.at), n = this.bytes(c.len);
        this.expectSame(`munmap pid=${pid} ${hex(a)} ${hex(n)}`, p.sys("munmap", [a, n]), () => this.m.munmap(pid, a, n));
        return;
      }
      case "mprotect": {
        const a = this.resolve(l, c.at), n = this.bytes(c.len);
        this.expectSame(`mprotect pid=${pid} ${hex(a)} ${hex(n)} prot=${c.prot}`, p.sys("mprotect", [a, n, c.prot]), () => this.m.mprotect(pid, a, n, c.prot));
        return;
      }
      case "mremap": {
        const a = this.resolve(l, c.at), to = this.resolve(l, c.to);
        const o = this.bytes(c.oldLen), n = c.sameLen ? o : this.bytes(c.newLen);
        const vmas = p.vmas();
        const vmaAt = (x: number) => vmas.find((v) => v.start <= x && x < v.end) ?? null;
        const d = `mremap[${c.flags}] pid=${pid} ${hex(a)} old=${hex(o)} new=${hex(n)} to=${hex(to)}`;
        this.expectSame(d, p.sys("mremap", [a, o, n, c.flags, to]), () => this.m.mremap(pid, a, o, n, c.flags, to, vmaAt));
        return;
      }
      case "madvise": {
        const a = this.resolve(l, c.at), n = this.bytes(c.len);
        this.expectSame(`madvise pid=${pid} ${hex(a)} ${hex(n)} advice=${c.advice}`, p.sys("madvise", [a, n, c.advice]), () => this.m.madvise(pid, a, n, c.advice));
        return;
      }
      case "ftruncate": {
        const [fd, tfd] = this.fdOf(l, c.fd);
        this.expectSame(`ftruncate pid=${pid} fd=${fd} ${hex(c.size)}`, p.sys("ftruncate", [tfd, c.size]), () => this.m.ftruncate(pid, fd, c.size));
        return;
      }
      case "fallocate": {
        const [fd, tfd] = this.fdOf(l, c.fd);
        this.expectSame(`fallocate pid=${pid} fd=${fd} mode=${c.mode} off=${hex(c.off)} len=${hex(c.len)}`,
          p.sys("fallocate", [tfd, c.mode, c.off, c.len]), () => this.m.fallocate(pid, fd, c.mode, c.off, c.len));
        return;
      }
      case "fstat": {
        const [fd, tfd] = this.fdOf(l, c.fd);
        const st = p.fstat(tfd);
        const got = "size" in st ? `size=${st.size} blocks=${st.blocks}` : showOutcome(st);
        const ms = this.m.fstat(pid, fd);
        this.expectText(`fstat pid=${pid} fd=${fd}`, got, ms ? `size=${ms.size} blocks=${ms.blocks}` : "err EBADF");
        return;
      }
      case "pwrite": {
        const [fd, tfd] = this.fdOf(l, c.fd);
        this.expectSame(`pwrite pid=${pid} fd=${fd} off=${hex(c.off)} [${c.data.join(",")}]`, p.pwrite(tfd, c.data, c.off), () => this.m.pwrite(pid, fd, c.data, c.off));
        return;
      }
      case "pread": {
        const [fd, tfd] = this.fdOf(l, c.fd);
        const show = (r: number[] | Outcome) => (Array.isArray(r) ? `[${r.join(",")}]` : showOutcome(r));
        this.expectText(`pread pid=${pid} fd=${fd} off=${hex(c.off)} len=${c.len}`, show(p.pread(tfd, c.len, c.off)), show(this.m.pread(pid, fd, c.len, c.off)));
        return;
      }
      case "pwritem":
      case "preadm": {
        const [fd, tfd] = this.fdOf(l, c.fd);
        const a = this.resolve(l, c.at) + c.boff;
        const d = `${c.op === "pwritem" ? "pwrite" : "pread"}(user) pid=${pid} fd=${fd} off=${hex(c.off)} buf=${hex(a)} len=${c.len}`;
        // A buffer that maps the file itself would make the result depend on copy order: skip it.
        const mine = this.m.proc(pid).fds.get(fd);
        if (mine !== undefined && [a, a + c.len - 1].some((x) => this.m.fileShownAt(pid, x) === mine)) {
          this.record(d, "skipped (the buffer maps the same file)");
          return;
        }
        if (c.op === "pwritem") this.expectSame(d, p.pwriteFrom(tfd, a, c.len, c.off), () => this.m.pwriteFrom(pid, fd, a, c.len, c.off));
        else this.expectSame(d, p.preadTo(tfd, a, c.len, c.off), () => this.m.preadTo(pid, fd, a, c.len, c.off));
        return;
      }
      case "memfd":
        if (this.m.proc(pid).fds.size < 6) this.memfdCreate(l, c.sealing ? MFD_ALLOW_SEALING : 0);
        return;
      case "seal": {
        const [fd, tfd] = this.fdOf(l, c.fd);
        this.expectSame(`F_ADD_SEALS pid=${pid} fd=${fd} ${hex(c.seals)}`, l.p.fcntl(tfd, F_ADD_SEALS, c.seals), () => this.m.addSeals(pid, fd, c.seals));
        this.expectSame(`F_GET_SEALS pid=${pid} fd=${fd}`, l.p.fcntl(tfd, F_GET_SEALS, 0), () => this.m.getSeals(pid, fd));
        return;
      }
      case "close": {
        const [fd, tfd] = this.fdOf(l, c.fd);
        this.expectSame(`close pid=${pid} fd=${fd}`, p.sys("close", [tfd]), () => this.m.close(pid, fd));
        if (!this.m.proc(pid).fds.has(fd)) l.fdx.delete(fd);
        return;
      }
      case "fork": {
        if (this.live.length >= MAX_PROCS) return;
        const child = p.fork();
        this.m.fork(pid, child.pid);
        this.live.push({ p: child, fdx: new Map(l.fdx) });
        this.record(`fork pid=${pid}`, `child ${child.pid}`);
        this.count("fork");
        return;
      }
      case "exit": {
        if (this.live.length < 2) return;
        const victim = this.live[1 + (c.proc % (this.live.length - 1))]; // never the first process
        victim.p.exit();
        this.m.exit(victim.p.pid);
        this.live.splice(this.live.indexOf(victim), 1);
        this.record(`exit pid=${victim.p.pid}`, "done");
        this.count("exit");
        return;
      }
    }
  }

  /** After each step: the target's invariants, then each live process's VMAs against the model. */
  check(): void {
    const bad = this.target.checkInvariants();
    if (bad) this.fail(`after step ${this.trace.length - 1}: ${bad}`);
    const lay: string[] = [];
    for (const [i, l] of this.live.entries()) {
      const vmas = l.p.vmas();
      this.compareVmas(l, vmas);
      const w = this.layout;
      if (w) {
        const inside = vmas.filter((v) => v.end > w.lo && v.start < w.hi);
        lay.push(`proc#${i}: ${inside.map((v) => `${hex(v.start)}-${hex(v.end)} ${"-r"[v.prot & 1]}${"-w"[(v.prot >> 1) & 1]}${"-x"[(v.prot >> 2) & 1]}${v.shared ? "s" : "p"}`).join(" ")}`);
      }
    }
    this.layout?.steps.push(lay.join("\n  "));
  }

  compareVmas(l: Live, vmas: TVma[]): void {
    const mp = this.m.proc(l.p.pid);
    const show = (v: TVma) => `${hex(v.start)}-${hex(v.end)} prot=${v.prot} ${v.shared ? "shared" : "private"} ${v.kind} ino=${v.ino} off=${hex(v.offset)}`;
    const bad = (what: string, v: TVma, a: number, e?: MPage): never =>
      this.fail(`after step ${this.trace.length - 1}, pid ${l.p.pid}: ${what} at ${hex(a)} (target VMA ${show(v)}; model ${e ? JSON.stringify({ ...e, priv: undefined }) : "unmapped"})\ntarget maps:\n${l.p.maps()}`);
    let n = 0;
    for (const v of vmas) {
      for (let a = v.start; a < v.end; a += PAGE) {
        const e = mp.pages.get(a / PAGE);
        if (!e) return bad("the target maps a page the model does not", v, a);
        if (v.prot !== e.prot) bad("protection differs", v, a, e);
        if (v.shared !== e.shared) bad("sharing differs", v, a, e);
        if (v.kind !== (e.file === null ? "anon" : "shmem")) bad("memory type differs", v, a, e);
        if (e.file !== null) {
          const f = this.m.files.get(e.file)!;
          if (f.ino === undefined) {
            for (const o of this.m.files.values()) if (o.ino === v.ino) bad(`inode ${v.ino} already belongs to model file ${o.id}`, v, a, e);
            f.ino = v.ino;
          } else if (f.ino !== v.ino) bad(`inode differs (model file ${f.id} is inode ${f.ino})`, v, a, e);
          if (v.offset / PAGE + (a - v.start) / PAGE !== e.pgoff) bad("file offset differs", v, a, e);
        }
        if (v.dontfork !== undefined && v.dontfork !== e.dontfork) bad("VM_DONTCOPY differs", v, a, e);
        if (v.wipeonfork !== undefined && v.wipeonfork !== e.wipeonfork) bad("VM_WIPEONFORK differs", v, a, e);
        if (v.maywrite !== undefined && v.maywrite !== e.maywrite) bad("VM_MAYWRITE differs", v, a, e);
        n++;
      }
    }
    if (n !== mp.pages.size) {
      const missing = [...mp.pages.keys()].filter((vpn) => !vmas.some((v) => v.start <= vpn * PAGE && vpn * PAGE < v.end));
      this.fail(`after step ${this.trace.length - 1}, pid ${l.p.pid}: the model maps pages the target does not: ${missing.slice(0, 8).map((x) => hex(x * PAGE)).join(" ")}\ntarget maps:\n${l.p.maps()}`);
    }
  }

  /**
   * A fresh process with two memfds — 4 pages that may be sealed (MFD_ALLOW_SEALING), and 2 pages
   * + 100 bytes that may not — then the commands.
   */
  run(cmds: Cmd[]): void {
    const root = this.target.spawn();
    this.m.spawn(root.pid);
    this.live.push({ p: root, fdx: new Map() });
    this.record("spawn", `pid ${root.pid}`);
    this.memfdCreate(this.live[0], MFD_ALLOW_SEALING);
    this.memfdCreate(this.live[0], 0);
    for (const [i, size] of [[0, 4 * PAGE], [1, 2 * PAGE + 100]] as const) this.step({ op: "ftruncate", proc: 0, fd: i, size });
    this.check();
    for (const c of cmds) {
      this.step(c);
      this.check();
    }
  }

  /** Every process exits (children first); the target must keep its invariants after each exit. */
  teardown(): void {
    while (this.live.length > 0) {
      const l = this.live.pop()!;
      l.p.exit();
      this.m.exit(l.p.pid);
      this.record(`exit pid=${l.p.pid}`, "done");
      const bad = this.target.checkInvariants();
      if (bad) this.fail(`after the exit of ${l.p.pid} in teardown: ${bad}`);
    }
  }
}

/** Print outcome counts (MM_MODEL_STATS=1). */
export function formatStats(stats: Stats): string {
  return [...stats].sort().map(([k, v]) => `  ${k}: ${v}`).join("\n");
}

export { ok, err };
