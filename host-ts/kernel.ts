// Kernel: boots the Wasm mini-kernel on a shared memory and owns its processes.
//
// One Kernel = one WebAssembly.Memory with one booted kernel in it. Worker threads attach
// further instances of the same module to the same memory (workers/); they never boot.
import * as A from "./abi.gen.js";
import { loadKernelModule, instantiate, type Build, type KernelExports } from "./wasm.js";
import { SystemError, errnoName, type KernelPanic } from "./errors.js";
import { KernelEntry } from "./entry.js";
import { Thread, type Num } from "./thread.js";
import { Process } from "./process.js";
import { formatSyscall, type TraceSink } from "./debug/strace.js";
import { syscallNumber, toRegister, OutOfRangeError } from "./args.js";
import { Scheduler, type ThreadBody, type KernelRunOptions } from "./sched/scheduler.js";

/** Options of {@link Kernel.boot}; every field is optional. */
export interface BootOptions {
  /** Bytes of simulated memory (physical frames + kernel records). Default 256 MiB. */
  memoryBytes?: number;
  /** "debug" (default in tests): invariant checker and checks compiled in; "release": -O3. */
  build?: Build;
  /** A compiled kernel module to use instead of loading build/uffdlab.<build>.wasm. */
  module?: WebAssembly.Module;
  /** strace-like trace of every system call: true for console.error, or a sink. */
  trace?: boolean | TraceSink;
  /**
   * false: read faults of private anonymous memory allocate a page (and the VMA's anon_vma) instead
   * of mapping the shared zero page, and UFFDIO_ZEROPAGE installs a zeroed page — Linux's
   * `mm_forbids_zeropage()`, as on hosts booted with the zero page off (paravirtualised guests with
   * `pvm_no_zero_page=1`), where VMA merges differ from stock Linux. Default true (stock Linux).
   */
  zeroPage?: boolean;
}

/** Options of {@link Kernel.spawn}: the new process's privileges. */
export interface SpawnOptions {
  /** capability bits (CAP_SYS_PTRACE, CAP_SYS_ADMIN); default none */
  caps?: number;
  /** may open /dev/userfaultfd (default true, as root); false: open gives EACCES */
  openDevUserfaultfd?: boolean;
}

/**
 * Capability bit for {@link SpawnOptions.caps}: CAP_SYS_PTRACE, which userfaultfd(2) without
 * UFFD_USER_MODE_ONLY and UFFD_FEATURE_EVENT_FORK require (else EPERM).
 */
export const CAP_SYS_PTRACE = A.CAP_SYS_PTRACE;
/** Capability bit for {@link SpawnOptions.caps}: CAP_SYS_ADMIN. */
export const CAP_SYS_ADMIN = A.CAP_SYS_ADMIN;
/** Capability bit for {@link SpawnOptions.caps}: CAP_SYS_RESOURCE. */
export const CAP_SYS_RESOURCE = A.CAP_SYS_RESOURCE;

const PAGE = 64 * 1024;

/**
 * One booted mini-kernel in one shared WebAssembly.Memory, and the processes it runs. Start
 * with {@link Kernel.boot}, then {@link Kernel.spawn} processes; worker threads
 * {@link Kernel.attach} to the same memory. A failed kernel call throws SystemError; a trap
 * inside the kernel kills it for good ({@link KernelPanic}).
 */
export class Kernel {
  /** The kernel's exports; those that take the big kernel lock are guarded (entry.ts). */
  readonly exports: KernelExports;
  /** @internal The entry guards and the panic record (entry.ts). */
  readonly entry: KernelEntry;
  /** Which kernel build runs: "debug" or "release". */
  readonly build: Build;
  /** strace sink, or null when tracing is off. */
  trace: TraceSink | null;
  private readonly procs = new Map<number, Process>();

  private constructor(
    /** The compiled kernel module (pass it to workers, with `memory`, to attach). */
    readonly module: WebAssembly.Module,
    /** The shared memory holding the kernel and all simulated physical memory; it never grows. */
    readonly memory: WebAssembly.Memory,
    build: Build,
    trace: TraceSink | null,
    gate: Int32Array | null = null,
  ) {
    this.entry = new KernelEntry(instantiate(module, memory), memory, gate);
    this.exports = this.entry.exports;
    this.build = build;
    this.trace = trace;
  }

  /** Boot a kernel in a fresh shared memory. */
  static async boot(opts: BootOptions = {}): Promise<Kernel> {
    const build = opts.build ?? "debug";
    const bytes = opts.memoryBytes ?? A.DEFAULT_MEM_BYTES;
    if (!Number.isInteger(bytes) || bytes < A.MIN_MEM_BYTES || bytes > 0xffff0000) {
      throw new RangeError(`memoryBytes must be an integer in [${A.MIN_MEM_BYTES}, ${0xffff0000}], got ${bytes}`);
    }
    const pages = Math.ceil(bytes / PAGE);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const module = opts.module ?? (await loadKernelModule(build));
    const trace = opts.trace === true ? (line: string) => console.error(line) : opts.trace || null;
    if (opts.zeroPage !== undefined && typeof opts.zeroPage !== "boolean") {
      throw new TypeError(`zeroPage must be a boolean, got ${typeof opts.zeroPage}`);
    }
    const k = new Kernel(module, memory, build, trace);
    const r = k.exports.kernel_boot(pages * PAGE, opts.zeroPage === false ? A.BOOT_NO_ZERO_PAGE : 0);
    if (r < 0) throw new SystemError(-r, "kernel_boot");
    return k;
  }

