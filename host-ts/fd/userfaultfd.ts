// A typed userfaultfd over the raw ioctl interface: every method builds the exact Linux
// structure, issues one ioctl, and decodes the structure the kernel wrote back. The hot calls
// (COPY, ZEROPAGE, CONTINUE, WAKE, read) take the kernel's dedicated entries when every field
// is a number in [0, 2^53] and no strace sink is set: the same system call, with the structure
// filled inside the kernel from plain numbers (no BigInt, no per-call buffers).
import * as A from "../abi.gen.js";
import { SystemError, WouldBlockError } from "../errors.js";
import { waitForWakeAsync, s64At, u64At } from "../thread.js";
import type { Process } from "../process.js";
import type { Thread } from "../thread.js";
import type { AsyncThread } from "../sched/scheduler.js";

/** A message read from a userfaultfd (struct uffd_msg, decoded). */
export type UffdMsg =
  | {
      /** UFFD_EVENT_PAGEFAULT: a thread faulted on a registered page and waits. */
      event: "pagefault";
      /** UFFD_PAGEFAULT_FLAG_* bits: WRITE (a write access), WP (a write-protect fault), MINOR (a minor fault). */
      flags: bigint;
      /** The faulting address (page aligned unless UFFD_FEATURE_EXACT_ADDRESS was enabled). */
      address: number;
      /** The faulting thread's tid with UFFD_FEATURE_THREAD_ID, else 0. */
      ptid: number;
    }
  | {
      /** UFFD_EVENT_FORK (UFFD_FEATURE_EVENT_FORK): the process forked. */
      event: "fork";
      /** The fd, in the reading process, of the new userfaultfd that serves the child. */
      ufd: number;
    }
  | {
      /** UFFD_EVENT_REMAP (UFFD_FEATURE_EVENT_REMAP): a registered range was moved by mremap(2). */
      event: "remap";
      /** The range's old start address. */
      from: number;
      /** The range's new start address. */
      to: number;
      /** The range's original length, in bytes. */
      len: number;
    }
  | {
      /**
       * UFFD_EVENT_REMOVE (UFFD_FEATURE_EVENT_REMOVE: madvise MADV_DONTNEED / MADV_REMOVE) or
       * UFFD_EVENT_UNMAP (UFFD_FEATURE_EVENT_UNMAP: munmap, or mremap moving away): the pages of
       * [start, end) of a registered range were dropped.
       */
      event: "remove" | "unmap";
      /** The first address of the range. */
      start: number;
      /** The end of the range (exclusive). */
      end: number;
    }
  | {
      /** A message with an event code this decoder does not know. */
      event: "unknown";
      /** The uffd_msg's `event` byte. */
      code: number;
      /** A copy of the message's UFFD_MSG_SIZE (32) bytes. */
      raw: Uint8Array;
    };

const FILL_NAMES: Record<number, string> = { [A.UFFDIO_COPY]: "UFFDIO_COPY", [A.UFFDIO_ZEROPAGE]: "UFFDIO_ZEROPAGE", [A.UFFDIO_CONTINUE]: "UFFDIO_CONTINUE" };

/** A fill ioctl that stopped part-way or failed: `bytes` is the out-field (bytes done or -errno). */
export class FillError extends SystemError {
  constructor(
    errno: number,
    syscall: string,
    /**
     * The structure's out-field (`copy`, `zeropage`, `mapped`, `updated`, `move`): the bytes
     * filled before the stop (positive), or -errno.
     */
    readonly bytes: bigint,
  ) {
    super(errno, syscall);
  }
}

/**
 * Decode one struct uffd_msg (the first UFFD_MSG_SIZE, 32, bytes of `b`, as read(2) on a
 * userfaultfd returns it) into a {@link UffdMsg}. Unknown event codes decode to
 * `{ event: "unknown" }`, never an error.
 */
