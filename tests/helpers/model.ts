/**
 * A deliberately simple reference model of Linux 6.18 address spaces and memfd files, for the
 * property tests: tests/property/mm-model.test.ts runs random command sequences on uffdlab and on this
 * model; tests/property/mm-model-host.test.ts runs the same sequences on the host's real Linux 6.18
 * and on this model, which checks the model itself. The model follows the man pages (mmap(2),
 * mprotect(2), mremap(2), madvise(2), ...) and, where they are silent, what the real 6.18 kernel does.
 * Rules found that way (all measured on 6.18.44 x86-64) are marked in the method comments, among them: an mmap hint is rounded
 * down; MADV_POPULATE_* stop at the first hole; POPULATE_READ needs PROT_READ itself; ftruncate to the
 * same size truncates; mremap FIXED with equal sizes moves each VMA piece separately (with DONTUNMAP
 * too); a failed pwrite leaves the target page allocated and i_size raised to the write position.
 *
 * Granularity is the page. A process is a map page-number -> MPage; a file (a memfd, or the hidden
 * shmem file behind a MAP_SHARED|MAP_ANONYMOUS mapping) is a size plus a map page-offset -> contents.
 * Contents are sparse byte maps (offset -> byte; a missing offset is 0), so "reads 0 until written"
 * is the empty map.
 *
 *   private anonymous page   priv = its contents (null: never written, reads 0)
 *   shared page (memfd or    contents live in the file (files[file].pages[pgoff]); priv unused
 *     shared anonymous)
 *   private memfd page       priv = the private copy once written (or populated for write);
 *                            until then the page shows the file's current contents
 *
 * What is NOT modelled: VMA boundaries. Linux merges and splits VMAs by rules (anon_vma
 * compatibility, ...) that the tests do not pin. The only results that depend on boundaries are
 * mremap's "the old range must lie in one VMA" checks and in-place growth "at the end of the VMA";
 * for those the model is handed the kernel's VMA list (`VmaAt`) taken just before the call. Every
 * kernel VMA is separately checked to be homogeneous in the model (same protection, sharing, file,
 * contiguous file offsets, fork flags), so a kernel that merged pages it must not merge is still
 * caught.
 */

export const PAGE = 4096;
export const TASK_SIZE = 0x7ffffffff000;
export const MMAP_MIN_ADDR = 0x10000;
/** uffdlab's fixed mm->mmap_base (no ASLR): top of the top-down allocation area. */
export const MMAP_BASE = 0x7f0000000000;

// Linux UAPI numbers (x86-64), spelled out so the model does not depend on the kernel's ABI file.
export const PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
export const MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_POPULATE = 0x8000, MAP_FIXED_NOREPLACE = 0x100000;
export const MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2, MREMAP_DONTUNMAP = 4;
export const MADV = {
  NORMAL: 0, WILLNEED: 3, DONTNEED: 4, REMOVE: 9, DONTFORK: 10, DOFORK: 11, WIPEONFORK: 18, KEEPONFORK: 19,
  POPULATE_READ: 22, POPULATE_WRITE: 23,
} as const;
export const FALLOC_FL_KEEP_SIZE = 1, FALLOC_FL_PUNCH_HOLE = 2;
export const F_SEAL_SEAL = 1, F_SEAL_SHRINK = 2, F_SEAL_GROW = 4, F_SEAL_WRITE = 8, F_SEAL_FUTURE_WRITE = 0x10, F_SEAL_EXEC = 0x20;
export const MFD_ALLOW_SEALING = 2;
const WRITE_SEALS = F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;

export type Content = Map<number, number>;
export type Signal = "SIGSEGV" | "SIGBUS";
/** What a step produced: a value (syscall return or loaded value), an errno name, or a signal. */
export type Outcome = { ok: number } | { err: string } | { sig: Signal };

export const ok = (v = 0): Outcome => ({ ok: v });
export const err = (e: string): Outcome => ({ err: e });
export const sig = (s: Signal): Outcome => ({ sig: s });
export function showOutcome(o: Outcome): string {
  if ("ok" in o) return `ok ${o.ok >= 0x10000 ? "0x" + o.ok.toString(16) : o.ok}`;
  if ("err" in o) return `err ${o.err}`;
  return `sig ${o.sig}`;
}
export function sameOutcome(a: Outcome, b: Outcome): boolean {
  return showOutcome(a) === showOutcome(b);
}

