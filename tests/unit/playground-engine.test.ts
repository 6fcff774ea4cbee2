// The playground's scenario engine (playground/engine.ts) in Node: validation explains what cannot
// run, every strategy is deterministic for a seed, the strategies do what their names say (and the
// MISSING ones leave the same memory), a scenario export replays on `uffdlab conform`, and the
// scheduler's onTurn hook sees every turn without changing the schedule.
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  DEFAULT_SCENARIO, Playground, plan, runScenario, validate, type RunResult, type Scenario, type TurnView,
} from "../../playground/engine.js";
import { conformScenario } from "../../playground/export.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const S = (o: Partial<Scenario>): Scenario => ({ ...DEFAULT_SCENARIO, pages: 1024, touches: 96, ...o });

describe("playground engine: validation", () => {
  it("accepts the default scenario and one per strategy", () => {
    expect(validate(DEFAULT_SCENARIO)).toEqual([]);
    expect(validate(S({ strategy: "reap" }))).toEqual([]);
    expect(validate(S({ memory: "shmem", mode: "minor", strategy: "continue" }))).toEqual([]);
    expect(validate(S({ memory: "guest_memfd", mode: "wp", strategy: "wp-dirty" }))).toEqual([]);
  });

  it("explains each invalid combination instead of running it", async () => {
    const minorAnon = validate(S({ mode: "minor", strategy: "continue" }));
    expect(minorAnon.join(" ")).toMatch(/MINOR.*EINVAL/);
    expect(validate(S({ mode: "wp", strategy: "copy" })).join(" ")).toMatch(/MISSING faults; choose mode MISSING/);
    expect(validate(S({ mode: "missing", strategy: "wp-dirty" })).join(" ")).toMatch(/choose mode WP/);
    expect(validate(S({ threadMode: "workers" }))).toEqual([]); // Node has worker threads
    expect(validate(S({ threadMode: "fibers" as Scenario["threadMode"] })).join(" ")).toMatch(/unknown thread mode fibers/);
    expect(validate(S({ pages: 8, touches: 9 })).join(" ")).toMatch(/touches \(9\) cannot exceed/);
    expect(validate(S({ pages: (1 << 20) + 1 })).join(" ")).toMatch(/pages must be an integer in \[1, 1048576\]/);
    expect(validate(S({ seed: -1 })).length).toBe(1);
    await expect(Playground.setup(S({ mode: "minor", strategy: "continue" }))).rejects.toThrow(/invalid scenario: .*EINVAL/);
  });
});

const STRATEGIES: Partial<Scenario>[] = [
  { strategy: "copy" },
  { strategy: "reap", poisonPercent: 5 },
  { memory: "shmem", mode: "minor", strategy: "continue" },
  { memory: "guest_memfd", mode: "minor", strategy: "continue" },
  { mode: "wp", strategy: "wp-dirty" },
  { memory: "shmem", mode: "wp", strategy: "wp-dirty" },
];

