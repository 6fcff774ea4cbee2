/**
 * Seeded random scenarios (fast-check) in the scenario language of docs/scenarios.md, for the
 * differential test against the host kernel (conform-random.test.ts). Five families:
 *
 *   mm       a 32-page window $W (reserved, then released, so every address is relative to it) and a
 *            memfd $F; mmap MAP_FIXED / munmap / mprotect / mremap / madvise / mlock inside the window,
 *            with garbage prot, flags, advice, unaligned starts and wrapping lengths; loads, stores and
 *            fork-checks across it; ftruncate / fallocate / pwrite / pread / write / read / fstat on $F.
 *   uffd     a userfaultfd with random creation flags and features (never the non-cooperative event
 *            features: their events block mm calls until read), anonymous / shmem / memfd areas, and
 *            every UFFDIO_* ioctl (MOVE too) on random (often invalid) ranges and modes; poll, reads,
 *            loads of memory that is never registered.
 *   events   a userfaultfd with some of EVENT_REMAP / REMOVE / UNMAP over an anonymous area; one or two
 *            munmap / madvise / mremap / mmap(MAP_FIXED) calls by the producer thread (tsys), each
 *            followed by the reads that let it finish; fills before and after, then loads. Or (half
 *            of them) one or two forks by the producer (tsys fork), with or without EVENT_FORK, with
 *            or without a registered area: the FORK message's new userfaultfd (`as F`) is used in the
 *            child's mm before and after childexit, or closed.
 *   kvm      a VM and a guest_memfd with random size and flags, mapped with random prot and flags;
 *            accesses, fallocate, madvise, mprotect, file calls, capabilities, memslots.
 *   threads  up to three extra threads fault on pages of a MISSING-registered area in a fixed order
 *            (each tfault followed by the readwait that takes its message, when the page is missing),
 *            resolved by COPY, ZEROPAGE, WAKE (a new fault), UNREGISTER or close, then joined.
 *
 * Garbage stays where both kernels are comparable: addresses are in the window, unaligned, or beyond
 * the user address space; lengths are small, or wrap (so no range reaches the oracle's own memory,
 * which the two runners lay out differently); PROT_EXEC alone is left out (execute-only pkeys), and
 * so are MAP_HUGETLB (hugetlb is outside uffdlab's scope) and MADV_HWPOISON (its result
 * depends on the host's CONFIG_MEMORY_FAILURE and CAP_SYS_ADMIN). Arguments Linux declares int or
 * unsigned int (fds, madvise advice, fallocate mode, memfd_create / userfaultfd flags, F_ADD_SEALS'
 * seals, lseek's whence) sometimes carry garbage in their upper 32 bits, which both kernels must
 * ignore (`wide`). No range is 2 MiB, so no transparent huge page can form even on a host whose
 * transparent_hugepage/enabled is "always" (and the oracle disables THP: KNOWN-DIFFERENCES.json).
 */
import fc from "fast-check";

type Gen = fc.GeneratorValue;
const P = 4096;
const hex = (n: number | bigint) => `0x${n.toString(16)}`;
const pick = <T>(g: Gen, xs: readonly T[]): T => xs[g(fc.integer, { min: 0, max: xs.length - 1 })];
const int = (g: Gen, min: number, max: number) => g(fc.integer, { min, max });
const chance = (g: Gen, pct: number) => int(g, 0, 99) < pct;
const u64 = (g: Gen) => hex(g(fc.bigInt, { min: 0n, max: (1n << 64n) - 1n }));

/**
 * An int / unsigned int argument (a number or a `$NAME` reference), 15% of the time with a garbage
 * upper half: Linux takes the low 32 bits.
 */
function wide(g: Gen, v: string): string {
  if (!chance(g, 15)) return v;
  const hi = pick(g, [0x1n, 0xffffffffn, 0xdeadbeefn, g(fc.bigInt, { min: 1n, max: 0xffffffffn })]) << 32n;
  if (v.startsWith("$")) return `${v}+${hex(hi)}`;
  return hex(hi | BigInt.asUintN(32, BigInt(v)));
}

