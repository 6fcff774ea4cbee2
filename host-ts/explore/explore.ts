// The explorer: run a userfaultfd scenario's threads under many schedules of the deterministic
// scheduler and report the first schedule that fails — a hang (every thread blocked and nothing
// can wake them), a livelock (no end within a turn budget), a body that throws, a kernel invariant
// violation, or the scenario's own check — with its seed, a shrunk schedule and a replay command.
//
//   export default defineExploration({ setup(k) { … return ctx }, threads(ctx) { return [[t, body], …] }, check(ctx) { … } });
//   const report = await explore(def, { runs: 1000, strategy: "pct" });
//
// Strategies choose, at every turn, which ready thread runs:
//   random  uniformly, from the run's seed (the scheduler's own choice);
//   pct     probabilistic concurrency testing: threads get random distinct priorities, the
//           highest-priority ready thread runs, and at d - 1 random turns the running thread drops
//           below all others — a bug that needs d ordering constraints is found with probability at
//           least 1/(n·k^(d-1)) per run (n threads, k turns), whatever the scenario. A thread that
//           keeps the turn SPIN_TURNS times in a row (a polling loop) also drops below all others,
//           so strict priorities never starve a thread that a spinning one waits for: a livelock
//           reported under PCT survives fair scheduling too.
// A schedule is the list of thread indices (the order `threads()` returned them) that got each
// turn; replaying one follows it and, where it names a thread that is not ready, or after its
// end, runs the lowest-index ready thread.
import { Kernel } from "../kernel.js";
import { Scheduler, type AsyncThread, type ThreadBody } from "../sched/scheduler.js";
import type { Thread } from "../thread.js";
import { DeadlockError } from "../errors.js";
import { mulberry32 } from "../sched/prng.js";

/** A scenario to explore: a fresh kernel per run, its setup, the threads, and what must hold after. */
export interface Exploration<C = unknown> {
  /** Simulated memory per run (default 16 MiB). */
  memoryBytes?: number;
  /** Build the scenario on a freshly booted kernel (mappings, userfaultfds, source data). */
  setup(k: Kernel): C | Promise<C>;
  /** The threads to run: each a simulated thread and its async body. */
  threads(ctx: C): [Thread, ThreadBody][];
  /** What must hold once every thread finished (throw to fail the run). */
  check?(ctx: C, k: Kernel): void | Promise<void>;
  /** Turns after which a run counts as a livelock (default 20,000). */
  maxTurns?: number;
}

/** Identity, for a typed default export: `export default defineExploration({ … })`. */
export function defineExploration<C>(e: Exploration<C>): Exploration<C> {
  return e;
}

/** How the explorer picks the thread of each turn: uniformly at random, or PCT (see the file's head). */
export type ExploreStrategy = "random" | "pct";
/**
 * Why a run failed: `hang` (every live thread blocked and nothing can wake them: DeadlockError),
 * `livelock` (no end within the turn budget), `throw` (a body threw), `invariant` (the kernel's
 * invariant checker failed after the run), `check` (the exploration's check threw).
 */
export type FailureKind = "hang" | "livelock" | "throw" | "invariant" | "check";

/** How long and how to explore. */
export interface ExploreOptions {
  /** Runs to try (default 1000 unless `seconds` is given). */
  runs?: number;
  /** Stop after this long instead (or as well: whichever comes first). */
  seconds?: number;
  /** The first run's seed; run i uses seed + i (default 1). */
  seed?: number;
  /** How each turn's thread is picked (default "random"). */
  strategy?: ExploreStrategy;
  /** PCT's depth d: the ordering constraints a bug needs (default 3). */
  depth?: number;
  /** Shrink a failing schedule (default true). */
  shrink?: boolean;
  /** Called after every run. */
  onRun?(run: number, seed: number, failed: boolean): void;
}

/** The first failing run an exploration found. */
export interface ExploreFailure {
  /** Why it failed. */
  kind: FailureKind;
  /** The error's name and message. */
  message: string;
  /** The seed of the failing run: `--replay SEED` (with the same strategy) runs it again. */
  seed: number;
  /** The strategy that found it (a seed replays only with the same strategy). */
  strategy: ExploreStrategy;
  /** The failing run's schedule (thread index per turn). */
  schedule: number[];
  /**
   * The shortest failing schedule shrinking found (`--schedule` replays it; after its end the
   * replay runs the lowest-index ready thread). For a livelock, the choices that lead into the
   * loop (possibly none: the plain order already fails).
   */
  shrunk: number[];
  /** What the replay of `shrunk` ran, readable: runs of turns per thread ("T0×3 T1 T0×2 …"). */
  trace: string;
  /** Each thread's state when the shrunk run ended (done, ready, blocked). */
  threads: string[];
}

/** What an exploration did and found. */
export interface ExploreReport {
  /** The strategy used. */
  strategy: ExploreStrategy;
  /** The first run's seed (run i used firstSeed + i). */
  firstSeed: number;
  /** Runs made (up to and including the failing one). */
  runs: number;
  /** Wall time, shrinking included. */
  elapsedMs: number;
  /** Runs per second of wall time. */
  schedulesPerSecond: number;
  /** The first failure, or null if every run passed. */
  failure: ExploreFailure | null;
}

