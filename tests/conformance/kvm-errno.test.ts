// KVM and guest_memfd, errno for errno: every case runs on the host kernel's /dev/kvm (the KVM verbs
// of tests/oracle/uffd_oracle.c) and on uffdlab (tests/conformance/uffd-runner.ts), and both must
// print the expected lines: the rows of LINUX-SEMANTICS.md §3.1, plus §10.3-§10.7. Rows where uffdlab
// follows 7.1 (userfaultfd on guest_memfd, §2.2 rows 1-2) carry two expectations: the 6.18 lines the
// host must print, and the 7.1 lines uffdlab must print.
import { describe, it, expect } from "vitest";
import { runUffdNative, runUffdUffdlab, kvmNativeAvailable } from "./uffd-runner.js";

const INIT = ["kvm K", "vm V $K 0"];
const INIT_OK = ["ok fd", "ok fd"];
/** A 4-page guest_memfd $G with FLAGS, mapped MAP_SHARED read/write as $M (4 pages). */
const GM = (flags: number, pages = 4) => [...INIT, `gmem G $V 16384 ${flags}`, `mapgmem M $G ${pages} 3 1 0`];
const GM_OK = [...INIT_OK, "ok fd", "ok"];
const UFFD = ["uffd U 0x801", "ioctl $U API 0xaa 0 0"];
const UFFD_OK = ["ok fd", "ok = 0x1ffff 0x8000000000000003"];
const SLOT = (slot: number, flags: number, gpa: string, size: string, uaddr: string, gfd: string, off: string) =>
  `slot $V ${slot} ${flags} ${gpa} ${size} ${uaddr} ${gfd} ${off}`;
/** A 4-page guest_memfd $G (MMAP|INIT_SHARED) and another one $H, for memslot rows (2-page slots). */
const MS = [...INIT, "gmem G $V 16384 3", "gmem H $V 16384 3"];
const MS_OK = [...INIT_OK, "ok fd", "ok fd"];

interface Case {
  name: string;
  steps: string[];
  expected: string[];
  /** 7.1 lines for uffdlab where the series changes the outcome (rule (c)); `expected` is 6.18's */
  v71?: string[];
}
const ST4 = "ok size=16384 blksize=4096 blocks=0 mode=0100600 nlink=1";
const c = (name: string, steps: string[], expected: string[], v71?: string[]): Case => ({ name, steps, expected, v71 });

const kvm: Case[] = [
  c("KVM_GET_API_VERSION 12; with a non-zero argument EINVAL", ["kvm K", "ioctlv $K 0xae00 0", "ioctlv $K 0xae00 5"], ["ok fd", "ok 12", "err EINVAL"]),
  c("KVM_CHECK_EXTENSION on /dev/kvm: GUEST_MEMFD 1, GUEST_MEMFD_FLAGS 3, USER_MEMORY2 1, NR_MEMSLOTS 32764, VM_TYPES 1, MULTI_ADDRESS_SPACE 0, MEMORY_ATTRIBUTES 0",
    ["kvm K", "cap $K 234", "cap $K 244", "cap $K 231", "cap $K 10", "cap $K 235", "cap $K 118", "cap $K 233", "cap $K 3", "cap $K 21", "cap $K 30", "cap $K 105"],
    ["ok fd", "ok 1", "ok 3", "ok 1", "ok 32764", "ok 1", "ok 0", "ok 0", "ok 1", "ok 1", "ok 1", "ok 1"]),
  c("KVM_CHECK_EXTENSION on a VM fd: the same memory capabilities", [...INIT, "cap $V 234", "cap $V 244", "cap $V 231", "cap $V 10", "cap $V 233"],
    [...INIT_OK, "ok 1", "ok 3", "ok 1", "ok 32764", "ok 0"]),
  c("KVM_CREATE_VM: type 1 and 99 EINVAL", ["kvm K", "vm V $K 1", "vm W $K 99"], ["ok fd", "err EINVAL", "err EINVAL"]),
  c("unknown ioctl: /dev/kvm EINVAL, VM fd ENOTTY; GET_API_VERSION on a VM ENOTTY", [...INIT, "ioctlv $K 0xaeff 0", "ioctlv $V 0xaeff 0", "ioctlv $V 0xae00 0"],
    [...INIT_OK, "err EINVAL", "err ENOTTY", "err ENOTTY"]),
  c("VM fd: O_RDWR, close-on-exec; read/write EINVAL; fallocate ENODEV; ftruncate EINVAL; lseek 0",
    [...INIT, "fdflags $V", "getfl $V", "read $V 8", "write $V 8", "fallocate $V 3 0 4096", "ftruncate $V 0", "lseek $V 5 0"],
    [...INIT_OK, "ok cloexec=1 acc=2 nonblock=0", "ok 0x2", "err EINVAL", "err EINVAL", "err ENODEV", "err EINVAL", "ok 0"]),
  c("/dev/kvm: read/write EINVAL, fallocate ENODEV, lseek 0, F_GETFL O_RDWR|O_LARGEFILE",
    ["kvm K", "read $K 8", "write $K 8", "fallocate $K 3 0 4096", "lseek $K 5 0", "getfl $K"], ["ok fd", "err EINVAL", "err EINVAL", "err ENODEV", "ok 0", "ok 0x8002"]),
];

