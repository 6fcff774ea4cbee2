// Zoo: "handler death / close" (a restored guest silently reads zeros).
//
// A userfaultfd only answers faults while it is open. Once its last reference is closed
// (fs/userfaultfd.c userfaultfd_release), its ranges are unregistered and the faults it still
// held are woken: they, and every later fault there, resolve as plain faults — on anonymous
// memory a fresh zero page where the snapshot's contents belonged. Nothing fails: the guest just
// runs on zeros. The other half of this bug: a handler that stops reading while the fd stays
// open leaves the faulter waiting for ever (`closeFd: false`: `uffdlab explore` reports a hang).
//
// The VMM stops the guest: the boot vCPU asks the others to stop, and the handler, seeing the
// stop request, closes the userfaultfd and exits ("the guest is shutting down, nothing more to
// serve"). But a vCPU only sees the request between two guest accesses, and an access it already
// began (or a fault already queued and not yet served) runs after the close. The fix, as VMMs
// tear down: keep the userfaultfd, and keep serving it, until every vCPU has stopped; close it
// only then.
//
//   npx uffdlab explore examples/zoo/handler-close.mjs          # finds it
//   npx uffdlab explore examples/zoo/handler-close.fixed.mjs    # passes
import { defineExploration, FillError, Userfaultfd, abi as A } from "uffdlab";

const PAGE = 4096;
const PAGES = 6;
/** The snapshot's byte in page i. */
const snapshotByte = (i) => 0x40 + i;

/**
 * The scenario, with the buggy teardown (`waitForVcpus` false) or the fixed one; `closeFd` false
 * makes the handler exit without closing the fd (default true).
 */
export function handlerCloseScenario({ waitForVcpus, closeFd = true }) {
  return defineExploration({
    setup(k) {
      const p = k.spawn();
      const region = p.mmap(0, PAGES * PAGE, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
      const snapshot = p.mmap(0, PAGES * PAGE, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
      for (let i = 0; i < PAGES; i++) p.thread.fill(snapshot + i * PAGE, snapshotByte(i), PAGE);
      const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
      uffd.api();
      uffd.register(region, PAGES * PAGE, A.UFFDIO_REGISTER_MODE_MISSING);
      const [vcpu0, vcpu1, handler] = [p.newThread(), p.newThread(), p.newThread()];
      return { p, region, snapshot, uffd, vcpu0, vcpu1, handler, stop: false, running: 2, seen: [] };
    },
    threads(c) {
      const h = new Userfaultfd(c.p, c.uffd.fd, c.handler);
      const touch = async (t, i) => c.seen.push([i, await t.load8(c.region + i * PAGE)]);
      return [
        // The boot vCPU: touches two pages, then shuts the guest down (asks the others to stop).
        [c.vcpu0, async (t) => {
          await touch(t, 0);
          await touch(t, 1);
          c.stop = true;
          c.running--;
        }],
        // Another vCPU: runs until it sees the stop request, between two accesses.
        [c.vcpu1, async (t) => {
          for (let i = 2; i < PAGES && !c.stop; i++) await touch(t, i);
          c.running--;
        }],
        // The handler: serves each fault from the snapshot (Firecracker's triage), until the
        // guest is stopping (buggy) or every vCPU has stopped (fixed); then closes the fd.
        [c.handler, async (t) => {
          while (waitForVcpus ? c.running > 0 : !c.stop) {
            for (const m of await t.op(() => h.read())) {
              if (m.event !== "pagefault") continue;
              const page = m.address - (m.address % PAGE);
              try {
                await t.op(() => h.copy(page, c.snapshot + (page - c.region), PAGE));
              } catch (e) {
                if (!(e instanceof FillError && e.code === "EEXIST")) throw e;
                await t.op(() => h.wake(page, PAGE));
              }
            }
            await t.yield();
          }
          if (closeFd) h.close();
        }],
      ];
    },
    check(c) {
      for (const [i, v] of c.seen)
        if (v !== snapshotByte(i)) throw new Error(`the guest read 0x${v.toString(16)} in page ${i}, not the snapshot's 0x${snapshotByte(i).toString(16)}: the userfaultfd was closed under it`);
    },
    maxTurns: 2000,
  });
}

export default handlerCloseScenario({ waitForVcpus: false });
