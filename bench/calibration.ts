// uffdlab's side of the calibration row: the cost of one JS → Wasm call (an export that does
// nothing but read a word) and of a 4 KiB copy into the simulated process (Thread.write to a
// resident page: one call, the bounce page, the page walk, memory.copy). Each the median of 101
// batches of 1000, per operation — as the host side measures getpid(2) and memcpy in
// bench/native/fault_bench.c.
import { Kernel, abi as A } from "../host-ts/index.js";
import { nowNs } from "./measure.js";

export interface UffdlabCalibration {
  jsWasmCallNs: number;
  write4kNs: number;
}

function median101(fn: () => void): number {
  const OPS = 1000;
  for (let i = 0; i < 10 * OPS; i++) fn(); // JIT and warm
  const t: number[] = [];
  for (let b = 0; b < 101; b++) {
    const t0 = nowNs();
    for (let i = 0; i < OPS; i++) fn();
    t.push(nowNs() - t0);
  }
  t.sort((x, y) => x - y);
  return t[50] / OPS;
}

export async function calibrateUffdlab(): Promise<UffdlabCalibration> {
  const k = await Kernel.boot({ build: "release", memoryBytes: 16 << 20 });
  const p = k.spawn();
  const a = p.mmap(0, A.PAGE_SIZE, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
  const buf = new Uint8Array(A.PAGE_SIZE).fill(7);
  p.thread.write(a, buf);
  const ex = k.exports;
  let sink = 0;
  const jsWasmCallNs = median101(() => { sink += ex.kernel_booted(); });
  const write4kNs = median101(() => p.thread.write(a, buf));
  if (sink < 0) throw new Error("unreachable");
  p.exit();
  return { jsWasmCallNs, write4kNs };
}
