// Loading the kernel module and the typed view of its exports (kernel-as/index.ts).
import { kernelBytes, readUrl } from "./kernel-bytes.js";

/**
 * The kernel's raw WebAssembly exports ({@link Kernel.exports}), as kernel-as/index.ts declares
 * them: the layer below Process and Thread, for tests, debuggers and the typed fds. Tasks are
 * named by handles (see Thread.handle); results are values or -errno, or ACCESS_* statuses for
 * the uaccess_* entries (negative: SIGSEGV, SIGBUS, OOM, must wait). Results and structures
 * land in the task's host frame or bounce page. Entries that take the big kernel lock are
 * guarded: after a panic they throw {@link KernelPanic}.
 */
export interface KernelExports {
  /** Boot the kernel in the first `mem_bytes` of memory with BOOT_* `flags`: 0 or -errno. Called once, by Kernel.boot. */
  kernel_boot(mem_bytes: number, flags: number): number;
  /** 1 once a kernel was booted in this memory, else 0. */
  kernel_booted(): number;
  /** From now on more than one host thread may enter the kernel (every entry takes the big kernel lock). Call before a second thread starts. */
  kernel_enable_smp(): void;
  /** Task arguments are handles (see Thread.handle); process_create and thread_create return one. */
  process_create(caps: number, perm: number): number;
  /** A new thread in the process of task `handle` (clone(2)): its handle, or -errno. */
  thread_create(handle: number): number;
  /** The handle of the live task `tid`, or -ESRCH. */
  task_handle(tid: number): number;
  /** The linear-memory address of task `handle`'s host frame, or 0 for no such task. */
  task_frame_addr(handle: number): number;
  /** The host's timer for the task's waiting call ran out: 1 if it was still waiting (its reissue returns), 0 if woken first. */
  task_timeout(handle: number): number;
  /** Run the system call in task `handle`'s host frame (nr, arg0..arg5); the result goes to the frame's `ret`. 0, or -errno when the call could not be made (e.g. -ESRCH). */
  syscall(handle: number): number;
  /** Load `size` (1, 2, 4) bytes at `addr` as an unsigned number, or 8 bytes into the frame's `value` (returns 0); negative: an ACCESS_* status. */
  uaccess_load(handle: number, addr: number, size: number): number;
  /** Store `size` (1, 2, 4) bytes of `value`, or 8 bytes from the frame's `value`, at `addr`: an ACCESS_* status. */
  uaccess_store(handle: number, addr: number, size: number, value: number): number;
  /** Copy `len` (<= BOUNCE_SIZE) bytes at `addr` into the bounce page: bytes copied, or an ACCESS_* status. */
  uaccess_read(handle: number, addr: number, len: number): number;
  /** Copy `len` (<= BOUNCE_SIZE) bytes from the bounce page to `addr`: bytes copied, or an ACCESS_* status. */
  uaccess_write(handle: number, addr: number, len: number): number;
  /** Resolve an access at `addr` (`write` 1 for a write), faulting as needed: the linear-memory address, or an ACCESS_* status. */
  uaccess_translate(handle: number, addr: number, write: number): number;
  /** ioctl(fd, UFFDIO_COPY) with the structure built from numbers: 0 or -errno; out-field `copy` in the bounce page. */
  uffdio_copy(handle: number, fd: number, dst: number, src: number, len: number, mode: number): number;
  /** ioctl(fd, UFFDIO_ZEROPAGE): 0 or -errno; out-field `zeropage` in the bounce page. */
  uffdio_zeropage(handle: number, fd: number, start: number, len: number, mode: number): number;
  /** ioctl(fd, UFFDIO_CONTINUE): 0 or -errno; out-field `mapped` in the bounce page. */
  uffdio_continue(handle: number, fd: number, start: number, len: number, mode: number): number;
  /** ioctl(fd, UFFDIO_WAKE): 0 or -errno. */
  uffdio_wake(handle: number, fd: number, start: number, len: number): number;
  /** read(fd, staging, n messages): bytes read or -errno (-ERESTARTSYS: the task waits). */
  uffd_read_msgs(handle: number, fd: number, n: number): number;
  /** Write maps records of task `handle`'s VMAs from index `first` into its bounce page: the count written. */
  mm_dump_vmas(handle: number, first: number): number;
  /** A vCPU thread's guest access (KVM_ACCESS_* `flags`) of `len` (<= BOUNCE_SIZE) bytes at guest-physical `gpa` of VM `vmfd`, to or from the bounce page: `len`, or -errno (-ERESTARTSYS: wait for the wake, then repeat). */
  kvm_vcpu_access(handle: number, vmfd: number, gpa: number, len: number, flags: number): number;
  /** The file name behind VMA `index` of task `handle`, written to its bounce page: its length. */
  mm_vma_name(handle: number, index: number): number;
  /** /proc/<pid>/fdinfo/<fd>'s file-specific lines, written to the bounce page: their length, or -EBADF. */
  proc_fdinfo(handle: number, fd: number): number;
  /** The pagemap bits of the page at `addr`: 1 present, 2 uffd-wp, or -errno. */
  proc_pagemap(handle: number, addr: number): number;
  /** `n` (<= BOUNCE_SIZE) pages' PAGE_STATE_* bytes from `addr` into the bounce page: `n`, or -errno. */
  proc_page_states(handle: number, addr: number, n: number): number;
  /** Run the invariant checker: INV_OK, the first violation's INV_* code, or INV_NOT_COMPILED (release builds). */
  mm_check_invariants(): number;
  /** The linear-memory address of the u64 detail of the last invariant violation. */
  mm_check_detail_addr(): number;
  /** A kernel counter (KSTAT_* `which`). */
  kernel_stat(which: number): number;
  /** 1 in a debug build (CONFIG_DEBUG_VM), 0 in release. */
  kernel_debug(): number;
  /** The linear-memory address of the panic record. Takes no lock. */
  kernel_panic_addr(): number;
  /** Who holds the big kernel lock: -1 nobody, else the low 16 bits of the task id its entry runs for (0: no task). A snapshot; takes no lock. */
  kernel_lock_holder(): number;
  /** Debug builds: task `handle`'s next system call traps inside the kernel with the lock held (tests the panic path). 0, -ESRCH, or -ENOSYS in release. */
  debug_trap(handle: number): number;
  /** Debug builds: hold the big kernel lock for task id `tid` (< 0: release it); `spins` > 0 first sets the spin bound. 0, an ENTRY_* refusal, or -ENOSYS in release. */
  debug_hold_lock(tid: number, spins: number): number;
  /** The size in bytes of ABI structure number `which`, as the kernel was compiled (checks the host's ABI against the kernel's). */
  abi_sizeof(which: number): number;
}

