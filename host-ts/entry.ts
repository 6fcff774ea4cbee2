// Entering the kernel: every export that takes the big kernel lock is called through a guard
// (one closure per export, no allocation). The guard
//   - turns a trap thrown by the export (the kernel never calls out, so anything it throws is
//     a trap: `unreachable`, an out-of-bounds access, a stack overflow) into a kernel panic:
//     it writes the panic record (abi/kernel.ts panic_record) and throws KernelPanic. The
//     entry held the lock and left the kernel half-way; every later entry is refused;
//   - turns a refusal (ENTRY_PANICKED, ENTRY_LOCK_TIMEOUT - holder) into KernelPanic or
//     KernelLockTimeout;
//   - in a worker run by runInWorker, passes the worker's entry gate (see below).
//
// The entry gate: one Int32 shared by a worker and the thread that started it, so that the
// worker is terminated only outside the kernel. The worker moves it OUT -> IN before each
// entry and IN -> OUT after; to stop the worker, the starter moves it OUT -> CLOSED (or
// IN -> CLOSING, and the worker, leaving the kernel, makes it CLOSED). Every move is a
// compare-exchange, so once the starter sees CLOSED the worker is not inside the kernel and
// can never enter it again: terminating it then cannot strand the big kernel lock.
import * as A from "./abi.gen.js";
import type { KernelExports } from "./wasm.js";
import { KernelPanic, KernelLockTimeout } from "./errors.js";
import { syscallName } from "./debug/strace.js";

export const GATE_OUT = 0;
export const GATE_IN = 1;
export const GATE_CLOSING = 2;
export const GATE_CLOSED = 3;

/** Thrown in a worker whose run was aborted, by any kernel entry it attempts. */
export class WorkerAbortedError extends Error {
  constructor() {
    super("this worker's run was aborted: it may not enter the kernel again");
    this.name = "WorkerAbortedError";
  }
}

/** The exports that take the big kernel lock: [arity, whether the first argument names a task]. */
const LOCKED: Record<string, [number, boolean]> = {
  kernel_boot: [2, false], process_create: [2, false], thread_create: [1, true], task_handle: [1, true], syscall: [1, true],
  task_timeout: [1, true], uaccess_load: [3, true], uaccess_store: [4, true], uaccess_read: [3, true],
  uaccess_write: [3, true], uaccess_translate: [3, true], kvm_vcpu_access: [5, true], mm_dump_vmas: [2, true],
  mm_vma_name: [2, true], proc_fdinfo: [2, true], proc_pagemap: [2, true], proc_page_states: [3, true], mm_check_invariants: [0, false],
  debug_trap: [1, true], debug_hold_lock: [2, true],
  uffdio_copy: [6, true], uffdio_zeropage: [5, true], uffdio_continue: [5, true], uffdio_wake: [4, true], uffd_read_msgs: [3, true],
};

/** The entries that run a system call from the task's frame (the panic record names it). */
const FRAME_CALLS = new Set(["uffdio_copy", "uffdio_zeropage", "uffdio_continue", "uffdio_wake", "uffd_read_msgs"]);

/** Every refusal is at most this; no result of an entry is. */
const REFUSED = A.ENTRY_PANICKED;

type Fn = (...args: number[]) => number;

/** One kernel instance's entry guards and its view of the panic record. */
export class KernelEntry {
  /** The guarded exports (the rest are passed through). */
  readonly exports: KernelExports;
  private readonly rec: DataView;
  private readonly state: Int32Array;
  private readonly text: Uint8Array;

