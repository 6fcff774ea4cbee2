// userfaultfd ioctls, errno for errno: every case runs on the host kernel (tests/oracle/uffd_oracle.c)
// and on uffdlab (tests/conformance/uffd-runner.ts), and both must print the expected lines, taken
// from LINUX-SEMANTICS.md §3.2, §3.3, §6.1, §6.8, §6.9, §7.1–§7.6, §7.10, §8.4. The step language and the
// result format are described at the top of uffd_oracle.c. In ioctl results `=` is a word the call
// left as the caller stored it (the out-fields are preset to markers such as 0x77 where "not written"
// matters), any other word is its value after the call.
import { describe, it, expect } from "vitest";
import { digestOf } from "../helpers/scenario.js";
import { runUffdNative, runUffdUffdlab, uffdNativeAvailable } from "./uffd-runner.js";

const FEATURES = "0x1ffff";
const API_IOCTLS = "0x8000000000000003";
const API_OK = `ok = ${FEATURES} ${API_IOCTLS}`;
/** A non-blocking, user-mode-only userfaultfd $U with UFFDIO_API done. */
const INIT = ["uffd U 0x801", "ioctl $U API 0xaa 0 0"];
const INIT_OK = ["ok fd", API_OK];
const dig = (byte: number, len = 4096) => `ok ${digestOf(new Uint8Array(len).fill(byte))}`;
const ZERO_PAGE = dig(0);
const ZERO_1 = dig(0, 1);

type Case = [name: string, steps: string[], expected: string[]];

const creation: Case[] = [
  ["userfaultfd(0x40) with CAP_SYS_PTRACE: EINVAL", ["uffd U 0x40"], ["err EINVAL"]],
  ["userfaultfd(0) unprivileged: EPERM", ["nopriv", "uffd U 0"], ["ok", "err EPERM"]],
  ["userfaultfd(0x40) unprivileged: EPERM before the flag check", ["nopriv", "uffd U 0x40"], ["ok", "err EPERM"]],
  ["userfaultfd(USER_MODE_ONLY) unprivileged succeeds; USER_MODE_ONLY|0x40 EINVAL",
    ["nopriv", "uffd U 1", "uffd V 0x41"], ["ok", "ok fd", "err EINVAL"]],
  ["userfaultfd(0) privileged: read-only fd, no CLOEXEC/NONBLOCK", ["uffd U 0", "fdflags $U"], ["ok fd", "ok cloexec=0 acc=0 nonblock=0"]],
  ["userfaultfd(O_CLOEXEC|O_NONBLOCK|USER_MODE_ONLY): flags on the fd", ["uffd U 0x80801", "fdflags $U"], ["ok fd", "ok cloexec=1 acc=0 nonblock=1"]],
  ["/dev/userfaultfd USERFAULTFD_IOC_NEW with flags 0x40: EINVAL", ["devnew U 0xaa00 0x40"], ["err EINVAL"]],
  ["/dev/userfaultfd: any other command EINVAL", ["devnew U 0xaa01 0"], ["err EINVAL"]],
  ["/dev/userfaultfd: no EPERM policy check (unprivileged, flags 0), and the fd works",
    ["nopriv", "devnew U 0xaa00 0x800", "fdflags $U", "ioctl $U API 0xaa 0 0"], ["ok", "ok fd", "ok cloexec=0 acc=0 nonblock=1", API_OK]],
  ["write() on a userfaultfd: EBADF", [...INIT, "write $U 8"], [...INIT_OK, "err EBADF"]],
  ["/dev/userfaultfd fd itself: UFFDIO_API EINVAL (untouched), read() EINVAL",
    ["devopen D", "ioctl $D API 0xaa 0 0x77", "read $D 32"], ["ok fd", "err EINVAL = = =", "err EINVAL"]],
];

const api: Case[] = [
  ["UFFDIO_API features 0: 0x1ffff and the API ioctls", ["uffd U 1", "ioctl $U API 0xaa 0 0"], ["ok fd", API_OK]],
  ["UFFDIO_API WP_ASYNC: features is still the available set", ["uffd U 1", "ioctl $U API 0xaa 0x8000 0"], ["ok fd", API_OK]],
  ["UFFDIO_API ioctls word is not read (marker overwritten)", ["uffd U 1", "ioctl $U API 0xaa 0 0x77"], ["ok fd", API_OK]],
  ["second UFFDIO_API: EINVAL, structure zeroed", [...INIT, "ioctl $U API 0xaa 0x1 0x77"], [...INIT_OK, "err EINVAL 0x0 0x0 0x0"]],
  ["UFFDIO_API api=0xab: EINVAL, structure zeroed", ["uffd U 1", "ioctl $U API 0xab 0x1 0x77"], ["ok fd", "err EINVAL 0x0 0x0 0x0"]],
  ["UFFDIO_API 0xab, then 1<<63, then correct: failed calls leave the fd uninitialised",
    ["uffd U 1", "ioctl $U API 0xab 0 0x77", "ioctl $U API 0xaa 0x8000000000000000 0x77", "ioctl $U API 0xaa 0 0x77"],
    ["ok fd", "err EINVAL 0x0 = 0x0", "err EINVAL 0x0 0x0 0x0", API_OK]],
  ["UFFDIO_API EVENT_FORK unprivileged: EPERM, structure zeroed, fd still uninitialised",
    ["nopriv", "uffd U 1", "ioctl $U API 0xaa 0x2 0x77", "ioctl $U API 0xaa 0 0"], ["ok", "ok fd", "err EPERM 0x0 0x0 0x0", API_OK]],
  ["UFFDIO_API bits 0..15 at once succeed; bit 17 (not allocated): EINVAL, zeroed; all 17 bits succeed",
    ["uffd U 0x801", "ioctl $U API 0xaa 0xffff 0", "uffd V 0x801", "ioctl $V API 0xaa 0x20000 0x77", "ioctl $V API 0xaa 0x1ffff 0x77"],
    ["ok fd", API_OK, "ok fd", "err EINVAL 0x0 0x0 0x0", "ok = = 0x8000000000000003"]],
  ["UFFDIO_API EVENT_FORK privileged succeeds", ["uffd U 1", "ioctl $U API 0xaa 0x2 0"], ["ok fd", API_OK]],
  ["EPERM (step 3) comes before already-initialised (step 8)", ["nopriv", ...INIT, "ioctl $U API 0xaa 0x2 0x77"], ["ok", ...INIT_OK, "err EPERM 0x0 0x0 0x0"]],
  ["UFFDIO_API with a NULL argument: EFAULT, fd stays uninitialised", ["uffd U 1", "ioctl0 $U API", "ioctl $U API 0xaa 0 0"], ["ok fd", "err EFAULT", API_OK]],
  ["NULL argument after UFFDIO_API: REGISTER, UNREGISTER, WAKE, COPY, ZEROPAGE all EFAULT",
    [...INIT, "ioctl0 $U REGISTER", "ioctl0 $U UNREGISTER", "ioctl0 $U WAKE", "ioctl0 $U COPY", "ioctl0 $U ZEROPAGE"],
    [...INIT_OK, "err EFAULT", "err EFAULT", "err EFAULT", "err EFAULT", "err EFAULT"]],
  ["before UFFDIO_API: WAKE EINVAL", ["uffd U 1", "anon A 1 3", "ioctl $U WAKE $A 0x1000"], ["ok fd", "ok", "err EINVAL = ="]],
  ["before UFFDIO_API: REGISTER EINVAL, ioctls untouched", ["uffd U 1", "anon A 1 3", "ioctl $U REGISTER $A 0x1000 1 0x77"], ["ok fd", "ok", "err EINVAL = = = ="]],
  ["before UFFDIO_API: COPY EINVAL, out-field untouched",
    ["uffd U 1", "anon A 1 3", "anon S 1 3", "ioctl $U COPY $A $S 0x1000 0 0x77"], ["ok fd", "ok", "ok", "err EINVAL = = = = ="]],
  ["before UFFDIO_API: ZEROPAGE EINVAL, out-field untouched",
    ["uffd U 1", "anon A 1 3", "ioctl $U ZEROPAGE $A 0x1000 0 0x77"], ["ok fd", "ok", "err EINVAL = = = ="]],
  ["unknown command _IO(0xAA, 0x20) on an initialised fd: EINVAL", [...INIT, "ioctl $U 0xaa20"], [...INIT_OK, "err EINVAL"]],
  // not spec rows (generic VFS behaviour), measured on 6.18.44:
  ["UFFDIO_API on a memfd: ENOTTY; on a closed userfaultfd: EBADF",
    [...INIT, "memfd M 1", "ioctl $M API 0xaa 0 0x77", "close $U", "ioctl $U API 0xaa 0 0"], [...INIT_OK, "ok fd", "err ENOTTY = = =", "ok", "err EBADF = = ="]],
];

