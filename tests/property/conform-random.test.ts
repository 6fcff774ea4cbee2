// Random scenarios (tests/property/random-scenarios.ts, seeded fast-check) on the host kernel and on
// uffdlab: every step must agree. All scenarios of a seed run in one oracle process (one forked child
// each). The seed is FIXED_SEEDS["conform-random"] (tests/helpers/seeds.ts) or $UFFDLAB_SEED;
// CONFORM_RANDOM_RUNS overrides the count.
import { beforeAll, describe, expect, it } from "vitest";
import { describeHostZeroPage, hostZeroPage, nativeMissing, runNativeBatch } from "../../host-ts/conform/native.js";
import { compare, describeDivergence } from "../../host-ts/conform/scenario.js";
import { runUffdlab } from "../../host-ts/conform/uffdlab.js";
import { randomScenarios } from "./random-scenarios.js";
import { replayCommand, testSeed } from "../helpers/seeds.js";

const SEED = testSeed("conform-random");
const RUNS = Number(process.env.CONFORM_RANDOM_RUNS ?? 2000);
const CHUNKS = 8;
const all = randomScenarios(SEED, RUNS);
const missing = nativeMissing(["uffd U 1"]);
/** Without a usable /dev/kvm the kvm family is not run (the rest still is). */
const kvmMissing = missing ?? nativeMissing(["kvm K"]);
const runs = (i: number) => !(kvmMissing && all[i].family === "kvm");
let host: string[][] = [];
/** uffdlab mirrors the host's zero page (a host booted with it off merges VMAs differently). */
const zeroPage = missing ? true : hostZeroPage().zeroPage !== false;

beforeAll(() => {
  if (!missing) console.log(`conform-random seed ${SEED}; ${describeHostZeroPage()}`);
  if (!missing) host = runNativeBatch(all.map((s, i) => (runs(i) ? s.steps : [])));
}, 600_000);

describe("random scenarios vs the host kernel", () => {
  if (missing) {
    it.skip(`skipped: ${missing}`, () => {});
    return;
  }
  if (kvmMissing) it.skip(`kvm family skipped: ${kvmMissing}`, () => {});
  it("generates every family, with invalid and garbage steps among them", () => {
    expect(all.length).toBe(RUNS);
    const fams = new Set(all.map((s) => s.family));
    expect([...fams].sort()).toEqual(["events", "kvm", "mm", "threads", "uffd"]);
    const lines = host.flat();
    for (const kind of ["ok", "err", "sig"]) expect(lines.some((l) => l.startsWith(kind)), kind).toBe(true);
    // forks by the producer: FORK messages whose fd is bound and used, and forks without the feature
    if (RUNS >= 500) expect(lines.filter((l) => / ev=0x13 ufd=fd /.test(l)).length).toBeGreaterThan(RUNS / 40);
    if (RUNS >= 500) expect(all.some((s) => s.steps.includes("tsys fork") && !s.steps.some((t) => t.includes(" as F")))).toBe(true);
    // the only "bad" lines: steps after a failed creation, and a few of the oracle's refusals
    expect(lines.filter((l) => l.startsWith("bad") && !/^bad (unbound name|refused: )/.test(l)).slice(0, 5)).toEqual([]);
    expect(lines.filter((l) => l.startsWith("bad refused: ")).length).toBeLessThan(lines.length / 100);
  });
  const size = Math.ceil(RUNS / CHUNKS);
  for (let c = 0; c < CHUNKS; c++) {
    it(`seed ${SEED}: scenarios ${c * size}..${Math.min(RUNS, (c + 1) * size) - 1} agree step by step`, async () => {
      for (let i = c * size; i < Math.min(RUNS, (c + 1) * size); i++) {
        if (!runs(i)) continue;
        const sc = { name: `random-${SEED}-${i} (${all[i].family})`, steps: all[i].steps };
        const u = await runUffdlab(sc.steps, { checkEveryStep: false, zeroPage });
        const o = compare(sc, host[i], u, [], { allowBad: true }); // random scenarios make bad steps on purpose (checked above)
        if (o.failure) expect.fail(`${describeDivergence(sc, o.failure)}\n  replay: ${replayCommand(import.meta.url, SEED)}\n  scenario:\n${sc.steps.map((s, j) => `    ${j}: ${s}  →  ${host[i][j]}  |  ${u[j]}`).join("\n")}`);
      }
    }, 300_000);
  }
});