const WIN_PAGES = 32;
const PROTS = [0, 1, 2, 3, 5, 7, 3, 3, 1];
const WRAP = ["0xfffffffffffff000", "0xffffffffffffffff", "0xfffffffffff00000"];
const KERNEL_ADDR = ["0xffff800000000000", "0x800000000000", "0x7ffffffff000"];

/** A length for a range starting at window page `p`: fits the window, or is garbage that cannot reach beyond it. */
function len(g: Gen, p: number): string {
  const r = int(g, 0, 99);
  if (r < 70) return hex(int(g, 1, Math.max(1, WIN_PAGES - p)) * P);
  if (r < 80) return "0";
  if (r < 90) return String(int(g, 1, Math.max(1, Math.min(3 * P, (WIN_PAGES - p - 1) * P)))); // stays in the window
  return pick(g, WRAP);
}
/** An address: a window page (mostly), unaligned, or outside the user address space. */
function addr(g: Gen): { a: string; p: number } {
  const p = int(g, 0, WIN_PAGES - 1);
  const r = int(g, 0, 99);
  if (r < 85) return { a: p === 0 ? "$W" : `$W+${hex(p * P)}`, p };
  if (r < 93 && p < WIN_PAGES - 1) return { a: `$W+${hex(p * P + int(g, 1, P - 1))}`, p: p + 1 };
  return { a: pick(g, KERNEL_ADDR), p: WIN_PAGES };
}
function prot(g: Gen): string {
  const r = int(g, 0, 99);
  if (r < 90) return String(pick(g, PROTS));
  if (r < 95) return hex(0x01000000 | pick(g, [1, 3])); // PROT_GROWSDOWN
  return u64(g);
}