  /**
   * Attach to a kernel another Kernel booted in `memory` (a worker thread does this).
   * The attached instance shares all kernel state; it owns no processes of its own.
   * `entryGate` (runInWorker's workers): the gate every entry of this instance passes.
   */
  static attach(module: WebAssembly.Module, memory: WebAssembly.Memory, build: Build = "debug", entryGate: Int32Array | null = null): Kernel {
    const k = new Kernel(module, memory, build, null, entryGate);
    if (!k.exports.kernel_booted()) throw new Error("Kernel.attach: the memory holds no booted kernel");
    return k;
  }

  /**
   * A new process with an empty address space and no open files. `caps`: capability bits
   * (CAP_SYS_PTRACE, ...). `openDevUserfaultfd`: whether it may open /dev/userfaultfd
   * (default true: it runs as root; false: EACCES, as for a user the node's mode 0600 keeps out).
   * A forked child inherits both.
   */
  spawn(opts: SpawnOptions = {}): Process {
    const h = this.exports.process_create(opts.caps ?? 0, opts.openDevUserfaultfd === false ? 0 : A.PERM_DEV_USERFAULTFD);
    if (h < 0) throw new SystemError(-h, "spawn");
    const p = new Process(this, h % 65536, h);
    this.procs.set(p.pid, p);
    return p;
  }

  /**
   * The Process object for a pid that exists in the kernel (e.g. a forked child). A Process
   * kept for an earlier process with the same pid (ids wrap at 32768) is not returned.
   */
  adopt(pid: number): Process {
    const h = this.exports.task_handle(pid);
    let p = this.procs.get(pid);
    if (!p || (h > 0 && p.thread.handle !== h)) {
      p = new Process(this, pid, h > 0 ? h : undefined);
      this.procs.set(pid, p);
    }
    return p;
  }

  /** Forget a process that exited. */
  released(pid: number): void {
    this.procs.delete(pid);
  }

  /** Thread objects for a tid in this kernel (used by worker attach), or for a task's handle. */
  threadFor(tid: number, pid: number, handle?: number): Thread {
    return new Thread(this, tid, pid, handle);
  }

  /**
   * The raw system-call path: arguments into the host frame, one call, result out. `nr` and
   * each argument are register values (host-ts/args.ts): integers in [-2^63, 2^64), else a
   * TypeError / RangeError; missing arguments are 0. Integer numbers below 2^53 take a
   * BigInt-free path (two 32-bit halves), with the same register values as the exact one.
   */
  syscallRaw(t: Thread, rax: Num, args: Num[]): bigint {
    const nr = syscallNumber(rax);
    if (args.length > 6) throw new OutOfRangeError("args.length", "<= 6 (six argument registers)", args.length);
    const f = t.frame;
    t.checkAlive(`syscall ${nr}`);
    for (let i = 0; i < 6; i++) {
      const o = A.host_frame.arg0 + 8 * i;
      const v = i < args.length ? args[i] : 0;
      // An int32 number (most arguments: fds, flags, lengths, -1) is written as two 32-bit
      // halves, its sign extended as two's complement does; a larger non-negative safe integer
      // (an address) as its two halves; anything else through toRegister's exact checks.
      if (typeof v === "number" && (v | 0) === v) {
        f.setInt32(o, v, true);
        f.setInt32(o + 4, v < 0 ? -1 : 0, true);
      } else if (typeof v === "number" && v >= 0 && v <= Number.MAX_SAFE_INTEGER && Math.floor(v) === v) {
        f.setUint32(o, v >>> 0, true);
        f.setUint32(o + 4, Math.floor(v / 4294967296), true);
      } else {
        f.setBigUint64(o, toRegister(v, i), true);
      }
    }
    f.setInt32(A.host_frame.nr, nr, true);
    const r = this.exports.syscall(t.handle);
    if (r < 0) throw new SystemError(-r, `syscall ${nr}`);
    const ret = f.getBigInt64(A.host_frame.ret, true);
    if (this.trace) this.trace(formatSyscall(t.pid, t.tid, nr, args, ret));
    return ret;
  }

  /** Call a system call and throw SystemError on failure; returns the (non-negative) result. */
  syscallOrThrow(t: Thread, name: string, nr: Num, args: Num[]): bigint {
    const r = t.syscall(nr, ...args);
    if (r < 0n && r > -4096n) throw new SystemError(Number(-r), name);
    return r;
  }

