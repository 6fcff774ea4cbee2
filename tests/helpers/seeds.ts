/**
 * Seeds for every randomized test.
 *
 * `npm test` (and CI) runs each randomized test with its fixed seed from FIXED_SEEDS below, so an
 * unchanged tree gives the same result every time. `npm run fuzz` (scripts/fuzz.mjs) explores:
 * it sets UFFDLAB_SEED to a fresh value for each round, and every randomized test then uses that
 * seed instead of its fixed one. A failure names the seed and the command that replays it.
 *
 *   const seed = testSeed("mm-model");                       // FIXED_SEEDS["mm-model"] or $UFFDLAB_SEED
 *   await assertProperty(prop, { numRuns, seed }, import.meta.url);   // fc.assert + the replay line
 */
import fc from "fast-check";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The seeds `npm test` runs. Changing one changes what CI checks: run the test with the new seed
 * a few times first (it must pass, and the test's "reached every case" checks must hold).
 */
export const FIXED_SEEDS = {
  /** tests/property/mm-model.test.ts (the fork family adds 1). */
  "mm-model": 20261207,
  /** tests/property/mm-model-host.test.ts (one process +10, fork family +11, layouts +12). */
  "mm-model-host": 20261207,
  /** tests/property/uffd-model.test.ts (anonymous memory; shmem adds 1). */
  "uffd-model": 20261207,
  /** tests/property/conform-random.test.ts: which 2,000 scenarios are generated. */
  "conform-random": 20261201,
  /** tests/fuzz/garbage-syscalls.test.ts. */
  "garbage-syscalls": 20261207,
} as const;

export type SeededTest = keyof typeof FIXED_SEEDS;

/** Whether the run explores a seed of `npm run fuzz` rather than the fixed one. */
export const EXPLORING = process.env.UFFDLAB_SEED !== undefined && process.env.UFFDLAB_SEED !== "";

/** The seed `name` runs with: $UFFDLAB_SEED when set (npm run fuzz, a replay), else its fixed seed. */
export function testSeed(name: SeededTest): number {
  if (!EXPLORING) return FIXED_SEEDS[name];
  const s = Number(process.env.UFFDLAB_SEED);
  if (!Number.isSafeInteger(s) || s < 0 || s > 0x7fff_ffff) {
    throw new RangeError(`UFFDLAB_SEED must be an integer in 0..2147483647, got ${JSON.stringify(process.env.UFFDLAB_SEED)}`);
  }
  return s;
}

/** The shell command that replays `testFile` (a file URL or path) with `seed`, optionally one test. */
export function replayCommand(testFile: string, seed: number, testName?: string): string {
  const path = testFile.startsWith("file:") ? fileURLToPath(testFile) : testFile;
  const rel = relative(process.cwd(), path) || path;
  // -t takes a regular expression: the name is matched literally.
  const t = testName === undefined ? "" : ` -t '${testName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/'/g, "'\\''")}'`;
  return `UFFDLAB_SEED=${seed} npx vitest run ${rel}${t}`;
}

/**
 * fc.assert with `params` (whose seed must be set), and on failure the replay command appended to
 * the error: fast-check's own report (seed, path, shrunk counterexample) stays as it is.
 */
export async function assertProperty<T>(
  prop: fc.IAsyncProperty<T> | fc.IProperty<T>,
  params: fc.Parameters<T> & { seed: number },
  testFile: string,
  replay: { seed: number; testName?: string },
): Promise<void> {
  try {
    await fc.assert(prop as fc.IAsyncProperty<T>, params);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    err.message += `\nreplay: ${replayCommand(testFile, replay.seed, replay.testName)}`;
    throw err;
  }
}