function mmFamily(g: Gen): string[] {
  const s = [`mmap 0 ${hex(WIN_PAGES * P)} 0 0x22 -1 0 as W`, `munmap $W ${hex(WIN_PAGES * P)}`];
  s.push(`memfd_create "rnd" ${wide(g, "0")} as F`, `ftruncate ${wide(g, "$F")} ${hex(int(g, 0, 16) * P)}`);
  const n = int(g, 3, 24);
  for (let i = 0; i < n; i++) {
    const { a, p } = addr(g);
    switch (int(g, 0, 13)) {
      case 0: case 1: case 2: {
        const pages = int(g, 1, Math.max(1, Math.min(8, WIN_PAGES - p)));
        const kind = int(g, 0, 10);
        let flags: string, fd = "-1", off = "0";
        if (kind < 4) flags = hex(0x22 | 0x10);
        else if (kind < 6) flags = hex(0x21 | 0x10);
        else if (kind < 8) { flags = hex(pick(g, [0x1, 0x2, 0x3]) | 0x10); fd = wide(g, "$F"); off = hex(int(g, 0, 8) * P); }
        else if (kind < 9) flags = hex(0x22 | 0x100000 | pick(g, [0, 0x8000, 0x4000]));
        // (no MAP_GROWSDOWN: uffdlab does not grow stacks, see KNOWN-DIFFERENCES.json)
        else if (kind < 10) flags = hex(pick(g, [0x22, 0x28, 0x21]) | 0x10 | pick(g, [0x2000, 0x8000, 0x4000, 0x80000, 0x1000000]));
        else {
          // garbage bits with a map type Linux refuses, so only the order of the checks is compared
          const junk = Number(BigInt.asUintN(32, BigInt(u64(g)))) & ~0x4000f; // no MAP_HUGETLB (out of scope)
          flags = hex((junk | 0x10 | pick(g, [0, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15])) >>> 0);
        }
        const a2 = p >= WIN_PAGES ? a : p === 0 ? "$W" : `$W+${hex(p * P)}`;
        s.push(`mmap ${a2} ${hex(pages * P)} ${pick(g, PROTS)} ${flags} ${fd} ${off}${chance(g, 30) ? ` as M${i}` : ""}`);
        break;
      }
      case 3: s.push(`munmap ${a} ${len(g, p)}`); break;
      case 4: s.push(`mprotect ${a} ${len(g, p)} ${prot(g)}`); break;
      case 5: {
        const advice = chance(g, 90) ? pick(g, [0, 1, 2, 3, 4, 4, 8, 9, 10, 11, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 99]) : Number(BigInt.asIntN(32, BigInt(u64(g))));
        s.push(`madvise ${a} ${len(g, p)} ${wide(g, String(advice))}`);
        break;
      }
      case 6: {
        const old = Math.min(p, WIN_PAGES - 1);
        const oldPages = int(g, 1, Math.max(1, Math.min(6, WIN_PAGES - old)));
        const base = old === 0 ? "$W" : `$W+${hex(old * P)}`;
        const r = int(g, 0, 9);
        if (r < 4) s.push(`mremap ${base} ${hex(oldPages * P)} ${hex(int(g, 1, Math.max(1, Math.min(8, WIN_PAGES - old))) * P)} 0`);
        else if (r < 8) {
          const to = int(g, 0, WIN_PAGES - 1);
          const newPages = int(g, 1, Math.max(1, Math.min(6, WIN_PAGES - to)));
          s.push(`mremap ${base} ${hex(oldPages * P)} ${hex(newPages * P)} ${pick(g, ["3", "3", "7", "2"]) /* always MREMAP_FIXED: a free choice of place depends on the layout */} $W+${hex(to * P)}`);
        } else s.push(`mremap ${base} ${hex(oldPages * P)} ${len(g, old)} ${pick(g, ["0", "8", u64(g)])}`);
        break;
      }
      case 7: s.push(`${pick(g, ["mlock", "munlock"])} ${a} ${len(g, p)}`); break;
      case 8: case 9: {
        // inside the window: beyond it lies the oracle's own memory on the host
        const l = p < WIN_PAGES ? int(g, 1, Math.max(1, Math.min(3 * P, (WIN_PAGES - p) * P - P))) : int(g, 1, 3 * P);
        s.push(p < WIN_PAGES && chance(g, 60) ? `store ${a} ${int(g, 0, 255)} ${Math.max(1, l)}` : `load ${a} ${Math.max(1, l)}`);
        break;
      }
      case 10: s.push(`fork-check ${a} ${p < WIN_PAGES ? int(g, 1, Math.max(1, Math.min(2 * P, (WIN_PAGES - p) * P - P))) : 1}`); break;
      case 11: {
        const r = int(g, 0, 6);
        const F = wide(g, "$F");
        if (r === 0) s.push(`ftruncate ${F} ${chance(g, 90) ? hex(int(g, 0, 16) * P + (chance(g, 20) ? int(g, 1, 100) : 0)) : pick(g, ["-1", "0x4000000000000000"])}`);
        else if (r === 1) s.push(`fallocate ${F} ${wide(g, String(pick(g, [0, 0, 1, 3, 3, 2, 0x10, 0x100])))} ${hex(int(g, 0, 12) * P)} ${pick(g, [hex(int(g, 1, 4) * P), "0", "-1", String(int(g, 1, 5000))])}`);
        else if (r === 2) s.push(`pwrite ${F} ${int(g, 0, 2 * P)} ${hex(int(g, 0, 16) * P)} ${int(g, 0, 255)}`);
        else if (r === 3) s.push(`pread ${F} ${int(g, 0, 2 * P)} ${hex(int(g, 0, 16) * P)}`);
        else if (r === 4) s.push(`fstat ${F}`);
        else if (r === 5) s.push(`write ${F} ${int(g, 0, 2 * P)} ${int(g, 0, 255)}`);
        else s.push(`read ${F} ${int(g, 0, 2 * P)}`);
        break;
      }
      case 12: s.push(`fcntl ${wide(g, "$F")} ${pick(g, ["1033", "1034"])} ${wide(g, pick(g, ["0x1", "0x2", "0x4", "0x8", "0x10", "0x0", "0x40"]))}`); break;
      default: s.push(`load ${a} 1`);
    }
  }
  return s;
}

