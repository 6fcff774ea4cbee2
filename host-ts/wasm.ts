// Loading the kernel module and the typed view of its exports (kernel-as/index.ts).

/** The kernel's exports, as kernel-as/index.ts declares them. */
export interface KernelExports {
  kernel_boot(mem_bytes: number): number;
  kernel_booted(): number;
  kernel_enable_smp(): void;
  process_create(caps: number): number;
  thread_create(tid: number): number;
  task_frame_addr(tid: number): number;
  task_timeout(tid: number): number;
  syscall(tid: number): number;
  uaccess_load(tid: number, addr: number, size: number): number;
  uaccess_store(tid: number, addr: number, size: number, value: number): number;
  uaccess_read(tid: number, addr: number, len: number): number;
  uaccess_write(tid: number, addr: number, len: number): number;
  uaccess_translate(tid: number, addr: number, write: number): number;
  mm_dump_vmas(tid: number, first: number): number;
  kvm_vcpu_access(tid: number, vmfd: number, gpa: number, len: number, flags: number): number;
  mm_vma_name(tid: number, index: number): number;
  proc_fdinfo(tid: number, fd: number): number;
  proc_pagemap(tid: number, addr: number): number;
  mm_check_invariants(): number;
  mm_check_detail_addr(): number;
  kernel_stat(which: number): number;
  kernel_debug(): number;
  kernel_panic_addr(): number;
  kernel_lock_holder(): number;
  debug_trap(tid: number): number;
  debug_hold_lock(tid: number, spins: number): number;
  abi_sizeof(which: number): number;
}

export type Build = "debug" | "release";

const cache = new Map<Build, WebAssembly.Module>();

/**
 * The compiled kernel module for `build`. In Node it is read from build/; elsewhere pass
 * the bytes or a Module to Kernel.boot yourself.
 */
export async function loadKernelModule(build: Build): Promise<WebAssembly.Module> {
  const hit = cache.get(build);
  if (hit) return hit;
  const url = new URL(`../build/uffdlab.${build}.wasm`, import.meta.url);
  let bytes: Uint8Array;
  if (typeof process !== "undefined" && process.versions?.node) {
    const fs = await import("node:fs");
    bytes = fs.readFileSync(url);
  } else {
    bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  }
  const mod = await WebAssembly.compile(bytes as BufferSource);
  cache.set(build, mod);
  return mod;
}

export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  return inst.exports as unknown as KernelExports;
}
