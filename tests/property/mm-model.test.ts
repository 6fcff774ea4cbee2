/**
 * Property tests: random sequences of mm system calls and memory accesses (tests/property/mm-commands.ts)
 * run on the uffdlab kernel and on the reference model (tests/helpers/model.ts), compared after every
 * step: the result (value, errno or signal), the kernel's invariant checker, and every live process's
 * VMAs (mapped pages, protection, sharing, memory type, inode, file offset, VM_DONTCOPY, VM_WIPEONFORK).
 *
 * Each sequence runs in a fresh process (plus the children it forks) on a kernel reused across
 * sequences. When the sequence ends every process exits — the invariants must hold after each exit —
 * and the kernel must be back at its baseline: no frame leaked (free + slab frames unchanged), no inode
 * or task left. A failed run leaves the kernel in an unknown state, so the next run boots a new one.
 *
 * Kernel-chosen addresses are compared exactly with the model's top-down rule below uffdlab's fixed
 * mmap_base (uffdlab has no ASLR).
 *
 * Seeds: FIXED_SEEDS["mm-model"] in tests/helpers/seeds.ts (the fork family adds 1), or $UFFDLAB_SEED.
 * Environment: MM_MODEL_RUNS (runs per property, default 2000), MM_MODEL_STEPS (max commands per
 * sequence, default 60), MM_MODEL_STATS=1 (print outcome counts), MM_MODEL_VERBOSE=1 (print each
 * failing trace as it is found, before shrinking).
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { assertProperty, testSeed } from "../helpers/seeds.js";
import { Kernel } from "../../host-ts/index.js";
import { commands, formatStats, Runner, type Cmd, type Stats } from "./mm-commands.js";
import { UffdTarget } from "./uffd-target.js";

const RUNS = Number(process.env.MM_MODEL_RUNS ?? 2000);
const STEPS = Number(process.env.MM_MODEL_STEPS ?? 60);
const SEED = testSeed("mm-model");
const VERBOSE = process.env.MM_MODEL_VERBOSE === "1";

interface Baseline {
  frames: number;
  inodes: number;
  tasks: number;
}

/** One kernel per property, replaced after a failed run. */
class KernelPool {
  private k: Kernel | null = null;
  private base: Baseline | null = null;
  sequences = 0;
  steps = 0;
  readonly stats: Stats = new Map();

  async get(): Promise<[Kernel, Baseline]> {
    if (!this.k) {
      this.k = await Kernel.boot({ memoryBytes: 16 << 20, build: "debug" });
      const s = this.k.stats();
      this.base = { frames: s.freeFrames + s.slabFrames, inodes: s.inodes, tasks: s.tasks };
    }
    return [this.k, this.base!];
  }

  discard(): void {
    this.k = null;
  }
}

async function runSequence(pool: KernelPool, cmds: Cmd[]): Promise<void> {
  const [k, base] = await pool.get();
  const r = new Runner(new UffdTarget(k), pool.stats);
  try {
    r.run(cmds);
    r.teardown();
    const s = k.stats();
    const now = { frames: s.freeFrames + s.slabFrames, inodes: s.inodes, tasks: s.tasks };
    if (now.frames !== base.frames || now.inodes !== base.inodes || now.tasks !== base.tasks) {
      r.fail(`leak after every process exited: free+slab frames ${now.frames} (baseline ${base.frames}), inodes ${now.inodes} (${base.inodes}), tasks ${now.tasks} (${base.tasks})`);
    }
    pool.sequences++;
    pool.steps += r.trace.length;
  } catch (e) {
    pool.discard();
    if (VERBOSE) console.error((e as Error).message);
    throw e;
  }
}

describe("mm model (property, uffdlab kernel)", () => {
  for (const [name, forky, off] of [["one process", false, 0], ["fork family", true, 1]] as const) {
    it(`${name}: ${RUNS} random sequences agree with the model`, async () => {
      const pool = new KernelPool();
      const t0 = performance.now();
      await assertProperty(
        fc.asyncProperty(commands(forky, STEPS), (cmds) => runSequence(pool, cmds)),
        { numRuns: RUNS, seed: SEED + off },
        import.meta.url, { seed: SEED, testName: name },
      );
      const ms = performance.now() - t0;
      console.log(`mm-model ${name}: ${pool.sequences} sequences, ${pool.steps} steps, ${(ms / 1000).toFixed(1)} s`);
      if (process.env.MM_MODEL_STATS === "1") console.log(formatStats(pool.stats));
      expect(pool.sequences).toBeGreaterThanOrEqual(RUNS);
    }, 300_000);
  }
});
