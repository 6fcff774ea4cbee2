// Zoo: "EEXIST without a wake" (seen in the field at about one fault in 2–3 million).
//
// A REAP-style handler prefetches the snapshot's working set in the background with
// UFFDIO_COPY_MODE_DONTWAKE (waking nobody: nobody should be waiting for a page it prefetches) while
// a fault handler serves the faults as they come. When a thread faults on a page just before the
// prefetcher fills it, the prefetch fills the page without waking it, and the fault handler's own
// COPY of that page then fails with EEXIST. The buggy handler takes EEXIST as "done, somebody
// else served it" — and the faulting thread sleeps forever. The fix (Firecracker's triage): on
// EEXIST, UFFDIO_WAKE the page.
//
//   npx uffdlab explore examples/zoo/eexist-without-wake.mjs          # finds it
//   npx uffdlab explore examples/zoo/eexist-without-wake.fixed.mjs    # passes
import { defineExploration, FillError, Userfaultfd, abi as A } from "uffdlab";

const PAGE = 4096;
const PAGES = 4;

/** The scenario, with the buggy handler (`wakeOnEexist` false) or the fixed one. */
export function eexistScenario({ wakeOnEexist }) {
  return defineExploration({
    setup(k) {
      const p = k.spawn();
      const region = p.mmap(0, PAGES * PAGE, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
      const snapshot = p.mmap(0, PAGES * PAGE, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
      for (let i = 0; i < PAGES; i++) p.thread.fill(snapshot + i * PAGE, 0x10 + i, PAGE);
      const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
      uffd.api();
      uffd.register(region, PAGES * PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
      const [vcpu, prefetcher, handler] = [p.newThread(), p.newThread(), p.newThread()];
      return { p, region, snapshot, uffd, vcpu, prefetcher, handler, seen: [], running: 1 };
    },
    threads(c) {
      const pre = new Userfaultfd(c.p, c.uffd.fd, c.prefetcher);
      const h = new Userfaultfd(c.p, c.uffd.fd, c.handler);
      return [
        // The guest: touches two pages of its working set.
        [c.vcpu, async (t) => {
          c.seen.push(await t.load8(c.region + 1 * PAGE), await t.load8(c.region + 2 * PAGE));
          c.running--;
        }],
        // The prefetcher: the working set, page by page, without waking anybody.
        [c.prefetcher, async (t) => {
          for (let i = 0; i < PAGES; i++) {
            try {
              await t.op(() => pre.copy(c.region + i * PAGE, c.snapshot + i * PAGE, PAGE, A.UFFDIO_COPY_MODE_DONTWAKE));
            } catch (e) {
              if (!(e instanceof FillError && e.code === "EEXIST")) throw e; // the fault handler was first: fine
            }
          }
        }],
        // The fault handler: serves each fault from the snapshot.
        [c.handler, async (t) => {
          while (c.running > 0) {
            for (const m of await t.op(() => h.read())) {
              if (m.event !== "pagefault") continue;
              const page = m.address - (m.address % PAGE);
              try {
                await t.op(() => h.copy(page, c.snapshot + (page - c.region), PAGE));
              } catch (e) {
                if (!(e instanceof FillError && e.code === "EEXIST")) throw e;
                if (wakeOnEexist) await t.op(() => h.wake(page, PAGE)); // the fix
              }
            }
            await t.yield();
          }
        }],
      ];
    },
    check(c) {
      if (c.seen.join() !== "17,18") throw new Error(`the guest read ${c.seen.join()}, not the snapshot's 17,18`);
    },
    maxTurns: 2000,
  });
}

export default eexistScenario({ wakeOnEexist: false });
