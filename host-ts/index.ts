// uffdlab's public API. Nothing but re-exports lives here.
// Processes and fds are Disposable (`using`, Symbol.dispose): the declarations bring that lib along,
// so a consumer compiling for ES2022 without @types/node type-checks.
/// <reference lib="esnext.disposable" preserve="true" />
export { Kernel, CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_SYS_RESOURCE, type BootOptions, type KernelStats, type SpawnOptions } from "./kernel.js";
export { Process, PM_PRESENT, PM_UFFD_WP, type Stat } from "./process.js";
export { Thread, type Num, type FaultHandler } from "./thread.js";
export { Userfaultfd, FillError, decodeMsg, MESSAGES_POLL_MS, type UffdMsg, type ServePolicy } from "./fd/userfaultfd.js";
export { Kvm, Vm, GuestMemfd, Vcpu, memoryRegion2Bytes, createGuestMemfdBytes, type MemoryRegion } from "./fd/kvm.js";
export { SystemError, SignalError, SegmentationFault, BusError, OutOfMemoryError, WouldBlockError, DeadlockError, KernelPanic, KernelLockTimeout, errnoName } from "./errors.js";
export { Scheduler, type ThreadBody, type AsyncThread } from "./sched/scheduler.js";
export { formatMaps, type VmaInfo } from "./debug/maps.js";
export { formatSyscall, type TraceSink } from "./debug/strace.js";
export { loadKernelModule, type Build } from "./wasm.js";
export * as abi from "./abi.gen.js";
export { runInWorker, type WorkerInit, type RunOptions } from "./workers/pool.js";