export function decodeMsg(b: Uint8Array): UffdMsg {
  const dv = new DataView(b.buffer, b.byteOffset, A.UFFD_MSG_SIZE);
  const ev = dv.getUint8(A.uffd_msg.event);
  const u = (o: number) => dv.getBigUint64(o, true);
  switch (ev) {
    case A.UFFD_EVENT_PAGEFAULT:
      return { event: "pagefault", flags: u(A.uffd_msg.arg0), address: Number(u(A.uffd_msg.arg1)), ptid: dv.getUint32(A.uffd_msg.arg2, true) };
    case A.UFFD_EVENT_FORK: return { event: "fork", ufd: dv.getUint32(A.uffd_msg.arg0, true) };
    case A.UFFD_EVENT_REMAP: return { event: "remap", from: Number(u(A.uffd_msg.arg0)), to: Number(u(A.uffd_msg.arg1)), len: Number(u(A.uffd_msg.arg2)) };
    case A.UFFD_EVENT_REMOVE: case A.UFFD_EVENT_UNMAP:
      return { event: ev === A.UFFD_EVENT_REMOVE ? "remove" : "unmap", start: Number(u(A.uffd_msg.arg0)), end: Number(u(A.uffd_msg.arg1)) };
  }
  return { event: "unknown", code: ev, raw: b.slice(0, A.UFFD_MSG_SIZE) };
}

function struct(size: number, fields: [number, bigint | number][]): Uint8Array {
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  for (const [o, v] of fields) dv.setBigUint64(o, BigInt.asUintN(64, BigInt(v)), true);
  return b;
}
const u64 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getBigUint64(o, true);
const s64 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getBigInt64(o, true);

/** The longest one poll of Userfaultfd.messages() sleeps before it looks again (ms). */
export const MESSAGES_POLL_MS = 20;

/**
 * How {@link Userfaultfd.serveAll} resolves each page fault: exactly one of `copyFrom`,
 * `zeropage` and `continue`.
 */
export interface ServePolicy {
  /**
   * UFFDIO_COPY one page into the faulting page from this address (in the serving thread's
   * process). With `base`, the source is `copyFrom + (page - base)` (a snapshot of the region
   * that starts at `base`); without, every fault copies the page at `copyFrom`.
   */
  copyFrom?: number;
  /** The start of the registered region that `copyFrom` mirrors (see `copyFrom`). */
  base?: number;
  /** UFFDIO_ZEROPAGE the faulting page. */
  zeropage?: boolean;
  /** UFFDIO_CONTINUE the faulting page (MINOR faults: map what the page cache holds). */
  continue?: boolean;
  /** The ioctl's mode bits (e.g. UFFDIO_COPY_MODE_WP); default 0. */
  mode?: number;
  /**
   * Called with each message that is not a page fault the policy can resolve (events such as
   * fork or remap, and write-protect faults). Without it, such messages are kept and returned
   * first by the next read() or messages().
   */
  onEvent?: (msg: UffdMsg) => void;
}

/** Messages read per kernel call by serveAll (a bounce page holds 128). */
const SERVE_BATCH = A.BOUNCE_SIZE / A.UFFD_MSG_SIZE;
const PAGE = A.PAGE_SIZE;
const WP_FLAG = Number(A.UFFD_PAGEFAULT_FLAG_WP);

/** Whether `x` is a number the dedicated entries take: an integer in [0, 2^53]. */
const u53 = (x: unknown): x is number => typeof x === "number" && x >= 0 && x <= 9007199254740992 && Math.floor(x) === x;

/**
 * A userfaultfd file (userfaultfd(2), from {@link Process.userfaultfd}) with typed ioctls: each
 * method builds the Linux structure, issues one ioctl(2) on `thread` and decodes what the
 * kernel wrote back. Ranges are (start, len) in bytes, page aligned; copy and move take
 * (dst, src, len); `mode` is the ioctl's mode bits (UFFDIO_COPY_MODE_*, ...), default 0. A
 * failed ioctl throws SystemError (`syscall` "ioctl UFFDIO_..."; e.g. EINVAL for an unaligned
 * range or bad mode, ENOENT for a fill outside a range registered with this userfaultfd,
 * EEXIST for a page already mapped, EAGAIN while a non-cooperative event is pending); a fill
 * (copy, zeropage, continue, poison, move) that failed or stopped part-way throws
 * {@link FillError}. Disposable (`using` closes it) and async-iterable
 * (`for await (const msg of uffd)`).
 */
export class Userfaultfd implements Disposable, AsyncIterable<UffdMsg> {
  private closed = false;
  /** Messages serveAll read but did not resolve (no onEvent): returned first by read()/messages(). */
  private deferred: UffdMsg[] = [];
  /**
   * serveAll's faults of one read (address, flags, ptid each), copied out of the bounce page
   * (the fills reuse it).
   */
  private scratch: Float64Array | null = null;