/** Chooses one of the ready threads (their indices, ascending) at each turn. */
interface Chooser {
  pick(ready: number[], turn: number, last: number): number;
}

class RandomChooser implements Chooser {
  private readonly rand: () => number;
  constructor(seed: number) { this.rand = mulberry32(seed); }
  pick(ready: number[]): number { return ready[Math.floor(this.rand() * ready.length)]; }
}

/** Turns in a row after which PCT demotes a thread (it is polling: let the others run). */
const SPIN_TURNS = 64;

class PctChooser implements Chooser {
  private readonly prio: number[];
  private readonly changes: Map<number, number>;
  private streak = 0;
  private lowest = 0;
  constructor(seed: number, threads: number, depth: number, turns: number) {
    const rand = mulberry32(seed ^ 0x9e3779b9);
    // Distinct initial priorities depth .. depth + n - 1 in a random order; change point j lowers to j.
    const p = Array.from({ length: threads }, (_, i) => depth + i);
    for (let i = p.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [p[i], p[j]] = [p[j], p[i]];
    }
    this.prio = p;
    this.changes = new Map();
    for (let j = 1; j < depth; j++) this.changes.set(1 + Math.floor(rand() * Math.max(1, turns)), j);
  }
  pick(ready: number[], turn: number, last: number): number {
    const low = this.changes.get(turn);
    if (low !== undefined && last >= 0) this.prio[last] = low;
    if (this.streak >= SPIN_TURNS && last >= 0) {
      this.prio[last] = --this.lowest;
      this.streak = 0;
    }
    let best = ready[0];
    for (const i of ready) if (this.prio[i] > this.prio[best]) best = i;
    this.streak = best === last ? this.streak + 1 : 1;
    return best;
  }
}

class ReplayChooser implements Chooser {
  constructor(private readonly schedule: readonly number[]) {}
  pick(ready: number[], turn: number): number {
    const want = this.schedule[turn];
    return want !== undefined && ready.includes(want) ? want : ready[0];
  }
}

class LivelockError extends Error {
  constructor(turns: number) {
    super(`no end after ${turns} turns: a livelock, or raise maxTurns`);
    this.name = "LivelockError";
  }
}

/** The scheduler with the explorer's choice of thread and a turn budget. */
class ExploreScheduler extends Scheduler {
  readonly schedule: number[] = [];
  private readonly index = new Map<number, number>();
  constructor(k: Kernel, private readonly chooser: Chooser, private readonly maxTurns: number, bodies: [Thread, ThreadBody][]) {
    super(k, 0);
    bodies.forEach(([t], i) => this.index.set(t.tid, i));
  }
  protected override choose(ready: readonly AsyncThread[]): AsyncThread {
    const turn = this.schedule.length;
    if (turn >= this.maxTurns) throw new LivelockError(turn);
    const idx = ready.map((t) => this.index.get(t.tid)!);
    const want = this.chooser.pick(idx, turn, turn ? this.schedule[turn - 1] : -1);
    this.schedule.push(want);
    return ready[idx.indexOf(want)];
  }
}

/** One run: its failure (null if it passed), the schedule it ran, and each thread's end state. */
export interface RunResult {
  /** Why it failed (its kind and the error's message), or null. */
  failure: Pick<ExploreFailure, "kind" | "message"> | null;
  /** The thread index of every turn. */
  schedule: number[];
  /** Each thread, by index: its tid and whether it finished. */
  threads: string[];
}

const errMessage = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

async function runOnce<C>(def: Exploration<C>, chooser: (threads: number) => Chooser): Promise<RunResult> {
  const k = await Kernel.boot({ memoryBytes: def.memoryBytes ?? 16 << 20, build: "debug" });
  const ctx = await def.setup(k);
  const bodies = def.threads(ctx);
  const s = new ExploreScheduler(k, chooser(bodies.length), def.maxTurns ?? 20_000, bodies);
  let failure: RunResult["failure"] = null;
  const states = () => bodies.map(([t], i) => `T${i} (tid ${t.tid}): ${t.scheduled ? "not finished" : "done"}`);
  try {
    await s.run(bodies);
  } catch (e) {
    failure = {
      kind: e instanceof DeadlockError ? "hang" : e instanceof LivelockError ? "livelock" : "throw",
      message: errMessage(e),
    };
  }
  if (!failure) {
    try {
      k.checkInvariants();
    } catch (e) {
      failure = { kind: "invariant", message: errMessage(e) };
    }
  }
  if (!failure && def.check) {
    try {
      await def.check(ctx, k);
    } catch (e) {
      failure = { kind: "check", message: errMessage(e) };
    }
  }
  return { failure, schedule: s.schedule, threads: states() };
}

/** The chooser a strategy gives a run with `seed`. */
function strategyChooser(strategy: ExploreStrategy, seed: number, depth: number, turns: number): (threads: number) => Chooser {
  return strategy === "pct" ? (n) => new PctChooser(seed, n, depth, turns) : () => new RandomChooser(seed);
}