const FEATURES = [0x1, 0x10, 0x20, 0x80, 0x100, 0x200, 0x400, 0x800, 0x1000, 0x2000, 0x4000, 0x8000, 0x10000];

function uffdFamily(g: Gen): string[] {
  const nonblock = chance(g, 85);
  // always UFFD_USER_MODE_ONLY: without it a COPY from the main thread whose source is a missing
  // registered page waits for that userfault in the host kernel, killable only (KNOWN-DIFFERENCES.json)
  const flags = nonblock ? pick(g, ["0x801", "0x801", "0x80801"]) : pick(g, ["0x1", "0x80001"]);
  const s = [`uffd U ${chance(g, 95) ? wide(g, flags) : pick(g, ["0x40", "0x2", u64(g)])}`];
  let features = 0;
  for (const f of FEATURES) if (chance(g, f === 0x10000 ? 60 : 20)) features |= f; // MOVE needs its feature
  s.push(`ioctl $U API ${chance(g, 95) ? "0xaa" : pick(g, ["0xab", "0"])} ${hex(chance(g, 95) ? features : pick(g, [0x2, 0x20000, 0x8]))} 0`);
  s.push("anon A 4 3", "sanon B 4 3", "memfd M 4", "mapfd F $M 4 3", "anon S 4 3", `fill $S 0x4000 ${int(g, 1, 255)}`);
  const areas = ["A", "B", "F"];
  const range = (): string => {
    const x = pick(g, areas);
    const p = int(g, 0, 3);
    const r = int(g, 0, 99);
    const at = p === 0 ? `$${x}` : `$${x}+${hex(p * P)}`;
    if (r < 75) return `${at} ${hex(int(g, 1, 4 - p) * P)}`;
    if (r < 82) return `$${x}+${hex(p * P + int(g, 1, P - 1))} ${hex(P)}`;
    if (r < 88) return `${at} 0`;
    if (r < 94) return `${at} ${pick(g, WRAP)}`;
    return `${pick(g, KERNEL_ADDR)} ${hex(P)}`;
  };
  const mode = (max: number) => (chance(g, 90) ? String(int(g, 0, max)) : pick(g, ["0x10", "0x80", u64(g)]));
  const n = int(g, 3, 20);
  for (let i = 0; i < n; i++) {
    switch (int(g, 0, 12)) {
      case 0: case 1: s.push(`ioctl $U REGISTER ${range()} ${chance(g, 90) ? String(int(g, 1, 7)) : mode(8)} 0x77`); break;
      case 2: s.push(`ioctl $U UNREGISTER ${range()}`); break;
      case 3: case 4: {
        const [dst, l] = range().split(" ");
        const src = chance(g, 90) ? `$S+${hex(int(g, 0, 3) * P)}` : pick(g, ["0", "$A", "0xffff800000000000"]);
        s.push(`ioctl $U COPY ${dst} ${src} ${l} ${mode(3)} 0x77`);
        break;
      }
      case 5: s.push(`ioctl $U ZEROPAGE ${range()} ${mode(1)} 0x77`); break;
      case 6: s.push(`ioctl $U WAKE ${range()}`); break;
      case 7: s.push(`ioctl $U CONTINUE ${range()} ${mode(3)} 0x77`); break;
      case 8: s.push(`ioctl $U POISON ${range()} ${mode(1)} 0x77`); break;
      case 9:
        if (chance(g, 50)) s.push(`ioctl $U WRITEPROTECT ${range()} ${mode(3)}`);
        else {
          // mostly a plausible MOVE: anonymous $A (registered or not) from $S, whole pages
          const p = int(g, 0, 3), q = int(g, 0, 3);
          const [dst, l] = chance(g, 70) ? [`$A+${hex(p * P)}`, hex(int(g, 1, 4 - Math.max(p, q)) * P)] : range().split(" ");
          const src = chance(g, 85) ? `$S+${hex(q * P)}` : pick(g, ["$A+0x2000", "$B", "0"]);
          s.push(`ioctl $U MOVE ${dst} ${src} ${l} ${chance(g, 80) ? pick(g, ["0", "1", "2", "3"]) : mode(3)} 0x77`);
        }
        break;
      case 10: s.push("poll $U"); if (nonblock) s.push("read $U 32"); break;
      case 11: s.push(`load $S+${hex(int(g, 0, 3) * P)} ${int(g, 1, P)}`); break;
      default: s.push(chance(g, 20) ? "close $U" : "fdflags $U");
    }
  }
  return s;
}

