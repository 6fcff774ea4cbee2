/**
 * Run a scenario (docs/scenarios.md) on a fresh uffdlab kernel and print the same normalised result
 * lines as the native oracle (tests/oracle/oracle.c), step for step.
 *
 * Each verb is a row of the verb table (verbs.ts; its arity is checked here, before the handler) and
 * a handler `op_NAME` in its family's module: mm.ts, pipes.ts, uffd.ts, threads.ts, kvm.ts, over the
 * runner core in runner.ts (names, the oracle's refusals and budget, shared helpers).
 *
 * How each step runs (mirroring oracle.c):
 *   - system calls are raw `thread.syscall(nr, ...)` with the resolved 64-bit arguments, so garbage
 *     (wrapping lengths, high bits, kernel addresses, fd -1) reaches the kernel unchanged;
 *   - string and struct arguments live in ordinary user memory of the simulated process — the runner's
 *     "scratch" mapping at SELF_BASE — as the C oracle passes pointers into its own .bss; a second
 *     runner mapping stands for the oracle's stack (SELF_RANGES); steps touching either are refused;
 *   - fds 0, 1 and 2 are taken before the first step, so fds are numbered as on the host;
 *   - accesses go through the simulated MMU; a fault is `sig …` at the first inaccessible byte; an
 *     access or call that must wait for a userfault is `blocked` (the host's guard timer);
 *   - a scenario with `tfault`, `tioctl` or `tsys` runs under the deterministic scheduler (seed 1):
 *     the steps on one simulated thread, each tfault access, tioctl ioctl or tsys call on its own
 *     (a call that waits is reissued after the wake); `readwait`, `tjoin`, `tioctljoin` and
 *     `tsjoin` yield (at most WAIT_TURNS turns) where the host waits at most BLOCK_MS, and so does
 *     `tsbusy` until the call returned or a userfaultfd is readable; `tsys fork`'s child lives
 *     until `childexit`; `poll FD MS` yields while it waits, and a timeout the host would wait out
 *     (1..BLOCK_MS) runs out when nobody woke it (task_timeout);
 *   - the process has CAP_SYS_PTRACE (the oracle runs as root) unless the first step is `nopriv`.
 *
 * After every step the debug build's invariant checker runs; a violation throws out of runUffdlab.
 */
import { Kernel, CAP_SYS_PTRACE } from "../kernel.js";
import type { Thread } from "../thread.js";
import { DeadlockError } from "../errors.js";
import { clean } from "./format.js";
import { Bad, MAX_BINDINGS, MAX_THREADS, MAX_TOKENS, NAME_RE, Runner, type Arg, type ArgsHandler, type TokensHandler } from "./runner.js";
import { VERBS, verb } from "./verbs.js";
import { mmVerbs } from "./mm.js";
import { pipeVerbs } from "./pipes.js";
import { uffdVerbs } from "./uffd.js";
import { threadAccess, threadVerbs } from "./threads.js";
import { kvmVerbs } from "./kvm.js";

export { SELF_BASE, SELF_END, SELF_RANGES, STACK_TOP, WAIT_TURNS } from "./runner.js";

const HANDLERS = new Map<string, ArgsHandler | TokensHandler>(Object.entries({ ...mmVerbs, ...pipeVerbs, ...uffdVerbs, ...threadVerbs, ...kvmVerbs }));
for (const v of VERBS) if (!HANDLERS.has(v.name)) throw new Error(`conform: verb ${v.name} has no handler`);
for (const n of HANDLERS.keys()) if (!verb(n)) throw new Error(`conform: handler ${n} is not in the verb table`);

export interface UffdlabRunOptions {
  /** Simulated memory for the kernel (default 64 MiB). */
  memoryBytes?: number;
  /** Run the invariant checker after every step (default true). */
  checkEveryStep?: boolean;
  /** Kernel.boot's zeroPage (default true): false mirrors a host with the zero page off (native.ts hostZeroPage). */
  zeroPage?: boolean;
}

/**
 * What runUffdlab throws when running a scenario throws (a Wasm trap, an invariant violation, a
 * runner bug): the step that was running (-1: before the first), its text, and the lines before it.
 */
export class UffdlabStepError extends Error {
  constructor(readonly step: number, readonly text: string | undefined, readonly lines: string[], override readonly cause: unknown) {
    const why = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`uffdlab threw ${step < 0 ? "before the first step" : `at step ${step} (${text})`}: ${why}`);
    this.name = "UffdlabStepError";
  }
}

/**
 * Run the steps on a fresh uffdlab kernel (debug build); one result line per step (comments and
 * blank lines excluded). Anything thrown on the way comes out as an UffdlabStepError.
 */
