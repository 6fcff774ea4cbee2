// Scenario: the userfaultfd round trip, in each of uffdlab's thread modes.
//
// One operation = one round trip: a read of one byte of a never-touched page of a
// MISSING-registered private anonymous mapping → the fault queues a uffd_msg and the task
// waits → the handler read()s the message → UFFDIO_COPY of one page from a prepared source
// buffer (the ZEROPAGE row: UFFDIO_ZEROPAGE) wakes the task → the access is retried and
// completes. mmap + UFFDIO_REGISTER before a region and munmap after it are outside the
// timer; each timed batch is `uffdBatch` faults in a row. The host kernel does the same with
// the real userfaultfd in bench/native/uffd_bench.c.
//
//   sync           one JS thread: the faulting Thread's access calls its inline handler
//                  (Thread.onFault = () => uffd.serveAll(...)): the process's main thread reads
//                  the message and COPYs, and the access is retried inside the same load8 call
//   async threads  Kernel.run (the deterministic scheduler) with a faulter and a handler body
//   worker         the faulter is a worker thread (bench/uffd-worker.mjs, Atomics-waiting),
//                  the main thread handles with an O_NONBLOCK fd in a tight loop
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Kernel, Userfaultfd, runInWorker, abi as A, type Process, type Thread } from "../host-ts/index.js";
import { summarize, nowNs, warmUp, type Measured, type Params } from "./measure.js";

const PAGE = A.PAGE_SIZE;
const RW = A.PROT_READ | A.PROT_WRITE;
const ANON = A.MAP_PRIVATE | A.MAP_ANONYMOUS;
/** What COPY fills the pages with (the faulter checks every byte it reads). */
const PATTERN = 0x5a;

interface Setup {
  kernel: Kernel;
  proc: Process;
  uffd: Userfaultfd;
  src: number;
  regionBytes: number;
}

async function setup(p: Params): Promise<Setup> {
  if (p.uffdRegionPages % p.uffdBatch !== 0) throw new RangeError("uffdRegionPages must be a multiple of uffdBatch");
  const regionBytes = p.uffdRegionPages * PAGE;
  const kernel = await Kernel.boot({ build: "release", memoryBytes: 2 * regionBytes + (16 << 20) });
  const proc = kernel.spawn();
  const uffd = proc.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
  uffd.api();
  const src = proc.mmap(0, PAGE, RW, ANON);
  proc.thread.fill(src, PATTERN, PAGE);
  return { kernel, proc, uffd, src, regionBytes };
}

/** A fresh MISSING-registered region (untimed). */
function region(s: Setup): number {
  const a = s.proc.mmap(0, s.regionBytes, RW, ANON);
  s.uffd.register(a, s.regionBytes, A.UFFDIO_REGISTER_MODE_MISSING);
  return a;
}


function row(id: string, name: string, what: string, host: Measured["host"], batchNs: ArrayLike<number>, p: Params,
  messages: number, bad: number, faults: number, info: Record<string, number> = {}): Measured {
  return {
    id, name, what, host,
    uffdlab: summarize(batchNs, p.uffdBatch),
    checks: { messagesPerOp: messages / faults, badValues: bad, ...info },
    expect: { messagesPerOp: 1, badValues: 0 },
  };
}

// ---- sync: one JS thread ----

