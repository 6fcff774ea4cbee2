// A port of tools/testing/selftests/kvm/guest_memfd_test.c (the 7.0-era test plus the series'
// uffd_minor and uffd_missing), driven the way its main() drives it: for each VM
// type (only the default exists), test_guest_memfd_flags, then the per-flags suite for flags
// 0, MMAP and MMAP|INIT_SHARED (as KVM_CAP_GUEST_MEMFD_FLAGS reports them), each test with a
// fresh 4-page guest_memfd; then test_guest_memfd_guest.
import { describe, it, expect } from "vitest";
import { A, PAGE, RW, ANON, expectSignal } from "../helpers/kernel.js";
import { bootVm, GMEM, MMAP, INIT_SHARED } from "../helpers/kvm.js";
import { Userfaultfd, createGuestMemfdBytes, type Process, type Vm, type GuestMemfd } from "../../host-ts/index.js";

const page_size = PAGE;
const total_size = 4 * page_size;
const KEEP = A.FALLOC_FL_KEEP_SIZE;
const PUNCH = A.FALLOC_FL_PUNCH_HOLE | A.FALLOC_FL_KEEP_SIZE;

/** The selftest's TEST_ASSERT(ret < 0) style: the raw result of a call. */
const fails = (r: bigint) => expect(r < 0n).toBe(true);
const succeeds = (r: bigint) => expect(r).toBe(0n);

interface Ctx { p: Process; vm: Vm; fd: number; flags: bigint }
type Test = (c: Ctx) => void | Promise<void>;

function test_file_read_write({ p, fd }: Ctx) {
  fails(p.syscall(A.__NR_read, fd, A.HOST_STAGING_BASE, page_size));
  fails(p.syscall(A.__NR_write, fd, A.HOST_STAGING_BASE, page_size));
  fails(p.syscall(A.__NR_pread64, fd, A.HOST_STAGING_BASE, page_size, 0));
  fails(p.syscall(A.__NR_pwrite64, fd, A.HOST_STAGING_BASE, page_size, 0));
}

function test_mmap_supported({ p, fd }: Ctx) {
  const mem = p.mmap(0, total_size, RW, A.MAP_SHARED, fd, 0);
  p.thread.fill(mem, 0xaa, total_size);
  expect(p.thread.read(mem, total_size).every((b) => b === 0xaa)).toBe(true);
  succeeds(p.syscall(A.__NR_fallocate, fd, PUNCH, 0, page_size));
  expect(p.thread.read(mem, page_size).every((b) => b === 0)).toBe(true);
  expect(p.thread.read(mem + page_size, total_size - page_size).every((b) => b === 0xaa)).toBe(true);
  p.thread.fill(mem, 0xaa, page_size);
  expect(p.thread.read(mem, page_size).every((b) => b === 0xaa)).toBe(true);
  p.munmap(mem, total_size);
}

function test_fault_overflow({ p, fd }: Ctx) {
  const map_size = total_size * 4;
  const mem = p.mmap(0, map_size, RW, A.MAP_SHARED, fd, 0);
  // memset across the whole mapping: SIGBUS at the file size; the bytes below kept their values.
  expectSignal(() => p.thread.fill(mem, 0xaa, map_size), "SIGBUS");
  expectSignal(() => p.thread.load8(mem + total_size), "SIGBUS");
  expect(p.thread.read(mem, total_size).every((b) => b === 0xaa)).toBe(true);
  p.munmap(mem, map_size);
}

function test_fault_private({ p, fd }: Ctx) {
  const mem = p.mmap(0, total_size, RW, A.MAP_SHARED, fd, 0);
  expectSignal(() => p.thread.load8(mem), "SIGBUS");
  expectSignal(() => p.thread.store8(mem, 1), "SIGBUS");
  p.munmap(mem, total_size);
}

function test_mmap_cow({ p, fd }: Ctx) {
  fails(p.syscall(A.__NR_mmap, 0, total_size, RW, A.MAP_PRIVATE, fd, 0));
}

function test_mmap_not_supported({ p, fd }: Ctx) {
  fails(p.syscall(A.__NR_mmap, 0, page_size, RW, A.MAP_SHARED, fd, 0));
  fails(p.syscall(A.__NR_mmap, 0, total_size, RW, A.MAP_SHARED, fd, 0));
}

