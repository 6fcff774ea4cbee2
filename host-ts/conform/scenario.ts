/**
 * Scenario files (docs/scenarios.md), known differences, and the step-by-step comparison of the
 * host kernel's lines with uffdlab's.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { resultKind } from "./format.js";

export interface Scenario {
  name: string;
  description?: string;
  steps: string[];
  /** Per step: the line Linux 6.18 (and uffdlab) must print; null: not checked. */
  expect?: (string | null)[];
  /** Series-only behaviour: "Linux 7.1 differs from 6.18" — uffdlab is held to these lines instead. */
  linux71?: { note: string; expect: Record<string, string> };
  /** The file it came from. */
  file?: string;
}

export interface KnownDifference {
  /** The scenario's name. */
  scenario: string;
  /** The step (0-based) where the difference shows. */
  step: number;
  /** Also excuse every later step of the scenario (a consequence of this one). */
  rest?: boolean;
  /** "uffdlab": uffdlab differs from Linux; "host": this host differs from the expectation (e.g. a CPU
   *  feature); "spec": the expectation follows the host where the behaviour specification uffdlab was written from says otherwise
   *  (documentation only: it excuses nothing). */
  kind: "uffdlab" | "host" | "spec";
  /** The line the host prints there (when given, the entry applies only if it does). */
  host?: string;
  /** The line uffdlab prints there (when given, the entry applies only if it does). */
  uffdlab?: string;
  /** What the spec says (kind "spec"). */
  spec?: string;
  why: string;
}

// ── loading ────────────────────────────────────────────────────────────────────────────────────────
function fail(where: string, why: string): never {
  throw new Error(`${where}: ${why}`);
}

/** Check one scenario object and return it typed. */
export function validateScenario(o: unknown, where: string): Scenario {
  if (typeof o !== "object" || o === null || Array.isArray(o)) fail(where, "a scenario is a JSON object");
  const s = o as Record<string, unknown>;
  for (const k of Object.keys(s)) {
    if (!["name", "description", "steps", "expect", "linux71"].includes(k)) fail(where, `unknown field "${k}"`);
  }
  if (typeof s.name !== "string" || s.name === "") fail(where, `"name" must be a non-empty string`);
  const at = `${where} (${s.name})`;
  if (s.description !== undefined && typeof s.description !== "string") fail(at, `"description" must be a string`);
  if (!Array.isArray(s.steps) || s.steps.some((x) => typeof x !== "string")) fail(at, `"steps" must be an array of strings`);
  const steps = s.steps as string[];
  for (const [i, st] of steps.entries()) {
    if (/^[ \t]*(#|$)/.test(st)) fail(at, `step ${i} is blank or a comment`);
    if (st.startsWith("%") || /[\r\n]/.test(st)) fail(at, `step ${i} may not start with % or hold a newline`);
  }
  if (s.expect !== undefined) {
    if (!Array.isArray(s.expect) || s.expect.some((x) => x !== null && typeof x !== "string")) fail(at, `"expect" must be an array of strings or nulls`);
    if (s.expect.length !== steps.length) fail(at, `"expect" has ${s.expect.length} lines for ${steps.length} steps`);
  }
  if (s.linux71 !== undefined) {
    const l = s.linux71 as Record<string, unknown>;
    if (typeof l !== "object" || l === null || typeof l.note !== "string" || !l.note.startsWith("Linux 7.1 differs from 6.18")) {
      fail(at, `"linux71" must be { "note": "Linux 7.1 differs from 6.18: …", "expect": { "STEP": "line" } }`);
    }
    const e = l.expect as Record<string, unknown>;
    if (typeof e !== "object" || e === null) fail(at, `"linux71.expect" must be an object`);
    for (const [k, v] of Object.entries(e)) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || i >= steps.length || String(i) !== k) fail(at, `"linux71.expect" key "${k}" is not a step index`);
      if (typeof v !== "string") fail(at, `"linux71.expect.${k}" must be a string`);
      if (!Array.isArray(s.expect) || typeof s.expect[i] !== "string") fail(at, `step ${i} has a 7.1 expectation but no 6.18 one in "expect"`);
    }
  }
  return s as unknown as Scenario;
}

/** The scenarios of one file: a scenario object, an array of them, or { "scenarios": [...] }. */
export function loadScenarioFile(file: string): Scenario[] {
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    fail(file, `not JSON: ${(e as Error).message}`);
  }
  const list = Array.isArray(j) ? j : typeof j === "object" && j !== null && "scenarios" in j ? (j as { scenarios: unknown }).scenarios : [j];
  if (!Array.isArray(list)) fail(file, `"scenarios" must be an array`);
  return list.map((o, i) => ({ ...validateScenario(o, list.length > 1 ? `${file}[${i}]` : file), file }));
}

/** Every *.json under the paths (files are taken as they are), sorted; KNOWN-DIFFERENCES.json excluded. */
export function scenarioFiles(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    if (statSync(p).isDirectory()) {
      for (const e of readdirSync(p).sort()) {
        const q = join(p, e);
        if (statSync(q).isDirectory()) walk(q);
        else if (e.endsWith(".json") && e !== "KNOWN-DIFFERENCES.json") out.push(q);
      }
    } else {
      out.push(p);
    }
  };
  for (const p of paths) walk(p);
  return out;
}

