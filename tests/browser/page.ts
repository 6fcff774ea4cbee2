// Browser entry for tests/browser/browser.test.ts: runs the host in async mode on a page's
// main thread (no workers, no Atomics.wait) and publishes what happened as JSON in
// window.__uffdlab_result and in <pre id="result">. Bundled at test time by esbuild (platform
// browser, no externals) from the package as a user imports it: `uffdlab` resolves to
// dist/browser.js through the package's `browser` export condition. The test does the asserting.
import { Kernel, SegmentationFault, SignalError, loadKernelModule, abi as A, type AsyncThread } from "uffdlab";

/** Iterations per thread body; each is three scheduling points. */
const ITER = 12;
const SEEDS = { same: 7, other: 8 } as const;

export interface RunResult {
  seed: number;
  schedule: number[];
  tids: number[];
  /** the racy shared counter after the run */
  counter: number;
  /** each thread's private log (tid -> values, in order) */
  logs: Record<number, number[]>;
  ms: number;
}

export interface PageResult {
  ok: boolean;
  error?: { name: string; message: string; stack?: string };
  env: {
    userAgent: string;
    crossOriginIsolated: boolean;
    sharedArrayBufferGlobal: boolean;
    memoryBufferTag?: string;
    hardwareConcurrency: number;
    atomicsWaitOnMainThread?: string;
  };
  iter: number;
  runs: RunResult[];
  segv?: { sync: SignalInfo; async: SignalInfo };
  invariants?: boolean;
  /** the loader: the bundled kernels (both builds), a kernel fetched by URL, and a URL that is not there */
  loadKernelModule?: { bundled: boolean[]; byUrl: boolean; missing: string };
  stats?: Record<string, number>;
  maps?: string;
  timings: Record<string, number>;
}

interface SignalInfo {
  caught: boolean;
  isSegmentationFault: boolean;
  isSignalError: boolean;
  name?: string;
  signo?: number;
  si_code?: number;
  addr?: number;
  expectedAddr: number;
  message?: string;
}

const PAGE = 4096;
const RW = A.PROT_READ | A.PROT_WRITE;
const ANON = A.MAP_PRIVATE | A.MAP_ANONYMOUS;

function errInfo(e: unknown) {
  return e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : { name: "non-Error", message: String(e) };
}

function signalInfo(e: unknown, expectedAddr: number): SignalInfo {
  if (e === undefined) return { caught: false, isSegmentationFault: false, isSignalError: false, expectedAddr };
  const s = e as Partial<SignalError>;
  return {
    caught: true,
    isSegmentationFault: e instanceof SegmentationFault,
    isSignalError: e instanceof SignalError,
    name: s.name,
    signo: s.signo,
    si_code: s.si_code,
    addr: s.addr,
    expectedAddr,
    message: s.message,
  };
}

/**
 * A racy counter bump (load, store load+1: the schedule decides which bumps are lost)
 * plus a private log (schedule-independent contents).
 */
function body(counter: number, log: number) {
  return async (t: AsyncThread): Promise<void> => {
    for (let n = 0; n < ITER; n++) {
      const v = await t.load32(counter);
      await t.store32(counter, v + 1);
      await t.store32(log + 4 * n, (t.tid << 16) | n);
    }
  };
}

function publish(r: PageResult): void {
  window.__uffdlab_result = r;
  const pre = document.getElementById("result") ?? document.body.appendChild(document.createElement("pre"));
  pre.id = "result";
  pre.textContent = JSON.stringify(r, null, 2);
}