export async function runUffdlab(lines: string[], opts: UffdlabRunOptions = {}): Promise<string[]> {
  const steps = lines.map((l) => l.replace(/\r$/, "")).filter((l) => !/^[ \t]*(#|$)/.test(l));
  const pos = { step: -1, out: [] as string[] };
  try {
    return await runSteps(steps, opts, pos);
  } catch (e) {
    throw new UffdlabStepError(pos.step, steps[pos.step], pos.out.slice(0, Math.max(pos.step, 0)), e);
  }
}

async function runSteps(steps: string[], opts: UffdlabRunOptions, pos: { step: number; out: string[] }): Promise<string[]> {
  const k = await Kernel.boot({ memoryBytes: opts.memoryBytes ?? 64 << 20, build: "debug", zeroPage: opts.zeroPage });
  const first = steps[0]?.trim().split(/[ \t]+/)[0];
  const p = k.spawn(first === "nopriv" ? {} : { caps: CAP_SYS_PTRACE });
  const r = new Runner(k, p);
  const out = pos.out;
  const check = (i: number) => {
    if (opts.checkEveryStep === false && i < steps.length - 1) return;
    try {
      if (!k.checkInvariants()) throw new Error("the debug build has no invariant checker");
    } catch (e) {
      const trace = steps.slice(0, i + 1).map((s, j) => `  ${s}  →  ${out[j]}`).join("\n");
      throw new Error(`uffdlab: ${(e as Error).message} after step ${i} (${steps[i]})\n${trace}`);
    }
  };
  if (!steps.some((s) => /^[ \t]*(tfault|tioctl|tsys)[ \t]/.test(s))) {
    for (let i = 0; i < steps.length; i++) {
      pos.step = i;
      out.push(await step(r, steps[i]));
      check(i);
    }
    r.reap();
    return out;
  }
  // with extra threads: under the deterministic scheduler
  const main = p.newThread();
  r.t = main;
  let finished = false;
  for (let i = 0; i < MAX_THREADS; i++) {
    r.threads.push({ name: "", thread: p.newThread(), go: false, done: false, addr: 0, write: false, byte: 0,
      where: { v: 0n, named: false, base: "", basev: 0n }, result: "" });
  }
  const bodies: [Thread, (t: import("../sched/scheduler.js").AsyncThread) => Promise<void>][] = [
    [main, async (at) => {
      r.wait = () => at.yield();
      r.threaded = true;
      try {
        for (let i = 0; i < steps.length; i++) {
          pos.step = i;
          out.push(await step(r, steps[i]));
          check(i);
        }
      } finally {
        finished = true;
      }
    }],
  ];
  for (const f of r.threads) {
    bodies.push([f.thread, async (at) => {
      for (;;) {
        while (!f.go && !finished) await at.yield();
        if (!f.go) return;
        f.result = await threadAccess(r, at, f);
        f.go = false;
        f.done = true;
      }
    }]);
  }
  try {
    await k.run(1, bodies);
  } catch (e) {
    // threads still waiting for a userfault when the steps ran out: the host's child just exits
    if (!(e instanceof DeadlockError && finished)) throw e;
  }
  r.reap();
  return out;
}

/** One step → one result line (the oracle's run_line). */
async function step(u: Runner, line: string): Promise<string> {
  u.stepsRun++;
  try {
    return await run(u, line);
  } catch (e) {
    if (e instanceof Bad) return e.line;
    throw e;
  }
}

async function run(u: Runner, line: string): Promise<string> {
  const tok = line.split(/[ \t]+/).filter((t) => t !== "");
  if (tok.length > MAX_TOKENS) return `bad too many tokens (at most ${MAX_TOKENS})`;
  const def = verb(tok[0]);
  if (!def) return `bad unknown op '${clean(tok[0])}'`;
  const handler = HANDLERS.get(def.name)!;
  if (def.parse === "tokens") {
    if (tok.length - 1 < def.min) return "bad wrong argument count";
    return (handler as TokensHandler)(u, tok);
  }
  const { min, max, names: maxNames } = def;
  const args: string[] = [];
  const names: string[] = [];
  let i = 1;
  for (; i < tok.length && tok[i] !== "as"; i++) args.push(tok[i]);
  if (i < tok.length) {
    for (i++; i < tok.length; i++) {
      if (names.length === maxNames) return `bad ${tok[0]} binds at most ${maxNames} name(s)`;
      names.push(tok[i]);
    }
    if (names.length === 0) return "bad 'as' without a name";
  }
  if (args.length < min || args.length > max) {
    return min === max ? `bad ${tok[0]} takes ${min} argument(s), got ${args.length}` : `bad ${tok[0]} takes ${min} to ${max} arguments, got ${args.length}`;
  }
  let fresh = 0;
  for (const n of names) {
    if (!NAME_RE.test(n)) return `bad invalid name '${clean(n)}'`;
    if (!u.names.has(n)) fresh++;
  }
  if (u.names.size + fresh > MAX_BINDINGS) return `bad too many names (at most ${MAX_BINDINGS})`;
  const a: Arg[] = [];
  for (let j = 0; j < args.length; j++) a.push(def.mname && j === 0 ? { v: 0n, named: false, base: "", basev: 0n } : u.arg(args[j]));
  return (handler as ArgsHandler)(u, { op: tok[0], a, x: a.map((y) => y.v), raw: args, names });
}