export async function uffdSync(p: Params, zeropage: boolean): Promise<Measured> {
  const s = await setup(p);
  const f = s.proc.newThread();
  const want = zeropage ? 0 : PATTERN;
  let messages = 0, bad = 0;
  const policy = zeropage ? { zeropage: true } : { copyFrom: s.src };
  f.onFault = () => void (messages += s.uffd.serveAll(policy));
  const touch = (t: Thread, addr: number): void => {
    if (t.load8(addr) !== want) bad++;
  };
  const one = (out: Float64Array | null, n: number): number => {
    const a = region(s);
    for (let b = 0; b < p.uffdRegionPages && (!out || n < out.length); b += p.uffdBatch) {
      const base = a + b * PAGE;
      const t0 = nowNs();
      for (let i = 0; i < p.uffdBatch; i++) touch(f, base + i * PAGE);
      if (out) out[n++] = nowNs() - t0;
    }
    s.proc.munmap(a, s.regionBytes);
    return n;
  };
  warmUp(p.warmupMs, () => void one(null, 0));
  messages = bad = 0;
  const batchNs = new Float64Array(p.uffdSamples);
  for (let n = 0; n < p.uffdSamples; ) n = one(batchNs, n);
  s.proc.exit();
  const fill = zeropage ? "UFFDIO_ZEROPAGE" : "UFFDIO_COPY of one page";
  return row(zeropage ? "uffd_roundtrip_sync_zeropage" : "uffd_roundtrip_sync",
    zeropage ? "uffd round trip (sync, ZEROPAGE)" : "uffd round trip (sync)",
    `Thread.load8 of a MISSING page calls Thread.onFault → Userfaultfd.serveAll reads the message → ${fill} → the load retried in the same call (one JS thread)`,
    zeropage ? "uffd_zeropage_same_cpu" : "uffd_copy_same_cpu", batchNs, p, messages, bad, p.uffdSamples * p.uffdBatch);
}

// ---- async threads: Kernel.run ----

export async function uffdAsync(p: Params): Promise<Measured> {
  const s = await setup(p);
  const f = s.proc.newThread();
  const h = s.proc.newThread();
  const hu = new Userfaultfd(s.proc, s.uffd.fd, h);
  let messages = 0, bad = 0, seed = 1;
  const policy = { copyFrom: s.src };
  const one = async (out: Float64Array | null, n: number): Promise<number> => {
    const a = region(s);
    let handled = 0;
    await s.kernel.run(seed++, [
      [f, async (t) => {
        for (let b = 0; b < p.uffdRegionPages; b += p.uffdBatch) {
          const base = a + b * PAGE;
          const t0 = nowNs();
          for (let i = 0; i < p.uffdBatch; i++) if ((await t.load8(base + i * PAGE)) !== PATTERN) bad++;
          const dt = nowNs() - t0;
          if (out && n < out.length) out[n++] = dt;
        }
      }],
      [h, async (t) => {
        while (handled < p.uffdRegionPages) {
          const k = hu.serveAll(policy);
          handled += k;
          if (k === 0) await t.yield();
        }
      }],
    ]);
    messages += handled;
    s.proc.munmap(a, s.regionBytes);
    return n;
  };
  const end = performance.now() + p.warmupMs;
  do await one(null, 0); while (performance.now() < end);
  messages = bad = 0;
  const batchNs = new Float64Array(p.uffdSamples);
  let regions = 0;
  for (let n = 0; n < p.uffdSamples; regions++) n = await one(batchNs, n);
  s.proc.exit();
  // Every page of a timed region faulted once, timed or not (the last region may be part-timed).
  return row("uffd_roundtrip_async", "uffd round trip (async threads)",
    "AsyncThread.load8 of a MISSING page parks its body under Kernel.run; a handler body's Userfaultfd.serveAll reads and COPYs one page; the load resumes",
    "uffd_copy_same_cpu", batchNs, p, messages, bad, regions * p.uffdRegionPages);
}

// ---- worker: the faulter in a worker thread, the main thread handling ----

/** Empty reads in a row before the handler naps, and the nap (Atomics.wait timeout). */
/** How long the handler spins on empty reads before it naps (µs; a time, not a count: an empty read is ~0.1 µs). */
const HANDLER_SPIN_US = 250;
const HANDLER_NAP_MS = 0.02;

/** bench/uffd-worker.mjs, from bench/ (sources) or from dist/cli.js (bundled). */
function workerScript(): string | null {
  for (const rel of ["./uffd-worker.mjs", "../bench/uffd-worker.mjs"]) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  return null;
}

