// Worker script for bench/uffd-roundtrip.ts ("uffd round trip (worker)"), run by runInWorker
// on one simulated thread (waitMode "atomics": a fault spins on the frame's wait word, then
// parks in Atomics.wait). It imports nothing: `t` is the worker's Thread.
//
// Protocol over one SharedArrayBuffer (data.ctl, Int32Array; data.addr, Float64Array):
//   ctl[0]  1 once this worker is running, 2 if it failed
//   ctl[1]  command sequence number, bumped by the main thread for each command
//   ctl[2]  command: 1 warm-up region, 2 timed region, 3 stop
//   ctl[3]  the last command sequence number this worker finished
//   addr[0] the region of the command: regionPages never-touched pages, MISSING-registered
// For each region the worker reads one byte of every page, timing each `batch` pages in a
// row; the main thread meanwhile reads the fault messages and UFFDIO_COPYs each page.
const _WARM = 1, TIMED = 2, STOP = 3; // the commands (any other than TIMED and STOP warms up)

export default function (t, d) {
  try {
    return run(t, d);
  } catch (e) {
    Atomics.store(new Int32Array(d.ctl), 0, 2); // tell the main thread, which is not listening for messages
    Atomics.notify(new Int32Array(d.ctl), 0);
    throw e;
  }
}

function run(t, d) {
  const ctl = new Int32Array(d.ctl);
  const addr = new Float64Array(d.addr);
  const { page, regionPages, batch, pattern } = d;
  const batchNs = [];
  let bad = 0;
  let seq = 0;
  Atomics.store(ctl, 0, 1);
  Atomics.notify(ctl, 0);
  for (;;) {
    while (Atomics.load(ctl, 1) === seq) Atomics.wait(ctl, 1, seq, 1000);
    seq = Atomics.load(ctl, 1);
    const cmd = Atomics.load(ctl, 2);
    if (cmd === STOP) break;
    const base = addr[0];
    for (let b = 0; b < regionPages; b += batch) {
      const q = base + b * page;
      const t0 = performance.now();
      for (let i = 0; i < batch; i++) if (load8(t, q + i * page) !== pattern) bad++;
      const t1 = performance.now();
      if (cmd === TIMED) batchNs.push((t1 - t0) * 1e6);
    }
    Atomics.store(ctl, 3, seq);
    Atomics.notify(ctl, 3);
  }
  return { batchNs, bad, earlyWakes };
}

// host-ts/thread.ts waitForWake() throws "fault returned RETRY but the kernel did not queue
// the task" when it finds the wait word already 0 — which also happens when the handler was
// fast enough to COPY (and wake the task) between the access returning RETRY and that check.
// The task was queued and woken: retrying the access is what the wait would have done.
let earlyWakes = 0;
function load8(t, a) {
  for (;;) {
    try {
      return t.load8(a);
    } catch (e) {
      if (!(e instanceof Error) || !e.message.includes("did not queue the task")) throw e;
      earlyWakes++;
    }
  }
}