const create: Case[] = [
  c("flags 0, 2 and 3 succeed", [...INIT, "gmem A $V 4096 0", "gmem B $V 4096 2", "gmem C $V 4096 3"], [...INIT_OK, "ok fd", "ok fd", "ok fd"]),
  c("flags 4, 5, 6, 7 EINVAL", [...INIT, "gmem A $V 4096 4", "gmem A $V 4096 5", "gmem A $V 4096 6", "gmem A $V 4096 7"], [...INIT_OK, "err EINVAL", "err EINVAL", "err EINVAL", "err EINVAL"]),
  c("single flag bits 2, 8, 32, 63: EINVAL", [...INIT, "gmem A $V 4096 0x4", "gmem A $V 4096 0x100", "gmem A $V 4096 0x100000000", "gmem A $V 4096 0x8000000000000000"],
    [...INIT_OK, "err EINVAL", "err EINVAL", "err EINVAL", "err EINVAL"]),
  c("size 0, 1, PAGE_SIZE + 1, -4096: EINVAL", [...INIT, "gmem A $V 0 0", "gmem A $V 1 0", "gmem A $V 4097 0", "gmem A $V -4096 0"],
    [...INIT_OK, "err EINVAL", "err EINVAL", "err EINVAL", "err EINVAL"]),
  c("size 1 TiB succeeds", [...INIT, "gmem A $V 0x10000000000 3", "fstat $A"], [...INIT_OK, "ok fd", "ok size=1099511627776 blksize=4096 blocks=0 mode=0100600 nlink=1"]),
  c("reserved[0] = 1, reserved[5] = 0xffff: not validated", [...INIT, "gmem A $V 4096 0 1", "gmem B $V 4096 0 0 0xffff"], [...INIT_OK, "ok fd", "ok fd"]),
  c("KVM_CREATE_GUEST_MEMFD on the /dev/kvm fd: EINVAL", ["kvm K", "gmem A $K 4096 0"], ["ok fd", "err EINVAL"]),
  c("KVM_CREATE_GUEST_MEMFD with a NULL argument: EFAULT", [...INIT, "ioctl0 $V 0xc040aed4"], [...INIT_OK, "err EFAULT"]),
];

const file: Case[] = [
  c("read / write EINVAL; pread / pwrite / lseek ESPIPE", [...INIT, "gmem G $V 16384 3", "read $G 8", "write $G 8", "pread $G 8 0", "pwrite $G 8 0", "lseek $G 0 0"],
    [...INIT_OK, "ok fd", "err EINVAL", "err EINVAL", "err ESPIPE", "err ESPIPE", "err ESPIPE"]),
  c("ftruncate to a larger or the same size: EINVAL", [...INIT, "gmem G $V 16384 3", "ftruncate $G 32768", "ftruncate $G 16384"], [...INIT_OK, "ok fd", "err EINVAL", "err EINVAL"]),
  c("fstat of a 4-page file; a second file has another st_ino; F_GETFL O_RDWR (|O_LARGEFILE); no close-on-exec",
    [...INIT, "gmem G $V 16384 0", "gmem H $V 8192 0", "fstat $G", "fstat $H", "sameino $G $H", "getfl $G", "fdflags $G"],
    [...INIT_OK, "ok fd", "ok fd", "ok size=16384 blksize=4096 blocks=0 mode=0100600 nlink=1", "ok size=8192 blksize=4096 blocks=0 mode=0100600 nlink=1",
      "ok differ", "ok 0x8002", "ok cloexec=0 acc=2 nonblock=0"]),
  c("st_blocks stays 0: after writing every page, after fallocate, after punching",
    [...GM(3), "memset $M 16384 0xaa", "fstat $G", "fallocate $G 1 0 16384", "fstat $G", "fallocate $G 3 0 16384", "fstat $G"],
    [...GM_OK, "ok", ST4, "ok", ST4, "ok", ST4]),
  c("the VM fd closed: mmap, access and fallocate still work",
    [...INIT, "gmem G $V 16384 3", "close $V", "mapgmem M $G 4 3 1 0", "memset $M 16384 0x11", "touch $M+0x3fff r", "fallocate $G 3 0 4096", "touch $M r"],
    [...INIT_OK, "ok fd", "ok", "ok", "ok", "ok 0x11", "ok", "ok 0x00"]),
];

