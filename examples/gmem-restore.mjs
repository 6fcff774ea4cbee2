// Post-copy VM snapshot restore onto guest_memfd, the use case of the guest_memfd +
// userfaultfd series. The VM's memory is a guest_memfd (MMAP|INIT_SHARED) bound to a memslot
// whose userspace_addr is the VMM's mapping of it; the guest starts running before its memory
// is there, and a handler thread serves each first touch from a snapshot file:
//
//   MISSING mode  the mapping is registered MISSING; a touch of a hole is a PAGEFAULT message,
//                 and the handler UFFDIO_COPYs the page from the snapshot (a read-only mapping).
//   MINOR mode    the file is fallocate'd (every page in the page cache, not yet written), the
//                 mapping is registered MINOR; a touch is a MINOR message, and the handler
//                 writes the page through a second, unregistered mapping, then UFFDIO_CONTINUE
//                 maps it.
//
// Two vCPUs touch memory: one as KVM does for kvmclock / PV EOI (through the memslot's
// userspace mapping: Vcpu.kvmRead, which walks the VMM's page tables and so raises
// userfaults), one as a guest thread reading the mapping. Error triage as Firecracker's
// handler: EEXIST → already served, wake; EAGAIN → retry; anything else → fail.
//
//   node examples/gmem-restore.mjs [SNAPSHOT_FILE]     (after `npm run build`; npm run example:restore)
//
// Without a file it writes a 256-page snapshot to a temporary file and restores from that.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build as histogram } from "hdr-histogram-js";
import { Kernel, Kvm, Userfaultfd, FillError, CAP_SYS_PTRACE, abi as A } from "uffdlab";

const PAGE = 4096;
let file = process.argv[2];
let tmp = null;
if (!file) {
  tmp = mkdtempSync(join(tmpdir(), "uffdlab-restore-"));
  file = join(tmp, "guest.snap");
  const b = new Uint8Array(256 * PAGE);
  for (let i = 0; i < b.length; i++) b[i] = (i * 131 + (i >> 12) * 7 + 1) & 0xff;
  writeFileSync(file, b);
}
const snapshot = new Uint8Array(readFileSync(file));
if (tmp) rmSync(tmp, { recursive: true, force: true });
const pages = Math.max(1, Math.ceil(snapshot.length / PAGE));
const bytes = pages * PAGE;
const expected = (off) => snapshot[off] ?? 0;

