// The generator behind every seeded choice: the scheduler's interleavings, the explorer's
// strategies, the playground's working sets.

/**
 * mulberry32: a small, fast 32-bit generator, good enough to pick interleavings. The same seed
 * gives the same sequence on every platform, so a seed names a schedule. Returns a function that
 * yields the next number in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