export interface MFile {
  id: number;
  /** i_size in bytes (not necessarily a page multiple). */
  size: number;
  /** The page cache: page offset -> contents. Presence = the page is allocated (st_blocks). */
  pages: Map<number, Content>;
  /** The hidden file of a MAP_SHARED|MAP_ANONYMOUS mapping (no fd reaches it). */
  anon: boolean;
  /** F_SEAL_* bits (F_SEAL_SEAL unless created with MFD_ALLOW_SEALING). memfds are mode 0777. */
  seals: number;
  /** Inode number, learned from fstat (memfd) or from the first VMA that shows it (shared anon). */
  ino?: number;
}

export interface MPage {
  /** PROT_* bits (READ|WRITE|EXEC). */
  prot: number;
  /** MAP_SHARED (VM_SHARED | VM_MAYSHARE). */
  shared: boolean;
  /** The file behind the page, or null for private anonymous memory. */
  file: number | null;
  /** File page offset (file-backed pages; unused for private anonymous pages). */
  pgoff: number;
  /** Private contents: anonymous private pages, or the private copy of a MAP_PRIVATE memfd page. */
  priv: Content | null;
  dontfork: boolean;
  wipeonfork: boolean;
  /**
   * VM_MAYWRITE: false only for a MAP_SHARED mapping made while the file was write-sealed, which
   * mprotect may then never make writable (and which does not block F_SEAL_WRITE).
   */
  maywrite: boolean;
}

export interface MProc {
  pid: number;
  pages: Map<number, MPage>;
  /** fd -> file id */
  fds: Map<number, number>;
}

/** The kernel's VMA containing `addr` (page-aligned byte addresses), or null. */
export type VmaAt = (addr: number) => { start: number; end: number } | null;

const pageUp = (n: number) => Math.ceil(n / PAGE) * PAGE;
const aligned = (a: number) => a % PAGE === 0;
const clone = (c: Content | null): Content | null => (c ? new Map(c) : null);

export class MmModel {
  readonly files = new Map<number, MFile>();
  readonly procs = new Map<number, MProc>();
  private nextFileId = 1;
  /**
   * Pages that are occupied although the model did not map them (a host-kernel harness's own code,
   * stack and libraries). They count as "mapped" for placement and for MAP_FIXED_NOREPLACE.
   */
  reserved: (vpn: number) => boolean = () => false;
  /**
   * Where the kernel puts a mapping it places itself. Default: the top-down rule (exact). A harness
   * whose kernel randomises the layout (ASLR) installs a hook that accepts the kernel's choice after
   * checking it is page-aligned and free.
   */
  place: ((pid: number, len: number) => number | null) | null = null;
  /**
   * Whether a PROT_EXEC-only page can be read. Without protection keys, yes (x86-64: execute implies read). A host whose
   * CPU has protection keys (pku/ospke) makes PROT_EXEC-only mappings execute-only, and reads SIGSEGV.
   */
  execOnlyReadable = true;

  // ---- processes ----------------------------------------------------------------------------

  spawn(pid: number): MProc {
    const p: MProc = { pid, pages: new Map(), fds: new Map() };
    this.procs.set(pid, p);
    return p;
  }

  proc(pid: number): MProc {
    const p = this.procs.get(pid);
    if (!p) throw new Error(`model: no process ${pid}`);
    return p;
  }

  /**
   * fork: the child gets every page not marked DONTFORK. Private contents are copied (copy-on-write
   * seen from outside: later writes on one side do not show on the other); WIPEONFORK pages start
   * empty in the child and keep the flag; shared pages keep pointing at the same file; fds are copied.
   */
  fork(parent: number, child: number): void {
    const pp = this.proc(parent);
    const c = this.spawn(child);
    for (const [vpn, e] of pp.pages) {
      if (e.dontfork) continue;
      c.pages.set(vpn, { ...e, priv: e.wipeonfork ? null : clone(e.priv) });
    }
    for (const [fd, f] of pp.fds) c.fds.set(fd, f);
  }

  exit(pid: number): void {
    this.procs.delete(pid);
    this.collectFiles();
  }

  /** Forget files no fd and no page refers to (the kernel frees their inodes). */
  private collectFiles(): void {
    const live = new Set<number>();
    for (const p of this.procs.values()) {
      for (const f of p.fds.values()) live.add(f);
      for (const e of p.pages.values()) if (e.file !== null) live.add(e.file);
    }
    for (const id of [...this.files.keys()]) if (!live.has(id)) this.files.delete(id);
  }

  // ---- files ----------------------------------------------------------------------------------

  private newFile(size: number, anon: boolean, seals = F_SEAL_SEAL): MFile {
    const f: MFile = { id: this.nextFileId++, size, pages: new Map(), anon, seals };
    this.files.set(f.id, f);
    return f;
  }

