#!/usr/bin/env node
// npm run fuzz [-- --seconds N] [--seed S] [--calls N] [--files PATH...]
//
// Explores fresh seeds. `npm test` runs every randomized test with its fixed seed
// (tests/helpers/seeds.ts); this runs the randomized tests (tests/property, tests/fuzz) over and over,
// each round with a new seed in $UFFDLAB_SEED, until the time is up, and prints the command that
// replays every failure. --seed S runs one round with S (a replay); --calls N sets how many calls the
// garbage-syscall fuzzer makes per round (default: its npm test budget). Exit status 1 if any round failed.
import { spawnSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: "string", default: "300" },
    seed: { type: "string" },
    calls: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log("usage: npm run fuzz -- [--seconds N] [--seed S] [--calls N] [test files or directories...]");
  process.exit(0);
}
const int = (name, v, min, max) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    console.error(`fuzz: --${name} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return n;
};
const seconds = int("seconds", values.seconds, 1, 7 * 24 * 3600);
const fixedSeed = values.seed === undefined ? undefined : int("seed", values.seed, 0, 0x7fff_ffff);
const calls = values.calls === undefined ? undefined : int("calls", values.calls, 1, 1e9);
const files = positionals.length ? positionals : ["tests/property", "tests/fuzz"];

// Build once; the rounds run vitest directly (no pretest build per round).
const build = spawnSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);

const vitest = join("node_modules", "vitest", "vitest.mjs");
const dir = mkdtempSync(join(tmpdir(), "uffdlab-fuzz-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
const deadline = Date.now() + seconds * 1000;
const failures = [];
let rounds = 0;

do {
  const seed = fixedSeed ?? randomInt(0x7fff_ffff);
  const report = join(dir, `round-${rounds}.json`);
  const env = { ...process.env, UFFDLAB_SEED: String(seed) };
  if (calls !== undefined) env.FUZZ_CALLS = String(calls);
  const t0 = Date.now();
  console.log(`fuzz round ${rounds + 1}: UFFDLAB_SEED=${seed}${calls === undefined ? "" : ` FUZZ_CALLS=${calls}`}`);
  const r = spawnSync(process.execPath, [vitest, "run", ...files, "--reporter=dot", "--reporter=json", `--outputFile=${report}`],
    { env, stdio: ["ignore", "inherit", "inherit"] });
  let failed = [];
  try {
    const j = JSON.parse(readFileSync(report, "utf8"));
    failed = j.testResults.filter((f) => f.status !== "passed").map((f) => ({
      file: relative(process.cwd(), f.name),
      tests: f.assertionResults.filter((a) => a.status === "failed").map((a) => a.fullName),
    }));
  } catch {
    if (r.status !== 0) failed = [{ file: files.join(" "), tests: [`vitest exited with status ${r.status}`] }];
  }
  rounds++;
  for (const f of failed) {
    const prefix = `UFFDLAB_SEED=${seed}${calls === undefined ? "" : ` FUZZ_CALLS=${calls}`}`;
    failures.push({ seed, ...f, replay: `${prefix} npx vitest run ${f.file}` });
  }
  console.log(`fuzz round ${rounds}: ${failed.length ? `${failed.length} file(s) failed` : "passed"} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
} while (fixedSeed === undefined && Date.now() < deadline);

console.log(`\nfuzz: ${rounds} round(s), ${failures.length} failure(s)`);
for (const f of failures) {
  console.log(`- seed ${f.seed}: ${f.file}${f.tests.length ? ` (${f.tests.join("; ")})` : ""}\n  replay: ${f.replay}`);
}
process.exit(failures.length ? 1 : 0);