function threadsFamily(g: Gen): string[] {
  const shared = chance(g, 30);
  const s = ["uffd U 0x801", `ioctl $U API 0xaa ${pick(g, ["0", "0x100", "0x800", "0x900"])} 0`,
    shared ? "sanon A 4 3" : "anon A 4 3", "anon S 4 3", `fill $S 0x4000 ${int(g, 1, 255)}`, "ioctl $U REGISTER $A 0x4000 1 0"];
  const present = [false, false, false, false];
  let registered = true, open = true;
  const names = ["T", "T1", "T2"];
  const waiting = new Map<string, number>(); // thread → page it waits on
  const joinable = new Set<string>();
  const steps = int(g, 2, 10);
  for (let i = 0; i < steps; i++) {
    const r = int(g, 0, 9);
    const free = names.filter((t) => !waiting.has(t) && !joinable.has(t));
    if (r < 4 && free.length) {
      const t = pick(g, free);
      let page = int(g, 0, 3);
      // one waiter per page: two messages for one page would come in the host's order, not ours
      for (let k = 0; k < 4 && [...waiting.values()].includes(page); k++) page = (page + 1) % 4;
      if ([...waiting.values()].includes(page)) continue;
      const w = chance(g, 40);
      const off = int(g, 0, P - 1);
      s.push(`tfault $A+${hex(page * P + off)} ${w ? `w ${int(g, 0, 255)}` : "r"}${t === "T" ? "" : ` as ${t}`}`);
      if (registered && open && !present[page]) {
        s.push("readwait $U 32");
        waiting.set(t, page);
      } else {
        joinable.add(t);
      }
    } else if (r < 8 && waiting.size) {
      const [t, page] = pick(g, [...waiting.entries()]);
      const how = int(g, 0, 9);
      const pg = page === 0 ? "$A" : `$A+${hex(page * P)}`;
      if (how < 4) s.push(`ioctl $U COPY ${pg} $S 0x1000 0 0x77`);
      else if (how < 7) s.push(`ioctl $U ZEROPAGE ${pg} 0x1000 0 0x77`);
      else if (how < 8) { s.push(`ioctl $U WAKE ${pg} 0x1000`, "readwait $U 32"); continue; } // it faults again
      else if (how < 9) { s.push("ioctl $U UNREGISTER $A 0x4000"); registered = false; }
      else { s.push("close $U"); open = false; }
      if (how < 7) present[page] = true;
      // every thread waiting on a resolved page (or on anything, after UNREGISTER / close) is woken
      for (const [u, q] of [...waiting]) {
        if (!registered || !open || q === page) { waiting.delete(u); joinable.add(u); }
      }
      void t;
    } else if (joinable.size) {
      const t = pick(g, [...joinable]);
      s.push(t === "T" ? "tjoin" : `tjoin ${t}`);
      joinable.delete(t);
    } else {
      s.push("poll $U");
    }
  }
  // resolve and join everything, so no thread is left blocked and the loads below do not wait
  if (registered && open) s.push("ioctl $U UNREGISTER $A 0x4000");
  for (const t of waiting.keys()) joinable.add(t);
  for (const t of joinable) s.push(t === "T" ? "tjoin" : `tjoin ${t}`);
  for (let p = 0; p < 4; p++) s.push(`load $A+${hex(p * P)} ${P}`);
  return s;
}