const reading: Case[] = [
  ["read() before UFFDIO_API: EINVAL", ["uffd U 0x801", "read $U 32"], ["ok fd", "err EINVAL"]],
  ["read() with a 16-byte buffer: EINVAL", [...INIT, "read $U 16"], [...INIT_OK, "err EINVAL"]],
  ["read() on an O_NONBLOCK fd with nothing pending: EAGAIN", [...INIT, "read $U 32"], [...INIT_OK, "err EAGAIN"]],
  ["read() with a large buffer and nothing pending: EAGAIN", [...INIT, "read $U 4096"], [...INIT_OK, "err EAGAIN"]],
  ["poll(): POLLERR before UFFDIO_API and on an initialised blocking fd; 0 after F_SETFL O_NONBLOCK (§3.2, §3.3)",
    ["uffd U 1", "poll $U", "ioctl $U API 0xaa 0 0", "poll $U", "setfl $U 0x800", "poll $U", "read $U 32"],
    ["ok fd", "ok 1 revents=0x8", API_OK, "ok 1 revents=0x8", "ok", "ok 0 revents=0x0", "err EAGAIN"]],
  ["poll() on an O_NONBLOCK fd: POLLERR before UFFDIO_API, 0 after with nothing pending",
    ["uffd U 0x801", "poll $U", "ioctl $U API 0xaa 0 0", "poll $U"], ["ok fd", "ok 1 revents=0x8", API_OK, "ok 0 revents=0x0"]],
];

// §3.3 mode table: [mode, anon, shmem]; MAP_SHARED|MAP_ANONYMOUS is shmem.
const MODES: [number, string, string][] = [
  [1, "0x13c", "0x13c"], [2, "0x17c", "0x17c"], [3, "0x17c", "0x17c"], [4, "EINVAL", "0x1bc"],
  [5, "EINVAL", "0x1bc"], [6, "EINVAL", "0x1fc"], [7, "EINVAL", "0x1fc"],
];
const regLine = (r: string) => (r.startsWith("0x") ? `ok = = = ${r}` : `err ${r} = = = =`);
const modeTable: Case[] = MODES.flatMap(([mode, anon, shmem]): Case[] => [
  [`REGISTER mode ${mode} on anon: ${anon}`, [...INIT, "anon A 2 3", `ioctl $U REGISTER $A 0x2000 ${mode} 0x77`], [...INIT_OK, "ok", regLine(anon)]],
  [`REGISTER mode ${mode} on memfd MAP_SHARED: ${shmem}`,
    [...INIT, "memfd M 2", "mapfd S $M 2 3", `ioctl $U REGISTER $S 0x2000 ${mode} 0x77`], [...INIT_OK, "ok fd", "ok", regLine(shmem)]],
  [`REGISTER mode ${mode} on MAP_SHARED|MAP_ANONYMOUS: ${shmem}`, [...INIT, "sanon S 2 3", `ioctl $U REGISTER $S 0x2000 ${mode} 0x77`], [...INIT_OK, "ok", regLine(shmem)]],
]);

