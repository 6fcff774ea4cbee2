// Zoo: "EAGAIN while an event is unread" (a handler that retries at once spins forever).
//
// While a non-cooperative event (here REMOVE, from a balloon's MADV_DONTNEED) waits to be read,
// the kernel refuses fills with EAGAIN (mmap_changing), and the thread that caused the event
// waits until it is read. A handler that answers EAGAIN by retrying the COPY at once never reads
// the event, so the retry never succeeds and the balloon never returns: a livelock. The fix
// (Firecracker's triage): on EAGAIN, read the pending messages first (handle the event), then
// retry the fault.
//
//   npx uffdlab explore examples/zoo/eagain-retry-spin.mjs          # finds it
//   npx uffdlab explore examples/zoo/eagain-retry-spin.fixed.mjs    # passes
import { defineExploration, FillError, Userfaultfd, abi as A } from "uffdlab";

const PAGE = 4096;

/** The scenario, with the buggy handler (`readOnEagain` false) or the fixed one. */
export function eagainScenario({ readOnEagain }) {
  return defineExploration({
    setup(k) {
      const p = k.spawn();
      const region = p.mmap(0, 4 * PAGE, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
      const snapshot = p.mmap(0, PAGE, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
      p.thread.fill(snapshot, 0x5a, PAGE);
      const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
      uffd.api(BigInt(A.UFFD_FEATURE_EVENT_REMOVE));
      uffd.register(region, 4 * PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
      return { p, region, snapshot, uffd, vcpu: p.newThread(), balloon: p.newThread(), handler: p.newThread(), running: 2, events: 0 };
    },
    threads(c) {
      const h = new Userfaultfd(c.p, c.uffd.fd, c.handler);
      const pending = [];
      const readAll = async (t) => {
        for (const m of await t.op(() => h.read())) {
          if (m.event === "pagefault") pending.push(m.address - (m.address % PAGE));
          else c.events++;
        }
      };
      return [
        // The guest touches a page.
        [c.vcpu, async (t) => { await t.load8(c.region); c.running--; }],
        // The balloon gives a page back: MADV_DONTNEED sends REMOVE and waits until it is read.
        [c.balloon, async (t) => { await t.syscall(A.__NR_madvise, c.region + 2 * PAGE, PAGE, A.MADV_DONTNEED); c.running--; }],
        // The handler.
        [c.handler, async (t) => {
          while (c.running > 0) {
            await readAll(t);
            while (pending.length) {
              try {
                await t.op(() => h.copy(pending[0], c.snapshot, PAGE));
                pending.shift();
              } catch (e) {
                if (!(e instanceof FillError)) throw e;
                if (e.code === "EEXIST") { await t.op(() => h.wake(pending.shift(), PAGE)); continue; }
                if (e.code !== "EAGAIN") throw e;
                if (readOnEagain) await readAll(t); // the fix: read the event that blocks the fill
                // the bug: retry at once, forever
              }
            }
            await t.yield();
          }
        }],
      ];
    },
    check(c) {
      if (c.events !== 1) throw new Error(`the handler read ${c.events} REMOVE events, not 1`);
    },
    maxTurns: 2000,
  });
}

export default eagainScenario({ readOnEagain: false });
