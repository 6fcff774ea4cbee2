/**
 * `uffdlab conform FILE...`: run scenario files on the host kernel and on uffdlab, compare step by
 * step, print the first divergence of each failing scenario. Exit status 1 on any divergence that no
 * known difference excuses, on a step neither kernel ran (`bad …`: an error of the scenario), on an
 * exception while uffdlab runs a scenario (reported with its step; the next scenario still runs), or
 * on a file that cannot be read.
 */
import { nativeMissing, runNativeBatch } from "./native.js";
import { compare, defaultKnownFile, describeDivergence, loadKnownDifferences, loadScenarioFile, scenarioFiles, type KnownDifference, type Scenario } from "./scenario.js";
import { runUffdlab, UffdlabStepError } from "./uffdlab.js";

export interface ConformOptions {
  /** Known-differences file (default: the one shipped with uffdlab); null: none. */
  known?: string | null;
  /** Do not use the host kernel even where it could run. */
  noHost?: boolean;
  /** Print every step of every scenario. */
  verbose?: boolean;
  out?: (line: string) => void;
}

/** The report of a scenario whose uffdlab side threw: scenario, step, step text, the error, the host's line. */
export function describeThrow(sc: Scenario, e: UffdlabStepError, host?: string[]): string {
  const lines = [`${sc.name}${sc.file ? ` (${sc.file})` : ""}: ${e.step < 0 ? "before the first step" : `step ${e.step}`}: uffdlab threw`];
  if (e.step >= 0) lines.push(`  step:          ${e.text}`);
  if (e.step >= 0 && host?.[e.step] !== undefined) lines.push(`  kernel said:   ${host[e.step]}`);
  const c = e.cause;
  lines.push(`  uffdlab threw: ${c instanceof Error ? `${c.name}: ${c.message}` : String(c)}`.replace(/\n/g, "\n    "));
  return lines.join("\n");
}

let stdoutGone = false;
function onStdoutError(e: NodeJS.ErrnoException): void {
  if (e.code !== "EPIPE") throw e;
  stdoutGone = true;
  process.exit(128 + 13);
}
/**
 * Standard output for `conform` when no `out` is given. A reader that goes away (`conform -v | head`)
 * ends the process quietly with 128 + SIGPIPE, as a C program killed by SIGPIPE would: the output
 * was cut, so the result is not known.
 */
function stdoutWriter(): (line: string) => void {
  if (!process.stdout.listeners("error").includes(onStdoutError)) process.stdout.on("error", onStdoutError);
  return (l) => {
    if (!stdoutGone) process.stdout.write(l + "\n");
  };
}

export async function conform(paths: string[], o: ConformOptions = {}): Promise<number> {
  const say = o.out ?? stdoutWriter();
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
    if (o.verbose) say(`${sc.name}${sc.file ? ` (${sc.file})` : ""}`);
    let u: string[];
    try {
      u = await runUffdlab(sc.steps);
    } catch (e) {
      // uffdlab's side threw (a Wasm trap, an invariant violation): this scenario fails, the run goes on
      failed++;
      const s = e instanceof UffdlabStepError ? e : new UffdlabStepError(-1, undefined, [], e);
      if (o.verbose) s.lines.forEach((l, i) => say(`  ${String(i).padStart(3)}  ${sc.steps[i]}\n       kernel:  ${hostOut.get(sc)?.[i] ?? "-"}\n       uffdlab: ${l}`));
      say(`FAIL ${describeThrow(sc, s, hostOut.get(sc))}`);
      continue;
    }
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