  constructor(private readonly raw: KernelExports, memory: WebAssembly.Memory, private readonly gate: Int32Array | null = null) {
    const buf = memory.buffer as ArrayBuffer;
    const at = raw.kernel_panic_addr();
    this.rec = new DataView(buf, at, A.panic_record.SIZEOF);
    this.state = new Int32Array(buf, at + A.panic_record.state, 1);
    this.text = new Uint8Array(buf, at + A.panic_record.SIZEOF, A.PANIC_TEXT_MAX);
    const out: Record<string, unknown> = {};
    for (const name of Object.keys(raw)) {
      const f = (raw as unknown as Record<string, Fn>)[name];
      const spec = LOCKED[name];
      out[name] = spec ? this.guard(name, f, spec[0], spec[1]) : f;
    }
    if (gate === null) this.hotGuards(raw, out);
    // A fresh literal copy: fast properties (the object built key by key is a dictionary),
    // so that V8 inlines the guards into their callers.
    this.exports = { ...out } as unknown as KernelExports;
  }

  /** The panic the kernel died of, or null while it lives. */
  panic(): KernelPanic | null {
    let s = Atomics.load(this.state, 0);
    if (s === A.PANIC_NONE) return null;
    // Another thread is writing the record: a few stores, unless that thread died meanwhile.
    for (let i = 0; s === A.PANIC_RECORDING && i < 10_000_000; i++) s = Atomics.load(this.state, 0);
    if (s === A.PANIC_RECORDING) return new KernelPanic("(the thread that caught the trap did not finish recording it)", "?", 0, -1, null);
    const len = Math.min(this.rec.getInt32(A.panic_record.len, true), A.PANIC_TEXT_MAX);
    const text = new TextDecoder().decode(this.text.slice(0, len));
    const nl = text.indexOf("\n");
    const entry = text.slice(0, nl);
    const nr = this.rec.getInt32(A.panic_record.nr, true);
    return new KernelPanic(text.slice(nl + 1), entry, this.rec.getInt32(A.panic_record.tid, true), nr, nr >= 0 ? syscallName(nr) : null);
  }

  private enter(): void {
    const g = this.gate;
    if (g !== null && Atomics.compareExchange(g, 0, GATE_OUT, GATE_IN) !== GATE_OUT) throw new WorkerAbortedError();
  }

  /** Leave the kernel: false when the run was aborted meanwhile (the gate is now CLOSED). */
  private leave(): boolean {
    const g = this.gate;
    if (g === null || Atomics.compareExchange(g, 0, GATE_IN, GATE_OUT) === GATE_IN) return true;
    Atomics.store(g, 0, GATE_CLOSED);
    Atomics.notify(g, 0);
    return false;
  }

  /**
   * Mark the kernel dead (unless it already is) because of `reason` in `entry` for the task
   * whose handle (or id) is `task` (0: none): every later entry is refused. Returns the panic
   * (the first one recorded).
   */
  declarePanic(reason: string, entry: string, task: number): KernelPanic {
    if (Atomics.compareExchange(this.state, 0, A.PANIC_NONE, A.PANIC_RECORDING) === A.PANIC_NONE) {
      let nr = -1;
      if (entry === "syscall" || FRAME_CALLS.has(entry)) {
        const fa = this.raw.task_frame_addr(task);
        if (fa !== 0) nr = new DataView(this.rec.buffer, fa, A.host_frame.SIZEOF).getInt32(A.host_frame.nr, true);
      }
      const { written } = new TextEncoder().encodeInto(`${entry}\n${reason}`, this.text);
      this.rec.setInt32(A.panic_record.tid, task & 0xffff, true); // a handle's tid is its low 16 bits
      this.rec.setInt32(A.panic_record.nr, nr, true);
      this.rec.setInt32(A.panic_record.len, written, true);
      Atomics.store(this.state, 0, A.PANIC_DEAD);
    }
    return this.panic()!;
  }

  /** The export `name` trapped: the kernel panics. */
  private trapped(e: unknown, name: string, task: number): KernelPanic {
    const p = this.declarePanic(e instanceof Error ? e.message : String(e), name, task);
    this.leave();
    return p;
  }

