// The playground's Web Workers mode in Node (worker threads under runInWorker, the handler on the
// main thread polling the O_NONBLOCK userfaultfd): for every strategy, what does not depend on
// timing — the page map, the memory digest, the fills, SIGBUS, the faulted or dirty pages —
// equals the async run of the same scenario (engine.ts's reproducible()), and the rest is
// consistent with it. No timing is asserted; a generous abort guards against a hang.
import { describe, it, expect } from "vitest";
import { DEFAULT_SCENARIO, plan, reproducible, runScenario, WORKERS_REPRODUCIBLE, type Scenario } from "../../playground/engine.js";

const S = (o: Partial<Scenario>): Scenario => ({ ...DEFAULT_SCENARIO, pages: 1024, touches: 120, threads: 3, ...o });

const CASES: Partial<Scenario>[] = [
  { strategy: "copy", zeroPercent: 10, poisonPercent: 5 },
  { strategy: "reap", poisonPercent: 5, prefetch: 8, seed: 7 },
  { memory: "shmem", mode: "minor", strategy: "continue", seed: 3 },
  { memory: "guest_memfd", mode: "minor", strategy: "continue", seed: 4 },
  { memory: "shmem", mode: "wp", strategy: "wp-dirty", writePercent: 40, seed: 11 },
];

describe("playground engine: Web Workers mode (worker threads in Node) against async", () => {
  for (const o of CASES) {
    it(`${JSON.stringify(o)}: the timing-independent result equals the async run's`, async () => {
      const async_ = await runScenario(S(o));
      const workers = await runScenario(S({ ...o, threadMode: "workers" }), { build: "debug" }); // debug: invariants checked
      expect(reproducible(workers)).toEqual(reproducible(async_));
      expect(workers.schedule).toEqual([]);
      expect(workers.counters.turns).toBe(0);
      expect(workers.histogram.unit).toBe("µs");
      expect(workers.histogram.counts.reduce((a, b) => a + b, 0)).toBe(plan(S(o)).accesses.flat().length);
      // What varies is bounded by what cannot: at least one message per faulted page, at most one per access.
      expect(workers.counters.faults).toBeGreaterThanOrEqual(workers.faultedPages);
      expect(workers.counters.faults).toBeLessThanOrEqual(workers.counters.accesses);
      expect(workers.log.length).toBe(workers.counters.faults);
      expect(WORKERS_REPRODUCIBLE[S(o).strategy]).toMatch(/page map/);
    }, 120_000);
  }
});
