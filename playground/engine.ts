// The playground's scenario engine: one userfaultfd scenario (memory type × registration mode ×
// handler strategy × threads × region size × seed) run under the deterministic scheduler, with
// everything the page shows — page states, decoded messages, latencies, counters, the schedule
// and a digest of the final memory. It imports only uffdlab's public API, so the same module runs
// in Node (tests/unit/playground-engine.test.ts) and in the page (dist/browser.js), and the same
// scenario gives the same result in both. Threads are async (the deterministic scheduler) or
// workers (runInWorker: Web Workers in the page, worker threads in Node; playground/faulter.js
// runs there while the handler serves them from the main thread, polling and yielding).
import { Kernel, Kvm, Scheduler, SignalError, FillError, CAP_SYS_PTRACE, PM_PRESENT, runInWorker, mulberry32, abi as A } from "../host-ts/index.js";
import type { Process, Thread, Userfaultfd, AsyncThread, UffdMsg, Build, WorkerScript } from "../host-ts/index.js";

export type MemoryType = "anon" | "shmem" | "guest_memfd";
export type Mode = "missing" | "minor" | "wp";
export type Strategy = "copy" | "reap" | "continue" | "wp-dirty";
export type ThreadMode = "async" | "workers";

export interface Scenario {
  memory: MemoryType;
  mode: Mode;
  strategy: Strategy;
  threadMode: ThreadMode;
  /** Faulting threads (the handler is one more). */
  threads: number;
  /** Region size in pages. */
  pages: number;
  /** Distinct pages the threads access (the working set), chosen by the seed. */
  touches: number;
  /** Seeds the working set, the accesses, the snapshot and the schedule. */
  seed: number;
  /** Percent of accesses that are writes. */
  writePercent: number;
  /** MISSING strategies: percent of snapshot pages that are holes, served with UFFDIO_ZEROPAGE. */
  zeroPercent: number;
  /** MISSING strategies: percent of snapshot pages that are lost, served with UFFDIO_POISON (SIGBUS). */
  poisonPercent: number;
  /** REAP: pages of the recorded working set prefetched with each batch. */
  prefetch: number;
}

export const DEFAULT_SCENARIO: Scenario = {
  memory: "anon", mode: "missing", strategy: "copy", threadMode: "async", threads: 4, pages: 4096, touches: 256,
  seed: 1, writePercent: 25, zeroPercent: 10, poisonPercent: 0, prefetch: 8,
};

export const LIMITS = { threads: [1, 8], pages: [1, 1 << 20], touches: [1, 16384], percent: [0, 100], prefetch: [0, 64] } as const;

export const STRATEGY_MODE: Record<Strategy, Mode> = { copy: "missing", reap: "missing", continue: "minor", "wp-dirty": "wp" };

export const STRATEGY_NAMES: Record<Strategy, string> = {
  copy: "eager UFFDIO_COPY per fault",
  reap: "REAP: batched COPY (DONTWAKE) + one WAKE",
  continue: "MINOR + UFFDIO_CONTINUE",
  "wp-dirty": "write-protect dirty tracking",
};

/**
 * What the Web Workers mode reproduces and what it does not (shown beside the choice). The seed
 * fixes the working set, each thread's accesses and the snapshot, not the interleaving: the
 * threads run for real and the handler polls.
 */
export const WORKERS_NOTE =
  "Web Workers: each faulting thread runs in its own worker and blocks for real in its userfaults; the handler polls " +
  "the userfaultfd on the page's main thread. The seed fixes the working set, the accesses and the snapshot, not the " +
  "interleaving: the final page map and memory digest equal the async run's; message and EEXIST counts, the log's " +
  "order and the latencies (in µs, not turns) vary from run to run. Step and pause need the async scheduler.";

/** What a Web Workers run reproduces of a strategy (equal to the async run of the same scenario). */
export const WORKERS_REPRODUCIBLE: Record<Strategy, string> = {
  copy: "the page map, the memory digest, the fills (COPY, ZEROPAGE, POISON), SIGBUS and the pages that faulted; " +
    "not how many threads faulted on one page before its fill (messages, EEXIST, WAKE)",
  reap: "the page map, the memory digest, the fills and SIGBUS; not the faults: how many pages the prefetch filled " +
    "before their first access depends on timing",
  continue: "the page map, the memory digest, the CONTINUEs and the pages that faulted; not how many threads faulted " +
    "on one page before its CONTINUE (messages, EEXIST, WAKE)",
  "wp-dirty": "everything but the order: the page map, the digest, the dirty pages and every message (one write-protect " +
    "fault per page written)",
};

