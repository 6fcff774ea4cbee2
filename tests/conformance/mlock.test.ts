// mlock / munlock: the same scenarios on uffdlab and on the host kernel, line for line.
import { describe, it, expect } from "vitest";
import { type Step, PAGE, PROT, MAP, MADV, ANON_PRIVATE, formatStep } from "../helpers/scenario.js";
import { runUffdlab } from "../helpers/uffdlab-runner.js";
import { nativeOracleAvailable, runNative } from "../helpers/native-oracle.js";

const W = 0x7e0000000000;
// A window mapped then released, so later MAP_FIXED_NOREPLACE lands in a known-free place.
const window = (): Step[] => [
  { op: "mmap", addr: 0, len: 64 * PAGE, prot: PROT.NONE, flags: ANON_PRIVATE, fd: -1, off: 0, as: "W" },
  { op: "munmap", addr: "$W", len: 64 * PAGE },
];
const anon = (pages: number, off = 0x10000, as = "A"): Step => ({
  op: "mmap", addr: `$W+0x${off.toString(16)}`, len: pages * PAGE, prot: PROT.RW,
  flags: ANON_PRIVATE | MAP.FIXED_NOREPLACE, fd: -1, off: 0, as,
});
void W;

const cases: [string, Step[], string[]][] = [
  ["mlock then MADV_DONTNEED is EINVAL and keeps the data; munlock lifts it",
    [...window(), anon(2), { op: "store", addr: "$A", byte: 5, len: 2 * PAGE }, { op: "mlock", addr: "$A", len: 2 * PAGE },
      { op: "madvise", addr: "$A", len: 2 * PAGE, advice: MADV.DONTNEED }, { op: "munlock", addr: "$A", len: 2 * PAGE },
      { op: "madvise", addr: "$A", len: 2 * PAGE, advice: MADV.DONTNEED }, { op: "load", addr: "$A", len: 1 }],
    ["ok addr", "ok", "ok $W+0x10000", "ok", "ok", "err EINVAL", "ok", "ok", ""]],
  ["mlock of an unmapped range is ENOMEM",
    [...window(), { op: "mlock", addr: "$W", len: PAGE }],
    ["ok addr", "ok", "err ENOMEM"]],
  ["mlock over a hole is ENOMEM; munlock over a hole too",
    [...window(), anon(1), anon(1, 0x12000, "B"), { op: "mlock", addr: "$A", len: 3 * PAGE }, { op: "munlock", addr: "$A", len: 3 * PAGE }],
    ["ok addr", "ok", "ok $W+0x10000", "ok $W+0x12000", "err ENOMEM", "err ENOMEM"]],
  ["mlock with an unaligned start and len 1 locks the page; len 0 is fine",
    [...window(), anon(1), { op: "mlock", addr: "$A+0x10", len: 1 }, { op: "mlock", addr: "$A", len: 0 },
      { op: "madvise", addr: "$A", len: PAGE, advice: MADV.DONTNEED }],
    ["ok addr", "ok", "ok $W+0x10000", "ok", "ok", "err EINVAL"]],
];

describe("mlock on uffdlab", () => {
  it.each(cases)("%s", async (_name, steps, want) => {
    const got = (await runUffdlab(steps)).map((r) => r.line);
    want.forEach((w, i) => { if (w !== "") expect(`${i}: ${formatStep(steps[i])} → ${got[i]}`).toBe(`${i}: ${formatStep(steps[i])} → ${w}`); });
  });
});

const host = nativeOracleAvailable();
describe.skipIf(!host.ok)(`mlock on the host kernel${host.ok ? "" : ` — SKIPPED: ${host.reason}`}`, () => {
  it.each(cases)("%s: same lines as uffdlab", async (_name, steps) => {
    const [u, n] = [await runUffdlab(steps), runNative(steps)];
    expect(u.map((r) => r.line)).toEqual(n.map((r) => r.line));
  });
});