/** The known-differences file shipped with uffdlab (tests/scenarios/KNOWN-DIFFERENCES.json), if present. */
export function defaultKnownFile(): string | undefined {
  for (const rel of ["../../tests/scenarios/KNOWN-DIFFERENCES.json", "../tests/scenarios/KNOWN-DIFFERENCES.json"]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return undefined;
}

export function loadKnownDifferences(file: string): KnownDifference[] {
  const j = JSON.parse(readFileSync(file, "utf8")) as { differences?: unknown };
  if (!Array.isArray(j.differences)) fail(file, `want { "differences": [ ... ] }`);
  return j.differences.map((d, i) => {
    const k = d as KnownDifference;
    const at = `${basename(file)} entry ${i}`;
    if (typeof k.scenario !== "string" || !Number.isInteger(k.step) || typeof k.why !== "string" || k.why === "") {
      fail(at, `needs "scenario", "step" and "why"`);
    }
    if (!["uffdlab", "host", "spec"].includes(k.kind)) fail(at, `"kind" must be uffdlab, host or spec`);
    return k;
  });
}

// ── comparing ──────────────────────────────────────────────────────────────────────────────────────
export interface Divergence {
  step: number;
  text: string;
  /** What went wrong: "host ≠ expected", "uffdlab ≠ host", "uffdlab ≠ expected", "uffdlab ≠ Linux 7.1",
   *  "bad step …" (both sides refused to run it), "uffdlab threw …". */
  what: string;
  kernel?: string;
  uffdlab: string;
  expected?: string;
  known?: KnownDifference;
}

export interface Outcome {
  scenario: Scenario;
  host?: string[];
  /** Why the host was not used. */
  hostSkipped?: string;
  uffdlab: string[];
  divergences: Divergence[];
  /** The first divergence no known difference excuses. */
  failure?: Divergence;
}

export interface CompareOptions {
  /** Accept steps that both sides answer `bad …` (random scenarios make them on purpose). */
  allowBad?: boolean;
}

/**
 * Compare step by step. For each step: the host must print `expect` (when given); uffdlab must print
 * the Linux 7.1 line (when given), else the host's line, else `expect`. A step that uffdlab answers
 * `bad …` (not run: malformed or refused) and the host too, or that the host did not run, is an
 * error of the scenario, which no known difference excuses (unless `allowBad`).
 */
export function compare(sc: Scenario, host: string[] | undefined, uff: string[], known: KnownDifference[] = [], o: CompareOptions = {}): Outcome {
  const divergences: Divergence[] = [];
  if (!o.allowBad) {
    for (let i = 0; i < sc.steps.length; i++) {
      const u = uff[i];
      if (u === undefined || resultKind(u) !== "bad" || (host && resultKind(host[i] ?? "") !== "bad")) continue;
      divergences.push({ step: i, text: sc.steps[i], what: "bad step (an error of the scenario: not run)", kernel: host?.[i], uffdlab: u,
        expected: sc.expect?.[i] ?? undefined });
    }
  }
  const mine = known.filter((k) => k.scenario === sc.name && k.kind !== "spec");
  const applied = new Set<KnownDifference>(); // entries with "rest" that matched at their step
  for (let i = 0; i < sc.steps.length; i++) {
    const exp = sc.expect?.[i] ?? undefined;
    const e71 = sc.linux71?.expect[String(i)];
    const h = host?.[i];
    const u = uff[i] ?? "(no line)";
    const found: Omit<Divergence, "known">[] = [];
    if (host && exp !== undefined && h !== exp) found.push({ step: i, text: sc.steps[i], what: "host ≠ expected", kernel: h, uffdlab: u, expected: exp });
    if (e71 !== undefined) {
      if (u !== e71) found.push({ step: i, text: sc.steps[i], what: "uffdlab ≠ Linux 7.1", kernel: h, uffdlab: u, expected: e71 });
    } else if (host) {
      if (u !== h) found.push({ step: i, text: sc.steps[i], what: "uffdlab ≠ host", kernel: h, uffdlab: u, expected: exp });
    } else if (exp !== undefined && u !== exp) {
      found.push({ step: i, text: sc.steps[i], what: "uffdlab ≠ expected", uffdlab: u, expected: exp });
    }
    for (const d of found) {
      let k = [...applied].find((a) => a.step < i);
      k ??= mine.find((a) => a.step === i && (a.host === undefined || a.host === h) && (a.uffdlab === undefined || a.uffdlab === u));
      if (k?.rest) applied.add(k);
      divergences.push(k ? { ...d, known: k } : d);
    }
  }
  divergences.sort((a, b) => a.step - b.step);
  return { scenario: sc, host, uffdlab: uff, divergences, failure: divergences.find((d) => !d.known) };
}

/** A readable report of a divergence: scenario, step, the step text, what each side said. */
export function describeDivergence(sc: Scenario, d: Divergence): string {
  const lines = [
    `${sc.name}${sc.file ? ` (${sc.file})` : ""}: step ${d.step}: ${d.what}`,
    `  step:          ${d.text}`,
  ];
  if (d.kernel !== undefined) lines.push(`  kernel said:   ${d.kernel}`);
  lines.push(`  uffdlab said:  ${d.uffdlab}`);
  if (d.expected !== undefined) lines.push(`  expected:      ${d.expected}`);
  if (d.known) lines.push(`  known (${d.known.kind}): ${d.known.why}`);
  return lines.join("\n");
}