/** The data playground/faulter.js gets: the region and one thread's accesses. */
export interface FaulterData { region: number; accesses: Access[] }
/** What playground/faulter.js returns. */
export interface FaulterResult { sigbus: number; latenciesUs: number[] }
/** The worker script's URL (Vite emits it beside the page; in Node it is the file itself). */
export const FAULTER_URL = new URL("./faulter.js", import.meta.url);
// The script's shape, checked against uffdlab's worker contract (no runtime cost).
export type FaulterScript = WorkerScript<FaulterData, FaulterResult>;

/** What is wrong with a scenario, one sentence each; [] when it can run. */
export function validate(s: Scenario): string[] {
  const out: string[] = [];
  const int = (name: string, v: number, [lo, hi]: readonly [number, number]) => {
    if (!Number.isInteger(v) || v < lo || v > hi) out.push(`${name} must be an integer in [${lo}, ${hi}], got ${v}.`);
  };
  int("threads", s.threads, LIMITS.threads);
  int("pages", s.pages, LIMITS.pages);
  int("touches", s.touches, LIMITS.touches);
  int("writePercent", s.writePercent, LIMITS.percent);
  int("zeroPercent", s.zeroPercent, LIMITS.percent);
  int("poisonPercent", s.poisonPercent, LIMITS.percent);
  int("prefetch", s.prefetch, LIMITS.prefetch);
  if (!Number.isInteger(s.seed) || s.seed < 0 || s.seed > 0xffffffff) out.push(`seed must be an integer in [0, 4294967295], got ${s.seed}.`);
  if (Number.isInteger(s.touches) && Number.isInteger(s.pages) && s.touches > s.pages) out.push(`touches (${s.touches}) cannot exceed the region's ${s.pages} pages.`);
  if (s.zeroPercent + s.poisonPercent > 100) out.push("zeroPercent + poisonPercent cannot exceed 100.");
  if (!(s.memory in { anon: 1, shmem: 1, guest_memfd: 1 })) out.push(`unknown memory type ${String(s.memory)}.`);
  if (!(s.strategy in STRATEGY_MODE)) out.push(`unknown strategy ${String(s.strategy)}.`);
  else if (STRATEGY_MODE[s.strategy] !== s.mode) {
    const why: Record<Strategy, string> = {
      copy: "UFFDIO_COPY fills missing pages: it serves MISSING faults",
      reap: "REAP's batched UFFDIO_COPY fills missing pages: it serves MISSING faults",
      continue: "UFFDIO_CONTINUE maps a page the page cache already holds: it serves MINOR faults",
      "wp-dirty": "dirty tracking resolves write-protect faults: it needs mode WP",
    };
    out.push(`${why[s.strategy]}; choose mode ${STRATEGY_MODE[s.strategy].toUpperCase()} (or another strategy).`);
  }
  if (s.mode === "minor" && s.memory === "anon") {
    out.push("MINOR faults need a page cache: UFFDIO_REGISTER_MODE_MINOR on private anonymous memory fails with EINVAL (use shmem or guest_memfd).");
  }
  if (s.threadMode !== "async" && s.threadMode !== "workers") out.push(`unknown thread mode ${String(s.threadMode)}.`);
  else if (s.threadMode === "workers" && !workersAvailable()) {
    out.push("Web Workers share the kernel's memory only on a cross-origin isolated page (COOP same-origin, COEP require-corp): " +
      "`uffdlab serve` sends both; here, use async threads.");
  }
  return out;
}

/** Whether runInWorker can run here: Node, or a cross-origin isolated page. */
export function workersAvailable(): boolean {
  const g = globalThis as { crossOriginIsolated?: boolean; process?: { versions?: { node?: string } } };
  return g.crossOriginIsolated === true || typeof g.process?.versions?.node === "string";
}

/** The scheduler's generator: the same seed gives the same choices everywhere. */
export const prng = mulberry32;

/** The byte every snapshot page is filled with (never 0, so a copied page is not a zero page). */
export function contentByte(seed: number, page: number): number {
  return (Math.imul((page + 1) ^ seed, 0x9e3779b1) >>> 24) % 255 + 1;
}

