// `uffdlab bench --json`: the report validates against bench/report.schema.json (the machine block,
// the calibration, every row), and the schema is strict enough to refuse a broken report.
import { describe, it, expect, beforeAll } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import { describeMachine, machine } from "../../bench/machine.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const schema = JSON.parse(readFileSync(join(root, "bench/report.schema.json"), "utf8"));
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);
let report: Record<string, unknown>;
let stdout = "";

describe("bench --json", () => {
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), "uffdlab-bench-json-"));
    try {
      const out = join(dir, "report.json");
      const r = spawnSync(process.execPath, [join(root, "dist/cli.js"), "bench", "--quick", "--json", out], { encoding: "utf8", timeout: 300_000 });
      if (r.status !== 0) throw new Error(`bench failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
      stdout = r.stdout;
      report = JSON.parse(readFileSync(out, "utf8"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it("validates against bench/report.schema.json", () => {
    expect(validate(report), JSON.stringify(validate.errors, null, 2)).toBe(true);
  });

  it("records the machine and a calibration row, and prints them", () => {
    const m = report.machine as ReturnType<typeof machine>;
    expect(m).toEqual(expect.objectContaining({ cpus: expect.any(Number), kernel: expect.any(String) }));
    const cal = report.calibration as { uffdlab: { jsWasmCallNs: number } };
    expect(cal.uffdlab.jsWasmCallNs).toBeGreaterThan(0);
    expect(stdout).toMatch(/^calibration \(ns\/op\): host getpid /m);
    expect(stdout).toContain(describeMachine(m).header.split(", load")[0]);
  });

  it("the schema refuses a report with a row missing its summary, an unknown field or a wrong schema tag", () => {
    const rows = report.rows as Record<string, unknown>[];
    for (const broken of [
      { ...report, rows: [{ ...rows[0], uffdlab: undefined }] },
      { ...report, surprise: 1 },
      { ...report, schema: "uffdlab-bench/1" },
      { ...report, machine: { ...(report.machine as object), cpus: 0 } },
    ]) {
      expect(validate(JSON.parse(JSON.stringify(broken)))).toBe(false);
    }
  });
});

describe("bench machine description", () => {
  const base = machine();
  it("a paravirtualised host gets the footnote; a hardware-virtualised one does not", () => {
    expect(describeMachine({ ...base, paravirtualised: true, hypervisor: "PVM", cmdlineFlags: ["pvm_no_zero_page=1"] }).footnote).toMatch(/paravirtualised guest/);
    expect(describeMachine({ ...base, paravirtualised: false, virtualised: true, hypervisor: "KVM", cmdlineFlags: [] }).footnote).toBeNull();
    expect(describeMachine({ ...base, paravirtualised: true, hypervisor: "PVM", cmdlineFlags: ["pvm_no_zero_page=1"] }).header).toMatch(/paravirtualised \(PVM\).*\[pvm_no_zero_page=1\]/);
  });
});