  private refused(r: number, name: string): never {
    if (r === A.ENTRY_PANICKED) throw this.panic() ?? new KernelPanic("(no record)", name, 0, -1, null);
    throw new KernelLockTimeout(A.ENTRY_LOCK_TIMEOUT - r, name);
  }

  /**
   * The guards of the entries on the hot path (accesses, system calls), without a gate, one
   * literal each: a guard shared by several exports makes its call of the export polymorphic,
   * and V8 then no longer inlines the Wasm call into it (~2 ns of a ~20 ns resident load).
   */
  private hotGuards(k: KernelExports, out: Record<string, unknown>): void {
    out.syscall = (a: number): number => {
      let r: number;
      try { r = k.syscall(a); } catch (e) { throw this.trapped(e, "syscall", a); }
      return r > REFUSED ? r : this.refused(r, "syscall");
    };
    out.uaccess_load = (a: number, b: number, c: number): number => {
      let r: number;
      try { r = k.uaccess_load(a, b, c); } catch (e) { throw this.trapped(e, "uaccess_load", a); }
      return r > REFUSED ? r : this.refused(r, "uaccess_load");
    };
    out.uaccess_store = (a: number, b: number, c: number, d: number): number => {
      let r: number;
      try { r = k.uaccess_store(a, b, c, d); } catch (e) { throw this.trapped(e, "uaccess_store", a); }
      return r > REFUSED ? r : this.refused(r, "uaccess_store");
    };
    out.uaccess_read = (a: number, b: number, c: number): number => {
      let r: number;
      try { r = k.uaccess_read(a, b, c); } catch (e) { throw this.trapped(e, "uaccess_read", a); }
      return r > REFUSED ? r : this.refused(r, "uaccess_read");
    };
    out.uaccess_write = (a: number, b: number, c: number): number => {
      let r: number;
      try { r = k.uaccess_write(a, b, c); } catch (e) { throw this.trapped(e, "uaccess_write", a); }
      return r > REFUSED ? r : this.refused(r, "uaccess_write");
    };
    out.uaccess_translate = (a: number, b: number, c: number): number => {
      let r: number;
      try { r = k.uaccess_translate(a, b, c); } catch (e) { throw this.trapped(e, "uaccess_translate", a); }
      return r > REFUSED ? r : this.refused(r, "uaccess_translate");
    };
    out.uffdio_copy = (a: number, b: number, c: number, d: number, e5: number, f6: number): number => {
      let r: number;
      try { r = k.uffdio_copy(a, b, c, d, e5, f6); } catch (e) { throw this.trapped(e, "uffdio_copy", a); }
      return r > REFUSED ? r : this.refused(r, "uffdio_copy");
    };
    out.uffdio_zeropage = (a: number, b: number, c: number, d: number, e5: number): number => {
      let r: number;
      try { r = k.uffdio_zeropage(a, b, c, d, e5); } catch (e) { throw this.trapped(e, "uffdio_zeropage", a); }
      return r > REFUSED ? r : this.refused(r, "uffdio_zeropage");
    };
    out.uffdio_continue = (a: number, b: number, c: number, d: number, e5: number): number => {
      let r: number;
      try { r = k.uffdio_continue(a, b, c, d, e5); } catch (e) { throw this.trapped(e, "uffdio_continue", a); }
      return r > REFUSED ? r : this.refused(r, "uffdio_continue");
    };
    out.uffdio_wake = (a: number, b: number, c: number, d: number): number => {
      let r: number;
      try { r = k.uffdio_wake(a, b, c, d); } catch (e) { throw this.trapped(e, "uffdio_wake", a); }
      return r > REFUSED ? r : this.refused(r, "uffdio_wake");
    };
    out.uffd_read_msgs = (a: number, b: number, c: number): number => {
      let r: number;
      try { r = k.uffd_read_msgs(a, b, c); } catch (e) { throw this.trapped(e, "uffd_read_msgs", a); }
      return r > REFUSED ? r : this.refused(r, "uffd_read_msgs");
    };
  }