  private fileOfFd(pid: number, fd: number): MFile | null {
    const id = this.proc(pid).fds.get(fd);
    return id === undefined ? null : this.files.get(id)!;
  }

  /** memfd_create (flags 0 or MFD_ALLOW_SEALING): the lowest free descriptor. Returns [outcome, file id]. */
  memfdCreate(pid: number, flags = 0): [Outcome, number] {
    const p = this.proc(pid);
    let fd = 0;
    while (p.fds.has(fd)) fd++;
    const f = this.newFile(0, false, flags & MFD_ALLOW_SEALING ? 0 : F_SEAL_SEAL);
    p.fds.set(fd, f.id);
    return [ok(fd), f.id];
  }

  close(pid: number, fd: number): Outcome {
    const p = this.proc(pid);
    if (!p.fds.has(fd)) return err("EBADF");
    p.fds.delete(fd);
    this.collectFiles();
    return ok(0);
  }

  fstat(pid: number, fd: number): { size: number; blocks: number } | null {
    const f = this.fileOfFd(pid, fd);
    return f ? { size: f.size, blocks: 8 * f.pages.size } : null;
  }

  /**
   * fcntl(F_ADD_SEALS). F_SEAL_EXEC on an executable memfd (mode 0777) implies the write, shrink and
   * grow seals; F_SEAL_WRITE is EBUSY while any MAP_SHARED mapping with VM_MAYWRITE — even PROT_READ —
   * maps the file, in any process (both measured on 6.18).
   */
  addSeals(pid: number, fd: number, seals: number): Outcome {
    const f = this.fileOfFd(pid, fd);
    if (!f) return err("EBADF");
    if (seals & ~0x3f) return err("EINVAL");
    if (f.seals & F_SEAL_SEAL) return err("EPERM");
    if (seals & F_SEAL_EXEC) seals |= F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
    if ((seals & F_SEAL_WRITE) && !(f.seals & F_SEAL_WRITE)) {
      for (const p of this.procs.values())
        for (const e of p.pages.values()) if (e.file === f.id && e.shared && e.maywrite) return err("EBUSY");
    }
    f.seals |= seals;
    return ok(0);
  }

  getSeals(pid: number, fd: number): Outcome {
    const f = this.fileOfFd(pid, fd);
    return f ? ok(f.seals) : err("EBADF");
  }

  /** Pages of the file addressable by a mapping: [0, ceil(size / PAGE)). */
  private eofPage(f: MFile): number {
    return Math.ceil(f.size / PAGE);
  }

  /** Zero bytes [from, to) of file page `pg` if it is allocated (partial-page truncate / punch). */
  private zeroBytes(f: MFile, pg: number, from: number, to: number): void {
    const c = f.pages.get(pg);
    if (!c) return;
    for (const off of [...c.keys()]) if (off >= from && off < to) c.delete(off);
  }

  /**
   * ftruncate (memfd). Shrinking — and, as in shmem_setattr, truncating to the same size — frees the
   * file pages beyond the new EOF (also pages FALLOC_FL_KEEP_SIZE allocated there) and zeroes the tail
   * of a partial last page; private copies beyond EOF in every MAP_PRIVATE mapping are discarded too
   * (truncation unmaps "even COWs"), so those pages SIGBUS afterwards. Growing adds a hole.
   */
  ftruncate(pid: number, fd: number, length: number): Outcome {
    if (length < 0) return err("EINVAL");
    const f = this.fileOfFd(pid, fd);
    if (!f) return err("EBADF");
    if ((length < f.size && f.seals & F_SEAL_SHRINK) || (length > f.size && f.seals & F_SEAL_GROW)) return err("EPERM");
    if (length <= f.size) {
      const keep = Math.ceil(length / PAGE);
      for (const pg of [...f.pages.keys()]) if (pg >= keep) f.pages.delete(pg);
      if (length % PAGE !== 0) this.zeroBytes(f, Math.floor(length / PAGE), length % PAGE, PAGE);
      for (const p of this.procs.values())
        for (const e of p.pages.values()) if (e.file === f.id && !e.shared && e.pgoff >= keep) e.priv = null;
    }
    f.size = length;
    return ok(0);
  }

  /** Hole punch of bytes [off, off + len): whole pages leave the cache, partial pages are zeroed. */
  private punch(f: MFile, off: number, len: number): void {
    const end = off + len;
    for (let pg = Math.floor(off / PAGE); pg * PAGE < end; pg++) {
      const a = Math.max(off, pg * PAGE) - pg * PAGE;
      const b = Math.min(end, (pg + 1) * PAGE) - pg * PAGE;
      if (a === 0 && b === PAGE) f.pages.delete(pg);
      else this.zeroBytes(f, pg, a, b);
    }
    // Private copies in MAP_PRIVATE mappings survive a hole punch (no even_cows).
  }