describe("playground engine: runs", () => {
  for (const o of STRATEGIES) {
    it(`${JSON.stringify(o)}: the same seed gives the same run (debug build: invariants hold)`, async () => {
      const a = await runScenario(S(o), { build: "debug" });
      const b = await runScenario(S(o), { build: "debug" });
      const strip = (r: RunResult) => ({ ...r, build: undefined, region: undefined });
      expect(strip(b)).toEqual(strip(a));
      const c = await runScenario(S({ ...o, seed: 2 }));
      expect(c.digest).not.toBe(a.digest);
    });
  }

  it("eager COPY: every touched page is filled once; a second message for a page is EEXIST, then WAKE", async () => {
    const s = S({ threads: 4 });
    const p = plan(s);
    const r = await runScenario(s);
    const holes = p.order.filter((pg) => p.snapshot.get(pg) === "zero").length;
    expect(r.counters.copies).toBe(p.order.length - holes);
    expect(r.counters.zeropages).toBe(holes);
    expect(r.pageCounts.present + r.pageCounts.zero).toBe(p.order.length);
    expect(r.pageCounts.zero).toBeGreaterThan(0);
    expect(r.counters.faults).toBe(r.counters.copies + r.counters.zeropages + r.counters.eexist);
    expect(r.counters.eexist).toBeGreaterThan(0);
    expect(r.counters.wakes).toBe(r.counters.eexist);
    expect(r.log.every((e) => e.kind === "pagefault" && r.threads.some((t) => t.tid === e.tid && t.role === "faulter"))).toBe(true);
    expect(r.histogram.counts.reduce((x, y) => x + y, r.histogram.immediate)).toBe(r.counters.accesses);
  });

  it("REAP fills the same memory as eager COPY with fewer faults: batches of DONTWAKE fills, one WAKE each", async () => {
    const copy = await runScenario(S({ strategy: "copy", poisonPercent: 5 }));
    const reap = await runScenario(S({ strategy: "reap", poisonPercent: 5 }));
    expect(reap.digest).toBe(copy.digest);
    expect(reap.pageCounts).toEqual(copy.pageCounts);
    expect(reap.pageCounts.poisoned).toBeGreaterThan(0);
    expect(reap.counters.sigbus).toBe(copy.counters.sigbus);
    expect(reap.counters.faults).toBeLessThan(copy.counters.faults / 2);
    expect(reap.counters.eexist).toBe(0);
    expect(reap.counters.wakes).toBeLessThan(reap.counters.faults);
  });

  it("MINOR + CONTINUE maps the cached pages touched; the untouched cached pages stay in the page cache", async () => {
    for (const memory of ["shmem", "guest_memfd"] as const) {
      const s = S({ memory, mode: "minor", strategy: "continue" });
      const p = plan(s);
      const r = await runScenario(s);
      expect(r.counters.continues).toBe(p.order.length);
      expect(r.pageCounts.present).toBe(p.order.length);
      expect(r.pageCounts["in page cache"]).toBe(p.extras.length);
      expect(Object.keys(r.messageCounts).every((k) => k.endsWith("|minor"))).toBe(true);
    }
  });

  it("write-protect dirty tracking finds exactly the pages written", async () => {
    const s = S({ mode: "wp", strategy: "wp-dirty", writePercent: 30 });
    const p = plan(s);
    const written = [...new Set(p.accesses.flat().filter((a) => a.write).map((a) => a.page))].sort((a, b) => a - b);
    const r = await runScenario(s);
    expect(r.dirty).toEqual(written);
    expect(r.counters.wpResolves).toBe(written.length);
    expect(r.pageCounts.present).toBe(written.length);
    expect(r.pageCounts["write-protected"]).toBe(p.order.length + p.extras.length - written.length);
    expect(r.messageCounts).toEqual({ "pagefault write|wp": written.length });
  });

  it("a 1M-page region: page states for every page, only the touched ones populated", async () => {
    const r = await runScenario({ ...DEFAULT_SCENARIO, pages: 1 << 20, touches: 512 });
    expect(Object.values(r.pageCounts).reduce((a, b) => a + b, 0)).toBe(1 << 20);
    expect(r.pageCounts.present + r.pageCounts.zero).toBe(512);
  });
});

describe("the scheduler's onTurn hook", () => {
  it("is awaited before every turn with the picked thread, and leaves the schedule as the seed made it", async () => {
    const plain = await runScenario(S({}));
    const views: TurnView[] = [];
    const hooked = await runScenario(S({}), { hooks: { turn: async (v) => { views.push(v); await new Promise((r) => setTimeout(r, 0)); } } });
    expect(hooked.schedule).toEqual(plain.schedule);
    expect(hooked.digest).toBe(plain.digest);
    expect(views.map((v) => v.pick)).toEqual(plain.schedule);
    expect(views.map((v) => v.turn)).toEqual(plain.schedule.map((_, i) => i));
    // Some turn finds a faulter blocked in its userfault, waiting on the handler.
    expect(views.some((v) => v.threads.some((t) => t.role === "faulter" && t.state === "blocked" && /^(load8|store8) page \d+/.test(t.doing)))).toBe(true);
  });

  it("aborts the run when it throws", async () => {
    const pg = await Playground.setup(S({}));
    await expect(pg.run({ turn: (v) => { if (v.turn === 10) throw new Error("stop here"); } })).rejects.toThrow("stop here");
  });
});

describe("export as a conform scenario", () => {
  it("guest_memfd and regions over 256 MiB say why they cannot be expressed", () => {
    expect(conformScenario(S({ memory: "guest_memfd" }), []).why).toMatch(/Linux 7\.1/);
    expect(conformScenario(S({ pages: 1 << 17, touches: 8 }), []).why).toMatch(/256 MiB/);
  });

  it("each strategy's export runs on `uffdlab conform` (against this host's kernel when it can, else uffdlab alone)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "uffdlab-pg-conform-"));
    try {
      const files: string[] = [];
      for (const o of [{ strategy: "copy" }, { strategy: "reap", poisonPercent: 10 }, { memory: "shmem", mode: "minor", strategy: "continue" },
        { mode: "wp", strategy: "wp-dirty" }, { memory: "shmem", mode: "wp", strategy: "wp-dirty" }] as Partial<Scenario>[]) {
        const s = S(o);
        const r = await runScenario(s);
        const x = conformScenario(s, r.log);
        expect(x.file, x.why).not.toBeNull();
        expect(x.file!.steps.filter((l) => l.startsWith("tfault")).length).toBe(16);
        const f = join(dir, `${x.file!.name}.json`);
        writeFileSync(f, JSON.stringify(x.file));
        files.push(f);
      }
      const out = spawnSync(process.execPath, [join(root, "dist/cli.js"), "conform", ...files], { encoding: "utf8", timeout: 120_000 });
      expect(out.status, out.stdout + out.stderr).toBe(0);
      expect(out.stdout).toMatch(/5 scenario\(s\): 5 agree, 0 diverge/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