  constructor(
    /** The process whose fd table holds the userfaultfd (and whose memory `copy`'s `src` is in). */
    readonly proc: Process,
    /** The userfaultfd's file descriptor in `proc`. */
    readonly fd: number,
    /** The thread that issues the ioctls and reads (default: `proc`'s main thread). */
    readonly thread: Thread = proc.thread,
  ) {}

  private ioctl(name: string, req: number, bytes: Uint8Array): Uint8Array {
    const { ret, bytes: out } = this.proc.ioctl(this.fd, req, bytes, this.thread);
    if (ret < 0n) throw new SystemError(Number(-ret), `ioctl ${name}`);
    return out;
  }

  /**
   * UFFDIO_API: the handshake, required once before any other ioctl; enables `features`
   * (UFFD_FEATURE_* bits). Throws EINVAL for an unsupported feature or a second handshake,
   * EPERM for UFFD_FEATURE_EVENT_FORK without CAP_SYS_PTRACE.
   */
  api(features: bigint = 0n): {
    /** The features the kernel supports (UFFD_FEATURE_* bits). */
    features: bigint;
    /** The ioctls available on the fd, as _UFFDIO_*_BIT bits. */
    ioctls: bigint;
  } {
    const out = this.ioctl("UFFDIO_API", A.UFFDIO_API, struct(A.uffdio_api.SIZEOF, [[A.uffdio_api.api, A.UFFD_API], [A.uffdio_api.features, features]]));
    return { features: u64(out, A.uffdio_api.features), ioctls: u64(out, A.uffdio_api.ioctls) };
  }

  /**
   * UFFDIO_REGISTER: register [start, start + len) for `mode` (UFFDIO_REGISTER_MODE_MISSING,
   * _WP, _MINOR, or'ed); returns the ioctls usable on the range, as _UFFDIO_*_BIT bits.
   */
  register(start: number, len: number, mode: bigint | number): bigint {
    const out = this.ioctl("UFFDIO_REGISTER", A.UFFDIO_REGISTER,
      struct(A.uffdio_register.SIZEOF, [[A.uffdio_register.start, start], [A.uffdio_register.len, len], [A.uffdio_register.mode, mode]]));
    return u64(out, A.uffdio_register.ioctls);
  }

  /** UFFDIO_UNREGISTER: unregister [start, start + len), waking the threads waiting on faults in it. */
  unregister(start: number, len: number): void {
    this.ioctl("UFFDIO_UNREGISTER", A.UFFDIO_UNREGISTER, struct(A.uffdio_range.SIZEOF, [[A.uffdio_range.start, start], [A.uffdio_range.len, len]]));
  }

  /** UFFDIO_WAKE: wake the threads waiting on faults in [start, start + len). */
  wake(start: number, len: number): void {
    if (this.fast(start, len, 0, 0)) {
      const t = this.thread;
      const r = t.k.uffdio_wake(t.handle, this.fd, start, len);
      if (r < 0) throw new SystemError(-r, "ioctl UFFDIO_WAKE");
      return;
    }
    this.ioctl("UFFDIO_WAKE", A.UFFDIO_WAKE, struct(A.uffdio_range.SIZEOF, [[A.uffdio_range.start, start], [A.uffdio_range.len, len]]));
  }

  /**
   * UFFDIO_COPY from `src` (an address in the calling thread's process). Returns bytes copied;
   * a partial copy or a failure throws FillError with the out-field in `bytes`.
   */
  copy(dst: number, src: number, len: number, mode: bigint | number = 0): bigint {
    if (this.fast(dst, src, len, mode)) return BigInt(this.fastFill(A.UFFDIO_COPY, dst, src, len, mode as number));
    return this.fill("UFFDIO_COPY", A.UFFDIO_COPY, A.uffdio_copy.SIZEOF, A.uffdio_copy.copy,
      [[A.uffdio_copy.dst, dst], [A.uffdio_copy.src, src], [A.uffdio_copy.len, len], [A.uffdio_copy.mode, mode]]);
  }