const mmap: Case[] = [
  c("without MMAP (flags 0, INIT_SHARED alone): ENODEV", [...INIT, "gmem A $V 16384 0", "gmem B $V 16384 2", "mapgmem M $A 1 3 1 0", "mapgmem M $B 4 3 1 0", "mapgmem M $A 1 0 1 0"],
    [...INIT_OK, "ok fd", "ok fd", "err ENODEV", "err ENODEV", "err ENODEV"]),
  c("without MMAP, MAP_PRIVATE: ENODEV first", [...INIT, "gmem A $V 16384 0", "mapgmem M $A 1 3 2 0"], [...INIT_OK, "ok fd", "err ENODEV"]),
  c("MMAP, MAP_PRIVATE: EINVAL (read-only too); MAP_SHARED_VALIDATE works", [...INIT, "gmem A $V 16384 1", "mapgmem M $A 1 3 2 0", "mapgmem M $A 1 1 2 0", "mapgmem M $A 1 3 3 0"],
    [...INIT_OK, "ok fd", "err EINVAL", "err EINVAL", "ok"]),
  c("PROT_EXEC: EPERM (before ENODEV); mprotect adding PROT_EXEC: EACCES; PROT_READ and PROT_NONE fine",
    [...GM(3), "gmem Z $V 4096 0", "mapgmem X $G 1 7 1 0", "mapgmem X $Z 1 7 1 0", "mprotect $M 4 7", "mprotect $M 4 4", "mprotect $M 1 1", "mprotect $M 1 0"],
    [...GM_OK, "ok fd", "err EPERM", "err EPERM", "err EACCES", "err EACCES", "ok", "ok"]),
  c("MMAP without INIT_SHARED: mapping works, read / write / read after fallocate SIGBUS",
    [...GM(1), "touch $M r", "touch $M+0x1000 w 1", "fallocate $G 1 0 4096", "touch $M r"], [...GM_OK, "sig SIGBUS", "sig SIGBUS", "ok", "sig SIGBUS"]),
  c("MMAP|INIT_SHARED: first read 0; read and write work", [...GM(3), "touch $M+0x2000 r", "touch $M+0x2000 w 0x5c", "touch $M+0x2000 r"], [...GM_OK, "ok 0x00", "ok 0x5c", "ok 0x5c"]),
  c("a mapping of twice the size: memset stops at EOF with SIGBUS; at/beyond EOF SIGBUS; below kept",
    [...GM(3, 8), "memset $M 32768 0xaa", "touch $M+0x4000 r", "touch $M+0x7fff w 1", "touch $M+0x3fff r"], [...GM_OK, "sig SIGBUS at +0x4000", "sig SIGBUS", "sig SIGBUS", "ok 0xaa"]),
  c("a mapping at a file offset beyond the size: mmap works, any access SIGBUS", [...INIT, "gmem G $V 16384 3", "mapgmem M $G 1 3 1 8", "touch $M r", "touch $M w 1"],
    [...INIT_OK, "ok fd", "ok", "sig SIGBUS", "sig SIGBUS"]),
  c("madvise DONTNEED keeps the page (0xaa), REMOVE punches it (0)", [...GM(3), "memset $M 16384 0xaa", "madvise $M 1 4", "touch $M r", "madvise $M+0x1000 1 9", "touch $M+0x1000 r", "touch $M+0x2000 r"],
    [...GM_OK, "ok", "ok", "ok 0xaa", "ok", "ok 0x00", "ok 0xaa"]),
  c("madvise HUGEPAGE 0, COLLAPSE EINVAL, DONTNEED 0 on a populated mapping; the refault shows the old contents",
    [...GM(3), "memset $M 16384 0x77", "madvise $M 4 14", "madvise $M 4 25", "madvise $M 4 4", "touch $M+0x1000 r"], [...GM_OK, "ok", "ok", "err EINVAL", "ok", "ok 0x77"]),
];

