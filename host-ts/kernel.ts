// Kernel: boots the Wasm mini-kernel on a shared memory and owns its processes.
//
// One Kernel = one WebAssembly.Memory with one booted kernel in it. Worker threads attach
// further instances of the same module to the same memory (workers/); they never boot.
import * as A from "./abi.gen.js";
import { loadKernelModule, instantiate, type Build, type KernelExports } from "./wasm.js";
import { SystemError, errnoName } from "./errors.js";
import { Thread, type Num } from "./thread.js";
import { Process } from "./process.js";
import { formatSyscall, type TraceSink } from "./debug/strace.js";
import { Scheduler, type ThreadBody } from "./sched/scheduler.js";

export interface BootOptions {
  /** Bytes of simulated memory (physical frames + kernel records). Default 256 MiB. */
  memoryBytes?: number;
  /** "debug" (default in tests): invariant checker and checks compiled in; "release": -O3. */
  build?: Build;
  /** A compiled kernel module to use instead of loading build/uffdlab.<build>.wasm. */
  module?: WebAssembly.Module;
  /** strace-like trace of every system call: true for console.error, or a sink. */
  trace?: boolean | TraceSink;
}

/** Capability bits a process can hold (include/uapi/linux/capability.h numbering). */
export const CAP_SYS_PTRACE = A.CAP_SYS_PTRACE;
export const CAP_SYS_ADMIN = A.CAP_SYS_ADMIN;

const PAGE = 64 * 1024;

export class Kernel {
  readonly exports: KernelExports;
  readonly build: Build;
  /** strace sink, or null when tracing is off. */
  trace: TraceSink | null;
  private readonly procs = new Map<number, Process>();

  private constructor(readonly module: WebAssembly.Module, readonly memory: WebAssembly.Memory, build: Build, trace: TraceSink | null) {
    this.exports = instantiate(module, memory);
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
    const k = new Kernel(module, memory, build, trace);
    const r = k.exports.kernel_boot(pages * PAGE);
    if (r < 0) throw new SystemError(-r, "kernel_boot");
    return k;
  }

  /**
   * Attach to a kernel another Kernel booted in `memory` (a worker thread does this).
   * The attached instance shares all kernel state; it owns no processes of its own.
   */
  static attach(module: WebAssembly.Module, memory: WebAssembly.Memory, build: Build = "debug"): Kernel {
    const k = new Kernel(module, memory, build, null);
    if (!k.exports.kernel_booted()) throw new Error("Kernel.attach: the memory holds no booted kernel");
    return k;
  }

  /** A new process with an empty address space and no open files. */
  spawn(opts: { caps?: number } = {}): Process {
    const pid = this.exports.process_create(opts.caps ?? 0);
    if (pid < 0) throw new SystemError(-pid, "spawn");
    return this.adopt(pid);
  }

  /** The Process object for a pid that exists in the kernel (e.g. a forked child). */
  adopt(pid: number): Process {
    let p = this.procs.get(pid);
    if (!p) {
      p = new Process(this, pid);
      this.procs.set(pid, p);
    }
    return p;
  }

  /** Forget a process that exited. */
  released(pid: number): void {
    this.procs.delete(pid);
  }

  /** Thread objects for a tid in this kernel (used by worker attach). */
  threadFor(tid: number, pid: number): Thread {
    return new Thread(this, tid, pid);
  }

  /** The raw system-call path: arguments into the host frame, one call, result out. */
  syscallRaw(t: Thread, nr: number, args: Num[]): bigint {
    const f = t.frame;
    f.setInt32(A.host_frame.nr, nr, true);
    for (let i = 0; i < 6; i++) {
      const a = args[i] ?? 0;
      f.setBigUint64(A.host_frame.arg0 + 8 * i, BigInt.asUintN(64, typeof a === "bigint" ? a : BigInt(a)), true);
    }
    const r = this.exports.syscall(t.tid);
    if (r < 0) throw new SystemError(-r, `syscall ${nr}`);
    const ret = f.getBigInt64(A.host_frame.ret, true);
    if (this.trace) this.trace(formatSyscall(t.pid, t.tid, nr, args, ret));
    return ret;
  }

  /** Call a system call and throw SystemError on failure; returns the (non-negative) result. */
  syscallOrThrow(t: Thread, name: string, nr: number, args: Num[]): bigint {
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
   * same interleaving. Returns the schedule (tids in turn order).
   */
  async run(seed: number, bodies: [Thread, ThreadBody][]): Promise<number[]> {
    const s = new Scheduler(this, seed);
    await s.run(bodies);
    return s.trace;
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
    };
  }

  /** Live objects per slab cache (vma, mm, file, inode, files, uffd_ctx, small, uffd_event): leak checks. */
  slabObjects(): Record<string, number> {
    return Object.fromEntries(SLAB_CACHES.map((name, i) => [name, this.exports.kernel_stat(A.KSTAT_SLAB_ACTIVE + i)]));
  }
}

export interface KernelStats {
  memBytes: number;
  frames: number;
  freeFrames: number;
  slabFrames: number;
  faults: number;
  syscalls: number;
  tasks: number;
  inodes: number;
  /** live userfaultfd contexts (one per userfaultfd file, plus FORK children not yet read) */
  uffdCtxs: number;
  /** non-cooperative events prepared and not yet read or dropped */
  uffdEvents: number;
}

/** The slab caches in kernel-as/init/state.ts order (CACHE_*). */
const SLAB_CACHES = ["vma", "mm", "file", "inode", "files", "uffd_ctx", "small", "uffd_event"] as const;

const INV_NAMES: Record<number, string> = {
  [A.INV_VMA_ORDER]: "VMA order/alignment", [A.INV_VMA_COUNT]: "VMA count", [A.INV_MAPCOUNT]: "page mapcount",
  [A.INV_REFCOUNT]: "page refcount", [A.INV_PTE_OUTSIDE_VMA]: "PTE outside any VMA", [A.INV_PAGECACHE]: "page cache",
  [A.INV_FREE_LIST]: "free list", [A.INV_PGTABLE_COUNT]: "page-table entry count", [A.INV_PTE_PERMS]: "PTE permissions",
  [A.INV_ANON_VMA]: "anonymous page's anon_vma",
};

export { errnoName };
