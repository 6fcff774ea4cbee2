// uffdlab explore: the explorer finds the zoo's "EEXIST without a wake" with every strategy, replays
// it exactly by seed and by its shrunk schedule, passes the fixed handler, and tells a hang, a
// throw and a failed check apart. The zoo imports `uffdlab` (the built package), so the test does too:
// one set of classes.
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { explore, runSeed, runSchedule, formatSchedule, defineExploration, abi as A, type Exploration, type Kernel } from "uffdlab";

const zoo = async (file: string) =>
  ((await import(new URL(`../../examples/zoo/${file}`, import.meta.url).href)) as { default: Exploration<unknown> }).default;
/** The zoo's pairs: the buggy handler, its fix, and how the bug shows. */
const ZOO = [
  { name: "eexist-without-wake", kind: "livelock", stuck: /^T0 .*not finished/ }, // the guest never gets its page
  { name: "eagain-retry-spin", kind: "livelock", stuck: /^T1 .*not finished/ }, // the balloon's event is never read
  { name: "stale-source-after-remove", kind: "check", stuck: null },
  { name: "handler-close", kind: "check", stuck: null }, // the guest reads a zero page after the close
] as const;

const root = fileURLToPath(new URL("../..", import.meta.url));
const PAGE = 4096;

for (const z of ZOO) {
  describe(`explore: the zoo's ${z.name}`, async () => {
    const buggy = await zoo(`${z.name}.mjs`);
    const fixed = await zoo(`${z.name}.fixed.mjs`);
    for (const strategy of ["random", "pct"] as const) {
      it(`${strategy}: the buggy handler is found (${z.kind}), and its seed and shrunk schedule replay it`, async () => {
        const r = await explore(buggy, { runs: 300, strategy });
        const f = r.failure!;
        expect(f, "found within 300 runs").not.toBeNull();
        expect(f.kind).toBe(z.kind);
        if (z.stuck) expect(f.threads.some((t) => z.stuck.test(t)), f.threads.join("\n")).toBe(true);
        const turns = strategy === "pct" ? (await runSeed(buggy, 1)).schedule.length : 200;
        const again = await runSeed(buggy, f.seed, strategy, 3, turns);
        expect(again.failure?.kind).toBe(z.kind);
        expect(again.schedule).toEqual(f.schedule);
        const shrunk = await runSchedule(buggy, f.shrunk);
        expect(shrunk.failure?.kind).toBe(z.kind);
        expect(formatSchedule(shrunk.schedule)).toBe(f.trace);
      });
      it(`${strategy}: the fixed handler passes 300 schedules`, async () => {
        const r = await explore(fixed, { runs: 300, strategy });
        expect(r.failure).toBeNull();
        expect(r.runs).toBe(300);
      });
    }
  });
}

/** One thread faults on a registered page; `serve` decides whether anybody answers. */
function faultScenario(opts: { serve: boolean; check?: () => void; throwIn?: boolean }) {
  return defineExploration({
    setup(k: Kernel) {
      const p = k.spawn();
      const a = p.mmap(0, 2 * PAGE, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
      const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
      uffd.api();
      uffd.register(a, PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
      return { p, a, uffd, t: p.newThread(), h: p.newThread(), done: false };
    },
    threads(c) {
      const bodies: ReturnType<Parameters<typeof defineExploration>[0]["threads"]> = [
        [c.t, async (t) => { await t.load8(c.a); c.done = true; if (opts.throwIn) throw new Error("the body failed"); }],
      ];
      if (opts.serve) bodies.push([c.h, async (t) => {
        while (!c.done) {
          if ((await t.op(() => c.uffd.read())).length) await t.op(() => c.uffd.zeropage(c.a, PAGE));
          await t.yield();
        }
      }]);
      return bodies;
    },
    check: opts.check,
  });
}

describe("explore: what counts as a failure", () => {
  it("a thread nobody can wake is a hang (DeadlockError), shrunk to the fewest turns", async () => {
    const r = await explore(faultScenario({ serve: false }), { runs: 5 });
    expect(r.failure?.kind).toBe("hang");
    expect(r.failure?.message).toMatch(/DeadlockError/);
    expect(r.failure!.shrunk.length).toBeLessThanOrEqual(r.failure!.schedule.length);
  });
  it("a body that throws, and a check that throws, fail the run; a served fault passes", async () => {
    expect((await explore(faultScenario({ serve: true, throwIn: true }), { runs: 5 })).failure?.kind).toBe("throw");
    const c = await explore(faultScenario({ serve: true, check: () => { throw new Error("the shadow differs"); } }), { runs: 5 });
    expect(c.failure?.kind).toBe("check");
    expect(c.failure?.message).toMatch(/the shadow differs/);
    expect((await explore(faultScenario({ serve: true }), { runs: 50, strategy: "pct" })).failure).toBeNull();
  });
  it("rejects an unknown strategy", async () => {
    await expect(explore(faultScenario({ serve: true }), { strategy: "dfs" as "random" })).rejects.toThrow(RangeError);
  });
  it("formats a schedule as runs of turns", () => {
    expect(formatSchedule([0, 0, 0, 1, 0, 0, 2])).toBe("T0×3 T1 T0×2 T2");
  });
});

describe("uffdlab explore (the CLI)", () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, ["dist/cli.js", "explore", ...args], { cwd: root, encoding: "utf8", timeout: 120_000 });
  it("exits 1 on the buggy handler with the failure, the shrunk schedule and the replay commands; the replay fails again", () => {
    const r = cli("examples/zoo/eexist-without-wake.mjs", "--runs", "300");
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/FAILED \(livelock\) at seed (\d+)/);
    const seed = /at seed (\d+)/.exec(r.stdout)![1];
    expect(r.stdout).toContain(`--replay ${seed} --strategy random`);
    const again = cli("examples/zoo/eexist-without-wake.mjs", "--replay", seed);
    expect(again.status).toBe(1);
    expect(again.stdout).toMatch(/^replayed: livelock/m);
  });
  it("exits 0 on the fixed handler", () => {
    const r = cli("examples/zoo/eexist-without-wake.fixed.mjs", "--runs", "100", "--strategy", "pct");
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/100 run\(s\).*\nno failure found/);
  });
});