/** FNV-1a 64 over bytes, continued from `h` (hex in, hex out: 16 digits). */
export class Fnv64 {
  private lo = 0x84222325;
  private hi = 0xcbf29ce4;
  update(b: Uint8Array): this {
    let lo = this.lo, hi = this.hi;
    for (let i = 0; i < b.length; i++) {
      lo ^= b[i];
      const m = lo * 0x1b3; // (hi:lo) × (2^40 + 0x1b3) mod 2^64
      const carry = Math.floor(m / 4294967296);
      hi = (Math.imul(hi, 0x1b3) + (lo << 8) + carry) >>> 0;
      lo = m >>> 0;
    }
    this.lo = lo;
    this.hi = hi;
    return this;
  }
  hex(): string { return this.hi.toString(16).padStart(8, "0") + this.lo.toString(16).padStart(8, "0"); }
}

export type SnapshotKind = "data" | "zero" | "poison";

/** One access of a faulting thread. */
export interface Access { page: number; write: boolean }

/** What the seed decides before anything runs: the working set, each thread's accesses, the snapshot. */
export interface Plan {
  /** The working set in recorded order (the order REAP prefetches in). */
  order: number[];
  /** Pages outside the working set that start populated (MINOR: in the page cache; WP: mapped). */
  extras: number[];
  accesses: Access[][];
  snapshot: Map<number, SnapshotKind>;
  /** The byte offset in its page each access uses. */
  offset: (page: number) => number;
}

export function plan(s: Scenario): Plan {
  const r = prng(s.seed ^ 0x5eed);
  const want = Math.min(s.pages, s.touches + (s.strategy === "continue" || s.strategy === "wp-dirty" ? Math.ceil(s.touches / 4) : 0));
  // A partial Fisher–Yates over the region, sparse so that a 1M-page region costs only what it picks.
  const swapped = new Map<number, number>();
  const picked: number[] = [];
  for (let i = 0; i < want; i++) {
    const j = i + Math.floor(r() * (s.pages - i));
    const vi = swapped.get(i) ?? i, vj = swapped.get(j) ?? j;
    swapped.set(j, vi);
    picked.push(vj);
  }
  const order = picked.slice(0, s.touches);
  const extras = picked.slice(s.touches).sort((a, b) => a - b);
  const accesses: Access[][] = Array.from({ length: s.threads }, () => []);
  order.forEach((page, i) => {
    const t = i % s.threads;
    accesses[t].push({ page, write: r() * 100 < s.writePercent });
    // Now and then another thread touches the same page too: two faults, one fill (EEXIST).
    if (s.threads > 1 && r() < 0.125) accesses[(t + 1) % s.threads].push({ page, write: false });
  });
  const snapshot = new Map<number, SnapshotKind>();
  for (const page of order) {
    const x = r() * 100;
    snapshot.set(page, x < s.poisonPercent ? "poison" : x < s.poisonPercent + s.zeroPercent ? "zero" : "data");
  }
  return { order, extras, accesses, snapshot, offset: (page) => (page * 64) & 0xfff };
}

export const PAGE_STATES = ["missing", "zero", "present", "in page cache", "write-protected", "poisoned"] as const;
export type PageStateName = (typeof PAGE_STATES)[number];

export type Counters = {
  faults: number; copies: number; zeropages: number; continues: number; poisons: number; wpResolves: number;
  wakes: number; eexist: number; eagain: number; sigbus: number; accesses: number; kernelFaults: number; turns: number;
};

/** One line of the message log: a decoded uffd_msg and what the handler did with it. */
export interface LogEntry {
  seq: number;
  /** Scheduler turn the handler read it in (Web Workers: milliseconds since the start). */
  turn: number;
  kind: UffdMsg["event"];
  /** PAGEFAULT flags, decoded: "read", "write", "wp", "minor" (joined by "|"). */
  flags: string;
  address: number;
  page: number;
  /** The faulting thread (UFFD_FEATURE_THREAD_ID). */
  tid: number;
  action: string;
}

export interface ThreadView { tid: number; role: "faulter" | "handler"; state: string; doing: string }
export interface TurnView { turn: number; pick: number; threads: ThreadView[] }

/**
 * A latency histogram: async threads in scheduler turns, from an access's first turn to its
 * completion (`immediate`: no wait); Web Workers in microseconds of wall time per access.
 */
export interface Histogram { unit: "turns" | "µs"; bounds: number[]; counts: number[]; immediate: number }
/** Bucket upper bounds (turns): 1, 2, 4, 8, ... */
const BOUNDS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, Infinity];
/** Bucket upper bounds (µs): decades. */
const BOUNDS_US = [10, 100, 1000, 10_000, 100_000, 1_000_000, Infinity];

