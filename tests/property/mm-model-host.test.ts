/**
 * The reference model against the real kernel: the same random command sequences as mm-model.test.ts
 * run on the host Linux kernel (through the native oracle's `--mm-host` mode, tests/oracle/oracle.c) and on the model, compared after
 * every step (results, and each process's /proc/self/maps: mapped pages, protection, sharing, memory
 * type, inode and file offset). This checks the model itself: a rule the model and uffdlab got wrong
 * in the same way is invisible to mm-model.test.ts but not here.
 *
 * The reference is Linux 6.18 x86-64; older kernels differ (mremap moves
 * several VMAs only since 6.17, ...), so the test runs only on an x86-64 Linux 6.18 host with a C
 * compiler, and can be switched off with MM_MODEL_HOST=0. Differences from uffdlab's setting are
 * handled by the runner: the host randomises the layout (kernel-chosen addresses are adopted once
 * checked free), fd numbers are translated, and the harness's own memory is off limits (steps touching
 * it are refused and skipped).
 *
 * A third property runs the same deterministic sequences (every address MAP_FIXED or in place, so it
 * is the same on both kernels) on uffdlab and on Linux and compares their VMA layouts around the arena
 * after every step. The model leaves VMA boundaries to the kernel; this is where they are checked.
 * It runs single-process sequences: with fork, uffdlab still merges anonymous VMAs that Linux keeps
 * apart in the child (anon_vma chains of forked VMAs, vma_had_uncowed_parents) — a known difference,
 * reproduced with MM_MODEL_LAYOUT_FORKS=1. On a CPU with protection keys the layout property avoids
 * PROT_EXEC-only memory (Linux gives it the execute-only pkey, whose vm_flags bits take part in merging).
 *
 * The host may not be stock Linux: a guest booted with the zero page off (pvm_no_zero_page=1) gives a
 * read-faulted anonymous VMA a page and an anon_vma, so it refuses merges that stock Linux makes. The
 * test asks the host first (host-ts/conform/native.ts hostZeroPage), prints the answer, and boots
 * uffdlab with `zeroPage: false` on such a host, so the layouts compare like with like.
 *
 * Seeds: FIXED_SEEDS["mm-model-host"] in tests/helpers/seeds.ts (+10, +11, +12 per property) or
 * $UFFDLAB_SEED. Environment: MM_MODEL_HOST_RUNS (runs per property, default 300), MM_MODEL_STEPS,
 * MM_MODEL_STATS=1, MM_MODEL_HOST=0 (skip), MM_MODEL_LAYOUT_FORKS=1 (layouts with fork and exit).
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from "node:fs";
import { release } from "node:os";
import { join } from "node:path";
import { ok, err, sig, type Outcome } from "../helpers/model.js";
import { Kernel } from "../../host-ts/index.js";
import { PAGE } from "../helpers/model.js";
import { ARENA, commands, formatStats, Runner, type Cmd, type Result, type Stats, type SysOp, type Target, type TProc, type TVma } from "./mm-commands.js";
import { UffdTarget } from "./uffd-target.js";
import { assertProperty, testSeed } from "../helpers/seeds.js";
import { describeHostZeroPage, hostZeroPage, nativeAvailable, nativeBinary } from "../../host-ts/conform/native.js";
import { nativeDir } from "../../host-ts/native-build.js";

const RUNS = Number(process.env.MM_MODEL_HOST_RUNS ?? 300);
const STEPS = Number(process.env.MM_MODEL_STEPS ?? 60);
const SEED = testSeed("mm-model-host");
const LAYOUT_FORKS = process.env.MM_MODEL_LAYOUT_FORKS === "1";
/** Whether the host CPU has protection keys enabled (then PROT_EXEC-only memory is execute-only). */
const PKEYS = process.platform === "linux" && /\bospke\b/.test(readFileSync("/proc/cpuinfo", "utf8"));