/**
 * Which kernel build: "debug" (the invariant checker and CONFIG_DEBUG_VM checks compiled in;
 * the default) or "release" (optimised, -O3, no checker).
 */
export type Build = "debug" | "release";

const cache = new Map<Build, WebAssembly.Module>();

/**
 * The compiled kernel module for `build` (cached). By default the module that ships with uffdlab:
 * in Node build/uffdlab.<build>.wasm beside dist/, in a browser the bytes the browser build
 * carries (no fetch, no bundler configuration). With `url`, the module at that URL instead (a
 * relative URL is resolved against the page; a file: URL is read from disk in Node); a failed
 * fetch or something that is not WebAssembly is an Error naming the URL and what came back.
 */
export async function loadKernelModule(build: Build = "debug", url?: string | URL): Promise<WebAssembly.Module> {
  if (build !== "debug" && build !== "release") throw new TypeError(`build must be "debug" or "release", got ${JSON.stringify(build)}`);
  if (url === undefined) {
    const hit = cache.get(build);
    if (hit) return hit;
    const mod = await WebAssembly.compile((await kernelBytes(build)) as BufferSource);
    cache.set(build, mod);
    return mod;
  }
  const where = new URL(url, typeof location !== "undefined" ? location.href : undefined);
  const got = await readUrl(where);
  let bytes: Uint8Array;
  let what: string;
  if (got instanceof Response) {
    if (!got.ok) throw new Error(`uffdlab: cannot load the kernel module from ${where.href}: HTTP ${got.status}${got.statusText ? ` ${got.statusText}` : ""}`);
    bytes = new Uint8Array(await got.arrayBuffer());
    what = `${got.headers.get("content-type") ?? "no content-type"}, ${bytes.length} bytes`;
  } else {
    bytes = got;
    what = `${bytes.length} bytes`;
  }
  try {
    return await WebAssembly.compile(bytes as BufferSource);
  } catch (e) {
    throw new Error(`uffdlab: ${where.href} is not a WebAssembly module (${what}): ${(e as Error).message}`);
  }
}

export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  return inst.exports as unknown as KernelExports;
}
