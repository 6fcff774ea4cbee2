// The worker side of uffd-stress.test.ts (a port of tools/testing/selftests/mm/uffd-stress.c).
// Bundled with esbuild by the test and run by runInWorker: one simulated thread per
// worker, all workers on the kernel's one shared memory. A worker has one role for the whole run
// and does it once per bounce:
//   lock  locking_thread: lock a page's mutex (faults it in), check its counter against the
//         shadow, increment both, unlock — until the bounce is finished
//   uffd  uffd_read_thread / uffd_poll_thread: blocking read() or poll() by the bounce's POLL bit;
//         resolves faults with uffd_handle_page_fault
//   bg    background_thread: COPY the first half of its slice, write-protect the slice (WP runs),
//         COPY the second half
// The main thread (the test) drives the bounces through the control words below. It stops the
// uffd threads as uffd-stress does in poll bounces, by writing their pipe (poll() sleeps on the
// userfaultfd and the pipe); in read bounces, where uffd-stress uses pthread_cancel, it faults a
// "doorbell" page per uffd thread, which the reader recognises by its address: it wakes the
// doorbell thread and leaves.
import { Process, Userfaultfd, type Thread } from "../../host-ts/index.js";
import * as A from "../../host-ts/abi.gen.js";
import { PAGE, MUTEX_OFF, COUNT_OFF, UffdCommon, newArgs, err, type MemType, type UffdArea } from "./uffd-common.js";
import type { UffdMsg } from "../../host-ts/index.js";

/** Control words (Int32Array over `ctl`). */
export const C = {
  GEN: 0, // bounce generation: workers wait for it to change
  BOUNCES: 1, // the remaining bounce count (mode bits are taken from it, as uffd-stress does)
  APPLY_WP: 2,
  FINISHED: 3, // lockers stop
  UFFD_STOP: 4, // uffd threads stop at the next doorbell
  BG_DONE: 5, // counters of workers done with this bounce, per role
  LOCK_DONE: 6,
  UFFD_DONE: 7,
  QUIT: 8,
  ERROR: 9,
  LOCK_OPS: 10, // lock operations in this bounce (all locking threads)
  WORDS: 16,
} as const;
export const BOUNCE_RANDOM = 1 << 0;
export const BOUNCE_RACINGFAULTS = 1 << 1;
export const BOUNCE_VERIFY = 1 << 2;
export const BOUNCE_POLL = 1 << 3;

/** Per-worker statistics (Float64Array, STAT.WORDS per worker). */
export const STAT = { MISSING: 0, WP: 1, MINOR: 2, EEXIST: 3, LOCKS: 4, COPIES: 5, PHASE: 6, PAGE: 7, WORDS: 8 } as const;
/** PHASE values, for the watchdog's diagnostic. */
export const PHASE = ["idle", "locking", "in a fault (lock word)", "in a fault (counter)", "reading/polling", "handling", "copying", "write-protecting", "done"] as const;

export type Role = "lock" | "uffd" | "bg";
export interface StressInit {
  /**
   * Pacing of the background COPYs: before its k-th page a background thread waits (at most 50 ms)
   * until the locking threads have done k × bgPace lock operations in this bounce. 0 = full speed,
   * as uffd-stress; pacing keeps the locking threads faulting ahead of the COPYs, so that most
   * pages are filled by racing fault handling (EEXIST on one side, WAKE) rather than in the
   * background before anyone touched them.
   */
  bgPace: number;
  /** Thread.spinLimit for this worker's waits (spin, then park) */
  spin: number;
  /** test of the watchdog: uffd threads read faults and never resolve them (a lost wake-up) */
  dropFaults?: boolean;
  role: Role;
  wid: number;
  cpu: number;
  nrCpus: number;
  nrPages: number;
  memType: MemType;
  uffd: number;
  pipeRd: number;
  bell: number;
  seed: number;
  ctl: SharedArrayBuffer;
  /** Float64Array: src, dst, srcAlias, dstAlias */
  areas: SharedArrayBuffer;
  shadow: SharedArrayBuffer;
  stats: SharedArrayBuffer;
}