async function main(): Promise<PageResult> {
  const timings: Record<string, number> = {};
  const t0 = performance.now();
  const lap = (name: string, since: number) => (timings[name] = Math.round((performance.now() - since) * 100) / 100);

  const r: PageResult = {
    ok: false,
    env: {
      userAgent: navigator.userAgent,
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
      sharedArrayBufferGlobal: typeof SharedArrayBuffer !== "undefined",
      hardwareConcurrency: navigator.hardwareConcurrency,
    },
    iter: ITER,
    runs: [],
    timings,
  };
  try {
    let t = performance.now();
    const resp = await fetch("/build/uffdlab.debug.wasm");
    if (!resp.ok) throw new Error(`GET /build/uffdlab.debug.wasm: ${resp.status}`);
    const module = await WebAssembly.compile(await resp.arrayBuffer());
    lap("fetchCompile", t);

    t = performance.now();
    const k = await Kernel.boot({ module, memoryBytes: 32 << 20 });
    lap("boot", t);
    r.env.memoryBufferTag = Object.prototype.toString.call(k.memory.buffer);
    // Atomics.wait must throw on a window's main thread: the reason the async mode exists.
    try {
      Atomics.wait(new Int32Array(k.memory.buffer as ArrayBuffer, 0, 1), 0, 12345, 0);
      r.env.atomicsWaitOnMainThread = "returned";
    } catch (e) {
      r.env.atomicsWaitOnMainThread = `threw ${(e as Error).name}`;
    }

    const p = k.spawn();
    const t2 = p.newThread();
    const threads = [p.thread, t2];

    const oneRun = async (seed: number): Promise<RunResult> => {
      // A fresh region per run, so each run's memory is explained by its own schedule.
      const a = p.mmap(0, 2 * PAGE, RW, ANON);
      const logBase = (i: number) => a + 64 + i * 4 * ITER;
      const s = performance.now();
      const schedule = await k.run(seed, threads.map((th, i) => [th, body(a, logBase(i))]));
      const ms = Math.round((performance.now() - s) * 100) / 100;
      const logs: Record<number, number[]> = {};
      threads.forEach((th, i) => (logs[th.tid] = Array.from({ length: ITER }, (_, n) => p.thread.load32(logBase(i) + 4 * n))));
      return { seed, schedule, tids: threads.map((th) => th.tid), counter: p.thread.load32(a), logs, ms };
    };
    t = performance.now();
    r.runs.push(await oneRun(SEEDS.same));
    r.runs.push(await oneRun(SEEDS.same));
    r.runs.push(await oneRun(SEEDS.other));
    lap("runs", t);

    // SIGSEGV, synchronously: a load from an unmapped page (SEGV_MAPERR).
    const hole = p.mmap(0, PAGE, RW, ANON);
    p.munmap(hole, PAGE);
    let caught: unknown;
    try {
      p.thread.load32(hole + 8);
    } catch (e) {
      caught = e;
    }
    const sync = signalInfo(caught, hole + 8);
    // ...and from an async body under the scheduler: a store to a read-only page
    // (SEGV_ACCERR) rejects k.run with it.
    const ro = p.mmap(0, PAGE, A.PROT_READ, ANON);
    caught = undefined;
    try {
      await k.run(SEEDS.same, [[p.thread, async (th) => { await th.load32(ro); await th.store32(ro + 16, 1); }]]);
    } catch (e) {
      caught = e;
    }
    r.segv = { sync, async: signalInfo(caught, ro + 16) };

    t = performance.now();
    r.invariants = k.checkInvariants();
    lap("checkInvariants", t);

    const missing = await loadKernelModule("debug", "/build/no-such.wasm").then(() => "loaded", (e: Error) => e.message);
    r.loadKernelModule = {
      bundled: [(await loadKernelModule("debug")) instanceof WebAssembly.Module, (await loadKernelModule("release")) instanceof WebAssembly.Module],
      byUrl: (await loadKernelModule("debug", "/build/uffdlab.debug.wasm")) instanceof WebAssembly.Module,
      missing,
    };

    r.stats = { ...k.stats() };
    r.maps = p.maps();
    r.ok = true;
  } catch (e) {
    r.error = errInfo(e);
  }
  lap("total", t0);
  return r;
}

main().then(publish, (e) => publish({ ok: false, error: errInfo(e), env: {} as PageResult["env"], iter: ITER, runs: [], timings: {} }));