  /** UFFDIO_ZEROPAGE. Returns bytes zero-filled; a partial fill or a failure throws FillError. */
  zeropage(start: number, len: number, mode: bigint | number = 0): bigint {
    if (this.fast(start, len, mode, 0)) return BigInt(this.fastFill(A.UFFDIO_ZEROPAGE, start, 0, len, mode as number));
    return this.fill("UFFDIO_ZEROPAGE", A.UFFDIO_ZEROPAGE, A.uffdio_zeropage.SIZEOF, A.uffdio_zeropage.zeropage,
      [[A.uffdio_zeropage.start, start], [A.uffdio_zeropage.len, len], [A.uffdio_zeropage.mode, mode]]);
  }

  /**
   * UFFDIO_CONTINUE: map the pages already in the page cache (MINOR faults). Returns bytes
   * mapped. Named `continue` (a reserved word is a legal method name: `uffd.continue(...)`).
   */
  continue(start: number, len: number, mode: bigint | number = 0): bigint {
    if (this.fast(start, len, mode, 0)) return BigInt(this.fastFill(A.UFFDIO_CONTINUE, start, 0, len, mode as number));
    return this.fill("UFFDIO_CONTINUE", A.UFFDIO_CONTINUE, A.uffdio_continue.SIZEOF, A.uffdio_continue.mapped,
      [[A.uffdio_continue.start, start], [A.uffdio_continue.len, len], [A.uffdio_continue.mode, mode]]);
  }

  /** UFFDIO_POISON: poisoned PTE markers (a later access is SIGBUS). Returns bytes updated. */
  poison(start: number, len: number, mode: bigint | number = 0): bigint {
    return this.fill("UFFDIO_POISON", A.UFFDIO_POISON, A.uffdio_poison.SIZEOF, A.uffdio_poison.updated,
      [[A.uffdio_poison.start, start], [A.uffdio_poison.len, len], [A.uffdio_poison.mode, mode]]);
  }

  /**
   * UFFDIO_MOVE: move the pages of [src, src + len) to dst (both in this userfaultfd's
   * address space, which must be the calling thread's), without copying. `mode`:
   * UFFDIO_MOVE_MODE_DONTWAKE, UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES. Returns bytes moved; a
   * partial move or a failure throws FillError with the out-field in `bytes`.
   */
  move(dst: number, src: number, len: number, mode: bigint | number = 0): bigint {
    return this.fill("UFFDIO_MOVE", A.UFFDIO_MOVE, A.uffdio_move.SIZEOF, A.uffdio_move.move,
      [[A.uffdio_move.dst, dst], [A.uffdio_move.src, src], [A.uffdio_move.len, len], [A.uffdio_move.mode, mode]]);
  }

  /**
   * UFFDIO_WRITEPROTECT: `mode` UFFDIO_WRITEPROTECT_MODE_WP protects the range, 0 resolves it
   * (and wakes its faulters unless UFFDIO_WRITEPROTECT_MODE_DONTWAKE). No out-field.
   */
  writeProtect(start: number, len: number, mode: bigint | number): void {
    this.ioctl("UFFDIO_WRITEPROTECT", A.UFFDIO_WRITEPROTECT, struct(A.uffdio_writeprotect.SIZEOF,
      [[A.uffdio_writeprotect.start, start], [A.uffdio_writeprotect.len, len], [A.uffdio_writeprotect.mode, mode]]));
  }

  private fill(name: string, req: number, size: number, out: number, fields: [number, bigint | number][]): bigint {
    const { ret, bytes } = this.proc.ioctl(this.fd, req, struct(size, fields), this.thread);
    const res = s64(bytes, out);
    if (ret < 0n) throw new FillError(Number(-ret), `ioctl ${name}`, res);
    return res;
  }

  /**
   * Whether a typed call may take the kernel's dedicated entry: every field an integer in
   * [0, 2^53] (anything else takes the exact raw path) and no strace sink (which sees the raw
   * path's system calls).
   */
  private fast(a: unknown, b: unknown, c: unknown, d: unknown): boolean {
    return u53(a) && u53(b) && u53(c) && u53(d) && this.proc.kernel.trace === null;
  }