export async function uffdWorker(p: Params): Promise<Measured | null> {
  const script = workerScript();
  if (!script) {
    console.log("uffd round trip (worker) skipped: bench/uffd-worker.mjs not found next to the bench module");
    return null;
  }
  const s = await setup(p);
  const ctl = new Int32Array(new SharedArrayBuffer(32)); // [4]: always 0, the handler's nap word
  const addr = new Float64Array(new SharedArrayBuffer(8));
  const done = runInWorker<{ batchNs: number[]; bad: number; earlyWakes: number }>(s.kernel, s.proc.newThread(), script, {
    ctl: ctl.buffer, addr: addr.buffer, page: PAGE, regionPages: p.uffdRegionPages, batch: p.uffdBatch, pattern: PATTERN,
  });
  let failed: unknown = null;
  done.catch((e) => (failed = e));
  const deadline = performance.now() + 10_000;
  while (Atomics.load(ctl, 0) === 0) {
    if (failed) throw failed;
    if (performance.now() > deadline) throw new Error("uffd worker did not start within 10 s");
    await new Promise((r) => setTimeout(r, 1));
  }

  // From here on the main thread never yields to the event loop until the worker stops.
  let seq = 0, messages = 0;
  const policy = { copyFrom: s.src };
  const command = (cmd: number, a: number): void => {
    addr[0] = a;
    Atomics.store(ctl, 2, cmd);
    Atomics.store(ctl, 1, ++seq);
    Atomics.notify(ctl, 1);
  };
  // The worker's result (or error) cannot arrive while this thread spins: it reports a
  // failure in ctl[0], and a stuck region gives up after 10 s.
  const stuck = (what: string): void => {
    if (Atomics.load(ctl, 0) === 2) throw new Error(`uffd worker failed (${what}); its error follows when awaited`);
    if (performance.now() > limit) throw new Error(`uffd worker round trip stuck ${what}`);
  };
  let limit = 0;
  const one = (cmd: number): number => {
    const a = region(s);
    command(cmd, a);
    limit = performance.now() + 10_000;
    let handled = 0;
    for (let spins = 0, idle = 0, idleSince = 0; handled < p.uffdRegionPages; spins++) {
      const k = s.uffd.serveAll(policy);
      handled += k;
      if (k !== 0) idle = 0;
      else if (++idle === 1) idleSince = performance.now();
      else if ((idle & 63) === 0 && performance.now() - idleSince >= HANDLER_SPIN_US / 1000) {
        // Spin, then nap: with one CPU free (others busy), a handler that only spins would
        // keep the worker off the CPU for a whole time slice (~8 ms per fault, measured).
        Atomics.wait(ctl, 4, 0, HANDLER_NAP_MS);
        idle = 0;
      }
      if (k === 0 && (spins & 1023) === 0) stuck(`after ${handled} faults of a region`);
    }
    for (let spins = 0; Atomics.load(ctl, 3) !== seq; spins++) if ((spins & 1023) === 0) stuck("waiting for the region's last load");
    s.proc.munmap(a, s.regionBytes);
    return handled;
  };
  const regions = Math.ceil(p.uffdSamples / (p.uffdRegionPages / p.uffdBatch));
  try {
    warmUp(p.warmupMs, () => void one(1));
    for (let r = 0; r < regions; r++) messages += one(2);
  } catch (e) {
    if (Atomics.load(ctl, 0) === 2) await done; // rejects with the worker's own error
    throw e;
  } finally {
    command(3, 0);
  }
  const { batchNs, bad, earlyWakes } = await done;
  s.proc.exit();
  const faults = regions * p.uffdRegionPages;
  return row("uffd_roundtrip_worker", "uffd round trip (worker)",
    "a worker's Thread.load8 of a MISSING page parks it (spin, then Atomics.wait); the main thread's O_NONBLOCK Userfaultfd.serveAll loop COPYs one page; the worker resumes",
    "uffd_copy_cross_cpu", batchNs.slice(0, p.uffdSamples), p, messages, bad, faults, { earlyWakesPerOp: earlyWakes / faults });
}

export async function uffdRoundTrip(p: Params): Promise<Measured[]> {
  const rows = [await uffdSync(p, false), await uffdAsync(p), await uffdWorker(p), await uffdSync(p, true)];
  return rows.filter((r): r is Measured => r !== null);
}