  /** The guard of export `name` (`arity` arguments; `tid`: the first is a task id). */
  private guard(name: string, f: Fn, arity: number, tid: boolean): Fn {
    // One closure per arity: a rest parameter would allocate on every call.
    switch (arity) {
      case 0: return () => {
        this.enter();
        let r: number;
        try { r = f(); } catch (e) { throw this.trapped(e, name, 0); }
        if (!this.leave()) throw new WorkerAbortedError();
        return r > REFUSED ? r : this.refused(r, name);
      };
      case 1: return (a: number) => {
        this.enter();
        let r: number;
        try { r = f(a); } catch (e) { throw this.trapped(e, name, tid ? a : 0); }
        if (!this.leave()) throw new WorkerAbortedError();
        return r > REFUSED ? r : this.refused(r, name);
      };
      case 2: return (a: number, b: number) => {
        this.enter();
        let r: number;
        try { r = f(a, b); } catch (e) { throw this.trapped(e, name, tid ? a : 0); }
        if (!this.leave()) throw new WorkerAbortedError();
        return r > REFUSED ? r : this.refused(r, name);
      };
      case 3: return (a: number, b: number, c: number) => {
        this.enter();
        let r: number;
        try { r = f(a, b, c); } catch (e) { throw this.trapped(e, name, tid ? a : 0); }
        if (!this.leave()) throw new WorkerAbortedError();
        return r > REFUSED ? r : this.refused(r, name);
      };
      case 4: return (a: number, b: number, c: number, d: number) => {
        this.enter();
        let r: number;
        try { r = f(a, b, c, d); } catch (e) { throw this.trapped(e, name, tid ? a : 0); }
        if (!this.leave()) throw new WorkerAbortedError();
        return r > REFUSED ? r : this.refused(r, name);
      };
      case 5: return (a: number, b: number, c: number, d: number, e5: number) => {
        this.enter();
        let r: number;
        try { r = f(a, b, c, d, e5); } catch (e) { throw this.trapped(e, name, tid ? a : 0); }
        if (!this.leave()) throw new WorkerAbortedError();
        return r > REFUSED ? r : this.refused(r, name);
      };
      case 6: return (a: number, b: number, c: number, d: number, e5: number, f6: number) => {
        this.enter();
        let r: number;
        try { r = f(a, b, c, d, e5, f6); } catch (e) { throw this.trapped(e, name, tid ? a : 0); }
        if (!this.leave()) throw new WorkerAbortedError();
        return r > REFUSED ? r : this.refused(r, name);
      };
    }
    throw new Error(`no guard for arity ${arity}`);
  }
}

/**
 * Close a worker's entry gate (the starter's side): resolves once the worker is outside the
 * kernel for good. A worker inside an entry is waited for (it closes the gate as it leaves);
 * after `graceMs` the wait gives up and resolves false (the worker never left the kernel).
 */
export async function closeGate(g: Int32Array, graceMs: number): Promise<boolean> {
  const deadline = performance.now() + graceMs;
  const waitAsync = (Atomics as unknown as { waitAsync?: (a: Int32Array, i: number, v: number, ms: number) => { async: boolean; value: unknown } }).waitAsync;
  for (;;) {
    const s = Atomics.compareExchange(g, 0, GATE_OUT, GATE_CLOSED);
    if (s === GATE_OUT || s === GATE_CLOSED) return true;
    if (s === GATE_IN) {
      Atomics.compareExchange(g, 0, GATE_IN, GATE_CLOSING); // fails if it left meanwhile: look again
      continue;
    }
    const left = deadline - performance.now();
    if (left <= 0) return false;
    const r = waitAsync?.(g, 0, GATE_CLOSING, Math.min(left, 50));
    if (r?.async) await r.value;
    else if (!r) await new Promise((res) => setTimeout(res, 1));
  }
}
