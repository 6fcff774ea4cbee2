// The README's example, runnable: `node examples/quickstart.mjs` (after `npm run build`).
import { Kernel, abi as A, SegmentationFault } from "uffdlab";

const k = await Kernel.boot({ memoryBytes: 64 << 20 }); // debug build: invariant checks on
const p = k.spawn(); // a process with an empty mm
const addr = p.mmap(0, 4 * 4096, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);

p.thread.store32(addr, 0xdeadbeef); // a write fault allocates a page
const child = p.fork(); // copy-on-write
child.thread.store32(addr, 1);
console.log(p.thread.load32(addr).toString(16)); // deadbeef

p.mprotect(addr, 4096, A.PROT_READ);
try { p.thread.store8(addr, 0); } catch (e) { console.log(e instanceof SegmentationFault); } // true

try { p.munmap(addr + 1, 4096); } catch (e) { console.log(e.code, e.errno, e.syscall); } // EINVAL 22 munmap
console.log(p.maps()); // /proc/<pid>/maps
k.checkInvariants(); // refcounts, mapcounts, VMA order, page cache