/** The native oracle (its `--mm-host` mode runs the commands) and a directory for the FIFOs, or why the test cannot run here. */
function build(): { binary: string; dir: string } | { skip: string } {
  if (process.env.MM_MODEL_HOST === "0") return { skip: "MM_MODEL_HOST=0" };
  if (process.platform !== "linux" || process.arch !== "x64") return { skip: `not Linux x86-64 (${process.platform}/${process.arch})` };
  if (!/^6\.18\./.test(release())) return { skip: `host kernel ${release()} is not the 6.18 reference` };
  const n = nativeAvailable();
  if (!n.ok) return { skip: n.reason };
  const dir = mkdtempSync(join(nativeDir(), "mmhost-"));
  if (spawnSync("mkfifo", [join(dir, "probe")]).status !== 0) return { skip: "mkfifo failed" };
  return { binary: nativeBinary(), dir };
}

/** One running `oracle --mm-host`: synchronous line I/O over two FIFOs. */
class Harness {
  private readonly child: ChildProcess;
  private readonly cmd: number;
  private readonly res: number;
  private pending = "";
  private readonly buf = Buffer.alloc(1 << 17);
  readonly forbidden: [number, number][] = [];
  private free = [1, 2, 3, 4, 5, 6, 7];
  private static serial = 0;
  private readonly fifos: string[];

  constructor(binary: string, dir: string) {
    // Fresh FIFOs per harness: an old harness that is still exiting must not pick up our commands.
    const n = Harness.serial++;
    this.fifos = [join(dir, `cmd${n}`), join(dir, `res${n}`)];
    for (const f of this.fifos) if (spawnSync("mkfifo", [f]).status !== 0) throw new Error(`mkfifo ${f} failed`);
    this.child = spawn(binary, ["--mm-host", ...this.fifos], { stdio: ["ignore", "ignore", "inherit"] });
    this.cmd = openSync(this.fifos[0], "w");
    this.res = openSync(this.fifos[1], "r");
    const f = this.ask(0, "forbid");
    for (const r of f.split(" ").slice(1)) {
      const [s, e] = r.split("-").map((x) => Number(x));
      this.forbidden.push([s / 4096, e / 4096]);
    }
  }

  ask(proc: number, line: string): string {
    writeSync(this.cmd, `${proc} ${line}\n`);
    for (;;) {
      const nl = this.pending.indexOf("\n");
      if (nl >= 0) {
        const out = this.pending.slice(0, nl);
        this.pending = this.pending.slice(nl + 1);
        return out;
      }
      const n = readSync(this.res, this.buf, 0, this.buf.length, null);
      if (n === 0) throw new Error(`oracle --mm-host ended while answering "${proc} ${line}"`);
      this.pending += this.buf.toString("latin1", 0, n);
    }
  }

  takeIndex(): number {
    const j = this.free.shift();
    if (j === undefined) throw new Error("oracle --mm-host: out of process slots");
    return j;
  }
  releaseIndex(j: number): void {
    this.free.push(j);
  }

  close(): void {
    closeSync(this.cmd);
    closeSync(this.res);
    this.child.kill("SIGKILL");
    for (const f of this.fifos) rmSync(f, { force: true });
  }
}

function parse(r: string): Result {
  if (r === "refused") return "refused";
  const [k, v] = r.split(" ");
  if (k === "ok") return ok(v === undefined ? 0 : Number(v));
  if (k === "err") return err(v);
  if (k === "sig") return sig(v as "SIGSEGV" | "SIGBUS");
  throw new Error(`oracle --mm-host: unexpected answer "${r}"`);
}
const outcome = (r: Result): Outcome => {
  if (r === "refused") throw new Error("oracle --mm-host refused a file operation");
  return r;
};