const falloc: Case[] = [
  c("PUNCH_HOLE|KEEP_SIZE of page 0: succeeds, page 0 reads 0, the rest keeps its contents",
    [...GM(3), "memset $M 16384 0xaa", "fallocate $G 3 0 4096", "touch $M r", "touch $M+0x1000 r", "touch $M w 0xab"], [...GM_OK, "ok", "ok", "ok 0x00", "ok 0xaa", "ok 0xab"]),
  c("mode 0 and PUNCH_HOLE alone: EOPNOTSUPP", [...INIT, "gmem G $V 16384 3", "fallocate $G 0 0 4096", "fallocate $G 2 0 4096"], [...INIT_OK, "ok fd", "err EOPNOTSUPP", "err EOPNOTSUPP"]),
  c("ZERO_RANGE|KEEP_SIZE, ZERO_RANGE, COLLAPSE_RANGE, INSERT_RANGE: EOPNOTSUPP",
    [...INIT, "gmem G $V 16384 3", "fallocate $G 0x11 0 4096", "fallocate $G 0x10 0 4096", "fallocate $G 0x8 0 4096", "fallocate $G 0x20 0 4096"],
    [...INIT_OK, "ok fd", "err EOPNOTSUPP", "err EOPNOTSUPP", "err EOPNOTSUPP", "err EOPNOTSUPP"]),
  c("KEEP_SIZE: inside ok; at EOF, straddling EOF, unaligned offset, unaligned length EINVAL",
    [...INIT, "gmem G $V 16384 3", "fallocate $G 1 0 4096", "fallocate $G 1 16384 4096", "fallocate $G 1 12288 8192", "fallocate $G 1 1 4096", "fallocate $G 1 0 4095"],
    [...INIT_OK, "ok fd", "ok", "err EINVAL", "err EINVAL", "err EINVAL", "err EINVAL"]),
  c("PUNCH_HOLE|KEEP_SIZE at EOF, straddling EOF, far beyond: succeed; length 1: EINVAL",
    [...INIT, "gmem G $V 16384 3", "fallocate $G 3 16384 4096", "fallocate $G 3 12288 8192", "fallocate $G 3 0x40000000 4096", "fallocate $G 3 0 1"],
    [...INIT_OK, "ok fd", "ok", "ok", "ok", "err EINVAL"]),
  c("len 0, negative offset: EINVAL; offset + len beyond MAX_LFS_FILESIZE: EFBIG",
    [...INIT, "gmem G $V 16384 3", "fallocate $G 1 0 0", "fallocate $G 1 -4096 4096", "fallocate $G 1 0x7ffffffffffff000 0x2000", "fallocate $G 3 0x7ffffffffffff000 0x2000"],
    [...INIT_OK, "ok fd", "err EINVAL", "err EINVAL", "err EFBIG", "err EFBIG"]),
  c("fallocate(KEEP_SIZE) of a page, then the first read through a mapping: 0", [...GM(3), "fallocate $G 1 4096 4096", "touch $M+0x1000 r"], [...GM_OK, "ok", "ok 0x00"]),
];