/** A page run inside the `pages`-page area `x` (never beyond it: what lies there differs between the kernels). */
function areaRun(g: Gen, x: string, pages: number): { at: string; n: number } {
  const p = int(g, 0, pages - 1);
  return { at: p === 0 ? `$${x}` : `$${x}+${hex(p * P)}`, n: int(g, 1, pages - p) };
}

function eventsFamily(g: Gen): string[] {
  if (chance(g, 50)) return forkEvents(g);
  // a USER_MODE_ONLY, non-blocking userfaultfd with some of EVENT_REMAP / REMOVE / UNMAP
  let features = 0;
  for (const f of [0x4, 0x8, 0x40, 0x100]) if (chance(g, 60)) features |= f;
  const s = ["uffd U 0x801", `ioctl $U API 0xaa ${hex(features)} 0`, `${chance(g, 60) ? "anon" : "sanon"} A 8 3`, "anon B 8 3",
    "anon S 2 3", `fill $S 0x2000 ${int(g, 1, 255)}`, `ioctl $U REGISTER $A 0x8000 ${pick(g, ["1", "1", "3"])} 0`];
  const fillPage = () => {
    const pg = `$A+${hex(int(g, 0, 7) * P)}`;
    s.push(chance(g, 60) ? `ioctl $U COPY ${pg} $S 0x1000 0 0x77` : `ioctl $U ZEROPAGE ${pg} 0x1000 0 0x77`);
  };
  for (let i = int(g, 0, 3); i > 0; i--) fillPage();
  const calls = int(g, 1, 2);
  for (let c = 0; c < calls; c++) {
    const r = int(g, 0, 9);
    const { at, n } = areaRun(g, "A", 8);
    let call: string;
    if (r < 3) call = `munmap ${at} ${hex(n * P)}`;
    else if (r < 6) call = `madvise ${at} ${hex(n * P)} ${pick(g, [4, 4, 8, 9])}`;
    else if (r < 8) {
      call = chance(g, 30) ? `mremap ${at} ${hex(n * P)} ${hex(int(g, 1, n) * P)} 0` // shrink in place (growing depends on the layout)
        : `mremap ${at} ${hex(n * P)} ${hex(n * P)} ${pick(g, ["3", "3", "7"])} $B+${hex(int(g, 0, 8 - n) * P)} as C${c}`;
    } else call = `mmap ${at} ${hex(Math.min(n, 2) * P)} 3 0x32 -1 0`;
    // the producer waits while its event is unread: read what it queued (a call queues at most two
    // events here: REMOVE per VMA, or REMAP then UNMAP; munmap and mmap one), then join it
    s.push(`tsys ${call}`, "tsbusy", "read $U 32");
    if (/^(madvise|mremap) /.test(call)) s.push("tsbusy", "read $U 32");
    s.push("tsjoin");
    for (let i = int(g, 0, 2); i > 0; i--) fillPage();
    if (chance(g, 30)) s.push("fdinfo $U");
  }
  // no access may wait for a userfault: unregister everything, then look at the memory
  s.push("ioctl $U UNREGISTER $A 0x8000", "ioctl $U UNREGISTER $B 0x8000");
  for (let p = 0; p < 8; p += int(g, 1, 4)) s.push(`load $A+${hex(p * P)} ${P}`);
  s.push(`load $B ${hex(8 * P)}`);
  return s;
}