class HostProc implements TProc {
  constructor(readonly h: Harness, readonly pid: number) {}
  sys(op: SysOp, args: number[]): Result { return parse(this.h.ask(this.pid, `${op} ${args.join(" ")}`)); }
  memfd(flags: number): Outcome { return outcome(parse(this.h.ask(this.pid, `memfd ${flags}`))); }
  fcntl(fd: number, cmd: number, arg: number): Outcome {
    const r = parse(this.h.ask(this.pid, `fcntl ${fd} ${cmd} ${arg}`));
    return r === "refused" ? err("EBADF") : r; // only internal fds are refused; the model's fd is closed
  }
  fstat(fd: number) {
    const r = this.h.ask(this.pid, `fstat ${fd}`).split(" ");
    if (r[0] !== "ok") return outcome(parse(r.join(" ")));
    return { size: Number(r[1]), blocks: Number(r[2]), ino: Number(r[3]) };
  }
  pwrite(fd: number, data: number[], off: number): Outcome {
    const r = parse(this.h.ask(this.pid, `pwrite ${fd} ${off} ${data.join(",")}`));
    return r === "refused" ? err("EBADF") : r; // only internal fds are refused; the model's fd is closed
  }
  pread(fd: number, len: number, off: number): number[] | Outcome {
    const r = this.h.ask(this.pid, `pread ${fd} ${off} ${len}`);
    if (!r.startsWith("ok ")) return outcome(parse(r));
    const v = r.slice(3);
    return v === "-" ? [] : v.split(",").map(Number);
  }
  pwriteFrom(fd: number, src: number, len: number, off: number): Result { return parse(this.h.ask(this.pid, `pwritem ${fd} ${off} ${src} ${len}`)); }
  preadTo(fd: number, dst: number, len: number, off: number): Result { return parse(this.h.ask(this.pid, `preadm ${fd} ${off} ${dst} ${len}`)); }
  access(a: number, size: 1 | 4, value?: number): Result {
    return parse(this.h.ask(this.pid, value === undefined ? `load ${size} ${a}` : `store ${size} ${a} ${value}`));
  }
  fork(): TProc {
    const j = this.h.takeIndex();
    const r = this.h.ask(this.pid, `fork ${j}`);
    if (!r.startsWith("ok ")) throw new Error(`oracle --mm-host fork failed: ${r}`);
    return new HostProc(this.h, j);
  }
  exit(): void {
    if (this.pid === 0) return; // process 0 exits when the harness closes
    this.h.ask(this.pid, "exit");
    this.h.releaseIndex(this.pid);
  }
  vmas(): TVma[] {
    const r = this.h.ask(this.pid, "maps");
    if (r === "ok") return [];
    return r.slice(3).split(";").map((e) => {
      const [s, end, perms, off, ino, kind] = e.trim().split(" ");
      if (kind !== "a" && kind !== "f") throw new Error(`oracle --mm-host: bad maps answer "${r}"`);
      return {
        start: Number(s), end: Number(end),
        prot: (perms[0] === "r" ? 1 : 0) | (perms[1] === "w" ? 2 : 0) | (perms[2] === "x" ? 4 : 0),
        shared: perms[3] === "s", kind: kind === "a" ? "anon" : "shmem", ino: Number(ino), offset: Number(off),
      } satisfies TVma;
    });
  }
  maps(): string {
    return this.vmas().map((v) => `${v.start.toString(16)}-${v.end.toString(16)} prot=${v.prot} ${v.shared ? "s" : "p"} ${v.kind} ino=${v.ino} off=${v.offset.toString(16)}`).join("\n");
  }
}

class HostTarget implements Target {
  readonly exactFds = false;
  readonly adoptPlacement = true;
  /** With protection keys Linux makes PROT_EXEC-only memory execute-only (arch/x86/mm/pkeys.c); the model assumes a CPU without. */
  readonly execOnlyReadable = !PKEYS;
  constructor(readonly h: Harness) {}
  reserved(vpn: number): boolean {
    for (const [s, e] of this.h.forbidden) if (vpn >= s && vpn < e) return true;
    return false;
  }
  spawn(): TProc { return new HostProc(this.h, 0); }
  checkInvariants(): string | null { return null; }
}

