// `uffdlab demo`: a short tour that prints what it did.
import { Kernel } from "./kernel.js";
import * as A from "./abi.gen.js";

export async function demo(o: { trace: boolean }): Promise<void> {
  const lines: string[] = [];
  const k = await Kernel.boot({ memoryBytes: 64 << 20, trace: o.trace ? (l) => console.log("  " + l) : undefined });
  const p = k.spawn();
  const t = p.thread;
  const say = (s: string) => console.log(s);
  say(`booted uffdlab (${k.build} build): ${k.stats().frames} page frames of 4 KiB`);
  const a = p.mmap(0, 4 * 4096, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
  say(`mmap 4 pages of anonymous memory at 0x${a.toString(16)}`);
  say(`read before any write: ${t.load32(a)} (the shared zero page)`);
  t.store32(a, 0xdeadbeef);
  say(`wrote 0xdeadbeef; read back 0x${t.load32(a).toString(16)}; faults so far: ${k.stats().faults}`);
  const child = p.fork();
  child.thread.store32(a, 0x1234);
  say(`forked pid ${child.pid}; child wrote 0x1234 (copy-on-write); parent still reads 0x${t.load32(a).toString(16)}`);
  const fd = p.memfdCreate("demo");
  p.ftruncate(fd, 4096);
  const m = p.mmap(0, 8192, A.PROT_READ | A.PROT_WRITE, A.MAP_SHARED, fd, 0);
  t.store8(m, 42);
  say(`memfd ${fd}, 1 page, mapped shared at 0x${m.toString(16)}: wrote 42, st_blocks = ${p.fstat(fd).blocks}`);
  try {
    t.load8(m + 4096);
  } catch (e) {
    say(`touching past EOF: ${(e as Error).message}`);
  }
  p.mprotect(a, 4096, A.PROT_READ);
  try {
    t.store8(a, 1);
  } catch (e) {
    say(`writing a PROT_READ page: ${(e as Error).message}`);
  }
  say("/proc/" + p.pid + "/maps:\n" + p.maps().split("\n").map((l) => "  " + l).join("\n"));
  child.exit();
  p.exit();
  say(`invariants checked: ${k.checkInvariants() ? "all hold" : "not compiled in"}; free frames back to ${k.stats().freeFrames}`);
  void lines;
}
