/**
 * `uffdlab conform FILE...`: run scenario files on the host kernel and on uffdlab, compare step by
 * step, print the first divergence of each failing scenario. Exit status 1 on any divergence that no
 * known difference excuses (or on a file that cannot be read).
 */
import { nativeMissing, runNativeBatch } from "./native.js";
import { compare, defaultKnownFile, describeDivergence, loadKnownDifferences, loadScenarioFile, scenarioFiles, type KnownDifference, type Scenario } from "./scenario.js";
import { runUffdlab } from "./uffdlab.js";

export interface ConformOptions {
  /** Known-differences file (default: the one shipped with uffdlab); null: none. */
  known?: string | null;
  /** Do not use the host kernel even where it could run. */
  noHost?: boolean;
  /** Print every step of every scenario. */
  verbose?: boolean;
  out?: (line: string) => void;
}

export async function conform(paths: string[], o: ConformOptions = {}): Promise<number> {
  const say = o.out ?? ((l: string) => process.stdout.write(l + "\n"));
  let scenarios: Scenario[];
  let known: KnownDifference[] = [];
  try {
    scenarios = scenarioFiles(paths).flatMap(loadScenarioFile);
    const kf = o.known === undefined ? defaultKnownFile() : o.known;
    if (kf) known = loadKnownDifferences(kf);
  } catch (e) {
    say(`uffdlab conform: ${(e as Error).message}`);
    return 1;
  }
  if (scenarios.length === 0) {
    say("uffdlab conform: no scenarios in the given files");
    return 1;
  }
  const why = new Map(scenarios.map((s) => [s, o.noHost ? "--no-host was given" : nativeMissing(s.steps)]));
  const reasons = new Set([...why.values()].filter((r) => r !== undefined));
  for (const r of reasons) say(`host kernel not used${reasons.size > 1 || why.size > [...why.values()].filter((x) => x === r).length ? " for some scenarios" : ""}: ${r}; uffdlab is checked against the scenarios' "expect" lines only`);
  const onHost = scenarios.filter((s) => why.get(s) === undefined);
  const hostOut = new Map<Scenario, string[]>();
  if (onHost.length) runNativeBatch(onHost.map((s) => s.steps)).forEach((h, i) => hostOut.set(onHost[i], h));
  let failed = 0, knownOnly = 0;
  for (const sc of scenarios) {
    const u = await runUffdlab(sc.steps);
    const r = compare(sc, hostOut.get(sc), u, known);
    const unchecked = !hostOut.has(sc) && !sc.expect && !sc.linux71;
    if (o.verbose) {
      sc.steps.forEach((st, i) => {
        const l71 = sc.linux71?.expect[String(i)];
        say(`  ${String(i).padStart(3)}  ${st}\n       kernel:  ${hostOut.get(sc)?.[i] ?? "-"}\n       uffdlab: ${u[i]}${l71 !== undefined ? `\n       7.1:     ${l71}` : ""}`);
      });
    }
    if (r.failure) {
      failed++;
      say(`FAIL ${describeDivergence(sc, r.failure)}`);
    } else if (r.divergences.length) {
      knownOnly++;
      say(`ok   ${sc.name} (known differences at step ${[...new Set(r.divergences.map((d) => d.step))].join(", ")})`);
    } else {
      say(`ok   ${sc.name}${unchecked ? " (ran on uffdlab only, nothing to compare with)" : sc.linux71 ? ` (uffdlab follows Linux 7.1 at step ${Object.keys(sc.linux71.expect).join(", ")})` : ""}`);
    }
  }
  say(`${scenarios.length} scenario(s): ${scenarios.length - failed} agree${knownOnly ? ` (${knownOnly} with known differences)` : ""}, ${failed} diverge`);
  return failed ? 1 : 0;
}