  /**
   * Run the debug build's invariant checker; throws with the violated invariant's name.
   * Returns false when the build has no checker (release).
   */
  checkInvariants(): boolean {
    const r = this.exports.mm_check_invariants();
    if (r === A.INV_NOT_COMPILED) return false;
    if (r !== A.INV_OK) {
      const dv = new DataView(this.memory.buffer as ArrayBuffer);
      const detail = dv.getBigUint64(this.exports.mm_check_detail_addr(), true);
      throw new Error(`kernel invariant violated: ${INV_NAMES[r] ?? r} (detail 0x${detail.toString(16)})`);
    }
    return true;
  }

  /**
   * Run async thread bodies under the deterministic scheduler: the same seed gives the
   * same interleaving. Returns the schedule (tids in turn order). It always ends: with
   * `opts.signal` aborted it rejects with the signal's reason, past `opts.timeoutMs`
   * (wall clock) with RunTimeoutError, past `opts.maxTurns` turns with TurnLimitError, and
   * with DeadlockError when every thread is blocked for good; each of those carries the seed,
   * the last turns and what every thread was blocked on (`run`, a RunContext). A long run
   * yields to the event loop now and then, so timers and the signal fire.
   */
  async run(seed: number, bodies: [Thread, ThreadBody][], opts: KernelRunOptions = {}): Promise<number[]> {
    const s = new Scheduler(this, seed);
    await s.run(bodies, opts);
    return s.trace;
  }

  /**
   * The panic the kernel died of (a trap inside an entry; see KernelPanic), or null while it
   * lives. Once it panicked, every entry from every thread throws it.
   */
  panicked(): KernelPanic | null {
    return this.entry.panic();
  }

  /** Kernel counters. */
  stats(): KernelStats {
    const s = (w: number) => this.exports.kernel_stat(w);
    return {
      memBytes: s(A.KSTAT_MEM_BYTES),
      frames: s(A.KSTAT_NR_FRAMES),
      freeFrames: s(A.KSTAT_NR_FREE),
      slabFrames: s(A.KSTAT_SLAB_FRAMES),
      faults: s(A.KSTAT_NR_FAULTS),
      syscalls: s(A.KSTAT_NR_SYSCALLS),
      tasks: s(A.KSTAT_NR_TASKS),
      inodes: s(A.KSTAT_NR_INODES),
      uffdCtxs: s(A.KSTAT_UFFD_CTXS),
      uffdEvents: s(A.KSTAT_UFFD_EVENTS),
      slabObjects: s(A.KSTAT_SLAB_OBJECTS),
    };
  }

  /** Live objects per slab cache (vma, mm, file, inode, files, uffd_ctx, small, uffd_event): leak checks. */
  slabCaches(): Record<string, number> {
    return Object.fromEntries(SLAB_CACHES.map((name, i) => [name, this.exports.kernel_stat(A.KSTAT_SLAB_ACTIVE + i)]));
  }
}

/** The kernel's counters, from {@link Kernel.stats}: a snapshot. */
export interface KernelStats {
  /** The bytes of memory the kernel was booted with. */
  memBytes: number;
  /** Page frames (4 KiB each) the kernel manages. */
  frames: number;
  /** Page frames on the free list. */
  freeFrames: number;
  /** Page frames the slab caches hold. */
  slabFrames: number;
  /** Page faults handled (handle_mm_fault calls) since boot. */
  faults: number;
  /** System calls made since boot. */
  syscalls: number;
  /** Live tasks (threads). */
  tasks: number;
  /** Live inodes (memfds and shared anonymous memory, pipes, guest_memfds). */
  inodes: number;
  /** live userfaultfd contexts (one per userfaultfd file, plus FORK children not yet read) */
  uffdCtxs: number;
  /** non-cooperative events prepared and not yet read or dropped */
  uffdEvents: number;
  /** kernel objects allocated from the slab caches (files, inodes, VMAs, VMs, ...) */
  slabObjects: number;
}

/** The slab caches in kernel-as/init/state.ts order (CACHE_*). */
const SLAB_CACHES = ["vma", "mm", "file", "inode", "files", "uffd_ctx", "small", "uffd_event"] as const;

const INV_NAMES: Record<number, string> = {
  [A.INV_VMA_ORDER]: "VMA order/alignment", [A.INV_VMA_COUNT]: "VMA count", [A.INV_MAPCOUNT]: "page mapcount",
  [A.INV_REFCOUNT]: "page refcount", [A.INV_PTE_OUTSIDE_VMA]: "PTE outside any VMA", [A.INV_PAGECACHE]: "page cache",
  [A.INV_FREE_LIST]: "free list", [A.INV_PGTABLE_COUNT]: "page-table entry count", [A.INV_PTE_PERMS]: "PTE permissions",
  [A.INV_ANON_VMA]: "anonymous page's anon_vma", [A.INV_FD_TABLE]: "fd table", [A.INV_PIPE]: "pipe ring",
};

export { errnoName };