export interface RunResult {
  scenario: Scenario;
  build: Build;
  region: number;
  /** Page states at the end, counted by PAGE_STATES name. */
  pageCounts: Record<PageStateName, number>;
  counters: Counters;
  /** Messages by kind, and PAGEFAULTs by flags. */
  messageCounts: Record<string, number>;
  /** Distinct pages that raised at least one PAGEFAULT message. */
  faultedPages: number;
  histogram: Histogram;
  /** FNV-1a 64 of every mapped page (index, then bytes), ascending: the final memory. */
  digest: string;
  /** Pages the WP handler saw written (dirty), ascending. */
  dirty: number[];
  /** tids in turn order (async threads; [] for Web Workers, which no scheduler orders). */
  schedule: number[];
  log: LogEntry[];
  /** Threads and their roles. */
  threads: { tid: number; role: "faulter" | "handler" }[];
}

export interface RunHooks {
  /**
   * Async threads: before each turn is granted. Web Workers: between the handler's polls (its
   * `turn` is then the milliseconds since the start). Awaited (step mode, repaint); throwing
   * aborts the run (Web Workers are terminated).
   */
  turn?(view: TurnView): void | Promise<void>;
  /** Each message as the handler deals with it. */
  message?(entry: LogEntry): void;
}

const PAGE = 4096;

/** A scenario set up in a fresh kernel, ready to run (once). */
export class Playground {
  readonly plan: Plan;
  readonly log: LogEntry[] = [];
  readonly counters: Counters = {
    faults: 0, copies: 0, zeropages: 0, continues: 0, poisons: 0, wpResolves: 0, wakes: 0, eexist: 0, eagain: 0,
    sigbus: 0, accesses: 0, kernelFaults: 0, turns: 0,
  };
  readonly latencies: number[] = [];
  /** What each thread is doing (its current operation), for the step view. */
  private readonly doing = new Map<number, string>();
  private readonly asyncThreads = new Map<number, AsyncThread>();
  private readonly dirty = new Set<number>();
  private readonly filled = new Set<number>();
  private sched: Scheduler | null = null;
  /** Web Workers: performance.now() at the start, and the threads' states. */
  private t0 = -1;
  private readonly workerState = new Map<number, string>();
  private ran = false;
  private faultsAtStart = 0;

  private constructor(readonly scenario: Scenario, readonly kernel: Kernel, readonly proc: Process, readonly uffd: Userfaultfd,
    readonly region: number, readonly src: number, readonly observer: Thread, readonly faulters: Thread[], readonly handler: Thread) {
    this.plan = plan(scenario);
  }

