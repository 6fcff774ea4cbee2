// The README userfaultfd example, runnable: `node examples/uffd-quickstart.mjs` (after `npm run build`).
// One thread faults on a MISSING-registered page and blocks; another reads the message and
// resolves it with UFFDIO_COPY, which wakes the first.
import { Kernel, Userfaultfd, abi as A } from "uffdlab";
const k = await Kernel.boot({ memoryBytes: 64 << 20 });
const p = k.spawn();
const uffd = p.userfaultfd(A.O_NONBLOCK | A.UFFD_USER_MODE_ONLY);
console.log(uffd.api());
const region = p.mmap(0, 16 * 4096, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
console.log(uffd.register(region, 16 * 4096, A.UFFDIO_REGISTER_MODE_MISSING));
const src = p.mmap(0, 4096, A.PROT_READ | A.PROT_WRITE, A.MAP_PRIVATE | A.MAP_ANONYMOUS);
p.thread.fill(src, 7, 4096);
const handler = new Userfaultfd(p, uffd.fd, p.newThread());
await k.run(1, [
  [p.newThread(), async (t) => console.log(await t.load8(region))],
  [p.newThread(), async (t) => {
    for (;;) {
      const [msg] = handler.read();
      if (msg?.event === "pagefault") { handler.copy(msg.address, src, 4096); return; }
      await t.yield();
    }
  }],
]);