/**
 * fork by the producer thread with a registered area: with EVENT_FORK it waits until the FORK message
 * is read (`readwait ... as F` binds the child's new userfaultfd), which is then used (fdflags,
 * fdinfo, API, REGISTER / UNREGISTER / COPY / ZEROPAGE / WAKE in the child's mm, read, poll, close)
 * before and after the child exits; without it (or with nothing registered) there is no message, and
 * a child's load (fork-check) of a page missing in the registered area does not wait.
 */
function forkEvents(g: Gen): string[] {
  const fork = chance(g, 75);
  let features = fork ? 0x2 : 0;
  for (const f of [0x4, 0x8, 0x40, 0x100]) if (chance(g, 30)) features |= f;
  const shmem = chance(g, 30);
  const registered = chance(g, 90);
  const s = [`uffd U ${pick(g, ["0x801", "0x801", "0x80801"])}`, `ioctl $U API 0xaa ${hex(features)} 0`,
    `${shmem ? "sanon" : "anon"} A 4 3`, "anon S 1 3", `fill $S 0x1000 ${int(g, 1, 255)}`];
  if (registered) s.push(`ioctl $U REGISTER $A 0x4000 ${shmem ? "1" : pick(g, ["1", "1", "3"])} 0`);
  const page = () => `$A+${hex(int(g, 0, 3) * P)}`;
  const fillPage = (fd: string) =>
    s.push(chance(g, 60) ? `ioctl ${fd} COPY ${page()} $S 0x1000 0 0x77` : `ioctl ${fd} ZEROPAGE ${page()} 0x1000 0 0x77`);
  for (let i = int(g, 0, 2); i > 0; i--) fillPage("$U");
  const forks = chance(g, 25) ? 2 : 1;
  for (let k = 0; k < forks; k++) {
    const F = k === 0 ? "F" : "G";
    s.push("tsys fork");
    const event = fork && registered;
    if (event) {
      s.push("tsbusy");
      if (chance(g, 30)) fillPage("$U"); // EAGAIN while the fork is unfinished (mmap_changing)
      s.push(`readwait $U 32 as ${F}`, "tsjoin");
    } else s.push("tsjoin", "read $U 32");
    if (!event) {
      // without EVENT_FORK the child's copy of the area is not registered: its loads never wait
      if (registered && chance(g, 60)) s.push(`fork-check ${page()} ${int(g, 1, P)}`);
      s.push("childexit");
      continue;
    }
    let open = true, alive = true;
    for (let i = int(g, 1, 8); i > 0 && open; i--) {
      const r = int(g, 0, 13);
      const run = () => { const { at, n } = areaRun(g, "A", 4); return `${at} ${hex(n * P)}`; };
      if (r < 1) s.push(`fdflags $${F}`);
      else if (r < 3) s.push(`fdinfo $${F}`);
      else if (r < 4) s.push(`ioctl $${F} API 0xaa ${pick(g, ["0", "0x2", "0x8"])} 0x77`);
      else if (r < 5) s.push(`ioctl $${F} UNREGISTER ${run()}`);
      else if (r < 6) s.push(`ioctl $${F} REGISTER ${run()} ${pick(g, ["1", "2", "3", "4"])} 0x77`);
      else if (r < 8) fillPage(`$${F}`);
      else if (r < 9) s.push(`ioctl $${F} WAKE ${run()}`);
      else if (r < 10) s.push(`read $${F} 32`);
      else if (r < 11) s.push(`poll $${F}`);
      else if (r < 12) fillPage("$U"); // the parent's pages are its own
      else if (r < 13 && alive) { s.push("childexit"); alive = false; }
      else { s.push(`close $${F}`); open = false; }
    }
    if (alive) s.push("childexit");
  }
  // no access may wait for a userfault: unregister, then look at the parent's memory
  if (registered) s.push("ioctl $U UNREGISTER $A 0x4000");
  for (let p = 0; p < 4; p += int(g, 1, 2)) s.push(`load $A+${hex(p * P)} ${P}`);
  return s;
}