  /** fallocate (memfd): mode 0, KEEP_SIZE, PUNCH_HOLE|KEEP_SIZE. */
  fallocate(pid: number, fd: number, mode: number, off: number, len: number): Outcome {
    const f0 = this.proc(pid).fds.get(fd);
    if (f0 === undefined) return err("EBADF");
    if (off < 0 || len <= 0) return err("EINVAL");
    if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) return err("EOPNOTSUPP");
    if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE)) return err("EOPNOTSUPP");
    const f = this.files.get(f0)!;
    if (mode & FALLOC_FL_PUNCH_HOLE) {
      if (f.seals & WRITE_SEALS) return err("EPERM");
      this.punch(f, off, len);
      return ok(0);
    }
    if ((f.seals & F_SEAL_GROW) && off + len > f.size) return err("EPERM");
    for (let pg = Math.floor(off / PAGE); pg * PAGE < off + len; pg++) if (!f.pages.has(pg)) f.pages.set(pg, new Map());
    if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > f.size) f.size = off + len;
    return ok(0);
  }

  /**
   * The write path of pwrite(2) (generic_perform_write + shmem_write_begin/end), one file page at a
   * time: write seals are EPERM; with F_SEAL_GROW a chunk ending beyond EOF stops the write (EPERM if
   * it is the first). shmem_write_begin allocates the page before the copy; `src(i)` gives byte i of
   * the buffer, or null where the kernel could not fault the buffer in — the copy stops there (EFAULT if
   * nothing was written), and shmem_write_end with nothing copied still raises i_size to the position
   * (measured on 6.18: a failed write leaves that page allocated and the size raised).
   */
  private writeFile(f: MFile, off: number, n: number, src: (i: number) => number | null): Outcome {
    if (off < 0) return err("EINVAL");
    let done = 0;
    while (done < n) {
      const pos = off + done;
      const chunk = Math.min(PAGE - (pos % PAGE), n - done);
      if (f.seals & WRITE_SEALS) break;
      if ((f.seals & F_SEAL_GROW) && pos + chunk > f.size) break;
      const pg = Math.floor(pos / PAGE);
      let c = f.pages.get(pg);
      if (!c) f.pages.set(pg, (c = new Map()));
      let copied = 0;
      for (; copied < chunk; copied++) {
        const b = src(done + copied);
        if (b === null) break;
        if (b === 0) c.delete((pos + copied) % PAGE);
        else c.set((pos + copied) % PAGE, b);
      }
      if (pos + copied > f.size) f.size = pos + copied;
      done += copied;
      if (copied < chunk) return done > 0 ? ok(done) : err("EFAULT");
    }
    return done > 0 || n === 0 ? ok(done) : err("EPERM");
  }

  /** pwrite(2) of `data` at `off` (from the staging window: the buffer never faults). */
  pwrite(pid: number, fd: number, data: number[], off: number): Outcome {
    const f = this.fileOfFd(pid, fd);
    if (!f) return err("EBADF");
    return this.writeFile(f, off, data.length, (i) => data[i]);
  }

  /**
   * pwrite(2) from user memory [src, src + n), a buffer that does not map the file being written.
   * The kernel reads the buffer as the program would, in order; it stops at the first byte whose page
   * cannot be faulted in (unmapped, no access, beyond EOF) — no signal, a short count or EFAULT.
   */
  pwriteFrom(pid: number, fd: number, src: number, n: number, off: number): Outcome {
    const f = this.fileOfFd(pid, fd);
    if (!f) return err("EBADF");
    const p = this.proc(pid);
    let bad = n; // index of the first byte that cannot be read
    return this.writeFile(f, off, n, (i) => {
      if (i >= bad) return null;
      const a = src + i, vpn = Math.floor(a / PAGE);
      if ((i === 0 || a % PAGE === 0) && this.faultIn(p, vpn, false)) {
        bad = i;
        return null;
      }
      return this.contents(p, vpn)?.get(a % PAGE) ?? 0;
    });
  }

  /** pread(2): the bytes of [off, min(off + len, i_size)); holes read 0 and stay holes. */
  pread(pid: number, fd: number, len: number, off: number): number[] | Outcome {
    const f = this.fileOfFd(pid, fd);
    if (!f) return err("EBADF");
    if (off < 0) return err("EINVAL");
    const out: number[] = [];
    for (let a = off; a < Math.min(off + len, f.size); a++) out.push(f.pages.get(Math.floor(a / PAGE))?.get(a % PAGE) ?? 0);
    return out;
  }

  /** The file a page shows, or null (private anonymous memory, or a private copy). */
  fileShownAt(pid: number, addr: number): number | null {
    const e = this.proc(pid).pages.get(Math.floor(addr / PAGE));
    return e && e.file !== null ? e.file : null;
  }

  /**
   * pread(2) into user memory [dst, dst + n) (not a mapping of the same file): nothing at or beyond EOF
   * returns 0 without touching the buffer; otherwise the kernel writes the buffer as the program would,
   * in order, and stops at the first byte whose page cannot be faulted in for writing: the count so far,
   * or EFAULT if it is 0.
   */
  preadTo(pid: number, fd: number, dst: number, n: number, off: number): Outcome {
    const r = this.pread(pid, fd, n, off);
    if (!Array.isArray(r)) return r;
    if (r.length === 0) return ok(0);
    const p = this.proc(pid);
    let done = 0;
    for (; done < r.length; done++) {
      const a = dst + done, vpn = Math.floor(a / PAGE);
      if ((done === 0 || a % PAGE === 0) && this.faultIn(p, vpn, true)) break;
      const c = this.contents(p, vpn)!;
      if (r[done] === 0) c.delete(a % PAGE);
      else c.set(a % PAGE, r[done]);
    }
    return done > 0 ? ok(done) : err("EFAULT");
  }

  // ---- address-space helpers ------------------------------------------------------------------

  /** Whether any page of [addr, addr + len) is mapped. */
  intersects(p: MProc, addr: number, len: number): boolean {
    for (let a = addr; a < addr + len; a += PAGE) if (p.pages.has(a / PAGE) || this.reserved(a / PAGE)) return true;
    return false;
  }

  private choose(pid: number, len: number): number | null {
    return this.place ? this.place(pid, len) : this.topdown(pid, len);
  }

  private unmapRange(p: MProc, addr: number, len: number): void {
    for (let a = addr; a < addr + len; a += PAGE) p.pages.delete(a / PAGE);
  }

  /**
   * The top-down allocator: the highest page-aligned start below mmap_base where `len` bytes are free
   * (arch_get_unmapped_area_topdown / vm_unmapped_area with no randomisation), or null.
   */
  topdown(pid: number, len: number): number | null {
    const p = this.proc(pid);
    const n = len / PAGE;
    const top = MMAP_BASE / PAGE, low = MMAP_MIN_ADDR / PAGE;
    const used = [...p.pages.keys()].filter((v) => v < top).sort((a, b) => b - a);
    let gapEnd = top;
    for (const v of used) {
      if (gapEnd - (v + 1) >= n) return (gapEnd - n) * PAGE;
      gapEnd = v;
    }
    return gapEnd - low >= n ? (gapEnd - n) * PAGE : null;
  }

  // ---- memory access ----------------------------------------------------------------------------

  /**
   * The fault side of one access to page `vpn`: permission and EOF checks, then what the fault
   * allocates or copies (a file page on any fault inside EOF; a private copy on a write to a
   * MAP_PRIVATE page). Returns null when the access may proceed.
   */
  private faultIn(p: MProc, vpn: number, write: boolean): Signal | null {
    const e = p.pages.get(vpn);
    if (!e) return "SIGSEGV";
    const readable = (e.prot & (PROT_READ | PROT_WRITE)) !== 0 || ((e.prot & PROT_EXEC) !== 0 && this.execOnlyReadable);
    if (write ? !(e.prot & PROT_WRITE) : !readable) return "SIGSEGV";
    if (e.file === null) {
      if (write && !e.priv) e.priv = new Map();
      return null;
    }
    if (!e.shared && e.priv) return null; // the private copy is mapped; no fault
    const f = this.files.get(e.file)!;
    if (e.pgoff >= this.eofPage(f)) return "SIGBUS";
    let c = f.pages.get(e.pgoff);
    if (!c) f.pages.set(e.pgoff, (c = new Map())); // shmem faults allocate the page, also for reads
    if (write && !e.shared) e.priv = new Map(c);
    return null;
  }

  /** The contents an access to page `vpn` sees (after faultIn succeeded). */
  private contents(p: MProc, vpn: number): Content | null {
    const e = p.pages.get(vpn)!;
    if (e.file === null) return e.priv;
    if (!e.shared && e.priv) return e.priv;
    return this.files.get(e.file)!.pages.get(e.pgoff) ?? null;
  }

  /**
   * A load (value === undefined) or store of `size` bytes (little-endian) at `addr`. An access that
   * spans two pages faults both in, in ascending order, before any byte is stored (one x86 instruction).
   */
  access(pid: number, addr: number, size: number, value?: number): Outcome {
    const p = this.proc(pid);
    const write = value !== undefined;
    const first = Math.floor(addr / PAGE), last = Math.floor((addr + size - 1) / PAGE);
    for (let vpn = first; vpn <= last; vpn++) {
      const s = this.faultIn(p, vpn, write);
      if (s) return sig(s);
    }
    let v = 0;
    for (let i = 0; i < size; i++) {
      const a = addr + i;
      const vpn = Math.floor(a / PAGE), off = a % PAGE;
      const c = this.contents(p, vpn);
      if (write) {
        const b = Math.floor(value! / 2 ** (8 * i)) & 0xff;
        if (b === 0) c!.delete(off);
        else c!.set(off, b);
      } else {
        v += (c?.get(off) ?? 0) * 2 ** (8 * i);
      }
    }
    return ok(write ? 0 : v);
  }

  // ---- mmap / munmap / mprotect ---------------------------------------------------------------------

  /** mmap(2) for anonymous private/shared memory and memfds. Returns the address or an errno. */
  mmap(pid: number, addr: number, len: number, prot: number, flags: number, fd: number, off: number): Outcome {
    const p = this.proc(pid);
    if (off % PAGE !== 0) return err("EINVAL");
    const anon = (flags & MAP_ANONYMOUS) !== 0;
    let file: MFile | null = null;
    if (!anon) {
      file = this.fileOfFd(pid, fd);
      if (!file) return err("EBADF");
    }
    if (len === 0) return err("EINVAL");
    const fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0;
    if (!fixed) {
      // round_hint_to_min: the hint is rounded DOWN to a page, then raised to mmap_min_addr.
      addr = addr - (addr % PAGE);
      if (addr !== 0 && addr < MMAP_MIN_ADDR) addr = MMAP_MIN_ADDR;
    }
    len = pageUp(len);
    const type = flags & 0xf;
    if (type !== MAP_SHARED && type !== MAP_PRIVATE) throw new Error("model: mapping type not modelled");
    // get_unmapped_area
    let at: number;
    if (fixed) {
      if (addr > TASK_SIZE - len) return err("ENOMEM");
      if (!aligned(addr)) return err("EINVAL");
      at = addr;
    } else if (addr !== 0 && addr <= TASK_SIZE - len && !this.intersects(p, addr, len)) {
      at = addr;
    } else {
      const t = this.choose(pid, len);
      if (t === null) return err("ENOMEM");
      at = t;
    }
    if ((flags & MAP_FIXED_NOREPLACE) && this.intersects(p, at, len)) return err("EEXIST");
    const shared = type === MAP_SHARED;
    // memfd_check_seals_mmap: a write-sealed file maps shared only read-only, and for good.
    let maywrite = true;
    if (file && shared && file.seals & WRITE_SEALS) {
      if (prot & PROT_WRITE) return err("EPERM");
      maywrite = false;
    }
    let fileId: number | null = null;
    let pgoff = off / PAGE;
    if (file) fileId = file.id;
    else if (shared) {
      fileId = this.newFile(len, true).id; // shmem_zero_setup: i_size = len, offset ignored
      pgoff = 0;
    }
    this.unmapRange(p, at, len);
    for (let i = 0; i < len / PAGE; i++) {
      p.pages.set(at / PAGE + i, {
        prot: prot & 7, shared, file: fileId, pgoff: fileId === null ? 0 : pgoff + i, priv: null, dontfork: false, wipeonfork: false, maywrite,
      });
    }
    if ((flags & MAP_POPULATE) && (prot & 7)) {
      // mm_populate: fault every page in, for write where that breaks COW (private writable
      // mappings), else for read; errors are ignored and end the populate (a page beyond EOF).
      const write = (prot & PROT_WRITE) !== 0 && !shared;
      for (let i = 0; i < len / PAGE; i++) if (this.faultIn(p, at / PAGE + i, write)) break;
    }
    this.collectFiles();
    return ok(at);
  }

  munmap(pid: number, addr: number, len: number): Outcome {
    if (!aligned(addr) || addr > TASK_SIZE || len > TASK_SIZE - addr) return err("EINVAL");
    len = pageUp(len);
    if (len === 0) return err("EINVAL");
    this.unmapRange(this.proc(pid), addr, len);
    this.collectFiles();
    return ok(0);
  }

  /** mprotect: pages up to the first hole change; a hole anywhere (or at the start) is ENOMEM. */
  mprotect(pid: number, addr: number, len: number, prot: number): Outcome {
    if (!aligned(addr)) return err("EINVAL");
    if (len === 0) return ok(0);
    len = pageUp(len);
    if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | 8)) return err("EINVAL");
    const p = this.proc(pid);
    for (let a = addr; a < addr + len; a += PAGE) {
      const e = p.pages.get(a / PAGE);
      if (!e) return err("ENOMEM");
      if ((prot & PROT_WRITE) && !e.maywrite) return err("EACCES");
      e.prot = prot & 7;
    }
    return ok(0);
  }

  // ---- madvise ------------------------------------------------------------------------------------

  private static readonly KNOWN_ADVICE = new Set<number>([
    0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 100, 101, 102, 103,
  ]);

  /**
   * madvise. POPULATE_* walk the range page by page and stop at the first problem (hole: ENOMEM,
   * missing permission: EINVAL, SIGBUS: EFAULT) — Linux's madvise_populate. Every other advice visits
   * each mapped part in turn: an error from one part returns at once (earlier parts keep the change);
   * holes make the result ENOMEM after all parts were visited.
   */
  madvise(pid: number, addr: number, len: number, advice: number): Outcome {
    if (!MmModel.KNOWN_ADVICE.has(advice)) return err("EINVAL");
    if (!aligned(addr)) return err("EINVAL");
    const end = addr + pageUp(len);
    if (end === addr) return ok(0);
    const p = this.proc(pid);
    if (advice === MADV.POPULATE_READ || advice === MADV.POPULATE_WRITE) {
      const write = advice === MADV.POPULATE_WRITE;
      for (let a = addr; a < end; a += PAGE) {
        const e = p.pages.get(a / PAGE);
        if (!e) return err("ENOMEM");
        // GUP (check_vma_flags) wants VM_READ for a read even where the CPU could read (W- or X-only).
        if (write ? !(e.prot & PROT_WRITE) : !(e.prot & PROT_READ)) return err("EINVAL");
        if (this.faultIn(p, a / PAGE, write)) return err("EFAULT");
      }
      return ok(0);
    }
    let hole = false;
    for (let a = addr; a < end; a += PAGE) {
      const e = p.pages.get(a / PAGE);
      if (!e) {
        hole = true;
        continue;
      }
      switch (advice) {
        case MADV.DONTNEED:
          // Private contents go (anonymous pages read 0, MAP_PRIVATE memfd pages show the file again);
          // shared pages stay in the file.
          e.priv = null;
          break;
        case MADV.REMOVE:
          if (e.file === null) return err("EINVAL");
          if (!e.shared || !e.maywrite) return err("EACCES");
          if (this.files.get(e.file)!.seals & WRITE_SEALS) return err("EPERM"); // vfs_fallocate's punch
          this.punch(this.files.get(e.file)!, e.pgoff * PAGE, PAGE);
          break;
        case MADV.DONTFORK: e.dontfork = true; break;
        case MADV.DOFORK: e.dontfork = false; break;
        case MADV.WIPEONFORK:
          if (e.file !== null) return err("EINVAL");
          e.wipeonfork = true;
          break;
        case MADV.KEEPONFORK: e.wipeonfork = false; break;
        default: break; // pure hints (NORMAL, WILLNEED, ...) have no modelled effect
      }
    }
    return hole ? err("ENOMEM") : ok(0);
  }

  // ---- mremap -------------------------------------------------------------------------------------

  /** get_unmapped_area without MAP_FIXED: a free, valid hint is honoured, else top-down. */
  private placeHint(pid: number, hint: number, len: number): number | null {
    if (hint !== 0 && hint >= MMAP_MIN_ADDR && hint <= TASK_SIZE - len && !this.intersects(this.proc(pid), hint, len)) return hint;
    return this.choose(pid, len);
  }

  /**
   * mremap, following 6.18's mm/mremap.c: check_mremap_params, then either
   * remap_move (MREMAP_FIXED with equal sizes, DONTUNMAP or not: every VMA piece of the old range
   * moves by the same offset, each piece replacing only its own target range, so the target of a
   * gap in the source keeps its mapping) or check_prep_vma + mremap_to / mremap_at.
   * MREMAP_DONTUNMAP leaves the old range mapped with the same attributes but without its private
   * contents (they moved): private anonymous memory reads 0 there, file pages show the file.
   * old_len 0 on a shared mapping maps the same file pages a second time (EINVAL on a private one).
   */
  mremap(pid: number, addr: number, oldLen: number, newLen: number, flags: number, newAddr: number, vmaAt: VmaAt): Outcome {
    const p = this.proc(pid);
    oldLen = pageUp(oldLen);
    newLen = pageUp(newLen);
    // check_mremap_params
    if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) return err("EINVAL");
    if (!aligned(addr)) return err("EINVAL");
    if (newLen === 0 || newLen > TASK_SIZE) return err("EINVAL");
    const fixed = (flags & MREMAP_FIXED) !== 0;
    const dontunmap = (flags & MREMAP_DONTUNMAP) !== 0;
    const implies = fixed || dontunmap;
    if (implies) {
      if (newAddr > TASK_SIZE - newLen) return err("EINVAL");
      if (!aligned(newAddr)) return err("EINVAL");
      if (!(flags & MREMAP_MAYMOVE)) return err("EINVAL");
      if (dontunmap && oldLen !== newLen) return err("EINVAL");
      if (newAddr < addr + oldLen && addr < newAddr + newLen) return err("EINVAL"); // also for a DONTUNMAP hint
    }
    /** Move the page entries at `from` to `to`; DONTUNMAP keeps the old pages, emptied of private contents. */
    const carry = (from: number, to: number) => {
      const e = p.pages.get(from / PAGE)!;
      p.pages.set(to / PAGE, { ...e });
      if (dontunmap) e.priv = null;
      else p.pages.delete(from / PAGE);
    };
    if (fixed && oldLen === newLen) {
      // remap_move: no gap allowed at the start; each mapped piece moves by (newAddr - addr).
      if (!p.pages.has(addr / PAGE)) return err("EFAULT");
      for (let a = addr; a < addr + oldLen; a += PAGE) {
        if (!p.pages.has(a / PAGE)) continue;
        p.pages.delete((newAddr + (a - addr)) / PAGE);
        carry(a, newAddr + (a - addr));
      }
      this.collectFiles();
      return ok(newAddr);
    }
    // check_prep_vma
    const v = vmaAt(addr);
    if (!v || !p.pages.has(addr / PAGE)) return err("EFAULT");
    const type = oldLen === newLen ? "same" : oldLen > newLen ? "shrink" : "expand";
    if (type === "expand" || implies) {
      if (oldLen === 0 && !p.pages.get(addr / PAGE)!.shared) return err("EINVAL");
      const need = type === "shrink" ? newLen : oldLen; // a shrink may cross VMA ends
      if (need > v.end - addr) return err("EFAULT");
    }
    const tmpl = p.pages.get(addr / PAGE)!;
    // New pages of a grown mapping: the VMA's attributes, file offsets continuing.
    const grown = (i: number): MPage => ({ ...tmpl, pgoff: tmpl.file === null ? 0 : tmpl.pgoff + i, priv: null });
    const move = (to: number, len: number, size: number): Outcome => {
      for (let i = 0; i < len / PAGE; i++) {
        if (!p.pages.has(addr / PAGE + i)) throw new Error(`model: page ${addr + i * PAGE} of the VMA is not mapped`);
      }
      for (let i = 0; i < len / PAGE; i++) carry(addr + i * PAGE, to + i * PAGE);
      for (let i = len / PAGE; i < size / PAGE; i++) p.pages.set(to / PAGE + i, grown(i));
      this.collectFiles();
      return ok(to);
    };
    if (implies) {
      // mremap_to
      if (fixed) {
        this.unmapRange(p, newAddr, newLen);
        // The target may have covered the source (only possible with old_len 0): look it up again.
        if (!p.pages.has(addr / PAGE)) {
          this.collectFiles();
          return err("EFAULT");
        }
      }
      let len = oldLen;
      if (type === "shrink") {
        this.unmapRange(p, addr + newLen, oldLen - newLen);
        len = newLen;
      }
      const to = fixed ? newAddr : this.placeHint(pid, newAddr, newLen);
      if (to === null) return err("ENOMEM");
      return move(to, len, newLen);
    }
    // mremap_at
    if (type === "same") return ok(addr);
    if (type === "shrink") {
      this.unmapRange(p, addr + newLen, oldLen - newLen);
      this.collectFiles();
      return ok(addr);
    }
    const delta = newLen - oldLen;
    if (addr + oldLen === v.end && v.end + delta <= TASK_SIZE && !this.intersects(p, v.end, delta)) {
      for (let i = oldLen / PAGE; i < newLen / PAGE; i++) p.pages.set(addr / PAGE + i, grown(i));
      return ok(addr);
    }
    if (!(flags & MREMAP_MAYMOVE)) return err("ENOMEM");
    const to = this.choose(pid, newLen);
    if (to === null) return err("ENOMEM");
    return move(to, oldLen, newLen);
  }
}
