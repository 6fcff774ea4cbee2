// The scenario tools of host-ts/conform: file validation, the step-by-step comparison (host,
// expectations, Linux 7.1 lines, known differences) and `uffdlab conform`'s exit status.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { KVM_STEP, kvmAvailable, nativeMissing } from "../../host-ts/conform/native.js";
import { conform } from "../../host-ts/conform/run.js";
import { compare, describeDivergence, loadScenarioFile, scenarioFiles, validateScenario, type KnownDifference, type Scenario } from "../../host-ts/conform/scenario.js";

const sc = (o: Partial<Scenario> = {}): Scenario => ({ name: "s", steps: ["a", "b", "c"], ...o });

describe("scenario files", () => {
  it("accepts the three file shapes and rejects malformed scenarios with the reason", () => {
    const dir = mkdtempSync(join(tmpdir(), "uffdlab-conform-"));
    const one = { name: "x", steps: ["load 0"] };
    for (const [f, body, n] of [["a.json", one, 1], ["b.json", [one, { ...one, name: "y" }], 2], ["c.json", { scenarios: [one] }, 1]] as const) {
      writeFileSync(join(dir, f), JSON.stringify(body));
      expect(loadScenarioFile(join(dir, f)).length).toBe(n);
    }
    expect(() => validateScenario({ steps: ["x"] }, "f")).toThrow(/"name"/);
    expect(() => validateScenario({ name: "n", steps: ["# c"] }, "f")).toThrow(/blank or a comment/);
    expect(() => validateScenario({ name: "n", steps: ["a"], expect: [] }, "f")).toThrow(/0 lines for 1 steps/);
    expect(() => validateScenario({ name: "n", steps: ["a"], extra: 1 }, "f")).toThrow(/unknown field "extra"/);
    expect(() => validateScenario({ name: "n", steps: ["a"], linux71: { note: "7.1 is different", expect: {} } }, "f")).toThrow(/Linux 7.1 differs from 6.18/);
    expect(() => validateScenario({ name: "n", steps: ["a"], linux71: { note: "Linux 7.1 differs from 6.18: x", expect: { "0": "ok" } } }, "f"))
      .toThrow(/no 6.18 one/);
  });
});

describe("compare", () => {
  it("agreement, then each kind of divergence", () => {
    expect(compare(sc(), ["ok", "ok", "ok"], ["ok", "ok", "ok"]).failure).toBeUndefined();
    expect(compare(sc(), ["ok", "err EINVAL", "ok"], ["ok", "ok", "ok"]).failure).toMatchObject({ step: 1, what: "uffdlab ≠ host", kernel: "err EINVAL", uffdlab: "ok" });
    const e = sc({ expect: [null, "ok", null] });
    expect(compare(e, ["ok", "err EPERM", "ok"], ["ok", "err EPERM", "ok"]).failure).toMatchObject({ step: 1, what: "host ≠ expected" });
    expect(compare(e, undefined, ["x", "err EPERM", "y"]).failure).toMatchObject({ step: 1, what: "uffdlab ≠ expected" });
    expect(compare(e, undefined, ["x", "ok", "y"]).failure).toBeUndefined();
  });

  it("Linux 7.1 lines: uffdlab is held to them, the host to the 6.18 line", () => {
    const s = sc({ expect: [null, "err EINVAL", null], linux71: { note: "Linux 7.1 differs from 6.18: t", expect: { "1": "ok 0x1bc" } } });
    expect(compare(s, ["ok", "err EINVAL", "ok"], ["ok", "ok 0x1bc", "ok"]).failure).toBeUndefined();
    expect(compare(s, ["ok", "err EINVAL", "ok"], ["ok", "err EINVAL", "ok"]).failure).toMatchObject({ what: "uffdlab ≠ Linux 7.1" });
    expect(compare(s, ["ok", "ok 0x1bc", "ok"], ["ok", "ok 0x1bc", "ok"]).failure).toMatchObject({ what: "host ≠ expected" });
    expect(compare(s, undefined, ["ok", "ok 0x1bc", "ok"]).failure).toBeUndefined();
  });

  it("known differences excuse exactly the listed step and lines (and later steps with rest)", () => {
    const k: KnownDifference = { scenario: "s", step: 1, kind: "uffdlab", uffdlab: "ok", why: "w" };
    const r = compare(sc(), ["ok", "err E", "ok"], ["ok", "ok", "ok"], [k]);
    expect(r.failure).toBeUndefined();
    expect(r.divergences[0].known).toBe(k);
    expect(compare(sc(), ["ok", "err E", "ok"], ["ok", "ok2", "ok"], [k]).failure?.step).toBe(1); // other line
    expect(compare(sc(), ["ok", "err E", "x"], ["ok", "ok", "y"], [k]).failure?.step).toBe(2); // no rest
    expect(compare(sc(), ["ok", "err E", "x"], ["ok", "ok", "y"], [{ ...k, rest: true }]).failure).toBeUndefined();
    expect(compare(sc({ name: "t" }), ["ok", "err E", "ok"], ["ok", "ok", "ok"], [k]).failure?.step).toBe(1); // other scenario
    expect(compare(sc(), ["ok", "err E", "ok"], ["ok", "ok", "ok"], [{ ...k, kind: "spec" }]).failure?.step).toBe(1); // spec excuses nothing
  });

  it("describes a divergence with the scenario, step, step text and both kernels' lines", () => {
    const s = sc({ steps: ["load 0", "munmap $A 1", "x"] });
    const d = compare(s, ["ok", "err EINVAL", "ok"], ["ok", "ok", "ok"]).failure!;
    expect(describeDivergence(s, d)).toBe("s: step 1: uffdlab ≠ host\n  step:          munmap $A 1\n  kernel said:   err EINVAL\n  uffdlab said:  ok");
  });
});

