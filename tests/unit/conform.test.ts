// The scenario tools of host-ts/conform: file validation, the step-by-step comparison (host,
// expectations, Linux 7.1 lines, known differences) and `uffdlab conform`'s exit status.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { KVM_STEP, kvmAvailable, nativeMissing } from "../../host-ts/conform/native.js";
import { conform } from "../../host-ts/conform/run.js";
import { Thread } from "../../host-ts/thread.js";
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

  it("a step both sides answer `bad …` is an error of the scenario that nothing excuses", () => {
    const s = sc({ steps: ["mmap 0 0x1000 3 0x22 -1 0 as A", "munmapp $A 0x1000", "munmap $B 0x1000"] });
    const both = compare(s, ["ok addr", "bad unknown op 'munmapp'", "bad unbound name $B"], ["ok addr", "bad unknown op 'munmapp'", "bad unbound name $B"]);
    expect(both.failure).toMatchObject({ step: 1, what: expect.stringMatching(/^bad step/), kernel: "bad unknown op 'munmapp'", uffdlab: "bad unknown op 'munmapp'" });
    expect(both.divergences.map((d) => d.step)).toEqual([1, 2]);
    expect(describeDivergence(s, both.failure!)).toBe("s: step 1: bad step (an error of the scenario: not run)\n  step:          munmapp $A 0x1000\n" +
      "  kernel said:   bad unknown op 'munmapp'\n  uffdlab said:  bad unknown op 'munmapp'");
    // without a host run, and with an expect line that says `bad` too
    const e = { ...s, expect: [null, "bad unknown op 'munmapp'", null] };
    expect(compare(e, undefined, ["ok addr", "bad unknown op 'munmapp'", "ok"]).failure).toMatchObject({ step: 1, what: expect.stringMatching(/^bad step/) });
    // a known difference does not excuse it
    const k: KnownDifference = { scenario: "s", step: 1, kind: "uffdlab", rest: true, why: "w" };
    expect(compare(s, ["ok addr", "bad x", "ok"], ["ok addr", "bad x", "ok"], [k]).failure?.step).toBe(1);
    // one side only: the usual divergence; allowBad (random scenarios) accepts agreeing bad lines
    expect(compare(s, ["ok addr", "err EINVAL", "ok"], ["ok addr", "bad x", "ok"]).failure).toMatchObject({ step: 1, what: "uffdlab ≠ host" });
    expect(compare(s, ["ok addr", "bad x", "ok"], ["ok addr", "bad x", "ok"], [], { allowBad: true }).failure).toBeUndefined();
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

describe("uffdlab conform fails closed", () => {
  afterEach(() => vi.restoreAllMocks());
  const write = (o: unknown) => {
    const dir = mkdtempSync(join(tmpdir(), "uffdlab-conform-"));
    writeFileSync(join(dir, "s.json"), JSON.stringify(o));
    return join(dir, "s.json");
  };

  it("reports a step both sides refuse (typo verb, unbound name, wrong arity) and exits 1", async () => {
    for (const [step, why] of [["munmapp $A 0x1000", "bad unknown op 'munmapp'"], ["munmap $B 0x1000", "bad unbound name $B"],
      ["munmap $A", "bad munmap takes 2 argument(s), got 1"]]) {
      const f = write({ name: "oops", steps: ["mmap 0 0x1000 3 0x22 -1 0 as A", step, "munmap $A 0x1000"] });
      for (const noHost of [false, true]) {
        const lines: string[] = [];
        expect(await conform([f], { noHost, out: (l) => lines.push(l) }), step).toBe(1);
        const text = lines.join("\n");
        expect(text).toContain(`FAIL oops (${f}): step 1: bad step`);
        expect(text).toContain(`  step:          ${step}`);
        expect(text).toContain(`  uffdlab said:  ${why}`);
        expect(lines.at(-1)).toBe("1 scenario(s): 0 agree, 1 diverge");
      }
    }
  });

  for (const threaded of [false, true]) {
    it(`an exception on uffdlab's side fails that scenario, with its step, and the run goes on${threaded ? " (under the scheduler)" : ""}`, async () => {
      // a Wasm trap inside munmap of exactly 0x7000 bytes, simulated
      const real = Thread.prototype.syscall;
      vi.spyOn(Thread.prototype, "syscall").mockImplementation(function (this: Thread, nr, ...args) {
        if (nr === 11 && args[1] === 0x7000n) throw new WebAssembly.RuntimeError("unreachable");
        return real.call(this, nr, ...args);
      });
      const pre = threaded ? ["anon A 1 3", "tfault $A r", "tjoin"] : [];
      const dir = mkdtempSync(join(tmpdir(), "uffdlab-conform-"));
      writeFileSync(join(dir, "a.json"), JSON.stringify({ name: "traps", steps: [...pre, "mmap 0 0x7000 3 0x22 -1 0 as B", "munmap $B 0x7000", "load $B"] }));
      writeFileSync(join(dir, "b.json"), JSON.stringify({ name: "after", steps: ["mmap 0 0 3 0x22 -1 0"], expect: ["err EINVAL"] }));
      const lines: string[] = [];
      expect(await conform([dir], { noHost: true, verbose: true, out: (l) => lines.push(l) })).toBe(1);
      const text = lines.join("\n");
      const at = pre.length + 1;
      expect(text).toContain(`FAIL traps (${join(dir, "a.json")}): step ${at}: uffdlab threw\n  step:          munmap $B 0x7000\n  uffdlab threw: RuntimeError: unreachable`);
      expect(text).toContain(`  ${String(at - 1).padStart(3)}  mmap 0 0x7000 3 0x22 -1 0 as B\n       kernel:  -\n       uffdlab: ok addr`);
      expect(lines).toContain("ok   after");
      expect(lines.at(-1)).toBe("2 scenario(s): 1 agree, 1 diverge");
    });
  }
});

describe("the uffdlab conform command (dist/cli.js)", () => {
  const cli = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), "uffdlab-conform-cli-"));

  it("exits 1 on a bad step and names it; -v prints each scenario's name before its steps", () => {
    const f = join(dir, "typo.json");
    writeFileSync(f, JSON.stringify([{ name: "first", steps: ["mmap 0 0 3 0x22 -1 0"], expect: ["err EINVAL"] },
      { name: "typo", steps: ["mmap 0 0x1000 3 0x22 -1 0 as A", "munmap $A 0x1000 7"] }]));
    const r = spawnSync(process.execPath, [cli, "conform", "-v", "--no-host", f], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(1);
    const out = r.stdout.split("\n");
    const i = out.indexOf(`first (${f})`);
    expect(i).toBeGreaterThan(-1);
    expect(out[i + 1]).toBe("    0  mmap 0 0 3 0x22 -1 0");
    const j = out.indexOf(`typo (${f})`);
    expect(out[j + 1]).toBe("    0  mmap 0 0x1000 3 0x22 -1 0 as A");
    expect(r.stdout).toContain(`FAIL typo (${f}): step 1: bad step (an error of the scenario: not run)\n  step:          munmap $A 0x1000 7\n  uffdlab said:  bad munmap takes 2 argument(s), got 3`);
  });

  it("`conform -v | head -1` ends quietly (no EPIPE crash): status 141 as for SIGPIPE", () => {
    // far more than a pipe holds, so writes go on after head has exited
    const f = join(dir, "long.json");
    writeFileSync(f, JSON.stringify({ name: "long", steps: ["mmap 0 0x1000 3 0x22 -1 0 as A", ...Array(3000).fill("load $A")] }));
    const r = spawnSync("bash", ["-c", `"$0" "$1" conform -v --no-host "$2" | head -1; echo "status \${PIPESTATUS[0]}" >&2`, process.execPath, cli, f],
      { encoding: "utf8" });
    expect(r.stdout).toBe("host kernel not used: --no-host was given; uffdlab is checked against the scenarios' \"expect\" lines only\n");
    expect(r.stderr).toBe("status 141\n");
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