/** guest_memfd (no userfaultfd: registering it differs between 6.18 and 7.1 by design). */
function kvmFamily(g: Gen): string[] {
  const pages = int(g, 1, 8);
  const size = chance(g, 95) ? hex(pages * P) : pick(g, ["0", "1", "0x1001", "-4096"]);
  const flags = chance(g, 95) ? pick(g, [3, 3, 3, 3, 3, 1, 2, 0]) : pick(g, [4, 7, 0x100]);
  const mpages = int(g, 1, 8);
  const s = ["kvm K", "vm V $K 0", `gmem G $V ${size} ${flags}`,
    `mmap 0 ${hex(mpages * P)} ${pick(g, [3, 3, 3, 3, 1, 7, 0])} ${pick(g, [1, 1, 1, 1, 3, 2])} $G ${hex((chance(g, 90) ? 0 : int(g, 1, 8)) * P)} as M`];
  const n = int(g, 2, 12);
  for (let i = 0; i < n; i++) {
    const p = int(g, 0, mpages - 1);
    const at = p === 0 ? "$M" : `$M+${hex(p * P)}`;
    switch (int(g, 0, 9)) {
      case 0: case 1: s.push(`load ${at} ${int(g, 1, (mpages - p) * P)}`); break;
      case 2: case 3: s.push(chance(g, 50) ? `store ${at} ${int(g, 0, 255)}` : `fill ${at} ${int(g, 1, (mpages - p) * P)} ${int(g, 0, 255)}`); break;
      case 4: s.push(`fallocate $G ${pick(g, [3, 3, 1, 0, 2, 0x10])} ${hex(int(g, 0, 9) * P)} ${pick(g, [hex(int(g, 1, 4) * P), "0", "1"])}`); break;
      case 5: s.push(`madvise ${at} ${hex(int(g, 1, mpages - p) * P)} ${pick(g, [4, 9, 14, 25])}`); break;
      case 6: s.push(`mprotect ${at} ${hex(int(g, 1, mpages - p) * P)} ${pick(g, [0, 1, 3, 7])}`); break;
      case 7: {
        const G = wide(g, "$G");
        s.push(pick(g, [`fstat ${G}`, `ftruncate ${G} ${hex(int(g, 0, 9) * P)}`, `pread ${G} 8 0`, `pwrite ${G} 8 0 1`, `lseek ${G} 0 ${wide(g, "0")}`, `fcntl ${G} 3 0`]));
        break;
      }
      case 8: s.push(`cap ${pick(g, ["$K", "$V"])} ${pick(g, [234, 244, 231, 10, 235, 118, 233])}`); break;
      default:
        s.push(`slot $V ${int(g, 0, 3)} ${pick(g, [4, 4, 0, 6])} ${pick(g, ["0", "0x100000", "0x1000"])} ${pick(g, ["0x1000", "0x2000", "0", "0x1001"])} ` +
          `${pick(g, ["0", "0", "0x10000", "0x1001"])} ${pick(g, ["$G", "$G", "999"])} ${pick(g, ["0", "0x1000", "0x3000", "1"])}`);
    }
  }
  return s;
}

export type Family = "mm" | "uffd" | "threads" | "events" | "kvm";

/** One random scenario of the given family (or any), from a fast-check generator. */
export const scenarioArb = (family?: Family) =>
  fc.gen().map((g) => {
    const f = family ?? pick(g, ["mm", "mm", "mm", "uffd", "uffd", "threads", "events", "events", "kvm"] as const);
    const steps = f === "mm" ? mmFamily(g) : f === "uffd" ? uffdFamily(g) : f === "threads" ? threadsFamily(g) : f === "events" ? eventsFamily(g) : kvmFamily(g);
    return { family: f, steps };
  });

/** `n` scenarios from `seed`: the same list every time. */
export function randomScenarios(seed: number, n: number): { family: string; steps: string[] }[] {
  return fc.sample(scenarioArb(), { seed, numRuns: n });
}