describe("uffdlab conform", () => {
  it("exits 0 when everything agrees and 1 on a divergence, naming it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "uffdlab-conform-"));
    writeFileSync(join(dir, "good.json"), JSON.stringify({ name: "good", steps: ["mmap 0 0 3 0x22 -1 0"], expect: ["err EINVAL"] }));
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ name: "bad", steps: ["mmap 0 0 3 0x22 -1 0"], expect: ["err ENOMEM"] }));
    const lines: string[] = [];
    expect(await conform([join(dir, "good.json")], { out: (l) => lines.push(l) })).toBe(0);
    expect(lines.at(-1)).toBe("1 scenario(s): 1 agree, 0 diverge");
    lines.length = 0;
    expect(await conform([dir], { out: (l) => lines.push(l) })).toBe(1);
    expect(lines.some((l) => l.startsWith("FAIL bad"))).toBe(true);
    expect(lines.at(-1)).toBe("2 scenario(s): 1 agree, 1 diverge");
    expect(await conform([join(dir, "missing.json")], { out: () => {} })).toBe(1);
  });
});

describe("host gating", () => {
  it("KVM verbs need a usable /dev/kvm: every KVM scenario is gated, other steps are not", () => {
    for (const v of ["kvm K", "vm V $K 0", "cap $K 234", "ioctlv $K 0xae00 0", "gmem G $V 4096 3", "slot $V 0 4 0 0x2000 0 $G 0", "slot1 $V 8 0 0 0x1000 0x10000", "sameino $G $H"]) {
      expect(KVM_STEP.test(v), v).toBe(true);
    }
    for (const v of ["mmap 0 0x1000 3 1 $G 0 as M", "fstat $G", "vmsplice 1", "capget"]) expect(KVM_STEP.test(v), v).toBe(false);
    const k = kvmAvailable();
    expect(nativeMissing(["kvm K"])).toBe(k.ok ? nativeMissing([]) : k.reason);
    const dir = fileURLToPath(new URL("../scenarios/kvm", import.meta.url));
    const kvm = scenarioFiles([dir]).flatMap(loadScenarioFile);
    expect(kvm.length).toBeGreaterThanOrEqual(50);
    for (const s of kvm) expect(s.steps.some((x) => KVM_STEP.test(x)), s.name).toBe(true);
  });
});