/** Run one seed (a replay of `--replay SEED`). */
export async function runSeed<C>(def: Exploration<C>, seed: number, strategy: ExploreStrategy = "random", depth = 3, turns = 200): Promise<RunResult> {
  return runOnce(def, strategyChooser(strategy, seed, depth, turns));
}

/** Run one schedule (a replay of `--schedule 0,1,1,…`). */
export async function runSchedule<C>(def: Exploration<C>, schedule: readonly number[]): Promise<RunResult> {
  return runOnce(def, () => new ReplayChooser(schedule));
}

/** Runs of equal thread indices, readable: "T0×3 T1 T0×2". */
export function formatSchedule(s: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j < s.length && s[j] === s[i]) j++;
    out.push(j - i > 1 ? `T${s[i]}×${j - i}` : `T${s[i]}`);
    i = j;
  }
  return out.join(" ");
}

/**
 * Shrink a failing schedule: replay shorter candidates (ddmin over chunks of turns, then single
 * turns) and keep any that still fails the same way; the executed schedule of the shortest one.
 */
async function shrink<C>(def: Exploration<C>, kind: FailureKind, start: RunResult, budgetMs = 5000): Promise<{ choices: number[]; run: RunResult }> {
  if (kind === "livelock") return shrinkLivelock(def, start, budgetMs);
  let best = start;
  const deadline = performance.now() + budgetMs;
  const fails = async (cand: number[]): Promise<RunResult | null> => {
    const r = await runSchedule(def, cand);
    return r.failure?.kind === kind && r.schedule.length <= best.schedule.length ? r : null;
  };
  for (let chunk = Math.max(1, best.schedule.length >> 1); chunk >= 1 && performance.now() < deadline; chunk >>= 1) {
    let progressed = true;
    while (progressed && performance.now() < deadline) {
      progressed = false;
      for (let at = 0; at < best.schedule.length && performance.now() < deadline; at += chunk) {
        const cand = [...best.schedule.slice(0, at), ...best.schedule.slice(at + chunk)];
        const r = await fails(cand);
        if (r && r.schedule.length < best.schedule.length) {
          best = r;
          progressed = true;
          break;
        }
      }
    }
  }
  return { choices: best.schedule, run: best };
}

/**
 * A livelock runs to the turn budget whatever it is cut to, so it shrinks differently: the
 * shortest prefix of its schedule that, followed by the replay's fallback (the lowest-index
 * ready thread), still livelocks — the choices that lead into it; the rest is the loop.
 */
async function shrinkLivelock<C>(def: Exploration<C>, start: RunResult, budgetMs: number): Promise<{ choices: number[]; run: RunResult }> {
  const deadline = performance.now() + budgetMs;
  let lo = 0, hi = start.schedule.length;
  let best = { choices: start.schedule, run: start };
  while (lo < hi && performance.now() < deadline) {
    const mid = (lo + hi) >> 1;
    const r = await runSchedule(def, start.schedule.slice(0, mid));
    if (r.failure?.kind === "livelock") {
      hi = mid;
      best = { choices: start.schedule.slice(0, mid), run: r };
    } else {
      lo = mid + 1;
    }
  }
  return best;
}

/**
 * Explore `def`: `runs` runs (or `seconds`) from `seed` with `strategy`; the first failure, shrunk.
 * Every run boots its own kernel, so runs are independent and any one replays exactly.
 */
export async function explore<C>(def: Exploration<C>, opts: ExploreOptions = {}): Promise<ExploreReport> {
  const strategy = opts.strategy ?? "random";
  if (strategy !== "random" && strategy !== "pct") throw new RangeError(`strategy must be "random" or "pct", got ${JSON.stringify(strategy)}`);
  const first = opts.seed ?? 1;
  const depth = opts.depth ?? 3;
  const runs = opts.runs ?? (opts.seconds === undefined ? 1000 : Infinity);
  const deadline = opts.seconds === undefined ? Infinity : performance.now() + opts.seconds * 1000;
  for (const [name, v] of [["seed", first], ["depth", depth]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
  }
  const t0 = performance.now();
  // PCT draws its change points among the turns a run takes: measure one run first.
  const turns = strategy === "pct" ? Math.max(1, (await runSeed(def, first, "random")).schedule.length) : 0;
  let done = 0;
  let failure: ExploreFailure | null = null;
  for (let i = 0; i < runs && performance.now() < deadline; i++) {
    const seed = first + i;
    const r = await runSeed(def, seed, strategy, depth, turns);
    done++;
    opts.onRun?.(i, seed, r.failure !== null);
    if (!r.failure) continue;
    const s = opts.shrink === false ? { choices: r.schedule, run: r } : await shrink(def, r.failure.kind, r);
    failure = {
      kind: r.failure.kind, message: r.failure.message, seed, strategy,
      schedule: r.schedule, shrunk: s.choices, trace: formatSchedule(s.run.schedule), threads: s.run.threads,
    };
    break;
  }
  const elapsedMs = performance.now() - t0;
  return { strategy, firstSeed: first, runs: done, elapsedMs: Math.round(elapsedMs), schedulesPerSecond: Math.round(done / (elapsedMs / 1000)), failure };
}
