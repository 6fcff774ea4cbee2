// tests/helpers/seeds.ts: npm test runs fixed seeds; $UFFDLAB_SEED (npm run fuzz) replaces them; a
// failing property names the command that replays it.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { FIXED_SEEDS, assertProperty, replayCommand, testSeed } from "../helpers/seeds.js";


describe("seeds", () => {
  it("every randomized test has a fixed seed, and npm test uses it", async () => {
    if (process.env.UFFDLAB_SEED !== undefined) return; // an npm run fuzz round: seeds are fresh by design
    for (const name of Object.keys(FIXED_SEEDS) as (keyof typeof FIXED_SEEDS)[]) {
      expect(Number.isSafeInteger(FIXED_SEEDS[name])).toBe(true);
      expect(testSeed(name)).toBe(FIXED_SEEDS[name]);
    }
  });

  it("a fixed seed gives the same samples every time", () => {
    const seed = FIXED_SEEDS["mm-model"];
    expect(fc.sample(fc.integer(), { seed, numRuns: 5 })).toEqual(fc.sample(fc.integer(), { seed, numRuns: 5 }));
  });

  it("replayCommand quotes the test name as a literal -t pattern", () => {
    expect(replayCommand("/x/tests/property/a.test.ts", 7, "shmem (memfd + alias)")).toMatch(/^UFFDLAB_SEED=7 npx vitest run .*a\.test\.ts -t 'shmem \\\(memfd \\\+ alias\\\)'$/);
    expect(replayCommand("/x/a.test.ts", 7, "uffdlab's")).toContain(`-t 'uffdlab'\\''s'`);
  });

  it("a failing property reports its replay command", async () => {
    const e = await assertProperty(fc.property(fc.nat(), (x) => x < 10), { numRuns: 200, seed: 42 }, "/x/tests/property/p.test.ts", { seed: 41, testName: "p" })
      .then(() => null, (err: Error) => err);
    expect(e).toBeInstanceOf(Error);
    expect(e!.message).toMatch(/seed: 42/);
    expect(e!.message).toMatch(/replay: UFFDLAB_SEED=41 npx vitest run .*p\.test\.ts -t 'p'$/);
  });
});
