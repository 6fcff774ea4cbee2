// A userfaultfd handler that serves MISSING faults from a file, in the manner of
// Firecracker's example uffd handler: the guest memory region starts empty, every first
// touch of a page becomes a message, and the handler UFFDIO_COPYs that page from the
// snapshot file. Error triage as Firecracker does it:
//   EAGAIN → the copy raced with a change of the address space: retry it later
//   EEXIST → the page is already there (another message for the same page): wake the faulter
//   anything else → a bug: fail loudly.
//
//   node examples/uffd-file-handler.mjs [SNAPSHOT_FILE]     (after `npm run build`)
//
// Without a file argument it makes a 64-page snapshot of its own.
import { readFileSync } from "node:fs";
import { Kernel, Userfaultfd, FillError, abi as A } from "uffdlab";

const PAGE = 4096;
const file = process.argv[2];
const snapshot = file ? new Uint8Array(readFileSync(file)) : makeSnapshot(64);
const pages = Math.ceil(snapshot.length / PAGE);
const bytes = pages * PAGE;

function makeSnapshot(n) {
  const b = new Uint8Array(n * PAGE);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + (i >> 12)) & 0xff;
  return b;
}

const k = await Kernel.boot({ memoryBytes: Math.max(64 << 20, 4 * bytes + (16 << 20)) });
const vmm = k.spawn();

// The snapshot lives in a memfd, mapped read-only as the COPY source (Firecracker mmaps
// the snapshot file the same way).
const snapfd = vmm.memfdCreate("snapshot");
vmm.ftruncate(snapfd, bytes);
for (let off = 0; off < snapshot.length; off += PAGE) vmm.pwrite(snapfd, snapshot.subarray(off, off + PAGE), off);
const src = vmm.mmap(0, bytes, A.PROT_READ, A.MAP_PRIVATE, snapfd, 0);

// Guest memory: anonymous, registered MISSING.
const guest = vmm.mmap(0, bytes, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
const uffd = vmm.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
uffd.api();
uffd.register(guest, bytes, A.UFFDIO_REGISTER_MODE_MISSING);

const stats = { faults: 0, copied: 0, eexist: 0, eagain: 0 };
const handler = new Userfaultfd(vmm, uffd.fd, vmm.newThread());

function serve(addr) {
  const page = addr - (addr % PAGE);
  for (;;) {
    try {
      handler.copy(page, src + (page - guest), PAGE);
      stats.copied += PAGE;
      return;
    } catch (e) {
      if (!(e instanceof FillError)) throw e;
      if (e.code === "EAGAIN") { stats.eagain++; continue; }
      if (e.code === "EEXIST") { stats.eexist++; handler.wake(page, PAGE); return; }
      throw new Error(`handler: unexpected ${e.code} for 0x${page.toString(16)}: ${e.message}`);
    }
  }
}

// Four vCPU-like threads touch pages in their own orders, some pages twice.
const vcpus = [0, 1, 2, 3].map(() => vmm.newThread());
let running = vcpus.length;
const seen = new Map();
const bodies = vcpus.map((t, n) => [t, async (at) => {
  for (let i = 0; i < pages; i++) {
    const pg = (i * (2 * n + 1) + n) % pages;
    const off = pg * PAGE + ((i * 97) % PAGE);
    seen.set(off, await at.load8(guest + off));
  }
  running--;
}]);
const t0 = performance.now();
await k.run(2024, [
  ...bodies,
  [handler.thread, async (at) => {
    while (running > 0) {
      const msgs = handler.read();
      for (const m of msgs) {
        if (m.event !== "pagefault") throw new Error(`handler: unexpected event ${m.event}`);
        stats.faults++;
        serve(m.address);
      }
      await at.yield();
    }
  }],
]);
const ms = performance.now() - t0;

// Past the end of the file the last page is zero-filled, as the memfd is.
for (const [off, v] of seen) if (v !== (snapshot[off] ?? 0)) throw new Error(`content mismatch at +0x${off.toString(16)}`);
k.checkInvariants();
console.log(`served ${stats.faults} faults, copied ${stats.copied} bytes (${pages} pages), EEXIST ${stats.eexist}, EAGAIN ${stats.eagain}`);
console.log(`${seen.size} reads checked against the snapshot; ${(ms * 1000 / Math.max(1, stats.faults)).toFixed(1)} us per fault (async threads, debug build)`);
