// Loading the kernel module and the typed view of its exports (kernel-as/index.ts).
import { kernelBytes, readUrl } from "./kernel-bytes.js";

/** The kernel's exports, as kernel-as/index.ts declares them. */
export interface KernelExports {
  kernel_boot(mem_bytes: number, flags: number): number;
  kernel_booted(): number;
  kernel_enable_smp(): void;
  /** Task arguments are handles (see Thread.handle); process_create and thread_create return one. */
  process_create(caps: number, perm: number): number;
  thread_create(handle: number): number;
  task_handle(tid: number): number;
  task_frame_addr(handle: number): number;
  task_timeout(handle: number): number;
  syscall(handle: number): number;
  uaccess_load(handle: number, addr: number, size: number): number;
  uaccess_store(handle: number, addr: number, size: number, value: number): number;
  uaccess_read(handle: number, addr: number, len: number): number;
  uaccess_write(handle: number, addr: number, len: number): number;
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
  mm_dump_vmas(handle: number, first: number): number;
  kvm_vcpu_access(handle: number, vmfd: number, gpa: number, len: number, flags: number): number;
  mm_vma_name(handle: number, index: number): number;
  proc_fdinfo(handle: number, fd: number): number;
  proc_pagemap(handle: number, addr: number): number;
  proc_page_states(handle: number, addr: number, n: number): number;
  mm_check_invariants(): number;
  mm_check_detail_addr(): number;
  kernel_stat(which: number): number;
  kernel_debug(): number;
  kernel_panic_addr(): number;
  kernel_lock_holder(): number;
  debug_trap(handle: number): number;
  debug_hold_lock(tid: number, spins: number): number;
  abi_sizeof(which: number): number;
}

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
