/**
 * The uffdlab kernel as a Target of the mm model property tests (mm-commands.ts): system calls through
 * Process.syscall, accesses through the simulated MMU, VMAs from the kernel's maps records (with
 * VM_DONTCOPY, VM_WIPEONFORK and VM_MAYWRITE), and the debug build's invariant checker.
 */
import { SignalError, SystemError, type Kernel, type Process } from "../../host-ts/index.js";
import * as A from "../../host-ts/abi.gen.js";
import { ok, err, sig, type Outcome, type Signal } from "../helpers/model.js";
import type { Result, SysOp, Target, TProc, TVma } from "./mm-commands.js";

const NR: Record<SysOp, number> = {
  mmap: A.__NR_mmap, munmap: A.__NR_munmap, mprotect: A.__NR_mprotect, mremap: A.__NR_mremap, madvise: A.__NR_madvise,
  ftruncate: A.__NR_ftruncate, fallocate: A.__NR_fallocate, close: A.__NR_close,
};
const toOutcome = (r: bigint): Outcome => (r < 0n && r > -4096n ? err(A.ERRNO_NAMES[Number(-r)] ?? `E${-r}`) : ok(Number(r)));
function sysErr(e: unknown): Outcome {
  if (e instanceof SystemError) return err(e.code);
  throw e;
}

export class UffdProc implements TProc {
  constructor(readonly p: Process) {}
  get pid(): number { return this.p.pid; }
  sys(op: SysOp, args: number[]): Result { return toOutcome(this.p.syscall(NR[op], ...args)); }
  memfd(flags: number): Outcome {
    try { return ok(this.p.memfdCreate("prop", flags)); } catch (e) { return sysErr(e); }
  }
  fcntl(fd: number, cmd: number, arg: number): Outcome { return toOutcome(this.p.syscall(A.__NR_fcntl, fd, cmd, arg)); }
  fstat(fd: number) {
    try {
      const st = this.p.fstat(fd);
      return { size: Number(st.size), blocks: Number(st.blocks), ino: Number(st.ino) };
    } catch (e) { return sysErr(e); }
  }
  pwrite(fd: number, data: number[], off: number): Outcome {
    try { return ok(this.p.pwrite(fd, Uint8Array.from(data), off)); } catch (e) { return sysErr(e); }
  }
  pread(fd: number, len: number, off: number): number[] | Outcome {
    try { return [...this.p.pread(fd, len, off)]; } catch (e) { return sysErr(e); }
  }
  pwriteFrom(fd: number, src: number, len: number, off: number): Result { return toOutcome(this.p.syscall(A.__NR_pwrite64, fd, src, len, off)); }
  preadTo(fd: number, dst: number, len: number, off: number): Result { return toOutcome(this.p.syscall(A.__NR_pread64, fd, dst, len, off)); }
  access(a: number, size: 1 | 4, value?: number): Result {
    const t = this.p.thread;
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
  fork(): TProc { return new UffdProc(this.p.fork()); }
  exit(): void { this.p.exit(0); }
  vmas(): TVma[] {
    return this.p.vmas().map((v) => {
      if (((v.flags & A.VM_SHARED) !== 0n) !== ((v.flags & A.VM_MAYSHARE) !== 0n)) {
        throw new Error(`VMA ${v.start.toString(16)}: VM_SHARED and VM_MAYSHARE disagree (an fd opened read/write is mapped)`);
      }
      return {
        start: v.start, end: v.end, prot: Number(v.flags & 7n), shared: (v.flags & A.VM_SHARED) !== 0n,
        kind: v.kind === "anon" ? "anon" : "shmem", ino: v.ino, offset: v.offset,
        dontfork: (v.flags & A.VM_DONTCOPY) !== 0n, wipeonfork: (v.flags & A.VM_WIPEONFORK) !== 0n,
        maywrite: (v.flags & A.VM_MAYWRITE) !== 0n,
      };
    });
  }
  maps(): string { return this.p.maps(); }
}

export class UffdTarget implements Target {
  readonly exactFds = true;
  readonly adoptPlacement = false;
  readonly execOnlyReadable = true;
  constructor(readonly k: Kernel) {}
  reserved(): boolean { return false; }
  spawn(): TProc { return new UffdProc(this.k.spawn()); }
  checkInvariants(): string | null {
    try {
      return this.k.checkInvariants() ? null : "the kernel build has no invariant checker (use the debug build)";
    } catch (e) {
      return (e as Error).message;
    }
  }
}