  /** Boot a kernel and set the scenario up: the region, its population, the registration. Throws on an invalid scenario. */
  static async setup(s: Scenario, opts: { build?: Build } = {}): Promise<Playground> {
    const bad = validate(s);
    if (bad.length) throw new RangeError(`invalid scenario: ${bad.join(" ")}`);
    const p0 = plan(s);
    const populated = p0.order.length + p0.extras.length;
    // Kernel memory: a base, room for the populated pages twice over (a page and its source or
    // cache copy) with slack, and a page table per 512 pages of region in the worst case.
    const memoryBytes = Math.min(0xffff0000, (48 << 20) + Math.ceil(populated * 1.25) * PAGE * 2 + Math.ceil(s.pages / 512) * PAGE * 2);
    const build = opts.build ?? "release";
    const k = await Kernel.boot({ memoryBytes, build });
    const p = k.spawn({ caps: CAP_SYS_PTRACE });
    const len = s.pages * PAGE;
    const RW = A.PROT_READ | A.PROT_WRITE;
    let region: number;
    let alias = 0;
    if (s.memory === "anon") {
      region = p.mmap(0, len, RW, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
    } else if (s.memory === "shmem") {
      const fd = p.memfdCreate("playground");
      p.ftruncate(fd, len);
      region = p.mmap(0, len, RW, A.MAP_SHARED, fd, 0);
      if (s.mode === "minor") alias = p.mmap(0, len, RW, A.MAP_SHARED, fd, 0);
    } else {
      const vm = Kvm.open(p).createVm();
      const gmem = vm.createGuestMemfd(len, A.GUEST_MEMFD_FLAG_MMAP | A.GUEST_MEMFD_FLAG_INIT_SHARED);
      region = gmem.mmap(len);
      if (s.mode === "minor") alias = gmem.mmap(len);
    }
    const src = p.mmap(0, PAGE, RW, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
    const t = p.thread;
    // Populate: MINOR — the page cache holds the snapshot (written through an unregistered
    // mapping); WP — the pages are mapped with their contents before protection.
    if (s.mode === "minor" || s.mode === "wp") {
      const base = s.mode === "minor" ? alias : region;
      for (const page of [...p0.order, ...p0.extras]) t.fill(base + page * PAGE, contentByte(s.seed, page), PAGE);
      if (alias) p.munmap(alias, len);
    }
    const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
    uffd.api(A.UFFD_FEATURE_THREAD_ID);
    const mode = s.mode === "missing" ? A.UFFDIO_REGISTER_MODE_MISSING : s.mode === "minor" ? A.UFFDIO_REGISTER_MODE_MINOR : A.UFFDIO_REGISTER_MODE_WP;
    uffd.register(region, len, mode);
    if (s.mode === "wp") uffd.writeProtect(region, len, A.UFFDIO_WRITEPROTECT_MODE_WP);
    const faulters = Array.from({ length: s.threads }, () => p.newThread());
    const handler = p.newThread();
    const pg = new Playground(s, k, p, uffd, region, src, p.newThread(), faulters, handler);
    pg.faultsAtStart = k.stats().faults;
    return pg;
  }

  /** The state of every page of the region, one PAGE_STATE_* byte each (index into PAGE_STATES). */
  states(): Uint8Array {
    return this.proc.pageStates(this.region, this.scenario.pages, this.observer);
  }

  /** What the threads are doing now (for step mode): state and the operation each is in. */
  view(pick = 0): TurnView {
    const threads: ThreadView[] = [];
    const role = (tid: number) => (tid === this.handler.tid ? "handler" : "faulter") as ThreadView["role"];
    for (const t of [...this.faulters, this.handler]) {
      const at = this.asyncThreads.get(t.tid);
      const state = at?.state ?? this.workerState.get(t.tid) ?? "not started";
      threads.push({ tid: t.tid, role: role(t.tid), state, doing: this.doing.get(t.tid) ?? "" });
    }
    return { turn: this.turns(), pick, threads };
  }

  /** Scheduler turns so far (Web Workers: whole milliseconds since the start). */
  private turns(): number {
    if (this.sched) return this.sched.trace.length;
    return this.t0 < 0 ? 0 : Math.floor(performance.now() - this.t0);
  }

  private async faulter(at: AsyncThread, accesses: Access[]): Promise<void> {
    this.asyncThreads.set(at.tid, at);
    for (const a of accesses) {
      const addr = this.region + a.page * PAGE + this.plan.offset(a.page);
      this.doing.set(at.tid, `${a.write ? "store8" : "load8"} page ${a.page} @${hex(addr)}`);
      // The op runs in its first turn and again after each wake: the latency is the turns between.
      let first = -1;
      const th = at.thread;
      try {
        await at.op(() => {
          if (first < 0) first = this.turns();
          return a.write ? th.store8(addr, 0xa5 ^ (at.tid & 0xff)) : th.load8(addr);
        });
      } catch (e) {
        if (!(e instanceof SignalError)) throw e;
        this.counters.sigbus++;
      }
      this.counters.accesses++;
      this.latencies.push(this.turns() - first);
    }
    this.doing.set(at.tid, "done");
  }

  private record(msg: UffdMsg, action: string): LogEntry {
    const pf = msg.event === "pagefault";
    const address = pf ? msg.address : msg.event === "remap" ? msg.from : msg.event === "remove" || msg.event === "unmap" ? msg.start : 0;
    const fl = pf ? msg.flags : 0n;
    const flags = pf
      ? [fl & A.UFFD_PAGEFAULT_FLAG_WRITE ? "write" : "read", fl & A.UFFD_PAGEFAULT_FLAG_WP ? "wp" : "", fl & A.UFFD_PAGEFAULT_FLAG_MINOR ? "minor" : ""]
          .filter(Boolean).join("|")
      : "";
    const e: LogEntry = {
      seq: this.log.length, turn: this.turns(), kind: msg.event, flags, address,
      page: Math.floor((address - this.region) / PAGE), tid: pf ? msg.ptid : 0, action,
    };
    this.log.push(e);
    return e;
  }

  /** One fill ioctl in its own turn; EEXIST / EAGAIN counted and returned as the errno name. */
  private async fill(at: HandlerCtx, what: string, f: () => bigint): Promise<"ok" | "EEXIST" | "EAGAIN"> {
    this.doing.set(at.tid, what);
    try {
      await at.op(f);
      return "ok";
    } catch (e) {
      if (e instanceof FillError && e.errno === A.EEXIST) { this.counters.eexist++; return "EEXIST"; }
      if (e instanceof FillError && e.errno === A.EAGAIN) { this.counters.eagain++; return "EAGAIN"; }
      throw e;
    }
  }

  /** Serve a page from the snapshot (COPY, ZEROPAGE or POISON); `mode` DONTWAKE for REAP. */
  private async serveMissing(at: HandlerCtx, page: number, dontwake: boolean): Promise<string> {
    const kind = this.plan.snapshot.get(page) ?? "zero";
    const dst = this.region + page * PAGE;
    const mode = dontwake ? 1 : 0; // UFFDIO_COPY_MODE_DONTWAKE, _ZEROPAGE_MODE_DONTWAKE, _POISON_MODE_DONTWAKE
    for (let attempt = 0; ; attempt++) {
      let r: "ok" | "EEXIST" | "EAGAIN";
      let name: string;
      if (kind === "data") {
        name = "COPY";
        r = await this.fill(at, `UFFDIO_COPY page ${page}${dontwake ? " (DONTWAKE)" : ""}`, () => {
          at.thread.fill(this.src, contentByte(this.scenario.seed, page), PAGE);
          return this.uffd.copy(dst, this.src, PAGE, mode);
        });
        if (r === "ok") this.counters.copies++;
      } else if (kind === "zero") {
        name = "ZEROPAGE";
        r = await this.fill(at, `UFFDIO_ZEROPAGE page ${page}`, () => this.uffd.zeropage(dst, PAGE, mode));
        if (r === "ok") this.counters.zeropages++;
      } else {
        name = "POISON";
        r = await this.fill(at, `UFFDIO_POISON page ${page}`, () => this.uffd.poison(dst, PAGE, mode));
        if (r === "ok") this.counters.poisons++;
      }
      if (r === "ok") this.filled.add(page);
      if (r === "EAGAIN" && attempt < 8) continue;
      if (r === "EEXIST" && !dontwake) {
        this.doing.set(at.tid, `UFFDIO_WAKE page ${page}`);
        await at.op(() => this.uffd.wake(dst, PAGE));
        this.counters.wakes++;
        return `${name} → EEXIST, WAKE`;
      }
      return r === "ok" ? name : `${name} → ${r}`;
    }
  }

  private async handle(at: HandlerCtx, done: () => boolean): Promise<void> {
    const s = this.scenario;
    let next = 0; // REAP: the next page of the recorded order to prefetch
    for (;;) {
      this.doing.set(at.tid, "read(uffd)");
      const msgs = await at.op(() => this.uffd.read(64));
      if (msgs.length === 0) {
        if (done()) break;
        await at.idle();
        continue;
      }
      const faults = msgs.filter((m): m is Extract<UffdMsg, { event: "pagefault" }> => m.event === "pagefault");
      this.counters.faults += faults.length;
      for (const m of msgs) if (m.event !== "pagefault") this.message(this.record(m, "ignored"));
      if (s.strategy === "reap") {
        // REAP: fill the faulted pages and the next pages of the recorded working set, none waking
        // anyone (DONTWAKE), then one UFFDIO_WAKE over the span of the faults.
        let lo = Infinity, hi = -Infinity;
        for (const m of faults) {
          const page = Math.floor((m.address - this.region) / PAGE);
          lo = Math.min(lo, page);
          hi = Math.max(hi, page);
          const action = this.filled.has(page) ? "prefetched; this batch's WAKE" : await this.serveMissing(at, page, true);
          this.message(this.record(m, action));
        }
        for (let n = 0; n < s.prefetch && next < this.plan.order.length; next++) {
          const page = this.plan.order[next];
          if (this.filled.has(page)) continue;
          await this.serveMissing(at, page, true);
          n++;
        }
        this.doing.set(at.tid, `UFFDIO_WAKE pages ${lo}–${hi}`);
        await at.op(() => this.uffd.wake(this.region + lo * PAGE, (hi - lo + 1) * PAGE));
        this.counters.wakes++;
        continue;
      }
      for (const m of faults) {
        const page = Math.floor((m.address - this.region) / PAGE);
        const dst = this.region + page * PAGE;
        let action: string;
        if (s.strategy === "copy") {
          action = await this.serveMissing(at, page, false);
        } else if (s.strategy === "continue") {
          const r = await this.fill(at, `UFFDIO_CONTINUE page ${page}`, () => this.uffd.continue(dst, PAGE));
          if (r === "ok") this.counters.continues++;
          if (r === "EEXIST") {
            await at.op(() => this.uffd.wake(dst, PAGE));
            this.counters.wakes++;
          }
          action = r === "ok" ? "CONTINUE" : `CONTINUE → ${r}${r === "EEXIST" ? ", WAKE" : ""}`;
        } else {
          this.dirty.add(page);
          this.doing.set(at.tid, `UFFDIO_WRITEPROTECT page ${page} (resolve)`);
          await at.op(() => this.uffd.writeProtect(dst, PAGE, 0));
          this.counters.wpResolves++;
          action = "dirty; WRITEPROTECT off";
        }
        this.message(this.record(m, action));
      }
    }
    this.doing.set(at.tid, "done");
  }

  private hooks: RunHooks = {};
  private message(e: LogEntry): void { this.hooks.message?.(e); }

  /** Run the scenario to the end. */
  async run(hooks: RunHooks = {}): Promise<RunResult> {
    if (this.ran) throw new Error("a Playground runs once: set up another");
    this.ran = true;
    this.hooks = hooks;
    const s = this.scenario;
    if (s.threadMode === "workers") {
      await this.runWorkers(hooks);
      return this.result();
    }
    const sched = new Scheduler(this.kernel, s.seed);
    this.sched = sched;
    if (hooks.turn) {
      const turn = hooks.turn;
      sched.onTurn = (pick) => turn(this.view(pick.tid));
    }
    let running = this.faulters.length;
    const bodies: [Thread, (t: AsyncThread) => Promise<void>][] = this.faulters.map((t, i) => [t, async (at) => {
      try { await this.faulter(at, this.plan.accesses[i]); } finally { running--; }
    }]);
    bodies.push([this.handler, (at) => {
      this.asyncThreads.set(at.tid, at);
      return this.handle({
        tid: at.tid, thread: at.thread, op: (f) => at.op(f),
        idle: async () => {
          this.doing.set(at.tid, "poll(uffd, POLLIN, 20 ms)");
          await at.op(() => this.proc.poll([{ fd: this.uffd.fd, events: A.POLLIN }], 20, at.thread));
        },
      }, () => running === 0);
    }]);
    await sched.run(bodies);
    return this.result();
  }

  /**
   * Web Workers: each faulter runs playground/faulter.js through runInWorker; the handler runs
   * here, on the main thread, which must not block: it reads the (O_NONBLOCK) userfaultfd, serves
   * what it read, and yields to the event loop when there is nothing to read.
   */
  private async runWorkers(hooks: RunHooks): Promise<void> {
    const ac = new AbortController();
    this.t0 = performance.now();
    let running = this.faulters.length;
    const errors: unknown[] = [];
    const workers = this.faulters.map((t, i) => {
      this.workerState.set(t.tid, "running");
      this.doing.set(t.tid, `${this.plan.accesses[i].length} accesses in a Web Worker`);
      const data: FaulterData = { region: this.region, accesses: this.plan.accesses[i] };
      return runInWorker<FaulterResult>(this.kernel, t, FAULTER_URL, data, { signal: ac.signal }).then((r) => {
        this.counters.sigbus += r.sigbus;
        this.counters.accesses += r.latenciesUs.length;
        for (const l of r.latenciesUs) this.latencies.push(l);
        this.doing.set(t.tid, "done");
      }, (e: unknown) => {
        errors.push(e);
        this.doing.set(t.tid, `failed: ${e instanceof Error ? e.message : String(e)}`);
        ac.abort(e);
      }).finally(() => {
        this.workerState.set(t.tid, "exited");
        running--;
      });
    });
    const tid = this.handler.tid;
    this.workerState.set(tid, "running");
    const yieldNow = () => new Promise<void>((r) => setTimeout(r, 0));
    try {
      await this.handle({
        tid, thread: this.handler, op: async (f) => f(),
        idle: async () => {
          this.doing.set(tid, "read(uffd) → EAGAIN; yield");
          if (hooks.turn) await hooks.turn(this.view());
          await yieldNow();
        },
      }, () => running === 0);
    } catch (e) {
      ac.abort(e);
      await Promise.all(workers);
      throw e;
    } finally {
      this.workerState.set(tid, "exited");
    }
    await Promise.all(workers);
    if (errors.length) throw errors[0];
  }

  private result(): RunResult {
    const s = this.scenario;
    const st = this.states();
    const pageCounts = Object.fromEntries(PAGE_STATES.map((n) => [n, 0])) as Record<PageStateName, number>;
    const h = new Fnv64();
    const idx = new Uint8Array(4);
    this.counters.kernelFaults = this.kernel.stats().faults - this.faultsAtStart;
    for (let i = 0; i < st.length; i++) {
      pageCounts[PAGE_STATES[st[i]] ?? "missing"]++;
      // Mapped pages only (a uffd-wp marker alone maps nothing: reading it would fault one in).
      const addr = this.region + i * PAGE;
      if (st[i] === A.PAGE_STATE_ZERO || st[i] === A.PAGE_STATE_PRESENT || (st[i] === A.PAGE_STATE_WP && this.proc.pagemap(addr) & PM_PRESENT)) {
        new DataView(idx.buffer).setUint32(0, i, true);
        h.update(idx).update(this.observer.read(addr, PAGE));
      }
    }
    const messageCounts: Record<string, number> = {};
    const faulted = new Set<number>();
    for (const e of this.log) {
      if (e.kind === "pagefault") faulted.add(e.page);
      const key = e.kind === "pagefault" ? `pagefault ${e.flags}` : e.kind;
      messageCounts[key] = (messageCounts[key] ?? 0) + 1;
    }
    this.counters.turns = this.sched?.trace.length ?? 0;
    const unit = s.threadMode === "workers" ? "µs" : "turns";
    if (this.kernel.build === "debug") this.kernel.checkInvariants();
    return {
      scenario: { ...s }, build: this.kernel.build, region: this.region, pageCounts, counters: { ...this.counters }, messageCounts, faultedPages: faulted.size,
      histogram: histogram(this.latencies, unit), digest: h.hex(), dirty: [...this.dirty].sort((a, b) => a - b),
      schedule: [...(this.sched?.trace ?? [])], log: [...this.log],
      threads: [...this.faulters.map((t) => ({ tid: t.tid, role: "faulter" as const })), { tid: this.handler.tid, role: "handler" as const }],
    };
  }
}

export function histogram(latencies: number[], unit: Histogram["unit"] = "turns"): Histogram {
  const bounds = unit === "µs" ? BOUNDS_US : BOUNDS;
  const counts = bounds.map(() => 0);
  let immediate = 0;
  for (const l of latencies) {
    if (l === 0 && unit === "turns") { immediate++; continue; }
    counts[bounds.findIndex((b) => l <= b)]++;
  }
  return { unit, bounds: bounds.map((b) => (b === Infinity ? -1 : b)), counts, immediate };
}

/**
 * The part of a run that does not depend on timing, for comparing a Web Workers run with the
 * async run of the same scenario (WORKERS_REPRODUCIBLE says it in words). Async runs are
 * reproducible whole: same seed, same schedule.
 */
export function reproducible(r: RunResult): Record<string, unknown> {
  const c = r.counters;
  const base = { digest: r.digest, pageCounts: r.pageCounts, sigbus: c.sigbus, accesses: c.accesses };
  switch (r.scenario.strategy) {
    case "copy": return { ...base, copies: c.copies, zeropages: c.zeropages, poisons: c.poisons, faultedPages: r.faultedPages };
    case "reap": return { ...base, copies: c.copies, zeropages: c.zeropages, poisons: c.poisons };
    case "continue": return { ...base, continues: c.continues, faultedPages: r.faultedPages };
    case "wp-dirty": return { ...base, dirty: r.dirty, messageCounts: r.messageCounts, faults: c.faults, wpResolves: c.wpResolves };
  }
}

/** The handler's view of its thread: async (each op its own scheduler turn) or the main thread (ops run at once). */
interface HandlerCtx {
  tid: number;
  thread: Thread;
  op<T>(f: () => T): Promise<T>;
  /** Nothing to read: wait for a message (poll under the scheduler; a yield to the event loop on the main thread). */
  idle(): Promise<void>;
}

export function hex(n: number): string { return "0x" + n.toString(16); }

/** Set up and run in one call (Node tests, the CLI). */
export async function runScenario(s: Scenario, opts: { build?: Build; hooks?: RunHooks } = {}): Promise<RunResult> {
  const pg = await Playground.setup(s, opts);
  return pg.run(opts.hooks);
}