  /**
   * COPY (dst, src, len), ZEROPAGE or CONTINUE (dst = start, src unused) through the kernel's
   * dedicated entry: the out-field as a number; a failure throws FillError. A call that must
   * wait (a COPY whose source page is itself missing) waits as the thread's system calls do.
   */
  private fastFill(req: number, dst: number, src: number, len: number, mode: number): number {
    const t = this.thread;
    const k = t.k;
    for (;;) {
      let r: number, out: number;
      if (req === A.UFFDIO_COPY) {
        r = k.uffdio_copy(t.handle, this.fd, dst, src, len, mode);
        out = A.uffdio_copy.copy;
      } else if (req === A.UFFDIO_ZEROPAGE) {
        r = k.uffdio_zeropage(t.handle, this.fd, dst, len, mode);
        out = A.uffdio_zeropage.zeropage;
      } else {
        r = k.uffdio_continue(t.handle, this.fd, dst, len, mode);
        out = A.uffdio_continue.mapped;
      }
      if (r === -A.ERESTARTSYS) {
        t.mustWait(0);
        continue;
      }
      if (r === 0) return s64At(t.bounceView, out);
      if (r === -A.ESRCH && t.frame.getFloat64(A.host_frame.handle, true) !== t.handle) throw new SystemError(A.ESRCH, "ioctl " + FILL_NAMES[req]);
      throw new FillError(-r, "ioctl " + FILL_NAMES[req], BigInt(s64At(t.bounceView, out)));
    }
  }

  /**
   * Read the pending messages (up to `SERVE_BATCH` per kernel call) and resolve every page
   * fault among them with `policy` — one UFFDIO_COPY, ZEROPAGE or CONTINUE of the faulting
   * page each, which wakes its faulters — as a post-copy handler (Firecracker's, REAP's) does.
   * A page that is already there (EEXIST: another message for the same page) is woken with
   * UFFDIO_WAKE. Returns the number of faults resolved; 0 when none was pending (it never
   * waits, also on a blocking fd). Other messages go to `policy.onEvent`, or are kept for the
   * next read(). A fill that fails otherwise throws its FillError (messages read with it and
   * not yet handled are kept for read()). Allocates nothing per fault.
   */
  serveAll(policy: ServePolicy): number {
    const kind = policy.copyFrom !== undefined ? A.UFFDIO_COPY : policy.zeropage ? A.UFFDIO_ZEROPAGE : policy.continue ? A.UFFDIO_CONTINUE : 0;
    if (kind === 0 || (policy.copyFrom !== undefined && (policy.zeropage || policy.continue)) || (policy.zeropage && policy.continue)) {
      throw new TypeError("serveAll: the policy needs exactly one of copyFrom, zeropage and continue");
    }
    const mode = policy.mode ?? 0;
    const from = policy.copyFrom ?? 0;
    const base = policy.base ?? -1;
    if (!u53(mode) || !u53(from) || (policy.base !== undefined && !u53(base))) {
      throw new RangeError("serveAll: copyFrom, base and mode must be integers in [0, 2^53]");
    }
    const t = this.thread;
    const k = t.k;
    const bv = t.bounceView;
    const addrs = (this.scratch ??= new Float64Array(3 * SERVE_BATCH));
    let served = 0;
    for (;;) {
      const r = k.uffd_read_msgs(t.handle, this.fd, SERVE_BATCH);
      // -ERESTARTSYS: nothing pending on a blocking fd (the task's next entry ends the wait).
      if (r === -A.EAGAIN || r === -A.ERESTARTSYS) break;
      if (r < 0) throw new SystemError(-r, "read");
      const n = r / A.UFFD_MSG_SIZE;
      let faults = 0;
      let others: UffdMsg[] | null = null;
      for (let i = 0, o = 0; i < n; i++, o += A.UFFD_MSG_SIZE) {
        if (bv.getUint8(o + A.uffd_msg.event) === A.UFFD_EVENT_PAGEFAULT && (bv.getUint32(o + A.uffd_msg.arg0, true) & WP_FLAG) === 0) {
          addrs[3 * faults] = u64At(bv, o + A.uffd_msg.arg1);
          addrs[3 * faults + 1] = u64At(bv, o + A.uffd_msg.arg0);
          addrs[3 * faults + 2] = bv.getUint32(o + A.uffd_msg.arg2, true);
          faults++;
        } else {
          (others ??= []).push(decodeMsg(t.bounce.subarray(o, o + A.UFFD_MSG_SIZE)));
        }
      }
      for (let i = 0; i < faults; i++) {
        const a = addrs[3 * i];
        const page = a - (a % PAGE);
        try {
          this.serveOne(kind, page, base < 0 ? from : from + (page - base), mode);
        } catch (e) {
          // Keep what this read returned and was not handled, in order, for read().
          for (let j = i + 1; j < faults; j++) {
            this.deferred.push({ event: "pagefault", flags: BigInt(addrs[3 * j + 1]), address: addrs[3 * j], ptid: addrs[3 * j + 2] });
          }
          if (others) this.deferred.push(...others);
          throw e;
        }
        served++;
      }
      if (others) {
        for (let i = 0; i < others.length; i++) {
          if (!policy.onEvent) this.deferred.push(others[i]);
          else {
            try {
              policy.onEvent(others[i]);
            } catch (e) {
              for (let j = i + 1; j < others.length; j++) this.deferred.push(others[j]); // kept for read()
              throw e;
            }
          }
        }
      }
      if (n < SERVE_BATCH) break;
    }
    return served;
  }

