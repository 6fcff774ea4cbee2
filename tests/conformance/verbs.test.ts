/**
 * The verb table (host-ts/conform/verbs.ts) is the one description of the scenario language: the C
 * oracle's own tables must agree with it, the uffdlab runner must check arities from it, and
 * docs/scenarios.md's verb tables must be what `npm run docs:scenarios` makes of it.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { renderScenarioDoc, renderedSections, TSYS_CALLS, VERBS, verb, MAX_POLL } from "../../host-ts/conform/verbs.js";
import { runUffdlab } from "../../host-ts/conform/uffdlab.js";

const ORACLE = readFileSync(fileURLToPath(new URL("../oracle/oracle.c", import.meta.url)), "utf8");
const DOC_PATH = fileURLToPath(new URL("../../docs/scenarios.md", import.meta.url));

/** The body of the C function `name` (from its signature to the first line that is just `}`). */
function cFunction(name: string): string {
  const start = ORACLE.search(new RegExp(`^static [^\\n]*\\b${name}\\(`, "m"));
  expect(start, `oracle.c has ${name}`).toBeGreaterThanOrEqual(0);
  return ORACLE.slice(start, ORACLE.indexOf("\n}\n", start));
}

describe("the verb table", () => {
  it("matches oracle.c's ops[] (the argument-parsed verbs): names, arities, `as` names, memfd-name argument", () => {
    const table = ORACLE.slice(ORACLE.indexOf("static const struct opdef ops[] = {"), ORACLE.indexOf("};", ORACLE.indexOf("static const struct opdef ops[]")));
    const rows = [...table.matchAll(/\{ "([^"]+)", (\d+), (\d+), (\d+), (\d+), op_\w+ \}/g)].map((m) => ({
      name: m[1], min: Number(m[2]), max: Number(m[3]), names: Number(m[4]), mname: m[5] === "1",
    }));
    expect(rows.length).toBeGreaterThan(20);
    const ours = VERBS.filter((v) => v.parse === "args").map((v) => ({ name: v.name, min: v.min, max: v.max, names: v.names, mname: v.mname === true }));
    expect(ours.sort((a, b) => a.name.localeCompare(b.name))).toEqual(rows.sort((a, b) => a.name.localeCompare(b.name)));
  });

  it("matches oracle.c's ustep (the raw-token verbs): the same verbs, each with its NEED count as min + 1", () => {
    const body = cFunction("ustep");
    const need = new Map<string, number>();
    // `if (!strcmp(op, "a") || !strcmp(op, "b")) {` then, on the next lines, NEED(k) or NEED(x ? k1 : k2)
    for (const m of body.matchAll(/if \(((?:!strcmp\(op, "[^"]+"\)(?: \|\| )?)+)\) \{\n((?:[^\n]*\n){0,5})/g)) {
      const names = [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]);
      const n = /NEED\((?:\w+ \? (\d+) : (\d+)|(\d+))\)/.exec(m[2]);
      names.forEach((name, i) => need.set(name, n ? Number(n[3] ?? (i === 0 ? n[1] : n[2])) : 0));
    }
    const ours = VERBS.filter((v) => v.parse === "tokens");
    expect([...need.keys()].sort()).toEqual(ours.map((v) => v.name).sort());
    for (const v of ours) expect(need.get(v.name), v.name).toBe(v.min === 0 ? 0 : v.min + 1);
  });

  it("matches oracle.c's parse_call (the tsys calls)", () => {
    const body = cFunction("parse_call");
    const rows = [...body.matchAll(/\{ "(\w+)", (\d+), (\w+), (\d+) \}/g)].map((m) =>
      [m[1], { min: Number(m[2]), max: m[3] === "MAX_POLL" ? MAX_POLL : Number(m[3]), names: Number(m[4]) }] as const);
    expect(new Map(rows)).toEqual(TSYS_CALLS);
    expect(ORACLE).toMatch(new RegExp(`#define MAX_POLL ${MAX_POLL}\\b`));
  });

  it("gives uffdlab's arity errors: too few tokens for a raw-token verb, too many arguments or names for a parsed one", async () => {
    const out = await runUffdlab(["uffd U", "slot1 1 2 3 4 5", "munmap 0 0x1000 3", "mmap 0 0x1000 3 0x22 -1 0 as A B", "constructor 1", "toString"]);
    expect(out).toEqual([
      "bad wrong argument count",
      "bad wrong argument count",
      "bad munmap takes 2 argument(s), got 3",
      "bad mmap binds at most 1 name(s)",
      "bad unknown op 'constructor'",
      "bad unknown op 'toString'",
    ]);
    expect(verb("constructor")).toBeUndefined();
  });

  it("docs/scenarios.md's verb tables are up to date (run `npm run docs:scenarios`)", () => {
    const doc = readFileSync(DOC_PATH, "utf8");
    expect(renderedSections(doc).sort()).toEqual(["access", "kvm", "mm", "threads", "uffd"]);
    expect(renderScenarioDoc(doc), "docs/scenarios.md is out of date: run `npm run docs:scenarios`").toBe(doc);
    for (const v of VERBS) expect(doc, v.name).toContain(`| \`${v.name}`);
  });
});
