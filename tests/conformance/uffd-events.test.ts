// userfaultfd non-cooperative events, differentially: every case runs on the host kernel
// (tests/oracle/uffd_oracle.c, verbs tsys / tsbusy / tsjoin / madvise / mremap / mmapfix /
// childexit / fdinfo / pipe) and on uffdlab (tests/conformance/uffd-runner.ts), and both must print the
// expected lines, from LINUX-SEMANTICS.md §7.1 step 1, §8.4, §8.5 and §8.6. `tsys CALL` runs a
// producer in a third thread: it blocks until its event is read; `tsbusy` tells whether it still
// waits. Messages print as ev=0x13 ufd=… / ev=0x14 from= to= len= / ev=0x15|0x16 start= end=.
import { describe, it, expect } from "vitest";
import { runUffdNative, runUffdUffdlab, uffdNativeAvailable } from "./uffd-runner.js";

const API_OK = "ok = 0x1ffff 0x8000000000000003";
const F_FORK = 0x2, F_REMAP = 0x4, F_REMOVE = 0x8, F_UNMAP = 0x40, F_THREAD_ID = 0x100;
/** A non-blocking userfaultfd $U (O_NONBLOCK, no USER_MODE_ONLY) with `features`. */
const init = (features: number, flags = "0x800") => [`uffd U ${flags}`, `ioctl $U API 0xaa 0x${features.toString(16)} 0`];
const INIT_OK = ["ok fd", API_OK];

type Case = [name: string, steps: string[], expected: string[]];

/** While an event is unread: every fill ioctl EAGAIN with -EAGAIN in its out-field; WAKE, REGISTER, UNREGISTER fine. */
const EAGAIN_ROWS: [string, string][] = [
  ["ioctl $U COPY $A+0x1000 $S 0x1000 0 0x77", "err EAGAIN = = = = -11"],
  ["ioctl $U ZEROPAGE $A+0x1000 0x1000 0 0x77", "err EAGAIN = = = -11"],
  ["ioctl $U CONTINUE $A+0x1000 0x1000 0 0x77", "err EAGAIN = = = -11"],
  ["ioctl $U POISON $A+0x1000 0x1000 0 0x77", "err EAGAIN = = = -11"],
  ["ioctl $U MOVE $A+0x1000 $S 0x1000 0 0x77", "err EAGAIN = = = = -11"],
  ["ioctl $U WRITEPROTECT $A+0x1000 0x1000 0", "err EAGAIN = = ="],
  ["ioctl $U WAKE $A 0x1000", "ok = ="],
  ["ioctl $U REGISTER $R 0x1000 1 0", "ok = = = 0x13c"],
  ["ioctl $U UNREGISTER $R 0x1000", "ok = ="],
];

