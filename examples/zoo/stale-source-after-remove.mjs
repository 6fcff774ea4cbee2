// Zoo: "a stale source after REMOVE" (the guest sees old data where it must see zeros).
//
// The guest discards a page (MADV_DONTNEED: a REMOVE event, then the page is zapped); its next
// read must see zeros. A handler that serves every fault from the snapshot serves that next fault
// from the snapshot too, and the guest reads the old contents of a page it threw away. The fix:
// remember what REMOVE (and UNMAP) took away, and serve faults there with UFFDIO_ZEROPAGE.
//
//   npx uffdlab explore examples/zoo/stale-source-after-remove.mjs          # finds it
//   npx uffdlab explore examples/zoo/stale-source-after-remove.fixed.mjs    # passes
import { defineExploration, FillError, Userfaultfd, abi as A } from "uffdlab";

const PAGE = 4096;

/** The scenario, with the buggy handler (`zeroAfterRemove` false) or the fixed one. */
export function staleSourceScenario({ zeroAfterRemove }) {
  return defineExploration({
    setup(k) {
      const p = k.spawn();
      const region = p.mmap(0, 2 * PAGE, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
      const snapshot = p.mmap(0, PAGE, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
      p.thread.fill(snapshot, 0x5a, PAGE);
      const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
      uffd.api(BigInt(A.UFFD_FEATURE_EVENT_REMOVE));
      uffd.register(region, 2 * PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
      return { p, region, snapshot, uffd, vcpu: p.newThread(), balloon: p.newThread(), handler: p.newThread(), running: 2, afterDiscard: -1 };
    },
    threads(c) {
      const h = new Userfaultfd(c.p, c.uffd.fd, c.handler);
      const removed = new Set();
      return [
        // One vCPU touches the page.
        [c.vcpu, async (t) => { await t.load8(c.region); c.running--; }],
        // Another discards it, then reads it: it must read zeros.
        [c.balloon, async (t) => {
          await t.syscall(A.__NR_madvise, c.region, PAGE, A.MADV_DONTNEED);
          c.afterDiscard = await t.load8(c.region);
          c.running--;
        }],
        // The handler: Firecracker's triage (EEXIST → wake; EAGAIN → read the event first, retry).
        [c.handler, async (t) => {
          const pending = [];
          while (c.running > 0) {
            for (const m of await t.op(() => h.read())) {
              if (m.event === "pagefault") pending.push(m.address - (m.address % PAGE));
              else if (m.event === "remove") for (let a = m.start; a < m.end; a += PAGE) removed.add(a);
            }
            while (pending.length) {
              const page = pending[0];
              try {
                if (zeroAfterRemove && removed.has(page)) await t.op(() => h.zeropage(page, PAGE)); // the fix
                else await t.op(() => h.copy(page, c.snapshot, PAGE));
              } catch (e) {
                if (!(e instanceof FillError)) throw e;
                if (e.code === "EAGAIN") break; // an event is unread: read it, then retry
                if (e.code !== "EEXIST") throw e;
                await t.op(() => h.wake(page, PAGE));
              }
              pending.shift();
            }
            await t.yield();
          }
        }],
      ];
    },
    check(c) {
      if (c.afterDiscard !== 0) throw new Error(`after MADV_DONTNEED the guest read 0x${c.afterDiscard.toString(16)}, not 0: a stale page from the snapshot`);
    },
    maxTurns: 2000,
  });
}

export default staleSourceScenario({ zeroAfterRemove: false });