function test_file_size({ p, fd }: Ctx) {
  const st = p.fstat(fd);
  expect(st.size).toBe(BigInt(total_size));
  expect(st.blksize).toBe(BigInt(page_size));
}

function test_fallocate({ p, fd }: Ctx) {
  const fa = (mode: number, off: number, len: number) => p.syscall(A.__NR_fallocate, fd, mode, off, len);
  succeeds(fa(KEEP, 0, total_size));
  fails(fa(KEEP, page_size - 1, page_size));
  fails(fa(KEEP, total_size, page_size));
  succeeds(fa(PUNCH, total_size, page_size));
  succeeds(fa(PUNCH, total_size + page_size, page_size));
  fails(fa(PUNCH, page_size, page_size - 1));
  succeeds(fa(PUNCH, page_size, page_size));
  succeeds(fa(KEEP, page_size, page_size));
}

function test_invalid_punch_hole({ p, fd }: Ctx) {
  const cases: [number, number][] = [
    [0, 1], [0, page_size - 1], [0, page_size + 1],
    [1, 1], [1, page_size - 1], [1, page_size], [1, page_size + 1],
    [page_size, 1], [page_size, page_size - 1], [page_size, page_size + 1],
  ];
  for (const [off, len] of cases) {
    const r = p.syscall(A.__NR_fallocate, fd, PUNCH, off, len);
    expect(r, `punch (${off}, ${len})`).toBe(-BigInt(A.EINVAL));
  }
}

function test_create_guest_memfd_invalid_sizes({ p, vm, flags }: Ctx) {
  for (let size = 1; size < page_size; size++) {
    const r = p.ioctl(vm.fd, A.KVM_CREATE_GUEST_MEMFD, createGuestMemfdBytes(size, flags)).ret;
    if (r !== -BigInt(A.EINVAL)) throw new Error(`size ${size}: ${r}`);
  }
}

function test_create_guest_memfd_multiple({ p, vm }: Ctx) {
  const fd1 = vm.createGuestMemfd(page_size, 0).fd;
  expect(p.fstat(fd1).size).toBe(BigInt(page_size));
  const fd2 = vm.createGuestMemfd(page_size * 2, 0).fd;
  const st2 = p.fstat(fd2);
  expect(st2.size).toBe(BigInt(page_size * 2));
  const st1 = p.fstat(fd1);
  expect(st1.size).toBe(BigInt(page_size));
  expect(st1.ino).not.toBe(st2.ino);
  p.close(fd2);
  p.close(fd1);
}

function test_collapse({ p, vm }: Ctx) {
  // A guest_memfd of two PMDs; one PMD mapped at a PMD-aligned address, populated by reading.
  const pmd_size = 2 << 20;
  const g = vm.createGuestMemfd(2 * pmd_size, MMAP | INIT_SHARED);
  const reserve = p.mmap(0, 2 * pmd_size, A.PROT_NONE, ANON);
  const aligned = Math.ceil(reserve / pmd_size) * pmd_size;
  const mem = g.mmap(pmd_size, RW, 0, A.MAP_SHARED | A.MAP_FIXED, aligned);
  for (let i = 0; i < pmd_size; i += page_size) p.thread.load8(mem + i);
  p.madvise(mem, pmd_size, A.MADV_HUGEPAGE);
  fails(p.syscall(A.__NR_madvise, mem, pmd_size, A.MADV_COLLAPSE));
  expect(p.syscall(A.__NR_madvise, mem, pmd_size, A.MADV_COLLAPSE)).toBe(-BigInt(A.EINVAL));
  p.madvise(mem, pmd_size, A.MADV_DONTNEED);
  for (let i = 0; i < pmd_size; i += page_size) p.thread.load8(mem + i);
  p.munmap(reserve, 2 * pmd_size);
  g.close();
}

