// The hand-written scenario corpus (tests/scenarios/**/*.json, docs/scenarios.md): every scenario runs
// on the host kernel (tests/oracle/oracle.c, all of them in one oracle process) and on uffdlab, and
// they must agree step by step, and with the scenario's own expectations — except where
// tests/scenarios/KNOWN-DIFFERENCES.json lists the step and says why.
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { describeHostZeroPage, hostZeroPage, nativeMissing, runNativeBatch } from "../../host-ts/conform/native.js";
import { compare, describeDivergence, loadKnownDifferences, loadScenarioFile, scenarioFiles, type Scenario } from "../../host-ts/conform/scenario.js";
import { runUffdlab } from "../../host-ts/conform/uffdlab.js";

const dir = fileURLToPath(new URL("../scenarios", import.meta.url));
const files = scenarioFiles([dir]);
const scenarios: Scenario[] = files.flatMap(loadScenarioFile);
const known = loadKnownDifferences(`${dir}/KNOWN-DIFFERENCES.json`);
const skip = new Map(scenarios.map((s) => [s.name, nativeMissing(s.steps)]));
const onHost = scenarios.filter((s) => skip.get(s.name) === undefined);
const host = new Map<string, string[]>();
/** uffdlab mirrors the host's zero page (a host booted with it off merges VMAs differently). */
const zeroPage = hostZeroPage().zeroPage !== false;

beforeAll(() => {
  if (onHost.length) console.log(describeHostZeroPage());
  const out = runNativeBatch(onHost.map((s) => s.steps));
  onHost.forEach((s, i) => host.set(s.name, out[i]));
}, 300_000);

describe("scenario corpus: well-formedness", () => {
  it("has at least 300 scenarios with unique names, each with an expectation per step", () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(300);
    expect(new Set(scenarios.map((s) => s.name)).size).toBe(scenarios.length);
    for (const s of scenarios) expect(s.expect?.length, s.name).toBe(s.steps.length);
  });
  it("every known difference names an existing scenario step", () => {
    const byName = new Map(scenarios.map((s) => [s.name, s]));
    for (const k of known) {
      expect(byName.get(k.scenario), k.scenario).toBeDefined();
      expect(k.step, k.scenario).toBeLessThan(byName.get(k.scenario)!.steps.length);
      if (k.kind === "spec") expect(byName.get(k.scenario)!.expect![k.step], k.scenario).not.toBe(k.spec);
    }
  });
});

const reasons = [...new Set([...skip.values()].filter((r): r is string => r !== undefined))];
describe("scenario corpus: host kernel vs uffdlab", () => {
  for (const r of reasons) it.skip(`host kernel not used${onHost.length ? " for some scenarios" : ""}: ${r}`, () => {});
  for (const sc of scenarios) {
    it(`${sc.name}${sc.description ? `: ${sc.description}` : ""}`, async () => {
      const u = await runUffdlab(sc.steps, { zeroPage });
      const o = compare(sc, host.get(sc.name), u, known);
      if (o.failure) expect.fail(describeDivergence(sc, o.failure));
    });
  }
});
