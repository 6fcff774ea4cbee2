// uffdlab's public API. Nothing but re-exports lives here.
// Processes and fds are Disposable (`using`, Symbol.dispose): the declarations bring that lib along,
// so a consumer compiling for ES2022 without @types/node type-checks.
/// <reference lib="esnext.disposable" preserve="true" />
export { Kernel, CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_SYS_RESOURCE, type BootOptions, type KernelStats, type SpawnOptions } from "./kernel.js";
export { Process, PM_PRESENT, PM_UFFD_WP, type Stat } from "./process.js";
export { Thread, type Num, type FaultHandler } from "./thread.js";
export { Userfaultfd, FillError, decodeMsg, MESSAGES_POLL_MS, type UffdMsg, type ServePolicy } from "./fd/userfaultfd.js";
export { Kvm, Vm, GuestMemfd, Vcpu, memoryRegion2Bytes, createGuestMemfdBytes, type MemoryRegion } from "./fd/kvm.js";
export { SystemError, type SystemErrorContext, SignalError, SegmentationFault, BusError, OutOfMemoryError, WouldBlockError, DeadlockError, RunError, RunTimeoutError, TurnLimitError, RUN_LAST_TURNS, type RunContext, type RunThreadState, KernelPanic, KernelLockTimeout, errnoName } from "./errors.js";
export { Scheduler, type ThreadBody, type AsyncThread, type AsyncThreadState, type KernelRunOptions, YIELD_EVERY_TURNS } from "./sched/scheduler.js";
export { formatMaps, type VmaInfo } from "./debug/maps.js";
export { formatSyscall, type TraceSink } from "./debug/strace.js";
export { loadKernelModule, type Build, type KernelExports } from "./wasm.js";
/**
 * Linux's constants under their UAPI names, as the kernel uses them: errno values (`EINVAL`),
 * system-call numbers (`__NR_mmap`), flags (`PROT_*`, `MAP_*`, `UFFD_FEATURE_*`,
 * `UFFDIO_REGISTER_MODE_*`, `GUEST_MEMFD_FLAG_*`), ioctl requests (`UFFDIO_COPY`,
 * `KVM_CREATE_GUEST_MEMFD`) and the field offsets and `SIZEOF` of the structures they take
 * (`uffdio_copy.len`), for `Process.ioctl`'s raw bytes. Also uffdlab's own limits, e.g.
 * `BOUNCE_SIZE` (4096): the per-thread page through which memory is copied in and out, so
 * `Thread.read`/`write` and `Vcpu` accesses move at most that much per kernel entry.
 */
export * as abi from "./abi.gen.js";
export { mulberry32 } from "./sched/prng.js";
export { explore, defineExploration, runSeed, runSchedule, formatSchedule, type Exploration, type ExploreOptions, type ExploreReport, type ExploreFailure, type FailureKind, type ExploreStrategy, type RunResult } from "./explore/explore.js";
export { runInWorker, type WorkerInit, type RunOptions, type WorkerScript } from "./workers/pool.js";