const COPY_SETUP_L = [...INIT, "anon A 4 3", "ioctl $U REGISTER $A 0x4000 1 0", "anon S 4 3", "fill $S 0x4000 0x5a"];
const COPY_SETUP_OK_L = [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok"];
const register: Case[] = [
  ["REGISTER mode 0: EINVAL", [...INIT, "anon A 2 3", "ioctl $U REGISTER $A 0x2000 0 0x77"], [...INIT_OK, "ok", "err EINVAL = = = ="]],
  ["REGISTER mode 8: EINVAL", [...INIT, "anon A 2 3", "ioctl $U REGISTER $A 0x2000 8 0x77"], [...INIT_OK, "ok", "err EINVAL = = = ="]],
  ["REGISTER misaligned start: EINVAL", [...INIT, "anon A 2 3", "ioctl $U REGISTER $A+1 0x1000 1 0x77"], [...INIT_OK, "ok", "err EINVAL = = = ="]],
  ["REGISTER len 0: EINVAL", [...INIT, "anon A 2 3", "ioctl $U REGISTER $A 0 1 0x77"], [...INIT_OK, "ok", "err EINVAL = = = ="]],
  ["REGISTER len not a page multiple: EINVAL", [...INIT, "anon A 2 3", "ioctl $U REGISTER $A 0x1800 1 0x77"], [...INIT_OK, "ok", "err EINVAL = = = ="]],
  ["REGISTER a range with no VMA: EINVAL",
    [...INIT, "anon A 4 3", "munmap $A+0x1000 2", "ioctl $U REGISTER $A+0x1000 0x2000 1 0x77"], [...INIT_OK, "ok", "ok", "err EINVAL = = = ="]],
  ["REGISTER a range with a hole inside: succeeds",
    [...INIT, "anon A 4 3", "munmap $A+0x1000 1", "ioctl $U REGISTER $A 0x4000 1 0x77"], [...INIT_OK, "ok", "ok", "ok = = = 0x13c"]],
  ["REGISTER the same range again, same ctx: succeeds", [...INIT, "anon A 2 3", "ioctl $U REGISTER $A 0x2000 1 0", "ioctl $U REGISTER $A 0x2000 1 0"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok = = = 0x13c"]],
  ["REGISTER with another userfaultfd: EBUSY; its UNREGISTER: EINVAL",
    [...INIT, "uffd V 0x801", "ioctl $V API 0xaa 0 0", "anon A 2 3", "ioctl $U REGISTER $A 0x2000 1 0", "ioctl $V REGISTER $A 0x1000 1 0x77", "ioctl $V UNREGISTER $A 0x1000"],
    [...INIT_OK, "ok fd", API_OK, "ok", "ok = = = 0x13c", "err EBUSY = = = =", "err EINVAL = ="]],
  ["UNREGISTER a never-registered VMA: succeeds", [...INIT, "anon A 2 3", "ioctl $U UNREGISTER $A 0x2000"], [...INIT_OK, "ok", "ok = ="]],
  ["UNREGISTER with no VMA: EINVAL", [...INIT, "anon A 2 3", "munmap $A 2", "ioctl $U UNREGISTER $A 0x2000"], [...INIT_OK, "ok", "ok", "err EINVAL = ="]],
  ["UNREGISTER misaligned: EINVAL", [...INIT, "anon A 2 3", "ioctl $U UNREGISTER $A+8 0x1000"], [...INIT_OK, "ok", "err EINVAL = ="]],
  ["REGISTER MISSING on a read-only-opened memfd MAP_SHARED PROT_READ: EPERM",
    [...INIT, "memfd M 1", "mapfd R $M 1 1 ro", "ioctl $U REGISTER $R 0x1000 1 0x77"], [...INIT_OK, "ok fd", "ok", "err EPERM = = = ="]],
  ["REGISTER MINOR over anon + shmem VMAs: EINVAL (any VMA failing fails all); MINOR on memfd MAP_PRIVATE: 0x1bc",
    [...INIT, "anon A 2 3", "sanon B 2 3", "ioctl $U REGISTER $A 0x2000 4 0x77", "memfd M 1", "mapfd P $M 2 3", "ioctl $U REGISTER $P 0x2000 4 0x77"],
    [...INIT_OK, "ok", "ok", "err EINVAL = = = =", "ok fd", "ok", "ok = = = 0x1bc"]],
  ["REGISTER again with a different mode replaces it; UNREGISTER then re-REGISTER",
    [...INIT, "memfd M 2", "mapfd S $M 2 3", "ioctl $U REGISTER $S 0x2000 7 0", "ioctl $U REGISTER $S 0x1000 1 0", "ioctl $U UNREGISTER $S 0x2000", "ioctl $U REGISTER $S 0x2000 5 0"],
    [...INIT_OK, "ok fd", "ok", "ok = = = 0x1fc", "ok = = = 0x13c", "ok = =", "ok = = = 0x1bc"]],
  ["close() releases the registration: another userfaultfd can REGISTER the range",
    [...INIT, "uffd V 0x801", "ioctl $V API 0xaa 0 0", "anon A 2 3", "ioctl $U REGISTER $A 0x2000 1 0", "close $U", "ioctl $V REGISTER $A 0x2000 1 0x77"],
    [...INIT_OK, "ok fd", API_OK, "ok", "ok = = = 0x13c", "ok", "ok = = = 0x13c"]],
  ["REGISTER MISSING on a PROT_NONE anon mapping: succeeds", [...INIT, "anon A 2 0", "ioctl $U REGISTER $A 0x2000 1 0x77"], [...INIT_OK, "ok", "ok = = = 0x13c"]],
  ["REGISTER on a read-only shared mapping: mode 0 EINVAL (mode first), WP and MINOR EPERM",
    [...INIT, "memfd M 1", "mapfd R $M 1 1 ro", "ioctl $U REGISTER $R 0x1000 0 0x77", "ioctl $U REGISTER $R 0x1000 2 0x77", "ioctl $U REGISTER $R 0x1000 4 0x77"],
    [...INIT_OK, "ok fd", "ok", "err EINVAL = = = =", "err EPERM = = = =", "err EPERM = = = ="]],
  ["REGISTER beyond TASK_SIZE / wrapping length: EINVAL",
    [...INIT, "anon A 1 3", "ioctl $U REGISTER 0x7ffffffff000 0x1000 1 0x77", "ioctl $U REGISTER 0x7fffffffe000 0x2000 1 0x77", "ioctl $U REGISTER $A 0xfffffffffffff000 1 0x77", "ioctl $U UNREGISTER 0x7ffffffff000 0x1000", "ioctl $U WAKE 0x7ffffffff000 0x1000"],
    [...INIT_OK, "ok", "err EINVAL = = = =", "err EINVAL = = = =", "err EINVAL = = = =", "err EINVAL = =", "err EINVAL = ="]],
  ["REGISTER overlapping another ctx's VMA: EBUSY; the rest registers; COPY/ZEROPAGE through either ctx",
    [...INIT, "uffd V 0x801", "ioctl $V API 0xaa 0 0", "anon A 4 3", "ioctl $U REGISTER $A+0x1000 0x1000 1 0", "ioctl $V REGISTER $A 0x4000 1 0x77",
      "ioctl $V REGISTER $A+0x2000 0x2000 1 0x77", "anon S 1 3", "ioctl $V COPY $A+0x1000 $S 0x1000 0 0x77", "ioctl $V ZEROPAGE $A+0x3000 0x1000 0 0x77"],
    [...INIT_OK, "ok fd", API_OK, "ok", "ok = = = 0x13c", "err EBUSY = = = =", "ok = = = 0x13c", "ok", "ok = = = = 0x1000", "ok = = = 0x1000"]],
  ["UNREGISTER the middle page: COPY there ENOENT, elsewhere fine",
    [...COPY_SETUP_L, "ioctl $U UNREGISTER $A+0x1000 0x1000", "ioctl $U COPY $A+0x1000 $S 0x1000 0 0x77", "ioctl $U COPY $A $S 0x1000 0 0x77", "ioctl $U COPY $A+0x2000 $S 0x2000 0 0x77"],
    [...COPY_SETUP_OK_L, "ok = =", "err ENOENT = = = = -2", "ok = = = = 0x1000", "ok = = = = 0x2000"]],
  // not a spec row, measured on 6.18.44: the fill ignores the VMA's protection
  ["PROT_NONE registered: COPY and ZEROPAGE succeed",
    [...INIT, "anon A 2 0", "ioctl $U REGISTER $A 0x2000 1 0", "anon S 1 3", "ioctl $U COPY $A $S 0x1000 0 0x77", "ioctl $U ZEROPAGE $A+0x1000 0x1000 0 0x77", "ioctl $U COPY $A $S 0x1000 0 0x77"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok = = = = 0x1000", "ok = = = 0x1000", "err EEXIST = = = = -17"]],
];

/** $A: 4 registered anon pages (MISSING); $S: a 4-page source filled with 0x5a. */
const COPY_SETUP = [...INIT, "anon A 4 3", "ioctl $U REGISTER $A 0x4000 1 0", "anon S 4 3", "fill $S 0x4000 0x5a"];
const COPY_SETUP_OK = [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok"];

const copy: Case[] = [
  ["COPY one page: copy = 4096, the page reads the data", [...COPY_SETUP, "ioctl $U COPY $A $S 0x1000 0 0x77", "load $A 4096"],
    [...COPY_SETUP_OK, "ok = = = = 0x1000", dig(0x5a)]],
  ["COPY mode 8: EINVAL, out-field untouched", [...COPY_SETUP, "ioctl $U COPY $A $S 0x1000 8 0x77"], [...COPY_SETUP_OK, "err EINVAL = = = = ="]],
  ["COPY misaligned dst: EINVAL, out-field untouched", [...COPY_SETUP, "ioctl $U COPY $A+0x10 $S 0x1000 0 0x77"], [...COPY_SETUP_OK, "err EINVAL = = = = ="]],
  ["COPY len 0: EINVAL, out-field untouched", [...COPY_SETUP, "ioctl $U COPY $A $S 0 0 0x77"], [...COPY_SETUP_OK, "err EINVAL = = = = ="]],
  ["COPY len not a page multiple: EINVAL, out-field untouched", [...COPY_SETUP, "ioctl $U COPY $A $S 0x800 0 0x77"], [...COPY_SETUP_OK, "err EINVAL = = = = ="]],
  ["COPY src beyond the user address space: EINVAL, out-field untouched", [...COPY_SETUP, "ioctl $U COPY $A 0xffff800000000000 0x1000 0 0x77"], [...COPY_SETUP_OK, "err EINVAL = = = = ="]],
  ["COPY from an unaligned source: succeeds", [...COPY_SETUP, "fill $S+0x1000 1 0x11", "ioctl $U COPY $A $S+0xfff 0x1000 0 0x77", "load $A 2"],
    [...COPY_SETUP_OK, "ok", "ok = = = = 0x1000", `ok ${digestOf(new Uint8Array([0x5a, 0x11]))}`]],
  ["COPY to an unregistered page: ENOENT, copy = -2", [...COPY_SETUP, "anon P 1 3", "ioctl $U COPY $P $S 0x1000 0 0x77"], [...COPY_SETUP_OK, "ok", "err ENOENT = = = = -2"]],
  ["COPY from an unmapped source: EFAULT, copy = -14", [...COPY_SETUP, "munmap $S 4", "ioctl $U COPY $A $S 0x1000 0 0x77"], [...COPY_SETUP_OK, "ok", "err EFAULT = = = = -14"]],
  ["COPY again: EEXIST, copy = -17", [...COPY_SETUP, "ioctl $U COPY $A $S 0x1000 0 0x77", "ioctl $U COPY $A $S 0x1000 0 0x77"],
    [...COPY_SETUP_OK, "ok = = = = 0x1000", "err EEXIST = = = = -17"]],
  ["COPY 3 pages, the 2nd populated: EAGAIN, copy = 4096", [...COPY_SETUP, "ioctl $U COPY $A+0x1000 $S 0x1000 0 0", "ioctl $U COPY $A $S 0x3000 0 0x77"],
    [...COPY_SETUP_OK, "ok = = = = 0x1000", "err EAGAIN = = = = 0x1000"]],
  ["COPY 2 pages, the 1st populated: EEXIST, copy = -17", [...COPY_SETUP, "ioctl $U COPY $A $S 0x1000 0 0", "ioctl $U COPY $A $S 0x2000 0 0x77"],
    [...COPY_SETUP_OK, "ok = = = = 0x1000", "err EEXIST = = = = -17"]],
  // measured on 6.18.44 (§7.1 step 8; §8.3 with UFFD_USER_MODE_ONLY: a kernel-mode fault in a registered range fails)
  ["COPY with the 2nd source page unmapped: EAGAIN (4096); from a registered missing page: EFAULT (-14)",
    [...COPY_SETUP, "munmap $S+0x1000 1", "ioctl $U COPY $A $S 0x2000 0 0x77", "ioctl $U COPY $A+0x2000 $A+0x3000 0x1000 0 0x77", "ioctl $U COPY $A+0x2000 $A 0x1000 0 0x77"],
    [...COPY_SETUP_OK, "ok", "err EAGAIN = = = = 0x1000", "err EFAULT = = = = -14", "ok = = = = 0x1000"]],
  ["COPY with DONTWAKE: succeeds", [...COPY_SETUP, "ioctl $U COPY $A $S 0x1000 1 0x77"], [...COPY_SETUP_OK, "ok = = = = 0x1000"]],
  ["COPY MODE_WP on a MISSING-only VMA: EINVAL, copy = -22 (written)", [...COPY_SETUP, "ioctl $U COPY $A $S 0x1000 2 0x77", "ioctl $U COPY $A $S 0x1000 3 0x77"],
    [...COPY_SETUP_OK, "err EINVAL = = = = -22", "err EINVAL = = = = -22"]],
  ["COPY MODE_WP on a MISSING|WP VMA: succeeds",
    [...INIT, "anon A 2 3", "ioctl $U REGISTER $A 0x2000 3 0", "anon S 1 3", "ioctl $U COPY $A $S 0x1000 2 0x77", "ioctl $U COPY $A+0x1000 $S 0x1000 3 0x77"],
    [...INIT_OK, "ok", "ok = = = 0x17c", "ok", "ok = = = = 0x1000", "ok = = = = 0x1000"]],
  ["COPY range checks: len wraps, dst+len past TASK_SIZE, dst at TASK_SIZE: EINVAL untouched; last user page: ENOENT",
    [...COPY_SETUP, "ioctl $U COPY $A $S 0xfffffffffffff000 0 0x77", "ioctl $U COPY 0x7fffffffe000 $S 0x2000 0 0x77", "ioctl $U COPY 0x7ffffffff000 $S 0x1000 0 0x77", "ioctl $U COPY 0x7fffffffe000 $S 0x1000 0 0x77"],
    [...COPY_SETUP_OK, "err EINVAL = = = = =", "err EINVAL = = = = =", "err EINVAL = = = = =", "err ENOENT = = = = -2"]],
  ["COPY onto a page populated before REGISTER: EEXIST",
    [...INIT, "anon A 2 3", "fill $A 1 9", "ioctl $U REGISTER $A 0x2000 1 0", "anon S 1 3", "ioctl $U COPY $A $S 0x1000 0 0x77", "ioctl $U ZEROPAGE $A 0x1000 0 0x77"],
    [...INIT_OK, "ok", "ok", "ok = = = 0x13c", "ok", "err EEXIST = = = = -17", "err EEXIST = = = -17"]],
  ["memfd MAP_SHARED MINOR-registered: COPY from NULL EFAULT (-14), ZEROPAGE fine",
    [...INIT, "memfd M 1", "mapfd F $M 2 3", "ioctl $U REGISTER $F 0x2000 4 0", "ioctl $U COPY $F 0x0 0x1000 0 0x77", "ioctl $U ZEROPAGE $F 0x1000 0 0x77"],
    [...INIT_OK, "ok fd", "ok", "ok = = = 0x1bc", "err EFAULT = = = = -14", "ok = = = 0x1000"]],
  ["COPY range over two VMAs: ENOENT",
    [...INIT, "anon A 2 3", "ioctl $U REGISTER $A+0x1000 0x1000 1 0", "anon S 2 3", "ioctl $U COPY $A $S 0x2000 0 0x77"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "err ENOENT = = = = -2"]],
  ["shmem: COPY inside EOF succeeds, at EOF EFAULT (copy = -14)",
    [...INIT, "memfd M 1", "mapfd F $M 2 3", "ioctl $U REGISTER $F 0x2000 1 0", "anon S 1 3", "fill $S 0x1000 7",
      "ioctl $U COPY $F $S 0x1000 0 0x77", "ioctl $U COPY $F+0x1000 $S 0x1000 0 0x77", "mapfd G $M 1 3", "load $G 4096"],
    [...INIT_OK, "ok fd", "ok", "ok = = = 0x13c", "ok", "ok", "ok = = = = 0x1000", "err EFAULT = = = = -14", "ok", dig(7)]],
];

const zeropage: Case[] = [
  ["ZEROPAGE mode 2: EINVAL, out-field untouched", [...COPY_SETUP, "ioctl $U ZEROPAGE $A 0x1000 2 0x77"], [...COPY_SETUP_OK, "err EINVAL = = = ="]],
  ["ZEROPAGE misaligned: EINVAL, out-field untouched", [...COPY_SETUP, "ioctl $U ZEROPAGE $A+0x100 0x1000 0 0x77"], [...COPY_SETUP_OK, "err EINVAL = = = ="]],
  ["ZEROPAGE, then again: 4096, then EEXIST (-17); the page reads zeros",
    [...COPY_SETUP, "ioctl $U ZEROPAGE $A 0x1000 0 0x77", "ioctl $U ZEROPAGE $A 0x1000 0 0x77", "load $A 4096"],
    [...COPY_SETUP_OK, "ok = = = 0x1000", "err EEXIST = = = -17", ZERO_PAGE]],
  ["ZEROPAGE DONTWAKE: succeeds; len 0 / mode 0x10: EINVAL untouched",
    [...COPY_SETUP, "ioctl $U ZEROPAGE $A 0x1000 1 0x77", "ioctl $U ZEROPAGE $A 0 0 0x77", "ioctl $U ZEROPAGE $A+0x1000 0x1000 0x10 0x77"],
    [...COPY_SETUP_OK, "ok = = = 0x1000", "err EINVAL = = = =", "err EINVAL = = = ="]],
  ["ZEROPAGE 3 pages, the 2nd populated: EAGAIN (4096)",
    [...COPY_SETUP, "ioctl $U COPY $A+0x1000 $S 0x1000 0 0", "ioctl $U ZEROPAGE $A 0x3000 0 0x77"], [...COPY_SETUP_OK, "ok = = = = 0x1000", "err EAGAIN = = = 0x1000"]],
  ["MAP_SHARED|MAP_ANONYMOUS: COPY and ZEROPAGE fill, again EEXIST",
    [...INIT, "sanon B 2 3", "ioctl $U REGISTER $B 0x2000 1 0", "anon S 1 3", "fill $S 4096 8", "ioctl $U COPY $B $S 0x1000 0 0x77", "ioctl $U ZEROPAGE $B+0x1000 0x1000 0 0x77",
      "load $B 4096", "load $B+0x1000 4096", "ioctl $U COPY $B $S 0x1000 0 0x77", "ioctl $U ZEROPAGE $B+0x1000 0x1000 0 0x77"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok", "ok = = = = 0x1000", "ok = = = 0x1000", dig(8), ZERO_PAGE, "err EEXIST = = = = -17", "err EEXIST = = = -17"]],
  ["ZEROPAGE to an unregistered page: ENOENT (-2)", [...COPY_SETUP, "anon P 1 3", "ioctl $U ZEROPAGE $P 0x1000 0 0x77"], [...COPY_SETUP_OK, "ok", "err ENOENT = = = -2"]],
  ["ZEROPAGE onto a COPYed page: EEXIST (-17)", [...COPY_SETUP, "ioctl $U COPY $A $S 0x1000 0 0", "ioctl $U ZEROPAGE $A 0x1000 0 0x77"],
    [...COPY_SETUP_OK, "ok = = = = 0x1000", "err EEXIST = = = -17"]],
  ["shmem ZEROPAGE at EOF: EFAULT (-14)",
    [...INIT, "memfd M 1", "mapfd F $M 2 3", "ioctl $U REGISTER $F 0x2000 1 0", "ioctl $U ZEROPAGE $F 0x1000 0 0x77", "ioctl $U ZEROPAGE $F+0x1000 0x1000 0 0x77"],
    [...INIT_OK, "ok fd", "ok", "ok = = = 0x13c", "ok = = = 0x1000", "err EFAULT = = = -14"]],
];

const wake: Case[] = [
  ["WAKE len 0: EINVAL", [...INIT, "ioctl $U WAKE 0x10000 0"], [...INIT_OK, "err EINVAL = ="]],
  ["WAKE misaligned: EINVAL", [...INIT, "ioctl $U WAKE 0x10001 0x1000"], [...INIT_OK, "err EINVAL = ="]],
  ["WAKE on a range with nothing mapped: succeeds", [...INIT, "anon A 1 3", "munmap $A 1", "ioctl $U WAKE $A 0x1000"], [...INIT_OK, "ok", "ok", "ok = ="]],
];

const FAULT = [...COPY_SETUP_L, "tfault $A+0x1005 r", "readwait $U 64"];
const FAULT_OK = [...COPY_SETUP_OK_L, "ok", "ok 32 ev=0x12 flags=0x0 addr=$A+0x1000 ptid=0 zero=1"];
const messages: Case[] = [
  ["second thread read-faults: 32-byte message, flags 0, page-aligned address; COPY resumes it",
    [...COPY_SETUP, "tfault $A+0x1005 r", "readwait $U 64", "ioctl $U COPY $A+0x1000 $S 0x1000 0 0x77", "tjoin", "read $U 32"],
    [...COPY_SETUP_OK, "ok", "ok 32 ev=0x12 flags=0x0 addr=$A+0x1000 ptid=0 zero=1", "ok = = = = 0x1000", "ok 0x5a", "err EAGAIN"]],
  ["second thread write-faults: flags WRITE; ZEROPAGE resumes it and the write lands",
    [...COPY_SETUP, "tfault $A+0x2ff0 w 0x33", "readwait $U 32", "ioctl $U ZEROPAGE $A+0x2000 0x1000 0 0x77", "tjoin", "load $A+0x2ff0 1"],
    [...COPY_SETUP_OK, "ok", "ok 32 ev=0x12 flags=0x1 addr=$A+0x2000 ptid=0 zero=1", "ok = = = 0x1000", "ok 0x33", `ok ${digestOf(new Uint8Array([0x33]))}`]],
  ["EXACT_ADDRESS: the message has the exact fault address",
    ["uffd U 0x801", "ioctl $U API 0xaa 0x800 0", "anon A 4 3", "ioctl $U REGISTER $A 0x4000 1 0", "tfault $A+0x1005 r", "readwait $U 64", "ioctl $U ZEROPAGE $A+0x1000 0x1000 0 0", "tjoin"],
    ["ok fd", API_OK, "ok", "ok = = = 0x13c", "ok", "ok 32 ev=0x12 flags=0x0 addr=$A+0x1005 ptid=0 zero=1", "ok = = = 0x1000", "ok 0x00"]],
  ["a pending fault: poll() says POLLIN, read() of 31 bytes EINVAL, of 33 bytes one message; then nothing pending",
    [...COPY_SETUP_L, "tfault $A+0x1005 r", "readwait $U 31", "poll $U", "readwait $U 33", "poll $U", "ioctl $U COPY $A+0x1000 $S 0x1000 0 0", "tjoin"],
    [...COPY_SETUP_OK_L, "ok", "err EINVAL", "ok 1 revents=0x1", "ok 32 ev=0x12 flags=0x0 addr=$A+0x1000 ptid=0 zero=1", "ok 0 revents=0x0", "ok = = = = 0x1000", "ok 0x5a"]],
  ["UNREGISTER wakes the faulter of a MISSING range; it reads zero", [...FAULT, "ioctl $U UNREGISTER $A 0x4000", "tjoin", "read $U 32"],
    [...FAULT_OK, "ok = =", "ok 0x00", "err EAGAIN"]],
  ["WAKE with the page still missing: the thread faults again (a new message); COPY then resumes it",
    [...FAULT, "ioctl $U WAKE $A+0x1000 0x1000", "readwait $U 64", "ioctl $U COPY $A+0x1000 $S 0x1000 0 0", "tjoin"],
    [...FAULT_OK, "ok = =", "ok 32 ev=0x12 flags=0x0 addr=$A+0x1000 ptid=0 zero=1", "ok = = = = 0x1000", "ok 0x5a"]],
  ["COPY DONTWAKE, then WAKE of another page, then of its page", [...FAULT, "ioctl $U COPY $A+0x1000 $S 0x1000 1 0", "ioctl $U WAKE $A 0x1000", "ioctl $U WAKE $A+0x1000 0x1000", "tjoin"],
    [...FAULT_OK, "ok = = = = 0x1000", "ok = =", "ok = =", "ok 0x5a"]],
  ["THREAD_ID: ptid is the faulting thread's id",
    ["uffd U 0x801", "ioctl $U API 0xaa 0x100 0", "anon A 2 3", "ioctl $U REGISTER $A 0x2000 1 0", "tfault $A+0x1fff w 0x44", "readwait $U 64", "ioctl $U ZEROPAGE $A+0x1000 0x1000 0 0", "tjoin"],
    ["ok fd", API_OK, "ok", "ok = = = 0x13c", "ok", "ok 32 ev=0x12 flags=0x1 addr=$A+0x1000 ptid=T zero=1", "ok = = = 0x1000", "ok 0x44"]],
  ["a read message stays read: a second read() is EAGAIN while the faulter waits", [...FAULT, "read $U 32", "ioctl $U COPY $A+0x1000 $S 0x1000 0 0", "tjoin"],
    [...FAULT_OK, "err EAGAIN", "ok = = = = 0x1000", "ok 0x5a"]],
  ["a write to a ZEROPAGE-filled page raises no userfault", [...COPY_SETUP_L, "ioctl $U ZEROPAGE $A 0x1000 0 0", "tfault $A+0x10 w 0x21", "tjoin", "read $U 32", "load $A+0x10 1"],
    [...COPY_SETUP_OK_L, "ok = = = 0x1000", "ok", "ok 0x21", "err EAGAIN", `ok ${digestOf(new Uint8Array([0x21]))}`]],
  ["close() of the userfaultfd wakes the faulter; it reads zero", [...FAULT, "close $U", "tjoin"], [...FAULT_OK, "ok", "ok 0x00"]],
];

// UFFDIO_MOVE (§7.10). $A: 4 registered anon pages; $S: 4 source pages filled with 0x5a.
const MOVE_SETUP = [...COPY_SETUP];
const MOVE_SETUP_OK = [...COPY_SETUP_OK];
const M = (dst: string, src: string, len: string, mode = "0", out = "0x77") => `ioctl $U MOVE ${dst} ${src} ${len} ${mode} ${out}`;
const moved = (n: string) => `ok = = = = ${n}`;
const moveFail = (e: string, n: number) => `err ${e} = = = = ${n}`;
const move: Case[] = [
  ["MOVE two pages after UFFDIO_API with features 0: move = 8192; dst has the data, src reads 0",
    [...MOVE_SETUP, M("$A", "$S", "0x2000"), "load $A+0x1000 4096", "load $S 4096", "load $S+0x2000 4096"],
    [...MOVE_SETUP_OK, moved("0x2000"), dig(0x5a), ZERO_PAGE, dig(0x5a)]],
  ["MOVE before UFFDIO_API: EINVAL, out-field untouched", ["uffd U 0x801", "anon A 1 3", "anon S 1 3", M("$A", "$S", "0x1000")], ["ok fd", "ok", "ok", "err EINVAL = = = = ="]],
  ["MOVE with a NULL argument: EFAULT", [...INIT, "ioctl0 $U MOVE"], [...INIT_OK, "err EFAULT"]],
  ["MOVE mode 4 / mode 0x80: EINVAL untouched; ALLOW_SRC_HOLES|DONTWAKE allowed",
    [...MOVE_SETUP, M("$A", "$S", "0x1000", "4"), M("$A", "$S", "0x1000", "0x80"), M("$A", "$S", "0x1000", "3")],
    [...MOVE_SETUP_OK, "err EINVAL = = = = =", "err EINVAL = = = = =", moved("0x1000")]],
  ["MOVE range checks: misaligned dst or src, len 0, len not a page multiple, wrapping, src beyond TASK_SIZE: EINVAL untouched",
    [...MOVE_SETUP, M("$A+8", "$S", "0x1000"), M("$A", "$S+8", "0x1000"), M("$A", "$S", "0"), M("$A", "$S", "0x1800"), M("$A", "$S", "0xfffffffffffff000"), M("$A", "0x7ffffffff000", "0x1000")],
    [...MOVE_SETUP_OK, "err EINVAL = = = = =", "err EINVAL = = = = =", "err EINVAL = = = = =", "err EINVAL = = = = =", "err EINVAL = = = = =", "err EINVAL = = = = ="]],
  ["MOVE with no VMA at dst or at src: ENOENT (-2)",
    [...MOVE_SETUP, "anon G 1 3", "munmap $G 1", M("$G", "$S", "0x1000"), M("$A", "$G", "0x1000")],
    [...MOVE_SETUP_OK, "ok", "ok", moveFail("ENOENT", -2), moveFail("ENOENT", -2)]],
  ["MOVE from or to a MAP_SHARED anonymous VMA: EINVAL (-22)",
    [...MOVE_SETUP, "sanon B 2 3", "fill $B 0x1000 1", "ioctl $U REGISTER $B 0x2000 1 0", M("$A", "$B", "0x1000"), M("$B+0x1000", "$S", "0x1000")],
    [...MOVE_SETUP_OK, "ok", "ok", "ok = = = 0x13c", moveFail("EINVAL", -22), moveFail("EINVAL", -22)]],
  ["MOVE crossing the end of the src VMA or of the dst VMA: EINVAL (-22)",
    [...MOVE_SETUP, M("$A", "$S+0x3000", "0x2000"), M("$A+0x3000", "$S", "0x2000")],
    [...MOVE_SETUP_OK, moveFail("EINVAL", -22), moveFail("EINVAL", -22)]],
  ["MOVE from a read-only or PROT_NONE source: EINVAL; with both read-only: EINVAL (src not writable)",
    [...MOVE_SETUP, "mprotect $S 1 1", M("$A", "$S", "0x1000"), "mprotect $S 1 0", M("$A", "$S", "0x1000"), "anon R 2 1", "ioctl $U REGISTER $R 0x2000 1 0", "anon Q 1 1", "load $Q 1", M("$R", "$Q", "0x1000")],
    [...MOVE_SETUP_OK, "ok", moveFail("EINVAL", -22), "ok", moveFail("EINVAL", -22), "ok", "ok = = = 0x13c", "ok", ZERO_1, moveFail("EINVAL", -22)]],
  ["MOVE from PROT_READ|PROT_WRITE|PROT_EXEC to PROT_READ|PROT_WRITE: EINVAL (access flags differ)",
    [...MOVE_SETUP, "mprotect $S 1 7", M("$A", "$S", "0x1000"), "mprotect $S 1 3", M("$A", "$S", "0x1000")],
    [...MOVE_SETUP_OK, "ok", moveFail("EINVAL", -22), "ok", moved("0x1000")]],
  ["MOVE from an mlocked source: EINVAL (mlock state differs); both mlocked (mlock of the missing dst fails to populate, ENOMEM, but locks): moves",
    [...MOVE_SETUP, "mlock $S 1", M("$A", "$S", "0x1000"), "mlock $A 1", M("$A", "$S", "0x1000")],
    [...MOVE_SETUP_OK, "ok", moveFail("EINVAL", -22), "err ENOMEM", moved("0x1000")]],
  ["MOVE to an unregistered VMA, or one registered with another userfaultfd: EINVAL; COPY through that one works",
    [...MOVE_SETUP, "anon P 1 3", M("$P", "$S", "0x1000"), "uffd V 0x801", "ioctl $V API 0xaa 0 0", "ioctl $V MOVE $A $S 0x1000 0 0x77", "ioctl $V COPY $A $S 0x1000 0 0x77"],
    [...MOVE_SETUP_OK, "ok", moveFail("EINVAL", -22), "ok fd", API_OK, moveFail("EINVAL", -22), "ok = = = = 0x1000"]],
  ["MOVE from a hole: ENOENT (-2); with ALLOW_SRC_HOLES the hole counts as moved",
    [...INIT, "anon A 4 3", "ioctl $U REGISTER $A 0x4000 1 0", "anon S 4 3", M("$A", "$S", "0x2000"), M("$A", "$S", "0x2000", "2"), "fill $S+0x3000 1 9", M("$A+0x2000", "$S+0x2000", "0x2000", "2"), "load $A+0x3000 1", M("$A", "$S", "0x1000")],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", moveFail("ENOENT", -2), moved("0x2000"), "ok", moved("0x2000"), `ok ${digestOf(new Uint8Array([9]))}`, moveFail("ENOENT", -2)]],
  ["MOVE onto a populated dst page: EEXIST (-17); 3 pages, the 2nd populated: EAGAIN (4096)",
    [...MOVE_SETUP, "ioctl $U COPY $A+0x1000 $S 0x1000 0 0", M("$A+0x1000", "$S", "0x1000"), M("$A", "$S+0x1000", "0x3000")],
    [...MOVE_SETUP_OK, "ok = = = = 0x1000", moveFail("EEXIST", -17), "err EAGAIN = = = = 0x1000"]],
  ["MOVE: the dst check comes before the src hole check once a src page table exists",
    [...MOVE_SETUP, "madvise $S 1 4", "ioctl $U ZEROPAGE $A 0x1000 0 0", M("$A", "$S", "0x1000"), M("$A+0x1000", "$S", "0x1000")],
    [...MOVE_SETUP_OK, "ok", "ok = = = 0x1000", moveFail("EEXIST", -17), moveFail("ENOENT", -2)]],
  ["MOVE of a zero-page PTE moves it: dst reads 0, a second MOVE there is EEXIST",
    [...INIT, "anon A 2 3", "ioctl $U REGISTER $A 0x2000 1 0", "anon S 2 3", "load $S 4096", M("$A", "$S", "0x1000"), "load $A 4096", M("$A", "$S+0x1000", "0x1000", "2"), M("$A", "$S", "0x1000", "2")],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", ZERO_PAGE, moved("0x1000"), ZERO_PAGE, moveFail("EEXIST", -17), moveFail("EEXIST", -17)]],
  ["MOVE inside one registered VMA: [p+1, p+3) to [p, p+2) moves both; [p, p+2) to [p+1, p+3) with p+1 populated: EEXIST",
    [...INIT, "anon A 4 3", "ioctl $U REGISTER $A 0x4000 1 0", "anon S 4 3", "fill $S 0x1000 1", "fill $S+0x1000 0x1000 2", "fill $S+0x2000 0x1000 3",
      "ioctl $U COPY $A+0x1000 $S+0x1000 0x2000 0 0", M("$A", "$A+0x1000", "0x2000"), "load $A 4096", "load $A+0x1000 4096", "ioctl $U COPY $A+0x2000 $S 0x1000 0 0x77",
      M("$A+0x1000", "$A", "0x2000")],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok", "ok", "ok", "ok = = = = 0x2000", moved("0x2000"), dig(2), dig(3), "ok = = = = 0x1000", moveFail("EEXIST", -17)]],
  ["MOVE from a page shared with a fork child: EBUSY (-16), still after the child exited; a write makes it exclusive again",
    [...MOVE_SETUP, "fork", M("$A", "$S", "0x1000"), "reap", M("$A", "$S", "0x1000"), "fill $S 1 1", M("$A", "$S", "0x1000"), "load $A 1"],
    [...MOVE_SETUP_OK, "ok", moveFail("EBUSY", -16), "ok", moveFail("EBUSY", -16), "ok", moved("0x1000"), `ok ${digestOf(new Uint8Array([1]))}`]],
  ["MOVE from an MADV_DONTFORK source after fork: moves",
    [...MOVE_SETUP, "madvise $S 4 10", "fork", M("$A", "$S", "0x4000"), "reap", "load $A+0x3000 4096"],
    [...MOVE_SETUP_OK, "ok", "ok", moved("0x4000"), "ok", dig(0x5a)]],
  ["MOVE onto a poisoned dst page: EEXIST; from a poisoned src page: EFAULT (-14)",
    [...MOVE_SETUP, "ioctl $U 0xc020aa08 $A 0x1000 0 0", M("$A", "$S", "0x1000"), "anon P 1 3", "ioctl $U REGISTER $P 0x1000 1 0", "ioctl $U 0xc020aa08 $P 0x1000 0 0", M("$A+0x1000", "$P", "0x1000"), M("$A+0x1000", "$P", "0x1000", "2")],
    [...MOVE_SETUP_OK, "ok = = = 0x1000", moveFail("EEXIST", -17), "ok", "ok = = = 0x13c", "ok = = = 0x1000", moveFail("EFAULT", -14), moveFail("EFAULT", -14)]],
  ["MOVE resolves a MISSING fault and wakes the faulter; the source, itself registered, then faults again",
    [...INIT, "anon A 2 3", "ioctl $U REGISTER $A 0x2000 1 0", "anon S 2 3", "fill $S 0x2000 0x42", "ioctl $U REGISTER $S 0x2000 1 0",
      "tfault $A+0x1010 r", "readwait $U 64", M("$A+0x1000", "$S", "0x1000"), "tjoin", "tfault $S+8 r", "readwait $U 64", "ioctl $U ZEROPAGE $S 0x1000 0 0", "tjoin"],
    [...INIT_OK, "ok", "ok = = = 0x13c", "ok", "ok", "ok = = = 0x13c",
      "ok", "ok 32 ev=0x12 flags=0x0 addr=$A+0x1000 ptid=0 zero=1", moved("0x1000"), "ok 0x42", "ok", "ok 32 ev=0x12 flags=0x0 addr=$S ptid=0 zero=1", "ok = = = 0x1000", "ok 0x00"]],
  ["MOVE of a write-protected page into a MISSING|WP VMA: the protection does not travel (a write raises no WP fault)",
    [...INIT, "anon A 2 3", "ioctl $U REGISTER $A 0x2000 3 0", "anon S 2 3", "fill $S 0x2000 7", "ioctl $U REGISTER $S 0x2000 2 0",
      "ioctl $U 0xc018aa06 $S 0x1000 1", M("$A", "$S", "0x1000"), "tfault $A+4 w 9", "tjoin", "read $U 32"],
    [...INIT_OK, "ok", "ok = = = 0x17c", "ok", "ok", "ok = = = 0x17c", "ok = = =", moved("0x1000"), "ok", "ok 0x09", "err EAGAIN"]],
  ["MOVE with DONTWAKE leaves the faulter waiting until WAKE",
    [...MOVE_SETUP, "tfault $A+0x2000 r", "readwait $U 64", M("$A+0x2000", "$S", "0x1000", "1"), "ioctl $U WAKE $A 0x1000", "ioctl $U WAKE $A+0x2000 0x1000", "tjoin"],
    [...MOVE_SETUP_OK, "ok", "ok 32 ev=0x12 flags=0x0 addr=$A+0x2000 ptid=0 zero=1", moved("0x1000"), "ok = =", "ok = =", "ok 0x5a"]],
];

// The seed's COPY source-fault path (§7.5, §2.2 row 9): a second thread's COPY whose source is a
// MISSING userfault of a fd without UFFD_USER_MODE_ONLY waits in the kernel until it is served, then
// completes; pages copied before the wait are not copied again.
const SRC_SETUP = ["uffd U 0x800", "ioctl $U API 0xaa 0 0", "anon A 4 3", "ioctl $U REGISTER $A 0x4000 1 0", "anon S 4 3", "ioctl $U REGISTER $S 0x4000 1 0",
  "anon B 2 3", "fill $B 0x2000 0x33"];
const SRC_SETUP_OK = ["ok fd", API_OK, "ok", "ok = = = 0x13c", "ok", "ok = = = 0x13c", "ok", "ok"];
const SRC_MSG = (off: string) => `ok 32 ev=0x12 flags=0x0 addr=$S${off} ptid=0 zero=1`;
const copySource: Case[] = [
  ["COPY whose 2nd source page is a userfault: the caller waits, the fault is served, the COPY completes (0x2000)",
    [...SRC_SETUP, "ioctl $U COPY $S $B 0x1000 0 0", "tioctl $U COPY $A $S 0x2000 0 0x77", "readwait $U 64", "ioctl $U COPY $S+0x1000 $B+0x1000 0x1000 0 0x77", "tioctljoin", "load $A+0x1000 4096", "read $U 32"],
    [...SRC_SETUP_OK, "ok = = = = 0x1000", "ok", SRC_MSG("+0x1000"), "ok = = = = 0x1000", "ok = = = = 0x2000", dig(0x33), "err EAGAIN"]],
  ["COPY waiting for its source: the dst VMA unmapped meanwhile, EAGAIN with the page done before (0x1000)",
    [...SRC_SETUP, "ioctl $U COPY $S $B 0x1000 0 0", "tioctl $U COPY $A $S 0x2000 0 0x77", "readwait $U 64", "munmap $A 4", "ioctl $U ZEROPAGE $S+0x1000 0x1000 0 0x77", "tioctljoin"],
    [...SRC_SETUP_OK, "ok = = = = 0x1000", "ok", SRC_MSG("+0x1000"), "ok", "ok = = = 0x1000", "err EAGAIN = = = = 0x1000"]],
  ["COPY waiting for its source: UNREGISTER of the source wakes it; it copies zeros",
    [...SRC_SETUP, "tioctl $U COPY $A $S 0x1000 0 0x77", "readwait $U 64", "ioctl $U UNREGISTER $S 0x4000", "tioctljoin", "load $A 4096"],
    [...SRC_SETUP_OK, "ok", SRC_MSG(""), "ok = =", "ok = = = = 0x1000", ZERO_PAGE]],
  ["COPY waiting for its source: its next dst page filled meanwhile, EAGAIN (0x1000) once resumed",
    [...SRC_SETUP, "ioctl $U COPY $S $B 0x1000 0 0", "tioctl $U COPY $A $S 0x2000 0 0x77", "readwait $U 64", "ioctl $U COPY $A+0x1000 $B 0x1000 0 0", "ioctl $U COPY $S+0x1000 $B+0x1000 0x1000 0 0x77", "tioctljoin"],
    [...SRC_SETUP_OK, "ok = = = = 0x1000", "ok", SRC_MSG("+0x1000"), "ok = = = = 0x1000", "ok = = = = 0x1000", "err EAGAIN = = = = 0x1000"]],
  ["COPY waiting for its source: with UFFD_USER_MODE_ONLY the kernel's access fails instead, EFAULT (-14)",
    ["uffd U 0x801", ...SRC_SETUP.slice(1), "tioctl $U COPY $A $S 0x1000 0 0x77", "tioctljoin", "read $U 32"],
    [...SRC_SETUP_OK, "ok", "err EFAULT = = = = -14", "err EAGAIN"]],
];

const ALL: [string, Case[]][] = [
  ["creation (§3.2, §6.1)", creation], ["UFFDIO_API (§3.2, §6.8)", api], ["read() (§8.4)", reading],
  ["REGISTER mode table (§3.3)", modeTable], ["REGISTER / UNREGISTER (§3.3, §7.2, §7.3)", register],
  ["COPY (§3.3, §7.1, §7.5)", copy], ["ZEROPAGE (§3.3, §7.6)", zeropage], ["WAKE (§7.4)", wake], ["messages (§6.6, §8.4)", messages],
  ["MOVE (§7.10)", move], ["COPY whose source faults (§7.5)", copySource],
];

/**
 * Rows where uffdlab differs from Linux 6.18 and the fix is not small: the case name → the lines
 * uffdlab prints now, and why. The host must still print the expected lines.
 */
const KNOWN_DIFFERENCES: Record<string, { uffdlab: string[]; reason: string }> = {};

const native = uffdNativeAvailable();

describe("userfaultfd ioctls: host kernel vs uffdlab", () => {
  it("has at least 60 cases", () => {
    expect(ALL.reduce((n, [, c]) => n + c.length, 0)).toBeGreaterThanOrEqual(60);
  });
  for (const [group, cases] of ALL) {
    describe(group, () => {
      for (const [name, steps, expected] of cases) {
        it.skipIf(!native.ok)(`host: ${name}`, () => {
          expect(runUffdNative(steps)).toEqual(expected);
        });
        it(`uffdlab: ${name}`, async () => {
          const got = await runUffdUffdlab(steps);
          const known = KNOWN_DIFFERENCES[name];
          expect(got).toEqual(known ? known.uffdlab : expected);
        });
      }
    });
  }
  if (!native.ok) it.skip(`host kernel rows skipped: ${native.reason}`, () => {});
});