  /** One fault of serveAll: the fill, or UFFDIO_WAKE when the page is already there. */
  private serveOne(kind: number, page: number, src: number, mode: number): void {
    const t = this.thread;
    const k = t.k;
    for (;;) {
      const r = kind === A.UFFDIO_COPY ? k.uffdio_copy(t.handle, this.fd, page, src, PAGE, mode)
        : kind === A.UFFDIO_ZEROPAGE ? k.uffdio_zeropage(t.handle, this.fd, page, PAGE, mode)
        : k.uffdio_continue(t.handle, this.fd, page, PAGE, mode);
      if (r === 0) return;
      if (r === -A.ERESTARTSYS) {
        t.mustWait(0);
        continue;
      }
      if (r === -A.EEXIST) {
        const w = k.uffdio_wake(t.handle, this.fd, page, PAGE);
        if (w < 0) throw new SystemError(-w, "ioctl UFFDIO_WAKE");
        return;
      }
      const out = kind === A.UFFDIO_COPY ? A.uffdio_copy.copy : kind === A.UFFDIO_ZEROPAGE ? A.uffdio_zeropage.zeropage : A.uffdio_continue.mapped;
      throw new FillError(-r, "ioctl " + FILL_NAMES[kind], BigInt(s64At(t.bounceView, out)));
    }
  }

  /**
   * Read every message available now (non-blocking read semantics: [] when none), at most
   * `max`. Messages serveAll kept are returned first, by themselves (the kernel's come with
   * the next read).
   */
  read(max = 64): UffdMsg[] {
    if (this.deferred.length) return this.deferred.splice(0, Math.max(1, Math.floor(max)));
    const m = Math.min(max, SERVE_BATCH);
    if (this.fast(m, 0, 0, 0) && m >= 1) {
      const t = this.thread;
      let r: number;
      for (;;) {
        r = t.k.uffd_read_msgs(t.handle, this.fd, m);
        if (r !== -A.ERESTARTSYS) break;
        t.mustWait(0);
      }
      if (r === -A.EAGAIN) return [];
      if (r === -A.ESRCH && t.frame.getFloat64(A.host_frame.handle, true) !== t.handle) throw new SystemError(A.ESRCH, "read");
      if (r < 0) throw new SystemError(-r, "read");
      const out: UffdMsg[] = [];
      for (let o = 0; o < r; o += A.UFFD_MSG_SIZE) out.push(decodeMsg(t.bounce.subarray(o, o + A.UFFD_MSG_SIZE)));
      return out;
    }
    return this.readRaw(max);
  }

  private readRaw(max: number): UffdMsg[] {
    const n = Math.min(max * A.UFFD_MSG_SIZE, A.BOUNCE_SIZE);
    const r = this.thread.syscall(A.__NR_read, this.fd, A.HOST_STAGING_BASE, n);
    if (r === -BigInt(A.EAGAIN)) return [];
    if (r < 0n) throw new SystemError(Number(-r), "read");
    const out: UffdMsg[] = [];
    for (let o = 0; o < Number(r); o += A.UFFD_MSG_SIZE) out.push(decodeMsg(this.thread.bounce.subarray(o, o + A.UFFD_MSG_SIZE)));
    return out;
  }

  /**
   * poll(2) readiness of the fd now (timeout 0): the revents for `events` — POLLIN while a
   * message is unread; POLLERR before UFFDIO_API and on a blocking fd (fs/userfaultfd.c userfaultfd_poll).
   */
  poll(events: number = A.POLLIN): number {
    return this.proc.poll([{ fd: this.fd, events }], 0, this.thread)[0];
  }