/** xorshift32: the locking threads' getrandom(). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

export default function run(t: Thread, d: StressInit): { role: Role; bounces: number } {
  const ctl = new Int32Array(d.ctl);
  const areas = new Float64Array(d.areas);
  const shadow = new Float64Array(d.shadow);
  const st = new Float64Array(d.stats, d.wid * STAT.WORDS * 8, STAT.WORDS);
  t.spinLimit = d.spin;
  const proc = new Process(t.kernel, t.pid);
  const uffd = new Userfaultfd(proc, d.uffd, t);
  const area: UffdArea = { memType: d.memType, nrPages: d.nrPages, src: 0, dst: 0, srcAlias: 0, dstAlias: 0, memFd: -1, srcOff: 0, dstOff: 0 };
  const c = new UffdCommon(uffd, t, area);
  const mem32 = new Int32Array(t.kernel.memory.buffer as ArrayBuffer);
  const perCpu = d.nrPages / d.nrCpus;
  const phase = (p: number) => { st[STAT.PHASE] = p; };
  let gen = 0;
  let bounces = 0;

  /** pthread_mutex_lock: read the word (MISSING faults are reads), then take it as a futex. */
  function lock(base: number): number {
    phase(2);
    t.load32(base + MUTEX_OFF);
    const i = t.translate(base + MUTEX_OFF, true) >>> 2;
    phase(1);
    if (Atomics.compareExchange(mem32, i, 0, 1) === 0) return i;
    while (Atomics.exchange(mem32, i, 2) !== 0) Atomics.wait(mem32, i, 2, 100);
    return i;
  }
  function unlock(i: number): void {
    if (Atomics.exchange(mem32, i, 0) === 2) Atomics.notify(mem32, i, 1);
  }

  function lockingThread(): void {
    const n = d.nrPages;
    const rand = rng(d.seed ^ Math.imul(gen, 0x85ebca6b) ^ Math.imul(d.cpu + 1, 0xc2b2ae35));
    let pageNr = 0;
    if (!(bounces & BOUNCE_RANDOM)) {
      pageNr = -bounces;
      if (!(bounces & BOUNCE_RACINGFAULTS)) pageNr += d.cpu * perCpu;
    }
    while (!Atomics.load(ctl, C.FINISHED)) {
      if (bounces & BOUNCE_RANDOM) pageNr = rand();
      else pageNr += 1;
      const nr = ((pageNr % n) + n) % n;
      st[STAT.PAGE] = nr;
      const base = area.dst + nr * PAGE;
      const li = lock(base);
      phase(3);
      let count = Number(t.load64(base + COUNT_OFF));
      if (count !== shadow[nr]) {
        unlock(li);
        err(`page_nr ${nr} memory corruption ${count} ${shadow[nr]}`);
      }
      count++;
      t.store64(base + COUNT_OFF, BigInt(count));
      shadow[nr] = count;
      phase(1);
      unlock(li);
      st[STAT.LOCKS]++;
      Atomics.add(ctl, C.LOCK_OPS, 1);
      Atomics.notify(ctl, C.LOCK_OPS);
    }
  }

  const isBell = (m: UffdMsg) => m.event === "pagefault" && m.address >= d.bell && m.address < d.bell + d.nrCpus * PAGE;

  function uffdThread(): void {
    const args = newArgs(Atomics.load(ctl, C.APPLY_WP) !== 0);
    const poll = (bounces & BOUNCE_POLL) !== 0;
    for (;;) {
      phase(4);
      let msg: UffdMsg | null;
      if (poll) {
        const [ur, pr] = proc.poll([{ fd: d.uffd, events: A.POLLIN }, { fd: d.pipeRd, events: A.POLLIN }], -1, t);
        if (pr) {
          if (!(pr & A.POLLIN)) err(`pollfd[1].revents ${pr}`);
          if (t.syscall(A.__NR_read, d.pipeRd, A.HOST_STAGING_BASE, 1) !== 1n) err("read pipefd error");
          break;
        }
        if (!(ur & A.POLLIN)) err(`pollfd[0].revents ${ur}`);
        msg = c.readMsg(); // may be gone: another uffd thread read it first
      } else {
        msg = c.readMsg(); // blocks (the fd is blocking in this bounce)
      }
      if (!msg) continue;
      phase(5);
      if (!poll && isBell(msg)) {
        c.wake((msg as { address: number }).address, PAGE);
        if (Atomics.load(ctl, C.UFFD_STOP)) break;
        continue;
      }
      if (!d.dropFaults) c.handlePageFault(msg, args);
    }
    st[STAT.MISSING] += args.missingFaults;
    st[STAT.WP] += args.wpFaults;
    st[STAT.MINOR] += args.minorFaults;
    st[STAT.EEXIST] += args.eexist;
  }

  const pace = (k: number) => {
    const target = k * d.bgPace;
    for (let v = Atomics.load(ctl, C.LOCK_OPS); v < target; v = Atomics.load(ctl, C.LOCK_OPS)) {
      if (Atomics.wait(ctl, C.LOCK_OPS, v, 50) === "timed-out") return;
    }
  };

  function backgroundThread(): void {
    const applyWp = Atomics.load(ctl, C.APPLY_WP) !== 0;
    const start = d.cpu * perCpu;
    const end = start + perCpu;
    const mid = (start + end) >> 1;
    // test_uffdio_copy_eexist: the first successful COPY of each bounce is retried on the alias
    // (the selftest re-arms this every 10 s with SIGALRM).
    let retry = true;
    const args = newArgs(applyWp);
    phase(6);
    for (let nr = start; nr < mid; nr++) {
      pace(nr - start);
      if (c.copyPage(nr * PAGE, applyWp, retry, args)) retry = false;
      st[STAT.COPIES]++;
    }
    if (applyWp) {
      phase(7);
      c.wpRange(area.dst + start * PAGE, perCpu * PAGE, true);
    }
    phase(6);
    for (let nr = mid; nr < end; nr++) {
      pace(nr - start);
      if (c.copyPage(nr * PAGE, applyWp, retry, args)) retry = false;
      st[STAT.COPIES]++;
    }
    st[STAT.EEXIST] += args.eexist;
  }

  const doneWord = d.role === "lock" ? C.LOCK_DONE : d.role === "uffd" ? C.UFFD_DONE : C.BG_DONE;
  try {
    for (;;) {
      phase(0);
      while (Atomics.load(ctl, C.GEN) === gen) Atomics.wait(ctl, C.GEN, gen, 1000);
      gen = Atomics.load(ctl, C.GEN);
      if (Atomics.load(ctl, C.QUIT)) break;
      bounces = Atomics.load(ctl, C.BOUNCES);
      [area.src, area.dst, area.srcAlias, area.dstAlias] = [areas[0], areas[1], areas[2], areas[3]];
      if (d.role === "lock") lockingThread();
      else if (d.role === "uffd") uffdThread();
      else backgroundThread();
      phase(8);
      Atomics.add(ctl, doneWord, 1);
      Atomics.notify(ctl, doneWord);
    }
  } catch (e) {
    Atomics.store(ctl, C.ERROR, 1);
    for (const w of [C.BG_DONE, C.LOCK_DONE, C.UFFD_DONE]) Atomics.notify(ctl, w);
    throw e;
  }
  return { role: d.role, bounces: gen - 1 };
}