async function restore(mode) {
  const k = await Kernel.boot({ memoryBytes: Math.max(64 << 20, 6 * bytes + (16 << 20)) });
  // The VMM may handle kernel-mode faults (KVM's accesses), so it needs CAP_SYS_PTRACE.
  const vmm = k.spawn({ caps: CAP_SYS_PTRACE });

  // The snapshot in a memfd, mapped read-only: the COPY source, as Firecracker maps the file.
  const snapfd = vmm.memfdCreate("snapshot");
  vmm.ftruncate(snapfd, bytes);
  for (let off = 0; off < snapshot.length; off += PAGE) vmm.pwrite(snapfd, snapshot.subarray(off, off + PAGE), off);
  const src = vmm.mmap(0, bytes, A.PROT_READ, A.MAP_PRIVATE, snapfd, 0);

  const vm = Kvm.open(vmm).createVm();
  const gmem = vm.createGuestMemfd(bytes, A.GUEST_MEMFD_FLAG_MMAP | A.GUEST_MEMFD_FLAG_INIT_SHARED);
  const hva = gmem.mmap(bytes);
  const alias = gmem.mmap(bytes);
  vm.setUserMemoryRegion2({ slot: 0, flags: A.KVM_MEM_GUEST_MEMFD, guestPhysAddr: 0, memorySize: bytes, userspaceAddr: hva, guestMemfd: gmem.fd });

  const uffd = vmm.userfaultfd(A.O_NONBLOCK);
  uffd.api();
  if (mode === "MINOR") gmem.allocate(0, bytes);
  uffd.register(hva, bytes, mode === "MINOR" ? A.UFFDIO_REGISTER_MODE_MINOR : A.UFFDIO_REGISTER_MODE_MISSING);

  const handler = new Userfaultfd(vmm, uffd.fd, vmm.newThread());
  const stats = { faults: 0, moved: 0, eexist: 0, eagain: 0, minor: 0 };
  const serviceNs = histogram({ lowestDiscernibleValue: 1, highestTrackableValue: 1e12, numberOfSignificantValueDigits: 3 });
  const touchNs = histogram({ lowestDiscernibleValue: 1, highestTrackableValue: 1e12, numberOfSignificantValueDigits: 3 });

  function serve(m) {
    const page = m.address - (m.address % PAGE);
    const off = page - hva;
    for (;;) {
      try {
        if (mode === "MINOR") {
          if (!(m.flags & BigInt(A.UFFD_PAGEFAULT_FLAG_MINOR))) throw new Error("expected a MINOR fault");
          stats.minor++;
          // Populate the page cache through the unregistered mapping, then map it in the registered one.
          handler.thread.write(alias + off, padded(off));
          handler.continue(page, PAGE);
          stats.moved += PAGE;
        } else {
          handler.copy(page, src + off, PAGE);
          stats.moved += PAGE;
        }
        return;
      } catch (e) {
        if (!(e instanceof FillError)) throw e;
        if (e.code === "EAGAIN") { stats.eagain++; continue; }
        if (e.code === "EEXIST") { stats.eexist++; handler.wake(page, PAGE); return; }
        throw new Error(`handler: unexpected ${e.code} at +0x${off.toString(16)}: ${e.message}`);
      }
    }
  }
  /** The snapshot's page at `off` (zero-padded past the end of the file). */
  function padded(off) {
    if (off + PAGE <= snapshot.length) return snapshot.subarray(off, off + PAGE);
    const b = new Uint8Array(PAGE);
    b.set(snapshot.subarray(off, Math.min(off + PAGE, snapshot.length)));
    return b;
  }

  let running = 2;
  let checked = 0;
  const check = (off, v) => {
    if (v !== expected(off)) throw new Error(`${mode}: guest read 0x${v.toString(16)} at +0x${off.toString(16)}, snapshot has 0x${expected(off).toString(16)}`);
    checked++;
  };
  const kvmCpu = vmm.newThread();
  const guestCpu = vmm.newThread();
  const t0 = performance.now();
  await k.run(2026, [
    // vCPU 0: KVM reading the even pages through the memslot's userspace mapping (path (b)).
    [kvmCpu, async (at) => {
      const cpu = vm.vcpu(at.thread);
      for (let i = 0; i < pages; i += 2) {
        const off = i * PAGE + ((i * 61) % (PAGE - 8));
        const s = performance.now();
        const b = await at.op(() => cpu.kvmRead(off, 8));
        touchNs.recordValue(Math.max(1, Math.round((performance.now() - s) * 1e6)));
        for (let j = 0; j < 8; j++) check(off + j, b[j]);
      }
      running--;
    }],
    // vCPU 1: the guest itself reading the odd pages through the VMM's mapping, from the top down.
    [guestCpu, async (at) => {
      for (let i = pages - 1 - ((pages - 1) % 2 === 0 ? 1 : 0); i >= 0; i -= 2) {
        const off = i * PAGE + ((i * 37) % PAGE);
        const s = performance.now();
        const v = await at.load8(hva + off);
        touchNs.recordValue(Math.max(1, Math.round((performance.now() - s) * 1e6)));
        check(off, v);
      }
      running--;
    }],
    [handler.thread, async (at) => {
      while (running > 0) {
        for (const m of handler.read()) {
          if (m.event !== "pagefault") throw new Error(`handler: unexpected event ${m.event}`);
          stats.faults++;
          const s = performance.now();
          serve(m);
          serviceNs.recordValue(Math.max(1, Math.round((performance.now() - s) * 1e6)));
        }
        await at.yield();
      }
    }],
  ]);
  const ms = performance.now() - t0;
  // After the restore every page reads as the snapshot, with no further faults.
  for (let i = 0; i < pages; i++) check(i * PAGE, vmm.thread.load8(hva + i * PAGE));
  if (handler.read().length !== 0) throw new Error("faults after the restore");
  k.checkInvariants();
  const us = (h, p) => (h.getValueAtPercentile(p) / 1000).toFixed(1);
  console.log(`${mode}: served ${stats.faults} faults (${mode === "MINOR" ? `${stats.minor} MINOR, CONTINUE` : "MISSING, COPY"}), moved ${stats.moved} bytes of ${pages} pages, EEXIST ${stats.eexist}, EAGAIN ${stats.eagain}`);
  console.log(`${mode}: ${checked} guest reads checked against the snapshot in ${ms.toFixed(1)} ms`);
  console.log(`${mode}: per-fault service p50 ${us(serviceNs, 50)} us, p99 ${us(serviceNs, 99)} us; guest access p50 ${us(touchNs, 50)} us, p99 ${us(touchNs, 99)} us (async threads, debug build)`);
  return stats;
}

const missing = await restore("MISSING");
const minor = await restore("MINOR");
if (missing.moved !== bytes || minor.moved !== bytes) throw new Error(`moved ${missing.moved} / ${minor.moved} bytes, expected ${bytes} each`);
console.log(`restored ${bytes} bytes twice from ${snapshot.length}-byte snapshot: every page exactly once per mode`);