  /**
   * The messages as they arrive, each read waiting in the kernel until one is readable
   * (poll(POLLIN) on an O_NONBLOCK fd, a blocking read() otherwise), in order, as many per
   * read as are pending. Ends when the fd is closed (EBADF / POLLNVAL) or close() was called.
   * A close() by another thread wakes no poll (a poll holds the file: tests/unit/read-holds-file.test.ts), so each poll sleeps
   * at most MESSAGES_POLL_MS and then looks again: the iteration ends at most that long after
   * the close (under the scheduler the time is virtual and passes only when nothing else can
   * run — so an iteration whose fd is never closed polls on rather than ending in a
   * DeadlockError). On a blocking fd each read is preceded by a poll with timeout 0, which ends
   * the iteration if the fd was closed; a read that is already waiting holds the file (as
   * Linux's read does), so a close() by another thread then ends nothing: the read returns the
   * next message. Close a blocking fd from the loop body. Messages serveAll kept come first.
   * How it waits: with `at`, the AsyncThread of a `k.run` body,
   * every read and wait is that thread's scheduling point; without, it reads on
   * `this.thread`: a worker in "atomics" mode blocks in the kernel call, a "throw"-mode thread
   * (the main thread serving workers' faults) awaits its wait word with Atomics.waitAsync.
   */
  async *messages(at?: AsyncThread): AsyncGenerator<UffdMsg, void, undefined> {
    const t = at ? at.thread : this.thread;
    const run = async <T>(f: () => T): Promise<T> => {
      if (at) return at.op(f);
      for (;;) {
        try {
          return f();
        } catch (e) {
          if (!(e instanceof WouldBlockError)) throw e;
          await waitForWakeAsync(t);
        }
      }
    };
    const fl = await run(() => t.syscall(A.__NR_fcntl, this.fd, A.F_GETFL, 0));
    if (fl === -BigInt(A.EBADF)) return;
    if (fl < 0n) throw new SystemError(Number(-fl), "fcntl");
    const nonblock = (Number(fl) & A.O_NONBLOCK) !== 0;
    const pfd = new Uint8Array(A.pollfd.SIZEOF);
    new DataView(pfd.buffer).setInt32(A.pollfd.fd, this.fd, true);
    new DataView(pfd.buffer).setInt16(A.pollfd.events, A.POLLIN, true);
    const n = Math.floor(A.BOUNCE_SIZE / A.UFFD_MSG_SIZE) * A.UFFD_MSG_SIZE;
    while (!this.closed) {
      if (this.deferred.length) {
        yield* this.deferred.splice(0);
        continue;
      }
      const revents = await run(() => {
        const r = t.syscall(A.__NR_poll, t.stage(pfd), 1, nonblock ? MESSAGES_POLL_MS : 0);
        if (r < 0n) throw new SystemError(Number(-r), "poll");
        return new DataView(t.bounce.buffer, t.bounce.byteOffset).getInt16(A.pollfd.revents, true);
      });
      if (revents & A.POLLNVAL) return;
      if (nonblock && revents & A.POLLERR) throw new SystemError(A.EINVAL, "poll");
      if (nonblock && !(revents & A.POLLIN)) continue; // timed out: is the fd still open?
      const msgs = await run(() => {
        const r = t.syscall(A.__NR_read, this.fd, A.HOST_STAGING_BASE, n);
        if (r === -BigInt(A.EBADF)) return null;
        if (r === -BigInt(A.EAGAIN)) return [];
        if (r < 0n) throw new SystemError(Number(-r), "read");
        const out: UffdMsg[] = [];
        for (let o = 0; o < Number(r); o += A.UFFD_MSG_SIZE) out.push(decodeMsg(t.bounce.subarray(o, o + A.UFFD_MSG_SIZE)));
        return out;
      });
      if (msgs === null) return;
      yield* msgs;
    }
  }

  /** `for await (const msg of uffd)`: messages() on this.thread. */
  [Symbol.asyncIterator](): AsyncGenerator<UffdMsg, void, undefined> { return this.messages(); }

  /** close(2) the fd (once; later calls do nothing). The last close releases the userfaultfd (fs/userfaultfd.c userfaultfd_release). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.proc.close(this.fd);
  }
  /** close() the fd (for `using`). */
  [Symbol.dispose](): void { this.close(); }
}