/** test_uffd_minor: the series' MINOR test. */
async function test_uffd_minor({ p, fd }: Ctx, run: RunFn) {
  const uffd = p.userfaultfd(A.O_CLOEXEC);
  uffd.api(0n);
  const mem = p.mmap(0, total_size, RW, A.MAP_SHARED, fd, 0);
  const mem_nofault = p.mmap(0, total_size, RW, A.MAP_SHARED, fd, 0);
  uffd.register(mem, total_size, A.UFFDIO_REGISTER_MODE_MINOR);
  // Populate the page cache through the unregistered mapping: no event.
  p.thread.fill(mem_nofault + page_size, 0xcd, page_size);
  let got = -1;
  await run([
    async (t) => { got = await t.load8(mem + page_size); },
    async (t) => {
      const u = new Userfaultfd(p, uffd.fd, t.thread);
      const msg = (await t.op(() => u.read(1)))[0];
      expect(msg.event).toBe("pagefault");
      if (msg.event !== "pagefault") return;
      expect(msg.address - (msg.address % page_size)).toBe(mem + page_size);
      expect(msg.flags & BigInt(A.UFFD_PAGEFAULT_FLAG_MINOR)).not.toBe(0n);
      expect(await t.op(() => u.continue(mem + page_size, page_size, 0))).toBe(BigInt(page_size));
    },
  ]);
  expect(got).toBe(0xcd);
  // A second read of the page causes no fault.
  expect(p.thread.read(mem + page_size, page_size).every((b) => b === 0xcd)).toBe(true);
  // No further fault: nothing to read (made non-blocking to look without waiting).
  p.fcntl(uffd.fd, A.F_SETFL, A.O_NONBLOCK);
  expect(uffd.read()).toEqual([]);
}

/** test_uffd_missing: the series' MISSING test. */
async function test_uffd_missing({ p, fd }: Ctx, run: RunFn) {
  const uffd = p.userfaultfd(A.O_CLOEXEC);
  uffd.api(0n);
  const mem = p.mmap(0, total_size, RW, A.MAP_SHARED, fd, 0);
  uffd.register(mem, total_size, A.UFFDIO_REGISTER_MODE_MISSING);
  const src = p.mmap(0, page_size, RW, ANON);
  p.thread.fill(src, 0xab, page_size);
  let got = -1;
  await run([
    async (t) => { got = await t.load8(mem + page_size); },
    async (t) => {
      const u = new Userfaultfd(p, uffd.fd, t.thread);
      const msg = (await t.op(() => u.read(1)))[0];
      expect(msg.event).toBe("pagefault");
      if (msg.event !== "pagefault") return;
      expect(msg.address - (msg.address % page_size)).toBe(mem + page_size);
      expect(msg.flags & BigInt(A.UFFD_PAGEFAULT_FLAG_WP)).toBe(0n);
      expect(await t.op(() => u.copy(mem + page_size, src, page_size, 0))).toBe(BigInt(page_size));
    },
  ]);
  expect(got).toBe(0xab);
  expect(p.thread.read(mem + page_size, page_size).every((b) => b === 0xab)).toBe(true);
  // No further fault: nothing to read (made non-blocking to look without waiting).
  p.fcntl(uffd.fd, A.F_SETFL, A.O_NONBLOCK);
  expect(uffd.read()).toEqual([]);
}

type RunFn = (bodies: ((t: import("../../host-ts/index.js").AsyncThread) => Promise<void>)[]) => Promise<void>;

const gmem_test = (name: string, fn: Test | ((c: Ctx, run: RunFn) => Promise<void>), want: (flags: bigint) => boolean) => ({ name, fn, want });
const has = (f: bigint, b: bigint) => (f & b) === b;
/** test_guest_memfd's suite: which flag sets each test runs with. */
const SUITE = [
  gmem_test("create_guest_memfd_invalid_sizes", test_create_guest_memfd_invalid_sizes, () => true),
  gmem_test("file_read_write", test_file_read_write, () => true),
  gmem_test("mmap_supported", test_mmap_supported, (f) => has(f, MMAP | INIT_SHARED)),
  gmem_test("fault_overflow", test_fault_overflow, (f) => has(f, MMAP | INIT_SHARED)),
  gmem_test("collapse", test_collapse, (f) => has(f, MMAP | INIT_SHARED)),
  gmem_test("fault_private", test_fault_private, (f) => has(f, MMAP) && !has(f, INIT_SHARED)),
  gmem_test("mmap_cow", test_mmap_cow, (f) => has(f, MMAP)),
  gmem_test("mmap_not_supported", test_mmap_not_supported, (f) => !has(f, MMAP)),
  gmem_test("file_size", test_file_size, () => true),
  gmem_test("fallocate", test_fallocate, () => true),
  gmem_test("invalid_punch_hole", test_invalid_punch_hole, () => true),
  gmem_test("create_guest_memfd_multiple", test_create_guest_memfd_multiple, (f) => f === 0n),
  gmem_test("uffd_minor", test_uffd_minor, (f) => has(f, INIT_SHARED)),
  gmem_test("uffd_missing", test_uffd_missing, (f) => has(f, INIT_SHARED)),
];
const SKIPPED = [
  ["numa_allocation", "single NUMA node, no mempolicy (mbind/move_pages) in uffdlab"],
  ["mbind", "single NUMA node, no mempolicy (mbind/get_mempolicy) in uffdlab"],
];