/**
 * Run one deterministic sequence on uffdlab and on the host, each against the model, and compare the
 * two kernels' VMA layouts around the arena after every step: VMA boundaries (which Linux decides by
 * its merge rules, anon_vma included) are the one thing the model leaves to the kernel.
 */
function compareLayouts(k: Kernel, binary: string, dir: string, cmds: Cmd[], stats: Stats): void {
  const window = { lo: ARENA - 16 * PAGE, hi: ARENA + 256 * PAGE };
  const u = new Runner(new UffdTarget(k), stats);
  u.layout = { ...window, steps: [] };
  u.run(cmds);
  const h = new Harness(binary, dir);
  try {
    const r = new Runner(new HostTarget(h), stats);
    r.layout = { ...window, steps: [] };
    r.run(cmds);
    const a = u.layout.steps, b = r.layout.steps;
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i] !== b[i]) {
        throw new Error(`VMA layouts differ after step ${i + 4} (counting the trace lines):\nuffdlab:\n  ${a[i]}\nLinux:\n  ${b[i]}\n` +
          `--- uffdlab trace ---\n${u.trace.join("\n")}\n--- Linux trace ---\n${r.trace.join("\n")}`);
      }
    }
    r.teardown();
  } finally {
    h.close();
    u.teardown();
  }
}

const built = build();
const skip = "skip" in built ? built.skip : null;

describe.skipIf(skip !== null)(`mm model (property, host kernel)${skip ? ` — skipped: ${skip}` : ""}`, () => {
  it(`uffdlab's VMA layout is Linux's: ${RUNS} deterministic sequences on both kernels`, async () => {
    const { binary, dir } = built as { binary: string; dir: string };
    const stats: Stats = new Map();
    const zero = hostZeroPage();
    console.log(`mm-model-host: ${describeHostZeroPage(zero)}`);
    const bootOpts = { memoryBytes: 16 << 20, build: "debug", zeroPage: zero.zeroPage !== false } as const;
    let k = await Kernel.boot(bootOpts);
    let sequences = 0;
    const t0 = performance.now();
    await assertProperty(
      fc.asyncProperty(commands(LAYOUT_FORKS, STEPS, { deterministic: true, noExecOnly: PKEYS }), async (cmds: Cmd[]) => {
        try {
          compareLayouts(k, binary, dir, cmds, stats);
          sequences++;
        } catch (e) {
          k = await Kernel.boot(bootOpts); // the failed run left it in an unknown state
          throw e;
        }
      }),
      { numRuns: RUNS, seed: SEED + 12 },
      import.meta.url, { seed: SEED, testName: "layout" },
    );
    console.log(`mm-model-host layouts: ${sequences} sequences, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(sequences).toBeGreaterThanOrEqual(RUNS);
  }, 300_000);

  for (const [name, forky, off] of [["one process", false, 10], ["fork family", true, 11]] as const) {
    it(`${name}: ${RUNS} random sequences on Linux agree with the model`, async () => {
      const { binary, dir } = built as { binary: string; dir: string };
      const stats: Stats = new Map();
      let sequences = 0;
      const t0 = performance.now();
      await assertProperty(
        fc.asyncProperty(commands(forky, STEPS), async (cmds: Cmd[]) => {
          const h = new Harness(binary, dir);
          try {
            const r = new Runner(new HostTarget(h), stats);
            r.run(cmds);
            r.teardown();
            sequences++;
          } finally {
            h.close();
          }
        }),
        { numRuns: RUNS, seed: SEED + off },
        import.meta.url, { seed: SEED, testName: name },
      );
      console.log(`mm-model-host ${name}: ${sequences} sequences, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      if (process.env.MM_MODEL_STATS === "1") console.log(formatStats(stats));
      expect(sequences).toBeGreaterThanOrEqual(RUNS);
    }, 300_000);
  }
});