const slots: Case[] = [
  c("bind with userspace_addr 0; bind a guest_memfd without MMAP", [...MS, "gmem Z $V 16384 0", SLOT(0, 4, "0", "0x2000", "0", "$G", "0"), SLOT(1, 4, "0x100000", "0x2000", "0", "$Z", "0")],
    [...MS_OK, "ok fd", "ok", "ok"]),
  c("guest_memfd not open / a memfd / another VM's: EBADF / EINVAL / EINVAL",
    [...MS, "memfd F 4", "vm W $K 0", "gmem O $W 16384 3", SLOT(0, 4, "0", "0x2000", "0", "999", "0"), SLOT(0, 4, "0", "0x2000", "0", "$F", "0"), SLOT(0, 4, "0", "0x2000", "0", "$O", "0")],
    [...MS_OK, "ok fd", "ok fd", "ok fd", "err EBADF", "err EINVAL", "err EINVAL"]),
  c("offset unaligned; offset + size beyond the file; offset + size wraps: EINVAL",
    [...MS, SLOT(0, 4, "0", "0x2000", "0", "$G", "1"), SLOT(0, 4, "0", "0x2000", "0", "$G", "0x3000"), SLOT(0, 4, "0", "0x2000", "0", "$G", "0xfffffffffffff000")],
    [...MS_OK, "err EINVAL", "err EINVAL", "err EINVAL"]),
  c("memory_size or userspace_addr not page-aligned: EINVAL", [...MS, SLOT(0, 4, "0", "0x1001", "0", "$G", "0"), SLOT(0, 4, "0", "0x2000", "0x1001", "$G", "0")],
    [...MS_OK, "err EINVAL", "err EINVAL"]),
  c("slot 32764, address space 1: EINVAL; slot 32763 binds", [...MS, SLOT(32764, 4, "0", "0x2000", "0", "$G", "0"), SLOT(0x10000, 4, "0", "0x2000", "0", "$G", "0"), SLOT(32763, 4, "0", "0x2000", "0", "$G", "0")],
    [...MS_OK, "err EINVAL", "err EINVAL", "ok"]),
  c("a second slot whose file range overlaps: EINVAL; whose guest-physical range overlaps: EEXIST",
    [...MS, SLOT(0, 4, "0", "0x2000", "0", "$G", "0"), SLOT(1, 4, "0x100000", "0x2000", "0", "$G", "0x1000"), SLOT(1, 4, "0x1000", "0x2000", "0", "$G", "0x2000")],
    [...MS_OK, "ok", "err EINVAL", "err EEXIST"]),
  c("adjacent file range; the same offsets of another guest_memfd: succeed",
    [...MS, SLOT(0, 4, "0", "0x2000", "0", "$G", "0"), SLOT(1, 4, "0x100000", "0x2000", "0", "$G", "0x2000"), SLOT(2, 4, "0x200000", "0x2000", "0", "$H", "0")],
    [...MS_OK, "ok", "ok", "ok"]),
  c("with KVM_MEM_READONLY or KVM_MEM_LOG_DIRTY_PAGES: EINVAL", [...MS, SLOT(0, 6, "0", "0x2000", "0", "$G", "0"), SLOT(0, 5, "0", "0x2000", "0", "$G", "0")],
    [...MS_OK, "err EINVAL", "err EINVAL"]),
  c("the same slot again: moved, identical, without KVM_MEM_GUEST_MEMFD: EINVAL each",
    [...MS, SLOT(0, 4, "0", "0x2000", "0", "$G", "0"), SLOT(0, 4, "0x100000", "0x2000", "0", "$G", "0"), SLOT(0, 4, "0", "0x2000", "0", "$G", "0"), SLOT(0, 0, "0", "0x2000", "0", "$G", "0")],
    [...MS_OK, "ok", "err EINVAL", "err EINVAL", "err EINVAL"]),
  c("delete the slot (size 0), then bind the same file range to another slot; delete twice EINVAL",
    [...MS, SLOT(0, 4, "0", "0x2000", "0", "$G", "0"), SLOT(0, 4, "0", "0", "0", "$G", "0"), SLOT(5, 4, "0x100000", "0x2000", "0", "$G", "0"), SLOT(0, 4, "0", "0", "0", "$G", "0")],
    [...MS_OK, "ok", "ok", "ok", "err EINVAL"]),
  c("delete a slot after its guest_memfd was closed: succeeds", [...MS, SLOT(0, 4, "0", "0x2000", "0", "$G", "0"), "close $G", SLOT(0, 4, "0", "0", "0", "0", "0")],
    [...MS_OK, "ok", "ok", "ok"]),
  c("pad1 is not validated", [...MS, `${SLOT(0, 4, "0", "0x2000", "0", "$G", "0")} 1`], [...MS_OK, "ok"]),
  c("KVM_MEM_GUEST_MEMFD through KVM_SET_USER_MEMORY_REGION: EINVAL; a plain slot through it works",
    [...MS, "slot1 $V 8 4 0x300000 0x1000 0x10000", "slot1 $V 8 8 0x300000 0x1000 0x10000", "slot1 $V 8 0 0x300000 0x1000 0x10000"], [...MS_OK, "err EINVAL", "err EINVAL", "ok"]),
  c("plain slots: identical again 0; hva or size change EINVAL; move with the same hva 0",
    [...MS, SLOT(6, 0, "0x100000", "0x2000", "0x10000", "0", "0"), SLOT(6, 0, "0x100000", "0x2000", "0x10000", "0", "0"), SLOT(6, 0, "0x100000", "0x2000", "0x20000", "0", "0"),
      SLOT(6, 0, "0x100000", "0x4000", "0x10000", "0", "0"), SLOT(6, 0, "0x200000", "0x2000", "0x10000", "0", "0"), SLOT(6, 0, "0", "0", "0", "0", "0"), SLOT(6, 0, "0", "0", "0", "0", "0")],
    [...MS_OK, "ok", "ok", "err EINVAL", "err EINVAL", "ok", "ok", "err EINVAL"]),
  c("KVM_SET_USER_MEMORY_REGION2 on the /dev/kvm fd: EINVAL; NULL argument on the VM: EFAULT", [...MS, "ioctl0 $K 0x40a0ae49", "ioctl0 $V 0x40a0ae49"], [...MS_OK, "err EINVAL", "err EFAULT"]),
];