async function fresh(flags: bigint) {
  const c = await bootVm();
  const fd = c.vm.createGuestMemfd(total_size, flags).fd;
  const run: RunFn = async (bodies) => {
    await c.k.run(1, bodies.map((b) => [c.p.newThread(), b] as const) as never);
  };
  return { ctx: { p: c.p, vm: c.vm, fd, flags }, run, k: c.k };
}

describe("guest_memfd_test (default VM type)", () => {
  it("test_guest_memfd_flags: each bit 0..63 accepted iff in KVM_CAP_GUEST_MEMFD_FLAGS, else EINVAL", async () => {
    const { p, vm } = await bootVm();
    const valid = BigInt(vm.checkExtension(A.KVM_CAP_GUEST_MEMFD_FLAGS));
    expect(valid).toBe(MMAP | INIT_SHARED);
    for (let i = 0n; i < 64n; i++) {
      const flag = 1n << i;
      const r = p.ioctl(vm.fd, A.KVM_CREATE_GUEST_MEMFD, createGuestMemfdBytes(page_size, flag)).ret;
      if (flag & valid) {
        expect(r >= 0n, `flag 0x${flag.toString(16)}`).toBe(true);
        p.close(r);
      } else expect(r, `flag 0x${flag.toString(16)}`).toBe(-BigInt(A.EINVAL));
    }
  });

  for (const flags of [0n, MMAP, MMAP | INIT_SHARED]) {
    describe(`flags 0x${flags.toString(16)}`, () => {
      for (const t of SUITE.filter((t) => t.want(flags))) {
        it(t.name, async () => {
          const { ctx, run, k } = await fresh(flags);
          await (t.fn as (c: Ctx, run: RunFn) => unknown)(ctx, run);
          k.checkInvariants();
        });
      }
      for (const [name, why] of SKIPPED) if (has(flags, MMAP | INIT_SHARED)) it.skip(`${name} — ${why}`, () => {});
    });
  }

  it("test_guest_memfd_guest: host writes 0xaa, the guest checks and writes 0xff, the host sees 0xff", async () => {
    const { p, vm } = await bootVm();
    expect(vm.checkExtension(A.KVM_CAP_GUEST_MEMFD_FLAGS) & Number(MMAP)).toBeTruthy();
    expect(vm.checkExtension(A.KVM_CAP_GUEST_MEMFD_FLAGS) & Number(INIT_SHARED)).toBeTruthy();
    const size = page_size; // the VM's page size
    const g: GuestMemfd = vm.createGuestMemfd(size, MMAP | INIT_SHARED);
    const gpa = 4 * 2 ** 30;
    vm.setUserMemoryRegion2({ slot: 1, flags: GMEM, guestPhysAddr: gpa, memorySize: size, userspaceAddr: 0, guestMemfdOffset: 0, guestMemfd: g.fd });
    const mem = g.mmap(size);
    p.thread.fill(mem, 0xaa, size);
    const vcpu = vm.vcpu(p.newThread());
    // guest_code: GUEST_ASSERT each byte is 0xaa, then memset 0xff.
    expect(vcpu.read(gpa, size).every((b) => b === 0xaa)).toBe(true);
    vcpu.write(gpa, new Uint8Array(size).fill(0xff));
    expect(p.thread.read(mem, size).every((b) => b === 0xff)).toBe(true);
  });
});