const unmap: Case[] = [
  ["munmap of 4 pages, only the 2nd registered: one UNMAP {+0, +4 pages}; the producer waits; fill ioctls EAGAIN; reading completes it",
    [...init(F_UNMAP), "anon A 4 3", "ioctl $U REGISTER $A+0x1000 0x1000 1 0", "anon S 1 3", "anon R 1 3", "tsys munmap $A 4", "tsbusy", "poll $U",
      ...EAGAIN_ROWS.map(([s]) => s), "readwait $U 64", "tsjoin", "read $U 64", "ioctl $U COPY $S $S 0x1000 0 0x77"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok", "ok", "ok blocked", "ok 1 revents=0x1",
      ...EAGAIN_ROWS.map(([, r]) => r), "ok 32 ev=0x16 start=$A end=$A+0x4000 zero=1", "ok", "err EAGAIN", "err ENOENT = = = = -2"]],
  ["without EVENT_UNMAP: munmap does not wait and queues nothing",
    [...init(F_REMOVE | F_REMAP), "anon A 2 3", "ioctl $U REGISTER $A 0x2000 1 0", "tsys munmap $A 2", "tsjoin", "read $U 32"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok", "err EAGAIN"]],
  ["munmap over two VMAs of one ctx: one UNMAP (identical ctx, start, end de-duplicated)",
    [...init(F_UNMAP), "anon A 4 3", "ioctl $U REGISTER $A 0x1000 1 0", "ioctl $U REGISTER $A+0x2000 0x1000 2 0", "tsys munmap $A 4", "readwait $U 96", "tsjoin", "read $U 32"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok = = = 0x17c", "ok", "ok 32 ev=0x16 start=$A end=$A+0x4000 zero=1", "ok", "err EAGAIN"]],
  ["munmap over VMAs of two ctxs: one UNMAP each, the second delivered once the first is read",
    [...init(F_UNMAP), "uffd V 0x800", "ioctl $V API 0xaa 0x40 0", "anon A 4 3", "ioctl $U REGISTER $A 0x1000 1 0", "ioctl $V REGISTER $A+0x2000 0x1000 1 0",
      "tsys munmap $A 4", "tsbusy", "read $V 32", "readwait $U 32", "tsbusy", "readwait $V 32", "tsjoin"],
    [...INIT_OK, "ok fd", API_OK, "ok", "ok = = = 0x13c", "ok = = = 0x13c",
      "ok", "ok blocked", "err EAGAIN", "ok 32 ev=0x16 start=$A end=$A+0x4000 zero=1", "ok blocked", "ok 32 ev=0x16 start=$A end=$A+0x4000 zero=1", "ok"]],
  ["mmap(MAP_FIXED) over a registered range: UNMAP of the replaced range; the new mapping is not registered",
    [...init(F_UNMAP), "anon A 4 3", "ioctl $U REGISTER $A+0x1000 0x2000 1 0", "anon S 1 3", "tsys mmapfix $A+0x1000 1 3", "readwait $U 32", "tsjoin",
      "ioctl $U COPY $A+0x1000 $S 0x1000 0 0x77", "ioctl $U COPY $A+0x2000 $S 0x1000 0 0x77"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok", "ok 32 ev=0x16 start=$A+0x1000 end=$A+0x2000 zero=1", "ok",
      "err ENOENT = = = = -2", "ok = = = = 0x1000"]],
  ["close() of the only userfaultfd while munmap waits: the release drops the event and the producer returns",
    [...init(F_UNMAP), "anon A 2 3", "ioctl $U REGISTER $A 0x2000 1 0", "tsys munmap $A 2", "tsbusy", "close $U", "tsjoin"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok blocked", "ok", "ok"]],
];

const remap: Case[] = [
  ["mremap(MREMAP_FIXED) of a registered VMA: REMAP {from, to, len}, then UNMAP of the old range; the moved VMA stays registered",
    [...init(F_UNMAP | F_REMAP), "anon A 4 3", "ioctl $U REGISTER $A 0x4000 1 0", "anon B 8 3", "anon S 1 3", "tsys mremap C $A 4 4 3 $B+0x2000",
      "readwait $U 64", "tsbusy", "ioctl $U COPY $B+0x2000 $S 0x1000 0 0x77", "readwait $U 64", "tsjoin", "ioctl $U COPY $C $S 0x1000 0 0x77"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok", "ok",
      "ok 32 ev=0x14 from=$A to=$B+0x2000 len=0x4000 zero=1", "ok blocked", "err EAGAIN = = = = -11", "ok 32 ev=0x16 start=$A end=$A+0x4000 zero=1", "ok",
      "ok = = = = 0x1000"]],
  ["mremap without EVENT_REMAP: no REMAP, the moved VMA is not registered (COPY there ENOENT)",
    [...init(F_REMOVE), "anon A 2 3", "ioctl $U REGISTER $A 0x2000 1 0", "anon B 4 3", "anon S 1 3", "tsys mremap C $A 2 2 3 $B", "tsjoin", "read $U 32",
      "ioctl $U COPY $C $S 0x1000 0 0x77"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok", "ok", "ok", "err EAGAIN", "err ENOENT = = = = -2"]],
  ["mremap shrinking a registered VMA: UNMAP of the removed tail",
    [...init(F_UNMAP | F_REMAP), "anon A 4 3", "ioctl $U REGISTER $A 0x4000 1 0", "tsys mremap C $A 4 1 0", "readwait $U 64", "tsjoin", "read $U 32"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok 32 ev=0x16 start=$A+0x1000 end=$A+0x4000 zero=1", "ok", "err EAGAIN"]],
  ["mremap(MREMAP_FIXED) onto a registered target: UNMAP of the target first, then REMAP, then UNMAP of the source",
    [...init(F_UNMAP | F_REMAP), "anon A 2 3", "ioctl $U REGISTER $A 0x2000 1 0", "anon B 2 3", "ioctl $U REGISTER $B 0x2000 1 0", "tsys mremap C $A 2 2 3 $B",
      "readwait $U 32", "readwait $U 32", "readwait $U 32", "tsjoin"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok = = = 0x13c", "ok",
      "ok 32 ev=0x16 start=$B end=$B+0x2000 zero=1", "ok 32 ev=0x14 from=$A to=$B len=0x2000 zero=1", "ok 32 ev=0x16 start=$A end=$A+0x2000 zero=1", "ok"]],
  ["mremap(MREMAP_DONTUNMAP): REMAP only; the old range stays mapped and registered, and so is the new one",
    [...init(F_UNMAP | F_REMAP | F_REMOVE), "anon A 2 3", "ioctl $U REGISTER $A 0x2000 1 0", "anon B 2 3", "tsys mremap C $A 2 2 7 $B", "readwait $U 64",
      "tsjoin", "read $U 64", "anon S 1 3", "ioctl $U COPY $A $S 0x1000 0 0x77", "ioctl $U COPY $B $S 0x1000 0 0x77"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok", "ok 32 ev=0x14 from=$A to=$B len=0x2000 zero=1",
      "ok", "err EAGAIN", "ok", "ok = = = = 0x1000", "ok = = = = 0x1000"]],
];

const remove: Case[] = [
  ["MADV_DONTNEED: REMOVE before the zap (the page still reads its data), then the page is gone (a read faults)",
    [...init(F_REMOVE), "anon A 2 3", "ioctl $U REGISTER $A 0x2000 1 0", "anon S 1 3", "fill $S 0x1000 0x5a", "ioctl $U COPY $A $S 0x1000 0 0",
      "tsys madvise $A 2 4", "tsbusy", "load $A 1", "readwait $U 32", "tsjoin", "tfault $A r", "readwait $U 32", "ioctl $U ZEROPAGE $A 0x1000 0 0", "tjoin"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok", "ok = = = = 0x1000",
      "ok", "ok blocked", "ok digest=af64174c860250cd first=0x5a nonzero=1", "ok 32 ev=0x15 start=$A end=$A+0x2000 zero=1", "ok", "ok",
      "ok 32 ev=0x12 flags=0x0 addr=$A ptid=0 zero=1", "ok = = = 0x1000", "ok 0x00"]],
  ["MADV_DONTNEED over an unregistered and a registered VMA: REMOVE for the registered part only",
    [...init(F_REMOVE), "anon A 4 3", "ioctl $U REGISTER $A+0x2000 0x2000 1 0", "tsys madvise $A 4 4", "readwait $U 64", "tsjoin", "read $U 32"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok 32 ev=0x15 start=$A+0x2000 end=$A+0x4000 zero=1", "ok", "err EAGAIN"]],
  ["MADV_FREE on registered anonymous memory: REMOVE, and the producer waits like DONTNEED",
    [...init(F_REMOVE), "anon A 2 3", "ioctl $U REGISTER $A 0x2000 1 0", "tsys madvise $A 2 8", "tsbusy", "readwait $U 32", "tsjoin"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok blocked", "ok 32 ev=0x15 start=$A end=$A+0x2000 zero=1", "ok"]],
  ["MADV_REMOVE on registered shmem: REMOVE; MADV_DONTNEED without EVENT_REMOVE: nothing",
    [...init(F_REMOVE), "memfd M 2", "mapfd F $M 2 3", "ioctl $U REGISTER $F 0x2000 1 0", "tsys madvise $F 2 9", "readwait $U 32", "tsjoin",
      "uffd V 0x800", "ioctl $V API 0xaa 0x40 0", "anon B 1 3", "ioctl $V REGISTER $B 0x1000 1 0", "madvise $B 1 4", "read $V 32"],
    [...INIT_OK, "ok fd", "ok", "ok = = = 0x13c", "ok", "ok 32 ev=0x15 start=$F end=$F+0x2000 zero=1", "ok",
      "ok fd", API_OK, "ok", "ok = = = 0x13c", "ok", "err EAGAIN"]],
  ["close() of the only userfaultfd while MADV_DONTNEED waits: the madvise completes and zaps (§8.7 step 4)",
    [...init(F_REMOVE), "anon A 2 3", "ioctl $U REGISTER $A 0x2000 1 0", "anon S 1 3", "fill $S 0x1000 0x5a", "ioctl $U COPY $A $S 0x1000 0 0",
      "tsys madvise $A 2 4", "tsbusy", "close $U", "tsjoin", "load $A 1"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok", "ok = = = = 0x1000",
      "ok", "ok blocked", "ok", "ok", "ok digest=af63bd4c8601b7df first=0x00 nonzero=0"]],
  ["MADV_DONTNEED on registered shmem (memfd MAP_SHARED): REMOVE",
    [...init(F_REMOVE), "memfd M 2", "mapfd S $M 2 3", "ioctl $U REGISTER $S 0x2000 1 0", "tsys madvise $S 2 4", "readwait $U 32", "tsjoin"],
    [...INIT_OK, "ok fd", "ok", "ok = = = 0x13c", "ok", "ok 32 ev=0x15 start=$S end=$S+0x2000 zero=1", "ok"]],
  ["MADV_DONTNEED_LOCKED sends REMOVE too; MADV_PAGEOUT does not",
    [...init(F_REMOVE), "anon A 2 3", "ioctl $U REGISTER $A 0x2000 1 0", "tsys madvise $A 2 24", "tsbusy", "readwait $U 32", "tsjoin",
      "tsys madvise $A 2 21", "tsjoin", "read $U 32"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok blocked", "ok 32 ev=0x15 start=$A end=$A+0x2000 zero=1", "ok", "ok", "ok", "err EAGAIN"]],
  ["UFFDIO_MOVE while MADV_DONTNEED waits on its REMOVE: EAGAIN and -EAGAIN before the mode and range checks, nothing moved; after the read it moves",
    [...init(F_REMOVE), "anon A 2 3", "ioctl $U REGISTER $A 0x2000 1 0", "anon S 1 3", "fill $S 0x1000 5", "tsys madvise $A 1 4", "tsbusy",
      "ioctl $U MOVE $A+0x1000 $S 0x1000 0 0x77", "ioctl $U MOVE $A+0x1000 $S 0x1000 0x80 0x77", "ioctl $U MOVE $A+0x1001 $S 0x1000 0 0x77", "load $S 1",
      "readwait $U 32", "tsjoin", "ioctl $U MOVE $A+0x1000 $S 0x1000 0 0x77", "load $A+0x1000 1", "load $S 1"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok", "ok", "ok blocked",
      "err EAGAIN = = = = -11", "err EAGAIN = = = = -11", "err EAGAIN = = = = -11", "ok digest=af63b84c8601af60 first=0x05 nonzero=1",
      "ok 32 ev=0x15 start=$A end=$A+0x1000 zero=1", "ok", "ok = = = = 0x1000", "ok digest=af63b84c8601af60 first=0x05 nonzero=1",
      "ok digest=af63bd4c8601b7df first=0x00 nonzero=0"]],
  ["madvise(MADV_DONTNEED) with a hole: REMOVE for the VMA, then ENOMEM",
    [...init(F_REMOVE), "anon A 3 3", "munmap $A+0x2000 1", "ioctl $U REGISTER $A 0x2000 1 0", "tsys madvise $A 3 4", "readwait $U 32", "tsjoin"],
    [...INIT_OK, "ok", "ok", "ok = = = 0x13c", "ok", "ok 32 ev=0x15 start=$A end=$A+0x2000 zero=1", "err ENOMEM"]],
];

const order: Case[] = [
  ["a page fault and an event unread: one read() returns the fault first, then the event",
    [...init(F_UNMAP), "anon A 2 3", "ioctl $U REGISTER $A 0x2000 1 0", "anon B 1 3", "ioctl $U REGISTER $B 0x1000 1 0",
      "tsys munmap $B 1", "tsbusy", "tfault $A+0x1000 r", "tsbusy", "fdinfo $U", "readwait $U 96", "fdinfo $U", "tsjoin", "ioctl $U ZEROPAGE $A+0x1000 0x1000 0 0", "tjoin", "fdinfo $U"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok = = = 0x13c",
      "ok", "ok blocked", "ok", "ok blocked", "ok pending=1 total=1 api=aa:80000040:80000000000001ff",
      "ok 64 ev=0x12 flags=0x0 addr=$A+0x1000 ptid=0 zero=1 ev=0x16 start=$B end=$B+0x1000 zero=1",
      "ok pending=0 total=1 api=aa:80000040:80000000000001ff", "ok", "ok = = = 0x1000", "ok 0x00", "ok pending=0 total=0 api=aa:80000040:80000000000001ff"]],
  ["fdinfo before UFFDIO_API and with THREAD_ID",
    ["uffd U 0x801", "fdinfo $U", "ioctl $U API 0xaa 0x100 0", "fdinfo $U"],
    ["ok fd", "ok pending=0 total=0 api=aa:0:80000000000001ff", API_OK, "ok pending=0 total=0 api=aa:80000100:80000000000001ff"]],
];

const fork: Case[] = [
  ["fork with EVENT_FORK: the fork waits; FORK gives a new fd (read-only, the ctx's flags) for the child's ctx, already initialised",
    [...init(F_FORK), "anon A 2 3", "ioctl $U REGISTER $A 0x2000 1 0", "anon S 1 3", "tsys fork", "tsbusy", "ioctl $U COPY $A $S 0x1000 0 0x77",
      "readwait $U 32 F", "tsjoin", "fdflags $F", "ioctl $F API 0xaa 0 0x77", "fdinfo $F", "ioctl $F UNREGISTER $A 0x2000", "ioctl $U COPY $A $S 0x1000 0 0x77", "childexit"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok", "ok blocked", "err EAGAIN = = = = -11",
      "ok 32 ev=0x13 ufd=fd zero=1", "ok child", "ok cloexec=0 acc=0 nonblock=1", "err EINVAL 0x0 = 0x0", "ok pending=0 total=0 api=aa:80000002:80000000000001ff",
      "ok = =", "ok = = = = 0x1000", "ok"]],
  ["fork with two EVENT_FORK ctxs: one FORK each, in address order, the second once the first is read",
    [...init(F_FORK), "uffd V 0x800", "ioctl $V API 0xaa 0x2 0", "anon A 1 3", "ioctl $U REGISTER $A 0x1000 1 0", "anon B 1 3", "ioctl $V REGISTER $B 0x1000 1 0",
      "tsys fork", "tsbusy", "read $U 32", "readwait $V 32 G", "tsbusy", "readwait $U 32 F", "tsjoin", "fdinfo $F", "fdinfo $G", "childexit"],
    [...INIT_OK, "ok fd", API_OK, "ok", "ok = = = 0x13c", "ok", "ok = = = 0x13c",
      "ok", "ok blocked", "err EAGAIN", "ok 32 ev=0x13 ufd=fd zero=1", "ok blocked", "ok 32 ev=0x13 ufd=fd zero=1", "ok child",
      "ok pending=0 total=0 api=aa:80000002:80000000000001ff", "ok pending=0 total=0 api=aa:80000002:80000000000001ff", "ok"]],
  ["fdinfo of a WP_ASYNC ctx: WP_UNPOPULATED added, the internal bit 31 shown",
    ["uffd U 0x800", "ioctl $U API 0xaa 0x8001 0", "fdinfo $U"], ["ok fd", API_OK, "ok pending=0 total=0 api=aa:8000a001:80000000000001ff"]],
  ["fork with EVENT_FORK of an O_CLOEXEC userfaultfd: the child's fd is close-on-exec too",
    [...init(F_FORK, "0x80800"), "anon A 1 3", "ioctl $U REGISTER $A 0x1000 1 0", "tsys fork", "readwait $U 32 F", "tsjoin", "fdflags $F", "childexit"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok 32 ev=0x13 ufd=fd zero=1", "ok child", "ok cloexec=1 acc=0 nonblock=1", "ok"]],
  ["fork without EVENT_FORK: no wait, no event",
    [...init(F_UNMAP | F_REMOVE), "anon A 1 3", "ioctl $U REGISTER $A 0x1000 1 0", "tsys fork", "tsjoin", "read $U 32", "childexit"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok child", "err EAGAIN", "ok"]],
  ["fork with EVENT_FORK and nothing registered: no event",
    [...init(F_FORK), "anon A 1 3", "tsys fork", "tsjoin", "read $U 32", "childexit"],
    [...INIT_OK, "ok", "ok", "ok child", "err EAGAIN", "ok"]],
];

/**
 * poll() of a userfaultfd and a pipe (the selftests' poll thread, §8.5): it sleeps on both, and a
 * pipe write, a fault or the last writer's close ends the sleep; a close() of the userfaultfd does
 * not (the poll holds the file) (`tsys poll` polls with no timeout on
 * uffdlab, 3 s on the host).
 */
const pollPipe: Case[] = [
  ["a pipe write wakes a poll of a userfaultfd and the pipe",
    [...init(0), "pipe R W", "tsys poll $U $R", "tsbusy", "write $W 1", "tsjoin", "poll $U"],
    [...INIT_OK, "ok fd fd", "ok", "ok blocked", "ok 1", "ok 1 revents=0x0 0x1", "ok 0 revents=0x0"]],
  ["a fault wakes it too, and the pipe reads as not ready",
    [...init(0), "anon A 1 3", "ioctl $U REGISTER $A 0x1000 1 0", "pipe R W", "tsys poll $R $U", "tsbusy", "tfault $A r", "tsjoin",
      "read $U 32 A", "ioctl $U ZEROPAGE $A 0x1000 0 0", "tjoin"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok fd fd", "ok", "ok blocked", "ok", "ok 1 revents=0x0 0x1",
      "ok 32 ev=0x12 flags=0x0 addr=$A ptid=0 zero=1", "ok = = = 0x1000", "ok 0x00"]],
  ["the last writer's close: POLLHUP on the read end",
    [...init(0), "pipe R W", "tsys poll $U $R", "tsbusy", "close $W", "tsjoin"],
    [...INIT_OK, "ok fd fd", "ok", "ok blocked", "ok", "ok 1 revents=0x0 0x10"]],
  ["a close() of the polled userfaultfd wakes nobody; a pipe write does: POLLNVAL, and the release as poll returns wakes the faulter",
    [...init(0), "anon A 1 3", "ioctl $U REGISTER $A 0x1000 1 0", "tfault $A r", "readwait $U 32 A", "pipe R W", "tsys poll $U $R", "tsbusy",
      "close $U", "tsbusy", "write $W 1", "tsjoin", "tjoin"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok 32 ev=0x12 flags=0x0 addr=$A ptid=0 zero=1", "ok fd fd", "ok", "ok blocked",
      "ok", "ok blocked", "ok 1", "ok 2 revents=0x20 0x1", "ok 0x00"]],
];

const ALL: [string, Case[]][] = [
  ["UNMAP (§8.6)", unmap], ["REMAP (§8.6)", remap], ["REMOVE (§8.6)", remove], ["ordering and fdinfo (§8.4, §8.5)", order], ["FORK (§8.6, §8.4)", fork],
  ["poll of a userfaultfd and a pipe (§8.5)", pollPipe],
];
void F_THREAD_ID;

const native = uffdNativeAvailable();

describe("userfaultfd events: host kernel vs uffdlab", () => {
  for (const [group, cases] of ALL) {
    describe(group, () => {
      for (const [name, steps, expected] of cases) {
        it.skipIf(!native.ok)(`host: ${name}`, () => {
          expect(runUffdNative(steps)).toEqual(expected);
        });
        it(`uffdlab: ${name}`, async () => {
          expect(await runUffdUffdlab(steps)).toEqual(expected);
        });
      }
    });
  }
  if (!native.ok) it.skip(`host kernel rows skipped: ${native.reason}`, () => {});
});
