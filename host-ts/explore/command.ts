// `uffdlab explore FILE`: load the scenario (FILE's default export, made with defineExploration),
// explore it or replay one run, print the report, exit 1 on a failure. The library functions come
// from the package entry the scenario itself imports (`uffdlab`), so the scenario's classes
// (FillError, Userfaultfd, …) are the explorer's.
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Exploration, ExploreReport, ExploreStrategy, explore as exploreFn, runSeed as runSeedFn, runSchedule as runScheduleFn, formatSchedule as formatFn } from "./explore.js";

export interface ExploreLib {
  explore: typeof exploreFn;
  runSeed: typeof runSeedFn;
  runSchedule: typeof runScheduleFn;
  formatSchedule: typeof formatFn;
}

export interface ExploreCommandOptions {
  runs?: string;
  seconds?: string;
  seed?: string;
  strategy?: string;
  depth?: string;
  replay?: string;
  schedule?: string;
  json?: string;
}

function int(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new RangeError(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return n;
}

/** Run the command; the process exit code (0 passed, 1 a failure found). */
export async function exploreCommand(lib: ExploreLib, file: string, o: ExploreCommandOptions): Promise<number> {
  const strategy = (o.strategy ?? "random") as ExploreStrategy;
  if (strategy !== "random" && strategy !== "pct") throw new RangeError(`--strategy must be random or pct, got ${JSON.stringify(o.strategy)}`);
  const mod = (await import(pathToFileURL(resolve(file)).href)) as { default?: Exploration };
  const def = mod.default;
  if (!def || typeof def.setup !== "function" || typeof def.threads !== "function") {
    throw new TypeError(`${file}: the default export must be an exploration: export default defineExploration({ setup, threads, check? })`);
  }
  const depth = int("depth", o.depth, 1) ?? 3;
  const cmd = (extra: string) => `npx uffdlab explore ${file} ${extra}`;
  if (o.replay !== undefined || o.schedule !== undefined) {
    const r = o.schedule !== undefined
      ? await lib.runSchedule(def, o.schedule.trim() === "" ? [] : o.schedule.split(",").map((x) => int("schedule", x.trim(), 0)!))
      : await lib.runSeed(def, int("replay", o.replay, 0)!, strategy, depth);
    console.log(`replayed: ${r.failure ? `${r.failure.kind}: ${r.failure.message}` : "passed"}`);
    console.log(`schedule: ${lib.formatSchedule(r.schedule)}`);
    for (const t of r.threads) console.log(`  ${t}`);
    return r.failure ? 1 : 0;
  }
  const report: ExploreReport = await lib.explore(def, {
    runs: int("runs", o.runs, 1), seconds: int("seconds", o.seconds, 1), seed: int("seed", o.seed, 0), strategy, depth,
  });
  console.log(`uffdlab explore ${file}: ${report.runs} run(s), strategy ${strategy}, seeds ${report.firstSeed}.., ${report.schedulesPerSecond} schedules/s`);
  const f = report.failure;
  if (!f) console.log("no failure found");
  else {
    console.log(`FAILED (${f.kind}) at seed ${f.seed}: ${f.message}`);
    console.log(`schedule, shrunk: ${f.trace}`);
    for (const t of f.threads) console.log(`  ${t}`);
    console.log(`replay: ${cmd(`--replay ${f.seed} --strategy ${f.strategy}${f.strategy === "pct" ? ` --depth ${depth}` : ""}`)}`);
    console.log(`replay the shrunk schedule: ${cmd(`--schedule '${f.shrunk.join(",")}'`)}`);
  }
  if (o.json) writeFileSync(o.json, JSON.stringify(report, null, 2) + "\n");
  return f ? 1 : 0;
}