const uffd: Case[] = [
  c("UFFDIO_REGISTER MINOR / MISSING / WP on a MMAP|INIT_SHARED mapping (6.18: EINVAL each; 7.1: 0x1bc / 0x13c / 0x17c)",
    [...GM(3), ...UFFD, "ioctl $U REGISTER $M 0x4000 4 0", "ioctl $U REGISTER $M 0x4000 1 0", "ioctl $U REGISTER $M 0x4000 2 0"],
    [...GM_OK, ...UFFD_OK, "err EINVAL = = = =", "err EINVAL = = = =", "err EINVAL = = = ="],
    [...GM_OK, ...UFFD_OK, "ok = = = 0x1bc", "ok = = = 0x13c", "ok = = = 0x17c"]),
  c("UFFDIO_REGISTER WP with UFFD_FEATURE_WP_ASYNC on that mapping: 0x17c (already on 6.18)",
    [...GM(3), "uffd U 0x801", "ioctl $U API 0xaa 0x8000 0", "ioctl $U REGISTER $M 0x4000 2 0"], [...GM_OK, "ok fd", "ok = 0x1ffff 0x8000000000000003", "ok = = = 0x17c"]),
  c("UFFDIO_REGISTER MISSING on a MMAP-only guest_memfd mapping: EINVAL (also 7.1)", [...GM(1), ...UFFD, "ioctl $U REGISTER $M 0x4000 1 0"], [...GM_OK, ...UFFD_OK, "err EINVAL = = = ="]),
  c("access to a MISSING-registered guest_memfd page (6.18: REGISTER fails, the read zero-fills; 7.1: a PAGEFAULT message, COPY serves it)",
    [...GM(3), ...UFFD, "anon S 1 3", "fill $S 4096 0xab", "ioctl $U REGISTER $M 0x4000 1 0", "tfault $M+0x1000 r", "readwait $U 32", "ioctl $U COPY $M+0x1000 $S 0x1000 0 0", "tjoin"],
    [...GM_OK, ...UFFD_OK, "ok", "ok", "err EINVAL = = = =", "ok", "bad timeout", "err ENOENT = = = = -2", "ok 0x00"],
    [...GM_OK, ...UFFD_OK, "ok", "ok", "ok = = = 0x13c", "ok", "ok 32 ev=0x12 flags=0x0 addr=$M+0x1000 ptid=0 zero=1", "ok = = = = 0x1000", "ok 0xab"]),
];

const ALL: [string, Case[]][] = [
  ["/dev/kvm and VMs (§10.1)", kvm], ["KVM_CREATE_GUEST_MEMFD (§10.3)", create], ["the guest_memfd file (§10.3)", file],
  ["mmap and faults (§10.4, §10.5)", mmap], ["fallocate (§10.6)", falloc], ["memslots (§10.7)", slots], ["userfaultfd on guest_memfd (§2.2 rows 1, 2, 10, 12)", uffd],
];

const native = kvmNativeAvailable();

describe("KVM and guest_memfd: host kernel vs uffdlab", () => {
  it("covers the §3.1 rows with at least 50 cases", () => {
    expect(ALL.reduce((n, [, cs]) => n + cs.length, 0)).toBeGreaterThanOrEqual(50);
  });
  for (const [group, cases] of ALL) {
    describe(group, () => {
      for (const { name, steps, expected, v71 } of cases) {
        it.skipIf(!native.ok)(`host (6.18): ${name}`, () => {
          expect(runUffdNative(steps)).toEqual(expected);
        });
        it(`uffdlab${v71 ? " (7.1)" : ""}: ${name}`, async () => {
          expect(await runUffdUffdlab(steps)).toEqual(v71 ?? expected);
        });
      }
    });
  }
  if (!native.ok) it.skip(`host kernel rows skipped: ${native.reason}`, () => {});
});
